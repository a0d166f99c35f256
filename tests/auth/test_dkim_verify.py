"""auth/dkim.py: signing and verifying, the RFC 8463 example, and every verdict's reason."""

from __future__ import annotations

import asyncio
import base64
import functools

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailward.auth.dkim import (
    MAX_SIGNATURES,
    Result,
    Signer,
    SigningKey,
    VerifyResult,
    generate_key,
    private_key_pem,
    sign,
    verify,
)
from mailward.dns.resolver import Answer
from mailward.errors import NXDomain, TempError
from mailward.records._txt import to_zone_text
from mailward.records.dkim import key_record


class Keys:
    """A resolver answering TXT from a dict (a list: several records); counts the queries."""

    def __init__(self, records: dict[str, str | list[str] | Exception]) -> None:
        self.records = records
        self.queries: list[str] = []

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        name = name.rstrip(".").lower()
        self.queries.append(name)
        found = self.records.get(name)
        if found is None:
            raise NXDomain(name, rdtype, "no such name")
        if isinstance(found, Exception):
            raise found
        texts = found if isinstance(found, list) else [found]
        rdatas = tuple(
            dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, to_zone_text(text))
            for text in texts
        )
        return Answer(name + ".", rdtype, name + ".", rdatas, 300)

    async def aclose(self) -> None:
        pass


def run(message: bytes, keys: Keys, **options: int) -> VerifyResult:
    return asyncio.run(verify(message, keys, **options))


# RFC 8463 Appendix A: the keys (A.1 secret, A.2 records) and the signed message (A.3).
RFC8463_SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
RFC8463_KEYS = {
    "brisbane._domainkey.football.example.com": (
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    ),
    "test._domainkey.football.example.com": (
        "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08"
        "a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM"
        "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
    ),
}
RFC8463_UNSIGNED = (
    b"From: Joe SixPack <joe@football.example.com>\r\n"
    b"To: Suzie Q <suzie@shopping.example.net>\r\n"
    b"Subject: Is dinner ready?\r\n"
    b"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    b"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    b"\r\n"
    b"Hi.\r\n"
    b"\r\n"
    b"We lost the game.  Are you hungry yet?\r\n"
    b"\r\n"
    b"Joe.\r\n"
    b"\r\n"
)
RFC8463_MESSAGE = (
    b"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    b" d=football.example.com; i=@football.example.com;\r\n"
    b" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    b" subject : date : message-id : from : subject : date;\r\n"
    b" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    b" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    b" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    b" d=football.example.com; i=@football.example.com;\r\n"
    b" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    b" date : message-id : from : subject : date;\r\n"
    b" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    b" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    b" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    b" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n" + RFC8463_UNSIGNED
)


def test_rfc8463_example_verifies_both_signatures() -> None:
    outcome = run(RFC8463_MESSAGE, Keys(dict(RFC8463_KEYS)))
    assert [(s.result, s.selector, s.algorithm) for s in outcome.signatures] == [
        (Result.PASS, "brisbane", "ed25519-sha256"),
        (Result.PASS, "test", "rsa-sha256"),
    ]
    assert outcome.result == "pass"
    assert [s.key_bits for s in outcome.signatures] == [256, 1024]
    assert outcome.signatures[0].auid == "@football.example.com"


def test_rfc8463_example_tampered() -> None:
    body = RFC8463_MESSAGE.replace(b"hungry", b"Hungry")
    assert {s.reason.split(":")[0] for s in run(body, Keys(dict(RFC8463_KEYS))).signatures} == {
        "body hash did not verify"
    }
    head = RFC8463_MESSAGE.replace(b"Is dinner ready?", b"Is dinner ready!")
    outcome = run(head, Keys(dict(RFC8463_KEYS)))
    assert [s.result for s in outcome.signatures] == [Result.FAIL, Result.FAIL]
    assert "signed header" in outcome.signatures[0].reason
    assert outcome.result == "fail"


