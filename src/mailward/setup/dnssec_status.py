"""When a signed zone's signatures expire, and when it must be re-signed.

NAME
    dnssec_status -- what ``mailward dnssec status`` reports (for a person, or for cron).

DESCRIPTION
    :func:`status` reads a signed zone file and lists every RRSIG by expiration, soonest first,
    with the keys that made them; the next re-sign is due ``refresh`` before the first
    expiration (as :mod:`mailward.setup.signer` refreshes signatures that expire within
    ``refresh``). It also lists authoritative RRsets that carry no signature at all (not the
    NS records at a delegation, nor glue below one: those are never signed, RFC 4035 §2.2).
    Signatures are not verified here: ``mailward check`` and the validating resolver do that.

SECURITY
    The zone file is parsed as hostile input by :mod:`mailward.setup._zonedata` (located
    errors, no file access from its content on the fast path).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import dns.name
import dns.rdatatype

from mailward.setup._zonedata import Labels, read_zone

__all__ = ["Signature", "ZoneStatus", "status"]

T = dns.rdatatype
DAY = 86400


def _type_text(rdtype: int) -> str:
    return dns.rdatatype.to_text(rdtype)  # type: ignore[arg-type]


def _below(labels: Labels, above: Labels) -> bool:
    return len(labels) > len(above) and labels[-len(above) :] == above


@dataclass(frozen=True)
class Signature:
    owner: str
    covered: str
    key_tag: int
    algorithm: int
    inception: int
    expiration: int


@dataclass(frozen=True)
class ZoneStatus:
    """When a signed zone's signatures expire, and when it must be re-signed."""

    origin: str
    serial: int
    now: int
    refresh: int
    signatures: tuple[Signature, ...]  # soonest expiry first
    unsigned: tuple[str, ...] = ()  # "owner TYPE" of authoritative RRsets without an RRSIG

    @property
    def earliest(self) -> Signature | None:
        return self.signatures[0] if self.signatures else None

    @property
    def refresh_due(self) -> int | None:
        first = self.earliest
        return None if first is None else first.expiration - self.refresh

    @property
    def expired(self) -> tuple[Signature, ...]:
        return tuple(s for s in self.signatures if s.expiration <= self.now)

    @property
    def not_yet_valid(self) -> tuple[Signature, ...]:
        return tuple(s for s in self.signatures if s.inception > self.now)

    def by_key(self) -> dict[tuple[int, int], tuple[int, int, int]]:
        """(algorithm, key tag) -> (signatures, earliest expiration, latest expiration)."""
        out: dict[tuple[int, int], tuple[int, int, int]] = {}
        for sig in self.signatures:
            count, low, high = out.get(
                (sig.algorithm, sig.key_tag), (0, sig.expiration, sig.expiration)
            )
            out[(sig.algorithm, sig.key_tag)] = (
                count + 1,
                min(low, sig.expiration),
                max(high, sig.expiration),
            )
        return out


def status(
    text: str,
    *,
    filename: str = "<string>",
    origin: str | None = None,
    refresh: int = 5 * DAY,
    now: int | None = None,
) -> ZoneStatus:
    """Read a signed zone and list its signatures by expiry (see :class:`ZoneStatus`)."""
    data = read_zone(text, filename=filename, origin=origin)
    moment = int(time.time()) if now is None else now
    sigs = [
        Signature(
            dns.name.Name(labels).to_text(),
            _type_text(covered),
            sig.key_tag,
            sig.algorithm,
            sig.inception,
            sig.expiration,
        )
        for (labels, covered), found in data.rrsigs.items()
        for sig in found
    ]
    sigs.sort(key=lambda s: (s.expiration, s.owner, s.covered))
    soa: Any = data.soa().rdatas[0]
    apex = data.origin.labels
    unsigned = []
    above: Labels | None = None
    for labels in sorted(data.nodes, key=lambda labels: labels[::-1]):
        if above is not None and _below(labels, above):
            continue
        above = None
        node = data.nodes[labels]
        cut = labels != apex and T.NS in node
        if cut or T.DNAME in node:
            above = labels
        for rdtype in node:
            if (cut and rdtype not in (T.DS, T.NSEC)) or (labels, rdtype) in data.rrsigs:
                continue
            unsigned.append(f"{dns.name.Name(labels)} {_type_text(rdtype)}")
    return ZoneStatus(
        data.origin.to_text(), int(soa.serial), moment, refresh, tuple(sigs), tuple(unsigned)
    )
