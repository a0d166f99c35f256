"""Zone files (master files): parse every record a small business publishes, located.

RFC 1035 §5 (master files), RFC 2308 §4 (``$TTL``), RFC 3597 (``TYPEnnn``); the rdata of
each type is read by dnspython (A, AAAA, CNAME, MX, TXT, SRV, NS, PTR, SOA, CAA, TLSA, DS,
DNSKEY and every other type it knows) after this module has found the owner, TTL, class and
type. That split lets the parser repair what people really paste from how-to articles before
dnspython sees it: names broken by spaces (``_dmarc . example .com .``), translation debris
(``で``), full-width punctuation (``。``), the TTL written after the data, an unknown type
where the data says what was meant (``ああああ 2001:db8::1`` → ``AAAA``), and SOA placeholders.
Every repair is a diagnostic whose ``fix`` is the whole corrected record line.

This module is syntax only; what the records *mean* together (CNAME beside other data, MX at a
CNAME, two SPF records) is checked by :mod:`mailward.audit.lint`.

SECURITY: input is hostile text (pasted records, zone files of unknown origin). No ``$INCLUDE``
is followed (no file access from zone content); parsing is linear in the input size.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from mailward.codes import Diagnostic, Severity, define
from mailward.records import _txt
from mailward.records._suggest import did_you_mean
from mailward.records._zonelex import (
    CLASSES,
    FIELD_COUNTS,
    Entry,
    Token,
    common_types,
    continues_name,
    entries,
    guess_type,
    in_name_field,
    is_debris,
    known_type,
    looks_like_data,
    parse_ttl,
)

SYNTAX = define(
    "zone.syntax",
    Severity.ERROR,
    "Zone record cannot be parsed",
    why="A DNS server refuses to load a zone with a malformed record, or skips the record.",
    example="example.com. 86400 IN MX mail.example.com.   ; preference missing",
    fix="Write the record's data in the form its type requires (the message says which part).",
    refs=("RFC 1035 §5.1", "RFC 1035 §3.3"),
)
UNKNOWN_TYPE = define(
    "zone.unknown-type",
    Severity.ERROR,
    "Record type is unknown",
    why="A type name the server does not know makes the whole zone fail to load.",
    example="example.com. 86400 IN AAA 2001:db8::1",
    fix="Use the intended type's name (the message suggests one from the data).",
    refs=("RFC 1035 §3.2.2", "RFC 3597 §5"),
)
MISSING_TYPE = define(
    "zone.missing-type",
    Severity.ERROR,
    "Record has no type",
    why="Without a type the server cannot tell what the data is and rejects the line.",
    example="example.com. 192.0.2.1 86400",
    fix="Write owner, TTL, class, type and data in that order: "
    "`example.com. 86400 IN A 192.0.2.1`.",
    refs=("RFC 1035 §5.1",),
)
STRAY_TEXT = define(
    "zone.stray-text",
    Severity.ERROR,
    "Record contains stray text",
    why="Words that are not part of the record (often left by machine translation) break it.",
    example="www.example.com. CNAME example.com. で 86400",
    fix="Remove the stray words; a TTL goes between the owner and the class.",
    refs=("RFC 1035 §5.1",),
)
FULLWIDTH = define(
    "zone.fullwidth-character",
    Severity.ERROR,
    "Record uses a full-width character where ASCII is needed",
    why="'。' or a full-width digit is not '.' or a digit to a DNS server: the name or number "
    "is wrong.",
    example="1.2.0.192.in-addr.arpa。 86400 IN PTR example.com.",
    fix="Type the ASCII character ('.' instead of '。').",
    refs=("RFC 1035 §2.3.1",),
)
NAME_WITH_SPACES = define(
    "zone.name-with-spaces",
    Severity.ERROR,
    "Domain name is broken by spaces",
    why="Spaces split a name into separate fields, so the server reads a different record.",
    example='_dmarc . example .com . 86400 IN TXT "v=DMARC1; p=none"',
    fix="Write the name without spaces: `_dmarc.example.com.`.",
    refs=("RFC 1035 §5.1",),
)
RELATIVE_NAME = define(
    "zone.relative-name",
    Severity.WARNING,
    "Name has no final dot and will be expanded",
    why="A name without a final dot gets the zone's origin appended: `mail.example.com` "
    "becomes `mail.example.com.example.com.`.",
    example="example.com. 3600 IN MX 10 mail.example.com",
    fix="End fully qualified names with a dot: `mail.example.com.`.",
    refs=("RFC 1035 §5.1",),
)
TXT_TOO_LONG = define(
    "zone.txt-string-too-long",
    Severity.ERROR,
    "TXT string is longer than 255 bytes",
    why="One TXT string holds at most 255 bytes; longer values must be split into several "
    "strings, which readers join back together.",
    example='sel._domainkey.example.com. IN TXT "v=DKIM1; k=rsa; p=<400 characters>"',
    fix='Split the value into several quoted strings of at most 255 bytes: `"…" "…"`.',
    refs=("RFC 1035 §3.3", "RFC 7208 §3.3", "RFC 6376 §3.6.2.2"),
)
NO_TTL = define(
    "zone.no-ttl",
    Severity.WARNING,
    "Zone has no default TTL",
    why="Without `$TTL` (or a TTL on the first record) servers disagree on the TTL to use.",
    example="example.com. IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600",
    fix="Start the zone with `$TTL 3600` (or another TTL in seconds).",
    refs=("RFC 2308 §4",),
)
DIRECTIVE = define(
    "zone.directive",
    Severity.WARNING,
    "Zone directive is not supported here",
    why="mailward does not follow `$INCLUDE` or expand `$GENERATE`, so those records are not "
    "checked.",
    example="$INCLUDE keys/Kexample.com.+013+12345.key",
    fix="Lint the included file separately, or paste its records into the zone.",
    refs=("RFC 1035 §5.1",),
)

_SOA_FIELDS = ("serial", "refresh", "retry", "expire", "minimum")
MAX_TTL = 2**31 - 1
# Types whose rdata mailward's own parser (records.dnssec) explains better than dnspython: when
# dnspython rejects them the record is kept as written, and the linter reports the exact fault.
DEFERRED_TYPES = frozenset({"DS", "CDS", "DNSKEY", "CDNSKEY"})


@dataclass(frozen=True)
class ZoneRecord:
    """One resource record: absolute owner, TTL (``None`` if not written), type and rdata.

    ``rdata`` is dnspython's canonical text with absolute names. ``line``/``data_column`` place
    the record in its file and are not part of its value.
    """

    owner: str
    ttl: int | None
    rdtype: str
    rdata: str
    line: int = field(default=0, compare=False)
    data_column: int = field(default=0, compare=False)

    def to_text(self) -> str:
        ttl = f" {self.ttl}" if self.ttl is not None else ""
        return f"{self.owner}{ttl} IN {self.rdtype} {self.rdata}"

    def txt_value(self) -> str:
        """For TXT records: the strings joined with nothing between, as UTF-8 text."""
        data = dns.rdata.from_text(dns.rdataclass.IN, self.rdtype, self.rdata)
        strings: tuple[bytes, ...] = getattr(data, "strings", ())
        return b"".join(strings).decode("utf-8", "replace")


@dataclass(frozen=True)
class Zone:
    """A parsed zone file: its origin and every record that could be read."""

    origin: str | None
    records: tuple[ZoneRecord, ...]
    default_ttl: int | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    def to_text(self) -> str:
        head = [f"$ORIGIN {self.origin}"] if self.origin else []
        if self.default_ttl is not None:
            head.append(f"$TTL {self.default_ttl}")
        return "\n".join([*head, *(record.to_text() for record in self.records)]) + "\n"


def parse(text: str, *, origin: str | None = None) -> Zone:
    """Parse a zone file (or a single pasted record line). Never raises."""
    parser = _Parser(origin)
    for entry in entries(text):
        parser.entry(entry)
    if parser.default_ttl is None and any(r.ttl is None for r in parser.records):
        first = next(r for r in parser.records if r.ttl is None)
        parser.problems.append(
            NO_TTL.at(
                "no $TTL line and records without a TTL", line=first.line, column=1, fix="$TTL 3600"
            )
        )
    return Zone(parser.origin, tuple(parser.records), parser.default_ttl, tuple(parser.problems))


class _Parser:
    def __init__(self, origin: str | None) -> None:
        self.origin = _absolute(origin) if origin else None
        self.default_ttl: int | None = None
        self.last_owner: str | None = None
        self.last_ttl: int | None = None
        self.records: list[ZoneRecord] = []
        self.problems: list[Diagnostic] = []

    # -- entries -------------------------------------------------------------------------
    def entry(self, entry: Entry) -> None:
        first = entry.tokens[0]
        if not entry.inherits_owner and first.text.startswith("$") and not first.quoted:
            self._directive(entry)
            return
        record = _Record(self, entry).build()
        if record is not None and record.rdtype == "SOA" and self.origin is None:
            self.origin = record.owner  # a zone without $ORIGIN is named by its SOA

    def _directive(self, entry: Entry) -> None:
        name, args = entry.tokens[0].text.upper(), entry.tokens[1:]
        if name == "$ORIGIN" and args:
            self.origin = _absolute(args[0].text)
        elif name == "$TTL" and args and parse_ttl(args[0].text) is not None:
            self.default_ttl = parse_ttl(args[0].text)
        elif name in ("$INCLUDE", "$GENERATE"):
            self.problems.append(
                DIRECTIVE.at(
                    f"{name} is not followed; its records are not checked",
                    line=entry.line,
                    column=1,
                )
            )
        else:
            self.problems.append(
                SYNTAX.at(
                    f"{entry.tokens[0].text} {' '.join(t.text for t in args)}: "
                    "unknown or incomplete directive",
                    line=entry.line,
                    column=1,
                )
            )


class _Record:
    """Reads one entry into a record, repairing and reporting what it can."""

    def __init__(self, parser: _Parser, entry: Entry) -> None:
        self.parser = parser
        self.entry = entry
        self.found: list[Diagnostic] = []
        self.repaired = False  # a repair was made: every diagnostic gets the fixed line
        self.ttl: int | None = None
        self.guessed_fix: str | None = None  # the record a typeless line most likely meant

    def problem(self, code_at: Diagnostic) -> None:
        self.found.append(code_at)

    def build(self) -> ZoneRecord | None:
        entry = self.entry
        for problem in entry.problems:
            code = FULLWIDTH if problem.kind == "fold" else SYNTAX
            self.problem(code.at(problem.message, line=problem.line, column=problem.column))
            self.repaired |= problem.kind == "fold"
        tokens = list(entry.tokens)
        owner = self._owner(tokens)
        record = self._fields(tokens, owner) if owner is not None else None
        fix = record.to_text() if record is not None and self.repaired else self.guessed_fix
        for diagnostic in self.found:
            if fix is not None and diagnostic.fix is None:
                diagnostic = replace(diagnostic, fix=fix)
            self.parser.problems.append(diagnostic)
        if record is not None:
            self.parser.records.append(record)
        return record

    def _owner(self, tokens: list[Token]) -> str | None:
        if self.entry.inherits_owner:
            if self.parser.last_owner is None:
                self.problem(
                    SYNTAX.at(
                        "record inherits an owner but none came before",
                        line=self.entry.line,
                        column=1,
                    )
                )
            return self.parser.last_owner
        first = tokens.pop(0)
        text = first.text
        if first.quoted or is_debris(first):
            self.problem(
                SYNTAX.at(f"{text!r} is not a domain name", line=first.line, column=first.column)
            )
            return None
        joined, started = text, False
        while tokens and continues_name(joined, tokens[0], started):
            joined += tokens.pop(0).text
            started = True
        if joined != text:
            self.repaired = True
            self.problem(
                NAME_WITH_SPACES.at(
                    f"the owner name is written with spaces; {joined!r} was meant",
                    line=first.line,
                    column=first.column,
                )
            )
        name = self._name(joined, first, owner=True)
        if name is not None:
            self.parser.last_owner = name
        return name

    def _name(self, text: str, token: Token, *, owner: bool) -> str | None:
        origin = self.parser.origin
        if text == "@":
            if origin is None:
                self.problem(
                    SYNTAX.at(
                        "'@' needs an origin ($ORIGIN or --origin)",
                        line=token.line,
                        column=token.column,
                    )
                )
            return origin
        try:
            name = dns.name.from_text(text, origin=None)
        except dns.exception.DNSException as exc:
            self.problem(
                SYNTAX.at(
                    f"{text!r} is not a valid domain name: {exc}",
                    line=token.line,
                    column=token.column,
                )
            )
            return None
        if name.is_absolute():
            return name.to_text()
        self._relative(text, token)
        base = dns.name.from_text(origin) if origin else dns.name.root
        try:
            return name.derelativize(base).to_text()
        except dns.exception.DNSException as exc:
            self.problem(
                SYNTAX.at(
                    f"{text!r} is too long once the origin is added: {exc}",
                    line=token.line,
                    column=token.column,
                )
            )
            return None

    def _relative(self, text: str, token: Token) -> None:
        origin = self.parser.origin
        if origin is None:
            if "." in text:
                self.repaired = True
                self.problem(
                    RELATIVE_NAME.at(
                        f"{text!r} has no final dot; in a zone it would get the origin appended "
                        f"— write {text + '.'!r}",
                        line=token.line,
                        column=token.column,
                    )
                )
            return
        labels = text.lower().split(".")
        origin_labels = origin.lower().rstrip(".").split(".")
        if len(labels) > 1 and (
            labels[-1] == origin_labels[-1] or text.lower().endswith(origin.lower().rstrip("."))
        ):
            self.problem(
                RELATIVE_NAME.at(
                    f"{text!r} has no final dot, so it becomes {text}.{origin} — "
                    f"write {text + '.'!r}",
                    line=token.line,
                    column=token.column,
                    fix=None,
                )
            )

    def _fields(self, tokens: list[Token], owner: str) -> ZoneRecord | None:
        prefix_end = next(
            (i for i, t in enumerate(tokens) if not t.quoted and known_type(t.text)), None
        )
        if prefix_end is None:
            self._untyped(tokens, owner)
            return None
        for token in tokens[:prefix_end]:
            self._prefix_token(token)
        rdtype = known_type(tokens[prefix_end].text)
        assert rdtype is not None
        data = self._clean_data(tokens[prefix_end + 1 :], rdtype)
        return self._rdata(owner, rdtype, data, tokens[prefix_end])

    def _prefix_token(self, token: Token) -> None:
        ttl = parse_ttl(token.text)
        if ttl is not None and self.ttl is None:
            self.ttl = ttl
        elif token.text.upper() in CLASSES:
            if token.text.upper() != "IN":
                self.problem(
                    SYNTAX.at(
                        f"class {token.text} is not IN; mail records are IN",
                        line=token.line,
                        column=token.column,
                    )
                )
        else:
            self._stray(token)

    def _stray(self, token: Token) -> None:
        self.repaired = True
        what = "looks like translation debris" if is_debris(token) else "is not part of a record"
        self.problem(STRAY_TEXT.at(f"{token.text!r} {what}", line=token.line, column=token.column))

    def _clean_data(self, data: list[Token], rdtype: str) -> list[Token]:
        """Drop debris (a number right after debris is the TTL), and a TTL after the data."""
        kept: list[Token] = []
        index = 0
        while index < len(data):
            token = data[index]
            if is_debris(token):
                self._stray(token)
                following = data[index + 1] if index + 1 < len(data) else None
                ttl = parse_ttl(following.text.rstrip(".")) if following else None
                if following is not None and ttl is not None and self.ttl is None:
                    self.ttl = ttl
                    index += 1
                index += 1
                continue
            kept.append(token)
            index += 1
        wanted = FIELD_COUNTS.get(rdtype)
        if wanted is not None and len(kept) == wanted + 1 and self.ttl is None:
            ttl = parse_ttl(kept[-1].text.rstrip("."))
            if ttl is not None:
                self.repaired = True
                last = kept.pop()
                self.problem(
                    STRAY_TEXT.at(
                        f"{last.text!r} after the data looks like the TTL; "
                        "the TTL goes before the class and type",
                        line=last.line,
                        column=last.column,
                    )
                )
                self.ttl = ttl
        return kept

    def _untyped(self, tokens: list[Token], owner: str) -> None:
        data: list[Token] = []
        named: Token | None = None
        for index, token in enumerate(tokens):
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            type_position = not data and following is not None and looks_like_data(following)
            if is_debris(token) and not (type_position and named is None):
                self._stray(token)
            elif data or looks_like_data(token):
                if parse_ttl(token.text) is not None and data:
                    if self.ttl is None:
                        self.ttl = parse_ttl(token.text)
                    continue
                data.append(token)
            elif parse_ttl(token.text) is not None and self.ttl is None:
                self.ttl = parse_ttl(token.text)
            elif token.text.upper() in CLASSES:
                continue
            elif named is None and not data:
                named = token
        guess = guess_type(data)
        spelled = did_you_mean(named.text, common_types()) if named is not None else None
        meant = spelled or guess
        fix = None
        if meant is not None and data:
            candidate = _build(owner, self.ttl, meant, data, self.parser.origin)
            fix = candidate.to_text() if isinstance(candidate, ZoneRecord) else None
            meant_text = (
                f"; the data looks like {meant}" if guess == meant else f"; did you mean {meant}?"
            )
        else:
            meant_text = ""
        self.guessed_fix = fix
        where = named or (tokens[0] if tokens else None)
        line = where.line if where else self.entry.line
        column = where.column if where else 1
        if named is not None:
            self.problem(
                UNKNOWN_TYPE.at(
                    f"{named.text!r} is not a record type{meant_text}",
                    line=line,
                    column=column,
                    fix=fix,
                )
            )
        else:
            self.problem(
                MISSING_TYPE.at(
                    f"the record has no type{meant_text}", line=line, column=column, fix=fix
                )
            )

    def _rdata(self, owner: str, rdtype: str, data: list[Token], at: Token) -> ZoneRecord | None:
        if self.ttl is None:
            self.ttl = self.parser.default_ttl if self.parser.default_ttl is not None else None
        if self.ttl is not None and self.ttl > MAX_TTL:
            self.problem(
                SYNTAX.at(f"TTL {self.ttl} is above the maximum {MAX_TTL}", line=at.line, column=1)
            )
        if not data:
            self.problem(SYNTAX.at(f"{rdtype} record has no data", line=at.line, column=at.column))
            return None
        if rdtype in ("TXT", "SPF"):
            self._long_strings(owner, rdtype, data)
        if rdtype == "SOA":
            data = self._soa_placeholders(owner, data)
            if not data:
                return None
        for token in data:
            if (
                not token.quoted
                and "." in token.text
                and token.text != "."
                and not token.text.endswith(".")
                and in_name_field(rdtype, data, token)
            ):
                self._relative(token.text, token)
        built = _build(owner, self.ttl, rdtype, data, self.parser.origin)
        if isinstance(built, str) and rdtype in DEFERRED_TYPES:
            built = ZoneRecord(owner, self.ttl, rdtype, " ".join(t.text for t in data))
        if isinstance(built, str):
            self.problem(
                SYNTAX.at(
                    f"{rdtype} data is not valid: {built}", line=data[0].line, column=data[0].column
                )
            )
            return None
        return replace(built, line=self.entry.line, data_column=data[0].column)

    def _long_strings(self, owner: str, rdtype: str, data: list[Token]) -> None:
        for token in data:
            if len(token.text.encode("utf-8")) > _txt.MAX_STRING:
                value = "".join(t.text for t in data).encode("utf-8")
                fixed = f"{owner} {self.ttl or 3600} IN {rdtype} {_txt.to_zone_text(value)}"
                size = len(token.text.encode("utf-8"))
                self.problem(
                    TXT_TOO_LONG.at(
                        f"one string is {size} bytes; at most 255 allowed",
                        line=token.line,
                        column=token.column,
                        fix=fixed,
                    )
                )
                for index, each in enumerate(data):
                    if len(each.text.encode("utf-8")) > _txt.MAX_STRING:
                        chunks = _txt.split_strings(each.text.encode("utf-8"))
                        data[index : index + 1] = [
                            Token(chunk.decode("utf-8", "replace"), each.line, each.column, True)
                            for chunk in chunks
                        ]
                return

    def _soa_placeholders(self, owner: str, data: list[Token]) -> list[Token]:
        words = [t.text.strip(",") for t in data]
        numbers = words[2:]
        if len(words) == 7 and all(parse_ttl(w) is not None for w in numbers):
            return [replace(t, text=w) for t, w in zip(data, words, strict=True)]
        if len(words) == 7 and any(w.lower() in _SOA_FIELDS for w in numbers):
            serial = date.today().strftime("%Y%m%d") + "01"
            names = [_absolute(w) for w in words[:2]]
            fix = f"{owner} {self.ttl or 86400} IN SOA {names[0]} {names[1]} {serial} 7200 3600 1209600 3600"  # noqa: E501
            self.problem(
                SYNTAX.at(
                    "SOA has placeholders (serial, refresh, …) where numbers "
                    "belong; the fix uses RFC 1912 values and today's serial",
                    line=data[2].line,
                    column=data[2].column,
                    fix=fix,
                )
            )
            return []
        return data


def _absolute(text: str) -> str:
    return text if text.endswith(".") else text + "."


def _build(
    owner: str, ttl: int | None, rdtype: str, data: list[Token], origin: str | None
) -> ZoneRecord | str:
    """The record for these data tokens, or dnspython's complaint as text."""
    text = " ".join(_txt.quote_string(t.text.encode("utf-8")) if t.quoted else t.text for t in data)
    base = dns.name.from_text(origin) if origin else dns.name.root
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, text, origin=base, relativize=False)
        canonical = rdata.to_text()
    except Exception as exc:  # dnspython raises many types for bad rdata; all mean "invalid"
        return str(exc) or type(exc).__name__
    return ZoneRecord(owner, ttl, rdtype, canonical)
