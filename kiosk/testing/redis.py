"""A throw-away Redis server for tests: Debian's ``redis-server``, a temp folder, loopback only.

``TempRedis(binary).start()`` runs ``redis-server`` in the foreground as a child process on
127.0.0.1 at a free port, with its working folder under /tmp and no persistence (no RDB
snapshots, no append-only file); ``stop()`` ends it and removes the folder. ``url()`` gives
the ``redis://`` URL for ``KIOSK_REDIS_URL``.

``ensure_installed()`` finds the binary, or installs Debian's ``redis-server`` package with
apt when it is missing and we are root, and otherwise returns why not (the tests skip with
that reason), like ``kiosk.testing.postgres``.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from kiosk.testing.procs import free_port, spawn_kept, stop_process


def find_binary() -> Path | None:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").is_file() else None)
    return Path(found) if found else None


def ensure_installed() -> tuple[Path | None, str]:
    """(redis-server, "") when it is there or could be installed; (None, reason) otherwise.
    Installs the Debian package ``redis-server`` with apt-get only as root."""
    binary = find_binary()
    if binary is not None:
        return binary, ""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, ("redis-server is not installed and this is not root: install it with "
                      "`sudo apt-get install redis-server` (./dev.sh test does this as root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "--no-install-recommends", "redis-server"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return None, f"{' '.join(cmd)} failed: {done.stderr.strip()[-400:]}"
    binary = find_binary()
    return (binary, "") if binary else (None, "apt-get installed redis-server, but no binary")


def ping(port: int, timeout: float = 1.0) -> bool:
    """True if a Redis server answers PING on 127.0.0.1:``port`` (raw RESP, no client)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class TempRedis:
    """One ``redis-server`` child process in a temp folder, on 127.0.0.1."""

    # True: it outlives the command that started it (./dev.sh cluster, kiosk.testing.cluster)
    # and a Ctrl-C there (kiosk.testing.procs.spawn_kept), in that command's session unless
    # own_session; stop() still ends it.
    detached = False
    own_session = False

    def __init__(self, binary: Path) -> None:
        self.binary = Path(binary)
        self.dir: Path | None = None
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> TempRedis:
        """Start and wait for PING; RuntimeError with the server's log when it does not
        answer within ``timeout`` seconds."""
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="kiosk-redis-"))
        for attempt in range(3):  # the free port may be taken between probe and bind
            self.port = free_port()
            if self._spawn(timeout):
                return self
            self._end()
            if attempt == 2:
                text = (self.dir / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server did not answer on port {self.port}:\n{text}")
        return self

    def _end(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def pause(self) -> None:
        """End the server but keep its folder and port: ``resume()`` starts it again there
        (empty: nothing is persisted). For tests of a Redis outage."""
        self._end()

    def resume(self, timeout: float = 30.0) -> None:
        """Start the server again on the same port (RuntimeError if it does not answer)."""
        if self.dir is None:
            raise RuntimeError("start() the server first")
        if not self._spawn(timeout):
            self._end()
            raise RuntimeError(f"redis-server did not come back on port {self.port}")

    def _spawn(self, timeout: float) -> bool:
        """Run redis-server on ``self.port``; True once it answers PING."""
        assert self.dir is not None
        with open(self.dir / "server.log", "ab") as log:
            start = (functools.partial(spawn_kept, own_session=self.own_session)
                     if self.detached else subprocess.Popen)
            self.proc = start(
                [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1",
                 "--dir", str(self.dir), "--save", "", "--appendonly", "no",
                 "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if ping(self.port):
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        """End the server and remove its folder."""
        self._end()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


def subscribers(port: int, channel: str) -> int:
    """How many connections are subscribed to ``channel`` (PUBSUB NUMSUB, raw RESP)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(f"PUBSUB NUMSUB {channel}\r\n".encode())
        reply = b""
        while reply.count(b"\r\n") < 4:  # *2, $len, channel, :count
            chunk = s.recv(256)
            if not chunk:
                break
            reply += chunk
    last = reply.split(b"\r\n")[3]
    if not last.startswith(b":"):
        raise RuntimeError(f"unexpected PUBSUB NUMSUB reply {reply!r}")
    return int(last[1:])
