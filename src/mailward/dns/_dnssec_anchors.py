"""Trust anchors: where DNSSEC validation starts (RFC 4033 §3.1, RFC 7958, RFC 9718).

Built in: the DS records of the IANA root zone KSKs, KSK-2017 (key tag 20326) and KSK-2024
(key tag 38696), both algorithm 8 with SHA-256 digests, as IANA publishes them in
``root-anchors.xml`` (RFC 9718; Debian ships the same in ``/usr/share/dns/root.ds``). Either key
may sign the root DNSKEY set; one that does and matches is enough.

Or a file in zone-file syntax holding DS and/or DNSKEY records, for any zone: a private
hierarchy, a test root, an island of trust. ``$ORIGIN`` and ``$TTL`` work; names are absolute
(a relative one is read below the root). A DNSKEY anchor must be a zone key (flag 256).

SECURITY: the file is the user's own configuration; it is parsed by dnspython's zone-file
reader, with ``$INCLUDE`` refused, and any fault is a :class:`~mailward.errors.UsageError`
naming the file.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.tokenizer
import dns.zonefile
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from mailward.errors import UsageError

ROOT_ANCHORS_TEXT = """\
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
"""


@dataclass(frozen=True)
class TrustAnchors:
    """DS and DNSKEY anchors by zone; ``source`` says where they came from."""

    ds: Mapping[dns.name.Name, tuple[DS, ...]] = field(default_factory=dict)
    dnskeys: Mapping[dns.name.Name, tuple[DNSKEY, ...]] = field(default_factory=dict)
    source: str = ""

    @property
    def zones(self) -> frozenset[dns.name.Name]:
        return frozenset(self.ds) | frozenset(self.dnskeys)

    def closest(self, name: dns.name.Name) -> dns.name.Name | None:
        """The deepest anchored zone at or above ``name``, or None (no anchor covers it)."""
        best: dns.name.Name | None = None
        for zone in self.zones:
            if name.is_subdomain(zone) and (best is None or len(zone) > len(best)):
                best = zone
        return best

    @classmethod
    def root(cls) -> TrustAnchors:
        """The IANA root KSKs (see the module doc)."""
        return _root_anchors()

    @classmethod
    def from_text(cls, text: str, *, source: str = "the given trust anchors") -> TrustAnchors:
        """DS/DNSKEY records in zone-file syntax; UsageError for anything else."""
        manager = dns.zonefile.RRSetsReaderManager(dns.name.root, False, dns.rdataclass.IN)
        try:
            with manager.writer(True) as txn:  # type: ignore[no-untyped-call]
                dns.zonefile.Reader(
                    dns.tokenizer.Tokenizer(text, source),
                    dns.rdataclass.IN,
                    txn,
                    allow_directives={"$ORIGIN", "$TTL"},
                    default_ttl=0,
                ).read()
        except (dns.exception.DNSException, ValueError) as exc:
            raise UsageError(f"{source}: not a trust anchor file ({exc})") from None
        ds: dict[dns.name.Name, list[DS]] = {}
        keys: dict[dns.name.Name, list[DNSKEY]] = {}
        for rrset in manager.rrsets:
            if rrset.rdclass != dns.rdataclass.IN:
                raise UsageError(f"{source}: {rrset.name} is not class IN")
            for rdata in rrset:
                if isinstance(rdata, DS):
                    ds.setdefault(rrset.name, []).append(rdata)
                elif isinstance(rdata, DNSKEY) and rdata.flags & 0x0100 and rdata.protocol == 3:
                    keys.setdefault(rrset.name, []).append(rdata)
                else:
                    kind = dns.rdatatype.to_text(rrset.rdtype)
                    raise UsageError(
                        f"{source}: {rrset.name} {kind}: a trust anchor is a DS or a zone DNSKEY"
                    )
        if not ds and not keys:
            raise UsageError(f"{source}: no DS or DNSKEY record in it")
        return cls(
            {name: tuple(v) for name, v in ds.items()},
            {name: tuple(v) for name, v in keys.items()},
            source,
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrustAnchors:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the trust anchor file {path}: {exc}") from None
        if any(line.lstrip().upper().startswith("$INCLUDE") for line in text.splitlines()):
            raise UsageError(f"{path}: $INCLUDE is not allowed in a trust anchor file")
        return cls.from_text(text, source=str(path))


@functools.cache
def _root_anchors() -> TrustAnchors:
    # Read once: every audit asks for them, and TrustAnchors is immutable.
    return TrustAnchors.from_text(ROOT_ANCHORS_TEXT, source="the IANA root KSKs (built in)")
