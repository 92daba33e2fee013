"""Debian's chromium, headless, with a fake camera and microphone, driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def chromium_args(video: Path | None, audio: Path | None, no_camera: bool = False) -> list[str]:
    args = [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required",
        "--allow-loopback-in-peer-connection",
    ]
    if no_camera:
        args.append("--use-fake-device-for-media-stream=device-count=0")
    else:
        args.append("--use-fake-device-for-media-stream")
        if video:
            args.append(f"--use-file-for-fake-video-capture={Path(video).resolve()}")
        if audio:
            args.append(f"--use-file-for-fake-audio-capture={Path(audio).resolve()}")
    return args


@contextlib.contextmanager
def browser(tmp_path: Path, video=None, audio=None, no_camera=False, extra_args=()):
    from playwright.sync_api import sync_playwright

    # Chromium's singleton socket path must stay under ~100 bytes: keep TMPDIR short.
    tmp = Path(tempfile.mkdtemp(prefix="kc-", dir="/tmp"))
    old = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                  args=chromium_args(video, audio, no_camera) + list(extra_args))
            try:
                yield b
            finally:
                with contextlib.suppress(Exception):
                    b.close()
    finally:
        if old is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old
        shutil.rmtree(tmp, ignore_errors=True)


def phase(page) -> str:
    return page.evaluate("window.kiosk && window.kiosk.phase")


def wait_phase(page, wanted, timeout_ms=60000):
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    page.wait_for_function(
        "(w) => window.kiosk && w.includes(window.kiosk.phase)", arg=wanted, timeout=timeout_ms)
    return phase(page)


def start_witness(page, url: str) -> None:
    """Open the link, agree, pass the device check; the witness then runs on its own."""
    page.goto(url)
    wait_phase(page, "consent", 20000)
    page.get_by_test_id("start").click()
    wait_phase(page, ["devices", "connecting", "witness"], 20000)
    if phase(page) == "devices":
        page.get_by_test_id("devices-ok").click()
    wait_phase(page, ["connecting", "witness"], 20000)
