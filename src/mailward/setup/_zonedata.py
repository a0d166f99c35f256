"""Zone data for the signer: a zone file read into RRsets, quickly, with dnspython's meaning.

DESCRIPTION
    :func:`read_zone` turns master-file text into :class:`ZoneData`: every RRset keyed by
    (lower-cased) owner and type, and the RRSIGs apart, keyed by owner and covered type, so
    an already signed zone can be re-signed incrementally.

    Reading a 10,000-record zone with :func:`mailward.dns.zonefiles.load_zone` (dnspython's
    reader) takes about 0.9 s here, longer than ``ldns-signzone`` needs to sign it. So the
    common shape — one record per line, or a parenthesised record over several lines — is
    split here, and each piece still goes through dnspython (``dns.name.from_text``,
    ``dns.ttl.from_text``, ``dns.rdatatype.from_text``, ``dns.rdata.from_text``), which keeps
    dnspython's meaning for every field. Anything else (``$INCLUDE``, ``$GENERATE``, a
    backslash before the data, a zone whose origin is not known up front) and *every* error
    is handed to ``load_zone``: its verdict is the one that counts, and its errors name the
    file and line.

SECURITY
    Zone files are the user's own data but may come from anywhere. Reading is linear; no file
    is opened on the fast path (``$INCLUDE`` goes to ``load_zone``, which follows it for zone
    *files* only, as ``ZoneResolver`` does).
"""

from __future__ import annotations

import re
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.RRSIG
import dns.ttl
import dns.zone

from mailward.dns.zonefiles import load_zone
from mailward.errors import ZoneLoadError

IN = dns.rdataclass.IN
RRSIG = dns.rdatatype.RRSIG
CNAME = dns.rdatatype.CNAME
# Types that may share a name with a CNAME (RFC 4035 §2.5, RFC 2181 §10.1).
CNAME_NEIGHBOURS = frozenset({dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.KEY})


class Rdata(Protocol):
    """What the signer needs of one record's data: dnspython's rdata fits, and so does
    :class:`RawRdata` for the records the signer makes itself."""

    def to_digestable(self, origin: dns.name.Name | None = None) -> bytes: ...

    def to_text(self, origin: dns.name.Name | None = None, relativize: bool = True) -> str: ...


@dataclass(frozen=True, slots=True)
class RawRdata:
    """Record data as its canonical wire form (RFC 4034 §6.2) and its text, absolute names."""

    rdtype: int
    wire: bytes
    text: str

    def to_digestable(self, origin: dns.name.Name | None = None) -> bytes:
        return self.wire

    def to_text(self, origin: dns.name.Name | None = None, relativize: bool = True) -> str:
        return self.text


@dataclass(slots=True)
class RRset:
    """One RRset: owner, type, TTL (the smallest written, as dnspython does), data, line."""

    name: dns.name.Name
    rdtype: int
    ttl: int
    rdatas: list[Rdata]
    line: int = 0


Rrsig = dns.rdtypes.ANY.RRSIG.RRSIG
Labels = tuple[bytes, ...]
"""A lower-cased name's labels (``(b"www", b"example", b"")``): the key of every node, since a
tuple of bytes hashes far faster than ``dns.name.Name``, and reversed it is the canonical
order of RFC 4034 §6.1."""


@dataclass
class ZoneData:
    """A zone's RRsets by owner and type, and its RRSIGs by (owner, covered type)."""

    origin: dns.name.Name
    filename: str
    nodes: dict[Labels, dict[int, RRset]] = field(default_factory=dict)
    rrsigs: dict[tuple[Labels, int], list[Rrsig]] = field(default_factory=dict)

    def add(self, name: dns.name.Name, ttl: int, rdata: Any, line: int) -> None:
        """Add one record; ``name`` must be lower case (``canonicalize()``)."""
        rdtype = rdata.rdtype
        labels = name.labels
        if rdtype == RRSIG:
            self.rrsigs.setdefault((labels, rdata.type_covered), []).append(rdata)
            return
        node = self.nodes.get(labels)
        if node is None:
            node = self.nodes[labels] = {}
        rrset = node.get(rdtype)
        if rrset is None:
            node[rdtype] = RRset(name, rdtype, ttl, [rdata], line)
        else:
            rrset.rdatas.append(rdata)
            rrset.ttl = min(rrset.ttl, ttl)

    def soa(self) -> RRset:
        node = self.nodes.get(self.origin.labels, {})
        if dns.rdatatype.SOA not in node:
            raise ZoneLoadError(
                f"{self.filename}: no SOA record at the zone's origin {self.origin}"
            )
        return node[dns.rdatatype.SOA]


class _Unsupported(Exception):
    """The fast path does not handle this; dnspython's reader will."""


