"""SMTP (``--smtp`` only): talk to each MX address as a sending server would.

For every address of every MX host: connect to port 25 (``AuditOptions.smtp_port``), read
the greeting, EHLO, check that STARTTLS is offered (RFC 3207 §4) and works, and validate the
certificate for the MX host name against the system's CAs plus ``--ca-file`` (what MTA-STS
senders require, RFC 8461 §4.2; with an active MTA-STS policy the findings say what senders
applying it will do). The TLS version is noted: below TLS 1.2 is deprecated (RFC 8996). The
host name in the greeting (RFC 5321 §4.3.1: ``220 <domain> ...``) should be the address's
forward-confirmed reverse name (RFC 8601 §3 "iprev").

The verified handshake uses TLS 1.2 or later. When it fails, a second session without
verification and with every protocol version allowed learns which version the server speaks,
so an old-TLS server and a bad certificate are told apart.

Port 25 is blocked on many networks: a server that cannot be reached is ``smtp.unreachable``
(information about where mailward runs, never an error about the domain). The check is off by
default and uses asyncio streams only.

SECURITY: the servers are hostile. Replies are read line by line, at most :data:`MAX_LINE`
octets a line and :data:`MAX_REPLY_LINES` lines a reply; each session is bounded by
``--smtp-timeout`` seconds; the greeting is shown masked (:func:`printable`) and shortened; a
greeting's host name is compared with the address's PTR names and never looked up itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import ssl
import warnings
from dataclasses import dataclass, field

import dns.reversename

from mailward.audit.checks.mtasts import sts_state
from mailward.audit.checks.mx import mail_hosts
from mailward.audit.context import AuditContext
from mailward.audit.domain import is_ip_address
from mailward.audit.https import client_context
from mailward.audit.registry import check
from mailward.codes import Severity, define
from mailward.findings import Finding
from mailward.records.mtasts import MtaStsPolicy, mx_matches

MAX_LINE = 2048
MAX_REPLY_LINES = 100
OLD_VERSIONS = frozenset({"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"})

_REPLY = re.compile(r"([2-5][0-9][0-9])([ -]|\Z)(.*)", re.DOTALL)
_HOST = re.compile(
    r"(?=.{1,253}\Z)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]"
    r"(?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?"
)

NO_STARTTLS = define(
    "smtp.no-starttls",
    Severity.ERROR,
    "Mail server offers no working STARTTLS",
    why="Without STARTTLS every sender delivers in clear text; with MTA-STS in force, senders "
    "will not deliver at all.",
    example="250-mail.example.com\n250-PIPELINING\n250 8BITMIME   ; no 250-STARTTLS",
    fix="Give the server a certificate and enable STARTTLS (Postfix: smtpd_tls_security_level "
    "= may, smtpd_tls_chain_files = key and full chain).",
    refs=("RFC 3207 §4", "RFC 8461 §4.2"),
)
CERT_INVALID = define(
    "smtp.cert-invalid",
    Severity.ERROR,
    "Mail server's certificate is not valid for its MX name",
    why="Senders that authenticate TLS (MTA-STS, and DANE without TLSA) refuse a certificate "
    "that is expired, self-signed, untrusted or for another name.",
    example="mail.example.com:25 presents a certificate for www.example.com",
    fix="Install a certificate for the MX host name from a public CA, with its full chain.",
    refs=("RFC 8461 §4.2", "RFC 6125 §6"),
)
UNREACHABLE = define(
    "smtp.unreachable",
    Severity.INFO,
    "Mail server could not be reached on the SMTP port from here",
    why="Many home and cloud networks block outgoing port 25, so this may say more about where "
    "mailward ran than about the domain; its SMTP was not checked.",
    example="mail.example.com (192.0.2.25) port 25: no answer within 15 s",
    fix="Run `mailward check --smtp` from a network that allows outgoing port 25, and check "
    "the server's firewall allows incoming SMTP.",
    refs=("RFC 5321 §3.1",),
)
TLS_OLD = define(
    "smtp.tls-old",
    Severity.WARNING,
    "Mail server speaks only a TLS version older than 1.2",
    why="TLS 1.0 and 1.1 are deprecated; modern senders refuse them, and MTA-STS requires "
    "TLS 1.2 or later.",
    example="mail.example.com:25 negotiates TLSv1.1",
    fix="Enable TLS 1.2 and 1.3 (Postfix: smtpd_tls_protocols = >=TLSv1.2).",
    refs=("RFC 8996 §1", "RFC 8461 §4.2"),
)
BANNER_MISMATCH = define(
    "smtp.banner-mismatch",
    Severity.INFO,
    "Mail server's greeting names a host without forward-confirmed reverse DNS",
    why="Some receivers and blocklists compare the greeting's name with the address's reverse "
    "DNS; a name that does not match looks like a misconfigured or hijacked server.",
    example="220 localhost.localdomain ESMTP   ; from 192.0.2.25, PTR mail.example.com",
    fix="Make the server greet with the name its address's PTR points to (Postfix: "
    "myhostname), and make that name resolve back to the address.",
    refs=("RFC 5321 §4.3.1", "RFC 8601 §3"),
)
OK = define(
    "smtp.ok",
    Severity.PASS,
    "Mail servers offer STARTTLS with a valid certificate",
    why="Senders can deliver encrypted, and authenticate the server when a policy asks them to.",
    example="mail.example.com:25 STARTTLS, TLSv1.3, certificate valid for mail.example.com",
    fix="Nothing to do; renew the certificate before it expires.",
    refs=("RFC 3207 §4", "RFC 8461 §4.2"),
)


@dataclass
class Probe:
    """One SMTP session's outcome (at most one of the failure fields is set)."""

    host: str
    address: str
    banner: str | None = None
    keywords: frozenset[str] = frozenset()
    unreachable: str | None = None
    no_starttls: str | None = None
    cert_error: str | None = None
    tls_error: str | None = None
    tls_version: str | None = None
    transcript: list[str] = field(default_factory=list)


