"""DMARC checks (RFC 9989, RFC 9990 §4): each code triggered and its near miss, live against
Knot and offline over the same zones; the tree walk, the Organizational Domain and the rule
that a DNS failure never reads as "missing"."""

from __future__ import annotations

import pytest
from scenarios import audit_both, offline_resolver

from knot import KnotServer
from mailward.audit.auditor import Auditor, DomainReport
from mailward.audit.checks.dmarc import dmarc_policy
from mailward.audit.context import AuditContext, AuditOptions
from mailward.audit.domain import parse_domain
from mailward.codes import Severity
from mailward.dns.lookup import Lookup
from mailward.dns.resolver import Answer, Resolver
from mailward.dns.zonefiles import ZoneResolver
from mailward.errors import TempError
from mailward.findings import Finding
from mailward.records.dmarc import Policy
from mailward.records.orgdomain import (
    PolicyRecords,
    Walk,
    is_public_suffix,
    organizational_domain,
    psl_organizational_domain,
    walk_names,
)


def found(report: DomainReport, code: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code]


def dmarc_codes(report: DomainReport) -> set[str]:
    return {f.code for f in report.findings if f.code.startswith("dmarc.")}


def line(owner: str, value: str) -> str:
    return f'{owner}. 3600 IN TXT "{value}"'


# (domain, code, the exact fix or None when the finding has none)
TRIGGERS = [
    (
        "dmarc-bare.test",
        "dmarc.missing",
        line("_dmarc.dmarc-bare.test", "v=DMARC1; p=none; rua=mailto:dmarc@dmarc-bare.test"),
    ),
    (
        "org.dmarc-psd.test",
        "dmarc.missing",
        line("_dmarc.org.dmarc-psd.test", "v=DMARC1; p=none; rua=mailto:dmarc@org.dmarc-psd.test"),
    ),
    (
        "multi.dmarc.test",
        "dmarc.multiple-records",
        line("_dmarc.multi.dmarc.test", "v=DMARC1; p=reject; rua=mailto:dmarc@dmarc.test")
        + "   ; and delete the others",
    ),
    (
        "apex.dmarc-bare.test",
        "dmarc.wrong-location",
        line(
            "_dmarc.apex.dmarc-bare.test",
            "v=DMARC1; p=reject; rua=mailto:dmarc@apex.dmarc-bare.test",
        ),
    ),
    (
        "nounderscore.dmarc-bare.test",
        "dmarc.wrong-location",
        line(
            "_dmarc.nounderscore.dmarc-bare.test",
            "v=DMARC1; p=quarantine; rua=mailto:dmarc@nounderscore.dmarc-bare.test",
        ),
    ),
    (
        "apex.dmarc.test",
        "dmarc.wrong-location",
        line("_dmarc.apex.dmarc.test", "v=DMARC1; p=reject; rua=mailto:dmarc@dmarc.test"),
    ),
    (
        "syntax.dmarc.test",
        "dmarc.syntax",
        line("_dmarc.syntax.dmarc.test", "v=DMARC1; p=reject; rua=mailto:dmarc@dmarc.test"),
    ),
    (
        "vlast.dmarc-bare.test",
        "dmarc.syntax",
        line(
            "_dmarc.vlast.dmarc-bare.test",
            "v=DMARC1; p=reject; rua=mailto:dmarc@vlast.dmarc-bare.test",
        ),
    ),
    # export= is rua= and pct=50 becomes t=y: one pasted record corrects both
    (
        "unknown.dmarc.test",
        "dmarc.unknown-tag",
        line("_dmarc.unknown.dmarc.test", "v=DMARC1; p=reject; t=y; rua=mailto:dmarc@dmarc.test"),
    ),
    (
        "removed.dmarc.test",
        "dmarc.removed-tag",
        line("_dmarc.removed.dmarc.test", "v=DMARC1; p=reject; rua=mailto:dmarc@dmarc.test"),
    ),
    (
        "baduri.dmarc.test",
        "dmarc.bad-uri",
        line("_dmarc.baduri.dmarc.test", "v=DMARC1; p=reject; rua=mailto:dmarc@dmarc.test"),
    ),
    (
        "none.dmarc.test",
        "dmarc.policy-none",
        line("_dmarc.none.dmarc.test", "v=DMARC1; p=quarantine; t=y; rua=mailto:dmarc@dmarc.test"),
    ),
    (
        "spnone.dmarc.test",
        "dmarc.subdomain-policy-none",
        line("_dmarc.spnone.dmarc.test", "v=DMARC1; p=reject; rua=mailto:dmarc@dmarc.test"),
    ),
    (
        "norua.dmarc.test",
        "dmarc.no-rua",
        line("_dmarc.norua.dmarc.test", "v=DMARC1; p=reject; rua=mailto:dmarc@norua.dmarc.test"),
    ),
    # the misspelt rua= is the address to use: the fix does not invent another
    (
        "unknown.dmarc.test",
        "dmarc.no-rua",
        line("_dmarc.unknown.dmarc.test", "v=DMARC1; p=reject; t=y; rua=mailto:dmarc@dmarc.test"),
    ),
    (
        "unauth.dmarc.test",
        "dmarc.rua-unauthorized",
        line("unauth.dmarc.test._report._dmarc.reports.test", "v=DMARC1"),
    ),
    (
        "ruf.dmarc.test",
        "dmarc.rua-unauthorized",
        line("ruf.dmarc.test._report._dmarc.reports.test", "v=DMARC1"),
    ),
    (
        "override.dmarc.test",
        "dmarc.rua-unauthorized",
        line("override.dmarc.test._report._dmarc.reports.test", "v=DMARC1"),
    ),
    (
        "ownorg.dmarc.test",
        "dmarc.rua-unauthorized",
        line("ownorg.dmarc.test._report._dmarc.reports.ownorg.dmarc.test", "v=DMARC1"),
    ),
    (
        "shop.dmarc-bare.test",
        "dmarc.rua-unauthorized",
        line("shop.dmarc-bare.test._report._dmarc.dmarc-bare.test", "v=DMARC1"),
    ),
    ("inherit.dmarc.test", "dmarc.inherited", None),
    ("multi.dmarc.test", "dmarc.inherited", None),
    ("reject.dmarc.test", "dmarc.ok", None),
    ("inherit.dmarc.test", "dmarc.ok", None),
    ("testing.dmarc.test", "dmarc.ok", None),
]


