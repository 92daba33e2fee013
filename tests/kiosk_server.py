"""A real ``kiosk serve`` process for integration tests (so kill -9 can be tested too)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import requests

from kiosk.resources import SHIPPED_FLOWS_DIR
from kiosk.testing.server import API_KEY, ServerProcess, free_port

REPO = Path(__file__).resolve().parent.parent

__all__ = ["API_KEY", "REPO", "KioskServer", "free_port", "make_flows_dir"]


class KioskServer(ServerProcess):
    """The test server: the shipped flows plus the test flows, and API helpers."""

    def __init__(self, data_dir: Path, flows_dir: Path | None = None, **env):
        super().__init__(data_dir, flows_dir or make_flows_dir(data_dir.parent / "flows"), **env)

    # ------------------------------------------------------------------ API helpers

    def create(self, flow: str | None = "quick", locale: str = "zh-CN", name: str = "张三",
               id_number: str = "110102199003078888", **extra) -> dict:
        body = {"applicant": {"name": name, "id_number": id_number, **extra.pop("applicant", {})},
                "locale": locale, **extra}
        if flow:
            body["flow_id"] = flow
        r = requests.post(self.url + "/api/sessions", json=body, headers=self.headers(), timeout=10)
        assert r.status_code == 201, r.text
        return r.json()

    def session(self, session_id: str) -> dict:
        r = requests.get(f"{self.url}/api/sessions/{session_id}", headers=self.headers(),
                         timeout=10)
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
        while time.monotonic() < deadline and not (self.session(session_id)["sealed"]
                                                   and archive.exists()):
            time.sleep(0.25)
        assert archive.exists(), f"no sealed package for {session_id}\n{self.log()}"
        keyring = EvidenceKeys(self.data_dir / "keys").keyring()
        report = verify_package(archive, keyring=keyring, ledger=self.data_dir / "ledger.jsonl")
        assert report.ok, report.problems
        return report


def make_flows_dir(dest: Path) -> Path:
    """The shipped flows plus the quick test flow."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in SHIPPED_FLOWS_DIR.glob("*.yaml"):
        shutil.copy(f, dest / f.name)
    shutil.copy(REPO / "tests" / "flow_fixtures" / "quick.yaml", dest / "quick.yaml")
    for f in (REPO / "tests" / "flows_live").glob("*.yaml"):  # flows of the live tests
        shutil.copy(f, dest / f.name)
    return dest
