"""DMARC evaluation of a message (RFC 9989) against zone data."""

from __future__ import annotations

import pytest

from mailward.auth.dmarc import (
    MAX_QUERIES,
    DkimOutcome,
    DmarcResult,
    SpfOutcome,
    evaluate,
)
from mailward.dns.resolver import Answer
from mailward.dns.zonefiles import ZoneResolver
from mailward.errors import TempError
from mailward.records.dmarc import Policy

SOA = "@ 3600 IN SOA ns hm 1 7200 3600 1209600 3600\n"

EXAMPLE = f"""$ORIGIN example.com.
{SOA}@ IN A 192.0.2.1
_dmarc IN TXT "v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:d@example.com"
news IN A 192.0.2.2
bounce IN MX 10 mx.example.com.
mx IN A 192.0.2.3
"""
STRICT = f"""$ORIGIN strict.org.
{SOA}@ IN A 192.0.2.1
_dmarc IN TXT "v=DMARC1; p=quarantine; adkim=s; aspf=s"
mail IN A 192.0.2.4
"""
TESTING = f"""$ORIGIN trying.net.
{SOA}@ IN A 192.0.2.1
_dmarc IN TXT "v=DMARC1; p=reject; t=y"
"""
PLAIN = f"""$ORIGIN plain.net.
{SOA}@ IN A 192.0.2.1
"""
SPLIT = f"""$ORIGIN corp.net.
{SOA}@ IN A 192.0.2.1
_dmarc IN TXT "v=DMARC1; p=none"
_dmarc.dept IN TXT "v=DMARC1; p=reject; psd=n"
dept IN A 192.0.2.5
mail.dept IN A 192.0.2.6
"""
# a public suffix operator's zone: `bank` is not on the PSL, so it counts as a public suffix
PSD = f"""$ORIGIN bank.
{SOA}@ IN A 192.0.2.1
_dmarc IN TXT "v=DMARC1; p=reject; np=reject; psd=y"
acme IN A 192.0.2.7
mail.acme IN A 192.0.2.8
"""
TWICE = f"""$ORIGIN twice.org.
{SOA}@ IN A 192.0.2.1
_dmarc IN TXT "v=DMARC1; p=reject"
_dmarc IN TXT "v=DMARC1; p=none"
"""


@pytest.fixture
def resolver() -> ZoneResolver:
    return ZoneResolver.from_text(EXAMPLE, STRICT, TESTING, PLAIN, SPLIT, PSD, TWICE)


def spf(result: str, domain: str) -> SpfOutcome:
    return SpfOutcome(result, domain)


def sig(result: str, domain: str, selector: str = "s1") -> DkimOutcome:
    return DkimOutcome(result, domain, selector)


async def test_aligned_spf_pass_passes(resolver: ZoneResolver) -> None:
    verdict = await evaluate(["example.com"], spf("pass", "example.com"), [], resolver)
    assert verdict.result is DmarcResult.PASS
    assert verdict.disposition is Policy.NONE
    assert verdict.spf_aligned and not verdict.dkim_aligned
    assert verdict.policy_domain == "example.com" and verdict.policy_kind == "own"
    assert "SPF" in verdict.reason


async def test_relaxed_alignment_uses_the_organizational_domain(resolver: ZoneResolver) -> None:
    verdict = await evaluate(["news.example.com"], spf("pass", "bounce.example.com"), [], resolver)
    assert verdict.result is DmarcResult.PASS
    assert verdict.organizational_domain == "example.com"
    assert verdict.policy_kind == "organizational"


async def test_forwarded_without_srs_passes_on_dkim(resolver: ZoneResolver) -> None:
    verdict = await evaluate(
        ["example.com"],
        spf("fail", "example.com"),
        [sig("pass", "example.com")],
        resolver,
    )
    assert verdict.result is DmarcResult.PASS
    assert verdict.dkim_aligned and not verdict.spf_aligned


async def test_unaligned_signature_fails_with_the_policy(resolver: ZoneResolver) -> None:
    verdict = await evaluate(
        ["example.com"], spf("pass", "esp.invalid"), [sig("pass", "esp.invalid")], resolver
    )
    assert verdict.result is DmarcResult.FAIL
    assert verdict.disposition is Policy.REJECT
    assert verdict.requested is Policy.REJECT
    assert "p=reject" in verdict.reason
    assert any("not aligned" in line for line in verdict.details)


async def test_failed_signature_in_the_right_domain_does_not_count(
    resolver: ZoneResolver,
) -> None:
    verdict = await evaluate(["example.com"], None, [sig("fail", "example.com")], resolver)
    assert verdict.result is DmarcResult.FAIL
    assert verdict.dkim[0].aligned is True and not verdict.dkim_aligned


