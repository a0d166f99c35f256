"""records/dkim.py: key records, DKIM-Signature header values, and the key builder."""

from __future__ import annotations

import base64
import functools
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from mailward.codes import Severity
from mailward.records import _txt, dkim
from mailward.records.dkim import DkimKey, DkimSignature, parse_key, parse_signature

# RFC 8463 Appendix A.2: the Ed25519 key record of the example signature.
RFC8463_KEY = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
# RFC 6376 Appendix A.2: a folded signature with spaces around the colons of h=.
RFC6376_SIGNATURE = (
    "v=1; a=rsa-sha256; s=brisbane; d=example.com;\r\n"
    "      c=simple/simple; q=dns/txt; i=joe@football.example.com;\r\n"
    "      h=Received : From : To : Subject : Date : Message-ID;\r\n"
    "      bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    "      b=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB\r\n"
    "        4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut\r\n"
    "        KVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV\r\n"
    "        4bmp/YzhwvcubU4=;"
)
BH = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
SIG = "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1; h=from:to; bh=" + BH


def slugs(record: DkimKey | DkimSignature) -> list[str]:
    return [d.slug for d in record.diagnostics]


@functools.cache
def rsa_key(bits: int) -> rsa.RSAPublicKey:
    return rsa.generate_private_key(65537, bits).public_key()


@functools.cache
def ed_key() -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PrivateKey.generate().public_key()


def short_rsa_record() -> str:
    """An RSA key of 768 bits (cryptography will not generate one; build it from numbers)."""
    key = rsa.RSAPublicNumbers(65537, (1 << 767) | 0xF1).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def rsa_record(bits: int = 2048) -> str:
    return dkim.key_record(rsa_key(bits)).to_text()


def ed_record() -> str:
    return dkim.key_record(ed_key()).to_text()


# --- the input named in the brief --------------------------------------------------------------


def test_placeholder_is_exactly_one_key_invalid() -> None:
    record = parse_key("v=DKIM1; k=rsa; p=PUBLIC_KEY_HERE")
    [problem] = record.diagnostics
    assert problem.slug == "dkim.key-invalid"
    assert "placeholder" in problem.message and problem.tag == "p" and problem.column == 17


@pytest.mark.parametrize("value", ["<key>", "...", "YOUR-DKIM-KEY", "{{dkim_key}}", "[paste]"])
def test_other_placeholders(value: str) -> None:
    [problem] = parse_key(f"v=DKIM1; p={value}").diagnostics
    assert problem.slug == "dkim.key-invalid" and "placeholder" in problem.message


# --- the builder and real keys ------------------------------------------------------------------


def test_key_record_rsa_2048() -> None:
    text = rsa_record(2048)
    assert text.startswith("v=DKIM1; k=rsa; p=MIIBIjAN")
    record = parse_key(text)
    assert record.diagnostics == () and record.key_bits == 2048
    loaded = record.load()
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.public_numbers() == rsa_key(2048).public_numbers()


def test_key_record_ed25519_is_the_raw_key() -> None:
    record = parse_key(ed_record())
    assert record.diagnostics == () and record.key_type == "ed25519"
    assert base64.b64decode(record.key_data) == ed_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert record.key_bits == 256


def test_key_record_rejects_other_keys() -> None:
    with pytest.raises(TypeError):
        dkim.key_record(ec.generate_private_key(ec.SECP256R1()).public_key())  # type: ignore[arg-type]


def test_rfc_8463_key() -> None:
    record = parse_key(RFC8463_KEY)
    assert record.diagnostics == () and isinstance(record.load(), ed25519.Ed25519PublicKey)


def test_zone_split_key_parses_when_joined() -> None:
    text = rsa_record(2048)
    zone = _txt.to_zone_text(text)
    strings = re.findall(r'"((?:[^"\\]|\\.)*)"', zone)
    assert len(strings) == 2 and all(len(s) <= 255 for s in strings)
    assert parse_key("".join(strings)) == parse_key(text)
    # Pasted with the quotes still on: one diagnostic, whose fix is the joined value.
    quoted = parse_key(zone)
    assert slugs(quoted) == ["dkim.syntax"] and quoted.diagnostics[0].fix == text
    assert quoted == parse_key(text)


