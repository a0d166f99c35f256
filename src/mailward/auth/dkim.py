"""DKIM: sign messages and verify their signatures.

RFC 6376 §3.4 (canonicalization, in :mod:`mailward.auth._canon`), §3.5 (the DKIM-Signature
tags, parsed by :mod:`mailward.records.dkim`), §3.7 (the hashes), §5 (signing: §5.4.2 the
header selection, oversigning), §6 (verifying: §6.1.1-§6.1.3, every signature checked and
reported), §3.6.2 (keys from ``<s>._domainkey.<d>`` TXT); RFC 8301 (no rsa-sha1, RSA keys of
at least 1024 bits); RFC 8463 (ed25519-sha256: PureEdDSA over the SHA-256 hash); RFC 8601
§2.7.1 (the result words). All signing and verifying is ``cryptography`` (OpenSSL).

Signing: :class:`Signer` holds one or more :class:`SigningKey` (dual signing: an RSA and an
Ed25519 key sign in one pass over the message, sharing the body hash and header selection)
and returns the DKIM-Signature fields to put on top of the message. By default it signs the
RFC 6376 §5.4.1 fields present and oversigns From (one more ``from`` in ``h=`` than there are
From fields, so none can be added).

Verifying: :func:`verify` checks every DKIM-Signature (at most :data:`MAX_SIGNATURES`, the
rest are reported as not checked) and reports each as a :class:`SignatureResult`: ``pass``,
``fail`` (the body hash or the signature does not match), ``neutral`` (not checked),
``permerror`` (malformed signature, no or unusable key, expired, ``l=`` beyond the body) or
``temperror`` (the key lookup failed for now: never ``fail``). A signature with ``l=`` that
passes carries the warning that content may have been appended.

The building blocks ARC (:mod:`mailward.auth.arc`) shares are public here: :func:`select_fields`
(the §5.4.2 header selection), :func:`fetch_key`, :func:`load_key` and :func:`usable_key` (key
records), :class:`Verification` (one message's signature checks) and the RSA parameters
:data:`RSA_PADDING` and :data:`PREHASHED`.

SECURITY: messages and key records are hostile. The message splitter bounds the header block
(:mod:`mailward.auth.message`), signatures and keys are parsed by the bounded record parsers,
at most :data:`MAX_SIGNATURES` signatures cost a key lookup and a public-key operation, and
key lookups for the same name are made once per message.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import functools
import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from mailward.auth import _canon
from mailward.auth.message import HeaderField, Message, MessageError, parse_message
from mailward.codes import Severity
from mailward.dns.resolver import Resolver
from mailward.errors import DNSError, NoAnswer, NXDomain, TempError
from mailward.records.dkim import (
    DkimKey,
    DkimSignature,
    PublicKey,
    parse_key,
    parse_signature,
    without_b,
)

MAX_SIGNATURES = 10
MIN_RSA_BITS = 1024
SIGNATURE_HEADER = b"dkim-signature"
DEFAULT_HEADERS = (
    "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
    "mime-version", "content-type", "content-transfer-encoding", "content-id",
    "content-description", "resent-date", "resent-from", "resent-sender", "resent-to",
    "resent-cc", "resent-message-id", "in-reply-to", "references", "list-id", "list-help",
    "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive",
)  # fmt: skip
DEFAULT_OVERSIGN = ("from",)
_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")
# How RSA signs and verifies here (RFC 6376 §3.3.1, RSASSA-PKCS1-v1_5 with SHA-256): over a
# SHA-256 digest computed by the caller, so the hashing of header fields can be shared.
RSA_PADDING = padding.PKCS1v15()
PREHASHED = Prehashed(hashes.SHA256())

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class Result(enum.Enum):
    """The RFC 8601 §2.7.1 word for one signature."""

    PASS = "pass"
    FAIL = "fail"
    NEUTRAL = "neutral"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


# --- signing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """A private key with the domain (``d=``) and selector (``s=``) it signs for."""

    domain: str
    selector: str
    private_key: PrivateKey

    def __post_init__(self) -> None:
        for name, value in (("domain", self.domain), ("selector", self.selector)):
            labels = value.rstrip(".").split(".")
            if len(value) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
                raise ValueError(f"{name} {value!r} is not a DNS name (A-labels for IDNs)")
        key = self.private_key
        if isinstance(key, rsa.RSAPrivateKey) and key.key_size < MIN_RSA_BITS:
            raise ValueError(f"an RSA key of {key.key_size} bits is too short (RFC 8301)")
        if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
            raise TypeError(f"DKIM keys are RSA or Ed25519, not {type(key).__name__}")

    @property
    def algorithm(self) -> str:
        return "rsa-sha256" if isinstance(self.private_key, rsa.RSAPrivateKey) else "ed25519-sha256"

    @classmethod
    def from_pem(cls, pem: bytes, *, domain: str, selector: str) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
            raise ValueError(f"a DKIM key is RSA or Ed25519, not {type(key).__name__}")
        return cls(domain, selector, key)

    def sign_digest(self, digest: bytes) -> bytes:
        """The signature over a SHA-256 ``digest`` (RSA PKCS#1 v1.5; Ed25519 signs it as is)."""
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            return self.private_key.sign(digest, RSA_PADDING, PREHASHED)
        return self.private_key.sign(digest)


def generate_key(algorithm: str = "rsa-2048") -> PrivateKey:
    """A new private key: ``rsa-2048``, ``rsa-3072`` or ``ed25519``."""
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm in ("rsa-2048", "rsa-3072"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(algorithm[4:]))
    raise ValueError(f"unknown key algorithm {algorithm!r} (rsa-2048, rsa-3072, ed25519)")


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def select_fields(message: Message, names: Sequence[str]) -> list[HeaderField | None]:
    """RFC 6376 §5.4.2: for each name, the last instance not yet used (``None``: absent)."""
    instances: dict[bytes, list[HeaderField]] = {}
    for header_field in message.headers:
        instances.setdefault(header_field.key, []).append(header_field)
    out: list[HeaderField | None] = []
    for name in names:
        stack = instances.get(name.strip().lower().encode("ascii", "replace"))
        out.append(stack.pop() if stack else None)
    return out


def fold_signature(
    tags: Sequence[tuple[str, str]], signature_b64: str = "", *, name: str = "DKIM-Signature"
) -> str:
    """``Name: tag=value; …`` folded before 78 columns, ``b=`` last (empty when unsigned);
    also writes ARC-Message-Signature and ARC-Seal (RFC 8617 §4.1 uses the same tag-list)."""
    lines = [name + ":"]

    def add(token: str, sep: str = " ") -> None:
        if len(lines[-1]) + len(sep) + len(token) > 76:
            lines.append("\t" + token)
        else:
            lines[-1] += sep + token

    for tag, value in tags:
        parts = value.split(":") if tag == "h" else [value]
        for number, part in enumerate(parts):
            end = ";" if number == len(parts) - 1 else ":"
            add(f"{tag}={part}{end}" if number == 0 else part + end, " " if number == 0 else "")
    add("b=")
    if signature_b64:
        room = max(0, 76 - len(lines[-1]))
        lines[-1] += signature_b64[:room]
        lines += ["\t" + signature_b64[i : i + 72] for i in range(room, len(signature_b64), 72)]
    return "\r\n".join(lines)


class Signer:
    """Signs messages with one or more keys (dual signing: one pass for all of them).

    ``headers``: the field names to sign when present (default :data:`DEFAULT_HEADERS`);
    ``oversign``: names listed once more than present, so no such field can be added
    (default ``from``); ``canonicalization``: ``header/body`` (default relaxed/relaxed);
    ``expire_after``: seconds until ``x=``; ``identity``: ``i=``; ``body_length``: write ``l=``
    (unsafe: lets anyone append content; off by default).
    """

    def __init__(
        self,
        keys: Iterable[SigningKey],
        *,
        headers: Sequence[str] = DEFAULT_HEADERS,
        oversign: Sequence[str] = DEFAULT_OVERSIGN,
        canonicalization: str = "relaxed/relaxed",
        expire_after: int | None = None,
        identity: str | None = None,
        body_length: bool = False,
        timestamp: bool = True,
    ) -> None:
        self.keys = tuple(keys)
        if not self.keys:
            raise ValueError("a signer needs at least one key")
        head, _, body = canonicalization.lower().partition("/")
        body = body or "simple"
        if head not in ("simple", "relaxed") or body not in ("simple", "relaxed"):
            raise ValueError(f"canonicalization {canonicalization!r} is not (simple|relaxed)/…")
        self.header_canon, self.body_canon = head, body
        self.headers = tuple(name.lower() for name in headers)
        self.oversign = tuple(name.lower() for name in oversign)
        if "from" not in self.headers:
            self.headers = ("from", *self.headers)
        self.expire_after = expire_after
        if identity is not None:
            domain = identity.rpartition("@")[2].lower()
            for key in self.keys:
                d = key.domain.lower()
                if "@" not in identity or not (domain == d or domain.endswith("." + d)):
                    raise ValueError(f"i={identity} is not within d={key.domain}")
        self.identity = identity
        self.body_length = body_length
        self.timestamp = timestamp

    def signed_names(self, message: Message) -> list[str]:
        present: dict[str, int] = {}
        for header_field in message.headers:
            key = header_field.key.decode("latin-1")
            present[key] = present.get(key, 0) + 1
        names: list[str] = []
        for name in self.headers:
            count = present.get(name, 0) + (1 if name in self.oversign else 0)
            names += [name] * count
        return names

    def sign(self, message: bytes | Message, *, now: int | None = None) -> list[bytes]:
        """The DKIM-Signature fields (CRLF-terminated), one per key, to prepend in order."""
        parsed = message if isinstance(message, Message) else parse_message(message)
        body = _canon.body(parsed.body, self.body_canon)
        body_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
        names = self.signed_names(parsed)
        selected = select_fields(parsed, names)
        base = hashlib.sha256()
        for header_field in selected:
            if header_field is not None:
                base.update(_canon.header(header_field.raw, self.header_canon))
        stamp = int(time.time()) if now is None else now
        out = []
        for key in self.keys:
            tags = [
                ("v", "1"),
                ("a", key.algorithm),
                ("c", f"{self.header_canon}/{self.body_canon}"),
                ("d", key.domain),
                ("s", key.selector),
            ]
            if self.identity is not None:
                tags.append(("i", self.identity))
            if self.timestamp:
                tags.append(("t", str(stamp)))
            if self.expire_after is not None:
                tags.append(("x", str(stamp + self.expire_after)))
            if self.body_length:
                tags.append(("l", str(len(body))))
            tags += [("h", ":".join(names)), ("bh", body_hash)]
            unsigned = fold_signature(tags).encode("ascii")
            digest = base.copy()
            digest.update(_canon.header(unsigned + b"\r\n", self.header_canon)[:-2])
            signature = base64.b64encode(key.sign_digest(digest.digest())).decode()
            out.append(fold_signature(tags, signature).encode("ascii") + b"\r\n")
        return out

    def sign_message(self, message: bytes, *, now: int | None = None) -> bytes:
        """``message`` with its DKIM-Signature fields on top (in its own line endings)."""
        parsed = parse_message(message)
        fields = b"".join(self.sign(parsed, now=now))
        return (fields if parsed.crlf else fields.replace(b"\r\n", b"\n")) + message


def sign(
    message: bytes,
    key: SigningKey,
    *,
    canonicalization: str = "relaxed/relaxed",
    headers: Sequence[str] = DEFAULT_HEADERS,
    oversign: Sequence[str] = DEFAULT_OVERSIGN,
    now: int | None = None,
) -> bytes:
    """One DKIM-Signature field for ``message`` (CRLF-terminated), to put on top of it."""
    signer = Signer([key], canonicalization=canonicalization, headers=headers, oversign=oversign)
    return signer.sign(message, now=now)[0]


# --- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureResult:
    """The verdict on one DKIM-Signature field, with the evidence."""

    result: Result
    reason: str
    index: int  # 0-based position of the field among the message's DKIM-Signature fields
    domain: str = ""
    selector: str = ""
    algorithm: str = ""
    identity: str | None = None
    signature: DkimSignature | None = None
    key: DkimKey | None = None
    key_bits: int | None = None
    testing: bool = False  # the key record has t=y: treat as unsigned mail (RFC 6376 §3.6.1)
    warnings: tuple[str, ...] = ()

    @property
    def auid(self) -> str:
        """The Agent or User Identifier: ``i=``, or ``@d`` (RFC 6376 §3.5)."""
        return self.identity if self.identity is not None else "@" + self.domain


@dataclass(frozen=True)
class VerifyResult:
    signatures: tuple[SignatureResult, ...] = ()
    error: str | None = None  # the message itself could not be read

    @property
    def passed(self) -> tuple[SignatureResult, ...]:
        return tuple(s for s in self.signatures if s.result is Result.PASS)

    @property
    def result(self) -> str:
        """``pass`` if any passed, else the first result, ``none`` with no signature."""
        if self.error is not None:
            return Result.PERMERROR.value
        if not self.signatures:
            return "none"
        return (self.passed or self.signatures)[0].result.value


@dataclass
class KeyOutcome:
    """What :func:`fetch_key` found: the TXT records at the key name, or the result (a
    ``permerror`` or ``temperror``) and reason for not having them."""

    records: list[str] = field(default_factory=list)
    error: Result | None = None
    reason: str = ""


async def fetch_key(resolver: Resolver, selector: str, domain: str) -> KeyOutcome:
    """The TXT records at ``<selector>._domainkey.<domain>``; a DNS failure is temperror."""
    name = f"{selector}._domainkey.{domain}"
    if len(name) > 253:
        return KeyOutcome(error=Result.PERMERROR, reason=f"{name[:60]}… is too long a name")
    try:
        answer = await resolver.query(name, "TXT")
    except (NXDomain, NoAnswer):
        return KeyOutcome(error=Result.PERMERROR, reason=f"no key record at {name}")
    except TempError as exc:
        return KeyOutcome(error=Result.TEMPERROR, reason=f"key lookup at {name} failed: {exc}")
    except DNSError as exc:
        return KeyOutcome(error=Result.TEMPERROR, reason=f"key lookup at {name} failed: {exc}")
    texts = [text.decode("latin-1") for text in answer.texts()]
    if not texts:
        return KeyOutcome(error=Result.PERMERROR, reason=f"no key record at {name}")
    return KeyOutcome(records=texts)


class Verification:
    """The per-message state: the parsed message and the body hashes already computed.

    :meth:`check` judges one signature against its key; ARC (:mod:`mailward.auth.arc`)
    checks each ARC-Message-Signature with it (RFC 8617 §4.1.2: an AMS has the syntax and
    semantics of a DKIM-Signature).
    """

    def __init__(self, message: Message, now: int) -> None:
        self.message = message
        self.now = now
        self._bodies: dict[str, bytes] = {}

    def canonical_body(self, method: str) -> bytes:
        if method not in self._bodies:
            self._bodies[method] = _canon.body(self.message.body, method)
        return self._bodies[method]

    def check(
        self, index: int, header: HeaderField, sig: DkimSignature, key: KeyOutcome
    ) -> SignatureResult:
        verdict, reason, record, bits = self._judge(header, sig, key)
        warnings = []
        if sig.length is not None:
            warnings.append(f"l={sig.length}: content appended after the signed length is unsigned")
        testing = record is not None and record.testing
        if testing and verdict is Result.PASS:
            warnings.append("the key is in testing mode (t=y): receivers may ignore this pass")
        return SignatureResult(
            verdict,
            reason,
            index,
            domain=sig.domain,
            selector=sig.selector,
            algorithm=sig.algorithm,
            identity=sig.identity,
            signature=sig,
            key=record,
            key_bits=bits,
            testing=testing,
            warnings=tuple(warnings),
        )

    def _judge(
        self, header: HeaderField, sig: DkimSignature, key: KeyOutcome
    ) -> tuple[Result, str, DkimKey | None, int | None]:
        """The verdict, its reason, the key record and the key size (RFC 6376 §6.1.2-§6.1.3)."""
        if key.error is not None:
            return key.error, key.reason, None, None
        record, problem = usable_key(key.records, sig)
        if problem or record is None:
            return Result.PERMERROR, problem, record, None
        public = load_key(key.records[0])[1]
        bits = public.key_size if isinstance(public, rsa.RSAPublicKey) else 256
        body = self.canonical_body(sig.body_canonicalization)
        if sig.length is not None:
            if sig.length > len(body):
                why = f"l={sig.length} is longer than the body ({len(body)} canonical octets)"
                return Result.PERMERROR, why, record, bits
            body = body[: sig.length]
        if hashlib.sha256(body).digest() != sig.body_hash_bytes:
            why = "body hash did not verify: the body was changed after signing"
            return Result.FAIL, why, record, bits
        method = sig.header_canonicalization
        digest = hashlib.sha256()
        for selected in select_fields(self.message, sig.headers):
            if selected is not None:
                digest.update(_canon.header(selected.raw, method))
        name, _, value = header.raw[:-2].partition(b":")
        b_tag = next((tag for tag in sig.tags if tag.name == "b"), None)
        if b_tag is None:  # cannot happen: a signature without b= is malformed
            blanked = without_b(value.decode("latin-1")).encode("latin-1")
        else:  # sig.tags are offsets into this value (RFC 6376 §3.7: b= value deleted)
            blanked = value[: b_tag.value_start] + value[b_tag.value_end :]
        if method == "relaxed":
            digest.update(_canon.relaxed_header(name, blanked))
        else:
            digest.update(name + b":" + blanked)
        signature = sig.signature_bytes or b""
        try:
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, digest.digest(), RSA_PADDING, PREHASHED)
            elif public is not None:
                public.verify(signature, digest.digest())
        except InvalidSignature:
            why = "signature did not verify: a signed header field was changed after signing"
            return Result.FAIL, why, record, bits
        return Result.PASS, f"signed by {sig.domain}", record, bits


