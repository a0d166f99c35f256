"""The stub's wire format: queries dnspython reads as meant, replies read as dnspython reads
them (differential, over generated messages), and hostile bytes refused with a located reason."""

from __future__ import annotations

import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailward.dns._wire import MalformedReply, Reply, encode_query, key_of

# -- queries ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("edns", "dnssec"), [(True, False), (True, True), (False, False)])
def test_dnspython_reads_the_query(edns: bool, dnssec: bool) -> None:
    query = encode_query(dns.name.from_text("Mail.Example.COM."), 16, edns=edns, dnssec=dnssec)
    message = dns.message.from_wire(query.with_id(0xBEEF))
    assert message.id == 0xBEEF
    assert message.flags == dns.flags.RD
    assert message.question[0].name == dns.name.from_text("mail.example.com.")
    assert message.question[0].rdtype == dns.rdatatype.TXT
    assert message.edns == (0 if edns else -1)
    if edns:
        assert message.payload == 1232
        assert bool(message.ednsflags & dns.flags.DO) is dnssec


def _response(name: str = "www.example.com.", rdtype: str = "A") -> dns.message.Message:
    return dns.message.make_response(dns.message.make_query(name, rdtype))


def test_a_reply_must_echo_the_question() -> None:
    query = encode_query(dns.name.from_text("www.example.com."), 1, edns=True, dnssec=False)
    echo = _response("WWW.Example.Com.").to_wire()
    assert query.answered_by(echo)  # names compare without case (RFC 4343)
    assert not query.answered_by(_response("www.example.org.").to_wire())
    assert not query.answered_by(_response("www.example.com.", "AAAA").to_wire())
    not_a_response = bytearray(echo)
    not_a_response[2] &= 0x7F
    assert not query.answered_by(bytes(not_a_response))
    no_question = echo[:4] + b"\x00\x00" + echo[6:]
    assert not query.answered_by(no_question)
    assert not query.answered_by(echo[:20])


# -- replies: the same reading as dnspython --------------------------------------------------------

OWNERS = ["example.com.", "WWW.example.com.", "www.Example.com.", "a.b.example.com.", "other.test."]
RECORDS = {
    "A": st.sampled_from(["192.0.2.1", "192.0.2.2", "198.51.100.7"]),
    "AAAA": st.sampled_from(["2001:db8::1", "2001:db8::2"]),
    "TXT": st.sampled_from(['"v=spf1 -all"', '"a" "b"', '""', '"x"']),
    "MX": st.sampled_from(["10 mail.example.com.", "0 .", "20 MAIL.example.com."]),
    "CNAME": st.sampled_from(["www.example.com.", "other.test."]),
    "NS": st.sampled_from(["ns1.example.com.", "ns2.other.test."]),
    "SOA": st.sampled_from(["ns.example.com. h.example.com. 1 2 3 4 300", "a. b. 9 9 9 9 9"]),
    "NSEC": st.sampled_from(["z.example.com. A MX RRSIG NSEC", "example.com. TXT"]),
    "RRSIG": st.sampled_from(
        [
            f"{covered} 13 2 300 20270101000000 20260101000000 1234 example.com. AAAA"
            for covered in ("A", "TXT", "NSEC", "SOA")
        ]
    ),
}
RECORD = st.sampled_from(sorted(RECORDS)).flatmap(
    lambda kind: st.tuples(
        st.sampled_from(OWNERS), st.just(kind), RECORDS[kind], st.integers(0, 2**31 - 1)
    )
)


def _message(
    answer: list[tuple[str, str, str, int]], authority: list[tuple[str, str, str, int]], rcode: int
) -> bytes:
    response = _response()
    response.set_rcode(dns.rcode.Rcode(rcode))
    for section, records in ((response.answer, answer), (response.authority, authority)):
        for owner, kind, rdata, ttl in records:
            section.append(dns.rrset.from_text(owner, ttl, "IN", kind, rdata))
    return response.to_wire()  # compressed, records of a set possibly apart: as servers send


