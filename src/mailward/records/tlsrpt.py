"""SMTP TLS Reporting: the ``_smtp._tls`` TXT record.

RFC 8460 §3 (``v=TLSRPTv1`` first, then ``rua=`` with one or more comma-separated ``mailto:``
or ``https:`` URIs; other tags are extensions and are ignored), §3.1 (reporting URIs).

SECURITY: input is hostile (a TXT record from any domain's DNS). The tag list is split in one
linear pass; URIs are only matched against fixed patterns, never fetched or resolved.
Parsed records are remembered by text in a bounded memo (:mod:`._cache`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from mailward.codes import Diagnostic, Severity, define
from mailward.records._cache import by_text
from mailward.records._suggest import did_you_mean
from mailward.records._taglist import format_taglist, parse_taglist, version_problem

_MAILTO = re.compile(r"mailto:[^@\s,;!]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\Z", re.IGNORECASE)
_HTTPS = re.compile(r"https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:[0-9]{1,5})?(/\S*)?\Z", re.I)

SYNTAX = define(
    "tlsrpt.syntax",
    Severity.ERROR,
    "TLS-RPT record is malformed",
    why="Senders ignore a malformed record, so you receive no reports of failed TLS deliveries.",
    example="v=TLSRPTv1; rua=tls-reports@example.com",
    fix="Publish `v=TLSRPTv1; rua=mailto:tls-reports@example.com` (or an https:// URL).",
    refs=("RFC 8460 §3",),
)


@dataclass(frozen=True)
class TlsRptRecord:
    """The ``_smtp._tls`` TXT record."""

    rua: tuple[str, ...]
    version: str = "TLSRPTv1"
    extensions: tuple[tuple[str, str], ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    def to_text(self) -> str:
        pairs = [("v", self.version), ("rua", ",".join(self.rua)), *self.extensions]
        return format_taglist(pairs)


@by_text  # pure, and its record immutable: one parse per text
def parse(text: str) -> TlsRptRecord:
    """Parse the ``_smtp._tls`` TXT value; never raises."""
    taglist = parse_taglist(text, syntax=SYNTAX)
    problems = list(taglist.diagnostics)
    tags = {tag.name: tag for tag in taglist.tags}
    rua = tags.get("rua")
    uris = tuple(uri.strip() for uri in rua.value.split(",")) if rua else ()
    record = TlsRptRecord(
        rua=uris,
        version=tags["v"].value if "v" in tags else "TLSRPTv1",
        extensions=tuple((t.name, t.value) for t in taglist.tags if t.name not in ("v", "rua")),
    )
    problem = version_problem(
        taglist, "TLSRPTv1", SYNTAX, fix=replace(record, version="TLSRPTv1").to_text()
    )
    problems += [problem] if problem else []
    if rua is None:
        meant = [name for name, _ in record.extensions if did_you_mean(name, ["rua"])]
        also = f" ({meant[0]}= is not rua=)" if meant else ""
        problems.append(SYNTAX.at(f"rua= is missing{also}", column=len(text) + 1, tag="rua"))
        return replace(record, diagnostics=tuple(problems))
    fixed = [_fixed_uri(uri) for uri in uris]
    kept = tuple(uri for uri in fixed if uri)
    good = kept and all(uri is not None for uri in fixed)
    fix = replace(record, rua=kept).to_text() if good else None
    for uri in uris:
        wrong = _uri_problem(uri)
        if wrong:
            problems.append(SYNTAX.at(wrong, column=rua.column, tag="rua", fix=fix))
    return replace(record, diagnostics=tuple(problems))


def _uri_problem(uri: str) -> str | None:
    if not uri:
        return "rua= has an empty URI (a stray comma?)"
    if _MAILTO.match(uri) or _HTTPS.match(uri):
        return None
    scheme = uri.partition(":")[0].lower() if ":" in uri else ""
    if scheme == "http":
        return f"{uri} uses http; reports must go to https:// (or mailto:)"
    if not scheme and "@" in uri:
        return f"{uri} lacks the mailto: scheme"
    if scheme in ("mailto", "https"):
        return f"{uri} is not a valid {scheme} URI"
    return f"{uri}: rua= takes mailto: or https: URIs"


def _fixed_uri(uri: str) -> str | None:
    """The URI corrected where the intent is plain; ``""`` drops an empty item."""
    if not uri:
        return ""
    candidate = uri
    if uri.lower().startswith("http://"):
        candidate = "https://" + uri[7:]
    elif ":" not in uri and "@" in uri:
        candidate = "mailto:" + uri
    return candidate if _MAILTO.match(candidate) or _HTTPS.match(candidate) else None