def _unchecked(index: int, sig: DkimSignature) -> SignatureResult:
    return SignatureResult(
        Result.NEUTRAL,
        "not checked",
        index,
        domain=sig.domain,
        selector=sig.selector,
        algorithm=sig.algorithm,
        identity=sig.identity,
        signature=sig,
    )


@functools.lru_cache(maxsize=1024)
def load_key(text: str) -> tuple[DkimKey, PublicKey | None]:
    """A key record parsed and its key loaded, once per distinct record (a bounded cache)."""
    record = parse_key(text)
    return record, record.load()


def usable_key(records: list[str], sig: DkimSignature) -> tuple[DkimKey | None, str]:
    """The key record if it fits the signature, or the reason it does not (§6.1.2)."""
    if len(records) > 1:
        return None, f"{len(records)} TXT records at the key name: it must be one"
    record, public = load_key(records[0])
    want = "ed25519" if sig.algorithm == "ed25519-sha256" else "rsa"
    if record.revoked:
        return record, "the key is revoked (empty p=)"
    if (record.key_type or "rsa") != want:
        return record, f"the key is k={record.key_type or 'rsa'}, the signature a={sig.algorithm}"
    if record.version is not None and record.version != "DKIM1":
        return record, f"the key record has v={record.version}, not DKIM1"
    if record.hash_algorithms is not None and "sha256" not in record.hash_algorithms:
        return record, f"the key allows only h={':'.join(record.hash_algorithms)}"
    if record.service_types is not None and not {"*", "email"} & set(record.service_types):
        return record, f"the key is for s={':'.join(record.service_types)}, not email"
    if public is None:
        return record, "the key record does not hold a usable public key"
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < MIN_RSA_BITS:
        return record, f"the RSA key is {public.key_size} bits, under 1024 (RFC 8301)"
    if "s" in record.flags and sig.identity is not None:
        domain = sig.identity.rpartition("@")[2].lower()
        if domain != sig.domain.lower():
            return record, f"the key has t=s, and i= is in a subdomain of d={sig.domain}"
    return record, ""


