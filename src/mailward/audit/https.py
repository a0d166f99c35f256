"""A small HTTPS GET, as an MTA-STS sender fetches a policy (RFC 8461 §3.3).

NAME
    https_get -- one GET over TLS to addresses the caller resolved, nothing more.

DESCRIPTION
    The caller gives the host name and the addresses to try (resolved through mailward's own
    resolver, so zone files and test servers work; the system resolver is never asked). The
    name is sent as SNI and ``Host`` and the certificate is verified for it against the
    system's CAs, plus ``ca_file`` when given; TLS 1.2 or later only. Each address is tried in
    turn until one accepts the connection; once one does, its answer (or its TLS or HTTP
    failure) is the result. Redirects are never followed: a 3xx is returned as it is, for the
    caller to report. HTTP/1.1 with ``Connection: close``; the body may be sized by
    ``Content-Length``, chunked, or run to the end of the connection.

    :func:`client_context` is the verifying TLS context, shared with the SMTP checks.

DIAGNOSTICS
    Failures to get any HTTP answer raise :class:`HttpsError` with a readable ``detail`` and a
    ``kind``: ``refused``, ``connect``, ``timeout``, ``certificate``, ``tls``, ``protocol`` or
    ``too-large``.

SECURITY
    The server is hostile. Bounds: :data:`MAX_LINE` octets per header line and
    :data:`MAX_HEADER_OCTETS` for the whole header block, ``max_octets`` for the body (64 KiB,
    the cap RFC 8461 §3.3 suggests; one octet more and the fetch fails), and ``timeout``
    seconds for each address's whole exchange (connect, handshake, request and answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import re
import ssl
from dataclasses import dataclass
from typing import Literal

from mailward.errors import MailwardError

__all__ = ["HttpsError", "HttpsResponse", "client_context", "https_get"]

MAX_LINE = 8192
MAX_HEADER_OCTETS = 32768
MAX_BODY_OCTETS = 65536
USER_AGENT = "mailward (MTA-STS policy check)"

FailureKind = Literal[
    "refused", "connect", "timeout", "certificate", "tls", "protocol", "too-large"
]

_STATUS_LINE = re.compile(r"HTTP/1\.[01] ([1-5][0-9][0-9])(?: (.*))?")


class HttpsError(MailwardError):
    """No HTTP answer could be had; ``detail`` says why in words."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(detail)


@dataclass(frozen=True)
class HttpsResponse:
    """One HTTP answer, as received (header names lower-cased)."""

    url: str
    address: str
    port: int
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    tls_version: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)

    @property
    def media_type(self) -> str | None:
        """The ``Content-Type`` without parameters, lower-cased (``text/plain``)."""
        value = self.header("content-type")
        return value.split(";", 1)[0].strip().lower() if value is not None else None


@functools.lru_cache(maxsize=8)
def client_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A verifying client context: the system's CAs plus ``ca_file``; TLS 1.2 or later.

    Raises :class:`HttpsError` (kind ``certificate``) when ``ca_file`` cannot be read.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise HttpsError("certificate", f"cannot read the CA file {ca_file}: {exc}") from exc
    return context


async def https_get(
    host: str,
    path: str,
    *,
    addresses: list[str] | tuple[str, ...],
    port: int = 443,
    ca_file: str | None = None,
    timeout: float = 10.0,
    max_octets: int = MAX_BODY_OCTETS,
) -> HttpsResponse:
    """GET ``https://host[:port]path`` from the first of ``addresses`` that accepts.

    Raises :class:`HttpsError` when no address gives an HTTP answer.
    """
    if not addresses:
        raise HttpsError("connect", f"{host} has no address to connect to")
    context = client_context(ca_file)
    failures: list[str] = []
    kinds: set[FailureKind] = set()
    for address in addresses:
        try:
            return await _attempt(host, path, address, port, context, timeout, max_octets)
        except _Unconnected as exc:
            failures.append(exc.detail)
            kinds.add(exc.kind)
    kind: FailureKind = kinds.pop() if len(kinds) == 1 else "connect"
    raise HttpsError(kind, f"cannot connect to {host}: {'; '.join(failures)}")


class _Unconnected(HttpsError):
    """This address took no connection: the next one may."""


async def _attempt(
    host: str,
    path: str,
    address: str,
    port: int,
    context: ssl.SSLContext,
    timeout: float,
    max_octets: int,
) -> HttpsResponse:
    where = f"{_bracketed(address)} port {port}"
    phase = "connect"
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(address, port, limit=MAX_LINE)
            phase = "handshake"
            await writer.start_tls(context, server_hostname=host, ssl_handshake_timeout=timeout)
            phase = "answer"
            ssl_object = writer.get_extra_info("ssl_object")
            version = ssl_object.version() if ssl_object is not None else None
            status, reason, headers, body = await _exchange(
                reader, writer, host, port, path, max_octets
            )
    except ssl.SSLCertVerificationError as exc:
        detail = f"the certificate of {host} ({where}) is invalid: {_cert_reason(exc)}"
        raise HttpsError("certificate", detail) from exc
    except ssl.SSLError as exc:
        raise HttpsError("tls", f"{_broke(phase, host, where)}: {_ssl_reason(exc)}") from exc
    except TimeoutError as exc:
        if phase == "connect":
            raise _Unconnected("timeout", f"{where}: no connection within {timeout:g} s") from exc
        detail = f"{host} ({where}) did not {_step(phase)} within {timeout:g} s"
        raise HttpsError("timeout", detail) from exc
    except ConnectionRefusedError as exc:
        raise _Unconnected("refused", f"{where}: connection refused") from exc
    except (OSError, EOFError, asyncio.LimitOverrunError) as exc:
        if phase == "connect":
            raise _Unconnected("connect", f"{where}: {_os_reason(exc)}") from exc
        kind: FailureKind = "tls" if phase == "handshake" else "protocol"
        raise HttpsError(kind, f"{_broke(phase, host, where)}: {_os_reason(exc)}") from exc
    finally:
        if writer is not None:
            await _close(writer)
    url = f"https://{host}{'' if port == 443 else f':{port}'}{path}"
    return HttpsResponse(url, address, port, status, reason, headers, body, version)


