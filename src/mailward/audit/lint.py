"""Lint: findings for a zone file or one record, before it is published. No DNS traffic.

The zone parser (:mod:`mailward.records.zone`) reports syntax; this module adds what the records
mean, alone and together: each TXT value is read by its own parser (SPF, DMARC, DKIM, MTA-STS,
TLS-RPT, BIMI), DS and DNSKEY by :mod:`mailward.records.dnssec`, and the zone as a whole is
checked for CNAME at the apex or beside other data (RFC 1034 §3.6.2, RFC 2181 §10.1), MX/NS/SRV
at an alias or an address (RFC 2181 §10.3), two SPF or DMARC records at one name (RFC 7208
§4.5, RFC 9989 §4.10), mail records at the wrong name, and SOA timers (RFC 1912 §2.2).

Every finding carries the file position and, where the intent is clear, the whole corrected
record line in ``fix``: record-level fixes (a corrected DMARC value) are merged into the
line-level repairs (a name without spaces) so the fix is one line ready to paste.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from mailward.audit.domain import is_ip_address
from mailward.codes import Diagnostic, Severity, define
from mailward.findings import Finding
from mailward.records import _txt, bimi, dkim, dmarc, dnssec, mtasts, spf, tlsrpt, zone

CNAME_AT_APEX = define(
    "zone.cname-at-apex",
    Severity.ERROR,
    "CNAME at the zone apex",
    why="The apex must hold SOA and NS records, and a CNAME may not share its name with any "
    "other data, so resolvers behave unpredictably and mail to the domain can fail.",
    example="example.com. 3600 IN CNAME shops.example.net.",
    fix="Publish A/AAAA records at the apex instead (or your DNS host's ALIAS/flattening).",
    refs=("RFC 1912 §2.4", "RFC 2181 §10.1"),
)
CNAME_AND_OTHER_DATA = define(
    "zone.cname-and-other-data",
    Severity.ERROR,
    "CNAME shares its name with other records",
    why="A name with a CNAME may have no other data; resolvers follow the alias and never see "
    "the other records (an MX or TXT there is invisible).",
    example='www.example.com. IN CNAME example.com.\nwww.example.com. IN TXT "hello"',
    fix="Keep either the CNAME or the other records at that name, not both.",
    refs=("RFC 1034 §3.6.2", "RFC 2181 §10.1"),
)
TARGET_IS_CNAME = define(
    "zone.target-is-cname",
    Severity.ERROR,
    "MX, NS or SRV target is an alias (CNAME)",
    why="The target of MX, NS and SRV must be a name with its own address records, not an "
    "alias; some senders will not deliver to it.",
    example="example.com. IN MX 10 mail.example.com.\nmail.example.com. IN CNAME host.example.net.",
    fix="Point the MX/NS/SRV at the canonical host name (the CNAME's target).",
    refs=("RFC 2181 §10.3", "RFC 5321 §5.1"),
)
TARGET_IS_IP = define(
    "zone.target-is-ip",
    Severity.ERROR,
    "MX or NS target is an IP address",
    why="MX and NS hold a host name; an address there is read as a name like `192.0.2.1.` "
    "that does not exist, so mail is not delivered.",
    example="example.com. IN MX 10 192.0.2.1.",
    fix="Publish an A record for a host name (`mail.example.com. IN A 192.0.2.1`) and point "
    "the MX at that name.",
    refs=("RFC 1035 §3.3.9", "RFC 7505 §3"),
)
SOA_VALUES = define(
    "zone.soa-values",
    Severity.WARNING,
    "SOA timer outside the recommended range",
    why="Timers far from the usual ranges make secondaries drop the zone or keep stale data, "
    "or cache negative answers for too long.",
    example="example.com. IN SOA ns1.example.com. hostmaster.example.com. 1 60 60 3600 604800",
    fix="Use refresh 1200–43200, retry below refresh, expire 1209600–2419200 and a negative "
    "caching TTL (minimum) of 300–86400 seconds.",
    refs=("RFC 1912 §2.2", "RFC 2308 §5"),
)
OUT_OF_ZONE = define(
    "zone.out-of-zone",
    Severity.WARNING,
    "Record is outside the zone",
    why="A server ignores (or refuses) records whose owner is not at or below the zone's "
    "origin; this is usually a missing final dot or a record pasted into the wrong zone.",
    example="$ORIGIN example.com.\nmail.example.org. IN A 192.0.2.1",
    fix="Move the record to the zone it belongs to, or correct its name.",
    refs=("RFC 1034 §4.2.1",),
)
SPF_MULTIPLE = define(
    "spf.multiple-records",
    Severity.ERROR,
    "More than one SPF record at one name",
    why="With two `v=spf1` records, SPF evaluation is a permerror: receivers treat the "
    "domain as having a broken SPF policy.",
    example='example.com. IN TXT "v=spf1 mx -all"\nexample.com. IN TXT "v=spf1 include:_spf.google.com -all"',  # noqa: E501
    fix="Merge them into one record: `v=spf1 mx include:_spf.google.com -all`.",
    refs=("RFC 7208 §4.5", "RFC 7208 §3.2"),
)
SPF_RRTYPE99 = define(
    "spf.rrtype99",
    Severity.WARNING,
    "SPF published with the obsolete SPF record type",
    why="The SPF RR type (99) is no longer used; receivers read SPF from TXT only.",
    example='example.com. IN SPF "v=spf1 mx -all"',
    fix="Publish the same value as a TXT record and remove the SPF-type record.",
    refs=("RFC 7208 §3.1", "RFC 7208 §14.1"),
)
DMARC_MULTIPLE = define(
    "dmarc.multiple-records",
    Severity.ERROR,
    "More than one DMARC record at one name",
    why="When more than one DMARC record is found, receivers apply no DMARC policy at all.",
    example='_dmarc.example.com. IN TXT "v=DMARC1; p=none"\n_dmarc.example.com. IN TXT "v=DMARC1; p=reject"',  # noqa: E501
    fix="Keep exactly one `v=DMARC1` record at `_dmarc.<domain>`.",
    refs=("RFC 9989 §4.10",),
)
DMARC_WRONG_LOCATION = define(
    "dmarc.wrong-location",
    Severity.ERROR,
    "DMARC record published at the wrong name",
    why="Receivers look for DMARC only at `_dmarc.<domain>`; a record elsewhere is never read.",
    example='example.com. IN TXT "v=DMARC1; p=reject"',
    fix="Publish the record at `_dmarc.<domain>` and remove it from the other name.",
    refs=("RFC 9989 §4.10",),
)
DKIM_WRONG_LOCATION = define(
    "dkim.wrong-location",
    Severity.ERROR,
    "DKIM key published at the wrong name",
    why="Verifiers fetch a key only from `<selector>._domainkey.<domain>`; a key elsewhere "
    "makes every signature fail.",
    example='example.com. IN TXT "v=DKIM1; k=rsa; p=MIIBIjAN…"',
    fix="Publish the key at `<selector>._domainkey.<domain>` with the selector your signer uses.",
    refs=("RFC 6376 §3.6.2.1",),
)

RECORD_KINDS = (
    "spf",
    "dmarc",
    "dkim",
    "mta-sts",
    "mta-sts-policy",
    "tlsrpt",
    "bimi",
    "ds",
    "dnskey",
    "zone",
)


# Fixes that recommend a next step (a stricter policy) rather than correct a mistake: they are
# offered on top of the corrected record, never folded into it.
ADVICE = frozenset({"dmarc.policy-none", "dmarc.subdomain-policy-none"})
MAX_FIX_ROUNDS = 8


@dataclass(frozen=True)
class _Content:
    """What a record's data says, read by its own parser."""

    kind: str
    diagnostics: tuple[Diagnostic, ...]
    corrected: str | None = None  # the value with every correcting fix applied, if any


