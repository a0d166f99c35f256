"""``--smtp`` checks: STARTTLS, the certificate, the TLS version and the greeting, per MX address.

Scenarios are subdomains of smtp.test (tests/audit/zones/smtp.test.zone) plus good.test, whose
MX hosts are on 127.0.0.25 (PTR mail.good.test) or 127.0.0.26 (nothing listens). Each test
starts the SmtpServer it needs (tests/audit/tlsservers.py) on 127.0.0.25 at a free port.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import ssl
from pathlib import Path

import pytest
from tlsservers import (
    PolicyServer,
    Route,
    SmtpServer,
    audit_areas,
    good_test_policy,
    private_ca,
    untrusted_ca,
)

from knot import KnotServer
from mailward.audit.auditor import DomainReport
from mailward.audit.checks.smtp import any_tls_context, printable, smtp_probe
from mailward.audit.context import AuditOptions
from mailward.audit.https import client_context
from mailward.cli import main
from mailward.codes import Severity
from mailward.findings import Finding

LIMIT = 30  # seconds: no test here may take longer, whatever goes wrong
ZONES = sorted(str(p) for p in (Path(__file__).parent / "zones").glob("*.zone"))


def options(server: SmtpServer, **more: object) -> AuditOptions:
    base = AuditOptions(
        smtp=True,
        smtp_port=server.port,
        smtp_timeout=3.0,
        ca_file=str(private_ca().ca_file),
        https_timeout=3.0,
    )
    return dataclasses.replace(base, **more)  # type: ignore[arg-type]


async def audit(knot: KnotServer, domain: str, options: AuditOptions) -> DomainReport:
    async with asyncio.timeout(LIMIT):
        return await audit_areas(knot, domain, options, ("smtp.", "mta-sts."))


def smtp(report: DomainReport) -> list[Finding]:
    return [f for f in report.findings if f.code.startswith("smtp.")]


def codes(report: DomainReport) -> set[str]:
    return {f.code for f in smtp(report)}


async def test_a_correct_server_passes(audit_knot: KnotServer) -> None:
    identity = private_ca().issue("mail.good.test")
    async with SmtpServer(starttls=identity) as server, good_test_policy() as policy:
        report = await audit(audit_knot, "good.test", options(server, https_port=policy.https_port))
    assert codes(report) == {"smtp.ok"}, [(f.code, f.detail) for f in smtp(report)]
    [ok] = smtp(report)
    assert f"mail.good.test (127.0.0.25) port {server.port}: STARTTLS, TLSv1.3" in ok.detail
    assert "as the MTA-STS policy (mode enforce) requires" in ok.detail
    assert server.handshakes == 2  # live and offline
    assert {f.code for f in report.findings if f.code.startswith("mta-sts.")} == {"mta-sts.ok"}


async def test_off_by_default(audit_knot: KnotServer) -> None:
    async with SmtpServer(starttls=private_ca().issue("mail.good.test")) as server:
        report = await audit(audit_knot, "plain.smtp.test", AuditOptions(smtp_port=server.port))
    assert codes(report) == set()
    assert server.connections == 0


async def test_no_starttls(audit_knot: KnotServer) -> None:
    async with SmtpServer(starttls=None) as server:
        report = await audit(audit_knot, "plain.smtp.test", options(server))
    assert codes(report) == {"smtp.no-starttls"}
    [finding] = smtp(report)
    assert finding.severity == Severity.ERROR
    assert "its EHLO reply does not offer STARTTLS" in finding.detail
    assert finding.fix is not None and "smtpd_tls_security_level = may" in finding.fix
    assert "C: EHLO [127.0.0.1]" in finding.evidence


@pytest.mark.parametrize(
    ("which", "says"),
    [
        ("wrong name", "Hostname mismatch, certificate is not valid for 'mx.wrongname.smtp.test'"),
        ("expired", "certificate has expired"),
        ("unknown CA", "unable to get local issuer certificate"),
    ],
)
async def test_invalid_certificate(audit_knot: KnotServer, which: str, says: str) -> None:
    name = "mx.wrongname.smtp.test"
    identity = {
        "wrong name": private_ca().issue("other.smtp.test"),
        "expired": private_ca().issue(name, expired=True),
        "unknown CA": untrusted_ca().issue(name),
    }[which]
    async with SmtpServer(starttls=identity) as server:
        report = await audit(audit_knot, "wrongname.smtp.test", options(server))
    assert codes(report) == {"smtp.cert-invalid"}, [(f.code, f.detail) for f in smtp(report)]
    [finding] = smtp(report)
    assert finding.severity == Severity.ERROR
    assert says in finding.detail
    assert "MTA-STS" not in finding.detail  # wrongname.smtp.test has no policy


async def test_a_valid_certificate_for_the_mx_name_is_the_near_miss(
    audit_knot: KnotServer,
) -> None:
    identity = private_ca().issue("mx.wrongname.smtp.test")
    async with SmtpServer(starttls=identity) as server:
        report = await audit(audit_knot, "wrongname.smtp.test", options(server))
        untrusting = await audit(audit_knot, "wrongname.smtp.test", options(server, ca_file=None))
    assert codes(report) == {"smtp.ok"}
    # without --ca-file the private CA is unknown: the same server fails
    assert codes(untrusting) == {"smtp.cert-invalid"}


async def test_cert_invalid_under_an_enforced_mta_sts_policy(audit_knot: KnotServer) -> None:
    policy = "version: STSv1\nmode: enforce\nmx: mx.sts.smtp.test\nmax_age: 604800\n"
    async with (
        SmtpServer(starttls=private_ca().issue("mail.good.test")) as server,
        PolicyServer({"mta-sts.sts.smtp.test": Route(policy)}) as sts,
    ):
        report = await audit(audit_knot, "sts.smtp.test", options(server, https_port=sts.port))
    assert codes(report) == {"smtp.cert-invalid"}
    [finding] = smtp(report)
    assert "senders applying the MTA-STS policy (mode enforce) will not deliver" in finding.detail


async def test_old_tls(audit_knot: KnotServer) -> None:
    identity = private_ca().issue("mx.old.smtp.test")
    async with SmtpServer(starttls=identity, only_tls11=True) as server:
        report = await audit(audit_knot, "old.smtp.test", options(server))
    assert codes(report) == {"smtp.tls-old"}, [(f.code, f.detail) for f in smtp(report)]
    [finding] = smtp(report)
    assert finding.severity == Severity.WARNING
    assert "negotiates TLSv1.1 at best; the certificate was not checked" in finding.detail
    assert "unverified handshake, any version: TLSv1.1" in finding.evidence


async def test_tls_12_is_not_old() -> None:
    identity = private_ca().issue("mx.old.smtp.test")
    async with SmtpServer(starttls=identity) as server:
        assert server.tls is not None
        server.tls.maximum_version = ssl.TLSVersion.TLSv1_2
        async with asyncio.timeout(LIMIT):
            probe = await smtp_probe(
                "127.0.0.25",
                server.port,
                "mx.old.smtp.test",
                client_context(str(private_ca().ca_file)),
                3.0,
            )
    assert (probe.tls_version, probe.tls_error, probe.cert_error) == ("TLSv1.2", None, None)


async def test_unreachable_is_information_never_an_error(audit_knot: KnotServer) -> None:
    async with SmtpServer(starttls=private_ca().issue("mail.good.test")) as server:
        report = await audit(audit_knot, "down.smtp.test", options(server))
    assert [(f.code, f.severity) for f in smtp(report)] == [("smtp.unreachable", Severity.INFO)]
    assert f"127.0.0.26) port {server.port}: connection refused" in smtp(report)[0].detail


async def test_one_mx_unreachable_one_right(audit_knot: KnotServer) -> None:
    async with SmtpServer(starttls=private_ca().issue("mx.split.smtp.test")) as server:
        report = await audit(audit_knot, "split.smtp.test", options(server))
    assert sorted((f.code, f.severity) for f in smtp(report)) == [
        ("smtp.ok", Severity.PASS),
        ("smtp.unreachable", Severity.INFO),
    ]


@pytest.mark.parametrize(
    ("greeting", "says"),
    [
        ("554 5.7.1 no service for you", "it greets with 554"),
        ("hello there", "not an SMTP reply: 'hello there'"),
    ],
)
async def test_a_refusing_or_odd_server_is_unreachable(
    audit_knot: KnotServer, greeting: str, says: str
) -> None:
    async with SmtpServer(greeting=greeting) as server:
        report = await audit(audit_knot, "plain.smtp.test", options(server))
    assert codes(report) == {"smtp.unreachable"}
    assert says in smtp(report)[0].detail


async def test_a_silent_server_times_out() -> None:
    async with SmtpServer(silent=True) as server, asyncio.timeout(LIMIT):
        probe = await smtp_probe(
            "127.0.0.25", server.port, "mx.plain.smtp.test", any_tls_context(), 0.5
        )
    assert probe.unreachable == "no answer within 0.5 s (waiting for the greeting)"


async def test_banner_without_fcrdns(audit_knot: KnotServer) -> None:
    identity = private_ca().issue("mx.banner.smtp.test")
    async with SmtpServer(banner="mx.banner.smtp.test", starttls=identity) as server:
        report = await audit(audit_knot, "banner.smtp.test", options(server))
    assert codes(report) == {"smtp.banner-mismatch", "smtp.ok"}
    [finding] = [f for f in smtp(report) if f.code == "smtp.banner-mismatch"]
    assert finding.severity == Severity.INFO
    assert "names mx.banner.smtp.test, but 127.0.0.25 reverses to mail.good.test" in finding.detail
    assert finding.fix == (
        "# Postfix main.cf: greet with the address's reverse name\nmyhostname = mail.good.test"
    )


async def test_banner_naming_the_reverse_name_is_the_near_miss(audit_knot: KnotServer) -> None:
    identity = private_ca().issue("mx.banner.smtp.test")
    async with SmtpServer(banner="MAIL.good.test.", starttls=identity) as server:
        report = await audit(audit_knot, "banner.smtp.test", options(server))
    assert codes(report) == {"smtp.ok"}


async def test_banner_without_a_name(audit_knot: KnotServer) -> None:
    identity = private_ca().issue("mx.banner.smtp.test")
    greeting = "220 ESMTP ready \x1b[31m"
    async with SmtpServer(greeting=greeting, starttls=identity) as server:
        report = await audit(audit_knot, "banner.smtp.test", options(server))
    [finding] = [f for f in smtp(report) if f.code == "smtp.banner-mismatch"]
    assert "names no host ('ESMTP ready ?[31m')" in finding.detail


def test_printable_masks_control_characters() -> None:
    assert printable("mail\x00.ex\u00e9ample\r") == "mail?.ex?ample?"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.26", 0))
        return int(sock.getsockname()[1])


def test_cli_options(capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port()
    zones = [arg for zone in ZONES for arg in ("--zone", zone)]
    argv = ["check", *zones, "--format", "json", "--smtp", "--smtp-port", str(port)]
    argv += ["--https-port", str(port), "--ca-file", str(private_ca().ca_file), "good.test"]
    main(argv)
    findings = json.loads(capsys.readouterr().out)["findings"]
    by_code = {f["code"]: f["detail"] for f in findings}
    assert f"127.0.0.25) port {port}: connection refused" in by_code["smtp.unreachable"]
    assert f"127.0.0.80 port {port}: connection refused" in by_code["mta-sts.policy-unavailable"]
    assert "--smtp-port" not in main_help(capsys)  # for tests only: hidden


def main_help(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    return capsys.readouterr().out


def test_cli_refuses_an_unreadable_ca_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--zone", ZONES[0], "--ca-file", "/nonexistent/ca.pem", "x.test"]) == 2
    assert "--ca-file" in capsys.readouterr().err
