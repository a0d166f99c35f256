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

import functools
import re
from collections.abc import Iterable

import dns.exception
import dns.name
import dns.rdatatype
import dns.rrset

from mailward.errors import NXDomain, UsageError

MAX_CNAME_CHAIN = 16
"""How many CNAMEs one answer may chase before it counts as a loop (as BIND and Unbound do)."""


@functools.lru_cache(maxsize=256)
def parse_rdtype(rdtype: str) -> dns.rdatatype.RdataType:
    """``"txt"`` → ``TXT``; :class:`UsageError` for a type that does not exist."""
    try:
        return dns.rdatatype.from_text(rdtype.strip().upper())
    except (dns.exception.DNSException, ValueError):
        raise UsageError(f"unknown DNS record type {rdtype!r}") from None


def parse_qname(name: str, rdtype: str) -> dns.name.Name:
    """The absolute name for ``name`` (a final dot is implied); NXDomain if it cannot exist."""
    return parse_question_name(name, rdtype)[0]


def parse_question_name(name: str, rdtype: str) -> tuple[dns.name.Name, str]:
    """:func:`parse_qname` and the name's :func:`name_text`, for keys and answers."""
    try:
        return _parse_name(name.strip())
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        raise NXDomain(name, rdtype, f"not a valid domain name ({reason})") from None


# An audit asks about the same few names many times; parsing and printing a name cost more
# than the rest of a cache hit. (Invalid names raise and are not kept.)
@functools.lru_cache(maxsize=8192)
def _parse_name(text: str) -> tuple[dns.name.Name, str]:
    if text in ("", "."):
        return dns.name.root, "."
    if _PLAIN_NAME.fullmatch(text):
        # Letters, digits, hyphens and underscores need no escape or IDNA handling: the labels
        # are the text's own (dnspython still checks their lengths), and so is the text.
        labels = [label.encode("ascii") for label in text.rstrip(".").split(".")]
        return dns.name.Name([*labels, b""]), text.lower().rstrip(".") + "."
    name = dns.name.from_text(text if text.endswith(".") else text + ".")
    return name, name_text(name)


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?")


def name_text(name: dns.name.Name) -> str:
    """Absolute, lower-case text with the final dot, as :class:`Answer` holds names."""
    return name.to_text().lower()


@functools.lru_cache(maxsize=256)
def rdtype_text(rdtype: dns.rdatatype.RdataType) -> str:
    return dns.rdatatype.to_text(rdtype)


def min_ttl(rrsets: Iterable[dns.rrset.RRset]) -> int:
    """The smallest TTL among ``rrsets`` (how long the whole answer may be kept)."""
    return min((rrset.ttl for rrset in rrsets), default=0)
