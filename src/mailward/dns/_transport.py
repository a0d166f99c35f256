"""Sending a question and getting its reply: UDP channels shared by questions, and TCP.

UDP: a few sockets per address family ("channels") each carry many questions at once; a reply
goes to the question with the same ID, from the address and port asked, that echoes the
question (RFC 5452 §9.1). Anything else arriving is dropped unread, as spoofed or late, so a
stray packet can neither answer a question nor fail it. IDs come from the system's CSPRNG and
never repeat among one channel's open questions to a server; a channel carries at most
``MAX_USES`` questions and is then replaced by a fresh socket with a new ephemeral port, so
the source port keeps changing (RFC 5452 §9.2). Making a socket costs more than a question on
a nearby server, hence the sharing; several channels, hence several ports at any time. A
channel carries at most ``MAX_IN_FLIGHT`` questions at once and more channels are opened when
all are that busy (up to ``MAX_CHANNELS``): a burst of replies must fit in the sockets'
receive buffers, or the kernel drops them and each costs a timeout.

TCP (RFC 7766): one connection per question, for replies that were truncated over UDP.

Channels belong to the event loop that made them; used from another loop, the pool starts
afresh. Failures are exceptions: ``TimeoutError``, ``OSError`` (``EOFError`` for a TCP
connection closed early), ``MalformedReply`` for a TCP reply to another question.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from typing import Any, cast

from mailward.dns._wire import MalformedReply, Query

CHANNELS = 4
MAX_USES = 512
MAX_IN_FLIGHT = 64  # replies a socket may have to hold at once: they fit its receive buffer
MAX_CHANNELS = 64
RECEIVE_BUFFER = 1 << 20

_Waiter = tuple[Query, "asyncio.Future[bytes]"]


class _Channel(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[tuple[int, str, int], _Waiter] = {}
        self.uses = 0
        self.retired = False
        self._sending: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) < 12:
            return
        waiter = self.waiting.get((data[0] << 8 | data[1], addr[0], addr[1]))
        if waiter is None:
            return
        query, future = waiter
        if query.answered_by(data) and not future.done():
            future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # Unconnected UDP sockets report only errors of the send in progress (e.g. no route);
        # later ICMP errors are not delivered, and the question times out.
        if self._sending is not None and not self._sending.done():
            self._sending.set_exception(exc)

    def retire(self) -> None:
        """Take no new question; close once the last one in flight is answered."""
        self.retired = True
        self._close_if_done()

    def _close_if_done(self) -> None:
        if self.retired and not self.waiting and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        for _query, future in self.waiting.values():
            if not future.done():
                future.set_exception(exc or OSError("socket closed"))

    async def exchange(self, query: Query, host: str, port: int, timeout: float) -> bytes:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        qid = secrets.randbits(16)
        while (qid, host, port) in self.waiting:
            qid = secrets.randbits(16)
        key = (qid, host, port)
        future: asyncio.Future[bytes] = loop.create_future()
        self.waiting[key] = (query, future)
        self.uses += 1
        timer = loop.call_later(timeout, _expire, future)
        try:
            self._sending = future
            try:
                self.transport.sendto(query.with_id(qid), (host, port))
            finally:
                self._sending = None
            return await future
        finally:
            timer.cancel()
            del self.waiting[key]
            self._close_if_done()


def _expire(future: asyncio.Future[bytes]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


async def _open(loop: asyncio.AbstractEventLoop, family: int) -> _Channel:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        with contextlib.suppress(OSError):  # best effort: the system caps it (rmem_max)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        _transport, channel = await loop.create_datagram_endpoint(_Channel, sock=sock)
    except BaseException:
        sock.close()
        raise
    return channel


class UdpChannels:
    """The UDP sockets of one resolver."""

    def __init__(self) -> None:
        self._channels: dict[int, list[_Channel]] = {}
        self._turn = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()

    async def exchange(self, query: Query, host: str, port: int, timeout: float) -> bytes:
        """The reply to ``query`` from ``host``:``port``; TimeoutError or OSError."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        channel = await self._channel(family)
        return await channel.exchange(query, host, port, timeout)

    async def _channel(self, family: int) -> _Channel:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._forget()  # sockets of another (finished) loop cannot be used here
            self._loop = loop
            self._opening = asyncio.Lock()
        channels = self._channels.setdefault(family, [])
        channel = self._pick(channels)
        if channel is not None:
            return channel
        async with self._opening:  # one socket opened at a time: a burst must not open many
            channel = self._pick(channels)
            if channel is None:
                channel = await _open(loop, family)
                channels.append(channel)
            return channel

    def _pick(self, channels: list[_Channel]) -> _Channel | None:
        """The next channel with room, or None when another should be opened."""
        if len(channels) < CHANNELS:
            return None
        self._turn += 1
        channel = channels[self._turn % len(channels)]
        if channel.uses >= MAX_USES:
            channels.remove(channel)
            channel.retire()
            return None
        if len(channel.waiting) < MAX_IN_FLIGHT:
            return channel
        if len(channels) >= MAX_CHANNELS:
            return min(channels, key=lambda c: len(c.waiting))  # all busy: share
        return None

    def _forget(self) -> None:
        for channels in self._channels.values():
            for channel in channels:
                if channel.transport is not None:
                    with contextlib.suppress(RuntimeError):  # its loop is closed
                        channel.transport.close()
        self._channels.clear()

    async def close(self) -> None:
        self._forget()
        await asyncio.sleep(0)  # the transports let go of their sockets on the next turn


async def tcp_exchange(query: Query, host: str, port: int, timeout: float) -> bytes:
    """The reply to ``query`` over a new TCP connection (RFC 7766 §8: two-octet length)."""
    wire = query.with_id(secrets.randbits(16))
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(len(wire).to_bytes(2, "big") + wire)
            size = int.from_bytes(await reader.readexactly(2), "big")
            reply = await reader.readexactly(size)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    if reply[:2] != wire[:2] or not query.answered_by(reply):
        raise MalformedReply("the TCP reply answers another question")
    return reply