@pytest.mark.parametrize(("domain", "code", "fix"), TRIGGERS)
async def test_code_is_reported_with_its_fix(
    audit_knot: KnotServer, domain: str, code: str, fix: str | None
) -> None:
    report = await audit_both(audit_knot, domain)
    hits = found(report, code)
    assert len(hits) == 1, [(f.code, f.detail) for f in report.findings]
    assert hits[0].fix == fix


# (domain, a code it must not get): the near misses
NEAR_MISSES = [
    ("inherit.dmarc.test", "dmarc.missing"),  # a parent's policy covers it
    ("a.mid.dmarc.test", "dmarc.missing"),
    ("vlast.dmarc-bare.test", "dmarc.missing"),  # a broken record is a syntax error
    ("apex.dmarc-bare.test", "dmarc.missing"),  # a misplaced one is reported as such
    ("wild.dmarc.test", "dmarc.syntax"),  # a wildcard's SPF text at _dmarc is no record
    ("reject.dmarc.test", "dmarc.multiple-records"),
    ("apexspf.dmarc.test", "dmarc.wrong-location"),  # other TXT at the apex
    ("inherit.dmarc.test", "dmarc.wrong-location"),
    ("reject.dmarc.test", "dmarc.syntax"),
    ("reject.dmarc.test", "dmarc.unknown-tag"),
    ("reject.dmarc.test", "dmarc.removed-tag"),
    ("reject.dmarc.test", "dmarc.bad-uri"),
    ("reject.dmarc.test", "dmarc.policy-none"),
    ("a.mid.dmarc.test", "dmarc.policy-none"),  # mid's p=none is not its policy
    ("a.b.c.d.e.f.g.h.dmarc.test", "dmarc.policy-none"),  # c.d.e.f.g.h is never asked
    ("reject.dmarc.test", "dmarc.subdomain-policy-none"),
    ("reject.dmarc.test", "dmarc.no-rua"),
    ("reject.dmarc.test", "dmarc.rua-unauthorized"),  # dmarc.test: the same organization
    ("ext.dmarc.test", "dmarc.rua-unauthorized"),  # authorised by reports.test
    ("anyhost.dmarc.test", "dmarc.rua-unauthorized"),  # authorised by a wildcard
    ("below.dmarc.test", "dmarc.rua-unauthorized"),  # a host below the policy domain
    ("a.split.dmarc.test", "dmarc.rua-unauthorized"),
    ("reject.dmarc.test", "dmarc.inherited"),
    ("org.dmarc-psd.test", "dmarc.inherited"),  # a PSD's policy is not the owner's
    ("none.dmarc.test", "dmarc.ok"),
    ("norua.dmarc.test", "dmarc.ok"),
    ("org.dmarc-psd.test", "dmarc.ok"),
    ("own.dmarc-psd.test", "dmarc.missing"),
]


