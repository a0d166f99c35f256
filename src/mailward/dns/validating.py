"""The validating resolver: every answer checked from a trust anchor down (RFC 4033-4035, 5155).

NAME
    ValidatingResolver -- wraps any resolver; answers carry secure, insecure, bogus or
    indeterminate, and a bogus answer is an error that says why.

DESCRIPTION
    The inner resolver is always asked with the DO bit (``dnssec=True``). The chain of trust is
    walked top-down from the closest trust anchor (:class:`TrustAnchors`: the IANA root KSKs by
    default) towards the zone that signed the answer, one label at a time: a DS query for each
    name on the way is answered by the zone above it, so

    - a signed DS set (checked with the parent's keys) must match a DNSKEY of the child that
      signs the child's DNSKEY set: the child is *secure*, and its keys sign what is below;
    - a proven absence of DS (NSEC or NSEC3 from the parent) at a delegation, or an NSEC3
      opt-out span, makes the child *insecure*; a DS set with only algorithms that must not be
      validated (RFC 9904, RFC 9906) or are unknown, too (RFC 4035 §5.2);
    - a proven absence of DS at a name that is not a delegation means "same zone, go on";
    - anything else on a secure path is *bogus*: a DS without a matching DNSKEY, a DNSKEY set
      no DS-named key signs, an expired or not-yet-valid signature (with ``clock_skew``
      seconds of tolerance), a signature that does not verify, unsigned data or a missing or
      wrong proof of non-existence.

    An answer's RRsets (each CNAME of the chain, then the records) are each validated in the
    zone that signed them; a wildcard expansion needs the NSEC/NSEC3 proof that the name itself
    does not exist (RFC 4035 §5.3.4). NXDOMAIN and NODATA need their NSEC/NSEC3 proof
    (:mod:`._dnssec_denial`). A name no trust anchor covers is *indeterminate*, and so is a
    negative answer from a signed zone when the inner resolver cannot hand proofs over at all
    (the zone-file resolver; the stub always does). The answer's status is the worst of its
    parts (bogus, indeterminate, insecure, secure).

    Outcomes: an :class:`~mailward.dns.resolver.Answer` with ``security`` (and
    ``authenticated`` when secure); NXDomain/NoAnswer re-raised with ``security`` set; a bogus
    answer raises :class:`~mailward.errors.Bogus` (a TempError: never "record missing"); a DS
    or DNSKEY question on the way that gets no answer raises TempError naming it.

    :class:`ChainValidator` is the engine, usable without the resolver wrapper (the audit's
    DNSSEC checks drive it over their own resolver and read the signatures it saw).

CONFIGURATION PARAMETERS
    trust_anchors (the IANA root KSKs)
        A :class:`TrustAnchors`; ``TrustAnchors.from_file(path)`` reads DS/DNSKEY records.
    clock_skew (300 s)
        How far the clock may be off when checking inception and expiration.

SECURITY
    Every record is hostile. Signatures are checked with ``cryptography`` under the limits of
    :mod:`._dnssec_verify` (key size, signatures and keys per RRset), NSEC3 hashing under those
    of :mod:`._dnssec_denial` (RFC 9276 iterations). The walk is bounded by the name's labels
    (at most 127) and its results are cached per zone cut for their TTL (at most an hour,
    ``cache_size`` entries).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import dns.name
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.RRSIG import RRSIG

from mailward.dns._dnssec_anchors import ROOT_ANCHORS_TEXT, TrustAnchors
from mailward.dns._dnssec_denial import (
    MAX_NSEC3_ITERATIONS,
    MAX_PROOF_RECORDS,
    prove_absence,
    prove_wildcard,
)
from mailward.dns._dnssec_verify import (
    Failure,
    Verified,
    describe_ds,
    match_ds,
    name_str,
    rdtype_name,
    signatures_for,
    unusable_reason,
    usable_ds,
    verify_rrset,
)
from mailward.dns._question import parse_qname, parse_rdtype
from mailward.dns.resolver import Answer, Denial, Resolver, Security
from mailward.errors import Bogus, NoAnswer, NXDomain, TempError

__all__ = [
    "MAX_NSEC3_ITERATIONS",
    "ROOT_ANCHORS_TEXT",
    "ChainValidator",
    "SignatureSeen",
    "TrustAnchors",
    "ValidatingResolver",
    "Verdict",
]

_DS, _DNSKEY = dns.rdatatype.DS, dns.rdatatype.DNSKEY
_PROOF_TYPES = (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)
_RANK: dict[Security, int] = {"secure": 0, "insecure": 1, "indeterminate": 2, "bogus": 3}
MAX_CACHE_TTL = 3600
_NO_PROOFS = (
    "the resolver hands over no NSEC/NSEC3 proofs (zone files), so a negative answer from a"
    " signed zone can be neither proven nor refuted"
)


@dataclass(frozen=True)
class Verdict:
    """The status of one answer (or one zone), why, and for bogus the cause's ``kind``."""

    security: Security
    reason: str = ""
    kind: str = ""
    zone: str = ""  # the zone whose keys or insecurity decided it, "shop.example."


