"""DMARC evaluation of one message (RFC 9989, which obsoletes RFC 7489 and RFC 9091).

:func:`evaluate` takes what the other checks found — the From header's domains, the SPF
outcome for the envelope sender (:class:`SpfOutcome`) and each DKIM signature's outcome
(:class:`DkimOutcome`) — and returns a :class:`DmarcVerdict`:

- policy discovery (RFC 9989 §4.10.1) and the Organizational Domain (§4.10.2) come from
  :mod:`mailward.records.orgdomain` (the DNS Tree Walk, ``psd=``); ``np=`` applies to an Author
  Domain that does not exist (no A, AAAA or MX: NXDOMAIN or NODATA for all three);
- identifier alignment: strict is equality of names, relaxed is equality of the names'
  Organizational Domains (each found by its own tree walk); an identifier counts only when
  its own check passed;
- the result: ``pass`` (an aligned identifier passed and a policy exists), ``fail``,
  ``none`` (no policy record applies), ``temperror`` (a DNS failure left the policy or the
  only possible alignment open) or ``permerror`` (no usable Author Domain: no From domain,
  several distinct From domains, or a name that is not a domain). Several From domains are
  never a pass: the verdict is ``permerror`` and the disposition is the strictest policy
  among those domains (at most :data:`MAX_AUTHOR_DOMAINS` are asked);
- the disposition: the policy that applied (``p``, ``sp`` or ``np``), one level lower under
  ``t=y`` (RFC 9989 §4.7); ``none`` on a pass.

:meth:`DmarcVerdict.report_row` gives what an RFC 9990 aggregate report row needs.

SECURITY: the From domains and the DKIM ``d=`` values come from the message (hostile); the
DMARC records from anyone's DNS. Names that are not well-formed DNS names are never asked;
at most :data:`MAX_AUTHOR_DOMAINS` From domains and :data:`MAX_SIGNATURES` signatures are
considered, each tree walk asks at most eight names, and one evaluation asks at most
:data:`MAX_QUERIES` questions (beyond that a question counts as a temporary failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from mailward.dns.lookup import Lookup, ask
from mailward.dns.resolver import Resolver
from mailward.records.dmarc import Alignment, DmarcRecord, Policy
from mailward.records.orgdomain import (
    Discovery,
    discover_policy,
    is_below,
    is_public_suffix,
    organizational_domain,
    tree_walk,
    valid_name,
)

MAX_AUTHOR_DOMAINS = 4
MAX_SIGNATURES = 10
MAX_QUERIES = 160

__all__ = [
    "DkimCheck",
    "DkimOutcome",
    "DmarcResult",
    "DmarcVerdict",
    "PublishedPolicy",
    "ReportRow",
    "SpfCheck",
    "SpfOutcome",
    "evaluate",
    "normalize_domain",
]


class DmarcResult(StrEnum):
    """The DMARC result, as Authentication-Results reports it (RFC 8601 §2.7)."""

    PASS = "pass"
    FAIL = "fail"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


@dataclass(frozen=True)
class SpfOutcome:
    """What DMARC needs from SPF: its result and the domain checked (the MAIL FROM domain)."""

    result: str  # none/neutral/pass/fail/softfail/temperror/permerror (RFC 7208 §2.6)
    domain: str
    scope: str = "mfrom"  # "mfrom" or "helo" (only MAIL FROM counts for DMARC)


@dataclass(frozen=True)
class DkimOutcome:
    """What DMARC needs from one DKIM signature: its result, ``d=`` and ``s=``."""

    result: str  # pass/fail/neutral/policy/temperror/permerror/none (RFC 8601 §2.7.1)
    domain: str
    selector: str
    human_result: str = ""  # why, in words (for the report's human_result)


@dataclass(frozen=True)
class SpfCheck:
    """The SPF identifier judged for alignment. ``aligned`` is ``None`` when a DNS failure
    left the Organizational Domains open."""

    outcome: SpfOutcome
    aligned: bool | None
    mode: Alignment

    @property
    def counts(self) -> bool:
        return self.outcome.result == "pass" and self.aligned is True


@dataclass(frozen=True)
class DkimCheck:
    """One signature judged for alignment (``aligned`` as for :class:`SpfCheck`)."""

    outcome: DkimOutcome
    aligned: bool | None
    mode: Alignment

    @property
    def counts(self) -> bool:
        return self.outcome.result == "pass" and self.aligned is True


@dataclass(frozen=True)
class PublishedPolicy:
    """The record that applied, as an aggregate report's ``policy_published`` shows it."""

    domain: str  # where the record was found (``_dmarc.<domain>``)
    p: str
    sp: str | None
    np: str | None
    adkim: str
    aspf: str
    testing: bool
    discovery_method: str = "treewalk"  # RFC 9990: "psl" or "treewalk"


