"""records/bimi.py: BIMI assertion records."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailward.codes import Severity
from mailward.records.bimi import BimiRecord, parse

GOOD = "v=BIMI1; l=https://example.com/logo.svg; a=https://example.com/vmc.pem"


def slugs(record: BimiRecord) -> list[str]:
    return [d.slug for d in record.diagnostics]


def test_record() -> None:
    record = parse(GOOD + ";")
    assert record == BimiRecord("https://example.com/logo.svg", "https://example.com/vmc.pem")
    assert record.diagnostics == () and record.to_text() == GOOD and not record.declined


def test_declination() -> None:
    record = parse("v=BIMI1; l=; a=;")
    assert record.declined and record.diagnostics == ()
    assert parse("v=BIMI1; l=").declined
    assert not parse("v=BIMI1; l=; a=https://example.com/vmc.pem").declined


# (bad, near miss, the whole corrected record or None)
CASES = [
    ("v=BIMI2; l=https://example.com/logo.svg", "v=BIMI1; l=https://example.com/logo.svg", None),
    (
        "v=bimi1; l=https://example.com/logo.svg",
        "v=BIMI1; l=https://example.com/logo.svg",
        "v=BIMI1; l=https://example.com/logo.svg",
    ),
    (
        "l=https://example.com/logo.svg",
        "v=BIMI1; l=https://example.com/logo.svg",
        "v=BIMI1; l=https://example.com/logo.svg",
    ),
    (
        "l=https://example.com/logo.svg; v=BIMI1",
        "v=BIMI1; l=https://example.com/logo.svg",
        "v=BIMI1; l=https://example.com/logo.svg",
    ),
    ("v=BIMI1; a=https://example.com/vmc.pem", "v=BIMI1; l=; a=https://example.com/vmc.pem", None),
    (
        "v=BIMI1; l=http://example.com/logo.svg",
        "v=BIMI1; l=https://example.com/logo.svg",
        "v=BIMI1; l=https://example.com/logo.svg",
    ),
    ("v=BIMI1; l=https://example.com/logo.png", "v=BIMI1; l=https://example.com/logo.svgz", None),
    ("v=BIMI1; l=https://example.com/", "v=BIMI1; l=https://example.com/a/logo.SVG?v=2", None),
    (
        "v=BIMI1; l=https://a.example/x.svg,https://b.example/y.svg",
        "v=BIMI1; l=https://a.example/x.svg",
        None,
    ),
    ("v=BIMI1; l=ftp://example.com/logo.svg", "v=BIMI1; l=https://example.com/logo.svg", None),
    ("v=BIMI1; l=https://localhost/logo.svg", "v=BIMI1; l=https://example.com/logo.svg", None),
    ("v=BIMI1; l=https://[::1/logo.svg", "v=BIMI1; l=https://example.com/logo.svg", None),
    (
        "v=BIMI1; l=; a=http://example.com/vmc.pem",
        "v=BIMI1; l=; a=https://example.com/vmc.pem",
        "v=BIMI1; l=; a=https://example.com/vmc.pem",
    ),
    ("v=BIMI1; l=; lps=yes", "v=BIMI1; l=; lps=true", None),
    ("v=BIMI1; logo=https://example.com/logo.svg", "v=BIMI1; l=https://example.com/logo.svg", None),
]


@pytest.mark.parametrize(("bad", "good", "fix"), CASES)
def test_syntax(bad: str, good: str, fix: str | None) -> None:
    problems = parse(bad).diagnostics
    assert problems and problems[0].slug == "bimi.syntax", problems
    assert problems[0].fix == fix
    assert slugs(parse(good)) == []


def test_avatar_preference() -> None:
    [problem] = parse("v=BIMI1; l=; avp=logo").diagnostics
    assert problem.severity == Severity.WARNING and problem.tag == "avp"
    assert slugs(parse("v=BIMI1; l=; avp=personal")) == []


def test_unknown_tags_are_kept() -> None:
    record = parse(GOOD + "; zz=1")
    assert record.extensions == (("zz", "1"),) and record.diagnostics == ()


urls = st.from_regex(r"https://[a-z0-9]{1,10}\.[a-z]{2,5}/[a-z0-9/]{0,10}", fullmatch=True)
records = st.builds(
    BimiRecord,
    location=st.one_of(st.just(""), urls.map(lambda u: u.rstrip("/") + "/logo.svg")),
    authority=st.one_of(st.none(), st.just(""), urls.map(lambda u: u + "vmc.pem")),
    local_part_selectors=st.sampled_from([None, "true", "false"]),
    avatar_preference=st.sampled_from([None, "brand", "personal"]),
    extensions=st.lists(
        st.tuples(
            st.from_regex(r"ext[0-9]{2,4}", fullmatch=True),  # no "did you mean" near it
            st.from_regex(r"[!-:<-~]{0,10}", fullmatch=True),
        ),
        unique_by=lambda pair: pair[0],
        max_size=2,
    ).map(tuple),
)


@given(records)
def test_round_trip(record: BimiRecord) -> None:
    parsed = parse(record.to_text())
    assert parsed == record and parsed.diagnostics == ()


@given(st.text())
def test_parse_never_raises(text: str) -> None:
    parse(text).to_text()
