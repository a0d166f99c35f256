"""Authentication-Results (RFC 8601): writing, tolerant reading, forged-field removal."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailward.auth import results
from mailward.auth.dmarc import DkimOutcome, DmarcResult, DmarcVerdict, SpfOutcome, evaluate
from mailward.auth.results import (
    AuthenticationResults,
    MethodResult,
    Property,
    parse,
    printable,
    strip_forged,
)
from mailward.dns.zonefiles import ZoneResolver
from mailward.records.dmarc import Policy


def test_writes_each_method_with_its_properties() -> None:
    header = AuthenticationResults(
        "mx.example.org",
        (
            results.iprev("pass", ip="192.0.2.1", comment="mail.example.com"),
            results.spf("pass", mailfrom="bounce@example.com", helo="mail.example.com"),
            results.dkim("pass", d="example.com", s="sel1", b="abc/def+"),
            results.dmarc("pass", header_from="example.com", policy="none"),
            results.arc("pass", oldest_pass=1, remote_ip="192.0.2.1"),
        ),
    ).to_header()
    assert header == (
        "Authentication-Results: mx.example.org;\r\n"
        "\tiprev=pass (mail.example.com) policy.iprev=192.0.2.1;\r\n"
        "\tspf=pass smtp.mailfrom=bounce@example.com smtp.helo=mail.example.com;\r\n"
        '\tdkim=pass header.d=example.com header.s=sel1 header.b="abc/def+";\r\n'
        "\tdmarc=pass header.from=example.com policy.dmarc=none;\r\n"
        "\tarc=pass header.oldest-pass=1 smtp.remote-ip=192.0.2.1"
    )


def test_no_results_is_none() -> None:
    written = AuthenticationResults("mx.example.org").to_header(fold=False)
    assert written == "Authentication-Results: mx.example.org; none"
    assert parse(written.split(":", 1)[1]) == AuthenticationResults("mx.example.org")


def test_mail_supplied_text_is_masked_and_escaped() -> None:
    hostile = results.spf(
        "fail",
        mailfrom="evil\r\nX-Injected: yes@example.com",
        comment="a (nested) \\ comment\x00\u00e9",
        reason='quote " here',
    )
    text = AuthenticationResults("mx.example.org", (hostile,)).to_header()
    body = text.split(":", 1)[1]
    assert "\n\tspf" in body and "X-Injected:" in body  # still inside one field
    assert "\r\nX-Injected" not in text and "\x00" not in text and "\u00e9" not in text
    assert r"(a \(nested\) \\ comment??)" in text
    back = parse(body)
    assert not back.notes
    (spf,) = back.results
    assert spf.get("smtp.mailfrom") == "evil??X-Injected: yes@example.com"
    assert spf.reason == 'quote " here'
    assert spf.comment == "a (nested) \\ comment??"


def test_printable() -> None:
    assert printable("ok text") == "ok text"
    assert printable("tab\there\x7f\u2028") == "tab?here??"
    assert printable("x" * 600) == "x" * 512 + "..."


def test_reads_a_typical_field() -> None:
    value = (
        " mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=20230601 "
        "header.b=AbCd/123;\r\n       spf=pass (google.com: domain of a@example.com designates "
        "192.0.2.1 as permitted sender) smtp.mailfrom=a@example.com;\r\n       "
        "dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com"
    )
    field = parse(value)
    assert field.authserv_id == "mx.google.com"
    assert not field.notes
    assert [r.method for r in field.results] == ["dkim", "spf", "dmarc"]
    (spf,) = field.find("spf")
    assert spf.result == "pass" and spf.get("smtp.mailfrom") == "a@example.com"
    assert spf.comment is not None and spf.comment.startswith("google.com: domain of")
    assert field.results[0].get("header.b") == "AbCd/123"
    assert field.results[2].comment == "p=REJECT sp=REJECT dis=NONE"


def test_a_field_without_authserv_id_does_not_crash() -> None:
    # as Microsoft 365 writes them
    value = (
        "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.com; dkim=none (message "
        "not signed) header.d=none;dmarc=none action=none header.from=example.com;"
    )
    field = parse(value)
    assert field.authserv_id is None
    assert [r.method for r in field.results] == ["spf", "dkim", "dmarc"]
    assert field.results[0].get("smtp.mailfrom") == "example.com"
    assert any("no authserv-id" in note.message for note in field.notes)
    assert any("action" in note.message for note in field.notes)  # not ptype.property


@pytest.mark.parametrize(
    ("value", "authserv_id", "version", "methods"),
    [
        ('"quoted.example" 1; spf=pass', "quoted.example", "1", ["spf"]),
        (
            "mx.example.org 1 (a comment); dkim/1=pass header.d=x.org",
            "mx.example.org",
            "1",
            ["dkim"],
        ),
        ("(first) mx.example.org (second) ; none", "mx.example.org", None, []),
        (
            "mx.example.org; spf = pass ( ok ) smtp . mailfrom = a.org",
            "mx.example.org",
            None,
            ["spf"],
        ),
        ("mx.example.org;;; spf=pass;", "mx.example.org", None, ["spf"]),
        ("; spf=pass", None, None, ["spf"]),
        ("", None, None, []),
    ],
)
def test_tolerant_reading(
    value: str, authserv_id: str | None, version: str | None, methods: list[str]
) -> None:
    field = parse(value)
    assert field.authserv_id == authserv_id
    assert field.version == version
    assert [r.method for r in field.results] == methods


def test_method_version_and_spaced_property() -> None:
    field = parse("mx.example.org 1 (a comment); dkim/1=pass header.d=x.org")
    (result,) = field.results
    assert result.version == "1" and result.get("header.d") == "x.org"
    spaced = parse("mx.example.org; spf = pass ( ok ) smtp.mailfrom = a.org")
    assert spaced.results[0].get("smtp.mailfrom") == "a.org"
    assert spaced.results[0].comment == " ok "


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mx.example.org; spf=pass (open comment", "not closed"),
        ('mx.example.org; spf=pass smtp.mailfrom="open', "not closed"),
        ("mx.example.org; garbage here; dkim=pass", "method=result"),
        ("mx.example.org; =pass", "not a method name"),
        ("mx.example.org; spf=", "no result"),
        ("mx.example.org x; spf=pass", "expected ';'"),
    ],
)
def test_problems_become_notes(value: str, message: str) -> None:
    field = parse(value)
    assert any(message in note.message for note in field.notes), field.notes


def test_garbage_is_skipped_to_the_next_result() -> None:
    field = parse("mx.example.org; garbage here; dkim=pass header.d=a.org")
    assert [r.method for r in field.results] == ["dkim"]


def test_the_field_and_the_result_count_are_bounded() -> None:
    field = parse("mx.example.org" + "; spf=pass" * 500)
    assert len(field.results) == results.MAX_RESULTS
    assert any("more than" in note.message for note in field.notes)
    huge = parse("mx.example.org; spf=pass (" + "x" * (results.MAX_FIELD * 2))
    assert any("cut at" in note.message for note in huge.notes)


# -- round trip and fuzzing ----------------------------------------------------------------

_keywords = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
_domains = st.lists(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), min_size=1, max_size=4).map(
    ".".join
)
_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
_values = st.one_of(_domains, _text, _domains.map(lambda d: "user@" + d))
_properties = st.builds(
    Property, st.sampled_from(["smtp", "header", "body", "policy"]), _keywords, _values
)
_results = st.builds(
    MethodResult,
    _keywords,
    _keywords,
    version=st.none() | st.from_regex(r"[0-9]{1,2}", fullmatch=True),
    reason=st.none() | _text,
    properties=st.lists(_properties, max_size=4).map(tuple),
    comment=st.none() | _text.filter(lambda t: t.strip() == t and t != ""),
)
_fields = st.builds(
    AuthenticationResults,
    _domains,
    st.lists(_results, max_size=5).map(tuple),
    version=st.none() | st.just("1"),
)


@given(_fields, st.booleans())
def test_round_trip(field: AuthenticationResults, fold: bool) -> None:
    back = parse(field.to_value(fold=fold))
    assert back == field, back.notes
    assert not back.notes


@settings(max_examples=400, deadline=1000)
@given(st.text(max_size=2000))
def test_the_reader_never_raises(value: str) -> None:
    start = time.perf_counter()
    field = parse(value)
    assert time.perf_counter() - start < 0.5
    assert isinstance(field.results, tuple)
    assert len(field.notes) <= results.MAX_RESULTS + 1


_alphabet = st.sampled_from(list(' \t\r\n;=()"\\./@-1aA:'))


@settings(max_examples=400, deadline=1000)
@given(st.lists(st.one_of(_alphabet, st.sampled_from(["spf", "pass", "header.d", "none"]))))
def test_the_reader_never_raises_on_structured_garbage(parts: list[str]) -> None:
    field = parse("".join(parts))
    for result in field.results:
        assert result.method
        assert all(p.ptype for p in result.properties)


def test_adversarial_nesting_is_linear() -> None:
    start = time.perf_counter()
    parse("a; spf=pass " + "(" * 30000 + ")" * 30000)
    parse("a; " + "\\" * 60000)
    parse("a" + ";" * 60000)
    parse("a; x" + "=" * 60000)
    assert time.perf_counter() - start < 2.0


# -- forged fields (RFC 8601 §5) ------------------------------------------------------------


def test_strip_forged_removes_only_our_authserv_id() -> None:
    headers = [
        ("Received", "from a by b"),
        ("Authentication-Results", " MX.example.org; spf=pass smtp.mailfrom=evil.com"),
        ("authentication-results", '"mx.example.org"; dkim=pass header.d=evil.com'),
        ("Authentication-Results", "mx.google.com; spf=pass"),
        ("Authentication-Results", "spf=pass smtp.mailfrom=x.com"),  # names nobody
        ("Authentication-Results", "mx.example.org.evil; spf=pass"),
        ("Subject", "mx.example.org; spf=pass"),
    ]
    kept, removed = strip_forged(headers, "mx.example.org")
    assert [value for _, value in removed] == [headers[1][1], headers[2][1]]
    assert kept == [h for i, h in enumerate(headers) if i not in (1, 2)]


# -- from a DMARC verdict -------------------------------------------------------------------


async def test_dmarc_result_from_a_verdict() -> None:
    zone = (
        "$ORIGIN example.com.\n@ 3600 IN SOA ns hm 1 7200 3600 1209600 3600\n"
        '_dmarc IN TXT "v=DMARC1; p=reject; t=y"\n'
    )
    verdict = await evaluate(
        ["example.com"],
        SpfOutcome("fail", "example.com"),
        [DkimOutcome("pass", "esp.example.net", "s")],
        ZoneResolver.from_text(zone),
    )
    method = results.from_verdict(verdict)
    assert method.to_text() == (
        "dmarc=fail (p=reject dis=quarantine t=y) header.from=example.com policy.dmarc=quarantine"
    )
    error = results.from_verdict(
        DmarcVerdict(DmarcResult.PERMERROR, None, Policy.NONE, "x", header_from=("a.org", "b.org"))
    )
    assert error.to_text() == "dmarc=permerror header.from=a.org policy.dmarc=none"


def test_a_property_without_ptype_is_kept_whole() -> None:
    (result,) = parse("mx.example.org; spf=pass .mailfrom=a.org").results
    assert result.properties == (Property(".mailfrom", "", "a.org"),)
