"""DMARC policy records (RFC 9989, which obsoletes RFC 7489 and RFC 9091): parse and lint.

RFC 9989 §4.6 (reporting URIs), §4.7 (the tags: ``v p sp np psd t adkim aspf rua ruf fo``;
unknown tags MUST be ignored), §4.8 (formal definition; a syntax error outside ``v`` falls
back to the tag's default) and §4.10.1 (policy discovery: a record without ``p`` is read as
``p=none``; an invalid ``p``, ``sp`` or ``np`` is read as ``p=none`` only when ``rua`` has a
valid URI, otherwise the record gives no DMARC processing at all). ``pct``, ``rf`` and ``ri``
of RFC 7489 are gone (``t=y`` replaces ``pct``); the ``!size`` suffix on a URI is obsolete
syntax that reporters ignore, parsed here so old records still read cleanly.

SECURITY: input is hostile DNS text. The tag-list split is linear (:mod:`._taglist`), input
beyond ``MAX_TEXT`` characters is reported and cut, and every number is bounded in digits
before it is converted. Parsed records are remembered by text in a bounded memo
(:mod:`._cache`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from mailward.codes import Diagnostic, Severity, define
from mailward.records._cache import by_text
from mailward.records._suggest import did_you_mean
from mailward.records._taglist import Tag, TagList, format_taglist, parse_taglist

MAX_TEXT = 65_535

SYNTAX = define(
    "dmarc.syntax",
    Severity.ERROR,
    "DMARC record has a syntax error",
    why="A bad v= makes receivers ignore the whole record; another bad value is replaced by "
    "its default or ignored.",
    example="v=DMARC1; p=rejected",
    fix="Write the value the message names (p= takes none, quarantine or reject).",
    refs=("RFC 9989 §4.7", "RFC 9989 §4.8"),
)
UNKNOWN_TAG = define(
    "dmarc.unknown-tag",
    Severity.WARNING,
    "DMARC record has an unknown tag",
    why="Receivers ignore tags they do not know, so what the tag was meant to say has no effect.",
    example="v=DMARC1; p=reject; export=mailto:reports@example.com",
    fix="Use the tag's real name (rua=, p=, sp=, ...) or delete it.",
    refs=("RFC 9989 §4.7",),
)
REMOVED_TAG = define(
    "dmarc.removed-tag",
    Severity.INFO,
    "DMARC record has a tag that RFC 9989 removed",
    why="pct=, rf= and ri= are no longer part of DMARC; current receivers ignore them.",
    example="v=DMARC1; p=quarantine; pct=25",
    fix="Delete pct=, rf= and ri=; to try a policy out, write t=y.",
    refs=("RFC 9989 §4.7", "RFC 9989 §A.6"),
)
BAD_URI = define(
    "dmarc.bad-uri",
    Severity.ERROR,
    "DMARC report address is malformed",
    why="Receivers cannot send reports to an address they cannot read, so you never learn who "
    "sends mail as your domain.",
    example="v=DMARC1; p=none; rua=reports@example.com",
    fix="Write each address as mailto:name@example.com, separated by commas.",
    refs=("RFC 9989 §4.6", "RFC 9989 §4.8"),
)
POLICY_NONE = define(
    "dmarc.policy-none",
    Severity.WARNING,
    "DMARC policy is none",
    why="p=none asks receivers to do nothing with mail that fails DMARC: forgeries still "
    "reach the inbox.",
    example="v=DMARC1; p=none; rua=mailto:dmarc@example.com",
    fix="Once the reports show your own mail passes, go to p=quarantine with t=y, then drop "
    "t=y, then p=reject.",
    refs=("RFC 9989 §4.7", "RFC 9989 §5.1"),
)
SUBDOMAIN_POLICY_NONE = define(
    "dmarc.subdomain-policy-none",
    Severity.WARNING,
    "DMARC subdomain policy is none under an enforcing policy",
    why="sp=none or np=none lets anyone forge mail from your subdomains, or from made-up "
    "ones, though the domain itself is protected.",
    example="v=DMARC1; p=reject; sp=none",
    fix="Delete sp=none and np=none so subdomains inherit p=, or set them to quarantine.",
    refs=("RFC 9989 §4.7", "RFC 9989 §4.10.1"),
)


class Policy(StrEnum):
    """A Domain Owner Assessment Policy (``p``, ``sp``, ``np``)."""

    NONE = "none"
    QUARANTINE = "quarantine"
    REJECT = "reject"

    @property
    def tested(self) -> Policy:
        """The policy applied under ``t=y``: one level below (RFC 9989 §4.7)."""
        return Policy.QUARANTINE if self is Policy.REJECT else Policy.NONE


class Alignment(StrEnum):
    """Identifier alignment mode (``adkim``, ``aspf``)."""

    RELAXED = "r"
    STRICT = "s"


class Psd(StrEnum):
    """``psd``: whether the domain is a public suffix domain (``u``: not said)."""

    YES = "y"
    NO = "n"
    UNKNOWN = "u"


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


@dataclass(frozen=True)
class DmarcUri:
    """One reporting URI: scheme (lower case, ``""`` if missing), the rest, and the obsolete
    ``!size`` limit in bytes (``k`` = 1024)."""

    scheme: str
    address: str
    max_size: int | None = None

    @property
    def valid(self) -> bool:
        """Syntactically usable (a non-``mailto`` scheme is valid, if rarely supported)."""
        return all(severity is not Severity.ERROR for severity, _, _ in _uri_problems(self))

    def to_text(self) -> str:
        out = (f"{self.scheme}:" if self.scheme else "") + self.address
        if self.max_size is None:
            return out
        unit = next((u for u in "tgmk" if self.max_size and not self.max_size % _UNITS[u]), "")
        return f"{out}!{self.max_size // _UNITS[unit]}{unit}"


_ORDER = ("p", "sp", "np", "psd", "t", "adkim", "aspf", "rua", "ruf", "fo")
_REMOVED = {
    "pct": "t=y replaces it for trying a policy out",
    "rf": "failure reports are always in the AFRF format",
    "ri": "aggregate reports are sent daily",
}


@dataclass(frozen=True)
class DmarcRecord:
    """A parsed DMARC record. A tag's field is ``None`` when the tag is absent (its default
    then applies, see the properties), so ``to_text`` writes exactly the tags present."""

    version: str | None = "DMARC1"
    p: Policy | None = None
    sp: Policy | None = None
    np: Policy | None = None
    psd: Psd | None = None
    t: bool | None = None
    adkim: Alignment | None = None
    aspf: Alignment | None = None
    rua: tuple[DmarcUri, ...] | None = None
    ruf: tuple[DmarcUri, ...] | None = None
    fo: tuple[str, ...] | None = None
    invalid: tuple[tuple[str, str], ...] = ()  # known tags with a bad value, as written
    removed: tuple[tuple[str, str], ...] = ()  # pct=, rf=, ri=, as written
    unknown: tuple[tuple[str, str], ...] = ()  # in their order; receivers ignore them
    version_first: bool = True
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    @property
    def applies(self) -> bool:
        """Whether a receiver applies DMARC with this record (RFC 9989 §4.7, §4.10.1)."""
        if self.version != "DMARC1" or not self.version_first:
            return False
        return not self._bad_policy or any(uri.valid for uri in self.rua or ())

    @property
    def _bad_policy(self) -> bool:
        return any(name in ("p", "sp", "np") for name, _ in self.invalid)

    @property
    def effective_policy(self) -> Policy | None:
        """The policy for the domain itself; ``None`` when the record gives no DMARC."""
        if not self.applies:
            return None
        return Policy.NONE if self._bad_policy or self.p is None else self.p

    @property
    def effective_subdomain_policy(self) -> Policy | None:
        """The policy for existing subdomains: ``sp``, else ``p``."""
        if self.sp is None or self.effective_policy is None or self._bad_policy:
            return self.effective_policy
        return self.sp

    @property
    def effective_nonexistent_policy(self) -> Policy | None:
        """The policy for non-existent subdomains: ``np``, else ``sp``, else ``p``."""
        if self.np is None or self.effective_policy is None or self._bad_policy:
            return self.effective_subdomain_policy
        return self.np

    @property
    def testing(self) -> bool:
        """``t=y``: apply each policy one level below (:attr:`Policy.tested`)."""
        return bool(self.t)

    @property
    def dkim_alignment(self) -> Alignment:
        return self.adkim or Alignment.RELAXED

    @property
    def spf_alignment(self) -> Alignment:
        return self.aspf or Alignment.RELAXED

    @property
    def public_suffix(self) -> Psd:
        return self.psd or Psd.UNKNOWN

    @property
    def failure_options(self) -> tuple[str, ...]:
        return self.fo or ("0",)

    def to_text(self) -> str:
        """Canonical text: ``v=DMARC1; p=...`` in a fixed tag order, unknown tags last."""
        pairs = [("v", self.version)] if self.version is not None else []
        invalid = dict(self.invalid)
        for name in _ORDER:
            value = getattr(self, name)
            if value is not None:
                pairs.append((name, _format(value)))
            elif name in invalid:
                pairs.append((name, invalid[name]))
        return format_taglist([*pairs, *self.removed, *self.unknown])


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "y" if value else "n"
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple):
        if value and isinstance(value[0], DmarcUri):
            return ",".join(uri.to_text() for uri in value)
        return ":".join(value)
    return str(value)


class _Bad(Exception):
    """A tag value that does not parse, with the value it probably meant."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.message, self.suggestion = message, suggestion


