"""A private signed DNS hierarchy for the DNSSEC tests: root → example. → one zone per case.

``build(workdir)`` generates fresh keys, writes and signs every zone into ``workdir`` and
returns a :class:`Hierarchy` holding the zone files (named ``<origin>zone`` for
:class:`knot.KnotServer`) and the trust anchor (the root's KSK as a DS record). Signatures are
made relative to the current time, so the expired and the not-yet-valid cases stay what they
are whenever the suite runs.

Signers: dnspython's ``sign_zone`` (NSEC) for the root and most zones; ``ldns-signzone``
(Debian ``ldnsutils``) for the NSEC3 zones, since dnspython cannot make NSEC3; BIND's
``dnssec-signzone`` (``bind9-utils``) for the TLD, NSEC3 with opt-out as real TLDs are, so the
unsigned delegation is proven by an opt-out span only (ldns keeps every delegation in the
chain). Three independent signers also keep the validator honest.

The zones (all below ``example.``):

==================  =========================================================================
good.example        valid, NSEC, KSK+ZSK (13); MX to itself and to an unsigned zone; SPF,
                    DMARC, DKIM, MTA-STS, TLS-RPT, TLSA; ``*.wild`` wildcard; a CNAME into
                    nsec3.example
nsec3.example       valid, NSEC3 (0 iterations, no salt; ldns), CSK (13); ``*.wild`` wildcard
expired.example     every signature expired 3 days ago
expiring.example    valid, but every signature expires in 3 days
future.example      every signature starts in 2 days
mismatch.example    signed, but the DS in example. is for another key
nokey.example       DS in example., but the zone is unsigned (no DNSKEY)
unsigned.example    no DS, unsigned (inside example.'s opt-out span); ``mx.unsigned.example``
badsig.example      signed, but the RRSIG over MX is corrupted
legacy.example      RSASHA1 (5) keys; the DS set has a SHA-1 and a SHA-256 digest
iter.example        NSEC3 with 10 iterations and a salt (ldns)
cds.example         valid, but publishes a CDS for a key the DS does not name
gost.example        DS with ECC-GOST (12) only, which must not be validated: insecure
==================  =========================================================================
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.dnssec
import dns.dnssectypes
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from knot import KnotServer
from mailward.dns.stub import StubResolver
from mailward.dns.validating import TrustAnchors

ADDRESS = "127.0.0.57"
DAY = 86_400
TLD = "example."

_IN = dns.rdataclass.IN
_SOA = "@ 3600 IN SOA ns.example. hostmaster.example. 2026010101 7200 3600 1209600 300"


@dataclass
class Key:
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    dnskey: DNSKEY

    @property
    def tag(self) -> int:
        return dns.dnssec.key_id(self.dnskey)


@dataclass
class Hierarchy:
    workdir: Path
    now: int
    zone_files: list[Path] = field(default_factory=list)
    keys: dict[str, list[Key]] = field(default_factory=dict)
    anchor_file: Path | None = None
    anchor_text: str = ""
    dnskey_anchor_text: str = ""


def signers_missing() -> str | None:
    """Why the hierarchy cannot be built here, or None."""
    for program, package in (("ldns-signzone", "ldnsutils"), ("dnssec-signzone", "bind9-utils")):
        if shutil.which(program) is None:
            return f"{program} is not installed (Debian package: {package})"
    return None


def _ecdsa(flags: int) -> Key:
    private = ec.generate_private_key(ec.SECP256R1())
    return Key(private, dns.dnssec.make_dnskey(private.public_key(), 13, flags))


def _rsasha1(flags: int) -> Key:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Key(private, dns.dnssec.make_dnskey(private.public_key(), 5, flags))


def _ds(origin: str, key: Key, digest: int = 2) -> str:
    ds = dns.dnssec.make_ds(
        origin,
        key.dnskey,
        dns.dnssectypes.DSDigest.make(digest),
        policy=dns.dnssec.allow_all_policy,
        validating=True,
    )
    return ds.to_text()


def _zone(origin: str, body: str) -> dns.zone.Zone:
    text = f"$ORIGIN {origin}\n$TTL 3600\n{_SOA}\n@ 3600 IN NS ns.example.\n{body}"
    return dns.zone.from_text(text, origin, relativize=False, check_origin=False)


def _write(hierarchy: Hierarchy, origin: str, zone: dns.zone.Zone) -> Path:
    path = hierarchy.workdir / f"{origin}zone"
    path.write_text(zone.to_text(relativize=False), encoding="utf-8")
    hierarchy.zone_files.append(path)
    return path


def _sign_nsec(
    zone: dns.zone.Zone, keys: list[Key], inception: int, expiration: int
) -> dns.zone.Zone:
    dns.dnssec.sign_zone(
        zone,
        keys=[(k.private, k.dnskey) for k in keys],
        inception=inception,
        expiration=expiration,
        dnskey_ttl=3600,
        policy=dns.dnssec.allow_all_policy,
    )
    return zone


def _key_files(
    hierarchy: Hierarchy, origin: str, zone: dns.zone.Zone, keys: list[Key]
) -> tuple[Path, list[str]]:
    """The unsigned zone file and the keys in BIND's format (``K<zone>+013+<tag>``)."""
    folder = hierarchy.workdir / "signers" / (origin.rstrip(".") or "root")
    folder.mkdir(parents=True, exist_ok=True)
    unsigned = folder / "unsigned.zone"
    unsigned.write_text(zone.to_text(relativize=False), encoding="utf-8")
    bases = []
    for key in keys:
        assert isinstance(key.private, ec.EllipticCurvePrivateKey)
        scalar = key.private.private_numbers().private_value.to_bytes(32, "big")
        base = folder / f"K{origin}+013+{key.tag:05d}"
        Path(f"{base}.private").write_text(
            "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n"
            f"PrivateKey: {base64.b64encode(scalar).decode()}\n",
            encoding="utf-8",
        )
        Path(f"{base}.key").write_text(
            f"{origin} 3600 IN DNSKEY {key.dnskey.to_text()}\n", encoding="utf-8"
        )
        bases.append(str(base))
    return unsigned, bases


