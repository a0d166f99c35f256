"""DNSSEC: is the domain's zone signed, does its chain of trust validate, and for how long.

The check finds the zone that holds the domain (its SOA), reads the DS at the parent and the
zone's DNSKEY, CDS, CDNSKEY and NSEC3PARAM, always asking with the DO bit (RFC 4035 §3.2.1),
and judges them: unsigned (RFC 9364 §1), DS without DNSKEY or matching none (RFC 4035 §5.2),
SHA-1 DS digests and algorithms RFC 9904 (RFC 8624's levels) advises against, NSEC3 iterations
and salt (RFC 9276 §3.1), CDS/CDNSKEY that disagree with the DS (RFC 7344 §4, RFC 8078 §4).

Then it walks the chain of trust itself with :class:`~mailward.dns.validating.ChainValidator`
over the audit's resolver (which need not validate): from the trust anchor (the options', the
resolver's when it is a :class:`~mailward.dns.validating.ValidatingResolver`, else the IANA
root KSKs) down to the zone, and validates the mail records the other checks read (MX, SPF,
DMARC, DKIM selectors, MTA-STS, TLS-RPT, TLSA of MX hosts in the zone). A bogus answer is
reported as bogus with its reason, never as a missing record. Every RRSIG of the zone it saw
is checked for expiry (``rrsig-expired``, ``rrsig-expiring`` within
``AuditOptions.dnssec_warn_days``, ``rrsig-not-yet-valid``), and each MX host's zone for being
signed at all (DANE needs it, RFC 7672 §2.2).

Offline (zone files) the chain cannot reach the root; what the loaded zones show is still
judged, and the unanswerable questions are reported once as ``dns.not-in-zones``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import dns.dnssec
import dns.dnssectypes
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.CDNSKEY import CDNSKEY
from dns.rdtypes.ANY.CDS import CDS
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.NSEC3PARAM import NSEC3PARAM
from dns.rdtypes.ANY.RRSIG import RRSIG

from mailward.audit.checks.mx import mail_hosts
from mailward.audit.context import AuditContext
from mailward.audit.domain import is_ip_address
from mailward.audit.registry import check
from mailward.codes import Code, Severity, define
from mailward.dns._dnssec_verify import match_ds, when
from mailward.dns.lookup import Lookup, Status
from mailward.dns.resolver import Answer, Resolver
from mailward.dns.validating import (
    ChainValidator,
    SignatureSeen,
    TrustAnchors,
    ValidatingResolver,
    Verdict,
)
from mailward.errors import NoAnswer, NotLoaded, NXDomain, TempError
from mailward.findings import Finding
from mailward.records.dnssec import ALGORITHMS, algorithm_name

_START = (
    "Sign the zone: `mailward dnssec keygen <zone>` and `mailward dnssec sign <zonefile> "
    "--keys <dir>` (or switch DNSSEC on at your DNS host), then publish the DS that "
    "`mailward dnssec ds` prints at your registrar."
)
UNSIGNED = define(
    "dnssec.unsigned",
    Severity.WARNING,
    "Domain is not protected by DNSSEC",
    why="Without a chain of trust, anyone on the path can forge the domain's MX, SPF and DMARC "
    "answers, and DANE cannot protect mail to it.",
    example="example.com. IN DS  ; no DS at the parent, no DNSKEY in the zone",
    fix=_START,
    refs=("RFC 9364 §1", "RFC 4035 §5.2"),
)
BOGUS = define(
    "dnssec.bogus",
    Severity.ERROR,
    "DNSSEC validation fails for the domain's records",
    why="Validating resolvers (most of the world's) answer SERVFAIL for bogus data: to them "
    "the records do not exist, and mail is deferred or bounced.",
    example="example.com MX: RRSIG over MX at example.com by key 12345 does not verify",
    fix="Fix what the reason names (re-sign the zone, correct the DS at the registrar); "
    "until then validators cannot use these records.",
    refs=("RFC 4035 §5.5", "RFC 4033 §5"),
)
DS_MISMATCH = define(
    "dnssec.ds-mismatch",
    Severity.ERROR,
    "No DS at the parent matches a DNSKEY of the zone",
    why="The chain of trust breaks at the delegation: every answer from the zone is bogus.",
    example="DS at com. has key tag 11111 alg 13; no DNSKEY of example.com matches",
    fix="Publish at your registrar the DS of the key that signs the zone's DNSKEY set (the "
    "fix shows it), then remove the stale DS.",
    refs=("RFC 4035 §5.2", "RFC 4034 §5.2"),
)
DNSKEY_MISSING = define(
    "dnssec.dnskey-missing",
    Severity.ERROR,
    "The parent has a DS, but the zone has no DNSKEY",
    why="Validators expect a signed zone and find none: every answer from it is bogus.",
    example="com. has DS 12345 13 2 …  ; example.com has no DNSKEY",
    fix="Sign the zone with the key the DS names, or remove the DS at your registrar to "
    "make the zone unsigned on purpose.",
    refs=("RFC 4035 §5.2",),
)
RRSIG_EXPIRED = define(
    "dnssec.rrsig-expired",
    Severity.ERROR,
    "DNSSEC signatures have expired",
    why="An expired signature makes the data bogus: validating resolvers answer SERVFAIL.",
    example="example.com. RRSIG MX 13 2 3600 20250101000000 20241201000000 12345 example.com. …",
    fix="Re-sign the zone now (`mailward dnssec sign`), and re-sign automatically well "
    "before expiry (`mailward dnssec status` in cron warns first).",
    refs=("RFC 4035 §5.3.1", "RFC 4034 §3.1.5"),
)
RRSIG_EXPIRING = define(
    "dnssec.rrsig-expiring",
    Severity.WARNING,
    "DNSSEC signatures expire soon",
    why="When they expire the domain turns bogus for validating resolvers; a re-signing job "
    "that has stopped shows first as signatures close to their end.",
    example="example.com MX: RRSIG by key 12345 expires in 3 days",
    fix="Re-sign the zone (`mailward dnssec sign`) and check that re-signing runs on schedule.",
    refs=("RFC 6781 §4.4.2", "RFC 4034 §3.1.5"),
)
RRSIG_NOT_YET_VALID = define(
    "dnssec.rrsig-not-yet-valid",
    Severity.ERROR,
    "DNSSEC signatures are not valid yet",
    why="A signature whose inception is in the future is bogus until then: usually the signing "
    "host's clock is wrong.",
    example="example.com. RRSIG MX 13 2 3600 20300101000000 20291201000000 12345 example.com. …",
    fix="Set the signing host's clock right (NTP) and re-sign with an inception in the past.",
    refs=("RFC 4035 §5.3.1",),
)
ALGORITHM_DEPRECATED = define(
    "dnssec.algorithm-deprecated",
    Severity.WARNING,
    "The zone is signed with an algorithm that should no longer be used",
    why="Validators are dropping these algorithms; for them the zone turns insecure or bogus "
    "(RSASHA1 is already refused by some operating systems' policies).",
    example="example.com. IN DNSKEY 257 3 5 AwEAA…  ; RSASHA1",
    fix="Roll to ECDSAP256SHA256 (13): add a new key (`mailward dnssec keygen`), sign with "
    "both, replace the DS at the registrar, then remove the old key.",
    refs=("RFC 9904 §3", "RFC 8624 §3.1"),
)
DS_DIGEST_SHA1 = define(
    "dnssec.ds-digest-sha1",
    Severity.WARNING,
    "The parent holds a DS with a SHA-1 digest",
    why="SHA-1 DS records MUST NOT be used for delegation any more; validators may ignore "
    "them, and with no other DS the zone becomes insecure.",
    example="example.com. IN DS 12345 13 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
    fix="Publish the SHA-256 DS (digest type 2; the fix shows it) and remove the SHA-1 one.",
    refs=("RFC 9904 §4", "RFC 4509 §3"),
)
NSEC3_ITERATIONS = define(
    "dnssec.nsec3-iterations",
    Severity.WARNING,
    "NSEC3 uses extra iterations or a salt",
    why="They cost validators work and add no protection; validators may treat the zone as "
    "insecure (or fail it) above a limit.",
    example="example.com. IN NSEC3PARAM 1 0 10 AABBCCDD",
    fix="Re-sign with 0 iterations and no salt: `example.com. IN NSEC3PARAM 1 0 0 -`.",
    refs=("RFC 9276 §3.1", "RFC 5155 §10.3"),
)
CDS_MISMATCH = define(
    "dnssec.cds-mismatch",
    Severity.WARNING,
    "CDS or CDNSKEY records disagree with the DS at the parent",
    why="CDS/CDNSKEY tell the parent which DS to publish; a mismatch is a key rollover the "
    "parent has not finished, or stale records that may one day replace the right DS.",
    example="example.com. IN CDS 22222 13 2 …  ; the parent's DS is 11111 13 2 …",
    fix="Finish the rollover at the registrar (publish the DS the CDS names) or remove the "
    "stale CDS/CDNSKEY records.",
    refs=("RFC 7344 §4", "RFC 8078 §4"),
)
MX_INSECURE = define(
    "dnssec.mx-insecure",
    Severity.INFO,
    "An MX host's zone is not signed, so DANE cannot protect mail to it",
    why="DANE (TLSA) needs the MX host's address and TLSA records to be DNSSEC-secure.",
    example="example.com. IN MX 10 mx.provider.example.  ; provider.example is unsigned",
    fix="Ask the mail host's provider about DNSSEC and DANE, or protect delivery with MTA-STS.",
    refs=("RFC 7672 §2.2",),
)
DNSSEC_OK = define(
    "dnssec.ok",
    Severity.PASS,
    "The chain of trust validates and the mail records are signed",
    why="Validating resolvers can prove the domain's MX, SPF and DMARC answers are genuine.",
    example="example.com: DS at com. → DNSKEY → RRSIG over MX, TXT",
    fix="Nothing to do; keep the signatures fresh.",
    refs=("RFC 4035 §5",),
)

# bogus causes at the zone itself that have a finding of their own (not repeated as bogus)
_OWN_FINDING_KINDS = {"rrsig-expired", "rrsig-not-yet-valid", "ds-mismatch", "dnskey-missing"}


@dataclass
class _Seen:
    """What the check asked and got, in one place."""

    ctx: AuditContext
    resolver: Resolver
    answers: list[Answer] = field(default_factory=list)
    denials: list[NXDomain | NoAnswer] = field(default_factory=list)

    async def ask(self, name: str, rdtype: str) -> Answer | NXDomain | NoAnswer | None:
        """The answer, the negative answer, or None (a failure, reported once)."""
        try:
            answer = await self.resolver.query(name, rdtype, dnssec=True)
        except (NXDomain, NoAnswer) as exc:
            self.denials.append(exc)
            return exc
        except TempError as exc:
            self.fail(exc)
            return None
        self.answers.append(answer)
        return answer

    def fail(self, exc: TempError) -> None:
        status: Status = "offline" if isinstance(exc, NotLoaded) else "temperror"
        name = exc.qname.rstrip(".").lower() or "."
        self.ctx.failures.append(Lookup(name, exc.rdtype, status, detail=exc.detail))


def _records(got: object, kind: type[dns.rdata.Rdata]) -> list[dns.rdata.Rdata]:
    return [r for r in got.records if isinstance(r, kind)] if isinstance(got, Answer) else []


def _unwrap(ctx: AuditContext) -> tuple[Resolver, TrustAnchors]:
    """The resolver to walk over (never a validator: the check wants raw data) and the
    trust anchors (the options', the validator's, else the root's)."""
    resolver = ctx.resolver
    anchors = ctx.options.trust_anchors
    if isinstance(resolver, ValidatingResolver):
        anchors = anchors or resolver.trust_anchors
        resolver = resolver.inner
    return resolver, anchors or TrustAnchors.root()


async def _apex(seen: _Seen, domain: str) -> str | None:
    """The zone holding ``domain`` (the owner of its SOA); None when that cannot be told.

    The first question is the domain's DNSKEY, which the check asks of the apex anyway: its
    answer, or the SOA in its NODATA, names the zone, so most domains cost no SOA question."""
    first = await seen.ask(domain, "DNSKEY")
    if first is None or isinstance(first, NXDomain):
        return None
    if isinstance(first, Answer):
        return first.name.rstrip(".")
    zone = _soa_owner(first)
    if zone is not None:
        return zone
    name = domain  # a NODATA that does not name its zone: ask for the SOA, label by label
    for _ in range(domain.count(".") + 1):  # at most one question per label
        got = await seen.ask(name, "SOA")
        if isinstance(got, Answer):
            return got.name.rstrip(".")
        if got is None or (isinstance(got, NXDomain) and name == domain):
            return None
        zone = _soa_owner(got)
        if zone is not None:
            return zone
        if "." not in name:
            return None
        name = name.split(".", 1)[1]
    return None


def _soa_owner(got: NXDomain | NoAnswer) -> str | None:
    """The zone a negative answer names with the SOA of its authority section, if any."""
    denial = got.denial if isinstance(got, NoAnswer) else None
    for rrset in denial.authority if denial else ():
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset.name.to_text().rstrip(".").lower()
    return None


@check("dnssec")
async def dnssec_chain(ctx: AuditContext) -> list[Finding]:
    resolver, anchors = _unwrap(ctx)
    seen = _Seen(ctx, resolver)
    apex = await _apex(seen, ctx.name)
    if apex is None:
        return []
    ds_got, key_got = await asyncio.gather(seen.ask(apex, "DS"), seen.ask(apex, "DNSKEY"))
    ds = [r for r in _records(ds_got, DS) if isinstance(r, DS)]
    keys = [r for r in _records(key_got, DNSKEY) if isinstance(r, DNSKEY)]
    evidence = [_describe(apex, "DS", ds_got, ds), _describe(apex, "DNSKEY", key_got, keys)]
    if key_got is None:
        return []  # could not tell (reported as dns.temperror / dns.not-in-zones)
    if not keys:
        if ds:
            return [_dnskey_missing(apex, ds, evidence)]
        detail = f"{apex} has no DNSKEY: it is not signed"
        if ds_got is not None:
            detail = f"{apex} has no DS at its parent and no DNSKEY: it is not signed"
        return [Finding.of(UNSIGNED, detail, evidence=evidence, fix=_START)]
    findings = _key_findings(apex, ds, keys, evidence, ds_known=ds_got is not None)
    findings += await _published_findings(seen, apex, ds, keys)
    secure = False
    if ds:
        validator = ChainValidator(resolver, anchors, record=True)
        verdicts = await _validate_mail(seen, validator, ctx, apex)
        findings += _chain_findings(apex, verdicts)
        secure = bool(verdicts) and all(v.security == "secure" for _, v in verdicts)
        findings += _timing(ctx, apex, seen, validator.signatures.values())
        if secure:
            findings += await _mx_hosts(ctx, validator, apex)
    else:
        findings += _timing(ctx, apex, seen, ())
    if secure and not [f for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)]:
        detail = f"the chain of trust from {anchors.source} validates {apex} and its mail records"
        findings.append(Finding.of(DNSSEC_OK, detail, evidence=evidence))
    return findings


