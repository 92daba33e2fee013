"""Replay benchmark: how fast a sealed 3-minute case opens and starts playing.

``kiosk replay-bench`` seals a sample case of ``seconds`` length, serves the console on a
loopback port, and measures (a) the server's time for the case page and the first 256 KB of
the recording, and (b) in headless Debian chromium (Playwright), from navigation start to the
video's first ``playing`` event. The command line builds the app and hands it in.
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.review.accounts import add_user
from kiosk.review.console import register
from kiosk.review.sample import make_sealed_case
from kiosk.testing.server import serve_in_thread

log = logging.getLogger(__name__)
BENCH_PASSWORD = "bench password 1"


def with_console(app, clock=None):
    """``app`` (a kiosk app: ``kiosk.web.app.create_app``) with the review console registered
    again without its background poller (``clock``: the console's clock, default utcnow)."""
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0}, clock=clock)
    return app


def browser_login(page, base: str, username: str, password: str) -> None:
    """Log in to the review console served at ``base`` in the Playwright ``page``; returns
    when the queue shows (Playwright's TimeoutError if it never does)."""
    page.goto(f"{base}/review/login")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login").click()
    page.wait_for_url(f"{base}/review/")


def bench_replay_open(make_app: Callable[[Path], Any], seconds: float = 180.0, runs: int = 3,
                      browser: bool = True, size=(640, 480), bitrate: str = "1M") -> dict:
    """Open a sealed ``seconds``-long case ``runs`` times in the app ``make_app(data_dir)``
    builds (a kiosk app, ``kiosk.web.app.create_app``: the caller's, since only the command
    line may import the web layer); prints and returns the figures (times in ms, sizes in
    bytes). The default recording is 640x480 VP8 at about 1 Mbit/s, like a real witness;
    ``browser=False``, or no chromium, measures the server only."""
    out: dict = {"case_seconds": seconds, "video": f"{size[0]}x{size[1]} VP8 {bitrate}"}
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-rb-", dir="/tmp"))
    try:
        app = with_console(make_app(tmp / "data"))
        k = app.extensions["kiosk"]
        add_user(k.store, "bench", BENCH_PASSWORD, "auditor")
        t0 = time.perf_counter()
        pid = make_sealed_case(k.settings.data_dir, k.store, keys=k.evidence_keys,
                               ledger=k.ledger, seconds=seconds, size=size,
                               bitrate=bitrate, noise=True)
        out["build_and_seal_s"] = round(time.perf_counter() - t0, 2)
        out["recording_bytes"] = (k.settings.data_dir / "evidence" / pid / "data"
                                  / "recording.webm").stat().st_size
        svc = app.extensions["review"]
        t0 = time.perf_counter()
        svc.poll()
        out["prereview_enqueue_ms"] = round((time.perf_counter() - t0) * 1000, 1)

        c = app.test_client()
        tok = c.get("/review/api/csrf").get_json()["csrf_token"]
        c.post("/review/api/login", json={"username": "bench", "password": BENCH_PASSWORD},
               headers={"X-CSRF-Token": tok})
        page_ms, range_ms = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            r = c.get(f"/review/cases/{pid}")
            page_ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.status_code
            t0 = time.perf_counter()
            r = c.get(f"/review/cases/{pid}/recording", headers={"Range": "bytes=0-262143"})
            range_ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 206, r.status_code
        out["server_case_page_ms"] = round(statistics.median(page_ms), 1)
        out["server_first_256k_ms"] = round(statistics.median(range_ms), 1)

        if browser and shutil.which("chromium"):
            out["browser_open_to_playing_ms"] = _browser_runs(app, pid, runs, tmp)
        k.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for key, val in out.items():
        print(f"{key}: {val}")
    return out


def _browser_runs(app, pid: str, runs: int, tmp: Path) -> list[int]:
    # Playwright is a test extra (pyproject.toml): only the browser runs need it.
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    old = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp)  # chromium's socket path must stay short
    times: list[int] = []
    try:
        with serve_in_thread(app) as base, sync_playwright() as p:
            b = p.chromium.launch(executable_path=chromium, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--autoplay-policy=no-user-gesture-required"])
            try:
                page = b.new_page(viewport={"width": 1440, "height": 900})
                browser_login(page, base, "bench", BENCH_PASSWORD)
                for _ in range(runs):
                    page.goto(f"{base}/review/cases/{pid}")
                    page.wait_for_function("window.review && window.review.firstPlayMs !== null",
                                           timeout=15000)
                    times.append(page.evaluate("window.review.firstPlayMs"))
            finally:
                b.close()
    finally:
        if old is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old
    return times
