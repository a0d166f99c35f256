"""NAME
    socketmap - Postfix's socketmap protocol, serving the SRS ``forward`` and ``reverse`` maps

SUMMARY
    maps = SRSMaps(SRS("fwd.example", secrets))
    server = SocketmapServer(maps, Endpoint.parse("unix:/var/spool/postfix/mailward-srs"))
    await server.start(); ...; await server.close()

DESCRIPTION
    Postfix looks a key up in a ``socketmap:unix:PATH:NAME`` (or ``socketmap:inet:HOST:PORT:
    NAME``) table by sending one netstring ``NAME KEY`` and reading one netstring back, on a
    connection it keeps open for many lookups (Postfix ``dict_sockmap``; netstrings are D. J.
    Bernstein's ``LENGTH:DATA,``). Replies:

    ``OK <data>``        found: ``data`` is the value (the rewritten address)
    ``NOTFOUND ``        not found: Postfix goes on with the address unchanged
    ``TEMP <reason>``    failure; Postfix defers the mail (4xx) and retries later
    ``PERM <reason>``    failure; *also* a deferral for table lookups: Postfix treats it as
                         a configuration error and answers ``451 4.3.5 Server configuration
                         error`` (tests/server/test_srs_postfix.py shows it), never a bounce

    So an address that is not to be rewritten is always ``NOTFOUND``: in particular reverse
    answers ``NOTFOUND`` for a forged, expired or non-SRS recipient (Postfix then refuses the
    unknown SRS recipient with 550 itself); ``PERM`` there would make Postfix answer 451 to
    every recipient of the map and queue the mail. ``PERM`` is kept for requests no Postfix
    sends: an unknown map name, a malformed or oversized netstring (the connection is then
    closed: netstring framing cannot be resynchronised). ``TEMP`` means a bug here (an
    exception from the rewriter), and defers the mail rather than lose it.

    The codec (:class:`NetstringReader`, :func:`netstring`, :class:`SocketmapConnection`) is
    sans-I/O: bytes in, bytes out, no sockets, so the tests drive it directly.
    :class:`SocketmapServer` is the asyncio loop around it.

SECURITY
    Clients are trusted only as far as the socket's permissions say: any process that can
    connect can mint SRS addresses that reverse (a relay to anyone through bounces). A unix
    socket is created mode 0660 and group ``postfix`` by default; a TCP socket should listen on
    loopback only. Requests are hostile all the same: one netstring is at most
    ``max_request`` octets (2048, Postfix's ``line_length_limit``) and its length header at
    most 10 digits, read incrementally with no unbounded buffer; connections are bounded
    (``max_connections``, 200: Postfix holds one per process that looks up) and an idle one
    is closed after ``idle_timeout`` seconds (600; Postfix closes its own after 10 idle).
    Addresses are masked (:func:`printable`) before they are logged.

CONFIGURATION PARAMETERS
    ``max_request`` (2048), ``max_connections`` (200), ``idle_timeout`` (600 seconds),
    ``socket_mode`` (0o660), ``socket_group`` ("postfix" when that group exists).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import grp
import logging
import os
import signal
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mailward.auth.srs import SRS, NotRewritten, Reason, Rewritten
from mailward.errors import UsageError

__all__ = [
    "MAX_REQUEST",
    "Endpoint",
    "NetstringError",
    "NetstringReader",
    "Reply",
    "SRSMaps",
    "SocketmapConnection",
    "SocketmapServer",
    "Status",
    "netstring",
    "printable",
    "serve_until_signalled",
]

log = logging.getLogger("mailward.srs")

MAX_REQUEST = 2048
MAX_LENGTH_DIGITS = 10
MAX_CONNECTIONS = 200
IDLE_TIMEOUT = 600.0
SOCKET_MODE = 0o660
_HIGH_WATER = 256 * 1024  # pause reading a client that does not read its replies


def printable(text: str) -> str:
    """``text`` with every character outside printable ASCII shown as ``?``."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)


# -- netstrings ---------------------------------------------------------------------------


def netstring(payload: bytes) -> bytes:
    """``payload`` as one netstring: ``LENGTH:PAYLOAD,``."""
    return b"%d:%s," % (len(payload), payload)


@dataclass(frozen=True, slots=True)
class NetstringError:
    """Input that is not a netstring (or is one over the limit); the stream is unusable."""

    detail: str


