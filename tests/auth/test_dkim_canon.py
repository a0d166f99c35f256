"""auth/_canon.py and auth/message.py: DKIM canonicalization and the message splitter."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailward.auth import _canon
from mailward.auth.message import MAX_FIELDS, MessageError, parse_message, to_crlf

# RFC 6376 §3.4.6: the example message and its four canonical forms.
EXAMPLE = b"A: X \r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n"


def canonical_headers(data: bytes, method: str) -> bytes:
    return b"".join(_canon.header(f.raw, method) for f in parse_message(data).headers)


def test_rfc6376_example_relaxed() -> None:
    assert canonical_headers(EXAMPLE, "relaxed") == b"a:X\r\nb:Y Z\r\n"
    assert _canon.relaxed_body(parse_message(EXAMPLE).body) == b" C\r\nD E\r\n"


def test_rfc6376_example_simple() -> None:
    assert canonical_headers(EXAMPLE, "simple") == b"A: X \r\nB : Y\t\r\n\tZ  \r\n"
    assert _canon.simple_body(parse_message(EXAMPLE).body) == b" C \r\nD \t E\r\n"


@pytest.mark.parametrize(
    ("body", "simple", "relaxed"),
    [
        (b"", b"\r\n", b""),  # RFC 6376 §3.4.3; errata 3192 for relaxed
        (b"\r\n", b"\r\n", b""),
        (b"\r\n\r\n\r\n", b"\r\n", b""),
        (b"abc", b"abc\r\n", b"abc\r\n"),
        (b"abc  \t", b"abc  \t\r\n", b"abc\r\n"),
        (b"abc\r\n\r\n", b"abc\r\n", b"abc\r\n"),
        (b"a\r\n \r\n", b"a\r\n \r\n", b"a\r\n"),  # a line of spaces is empty once relaxed
        (b"abc\r\r\n\r\n", b"abc\r\r\n", b"abc\r\r\n"),  # a bare CR is data
        (b"x\r\n\r\ny\r\n", b"x\r\n\r\ny\r\n", b"x\r\n\r\ny\r\n"),  # inner empty lines stay
    ],
)
def test_bodies(body: bytes, simple: bytes, relaxed: bytes) -> None:
    assert _canon.simple_body(body) == simple
    assert _canon.relaxed_body(body) == relaxed


def test_relaxed_header_unfolds_and_lowercases_name() -> None:
    raw = b"SUBJECT \t:  hello \r\n\t  world\t \r\n"
    assert _canon.header(raw, "relaxed") == b"subject:hello world\r\n"
    assert _canon.header(raw, "simple") == raw


def test_lf_input_is_read_as_crlf() -> None:
    message = parse_message(b"From: a@b\nSubject: x\n y\n\nline\n")
    assert not message.crlf
    assert [f.raw for f in message.headers] == [b"From: a@b\r\n", b"Subject: x\r\n y\r\n"]
    assert message.body == b"line\r\n"
    assert to_crlf(b"a\r\nb\nc\r") == b"a\r\nb\r\nc\r"


def test_message_shapes() -> None:
    assert parse_message(b"From: a\r\n").body == b""  # no blank line: all header
    only_body = parse_message(b"\r\nbody")
    assert only_body.headers == () and only_body.body == b"body"
    odd = parse_message(b"From x@y Mon Jan  1\r\n continuation\r\nno colon\r\nTo: b\r\n\r\n")
    assert [f.name for f in odd.headers] == [b"", b"", b"To"]
    assert parse_message(b"Subject : x\r\n\r\n").headers[0].name == b"Subject"
    assert parse_message(b"To: x\r\n\r\n").headers[0].value == b" x"


def test_bounds() -> None:
    with pytest.raises(MessageError):
        parse_message(b"X: y\r\n" * (MAX_FIELDS + 1) + b"\r\n")
    with pytest.raises(MessageError):
        parse_message(b"X: " + b"y" * (1 << 20) + b"\r\n\r\nbody")
    parse_message(b"X: y\r\n" * MAX_FIELDS + b"\r\n")  # exactly at the limit: fine


def test_hostile_trailing_lines_are_linear() -> None:
    body = b"x" + b"\r\n" * 2_000_000 + b"\r"
    started = time.perf_counter()
    assert _canon.simple_body(body) == b"x" + b"\r\n" * 2_000_000 + b"\r\r\n"
    mixed = b"x" + b"\r\n\r\n" * 500_000 + b"\r\r\n\r\n"
    assert _canon.relaxed_body(mixed).endswith(b"\r\r\n")
    assert time.perf_counter() - started < 5


wsp_text = st.text(alphabet=" \t\r\nab\x00\xe9", max_size=60).map(lambda s: s.encode("latin-1"))


@settings(max_examples=300, deadline=None)
@given(wsp_text)
def test_relaxed_body_is_idempotent_and_well_formed(body: bytes) -> None:
    body = to_crlf(body)
    once = _canon.relaxed_body(body)
    assert _canon.relaxed_body(once) == once
    assert once == b"" or (once.endswith(b"\r\n") and not once.endswith(b"\r\n\r\n"))
    assert b" \r\n" not in once and b"\t" not in once and b"  " not in once
    simple = _canon.simple_body(body)
    assert _canon.simple_body(simple) == simple and simple.endswith(b"\r\n")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_split_without_error(data: bytes) -> None:
    message = parse_message(data)
    rebuilt = b"".join(f.raw for f in message.headers)
    assert to_crlf(data).startswith(rebuilt) or to_crlf(data) + b"\r\n" == rebuilt
