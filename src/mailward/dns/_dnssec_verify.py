"""DNSSEC building blocks: which algorithms are validated, RRSIG checks, DS-to-DNSKEY matching.

RFC 4034 §3 (RRSIG), §5.1.4 (DS digest), App. B (key tag); RFC 4035 §5.3 (checking an RRSIG:
the signer is the zone, the labels field, inception and expiration, the key's zone flag and
protocol), §5.2 (a DS set with no supported algorithm makes the delegation insecure); RFC 6840
§5.2 (only DS of supported algorithms and digest types count); RFC 5011 §2.1 (a revoked key
signs only its own DNSKEY set). Algorithms per RFC 9904 (the IANA registry's "Use for DNSSEC
Validation" column, RFC 8624's levels) and RFC 9906 (ECC-GOST): RSAMD5, DSA, DSA-NSEC3-SHA1 and
ECC-GOST MUST NOT be validated, so a zone signed only with them is *insecure*, not bogus.

Signatures are checked by dnspython's ``dns.dnssec.validate_rrsig``, which verifies with
``cryptography`` (OpenSSL); the time and key checks are done here first, so a failure has a
reason a person can act on ("RRSIG over MX at shop.example expired 3 days ago").

SECURITY: every record checked here came over the network. Keys are handed to ``cryptography``
only up to :data:`MAX_KEY_OCTETS` (a 4096-bit RSA key and its exponent); each RRset is checked
against at most :data:`MAX_SIGNATURES` signatures and :data:`MAX_KEYS_PER_SIGNATURE` keys, so a
hostile zone cannot make one answer cost thousands of verifications (the "KeyTrap" attack).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import dns.dnssec
import dns.dnssectypes
import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
from cryptography.exceptions import InvalidSignature
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.RRSIG import RRSIG

from mailward.records.dnssec import algorithm_name

VALIDATED_ALGORITHMS = frozenset({5, 7, 8, 10, 13, 14, 15, 16})
"""Algorithms whose signatures are checked (RSASHA1 and RSASHA1-NSEC3-SHA1 are still validated:
RFC 9904 keeps them at MUST for validation; the audit warns about them)."""
MUST_NOT_VALIDATE = frozenset({1, 3, 6, 12})
"""RSAMD5, DSA, DSA-NSEC3-SHA1 (RFC 9904) and ECC-GOST (RFC 9906): treated as unsigned."""
VALIDATED_DIGESTS = {1: "SHA-1", 2: "SHA-256", 4: "SHA-384"}
MAX_KEY_OCTETS = 4096 // 8 + 8
MAX_SIGNATURES = 8
MAX_KEYS_PER_SIGNATURE = 4

_ZONE_FLAG, _REVOKE_FLAG = 0x0100, 0x0080
_DAY = 86_400


@dataclass(frozen=True)
class Failure:
    """Why something did not validate: ``kind`` for programs, ``reason`` for people."""

    kind: str
    reason: str


@dataclass(frozen=True)
class Verified:
    """An RRset whose signature checked out; ``wildcard`` is the source of a wildcard expansion
    (``*.<closest encloser>``) when the RRSIG's labels field says the owner was synthesized."""

    rrsig: RRSIG
    wildcard: dns.name.Name | None = None


def rdtype_name(rdtype: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))


def name_str(name: dns.name.Name) -> str:
    """``shop.example`` (no final dot) for reasons; ``.`` for the root."""
    text = name.to_text().lower()
    return text if text == "." else text.rstrip(".")


def when(timestamp: int, now: float) -> str:
    """``3 days ago (2025-01-31 12:00 UTC)``, ``in 5 hours (…)``."""
    span, moment = _span(timestamp, now)
    return f"{span} ago ({moment})" if timestamp < now else f"in {span} ({moment})"


def _span(timestamp: int, now: float) -> tuple[str, str]:
    moment = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    amount = abs(timestamp - now)
    if amount >= 2 * _DAY:
        return f"{int(amount // _DAY)} days", moment
    if amount >= 2 * 3600:
        return f"{int(amount // 3600)} hours", moment
    return f"{max(1, int(amount // 60))} minutes", moment


