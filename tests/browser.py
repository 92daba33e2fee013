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


# Records every Content-Security-Policy violation of the page (and its frames) in
# window.__cspViolations, from before the page's own scripts run.
_CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


class PageWatch:
    """What went wrong in a page: console errors, uncaught exceptions, CSP violations.

    ``watch(page)`` must be called before ``page.goto``. Console warnings are not errors
    (the page warns, for example, when the server rejects one message).
    """

    def __init__(self, page):
        self.page = page
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.add_init_script(_CSP_WATCH)

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.console_errors.append(f"{msg.text} ({msg.location.get('url', '')})")

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__cspViolations || []"))

    def problems(self) -> dict[str, list[str]]:
        """Only the kinds that have entries: {} when the page ran cleanly."""
        found = {"console": self.console_errors, "exceptions": self.page_errors,
                 "csp": self.csp_violations()}
        return {k: v for k, v in found.items() if v}


def watch(page) -> PageWatch:
    return PageWatch(page)
