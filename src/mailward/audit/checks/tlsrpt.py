"""SMTP TLS Reporting: the ``_smtp._tls.<domain>`` TXT record (RFC 8460 §3).

Senders keep the TXT records that begin with ``v=TLSRPTv1`` and use the policy only when exactly
one remains; the record's own faults are the parser's ``tlsrpt.syntax``
(:mod:`mailward.records.tlsrpt`), each with the corrected record as a zone line.
"""

from __future__ import annotations

import re

from mailward.audit.checks.dmarc import owner_of, record_findings, txt_line
from mailward.audit.context import AuditContext
from mailward.audit.registry import check
from mailward.codes import Severity, define
from mailward.findings import Finding
from mailward.records import tlsrpt
from mailward.records.orgdomain import decode

TLSRPT_MISSING = define(
    "tlsrpt.missing",
    Severity.INFO,
    "Domain has no TLS-RPT record",
    why="Without it, senders cannot tell you when they fail to deliver to you over TLS (an "
    "expired certificate, an MTA-STS mismatch), so such failures go unnoticed.",
    example="_smtp._tls.example.com  ; no TXT record",
    fix='Publish `_smtp._tls.<domain>. IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@<domain>"`.',
    refs=("RFC 8460 §3",),
)
TLSRPT_MULTIPLE = define(
    "tlsrpt.multiple-records",
    Severity.ERROR,
    "More than one TLS-RPT record",
    why="When more than one `v=TLSRPTv1` record is published, senders must act as if there "
    "were none, so no TLS reports are sent.",
    example='_smtp._tls.example.com. IN TXT "v=TLSRPTv1; rua=mailto:a@example.com"\n'
    '_smtp._tls.example.com. IN TXT "v=TLSRPTv1; rua=mailto:b@example.com"',
    fix="Keep one record; list every address in its rua=, separated by commas.",
    refs=("RFC 8460 §3",),
)
TLSRPT_OK = define(
    "tlsrpt.ok",
    Severity.PASS,
    "TLS-RPT record is published",
    why="Senders report failed TLS deliveries to the addresses in rua=.",
    example='_smtp._tls.example.com. IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@example.com"',
    fix="Nothing to do.",
    refs=("RFC 8460 §3",),
)

_VERSIONED = re.compile(r"v=TLSRPTv1\s*(?:;|\Z)")
_TLSRPT_LIKE = re.compile(r"tlsrpt|\A\s*rua\s*=", re.I)


@check("tlsrpt")
async def tlsrpt_record(ctx: AuditContext) -> list[Finding]:
    name = f"_smtp._tls.{ctx.name}"
    lookup = await ctx.lookup(name, "TXT")
    if lookup.failed:
        return []
    texts = [decode(t) for t in lookup.texts() if _TLSRPT_LIKE.search(decode(t))]
    evidence = [lookup.describe()]
    if not texts:
        fix = txt_line(name, f"v=TLSRPTv1; rua=mailto:tls-reports@{ctx.name}")
        detail = (
            f"no TLS-RPT record at {name}: senders that fail to reach you over TLS cannot "
            f"tell you; publish the record below (and make sure tls-reports@{ctx.name} "
            "receives mail)"
        )
        return [Finding.of(TLSRPT_MISSING, detail, evidence=evidence, fix=fix)]
    versioned = [t for t in texts if _VERSIONED.match(t.lstrip())]
    if len(versioned) > 1:
        merged = [uri for t in versioned for uri in tlsrpt.parse(t).rua]
        record = tlsrpt.TlsRptRecord(tuple(dict.fromkeys(merged)))
        detail = (
            f"{name} has {len(versioned)} TLS-RPT records; senders use none of them. Keep one "
            "record listing every address"
        )
        return [
            Finding.of(
                TLSRPT_MULTIPLE, detail, evidence=evidence, fix=txt_line(name, record.to_text())
            )
        ]
    findings: list[Finding] = []
    for text in texts:
        record = tlsrpt.parse(text)
        owner = owner_of(lookup)
        findings += record_findings(record.diagnostics, tlsrpt.parse, text, owner, evidence)
    bad = [f for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    if len(versioned) == 1 and not bad:
        addresses = ", ".join(tlsrpt.parse(versioned[0]).rua)
        findings.append(Finding.of(TLSRPT_OK, f"TLS reports go to {addresses}", evidence=evidence))
    return findings
