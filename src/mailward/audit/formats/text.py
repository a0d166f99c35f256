"""The terminal report: per domain, areas worst first, then "fix these first"."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from mailward.audit.auditor import DomainReport
from mailward.audit.formats import Reporter
from mailward.audit.registry import AREAS
from mailward.codes import Severity
from mailward.docs import doc_link
from mailward.findings import Finding

STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
    Severity.PASS: "green",
}


class TextReporter(Reporter):
    def close(self) -> None:
        console = Console(
            file=self.stream, force_terminal=self.color, highlight=False, soft_wrap=True
        )
        for report in self.reports:
            _write_report(console, report)


def _write_report(console: Console, report: DomainReport) -> None:
    title = Text(
        f"{report.unicode} ({report.domain})" if report.unicode else report.domain,
        style="bold underline",
    )
    title.append(f"   grade {report.grade}", style="bold")
    console.print(title)
    areas = report.by_area()
    worst = sorted(
        areas.items(),
        key=lambda kv: (min(f.severity.rank for f in kv[1]), list(AREAS).index(kv[0])),
    )
    for area, findings in worst:
        console.print(Text(f"\n{AREAS[area]}", style="bold"))
        for finding in findings:
            _write_finding(console, finding)
    fixes = report.top_fixes()
    if fixes:
        console.print(Text("\nFix these first", style="bold"))
        for number, finding in enumerate(fixes, 1):
            console.print(Text(f" {number}. {finding.title} ({finding.code})"))
            console.print(Text(f"    {finding.fix}", style="green"))
    counts = report.counts
    names = {"error": "errors", "warning": "warnings", "info": "info", "pass": "passed"}
    summary = ", ".join(
        f"{n} {names[s] if n != 1 or s == 'pass' else s}" for s, n in counts.items() if n
    )
    console.print(Text(f"\n{summary}\n", style="bold"))


def _write_finding(console: Console, finding: Finding) -> None:
    line = Text(f"  {finding.severity.mark} ", style=STYLE[finding.severity])
    line.append(finding.severity.value, style=STYLE[finding.severity])
    line.append(f" {finding.code}: ", style="bold")
    line.append(finding.detail)
    console.print(line)
    if finding.severity in (Severity.PASS, Severity.INFO) and not finding.fix:
        return
    for item in finding.evidence[:3]:
        console.print(Text(f"      seen: {item}", style="dim"))
    if finding.fix:
        console.print(Text(f"      fix: {finding.fix}", style="green"))
    refs = " · ".join([*finding.refs, doc_link(finding.code)])
    console.print(Text(f"      see: {refs}", style="dim"))
