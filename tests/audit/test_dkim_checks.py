"""DKIM checks (RFC 6376 §3.6.2.1, RFC 8301, RFC 8463): keys under given and guessed
selectors, each code triggered and its near miss, live against Knot and offline."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scenarios import audit_both

from knot import KnotServer
from mailward.audit.auditor import Auditor, DomainReport
from mailward.audit.checks.dkim import COMMON_SELECTORS, guessed_selectors
from mailward.audit.context import AuditOptions
from mailward.dns.zonefiles import ZoneResolver
from mailward.findings import Finding

ED25519 = "okUagRFnG/vcJP0tVsDstlJdCqPqcHDo/WwPseCZ+PE="
TEMPLATE = "v=DKIM1; k=rsa; p=<base64 public key from your signer>"


def found(report: DomainReport, code: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code]


def dkim_codes(report: DomainReport) -> set[str]:
    return {f.code for f in report.findings if f.code.startswith("dkim.")}


# (domain, selectors given, code, the exact fix or None)
TRIGGERS = [
    (
        "nokeys.dkim.test",
        (),
        "dkim.none-found",
        f'<selector>._domainkey.nokeys.dkim.test. 3600 IN TXT "{TEMPLATE}"',
    ),
    ("wildcard.dkim.test", (), "dkim.none-found", None),  # the wildcard's SPF text is no key
    ("dangling.dkim.test", (), "dkim.none-found", None),  # a guessed CNAME to nothing
    ("given.dkim.test", (), "dkim.none-found", None),  # s2026 is not guessed
    (
        "given.dkim.test",
        ("s2026", "nosuch"),
        "dkim.selector-missing",
        f'nosuch._domainkey.given.dkim.test. 3600 IN TXT "{TEMPLATE}"',
    ),
    (
        "dangling.dkim.test",
        ("selector1",),
        "dkim.selector-missing",
        f'selector1-dangling._domainkey.keys.dkim.test. 3600 IN TXT "{TEMPLATE}"',
    ),
    ("given.dkim.test", ("not a selector",), "dkim.selector-missing", None),
    ("placeholder.dkim.test", (), "dkim.key-invalid", None),
    (
        "quoted.dkim.test",
        (),
        "dkim.key-invalid",
        f'default._domainkey.quoted.dkim.test. 3600 IN TXT "v=DKIM1; k=ed25519; p={ED25519}"',
    ),
    ("weak.dkim.test", (), "dkim.weak-key", None),
    ("short.dkim.test", (), "dkim.key-too-short", None),
    ("revoked.dkim.test", (), "dkim.revoked", None),
    (
        "testing.dkim.test",
        (),
        "dkim.testing",
        f'default._domainkey.testing.dkim.test. 3600 IN TXT "v=DKIM1; k=ed25519; p={ED25519}"',
    ),
    ("dkim.test", (), "dkim.ok", None),  # selector1 is a CNAME to a key in two strings
    ("given.dkim.test", ("s2026",), "dkim.ok", None),
    ("given.dkim.test", ("S2026.",), "dkim.ok", None),  # as typed: case and a final dot
]


@pytest.mark.parametrize(("domain", "selectors", "code", "fix"), TRIGGERS)
async def test_code_is_reported_with_its_fix(
    audit_knot: KnotServer, domain: str, selectors: tuple[str, ...], code: str, fix: str | None
) -> None:
    report = await audit_both(audit_knot, domain, AuditOptions(dkim_selectors=selectors))
    hits = found(report, code)
    assert len(hits) == 1, [(f.code, f.detail) for f in report.findings]
    if fix is not None:
        assert hits[0].fix == fix


# (domain, selectors given, a code it must not get)
NEAR_MISSES = [
    ("dkim.test", (), "dkim.none-found"),
    ("given.dkim.test", ("s2026",), "dkim.none-found"),  # given: nothing is guessed
    ("nokeys.dkim.test", (), "dkim.selector-missing"),  # guessed selectors that are not there
    ("given.dkim.test", ("s2026",), "dkim.selector-missing"),
    ("dkim.test", (), "dkim.key-invalid"),  # a key split over two TXT strings is valid
    ("wildcard.dkim.test", (), "dkim.key-invalid"),
    ("wildcard.dkim.test", (), "dkim.syntax"),
    ("dkim.test", (), "dkim.weak-key"),  # 2048 bits
    ("weak.dkim.test", (), "dkim.key-too-short"),  # 1024 bits is weak, not too short
    ("dkim.test", (), "dkim.revoked"),
    ("given.dkim.test", ("s2026",), "dkim.testing"),
    ("weak.dkim.test", (), "dkim.ok"),  # a warning stands
    ("revoked.dkim.test", (), "dkim.ok"),  # no usable key
    ("given.dkim.test", ("s2026", "nosuch"), "dkim.ok"),
]


@pytest.mark.parametrize(("domain", "selectors", "code"), NEAR_MISSES)
async def test_near_miss_is_not_flagged(
    audit_knot: KnotServer, domain: str, selectors: tuple[str, ...], code: str
) -> None:
    report = await audit_both(audit_knot, domain, AuditOptions(dkim_selectors=selectors))
    assert code not in dkim_codes(report), [(f.code, f.detail) for f in report.findings]


async def test_ok_says_which_selectors_were_given_and_which_guessed(
    audit_knot: KnotServer,
) -> None:
    guessed = await audit_both(audit_knot, "dkim.test")
    (ok,) = found(guessed, "dkim.ok")
    assert "selector1 (rsa 2048 bits, guessed)" in ok.detail
    assert "--dkim-selector" in ok.detail
    options = AuditOptions(dkim_selectors=("s2026", "e2026"))
    given = await audit_both(audit_knot, "good.test", options)
    (ok,) = found(given, "dkim.ok")
    assert "s2026 (rsa 2048 bits, given), e2026 (ed25519, given)" in ok.detail
    assert "guess" not in ok.detail


async def test_none_found_lists_the_selectors_and_says_dns_cannot_list_them(
    audit_knot: KnotServer,
) -> None:
    report = await audit_both(audit_knot, "nokeys.dkim.test")
    (none,) = found(report, "dkim.none-found")
    assert all(selector in none.detail for selector in guessed_selectors())
    assert "cannot list" in none.detail and "--dkim-selector" in none.detail


async def test_a_dangling_alias_is_explained(audit_knot: KnotServer) -> None:
    options = AuditOptions(dkim_selectors=("selector1",))
    report = await audit_both(audit_knot, "dangling.dkim.test", options)
    (missing,) = found(report, "dkim.selector-missing")
    assert "alias (CNAME) for selector1-dangling._domainkey.keys.dkim.test" in missing.detail


def test_guessed_selectors_are_the_common_ones_and_two_dated_ones() -> None:
    selectors = guessed_selectors(datetime(2027, 3, 1, tzinfo=UTC))
    assert selectors == (*COMMON_SELECTORS, "2027", "2026")
    assert {"selector1", "selector2", "google", "default", "k1", "dkim", "mail"} <= set(selectors)
    assert len(set(selectors)) == len(selectors)


async def test_a_dns_failure_is_never_read_as_none_found() -> None:
    # selector1 is an alias into a zone we do not have: that key cannot be seen offline
    zone = (
        "$ORIGIN m365.example.\n@ 3600 IN SOA ns hm 1 7200 3600 1209600 3600\n"
        "selector1._domainkey IN CNAME selector1-m365._domainkey.tenant.onmicrosoft.example.\n"
    )
    report = await Auditor(ZoneResolver.from_text(zone)).audit("m365.example")
    assert not dkim_codes(report), dkim_codes(report)
    assert "dns.not-in-zones" in {f.code for f in report.findings}
