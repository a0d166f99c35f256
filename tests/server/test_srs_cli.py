"""``mailward srs``: forward/reverse for scripts, postfix-config, and serve as a process
(secret file creation and refusal, SIGHUP reload, SIGTERM shutdown)."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailward.auth.srs import SRS, Rewritten
from mailward.cli import main
from mailward.cli.srs import postfix_config, socketmap_table
from mailward.server.socketmap import Endpoint, netstring


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    path = tmp_path / "srs.secret"
    path.write_bytes(b"cli-secret\nolder\n")
    path.chmod(0o600)
    return path


def test_forward_and_reverse_for_scripts(secrets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--secrets", str(secrets)]
    status, out, _ = run(
        ["srs", "forward", "alice@orig.example", "--domain", "fwd.example", *common], capsys
    )
    expected = SRS("fwd.example", (b"cli-secret",)).forward("alice@orig.example")
    assert status == 0 and isinstance(expected, Rewritten) and out == expected.address + "\n"
    status, out, _ = run(["srs", "reverse", out.strip().lower(), *common], capsys)
    assert (status, out) == (0, "alice@orig.example\n")
    status, out, err = run(
        ["srs", "reverse", "SRS0=abcd=AA=x.example=y@fwd.example", *common], capsys
    )
    assert status == 1 and out == "" and "not rewritten" in err
    status, out, err = run(
        ["srs", "forward", "bob@fwd.example", "--domain", "fwd.example", *common], capsys
    )
    assert status == 1 and "is the SRS domain" in err


def test_unusable_secret_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readable = tmp_path / "readable"
    readable.write_text("k\n")
    readable.chmod(0o644)
    for path, message in ((readable, "every user"), (tmp_path / "absent", "cannot open")):
        status, _, err = run(["srs", "reverse", "a@b", "--secrets", str(path)], capsys)
        assert status == 2 and message in err


def test_postfix_config_prints_the_exact_lines(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        [
            "srs",
            "postfix-config",
            "--domain",
            "fwd.example",
            "--ip",
            "192.0.2.7",
            "--ip",
            "2001:db8::7",
        ],
        capsys,
    )
    assert status == 0
    lines = out.splitlines()
    for line in (
        "sender_canonical_maps = socketmap:unix:mailward-srs:forward",
        "sender_canonical_classes = envelope_sender",
        "recipient_canonical_maps = socketmap:unix:mailward-srs:reverse",
        "recipient_canonical_classes = envelope_recipient",
        'fwd.example. IN TXT "v=spf1 ip4:192.0.2.7 ip6:2001:db8::7 -all"',
    ):
        assert line in lines
    status, _, err = run(["srs", "postfix-config", "--domain", "fwd.example", "--ip", "x"], capsys)
    assert status == 2 and "--ip" in err


def test_socketmap_table_names() -> None:
    queue = "/var/spool/postfix"
    assert socketmap_table(Endpoint.parse("unix:/var/spool/postfix/srs"), queue) == (
        "socketmap:unix:srs"
    )
    assert socketmap_table(Endpoint.parse("unix:/run/srs.sock"), queue) == (
        "socketmap:unix:/run/srs.sock"
    )
    assert socketmap_table(Endpoint.parse("inet:127.0.0.1:10003"), queue) == (
        "socketmap:inet:127.0.0.1:10003"
    )
    text = postfix_config("fwd.example", Endpoint.parse("unix:/run/srs.sock"), queue, [])
    assert "cannot reach it" in text and '"v=spf1 a mx -all"' in text


# -- serve, as a process ------------------------------------------------------------------------


class Served:
    def __init__(self, process: subprocess.Popen[bytes], path: Path) -> None:
        self.process = process
        self.path = path

    def ask(self, request: bytes) -> bytes:
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(5)
            client.connect(str(self.path))
            client.sendall(netstring(request))
            data = b""
            while not data.endswith(b","):
                chunk = client.recv(4096)
                assert chunk, data
                data += chunk
        return data.split(b":", 1)[1][:-1]

    def stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read().decode()


def start_serve(tmp_path: Path, secrets: Path, *extra: str) -> Served:
    path = tmp_path / "srs.sock"
    command = [sys.executable, "-m", "mailward", "srs", "serve", "--domain", "fwd.example"]
    command += ["--secrets", str(secrets), "--listen", f"unix:{path}", *extra]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists():
            try:
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(str(path))
                return Served(process, path)
            except OSError:
                pass
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"serve did not start: {process.stderr.read().decode()}")  # type: ignore[union-attr]


@pytest.fixture
def served(tmp_path: Path, secrets: Path) -> Iterator[Served]:
    serve = start_serve(tmp_path, secrets, "--socket-group", "")
    yield serve
    if serve.process.poll() is None:
        serve.process.kill()
        serve.process.wait()


def test_serve_answers_reloads_and_stops_cleanly(served: Served, secrets: Path) -> None:
    assert stat.S_IMODE(served.path.stat().st_mode) == 0o660
    first = served.ask(b"forward alice@orig.example")
    assert first.startswith(b"OK SRS0=")
    assert served.ask(b"reverse " + first[3:].lower()) == b"OK alice@orig.example"
    assert served.ask(b"reverse SRS0=abcd=AA=x.example=y@fwd.example") == b"NOTFOUND "

    secrets.write_bytes(b"rotated-in\ncli-secret\n")
    served.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while served.ask(b"forward alice@orig.example") == first:
        assert time.monotonic() < deadline, "SIGHUP did not reload the secrets"
        time.sleep(0.05)
    assert served.ask(b"reverse " + first[3:]) == b"OK alice@orig.example"  # old still verifies

    secrets.chmod(0o644)  # a bad file on reload: reported, the old secrets kept
    served.process.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert served.ask(b"forward alice@orig.example").startswith(b"OK SRS0=")
    secrets.chmod(0o600)

    started = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(10) == 0
    assert time.monotonic() - started < 5
    assert not served.path.exists()
    err = served.stderr()
    assert "serving forward and reverse for fwd.example" in err
    assert "reloaded 2 secret(s)" in err, err
    assert "reload failed, keeping the old secrets" in err, err


def test_serve_creates_a_missing_secret_file_0600(tmp_path: Path) -> None:
    secrets = tmp_path / "new.secret"
    old_umask = os.umask(0)
    try:
        serve = start_serve(tmp_path, secrets, "--socket-group", "")
    finally:
        os.umask(old_umask)
    try:
        assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
        assert serve.ask(b"forward a@b.example").startswith(b"OK SRS0=")
    finally:
        serve.process.terminate()
        assert serve.process.wait(10) == 0
    assert "created the secret file" in serve.stderr()


@pytest.mark.parametrize(
    ("mode", "extra", "message"),
    [
        (0o644, (), "every user"),
        (0o600, ("--socket-mode", "0666"), "other users no access"),
        (0o600, ("--listen", "inet:nowhere"), "not an endpoint"),
    ],
)
def test_serve_refuses_to_start_unsafely(
    tmp_path: Path, mode: int, extra: tuple[str, ...], message: str
) -> None:
    secrets = tmp_path / "s"
    secrets.write_text("k\n")
    secrets.chmod(mode)
    command = [sys.executable, "-m", "mailward", "srs", "serve", "--domain", "fwd.example"]
    command += ["--secrets", str(secrets), "--listen", f"unix:{tmp_path / 'sock'}", *extra]
    result = subprocess.run(command, capture_output=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr.decode()
