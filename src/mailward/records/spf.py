"""SPF records: parse a published ``v=spf1`` TXT value into its terms, and lint it.

RFC 7208 §4.5 (the ``v=spf1`` version section), §4.6 (terms; §4.6.4 the terms that cost a DNS
lookup), §5 (mechanisms; §5.5 ``ptr``), §6 (modifiers: ``redirect``, ``exp`` and unknown
ones), §7 (macros; §7.1 their grammar) and §12 (the collected ABNF). Evaluating a record (DNS,
the lookup limits, macro expansion) belongs to the SPF evaluator; this module hands it the
parsed terms, domain-specs as :class:`MacroString` parts, and :func:`parse_macro_string` for
the explanation text that ``exp=`` points to.

SECURITY: input is hostile DNS text. Parsing is one linear pass over at most ``MAX_TEXT``
characters (what one TXT RRset can carry); longer input is reported and cut. Numbers are
bounded before they are converted (a CIDR length has at most 3 digits, a macro transformer at
most 9), and no regular expression here can backtrack over unbounded input. Parsed records
are remembered by text in a bounded memo (:mod:`._cache`).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

import idna

from mailward.codes import Diagnostic, Severity, define
from mailward.records._cache import by_text
from mailward.records._spfmacro import (
    MacroEscape,
    MacroExpand,
    MacroLiteral,
    MacroPart,
    MacroString,
    TermIssue,
    domain_spec,
    is_domain,
    parse_macro_string,
    parse_macros,
)

__all__ = [
    "InvalidTerm",
    "MacroEscape",
    "MacroExpand",
    "MacroLiteral",
    "MacroPart",
    "MacroString",
    "Mechanism",
    "Modifier",
    "Qualifier",
    "SpfRecord",
    "lookup_terms",
    "parse",
    "parse_macro_string",
]
from mailward.records._suggest import did_you_mean

MAX_TEXT = 65_535

SYNTAX = define(
    "spf.syntax",
    Severity.ERROR,
    "SPF record has a syntax error",
    why="Receivers treat a malformed SPF record as a permanent error: it then authorises "
    "nobody, and DMARC cannot pass through SPF.",
    example="v=spf1 ip:192.0.2.1 inlcude:_spf.example.net -al",
    fix="Correct the term the message names; mailward gives the corrected record when the "
    "intent is clear.",
    refs=("RFC 7208 §4.6", "RFC 7208 §12"),
)
PTR_MECHANISM = define(
    "spf.ptr-mechanism",
    Severity.WARNING,
    "SPF record uses the ptr mechanism",
    why="ptr is slow and unreliable, costs receivers many DNS lookups, and some skip it.",
    example="v=spf1 ptr -all",
    fix="List the sending hosts with ip4:, ip6:, a or mx instead.",
    refs=("RFC 7208 §5.5",),
)
PASS_ALL = define(
    "spf.pass-all",
    Severity.ERROR,
    "SPF record authorises every host on the internet",
    why="+all (or a bare all) makes SPF pass for mail from anyone, so anybody can send as you.",
    example="v=spf1 mx +all",
    fix="End the record with ~all (or -all once every sender is listed).",
    refs=("RFC 7208 §5.1",),
)
NEUTRAL_ALL = define(
    "spf.neutral-all",
    Severity.WARNING,
    "SPF record ends in a neutral ?all",
    why="?all says nothing about the hosts you did not list, so SPF does not mark forgeries.",
    example="v=spf1 mx ?all",
    fix="End the record with ~all (or -all once every sender is listed).",
    refs=("RFC 7208 §5.1", "RFC 7208 §2.6.2"),
)
NO_ALL = define(
    "spf.no-all",
    Severity.WARNING,
    "SPF record has no all mechanism and no redirect",
    why="A host that matches nothing gets the default result neutral, as if the record ended "
    "in ?all.",
    example="v=spf1 mx",
    fix="End the record with ~all (or -all once every sender is listed).",
    refs=("RFC 7208 §4.7",),
)
AFTER_ALL = define(
    "spf.after-all",
    Severity.WARNING,
    "SPF record has terms after all",
    why="Evaluation stops at all, so mechanisms after it never match: they authorise nobody.",
    example="v=spf1 -all include:_spf.example.net",
    fix="Move all to the end of the record, or delete the terms after it.",
    refs=("RFC 7208 §4.6.2", "RFC 7208 §5.1"),
)
REDIRECT_WITH_ALL = define(
    "spf.redirect-with-all",
    Severity.WARNING,
    "SPF record has both redirect and all",
    why="redirect is ignored when the record has an all mechanism, so its target is never used.",
    example="v=spf1 mx redirect=_spf.example.net ~all",
    fix="Delete redirect, or write include: for the other record's senders before all.",
    refs=("RFC 7208 §6.1",),
)


MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
MODIFIERS = ("redirect", "exp")
LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")
_CIDR = re.compile(r"0|[1-9][0-9]{0,2}")
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"))
_MISTAKES = {"ip": "ip4", "ipv4": "ip4", "ipv6": "ip6", "includes": "include", "spf": "include"}


class Qualifier(StrEnum):
    """The result a matching mechanism gives (RFC 7208 §4.6.2); ``+`` is the default."""

    PASS = "+"
    FAIL = "-"
    SOFTFAIL = "~"
    NEUTRAL = "?"


@dataclass(frozen=True)
class Mechanism:
    """A directive: qualifier, mechanism name (lower case) and its arguments."""

    qualifier: Qualifier
    name: str
    domain_spec: MacroString | None = None
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    cidr4: int | None = None
    cidr6: int | None = None
    column: int = field(default=0, compare=False)

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        """The network an ``ip4``/``ip6`` mechanism matches (host bits cleared)."""
        if self.address is None:
            return None
        cidr = self.cidr4 if self.address.version == 4 else self.cidr6
        return ipaddress.ip_network(
            (self.address, self.address.max_prefixlen if cidr is None else cidr), strict=False
        )

    def to_text(self) -> str:
        out = ("" if self.qualifier is Qualifier.PASS else self.qualifier.value) + self.name
        if self.address is not None:
            cidr = self.cidr4 if self.address.version == 4 else self.cidr6
            return out + f":{self.address}" + ("" if cidr is None else f"/{cidr}")
        out += "" if self.domain_spec is None else ":" + self.domain_spec.to_text()
        out += "" if self.cidr4 is None else f"/{self.cidr4}"
        return out + ("" if self.cidr6 is None else f"//{self.cidr6}")


@dataclass(frozen=True)
class Modifier:
    """``name=value``: ``redirect``, ``exp`` (lower case) or an unknown modifier (kept, §6)."""

    name: str
    value: MacroString
    column: int = field(default=0, compare=False)

    def to_text(self) -> str:
        return f"{self.name}={self.value}"


@dataclass(frozen=True)
class InvalidTerm:
    """A term that is neither a mechanism nor a modifier, kept verbatim (a permerror)."""

    text: str
    column: int = field(default=0, compare=False)

    def to_text(self) -> str:
        return self.text


Term = Mechanism | Modifier | InvalidTerm


@dataclass(frozen=True)
class SpfRecord:
    """A parsed SPF record: the version section as written (``""`` if absent) and the terms."""

    version: str = "v=spf1"
    terms: tuple[Term, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    @property
    def mechanisms(self) -> tuple[Mechanism, ...]:
        return tuple(term for term in self.terms if isinstance(term, Mechanism))

    def modifier(self, name: str) -> Modifier | None:
        """The first modifier of that name (``redirect``, ``exp``), or ``None``."""
        return next((t for t in self.terms if isinstance(t, Modifier) and t.name == name), None)

    @property
    def all_mechanism(self) -> Mechanism | None:
        """The first ``all``: the one evaluation stops at."""
        return next((term for term in self.mechanisms if term.name == "all"), None)

    @property
    def permerror(self) -> bool:
        """Whether receivers return permerror for this record (it has a syntax error)."""
        return any(d.code is SYNTAX and d.severity is Severity.ERROR for d in self.diagnostics)

    def to_text(self) -> str:
        return " ".join([self.version] * bool(self.version) + [t.to_text() for t in self.terms])


def lookup_terms(record: SpfRecord) -> tuple[Mechanism | Modifier, ...]:
    """The terms a receiver may evaluate that cost one DNS lookup each (RFC 7208 §4.6.4).

    ``include``, ``a``, ``mx``, ``ptr`` and ``exists`` before the first ``all`` (terms after
    it are never reached), and ``redirect`` unless an ``all`` makes it ignored (§6.1). ``exp``
    is not counted: it is fetched only to explain a failure.
    """
    out: list[Mechanism | Modifier] = []
    for term in record.mechanisms:
        if term.name == "all":
            return tuple(out)
        if term.name in LOOKUP_MECHANISMS:
            out.append(term)
    redirect = record.modifier("redirect")
    return (*out, redirect) if redirect is not None else tuple(out)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if "%" in text or not 1 < len(text) <= 45:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _cidr(text: str | None, limit: int, offset: int) -> int | None:
    if text is None:
        return None
    if not _CIDR.fullmatch(text) or int(text) > limit:
        raise TermIssue(f"'/{text}' is not a prefix length from 0 to {limit}", offset)
    return int(text)


def _split_cidr(text: str) -> tuple[str, str | None, str | None]:
    """Split ``spec/24//64`` into the spec and the two prefix lengths as written."""
    c4 = c6 = None
    slash = text.rfind("/")
    if slash >= 0 and re.fullmatch(r"[0-9]{1,4}", text[slash + 1 :]):
        if text[slash - 1 : slash] == "/":
            c6, text = text[slash + 1 :], text[: slash - 1]
            slash = text.rfind("/")
        if slash >= 0 and re.fullmatch(r"[0-9]{1,4}", text[slash + 1 :]):
            c4, text = text[slash + 1 :], text[:slash]
    return text, c4, c6