def _describe(name: str, rdtype: str, got: object, records: Iterable[dns.rdata.Rdata]) -> str:
    if got is None:
        return f"{name} {rdtype}: no answer"
    texts = [r.to_text() for r in records]
    return f"{name} {rdtype}: {'; '.join(texts) if texts else 'none'}"


def _ds_line(apex: str, key: DNSKEY, digest: int = 2) -> str:
    ds = dns.dnssec.make_ds(
        f"{apex}.",
        key,
        dns.dnssectypes.DSDigest.make(digest),
        policy=dns.dnssec.allow_all_policy,
        validating=True,
    )
    return f"{apex}. IN DS {ds.to_text().upper()}"


def _ksks(keys: list[DNSKEY]) -> list[DNSKEY]:
    usable = [k for k in keys if k.flags & 0x0100 and not k.flags & 0x0080]
    return [k for k in usable if k.flags & 0x0001] or usable


def _dnskey_missing(apex: str, ds: list[DS], evidence: list[str]) -> Finding:
    tags = ", ".join(f"key tag {d.key_tag} alg {d.algorithm}" for d in ds)
    detail = f"the parent publishes a DS for {apex} ({tags}), but {apex} has no DNSKEY"
    return Finding.of(DNSKEY_MISSING, detail, evidence=evidence)


