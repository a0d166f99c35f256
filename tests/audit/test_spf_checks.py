"""The SPF checks (RFC 7208): live against Knot and offline over ``zones/spf.test.zone``.

Each scenario subdomain of spf.test shows one fault or its near miss; the lookup limits are
counted exactly (10 pass, 11 fail; 2 void lookups pass, 3 fail). A DNS failure inside the
tree is "could not check", never "no SPF record".
"""

from __future__ import annotations

import dns.rdata
import pytest
from scenarios import audit_both, offline_resolver

from knot import KnotServer
from mailward.audit.auditor import Auditor, DomainReport
from mailward.audit.checks.spf import MAX_COUNTED, NOT_UTF8
from mailward.codes import Severity
from mailward.dns.resolver import Answer
from mailward.dns.stub import StubResolver
from mailward.errors import TempError
from mailward.findings import Finding


def spf(report: DomainReport) -> list[Finding]:
    return [f for f in report.findings if f.code.startswith("spf.")]


def only(report: DomainReport, code: str) -> Finding:
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, [(f.code, f.detail) for f in report.findings]
    return found[0]


def line(name: str, value: str) -> str:
    return f'{name}. 3600 IN TXT "{value}"'


@pytest.mark.parametrize(
    ("domain", "code", "fix"),
    [
        (
            "none.spf.test",
            "spf.missing",
            line("none.spf.test", "v=spf1 mx ~all")
            + "   ; add include:/ip4: for every other service that sends as none.spf.test",
        ),
        ("spaceless.spf.test", "spf.missing", line("spaceless.spf.test", "v=spf1 -all")),
        (
            "only-old.spf.test",
            "spf.missing",
            line("only-old.spf.test", "v=spf1 ip4:192.0.2.1 -all"),
        ),
        (
            "only-old.spf.test",
            "spf.rrtype99",
            line("only-old.spf.test", "v=spf1 ip4:192.0.2.1 -all"),
        ),
        (
            "old-type.spf.test",
            "spf.rrtype99",
            "Delete the record of type SPF at old-type.spf.test; the TXT record is the one read.",
        ),
        (
            "two.spf.test",
            "spf.multiple-records",
            line("two.spf.test", "v=spf1 ip4:192.0.2.1 include:ok.spf.test -all")
            + "   ; in place of all 2",
        ),
        ("typo.spf.test", "spf.syntax", line("typo.spf.test", "v=spf1 include:ok.spf.test -all")),
        (
            "pass-all.spf.test",
            "spf.pass-all",
            line("pass-all.spf.test", "v=spf1 ip4:192.0.2.1 ~all"),
        ),
        (
            "neutral.spf.test",
            "spf.neutral-all",
            line("neutral.spf.test", "v=spf1 ip4:192.0.2.1 ~all"),
        ),
        ("no-all.spf.test", "spf.no-all", line("no-all.spf.test", "v=spf1 ip4:192.0.2.1 ~all")),
        ("ptr.spf.test", "spf.ptr-mechanism", None),
        (
            "eleven.spf.test",
            "spf.too-many-lookups",
            line(
                "eleven.spf.test",
                "v=spf1 mx ip4:192.0.2.1 ip4:192.0.2.2/31 ip4:192.0.2.4/30 ip4:192.0.2.8/31 "
                "ip4:192.0.2.10 -all",
            ),
        ),
        (
            "redirect11.spf.test",
            "spf.too-many-lookups",
            line("redirect11.spf.test", "v=spf1 ip4:127.0.0.25 redirect=chain1.spf.test"),
        ),
        (
            "void3.spf.test",
            "spf.too-many-void-lookups",
            line("void3.spf.test", "v=spf1 ip4:192.0.2.1 -all"),
        ),
        (
            "no-spf-inc.spf.test",
            "spf.include-no-record",
            line("no-spf-inc.spf.test", "v=spf1 ip4:192.0.2.1 -all")
            + "   ; or correct include:none.spf.test",
        ),
        ("gone-inc.spf.test", "spf.include-no-record", None),
        ("no-spf-redir.spf.test", "spf.include-no-record", None),
        ("loop-a.spf.test", "spf.loop", None),
        (
            "self-redir.spf.test",
            "spf.loop",
            line("self-redir.spf.test", "v=spf1 ip4:192.0.2.1 ~all")
            + "   ; or correct redirect=self-redir.spf.test",
        ),
        ("mx11.spf.test", "spf.mx-too-many", None),
        (
            "inc-pass-all.spf.test",
            "spf.pass-all",
            line("inc-pass-all.spf.test", "v=spf1 ip4:192.0.2.1 -all")
            + "   ; or correct include:pass-all.spf.test",
        ),
    ],
)
async def test_spf_faults(audit_knot: KnotServer, domain: str, code: str, fix: str | None) -> None:
    report = await audit_both(audit_knot, domain)
    finding = only(report, code)
    if fix is not None:
        assert finding.fix == fix
    assert finding.evidence, "every finding shows what was looked up"
    assert "spf.ok" not in {f.code for f in report.findings}


