"""AuditContext: a question (lookup) or shared work (memo) is done once per audit, and every
caller, early or late, gets the same outcome: the answer or the exception (a cancelled first
asker leaves the others to ask again)."""

from __future__ import annotations

import asyncio
import gc

import dns.rdata
import pytest

from mailward.audit.context import AuditContext
from mailward.audit.domain import parse_domain
from mailward.dns.resolver import Answer
from mailward.errors import TempError


class GatedResolver:
    """Answers A questions once ``gate`` is set, counting the questions."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.asked: list[tuple[str, str]] = []

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        self.asked.append((name, rdtype))
        await self.gate.wait()
        if name.startswith("fail"):
            raise TempError(name, rdtype, "SERVFAIL")
        record = dns.rdata.from_text("IN", "A", "192.0.2.1")
        return Answer(f"{name}.", rdtype, f"{name}.", (record,), 300)

    async def aclose(self) -> None:
        pass


def context(resolver: GatedResolver) -> AuditContext:
    return AuditContext(parse_domain("example.com"), resolver)


async def test_concurrent_askers_share_one_question() -> None:
    resolver = GatedResolver()
    ctx = context(resolver)
    first = asyncio.ensure_future(ctx.lookup("mail.example.com", "A"))
    second = asyncio.ensure_future(ctx.lookup("MAIL.example.com.", "a"))
    await asyncio.sleep(0)
    resolver.gate.set()
    one, two = await asyncio.gather(first, second)
    later = await ctx.lookup("mail.example.com", "A")
    assert resolver.asked == [("mail.example.com", "A")]
    assert one is two is later and one.ok


async def test_a_failed_question_is_one_failure() -> None:
    resolver = GatedResolver()
    ctx = context(resolver)
    resolver.gate.set()
    found = await asyncio.gather(*(ctx.lookup("fail.example.com", "A") for _ in range(3)))
    assert {lk.status for lk in found} == {"temperror"}
    assert [f.code for f in ctx.failure_findings()] == ["dns.temperror"]


async def test_memo_computes_once_for_every_caller() -> None:
    ctx = context(GatedResolver())
    runs: list[int] = []
    gate = asyncio.Event()

    async def compute() -> list[int]:
        runs.append(1)
        await gate.wait()
        return [len(runs)]

    callers = [asyncio.ensure_future(ctx.memo("k", compute)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*callers)
    assert runs == [1]
    assert results[0] is results[1] is results[2] is await ctx.memo("k", compute)


async def test_memo_gives_every_caller_the_exception_and_logs_nothing() -> None:
    ctx = context(GatedResolver())
    gate = asyncio.Event()

    async def compute() -> int:
        await gate.wait()
        raise KeyError("broken check")

    callers = [asyncio.ensure_future(ctx.memo("k", compute)) for _ in range(2)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, KeyError) for r in results)
    with pytest.raises(KeyError):
        await ctx.memo("k", compute)
    alone = context(GatedResolver())  # one caller only: nothing left unretrieved either
    with pytest.raises(KeyError):
        await alone.memo("k", compute)
    logged: list[dict[str, object]] = []  # "Future exception was never retrieved"
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, report: logged.append(report))
    try:
        del ctx, alone
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert logged == []


async def test_cancelling_the_first_asker_leaves_the_others_their_answer() -> None:
    resolver = GatedResolver()
    ctx = context(resolver)
    first = asyncio.ensure_future(ctx.lookup("mail.example.com", "A"))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(ctx.lookup("mail.example.com", "A"))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    resolver.gate.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert not isinstance(results[1], BaseException) and results[1].ok
    assert resolver.asked == [("mail.example.com", "A")] * 2  # the second asked again
