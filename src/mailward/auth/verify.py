"""Judge one message: SPF, DKIM and DMARC together, with the evidence and a diagnosis.

:func:`verify_message` runs the engines on one message as a receiver would: SPF for the
MAIL FROM and HELO identities (RFC 7208 §2.3-§2.4, :mod:`mailward.auth.spf`), every DKIM
signature (RFC 6376 §6, :mod:`mailward.auth.dkim`), DMARC (RFC 9989, :mod:`mailward.auth.dmarc`)
over the RFC 5322 From domains, and writes the Authentication-Results field (RFC 8601,
:mod:`mailward.auth.results`). Authentication-Results fields already carrying our authserv-id
are reported as forged (RFC 8601 §5) and never trusted.

The SMTP envelope (client IP, HELO name, MAIL FROM) is given by the caller; what is not given
is taken from the message — the IP and HELO from the topmost Received field
(``from HELO (host [IP])``, RFC 5321 §4.4), the MAIL FROM from Return-Path — and
:attr:`Verification.notes` says so. To recognise a forwarded message, the older Received hops
(at most :data:`MAX_HOPS`) are checked against the MAIL FROM domain's SPF: a hop that passes
is where the origin handed the message over (:attr:`Verification.origin_hop`).

:attr:`Verification.diagnosis` explains the outcome in plain words
(:mod:`mailward.auth.diagnose`).

SECURITY: the message is hostile. The header block is bounded by the splitter
(:mod:`mailward.auth.message`); each header value read here is cut at :data:`MAX_VALUE`
characters before any regular expression sees it; at most :data:`MAX_FROM_FIELDS` From fields
and :data:`MAX_HOPS` Received hops are used; non-ASCII and control characters only ever reach
the output through :func:`mailward.auth.results.printable`. The DNS work is bounded by each
engine's own limits.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from email.utils import getaddresses
from typing import TYPE_CHECKING

from mailward.auth import results as ar
from mailward.auth.arc import ChainResult
from mailward.auth.arc import validate as arc_validate
from mailward.auth.dkim import VerifyResult
from mailward.auth.dkim import verify as dkim_verify
from mailward.auth.dmarc import DkimOutcome, DmarcResult, DmarcVerdict, SpfOutcome, evaluate
from mailward.auth.message import Message, MessageError, parse_message
from mailward.auth.spf import SpfResult, check_helo, check_mail_from, mail_from_identity
from mailward.dns.resolver import Resolver
from mailward.records.dmarc import Policy

if TYPE_CHECKING:
    from mailward.auth.diagnose import Diagnosis

__all__ = [
    "MAX_HOPS",
    "Hop",
    "Verification",
    "parse_received",
    "verify_message",
]

MAX_VALUE = 4096  # characters of one header value examined
MAX_FROM_FIELDS = 4
MAX_HOPS = 5  # older Received hops checked against SPF to find the origin
_RECEIVED_FROM = re.compile(r"\A\s*from\s+([^\s();]{1,255})", re.IGNORECASE)
_BRACKETED_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]{2,45})\]")
_BY = re.compile(r"\sby\s", re.IGNORECASE)


@dataclass(frozen=True)
class Hop:
    """One Received field: the HELO name and client IP it names (``None``: not found)."""

    index: int  # 0 = topmost
    helo: str | None
    ip: str | None


@dataclass(frozen=True)
class Verification:
    """Everything judged about one message, with the evidence."""

    dmarc: DmarcVerdict
    authentication_results: ar.AuthenticationResults
    ip: str | None = None
    helo: str | None = None
    mail_from: str | None = None
    notes: tuple[str, ...] = ()  # where envelope values came from, what was not checked
    spf: SpfResult | None = None  # MAIL FROM identity
    helo_spf: SpfResult | None = None
    dkim: VerifyResult = field(default_factory=VerifyResult)
    from_fields: int = 0
    from_domains: tuple[str, ...] = ()
    hops: tuple[Hop, ...] = ()
    origin_hop: Hop | None = None  # an older hop the MAIL FROM domain's SPF authorises
    forged_results: tuple[str, ...] = ()  # A-R fields naming our authserv-id (removed)
    subject: str = ""
    list_id: str | None = None
    arc_sets: int = 0  # ARC-Seal fields present (a forwarder sealed what it received)
    arc: ChainResult | None = None  # the ARC chain, validated (RFC 8617 §5.2)
    error: str | None = None  # the message could not be read at all
    diagnosis: tuple[Diagnosis, ...] = ()

    @property
    def passed(self) -> bool:
        return self.dmarc.result is DmarcResult.PASS


def _text(raw: bytes) -> str:
    """A header value as text (UTF-8, else Latin-1), unfolded and cut at MAX_VALUE."""
    try:
        text = raw[: MAX_VALUE * 4].decode("utf-8")
    except UnicodeDecodeError:
        text = raw[: MAX_VALUE * 4].decode("latin-1")
    return re.sub(r"\r\n[ \t]", " ", text[:MAX_VALUE]).strip()


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def parse_received(value: str, index: int = 0) -> Hop:
    """The HELO name and client IP of a Received field value (``from HELO (host [IP]) by``)."""
    value = value[:MAX_VALUE]
    by = _BY.search(value)
    head = value[: by.start()] if by else value
    helo_match = _RECEIVED_FROM.match(head)
    helo = helo_match.group(1) if helo_match else None
    ip = None
    for candidate in _BRACKETED_IP.finditer(head):
        ip = _ip(candidate.group(1))
        if ip is not None:
            break
    if ip is None and helo is not None:
        ip = _ip(helo.strip("[]"))  # "from [192.0.2.1]": the client gave an address literal
    return Hop(index, helo, ip)


def _domains_of(value: str) -> list[str]:
    """The domain of each address in a From field value ("" for an address without one)."""
    pairs = getaddresses([value])
    domains: list[str] = []
    for _, address in pairs:
        if address or not domains:
            domains.append(address.rpartition("@")[2] if "@" in address else "")
    return domains or [""]


def _unreadable(reason: str, authserv_id: str) -> Verification:
    verdict = DmarcVerdict(
        DmarcResult.PERMERROR,
        None,
        Policy.NONE,
        f"The message cannot be read ({reason}), so DMARC cannot judge it; it is never a pass.",
    )
    header = ar.AuthenticationResults(authserv_id, (ar.from_verdict(verdict),))
    return Verification(verdict, header, error=reason)


async def verify_message(
    raw: bytes,
    *,
    ip: str | None,
    helo: str | None,
    mail_from: str | None,
    resolver: Resolver,
    authserv_id: str,
    now: int | None = None,
) -> Verification:
    """Judge ``raw`` (a whole message) received from ``ip`` after ``HELO helo`` with
    ``MAIL FROM:<mail_from>``; ``None`` for any of them: taken from the message if it can be.
    Never raises on any message; DNS failures become temperror results."""
    from mailward.auth.diagnose import diagnose

    try:
        message = parse_message(raw)
    except MessageError as exc:
        outcome = _unreadable(str(exc), authserv_id)
        return replace(outcome, diagnosis=diagnose(outcome))
    notes: list[str] = []
    hops = tuple(
        parse_received(_text(f.value), i) for i, f in enumerate(message.all("Received")[:20])
    )
    ip, helo = _envelope_ip_helo(ip, helo, hops, notes)
    mail_from = _envelope_mail_from(mail_from, message, notes)
    forged = _forged(message, authserv_id)

    spf_result = helo_result = None
    if ip is None:
        notes.append("SPF was not checked: no client IP (give --ip, or a Received field).")
    else:
        if helo and not _ip(helo.strip("[]")):
            helo_result = await check_helo(ip, helo, resolver, receiver=authserv_id, now=now)
        if mail_from is None:
            notes.append("SPF was not checked for MAIL FROM: none given and no Return-Path.")
        elif mail_from == "" and not helo:
            notes.append("SPF was not checked: a null MAIL FROM needs the HELO name.")
        else:
            spf_result = await check_mail_from(
                ip, mail_from, helo or "", resolver, receiver=authserv_id, now=now
            )
    dkim_result = await dkim_verify(message, resolver, now=now)
    arc_result = await arc_validate(message, resolver, now=now)

    from_fields = message.all("From")
    domains: list[str] = []
    for f in from_fields[:MAX_FROM_FIELDS]:
        domains += _domains_of(_text(f.value))
    spf_outcome = None
    if spf_result is not None:
        spf_outcome = SpfOutcome(str(spf_result.result), spf_result.domain, "mfrom")
    dkim_outcomes = [
        DkimOutcome(s.result.value, s.domain, s.selector, s.reason) for s in dkim_result.signatures
    ]
    verdict = await evaluate(domains, spf_outcome, dkim_outcomes, resolver)
    if len(from_fields) > 1 and verdict.result is not DmarcResult.PERMERROR:
        verdict = replace(
            verdict,
            result=DmarcResult.PERMERROR,
            disposition=verdict.requested or Policy.NONE,
            reason=f"The message has {len(from_fields)} From header fields; RFC 5322 allows "
            "one, and DMARC cannot tell which author to judge, so it is never a pass.",
        )
    origin = None
    if spf_result is not None and spf_result.result in ("fail", "softfail"):
        origin = await _origin_hop(hops, ip, mail_from or "", resolver, authserv_id, now)
    subjects = message.all("Subject")
    list_ids = message.all("List-Id")
    outcome = Verification(
        dmarc=verdict,
        authentication_results=_results_header(
            authserv_id, spf_result, helo, mail_from, dkim_result, verdict, arc_result, ip
        ),
        ip=ip,
        helo=helo,
        mail_from=mail_from,
        notes=tuple(notes),
        spf=spf_result,
        helo_spf=helo_result,
        dkim=dkim_result,
        from_fields=len(from_fields),
        from_domains=tuple(domains),
        hops=hops,
        origin_hop=origin,
        forged_results=forged,
        subject=_text(subjects[0].value) if subjects else "",
        list_id=_text(list_ids[0].value) if list_ids else None,
        arc_sets=len(message.all("ARC-Seal")),
        arc=arc_result,
    )
    return replace(outcome, diagnosis=diagnose(outcome))


def _envelope_ip_helo(
    ip: str | None, helo: str | None, hops: tuple[Hop, ...], notes: list[str]
) -> tuple[str | None, str | None]:
    top = hops[0] if hops else None
    if ip is not None and _ip(ip) is None:
        notes.append(f"--ip {ar.printable(ip, 60)!r} is not an IP address; it was ignored.")
        ip = None
    if ip is None and top is not None and top.ip is not None:
        ip = top.ip
        notes.append(f"The client IP {ip} was taken from the topmost Received field.")
    if helo is None and top is not None and top.helo is not None:
        helo = top.helo
        notes.append(f"The HELO name {ar.printable(helo, 80)} was taken from the topmost Received.")
    return (_ip(ip) if ip else None), helo


def _envelope_mail_from(mail_from: str | None, message: Message, notes: list[str]) -> str | None:
    if mail_from is not None:
        return mail_from.strip().strip("<>")
    paths = message.all("Return-Path")
    if not paths:
        return None
    value = _text(paths[0].value)
    match = re.search(r"<([^<>]{0,512})>", value)
    found = (match.group(1) if match else value.split()[0] if value.split() else "").strip()
    shown = f"<{ar.printable(found, 120)}>"
    notes.append(f"The MAIL FROM {shown} was taken from the Return-Path field.")
    return found


def _forged(message: Message, authserv_id: str) -> tuple[str, ...]:
    fields = [(f.name.decode("ascii"), _text(f.value)) for f in message.all(ar.HEADER)[:100]]
    _, removed = ar.strip_forged(fields, authserv_id)
    return tuple(ar.printable(value, 200) for _, value in removed)


async def _origin_hop(
    hops: tuple[Hop, ...],
    ip: str | None,
    mail_from: str,
    resolver: Resolver,
    authserv_id: str,
    now: int | None,
) -> Hop | None:
    """The first older hop whose client IP the MAIL FROM domain's SPF authorises."""
    seen = {ip}
    for hop in hops[1 : 1 + MAX_HOPS]:
        if hop.ip is None or hop.ip in seen or ipaddress.ip_address(hop.ip).is_loopback:
            continue
        seen.add(hop.ip)
        result = await check_mail_from(
            hop.ip, mail_from, hop.helo or "", resolver, receiver=authserv_id, now=now
        )
        if result.result == "pass":
            return hop
    return None


