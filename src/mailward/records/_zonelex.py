"""The master-file lexer: physical lines into logical entries of located tokens, and what a
token looks like (a TTL, a class, a type, data, or debris).

RFC 1035 §5.1: ``;`` starts a comment, ``(`` … ``)`` continue an entry over several lines,
``"…"`` quotes (with ``\\`` escapes), a line starting with white space inherits the owner.

Text pasted from translated how-tos carries full-width punctuation (``。`` for ``.``, full-width
digits); outside quotes it is folded to ASCII here and each fold is reported, so the rest of the
parser sees what the author meant.

SECURITY: input is hostile text. One linear pass; every problem becomes a located
:class:`Problem`; nothing raises.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

import dns.rdatatype

# Characters that translation tools put where ASCII punctuation was meant.
_FOLD = {
    "\u3002": ".",  # 。 ideographic full stop
    "\uff0e": ".",  # ． full-width full stop
    "\uff61": ".",  # ｡ half-width ideographic full stop
    "\u3001": ",",  # 、 ideographic comma
    "\u3000": " ",  # ideographic space
    "\u00a0": " ",  # no-break space
}


def fold_char(char: str) -> str | None:
    """The ASCII character a full-width one stands for, or ``None`` if it is not one."""
    if char in _FOLD:
        return _FOLD[char]
    if "\uff01" <= char <= "\uff5e":
        return unicodedata.normalize("NFKC", char)
    return None


@dataclass(frozen=True)
class Token:
    text: str  # unquoted value for quoted strings, folded text otherwise
    line: int
    column: int
    quoted: bool = False


@dataclass(frozen=True)
class Problem:
    kind: str  # "fold", "quote", "paren"
    message: str
    line: int
    column: int


@dataclass
class Entry:
    """One logical entry: its tokens, whether it inherits the owner, and what it spans."""

    tokens: list[Token]
    line: int
    inherits_owner: bool
    source: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def entries(text: str) -> Iterator[Entry]:
    """Yield the logical entries of a master file (directives included as plain tokens)."""
    current: Entry | None = None
    depth = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if current is None or depth == 0:
            if current is not None and current.tokens:
                yield current
            current = Entry([], number, inherits_owner=raw[:1] in (" ", "\t"))
        current.source.append(raw)
        depth = _scan_line(raw, number, current, depth)
    if current is not None:
        if depth > 0:
            current.problems.append(Problem("paren", "'(' is never closed by ')'", current.line, 1))
        if current.tokens:
            yield current


def _scan_line(raw: str, number: int, entry: Entry, depth: int) -> int:
    """Append this line's tokens to ``entry``; return the parenthesis depth after it."""
    index = 0
    word: list[str] = []
    word_start = 0

    def flush() -> None:
        if word:
            entry.tokens.append(Token("".join(word), number, word_start + 1))
            word.clear()

    while index < len(raw):
        char = raw[index]
        folded = fold_char(char)
        if folded is not None:
            entry.problems.append(
                Problem(
                    "fold",
                    f"{char!r} ({unicodedata.name(char, 'full-width character').lower()})"
                    f" is not the ASCII {folded!r} DNS needs",
                    number,
                    index + 1,
                )
            )
            char = folded
        if char in " \t":
            flush()
        elif char == ";":
            break
        elif char in "()":
            flush()
            if char == "(":
                depth += 1
            elif depth == 0:
                entry.problems.append(Problem("paren", "')' without '('", number, index + 1))
            else:
                depth -= 1
        elif char == '"':
            flush()
            start = index
            value, index, closed = _read_quoted(raw, index + 1)
            entry.tokens.append(Token(value, number, start + 1, quoted=True))
            if not closed:
                entry.problems.append(
                    Problem("quote", "quoted string is not closed on this line", number, start + 1)
                )
            continue
        else:
            if not word:
                word_start = index
            word.append(char)
        index += 1
    flush()
    return depth