def _parse_term(token: str, column: int) -> tuple[Term, list[TermIssue]]:
    """One term and its problems; a term with an error is kept as an :class:`InvalidTerm`."""
    try:
        return _term(token, column)
    except TermIssue as issue:
        return InvalidTerm(token, column), [issue]


def _term(token: str, column: int) -> tuple[Term, list[TermIssue]]:
    bad = next((i for i, char in enumerate(token) if not char.isascii()), None)
    if bad is not None:
        raise _non_ascii(token, bad)
    qualifier, body = Qualifier.PASS, token
    if token[0] in "+-~?":
        qualifier, body = Qualifier(token[0]), token[1:]
    if not (match := _NAME.match(body)):
        raise _not_a_term(token)
    name, rest = match.group(), body[match.end() :]
    lname, head = name.lower(), token[: len(token) - len(rest)]
    if rest.startswith("="):
        return _modifier(token, name, rest[1:], column, qualified=body != token)
    if lname in MODIFIERS:
        fix = f"{lname}={rest[1:]}" if rest.startswith(":") else None
        raise TermIssue(f"{lname} is a modifier: write {lname}=…", fix=fix)
    if lname not in MECHANISMS:
        raise _unknown(token, lname, rest)
    if lname == "all" and rest:
        raise TermIssue(f"all takes no argument ('{rest}')", len(head), head)
    if lname in ("ip4", "ip6"):
        return _ip_mechanism(qualifier, lname, head, rest, column), []
    return _domain_mechanism(qualifier, lname, head, rest, column), []