def _results_header(
    authserv_id: str,
    spf_result: SpfResult | None,
    helo: str | None,
    mail_from: str | None,
    dkim_result: VerifyResult,
    verdict: DmarcVerdict,
    arc_result: ChainResult | None = None,
    ip: str | None = None,
) -> ar.AuthenticationResults:
    methods: list[ar.MethodResult] = []
    if spf_result is not None:
        domain, _ = mail_from_identity(mail_from or "", helo or "")
        methods.append(
            ar.spf(
                str(spf_result.result),
                mailfrom=mail_from or domain,
                helo=helo,
                comment=spf_result.reason,
            )
        )
    if dkim_result.error is not None:
        methods.append(ar.dkim("permerror", comment=dkim_result.error))
    elif not dkim_result.signatures:
        methods.append(ar.dkim("none"))
    for s in dkim_result.signatures:
        word = s.result.value
        b = s.signature.signature[:8] if s.signature is not None else None
        methods.append(
            ar.dkim(
                word,
                d=s.domain or None,
                s=s.selector or None,
                a=s.algorithm or None,
                b=b,
                comment=s.reason,
            )
        )
    methods.append(ar.from_verdict(verdict))
    if arc_result is not None and arc_result.result != "none":
        methods.append(arc_result.to_result(remote_ip=ip))
    return ar.AuthenticationResults(authserv_id, tuple(methods))