@dataclass(frozen=True)
class ReportRow:
    """One message as an RFC 9990 aggregate report row needs it (count 1)."""

    source_ip: str | None
    header_from: str | None
    envelope_from: str | None
    disposition: str  # none / quarantine / reject (what the policy asked for)
    dkim: str  # the DMARC-aligned DKIM result: "pass" or "fail"
    spf: str  # the DMARC-aligned SPF result: "pass" or "fail"
    reasons: tuple[tuple[str, str], ...]  # (policy override type, comment)
    dkim_results: tuple[tuple[str, str, str, str], ...]  # (domain, selector, result, human)
    spf_result: tuple[str, str, str] | None  # (domain, scope, result)
    policy_published: PublishedPolicy | None


@dataclass(frozen=True)
class DmarcVerdict:
    """The DMARC verdict on one message: the result, the policy to apply, and why."""

    result: DmarcResult
    author_domain: str | None  # the From domain judged (None: none usable)
    disposition: Policy | None  # what to do: None only for temperror (decide locally)
    reason: str  # one plain sentence
    requested: Policy | None = None  # the policy as published, before t=y
    testing: bool = False  # t=y lowered the disposition
    record: DmarcRecord | None = None
    policy_domain: str | None = None  # the name whose _dmarc record applied
    policy_kind: str | None = None  # "own", "organizational" or "psd"
    organizational_domain: str | None = None
    author_exists: bool = True
    spf: SpfCheck | None = None
    dkim: tuple[DkimCheck, ...] = ()
    header_from: tuple[str, ...] = ()  # the From domains as given
    details: tuple[str, ...] = ()  # further plain-words lines
    evidence: tuple[str, ...] = field(default=(), compare=False)  # DNS questions and answers

    @property
    def dkim_aligned(self) -> bool:
        return any(check.counts for check in self.dkim)

    @property
    def spf_aligned(self) -> bool:
        return self.spf is not None and self.spf.counts

    def report_row(
        self, *, source_ip: str | None = None, envelope_from: str | None = None
    ) -> ReportRow:
        """The verdict as an RFC 9990 aggregate report row for this one message."""
        reasons: list[tuple[str, str]] = []
        if self.testing:
            reasons.append(("policy_test_mode", "t=y: the policy was applied one level lower"))
        if self.result in (DmarcResult.PERMERROR, DmarcResult.TEMPERROR):
            reasons.append(("other", f"dmarc={self.result}: {self.reason}"))
        published = None
        if self.record is not None and self.policy_domain is not None:
            record = self.record
            published = PublishedPolicy(
                domain=self.policy_domain,
                p=str(record.effective_policy or Policy.NONE),
                sp=str(record.sp) if record.sp is not None else None,
                np=str(record.np) if record.np is not None else None,
                adkim=str(record.dkim_alignment),
                aspf=str(record.spf_alignment),
                testing=record.testing,
            )
        spf = self.spf.outcome if self.spf is not None else None
        return ReportRow(
            source_ip=source_ip,
            header_from=self.author_domain or (self.header_from[0] if self.header_from else None),
            envelope_from=envelope_from or (spf.domain if spf is not None else None),
            disposition=str(self.disposition or Policy.NONE),
            dkim="pass" if self.dkim_aligned else "fail",
            spf="pass" if self.spf_aligned else "fail",
            reasons=tuple(reasons),
            dkim_results=tuple(
                (c.outcome.domain, c.outcome.selector, c.outcome.result, c.outcome.human_result)
                for c in self.dkim
            ),
            spf_result=(spf.domain, spf.scope, spf.result) if spf is not None else None,
            policy_published=published,
        )


def normalize_domain(name: str) -> str:
    """Lower case, without the final dot; a U-label name as its A-labels (IDNA 2003, as
    Python's codec does it), or unchanged when that fails (it then is not a valid name)."""
    name = name.strip().lower().rstrip(".")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return name
    return name


class _Asker:
    """Questions as :class:`Lookup` values (never exceptions), each asked once, with a budget."""

    def __init__(self, resolver: Resolver, budget: int = MAX_QUERIES) -> None:
        self.resolver = resolver
        self.budget = budget
        self.cache: dict[tuple[str, str], Lookup] = {}
        self.log: list[str] = []

    async def __call__(self, name: str, rdtype: str) -> Lookup:
        key = (normalize_domain(name), rdtype.upper())
        found = self.cache.get(key)
        if found is None:
            found = await self._ask(*key)
            self.cache[key] = found
            self.log.append(found.describe())
        return found

    async def _ask(self, name: str, rdtype: str) -> Lookup:
        if self.budget <= 0:
            return Lookup(name, rdtype, "temperror", detail="query budget exhausted")
        self.budget -= 1
        return await ask(self.resolver, name, rdtype)


