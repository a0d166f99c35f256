"""ARC: validate the Authenticated Received Chain of a message, and seal it for a forwarder.

RFC 8617 §4.1 (the ARC Set: ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal, one
of each per instance ``i=1..50``), §4.2 (instances), §4.4 (chain validation status ``cv=``:
``none`` at i=1, ``pass`` after), §5.1 (sealing: the AMS is a DKIM signature without ``v=``
and with ``i=`` the instance; the AS signs, relaxed, every set in instance order with its own
``b=`` empty, §5.1.1), §5.1.2 (a failed chain is sealed ``cv=fail`` over the new set alone,
and nothing is added after it), §5.2 (validation: steps 1-7, oldest-pass), §10.1 (the
``arc=`` Authentication-Results method). DKIM machinery (key lookup, key checks, header
selection and canonicalization, RSA and Ed25519) is :mod:`mailward.auth.dkim`'s.

:func:`validate` returns a :class:`ChainResult`: ``none`` (no ARC header), ``pass``, ``fail``
(with the instance at fault and why) or ``temperror`` (a key lookup failed for now: never
``fail``), and ``oldest_pass`` (§5.2 step 5: the lowest instance whose AMS and every later one
verify; 0 when all of them do). :func:`seal` adds the next set for a forwarder given the
chain result, its own Authentication-Results and a :class:`~mailward.auth.dkim.SigningKey`.
RSA keys are the interoperable choice: ``ed25519-sha256`` sets are validated and sealed here,
but other implementations (dkimpy) accept only ``rsa-sha256`` in ARC.

SECURITY: ARC header fields are hostile (anyone can add them). The message splitter bounds
the header block; at most :data:`MAX_INSTANCES` sets (150 fields) are read, every field is
parsed by the never-raising tag-list parser, and a chain with any structural fault fails
before any key lookup. Keys are fetched once per name; at most two public-key operations
per instance.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import rsa

from mailward.auth import _canon
from mailward.auth import results as ar
from mailward.auth.dkim import (
    DEFAULT_HEADERS,
    PREHASHED,
    RSA_PADDING,
    KeyOutcome,
    Result,
    SigningKey,
    Verification,
    fetch_key,
    fold_signature,
    load_key,
    select_fields,
    usable_key,
)
from mailward.auth.message import HeaderField, Message, MessageError, parse_message
from mailward.codes import Diagnostic, Severity, define
from mailward.dns.resolver import Resolver
from mailward.records._taglist import parse_taglist
from mailward.records.dkim import ALGORITHMS, DkimSignature, signature_tags

MAX_INSTANCES = 50
SEAL = b"arc-seal"
SIGNATURE = b"arc-message-signature"
RESULTS = b"arc-authentication-results"
ARC_FIELDS = (RESULTS, SIGNATURE, SEAL)  # the order within a set (§5.1.1)
# Never signed by the AMS: the ARC fields (§4.1.2) and A-R, which the next hop may strip.
_UNSIGNABLE = frozenset({"arc-seal", "arc-message-signature", "arc-authentication-results",
                         "authentication-results"})  # fmt: skip
SEAL_HEADERS = (*DEFAULT_HEADERS, "dkim-signature")
_B64_WSP = re.compile(r"\s+")
_DOMAIN = re.compile(r"[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*\.?\Z")

SYNTAX = define(
    "arc.syntax",
    Severity.ERROR,
    "ARC header field is malformed",
    why="A validator fails the whole ARC chain when one of its header fields cannot be read.",
    example="ARC-Seal: i=0; a=rsa-sha256; cv=maybe; d=example.com; s=arc; b=…",
    fix="Fix the forwarder's ARC sealing configuration so it writes every required tag "
    "with a valid value (i=1..50, cv=none|pass|fail, a=, d=, s=, b=).",
    refs=("RFC 8617 §4.1", "RFC 8617 §4.2", "RFC 8617 §4.4"),
)


def _instance(value: str | None) -> tuple[int | None, str]:
    """``i=`` as an instance 1..50, or ``None`` and why not."""
    if value is None:
        return None, "the required tag i= is missing"
    if not re.fullmatch(r"[0-9]{1,2}", value.strip()) or not 1 <= int(value) <= MAX_INSTANCES:
        return None, f"i={ar.printable(value, 20)} is not an instance from 1 to {MAX_INSTANCES}"
    return int(value), ""


def _b64(value: str) -> bytes | None:
    try:
        return base64.b64decode(_B64_WSP.sub("", value), validate=True)
    except ValueError:
        return None


@dataclass(frozen=True)
class ArcResults:
    """An ARC-Authentication-Results value: the instance and the results it copies."""

    instance: int | None
    results: ar.AuthenticationResults
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class ArcSeal:
    """An ARC-Seal value. ``signature`` is base64 without whitespace."""

    instance: int | None
    cv: str
    algorithm: str
    domain: str
    selector: str
    signature: str
    timestamp: int | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    def as_dkim(self) -> DkimSignature:
        """The fields DKIM's key checks look at (algorithm, domain, selector)."""
        return DkimSignature(self.domain, self.selector, (), self.algorithm, "", self.signature)