_VALUE_MISTAKES = {
    "p": {"monitor": "none", "off": "none", "block": "reject", "deny": "reject",
          "spam": "quarantine", "junk": "quarantine"},
    "adkim": {"relaxed": "r", "strict": "s"},
    "psd": {"yes": "y", "no": "n", "true": "y", "false": "n", "unknown": "u"},
    "t": {"yes": "y", "no": "n", "true": "y", "false": "n", "1": "y", "0": "n"},
}  # fmt: skip
_ENUMS: dict[str, type[StrEnum]] = {"p": Policy, "sp": Policy, "np": Policy, "psd": Psd,
                                    "adkim": Alignment, "aspf": Alignment}  # fmt: skip


def _value(name: str, value: str) -> Any:
    """The typed value of a known tag, or :class:`_Bad`."""
    if not value:
        raise _Bad(f"{name}= has no value")
    if name in ("rua", "ruf"):
        return tuple(_parse_uri(part.strip(" \t")) for part in value.split(","))
    if name == "fo":
        parts = tuple(part.strip(" \t").lower() for part in value.split(":"))
        if not set(parts) <= {"0", "1", "d", "s"} or len(set(parts)) < len(parts):
            raise _Bad(f"fo={value}: give 0 or 1, d, s, once each, joined by ':' (like fo=1:d)")
        if {"0", "1"} <= set(parts):
            raise _Bad(f"fo={value}: 0 and 1 cannot both be given")
        return parts
    kind = _ENUMS.get(name)
    choices = [member.value for member in kind] if kind else ["y", "n"]
    if value.lower() in choices:
        return kind(value.lower()) if kind else value.lower() == "y"
    mistakes = _VALUE_MISTAKES.get({"sp": "p", "np": "p", "aspf": "adkim"}.get(name, name))
    suggestion = did_you_mean(value, choices, known_mistakes=mistakes)
    hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
    raise _Bad(f"{name}={value} is not one of {', '.join(choices)}{hint}", suggestion)


