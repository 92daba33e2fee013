"""Real headless chromium, fake camera (generated Y4M) and microphone (generated WAV)."""

import os
import signal
import time

import pytest

from kiosk.media.remux import probe_recording
from kiosk.timeline import read_timeline
from tests.browser import browser, phase, start_witness, wait_phase, watch
from tests.test_witness_e2e import QUICK_STEPS, check_timeline_in_order, decoded_barcodes

pytestmark = pytest.mark.browser


def test_investor_completes_a_witness_in_chromium(kiosk_server, barcode_video, tone_audio, tmp_path,
                                                  artifacts):
    created = kiosk_server.create(flow="quick")
    with browser(tmp_path, barcode_video, tone_audio) as b:
        page = b.new_page(viewport={"width": 1280, "height": 800})
        start_witness(page, created["investor_url"])
        wait_phase(page, "witness", 30000)
        page.wait_for_function("() => window.kiosk.stepIndex >= 1", timeout=30000)
        subtitle = page.get_by_test_id("subtitle").inner_text()
        page.screenshot(path=str(artifacts / "investor-witness-desktop.png"))
        assert wait_phase(page, ["done", "ended", "error"], 90000) == "done", \
            page.evaluate("window.kiosk")
        page.screenshot(path=str(artifacts / "investor-done-desktop.png"))
    info = kiosk_server.wait_ended(created["session_id"])
    assert (info["state"], info["end_reason"]) == ("finished", "completed")
    events = read_timeline(kiosk_server.session_dir(created["session_id"]) / "timeline.jsonl")
    check_timeline_in_order(events, QUICK_STEPS)
    sent = [e["data"]["text"] for e in events if e["type"] == "prompt_sent"]
    assert subtitle.strip() in sent  # the subtitle shows the words the guide speaks
    types = [e["type"] for e in events]
    assert (types.count("prompt_started") == types.count("prompt_ended")
            == types.count("prompt_sent"))

    rec = kiosk_server.session_dir(created["session_id"]) / "recording.webm"
    probe = probe_recording(rec)
    span = events[types.index("finished")]["t"] - events[types.index("media_connected")]["t"]
    # Chromium's fake camera sends ~15 fps from the Y4M; allow for its pacing, not for loss.
    assert probe["video_frames"] >= 12 * span, (probe, span)
    codes = decoded_barcodes(rec)
    assert all(0 <= c < 60 for c in codes), codes[:20]
    steps = [(b - a) % 60 for a, b in zip(codes, codes[1:], strict=False)]
    assert sum(s in (1, 2) for s in steps) >= 0.9 * len(steps), steps
    assert probe["audio_seconds"] >= span - 1.0 and probe["audio_rms"] > 0.02, probe
    assert abs(probe["first_video_pts"] - probe["first_audio_pts"]) < 0.3, probe


def test_the_demo_runs_without_console_errors_or_csp_violations(kiosk_server, barcode_video,
                                                               tone_audio, tmp_path):
    """The page's modules, served with the server's CSP: a whole demo witness, then the kiosk
    page up to the next customer's consent, without one console error, uncaught exception or
    blocked load."""
    with browser(tmp_path, barcode_video, tone_audio) as b:
        page = b.new_page()
        seen = watch(page)
        start_witness(page, f"{kiosk_server.url}/demo?flow=quick&lang=en")
        assert wait_phase(page, ["done", "ended", "error"], 120000) == "done", \
            page.evaluate("() => window.kiosk")
        assert seen.problems() == {}
        kiosk = b.new_page(viewport={"width": 1080, "height": 1920})
        seen_kiosk = watch(kiosk)
        kiosk.goto(f"{kiosk_server.url}/kiosk?flow=quick&lang=en")
        wait_phase(kiosk, "attract", 20000)
        kiosk.get_by_test_id("attract-start").click()
        wait_phase(kiosk, "consent", 20000)
        assert seen_kiosk.problems() == {}
        # The watch is live on this page: an inline script is refused and reported.
        kiosk.evaluate("""() => { const s = document.createElement('script');
                                  s.textContent = 'window.inlineRan = true';
                                  document.body.appendChild(s); }""")
        kiosk.wait_for_function("() => window.__cspViolations.length > 0", timeout=5000)
        assert seen_kiosk.problems()["csp"] == ["script-src-elem inline"]


