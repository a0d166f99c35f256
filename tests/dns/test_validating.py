"""ValidatingResolver against Knot serving a private signed hierarchy (tests/dnssec_hierarchy.py).

Every case of the issue — a valid domain, expired signatures, a DS mismatch, a DS without
DNSKEY, an unsigned zone, NSEC and NSEC3 denial, wildcards — with the status and the reason.
A tampering resolver between the validator and the stub shows that stripping or swapping
signatures and proofs (what an attacker on the path can do) gives bogus, never secure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from dnssec_hierarchy import SignedHierarchy, ds_of
from mailward.dns.counting import CountingResolver
from mailward.dns.resolver import Answer, Denial, Resolver
from mailward.dns.validating import TrustAnchors, ValidatingResolver
from mailward.dns.zonefiles import ZoneResolver
from mailward.errors import Bogus, DNSError, NoAnswer, NXDomain, TempError

pytestmark = pytest.mark.server

DAY = 86_400


def validating(
    signed: SignedHierarchy, inner: Resolver | None = None, **options: object
) -> ValidatingResolver:
    return ValidatingResolver(
        inner or signed.stub(),
        trust_anchors=signed.anchors(),
        **options,  # type: ignore[arg-type]
    )


async def bogus(resolver: Resolver, name: str, rdtype: str) -> Bogus:
    with pytest.raises(Bogus) as caught:
        await resolver.query(name, rdtype)
    return caught.value


# -- secure -----------------------------------------------------------------------------


async def test_valid_domain_is_secure(dnssec_knot: SignedHierarchy) -> None:
    answer = await validating(dnssec_knot).query("good.example", "MX")
    assert (answer.security, answer.security_reason, answer.authenticated) == ("secure", "", True)
    assert sorted(r.to_text() for r in answer.records) == [
        "10 mail.good.example.",
        "20 mx.unsigned.example.",
    ]


@pytest.mark.parametrize(
    ("name", "rdtype"),
    [
        ("_dmarc.good.example", "TXT"),
        ("s1._domainkey.good.example", "TXT"),
        ("_25._tcp.mail.good.example", "TLSA"),
        ("example", "DS"),
        ("good.example", "DS"),
        ("good.example", "DNSKEY"),
        ("legacy.example", "MX"),  # RSASHA1 keys, SHA-1 and SHA-256 DS: still validated
        ("iter.example", "MX"),  # NSEC3 with 10 iterations: below the limit
        ("expiring.example", "MX"),  # expires in 3 days: valid today
        ("cds.example", "CDS"),
    ],
)
async def test_signed_records_are_secure(
    dnssec_knot: SignedHierarchy, name: str, rdtype: str
) -> None:
    answer = await validating(dnssec_knot).query(name, rdtype)
    assert answer.security == "secure", answer.security_reason


async def test_cname_across_zones_validates_each_link(dnssec_knot: SignedHierarchy) -> None:
    answer = await validating(dnssec_knot).query("alias.good.example", "A")
    assert answer.security == "secure"
    assert answer.name == "www.nsec3.example."  # good.example (NSEC) → nsec3.example (NSEC3)
    assert [str(c.name) for c in answer.cnames] == ["alias.good.example."]


@pytest.mark.parametrize("zone", ["good.example", "nsec3.example"])
async def test_wildcard_expansion_is_secure_with_its_proof(
    dnssec_knot: SignedHierarchy, zone: str
) -> None:
    answer = await validating(dnssec_knot).query(f"anything.wild.{zone}", "TXT")
    assert answer.security == "secure", answer.security_reason
    assert answer.texts() == [b"from the wildcard"]
    assert answer.authority  # the NSEC/NSEC3 record proving the name itself does not exist


# -- denial of existence --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rdtype", "error"),
    [
        ("nope.good.example", "A", NXDomain),  # NSEC
        ("deep.nope.good.example", "TXT", NXDomain),
        ("good.example", "AAAA", NoAnswer),  # NSEC NODATA
        ("_domainkey.good.example", "TXT", NoAnswer),  # empty non-terminal
        ("x.wild.good.example", "MX", NoAnswer),  # wildcard NODATA
        ("nope.nsec3.example", "A", NXDomain),  # NSEC3
        ("nsec3.example", "AAAA", NoAnswer),  # NSEC3 NODATA
        ("x.wild.nsec3.example", "MX", NoAnswer),  # NSEC3 wildcard NODATA
        ("nope.iter.example", "A", NXDomain),  # NSEC3, 10 iterations and a salt
        ("mail.good.example", "DS", NoAnswer),  # not a delegation: denied by good.example
    ],
)
async def test_denial_is_proven_secure(
    dnssec_knot: SignedHierarchy, name: str, rdtype: str, error: type[DNSError]
) -> None:
    with pytest.raises(error) as caught:
        await validating(dnssec_knot).query(name, rdtype)
    assert type(caught.value) is error
    assert caught.value.security == "secure"


# -- insecure -------------------------------------------------------------------------------


async def test_unsigned_zone_is_insecure_through_an_opt_out_span(
    dnssec_knot: SignedHierarchy,
) -> None:
    answer = await validating(dnssec_knot).query("mx.unsigned.example", "A")
    assert (answer.security, answer.authenticated) == ("insecure", False)
    assert "opt-out" in answer.security_reason and "unsigned.example" in answer.security_reason
    with pytest.raises(NoAnswer) as caught:
        await validating(dnssec_knot).query("unsigned.example", "DS")
    assert caught.value.security == "insecure"


async def test_nxdomain_in_an_opt_out_span_is_insecure(dnssec_knot: SignedHierarchy) -> None:
    with pytest.raises(NXDomain) as caught:
        await validating(dnssec_knot).query("nothere.example", "A")
    assert caught.value.security == "insecure"  # RFC 5155 §9.2: it may be an unsigned child


async def test_algorithm_that_must_not_be_validated_is_insecure(
    dnssec_knot: SignedHierarchy,
) -> None:
    answer = await validating(dnssec_knot).query("gost.example", "MX")
    assert answer.security == "insecure"
    assert "algorithm 12 (ECC-GOST) must not be validated" in answer.security_reason


async def test_name_outside_every_anchor_is_indeterminate(dnssec_knot: SignedHierarchy) -> None:
    good = dnssec_knot.hierarchy
    anchors = TrustAnchors.from_text(f"good.example. IN DS {ds_of(good, 'good.example.')[0]}")
    resolver = ValidatingResolver(dnssec_knot.stub(), trust_anchors=anchors)
    assert (await resolver.query("good.example", "MX")).security == "secure"
    answer = await resolver.query("nsec3.example", "MX")
    assert answer.security == "indeterminate"
    assert "no trust anchor covers nsec3.example" in answer.security_reason


# -- bogus ----------------------------------------------------------------------------------


async def test_expired_signatures_are_bogus_and_say_when(dnssec_knot: SignedHierarchy) -> None:
    error = await bogus(validating(dnssec_knot), "expired.example", "MX")
    assert error.kind == "rrsig-expired"
    assert "RRSIG over DNSKEY at expired.example" in error.detail
    assert "expired 3 days ago" in error.detail
    assert isinstance(error, TempError)  # never read as "record missing"


async def test_not_yet_valid_signatures_are_bogus(dnssec_knot: SignedHierarchy) -> None:
    error = await bogus(validating(dnssec_knot), "future.example", "MX")
    assert error.kind == "rrsig-not-yet-valid"
    assert "is not valid for another 47 hours" in error.detail


async def test_ds_mismatch_names_the_key_tag(dnssec_knot: SignedHierarchy) -> None:
    error = await bogus(validating(dnssec_knot), "mismatch.example", "MX")
    _used, other = dnssec_knot.hierarchy.keys["mismatch.example."]
    assert error.kind == "ds-mismatch"
    assert error.detail == (
        f"DS at example. has key tag {other.tag} alg 13; no DNSKEY of mismatch.example matches"
    )


async def test_ds_without_dnskey_is_bogus(dnssec_knot: SignedHierarchy) -> None:
    error = await bogus(validating(dnssec_knot), "mail.nokey.example", "A")
    (ghost,) = dnssec_knot.hierarchy.keys["nokey.example."]
    assert error.kind == "dnskey-missing"
    assert (
        error.detail
        == f"DS at example. has key tag {ghost.tag} alg 13; nokey.example has no DNSKEY"
    )


async def test_a_corrupted_signature_is_bogus_for_that_rrset_only(
    dnssec_knot: SignedHierarchy,
) -> None:
    resolver = validating(dnssec_knot)
    error = await bogus(resolver, "badsig.example", "MX")
    assert error.kind == "bad-signature"
    assert "RRSIG over MX at badsig.example" in error.detail and "does not verify" in error.detail
    assert (await resolver.query("badsig.example", "TXT")).security == "secure"


async def test_wrong_trust_anchor_makes_everything_bogus(dnssec_knot: SignedHierarchy) -> None:
    wrong = TrustAnchors.from_text(". IN DS 11111 13 2 " + "00" * 32)
    resolver = ValidatingResolver(dnssec_knot.stub(), trust_anchors=wrong)
    error = await bogus(resolver, "good.example", "MX")
    assert error.kind == "ds-mismatch"
    assert "no DNSKEY of . matches the trust anchor (key tag 11111 alg 13)" in error.detail


async def test_dnskey_trust_anchor_works_like_a_ds(dnssec_knot: SignedHierarchy) -> None:
    anchors = TrustAnchors.from_text(dnssec_knot.hierarchy.dnskey_anchor_text)
    resolver = ValidatingResolver(dnssec_knot.stub(), trust_anchors=anchors)
    assert (await resolver.query("nsec3.example", "MX")).security == "secure"


# -- time and skew ----------------------------------------------------------------------------


async def test_clock_skew_is_allowed_but_small(dnssec_knot: SignedHierarchy) -> None:
    expires = dnssec_knot.hierarchy.now + 30 * DAY
    within = validating(dnssec_knot, clock=lambda: expires + 200)
    assert (await within.query("good.example", "MX")).security == "secure"
    beyond = validating(dnssec_knot, clock=lambda: expires + 400)
    error = await bogus(beyond, "good.example", "MX")
    assert error.kind == "rrsig-expired"


# -- what the validator asks ------------------------------------------------------------------


class Recording:
    """Passes questions on, keeping whether each asked for DNSSEC records."""

    def __init__(self, inner: Resolver) -> None:
        self.inner = inner
        self.asked: list[tuple[str, str, bool]] = []

    async def aclose(self) -> None:
        pass

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        self.asked.append((name, rdtype, dnssec))
        return await self.inner.query(name, rdtype, dnssec=dnssec)


async def test_inner_resolver_is_always_asked_with_the_do_bit(
    dnssec_knot: SignedHierarchy,
) -> None:
    recording = Recording(dnssec_knot.stub())
    await validating(dnssec_knot, recording).query("good.example", "MX")
    assert recording.asked and all(dnssec for _, _, dnssec in recording.asked)
    chain = {(name.rstrip(".") or ".", rdtype) for name, rdtype, _ in recording.asked}
    assert chain == {
        ("good.example", "MX"),
        (".", "DNSKEY"),
        ("example", "DS"),
        ("example", "DNSKEY"),
        ("good.example", "DS"),
        ("good.example", "DNSKEY"),
    }


async def test_the_chain_is_walked_once(dnssec_knot: SignedHierarchy) -> None:
    counting = CountingResolver(dnssec_knot.stub())
    resolver = validating(dnssec_knot, counting)
    await resolver.query("good.example", "MX")
    before = counting.count
    await resolver.query("_dmarc.good.example", "TXT")
    assert counting.count == before + 1


async def test_chain_lookup_failure_is_a_temperror(dnssec_knot: SignedHierarchy) -> None:
    class NoKeys(Recording):
        async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
            if rdtype == "DNSKEY":
                raise TempError(name, rdtype, "timeout")
            return await self.inner.query(name, rdtype, dnssec=dnssec)

    with pytest.raises(TempError) as caught:
        await validating(dnssec_knot, NoKeys(dnssec_knot.stub())).query("good.example", "MX")
    assert not isinstance(caught.value, Bogus)
    assert "cannot validate" in caught.value.detail


# -- an attacker on the path -----------------------------------------------------------------


Tamper = Callable[[Answer], Answer]


class Tampering(Recording):
    """Changes the answers (or negative answers' proofs) of chosen questions."""

    def __init__(
        self,
        inner: Resolver,
        answers: dict[tuple[str, str], Tamper] | None = None,
        denials: dict[tuple[str, str], Callable[[Denial], Denial]] | None = None,
    ) -> None:
        super().__init__(inner)
        self.answers = answers or {}
        self.denials = denials or {}

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        key = (name.rstrip("."), rdtype)
        try:
            answer = await self.inner.query(name, rdtype, dnssec=dnssec)
        except (NXDomain, NoAnswer) as exc:
            change = self.denials.get(key)
            if change is None or exc.denial is None:
                raise
            raise type(exc)(name, rdtype, exc.detail, denial=change(exc.denial)) from None
        change_answer = self.answers.get(key)
        return change_answer(answer) if change_answer else answer


def _no_sigs(answer: Answer) -> Answer:
    return dataclasses.replace(answer, rrsigs=())


def _other_mx(answer: Answer) -> Answer:
    record = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.MX, "10 evil.example.")
    return dataclasses.replace(answer, records=(record,))


