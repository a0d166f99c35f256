"""``mailward dkim keygen|sign|verify``: keys written safely, records ready to paste, and
messages signed and checked offline against a zone file."""

from __future__ import annotations

import io
import json
import re
import stat
import sys
from pathlib import Path

import pytest

from mailward.cli import main

MESSAGE = b"From: a@shop.example\nTo: b@example.org\nSubject: order\n\nThanks!\n"


def keygen(
    tmp_path: Path, selector: str, algorithm: str, capsys: pytest.CaptureFixture[bytes]
) -> str:
    out = tmp_path / f"{selector}.pem"
    status = main(
        ["dkim", "keygen", "--domain", "shop.example", "--selector", selector,
         "--algorithm", algorithm, "--out", str(out)]
    )  # fmt: skip
    assert status == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in out.read_bytes()
    record = capsys.readouterr().out.decode().strip()
    assert record.startswith(f"{selector}._domainkey.shop.example. IN TXT ( ")
    return record


@pytest.fixture
def zone(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> Path:
    rsa = keygen(tmp_path, "rsa", "rsa-2048", capsysbinary)
    ed = keygen(tmp_path, "ed", "ed25519", capsysbinary)
    path = tmp_path / "shop.zone"
    path.write_text(
        "$ORIGIN shop.example.\n$TTL 300\n@ IN SOA ns. host. 1 7200 3600 86400 300\n"
        f"@ IN NS ns.example.\n{rsa}\n{ed}\n"
    )
    return path


def test_keygen_record_is_split_into_255_octet_strings(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    record = keygen(tmp_path, "big", "rsa-3072", capsysbinary)
    strings = re.findall(r'"([^"]*)"', record)
    assert len(strings) > 1 and all(len(s) <= 255 for s in strings)
    assert "".join(strings).startswith("v=DKIM1; k=rsa; p=MII")


def test_keygen_never_overwrites(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    keygen(tmp_path, "s1", "ed25519", capsysbinary)
    before = (tmp_path / "s1.pem").read_bytes()
    status = main(
        ["dkim", "keygen", "--domain", "shop.example", "--selector", "s1",
         "--out", str(tmp_path / "s1.pem")]
    )  # fmt: skip
    assert status == 2 and b"never overwritten" in capsysbinary.readouterr().err
    assert (tmp_path / "s1.pem").read_bytes() == before


def sign(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], *extra: str) -> bytes:
    source = tmp_path / "message.eml"
    source.write_bytes(MESSAGE)
    status = main(
        ["dkim", "sign", str(source), "--domain", "shop.example",
         "--selector", "rsa", "--key", str(tmp_path / "rsa.pem"),
         "--selector", "ed", "--key", str(tmp_path / "ed.pem"), *extra]
    )  # fmt: skip
    assert status == 0
    return capsysbinary.readouterr().out


def test_sign_and_verify_offline(
    tmp_path: Path, zone: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    signed = sign(tmp_path, capsysbinary, "--canonicalization", "simple/relaxed")
    assert signed.endswith(MESSAGE) and b"\r" not in signed  # LF in, LF out
    assert signed.count(b"DKIM-Signature:") == 2
    (tmp_path / "signed.eml").write_bytes(signed)
    assert main(["dkim", "verify", str(tmp_path / "signed.eml"), "--zone", str(zone)]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert "dkim=pass d=shop.example s=rsa a=rsa-sha256 (2048-bit key)" in out
    assert "dkim=pass d=shop.example s=ed a=ed25519-sha256" in out

    (tmp_path / "bad.eml").write_bytes(signed.replace(b"Thanks!", b"Thanks?"))
    args = ["dkim", "verify", str(tmp_path / "bad.eml"), "--zone", str(zone), "--format", "json"]
    assert main(args) == 1
    report = json.loads(capsysbinary.readouterr().out)
    assert report["result"] == "fail"
    assert [s["result"] for s in report["signatures"]] == ["fail", "fail"]
    assert "body hash" in report["signatures"][0]["reason"]


def test_verify_reads_stdin_and_expiry(
    tmp_path: Path,
    zone: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signed = sign(tmp_path, capsysbinary, "--expire-after", "60", "--now", "1800000000")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(signed)))
    assert main(["dkim", "verify", "--zone", str(zone), "--now", "1800000030"]) == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(signed)))
    assert main(["dkim", "verify", "-", "--zone", str(zone), "--now", "1800000061"]) == 1
    assert "expired" in capsysbinary.readouterr().out.decode()


def test_unsigned_message_and_usage_errors(
    tmp_path: Path, zone: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    capsys = capsysbinary
    (tmp_path / "plain.eml").write_bytes(MESSAGE)
    assert main(["dkim", "verify", str(tmp_path / "plain.eml"), "--zone", str(zone)]) == 1
    assert b"dkim=none" in capsys.readouterr().out
    status = main(
        ["dkim", "sign", str(tmp_path / "plain.eml"), "--domain", "shop.example",
         "--selector", "a", "--selector", "b", "--key", str(tmp_path / "rsa.pem")]
    )  # fmt: skip
    assert status == 2 and b"one --selector for each --key" in capsys.readouterr().err
    assert main(["dkim", "verify", str(tmp_path / "missing.eml"), "--zone", str(zone)]) == 2
