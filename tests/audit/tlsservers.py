"""TLS servers for the MTA-STS and SMTP checks, on loopback, with a CA made at test time.

``private_ca()`` is a throwaway certificate authority (ECDSA P-256, generated once per test
process into a temporary directory): ``ca.ca_file`` is what ``AuditOptions(ca_file=...)``
trusts, and ``ca.issue("mta-sts.good.test")`` makes a server certificate (optionally expired).
A second ``PrivateCA()`` is a CA nobody trusts.

``PolicyServer(routes)`` is an HTTPS server on 127.0.0.80 at a free port. ``routes`` maps the
host name a client asks for (SNI and ``Host``) to a :class:`Route`: the status, content type
and body to answer, or a misbehaviour (a certificate for another name, a stall). It records
every request so a test can prove what was (not) fetched.

``SmtpServer(...)`` is a small SMTP server on 127.0.0.25 (by default) at a free port: greeting,
EHLO, STARTTLS (when given a certificate, ``starttls=ca.issue(name)``), QUIT; optionally only
TLS 1.1, another greeting, or silence.

Both are async context managers for the test's own event loop, and close every connection
they accepted on exit. ``good_test_policy()`` starts the policy server that good.test needs
and yields the ``AuditOptions`` that point the audit at it:

    async with good_test_policy() as options:
        report = await audit_both(audit_knot, "good.test", options)

Every address used is 127.0.0.x (the whole 127/8 is loopback on Linux).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import datetime
import functools
import shutil
import ssl
import tempfile
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from scenarios import offline_resolver, summary

from knot import KnotServer
from mailward.audit.auditor import Auditor, DomainReport
from mailward.audit.context import AuditOptions
from mailward.dns.stub import StubResolver

POLICY_ADDRESS = "127.0.0.80"
SMTP_ADDRESS = "127.0.0.25"
GOOD_POLICY = "version: STSv1\nmode: enforce\nmx: mail.good.test\nmax_age: 604800\n"


@dataclass(frozen=True)
class Identity:
    """A server certificate and its key, as files for ``SSLContext.load_cert_chain``."""

    cert_file: Path
    key_file: Path


class PrivateCA:
    """A certificate authority for one test run."""

    def __init__(self, directory: Path | None = None, name: str = "mailward test CA") -> None:
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="mailward-ca-"))
            atexit.register(shutil.rmtree, directory, True)
        self.directory = directory
        self.name = name
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file = directory / f"{id(self)}-ca.pem"
        self.ca_file.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        self._issued: dict[tuple[tuple[str, ...], bool], Identity] = {}

    def issue(self, *names: str, expired: bool = False) -> Identity:
        """A server certificate for ``names`` (DNS SANs), valid now unless ``expired``."""
        key = (names, expired)
        if key in self._issued:
            return self._issued[key]
        server_key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        start, end = (
            (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1))
            if expired
            else (now - datetime.timedelta(hours=1), now + datetime.timedelta(days=7))
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.certificate.subject)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        stem = self.directory / f"{id(self)}-{len(self._issued)}"
        identity = Identity(stem.with_suffix(".crt"), stem.with_suffix(".key"))
        identity.cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        identity.key_file.write_bytes(
            server_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self._issued[key] = identity
        return identity


@functools.cache
def private_ca() -> PrivateCA:
    """The CA the tests trust (through ``AuditOptions.ca_file``), made once per process."""
    return PrivateCA()


@functools.cache
def untrusted_ca() -> PrivateCA:
    """A second CA that no test trusts."""
    return PrivateCA(name="nobody trusts this CA")


def server_context(identity: Identity, *, only_tls11: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if only_tls11:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1_1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("ALL:@SECLEVEL=0")
    context.load_cert_chain(identity.cert_file, identity.key_file)
    return context


class _Server:
    """A started asyncio server that ends its open connections when it stops."""

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port
        self.connections = 0
        self.stopping = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._open: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def _start(self, ssl_context: ssl.SSLContext | None) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.address, self.port, ssl=ssl_context, limit=65536
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._open[task] = writer
        self.connections += 1
        try:
            async with asyncio.timeout(30):
                await self.serve(reader, writer)
        except (OSError, EOFError, TimeoutError, ssl.SSLError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            self._open.pop(task, None)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop listening, end every open connection, and wait (briefly) for their tasks."""
        self.stopping.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._open.values()):
            writer.transport.abort()
        if self._open:
            _, pending = await asyncio.wait(list(self._open), timeout=2)
            for task in pending:
                task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


@dataclass(frozen=True)
class Route:
    """What the policy server answers for one host name."""

    body: str | bytes = GOOD_POLICY
    status: int = 200
    reason: str = "OK"
    content_type: str | None = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()
    chunked: bool = False
    stall: bool = False  # take the request, never answer
    raw: bytes | None = None  # send exactly this (status line, headers, body), then close
    identity: Identity | None = None  # default: a certificate for the host from private_ca()