async def test_strict_alignment_needs_the_exact_name(resolver: ZoneResolver) -> None:
    verdict = await evaluate(
        ["strict.org"],
        spf("pass", "mail.strict.org"),
        [sig("pass", "mail.strict.org")],
        resolver,
    )
    assert verdict.result is DmarcResult.FAIL
    assert verdict.disposition is Policy.QUARANTINE
    exact = await evaluate(["strict.org"], None, [sig("pass", "STRICT.org.")], resolver)
    assert exact.result is DmarcResult.PASS


async def test_subdomain_policy_for_an_existing_subdomain(resolver: ZoneResolver) -> None:
    verdict = await evaluate(["news.example.com"], spf("fail", "news.example.com"), [], resolver)
    assert verdict.result is DmarcResult.FAIL
    assert verdict.disposition is Policy.QUARANTINE
    assert verdict.author_exists
    assert "sp=quarantine" in verdict.reason


async def test_np_for_a_subdomain_that_does_not_exist(resolver: ZoneResolver) -> None:
    verdict = await evaluate(["ghost.example.com"], None, [], resolver)
    assert verdict.result is DmarcResult.FAIL
    assert not verdict.author_exists
    assert verdict.disposition is Policy.REJECT
    assert "np=reject" in verdict.reason


async def test_a_subdomain_with_only_mx_exists(resolver: ZoneResolver) -> None:
    verdict = await evaluate(["bounce.example.com"], None, [], resolver)
    assert verdict.author_exists and verdict.disposition is Policy.QUARANTINE


async def test_testing_mode_lowers_the_policy(resolver: ZoneResolver) -> None:
    verdict = await evaluate(["trying.net"], spf("softfail", "trying.net"), [], resolver)
    assert verdict.result is DmarcResult.FAIL
    assert verdict.requested is Policy.REJECT
    assert verdict.disposition is Policy.QUARANTINE
    assert verdict.testing
    row = verdict.report_row(source_ip="192.0.2.99")
    assert ("policy_test_mode", row.reasons[0][1]) in row.reasons
    assert row.policy_published is not None and row.policy_published.testing


async def test_no_policy_is_none(resolver: ZoneResolver) -> None:
    verdict = await evaluate(["plain.net"], spf("pass", "plain.net"), [], resolver)
    assert verdict.result is DmarcResult.NONE
    assert verdict.disposition is Policy.NONE
    assert verdict.spf is not None and verdict.spf.aligned


async def test_two_records_at_one_name_are_discarded(resolver: ZoneResolver) -> None:
    verdict = await evaluate(["twice.org"], spf("pass", "twice.org"), [], resolver)
    assert verdict.result is DmarcResult.NONE


async def test_psd_n_makes_its_own_organization(resolver: ZoneResolver) -> None:
    # dept.corp.net says psd=n: it is its own Organizational Domain, so corp.net does not align
    verdict = await evaluate(["mail.dept.corp.net"], spf("pass", "corp.net"), [], resolver)
    assert verdict.organizational_domain == "dept.corp.net"
    assert verdict.result is DmarcResult.FAIL
    assert verdict.disposition is Policy.REJECT
    aligned = await evaluate(["mail.dept.corp.net"], spf("pass", "dept.corp.net"), [], resolver)
    assert aligned.result is DmarcResult.PASS


async def test_public_suffix_domain_policy_applies(resolver: ZoneResolver) -> None:
    verdict = await evaluate(["acme.bank"], None, [sig("pass", "other.bank")], resolver)
    assert verdict.policy_kind == "psd"
    assert verdict.organizational_domain == "acme.bank"
    assert verdict.result is DmarcResult.FAIL  # other.bank is another organization
    assert verdict.disposition is Policy.REJECT
    aligned = await evaluate(["mail.acme.bank"], None, [sig("pass", "acme.bank")], resolver)
    assert aligned.result is DmarcResult.PASS


@pytest.mark.parametrize(
    "domains",
    [
        ["example.com", "strict.org"],
        ["Example.com", "plain.net", "trying.net"],
    ],
)
async def test_several_from_domains_never_pass(resolver: ZoneResolver, domains: list[str]) -> None:
    everything = [sig("pass", d) for d in domains]
    verdict = await evaluate(domains, spf("pass", domains[0]), everything, resolver)
    assert verdict.result is DmarcResult.PERMERROR
    assert "several domains" in verdict.reason
    # the strictest of the policies found: reject (example.com), quarantine (t=y on reject)
    assert verdict.disposition in (Policy.REJECT, Policy.QUARANTINE)


