"""records/dnssec.py: DS and DNSKEY rdata, key tags and DS digests (checked with dnspython)."""

from __future__ import annotations

import base64
import functools

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from mailward.codes import Severity
from mailward.records import dnssec
from mailward.records.dnssec import DnskeyRecord, DsRecord, parse_dnskey, parse_ds

SHA256_HEX = "49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE6EB0C1F3D9F21DF5BDD0F6D1"
SHA1_HEX = "2BB183AF5F22588179A53B0A98631FAD1A292118"
SHA384_HEX = (
    "72D7B62976CE06438E9C0BF319013CF801F09ECC84B8D7E9"
    "495F27E305C6A9B0563A9B5F4D288405C3008A946DF983D6"
)
RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw
# RFC 4034 §5.4: this key has key tag 60485 and, at dskey.example.com., this SHA-1 DS.
RFC4034_KEY = (
    "256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZ"
    "DRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG"
    "9DMBmADjFDc2w/rljwvFw=="
)


def slugs(record: DsRecord | DnskeyRecord) -> list[str]:
    return [d.slug for d in record.diagnostics]


@functools.cache
def public_key(algorithm: int) -> bytes:
    """A fresh public key in DNSKEY format for ``algorithm`` (generated once per run)."""
    if algorithm in (5, 8, 10):
        numbers = rsa.generate_private_key(65537, 2048).public_key().public_numbers()
        exponent = numbers.e.to_bytes(3, "big")
        return bytes([len(exponent)]) + exponent + numbers.n.to_bytes(256, "big")
    if algorithm in (13, 14):
        curve = ec.SECP256R1() if algorithm == 13 else ec.SECP384R1()
        point = (
            ec.generate_private_key(curve)
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        return point[1:]
    if algorithm == 15:
        return ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(*RAW)
    return ed448.Ed448PrivateKey.generate().public_key().public_bytes(*RAW)


def dnskey_text(algorithm: int, flags: int = 257) -> str:
    return f"{flags} 3 {algorithm} {base64.b64encode(public_key(algorithm)).decode()}"


# --- the inputs named in the brief ------------------------------------------------------------


def test_sha256_digest_of_the_wrong_length() -> None:
    record = parse_ds("12345 8 2 0234567890ABCDEF1234567890ABCDEF1234567890")
    assert slugs(record) == ["ds.digest-length"]
    message = record.diagnostics[0].message
    # The brief calls this digest 40 digits; it has 42 (no digest type fits, so no fix).
    assert message.startswith("42 hex digits, but digest type 2 (SHA-256) needs 64")
    assert record.diagnostics[0].fix is None
    assert record.diagnostics[0].column == 11


def test_sha1_digest_under_sha256_proposes_type_1() -> None:
    record = parse_ds(f"12345 13 2 {SHA1_HEX}")
    [problem] = record.diagnostics
    assert problem.message == (
        "40 hex digits, but digest type 2 (SHA-256) needs 64 — this looks like a SHA-1 "
        "digest (type 1)"
    )
    assert problem.fix == f"12345 13 1 {SHA1_HEX}"


def test_sha256_digest_under_sha384_proposes_type_2() -> None:
    [problem] = parse_ds(f"1 13 4 {SHA256_HEX}").diagnostics
    assert "SHA-256 digest (type 2)" in problem.message
    assert problem.fix == f"1 13 2 {SHA256_HEX}"


# --- one row per code, each with a near miss that must not report it ---------------------------

DS_CASES = [
    ("ds.syntax", "12345 13 2", f"12345 13 2 {SHA256_HEX}"),
    ("ds.syntax", f"65536 13 2 {SHA256_HEX}", f"65535 13 2 {SHA256_HEX}"),
    ("ds.syntax", f"12345 13 SHA-999 {SHA256_HEX}", f"12345 13 SHA-256 {SHA256_HEX}"),
    ("ds.syntax", f"12345 13 2 ( {SHA256_HEX}", f"12345 13 2 ( {SHA256_HEX} )"),
    ("ds.digest-length", f"12345 13 2 {SHA256_HEX}A", f"12345 13 2 {SHA256_HEX}"),
    ("ds.digest-length", f"12345 13 4 {SHA256_HEX}", f"12345 13 4 {SHA384_HEX}"),
    ("ds.digest-not-hex", "12345 13 2 " + "G" * 64, "12345 13 2 " + SHA256_HEX.lower()),
    ("ds.algorithm-deprecated", f"12345 5 2 {SHA256_HEX}", f"12345 8 2 {SHA256_HEX}"),
    ("ds.algorithm-deprecated", f"12345 RSAMD5 2 {SHA256_HEX}", f"12345 ED25519 2 {SHA256_HEX}"),
    ("ds.algorithm-unknown", f"12345 99 2 {SHA256_HEX}", f"12345 253 2 {SHA256_HEX}"),
    ("ds.algorithm-unknown", f"12345 2 2 {SHA256_HEX}", f"12345 14 2 {SHA256_HEX}"),
    ("ds.digest-sha1", f"12345 13 1 {SHA1_HEX}", f"12345 13 2 {SHA256_HEX}"),
    ("ds.digest-type-unsupported", f"12345 13 3 {SHA256_HEX}", f"12345 13 5 {SHA256_HEX}"),
    ("ds.digest-type-unsupported", f"12345 13 9 {SHA256_HEX}", f"12345 13 6 {SHA256_HEX}"),
]


@pytest.mark.parametrize(("slug", "bad", "good"), DS_CASES)
def test_ds_codes(slug: str, bad: str, good: str) -> None:
    assert slug in slugs(parse_ds(bad))
    assert slugs(parse_ds(good)) == []


def test_ds_severities_follow_rfc_9904() -> None:
    must_not = parse_ds(f"1 1 2 {SHA256_HEX}").diagnostics[0]
    not_recommended = parse_ds(f"1 10 2 {SHA256_HEX}").diagnostics[0]
    assert (must_not.severity, not_recommended.severity) == (Severity.ERROR, Severity.WARNING)
    assert "RSAMD5" in must_not.message and "MUST NOT" in must_not.message


def test_ds_digest_fixes() -> None:
    [problem] = parse_ds(f"1 13 2 0x{SHA256_HEX}").diagnostics
    assert problem.slug == "ds.digest-not-hex" and "0x" in problem.message
    assert problem.fix == f"1 13 2 {SHA256_HEX}"
    [problem] = parse_ds("1 13 2 " + "Z" * 64).diagnostics
    assert problem.fix is None


def test_ds_mnemonics_whitespace_and_case() -> None:
    record = parse_ds(
        f"  12345\tECDSAP256SHA256 SHA-256 {SHA256_HEX[:20].lower()} {SHA256_HEX[20:]}"
    )
    assert record == DsRecord(12345, 13, 2, SHA256_HEX)
    assert record.diagnostics == ()
    assert record.to_text() == f"12345 13 2 {SHA256_HEX}"
    assert parse_ds(f"1 ecdsa-p384-sha384 sha384 {SHA384_HEX}") == DsRecord(1, 14, 4, SHA384_HEX)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# {k8} / {k13}: a real RSA-2048 / ECDSA P-256 public key, generated when the test runs.
DNSKEY_CASES = [
    ("dnskey.syntax", "257 3", "257 3 13 {k13}"),
    ("dnskey.syntax", "257 3 13", "257 3 13 {k13}"),
    ("dnskey.syntax", "70000 3 13 {k13}", "257 3 13 {k13}"),
    ("dnskey.syntax", "257 3 ECDSA {k13}", "257 3 ECDSAP256SHA256 {k13}"),
    ("dnskey.key-invalid", "257 3 13 AAAA", "257 3 13 {k13}"),
    ("dnskey.key-invalid", "257 3 13 {k13}!", "257 3 13 {k13}"),
    ("dnskey.key-invalid", "257 3 13 " + b64(b"\x01" * 64), "257 3 13 {k13}"),
    ("dnskey.key-invalid", "257 3 15 " + b64(b"\x01" * 31), "257 3 15 " + b64(b"\x01" * 32)),
    ("dnskey.key-invalid", "257 3 8 " + b64(b"\x03\x01\x00\x01"), "257 3 8 {k8}"),
    ("dnskey.key-invalid", "257 3 8 " + b64(b"\x01\x03\x00" + b"\xff" * 64), "257 3 8 {k8}"),
    ("dnskey.algorithm-deprecated", "257 3 5 {k8}", "257 3 8 {k8}"),
    ("dnskey.algorithm-deprecated", "257 3 RSASHA512 {k8}", "257 3 RSASHA256 {k8}"),
    ("dnskey.algorithm-unknown", "257 3 99 {k13}", "257 3 13 {k13}"),
    ("dnskey.flags", "257 2 13 {k13}", "257 3 13 {k13}"),
    ("dnskey.flags", "1 3 13 {k13}", "257 3 13 {k13}"),
]


@pytest.mark.parametrize(("slug", "bad", "good"), DNSKEY_CASES)
def test_dnskey_codes(slug: str, bad: str, good: str) -> None:
    keys = {"k8": b64(public_key(8)), "k13": b64(public_key(13))}
    assert slug in slugs(parse_dnskey(bad.format(**keys)))
    assert slugs(parse_dnskey(good.format(**keys))) == []


@pytest.mark.parametrize("algorithm", [8, 13, 14, 15, 16])
def test_dnskey_real_keys_are_clean(algorithm: int) -> None:
    record = parse_dnskey(dnskey_text(algorithm))
    assert slugs(record) == []
    assert record.key_bytes == public_key(algorithm)


def test_dnskey_flags() -> None:
    key = base64.b64encode(public_key(13)).decode()
    protocol = parse_dnskey(f"257 2 13 {key}").diagnostics[0]
    assert (protocol.slug, protocol.severity) == ("dnskey.flags", Severity.ERROR)
    assert protocol.fix == f"257 3 13 {key}"
    not_zone = parse_dnskey(f"1 3 13 {key}").diagnostics[0]
    assert (not_zone.slug, not_zone.severity) == ("dnskey.flags", Severity.WARNING)
    reserved = parse_dnskey(f"258 3 13 {key}").diagnostics[0]
    assert reserved.fix == f"256 3 13 {key}"
    revoked = parse_dnskey(f"385 3 13 {key}")
    assert revoked.is_revoked and revoked.diagnostics[0].severity == Severity.INFO
    for flags in (256, 257):
        assert slugs(parse_dnskey(f"{flags} 3 13 {key}")) == []
    assert parse_dnskey(f"257 3 13 {key}").is_sep and not parse_dnskey(f"256 3 13 {key}").is_sep


def test_dnskey_base64_may_be_split_and_parenthesised() -> None:
    record = parse_dnskey(
        RFC4034_KEY.replace("256 3 5 ", "256 3 5 ( ").replace("DRD99", " DRD99") + " )"
    )
    assert record.key == RFC4034_KEY.split()[3]
    assert slugs(record) == ["dnskey.algorithm-deprecated"]  # RSASHA1


# --- key tags and DS digests ------------------------------------------------------------------


def test_rfc_4034_example() -> None:
    key = parse_dnskey(RFC4034_KEY)
    assert dnssec.key_tag(key) == 60485
    ds = dnssec.ds_from_dnskey("dskey.example.com.", key, 1)
    assert ds == DsRecord(60485, 5, 1, SHA1_HEX)


@pytest.mark.parametrize("algorithm", [8, 13, 14, 15, 16])
@pytest.mark.parametrize("digest", [1, 2, 4])
def test_key_tag_and_ds_match_dnspython(algorithm: int, digest: int) -> None:
    text = dnskey_text(algorithm)
    theirs = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, text)
    ours = parse_dnskey(text)
    assert dnssec.key_tag(ours) == dns.dnssec.key_id(theirs)  # type: ignore[arg-type]
    owner = "Mail.Example.COM."
    hash_name = {1: "SHA1", 2: "SHA256", 4: "SHA384"}[digest]
    # dnspython refuses to make SHA-1 DS records by default (RFC 9904); allow it to compare.
    expected = dns.dnssec.make_ds(owner, theirs, hash_name, policy=dns.dnssec.allow_all_policy)
    made = dnssec.ds_from_dnskey(owner, ours, digest)
    assert made == parse_ds(expected.to_text())
    assert made.diagnostics == () and slugs(parse_ds(made.to_text())) == (
        ["ds.digest-sha1"] if digest == 1 else []
    )