@dataclass(frozen=True)
class SignatureSeen:
    """One RRSIG the validator checked (for the audit's expiry warnings)."""

    owner: str
    rdtype: str
    signer: str
    key_tag: int
    algorithm: int
    inception: int
    expiration: int


@dataclass(frozen=True)
class _Zone:
    name: dns.name.Name
    security: Security
    reason: str = ""
    kind: str = ""
    keys: tuple[DNSKEY, ...] = ()
    ttl: int = MAX_CACHE_TTL

    def verdict(self) -> Verdict:
        return Verdict(self.security, self.reason, self.kind, self.name.to_text())


_Step = _Zone | Literal["same-zone", "absent"]


def _worst(verdicts: Iterable[Verdict]) -> Verdict:
    return max(verdicts, key=lambda v: _RANK[v.security])


class ChainValidator:
    """Walks chains of trust over ``resolver`` (see the module doc); one per resolver.

    ``signatures`` holds every RRSIG it checked when ``record`` is true.
    """

    def __init__(
        self,
        resolver: Resolver,
        trust_anchors: TrustAnchors | None = None,
        *,
        clock: Callable[[], float] = time.time,
        clock_skew: int = 300,
        cache_size: int = 10_000,
        record: bool = False,
    ) -> None:
        self.resolver = resolver
        self.anchors = trust_anchors if trust_anchors is not None else TrustAnchors.root()
        self.clock = clock
        self.skew = clock_skew
        self.cache_size = cache_size
        self.record = record
        self.signatures: dict[tuple[str, str, str, int, int], SignatureSeen] = {}
        self._steps: dict[tuple[str, dns.name.Name], tuple[float, asyncio.Task[_Step]]] = {}

    # -- answers ---------------------------------------------------------------------------

    async def positive(self, answer: Answer) -> Verdict:
        """The status of a positive answer (its CNAME chain and its records)."""
        if dns.rdatatype.from_text(answer.rdtype) == dns.rdatatype.RRSIG:
            return Verdict("indeterminate", "RRSIG records are not signed themselves")
        links = list(answer.cnames)
        owner = dns.name.from_text(answer.name)
        links.append(dns.rrset.from_rdata_list(owner, answer.ttl, list(answer.records)))
        verdicts = [await self._rrset(link, answer.rrsigs, answer.authority) for link in links]
        return _worst(verdicts)

    async def negative(self, error: NXDomain | NoAnswer) -> Verdict:
        """The status of NXDOMAIN or NODATA, from the proof the error carries."""
        qtype = int(parse_rdtype(error.rdtype))
        if error.denial is None:  # the resolver cannot hand proofs over (zone files)
            name = parse_qname(error.qname, error.rdtype)
            zone = await self._walk(_home(name, qtype))
            if zone.security != "secure":
                return zone.verdict()
            return Verdict("indeterminate", _NO_PROOFS, "", zone.name.to_text())
        denial = error.denial
        verdicts = [await self._rrset(link, denial.rrsigs, ()) for link in denial.cnames]
        name = dns.name.from_text(denial.name)
        verdicts.append(
            await self._denial(name, qtype, denial.authority, isinstance(error, NXDomain))
        )
        return _worst(verdicts)

    async def zone_of(self, name: str | dns.name.Name) -> Verdict:
        """Secure, insecure, bogus or indeterminate: the state of the zone holding ``name``."""
        target = name if isinstance(name, dns.name.Name) else parse_qname(name, "SOA")
        return (await self._walk(target)).verdict()

    async def _rrset(
        self,
        rrset: dns.rrset.RRset,
        rrsigs: Sequence[dns.rrset.RRset],
        authority: Sequence[dns.rrset.RRset],
    ) -> Verdict:
        sigs = signatures_for(rrsigs, rrset.name, rrset.rdtype)
        signer = _signer(sigs, rrset.name, strict=rrset.rdtype == _DS)
        if signer is None:
            zone = await self._walk(_home(rrset.name, rrset.rdtype))
            if zone.security != "secure":
                return zone.verdict()
            what = f"{rdtype_name(rrset.rdtype)} at {name_str(rrset.name)}"
            return self._bogus(zone, "unsigned", f"{what} has no RRSIG, but the zone is signed")
        zone = await self._signer_zone(signer)
        if zone.security != "secure":
            return zone.verdict()
        checked = self._verify(rrset, sigs, zone)
        if isinstance(checked, Failure):
            return self._bogus(zone, checked.kind, checked.reason)
        if checked.wildcard is not None:
            return await self._wildcard(rrset.name, checked.wildcard, zone, authority)
        return zone.verdict()

    async def _wildcard(
        self,
        qname: dns.name.Name,
        wildcard: dns.name.Name,
        zone: _Zone,
        authority: Sequence[dns.rrset.RRset],
    ) -> Verdict:
        proofs = self._verified_proofs(zone, authority)
        if isinstance(proofs, Failure):
            return self._bogus(zone, proofs.kind, proofs.reason)
        proof = prove_wildcard(qname, wildcard, zone.name, proofs)
        if not proof.valid:
            why = f"{name_str(qname)} was synthesized from {name_str(wildcard)}, but {proof.reason}"
            return self._bogus(zone, "no-proof", why)
        if proof.insecure:
            return Verdict(
                "insecure", f"{name_str(qname)}: {proof.insecure}", "", zone.name.to_text()
            )
        return zone.verdict()

    async def _denial(
        self,
        name: dns.name.Name,
        qtype: int,
        authority: Sequence[dns.rrset.RRset],
        nxdomain: bool,
    ) -> Verdict:
        signer = _signer(
            [
                s
                for rrset in authority
                if rrset.rdtype == dns.rdatatype.RRSIG
                for s in rrset
                if isinstance(s, RRSIG)
            ],
            name,
            strict=qtype == _DS,
        )
        what = f"{'NXDOMAIN' if nxdomain else 'no data'} for {name_str(name)} {rdtype_name(qtype)}"
        if signer is None:
            zone = await self._walk(_home(name, qtype))
            if zone.security != "secure":
                return zone.verdict()
            return self._bogus(zone, "no-proof", f"{what} came without a signed NSEC/NSEC3 proof")
        zone = await self._signer_zone(signer)
        if zone.security != "secure":
            return zone.verdict()
        proofs = self._verified_proofs(zone, authority)
        if isinstance(proofs, Failure):
            return self._bogus(zone, proofs.kind, proofs.reason)
        proof = prove_absence(name, qtype, zone.name, proofs, nxdomain=nxdomain)
        if not proof.valid:
            return self._bogus(zone, "no-proof", f"{what} is not proven: {proof.reason}")
        if proof.insecure:
            return Verdict("insecure", f"{what}: {proof.insecure}", "", zone.name.to_text())
        if proof.opt_out:
            why = f"{what} is proven only by an NSEC3 opt-out span of {name_str(zone.name)}"
            return Verdict("insecure", why, "", zone.name.to_text())
        return zone.verdict()

    def _verified_proofs(
        self, zone: _Zone, authority: Sequence[dns.rrset.RRset]
    ) -> list[dns.rrset.RRset] | Failure:
        """The NSEC/NSEC3 RRsets of ``zone`` in ``authority``, each signature checked."""
        proofs = [
            r for r in authority if r.rdtype in _PROOF_TYPES and r.name.is_subdomain(zone.name)
        ][:MAX_PROOF_RECORDS]
        for rrset in proofs:
            checked = self._verify(rrset, signatures_for(authority, rrset.name, rrset.rdtype), zone)
            if isinstance(checked, Failure):
                return checked
            if checked.wildcard is not None:  # RFC 4035 §5.3.4: only literal records deny
                what = f"{rdtype_name(rrset.rdtype)} at {name_str(rrset.name)}"
                return Failure("bad-signature", f"the {what} is synthesized from a wildcard")
        return proofs

    def _verify(self, rrset: dns.rrset.RRset, sigs: list[RRSIG], zone: _Zone) -> Verified | Failure:
        if self.record:
            for sig in sigs:
                seen = SignatureSeen(
                    rrset.name.to_text().lower(),
                    rdtype_name(rrset.rdtype),
                    sig.signer.to_text().lower(),
                    sig.key_tag,
                    sig.algorithm,
                    sig.inception,
                    sig.expiration,
                )
                key = (seen.owner, seen.rdtype, seen.signer, seen.key_tag, seen.expiration)
                self.signatures.setdefault(key, seen)
        return verify_rrset(rrset, sigs, zone.name, zone.keys, self.clock(), self.skew)

    def _bogus(self, zone: _Zone, kind: str, reason: str) -> Verdict:
        return Verdict("bogus", reason, kind, zone.name.to_text())

    # -- the chain -------------------------------------------------------------------------

    async def _signer_zone(self, signer: dns.name.Name) -> _Zone:
        """The walk to the zone an RRSIG names; bogus when that name is no secure zone apex."""
        zone = await self._walk(signer)
        if zone.security == "secure" and zone.name != signer:
            return replace(
                zone,
                security="bogus",
                kind="bad-signature",
                reason=f"signatures name {name_str(signer)} as their zone, but it is not a"
                f" zone of its own below {name_str(zone.name)}",
            )
        return zone

    async def _walk(self, target: dns.name.Name) -> _Zone:
        anchor = self.anchors.closest(target)
        if anchor is None:
            reason = f"no trust anchor covers {name_str(target)} (anchors: {self.anchors.source})"
            return _Zone(dns.name.root, "indeterminate", reason)
        step = await self._cached("anchor", anchor, functools.partial(self._anchor_zone, anchor))
        assert isinstance(step, _Zone)
        zone = step
        depth = len(anchor)
        while zone.security == "secure" and depth < len(target):
            depth += 1
            child = target.split(depth)[1]
            step = await self._cached("cut", child, functools.partial(self._cut, zone, child))
            if step == "absent":
                break
            if isinstance(step, _Zone):
                zone = step
        return zone

    async def _cached(
        self, kind: str, name: dns.name.Name, compute: Callable[[], Awaitable[_Step]]
    ) -> _Step:
        key = (kind, name)
        now = self.clock()
        entry = self._steps.get(key)
        if entry is not None and entry[0] < now:
            del self._steps[key]
            entry = None
        if entry is None:
            while len(self._steps) >= self.cache_size > 0:
                del self._steps[next(iter(self._steps))]
            task: asyncio.Task[_Step] = asyncio.ensure_future(compute())
            entry = (now + MAX_CACHE_TTL, task)
            self._steps[key] = entry
            task.add_done_callback(lambda done: self._settle(key, done))
        return await asyncio.shield(entry[1])

    def _settle(self, key: tuple[str, dns.name.Name], done: asyncio.Task[_Step]) -> None:
        entry = self._steps.get(key)
        if entry is None or entry[1] is not done:
            return
        if done.cancelled() or done.exception() is not None:
            del self._steps[key]  # a failure to ask is not remembered
            return
        result = done.result()
        if isinstance(result, _Zone):
            self._steps[key] = (self.clock() + min(result.ttl, MAX_CACHE_TTL), done)

    async def _anchor_zone(self, anchor: dns.name.Name) -> _Zone:
        """The anchored zone's DNSKEY set, trusted through a DS or DNSKEY anchor."""
        ds = list(self.anchors.ds.get(anchor, ()))
        pinned = list(self.anchors.dnskeys.get(anchor, ()))
        if ds and not usable_ds(ds) and not pinned:
            return _Zone(anchor, "insecure", unusable_reason(anchor, ds))
        keys, rrset, sigs, ttl = await self._dnskeys(anchor)
        if rrset is None:
            return _Zone(
                anchor,
                "bogus",
                f"the trust anchor's zone {name_str(anchor)} has no DNSKEY",
                "dnskey-missing",
            )
        trusted, _misses = match_ds(anchor, ds, keys)
        trusted += [k for k in keys if any(_same_key(k, p) for p in pinned) and k not in trusted]
        if not trusted:
            wanted = describe_ds(usable_ds(ds)) or "the DNSKEYs in the anchor file"
            return _Zone(
                anchor,
                "bogus",
                f"no DNSKEY of {name_str(anchor)} matches the trust anchor ({wanted})",
                "ds-mismatch",
            )
        zone = _Zone(anchor, "secure", keys=tuple(trusted), ttl=ttl)
        checked = self._verify(rrset, sigs, zone)
        if isinstance(checked, Failure):
            return _Zone(anchor, "bogus", checked.reason, checked.kind)
        return replace(zone, keys=tuple(keys))

    async def _dnskeys(
        self, zone: dns.name.Name
    ) -> tuple[list[DNSKEY], dns.rrset.RRset | None, list[RRSIG], int]:
        try:
            answer = await self.resolver.query(zone.to_text(), "DNSKEY", dnssec=True)
        except (NXDomain, NoAnswer):
            return [], None, [], 0
        keys = [k for k in answer.records if isinstance(k, DNSKEY)]
        if not keys or answer.cnames:
            return [], None, [], 0
        rrset = dns.rrset.from_rdata_list(zone, answer.ttl, keys)
        return keys, rrset, signatures_for(answer.rrsigs, zone, _DNSKEY), answer.ttl

    async def _cut(self, parent: _Zone, child: dns.name.Name) -> _Step:
        """What is at ``child`` below the secure zone ``parent``: a zone, or the same zone."""
        try:
            answer = await self.resolver.query(child.to_text(), "DS", dnssec=True)
        except NoAnswer as exc:
            return self._no_ds(parent, child, exc.denial, nxdomain=False)
        except NXDomain as exc:
            return self._no_ds(parent, child, exc.denial, nxdomain=True)
        ds = [r for r in answer.records if isinstance(r, DS)]
        rrset = dns.rrset.from_rdata_list(child, answer.ttl, ds)
        checked = self._verify(rrset, signatures_for(answer.rrsigs, child, _DS), parent)
        if isinstance(checked, Failure) or answer.cnames:
            why = checked.reason if isinstance(checked, Failure) else "it is an alias"
            kind = checked.kind if isinstance(checked, Failure) else "bad-signature"
            return _Zone(child, "bogus", f"the DS of {name_str(child)}: {why}", kind)
        usable = usable_ds(ds)
        if not usable:
            return _Zone(child, "insecure", unusable_reason(child, ds), ttl=answer.ttl)
        return await self._child_keys(parent, child, usable, answer.ttl)

    async def _child_keys(
        self, parent: _Zone, child: dns.name.Name, ds: list[DS], ttl: int
    ) -> _Zone:
        at = f"DS at {parent.name.to_text().lower()} has {describe_ds(ds)}"
        keys, rrset, sigs, key_ttl = await self._dnskeys(child)
        if rrset is None:
            return _Zone(child, "bogus", f"{at}; {name_str(child)} has no DNSKEY", "dnskey-missing")
        matched, misses = match_ds(child, ds, keys)
        if not matched:
            detail = f" ({'; '.join(misses)})" if any("hash" in m for m in misses) else ""
            why = f"{at}; no DNSKEY of {name_str(child)} matches{detail}"
            return _Zone(child, "bogus", why, "ds-mismatch")
        checked = self._verify(rrset, sigs, _Zone(child, "secure", keys=tuple(matched)))
        if isinstance(checked, Failure):
            return _Zone(child, "bogus", checked.reason, checked.kind)
        return _Zone(child, "secure", keys=tuple(keys), ttl=min(ttl, key_ttl))

    def _no_ds(
        self, parent: _Zone, child: dns.name.Name, denial: Denial | None, *, nxdomain: bool
    ) -> _Step:
        if denial is None:
            return _Zone(child, "indeterminate", _NO_PROOFS)
        proofs = self._verified_proofs(parent, denial.authority)
        if isinstance(proofs, Failure):
            return _Zone(
                child, "bogus", f"no DS for {name_str(child)}, and {proofs.reason}", proofs.kind
            )
        if not proofs:
            why = (
                f"{name_str(parent.name)} is signed but its answer that {name_str(child)} has"
                " no DS came without NSEC/NSEC3 proof"
            )
            return _Zone(child, "bogus", why, "no-proof")
        proof = prove_absence(child, _DS, parent.name, proofs, nxdomain=nxdomain)
        if not proof.valid:
            why = f"{name_str(parent.name)} says {name_str(child)} has no DS, but {proof.reason}"
            return _Zone(child, "bogus", why, "no-proof")
        if proof.insecure:
            return _Zone(child, "insecure", f"{name_str(parent.name)}: {proof.insecure}")
        if proof.opt_out:
            why = (
                f"{name_str(child)} lies in an NSEC3 opt-out span of {name_str(parent.name)}:"
                " an unsigned delegation"
            )
            return _Zone(child, "insecure", why)
        if nxdomain:
            return "absent"
        types = proof.types or frozenset()
        if dns.rdatatype.NS in types and dns.rdatatype.SOA not in types:
            why = (
                f"{name_str(parent.name)} delegates {name_str(child)} without a DS: it is unsigned"
            )
            return _Zone(child, "insecure", why)
        return "same-zone"


