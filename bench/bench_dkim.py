"""DKIM signing and verifying, messages per second: mailward against dkimpy in the same run.

    .venv/bin/python -m pip install dkimpy pynacl     # the peer (test extras)
    .venv/bin/python bench/bench_dkim.py [--seconds S]

Cases (relaxed/relaxed, the same generated message and key for both tools; the messages are
a text part and, for 100 KB, a base64 attachment):
  - sign RSA-2048, a 2 KB message and a 100 KB message
  - verify RSA-2048 (2 KB and 100 KB), the key from an in-memory table (no DNS on the clock)
  - sign Ed25519, 2 KB
Each tool signs or verifies the same message over and over for about S seconds (default 2)
and the best of 3 rounds counts. mailward signs with ``Signer.sign`` (the fields, as a milter
adds them) and verifies with ``await verify()`` in one event loop; dkimpy with ``dkim.sign``
and ``dkim.DKIM(message).verify(dnsfunc=…)``. Every result is checked to pass, in both tools.
Prints messages/s for each and the ratio mailward/dkimpy (above 1: mailward is faster).
Goals (issue 4): sign ≥ 10× dkimpy, verify ≥ 3×, Ed25519 sign ≥ 5,000/s per core.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import time
from collections.abc import Callable

import dkim  # type: ignore[import-untyped]
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailward.auth.dkim import Result, Signer, SigningKey, verify
from mailward.dns.resolver import Answer
from mailward.records._txt import to_zone_text
from mailward.records.dkim import key_record

DOMAIN = "bench.example"
CANON = "relaxed/relaxed"


def message(size: int) -> bytes:
    """A plain-text message of ``size`` octets: a text part (some lines with trailing
    whitespace), then, past 4 KB, a base64 attachment, as real mail of that size is."""
    head = (
        b"From: Alice Example <alice@bench.example>\r\n"
        b"To: Bob <bob@example.org>, carol@example.org\r\n"
        b"Subject: The quarterly numbers, as promised\r\n"
        b"Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n"
        b"Message-ID: <20261128120000.1234@bench.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b1\r\n\r\n"
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    lines = [
        b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n",
        b"Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris. \r\n",
    ] * 2 + [b"\r\n"]
    text = b"".join(lines) * (min(size, 4000) // sum(map(len, lines)) + 1)
    body = head + text[: min(size, 4000) - len(head)]
    if size > 4000:
        body += b"\r\n--b1\r\nContent-Type: application/pdf\r\n"
        body += b"Content-Transfer-Encoding: base64\r\n\r\n"
        raw = base64.b64encode(bytes(range(256)) * (size // 256 + 1))
        attachment = b"".join(raw[i : i + 76] + b"\r\n" for i in range(0, len(raw), 76))
        body += attachment[: size - len(body) - 10] + b"\r\n--b1--\r\n"
    return body


class Table:
    """An in-memory resolver: the key records, no network."""

    def __init__(self, records: dict[str, str]) -> None:
        self.answers = {
            name: Answer(
                name,
                "TXT",
                name,
                (dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, to_zone_text(text)),),
                300,
            )
            for name, text in records.items()
        }

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        return self.answers[name]

    async def aclose(self) -> None:
        pass


def rate(work: Callable[[int], None], seconds: float) -> float:
    """Messages per second: the best of 3 rounds of about ``seconds`` each."""
    work(3)
    started = time.perf_counter()
    work(10)
    per = (time.perf_counter() - started) / 10
    count = max(10, int(seconds / per))
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        work(count)
        best = max(best, count / (time.perf_counter() - started))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    rsa_private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_private = ed25519.Ed25519PrivateKey.generate()
    rsa_pem = rsa_private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    ed_seed = base64.b64encode(
        ed_private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    )
    records = {
        f"rsa._domainkey.{DOMAIN}": key_record(rsa_private.public_key()).to_text(),
        f"ed._domainkey.{DOMAIN}": key_record(ed_private.public_key()).to_text(),
    }
    table = Table(records)

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return records[name.decode().rstrip(".")].encode()

    rsa_signer = Signer([SigningKey(DOMAIN, "rsa", rsa_private)], canonicalization=CANON)
    ed_signer = Signer([SigningKey(DOMAIN, "ed", ed_private)], canonicalization=CANON)
    canon = (b"relaxed", b"relaxed")
    headers = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
               b"content-type"]  # fmt: skip

    def dkimpy_sign(msg: bytes, selector: bytes, key: bytes, algorithm: bytes) -> bytes:
        field: bytes = dkim.sign(
            msg, selector, DOMAIN.encode(), key, canonicalize=canon,
            signature_algorithm=algorithm, include_headers=headers,
        )  # fmt: skip
        return field

    print(f"relaxed/relaxed, best of 3 rounds of ~{args.seconds:g} s each; messages/s")
    rows = []
    for size in (2_000, 100_000):
        msg = message(size)
        label = f"{size // 1000} KB"

        def mw_sign(n: int, msg: bytes = msg) -> None:
            for _ in range(n):
                rsa_signer.sign(msg)

        def py_sign(n: int, msg: bytes = msg) -> None:
            for _ in range(n):
                dkimpy_sign(msg, b"rsa", rsa_pem, b"rsa-sha256")

        rows.append((f"sign RSA-2048, {label}", rate(mw_sign, args.seconds),
                     rate(py_sign, args.seconds), 10.0))  # fmt: skip

        signed_mw = b"".join(rsa_signer.sign(msg)) + msg
        signed_py = dkimpy_sign(msg, b"rsa", rsa_pem, b"rsa-sha256") + msg
        assert dkim.DKIM(signed_mw).verify(dnsfunc=dnsfunc), "dkimpy rejects mailward's"

        def mw_verify(n: int, signed: bytes = signed_py) -> None:
            async def loop() -> None:
                for _ in range(n):
                    outcome = await verify(signed, table)
                    assert outcome.signatures[0].result is Result.PASS

            asyncio.run(loop())

        def py_verify(n: int, signed: bytes = signed_py) -> None:
            for _ in range(n):
                assert dkim.DKIM(signed).verify(dnsfunc=dnsfunc)

        rows.append((f"verify RSA-2048, {label}", rate(mw_verify, args.seconds),
                     rate(py_verify, args.seconds), 3.0))  # fmt: skip

    msg = message(2_000)

    def mw_ed(n: int) -> None:
        for _ in range(n):
            ed_signer.sign(msg)

    def py_ed(n: int) -> None:
        for _ in range(n):
            dkimpy_sign(msg, b"ed", ed_seed, b"ed25519-sha256")

    ed_row = ("sign Ed25519, 2 KB", rate(mw_ed, args.seconds), rate(py_ed, args.seconds), 0.0)
    rows.append(ed_row)

    for name, ours, theirs, goal in rows:
        ratio = ours / theirs
        target = f" (goal ≥ {goal:g})" if goal else ""
        print(
            f"  {name:<24} mailward {ours:>9,.0f}   dkimpy {theirs:>8,.0f}   "
            f"ratio mailward/dkimpy {ratio:6.1f}{target}"
        )
    print(f"  Ed25519 sign goal: ≥ 5,000 messages/s per core; mailward {ed_row[1]:,.0f}/s")


if __name__ == "__main__":
    main()
