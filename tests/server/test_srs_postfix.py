"""End to end: a real Postfix set up with the lines `mailward srs postfix-config` prints.

The forwarder (Postfix on 127.0.0.63, smtpd and cleanup chrooted in the queue directory)
accepts mail for ``fwd.test``, whose aliases forward off-site: ``forward@fwd.test`` to
``alice@final.test`` and ``reject@fwd.test`` to a receiver that refuses every recipient.
``mailward srs serve`` listens on a unix socket inside the queue directory. Three smtp-sinks
on 127.0.0.64 play the other servers: the final receiver, the original sender's server
(``orig.test``, where bounces must arrive) and the refusing receiver.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from postfix_instance import PostfixInstance, SmtpSink, free_port

from mailward.auth.srs import SRS, Rewritten, load_secrets

FORWARDER = "127.0.0.63"
SINKS = "127.0.0.64"


@dataclass
class Setup:
    postfix: PostfixInstance
    final: SmtpSink
    origin: SmtpSink
    srs: SRS
    socket_path: Path


def printed_main_cf(socket_path: Path, queue_directory: Path) -> dict[str, str]:
    """The main.cf settings `mailward srs postfix-config` prints, as a user would paste them."""
    output = subprocess.run(
        [
            *(sys.executable, "-m", "mailward", "srs", "postfix-config", "--domain", "fwd.test"),
            *("--listen", f"unix:{socket_path}", "--queue-directory", str(queue_directory)),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    settings = {}
    for line in output.split("\n\n")[0].splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" = ")
            settings[key] = value
    assert settings["sender_canonical_maps"] == "socketmap:unix:srs:forward"
    return settings


@pytest.fixture(scope="module")
def setup(postfix: dict[str, str]) -> Iterator[Setup]:
    # Not under pytest's 0700 temporary folder: Postfix's own user must reach its files.
    workdir = Path(tempfile.mkdtemp(prefix="mailward-postfix-", dir="/tmp"))
    workdir.chmod(0o755)
    ports = {name: free_port(SINKS) for name in ("final", "orig", "refuser")}  # name.test
    final = SmtpSink(SINKS, ports["final"], workdir / "final")
    origin = SmtpSink(SINKS, ports["orig"], workdir / "orig")
    refuser = SmtpSink(SINKS, ports["refuser"], workdir / "refuser", reject=True)
    queue = workdir / "spool"
    socket_path = queue / "srs"
    settings = printed_main_cf(socket_path, queue)
    settings |= {
        "virtual_alias_domains": "fwd.test",
        "virtual_alias_maps": "inline:{ forward@fwd.test=alice@final.test, "
        "reject@fwd.test=nobody@refuser.test }",
        "transport_maps": "inline:{ "
        + ", ".join(f"{name}.test=smtp:[{SINKS}]:{port}" for name, port in ports.items())
        + " }",
    }
    instance = PostfixInstance(workdir, FORWARDER, free_port(FORWARDER), settings)
    instance.write_config()  # makes the queue directory the socket lives in
    secrets = workdir / "srs.secret"
    serve = subprocess.Popen(
        [
            *(sys.executable, "-m", "mailward", "srs", "serve", "--domain", "fwd.test"),
            *("--secrets", str(secrets), "--listen", f"unix:{socket_path}"),
            *("--socket-group", "postfix", "-v"),
        ],
        stderr=(workdir / "srs.log").open("wb"),
    )
    started: list[SmtpSink | PostfixInstance] = []
    try:
        deadline = time.monotonic() + 15
        while not socket_path.exists():
            assert serve.poll() is None and time.monotonic() < deadline, (
                workdir / "srs.log"
            ).read_text()
            time.sleep(0.05)
        for server in (final, origin, refuser, instance):
            server.start()
            started.append(server)
        yield Setup(instance, final, origin, SRS("fwd.test", load_secrets(secrets)), socket_path)
    finally:
        for server in reversed(started):
            server.stop()
        serve.terminate()
        assert serve.wait(10) == 0
        if not os.environ.get("MAILWARD_KEEP_POSTFIX"):  # set it to keep the logs and dumps
            shutil.rmtree(workdir, ignore_errors=True)


def message(sender: str, recipient: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Sender <{sender}>"
    msg["To"] = recipient
    msg["Subject"] = subject
    msg.set_content("A message for the SRS end-to-end test.\n")
    return msg


def find(sink: SmtpSink, subject: str, timeout: float = 30) -> tuple[str, tuple[str, ...], str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for found in sink.messages():
            if subject in found.text:
                return found.mail_from, found.rcpt_to, found.text
        time.sleep(0.1)
    raise AssertionError(f"no message {subject!r} at {sink.address}:{sink.port}")


def test_forwarded_mail_leaves_with_an_srs_sender(setup: Setup) -> None:
    with setup.postfix.smtp() as client:
        client.send_message(
            message("bob@orig.test", "forward@fwd.test", "forwarded-1"),
            from_addr="Bob@orig.test",
            to_addrs=["forward@fwd.test"],
        )
    mail_from, rcpt_to, text = find(setup.final, "forwarded-1")
    assert rcpt_to == ("alice@final.test",)
    assert mail_from.startswith("SRS0=") and mail_from.endswith("=orig.test=Bob@fwd.test")
    assert setup.srs.reverse(mail_from) == Rewritten("Bob@orig.test")
    assert setup.srs.reverse(mail_from.lower()) == Rewritten("bob@orig.test")
    assert "From: Sender <bob@orig.test>" in text  # envelope only: the From: header is intact


def spf_zone_line() -> str:
    """The SPF record `mailward srs postfix-config --ip` prints for the SRS domain."""
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailward",
            "srs",
            "postfix-config",
            "--domain",
            "fwd.test",
            "--ip",
            FORWARDER,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(line for line in output.splitlines() if line.startswith("fwd.test. IN TXT"))


async def test_the_final_receiver_sees_spf_pass_for_the_forwarder(setup: Setup) -> None:
    """Without SRS the origin's SPF fails at the forwarder's address; with it, SPF passes."""
    from mailward.auth.spf import Result, check_mail_from
    from mailward.dns.zonefiles import ZoneResolver

    zones = ZoneResolver.from_text(
        "$TTL 300\nfwd.test. IN SOA ns.fwd.test. h.fwd.test. 1 7200 3600 1209600 300\n"
        + spf_zone_line()
        + "\n",
        "$TTL 300\norig.test. IN SOA ns.orig.test. h.orig.test. 1 7200 3600 1209600 300\n"
        'orig.test. IN TXT "v=spf1 ip4:192.0.2.25 -all"\n',
    )
    with setup.postfix.smtp() as client:
        client.send_message(
            message("bob@orig.test", "forward@fwd.test", "forwarded-spf"),
            from_addr="bob@orig.test",
            to_addrs=["forward@fwd.test"],
        )
    mail_from, _, _ = find(setup.final, "forwarded-spf")
    with_srs = await check_mail_from(FORWARDER, mail_from, "fwd.test", zones)
    without_srs = await check_mail_from(FORWARDER, "bob@orig.test", "fwd.test", zones)
    assert with_srs.result == Result.PASS, with_srs.reason
    assert without_srs.result == Result.FAIL


def test_a_sender_of_the_srs_domain_is_not_rewritten(setup: Setup) -> None:
    with setup.postfix.smtp() as client:
        client.send_message(
            message("carol@fwd.test", "forward@fwd.test", "local-sender"),
            from_addr="carol@fwd.test",
            to_addrs=["forward@fwd.test"],
        )
    mail_from, _, _ = find(setup.final, "local-sender")
    assert mail_from == "carol@fwd.test"


def test_a_bounce_to_the_srs_address_reaches_the_original_sender(setup: Setup) -> None:
    made = setup.srs.forward("dave@orig.test")
    assert isinstance(made, Rewritten)
    with setup.postfix.smtp() as client:  # the final receiver's bounce, as receivers send it
        client.send_message(
            message("MAILER-DAEMON@final.test", made.address.lower(), "bounce-1"),
            from_addr="",
            to_addrs=[made.address.lower()],
        )
    mail_from, rcpt_to, _ = find(setup.origin, "bounce-1")
    assert (mail_from, rcpt_to) == ("", ("dave@orig.test",))


def test_a_rejected_forward_bounces_back_to_the_original_sender(setup: Setup) -> None:
    with setup.postfix.smtp() as client:
        client.send_message(
            message("erin@orig.test", "reject@fwd.test", "refused-1"),
            from_addr="erin@orig.test",
            to_addrs=["reject@fwd.test"],
        )
    # Postfix's own bounce goes to the SRS sender, which the reverse map sends home.
    mail_from, rcpt_to, text = find(setup.origin, "refused-1")
    assert (mail_from, rcpt_to) == ("", ("erin@orig.test",))
    assert "nobody@refuser.test" in text


@pytest.mark.parametrize("kind", ["forged", "expired", "other secret"])
def test_an_invalid_srs_address_is_refused(setup: Setup, kind: str) -> None:
    made = setup.srs.forward(
        "frank@orig.test", now=time.time() - (30 * 86400 if kind == "expired" else 0)
    )
    assert isinstance(made, Rewritten)
    address = made.address
    if kind == "forged":
        address = (
            "SRS0=AAAA" + address[9:]
            if not address.startswith("SRS0=AAAA")
            else ("SRS0=BBBB" + address[9:])
        )
    elif kind == "other secret":
        other = SRS("fwd.test", (b"an attacker's guess",)).forward("frank@orig.test")
        assert isinstance(other, Rewritten)
        address = other.address
    with setup.postfix.smtp() as client:
        client.mail("")
        code, reply = client.rcpt(address)
    assert code == 550, reply
    assert b"User unknown" in reply


def test_perm_from_a_reverse_map_would_defer_every_recipient(setup: Setup) -> None:
    """Why reverse never answers PERM: Postfix takes it as a table error and defers (451)."""
    workdir = Path(tempfile.mkdtemp(prefix="mailward-postfix-perm-", dir="/tmp"))
    workdir.chmod(0o755)
    settings = {
        "virtual_alias_domains": "fwd.test",
        "virtual_alias_maps": "inline:{ forward@fwd.test=alice@final.test }",
        # A map name the service does not have: it answers PERM to every lookup.
        "recipient_canonical_maps": f"socketmap:unix:{setup.socket_path}:no-such-map",
        "recipient_canonical_classes": "envelope_recipient",
    }
    other = PostfixInstance(
        workdir, FORWARDER, free_port(FORWARDER), settings, services_chrooted=()
    )
    other.start()
    try:
        with other.smtp() as client:
            client.mail("bob@orig.test")
            code, reply = client.rcpt("forward@fwd.test")
        assert code == 451, reply
        assert b"4.3.5 Server configuration error" in reply
    finally:
        other.stop()
        shutil.rmtree(workdir, ignore_errors=True)
