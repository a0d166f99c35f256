"""The audit's frame: domain input, MX and reverse-DNS checks, live and offline alike."""

from __future__ import annotations

import pytest
from scenarios import audit_both, offline_resolver

from knot import KnotServer
from mailward.audit.auditor import Auditor
from mailward.audit.domain import parse_domain
from mailward.codes import Severity
from mailward.errors import UsageError


@pytest.mark.parametrize(
    ("text", "name", "unicode"),
    [
        ("Example.COM.", "example.com", None),
        ("bücher.example", "xn--bcher-kva.example", "bücher.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example", "bücher.example"),
    ],
)
def test_domain_input_is_normalised(text: str, name: str, unicode: str | None) -> None:
    domain = parse_domain(text)
    assert (domain.name, domain.unicode) == (name, unicode)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("https://www.example.com/contact", "did you mean 'www.example.com'"),
        ("www.example.com/contact", "did you mean 'www.example.com'"),
        ("Jane <jane@Example.com>", "the mail domain is 'example.com'"),
        ("a" * 64 + ".example", "at most 63"),
        (".".join(["a" * 60] * 5), "at most 253"),
        ("example..com", "empty label"),
        ("localhost", "single label"),
        ("exa mple.com", "not a domain name"),
        ("", "empty"),
    ],
)
def test_bad_domain_input_is_refused_with_what_was_meant(text: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        parse_domain(text)


async def test_bad_input_in_a_run_is_a_finding_not_a_crash() -> None:
    report = await Auditor(offline_resolver()).audit("mailto:someone@good.test")
    assert [f.code for f in report.findings] == ["audit.bad-input"]


async def test_good_domain_is_clean(audit_knot: KnotServer) -> None:
    report = await audit_both(audit_knot, "good.test")
    bad = [f for f in report.findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    assert bad == [], [(f.code, f.detail) for f in bad]
    codes = {f.code for f in report.findings}
    assert {"mx.ok", "ptr.ok"} <= codes
