"""DKIM: the public keys at ``<selector>._domainkey.<domain>`` (RFC 6376 §3.6.2.1, RFC 8301,
RFC 8463).

DNS cannot list a domain's selectors, so the keys are looked for under the selectors the user
gives (``--dkim-selector``, repeatable), or else under :data:`COMMON_SELECTORS` and the two
dated ones of :func:`guessed_selectors`, all asked at once. A guessed selector that is not there
is normal and says nothing; a given one that is not there is an error. CNAMEs are followed
(Microsoft 365's ``selector1``/``selector2`` are CNAMEs to its own zone), and a key published as
several TXT strings is read with them joined with nothing between (RFC 6376 §3.6.2.2). The key
records' own faults are the parser's codes (:mod:`mailward.records.dkim`).

SECURITY: the keys are anyone's DNS text; the parser bounds them (``MAX_KEY_OCTETS``). A given
selector is asked only when it makes a valid DNS name.
"""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from mailward.audit.checks.dmarc import owner_of, record_findings, txt_line
from mailward.audit.context import AuditContext
from mailward.audit.registry import check
from mailward.codes import Severity, define
from mailward.dns.lookup import Lookup
from mailward.findings import Finding
from mailward.records import dkim
from mailward.records.orgdomain import MAX_NAME, decode, valid_name

COMMON_SELECTORS = (
    "selector1",  # Microsoft 365 (a CNAME to *.onmicrosoft.com)
    "selector2",  # Microsoft 365, the key being rotated in
    "google",  # Google Workspace
    "default",  # cPanel, Plesk, OpenDKIM's example
    "dkim",  # rspamd's default
    "mail",
    "smtp",
    "mx",
    "s1",  # SendGrid and many others
    "s2",
    "k1",  # Mailchimp, Mailgun
    "k2",
    "k3",
    "key1",
    "key2",
    "sig1",  # iCloud custom domains
    "fm1",  # Fastmail
    "fm2",
    "fm3",
    "protonmail",  # Proton Mail
    "protonmail2",
    "protonmail3",
    "zoho",  # Zoho Mail
    "mandrill",  # Mailchimp Transactional
    "mailjet",
)
"""Selectors that mail services and servers use by default (see :func:`guessed_selectors`)."""

DKIM_NONE_FOUND = define(
    "dkim.none-found",
    Severity.WARNING,
    "No DKIM key found under the usual selectors",
    why="Without DKIM, mail from the domain can pass DMARC only through SPF, which breaks when "
    "mail is forwarded. DNS cannot list selectors, so a key under another name may exist.",
    example="selector1._domainkey.example.com … s1._domainkey.example.com  ; all NXDOMAIN",
    fix="Give the selector your mail is signed with (the s= of a DKIM-Signature header in a "
    "message you sent) with --dkim-selector; if mail is not signed, enable DKIM signing and "
    "publish its key at `<selector>._domainkey.<domain>`.",
    refs=("RFC 6376 §3.6.2.1", "RFC 6376 §3.1"),
)
DKIM_SELECTOR_MISSING = define(
    "dkim.selector-missing",
    Severity.ERROR,
    "No DKIM key at the selector given",
    why="Verifiers fetch the key from `<selector>._domainkey.<domain>`; with nothing there, "
    "every message signed with that selector fails DKIM.",
    example="s2026._domainkey.example.com  ; NXDOMAIN, but mail is signed with s=s2026",
    fix="Publish the key your signer uses: `<selector>._domainkey.<domain>. IN TXT "
    '"v=DKIM1; k=rsa; p=<base64 public key>"`.',
    refs=("RFC 6376 §3.6.2.1", "RFC 6376 §6.1.2"),
)
DKIM_OK = define(
    "dkim.ok",
    Severity.PASS,
    "DKIM keys are published and usable",
    why="Verifiers can load the keys, so signed mail can pass DKIM (and DMARC through it).",
    example='s1._domainkey.example.com. IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOC…"',
    fix="Nothing to do.",
    refs=("RFC 6376 §3.6.1", "RFC 8301 §3.2"),
)

_SELECTOR = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_-]{1,63})*\Z")
_KEY_LIKE = re.compile(r"\A\s*v\s*=\s*DKIM1|(?:\A|;)\s*p\s*=", re.I)


def guessed_selectors(now: datetime | None = None) -> tuple[str, ...]:
    """:data:`COMMON_SELECTORS` and this year and last year as selectors (``2026``, ``2025``:
    the dated form some signers use)."""
    year = (now or datetime.now(UTC)).year
    return (*COMMON_SELECTORS, str(year), str(year - 1))


@dataclass(frozen=True)
class Key:
    """One selector's TXT record read as a DKIM key."""

    selector: str
    given: bool
    lookup: Lookup
    text: str
    record: dkim.DkimKey

    @property
    def usable(self) -> bool:
        bad = any(d.severity is Severity.ERROR for d in self.record.diagnostics)
        return not bad and not self.record.revoked

    def describe(self) -> str:
        bits = self.record.key_bits
        kind = self.record.key_type or "rsa"
        size = f" {bits} bits" if bits and kind == "rsa" else ""
        return f"{self.selector} ({kind}{size}, {'given' if self.given else 'guessed'})"


