"""Audit speed: mailward against checkdmarc, both asking the same loopback Knot server.

    .venv/bin/python -m pip install checkdmarc      # the peer; not a mailward dependency
    .venv/bin/python bench/bench_audit.py [--domains N] [--sample M] [--concurrency C]
                                          [--latency MS]

Generates 2×N + 2×M small business domains (each its own zone: MX with an address and a
PTR, SPF with an ``include:`` of a shared provider, DMARC ``p=reject``, its own 2048-bit DKIM
key at ``s1``, TLS-RPT), serves them with ``knotd`` (Debian package ``knot``) on 127.0.0.55
at a free port, and measures, in the same run:

- **per domain**: M domains audited one after another, each timed; the median. mailward:
  ``await Auditor.audit(d)``; checkdmarc: ``check_domains([d])``.
- **bulk**: N domains. mailward: ``Auditor.audit_many`` (concurrent, ``--concurrency``), one
  shared resolver; checkdmarc: ``check_domains(all)`` (it checks one domain after another).

Each tool gets its own domains, so neither profits from the other's cache, and both are
pointed at the same server: mailward with ``StubResolver(["127.0.0.55:PORT"])``, checkdmarc
with ``nameservers=[dns.nameserver.Do53Nameserver("127.0.0.55", PORT)]`` (its API takes
dnspython nameserver objects, so a non-53 port works; its CLI cannot set a port). No other
network: no ``_mta-sts`` or BIMI records (both would fetch over HTTPS), no SMTP probing.

On loopback a query costs no time on the wire, so the run measures CPU per query.
``--latency MS`` puts a relay between the tools and Knot (a separate process on 127.0.0.56
that holds every UDP datagram and TCP chunk MS/2 milliseconds each way), as a DNS server MS
milliseconds away would: the case where checking one domain after another waits the most.

Both tools do their default checks, which differ: mailward also probes common DKIM selectors
and checks reverse DNS; checkdmarc also checks DNSSEC, NS and SOA. The number of queries
each sent per domain (Knot's own counters) is printed beside the times. Ratios above 1 mean
mailward is faster.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import contextlib
import functools
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from knot import KnotServer, free_port, knot_binaries  # noqa: E402
from mailward.audit.auditor import Auditor, DomainReport  # noqa: E402
from mailward.audit.context import AuditOptions  # noqa: E402
from mailward.audit.parallel import audit_in_processes, fewer_collections  # noqa: E402
from mailward.dns.stub import StubResolver  # noqa: E402

ADDRESS = "127.0.0.55"
RELAY_ADDRESS = "127.0.0.56"
GOALS = {"per domain": 5.0, "bulk": 20.0}


def dkim_key(_: object = None) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def address(n: int) -> tuple[str, str]:
    """The mail host address of domain ``n`` (RFC 2544's benchmarking range) and its PTR."""
    high, low = divmod(n, 250)
    return f"198.18.{high}.{low + 1}", f"{low + 1}.{high}"


def dkim_keys(count: int) -> list[str]:
    """One key per domain, as in life: the same key everywhere would let the record parser's
    memo (keyed on the record text) skip the key of every domain but the first."""
    with concurrent.futures.ProcessPoolExecutor() as pool:
        return list(pool.map(dkim_key, range(count), chunksize=16))


def domain_zone(name: str, n: int, key: str) -> str:
    ip, _ = address(n)
    chunks = [key[i : i + 200] for i in range(0, len(key), 200)]
    dkim = " ".join(f'"{c}"' for c in ["v=DKIM1; k=rsa; p=" + chunks[0], *chunks[1:]])
    return f"""$ORIGIN {name}.
$TTL 3600
@ IN SOA ns1 hostmaster 2026112801 3600 900 1209600 3600
@ IN NS ns1
ns1 IN A 192.0.2.53
@ IN MX 10 mail
mail IN A {ip}
@ IN TXT "v=spf1 mx include:_spf.provider.test -all"
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{name}"
s1._domainkey IN TXT {dkim}
_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@{name}"
"""


def write_zones(folder: Path, names: list[str]) -> list[Path]:
    keys = dkim_keys(len(names))
    files = []
    ptrs = []
    for n, name in enumerate(names):
        path = folder / f"{name}.zone"
        path.write_text(domain_zone(name, n, keys[n]), encoding="utf-8")
        files.append(path)
        ptrs.append(f"{address(n)[1]} IN PTR mail.{name}.")
    head = (
        "$TTL 3600\n@ IN SOA ns1.provider.test. hostmaster.provider.test. 1 3600 900 86400 3600\n"
    )
    provider = folder / "provider.test.zone"
    provider.write_text(
        "$ORIGIN provider.test.\n" + head + "@ IN NS ns1\nns1 IN A 192.0.2.53\n"
        '_spf IN TXT "v=spf1 ip4:198.19.0.0/24 ip6:2001:db8:19::/48 -all"\n',
        encoding="utf-8",
    )
    reverse = folder / "18.198.in-addr.arpa.zone"
    reverse.write_text(
        "$ORIGIN 18.198.in-addr.arpa.\n"
        + head
        + "@ IN NS ns1.provider.test.\n"
        + "\n".join(ptrs)
        + "\n",
        encoding="utf-8",
    )
    return [*files, provider, reverse]


# --- the latency relay (run as ``bench_audit.py --relay LISTEN UPSTREAM MS``) ----------------


def _query_key(message: bytes) -> bytes:
    """A DNS message's ID and question: what a response echoes of its query."""
    end = 12
    while end < len(message) and message[end]:
        end += 1 + message[end]
    return message[:2] + message[12 : end + 5].lower()


class _Upstream(asyncio.DatagramProtocol):
    """The relay's one socket to Knot: answers go back to whoever asked, after the delay."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.front: asyncio.DatagramTransport | None = None
        self.waiting: dict[bytes, Any] = {}

    def datagram_received(self, data: bytes, addr: Any) -> None:
        client = self.waiting.pop(_query_key(data), None)
        if client is not None and self.front is not None:
            asyncio.get_running_loop().call_later(self.delay, self.front.sendto, data, client)


class _Front(asyncio.DatagramProtocol):
    """The relay's listening socket: queries go on to Knot after the delay."""

    def __init__(self, upstream: _Upstream, to_knot: asyncio.DatagramTransport) -> None:
        self.upstream, self.to_knot = upstream, to_knot

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.upstream.front = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.upstream.waiting[_query_key(data)] = addr
        asyncio.get_running_loop().call_later(self.upstream.delay, self.to_knot.sendto, data)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            await asyncio.sleep(delay)
            writer.write(chunk)
            await writer.drain()
    writer.close()


def _big_udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # capped by rmem_max
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.setblocking(False)
    return sock


async def _relay(listen: tuple[str, int], upstream: tuple[str, int], delay: float) -> None:
    loop = asyncio.get_running_loop()
    back = _Upstream(delay)
    # Every tool's datagrams pass through these two sockets: with the default receive buffer
    # a burst from a bulk run overflows them and the drops read as the tools' timeouts.
    out, front = _big_udp_socket(), _big_udp_socket()
    out.connect(upstream)
    front.bind(listen)
    to_knot, _ = await loop.create_datagram_endpoint(lambda: back, sock=out)
    await loop.create_datagram_endpoint(lambda: _Front(back, to_knot), sock=front)

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*upstream)
        await asyncio.gather(_pipe(reader, up_writer, delay), _pipe(up_reader, writer, delay))

    server = await asyncio.start_server(connection, *listen)
    async with server:
        await server.serve_forever()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


