"""The parsers' memo (records/_cache.py): a remembered record is the record a fresh parse gives."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailward.records import _cache, dkim, dmarc, mtasts, spf, tlsrpt

PARSERS: dict[str, Callable[[str], object]] = {
    "spf": spf.parse,
    "dmarc": dmarc.parse,
    "tlsrpt": tlsrpt.parse,
    "dkim": dkim.parse_key,
    "mta-sts": mtasts.parse_record,
}
SAMPLES = {
    "spf": "v=spf1 mx include:_spf.example.net ~all",
    "dmarc": "v=DMARC1; p=reject; rua=mailto:d@example.com",
    "tlsrpt": "v=TLSRPTv1; rua=mailto:tls@example.com",
    "dkim": "v=DKIM1; k=rsa; p=MIIB",
    "mta-sts": "v=STSv1; id=20240101",
}
RECORD_TEXT = st.one_of(
    st.text(max_size=200),
    st.sampled_from(list(SAMPLES.values())).flatmap(
        lambda text: st.integers(0, len(text)).map(lambda cut: text[:cut] + text[cut:].upper())
    ),
)


def fresh(kind: str, text: str) -> object:
    parse = PARSERS[kind]
    return parse.__wrapped__(text)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_a_text_is_parsed_once(kind: str) -> None:
    parse = PARSERS[kind]
    first = parse(SAMPLES[kind])
    assert parse(SAMPLES[kind]) is first
    assert first == fresh(kind, SAMPLES[kind])


@given(kind=st.sampled_from(sorted(PARSERS)), text=RECORD_TEXT)
def test_the_remembered_record_is_a_fresh_parse(kind: str, text: str) -> None:
    parse = PARSERS[kind]
    parse(text)
    remembered, again = parse(text), fresh(kind, text)
    assert remembered == again
    # diagnostics are compare=False on records: compare them apart
    assert remembered.diagnostics == again.diagnostics  # type: ignore[attr-defined]


def counting() -> tuple[Callable[[str], list[str]], list[str]]:
    calls: list[str] = []

    def parse(text: str) -> list[str]:
        calls.append(text)
        return [text]

    return _cache.by_text(parse), calls


def test_a_long_text_is_parsed_every_time() -> None:
    parse, calls = counting()
    long = "x" * (_cache.MAX_TEXT + 1)
    parse(long), parse(long), parse("short"), parse("short")
    assert calls == [long, long, "short"]


def test_the_memo_is_bounded() -> None:
    parse, calls = counting()
    texts = [f"t{n}" for n in range(_cache.MAX_ENTRIES + 1)]
    for text in texts:
        parse(text)
    parse(texts[-1])  # still kept
    parse(texts[0])  # the least recently used was dropped: parsed again
    assert calls == [*texts, texts[0]]