def test_whitespace_inside_p_is_folding() -> None:
    text = rsa_record(2048)
    head, key = text.split("p=")
    folded = head + "p=" + " \r\n\t".join(key[i : i + 60] for i in range(0, len(key), 60))
    assert parse_key(folded) == parse_key(text) and parse_key(folded).diagnostics == ()


def test_pkcs1_rsa_key_is_accepted() -> None:
    der = rsa_key(2048).public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    record = parse_key("v=DKIM1; p=" + base64.b64encode(der).decode())
    assert record.diagnostics == () and record.key_bits == 2048


# --- one row per code, each with a near miss ------------------------------------------------------


def key_cases() -> list[tuple[str, str, str]]:
    good = rsa_record(2048)
    p = good.split("p=")[1]
    ed = ed_record()
    ed_p = ed.split("p=")[1]
    spki = ed_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return [
        ("dkim.key-invalid", "v=DKIM1; k=rsa; p=PUBLIC_KEY_HERE", good),
        ("dkim.key-invalid", f'v=DKIM1; k=rsa; p={p[:100]}" "{p[100:]}', good),
        ("dkim.key-invalid", f"v=DKIM1; k=rsa; p={p[:-4]}", good),
        ("dkim.key-invalid", "v=DKIM1; k=rsa; p=" + base64.b64encode(b"x" * 100).decode(), good),
        ("dkim.key-invalid", f"v=DKIM1; k=dsa; p={p}", good),
        ("dkim.key-invalid", f"v=DKIM1; k=ed25519; p={p}", good),
        ("dkim.key-invalid", f"v=DKIM1; p={ed_p}", ed),
        ("dkim.key-invalid", "v=DKIM1; k=ed25519; p=" + base64.b64encode(spki).decode(), ed),
        ("dkim.key-invalid", "v=DKIM1; k=ed25519; p=" + base64.b64encode(b"1" * 31).decode(), ed),
        ("dkim.key-invalid", f"v=DKIM1; s=dns; p={p}", f"v=DKIM1; s=email:dns; p={p}"),
        ("dkim.key-invalid", f"v=DKIM1; h=sha512; p={p}", f"v=DKIM1; h=sha512:sha256; p={p}"),
        ("dkim.key-too-short", short_rsa_record(), rsa_record(1024)),
        ("dkim.weak-key", rsa_record(1024), good),
        ("dkim.revoked", "v=DKIM1; k=rsa; p=", good),
        ("dkim.testing", f"v=DKIM1; t=y; p={p}", f"v=DKIM1; t=s; p={p}"),
        ("dkim.syntax", f"k=rsa; v=DKIM1; p={p}", f"v=DKIM1; k=rsa; p={p}"),
        ("dkim.syntax", f"v=DKIM2; p={p}", f"v=DKIM1; p={p}"),
        ("dkim.syntax", "v=DKIM1; k=rsa", good),
        ("dkim.syntax", f"v=DKIM1; k=rsa; junk; p={p}", f"v=DKIM1; k=rsa; p={p}"),
        ("dkim.syntax", f"v=DKIM1; k=rsa; p={p}; k=rsa", good),
        ("dkim.syntax", f"v=DKIM1; pk={p}", good),
        ("dkim.sha1", f"v=DKIM1; h=sha1; p={p}", f"v=DKIM1; h=sha1:sha256; p={p}"),
    ]


def test_key_codes() -> None:
    for slug, bad, good in key_cases():
        assert slug in slugs(parse_key(bad)), (slug, bad[:60], slugs(parse_key(bad)))
        near = slugs(parse_key(good))
        assert slug not in near and all(s == "dkim.weak-key" for s in near), (good[:60], near)


def test_key_fixes() -> None:
    good = rsa_record(2048)
    p = good.split("p=")[1]
    quoted = parse_key(f'v=DKIM1; k=rsa; p={p[:100]}" "{p[100:]}').diagnostics[0]
    assert quoted.fix == good and "quote" in quoted.message
    unpadded = parse_key(f"v=DKIM1; k=ed25519; p={ed_record().split('p=')[1].rstrip('=')}")
    assert unpadded.diagnostics[0].fix == ed_record()
    assert parse_key(f"v=DKIM1; p={ed_record().split('p=')[1]}").diagnostics[0].fix == ed_record()
    testing = parse_key(f"v=DKIM1; k=rsa; t=y:s; p={p}").diagnostics[0]
    assert testing.fix == f"v=DKIM1; k=rsa; t=s; p={p}"
    sha1 = parse_key(f"v=DKIM1; h=sha1; k=rsa; p={p}").diagnostics[0]
    assert sha1.fix == good
    first = [d for d in parse_key(f"k=rsa; v=DKIM1; p={p}").diagnostics if d.tag == "v"]
    assert first[0].fix == good
    assert parse_key(f"v=dkim1; k=rsa; p={p}").diagnostics[0].fix == good


