"""DS and DNSKEY rdata: parse and check them, compute key tags and DS digests.

RFC 4034 §2 (DNSKEY: flags, protocol, algorithm, base64 key), §5 (DS: key tag, algorithm,
digest type, hex digest), Appendix B (key tag); key formats RFC 3110 (RSA), RFC 2536 (DSA),
RFC 6605 (ECDSA), RFC 8080 (EdDSA); digest types RFC 4509 (SHA-256), RFC 6605 (SHA-384);
revocation RFC 5011 §7. Which algorithms may be used for signing and which digest types for
delegation comes from RFC 9904 (which obsoletes RFC 8624 and moves the advice into the IANA
registries' "Use for DNSSEC Signing"/"Use for DNSSEC Delegation" columns): Table 2 (§3) and
Table 3 (§4), transcribed below. RFC 9904 keeps RFC 8624's levels (SHA-1 digests are MUST NOT for
delegation; RSASHA1 signing is NOT RECOMMENDED).

SECURITY: input is hostile text (a DS pasted from a registrar, a DNSKEY from a zone). Parsing
is a single split into fields; a key is decoded only up to :data:`MAX_KEY_OCTETS` (the largest
rdata DNS can carry) and handed to ``cryptography`` only when its length fits its algorithm.
Nothing here raises on bad input except the builders (:func:`ds_from_dnskey`), which are given
trusted, already-parsed records.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field, replace

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mailward.codes import Code, Diagnostic, Severity, define

MAX_KEY_OCTETS = 65535

# RFC 9904 Table 2: number -> (mnemonic, "Use for DNSSEC Signing").
ALGORITHMS: dict[int, tuple[str, str]] = {
    1: ("RSAMD5", "MUST NOT"),
    3: ("DSA", "MUST NOT"),
    5: ("RSASHA1", "NOT RECOMMENDED"),
    6: ("DSA-NSEC3-SHA1", "MUST NOT"),
    7: ("RSASHA1-NSEC3-SHA1", "NOT RECOMMENDED"),
    8: ("RSASHA256", "RECOMMENDED"),
    10: ("RSASHA512", "NOT RECOMMENDED"),
    12: ("ECC-GOST", "MUST NOT"),
    13: ("ECDSAP256SHA256", "RECOMMENDED"),
    14: ("ECDSAP384SHA384", "MAY"),
    15: ("ED25519", "RECOMMENDED"),
    16: ("ED448", "MAY"),
    17: ("SM2SM3", "MAY"),
    23: ("ECC-GOST12", "MAY"),
    253: ("PRIVATEDNS", "MAY"),
    254: ("PRIVATEOID", "MAY"),
}
# Registered in the IANA table but never usable for signing a zone (RFC 4034 App. A.1, RFC 8078).
NOT_ZONE_SIGNING: dict[int, str] = {0: "DELETE", 2: "DH", 252: "INDIRECT"}
# RFC 9904 Table 3: number -> (mnemonic, "Use for DNSSEC Delegation", digest length in octets).
DIGESTS: dict[int, tuple[str, str, int]] = {
    0: ("NULL", "MUST NOT", 0),
    1: ("SHA-1", "MUST NOT", 20),
    2: ("SHA-256", "RECOMMENDED", 32),
    3: ("GOST R 34.11-94", "MUST NOT", 32),
    4: ("SHA-384", "MAY", 48),
    5: ("GOST R 34.11-2012", "MAY", 32),
    6: ("SM3", "MAY", 32),
}
_HASHES = {1: "sha1", 2: "sha256", 4: "sha384"}
# Public key length in octets for the fixed-size algorithms (RFC 6605 §4, RFC 8080 §3,
# RFC 5933 §2, RFC 9558 §3).
_KEY_OCTETS = {12: 64, 13: 64, 14: 96, 15: 32, 16: 57, 23: 64}
_RSA = frozenset({1, 5, 7, 8, 10})
ZONE, REVOKE, SEP = 0x0100, 0x0080, 0x0001

DS_SYNTAX = define(
    "ds.syntax",
    Severity.ERROR,
    "DS record cannot be parsed",
    why="A registrar or parent zone rejects a malformed DS, or publishes one that matches no key.",
    example="12345 8 SHA256 0x49FD46E6C4B45C55D4AC",
    fix="Write four fields: key tag (0-65535), algorithm, digest type, and the hex digest.",
    refs=("RFC 4034 §5.3",),
)
DS_DIGEST_LENGTH = define(
    "ds.digest-length",
    Severity.ERROR,
    "DS digest length does not fit its digest type",
    why="A digest of the wrong length never matches the key: validators find the zone bogus.",
    example="12345 8 2 0234567890ABCDEF1234567890ABCDEF1234567890",
    fix="Copy the whole digest, or give the digest type that produced it (SHA-1 40 hex digits, "
    "SHA-256 64, SHA-384 96).",
    refs=("RFC 4034 §5.1.4", "RFC 4509 §2.2", "RFC 6605 §2"),
)
DS_DIGEST_NOT_HEX = define(
    "ds.digest-not-hex",
    Severity.ERROR,
    "DS digest is not hexadecimal",
    why="The digest field holds hex digits only; anything else is rejected or never matches.",
    example="12345 8 2 SGVsbG8gd29ybGQ=",
    fix="Paste the hex digest as the DNS provider shows it (0-9, A-F).",
    refs=("RFC 4034 §5.3",),
)
DS_ALGORITHM_DEPRECATED = define(
    "ds.algorithm-deprecated",
    Severity.WARNING,
    "DS names a DNSSEC algorithm that should no longer be used",
    why="Validators are dropping support for these algorithms; a zone signed with one turns "
    "insecure (or fails) for them.",
    example="12345 5 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE6EB0C1F3D9F21DF5BDD0F6D1",
    fix="Roll the zone to ECDSAP256SHA256 (13) or ED25519 (15), then publish the new key's DS.",
    refs=("RFC 9904 §3", "RFC 4034 App. A.1"),
)
DS_ALGORITHM_UNKNOWN = define(
    "ds.algorithm-unknown",
    Severity.ERROR,
    "DS names an algorithm that cannot sign a zone",
    why="Validators ignore a DS whose algorithm they do not know; with no other DS the "
    "delegation is insecure.",
    example="12345 99 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE6EB0C1F3D9F21DF5BDD0F6D1",
    fix="Use the algorithm number of the DNSKEY the DS was made from (13 for ECDSAP256SHA256).",
    refs=("RFC 4034 §5.1.2", "RFC 9904 §3"),
)
DS_DIGEST_SHA1 = define(
    "ds.digest-sha1",
    Severity.WARNING,
    "DS uses a SHA-1 digest",
    why="RFC 9904 lists SHA-1 as MUST NOT for delegation; validators may stop trusting it.",
    example="12345 13 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
    fix="Publish a SHA-256 (digest type 2) DS for the same key and remove the SHA-1 one.",
    refs=("RFC 9904 §4", "RFC 4509 §3"),
)
DS_DIGEST_TYPE = define(
    "ds.digest-type-unsupported",
    Severity.ERROR,
    "DS uses a digest type that must not be used or is unknown",
    why="Validators ignore such a DS; with no other DS the delegation is insecure.",
    example="12345 13 3 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE6EB0C1F3D9F21DF5BDD0F6D1",
    fix="Publish a SHA-256 (digest type 2) DS instead.",
    refs=("RFC 9904 §4", "RFC 4034 §5.1.3"),
)
KEY_SYNTAX = define(
    "dnskey.syntax",
    Severity.ERROR,
    "DNSKEY record cannot be parsed",
    why="A server refuses to load a malformed DNSKEY; the zone then cannot be validated.",
    example="257 3 ECDSA AwEAAb...",
    fix="Write four fields: flags, protocol (3), algorithm, and the base64 public key.",
    refs=("RFC 4034 §2.2",),
)
KEY_INVALID = define(
    "dnskey.key-invalid",
    Severity.ERROR,
    "DNSKEY public key is not a valid key for its algorithm",
    why="Signatures cannot be checked against a key that does not decode; the zone is bogus.",
    example="257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0d",
    fix="Paste the whole key as the signer printed it, with the algorithm it was made for.",
    refs=("RFC 4034 §2.1.4", "RFC 3110 §2", "RFC 6605 §4", "RFC 8080 §3"),
)
KEY_ALGORITHM_DEPRECATED = define(
    "dnskey.algorithm-deprecated",
    Severity.WARNING,
    "DNSKEY uses a DNSSEC algorithm that should no longer be used",
    why="Validators are dropping support for these algorithms; the zone turns insecure for them.",
    example="257 3 5 AwEAAc...",
    fix="Roll the zone to ECDSAP256SHA256 (13) or ED25519 (15).",
    refs=("RFC 9904 §3",),
)
KEY_ALGORITHM_UNKNOWN = define(
    "dnskey.algorithm-unknown",
    Severity.ERROR,
    "DNSKEY uses an algorithm that cannot sign a zone",
    why="Validators treat a zone signed only with unknown algorithms as insecure.",
    example="257 3 99 AwEAAc...",
    fix="Generate the key with a zone-signing algorithm: ECDSAP256SHA256 (13) or ED25519 (15).",
    refs=("RFC 4034 §2.1.3", "RFC 9904 §3"),
)
KEY_FLAGS = define(
    "dnskey.flags",
    Severity.WARNING,
    "DNSKEY flags or protocol are unusual",
    why="Without the Zone Key flag the key cannot validate the zone, and a protocol other "
    "than 3 makes the record invalid.",
    example="0 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxIL…",
    fix="Use flags 257 for a key-signing key or 256 for a zone-signing key, and protocol 3.",
    refs=("RFC 4034 §2.1.1", "RFC 4034 §2.1.2", "RFC 5011 §7"),
)


def _norm(word: str) -> str:
    return re.sub(r"[-_/ ]", "", word).upper()


_ALGORITHM_NAMES = {_norm(name): n for n, (name, _) in ALGORITHMS.items()} | {
    _norm(name): n for n, name in NOT_ZONE_SIGNING.items()
}
_DIGEST_NAMES = {_norm(name): n for n, (name, _, _) in DIGESTS.items()} | {"GOST": 3}
_Specs = tuple[tuple[str, int, dict[str, int] | None], ...]
_DS_FIELDS: _Specs = (
    ("key tag", 65535, None),
    ("algorithm", 255, _ALGORITHM_NAMES),
    ("digest type", 255, _DIGEST_NAMES),
)
_DNSKEY_FIELDS: _Specs = (
    ("flags", 65535, None),
    ("protocol", 255, None),
    ("algorithm", 255, _ALGORITHM_NAMES),
)


def algorithm_name(number: int) -> str:
    """The IANA mnemonic (``ECDSAP256SHA256``), or ``ALG<n>`` when unassigned."""
    if number in ALGORITHMS:
        return ALGORITHMS[number][0]
    return NOT_ZONE_SIGNING.get(number, f"ALG{number}")


def _number(word: str, names: dict[str, int]) -> int | None:
    """A decimal octet or a mnemonic (case and dashes ignored) as a number."""
    if re.fullmatch(r"[0-9]{1,3}", word):
        value = int(word)
        return value if value <= 255 else None
    return names.get(_norm(word))


def _fields(text: str, syntax: Code) -> tuple[list[tuple[str, int]], list[Diagnostic]]:
    """Whitespace-separated words with 1-based columns; zone-file parentheses are dropped."""
    problems: list[Diagnostic] = []
    if text.count("(") != text.count(")") or text.count("(") > 1:
        problems.append(syntax.at("parentheses do not balance", column=1))
    words = [(m.group(), m.start() + 1) for m in re.finditer(r"[^\s()]+", text)]
    return words, problems


def _algorithm_checks(
    number: int, column: int, deprecated: Code, unknown: Code
) -> list[Diagnostic]:
    if number in NOT_ZONE_SIGNING or number not in ALGORITHMS:
        what = NOT_ZONE_SIGNING.get(number)
        reason = f"{what} is not a zone-signing algorithm" if what else "is not assigned"
        return [unknown.at(f"algorithm {number} {reason}", column=column, tag="algorithm")]
    name, use = ALGORITHMS[number]
    if use in ("MUST NOT", "NOT RECOMMENDED"):
        severity = Severity.ERROR if use == "MUST NOT" else Severity.WARNING
        return [
            deprecated.at(
                f"algorithm {number} ({name}) is {use} for signing (RFC 9904)",
                column=column,
                tag="algorithm",
                severity=severity,
            )
        ]
    return []


@dataclass(frozen=True)
class DsRecord:
    """DS rdata; ``digest`` is the hex digest as written, upper-cased, whitespace removed."""

    key_tag: int
    algorithm: int
    digest_type: int
    digest: str
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    @property
    def digest_bytes(self) -> bytes | None:
        """The digest octets, or ``None`` if the text is not hex."""
        try:
            return bytes.fromhex(self.digest)
        except ValueError:
            return None

    def to_text(self) -> str:
        return f"{self.key_tag} {self.algorithm} {self.digest_type} {self.digest}"


def parse_ds(text: str) -> DsRecord:
    """Parse DS rdata (``12345 13 2 49FD…``); never raises, problems are diagnostics."""
    words, problems = _fields(text, DS_SYNTAX)
    values, ok = _numbers(text, words, problems, DS_SYNTAX, _DS_FIELDS)
    rest = words[3:]
    digest = "".join(word for word, _ in rest).upper()
    record = DsRecord(values[0], values[1], values[2], digest)
    if ok[1]:
        problems += _algorithm_checks(
            values[1], words[1][1], DS_ALGORITHM_DEPRECATED, DS_ALGORITHM_UNKNOWN
        )
    if ok[2]:
        problems += _digest_type_checks(record, words[2][1])
    if rest:
        problems += _digest_checks(record, rest[0][1])
    elif len(words) >= 3:
        problems.append(DS_SYNTAX.at("the digest is missing", column=len(text) + 1))
    return replace(record, diagnostics=tuple(problems))


def _numbers(
    text: str, words: list[tuple[str, int]], problems: list[Diagnostic], syntax: Code, specs: _Specs
) -> tuple[list[int], list[bool]]:
    """The three leading numeric fields (a mnemonic where ``names`` allows one)."""
    values, ok = [0, 0, 0], [False, False, False]
    for index, (what, limit, names) in enumerate(specs):
        if index >= len(words):
            problems.append(syntax.at(f"the {what} is missing", column=len(text) + 1))
            continue
        word, column = words[index]
        number: int | None
        if names is not None:
            number = _number(word, names)
        else:
            number = int(word) if re.fullmatch(r"[0-9]{1,5}", word) else None
        if number is None or number > limit:
            problems.append(syntax.at(f"{word!r} is not a valid {what}", column=column))
        else:
            values[index], ok[index] = number, True
    return values, ok


def _digest_type_checks(record: DsRecord, column: int) -> list[Diagnostic]:
    number = record.digest_type
    if number == 1:
        return [
            DS_DIGEST_SHA1.at(
                "digest type 1 (SHA-1) is MUST NOT for delegation (RFC 9904)",
                column=column,
                tag="digest type",
            )
        ]
    if number not in DIGESTS or DIGESTS[number][1] == "MUST NOT":
        name = f" ({DIGESTS[number][0]})" if number in DIGESTS else ""
        reason = "is MUST NOT for delegation" if name else "is not assigned"
        return [
            DS_DIGEST_TYPE.at(
                f"digest type {number}{name} {reason}; use 2 (SHA-256)",
                column=column,
                tag="digest type",
            )
        ]
    return []


def _digest_checks(record: DsRecord, column: int) -> list[Diagnostic]:
    digest = record.digest
    if not re.fullmatch(r"[0-9A-F]*", digest):
        bare = re.sub(r"^0X|[:.\-]", "", digest)
        fixed = DsRecord(record.key_tag, record.algorithm, record.digest_type, bare)
        good = bool(bare) and re.fullmatch(r"[0-9A-F]*", bare) is not None
        bad = "".join(sorted({char for char in digest if char not in "0123456789ABCDEF"}))
        what = "starts with '0x'" if digest.startswith("0X") else f"contains {bad!r}"
        return [
            DS_DIGEST_NOT_HEX.at(
                f"the digest {what}; only hex digits 0-9 A-F are allowed",
                column=column,
                tag="digest",
                fix=fixed.to_text() if good else None,
            )
        ]
    if record.digest_type not in DIGESTS or record.digest_type == 0:
        return []
    name, _, octets = DIGESTS[record.digest_type]
    found, needed = len(digest), 2 * octets
    if found == needed:
        return []
    message = f"{found} hex digits, but digest type {record.digest_type} ({name}) needs {needed}"
    fix = None
    for other in (1, 2, 4):
        if other != record.digest_type and 2 * DIGESTS[other][2] == found:
            message += f" — this looks like a {DIGESTS[other][0]} digest (type {other})"
            fix = DsRecord(record.key_tag, record.algorithm, other, digest).to_text()
    if found % 2:
        message += "; an odd number of hex digits is not a whole number of octets"
    return [DS_DIGEST_LENGTH.at(message, column=column, tag="digest", fix=fix)]


@dataclass(frozen=True)
class DnskeyRecord:
    """DNSKEY rdata; ``key`` is the base64 public key as written, whitespace removed."""

    flags: int
    protocol: int
    algorithm: int
    key: str
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    @property
    def key_bytes(self) -> bytes | None:
        """The public key octets, or ``None`` if ``key`` is not base64."""
        return _b64(self.key)

    @property
    def is_zone_key(self) -> bool:
        return bool(self.flags & ZONE)

    @property
    def is_sep(self) -> bool:
        """Secure Entry Point: by convention the key-signing key (flags 257)."""
        return bool(self.flags & SEP)

    @property
    def is_revoked(self) -> bool:
        return bool(self.flags & REVOKE)

    def to_wire(self) -> bytes:
        """The rdata in wire format (RFC 4034 §2.1); a non-base64 key counts as empty."""
        head = self.flags.to_bytes(2, "big") + bytes([self.protocol, self.algorithm])
        return head + (self.key_bytes or b"")

    def to_text(self) -> str:
        return f"{self.flags} {self.protocol} {self.algorithm} {self.key}"


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_dnskey(text: str) -> DnskeyRecord:
    """Parse DNSKEY rdata (``257 3 13 base64…``); never raises, problems are diagnostics."""
    words, problems = _fields(text, KEY_SYNTAX)
    values, ok = _numbers(text, words, problems, KEY_SYNTAX, _DNSKEY_FIELDS)
    key = "".join(word for word, _ in words[3:])
    record = DnskeyRecord(values[0], values[1], values[2], key)
    if ok[0] and ok[1]:
        problems += _flag_checks(record, words[0][1], words[1][1])
    if ok[2]:
        problems += _algorithm_checks(
            record.algorithm, words[2][1], KEY_ALGORITHM_DEPRECATED, KEY_ALGORITHM_UNKNOWN
        )
    if len(words) >= 3 and not words[3:]:
        problems.append(KEY_SYNTAX.at("the public key is missing", column=len(text) + 1))
    elif words[3:]:
        problem = _key_problem(record) if ok[2] else None
        if problem:
            problems.append(KEY_INVALID.at(problem, column=words[3][1], tag="public key"))
    return replace(record, diagnostics=tuple(problems))


def _flag_checks(record: DnskeyRecord, flags_column: int, protocol_column: int) -> list[Diagnostic]:
    problems = []
    if record.protocol != 3:
        fixed = DnskeyRecord(record.flags, 3, record.algorithm, record.key)
        problems.append(
            KEY_FLAGS.at(
                f"protocol is {record.protocol}; it must be 3",
                column=protocol_column,
                tag="protocol",
                fix=fixed.to_text(),
                severity=Severity.ERROR,
            )
        )
    flags = record.flags
    reserved = flags & ~(ZONE | REVOKE | SEP)
    if not flags & ZONE:
        problems.append(
            KEY_FLAGS.at(
                f"flags {flags} lack the Zone Key bit (256): the key cannot validate the zone",
                column=flags_column,
                tag="flags",
            )
        )
    elif reserved:
        problems.append(
            KEY_FLAGS.at(
                f"flags {flags} set reserved bits ({reserved}); use 256 or 257",
                column=flags_column,
                tag="flags",
                fix=DnskeyRecord(flags & ~reserved, 3, record.algorithm, record.key).to_text(),
            )
        )
    elif flags & REVOKE:
        problems.append(
            KEY_FLAGS.at(
                f"flags {flags}: the key is revoked (RFC 5011); remove it once the rollover ends",
                column=flags_column,
                tag="flags",
                severity=Severity.INFO,
            )
        )
    return problems


def _key_problem(record: DnskeyRecord) -> str | None:
    """Why the key does not fit its algorithm, or ``None``."""
    data = record.key_bytes
    algorithm = record.algorithm
    if data is None:
        return "the public key is not valid base64"
    if len(data) > MAX_KEY_OCTETS:
        return f"the public key is {len(data)} octets, more than a DNS record can hold"
    if algorithm in _RSA:
        return _rsa_problem(data)
    if algorithm in (3, 6):
        t = data[0] if data else 0
        needed = 1 + 20 + 3 * (64 + 8 * t)
        if t > 8 or len(data) != needed:
            return f"a DSA key with T={t} is {needed} octets, not {len(data)}"
        return None
    if algorithm in _KEY_OCTETS and len(data) != _KEY_OCTETS[algorithm]:
        name = algorithm_name(algorithm)
        return f"an {name} key is {_KEY_OCTETS[algorithm]} octets, not {len(data)}"
    if algorithm in (13, 14):
        curve: ec.EllipticCurve = ec.SECP256R1() if algorithm == 13 else ec.SECP384R1()
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + data)
        except ValueError:
            return f"the key is not a point on the {curve.name} curve"
    return None


def _rsa_problem(data: bytes) -> str | None:
    """RFC 3110 §2: exponent length (1 or 3 octets), exponent, modulus; no leading zeros."""
    if len(data) < 3:
        return "an RSA key needs an exponent and a modulus"
    length, start = (data[0], 1) if data[0] else (int.from_bytes(data[1:3], "big"), 3)
    exponent, modulus = data[start : start + length], data[start + length :]
    if not length or len(exponent) < length or not modulus:
        return "the RSA key's exponent length runs past the end of the key"
    if exponent[0] == 0 or modulus[0] == 0:
        return "the RSA key has leading zero octets, which RFC 3110 prohibits"
    bits = int.from_bytes(modulus, "big").bit_length()
    if not 512 <= bits <= 4096:
        return f"the RSA modulus is {bits} bits; RFC 3110 allows 512 to 4096"
    try:
        rsa.RSAPublicNumbers(
            int.from_bytes(exponent, "big"), int.from_bytes(modulus, "big")
        ).public_key()
    except ValueError as error:
        return f"the RSA key does not load: {error}"
    return None


def key_tag(dnskey: DnskeyRecord) -> int:
    """The key tag (RFC 4034 Appendix B), with the RSA/MD5 rule of Appendix B.1."""
    wire = dnskey.to_wire()
    if dnskey.algorithm == 1:
        return int.from_bytes(wire[-3:-1], "big") if len(wire) >= 7 else 0
    total = 0
    for index, octet in enumerate(wire):
        total += octet if index & 1 else octet << 8
    total += (total >> 16) & 0xFFFF
    return total & 0xFFFF


def name_to_wire(name: str) -> bytes:
    """The canonical (lower-cased) wire form of a domain name (RFC 4034 §6.2).

    Accepts ``\\.`` and ``\\DDD`` escapes; raises ``ValueError`` for an invalid name.
    """
    if name in ("", "."):
        return b"\x00"
    labels: list[bytes] = []
    label = bytearray()
    index = 0
    while index < len(name):
        char = name[index]
        index += 1
        if char == ".":
            if not label:
                raise ValueError(f"{name!r} has an empty label")
            labels.append(bytes(label))
            label = bytearray()
            continue
        if char == "\\":
            digits = name[index : index + 3]
            if re.fullmatch(r"[0-9]{3}", digits) and int(digits) <= 255:
                label.append(int(digits))
                index += 3
                continue
            if index >= len(name):
                raise ValueError(f"{name!r} ends with a backslash")
            char = name[index]
            index += 1
        if ord(char) > 127:
            raise ValueError(f"{name!r} is not ASCII; give its xn-- form")
        label.append(ord(char))
    if label:
        labels.append(bytes(label))
    wire = b"".join(bytes([len(x)]) + x.lower() for x in labels) + b"\x00"
    if any(len(x) > 63 for x in labels) or len(wire) > 255:
        raise ValueError(f"{name!r} is too long for a domain name")
    return wire


def ds_from_dnskey(owner: str, dnskey: DnskeyRecord, digest_type: int | str = 2) -> DsRecord:
    """The DS for ``dnskey`` at ``owner`` (RFC 4034 §5.1.4): hash(owner | DNSKEY rdata).

    ``digest_type`` is 1, 2 or 4 or a mnemonic (``"SHA-256"``); raises ``ValueError`` for
    another digest type, an invalid owner name or a key that is not base64.
    """
    number = digest_type if isinstance(digest_type, int) else _DIGEST_NAMES.get(_norm(digest_type))
    if number not in _HASHES:
        raise ValueError(f"digest type {digest_type!r} cannot be computed (use 1, 2 or 4)")
    if dnskey.key_bytes is None:
        raise ValueError("the DNSKEY's public key is not base64")
    digest = hashlib.new(_HASHES[number], name_to_wire(owner) + dnskey.to_wire()).hexdigest()
    return DsRecord(key_tag(dnskey), dnskey.algorithm, number, digest.upper())