def test_closing_the_browser_mid_witness_aborts_with_a_finalised_recording(
        kiosk_server, barcode_video, tone_audio, tmp_path):
    created = kiosk_server.create(flow="securities_account_opening")
    with browser(tmp_path, barcode_video, tone_audio) as b:
        page = b.new_page()
        start_witness(page, created["investor_url"])
        wait_phase(page, "witness", 30000)
        time.sleep(4)
        pid = (b._impl_obj._browser_process_pid
               if hasattr(b._impl_obj, "_browser_process_pid") else None)
        killed_at = time.monotonic()
        if pid:
            os.kill(pid, signal.SIGKILL)
        else:
            b.close()
    info = kiosk_server.wait_ended(created["session_id"], timeout=30)
    assert info["state"] == "aborted", info
    assert info["end_reason"] in ("disconnected", "media_closed"), info
    kiosk_server.verify_sealed(created["session_id"])
    assert time.monotonic() - killed_at < 15
    probe = probe_recording(kiosk_server.session_dir(created["session_id"]) / "recording.webm")
    assert probe["video_frames"] >= 30 and probe["duration"] >= 2.5, probe


def test_no_camera_gets_a_plain_message_and_a_retry(kiosk_server, tmp_path, artifacts):
    created = kiosk_server.create(flow="quick", locale="en")
    with browser(tmp_path, no_camera=True) as b:
        page = b.new_page(viewport={"width": 390, "height": 844})
        page.goto(created["investor_url"])
        wait_phase(page, "consent", 20000)
        page.get_by_test_id("start").click()
        assert wait_phase(page, ["error"], 20000) == "error"
        message = page.get_by_test_id("error-message").inner_text()
        assert "camera" in message.lower()
        assert page.get_by_test_id("retry").is_visible()
        page.screenshot(path=str(artifacts / "investor-no-camera-phone.png"))
    events = read_timeline(kiosk_server.session_dir(created["session_id"]) / "timeline.jsonl")
    assert any(e["type"] == "client_error" and e["data"]["code"] == "no_camera" for e in events)


def test_a_used_link_shows_a_kind_page(kiosk_server, tmp_path, barcode_video, tone_audio):
    created = kiosk_server.create(flow="quick")
    with browser(tmp_path, barcode_video, tone_audio) as b:
        page = b.new_page()
        start_witness(page, created["investor_url"])
        second = b.new_page()
        resp = second.goto(created["investor_url"])
        assert resp.status == 410
        texts = second.get_by_test_id("error-message").inner_text() + \
            second.get_by_test_id("error-message-2").inner_text()
        assert "已经使用" in texts and "already been used" in texts
        assert phase(page) in ("connecting", "witness")