def test_key_tag_rsamd5_rule_matches_dnspython() -> None:
    text = dnskey_text(5).replace(" 5 ", " 1 ", 1)
    theirs = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, text)
    assert dnssec.key_tag(parse_dnskey(text)) == dns.dnssec.key_id(theirs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", ["example.com", "example.com.", ".", "A\\.B.example.", "\\065x.example.", "a.b-c.d."]
)
def test_name_to_wire_matches_dnspython(name: str) -> None:
    expected = dns.name.from_text(name).canonicalize().to_wire()
    assert dnssec.name_to_wire(name) == expected


@pytest.mark.parametrize("name", ["a..b", "é.example", "x" * 64 + ".example", "a\\"])
def test_name_to_wire_rejects(name: str) -> None:
    with pytest.raises(ValueError):
        dnssec.name_to_wire(name)


def test_ds_from_dnskey_rejects_what_it_cannot_compute() -> None:
    key = parse_dnskey(dnskey_text(13))
    with pytest.raises(ValueError):
        dnssec.ds_from_dnskey("example.com.", key, 3)
    with pytest.raises(ValueError):
        dnssec.ds_from_dnskey("example.com.", parse_dnskey("257 3 13 !!"), 2)
    assert dnssec.ds_from_dnskey("example.com.", key, "SHA-256").digest_type == 2


