"""Servers on loopback, for tests, ``kiosk eval`` and the benchmarks.

``ServerProcess`` runs a real ``kiosk serve`` exactly as an operator would (``python -m
kiosk.cli serve``) with its own data folder, port and API key, so kill -9, recovery and whole
witnesses can be exercised. ``serve_in_thread`` serves an app built in this process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from werkzeug.serving import make_server

from kiosk.testing.procs import free_port, kiosk_env

API_KEY = "test-key-0123456789"


class ServerProcess:
    """One ``kiosk serve`` child process on 127.0.0.1 (start, stop, kill -9, its log).

    ``production=False`` (the default) serves with ``--dev`` (Werkzeug, one process);
    ``production=True`` runs plain ``kiosk serve`` (gunicorn) as an operator does: a master
    and one worker in their own process group, so ``kill9`` kills both (a power loss), and
    ``stop`` signals the master.
    Either way the server stays in the caller's session, hence in its scheduler autogroup,
    where the simulated investors' nice 19 leaves it the cores (see ``start``).
    """

    def __init__(self, data_dir: Path, flows_dir: Path, *, production: bool = False, **env):
        self.production = production
        self.data_dir = data_dir
        self.flows_dir = flows_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = kiosk_env({
            **os.environ,
            "KIOSK_DATA_DIR": str(data_dir),
            "KIOSK_FLOWS_DIR": str(self.flows_dir),
            "KIOSK_PORT": str(self.port),
            "KIOSK_API_KEYS": API_KEY,
            "KIOSK_DEMO": "true",
            "KIOSK_LOG_FORMAT": "json",
            # Dozens of servers start in the suite: Whisper's worker starts at the first
            # Mandarin answer instead (test_speech covers preloading).
            "KIOSK_SPEECH_PRELOAD": "false",
            # The simulated investor and headless chromium run on this machine: they offer
            # loopback and private addresses, which a production server drops.
            "KIOSK_ICE_ALLOW_LOOPBACK": "true",
            "KIOSK_ICE_PRIVATE_NETWORKS": "0.0.0.0/0,::/0",
            **{k: str(v) for k, v in env.items()},
        })
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        # Production is plain `kiosk serve` (gunicorn, the default); else Werkzeug (--dev).
        args = [sys.executable, "-m", "kiosk.cli", "serve", *([] if self.production else ["--dev"])]
        # gunicorn's master and worker get a process group of their own (kill9 kills both)
        # but stay in this session: a new session (setsid) would be a new scheduler autogroup
        # on Linux, and nice only ranks processes within one autogroup. The simulated
        # investors' nice 19 would then no longer yield the cores to the server: the server
        # would get one autogroup's share, as much as all the investors together.
        self.proc = subprocess.Popen(args, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=self.data_dir,
                                     process_group=0 if self.production else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                # Ready, not only up: a session on a cold server misses its first seconds.
                if requests.get(self.url + "/api/ready", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def stop(self, sig=signal.SIGTERM, timeout: float = 40.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill9(self) -> None:
        assert self.proc is not None, "start() the server first"
        if self.production:  # the master and its worker, at once
            os.killpg(self.proc.pid, signal.SIGKILL)
        else:
            self.proc.kill()
        self.proc.wait()

    def headers(self) -> dict:
        return {"X-API-Key": API_KEY}

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def serve_in_thread(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve the WSGI ``app`` with Werkzeug on a free ``host`` port, in a thread of this
    process; yields the base URL (``http://host:port``) and stops the server on exit."""
    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="serve-in-thread", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