@pytest.mark.parametrize(("domain", "code"), NEAR_MISSES)
async def test_near_miss_is_not_flagged(audit_knot: KnotServer, domain: str, code: str) -> None:
    report = await audit_both(audit_knot, domain)
    assert code not in dmarc_codes(report), [(f.code, f.detail) for f in report.findings]


@pytest.mark.parametrize(
    "domain", ["reject.dmarc.test", "ext.dmarc.test", "anyhost.dmarc.test", "own.dmarc-psd.test"]
)
async def test_a_correct_reject_domain_gets_no_warning(audit_knot: KnotServer, domain: str) -> None:
    report = await audit_both(audit_knot, domain)
    dmarc = [f for f in report.findings if f.code.startswith("dmarc.")]
    assert [f.code for f in dmarc] == ["dmarc.ok"], [(f.code, f.detail) for f in dmarc]


async def test_good_test_is_clean_in_these_areas(audit_knot: KnotServer) -> None:
    options = AuditOptions(dkim_selectors=("s2026", "e2026"))
    report = await audit_both(audit_knot, "good.test", options)
    mine = [f for f in report.findings if f.code.split(".")[0] in ("dmarc", "dkim", "tlsrpt")]
    assert {f.code for f in mine} == {"dmarc.ok", "dkim.ok", "tlsrpt.ok"}, [
        (f.code, f.detail) for f in mine
    ]


async def test_missing_gives_the_rollout_steps(audit_knot: KnotServer) -> None:
    report = await audit_both(audit_knot, "dmarc-bare.test")
    (missing,) = found(report, "dmarc.missing")
    assert missing.severity is Severity.ERROR
    assert "p=quarantine; t=y" in missing.detail and "p=reject" in missing.detail
    assert "dmarc@dmarc-bare.test" in missing.detail


async def test_a_psd_policy_is_named_but_the_owner_still_lacks_a_record(
    audit_knot: KnotServer,
) -> None:
    report = await audit_both(audit_knot, "org.dmarc-psd.test")
    (missing,) = found(report, "dmarc.missing")
    assert "_dmarc.dmarc-psd.test" in missing.detail and "public suffix" in missing.detail


