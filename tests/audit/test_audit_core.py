"""The audit's frame: domain input, MX and reverse-DNS checks, live and offline alike."""

from __future__ import annotations

from dataclasses import replace

import pytest
from scenarios import audit_both, offline_resolver
from tlsservers import good_test_policy

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
    """A correct setup gets only pass and info findings: false positives cost trust."""
    async with good_test_policy() as served:
        options = replace(served, dkim_selectors=("s2026", "e2026"))
        report = await audit_both(audit_knot, "good.test", options)
    # good.test is deliberately unsigned, so it carries exactly one warning, dnssec.unsigned;
    # a correct *signed* domain is clean in tests/audit/test_dnssec_checks.py.
    bad = [f for f in report.findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    assert [f.code for f in bad] == ["dnssec.unsigned"], [(f.code, f.detail) for f in bad]
    codes = {f.code for f in report.findings}
    assert {"mx.ok", "ptr.ok", "spf.ok", "dmarc.ok", "dkim.ok", "mta-sts.ok", "tlsrpt.ok"} <= codes


@pytest.mark.parametrize(
    ("domain", "code", "fix"),
    [
        (
            "nomx.mx.test",
            "mx.missing",
            "nomx.mx.test. 3600 IN MX 0 .   ; only if nomx.mx.test receives no mail",
        ),
        ("nothing.mx.test", "mx.missing", None),
        ("null.mx.test", "mx.null", None),
        ("nullplus.mx.test", "mx.null-with-others", None),
        (
            "noaddr.mx.test",
            "mx.no-address",
            "ghost.mx.test. 3600 IN A <address of your mail server>",
        ),
        ("alias.mx.test", "mx.target-is-cname", "alias.mx.test. 3600 IN MX 10 mail.mx.test."),
        ("ip.mx.test", "mx.target-is-ip", None),
        (
            "fcrdns.mx.test",
            "ptr.fcrdns-mismatch",
            "27.0.0.127.in-addr.arpa. IN PTR fcrdns-host.mx.test.",
        ),
        ("noptr.mx.test", "ptr.missing", None),
    ],
)
async def test_mx_and_ptr_scenarios(
    audit_knot: KnotServer, domain: str, code: str, fix: str | None
) -> None:
    report = await audit_both(audit_knot, domain)
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, [(f.code, f.detail) for f in report.findings]
    if fix is not None:
        assert found[0].fix == fix
    near_misses = {"mx.ok", "mx.missing", "mx.no-address", "mx.target-is-cname"} - {code}
    if code.startswith("mx.") and code != "mx.missing":
        assert not near_misses & {f.code for f in report.findings if f.code != "mx.ok"}


async def test_mx_missing_says_whether_the_domain_receives_mail(audit_knot: KnotServer) -> None:
    implicit = await audit_both(audit_knot, "nomx.mx.test")
    assert "implicit MX" in next(f.detail for f in implicit.findings if f.code == "mx.missing")
    nothing = await audit_both(audit_knot, "nothing.mx.test")
    assert "cannot receive mail" in next(
        f.detail for f in nothing.findings if f.code == "mx.missing"
    )


async def test_a_timeout_is_temperror_never_missing() -> None:
    import socket

    from mailward.dns.stub import StubResolver

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        resolver = StubResolver([f"127.0.0.1:{silent.getsockname()[1]}"], timeout=0.2, retries=0)
        report = await Auditor(resolver).audit("example.com")
    finally:
        silent.close()
    codes = {f.code for f in report.findings}
    assert "dns.temperror" in codes
    assert not any(code.endswith((".missing", ".none-found", ".no-address")) for code in codes)
