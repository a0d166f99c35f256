"""DNSSEC audit checks against Knot serving the private signed hierarchy (dnssec_hierarchy.py).

The audit's resolver is a plain stub (not a validator): the check walks the chain itself from
the hierarchy's own trust anchor. Each broken zone gives its finding, and only that: a zone
whose signatures expired is ``rrsig-expired``, not also a ``dnssec.bogus`` for every record.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from scenarios import audit_both

from dnssec_hierarchy import SignedHierarchy, ds_of
from knot import KnotServer
from mailward.audit.auditor import Auditor, DomainReport
from mailward.audit.context import AuditOptions
from mailward.codes import Severity
from mailward.dns.validating import ValidatingResolver
from mailward.findings import Finding

pytestmark = pytest.mark.server


async def audit(
    signed: SignedHierarchy, domain: str, options: AuditOptions | None = None
) -> DomainReport:
    options = options or AuditOptions()
    options = replace(options, trust_anchors=signed.anchors(), dkim_selectors=("s1",))
    return await Auditor(signed.stub(), options).audit(domain)


def dnssec(report: DomainReport) -> list[Finding]:
    return [f for f in report.findings if f.code.startswith("dnssec.")]


def codes(report: DomainReport) -> list[str]:
    return sorted(f.code for f in dnssec(report))


async def test_valid_domain_passes(dnssec_knot: SignedHierarchy) -> None:
    report = await audit(dnssec_knot, "good.example")
    assert codes(report) == ["dnssec.mx-insecure", "dnssec.ok"]
    (insecure,) = [f for f in dnssec(report) if f.code == "dnssec.mx-insecure"]
    assert insecure.severity == Severity.INFO
    assert "mx.unsigned.example" in insecure.detail and "opt-out" in insecure.detail
    assert not [f for f in report.findings if f.code.startswith("dns.")]


@pytest.mark.parametrize(
    ("domain", "expected", "says"),
    [
        ("nsec3.example", ["dnssec.ok"], "validates nsec3.example"),
        ("expired.example", ["dnssec.rrsig-expired"], "expired 3 days ago"),
        ("expiring.example", ["dnssec.rrsig-expiring"], "expires in 2 days"),
        ("future.example", ["dnssec.rrsig-not-yet-valid"], "starts in 47 hours"),
        ("mismatch.example", ["dnssec.ds-mismatch"], "no DNSKEY of mismatch.example matches"),
        ("nokey.example", ["dnssec.dnskey-missing"], "but nokey.example has no DNSKEY"),
        ("unsigned.example", ["dnssec.unsigned"], "no DS at its parent and no DNSKEY"),
        ("badsig.example", ["dnssec.bogus"], "badsig.example MX is bogus: RRSIG over MX"),
        (
            "legacy.example",
            ["dnssec.algorithm-deprecated", "dnssec.ds-digest-sha1"],
            "algorithm 5 (RSASHA1)",
        ),
        ("iter.example", ["dnssec.nsec3-iterations"], "10 extra iteration(s) and a salt"),
        ("cds.example", ["dnssec.cds-mismatch"], "the CDS of cds.example differs from the DS"),
    ],
)
async def test_each_broken_zone_gets_its_finding(
    dnssec_knot: SignedHierarchy, domain: str, expected: list[str], says: str
) -> None:
    report = await audit(dnssec_knot, domain)
    assert codes(report) == expected, [(f.code, f.detail) for f in dnssec(report)]
    assert any(says in f.detail for f in dnssec(report)), [f.detail for f in dnssec(report)]
    assert not [f for f in report.findings if f.code.startswith("dns.")]


async def test_ds_mismatch_fix_is_the_ds_to_publish(dnssec_knot: SignedHierarchy) -> None:
    report = await audit(dnssec_knot, "mismatch.example")
    (finding,) = dnssec(report)
    used, _other = dnssec_knot.hierarchy.keys["mismatch.example."]
    (ds,) = [
        d for d in ds_of(dnssec_knot.hierarchy, "mismatch.example.") if d.startswith(str(used.tag))
    ]
    assert finding.fix == f"mismatch.example. IN DS {ds.upper()}"


async def test_sha1_ds_fix_is_the_sha256_ds(dnssec_knot: SignedHierarchy) -> None:
    report = await audit(dnssec_knot, "legacy.example")
    (finding,) = [f for f in dnssec(report) if f.code == "dnssec.ds-digest-sha1"]
    (key,) = dnssec_knot.hierarchy.keys["legacy.example."]
    assert finding.fix is not None and finding.fix.startswith(
        f"legacy.example. IN DS {key.tag} 5 2 "
    )


async def test_expiry_warning_window_is_configurable(dnssec_knot: SignedHierarchy) -> None:
    report = await audit(dnssec_knot, "expiring.example", AuditOptions(dnssec_warn_days=1))
    assert codes(report) == ["dnssec.ok"]
    report = await audit(dnssec_knot, "good.example", AuditOptions(dnssec_warn_days=60))
    assert "dnssec.rrsig-expiring" in codes(report)


async def test_expiring_evidence_says_which_signatures_and_when(
    dnssec_knot: SignedHierarchy,
) -> None:
    report = await audit(dnssec_knot, "expiring.example")
    (finding,) = dnssec(report)
    assert finding.severity == Severity.WARNING
    assert any(e.startswith("expiring.example MX: RRSIG by key") for e in finding.evidence)
    assert all("expires in 2 days" in e for e in finding.evidence)


async def test_subdomain_is_judged_by_its_zone(dnssec_knot: SignedHierarchy) -> None:
    report = await audit(dnssec_knot, "mail.good.example")
    assert "dnssec.ok" in codes(report)
    report = await audit(dnssec_knot, "mail.expired.example")
    assert codes(report) == ["dnssec.rrsig-expired"]


async def test_bogus_records_are_bogus_not_missing_behind_a_validator(
    dnssec_knot: SignedHierarchy,
) -> None:
    """With a validating resolver the MX check cannot read the bogus MX: it must say the
    query failed (dns.temperror, with the reason), never "no MX"."""
    resolver = ValidatingResolver(dnssec_knot.stub(), trust_anchors=dnssec_knot.anchors())
    report = await Auditor(resolver, AuditOptions()).audit("badsig.example")
    found = {f.code for f in report.findings}
    assert "dnssec.bogus" in found  # the anchors come from the validating resolver
    assert "mx.missing" not in found
    (temperror,) = [f for f in report.findings if f.code == "dns.temperror"]
    assert "badsig.example MX" in temperror.detail and "does not verify" in temperror.detail


async def test_unsigned_scenario_domains_agree_live_and_offline(audit_knot: KnotServer) -> None:
    """The audit scenarios (tests/audit/zones) are unsigned, live and offline alike."""
    report = await audit_both(audit_knot, "good.test")
    (finding,) = dnssec(report)
    assert (finding.code, finding.severity) == ("dnssec.unsigned", Severity.WARNING)
    assert "mailward dnssec ds" in (finding.fix or "")
