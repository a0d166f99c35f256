"""records/mtasts.py: the _mta-sts TXT record, the policy file, and MX pattern matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailward.codes import Severity
from mailward.records.mtasts import (
    MAX_POLICY_OCTETS,
    MODES,
    MtaStsPolicy,
    MtaStsRecord,
    mx_matches,
    parse_policy,
    parse_record,
)

POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"


def slugs(record: MtaStsRecord | MtaStsPolicy) -> list[str]:
    return [d.slug for d in record.diagnostics]


def test_record() -> None:
    record = parse_record("v=STSv1; id=20240501T120000;")
    assert record == MtaStsRecord("20240501T120000") and record.diagnostics == ()


RECORD_CASES = [
    ("id=20240501; v=STSv1", "v=STSv1; id=20240501"),
    ("v=STSv2; id=1", "v=STSv1; id=1"),
    ("id=1", "v=STSv1; id=1"),
    ("v=STSv1", "v=STSv1; id=1"),
    ("v=STSv1; ID=1", "v=STSv1; id=1; ID=1"),
    ("v=STSv1; id=2024-05-01", "v=STSv1; id=20240501"),
    ("v=STSv1; id=" + "a" * 33, "v=STSv1; id=" + "a" * 32),
    ("v=STSv1; id=", "v=STSv1; id=a"),
    ("v=STSv1 id=1", "v=STSv1; id=1"),
]


@pytest.mark.parametrize(("bad", "good"), RECORD_CASES)
def test_record_syntax(bad: str, good: str) -> None:
    assert "mta-sts.record-syntax" in slugs(parse_record(bad))
    assert slugs(parse_record(good)) == []


def test_record_fixes() -> None:
    assert parse_record("v=STSv1; id=2024-05-01").diagnostics[0].fix == "v=STSv1; id=20240501"
    assert parse_record("id=1; v=STSv1").diagnostics[0].fix == "v=STSv1; id=1"
    assert parse_record("v=stsv1; id=1").diagnostics[0].fix == "v=STSv1; id=1"
    [missing] = parse_record("v=STSv1; ID=1").diagnostics
    assert "case-sensitive" in missing.message


def test_policy() -> None:
    policy = parse_policy(POLICY)
    assert policy == MtaStsPolicy("enforce", 604800, ("mail.example.com",))
    assert policy.diagnostics == () and policy.to_text() == POLICY
    assert parse_policy(POLICY.replace("\r\n", "\n")) == policy
    assert parse_policy(POLICY.rstrip()) == policy  # no final line ending
    spaced = "version:STSv1\nmode :  enforce\t\nmx: mail.example.com\nmax_age:604800"
    assert parse_policy(spaced) == policy and parse_policy(spaced).diagnostics == ()


def test_policy_keeps_unknown_fields_and_many_mx() -> None:
    text = POLICY + "mx: *.example.net\r\nflavour: vanilla\r\n"
    policy = parse_policy(text)
    assert policy.mx == ("mail.example.com", "*.example.net")
    assert policy.extensions == (("flavour", "vanilla"),) and policy.diagnostics == ()


def edit(old: str, new: str) -> str:
    assert old in POLICY
    return POLICY.replace(old, new)


# (slug, bad policy, line of the diagnostic, near miss)
POLICY_CASES = [
    ("mta-sts.policy-syntax", edit("version: STSv1\r\n", ""), 4, POLICY),
    ("mta-sts.policy-syntax", edit("STSv1", "STSv2"), 1, POLICY),
    ("mta-sts.policy-syntax", edit("enforce", "Enforce"), 2, POLICY),
    ("mta-sts.policy-syntax", edit("enforce", "reject"), 2, POLICY),
    ("mta-sts.policy-syntax", edit("mx: mail.example.com\r\n", ""), 4, edit("enforce", "none")),
    ("mta-sts.policy-syntax", edit("mail.example.com", "mail.example.com."), 3, POLICY),
    ("mta-sts.policy-syntax", edit("mail.example.com", "mail*.example.com"), 3, POLICY),
    ("mta-sts.policy-syntax", edit("mail.example.com", "*.*.example.com"), 3, POLICY),
    ("mta-sts.policy-syntax", edit("mail.example.com", "example.*"), 3, POLICY),
    (
        "mta-sts.policy-syntax",
        edit("mail.example.com", "mail.example.com, b.example.com"),
        3,
        edit("mail.example.com", "mail.example.com\r\nmx: b.example.com"),
    ),
    ("mta-sts.policy-syntax", edit("604800", "31557601"), 4, edit("604800", "31557600")),
    ("mta-sts.policy-syntax", edit("604800", "1w"), 4, POLICY),
    ("mta-sts.policy-syntax", edit("max_age", "max-age"), 4, POLICY),
    ("mta-sts.policy-syntax", edit("mode: enforce", "mode enforce"), 2, POLICY),
    ("mta-sts.policy-syntax", POLICY + "mode: testing\r\n", 5, POLICY),
    ("mta-sts.policy-syntax", edit("mode: enforce\r\n", "mode: enforce\r\n\r\n"), 3, POLICY),
    ("mta-sts.policy-syntax", "\ufeff" + POLICY, 1, POLICY),
    ("mta-sts.testing-mode", edit("enforce", "testing"), 2, POLICY),
    ("mta-sts.max-age-short", edit("604800", "86400"), 4, edit("604800", "1209600")),
]


@pytest.mark.parametrize(("slug", "bad", "line", "good"), POLICY_CASES)
def test_policy_codes(slug: str, bad: str, line: int, good: str) -> None:
    found = [d for d in parse_policy(bad).diagnostics if d.slug == slug]
    assert found and found[0].line == line, parse_policy(bad).diagnostics
    assert slugs(parse_policy(good)) == []


def test_policy_fixes_are_whole_policies() -> None:
    fixed = {
        edit("enforce", "Enforce"): POLICY,
        edit("mail.example.com", "mail.example.com."): POLICY,
        edit("604800", "31557601"): edit("604800", "31557600"),
        edit("mail.example.com", "mail.example.com, b.example.com"): edit(
            "mail.example.com", "mail.example.com\r\nmx: b.example.com"
        ),
    }
    for bad, good in fixed.items():
        [problem] = parse_policy(bad).diagnostics
        assert problem.fix == good
        assert parse_policy(problem.fix).diagnostics == ()


def test_policy_severities() -> None:
    blank = parse_policy(edit("\r\nmx", "\r\n\r\nmx")).diagnostics[0]
    assert blank.severity == Severity.WARNING
    assert parse_policy(edit("enforce", "testing")).diagnostics[0].severity == Severity.INFO


def test_oversized_policy_is_reported() -> None:
    policy = parse_policy(POLICY + "x: " + "y" * MAX_POLICY_OCTETS + "\r\n")
    assert "mta-sts.policy-syntax" in slugs(policy)
    assert policy.mode == "enforce" and policy.mx == ("mail.example.com",)


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("mail.example.com", "mail.example.com", True),
        ("mail.example.com", "MAIL.Example.COM.", True),
        ("mail.example.com.", "mail.example.com", True),
        ("mail.example.com", "mx.example.com", False),
        ("*.example.net", "mx1.example.net", True),
        ("*.example.net", "MX1.EXAMPLE.NET.", True),
        ("*.example.net", "example.net", False),
        ("*.example.net", "a.b.example.net", False),
        ("*.example.net", ".example.net", False),
        ("*.example.net", "mx1.example.net.evil", False),
        ("*.example.net", "mx1example.net", False),
        ("", "", False),
    ],
)
def test_mx_matches(pattern: str, host: str, expected: bool) -> None:
    assert mx_matches(pattern, host) is expected


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
hosts = st.lists(labels, min_size=2, max_size=4).map(".".join)
patterns = st.one_of(hosts, hosts.map(lambda h: "*." + h))
records = st.builds(
    MtaStsRecord,
    policy_id=st.from_regex(r"[A-Za-z0-9]{1,32}", fullmatch=True),
    extensions=st.lists(
        st.tuples(
            st.from_regex(r"e[a-z0-9_]{0,6}", fullmatch=True),
            st.from_regex(r"[!-:<>-~]{1,10}", fullmatch=True),
        ),
        unique_by=lambda pair: pair[0],
        max_size=2,
    ).map(tuple),
)
policies = st.builds(
    MtaStsPolicy,
    mode=st.sampled_from(MODES),
    max_age=st.integers(0, 31557600),
    mx=st.lists(patterns, min_size=1, max_size=4).map(tuple),
    extensions=st.lists(
        st.tuples(
            st.from_regex(r"ext[a-z_]{0,6}", fullmatch=True),
            st.from_regex(r"[!-~]([ !-~]{0,10}[!-~])?", fullmatch=True),
        ),
        max_size=2,
    ).map(tuple),
)


@given(records)
def test_record_round_trip(record: MtaStsRecord) -> None:
    parsed = parse_record(record.to_text())
    assert parsed == record and parsed.diagnostics == ()


@given(policies)
def test_policy_round_trip(policy: MtaStsPolicy) -> None:
    parsed = parse_policy(policy.to_text())
    assert parsed == policy
    assert parse_policy(policy.to_text().replace("\r\n", "\n")) == policy
    assert "mta-sts.policy-syntax" not in slugs(parsed)
    for pattern in policy.mx:  # each pattern matches a host it stands for, and not its parent
        host = pattern.replace("*", "mx1", 1)
        assert mx_matches(pattern, host) and not mx_matches(pattern, host.partition(".")[2])


@given(st.text())
def test_parsers_never_raise(text: str) -> None:
    parse_record(text).to_text()
    parse_policy(text).to_text()
    mx_matches(text, text)
