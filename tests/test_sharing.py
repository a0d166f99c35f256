"""One computation per key at a time: outcomes shared, cancellation kept to its owner."""

from __future__ import annotations

import asyncio

import pytest

from mailward._sharing import shared


class Slow:
    """A computation that counts its runs and finishes when told to."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = asyncio.Event()

    async def __call__(self) -> str:
        self.runs += 1
        await self.release.wait()
        return f"result {self.runs}"


@pytest.mark.parametrize("keep", [True, False])
async def test_concurrent_callers_share_one_run(keep: bool) -> None:
    started: dict[str, asyncio.Future[str]] = {}
    slow = Slow()
    callers = [asyncio.ensure_future(shared(started, "k", slow, keep=keep)) for _ in range(5)]
    await asyncio.sleep(0)
    slow.release.set()
    assert await asyncio.gather(*callers) == ["result 1"] * 5
    assert slow.runs == 1
    assert ("k" in started) is keep  # a memo keeps the outcome, in-flight sharing does not
    assert await shared(started, "k", slow, keep=keep) == ("result 1" if keep else "result 2")


async def test_a_failure_reaches_every_caller_and_is_kept_only_in_a_memo() -> None:
    started: dict[str, asyncio.Future[str]] = {}
    runs = 0

    async def failing() -> str:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.01)
        raise ValueError("no")

    outcomes = await asyncio.gather(
        *(shared(started, "k", failing, keep=True) for _ in range(3)), return_exceptions=True
    )
    assert [str(o) for o in outcomes] == ["no"] * 3 and runs == 1
    with pytest.raises(ValueError, match="no"):
        await shared(started, "k", failing, keep=True)
    assert runs == 1


async def test_a_cancelled_waiter_leaves_the_run_alone() -> None:
    started: dict[str, asyncio.Future[str]] = {}
    slow = Slow()
    first = asyncio.ensure_future(shared(started, "k", slow, keep=False))
    waiter = asyncio.ensure_future(shared(started, "k", slow, keep=False))
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.sleep(0)
    slow.release.set()
    assert await first == "result 1"
    assert waiter.cancelled()


async def test_when_the_first_caller_is_cancelled_a_waiter_runs_it_again() -> None:
    started: dict[str, asyncio.Future[str]] = {}
    slow = Slow()
    first = asyncio.ensure_future(shared(started, "k", slow, keep=True))
    waiters = [asyncio.ensure_future(shared(started, "k", slow, keep=True)) for _ in range(2)]
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    slow.release.set()
    assert await asyncio.gather(*waiters) == ["result 2"] * 2  # one new run, shared again
    assert first.cancelled() and slow.runs == 2