@pytest.mark.parametrize(
    ("domain", "source", "policy"),
    [
        ("inherit.dmarc.test", "dmarc.test", "reject"),
        ("a.split.dmarc.test", "split.dmarc.test", "quarantine"),  # psd=n: its own organization
        ("a.mid.dmarc.test", "dmarc.test", "reject"),  # no psd=: the fewest labels win
        ("a.b.c.d.e.f.g.h.dmarc.test", "dmarc.test", "reject"),  # eight questions at most
    ],
)
async def test_inherited_names_the_record_the_tree_walk_found(
    audit_knot: KnotServer, domain: str, source: str, policy: str
) -> None:
    report = await audit_both(audit_knot, domain)
    (inherited,) = found(report, "dmarc.inherited")
    assert f"Organizational Domain {source} " in inherited.detail
    assert f"{domain} {policy} " in inherited.detail
    assert "not missing DMARC" in inherited.detail


async def test_override_to_another_host_is_explained(audit_knot: KnotServer) -> None:
    report = await audit_both(audit_knot, "override.dmarc.test")
    (finding,) = found(report, "dmarc.rua-unauthorized")
    assert "mailto:agg@elsewhere.test" in finding.detail and "neither" in finding.detail


async def test_unauthorised_detail_names_the_record_to_publish(audit_knot: KnotServer) -> None:
    report = await audit_both(audit_knot, "unauth.dmarc.test")
    (finding,) = found(report, "dmarc.rua-unauthorized")
    assert "unauth.dmarc.test._report._dmarc.reports.test" in finding.detail
    assert finding.severity is Severity.WARNING


# --- the discovered policy, shared with other checks -------------------------------------


async def discovery_of(domain: str, resolver: Resolver | None = None) -> AuditContext:
    return AuditContext(parse_domain(domain), resolver or offline_resolver())


async def test_policy_is_shared_through_the_memo() -> None:
    ctx = await discovery_of("a.split.dmarc.test")
    discovery = await dmarc_policy(ctx)
    assert discovery is await ctx.memo("dmarc.policy", lambda: _unused())
    policy = discovery.policy
    assert policy is not None
    assert (policy.source, policy.kind, policy.policy) == (
        "split.dmarc.test",
        "organizational",
        Policy.QUARANTINE,
    )
    assert policy.inherited and discovery.complete


async def _unused() -> None:
    raise AssertionError("the memo computed twice")


async def test_own_policy_and_psd_policy() -> None:
    own = (await dmarc_policy(await discovery_of("reject.dmarc.test"))).policy
    assert own is not None and (own.kind, own.policy) == ("own", Policy.REJECT)
    psd = (await dmarc_policy(await discovery_of("org.dmarc-psd.test"))).policy
    assert psd is not None and (psd.kind, psd.source) == ("psd", "dmarc-psd.test")


# --- DNS failures never read as missing ----------------------------------------------------


class Failing:
    """A resolver that times out for some names and asks ``inner`` for the rest."""

    def __init__(self, inner: Resolver, names: set[str]) -> None:
        self.inner, self.names = inner, names

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        if name.rstrip(".").lower() in self.names:
            raise TempError(name, rdtype, "timed out")
        return await self.inner.query(name, rdtype, dnssec=dnssec)


@pytest.mark.parametrize(
    ("domain", "failing"),
    [
        ("dmarc-bare.test", "_dmarc.dmarc-bare.test"),  # the domain's own question
        ("inherit.dmarc.test", "_dmarc.dmarc.test"),  # the parent's, in the tree walk
        ("shop.dmarc-bare.test", "shop.dmarc-bare.test._report._dmarc.dmarc-bare.test"),
        ("shop.dmarc-bare.test", "_dmarc.dmarc-bare.test"),  # the organization's walk
    ],
)
async def test_a_dns_failure_is_never_read_as_missing(domain: str, failing: str) -> None:
    resolver = Failing(offline_resolver(), {failing})
    report = await Auditor(resolver).audit(domain)
    codes = {f.code for f in report.findings}
    assert "dns.temperror" in codes
    assert not codes & {"dmarc.missing", "dmarc.rua-unauthorized", "dmarc.inherited"}, codes


def zone(origin: str) -> str:
    """A zone holding only ``origin``'s SOA and an address."""
    return f"$ORIGIN {origin}.\n@ 3600 IN SOA ns hm 1 7200 3600 1209600 3600\n@ IN A 192.0.2.1\n"