def _malformed(sig: DkimSignature, now: int) -> str:
    """Why the signature cannot be checked (a permerror), or ``""``."""
    errors = [d.message for d in sig.diagnostics if d.severity is Severity.ERROR]
    if errors:
        return "malformed signature: " + errors[0]
    if sig.algorithm == "rsa-sha1":
        return "a=rsa-sha1 is not accepted (RFC 8301)"
    if sig.expiration is not None and sig.expiration < now:
        return f"the signature expired (x={sig.expiration}, now {now})"
    return ""


async def verify(
    message: bytes | Message,
    resolver: Resolver,
    *,
    now: int | None = None,
    max_signatures: int = MAX_SIGNATURES,
) -> VerifyResult:
    """Verify every DKIM-Signature of ``message``; keys come through ``resolver``."""
    try:
        parsed = message if isinstance(message, Message) else parse_message(message)
    except MessageError as exc:
        return VerifyResult(error=str(exc))
    state = Verification(parsed, int(time.time()) if now is None else now)
    fields = [f for f in parsed.headers if f.key == SIGNATURE_HEADER]
    results: dict[int, SignatureResult] = {}
    pending: list[tuple[int, HeaderField, DkimSignature]] = []
    for index, header_field in enumerate(fields):
        if index >= max_signatures:
            results[index] = SignatureResult(
                Result.NEUTRAL, f"not checked: more than {max_signatures} signatures", index
            )
            continue
        sig = parse_signature(header_field.value.decode("latin-1"))
        problem = _malformed(sig, state.now)
        if problem:
            results[index] = replace(
                _unchecked(index, sig), result=Result.PERMERROR, reason=problem
            )
        else:
            pending.append((index, header_field, sig))
    names = sorted({(sig.selector.lower(), sig.domain.lower()) for _, _, sig in pending})
    if len(names) == 1:
        keys = {names[0]: await fetch_key(resolver, *names[0])}
    else:
        found = await asyncio.gather(*(fetch_key(resolver, *name) for name in names))
        keys = dict(zip(names, found, strict=True))
    for index, header_field, sig in pending:
        key = keys[(sig.selector.lower(), sig.domain.lower())]
        results[index] = state.check(index, header_field, sig, key)
    return VerifyResult(tuple(results[i] for i in sorted(results)))
