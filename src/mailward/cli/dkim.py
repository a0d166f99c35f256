"""NAME
    mailward dkim - DKIM keys, signing and verifying (RFC 6376, RFC 8301, RFC 8463)

SUMMARY
    mailward dkim keygen --domain D --selector S [--algorithm rsa-2048|rsa-3072|ed25519]
                         [--out FILE]
    mailward dkim sign [MESSAGE|-] --domain D --selector S --key FILE
                       [--selector S2 --key FILE2] [--canonicalization relaxed/relaxed]
                       [--headers a:b:c] [--oversign from] [--expire-after SECONDS]
    mailward dkim verify [MESSAGE|-] [--format text|json] [DNS OPTIONS]

DESCRIPTION
    ``keygen`` writes a new private key (PEM, PKCS#8, mode 0600; an existing file is never
    overwritten; default ``S._domainkey.D.pem``) and prints the TXT record to publish at
    ``S._domainkey.D``, split into 255-octet strings ready to paste into a zone file.
    ``sign`` prints the message with DKIM-Signature fields on top: one per --key (give an RSA
    and an Ed25519 key to dual-sign; the n-th --selector goes with the n-th --key). From is
    oversigned by default. ``verify`` checks every DKIM-Signature of the message with keys
    from DNS (or --zone files, offline) and prints one result a signature.

SECURITY
    The message is hostile: at most 64 MiB is read, the header block is bounded (1 MiB, 1000
    fields), at most 10 signatures are checked. Private keys are written 0600 and never
    printed.

EXIT STATUS
    ``verify``: 0 a signature passed, 1 none passed (or none present), 2 could not run.
    ``keygen``/``sign``: 0 done, 2 could not run (usage, unreadable key, existing file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from mailward._files import read_limited
from mailward.auth.dkim import (
    Signer,
    SigningKey,
    VerifyResult,
    generate_key,
    private_key_pem,
    verify,
)
from mailward.auth.message import MessageError
from mailward.cli._dnsopts import add_dns_options, resolver_from_args
from mailward.errors import UsageError
from mailward.records._txt import to_zone_text
from mailward.records.dkim import key_record

MAX_MESSAGE = 64 << 20


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "dkim",
        help="DKIM: make a key and its DNS record, sign and verify messages",
        description="DKIM keys, signing and verifying (RFC 6376, RFC 8301, RFC 8463).",
        epilog="Exit status (verify): 0 a signature passed, 1 none passed, 2 could not run.",
    )
    actions = parser.add_subparsers(dest="dkim_action", required=True, metavar="ACTION")

    keygen = actions.add_parser("keygen", help="write a private key, print its TXT record")
    keygen.add_argument("--domain", required=True, help="the signing domain (d=)")
    keygen.add_argument("--selector", required=True, help="the selector (s=)")
    keygen.add_argument(
        "--algorithm", default="rsa-2048", choices=("rsa-2048", "rsa-3072", "ed25519")
    )
    keygen.add_argument(
        "--out", metavar="FILE", help="private key file (default S._domainkey.D.pem)"
    )
    keygen.set_defaults(run=run_keygen)

    sign = actions.add_parser("sign", help="sign a message (prints it with its signatures)")
    sign.add_argument("message", nargs="?", default="-", help="message file (default stdin)")
    sign.add_argument("--domain", required=True, help="the signing domain (d=)")
    sign.add_argument("--selector", action="append", required=True, help="s=, one a --key")
    sign.add_argument("--key", action="append", required=True, metavar="FILE", help="PEM key")
    sign.add_argument("--canonicalization", default="relaxed/relaxed", metavar="HEADER/BODY")
    sign.add_argument("--headers", metavar="A:B:C", help="fields to sign when present")
    sign.add_argument("--oversign", default="from", metavar="A:B", help="default: from")
    sign.add_argument("--expire-after", type=int, metavar="SECONDS", help="write x=")
    sign.add_argument("--now", type=int, help=argparse.SUPPRESS)
    sign.set_defaults(run=run_sign)

    check = actions.add_parser("verify", help="verify every DKIM signature of a message")
    check.add_argument("message", nargs="?", default="-", help="message file (default stdin)")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--now", type=int, help=argparse.SUPPRESS)
    add_dns_options(check)
    check.set_defaults(run=run_verify)


def _read_message(name: str) -> bytes:
    try:
        data = read_limited(name, MAX_MESSAGE)
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None
    if data is None:
        raise UsageError(f"{name}: the message is larger than {MAX_MESSAGE >> 20} MiB")
    return data


def run_keygen(args: argparse.Namespace) -> int:
    domain, selector = args.domain.rstrip(".").lower(), args.selector.lower()
    path = Path(args.out or f"{selector}._domainkey.{domain}.pem")
    key = generate_key(args.algorithm)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} exists; it is never overwritten") from None
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_key_pem(key))
    record = key_record(key.public_key()).to_text()
    print(f"{selector}._domainkey.{domain}. IN TXT ( {to_zone_text(record)} )")
    print(f"private key: {path} (mode 0600, {args.algorithm})", file=sys.stderr)
    return 0


def run_sign(args: argparse.Namespace) -> int:
    if len(args.selector) != len(args.key):
        raise UsageError("give one --selector for each --key, in the same order")
    keys = []
    for selector, path in zip(args.selector, args.key, strict=True):
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        try:
            keys.append(SigningKey.from_pem(pem, domain=args.domain, selector=selector))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{path}: {exc}") from None
    options: dict[str, Any] = {
        "canonicalization": args.canonicalization,
        "oversign": tuple(n for n in args.oversign.split(":") if n),
        "expire_after": args.expire_after,
    }
    if args.headers:
        options["headers"] = tuple(n.strip() for n in args.headers.split(":") if n.strip())
    try:
        signer = Signer(keys, **options)
        signed = signer.sign_message(_read_message(args.message), now=args.now)
    except (ValueError, MessageError) as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.buffer.write(signed)
    sys.stdout.buffer.flush()
    return 0


def run_verify(args: argparse.Namespace) -> int:
    data = _read_message(args.message)
    resolver = resolver_from_args(args)

    async def check() -> VerifyResult:
        try:
            return await verify(data, resolver, now=args.now)
        finally:
            await resolver.aclose()

    outcome = asyncio.run(check())
    if args.format == "json":
        print(json.dumps(as_json(outcome), indent=2))
    else:
        print(as_text(outcome))
    return 0 if outcome.passed else 1


def as_json(outcome: VerifyResult) -> dict[str, Any]:
    return {
        "result": outcome.result,
        "error": outcome.error,
        "signatures": [
            {
                "result": s.result.value,
                "reason": s.reason,
                "domain": s.domain,
                "selector": s.selector,
                "algorithm": s.algorithm,
                "auid": s.auid if s.domain else None,
                "key_bits": s.key_bits,
                "testing": s.testing,
                "body_length": s.signature.length if s.signature else None,
                "warnings": list(s.warnings),
            }
            for s in outcome.signatures
        ],
    }


def as_text(outcome: VerifyResult) -> str:
    if outcome.error is not None:
        return f"dkim=permerror ({outcome.error})"
    if not outcome.signatures:
        return "dkim=none (the message has no DKIM-Signature)"
    lines = []
    for s in outcome.signatures:
        who = f" d={s.domain} s={s.selector} a={s.algorithm}" if s.domain else ""
        bits = f" ({s.key_bits}-bit key)" if s.key_bits else ""
        lines.append(f"dkim={s.result.value}{who}{bits}: {s.reason}")
        lines += [f"  warning: {w}" for w in s.warnings]
    return "\n".join(lines)
