"""Bulk audits on several processes: each with its own event loop, resolver and cache.

An audit is light on the network and heavy on Python: against a nearby resolver one process
is busy computing, not waiting, and a second process on a second core audits nearly twice as
many domains a second. Each process audits every ``processes``-th domain of the list with
:meth:`Auditor.audit_many` (``concurrency`` domains in flight per process) and sends each
report back as it finishes, so reports stream in the order they complete, as with one process.

The processes share no cache: a name all domains ask for (a provider's SPF ``include:``) is
asked once per process, not once in all. The processes are forked where the platform allows
(fast, nothing to pickle but the reports), so call this from plain code, never from inside a
running event loop; the resolver factory and options must pickle where fork is unavailable.

A worker that dies or raises does not hang or sink the run: the domains it never reported
come back as ``audit.internal-error`` findings naming what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import multiprocessing.context
import queue
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import cast

from mailward.audit.auditor import INTERNAL_ERROR, Auditor, DomainReport
from mailward.audit.context import AuditOptions
from mailward.dns.resolver import Resolver
from mailward.errors import UsageError
from mailward.findings import Finding

__all__ = ["audit_in_processes", "fewer_collections"]

ResolverFactory = Callable[[], Resolver]


@dataclass(frozen=True)
class _Done:
    """A worker's last message: how it ended (``error`` empty when all went well)."""

    worker: int
    error: str = ""


def audit_in_processes(
    domains: Sequence[str],
    resolver_factory: ResolverFactory,
    options: AuditOptions | None = None,
    *,
    processes: int = 2,
    concurrency: int = 20,
) -> Iterator[DomainReport]:
    """Audit ``domains`` on ``processes`` worker processes; reports as they finish."""
    if processes < 1:
        raise UsageError("the number of processes must be at least 1")
    processes = min(processes, max(1, len(domains)))
    context = _context()
    results: multiprocessing.Queue[tuple[int, DomainReport] | _Done] = context.Queue()
    workers = [
        context.Process(
            target=_work,
            args=(n, processes, domains[n::processes], resolver_factory, options, concurrency),
            kwargs={"results": results},
            daemon=True,
        )
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    unreported = set(range(len(domains)))
    running = set(range(processes))
    try:
        while running:
            try:
                message = results.get(timeout=1.0)
            except queue.Empty:
                for n in [n for n in running if not workers[n].is_alive()]:
                    running.discard(n)  # killed without a word (out of memory, a signal)
                    why = f"it ended with exit status {workers[n].exitcode}"
                    yield from _lost(domains, unreported, n, processes, why)
                continue
            if isinstance(message, _Done):
                running.discard(message.worker)
                if message.error:
                    yield from _lost(domains, unreported, message.worker, processes, message.error)
                continue
            position, report = message
            unreported.discard(position)
            yield report
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        results.close()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while many domains are audited.

    An audit makes many short-lived objects and few cycles; at Python's default thresholds
    the collector runs every 700 allocations and, in a long bulk run, keeps walking the DNS
    cache and the parsed records (10-15% of the CPU in bench/bench_audit.py). What exists on
    entry (imports, the public suffix list) is frozen out of collection; both settings are
    restored on exit.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _context() -> multiprocessing.context.DefaultContext:
    """Fork where there is fork (quick, inherits the imports); spawn elsewhere."""
    fork = "fork" in multiprocessing.get_all_start_methods()
    return cast(
        multiprocessing.context.DefaultContext,
        multiprocessing.get_context("fork" if fork else "spawn"),
    )


def _lost(
    domains: Sequence[str], unreported: set[int], worker: int, processes: int, why: str
) -> Iterator[DomainReport]:
    """The domains of a failed worker that got no report, each as an internal error."""
    for position in range(worker, len(domains), processes):
        if position in unreported:
            unreported.discard(position)
            detail = f"the process auditing it failed: {why}"
            yield DomainReport(domains[position], (Finding.of(INTERNAL_ERROR, detail),))


def _work(
    worker: int,
    processes: int,
    domains: Sequence[str],
    resolver_factory: ResolverFactory,
    options: AuditOptions | None,
    concurrency: int,
    results: multiprocessing.Queue[tuple[int, DomainReport] | _Done],
) -> None:
    async def run() -> None:
        resolver = resolver_factory()
        try:
            auditor = Auditor(resolver, options)
            async for position, report in auditor.audit_numbered(domains, concurrency=concurrency):
                results.put((worker + position * processes, report))  # back to its place
        finally:
            await resolver.aclose()

    try:
        with fewer_collections():
            asyncio.run(run())
    except BaseException as exc:  # reported, never silent: the parent names the lost domains
        where = "".join(traceback.format_exception_only(exc)).strip()
        results.put(_Done(worker, where or type(exc).__name__))
    else:
        results.put(_Done(worker))
