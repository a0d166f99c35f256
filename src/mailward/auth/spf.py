"""SPF evaluation: may this IP address send mail for that domain? (RFC 7208)

``await check_host(ip, domain, sender, helo, resolver)`` is RFC 7208 §4's check_host():
record lookup and selection (§4.4, §4.5), every mechanism (§5: all, include, a, mx, ptr, ip4,
ip6, exists) and modifier (§6: redirect, exp, unknown ones ignored), macro expansion (§7), the
limits (§4.6.4: 10 terms that query DNS, 2 void lookups, 10 MX names per ``mx``, 10 PTR names
per ``ptr``/``%{p}``) and the seven results. Void lookups are counted per term, as §4.6.4
words it: the query of an ``a``, ``mx`` or ``exists`` term that gets NXDOMAIN or NODATA (not the
address lookups of the MX hosts, which pyspf also counts: it gives permerror to an IPv6 client
of a domain whose MX hosts have no AAAA). :func:`check_mail_from` and :func:`check_helo`
apply the identity rules of §2.3/§2.4 (an empty MAIL FROM is checked as postmaster@HELO).
Every result says why (``reason``), which term decided it (``mechanism``, in ``record``'s
record) and the path through includes and redirects (``trail``).

DESIGN: the evaluation is a sans-I/O state machine, :func:`evaluate`: a generator that yields
each :class:`Query` and is sent back the :class:`~mailward.dns.resolver.Answer` or the
:class:`~mailward.errors.DNSError`. :func:`check_host` drives it through a fresh
:class:`~mailward.dns.CountingResolver` over the caller's resolver; tests and the milter can
drive it themselves. A DNS ``TempError`` (a timeout, SERVFAIL, or offline ``NotLoaded``)
anywhere, inside includes too, gives ``temperror``, never ``permerror`` (§5.2).

SECURITY: records, DNS answers, the sender and the HELO name are hostile. Each evaluation is
bounded by the RFC's limits (at most 10 lookup terms, so at most 11 records; 10 MX or PTR names
each), every expanded name is cut to 253 characters (in one pass), a sender or HELO name over
``MAX_IDENTITY`` characters is refused, an explanation is cut to ``MAX_EXPLANATION``, and the
records are parsed by :mod:`mailward.records.spf` (linear, bounded). Parsed records are kept
by their text for the next evaluation (``_spfrecords``: at most 1,024 records of up to
4,096 octets).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from enum import StrEnum

from mailward.auth._spfexpand import expand, ip_macro, truncate_name
from mailward.auth._spfrecords import Compiled, compile_record
from mailward.dns.counting import CountingResolver
from mailward.dns.resolver import Answer, Resolver
from mailward.errors import DNSError, NoAnswer, NXDomain
from mailward.records.spf import (
    MacroExpand,
    MacroString,
    Mechanism,
    Qualifier,
    SpfRecord,
    parse_macro_string,
)

__all__ = [
    "MAX_LOOKUPS",
    "MAX_NAMES",
    "MAX_VOIDS",
    "Query",
    "Result",
    "SpfResult",
    "check_helo",
    "check_host",
    "check_mail_from",
    "evaluate",
    "mail_from_identity",
]

MAX_LOOKUPS = 10  # §4.6.4: terms that query DNS (include a mx ptr exists redirect)
MAX_VOIDS = 2  # §4.6.4: lookups answered NXDOMAIN or NODATA
MAX_NAMES = 10  # §4.6.4: MX names per mx, PTR names per ptr and %{p}
MAX_IDENTITY = 1024  # a longer sender or HELO name is refused (SMTP allows 256 for a path)
MAX_EXPLANATION = 1024  # characters of an expanded exp= text kept
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Result(StrEnum):
    """The seven results of check_host() (RFC 7208 §2.6)."""

    NONE = "none"
    NEUTRAL = "neutral"
    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


_QUALIFIED = {
    Qualifier.PASS: Result.PASS,
    Qualifier.FAIL: Result.FAIL,
    Qualifier.SOFTFAIL: Result.SOFTFAIL,
    Qualifier.NEUTRAL: Result.NEUTRAL,
}


@dataclass(frozen=True)
class Query:
    """One DNS question the evaluation needs answered."""

    name: str
    rdtype: str


@dataclass(frozen=True)
class SpfResult:
    """The outcome of one evaluation and its evidence.

    ``mechanism`` is the term that decided (``"-all"``, ``"include:_spf.example.net"``,
    ``"redirect=_spf.example.net"``), ``None`` when no term did (none, the default neutral, or
    an error before any term); ``record`` the domain whose record holds it; ``trail`` each
    ``domain: term`` followed from the checked domain down to the deciding one.
    ``explanation`` is the expanded ``exp=`` text of a fail, ``None`` without one.
    """

    result: Result
    domain: str
    reason: str
    mechanism: str | None = None
    record: str | None = None
    explanation: str | None = None
    trail: tuple[str, ...] = ()
    lookups: int = 0
    voids: int = 0
    queries: int = field(default=0, compare=False)


class _Abort(Exception):
    """temperror or permerror: the evaluation stops (it unwinds every include)."""

    def __init__(self, result: Result, reason: str, domain: str, term: str | None) -> None:
        super().__init__(reason)
        self.result, self.reason, self.domain, self.term = result, reason, domain, term
        self.trail: list[str] = []

    def blame(self, domain: str, term: str) -> None:
        """Going up through ``domain``'s ``term``: the trail, and the term if none yet.

        A record that cannot be had or read is blamed on the include or redirect that
        asked for it, in the record that holds that term.
        """
        self.trail.insert(0, f"{domain}: {term}")
        if self.term is None:
            self.domain, self.term = domain, term


@dataclass
class _Verdict:
    result: Result
    reason: str
    domain: str
    term: str | None
    trail: list[str]
    explanation: str | None = None


def _normal_ip(ip: str | IPAddress) -> IPAddress:
    address = ip if not isinstance(ip, str) else ipaddress.ip_address(ip.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _valid_domain(name: str) -> bool:
    """§4.3: a multi-label name, labels of 1-63 characters, no domain literal."""
    bare = name[:-1] if name.endswith(".") else name
    if not bare or len(bare) > 253 or not bare.isascii():
        return False
    labels = bare.split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return False
    return all(0 < len(label) <= 63 and "[" not in label and " " not in label for label in labels)


def _name(name: str) -> str:
    return name.rstrip(".").lower()


class _Evaluation:
    """The state of one check_host() evaluation, recursion included."""

    def __init__(self, ip: IPAddress, sender: str, helo: str, receiver: str, now: int) -> None:
        self.ip = ip
        self.sender = sender
        local, _, self.sender_domain = sender.rpartition("@")
        self.local = local or "postmaster"
        self.helo = helo
        self.receiver = receiver
        self.now = now
        self.lookups = 0
        self.voids = 0
        self._validated: list[str] | None = None
        self.i_macro = ip_macro(ip)
        self.ip_int = int(ip)
        self.values = {
            "s": sender,
            "l": self.local,
            "o": self.sender_domain,
            "i": self.i_macro,
            "v": "in-addr" if ip.version == 4 else "ip6",
            "h": helo,
            "c": str(ip),
            "r": receiver,
            "t": str(now),
            "p": "unknown",
        }

    # -- DNS ---------------------------------------------------------------------------------

    def lookup(
        self, name: str, rdtype: str
    ) -> Generator[Query, Answer | DNSError, Answer | DNSError]:
        """Ask; a name no DNS query can carry (empty or long label) does not exist."""
        if not _queryable(name):
            return NXDomain(name, rdtype, "not a valid DNS name: not asked")
        return (yield Query(name, rdtype))

    def addresses(
        self, name: str, domain: str, term: str, *, void: bool
    ) -> Generator[Query, Answer | DNSError, list[tuple[str, int]]]:
        """A or AAAA (as the client's) of ``name``, as text and integer; NXDOMAIN/NODATA: []."""
        rdtype = "A" if self.ip.version == 4 else "AAAA"
        outcome = yield from self.lookup(name, rdtype)
        if isinstance(outcome, NXDomain | NoAnswer):
            if void:
                self.void(domain, term, name)
            return []
        if isinstance(outcome, DNSError):
            raise _Abort(Result.TEMPERROR, f"{name} {rdtype}: {_why(outcome)}", domain, term)
        return self.numbers(outcome)

    def numbers(self, answer: Answer) -> list[tuple[str, int]]:
        """The A/AAAA addresses of an answer as (text, integer); malformed ones skipped."""
        family = socket.AF_INET if self.ip.version == 4 else socket.AF_INET6
        out: list[tuple[str, int]] = []
        for record in answer.records:
            address = getattr(record, "address", None)
            if isinstance(address, str):
                try:
                    out.append((address, int.from_bytes(socket.inet_pton(family, address))))
                except (OSError, ValueError):
                    continue
        return out

    def void(self, domain: str, term: str, name: str) -> None:
        self.voids += 1
        if self.voids > MAX_VOIDS:
            reason = f"more than {MAX_VOIDS} void lookups (the last: {name}) (RFC 7208 §4.6.4)"
            raise _Abort(Result.PERMERROR, reason, domain, term)

    def count(self, domain: str, term: str) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            reason = f"more than {MAX_LOOKUPS} DNS-querying terms (RFC 7208 §4.6.4)"
            raise _Abort(Result.PERMERROR, reason, domain, term)

    def validated_names(self) -> Generator[Query, Answer | DNSError, list[str]]:
        """§5.5: the PTR names of the client's address whose A/AAAA include it (10 at most)."""
        if self._validated is not None:
            return self._validated
        validated: list[str] = []
        outcome = yield from self.lookup(self.ip.reverse_pointer, "PTR")
        if isinstance(outcome, Answer):
            names = [_host(getattr(r, "target", None)) for r in outcome.records]
            for name in names[:MAX_NAMES]:
                rdtype = "A" if self.ip.version == 4 else "AAAA"
                answer = yield from self.lookup(name, rdtype)
                if isinstance(answer, Answer) and any(
                    number == self.ip_int for _, number in self.numbers(answer)
                ):
                    validated.append(name)
        self._validated = validated
        return validated

    # -- records -----------------------------------------------------------------------------

    def fetch(self, domain: str) -> Generator[Query, Answer | DNSError, Compiled | None]:
        """§4.4-§4.6: the domain's one SPF record, parsed; ``None`` when it has none."""
        outcome = yield from self.lookup(domain, "TXT")
        if isinstance(outcome, NXDomain | NoAnswer):
            return None
        if isinstance(outcome, DNSError):
            raise _Abort(Result.TEMPERROR, f"{domain} TXT: {_why(outcome)}", domain, None)
        texts = [t for t in outcome.texts() if t[:6].lower() == b"v=spf1" and t[6:7] in (b"", b" ")]
        if not texts:
            return None
        if len(texts) > 1:
            reason = f"{domain} has {len(texts)} SPF records; exactly one is allowed (§4.5)"
            raise _Abort(Result.PERMERROR, reason, domain, None)
        compiled = compile_record(texts[0])
        if compiled.error is not None:
            reason = f"{domain}'s SPF record has a syntax error: {compiled.error}"
            raise _Abort(Result.PERMERROR, reason, domain, None)
        return compiled

    # -- evaluation --------------------------------------------------------------------------

    def check(
        self, domain: str, *, explain: bool = True
    ) -> Generator[Query, Answer | DNSError, _Verdict]:
        """check_host() for ``domain`` (recursively for include and redirect).

        ``explain``: fetch the ``exp=`` text of a fail (not inside an include, whose fail
        is only "no match").
        """
        compiled = yield from self.fetch(domain)
        if compiled is None:
            return _Verdict(Result.NONE, f"{domain} publishes no SPF record", domain, None, [])
        record = compiled.record
        for item in compiled.terms:
            mechanism, term = item.mechanism, item.text
            if item.version:  # ip4, ip6: no DNS, no generator
                if self.ip.version == item.version and self.ip_int >> item.shift == item.bits:
                    matched: tuple[str, list[str]] | None = (
                        f"{self.values['c']} is in {mechanism.network}",
                        [],
                    )
                else:
                    continue
            else:
                try:
                    matched = yield from self.match(mechanism, domain, term)
                except _Abort as stop:
                    stop.blame(domain, term)
                    raise
            if matched is not None:
                result = _QUALIFIED[mechanism.qualifier]
                why, below = matched
                verdict = _Verdict(result, why, domain, term, [f"{domain}: {term}", *below])
                if result is Result.FAIL and explain:
                    verdict.explanation = yield from self.explain(record, domain)
                return verdict
        redirect = record.modifier("redirect")
        if redirect is None:
            reason = f"no mechanism of {domain}'s record matched: the default is neutral"
            return _Verdict(Result.NEUTRAL, reason, domain, None, [])
        term = redirect.to_text()
        try:
            self.count(domain, term)
            target = yield from self.target(redirect.value, domain, term)
            inner = yield from self.check(target, explain=explain)
        except _Abort as stop:
            stop.blame(domain, term)
            raise
        if inner.result is Result.NONE:
            reason = f"redirect={target}: {inner.reason} (§6.1)"
            raise _Abort(Result.PERMERROR, reason, domain, term)
        inner.trail.insert(0, f"{domain}: {term}")
        return inner

    def match(
        self, mechanism: Mechanism, domain: str, term: str
    ) -> Generator[Query, Answer | DNSError, tuple[str, list[str]] | None]:
        """Why ``mechanism`` matches the client (and an include's trail), or ``None``."""
        name, ip = mechanism.name, self.ip
        if name == "all":
            return "all matches every address", []
        if name in ("ip4", "ip6"):
            network = mechanism.network
            if network is not None and network.version == ip.version and ip in network:
                return f"{ip} is in {network}", []
            return None
        self.count(domain, term)
        target = domain
        if mechanism.domain_spec is not None:
            target = yield from self.target(mechanism.domain_spec, domain, term)
        if name == "include":
            inner = yield from self.check(target, explain=False)
            if inner.result is Result.PASS:
                return f"{target}'s record passes {ip}: {inner.reason}", inner.trail
            if inner.result is Result.NONE:
                reason = f"include:{target}: {inner.reason} (§5.2)"
                raise _Abort(Result.PERMERROR, reason, domain, term)
            return None
        if name == "exists":
            outcome = yield from self.lookup(target, "A")
            if isinstance(outcome, NXDomain | NoAnswer):
                self.void(domain, term, target)
                return None
            if isinstance(outcome, DNSError):
                raise _Abort(Result.TEMPERROR, f"{target} A: {_why(outcome)}", domain, term)
            return (f"{target} has an A record", []) if outcome.records else None
        if name == "ptr":
            names = yield from self.validated_names()
            base = _name(target)
            for host in names:
                if host == base or host.endswith("." + base):
                    return f"{ip} has the validated name {host}, in {base}", []
            return None
        prefix = mechanism.cidr4 if ip.version == 4 else mechanism.cidr6
        if name == "a":
            hosts = [target]
        else:  # mx
            outcome = yield from self.lookup(target, "MX")
            if isinstance(outcome, NXDomain | NoAnswer):
                self.void(domain, term, target)
                return None
            if isinstance(outcome, DNSError):
                raise _Abort(Result.TEMPERROR, f"{target} MX: {_why(outcome)}", domain, term)
            hosts = [_host(getattr(r, "exchange", None)) for r in outcome.records]
            if len(hosts) > MAX_NAMES:
                reason = f"{target} has {len(hosts)} MX names; at most {MAX_NAMES} (§4.6.4)"
                raise _Abort(Result.PERMERROR, reason, domain, term)
        for host in hosts:
            if not host:
                continue
            shift = 0 if prefix is None else ip.max_prefixlen - prefix
            for address, number in (
                yield from self.addresses(host, domain, term, void=name == "a")
            ):
                if number >> shift == self.ip_int >> shift:
                    where = f"{address}/{prefix}" if prefix is not None else address
                    via = f"the address of {host}" if name == "a" else f"MX host {host}"
                    return f"{ip} is {via} ({where})", []
        return None

    def target(
        self, spec: MacroString, domain: str, term: str
    ) -> Generator[Query, Answer | DNSError, str]:
        """A domain-spec expanded and cut to 253 characters (§7.3).

        Not checked further: the suite's ``invalid-hello-macro`` asks that a name a macro
        made malformed be looked up (and not exist), not be a permerror.
        """
        return truncate_name((yield from self.expand(spec, domain)))

    def expand(self, spec: MacroString, domain: str) -> Generator[Query, Answer | DNSError, str]:
        if not spec.has_macros:
            return expand(spec, self.values.__getitem__)
        values = {**self.values, "d": domain}
        if any(isinstance(p, MacroExpand) and p.letter in "pP" for p in spec.parts):
            names = yield from self.validated_names()
            base = _name(domain)
            values["p"] = next(
                (n for n in names if n == base),
                next(
                    (n for n in names if n.endswith("." + base)), names[0] if names else "unknown"
                ),
            )
        return expand(spec, values.__getitem__)

    def explain(
        self, record: SpfRecord, domain: str
    ) -> Generator[Query, Answer | DNSError, str | None]:
        """§6.2: the ``exp=`` text for a fail; ``None`` on any problem (never an error)."""
        modifier = record.modifier("exp")
        if modifier is None:
            return None
        try:
            target = yield from self.target(modifier.value, domain, modifier.to_text())
        except _Abort:
            return None
        outcome = yield from self.lookup(target, "TXT")
        if not isinstance(outcome, Answer) or len(outcome.records) != 1:
            return None
        raw = outcome.texts()[0]
        if not raw.isascii():
            return None
        spec = parse_macro_string(raw.decode("ascii"), explanation=True)
        if spec is None:
            return None
        return (yield from self.expand(spec, domain))[:MAX_EXPLANATION]


_LABELS = re.compile(r"[^.]{1,63}(?:\.[^.]{1,63})*\.?")
_PLAIN = re.compile(rb"[A-Za-z0-9_-]+")


def _queryable(name: str) -> bool:
    """Whether a DNS question can carry ``name``: ASCII, printable, labels of 1-63."""
    return name.isascii() and name.isprintable() and _LABELS.fullmatch(name) is not None


def _host(name: object) -> str:
    """An MX or PTR target as lower-case text without the final dot ("" if none)."""
    labels = getattr(name, "labels", None)
    if not isinstance(labels, tuple):
        return ""
    if all(_PLAIN.fullmatch(label) for label in labels[:-1]) and labels[-1:] == (b"",):
        return b".".join(labels[:-1]).decode().lower()
    return _name(str(name))


def _why(error: DNSError) -> str:
    return error.detail or type(error).__name__


def evaluate(
    ip: str | IPAddress,
    domain: str,
    sender: str,
    helo: str = "",
    *,
    receiver: str = "unknown",
    now: int | None = None,
) -> Generator[Query, Answer | DNSError, SpfResult]:
    """check_host() as a state machine: yields each :class:`Query`, is sent its outcome.

    ``sender`` is the full ``local@domain`` identity (its local part ``postmaster`` when
    empty), ``helo`` the HELO/EHLO name (``%{h}``), ``receiver`` this host's name (``%{r}``)
    and ``now`` the time for ``%{t}`` (default: the clock).
    """
    address = _normal_ip(ip)
    if len(sender) > MAX_IDENTITY or len(helo) > MAX_IDENTITY:
        reason = f"the sender or HELO name is over {MAX_IDENTITY} characters (RFC 5321 §4.5.3.1)"
        return SpfResult(Result.NONE, domain[:MAX_IDENTITY], reason)
    state = _Evaluation(address, sender, helo, receiver, int(time.time()) if now is None else now)
    if address.version == 6 and isinstance(ip, str) and any(c in "ABCDEF" for c in ip):
        # %{i} writes IPv6 nibbles in the case the address was given: RFC 7208 §7.4's example
        # (2001:db8::cb01) in lower case, the suite's v-macro-ip6 (CAFE:BABE::1) in upper
        state.values["i"] = state.values["i"].upper()
    if not _valid_domain(domain):
        reason = f"'{domain}' is not a valid domain name, so it has no SPF record (§4.3)"
        return SpfResult(Result.NONE, domain, reason)
    name = domain[:-1] if domain.endswith(".") else domain
    try:
        verdict = yield from state.check(name)
    except _Abort as stop:
        return SpfResult(
            stop.result,
            name,
            stop.reason,
            stop.term,
            stop.domain if stop.term else None,
            trail=tuple(stop.trail),
            lookups=state.lookups,
            voids=state.voids,
        )
    return SpfResult(
        verdict.result,
        name,
        verdict.reason,
        verdict.term,
        verdict.domain if verdict.term else None,
        verdict.explanation,
        tuple(verdict.trail),
        state.lookups,
        state.voids,
    )


async def check_host(
    ip: str | IPAddress,
    domain: str,
    sender: str,
    helo: str,
    resolver: Resolver,
    *,
    receiver: str = "unknown",
    now: int | None = None,
) -> SpfResult:
    """RFC 7208 check_host(): drive :func:`evaluate` through ``resolver`` (counted)."""
    counting = CountingResolver(resolver)
    machine = evaluate(ip, domain, sender, helo, receiver=receiver, now=now)
    try:
        query = next(machine)
        while True:
            outcome: Answer | DNSError
            try:
                outcome = await counting.query(query.name, query.rdtype)
            except DNSError as error:
                outcome = error
            query = machine.send(outcome)
    except StopIteration as stop:
        result: SpfResult = stop.value
        r = result  # dataclasses.replace() costs more than the evaluation of a short record
        return SpfResult(
            r.result, r.domain, r.reason, r.mechanism, r.record, r.explanation, r.trail,
            r.lookups, r.voids, counting.count,
        )  # fmt: skip


def mail_from_identity(mail_from: str, helo: str) -> tuple[str, str]:
    """(domain, sender) to check for a MAIL FROM (§4.3): empty → postmaster@HELO."""
    mail_from = mail_from.strip().strip("<>")
    if not mail_from:
        return helo, f"postmaster@{helo}"
    local, at, domain = mail_from.rpartition("@")
    if not at:
        return mail_from, f"postmaster@{mail_from}"
    return domain, f"{local or 'postmaster'}@{domain}"


async def check_mail_from(
    ip: str | IPAddress,
    mail_from: str,
    helo: str,
    resolver: Resolver,
    *,
    receiver: str = "unknown",
    now: int | None = None,
) -> SpfResult:
    """The MAIL FROM identity (§2.4); an empty reverse-path is checked as the HELO's."""
    domain, sender = mail_from_identity(mail_from, helo)
    return await check_host(ip, domain, sender, helo, resolver, receiver=receiver, now=now)


async def check_helo(
    ip: str | IPAddress,
    helo: str,
    resolver: Resolver,
    *,
    receiver: str = "unknown",
    now: int | None = None,
) -> SpfResult:
    """The HELO identity (§2.3): check_host() for postmaster@HELO."""
    sender = f"postmaster@{helo}"
    return await check_host(ip, helo, sender, helo, resolver, receiver=receiver, now=now)
