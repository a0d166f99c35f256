"""``mailward dnssec keygen|sign|ds|status``: files, output, exit status."""

from __future__ import annotations

import re
import stat
import time
from pathlib import Path

import pytest
from signing_helpers import SHOP, validate_all

from mailward.cli import main
from mailward.records.dnssec import ds_from_dnskey
from mailward.setup.dnssec_keys import load_keys

DAY = 86400


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["dnssec", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "keys"
    assert run(["keygen", "shop.example", "--dir", str(folder)], capsys)[0] == 0
    return folder


@pytest.fixture
def signed(tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    zone = tmp_path / "shop.zone"
    zone.write_text(SHOP.read_text())
    assert run(["sign", str(zone), "--keys", str(keys)], capsys)[0] == 0
    return tmp_path / "shop.zone.signed"


def test_keygen_writes_one_csk_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["keygen", "shop.example", "--dir", str(tmp_path)], capsys)
    assert status == 0
    [basename] = out.split()
    assert basename.startswith("Kshop.example.+013+")
    assert stat.S_IMODE((tmp_path / f"{basename}.private").stat().st_mode) == 0o600
    assert "CSK" in err and "mailward dnssec sign" in err
    [key] = load_keys(tmp_path, "shop.example")
    assert key.flags == 257


def test_keygen_ksk_and_zsk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["keygen", "shop.example", "--algorithm", "ED25519", "--ksk", "--zsk"]
    status, out, _ = run([*argv, "--dir", str(tmp_path)], capsys)
    assert status == 0 and len(out.split()) == 2
    assert sorted(k.flags for k in load_keys(tmp_path, "shop.example")) == [256, 257]
    assert all(k.algorithm == 15 for k in load_keys(tmp_path, "shop.example"))


def test_keygen_csk_with_ksk_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(
        ["keygen", "shop.example", "--csk", "--ksk", "--dir", str(tmp_path)], capsys
    )
    assert status == 2 and "--csk" in err


def test_sign_writes_zonefile_signed_and_says_what_it_did(
    signed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert validate_all(signed.read_text()) == 32
    assert stat.S_IMODE(signed.stat().st_mode) == 0o644


def test_sign_to_stdout_with_options(
    tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sign", str(SHOP), "--keys", str(keys), "-o", "-", "--nsec3", "--validity", "20d"]
    status, out, err = run([*argv, "--refresh", "36h", "--verify", "full"], capsys)
    assert status == 0
    assert "\tNSEC3PARAM\t1 0 0 -\n" in out
    assert "signed shop.example. (NSEC3" in err and "39 checked with dnspython" in err
    validate_all(out)


def test_sign_broken_zone_is_a_located_error_without_traceback(
    tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zone = tmp_path / "broken.zone"
    zone.write_text(SHOP.read_text().replace("192.0.2.53", "192.0.2.999"))
    status, _, err = run(["sign", str(zone), "--keys", str(keys)], capsys)
    assert status == 2
    assert f"mailward: {zone}:14: " in err and "Traceback" not in err
    assert not (tmp_path / "broken.zone.signed").exists()


def test_sign_without_keys_says_how_to_make_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    status, _, err = run(["sign", str(SHOP), "--keys", str(tmp_path / "empty")], capsys)
    assert status == 2 and "mailward dnssec keygen shop.example." in err


def test_sign_rejects_a_bad_duration(keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["dnssec", "sign", str(SHOP), "--keys", str(keys), "--validity", "2 weeks"])
    assert "is not a duration" in capsys.readouterr().err


@pytest.mark.parametrize("source", ["name", "keyfile", "signed zone"])
def test_ds_for_the_registrar(
    source: str, keys: Path, signed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [key] = load_keys(keys, "shop.example")
    argument = {
        "name": ["shop.example", "--keys", str(keys)],
        "keyfile": [str(keys / f"{key.basename}.key")],
        "signed zone": [str(signed)],
    }[source]
    status, out, _ = run(["ds", *argument], capsys)
    ds = ds_from_dnskey("shop.example.", key.dnskey, 2)
    assert status == 0
    assert f"shop.example. IN DS {ds.to_text()}\n" in out
    assert f"shop.example. IN CDS {ds.to_text()}\n" in out
    assert f"shop.example. IN CDNSKEY {key.dnskey.to_text()}\n" in out
    assert f"Key tag:      {key.tag}\n" in out and "Algorithm:    13 (ECDSAP256SHA256)" in out
    assert "Digest type:  2 (SHA-256)" in out and f"Digest:       {ds.digest}" in out


def test_status_ok_warning_expired_and_unsigned(
    signed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(["status", str(signed)], capsys)
    assert status == 0 and out.endswith("OK\n") and "32 signatures" in out
    assert re.search(r"next re-sign due: \S+ \S+ UTC \(in (8d 23h|9d 0h); --refresh 5d\)", out)
    status, out, _ = run(["status", str(signed), "--warn", "15d"], capsys)
    assert status == 1 and "WARNING: signatures expire within 15d" in out
    later = str(int(time.time()) + 15 * DAY)
    status, out, _ = run(["status", str(signed), "--now", later], capsys)
    assert status == 1 and "EXPIRED: 32 signatures have expired" in out
    status, out, _ = run(["status", str(SHOP)], capsys)
    assert status == 1 and "NOT SIGNED" in out
