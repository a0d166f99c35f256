"""``mailward dnssec``: keys, signing, the DS for the registrar, and signature expiry.

SUMMARY
    mailward dnssec keygen example.com [--algorithm ecdsap256sha256|ed25519|rsasha256]
                           [--csk | --ksk --zsk] [--dir DIR]
    mailward dnssec sign example.com.zone --keys DIR [-o OUT] [--nsec3]
                         [--validity 14d] [--refresh 5d] [--verify sample|full]
    mailward dnssec ds example.com [--keys DIR] | Kexample.com.+013+12345.key | signed.zone
    mailward dnssec status example.com.zone.signed [--warn 7d] [--refresh 5d] [--all]

DESCRIPTION
    keygen
        Writes BIND-format key files ``K<zone>.+<alg>+<tag>.key`` and ``.private`` (mode 0600)
        in DIR (default: the current folder): one combined key (CSK, flags 257) by default, or
        a key-signing key (257) and a zone-signing key (256). BIND's ``dnssec-signzone`` and
        ``dnssec-keygen``'s keys interoperate both ways. Prints the base names.
    sign
        Signs the zone with every key for it in DIR (NSEC, or ``--nsec3``: no salt, no extra
        iterations, no opt-out, as RFC 9276 advises), bumps the SOA serial and adds DNSKEY,
        CDS and CDNSKEY. Re-signing a signed zone keeps every signature that is still good for
        longer than ``--refresh``. The result is checked before it is written (atomically) to
        OUT (default ZONEFILE.signed; ``-`` for standard output); if the check fails nothing
        is written.
    ds
        Prints the DS record (SHA-256) for each key-signing key, the CDS/CDNSKEY records, and
        what to type into a registrar's DNSSEC form.
    status
        Says when the zone's signatures expire and when the next re-sign is due (the first
        expiry minus ``--refresh``). For cron: exits 1 when a signature expires within
        ``--warn`` (or has expired, or is not valid yet), or when the zone is not signed.

    Durations are a number with s, m, h, d or w (``14d``, ``36h``), or plain seconds.

EXIT STATUS
    0 done (``status``: no signature expires within ``--warn``); 1 (``status``) inside the
    warning window, expired, or unsigned; 2 could not run (unreadable input, no keys, a
    self-check that failed).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mailward._files import read_limited
from mailward.errors import UsageError
from mailward.records.dnssec import (
    DIGESTS,
    DnskeyRecord,
    algorithm_name,
    ds_from_dnskey,
    parse_dnskey,
)
from mailward.setup import dnssec_keys, dnssec_status, signer

MAX_ZONE = 256 * 1024 * 1024
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration(text: str) -> int:
    """Seconds for ``14d``, ``1d12h``, ``90m`` or ``3600``; argparse's ``type=``."""
    value = text.strip().lower()
    if value.isdigit():
        return int(value)
    parts = re.findall(r"(\d+)([smhdw])", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 14d, 36h, 3600)")
    return sum(int(number) * _UNITS[unit] for number, unit in parts)


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "dnssec",
        help="DNSSEC: generate keys, sign a zone, print the DS, watch signature expiry",
        description="DNSSEC keys, zone signing, DS records and signature expiry.",
    )
    sub = parser.add_subparsers(dest="dnssec_command", required=True, metavar="SUBCOMMAND")

    keygen = sub.add_parser("keygen", help="generate key pairs in BIND's file format")
    keygen.add_argument("zone", metavar="ZONE")
    keygen.add_argument(
        "--algorithm",
        type=str.lower,
        choices=list(dnssec_keys.ALGORITHM_CHOICES),
        default="ecdsap256sha256",
        help="default ecdsap256sha256 (13); ed25519 (15) and rsasha256 (8) are also advised",
    )
    keygen.add_argument("--csk", action="store_true", help="one combined key (the default)")
    keygen.add_argument("--ksk", action="store_true", help="a key-signing key (flags 257)")
    keygen.add_argument("--zsk", action="store_true", help="a zone-signing key (flags 256)")
    keygen.add_argument("--bits", type=int, default=2048, help="RSA key size (default 2048)")
    keygen.add_argument("--dir", type=Path, default=Path("."), help="where to write the keys")
    keygen.set_defaults(run=run_keygen)

    sign = sub.add_parser("sign", help="sign (or re-sign) a zone file")
    sign.add_argument("zonefile", type=Path, metavar="ZONEFILE")
    sign.add_argument("--keys", type=Path, required=True, metavar="DIR", help="the key folder")
    sign.add_argument("-o", "--output", metavar="OUT", help="default ZONEFILE.signed; - stdout")
    sign.add_argument("--origin", help="the zone's name, if the file has no $ORIGIN or SOA owner")
    sign.add_argument("--nsec3", action="store_true", help="NSEC3 (RFC 9276 parameters)")
    sign.add_argument("--validity", type=duration, default="14d", help="default 14d")
    sign.add_argument(
        "--refresh", type=duration, default="5d", help="re-sign what expires within (default 5d)"
    )
    sign.add_argument(
        "--verify",
        choices=("sample", "full"),
        default="sample",
        help="self-check every class of signature (sample, default) or every signature (full)",
    )
    sign.add_argument("--now", type=int, help=argparse.SUPPRESS)  # tests: POSIX time
    sign.set_defaults(run=run_sign)

    ds = sub.add_parser("ds", help="the DS (and CDS/CDNSKEY) to give the registrar")
    ds.add_argument("source", metavar="ZONE|KEYFILE", help="a zone name, a .key file, a zone file")
    ds.add_argument("--keys", type=Path, default=Path("."), metavar="DIR", help="for a zone name")
    ds.set_defaults(run=run_ds)

    status = sub.add_parser("status", help="when signatures expire; exit 1 inside --warn")
    status.add_argument("zonefile", type=Path, metavar="ZONEFILE")
    status.add_argument("--origin", help="the zone's name, if the file does not say")
    status.add_argument("--warn", type=duration, default="7d", help="default 7d")
    status.add_argument("--refresh", type=duration, default="5d", help="as given to sign")
    status.add_argument("--all", action="store_true", help="list every signature")
    status.add_argument("--now", type=int, help=argparse.SUPPRESS)
    status.set_defaults(run=run_status)


