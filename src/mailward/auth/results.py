"""The Authentication-Results header field (RFC 8601): write it, read it tolerantly.

Writing: :class:`AuthenticationResults` holds the authserv-id and one :class:`MethodResult`
per check; :meth:`AuthenticationResults.to_header` writes the field (one result per folded
line, RFC 8601 §2.2). The builders :func:`spf`, :func:`dkim`, :func:`dmarc`, :func:`arc` and
:func:`iprev` fill the properties of RFC 8601 §2.7 (``smtp.mailfrom``, ``header.d``,
``header.s``, ``header.from``, ``policy.dmarc``...). Every value and comment passes
:func:`printable` first: values come from the message, and a header field must stay one
ASCII field whatever a sender put in them. A value that is not a token (RFC 2045) nor an
address or domain is written as a quoted string.

Reading: :func:`parse` never raises. It returns the structure it could recover and a
:class:`ParseNote` for each problem (with the 1-based column): results without an authserv-id
(as some large providers write them: ``spf=pass (sender IP is ...) smtp.mailfrom=...``), comments
anywhere (nested, with quoted pairs), quoted strings, a version number after the authserv-id
or a method (``dkim/1``), and garbage, which is skipped up to the next ``;``.

:func:`strip_forged` drops the fields that carry our own authserv-id from an incoming message
(RFC 8601 §5): only we may write those, so any already present were forged or are stale.

SECURITY: the fields read come from the message (hostile). :func:`parse` reads at most
:data:`MAX_FIELD` characters and :data:`MAX_RESULTS` results, scanning each character a
bounded number of times (no recursion, no backtracking regular expression).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailward.auth.dmarc import DmarcVerdict

MAX_FIELD = 64 * 1024
MAX_RESULTS = 100
HEADER = "Authentication-Results"

__all__ = [
    "AuthenticationResults",
    "MethodResult",
    "ParseNote",
    "Property",
    "arc",
    "authserv_id_of",
    "dkim",
    "dmarc",
    "from_verdict",
    "iprev",
    "parse",
    "printable",
    "spf",
    "strip_forged",
]

_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+\Z")  # RFC 2045 token
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
_ADDRESS = re.compile(rf"(?:(?:{_ATOM}(?:\.{_ATOM})*)?@)?{_DOMAIN}\Z")
_KEYWORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z")


def printable(text: str, limit: int = 512) -> str:
    """``text`` with every character outside printable ASCII shown as ``?``, cut at
    ``limit`` characters (marked with ``...``)."""
    masked = "".join(c if " " <= c <= "~" else "?" for c in text[:limit])
    return masked + ("..." if len(text) > limit else "")


def _comment(text: str) -> str:
    escaped = re.sub(r"([()\\])", r"\\\1", printable(text))
    return f"({escaped})"


def _value(text: str) -> str:
    """A value as RFC 8601 writes it: a token, an address or domain, else a quoted string."""
    clean = printable(text)
    if _TOKEN.match(clean) or _ADDRESS.match(clean):
        return clean
    return '"' + re.sub(r'(["\\])', r"\\\1", clean) + '"'


@dataclass(frozen=True)
class Property:
    """``ptype.name=value`` (RFC 8601 §2.3): ``smtp.mailfrom=example.com``."""

    ptype: str
    name: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.ptype}.{self.name}"


@dataclass(frozen=True)
class MethodResult:
    """One ``method[/version]=result [reason=...] [(comment)] ptype.prop=value...``."""

    method: str
    result: str
    version: str | None = None
    reason: str | None = None
    properties: tuple[Property, ...] = ()
    comment: str | None = None

    def get(self, key: str) -> str | None:
        """The first value of ``ptype.property`` (``"header.d"``), if present."""
        return next((p.value for p in self.properties if p.key == key.lower()), None)

    def to_text(self) -> str:
        method = self.method + (f"/{self.version}" if self.version else "")
        parts = [f"{method}={self.result}"]
        if self.comment:
            parts.append(_comment(self.comment))
        if self.reason is not None:
            parts.append(f"reason={_value(self.reason)}")
        parts.extend(f"{p.ptype}.{p.name}={_value(p.value)}" for p in self.properties)
        return " ".join(parts)


@dataclass(frozen=True)
class ParseNote:
    """A problem met while reading a field: where (1-based column) and what."""

    column: int
    message: str


@dataclass(frozen=True)
class AuthenticationResults:
    """One Authentication-Results field: who judged (``authserv_id``; ``None`` when the field
    names nobody) and the results (empty: ``none``)."""

    authserv_id: str | None
    results: tuple[MethodResult, ...] = ()
    version: str | None = None
    notes: tuple[ParseNote, ...] = field(default=(), compare=False)

    def find(self, method: str) -> tuple[MethodResult, ...]:
        return tuple(r for r in self.results if r.method == method.lower())

    def to_value(self, *, fold: bool = True) -> str:
        """The field body: ``authserv-id; method=result ...; ...`` (or ``; none``)."""
        head = _value(self.authserv_id or "unknown")
        if self.version:
            head += f" {self.version}"
        parts = [r.to_text() for r in self.results] or ["none"]
        return (";\r\n\t" if fold else "; ").join([head, *parts])

    def to_header(self, *, fold: bool = True) -> str:
        """``Authentication-Results: ...`` without the final CRLF."""
        return f"{HEADER}: {self.to_value(fold=fold)}"


def _props(*pairs: tuple[str, str | None]) -> tuple[Property, ...]:
    out = []
    for key, value in pairs:
        if value is not None:
            ptype, name = key.split(".", 1)
            out.append(Property(ptype, name, value))
    return tuple(out)


def spf(
    result: str,
    *,
    mailfrom: str | None = None,
    helo: str | None = None,
    comment: str | None = None,
    reason: str | None = None,
) -> MethodResult:
    """``spf=RESULT smtp.mailfrom=... [smtp.helo=...]`` (RFC 8601 §2.7.2)."""
    properties = _props(("smtp.mailfrom", mailfrom), ("smtp.helo", helo))
    return MethodResult("spf", result, reason=reason, properties=properties, comment=comment)


def dkim(
    result: str,
    *,
    d: str | None = None,
    s: str | None = None,
    i: str | None = None,
    b: str | None = None,
    a: str | None = None,
    comment: str | None = None,
    reason: str | None = None,
) -> MethodResult:
    """``dkim=RESULT header.d=... header.s=... [header.i/b/a]`` (RFC 8601 §2.7.1; ``header.b``
    is the first characters of the signature, to tell several apart, RFC 6008)."""
    properties = _props(
        ("header.d", d), ("header.i", i), ("header.s", s), ("header.a", a), ("header.b", b)
    )
    return MethodResult("dkim", result, reason=reason, properties=properties, comment=comment)


def dmarc(
    result: str,
    *,
    header_from: str | None = None,
    policy: str | None = None,
    comment: str | None = None,
    reason: str | None = None,
) -> MethodResult:
    """``dmarc=RESULT header.from=... policy.dmarc=...`` (RFC 7489 §11.2 registration:
    ``policy.dmarc`` is the policy applied, none/quarantine/reject)."""
    properties = _props(("header.from", header_from), ("policy.dmarc", policy))
    return MethodResult("dmarc", result, reason=reason, properties=properties, comment=comment)


def from_verdict(verdict: DmarcVerdict) -> MethodResult:
    """The ``dmarc=`` result for a :class:`~mailward.auth.dmarc.DmarcVerdict`, with the
    published and applied policies in the comment as receivers commonly write them."""
    author = verdict.author_domain or (verdict.header_from[0] if verdict.header_from else None)
    comment = None
    if verdict.requested is not None:
        applied = verdict.disposition or "temperror"
        comment = f"p={verdict.requested} dis={applied}" + (" t=y" if verdict.testing else "")
    return dmarc(
        str(verdict.result),
        header_from=author,
        policy=str(verdict.disposition) if verdict.disposition is not None else None,
        comment=comment,
    )


def arc(
    result: str,
    *,
    oldest_pass: int | None = None,
    remote_ip: str | None = None,
    comment: str | None = None,
) -> MethodResult:
    """``arc=RESULT [header.oldest-pass=N] [smtp.remote-ip=...]`` (RFC 8617 §10.1)."""
    properties = _props(
        ("header.oldest-pass", None if oldest_pass is None else str(oldest_pass)),
        ("smtp.remote-ip", remote_ip),
    )
    return MethodResult("arc", result, properties=properties, comment=comment)


def iprev(result: str, *, ip: str, comment: str | None = None) -> MethodResult:
    """``iprev=RESULT policy.iprev=IP`` (RFC 8601 §2.7.3, §3)."""
    return MethodResult("iprev", result, properties=_props(("policy.iprev", ip)), comment=comment)


# -- reading ---------------------------------------------------------------------------------

_SPACE = " \t\r\n"
_WORD_STOP = _SPACE + '();="'  # a method, result, ptype.property or authserv-id ends here
_VALUE_STOP = _SPACE + "();"  # a value may hold "=" (base64) and "@" (addresses)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.notes: list[ParseNote] = []

    def note(self, message: str, at: int | None = None) -> None:
        if len(self.notes) < MAX_RESULTS:
            self.notes.append(ParseNote((self.pos if at is None else at) + 1, message))

    @property
    def done(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def cfws(self) -> list[str]:
        """Skip white space and comments; return the comments' text (quoted pairs undone)."""
        comments: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in _SPACE:
                self.pos += 1
            elif char == "(":
                comments.append(self._comment())
            else:
                break
        return comments

    def _comment(self) -> str:
        start = self.pos
        depth = 0
        out: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            self.pos += 1
            if char == "\\" and self.pos < len(text):
                out.append(text[self.pos])
                self.pos += 1
                continue
            if char == "(":
                depth += 1
                if depth == 1:
                    continue
            elif char == ")":
                depth -= 1
                if depth == 0:
                    return "".join(out)
            out.append(char)
        self.note("a comment is not closed", start)
        return "".join(out)

    def quoted(self) -> str:
        start = self.pos
        self.pos += 1  # the opening quote
        out: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            self.pos += 1
            if char == "\\" and self.pos < len(text):
                out.append(text[self.pos])
                self.pos += 1
            elif char == '"':
                return "".join(out)
            else:
                out.append(char)
        self.note("a quoted string is not closed", start)
        return "".join(out)

    def run(self, stop: str) -> str:
        start = self.pos
        text = self.text
        while self.pos < len(text) and text[self.pos] not in stop:
            self.pos += 1
        return text[start : self.pos]

    def value(self) -> str:
        if self.peek() == '"':
            return self.quoted()
        return self.run(_VALUE_STOP)

    def skip_to_semicolon(self) -> None:
        """Resynchronise after garbage: move past quoted strings and comments to the next
        ``;`` (not consumed)."""
        while not self.done and self.peek() != ";":
            char = self.peek()
            if char == '"':
                self.quoted()
            elif char == "(":
                self._comment()
            else:
                self.pos += 1


