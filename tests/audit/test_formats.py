"""The HTML and SARIF audit reports: structure, escaping of DNS text, and a real browser.

The browser test renders the offline audit of ``examples/example.com.zone`` in headless
Chromium (Debian package ``chromium``) and keeps the screenshot as
``test-artifacts/audit-report.png`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import itertools
import json
import re
import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from mailward.audit.auditor import Auditor, DomainReport
from mailward.audit.formats import ReportFormat
from mailward.audit.formats.html import GRADE_COLOUR, HtmlReporter, render
from mailward.audit.formats.sarif import SarifReporter, sarif_log
from mailward.audit.registry import AREAS, area_of
from mailward.cli import main
from mailward.codes import Severity, catalogue
from mailward.dns.zonefiles import ZoneResolver
from mailward.docs import anchor
from mailward.findings import Finding

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ZONE = ROOT / "examples" / "example.com.zone"
ARTIFACTS = ROOT / "test-artifacts"
CONFTEST = ROOT / "tests" / "conftest.py"

HOSTILE_ZONE = """\
$ORIGIN hostile.test.
$TTL 3600
@ IN SOA ns1 hostmaster 1 3600 900 1209600 3600
@ IN NS ns1
ns1 IN A 192.0.2.53
@ IN MX 10 <script>alert.1</script>.hostile.test.
@ IN TXT "v=spf1 ip4:192.0.2.1 <script>alert(1)</script> -all"
_dmarc IN TXT "v=DMARC1; p=<img src=x onerror=alert(1)>; rua=mailto:\\"><script>x</script>"
"""
EVIL = '<script>alert("x")</script>'


# --- helpers ---------------------------------------------------------------------------------


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Element] = []
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str, cls: str | None = None) -> list[Element]:
        return [e for e in self.iter() if e.tag == tag and (cls is None or cls in e.classes)]

    def ancestors(self) -> Iterator[Element]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


VOID = {"meta", "br", "img", "input", "link", "hr", "wbr", "source", "area", "base", "col"}


class Tree(HTMLParser):
    """A small DOM: enough to check what a browser will build from the page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.current = self.root
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None and node.parent is not None, f"stray </{tag}>"
        self.current = node.parent

    def handle_data(self, data: str) -> None:
        for node in [self.current, *self.current.ancestors()]:
            node.parts.append(data)


def offline_report(zone: Path, domain: str) -> DomainReport:
    return asyncio.run(Auditor(ZoneResolver([zone])).audit(domain))


def example_report() -> DomainReport:
    return offline_report(EXAMPLE_ZONE, "example.com")