# -- keygen ------------------------------------------------------------------------------


def run_keygen(args: argparse.Namespace) -> int:
    if args.csk and (args.ksk or args.zsk):
        raise UsageError("--csk is one combined key; give it alone, or --ksk and/or --zsk")
    roles = [ksk for ksk, wanted in ((True, args.ksk), (False, args.zsk)) if wanted] or [True]
    zone = args.zone
    for ksk in roles:
        key = dnssec_keys.generate_key(args.zone, args.algorithm, ksk=ksk, rsa_bits=args.bits)
        public, private = dnssec_keys.write_key(key, args.dir)
        zone = key.zone
        print(key.basename)
        role = "KSK" if ksk and len(roles) > 1 else "CSK" if ksk else "ZSK"
        print(
            f"{role}: {public} and {private.name} (mode 0600), key tag {key.tag}, "
            f"{algorithm_name(key.algorithm)}",
            file=sys.stderr,
        )
    print(
        f"next: mailward dnssec sign ZONEFILE --keys {args.dir}; then mailward dnssec ds "
        f"{zone} --keys {args.dir} for the registrar",
        file=sys.stderr,
    )
    return 0


# -- sign --------------------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        data = read_limited(path, MAX_ZONE)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if data is None:
        raise UsageError(f"{path}: larger than {MAX_ZONE // 2**20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(f"{path}:{line}: not UTF-8 text") from None


def run_sign(args: argparse.Namespace) -> int:
    data = signer.read_zone(_read(args.zonefile), filename=str(args.zonefile), origin=args.origin)
    origin = data.origin.to_text()
    keys = dnssec_keys.load_keys(args.keys, origin)
    if not keys:
        raise UsageError(
            f"no keys for {origin} in {args.keys}: run 'mailward dnssec keygen {origin} "
            f"--dir {args.keys}' first"
        )
    options = signer.SignOptions(
        nsec3=args.nsec3,
        validity=args.validity,
        refresh=args.refresh,
        verify=args.verify,
        now=args.now,
    )
    signed = signer.sign_zone(data, keys, options=options)
    output = args.output or f"{args.zonefile}.signed"
    if output == "-":
        sys.stdout.write(signed.text)
    else:
        _write_atomically(Path(output), signed.text)
    report = signed.report
    print(
        f"signed {report.origin} ({report.denial}, serial {report.old_serial} -> "
        f"{report.new_serial}): {report.made} new signatures, {report.kept} kept, "
        f"{report.checked} checked with dnspython; written to {output}",
        file=sys.stderr,
    )
    print(f"keys: {'; '.join(report.keys)}", file=sys.stderr)
    print(
        f"first signature expires {_when(report.earliest_expiration)}; re-sign before "
        f"{_when(report.refresh_due)} ('mailward dnssec status {output}' in cron says when)",
        file=sys.stderr,
    )
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _write_atomically(path: Path, text: str) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def _when(moment: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(moment))


def _span(seconds: int) -> str:
    for unit in ("w", "d", "h", "m"):
        if seconds and not seconds % _UNITS[unit]:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def _until(moment: int, now: int) -> str:
    seconds = moment - now
    sign, seconds = ("", seconds) if seconds >= 0 else ("-", -seconds)
    days, rest = divmod(seconds, 86400)
    text = f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"
    return f"in {text}" if not sign else f"{text} ago"


# -- ds ----------------------------------------------------------------------------------


def run_ds(args: argparse.Namespace) -> int:
    zone, keys = _ds_keys(args.source, args.keys)
    if not keys:
        raise UsageError(f"no DNSKEY found for {args.source}")
    seps = [k for k in keys if k.is_sep] or keys
    out = sys.stdout
    out.write(f"; DS records for {zone}: give these to your registrar (or the parent zone)\n")
    records = [(key, ds_from_dnskey(zone, key, 2)) for key in seps]
    for _, ds in records:
        out.write(f"{zone} IN DS {ds.to_text()}\n")
    out.write(
        "; CDS/CDNSKEY: 'mailward dnssec sign' publishes these in the zone, so parents that\n"
    )
    out.write("; read them (RFC 7344, RFC 8078) can update the DS without you\n")
    for key, ds in records:
        out.write(f"{zone} IN CDS {ds.to_text()}\n")
        out.write(f"{zone} IN CDNSKEY {key.to_text()}\n")
    for key, ds in records:
        out.write(
            f"\nIn the registrar's DNSSEC (DS record) form, for key {ds.key_tag}:\n"
            f"  Key tag:      {ds.key_tag}\n"
            f"  Algorithm:    {ds.algorithm} ({algorithm_name(ds.algorithm)})\n"
            f"  Digest type:  {ds.digest_type} ({DIGESTS[ds.digest_type][0]})\n"
            f"  Digest:       {ds.digest}\n"
            f"If the form asks for the public key (DNSKEY) instead: flags {key.flags}, "
            f"protocol {key.protocol}, algorithm {key.algorithm}, public key:\n"
            f"  {key.key}\n"
        )
    out.write(
        "\nPublish the signed zone first and check it ('mailward dnssec status'); then add the "
        "DS at the registrar.\nWhen you change keys later, remove the DS of a key only after "
        "the key has left the zone,\nand never leave a DS at the registrar for a zone you stop "
        "signing: validators would reject the domain.\n"
    )
    return 0


def _ds_keys(source: str, folder: Path) -> tuple[str, list[DnskeyRecord]]:
    path = Path(source)
    if path.is_file():
        if path.suffix == ".key":
            zone, dnskey, _ = dnssec_keys.read_public_key(path)
            return zone, [dnskey]
        if path.suffix == ".private":
            key = dnssec_keys.read_key(path)
            return key.zone, [key.dnskey]
        text = _read(path)
        data = signer.read_zone(text, filename=str(path))
        node = data.nodes.get(data.origin.labels, {})
        found = node.get(48)  # DNSKEY
        records = [parse_dnskey(r.to_text()) for r in (found.rdatas if found else [])]
        return data.origin.to_text(), [r for r in records if r.is_zone_key and not r.is_revoked]
    keys = dnssec_keys.load_keys(folder, source)
    now = int(time.time())
    zone = keys[0].zone if keys else source
    return zone, [k.dnskey for k in keys if k.published(now) and not k.dnskey.is_revoked]


# -- status ------------------------------------------------------------------------------


def run_status(args: argparse.Namespace) -> int:
    text = _read(args.zonefile)
    result = dnssec_status.status(
        text, filename=str(args.zonefile), origin=args.origin, refresh=args.refresh, now=args.now
    )
    now = result.now
    out = sys.stdout
    sigs = result.signatures
    out.write(f"{result.origin} serial {result.serial}: {len(sigs)} signatures\n")
    if not sigs:
        out.write("NOT SIGNED: the zone has no RRSIG records ('mailward dnssec sign')\n")
        return 1
    for (algorithm, tag), (count, low, high) in sorted(result.by_key().items()):
        span = _when(low) if low == high else f"{_when(low)} … {_when(high)}"
        out.write(f"  key {tag} ({algorithm_name(algorithm)}): {count} signatures, expire {span}\n")
    shown = sigs if args.all else sigs[:5]
    out.write("every signature, soonest first:\n" if args.all else "soonest to expire:\n")
    for sig in shown:
        out.write(
            f"  {sig.owner} {sig.covered} (key {sig.key_tag}) expires {_when(sig.expiration)} "
            f"({_until(sig.expiration, now)})\n"
        )
    first = sigs[0]
    due = first.expiration - args.refresh
    out.write(
        f"next re-sign due: {_when(due)} ({_until(due, now)}; --refresh {_span(args.refresh)})\n"
    )
    problems = []
    if result.expired:
        problems.append(f"EXPIRED: {len(result.expired)} signatures have expired")
    if result.not_yet_valid:
        problems.append(
            f"NOT YET VALID: {len(result.not_yet_valid)} signatures start in the future"
        )
    if first.expiration - now < args.warn:
        problems.append(f"WARNING: signatures expire within {_span(args.warn)}; re-sign now")
    if result.unsigned:
        problems.append(
            f"UNSIGNED: {len(result.unsigned)} RRsets have no signature, e.g. {result.unsigned[0]}"
        )
    for problem in problems:
        out.write(problem + "\n")
    if not problems:
        out.write("OK\n")
    return 1 if problems else 0