@contextlib.contextmanager
def latency_relay(upstream_port: int, latency_ms: float) -> Iterator[int]:
    """A relay process adding ``latency_ms`` to each round trip to Knot; yields its port."""
    import dns.message
    import dns.query

    port = free_port(RELAY_ADDRESS)
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--relay",
            f"{RELAY_ADDRESS}:{port}",
            f"{ADDRESS}:{upstream_port}",
            str(latency_ms),
        ]
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(Exception):
                query = dns.message.make_query("provider.test", "SOA")
                dns.query.udp(query, RELAY_ADDRESS, port=port, timeout=0.5 + latency_ms / 1000)
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the latency relay did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def queries(server: KnotServer) -> int:
    counters = server.stats()
    return sum(v for k, v in counters.items() if k.startswith("mod-stats.request-protocol"))


def median_time(domains: list[str], run_one: Callable[[str], object]) -> float:
    times = []
    for domain in domains:
        start = time.perf_counter()
        run_one(domain)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class Mailward:
    def __init__(self, address: str, port: int, selectors: tuple[str, ...]) -> None:
        self.nameserver = f"{address}:{port}"
        self.loop = asyncio.new_event_loop()
        self.reports: list[DomainReport] = []
        self.options = AuditOptions(dkim_selectors=selectors)

    def auditor(self) -> Auditor:
        return Auditor(StubResolver([self.nameserver], timeout=2.0), self.options)

    def per_domain(self, domains: list[str]) -> float:
        auditor = self.auditor()

        def one(domain: str) -> None:
            self.reports.append(self.loop.run_until_complete(auditor.audit(domain)))

        with fewer_collections():  # as `mailward check` runs every audit
            return median_time(domains, one)

    def bulk(self, domains: list[str], concurrency: int) -> float:
        async def run() -> None:
            async for report in self.auditor().audit_many(domains, concurrency=concurrency):
                self.reports.append(report)

        start = time.perf_counter()
        with fewer_collections():  # as `mailward check -f` runs it
            self.loop.run_until_complete(run())
        return time.perf_counter() - start

    def bulk_processes(self, domains: list[str], concurrency: int, processes: int) -> float:
        nameservers = [self.nameserver]
        factory = functools.partial(StubResolver, nameservers, timeout=2.0)
        start = time.perf_counter()
        reports = audit_in_processes(
            domains, factory, self.options, processes=processes, concurrency=concurrency
        )
        self.reports.extend(reports)
        return time.perf_counter() - start

    def failures(self) -> list[str]:
        """Findings that show the comparison is unfair (DNS failures, wrong answers)."""
        return [
            f"{r.domain}: {f.code} {f.detail}"
            for r in self.reports
            for f in r.findings
            if f.code in {"dns.temperror", "audit.internal-error"} or f.severity == "error"
        ]


