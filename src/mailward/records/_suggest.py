""" "Did you mean …?" for misspelt tags, mechanisms and types."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


def did_you_mean(
    word: str,
    candidates: Iterable[str],
    *,
    known_mistakes: Mapping[str, str] | None = None,
) -> str | None:
    """The candidate that ``word`` most likely meant, or ``None``.

    ``known_mistakes`` maps words people really write (``export`` for DMARC's ``rua``) to what
    they meant; they win over spelling distance.
    """
    lowered = word.lower()
    if known_mistakes and lowered in known_mistakes:
        return known_mistakes[lowered]
    options = list(candidates)
    for option in options:
        if option.lower() == lowered:
            return option
    close = difflib.get_close_matches(lowered, options, n=1, cutoff=0.6)
    return close[0] if close else None


def hint(word: str, candidates: Iterable[str], **kwargs: Mapping[str, str]) -> str:
    """``" (did you mean 'rua'?)"`` or an empty string, for appending to a message."""
    suggestion = did_you_mean(word, candidates, **kwargs)
    return f" (did you mean {suggestion!r}?)" if suggestion else ""
