"""One bounded read for every command that takes a file: input is never read without a limit."""

from __future__ import annotations

import os
import sys


def read_limited(name: str | os.PathLike[str], limit: int) -> bytes | None:
    """The bytes of file ``name`` (``-``: standard input), or ``None`` when it holds more than
    ``limit`` bytes. ``OSError`` propagates: each caller words it for its own user."""
    if os.fspath(name) == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        with open(name, "rb") as handle:
            data = handle.read(limit + 1)
    return None if len(data) > limit else data