def _no_proof(denial: Denial) -> Denial:
    return dataclasses.replace(denial, authority=())


def _no_authority(answer: Answer) -> Answer:
    return dataclasses.replace(answer, authority=())


@pytest.mark.parametrize(
    ("name", "rdtype", "answers", "kind"),
    [
        ("good.example", "MX", {("good.example", "MX"): _no_sigs}, "unsigned"),
        ("good.example", "MX", {("good.example", "MX"): _other_mx}, "bad-signature"),
        ("good.example", "MX", {("good.example", "DS"): _no_sigs}, "unsigned"),
        ("x.wild.good.example", "TXT", {("x.wild.good.example", "TXT"): _no_authority}, "no-proof"),
        (
            "x.wild.nsec3.example",
            "TXT",
            {("x.wild.nsec3.example", "TXT"): _no_authority},
            "no-proof",
        ),
    ],
)
async def test_tampered_answers_are_bogus(
    dnssec_knot: SignedHierarchy,
    name: str,
    rdtype: str,
    answers: dict[tuple[str, str], Tamper],
    kind: str,
) -> None:
    tampering = Tampering(dnssec_knot.stub(), answers=answers)
    error = await bogus(validating(dnssec_knot, tampering), name, rdtype)
    assert error.kind == kind, error.detail