@dataclass(frozen=True)
class ArcMessageSignature:
    """An ARC-Message-Signature value: a DKIM signature (``identity`` unused) and its instance."""

    instance: int | None
    signature: DkimSignature
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)


def _errors(diagnostics: Sequence[Diagnostic]) -> list[str]:
    """The error messages, masked and cut (they quote hostile text)."""
    return [ar.printable(d.message, 120) for d in diagnostics if d.severity is Severity.ERROR]


def parse_results(text: str) -> ArcResults:
    """Parse an ARC-Authentication-Results value (``i=N; authserv-id; results``); never raises."""
    head, _, rest = text.partition(";")
    name, equals, value = head.partition("=")
    problems: list[Diagnostic] = []
    instance, why = _instance(value if equals and name.strip() == "i" else None)
    if why:
        problems.append(SYNTAX.at(why, column=1, tag="i"))
    parsed = ar.parse(rest)
    if parsed.authserv_id is None:
        problems.append(SYNTAX.at("no authserv-id after i=", column=len(head) + 2))
    return ArcResults(instance, parsed, tuple(problems))


def _common(text: str, required: Sequence[str]) -> tuple[dict[str, str], list[Diagnostic]]:
    """Tag values (the first of each name) and the problems common to AMS and AS."""
    taglist = parse_taglist(text, syntax=SYNTAX, unfold=True)
    problems = list(taglist.diagnostics)
    tags: dict[str, str] = {}
    for tag in taglist.tags:
        tags.setdefault(tag.name, tag.value)
    for name in required:
        if name not in tags:
            problems.append(SYNTAX.at(f"the required tag {name}= is missing", tag=name))
    algorithm = tags.get("a", "").lower()
    if "a" in tags and algorithm not in ALGORITHMS[:2]:
        problems.append(SYNTAX.at(f"a={ar.printable(algorithm, 40)} is not usable", tag="a"))
    for name in ("d", "s"):
        if name in tags and not _DOMAIN.match(tags[name]):
            problems.append(SYNTAX.at(f"{name}= is not a domain name", tag=name))
    if "b" in tags and not _b64(tags["b"]):
        problems.append(SYNTAX.at("b= is empty or not base64", tag="b"))
    if "t" in tags and not re.fullmatch(r"[0-9]{1,12}", tags["t"]):
        problems.append(SYNTAX.at("t= is not a number of at most 12 digits", tag="t"))
    return tags, problems


def parse_seal(text: str) -> ArcSeal:
    """Parse an ARC-Seal value; never raises. ``h=`` is not allowed in a seal (§4.1.3)."""
    tags, problems = _common(text, ("i", "a", "b", "cv", "d", "s"))
    instance, why = _instance(tags.get("i"))
    if why and "i" in tags:
        problems.append(SYNTAX.at(why, tag="i"))
    cv = tags.get("cv", "").lower()
    if "cv" in tags and cv not in ("none", "pass", "fail"):
        problems.append(SYNTAX.at(f"cv={ar.printable(cv, 20)} is not none, pass or fail", tag="cv"))
    if "h" in tags:
        problems.append(SYNTAX.at("h= is not allowed in an ARC-Seal", tag="h"))
    stamp = tags.get("t", "")
    return ArcSeal(
        instance,
        cv,
        tags.get("a", "").lower(),
        tags.get("d", ""),
        tags.get("s", ""),
        _B64_WSP.sub("", tags.get("b", "")),
        int(stamp) if re.fullmatch(r"[0-9]{1,12}", stamp) else None,
        tuple(problems),
    )


