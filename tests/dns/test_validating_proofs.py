"""The validator's parts without a server: trust anchors, NSEC and NSEC3 proofs, signatures.

The proofs are given hand-made NSEC/NSEC3 chains (their signatures are the engine's business,
tested against Knot in test_validating.py), so each rule of RFC 4035 §5.4 and RFC 5155 §8 is
shown to accept the right proof and refuse a wrong one.
"""

from __future__ import annotations

import base64
from pathlib import Path

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mailward.dns._dnssec_denial import (
    MAX_NSEC3_ITERATIONS,
    nsec3_digest,
    prove_absence,
    prove_wildcard,
)
from mailward.dns._dnssec_verify import Failure, Verified, verify_rrset, when
from mailward.dns.validating import ROOT_ANCHORS_TEXT, TrustAnchors
from mailward.errors import UsageError

Z = dns.name.from_text("z.")
A, AAAA, MX, TXT, DS, NS = (
    dns.rdatatype.A,
    dns.rdatatype.AAAA,
    dns.rdatatype.MX,
    dns.rdatatype.TXT,
    dns.rdatatype.DS,
    dns.rdatatype.NS,
)


def n(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


# -- trust anchors --------------------------------------------------------------------------


def test_root_anchors_are_ianas_ksk_2017_and_ksk_2024() -> None:
    anchors = TrustAnchors.root()
    ds = anchors.ds[dns.name.root]
    assert sorted((d.key_tag, d.algorithm, d.digest_type) for d in ds) == [
        (20326, 8, 2),
        (38696, 8, 2),
    ]
    digests = {d.key_tag: d.digest.hex().upper() for d in ds}
    assert digests[20326] == "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D"
    assert digests[38696] == "683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16"


def test_root_anchors_agree_with_debians_dns_root_data() -> None:
    debian = Path("/usr/share/dns/root.ds")
    if not debian.exists():
        pytest.skip("dns-root-data is not installed")
    ours = TrustAnchors.from_text(ROOT_ANCHORS_TEXT).ds[dns.name.root]
    theirs = TrustAnchors.from_file(debian).ds[dns.name.root]
    assert set(ours) == set(theirs)


def test_anchor_file_takes_ds_and_dnskey_records(tmp_path: Path) -> None:
    key = dns.dnssec.make_dnskey(ec.generate_private_key(ec.SECP256R1()).public_key(), 13, 257)
    path = tmp_path / "anchors"
    path.write_text(
        "; a private hierarchy\n$ORIGIN example.\n"
        f"@ 3600 IN DNSKEY {key.to_text()}\nshop 3600 IN DS 11111 13 2 {'ab' * 32}\n",
        encoding="utf-8",
    )
    anchors = TrustAnchors.from_file(path)
    assert anchors.dnskeys[n("example.")] == (key,)
    assert anchors.ds[n("shop.example.")][0].key_tag == 11111
    assert anchors.closest(n("www.shop.example.")) == n("shop.example.")
    assert anchors.closest(n("other.example.")) == n("example.")
    assert anchors.closest(n("example.org.")) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("example. IN A 192.0.2.1\n", "a trust anchor is a DS or a zone DNSKEY"),
        ("example. IN DNSKEY 1 3 13 " + "A" * 88 + "\n", "a trust anchor is a DS or a zone DNSKEY"),
        ("; nothing\n", "no DS or DNSKEY record"),
        ("example. IN DS 1 13 2 zz\n", "not a trust anchor file"),
        ("$INCLUDE /etc/passwd\n", "$INCLUDE is not allowed"),
    ],
)
def test_bad_anchor_files_are_refused(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "anchors"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=says.replace("$", r"\$")):
        TrustAnchors.from_file(path)


def test_missing_anchor_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the trust anchor file"):
        TrustAnchors.from_file(tmp_path / "nope")


# -- NSEC -----------------------------------------------------------------------------------


def nsec(owner: str, after: str, *types: str) -> dns.rrset.RRset:
    text = f"{after} {' '.join((*types, 'RRSIG', 'NSEC'))}"
    return dns.rrset.from_text(owner, 300, "IN", "NSEC", text)


# z. → a.z. → c.z. (delegation) → *.w.z. → x.w.z. → z.
CHAIN = [
    nsec("z.", "a.z.", "SOA", "NS", "DNSKEY"),
    nsec("a.z.", "c.z.", "A", "TXT"),
    nsec("c.z.", "*.w.z.", "NS"),
    nsec("*.w.z.", "x.w.z.", "TXT"),
    nsec("x.w.z.", "z.", "CNAME"),
]


