"""Bulk audits on several processes: the same reports as one process, and a failed worker
costs its domains an internal-error finding, never the run."""

from __future__ import annotations

import asyncio
import functools
import gc
import os

from knot import KnotServer
from mailward.audit.auditor import Auditor, DomainReport
from mailward.audit.parallel import audit_in_processes, fewer_collections
from mailward.dns.resolver import Resolver
from mailward.dns.stub import StubResolver

DOMAINS = [
    "good.test",
    "nomx.mx.test",
    "nothing.mx.test",
    "https://bad input",  # refused by the audit itself, reported like any other
    "GOOD.test.",
    "nothing.mx.test",  # twice: two reports
    "missing.test",
]


def _summary(reports: list[DomainReport]) -> list[tuple[str, list[tuple[str, str]]]]:
    return sorted(
        (r.domain, sorted((f.code, f.severity.value) for f in r.findings)) for r in reports
    )


def test_processes_give_the_reports_one_process_gives(audit_knot: KnotServer) -> None:
    factory = functools.partial(StubResolver, [audit_knot.nameserver], timeout=2.0)

    async def one_process() -> list[DomainReport]:
        resolver = factory()
        try:
            return [r async for r in Auditor(resolver).audit_many(DOMAINS)]
        finally:
            await resolver.aclose()

    expected = asyncio.run(one_process())
    for processes in (1, 3, 20):
        got = list(audit_in_processes(DOMAINS, factory, processes=processes, concurrency=4))
        assert len(got) == len(DOMAINS)
        assert _summary(got) == _summary(expected)
    assert list(audit_in_processes([], factory)) == []


def _broken() -> Resolver:
    raise RuntimeError("no resolver today")


def _killed() -> Resolver:
    os._exit(9)  # as the out-of-memory killer would: no word, no cleanup


def test_a_worker_that_fails_costs_its_domains_a_finding_not_the_run() -> None:
    for factory, says in ((_broken, "RuntimeError: no resolver today"), (_killed, "status 9")):
        reports = list(audit_in_processes(["a.test", "b.test", "c.test"], factory, processes=2))
        assert sorted(r.domain for r in reports) == ["a.test", "b.test", "c.test"]
        for report in reports:
            (finding,) = report.findings
            assert finding.code == "audit.internal-error"
            assert says in finding.detail


def test_fewer_collections_restores_the_collector() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] > before[0]
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
