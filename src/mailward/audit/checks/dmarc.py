"""DMARC: the policy receivers apply to mail from the domain (RFC 9989), and its reports.

The policy is found as receivers find it (:mod:`mailward.records.orgdomain`: the domain's own
``_dmarc`` record, else the DNS Tree Walk's), and :func:`dmarc_policy` shares it with other
checks (``ctx.memo("dmarc.policy")``). The record's own faults are the parser's codes
(:mod:`mailward.records.dmarc`), each with the whole corrected record as a zone line; this
module adds where the record is (missing, at the wrong name, several at one name, inherited
from a parent) and whether its report addresses will be used (``rua=`` set at all; an address
in another organization authorised by ``<domain>._report._dmarc.<host>``, RFC 9990 §4 and
RFC 9991 §5).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from mailward.audit.context import AuditContext
from mailward.audit.lint import ADVICE, DMARC_MULTIPLE, DMARC_WRONG_LOCATION
from mailward.audit.registry import check
from mailward.codes import Diagnostic, Severity, define
from mailward.dns.lookup import Lookup
from mailward.findings import Finding
from mailward.records import _txt, dmarc
from mailward.records.dmarc import DmarcRecord, DmarcUri, Policy, Psd
from mailward.records.orgdomain import (
    Discovery,
    DmarcPolicy,
    PolicyRecords,
    decode,
    discover_policy,
    same_organization,
    valid_name,
)

TTL = 3600
MAX_FIX_ROUNDS = 8

DMARC_MISSING = define(
    "dmarc.missing",
    Severity.ERROR,
    "Domain has no DMARC record",
    why="Without DMARC, receivers have no policy for mail that fails SPF and DKIM: anyone can "
    "send mail with your domain in the From: line, and you get no reports about it.",
    example="_dmarc.example.com  ; no TXT record here or at any parent",
    fix="Publish `v=DMARC1; p=none; rua=mailto:dmarc@<domain>` at `_dmarc.<domain>`, read the "
    "reports until all your own mail passes, then move to p=quarantine and p=reject.",
    refs=("RFC 9989 §4.10.1", "RFC 9989 §5.1"),
)
DMARC_NO_RUA = define(
    "dmarc.no-rua",
    Severity.WARNING,
    "DMARC record asks for no aggregate reports (no rua=)",
    why="Without rua=, receivers send no reports, so you cannot see who sends mail as your "
    "domain, nor whether your own mail passes before you tighten the policy.",
    example="v=DMARC1; p=reject",
    fix="Add rua=mailto:<a mailbox you read> to the record.",
    refs=("RFC 9989 §4.7",),
)
DMARC_RUA_UNAUTHORIZED = define(
    "dmarc.rua-unauthorized",
    Severity.WARNING,
    "DMARC report address in another organization has not authorised the reports",
    why="Receivers send reports to an address outside your Organizational Domain only when "
    "that domain publishes `<your domain>._report._dmarc.<its domain>`; otherwise the "
    "address is ignored and the reports are lost.",
    example='_dmarc.example.com. IN TXT "v=DMARC1; p=reject; rua=mailto:d@reports.example.net"',
    fix="Ask the report destination to publish `example.com._report._dmarc.reports.example.net."
    ' IN TXT "v=DMARC1"`, or send the reports to a mailbox in your own domain.',
    refs=("RFC 9990 §4", "RFC 9991 §5"),
)
DMARC_INHERITED = define(
    "dmarc.inherited",
    Severity.INFO,
    "DMARC policy comes from a parent domain",
    why="The domain has no record of its own; receivers apply its Organizational Domain's "
    "record (sp=, or np= for a name that does not exist), so it is not missing DMARC.",
    example="_dmarc.shop.example.com  ; none, so _dmarc.example.com applies",
    fix="Nothing to do if the parent's policy suits this domain; otherwise publish its own "
    "record at `_dmarc.<domain>`.",
    refs=("RFC 9989 §4.10.1", "RFC 9989 §4.10.2"),
)
DMARC_OK = define(
    "dmarc.ok",
    Severity.PASS,
    "DMARC policy is enforced",
    why="Receivers quarantine or reject mail that fails DMARC, and the record has no faults.",
    example="v=DMARC1; p=reject; rua=mailto:dmarc@example.com",
    fix="Nothing to do.",
    refs=("RFC 9989 §4.7",),
)

ROLLOUT = (
    "roll out in steps: (1) publish the record below, with p=none, and make sure "
    "{mailbox} receives mail; (2) read the aggregate reports for two to four weeks and make "
    "every service that sends as you pass SPF or DKIM with your domain; (3) change to "
    "p=quarantine; t=y, then p=quarantine; (4) then p=reject"
)


async def dmarc_policy(ctx: AuditContext) -> Discovery:
    """Policy discovery for the audited domain, once per audit (``ctx.memo("dmarc.policy")``).

    ``.policy`` is the :class:`~mailward.records.orgdomain.DmarcPolicy` receivers apply (or
    ``None``); ``.complete`` is false when a DNS failure leaves that open.
    """

    async def compute() -> Discovery:
        mx = await ctx.lookup(ctx.name, "MX")
        return await discover_policy(ctx.lookup, ctx.name, exists=mx.status != "nxdomain")

    return await ctx.memo("dmarc.policy", compute)


def owner_of(lookup: Lookup) -> str:
    """The name that holds the records: the end of a CNAME chain (a hosted record's provider
    is where it is fixed), else the name asked."""
    return lookup.answer.name.rstrip(".") if lookup.answer else lookup.name


def txt_line(owner: str, value: str) -> str:
    """The zone line publishing ``value`` as TXT at ``owner`` (split into 255-octet strings)."""
    return f"{owner}. {TTL} IN TXT {_txt.to_zone_text(value)}"


Parse = Callable[[str], object]


def _diagnose(parse: Parse, value: str) -> tuple[Diagnostic, ...]:
    return tuple(getattr(parse(value), "diagnostics", ()))


def corrected(parse: Parse, text: str) -> str:
    """``text`` with every correcting fix of its parser applied (``text`` if none applies).

    A parser's fix corrects one fault; they are applied one after another, re-parsing between,
    so one pasted record fixes them all. Advice (a stricter policy) is not applied.
    """
    value, seen = text, {text}
    for _ in range(MAX_FIX_ROUNDS):
        diagnostics = _diagnose(parse, value)
        fix = next((d.fix for d in diagnostics if d.fix and d.slug not in ADVICE), None)
        if fix is None or fix in seen:
            break
        value = fix
        seen.add(fix)
    return value


def record_findings(
    diagnostics: Iterable[Diagnostic],
    parse: Parse,
    text: str,
    owner: str,
    evidence: list[str],
) -> list[Finding]:
    """A parser's diagnostics as findings, each fix the whole corrected record as a zone line
    (:func:`corrected`); advice is offered on top of the corrected record."""
    value = corrected(parse, text)
    findings = []
    for diagnostic in diagnostics:
        fix = diagnostic.fix
        if fix is not None and value != text:
            if diagnostic.slug not in ADVICE:
                fix = value
            else:
                advice = (d.fix for d in _diagnose(parse, value) if d.slug == diagnostic.slug)
                fix = next(advice, None) or fix
        findings.append(
            Finding.of(
                diagnostic.code,
                diagnostic.message,
                evidence=evidence,
                fix=txt_line(owner, fix) if fix is not None else None,
                severity=diagnostic.severity,
            )
        )
    return findings


@check("dmarc")
async def dmarc_record(ctx: AuditContext) -> list[Finding]:
    discovery = await dmarc_policy(ctx)
    own = discovery.own
    if own.lookup.failed:
        return []
    evidence = [own.lookup.describe()]
    findings: list[Finding] = []
    if len(own.valid) > 1:
        findings.append(_multiple(ctx, own))
    elif own.record is None:
        for text, record in own.attempts:
            owner = owner_of(own.lookup)
            findings += record_findings(record.diagnostics, dmarc.parse, text, owner, evidence)
    misplaced = await _wrong_location(ctx) if own.record is None else []
    findings += misplaced
    policy = discovery.policy
    if policy is None or policy.kind == "psd":
        if discovery.complete and not findings:
            findings.append(_missing(ctx, discovery))
        return findings
    if policy.inherited:
        findings.append(_inherited(ctx, discovery, policy))
    findings += await _policy_findings(ctx, discovery, policy)
    bad = [f for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    if not bad and policy.policy in (Policy.QUARANTINE, Policy.REJECT):
        where = f"inherited from {policy.source}" if policy.inherited else "its own record"
        testing = ", applied one step lower while t=y" if policy.record.testing else ""
        detail = f"policy {policy.policy.value} for {ctx.name} ({where}{testing})"
        findings.append(Finding.of(DMARC_OK, detail, evidence=discovery.walk.evidence()))
    return findings


def _multiple(ctx: AuditContext, own: PolicyRecords) -> Finding:
    strength = [None, Policy.NONE, Policy.QUARANTINE, Policy.REJECT]
    texts = sorted(r.to_text() for r in own.valid)
    kept = max(own.valid, key=lambda r: (strength.index(r.effective_policy), r.to_text()))
    return Finding.of(
        DMARC_MULTIPLE,
        f"_dmarc.{ctx.name} has {len(own.valid)} DMARC records ({' | '.join(texts)}); "
        "receivers discard them all and act as if there were none. Keep one: below, the "
        "strictest",
        evidence=[own.lookup.describe()],
        fix=f"{txt_line(owner_of(own.lookup), kept.to_text())}   ; and delete the others",
    )


async def _wrong_location(ctx: AuditContext) -> list[Finding]:
    """A ``v=DMARC1`` record at the apex or at ``dmarc.<domain>`` (no underscore)."""
    found = []
    for name in (ctx.name, f"dmarc.{ctx.name}"):
        lookup = await ctx.lookup(name, "TXT")
        for text in map(decode, lookup.texts()):
            if re.match(r"\s*v\s*=\s*dmarc1\b", text, re.I):
                found.append(
                    Finding.of(
                        DMARC_WRONG_LOCATION,
                        f"a DMARC record at {name} is never read; receivers look only at "
                        f"_dmarc.{ctx.name}. Move it there and delete it from {name}",
                        evidence=[lookup.describe()],
                        fix=txt_line(f"_dmarc.{ctx.name}", dmarc.parse(text).to_text()),
                    )
                )
    return found


def _missing(ctx: AuditContext, discovery: Discovery) -> Finding:
    mailbox = f"dmarc@{ctx.name}"
    policy = discovery.policy
    detail = f"no DMARC record at _dmarc.{ctx.name} nor at a parent domain of its organization"
    if policy is None:
        detail += f": receivers apply no DMARC to mail from {ctx.name}, so anyone can send as it"
    else:
        applied = policy.policy.value if policy.policy else "no policy"
        detail += (
            f": only the public suffix operator's record at _dmarc.{policy.source} covers it "
            f"({applied}, for the receivers that apply it), and its reports do not come to you"
        )
    if discovery.unchecked:
        detail += f" (_dmarc.{', _dmarc.'.join(discovery.unchecked)} could not be asked)"
    detail += "; " + ROLLOUT.format(mailbox=mailbox)
    fix = txt_line(f"_dmarc.{ctx.name}", f"v=DMARC1; p=none; rua=mailto:{mailbox}")
    return Finding.of(DMARC_MISSING, detail, evidence=discovery.walk.evidence(), fix=fix)


def _inherited(ctx: AuditContext, discovery: Discovery, policy: DmarcPolicy) -> Finding:
    tag = "sp" if policy.exists else "np"
    applied = policy.policy.value if policy.policy else "no policy"
    detail = (
        f"no record of its own: receivers apply the record of its Organizational Domain "
        f"{policy.source} (found by the DNS tree walk), giving {ctx.name} {applied} "
        f"({tag}= if set, else p=); {ctx.name} is not missing DMARC"
    )
    return Finding.of(DMARC_INHERITED, detail, evidence=discovery.walk.evidence())


async def _policy_findings(
    ctx: AuditContext, discovery: Discovery, policy: DmarcPolicy
) -> list[Finding]:
    record = policy.record
    source = next(s for s in discovery.walk.steps if s.name == policy.source)
    owner = owner_of(source.lookup)
    text = next(t for t, r in zip(source.texts, source.parsed, strict=True) if r is record)
    evidence = [source.lookup.describe()]
    findings = record_findings(record.diagnostics, dmarc.parse, text, owner, evidence)
    if record.applies and record.rua is None:
        fixed = dmarc.parse(corrected(dmarc.parse, text))  # rua= may be there, misspelt
        rua = fixed.rua or (DmarcUri("mailto", f"dmarc@{policy.source}"),)
        findings.append(
            Finding.of(
                DMARC_NO_RUA,
                f"the record at {owner} has no rua=: receivers send no aggregate reports, "
                "so you cannot see who sends as your domain",
                evidence=evidence,
                fix=txt_line(owner, replace(fixed, rua=rua).to_text()),
            )
        )
    if record.applies:
        findings += await _unauthorized(ctx, policy, evidence)
    return findings


async def _unauthorized(
    ctx: AuditContext, policy: DmarcPolicy, evidence: list[str]
) -> list[Finding]:
    """Report addresses in another organization without their authorisation (RFC 9990 §4)."""
    record = policy.record
    lists = [("rua", record.rua or ())]
    if record.psd is not Psd.YES:  # ruf= of a PSD record is never used (RFC 9991 §2)
        lists.append(("ruf", record.ruf or ()))
    findings = []
    seen: set[str] = set()
    for tag, uris in lists:
        for uri in uris:
            host = _mailto_host(uri)
            if host is None or host in seen:
                continue
            seen.add(host)
            finding = await _authorisation(ctx, policy, tag, uri, host, evidence)
            if finding is not None:
                findings.append(finding)
    return findings


def _mailto_host(uri: DmarcUri) -> str | None:
    if uri.scheme != "mailto" or not uri.valid:
        return None
    host = uri.address.partition("?")[0].rpartition("@")[2].rstrip(".").lower()
    return host if host and valid_name(host) else None


async def _authorisation(
    ctx: AuditContext,
    policy: DmarcPolicy,
    tag: str,
    uri: DmarcUri,
    host: str,
    evidence: list[str],
) -> Finding | None:
    same = await same_organization(ctx.lookup, policy.source, host)
    if same is not False:
        return None  # inside the organization, or a DNS failure left it open
    name = f"{policy.source}._report._dmarc.{host}"
    address = uri.to_text()
    if len(name) > 253:
        detail = (
            f"{tag}={address} is outside {policy.source}'s organization, and the name that "
            f"would authorise it ({name}) is longer than DNS allows: receivers ignore it"
        )
        return Finding.of(DMARC_RUA_UNAUTHORIZED, detail, evidence=evidence)
    lookup = await ctx.lookup(name, "TXT")
    if lookup.failed:
        return None
    records = [dmarc.parse(decode(t)) for t in lookup.texts()]
    valid = [r for r in records if r.version == "DMARC1" and r.version_first]
    if valid:
        return _override(policy, tag, address, host, name, valid, lookup.describe())
    detail = (
        f"{tag}={address} is outside the Organizational Domain of {policy.source}, and "
        f'{host} does not publish {name} TXT "v=DMARC1": receivers ignore the address, so '
        f"these reports are lost. Ask {host} to publish the record below"
    )
    return Finding.of(
        DMARC_RUA_UNAUTHORIZED,
        detail,
        evidence=[*evidence, lookup.describe()],
        fix=txt_line(name, "v=DMARC1"),
    )


def _override(
    policy: DmarcPolicy,
    tag: str,
    address: str,
    host: str,
    name: str,
    valid: list[DmarcRecord],
    seen: str,
) -> Finding | None:
    """An authorisation whose own rua=/ruf= names another host stops all reports (step 9)."""
    for record in valid:
        for uri in getattr(record, tag) or ():
            other = _mailto_host(uri)
            if other is not None and other != host:
                detail = (
                    f"{name} authorises {tag}={address} but replaces it with "
                    f"{uri.to_text()}, on another host: receivers then send to neither"
                )
                return Finding.of(
                    DMARC_RUA_UNAUTHORIZED,
                    detail,
                    evidence=[seen],
                    fix=txt_line(name, "v=DMARC1"),
                )
    return None
