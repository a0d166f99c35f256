"""The catalogue of stable finding codes, and the diagnostics that carry them.

Every problem mailward reports has a *code*: a readable slug such as ``dmarc.unknown-tag``
that never changes meaning once released (ruff's rule registry is the model). A module that
can report a problem defines its codes at import time with :func:`define`; the catalogue is
the union of those definitions, and ``docs/checks.md`` is generated from it
(``python -m mailward.docs``), so a code without its documentation cannot exist.

A :class:`Diagnostic` is one occurrence of a code in a parsed text: where it is (a 1-based
column in the text, or the tag it concerns), a one-line explanation, and — where the intent is
obvious — the corrected text. Multi-line texts (zone files, MTA-STS policies) also give the
1-based ``line``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is; ordered from worst to best by :attr:`rank`."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    PASS = "pass"

    @property
    def rank(self) -> int:
        return ("error", "warning", "info", "pass").index(self.value)

    @property
    def mark(self) -> str:
        """A one-character sign, so colour is never the only signal."""
        return {"error": "✗", "warning": "!", "info": "i", "pass": "✓"}[self.value]


@dataclass(frozen=True)
class Code:
    """One stable finding code and its documentation (What / Why / Example / Fix / References)."""

    slug: str
    severity: Severity
    title: str
    why: str
    example: str
    fix: str
    refs: tuple[str, ...]
    since: str = "0.1.0"

    def at(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        tag: str | None = None,
        fix: str | None = None,
        severity: Severity | None = None,
    ) -> Diagnostic:
        """A diagnostic of this code at a place in the parsed text."""
        return Diagnostic(
            code=self,
            message=message,
            line=line,
            column=column,
            tag=tag,
            fix=fix,
            severity=severity or self.severity,
        )


@dataclass(frozen=True)
class Diagnostic:
    """One problem met while parsing: code, one-line message, place, and corrected text."""

    code: Code
    message: str
    severity: Severity
    line: int | None = None
    column: int | None = None
    tag: str | None = None
    fix: str | None = field(default=None)

    @property
    def slug(self) -> str:
        return self.code.slug


_REGISTRY: dict[str, Code] = {}


def define(
    slug: str,
    severity: Severity,
    title: str,
    *,
    why: str,
    example: str,
    fix: str,
    refs: tuple[str, ...] | list[str],
) -> Code:
    """Register a code. Defining one slug twice is a programming error."""
    if slug in _REGISTRY:
        raise RuntimeError(f"finding code {slug!r} is defined twice")
    code = Code(slug, severity, title, why, example, fix, tuple(refs))
    _REGISTRY[slug] = code
    return code


def catalogue() -> Mapping[str, Code]:
    """Every code mailward can report, sorted by slug (imports every defining module)."""
    import mailward

    for module in pkgutil.walk_packages(mailward.__path__, "mailward."):
        if module.name.split(".")[-1] not in {"cli", "__main__"}:
            importlib.import_module(module.name)
    return dict(sorted(_REGISTRY.items()))
