"""Helpers for the DNSSEC setup tests: run a verifier, validate a signed zone independently."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import dns.dnssec
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

ZONES = Path(__file__).parent / "zones"
SHOP = ZONES / "shop.example.zone"


def run_tool(argv: list[str]) -> str:
    """Run a verifier; fail the test with its output when it says no."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{output}"
    return output


def validate_all(text: str, now: int | None = None, origin: str | None = None) -> int:
    """Check a signed zone independently of the signer: dnspython reads it back and validates
    every RRSIG against the apex DNSKEY RRset, and the NSEC chain (if any) is walked."""
    moment = int(time.time()) if now is None else now
    zone = dns.zone.from_text(text, origin, relativize=False, check_origin=False)
    apex = zone.origin
    assert apex is not None
    keys = zone.find_rrset(apex, "DNSKEY")
    checked = 0
    nsec_owners = []
    for name, node in zone.nodes.items():
        for rdataset in node.rdatasets:
            if rdataset.rdtype == dns.rdatatype.RRSIG:
                continue
            if rdataset.rdtype == dns.rdatatype.NSEC:
                nsec_owners.append(name)
            sigs = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.RRSIG, rdataset.rdtype)
            if sigs is None:
                continue
            rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype)
            rrset.update(rdataset)
            for sig in sigs:
                dns.dnssec.validate_rrsig(rrset, sig, {apex: keys}, apex, moment)
                checked += 1
    if nsec_owners:
        ordered = sorted(nsec_owners)
        for index, name in enumerate(ordered):
            nsec = zone.find_rdataset(name, "NSEC")[0]
            assert nsec.next == ordered[(index + 1) % len(ordered)], f"NSEC chain broken at {name}"
    return checked


def signed_rrsigs(text: str) -> dict[tuple[str, str, str], str]:
    """(owner, covered type, key tag) -> the RRSIG line, for comparing runs."""
    out = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 10 and fields[3] == "RRSIG":
            out[(fields[0], fields[4], fields[10])] = line
    return out