def test_severities() -> None:
    assert parse_key("v=DKIM1; p=").diagnostics[0].severity == Severity.INFO
    typo = parse_key(f"v=DKIM1; T=y; {ed_record().split('; ', 1)[1]}").diagnostics[0]
    assert (typo.slug, typo.severity, typo.tag) == ("dkim.syntax", Severity.WARNING, "T")
    assert "did you mean t=" in typo.message


def test_unknown_tags_are_kept() -> None:
    record = parse_key(f"{ed_record()}; xyz=1")
    assert record.extensions == (("xyz", "1"),) and record.diagnostics == ()
    assert parse_key(record.to_text()) == record


# --- DKIM-Signature ----------------------------------------------------------------------------


def test_rfc_6376_signature() -> None:
    signature = parse_signature(RFC6376_SIGNATURE)
    assert signature.diagnostics == ()
    assert signature.headers == ("Received", "From", "To", "Subject", "Date", "Message-ID")
    assert signature.identity == "joe@football.example.com" and signature.query_methods == (
        "dns/txt",
    )
    assert signature.signature.startswith(
        "AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB4nuj"
    )
    assert signature.signature_bytes is not None and len(signature.signature_bytes) == 128
    assert (signature.header_canonicalization, signature.body_canonicalization) == (
        "simple",
        "simple",
    )
    assert parse_signature(signature.to_text()) == signature
    assert signature.to_text().endswith("; b=" + signature.signature)


def test_b_location_for_the_verifier() -> None:
    signature = parse_signature(RFC6376_SIGNATURE)
    [b] = [tag for tag in signature.tags if tag.name == "b"]
    assert RFC6376_SIGNATURE[b.start : b.value_start] == "b="
    assert RFC6376_SIGNATURE[b.value_end] == ";"
    blanked = dkim.without_b(RFC6376_SIGNATURE)
    assert blanked.endswith("\r\n      b=;") and blanked.startswith(RFC6376_SIGNATURE[:100])
    # b= in the middle, with whitespace around its value: all of it goes, nothing else.
    text = "v=1; b = \r\n abc== \t; bh=xyz"
    assert dkim.without_b(text) == "v=1; b =; bh=xyz"
    assert dkim.without_b("v=1; bh=xyz") == "v=1; bh=xyz"


def test_relaxed_alone_means_relaxed_simple() -> None:
    signature = parse_signature(SIG.replace("c=relaxed/relaxed", "c=relaxed") + "; b=AAAA")
    assert signature.canonicalization == "relaxed/simple" and signature.diagnostics == ()


SIGNATURE_CASES = [
    ("dkim.signature-syntax", SIG.replace("d=example.com; ", ""), SIG),
    ("dkim.signature-syntax", SIG.replace("v=1", "v=2"), SIG),
    ("dkim.signature-syntax", SIG.replace("rsa-sha256", "rsa-sha512"), SIG),
    ("dkim.signature-syntax", SIG + "; i=joe@example.net", SIG + "; i=joe@mail.example.com"),
    ("dkim.signature-syntax", SIG + "; i=joe@notexample.com", SIG + "; i=@example.com"),
    ("dkim.signature-syntax", SIG + "; t=200; x=100", SIG + "; t=100; x=200"),
    ("dkim.signature-syntax", SIG + "; t=200; x=200", SIG + "; t=200"),
    ("dkim.signature-syntax", SIG.replace("from:to", "to:subject"), SIG.replace("from", "FROM")),
    ("dkim.signature-syntax", SIG.replace("relaxed/relaxed", "fancy"), SIG),
    ("dkim.signature-syntax", SIG.replace("bh=", "bh=%%"), SIG),
    ("dkim.signature-syntax", SIG + "; q=dns", SIG + "; q=dns/txt"),
    ("dkim.signature-syntax", SIG + "; t=soon", SIG + "; t=1700000000"),
    ("dkim.signature-syntax", SIG + "; x=" + "9" * 13, SIG + "; x=" + "9" * 12),
    ("dkim.signature-syntax", SIG.replace("d=example.com", "d=exa mple.com"), SIG),
    ("dkim.signature-syntax", SIG.replace("from:to", "from::to"), SIG),
    ("dkim.body-length", SIG + "; l=100", SIG),
    ("dkim.sha1", SIG.replace("rsa-sha256", "rsa-sha1"), SIG),
]


