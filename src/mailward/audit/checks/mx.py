"""MX: where the domain's mail goes (RFC 5321 §5.1, RFC 7505 Null MX, RFC 2181 §10.3).

Also the shared list of mail hosts and their addresses (:func:`mail_hosts`), which the
reverse-DNS, MTA-STS and SMTP checks use.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailward.audit.context import AuditContext
from mailward.audit.domain import is_ip_address
from mailward.audit.registry import check
from mailward.codes import Severity, define
from mailward.dns.lookup import Lookup
from mailward.findings import Finding

MX_MISSING = define(
    "mx.missing",
    Severity.WARNING,
    "Domain has no MX record",
    why="Without MX, senders deliver to the domain's own A/AAAA address (an implicit MX) or "
    "give up; a domain that takes no mail should say so with a Null MX.",
    example="example.com. IN A 192.0.2.10   ; and no MX",
    fix="Publish `example.com. IN MX 10 mail.example.com.` for your mail server, or "
    "`example.com. IN MX 0 .` if the domain receives no mail.",
    refs=("RFC 5321 §5.1", "RFC 7505 §3"),
)
MX_NULL = define(
    "mx.null",
    Severity.INFO,
    "Domain says it receives no mail (Null MX)",
    why="A Null MX (`MX 0 .`) tells senders to bounce at once instead of retrying.",
    example="example.com. IN MX 0 .",
    fix="Nothing to do if the domain really receives no mail.",
    refs=("RFC 7505 §3",),
)
MX_NULL_WITH_OTHERS = define(
    "mx.null-with-others",
    Severity.ERROR,
    "Null MX is published together with other MX records",
    why="A Null MX must be the only MX record; with others beside it, senders' behaviour is "
    "undefined.",
    example="example.com. IN MX 0 .\nexample.com. IN MX 10 mail.example.com.",
    fix="Remove the `MX 0 .` record if the domain receives mail, or every other MX if not.",
    refs=("RFC 7505 §3",),
)
MX_NO_ADDRESS = define(
    "mx.no-address",
    Severity.ERROR,
    "MX host has no address",
    why="Senders cannot connect to a mail host without an A or AAAA record; mail to it bounces "
    "or is delayed.",
    example="example.com. IN MX 10 mail.example.com.   ; mail.example.com has no A/AAAA",
    fix="Publish `mail.example.com. IN A <your server's address>`, or point the MX at a host "
    "that has one.",
    refs=("RFC 5321 §5.1",),
)
MX_TARGET_IS_CNAME = define(
    "mx.target-is-cname",
    Severity.ERROR,
    "MX host is an alias (CNAME)",
    why="An MX must name a host with its own address records, not an alias; some senders "
    "refuse to deliver.",
    example="example.com. IN MX 10 mail.example.com.\nmail.example.com. IN CNAME host.example.net.",
    fix="Point the MX at the alias's target (the canonical name).",
    refs=("RFC 2181 §10.3", "RFC 5321 §5.1"),
)
MX_TARGET_IS_IP = define(
    "mx.target-is-ip",
    Severity.ERROR,
    "MX host is an IP address",
    why="An MX holds a host name; an address written there is read as a name that does not exist.",
    example="example.com. IN MX 10 192.0.2.25.",
    fix="Publish an A record for a host name and point the MX at that name.",
    refs=("RFC 7505 §3", "RFC 1035 §3.3.9"),
)
MX_OK = define(
    "mx.ok",
    Severity.PASS,
    "Mail servers are published and reachable by name",
    why="Every MX host has an address, so senders know where to deliver.",
    example="example.com. IN MX 10 mail.example.com.",
    fix="Nothing to do.",
    refs=("RFC 5321 §5.1",),
)


@dataclass(frozen=True)
class MailHost:
    """One MX target with the addresses it resolves to (empty when it has none)."""

    preference: int
    name: str
    addresses: tuple[str, ...]
    cname: bool = False


async def mx_lookup(ctx: AuditContext) -> Lookup:
    return await ctx.lookup(ctx.name, "MX")


async def mail_hosts(ctx: AuditContext) -> list[MailHost]:
    """The MX hosts (Null MX excluded) with their A/AAAA addresses, once per audit."""

    async def compute() -> list[MailHost]:
        lookup = await mx_lookup(ctx)
        hosts = []
        written = sorted((r.preference, r.exchange.to_text()) for r in lookup.records)
        for preference, exchange in written:
            name = exchange.rstrip(".").lower()
            if not name:
                continue
            if is_ip_address(name):  # mx.target-is-ip: nothing to look up
                hosts.append(MailHost(preference, name, ()))
                continue
            v4, v6 = await ctx.lookup(name, "A"), await ctx.lookup(name, "AAAA")
            addresses = tuple(r.to_text() for lk in (v4, v6) for r in lk.records)
            cname = any(lk.answer is not None and lk.answer.cnames for lk in (v4, v6))
            hosts.append(MailHost(preference, name, addresses, cname))
        return hosts

    return await ctx.memo("mx.hosts", compute)


@check("mx")
async def mx_records(ctx: AuditContext) -> list[Finding]:
    lookup = await mx_lookup(ctx)
    if lookup.failed:
        return []
    if lookup.missing:
        return [await _missing(ctx, lookup)]
    evidence = [lookup.describe()]
    null = [r for r in lookup.records if r.exchange.to_text() == "."]
    if null and len(lookup.records) > 1:
        return [
            Finding.of(
                MX_NULL_WITH_OTHERS,
                f"a Null MX (MX 0 .) stands beside {len(lookup.records) - 1} other MX record(s)",
                evidence=evidence,
            )
        ]
    if null:
        return [
            Finding.of(
                MX_NULL, f"{ctx.name} publishes MX 0 .: it receives no mail", evidence=evidence
            )
        ]
    findings: list[Finding] = []
    for host in await mail_hosts(ctx):
        findings.extend(await _host_findings(ctx, host))
    if not findings:
        names = ", ".join(h.name for h in await mail_hosts(ctx))
        findings.append(Finding.of(MX_OK, f"mail goes to {names}", evidence=evidence))
    return findings


async def _host_findings(ctx: AuditContext, host: MailHost) -> list[Finding]:
    if is_ip_address(host.name):
        detail = f"the MX target {host.name} is an IP address, not a host name"
        fix = (
            f"mail.{ctx.name}. 3600 IN A {host.name}\n"
            f"{ctx.name}. 3600 IN MX {host.preference} mail.{ctx.name}."
        )
        return [
            Finding.of(
                MX_TARGET_IS_IP, detail, evidence=[(await mx_lookup(ctx)).describe()], fix=fix
            )
        ]
    v4, v6 = await ctx.lookup(host.name, "A"), await ctx.lookup(host.name, "AAAA")
    evidence = [v4.describe(), v6.describe()]
    if host.cname:
        answer = v4.answer or v6.answer
        canonical = answer.name.rstrip(".") if answer else "<the alias's target>"
        detail = f"the MX target {host.name} is an alias for {canonical}"
        fix = f"{ctx.name}. 3600 IN MX {host.preference} {canonical}."
        return [Finding.of(MX_TARGET_IS_CNAME, detail, evidence=evidence, fix=fix)]
    if host.addresses or v4.failed or v6.failed:
        return []
    doubled = _doubled_origin(host.name, ctx.name)
    if doubled is not None:
        detail = (
            f"{host.name} has no address: the zone wrote {doubled} without a final dot, so "
            f"the origin {ctx.name} was appended"
        )
        fix = f"{ctx.name}. 3600 IN MX {host.preference} {doubled}."
    else:
        detail = f"{host.name} has no A or AAAA record"
        fix = f"{host.name}. 3600 IN A <address of your mail server>"
    return [Finding.of(MX_NO_ADDRESS, detail, evidence=evidence, fix=fix)]


async def _missing(ctx: AuditContext, lookup: Lookup) -> Finding:
    v4, v6 = await ctx.lookup(ctx.name, "A"), await ctx.lookup(ctx.name, "AAAA")
    evidence = [lookup.describe(), v4.describe(), v6.describe()]
    if v4.ok or v6.ok:
        detail = (
            f"no MX; senders will deliver to {ctx.name}'s own address (implicit MX). "
            "If it receives mail, publish an MX for the mail server; if not, a Null MX"
        )
    else:
        detail = f"no MX and no address: {ctx.name} cannot receive mail; say so with a Null MX"
    fix = f"{ctx.name}. 3600 IN MX 0 .   ; only if {ctx.name} receives no mail"
    return Finding.of(MX_MISSING, detail, evidence=evidence, fix=fix)


def _doubled_origin(host: str, domain: str) -> str | None:
    """``mail.example.com`` when ``host`` is ``mail.example.com.example.com`` (a relative name
    that repeated the origin in a zone file), else ``None``."""
    suffix = f".{domain}.{domain}"
    return host[: -len(domain) - 1] if host.endswith(suffix) else None
