"""The finding: one reported problem (or pass), the shape shared by ``lint`` and the audit.

JSON shape (``mailward.lint/1`` and ``mailward.audit/1``)::

    {"code", "severity", "title", "detail", "location": {"file", "line", "column"},
     "evidence", "fix", "refs"}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailward.codes import Code, Diagnostic, Severity


@dataclass(frozen=True)
class Location:
    """Where a finding is: a file position, a tag inside a record, or a DNS name."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    tag: str | None = None

    def __str__(self) -> str:
        parts = [self.file or "<record>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        text = ":".join(parts)
        return f"{text} [{self.tag}=]" if self.tag else text

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "line": self.line, "column": self.column}
        if self.tag is not None:
            out["tag"] = self.tag
        return out


@dataclass(frozen=True)
class Finding:
    """A problem (or a pass) with its stable code, what is wrong, and the exact fix."""

    code: str
    severity: Severity
    title: str
    detail: str
    fix: str | None = None
    refs: tuple[str, ...] = ()
    location: Location | None = None
    evidence: tuple[str, ...] = ()

    @classmethod
    def from_diagnostic(
        cls,
        diagnostic: Diagnostic,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        evidence: tuple[str, ...] = (),
    ) -> Finding:
        """A finding for a parser's diagnostic, placed in a file (``column`` overrides)."""
        return cls(
            code=diagnostic.code.slug,
            severity=diagnostic.severity,
            title=diagnostic.code.title,
            detail=diagnostic.message,
            fix=diagnostic.fix,
            refs=diagnostic.code.refs,
            location=Location(
                file=file,
                line=line if line is not None else diagnostic.line,
                column=column if column is not None else diagnostic.column,
                tag=diagnostic.tag,
            ),
            evidence=evidence,
        )

    @classmethod
    def of(
        cls,
        code: Code,
        detail: str,
        *,
        evidence: tuple[str, ...] | list[str] = (),
        fix: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of ``code`` with its title and references from the catalogue."""
        return cls(
            code=code.slug,
            severity=severity or code.severity,
            title=code.title,
            detail=detail,
            fix=fix,
            refs=code.refs,
            evidence=tuple(evidence),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "title": self.title,
            "detail": self.detail,
            "location": self.location.to_json() if self.location else None,
            "evidence": list(self.evidence),
            "fix": self.fix,
            "refs": list(self.refs),
        }
