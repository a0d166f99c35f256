"""The zone-file resolver: answers from local zone files as their authoritative server would.

NAME
    ZoneResolver -- no network; the embedded default and the way to check a zone before
    publishing it.

DESCRIPTION
    Zone files are read with dnspython's master-file parser (RFC 1035 §5) with absolute names;
    the origin is the one given, else the first ``$ORIGIN``, else the owner of the SOA record.
    Questions are answered by the algorithm of RFC 1034 §4.3.2, from the closest enclosing
    loaded zone:

    - the name's data; or a CNAME, which is chased within and across loaded zones (step 3a;
      a chain that comes back on itself or passes ``MAX_CNAME_CHAIN`` is a TempError);
    - a name that owns nothing but has names below it (an empty non-terminal) exists, so the
      answer is NODATA (RFC 8020), never NXDOMAIN;
    - otherwise a wildcard ``*.<closest encloser>`` is used if present (RFC 4592 §3.3.1): a
      wildcard never matches a name that exists, and never across an existing empty
      non-terminal (whose own ``*`` child would be the only source; RFC 4592 §2.2.1);
    - a name at or below a delegation (NS records below the apex; step 3b) is answered from the
      child zone when it is loaded; otherwise it is a TempError "delegated to … (not loaded)",
      since its data lives in a zone we do not have. DS lives on the parent side of the cut
      (RFC 4035 §2.4), so DS at a delegation point is answered from the parent;
    - a name that no loaded zone covers is a TempError ("no zone file covers …").

    With ``dnssec=True`` the RRSIGs present in the zone for each returned RRset are included;
    ``authenticated`` is always False (nothing is validated here). ``Answer.ttl`` is the
    smallest TTL among the records, the CNAMEs and the RRSIGs, as the stub reports it.

BUGS
    DNAME (RFC 6672) is not synthesized: a name below a DNAME is a TempError saying so. Records
    outside the zone's origin are ignored by the parser, as authoritative servers do.

SECURITY
    Zone files are the user's own data, but may come from anywhere: errors are
    :class:`~mailward.errors.ZoneLoadError` with the file and line; ``$INCLUDE`` is allowed only
    in files (never in :meth:`ZoneResolver.from_text`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.name
import dns.node
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.tokenizer
import dns.transaction
import dns.zone
import dns.zonefile

from mailward.dns._question import (
    MAX_CNAME_CHAIN,
    min_ttl,
    name_text,
    parse_qname,
    parse_rdtype,
    rdtype_text,
)
from mailward.dns.resolver import Answer
from mailward.errors import NoAnswer, NotLoaded, NXDomain, TempError, ZoneLoadError

__all__ = ["ZoneResolver", "load_zone"]

ZoneSource = str | os.PathLike[str] | tuple[str | os.PathLike[str], str]
"""A zone file path, or ``(path, origin)`` for a file that states no origin of its own."""

_IN = dns.rdataclass.IN
_CNAME = dns.rdatatype.CNAME
_STAR = dns.name.Name((b"*",))
_SOA_LINE = re.compile(
    r"^(?P<owner>\S+)\s+(?:(?:\d\w*|IN|CH|HS|CLASS\d+)\s+){0,2}SOA\s", re.IGNORECASE
)


def load_zone(
    text: str, *, filename: str = "<string>", origin: str | None = None, includes: bool = False
) -> dns.zone.Zone:
    """Parse one zone file's text into a dnspython zone with absolute names.

    Raises :class:`ZoneLoadError` naming the file and line on any fault, if the origin cannot
    be found, or if there is no SOA at the origin.
    """
    if origin is None and not re.search(r"^\$ORIGIN\s", text, re.MULTILINE | re.IGNORECASE):
        origin = _soa_owner(text)
        if origin is None:
            raise ZoneLoadError(
                f"{filename}: the origin is unknown: add $ORIGIN or an absolute SOA owner,"
                " or give the origin"
            )
    try:
        zone = dns.zone.Zone(origin, _IN, relativize=False)
        with zone.writer(True) as txn:
            _strict(txn)
            tokens = _Tokenizer(text, filename)
            dns.zonefile.Reader(tokens, _IN, txn, allow_include=includes).read()
    except dns.exception.SyntaxError as exc:  # already "file:line: what"
        raise ZoneLoadError(str(exc)) from None
    except (dns.exception.DNSException, ValueError, OSError) as exc:
        raise ZoneLoadError(f"{filename}: {exc or type(exc).__doc__}") from None
    apex = zone.get_node(zone.origin) if zone.origin is not None else None
    if apex is None or apex.get_rdataset(_IN, dns.rdatatype.SOA) is None:
        raise ZoneLoadError(f"{filename}: no SOA record at the zone's origin {zone.origin}")
    return zone


class _Tokenizer(dns.tokenizer.Tokenizer):
    """Reports the line of the last token read, not the line after it: dnspython's reader
    asks ``where()`` after it has taken the end of the faulty line."""

    token_line = 1

    def get(self, want_leading: bool = False, want_comment: bool = False) -> dns.tokenizer.Token:
        token = super().get(want_leading, want_comment)
        if not token.is_eol_or_eof():  # a token ended by a newline has counted it already
            self.token_line = self.line_number - (self.ungotten_char == "\n")
        return token

    def where(self) -> tuple[str, int]:
        return self.filename, self.token_line


def _soa_owner(text: str) -> str | None:
    for line in text.splitlines():
        found = _SOA_LINE.match(line.split(";", 1)[0])
        if found:
            owner = found["owner"]
            return owner if owner.endswith(".") else None
    return None


def _strict(txn: dns.transaction.Transaction) -> None:
    txn.check_put_rdataset(_no_cname_and_other_data)


def _no_cname_and_other_data(
    txn: dns.transaction.Transaction, name: dns.name.Name, rdataset: dns.rdataset.Rdataset
) -> None:
    """RFC 1034 §3.6.2 (and RFC 2181 §10.1): raised as a SyntaxError so the parser adds the
    file and line, which dnspython's own check does not."""
    node = txn.get_node(name)
    if node is None:
        return
    kinds = {node.classify(), dns.node.NodeKind.classify_rdataset(rdataset)}
    if kinds == {dns.node.NodeKind.CNAME, dns.node.NodeKind.REGULAR}:
        what = f"{name} has a CNAME and other data (RFC 1034 §3.6.2)"
        raise dns.exception.SyntaxError(what)  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class _Zone:
    origin: dns.name.Name
    zone: dns.zone.Zone
    source: str
    names: frozenset[dns.name.Name]  # every owner of data, and every name between one and the apex
    cuts: frozenset[dns.name.Name]  # delegation points: NS owners below the apex


