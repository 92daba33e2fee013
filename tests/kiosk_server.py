"""A real ``kiosk serve`` process for integration tests (so kill -9 can be tested too)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
API_KEY = "test-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KioskServer:
    def __init__(self, data_dir: Path, flows_dir: Path | None = None, **env):
        self.data_dir = data_dir
        self.flows_dir = flows_dir or make_flows_dir(data_dir.parent / "flows")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
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
            **{k: str(v) for k, v in env.items()},
        }
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    def start(self, timeout: float = 60.0) -> KioskServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "serve"], env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/api/health", timeout=1).ok:
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
        self.proc.kill()
        self.proc.wait()

    # ------------------------------------------------------------------ API helpers

    def headers(self) -> dict:
        return {"X-API-Key": API_KEY}

    def create(self, flow: str | None = "quick", locale: str = "zh-CN", name: str = "张三",
               id_number: str = "110101199003078888", **extra) -> dict:
        body = {"applicant": {"name": name, "id_number": id_number, **extra.pop("applicant", {})},
                "locale": locale, **extra}
        if flow:
            body["flow_id"] = flow
        r = requests.post(self.url + "/api/sessions", json=body, headers=self.headers(), timeout=10)
        assert r.status_code == 201, r.text
        return r.json()

    def session(self, session_id: str) -> dict:
        r = requests.get(f"{self.url}/api/sessions/{session_id}", headers=self.headers(), timeout=10)
        r.raise_for_status()
        return r.json()

    def wait_ended(self, session_id: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        info = {}
        while time.monotonic() < deadline:
            info = self.session(session_id)
            if info["finalised"]:
                return info
            time.sleep(0.25)
        raise AssertionError(f"session {session_id} did not end: {info}\n{self.log()}")

    def session_dir(self, session_id: str) -> Path:
        return self.data_dir / "sessions" / session_id

    def verify_sealed(self, session_id: str, timeout: float = 30.0):
        """Wait for the session's evidence package, then verify it fully, offline."""
        from kiosk.evidence import EvidenceKeys, verify_package

        archive = self.data_dir / "evidence" / f"{session_id}.tar"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not (self.session(session_id)["sealed"] and archive.exists()):
            time.sleep(0.25)
        assert archive.exists(), f"no sealed package for {session_id}\n{self.log()}"
        keyring = EvidenceKeys(self.data_dir / "keys").keyring()
        report = verify_package(archive, keyring=keyring, ledger=self.data_dir / "ledger.jsonl")
        assert report.ok, report.problems
        return report


def make_flows_dir(dest: Path) -> Path:
    """The shipped flows plus the quick test flow."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in (REPO / "flows").glob("*.yaml"):
        shutil.copy(f, dest / f.name)
    shutil.copy(REPO / "tests" / "flow_fixtures" / "quick.yaml", dest / "quick.yaml")
    for f in (REPO / "tests" / "flows_live").glob("*.yaml"):  # flows of the live tests
        shutil.copy(f, dest / f.name)
    return dest