class _ReplyError(Exception):
    """The server's answer is not an SMTP reply."""


@check("smtp")
async def smtp_servers(ctx: AuditContext) -> list[Finding]:
    if not ctx.options.smtp:
        return []
    hosts = [h for h in await mail_hosts(ctx) if h.addresses and not is_ip_address(h.name)]
    if not hosts:
        return []
    policy = (await sts_state(ctx)).active
    results = await asyncio.gather(
        *(_examine(ctx, host.name, address, policy) for host in hosts for address in host.addresses)
    )
    findings = [finding for found, _ in results for finding in found]
    good = [detail for _, detail in results if detail]
    if good and not any(f.severity in (Severity.ERROR, Severity.WARNING) for f in findings):
        findings.append(Finding.of(OK, "; ".join(good)))
    return findings


async def _examine(
    ctx: AuditContext, host: str, address: str, policy: MtaStsPolicy | None
) -> tuple[list[Finding], str | None]:
    """Findings for one address, and the pass detail when all is right there."""
    options = ctx.options
    where = f"{host} ({address}) port {options.smtp_port}"
    probe = await smtp_probe(
        address, options.smtp_port, host, client_context(options.ca_file), options.smtp_timeout
    )
    evidence = probe.transcript
    if probe.unreachable is not None:
        detail = (
            f"{where}: {probe.unreachable}; SMTP was not checked (outgoing port 25 is often "
            "blocked where mailward runs)"
        )
        return [Finding.of(UNREACHABLE, detail, evidence=evidence)], None
    findings = await _banner_findings(ctx, host, address, probe)
    stake = _stake(host, policy)
    if probe.no_starttls is not None:
        detail = f"{where}: {probe.no_starttls}; senders deliver to it in clear text{stake}"
        fix = (
            "# Postfix main.cf\nsmtpd_tls_security_level = may\n"
            f"smtpd_tls_chain_files = /etc/letsencrypt/live/{host}/privkey.pem, "
            f"/etc/letsencrypt/live/{host}/fullchain.pem"
        )
        findings.append(Finding.of(NO_STARTTLS, detail, evidence=evidence, fix=fix))
        return findings, None
    version = probe.tls_version
    if probe.cert_error is not None or probe.tls_error is not None:
        plain = await smtp_probe(
            address, options.smtp_port, host, any_tls_context(), options.smtp_timeout
        )
        version = plain.tls_version
        evidence = [
            *evidence,
            f"verified TLS 1.2+ handshake: {probe.cert_error or probe.tls_error}",
            f"unverified handshake, any version: {version or 'failed'}",
        ]
    if probe.cert_error is not None:
        detail = f"{where}: the certificate is invalid: {probe.cert_error}{stake}"
        fix = (
            "# Postfix main.cf: a certificate for the MX name from a public CA, with its chain\n"
            f"smtpd_tls_chain_files = /etc/letsencrypt/live/{host}/privkey.pem, "
            f"/etc/letsencrypt/live/{host}/fullchain.pem"
        )
        findings.append(Finding.of(CERT_INVALID, detail, evidence=evidence, fix=fix))
    elif probe.tls_error is not None and (version is None or version not in OLD_VERSIONS):
        detail = (
            f"{where}: STARTTLS is offered but the TLS handshake fails: {probe.tls_error}; "
            f"senders fall back to clear text{stake}"
        )
        findings.append(Finding.of(NO_STARTTLS, detail, evidence=evidence))
    if version in OLD_VERSIONS:
        unchecked = "; the certificate was not checked" if probe.tls_error else ""
        detail = f"{where}: negotiates {version} at best{unchecked}{_stake(host, policy)}"
        fix = (
            "# Postfix main.cf\nsmtpd_tls_protocols = >=TLSv1.2\n"
            "smtpd_tls_mandatory_protocols = >=TLSv1.2"
        )
        findings.append(Finding.of(TLS_OLD, detail, evidence=evidence, fix=fix))
    if probe.cert_error is not None or probe.tls_error is not None:
        return findings, None
    covered = ""
    if policy is not None and any(mx_matches(p, host) for p in policy.mx):
        covered = f", as the MTA-STS policy (mode {policy.mode}) requires"
    return findings, f"{where}: STARTTLS, {version}, certificate valid for {host}{covered}"


