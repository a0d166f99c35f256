"""SPF: the domain's sender policy as receivers evaluate it (RFC 7208).

§4.5 which TXT records are SPF (those beginning with ``v=spf1`` then a space or the end; two
of them is a permerror), §3.3 TXT strings of at most 255 bytes, §3.1 the obsolete SPF record
type, the record's own faults from :mod:`mailward.records.spf` (``spf.syntax``, the ``all`` and
``ptr`` findings, each with the whole corrected record as a zone line), and §4.6.4 the limits:
the ``include``, ``a``, ``mx``, ``ptr``, ``exists`` and ``redirect`` terms that a receiver may
evaluate are counted through every ``include:`` and ``redirect=`` (``exp=`` and the top-level
fetch do not count; 10 is allowed, 11 is a permerror), with the void lookups among them (more
than 2), ``mx`` terms with more than 10 hosts, §5.2/§6.1 targets without an SPF record, and
loops. A domain-spec with macros needs a message to expand: it is counted, never followed.

SECURITY: every record is hostile DNS data. The walk asks through ``ctx.lookup`` (cached, one
query per name and type), stops counting at ``MAX_COUNTED`` lookups, never follows a target
already on its path, and the flattening it proposes asks at most ``MAX_FLATTEN_QUERIES`` more
questions. Bytes that are not UTF-8 are decoded with U+FFFD and said so.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from ipaddress import ip_network
from itertools import product

from mailward.audit.checks.mx import mx_lookup
from mailward.audit.context import AuditContext
from mailward.audit.lint import SPF_MULTIPLE, SPF_RRTYPE99, lint_record
from mailward.audit.registry import check
from mailward.codes import Code, Severity, define
from mailward.dns.lookup import Lookup
from mailward.errors import DNSError
from mailward.findings import Finding
from mailward.records._txt import MAX_STRING, to_zone_text
from mailward.records.spf import (
    PASS_ALL,
    Mechanism,
    Modifier,
    Qualifier,
    SpfRecord,
    lookup_terms,
    parse,
)
from mailward.records.spf import SYNTAX as SPF_SYNTAX

LIMIT, VOID_LIMIT, MX_LIMIT = 10, 2, 10  # RFC 7208 §4.6.4
MAX_COUNTED = 50  # the verdict is long settled by then; a hostile tree cannot grow the walk
MAX_FLATTEN_QUERIES = 40
MAX_FLAT = 40  # networks one flattened term may contribute
MAX_RECORD = 450  # RFC 7208 §3.4: keep the answer within a 512-byte UDP response
NOT_UTF8 = "the TXT record holds bytes that are not UTF-8, shown as U+FFFD"

SPF_MISSING = define(
    "spf.missing",
    Severity.ERROR,
    "Domain has no SPF record",
    why="Without SPF, receivers cannot tell your mail servers from forgers, and DMARC can "
    "pass only through DKIM.",
    example='example.com. IN TXT "google-site-verification=…"   ; and no v=spf1 record',
    fix="Publish one TXT record starting with v=spf1 that lists every service sending as the "
    "domain and ends in ~all or -all (`v=spf1 -all` if it sends no mail).",
    refs=("RFC 7208 §4.5", "RFC 7208 §3.1"),
)
TOO_MANY_LOOKUPS = define(
    "spf.too-many-lookups",
    Severity.ERROR,
    "SPF record needs more than 10 DNS lookups",
    why="Receivers stop at the 11th lookup (include, a, mx, ptr, exists, redirect, counted "
    "through every include) with permerror, so SPF authorises nobody.",
    example="v=spf1 include:_spf.google.com include:spf.protection.outlook.com "
    "include:mailgun.org include:sendgrid.net include:servers.mcsv.net mx a ~all",
    fix="Remove the includes you no longer use, or replace the costliest with the ip4:/ip6: "
    "ranges they resolve to, until 10 lookups or fewer remain.",
    refs=("RFC 7208 §4.6.4",),
)
TOO_MANY_VOIDS = define(
    "spf.too-many-void-lookups",
    Severity.ERROR,
    "SPF record makes more than 2 lookups that find nothing",
    why="Receivers may return permerror after the second lookup answered NXDOMAIN or with no "
    "records (a guard against abuse), failing SPF for all your mail.",
    example="v=spf1 a:old1.example.com a:old2.example.com include:gone.example.net -all",
    fix="Remove the terms that name hosts or domains that no longer exist.",
    refs=("RFC 7208 §4.6.4", "RFC 7208 §11.1"),
)
INCLUDE_NO_RECORD = define(
    "spf.include-no-record",
    Severity.ERROR,
    "SPF include or redirect points to a name without an SPF record",
    why="An include: or redirect= whose target publishes no SPF record is a permerror: SPF "
    "fails for all your mail once a receiver reaches that term.",
    example="v=spf1 include:spf.old-provider.example -all   ; which has no v=spf1 record",
    fix="Correct the name to the one your provider documents, or remove the term.",
    refs=("RFC 7208 §5.2", "RFC 7208 §6.1"),
)
LOOP = define(
    "spf.loop",
    Severity.ERROR,
    "SPF include or redirect loops back to a record already being evaluated",
    why="A record that includes itself, directly or through others, never finishes: "
    "receivers return permerror.",
    example="a.example: v=spf1 include:b.example -all\nb.example: v=spf1 include:a.example ~all",
    fix="Remove the include:/redirect= that points back to a record already on the path.",
    refs=("RFC 7208 §5.2", "RFC 7208 §4.6.4"),
)
STRING_TOO_LONG = define(
    "spf.string-too-long",
    Severity.ERROR,
    "A TXT string of the SPF record is longer than 255 bytes",
    why="One DNS character-string holds at most 255 bytes; servers refuse or cut a longer one, "
    "so receivers see a broken record or none.",
    example='example.com. IN TXT "v=spf1 ip4:… (300 bytes in one string) -all"',
    fix='Split the value into strings of at most 255 bytes: "v=spf1 … " "… -all"; receivers '
    "join them with nothing between.",
    refs=("RFC 7208 §3.3", "RFC 1035 §3.3"),
)
MX_TOO_MANY = define(
    "spf.mx-too-many",
    Severity.ERROR,
    "SPF mx mechanism names a domain with more than 10 MX hosts",
    why="Receivers look up the addresses of at most 10 MX hosts for one mx term; past that the "
    "mx mechanism gives permerror.",
    example="v=spf1 mx -all   ; the domain has 12 MX records",
    fix="List the sending hosts with ip4:/ip6: (or a:) instead of mx.",
    refs=("RFC 7208 §4.6.4",),
)
SPF_OK = define(
    "spf.ok",
    Severity.PASS,
    "SPF record is valid and within the lookup limits",
    why="Receivers can evaluate it completely and it ends in a clear verdict for other hosts.",
    example="v=spf1 mx include:_spf.google.com -all",
    fix="Nothing to do.",
    refs=("RFC 7208 §4.6.4",),
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Published:
    """One SPF TXT record as published: its value (decoded) and its strings' lengths."""

    value: str
    lengths: tuple[int, ...]
    not_utf8: bool = False


