"""Where a domain's DMARC policy comes from, and which names make one organization.

RFC 9989 §4.10 replaced RFC 7489's Public Suffix List with the *DNS Tree Walk*: ask
``_dmarc.<domain>``, then the same under each parent, at most :data:`MAX_QUERIES` names (a
name of eight labels or more jumps straight to its last seven). Step 2/6 of the walk: TXT
records that do not start with ``v=DMARC1`` are discarded, several DMARC records at one name
are all discarded, and a single record holding ``psd=n`` or ``psd=y`` stops the walk.

- §4.10.1 policy discovery (:func:`discover_policy`): the domain's own record; else the record
  of its Organizational Domain; else that of its Public Suffix Domain (``sp=``, or ``np=`` for a
  domain that does not exist, in place of ``p=``).
- §4.10.2 the Organizational Domain (:func:`organizational_domain`), from the records the
  walk found, longest name first: ``psd=n`` is one; ``psd=y`` (not at the start) puts it one
  label below; else the name with the fewest labels; with no record at all, the name itself.

The Public Suffix List (the ``publicsuffixlist`` package, which ships its own copy of the list,
so it works offline) is kept only where the walk cannot answer: receivers still on RFC 7489
compare PSL Organizational Domains (RFC 7489 §3.2) when they verify an external report address,
and a name that is a public suffix is one a domain owner cannot publish at, so a record there
is a Public Suffix Operator's, never the owner's (RFC 9989 §5.2).

No I/O of its own, like the rest of :mod:`mailward.records`: every question goes through the
``ask`` callable the caller passes (:data:`AskTxt`), so the audit and DMARC evaluation share
this logic and each keeps its own cache and budget; the PSL is the package's bundled copy,
loaded once on first use.

SECURITY: names come from the audited domain and from DMARC records (report-address hosts are
anyone's text). A walk asks at most :data:`MAX_QUERIES` names, one after another as the RFC
orders them (no name the RFC would not ask is asked), and a name is asked only when it is a
well-formed DNS name of at most 253 octets.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from publicsuffixlist import PublicSuffixList

from mailward.dns.lookup import Lookup
from mailward.records import dmarc
from mailward.records.dmarc import DmarcRecord, Policy, Psd

MAX_QUERIES = 8  # RFC 9989 §4.10: never more than eight queries, however long the name
MAX_NAME = 253
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
_DMARC_LIKE = re.compile(r"dmarc|\A\s*(?:p|sp|np|rua|ruf|adkim|aspf|pct|fo|psd)\s*=", re.I)

AskTxt = Callable[[str, str], Awaitable[Lookup]]
"""How names are asked, ``(name, "TXT") -> Lookup`` (:mod:`mailward.dns.lookup`): the audit's
:meth:`~mailward.audit.context.AuditContext.lookup`, or the budgeted asker of
:mod:`mailward.auth.dmarc`. This module never asks DNS itself."""


def valid_name(name: str) -> bool:
    """A host name that can be asked: LDH (and ``_``) labels, at most 253 octets."""
    labels = name.split(".")
    return len(name) <= MAX_NAME and all(_LABEL.match(label) for label in labels)


def walk_names(domain: str) -> tuple[str, ...]:
    """The names whose ``_dmarc`` TXT the tree walk asks, in order (RFC 9989 §4.10 steps 3-7).

    ``a.b.c.d.e.f.g.h.i.j.mail.example.com`` gives itself, then ``g.h.i.j.mail.example.com``
    (seven labels) and each parent down to ``com``: eight names.
    """
    labels = domain.lower().rstrip(".").split(".")
    names = [".".join(labels)]
    rest = labels[-(MAX_QUERIES - 1) :] if len(labels) >= MAX_QUERIES else labels[1:]
    while rest:
        names.append(".".join(rest))
        rest = rest[1:]
    return tuple(names)


def is_below(name: str, ancestor: str) -> bool:
    """``name`` is a strict subdomain of ``ancestor``."""
    return name.endswith("." + ancestor)


@functools.cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def is_public_suffix(name: str) -> bool:
    """Whether ``name`` is a public suffix (``com``, ``co.uk``; an unknown TLD counts as one)."""
    return bool(_psl().is_public(name.lower()))


def psl_organizational_domain(name: str) -> str:
    """The RFC 7489 §3.2 Organizational Domain: the public suffix plus one label (a public
    suffix is its own)."""
    private = _psl().privatesuffix(name.lower())
    return str(private) if private else name.lower()


@dataclass(frozen=True)
class PolicyRecords:
    """What one ``_dmarc.<name>`` holds: every TXT string read, and those that count."""

    name: str  # the domain, without ``_dmarc``
    lookup: Lookup
    texts: tuple[str, ...] = ()

    @functools.cached_property
    def parsed(self) -> tuple[DmarcRecord, ...]:
        return tuple(dmarc.parse(text) for text in self.texts)

    @property
    def valid(self) -> tuple[DmarcRecord, ...]:
        """Records that start with ``v=DMARC1`` (the others are discarded, step 2)."""
        return tuple(r for r in self.parsed if r.version == "DMARC1" and r.version_first)

    @property
    def record(self) -> DmarcRecord | None:
        """The record in force here: exactly one valid record (several are all discarded)."""
        valid = self.valid
        return valid[0] if len(valid) == 1 else None

    @property
    def attempts(self) -> tuple[tuple[str, DmarcRecord], ...]:
        """Texts meant as DMARC (``v=DMARC1`` misspelt, ``p=`` without ``v=``) that are not
        valid records; a wildcard's SPF text is not one."""
        return tuple(
            (text, record)
            for text, record in zip(self.texts, self.parsed, strict=True)
            if record not in self.valid and _DMARC_LIKE.search(text)
        )

    @property
    def stops(self) -> bool:
        """A single record with ``psd=n`` or ``psd=y`` ends the walk (steps 2 and 6)."""
        record = self.record
        return record is not None and record.psd in (Psd.YES, Psd.NO)


