"""One computation per key at a time, its outcome shared by every caller who asks meanwhile.

The stub resolver shares a question in flight among identical askers; an audit shares each
lookup and memo among its checks. The first caller computes in its own task (a new task per
question would cost more than the question when the answer is at hand, as from zone files or
a cache); whoever asks meanwhile awaits the same outcome, answer or exception.

Cancellation stays with whoever it was meant for: a waiter that is cancelled leaves the
computation alone (it waits through :func:`asyncio.shield`), and when the first caller is
cancelled, the waiters are not: the next one computes afresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TypeVar

K = TypeVar("K")
T = TypeVar("T")


async def shared(
    started: MutableMapping[K, asyncio.Future[T]],
    key: K,
    compute: Callable[[], Awaitable[T]],
    *,
    keep: bool,
) -> T:
    """``await compute()`` once for ``key`` among concurrent callers.

    ``started`` holds the outcome of each key being computed; with ``keep`` it holds it on
    afterwards too (a memo: later callers get the same outcome), without it the key is
    dropped when done (a cache elsewhere decides what is kept).
    """
    while (waiting := started.get(key)) is not None:
        try:
            return await asyncio.shield(waiting)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not waiting.cancelled() or task is None or task.cancelling():
                raise  # we were cancelled, not the one computing
            # the one computing was cancelled and its key dropped: ask again
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    started[key] = future
    try:
        result = await compute()
    except Exception as exc:
        future.set_exception(exc)
        future.exception()  # retrieved here, so a failure nobody waited for is not "lost"
        if not keep:
            del started[key]
        raise
    except BaseException:
        future.cancel()
        del started[key]
        raise
    future.set_result(result)
    if not keep:
        del started[key]
    return result
