"""DKIM interop with OpenDKIM (Debian's ``opendkim`` 2.11), both ways.

OpenDKIM's test mode (``opendkim -x CONF -t FILE``) runs a message file through the filter
without a mail server: with ``Mode v`` and ``TestPublicKeys`` it verifies against keys read
from a file (no DNS) and prints the Authentication-Results it would add; with ``Mode s`` it
prints the DKIM-Signature it would add. Keys come from ``mailward dkim keygen``'s code (PEM,
PKCS#8), which OpenDKIM loads for RSA and Ed25519 alike.

One OpenDKIM quirk shapes the messages: its test mode hands each header field to the filter
as a milter does, name and value apart, and rebuilds ``Name: value`` with exactly one space
after the colon. A field written ``Subject:  x`` or ``Subject:x`` then fails *simple* header
canonicalization in OpenDKIM (mailward and dkimpy hash the field as written, as RFC 6376
§3.4.1 says). So every field here has one space after its colon; the whitespace tests are
in the values and the body.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
import subprocess
from pathlib import Path

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailward.auth.dkim import PrivateKey, Result, Signer, SigningKey, private_key_pem, verify
from mailward.dns.resolver import Answer
from mailward.errors import NXDomain
from mailward.records._txt import to_zone_text
from mailward.records.dkim import key_record

DOMAIN = "od.example"
CANONS = [f"{h}/{b}" for h, b in itertools.product(("simple", "relaxed"), repeat=2)]
ALGORITHMS = {"rsa-sha256": "rsa", "ed25519-sha256": "ed"}
MESSAGES = {
    "plain": b"From: Alice <alice@od.example>\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n",
    "folded-trailing-space": (
        b"From: Alice <alice@od.example>\r\n"
        b"To: b@example.org,\r\n\tc@example.org\r\n"
        b"Subject: a  folded \r\n   subject\t\r\n\r\n"
        b"line with trailing space \t\r\n\r\n  indented\r\n\r\n\r\n"
    ),
    "empty-body": b"From: alice@od.example\r\nSubject: nothing\r\n\r\n",
    "8-bit": "From: alice@od.example\r\nSubject: Grüße\r\n\r\nnaïve café ½\r\n".encode(),
    "long-line": b"From: alice@od.example\r\nSubject: long\r\n\r\n" + b"y" * 3000 + b"\r\n",
}


@functools.cache
def keys() -> dict[str, PrivateKey]:
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ed": ed25519.Ed25519PrivateKey.generate(),
    }


def records() -> dict[str, str]:
    return {
        f"{selector}._domainkey.{DOMAIN}": key_record(key.public_key()).to_text()
        for selector, key in keys().items()
    }


class Keys:
    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        text = records().get(name.rstrip("."))
        if text is None:
            raise NXDomain(name, rdtype, "no such name")
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, to_zone_text(text))
        return Answer(name, rdtype, name, (rdata,), 300)

    async def aclose(self) -> None:
        pass


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("opendkim")
    for selector, key in keys().items():
        path = work / f"{selector}.pem"
        path.write_bytes(private_key_pem(key))
        path.chmod(0o600)
    lines = [f"{name} {value}" for name, value in records().items()]
    (work / "keys").write_text("\n".join(lines) + "\n")
    (work / "verify.conf").write_text(
        f"Mode v\nTestPublicKeys {work / 'keys'}\nSyslog no\nLogWhy yes\n"
    )
    return work


def opendkim_run(binary: str, conf: Path, message: Path, *verbose: str) -> str:
    done = subprocess.run(
        [binary, "-x", str(conf), "-t", str(message), *verbose],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def opendkim_results(binary: str, workdir: Path, signed: bytes) -> list[str]:
    """OpenDKIM's ``dkim=`` words for each signature, in its Authentication-Results."""
    path = workdir / "to-verify.eml"
    path.write_bytes(signed)
    output = opendkim_run(binary, workdir / "verify.conf", path, "-vv")  # -vv: the A-R
    return re.findall(r"\bdkim=(\w+)", output)


@pytest.mark.parametrize("canon", CANONS)
def test_mailward_signs_opendkim_verifies(opendkim: str, workdir: Path, canon: str) -> None:
    signer = Signer(
        [SigningKey(DOMAIN, "rsa", keys()["rsa"]), SigningKey(DOMAIN, "ed", keys()["ed"])],
        canonicalization=canon,
    )
    for name, message in MESSAGES.items():
        signed = signer.sign_message(message)
        assert opendkim_results(opendkim, workdir, signed) == ["pass", "pass"], name
        tampered = signed.replace(b"Subject:", b"Subject: re:")
        assert opendkim_results(opendkim, workdir, tampered) == ["fail", "fail"], name
        body_changed = signed + b"appended\r\n"
        assert opendkim_results(opendkim, workdir, body_changed) == ["fail", "fail"], name


def opendkim_sign(binary: str, workdir: Path, message: bytes, canon: str, algorithm: str) -> bytes:
    selector = ALGORITHMS[algorithm]
    conf = workdir / "sign.conf"
    conf.write_text(
        f"Mode s\nDomain {DOMAIN}\nSelector {selector}\nKeyFile {workdir / selector}.pem\n"
        f"Canonicalization {canon}\nSignatureAlgorithm {algorithm}\nSyslog no\n"
        "RequireSafeKeys false\nOversignHeaders From\n"
    )
    path = workdir / "to-sign.eml"
    path.write_bytes(message)
    output = opendkim_run(binary, conf, path)
    found = re.search(r"^DKIM-Signature:.*\n(?:[ \t].*\n)*", output, re.MULTILINE)
    assert found, output
    return found[0].replace("\n", "\r\n").encode()


@pytest.mark.parametrize("canon", CANONS)
@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_opendkim_signs_mailward_verifies(
    opendkim: str, workdir: Path, canon: str, algorithm: str
) -> None:
    # OpenDKIM 2.11.0~beta2 cannot verify its own Ed25519 signatures with simple header
    # canonicalization (dkimpy rejects them too): there, mailward must agree with it (fail).
    own_bug = algorithm == "ed25519-sha256" and canon.startswith("simple/")
    for name, message in MESSAGES.items():
        field = opendkim_sign(opendkim, workdir, message, canon, algorithm)
        assert f"a={algorithm}".encode() in field and f"c={canon}".encode() in field
        outcome = asyncio.run(verify(field + message, Keys()))
        itself = opendkim_results(opendkim, workdir, field + message)
        assert itself == (["fail"] if own_bug else ["pass"]), name
        assert [s.result.value for s in outcome.signatures] == itself, (
            name,
            outcome.signatures[0].reason,
        )
        if own_bug:
            continue
        added = field + message.replace(b"From:", b"From: evil@x.example\r\nFrom:")
        outcome = asyncio.run(verify(added, Keys()))
        assert outcome.signatures[0].result is Result.FAIL, name  # From is oversigned
        changed = field + message + b"tail\r\n"
        outcome = asyncio.run(verify(changed, Keys()))
        assert outcome.signatures[0].result is Result.FAIL, name
