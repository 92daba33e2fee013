"""Replay benchmark: how fast a sealed 3-minute case opens and starts playing.

``python -m kiosk.review.bench`` seals a sample case of ``seconds`` length, serves the console
on a loopback port, and measures (a) the server's time for the case page and the first 256 KB
of the recording, and (b) in headless Debian chromium, from navigation start to the video's
first ``playing`` event.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)
BENCH_PASSWORD = "bench password 1"


@contextlib.contextmanager
def serve_in_thread(app, host: str = "127.0.0.1"):
    """Serve ``app`` with werkzeug on a free loopback port; yields the base URL."""
    from werkzeug.serving import make_server

    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="review-bench-http",
                              daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def make_console_app(data_dir: Path, clock=None):
    """A kiosk app with the review console registered (no background poller)."""
    from kiosk.config import load_settings
    from kiosk.review.console import register
    from kiosk.web.app import create_app

    app = create_app(load_settings(data_dir=data_dir))
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0}, clock=clock)
    return app


def browser_login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/review/login")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login").click()
    page.wait_for_url(f"{base}/review/")


def bench_replay_open(seconds: float = 180.0, runs: int = 3, browser: bool = True,
                      size=(640, 480), bitrate: str = "1M") -> dict:
    """Open a sealed ``seconds``-long case ``runs`` times; prints and returns the figures.
    The default recording is 640x480 VP8 at about 1 Mbit/s, like a real witness."""
    from kiosk.review.accounts import add_user
    from kiosk.review.sample import make_sealed_case

    out: dict = {"case_seconds": seconds, "video": f"{size[0]}x{size[1]} VP8 {bitrate}"}
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-rb-", dir="/tmp"))
    try:
        app = make_console_app(tmp / "data")
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


if __name__ == "__main__":
    bench_replay_open()