def parse(value: str) -> AuthenticationResults:
    """Read an Authentication-Results field body (after the colon); never raises."""
    notes: list[ParseNote] = []
    if len(value) > MAX_FIELD:
        notes.append(ParseNote(MAX_FIELD + 1, f"the field is cut at {MAX_FIELD} characters"))
        value = value[:MAX_FIELD]
    reader = _Reader(value)
    reader.cfws()
    authserv_id: str | None = None
    version: str | None = None
    first_is_result = False
    if reader.done:
        reader.note("the field is empty: no authserv-id and no results")
    elif reader.peek() == ";":
        reader.note("the field has no authserv-id")
    else:
        start = reader.pos
        word = reader.quoted() if reader.peek() == '"' else reader.run(_WORD_STOP)
        reader.cfws()
        if reader.peek() == "=":
            reader.pos = start  # "spf=pass ...": results without an authserv-id
            first_is_result = True
            reader.note("the field has no authserv-id", start)
        else:
            authserv_id = word or None
            if reader.peek().isdigit():
                version = reader.run(_WORD_STOP)
                if not version.isdigit():
                    reader.note(f"the version {printable(version)!r} is not a number")
                reader.cfws()
    results: list[MethodResult] = []
    none_seen = False
    while not reader.done and len(results) < MAX_RESULTS:
        if first_is_result:
            first_is_result = False
        elif reader.peek() == ";":
            reader.pos += 1
        else:
            reader.note(f"expected ';', found {printable(reader.peek())!r}")
            reader.skip_to_semicolon()
            continue
        reader.cfws()
        if reader.done:
            break  # a trailing ";" is common and harmless
        result = _resinfo(reader)
        if result is None:
            continue
        if result.method == "none" and not result.result:
            none_seen = True
            continue
        results.append(result)
    if not reader.done:
        reader.note(f"more than {MAX_RESULTS} results: the rest is not read")
    if none_seen and results:
        reader.note("'none' together with results")
    return AuthenticationResults(
        authserv_id, tuple(results), version, notes=tuple(notes + reader.notes)
    )