def parse_message_signature(text: str) -> ArcMessageSignature:
    """Parse an ARC-Message-Signature value; never raises."""
    tags, problems = _common(text, ("i", "a", "b", "bh", "d", "h", "s"))
    instance, why = _instance(tags.get("i"))
    if why and "i" in tags:
        problems.append(SYNTAX.at(why, tag="i"))
    canon = tags.get("c", "simple/simple").lower()
    canon = canon if "/" in canon else canon + "/simple"
    if not re.fullmatch(r"(simple|relaxed)/(simple|relaxed)", canon):
        problems.append(SYNTAX.at("c= is not simple or relaxed (header/body)", tag="c"))
    headers = tuple(_B64_WSP.sub("", tags.get("h", "")).split(":")) if "h" in tags else ()
    if "h" in tags and not all(headers):
        problems.append(SYNTAX.at("h= has an empty header field name", tag="h"))
    if any(name.lower() == "arc-seal" for name in headers):
        problems.append(SYNTAX.at("h= must not include ARC-Seal", tag="h"))
    if "bh" in tags and _b64(tags["bh"]) is None:
        problems.append(SYNTAX.at("bh= is not base64", tag="bh"))
    signature = DkimSignature(
        domain=tags.get("d", ""),
        selector=tags.get("s", ""),
        headers=headers,
        algorithm=tags.get("a", "").lower(),
        body_hash=_B64_WSP.sub("", tags.get("bh", "")),
        signature=_B64_WSP.sub("", tags.get("b", "")),
        canonicalization=canon,
        tags=signature_tags(text),
    )
    return ArcMessageSignature(instance, signature, tuple(problems))


# --- validating ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArcSet:
    """One instance: its three fields as found, and what they say."""

    instance: int
    results: HeaderField
    signature: HeaderField
    seal: HeaderField
    parsed_results: ArcResults
    parsed_signature: ArcMessageSignature
    parsed_seal: ArcSeal


@dataclass(frozen=True)
class ChainResult:
    """The verdict on a message's ARC chain (RFC 8617 §5.2), with the evidence.

    ``result``: ``none``, ``pass``, ``fail`` or ``temperror``; ``instances``: the number of
    sets found (N); ``failed_instance``: the instance at fault when the chain fails;
    ``oldest_pass``: §5.2 step 5 (0: every AMS verifies; ``None``: not determined);
    ``sets``: the well-formed sets in instance order (empty when the structure is broken).
    """

    result: str
    reason: str
    instances: int = 0
    failed_instance: int | None = None
    oldest_pass: int | None = None
    sets: tuple[ArcSet, ...] = ()
    sealed_fail: bool = False  # the latest seal already says cv=fail: nothing may follow

    def to_result(self, *, remote_ip: str | None = None) -> ar.MethodResult:
        """The ``arc=`` result for Authentication-Results (RFC 8617 §10.1)."""
        oldest = self.oldest_pass if self.result == "pass" else None
        return ar.arc(self.result, oldest_pass=oldest, remote_ip=remote_ip, comment=self.reason)