def _key_findings(
    apex: str, ds: list[DS], keys: list[DNSKEY], evidence: list[str], *, ds_known: bool
) -> list[Finding]:
    findings: list[Finding] = []
    fix = "\n".join(_ds_line(apex, k) for k in _ksks(keys))
    if not ds and ds_known:
        detail = (
            f"{apex} is signed, but its parent has no DS for it, so validators treat it as"
            " unsigned: publish the DS at your registrar"
        )
        findings.append(Finding.of(UNSIGNED, detail, evidence=evidence, fix=fix))
    elif ds:
        matched, misses = _match(apex, ds, keys)
        if not matched:
            tags = ", ".join(f"key tag {d.key_tag} alg {d.algorithm}" for d in ds)
            detail = f"DS at the parent has {tags}; no DNSKEY of {apex} matches"
            hashed = [m for m in misses if "hash" in m]
            if hashed:
                detail += f" ({'; '.join(hashed)})"
            findings.append(Finding.of(DS_MISMATCH, detail, evidence=evidence, fix=fix))
    sha1 = [d for d in ds if d.digest_type == 1]
    if sha1:
        tags = ", ".join(str(d.key_tag) for d in sha1)
        better = [k for k in keys if dns.dnssec.key_id(k) in {d.key_tag for d in sha1}]
        findings.append(
            Finding.of(
                DS_DIGEST_SHA1,
                f"the DS for key tag {tags} at the parent uses SHA-1 (digest type 1)",
                evidence=evidence[:1],
                fix="\n".join(_ds_line(apex, k) for k in better) or None,
            )
        )
    for number in sorted({k.algorithm for k in keys} | {d.algorithm for d in ds}):
        use = ALGORITHMS.get(number, ("", ""))[1]
        if use in ("MUST NOT", "NOT RECOMMENDED"):
            severity = Severity.ERROR if use == "MUST NOT" else Severity.WARNING
            detail = (
                f"{apex} uses algorithm {number} ({algorithm_name(number)}), which is {use}"
                " for signing (RFC 9904)"
            )
            findings.append(
                Finding.of(ALGORITHM_DEPRECATED, detail, evidence=evidence, severity=severity)
            )
    return findings


