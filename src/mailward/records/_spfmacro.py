"""SPF macro-strings and domain-specs (RFC 7208 §7.1), the part of the SPF grammar an
evaluator needs again to expand ``include:%{i}.example.com`` or the ``exp=`` text.

SECURITY: input is hostile DNS text, already bounded by :data:`mailward.records.spf.MAX_TEXT`;
one linear pass, digit runs bounded before conversion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailward.codes import Severity

_MACRO_BODY = re.compile(r"([slodiphcrtvSLODIPHCRTV])([0-9]*)([rR]?)([.\-+,/_=]*)")
ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@dataclass(frozen=True)
class MacroLiteral:
    """Text copied as is."""

    text: str

    def to_text(self) -> str:
        return self.text


@dataclass(frozen=True)
class MacroEscape:
    """``%%``, ``%_`` or ``%-``: expands to ``%``, a space, or ``%20`` (RFC 7208 §7.1)."""

    char: str

    @property
    def expansion(self) -> str:
        return {"%": "%", "_": " ", "-": "%20"}[self.char]

    def to_text(self) -> str:
        return "%" + self.char


@dataclass(frozen=True)
class MacroExpand:
    """``%{letter digits r delimiters}``; an upper-case letter is URL-escaped when expanded."""

    letter: str
    digits: int | None = None
    reverse: bool = False
    delimiters: str = ""

    def to_text(self) -> str:
        digits = "" if self.digits is None else str(self.digits)
        return f"%{{{self.letter}{digits}{'r' * self.reverse}{self.delimiters}}}"


MacroPart = MacroLiteral | MacroEscape | MacroExpand


@dataclass(frozen=True)
class MacroString:
    """A macro-string as parts, for an evaluator to expand (RFC 7208 §7.1)."""

    parts: tuple[MacroPart, ...]

    @property
    def has_macros(self) -> bool:
        return any(isinstance(part, MacroExpand) for part in self.parts)

    def to_text(self) -> str:
        return "".join(part.to_text() for part in self.parts)

    __str__ = to_text


def parse_macro_string(text: str, *, explanation: bool = False) -> MacroString | None:
    """A macro-string, or with ``explanation`` an explain-string (spaces, ``c r t`` allowed).

    ``None`` on a syntax error; for ``exp`` text that means "no explanation" (RFC 7208 §6.2).
    """
    try:
        return parse_macros(text, explanation=explanation)
    except TermIssue:
        return None


@dataclass
class TermIssue(Exception):
    """A problem in one term: message, offset in the term, and the corrected term."""

    message: str
    offset: int = 0
    fix: str | None = None
    severity: Severity | None = None


def parse_macros(text: str, *, explanation: bool = False) -> MacroString:
    parts: list[MacroPart] = []
    start = i = 0
    while i < len(text):
        if text[i] != "%":
            if not ("\x21" <= text[i] <= "\x7e" or (explanation and text[i] == " ")):
                raise TermIssue(f"character {text[i]!r} is not allowed here", i)
            i += 1
            continue
        parts += [MacroLiteral(text[start:i])] if i > start else []
        following = text[i + 1 : i + 2]
        if following and following in "%_-":
            parts.append(MacroEscape(following))
        elif following != "{":
            what = f"'%{following}'" if following else "a lone '%' at the end"
            raise TermIssue(f"{what} is not a macro; write %% for a literal '%'", i)
        elif (close := text.find("}", i + 2)) < 0:
            raise TermIssue("macro '%{' is not closed with '}'", i)
        elif not (match := _MACRO_BODY.fullmatch(body := text[i + 2 : close])):
            raise TermIssue(
                f"'%{{{body}}}' is not a macro (letters: s l o d i p h v; then "
                "digits, r, delimiters .-+,/_=)",
                i,
            )
        elif match[1] in "crtCRT" and not explanation:
            raise TermIssue(f"macro %{{{match[1]}}} is allowed only in the text exp= points to", i)
        elif len(match[2]) > 9 or (match[2] and int(match[2]) == 0):
            raise TermIssue(f"'%{{{body}}}' must keep 1 to 999999999 labels", i)
        else:
            digits = int(match[2]) if match[2] else None
            parts.append(MacroExpand(match[1], digits, bool(match[3]), match[4]))
            i = close - 1
        i += 2
        start = i
    parts += [MacroLiteral(text[start:])] if len(text) > start else []
    return MacroString(tuple(parts))


def is_toplabel(label: str) -> bool:
    if not label or not set(label) <= ALNUM | {"-"}:
        return False
    if "-" in label:
        return label[0] in ALNUM and label[-1] in ALNUM
    return not label.isdigit()


def domain_spec(text: str, offset: int = 0) -> MacroString:
    """A domain-spec: a macro-string ending in ``.toplabel`` or a macro (RFC 7208 §7.1)."""
    try:
        spec = parse_macros(text)
    except TermIssue as issue:
        raise TermIssue(issue.message, offset + issue.offset) from None
    bare = text[:-1] if text.endswith(".") else text
    last = spec.parts[-1] if spec.parts else MacroLiteral("")
    if isinstance(last, MacroLiteral):
        tail = bare[bare.rfind(".") + 1 :] if "." in last.text.rstrip(".") else ""
        if not is_toplabel(tail):
            raise TermIssue(f"'{text}' does not end in a domain name like example.com", offset)
    labels = bare.split(".")
    if not spec.has_macros and ("" in labels or max(map(len, labels)) > 63 or len(bare) > 253):
        raise TermIssue(f"'{text}' is not a valid domain name (empty or over-long label)", offset)
    return spec


def is_domain(text: str) -> bool:
    try:
        domain_spec(text)
    except TermIssue:
        return False
    return True