def spf_values(lookup: Lookup, *, near: bool = False) -> list[Published]:
    """The SPF records of a TXT answer (RFC 7208 §4.5), or with ``near`` the TXT records that
    look like a failed attempt at one (``v=spf1-all``, a leading space, quotes)."""
    out = []
    for record in lookup.records:
        strings = tuple(getattr(record, "strings", ()))
        raw = b"".join(strings)
        spf = raw[:6].lower() == b"v=spf1" and raw[6:7] in (b"", b" ")
        if near:
            spf = not spf and raw.strip().strip(b"\"'").lower().startswith(b"v=spf1")
        if spf:
            text = raw.decode("utf-8", errors="replace")
            out.append(Published(text, tuple(map(len, strings)), text.encode() != raw))
    return out


def _line(name: str, value: str) -> str:
    return f"{name}. 3600 IN TXT {to_zone_text(value)}"


def _corrected(value: str) -> str:
    """The value with the parser's fixes applied, the version's first (lint merges the rest)."""
    version = next((d.fix for d in parse(value).diagnostics if d.tag == "v" and d.fix), value)
    return next((f.fix for f in lint_record(version, "spf") if f.fix), version)


@dataclass
class _Node:
    """One counted term in the lookup tree."""

    term: Mechanism | Modifier
    number: int
    domain: str = ""  # the name asked about ("" when not followed)
    record: SpfRecord | None = None  # an include/redirect target's record, when followed
    note: str = ""
    void: frozenset[int] = frozenset()  # the senders' IP versions for which it finds nothing
    children: list[_Node] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.term.to_text()

    @property
    def cost(self) -> int:
        return 1 + sum(child.cost for child in self.children)