def _domain_mechanism(q: Qualifier, name: str, head: str, rest: str, column: int) -> Mechanism:
    spec_text, c4, c6 = None, None, None
    if rest.startswith(":"):
        spec_text, c4, c6 = _split_cidr(rest[1:]) if name in ("a", "mx") else (rest[1:], None, None)
    elif rest.startswith("/") and name in ("a", "mx"):
        leftover, c4, c6 = _split_cidr(rest)
        if leftover:
            raise TermIssue(f"'{rest}' is not a prefix length like /24 or //64", len(head))
    elif rest:
        raise TermIssue(f"unexpected '{rest}' after {name}", len(head))
    if spec_text == "" or (spec_text is None and name in ("include", "exists")):
        raise TermIssue(f"{name}: needs a domain, like {name}:example.com", len(head))
    end = len(head) + len(rest)
    cidr6 = _cidr(c6, 128, end - len(c6 or "") - 2)
    cidr4 = _cidr(c4, 32, end - len(f"//{c6}" if c6 else "") - len(c4 or "") - 1)
    if spec_text and (address := _ip(spec_text)) is not None:
        mech, cidr = f"ip{address.version}", c4 if address.version == 4 else c6 or c4
        fix = head[: -len(name)] + f"{mech}:{spec_text}" + (f"/{cidr}" if cidr else "")
        raise TermIssue(f"{name}: takes a host name; for an address write {mech}:", len(head), fix)
    spec = domain_spec(spec_text, len(head) + 1) if spec_text else None
    return Mechanism(q, name, spec, None, cidr4, cidr6, column)


