"""NAME
    mailward verify - judge one message: SPF, DKIM, DMARC, and why, in plain words

SUMMARY
    mailward verify [MESSAGE|-] [--ip IP] [--helo NAME] [--mail-from ADDR]
                    [--authserv-id NAME] [--format text|json] [DNS OPTIONS]

DESCRIPTION
    Checks the message as the receiving server would: SPF for the envelope sender (and the
    HELO name), every DKIM signature, DMARC for the From domain. Prints each result with its
    evidence, the DMARC verdict and the policy to apply, the Authentication-Results field a
    receiver would add, and a diagnosis: forwarding without SRS, a body or header changed by a
    mailing list, a signature by a domain not aligned with From, several From fields...
    When --ip, --helo or --mail-from is absent it is taken from the topmost Received field
    (``from HELO (host [IP])``) or the Return-Path field, and the output says so. With
    --zone FILE the DNS answers come from zone files (offline).

SECURITY
    The message is hostile: at most 64 MiB is read, the header block is bounded (1 MiB, 1000
    fields), and everything printed from it is reduced to printable ASCII.

EXIT STATUS
    0 DMARC passes; 1 DMARC fails, gives an error, or no policy applies; 2 could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from mailward.auth.results import printable
from mailward.auth.verify import Verification, verify_message
from mailward.cli._dnsopts import add_dns_options, resolver_from_args
from mailward.cli.dkim import _read_message

DEFAULT_AUTHSERV_ID = "mailward.invalid"


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "verify",
        help="judge one message (SPF, DKIM, DMARC) and explain the outcome",
        description="Judge one message as a receiver would, and say why it passed or failed.",
        epilog="Exit status: 0 DMARC pass, 1 fail/none/error, 2 could not run.",
    )
    parser.add_argument("message", nargs="?", default="-", help="message file (default stdin)")
    parser.add_argument("--ip", help="the SMTP client's IP (default: topmost Received)")
    parser.add_argument("--helo", help="the HELO/EHLO name (default: topmost Received)")
    parser.add_argument(
        "--mail-from", metavar="ADDR", help="the envelope sender (default: Return-Path)"
    )
    parser.add_argument(
        "--authserv-id",
        default=DEFAULT_AUTHSERV_ID,
        metavar="NAME",
        help=f"the receiver's name in Authentication-Results (default {DEFAULT_AUTHSERV_ID})",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--now", type=int, help=argparse.SUPPRESS)
    add_dns_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data = _read_message(args.message)
    resolver = resolver_from_args(args)

    async def judge() -> Verification:
        try:
            return await verify_message(
                data,
                ip=args.ip,
                helo=args.helo,
                mail_from=args.mail_from,
                resolver=resolver,
                authserv_id=args.authserv_id,
                now=args.now,
            )
        finally:
            await resolver.aclose()

    outcome = asyncio.run(judge())
    if args.format == "json":
        print(json.dumps(as_json(outcome), indent=2))
    else:
        print(as_text(outcome))
    return 0 if outcome.passed else 1


def as_json(v: Verification) -> dict[str, Any]:
    spf = v.spf
    d = v.dmarc
    return {
        "error": v.error,
        "envelope": {"ip": v.ip, "helo": _p(v.helo), "mail_from": _p(v.mail_from)},
        "notes": list(v.notes),
        "spf": None
        if spf is None
        else {
            "result": str(spf.result),
            "domain": _p(spf.domain),
            "reason": spf.reason,
            "mechanism": spf.mechanism,
            "record": spf.record,
            "trail": list(spf.trail),
            "lookups": spf.lookups,
        },
        "spf_helo": None
        if v.helo_spf is None
        else {"result": str(v.helo_spf.result), "domain": _p(v.helo_spf.domain)},
        "dkim": [
            {
                "result": s.result.value,
                "domain": _p(s.domain),
                "selector": _p(s.selector),
                "algorithm": s.algorithm,
                "reason": s.reason,
                "key_bits": s.key_bits,
                "aligned": next((c.aligned for c in d.dkim if c.outcome.domain == s.domain), None),
                "warnings": list(s.warnings),
            }
            for s in v.dkim.signatures
        ],
        "dmarc": {
            "result": str(d.result),
            "author_domain": d.author_domain,
            "from_domains": [_p(x) for x in v.from_domains],
            "policy_domain": d.policy_domain,
            "requested": str(d.requested) if d.requested is not None else None,
            "disposition": str(d.disposition) if d.disposition is not None else None,
            "testing": d.testing,
            "spf_aligned": d.spf_aligned,
            "dkim_aligned": d.dkim_aligned,
            "reason": d.reason,
            "details": list(d.details),
            "evidence": list(d.evidence),
        },
        "received": [{"helo": _p(h.helo), "ip": h.ip} for h in v.hops],
        "origin_hop": None
        if v.origin_hop is None
        else {"index": v.origin_hop.index, "ip": v.origin_hop.ip, "helo": _p(v.origin_hop.helo)},
        "forged_results": list(v.forged_results),
        "arc_sets": v.arc_sets,
        "arc": None
        if v.arc is None
        else {
            "result": v.arc.result,
            "instances": v.arc.instances,
            "oldest_pass": v.arc.oldest_pass,
            "failed_instance": v.arc.failed_instance,
            "reason": v.arc.reason,
        },
        "authentication_results": v.authentication_results.to_header(fold=False),
        "diagnosis": [
            {
                "slug": x.slug,
                "summary": x.summary,
                "explanation": list(x.explanation),
                "fixes": list(x.fixes),
            }
            for x in v.diagnosis
        ],
    }


def _p(text: str | None) -> str | None:
    return None if text is None else printable(text, 300)


def as_text(v: Verification) -> str:
    lines: list[str] = []
    if v.error is not None:
        lines.append(f"message: cannot be read ({v.error})")
    else:
        lines.append(
            f"envelope: ip={v.ip or '?'} helo={_p(v.helo) or '?'} "
            f"mail-from=<{_p(v.mail_from) if v.mail_from is not None else '?'}>"
        )
    lines += [f"  note: {n}" for n in v.notes]
    if v.spf is not None:
        s = v.spf
        lines.append(f"spf={s.result} (domain {_p(s.domain)}): {s.reason}")
        if s.record:
            lines.append(f"  decided by {s.mechanism or '(default)'} in the record of {s.record}")
        lines += [f"  via {step}" for step in s.trail[:10]]
    elif v.error is None:
        lines.append("spf: not checked")
    if v.helo_spf is not None:
        lines.append(f"spf helo={v.helo_spf.result} (domain {_p(v.helo_spf.domain)})")
    if v.dkim.error is not None:
        lines.append(f"dkim=permerror ({v.dkim.error})")
    elif not v.dkim.signatures and v.error is None:
        lines.append("dkim=none (the message has no DKIM-Signature)")
    for sig in v.dkim.signatures:
        who = f" d={_p(sig.domain)} s={_p(sig.selector)} a={sig.algorithm}" if sig.domain else ""
        bits = f" ({sig.key_bits}-bit key)" if sig.key_bits else ""
        lines.append(f"dkim={sig.result.value}{who}{bits}: {sig.reason}")
        lines += [f"  warning: {w}" for w in sig.warnings]
    if v.arc is not None and v.arc.result != "none":
        oldest = f" oldest-pass={v.arc.oldest_pass}" if v.arc.result == "pass" else ""
        lines.append(f"arc={v.arc.result} ({v.arc.instances} sets){oldest}: {v.arc.reason}")
    d = v.dmarc
    policy = f" policy={d.disposition}" if d.disposition is not None else ""
    where = f" (record _dmarc.{d.policy_domain})" if d.policy_domain else ""
    lines.append(f"dmarc={d.result}{policy}{where}: {d.reason}")
    lines += [f"  {detail}" for detail in d.details]
    lines.append("")
    lines.append(v.authentication_results.to_header().replace("\r\n", "\n"))
    lines.append("")
    lines.append("diagnosis:")
    for x in v.diagnosis:
        lines.append(f"  [{x.slug}] {x.summary}")
        lines += [f"    {e}" for e in x.explanation]
        lines += [f"    fix: {f}" for f in x.fixes]
    return "\n".join(lines)
