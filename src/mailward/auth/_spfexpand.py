"""SPF macro expansion (RFC 7208 §7.3, §7.4): turn a parsed macro-string into text.

The macro-strings come parsed from :mod:`mailward.records.spf` (never re-parsed here); this
module only substitutes values, applies the transformers and URL-escapes upper-case macros.
Pure: the one value that needs DNS (``%{p}``) is looked up by the evaluator beforehand.

SECURITY: the values (sender, HELO) are hostile, but each expansion is one linear pass over
parts already bounded by the record's length; a name used in a DNS query is then cut to
``MAX_NAME`` characters by :func:`truncate_name`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import quote

from mailward.records.spf import MacroEscape, MacroLiteral, MacroString

MAX_NAME = 253  # RFC 7208 §7.3: a longer expanded domain loses labels on the left
_SPLIT_CACHE: dict[str, re.Pattern[str]] = {}


def expand(spec: MacroString, value: Callable[[str], str]) -> str:
    """``spec`` with every macro replaced; ``value(letter)`` gives a lower-case letter's value."""
    out: list[str] = []
    for part in spec.parts:
        if isinstance(part, MacroLiteral):
            out.append(part.text)
        elif isinstance(part, MacroEscape):
            out.append(part.expansion)
        else:
            text = value(part.letter.lower())
            if part.digits is not None or part.reverse or part.delimiters:
                pieces = _splitter(part.delimiters or ".").split(text)
                if part.reverse:
                    pieces.reverse()
                if part.digits is not None:
                    pieces = pieces[-part.digits :]
                text = ".".join(pieces)
            if part.letter.isupper():
                text = quote(text, safe="-._~")
            out.append(text)
    return "".join(out)


def _splitter(delimiters: str) -> re.Pattern[str]:
    pattern = _SPLIT_CACHE.get(delimiters)
    if pattern is None:
        pattern = _SPLIT_CACHE[delimiters] = re.compile(f"[{re.escape(delimiters)}]")
    return pattern


def truncate_name(name: str) -> str:
    """Drop labels from the left until the name has at most 253 characters (§7.3)."""
    name = name[:-1] if name.endswith(".") else name
    if len(name) <= MAX_NAME:
        return name
    dot = name.find(".", len(name) - MAX_NAME - 1)  # one pass, whatever the number of dots
    return name[dot + 1 :] if dot >= 0 else name[-MAX_NAME:]


def ip_macro(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """``%{i}``: dotted quad, or for IPv6 the 32 nibbles separated by dots (§7.3)."""
    if ip.version == 4:
        return str(ip)
    return ".".join(ip.exploded.replace(":", ""))