def _txt_kind(value: str) -> str | None:
    """The kind of a TXT value by its version tag (``None``: not a mail record).

    Loose on purpose: ``v=spf1-all`` is not a valid SPF record, but it is an SPF record
    written wrong, and its own parser says how to correct it.
    """
    head = value.lstrip().lower()
    for prefix, kind in (
        ("v=spf1", "spf"),
        ("v=dmarc1", "dmarc"),
        ("v=dkim1", "dkim"),
        ("v=stsv1", "mta-sts"),
        ("v=tlsrptv1", "tlsrpt"),
        ("v=bimi1", "bimi"),
    ):
        if head.startswith(prefix):
            return kind
    return None


_PARSERS: dict[str, Callable[[str], object]] = {
    "spf": spf.parse,
    "dmarc": dmarc.parse,
    "dkim": dkim.parse_key,
    "mta-sts": mtasts.parse_record,
    "mta-sts-policy": mtasts.parse_policy,
    "tlsrpt": tlsrpt.parse,
    "bimi": bimi.parse,
    "ds": dnssec.parse_ds,
    "dnskey": dnssec.parse_dnskey,
}


def _diagnostics(kind: str, text: str) -> tuple[Diagnostic, ...]:
    return tuple(getattr(_PARSERS[kind](text), "diagnostics", ()))


