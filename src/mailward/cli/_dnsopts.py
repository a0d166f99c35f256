"""The DNS options every command that asks DNS shares, and the resolver they describe.

``--nameserver IP[:PORT]`` (repeatable), ``--zone FILE`` (repeatable; offline, no network),
``--timeout SECONDS``, ``--retries N``, ``--trust-anchor FILE``. With ``--zone`` the zone files
answer; otherwise the stub resolver asks the given nameservers, or the system's. With
``--trust-anchor`` every answer is DNSSEC-validated from the DS/DNSKEY records in FILE (a
private hierarchy, a test root) and a bogus one is an error, never a missing record.
"""

from __future__ import annotations

import argparse

from mailward.dns.resolver import Resolver
from mailward.errors import UsageError


def add_dns_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("DNS options")
    group.add_argument(
        "--nameserver",
        action="append",
        default=[],
        metavar="IP[:PORT]",
        help="ask this nameserver (repeatable; IPv6 as [::1]:53)",
    )
    group.add_argument(
        "--zone",
        action="append",
        default=[],
        metavar="FILE",
        help="answer from this zone file instead of the network (repeatable)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="time to wait for each try (default 2)",
    )
    group.add_argument(
        "--trust-anchor",
        metavar="FILE",
        help="validate DNSSEC from the DS/DNSKEY records in FILE (zone-file syntax)",
    )
    group.add_argument(
        "--retries",
        type=int,
        default=2,
        metavar="N",
        help="tries after the first, per nameserver (default 2)",
    )


def resolver_from_args(args: argparse.Namespace) -> Resolver:
    # imported here: only commands that ask DNS pay for dnspython's query machinery
    from mailward.dns.stub import StubResolver
    from mailward.dns.validating import TrustAnchors, ValidatingResolver
    from mailward.dns.zonefiles import ZoneResolver

    if args.zone and args.nameserver:
        raise UsageError("--zone answers offline; it cannot be combined with --nameserver")
    anchors = None
    if getattr(args, "trust_anchor", None):
        anchors = TrustAnchors.from_file(args.trust_anchor)
    resolver: Resolver
    if args.zone:
        resolver = ZoneResolver(args.zone)
    else:
        resolver = StubResolver(args.nameserver or None, timeout=args.timeout, retries=args.retries)
    if anchors is not None:
        return ValidatingResolver(resolver, trust_anchors=anchors)
    return resolver