class Checkdmarc:
    def __init__(self, address: str, port: int) -> None:
        import checkdmarc
        import dns.nameserver

        logging.getLogger("checkdmarc").setLevel(logging.CRITICAL)
        warnings.simplefilter("ignore")
        self.check_domains = checkdmarc.check_domains
        self.nameservers = [dns.nameserver.Do53Nameserver(address, port)]
        self.results: list[dict[str, Any]] = []

    def run(self, domains: list[str]) -> None:
        out = self.check_domains(domains, nameservers=self.nameservers, timeout=2.0)
        self.results.extend(out if isinstance(out, list) else [out])

    def per_domain(self, domains: list[str]) -> float:
        return median_time(domains, lambda d: self.run([d]))

    def bulk(self, domains: list[str]) -> float:
        start = time.perf_counter()
        self.run(domains)
        return time.perf_counter() - start

    def failures(self) -> list[str]:
        bad = []
        for result in self.results:
            for part in ("spf", "dmarc", "smtp_tls_reporting"):
                if not result[part].get("valid"):
                    bad.append(f"{result['domain']}: {part} {result[part].get('error')}")
            if not result["mx"].get("hosts"):
                bad.append(f"{result['domain']}: mx {result['mx']}")
        return bad


def measure(
    args: argparse.Namespace, groups: dict[str, list[str]], server: KnotServer
) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        address, port = ADDRESS, server.port
        if args.latency:
            address, port = RELAY_ADDRESS, stack.enter_context(latency_relay(port, args.latency))
        mailward = Mailward(address, port, () if args.guess_dkim else ("s1",))
        peer = Checkdmarc(address, port)
        mailward.per_domain(groups["warm"][:1])
        peer.per_domain(groups["warm"][1:])
        mailward.reports.clear()
        peer.results.clear()
        out: dict[str, Any] = {}
        before = queries(server)
        out["ours_one"] = mailward.per_domain(groups["mw-one"])
        out["ours_queries"] = (queries(server) - before) / args.sample
        before = queries(server)
        out["peer_one"] = peer.per_domain(groups["cd-one"])
        out["peer_queries"] = (queries(server) - before) / args.sample
        out["ours_bulk"] = mailward.bulk(groups["mw-bulk"], args.concurrency)
        out["ours_procs"] = mailward.bulk_processes(
            groups["mw-procs"], args.concurrency, args.processes
        )
        out["peer_bulk"] = peer.bulk(groups["cd-bulk"])
        out["problems"] = mailward.failures() + peer.failures()
        mailward.loop.close()
        return out