def _read(kind: str, text: str) -> _Content:
    """Parse ``text`` as ``kind`` and work out the value that corrects all its mistakes.

    Each parser's fix corrects one problem; applying them one after another (re-parsing in
    between) gives the record that corrects them all, so one pasted line fixes everything.
    """
    diagnostics = _diagnostics(kind, text)
    value, seen = text, {text}
    for _ in range(MAX_FIX_ROUNDS):
        current = diagnostics if value == text else _diagnostics(kind, value)
        fix = next((d.fix for d in current if d.fix and d.slug not in ADVICE), None)
        if fix is None or fix in seen:
            break
        value = fix
        seen.add(fix)
    corrected = value if value != text else None
    if corrected is not None:
        diagnostics = tuple(_with_corrected(d, kind, corrected) for d in diagnostics)
    return _Content(kind, diagnostics, corrected)


def _with_corrected(diagnostic: Diagnostic, kind: str, corrected: str) -> Diagnostic:
    """Correcting fixes become the fully corrected value; advice is applied on top of it."""
    if diagnostic.fix is None:
        return diagnostic
    if diagnostic.slug not in ADVICE:
        return replace(diagnostic, fix=corrected)
    advice = next((d.fix for d in _diagnostics(kind, corrected) if d.slug == diagnostic.slug), None)
    return replace(diagnostic, fix=advice or diagnostic.fix)


def guess_kind(text: str) -> str:
    """What a pasted text is: a bare record value of some kind, or a zone-file line."""
    value = _unquote(text)
    kind = _txt_kind(value)
    if kind:
        return kind
    lowered = value.lower()
    if "version:" in lowered and "stsv1" in lowered:
        return "mta-sts-policy"
    if value.lstrip().startswith(("k=", "p=")) and "p=" in value:
        return "dkim"
    return "zone"


def _unquote(text: str) -> str:
    """``"v=spf1 " "-all"`` → ``v=spf1 -all`` (a value pasted with its zone quoting)."""
    stripped = text.strip()
    if stripped.startswith('"') and stripped.endswith('"'):
        parsed = zone.parse(f". 0 IN TXT {stripped}")
        if parsed.records and not parsed.diagnostics:
            return parsed.records[0].txt_value()
    return stripped


def lint_record(text: str, kind: str | None = None, *, origin: str | None = None) -> list[Finding]:
    """Findings for one pasted record: a bare value (SPF, DMARC, …) or a zone-file line."""
    kind = kind or guess_kind(text)
    if kind == "zone":
        return lint_zone(text, origin=origin)
    content = _read(kind, _unquote(text) if kind not in ("ds", "dnskey") else text.strip())
    return [Finding.from_diagnostic(d) for d in content.diagnostics]


def lint_zone(text: str, *, file: str | None = None, origin: str | None = None) -> list[Finding]:
    """Findings for a zone file's text (``origin`` when the file has no ``$ORIGIN``)."""
    parsed = zone.parse(text, origin=origin)
    findings: list[Finding] = [Finding.from_diagnostic(d, file=file) for d in parsed.diagnostics]
    contents: dict[int, tuple[zone.ZoneRecord, _Content]] = {}
    for record in parsed.records:
        content = _content_of(record)
        if content is None:
            continue
        contents[id(record)] = (record, content)
        for diagnostic in content.diagnostics:
            findings.append(_placed(diagnostic, record, file))
    findings.extend(_zone_checks(parsed, file, contents.values()))
    findings = _merge_line_fixes(findings, contents.values())
    return sorted(findings, key=_order)