async def test_several_addresses_in_one_domain_are_one_author(resolver: ZoneResolver) -> None:
    verdict = await evaluate(
        ["example.com", "EXAMPLE.COM."], spf("pass", "example.com"), [], resolver
    )
    assert verdict.result is DmarcResult.PASS


@pytest.mark.parametrize("domains", [[], [""], ["not a domain"], ["x\x00.com"], ["com"]])
async def test_no_usable_from_domain_is_permerror(
    resolver: ZoneResolver, domains: list[str]
) -> None:
    verdict = await evaluate(domains, spf("pass", "example.com"), [], resolver)
    assert verdict.result is DmarcResult.PERMERROR
    assert verdict.author_domain is None
    assert "\x00" not in verdict.reason


class Failing:
    """Zone data, except that the names given time out."""

    def __init__(self, inner: ZoneResolver, failing: set[str]) -> None:
        self.inner = inner
        self.failing = failing
        self.asked = 0

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        self.asked += 1
        if name.lower().rstrip(".") in self.failing:
            raise TempError(name, rdtype, "timed out")
        return await self.inner.query(name, rdtype, dnssec=dnssec)

    async def aclose(self) -> None:
        return None


async def test_dns_failure_during_discovery_is_temperror(resolver: ZoneResolver) -> None:
    failing = Failing(resolver, {"_dmarc.example.com"})
    verdict = await evaluate(["example.com"], spf("pass", "example.com"), [], failing)
    assert verdict.result is DmarcResult.TEMPERROR
    assert verdict.disposition is None
    assert "_dmarc.example.com" in verdict.reason


async def test_dns_failure_in_the_identifiers_walk_is_temperror(resolver: ZoneResolver) -> None:
    failing = Failing(resolver, {"_dmarc.mail.example.com"})
    verdict = await evaluate(["example.com"], None, [sig("pass", "mail.example.com")], failing)
    assert verdict.dkim[0].aligned is None
    assert verdict.result is DmarcResult.TEMPERROR


async def test_an_aligned_pass_wins_over_an_open_question(resolver: ZoneResolver) -> None:
    failing = Failing(resolver, {"_dmarc.mail.example.com"})
    verdict = await evaluate(
        ["example.com"],
        spf("pass", "example.com"),
        [sig("pass", "mail.example.com")],
        failing,
    )
    assert verdict.result is DmarcResult.PASS


async def test_many_signatures_stay_within_the_query_budget(resolver: ZoneResolver) -> None:
    counting = Failing(resolver, set())
    deep = "a{0}.b{0}.c{0}.d{0}.e{0}.f{0}.g{0}.h{0}.example.com"
    signatures = [sig("fail", deep.format(i)) for i in range(50)]
    verdict = await evaluate(["example.com"], None, signatures, counting)
    assert verdict.result is DmarcResult.FAIL
    assert len(verdict.dkim) == 10
    assert all(check.aligned for check in verdict.dkim)
    assert counting.asked <= MAX_QUERIES


async def test_report_row_has_what_an_aggregate_report_needs(resolver: ZoneResolver) -> None:
    verdict = await evaluate(
        ["example.com"],
        spf("fail", "example.com"),
        [DkimOutcome("pass", "example.com", "sel", "good signature")],
        resolver,
    )
    row = verdict.report_row(source_ip="198.51.100.7", envelope_from="example.com")
    assert row.source_ip == "198.51.100.7"
    assert row.header_from == "example.com"
    assert row.envelope_from == "example.com"
    assert (row.disposition, row.dkim, row.spf) == ("none", "pass", "fail")
    assert row.dkim_results == (("example.com", "sel", "pass", "good signature"),)
    assert row.spf_result == ("example.com", "mfrom", "fail")
    published = row.policy_published
    assert published is not None
    assert (published.domain, published.p, published.sp, published.np) == (
        "example.com",
        "reject",
        "quarantine",
        "reject",
    )
    assert (published.adkim, published.aspf, published.discovery_method) == ("r", "r", "treewalk")


async def test_helo_identity_does_not_count(resolver: ZoneResolver) -> None:
    verdict = await evaluate(
        ["example.com"], SpfOutcome("pass", "example.com", "helo"), [], resolver
    )
    assert verdict.result is DmarcResult.FAIL


async def test_a_unicode_from_domain_is_asked_as_a_labels() -> None:
    zone = f"""$ORIGIN xn--bcher-kva.example.
{SOA}@ IN A 192.0.2.1
_dmarc IN TXT "v=DMARC1; p=reject"
"""
    resolver = ZoneResolver.from_text(zone)
    verdict = await evaluate(["Bücher.example"], spf("pass", "xn--bcher-kva.example"), [], resolver)
    assert verdict.author_domain == "xn--bcher-kva.example"
    assert verdict.result is DmarcResult.PASS
