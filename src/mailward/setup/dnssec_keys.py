"""DNSSEC key pairs: generate them, and read and write them in BIND's file format.

NAME
    dnssec_keys -- the keys ``mailward dnssec keygen`` makes and ``mailward dnssec sign`` uses.

DESCRIPTION
    A key is a pair of files named ``K<zone>.+<alg>+<tag>`` (zone with its final dot, algorithm
    and key tag zero-padded to 3 and 5 digits), as BIND's ``dnssec-keygen`` writes them:

    ``.key``
        comment lines (role, key tag, timing) and the DNSKEY record, mode 0644;
    ``.private``
        ``Private-key-format: v1.3``, ``Algorithm: 13 (ECDSAP256SHA256)``, the private key
        fields (``PrivateKey`` for ECDSA and EdDSA; ``Modulus`` … ``Coefficient`` for RSA, all
        base64 of big-endian integers), and the timing fields, mode 0600.

    Timing (``Created``, ``Publish``, ``Activate``, ``Inactive``, ``Delete``; UTC
    ``YYYYMMDDHHMMSS``) is read and honoured: a key is *published* (in the DNSKEY RRset) from
    ``Publish`` until ``Delete``, and *active* (signs) from ``Activate`` until ``Inactive``; a
    missing field means "always". A key with the SEP flag (257) is a key-signing key; when an
    algorithm has no zone-signing key (256), its key-signing key signs everything (a CSK).

STANDARDS
    RFC 4034 §2 (DNSKEY), Appendix B (key tag); RFC 3110 (RSA keys), RFC 5702 (RSASHA256,
    RSASHA512), RFC 6605 (ECDSA: r|s signatures, uncompressed points without the 0x04 octet),
    RFC 8080 (Ed25519, Ed448); RFC 6979 (deterministic ECDSA, used when the OpenSSL build has
    it, so re-signing unchanged data reproduces the same signature).

SECURITY
    Private key files are created with ``O_EXCL`` and mode 0600 (never over an existing file)
    and are never printed. Key files are trusted input (the user's own), but are still read
    with bounds (:data:`MAX_KEY_FILE`), and a ``.private`` whose key does not match its
    ``.key`` is an error, not a silent mismatch.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from mailward._files import read_limited
from mailward.errors import MailwardError
from mailward.records.dnssec import (
    DnskeyRecord,
    algorithm_name,
    key_tag,
    name_to_wire,
    parse_dnskey,
)

__all__ = [
    "ALGORITHM_CHOICES",
    "DnssecKey",
    "KeyFileError",
    "generate_key",
    "load_keys",
    "read_key",
    "read_public_key",
    "write_key",
]

MAX_KEY_FILE = 64 * 1024
KSK_FLAGS, ZSK_FLAGS = 257, 256
# What ``--algorithm`` accepts (lower-case mnemonics) -> number; the first three are the ones
# to recommend (RFC 9904: RECOMMENDED for signing).
ALGORITHM_CHOICES: dict[str, int] = {
    "ecdsap256sha256": 13,
    "ed25519": 15,
    "rsasha256": 8,
    "ecdsap384sha384": 14,
    "ed448": 16,
    "rsasha512": 10,
}
SUPPORTED = frozenset(ALGORITHM_CHOICES.values())
TIMING_FIELDS = ("Created", "Publish", "Activate", "Inactive", "Delete")
_RSA_FIELDS = (
    "Modulus",
    "PublicExponent",
    "PrivateExponent",
    "Prime1",
    "Prime2",
    "Exponent1",
    "Exponent2",
    "Coefficient",
)
_EC_CURVES: dict[int, tuple[ec.EllipticCurve, hashes.HashAlgorithm, int]] = {
    13: (ec.SECP256R1(), hashes.SHA256(), 32),
    14: (ec.SECP384R1(), hashes.SHA384(), 48),
}
_RSA_HASHES: dict[int, hashes.HashAlgorithm] = {8: hashes.SHA256(), 10: hashes.SHA512()}

PrivateKey = (
    ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | rsa.RSAPrivateKey
)
PublicKey = (
    ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey | rsa.RSAPublicKey
)


class KeyFileError(MailwardError):
    """A key file cannot be read, does not match its pair, or cannot be written."""


def _ecdsa(hash_algorithm: hashes.HashAlgorithm) -> ec.ECDSA:
    """RFC 6979 deterministic ECDSA where cryptography and OpenSSL offer it (cryptography 43+,
    OpenSSL 3.2+); random-k ECDSA otherwise, which is just as valid."""
    try:
        probe = ec.ECDSA(hash_algorithm, deterministic_signing=True)
        ec.generate_private_key(ec.SECP256R1()).sign(b"probe", probe)
    except Exception:  # TypeError (old cryptography) or UnsupportedAlgorithm (old OpenSSL)
        return ec.ECDSA(hash_algorithm)
    return probe


_ECDSA_SCHEMES = {number: _ecdsa(curve[1]) for number, curve in _EC_CURVES.items()}


@dataclass(frozen=True, eq=False)
class DnssecKey:
    """One DNSSEC key: its zone, its DNSKEY, the private half (if loaded) and its timing."""

    zone: str  # absolute, lower case
    dnskey: DnskeyRecord
    private: PrivateKey | None = None
    timing: dict[str, int] = field(default_factory=dict)  # field name -> POSIX time
    path: Path | None = None  # the .private (or .key) file it came from

    @property
    def algorithm(self) -> int:
        return self.dnskey.algorithm

    @property
    def flags(self) -> int:
        return self.dnskey.flags

    @cached_property
    def tag(self) -> int:
        return key_tag(self.dnskey)

    @property
    def is_ksk(self) -> bool:
        """The SEP flag: a key-signing key (flags 257)."""
        return self.dnskey.is_sep

    @property
    def basename(self) -> str:
        """``Kexample.com.+013+12345``, BIND's file name without the suffix."""
        return f"K{self.zone}+{self.algorithm:03d}+{self.tag:05d}"

    @cached_property
    def deterministic(self) -> bool:
        """Whether signing the same data twice gives the same signature."""
        if self.algorithm in _EC_CURVES:
            return getattr(_ECDSA_SCHEMES[self.algorithm], "deterministic_signing", False) is True
        return True  # RSA PKCS#1 v1.5 and EdDSA are deterministic by construction

    def published(self, now: int) -> bool:
        return _between(self.timing.get("Publish"), self.timing.get("Delete"), now)

    def active(self, now: int) -> bool:
        return self.published(now) and _between(
            self.timing.get("Activate"), self.timing.get("Inactive"), now
        )

    def describe(self) -> str:
        role = "KSK" if self.is_ksk else "ZSK"
        return f"{self.basename} ({role}, {algorithm_name(self.algorithm)}, key tag {self.tag})"

    def sign(self, data: bytes) -> bytes:
        """The DNSSEC signature over ``data`` (RFC 4034 §3.1.8.1 signed data)."""
        key = self.private
        if key is None:
            raise KeyFileError(f"{self.basename}: no private key loaded")
        algorithm = self.algorithm
        if isinstance(key, ec.EllipticCurvePrivateKey):
            size = _EC_CURVES[algorithm][2]
            r, s = decode_dss_signature(key.sign(data, _ECDSA_SCHEMES[algorithm]))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), _RSA_HASHES[algorithm])
        return key.sign(data)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` over ``data`` verifies with the *published* DNSKEY."""
        public = public_key_from_dnskey(self.dnskey)
        try:
            if isinstance(public, ec.EllipticCurvePublicKey):
                size = _EC_CURVES[self.algorithm][2]
                if len(signature) != 2 * size:
                    return False
                der = encode_dss_signature(
                    int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
                )
                public.verify(der, data, ec.ECDSA(_EC_CURVES[self.algorithm][1]))
            elif isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, data, padding.PKCS1v15(), _RSA_HASHES[self.algorithm])
            else:
                public.verify(signature, data)
        except InvalidSignature:
            return False
        return True


def _between(start: int | None, end: int | None, now: int) -> bool:
    return (start is None or start <= now) and (end is None or now < end)


# -- generation --------------------------------------------------------------------------


def generate_key(
    zone: str,
    algorithm: int | str = 13,
    *,
    ksk: bool = True,
    rsa_bits: int = 2048,
    now: int | None = None,
) -> DnssecKey:
    """A new key for ``zone``: flags 257 (KSK or CSK) when ``ksk``, else 256 (ZSK).

    ``Created``, ``Publish`` and ``Activate`` are set to ``now``, as ``dnssec-keygen`` does.
    """
    number = _algorithm_number(algorithm)
    private: PrivateKey
    if number in _EC_CURVES:
        private = ec.generate_private_key(_EC_CURVES[number][0])
    elif number == 15:
        private = ed25519.Ed25519PrivateKey.generate()
    elif number == 16:
        private = ed448.Ed448PrivateKey.generate()
    else:
        if not 1024 <= rsa_bits <= 4096:
            raise KeyFileError(f"RSA keys are 1024 to 4096 bits, not {rsa_bits}")
        private = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    stamp = int(time.time()) if now is None else now
    dnskey = _dnskey(KSK_FLAGS if ksk else ZSK_FLAGS, number, private)
    timing = {"Created": stamp, "Publish": stamp, "Activate": stamp}
    return DnssecKey(_zone_name(zone), dnskey, private, timing)


def _algorithm_number(algorithm: int | str) -> int:
    number = algorithm if isinstance(algorithm, int) else ALGORITHM_CHOICES.get(algorithm.lower())
    if number is None and isinstance(algorithm, str) and algorithm.isdigit():
        number = int(algorithm)
    if number not in SUPPORTED:
        names = ", ".join(ALGORITHM_CHOICES)
        raise KeyFileError(f"algorithm {algorithm!r} is not supported; use one of {names}")
    return number


def _zone_name(zone: str) -> str:
    text = zone.strip().lower()
    text = text if text.endswith(".") else text + "."
    try:
        name_to_wire(text)
    except ValueError as exc:
        raise KeyFileError(f"{zone!r} is not a zone name: {exc}") from None
    return text


def _public_bytes(private: PrivateKey) -> bytes:
    """The DNSKEY public key field for a private key (RFC 3110, RFC 6605 §4, RFC 8080 §3)."""
    if isinstance(private, ec.EllipticCurvePrivateKey):
        numbers = private.public_key().public_numbers()
        size = (private.curve.key_size + 7) // 8
        return numbers.x.to_bytes(size, "big") + numbers.y.to_bytes(size, "big")
    if isinstance(private, rsa.RSAPrivateKey):
        public = private.public_key().public_numbers()
        exponent = _int_bytes(public.e)
        head = bytes([len(exponent)]) if len(exponent) < 256 else b"\0" + len(exponent).to_bytes(2)
        return head + exponent + _int_bytes(public.n)
    raw = serialization.Encoding.Raw
    return private.public_key().public_bytes(raw, serialization.PublicFormat.Raw)


def _dnskey(flags: int, algorithm: int, private: PrivateKey) -> DnskeyRecord:
    key = base64.b64encode(_public_bytes(private)).decode("ascii")
    return DnskeyRecord(flags, 3, algorithm, key)


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def public_key_from_dnskey(dnskey: DnskeyRecord) -> PublicKey:
    """The ``cryptography`` public key in a DNSKEY; raises :class:`KeyFileError` if invalid."""
    data = dnskey.key_bytes or b""
    algorithm = dnskey.algorithm
    try:
        if algorithm in _EC_CURVES:
            return ec.EllipticCurvePublicKey.from_encoded_point(
                _EC_CURVES[algorithm][0], b"\x04" + data
            )
        if algorithm == 15:
            return ed25519.Ed25519PublicKey.from_public_bytes(data)
        if algorithm == 16:
            return ed448.Ed448PublicKey.from_public_bytes(data)
        if algorithm in _RSA_HASHES and len(data) > 3:
            length, start = (data[0], 1) if data[0] else (int.from_bytes(data[1:3]), 3)
            exponent = int.from_bytes(data[start : start + length], "big")
            modulus = int.from_bytes(data[start + length :], "big")
            return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except ValueError as exc:
        raise KeyFileError(f"the DNSKEY's public key does not load: {exc}") from None
    raise KeyFileError(f"algorithm {algorithm} ({algorithm_name(algorithm)}) is not supported")


# -- writing -----------------------------------------------------------------------------


def _stamp(value: int) -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(value))


def key_file_text(key: DnssecKey) -> str:
    """The ``.key`` file: BIND's comment header and the DNSKEY record."""
    role = "key-signing" if key.is_ksk else "zone-signing"
    lines = [f"; This is a {role} key, keyid {key.tag}, for {key.zone}"]
    for name in TIMING_FIELDS:
        if name in key.timing:
            value = key.timing[name]
            readable = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(value))
            lines.append(f"; {name}: {_stamp(value)} ({readable})")
    lines.append(f"{key.zone} IN DNSKEY {key.dnskey.to_text()}")
    return "\n".join(lines) + "\n"


def private_file_text(key: DnssecKey) -> str:
    """The ``.private`` file (format v1.3), as ``dnssec-keygen`` writes it."""
    private = key.private
    if private is None:
        raise KeyFileError(f"{key.basename}: no private key to write")
    lines = [
        "Private-key-format: v1.3",
        f"Algorithm: {key.algorithm} ({algorithm_name(key.algorithm)})",
    ]
    if isinstance(private, rsa.RSAPrivateKey):
        numbers = private.private_numbers()
        values = (
            numbers.public_numbers.n,
            numbers.public_numbers.e,
            numbers.d,
            numbers.p,
            numbers.q,
            numbers.dmp1,
            numbers.dmq1,
            numbers.iqmp,
        )
        for name, value in zip(_RSA_FIELDS, values, strict=True):
            lines.append(f"{name}: {_b64(_int_bytes(value))}")
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        size = _EC_CURVES[key.algorithm][2]
        scalar = private.private_numbers().private_value.to_bytes(size, "big")
        lines.append(f"PrivateKey: {_b64(scalar)}")
    else:
        raw = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        lines.append(f"PrivateKey: {_b64(raw)}")
    lines += [f"{name}: {_stamp(key.timing[name])}" for name in TIMING_FIELDS if name in key.timing]
    return "\n".join(lines) + "\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def write_key(key: DnssecKey, directory: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``.key`` (0644) and ``.private`` (0600) into ``directory``; never overwrites.

    Returns the two paths. Raises :class:`KeyFileError` if either file exists.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    public_path = folder / f"{key.basename}.key"
    private_path = folder / f"{key.basename}.private"
    for path in (public_path, private_path):
        if path.exists():
            raise KeyFileError(f"{path} exists already; not overwriting a key")
    _create(private_path, private_file_text(key), 0o600)
    try:
        _create(public_path, key_file_text(key), 0o644)
    except BaseException:
        private_path.unlink(missing_ok=True)
        raise
    return public_path, private_path


def _create(path: Path, text: str, mode: int) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        os.fchmod(handle.fileno(), mode)  # whatever the umask says
        handle.write(text)


# -- reading -----------------------------------------------------------------------------

_BASENAME = re.compile(r"^K(?P<zone>.+\.)\+(?P<alg>\d{3})\+(?P<tag>\d{5})$")


def _read_text(path: Path) -> str:
    try:
        data = read_limited(path, MAX_KEY_FILE)
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None
    if data is None:
        raise KeyFileError(f"{path}: larger than {MAX_KEY_FILE} bytes; not a key file")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: not a key file (not ASCII text)") from None


def read_public_key(path: str | os.PathLike[str]) -> tuple[str, DnskeyRecord, dict[str, int]]:
    """The zone, DNSKEY and timing (from the comments) in a ``.key`` file."""
    path = Path(path)
    text = _read_text(path)
    timing: dict[str, int] = {}
    found: tuple[str, DnskeyRecord] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        comment = re.match(r"^;\s*(\w+):\s*(\d{14})\b", line)
        if comment and comment[1] in TIMING_FIELDS:
            timing[comment[1]] = _parse_stamp(comment[2], path, number)
            continue
        code = line.split(";", 1)[0].strip()
        if not code:
            continue
        words = code.split()
        index = next((i for i, w in enumerate(words) if w.upper() == "DNSKEY"), None)
        if index is None or index == 0 or found is not None:
            raise KeyFileError(f"{path}:{number}: expected one '<zone> IN DNSKEY …' line")
        dnskey = parse_dnskey(" ".join(words[index + 1 :]))
        errors = [d for d in dnskey.diagnostics if d.severity.value == "error"]
        if errors:
            raise KeyFileError(f"{path}:{number}: {errors[0].message}")
        found = (_zone_name(words[0]), dnskey)
    if found is None:
        raise KeyFileError(f"{path}: no DNSKEY record in the file")
    return found[0], found[1], timing


def _parse_stamp(text: str, path: Path, line: int) -> int:
    try:
        return calendar.timegm(time.strptime(text, "%Y%m%d%H%M%S"))
    except ValueError:
        raise KeyFileError(f"{path}:{line}: {text!r} is not a YYYYMMDDHHMMSS time") from None


def _private_fields(path: Path) -> tuple[dict[str, str], dict[str, int]]:
    fields: dict[str, str] = {}
    timing: dict[str, int] = {}
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise KeyFileError(f"{path}:{number}: expected 'Field: value'")
        name, value = name.strip(), value.strip()
        if name in TIMING_FIELDS:
            timing[name] = _parse_stamp(value, path, number)
        else:
            fields[name] = value
    if not fields.get("Private-key-format", "").startswith("v1."):
        raise KeyFileError(f"{path}: not a BIND private key file (no 'Private-key-format: v1.x')")
    return fields, timing


def _private_key(fields: dict[str, str], algorithm: int, path: Path) -> PrivateKey:
    def number(name: str) -> int:
        if name not in fields:
            raise KeyFileError(f"{path}: the {name} field is missing")
        try:
            return int.from_bytes(base64.b64decode(fields[name], validate=True), "big")
        except (binascii.Error, ValueError):
            raise KeyFileError(f"{path}: the {name} field is not base64") from None

    try:
        if algorithm in _EC_CURVES:
            return ec.derive_private_key(number("PrivateKey"), _EC_CURVES[algorithm][0])
        if algorithm in (15, 16):
            raw = number("PrivateKey").to_bytes(32 if algorithm == 15 else 57, "big")
            if algorithm == 15:
                return ed25519.Ed25519PrivateKey.from_private_bytes(raw)
            return ed448.Ed448PrivateKey.from_private_bytes(raw)
        if algorithm in _RSA_HASHES:
            n, e, d, p, q, dmp1, dmq1, iqmp = (number(name) for name in _RSA_FIELDS)
            public = rsa.RSAPublicNumbers(e, n)
            return rsa.RSAPrivateNumbers(p, q, d, dmp1, dmq1, iqmp, public).private_key()
    except (ValueError, OverflowError) as exc:
        raise KeyFileError(f"{path}: the private key does not load: {exc}") from None
    raise KeyFileError(
        f"{path}: algorithm {algorithm} ({algorithm_name(algorithm)}) is not supported"
    )


def read_key(path: str | os.PathLike[str]) -> DnssecKey:
    """Read a key pair given its ``.key``, its ``.private`` or its base name.

    Both files must exist; the private key must produce the ``.key``'s public key. Timing is
    taken from the ``.private`` file (BIND's source of truth), else from the ``.key`` comments.
    """
    given = Path(path)
    base = given.with_suffix("") if given.suffix in (".key", ".private") else given
    public_path = base.with_name(base.name + ".key")
    private_path = base.with_name(base.name + ".private")
    zone, dnskey, key_timing = read_public_key(public_path)
    fields, timing = _private_fields(private_path)
    match = re.match(r"\s*(\d+)", fields.get("Algorithm", ""))
    if match is None:
        raise KeyFileError(f"{private_path}: the Algorithm field is missing")
    algorithm = int(match[1])
    if algorithm != dnskey.algorithm:
        raise KeyFileError(
            f"{private_path}: algorithm {algorithm}, but {public_path.name} has {dnskey.algorithm}"
        )
    private = _private_key(fields, algorithm, private_path)
    if base64.b64decode(dnskey.key) != _public_bytes(private):
        raise KeyFileError(
            f"{private_path}: the private key does not match the public key in {public_path.name}"
        )
    return DnssecKey(zone, dnskey, private, timing or key_timing, private_path)


def load_keys(directory: str | os.PathLike[str], zone: str) -> list[DnssecKey]:
    """Every key pair for ``zone`` in ``directory`` (files ``K<zone>.+*.private``), by tag."""
    folder = Path(directory)
    if not folder.is_dir():
        raise KeyFileError(f"{folder}: not a directory of keys")
    wanted = _zone_name(zone)
    keys = []
    for path in sorted(folder.iterdir()):
        match = _BASENAME.match(path.name.removesuffix(".private"))
        if path.suffix != ".private" or match is None or match["zone"].lower() != wanted:
            continue
        keys.append(read_key(path))
    return sorted(keys, key=lambda k: (not k.is_ksk, k.algorithm, k.tag))


def describe_keys(keys: Iterable[DnssecKey]) -> str:
    return ", ".join(key.describe() for key in keys)
