"""``mailward query NAME [TYPE]``: one DNS question through mailward's resolvers.

Shows what the rest of mailward sees: the records (after CNAME chasing, with the chain), or
the typed outcome — no such name, no such record, or "could not get an answer" (a timeout or
SERVFAIL is never shown as a missing record). Exit 0 answer, 1 no such name/record, 2 no answer
could be had.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from mailward.cli._dnsopts import add_dns_options, resolver_from_args
from mailward.dns.resolver import Answer
from mailward.errors import NoAnswer, NXDomain, TempError


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "query", help="ask one DNS question through mailward's resolver"
    )
    parser.add_argument("name", help="the domain name to ask about")
    parser.add_argument("rdtype", nargs="?", default="A", metavar="TYPE", help="default: A")
    parser.add_argument("--dnssec", action="store_true", help="ask for RRSIGs (DO bit)")
    add_dns_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    resolver = resolver_from_args(args)

    async def ask() -> Answer:
        try:
            return await resolver.query(args.name, args.rdtype, dnssec=args.dnssec)
        finally:
            await resolver.aclose()

    try:
        answer = asyncio.run(ask())
    except (NXDomain, NoAnswer) as exc:
        what = "no such name" if isinstance(exc, NXDomain) else "no records of that type"
        print(f"{exc.qname} {exc.rdtype}: {what}")
        return 1
    except TempError as exc:
        print(f"mailward: could not get an answer: {exc}", file=sys.stderr)
        return 2
    for rrset in answer.cnames:
        print(rrset.to_text())
    for record in answer.records:
        print(f"{answer.name} {answer.ttl} IN {answer.rdtype} {record.to_text()}")
    for rrset in answer.rrsigs:
        print(rrset.to_text())
    if answer.security is not None:  # validated (--trust-anchor)
        reason = f": {answer.security_reason}" if answer.security_reason else ""
        print(f"; DNSSEC: {answer.security}{reason}")
    return 0