_ASKS = {"include": ("TXT",), "redirect": ("TXT",), "a": ("A", "AAAA"), "mx": ("MX",)}


@dataclass
class _Walk:
    """Counts a record's lookups as a receiver would, through includes and redirects."""

    ctx: AuditContext
    top: SpfRecord
    count: int = 0
    voids: list[tuple[str, _Node]] = field(default_factory=list)  # (whose record, term)
    txts: dict[str, None] = field(default_factory=dict)  # evidence, in the order asked
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    failed: bool = False
    stopped: bool = False
    root: _Node | None = None  # the top-level term being walked

    async def walk(self, domain: str, record: SpfRecord, path: tuple[str, ...]) -> list[_Node]:
        terms = lookup_terms(record)
        room = max(0, MAX_COUNTED - self.count)
        await asyncio.gather(*(self.ask(t, domain) for t in terms[:room]))  # prefetch
        nodes = []
        for term in terms:
            if self.count >= MAX_COUNTED:
                self.stopped = True
                break
            self.count += 1
            nodes.append(node := _Node(term, self.count))
            self.root = node if len(path) == 1 else self.root
            await self.visit(node, domain, path)
        return nodes

    async def ask(self, term: Mechanism | Modifier, domain: str) -> list[Lookup]:
        target = _target(term, domain)
        types = ("A",) if term.name == "exists" else _ASKS.get(term.name, ())
        return [await self.ctx.lookup(target, t) for t in types] if target else []

    async def visit(self, node: _Node, domain: str, path: tuple[str, ...]) -> None:
        term, target = node.term, _target(node.term, domain)
        if term.name == "ptr":
            node.note = "needs the sender's address: counted, not followed"
            return
        if target is None:
            node.note = "macro: expands per message, so counted but not followed"
            return
        node.domain = target
        if term.name in ("include", "redirect") and target in path:
            node.note = f"loop: {target} is already being evaluated"
            chain = " → ".join((*path, target))
            return self.add(LOOP, node, domain, f"points back to {target}: {chain}")
        lookups = await self.ask(term, domain)
        if any(lookup.failed for lookup in lookups):
            node.note, self.failed = "DNS failed: not checked", True
            return None
        # for an IPv4 sender a receiver asks a: for A only, for an IPv6 sender for AAAA only
        pairs = zip((4, 6), lookups if term.name == "a" else lookups * 2, strict=True)
        node.void = frozenset(version for version, lk in pairs if lk.missing)
        if node.void:
            missing = ", ".join(f"{lk.rdtype} {lk.status}" for lk in lookups if lk.missing)
            whom = "" if len(node.void) == 2 else f" for IPv{min(node.void)} senders"
            node.note = f"void{whom}: {missing}"
            self.voids.append((domain, node))
        if term.name in ("include", "redirect"):
            await self.follow(node, lookups[0], domain, path)
        elif term.name == "mx" and len(hosts := _mx_hosts(lookups[0])) > MX_LIMIT:
            node.note = f"{len(hosts)} MX hosts"
            self.add(MX_TOO_MANY, node, domain, f"{target} has {len(hosts)} MX hosts, over 10")
        return None

    async def follow(self, node: _Node, lookup: Lookup, domain: str, path: tuple[str, ...]) -> None:
        self.txts[lookup.describe()] = None
        found = spf_values(lookup)
        if len(found) != 1:
            what = f"has {len(found)} SPF records" if found else "has no SPF record"
            node.note += ("; " if node.note else "") + f"{what}: permerror"
            why = f" ({lookup.status})" if lookup.missing else ""
            code = SPF_MULTIPLE if found else INCLUDE_NO_RECORD
            return self.add(code, node, domain, f"{node.domain} {what}{why}")
        node.record = record = parse(found[0].value)
        if record.permerror:
            node.note = "syntax error: permerror"
            first = next(d.message for d in record.diagnostics if d.severity is Severity.ERROR)
            self.add(SPF_SYNTAX, node, domain, f"{node.domain}'s record is invalid ({first})")
        if (end := record.all_mechanism) and end.qualifier is Qualifier.PASS:
            what = f"{node.domain}'s record ends in +all: it authorises every host"
            self.add(PASS_ALL, node, domain, what)
        node.children = await self.walk(node.domain, record, (*path, node.domain))
        return None

    def add(self, code: Code, node: _Node, domain: str, what: str) -> None:
        """A finding about ``node`` in ``domain``'s record, with the fix: the corrected record
        when the term is in the audited record, else who must act."""
        detail = f"{node.label} in {domain}'s record: {what}"
        if domain != self.ctx.name:
            root = self.root.label if self.root else node.label
            fix = f"{root} leads there: ask whoever runs {domain} to correct its record, or "
            fix += f"remove {root} from yours."
        elif node.term.name == "mx":
            fix = f"Replace {node.label} with ip4:/ip6: terms for the hosts that send your mail."
        else:
            fix = f"{_line(self.ctx.name, _rewrite(self.top, {id(node.term): []}))}   ; or correct "
            fix += f"{node.label}"
        self.findings.setdefault((code.slug, detail), Finding.of(code, detail, fix=fix))