def _stake(host: str, policy: MtaStsPolicy | None) -> str:
    """What senders applying the domain's MTA-STS policy do about a TLS failure here."""
    if policy is None or not any(mx_matches(p, host) for p in policy.mx):
        return ""
    if policy.mode == "enforce":
        return "; senders applying the MTA-STS policy (mode enforce) will not deliver to it"
    return "; senders applying the MTA-STS policy (mode testing) will report the failure"


async def _banner_findings(
    ctx: AuditContext, host: str, address: str, probe: Probe
) -> list[Finding]:
    """``smtp.banner-mismatch`` unless the greeting names a forward-confirmed PTR name."""
    if probe.banner is None:
        return []
    reverse = dns.reversename.from_address(address).to_text().rstrip(".")
    ptr = await ctx.lookup(reverse, "PTR")
    if ptr.failed:
        return []
    names = [r.target.to_text().rstrip(".").lower() for r in ptr.records]
    confirmed = [name for name in names if await _resolves_to(ctx, name, address)]
    word = probe.banner.split(" ", 1)[0]
    name = word.rstrip(".").lower() if _HOST.fullmatch(word) else None
    if name is not None and name in confirmed:
        return []
    shown = printable(probe.banner)
    said = f"names {name}" if name else f"names no host ({shown!r})"
    if confirmed:
        why = f"{address} reverses to {', '.join(names)}"
        fix = (
            f"# Postfix main.cf: greet with the address's reverse name\nmyhostname = {confirmed[0]}"
        )
    else:
        why = f"{address} has no forward-confirmed reverse name (PTR: {', '.join(names) or 'none'})"
        fix = f"{reverse}. IN PTR {name or host}.   ; ask the address's owner to set it"
    detail = f"the greeting of {host} ({address}) {said}, but {why}"
    return [Finding.of(BANNER_MISMATCH, detail, evidence=[f"220 {shown}", ptr.describe()], fix=fix)]


async def _resolves_to(ctx: AuditContext, name: str, address: str) -> bool:
    lookup = await ctx.lookup(name, "AAAA" if ":" in address else "A")
    wanted = ipaddress.ip_address(address)
    return any(ipaddress.ip_address(r.to_text()) == wanted for r in lookup.records)