@pytest.mark.parametrize(
    ("domain", "says"),
    [
        ("good.test", "1/10 DNS lookups, 0 void"),
        ("ok.spf.test", "0/10 DNS lookups"),
        ("sender-id.spf.test", "v=spf1 -all:"),  # spf2.0 and v=spf10 are not SPF records
        ("ten.spf.test", "10/10 DNS lookups"),  # exp= and the top-level fetch do not count
        ("redirect.spf.test", "1/10 DNS lookups"),
        ("void2.spf.test", "3/10 DNS lookups, 2 void"),
        ("void2-v6.spf.test", "2/10 DNS lookups"),  # 1 void for IPv4 senders, 2 for IPv6
        ("diamond.spf.test", "4/10 DNS lookups"),  # one name reached twice is no loop
        ("mx10.spf.test", "1/10 DNS lookups"),
    ],
)
async def test_near_misses_pass(audit_knot: KnotServer, domain: str, says: str) -> None:
    report = await audit_both(audit_knot, domain)
    assert [f.code for f in spf(report)] == ["spf.ok"], [(f.code, f.detail) for f in spf(report)]
    assert says in spf(report)[0].detail


async def test_two_records_are_reported_once(audit_knot: KnotServer) -> None:
    report = await audit_both(audit_knot, "two.spf.test")
    assert [f.code for f in spf(report)] == ["spf.multiple-records"]


async def test_the_lookup_tree_is_shown(audit_knot: KnotServer) -> None:
    finding = only(await audit_both(audit_knot, "eleven.spf.test"), "spf.too-many-lookups")
    tree = finding.evidence[0].splitlines()
    assert tree[:4] == [
        "eleven.spf.test: 11/10 DNS lookups",
        "  mx (1)",
        "  include:chain1.spf.test (2)",
        "    include:chain2.spf.test (3)",
    ]
    assert tree[-1] == "  " * 10 + "include:chain10.spf.test (11)"
    assert finding.detail.startswith("11/10 DNS lookups")
    assert "include:chain1.spf.test (10 lookups) into 5 ip4:/ip6: terms" in finding.detail
    assert 'chain10.spf.test TXT: "v=spf1 ip4:192.0.2.10 ~all"' in finding.evidence


async def test_a_macro_is_counted_not_followed_and_the_fix_is_manual(
    audit_knot: KnotServer,
) -> None:
    finding = only(await audit_both(audit_knot, "macro.spf.test"), "spf.too-many-lookups")
    assert (
        "exists:%{i}._ip.spf.test (2) — macro: expands per message, so counted but not "
        "followed" in finding.evidence[0]
    )
    assert finding.fix is not None and "`mailward query NAME TXT`" in finding.fix
    assert "include:m1.spf.test 11" in finding.fix


async def test_an_include_that_passes_everyone_is_pass_all(audit_knot: KnotServer) -> None:
    finding = only(await audit_both(audit_knot, "inc-pass-all.spf.test"), "spf.pass-all")
    assert finding.detail == (
        "include:pass-all.spf.test in inc-pass-all.spf.test's record: pass-all.spf.test's "
        "record ends in +all: it authorises every host"
    )


async def test_void_lookups_are_named(audit_knot: KnotServer) -> None:
    finding = only(await audit_both(audit_knot, "void3.spf.test"), "spf.too-many-void-lookups")
    assert finding.detail.startswith("3 void lookups, over 2: ")
    assert "a:nodata.spf.test (void: A nodata, AAAA nodata)" in finding.detail
    assert "a:gone1.spf.test (void: A nxdomain, AAAA nxdomain)" in finding.detail