@pytest.mark.parametrize(
    ("name", "rdtype", "denied"),
    [
        ("nope.good.example", "A", ("nope.good.example", "A")),
        ("nope.nsec3.example", "A", ("nope.nsec3.example", "A")),
        ("good.example", "AAAA", ("good.example", "AAAA")),
        # an attacker who hides the DS of a signed zone cannot make it look unsigned
        ("mx.unsigned.example", "A", ("unsigned.example", "DS")),
    ],
)
async def test_denial_without_its_proof_is_bogus(
    dnssec_knot: SignedHierarchy, name: str, rdtype: str, denied: tuple[str, str]
) -> None:
    tampering = Tampering(dnssec_knot.stub(), denials={denied: _no_proof})
    error = await bogus(validating(dnssec_knot, tampering), name, rdtype)
    assert error.kind == "no-proof", error.detail


async def test_a_proof_for_another_name_does_not_prove_this_one(
    dnssec_knot: SignedHierarchy,
) -> None:
    """Replay: the (valid, signed) NSEC proof for one name, served for another."""
    stub = dnssec_knot.stub()
    with pytest.raises(NXDomain) as real:
        await stub.query("aaa.good.example", "A", dnssec=True)
    replayed = real.value.denial
    assert replayed is not None

    def swap(denial: Denial) -> Denial:
        return dataclasses.replace(replayed, name=denial.name)

    tampering = Tampering(stub, denials={("www.good.example", "AAAA"): swap})
    error = await bogus(validating(dnssec_knot, tampering), "www.good.example", "AAAA")
    assert error.kind == "no-proof"


