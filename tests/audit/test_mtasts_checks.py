"""MTA-STS checks: the _mta-sts record, the policy fetch over HTTPS, MX coverage.

Scenarios are subdomains of sts.test (tests/audit/zones/sts.test.zone), audited live against
Knot and offline over the same zones; their policies come from a PolicyServer on 127.0.0.80
(tests/audit/tlsservers.py) that trusts a CA made for the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from scenarios import offline_resolver
from tlsservers import (
    GOOD_POLICY,
    PolicyServer,
    Route,
    audit_areas,
    good_test_policy,
    private_ca,
    untrusted_ca,
)

from knot import KnotServer
from mailward.audit.auditor import Auditor, DomainReport
from mailward.audit.checks.mtasts import POLICY_PATH
from mailward.audit.context import AuditOptions
from mailward.audit.https import HttpsError, https_get
from mailward.codes import Severity
from mailward.dns.resolver import Answer
from mailward.errors import TempError

MX1 = "version: STSv1\nmode: enforce\nmx: mx1.sts.test\nmax_age: 604800\n"
LIMIT = 30  # seconds: no test here may take longer, whatever goes wrong


def policy(mode: str = "enforce", mx: str = "mx1.sts.test", max_age: int = 604800) -> str:
    return f"version: STSv1\r\nmode: {mode}\r\nmx: {mx}\r\nmax_age: {max_age}\r\n"


def routes() -> dict[str, Route]:
    ca = private_ca()
    redirect = (("Location", "https://mta-sts.redirect.sts.test/elsewhere.txt"),)
    return {
        "mta-sts.good.test": Route(GOOD_POLICY),
        "mta-sts.enforce.sts.test": Route(policy(mx="*.enforce.sts.test")),
        "mta-sts.badid.sts.test": Route(MX1),
        "mta-sts.two.sts.test": Route(MX1),
        "mta-sts.redirect.sts.test": Route(
            "", status=301, reason="Moved Permanently", headers=redirect
        ),
        "mta-sts.notfound.sts.test": Route("not here\n", status=404, reason="Not Found"),
        "mta-sts.html.sts.test": Route(MX1, content_type="text/html"),
        "mta-sts.wrongcert.sts.test": Route(MX1, identity=ca.issue("www.wrongcert.sts.test")),
        "mta-sts.untrusted.sts.test": Route(
            MX1, identity=untrusted_ca().issue("mta-sts.untrusted.sts.test")
        ),
        "mta-sts.expired.sts.test": Route(
            MX1, identity=ca.issue("mta-sts.expired.sts.test", expired=True)
        ),
        "mta-sts.slow.sts.test": Route(stall=True),
        "mta-sts.big.sts.test": Route(MX1 + "#" * 70000),
        "mta-sts.chunked.sts.test": Route(MX1, chunked=True),
        "mta-sts.charset.sts.test": Route(MX1, content_type="text/plain; charset=utf-8"),
        "mta-sts.alias.sts.test": Route(MX1),
        "mta-sts.badpolicy.sts.test": Route(policy(mode="enforced")),
        "mta-sts.testing.sts.test": Route(policy(mode="testing")),
        "mta-sts.shortage.sts.test": Route(policy(max_age=86400)),
        "mta-sts.modenone.sts.test": Route(policy(mode="none")),
        "mta-sts.uncovered.sts.test": Route(policy(mx="mail.uncovered.sts.test")),
        "mta-sts.deepwild.sts.test": Route(policy(mx="*.deepwild.sts.test")),
    }


@pytest.fixture
async def policies() -> AsyncIterator[PolicyServer]:
    async with PolicyServer(routes()) as server:
        yield server


async def audit(knot: KnotServer, domain: str, options: AuditOptions) -> DomainReport:
    async with asyncio.timeout(LIMIT):
        return await audit_areas(knot, domain, options, ("mta-sts.",))


def sts(report: DomainReport) -> set[tuple[str, Severity]]:
    return {(f.code, f.severity) for f in report.findings if f.code.startswith("mta-sts.")}


E, W, INFO, P = Severity.ERROR, Severity.WARNING, Severity.INFO, Severity.PASS
UNAVAILABLE = {("mta-sts.policy-unavailable", E)}

SCENARIOS = [
    # domain, the exact MTA-STS findings, what the first of them says
    ("good.test", {("mta-sts.ok", P)}, "mode enforce, max_age 604800; the policy covers mail"),
    ("enforce.sts.test", {("mta-sts.ok", P)}, "covers mail.enforce.sts.test, backup.enforce"),
    ("none.sts.test", {("mta-sts.missing", INFO)}, "no MTA-STS record at _mta-sts.none.sts.test"),
    ("nullmx.sts.test", set(), ""),
    ("badid.sts.test", {("mta-sts.record-syntax", E)}, "id=2026-11-28 must be 1 to 32"),
    ("two.sts.test", {("mta-sts.record-syntax", E)}, "2 MTA-STS records"),
    ("noaddr.sts.test", UNAVAILABLE, "mta-sts.noaddr.sts.test has no A or AAAA record"),
    ("refused.sts.test", UNAVAILABLE, "127.0.0.81 port {port}: connection refused"),
    ("redirect.sts.test", UNAVAILABLE, "HTTP 301 Moved Permanently, a redirect to https://"),
    ("notfound.sts.test", UNAVAILABLE, "HTTP 404 Not Found"),
    ("html.sts.test", UNAVAILABLE, "served as 'text/html'; senders require text/plain"),
    ("wrongcert.sts.test", UNAVAILABLE, "Hostname mismatch"),
    ("untrusted.sts.test", UNAVAILABLE, "unable to get local issuer certificate"),
    ("expired.sts.test", UNAVAILABLE, "certificate has expired"),
    ("slow.sts.test", UNAVAILABLE, "did not answer within 1 s"),
    ("big.sts.test", UNAVAILABLE, "larger than 64 KiB"),
    ("chunked.sts.test", {("mta-sts.ok", P)}, "covers mx1.sts.test"),
    ("charset.sts.test", {("mta-sts.ok", P)}, "covers mx1.sts.test"),
    ("alias.sts.test", {("mta-sts.ok", P)}, "covers mx1.sts.test"),
    ("badpolicy.sts.test", {("mta-sts.policy-syntax", E)}, "line 2: mode 'enforced' must be"),
    ("testing.sts.test", {("mta-sts.testing-mode", INFO), ("mta-sts.ok", P)}, "mode testing"),
    ("shortage.sts.test", {("mta-sts.max-age-short", W)}, "max_age 86400 is less than a week"),
    ("modenone.sts.test", {("mta-sts.missing", INFO)}, "the policy's mode is none"),
    ("uncovered.sts.test", {("mta-sts.mx-not-covered", E)}, "backup.uncovered.sts.test matches"),
    ("deepwild.sts.test", {("mta-sts.mx-not-covered", E)}, "covers exactly one label"),
]


@pytest.mark.parametrize(("domain", "expected", "says"), SCENARIOS)
async def test_mta_sts_scenarios(
    audit_knot: KnotServer,
    policies: PolicyServer,
    domain: str,
    expected: set[tuple[str, Severity]],
    says: str,
) -> None:
    report = await audit(audit_knot, domain, policies.options(https_timeout=1.0))
    assert sts(report) == expected, [(f.code, f.detail) for f in report.findings]
    if expected:
        details = [f.detail for f in report.findings if f.code.startswith("mta-sts.")]
        assert any(says.format(port=policies.port) in d for d in details), details


async def test_a_record_without_a_reachable_policy_is_an_error(audit_knot: KnotServer) -> None:
    # good.test publishes _mta-sts, but nothing serves its policy on this port
    async with PolicyServer({}) as idle:
        port = idle.port
    report = await audit(audit_knot, "good.test", AuditOptions(https_port=port))
    [finding] = [f for f in report.findings if f.code.startswith("mta-sts.")]
    assert (finding.code, finding.severity) == ("mta-sts.policy-unavailable", E)
    assert f"127.0.0.80 port {port}: connection refused" in finding.detail


async def test_fixes(audit_knot: KnotServer, policies: PolicyServer) -> None:
    options = policies.options()
    badid = await audit(audit_knot, "badid.sts.test", options)
    assert [f.fix for f in badid.findings if f.code == "mta-sts.record-syntax"] == [
        "v=STSv1; id=20261128"
    ]
    uncovered = await audit(audit_knot, "uncovered.sts.test", options)
    [finding] = [f for f in uncovered.findings if f.code == "mta-sts.mx-not-covered"]
    assert finding.fix == (
        "version: STSv1\nmode: enforce\nmx: mail.uncovered.sts.test\n"
        "mx: backup.uncovered.sts.test\nmax_age: 604800\n"
    )
    assert "change the id of the _mta-sts record" in finding.detail
    noaddr = await audit(audit_knot, "noaddr.sts.test", options)
    assert [f.fix for f in noaddr.findings if f.code.startswith("mta-sts.")] == [
        "mta-sts.noaddr.sts.test. 3600 IN A <address of the web server that serves the policy>"
    ]
    missing = await audit(audit_knot, "none.sts.test", options)
    [finding] = [f for f in missing.findings if f.code == "mta-sts.missing"]
    assert finding.fix is not None
    assert finding.fix.startswith('_mta-sts.none.sts.test. 3600 IN TXT "v=STSv1; id=')
    assert "mode: testing\nmx: mx1.sts.test\nmax_age: 604800\n" in finding.fix


async def test_no_redirect_is_followed_and_the_policy_host_is_asked_by_name(
    audit_knot: KnotServer, policies: PolicyServer
) -> None:
    await audit(audit_knot, "redirect.sts.test", policies.options())
    assert policies.hits("mta-sts.redirect.sts.test") == [POLICY_PATH, POLICY_PATH]  # live, offline
    await audit(audit_knot, "alias.sts.test", policies.options())
    # mta-sts.alias is a CNAME: SNI, Host and the certificate are still for mta-sts.<domain>
    assert policies.hits("mta-sts.alias.sts.test") == [POLICY_PATH, POLICY_PATH]
    assert policies.hits("policy-host.sts.test") == []


async def test_the_ca_file_is_what_makes_the_test_ca_trusted(
    audit_knot: KnotServer, policies: PolicyServer
) -> None:
    options = AuditOptions(https_port=policies.port, https_timeout=2.0)  # no ca_file
    report = await audit(audit_knot, "good.test", options)
    [finding] = [f for f in report.findings if f.code.startswith("mta-sts.")]
    assert finding.code == "mta-sts.policy-unavailable"
    assert "unable to get local issuer certificate" in finding.detail


async def test_good_test_policy_makes_good_test_pass_mta_sts(audit_knot: KnotServer) -> None:
    async with good_test_policy() as options:
        report = await audit(audit_knot, "good.test", options)
    assert sts(report) == {("mta-sts.ok", P)}


class FailingResolver:
    """The scenario zones, except that some names give SERVFAIL."""

    def __init__(self, *failing: str) -> None:
        self.inner = offline_resolver()
        self.failing = set(failing)

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        if name.lower().rstrip(".") in self.failing:
            raise TempError(name, rdtype, "SERVFAIL (test)")
        return await self.inner.query(name, rdtype, dnssec=dnssec)


@pytest.mark.parametrize("failing", ["_mta-sts.none.sts.test", "mta-sts.noaddr.sts.test"])
async def test_a_dns_failure_is_never_missing_nor_unavailable(failing: str) -> None:
    domain = failing.split(".", 1)[1]
    async with asyncio.timeout(LIMIT):
        report = await Auditor(FailingResolver(failing)).audit(domain)
    codes = {f.code for f in report.findings}
    assert "dns.temperror" in codes
    assert not {c for c in codes if c.startswith("mta-sts.")}, codes


# --- the HTTPS fetch itself -------------------------------------------------------------------


async def fetch(server: PolicyServer, host: str, **kwargs: object) -> bytes:
    async with asyncio.timeout(LIMIT):
        response = await https_get(
            host,
            POLICY_PATH,
            addresses=["127.0.0.80"],
            port=server.port,
            ca_file=str(private_ca().ca_file),
            timeout=2.0,
            **kwargs,  # type: ignore[arg-type]
        )
    assert response.status == 200
    return response.body


@pytest.mark.parametrize("chunked", [False, True])
async def test_fetch_size_bound_is_64_kib(chunked: bool) -> None:
    exact, over = b"x" * 65536, b"x" * 65537
    async with PolicyServer(
        {
            "exact.test": Route(exact, chunked=chunked),
            "over.test": Route(over, chunked=chunked),
        }
    ) as server:
        assert await fetch(server, "exact.test") == exact
        with pytest.raises(HttpsError, match="larger than 64 KiB") as failure:
            await fetch(server, "over.test")
    assert failure.value.kind == "too-large"


async def test_fetch_reads_a_body_to_the_end_of_the_connection_but_no_further() -> None:
    head = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
    async with PolicyServer(
        {
            "eof.test": Route(raw=head + GOOD_POLICY.encode()),
            "endless.test": Route(raw=head + b"y" * 70000),
        }
    ) as server:
        assert await fetch(server, "eof.test") == GOOD_POLICY.encode()
        with pytest.raises(HttpsError, match="larger than 64 KiB"):
            await fetch(server, "endless.test")


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "broke off the answer"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 10000 + b"\r\n\r\n", "longer than 8192"),
    ],
)
async def test_fetch_refuses_what_is_not_http(raw: bytes, says: str) -> None:
    async with PolicyServer({"odd.test": Route(raw=raw)}) as server:
        with pytest.raises(HttpsError, match=says) as failure:
            await fetch(server, "odd.test")
    assert failure.value.kind == "protocol"


async def test_fetch_tries_the_next_address_when_one_refuses() -> None:
    async with PolicyServer({"two.test": Route(GOOD_POLICY)}) as server:
        async with asyncio.timeout(LIMIT):
            response = await https_get(
                "two.test",
                POLICY_PATH,
                addresses=["127.0.0.81", "127.0.0.80"],
                port=server.port,
                ca_file=str(private_ca().ca_file),
                timeout=2.0,
            )
    assert (response.address, response.body) == ("127.0.0.80", GOOD_POLICY.encode())
    assert response.tls_version in ("TLSv1.2", "TLSv1.3")


async def test_fetch_requires_tls_12() -> None:
    async with PolicyServer({"old.test": Route(GOOD_POLICY)}, only_tls11=True) as server:
        with pytest.raises(
            HttpsError, match=r"the TLS handshake \(1.2 or later\) with old.test"
        ) as failure:
            await fetch(server, "old.test")
    assert failure.value.kind == "tls"