def _match(apex: str, ds: list[DS], keys: list[DNSKEY]) -> tuple[list[DNSKEY], list[str]]:
    return match_ds(dns.name.from_text(f"{apex}."), ds, keys)


async def _published_findings(
    seen: _Seen, apex: str, ds: list[DS], keys: list[DNSKEY]
) -> list[Finding]:
    """NSEC3PARAM iterations and salt; CDS/CDNSKEY against the DS."""
    findings: list[Finding] = []
    params = [p for p in _records(await seen.ask(apex, "NSEC3PARAM"), NSEC3PARAM)]
    for param in params:
        assert isinstance(param, NSEC3PARAM)
        if param.iterations > 0 or param.salt:
            detail = (
                f"{apex} uses NSEC3 with {param.iterations} extra iteration(s)"
                f"{' and a salt' if param.salt else ''}"
            )
            line = f"{apex}. IN NSEC3PARAM {param.to_text()}"
            fix = f"{apex}. IN NSEC3PARAM 1 0 0 -"
            findings.append(Finding.of(NSEC3_ITERATIONS, detail, evidence=[line], fix=fix))
            break
    if not ds:
        return findings
    cds = [r for r in _records(await seen.ask(apex, "CDS"), CDS) if isinstance(r, CDS)]
    cdnskeys = [
        r for r in _records(await seen.ask(apex, "CDNSKEY"), CDNSKEY) if isinstance(r, CDNSKEY)
    ]
    problem = _cds_problem(apex, ds, cds, cdnskeys)
    if problem:
        evidence = [f"{apex} DS: {'; '.join(d.to_text() for d in ds)}"]
        evidence += [f"{apex} CDS: {r.to_text()}" for r in cds]
        evidence += [f"{apex} CDNSKEY: {r.to_text()}" for r in cdnskeys]
        findings.append(Finding.of(CDS_MISMATCH, problem, evidence=evidence))
    return findings