def _parse_uri(text: str) -> DmarcUri:
    scheme, rest = "", text
    if match := re.match(r"([A-Za-z][A-Za-z0-9+.\-]{0,31}):", text):
        scheme, rest = match[1].lower(), text[match.end() :]
    bang = rest.rfind("!")
    size = re.fullmatch(r"([0-9]{1,15})([kmgtKMGT]?)", rest[bang + 1 :]) if bang >= 0 else None
    if size is None:
        return DmarcUri(scheme, rest)
    return DmarcUri(scheme, rest[:bang], int(size[1]) * _UNITS[size[2].lower()])


_LOCAL = re.compile(r"[A-Za-z0-9.#$&'*+/=?^_`{|}~%\-]{1,64}")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?")


def _mailbox_problem(address: str) -> str | None:
    mailbox = address.partition("?")[0]
    local, at, domain = mailbox.rpartition("@")
    labels = domain[:-1].split(".") if domain.endswith(".") else domain.split(".")
    if not at or not _LOCAL.fullmatch(local):
        return f"'{mailbox}' is not an email address"
    if len(labels) < 2 or len(domain) > 253 or not all(map(_LABEL.fullmatch, labels)):
        return f"'{domain}' is not a valid domain name"
    if labels[-1].isdigit():
        return f"'{domain}' is not a valid domain name"
    return None


