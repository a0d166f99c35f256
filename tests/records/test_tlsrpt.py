"""records/tlsrpt.py: the _smtp._tls TXT record."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailward.records.tlsrpt import TlsRptRecord, parse

GOOD = "v=TLSRPTv1; rua=mailto:tls@example.com"


def slugs(record: TlsRptRecord) -> list[str]:
    return [d.slug for d in record.diagnostics]


def test_record() -> None:
    record = parse("v=TLSRPTv1;rua=mailto:tls@example.com, https://reports.example.net/tls;")
    assert record == TlsRptRecord(("mailto:tls@example.com", "https://reports.example.net/tls"))
    assert record.diagnostics == ()
    assert record.to_text() == (
        "v=TLSRPTv1; rua=mailto:tls@example.com,https://reports.example.net/tls"
    )


# (bad, near miss, the whole corrected record or None)
CASES = [
    ("v=TLSRPTv2; rua=mailto:tls@example.com", GOOD, None),
    ("v=tlsrptv1; rua=mailto:tls@example.com", GOOD, GOOD),
    ("rua=mailto:tls@example.com", GOOD, GOOD),
    ("rua=mailto:tls@example.com; v=TLSRPTv1", GOOD, GOOD),
    ("v=TLSRPTv1", GOOD, None),
    ("v=TLSRPTv1; ruf=mailto:tls@example.com", GOOD, None),
    ("v=TLSRPTv1; rua=tls@example.com", GOOD, GOOD),
    (
        "v=TLSRPTv1; rua=http://r.example.net/x",
        "v=TLSRPTv1; rua=https://r.example.net/x",
        "v=TLSRPTv1; rua=https://r.example.net/x",
    ),
    ("v=TLSRPTv1; rua=ftp://r.example.net/x", "v=TLSRPTv1; rua=https://r.example.net/x", None),
    ("v=TLSRPTv1; rua=mailto:tls@example.com,", GOOD, GOOD),
    ("v=TLSRPTv1; rua=mailto:tls", GOOD, None),
    (
        "v=TLSRPTv1; rua=mailto:tls@example.com; mailto:b@example.com",
        "v=TLSRPTv1; rua=mailto:tls@example.com,mailto:b@example.com",
        None,
    ),
    ("v=TLSRPTv1; rua=", GOOD, None),
]


@pytest.mark.parametrize(("bad", "good", "fix"), CASES)
def test_syntax(bad: str, good: str, fix: str | None) -> None:
    problems = parse(bad).diagnostics
    assert [d.slug for d in problems][:1] == ["tlsrpt.syntax"]
    assert problems[0].fix == fix
    assert slugs(parse(good)) == []


def test_missing_rua_names_the_typo() -> None:
    [problem] = parse("v=TLSRPTv1; ruf=mailto:tls@example.com").diagnostics
    assert "ruf=" in problem.message and problem.tag == "rua"


def test_extensions_are_kept() -> None:
    record = parse(GOOD + "; future=1")
    assert record.extensions == (("future", "1"),) and record.diagnostics == ()


uris = st.one_of(
    st.from_regex(r"mailto:[a-z0-9.+]{1,10}@[a-z0-9]{1,10}\.[a-z]{2,5}", fullmatch=True),
    st.from_regex(r"https://[a-z0-9]{1,10}\.[a-z]{2,5}(/[a-z0-9/]{0,10})?", fullmatch=True),
)
records = st.builds(
    TlsRptRecord,
    rua=st.lists(uris, min_size=1, max_size=3).map(tuple),
    extensions=st.lists(
        st.tuples(
            st.from_regex(r"x[a-z0-9_]{0,5}", fullmatch=True),
            st.from_regex(r"[!-:<-~]{0,10}", fullmatch=True),
        ),
        unique_by=lambda pair: pair[0],
        max_size=2,
    ).map(tuple),
)


@given(records)
def test_round_trip(record: TlsRptRecord) -> None:
    parsed = parse(record.to_text())
    assert parsed == record and parsed.diagnostics == ()


@given(st.text())
def test_parse_never_raises(text: str) -> None:
    parse(text).to_text()