def _cds_problem(apex: str, ds: list[DS], cds: list[CDS], cdnskeys: list[CDNSKEY]) -> str:
    if any(r.algorithm == 0 for r in cds) or any(r.algorithm == 0 for r in cdnskeys):
        return f"{apex} publishes a CDS/CDNSKEY delete request (RFC 8078) while its DS is in place"
    have = {(d.key_tag, d.algorithm, d.digest_type, d.digest) for d in ds}
    if cds:
        want = {(c.key_tag, c.algorithm, c.digest_type, c.digest) for c in cds}
        if want != have:
            extra = ", ".join(sorted(str(w[0]) for w in want - have)) or "none"
            gone = ", ".join(sorted(str(h[0]) for h in have - want)) or "none"
            return (
                f"the CDS of {apex} differs from the DS: key tag(s) {extra} only in the CDS,"
                f" {gone} only in the DS"
            )
    if cdnskeys:
        tags = {(dns.dnssec.key_id(k), k.algorithm) for k in cdnskeys}
        if tags != {(d.key_tag, d.algorithm) for d in ds}:
            listed = ", ".join(str(t) for t, _ in sorted(tags))
            return f"the CDNSKEY of {apex} (key tag(s) {listed}) does not match the DS"
    return ""


async def _validate_mail(
    seen: _Seen, validator: ChainValidator, ctx: AuditContext, apex: str
) -> list[tuple[str, Verdict]]:
    """Validate the zone's keys and the mail records; each as ``("name TYPE", verdict)``."""
    names = [(apex, "DNSKEY"), (ctx.name, "MX"), (ctx.name, "TXT"), (f"_dmarc.{ctx.name}", "TXT")]
    names += [(f"{s}._domainkey.{ctx.name}", "TXT") for s in ctx.options.dkim_selectors if s]
    names += [(f"_mta-sts.{ctx.name}", "TXT"), (f"_smtp._tls.{ctx.name}", "TXT")]
    for host in await mail_hosts(ctx):  # DANE: TLSA of the MX hosts in this zone
        if host.name == apex or host.name.endswith(f".{apex}"):
            names.append((f"_25._tcp.{host.name}", "TLSA"))
    verdicts: list[tuple[str, Verdict]] = []
    for name, rdtype in names:
        got = await seen.ask(name, rdtype)
        if got is None:
            continue
        try:
            if isinstance(got, Answer):
                verdict = await validator.positive(got)
            else:
                verdict = await validator.negative(got)
        except TempError as exc:
            seen.fail(exc)
            return []  # the chain itself could not be walked: judged no further
        verdicts.append((f"{name} {rdtype}", verdict))
        if (name, rdtype) == (apex, "DNSKEY") and verdict.security != "secure":
            break  # the zone's own keys fail: every record would say the same
    return verdicts