def _uri_problems(uri: DmarcUri) -> list[tuple[Severity, str, str | None]]:
    """(severity, message, corrected URI text) for each problem with ``uri``."""
    text = uri.to_text()
    if "!" in uri.address:
        suffix = uri.address[uri.address.rfind("!") :]
        unit = re.fullmatch(r"!([0-9]{1,15})\s*([kmgt])b?", suffix, re.IGNORECASE)
        fixed = text.replace(suffix, f"!{unit[1]}{unit[2].lower()}") if unit else None
        return [(Severity.ERROR, f"'{suffix}' is not a size suffix like !10m (or drop it)", fixed)]
    if not uri.scheme:
        fixed = f"mailto:{text}" if not _mailbox_problem(uri.address) else None
        return [(Severity.ERROR, f"'{text}' has no scheme: write mailto:{text}", fixed)]
    if uri.scheme != "mailto":
        message = f"{uri.scheme}: URIs are rarely supported; receivers must support mailto:"
        return [(Severity.WARNING, message, None)]
    squeezed = re.sub(r"\s+", "", uri.address).removeprefix("//")
    if problem := _mailbox_problem(uri.address):
        fixed = "mailto:" + squeezed if not _mailbox_problem(squeezed) else None
        return [(Severity.ERROR, f"{text}: {problem}", fixed)]
    return []


_TAG_MISTAKES = {
    "export": "rua", "rue": "rua", "rau": "rua", "ru": "rua", "report": "rua", "reports": "rua",
    "aggregate": "rua", "forensic": "ruf", "failure": "ruf", "policy": "p", "pol": "p",
    "sub": "sp", "subdomain": "sp", "subpolicy": "sp", "nonexistent": "np", "version": "v",
    "dkim": "adkim", "spf": "aspf", "test": "t", "testing": "t", "options": "fo",
}  # fmt: skip