def _ip_mechanism(q: Qualifier, name: str, head: str, rest: str, column: int) -> Mechanism:
    example = "192.0.2.0/24" if name == "ip4" else "2001:db8::/32"
    if not rest.startswith(":") or rest == ":":
        raise TermIssue(f"{name} needs an address, like {name}:{example}", len(head))
    text, slash, cidr_text = rest[1:].partition("/")
    offset, version = len(head) + 1, int(name[-1])
    qual, suffix = head[: -len(name)], slash + cidr_text
    address = _ip(text)
    quad = re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", text) and version == 4
    if address is None and quad and max(octets := list(map(int, text.split(".")))) <= 255:
        plain = ".".join(map(str, octets))
        msg = f"'{text}' has leading zeros (some read them as octal); write {plain}"
        raise TermIssue(msg, offset, f"{head}:{plain}{suffix}")
    if address is None and is_domain(text):
        msg = f"{name}: takes an address; for a host name write a:{text}"
        raise TermIssue(msg, offset, f"{qual}a:{text}{suffix}")
    if address is None:
        raise TermIssue(f"'{text}' is not an IPv{version} address", offset)
    if address.version != version:
        mech = f"ip{address.version}"
        raise TermIssue(
            f"'{text}' is an IPv{address.version} address: write {mech}:",
            offset,
            f"{qual}{mech}:{text}{suffix}",
        )
    cidr = _cidr(cidr_text, 32 if version == 4 else 128, offset + len(text)) if slash else None
    if version == 4:
        return Mechanism(q, name, address=address, cidr4=cidr, column=column)
    return Mechanism(q, name, address=address, cidr6=cidr, column=column)


def _modifier(
    token: str, name: str, value: str, column: int, *, qualified: bool
) -> tuple[Term, list[TermIssue]]:
    lname = name.lower()
    if lname in MECHANISMS:
        fix = token.replace("=", ":", 1)
        raise TermIssue(f"{lname} is a mechanism: write {lname}:{value}", 0, fix)
    if qualified:
        raise TermIssue(f"a modifier takes no qualifier: write {token[1:]}", 0, token[1:])
    if lname in MODIFIERS:
        if not value:
            raise TermIssue(f"{lname}= needs a domain, like {lname}=_spf.example.com")
        return Modifier(lname, domain_spec(value, len(name) + 1), column), []
    try:
        parsed = parse_macros(value)
    except TermIssue as issue:
        raise TermIssue(issue.message, len(name) + 1 + issue.offset) from None
    warn = Severity.WARNING
    if lname == "v":
        msg = f"a second '{token}' in the middle: two records were joined into one"
        return Modifier(name, parsed, column), [TermIssue(msg, severity=warn)]
    if suggestion := did_you_mean(lname, MODIFIERS):
        msg = f"unknown modifier {name}= is ignored by receivers (did you mean {suggestion}=?)"
        return Modifier(name, parsed, column), [TermIssue(msg, 0, f"{suggestion}={value}", warn)]
    return Modifier(name, parsed, column), []


def _clean(token: str) -> bool:
    return not _parse_term(token, 0)[1]


def _non_ascii(token: str, index: int) -> TermIssue:
    char = f"{token[index]!r} (U+{ord(token[index]):04X})"
    lookalike = unicodedata.normalize("NFKC", token).translate(_DASHES)
    if lookalike.isascii() and _clean(lookalike):
        return TermIssue(f"{char} is not ASCII; write {lookalike}", index, lookalike)
    head, sep, domain = token.rpartition(":" if ":" in token else "=")
    try:
        fix = head + sep + idna.encode(domain, uts46=True).decode() if sep else None
    except (idna.IDNAError, UnicodeError, ValueError):
        fix = None
    hint = "; write the domain in its xn-- form" if fix else ""
    return TermIssue(f"non-ASCII character {char}: SPF records are ASCII{hint}", index, fix)


