"""A throwaway postsrsd 1.x (Debian package ``postsrsd``) on loopback, and a client for it.

postsrsd 1.x speaks Postfix's TCP table protocol, one port per direction: the client sends
``get ADDRESS\\n`` (URL-encoded: ``%XX`` for ``%``, spaces and non-ASCII octets) and reads
``200 ADDRESS`` (found, URL-encoded) or ``500 REASON`` (not rewritten). postsrsd forks a child
per connection; a client keeps its two connections open, as Postfix does.
"""

from __future__ import annotations

import contextlib
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote

ADDRESS = "127.0.0.61"

__all__ = ["ADDRESS", "Postsrsd", "PostsrsdClient", "postsrsd_binary"]


def postsrsd_binary() -> str | None:
    return shutil.which("postsrsd") or next(
        (p for p in ("/usr/sbin/postsrsd", "/usr/local/sbin/postsrsd") if Path(p).exists()), None
    )


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def url_encode(address: str) -> str:
    out = []
    for octet in address.encode("utf-8", "surrogateescape"):
        out.append(chr(octet) if 0x21 <= octet < 0x7F and octet != 0x25 else f"%{octet:02x}")
    return "".join(out)


class Postsrsd:
    """``postsrsd -s SECRETS -d DOMAIN -l ADDRESS -f PORT -r PORT [extra]`` until stop()."""

    def __init__(
        self,
        secret_file: Path,
        domain: str,
        workdir: Path,
        *,
        address: str = ADDRESS,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.secret_file = secret_file
        self.domain = domain
        self.workdir = workdir
        self.address = address
        self.extra = extra
        self.forward_port = 0
        self.reverse_port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = postsrsd_binary()
        assert binary is not None, "postsrsd is not installed"
        self.forward_port = free_port(self.address)
        self.reverse_port = free_port(self.address)
        command = [
            binary,
            f"-s{self.secret_file}",
            f"-d{self.domain}",
            f"-l{self.address}",
            f"-f{self.forward_port}",
            f"-r{self.reverse_port}",
            "-4",
            *self.extra,
        ]
        with contextlib.suppress(KeyError):
            pwd.getpwnam("postsrsd")
            command.append("-upostsrsd")
        log = (self.workdir / "postsrsd.log").open("wb")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"postsrsd exited: {(self.workdir / 'postsrsd.log').read_text()}"
                )
            try:
                socket.create_connection((self.address, self.reverse_port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("postsrsd did not start listening")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def client(self) -> PostsrsdClient:
        return PostsrsdClient(self.address, self.forward_port, self.reverse_port)


class PostsrsdClient:
    """Two persistent TCP-table connections; ``forward``/``reverse`` give (code, text)."""

    def __init__(self, address: str, forward_port: int, reverse_port: int) -> None:
        self._files = {
            name: socket.create_connection((address, port), 5).makefile("rwb")
            for name, port in (("forward", forward_port), ("reverse", reverse_port))
        }

    def ask(self, name: str, address: str) -> tuple[int, str]:
        stream = self._files[name]
        stream.write(f"get {url_encode(address)}\n".encode("ascii"))
        stream.flush()
        line = stream.readline().decode("ascii").rstrip("\n")
        code, _, text = line.partition(" ")
        return int(code), unquote(text, errors="surrogateescape") if code == "200" else text

    def forward(self, address: str) -> tuple[int, str]:
        return self.ask("forward", address)

    def reverse(self, address: str) -> tuple[int, str]:
        return self.ask("reverse", address)

    def close(self) -> None:
        for stream in self._files.values():
            with contextlib.suppress(OSError):
                stream.close()
