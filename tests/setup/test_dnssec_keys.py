"""DNSSEC keys: generation, BIND's file format both ways, modes, timing, mismatches."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from mailward.records.dnssec import key_tag, parse_dnskey
from mailward.setup import dnssec_keys
from mailward.setup.dnssec_keys import KeyFileError, generate_key, load_keys, read_key, write_key

ALGORITHMS = ["ecdsap256sha256", "ed25519", "rsasha256", "ecdsap384sha384", "ed448", "rsasha512"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_generated_key_round_trips_through_bind_files(tmp_path: Path, algorithm: str) -> None:
    key = generate_key("Shop.Example", algorithm, ksk=True, rsa_bits=1024)
    public, private = write_key(key, tmp_path)
    number = dnssec_keys.ALGORITHM_CHOICES[algorithm]
    assert public.name == f"Kshop.example.+{number:03d}+{key.tag:05d}.key"
    assert private.name == public.name.removesuffix(".key") + ".private"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o644
    assert "Private-key-format: v1.3" in private.read_text()
    again = read_key(public)
    assert again.dnskey == key.dnskey
    assert again.tag == key_tag(parse_dnskey(key.dnskey.to_text())) == key.tag
    assert again.flags == 257 and again.is_ksk
    assert again.timing == {name: key.timing[name] for name in ("Created", "Publish", "Activate")}
    data = b"the signed data"
    signature = again.sign(data)
    assert key.verify(signature, data)  # signed with the file's key, checked with the original
    assert not key.verify(signature, data + b"!")


def test_zone_signing_key_has_flags_256(tmp_path: Path) -> None:
    key = generate_key("shop.example.", ksk=False)
    assert key.flags == 256 and not key.is_ksk


def test_private_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        _, private = write_key(generate_key("shop.example"), tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_existing_key_files_are_never_overwritten(tmp_path: Path) -> None:
    key = generate_key("shop.example")
    _, private = write_key(key, tmp_path)
    before = private.read_text()
    with pytest.raises(KeyFileError, match="exists already"):
        write_key(key, tmp_path)
    assert private.read_text() == before


def test_private_key_that_does_not_match_its_key_file_is_refused(tmp_path: Path) -> None:
    one, _ = write_key(generate_key("shop.example"), tmp_path / "a")
    _, other = write_key(generate_key("shop.example"), tmp_path / "b")
    (one.with_suffix(".private")).write_text(other.read_text())
    with pytest.raises(KeyFileError, match="does not match"):
        read_key(one)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello\n", "expected 'Field: value'"),
        ("Algorithm: 13 (ECDSAP256SHA256)\nPrivateKey: AAAA\n", "Private-key-format"),
        ("Private-key-format: v1.3\nAlgorithm: 13\nPrivateKey: !!!\n", "not base64"),
        ("Private-key-format: v1.3\nAlgorithm: 13\n", "PrivateKey field is missing"),
        ("Private-key-format: v1.3\nAlgorithm: 13\nPrivateKey: AAAA\nActivate: tomorrow\n", "YYYY"),
    ],
)
def test_bad_private_files_are_reported_with_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    public, private = write_key(generate_key("shop.example"), tmp_path)
    private.write_text(text)
    with pytest.raises(KeyFileError, match=message) as caught:
        read_key(public)
    assert str(private) in str(caught.value)


def test_timing_decides_published_and_active(tmp_path: Path) -> None:
    now = int(time.time())
    key = generate_key("shop.example", now=now)
    key.timing.update({"Publish": now - 10, "Activate": now + 3600, "Inactive": now + 7200})
    write_key(key, tmp_path)
    [loaded] = load_keys(tmp_path, "shop.example.")
    assert loaded.published(now) and not loaded.active(now)
    assert loaded.active(now + 3600) and not loaded.active(now + 7200)
    assert not loaded.published(now - 20)


def test_load_keys_takes_only_the_zones_keys(tmp_path: Path) -> None:
    write_key(generate_key("shop.example", ksk=True), tmp_path)
    write_key(generate_key("shop.example", ksk=False), tmp_path)
    write_key(generate_key("other.example"), tmp_path)
    keys = load_keys(tmp_path, "SHOP.example")
    assert [k.is_ksk for k in keys] == [True, False]
    assert {k.zone for k in keys} == {"shop.example."}


def test_unknown_algorithm_is_a_clear_error() -> None:
    with pytest.raises(KeyFileError, match="not supported; use one of ecdsap256sha256"):
        generate_key("shop.example", "rsasha1")


@pytest.mark.parametrize(
    ("algorithm", "flag", "number"),
    [("ECDSAP256SHA256", "KSK", 13), ("ED25519", None, 15), ("RSASHA256", None, 8)],
)
def test_bind_dnssec_keygen_keys_are_read(
    bind_dnssec: dict[str, str], tmp_path: Path, algorithm: str, flag: str | None, number: int
) -> None:
    argv = [bind_dnssec["dnssec-keygen"], "-K", str(tmp_path), "-a", algorithm]
    argv += ["-f", flag] if flag else ["-b", "2048"] if number == 8 else []
    basename = subprocess.run(
        [*argv, "shop.example"], capture_output=True, text=True, check=True
    ).stdout.strip()
    key = read_key(tmp_path / basename)
    assert key.basename == basename  # the key tag mailward computes is BIND's
    assert key.algorithm == number and key.is_ksk == (flag == "KSK")
    assert {"Created", "Publish", "Activate"} <= set(key.timing)
    data = b"interop"
    assert key.verify(key.sign(data), data)
