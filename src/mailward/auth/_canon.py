"""DKIM canonicalization: simple and relaxed, for header fields and bodies.

RFC 6376 §3.4.1-§3.4.4 (the four algorithms), §3.4.5 (``l=`` counts canonical octets), with
errata 3192 (relaxed: an empty body canonicalizes to nothing) and RFC 8463 (same rules for
ed25519-sha256). Input is CRLF-normalised (:mod:`mailward.auth.message`).

SECURITY: input is hostile message text. Every function is linear in its input (byte-string
methods, a regular expression of one character class, no backtracking), except the collapse
of space runs, which takes log2(longest run) linear passes.
"""

from __future__ import annotations

import re

_WSP_RUN = re.compile(rb"[ \t]+")
CRLF = b"\r\n"


def _strip_trailing_crlfs(body: bytes) -> bytes:
    """``body`` without the empty lines at its end (it keeps one CRLF after the last line)."""
    stripped = body.rstrip(b"\r\n")
    suffix = body[len(stripped) :]
    if not suffix:
        return body
    if suffix == CRLF * (len(suffix) // 2):
        return stripped + CRLF if stripped else b""
    end = len(suffix)
    while end >= 4 and suffix[end - 4 : end] == b"\r\n\r\n":
        end -= 2
    if end == 2 and suffix == b"\r\n" and not stripped:
        return b""
    return stripped + suffix[:end]


def simple_body(body: bytes) -> bytes:
    """RFC 6376 §3.4.3: trailing empty lines removed; an empty body is one CRLF."""
    body = _strip_trailing_crlfs(body)
    if not body:
        return CRLF
    return body if body.endswith(CRLF) else body + CRLF


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 §3.4.4: whitespace runs made one space, none at line ends, no trailing
    empty lines; an empty body stays empty."""
    if b"\t" in body:
        body = body.replace(b"\t", b" ")
    while b"  " in body:  # each pass halves every run: log2(longest run) passes
        body = body.replace(b"  ", b" ")
    body = body.replace(b" \r\n", CRLF)
    if body.endswith(b" "):
        body = body.rstrip(b" ")
    body = _strip_trailing_crlfs(body)
    if body and not body.endswith(CRLF):
        body += CRLF
    return body


def body(body: bytes, method: str) -> bytes:
    return relaxed_body(body) if method == "relaxed" else simple_body(body)


def relaxed_header(name: bytes, value: bytes) -> bytes:
    """RFC 6376 §3.4.2: ``name:value`` lower-case name, unfolded, whitespace runs made one
    space, none around the colon or at the end; no CRLF (callers add it)."""
    value = value.replace(CRLF, b"")
    value = _WSP_RUN.sub(b" ", value).strip(b" ")
    return name.lower().rstrip(b" \t") + b":" + value


def header(raw: bytes, method: str) -> bytes:
    """One whole header field (``raw`` with its final CRLF) canonicalized, with its CRLF."""
    if method != "relaxed":
        return raw
    name, _, value = raw[:-2].partition(b":")
    return relaxed_header(name, value) + CRLF