def read_zone(text: str, *, filename: str = "<string>", origin: str | None = None) -> ZoneData:
    """Read a zone file's text; raises :class:`ZoneLoadError` with file and line on a fault."""
    try:
        return _FastReader(text, filename, origin).read()
    except Exception:  # any doubt at all: dnspython's reader decides, and reports
        pass
    zone = load_zone(text, filename=filename, origin=origin, includes=True)
    return from_dnspython(zone, filename)


def from_dnspython(zone: dns.zone.Zone, filename: str) -> ZoneData:
    """:class:`ZoneData` from a zone dnspython has read (absolute names)."""
    assert zone.origin is not None
    data = ZoneData(zone.origin.canonicalize(), filename)
    for name, node in zone.nodes.items():
        owner = name.canonicalize()
        for rdataset in node.rdatasets:
            for rdata in rdataset:
                data.add(owner, rdataset.ttl, rdata, 0)
    data.soa()
    return data


_SIMPLE = re.compile(r"[\"();\\]")
_FIELD = re.compile(r"\S+")


def _logical_lines(text: str) -> Iterator[tuple[int, str, bool]]:
    """(first line number, code without comments or parentheses, starts with white space)."""
    pending: list[str] = []
    start = 0
    inherit = False
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending and _SIMPLE.search(line) is None:
            if line.strip():
                yield number, line, line[:1] in " \t"
            continue
        if not pending:
            start, inherit = number, line[:1] in " \t"
        code, depth = _scan(line, depth, number)
        pending.append(code)
        if depth == 0:
            joined = " ".join(pending)
            pending = []
            if joined.strip():
                yield start, joined, inherit
    if pending:
        raise _Unsupported("unbalanced parentheses")


def _scan(line: str, depth: int, number: int) -> tuple[str, int]:
    """One physical line: drop the comment, turn parentheses outside quotes into spaces."""
    out: list[str] = []
    quoted = False
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\":
            out.append(line[index : index + 2])
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted:
            if char == ";":
                break
            if char in "()":
                depth += 1 if char == "(" else -1
                if depth < 0:
                    raise _Unsupported(f"line {number}: unbalanced ')'")
                char = " "
        out.append(char)
        index += 1
    if quoted:
        raise _Unsupported(f"line {number}: unterminated quote")
    return "".join(out), depth


class _FastReader:
    def __init__(self, text: str, filename: str, origin: str | None) -> None:
        self.text = text
        self.filename = filename
        self.origin = dns.name.from_text(origin) if origin else None
        self.current = self.origin
        self.default_ttl: int | None = None
        self.last_ttl: int | None = None
        self.soa_ttl: int | None = None  # the default without $TTL or a TTL written before
        self.last_name: dns.name.Name | None = None
        # per $ORIGIN: owner text -> canonical Name; data name text -> (absolute text, wire)
        self.owners: dict[str, dns.name.Name] = {}
        self.targets: dict[str, tuple[str, bytes]] = {}
        self.data: ZoneData | None = None

    def read(self) -> ZoneData:
        for number, code, inherit in _logical_lines(self.text):
            if code.startswith("$"):
                self._directive(code)
            else:
                self._record(number, code, inherit)
        if self.data is None:
            raise _Unsupported("no records")
        self.data.soa()
        _check_cnames(self.data)
        return self.data

    def _directive(self, code: str) -> None:
        words = code.split()
        keyword = words[0].upper()
        if keyword == "$ORIGIN" and len(words) == 2:
            self.current = dns.name.from_text(words[1], self.current)
            self.owners, self.targets = {}, {}
            if self.origin is None:
                self.origin = self.current
        elif keyword == "$TTL" and len(words) == 2:
            self.default_ttl = dns.ttl.from_text(words[1])
        else:
            raise _Unsupported(keyword)

    def _owner(self, text: str) -> dns.name.Name:
        name = self.owners.get(text)
        if name is None:
            if "\\" in text:
                raise _Unsupported("escapes in a name")
            name = self.owners[text] = dns.name.from_text(text, self.current).canonicalize()
        return name

    def target(self, text: str) -> tuple[str, bytes]:
        """A name in record data: its absolute text and canonical (lower-case) wire form."""
        found = self.targets.get(text)
        if found is None:
            if "\\" in text:
                raise _Unsupported("escapes in a name")
            name = dns.name.from_text(text, self.current)
            found = self.targets[text] = (name.to_text(), name.to_digestable())
        return found

    def _record(self, number: int, code: str, inherit: bool) -> None:
        fields = _FIELD.finditer(code)
        if inherit:
            name = self.last_name
        else:
            owner = next(fields).group()
            if self.current is None:
                if not owner.endswith("."):
                    raise _Unsupported("origin unknown")
                self.current = self.origin = dns.name.from_text(owner)
            name = self.last_name = self._owner(owner)
        if name is None or self.origin is None:
            raise _Unsupported("no owner")
        ttl: int | None = None
        rdtype = None
        for match in fields:
            word = match.group()
            if word[0] in "0123456789":
                if ttl is not None:
                    raise _Unsupported("two TTLs")
                ttl = dns.ttl.from_text(word)
            elif word.upper() == "IN":
                continue
            else:
                rdtype = dns.rdatatype.from_text(word)
                rest = code[match.end() :]
                break
        if rdtype is None:
            raise _Unsupported("no type")
        if self.data is None:
            if rdtype != dns.rdatatype.SOA or name != self.origin.canonicalize():
                raise _Unsupported("the first record is not the SOA")
            self.data = ZoneData(self.origin.canonicalize(), self.filename)
        fast = _FAST.get(rdtype)
        rdata: Any = fast(self, rdtype, rest) if fast is not None else None
        if rdata is None:
            rdata = dns.rdata.from_text(IN, rdtype, rest, origin=self.current, relativize=False)
        if rdtype == dns.rdatatype.SOA and self.soa_ttl is None:
            self.soa_ttl = rdata.minimum
        if ttl is None:  # $TTL, else the last TTL written (RFC 2308 §4), else the SOA minimum
            ttl = self.default_ttl if self.default_ttl is not None else self.last_ttl
            ttl = ttl if ttl is not None else self.soa_ttl
            if ttl is None:
                raise _Unsupported("no TTL")
        else:
            self.last_ttl = ttl
        apex = self.data.origin.labels
        if name.labels[-len(apex) :] == apex:  # dnspython ignores records outside the zone
            self.data.add(name, ttl, rdata, number)