@check("dkim")
async def dkim_keys(ctx: AuditContext) -> list[Finding]:
    given = tuple(dict.fromkeys(_clean(s) for s in ctx.options.dkim_selectors if _clean(s)))
    selectors = given or guessed_selectors()
    findings: list[Finding] = []
    names = {s: f"{s}._domainkey.{ctx.name}" for s in selectors}
    askable = _askable(selectors, names, f"_domainkey.{ctx.name}")
    for selector in (s for s in given if s not in askable):
        findings.append(
            Finding.of(
                DKIM_SELECTOR_MISSING,
                f"'{selector}' cannot be a DKIM selector of {ctx.name}: it does not make a "
                "valid DNS name",
                evidence=[names[selector]],
            )
        )
    lookups = await asyncio.gather(*(ctx.lookup(names[s], "TXT") for s in askable))
    keys: list[Key] = []
    for selector, lookup in zip(askable, lookups, strict=True):
        if lookup.failed:
            continue
        texts = [decode(t) for t in lookup.texts()]
        if not given:  # a wildcard's SPF text under a guessed name is not a key
            texts = [t for t in texts if _KEY_LIKE.search(t)]
        if not texts and given:
            alias = await ctx.lookup(names[selector], "CNAME") if lookup.missing else None
            findings.append(_missing(ctx, selector, lookup, alias))
        keys += [Key(selector, bool(given), lookup, t, dkim.parse_key(t)) for t in texts]
    for key in keys:
        owner = owner_of(key.lookup)
        evidence = [key.lookup.describe()]
        diagnostics = key.record.diagnostics
        findings += record_findings(diagnostics, dkim.parse_key, key.text, owner, evidence)
    failed = any(lookup.failed for lookup in lookups)
    if not given and not keys and not failed and askable:
        findings.append(_none_found(ctx, askable))
    usable = [key for key in keys if key.usable]
    bad = [f for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    if usable and not bad:
        findings.append(_ok(ctx, usable, given))
    return findings


def _askable(selectors: tuple[str, ...], names: dict[str, str], suffix: str) -> list[str]:
    """The selectors whose name is a valid DNS name: :func:`valid_name` of each whole name,
    with the ``_domainkey.<domain>`` part they share checked once (a name is valid when all
    its labels are and it is short enough)."""
    if not valid_name(suffix):
        return []
    return [s for s in selectors if _valid_selector(s) and len(names[s]) <= MAX_NAME]


@functools.lru_cache(maxsize=256)  # the same 27 guessed selectors for every domain
def _valid_selector(selector: str) -> bool:
    """A selector that can begin a DNS name: its labels are valid (see :func:`valid_name`)."""
    return bool(_SELECTOR.match(selector)) and valid_name(selector)


def _clean(selector: str) -> str:
    return selector.strip().lower().rstrip(".")


def _missing(ctx: AuditContext, selector: str, lookup: Lookup, alias: Lookup | None) -> Finding:
    name = f"{selector}._domainkey.{ctx.name}"
    evidence = [lookup.describe()]
    owner = name
    if lookup.ok:
        what = "holds no DKIM key"
    elif alias is not None and alias.ok:
        owner = alias.records[0].target.to_text().rstrip(".")
        what = (
            f"is an alias (CNAME) for {owner}, which does not exist (a provider such as "
            "Microsoft 365 publishes it only once DKIM signing is turned on there)"
        )
        evidence.append(alias.describe())
    else:
        what = "does not exist"
    detail = f"{name} {what}: mail signed with s={selector} fails DKIM"
    return Finding.of(
        DKIM_SELECTOR_MISSING,
        detail,
        evidence=evidence,
        fix=txt_line(owner, "v=DKIM1; k=rsa; p=<base64 public key from your signer>"),
    )


def _none_found(ctx: AuditContext, tried: list[str]) -> Finding:
    detail = (
        f"no DKIM key under any of the {len(tried)} usual selectors ({', '.join(tried)}). DNS "
        "cannot list a domain's selectors, so a key under another name may exist: to be sure, "
        "run again with --dkim-selector and the s= value of the DKIM-Signature header in a "
        "message you sent. If your mail is not signed, enable DKIM signing where you send it"
    )
    return Finding.of(
        DKIM_NONE_FOUND,
        detail,
        evidence=[f"{s}._domainkey.{ctx.name} TXT: none" for s in tried],
        fix=txt_line(
            f"<selector>._domainkey.{ctx.name}",
            "v=DKIM1; k=rsa; p=<base64 public key from your signer>",
        ),
    )


def _ok(ctx: AuditContext, usable: list[Key], given: tuple[str, ...]) -> Finding:
    listed = ", ".join(key.describe() for key in usable)
    detail = f"usable DKIM keys for {ctx.name}: {listed}"
    if not given:
        detail += (
            "; found by guessing common selectors, so keys under other selectors were not "
            "checked (give them with --dkim-selector)"
        )
    return Finding.of(DKIM_OK, detail, evidence=[key.lookup.describe() for key in usable])
