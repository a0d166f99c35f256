"""DKIM properties (hypothesis): sign-then-verify passes; any change to a signed header field
value or to the body makes it fail; hostile signature fields never crash the verifier."""

from __future__ import annotations

import asyncio
import functools

import dns.rdata
import dns.rdataclass
import dns.rdatatype
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailward.auth.dkim import Result, Signer, SigningKey, verify
from mailward.dns.resolver import Answer
from mailward.errors import NXDomain
from mailward.records._txt import to_zone_text
from mailward.records.dkim import key_record

DOMAIN = "prop.example"


@functools.cache
def signing_keys() -> tuple[SigningKey, SigningKey]:
    return (
        SigningKey(DOMAIN, "rsa", rsa.generate_private_key(public_exponent=65537, key_size=1024)),
        SigningKey(DOMAIN, "ed", ed25519.Ed25519PrivateKey.generate()),
    )


class Keys:
    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        key = next((k for k in signing_keys() if name == f"{k.selector}._domainkey.{DOMAIN}"), None)
        if key is None:
            raise NXDomain(name, rdtype, "no such name")
        text = key_record(key.private_key.public_key()).to_text()
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, to_zone_text(text))
        return Answer(name, rdtype, name, (rdata,), 300)

    async def aclose(self) -> None:
        pass


def check(message: bytes) -> list[Result]:
    return [s.result for s in asyncio.run(verify(message, Keys())).signatures]


# Values: any octet but CR and LF (8-bit included), optionally folded.
value_bytes = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
folded = st.lists(value_bytes, min_size=1, max_size=3).map(lambda parts: b"\r\n\t".join(parts))
line = st.binary(max_size=80).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
bodies = st.lists(line, max_size=8).map(lambda lines: b"\r\n".join(lines))
canons = st.sampled_from(["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"])
names = st.sampled_from(["Subject", "To", "Cc", "Reply-To", "X-Extra"])


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """A message and the offsets of the octets that may be changed (signed values, body)."""
    fields = [(b"From", b" a@" + DOMAIN.encode() + draw(value_bytes))]
    fields += [(draw(names).encode(), b" " + draw(folded)) for _ in range(draw(st.integers(0, 4)))]
    header = b""
    mutable: list[int] = []
    for name, value in fields:
        start = len(header) + len(name) + 1
        header += name + b":" + value + b"\r\n"
        if name != b"X-Extra":
            # not CR/LF, nor the whitespace that folds a line (changing it unfolds it)
            mutable += [
                start + i
                for i, c in enumerate(value)
                if c not in b"\r\n" and value[i - 1 : i] != b"\n"
            ]
    body = draw(bodies)
    offset = len(header) + 2
    mutable += [offset + i for i, c in enumerate(body) if c not in b"\r\n"]
    return header + b"\r\n" + body, mutable


SIGNED_NAMES = ("from", "subject", "to", "cc", "reply-to")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), canons)
def test_sign_then_verify_passes(drawn: tuple[bytes, list[int]], canon: str) -> None:
    message, _ = drawn
    signed = Signer(signing_keys(), canonicalization=canon, headers=SIGNED_NAMES).sign_message(
        message
    )
    assert check(signed) == [Result.PASS, Result.PASS]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), canons, st.data())
def test_any_change_to_signed_content_fails(
    drawn: tuple[bytes, list[int]], canon: str, data: st.DataObject
) -> None:
    message, mutable = drawn
    signer = Signer(signing_keys(), canonicalization=canon, headers=SIGNED_NAMES)
    fields = b"".join(signer.sign(message))
    if not mutable:
        return
    position = data.draw(st.sampled_from(mutable))
    old = message[position]
    # a different visible octet: a change that no canonicalization may hide
    new = data.draw(st.sampled_from([c for c in b"AZaz09!~\x80\xff" if c != old]))
    changed = message[:position] + bytes([new]) + message[position + 1 :]
    assert check(fields + changed) == [Result.FAIL, Result.FAIL]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=100))
def test_hostile_signature_fields_get_a_verdict(value: bytes, body: bytes) -> None:
    message = b"DKIM-Signature:" + value.replace(b"\n", b" ") + b"\r\nFrom: a@b\r\n\r\n" + body
    outcome = asyncio.run(verify(message, Keys()))
    assert outcome.result in {"pass", "fail", "permerror", "temperror", "neutral", "none"}
    for result in outcome.signatures:
        assert result.result is not Result.PASS and result.reason
