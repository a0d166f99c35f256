"""SARIF 2.1.0 reports (``--format sarif``), for code-scanning dashboards and CI.

One run, tool ``mailward``. ``tool.driver.rules`` holds the catalogue entry of each code the
results use (``id`` the slug, ``shortDescription`` its title, ``fullDescription`` why it
matters, ``help`` how to fix it, ``helpUri`` its section of docs/checks.md). Each error,
warning or info finding is a result (levels ``error``, ``warning``, ``note``); ``pass``
findings are left out, SARIF being a list of problems. A result's ``message`` is the
finding's detail, its location a logical location (kind ``resource``) naming the domain, and
its ``properties`` carry what SARIF has no field for: the mailward severity, the evidence,
the ready-to-paste fix and the RFC references.

SECURITY
    Details and evidence hold DNS text, which is attacker-controlled: it is written only as
    JSON string values (``json.dumps`` escapes it), never as keys or Markdown.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mailward.audit.auditor import DomainReport
from mailward.audit.formats import Reporter
from mailward.audit.registry import area_of
from mailward.codes import Code, Severity, catalogue
from mailward.docs import doc_link
from mailward.findings import Finding

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
    Severity.PASS: "none",
}


class SarifReporter(Reporter):
    def close(self) -> None:
        self.stream.write(json.dumps(sarif_log(self.reports), indent=2, ensure_ascii=False))
        self.stream.write("\n")


def sarif_log(reports: Sequence[DomainReport], *, now: datetime | None = None) -> dict[str, Any]:
    """The SARIF log object for ``reports`` (one run)."""
    from mailward import __version__

    codes = catalogue()
    findings = [
        (report, finding)
        for report in reports
        for finding in report.findings
        if finding.severity != Severity.PASS
    ]
    used: dict[str, Finding] = {}
    for _, finding in findings:
        used.setdefault(finding.code, finding)
    slugs = sorted(used)
    index = {slug: number for number, slug in enumerate(slugs)}
    rules = [_rule(slug, codes.get(slug), used[slug]) for slug in slugs]
    results = [_result(report, finding, index[finding.code]) for report, finding in findings]
    end = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mailward",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "invocations": [{"executionSuccessful": True, "endTimeUtc": end}],
                "results": results,
                "properties": {"domains": [r.domain for r in reports]},
            }
        ],
    }


def _rule(slug: str, code: Code | None, example: Finding) -> dict[str, Any]:
    severity = code.severity if code else example.severity
    rule: dict[str, Any] = {
        "id": slug,
        "shortDescription": {"text": code.title if code else example.title},
    }
    if code is not None:
        rule["fullDescription"] = {"text": code.why}
        rule["help"] = {"text": code.fix}
    rule["helpUri"] = doc_link(slug)
    rule["defaultConfiguration"] = {"level": LEVEL[severity]}
    refs = list(code.refs) if code else list(example.refs)
    rule["properties"] = {"tags": [area_of(slug)], "refs": refs}
    return rule


def _result(report: DomainReport, finding: Finding, rule_index: int) -> dict[str, Any]:
    location: dict[str, Any] = {
        "name": report.domain,
        "fullyQualifiedName": report.domain,
        "kind": "resource",
    }
    if report.unicode:
        location["properties"] = {"unicode": report.unicode}
    properties: dict[str, Any] = {
        "severity": finding.severity.value,
        "title": finding.title,
        "evidence": list(finding.evidence),
        "refs": list(finding.refs),
    }
    if finding.fix is not None:
        properties["fix"] = finding.fix
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": LEVEL[finding.severity],
        "message": {"text": finding.detail},
        "locations": [{"logicalLocations": [location]}],
        "properties": properties,
    }
