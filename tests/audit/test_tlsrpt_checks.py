"""TLS-RPT checks (RFC 8460 §3): each code triggered and its near miss, live and offline."""

from __future__ import annotations

import pytest
from scenarios import audit_both, offline_resolver

from knot import KnotServer
from mailward.audit.auditor import Auditor, DomainReport
from mailward.codes import Severity
from mailward.dns.resolver import Answer, Resolver
from mailward.errors import TempError


def tlsrpt_codes(report: DomainReport) -> list[str]:
    return sorted(f.code for f in report.findings if f.code.startswith("tlsrpt."))


# (domain, the TLS-RPT codes it gets, the fix of the first one or None)
SCENARIOS = [
    ("tlsrpt.test", ["tlsrpt.ok"], None),
    ("split.tlsrpt.test", ["tlsrpt.ok"], None),  # two strings joined with nothing between
    (
        "none.tlsrpt.test",
        ["tlsrpt.missing"],
        '_smtp._tls.none.tlsrpt.test. 3600 IN TXT "v=TLSRPTv1; '
        'rua=mailto:tls-reports@none.tlsrpt.test"',
    ),
    ("wild.tlsrpt.test", ["tlsrpt.missing"], None),  # a wildcard's SPF text is no record
    (
        "bad.tlsrpt.test",
        ["tlsrpt.syntax"],
        '_smtp._tls.bad.tlsrpt.test. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@tlsrpt.test"',
    ),
    (
        "case.tlsrpt.test",
        ["tlsrpt.syntax"],
        '_smtp._tls.case.tlsrpt.test. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@tlsrpt.test"',
    ),
    (
        "two.tlsrpt.test",
        ["tlsrpt.multiple-records"],
        '_smtp._tls.two.tlsrpt.test. 3600 IN TXT "v=TLSRPTv1; '
        'rua=mailto:a@tlsrpt.test,mailto:b@tlsrpt.test"',
    ),
]


@pytest.mark.parametrize(("domain", "codes", "fix"), SCENARIOS)
async def test_scenario_gets_exactly_its_codes(
    audit_knot: KnotServer, domain: str, codes: list[str], fix: str | None
) -> None:
    """Each scenario is also the near miss of the others: it gets its codes and no other."""
    report = await audit_both(audit_knot, domain)
    assert tlsrpt_codes(report) == codes, [(f.code, f.detail) for f in report.findings]
    finding = next(f for f in report.findings if f.code == codes[0])
    if fix is not None:
        assert finding.fix == fix


async def test_severities_follow_the_issue(audit_knot: KnotServer) -> None:
    severities = {}
    for domain in ("none.tlsrpt.test", "bad.tlsrpt.test", "two.tlsrpt.test", "tlsrpt.test"):
        for f in (await audit_both(audit_knot, domain)).findings:
            if f.code.startswith("tlsrpt."):
                severities[f.code] = f.severity
    assert severities == {
        "tlsrpt.missing": Severity.INFO,
        "tlsrpt.syntax": Severity.ERROR,
        "tlsrpt.multiple-records": Severity.ERROR,
        "tlsrpt.ok": Severity.PASS,
    }


async def test_a_dns_failure_is_never_read_as_missing() -> None:
    inner: Resolver = offline_resolver()

    class Failing:
        async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
            if name.rstrip(".") == "_smtp._tls.none.tlsrpt.test":
                raise TempError(name, rdtype, "SERVFAIL")
            return await inner.query(name, rdtype, dnssec=dnssec)

    report = await Auditor(Failing()).audit("none.tlsrpt.test")
    assert tlsrpt_codes(report) == []
    assert "dns.temperror" in {f.code for f in report.findings}
