"""audit/lint.py: what records mean alone and together, with one fix per line."""

from __future__ import annotations

import pytest

from mailward.audit.lint import guess_kind, lint_record, lint_zone
from mailward.findings import Finding


def slugs(findings: list[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


def one(findings: list[Finding], code: str) -> Finding:
    found = [f for f in findings if f.code == code]
    assert len(found) == 1, slugs(findings)
    return found[0]


# -- the machine-translated how-to lines, one by one ------------------------------------------
def test_ds_line_reports_debris_and_the_digest_length() -> None:
    findings = lint_record(
        "example.com. DS 12345 で 86400 8 2 0234567890ABCDEF1234567890ABCDEF1234567890"
    )
    assert slugs(findings) == ["ds.digest-length", "zone.stray-text"]
    digest = one(findings, "ds.digest-length")
    assert "type 2 (SHA-256) needs 64" in digest.detail
    assert digest.location is not None and digest.location.line == 1


def test_dmarc_line_with_spaces_and_export_gets_one_complete_fix() -> None:
    findings = lint_record(
        '_dmarc . example .com . 86400 IN TXT "v=DMARC1; p=reject; '
        'export=mailto:reports@example.com"'
    )
    assert slugs(findings) == ["dmarc.unknown-tag", "zone.name-with-spaces"]
    fixed = '_dmarc.example.com. 86400 IN TXT "v=DMARC1; p=reject; rua=mailto:reports@example.com"'
    assert {f.fix for f in findings} == {fixed}
    assert "rua" in one(findings, "dmarc.unknown-tag").detail


def test_dkim_placeholder_is_named() -> None:
    findings = lint_record(
        'selector._domainkey.example.com. 86400 IN TXT "v=DKIM1; k=rsa; p=PUBLIC_KEY_HERE"'
    )
    assert slugs(findings) == ["dkim.key-invalid"]
    assert "placeholder" in findings[0].detail
    assert findings[0].location is not None and findings[0].location.column == 64


def test_the_spf_line_is_clean() -> None:
    line = 'example.com. 86400 IN TXT "v=spf1 mx a:mail.example.com ip4:192.0.2.1 -all"'
    assert lint_record(line) == []
    assert lint_record("v=spf1 mx a:mail.example.com ip4:192.0.2.1 -all") == []


@pytest.mark.parametrize(
    ("line", "expected", "fix"),
    [
        (
            "example.com. 192.0.2.1 で 86400",
            ["zone.missing-type", "zone.stray-text"],
            "example.com. 86400 IN A 192.0.2.1",
        ),
        (
            "example.com. 86400 IN ああああ 2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            ["zone.unknown-type"],
            "example.com. 86400 IN AAAA 2001:db8:85a3::8a2e:370:7334",
        ),
        (
            "www.example.com. CNAME example.com で 86400。",
            ["zone.fullwidth-character", "zone.relative-name", "zone.stray-text"],
            "www.example.com. 86400 IN CNAME example.com.",
        ),
        (
            "1.2.0.192.in-addr.arpa。 86400 IN PTR example.com.",
            ["zone.fullwidth-character"],
            "1.2.0.192.in-addr.arpa. 86400 IN PTR example.com.",
        ),
    ],
)
def test_translated_lines_get_the_corrected_record(
    line: str, expected: list[str], fix: str
) -> None:
    findings = lint_record(line)
    assert slugs(findings) == expected
    assert {f.fix for f in findings} == {fix}


def test_soa_placeholders() -> None:
    findings = lint_record(
        "example.com. 86400 IN SOA ns1.example.com. hostmaster.example.com. "
        "(serial, refresh, retry, expire, minimum)"
    )
    assert slugs(findings) == ["zone.syntax"]
    assert findings[0].fix is not None and findings[0].fix.endswith("7200 3600 1209600 3600")


# -- bare values and type guessing ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("v=spf1 -all", "spf"),
        ('"v=spf1 " "-all"', "spf"),
        ("v=DMARC1; p=none", "dmarc"),
        ("v=DKIM1; p=", "dkim"),
        ("k=rsa; p=MIIB", "dkim"),
        ("v=STSv1; id=1", "mta-sts"),
        ("version: STSv1\nmode: enforce", "mta-sts-policy"),
        ("v=TLSRPTv1; rua=mailto:t@example.com", "tlsrpt"),
        ("v=BIMI1; l=https://example.com/logo.svg", "bimi"),
        ("example.com. IN A 192.0.2.1", "zone"),
        ("v=spf10 -all", "spf"),  # an SPF record written wrong: its parser says how
    ],
)
def test_guess_kind(text: str, kind: str) -> None:
    assert guess_kind(text) == kind


def test_a_value_pasted_with_its_quotes_is_unquoted() -> None:
    assert lint_record('"v=spf1 mx " "-all"') == []


