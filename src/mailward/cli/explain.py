"""``mailward explain CODE``: the documentation of one finding code."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mailward.codes import catalogue
from mailward.docs import render_code
from mailward.errors import UsageError
from mailward.records._suggest import hint


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "explain", help="print what a finding code means and how to fix it"
    )
    parser.add_argument("code", help="a finding code, e.g. dmarc.unknown-tag")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    codes = catalogue()
    code = codes.get(args.code.lower())
    if code is None:
        raise UsageError(f"no finding code {args.code!r}{hint(args.code, codes)}")
    sys.stdout.write(render_code(code))
    return 0
