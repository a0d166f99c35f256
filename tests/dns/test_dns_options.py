"""parse_nameserver: the nameserver forms of --nameserver and mailward.toml."""

from __future__ import annotations

import pytest

from mailward.dns.options import format_nameserver, parse_nameserver
from mailward.errors import UsageError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.53", ("192.0.2.53", 53)),
        (" 192.0.2.53 ", ("192.0.2.53", 53)),
        ("127.0.0.53:5353", ("127.0.0.53", 5353)),
        ("2001:db8::53", ("2001:db8::53", 53)),
        ("2001:DB8:0:0::53", ("2001:db8::53", 53)),
        ("::1", ("::1", 53)),
        ("[::1]", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[2001:db8::53]:65535", ("2001:db8::53", 65535)),
    ],
)
def test_accepted_forms(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ns.example.com", "not an IP address"),
        ("ns.example.com:53", "not an IP address"),
        ("192.0.2.300", "not an IP address"),
        ("192.0.2.53:", "port"),
        ("192.0.2.53:0", "port"),
        ("192.0.2.53:65536", "port"),
        ("192.0.2.53:dns", "port"),
        ("192.0.2.53:５３", "port"),
        ("192.0.2.53:53:53", "not an IP address"),
        ("[::1]:", "port"),
        ("[::1]:-1", "port"),
        ("[192.0.2.53]:53", "give an IP address"),
        ("[::1", "not an IP address"),
        ("::1]:53", "not an IP address"),
        ("[not-an-ip]:53", "not an IP address"),
    ],
)
def test_garbage_is_a_usage_error_that_says_why(text: str, says: str) -> None:
    with pytest.raises(UsageError, match=says) as caught:
        parse_nameserver(text)
    assert "192.0.2.53:5353" in str(caught.value) or "port" in str(caught.value)


@pytest.mark.parametrize("text", ["192.0.2.53:53", "[2001:db8::53]:53", "[::1]:5353"])
def test_format_is_the_inverse(text: str) -> None:
    assert format_nameserver(*parse_nameserver(text)) == text
