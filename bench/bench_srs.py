"""SRS rewrites per second: ``mailward srs serve`` (socketmap) against postsrsd 1.x (TCP table).

    .venv/bin/python bench/bench_srs.py [--senders N] [--connections C] [--rounds R]

Starts both services on 127.0.0.66 with the same secret file, as separate processes, the way
Postfix uses them: ``mailward srs serve --listen inet:127.0.0.66:PORT`` (and once more on a
unix socket, Postfix's usual way to reach it), and Debian's ``postsrsd -l 127.0.0.66``
(package ``postsrsd``; its forward and reverse tables are two TCP ports). Then, for each
service, ``C`` client processes each hold their connections open (as Postfix's processes
do) and, for N different senders, ask forward and then reverse the result: 2×N rewrites a
client, every answer checked (the reverse must give the sender back). The same client code
frames both protocols, so the clients' cost is the same on both sides. The services are
measured in turn, ``R`` rounds (default 3), and each side's best round counts.

Prints rewrites per second for each service and the ratio mailward / postsrsd (above 1:
mailward is faster). postsrsd forks a process per connection; mailward serves every
connection from one asyncio process. No network beyond loopback.
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "auth"))

from postsrsd_daemon import Postsrsd, free_port, postsrsd_binary, url_encode  # noqa: E402

ADDRESS = "127.0.0.66"
DOMAIN = "fwd.bench"


class Conn:
    """One client connection with a small read buffer."""

    def __init__(self, target: tuple[str, int] | str) -> None:
        if isinstance(target, str):
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(target)
        else:
            self.sock = socket.create_connection(target)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def read_until(self, delimiter: bytes) -> bytes:
        while (end := self.buffer.find(delimiter)) < 0:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk
        line, self.buffer = self.buffer[:end], self.buffer[end + len(delimiter) :]
        return line

    def read_exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def socketmap_ask(conn: Conn, request: bytes) -> bytes:
    conn.sock.sendall(b"%d:%s," % (len(request), request))
    size = int(conn.read_until(b":"))
    return conn.read_exactly(size + 1)[:-1]


def run_socketmap(target: tuple[str, int] | str, senders: list[str]) -> int:
    conn = Conn(target)
    wrong = 0
    for sender in senders:
        reply = socketmap_ask(conn, b"forward " + sender.encode())
        back = socketmap_ask(conn, b"reverse " + reply[3:])
        wrong += not (reply.startswith(b"OK SRS0=") and back == b"OK " + sender.encode())
    return wrong


def run_tcp_table(targets: tuple[tuple[str, int], tuple[str, int]], senders: list[str]) -> int:
    forward, reverse = Conn(targets[0]), Conn(targets[1])
    wrong = 0
    for sender in senders:
        forward.sock.sendall(f"get {url_encode(sender)}\n".encode())
        reply = forward.read_until(b"\n").decode()
        reverse.sock.sendall(f"get {reply[4:]}\n".encode())
        back = reverse.read_until(b"\n").decode()
        wrong += not (reply.startswith("200 SRS0=") and unquote(back[4:]) == sender)
    return wrong


def client(kind: str, target: object, senders: list[str], start: float) -> int:
    while time.time() < start:  # every client begins together
        time.sleep(0.001)
    if kind == "socketmap":
        return run_socketmap(target, senders)  # type: ignore[arg-type]
    return run_tcp_table(target, senders)  # type: ignore[arg-type]


def measure(kind: str, target: object, senders: list[str], connections: int) -> tuple[float, int]:
    """(rewrites per second over all clients, wrong answers)."""
    start = time.time() + 0.5
    with multiprocessing.Pool(connections) as pool:
        jobs = [
            pool.apply_async(client, (kind, target, senders[i::connections], start))
            for i in range(connections)
        ]
        wrong = sum(job.get() for job in jobs)
    elapsed = time.time() - start
    return 2 * len(senders) / elapsed, wrong


def wait_for_socket(target: tuple[str, int] | str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("mailward srs serve exited")
        try:
            Conn(target).sock.close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {target}")


def serve(secrets: Path, listen: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "mailward", "srs", "serve", "--domain", DOMAIN]
    command += ["--secrets", str(secrets), "--listen", listen, "--socket-group", ""]
    return subprocess.Popen(command, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=20000, help="senders in all (default 20000)")
    parser.add_argument("--connections", type=int, default=1, help="client processes (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per service (default 3)")
    args = parser.parse_args()
    if postsrsd_binary() is None:
        raise SystemExit("postsrsd is not installed (Debian package: postsrsd)")
    senders = [f"user{n}.x@sender{n % 97}.example" for n in range(args.senders)]
    with tempfile.TemporaryDirectory(prefix="bench-srs-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)
        secrets = workdir / "secret"
        secrets.write_text("bench-secret-one\nbench-secret-two\n")
        secrets.chmod(0o600)
        port = free_port(ADDRESS)
        unix_path = str(workdir / "srs.sock")
        services = [serve(secrets, f"inet:{ADDRESS}:{port}"), serve(secrets, f"unix:{unix_path}")]
        peer = Postsrsd(secrets, DOMAIN, workdir, address=ADDRESS)
        try:
            wait_for_socket((ADDRESS, port), services[0])
            wait_for_socket(unix_path, services[1])
            peer.start()
            runs: dict[str, tuple[str, object]] = {
                "mailward socketmap, TCP": ("socketmap", (ADDRESS, port)),
                "mailward socketmap, unix": ("socketmap", unix_path),
                "postsrsd 1.x TCP table": (
                    "tcp",
                    ((ADDRESS, peer.forward_port), (ADDRESS, peer.reverse_port)),
                ),
            }
            best = dict.fromkeys(runs, 0.0)
            wrong = 0
            for _ in range(args.rounds):
                for name, (kind, target) in runs.items():
                    rate, bad = measure(kind, target, senders, args.connections)
                    best[name] = max(best[name], rate)
                    wrong += bad
        finally:
            peer.stop()
            for process in services:
                process.terminate()
                process.wait(10)
    print(
        f"forward+reverse of {args.senders} senders, {args.connections} client connection(s), "
        f"best of {args.rounds} rounds:"
    )
    for name, rate in best.items():
        print(f"  {name:26} {rate:9,.0f} rewrites/s")
    ratio = best["mailward socketmap, TCP"] / best["postsrsd 1.x TCP table"]
    print(f"ratio (mailward socketmap TCP / postsrsd TCP table): {ratio:.2f}")
    if wrong:
        print(f"WARNING: {wrong} wrong answers: the numbers compare failures", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
