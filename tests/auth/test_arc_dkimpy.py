"""ARC interop with dkimpy, both ways: mailward seals and dkimpy validates, and the reverse,
over chains of one to three hops that mix both implementations, RSA and Ed25519.

dkimpy's sealer (``dkim.arc_sign``) needs the ``authres`` package; its validator does not.
dkimpy's ARC is RSA only (it rejects ``a=ed25519-sha256`` in ARC sets, and its sealer loads
PEM keys only), so the interop is rsa-sha256; mailward's Ed25519 sets are tested in
``test_arc.py``, and that dkimpy refuses them is checked here.
"""

from __future__ import annotations

import asyncio
import base64
import functools

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailward.auth import arc
from mailward.auth import results as ar
from mailward.auth.dkim import SigningKey
from mailward.dns.zonefiles import ZoneResolver
from mailward.records._txt import to_zone_text
from mailward.records.dkim import key_record

dkim = pytest.importorskip("dkim", reason="dkimpy is a test extra")
pytest.importorskip("nacl", reason="PyNaCl (dkimpy's Ed25519) is a test extra")

DOMAIN = "arc.example"
MESSAGE = (
    b"From: Bob <bob@origin.example>\r\n"
    b"To: team@lists.example\r\n"
    b"Subject: Release notes, folded\r\n"
    b" over two lines\r\n"
    b"Date: Sat, 28 Nov 2026 09:00:00 +0000\r\n"
    b"Message-ID: <notes.7@origin.example>\r\n"
    b"\r\n"
    b"Version 2 is out.   Trailing spaces here   \r\n"
    b"\r\n"
    b"\r\n"
)


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@functools.cache
def records() -> dict[str, str]:
    return {
        f"rsa._domainkey.{DOMAIN}": key_record(rsa_key().public_key()).to_text(),
        f"ed._domainkey.{DOMAIN}": key_record(ed_key().public_key()).to_text(),
    }


@functools.cache
def resolver() -> ZoneResolver:
    lines = [
        f"$ORIGIN {DOMAIN}.",
        "$TTL 300",
        f"@ IN SOA ns.{DOMAIN}. host.{DOMAIN}. 1 3600 600 86400 300",
        f"@ IN NS ns.{DOMAIN}.",
    ]
    lines += [f"{name}. IN TXT {to_zone_text(text)}" for name, text in records().items()]
    return ZoneResolver.from_text("\n".join(lines) + "\n")


def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
    return records()[name.decode().rstrip(".")].encode()


def dkimpy_key(selector: str) -> bytes:
    if selector == "ed":
        raw = ed_key().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )  # fmt: skip
        return base64.b64encode(raw)
    return rsa_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def mailward_seal(message: bytes, selector: str) -> bytes:
    key = SigningKey(DOMAIN, selector, rsa_key() if selector == "rsa" else ed_key())
    sealed, _, added = asyncio.run(
        arc.seal_message(
            message, resolver(), key, authserv_id="mx.arc.example",
            results=[ar.spf("pass", mailfrom="origin.example")],
        )
    )  # fmt: skip
    assert added.fields, added.reason
    return sealed


def dkimpy_seal(message: bytes, selector: str) -> bytes:
    """dkimpy seals what the hop judged: an A-R with its arc= verdict (dkimpy reads cv there)."""
    pytest.importorskip("authres", reason="authres (dkimpy's ARC sealer) is a test extra")
    cv, _, _ = dkim.arc_verify(message, dnsfunc=dnsfunc)
    verdict = cv.decode() if cv else "none"
    results = f"spf=pass smtp.mailfrom=origin.example; arc={verdict}"
    header = f"Authentication-Results: mx.arc.example; {results}\r\n"
    with_ar = header.encode() + message
    algorithm = b"ed25519-sha256" if selector == "ed" else b"rsa-sha256"
    fields = dkim.arc_sign(
        with_ar, selector.encode(), DOMAIN.encode(), dkimpy_key(selector), b"mx.arc.example",
        signature_algorithm=algorithm, include_headers=[b"from", b"to", b"subject", b"date"],
    )  # fmt: skip
    assert fields, "dkimpy did not seal"
    return b"".join(fields) + message


def dkimpy_validates(message: bytes) -> str:
    cv, _, reason = dkim.arc_verify(message, dnsfunc=dnsfunc)
    return f"{cv.decode()}: {reason}"


def mailward_validates(message: bytes) -> arc.ChainResult:
    return asyncio.run(arc.validate(message, resolver()))


SEALERS = {"mailward": mailward_seal, "dkimpy": dkimpy_seal}


@pytest.mark.parametrize(
    "hops",
    [
        ("mailward",),
        ("dkimpy",),
        ("mailward", "dkimpy"),
        ("dkimpy", "mailward"),
        ("mailward", "dkimpy", "mailward"),
        ("dkimpy", "mailward", "dkimpy"),
    ],
)
def test_mixed_chains_validate_in_both(hops: tuple[str, ...]) -> None:
    message = MESSAGE
    for number, sealer in enumerate(hops):
        message = SEALERS[sealer](message, "rsa")
        result = mailward_validates(message)
        assert result.result == "pass", (hops[: number + 1], result.reason)
        assert result.instances == number + 1
        assert dkimpy_validates(message).startswith("pass"), dkimpy_validates(message)


@pytest.mark.parametrize("sealer", ["mailward", "dkimpy"])
def test_tampered_chain_fails_in_both(sealer: str) -> None:
    message = SEALERS[sealer](MESSAGE, "rsa").replace(b"Version 2", b"Version 3")
    assert mailward_validates(message).result == "fail"
    assert dkimpy_validates(message).startswith("fail")


def test_mailward_cv_fail_seal_is_read_as_fail_by_dkimpy() -> None:
    broken = mailward_seal(MESSAGE, "rsa").replace(b"Version 2", b"Version 3")
    sealed = mailward_seal(broken, "ed")
    assert b"cv=fail" in sealed
    assert dkimpy_validates(sealed).startswith("fail")


def test_dkimpy_rejects_ed25519_arc_sets() -> None:
    sealed = mailward_seal(MESSAGE, "ed")
    assert mailward_validates(sealed).result == "pass"
    assert "unknown signature algorithm" in dkimpy_validates(sealed)
