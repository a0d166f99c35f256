"""DKIM key records and DKIM-Signature header fields: parse, check, write.

RFC 6376 §3.2 (tag lists), §3.5 (DKIM-Signature tags), §3.6.1 (key record tags v h k n p s
t), §3.7 (the ``b=`` value is blanked before hashing); RFC 8463 §3-§4 (``k=ed25519``: ``p=``
is the raw 32-octet key, not SubjectPublicKeyInfo); RFC 8301 §3.1-§3.2 (rsa-sha1 MUST NOT be
used; RSA keys under 1024 bits MUST NOT be accepted, signers SHOULD use 2048 or more).

A TXT record published as several strings is read with the strings joined with nothing between
(RFC 6376 §3.6.2.2); callers pass that joined value. Whitespace inside ``p=``, ``b=`` and
``bh=`` is folding whitespace and is removed.

SECURITY: input is hostile (any domain's TXT record, any message's header). Tag lists are split
in one linear pass; numbers are read only up to their RFC lengths (``t=``/``x=`` 12 digits,
``l=`` 76) so no huge integers are built; a key reaches ``cryptography`` only when it is at
most :data:`MAX_KEY_OCTETS` octets. Parsed key records are remembered by text in a bounded memo
(:mod:`._cache`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mailward.codes import Diagnostic, Severity, define
from mailward.records._cache import by_text
from mailward.records._suggest import did_you_mean, hint
from mailward.records._taglist import Tag, format_taglist, parse_taglist

MAX_KEY_OCTETS = 2048  # a 16384-bit RSA key; real ones are at most 4096 bits (~550 octets)
KEY_TYPES = ("rsa", "ed25519")
ALGORITHMS = ("rsa-sha256", "ed25519-sha256", "rsa-sha1")
_KEY_TAGS = ("v", "h", "k", "n", "p", "s", "t")
_SIG_TAGS = ("v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t", "x", "z")
_KEY_MISTAKES = {"key": "p", "pub": "p", "public": "p", "version": "v", "type": "k"}
_ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
_BRACKETED = re.compile(r"<[^>]*>|\{[^}]*\}|\[[^\]]*\]|\.\.\.|…")
_PLACEHOLDER_WORD = re.compile(r"(?i)key|here|your|insert|paste|public|replace|change|xxx")
_LABEL = r"[^\s.@;=:,/\"\\]{1,63}"
_DOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*\Z")
_WSP = re.compile(r"\s+")

KEY_INVALID = define(
    "dkim.key-invalid",
    Severity.ERROR,
    "DKIM key record does not hold a usable public key",
    why="Verifiers cannot load the key, so every message signed with this selector fails DKIM.",
    example="v=DKIM1; k=rsa; p=PUBLIC_KEY_HERE",
    fix="Publish the base64 public key your mail server generated, unquoted and complete, "
    "with the k= that matches it.",
    refs=("RFC 6376 §3.6.1", "RFC 8463 §4"),
)
KEY_TOO_SHORT = define(
    "dkim.key-too-short",
    Severity.ERROR,
    "DKIM RSA key is shorter than 1024 bits",
    why="Verifiers must not accept such keys (RFC 8301), so the signatures fail.",
    example="v=DKIM1; k=rsa; p=MHwwDQYJKoZIhvcNAQEBBQADawAwaAJhAK…",
    fix="Generate a 2048-bit RSA key (or Ed25519 beside it) and publish its record.",
    refs=("RFC 8301 §3.2",),
)
WEAK_KEY = define(
    "dkim.weak-key",
    Severity.WARNING,
    "DKIM RSA key is shorter than 2048 bits",
    why="1024-bit RSA is within reach of well-funded attackers; signers should use 2048 bits.",
    example="v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ…",
    fix="Generate a 2048-bit RSA key under a new selector, publish it, then switch signing.",
    refs=("RFC 8301 §3.2",),
)
REVOKED = define(
    "dkim.revoked",
    Severity.INFO,
    "DKIM key record is revoked (empty p=)",
    why="Signatures made with this selector fail; that is intended only for a retired key.",
    example="v=DKIM1; k=rsa; p=",
    fix="Nothing, if the selector is retired; otherwise publish its public key.",
    refs=("RFC 6376 §3.6.1",),
)
TESTING = define(
    "dkim.testing",
    Severity.WARNING,
    "DKIM key record is in testing mode (t=y)",
    why="Verifiers may treat signatures under a testing key as unsigned mail.",
    example="v=DKIM1; k=rsa; t=y; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA…",
    fix="Remove t=y once signing works.",
    refs=("RFC 6376 §3.6.1",),
)
SYNTAX = define(
    "dkim.syntax",
    Severity.ERROR,
    "DKIM key record is malformed",
    why="Verifiers ignore a key record they cannot parse, so signatures fail.",
    example="k=rsa; v=DKIM1; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA…",
    fix="Write tag=value pairs separated by ';', v=DKIM1 first if present, and a p= tag.",
    refs=("RFC 6376 §3.2", "RFC 6376 §3.6.1"),
)
SHA1 = define(
    "dkim.sha1",
    Severity.WARNING,
    "DKIM uses SHA-1, which RFC 8301 forbids",
    why="Verifiers must not accept rsa-sha1 signatures, so mail relying on them fails DKIM.",
    example="v=DKIM1; h=sha1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA…",
    fix="Sign with rsa-sha256 and remove h=sha1 from the key record (or set h=sha256).",
    refs=("RFC 8301 §3.1",),
)
BODY_LENGTH = define(
    "dkim.body-length",
    Severity.WARNING,
    "DKIM signature covers only part of the body (l=)",
    why="Anyone can append content after the signed length and the signature still verifies.",
    example="v=1; a=rsa-sha256; d=example.com; s=s1; l=120; h=from; bh=…; b=…",
    fix="Configure the signer not to add l= (sign the whole body).",
    refs=("RFC 6376 §3.5", "RFC 6376 §8.2"),
)
SIGNATURE_SYNTAX = define(
    "dkim.signature-syntax",
    Severity.ERROR,
    "DKIM-Signature header field is malformed",
    why="Verifiers return permerror for a malformed signature: the message counts as unsigned.",
    example="v=1; a=rsa-sha256; s=s1; h=to:subject; bh=…; b=…",
    fix="Fix the signer's configuration so it writes every required tag with a valid value.",
    refs=("RFC 6376 §3.5", "RFC 6376 §6.1.1"),
)

PublicKey = rsa.RSAPublicKey | Ed25519PublicKey
_Invalid = Callable[[str, "DkimKey | None"], list[Diagnostic]]


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _load_rsa(data: bytes) -> rsa.RSAPublicKey | None:
    """An RSA key from SubjectPublicKeyInfo DER, or from a bare PKCS#1 RSAPublicKey."""
    try:
        key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        armored = base64.encodebytes(data).decode()
        pem = f"-----BEGIN RSA PUBLIC KEY-----\n{armored}-----END RSA PUBLIC KEY-----\n"
        try:
            key = serialization.load_pem_public_key(pem.encode())
        except (ValueError, UnsupportedAlgorithm):
            return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def _colon_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in value.split(":"))


