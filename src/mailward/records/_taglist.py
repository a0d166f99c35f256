"""The ``tag=value; tag=value`` grammar shared by DKIM, DMARC, TLS-RPT, MTA-STS and BIMI.

RFC 6376 §3.2 (tag-list, tag-spec, tag-name, tag-value), reused by RFC 9989 §4.7 (DMARC),
RFC 8460 §3 (TLS-RPT), RFC 8461 §3.1 (MTA-STS) and the BIMI draft. The record modules give
the tags meaning; this module only splits and locates them.

SECURITY: input is hostile DNS or header text. The parser is a single linear pass, keeps
every problem as a diagnostic and never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailward.codes import Code, Diagnostic

# RFC 6376 tag-name is ALPHA *(ALPHA / DIGIT / "_"); RFC 8460/8461 extension names may also
# hold "-" and "." — accept the wider form here and let each record judge its own tags.
_TAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_WSP = " \t\r\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # controls other than white space


@dataclass(frozen=True)
class Tag:
    """One ``name=value`` pair; ``column`` is the 1-based position of the name in the text."""

    name: str
    value: str
    column: int


@dataclass(frozen=True)
class TagList:
    tags: tuple[Tag, ...]
    diagnostics: tuple[Diagnostic, ...]

    def first(self, name: str) -> Tag | None:
        """The first tag of that name (tag names are case-sensitive, RFC 6376 §3.2)."""
        return next((tag for tag in self.tags if tag.name == name), None)


def parse_taglist(text: str, *, syntax: Code, unfold: bool = False) -> TagList:
    """Split ``text`` into tags, reporting malformed specs and duplicates with ``syntax``.

    With ``unfold`` (header fields), CRLF folding whitespace inside values is removed as
    RFC 6376 §3.2 allows; otherwise values keep their inner spaces, trimmed at both ends.
    """
    tags: list[Tag] = []
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    position = 0
    for raw in text.split(";"):
        start = position
        position += len(raw) + 1
        stripped = raw.strip(_WSP)
        if not stripped:
            continue  # "a=1; ; b=2" is harmless; a trailing ";" is allowed
        column = start + (len(raw) - len(raw.lstrip(_WSP))) + 1
        name, equals, value = stripped.partition("=")
        name = name.strip(_WSP)
        value = value.strip(_WSP)
        if unfold:
            value = re.sub(r"\r?\n[ \t]+", " ", value)
        if not equals:
            problems.append(
                syntax.at(f"{stripped!r} is not a tag=value pair", column=column, tag=name)
            )
            continue
        if not _TAG_NAME.match(name):
            problems.append(syntax.at(f"{name!r} is not a valid tag name", column=column))
            continue
        if _CONTROL.search(value):
            problems.append(
                syntax.at(f"tag {name}= contains a control character", column=column, tag=name)
            )
        if name in seen:
            problems.append(
                syntax.at(
                    f"tag {name}= appears more than once; the record is invalid",
                    column=column,
                    tag=name,
                )
            )
            continue
        seen.add(name)
        tags.append(Tag(name, value, column))
    return TagList(tuple(tags), tuple(problems))


def version_problem(taglist: TagList, expected: str, code: Code, *, fix: str) -> Diagnostic | None:
    """The rule every versioned record shares: ``v=`` present, first, and exactly ``expected``
    (RFC 8460 §3, RFC 8461 §3.1, BIMI). ``fix`` is the record written canonically with
    ``v=expected``; it is offered unless the version given is a different one altogether."""
    version = taglist.first("v")
    if version is None:
        return code.at(f"v={expected} is missing", column=1, tag="v", fix=fix)
    if version.value != expected:
        fixable = version.value.lower() == expected.lower()
        return code.at(
            f"v={version.value} must be exactly {expected}",
            column=version.column,
            tag="v",
            fix=fix if fixable else None,
        )
    if taglist.tags[0].name != "v":
        return code.at(
            f"v={expected} must be the first tag", column=version.column, tag="v", fix=fix
        )
    return None


def format_taglist(pairs: list[tuple[str, str]]) -> str:
    """Canonical text: ``a=1; b=2`` (one space after each separator, no trailing ``;``)."""
    return "; ".join(f"{name}={value}" for name, value in pairs)
