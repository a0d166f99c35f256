"""The command line: exit status, formats, inputs (the README's promises)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mailward.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_lint_examples_folder_finds_errors(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["lint", str(EXAMPLES)], capsys)
    assert status == 1
    assert "spf.multiple-records" in out and "dkim.key-invalid" in out
    assert "translated-howto.zone:5:1: error zone.name-with-spaces" in out


def test_lint_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["lint", "--format", "json", str(EXAMPLES / "example.com.zone")], capsys)
    document = json.loads(out)
    assert status == 1
    assert document["schema"] == "mailward.lint/1"
    finding = document["findings"][0]
    assert set(finding) == {
        "code",
        "severity",
        "title",
        "detail",
        "location",
        "evidence",
        "fix",
        "refs",
    }
    assert set(finding["location"]) >= {"file", "line", "column"}
    assert all(f["severity"] in {"error", "warning", "info", "pass"} for f in document["findings"])


def test_clean_record_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["lint", "--record", "v=spf1 mx -all"], capsys)
    assert (status, out.strip()) == (0, "no problems found")


def test_warnings_only_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["lint", "--record", "v=DMARC1; p=none; rua=mailto:d@example.com"], capsys)
    assert status == 0 and "dmarc.policy-none" in out


def test_stdin_single_record(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"v=DMARC1; p=rejected\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    status, out, _ = run(["lint", "-"], capsys)
    assert status == 1 and "dmarc.syntax" in out


def test_non_utf8_file_is_a_located_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zone = tmp_path / "latin1.zone"
    zone.write_bytes(b'$TTL 60\nexample.com. IN TXT "caf\xe9"\n')
    status, out, _ = run(["lint", str(zone)], capsys)
    assert status == 1 and "latin1.zone:2: error zone.syntax" in out and "0xe9" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["lint"],
        ["lint", "/nonexistent/zone"],
        ["lint", "--type", "bogus", "--record", "x"],
        ["explain", "dmarc.unknwn-tag"],
        ["query", "example.com", "--nameserver", "not-an-ip"],
    ],
)
def test_could_not_run_exits_two(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        status = int(exc.code or 0)
    assert status == 2
    assert "Traceback" not in capsys.readouterr().err


def test_explain_suggests_and_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "dmarc.unknwn-tag"]) == 2
    assert "did you mean 'dmarc.unknown-tag'" in capsys.readouterr().err
    status, out, _ = run(["explain", "dmarc.unknown-tag"], capsys)
    assert status == 0 and "**Why it matters.**" in out


def test_query_offline_against_the_example_zone(capsys: pytest.CaptureFixture[str]) -> None:
    zone = str(EXAMPLES / "example.com.zone")
    status, out, _ = run(["query", "example.com", "MX", "--zone", zone], capsys)
    assert status == 0 and "IN MX 20 backup.example.com." in out
    status, out, _ = run(["query", "nope.example.com", "A", "--zone", zone], capsys)
    assert status == 1 and "no such name" in out
    status, _, err = run(["query", "example.org", "A", "--zone", zone], capsys)
    assert status == 2 and "could not get an answer" in err


def test_installed_entry_point_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mailward", "lint", "--record", "v=spf1 +all"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "spf.pass-all" in result.stdout