class NetstringReader:
    """Incremental netstring decoder: feed it bytes as they come, get whole payloads.

    After an error the reader stays broken (framing is lost) and yields nothing more.
    Memory is bounded by ``max_length`` plus the length header.
    """

    def __init__(self, max_length: int = MAX_REQUEST) -> None:
        self.max_length = max_length
        self._buffer = bytearray()
        self.error: NetstringError | None = None

    def feed(self, data: bytes) -> list[bytes | NetstringError]:
        if self.error is not None:
            return []
        self._buffer += data
        out: list[bytes | NetstringError] = []
        buffer = self._buffer
        start = 0
        while start < len(buffer):
            colon = buffer.find(b":", start, start + MAX_LENGTH_DIGITS + 1)
            if colon < 0:
                header = buffer[start : start + MAX_LENGTH_DIGITS + 1]
                if len(header) > MAX_LENGTH_DIGITS or not header.isdigit():
                    out.append(self._fail("a netstring must start with its length in digits"))
                    return out
                break  # the header is not complete yet
            header = buffer[start:colon]
            if not header or not header.isdigit():
                out.append(self._fail("a netstring must start with its length in digits"))
                return out
            length = int(header)
            if length > self.max_length:
                out.append(self._fail(f"request over {self.max_length} octets"))
                return out
            end = colon + 1 + length
            if end >= len(buffer):
                break  # the payload or its comma is not complete yet
            if buffer[end] != 0x2C:  # ","
                out.append(self._fail("a netstring must end with a comma"))
                return out
            out.append(bytes(buffer[colon + 1 : end]))
            start = end + 1
        del buffer[:start]
        return out

    def _fail(self, detail: str) -> NetstringError:
        self.error = NetstringError(detail)
        self._buffer.clear()
        return self.error


# -- socketmap replies and one connection --------------------------------------------------


class Status(enum.Enum):
    OK = "OK"
    NOTFOUND = "NOTFOUND"
    TEMP = "TEMP"
    TIMEOUT = "TIMEOUT"
    PERM = "PERM"


@dataclass(frozen=True, slots=True)
class Reply:
    """One socketmap reply: a status and its data (the value for OK, else a reason)."""

    status: Status
    data: str = ""

    def encode(self) -> bytes:
        text = f"{self.status.value} {self.data}".encode("utf-8", "surrogateescape")
        return netstring(text)


NOTFOUND = Reply(Status.NOTFOUND)
Lookup = Callable[[str, str], Reply]


class SocketmapConnection:
    """The server side of one socketmap connection, sans I/O.

    ``receive(data)`` returns the bytes to send back (replies, in order). When ``closed`` is
    True the caller sends them and closes the connection.
    """

    def __init__(self, lookup: Lookup, *, max_request: int = MAX_REQUEST) -> None:
        self.lookup = lookup
        self.reader = NetstringReader(max_request)
        self.closed = False

    def receive(self, data: bytes) -> bytes:
        if self.closed:
            return b""
        replies: list[bytes] = []
        for item in self.reader.feed(data):
            if isinstance(item, NetstringError):
                log.warning("closing a socketmap connection: %s", item.detail)
                replies.append(Reply(Status.PERM, item.detail).encode())
                self.closed = True
                break
            replies.append(self.answer(item).encode())
        return b"".join(replies)

    def answer(self, request: bytes) -> Reply:
        name, space, key = request.decode("utf-8", "surrogateescape").partition(" ")
        if not space:
            return Reply(Status.PERM, "a request is NAME SPACE KEY")
        try:
            return self.lookup(name, key)
        except Exception:  # a bug: defer the mail, never lose it
            log.exception("socketmap %s lookup of <%s> failed", printable(name), printable(key))
            return Reply(Status.TEMP, "internal error")


# -- the SRS maps --------------------------------------------------------------------------


class SRSMaps:
    """The ``forward`` and ``reverse`` socketmaps over one :class:`SRS` (swap ``srs`` to
    reload). Counts outcomes in ``stats`` (reason slug or "rewritten" → count)."""

    def __init__(self, srs: SRS, *, forward: str = "forward", reverse: str = "reverse") -> None:
        self.srs = srs
        self.names = {forward: True, reverse: False}
        self.stats: dict[str, int] = {}

    def __call__(self, name: str, key: str) -> Reply:
        is_forward = self.names.get(name)
        if is_forward is None:
            return Reply(Status.PERM, f"no map named {printable(name)[:64]}")
        result = self.srs.forward(key) if is_forward else self.srs.reverse(key)
        if isinstance(result, Rewritten):
            self._count("rewritten")
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s <%s> -> <%s>", name, printable(key), printable(result.address))
            return Reply(Status.OK, result.address)
        self._count(result.reason.value)
        if log.isEnabledFor(logging.INFO) and _worth_logging(result, is_forward):
            log.info("%s <%s> not rewritten: %s", name, printable(key), result.detail)
        return NOTFOUND

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1


def _worth_logging(result: NotRewritten, is_forward: bool) -> bool:
    """A refused bounce address, or a sender sent on unrewritten because it is too long; not
    the everyday: local senders, the null sender (Postfix asks for ``""``), plain recipients."""
    if is_forward:
        return result.reason is Reason.TOO_LONG
    return result.reason is not Reason.NOT_SRS