@settings(max_examples=300, deadline=None)
@given(
    answer=st.lists(RECORD, max_size=8),
    authority=st.lists(RECORD, max_size=6),
    rcode=st.sampled_from([0, 2, 3, 5]),
)
def test_replies_read_as_dnspython_reads_them(
    answer: list[tuple[str, str, str, int]], authority: list[tuple[str, str, str, int]], rcode: int
) -> None:
    wire = _message(answer, authority, rcode)
    theirs = dns.message.from_wire(wire)
    ours = Reply(wire)
    assert ours.rcode == theirs.rcode()
    assert ours.flags == theirs.flags
    for section, records in ((theirs.answer, ours.answer), (theirs.authority, ours.authority)):
        assert sorted(map(str, ours.rrsets(records))) == sorted(map(str, section))
        for rrset in section:
            owner = key_of(rrset.name)
            mine = ours.rrset(records, owner, rrset.rdtype, rrset.covers)
            assert mine == rrset and mine is not None and mine.ttl == rrset.ttl
            if rrset.rdtype != dns.rdatatype.RRSIG:
                data, ttl = ours.records(records, owner, rrset.rdtype)
                assert sorted(map(str, data)) == sorted(map(str, rrset)) and ttl == rrset.ttl
    for name in OWNERS:
        expected = next(
            (
                (soa.ttl, soa[0].minimum)
                for soa in theirs.authority
                if soa.rdtype == dns.rdatatype.SOA
                and dns.name.from_text(name).is_subdomain(soa.name)
            ),
            None,
        )
        assert ours.soa_ttls(key_of(dns.name.from_text(name))) == expected


def test_the_extended_rcode_comes_from_the_opt_record() -> None:
    response = _response()
    response.use_edns(0)
    response.set_rcode(dns.rcode.BADVERS)
    assert Reply(response.to_wire()).rcode == dns.rcode.BADVERS == 16


def test_a_ttl_with_the_top_bit_set_is_zero() -> None:
    wire = bytearray(_message([("www.example.com.", "A", "192.0.2.1", 60)], [], 0))
    ttl_at = len(wire) - 4 - 2 - 4  # the record is last: TTL, RDLENGTH, 4 octets of address
    wire[ttl_at : ttl_at + 4] = struct.pack("!I", 0x80000000)
    data, ttl = Reply(bytes(wire)).records(
        Reply(bytes(wire)).answer, key_of(dns.name.from_text("www.example.com.")), 1
    )
    assert ttl == 0 and [str(d) for d in data] == ["192.0.2.1"]  # RFC 2181 §8


# -- hostile bytes ---------------------------------------------------------------------------------

HEADER = struct.pack("!HHHHHH", 1, 0x8180, 1, 1, 0, 0)
QUESTION = b"\x03www\x07example\x03com\x00\x00\x01\x00\x01"
A_DATA = b"\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01"


@pytest.mark.parametrize(
    ("wire", "says"),
    [
        (b"\x00\x01\x81\x80", "shorter than a DNS header"),
        (HEADER + QUESTION, "name at octet 33 runs past the end"),  # counts promise a record
        (HEADER + QUESTION + b"\xc0\x30" + A_DATA, "points forward"),
        (HEADER + QUESTION + b"\xc0\x21" + A_DATA, "points forward"),  # a pointer to itself
        (HEADER + QUESTION + b"\x41abc\x00" + A_DATA, "label type 0x1"),
        (HEADER + QUESTION + b"\x3f" + b"a" * 10, "runs past the end"),
        (HEADER + QUESTION + (b"\x3f" + b"a" * 63) * 4 + b"\x00" + A_DATA, "longer than 255"),
        (HEADER + QUESTION + b"\xc0\x0c" + A_DATA[:-1], "record data at octet 45 runs past"),
        (HEADER + QUESTION + b"\xc0\x0c" + A_DATA + b"junk", "4 octets after the last record"),
    ],
)
def test_malformed_replies_say_where(wire: bytes, says: str) -> None:
    with pytest.raises(MalformedReply, match=says):
        Reply(wire)


def test_a_pointer_chain_is_read() -> None:
    wire = HEADER + QUESTION + b"\xc0\x0c" + A_DATA
    reply = Reply(wire)
    assert reply.answer[0].owner == (b"www", b"example", b"com", b"")


def test_bad_rdata_is_malformed_not_a_dnspython_error() -> None:
    wire = HEADER + QUESTION + b"\xc0\x0c" + A_DATA[:8] + b"\x00\x03\xc0\x00\x02"  # A of 3 octets
    reply = Reply(wire)
    with pytest.raises(MalformedReply, match="A record at octet 45"):
        reply.records(reply.answer, (b"www", b"example", b"com", b""), 1)