def csp_hash(source: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()


def hostile_finding() -> Finding:
    return Finding(
        code="spf.syntax",
        severity=Severity.ERROR,
        title="SPF <b>record</b> is malformed",
        detail=f"the TXT record says {EVIL} & 'more'",
        fix=f'example.com. 3600 IN TXT "v=spf1 -all" ; {EVIL}',
        refs=("RFC 7208 §4.6 <i>",),
        evidence=(f'evil.test TXT: "{EVIL}\u202eabc\x00"',),
    )


# --- HTML ------------------------------------------------------------------------------------


def test_html_is_one_self_contained_page() -> None:
    page = render([example_report()])
    tree = Tree(page)
    assert len(tree.root.find_all("html")) == 1
    assert tree.root.find_all("html")[0].attrs.get("lang") == "en"
    for element in tree.root.iter():
        assert element.tag not in {"link", "iframe", "img", "object", "embed"}, element.tag
        assert "src" not in element.attrs, element.attrs
        href = element.attrs.get("href")
        if href is not None:
            assert href.startswith(("#", "docs/checks.md#")), href
    (style,) = tree.root.find_all("style")
    (script,) = tree.root.find_all("script")
    assert "url(" not in style.text and "@import" not in style.text
    assert "fetch(" not in script.text and "XMLHttpRequest" not in script.text
    # the Content-Security-Policy admits exactly this style sheet and script, nothing else
    (policy,) = [
        m.attrs["content"] or ""
        for m in tree.root.find_all("meta")
        if m.attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    assert "default-src 'none'" in policy
    assert f"style-src '{csp_hash(style.text)}'" in policy
    assert f"script-src '{csp_hash(script.text)}'" in policy


def test_html_shows_grade_fixes_and_details_worst_first() -> None:
    report = example_report()
    tree = Tree(render([report]))
    (grade,) = [g for g in tree.root.find_all("div", "grade") if "small" not in g.classes]
    assert f"grade-{report.grade}" in grade.classes
    assert grade.text.startswith(report.grade) and f"{report.score}/100" in grade.text
    assert grade.attrs["aria-label"] == f"Grade {report.grade}, score {report.score} out of 100"

    # "Fix these first": each top fix in a code block with its own Copy button
    fixes = report.top_fixes()
    assert fixes, "the example has fixable errors"
    (top,) = tree.root.find_all("ol", "fixes")
    codes = {e.attrs["id"]: e.text for e in top.find_all("code") if "id" in e.attrs}
    assert list(codes.values()) == [f.fix for f in fixes]
    buttons = top.find_all("button", "copy")
    assert [b.attrs["data-copy"] for b in buttons] == list(codes)
    for button in buttons:
        assert button.attrs["type"] == "button" and button.attrs["aria-label"]

    # details: areas worst first, each titled from AREAS, every finding shown once
    expected = sorted(
        report.by_area().items(),
        key=lambda kv: (min(f.severity.rank for f in kv[1]), list(AREAS).index(kv[0])),
    )
    areas = [h.text for h in tree.root.find_all("h4", "area-title")]
    assert len(areas) == len(expected) > 1
    for shown, (area, _) in zip(areas, expected, strict=True):
        assert shown.startswith(AREAS[area] + " ")
    in_order = [finding for _, findings in expected for finding in findings]
    items = tree.root.find_all("li", "finding")
    assert len(items) == len(report.findings)
    for item, finding in zip(items, in_order, strict=True):
        assert f"sev-{finding.severity.value}" in item.classes
        (badge,) = item.find_all("span", "badge")
        label = {"error": "Error", "warning": "Warning", "info": "Info", "pass": "OK"}
        assert label[finding.severity.value] in badge.text  # never colour alone
        assert finding.title in item.text and finding.detail in item.text
        (link,) = item.find_all("a")
        assert link.attrs["href"] == f"docs/checks.md#{anchor(finding.code)}"
        for ref in finding.refs:
            assert ref in item.text
        if finding.evidence:
            (details,) = item.find_all("details")
            assert "open" not in details.attrs
            assert [c.text for c in details.find_all("code")] == list(finding.evidence)
        if finding.fix:
            assert [c.text for c in item.find_all("pre")] == [finding.fix]


def test_html_headings_do_not_skip_levels() -> None:
    reports = [example_report(), DomainReport("good.example", ())]
    tree = Tree(render(reports))
    levels = [int(e.tag[1]) for e in tree.root.iter() if e.tag in {"h1", "h2", "h3", "h4", "h5"}]
    assert levels[0] == 1 and levels.count(1) == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, levels


def test_html_escapes_everything_from_dns() -> None:
    bad_input = "<img src=x onerror=alert(1)>"
    reports = [
        DomainReport("evil.test", (hostile_finding(),), unicode=f"é{EVIL}"),
        DomainReport(bad_input, ()),
    ]
    page = render(reports)
    tree = Tree(page)
    assert len(tree.root.find_all("script")) == 1  # ours
    assert not tree.root.find_all("img") and not tree.root.find_all("b")
    assert not tree.root.find_all("i")
    assert EVIL not in page and bad_input not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    # the text survives intact for the reader, bidi override and NUL made visible
    body = tree.root.find_all("body")[0].text
    assert f"the TXT record says {EVIL} & 'more'" in body
    assert f'"{EVIL}\\u202eabc\\x00"' in body
    assert "\u202e" not in page and "\x00" not in page
    assert bad_input in body and f"é{EVIL}" in body
    copied = [c.text for c in tree.root.find_all("code") if c.attrs.get("id")]
    assert hostile_finding().fix in copied


def test_html_escapes_a_real_audit_of_hostile_txt_records(tmp_path: Path) -> None:
    zone = tmp_path / "hostile.test.zone"
    zone.write_text(HOSTILE_ZONE)
    report = offline_report(zone, "hostile.test")
    shown = [
        text
        for finding in report.findings
        for text in (finding.detail, finding.fix or "", *finding.evidence)
    ]
    assert any("<script>" in text for text in shown), "the hostile data reached the findings"
    page = render([report])
    tree = Tree(page)
    assert len(tree.root.find_all("script")) == 1
    assert "<script>alert" not in page and "<img" not in page
    body = tree.root.find_all("body")[0].text
    for text in shown:
        assert text in body


def test_html_several_domains_in_one_file_worst_first() -> None:
    good = DomainReport("b.example", (Finding("mx.ok", Severity.PASS, "MX is right", "ok"),))
    warned = DomainReport(
        "a.example",
        (Finding("spf.no-all", Severity.WARNING, "SPF has no all", "no -all", fix="x"),),
    )
    reports = [good, example_report(), warned]
    tree = Tree(render(reports))
    (table,) = tree.root.find_all("table", "overview")
    rows = table.find_all("tr")[1:]
    ordered = sorted(reports, key=lambda r: (r.score, r.domain))
    assert [r.find_all("a")[0].text for r in rows] == [r.domain for r in ordered]
    sections = tree.root.find_all("section", "domain")
    assert [s.find_all("h2")[0].text for s in sections] == [r.domain for r in ordered]
    ids = [e.attrs["id"] for e in tree.root.iter() if "id" in e.attrs]
    assert len(ids) == len(set(ids))
    for row, section in zip(rows, sections, strict=True):
        assert row.find_all("a")[0].attrs["href"] == f"#{section.attrs['id']}"
    assert "Nothing urgent to fix" in sections[-1].text


@pytest.mark.parametrize(
    ("findings", "grade", "says"),
    [
        ((), "A", "Well set up. Nothing needs fixing."),
        ((Severity.WARNING,), "A", "Well set up. One small thing is worth fixing."),
        ((Severity.WARNING,) * 2, "A", "Well set up. 2 small things are worth fixing."),
        ((Severity.ERROR,), "B", "Mostly right."),
        ((Severity.ERROR, Severity.WARNING), "C", "Needs attention."),
        ((Severity.ERROR, Severity.ERROR, Severity.WARNING), "D", "Needs work."),
        ((Severity.ERROR,) * 3, "F", "Serious problems."),
    ],
)
def test_html_verdict_follows_the_grade(
    findings: tuple[Severity, ...], grade: str, says: str
) -> None:
    report = DomainReport(
        "v.example", tuple(Finding(f"mx.x{i}", s, "t", "d") for i, s in enumerate(findings))
    )
    assert report.grade == grade
    (verdict,) = Tree(render([report])).root.find_all("p", "verdict")
    assert verdict.text.startswith(says)


def test_html_reporter_and_cli(tmp_path: Path) -> None:
    stream = io.StringIO()
    reporter = ReportFormat("html").reporter(stream)
    assert isinstance(reporter, HtmlReporter)
    out = tmp_path / "report.html"
    args = ["--zone", str(EXAMPLE_ZONE), "--format", "html", "-o", str(out), "example.com"]
    status = main(["check", *args])
    assert status == 1
    tree = Tree(out.read_text(encoding="utf-8"))
    assert "example.com" in tree.root.find_all("h2")[0].text


# --- SARIF -----------------------------------------------------------------------------------

# The SARIF 2.1.0 schema's objects this report uses: required properties, the properties
# allowed (the schema sets additionalProperties false on each), and the enumerations.
SARIF_OBJECTS: dict[str, tuple[set[str], set[str]]] = {
    "log": ({"version", "runs"}, {"$schema", "version", "runs", "properties"}),
    "run": ({"tool"}, {"tool", "invocations", "results", "properties", "logicalLocations"}),
    "tool": ({"driver"}, {"driver", "extensions", "properties"}),
    "driver": (
        {"name"},
        {"name", "version", "semanticVersion", "informationUri", "rules", "properties"},
    ),
    "rule": (
        {"id"},
        {
            "id",
            "name",
            "shortDescription",
            "fullDescription",
            "help",
            "helpUri",
            "defaultConfiguration",
            "properties",
        },
    ),
    "multiformat": ({"text"}, {"text", "markdown", "properties"}),
    "configuration": (set(), {"enabled", "level", "rank", "parameters", "properties"}),
    "invocation": ({"executionSuccessful"}, {"executionSuccessful", "endTimeUtc", "exitCode"}),
    "result": (
        {"message"},
        {"ruleId", "ruleIndex", "kind", "level", "message", "locations", "properties"},
    ),
    "message": (set(), {"text", "markdown", "id", "arguments", "properties"}),
    "location": (set(), {"logicalLocations", "physicalLocation", "message", "properties"}),
    "logical": (set(), {"name", "fullyQualifiedName", "kind", "index", "properties"}),
}
LEVELS = {"none", "note", "warning", "error"}


def conforms(kind: str, value: Any) -> None:
    required, allowed = SARIF_OBJECTS[kind]
    assert isinstance(value, dict), (kind, value)
    assert required <= set(value), (kind, required - set(value))
    assert set(value) <= allowed, (kind, set(value) - allowed)
    if "properties" in value:
        assert isinstance(value["properties"], dict)
        tags = value["properties"].get("tags", [])
        assert all(isinstance(t, str) for t in tags) and len(set(tags)) == len(tags)


def check_sarif(log: dict[str, Any]) -> None:
    """The key rules of the SARIF 2.1.0 schema, checked by hand (no schema copy offline)."""
    conforms("log", log)
    assert log["version"] == "2.1.0"
    assert isinstance(log["runs"], list)
    for run in log["runs"]:
        conforms("run", run)
        conforms("tool", run["tool"])
        driver = run["tool"]["driver"]
        conforms("driver", driver)
        rules = driver.get("rules", [])
        assert len({r["id"] for r in rules}) == len(rules)
        for rule in rules:
            conforms("rule", rule)
            for key in ("shortDescription", "fullDescription", "help"):
                if key in rule:
                    conforms("multiformat", rule[key])
                    assert isinstance(rule[key]["text"], str)
            if "defaultConfiguration" in rule:
                conforms("configuration", rule["defaultConfiguration"])
                assert rule["defaultConfiguration"]["level"] in LEVELS
        for invocation in run.get("invocations", []):
            conforms("invocation", invocation)
            assert isinstance(invocation["executionSuccessful"], bool)
            datetime.strptime(invocation["endTimeUtc"], "%Y-%m-%dT%H:%M:%SZ")
        for result in run.get("results", []):
            conforms("result", result)
            conforms("message", result["message"])
            assert "text" in result["message"] or "id" in result["message"]
            assert result.get("level", "warning") in LEVELS
            index = result.get("ruleIndex", -1)
            assert isinstance(index, int) and index >= -1
            if index >= 0:
                assert rules[index]["id"] == result["ruleId"]
            for location in result.get("locations", []):
                conforms("location", location)
                for logical in location.get("logicalLocations", []):
                    conforms("logical", logical)


def test_sarif_follows_the_schema_and_maps_levels() -> None:
    report = example_report()
    extra = (
        Finding("spf.no-all", Severity.WARNING, "SPF record has no all", "no all term"),
        Finding("mx.ok", Severity.PASS, "MX is right", "all hosts have addresses"),
    )
    report = DomainReport(report.domain, report.findings + extra)
    log = sarif_log([report], now=datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    check_sarif(log)
    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "mailward"
    assert run["invocations"][0]["endTimeUtc"] == "2026-11-28T12:00:00Z"
    results = run["results"]
    problems = [f for f in report.findings if f.severity != Severity.PASS]
    assert [r["ruleId"] for r in results] == [f.code for f in problems]
    level = {"error": "error", "warning": "warning", "info": "note"}
    for result, finding in zip(results, problems, strict=True):
        assert result["level"] == level[finding.severity.value]
        assert result["message"]["text"] == finding.detail
        (location,) = result["locations"]
        assert location["logicalLocations"] == [
            {"name": "example.com", "fullyQualifiedName": "example.com", "kind": "resource"}
        ]
        assert result["properties"]["evidence"] == list(finding.evidence)
        assert result["properties"].get("fix") == finding.fix
    assert "mx.ok" not in {r["ruleId"] for r in results}


def test_sarif_rules_are_the_catalogue_codes_used() -> None:
    report = example_report()
    log = sarif_log([report])
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    used = sorted({f.code for f in report.findings if f.severity != Severity.PASS})
    assert [r["id"] for r in rules] == used
    codes = catalogue()
    for rule in rules:
        code = codes[rule["id"]]
        assert rule["shortDescription"]["text"] == code.title
        assert rule["fullDescription"]["text"] == code.why
        assert rule["help"]["text"] == code.fix
        assert rule["helpUri"] == f"docs/checks.md#{anchor(code.slug)}"
        assert (
            rule["defaultConfiguration"]["level"]
            == {
                "error": "error",
                "warning": "warning",
                "info": "note",
            }[code.severity.value]
        )
        assert rule["properties"]["tags"] == [area_of(code.slug)]


def test_sarif_several_domains_one_run_and_hostile_text_kept_verbatim() -> None:
    evil = DomainReport("evil.test", (hostile_finding(),))
    stream = io.StringIO()
    reporter = ReportFormat("sarif").reporter(stream)
    assert isinstance(reporter, SarifReporter)
    reporter.add(example_report())
    reporter.add(evil)
    reporter.add(DomainReport("clean.test", ()))
    reporter.close()
    log = json.loads(stream.getvalue())
    check_sarif(log)
    (run,) = log["runs"]
    domains = {r["locations"][0]["logicalLocations"][0]["name"] for r in run["results"]}
    assert domains == {"example.com", "evil.test"}
    assert run["properties"]["domains"] == ["example.com", "evil.test", "clean.test"]
    (hostile,) = [
        r for r in run["results"] if r["locations"][0]["logicalLocations"][0]["name"] == "evil.test"
    ]
    assert hostile["message"]["text"] == hostile_finding().detail
    assert hostile["properties"]["evidence"] == list(hostile_finding().evidence)


def test_sarif_with_nothing_wrong_has_an_empty_result_list() -> None:
    log = sarif_log([DomainReport("clean.test", (Finding("mx.ok", Severity.PASS, "t", "d"),))])
    check_sarif(log)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["rules"] == []


def test_sarif_check_rejects_what_the_schema_rejects() -> None:
    good = sarif_log([example_report()])
    broken: list[dict[str, Any]] = []
    for mutate in (
        lambda log: log.pop("version"),
        lambda log: log["runs"][0]["tool"]["driver"].pop("name"),
        lambda log: log["runs"][0]["results"][0].update(level="info"),
        lambda log: log["runs"][0]["results"][0].update(severity="error"),
        lambda log: log["runs"][0]["results"][0]["message"].pop("text"),
        lambda log: log["runs"][0]["results"][0].update(ruleIndex=99_999),
    ):
        log = json.loads(json.dumps(good))
        mutate(log)
        broken.append(log)
    for log in broken:
        with pytest.raises((AssertionError, IndexError)):
            check_sarif(log)


# --- the browser -----------------------------------------------------------------------------


def read_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """Width, height, rows of pixels and bytes per pixel of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, bytearray()
    header: tuple[int, ...] = ()
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    previous = bytearray(stride)
    rows: list[bytes] = []
    at = 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1 : at + 1 + stride])
        at += 1 + stride
        if kind == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + (left + previous[x]) // 2) & 255
        elif kind == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = previous[x]
                c = previous[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, rows, bpp


def chromium_args(binary: str, profile: Path) -> list[str]:
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--force-color-profile=srgb",
        f"--user-data-dir={profile}",
    ]


def test_report_renders_in_headless_chromium(chromium: str, tmp_path: Path) -> None:
    report = example_report()
    page = tmp_path / "audit-report.html"
    page.write_text(render([report]), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "audit-report.png"
    shot.unlink(missing_ok=True)
    (ARTIFACTS / "audit-report.html").write_text(page.read_text(encoding="utf-8"))
    subprocess.run(
        [
            *chromium_args(chromium, tmp_path / "profile"),
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.exists() and shot.stat().st_size > 20_000
    width, height, rows, bpp = read_png(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    pixels = [row[x : x + 3] for row in rows[::4] for x in range(0, len(row), bpp * 4)]
    counts: dict[bytes, int] = {}
    for pixel in pixels:
        counts[pixel] = counts.get(pixel, 0) + 1
    background = max(counts.values())
    assert len(counts) > 50, "the page is (nearly) one colour"
    assert background < 0.9 * len(pixels), "the page is (nearly) blank"
    # the style sheet was applied (the CSP hash matched): the grade box has its colour
    target = bytes.fromhex(GRADE_COLOUR[report.grade][1:])
    near = sum(
        n for p, n in counts.items() if max(abs(a - b) for a, b in zip(p, target, strict=True)) <= 8
    )
    assert near > 200, f"no {GRADE_COLOUR[report.grade]} grade box in the screenshot"


def test_report_dom_in_chromium_has_grade_and_working_copy_buttons(
    chromium: str, tmp_path: Path
) -> None:
    report = example_report()
    page = tmp_path / "report.html"
    page.write_text(render([report]), encoding="utf-8")
    done = subprocess.run(
        [*chromium_args(chromium, tmp_path / "profile"), "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    tree = Tree(done.stdout)
    grades = [g for g in tree.root.find_all("div", "grade") if "small" not in g.classes]
    assert [g.find_all("span", "letter")[0].text for g in grades] == [report.grade]
    buttons = tree.root.find_all("button", "copy")
    fixable = [f for f in report.findings if f.fix]
    assert len(buttons) == len(report.top_fixes()) + len(fixable) > 0
    # the script ran (its CSP hash matched): it reveals the buttons it wires up
    assert all("hidden" not in b.attrs for b in buttons)
    ids = {e.attrs["id"] for e in tree.root.iter() if "id" in e.attrs}
    assert all(b.attrs["data-copy"] in ids for b in buttons)


def test_print_to_pdf(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render([example_report()]), encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [
            *chromium_args(chromium, tmp_path / "profile"),
            f"--print-to-pdf={pdf}",
            "--no-pdf-header-footer",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert re.search(rb"/Type\s*/Page[^s]", data), "no page in the PDF"
    assert len(data) > 10_000


def test_missing_chromium_fails_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("conftest.py", "knot.py"):
        pytester.makepyfile(**{name.removesuffix(".py"): (CONFTEST.parent / name).read_text()})
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "markers =\n    server: needs a system server\n"
    )
    pytester.makepyfile(test_browser="def test_render(chromium):\n    pass\n")
    empty = pytester.mkdir("empty-path")
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    monkeypatch.delenv("CI")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