def decode(text: bytes) -> str:
    """A TXT value as text; bytes that are not UTF-8 show as U+FFFD, which parsers reject."""
    return text.decode("utf-8", errors="replace")


async def ask_dmarc(ask: AskTxt, name: str) -> PolicyRecords:
    lookup = await ask(f"_dmarc.{name}", "TXT")
    return PolicyRecords(name, lookup, tuple(decode(t) for t in lookup.texts()))


@dataclass(frozen=True)
class Walk:
    """The names asked from ``start`` upwards, each with what it holds."""

    start: str
    steps: tuple[PolicyRecords, ...]

    @property
    def found(self) -> tuple[PolicyRecords, ...]:
        """Steps with a record in force, longest name first."""
        return tuple(step for step in self.steps if step.record is not None)

    @property
    def failed(self) -> tuple[str, ...]:
        """Names whose question got no answer (timeout, SERVFAIL, outside the zone files)."""
        return tuple(step.name for step in self.steps if step.lookup.failed)

    def evidence(self) -> list[str]:
        return [step.lookup.describe() for step in self.steps]


async def tree_walk(ask: AskTxt, start: str) -> Walk:
    """Walk up from ``start`` (RFC 9989 §4.10), one name after another."""
    steps: list[PolicyRecords] = []
    for name in walk_names(start):
        if not valid_name(name):
            break
        step = await ask_dmarc(ask, name)
        steps.append(step)
        if step.stops:
            break
    return Walk(start, tuple(steps))


def organizational_domain(walk: Walk) -> str:
    """The Organizational Domain of ``walk.start`` by RFC 9989 §4.10.2 selection."""
    found = walk.found
    for step in found:
        record = step.record
        assert record is not None
        if record.psd is Psd.NO:
            return step.name
        if record.psd is Psd.YES and step.name != walk.start:
            return one_below(walk.start, step.name)
    return found[-1].name if found else walk.start


def one_below(name: str, ancestor: str) -> str:
    """The name one label below ``ancestor`` on the way to ``name``."""
    depth = ancestor.count(".") + 2
    return ".".join(name.split(".")[-depth:])


Source = Literal["own", "organizational", "psd"]


