"""Hostile input never gets a dnspython exception past dns/: names from records, bytes from the
network. Everything raised is a mailward error."""

from __future__ import annotations

import asyncio
import socket

import dns.message
import dns.rcode
import dns.rrset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailward.dns._wire import Reply
from mailward.dns.resolver import Answer
from mailward.dns.stub import StubResolver
from mailward.dns.zonefiles import ZoneResolver
from mailward.errors import DNSError, MailwardError

ZONE = """$ORIGIN example.com.
@     300 SOA ns hostmaster 1 3600 900 604800 60
*     300 TXT "wild"
www   300 A 192.0.2.1
"""
ZONES = ZoneResolver.from_text(ZONE)
TYPES = st.sampled_from(["A", "TXT", "MX", "CNAME", "DS", "txt", "NOPE", "", "TYPE65534"])
NAMES = st.one_of(
    st.text(max_size=300),
    st.lists(st.text(min_size=0, max_size=70), max_size=6).map(".".join),
    st.lists(st.sampled_from(["www", "*", "a" * 63, "a" * 64, "", "é", "\\", "xn--"]), max_size=6)
    .map(".".join)
    .map(lambda name: name + ".example.com"),
)


@settings(max_examples=400, deadline=None)
@given(name=NAMES, rdtype=TYPES)
def test_any_question_to_the_zone_resolver(name: str, rdtype: str) -> None:
    async def ask() -> Answer | MailwardError:
        try:
            return await ZONES.query(name, rdtype)
        except MailwardError as exc:
            return exc

    outcome = asyncio.run(ask())
    assert isinstance(outcome, Answer | MailwardError)


def _valid_reply() -> bytes:
    query = dns.message.make_query("www.example.com", "A", id=4660)
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("www.example.com.", 60, "IN", "CNAME", "x.test."))
    response.answer.append(dns.rrset.from_text("x.test.", 60, "IN", "A", "192.0.2.1"))
    response.authority.append(
        dns.rrset.from_text("test.", 60, "IN", "SOA", "ns.test. h.test. 1 2 3 4 5")
    )
    return response.to_wire()


VALID = _valid_reply()


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    wire = bytearray(VALID)
    for _ in range(draw(st.integers(1, 8))):
        wire[draw(st.integers(2, len(wire) - 1))] = draw(st.integers(0, 255))
    return bytes(wire[: draw(st.integers(2, len(wire)))])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wire=mangled())
def test_any_reply_bytes(wire: bytes) -> None:
    """A server replying with damaged bytes (the right ID, so they are read): only DNSError."""

    async def ask() -> Answer | DNSError:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
            server.bind(("127.0.0.1", 0))
            server.setblocking(False)
            port = server.getsockname()[1]
            resolver = StubResolver([f"127.0.0.1:{port}"], timeout=0.5, retries=0)
            task = asyncio.ensure_future(resolver.query("www.example.com", "A"))
            data, client = await loop.sock_recvfrom(server, 512)
            await loop.sock_sendto(server, data[:2] + wire[2:], client)  # keep the query's ID
            try:
                return await task
            except DNSError as exc:
                return exc

    assert isinstance(asyncio.run(ask()), Answer | DNSError)


POOL = ["a.example.", "b.example.", "c.example.", "example.", "other.test."]
RECORD = st.one_of(
    st.tuples(st.sampled_from(POOL), st.just("CNAME"), st.sampled_from(POOL)),
    st.tuples(st.sampled_from(POOL), st.just("A"), st.just("192.0.2.1")),
    st.tuples(st.sampled_from(POOL), st.just("TXT"), st.just('"x"')),
    st.tuples(st.sampled_from(POOL), st.just("NS"), st.sampled_from(POOL)),
    st.tuples(st.sampled_from(POOL), st.just("SOA"), st.just("ns.x. h.x. 1 2 3 4 5")),
)
Records = list[tuple[str, str, str]]
Turn = tuple[int, int, list[str], bool, Records, Records]
TURN = st.tuples(
    st.sampled_from([0, 0, 0, 2, 3, 5]),  # NOERROR mostly, SERVFAIL, NXDOMAIN, REFUSED
    st.sampled_from([0, 0x400, 0x20, 0x420]),  # AA, AD
    st.lists(st.sampled_from(POOL), max_size=4),  # a CNAME chain from the asked name
    st.booleans(),  # whether the chain's end has data of the asked type
    st.lists(RECORD, max_size=4),  # noise in the answer section
    st.lists(RECORD, max_size=3),  # the authority section
)


@settings(max_examples=400, deadline=None)
@given(script=st.lists(TURN, min_size=1, max_size=20), rdtype=st.sampled_from(["A", "TXT", "NS"]))
def test_any_reply_content(script: list[Turn], rdtype: str) -> None:
    """Replies with any records in any order: an Answer whose records are of the asked type and
    owned by the end of the CNAME chain, or a DNSError; never a crash or an endless chase."""
    resolver = StubResolver(["127.0.0.1:9"], cache=False)
    turns = iter(script)
    data = {"A": "192.0.2.7", "TXT": '"data"', "NS": "ns.example."}[rdtype]

    async def exchange(qname: object, *_: object) -> Reply:
        rcode, flags, chain, has_data, noise, authority = next(turns, (2, 0, [], False, [], []))
        owner = str(qname)
        answer: Records = []
        for target in chain:
            answer.append((owner, "CNAME", target))
            owner = target
        if has_data:
            answer.append((owner, rdtype, data))
        response = dns.message.make_response(dns.message.make_query(str(qname), rdtype))
        response.set_rcode(dns.rcode.Rcode(rcode))
        response.flags |= flags
        for section, records in (
            (response.answer, answer + noise),
            (response.authority, authority),
        ):
            for name, kind, rdata in records:
                rrset = dns.rrset.from_text(name, 60, "IN", kind, rdata)
                if not any(r.match(rrset.name, 1, rrset.rdtype, 0) for r in section):
                    section.append(rrset)
        return Reply(response.to_wire())  # as a reply arrives

    resolver._exchange = exchange  # type: ignore[method-assign,assignment]

    async def ask() -> Answer | DNSError:
        try:
            return await resolver.query("a.example", rdtype)
        except DNSError as exc:
            return exc

    outcome = asyncio.run(ask())
    assert isinstance(outcome, Answer | DNSError)
    if isinstance(outcome, Answer):
        assert all(record.rdtype.name == rdtype for record in outcome.records)
        owners = ["a.example.", *(str(c[0].target) for c in outcome.cnames)]
        assert [str(c.name) for c in outcome.cnames] == owners[:-1]
        assert outcome.name == owners[-1]
        assert len(set(owners)) == len(owners)  # no loop