def _content_of(record: zone.ZoneRecord) -> _Content | None:
    if record.rdtype in ("TXT", "SPF"):
        value = record.txt_value()
        kind = _txt_kind(value)
        if kind is None and "._domainkey." in record.owner and "p=" in value:
            kind = "dkim"
        return _read(kind, value) if kind else None
    if record.rdtype in ("DS", "CDS"):
        return _read("ds", record.rdata)
    if record.rdtype in ("DNSKEY", "CDNSKEY"):
        return _read("dnskey", record.rdata)
    return None


def _placed(diagnostic: Diagnostic, record: zone.ZoneRecord, file: str | None) -> Finding:
    """A record-level diagnostic placed at its line; its column counted inside the data."""
    offset = 1 if record.rdtype in ("TXT", "SPF") else 0  # the opening quote
    column = None
    if diagnostic.column is not None and record.data_column:
        column = record.data_column + offset + diagnostic.column - 1
    if diagnostic.fix is not None:
        diagnostic = replace(diagnostic, fix=_corrected_line(record, diagnostic.fix))
    return Finding.from_diagnostic(
        diagnostic,
        file=file,
        line=record.line or None,
        column=column if column is not None else record.data_column or None,
        evidence=(record.to_text(),),
    )


def _zone_checks(
    parsed: zone.Zone, file: str | None, contents: Iterable[tuple[zone.ZoneRecord, _Content]]
) -> list[Finding]:
    found: list[Finding] = []
    by_owner: dict[str, list[zone.ZoneRecord]] = defaultdict(list)
    for record in parsed.records:
        by_owner[record.owner.lower()].append(record)
    origin = parsed.origin.lower() if parsed.origin else None
    apex = origin or next((r.owner.lower() for r in parsed.records if r.rdtype == "SOA"), None)

    def add(code_at: Diagnostic, record: zone.ZoneRecord) -> None:
        found.append(
            Finding.from_diagnostic(
                code_at, file=file, line=record.line or None, column=1, evidence=(record.to_text(),)
            )
        )

    for owner, records in by_owner.items():
        types = {r.rdtype for r in records}
        cnames = [r for r in records if r.rdtype == "CNAME"]
        if cnames and owner == apex:
            add(CNAME_AT_APEX.at(f"{owner} is the zone apex and cannot be an alias"), cnames[0])
        elif cnames and types - {"CNAME", "RRSIG", "NSEC", "NSEC3"}:
            others = ", ".join(sorted(types - {"CNAME", "RRSIG", "NSEC", "NSEC3"}))
            add(CNAME_AND_OTHER_DATA.at(f"{owner} has a CNAME and also {others}"), cnames[0])
        if apex and not _at_or_below(owner, apex):
            add(OUT_OF_ZONE.at(f"{owner} is not at or below the zone {apex}"), records[0])
    for record in parsed.records:
        if record.rdtype == "SOA":
            found.extend(_soa_findings(record, file))
        target = _target(record)
        if target is None:
            continue
        if is_ip_address(target.rstrip(".")):
            add(
                TARGET_IS_IP.at(
                    f"the {record.rdtype} target {target} is an IP address, not a host name"
                ),
                record,
            )
        elif any(r.rdtype == "CNAME" for r in by_owner.get(target.lower(), ())):
            add(
                TARGET_IS_CNAME.at(f"the {record.rdtype} target {target} is an alias (CNAME)"),
                record,
            )
    found.extend(_placement_checks(file, contents, by_owner))
    return found