def _signer(sigs: Sequence[RRSIG], owner: dns.name.Name, *, strict: bool) -> dns.name.Name | None:
    """The deepest signer among ``sigs`` that may sign at ``owner`` (RFC 4035 §5.3.1)."""
    best: dns.name.Name | None = None
    for sig in sigs:
        signer = sig.signer
        if not owner.is_subdomain(signer) or (strict and signer == owner):
            continue
        if best is None or len(signer) > len(best):
            best = signer
    return best


def _home(name: dns.name.Name, rdtype: int) -> dns.name.Name:
    """Where ``name``'s ``rdtype`` data lives: DS on the parent side of a cut."""
    return name.parent() if rdtype == _DS and len(name) > 1 else name


def _same_key(a: DNSKEY, b: DNSKEY) -> bool:
    return (a.flags, a.protocol, a.algorithm, a.key) == (b.flags, b.protocol, b.algorithm, b.key)


class ValidatingResolver:
    """A :class:`~mailward.dns.resolver.Resolver` that validates ``inner``'s answers."""

    def __init__(
        self,
        inner: Resolver,
        *,
        trust_anchors: TrustAnchors | None = None,
        clock: Callable[[], float] = time.time,
        clock_skew: int = 300,
    ) -> None:
        self.inner = inner
        self.validator = ChainValidator(inner, trust_anchors, clock=clock, clock_skew=clock_skew)

    @property
    def trust_anchors(self) -> TrustAnchors:
        return self.validator.anchors

    async def aclose(self) -> None:
        """Close the inner resolver's sockets (it stays usable, as every resolver does)."""
        await self.inner.aclose()

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        """Answer and validate; Bogus when validation fails (see the module doc)."""
        try:
            answer = await self.inner.query(name, rdtype, dnssec=True)
        except (NXDomain, NoAnswer) as exc:
            verdict = await self._checked(name, rdtype, self.validator.negative(exc))
            if verdict.security == "bogus":
                raise Bogus(name, rdtype, verdict.reason, kind=verdict.kind) from None
            raise type(exc)(
                name, rdtype, exc.detail, denial=exc.denial, security=verdict.security
            ) from None
        verdict = await self._checked(name, rdtype, self.validator.positive(answer))
        if verdict.security == "bogus":
            raise Bogus(name, rdtype, verdict.reason, kind=verdict.kind)
        return replace(
            answer,
            security=verdict.security,
            security_reason=verdict.reason,
            authenticated=verdict.security == "secure",
        )

    async def _checked(self, name: str, rdtype: str, work: Awaitable[Verdict]) -> Verdict:
        try:
            verdict = await work
        except Bogus:
            raise
        except TempError as exc:
            raise TempError(name, rdtype, f"cannot validate: {exc}") from None
        return verdict
