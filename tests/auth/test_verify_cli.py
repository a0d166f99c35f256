"""mailward verify: text and JSON output, exit codes, the envelope taken from the message."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from messages import FORWARDER_IP, ORIGIN_IP, UNSIGNED_ORIGIN_IP, build, message, signed, zones

from mailward.cli import main

EXAMPLES = Path(__file__).parents[2] / "examples" / "messages"


@pytest.fixture
def zone_args(tmp_path: Path) -> list[str]:
    args = []
    for number, text in enumerate(zones()):
        path = tmp_path / f"zone{number}.zone"
        path.write_text(text)
        args += ["--zone", str(path)]
    return args


def write(tmp_path: Path, raw: bytes) -> str:
    path = tmp_path / "message.eml"
    path.write_bytes(raw)
    return str(path)


FORWARDED_UNSIGNED = build(
    message(author="carol@example.org"),
    ("mx.example.net", FORWARDER_IP),
    ("mail.example.org", UNSIGNED_ORIGIN_IP),
    return_path="carol@example.org",
)


def test_text_takes_the_envelope_from_the_message_and_says_so(
    tmp_path: Path, zone_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["verify", write(tmp_path, FORWARDED_UNSIGNED), *zone_args])
    out = capsys.readouterr().out
    assert status == 1
    assert f"The client IP {FORWARDER_IP} was taken from the topmost Received" in out
    assert "The HELO name mx.example.net was taken from the topmost Received" in out
    assert "The MAIL FROM <carol@example.org> was taken from the Return-Path" in out
    assert "spf=fail (domain example.org)" in out and "decided by -all" in out
    assert "dkim=none" in out
    assert "dmarc=fail policy=quarantine (record _dmarc.example.org)" in out
    assert "Authentication-Results: mailward.invalid;" in out
    assert "[forwarded-without-srs]" in out and "fix: On the forwarder" in out


def test_json_with_given_envelope(
    tmp_path: Path, zone_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    raw = build(signed(message()), ("mx.example.net", FORWARDER_IP))
    argv = ["verify", write(tmp_path, raw), "--format", "json", *zone_args]
    argv += ["--ip", ORIGIN_IP, "--helo", "mail.example.com", "--mail-from", "alice@example.com"]
    argv += ["--authserv-id", "mx.test"]
    status = main(argv)
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["envelope"] == {
        "ip": ORIGIN_IP,
        "helo": "mail.example.com",
        "mail_from": "alice@example.com",
    }
    assert data["notes"] == []
    assert data["spf"]["result"] == "pass" and data["spf"]["mechanism"] == f"ip4:{ORIGIN_IP}"
    assert [(d["result"], d["domain"], d["aligned"]) for d in data["dkim"]] == [
        ("pass", "example.com", True)
    ]
    assert data["dmarc"]["result"] == "pass" and data["dmarc"]["disposition"] == "none"
    assert data["dmarc"]["requested"] == "reject"
    assert data["authentication_results"].startswith("Authentication-Results: mx.test; spf=pass")
    assert [d["slug"] for d in data["diagnosis"]] == ["dmarc-pass"]


def test_stdin_and_exit_2(
    tmp_path: Path,
    zone_args: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["verify", str(tmp_path / "missing.eml"), *zone_args]) == 2
    assert "cannot read" in capsys.readouterr().err
    message_file = write(tmp_path, FORWARDED_UNSIGNED)
    assert main(["verify", message_file, *zone_args, "--nameserver", "127.0.0.1"]) == 2
    assert "cannot be combined" in capsys.readouterr().err
    stdin = io.TextIOWrapper(io.BytesIO(b"From: x@example.org\r\n\r\nhi\r\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["verify", "-", "--format", "json", *zone_args]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["spf"] is None and data["dmarc"]["result"] == "fail"
    assert any("SPF was not checked" in note for note in data["notes"])


@pytest.mark.parametrize(
    ("name", "status", "slugs"),
    [
        ("forwarded.eml", 0, ["forwarded-without-srs", "dmarc-pass"]),
        ("list-footer.eml", 1, ["body-modified", "unaligned-spf", "dmarc-fail"]),
        ("esp.eml", 1, ["unaligned-signature", "unaligned-spf", "dmarc-fail"]),
    ],
)
def test_examples(
    name: str, status: int, slugs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    zones_ = [arg for zone in sorted(EXAMPLES.glob("*.zone")) for arg in ("--zone", str(zone))]
    assert main(["verify", str(EXAMPLES / name), "--format", "json", *zones_]) == status
    data = json.loads(capsys.readouterr().out)
    assert [d["slug"] for d in data["diagnosis"]] == slugs


def test_hostile_message_is_judged_not_crashed(
    tmp_path: Path, zone_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    raw = b"From: a@example.com\r\nX-Big: " + b"x" * (2 << 20) + b"\r\n\r\n\x00\rbody"
    assert main(["verify", write(tmp_path, raw), *zone_args]) == 1
    out = capsys.readouterr().out
    assert "message: cannot be read" in out and "dmarc=permerror" in out
    assert "[unreadable]" in out
    forged = b"Authentication-Results: mailward.invalid; dmarc=pass\r\n" + FORWARDED_UNSIGNED
    assert main(["verify", write(tmp_path, forged), "--format", "json", *zone_args]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["forged_results"] == ["mailward.invalid; dmarc=pass"]
    assert data["dmarc"]["evidence"]  # the DNS questions DMARC asked