@dataclass(frozen=True)
class _Found:
    """One zone's answer for one name: data, a CNAME to follow, or nothing (with why)."""

    rrset: dns.rrset.RRset | None = None
    sig: dns.rrset.RRset | None = None
    nxdomain: bool = False


class ZoneResolver:
    """A :class:`~mailward.dns.resolver.Resolver` over zone files (see the module doc)."""

    def __init__(self, sources: Iterable[ZoneSource] = ()) -> None:
        self._zones: dict[dns.name.Name, _Zone] = {}
        for source in sources:
            path, origin = source if isinstance(source, tuple) else (source, None)
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeError) as exc:
                raise ZoneLoadError(f"{os.fspath(path)}: cannot read: {exc}") from None
            filename = os.fspath(path)
            self.add(load_zone(text, filename=filename, origin=origin, includes=True), filename)

    @classmethod
    def from_text(cls, *texts: str, origin: str | None = None) -> ZoneResolver:
        """A resolver over zone texts (tests, embedded data); ``origin`` applies to each."""
        resolver = cls()
        for number, text in enumerate(texts, 1):
            filename = f"<zone {number}>"
            resolver.add(load_zone(text, filename=filename, origin=origin), filename)
        return resolver

    def add(self, zone: dns.zone.Zone, source: str) -> None:
        """Serve one more parsed zone; two zones for one origin are a ZoneLoadError."""
        origin = zone.origin
        assert origin is not None  # load_zone guarantees it
        if origin in self._zones:
            other = self._zones[origin].source
            raise ZoneLoadError(f"{source}: zone {origin} is already loaded from {other}")
        names: set[dns.name.Name] = {origin}
        cuts: set[dns.name.Name] = set()
        for owner, node in zone.nodes.items():
            if not len(node):
                continue
            if owner != origin and node.get_rdataset(_IN, dns.rdatatype.NS) is not None:
                cuts.add(owner)
            while owner != origin and owner not in names:  # the owner and its ENTs (RFC 8020)
                names.add(owner)
                owner = owner.parent()
        self._zones[origin] = _Zone(origin, zone, source, frozenset(names), frozenset(cuts))

    @property
    def origins(self) -> list[str]:
        return sorted(name_text(origin) for origin in self._zones)

    async def aclose(self) -> None:
        """Nothing to release: zone files hold no sockets."""

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        """Answer ``name``/``rdtype`` from the zones, or raise NXDomain, NoAnswer or TempError."""
        qtype = parse_rdtype(rdtype)
        qname = parse_qname(name, rdtype)
        cnames: list[dns.rrset.RRset] = []
        sigs: list[dns.rrset.RRset] = []
        current = qname
        seen = {qname}
        while True:
            zone = self._zone_for(current, qtype)
            if zone is None:
                chain = " (the end of its CNAME chain)" if cnames else ""
                detail = f"no zone file covers {name_text(current)}{chain}"
                raise NotLoaded(name, rdtype, detail)
            found = self._lookup(zone, current, qtype, name, rdtype)
            if found.rrset is None:
                what = "no such name" if found.nxdomain else "no such record"
                where = f" (zone {name_text(zone.origin)} from {zone.source})"
                if cnames:
                    what = f"CNAME chain ends at {name_text(current)}: {what}"
                error = NXDomain if found.nxdomain else NoAnswer
                raise error(name, rdtype, what + where)
            if dnssec and found.sig is not None:
                sigs.append(found.sig)
            if found.rrset.rdtype == qtype:
                return Answer(
                    qname=name_text(qname),
                    rdtype=rdtype_text(qtype),
                    name=name_text(current),
                    records=tuple(found.rrset),
                    ttl=min_ttl((*cnames, found.rrset, *sigs)),
                    cnames=tuple(cnames),
                    rrsigs=tuple(sigs),
                )
            cnames.append(found.rrset)
            current = found.rrset[0].target
            if current in seen or len(cnames) > MAX_CNAME_CHAIN:
                what = "loop" if current in seen else f"longer than {MAX_CNAME_CHAIN}"
                raise TempError(name, rdtype, f"CNAME {what} at {name_text(current)}")
            seen.add(current)

    def _zone_for(self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType) -> _Zone | None:
        """The closest enclosing loaded zone; for DS at a zone's apex, its parent's zone."""
        name = qname
        while True:
            zone = self._zones.get(name)
            if zone is not None:
                if qtype == dns.rdatatype.DS and name == qname and name != dns.name.root:
                    return self._zone_for(name.parent(), dns.rdatatype.NONE) or zone
                return zone
            if name == dns.name.root:
                return None
            name = name.parent()

    def _lookup(
        self,
        zone: _Zone,
        qname: dns.name.Name,
        qtype: dns.rdatatype.RdataType,
        name: str,
        rdtype: str,
    ) -> _Found:
        """RFC 1034 §4.3.2 step 3 inside one zone, with RFC 4592 wildcards and RFC 8020."""
        depth = len(zone.origin)
        for labels in range(depth + 1, len(qname) + 1):  # down from the apex (step 3b)
            ancestor = qname.split(labels)[1]
            at_cut = ancestor in zone.cuts
            if at_cut and not (ancestor == qname and qtype == dns.rdatatype.DS):
                raise NotLoaded(
                    name,
                    rdtype,
                    f"delegated to {name_text(ancestor)} (not loaded: zone "
                    f"{name_text(zone.origin)} from {zone.source} has only the delegation)",
                )
            node = zone.zone.get_node(ancestor)
            if (
                ancestor != qname
                and node is not None
                and node.get_rdataset(_IN, dns.rdatatype.DNAME)
            ):
                raise TempError(
                    name, rdtype, f"DNAME at {name_text(ancestor)} is not supported from zone files"
                )
        node = zone.zone.get_node(qname)
        if node is not None and len(node):
            return _from_node(node, qname, qtype)
        if qname in zone.names:
            return _Found()  # an empty non-terminal: NODATA (RFC 8020)
        encloser = qname.parent()
        while encloser not in zone.names:  # the closest encloser (RFC 4592 §3.3.1)
            encloser = encloser.parent()
        wildcard = zone.zone.get_node(_STAR.concatenate(encloser))
        if wildcard is not None and len(wildcard):
            return _from_node(wildcard, qname, qtype)
        return _Found(nxdomain=True)


def _from_node(node: dns.node.Node, owner: dns.name.Name, qtype: dns.rdatatype.RdataType) -> _Found:
    """The data of ``qtype``, else a CNAME to chase, else NODATA; owned by ``owner`` (the
    query name, also when the node is a wildcard: RFC 4592 §3.3.1 synthesis)."""
    for rdtype in (qtype, _CNAME):
        rdataset = node.get_rdataset(_IN, rdtype)
        if rdataset is not None:
            sig = node.get_rdataset(_IN, dns.rdatatype.RRSIG, rdtype)
            return _Found(_rrset(owner, rdataset), None if sig is None else _rrset(owner, sig))
    return _Found()


def _rrset(owner: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    return dns.rrset.from_rdata_list(owner, rdataset.ttl, list(rdataset))