def _target(term: Mechanism | Modifier, domain: str) -> str | None:
    spec = term.value if isinstance(term, Modifier) else term.domain_spec
    if spec is None:
        return domain
    return None if spec.has_macros else spec.to_text().lower().rstrip(".")


def _mx_hosts(lookup: Lookup) -> list[str]:
    names = (r.exchange.to_text().rstrip(".").lower() for r in lookup.records)
    return [name for name in names if name]


def _rewrite(record: SpfRecord, replaced: dict[int, list[str]]) -> str:
    """The record with the terms whose ``id`` is a key replaced (ending in ~all if it must)."""
    words = [w for t in record.terms for w in replaced.get(id(t), [t.to_text()])]
    ends = any(w.lstrip("+-~?") == "all" or w.startswith("redirect=") for w in words)
    return " ".join(["v=spf1", *dict.fromkeys(words), *([] if ends else ["~all"])])


def _tree(name: str, walk: _Walk, nodes: list[_Node]) -> str:
    lines = [f"{name}: {walk.count}/{LIMIT} DNS lookups"]

    def add(level: list[_Node], depth: int) -> None:
        for node in level:
            note = f" — {node.note}" if node.note else ""
            lines.append(f"{'  ' * depth}{node.label} ({node.number}){note}")
            add(node.children, depth + 1)

    add(nodes, 1)
    return "\n".join(lines + [f"  … stopped counting at {MAX_COUNTED}"] * walk.stopped)