def _not_a_term(token: str) -> TermIssue:
    body = token.lstrip("+-~?")
    if (address := _ip(body.partition("/")[0])) is not None:
        fix = f"ip{address.version}:{body}"
        return TermIssue(f"'{token}' is an address without a mechanism: write {fix}", 0, fix)
    if "." in body and is_domain(body):
        msg = f"'{token}' is a domain without a mechanism: write include:{body} for its SPF"
        return TermIssue(msg, 0, f"include:{body}")
    return TermIssue(f"'{token}' is not a mechanism or modifier")


def _unknown(token: str, name: str, rest: str) -> TermIssue:
    suggestion = did_you_mean(name, MECHANISMS + MODIFIERS, known_mistakes=_MISTAKES)
    value = rest[1:] if rest.startswith(":") else ""
    if suggestion in ("ip4", "ip6") and (address := _ip(value.partition("/")[0])):
        suggestion = f"ip{address.version}"
    if suggestion is None:
        return TermIssue(f"unknown mechanism '{name}'")
    fix = token[: len(token) - len(rest) - len(name)] + suggestion + rest
    if suggestion in MODIFIERS and rest.startswith(":"):
        fix = f"{suggestion}={value}"
    msg = f"unknown mechanism '{name}' (did you mean '{suggestion}'?)"
    return TermIssue(msg, 0, fix if _clean(fix) else None)


def _version(token: str) -> tuple[str | None, str | None]:
    """(problem, corrected text) for the version section ``token``."""
    low = token.lower()
    if low == "v=spf1":
        return None, None
    rest = token[6:]
    if low.startswith("v=spf1") and rest.isascii() and re.match(r"[-+~?]?[a-zA-Z]", rest):
        return f"'{token}': put a space after v=spf1", f"v=spf1 {rest}"
    if low.startswith("v=spf2"):
        return f"'{token}' is Sender ID, not SPF; write v=spf1", "v=spf1"
    fix = "v=spf1" if low.lstrip("\"'").startswith(("v=spf", "spf", "v:spf")) else None
    return f"'{token}' is not the SPF version; write v=spf1", fix


@by_text  # pure, and its record immutable: one parse per text
def parse(text: str) -> SpfRecord:
    """Parse an SPF TXT value (its strings already joined); never raises."""
    diagnostics: list[Diagnostic] = []
    if len(text) > MAX_TEXT:
        msg = f"record is {len(text)} characters; only the first {MAX_TEXT} were read"
        diagnostics.append(SYNTAX.at(msg, column=MAX_TEXT + 1))
        text = text[:MAX_TEXT]
    found = [(m.group(), m.start() + 1) for m in re.finditer(r"\S+", text)]
    tokens = [token for token, _ in found]
    gap = next((i for i, char in enumerate(text) if char.isspace() and char != " "), None)
    if text[:1].isspace() or gap is not None:
        where = 1 if text[:1].isspace() else (gap or 0) + 1
        what = "starts with white space" if where == 1 else f"has {text[where - 1]!r} in it"
        msg = f"record {what}; receivers expect 'v=spf1' first and plain spaces between terms"
        diagnostics.append(SYNTAX.at(msg, column=where, fix=" ".join(tokens)))
    version, foreign = "", False  # foreign: the version is not SPF's at all (v=DMARC1)
    glued = False  # terms written onto the version (v=spf1-all): judge the record once repaired
    first = tokens[0].lower().lstrip("\"'") if tokens else ""
    if first.startswith(("v=", "v:", "spf")) and not first.startswith("spf."):
        version, tokens, found = tokens[0], tokens[1:], found[1:]
        problem, corrected = _version(version)
        version = "v=spf1" if problem is None else version
        foreign = problem is not None and corrected is None
        glued = corrected is not None and corrected.lower() != "v=spf1"
        if problem:
            fix = " ".join([corrected, *tokens]) if corrected else None
            diagnostics.append(SYNTAX.at(problem, column=1 + text.find(version), tag="v", fix=fix))
    else:
        fix = " ".join(["v=spf1", *tokens])
        diagnostics.append(
            SYNTAX.at("record does not start with v=spf1", column=1, tag="v", fix=fix)
        )
    terms: list[Term] = []
    all_repaired = False
    for index, (token, column) in enumerate(found):
        term, issues = _parse_term(token, column)
        terms.append(term)
        for issue in issues:
            repaired = _parse_term(issue.fix, 0)[0] if issue.fix else None
            is_all = isinstance(repaired, Mechanism) and repaired.name == "all"
            all_repaired |= is_all
            tag = None if isinstance(term, InvalidTerm) else term.name
            fix = None if issue.fix is None else _fixed(tokens, index, issue.fix)
            if is_all and getattr(repaired, "qualifier", None) is Qualifier.PASS:
                fix = None  # never propose a record that lets every host pass
            where = column + issue.offset
            diagnostics.append(
                SYNTAX.at(issue.message, column=where, tag=tag, fix=fix, severity=issue.severity)
            )
    if not (foreign or glued):
        diagnostics += _check_terms(terms, tokens, all_repaired=all_repaired)
    diagnostics.sort(key=lambda d: d.column or 0)
    return SpfRecord(version, tuple(terms), tuple(diagnostics))