# -- where to listen ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    """``unix:/path`` or ``inet:host:port`` (Postfix's spelling); a bare path is unix."""

    kind: str  # "unix" or "inet"
    path: str = ""
    host: str = ""
    port: int = 0

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        if text.startswith("unix:") or text.startswith("/"):
            path = text.removeprefix("unix:")
            if not path:
                raise UsageError("a unix socket needs a path: unix:/path")
            return cls("unix", path=path)
        rest = text.removeprefix("inet:")
        host, colon, port = rest.rpartition(":")
        host = host.strip("[]")
        if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise UsageError(f"not an endpoint: {text!r} (use unix:/path or inet:HOST:PORT)")
        return cls("inet", host=host, port=int(port))

    def __str__(self) -> str:
        if self.kind == "unix":
            return f"unix:{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"inet:{host}:{self.port}"


# -- the asyncio service ----------------------------------------------------------------------


class _Client(asyncio.Protocol):
    def __init__(self, server: SocketmapServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.connection = SocketmapConnection(server.lookup, max_request=server.max_request)
        self.last_active = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if len(self.server.clients) >= self.server.max_connections:
            self.server.refused += 1
            log.warning(
                "refusing a socketmap connection: %d already open", self.server.max_connections
            )
            transport.abort()
            return
        self.server.clients.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        out = self.connection.receive(data)
        assert self.transport is not None
        if out:
            self.transport.write(out)
        if self.connection.closed:
            self.transport.close()

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.clients.discard(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class SocketmapServer:
    """Serve a socketmap :data:`Lookup` on a unix or TCP socket, with bounded resources."""

    def __init__(
        self,
        lookup: Lookup,
        endpoint: Endpoint,
        *,
        max_connections: int = MAX_CONNECTIONS,
        max_request: int = MAX_REQUEST,
        idle_timeout: float = IDLE_TIMEOUT,
        socket_mode: int = SOCKET_MODE,
        socket_group: str | None = None,
    ) -> None:
        self.lookup = lookup
        self.endpoint = endpoint
        self.max_connections = max_connections
        self.max_request = max_request
        self.idle_timeout = idle_timeout
        self.socket_mode = socket_mode
        self.socket_group = socket_group
        self.clients: set[_Client] = set()
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        """Where it listens, after :meth:`start` (with the real port for ``inet:…:0``)."""
        if self._server is not None and self.endpoint.kind == "inet":
            host, port = self._server.sockets[0].getsockname()[:2]
            return str(Endpoint("inet", host=host, port=port))
        return str(self.endpoint)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.endpoint.kind == "unix":
            path = self.endpoint.path
            _remove_stale_socket(path)
            old_umask = os.umask(0o177)  # no other access until the chmod below
            try:
                self._server = await loop.create_unix_server(lambda: _Client(self), path)
            finally:
                os.umask(old_umask)
            if self.socket_group is not None:
                try:
                    gid = grp.getgrnam(self.socket_group).gr_gid
                except KeyError:
                    await self.close()
                    raise UsageError(f"no such group: {self.socket_group}") from None
                os.chown(path, -1, gid)
            os.chmod(path, self.socket_mode)
        else:
            self._server = await loop.create_server(
                lambda: _Client(self), self.endpoint.host, self.endpoint.port, reuse_address=True
            )
        self._sweeper = asyncio.create_task(self._sweep())

    async def _sweep(self) -> None:
        interval = max(0.05, min(self.idle_timeout / 4, 30.0))
        while True:
            await asyncio.sleep(interval)
            deadline = time.monotonic() - self.idle_timeout
            for client in [c for c in self.clients if c.last_active < deadline]:
                client.close()

    async def close(self) -> None:
        """Stop listening, close every connection (requests already read were answered)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for client in list(self.clients):
            client.close()
        if server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5.0)
        if self.endpoint.kind == "unix":
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(os.lstat(self.endpoint.path).st_mode):
                    os.unlink(self.endpoint.path)


def _remove_stale_socket(path: str) -> None:
    """Remove a socket left by a dead server; refuse to take over a live one or a file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise UsageError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError:
        Path(path).unlink(missing_ok=True)
        return
    finally:
        probe.close()
    raise UsageError(f"{path}: another server is listening there")


async def serve_until_signalled(
    server: SocketmapServer,
    reload: Callable[[], None],
    ready: Callable[[], None] | None = None,
) -> None:
    """Start ``server``, call ``ready`` once it listens and ``reload`` on each SIGHUP, and
    close cleanly on SIGTERM or SIGINT (stop listening, close the connections)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    try:
        await server.start()
        if ready is not None:
            ready()
        await stop.wait()
        log.info("shutting down")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        await server.close()
