"""BIMI assertion records (``default._bimi.<domain>`` TXT).

draft-brand-indicators-for-message-identification-10 §4.3 (tags: ``v=BIMI1`` first, ``l=``
the logo location, ``a=`` the evidence document (Mark Certificate), ``lps=`` local-part
selectors, ``avp=`` avatar preference; unknown tags are ignored), §4.3.1 (``l=`` and ``a=``
both empty: declining to publish), §4.3.2 (the logo is SVG or SVGZ, over HTTPS only).

SECURITY: input is hostile (a TXT record from any domain's DNS). The tag list is split in one
linear pass; URIs are only matched against fixed patterns, never fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from mailward.codes import Diagnostic, Severity, define
from mailward.records._suggest import did_you_mean
from mailward.records._taglist import Tag, format_taglist, parse_taglist, version_problem

_KNOWN = ("v", "l", "a", "lps", "avp")
_FQDN = re.compile(r"[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+\.?\Z")

SYNTAX = define(
    "bimi.syntax",
    Severity.ERROR,
    "BIMI record is malformed",
    why="Mailbox providers ignore a malformed BIMI record: no logo is shown.",
    example="v=BIMI1; l=http://example.com/logo.png",
    fix="Publish `v=BIMI1; l=https://<host>/logo.svg; a=https://<host>/certificate.pem` "
    "(the logo in SVG Tiny PS, both over HTTPS).",
    refs=("draft-brand-indicators-for-message-identification §4.3",),
)


@dataclass(frozen=True)
class BimiRecord:
    """A BIMI assertion record; ``location`` ``""`` declines, ``None`` means l= is absent."""

    location: str | None
    authority: str | None = None
    version: str = "BIMI1"
    local_part_selectors: str | None = None
    avatar_preference: str | None = None
    extensions: tuple[tuple[str, str], ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    @property
    def declined(self) -> bool:
        """Both l= and a= empty: an explicit refusal to show a logo (§4.3.1)."""
        return self.location == "" and not self.authority

    def to_text(self) -> str:
        optional = (
            ("l", self.location),
            ("a", self.authority),
            ("lps", self.local_part_selectors),
            ("avp", self.avatar_preference),
        )
        pairs = [("v", self.version)]
        pairs += [(name, value) for name, value in optional if value is not None]
        return format_taglist([*pairs, *self.extensions])


def parse(text: str) -> BimiRecord:
    """Parse a BIMI assertion record; never raises."""
    taglist = parse_taglist(text, syntax=SYNTAX)
    problems = list(taglist.diagnostics)
    tags = {tag.name: tag for tag in taglist.tags}

    def value(name: str) -> str | None:
        return tags[name].value if name in tags else None

    record = BimiRecord(
        location=value("l"),
        authority=value("a"),
        version=value("v") or "BIMI1",
        local_part_selectors=value("lps"),
        avatar_preference=value("avp"),
        extensions=tuple((t.name, t.value) for t in taglist.tags if t.name not in _KNOWN),
    )
    problem = version_problem(
        taglist, "BIMI1", SYNTAX, fix=replace(record, version="BIMI1").to_text()
    )
    problems += [problem] if problem else []
    if "l" not in tags:
        problems.append(SYNTAX.at("l= is missing", column=len(text) + 1, tag="l"))
    for name in ("l", "a"):
        if value(name):
            problems += _uri_checks(record, tags[name])
    choices = {"lps": ("true", "false"), "avp": ("personal", "brand")}
    for name, allowed in choices.items():
        given = value(name)
        if given is not None and given not in allowed:
            problems.append(
                SYNTAX.at(
                    f"{name}={given} must be {' or '.join(allowed)}",
                    column=tags[name].column,
                    tag=name,
                    severity=Severity.WARNING if name == "avp" else None,
                )
            )
    for name, _ in record.extensions:
        meant = did_you_mean(name, _KNOWN, known_mistakes={"logo": "l", "location": "l"})
        if meant and meant not in tags:
            problems.append(
                SYNTAX.at(
                    f"unknown tag {name}= is ignored (did you mean {meant}=?)",
                    column=tags[name].column,
                    tag=name,
                )
            )
    return replace(record, diagnostics=tuple(problems))


def _uri_checks(record: BimiRecord, tag: Tag) -> list[Diagnostic]:
    """One diagnostic at most per URI: the first thing that keeps it from being used."""
    uri = tag.value
    what = "the logo (l=)" if tag.name == "l" else "the evidence document (a=)"

    def problem(message: str, fixed: str | None = None) -> list[Diagnostic]:
        if fixed is None:
            fix = None
        elif tag.name == "l":
            fix = replace(record, location=fixed).to_text()
        else:
            fix = replace(record, authority=fixed).to_text()
        return [SYNTAX.at(message, column=tag.column, tag=tag.name, fix=fix)]

    if "," in uri:
        return problem(f"{what} must be a single URI, not a list")
    try:
        parts = urlsplit(uri)
    except ValueError:
        return problem(f"{uri} is not a valid URI")
    if parts.scheme.lower() == "http":
        return problem(f"{what} must be served over https, not http", "https" + uri[4:])
    if parts.scheme.lower() != "https":
        return problem(f"{what} must be an https:// URI")
    if not _FQDN.match(parts.hostname or ""):
        return problem(f"{uri} must name a fully qualified host")
    if tag.name == "l" and not parts.path.lower().endswith((".svg", ".svgz")):
        return problem(f"{what} must be an SVG file (.svg), not {parts.path or '/'}")
    return []