class _Flattener:
    """The ip4:/ip6: networks a subtree authorises, when a list of addresses says the same."""

    def __init__(self, ctx: AuditContext) -> None:
        self.ctx, self.budget = ctx, MAX_FLATTEN_QUERIES

    async def networks(self, node: _Node | None) -> list[Network] | None:
        if node is None or not node.domain or node.note.startswith(("loop", "DNS failed")):
            return None
        term = node.term
        if isinstance(term, Mechanism) and term.name in ("a", "mx"):
            mx = await self.lookup(node.domain, "MX") if term.name == "mx" else None
            hosts = [node.domain] if mx is None else _mx_hosts(mx)
            if (mx is not None and mx.failed) or len(hosts) > MX_LIMIT:
                return None
            out: list[Network] = []
            for host, (rdtype, cidr) in product(hosts, (("A", term.cidr4), ("AAAA", term.cidr6))):
                lookup = await self.lookup(host, rdtype)
                if lookup.failed:
                    return None
                bits = cidr if cidr is not None else (32 if rdtype == "A" else 128)
                out += [ip_network((r.address, bits), strict=False) for r in lookup.records]
            return out
        if node.record is None or node.record.permerror:
            return None
        return await self.of_record(node.record, iter(node.children))

    async def of_record(self, record: SpfRecord, children: Iterator[_Node]) -> list[Network] | None:
        out: list[Network] = []
        for term in record.mechanisms:
            if term.name == "all":  # in an include, only a pass matches
                return out if term.qualifier is not Qualifier.PASS else None
            if term.qualifier is not Qualifier.PASS or term.name in ("ptr", "exists"):
                return None
            got = [term.network] if term.network else await self.networks(next(children, None))
            if got is None:
                return None
            out += got
        redirect = record.modifier("redirect") is not None
        got = await self.networks(next(children, None)) if redirect else []
        return None if got is None else out + got

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        self.budget -= 1
        if self.budget < 0:
            return Lookup(name, rdtype, "temperror", detail="flattening budget spent")
        return await self.ctx.lookup(name, rdtype)


def _ip_terms(networks: list[Network]) -> list[str] | None:
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    nets: list[Network] = [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]
    out = [f"ip{n.version}:{n.network_address if n.num_addresses == 1 else n}" for n in nets]
    return out if len(out) <= MAX_FLAT else None


async def _flattened(
    ctx: AuditContext, record: SpfRecord, nodes: list[_Node], total: int
) -> tuple[str | None, list[str]]:
    """The record with its costliest includes (then a/mx) replaced by the addresses they
    authorise until at most 10 lookups remain, and what was replaced; None if impossible."""
    flattener, replaced, done = _Flattener(ctx), dict[int, list[str]](), []
    for node in sorted(nodes, key=lambda n: (-n.cost, n.term.name != "include")):
        if total <= LIMIT:
            break
        flat = node.term.name in ("include", "a", "mx")
        networks = await flattener.networks(node) if flat else None
        if networks is not None and (terms := _ip_terms(networks)) is not None:
            replaced[id(node.term)], total = terms, total - node.cost
            done.append(f"{node.label} ({node.cost} lookups) into {len(terms)} ip4:/ip6: terms")
    value = _rewrite(record, replaced)
    return (value if total <= LIMIT and len(value) <= MAX_RECORD else None), done


async def _too_many(ctx: AuditContext, walk: _Walk, nodes: list[_Node]) -> Finding:
    costs = ", ".join(f"{n.label} {n.cost}" for n in sorted(nodes, key=lambda n: -n.cost)[:4])
    detail = (
        f"{walk.count}/{LIMIT} DNS lookups{' or more' if walk.stopped else ''}: receivers return "
        f"permerror at the 11th, so SPF authorises nobody. Lookups per term: {costs}"
    )
    value, done = (None, []) if walk.stopped else await _flattened(ctx, walk.top, nodes, walk.count)
    if value is not None:
        fix = _line(ctx.name, value)
        detail += (
            f". Flattening {'; '.join(done)} brings it within the limit; copied addresses go "
            "stale when a provider changes them, so re-run this check regularly"
        )
    else:
        fix = (
            f"Remove the includes you no longer use, or replace the costliest ({costs}) by the "
            "ip4:/ip6: ranges their records list (read each with `mailward query NAME TXT`, "
            "following every include: inside it) until 10 lookups or fewer remain. Terms with "
            "macros, exists or ptr cannot be replaced by addresses: ask that provider for a "
            "narrower include."
        )
    evidence = [_tree(ctx.name, walk, nodes), *walk.txts]
    return Finding.of(TOO_MANY_LOOKUPS, detail, evidence=evidence, fix=fix)