class PolicyServer(_Server):
    """HTTPS for MTA-STS policies: one address, a certificate and an answer per host name."""

    def __init__(
        self,
        routes: dict[str, Route],
        *,
        only_tls11: bool = False,
        address: str = POLICY_ADDRESS,
        port: int = 0,
    ) -> None:
        super().__init__(address, port)
        self.routes = routes
        self.requests: list[tuple[str, str]] = []
        self.only_tls11 = only_tls11
        self._contexts = {
            host: server_context(route.identity or private_ca().issue(host), only_tls11=only_tls11)
            for host, route in routes.items()
        }

    async def __aenter__(self) -> PolicyServer:
        default = server_context(private_ca().issue("unknown.invalid"), only_tls11=self.only_tls11)
        contexts = self._contexts

        def by_name(sslobj: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
            if name in contexts:
                sslobj.context = contexts[name]

        default.sni_callback = by_name
        await self._start(default)
        return self

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = (await reader.readuntil(b"\n")).decode("latin-1").split()
        host = ""
        while line := (await reader.readuntil(b"\n")).strip():
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "host":
                host = value.strip().rsplit(":", 1)[0] if "]" not in value else value.strip()
        self.requests.append((host, request[1] if len(request) > 1 else ""))
        route = self.routes.get(host)
        if route is None:
            route = Route(body="no such site\n", status=404, reason="Not Found")
        if route.stall:
            await self.stopping.wait()
            return
        if route.raw is not None:
            writer.write(route.raw)
            await writer.drain()
            return
        body = route.body.encode() if isinstance(route.body, str) else route.body
        head = [f"HTTP/1.1 {route.status} {route.reason}", "Connection: close"]
        if route.content_type is not None:
            head.append(f"Content-Type: {route.content_type}")
        head += [f"{name}: {value}" for name, value in route.headers]
        if route.chunked:
            head.append("Transfer-Encoding: chunked")
            half = len(body) // 2
            pieces = [body[:half], body[half:]]
            body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces if p)
            body += b"0\r\nX-Trailer: yes\r\n\r\n"
        else:
            head.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()

    def hits(self, host: str) -> list[str]:
        """The paths requested from ``host``."""
        return [path for name, path in self.requests if name == host]

    def options(self, **more: Any) -> AuditOptions:
        """Options that send the audit's policy fetches here and trust the test CA."""
        options = AuditOptions(
            ca_file=str(private_ca().ca_file), https_port=self.port, https_timeout=3.0
        )
        return dataclasses.replace(options, **more)


class SmtpServer(_Server):
    """A minimal ESMTP server: greeting, EHLO/HELO, STARTTLS, QUIT; nothing is delivered."""

    def __init__(
        self,
        *,
        banner: str = "mail.good.test",
        starttls: Identity | None = None,
        only_tls11: bool = False,
        greeting: str | None = None,
        silent: bool = False,
        address: str = SMTP_ADDRESS,
        port: int = 0,
    ) -> None:
        super().__init__(address, port)
        self.banner = banner
        self.greeting = greeting or f"220 {banner} ESMTP mailward-test"
        self.silent = silent  # accept, then say nothing
        self.tls = server_context(starttls, only_tls11=only_tls11) if starttls else None
        self.commands: list[str] = []
        self.handshakes = 0

    async def __aenter__(self) -> SmtpServer:
        await self._start(None)
        return self

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        secure = False

        async def say(*lines: str) -> None:
            writer.write("".join(f"{line}\r\n" for line in lines).encode())
            await writer.drain()

        if self.silent:
            await self.stopping.wait()
            return
        await say(self.greeting)
        if not self.greeting.startswith("220"):
            return
        while line := (await reader.readuntil(b"\n")).decode("latin-1").strip():
            self.commands.append(line)
            verb = line.split()[0].upper()
            if verb == "EHLO":
                offer = ["250-STARTTLS"] if self.tls and not secure else []
                await say(f"250-{self.banner}", "250-PIPELINING", *offer, "250 8BITMIME")
            elif verb == "HELO":
                await say(f"250 {self.banner}")
            elif verb == "STARTTLS" and self.tls and not secure:
                await say("220 2.0.0 Ready to start TLS")
                await writer.start_tls(self.tls)
                self.handshakes += 1
                secure = True
            elif verb == "QUIT":
                await say("221 2.0.0 Bye")
                return
            else:
                await say("502 5.5.2 Command not recognized")


@contextlib.asynccontextmanager
async def good_test_policy(**more: Any) -> AsyncIterator[AuditOptions]:
    """Serve good.test's policy (enforce, mx: mail.good.test, a week) on 127.0.0.80, and
    yield the options that make an audit fetch it from there."""
    async with PolicyServer({"mta-sts.good.test": Route()}) as server:
        yield server.options(**more)


async def audit_areas(
    knot: KnotServer, domain: str, options: AuditOptions, prefixes: tuple[str, ...]
) -> DomainReport:
    """Like ``scenarios.audit_both`` (live against Knot, then offline over the same zones,
    same findings), but comparing only the codes that start with ``prefixes``: the MTA-STS
    and SMTP tests check their own areas, whatever the other areas' checks do."""
    live = await Auditor(StubResolver([knot.nameserver], timeout=2.0), options).audit(domain)
    offline = await Auditor(offline_resolver(), options).audit(domain)
    mine = [[pair for pair in summary(r) if pair[0].startswith(prefixes)] for r in (live, offline)]
    assert mine[0] == mine[1], mine
    return live
