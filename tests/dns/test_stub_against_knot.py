"""StubResolver against a real Knot DNS serving tests/dns/zones (see tests/knot.py).

Knot's own counters (mod-stats, read through knotc) prove what went over the wire.
"""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import pytest

from knot import KnotServer
from mailward.dns.counting import CountingResolver
from mailward.dns.stub import StubResolver
from mailward.errors import NoAnswer, NXDomain, TempError

pytestmark = pytest.mark.server


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def requests(knot: KnotServer) -> int:
    stats = knot.stats()
    return sum(v for k, v in stats.items() if k.startswith("mod-stats.request-protocol["))


def stub(knot: KnotServer, **options: object) -> StubResolver:
    return StubResolver([knot.nameserver], timeout=1.0, **options)  # type: ignore[arg-type]


async def test_answers_from_knot(knot: KnotServer) -> None:
    answer = await stub(knot).query("www.test", "AAAA")
    assert (answer.qname, answer.name, answer.ttl) == ("www.test.", "www.test.", 300)
    assert [r.to_text() for r in answer.records] == ["2001:db8::10"]
    assert not answer.authenticated  # an authoritative server never sets AD


async def test_long_txt_keeps_its_strings(knot: KnotServer) -> None:
    answer = await stub(knot).query("long.test", "TXT")
    (record,) = answer.records
    assert [len(s) for s in record.strings] == [255, 100]  # type: ignore[attr-defined]
    assert len(answer.texts()[0]) == 355


async def test_cname_chain_across_four_zones(knot: KnotServer) -> None:
    answer = await stub(knot).query("roundtrip.test", "A")
    assert answer.name == "www.test."
    assert [str(c.name) for c in answer.cnames] == [
        "roundtrip.test.",
        "hop.mail.test.",
        "back.shop.test.",
        "alias.test.",
    ]
    assert answer.ttl == 120  # mail.test.'s TTL is the smallest on the way


async def test_ipv6_nameserver(knot: KnotServer) -> None:
    if not knot.ipv6:
        pytest.skip("::1 cannot be bound on this machine")
    resolver = StubResolver([f"[::1]:{knot.port}"], timeout=1.0)
    answer = await resolver.query("mx1.test", "AAAA")
    assert [r.to_text() for r in answer.records] == ["2001:db8::25"]
    assert knot.stats().get("mod-stats.request-protocol[udp6]", 0) >= 1


async def test_refused_is_a_temperror_and_not_cached(knot: KnotServer) -> None:
    resolver = stub(knot)
    before = requests(knot)
    for _ in range(2):
        with pytest.raises(TempError) as caught:
            await resolver.query("example.invalid", "A")
        assert caught.value.detail == f"REFUSED from {knot.nameserver}"
    assert requests(knot) - before == 2


async def test_a_referral_from_knot_is_a_temperror(knot: KnotServer) -> None:
    with pytest.raises(TempError, match=r"referral to gone\.test\."):
        await stub(knot).query("www.gone.test", "A")


async def test_truncated_reply_is_asked_again_over_tcp(knot: KnotServer) -> None:
    before = knot.stats()
    answer = await stub(knot).query("big.test", "TXT")
    after = knot.stats()
    assert len(answer.records) == 8
    assert sum(len(text) for text in answer.texts()) == 1600  # more than 1232 octets

    def delta(key: str) -> int:
        return after.get(key, 0) - before.get(key, 0)

    assert delta("mod-stats.request-protocol[udp4]") == 1
    assert delta("mod-stats.request-protocol[tcp4]") == 1


async def test_do_bit_only_with_dnssec(knot: KnotServer) -> None:
    resolver = stub(knot, cache=False)
    before = knot.stats()
    await resolver.query("www.test", "A")
    middle = knot.stats()
    await resolver.query("www.test", "A", dnssec=True)
    after = knot.stats()
    do, edns = "mod-stats.flag-presence[DO]", "mod-stats.edns-presence[request]"
    assert middle.get(do, 0) == before.get(do, 0)
    assert after.get(do, 0) == middle.get(do, 0) + 1
    assert after[edns] - before.get(edns, 0) == 2


async def test_second_question_makes_no_traffic(knot: KnotServer) -> None:
    resolver = stub(knot)
    before = requests(knot)
    first = await resolver.query("mx1.test", "A")
    second = await resolver.query("MX1.test.", "A")
    assert requests(knot) - before == 1
    assert first.records == second.records


async def test_negative_answers_cached_for_the_soa_minimum(knot: KnotServer) -> None:
    clock = Clock()
    resolver = stub(knot, clock=clock)
    before = requests(knot)
    for _ in range(3):
        with pytest.raises(NXDomain):
            await resolver.query("nonexistent.test", "TXT")
        with pytest.raises(NoAnswer):
            await resolver.query("www.test", "MX")
    assert requests(knot) - before == 2
    clock.now += 59  # test.'s SOA MINIMUM is 60
    with pytest.raises(NXDomain):
        await resolver.query("nonexistent.test", "TXT")
    assert requests(knot) - before == 2
    clock.now += 2
    with pytest.raises(NXDomain):
        await resolver.query("nonexistent.test", "TXT")
    assert requests(knot) - before == 3


async def test_counting_wrappers_share_the_inner_cache(knot: KnotServer) -> None:
    shared = stub(knot)
    before = requests(knot)
    for _ in range(3):  # three SPF evaluations, one counter each
        evaluation = CountingResolver(shared)
        await evaluation.query("shop.test", "TXT")
        await evaluation.query("_spf.shop.test", "TXT")
        assert evaluation.count == 2
    assert requests(knot) - before == 2


@pytest.mark.parametrize(
    ("name", "rdtype"),
    [("www.shop.test", "A"), ("imap.mail.test", "AAAA"), ("ns1.shop.test", "A")],
)
def test_knot_answers_child_zones_with_authority(knot: KnotServer, name: str, rdtype: str) -> None:
    """The differential test assumes names below test.'s delegations get authoritative answers
    (AA, data in the answer section), not referrals, because Knot also serves the children."""
    query = dns.message.make_query(name, rdtype)
    reply = dns.query.udp(query, knot.address, port=knot.port, timeout=2)
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.flags & dns.flags.AA
    assert reply.answer and reply.answer[0].name == dns.name.from_text(name)
