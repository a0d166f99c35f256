"""SPF check_host() with a warm cache: mailward against pyspf on the same records.

Usage: .venv/bin/python bench/bench_spf.py [--rounds N]

pyspf is not a mailward dependency: ``.venv/bin/python -m pip install pyspf==2.0.14``.
Both tools get every DNS answer from memory, already resolved (the warm cache): mailward
through a Resolver that returns prepared ``Answer`` objects, pyspf through its ``DNSLookup``
hook returning prepared tuples (as pyspf's own test driver does). So the run measures the
evaluators alone: record parsing, macro expansion, the walk through includes and matching.
Prints microseconds per check for each client address and the pyspf/mailward time ratio
(above 1: mailward is faster). Goal: >= 3.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import statistics
import time
from collections.abc import Iterable
from typing import Any

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from mailward.auth.spf import Result, check_host, evaluate
from mailward.dns.resolver import Answer
from mailward.errors import DNSError, NoAnswer, NXDomain


def _ip4s(base: str, count: int, prefix: int) -> list[str]:
    network = ipaddress.ip_network(base)
    step = 2 ** (32 - prefix)
    first = int(network.network_address)
    return [f"ip4:{ipaddress.IPv4Address(first + i * step)}/{prefix}" for i in range(count)]


ZONE: dict[tuple[str, str], list[Any]] = {
    ("biz.example", "TXT"): [
        "v=spf1 mx a:out.biz.example include:_spf.prov.example include:spf.esp.example "
        "ip4:203.0.113.0/26 -all"
    ],
    ("biz.example", "MX"): [(10, "mx1.biz.example"), (20, "mx2.biz.example")],
    ("mx1.biz.example", "A"): ["198.51.100.10"],
    ("mx2.biz.example", "A"): ["198.51.100.20"],
    ("out.biz.example", "A"): ["198.51.100.30"],
    ("mx1.biz.example", "AAAA"): ["2001:db8:ff::10"],
    ("mx2.biz.example", "AAAA"): ["2001:db8:ff::20"],
    ("out.biz.example", "AAAA"): ["2001:db8:ff::30"],
    ("_spf.prov.example", "TXT"): [
        "v=spf1 include:_nb1.prov.example include:_nb2.prov.example include:_nb3.prov.example ~all"
    ],
    ("_nb1.prov.example", "TXT"): [" ".join(["v=spf1", *_ip4s("10.0.0.0/8", 12, 16), "~all"])],
    ("_nb2.prov.example", "TXT"): [
        "v=spf1 ip6:2001:db8:10::/48 ip6:2001:db8:20::/48 ip6:2001:db8:30::/48 "
        "ip6:2001:db8:40::/48 ip6:2001:db8:50::/48 ~all"
    ],
    ("_nb3.prov.example", "TXT"): [" ".join(["v=spf1", *_ip4s("172.16.0.0/12", 12, 20), "~all"])],
    ("spf.esp.example", "TXT"): ["v=spf1 ip4:192.0.2.0/25 ip4:192.0.2.128/26 ?all"],
}
CASES = [  # (client address, what it exercises)
    ("198.51.100.20", "mx (second MX host)"),
    ("172.16.176.9", "include > include, 12th ip4 range"),
    ("2001:db8:50::1", "include > include, ip6"),
    ("192.0.2.250", "no match anywhere: walks every record, fail"),
]
SENDER, DOMAIN, HELO = "alice@biz.example", "biz.example", "mail.biz.example"


def _rdata(rdtype: str, value: Any) -> dns.rdata.Rdata:
    kind = dns.rdatatype.from_text(rdtype)
    if rdtype == "TXT":
        text = value.encode()
        chunks = [text[i : i + 255] for i in range(0, len(text), 255)]
        return dns.rdata.from_text(
            dns.rdataclass.IN, kind, " ".join(f'"{c.decode()}"' for c in chunks)
        )
    if rdtype == "MX":
        return dns.rdata.from_text(dns.rdataclass.IN, kind, f"{value[0]} {value[1]}.")
    return dns.rdata.from_text(dns.rdataclass.IN, kind, str(value))


class WarmResolver:
    """Every answer prepared in advance: a cache that never misses."""

    def __init__(self) -> None:
        self.answers = {
            key: Answer(
                key[0] + ".", key[1], key[0] + ".", tuple(_rdata(key[1], v) for v in values), 300
            )
            for key, values in ZONE.items()
        }
        self.names = {name for name, _ in ZONE}

    async def aclose(self) -> None:
        """Nothing to release."""

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        return self.lookup(name, rdtype)

    def lookup(self, name: str, rdtype: str) -> Answer:
        key = (name.rstrip(".").lower(), rdtype)
        answer = self.answers.get(key)
        if answer is None:
            raise (NoAnswer if key[0] in self.names else NXDomain)(name, rdtype)
        return answer


def pyspf_lookup() -> Any:
    """pyspf's DNSLookup hook over the same records (formats of its dnspython backend)."""
    table: dict[tuple[str, str], list[Any]] = {}
    for (name, rdtype), values in ZONE.items():
        rows = table.setdefault((name, rdtype), [])
        for value in values:
            if rdtype == "TXT":
                text = value.encode()
                value = tuple(text[i : i + 255] for i in range(0, len(text), 255))
            rows.append(((name, rdtype), value))

    def lookup(name: str, qtype: str, *args: Any, **kwargs: Any) -> list[Any]:
        return table.get((name.rstrip(".").lower(), qtype), [])

    return lookup


