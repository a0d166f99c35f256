"""Reusable UDP sockets for the stub resolver.

Making an asyncio datagram endpoint costs more than a whole query on loopback, so the stub
keeps a few idle sockets per address family and reuses them. A socket serves one question at
a time, at most ``MAX_USES`` questions in all, then is replaced by a fresh one with a new
ephemeral port, so the source port stays unpredictable over time (RFC 5452 §9.2). A socket
that saw a timeout or an error is closed, never reused, so a late reply cannot meet the next
question (dnspython also drops replies whose ID or question do not match). Sockets belong to
the event loop that made them; the pool empties itself when used from another loop.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

import dns.asyncbackend
from dns._asyncbackend import DatagramSocket

MAX_IDLE = 16
MAX_USES = 64


@dataclass
class PooledSocket:
    sock: DatagramSocket
    family: int
    uses: int = 0


class UdpSockets:
    def __init__(self) -> None:
        self._idle: dict[int, list[PooledSocket]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def take(self, host: str) -> PooledSocket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._idle.clear()  # sockets of a finished loop are unusable (and closed with it)
            self._loop = loop
        idle = self._idle.setdefault(family, [])
        if idle:
            return idle.pop()
        backend = dns.asyncbackend.get_backend("asyncio")
        sock = await backend.make_socket(family, socket.SOCK_DGRAM)  # type: ignore[no-untyped-call]
        return PooledSocket(sock, family)

    async def give(self, pooled: PooledSocket, *, clean: bool) -> None:
        """Return a socket after a question: kept if the exchange was clean and it is young."""
        pooled.uses += 1
        idle = self._idle.setdefault(pooled.family, [])
        if clean and pooled.uses < MAX_USES and len(idle) < MAX_IDLE:
            idle.append(pooled)
        else:
            await pooled.sock.close()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        for idle in self._idle.values():
            for pooled in idle:
                await pooled.sock.close()  # type: ignore[no-untyped-call]
        self._idle.clear()