def algorithm_text(number: int) -> str:
    return f"{number} ({algorithm_name(number)})"


def signatures_for(
    rrsigs: Iterable[dns.rrset.RRset], owner: dns.name.Name, rdtype: int
) -> list[RRSIG]:
    """The RRSIG rdatas over ``owner``/``rdtype`` among ``rrsigs``."""
    found: list[RRSIG] = []
    for rrset in rrsigs:
        if rrset.rdtype != dns.rdatatype.RRSIG or rrset.name != owner:
            continue
        found.extend(sig for sig in rrset if isinstance(sig, RRSIG) and sig.type_covered == rdtype)
    return found


def owner_labels(name: dns.name.Name) -> int:
    """The RRSIG labels count of an owner (RFC 4034 §3.1.3: no root, no leading ``*``)."""
    count = len(name) - 1
    return count - 1 if name.is_wild() else count


def key_tag(key: DNSKEY) -> int:
    return dns.dnssec.key_id(key)


def verify_rrset(
    rrset: dns.rrset.RRset,
    rrsigs: Sequence[RRSIG],
    zone: dns.name.Name,
    keys: Iterable[DNSKEY],
    now: float,
    skew: int,
) -> Verified | Failure:
    """Check ``rrset`` against its RRSIGs with the zone's trusted ``keys`` (RFC 4035 §5.3).

    Success if any one signature verifies; otherwise the most telling reason: a signature that
    failed its time check or its cryptography beats one that names an unknown key.
    """
    what = f"{rdtype_name(rrset.rdtype)} at {name_str(rrset.name)}"
    usable = [
        sig
        for sig in rrsigs
        if sig.signer == zone
        and sig.type_covered == rrset.rdtype
        and sig.labels <= owner_labels(rrset.name)
    ][:MAX_SIGNATURES]
    if not usable:
        if rrsigs:
            return Failure(
                "bad-signature",
                f"the RRSIGs over {what} are not by {name_str(zone)} or do not fit the name",
            )
        return Failure("unsigned", f"{what} has no RRSIG although {name_str(zone)} is signed")
    keyset = list(keys)
    failures: list[Failure] = []
    for sig in usable:
        outcome = _verify_one(rrset, sig, zone, keyset, now, skew, what)
        if isinstance(outcome, Verified):
            return outcome
        failures.append(outcome)
    order = ("rrsig-expired", "rrsig-not-yet-valid", "bad-signature", "unsupported", "no-key")
    failures.sort(key=lambda f: order.index(f.kind) if f.kind in order else len(order))
    return failures[0]


def _verify_one(
    rrset: dns.rrset.RRset,
    sig: RRSIG,
    zone: dns.name.Name,
    keys: list[DNSKEY],
    now: float,
    skew: int,
    what: str,
) -> Verified | Failure:
    alg, tag = sig.algorithm, sig.key_tag
    by = f"key {tag} (algorithm {alg})"
    if sig.expiration + skew < now:
        return Failure(
            "rrsig-expired",
            f"RRSIG over {what} by {by} expired {when(sig.expiration, now)}",
        )
    if sig.inception - skew > now:
        span, moment = _span(sig.inception, now)
        return Failure(
            "rrsig-not-yet-valid",
            f"RRSIG over {what} by {by} is not valid for another {span} (until {moment})",
        )
    if alg not in VALIDATED_ALGORITHMS:
        return Failure("unsupported", f"RRSIG over {what} uses algorithm {algorithm_text(alg)}")
    candidates = [
        key
        for key in keys
        if key.algorithm == alg
        and key_tag(key) == tag
        and key.flags & _ZONE_FLAG
        and key.protocol == 3
        and (not key.flags & _REVOKE_FLAG or rrset.rdtype == dns.rdatatype.DNSKEY)
        and len(key.key) <= MAX_KEY_OCTETS
    ][:MAX_KEYS_PER_SIGNATURE]
    if not candidates:
        return Failure(
            "no-key",
            f"RRSIG over {what} names {by}, which is not among the DNSKEYs of {name_str(zone)}",
        )
    # The time was checked above with the skew; dnspython checks it again without, so it is
    # given a moment inside the signature's validity.
    inside = max(sig.inception, min(int(now), sig.expiration))
    for key in candidates:
        keyset = dns.rdataset.from_rdata_list(0, [key])
        try:
            dns.dnssec.validate_rrsig(
                rrset,
                sig,
                {zone: keyset},
                now=inside,
                policy=dns.dnssec.allow_all_policy,
            )
        except (dns.exception.DNSException, InvalidSignature, ValueError, TypeError):
            continue
        wildcard = None
        if sig.labels < owner_labels(rrset.name):
            wildcard = dns.name.Name((b"*", *rrset.name.labels[-(sig.labels + 1) :]))
        return Verified(sig, wildcard)
    return Failure("bad-signature", f"RRSIG over {what} by {by} does not verify")