def _chain_findings(apex: str, verdicts: list[tuple[str, Verdict]]) -> list[Finding]:
    own = f"{apex}."
    bogus = [
        (what, v)
        for what, v in verdicts
        if v.security == "bogus" and not (v.kind in _OWN_FINDING_KINDS and v.zone == own)
    ]
    findings: list[Finding] = []
    if bogus:
        what, first = bogus[0]
        detail = f"{what} is bogus: {first.reason}"
        if len(bogus) > 1:
            detail += f" (and {len(bogus) - 1} more)"
        evidence = [f"{w}: bogus ({v.reason})" for w, v in bogus]
        findings.append(Finding.of(BOGUS, detail, evidence=evidence))
    insecure = next((v for _, v in verdicts if v.security == "insecure"), None)
    if insecure is not None and not bogus:
        detail = f"{apex} has a DS, but validators treat it as unsigned: {insecure.reason}"
        findings.append(Finding.of(UNSIGNED, detail, evidence=[insecure.reason]))
    return findings


@dataclass(frozen=True)
class _Sig:
    owner: str
    rdtype: str
    key_tag: int
    inception: int
    expiration: int

    def text(self) -> str:
        return f"{self.owner.rstrip('.')} {self.rdtype}: RRSIG by key {self.key_tag}"