def absent(qname: str, qtype: int, records: list[dns.rrset.RRset], nx: bool) -> tuple[bool, str]:
    proof = prove_absence(n(qname), qtype, Z, records, nxdomain=nx)
    return proof.valid, proof.reason


def test_nsec_nxdomain_needs_the_name_and_the_wildcard_covered() -> None:
    assert absent("b.z.", A, CHAIN, True) == (True, "")
    # the record covering b.z. alone: nothing says *.z. does not exist
    valid, reason = absent("b.z.", A, [CHAIN[1]], True)
    assert not valid and "*.z does not exist" in reason


def test_nsec_nxdomain_for_an_existing_name_is_refused() -> None:
    valid, reason = absent("a.z.", A, CHAIN, True)
    assert not valid and "shows that it exists" in reason


def test_nsec_below_a_delegation_proves_nothing() -> None:
    # c.z. is a delegation (NS, no SOA): its record cannot deny names in the child
    valid, _ = absent("www.c.z.", A, CHAIN, True)
    assert not valid


def test_nsec_nodata_reads_the_bitmap() -> None:
    assert absent("a.z.", MX, CHAIN, False)[0]
    valid, reason = absent("a.z.", TXT, CHAIN, False)
    assert not valid and "lists TXT" in reason
    valid, reason = absent("x.w.z.", A, CHAIN, False)
    assert not valid and "lists CNAME" in reason


def test_nsec_delegation_denies_ds_but_not_child_data() -> None:
    proof = prove_absence(n("c.z."), DS, Z, CHAIN, nxdomain=False)
    assert proof.valid and proof.types is not None and NS in proof.types
    valid, reason = absent("c.z.", A, CHAIN, False)
    assert not valid and "delegation" in reason


def test_nsec_empty_non_terminal_and_wildcard_nodata() -> None:
    proof = prove_absence(n("w.z."), A, Z, CHAIN, nxdomain=False)
    assert proof.valid and proof.empty_nonterminal
    proof = prove_absence(n("q.w.z."), A, Z, CHAIN, nxdomain=False)
    assert proof.valid and proof.wildcard
    valid, _ = absent("q.w.z.", TXT, CHAIN, False)  # the wildcard has TXT
    assert not valid


def test_nsec_wildcard_expansion_proof() -> None:
    wildcard = n("*.w.z.")
    assert prove_wildcard(n("q.w.z."), wildcard, Z, CHAIN).valid
    assert not prove_wildcard(n("q.w.z."), wildcard, Z, [CHAIN[0]]).valid
    # x.w.z. exists: it cannot have come from the wildcard
    assert not prove_wildcard(n("x.w.z."), wildcard, Z, CHAIN).valid


# -- NSEC3 ----------------------------------------------------------------------------------


def nsec3_chain(
    names: dict[str, str],
    *,
    opt_out: bool = False,
    iterations: int = 0,
    salt: bytes = b"",
    flags: int | None = None,
) -> list[dns.rrset.RRset]:
    """NSEC3 records for ``names`` (name → type list), linked in hash order."""
    hashed = sorted(
        (nsec3_digest(n(name), salt, iterations), types) for name, types in names.items()
    )
    records = []
    for index, (digest, types) in enumerate(hashed):
        after = hashed[(index + 1) % len(hashed)][0]
        label = base64.b32hexencode(digest).decode().lower()
        field_flags = flags if flags is not None else int(opt_out)
        salt_text = salt.hex() or "-"
        text = (
            f"1 {field_flags} {iterations} {salt_text} "
            f"{base64.b32hexencode(after).decode().lower()} {types}"
        ).strip()
        records.append(dns.rrset.from_text(f"{label}.z.", 300, "IN", "NSEC3", text))
    return records


ZONE3 = {
    "z.": "SOA NS DNSKEY NSEC3PARAM RRSIG",
    "a.z.": "A TXT RRSIG",
    "c.z.": "NS DS RRSIG",
    "w.z.": "",
    "*.w.z.": "TXT RRSIG",
}


