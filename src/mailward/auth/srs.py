"""SRS, the Sender Rewriting Scheme: envelope senders a forwarder may send, and bounces back.

A forwarder that relays ``alice@orig.example``'s mail keeps her envelope sender, and the next
receiver checks *orig.example*'s SPF against the forwarder's IP address: SPF fails. SRS
rewrites the sender into the forwarder's own domain, signed so that only real rewrites route
bounces back::

    alice@orig.example
      → SRS0=HHHH=TT=orig.example=alice@fwd.example              (forward, a first hop)
    SRS0=HHHH=TT=orig.example=alice@fwd.example, at the next forwarder
      → SRS1=GGGG=fwd.example==HHHH=TT=orig.example=alice@next.example

and a bounce to either address goes back one hop (reverse). The format is libsrs2's (Shevek,
2004), exactly as Debian's postsrsd 1.10 writes and reads it, so that one can replace the
other with the same secrets:

- ``HHHH``: HMAC-SHA1 keyed with the first secret over the lower-cased (ASCII) fields
  ``TT``, the original domain and local part (SRS0) or the first hop's domain and its opaque
  rest (SRS1), written as the first ``hash_length`` characters of its base64 (default 4).
  Reverse accepts the hash of *any* secret (rotation: the first signs, all verify), compares
  case-insensitively (mailboxes and Postfix's table lookups lower-case addresses), accepts a
  hash at least ``hash_min`` long and compares its first ``hash_length`` characters.
- ``TT``: the day of the rewrite, two base32 characters (``A``–``Z2``–``7``: day number
  modulo 1024); reverse accepts it for ``max_age`` days (default 21, postsrsd's) and never
  from the future.
- The character after ``SRS0``/``SRS1`` is the configured separator (``=``, ``-`` or ``+``);
  every later one is ``=``.
- An SRS1 address keeps the first hop's hash and timestamp unchecked (only that hop can check
  them), and its reverse is the SRS0 address of the first hop.

What is not rewritten, as postsrsd decides it (each a :class:`NotRewritten` with a
:class:`Reason`): forward leaves senders in the SRS domain and in ``local_domains`` alone
(``.example.org`` means every subdomain), and an address that is already a valid SRS address
of ours (it would reverse); reverse refuses what is not SRS, is malformed, expired, or signed
with no secret we hold (forged). A rewrite longer than ``max_length`` octets (254 by default:
RFC 5321 §4.5.3.1.3 limits a path to 256 octets with its brackets) is refused as
``Reason.TOO_LONG`` rather than sent and bounced by the next hop.

Deliberate differences from postsrsd 1.10, for input it handles by accident:
an address with more than one ``@`` is split at the last one (postsrsd: the first); an empty
local part or domain is refused, in a sender and in what a reverse would give (postsrsd writes
``SRS0=…==a@fwd`` for ``a@``, and reverses it);
``SRS0``/``SRS1`` with no separator after them is an ordinary local part (postsrsd reads past
the end); control characters are refused. Secrets longer than 64 octets are refused when
loaded: postsrsd's HMAC mishandles them (it keys with an unterminated C string).

SECURITY: every address is hostile (it comes from SMTP clients through Postfix). Work is one
linear pass over at most ``MAX_INPUT`` octets; no regular expression backtracks; hash checks
compare in constant time. Nothing here raises on any address: results are typed values. The
secret file is the only I/O (:func:`load_secrets`, :func:`create_secret_file`); it must not
be readable by other users, and is created mode 0600.
"""

from __future__ import annotations

import base64
import enum
import hmac
import os
import secrets as _secrets
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mailward.errors import MailwardError

__all__ = [
    "BASE32",
    "DEFAULT_HASH_LENGTH",
    "DEFAULT_MAX_AGE",
    "MAX_INPUT",
    "MAX_LENGTH",
    "MAX_SECRET_LENGTH",
    "SEPARATORS",
    "SRS",
    "NotRewritten",
    "Reason",
    "Rewritten",
    "SRS0Address",
    "SRS1Address",
    "SRSResult",
    "SecretFileError",
    "create_secret_file",
    "load_secrets",
    "parse_address",
    "timestamp",
]