def _signatures(apex: str, seen: _Seen, checked: Iterable[SignatureSeen]) -> list[_Sig]:
    """Every RRSIG by the zone itself that the audit saw (answers, proofs, the validator)."""
    own = dns.name.from_text(f"{apex}.")
    found: dict[tuple[str, str, int, int], _Sig] = {}
    rrsets: list[dns.rrset.RRset] = [r for a in seen.answers for r in (*a.rrsigs, *a.authority)]
    rrsets += [r for e in seen.denials if e.denial for r in e.denial.authority]
    for rrset in rrsets:
        for sig in rrset:
            if isinstance(sig, RRSIG) and sig.signer == own:
                item = _Sig(
                    rrset.name.to_text().lower(),
                    dns.rdatatype.to_text(sig.type_covered),
                    sig.key_tag,
                    sig.inception,
                    sig.expiration,
                )
                found[(item.owner, item.rdtype, item.key_tag, item.expiration)] = item
    for s in checked:
        if s.signer == own.to_text().lower():
            item = _Sig(s.owner, s.rdtype, s.key_tag, s.inception, s.expiration)
            found[(item.owner, item.rdtype, item.key_tag, item.expiration)] = item
    return sorted(found.values(), key=lambda s: (s.expiration, s.owner, s.rdtype))


def _timing(
    ctx: AuditContext, apex: str, seen: _Seen, checked: Iterable[SignatureSeen]
) -> list[Finding]:
    now = time.time()
    warn = now + max(0, ctx.options.dnssec_warn_days) * 86_400
    sigs = _signatures(apex, seen, checked)
    expired = [s for s in sigs if s.expiration < now]
    future = [s for s in sigs if s.inception > now]
    soon = [s for s in sigs if now <= s.expiration <= warn and s not in future]
    findings: list[Finding] = []
    groups: list[tuple[Code, list[_Sig], str, bool]] = [
        (RRSIG_EXPIRED, expired, "expired", False),
        (RRSIG_NOT_YET_VALID, future, "starts", True),
        (RRSIG_EXPIRING, soon, "expires", False),
    ]
    for code, group, verb, starts in groups:
        if not group:
            continue

        def moment(sig: _Sig, starts: bool = starts) -> int:
            return sig.inception if starts else sig.expiration

        first = group[0]
        detail = (
            f"{len(group)} signature(s) of {apex}; the first, over {first.rdtype} at"
            f" {first.owner.rstrip('.')}, {verb} {when(moment(first), now)}"
        )
        evidence = [f"{s.text()} {verb} {when(moment(s), now)}" for s in group[:20]]
        findings.append(Finding.of(code, detail, evidence=evidence))
    return findings


async def _mx_hosts(ctx: AuditContext, validator: ChainValidator, apex: str) -> list[Finding]:
    findings: list[Finding] = []
    for host in await mail_hosts(ctx):
        if is_ip_address(host.name) or host.name == apex or host.name.endswith(f".{apex}"):
            continue
        try:
            verdict = await validator.zone_of(host.name)
        except TempError:
            continue
        if verdict.security == "insecure":
            detail = f"the zone of the MX host {host.name} is not signed: {verdict.reason}"
            findings.append(Finding.of(MX_INSECURE, detail, evidence=[verdict.reason]))
    return findings