async def test_hiding_a_ds_behind_a_false_nodata_is_bogus(dnssec_knot: SignedHierarchy) -> None:
    """The DS of good.example denied with the (valid) NSEC3 proof for unsigned.example."""
    stub = dnssec_knot.stub()
    with pytest.raises(NoAnswer) as real:
        await stub.query("unsigned.example", "DS", dnssec=True)
    assert real.value.denial is not None
    proof = real.value.denial

    class HideDs(Tampering):
        async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
            if (name.rstrip("."), rdtype) == ("good.example", "DS"):
                raise NoAnswer(name, rdtype, "no such record", denial=proof)
            return await self.inner.query(name, rdtype, dnssec=dnssec)

    error = await bogus(validating(dnssec_knot, HideDs(stub)), "good.example", "MX")
    assert error.kind == "no-proof"


# -- offline ----------------------------------------------------------------------------------


async def test_zone_files_validate_positive_answers(dnssec_knot: SignedHierarchy) -> None:
    """The zone-file resolver gives RRSIGs but no NSEC proofs: data validates, denials cannot."""
    offline = ZoneResolver(dnssec_knot.hierarchy.zone_files)
    resolver = ValidatingResolver(offline, trust_anchors=dnssec_knot.anchors())
    assert (await resolver.query("good.example", "MX")).security == "secure"
    assert (await resolver.query("_dmarc.nsec3.example", "TXT")).security == "secure"
    with pytest.raises(NoAnswer) as caught:
        await resolver.query("good.example", "AAAA")
    assert caught.value.security == "indeterminate"
    assert (await bogus(resolver, "badsig.example", "MX")).kind == "bad-signature"


async def test_a_wildcard_synthesized_nsec_denies_nothing(dnssec_knot: SignedHierarchy) -> None:
    """The signed NSEC of *.wild.good.example, replayed as if it were x.wild.good.example's."""
    stub = dnssec_knot.stub()
    source = await stub.query("*.wild.good.example", "NSEC", dnssec=True)
    owner = dns.name.from_text("x.wild.good.example.")
    renamed = [dns.rrset.from_rdata_list(owner, source.ttl, list(source.records))]
    renamed += [dns.rrset.from_rdata_list(owner, r.ttl, list(r)) for r in source.rrsigs]

    def synthesized(denial: Denial) -> Denial:
        return dataclasses.replace(denial, authority=tuple(renamed))

    tampering = Tampering(stub, denials={("x.wild.good.example", "MX"): synthesized})
    error = await bogus(validating(dnssec_knot, tampering), "x.wild.good.example", "MX")
    assert "synthesized from a wildcard" in error.detail