@dataclass(frozen=True)
class DkimKey:
    """A DKIM key record. ``key_data`` is ``p=`` without whitespace (empty: revoked)."""

    key_data: str = ""
    key_type: str | None = None
    version: str | None = None
    hash_algorithms: tuple[str, ...] | None = None
    service_types: tuple[str, ...] | None = None
    flags: tuple[str, ...] = ()
    notes: str | None = None
    extensions: tuple[tuple[str, str], ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    @property
    def revoked(self) -> bool:
        return not self.key_data

    @property
    def testing(self) -> bool:
        return "y" in self.flags

    def load(self) -> PublicKey | None:
        """The public key as a ``cryptography`` object, or ``None`` if it does not load."""
        data = _b64(self.key_data) if self.key_data else None
        if not data or len(data) > MAX_KEY_OCTETS:
            return None
        if (self.key_type or "rsa") == "rsa":
            return _load_rsa(data)
        if self.key_type == "ed25519" and len(data) == 32:
            return Ed25519PublicKey.from_public_bytes(data)
        return None

    @property
    def key_bits(self) -> int | None:
        """RSA modulus size, 256 for Ed25519, ``None`` if the key does not load."""
        key = self.load()
        return key.key_size if isinstance(key, rsa.RSAPublicKey) else 256 if key else None

    def to_text(self) -> str:
        """Canonical TXT value: v first, p last (split for a zone with ``_txt.to_zone_text``)."""
        hashes, services = self.hash_algorithms, self.service_types
        optional = (
            ("v", self.version),
            ("h", ":".join(hashes) if hashes is not None else None),
            ("k", self.key_type),
            ("n", self.notes),
            ("s", ":".join(services) if services is not None else None),
            ("t", ":".join(self.flags) or None),
        )
        pairs = [(name, value) for name, value in optional if value is not None]
        return format_taglist([*pairs, *self.extensions, ("p", self.key_data)])


def key_record(public_key: PublicKey) -> DkimKey:
    """The key record for a ``cryptography`` RSA or Ed25519 public key."""
    if isinstance(public_key, rsa.RSAPublicKey):
        der = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return DkimKey(base64.b64encode(der).decode(), "rsa", "DKIM1")
    if isinstance(public_key, Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return DkimKey(base64.b64encode(raw).decode(), "ed25519", "DKIM1")
    raise TypeError(f"DKIM keys are RSA or Ed25519, not {type(public_key).__name__}")


def _unquote(text: str) -> str | None:
    """The joined value if ``text`` is only zone-file quoted strings (``"…" "…"``)."""
    strings = r'"((?:[^"\\]|\\.)*)"'
    if not re.fullmatch(rf"\s*{strings}(\s*{strings})*\s*", text):
        return None
    joined = "".join(re.findall(strings, text))
    return re.sub(r"\\([0-9]{3}|.)", lambda m: chr(int(m[1])) if len(m[1]) == 3 else m[1], joined)


@by_text  # pure, and its record immutable: one parse per text
def parse_key(text: str) -> DkimKey:
    """Parse a DKIM key record (the joined TXT value); never raises."""
    joined = _unquote(text)
    if joined is not None:
        record = _parse_key(joined)
        quoted = SYNTAX.at(
            "the record is written as zone-file strings; its value is the strings joined",
            column=1,
            fix=record.to_text(),
        )
        return replace(record, diagnostics=(quoted, *record.diagnostics))
    return _parse_key(text)


def _parse_key(text: str) -> DkimKey:
    taglist = parse_taglist(text, syntax=SYNTAX)
    problems = list(taglist.diagnostics)
    tags = {tag.name: tag for tag in taglist.tags}

    def value(name: str) -> str | None:
        return tags[name].value if name in tags else None

    hashes, services, flags = value("h"), value("s"), value("t")
    record = DkimKey(
        key_data=_WSP.sub("", value("p") or ""),
        key_type=tags["k"].value.lower() if "k" in tags else None,
        version=value("v"),
        hash_algorithms=_colon_list(hashes) if hashes is not None else None,
        service_types=_colon_list(services) if services is not None else None,
        flags=tuple(f.strip() for f in flags.split(":") if f.strip()) if flags else (),
        notes=value("n"),
        extensions=tuple((t.name, t.value) for t in taglist.tags if t.name not in _KEY_TAGS),
    )
    if "v" in tags:
        problems += _version_checks(record, tags["v"], taglist.tags[0].name == "v")
    if record.key_type is not None and record.key_type not in KEY_TYPES:
        problems.append(
            KEY_INVALID.at(
                f"k={record.key_type} is not a DKIM key type{hint(record.key_type, KEY_TYPES)}",
                column=tags["k"].column,
                tag="k",
            )
        )
    elif "p" in tags:
        problems += _key_checks(record, tags["p"])
    else:
        problems.append(SYNTAX.at("the required p= tag is missing", column=len(text) + 1))
    problems += _usage_checks(record, tags)
    for name, _ in record.extensions:
        meant = did_you_mean(name, _KEY_TAGS, known_mistakes=_KEY_MISTAKES)
        if meant and meant not in tags:
            problems.append(
                SYNTAX.at(
                    f"unknown tag {name}= is ignored by verifiers (did you mean {meant}=?)",
                    column=tags[name].column,
                    tag=name,
                    severity=Severity.WARNING,
                )
            )
    return replace(record, diagnostics=tuple(problems))


def _version_checks(record: DkimKey, tag: Tag, first: bool) -> list[Diagnostic]:
    problems = []
    if tag.value != "DKIM1":
        fixable = tag.value.strip().upper() == "DKIM1"
        problems.append(
            SYNTAX.at(
                f"v={tag.value} must be exactly DKIM1",
                column=tag.column,
                tag="v",
                fix=replace(record, version="DKIM1").to_text() if fixable else None,
            )
        )
    if not first:
        problems.append(
            SYNTAX.at("v= must be the first tag", column=tag.column, tag="v", fix=record.to_text())
        )
    return problems


def _key_checks(record: DkimKey, tag: Tag) -> list[Diagnostic]:
    """What is wrong with ``p=``: at most one key-invalid, or a size/revocation finding."""

    def invalid(message: str, fixed: DkimKey | None) -> list[Diagnostic]:
        fix = fixed.to_text() if fixed else None
        return [KEY_INVALID.at(message, column=tag.column, tag="p", fix=fix)]

    raw = record.key_data
    if '"' in raw:
        cleaned = replace(record, key_data=raw.replace('"', ""))
        return invalid(
            "p= contains a '\"': the TXT strings were pasted with their zone-file quotes",
            cleaned if _b64(cleaned.key_data) else None,
        )
    compact = re.fullmatch(r"[A-Za-z_\-]{1,63}", raw)
    if _BRACKETED.search(tag.value) or (
        compact and ("_" in raw or "-" in raw or _PLACEHOLDER_WORD.search(raw))
    ):
        return invalid(
            f"p={tag.value} is a placeholder, not a key: paste the base64 public key "
            "that your mail server generated",
            None,
        )
    if not raw:
        return [REVOKED.at("p= is empty: the key is revoked", column=tag.column, tag="p")]
    data = _b64(raw)
    if data is None:
        padded = raw + "=" * (-len(raw) % 4)
        fixed = replace(record, key_data=padded) if _b64(padded) else None
        why = "its '=' padding is missing" if fixed else "it is not valid base64"
        return invalid(f"p= cannot be decoded: {why}", fixed)
    if len(data) > MAX_KEY_OCTETS:
        return invalid(f"p= is {len(data)} octets, far larger than any DKIM key", None)
    if record.key_type == "ed25519":
        return _ed25519_checks(record, data, invalid)
    key = _load_rsa(data)
    if key is None:
        raw_ed25519 = data[12:] if data.startswith(_ED25519_SPKI) and len(data) == 44 else data
        if len(raw_ed25519) == 32:
            ed_key = base64.b64encode(raw_ed25519).decode()
            return invalid(
                "p= is an Ed25519 key, but k= is rsa: set k=ed25519",
                replace(record, key_type="ed25519", key_data=ed_key),
            )
        return invalid("p= does not hold an RSA public key (SubjectPublicKeyInfo DER)", None)
    bits = key.key_size
    if bits < 1024:
        return [KEY_TOO_SHORT.at(f"the RSA key is {bits} bits", column=tag.column, tag="p")]
    if bits < 2048:
        return [WEAK_KEY.at(f"the RSA key is {bits} bits", column=tag.column, tag="p")]
    return []


def _ed25519_checks(record: DkimKey, data: bytes, invalid: _Invalid) -> list[Diagnostic]:
    if len(data) == 32:
        return []
    if len(data) == 44 and data.startswith(_ED25519_SPKI):
        raw = base64.b64encode(data[12:]).decode()
        return invalid(
            "p= is SubjectPublicKeyInfo; RFC 8463 wants the raw 32-octet Ed25519 key",
            replace(record, key_data=raw),
        )
    if _load_rsa(data):
        return invalid("p= is an RSA key, but k= is ed25519", replace(record, key_type="rsa"))
    return invalid(f"an Ed25519 key is 32 octets, not {len(data)}", None)


def _usage_checks(record: DkimKey, tags: dict[str, Tag]) -> list[Diagnostic]:
    problems = []
    hashes = record.hash_algorithms
    if hashes is not None and not {"sha1", "sha256"} & set(hashes):
        problems.append(
            KEY_INVALID.at(
                f"h={':'.join(hashes)} names no hash verifiers know: nothing can verify",
                column=tags["h"].column,
                tag="h",
                fix=replace(record, hash_algorithms=None).to_text(),
            )
        )
    elif hashes is not None and "sha256" not in hashes:
        problems.append(
            SHA1.at(
                "h= allows only sha1, which verifiers must reject (RFC 8301)",
                column=tags["h"].column,
                tag="h",
                fix=replace(record, hash_algorithms=None).to_text(),
            )
        )
    services = record.service_types
    if services is not None and not {"*", "email"} & set(services):
        problems.append(
            KEY_INVALID.at(
                f"s={':'.join(services)} does not include email or *: mail cannot use the key",
                column=tags["s"].column,
                tag="s",
                fix=replace(record, service_types=None).to_text(),
            )
        )
    if record.testing:
        flags = tuple(flag for flag in record.flags if flag != "y")
        problems.append(
            TESTING.at(
                "t=y: verifiers may treat mail signed with this key as unsigned",
                column=tags["t"].column,
                tag="t",
                fix=replace(record, flags=flags).to_text(),
            )
        )
    return problems


@dataclass(frozen=True)
class SignatureTag:
    """One tag of a DKIM-Signature as written, with 0-based offsets into the parsed text.

    ``text[value_start:value_end]`` is the raw value including surrounding whitespace: the
    part RFC 6376 §3.7 deletes from ``b=`` before hashing.
    """

    name: str
    value: str
    start: int
    value_start: int
    value_end: int


def signature_tags(text: str) -> tuple[SignatureTag, ...]:
    """Every ``name=value`` of a header value, in order, with their offsets."""
    out = []
    position = 0
    for raw in text.split(";"):
        start, position = position, position + len(raw) + 1
        name, equals, _ = raw.partition("=")
        if equals:
            lead = len(raw) - len(raw.lstrip())
            value_start = start + len(name) + 1
            value = raw[len(name) + 1 :]
            end = start + len(raw)
            out.append(SignatureTag(name.strip(), value, start + lead, value_start, end))
    return tuple(out)


def without_b(text: str) -> str:
    """The header value with the ``b=`` value deleted (RFC 6376 §3.7), for hashing."""
    for tag in signature_tags(text):
        if tag.name == "b":
            return text[: tag.value_start] + text[tag.value_end :]
    return text


@dataclass(frozen=True)
class DkimSignature:
    """A DKIM-Signature header value. ``b=``/``bh=`` are base64 with whitespace removed."""

    domain: str
    selector: str
    headers: tuple[str, ...]
    algorithm: str = "rsa-sha256"
    body_hash: str = ""
    signature: str = ""
    version: str = "1"
    canonicalization: str = "simple/simple"
    identity: str | None = None
    length: int | None = None
    query_methods: tuple[str, ...] | None = None
    timestamp: int | None = None
    expiration: int | None = None
    copied_headers: str | None = None
    extensions: tuple[tuple[str, str], ...] = ()
    tags: tuple[SignatureTag, ...] = field(default=(), compare=False)
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    @property
    def header_canonicalization(self) -> str:
        return self.canonicalization.partition("/")[0]

    @property
    def body_canonicalization(self) -> str:
        return self.canonicalization.partition("/")[2] or "simple"

    @property
    def signature_bytes(self) -> bytes | None:
        return _b64(self.signature)

    @property
    def body_hash_bytes(self) -> bytes | None:
        return _b64(self.body_hash)

    def to_text(self) -> str:
        """Canonical header value, ``b=`` last (so a signer can append the signature)."""
        pairs = [("v", self.version), ("a", self.algorithm), ("c", self.canonicalization)]
        pairs += [("d", self.domain), ("s", self.selector)]
        optional = (
            ("t", self.timestamp),
            ("x", self.expiration),
            ("i", self.identity),
            ("l", self.length),
            ("q", ":".join(self.query_methods) if self.query_methods is not None else None),
        )
        pairs += [(name, str(value)) for name, value in optional if value is not None]
        pairs.append(("h", ":".join(self.headers)))
        if self.copied_headers is not None:
            pairs.append(("z", self.copied_headers))
        pairs += [*self.extensions, ("bh", self.body_hash), ("b", self.signature)]
        return format_taglist(pairs)


def parse_signature(text: str) -> DkimSignature:
    """Parse a DKIM-Signature header value (folding allowed); never raises."""
    taglist = parse_taglist(text, syntax=SIGNATURE_SYNTAX)
    problems = list(taglist.diagnostics)
    tags = {tag.name: tag for tag in taglist.tags}

    def bad(message: str, name: str) -> None:
        column = tags[name].column if name in tags else len(text) + 1
        problems.append(SIGNATURE_SYNTAX.at(message, column=column, tag=name))

    def value(name: str) -> str:
        return tags[name].value if name in tags else ""

    def number(name: str, digits: int) -> int | None:
        if name not in tags:
            return None
        if re.fullmatch(rf"[0-9]{{1,{digits}}}", value(name)):
            return int(value(name))
        bad(f"{name}={value(name)} is not a number of at most {digits} digits", name)
        return None

    for name in ("v", "a", "b", "bh", "d", "h", "s"):
        if name not in tags:
            bad(f"the required tag {name}= is missing", name)
    canon = value("c").lower() or "simple"
    canon = canon if "/" in canon else canon + "/simple"
    query = _WSP.sub("", value("q"))
    signature = DkimSignature(
        domain=value("d"),
        selector=value("s"),
        headers=tuple(_WSP.sub("", value("h")).split(":")) if "h" in tags else (),
        algorithm=value("a").lower(),
        body_hash=_WSP.sub("", value("bh")),
        signature=_WSP.sub("", value("b")),
        version=value("v") or "1",
        canonicalization=canon,
        identity=tags["i"].value if "i" in tags else None,
        length=number("l", 76),
        query_methods=tuple(query.split(":")) if "q" in tags else None,
        timestamp=number("t", 12),
        expiration=number("x", 12),
        copied_headers=_WSP.sub("", value("z")) if "z" in tags else None,
        extensions=tuple((t.name, t.value) for t in taglist.tags if t.name not in _SIG_TAGS),
        tags=signature_tags(text),
    )
    if "v" in tags and value("v") != "1":
        bad(f"v={value('v')} must be 1", "v")
    if "a" in tags and signature.algorithm not in ALGORITHMS:
        bad(f"a={value('a')} is not a DKIM algorithm{hint(value('a'), ALGORITHMS)}", "a")
    if signature.algorithm == "rsa-sha1":
        problems.append(
            SHA1.at("a=rsa-sha1 must not be used (RFC 8301)", column=tags["a"].column, tag="a")
        )
    for name in ("b", "bh"):
        encoded = getattr(signature, "signature" if name == "b" else "body_hash")
        if name in tags and (not encoded or _b64(encoded) is None):
            bad(f"{name}= is {'empty' if not encoded else 'not valid base64'}", name)
    if "c" in tags and not re.fullmatch(r"(simple|relaxed)/(simple|relaxed)", canon):
        bad(f"c={value('c')} is not simple or relaxed (header/body)", "c")
    for name in ("d", "s"):
        if name in tags and not _DOMAIN.match(value(name)):
            bad(f"{name}={value(name)} is not a valid domain name", name)
    if "h" in tags:
        if not all(signature.headers):
            bad("h= has an empty header field name", "h")
        if "from" not in (header.lower() for header in signature.headers):
            bad("h= must include From", "h")
    if signature.identity is not None and "d" in tags:
        _, at, domain = signature.identity.rpartition("@")
        d = signature.domain.lower()
        if not at or not (domain.lower() == d or domain.lower().endswith("." + d)):
            bad(f"i={signature.identity} is not within d={signature.domain}", "i")
    if signature.query_methods is not None and "dns/txt" not in query.lower().split(":"):
        bad(f"q={value('q')} does not include dns/txt", "q")
    t, x = signature.timestamp, signature.expiration
    if t is not None and x is not None and x <= t:
        bad(f"x={x} must be later than t={t}", "x")
    if signature.length is not None:
        problems.append(
            BODY_LENGTH.at(
                f"l={signature.length}: content appended after that many octets is unsigned",
                column=tags["l"].column,
                tag="l",
            )
        )
    return replace(signature, diagnostics=tuple(problems))
