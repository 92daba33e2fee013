"""A throw-away S3 endpoint for tests: ``moto[server]`` in a child process, loopback only.

``TempMoto().start()`` runs ``python -m moto.server`` on 127.0.0.1 at a free port and waits
until it answers; ``pause()`` ends it but keeps the port, ``resume()`` starts it again there
(moto keeps everything in memory, so the buckets are gone: tests create them again), and
``stop()`` ends it. ``url()`` is the ``evidence_s3_endpoint_url``.

moto refuses to delete an object version under Object Lock retention (COMPLIANCE, or
GOVERNANCE without the bypass header), which is what the tests rely on. It is no proof of WORM:
it keeps objects in memory, stores the Content-MD5 and SHA-256 it is sent without checking
them, and does not implement GetObjectRetention (HEAD shows the lock).
"""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from kiosk.testing.procs import free_port, spawn_kept, stop_process

# Credentials moto accepts (any); never real ones.
ACCESS_KEY = "kiosk-test"
SECRET_KEY = "kiosk-test-secret"
REGION = "us-east-1"


def available() -> tuple[bool, str]:
    """(True, "") when moto's server can run here; (False, why) otherwise."""
    for mod in ("moto.server", "flask_cors", "boto3"):
        if importlib.util.find_spec(mod.split(".")[0]) is None or (
                mod == "moto.server" and importlib.util.find_spec(mod) is None):
            return False, (f"{mod} is not installed: pip install 'moto[server]' boto3 "
                           "(the test extras of pyproject.toml)")
    return True, ""


def answers(port: int, timeout: float = 1.0) -> bool:
    """True when moto's server answers on 127.0.0.1:``port``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json",
                                    timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


class TempMoto:
    """One moto server child process on 127.0.0.1."""

    # True: it outlives the command that started it (./dev.sh cluster, kiosk.testing.cluster)
    # and a Ctrl-C there (kiosk.testing.procs.spawn_kept), in that command's session unless
    # own_session; stop() still ends it.
    detached = False
    own_session = False

    def __init__(self) -> None:
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log: Path | None = None

    def start(self, timeout: float = 60.0) -> TempMoto:
        """Start and wait until it answers; RuntimeError with its log when it does not."""
        self.log = Path(tempfile.mkstemp(prefix="kiosk-moto-", suffix=".log")[1])
        for attempt in range(3):  # the free port may be taken between probe and bind
            self.port = free_port()
            if self._spawn(timeout):
                return self
            self._end()
            if attempt == 2:
                raise RuntimeError(f"moto did not answer on port {self.port}:\n"
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
        return self

    def _spawn(self, timeout: float) -> bool:
        assert self.log is not None
        with open(self.log, "ab") as log:
            start = (functools.partial(spawn_kept, own_session=self.own_session)
                     if self.detached else subprocess.Popen)
            self.proc = start(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if answers(self.port):
                return True
            time.sleep(0.1)
        return False

    def _end(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def pause(self) -> None:
        """End the server, keep the port (an outage of the object store)."""
        self._end()

    def resume(self, timeout: float = 60.0) -> None:
        """Start again on the same port (empty: moto keeps nothing)."""
        if not self._spawn(timeout):
            self._end()
            raise RuntimeError(f"moto did not come back on port {self.port}")

    def stop(self) -> None:
        self._end()
        if self.log is not None:
            self.log.unlink(missing_ok=True)
            self.log = None

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