async def test_a_host_without_ipv4_is_void_for_ipv4_senders(audit_knot: KnotServer) -> None:
    finding = only(await audit_both(audit_knot, "void-v4.spf.test"), "spf.too-many-void-lookups")
    assert finding.detail.startswith("3 void lookups for IPv4 senders, over 2: ")
    assert "a:v6only.spf.test//64 (void for IPv4 senders: A nodata)" in finding.detail
    # the names that do not exist go; the IPv6-only host stays, as its address
    assert finding.fix == line("void-v4.spf.test", "v=spf1 ip6:2001:db8::/64 -all")


async def test_bytes_that_are_not_utf8_are_reported_not_a_crash(audit_knot: KnotServer) -> None:
    finding = only(await audit_both(audit_knot, "binary.spf.test"), "spf.syntax")
    assert NOT_UTF8 in finding.detail
    assert "caf\\233" in finding.evidence[0]


async def test_a_failing_include_is_temperror_never_no_record(audit_knot: KnotServer) -> None:
    live = await Auditor(StubResolver([audit_knot.nameserver], timeout=2.0)).audit(
        "failing-inc.spf.test"
    )
    offline = await Auditor(offline_resolver()).audit("failing-inc.spf.test")
    for report, code in ((live, "dns.temperror"), (offline, "dns.not-in-zones")):
        codes = {f.code for f in report.findings}
        named = [f for f in report.findings if f.code == code and "spf.outside.invalid" in f.detail]
        assert len(named) == 1, [(f.code, f.detail) for f in report.findings]
        assert not codes & {"spf.include-no-record", "spf.missing", "spf.ok"}, codes


class Rewriting:
    """The offline resolver, with TXT answers for some names made up by ``texts``."""

    def __init__(
        self, texts: dict[str, list[list[bytes]]], grow: bool = False, refuse_spf_type: bool = False
    ) -> None:
        self.zones, self.texts, self.grow, self.asked = offline_resolver(), texts, grow, 0
        self.refuse_spf_type = refuse_spf_type

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        self.asked += 1
        if rdtype == "SPF" and self.refuse_spf_type:
            raise TempError(name, rdtype, "NOTIMP from 192.0.2.53")
        key = name.lower().rstrip(".")
        if rdtype == "TXT" and self.grow and key.endswith(".tree.test"):
            body = f"v=spf1 include:a.{key} include:b.{key} ~all".encode()
            return answer(name, [[body]])
        if key in self.texts and rdtype == "TXT":
            return answer(name, self.texts[key])
        return await self.zones.query(name, rdtype, dnssec=dnssec)


def answer(name: str, records: list[list[bytes]]) -> Answer:
    rdatas = []
    for strings in records:
        rdata = dns.rdata.from_text("IN", "TXT", '"x"')
        object.__setattr__(rdata, "strings", tuple(strings))  # past dnspython's 255 check
        rdatas.append(rdata)
    return Answer(name, "TXT", name + ".", tuple(rdatas), 3600)


async def test_a_string_over_255_bytes_is_an_error() -> None:
    value = b"v=spf1 " + b"ip4:192.0.2.1 " * 20 + b"-all"
    resolver = Rewriting({"long.test": [[value]], "split.test": [[value[:255], value[255:]]]})
    long = await Auditor(resolver).audit("long.test")
    finding = only(long, "spf.string-too-long")
    assert finding.detail == f"the SPF record's strings are {len(value)} bytes"
    strings = f'"{value[:255].decode()}" "{value[255:].decode()}"'
    assert finding.fix == f"long.test. 3600 IN TXT {strings}"
    split = await Auditor(resolver).audit("split.test")  # the same value in two strings
    assert "spf.string-too-long" not in {f.code for f in split.findings}
    assert [f.code for f in spf(split)] == ["spf.ok"]


async def test_a_hostile_include_tree_is_bounded() -> None:
    resolver = Rewriting({"hostile.test": [[b"v=spf1 include:x.tree.test -all"]]}, grow=True)
    report = await Auditor(resolver).audit("hostile.test")
    finding = only(report, "spf.too-many-lookups")
    assert finding.detail.startswith(f"{MAX_COUNTED}/10 DNS lookups or more")
    assert f"stopped counting at {MAX_COUNTED}" in finding.evidence[0]
    assert resolver.asked < 3 * MAX_COUNTED
    assert finding.severity is Severity.ERROR


async def test_a_server_refusing_the_obsolete_type_is_not_an_error() -> None:
    report = await Auditor(Rewriting({}, refuse_spf_type=True)).audit("good.test")
    assert not [f for f in report.findings if f.code.startswith("dns.") and " SPF" in f.detail]
    assert [f.code for f in spf(report)] == ["spf.ok"]