def _structure(fields: Sequence[HeaderField]) -> tuple[list[ArcSet], ChainResult | None]:
    """The sets 1..N, or the failure of §5.2 steps 2-3 (missing, duplicate, malformed)."""
    if len(fields) > 3 * MAX_INSTANCES:
        return [], ChainResult("fail", f"{len(fields)} ARC header fields: more than 50 sets")
    found: dict[tuple[bytes, int], tuple[HeaderField, object]] = {}
    top = 0
    for header_field in fields:
        text = header_field.value.decode("latin-1")
        parsed: ArcResults | ArcMessageSignature | ArcSeal
        if header_field.key == RESULTS:
            parsed = parse_results(text)
        elif header_field.key == SIGNATURE:
            parsed = parse_message_signature(text)
        else:
            parsed = parse_seal(text)
        name = header_field.name.decode("latin-1")
        errors = _errors(parsed.diagnostics)
        if parsed.instance is None:
            reason = f"an {name} field has no valid instance: {errors[0] if errors else ''}"
            return [], ChainResult("fail", reason.rstrip(": "))
        if errors:
            reason = f"{name} i={parsed.instance} is malformed: {errors[0]}"
            return [], ChainResult("fail", reason, failed_instance=parsed.instance)
        if (header_field.key, parsed.instance) in found:
            reason = f"two {name} fields with i={parsed.instance}"
            return [], ChainResult("fail", reason, failed_instance=parsed.instance)
        found[(header_field.key, parsed.instance)] = (header_field, parsed)
        top = max(top, parsed.instance)
    sets: list[ArcSet] = []
    for instance in range(1, top + 1):
        missing = [key for key in ARC_FIELDS if (key, instance) not in found]
        if missing:
            names = ", ".join(key.decode() for key in missing)
            reason = f"the set i={instance} of {top} lacks {names}"
            return [], ChainResult("fail", reason, top, failed_instance=instance)
        aar, ams, seal = (found[(key, instance)] for key in ARC_FIELDS)
        assert isinstance(aar[1], ArcResults) and isinstance(ams[1], ArcMessageSignature)
        assert isinstance(seal[1], ArcSeal)
        sets.append(ArcSet(instance, aar[0], ams[0], seal[0], aar[1], ams[1], seal[1]))
    return sets, None


def _blank_b(raw: bytes) -> tuple[bytes, bytes]:
    """``(name, value)`` of a header field with its ``b=`` value deleted (RFC 6376 §3.7)."""
    name, _, value = raw[:-2].partition(b":")
    for tag in signature_tags(value.decode("latin-1")):
        if tag.name == "b":
            return name, value[: tag.value_start] + value[tag.value_end :]
    return name, value


def _seal_digest(sets: Sequence[HeaderField], seal: HeaderField | bytes) -> bytes:
    """§5.1.1: the given ARC fields relaxed, in order, then ``seal`` without ``b=`` or CRLF."""
    digest = hashlib.sha256()
    for header_field in sets:
        digest.update(_canon.header(header_field.raw, "relaxed"))
    raw = seal.raw if isinstance(seal, HeaderField) else seal
    digest.update(_canon.relaxed_header(*_blank_b(raw)))
    return digest.digest()


def _check_seal(seal: ArcSeal, digest: bytes, key: KeyOutcome) -> tuple[Result, str]:
    if key.error is not None:
        return key.error, key.reason
    sig = seal.as_dkim()
    record, problem = usable_key(key.records, sig)
    if problem or record is None:
        return Result.PERMERROR, problem
    public = load_key(key.records[0])[1]
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(_b64(seal.signature) or b"", digest, RSA_PADDING, PREHASHED)
        elif public is not None:
            public.verify(_b64(seal.signature) or b"", digest)
    except InvalidSignature:
        return Result.FAIL, "the seal does not verify"
    return Result.PASS, f"sealed by {seal.domain}"


