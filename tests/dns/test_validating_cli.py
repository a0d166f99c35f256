"""``--trust-anchor FILE``: the commands that ask DNS validate from the anchors in FILE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dnssec_hierarchy import SignedHierarchy
from mailward.cli import main


def common(signed: SignedHierarchy) -> list[str]:
    assert signed.hierarchy.anchor_file is not None
    return ["--nameserver", signed.nameserver, "--trust-anchor", str(signed.hierarchy.anchor_file)]


def test_query_answers_a_secure_name(
    dnssec_knot: SignedHierarchy, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", "good.example", "MX", *common(dnssec_knot)]) == 0
    out = capsys.readouterr().out
    assert "good.example. 3600 IN MX 10 mail.good.example." in out
    assert "; DNSSEC: secure" in out


def test_query_of_a_bogus_name_could_not_get_an_answer(
    dnssec_knot: SignedHierarchy, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", "badsig.example", "MX", *common(dnssec_knot)]) == 2
    err = capsys.readouterr().err
    assert "could not get an answer" in err and "RRSIG over MX at badsig.example" in err


def test_check_with_a_trust_anchor_reports_the_dnssec_fault(
    dnssec_knot: SignedHierarchy, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["check", "expired.example", "--format", "json", *common(dnssec_knot)])
    document = json.loads(capsys.readouterr().out)
    found = {f["code"] for f in document["findings"]}
    assert "dnssec.rrsig-expired" in found
    assert "mx.missing" not in found  # the bogus MX is a failed query, not a missing record
    assert status == 1


def test_dnssec_warn_days_widens_the_expiry_window(
    dnssec_knot: SignedHierarchy, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["check", "good.example", "--format", "json", *common(dnssec_knot)]
    main(argv)
    default = {f["code"] for f in json.loads(capsys.readouterr().out)["findings"]}
    main([*argv, "--dnssec-warn-days", "3650"])
    wide = {f["code"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "dnssec.rrsig-expiring" not in default
    assert "dnssec.rrsig-expiring" in wide


def test_unreadable_trust_anchor_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "anchor"
    bad.write_text("example. IN A 192.0.2.1\n", encoding="utf-8")
    assert main(["query", "example.com", "--trust-anchor", str(bad)]) == 2
    assert "a trust anchor is a DS or a zone DNSKEY" in capsys.readouterr().err
