"""MTA-STS: the ``_mta-sts`` TXT record, the policy it announces, and whether it covers the MX.

RFC 8461 §3.1 (exactly one TXT record starting ``v=STSv1``), §3.2 (the policy file, served
as ``text/plain``), §3.3 (fetched with HTTPS GET from ``mta-sts.<domain>``, a certificate
valid for that name, no redirects followed), §4.1 (each MX host must match an ``mx`` line; a
wildcard matches exactly one label), §5 (modes). The policy is fetched by
:func:`mailward.audit.https.https_get` from the addresses mailward's resolver gives, so zone
files and test servers work the same as live DNS; ``--ca-file`` adds a CA to trust.

A record with no reachable policy is an error (senders that see the record find no policy);
no record at all is only information. :func:`sts_state` is shared with the SMTP checks,
which need the policy senders would apply (:attr:`StsState.active`).

SECURITY: the TXT record and the policy server are hostile; the fetch is bounded in time
(``--https-timeout``, default 10 s) and size (64 KiB), and the parsers never raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from mailward.audit.checks.mx import mail_hosts, mx_lookup
from mailward.audit.context import AuditContext
from mailward.audit.domain import is_ip_address
from mailward.audit.https import HttpsError, HttpsResponse, https_get
from mailward.audit.registry import check
from mailward.codes import Diagnostic, Severity, define
from mailward.findings import Finding
from mailward.records.mtasts import (
    MAX_POLICY_OCTETS,
    RECORD_SYNTAX,
    MtaStsPolicy,
    MtaStsRecord,
    mx_matches,
    parse_policy,
    parse_record,
)

POLICY_PATH = "/.well-known/mta-sts.txt"
_RECORD_LIKE = re.compile(r"\s*(v\s*=\s*sts|id\s*=)", re.IGNORECASE)

MISSING = define(
    "mta-sts.missing",
    Severity.INFO,
    "Domain publishes no MTA-STS policy",
    why="Without MTA-STS (or DANE), an attacker on the path can strip STARTTLS and senders "
    "then deliver the domain's mail unencrypted.",
    example="_mta-sts.example.com  ; no TXT record",
    fix="Serve a policy at https://mta-sts.example.com/.well-known/mta-sts.txt (start with "
    '`mode: testing`) and publish `_mta-sts.example.com. IN TXT "v=STSv1; id=20240501"`.',
    refs=("RFC 8461 §3",),
)
POLICY_UNAVAILABLE = define(
    "mta-sts.policy-unavailable",
    Severity.ERROR,
    "MTA-STS record is published but its policy cannot be fetched",
    why="Senders that see the record fetch the policy over HTTPS with a valid certificate and "
    "no redirects; when that fails they have no policy, and a policy they cached expires.",
    example="https://mta-sts.example.com/.well-known/mta-sts.txt: certificate is for "
    "www.example.com",
    fix="Serve the policy at https://mta-sts.<domain>/.well-known/mta-sts.txt as text/plain, "
    "with HTTP 200 (no redirect) and a certificate valid for mta-sts.<domain>.",
    refs=("RFC 8461 §3.3",),
)
MX_NOT_COVERED = define(
    "mta-sts.mx-not-covered",
    Severity.ERROR,
    "An MX host is not listed in the MTA-STS policy",
    why="Senders applying the policy refuse to deliver to an MX host that matches none of its "
    "`mx` lines (in testing mode they report a failure); a wildcard covers one label only.",
    example="MX 10 mail.eu.example.com.  with  mx: *.example.com",
    fix="Add an `mx:` line for each MX host (or a wildcard one label above it), then change "
    "the id in the _mta-sts TXT record so senders fetch the new policy.",
    refs=("RFC 8461 §4.1",),
)
OK = define(
    "mta-sts.ok",
    Severity.PASS,
    "MTA-STS policy is published, reachable and covers every MX host",
    why="Senders that support MTA-STS will insist on authenticated TLS to your mail servers.",
    example="version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800",
    fix="Nothing to do; change the record's id whenever you change the policy.",
    refs=("RFC 8461 §3", "RFC 8461 §4.1"),
)


@dataclass(frozen=True)
class StsState:
    """What the MTA-STS check found: its findings, the record and the policy it fetched."""

    findings: tuple[Finding, ...]
    record: MtaStsRecord | None = None
    policy: MtaStsPolicy | None = None

    @property
    def active(self) -> MtaStsPolicy | None:
        """The policy senders would apply: one valid record, a policy without errors, in
        ``enforce`` or ``testing`` mode; else None."""
        if self.record is None or self.policy is None or _has_error(self.record.diagnostics):
            return None
        if _has_error(self.policy.diagnostics) or self.policy.mode not in ("enforce", "testing"):
            return None
        return self.policy


async def sts_state(ctx: AuditContext) -> StsState:
    """The MTA-STS findings and policy, computed once per audit."""
    return await ctx.memo("mta-sts.state", lambda: _state(ctx))


@check("mta-sts")
async def mta_sts(ctx: AuditContext) -> list[Finding]:
    return list((await sts_state(ctx)).findings)


async def _state(ctx: AuditContext) -> StsState:
    name = f"_mta-sts.{ctx.name}"
    lookup = await ctx.lookup(name, "TXT")
    if lookup.failed:
        return StsState(())
    texts = [raw.decode("utf-8", "replace") for raw in lookup.texts()]
    candidates = [text for text in texts if _RECORD_LIKE.match(text)]
    evidence = [lookup.describe()]
    if not candidates:
        if await _receives_no_mail(ctx):
            return StsState(())
        detail = (
            f"no MTA-STS record at {name}: senders may deliver mail for {ctx.name} without "
            "TLS if an attacker strips STARTTLS"
        )
        return StsState((Finding.of(MISSING, detail, evidence=evidence, fix=await _start(ctx)),))
    findings: list[Finding] = []
    record: MtaStsRecord | None = None
    if len(candidates) > 1:
        findings.append(
            Finding.of(
                RECORD_SYNTAX,
                f"{len(candidates)} MTA-STS records at {name}; senders require exactly one "
                "and otherwise ignore MTA-STS: keep one and delete the others",
                evidence=evidence,
            )
        )
    else:
        record = parse_record(candidates[0])
        findings += [_finding(d, evidence) for d in record.diagnostics]
    policy, fetched = await _fetch(ctx, evidence)
    findings += fetched
    if policy is None:
        return StsState(tuple(findings), record, policy)
    findings += await _policy_findings(ctx, policy, evidence)
    hosts = await _mx_names(ctx)
    faults = [f for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    if hosts and not faults and policy.mode in ("enforce", "testing"):
        detail = (
            f"mode {policy.mode}, max_age {policy.max_age}; the policy covers {', '.join(hosts)}"
        )
        findings.append(Finding.of(OK, detail, evidence=evidence))
    return StsState(tuple(findings), record, policy)


async def _fetch(
    ctx: AuditContext, evidence: list[str]
) -> tuple[MtaStsPolicy | None, list[Finding]]:
    """Resolve ``mta-sts.<domain>``, GET the policy and parse it; or say why it failed."""
    host = f"mta-sts.{ctx.name}"
    url = f"https://{host}{POLICY_PATH}"
    v4, v6 = await ctx.lookup(host, "A"), await ctx.lookup(host, "AAAA")
    addresses = [r.to_text() for lookup in (v4, v6) for r in lookup.records]
    evidence.extend(lookup.describe() for lookup in (v4, v6) if lookup.ok)
    if not addresses:
        if v4.failed or v6.failed:
            return None, []  # dns.temperror (or dns.not-in-zones) says so once
        evidence.extend([v4.describe(), v6.describe()])
        detail = f"{host} has no A or AAAA record, so senders cannot fetch {url}"
        fix = f"{host}. 3600 IN A <address of the web server that serves the policy>"
        return None, [Finding.of(POLICY_UNAVAILABLE, detail, evidence=evidence, fix=fix)]
    try:
        response = await https_get(
            host,
            POLICY_PATH,
            addresses=addresses,
            port=ctx.options.https_port,
            ca_file=ctx.options.ca_file,
            timeout=ctx.options.https_timeout,
            max_octets=MAX_POLICY_OCTETS,
        )
    except HttpsError as exc:
        detail = f"cannot fetch {url}: {exc.detail}"
        return None, [Finding.of(POLICY_UNAVAILABLE, detail, evidence=evidence)]
    evidence.append(_describe(response))
    problem = _response_problem(response, url)
    if problem is not None:
        return None, [Finding.of(POLICY_UNAVAILABLE, problem, evidence=evidence)]
    return parse_policy(response.body.decode("utf-8", "replace")), []


def _response_problem(response: HttpsResponse, url: str) -> str | None:
    status = f"HTTP {response.status}{f' {response.reason}' if response.reason else ''}"
    if 300 <= response.status < 400:
        location = response.header("location")
        target = f" to {location}" if location else ""
        return (
            f"{url} answers {status}, a redirect{target}; senders follow no redirects: serve "
            "the policy itself at this URL"
        )
    if response.status != 200:
        return f"{url} answers {status}; senders need HTTP 200 with the policy"
    if response.media_type != "text/plain":
        given = response.header("content-type")
        served = f"as {given!r}" if given is not None else "without a Content-Type"
        return f"{url} is served {served}; senders require text/plain"
    return None


async def _policy_findings(
    ctx: AuditContext, policy: MtaStsPolicy, evidence: list[str]
) -> list[Finding]:
    findings = [_finding(d, evidence) for d in policy.diagnostics]
    if policy.mode == "none":
        detail = (
            "the policy's mode is none: senders treat the domain as having no MTA-STS policy "
            "(the way a policy is withdrawn)"
        )
        return [*findings, Finding.of(MISSING, detail, evidence=evidence)]
    if policy.mode not in ("enforce", "testing"):
        return findings
    hosts = await _mx_names(ctx)
    missing = [h for h in hosts if not any(mx_matches(p, h) for p in policy.mx)]
    if missing:
        fixed = replace(policy, mx=(*policy.mx, *missing))
        fix = _lf(fixed.to_text())
        consequence = (
            "senders applying the policy will not deliver to it"
            if policy.mode == "enforce"
            else "senders will report a failure for it"
        )
        for host in missing:
            patterns = ", ".join(policy.mx) or "none"
            detail = f"the MX host {host} matches no mx line of the policy ({patterns}): "
            detail += consequence + _wildcard_hint(host, policy.mx)
            detail += "; after updating the policy, change the id of the _mta-sts record"
            findings.append(Finding.of(MX_NOT_COVERED, detail, evidence=evidence, fix=fix))
    return findings


async def _mx_names(ctx: AuditContext) -> list[str]:
    """The MX host names (not Null MX, not addresses written as MX targets)."""
    return [h.name for h in await mail_hosts(ctx) if not is_ip_address(h.name)]


def _wildcard_hint(host: str, patterns: tuple[str, ...]) -> str:
    for pattern in patterns:
        suffix = pattern.lower()[1:]
        if pattern.startswith("*.") and host.endswith(suffix):
            return f" ({pattern} covers exactly one label before {suffix[1:]})"
    return ""


def _finding(diagnostic: Diagnostic, evidence: list[str]) -> Finding:
    where = f"line {diagnostic.line}: " if diagnostic.line is not None else ""
    return Finding.of(
        diagnostic.code,
        where + diagnostic.message,
        evidence=evidence,
        fix=_lf(diagnostic.fix) if diagnostic.fix else None,
        severity=diagnostic.severity,
    )


async def _start(ctx: AuditContext) -> str:
    """The three pieces that publish a first (testing) policy for the domain."""
    hosts = await _mx_names(ctx)
    today = datetime.now(UTC).strftime("%Y%m%d")
    policy = MtaStsPolicy(mode="testing", max_age=604800, mx=tuple(hosts) or (f"mail.{ctx.name}",))
    return (
        f'_mta-sts.{ctx.name}. 3600 IN TXT "v=STSv1; id={today}"\n'
        f"mta-sts.{ctx.name}. 3600 IN A <address of a web server with a certificate for it>\n"
        f"; served as text/plain at https://mta-sts.{ctx.name}{POLICY_PATH}:\n"
        + _lf(policy.to_text())
    )


async def _receives_no_mail(ctx: AuditContext) -> bool:
    """A Null MX: MTA-STS has nothing to protect."""
    records = (await mx_lookup(ctx)).records
    return bool(records) and all(r.exchange.to_text() == "." for r in records)


def _describe(response: HttpsResponse) -> str:
    media = response.header("content-type") or "no Content-Type"
    return (
        f"GET {response.url} from {response.address}: HTTP {response.status}, {media}, "
        f"{len(response.body)} octets, {response.tls_version or 'TLS'}"
    )


def _has_error(diagnostics: tuple[Diagnostic, ...]) -> bool:
    return any(d.severity == Severity.ERROR for d in diagnostics)


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")