@by_text  # pure, and its record immutable: one parse per text
def parse(text: str) -> DmarcRecord:
    """Parse a DMARC TXT value (its strings already joined); never raises."""
    problems: list[Diagnostic] = []
    if len(text) > MAX_TEXT:
        message = f"record is {len(text)} characters; only the first {MAX_TEXT} were read"
        problems.append(SYNTAX.at(message, column=MAX_TEXT + 1))
        text = text[:MAX_TEXT]
    taglist = parse_taglist(text, syntax=SYNTAX)
    problems += taglist.diagnostics
    tags = list(taglist.tags)
    start = len(text) - len(text.lstrip(" \t\r\n")) + 1
    version_tag = taglist.first("v")
    fields: dict[str, Any] = {"version": version_tag.value if version_tag else None}
    fields["version_first"] = bool(tags) and tags[0] is version_tag and tags[0].column == start
    invalid: list[tuple[str, str]] = []
    removed: list[tuple[str, str]] = []
    unknown: list[tuple[str, str]] = []
    later: list[tuple[Tag, str, str | None]] = []  # (tag, kind or message, suggested value)
    for tag in tags:
        if tag is version_tag:
            continue
        if tag.name in _ORDER:
            try:
                fields[tag.name] = _value(tag.name, tag.value)
            except _Bad as bad:
                invalid.append((tag.name, tag.value))
                later.append((tag, bad.message, bad.suggestion))
        elif tag.name in _REMOVED:
            removed.append((tag.name, tag.value))
            later.append((tag, "removed", None))
        else:
            unknown.append((tag.name, tag.value))
            later.append((tag, "unknown", None))
    record = DmarcRecord(**fields, invalid=tuple(invalid), removed=tuple(removed),
                         unknown=tuple(unknown))  # fmt: skip
    problems += _version_problems(record, tags, version_tag)
    for tag, kind, suggestion in later:
        problems += _later(record, tag, kind, suggestion)
    for name in ("rua", "ruf"):
        problems += _uri_diagnostics(record, name, taglist.first(name))
    problems += _policy_problems(record, taglist)
    problems.sort(key=lambda d: d.column or 0)
    return replace(record, diagnostics=tuple(problems))


def _version_problems(record: DmarcRecord, tags: list[Tag], tag: Tag | None) -> list[Diagnostic]:
    fix: str | None = replace(record, version="DMARC1", version_first=True).to_text()
    if tag is None:
        upper = next((t for t in tags if t.name == "V"), None)
        if upper is not None:
            value = "DMARC1" if upper.value.upper() == "DMARC1" else upper.value
            fixed = replace(record, version=value, unknown=_without(record.unknown, "V"))
            fix = replace(fixed, version_first=True).to_text() if upper is tags[0] else None
            message = "tag names are case-sensitive: write v=, not V="
            return [SYNTAX.at(message, column=upper.column, tag="v", fix=fix)]
        message = "no v=DMARC1 tag: receivers ignore this record"
        return [SYNTAX.at(message, column=1, tag="v", fix=fix)]
    out = []
    if not record.version_first:
        message = "v=DMARC1 must be the first tag, or receivers ignore the record"
        out.append(SYNTAX.at(message, column=tag.column, tag="v", fix=fix))
    if tag.value != "DMARC1":
        likely = tag.value.upper().replace(" ", "") in ("DMARC1", "DMARC", "DMARCV1")
        message = f"v={tag.value} is not v=DMARC1 (the value is case-sensitive)"
        out.append(SYNTAX.at(message, column=tag.column, tag="v", fix=fix if likely else None))
    return out


def _set(record: DmarcRecord, name: str, value: Any) -> DmarcRecord:
    """``record`` with one tag's field changed."""
    changes: dict[str, Any] = {name: value}
    return replace(record, **changes)


def _without(pairs: tuple[tuple[str, str], ...], name: str) -> tuple[tuple[str, str], ...]:
    return tuple(pair for pair in pairs if pair[0] != name)


