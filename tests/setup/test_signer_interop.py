"""Signed zones pass ldns-verify-zone and BIND's dnssec-verify; keys work in both directions.

Needs ldnsutils and bind9-utils (server fixtures: skipped locally without them, failures under
CI=true).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import dns.zone
import pytest
from signing_helpers import SHOP, run_tool, validate_all

from mailward.setup.dnssec_keys import generate_key, load_keys, write_key
from mailward.setup.signer import SignOptions, sign_zone

DAY = 86400
ORIGIN = "shop.example."


def _keys(folder: Path, algorithm: str, split: bool) -> Path:
    roles = [True, False] if split else [True]
    for ksk in roles:
        write_key(generate_key(ORIGIN, algorithm, ksk=ksk, now=int(time.time()) - DAY), folder)
    return folder


def _verify(zone: Path, csk: bool, ldns: str, bind: dict[str, str]) -> None:
    assert "Zone is verified and complete" in run_tool([ldns, str(zone)])
    argv = [bind["dnssec-verify"], "-o", ORIGIN]
    run_tool([*argv, *(["-z"] if csk else []), str(zone)])


@pytest.mark.parametrize("nsec3", [False, True], ids=["nsec", "nsec3"])
@pytest.mark.parametrize("split", [False, True], ids=["csk", "ksk+zsk"])
@pytest.mark.parametrize("algorithm", ["ecdsap256sha256", "ed25519", "rsasha256"])
def test_signed_zone_passes_both_verifiers(
    tmp_path: Path,
    ldns_verify_zone: str,
    bind_dnssec: dict[str, str],
    algorithm: str,
    split: bool,
    nsec3: bool,
) -> None:
    keys = load_keys(_keys(tmp_path / "keys", algorithm, split), ORIGIN)
    signed = sign_zone(SHOP.read_text(), keys, options=SignOptions(nsec3=nsec3))
    zone = tmp_path / "shop.signed"
    zone.write_text(signed.text)
    _verify(zone, not split, ldns_verify_zone, bind_dnssec)


@pytest.mark.parametrize("nsec3", [False, True], ids=["nsec", "nsec3"])
def test_incrementally_re_signed_zone_passes_both_verifiers(
    tmp_path: Path, ldns_verify_zone: str, bind_dnssec: dict[str, str], nsec3: bool
) -> None:
    keys = load_keys(_keys(tmp_path / "keys", "ecdsap256sha256", True), ORIGIN)
    options = SignOptions(nsec3=nsec3, now=int(time.time()) - 3600)
    first = sign_zone(SHOP.read_text(), keys, options=options).text
    edited = first.replace("192.0.2.53", "192.0.2.54") + "added.shop.example. 60 IN A 192.0.2.1\n"
    again = sign_zone(edited, keys, options=SignOptions(nsec3=nsec3))
    assert again.report.kept > 20
    zone = tmp_path / "shop.signed"
    zone.write_text(again.text)
    _verify(zone, False, ldns_verify_zone, bind_dnssec)


def test_bind_keys_sign_in_mailward(
    tmp_path: Path, ldns_verify_zone: str, bind_dnssec: dict[str, str]
) -> None:
    keygen = bind_dnssec["dnssec-keygen"]
    for extra in (["-f", "KSK"], []):
        subprocess.run(
            [keygen, "-K", str(tmp_path), "-a", "ECDSAP256SHA256", *extra, ORIGIN],
            check=True,
            capture_output=True,
        )
    keys = load_keys(tmp_path, ORIGIN)
    assert sorted(k.flags for k in keys) == [256, 257]
    zone = tmp_path / "shop.signed"
    zone.write_text(sign_zone(SHOP.read_text(), keys, options=SignOptions(nsec3=True)).text)
    _verify(zone, False, ldns_verify_zone, bind_dnssec)


def test_mailward_keys_sign_in_bind(tmp_path: Path, bind_dnssec: dict[str, str]) -> None:
    folder = _keys(tmp_path / "keys", "ecdsap256sha256", True)
    zone = tmp_path / "shop.zone"
    zone.write_text(SHOP.read_text())
    signed = tmp_path / "shop.bind.signed"
    run_tool(
        [
            bind_dnssec["dnssec-signzone"],
            "-K",
            str(folder),
            "-S",  # smart signing: BIND picks the keys by their timing metadata
            "-d",  # its dsset- file goes here, not into the working directory
            str(tmp_path),
            "-o",
            ORIGIN,
            "-f",
            str(signed),
            str(zone),
        ]
    )
    text = signed.read_text()
    tags = {str(key.tag) for key in load_keys(folder, ORIGIN)}
    parsed = dns.zone.from_text(text, ORIGIN, relativize=False)
    used = {str(rd.key_tag) for _, _, rd in parsed.iterate_rdatas() if rd.rdtype == 46}
    assert tags == used  # both of mailward's keys signed something
    run_tool([bind_dnssec["dnssec-verify"], "-o", ORIGIN, str(signed)])
    assert validate_all(text, origin=ORIGIN) > 0
    # and mailward re-signs BIND's output, keeping BIND's signatures where they are good
    again = sign_zone(text, load_keys(folder, ORIGIN))
    assert again.report.kept > 20
    resigned = tmp_path / "shop.resigned"
    resigned.write_text(again.text)
    run_tool([bind_dnssec["dnssec-verify"], "-o", ORIGIN, str(resigned)])
