"""A throwaway Knot DNS authoritative server for tests (Debian package ``knot``).

``KnotServer(zone_files, workdir).start()`` writes a ``knotd`` configuration in ``workdir``
(listening on 127.0.0.53 at a free port, and on ::1 at the same port when this machine has
it), copies the zone files there (Knot never touches the originals), starts ``knotd -c CONF``,
waits until every zone answers SOA, and ``stop()`` ends that one process. No signing, no
journal, no zone-file writes. ``stats()`` reads Knot's own counters (mod-stats, through
``knotc``) so a test can prove what went over the wire.

Zone files are named ``<origin>zone`` (``test.zone`` serves ``test.``).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import dns.message
import dns.query
import dns.rcode

ADDRESS = "127.0.0.53"
IPV6_ADDRESS = "::1"

__all__ = ["ADDRESS", "KnotServer", "ipv6_loopback_works", "knot_binaries"]


def knot_binaries() -> tuple[str, str] | None:
    """The paths of ``knotd`` and ``knotc``, or None when Knot is not installed."""
    knotd = shutil.which("knotd") or _sbin("knotd")
    knotc = shutil.which("knotc") or _sbin("knotc")
    return (knotd, knotc) if knotd and knotc else None


def _sbin(program: str) -> str | None:
    for folder in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        path = Path(folder, program)
        if path.exists():
            return str(path)
    return None


def ipv6_loopback_works() -> bool:
    """True when ::1 can be bound here (containers often lack IPv6)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind((IPV6_ADDRESS, 0))
    except OSError:
        return False
    return True


def free_port(address: str) -> int:
    """A port free for both UDP and TCP on ``address`` (and on ::1, which may share it)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((address, 0))
            port = int(udp.getsockname()[1])
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                    tcp.bind((address, port))
                if ipv6_loopback_works():
                    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                        with socket.socket(socket.AF_INET6, kind) as six:
                            six.bind((IPV6_ADDRESS, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on {address}")


class KnotServer:
    """One ``knotd`` process serving ``zone_files`` from ``workdir``."""

    def __init__(self, zone_files: Iterable[Path], workdir: Path, address: str = ADDRESS) -> None:
        binaries = knot_binaries()
        if binaries is None:
            raise FileNotFoundError("knotd/knotc not installed (Debian package: knot)")
        self.knotd, self.knotc = binaries
        self.workdir = workdir
        self.address = address
        self.ipv6 = ipv6_loopback_works()
        self.port = 0
        self.zones: dict[str, Path] = {}
        for path in zone_files:
            origin = path.name.removesuffix("zone")
            copy = workdir / "zones" / path.name
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
            self.zones[origin] = copy
        self.config = workdir / "knot.conf"
        self.log = workdir / "knotd.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def nameserver(self) -> str:
        """``127.0.0.53:PORT``, as ``--nameserver`` takes it."""
        return f"{self.address}:{self.port}"

    def _write_config(self) -> None:
        listen = [f"{self.address}@{self.port}"]
        if self.ipv6:
            listen.append(f"{IPV6_ADDRESS}@{self.port}")
        zones = "".join(
            f"  - domain: {origin}\n    file: {path}\n" for origin, path in self.zones.items()
        )
        self.config.write_text(
            f"""server:
    rundir: {self.workdir}
    pidfile: {self.workdir}/knot.pid
    listen: [{", ".join(listen)}]
    udp-workers: 2
    tcp-workers: 2
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: {self.workdir}/db
control:
    listen: {self.workdir}/knot.sock
mod-stats:
  - id: counters
    query-type: on
    edns-presence: on
    flag-presence: on
template:
  - id: default
    storage: {self.workdir}/db
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: on
    global-module: mod-stats/counters
zone:
{zones}""",
            encoding="utf-8",
        )

    def start(self, timeout: float = 10.0) -> KnotServer:
        self.port = free_port(self.address)
        self._write_config()
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [self.knotd, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        waiting = set(self.zones)
        while waiting:
            if self._process.poll() is not None:
                raise RuntimeError(f"knotd exited ({self._process.returncode}):\n{self.logs()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"knotd did not answer SOA for {waiting}:\n{self.logs()}")
            waiting = {origin for origin in waiting if not self._answers_soa(origin)}
            if waiting:
                time.sleep(0.05)
        return self

    def _answers_soa(self, origin: str) -> bool:
        query = dns.message.make_query(origin, "SOA")
        with contextlib.suppress(Exception):
            reply = dns.query.udp(query, self.address, timeout=0.5, port=self.port)
            return reply.rcode() == dns.rcode.NOERROR and bool(reply.answer)
        return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def stats(self) -> dict[str, int]:
        """Knot's counters, e.g. ``{"mod-stats.request-protocol[udp4]": 3, ...}``."""
        done = subprocess.run(
            [self.knotc, "-c", str(self.config), "stats"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        counters: dict[str, int] = {}
        for line in done.stdout.splitlines():
            key, _, value = line.partition(" = ")
            if value.strip().isdigit():
                counters[key.strip()] = int(value)
        return counters

    def __enter__(self) -> KnotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
