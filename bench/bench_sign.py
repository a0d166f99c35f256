"""Zone signing speed: mailward against ldns-signzone and dnspython's sign_zone, same run.

    .venv/bin/python bench/bench_sign.py [RECORDS] [--runs N] [--algorithm A]

One generated zone (the records of bench_zone_parse.py: A, AAAA, MX, TXT, CNAME, SRV; 10,000 by
default) and one key (a CSK, ECDSAP256SHA256 by default, written by mailward in BIND's format,
which ldns-signzone reads too) are signed by each tool, best of ``--runs`` (3):

- mailward: ``sign_zone(text, keys)`` in this process, text in and text out, the self-check
  included (its default "sample"); and ``mailward dnssec sign`` as a command, interpreter
  start-up and file I/O included;
- ldns-signzone (Debian ldnsutils): the command, file in and file out; NSEC3 with ``-n -t 0``
  (no salt is its default), as RFC 9276 advises;
- dnspython: ``dns.zone.from_text`` + ``dns.dnssec.sign_zone`` + ``to_text``, text in and text
  out; NSEC only (dnspython 2.x cannot make NSEC3 chains).

Ratios are the peer's time divided by mailward's: above 1, mailward is faster. The goals are
"within 2x of ldns-signzone" (ratio >= 0.5) and ">= 4x faster than dnspython". Every
mailward output is checked with ldns-verify-zone when it is installed. No network.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import dns.dnssec
import dns.zone
from bench_zone_parse import generate

from mailward.setup.dnssec_keys import generate_key, load_keys, write_key
from mailward.setup.signer import SignOptions, sign_zone

ORIGIN = "bench.example."
LIFETIME = 14 * 86400


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def dnspython_sign(text: str, pair: tuple[object, object]) -> str:
    """The peer: dnspython reads, signs (NSEC) and writes the zone."""
    zone = dns.zone.from_text(text, relativize=False)
    with zone.writer() as txn:
        dns.dnssec.sign_zone(zone, txn=txn, keys=[pair], lifetime=LIFETIME)  # type: ignore[list-item]
    return zone.to_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", nargs="?", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--algorithm", default="ecdsap256sha256")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-sign-"))
    text = generate(args.records)
    zone_file = work / "bench.zone"
    zone_file.write_text(text)
    key = generate_key(ORIGIN, args.algorithm, now=int(time.time()) - 86400)
    write_key(key, work)
    keys = load_keys(work, ORIGIN)
    ldns = shutil.which("ldns-signzone")
    verifier = shutil.which("ldns-verify-zone")
    records = len(dns.zone.from_text(text, relativize=False).to_text().splitlines())
    print(f"zone: {records} records, key {key.basename} ({args.algorithm}), best of {args.runs}")
    ok = True

    for nsec3 in (False, True):
        mode = "NSEC3" if nsec3 else "NSEC"
        options = SignOptions(nsec3=nsec3)
        signed = sign_zone(text, keys, options=options)
        out = work / f"mailward.{mode}.signed"
        out.write_text(signed.text)
        ours = best_of(args.runs, partial(sign_zone, text, keys, options=options))
        command = [sys.executable, "-m", "mailward", "dnssec", "sign", str(zone_file)]
        command += ["--keys", str(work), "-o", str(work / "cli.signed")]
        command += ["--nsec3"] if nsec3 else []
        cli = best_of(args.runs, partial(run, command))
        signatures = signed.text.count("\tRRSIG\t")
        print(f"\n{mode}: {signatures} signatures")
        print(f"  mailward sign_zone:           {ours:6.3f} s ({signatures / ours:,.0f} sig/s)")
        print(f"  mailward dnssec sign (CLI):   {cli:6.3f} s (interpreter start-up and file I/O)")
        if verifier:
            done = subprocess.run([verifier, str(out)], capture_output=True, text=True)
            verdict = "passes" if done.returncode == 0 else f"FAILS: {done.stdout}{done.stderr}"
            ok = ok and done.returncode == 0
            print(f"  ldns-verify-zone on mailward's output: {verdict.strip()}")
        if ldns:
            argv = [ldns, *(["-n", "-t", "0"] if nsec3 else []), "-f", str(work / "ldns.signed")]
            argv += [str(zone_file), str(work / key.basename)]
            peer = best_of(args.runs, partial(run, argv))
            print(f"  ldns-signzone:                {peer:6.3f} s")
            print(
                f"  ratio (ldns-signzone time / mailward time): {peer / ours:.2f} in process, "
                f"{peer / cli:.2f} as a command (goal >= 0.5: within 2x)"
            )
        else:
            print("  ldns-signzone: not installed (Debian package ldnsutils); no ratio")
        if nsec3:
            print("  dnspython: cannot sign with NSEC3; no ratio")
            continue
        assert key.private is not None
        pair = (key.private, dns.dnssec.make_dnskey(key.private.public_key(), key.algorithm))
        peer = best_of(args.runs, partial(dnspython_sign, text, pair))
        print(f"  dnspython sign_zone:          {peer:6.3f} s")
        print(f"  ratio (dnspython time / mailward time): {peer / ours:.2f} (goal >= 4)")
    shutil.rmtree(work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
