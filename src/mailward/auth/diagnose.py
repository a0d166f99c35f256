"""Why a message passed or failed, in plain words: the diagnosis of ``mailward verify``.

:func:`diagnose` reads a :class:`~mailward.auth.verify.Verification` and returns one
:class:`Diagnosis` per case it recognises, most important first:

- ``several-from`` / ``no-from-domain`` / ``unreadable``: DMARC cannot name one author
  (RFC 9989 §4.4: never a pass);
- ``forwarded-without-srs``: SPF fails (or soft-fails) for the client IP, which is not the
  origin's — an older Received hop passes the sender's SPF, or the message crossed several
  hops. DMARC then rests on the origin's DKIM signature alone (RFC 7208 §9.1 and RFC 9989
  §4.6 on forwarding); the fixes are SRS on the forwarder (SPF *pass* again, but for the
  forwarder's domain, so not *aligned*: DMARC still depends on DKIM), DKIM at the origin, and
  ARC (RFC 8617), which helps only with receivers that trust the sealer;
- ``forwarded-with-srs``: the MAIL FROM is an SRS address: SPF is the forwarder's, never
  aligned;
- ``body-modified``: a body hash mismatch (RFC 6376 §6.1.3), e.g. a list footer;
- ``headers-modified``: a signed header field changed (e.g. a list's ``[tag]`` in Subject);
- ``unaligned-signature``: DKIM passes for a domain that is not aligned with From (an ESP's
  own ``d=``), so it does not count for DMARC; ``unaligned-spf`` likewise for SPF;
- ``forged-results``: Authentication-Results fields claiming to be ours were removed;
- ``dmarc-pass`` / ``no-policy`` / ``dmarc-fail`` / ``dns-failure``: the outcome itself when
  nothing more specific explains it.

Everything shown from the message goes through :func:`mailward.auth.results.printable`.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailward.auth.dmarc import DmarcResult
from mailward.auth.results import printable

if TYPE_CHECKING:
    from mailward.auth.dkim import SignatureResult
    from mailward.auth.verify import Verification

__all__ = ["Diagnosis", "diagnose"]

_SPF_FAILED = ("fail", "softfail")
_BODY_HASH = "body hash did not verify"
_HEADER_SIG = "signature did not verify"
_LIST_TAG = re.compile(r"\A\s*(?:(?:re|fwd?|aw)\s*:\s*)*(\[[^\]]{1,64}\])", re.IGNORECASE)


@dataclass(frozen=True)
class Diagnosis:
    """One recognised case: a stable ``slug``, a one-line ``summary``, what happened
    (``explanation``) and what to do (``fixes``)."""

    slug: str
    summary: str
    explanation: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()


def diagnose(v: Verification) -> tuple[Diagnosis, ...]:
    """The cases :mod:`mailward.auth.diagnose` recognises in ``v``, most important first."""
    found: list[Diagnosis] = []
    if v.error is not None:
        return (
            Diagnosis(
                "unreadable",
                "The message cannot be read, so it cannot be authenticated.",
                (printable(v.error),),
                ("Treat it as unauthenticated; a real mail server would refuse such a message.",),
            ),
        )
    found += _authors(v)
    found += _forwarding(v)
    found += _modified(v)
    found += _unaligned(v)
    if v.forged_results:
        found.append(
            Diagnosis(
                "forged-results",
                f"{len(v.forged_results)} Authentication-Results field(s) claiming to come "
                "from this receiver were already in the message: forged or stale, ignored.",
                tuple(f"removed: {value}" for value in v.forged_results[:5]),
                (
                    "Nothing to fix at the sender; a receiver removes such fields before "
                    "delivery (RFC 8601 §5).",
                ),
            )
        )
    found.append(_outcome(v, specific=bool(found)))
    return tuple(found)


def _authors(v: Verification) -> list[Diagnosis]:
    distinct = {d.lower().rstrip(".") for d in v.from_domains}
    if v.from_fields > 1 or len(distinct) > 1:
        shown = ", ".join(printable(d, 80) or "(none)" for d in v.from_domains[:4])
        return [
            Diagnosis(
                "several-from",
                "The message names several authors (several From fields or addresses), so "
                "DMARC gives an error, never a pass.",
                (
                    f"From fields: {v.from_fields}; From domains: {shown}.",
                    "An attacker adds a second From to show one address to the reader while "
                    "a filter authenticates the other; RFC 9989 therefore never passes it.",
                ),
                ("Send one From field with one address.",),
            )
        ]
    if v.from_fields == 0 or distinct <= {""}:
        return [
            Diagnosis(
                "no-from-domain",
                "The message has no From address with a domain, so DMARC cannot judge it.",
                fixes=("Every message needs one From field with an address at a domain.",),
            )
        ]
    return []


def _aligned_pass(v: Verification) -> bool:
    return v.dmarc.dkim_aligned


def _origin_signed(v: Verification) -> bool:
    """An aligned DKIM signature is present (whatever its result)."""
    return any(c.aligned for c in v.dmarc.dkim)


def _forwarding(v: Verification) -> list[Diagnosis]:
    spf = v.spf
    if spf is None:
        return []
    local = (v.mail_from or "").partition("@")[0].upper()
    if local.startswith(("SRS0=", "SRS1=")) and spf.result == "pass" and not v.dmarc.spf_aligned:
        return [
            Diagnosis(
                "forwarded-with-srs",
                f"The message was forwarded with SRS: SPF passes for the forwarder's domain "
                f"{printable(spf.domain, 80)}, which is not aligned with From.",
                (
                    "SRS makes SPF pass again after forwarding, but for the forwarder's "
                    "domain; DMARC can only pass through the origin's DKIM signature.",
                    "DKIM: "
                    + ("an aligned signature passed." if _aligned_pass(v) else "no aligned pass."),
                ),
                _dkim_fixes(v),
            )
        ]
    if spf.result not in _SPF_FAILED:
        return []
    origin = v.origin_hop
    forwarded = origin is not None or len(v.hops) >= 2
    if not forwarded:
        return []
    where = (
        f"an earlier hop, {origin.ip} ({printable(origin.helo or '?', 80)}), passes the SPF "
        f"of {printable(spf.domain, 80)}: that is where the origin sent it from"
        if origin is not None
        else f"the message crossed {len(v.hops)} servers (Received fields)"
    )
    what = (
        f"SPF {spf.result}s for {v.ip}, which {printable(spf.domain, 80)} does not "
        f"authorise; {where}. A forwarder passed it on without rewriting the envelope "
        "sender (no SRS), so the receiver checked the origin's SPF against the forwarder's IP."
    )
    prefix = "Forwarded" if origin is not None else "Probably forwarded"
    if _aligned_pass(v):
        summary = (
            f"{prefix} without SRS: SPF fails at the forwarder, but the origin's DKIM "
            "signature survived, so DMARC still passes."
        )
        then = "DMARC passes on DKIM alone; any change in transit would make it fail."
    else:
        signed = _origin_signed(v)
        summary = (
            f"{prefix} without SRS: SPF fails at the forwarder and "
            + (
                "the origin's DKIM signature broke in transit"
                if signed
                else "the origin does not sign with DKIM"
            )
            + ", so DMARC fails."
        )
        then = (
            "With no aligned DKIM pass, nothing is left for DMARC: the origin's policy "
            f"({v.dmarc.requested or 'none'}) applies to a legitimate message."
        )
    fixes = (
        "On the forwarder: rewrite the envelope sender with SRS (mailward srs, postsrsd). "
        "SPF then passes again — but for the forwarder's domain, which is not aligned with "
        "From, so DMARC still depends on the origin's DKIM signature surviving.",
        "At the origin: sign every message with DKIM for the From domain (mailward dkim "
        "keygen); that is what carries DMARC across forwarding.",
        "ARC (RFC 8617) on the forwarder helps only with receivers that trust it as a sealer.",
        "Where you control both, add the forwarder's addresses to the origin's SPF record.",
    )
    explanation = [what, then]
    if v.arc_sets:
        explanation.append(
            f"The message carries {v.arc_sets} ARC set(s): a receiver that trusts the sealer "
            "may accept it on the ARC chain despite the DMARC result; others will not."
        )
    return [Diagnosis("forwarded-without-srs", summary, tuple(explanation), fixes)]


def _dkim_fixes(v: Verification) -> tuple[str, ...]:
    if _aligned_pass(v):
        return ("Nothing to fix: keep the origin's DKIM signature intact in transit.",)
    return (
        "At the origin: sign with DKIM for the From domain; the forwarder must not change "
        "the signed headers or the body.",
        "ARC (RFC 8617) on the forwarder helps only with receivers that trust it as a sealer.",
    )


def _failed(v: Verification, reason: str) -> list[SignatureResult]:
    return [
        s for s in v.dkim.signatures if s.result.value == "fail" and s.reason.startswith(reason)
    ]


def _modified(v: Verification) -> list[Diagnosis]:
    out = []
    listed = v.list_id is not None
    body = _failed(v, _BODY_HASH)
    if body:
        who = ", ".join(sorted({printable(s.domain, 80) for s in body}))
        cause = (
            f"It went through a mailing list ({printable(v.list_id or '', 80)}), which "
            "typically adds a footer or rewrites the MIME structure."
            if listed
            else "Something in transit changed it: a list footer, a disclaimer, an antivirus "
            "note, or a re-encoding."
        )
        out.append(
            Diagnosis(
                "body-modified",
                f"The body was changed after signing: the DKIM body hash of {who} does not match.",
                (cause,),
                (
                    "The list or relay should not modify the body, or it should rewrite From "
                    "to its own address and sign for it (the usual DMARC mitigation of lists), "
                    "and ARC-seal what it received.",
                    "Do not use l= to survive footers: it lets anyone append content.",
                ),
            )
        )
    headers = _failed(v, _HEADER_SIG)
    if headers:
        who = ", ".join(sorted({printable(s.domain, 80) for s in headers}))
        tag = _list_tag(v.subject)
        cause = (
            f"The Subject carries the list tag {printable(tag, 80)}: the list rewrote a "
            "signed header field."
            if tag
            else "A signed header field (Subject, From, To, Date...) was rewritten or added "
            "in transit."
        )
        out.append(
            Diagnosis(
                "headers-modified",
                f"A signed header field was changed after signing: the DKIM signature of "
                f"{who} does not verify.",
                (cause,),
                (
                    "The list should not tag the Subject (or should rewrite From to its own "
                    "address and sign for it), and ARC-seal what it received.",
                ),
            )
        )
    return out


def _list_tag(subject: str) -> str | None:
    """The ``[tag]`` a mailing list puts at the start of Subject (after Re:/Fwd:), if any."""
    match = _LIST_TAG.match(subject[:512])
    return match.group(1) if match else None


def _unaligned(v: Verification) -> list[Diagnosis]:
    out = []
    author = printable(v.dmarc.author_domain or "", 80)
    if not _aligned_pass(v) and v.dmarc.author_domain:
        foreign = [c for c in v.dmarc.dkim if c.outcome.result == "pass" and c.aligned is False]
        if foreign:
            who = ", ".join(sorted({printable(c.outcome.domain, 80) for c in foreign}))
            out.append(
                Diagnosis(
                    "unaligned-signature",
                    f"DKIM passes, but for {who}, not for {author}: the signature does not "
                    "count for DMARC.",
                    (
                        "This is what an email service provider does when it signs with its "
                        f"own domain: DKIM is valid, yet {author} is not the signer "
                        f"({_mode(str(foreign[0].mode))} alignment).",
                    ),
                    (
                        f"Set up DKIM for {author} at the provider (usually CNAME records at "
                        f"selector._domainkey.{author}), so that it signs with d={author}.",
                    ),
                )
            )
    spf = v.dmarc.spf
    if (
        spf is not None
        and spf.outcome.result == "pass"
        and spf.aligned is False
        and not v.dmarc.spf_aligned
        and v.dmarc.result is not DmarcResult.PASS
        and not (v.mail_from or "").upper().startswith(("SRS0=", "SRS1="))
    ):
        out.append(
            Diagnosis(
                "unaligned-spf",
                f"SPF passes, but for {printable(spf.outcome.domain, 80)}, not for {author}: "
                "it does not count for DMARC.",
                (
                    "The envelope sender (bounce address) is another domain, typically a "
                    "provider's.",
                ),
                (
                    f"Use a custom bounce (Return-Path) domain under {author} at the provider, "
                    f"or sign with DKIM for {author}.",
                ),
            )
        )
    return out


def _mode(mode: str) -> str:
    return "strict" if mode == "s" else "relaxed"


def _outcome(v: Verification, *, specific: bool) -> Diagnosis:
    d = v.dmarc
    policy = f" Policy: {d.disposition}." if d.disposition is not None else ""
    if d.result is DmarcResult.PASS:
        return Diagnosis("dmarc-pass", d.reason, d.details)
    if d.result is DmarcResult.NONE:
        return Diagnosis(
            "no-policy",
            d.reason,
            d.details,
            (
                f"Publish a DMARC record at _dmarc.{printable(d.author_domain or '', 80)}, "
                "starting with p=none and a rua= address to collect reports.",
            ),
        )
    if d.result is DmarcResult.TEMPERROR:
        return Diagnosis("dns-failure", d.reason, d.details, ("Try again later.",))
    if d.result is DmarcResult.FAIL:
        fixes = (
            ()
            if specific
            else (
                "Send through servers the SPF record of the envelope domain lists, and sign with "
                "DKIM for the From domain.",
            )
        )
        return Diagnosis("dmarc-fail", d.reason + policy, d.details, fixes)
    return Diagnosis("dmarc-error", d.reason + policy, d.details)
