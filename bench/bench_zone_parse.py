"""Zone parsing speed: mailward's located, repairing parser against dnspython's zone reader.

    .venv/bin/python bench/bench_zone_parse.py [RECORDS]

Both read the same generated zone (A, AAAA, MX, TXT with SPF/DMARC, CNAME, SRV) in the same
run; the ratio printed is dnspython's time divided by mailward's (above 1: mailward faster).
mailward's parser does more (keeps every problem, repairs pasted debris, then hands each
rdata to dnspython), so the ratio says what that costs. No network.
"""

from __future__ import annotations

import sys
import time

import dns.zone

from mailward.records import zone


def generate(count: int) -> str:
    lines = [
        "$ORIGIN bench.example.",
        "$TTL 3600",
        "@ IN SOA ns1 hostmaster 2026112801 7200 3600 1209600 3600",
        "@ IN NS ns1",
        "ns1 IN A 192.0.2.53",
    ]
    for n in range(count // 6):
        lines += [
            f"host{n} IN A 192.0.2.{n % 250 + 1}",
            f"host{n} IN AAAA 2001:db8::{n % 65535:x}",
            f"sub{n} IN MX 10 host{n}",
            f'sub{n} IN TXT "v=spf1 ip4:192.0.2.{n % 250 + 1} include:_spf.example.net -all"',
            f"www{n} IN CNAME host{n}",
            f"_sip._tcp.sub{n} IN SRV 10 5 5060 host{n}",
        ]
    return "\n".join(lines) + "\n"


def best_of(runs: int, work: object) -> float:
    assert callable(work)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000
    text = generate(count)
    ours = best_of(3, lambda: zone.parse(text))
    peer = best_of(3, lambda: dns.zone.from_text(text, relativize=False, check_origin=False))
    records = len(zone.parse(text).records)
    print(f"records: {records}")
    print(f"mailward records.zone.parse: {ours:.3f} s ({records / ours:,.0f} records/s)")
    print(f"dnspython dns.zone.from_text: {peer:.3f} s ({records / peer:,.0f} records/s)")
    print(f"ratio (dnspython time / mailward time): {peer / ours:.2f}")


if __name__ == "__main__":
    main()
