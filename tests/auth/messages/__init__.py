"""Sample messages for ``mailward verify``, signed at test time, and the zones that judge them.

The world (documentation addresses only):

- ``example.com`` — the origin: sends from 192.0.2.10, signs with DKIM (selector ``s1``),
  ``p=reject``;
- ``example.org`` — an origin that does not sign: sends from 192.0.2.30, ``p=quarantine``;
- ``example.net`` — a forwarder and mailing list at 198.51.100.20, and an email service
  provider (ESP) that signs with its own ``d=esp.example.net`` from 203.0.113.5.

:func:`build` writes a message (``Received`` hops on top of a signed message), so each test
says what happened in transit in a few lines.
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives.asymmetric import ed25519

from mailward.auth.dkim import SigningKey, sign
from mailward.dns.zonefiles import ZoneResolver
from mailward.records._txt import to_zone_text
from mailward.records.dkim import key_record

ORIGIN_IP = "192.0.2.10"
UNSIGNED_ORIGIN_IP = "192.0.2.30"
FORWARDER_IP = "198.51.100.20"
ESP_IP = "203.0.113.5"
SOA = "@ 3600 IN SOA ns hostmaster 1 7200 3600 1209600 3600\n"


@functools.cache
def keys() -> dict[str, SigningKey]:
    return {
        "example.com": SigningKey("example.com", "s1", ed25519.Ed25519PrivateKey.generate()),
        "esp.example.net": SigningKey(
            "esp.example.net", "esp", ed25519.Ed25519PrivateKey.generate()
        ),
    }


def _txt(key: SigningKey) -> str:
    return to_zone_text(key_record(key.private_key.public_key()).to_text())


def zones() -> tuple[str, ...]:
    com, esp = keys()["example.com"], keys()["esp.example.net"]
    return (
        f"""$ORIGIN example.com.
{SOA}@ IN A 192.0.2.1
@ IN MX 10 mail
mail IN A {ORIGIN_IP}
@ IN TXT "v=spf1 ip4:{ORIGIN_IP} -all"
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
s1._domainkey IN TXT ( {_txt(com)} )
""",
        f"""$ORIGIN example.org.
{SOA}@ IN A 192.0.2.1
mail IN A {UNSIGNED_ORIGIN_IP}
@ IN TXT "v=spf1 ip4:{UNSIGNED_ORIGIN_IP} -all"
_dmarc IN TXT "v=DMARC1; p=quarantine"
""",
        f"""$ORIGIN example.net.
{SOA}@ IN A 192.0.2.1
@ IN TXT "v=spf1 ip4:{FORWARDER_IP} -all"
mx IN A {FORWARDER_IP}
esp IN TXT "v=spf1 ip4:{ESP_IP} -all"
esp._domainkey.esp IN TXT ( {_txt(esp)} )
""",
    )


def resolver() -> ZoneResolver:
    return ZoneResolver.from_text(*zones())


def received(helo: str, ip: str, by: str) -> bytes:
    return (
        f"Received: from {helo} ({helo} [{ip}])\r\n\tby {by} with ESMTP id 4Xq;"
        f" Sat, 28 Nov 2026 10:00:00 +0000\r\n"
    ).encode()


def message(
    *,
    author: str = "alice@example.com",
    subject: str = "Quarterly figures",
    body: bytes = b"Hello Bob,\r\n\r\nThe figures are attached.\r\n",
    extra: bytes = b"",
) -> bytes:
    return (
        (
            f"From: Alice <{author}>\r\nTo: bob@example.net\r\nSubject: {subject}\r\n"
            "Date: Sat, 28 Nov 2026 09:59:58 +0000\r\nMessage-ID: <1@example.com>\r\n"
        ).encode()
        + extra
        + b"\r\n"
        + body
    )


def signed(raw: bytes, domain: str = "example.com") -> bytes:
    return sign(raw, keys()[domain]) + raw


def build(raw: bytes, *hops: tuple[str, str], return_path: str | None = None) -> bytes:
    """``raw`` with a Return-Path and one Received per hop ``(helo, ip)``, newest first."""
    top = f"Return-Path: <{return_path}>\r\n".encode() if return_path is not None else b""
    chain = [*hops]
    lines = b"".join(
        received(helo, ip, "mx.receiver.test" if i == 0 else chain[i - 1][0])
        for i, (helo, ip) in enumerate(chain)
    )
    return top + lines + raw
