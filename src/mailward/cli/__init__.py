"""NAME
    mailward - make a mail domain trustworthy and keep it so

SUMMARY
    mailward check DOMAIN… [-f FILE] [--format text|json|jsonl|html|sarif] [DNS OPTIONS]
    mailward lint [PATH|-]… [--record TEXT [--type KIND]] [--origin NAME] [--format F]
    mailward query NAME [TYPE] [DNS OPTIONS]
    mailward explain CODE
    mailward dnssec keygen|sign|ds|status …
    mailward srs serve|forward|reverse|postfix-config …
    mailward dkim keygen|sign|verify …
    mailward verify [MESSAGE|-] [--ip IP] [--helo NAME] [--mail-from ADDR] [--format text|json]

DESCRIPTION
    `check` audits mail domains (live DNS, or offline with --zone) and gives the exact record
    to publish for each problem.
    `lint` checks zone files and single records before they are published: syntax, the
    meaning of SPF, DMARC, DKIM, MTA-STS, TLS-RPT, BIMI, DS and DNSKEY values, and the
    mistakes people really make (relative names, CNAME beside other data, MX at an address).
    `query` asks one DNS question through mailward's resolvers (live or zone files).
    `explain` prints the documentation of a finding code.
    `dnssec` makes keys, signs a zone, prints the DS for the registrar, and watches expiry.
    `srs` rewrites envelope senders for forwarding (SRS, postsrsd-compatible), as a Postfix
    socketmap service or one address at a time.
    `dkim` makes a DKIM key and its DNS record, signs a message, and verifies its signatures.
    `verify` judges one message (SPF, DKIM, DMARC) and explains in plain words why it passed
    or failed (forwarding without SRS, mailing lists, unaligned signatures).

EXIT STATUS
    0 no errors found; 1 errors found (or, for `query`, no such record); 2 could not run
    (usage, unreadable input, DNS unreachable).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mailward import __version__
from mailward.cli import check, dkim, dnssec, explain, lint, query, srs, verify
from mailward.errors import MailwardError

EXIT_COULD_NOT_RUN = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailward",
        description="Audit, set up and watch a mail domain's DNS and authentication.",
        epilog="Exit status: 0 no errors, 1 errors found, 2 could not run.",
    )
    parser.add_argument("--version", action="version", version=f"mailward {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (check, lint, query, explain, srs, dnssec, dkim, verify):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except MailwardError as exc:
        print(f"mailward: {exc}", file=sys.stderr)
        return EXIT_COULD_NOT_RUN
    except KeyboardInterrupt:
        return 130
    return status
