"""DNS messages on the wire for the stub resolver: one question out, one reply indexed.

A query is written directly (RFC 1035 §4.1; EDNS0 OPT record, RFC 6891 §6.1.2). A reply is
indexed once (each record's owner, type, class, TTL and where its data lies, RFC 1035
§4.1.3) and only the records a caller asks for become dnspython rdata, through
:func:`dns.rdata.from_wire` (the same classes the rest of mailward uses). dnspython's
``Message.from_wire`` builds a name, an rdata and a hashed RRset for every record of every
section, which was most of an audit's time on a nearby server; the resolver needs one RRset
of the answer section and, for a negative answer, the SOA's two TTLs.

Names are compared as keys: the tuple of their lower-cased labels, root label included
(DNS names compare case-insensitively, RFC 4343 §3). ASCII letters are the only bytes folded.

SECURITY
    Replies are hostile. Every read is bounds-checked; a compression pointer must point
    before the name it is in (RFC 1035 §4.1.4), so pointer chains end; labels are at most 63
    octets and names 255 (RFC 1035 §2.3.4); the extended label types are refused (RFC 6891
    §5); section counts are believed only as far as the bytes go, and bytes after the last
    record are refused. Any violation is :class:`MalformedReply` saying where.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import cast

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.wire

__all__ = [
    "AA",
    "AD",
    "TC",
    "MalformedReply",
    "Name",
    "Query",
    "Reply",
    "WireRecord",
    "encode_query",
    "key_of",
]

Name = tuple[bytes, ...]
"""A name as a key: its lower-cased labels, ending with the root label ``b""``."""

QR, AA, TC, RD, AD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0020
_IN = dns.rdataclass.IN
_OPT = dns.rdatatype.OPT
_RRSIG = dns.rdatatype.RRSIG
_SOA = dns.rdatatype.SOA
_HEADER = struct.Struct("!HHHHHH")
_FIXED = struct.Struct("!HHIH")  # type, class, TTL, data length
_DO = 0x8000  # in the OPT record's TTL field (RFC 3225 §3)
_MAX_TTL = 0x7FFFFFFF
# Types whose data holds no name, so no compression pointer: two records hold the same data
# exactly when they hold the same bytes.
_NAME_FREE = frozenset(
    dns.rdatatype.from_text(t) for t in ("A", "AAAA", "TXT", "SPF", "DS", "DNSKEY", "TLSA", "CAA")
)  # RFC 2181 §8: a TTL with the top bit set means zero


def _rdtype(value: int) -> dns.rdatatype.RdataType:
    # dnspython takes any 16-bit type number where it expects an RdataType; making the enum
    # member first would cost more than the rest of reading a record.
    return cast(dns.rdatatype.RdataType, value)


_SINGLETONS = frozenset(t for t in dns.rdatatype.RdataType if dns.rdatatype.is_singleton(t))
_RDATA_CLASSES: dict[int, tuple[dns.rdatatype.RdataType, type[dns.rdata.Rdata]]] = {}


def _rdata_class(value: int) -> tuple[dns.rdatatype.RdataType, type[dns.rdata.Rdata]]:
    """The type and dnspython's class-IN rdata class for it (what ``dns.rdata.from_wire``
    looks up for every record, kept)."""
    found = _RDATA_CLASSES.get(value)
    if found is None:
        rdtype = dns.rdatatype.RdataType.make(value)
        found = _RDATA_CLASSES[value] = (rdtype, dns.rdata.get_rdata_class(_IN, rdtype))  # type: ignore[no-untyped-call]
    return found


class MalformedReply(ValueError):
    """A reply that is not a well-formed DNS message."""


@dataclass(frozen=True, slots=True)
class Query:
    """A question on the wire, its ID left zero for the transport to choose."""

    wire: bytes
    question: bytes  # the question section as sent, its name lower-cased: replies must echo it

    def with_id(self, qid: int) -> bytes:
        return qid.to_bytes(2, "big") + self.wire[2:]

    def answered_by(self, reply: bytes) -> bool:
        """Whether ``reply`` is a response that echoes this question (RFC 5452 §9.1)."""
        end = 12 + len(self.question)
        if len(reply) < end or not reply[2] & 0x80 or reply[4:6] != b"\x00\x01":
            return False
        name_end = end - 4
        return (
            reply[12:name_end].lower() == self.question[:-4]
            and reply[name_end:end] == self.question[-4:]
        )


def encode_query(name: dns.name.Name, rdtype: int, *, edns: bool, dnssec: bool) -> Query:
    """A recursive query (RD set) for ``name``/``rdtype`` in class IN, with EDNS0 if ``edns``
    (payload 1232 octets; the DO bit if ``dnssec``)."""
    qname = name.to_wire()
    assert qname is not None  # to_wire() without a file returns the bytes
    question = qname.lower() + struct.pack("!HH", rdtype, _IN)
    header = _HEADER.pack(0, RD, 1, 0, 0, 1 if edns else 0)
    opt = b""
    if edns:
        opt = b"\x00" + _FIXED.pack(_OPT, 1232, _DO if dnssec else 0, 0)
    return Query(header + question + opt, question)


def key_of(name: dns.name.Name) -> Name:
    return tuple(label.lower() for label in name.labels)


def _read_name(wire: bytes, offset: int) -> tuple[Name, int]:
    """The name at ``offset`` and the offset after it (after the first pointer, if any)."""
    labels: list[bytes] = []
    size = 0
    end = -1
    position = offset
    while True:
        if position >= len(wire):
            raise MalformedReply(f"name at octet {offset} runs past the end")
        length = wire[position]
        if length >= 0xC0:
            if position + 1 >= len(wire):
                raise MalformedReply(f"name at octet {offset} runs past the end")
            target = (length & 0x3F) << 8 | wire[position + 1]
            if end < 0:
                end = position + 2
            if target >= position:
                raise MalformedReply(f"compression pointer at octet {position} points forward")
            position = target
            continue
        if length > 63:
            raise MalformedReply(f"label type {length >> 6:#x} at octet {position} is unknown")
        label = wire[position + 1 : position + 1 + length]
        if len(label) < length:
            raise MalformedReply(f"name at octet {offset} runs past the end")
        size += length + 1
        if size > 255:
            raise MalformedReply(f"name at octet {offset} is longer than 255 octets")
        labels.append(label.lower())
        position += length + 1
        if length == 0:
            return tuple(labels), position if end < 0 else end


@dataclass(frozen=True, slots=True)
class WireRecord:
    owner: Name
    rdtype: int
    rdclass: int
    ttl: int
    start: int  # where its data begins in the message
    length: int


class Reply:
    """An indexed reply: header fields and the records of each section, data left on the wire.

    ``Reply(wire)`` raises :class:`MalformedReply` if ``wire`` is not a well-formed message.
    """

    __slots__ = ("answer", "authority", "flags", "rcode", "wire")

    def __init__(self, wire: bytes) -> None:
        if len(wire) < 12:
            raise MalformedReply("shorter than a DNS header")
        _qid, flags, questions, *counts = _HEADER.unpack_from(wire)
        offset = 12
        for _ in range(questions):
            _name, offset = _read_name(wire, offset)
            offset += 4
        sections: list[list[WireRecord]] = []
        extended = 0
        for count in counts:
            records = []
            for _ in range(count):
                owner, offset = _read_name(wire, offset)
                if offset + 10 > len(wire):
                    raise MalformedReply(f"record at octet {offset} runs past the end")
                rdtype, rdclass, ttl, length = _FIXED.unpack_from(wire, offset)
                offset += 10
                if rdtype == _OPT:  # the extended RCODE's upper 8 bits (RFC 6891 §6.1.3)
                    extended = ttl >> 24
                if offset + length > len(wire):
                    raise MalformedReply(f"record data at octet {offset} runs past the end")
                ttl = 0 if ttl > _MAX_TTL else ttl
                records.append(WireRecord(owner, rdtype, rdclass, ttl, offset, length))
                offset += length
            sections.append(records)
        if offset != len(wire):
            raise MalformedReply(f"{len(wire) - offset} octets after the last record")
        self.wire = wire
        self.flags = flags
        self.answer, self.authority, _additional = sections
        self.rcode = extended << 4 | flags & 0xF

    def covers(self, record: WireRecord) -> int:
        """The type an RRSIG covers (its first two octets, RFC 4034 §3.1); 0 for others."""
        if record.rdtype != _RRSIG or record.length < 2:
            return 0
        return int.from_bytes(self.wire[record.start : record.start + 2], "big")

    def rdata(self, record: WireRecord) -> dns.rdata.Rdata:
        """The data of a class-IN record, as dnspython's rdata class for its type."""
        rdtype, rdata_class = _rdata_class(record.rdtype)
        parser = dns.wire.Parser(self.wire, record.start)
        try:
            with parser.restrict_to(record.length):  # and all of it read, or FormError
                return rdata_class.from_wire_parser(_IN, rdtype, parser, None)
        except (dns.exception.DNSException, ValueError, IndexError, TypeError) as exc:
            what = dns.rdatatype.to_text(_rdtype(record.rdtype))
            raise MalformedReply(f"{what} record at octet {record.start}: {exc}") from None

    def rrset(
        self, records: list[WireRecord], owner: Name, rdtype: int, covers: int = 0
    ) -> dns.rrset.RRset | None:
        """The class-IN RRset ``owner``/``rdtype`` (RRSIGs: those covering ``covers``)."""
        found = self._find(records, owner, rdtype, covers)
        return self._build(found) if found else None

    def records(
        self, records: list[WireRecord], owner: Name, rdtype: int
    ) -> tuple[tuple[dns.rdata.Rdata, ...], int]:
        """The data of the class-IN records ``owner``/``rdtype``, each once, and their
        smallest TTL: :meth:`rrset` without building the set (hashing each rdata costs
        more than reading it)."""
        found = self._find(records, owner, rdtype, 0)
        ttl = min((r.ttl for r in found), default=0)
        if rdtype in _SINGLETONS:
            found = found[-1:]  # as a dnspython RRset keeps one CNAME or SOA: the last
        if len(found) == 1 or rdtype in _NAME_FREE:  # no rdata need be hashed to be compared
            distinct = {self.wire[r.start : r.start + r.length]: r for r in found}
            return tuple(self.rdata(r) for r in distinct.values()), ttl
        return tuple(dict.fromkeys(self.rdata(r) for r in found)), ttl

    def _find(
        self, records: list[WireRecord], owner: Name, rdtype: int, covers: int
    ) -> list[WireRecord]:
        return [
            r
            for r in records
            if r.rdtype == rdtype
            and r.owner == owner
            and r.rdclass == _IN
            and (rdtype != _RRSIG or self.covers(r) == covers)
        ]

    def rrsets(self, records: list[WireRecord]) -> list[dns.rrset.RRset]:
        """All class-IN RRsets of a section, in the order they first appear."""
        groups: dict[tuple[Name, int, int], list[WireRecord]] = {}
        for record in records:
            if record.rdclass == _IN and record.rdtype != _OPT:
                key = (record.owner, record.rdtype, self.covers(record))
                groups.setdefault(key, []).append(record)
        return [self._build(group) for group in groups.values()]

    def _build(self, records: list[WireRecord]) -> dns.rrset.RRset:
        first = records[0]
        owner = dns.name.Name(first.owner)
        rrset = dns.rrset.RRset(owner, _IN, _rdtype(first.rdtype), _rdtype(self.covers(first)))
        for record in records:
            rrset.add(self.rdata(record), record.ttl)
        return rrset

    def soa_ttls(self, name: Name) -> tuple[int, int] | None:
        """The TTL and MINIMUM of the authority section's SOA for the zone holding ``name``
        (what a negative answer may be kept for, RFC 2308 §5), if there is one. Should a
        server send several, they are read as one RRset: the smallest TTL, the last record."""
        soas = [
            r
            for r in self.authority
            if r.rdtype == _SOA
            and r.rdclass == _IN
            and r.length >= 22
            and name[len(name) - len(r.owner) :] == r.owner
        ]
        if not soas:
            return None
        chosen = [r for r in soas if r.owner == soas[0].owner]
        end = chosen[-1].start + chosen[-1].length
        return min(r.ttl for r in chosen), int.from_bytes(self.wire[end - 4 : end], "big")