def test_rfc8463_secret_key_signs_the_same_body_hash_and_verifies() -> None:
    seed = base64.b64decode(RFC8463_SEED)
    key = SigningKey(
        "football.example.com", "brisbane", ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    )
    public = key.private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert (
        base64.b64encode(public).decode()
        == RFC8463_KEYS["brisbane._domainkey.football.example.com"].rpartition("p=")[2]
    )
    header = sign(RFC8463_UNSIGNED, key)
    assert b"bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;" in header
    outcome = run(header + RFC8463_UNSIGNED, Keys(dict(RFC8463_KEYS)))
    assert outcome.signatures[0].result is Result.PASS


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: lunch\r\n"
    b"Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n"
    b"\r\n"
    b"Shall we?\r\n"
)


def signer(**options: object) -> Signer:
    keys = [
        SigningKey("example.com", "rsa", rsa_key()),
        SigningKey("example.com", "ed", ed_key()),
    ]
    return Signer(keys, **options)  # type: ignore[arg-type]


def keys(**overrides: str | list[str] | Exception) -> Keys:
    records: dict[str, str | list[str] | Exception] = {
        "rsa._domainkey.example.com": key_record(rsa_key().public_key()).to_text(),
        "ed._domainkey.example.com": key_record(ed_key().public_key()).to_text(),
    }
    records.update({f"{name}._domainkey.example.com": value for name, value in overrides.items()})
    return Keys(records)


def results(message: bytes, resolver: Keys | None = None, **options: int) -> list[Result]:
    return [s.result for s in run(message, resolver or keys(), **options).signatures]


def test_dual_signing_one_pass_both_pass() -> None:
    signed = signer().sign_message(MESSAGE)
    assert signed.count(b"DKIM-Signature:") == 2
    resolver = keys()
    outcome = run(signed, resolver)
    assert [(s.result, s.algorithm) for s in outcome.signatures] == [
        (Result.PASS, "rsa-sha256"),
        (Result.PASS, "ed25519-sha256"),
    ]
    assert sorted(resolver.queries) == ["ed._domainkey.example.com", "rsa._domainkey.example.com"]


def test_signature_fields_are_folded_under_78_columns() -> None:
    for field in signer().sign(MESSAGE):
        lines = field.decode().split("\r\n")
        assert lines[-1] == "" and all(len(line) <= 78 for line in lines)
        assert all(line[:1] in ("\t", "D") for line in lines[:-1])


def test_oversigned_from_blocks_an_added_from() -> None:
    signed = signer().sign_message(MESSAGE)
    assert b"h=from:from:" in signed.replace(b"\r\n\t", b"")
    added = signed.replace(b"From: Alice", b"From: Mallory <m@evil.example>\r\nFrom: Alice")
    assert results(added) == [Result.FAIL, Result.FAIL]
    unsigned_added = signed.replace(b"Subject:", b"X-Mailer: list\r\nSubject:")
    assert results(unsigned_added) == [Result.PASS, Result.PASS]


def test_configurable_headers_and_oversigning() -> None:
    signed = signer(headers=("from", "subject"), oversign=("from", "subject")).sign_message(MESSAGE)
    assert b"h=from:from:subject:subject;" in signed
    assert results(signed.replace(b"Subject: lunch", b"Subject: lunch\r\nSubject: x")) == [
        Result.FAIL,
        Result.FAIL,
    ]
    assert results(signed.replace(b"To: bob", b"To: eve")) == [Result.PASS, Result.PASS]


def test_no_signature_is_none() -> None:
    outcome = run(MESSAGE, keys())
    assert outcome.signatures == () and outcome.result == "none"