def _best(samples: Iterable[float]) -> float:
    return statistics.median(samples)


async def _mailward(ip: str, rounds: int, resolver: WarmResolver) -> tuple[float, str]:
    result = await check_host(ip, DOMAIN, SENDER, HELO, resolver)
    start = time.perf_counter()
    for _ in range(rounds):
        await check_host(ip, DOMAIN, SENDER, HELO, resolver)
    return (time.perf_counter() - start) / rounds, result.result.value


def _machine(ip: str, rounds: int, resolver: WarmResolver) -> float:
    """The sans-I/O machine driven without asyncio: what the evaluation itself costs."""
    start = time.perf_counter()
    for _ in range(rounds):
        machine = evaluate(ip, DOMAIN, SENDER, HELO)
        try:
            query = next(machine)
            while True:
                outcome: Answer | DNSError
                try:
                    outcome = resolver.lookup(query.name, query.rdtype)
                except DNSError as error:
                    outcome = error
                query = machine.send(outcome)
        except StopIteration as stop:
            assert isinstance(stop.value.result, Result)
    return (time.perf_counter() - start) / rounds


def _pyspf(ip: str, rounds: int) -> tuple[float, str]:
    import spf  # type: ignore[import-untyped]

    spf.DNSLookup = pyspf_lookup()
    result = spf.check2(i=ip, s=SENDER, h=HELO)[0]
    start = time.perf_counter()
    for _ in range(rounds):
        spf.check2(i=ip, s=SENDER, h=HELO)
    return (time.perf_counter() - start) / rounds, str(result)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000, help="checks per address")
    args = parser.parse_args()
    try:
        import spf  # noqa: F401
    except ImportError:
        print("pyspf is not installed: .venv/bin/python -m pip install pyspf==2.0.14")
        return 2
    resolver = WarmResolver()
    ratios, disagree = [], False
    print(
        f"{'client address':<16} {'case':<46} {'mailward':>10} {'machine':>9} {'pyspf':>10} ratio"
    )
    for ip, what in CASES:
        ours, result = asyncio.run(_mailward(ip, args.rounds, resolver))
        bare = _machine(ip, args.rounds, resolver)
        theirs, peer = _pyspf(ip, args.rounds)
        ratio = theirs / ours
        ratios.append(ratio)
        mark = "" if result == peer else f"  RESULTS DIFFER: mailward {result}, pyspf {peer}"
        disagree |= bool(mark)
        print(
            f"{ip:<16} {what:<46} {ours * 1e6:8.1f}us {bare * 1e6:7.1f}us {theirs * 1e6:8.1f}us "
            f"{ratio:5.1f} ({result}){mark}"
        )
    print(
        f"ratio (pyspf time / mailward time), median of the cases: {_best(ratios):.1f} (goal >= 3)"
    )
    return 1 if disagree else 0


if __name__ == "__main__":
    raise SystemExit(main())