def test_a_spoken_consent_from_chromiums_microphone_is_recognised(
    kiosk_server, barcode_video, tmp_path
):
    import numpy as np

    from kiosk.testing.streams import speech_wav, write_wav

    # Chromium loops the WAV: "yes, I do" every 3 s, so every 6 s answer window holds it.
    one = speech_wav(tmp_path / "one.wav", "yes, I do", lead_silence=0.8)
    import wave

    with wave.open(str(one)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    period = np.zeros(3 * 48000, np.int16)
    period[: len(pcm)] = pcm[: len(period)]
    mic = write_wav(tmp_path / "mic.wav", period)
    created = kiosk_server.create(flow="consent", locale="en", name="Alex Chen")
    with browser(tmp_path, barcode_video, mic) as b:
        page = b.new_page()
        start_witness(page, created["investor_url"])
        # An unclear first window shows "could not hear that clearly"; wait for the words.
        page.wait_for_function(
            "() => document.querySelector('[data-testid=heard]').textContent"
            ".startsWith('We heard')",
            timeout=60000)
        heard = page.get_by_test_id("heard").text_content()
        assert wait_phase(page, ["done", "ended", "error"], 90000) == "done"
    kiosk_server.wait_ended(created["session_id"])
    events = read_timeline(kiosk_server.session_dir(created["session_id"]) / "timeline.jsonl")
    results = [e["data"] for e in events
               if e["type"] == "step_result" and e["data"]["step"] == "consent"]
    assert heard.startswith("We heard:") and "yes" in heard.lower(), heard  # what was heard
    assert results and results[-1]["outcome"] == "pass", results
    assert results[-1]["intent"] == "affirm" and "yes" in results[-1]["transcript"].lower()


def test_beyond_capacity_the_investor_waits_and_the_page_joins_when_a_place_frees(
        tmp_path, barcode_video, tone_audio):
    """Admission control (issue #17, item 9) in a real browser: the second investor of a
    one-place node is told to wait, with the link still valid, and the page comes back by
    itself (GET /api/capacity) once the first witness has ended."""
    from tests.kiosk_server import KioskServer

    server = KioskServer(tmp_path / "data", KIOSK_NODE_CAPACITY="1").start()
    try:
        first = server.create(flow="quick", locale="en")
        second = server.create(flow="quick", locale="en")
        with browser(tmp_path, barcode_video, tone_audio) as b:
            page1 = b.new_page()
            start_witness(page1, first["investor_url"])
            wait_phase(page1, "witness", 30000)
            page2 = b.new_page()
            watch2 = watch(page2)
            page2.goto(second["investor_url"])  # the page joins as it opens
            assert wait_phase(page2, "error", 20000) == "error"
            message = page2.get_by_test_id("error-message").inner_text()
            assert "still valid" in message and "min" in message, message
            assert page2.get_by_test_id("retry").is_visible()
            assert server.session(second["session_id"])["state"] == "created"
            # The first investor cancels: a place is free, and the waiting page comes back.
            page1.get_by_test_id("cancel").click()
            page1.get_by_test_id("cancel-confirm").click()
            server.wait_ended(first["session_id"])
            assert wait_phase(page2, "consent", 40000) == "consent"
            page2.get_by_test_id("start").click()
            wait_phase(page2, ["devices", "connecting", "witness"], 20000)
            if phase(page2) == "devices":
                page2.get_by_test_id("devices-ok").click()
            wait_phase(page2, "witness", 30000)
            assert server.session(second["session_id"])["state"] == "active"
            assert watch2.problems() == {}
    finally:
        server.stop()


def test_a_server_crash_mid_witness_is_not_blamed_on_the_investors_connection(
        tmp_path, barcode_video, tone_audio):
    """Bug D of #17: the node running the witness dies (kill -9). The page asks the service
    without the node's prefix (/api/health): an answer (here the balancer's, stood in for by a
    route once the node is gone) means our server failed, and the page says so; no answer
    means the investor's own connection. Both tell them to ask the broker for a new link."""
    from tests.kiosk_server import KioskServer

    server = KioskServer(tmp_path / "data").start()
    try:
        ours = server.create(flow="securities_account_opening", locale="en")
        theirs = server.create(flow="securities_account_opening", locale="zh-CN")
        with browser(tmp_path, barcode_video, tone_audio) as b:
            page_ours, page_theirs = b.new_page(), b.new_page()
            for page, created in ((page_ours, ours), (page_theirs, theirs)):
                start_witness(page, created["investor_url"])
                wait_phase(page, "witness", 30000)
            killed = {"yes": False}

            def balancer(route):  # another node answers once this one is dead
                if killed["yes"]:
                    route.fulfill(status=200, content_type="application/json", body="{}")
                else:
                    route.continue_()
            page_ours.route("**/api/health*", balancer)
            page_theirs.route("**/api/health*", lambda route: route.abort("internetdisconnected"))
            killed["yes"] = True
            server.kill9()
            assert wait_phase(page_ours, "error", 20000) == "error"
            assert wait_phase(page_theirs, "error", 20000) == "error"
            page_ours.wait_for_function("() => window.kiosk.connectionProbe !== 'probing'")
            page_theirs.wait_for_function("() => window.kiosk.connectionProbe !== 'probing'")
            said = page_ours.get_by_test_id("error-message").inner_text()
            assert page_ours.evaluate("window.kiosk.connectionProbe") == "server_lost"
            assert "our server" in said and "not a problem on your side" in said, said
            assert "new witness link" in said and "Check your connection" not in said, said
            said = page_theirs.get_by_test_id("error-message").inner_text()
            assert page_theirs.evaluate("window.kiosk.connectionProbe") == "connection_lost"
            assert "网络连接已中断" in said and "新的见证链接" in said, said
    finally:
        server.stop()
