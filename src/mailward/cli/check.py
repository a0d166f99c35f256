"""``mailward check``: audit mail domains and say exactly what to publish to fix them.

SUMMARY
    mailward check example.com                         live DNS (the system's resolvers)
    mailward check --zone examples/example.com.zone example.com      offline
    mailward check -f domains.txt --format jsonl --concurrency 50    bulk, streamed
    mailward check -f domains.txt --processes 4 --nameserver 127.0.0.1     bulk on 4 cores
    mailward check --smtp example.com       also talk SMTP to each MX (port 25, STARTTLS)

One JSON object per domain (schema ``mailward.audit/1``, docs/json.md). Exit status 0 no
errors, 1 errors found (in any domain), 2 could not run. A bad line in ``-f`` is reported as
``audit.bad-input`` for that line and the run goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from rich.progress import Progress

from mailward.audit.auditor import Auditor, DomainReport
from mailward.audit.context import AuditOptions
from mailward.audit.formats import Reporter, ReportFormat
from mailward.audit.https import HttpsError, client_context
from mailward.audit.parallel import audit_in_processes, fewer_collections
from mailward.cli._dnsopts import add_dns_options, resolver_from_args
from mailward.errors import UsageError

MAX_DOMAINS_FILE = 64 * 1024 * 1024


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "check",
        help="audit mail domains: MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, reverse DNS",
        description="Audit mail domains; exit 0 no errors, 1 errors found, 2 could not run.",
    )
    parser.add_argument("domains", nargs="*", metavar="DOMAIN")
    parser.add_argument(
        "-f",
        "--file",
        type=Path,
        metavar="FILE",
        help="read domains from FILE, one a line (- for standard input)",
    )
    parser.add_argument(
        "--dkim-selector",
        action="append",
        default=[],
        metavar="S",
        help="DKIM selector to check (repeatable; default: common ones)",
    )
    parser.add_argument("--format", choices=[f.value for f in ReportFormat], default="text")
    parser.add_argument("-o", "--output", type=Path, help="write the report here, not stdout")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=20,
        metavar="N",
        help="domains audited at once with -f (default 20)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="with -f, audit on N processes (CPU-bound bulk runs against a nearby resolver; "
        "each process keeps its own DNS cache; default 1)",
    )
    parser.add_argument(
        "--smtp",
        action="store_true",
        help="also connect to each MX on port 25: STARTTLS, certificate, TLS version, banner",
    )
    parser.add_argument(
        "--ca-file",
        metavar="FILE",
        help="also trust the CA certificates in FILE (PEM) for MTA-STS and --smtp",
    )
    parser.add_argument(
        "--dnssec-warn-days",
        type=int,
        default=7,
        metavar="DAYS",
        help="warn when a DNSSEC signature expires within DAYS (default 7)",
    )
    # for tests: the SMTP and MTA-STS policy ports (25 and 443 by the RFCs)
    parser.add_argument("--smtp-port", type=int, default=25, help=argparse.SUPPRESS)
    parser.add_argument("--https-port", type=int, default=443, help=argparse.SUPPRESS)
    add_dns_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    domains = list(args.domains)
    if args.file:
        domains.extend(_read_domains(args.file))
    if not domains:
        raise UsageError("no domain given: mailward check example.com (or -f FILE)")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.processes < 1:
        raise UsageError("--processes must be at least 1")
    if args.dnssec_warn_days < 0:
        raise UsageError("--dnssec-warn-days cannot be negative")
    resolver = resolver_from_args(args)
    options = AuditOptions(
        dkim_selectors=tuple(args.dkim_selector),
        smtp=args.smtp,
        ca_file=_ca_file(args.ca_file),
        smtp_port=args.smtp_port,
        https_port=args.https_port,
        dnssec_warn_days=args.dnssec_warn_days,
    )
    reports: Iterator[DomainReport]
    if args.processes > 1 and len(domains) > 1:
        factory = functools.partial(resolver_from_args, args)  # each process its own
        reports = audit_in_processes(
            domains, factory, options, processes=args.processes, concurrency=args.concurrency
        )
    else:
        reports = _in_this_process(Auditor(resolver, options), domains, args.concurrency)
    fmt = ReportFormat(args.format)
    if args.output:
        with args.output.open("w", encoding="utf-8") as stream:
            return _report_all(reports, len(domains), fmt.reporter(stream, color=False))
    return _report_all(reports, len(domains), fmt.reporter(sys.stdout))


def _in_this_process(
    auditor: Auditor, domains: list[str], concurrency: int
) -> Iterator[DomainReport]:
    """:meth:`Auditor.audit_many` as a plain iterator (its own event loop)."""
    loop = asyncio.new_event_loop()
    reports = auditor.audit_many(domains, concurrency=concurrency)
    try:
        while True:
            try:
                yield loop.run_until_complete(anext(reports))
            except StopAsyncIteration:
                return
    finally:
        loop.run_until_complete(reports.aclose())
        loop.run_until_complete(auditor.resolver.aclose())
        loop.close()


def _report_all(reports: Iterator[DomainReport], total: int, reporter: Reporter) -> int:
    status = 0
    show_progress = total > 1 and sys.stderr.isatty()
    with (
        fewer_collections(),
        Progress(transient=True, disable=not show_progress, console=_stderr_console()) as progress,
    ):
        task = progress.add_task("auditing", total=total)
        for report in reports:
            reporter.add(report)
            status = max(status, report.exit_status)
            progress.advance(task)
    reporter.close()
    return status


def _ca_file(path: str | None) -> str | None:
    """``--ca-file``, refused now if it cannot be used rather than in every check."""
    if path is None:
        return None
    try:
        client_context(path)
    except HttpsError as exc:
        raise UsageError(f"--ca-file: {exc.detail}") from exc
    return path


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr)


def _read_domains(path: Path) -> Iterator[str]:
    stream: IO[str]
    if str(path) == "-":
        stream = sys.stdin
    else:
        try:
            if path.stat().st_size > MAX_DOMAINS_FILE:
                raise UsageError(f"{path}: larger than 64 MiB")
            stream = path.open(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    with stream:
        for line in stream:
            text = line.split("#", 1)[0].strip()
            if text:
                yield text