def _placement_checks(
    file: str | None,
    contents: Iterable[tuple[zone.ZoneRecord, _Content]],
    by_owner: dict[str, list[zone.ZoneRecord]],
) -> list[Finding]:
    found: list[Finding] = []
    seen: dict[tuple[str, str], list[zone.ZoneRecord]] = defaultdict(list)
    for record, content in contents:
        owner = record.owner.lower()
        if content.kind in ("spf", "dmarc") and record.rdtype == "TXT":
            seen[(owner, content.kind)].append(record)
        if content.kind == "spf" and record.rdtype == "SPF":
            found.append(
                _at(
                    SPF_RRTYPE99.at(f"{record.owner} uses type SPF (99)"),
                    record,
                    file,
                    fix=f"{record.owner} {record.ttl or 3600} IN TXT {record.rdata}",
                )
            )
        if content.kind == "dmarc" and not owner.startswith("_dmarc."):
            moved = f"_dmarc.{record.owner}"
            found.append(
                _at(
                    DMARC_WRONG_LOCATION.at(
                        f"a DMARC record at {record.owner} is never read; it belongs at {moved}"
                    ),
                    record,
                    file,
                    fix=replace(record, owner=moved).to_text(),
                )
            )
        if content.kind == "dkim" and "._domainkey." not in f".{owner}":
            found.append(
                _at(
                    DKIM_WRONG_LOCATION.at(
                        f"a DKIM key at {record.owner} is never "
                        "read; it belongs at "
                        f"<selector>._domainkey.{record.owner}"
                    ),
                    record,
                    file,
                )
            )
    for (owner, kind), records in seen.items():
        if len(records) > 1:
            code = SPF_MULTIPLE if kind == "spf" else DMARC_MULTIPLE
            lines = ", ".join(str(r.line) for r in records)
            found.append(
                _at(
                    code.at(f"{owner} has {len(records)} {kind.upper()} records (lines {lines})"),
                    records[1],
                    file,
                )
            )
    return found


def _at(
    diagnostic: Diagnostic, record: zone.ZoneRecord, file: str | None, *, fix: str | None = None
) -> Finding:
    return Finding.from_diagnostic(
        replace(diagnostic, fix=fix) if fix else diagnostic,
        file=file,
        line=record.line or None,
        column=1,
        evidence=(record.to_text(),),
    )


def _soa_findings(record: zone.ZoneRecord, file: str | None) -> list[Finding]:
    fields = record.rdata.split()
    if len(fields) != 7:
        return []
    refresh, retry, expire, minimum = (int(x) for x in fields[3:])
    problems = []
    if not 1200 <= refresh <= 43200:
        problems.append(f"refresh {refresh} is outside 1200–43200")
    if retry >= refresh:
        problems.append(f"retry {retry} is not below refresh {refresh}")
    if not 1209600 <= expire <= 2419200:
        problems.append(f"expire {expire} is outside 1209600–2419200 (2–4 weeks)")
    if not 300 <= minimum <= 86400:
        problems.append(f"minimum (negative caching TTL) {minimum} is outside 300–86400")
    if not problems:
        return []
    suggested = " ".join([*fields[:3], "7200", "3600", "1209600", "3600"])
    fix = f"{record.owner} {record.ttl or 3600} IN SOA {suggested}"
    return [_at(SOA_VALUES.at("; ".join(problems)), record, file, fix=fix)]


def _target(record: zone.ZoneRecord) -> str | None:
    fields = record.rdata.split()
    index = {"MX": 1, "NS": 0, "SRV": 3}.get(record.rdtype)
    if index is None or len(fields) <= index or fields[index] == ".":
        return None
    return fields[index]


def _at_or_below(name: str, apex: str) -> bool:
    return name == apex or name.endswith("." + apex) or apex == "."


def _merge_line_fixes(
    findings: list[Finding],
    contents: Iterable[tuple[zone.ZoneRecord, _Content]],
) -> list[Finding]:
    """Where a line was repaired (a name without spaces) and its value corrected too (``rua=``
    for ``export=``), make the repair's fix the line that corrects both."""
    corrected = {
        record.to_text(): _corrected_line(record, content.corrected)
        for record, content in contents
        if content.corrected is not None
    }
    return [
        replace(finding, fix=corrected[finding.fix])
        if finding.fix is not None and finding.fix in corrected
        else finding
        for finding in findings
    ]


def _corrected_line(record: zone.ZoneRecord, value_fix: str) -> str:
    """The record line with its data replaced by a parser's corrected value."""
    rdata = _txt.to_zone_text(value_fix) if record.rdtype in ("TXT", "SPF") else value_fix
    return replace(record, rdata=rdata).to_text()


def _order(finding: Finding) -> tuple[str, int, int, int]:
    location = finding.location
    return (
        (location.file or "") if location else "",
        (location.line or 0) if location else 0,
        finding.severity.rank,
        (location.column or 0) if location else 0,
    )


def exit_status(findings: Iterable[Finding]) -> int:
    """0 when no finding is an error, 1 otherwise (2, "could not run", is the CLI's)."""
    return 1 if any(f.severity == Severity.ERROR for f in findings) else 0