class _Keys:
    """Key records fetched once per (selector, domain) for one validation."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.found: dict[tuple[str, str], KeyOutcome] = {}

    async def get(self, selector: str, domain: str) -> KeyOutcome:
        name = (selector.lower(), domain.lower())
        if name not in self.found:
            self.found[name] = await fetch_key(self.resolver, *name)
        return self.found[name]


async def validate(
    message: bytes | Message, resolver: Resolver, *, now: int | None = None
) -> ChainResult:
    """Validate the ARC chain of ``message`` (RFC 8617 §5.2); keys come through ``resolver``."""
    try:
        parsed = message if isinstance(message, Message) else parse_message(message)
    except MessageError as exc:
        return ChainResult("fail", f"the message cannot be read: {exc}")
    fields = [f for f in parsed.headers if f.key in ARC_FIELDS]
    if not fields:
        return ChainResult("none", "no ARC header fields")
    sets, broken = _structure(fields)
    if broken is not None:
        return broken
    count = len(sets)
    latest = sets[-1].parsed_seal
    if latest.cv == "fail":
        reason = f"the seal i={count} marks the chain failed (cv=fail)"
        return ChainResult("fail", reason, count, count, sets=tuple(sets), sealed_fail=True)
    for arc_set in sets:
        want = "none" if arc_set.instance == 1 else "pass"
        if arc_set.parsed_seal.cv != want:
            reason = f"the seal i={arc_set.instance} has cv={arc_set.parsed_seal.cv}, not {want}"
            return ChainResult("fail", reason, count, arc_set.instance, sets=tuple(sets))
    keys = _Keys(resolver)
    state = Verification(parsed, int(time.time()) if now is None else now)

    async def check_ams(arc_set: ArcSet) -> tuple[Result, str]:
        sig = arc_set.parsed_signature.signature
        key = await keys.get(sig.selector, sig.domain)
        verdict = state.check(arc_set.instance - 1, arc_set.signature, sig, key)
        return verdict.result, verdict.reason

    result, why = await check_ams(sets[-1])
    if result is not Result.PASS:
        word = "temperror" if result is Result.TEMPERROR else "fail"
        reason = f"the message signature i={count} does not verify: {why}"
        return ChainResult(word, reason, count, count, sets=tuple(sets))
    oldest = 0
    for arc_set in reversed(sets[:-1]):
        if (await check_ams(arc_set))[0] is not Result.PASS:
            oldest = arc_set.instance + 1
            break
    for arc_set in reversed(sets):
        covered = [f for s in sets[: arc_set.instance] for f in (s.results, s.signature, s.seal)]
        digest = _seal_digest(covered[:-1], arc_set.seal)
        seal = arc_set.parsed_seal
        result, why = _check_seal(seal, digest, await keys.get(seal.selector, seal.domain))
        if result is not Result.PASS:
            word = "temperror" if result is Result.TEMPERROR else "fail"
            reason = f"the seal i={arc_set.instance} does not verify: {why}"
            return ChainResult(word, reason, count, arc_set.instance, oldest, tuple(sets))
    reason = f"{count} set{'s' if count > 1 else ''} verified, sealed last by {latest.domain}"
    return ChainResult("pass", reason, count, oldest_pass=oldest, sets=tuple(sets))


# --- sealing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sealed:
    """What :func:`seal` added: the fields to prepend (AS, AMS, AAR, CRLF-terminated; empty
    when no set may be added), the ``cv=`` written, and why."""

    fields: tuple[bytes, ...]
    cv: str | None
    reason: str


def _fold(name: str, tags: Sequence[tuple[str, str]], signature_b64: str = "") -> bytes:
    """An ARC field, folded as DKIM-Signature is, with its CRLF."""
    return fold_signature(tags, signature_b64, name=name).encode("ascii") + b"\r\n"


def _signed_names(message: Message, headers: Sequence[str]) -> list[str]:
    """Each name once per field present, ``from`` once more (oversigned)."""
    present: dict[str, int] = {}
    for header_field in message.headers:
        key = header_field.key.decode("latin-1")
        present[key] = present.get(key, 0) + 1
    wanted = dict.fromkeys(n.lower() for n in ("from", *headers) if n.lower() not in _UNSIGNABLE)
    return [n for n in wanted for _ in range(present.get(n, 0) + (n == "from"))]


def seal(
    message: bytes | Message,
    key: SigningKey,
    chain: ChainResult,
    *,
    authserv_id: str,
    results: Sequence[ar.MethodResult] = (),
    headers: Sequence[str] = SEAL_HEADERS,
    now: int | None = None,
) -> Sealed:
    """The next ARC set for ``message``, whose chain :func:`validate` judged ``chain``.

    ``results`` are this hop's Authentication-Results (the ``arc=`` result is added from
    ``chain`` when absent). A passing chain (or none) is continued with ``cv=pass``
    (``cv=none`` at i=1); a failed one is sealed ``cv=fail`` over the new set alone
    (§5.1.2). Nothing is added after a seal that already says ``cv=fail``, past instance 50,
    or when the chain could not be judged (temperror: try again later).
    """
    parsed = message if isinstance(message, Message) else parse_message(message)
    if chain.result == "temperror":
        return Sealed((), None, "the chain could not be validated for now; seal on retry")
    if chain.sealed_fail or _latest_seal_failed(parsed):
        return Sealed((), None, "the chain is already sealed cv=fail: nothing may follow")
    top = max(
        [chain.instances]
        + [
            instance
            for f in parsed.headers
            if f.key in ARC_FIELDS
            for instance in [_instance_of(f)]
            if instance is not None
        ]
    )
    instance = top + 1
    if instance > MAX_INSTANCES:
        return Sealed((), None, f"the chain has {top} sets: no more than {MAX_INSTANCES}")
    cv = "none" if instance == 1 else "pass" if chain.result == "pass" else "fail"
    if instance == 1 and chain.result == "fail":
        cv = "fail"  # unreadable ARC fields with no valid instance: never pass
    own = list(results)
    if not any(r.method == "arc" for r in own):
        own.append(chain.to_result())
    aar = ar.AuthenticationResults(authserv_id, tuple(own)).to_value()
    aar_raw = f"ARC-Authentication-Results: i={instance}; {aar}\r\n".encode("ascii")
    stamp = int(time.time()) if now is None else now
    body = _canon.body(parsed.body, "relaxed")
    body_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    names = _signed_names(parsed, headers)
    digest = hashlib.sha256()
    for selected in select_fields(parsed, names):
        if selected is not None:
            digest.update(_canon.header(selected.raw, "relaxed"))
    ams_tags = [
        ("i", str(instance)),
        ("a", key.algorithm),
        ("c", "relaxed/relaxed"),
        ("d", key.domain),
        ("s", key.selector),
        ("t", str(stamp)),
        ("h", ":".join(names)),
        ("bh", body_hash),
    ]
    unsigned = _fold("ARC-Message-Signature", ams_tags)
    digest.update(_canon.header(unsigned, "relaxed")[:-2])
    ams_b64 = base64.b64encode(key.sign_digest(digest.digest())).decode()
    ams_raw = _fold("ARC-Message-Signature", ams_tags, ams_b64)
    as_tags = [
        ("i", str(instance)),
        ("cv", cv),
        ("a", key.algorithm),
        ("d", key.domain),
        ("s", key.selector),
        ("t", str(stamp)),
    ]
    previous = (
        [] if cv == "fail" else [f for s in chain.sets for f in (s.results, s.signature, s.seal)]
    )
    new = [HeaderField(b"ARC-Authentication-Results", aar_raw), HeaderField(b"x", ams_raw)]
    seal_digest = _seal_digest(previous + new, _fold("ARC-Seal", as_tags))
    as_b64 = base64.b64encode(key.sign_digest(seal_digest)).decode()
    as_raw = _fold("ARC-Seal", as_tags, as_b64)
    why = {"none": "the first set", "pass": f"continues a passing chain of {top}"}
    reason = why.get(cv, f"seals a failed chain: {chain.reason}")
    return Sealed((as_raw, ams_raw, aar_raw), cv, reason)


def _latest_seal_failed(message: Message) -> bool:
    """Whether the ARC-Seal with the highest instance says ``cv=fail`` (read even when the
    chain is otherwise broken, so nothing is ever added after a failed seal)."""
    seals = [parse_seal(f.value.decode("latin-1")) for f in message.headers if f.key == SEAL]
    numbered = [s for s in seals[: 3 * MAX_INSTANCES] if s.instance is not None]
    top = max((s.instance or 0 for s in numbered), default=0)
    return any(s.instance == top and s.cv == "fail" for s in numbered)


def _instance_of(header_field: HeaderField) -> int | None:
    """The instance an ARC field claims (for numbering a new set after a broken chain)."""
    match = re.match(rb"\s*i\s*=\s*([0-9]{1,2})\s*;", header_field.value)
    return int(match[1]) if match else None


async def seal_message(
    message: bytes,
    resolver: Resolver,
    key: SigningKey,
    *,
    authserv_id: str,
    results: Sequence[ar.MethodResult] = (),
    now: int | None = None,
) -> tuple[bytes, ChainResult, Sealed]:
    """Validate ``message``'s chain, then seal it: the message with the new set on top (in
    its own line endings), the chain verdict and what was added."""
    parsed = parse_message(message)
    chain = await validate(parsed, resolver, now=now)
    sealed = seal(parsed, key, chain, authserv_id=authserv_id, results=results, now=now)
    fields = b"".join(sealed.fields)
    return (fields if parsed.crlf else fields.replace(b"\r\n", b"\n")) + message, chain, sealed
