"""Run every check on a domain, concurrently, and collect one :class:`DomainReport`.

``await Auditor(resolver).audit("example.com")`` for one domain; :meth:`Auditor.audit_many`
for many, concurrently but bounded, sharing the resolver (and so its cache); :func:`audit`
is the one-shot synchronous form.

A check that raises is a bug, not a finding about the domain: it is reported as
``audit.internal-error`` naming the check, and the other checks still run.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mailward.audit.context import AuditContext, AuditOptions
from mailward.audit.domain import Domain, parse_domain
from mailward.audit.registry import AREAS, all_checks, area_of
from mailward.codes import Severity, define
from mailward.dns.resolver import Resolver
from mailward.errors import UsageError
from mailward.findings import Finding

SCHEMA = "mailward.audit/1"

INTERNAL_ERROR = define(
    "audit.internal-error",
    Severity.ERROR,
    "A check failed inside mailward",
    why="This is a bug in mailward, not a fault of the domain; that part was not checked.",
    example="check mailward.audit.checks.spf.spf_record raised KeyError",
    fix="Report it with the domain and the detail; the other checks' results stand.",
    refs=("RFC 2119 §1",),
)
BAD_INPUT = define(
    "audit.bad-input",
    Severity.ERROR,
    "The line is not a domain that can be checked",
    why="A URL, an e-mail address or a malformed name was given where a domain belongs.",
    example="https://www.example.com/contact",
    fix="Give the domain only, e.g. example.com.",
    refs=("RFC 1035 §2.3.1",),
)


@dataclass(frozen=True)
class DomainReport:
    """Everything found about one domain, worst first."""

    domain: str
    findings: tuple[Finding, ...]
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    unicode: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for f in self.findings if f.severity == s) for s in Severity}

    @property
    def score(self) -> int:
        """100 minus 20 per error and 5 per warning, at least 0."""
        counts = self.counts
        return max(0, 100 - 20 * counts["error"] - 5 * counts["warning"])

    @property
    def grade(self) -> str:
        score = self.score
        return next(
            g
            for floor, g in ((90, "A"), (80, "B"), (65, "C"), (50, "D"), (0, "F"))
            if score >= floor
        )

    @property
    def exit_status(self) -> int:
        return 1 if self.counts["error"] else 0

    def by_area(self) -> dict[str, list[Finding]]:
        areas: dict[str, list[Finding]] = {}
        for finding in self.findings:
            areas.setdefault(area_of(finding.code), []).append(finding)
        return areas

    def top_fixes(self, limit: int = 5) -> list[Finding]:
        """The fixes to apply first: errors before warnings, and within each, mail delivery
        and spoofing (MX, SPF, DMARC, DKIM) before the rest; one entry per distinct fix."""
        areas = list(AREAS)
        fixable = sorted(
            (
                f
                for f in self.findings
                if f.fix and f.severity in (Severity.ERROR, Severity.WARNING)
            ),
            key=lambda f: (f.severity.rank, areas.index(area_of(f.code))),
        )
        unique: dict[str, Finding] = {}
        for finding in fixable:
            unique.setdefault(finding.fix or "", finding)
        return list(unique.values())[:limit]

    def to_json(self) -> dict[str, Any]:
        summary: dict[str, Any] = {**self.counts, "score": self.score, "grade": self.grade}
        out: dict[str, Any] = {"schema": SCHEMA, "domain": self.domain}
        if self.unicode:
            out["domain_unicode"] = self.unicode
        out["checked_at"] = self.checked_at.isoformat(timespec="seconds")
        out["findings"] = [_audit_json(f) for f in self.findings]
        out["summary"] = summary
        return out


def _audit_json(finding: Finding) -> dict[str, Any]:
    data = finding.to_json()
    data.pop("location", None)
    return data


class Auditor:
    """Audits domains against one resolver (share one for a bulk run: one cache)."""

    def __init__(self, resolver: Resolver, options: AuditOptions | None = None) -> None:
        self.resolver = resolver
        self.options = options or AuditOptions()

    async def audit(self, domain: str | Domain) -> DomainReport:
        try:
            target = domain if isinstance(domain, Domain) else parse_domain(domain)
        except UsageError as exc:
            finding = Finding.of(BAD_INPUT, str(exc), evidence=[str(domain)])
            return DomainReport(str(domain), (finding,))
        ctx = AuditContext(target, self.resolver, self.options)
        checks = all_checks()
        results = await asyncio.gather(*(c.run(ctx) for c in checks), return_exceptions=True)
        findings: list[Finding] = []
        for check, result in zip(checks, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                where = "".join(traceback.format_exception_only(result)).strip()
                findings.append(Finding.of(INTERNAL_ERROR, f"check {check.name} raised {where}"))
            else:
                findings.extend(result)
        findings.extend(ctx.failure_findings())
        return DomainReport(target.name, tuple(_ordered(findings)), unicode=target.unicode)

    async def audit_many(
        self, domains: Iterable[str], *, concurrency: int = 20
    ) -> AsyncGenerator[DomainReport, None]:
        """Reports as they finish; at most ``concurrency`` domains in flight."""
        async for _position, report in self.audit_numbered(domains, concurrency=concurrency):
            yield report

    async def audit_numbered(
        self, domains: Iterable[str], *, concurrency: int = 20
    ) -> AsyncGenerator[tuple[int, DomainReport], None]:
        """:meth:`audit_many`, each report with its domain's position in ``domains``."""
        limit = asyncio.Semaphore(max(1, concurrency))

        async def one(position: int, domain: str) -> tuple[int, DomainReport]:
            async with limit:
                return position, await self.audit(domain)

        pending = [asyncio.ensure_future(one(n, d)) for n, d in enumerate(domains)]
        try:
            for next_done in asyncio.as_completed(pending):
                yield await next_done
        finally:
            for task in pending:
                task.cancel()


def _ordered(findings: list[Finding]) -> list[Finding]:
    order = {severity: severity.rank for severity in Severity}
    return sorted(findings, key=lambda f: (order[f.severity], f.code))


def audit(
    domain: str,
    *,
    nameservers: list[str] | None = None,
    zones: list[str] | None = None,
    options: AuditOptions | None = None,
) -> DomainReport:
    """Audit one domain now: against zone files when given, else live DNS."""
    from mailward.dns.stub import StubResolver
    from mailward.dns.zonefiles import ZoneResolver

    resolver: Resolver = ZoneResolver(zones) if zones else StubResolver(nameservers)

    async def run() -> DomainReport:
        try:
            return await Auditor(resolver, options).audit(domain)
        finally:
            await resolver.aclose()

    return asyncio.run(run())