def test_key_lookup_failures() -> None:
    signed = signer().sign_message(MESSAGE)
    outcome = run(signed, keys(rsa=TempError("rsa._domainkey.example.com", "TXT", "timeout")))
    assert [s.result for s in outcome.signatures] == [Result.TEMPERROR, Result.PASS]
    assert "timeout" in outcome.signatures[0].reason
    outcome = run(signed, Keys({}))
    assert [s.result for s in outcome.signatures] == [Result.PERMERROR, Result.PERMERROR]
    assert outcome.signatures[0].reason.startswith("no key record")


def short_rsa_record() -> str:
    """An RSA key of 768 bits (cryptography will not generate one; built from numbers)."""
    public = rsa.RSAPublicNumbers(65537, (1 << 767) | 0xF1).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def rsa_p() -> str:
    return key_record(rsa_key().public_key()).key_data


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("v=DKIM1; k=rsa; p=", "revoked"),
        (short_rsa_record(), "under 1024"),
        (f"v=DKIM1; k=ed25519; p={'A' * 43}=", "k=ed25519, the signature a=rsa-sha256"),
        ("v=DKIM1; h=sha1; p=" + "{p}", "only h=sha1"),
        ("v=DKIM1; s=other; p=" + "{p}", "s=other, not email"),
        ("v=DKIM1; p=bm90IGEga2V5", "usable public key"),
        ("v=DKIM2; p={p}", "v=DKIM2"),
        (["v=DKIM1; p={p}", "v=DKIM1; p={p}"], "2 TXT records"),
    ],
)
def test_unusable_keys_are_permerror(record: str | list[str], reason: str) -> None:
    signed = signer().sign_message(MESSAGE)
    fill = (
        [r.replace("{p}", rsa_p()) for r in record]
        if isinstance(record, list)
        else record.replace("{p}", rsa_p())
    )
    outcome = run(signed, keys(rsa=fill))
    first = outcome.signatures[0]
    assert first.result is Result.PERMERROR and reason in first.reason
    assert outcome.signatures[1].result is Result.PASS  # the other signature is judged alone


def test_key_options_that_still_pass() -> None:
    signed = signer().sign_message(MESSAGE)
    p = rsa_p()
    for record in (f"v=DKIM1; h=sha1:sha256; s=email; p={p}", f"p={p}", f"k=rsa; s=*; p={p}"):
        assert results(signed, keys(rsa=record))[0] is Result.PASS
    outcome = run(signed, keys(rsa=f"v=DKIM1; t=y; p={p}"))
    first = outcome.signatures[0]
    assert first.result is Result.PASS and first.testing and "testing" in first.warnings[0]


def test_t_s_forbids_an_identity_in_a_subdomain() -> None:
    p = rsa_p()
    sub = signer(identity="alice@mail.example.com").sign_message(MESSAGE)
    assert results(sub, keys(rsa=f"v=DKIM1; t=s; p={p}"))[0] is Result.PERMERROR
    assert results(sub, keys(rsa=f"v=DKIM1; p={p}"))[0] is Result.PASS
    same = signer(identity="alice@example.com").sign_message(MESSAGE)
    assert results(same, keys(rsa=f"v=DKIM1; t=s; p={p}"))[0] is Result.PASS


def test_expiry() -> None:
    signed = signer(expire_after=3600).sign_message(MESSAGE, now=1_800_000_000)
    assert results(signed, now=1_800_000_000 + 3600) == [Result.PASS, Result.PASS]
    outcome = run(signed, keys(), now=1_800_000_000 + 3601)
    assert [s.result for s in outcome.signatures] == [Result.PERMERROR, Result.PERMERROR]
    assert "expired" in outcome.signatures[0].reason


def test_body_length_is_honoured_and_flagged_unsafe() -> None:
    signed = signer(body_length=True).sign_message(MESSAGE)
    appended = signed + b"\r\nClick here: http://evil.example/\r\n"
    outcome = run(appended, keys())
    assert [s.result for s in outcome.signatures] == [Result.PASS, Result.PASS]
    assert all("appended" in s.warnings[0] for s in outcome.signatures)
    truncated = signed.replace(b"Shall we?\r\n", b"Shall\r\n")
    outcome = run(truncated, keys())
    assert outcome.signatures[0].result is Result.PERMERROR
    assert "longer than the body" in outcome.signatures[0].reason


