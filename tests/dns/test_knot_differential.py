"""Differential test: ZoneResolver over tests/dns/zones and StubResolver asking Knot serving the
same files must agree on every question: the same error class, or the same records (canonical
rdata text), owner, TTL and CNAME chain.

The questions: every owner in the zones, each name on the way up to its zone's apex (empty
non-terminals), names under wildcards and delegations, nonexistent names and names outside every
zone, each asked for every type the zones use.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import dns.name
import dns.zone
import pytest

from knot import KnotServer
from mailward.dns.resolver import Answer, Resolver
from mailward.dns.stub import StubResolver
from mailward.dns.zonefiles import ZoneResolver
from mailward.errors import DNSError, NoAnswer, NXDomain, TempError

pytestmark = pytest.mark.server

ZONES = sorted((Path(__file__).parent / "zones").glob("*.zone"))
TYPES = ["A", "AAAA", "MX", "TXT", "CNAME", "NS", "SOA", "SRV", "CAA", "PTR", "DS"]
EXTRA_NAMES = [
    "nonexistent.test.",
    "deeper.nonexistent.test.",
    "anything.wild.test.",  # wildcard synthesis
    "a.b.c.wild.test.",  # a wildcard matches many labels
    "sub.exists.wild.test.",  # the closest encloser exists.wild has no wildcard
    "x.ent.wild.test.",  # no synthesis across the empty non-terminal ent.wild
    "foo.cname-wild.test.",  # a wildcard CNAME
    "x.b.ent.test.",
    "deep.www.shop.test.",
    "a.b.cdn.shop.test.",  # a wildcard in a child zone
    "nothing.shop.test.",
    "nothing.mail.test.",
    "www.gone.test.",  # below a delegation whose child is not served
    "x.y.gone.test.",
    "99.2.0.192.in-addr.arpa.",
    "www.example.invalid.",  # no zone: Knot REFUSES, the zone resolver has no file
    "in-addr.arpa.",
    "invalid.",
]


def questions() -> list[tuple[str, str]]:
    names: set[dns.name.Name] = {dns.name.from_text(n) for n in EXTRA_NAMES}
    for path in ZONES:
        zone = dns.zone.from_file(str(path), relativize=False, check_origin=False)
        assert zone.origin is not None
        for owner in zone.nodes:
            while owner != zone.origin.parent():  # the owner and every name up to the apex
                names.add(owner)
                owner = owner.parent()
    return [(name.to_text(), rdtype) for name in sorted(names) for rdtype in TYPES]


Outcome = tuple[object, ...]


async def outcome(resolver: Resolver, name: str, rdtype: str) -> Outcome:
    try:
        answer: Answer = await resolver.query(name, rdtype)
    except (NXDomain, NoAnswer, TempError) as exc:
        # NotLoaded (offline: outside the zone files) is a TempError to every caller
        kind = next(c for c in (NXDomain, NoAnswer, TempError) if isinstance(exc, c))
        return (kind.__name__,)
    except DNSError as exc:  # pragma: no cover - a new DNSError subclass would need a look
        return (f"unexpected {type(exc).__name__}",)
    chain = tuple((str(c.name).lower(), str(c[0].target).lower()) for c in answer.cnames)
    return (
        "answer",
        answer.name,
        tuple(sorted(record.to_text() for record in answer.records)),
        chain,
        answer.ttl,
    )


async def test_zone_files_and_knot_agree(knot: KnotServer) -> None:
    zones = ZoneResolver(ZONES)
    stub = StubResolver([knot.nameserver], timeout=2.0, retries=1)
    asked = questions()
    assert len(asked) > 700
    limit = asyncio.Semaphore(32)

    async def both(name: str, rdtype: str) -> tuple[str, str, Outcome, Outcome]:
        async with limit:
            return (
                name,
                rdtype,
                await outcome(zones, name, rdtype),
                await outcome(stub, name, rdtype),
            )

    results = await asyncio.gather(*(both(name, rdtype) for name, rdtype in asked))
    differences = [
        f"{name} {rdtype}: zone files {mine} / knot {knots}"
        for name, rdtype, mine, knots in results
        if mine != knots
    ]
    assert differences == [], "\n".join(differences)
    # The run covers every kind of outcome, or it proves less than it claims.
    kinds = {mine[0] for _, _, mine, _ in results}
    assert kinds == {"answer", "NXDomain", "NoAnswer", "TempError"}
    chains = sum(1 for _, _, mine, _ in results if mine[0] == "answer" and mine[3])
    assert chains >= 20


@pytest.mark.parametrize(
    ("name", "rdtype", "expected"),
    [
        ("www.gone.test.", "A", "TempError"),  # delegated, child not served: referral
        ("gone.test.", "DS", "NoAnswer"),  # DS is the parent's, even for a cut it does not serve
        ("mail.test.", "DS", "answer"),  # answered from the parent although mail.test is loaded
        ("x.ent.wild.test.", "TXT", "NXDomain"),
        ("exists.wild.test.", "TXT", "NoAnswer"),
        ("outside.test.", "A", "TempError"),
        ("loop1.test.", "A", "TempError"),
        ("b.ent.test.", "A", "NoAnswer"),
    ],
)
async def test_landmarks(knot: KnotServer, name: str, rdtype: str, expected: str) -> None:
    """A few of the differential questions whose expected outcome is known by RFC, so that the
    two implementations cannot agree on a wrong answer unnoticed."""
    zones = ZoneResolver(ZONES)
    stub = StubResolver([knot.nameserver], timeout=2.0)
    mine, knots = await outcome(zones, name, rdtype), await outcome(stub, name, rdtype)
    assert mine[0] == knots[0] == expected