async def _org_domain(ask: _Asker, name: str) -> str | None:
    """``name``'s Organizational Domain by tree walk; ``None`` when a failure leaves it open
    (failures at public suffixes are ignored, as in policy discovery)."""
    walk = await tree_walk(ask, name)
    if any(not is_public_suffix(failed) for failed in walk.failed):
        return None
    return organizational_domain(walk)


async def _aligned(
    ask: _Asker, author: str, author_org: str | None, identifier: str, mode: Alignment
) -> bool | None:
    identifier = normalize_domain(identifier)
    if identifier == author:
        return True
    if mode is Alignment.STRICT or not valid_name(identifier):
        return False
    if author_org is None:
        return None
    if identifier != author_org and not is_below(identifier, author_org):
        return False  # an Organizational Domain is the name itself or one of its parents
    other = await _org_domain(ask, identifier)
    return None if other is None else other == author_org


async def _exists(ask: _Asker, domain: str) -> bool:
    """RFC 9989 non-existent domain: A, AAAA and MX all NXDOMAIN or NODATA. A failure to ask
    counts as existing (``sp=`` rather than ``np=``)."""
    for rdtype in ("A", "AAAA", "MX"):
        if not (await ask(domain, rdtype)).missing:
            return True
    return False


def _error(
    result: DmarcResult,
    reason: str,
    header_from: tuple[str, ...],
    ask: _Asker | None,
    disposition: Policy | None = Policy.NONE,
    author: str | None = None,
) -> DmarcVerdict:
    evidence = tuple(ask.log) if ask is not None else ()
    return DmarcVerdict(
        result, author, disposition, reason, header_from=header_from, evidence=evidence
    )


_STRICTNESS = {Policy.NONE: 0, Policy.QUARANTINE: 1, Policy.REJECT: 2}


async def evaluate(
    from_header_domains: list[str] | tuple[str, ...],
    spf: SpfOutcome | None,
    dkim: list[DkimOutcome] | tuple[DkimOutcome, ...],
    resolver: Resolver,
) -> DmarcVerdict:
    """Judge one message by DMARC (RFC 9989). ``from_header_domains`` holds the domain of each
    address in the From header field(s), as written; ``spf`` is the MAIL FROM check (``None``
    when SPF was not checked)."""
    given = tuple(from_header_domains)
    domains = list(dict.fromkeys(normalize_domain(d) for d in given))
    ask = _Asker(resolver)
    if not domains or domains == [""]:
        return _error(
            DmarcResult.PERMERROR,
            "The message has no From domain, so DMARC cannot identify its author; it is "
            "never a pass.",
            given,
            None,
        )
    if len(domains) > 1:
        return await _several(domains, given, ask)
    author = domains[0]
    if not valid_name(author) or "." not in author:
        return _error(
            DmarcResult.PERMERROR,
            f"The From domain {_show(author)} is not a valid domain name, so DMARC cannot "
            "apply; it is never a pass.",
            given,
            None,
        )
    return await _judge(author, spf, tuple(dkim)[:MAX_SIGNATURES], given, ask)


def _show(text: str) -> str:
    masked = "".join(c if " " < c < "\x7f" else "?" for c in text[:80])
    return repr(masked)


async def _several(domains: list[str], given: tuple[str, ...], ask: _Asker) -> DmarcVerdict:
    strictest: Policy | None = None
    for domain in domains[:MAX_AUTHOR_DOMAINS]:
        if not valid_name(domain):
            continue
        discovery = await discover_policy(ask, domain)
        if discovery.policy is not None and discovery.policy.policy is not None:
            policy = discovery.policy.policy
            if discovery.policy.record.testing:
                policy = policy.tested
            if strictest is None or _STRICTNESS[policy] > _STRICTNESS[strictest]:
                strictest = policy
    names = ", ".join(_show(d) for d in domains[:MAX_AUTHOR_DOMAINS])
    extra = len(domains) - MAX_AUTHOR_DOMAINS
    more = f" and {extra} more" if extra > 0 else ""
    return _error(
        DmarcResult.PERMERROR,
        f"The From header names several domains ({names}{more}); DMARC needs exactly one "
        "Author Domain, so the message cannot pass. The strictest of their policies "
        f"applies: {strictest or Policy.NONE}.",
        given,
        ask,
        disposition=strictest or Policy.NONE,
    )


