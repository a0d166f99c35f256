"""The stub resolver: questions sent to recursive nameservers over UDP, with TCP fallback.

NAME
    StubResolver -- asks the system's (or the given) nameservers, caches, never guesses.

DESCRIPTION
    Each question goes out over UDP with EDNS0 (RFC 6891; payload 1232 octets, the DNS flag day
    2020 size that avoids IP fragmentation) and the DO bit when ``dnssec=True`` (RFC 4035
    §3.2.1). A truncated reply is asked again over TCP (RFC 7766 §5). A CNAME chain in the answer
    is followed (RFC 1034 §4.3.2 step 3a); where the server's answer stops at a CNAME target it
    does not serve, the target is asked next, as a resolver would (RFC 1034 §5.3.3).

    Outcomes, translated at the edge (nothing above ``dns/`` sees a dnspython exception):
    NXDOMAIN → :class:`~mailward.errors.NXDomain`; NOERROR without data →
    :class:`~mailward.errors.NoAnswer`; SERVFAIL, REFUSED, any other rcode, a timeout, a
    network error, a malformed reply, a referral from a non-recursive server or a CNAME loop →
    :class:`~mailward.errors.TempError`, whose detail names which and which server.

    Answers are cached for their TTL; NXDOMAIN and NODATA for the SOA's negative TTL, the
    smaller of the SOA record's TTL and its MINIMUM field (RFC 2308 §5). A negative answer
    without an SOA is not cached (RFC 2308 §5), nor is a TempError ever. Identical concurrent
    questions share one request in flight. ``Answer.ttl`` is the smallest TTL among the
    records, the CNAMEs and the RRSIGs (how long the whole answer may be kept); from the cache,
    what is left of it.

    With ``dnssec=True`` the answer also keeps the NSEC/NSEC3 records of the authority section
    (``Answer.authority``: a wildcard expansion's proof), and NXDOMAIN/NODATA keep the
    authority section's SOA, NSEC, NSEC3 and RRSIGs in the error's ``denial``, for a validator.

CONFIGURATION PARAMETERS
    nameservers (the system's, from /etc/resolv.conf)
        ``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or a bare IPv6 (see :mod:`.options`).
    timeout (2.0 s)
        For one try of one nameserver (the TCP retry of a truncated reply gets the same again).
    retries (2)
        Further rounds over the nameservers after timeouts or network errors. A nameserver that
        answered SERVFAIL or REFUSED is not asked again for the same question.
    cache (on), cache_size (10,000 entries)
        Positive TTLs are capped at one day, negative ones at three hours (RFC 2308 §5).

SECURITY
    Replies are hostile: a datagram counts as the reply only if it comes from the address and
    port asked, carries the question's random ID and echoes the question (RFC 5452 §9.1);
    anything else is dropped unread (see :mod:`._transport`). The reply is then read by the
    bounds-checked :mod:`._wire` and dnspython's rdata classes; one that does not parse is a
    TempError. Chains are bounded by ``MAX_CNAME_CHAIN``, the cache by ``cache_size``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset

from mailward._sharing import shared
from mailward.dns._question import (
    MAX_CNAME_CHAIN,
    name_text,
    parse_question_name,
    parse_rdtype,
    rdtype_text,
)
from mailward.dns._transport import UdpChannels, tcp_exchange
from mailward.dns._wire import AA, AD, TC, MalformedReply, Query, Reply, encode_query, key_of
from mailward.dns._wire import Name as WireName
from mailward.dns.options import format_nameserver, parse_nameserver
from mailward.dns.resolver import Answer, Denial
from mailward.errors import DNSError, NoAnswer, NXDomain, TempError, UsageError

__all__ = ["EDNS_PAYLOAD", "StubResolver", "system_nameservers"]

EDNS_PAYLOAD = 1232
MAX_POSITIVE_TTL = 86_400
MAX_NEGATIVE_TTL = 3 * 3_600

_Key = tuple[str, dns.rdatatype.RdataType, bool]  # the name as name_text() writes it


def system_nameservers(resolv_conf: str = "/etc/resolv.conf") -> list[tuple[str, int]]:
    """The nameservers of ``resolv_conf`` as ``(address, port)``; UsageError if none."""
    try:
        system = dns.resolver.Resolver(filename=resolv_conf, configure=True)
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        raise UsageError(f"cannot read nameservers from {resolv_conf} ({exc}); give one") from None
    servers = [parse_nameserver(ns) for ns in system.nameservers if isinstance(ns, str)]
    if not servers:
        raise UsageError(f"{resolv_conf} lists no nameserver; give one")
    return [(host, system.port if port == 53 else port) for host, port in servers]


@dataclass(frozen=True)
class _Negative:
    """A cached NXDOMAIN or NODATA, raised afresh on each hit."""

    error: type[NXDomain] | type[NoAnswer]
    detail: str
    ttl: int
    denial: Denial | None = None  # dnssec only: the proof, for a validator


class _Cache:
    """A bounded TTL cache; the oldest entry goes first when it is full."""

    def __init__(self, size: int, clock: Callable[[], float]) -> None:
        self.size = size
        self.clock = clock
        self._entries: dict[_Key, tuple[float, Answer | _Negative]] = {}

    def get(self, key: _Key) -> Answer | _Negative | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        left = expires - self.clock()
        if left <= 0:
            del self._entries[key]
            return None
        if isinstance(value, Answer):
            return dataclasses.replace(value, ttl=math.ceil(left))
        return value

    def put(self, key: _Key, value: Answer | _Negative, ttl: int) -> None:
        if ttl <= 0 or self.size <= 0:
            return
        self._entries.pop(key, None)
        while len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (self.clock() + ttl, value)

    def clear(self) -> None:
        self._entries.clear()


class StubResolver:
    """A :class:`~mailward.dns.resolver.Resolver` over recursive nameservers (see module doc).

    ``clock`` (monotonic seconds) is there for tests of the cache's expiry.
    """

    def __init__(
        self,
        nameservers: Sequence[str | tuple[str, int]] | None = None,
        *,
        timeout: float = 2.0,
        retries: int = 2,
        cache: bool = True,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not timeout > 0:
            raise UsageError(f"the DNS timeout must be above 0 seconds, not {timeout}")
        if retries < 0:
            raise UsageError(f"DNS retries cannot be negative ({retries})")
        if nameservers is None:
            self.nameservers = system_nameservers()
        else:
            self.nameservers = [
                parse_nameserver(ns) if isinstance(ns, str) else (ns[0], int(ns[1]))
                for ns in nameservers
            ]
        if not self.nameservers:
            raise UsageError("no nameserver given")
        self.timeout = timeout
        self.retries = retries
        self._cache = _Cache(cache_size if cache else 0, clock)
        self._inflight: dict[_Key, asyncio.Future[Answer]] = {}
        self._udp = UdpChannels()

    async def aclose(self) -> None:
        """Close the idle UDP sockets (the resolver stays usable; new ones are made)."""
        await self._udp.close()

    def clear_cache(self) -> None:
        self._cache.clear()

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        """Answer ``name``/``rdtype``, or raise NXDomain, NoAnswer or TempError."""
        qtype = parse_rdtype(rdtype)
        qname, text = parse_question_name(name, rdtype)
        key = (text, qtype, dnssec)
        cached = self._cache.get(key)
        if isinstance(cached, _Negative):
            raise cached.error(name, rdtype, cached.detail, denial=cached.denial)
        if cached is not None:
            return cached
        try:  # identical questions in flight share one request
            return await shared(
                self._inflight, key, lambda: self._resolve(key, qname, name, rdtype), keep=False
            )
        except DNSError as exc:  # each caller gets its own error, with the name it asked
            raise type(exc)(name, rdtype, exc.detail, denial=exc.denial) from None

    async def _resolve(self, key: _Key, qname: dns.name.Name, name: str, rdtype: str) -> Answer:
        text, qtype, dnssec = key
        outcome = await self._chase(qname, text, qtype, dnssec, name, rdtype)
        if isinstance(outcome, _Negative):
            self._cache.put(key, outcome, outcome.ttl)
            raise outcome.error(name, rdtype, outcome.detail, denial=outcome.denial)
        self._cache.put(key, outcome, outcome.ttl)
        return outcome

    async def _chase(
        self,
        qname: dns.name.Name,
        qname_text: str,
        qtype: dns.rdatatype.RdataType,
        dnssec: bool,
        name: str,
        rdtype: str,
    ) -> Answer | _Negative:
        """Ask, and follow the CNAME chain through as many replies as it takes."""
        cnames: list[dns.rrset.RRset] = []
        sigs: list[dns.rrset.RRset] = []
        proofs: list[dns.rrset.RRset] = []  # dnssec: NSEC/NSEC3 of wildcard expansions
        authenticated = True
        current, current_text = qname, qname_text
        current_key = key_of(qname)
        seen = {current_key}
        while True:
            reply = await self._exchange(current, qtype, dnssec, name, rdtype)
            authenticated = authenticated and bool(reply.flags & AD)
            if dnssec:
                proofs.extend(_proof_rrsets(reply))
            moved = False
            while True:  # walk the chain inside this reply (RFC 1034 §4.3.2 step 3a)
                records, ttl = reply.records(reply.answer, current_key, qtype)
                if records:
                    if dnssec:
                        sigs.extend(_sigs(reply, current_key, qtype))
                    return Answer(
                        qname=qname_text,
                        rdtype=rdtype_text(qtype),
                        name=current_text,
                        records=records,
                        ttl=min(ttl, MAX_POSITIVE_TTL, *(rrset.ttl for rrset in (*cnames, *sigs))),
                        cnames=tuple(cnames),
                        rrsigs=tuple(sigs),
                        authenticated=authenticated,
                        authority=tuple(proofs),
                    )
                cname = None
                if qtype != dns.rdatatype.CNAME:
                    cname = reply.rrset(reply.answer, current_key, dns.rdatatype.CNAME)
                if cname is None:
                    break
                cnames.append(cname)
                if dnssec:
                    sigs.extend(_sigs(reply, current_key, dns.rdatatype.CNAME))
                current = cname[0].target
                current_key, current_text = key_of(current), name_text(current)
                if current_key in seen or len(cnames) > MAX_CNAME_CHAIN:
                    what = "loop" if current_key in seen else f"longer than {MAX_CNAME_CHAIN}"
                    raise TempError(name, rdtype, f"CNAME {what} at {current_text}")
                seen.add(current_key)
                moved = True
            soa = reply.soa_ttls(current_key)
            denial = None
            if dnssec:
                authority = [r for r in reply.authority if r.rdtype != dns.rdatatype.NS]
                denial = Denial(
                    current_text, tuple(cnames), tuple(sigs), tuple(reply.rrsets(authority))
                )
            end = current_text if cnames else None  # where the chain ended, if there was one
            if reply.rcode == dns.rcode.NXDOMAIN:
                return _negative(NXDomain, end, cnames, soa, denial)
            if soa is not None:
                return _negative(NoAnswer, end, cnames, soa, denial)
            if moved:
                continue  # the server stopped at a target it does not serve: ask for that
            referral = next((r for r in reply.authority if r.rdtype == dns.rdatatype.NS), None)
            if referral is not None and not reply.flags & AA:
                where = name_text(dns.name.Name(referral.owner))
                raise TempError(
                    name, rdtype, f"referral to {where}: the nameserver does not recurse"
                )
            # NODATA without an SOA (RFC 2308 §2.2 type 3): believed, but not cached.
            return _negative(NoAnswer, end, cnames, None, denial)

    async def _exchange(
        self,
        qname: dns.name.Name,
        qtype: dns.rdatatype.RdataType,
        dnssec: bool,
        name: str,
        rdtype: str,
    ) -> Reply:
        """One question to the nameservers in turn; a reply with NOERROR or NXDOMAIN, or
        TempError naming what each nameserver did."""
        query = encode_query(qname, qtype, edns=True, dnssec=dnssec)
        failures: dict[tuple[str, int], str] = {}  # what each server did last
        tries: dict[tuple[str, int], int] = {}
        alive = list(self.nameservers)
        for _round in range(self.retries + 1):
            for server in list(alive):
                tries[server] = tries.get(server, 0) + 1
                reply = await self._ask(query, server)
                if isinstance(reply, str):
                    failures[server] = reply  # timeout, network, malformed: worth another try
                    continue
                rcode = reply.rcode
                if rcode == dns.rcode.FORMERR and not dnssec:
                    # An old server that rejects EDNS: ask once more without it (RFC 6891 §7).
                    plain = encode_query(qname, qtype, edns=False, dnssec=False)
                    retry = await self._ask(plain, server)
                    if not isinstance(retry, str):
                        reply, rcode = retry, retry.rcode
                if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                    return reply
                failures[server] = dns.rcode.to_text(rcode)  # its answer: not asked again
                alive.remove(server)
            if not alive:
                break
        details = []
        for server, what in failures.items():
            where = format_nameserver(*server)
            if server not in alive:
                details.append(f"{what} from {where}")
            else:
                count = tries[server]
                details.append(f"{what} from {where} ({count} {'try' if count == 1 else 'tries'})")
        raise TempError(name, rdtype, "; ".join(details))

    async def _ask(self, query: Query, server: tuple[str, int]) -> Reply | str:
        """One try (over TCP again if the UDP reply was truncated): the reply, or what went
        wrong in a few words."""
        host, port = server
        try:
            wire = await self._udp.exchange(query, host, port, self.timeout)
            if wire[2] & (TC >> 8):
                wire = await tcp_exchange(query, host, port, self.timeout)
            return Reply(wire)
        except TimeoutError:
            return "timeout"
        except EOFError:
            return "connection closed"
        except OSError as exc:
            return f"network error ({exc.strerror or exc})"
        except MalformedReply as exc:
            return f"malformed reply ({exc})"


def _sigs(reply: Reply, owner: WireName, covers: dns.rdatatype.RdataType) -> list[dns.rrset.RRset]:
    sig = reply.rrset(reply.answer, owner, dns.rdatatype.RRSIG, covers)
    return [] if sig is None else [sig]


def _proof_rrsets(reply: Reply) -> list[dns.rrset.RRset]:
    """The NSEC and NSEC3 RRsets of the authority section, with the RRSIGs over them."""
    kinds = (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)
    return reply.rrsets(
        [r for r in reply.authority if r.rdtype in kinds or reply.covers(r) in kinds]
    )


def _negative(
    error: type[NXDomain] | type[NoAnswer],
    end: str | None,
    cnames: list[dns.rrset.RRset],
    soa: tuple[int, int] | None,
    denial: Denial | None = None,
) -> _Negative:
    """A negative outcome, kept for the SOA's negative TTL (RFC 2308 §5), at most the chain's."""
    what = "no such name" if error is NXDomain else "no such record"
    detail = what if end is None else f"CNAME chain ends at {end}: {what}"
    ttl = 0
    if soa is not None:
        ttl = min(*soa, MAX_NEGATIVE_TTL, *(c.ttl for c in cnames))
    return _Negative(error, detail, ttl, denial)
