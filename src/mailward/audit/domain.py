"""The domain a user typed, made into the name to audit — or refused with what was meant.

People paste what they have: ``Example.COM.``, ``bücher.example``, a web address, an e-mail
address. Case and a final dot are normalised; an internationalised name is converted with IDNA
2008 (UTS #46 mapping) and shown in both forms; a URL or an address is refused with the domain
it contains, so the message says exactly what to type (RFC 1035 §2.3.4 for the lengths,
RFC 5890/5891 for IDNA).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from mailward.errors import UsageError

MAX_NAME = 253
MAX_LABEL = 63
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\Z")


@dataclass(frozen=True)
class Domain:
    """A domain to audit: ``name`` in ASCII (A-labels, lower case, no final dot)."""

    name: str
    unicode: str | None = None  # the U-label form, when it differs

    def __str__(self) -> str:
        return f"{self.unicode} ({self.name})" if self.unicode else self.name


def parse_domain(text: str) -> Domain:
    """Normalise ``text`` into a :class:`Domain`, or raise :class:`UsageError` saying why."""
    raw = text.strip()
    if not raw:
        raise UsageError("empty domain name")
    if "://" in raw or (raw.lower().startswith("www.") and "/" in raw):
        host = urlsplit(raw if "://" in raw else f"//{raw}").hostname or ""
        raise UsageError(
            f"{raw!r} is a web address, not a domain: did you mean {_suggest(host)!r}?"
        )
    if "@" in raw:
        domain = raw.rsplit("@", 1)[1].strip(" <>")
        raise UsageError(f"{raw!r} is an e-mail address: the mail domain is {_suggest(domain)!r}")
    if any(c in raw for c in " /\\:;,\t"):
        raise UsageError(f"{raw!r} is not a domain name (it holds spaces or punctuation)")
    name = raw[:-1] if raw.endswith(".") else raw
    unicode = None
    if not name.isascii():
        try:
            ascii_name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise UsageError(f"{raw!r} is not a valid internationalised name: {exc}") from None
        unicode, name = name, ascii_name
    name = name.lower()
    _check_lengths(raw, name)
    if unicode is None and (name.startswith("xn--") or ".xn--" in name):
        try:
            unicode = idna.decode(name)
        except idna.IDNAError:
            unicode = None
    return Domain(name, unicode if unicode and unicode != name else None)


def _check_lengths(raw: str, name: str) -> None:
    labels = name.split(".")
    if "" in labels:
        raise UsageError(f"{raw!r} has an empty label (two dots in a row, or a leading dot)")
    if len(labels) < 2:
        raise UsageError(f"{raw!r} is a single label; give the full domain, like example.com")
    for label in labels:
        if len(label) > MAX_LABEL:
            raise UsageError(
                f"{raw!r}: the label {label[:20]}… is {len(label)} octets; at most 63 are allowed"
            )
        if not _LABEL.match(label):
            raise UsageError(f"{raw!r}: {label!r} is not a valid label (letters, digits, '-')")
    if len(name) > MAX_NAME:
        raise UsageError(f"{raw!r} is {len(name)} octets long; a name holds at most 253")


def _suggest(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    return host or "the domain part"


_DOTTED_DECIMAL = re.compile(r"[0-9.]+")


def is_ip_address(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address (written where a host name belongs)."""
    if ":" not in text and not _DOTTED_DECIMAL.fullmatch(text):
        return False  # IPv6 has a ':', IPv4 only digits and dots: most host names end here
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
