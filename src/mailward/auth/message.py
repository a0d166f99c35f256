"""A bounded RFC 5322 header/body splitter for message authentication.

RFC 5322 §2.1-§2.2 (header fields, folding), §2.3 (body); RFC 6376 §5.3 (a verifier treats
the message as CRLF-terminated lines). Only what DKIM (and later ARC) need: the header fields
in order, each kept byte for byte with its folding, and the body.

Line endings: a file saved with bare LF line ends is read as if each LF were CRLF (what MTAs
do on submission and what dkimpy does); ``crlf`` says which the input used so a signer can
write its header field back the same way. A bare CR stays a bare CR (it is data).

A line without a colon is kept as a field with an empty name (it can never be signed); so is a
continuation line before any field (and an mbox ``From `` line at the top).

SECURITY: input is hostile (any message from the Internet). The header block is at most
:data:`MAX_HEADER_OCTETS` octets and :data:`MAX_FIELDS` fields, or :class:`MessageError` is
raised; the work is linear in the message size (no regular expression backtracks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailward.errors import MailwardError

MAX_HEADER_OCTETS = 1 << 20  # 1 MiB of header fields: far more than any real message
MAX_FIELDS = 1000
_FIELD_START = re.compile(rb"(?<=\r\n)(?![ \t])")  # a line that does not continue a field
_FIELD_NAME = re.compile(rb"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII but the colon


class MessageError(MailwardError):
    """The message cannot be read (its header block is beyond the limits)."""


@dataclass(frozen=True)
class HeaderField:
    """One header field: ``name`` as written (no trailing whitespace), ``raw`` the whole
    field with its folding and final CRLF, exactly as in the (CRLF-normalised) message."""

    name: bytes
    raw: bytes

    @property
    def key(self) -> bytes:
        """The name lower-cased, for matching (field names are case-insensitive)."""
        return self.name.lower()

    @property
    def value(self) -> bytes:
        """Everything after the colon, folding included, without the final CRLF."""
        return self.raw[self.raw.find(b":") + 1 : -2] if self.name else b""


@dataclass(frozen=True)
class Message:
    headers: tuple[HeaderField, ...]
    body: bytes
    crlf: bool = True  # False: the input had bare-LF line ends (normalised to CRLF here)

    def all(self, name: str) -> list[HeaderField]:
        wanted = name.lower().encode()
        return [field for field in self.headers if field.key == wanted]


def to_crlf(data: bytes) -> bytes:
    """Every bare LF made CRLF (CRLF and bare CR are left as they are)."""
    if data.count(b"\n") == data.count(b"\r\n"):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def parse_message(data: bytes) -> Message:
    """Split a message into header fields and body; raise :class:`MessageError` if too big."""
    crlf = data.count(b"\n") == data.count(b"\r\n")
    data = data if crlf else to_crlf(data)
    if data.startswith(b"\r\n"):
        return Message((), data[2:], crlf)
    end = data.find(b"\r\n\r\n", 0, MAX_HEADER_OCTETS + 4)
    if end < 0:
        if len(data) > MAX_HEADER_OCTETS:
            raise MessageError(f"the header block is longer than {MAX_HEADER_OCTETS} octets")
        block, body = data if data.endswith(b"\r\n") else data + b"\r\n", b""
    else:
        block, body = data[: end + 2], data[end + 4 :]
    pieces = _FIELD_START.split(block)
    if len(pieces) > MAX_FIELDS + 1:
        raise MessageError(f"the message has more than {MAX_FIELDS} header fields")
    fields = []
    for raw in pieces:
        if raw:
            name = raw.partition(b":")[0].rstrip(b" \t")
            valid = b":" in raw and _FIELD_NAME.fullmatch(name)
            fields.append(HeaderField(name if valid else b"", raw))
    return Message(tuple(fields), body, crlf)