def _fixed(tokens: list[str], index: int, replacement: str | None, *, to_end: bool = False) -> str:
    """The record with the term at ``index`` replaced, deleted (None) or moved to the end."""
    out = list(tokens)
    if to_end:
        out.append(out.pop(index))
    elif replacement is None:
        del out[index]
    else:
        out[index] = replacement
    return " ".join(["v=spf1", *out])


def _check_terms(terms: list[Term], tokens: list[str], *, all_repaired: bool) -> list[Diagnostic]:
    """The record-level checks: duplicates, ptr, the all mechanism and what follows it."""
    out: list[Diagnostic] = []
    seen: dict[str, int] = {}
    for index, (term, token) in enumerate(zip(terms, tokens, strict=True)):
        if isinstance(term, Modifier) and term.name in MODIFIERS:
            if term.name in seen:
                fix = _fixed(tokens, index, None) if tokens[seen[term.name]] == token else None
                msg = f"{term.name}= appears more than once; the record is invalid"
                out.append(SYNTAX.at(msg, column=term.column, tag=term.name, fix=fix))
            seen.setdefault(term.name, index)
        if isinstance(term, Mechanism) and term.name == "ptr":
            msg = "ptr SHOULD NOT be used; list the hosts' addresses with ip4:/ip6: instead"
            out.append(PTR_MECHANISM.at(msg, column=term.column, tag="ptr"))
    alls = [i for i, t in enumerate(terms) if isinstance(t, Mechanism) and t.name == "all"]
    if not alls:
        if "redirect" not in seen and not all_repaired:
            msg = "no all and no redirect: unlisted hosts get neutral; end with ~all (or -all)"
            out.append(NO_ALL.at(msg, tag="all", fix=" ".join(["v=spf1", *tokens, "~all"])))
        return out
    first = alls[0]
    term = terms[first]
    assert isinstance(term, Mechanism)
    if term.qualifier in (Qualifier.PASS, Qualifier.NEUTRAL):
        code = PASS_ALL if term.qualifier is Qualifier.PASS else NEUTRAL_ALL
        what = "lets every host pass SPF" if code is PASS_ALL else "gives unlisted hosts neutral"
        msg, fix = f"'{tokens[first]}' {what}; write ~all", _fixed(tokens, first, "~all")
        out.append(code.at(msg, column=term.column, tag="all", fix=fix))
    later = [i for i in range(first + 1, len(terms)) if not isinstance(terms[i], Modifier)]
    if later:
        movable = len(alls) == 1 and not any(isinstance(terms[i], InvalidTerm) for i in later)
        fix = _fixed(tokens, first, None, to_end=True) if movable else None
        msg = f"'{' '.join(tokens[i] for i in later)}' after {tokens[first]} is never evaluated"
        tag = getattr(terms[later[0]], "name", None)
        out.append(AFTER_ALL.at(msg, column=terms[later[0]].column, tag=tag, fix=fix))
    if "redirect" in seen:
        index = seen["redirect"]
        msg = f"'{tokens[index]}' is ignored because the record has all; delete it or use include:"
        fix = _fixed(tokens, index, None)
        out.append(REDIRECT_WITH_ALL.at(msg, column=terms[index].column, tag="redirect", fix=fix))
    return out
