"""Proofs of non-existence: NSEC (RFC 4035 §3.1.3, §5.4) and NSEC3 (RFC 5155 §8), checked.

Given NSEC or NSEC3 records that already passed their signature check (by the zone named
``zone``), decide whether they prove what a negative answer claims:

- NXDOMAIN: a record covers the name, and another covers the wildcard at the closest encloser
  (RFC 4035 §5.4; NSEC3: the closest encloser proof, RFC 5155 §8.3-8.4);
- NODATA: a record at the name whose type bitmap lacks the type and CNAME; or an empty
  non-terminal (NSEC); or a wildcard that lacks the type (RFC 4035 §3.1.3.4, RFC 5155 §8.7);
  for DS also an opt-out span covering the name (RFC 5155 §8.6: the delegation may be unsigned);
- a wildcard expansion: no closer name exists (RFC 4035 §5.3.4, RFC 5155 §8.8).

A record owned by a delegation point (NS without SOA in its bitmap) or a DNAME speaks for the
parent side only and proves nothing below it. NSEC3 records with an unknown hash algorithm or
flags are ignored (RFC 5155 §8.2). Following RFC 9276 §3.2, records with more than
:data:`MAX_NSEC3_ITERATIONS` iterations are not hashed at all: the answer is accepted as
*insecure*, saying so.

SECURITY: the records are hostile. The iteration cap bounds the hashing per name, and at most
:data:`MAX_PROOF_RECORDS` records of a response are looked at.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dns.name
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.NSEC import NSEC
from dns.rdtypes.ANY.NSEC3 import NSEC3

from mailward.dns._dnssec_verify import name_str, rdtype_name

MAX_NSEC3_ITERATIONS = 150
"""Above this, NSEC3 answers count as insecure (RFC 9276 §3.2 allows it; BIND and Unbound use
a limit of this order)."""
MAX_PROOF_RECORDS = 16

_DS, _NS, _SOA, _CNAME, _DNAME = (
    dns.rdatatype.DS,
    dns.rdatatype.NS,
    dns.rdatatype.SOA,
    dns.rdatatype.CNAME,
    dns.rdatatype.DNAME,
)


@dataclass(frozen=True)
class Proof:
    """What the records proved.

    ``valid`` with ``insecure`` set: accepted only as insecure (the reason says why).
    ``types``: the type bitmap at the name when a record matched it exactly.
    ``opt_out``: proven only by an NSEC3 opt-out span (an unsigned delegation may hide there).
    """

    valid: bool
    reason: str = ""
    types: frozenset[int] | None = None
    opt_out: bool = False
    wildcard: bool = False
    empty_nonterminal: bool = False
    insecure: str = ""


def bitmap_types(windows: Iterable[tuple[int, bytes]]) -> frozenset[int]:
    """The type numbers of an NSEC/NSEC3 type bitmap (RFC 4034 §4.1.2)."""
    types = set()
    for window, octets in windows:
        for index, octet in enumerate(octets):
            for bit in range(8):
                if octet & (0x80 >> bit):
                    types.add(window * 256 + index * 8 + bit)
    return frozenset(types)


def _wild(name: dns.name.Name) -> dns.name.Name:
    return dns.name.Name((b"*", *name.labels))


def _ancestors(name: dns.name.Name, zone: dns.name.Name) -> list[dns.name.Name]:
    """``name``, its parent, ... down to ``zone`` (inclusive)."""
    found = [name]
    while found[-1] != zone and len(found[-1]) > 1:
        found.append(found[-1].parent())
    return found


def _is_referral(types: frozenset[int], owner: dns.name.Name, zone: dns.name.Name) -> bool:
    """A delegation point seen from the parent (NS, no SOA), or a DNAME."""
    return _DNAME in types or (_NS in types and _SOA not in types and owner != zone)


def _bitmap_denies(
    name: dns.name.Name, types: frozenset[int], qtype: int, zone: dns.name.Name
) -> str:
    """Why a record at ``name`` with ``types`` does *not* deny ``qtype`` ('' when it does)."""
    here = name_str(name)
    if qtype in types:
        return f"the {{kind}} record at {here} lists {rdtype_name(qtype)}: it exists"
    if _CNAME in types:
        return f"the {{kind}} record at {here} lists CNAME: the answer should be the alias"
    if qtype == _DS and _SOA in types and name != zone:
        return f"the {{kind}} record at {here} is the child's apex record; it cannot deny DS"
    if qtype != _DS and _NS in types and _SOA not in types and name != zone:
        return f"the {{kind}} record at {here} is a delegation's: the data lives in the child"
    return ""


# -- NSEC ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Nsec:
    owner: dns.name.Name
    next: dns.name.Name
    types: frozenset[int]

    def covers(self, name: dns.name.Name) -> bool:
        owner, after = self.owner, self.next
        if bool(owner < after):
            return bool(owner < name) and bool(name < after)
        return bool(name > owner) or bool(name < after)  # the last record wraps to the apex

    def encloser(self, name: dns.name.Name) -> dns.name.Name:
        """The closest encloser this record implies for a name it covers."""
        common = max(name.fullcompare(self.owner)[2], name.fullcompare(self.next)[2])
        return name.split(common)[1]


def _nsecs(rrsets: Sequence[dns.rrset.RRset], zone: dns.name.Name) -> list[_Nsec]:
    found = []
    wanted = [r for r in rrsets if r.rdtype == dns.rdatatype.NSEC and r.name.is_subdomain(zone)]
    for rrset in wanted[:MAX_PROOF_RECORDS]:
        for rdata in rrset:
            if isinstance(rdata, NSEC):
                found.append(_Nsec(rrset.name, rdata.next, bitmap_types(rdata.windows)))
    return found


def _nsec_cover(records: list[_Nsec], name: dns.name.Name, zone: dns.name.Name) -> _Nsec | None:
    for record in records:
        if record.owner == name or not record.covers(name):
            continue
        if name.is_subdomain(record.owner) and _is_referral(record.types, record.owner, zone):
            continue  # a delegation's record says nothing about names below it
        return record
    return None


def _nsec_nxdomain(records: list[_Nsec], qname: dns.name.Name, zone: dns.name.Name) -> Proof:
    if any(r.owner == qname for r in records):
        return Proof(False, f"an NSEC record at {name_str(qname)} shows that it exists")
    cover = _nsec_cover(records, qname, zone)
    if cover is None:
        return Proof(False, f"no NSEC record proves that {name_str(qname)} does not exist")
    wildcard = _wild(cover.encloser(qname))
    if any(r.owner == wildcard for r in records):
        return Proof(False, f"{name_str(wildcard)} exists, so {name_str(qname)} should match it")
    if _nsec_cover(records, wildcard, zone) is None:
        return Proof(False, f"no NSEC record proves that {name_str(wildcard)} does not exist")
    return Proof(True)


def _nsec_nodata(
    records: list[_Nsec], qname: dns.name.Name, qtype: int, zone: dns.name.Name
) -> Proof:
    match = next((r for r in records if r.owner == qname), None)
    if match is not None:
        why = _bitmap_denies(qname, match.types, qtype, zone)
        return Proof(False, why.format(kind="NSEC")) if why else Proof(True, types=match.types)
    cover = _nsec_cover(records, qname, zone)
    if cover is None:
        return Proof(False, f"no NSEC record at or around {name_str(qname)}")
    if cover.next.is_subdomain(qname) and cover.next != qname:
        return Proof(True, types=frozenset(), empty_nonterminal=True)
    wildcard = _wild(cover.encloser(qname))
    source = next((r for r in records if r.owner == wildcard), None)
    if source is None:
        return Proof(False, f"no NSEC record shows that {name_str(qname)} exists")
    why = _bitmap_denies(wildcard, source.types, qtype, zone)
    if why:
        return Proof(False, why.format(kind="NSEC"))
    return Proof(True, types=source.types, wildcard=True)


def _nsec_wildcard(
    records: list[_Nsec], qname: dns.name.Name, wildcard: dns.name.Name, zone: dns.name.Name
) -> Proof:
    cover = _nsec_cover(records, qname, zone)
    if cover is None:
        return Proof(False, f"no NSEC record proves that {name_str(qname)} itself does not exist")
    if cover.encloser(qname) != wildcard.parent():
        return Proof(False, f"a name closer to {name_str(qname)} than the wildcard exists")
    return Proof(True, wildcard=True)


# -- NSEC3 --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Nsec3:
    owner: dns.name.Name
    hashed: bytes
    next: bytes
    salt: bytes
    iterations: int
    opt_out: bool
    types: frozenset[int]

    def covers(self, digest: bytes) -> bool:
        if self.hashed < self.next:
            return self.hashed < digest < self.next
        return digest > self.hashed or digest < self.next


def nsec3_digest(name: dns.name.Name, salt: bytes, iterations: int) -> bytes:
    """RFC 5155 §5: SHA-1 over the canonical wire name and the salt, ``iterations`` more times."""
    wire = name.canonicalize().to_wire()
    assert wire is not None
    digest = hashlib.sha1(wire + salt).digest()
    for _ in range(iterations):
        digest = hashlib.sha1(digest + salt).digest()
    return digest


def _nsec3s(rrsets: Sequence[dns.rrset.RRset], zone: dns.name.Name) -> list[_Nsec3]:
    found = []
    wanted = [
        r
        for r in rrsets
        if r.rdtype == dns.rdatatype.NSEC3 and len(r.name) > 1 and r.name.parent() == zone
    ]
    for rrset in wanted[:MAX_PROOF_RECORDS]:
        try:
            label = rrset.name.labels[0].upper()
            hashed = base64.b32hexdecode(label + b"=" * (-len(label) % 8))
        except (binascii.Error, ValueError):
            continue
        for rdata in rrset:
            if not isinstance(rdata, NSEC3) or rdata.algorithm != 1 or rdata.flags > 1:
                continue  # RFC 5155 §8.2
            found.append(
                _Nsec3(
                    rrset.name,
                    hashed,
                    rdata.next,
                    rdata.salt,
                    rdata.iterations,
                    bool(rdata.flags & 1),
                    bitmap_types(rdata.windows),
                )
            )
    return found


class _Hasher:
    """NSEC3 lookups for one proof, hashing each (name, salt, iterations) once."""

    def __init__(self, records: list[_Nsec3]) -> None:
        self.records = records
        self._digests: dict[tuple[dns.name.Name, bytes, int], bytes] = {}

    def _digest(self, name: dns.name.Name, record: _Nsec3) -> bytes:
        key = (name, record.salt, record.iterations)
        if key not in self._digests:
            self._digests[key] = nsec3_digest(name, record.salt, record.iterations)
        return self._digests[key]

    def match(self, name: dns.name.Name) -> _Nsec3 | None:
        return next((r for r in self.records if self._digest(name, r) == r.hashed), None)

    def cover(self, name: dns.name.Name) -> _Nsec3 | None:
        return next((r for r in self.records if r.covers(self._digest(name, r))), None)


@dataclass(frozen=True)
class _Encloser:
    name: dns.name.Name
    next_closer: dns.name.Name
    cover: _Nsec3


def _closest_encloser(
    hasher: _Hasher, qname: dns.name.Name, zone: dns.name.Name
) -> _Encloser | str:
    """RFC 5155 §8.3: the closest provable encloser, and the record covering the next closer."""
    names = _ancestors(qname, zone)
    for index, candidate in enumerate(names):
        match = hasher.match(candidate)
        if match is None:
            continue
        if index == 0:
            return f"an NSEC3 record matches {name_str(qname)}: it exists"
        if _is_referral(match.types, candidate, zone):
            return f"the closest encloser {name_str(candidate)} is a delegation or DNAME"
        next_closer = names[index - 1]
        cover = hasher.cover(next_closer)
        if cover is None:
            return f"no NSEC3 record covers {name_str(next_closer)}"
        return _Encloser(candidate, next_closer, cover)
    return f"no NSEC3 record proves an encloser of {name_str(qname)}"


def _nsec3_nxdomain(hasher: _Hasher, qname: dns.name.Name, zone: dns.name.Name) -> Proof:
    encloser = _closest_encloser(hasher, qname, zone)
    if isinstance(encloser, str):
        return Proof(False, encloser)
    wildcard = _wild(encloser.name)
    if hasher.match(wildcard) is not None:
        return Proof(False, f"{name_str(wildcard)} exists, so {name_str(qname)} should match it")
    if hasher.cover(wildcard) is None:
        return Proof(False, f"no NSEC3 record proves that {name_str(wildcard)} does not exist")
    return Proof(True, opt_out=encloser.cover.opt_out)


def _nsec3_nodata(hasher: _Hasher, qname: dns.name.Name, qtype: int, zone: dns.name.Name) -> Proof:
    match = hasher.match(qname)
    if match is not None:
        why = _bitmap_denies(qname, match.types, qtype, zone)
        return Proof(False, why.format(kind="NSEC3")) if why else Proof(True, types=match.types)
    encloser = _closest_encloser(hasher, qname, zone)
    if isinstance(encloser, str):
        return Proof(False, encloser)
    if qtype == _DS and encloser.next_closer == qname and encloser.cover.opt_out:
        return Proof(True, opt_out=True)  # RFC 5155 §8.6
    wildcard = _wild(encloser.name)
    source = hasher.match(wildcard)
    if source is None:
        return Proof(False, f"no NSEC3 record shows that {name_str(qname)} exists")
    why = _bitmap_denies(wildcard, source.types, qtype, zone)
    if why:
        return Proof(False, why.format(kind="NSEC3"))
    return Proof(True, types=source.types, wildcard=True)


def _nsec3_wildcard(hasher: _Hasher, qname: dns.name.Name, wildcard: dns.name.Name) -> Proof:
    encloser = wildcard.parent()
    labels = len(encloser) + 1
    next_closer = qname.split(labels)[1]
    if hasher.cover(next_closer) is None:
        return Proof(False, f"no NSEC3 record proves that {name_str(next_closer)} does not exist")
    return Proof(True, wildcard=True)


# -- entry points -------------------------------------------------------------------------


def _too_costly(records: list[_Nsec3]) -> Proof | None:
    worst = max((r.iterations for r in records), default=0)
    if worst > MAX_NSEC3_ITERATIONS:
        return Proof(
            True,
            insecure=f"its NSEC3 records use {worst} iterations (more than"
            f" {MAX_NSEC3_ITERATIONS}), so the proof is not checked and the answer counts as"
            " insecure (RFC 9276 §3.2)",
        )
    return None


def prove_absence(
    qname: dns.name.Name,
    qtype: int,
    zone: dns.name.Name,
    rrsets: Sequence[dns.rrset.RRset],
    *,
    nxdomain: bool,
) -> Proof:
    """Do the (already verified) NSEC/NSEC3 ``rrsets`` of ``zone`` prove the negative answer?"""
    nsecs = _nsecs(rrsets, zone)
    if nsecs:
        if nxdomain:
            return _nsec_nxdomain(nsecs, qname, zone)
        return _nsec_nodata(nsecs, qname, qtype, zone)
    nsec3s = _nsec3s(rrsets, zone)
    if not nsec3s:
        return Proof(False, f"no NSEC or NSEC3 record of {name_str(zone)} came with it")
    costly = _too_costly(nsec3s)
    if costly is not None:
        return costly
    hasher = _Hasher(nsec3s)
    if nxdomain:
        return _nsec3_nxdomain(hasher, qname, zone)
    return _nsec3_nodata(hasher, qname, qtype, zone)


def prove_wildcard(
    qname: dns.name.Name,
    wildcard: dns.name.Name,
    zone: dns.name.Name,
    rrsets: Sequence[dns.rrset.RRset],
) -> Proof:
    """Does ``rrsets`` prove that ``qname`` was rightly synthesized from ``wildcard``?"""
    nsecs = _nsecs(rrsets, zone)
    if nsecs:
        return _nsec_wildcard(nsecs, qname, wildcard, zone)
    nsec3s = _nsec3s(rrsets, zone)
    if not nsec3s:
        return Proof(
            False, f"no NSEC or NSEC3 record proves that {name_str(qname)} itself does not exist"
        )
    costly = _too_costly(nsec3s)
    if costly is not None:
        return costly
    return _nsec3_wildcard(_Hasher(nsec3s), qname, wildcard)
