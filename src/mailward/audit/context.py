"""What one domain's checks share: the questions already asked, and each other's results.

A check asks DNS through :meth:`AuditContext.lookup`, which never raises: it returns a
:class:`~mailward.dns.lookup.Lookup` (asked by :func:`~mailward.dns.lookup.ask`) whose status
is ``ok``, ``nxdomain``, ``nodata``, ``temperror`` or ``offline``. A ``temperror`` is
remembered and reported once as ``dns.temperror`` naming the query — a check must treat it as
"could not check", never as "missing" (``Lookup.missing`` is false for it). Work that several
checks need (the MX hosts and their addresses, the DMARC record) is computed once through
:meth:`AuditContext.memo`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from mailward._sharing import shared
from mailward.audit.domain import Domain
from mailward.codes import Severity, define
from mailward.dns.lookup import Lookup, ask
from mailward.dns.resolver import Resolver
from mailward.findings import Finding

if TYPE_CHECKING:  # the validator is imported only by the audits that use it
    from mailward.dns._dnssec_anchors import TrustAnchors

T = TypeVar("T")

DNS_TEMPERROR = define(
    "dns.temperror",
    Severity.ERROR,
    "A DNS query failed, so part of the domain could not be checked",
    why="A timeout or SERVFAIL means receivers may fail the same way: their checks then "
    "give temperror and mail is deferred or treated as unauthenticated.",
    example="_dmarc.example.com TXT: SERVFAIL from 192.0.2.53",
    fix="Make every authoritative nameserver answer the named query (check that the zone "
    "loads, its DNSSEC signatures are valid and all nameservers are reachable), then re-run.",
    refs=("RFC 7208 §2.6.6", "RFC 9989 §4.10"),
)
DNS_NOT_LOADED = define(
    "dns.not-in-zones",
    Severity.INFO,
    "A name is outside the zone files given, so it was not checked offline",
    why="Offline, mailward knows only the zone files it was given; names elsewhere (an "
    "`include:` of your mail provider) need live DNS or another --zone file.",
    example="spf.protection.outlook.com TXT: no zone file covers it",
    fix="Run the check against live DNS, or add a --zone file for that domain.",
    refs=("RFC 1034 §4.3.2",),
)


@dataclass(frozen=True)
class AuditOptions:
    """What the user asked for beyond the domain (see ``mailward check --help``)."""

    dkim_selectors: tuple[str, ...] = ()
    smtp: bool = False
    ca_file: str | None = None
    https_timeout: float = 10.0
    smtp_timeout: float = 15.0
    smtp_port: int = 25  # the SMTP port of every MX; tests point it at their own server
    https_port: int = 443  # the MTA-STS policy server's port; likewise for tests
    dnssec_warn_days: int = 7  # dnssec.rrsig-expiring: signatures expiring within this
    trust_anchors: TrustAnchors | None = None  # DNSSEC: None = the resolver's, else the root


@dataclass
class AuditContext:
    """One domain's audit in progress."""

    domain: Domain
    resolver: Resolver
    options: AuditOptions = field(default_factory=AuditOptions)
    _lookups: dict[tuple[str, str], asyncio.Future[Lookup]] = field(default_factory=dict)
    _memo: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    failures: list[Lookup] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.domain.name

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        """Ask once per audit; concurrent askers share the answer."""
        key = (name.lower().rstrip("."), rdtype.upper())
        return await shared(self._lookups, key, lambda: self._ask(key[0], key[1]), keep=True)

    async def _ask(self, name: str, rdtype: str) -> Lookup:
        found = await ask(self.resolver, name, rdtype)
        if found.failed:
            self.failures.append(found)
        return found

    async def memo(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        """``compute()`` once per audit for ``key``; every caller awaits the same result."""
        result: T = await shared(self._memo, key, compute, keep=True)
        return result

    def failure_findings(self) -> list[Finding]:
        """One ``dns.temperror`` (or ``dns.not-in-zones``) per query that got no answer, in
        the order of the names (not of the failures, which depends on timing)."""
        seen: set[tuple[str, str]] = set()
        found = []
        for failed in sorted(self.failures, key=lambda f: (f.name, f.rdtype)):
            if (failed.name, failed.rdtype) in seen:
                continue
            seen.add((failed.name, failed.rdtype))
            code = DNS_NOT_LOADED if failed.status == "offline" else DNS_TEMPERROR
            found.append(
                Finding.of(
                    code,
                    f"{failed.name} {failed.rdtype}: {failed.detail}",
                    evidence=[failed.describe()],
                )
            )
        return found
