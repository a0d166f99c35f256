"""NAME
    mailward srs - SRS for a forwarding mail server: a Postfix socketmap service and its set-up

SUMMARY
    mailward srs serve --domain DOMAIN [--secrets FILE] [--listen unix:PATH|inet:HOST:PORT]
    mailward srs forward ADDRESS --domain DOMAIN [--secrets FILE]
    mailward srs reverse ADDRESS [--secrets FILE]
    mailward srs postfix-config --domain DOMAIN [--listen ...] [--ip ADDRESS]...

DESCRIPTION
    ``serve`` answers Postfix's ``socketmap`` lookups in two maps: ``forward`` rewrites an
    envelope sender into an SRS address of DOMAIN (for ``sender_canonical_maps``), ``reverse``
    turns a bounce recipient at such an address back into the original sender (for
    ``recipient_canonical_maps``). Addresses are postsrsd's (same format, same secrets), so
    one replaces the other. ``forward`` and ``reverse`` do one rewrite for scripts: the result
    on stdout. ``postfix-config`` prints the main.cf lines and the DNS records DOMAIN needs.

    The secret file holds one secret a line; the first signs, all verify (to rotate, put a new
    first line, keep the old one for the --max-age days, then drop it). ``serve`` creates it
    (mode 0600, a random secret) when it does not exist; nothing uses it while other users may
    read it. A postsrsd secret file (/etc/postsrsd.secret) works as is.

SIGNALS
    ``serve``: SIGHUP reloads the secret file (a bad file is reported and the old secrets
    kept); SIGTERM and SIGINT stop listening, close the connections and exit 0.

EXIT STATUS
    0 rewritten (``forward``/``reverse``) or a clean shutdown (``serve``); 1 not rewritten
    (the reason on stderr); 2 could not run (usage, unusable secret file, socket in use).
"""

from __future__ import annotations

import argparse
import asyncio
import grp
import ipaddress
import logging
import sys
from pathlib import Path
from typing import Any

from mailward.auth.srs import (
    DEFAULT_HASH_LENGTH,
    DEFAULT_MAX_AGE,
    SEPARATORS,
    SRS,
    Rewritten,
    create_secret_file,
    load_secrets,
)
from mailward.errors import MailwardError, UsageError
from mailward.records._txt import to_zone_text
from mailward.server.socketmap import (
    IDLE_TIMEOUT,
    MAX_CONNECTIONS,
    MAX_REQUEST,
    Endpoint,
    SocketmapServer,
    SRSMaps,
    serve_until_signalled,
)

DEFAULT_SECRETS = "/etc/mailward/srs.secret"
DEFAULT_QUEUE_DIRECTORY = "/var/spool/postfix"
DEFAULT_LISTEN = f"unix:{DEFAULT_QUEUE_DIRECTORY}/mailward-srs"

log = logging.getLogger("mailward.srs")


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "srs",
        help="SRS for forwarders: Postfix socketmap service, rewrites, Postfix set-up",
        description="Sender Rewriting Scheme for a forwarding Postfix (postsrsd-compatible).",
        epilog="Exit status: 0 rewritten / clean exit, 1 not rewritten, 2 could not run.",
    )
    actions = parser.add_subparsers(dest="srs_action", required=True, metavar="ACTION")

    serve = actions.add_parser("serve", help="answer Postfix's forward and reverse socketmaps")
    _add_srs_options(serve, domain_required=True)
    serve.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="ENDPOINT",
        help=f"unix:PATH or inet:HOST:PORT (default {DEFAULT_LISTEN})",
    )
    serve.add_argument(
        "--socket-group",
        default=None,
        metavar="GROUP",
        help="group of the unix socket (default: postfix, when that group exists)",
    )
    serve.add_argument(
        "--socket-mode",
        default="0660",
        metavar="OCTAL",
        help="permissions of the unix socket (default 0660: owner and group only)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        metavar="N",
        help=f"connections open at once; more are refused (default {MAX_CONNECTIONS})",
    )
    serve.add_argument(
        "--max-request",
        type=int,
        default=MAX_REQUEST,
        metavar="OCTETS",
        help=f"longest request (default {MAX_REQUEST})",
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=IDLE_TIMEOUT,
        metavar="SECONDS",
        help=f"close a connection idle this long (default {IDLE_TIMEOUT:g})",
    )
    serve.add_argument(
        "-v", "--verbose", action="count", default=0, help="log refusals (-v), every rewrite (-vv)"
    )
    serve.set_defaults(run=run_serve)

    forward = actions.add_parser("forward", help="rewrite one envelope sender (prints it)")
    forward.add_argument("address")
    _add_srs_options(forward, domain_required=True)
    forward.set_defaults(run=run_forward)

    reverse = actions.add_parser("reverse", help="reverse one SRS address (prints it)")
    reverse.add_argument("address")
    _add_srs_options(reverse, domain_required=False)
    reverse.set_defaults(run=run_reverse)

    config = actions.add_parser(
        "postfix-config", help="print the main.cf lines and DNS records for SRS"
    )
    config.add_argument("--domain", required=True, help="the SRS domain")
    config.add_argument(
        "--listen", default=DEFAULT_LISTEN, metavar="ENDPOINT", help="where `serve` listens"
    )
    config.add_argument(
        "--queue-directory",
        default=DEFAULT_QUEUE_DIRECTORY,
        metavar="DIR",
        help=f"Postfix's queue_directory (default {DEFAULT_QUEUE_DIRECTORY})",
    )
    config.add_argument(
        "--ip",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="an address this server sends from, for the SPF record (repeatable)",
    )
    config.set_defaults(run=run_postfix_config)


