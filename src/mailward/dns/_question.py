"""What every resolver does with a question before answering it.

The name and type come from hostile data (SPF ``include:`` targets, DMARC ``rua=`` domains,
mail headers), so they are checked here once and turned into dnspython values; no dnspython
exception leaves this module.

A name that cannot exist in the DNS (a label over 63 octets, a name over 255 octets, an
invalid IDN; RFC 1035 §2.3.4) is answered with :class:`~mailward.errors.NXDomain`: no server
could ever hold data for it, and it is not a reason to try again. An unknown record type is a
programming or configuration error and raises :class:`~mailward.errors.UsageError`.
"""

from __future__ import annotations

from collections.abc import Iterable

import dns.exception
import dns.name
import dns.rdatatype
import dns.rrset

from mailward.errors import NXDomain, UsageError

MAX_CNAME_CHAIN = 16
"""How many CNAMEs one answer may chase before it counts as a loop (as BIND and Unbound do)."""


def parse_rdtype(rdtype: str) -> dns.rdatatype.RdataType:
    """``"txt"`` → ``TXT``; :class:`UsageError` for a type that does not exist."""
    try:
        return dns.rdatatype.from_text(rdtype.strip().upper())
    except (dns.exception.DNSException, ValueError):
        raise UsageError(f"unknown DNS record type {rdtype!r}") from None


def parse_qname(name: str, rdtype: str) -> dns.name.Name:
    """The absolute name for ``name`` (a final dot is implied); NXDomain if it cannot exist."""
    text = name.strip()
    try:
        if text in ("", "."):
            return dns.name.root
        return dns.name.from_text(text if text.endswith(".") else text + ".")
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        raise NXDomain(name, rdtype, f"not a valid domain name ({reason})") from None


def name_text(name: dns.name.Name) -> str:
    """Absolute, lower-case text with the final dot, as :class:`Answer` holds names."""
    return name.to_text().lower()


def rdtype_text(rdtype: dns.rdatatype.RdataType) -> str:
    return dns.rdatatype.to_text(rdtype)


def min_ttl(rrsets: Iterable[dns.rrset.RRset]) -> int:
    """The smallest TTL among ``rrsets`` (how long the whole answer may be kept)."""
    return min((rrset.ttl for rrset in rrsets), default=0)