def _sign_ldns(
    hierarchy: Hierarchy,
    origin: str,
    zone: dns.zone.Zone,
    keys: list[Key],
    *,
    iterations: int = 0,
    salt: str = "",
) -> Path:
    """NSEC3 by ``ldns-signzone -n`` (it puts even unsigned delegations in the chain)."""
    program = shutil.which("ldns-signzone")
    if program is None:
        raise FileNotFoundError("ldns-signzone is not installed (Debian package: ldnsutils)")
    unsigned, bases = _key_files(hierarchy, origin, zone, keys)
    signed = hierarchy.workdir / f"{origin}zone"
    command = [program, "-n", "-t", str(iterations), *(["-s", salt] if salt else [])]
    command += [
        "-i", str(hierarchy.now - DAY), "-e", str(hierarchy.now + 30 * DAY),
        "-o", origin, "-f", str(signed), str(unsigned), *bases,
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    hierarchy.zone_files.append(signed)
    return signed


def _sign_bind_optout(
    hierarchy: Hierarchy, origin: str, zone: dns.zone.Zone, keys: list[Key]
) -> Path:
    """NSEC3 with opt-out by BIND's ``dnssec-signzone -3 - -A``: unsigned delegations are
    left out of the chain, so only an opt-out span covers them."""
    program = shutil.which("dnssec-signzone")
    if program is None:
        raise FileNotFoundError("dnssec-signzone is not installed (Debian package: bind9-utils)")
    unsigned, bases = _key_files(hierarchy, origin, zone, keys)
    with unsigned.open("a", encoding="utf-8") as text:
        text.writelines(f"{origin} 3600 IN DNSKEY {k.dnskey.to_text()}\n" for k in keys)
    signed = hierarchy.workdir / f"{origin}zone"
    start = time.strftime("%Y%m%d%H%M%S", time.gmtime(hierarchy.now - DAY))
    end = time.strftime("%Y%m%d%H%M%S", time.gmtime(hierarchy.now + 30 * DAY))
    command = [
        program, "-3", "-", "-H", "0", "-A", "-o", origin, "-s", start, "-e", end,
        "-f", str(signed), str(unsigned), *bases,
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=60, cwd=unsigned.parent)
    hierarchy.zone_files.append(signed)
    return signed


GOOD_BODY = """\
@ IN MX 10 mail.good.example.
@ IN MX 20 mx.unsigned.example.
@ IN TXT "v=spf1 mx -all"
mail IN A 127.0.0.25
www IN A 127.0.0.80
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.example"
s1._domainkey IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
_mta-sts IN TXT "v=STSv1; id=20260101"
_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls@good.example"
_25._tcp.mail IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
*.wild IN TXT "from the wildcard"
alias IN CNAME www.nsec3.example.
"""

SMALL_BODY = """\
@ IN MX 10 mail
@ IN TXT "v=spf1 mx -all"
mail IN A 127.0.0.25
_dmarc IN TXT "v=DMARC1; p=none"
"""


def build(workdir: Path, now: int | None = None) -> Hierarchy:
    """Write and sign the whole hierarchy into ``workdir`` (see the module doc)."""
    hierarchy = Hierarchy(workdir, int(time.time()) if now is None else now)
    t = hierarchy.now
    valid = (t - DAY, t + 30 * DAY)
    delegations: list[str] = []

    def signed_nsec(label: str, body: str, keys: list[Key], when: tuple[int, int]) -> None:
        origin = f"{label}.{TLD}"
        hierarchy.keys[origin] = keys
        _write(hierarchy, origin, _sign_nsec(_zone(origin, body), keys, *when))
        delegations.append(f"{label} IN NS ns.example.")
        ksks = [k for k in keys if k.dnskey.flags & 1] or keys
        delegations.extend(f"{label} IN DS {_ds(origin, k)}" for k in ksks)

    signed_nsec("good", GOOD_BODY, [_ecdsa(257), _ecdsa(256)], valid)
    signed_nsec("expired", SMALL_BODY, [_ecdsa(257)], (t - 30 * DAY, t - 3 * DAY))
    signed_nsec("expiring", SMALL_BODY, [_ecdsa(257)], (t - 10 * DAY, t + 3 * DAY))
    signed_nsec("future", SMALL_BODY, [_ecdsa(257)], (t + 2 * DAY, t + 30 * DAY))

    # nsec3.example and iter.example: NSEC3, signed by ldns
    for label, iterations, salt in (("nsec3", 0, ""), ("iter", 10, "aabbccdd")):
        origin = f"{label}.{TLD}"
        keys = [_ecdsa(257)]
        hierarchy.keys[origin] = keys
        body = SMALL_BODY + '*.wild IN TXT "from the wildcard"\nwww IN A 127.0.0.80\n'
        _sign_ldns(hierarchy, origin, _zone(origin, body), keys, iterations=iterations, salt=salt)
        delegations += [f"{label} IN NS ns.example.", f"{label} IN DS {_ds(origin, keys[0])}"]

    # mismatch.example: the DS names a key the zone does not have
    origin = f"mismatch.{TLD}"
    used, other = _ecdsa(257), _ecdsa(257)
    hierarchy.keys[origin] = [used, other]
    _write(hierarchy, origin, _sign_nsec(_zone(origin, SMALL_BODY), [used], *valid))
    delegations += ["mismatch IN NS ns.example.", f"mismatch IN DS {_ds(origin, other)}"]

    # nokey.example: a DS, but an unsigned zone
    origin = f"nokey.{TLD}"
    ghost = _ecdsa(257)
    hierarchy.keys[origin] = [ghost]
    _write(hierarchy, origin, _zone(origin, SMALL_BODY))
    delegations += ["nokey IN NS ns.example.", f"nokey IN DS {_ds(origin, ghost)}"]

    # unsigned.example: no DS (in the TLD's opt-out span), unsigned
    origin = f"unsigned.{TLD}"
    _write(hierarchy, origin, _zone(origin, SMALL_BODY + "mx IN A 127.0.0.26\n"))
    delegations.append("unsigned IN NS ns.example.")

    # gost.example: a DS with ECC-GOST only (must not be validated), unsigned zone
    origin = f"gost.{TLD}"
    _write(hierarchy, origin, _zone(origin, SMALL_BODY))
    delegations += ["gost IN NS ns.example.", "gost IN DS 12345 12 2 " + "ab" * 32]

    # badsig.example: the RRSIG over MX is corrupted
    origin = f"badsig.{TLD}"
    keys = [_ecdsa(257)]
    hierarchy.keys[origin] = keys
    zone = _sign_nsec(_zone(origin, SMALL_BODY), keys, *valid)
    _corrupt(zone, origin, dns.rdatatype.MX)
    _write(hierarchy, origin, zone)
    delegations += ["badsig IN NS ns.example.", f"badsig IN DS {_ds(origin, keys[0])}"]

    # legacy.example: RSASHA1, and a SHA-1 DS beside the SHA-256 one
    origin = f"legacy.{TLD}"
    keys = [_rsasha1(257)]
    hierarchy.keys[origin] = keys
    _write(hierarchy, origin, _sign_nsec(_zone(origin, SMALL_BODY), keys, *valid))
    delegations += [
        "legacy IN NS ns.example.",
        f"legacy IN DS {_ds(origin, keys[0], 1)}",
        f"legacy IN DS {_ds(origin, keys[0], 2)}",
    ]

    # cds.example: a CDS for a key that is neither in the DS nor in the zone
    origin = f"cds.{TLD}"
    keys, stray = [_ecdsa(257)], _ecdsa(257)
    hierarchy.keys[origin] = keys
    body = SMALL_BODY + f"@ IN CDS {_ds(origin, stray)}\n"
    _write(hierarchy, origin, _sign_nsec(_zone(origin, body), keys, *valid))
    delegations += ["cds IN NS ns.example.", f"cds IN DS {_ds(origin, keys[0])}"]

    # example.: NSEC3 with opt-out, KSK + ZSK, signed by BIND
    tld_keys = [_ecdsa(257), _ecdsa(256)]
    hierarchy.keys[TLD] = tld_keys
    tld_body = f"ns IN A {ADDRESS}\n" + "\n".join(delegations) + "\n"
    _sign_bind_optout(hierarchy, TLD, _zone(TLD, tld_body), tld_keys)

    # the root: NSEC, KSK + ZSK
    root_keys = [_ecdsa(257), _ecdsa(256)]
    hierarchy.keys["."] = root_keys
    root_body = (
        f"example. IN NS ns.example.\nns.example. IN A {ADDRESS}\n"
        f"example. IN DS {_ds(TLD, tld_keys[0])}\n"
    )
    root = _zone(".", root_body)
    _write(hierarchy, ".", _sign_nsec(root, root_keys, *valid))

    hierarchy.anchor_text = f". IN DS {_ds('.', root_keys[0])}\n"
    hierarchy.dnskey_anchor_text = f". IN DNSKEY {root_keys[0].dnskey.to_text()}\n"
    hierarchy.anchor_file = workdir / "anchor.ds"
    hierarchy.anchor_file.write_text(hierarchy.anchor_text, encoding="utf-8")
    return hierarchy


@dataclass
class SignedHierarchy:
    """The hierarchy and the Knot server serving it (the ``dnssec_knot`` fixture)."""

    knot: KnotServer
    hierarchy: Hierarchy

    @property
    def nameserver(self) -> str:
        return self.knot.nameserver

    def anchors(self) -> TrustAnchors:
        return TrustAnchors.from_text(self.hierarchy.anchor_text, source="the test root's DS")

    def stub(self) -> StubResolver:
        return StubResolver([self.knot.nameserver], timeout=2.0, retries=1)


def _corrupt(zone: dns.zone.Zone, origin: str, covered: dns.rdatatype.RdataType) -> None:
    """Flip one bit in the signature over ``covered`` at the apex."""
    name = dns.name.from_text(origin)
    node = zone.find_node(name)
    sigs = node.find_rdataset(_IN, dns.rdatatype.RRSIG, covered)
    broken = []
    for sig in sigs:
        signature = bytearray(sig.signature)
        signature[-1] ^= 0x01
        broken.append(sig.replace(signature=bytes(signature)))
    node.replace_rdataset(dns.rdataset.from_rdata_list(sigs.ttl, broken))


def ds_of(hierarchy: Hierarchy, origin: str) -> list[str]:
    """The SHA-256 DS texts of ``origin``'s KSKs (for assertions)."""
    keys = hierarchy.keys[origin]
    ksks = [k for k in keys if k.dnskey.flags & 1] or keys
    return [_ds(origin, k) for k in ksks]


__all__ = [
    "ADDRESS",
    "DS",
    "Hierarchy",
    "Key",
    "SignedHierarchy",
    "build",
    "ds_of",
    "signers_missing",
]
