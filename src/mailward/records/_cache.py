"""A bounded memo for the record parsers, keyed on the record text.

An audit reads one record text several times (its check, the linter, the corrected-record fix),
and a bulk run meets the same texts again and again (every customer of a mail provider
includes its one SPF record). A parser is a pure function of its text and its records are
immutable, so handing back the record parsed before is indistinguishable from parsing again.

SECURITY: the texts are hostile DNS data. The memo holds at most :data:`MAX_ENTRIES` records,
the least recently used dropped first, and a text longer than :data:`MAX_TEXT` characters is
parsed every time instead of being kept.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

MAX_ENTRIES = 512
MAX_TEXT = 2048  # longer than any real SPF, DMARC or TLS-RPT record, or a 4096-bit DKIM key

R = TypeVar("R")


def by_text(parse: Callable[[str], R]) -> Callable[[str], R]:
    """``parse`` memoised on its text (only for a pure parser whose result is immutable)."""
    remembered = functools.lru_cache(maxsize=MAX_ENTRIES)(parse)

    @functools.wraps(parse)
    def cached(text: str) -> R:
        return remembered(text) if len(text) <= MAX_TEXT else parse(text)

    return cached
