"""DKIM interop with dkimpy, both ways: mailward signs and dkimpy verifies, and the reverse.

Both canonicalizations for header and body, both algorithms, over generated messages: long
lines, folded headers, trailing whitespace, empty bodies, blank lines at the end, CRLF and LF
input, 8-bit bodies. dkimpy (and PyNaCl, which its Ed25519 support needs) are test extras.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import itertools

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailward.auth.dkim import Result, Signer, SigningKey, verify
from mailward.records.dkim import key_record

dkim = pytest.importorskip("dkim", reason="dkimpy is a test extra")
pytest.importorskip("nacl", reason="PyNaCl (dkimpy's Ed25519) is a test extra")

DOMAIN = "interop.example"


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def records() -> dict[str, str]:
    return {
        f"rsa._domainkey.{DOMAIN}": key_record(rsa_key().public_key()).to_text(),
        f"ed._domainkey.{DOMAIN}": key_record(ed_key().public_key()).to_text(),
    }


def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
    return records()[name.decode().rstrip(".")].encode()


class Keys:
    async def query(self, name: str, rdtype: str, *, dnssec: bool = False):  # type: ignore[no-untyped-def]
        import dns.rdata
        import dns.rdataclass
        import dns.rdatatype

        from mailward.dns.resolver import Answer
        from mailward.records._txt import to_zone_text

        text = records()[name.rstrip(".")]
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, to_zone_text(text))
        return Answer(name, rdtype, name, (rdata,), 300)

    async def aclose(self) -> None:
        pass


BODIES = {
    "plain": b"Hello,\r\n\r\nsee you.\r\n",
    "empty": b"",
    "blank-lines-at-end": b"text\r\n\r\n\r\n\r\n",
    "trailing-whitespace": b"a  \t\r\n b \r\n\t\r\nc\t\r\n",
    "long-line": b"x" * 5000 + b"\r\n" + b"word " * 400 + b"\r\n",
    "8-bit": "Grüße, naïve café — ½ ✓\r\n".encode() + bytes(range(128, 256)) + b"\r\n",
    "no-final-newline": b"last line without CRLF",
}
HEADERS = {
    "simple": b"From: Alice <alice@interop.example>\r\nTo: bob@example.org\r\nSubject: hi\r\n",
    "folded": (
        b"From: Alice <alice@interop.example>\r\n"
        b"To: bob@example.org,\r\n\tcarol@example.org,\r\n  dave@example.org\r\n"
        b"Subject:   a   subject  with\r\n\t  folding  and  spaces \t\r\n"
        b"Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n"
        b"Message-ID: <1@interop.example>\r\n"
    ),
    "repeated-and-8bit": (
        b"Received: from a\r\nReceived: from b\r\n"
        b"From: =?utf-8?q?Al=C3=AFce?= <alice@interop.example>\r\n"
        b"To: b@example.org\r\nSubject: caf\xc3\xa9\r\nCC: x@example.org\r\n"
    ),
}
CANONS = [f"{h}/{b}" for h, b in itertools.product(("simple", "relaxed"), repeat=2)]


def messages() -> list[tuple[str, bytes]]:
    out = []
    for (hname, head), (bname, body) in itertools.product(HEADERS.items(), BODIES.items()):
        message = head + b"\r\n" + body
        out.append((f"{hname}+{bname}", message))
    out.append(
        ("lf-input", (HEADERS["folded"] + b"\r\n" + BODIES["plain"]).replace(b"\r\n", b"\n"))
    )
    return out


MESSAGES = messages()


def dkimpy_verifies(message: bytes, index: int) -> bool:
    try:
        return bool(dkim.DKIM(message).verify(idx=index, dnsfunc=dnsfunc))
    except dkim.DKIMException:
        return False


def dkimpy_key(algorithm: str) -> bytes:
    if algorithm == "ed25519-sha256":
        raw = ed_key().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(raw)
    return rsa_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize("canon", CANONS)
def test_mailward_signs_dkimpy_verifies(canon: str) -> None:
    signer = Signer(
        [SigningKey(DOMAIN, "rsa", rsa_key()), SigningKey(DOMAIN, "ed", ed_key())],
        canonicalization=canon,
    )
    for name, message in MESSAGES:
        signed = signer.sign_message(message)
        assert dkimpy_verifies(signed, 0), (name, "rsa")
        assert dkimpy_verifies(signed, 1), (name, "ed25519")
        tampered = signed.replace(b"bob@", b"rob@") if b"bob@" in signed else signed + b"!"
        assert not dkimpy_verifies(tampered, 0), name
        assert not dkimpy_verifies(tampered, 1), name


@pytest.mark.parametrize("canon", CANONS)
@pytest.mark.parametrize("algorithm", ["rsa-sha256", "ed25519-sha256"])
def test_dkimpy_signs_mailward_verifies(canon: str, algorithm: str) -> None:
    selector = b"rsa" if algorithm == "rsa-sha256" else b"ed"
    head, _, body = canon.partition("/")

    async def check_all() -> None:
        for name, message in MESSAGES:
            field = dkim.sign(
                message,
                selector,
                DOMAIN.encode(),
                dkimpy_key(algorithm),
                canonicalize=(head.encode(), body.encode()),
                signature_algorithm=algorithm.encode(),
                linesep=b"\r\n" if b"\r\n" in message else b"\n",
            )
            signed = field + message
            outcome = await verify(signed, Keys())
            assert [s.result for s in outcome.signatures] == [Result.PASS], (
                name,
                outcome.signatures[0].reason,
            )
            changed = signed.replace(b"From: ", b"From: X")
            outcome = await verify(changed, Keys())
            assert outcome.signatures[0].result is Result.FAIL, name

    asyncio.run(check_all())


def test_dkimpy_body_length_verifies_with_warning() -> None:
    message = MESSAGES[0][1]
    field = dkim.sign(message, b"rsa", DOMAIN.encode(), dkimpy_key("rsa-sha256"), length=True)
    outcome = asyncio.run(verify(field + message + b"appended\r\n", Keys()))
    [result] = outcome.signatures
    assert result.result is Result.PASS and "appended" in result.warnings[0]