def _later(record: DmarcRecord, tag: Tag, kind: str, suggestion: str | None) -> list[Diagnostic]:
    """The diagnostics whose fix is the corrected record: bad values, removed, unknown tags."""
    name, value = tag.name, tag.value
    if kind not in ("removed", "unknown"):
        fix = None
        if suggestion is not None:
            fixed = _set(record, name, _value(name, suggestion))
            fix = replace(fixed, invalid=_without(record.invalid, name)).to_text()
        return [SYNTAX.at(kind, column=tag.column, tag=name, fix=fix)]
    if kind == "removed":
        changes: dict[str, Any] = {"removed": _without(record.removed, name)}
        if name == "pct" and value.strip() != "100" and record.t is None:
            changes["t"] = True
        fix = replace(record, **changes).to_text()
        message = f"{name}= is gone in RFC 9989 ({_REMOVED[name]}); receivers ignore it"
        return [REMOVED_TAG.at(message, column=tag.column, tag=name, fix=fix)]
    if name == "V" and record.version is None:
        return []  # reported as a misspelt version tag
    meant = did_you_mean(name, ("v", *_ORDER), known_mistakes=_TAG_MISTAKES)
    hint = f" (did you mean {meant}=?)" if meant else ""
    if name.lower() in _REMOVED:
        meant, hint = None, f" (RFC 7489's {name.lower()}= is gone: {_REMOVED[name.lower()]})"
    fix = None
    taken = meant is None or meant == "v" or getattr(record, meant) is not None
    if not taken and meant not in dict(record.invalid):
        try:
            typed = _value(meant or "", value)
            rest = _without(record.unknown, name)
            fixed = replace(_set(record, meant or "", typed), unknown=rest)
            fix = fixed.to_text() if not _bad_uris(fixed) else None
        except _Bad:
            fix = None
    message = f"unknown tag {name}= is ignored by receivers{hint}"
    return [UNKNOWN_TAG.at(message, column=tag.column, tag=name, fix=fix)]


def _bad_uris(record: DmarcRecord) -> bool:
    uris = (*(record.rua or ()), *(record.ruf or ()))
    return any(severity is Severity.ERROR for uri in uris for severity, _, _ in _uri_problems(uri))


def _uri_diagnostics(record: DmarcRecord, name: str, tag: Tag | None) -> list[Diagnostic]:
    uris: tuple[DmarcUri, ...] = getattr(record, name) or ()
    out = []
    for index, uri in enumerate(uris):
        if not uri.to_text():
            rest = tuple(u for u in uris if u.to_text()) or None
            fix = _set(record, name, rest).to_text() if rest else None
            column = tag.column if tag else None
            out.append(
                BAD_URI.at(
                    f"{name}= has an empty entry (a stray comma?)", column=column, tag=name, fix=fix
                )
            )
            continue
        for severity, message, fixed in _uri_problems(uri):
            fix = None
            if fixed is not None:
                changed = (*uris[:index], _parse_uri(fixed), *uris[index + 1 :])
                fix = _set(record, name, changed).to_text()
            column = tag.column if tag else None
            out.append(BAD_URI.at(message, column=column, tag=name, fix=fix, severity=severity))
    return out


def _policy_problems(record: DmarcRecord, taglist: TagList) -> list[Diagnostic]:
    if not record.applies or "p" in dict(record.invalid):
        return []
    out = []
    p_tag = taglist.first("p")
    if record.p in (None, Policy.NONE):
        what = "p=none" if record.p else "no p= tag (read as p=none)"
        step = "add rua= to see who sends as you, then " if not record.rua else ""
        message = f"{what}: failing mail is delivered as usual; {step}move to p=quarantine; t=y"
        fix = replace(record, p=Policy.QUARANTINE, t=True).to_text()
        column = p_tag.column if p_tag else None
        out.append(POLICY_NONE.at(message, column=column, tag="p", fix=fix))
        return out
    for name in ("sp", "np"):
        if getattr(record, name) is Policy.NONE:
            who = "existing subdomains" if name == "sp" else "non-existent subdomains"
            also = " (and np= inherits it)" if name == "sp" and record.np is None else ""
            message = f"{name}=none leaves {who} unprotected under p={record.p}{also}"
            fix = _set(record, name, None).to_text()
            column = getattr(taglist.first(name), "column", None)
            out.append(SUBDOMAIN_POLICY_NONE.at(message, column=column, tag=name, fix=fix))
    return out