SEPARATORS = "=-+"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
DEFAULT_HASH_LENGTH = 4
DEFAULT_MAX_AGE = 21
MAX_HASH_LENGTH = 27  # the base64 characters of a 20-octet HMAC-SHA1
MAX_SECRET_LENGTH = 64  # one SHA-1 block; postsrsd 1.x garbles longer keys
MAX_LENGTH = 254  # RFC 5321 §4.5.3.1.3: path ≤ 256 octets including "<" and ">"
MAX_INPUT = 1024  # octets of one address accepted at all (postsrsd 1.x: a 1024-octet buffer)
MAX_SECRET_FILE = 64 * 1024
DAY = 86400
_TIME_SLOTS = 1024  # two base32 characters
_BASE32_VALUE = {c: i for i, c in enumerate(BASE32)} | {
    c.lower(): i for i, c in enumerate(BASE32) if c.isalpha()
}
_CONTROLS = frozenset(chr(c) for c in (*range(0x20), 0x7F))


class Reason(enum.Enum):
    """Why an address was not rewritten (the value is a stable slug)."""

    LOCAL_DOMAIN = "local-domain"  # forward: the sender's domain is ours; nothing to fix
    ALREADY_REWRITTEN = "already-rewritten"  # forward: a valid SRS address of ours
    NOT_SRS = "not-srs"  # reverse: an ordinary address
    MALFORMED = "malformed"  # no "@", an empty part, a missing SRS field, a control character
    BAD_TIMESTAMP = "bad-timestamp"  # not two base32 characters
    EXPIRED = "expired"  # older than max_age days, or from the future
    HASH_TOO_SHORT = "hash-too-short"  # shorter than hash_min
    HASH_INVALID = "hash-invalid"  # signed by no secret we hold: forged or from elsewhere
    TOO_LONG = "too-long"  # the input, or the rewrite, is over its length limit


@dataclass(frozen=True, slots=True)
class Rewritten:
    """The rewritten address."""

    address: str


@dataclass(frozen=True, slots=True)
class NotRewritten:
    """The address stays as it is, and why, in words (``detail``) and as a slug (``reason``)."""

    reason: Reason
    detail: str

    def __str__(self) -> str:
        return self.detail


SRSResult = Rewritten | NotRewritten


@dataclass(frozen=True, slots=True)
class SRS0Address:
    """``SRS0<sep>HASH=TT=HOST=USER@DOMAIN``: a first-hop rewrite, fields as written."""

    separator: str
    hash: str
    stamp: str
    host: str  # the original sender's domain
    user: str  # the original sender's local part
    domain: str  # the forwarder's (SRS) domain, "" when the address had none


@dataclass(frozen=True, slots=True)
class SRS1Address:
    """``SRS1<sep>HASH=HOST=REST@DOMAIN``: a later hop's rewrite of an SRS0 address.

    ``rest`` is the first hop's SRS0 local part without its ``SRS0`` tag (it starts with that
    hop's separator), so the reverse is ``SRS0{rest}@{host}``.
    """

    separator: str
    hash: str
    host: str  # the first forwarder's domain
    rest: str
    domain: str


class SecretFileError(MailwardError):
    """The SRS secret file cannot be used (missing, unsafe permissions, bad content)."""


