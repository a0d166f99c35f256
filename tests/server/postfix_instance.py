"""A throwaway Postfix (Debian package ``postfix``) on loopback, and smtp-sink receivers.

``PostfixInstance(workdir, address, port, settings).start()`` writes a private configuration
directory (main.cf from ``settings`` over safe defaults, a short master.cf whose SMTP server
listens on ``address:port``), runs ``postfix -c DIR check`` (which makes the queue) and
``postfix -c DIR start-fg``, and waits for the banner; ``stop()`` ends it. Nothing goes to the
network: no DNS (``smtp_dns_support_level = disabled``), mail for unknown domains bounces
(``default_transport = error``), and each test domain has a transport to a loopback sink.

``services_chrooted`` lists the master.cf services run chrooted in the queue directory (as
Debian's packaged master.cf does for most of them): smtpd and cleanup, which do the
canonical-map lookups, by default, so that the socketmap path is proved to work from the
chroot. Postfix logs to ``WORKDIR/maillog``.

``SmtpSink(address, port, dump_dir, reject=...)`` runs ``smtp-sink -d`` so that every message
it takes is a file holding ``X-Mail-Args:`` and ``X-Rcpt-Args:`` (the envelope), then the
message.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import shutil
import smtplib
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostfixInstance", "SinkMessage", "SmtpSink", "free_port"]

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SERVICES = """\
{listen} inet n - {smtpd} - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - {cleanup} - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - {rewrite} - - trivial-rewrite
bounce unix - - {bounce} - 0 bounce
defer unix - - {bounce} - 0 bounce
trace unix - - {bounce} - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def _wait_for_banner(address: str, port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        try:
            with socket.create_connection((address, port), 1) as probe:
                probe.settimeout(5)
                if probe.recv(100).startswith(b"220"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer on {address}:{port}")


class PostfixInstance:
    def __init__(
        self,
        workdir: Path,
        address: str,
        port: int,
        settings: dict[str, str],
        *,
        services_chrooted: tuple[str, ...] = ("smtpd", "cleanup"),
    ) -> None:
        self.workdir = workdir
        self.address = address
        self.port = port
        self.config_dir = workdir / "etc"
        self.queue_dir = workdir / "spool"
        self.maillog = workdir / "maillog"
        self.settings = settings
        self.chrooted = services_chrooted
        self.process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.queue_dir.mkdir(exist_ok=True)
        data_dir = self.workdir / "data"
        data_dir.mkdir(exist_ok=True)
        postfix_user = pwd.getpwnam("postfix")
        os.chown(data_dir, postfix_user.pw_uid, postfix_user.pw_gid)
        main = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
            "data_directory": str(data_dir),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mx.postfix.test",
            "mydomain": "postfix.test",
            "myorigin": "$mydomain",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",  # must name a configured interface address
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtp_bind_address": self.address,
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "relayhost": "",
            "default_transport": "error:no mail leaves a test Postfix",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "biff": "no",
            "append_dot_mydomain": "no",
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": str(self.workdir),
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "smtp_connect_timeout": "5s",
            "delay_warning_time": "0",
            "smtputf8_enable": "no",
            **self.settings,
        }
        (self.config_dir / "main.cf").write_text(
            "".join(f"{key} = {value}\n" for key, value in main.items())
        )
        chroot = {
            name: "y" if name in self.chrooted else "n"
            for name in ("smtpd", "cleanup", "rewrite", "bounce")
        }
        (self.config_dir / "master.cf").write_text(
            SERVICES.format(listen=f"{self.address}:{self.port}", **chroot)
        )

    def postfix(self, *arguments: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``postfix -c DIR ARGUMENTS``, under script(1): postfix prints errors only to a tty."""
        command = shlex.join([POSTFIX, "-c", str(self.config_dir), *arguments])
        return subprocess.run(
            ["script", "-qec", command, "/dev/null"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        self.write_config()
        checked = self.postfix("check")
        if checked.returncode != 0:
            raise RuntimeError(f"postfix check failed: {checked.stdout}{checked.stderr}")
        out = (self.workdir / "master.out").open("wb")
        self.process = subprocess.Popen(
            [POSTFIX, "-c", str(self.config_dir), "start-fg"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _wait_for_banner(self.address, self.port, self.process, "postfix")

    def stop(self) -> None:
        if self.process is None:
            return
        self.postfix("stop", timeout=30)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log(self) -> str:
        return self.maillog.read_text(errors="replace") if self.maillog.exists() else ""

    def smtp(self) -> smtplib.SMTP:
        client = smtplib.SMTP(self.address, self.port, timeout=30)
        client.ehlo("client.test")
        return client


@dataclass(frozen=True)
class SinkMessage:
    mail_from: str
    rcpt_to: tuple[str, ...]
    text: str


class SmtpSink:
    """``smtp-sink`` on ``address:port``; with ``reject``, every RCPT gets a 5xx."""

    def __init__(self, address: str, port: int, dump_dir: Path, *, reject: bool = False) -> None:
        self.address = address
        self.port = port
        self.dump_dir = dump_dir
        self.reject = reject
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.dump_dir.mkdir(parents=True, exist_ok=True)
        postfix_user = pwd.getpwnam("postfix")
        os.chown(self.dump_dir, postfix_user.pw_uid, postfix_user.pw_gid)
        binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        command = [binary, "-u", "postfix", "-h", f"sink-{self.port}.test"]
        if self.reject:
            command += ["-f", "RCPT"]
        command += ["-d", f"{self.dump_dir}/%Y%m%d%H%M%S.", f"{self.address}:{self.port}", "32"]
        self.process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        _wait_for_banner(self.address, self.port, self.process, "smtp-sink")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.process = None

    def messages(self) -> list[SinkMessage]:
        """The messages received completely so far (a dump ends with an empty line)."""
        found = []
        for path in sorted(self.dump_dir.iterdir()):
            text = path.read_text(errors="replace")
            if not text.endswith("\n\n"):
                continue  # still being received
            head = text.split("\n\n", 1)[0].splitlines()
            found.append(
                SinkMessage(
                    _path(next((line for line in head if line.startswith("X-Mail-Args:")), "")),
                    tuple(_path(line) for line in head if line.startswith("X-Rcpt-Args:")),
                    text,
                )
            )
        return found

    def wait_for(self, count: int, timeout: float = 30) -> list[SinkMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages()
            if len(messages) >= count:
                return messages
            time.sleep(0.1)
        raise AssertionError(f"{self.address}:{self.port} got {len(self.messages())} of {count}")


def _path(line: str) -> str:
    """The address in ``X-Mail-Args: FROM:<a@b> SIZE=1`` (or ``X-Rcpt-Args: TO:<a@b>``)."""
    start, end = line.find("<"), line.find(">")
    return line[start + 1 : end] if 0 <= start < end else ""