async def _too_many_voids(ctx: AuditContext, walk: _Walk, nodes: list[_Node]) -> Finding:
    version = max((4, 6), key=lambda v: sum(v in n.void for _, n in walk.voids))
    voids = [(domain, node) for domain, node in walk.voids if version in node.void]
    names = ", ".join(f"{node.label} ({node.note})" for _, node in voids)
    whole = all(len(node.void) == 2 for _, node in voids)
    senders = "" if whole else f" for IPv{version} senders"
    detail = f"{len(voids)} void lookups{senders}, over {VOID_LIMIT}: {names}"
    fix = (
        "Remove the terms that name hosts or domains that no longer exist, and write the "
        "addresses of hosts that have only IPv4 or only IPv6 as ip4:/ip6:; for terms inside an "
        "include, ask its provider to correct its record or remove the include."
    )
    if all(domain == ctx.name for domain, _ in voids):  # remove, or replace by the addresses
        flattener, replaced = _Flattener(ctx), dict[int, list[str]]()
        for _, node in voids:
            nets = [] if len(node.void) == 2 else await flattener.networks(node)
            if nets is not None and (terms := _ip_terms(nets)) is not None:
                replaced[id(node.term)] = terms
        if len(replaced) == len(voids):
            fix = _line(ctx.name, _rewrite(walk.top, replaced))
    return Finding.of(TOO_MANY_VOIDS, detail, evidence=[_tree(ctx.name, walk, nodes)], fix=fix)


def _merged(values: list[Published]) -> str | None:
    """One record with the senders of several (none with redirect/exp; the strictest all)."""
    records = [parse(v.value) for v in values]
    if any(r.permerror or r.modifier("redirect") or r.modifier("exp") for r in records):
        return None
    terms = [m.to_text() for r in records for m in r.mechanisms if m.name != "all"]
    alls = {r.all_mechanism.qualifier for r in records if r.all_mechanism}
    return " ".join(["v=spf1", *dict.fromkeys(terms), "-all" if Qualifier.FAIL in alls else "~all"])


def _parser_findings(ctx: AuditContext, value: Published) -> list[Finding]:
    """Each of the parser's diagnostics, its fix the whole corrected record as a zone line."""
    out = []
    for finding in lint_record(value.value, "spf"):  # the fixes merged into one record
        note = f" ({NOT_UTF8})" if value.not_utf8 and "U+FFFD" in finding.detail else ""
        fix = _line(ctx.name, finding.fix) if finding.fix else None
        out.append(replace(finding, detail=finding.detail + note, fix=fix, location=None))
    return out


async def _missing(ctx: AuditContext, txt: Lookup, old: list[Published]) -> Finding:
    evidence, near = [txt.describe()], spf_values(txt, near=True)
    if near:
        detail = (
            f"{ctx.name} has a TXT record that looks like SPF but does not begin with exactly "
            f"'v=spf1 ', so receivers ignore it: {near[0].value!r}"
        )
        fix = _line(ctx.name, _corrected(near[0].value.strip().strip("\"'")))
        return Finding.of(SPF_MISSING, detail, evidence=evidence, fix=fix)
    if old:
        detail = f"{ctx.name} publishes SPF only with the obsolete SPF type, which receivers ignore"
        return Finding.of(SPF_MISSING, detail, evidence=evidence, fix=_line(ctx.name, old[0].value))
    mx = await mx_lookup(ctx)
    null = bool(mx.records) and all(r.exchange.to_text() == "." for r in mx.records)
    fix = f"{_line(ctx.name, 'v=spf1 -all')}   ; {ctx.name} neither receives nor sends mail"
    if not null:
        fix = f"{_line(ctx.name, 'v=spf1 mx ~all')}   ; add include:/ip4: for every other "
        fix += f"service that sends as {ctx.name}"
    detail = f"{ctx.name} has no TXT record beginning with v=spf1: anyone can send as it"
    return Finding.of(SPF_MISSING, detail, evidence=evidence, fix=fix)