@pytest.mark.parametrize(("slug", "bad", "good"), SIGNATURE_CASES)
def test_signature_codes(slug: str, bad: str, good: str) -> None:
    assert slug in slugs(parse_signature(bad + "; b=AAAA"))
    assert slugs(parse_signature(good + "; b=AAAA")) == []


def test_missing_and_empty_b() -> None:
    assert "dkim.signature-syntax" in slugs(parse_signature(SIG))
    [problem] = parse_signature(SIG + "; b=").diagnostics
    assert problem.message == "b= is empty" and problem.tag == "b"


# --- properties --------------------------------------------------------------------------------

safe_value = st.from_regex(r"[!-:<-~]{0,12}", fullmatch=True)
b64_text = st.binary(max_size=80).map(lambda b: base64.b64encode(b).decode())
keys = st.builds(
    DkimKey,
    key_data=b64_text,
    key_type=st.sampled_from([None, "rsa", "ed25519"]),
    version=st.sampled_from([None, "DKIM1"]),
    hash_algorithms=st.sampled_from([None, ("sha256",), ("sha1", "sha256")]),
    service_types=st.sampled_from([None, ("*",), ("email",)]),
    flags=st.sampled_from([(), ("y",), ("s",), ("y", "s")]),
    notes=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9=]{0,20}", fullmatch=True)),
    extensions=st.lists(
        st.tuples(st.from_regex(r"x[a-z0-9_]{0,5}", fullmatch=True), safe_value),
        unique_by=lambda pair: pair[0],
        max_size=3,
    ).map(tuple),
)
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
domains = st.lists(labels, min_size=2, max_size=4).map(".".join)
signatures = st.builds(
    DkimSignature,
    domain=domains,
    selector=labels,
    headers=st.lists(st.sampled_from(["from", "to", "subject", "date"]), min_size=1).map(
        lambda hs: ("from", *hs)
    ),
    algorithm=st.sampled_from(dkim.ALGORITHMS),
    body_hash=b64_text,
    signature=b64_text,
    canonicalization=st.sampled_from(["simple/simple", "relaxed/simple", "relaxed/relaxed"]),
    identity=st.one_of(st.none(), st.just("@example.com")),
    length=st.one_of(st.none(), st.integers(0, 10**20)),
    query_methods=st.sampled_from([None, ("dns/txt",)]),
    timestamp=st.one_of(st.none(), st.integers(0, 10**12 - 1)),
    expiration=st.one_of(st.none(), st.integers(0, 10**12 - 1)),
    copied_headers=st.one_of(st.none(), st.from_regex(r"From:[a-z@.]{1,10}", fullmatch=True)),
    extensions=st.lists(
        st.tuples(st.from_regex(r"ext[a-z0-9]{0,4}", fullmatch=True), safe_value),
        unique_by=lambda pair: pair[0],
        max_size=2,
    ).map(tuple),
)


@given(keys)
def test_key_round_trip(record: DkimKey) -> None:
    assert parse_key(record.to_text()) == record


@given(signatures)
def test_signature_round_trip(signature: DkimSignature) -> None:
    text = signature.to_text()
    assert parse_signature(text) == signature
    assert dkim.without_b(text) == text[: len(text) - len(signature.signature)]


@given(st.text())
def test_parsers_never_raise(text: str) -> None:
    parse_key(text).to_text()
    parse_signature(text).to_text()
    dkim.without_b(text)


@given(st.lists(st.sampled_from(['"', "v=DKIM1", "p=", "k=ed25519", "AAAA", ";", " ", "\\"])))
def test_key_parser_never_raises_on_plausible_pieces(pieces: list[str]) -> None:
    parse_key("".join(pieces)).to_text()
