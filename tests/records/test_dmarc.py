"""records/dmarc.py: RFC 9989 policy records, every finding code with its fix, the round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailward.codes import Diagnostic, Severity
from mailward.records import dmarc
from mailward.records.dmarc import Alignment, DmarcRecord, DmarcUri, Policy, Psd, parse


def slugs(record: DmarcRecord) -> list[str]:
    return [d.slug for d in record.diagnostics]


def only(record: DmarcRecord, slug: str) -> Diagnostic:
    found = [d for d in record.diagnostics if d.slug == slug]
    assert len(found) == 1, [(d.slug, d.message) for d in record.diagnostics]
    return found[0]


def test_export_is_an_unknown_tag_meaning_rua() -> None:
    record = parse("v=DMARC1; p=reject; export=mailto:reports@example.com")
    assert slugs(record) == ["dmarc.unknown-tag"]
    found = record.diagnostics[0]
    assert found.fix == "v=DMARC1; p=reject; rua=mailto:reports@example.com"
    assert "did you mean rua=" in found.message
    assert (found.column, found.tag, found.severity) == (21, "export", Severity.WARNING)
    assert record.unknown == (("export", "mailto:reports@example.com"),)
    assert record.rua is None and record.applies  # the record is still used


CLEAN = [
    "v=DMARC1; p=reject",
    "v=DMARC1; p=reject; rua=mailto:dmarc@example.com",
    "v=DMARC1;p=quarantine;rua=mailto:dmarc@example.com;",  # no spaces, trailing ';'
    "v=DMARC1 ; p = reject ; adkim = s",  # *WSP around '=' and ';'
    "v=DMARC1; p=Reject; ADKIM=s"[: len("v=DMARC1; p=Reject")],  # values are case-insensitive
    "v=DMARC1; p=quarantine; sp=reject; np=reject; adkim=s; aspf=s; psd=n; t=n; "
    "rua=mailto:a@example.com, mailto:b@example.net!10m; ruf=mailto:f@example.com; fo=1:d:s",
    "v=DMARC1; p=reject; rua=mailto:dmarc@example.com?subject=report",
    "v=DMARC1; p=reject; psd=y; t=y",
]


@pytest.mark.parametrize("text", CLEAN)
def test_clean_records_have_no_findings(text: str) -> None:
    record = parse(text)
    assert slugs(record) == []
    assert record.applies


# (code, record that triggers it, the corrected record in `fix` or None, a near miss)
CASES = [
    ("dmarc.syntax", "v=DMARC1; p=rejected", "v=DMARC1; p=reject", "v=DMARC1; p=reject"),
    ("dmarc.syntax", "v=DMARC1; p=block; rua=mailto:d@example.com",
     "v=DMARC1; p=reject; rua=mailto:d@example.com", "v=DMARC1; p=none; rua=mailto:d@example.com"),
    ("dmarc.syntax", "v=DMARC1; p=reject; sp=quarantined", "v=DMARC1; p=reject; sp=quarantine",
     "v=DMARC1; p=reject; sp=quarantine"),
    ("dmarc.syntax", "v=DMARC1; p=reject; np=strict", None, "v=DMARC1; p=reject; np=reject"),
    ("dmarc.syntax", "v=DMARC1; p=reject; adkim=strict", "v=DMARC1; p=reject; adkim=s",
     "v=DMARC1; p=reject; adkim=r"),
    ("dmarc.syntax", "v=DMARC1; p=reject; aspf=x", None, "v=DMARC1; p=reject; aspf=s"),
    ("dmarc.syntax", "v=DMARC1; p=reject; psd=yes", "v=DMARC1; p=reject; psd=y",
     "v=DMARC1; p=reject; psd=u"),
    ("dmarc.syntax", "v=DMARC1; p=reject; t=true", "v=DMARC1; p=reject; t=y",
     "v=DMARC1; p=reject; t=n"),
    ("dmarc.syntax", "v=DMARC1; p=reject; fo=0:1", None, "v=DMARC1; p=reject; fo=0:d"),
    ("dmarc.syntax", "v=DMARC1; p=reject; fo=2", None, "v=DMARC1; p=reject; fo=s"),
    ("dmarc.syntax", "v=DMARC1; p=reject; fo=d:d", None, "v=DMARC1; p=reject; fo=d"),
    ("dmarc.syntax", "v=DMARC1; p=", None, "v=DMARC1; p=none; rua=mailto:d@example.com"),
    ("dmarc.syntax", "v=DMARC1; p=reject; p=none", None, "v=DMARC1; p=reject"),
    ("dmarc.syntax", "v=DMARC1; p=reject; rua", None, "v=DMARC1; p=reject"),
    ("dmarc.syntax", "v=DMARC2; p=reject", None, "v=DMARC1; p=reject"),
    ("dmarc.syntax", "v=dmarc1; p=reject", "v=DMARC1; p=reject", "v=DMARC1; p=reject"),
    ("dmarc.syntax", "V=DMARC1; p=reject", "v=DMARC1; p=reject", "v=DMARC1; p=reject"),
    ("dmarc.syntax", "p=reject", "v=DMARC1; p=reject", "v=DMARC1; p=reject"),
    ("dmarc.syntax", "p=reject; v=DMARC1", "v=DMARC1; p=reject", "v=DMARC1; p=reject"),
    ("dmarc.unknown-tag", "v=DMARC1; p=reject; rue=mailto:d@example.com",
     "v=DMARC1; p=reject; rua=mailto:d@example.com",
     "v=DMARC1; p=reject; rua=mailto:e@example.com"),
    ("dmarc.unknown-tag", "v=DMARC1; policy=reject", "v=DMARC1; p=reject", "v=DMARC1; p=reject"),
    ("dmarc.unknown-tag", "v=DMARC1; p=reject; sub=quarantine",
     "v=DMARC1; p=reject; sp=quarantine", "v=DMARC1; p=reject; sp=quarantine"),
    ("dmarc.unknown-tag", "v=DMARC1; p=reject; P=none", None, "v=DMARC1; p=reject"),
    ("dmarc.unknown-tag", "v=DMARC1; p=reject; policy=rejected", None, "v=DMARC1; p=reject"),
    ("dmarc.unknown-tag", "v=DMARC1; p=reject; export=reports@example.com", None,
     "v=DMARC1; p=reject"),
    ("dmarc.unknown-tag", "v=DMARC1; p=reject; zz=1", None, "v=DMARC1; p=reject"),
    ("dmarc.removed-tag", "v=DMARC1; p=quarantine; pct=25", "v=DMARC1; p=quarantine; t=y",
     "v=DMARC1; p=quarantine; t=y"),
    ("dmarc.removed-tag", "v=DMARC1; p=reject; pct=100", "v=DMARC1; p=reject",
     "v=DMARC1; p=reject"),
    ("dmarc.removed-tag", "v=DMARC1; p=reject; rf=afrf", "v=DMARC1; p=reject",
     "v=DMARC1; p=reject; ruf=mailto:f@example.com"),
    ("dmarc.removed-tag", "v=DMARC1; p=reject; ri=3600", "v=DMARC1; p=reject",
     "v=DMARC1; p=reject"),
    ("dmarc.bad-uri", "v=DMARC1; p=reject; rua=reports@example.com",
     "v=DMARC1; p=reject; rua=mailto:reports@example.com",
     "v=DMARC1; p=reject; rua=mailto:reports@example.com"),
    ("dmarc.bad-uri", "v=DMARC1; p=reject; rua=mailto:reports", None,
     "v=DMARC1; p=reject; rua=mailto:reports@example.com"),
    ("dmarc.bad-uri", "v=DMARC1; p=reject; rua=mailto:r@example", None,
     "v=DMARC1; p=reject; rua=mailto:r@example.com"),
    ("dmarc.bad-uri", "v=DMARC1; p=reject; rua=mailto:r@example.com!10mb",
     "v=DMARC1; p=reject; rua=mailto:r@example.com!10m",
     "v=DMARC1; p=reject; rua=mailto:r@example.com!10M"),
    ("dmarc.bad-uri", "v=DMARC1; p=reject; ruf=mailto: r@example.com",
     "v=DMARC1; p=reject; ruf=mailto:r@example.com",
     "v=DMARC1; p=reject; ruf=mailto:s@example.com"),
    ("dmarc.bad-uri", "v=DMARC1; p=reject; rua=mailto:a@example.com,",
     "v=DMARC1; p=reject; rua=mailto:a@example.com",
     "v=DMARC1; p=reject; rua=mailto:b@example.com"),
    ("dmarc.policy-none", "v=DMARC1; p=none; rua=mailto:d@example.com",
     "v=DMARC1; p=quarantine; t=y; rua=mailto:d@example.com",
     "v=DMARC1; p=quarantine; t=y; rua=mailto:d@example.com"),
    ("dmarc.policy-none", "v=DMARC1; rua=mailto:d@example.com",
     "v=DMARC1; p=quarantine; t=y; rua=mailto:d@example.com", "v=DMARC2; p=none"),
    ("dmarc.subdomain-policy-none", "v=DMARC1; p=reject; sp=none", "v=DMARC1; p=reject",
     "v=DMARC1; p=none; sp=none"),
    ("dmarc.subdomain-policy-none", "v=DMARC1; p=quarantine; np=none", "v=DMARC1; p=quarantine",
     "v=DMARC1; p=quarantine; np=quarantine"),
]  # fmt: skip


@pytest.mark.parametrize(("slug", "text", "fix", "near_miss"), CASES)
def test_codes(slug: str, text: str, fix: str | None, near_miss: str) -> None:
    found = only(parse(text), slug)
    assert found.fix == fix
    assert found.column is None or 1 <= found.column <= len(text)
    if fix is not None:
        assert slug not in slugs(parse(fix))
    assert slug not in slugs(parse(near_miss))


def test_messages_say_what_was_meant() -> None:
    assert "did you mean 'reject'" in only(parse("v=DMARC1; p=rejected"), "dmarc.syntax").message
    removed = only(parse("v=DMARC1; p=reject; pct=50"), "dmarc.removed-tag")
    assert "t=y" in removed.message and removed.severity is Severity.INFO
    unknown = only(parse("v=DMARC1; p=reject; policy=quarantine"), "dmarc.unknown-tag")
    assert "did you mean p=" in unknown.message
    assert "add rua=" in only(parse("v=DMARC1; p=none"), "dmarc.policy-none").message


def test_a_non_mailto_scheme_is_only_a_warning() -> None:
    record = parse("v=DMARC1; p=reject; rua=https://reports.example.com/dmarc")
    assert only(record, "dmarc.bad-uri").severity is Severity.WARNING
    assert record.rua == (DmarcUri("https", "//reports.example.com/dmarc"),)
    assert record.rua[0].valid


def test_several_problems_are_each_reported() -> None:
    record = parse("v=DMARC1; p=quarantine; np=none; sp=none; pct=25; rf=afrf; ri=86400")
    assert sorted(slugs(record)) == ["dmarc.removed-tag"] * 3 + ["dmarc.subdomain-policy-none"] * 2


# (record, effective p, sp, np): RFC 9989 §4.7 fallbacks and §4.10.1 invalid-policy rule
EFFECTIVE = [
    ("v=DMARC1; p=reject", "reject", "reject", "reject"),
    ("v=DMARC1; p=reject; sp=quarantine", "reject", "quarantine", "quarantine"),
    ("v=DMARC1; p=reject; np=none", "reject", "reject", "none"),
    ("v=DMARC1; p=none; sp=reject; np=quarantine", "none", "reject", "quarantine"),
    ("v=DMARC1; rua=mailto:d@example.com", "none", "none", "none"),  # no p: p=none
    ("v=DMARC1; sp=reject", "none", "reject", "reject"),
    ("v=DMARC1; p=rejected; rua=mailto:d@example.com", "none", "none", "none"),
    ("v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com", "none", "none", "none"),
    ("v=DMARC1; p=rejected", None, None, None),  # invalid p, no valid rua: no DMARC
    ("v=DMARC1; p=reject; np=x; rua=reports@example.com", None, None, None),
    ("v=DMARC1; p=reject; adkim=x", "reject", "reject", "reject"),  # default replaces it
    ("v=DMARC2; p=reject", None, None, None),
    ("p=reject; v=DMARC1", None, None, None),
    ("p=reject", None, None, None),
]


@pytest.mark.parametrize(("text", "p", "sp", "np"), EFFECTIVE)
def test_effective_policy(text: str, p: str | None, sp: str | None, np: str | None) -> None:
    record = parse(text)
    assert record.effective_policy == p
    assert record.effective_subdomain_policy == sp
    assert record.effective_nonexistent_policy == np
    assert record.applies is (p is not None)


def test_typed_fields_and_defaults() -> None:
    record = parse("v=DMARC1; p=reject; rua=mailto:a@example.com!10m, mailto:b@example.net")
    assert record.p is Policy.REJECT and record.sp is None
    assert record.dkim_alignment is Alignment.RELAXED is record.spf_alignment
    assert record.public_suffix is Psd.UNKNOWN
    assert record.failure_options == ("0",)
    assert not record.testing
    assert record.rua == (
        DmarcUri("mailto", "a@example.com", 10 * 2**20),
        DmarcUri("mailto", "b@example.net"),
    )
    strict = parse("v=DMARC1; p=quarantine; adkim=s; aspf=S; psd=y; t=Y; fo=D:1")
    assert (strict.adkim, strict.aspf, strict.psd) == (Alignment.STRICT,) * 2 + (Psd.YES,)
    assert strict.testing and strict.fo == ("d", "1")
    assert Policy.REJECT.tested is Policy.QUARANTINE
    assert Policy.QUARANTINE.tested is Policy.NONE is Policy.NONE.tested


def test_to_text_is_canonical_and_keeps_what_was_there() -> None:
    text = (
        "v=DMARC1; rua=mailto:A@Example.com ,MAILTO:b@example.net!1024; x=1; P=none; fo=1; p=REJECT"
    )
    record = parse(text)
    assert record.to_text() == (
        "v=DMARC1; p=reject; rua=mailto:A@Example.com,mailto:b@example.net!1k; fo=1; x=1; P=none"
    )
    assert record.unknown == (("x", "1"), ("P", "none"))
    assert parse(record.to_text()) == record
    assert parse("v=DMARC1; p=reject; pct=20").removed == (("pct", "20"),)
    invalid = parse("v=DMARC1; p=rejected; adkim=x")
    assert invalid.invalid == (("p", "rejected"), ("adkim", "x"))
    assert invalid.to_text() == "v=DMARC1; p=rejected; adkim=x"


def test_oversized_input_is_reported_and_cut() -> None:
    record = parse("v=DMARC1; p=reject; " + "x" * 70_000)
    assert any(d.column == dmarc.MAX_TEXT + 1 for d in record.diagnostics)


# --- property tests -------------------------------------------------------------------------

label = r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?"
addresses = st.from_regex(
    rf"[a-z0-9._+-]{{1,12}}@{label}(\.{label})*\.[a-z]{{2,6}}", fullmatch=True
)
uris = st.builds(DmarcUri, st.just("mailto"), addresses, st.none() | st.integers(0, 2**45))
uri_lists = st.none() | st.lists(uris, min_size=1, max_size=3).map(tuple)
fo = st.lists(st.sampled_from(["0", "1", "d", "s"]), min_size=1, max_size=3, unique=True)
names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(
    lambda name: name not in ("v", *dmarc._ORDER, *dmarc._REMOVED)
)
values = st.from_regex(r"[!-:<-~]([ -:<-~]{0,10}[!-:<-~])?", fullmatch=True)


def optional(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | strategy


records = st.builds(
    DmarcRecord,
    version=st.just("DMARC1"),
    p=optional(st.sampled_from(Policy)),
    sp=optional(st.sampled_from(Policy)),
    np=optional(st.sampled_from(Policy)),
    psd=optional(st.sampled_from(Psd)),
    t=optional(st.booleans()),
    adkim=optional(st.sampled_from(Alignment)),
    aspf=optional(st.sampled_from(Alignment)),
    rua=uri_lists,
    ruf=uri_lists,
    fo=optional(fo.filter(lambda parts: not {"0", "1"} <= set(parts)).map(tuple)),
    removed=st.lists(st.tuples(st.sampled_from(["pct", "rf", "ri"]), values), max_size=2,
                     unique_by=lambda pair: pair[0]).map(tuple),
    unknown=st.lists(st.tuples(names, values), max_size=3,
                     unique_by=lambda pair: pair[0]).map(tuple),
)  # fmt: skip


@given(records)
def test_round_trip(record: DmarcRecord) -> None:
    parsed = parse(record.to_text())
    assert parsed == record, [d.message for d in parsed.diagnostics]
    assert not any(d.slug in ("dmarc.syntax", "dmarc.bad-uri") for d in parsed.diagnostics)


@given(st.text())
def test_parse_never_raises(text: str) -> None:
    record = parse(text)
    record.to_text()
    assert record.effective_policy in (None, *Policy)
    record.effective_nonexistent_policy  # noqa: B018


TAGS = ["v", "p", "sp", "np", "psd", "t", "adkim", "aspf", "rua", "ruf", "fo", "pct", "rf", "ri",
        "export", "V", "P", "x"]  # fmt: skip
VALUES = ["DMARC1", "dmarc1", "none", "reject", "rejected", "quarantine", "y", "n", "u", "r", "s",
          "0:1", "1:d", "mailto:a@example.com", "a@example.com", "mailto:a@example.com!10m",
          "mailto:a@example.com!x", "mailto:a@example.com,mailto:b@example.com", ",", "100",
          "", " "]  # fmt: skip
pairs = st.tuples(st.sampled_from(TAGS) | st.text(max_size=3),
                  st.sampled_from(VALUES) | st.text(max_size=6))  # fmt: skip


@given(st.lists(pairs, max_size=8), st.sampled_from(["; ", ";", " ; ", ";;"]))
def test_tag_soup(tags: list[tuple[str, str]], separator: str) -> None:
    record = parse(separator.join(f"{name}={value}" for name, value in tags))
    for diagnostic in record.diagnostics:
        if diagnostic.fix is not None:
            parse(diagnostic.fix)
    if not any(d.severity is Severity.ERROR for d in record.diagnostics):
        assert parse(record.to_text()) == record  # what is valid reads back the same
