"""Run one audit scenario both ways: live against Knot, and offline over the same zone files.

``await audit_both(knot, "good.test")`` returns the live report after checking that the
offline report has the same findings (code and severity): the issue's promise that
``--zone`` and a real DNS server give the same answers.
"""

from __future__ import annotations

from pathlib import Path

from knot import KnotServer
from mailward.audit.auditor import Auditor, DomainReport
from mailward.audit.context import AuditOptions
from mailward.dns.stub import StubResolver
from mailward.dns.zonefiles import ZoneResolver

ZONES = Path(__file__).parent / "zones"


def zone_files() -> list[Path]:
    return sorted(ZONES.glob("*.zone"))


def offline_resolver() -> ZoneResolver:
    return ZoneResolver(zone_files())


def summary(report: DomainReport) -> list[tuple[str, str]]:
    return sorted((f.code, f.severity.value) for f in report.findings)


async def audit_both(
    knot: KnotServer, domain: str, options: AuditOptions | None = None
) -> DomainReport:
    live = await Auditor(StubResolver([knot.nameserver], timeout=2.0), options).audit(domain)
    offline = await Auditor(offline_resolver(), options).audit(domain)
    assert summary(live) == summary(offline), (summary(live), summary(offline))
    return live
