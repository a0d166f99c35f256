"""Reverse DNS of the mail hosts: a PTR for each MX address that maps back to it.

Receivers distrust mail from addresses without forward-confirmed reverse DNS (FCrDNS): the
PTR name must resolve back to the same address (RFC 8601 §3 ``iprev``; RFC 1912 §2.1).
"""

from __future__ import annotations

import ipaddress

import dns.reversename

from mailward.audit.checks.mx import mail_hosts
from mailward.audit.context import AuditContext
from mailward.audit.registry import check
from mailward.codes import Severity, define
from mailward.findings import Finding

PTR_MISSING = define(
    "ptr.missing",
    Severity.WARNING,
    "Mail server address has no reverse DNS",
    why="Many receivers reject or score down mail from an address without a PTR record.",
    example="25.2.0.192.in-addr.arpa  ; no PTR",
    fix="Ask whoever owns the address (your hosting or internet provider) to set its PTR to "
    "the mail server's name, e.g. mail.example.com.",
    refs=("RFC 1912 §2.1", "RFC 8601 §3"),
)
PTR_MISMATCH = define(
    "ptr.fcrdns-mismatch",
    Severity.WARNING,
    "Reverse DNS does not point back to the mail server's address",
    why="The PTR name must resolve to the same address (forward-confirmed reverse DNS), or "
    "receivers treat the reverse name as unverified.",
    example="25.2.0.192.in-addr.arpa PTR host.provider.example.  ; which has no A 192.0.2.25",
    fix="Set the PTR to a name whose A/AAAA is this address (usually the MX host name).",
    refs=("RFC 8601 §3", "RFC 1912 §2.1"),
)
PTR_OK = define(
    "ptr.ok",
    Severity.PASS,
    "Mail server addresses have forward-confirmed reverse DNS",
    why="Each address's PTR name resolves back to it.",
    example="25.2.0.192.in-addr.arpa PTR mail.example.com.",
    fix="Nothing to do.",
    refs=("RFC 8601 §3",),
)


@check("ptr")
async def reverse_dns(ctx: AuditContext) -> list[Finding]:
    findings: list[Finding] = []
    checked = 0
    for host in await mail_hosts(ctx):
        for address in host.addresses:
            reverse = _reverse_name(address)
            lookup = await ctx.lookup(reverse, "PTR")
            if lookup.failed:
                continue
            checked += 1
            if lookup.missing:
                findings.append(
                    Finding.of(
                        PTR_MISSING,
                        f"{address} ({host.name}) has no PTR",
                        evidence=[lookup.describe()],
                    )
                )
                continue
            names = [r.target.to_text().rstrip(".").lower() for r in lookup.records]
            if not await _confirms(ctx, names, address):
                findings.append(
                    Finding.of(
                        PTR_MISMATCH,
                        f"{address} ({host.name}) reverses to {', '.join(names)}, which does not "
                        f"resolve back to {address}",
                        evidence=[lookup.describe()],
                        fix=f"{reverse}. IN PTR {host.name}.",
                    )
                )
    if checked and not findings:
        findings.append(Finding.of(PTR_OK, f"{checked} address(es) checked"))
    return findings


async def _confirms(ctx: AuditContext, names: list[str], address: str) -> bool:
    rdtype = "AAAA" if ":" in address else "A"
    for name in names:
        forward = await ctx.lookup(name, rdtype)
        if any(_same(r.to_text(), address) for r in forward.records):
            return True
    return False


def _reverse_name(address: str) -> str:
    """The PTR name of an address (RFC 1035 §3.5, RFC 3596 §2.5), without the final dot."""
    if ":" not in address:  # the standard library's is the same text, and cheaper
        return ipaddress.IPv4Address(address).reverse_pointer
    # dnspython's also puts an IPv4-mapped IPv6 address under in-addr.arpa
    return dns.reversename.from_address(address).to_text().rstrip(".")


def _same(a: str, b: str) -> bool:
    return a == b or ipaddress.ip_address(a) == ipaddress.ip_address(b)