def _add_srs_options(parser: argparse.ArgumentParser, *, domain_required: bool) -> None:
    group = parser.add_argument_group("SRS options (postsrsd's flag in brackets)")
    group.add_argument(
        "--domain",
        required=domain_required,
        help="the SRS domain: rewritten senders are @DOMAIN [-d]",
    )
    group.add_argument(
        "--secrets",
        default=DEFAULT_SECRETS,
        metavar="FILE",
        help=f"secret file, one secret a line, first signs [-s] (default {DEFAULT_SECRETS})",
    )
    group.add_argument(
        "--local-domain",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="never rewrite senders here; .example.org means subdomains (repeatable) [-X]",
    )
    group.add_argument(
        "--separator", default="=", choices=list(SEPARATORS), help="after SRS0/SRS1 [-a]"
    )
    group.add_argument(
        "--hash-length",
        type=int,
        default=DEFAULT_HASH_LENGTH,
        metavar="N",
        help=f"hash characters written (default {DEFAULT_HASH_LENGTH}) [-n]",
    )
    group.add_argument(
        "--hash-min",
        type=int,
        default=None,
        metavar="N",
        help="fewest hash characters accepted (default: --hash-length) [-N]",
    )
    group.add_argument(
        "--max-age",
        type=int,
        default=DEFAULT_MAX_AGE,
        metavar="DAYS",
        help=f"days an address reverses (default {DEFAULT_MAX_AGE})",
    )
    group.add_argument(
        "--always-rewrite", action="store_true", help="rewrite senders in DOMAIN too [-A]"
    )