@dataclass(frozen=True)
class DmarcPolicy:
    """The DMARC policy receivers apply to mail from ``domain`` (RFC 9989 §4.10.1)."""

    domain: str
    source: str  # the name whose ``_dmarc`` record applies
    record: DmarcRecord
    kind: Source  # the domain's own record, its Organizational Domain's, or a PSD's
    organizational: str  # the Organizational Domain, when the walk determined it
    exists: bool = True  # whether the domain exists (np= applies to one that does not)

    @property
    def inherited(self) -> bool:
        return self.kind != "own"

    @property
    def policy(self) -> Policy | None:
        """The policy applied to the domain's mail (``None``: the record gives no DMARC)."""
        if self.kind == "own":
            return self.record.effective_policy
        if self.exists:
            return self.record.effective_subdomain_policy
        return self.record.effective_nonexistent_policy


@dataclass(frozen=True)
class Discovery:
    """The outcome of policy discovery for one domain.

    ``complete`` is false when a question the answer depends on got no answer: then nothing
    may be said to be missing. A failure at a public suffix (``_dmarc.com``) does not make it
    incomplete, since only a Public Suffix Operator's policy can be published there; those
    names are in ``unchecked``.
    """

    domain: str
    walk: Walk
    policy: DmarcPolicy | None
    complete: bool
    unchecked: tuple[str, ...] = ()

    @property
    def own(self) -> PolicyRecords:
        return self.walk.steps[0]


async def discover_policy(ask: AskTxt, domain: str, *, exists: bool = True) -> Discovery:
    """Find the record that applies to ``domain``: its own, else the tree walk's (§4.10.1)."""
    own = await ask_dmarc(ask, domain)
    if own.lookup.failed:
        return Discovery(domain, Walk(domain, (own,)), None, complete=False)
    if own.record is not None:
        policy = DmarcPolicy(domain, domain, own.record, "own", "", exists)
        return Discovery(domain, Walk(domain, (own,)), policy, complete=True)
    walk = await tree_walk(ask, domain)  # asks _dmarc.<domain> again: the context's cache
    blocking = [name for name in walk.failed if not is_public_suffix(name)]
    unchecked = tuple(name for name in walk.failed if name not in blocking)
    if blocking:
        return Discovery(domain, walk, None, complete=False, unchecked=unchecked)
    organizational = organizational_domain(walk)
    found = {step.name: step for step in walk.found}
    step = found.get(organizational) or next(
        (s for s in walk.found if s.record is not None and s.record.psd is Psd.YES), None
    )
    if step is None or step.record is None:
        return Discovery(domain, walk, None, complete=True, unchecked=unchecked)
    public = step.record.psd is Psd.YES or is_public_suffix(step.name)
    kind: Source = "psd" if public else "organizational"
    policy = DmarcPolicy(domain, step.name, step.record, kind, organizational, exists)
    return Discovery(domain, walk, policy, complete=True, unchecked=unchecked)


async def same_organization(ask: AskTxt, policy_domain: str, host: str) -> bool | None:
    """Whether report address host ``host`` is inside the Organizational Domain of the record
    published at ``policy_domain`` (RFC 9990 §4); ``None`` when a failed question leaves it
    open.

    Both rules receivers use must agree that it is: RFC 9989's (tree walks) and RFC 7489's
    (the Public Suffix List). A host at or below ``policy_domain`` needs only the names in
    between: above the policy domain the two walks are the same.
    """
    if psl_organizational_domain(host) != psl_organizational_domain(policy_domain):
        return False
    if host == policy_domain:
        return True
    if is_below(host, policy_domain):
        for name in walk_names(host):
            if not is_below(name, policy_domain) or not valid_name(name):
                break
            step = await ask_dmarc(ask, name)
            if step.lookup.failed:
                return None
            record = step.record
            if record is not None and record.psd is Psd.NO:
                return False  # the host is its own Organizational Domain
            if record is not None and record.psd is Psd.YES and name != host:
                return False  # the Organizational Domain is below the policy domain
        return True
    walks = [await tree_walk(ask, policy_domain), await tree_walk(ask, host)]
    if any(name for walk in walks for name in walk.failed if not is_public_suffix(name)):
        return None
    return organizational_domain(walks[0]) == organizational_domain(walks[1])