def _broke(phase: str, host: str, where: str) -> str:
    if phase == "handshake":
        return f"the TLS handshake (1.2 or later) with {host} ({where}) failed"
    return f"{host} ({where}) broke off the answer"


def _step(phase: str) -> str:
    return "complete the TLS handshake" if phase == "handshake" else "answer"


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    port: int,
    path: str,
    max_octets: int,
) -> tuple[int, str, tuple[tuple[str, str], ...], bytes]:
    authority = host if port == 443 else f"{host}:{port}"
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Accept: text/plain\r\nConnection: close\r\n\r\n"
    )
    writer.write(request.encode("ascii"))
    await writer.drain()
    status_line = await _line(reader)
    match = _STATUS_LINE.fullmatch(status_line)
    if match is None:
        raise HttpsError("protocol", f"{host} answered {status_line[:80]!r}, not HTTP/1.x")
    status, reason = int(match[1]), (match[2] or "").strip()
    headers: list[tuple[str, str]] = []
    size = len(status_line)
    while line := await _line(reader):
        size += len(line) + 2
        if size > MAX_HEADER_OCTETS:
            raise HttpsError(
                "protocol", f"{host} sent more than {MAX_HEADER_OCTETS} octets of headers"
            )
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HttpsError("protocol", f"{host} sent a malformed header line {line[:80]!r}")
        headers.append((name.lower(), value.strip()))
    body = await _body(reader, host, status, dict(headers), max_octets)
    return status, reason, tuple(headers), body


async def _body(
    reader: asyncio.StreamReader,
    host: str,
    status: int,
    headers: dict[str, str],
    max_octets: int,
) -> bytes:
    too_large = HttpsError(
        "too-large", f"the answer from {host} is larger than {max_octets // 1024} KiB"
    )
    if status < 200 or status in (204, 304):
        return b""
    coding = headers.get("transfer-encoding", "").lower()
    if coding:
        if coding.rsplit(",", 1)[-1].strip() != "chunked":
            raise HttpsError("protocol", f"{host} used an unsupported transfer coding {coding!r}")
        return await _chunked(reader, host, max_octets, too_large)
    length = headers.get("content-length")
    if length is not None:
        if not re.fullmatch(r"[0-9]{1,12}", length.strip()):
            raise HttpsError("protocol", f"{host} sent a bad Content-Length {length[:40]!r}")
        if int(length) > max_octets:
            raise too_large
        return await reader.readexactly(int(length))
    body = b""
    while chunk := await _read_to_end(reader, max_octets + 1 - len(body)):
        body += chunk
        if len(body) > max_octets:
            raise too_large
    return body


async def _chunked(
    reader: asyncio.StreamReader, host: str, max_octets: int, too_large: HttpsError
) -> bytes:
    body = b""
    while True:
        size_text = (await _line(reader)).split(";", 1)[0].strip()
        if not re.fullmatch(r"[0-9A-Fa-f]{1,8}", size_text):
            raise HttpsError("protocol", f"{host} sent a bad chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > max_octets:
            raise too_large
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise HttpsError("protocol", f"{host} sent a chunk without its CRLF")
    trailer = 0
    while await _line(reader):  # trailer fields, ignored
        trailer += 1
        if trailer > 100:
            raise HttpsError("protocol", f"{host} sent too many trailer lines")
    return body


async def _read_to_end(reader: asyncio.StreamReader, limit: int) -> bytes:
    """Read up to ``limit`` octets; a TLS peer that closes without close_notify ends the body."""
    try:
        return await reader.read(limit)
    except ssl.SSLError:
        return b""


async def _line(reader: asyncio.StreamReader) -> str:
    """One CRLF- (or LF-) terminated line without its ending; at most MAX_LINE octets."""
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError as exc:
        raise HttpsError("protocol", f"a line of the answer is longer than {MAX_LINE}") from exc
    return raw.rstrip(b"\r\n").decode("latin-1")


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await writer.wait_closed()


def _cert_reason(exc: ssl.SSLCertVerificationError) -> str:
    message = exc.verify_message or exc.reason or str(exc)
    return str(message)


def _ssl_reason(exc: ssl.SSLError) -> str:
    reason = exc.reason or str(exc)
    return str(reason).replace("_", " ").lower()


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.IncompleteReadError):
        return "the connection closed early"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, ConnectionResetError):
        return "the server reset the connection"
    return str(exc) or type(exc).__name__


def _bracketed(address: str) -> str:
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address
