"""CountingResolver: one tally per evaluation, over a shared resolver."""

from __future__ import annotations

import pytest

from mailward.dns.counting import CountingResolver
from mailward.dns.resolver import Answer, Resolver
from mailward.dns.zonefiles import ZoneResolver
from mailward.errors import NoAnswer, NXDomain, TempError

ZONE = """$ORIGIN example.com.
@    300 SOA ns hostmaster 1 3600 900 604800 60
@    300 TXT "v=spf1 include:_spf.example.com -all"
_spf 300 TXT "v=spf1 ip4:192.0.2.0/24 -all"
"""


class Tally:
    """The inner resolver, counting what reaches it."""

    def __init__(self, inner: Resolver) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str, bool]] = []

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        self.calls.append((name, rdtype, dnssec))
        return await self.inner.query(name, rdtype, dnssec=dnssec)


async def test_counts_logs_and_voids() -> None:
    counting = CountingResolver(ZoneResolver.from_text(ZONE))
    resolver: Resolver = counting
    assert counting.count == 0
    answer = await resolver.query("Example.COM", "txt")
    assert answer.texts() == [b"v=spf1 include:_spf.example.com -all"]
    await resolver.query("_spf.example.com.", "TXT")
    with pytest.raises(NXDomain):
        await resolver.query("nope.example.com", "TXT")
    with pytest.raises(NoAnswer):
        await resolver.query("example.com", "MX")
    with pytest.raises(TempError):
        await resolver.query("example.org", "A")
    assert counting.count == 5
    assert counting.log == [
        ("example.com.", "TXT"),
        ("_spf.example.com.", "TXT"),
        ("nope.example.com.", "TXT"),
        ("example.com.", "MX"),
        ("example.org.", "A"),
    ]
    assert counting.voids == 2  # a TempError is not a void lookup (RFC 7208 §4.6.4)


async def test_each_evaluation_counts_alone_and_passes_everything_on() -> None:
    inner = Tally(ZoneResolver.from_text(ZONE))
    first, second = CountingResolver(inner), CountingResolver(inner)
    await first.query("example.com", "TXT", dnssec=True)
    await second.query("example.com", "TXT")
    await second.query("_spf.example.com", "TXT")
    assert (first.count, second.count) == (1, 2)
    assert inner.calls == [
        ("example.com", "TXT", True),
        ("example.com", "TXT", False),
        ("_spf.example.com", "TXT", False),
    ]