def test_malformed_and_forbidden_signatures() -> None:
    signed = signer().sign_message(MESSAGE)
    no_bh = signed.replace(b"bh=", b"xh=", 1)
    outcome = run(no_bh, keys())
    assert outcome.signatures[0].result is Result.PERMERROR
    assert "bh=" in outcome.signatures[0].reason
    sha1 = signed.replace(b"a=rsa-sha256", b"a=rsa-sha1")
    assert "rsa-sha1" in run(sha1, keys()).signatures[0].reason
    no_from = signed.replace(b"h=from:from:", b"h=")
    assert "From" in run(no_from, keys()).signatures[0].reason
    garbage = b"DKIM-Signature: \x00\xff;;==;\r\n" + MESSAGE
    outcome = run(garbage, keys())
    assert outcome.signatures[0].result is Result.PERMERROR and outcome.result == "permerror"


def test_several_signatures_each_reported_and_bounded() -> None:
    good = signer().sign(MESSAGE)
    other = Signer([SigningKey("esp.example", "s1", rsa_key())]).sign(MESSAGE)
    message = other[0] + b"".join(good) + MESSAGE
    outcome = run(message, keys())
    assert [(s.result, s.domain) for s in outcome.signatures] == [
        (Result.PERMERROR, "esp.example"),
        (Result.PASS, "example.com"),
        (Result.PASS, "example.com"),
    ]
    assert outcome.result == "pass" and len(outcome.passed) == 2
    many = good[1] * (MAX_SIGNATURES + 5) + MESSAGE
    resolver = keys()
    outcome = run(many, resolver)
    assert len(outcome.signatures) == MAX_SIGNATURES + 5
    assert [s.result for s in outcome.signatures].count(Result.PASS) == MAX_SIGNATURES
    assert outcome.signatures[-1].result is Result.NEUTRAL
    assert resolver.queries == ["ed._domainkey.example.com"]  # one lookup per key name


def test_huge_header_block_is_a_defined_verdict() -> None:
    outcome = run(b"X: y\r\n" * 5000 + b"\r\n", keys())
    assert outcome.error is not None and outcome.result == "permerror"


def test_lf_message_signs_and_verifies_in_lf_and_crlf() -> None:
    lf = MESSAGE.replace(b"\r\n", b"\n")
    signed = signer(canonicalization="simple/simple").sign_message(lf)
    assert b"\r" not in signed
    assert results(signed) == [Result.PASS, Result.PASS]
    assert results(signed.replace(b"\n", b"\r\n")) == [Result.PASS, Result.PASS]


def test_keys_and_options_are_checked() -> None:
    with pytest.raises(ValueError, match="canonicalization"):
        Signer([SigningKey("example.com", "ed", ed_key())], canonicalization="loose/simple")
    with pytest.raises(ValueError, match="at least one key"):
        Signer([])
    with pytest.raises(ValueError, match="unknown key algorithm"):
        generate_key("rsa-1024")
    pem = private_key_pem(ed_key())
    assert SigningKey.from_pem(pem, domain="d.example", selector="s").algorithm == "ed25519-sha256"


def test_signer_refuses_bad_names_and_identities() -> None:
    with pytest.raises(ValueError, match="not a DNS name"):
        SigningKey("exa mple.com", "s1", ed_key())
    with pytest.raises(ValueError, match="not a DNS name"):
        SigningKey("example.com", "s1;x=1", ed_key())
    with pytest.raises(ValueError, match="not within"):
        Signer([SigningKey("example.com", "ed", ed_key())], identity="a@example.org")
    header = sign(MESSAGE, SigningKey("example.com", "ed", ed_key()), now=1_800_000_000)
    assert b"t=1800000000;" in header and header.endswith(b"\r\n")
