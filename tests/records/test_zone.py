"""records/zone.py: the master-file parser, its repairs and its round trip."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailward.records import zone


def codes(parsed: zone.Zone) -> list[str]:
    return [d.code.slug for d in parsed.diagnostics]


def only(parsed: zone.Zone, slug: str) -> zone.Diagnostic:
    found = [d for d in parsed.diagnostics if d.code.slug == slug]
    assert len(found) == 1, codes(parsed)
    return found[0]


ZONE = """\
$ORIGIN example.com.
$TTL 1h
@   IN SOA ns1 hostmaster (
        2026112801 ; serial
        7200 3600 1209600 3600 )
    IN NS ns1
    IN MX 10 mail
ns1 IN A 192.0.2.53
mail 300 IN A 192.0.2.25
     IN AAAA 2001:DB8::25
_dmarc IN TXT "v=DMARC1; p=none; " "rua=mailto:d@example.com"
_sip._tcp IN SRV 10 5 5060 sip.example.net.
@ IN CAA 0 issue "letsencrypt.org"
"""


def test_a_clean_zone_parses_with_origin_ttl_parentheses_and_inherited_owners() -> None:
    parsed = zone.parse(ZONE)
    assert parsed.diagnostics == ()
    assert parsed.origin == "example.com."
    assert parsed.default_ttl == 3600
    texts = [r.to_text() for r in parsed.records]
    assert texts[0] == (
        "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. "
        "2026112801 7200 3600 1209600 3600"
    )
    assert "example.com. 3600 IN MX 10 mail.example.com." in texts
    # RFC 2308 §4: a record without a TTL takes $TTL, not the TTL of the record before
    assert "mail.example.com. 3600 IN AAAA 2001:db8::25" in texts
    dmarc = next(r for r in parsed.records if r.owner == "_dmarc.example.com.")
    assert dmarc.txt_value() == "v=DMARC1; p=none; rua=mailto:d@example.com"
    assert [r.line for r in parsed.records][:3] == [3, 6, 7]


def test_the_soa_names_a_zone_without_origin() -> None:
    parsed = zone.parse(
        "example.org. 3600 IN SOA ns1.example.org. h.example.org. 1 7200 3600 1209600 3600\n"
        "www 3600 IN A 192.0.2.80\n"
    )
    assert parsed.records[1].owner == "www.example.org."


# The lines of a machine-translated how-to that small-business owners really follow.
def test_ds_with_debris_and_ttl_inside_the_data() -> None:
    parsed = zone.parse(
        "example.com. DS 12345 で 86400 8 2 0234567890ABCDEF1234567890ABCDEF1234567890"
    )
    stray = only(parsed, "zone.stray-text")
    assert (stray.line, stray.column) == (1, 23)
    assert "translation debris" in stray.message
    # the DS digest itself is judged by records.dnssec through the linter: kept as written
    (record,) = parsed.records
    assert record.to_text() == (
        "example.com. 86400 IN DS 12345 8 2 0234567890ABCDEF1234567890ABCDEF1234567890"
    )


def test_owner_broken_by_spaces_is_joined() -> None:
    parsed = zone.parse(
        '_dmarc . example .com . 86400 IN TXT "v=DMARC1; p=reject; '
        'export=mailto:reports@example.com"'
    )
    broken = only(parsed, "zone.name-with-spaces")
    assert "'_dmarc.example.com.'" in broken.message
    assert broken.fix is not None
    assert broken.fix.startswith('_dmarc.example.com. 86400 IN TXT "v=DMARC1;')


def test_a_record_without_type_is_guessed_from_its_data() -> None:
    parsed = zone.parse("example.com. 192.0.2.1 で 86400")
    missing = only(parsed, "zone.missing-type")
    assert "looks like A" in missing.message
    assert missing.fix == "example.com. 86400 IN A 192.0.2.1"
    assert "zone.stray-text" in codes(parsed)
    assert parsed.records == ()


def test_unknown_type_is_guessed_from_ipv6_data() -> None:
    parsed = zone.parse("example.com. 86400 IN ああああ 2001:0db8:85a3:0000:0000:8a2e:0370:7334")
    unknown = only(parsed, "zone.unknown-type")
    assert unknown.column == 23
    assert unknown.fix == "example.com. 86400 IN AAAA 2001:db8:85a3::8a2e:370:7334"


def test_misspelt_type_gets_did_you_mean() -> None:
    parsed = zone.parse("example.com. 3600 IN AAA 2001:db8::1")
    assert only(parsed, "zone.unknown-type").fix == "example.com. 3600 IN AAAA 2001:db8::1"


def test_cname_with_debris_fullwidth_stop_and_ttl_after_the_data() -> None:
    parsed = zone.parse("www.example.com. CNAME example.com で 86400。")
    assert sorted(codes(parsed)) == [
        "zone.fullwidth-character",
        "zone.relative-name",
        "zone.stray-text",
    ]
    fixed = "www.example.com. 86400 IN CNAME example.com."
    assert {d.fix for d in parsed.diagnostics} == {fixed}


def test_fullwidth_stop_in_an_owner() -> None:
    parsed = zone.parse("1.2.0.192.in-addr.arpa。 86400 IN PTR example.com.")
    full = only(parsed, "zone.fullwidth-character")
    assert full.column == 23
    assert full.fix == "1.2.0.192.in-addr.arpa. 86400 IN PTR example.com."


def test_soa_placeholders_get_numbers() -> None:
    parsed = zone.parse(
        "example.com. 86400 IN SOA ns1.example.com. hostmaster.example.com. "
        "(serial, refresh, retry, expire, minimum)"
    )
    placeholder = only(parsed, "zone.syntax")
    assert "placeholders" in placeholder.message
    assert placeholder.fix is not None
    fields = placeholder.fix.split()
    assert fields[:6] == [
        "example.com.",
        "86400",
        "IN",
        "SOA",
        "ns1.example.com.",
        "hostmaster.example.com.",
    ]
    assert fields[6].isdigit() and len(fields[6]) == 10
    assert fields[7:] == ["7200", "3600", "1209600", "3600"]


def test_a_clean_spf_line_is_clean() -> None:
    parsed = zone.parse(
        'example.com. 86400 IN TXT "v=spf1 mx a:mail.example.com ip4:192.0.2.1 -all"'
    )
    assert parsed.diagnostics == ()


def test_relative_name_that_repeats_the_origin_is_flagged() -> None:
    parsed = zone.parse("$ORIGIN example.com.\n@ 3600 IN MX 10 mail.example.com\n")
    relative = only(parsed, "zone.relative-name")
    assert "mail.example.com.example.com." in relative.message
    assert (relative.line, relative.column) == (2, 17)
    assert parsed.records[0].rdata == "10 mail.example.com.example.com."


def test_short_relative_names_inside_the_zone_are_fine() -> None:
    assert zone.parse("$ORIGIN example.com.\n@ 3600 IN MX 10 mail\n").diagnostics == ()


def test_txt_string_over_255_bytes_gets_a_split_fix() -> None:
    key = "A" * 300
    parsed = zone.parse(f'sel._domainkey.example.com. 3600 IN TXT "v=DKIM1; k=rsa; p={key}"')
    long = only(parsed, "zone.txt-string-too-long")
    assert long.fix is not None and long.fix.count('"') == 4
    assert parsed.records[0].txt_value() == f"v=DKIM1; k=rsa; p={key}"


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ('example.com. 3600 IN TXT "unterminated', "zone.syntax"),
        ("example.com. 3600 IN MX mail.example.com.", "zone.syntax"),
        ("example.com. 3600 IN A 192.0.2.300", "zone.syntax"),
        ("example.com. 3600 IN A", "zone.syntax"),
        ("example.com. 3600 CH A 192.0.2.1", "zone.syntax"),
        ("example.com. 3600 IN SOA a. b. ( 1 2 3 4 5", "zone.syntax"),
        ("$INCLUDE other.zone", "zone.directive"),
        ("$BOGUS x", "zone.syntax"),
        ("   3600 IN A 192.0.2.1", "zone.syntax"),
        ("example.com. 99999999999 IN A 192.0.2.1", "zone.syntax"),
    ],
)
def test_broken_lines_are_located_errors(text: str, slug: str) -> None:
    parsed = zone.parse(text)
    assert slug in codes(parsed)
    assert all(d.line == 1 and d.column for d in parsed.diagnostics)


def test_missing_default_ttl_is_a_warning() -> None:
    parsed = zone.parse("$ORIGIN example.com.\nwww IN A 192.0.2.1\n")
    assert codes(parsed) == ["zone.no-ttl"]


def test_bind_ttl_units() -> None:
    assert zone.parse_ttl("1h30m") == 5400
    assert zone.parse_ttl("2w") == 1209600
    assert zone.parse_ttl("h") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_never_raises(text: str) -> None:
    parsed = zone.parse(text)
    for diagnostic in parsed.diagnostics:
        assert diagnostic.line is not None and diagnostic.message


_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_name = st.lists(_label, min_size=1, max_size=4).map(lambda ls: ".".join(ls) + ".example.")
_ipv4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
_ipv6 = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
_txt = st.lists(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300),
    min_size=1,
    max_size=3,
)


def _txt_rdata(strings: list[str]) -> str:
    from mailward.records._txt import to_zone_text

    return " ".join(to_zone_text(s) for s in strings)


_rdata = st.one_of(
    st.tuples(st.just("A"), _ipv4),
    st.tuples(st.just("AAAA"), _ipv6),
    st.tuples(st.just("CNAME"), _name),
    st.tuples(st.just("NS"), _name),
    st.tuples(st.just("MX"), st.builds(lambda p, n: f"{p} {n}", st.integers(0, 65535), _name)),
    st.tuples(st.just("TXT"), _txt.map(_txt_rdata)),
    st.tuples(
        st.just("SRV"),
        st.builds(
            lambda a, b, c, n: f"{a} {b} {c} {n}",
            st.integers(0, 65535),
            st.integers(0, 65535),
            st.integers(0, 65535),
            _name,
        ),
    ),
    st.tuples(
        st.just("CAA"),
        st.sampled_from(['0 issue "letsencrypt.org"', '128 iodef "mailto:sec@example.com"']),
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_name, st.none() | st.integers(0, 2**31 - 1), _rdata), max_size=8))
def test_round_trip(rows: list[tuple[str, int | None, tuple[str, str]]]) -> None:
    text = "\n".join(
        zone.parse(f"{owner} 1 IN {rdtype} {rdata}").records[0].to_text()
        for owner, _, (rdtype, rdata) in rows
    )
    original = zone.parse("$TTL 3600\n" + text)
    assert not [d for d in original.diagnostics if d.severity == "error"]
    assert zone.parse(original.to_text()) == original
