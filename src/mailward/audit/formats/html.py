"""The HTML report: one self-contained file a non-expert can read, print or mail on.

Per domain: the grade (A–F, with the score), "Fix these first" — each fix in a code block with
a Copy button — then the details grouped by area, worst first. Several domains share one file,
worst first, with an overview table at the top.

SECURITY
    Every string that reaches the page may come from DNS — TXT text in ``detail`` and
    ``evidence`` is attacker-controlled — or from the user's domain list (an ``audit.bad-input``
    report's ``domain`` is the raw line). All of it goes through :func:`_text`, which masks
    control, format and private-use characters (``printable`` in Postfix's sense: a bidi
    override cannot reorder what the reader sees) and then HTML-escapes it, quotes included.
    No DNS text is ever put in a URL, an ``id`` or a script. Defence in depth: a
    Content-Security-Policy admits only this file's own style sheet and script, by hash, and
    nothing from the network (no CDN, fonts, images or fetches).

The page works without the script; the script only reveals the Copy buttons (hidden
otherwise) and opens every ``<details>`` before printing.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from mailward.audit.auditor import DomainReport
from mailward.audit.formats import Reporter
from mailward.audit.registry import AREAS
from mailward.codes import Code, Severity, catalogue
from mailward.docs import CHECKS_PAGE, doc_link
from mailward.findings import Finding

LABEL = {
    Severity.ERROR: "Error",
    Severity.WARNING: "Warning",
    Severity.INFO: "Info",
    Severity.PASS: "OK",
}
VERDICT = {
    "A": "Well set up.",
    "B": "Mostly right. A few things are worth tightening.",
    "C": "Needs attention. Fix the items below.",
    "D": "Needs work. Some problems can stop mail or let others send mail as this domain.",
    "F": "Serious problems. Start with the list below.",
}
GRADE_COLOUR = {"A": "#05603a", "B": "#3f6212", "C": "#8a4600", "D": "#c2410c", "F": "#b42318"}
_MASKED = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}

STYLE = """
:root{color-scheme:light;--fg:#1f2328;--muted:#57606a;--bg:#f4f6f8;--card:#fff;--line:#d0d7de;
--error:#b42318;--error-bg:#fef3f2;--warning:#8a4600;--warning-bg:#fff8e6;--info:#1d4ed8;
--info-bg:#eef4ff;--pass:#05603a;--pass-bg:#ecfdf3;--code-bg:#0f172a;--code-fg:#e2e8f0}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",sans-serif}
.page{max-width:62rem;margin:0 auto;padding:2rem 1.25rem 3rem}
h1{font-size:1.75rem;margin:0 0 .25rem}
h2{font-size:1.5rem;margin:0;overflow-wrap:anywhere}
h3{font-size:1.2rem;margin:1.75rem 0 .75rem;padding-bottom:.3rem;
border-bottom:1px solid var(--line)}
.area-title{font-size:1.05rem;margin:1.5rem 0 .5rem;display:flex;gap:.6rem;
align-items:baseline;flex-wrap:wrap}
.finding-title{font-size:1rem;margin:0}
.meta,.muted{color:var(--muted)}
.meta{margin:0}
a{color:#0550ae}
code,pre{font-family:ui-monospace,SFMono-Regular,"DejaVu Sans Mono",Menlo,Consolas,monospace;
font-size:.875rem}
.overview{width:100%;border-collapse:collapse;margin-top:1.5rem;background:var(--card);
border:1px solid var(--line);border-radius:12px}
.overview caption{text-align:left;font-weight:600;padding-bottom:.4rem}
.overview th,.overview td{text-align:left;padding:.45rem .75rem;border-bottom:1px solid var(--line)}
.overview .num{text-align:right;font-variant-numeric:tabular-nums}
.domain{background:var(--card);border:1px solid var(--line);border-radius:14px;
padding:1.5rem 1.75rem;margin-top:1.75rem;box-shadow:0 1px 2px rgba(31,35,40,.06)}
.domain-name .ascii{font-weight:400;color:var(--muted);font-size:1rem}
.summary{display:flex;gap:1.25rem;align-items:center;margin:1.25rem 0 .5rem}
.grade{flex:none;width:5.5rem;height:5.5rem;border-radius:14px;display:flex;
flex-direction:column;align-items:center;justify-content:center;color:#fff;line-height:1}
.grade .letter{font-size:3rem;font-weight:700}
.grade .score{font-size:.8rem;margin-top:.3rem;opacity:.95}
.grade.small{width:2.2rem;height:2.2rem;border-radius:8px;display:inline-flex}
.grade.small .letter{font-size:1.2rem}
.verdict{font-size:1.1rem;font-weight:600;margin:0 0 .25rem}
.counts{margin:0;color:var(--muted)}
.badge{display:inline-block;flex:none;font-size:.78rem;font-weight:700;letter-spacing:.02em;
padding:.1rem .55rem;border-radius:999px;border:1px solid currentColor;white-space:nowrap}
.sev-error .badge,.badge.sev-error{color:var(--error);background:var(--error-bg)}
.sev-warning .badge,.badge.sev-warning{color:var(--warning);background:var(--warning-bg)}
.sev-info .badge,.badge.sev-info{color:var(--info);background:var(--info-bg)}
.sev-pass .badge,.badge.sev-pass{color:var(--pass);background:var(--pass-bg)}
ol.fixes{padding-left:1.5rem;margin:0}
ol.fixes>li{margin:0 0 1.25rem;padding-left:.25rem}
ol.fixes>li::marker{font-weight:700}
.findings{list-style:none;padding:0;margin:0}
.finding{border:1px solid var(--line);border-left:5px solid var(--line);border-radius:8px;
padding:.75rem 1rem;margin:0 0 .75rem;break-inside:avoid}
.finding.sev-error{border-left-color:var(--error)}
.finding.sev-warning{border-left-color:#d97706}
.finding.sev-info{border-left-color:#60a5fa}
.finding.sev-pass{border-left-color:#22c55e}
.finding-head{display:flex;gap:.6rem;align-items:baseline;flex-wrap:wrap}
.finding-head code{color:var(--muted);font-size:.8rem}
.detail{margin:.35rem 0;overflow-wrap:anywhere}
.why{margin:.35rem 0;color:var(--muted);font-size:.95rem}
.fixbox{margin:.6rem 0;border-radius:8px;overflow:hidden;background:var(--code-bg)}
.fixbar{display:flex;justify-content:space-between;align-items:center;
padding:.3rem .4rem .3rem .9rem;background:#1e293b;color:#cbd5e1;font-size:.8rem}
.fixbox pre{margin:0;padding:.75rem .9rem;color:var(--code-fg);white-space:pre-wrap;
overflow-wrap:anywhere}
button.copy{font:inherit;font-weight:600;font-size:.8rem;cursor:pointer;color:#0f172a;
background:#e2e8f0;border:1px solid #94a3b8;border-radius:6px;padding:.2rem .75rem}
button.copy:hover{background:#fff}
button.copy:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}
details{margin:.4rem 0}
summary{cursor:pointer;color:var(--muted);font-size:.9rem}
ul.evidence{margin:.4rem 0 0;padding-left:1.2rem}
ul.evidence code{overflow-wrap:anywhere;white-space:pre-wrap}
.refs{margin:.4rem 0 0;font-size:.85rem;color:var(--muted)}
.none{margin:.25rem 0;color:var(--pass);font-weight:600}
.visually-hidden,.offscreen{position:absolute;width:1px;height:1px;overflow:hidden;
clip:rect(0 0 0 0);white-space:nowrap}
footer{margin-top:2rem;color:var(--muted);font-size:.85rem}
@media print{
body{background:#fff;font-size:11pt}
.page{max-width:none;padding:0}
.domain{border:0;box-shadow:none;padding:0;break-before:page}
.domain:first-of-type{break-before:auto}
button.copy{display:none}
.fixbox,.fixbar{background:#fff;color:#000}
.fixbox{border:1px solid #888}
.fixbox pre{color:#000}
.grade,.badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}
a{color:inherit}
}
"""
STYLE += "".join(f".grade-{grade}{{background:{colour}}}" for grade, colour in GRADE_COLOUR.items())

SCRIPT = """
(function () {
  "use strict";
  var status = document.getElementById("copy-status");
  function say(button, text) {
    button.textContent = text;
    status.textContent = text;
    setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }
  function fallback(button, source) {
    var area = document.createElement("textarea");
    area.value = source.textContent;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    if (!ok) {
      var range = document.createRange();
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
    }
    say(button, ok ? "Copied" : "Selected: press Ctrl+C");
  }
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(source.textContent).then(
          function () { say(button, "Copied"); },
          function () { fallback(button, source); });
      } else {
        fallback(button, source);
      }
    });
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
})();
"""


class HtmlReporter(Reporter):
    def close(self) -> None:
        self.stream.write(render(self.reports))


def render(reports: Sequence[DomainReport], *, now: datetime | None = None) -> str:
    """The whole page for ``reports`` (worst domain first)."""
    from mailward import __version__

    ordered = sorted(reports, key=lambda r: (r.score, r.domain))
    codes = catalogue()
    generated = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    if len(ordered) == 1:
        title = f"Mail domain report: {_display_name(ordered[0])}"
    else:
        title = f"Mail domain report: {len(ordered)} domains"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_policy()}">',
        '<meta name="referrer" content="no-referrer">',
        f'<meta name="generator" content="mailward {_text(__version__)}">',
        f"<title>{_text(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        '<div class="page">',
        "<header>",
        f"<h1>{_text(title)}</h1>",
        f'<p class="meta">Checked by mailward {_text(__version__)} on '
        f'<time datetime="{_text(generated)}">{_text(_human_time(generated))}</time>. '
        "Grades go from A (best) to F.</p>",
        "</header>",
        "<main>",
    ]
    if len(ordered) > 1:
        parts.append(_overview(ordered))
    for number, report in enumerate(ordered, 1):
        parts.append(_domain_section(report, f"d{number}", codes))
    parts += [
        "</main>",
        "<footer>",
        "<p>Each finding's code links to its entry in the mailward documentation "
        f"({_text(CHECKS_PAGE)}): what it means, why it matters and how to fix it.</p>",
        "</footer>",
        "</div>",
        '<p id="copy-status" class="visually-hidden" role="status" aria-live="polite"></p>',
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _policy() -> str:
    return (
        "default-src 'none'; "
        f"style-src '{_sha256(STYLE)}'; script-src '{_sha256(SCRIPT)}'; "
        "base-uri 'none'; form-action 'none'"
    )


def _sha256(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _text(value: object) -> str:
    """``value`` made safe for HTML text and attribute values (see SECURITY above)."""
    masked = "".join(
        _mask(c) if c not in "\n\t" and unicodedata.category(c) in _MASKED else c
        for c in str(value)
    )
    return escape(masked, quote=True)


def _markdown_code(text: str) -> str:
    """Catalogue prose (``why``) escaped, its `backtick` spans shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _text(text))


def _mask(char: str) -> str:
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def _human_time(iso: str) -> str:
    return iso.replace("T", " ").replace("+00:00", " UTC")


def _display_name(report: DomainReport) -> str:
    return report.unicode or report.domain


def _verdict(report: DomainReport) -> str:
    verdict = VERDICT[report.grade]
    if report.grade != "A":
        return verdict
    small = report.counts["error"] + report.counts["warning"]
    if small == 0:
        return f"{verdict} Nothing needs fixing."
    things = "One small thing is" if small == 1 else f"{small} small things are"
    return f"{verdict} {things} worth fixing."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _counts_text(report: DomainReport) -> str:
    counts = report.counts
    return ", ".join(
        [
            _plural(counts["error"], "error"),
            _plural(counts["warning"], "warning"),
            f"{counts['info']} info",
            f"{counts['pass']} passed",
        ]
    )


def _grade(report: DomainReport, *, small: bool = False) -> str:
    label = f"Grade {report.grade}, score {report.score} out of 100"
    size = " small" if small else ""
    score = "" if small else f'<span class="score">{report.score}/100</span>'
    return (
        f'<div class="grade grade-{report.grade}{size}" role="img" aria-label="{label}">'
        f'<span class="letter" aria-hidden="true">{report.grade}</span>{score}</div>'
    )


def _overview(reports: Sequence[DomainReport]) -> str:
    rows = []
    for number, report in enumerate(reports, 1):
        counts = report.counts
        rows.append(
            "<tr>"
            f'<td><a href="#d{number}">{_text(_display_name(report))}</a></td>'
            f"<td>{_grade(report, small=True)}</td>"
            f'<td class="num">{report.score}</td>'
            f'<td class="num">{counts["error"]}</td>'
            f'<td class="num">{counts["warning"]}</td>'
            "</tr>"
        )
    return (
        '<table class="overview">'
        f"<caption>{len(reports)} domains, worst first</caption>"
        '<thead><tr><th scope="col">Domain</th><th scope="col">Grade</th>'
        '<th scope="col" class="num">Score</th><th scope="col" class="num">Errors</th>'
        '<th scope="col" class="num">Warnings</th>'
        "</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _domain_section(report: DomainReport, ident: str, codes: Mapping[str, Code]) -> str:
    name = f'<span class="unicode">{_text(report.unicode)}</span> ' if report.unicode else ""
    ascii_name = f'<span class="ascii">({_text(report.domain)})</span>' if report.unicode else ""
    heading = name + ascii_name if report.unicode else _text(report.domain)
    checked = report.checked_at.isoformat(timespec="seconds")
    parts = [
        f'<section class="domain" id="{ident}" aria-labelledby="{ident}-name">',
        f'<h2 class="domain-name" id="{ident}-name">{heading}</h2>',
        '<div class="summary">',
        _grade(report),
        "<div>",
        f'<p class="verdict">{_text(_verdict(report))}</p>',
        f'<p class="counts">{_text(_counts_text(report))} · checked '
        f'<time datetime="{_text(checked)}">{_text(_human_time(checked))}</time></p>',
        "</div>",
        "</div>",
        f'<h3 id="{ident}-fixes">Fix these first</h3>',
    ]
    fixes = report.top_fixes()
    if fixes:
        parts.append('<ol class="fixes">')
        for number, finding in enumerate(fixes, 1):
            parts.append(_top_fix(finding, f"{ident}-top{number}"))
        parts.append("</ol>")
    else:
        parts.append('<p class="none">✓ Nothing urgent to fix.</p>')
    parts.append(f'<h3 id="{ident}-details">Details</h3>')
    number = 0
    for area, findings in _areas_worst_first(report):
        worst = min((f.severity for f in findings), key=lambda s: s.rank)
        parts.append('<section class="area">')
        parts.append(
            f'<h4 class="area-title">{_text(AREAS.get(area, area))} '
            f'<span class="badge sev-{worst.value}">{_area_summary(findings)}</span></h4>'
        )
        parts.append('<ul class="findings">')
        for finding in findings:
            number += 1
            parts.append(_finding(finding, f"{ident}-f{number}", codes.get(finding.code)))
        parts.append("</ul>")
        parts.append("</section>")
    if not report.findings:
        parts.append('<p class="muted">No findings.</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _areas_worst_first(report: DomainReport) -> list[tuple[str, list[Finding]]]:
    order = list(AREAS)
    return sorted(
        report.by_area().items(),
        key=lambda kv: (
            min(f.severity.rank for f in kv[1]),
            order.index(kv[0]) if kv[0] in order else len(order),
        ),
    )


def _area_summary(findings: list[Finding]) -> str:
    counts = {s: sum(1 for f in findings if f.severity == s) for s in Severity}
    if counts[Severity.ERROR] or counts[Severity.WARNING]:
        words = [
            _plural(counts[s], s.value) for s in (Severity.ERROR, Severity.WARNING) if counts[s]
        ]
        worst = Severity.ERROR if counts[Severity.ERROR] else Severity.WARNING
        return f"{worst.mark} " + (", ".join(words))
    if counts[Severity.INFO]:
        return f"{(Severity.INFO).mark} {counts[Severity.INFO]} info"
    return f"{(Severity.PASS).mark} all good"


def _badge(severity: Severity) -> str:
    return f'<span class="badge">{(severity).mark} {LABEL[severity]}</span>'


def _fix_box(fix: str, ident: str, title: str) -> str:
    return (
        '<div class="fixbox">'
        '<div class="fixbar"><span>Ready to paste</span>'
        f'<button type="button" class="copy" data-copy="{ident}" hidden '
        f'aria-label="Copy the fix for: {_text(title)}">Copy</button></div>'
        f'<pre><code id="{ident}">{_text(fix)}</code></pre>'
        "</div>"
    )


def _refs(finding: Finding) -> str:
    refs = "".join(f"{_text(ref)} · " for ref in finding.refs)
    link = doc_link(finding.code)
    return (
        f'<p class="refs">See: {refs}<a href="{_text(link)}">{_text(finding.code)} '
        "in the mailward docs</a></p>"
    )


def _top_fix(finding: Finding, ident: str) -> str:
    fix = finding.fix or ""
    return (
        f'<li class="sev-{finding.severity.value}">'
        f'<div class="finding-head">{_badge(finding.severity)} '
        f'<h4 class="finding-title">{_text(finding.title)}</h4></div>'
        f'<p class="detail">{_text(finding.detail)}</p>'
        f"{_fix_box(fix, ident, finding.title)}"
        "</li>"
    )


def _finding(finding: Finding, ident: str, code: Code | None) -> str:
    parts = [
        f'<li class="finding sev-{finding.severity.value}">',
        f'<div class="finding-head">{_badge(finding.severity)} '
        f'<h5 class="finding-title">{_text(finding.title)}</h5> '
        f"<code>{_text(finding.code)}</code></div>",
        f'<p class="detail">{_text(finding.detail)}</p>',
    ]
    if code is not None and finding.severity in (Severity.ERROR, Severity.WARNING):
        parts.append(
            f'<p class="why"><strong>Why it matters:</strong> {_markdown_code(code.why)}</p>'
        )
    if finding.evidence:
        items = "".join(f"<li><code>{_text(item)}</code></li>" for item in finding.evidence)
        parts.append(
            f"<details><summary>What mailward saw ({len(finding.evidence)})</summary>"
            f'<ul class="evidence">{items}</ul></details>'
        )
    if finding.fix:
        parts.append(_fix_box(finding.fix, ident, finding.title))
    parts.append(_refs(finding))
    parts.append("</li>")
    return "\n".join(parts)