def _octets(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _split(address: str) -> tuple[str, str | None]:
    """(local part, domain); the domain is None when there is no ``@`` (last ``@`` splits)."""
    local, at, domain = address.rpartition("@")
    return (local, domain) if at else (address, None)


def _screen(address: str) -> NotRewritten | None:
    """The length and character checks every address passes first."""
    if len(address) > MAX_INPUT // 4 and len(_octets(address)) > MAX_INPUT:
        return NotRewritten(Reason.TOO_LONG, f"the address is over {MAX_INPUT} octets")
    if not _CONTROLS.isdisjoint(address):
        return NotRewritten(Reason.MALFORMED, "the address contains a control character")
    return None


def _srs_tag(local: str) -> str | None:
    """``"0"`` or ``"1"`` when ``local`` starts with an SRS tag and a separator, else None."""
    if (
        len(local) >= 5
        and local[:3].isascii()
        and local[:3].upper() == "SRS"
        and local[3] in "01"
        and local[4] in SEPARATORS
    ):
        return local[3]
    return None


def parse_address(address: str) -> SRS0Address | SRS1Address | NotRewritten:
    """Split an SRS address into its fields, checking nothing cryptographic.

    ``NotRewritten(NOT_SRS)`` for an ordinary address, ``MALFORMED`` for an SRS address with a
    field missing (fields may be empty here: :meth:`SRS.reverse` checks the timestamp and hash
    first, as postsrsd does, and refuses empty domains and local parts last). Never raises.
    """
    if (problem := _screen(address)) is not None:
        return problem
    local, domain = _split(address)
    tag = _srs_tag(local)
    if tag is None:
        return NotRewritten(Reason.NOT_SRS, "not an SRS address")
    separator, body = local[4], local[5:]
    if tag == "1":
        hash_, sep1, rest = body.partition("=")
        host, sep2, user = rest.partition("=")
        if not (sep1 and sep2):
            return NotRewritten(Reason.MALFORMED, "an SRS1 address needs HASH=HOST=REST")
        return SRS1Address(separator, hash_, host, user, domain or "")
    hash_, sep1, rest = body.partition("=")
    stamp, sep2, rest = rest.partition("=")
    host, sep3, user = rest.partition("=")
    if not (sep1 and sep2 and sep3):
        return NotRewritten(Reason.MALFORMED, "an SRS0 address needs HASH=TT=DOMAIN=LOCAL")
    return SRS0Address(separator, hash_, stamp, host, user, domain or "")


def timestamp(now: float) -> str:
    """The two-character base32 day stamp of ``now`` (seconds since the epoch)."""
    day = int(now // DAY)
    return BASE32[(day >> 5) & 31] + BASE32[day & 31]


def _stamp_age(stamp: str, now: float) -> int | None:
    """Days from ``stamp`` to ``now`` modulo 1024 (libsrs2's rule), None if not a stamp."""
    if len(stamp) != 2:
        return None
    high, low = _BASE32_VALUE.get(stamp[0]), _BASE32_VALUE.get(stamp[1])
    if high is None or low is None:
        return None
    return (int(now // DAY) - (high * 32 + low)) % _TIME_SLOTS


def _validate_secret(secret: bytes) -> None:
    if not secret:
        raise ValueError("an SRS secret must not be empty")
    if len(secret) > MAX_SECRET_LENGTH:
        raise ValueError(
            f"an SRS secret is {len(secret)} octets; at most {MAX_SECRET_LENGTH} work "
            "(postsrsd 1.x computes a wrong HMAC for longer ones)"
        )
    if any(c in secret for c in b"\x00\r\n"):
        raise ValueError("an SRS secret must not contain NUL, CR or LF")


@dataclass(frozen=True)
class SRS:
    """An SRS rewriter for one forwarding domain.

    ``secrets``: the first signs new addresses, every one verifies (rotate by putting the new
    secret first and keeping the old for ``max_age`` days). ``local_domains``: senders here
    are never rewritten (postsrsd ``-X``; a leading dot means subdomains); the SRS ``domain``
    itself is always local unless ``always_rewrite`` (postsrsd ``-A``). ``hash_min`` defaults to
    ``hash_length`` (postsrsd ``-N`` and ``-n``). Invalid settings raise ``ValueError`` here,
    once; :meth:`forward` and :meth:`reverse` never raise.
    """

    domain: str
    secrets: tuple[bytes, ...]
    separator: str = "="
    hash_length: int = DEFAULT_HASH_LENGTH
    hash_min: int | None = None
    max_age: int = DEFAULT_MAX_AGE
    local_domains: tuple[str, ...] = ()
    always_rewrite: bool = False
    max_length: int = MAX_LENGTH
    _locals: frozenset[str] = field(init=False, repr=False, compare=False)
    _suffixes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _own: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.domain or any(c in self.domain for c in "@ =") or _screen(self.domain):
            raise ValueError(f"not a usable SRS domain: {self.domain!r}")
        if not self.secrets:
            raise ValueError("SRS needs at least one secret")
        for secret in self.secrets:
            _validate_secret(secret)
        if len(self.separator) != 1 or self.separator not in SEPARATORS:
            raise ValueError(f"the SRS separator must be one of {SEPARATORS}")
        if not 1 <= self.hash_length <= MAX_HASH_LENGTH:
            raise ValueError(f"hash_length must be 1 to {MAX_HASH_LENGTH}")
        if self.hash_min is not None and not 1 <= self.hash_min <= self.hash_length:
            raise ValueError("hash_min must be 1 to hash_length")
        if not 0 <= self.max_age < _TIME_SLOTS:
            raise ValueError(f"max_age must be 0 to {_TIME_SLOTS - 1} days")
        if self.max_length < 1:
            raise ValueError("max_length must be positive")
        domains = [d.lower() for d in self.local_domains if d]
        exact = {d for d in domains if not d.startswith(".")}
        object.__setattr__(self, "_locals", frozenset(exact))
        object.__setattr__(self, "_own", "" if self.always_rewrite else self.domain.lower())
        object.__setattr__(self, "_suffixes", tuple(d for d in domains if d.startswith(".")))

    def with_secrets(self, secrets: Iterable[bytes]) -> SRS:
        """The same rewriter with other secrets (a reload)."""
        return SRS(
            self.domain,
            tuple(secrets),
            self.separator,
            self.hash_length,
            self.hash_min,
            self.max_age,
            self.local_domains,
            self.always_rewrite,
            self.max_length,
        )

    # -- hashing -------------------------------------------------------------------------

    def _hash(self, secret: bytes, data: bytes) -> bytes:
        """libsrs2's hash of ``data`` (the fields, concatenated and lower-cased)."""
        return base64.b64encode(hmac.digest(secret, data, "sha1"))[: self.hash_length]

    def _sign(self, *parts: str) -> str:
        return self._hash(self.secrets[0], _octets("".join(parts)).lower()).decode("ascii")

    def _hash_ok(self, given: str, *parts: str) -> NotRewritten | None:
        minimum = self.hash_length if self.hash_min is None else self.hash_min
        if len(given) < minimum:
            return NotRewritten(
                Reason.HASH_TOO_SHORT, f"the hash has {len(given)} characters, under {minimum}"
            )
        want = _octets(given[: self.hash_length]).lower()
        data = _octets("".join(parts)).lower()
        ok = False
        for secret in self.secrets:  # all of them, so the time does not tell which matched
            ok |= hmac.compare_digest(want, self._hash(secret, data)[: len(want)].lower())
        if ok:
            return None
        return NotRewritten(Reason.HASH_INVALID, "the hash is not ours: forged, or another host's")

    # -- forward -------------------------------------------------------------------------

    def forward(self, address: str, *, now: float | None = None) -> SRSResult:
        """Rewrite an envelope sender for sending on from this forwarder."""
        if (problem := _screen(address)) is not None:
            return problem
        local, host = _split(address)
        folded = "" if host is None else host.lower()
        if folded and (folded in self._locals or folded.endswith(self._suffixes)):
            return NotRewritten(Reason.LOCAL_DOMAIN, f"{host} is a local domain")
        when = time.time() if now is None else now
        tag = _srs_tag(local)
        if tag is not None and isinstance(self.reverse(address, now=when), Rewritten):
            return NotRewritten(Reason.ALREADY_REWRITTEN, "already an SRS address of ours")
        if host is None:
            return NotRewritten(Reason.MALFORMED, "the sender has no @domain")
        if not local or not host:
            return NotRewritten(Reason.MALFORMED, "the sender has an empty local part or domain")
        if folded == self._own:
            return NotRewritten(Reason.LOCAL_DOMAIN, f"{host} is the SRS domain")
        sep = self.separator
        if tag == "1":
            parsed = parse_address(address)
            if isinstance(parsed, NotRewritten):
                return parsed
            if not isinstance(parsed, SRS1Address) or not parsed.host:
                return NotRewritten(Reason.MALFORMED, "an SRS1 address needs HASH=HOST=REST")
            digest = self._sign(parsed.host, parsed.rest)
            new = f"SRS1{sep}{digest}={parsed.host}={parsed.rest}@{self.domain}"
        elif tag == "0":
            rest = local[4:]  # keeps the first hop's separator, as libsrs2 does
            digest = self._sign(host, rest)
            new = f"SRS1{sep}{digest}={host}={rest}@{self.domain}"
        else:
            stamp = timestamp(when)
            digest = self._sign(stamp, host, local)
            new = f"SRS0{sep}{digest}={stamp}={host}={local}@{self.domain}"
        size = len(_octets(new))
        if size > self.max_length:
            return NotRewritten(
                Reason.TOO_LONG,
                f"the rewritten sender would be {size} octets, over the limit of "
                f"{self.max_length} (RFC 5321 §4.5.3.1.3)",
            )
        return Rewritten(new)

    # -- reverse -------------------------------------------------------------------------

    def reverse(self, address: str, *, now: float | None = None) -> SRSResult:
        """The address one hop back, for an SRS address this forwarder (or one with the same
        secrets) made; :class:`NotRewritten` with the reason otherwise."""
        parsed = parse_address(address)
        if isinstance(parsed, NotRewritten):
            return parsed
        if isinstance(parsed, SRS1Address):
            if (bad := self._hash_ok(parsed.hash, parsed.host, parsed.rest)) is not None:
                return bad
            if not parsed.host:
                return NotRewritten(Reason.MALFORMED, "the SRS1 address has an empty domain")
            return Rewritten(f"SRS0{parsed.rest}@{parsed.host}")
        age = _stamp_age(parsed.stamp, time.time() if now is None else now)
        if age is None:
            return NotRewritten(Reason.BAD_TIMESTAMP, "the timestamp is not two base32 letters")
        if age > self.max_age:
            return NotRewritten(
                Reason.EXPIRED,
                f"the address is too old (or from the future): over {self.max_age} days",
            )
        if (bad := self._hash_ok(parsed.hash, parsed.stamp, parsed.host, parsed.user)) is not None:
            return bad
        if not parsed.host or not parsed.user:
            return NotRewritten(Reason.MALFORMED, "the SRS0 address has an empty domain or user")
        return Rewritten(f"{parsed.user}@{parsed.host}")


# -- the secret file ---------------------------------------------------------------------


def load_secrets(path: str | os.PathLike[str]) -> tuple[bytes, ...]:
    """The secrets in ``path``, one a line (postsrsd's format), first one signing.

    Blank lines are skipped; a line's spaces are part of its secret. Refused, with the reason:
    a missing or unreadable file, one other users may read or write, one with no secret, a
    secret over 64 octets.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise SecretFileError(f"cannot open the SRS secret file {path}: {exc.strerror}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileError(f"the SRS secret file {path} is not a regular file")
        if info.st_mode & (stat.S_IROTH | stat.S_IWOTH):
            raise SecretFileError(
                f"the SRS secret file {path} is readable or writable by every user "
                f"(mode {stat.S_IMODE(info.st_mode):04o}): run chmod o-rwx {path}"
            )
        data = os.read(fd, MAX_SECRET_FILE + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SECRET_FILE:
        raise SecretFileError(f"the SRS secret file {path} is over {MAX_SECRET_FILE} octets")
    found = tuple(line.rstrip(b"\r") for line in data.split(b"\n") if line.rstrip(b"\r"))
    if not found:
        raise SecretFileError(f"the SRS secret file {path} holds no secret")
    for number, secret in enumerate(found, 1):
        try:
            _validate_secret(secret)
        except ValueError as exc:
            raise SecretFileError(f"{path}, secret {number}: {exc}") from None
    return found


def create_secret_file(path: str | os.PathLike[str]) -> bool:
    """Write a new random secret to ``path`` (mode 0600) if there is no file; True if it did.

    The secret is 24 random octets as base64 (32 characters), as strong as postsrsd's.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise SecretFileError(f"cannot create the SRS secret file {path}: {exc.strerror}") from exc
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, base64.b64encode(_secrets.token_bytes(24)) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return True