# --- properties --------------------------------------------------------------------------------

hex_digests = st.sampled_from([20, 32, 48]).flatmap(
    lambda n: st.binary(min_size=n, max_size=n).map(lambda b: b.hex().upper())
)
ds_records = st.builds(
    DsRecord,
    key_tag=st.integers(0, 65535),
    algorithm=st.integers(0, 255),
    digest_type=st.integers(0, 255),
    digest=hex_digests,
)
dnskey_records = st.builds(
    DnskeyRecord,
    flags=st.integers(0, 65535),
    protocol=st.integers(0, 255),
    algorithm=st.integers(0, 255),
    key=st.binary(min_size=1, max_size=300).map(lambda b: base64.b64encode(b).decode()),
)


@given(ds_records)
def test_ds_round_trip(record: DsRecord) -> None:
    assert parse_ds(record.to_text()) == record


@given(dnskey_records)
def test_dnskey_round_trip(record: DnskeyRecord) -> None:
    assert parse_dnskey(record.to_text()) == record


@given(st.text())
def test_parsers_never_raise(text: str) -> None:
    parse_ds(text).to_text()
    key = parse_dnskey(text)
    key.to_text()
    dnssec.key_tag(key)


@given(st.lists(st.sampled_from(["1", "13", "2", "257", "3", "SHA-1", "(", ")", "AAAA", "ZZ", ""])))
def test_parsers_never_raise_on_plausible_fields(words: list[str]) -> None:
    parse_ds(" ".join(words))
    parse_dnskey(" ".join(words))