def _record_findings(ctx: AuditContext, txt: Lookup, rr99: Lookup) -> list[Finding]:
    """The obsolete SPF type (§3.1) and TXT strings over 255 bytes (§3.3)."""
    out, old = [], spf_values(rr99)
    if old:
        fix = f"Delete the record of type SPF at {ctx.name}; the TXT record is the one read."
        fix = fix if spf_values(txt) else _line(ctx.name, old[0].value)
        detail = f"{ctx.name} has a record of type SPF (99)"
        out.append(Finding.of(SPF_RRTYPE99, detail, evidence=[rr99.describe()], fix=fix))
    for value in spf_values(txt):
        if any(n > MAX_STRING for n in value.lengths):
            detail = f"the SPF record's strings are {'+'.join(map(str, value.lengths))} bytes"
            evidence, fix = [txt.describe()], _line(ctx.name, value.value)
            out.append(Finding.of(STRING_TOO_LONG, detail, evidence=evidence, fix=fix))
    return out


async def _obsolete_type(ctx: AuditContext) -> Lookup:
    """The SPF-type (99) records, asked past ``ctx.lookup``: some servers refuse unknown types,
    and a question that can only give a warning must not report a DNS failure as an error."""
    try:
        return Lookup(ctx.name, "SPF", "ok", await ctx.resolver.query(ctx.name, "SPF"))
    except DNSError as exc:
        return Lookup(ctx.name, "SPF", "temperror", detail=exc.detail)


@check("spf")
async def spf_policy(ctx: AuditContext) -> list[Finding]:
    txt, rr99 = await asyncio.gather(ctx.lookup(ctx.name, "TXT"), _obsolete_type(ctx))
    findings = _record_findings(ctx, txt, rr99)
    values = spf_values(txt)
    if txt.failed:
        return findings
    if not values:
        return [*findings, await _missing(ctx, txt, spf_values(rr99))]
    if len(values) > 1:
        detail = f"{ctx.name} has {len(values)} SPF records: receivers return permerror"
        merged = _merged(values)
        fix = f"{_line(ctx.name, merged)}   ; in place of all {len(values)}" if merged else None
        return [*findings, Finding.of(SPF_MULTIPLE, detail, evidence=[txt.describe()], fix=fix)]
    findings += [replace(f, evidence=(txt.describe(),)) for f in _parser_findings(ctx, values[0])]
    walk = _Walk(ctx, parse(values[0].value))
    nodes = await walk.walk(ctx.name, walk.top, (ctx.name,))
    tree = _tree(ctx.name, walk, nodes)
    findings += [replace(f, evidence=(tree, *walk.txts)) for f in walk.findings.values()]
    if walk.count > LIMIT:
        findings.append(await _too_many(ctx, walk, nodes))
    if any(sum(v in n.void for _, n in walk.voids) > VOID_LIMIT for v in (4, 6)):
        findings.append(await _too_many_voids(ctx, walk, nodes))
    if not walk.failed and all(f.severity in (Severity.PASS, Severity.INFO) for f in findings):
        detail = f"{values[0].value}: {walk.count}/{LIMIT} DNS lookups, {len(walk.voids)} void"
        findings.append(Finding.of(SPF_OK, detail, evidence=[txt.describe(), *walk.txts]))
    return findings