async def test_a_failure_at_a_public_suffix_does_not_hide_a_missing_record() -> None:
    # offline with one zone: _dmarc.example (a public suffix) is outside the zone files
    report = await Auditor(ZoneResolver.from_text(zone("lonely.example"))).audit("lonely.example")
    (missing,) = found(report, "dmarc.missing")
    assert "_dmarc.example could not be asked" in missing.detail
    assert "dns.not-in-zones" in {f.code for f in report.findings}


async def test_a_failure_inside_the_organization_blocks_missing() -> None:
    report = await Auditor(ZoneResolver.from_text(zone("a.corp.example"))).audit("a.corp.example")
    assert not dmarc_codes(report), dmarc_codes(report)


# --- the tree walk and the Organizational Domain (RFC 9989 §4.10) --------------------------


def test_walk_names_follows_the_rfc_example() -> None:
    assert walk_names("a.b.c.d.e.f.g.h.i.j.mail.example.com") == (
        "a.b.c.d.e.f.g.h.i.j.mail.example.com",
        "g.h.i.j.mail.example.com",
        "h.i.j.mail.example.com",
        "i.j.mail.example.com",
        "j.mail.example.com",
        "mail.example.com",
        "example.com",
        "com",
    )


@pytest.mark.parametrize("labels", range(1, 20))
def test_walk_asks_at_most_eight_names(labels: int) -> None:
    name = ".".join(f"l{i}" for i in range(labels))
    names = walk_names(name)
    assert len(names) == min(labels, 8)
    assert names[0] == name and names[-1] == f"l{labels - 1}"


async def test_the_walk_asks_exactly_the_rfc_names() -> None:
    asked: list[str] = []
    inner = offline_resolver()

    class Counting:
        async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
            if name.startswith("_dmarc."):
                asked.append(name.rstrip("."))
            return await inner.query(name, rdtype, dnssec=dnssec)

    await Auditor(Counting()).audit("a.b.c.d.e.f.g.h.dmarc.test")
    assert asked == [f"_dmarc.{n}" for n in walk_names("a.b.c.d.e.f.g.h.dmarc.test")]
    assert "_dmarc.c.d.e.f.g.h.dmarc.test" not in asked


def step(name: str, *texts: str) -> PolicyRecords:
    status = "ok" if texts else "nxdomain"
    return PolicyRecords(name, Lookup(f"_dmarc.{name}", "TXT", status), texts)


@pytest.mark.parametrize(
    ("steps", "organizational"),
    [
        ([], "a.mail.example.com"),  # no record: the name itself
        ([("mail.example.com", "p=none"), ("example.com", "p=reject")], "example.com"),
        ([("mail.example.com", "p=none; psd=n"), ("example.com", "p=reject")], "mail.example.com"),
        ([("com", "p=reject; psd=y")], "example.com"),  # one label below the PSD
        ([("a.mail.example.com", "p=reject; psd=y")], "a.mail.example.com"),  # not at the start
    ],
)
def test_organizational_domain_selection(steps: list[tuple[str, str]], organizational: str) -> None:
    walk = Walk(
        "a.mail.example.com",
        tuple(step(name, f"v=DMARC1; {tags}") for name, tags in steps),
    )
    assert organizational_domain(walk) == organizational


def test_two_records_at_one_name_count_as_none() -> None:
    twice = step("example.com", "v=DMARC1; p=reject", "v=DMARC1; p=none")
    assert twice.record is None and len(twice.valid) == 2
    walk = Walk("a.example.com", (step("a.example.com"), twice))
    assert organizational_domain(walk) == "a.example.com"


def test_public_suffix_list_answers_offline() -> None:
    assert psl_organizational_domain("a.b.example.co.uk") == "example.co.uk"
    assert psl_organizational_domain("co.uk") == "co.uk"
    assert is_public_suffix("com") and is_public_suffix("test")
    assert not is_public_suffix("example.com")