# -- the common types, without dnspython's tokenizer ---------------------------------------
# Each returns None when the data is anything but the plain form: dnspython then reads it (and
# reports it). The text written is what dnspython's to_text() writes for the same data.

_NUMBER = re.compile(r"[0-9]{1,5}")
_STRINGS = re.compile(r'(?:\s*"[ !#-\[\]-~]{0,255}")+\s*')


def _address(reader: _FastReader, rdtype: int, rest: str) -> RawRdata | None:
    family = socket.AF_INET if rdtype == dns.rdatatype.A else socket.AF_INET6
    words = rest.split()
    if len(words) != 1:
        return None
    try:
        wire = socket.inet_pton(family, words[0])
    except OSError:
        return None
    return RawRdata(rdtype, wire, socket.inet_ntop(family, wire))


def _single_name(reader: _FastReader, rdtype: int, rest: str) -> RawRdata | None:
    words = rest.split()
    if len(words) != 1:
        return None
    text, wire = reader.target(words[0])
    return RawRdata(rdtype, wire, text)


def _mx(reader: _FastReader, rdtype: int, rest: str) -> RawRdata | None:
    words = rest.split()
    if len(words) != 2 or not _NUMBER.fullmatch(words[0]) or int(words[0]) > 65535:
        return None
    text, wire = reader.target(words[1])
    preference = int(words[0])
    return RawRdata(rdtype, struct.pack("!H", preference) + wire, f"{preference} {text}")


def _srv(reader: _FastReader, rdtype: int, rest: str) -> RawRdata | None:
    words = rest.split()
    if len(words) != 4 or not all(_NUMBER.fullmatch(w) and int(w) <= 65535 for w in words[:3]):
        return None
    text, wire = reader.target(words[3])
    numbers = [int(w) for w in words[:3]]
    head = struct.pack("!HHH", *numbers)
    return RawRdata(rdtype, head + wire, f"{numbers[0]} {numbers[1]} {numbers[2]} {text}")


def _txt(reader: _FastReader, rdtype: int, rest: str) -> RawRdata | None:
    if not _STRINGS.fullmatch(rest):
        return None
    strings = re.findall(r'"([^"]*)"', rest)
    wire = b"".join(bytes([len(s)]) + s.encode("ascii") for s in strings)
    return RawRdata(rdtype, wire, " ".join(f'"{s}"' for s in strings))


_FAST = {
    dns.rdatatype.A: _address,
    dns.rdatatype.AAAA: _address,
    dns.rdatatype.NS: _single_name,
    dns.rdatatype.CNAME: _single_name,
    dns.rdatatype.PTR: _single_name,
    dns.rdatatype.MX: _mx,
    dns.rdatatype.SRV: _srv,
    dns.rdatatype.TXT: _txt,
}


def _check_cnames(data: ZoneData) -> None:
    """RFC 1034 §3.6.2: a CNAME has no other data, as ``load_zone`` insists."""
    for node in data.nodes.values():
        if CNAME in node and len(node) > 1 and not set(node) - {CNAME} <= CNAME_NEIGHBOURS:
            raise _Unsupported("CNAME and other data")