async def _judge(
    author: str,
    spf: SpfOutcome | None,
    dkim: tuple[DkimOutcome, ...],
    given: tuple[str, ...],
    ask: _Asker,
) -> DmarcVerdict:
    discovery = await discover_policy(ask, author)
    if not discovery.complete:
        return _error(
            DmarcResult.TEMPERROR,
            f"The DMARC policy of {author} could not be looked up (a DNS question failed: "
            f"{', '.join('_dmarc.' + n for n in discovery.walk.failed)}); try again later.",
            given,
            ask,
            disposition=None,
            author=author,
        )
    record = discovery.policy.record if discovery.policy is not None else None
    adkim = record.dkim_alignment if record is not None else Alignment.RELAXED
    aspf = record.spf_alignment if record is not None else Alignment.RELAXED
    author_org = await _org_domain(ask, author)
    spf_check = None
    if spf is not None:
        aligned = await _aligned(ask, author, author_org, spf.domain, aspf)
        spf_check = SpfCheck(spf, aligned if spf.scope == "mfrom" else False, aspf)
    dkim_checks = tuple(
        [
            DkimCheck(d, await _aligned(ask, author, author_org, d.domain, adkim), adkim)
            for d in dkim
        ]
    )
    base = DmarcVerdict(
        DmarcResult.NONE,
        author,
        Policy.NONE,
        f"{author} publishes no DMARC policy (nor does its organization), so DMARC does not apply.",
        spf=spf_check,
        dkim=dkim_checks,
        header_from=given,
        organizational_domain=author_org,
        details=_explain(author, spf_check, dkim_checks),
    )
    policy = await _applicable(ask, discovery, author)
    if policy is None or record is None:
        return replace(base, evidence=tuple(ask.log))
    requested, exists, kind, source = policy
    base = replace(
        base,
        record=record,
        policy_domain=source,
        policy_kind=kind,
        requested=requested,
        author_exists=exists,
        evidence=tuple(ask.log),
    )
    passing = [c for c in (spf_check, *dkim_checks) if c is not None and c.counts]
    if passing:
        return replace(
            base,
            result=DmarcResult.PASS,
            reason=f"DMARC passes: {_name(passing[0])} passed for a domain aligned with {author}.",
        )
    open_ = [
        c
        for c in (spf_check, *dkim_checks)
        if c is not None
        and (
            (c.outcome.result == "pass" and c.aligned is None)
            or (c.outcome.result == "temperror" and c.aligned is not False)
        )
    ]
    if open_:
        return replace(
            base,
            result=DmarcResult.TEMPERROR,
            disposition=None,
            reason=f"DMARC could not be decided: {_name(open_[0])} met a temporary DNS "
            "failure; try again later.",
        )
    tag = "p" if kind == "own" else ("sp" if exists else "np")
    disposition = requested.tested if record.testing else requested
    lowered = f", lowered to {disposition} by t=y" if record.testing else ""
    return replace(
        base,
        result=DmarcResult.FAIL,
        disposition=disposition,
        testing=record.testing,
        reason=f"DMARC fails: neither SPF nor DKIM passed for a domain aligned with {author}; "
        f"the policy of _dmarc.{source} ({tag}={requested}{lowered}) applies.",
    )


async def _applicable(
    ask: _Asker, discovery: Discovery, author: str
) -> tuple[Policy, bool, str, str] | None:
    """(policy, author exists, kind, source) for the record found, or ``None``."""
    found = discovery.policy
    if found is None:
        return None
    exists = True
    if found.inherited and found.record.np is not None:
        exists = await _exists(ask, author)
        found = replace(found, exists=exists)
    if found.policy is None:
        return None
    return found.policy, exists, found.kind, found.source


def _name(check: SpfCheck | DkimCheck) -> str:
    if isinstance(check, SpfCheck):
        return f"SPF (MAIL FROM {check.outcome.domain})"
    return f"DKIM (d={check.outcome.domain} s={check.outcome.selector})"


def _explain(author: str, spf: SpfCheck | None, dkim: tuple[DkimCheck, ...]) -> tuple[str, ...]:
    lines: list[str] = []
    checks: list[SpfCheck | DkimCheck] = [*([spf] if spf is not None else []), *dkim]
    if not checks:
        lines.append("Neither SPF nor DKIM gave a result to align.")
    for check in checks:
        mode = "strict" if check.mode is Alignment.STRICT else "relaxed"
        if isinstance(check, SpfCheck) and check.outcome.scope != "mfrom":
            align = "not used: only the MAIL FROM identity counts for DMARC"
        elif check.aligned is None:
            align = "alignment unknown (DNS failure)"
        elif check.aligned:
            align = f"aligned with {author} ({mode})"
        else:
            align = f"not aligned with {author} ({mode})"
        lines.append(f"{_name(check)}: {check.outcome.result}, {align}.")
    return tuple(lines)