def test_explicit_type_wins() -> None:
    assert slugs(lint_record("12345 8 2 ABCD", "ds")) == ["ds.digest-length"]


# -- zone-wide checks: each with a near miss --------------------------------------------------
HEAD = (
    "$ORIGIN example.com.\n$TTL 3600\n"
    "@ IN SOA ns1 hostmaster 2026112801 7200 3600 1209600 3600\n@ IN NS ns1\n"
    "ns1 IN A 192.0.2.53\n"
)


def zone_codes(body: str) -> list[str]:
    return slugs(lint_zone(HEAD + body, file="t.zone"))


def test_clean_zone() -> None:
    assert zone_codes("@ IN MX 10 mail\nmail IN A 192.0.2.25\nwww IN CNAME mail\n") == []


def test_cname_at_apex() -> None:
    findings = lint_zone(
        "$TTL 60\nexample.com. IN SOA a. b. 1 7200 3600 1209600 3600\n"
        "example.com. IN CNAME other.example.net.\n"
    )
    assert "zone.cname-at-apex" in slugs(findings)


def test_cname_and_other_data_and_its_near_miss() -> None:
    assert zone_codes('www IN CNAME mail\nwww IN TXT "x"\n') == ["zone.cname-and-other-data"]
    assert zone_codes('www IN CNAME mail\nwww2 IN TXT "x"\n') == []


def test_mx_at_an_alias_and_its_near_miss() -> None:
    assert zone_codes("@ IN MX 10 mx\nmx IN CNAME mail\nmail IN A 192.0.2.1\n") == [
        "zone.target-is-cname"
    ]
    assert zone_codes("@ IN MX 10 mail\nmx IN CNAME mail\nmail IN A 192.0.2.1\n") == []


def test_mx_or_ns_at_an_address() -> None:
    assert zone_codes("@ IN MX 10 192.0.2.25.\n") == ["zone.target-is-ip"]
    assert zone_codes("@ IN NS 192.0.2.53.\n") == ["zone.target-is-ip"]


def test_soa_timers() -> None:
    findings = lint_zone(
        "$TTL 60\nexample.com. IN SOA ns1.example.com. h.example.com. 1 60 120 3600 604800\n"
    )
    soa = one(findings, "zone.soa-values")
    assert "refresh 60" in soa.detail and "retry 120 is not below refresh" in soa.detail
    assert soa.fix == (
        "example.com. 60 IN SOA ns1.example.com. h.example.com. 1 7200 3600 1209600 3600"
    )
    assert zone_codes("") == []  # HEAD's SOA uses the recommended values


def test_out_of_zone_record() -> None:
    assert zone_codes("mail.example.org. IN A 192.0.2.1\n") == ["zone.out-of-zone"]


def test_two_spf_records_and_the_near_miss_of_spf_plus_other_txt() -> None:
    assert zone_codes('@ IN TXT "v=spf1 mx -all"\n@ IN TXT "v=spf1 a -all"\n') == [
        "spf.multiple-records"
    ]
    assert zone_codes('@ IN TXT "v=spf1 mx -all"\n@ IN TXT "google-site-verification=x"\n') == []


def test_two_dmarc_records() -> None:
    body = '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n'
    assert zone_codes(body * 1) == []
    second = '_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n'
    assert zone_codes(body + second) == ["dmarc.multiple-records"]


def test_dmarc_at_the_wrong_name() -> None:
    findings = lint_zone(HEAD + '@ IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    wrong = one(findings, "dmarc.wrong-location")
    assert wrong.fix is not None and wrong.fix.startswith("_dmarc.example.com. ")


def test_dkim_key_at_the_wrong_name() -> None:
    key = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="
    assert zone_codes(f'@ IN TXT "v=DKIM1; k=ed25519; p={key}"\n') == [
        "dkim.key-invalid",  # RFC 8463: an ed25519 p= is the bare 32-byte key, not SPKI
        "dkim.wrong-location",
    ]


def test_spf_in_the_old_spf_type() -> None:
    findings = lint_zone(HEAD + '@ IN SPF "v=spf1 mx -all"\n')
    assert one(findings, "spf.rrtype99").fix == 'example.com. 3600 IN TXT "v=spf1 mx -all"'


def test_record_column_points_inside_the_txt_value() -> None:
    findings = lint_zone(HEAD + '_dmarc IN TXT "v=DMARC1; p=rejected"\n', file="t.zone")
    syntax = one(findings, "dmarc.syntax")
    assert syntax.location is not None
    assert (syntax.location.file, syntax.location.line) == ("t.zone", 6)
    line = '_dmarc IN TXT "v=DMARC1; p=rejected"'
    assert line[syntax.location.column - 1 :].startswith("p=rejected")