def _read_quoted(raw: str, index: int) -> tuple[str, int, bool]:
    """Read a quoted string body from ``index``; return (value, index after it, closed)."""
    out: list[str] = []
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            digits = raw[index + 1 : index + 4]
            if len(digits) == 3 and digits.isdigit() and int(digits) < 256:
                out.append(chr(int(digits)))
                index += 4
                continue
            out.append(raw[index + 1])
            index += 2
            continue
        if char == '"':
            return "".join(out), index + 1, True
        out.append(char)
        index += 1
    return "".join(out), index, False


# -- what a token looks like --------------------------------------------------------------
_TTL = re.compile(r"(\d+|(\d+[smhdwSMHDW])+)\Z")
CLASSES = {"IN", "CH", "HS", "CS"}
_NAME_FRAGMENT = re.compile(r"\.?([A-Za-z0-9_*-]+\.?)*\Z")
FIELD_COUNTS = {
    "A": 1,
    "AAAA": 1,
    "CNAME": 1,
    "NS": 1,
    "PTR": 1,
    "DNAME": 1,
    "MX": 2,
    "SRV": 4,
    "SOA": 7,
    "CAA": 3,
}


def parse_ttl(text: str) -> int | None:
    """Seconds for ``3600`` or BIND's ``1h30m``; ``None`` if it is not a TTL."""
    if not _TTL.match(text):
        return None
    if text.isdigit():
        return int(text)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return sum(int(n) * units[u.lower()] for n, u in re.findall(r"(\d+)([smhdwSMHDW])", text))


def known_type(text: str) -> str | None:
    try:
        rdtype = dns.rdatatype.from_text(text)
    except (dns.rdatatype.UnknownRdatatype, ValueError):
        return None
    if dns.rdatatype.is_metatype(rdtype) or rdtype == dns.rdatatype.NONE:
        return None
    return dns.rdatatype.to_text(rdtype)


def is_debris(token: Token) -> bool:
    return not token.quoted and not token.text.isascii()


def guess_type(data: list[Token]) -> str | None:
    """The type that data of this shape most likely belongs to (``None`` when unclear)."""
    if not data:
        return None
    first = data[0].text
    if data[0].quoted:
        return "TXT"
    try:
        address = ipaddress.ip_address(first)
    except ValueError:
        address = None
    if address is not None:
        return "A" if address.version == 4 else "AAAA"
    if len(data) == 2 and first.isdigit() and "." in data[1].text:
        return "MX"
    if len(data) == 1 and "." in first:
        return "CNAME"
    return None


def continues_name(sofar: str, token: Token, started: bool) -> bool:
    """Whether ``token`` is the next piece of a name broken by spaces (``_dmarc . example``).

    A piece starting with a dot always continues; after that, a single label continues a name
    that ends with a dot. A TTL, class or type never does.
    """
    text = token.text
    if token.quoted or not text or not _NAME_FRAGMENT.match(text):
        return False
    if text.startswith("."):
        return True
    single_label = "." not in text.rstrip(".")
    return (
        started
        and sofar.endswith(".")
        and single_label
        and parse_ttl(text) is None
        and text.upper() not in CLASSES
        and known_type(text) is None
    )


def looks_like_data(token: Token) -> bool:
    if token.quoted:
        return True
    try:
        ipaddress.ip_address(token.text)
        return True
    except ValueError:
        return "." in token.text.strip(".") and parse_ttl(token.text) is None


def in_name_field(rdtype: str, data: list[Token], token: Token) -> bool:
    """Whether ``token`` sits in a domain-name field of ``rdtype``'s data."""
    index = data.index(token)
    positions = {
        "CNAME": {0},
        "NS": {0},
        "PTR": {0},
        "DNAME": {0},
        "MX": {1},
        "SRV": {3},
        "SOA": {0, 1},
    }
    return index in positions.get(rdtype, set())


def common_types() -> list[str]:
    return [
        "A",
        "AAAA",
        "CNAME",
        "MX",
        "TXT",
        "SRV",
        "NS",
        "PTR",
        "SOA",
        "CAA",
        "TLSA",
        "DS",
        "DNSKEY",
        "HTTPS",
        "SVCB",
        "NAPTR",
        "SSHFP",
        "CDS",
        "CDNSKEY",
    ]
