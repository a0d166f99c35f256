"""Question names: the quick path for plain names reads them exactly as dnspython does."""

from __future__ import annotations

import dns.exception
import dns.name
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailward.dns._question import parse_question_name
from mailward.errors import NXDomain

LABEL = st.text(alphabet="aZ09-_", min_size=1, max_size=70)
NAMES = st.lists(LABEL, min_size=1, max_size=6).map(".".join)


@given(name=NAMES, final_dot=st.booleans())
def test_plain_names_read_as_dnspython_reads_them(name: str, final_dot: bool) -> None:
    text = name + "." if final_dot else name
    try:
        expected = dns.name.from_text(name + ".")
    except dns.exception.DNSException:
        with pytest.raises(NXDomain, match="not a valid domain name"):
            parse_question_name(text, "A")
        return
    got, got_text = parse_question_name(text, "A")
    assert got == expected and got.labels == expected.labels  # case kept, compared without
    assert got_text == expected.to_text().lower()


@pytest.mark.parametrize("name", ["bücher.example", "a\\.b.example", "a b.example", "@"])
def test_other_names_take_dnspython_s_path(name: str) -> None:
    got, text = parse_question_name(name, "A")
    assert got == dns.name.from_text(name + ".")
    assert text == got.to_text().lower()
