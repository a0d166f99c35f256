"""``mailward check``: formats, bulk input with bad lines, exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailward.cli import main

ROOT = Path(__file__).resolve().parents[2]
ZONE = str(ROOT / "examples" / "example.com.zone")
SCENARIOS = sorted(str(p) for p in (ROOT / "tests" / "audit" / "zones").glob("*.zone"))


def zones(*files: str) -> list[str]:
    return [arg for file in files for arg in ("--zone", file)]


def test_offline_example_has_errors_and_a_fix_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *zones(ZONE), "example.com"]) == 1
    out = capsys.readouterr().out
    assert "Fix these first" in out
    assert "example.com. 3600 IN MX 10 mail.example.com." in out


def test_json_document_follows_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", *zones(ZONE), "--format", "json", "example.com"])
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "mailward.audit/1"
    assert document["domain"] == "example.com"
    assert set(document["summary"]) >= {"error", "warning", "info", "pass", "grade", "score"}
    for finding in document["findings"]:
        assert set(finding) == {"code", "severity", "title", "detail", "evidence", "fix", "refs"}


def test_bulk_jsonl_with_a_bad_line_keeps_going(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("# my domains\ngood.test\nhttps://www.example.com/\n\nnull.mx.test\n")
    status = main(["check", *zones(*SCENARIOS), "-f", str(listing), "--format", "jsonl"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_domain = {line["domain"]: line for line in lines}
    assert set(by_domain) == {"good.test", "https://www.example.com/", "null.mx.test"}
    bad = by_domain["https://www.example.com/"]["findings"]
    assert [f["code"] for f in bad] == ["audit.bad-input"]
    assert "did you mean 'www.example.com'" in bad[0]["detail"]
    assert status == 1  # the bad line is an error finding


def test_bulk_on_processes_reports_what_one_process_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("good.test\nnull.mx.test\nnomx.mx.test\nwww.example.com/\ngood.test\n")

    def run(*extra: str) -> tuple[int, list[dict[str, object]]]:
        status = main(
            ["check", *zones(*SCENARIOS), "-f", str(listing), "--format", "jsonl", *extra]
        )
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        for line in lines:
            del line["checked_at"]
        return status, sorted(lines, key=lambda line: json.dumps(line, sort_keys=True))

    assert run("--processes", "3") == run()


def test_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    main(["check", *zones(*SCENARIOS), "--format", "json", "-o", str(out), "good.test"])
    assert capsys.readouterr().out == ""
    assert json.loads(out.read_text())["domain"] == "good.test"


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["check", "--zone", "/nonexistent.zone", "example.com"],
        ["check", "--zone", ZONE, "--nameserver", "127.0.0.1", "example.com"],
        ["check", "-f", "/nonexistent/list.txt"],
        ["check", "--concurrency", "0", "example.com", "--zone", ZONE],
        ["check", "--processes", "0", "example.com", "--zone", ZONE],
    ],
)
def test_could_not_run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "mailward:" in capsys.readouterr().err