def _srs_from_args(args: argparse.Namespace, *, create: bool = False) -> SRS:
    if create and create_secret_file(args.secrets):
        print(f"mailward srs: created the secret file {args.secrets} (mode 0600)", file=sys.stderr)
    secrets = load_secrets(args.secrets)
    try:
        return SRS(
            args.domain or "localhost",  # reverse does not need the domain
            secrets,
            separator=args.separator,
            hash_length=args.hash_length,
            hash_min=args.hash_min,
            max_age=args.max_age,
            local_domains=tuple(args.local_domain),
            always_rewrite=args.always_rewrite,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _print_result(result: object) -> int:
    if isinstance(result, Rewritten):
        print(result.address)
        return 0
    print(f"mailward srs: not rewritten: {result}", file=sys.stderr)
    return 1


def run_forward(args: argparse.Namespace) -> int:
    return _print_result(_srs_from_args(args).forward(args.address))


def run_reverse(args: argparse.Namespace) -> int:
    return _print_result(_srs_from_args(args).reverse(args.address))


def run_serve(args: argparse.Namespace) -> int:
    endpoint = Endpoint.parse(args.listen)
    try:
        mode = int(args.socket_mode, 8)
    except ValueError:
        raise UsageError(f"--socket-mode wants octal digits, not {args.socket_mode!r}") from None
    if mode & 0o007 or not 0 <= mode <= 0o777:
        raise UsageError(
            "--socket-mode must give other users no access: anyone who can connect can make "
            "SRS addresses that route bounces anywhere"
        )
    if args.max_connections < 1 or args.max_request < 64 or args.idle_timeout <= 0:
        raise UsageError("--max-connections, --max-request and --idle-timeout must be positive")
    group = args.socket_group if args.socket_group is not None else _postfix_group()
    logging.basicConfig(
        stream=sys.stderr,
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="mailward srs: %(levelname)s: %(message)s",
    )
    maps = SRSMaps(_srs_from_args(args, create=True))
    server = SocketmapServer(
        maps,
        endpoint,
        max_connections=args.max_connections,
        max_request=args.max_request,
        idle_timeout=args.idle_timeout,
        socket_mode=mode,
        socket_group=group or None,
    )

    def reload() -> None:
        try:
            maps.srs = maps.srs.with_secrets(load_secrets(args.secrets))
        except (MailwardError, ValueError, OSError) as exc:
            log.error("reload failed, keeping the old secrets: %s", exc)
        else:
            log.warning("reloaded %d secret(s) from %s", len(maps.srs.secrets), args.secrets)

    def ready() -> None:
        print(
            f"mailward srs: serving forward and reverse for {maps.srs.domain} on {server.address}",
            file=sys.stderr,
            flush=True,
        )

    try:
        asyncio.run(serve_until_signalled(server, reload, ready))
    except OSError as exc:
        raise UsageError(f"cannot listen on {endpoint}: {exc.strerror or exc}") from None
    return 0


def _postfix_group() -> str:
    try:
        grp.getgrnam("postfix")
    except KeyError:
        return ""
    return "postfix"


def socketmap_table(endpoint: Endpoint, queue_directory: str) -> str:
    """The ``socketmap:…`` prefix Postfix needs to reach ``endpoint``.

    Postfix daemons run in their queue directory (chrooted there, for services with ``y`` in
    master.cf's chroot column), so a socket inside it is named relative to it and works both
    ways; any other path works only for services that are not chrooted.
    """
    if endpoint.kind == "inet":
        return f"socketmap:{endpoint}"
    path = Path(endpoint.path)
    queue = Path(queue_directory)
    if path.is_absolute() and path.is_relative_to(queue) and path != queue:
        return f"socketmap:unix:{path.relative_to(queue)}"
    return f"socketmap:unix:{path}"


def postfix_config(domain: str, endpoint: Endpoint, queue_directory: str, ips: list[str]) -> str:
    """The text ``mailward srs postfix-config`` prints."""
    table = socketmap_table(endpoint, queue_directory)
    chroot_note = ""
    if endpoint.kind == "unix" and table.startswith(f"socketmap:unix:{endpoint.path}"):
        chroot_note = (
            "# The socket is outside Postfix's queue directory: services chrooted in master.cf\n"
            f"# cannot reach it. Listen under {queue_directory}, or on inet:127.0.0.1:PORT.\n"
        )
    mechanisms = []
    for ip in ips:
        try:
            parsed = ipaddress.ip_address(ip)
        except ValueError:
            raise UsageError(f"--ip wants an IPv4 or IPv6 address, not {ip!r}") from None
        mechanisms.append(f"ip{parsed.version}:{parsed}")
    spf = "v=spf1 " + " ".join(mechanisms or ["a", "mx"]) + " -all"
    spf_note = (
        ""
        if ips
        else "; `a mx`: this server's address must be the A or MX of the domain;\n"
        "; else run with --ip ADDRESS for each address it sends from.\n"
    )
    return (
        f"# main.cf: SRS through `mailward srs serve --domain {domain}` on {endpoint}\n"
        f"{chroot_note}"
        "# Envelope senders only: the default class (envelope_sender, header_sender) would\n"
        "# also rewrite the From: header people read.\n"
        f"sender_canonical_maps = {table}:forward\n"
        "sender_canonical_classes = envelope_sender\n"
        "# Bounces to SRS addresses go back to the original sender; a forged or expired one\n"
        "# is not found, and Postfix refuses it as an unknown user of the SRS domain.\n"
        f"recipient_canonical_maps = {table}:reverse\n"
        "recipient_canonical_classes = envelope_recipient\n"
        "\n"
        f"; DNS for {domain}: receivers check forwarded mail's SPF against this domain now.\n"
        f"; A domain has one SPF record: if {domain} already has one, add the mechanisms to it.\n"
        f"{spf_note}"
        f"{domain}. IN TXT {to_zone_text(spf)}\n"
        f"; Bounces to SRS addresses must reach this server: {domain}'s MX points here, and\n"
        f"; {domain} is a domain Postfix accepts (mydestination, virtual_alias_domains or\n"
        "; relay_domains), with recipient validation on, so forged addresses are refused.\n"
    )


def run_postfix_config(args: argparse.Namespace) -> int:
    if not args.domain or any(c in args.domain for c in "@ ="):
        raise UsageError(f"not a domain: {args.domain!r}")
    endpoint = Endpoint.parse(args.listen)
    sys.stdout.write(postfix_config(args.domain, endpoint, args.queue_directory, args.ip))
    return 0