def ds_digest(owner: dns.name.Name, key: DNSKEY, digest_type: int) -> bytes | None:
    """The DS digest of ``key`` at ``owner`` (RFC 4034 §5.1.4), None for other digest types."""
    if digest_type not in VALIDATED_DIGESTS:
        return None
    ds = dns.dnssec.make_ds(
        owner,
        key,
        dns.dnssectypes.DSDigest.make(digest_type),
        policy=dns.dnssec.allow_all_policy,
        validating=True,
    )
    return ds.digest


def usable_ds(ds_set: Iterable[DS]) -> list[DS]:
    """The DS records a validator may use: supported algorithm and digest type (RFC 6840 §5.2)."""
    return [
        ds
        for ds in ds_set
        if ds.algorithm in VALIDATED_ALGORITHMS and ds.digest_type in VALIDATED_DIGESTS
    ]


def unusable_reason(owner: dns.name.Name, ds_set: Sequence[DS]) -> str:
    """Why no DS of ``owner`` can be used (every one names an algorithm or digest we skip)."""
    parts = []
    for ds in ds_set:
        alg, digest = ds.algorithm, ds.digest_type
        if alg in MUST_NOT_VALIDATE:
            parts.append(f"algorithm {algorithm_text(alg)} must not be validated (RFC 9904)")
        elif alg not in VALIDATED_ALGORITHMS:
            parts.append(f"algorithm {algorithm_text(alg)} is not supported")
        else:
            parts.append(f"digest type {digest} is not supported")
    listed = "; ".join(dict.fromkeys(parts))
    return f"every DS of {name_str(owner)} is unusable: {listed}, so it counts as unsigned"


def match_ds(
    owner: dns.name.Name, ds_set: Sequence[DS], dnskeys: Iterable[DNSKEY]
) -> tuple[list[DNSKEY], list[str]]:
    """The DNSKEYs that a usable DS names (tag, algorithm and digest all agree), and for each DS
    that matched nothing, why (for the ds-mismatch reason)."""
    keys = list(dnskeys)
    matched: list[DNSKEY] = []
    misses: list[str] = []
    for ds in usable_ds(ds_set):
        tag, alg = ds.key_tag, ds.algorithm
        same_tag = [k for k in keys if key_tag(k) == tag and k.algorithm == alg]
        hits = [
            k
            for k in same_tag
            if len(k.key) <= MAX_KEY_OCTETS and ds_digest(owner, k, ds.digest_type) == ds.digest
        ]
        if hits:
            matched.extend(k for k in hits if k not in matched)
        elif same_tag:
            misses.append(
                f"the DNSKEY with key tag {tag} alg {alg} does not hash to the DS digest"
                f" ({VALIDATED_DIGESTS[ds.digest_type]})"
            )
        else:
            misses.append(f"no DNSKEY with key tag {tag} alg {alg}")
    return matched, misses


def describe_ds(ds_set: Sequence[DS]) -> str:
    """``key tag 11111 alg 13`` (and more, comma separated) for reasons."""
    return ", ".join(f"key tag {ds.key_tag} alg {ds.algorithm}" for ds in ds_set)


def now_seconds() -> float:
    return time.time()


def as_rdataset(records: Iterable[dns.rdata.Rdata], rdtype: int) -> dns.rdataset.Rdataset:
    rdataset = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.RdataType.make(rdtype))
    for record in records:
        rdataset.add(record)
    return rdataset
