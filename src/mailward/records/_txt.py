"""TXT character-strings: splitting long values and quoting them for zone files.

RFC 1035 §3.3 limits one character-string to 255 octets; a longer value (a 2048-bit DKIM key)
must be published as several strings, which readers concatenate with nothing between them
(RFC 6376 §3.6.2.2, RFC 7208 §3.3).
"""

from __future__ import annotations

MAX_STRING = 255


def split_strings(value: bytes, size: int = MAX_STRING) -> list[bytes]:
    """Split into chunks of at most ``size`` octets (an empty value is one empty string)."""
    if not value:
        return [b""]
    return [value[i : i + size] for i in range(0, len(value), size)]


def quote_string(chunk: bytes) -> str:
    """One zone-file quoted string, escaping ``"`` and ``\\`` and non-printable octets."""
    out = []
    for octet in chunk:
        if octet in (0x22, 0x5C):
            out.append("\\" + chr(octet))
        elif 0x20 <= octet < 0x7F:
            out.append(chr(octet))
        else:
            out.append(f"\\{octet:03d}")
    return '"' + "".join(out) + '"'


def to_zone_text(value: str | bytes) -> str:
    """The TXT rdata for ``value``, split into 255-octet strings: ``"…" "…"``."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return " ".join(quote_string(chunk) for chunk in split_strings(data))