def test_nsec3_nxdomain_needs_the_closest_encloser_proof() -> None:
    chain = nsec3_chain(ZONE3)
    proof = prove_absence(n("b.z."), A, Z, chain, nxdomain=True)
    assert proof.valid and not proof.opt_out
    assert not prove_absence(n("a.z."), A, Z, chain, nxdomain=True).valid  # it exists
    # without the record matching the closest encloser (z.), nothing is proven
    apex = nsec3_digest(Z, b"", 0)
    label = base64.b32hexencode(apex).decode().lower().encode()
    without_apex = [r for r in chain if r.name.labels[0] != label]
    assert not prove_absence(n("b.z."), A, Z, without_apex, nxdomain=True).valid


def test_nsec3_nodata_and_wildcard_nodata() -> None:
    chain = nsec3_chain(ZONE3)
    assert prove_absence(n("a.z."), MX, Z, chain, nxdomain=False).valid
    assert not prove_absence(n("a.z."), TXT, Z, chain, nxdomain=False).valid
    proof = prove_absence(n("q.w.z."), A, Z, chain, nxdomain=False)
    assert proof.valid and proof.wildcard
    assert prove_wildcard(n("q.w.z."), n("*.w.z."), Z, chain).valid


def test_nsec3_opt_out_span_denies_ds_as_insecure_only() -> None:
    chain = nsec3_chain(ZONE3, opt_out=True)  # u.z., an unsigned delegation, is not in it
    proof = prove_absence(n("u.z."), DS, Z, chain, nxdomain=False)
    assert proof.valid and proof.opt_out
    # without opt-out the same span proves nothing for DS
    assert not prove_absence(n("u.z."), DS, Z, nsec3_chain(ZONE3), nxdomain=False).valid


def test_nsec3_too_many_iterations_is_insecure_unhashed() -> None:
    chain = nsec3_chain(ZONE3, iterations=MAX_NSEC3_ITERATIONS + 1, salt=b"\xab\xcd")
    proof = prove_absence(n("b.z."), A, Z, chain, nxdomain=True)
    assert proof.valid and "RFC 9276" in proof.insecure
    modest = nsec3_chain(ZONE3, iterations=10, salt=b"\xab\xcd")
    assert prove_absence(n("b.z."), A, Z, modest, nxdomain=True).valid


def test_nsec3_with_unknown_flags_is_ignored() -> None:
    chain = nsec3_chain(ZONE3, flags=2)
    proof = prove_absence(n("b.z."), A, Z, chain, nxdomain=True)
    assert not proof.valid and "no NSEC or NSEC3" in proof.reason


def test_nsec3_hash_matches_rfc5155_appendix_a() -> None:
    # RFC 5155 Appendix A: example, salt aabbccdd, 12 iterations
    digest = nsec3_digest(n("example."), bytes.fromhex("aabbccdd"), 12)
    assert base64.b32hexencode(digest).decode().lower() == "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"


# -- signatures -----------------------------------------------------------------------------


def test_rrsig_time_and_key_checks_give_reasons() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    key = dns.dnssec.make_dnskey(private.public_key(), 13, 257)
    other = dns.dnssec.make_dnskey(ec.generate_private_key(ec.SECP256R1()).public_key(), 13, 257)
    rrset = dns.rrset.from_text("z.", 300, "IN", "MX", "10 mail.z.")
    now = 1_800_000_000
    sig = dns.dnssec.sign(rrset, private, Z, key, inception=now - 100, expiration=now + 3600)
    assert isinstance(verify_rrset(rrset, [sig], Z, [key], now, 300), Verified)
    late = verify_rrset(rrset, [sig], Z, [key], now + 3 * 86_400, 300)
    assert isinstance(late, Failure) and late.kind == "rrsig-expired"
    assert "RRSIG over MX at z by key" in late.reason and "expired 2 days ago" in late.reason
    unknown = verify_rrset(rrset, [sig], Z, [other], now, 300)
    assert isinstance(unknown, Failure) and unknown.kind == "no-key"
    changed = dns.rrset.from_text("z.", 300, "IN", "MX", "10 evil.z.")
    broken = verify_rrset(changed, [sig], Z, [key], now, 300)
    assert isinstance(broken, Failure) and broken.kind == "bad-signature"
    assert verify_rrset(rrset, [], Z, [key], now, 300) == Failure(
        "unsigned", "MX at z has no RRSIG although z is signed"
    )


def test_when_says_how_long() -> None:
    assert when(1_000_000, 1_000_000 + 3 * 86_400) == "3 days ago (1970-01-12 13:46 UTC)"
    assert when(1_000_000 + 5 * 3600, 1_000_000).startswith("in 5 hours")