async def smtp_probe(
    address: str, port: int, host: str, context: ssl.SSLContext, timeout: float
) -> Probe:
    """Greeting, EHLO, STARTTLS and a TLS handshake for ``host`` at ``address``; never raises
    for anything the server does, and takes at most ``timeout`` seconds."""
    probe = Probe(host, address)
    phase = "connect"
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(address, port, limit=MAX_LINE)
            phase = "greeting"
            code, lines = await _reply(reader, probe)
            probe.banner = lines[0][:200]
            if code != 220:
                probe.unreachable = f"it greets with {code} {printable(lines[0])!r}"
                return probe
            phase = "EHLO"
            code, lines = await _command(reader, writer, f"EHLO {_client_name(writer)}", probe)
            if code != 250:
                probe.no_starttls = f"it refuses EHLO ({code}), so it offers no STARTTLS"
                return probe
            probe.keywords = frozenset(
                line.split()[0].upper() for line in lines[1:] if line.split()
            )
            if "STARTTLS" not in probe.keywords:
                probe.no_starttls = "its EHLO reply does not offer STARTTLS"
                return probe
            phase = "STARTTLS"
            code, lines = await _command(reader, writer, "STARTTLS", probe)
            if code != 220:
                probe.no_starttls = f"it offers STARTTLS but answers {code} to it"
                return probe
            phase = "TLS handshake"
            await writer.start_tls(context, server_hostname=host, ssl_handshake_timeout=timeout)
            ssl_object = writer.get_extra_info("ssl_object")
            probe.tls_version = ssl_object.version() if ssl_object is not None else None
            probe.transcript.append(f"TLS: {probe.tls_version}")
            phase = "QUIT"
            await _command(reader, writer, "QUIT", probe)
    except ssl.SSLCertVerificationError as exc:
        probe.cert_error = str(exc.verify_message or exc.reason or exc)
    except ssl.SSLError as exc:
        if phase == "TLS handshake":  # later, a peer closing without close_notify is no fault
            probe.tls_error = str(exc.reason or exc).replace("_", " ").lower()
    except TimeoutError:
        _broke_off(probe, phase, f"no answer within {timeout:g} s")
    except ConnectionRefusedError:
        _broke_off(probe, phase, "connection refused")
    except (OSError, EOFError, asyncio.LimitOverrunError, _ReplyError) as exc:
        _broke_off(probe, phase, _reason(exc))
    finally:
        if writer is not None:
            await _close(writer)
    return probe


def _broke_off(probe: Probe, phase: str, reason: str) -> None:
    if phase == "QUIT":
        return  # everything that matters was seen
    if phase == "TLS handshake":
        probe.tls_error = reason
    elif phase in ("connect", "greeting"):
        probe.unreachable = reason if phase == "connect" else f"{reason} (waiting for the greeting)"
    else:
        probe.unreachable = f"the session broke off at {phase}: {reason}"


async def _command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: str, probe: Probe
) -> tuple[int, list[str]]:
    probe.transcript.append(f"C: {line}")
    writer.write(line.encode("ascii") + b"\r\n")
    await writer.drain()
    return await _reply(reader, probe)


async def _reply(reader: asyncio.StreamReader, probe: Probe) -> tuple[int, list[str]]:
    """One (possibly multi-line) reply: its code and the text of each line."""
    lines: list[str] = []
    code = 0
    while True:
        raw = await reader.readuntil(b"\n")
        text = raw.rstrip(b"\r\n").decode("latin-1")
        match = _REPLY.fullmatch(text)
        if match is None or (lines and int(match[1]) != code):
            raise _ReplyError(f"not an SMTP reply: {printable(text[:80])!r}")
        code = int(match[1])
        lines.append(match[3])
        if len(probe.transcript) < 40:
            probe.transcript.append(f"S: {printable(text[:200])}")
        if len(lines) > MAX_REPLY_LINES:
            raise _ReplyError(f"a reply of more than {MAX_REPLY_LINES} lines")
        if match[2] != "-":
            return code, lines


def any_tls_context() -> ssl.SSLContext:
    """No verification, every protocol version: only to learn what the server speaks."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def printable(text: str) -> str:
    """``text`` with every character outside printable ASCII shown as ``?``."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def _client_name(writer: asyncio.StreamWriter) -> str:
    """An address literal for our end of the connection (RFC 5321 §4.1.3)."""
    local = str(writer.get_extra_info("sockname")[0])
    return f"[IPv6:{local}]" if ":" in local else f"[{local}]"


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await writer.wait_closed()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.IncompleteReadError):
        return "the server closed the connection"
    if isinstance(exc, asyncio.LimitOverrunError):
        return f"a reply line longer than {MAX_LINE} octets"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, ConnectionResetError):
        return "the server reset the connection"
    return str(exc) or type(exc).__name__
