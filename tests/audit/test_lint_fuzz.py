"""lint never crashes: arbitrary text and zone-shaped token soup give findings, no traceback."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailward.audit.lint import RECORD_KINDS, lint_record, lint_zone

TOKENS = [
    "example.com.", "example.com", "@", "_dmarc", ".", ".com", "IN", "CH", "A", "AAAA", "MX",
    "TXT", "CNAME", "SOA", "DS", "DNSKEY", "SRV", "CAA", "TLSA", "SPF", "ああああ", "で", "。",
    "(", ")", ";", "3600", "1h", "10", "192.0.2.1", "2001:db8::1", "mail", "$ORIGIN", "$TTL",
    "$INCLUDE", '"v=spf1 -all"', '"v=DMARC1; p=reject"', '"v=DKIM1; p=PUBLIC_KEY_HERE"',
    '"unterminated', "12345", "8", "2", "0234567890ABCDEF", "257", "3", "13", "AwEAAc==", "\n",
    "\t", "serial,", "*",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join))
def test_zone_shaped_soup_never_crashes(text: str) -> None:
    for finding in lint_zone(text, file="soup.zone"):
        assert finding.code and finding.detail
        assert finding.location is not None and finding.location.file == "soup.zone"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from([None, *RECORD_KINDS]))
def test_any_record_text_never_crashes(text: str, kind: str | None) -> None:
    for finding in lint_record(text, kind):
        assert finding.code and finding.title