def _resinfo(reader: _Reader) -> MethodResult | None:
    """``method[/version] = result [reason=...] [props]``, up to the next ``;``."""
    start = reader.pos
    comments: list[str] = []
    method = reader.run(_WORD_STOP + "/").lower()
    comments += reader.cfws()
    version = None
    if reader.peek() == "/":
        reader.pos += 1
        comments += reader.cfws()
        version = reader.run(_WORD_STOP)
        comments += reader.cfws()
    if reader.peek() != "=":
        if method == "none" and reader.peek() in (";", ""):
            return MethodResult("none", "")
        reader.note(f"a result needs 'method=result', found {printable(method)!r}", start)
        reader.skip_to_semicolon()
        return None
    if not _KEYWORD.match(method):
        reader.note(f"{printable(method)!r} is not a method name", start)
        if not method:  # nothing to name the result by: skip it
            reader.skip_to_semicolon()
            return None
    reader.pos += 1
    comments += reader.cfws()
    result = reader.run(_WORD_STOP).lower()
    if not result:
        reader.note(f"{printable(method)!r} has no result", reader.pos)
    comments += reader.cfws()
    reason: str | None = None
    properties: list[Property] = []
    while not reader.done and reader.peek() != ";":
        at = reader.pos
        key = reader.quoted() if reader.peek() == '"' else reader.run(_WORD_STOP)
        comments += reader.cfws()
        if not key or reader.peek() != "=":
            reader.note(f"expected 'ptype.property=value', found {printable(key)!r}", at)
            if not key and not reader.done and reader.peek() != ";":
                reader.pos += 1  # a stray '=' or quote: always move on
            comments += reader.cfws()
            continue
        reader.pos += 1
        comments += reader.cfws()
        value = reader.value()
        comments += reader.cfws()
        if key.lower() == "reason":
            reason = value
        elif "." in key and all(key.split(".", 1)):
            ptype, name = key.lower().split(".", 1)
            properties.append(Property(ptype, name, value))
        else:
            reader.note(f"{printable(key)!r} is not ptype.property", at)
            properties.append(Property(key.lower(), "", value))
    return MethodResult(
        method,
        result,
        version=version,
        reason=reason,
        properties=tuple(properties),
        comment=" ".join(comments) if comments else None,
    )


def authserv_id_of(value: str) -> str | None:
    """The authserv-id an Authentication-Results field names (``None``: none)."""
    return parse(value).authserv_id


def strip_forged(
    headers: Sequence[tuple[str, str]] | Iterable[tuple[str, str]], authserv_id: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Split ``(name, value)`` header fields into those kept and the Authentication-Results
    fields naming ``authserv_id`` (compared without case), which are removed (RFC 8601 §5).
    A field that cannot be read at all is kept: it names nobody."""
    ours = authserv_id.strip().lower()
    kept: list[tuple[str, str]] = []
    removed: list[tuple[str, str]] = []
    for name, value in headers:
        if name.strip().lower() == HEADER.lower():
            found = authserv_id_of(value)
            if found is not None and found.strip().lower() == ours:
                removed.append((name, value))
                continue
        kept.append((name, value))
    return kept, removed
