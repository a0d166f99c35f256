"""Writing findings: text for people (stdout, colour on a terminal), JSON for programs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from mailward.codes import Severity
from mailward.docs import doc_link
from mailward.findings import Finding

_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
    Severity.PASS: "green",
}


def write_json(findings: Sequence[Finding], stream: IO[str], *, schema: str, **extra: Any) -> None:
    document = {"schema": schema, **extra, "findings": [f.to_json() for f in findings]}
    stream.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def write_text(findings: Sequence[Finding], stream: IO[str], *, color: bool | None = None) -> None:
    console = Console(file=stream, force_terminal=color, highlight=False, soft_wrap=True)
    for finding in findings:
        line = Text()
        line.append(f"{finding.location}: " if finding.location else "", style="bold")
        line.append(finding.severity.value, style=_STYLE[finding.severity])
        line.append(f" {finding.code} ", style="bold")
        line.append(finding.title)
        console.print(line)
        console.print(Text(f"    {finding.detail}"))
        if finding.fix:
            fix = Text("    fix: ", style="green")
            fix.append(finding.fix.replace("\n", "\n         "))
            console.print(fix)
        refs = " · ".join([*finding.refs, doc_link(finding.code)])
        console.print(Text(f"    see: {refs}", style="dim"))
    counts = {s: sum(1 for f in findings if f.severity == s) for s in Severity}
    if findings:
        summary = ", ".join(f"{n} {s.value}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
        console.print(Text(f"\n{summary}", style="bold"))
    else:
        console.print(Text("no problems found", style="green"))
