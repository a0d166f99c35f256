"""DNS questions per second: mailward's stub resolver against dnspython's, same Knot, same run.

    .venv/bin/python bench/bench_stub.py [--questions N]

Serves one zone of N A records from ``knotd`` (Debian package ``knot``) on 127.0.0.55 and asks
each name once, caches off, in three ways:

- **one after another**: ``await StubResolver.query`` against dnspython's
  ``dns.resolver.Resolver.resolve`` (what checkdmarc uses) and its asyncio twin
  ``dns.asyncresolver.Resolver.resolve``;
- **50 in flight**: ``StubResolver.query`` against ``dns.asyncresolver.Resolver.resolve``, both
  under one ``asyncio.Semaphore(50)``.

On loopback a question costs nothing on the wire: the numbers are CPU per question (and
Knot's share of the same two CPUs). Ratios above 1 mean mailward is faster.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import dns.asyncresolver
import dns.nameserver
import dns.resolver

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from knot import KnotServer, knot_binaries  # noqa: E402
from mailward.dns.stub import StubResolver  # noqa: E402

ADDRESS = "127.0.0.55"


def zone(count: int) -> str:
    head = "$ORIGIN q.test.\n$TTL 3600\n@ SOA ns h 1 3600 900 86400 60\n@ NS ns\nns A 192.0.2.1\n"
    return head + "".join(f"h{i} A 192.0.2.{i % 250 + 1}\n" for i in range(count))


def dnspython_resolver(cls: type[dns.resolver.Resolver], port: int) -> dns.resolver.Resolver:
    resolver = cls(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver(ADDRESS, port)]
    resolver.cache = None
    return resolver


async def timed(names: list[str], ask: Callable[[str], Awaitable[object]], limit: int) -> float:
    """µs per question, ``limit`` questions in flight."""
    gate = asyncio.Semaphore(limit)

    async def one(name: str) -> None:
        async with gate:
            await ask(name)

    start = time.perf_counter()
    await asyncio.gather(*(one(name) for name in names))
    return (time.perf_counter() - start) / len(names) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=3000, help="names asked per run")
    args = parser.parse_args()
    if knot_binaries() is None:
        print("knotd is not installed (Debian package: knot)", file=sys.stderr)
        return 2
    count = args.questions
    names = [f"h{i}.q.test" for i in range(count)]
    with tempfile.TemporaryDirectory(prefix="bench-stub-") as tmp:
        source = Path(tmp, "q.test.zone")
        source.write_text(zone(count), encoding="utf-8")
        with KnotServer([source], Path(tmp, "knot"), ADDRESS) as server:
            port = server.port
            sync = dnspython_resolver(dns.resolver.Resolver, port)
            start = time.perf_counter()
            for name in names:
                sync.resolve(name, "A")
            theirs_sync = (time.perf_counter() - start) / count * 1e6

            async def run() -> dict[str, float]:
                out: dict[str, float] = {}
                for limit in (1, 50):
                    ours = StubResolver([f"{ADDRESS}:{port}"], cache=False)
                    out[f"ours {limit}"] = await timed(
                        names, functools.partial(ours.query, rdtype="A"), limit
                    )
                    await ours.aclose()
                    theirs = dnspython_resolver(dns.asyncresolver.Resolver, port)
                    assert isinstance(theirs, dns.asyncresolver.Resolver)
                    out[f"theirs {limit}"] = await timed(
                        names, functools.partial(theirs.resolve, rdtype="A"), limit
                    )
                return out

            r = asyncio.run(run())
    print(f"server: knotd on {ADDRESS} (loopback), {count} names, caches off")
    print(
        f"one after another: mailward {r['ours 1']:.0f} µs/question, dnspython Resolver "
        f"{theirs_sync:.0f} µs, dnspython asyncresolver {r['theirs 1']:.0f} µs "
        f"(ratios {theirs_sync / r['ours 1']:.1f} and {r['theirs 1'] / r['ours 1']:.1f})"
    )
    print(
        f"50 in flight: mailward {r['ours 50']:.0f} µs/question, dnspython asyncresolver "
        f"{r['theirs 50']:.0f} µs (ratio {r['theirs 50'] / r['ours 50']:.1f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
