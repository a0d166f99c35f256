"""StubResolver against in-process fake nameservers: every failure mode, the cache, sharing.

The fakes are UDP endpoints on 127.0.0.1 that answer with hand-made replies (or garbage, or
nothing); the same resolver is tested against a real Knot in test_stub_against_knot.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import cast

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from mailward.dns.resolver import Resolver
from mailward.dns.stub import EDNS_PAYLOAD, StubResolver, system_nameservers
from mailward.errors import NoAnswer, NXDomain, TempError, UsageError

Reply = bytes | dns.message.Message | None
Handler = Callable[[dns.message.Message], Reply]
SOA = "ns.example. hostmaster.example. 1 3600 900 604800 60"


class FakeServer(asyncio.DatagramProtocol):
    def __init__(self, handler: Handler, delay: float) -> None:
        self.handler = handler
        self.delay = delay
        self.queries: list[dns.message.Message] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        query = dns.message.from_wire(data)
        self.queries.append(query)
        reply = self.handler(query)
        if reply is None or self.transport is None:
            return
        wire = reply if isinstance(reply, bytes) else reply.to_wire()
        asyncio.get_running_loop().call_later(self.delay, self.transport.sendto, wire, addr)


Serve = Callable[..., Awaitable[tuple[FakeServer, str]]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    transports: list[asyncio.BaseTransport] = []

    async def start(handler: Handler, delay: float = 0.0) -> tuple[FakeServer, str]:
        loop = asyncio.get_running_loop()
        transport, server = await loop.create_datagram_endpoint(
            lambda: FakeServer(handler, delay), local_addr=("127.0.0.1", 0)
        )
        transports.append(transport)
        return server, f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"

    yield start
    for transport in transports:
        transport.close()


def reply(
    query: dns.message.Message,
    *answer: str,
    rcode: dns.rcode.Rcode = dns.rcode.NOERROR,
    authority: tuple[str, ...] = (),
    flags: int = dns.flags.AA,
) -> dns.message.Message:
    """A reply to ``query``; each record as ``"owner TTL TYPE rdata"``."""
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    response.flags |= flags
    for section, records in ((response.answer, answer), (response.authority, authority)):
        grouped: dict[tuple[str, str, str], list[str]] = {}
        for record in records:
            owner, ttl, rdtype, rdata = record.split(None, 3)
            grouped.setdefault((owner, ttl, rdtype), []).append(rdata)
        for (owner, ttl, rdtype), rdatas in grouped.items():
            section.append(dns.rrset.from_text(owner, int(ttl), "IN", rdtype, *rdatas))
    return response


def qname(query: dns.message.Message) -> str:
    return str(query.question[0].name)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- failures are TempError, named ------------------------------------------------------------


async def test_a_server_that_never_answers_is_a_quick_temperror() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        resolver = StubResolver([f"127.0.0.1:{port}"], timeout=0.2, retries=2)
        started = time.monotonic()
        with pytest.raises(TempError) as caught:
            await resolver.query("example.com", "TXT")
        elapsed = time.monotonic() - started
    assert type(caught.value) is TempError  # never NoAnswer: a timeout is not "no record"
    assert caught.value.detail == f"timeout from 127.0.0.1:{port} (3 tries)"
    assert 0.55 < elapsed < 2.0


async def test_a_damaged_reply_to_the_question_is_malformed(serve: Serve) -> None:
    def damaged(query: dns.message.Message) -> bytes:
        return reply(query, "example.com. 60 A 192.0.2.1").to_wire()[:-3]  # record cut short

    server, address = await serve(damaged)
    resolver = StubResolver([address], timeout=0.3, retries=1)
    with pytest.raises(TempError, match=r"malformed reply \(record .* past the end\).*\(2 tries\)"):
        await resolver.query("example.com", "A")
    assert len(server.queries) == 2


def _spoofed(query: dns.message.Message) -> list[bytes]:
    """Datagrams an off-path attacker might send first: none may answer or fail the question."""
    wrong_id = reply(query, "example.com. 60 A 203.0.113.66")
    wrong_id.id = (query.id + 1) % 65536
    other_question = reply(
        dns.message.make_query("other.example", "A"), "other.example. 60 A 1.2.3.4"
    )
    other_question.id = query.id
    not_a_response = reply(query, "example.com. 60 A 203.0.113.66")
    not_a_response.flags &= ~dns.flags.QR
    return [
        b"\x00\x01garbage",
        wrong_id.to_wire(),
        other_question.to_wire(),
        not_a_response.to_wire(),
    ]


async def test_datagrams_that_do_not_answer_the_question_are_dropped(serve: Serve) -> None:
    """RFC 5452 §9.1: ID, address and question must match, or the datagram is ignored."""
    sent: list[bytes] = []

    class Spoofer(FakeServer):
        def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
            query = dns.message.from_wire(data)
            assert self.transport is not None
            for junk in _spoofed(query):
                self.transport.sendto(junk, addr)
            sent.append(data)
            loop = asyncio.get_running_loop()
            good = reply(query, "example.com. 60 A 192.0.2.1").to_wire()
            loop.call_later(0.05, self.transport.sendto, good, addr)

    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Spoofer(lambda q: None, 0), local_addr=("127.0.0.1", 0)
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        answer = await StubResolver([f"127.0.0.1:{port}"], timeout=1.0).query("example.com", "A")
    finally:
        transport.close()
    assert [r.to_text() for r in answer.records] == ["192.0.2.1"]
    assert len(sent) == 1


async def test_only_junk_is_a_timeout_never_an_answer(serve: Serve) -> None:
    _, address = await serve(lambda query: _spoofed(query)[1])
    with pytest.raises(TempError, match=r"timeout from .* \(1 try\)"):
        await StubResolver([address], timeout=0.3, retries=0).query("example.com", "A")


@pytest.mark.parametrize("rcode", [dns.rcode.SERVFAIL, dns.rcode.REFUSED, dns.rcode.NOTIMP])
async def test_error_rcodes_are_temperrors_not_retried(
    serve: Serve, rcode: dns.rcode.Rcode
) -> None:
    server, address = await serve(lambda query: reply(query, rcode=rcode))
    with pytest.raises(TempError) as caught:
        await StubResolver([address], retries=2).query("example.com", "A")
    assert caught.value.detail == f"{dns.rcode.to_text(rcode)} from {address}"
    assert len(server.queries) == 1


async def test_the_next_nameserver_is_asked(serve: Serve) -> None:
    failing, bad = await serve(lambda query: reply(query, rcode=dns.rcode.SERVFAIL))
    silent, quiet = await serve(lambda query: None)
    working, good = await serve(lambda query: reply(query, "example.com. 60 A 192.0.2.1"))
    resolver = StubResolver([bad, quiet, good], timeout=0.2, retries=0)
    answer = await resolver.query("example.com", "A")
    assert [r.to_text() for r in answer.records] == ["192.0.2.1"]
    assert (len(failing.queries), len(silent.queries), len(working.queries)) == (1, 1, 1)


async def test_every_failure_is_named(serve: Serve) -> None:
    _, bad = await serve(lambda query: reply(query, rcode=dns.rcode.REFUSED))
    _, quiet = await serve(lambda query: None)
    resolver = StubResolver([bad, quiet], timeout=0.1, retries=1)
    with pytest.raises(TempError) as caught:
        await resolver.query("example.com", "A")
    assert caught.value.detail == f"REFUSED from {bad}; timeout from {quiet} (2 tries)"


async def test_a_referral_is_not_an_answer(serve: Serve) -> None:
    _, address = await serve(
        lambda query: reply(query, authority=("example.com. 60 NS ns.example.com.",), flags=0)
    )
    with pytest.raises(TempError, match=r"referral to example\.com\.: .* does not recurse"):
        await StubResolver([address]).query("www.example.com", "A")


async def test_a_cname_loop_is_a_temperror(serve: Serve) -> None:
    _, address = await serve(
        lambda query: reply(
            query, "a.example. 60 CNAME b.example.", "b.example. 60 CNAME a.example."
        )
    )
    with pytest.raises(TempError, match="CNAME loop"):
        await StubResolver([address]).query("a.example", "A")


# -- what goes out ----------------------------------------------------------------------------


async def test_edns_payload_and_do_bit(serve: Serve) -> None:
    server, address = await serve(lambda query: reply(query, "example.com. 60 A 192.0.2.1"))
    resolver = StubResolver([address], cache=False)
    await resolver.query("example.com", "A")
    await resolver.query("example.com", "A", dnssec=True)
    plain, dnssec = server.queries
    assert (plain.edns, plain.payload, dnssec.edns, dnssec.payload) == (0, EDNS_PAYLOAD) * 2
    assert not plain.ednsflags & dns.flags.DO and dnssec.ednsflags & dns.flags.DO
    assert plain.flags & dns.flags.RD


async def test_an_old_server_gets_a_question_without_edns(serve: Serve) -> None:
    def old(query: dns.message.Message) -> dns.message.Message:
        if query.edns >= 0:
            return reply(query, rcode=dns.rcode.FORMERR)
        return reply(query, "example.com. 60 A 192.0.2.1")

    server, address = await serve(old)
    answer = await StubResolver([address]).query("example.com", "A")
    assert len(answer.records) == 1 and [q.edns for q in server.queries] == [0, -1]


# -- answers ----------------------------------------------------------------------------------

SIG = "A 13 2 60 20300101000000 20200101000000 1 example.com. dGVzdA=="
CSIG = "CNAME 13 3 60 20300101000000 20200101000000 1 example.com. dGVzdA=="


async def test_cname_chain_rrsigs_and_ad_bit(serve: Serve) -> None:
    def recursive(query: dns.message.Message) -> dns.message.Message:
        records = [
            "Alias.example.com. 300 CNAME www.example.com.",
            "www.example.com. 30 A 192.0.2.1",
            "www.example.com. 30 A 192.0.2.2",
        ]
        if query.ednsflags & dns.flags.DO:
            records += [f"alias.example.com. 300 RRSIG {CSIG}", f"www.example.com. 30 RRSIG {SIG}"]
        return reply(query, *records, flags=dns.flags.AD | dns.flags.RA)

    _, address = await serve(recursive)
    resolver: Resolver = StubResolver([address])
    answer = await resolver.query("ALIAS.example.com", "A", dnssec=True)
    assert (answer.qname, answer.name, answer.ttl) == ("alias.example.com.", "www.example.com.", 30)
    assert sorted(r.to_text() for r in answer.records) == ["192.0.2.1", "192.0.2.2"]
    assert [c.name.to_text().lower() for c in answer.cnames] == ["alias.example.com."]
    assert [(s.name.to_text().lower(), s.covers) for s in answer.rrsigs] == [
        ("alias.example.com.", 5),
        ("www.example.com.", 1),
    ]
    assert answer.authenticated
    plain = await resolver.query("alias.example.com", "A")
    assert plain.rrsigs == () and plain.authenticated


async def test_a_chain_the_server_does_not_finish_is_asked_on(serve: Serve) -> None:
    def authoritative(query: dns.message.Message) -> dns.message.Message:
        if qname(query) == "www.example.com.":
            return reply(query, "www.example.com. 60 CNAME cdn.example.net.")
        return reply(query, "cdn.example.net. 20 A 198.51.100.1")

    server, address = await serve(authoritative)
    answer = await StubResolver([address]).query("www.example.com", "A")
    assert answer.name == "cdn.example.net." and answer.ttl == 20
    assert [qname(q) for q in server.queries] == ["www.example.com.", "cdn.example.net."]


async def test_negative_answers(serve: Serve) -> None:
    def negative(query: dns.message.Message) -> dns.message.Message:
        name = qname(query)
        if name == "gone.example.com.":
            return reply(
                query, rcode=dns.rcode.NXDOMAIN, authority=(f"example.com. 300 SOA {SOA}",)
            )
        if name == "dangling.example.com.":  # RFC 6604: the rcode is about the chain's end
            return reply(
                query,
                "dangling.example.com. 60 CNAME nowhere.example.com.",
                rcode=dns.rcode.NXDOMAIN,
                authority=(f"example.com. 300 SOA {SOA}",),
            )
        return reply(query, authority=(f"example.com. 300 SOA {SOA}",))

    _, address = await serve(negative)
    resolver = StubResolver([address])
    with pytest.raises(NXDomain) as nx:
        await resolver.query("gone.example.com", "A")
    assert nx.value.detail == "no such name" and nx.value.qname == "gone.example.com"
    with pytest.raises(NXDomain, match=r"CNAME chain ends at nowhere\.example\.com\.: no such"):
        await resolver.query("dangling.example.com", "A")
    with pytest.raises(NoAnswer, match="no such record"):
        await resolver.query("example.com", "MX")


async def test_impossible_names_and_types_never_reach_the_wire(serve: Serve) -> None:
    server, address = await serve(lambda query: reply(query))
    resolver = StubResolver([address])
    with pytest.raises(NXDomain, match="not a valid domain name"):
        await resolver.query("x" * 64 + ".example.com", "A")
    with pytest.raises(UsageError):
        await resolver.query("example.com", "BOGUS")
    assert server.queries == []


# -- cache and sharing ------------------------------------------------------------------------


async def test_answers_are_cached_for_their_ttl(serve: Serve) -> None:
    server, address = await serve(lambda query: reply(query, "example.com. 30 A 192.0.2.1"))
    clock = Clock()
    resolver = StubResolver([address], clock=clock)
    first = await resolver.query("example.com", "A")
    clock.now += 29.5
    second = await resolver.query("EXAMPLE.com.", "A")
    assert (first.ttl, second.ttl, len(server.queries)) == (30, 1, 1)
    assert second.records == first.records
    await resolver.query("example.com", "A", dnssec=True)  # another key
    clock.now += 1
    await resolver.query("example.com", "A")
    assert len(server.queries) == 3


async def test_negative_answers_are_cached_for_the_soa_minimum(serve: Serve) -> None:
    """RFC 2308 §5: min(SOA TTL, SOA MINIMUM); here MINIMUM 60 under a TTL of 300."""
    server, address = await serve(
        lambda query: reply(
            query, rcode=dns.rcode.NXDOMAIN, authority=(f"example.com. 300 SOA {SOA}",)
        )
    )
    clock = Clock()
    resolver = StubResolver([address], clock=clock)
    for _ in range(2):
        with pytest.raises(NXDomain):
            await resolver.query("gone.example.com", "A")
    assert len(server.queries) == 1
    clock.now += 61
    with pytest.raises(NXDomain):
        await resolver.query("gone.example.com", "A")
    assert len(server.queries) == 2


@pytest.mark.parametrize(
    "handler",
    [
        lambda query: reply(query),  # NODATA without SOA (RFC 2308 §2.2 type 3)
        lambda query: reply(query, rcode=dns.rcode.SERVFAIL),
        lambda query: reply(query, "example.com. 0 A 192.0.2.1"),
    ],
    ids=["nodata-without-soa", "servfail", "ttl-0"],
)
async def test_what_is_never_cached(serve: Serve, handler: Handler) -> None:
    server, address = await serve(handler)
    resolver = StubResolver([address])
    for _ in range(2):
        with contextlib.suppress(NoAnswer, TempError):
            await resolver.query("example.com", "A")
    assert len(server.queries) == 2


async def test_without_cache_every_question_goes_out(serve: Serve) -> None:
    server, address = await serve(lambda query: reply(query, "example.com. 300 A 192.0.2.1"))
    resolver = StubResolver([address], cache=False)
    await resolver.query("example.com", "A")
    await resolver.query("example.com", "A")
    assert len(server.queries) == 2


async def test_identical_questions_in_flight_share_one_request(serve: Serve) -> None:
    server, address = await serve(lambda query: reply(query, "example.com. 0 A 192.0.2.1"), 0.2)
    resolver = StubResolver([address])
    answers = await asyncio.gather(
        *(resolver.query("example.com", "A") for _ in range(5)),
        resolver.query("example.com", "A", dnssec=True),
    )
    assert len(server.queries) == 2  # one per (name, type, dnssec)
    assert len({answer.records for answer in answers}) == 1


async def test_failures_in_flight_are_shared_too(serve: Serve) -> None:
    server, address = await serve(lambda query: reply(query, rcode=dns.rcode.SERVFAIL), 0.1)
    resolver = StubResolver([address])
    outcomes = await asyncio.gather(
        *(resolver.query("example.com", "A") for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(outcome, TempError) for outcome in outcomes)
    assert len(server.queries) == 1


async def test_a_cancelled_asker_does_not_cancel_those_waiting(serve: Serve) -> None:
    server, address = await serve(lambda query: reply(query, "example.com. 60 A 192.0.2.1"), 0.2)
    resolver = StubResolver([address])
    first = asyncio.ensure_future(resolver.query("example.com", "A"))
    await asyncio.sleep(0.05)  # the first question is on the wire
    second = asyncio.ensure_future(resolver.query("example.com", "A"))
    third = asyncio.ensure_future(resolver.query("example.com", "A"))
    await asyncio.sleep(0.05)
    first.cancel()
    third.cancel()  # a waiter's own cancellation stays its own
    answer = await second
    assert [r.to_text() for r in answer.records] == ["192.0.2.1"]
    assert first.cancelled() and third.cancelled()
    assert len(server.queries) == 2  # the second asked again when the first gave up
    assert (await resolver.query("example.com", "A")).records == answer.records  # cached


# -- configuration ----------------------------------------------------------------------------


def test_system_nameservers(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("search example.com\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n")
    assert system_nameservers(str(conf)) == [("192.0.2.53", 53), ("2001:db8::53", 53)]
    conf.write_text("search example.com\n")
    with pytest.raises(UsageError, match="nameserver"):
        system_nameservers(str(conf))


@pytest.mark.parametrize(
    ("args", "kwargs", "says"),
    [
        ([[]], {}, "no nameserver"),
        ([["ns.example.com"]], {}, "not an IP address"),
        ([["127.0.0.1"]], {"timeout": 0}, "timeout"),
        ([["127.0.0.1"]], {"retries": -1}, "retries"),
    ],
)
def test_bad_options(args: list[list[str]], kwargs: dict[str, float], says: str) -> None:
    with pytest.raises(UsageError, match=says):
        StubResolver(*args, **kwargs)  # type: ignore[arg-type]