def main() -> int:
    if sys.argv[1:2] == ["--relay"]:
        listen, upstream, latency = sys.argv[2:5]
        asyncio.run(_relay(_address(listen), _address(upstream), float(latency) / 2000))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=200, help="domains per bulk run")
    parser.add_argument("--sample", type=int, default=50, help="domains timed one by one")
    parser.add_argument("--concurrency", type=int, default=50, help="mailward's bulk limit")
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for the second bulk run (default: one per CPU)",
    )
    parser.add_argument("--latency", type=float, default=0, metavar="MS", help="added RTT")
    parser.add_argument(
        "--guess-dkim",
        action="store_true",
        help="let mailward guess DKIM selectors (~27 extra queries a domain) instead of being "
        "told the domains' selector s1, as a user who knows it would",
    )
    args = parser.parse_args()
    if knot_binaries() is None:
        print("knotd is not installed (Debian package: knot)", file=sys.stderr)
        return 2
    try:
        version = __import__("checkdmarc").__version__
    except ImportError:
        print("checkdmarc is not installed: .venv/bin/python -m pip install checkdmarc")
        return 2
    sizes = {"warm": 2, "mw-one": args.sample, "cd-one": args.sample}
    sizes |= {"mw-bulk": args.domains, "mw-procs": args.domains, "cd-bulk": args.domains}
    groups = {group: [f"{group}-{i:05d}.test" for i in range(n)] for group, n in sizes.items()}
    names = [name for group in groups.values() for name in group]
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        source = Path(tmp, "source")
        source.mkdir()
        zones = write_zones(source, names)
        with KnotServer(zones, Path(tmp, "knot"), ADDRESS) as server:
            r = measure(args, groups, server)

    ours_rate = args.domains / r["ours_bulk"]
    procs_rate = args.domains / r["ours_procs"]
    peer_rate = args.domains / r["peer_bulk"]
    where = f"through a relay adding {args.latency:g} ms per round trip" if args.latency else ""
    print(f"server: knotd on {ADDRESS} (loopback) {where}, {len(names)} generated zones")
    print(f"peer: checkdmarc {version}")
    print(
        f"per domain (median of {args.sample}, one after another): "
        f"mailward {r['ours_one'] * 1000:.1f} ms ({r['ours_queries']:.0f} queries), "
        f"checkdmarc {r['peer_one'] * 1000:.1f} ms ({r['peer_queries']:.0f} queries)"
    )
    print(
        f"bulk ({args.domains} domains): mailward {ours_rate:,.1f} domains/s "
        f"(audit_many, concurrency {args.concurrency}), "
        f"checkdmarc {peer_rate:,.1f} domains/s (check_domains, one after another)"
    )
    print(
        f"bulk ({args.domains} domains) on {args.processes} processes: mailward "
        f"{procs_rate:,.1f} domains/s (audit_in_processes, concurrency {args.concurrency} each)"
    )
    print(
        f"ratio per domain (checkdmarc time / mailward time): "
        f"{r['peer_one'] / r['ours_one']:.1f} (goal ≥ {GOALS['per domain']:g})"
    )
    print(
        f"ratio bulk (mailward domains/s / checkdmarc domains/s): "
        f"{ours_rate / peer_rate:.1f} in one process, "
        f"{procs_rate / peer_rate:.1f} on {args.processes} (goal ≥ {GOALS['bulk']:g})"
    )
    if r["problems"]:
        print(f"WARNING: {len(r['problems'])} unexpected results, the comparison may be unfair:")
        for line in r["problems"][:10]:
            print(f"  {line}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
