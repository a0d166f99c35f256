"""``mailward lint``: check zone files or single records before publishing them.

SUMMARY
    mailward lint examples/                 every *.zone file below a folder
    mailward lint shop.zone --origin shop.example.
    mailward lint --record 'v=DMARC1; p=reject; export=mailto:d@example.com'
    some-command | mailward lint -          a zone (or one record) on standard input

No DNS traffic: lint reads text only. ``--format json`` writes the ``mailward.lint/1``
document (see docs/json.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mailward._files import read_limited
from mailward.audit import lint as linter
from mailward.cli._output import write_json, write_text
from mailward.errors import UsageError
from mailward.findings import Finding
from mailward.records import zone

SCHEMA = "mailward.lint/1"
ZONE_SUFFIXES = (".zone", ".db")
MAX_INPUT = 64 * 1024 * 1024  # a zone file larger than this is not a small business's


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "lint",
        help="check zone files or single records before publishing them",
        description="Check zone files or single records; exit 0 clean, 1 errors, 2 could not run.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="zone files, folders of *.zone files, or - for standard input",
    )
    parser.add_argument(
        "--record",
        action="append",
        default=[],
        metavar="TEXT",
        help="one record: a value (v=spf1 …) or a zone line (repeatable)",
    )
    parser.add_argument(
        "--type",
        choices=linter.RECORD_KINDS,
        dest="kind",
        help="what --record is (default: guessed from the text)",
    )
    parser.add_argument("--origin", help="origin for zone files without $ORIGIN or SOA")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("-o", "--output", type=Path, help="write the report here, not stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.paths and not args.record:
        raise UsageError("nothing to lint: give zone files, a folder, - or --record TEXT")
    findings: list[Finding] = []
    for record in args.record:
        findings.extend(linter.lint_record(record, args.kind, origin=args.origin))
    for path in _expand(args.paths):
        findings.extend(_lint_path(path, args.origin))
    if args.output:
        with args.output.open("w", encoding="utf-8") as stream:
            _write(findings, stream, args.format, color=False)
    else:
        _write(findings, sys.stdout, args.format, color=None)
    return linter.exit_status(findings)


def _write(findings: list[Finding], stream: Any, fmt: str, *, color: bool | None) -> None:
    if fmt == "json":
        write_json(findings, stream, schema=SCHEMA)
    else:
        write_text(findings, stream, color=color)


def _expand(paths: list[str]) -> list[str]:
    out: list[str] = []
    for path in paths:
        folder = Path(path)
        if path != "-" and folder.is_dir():
            found = sorted(str(p) for p in folder.rglob("*") if p.suffix in ZONE_SUFFIXES)
            if not found:
                raise UsageError(f"{path}: no *.zone or *.db files in this folder")
            out.extend(found)
        else:
            out.append(path)
    return out


def _lint_path(path: str, origin: str | None) -> list[Finding]:
    name = "<stdin>" if path == "-" else path
    try:
        data = read_limited(path, MAX_INPUT)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    if data is None:
        raise UsageError(f"{name}: larger than {MAX_INPUT // 2**20} MiB; not linted")
    text, problem = _decode(data, name)
    findings = [problem] if problem else []
    lines = [line for line in text.splitlines() if line.strip()]
    if path == "-" and len(lines) == 1 and linter.guess_kind(lines[0]) != "zone":
        return findings + linter.lint_record(lines[0], origin=origin)
    return findings + linter.lint_zone(text, file=name, origin=origin)


def _decode(data: bytes, name: str) -> tuple[str, Finding | None]:
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem = Finding.from_diagnostic(
            zone.SYNTAX.at(f"byte 0x{data[exc.start]:02x} is not UTF-8; save the file as UTF-8"),
            file=name,
            line=line,
        )
        return data.decode("utf-8", "replace"), problem
