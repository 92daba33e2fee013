"""The review console end to end in real headless Debian chromium (Playwright): log in, take the
next case, follow a flag marker to its moment, approve; the decision then verifies in the
evidence ledger; the queue and the case page run without a console error, uncaught exception or
CSP violation. Screenshots go to test-artifacts/."""

from __future__ import annotations

import logging

import pytest

from kiosk.config import load_settings
from kiosk.evidence import verify_package
from kiosk.review.accounts import add_user
from kiosk.review.decisions import decisions_for, verify_record
from kiosk.review.sample import make_sealed_case
from kiosk.testing.replay_bench import browser_login, with_console
from kiosk.testing.server import serve_in_thread
from kiosk.web.app import create_app
from tests.browser import browser, watch

pytestmark = pytest.mark.browser
PW = "correct horse battery"


@pytest.fixture()
def console(tmp_path):
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = with_console(create_app(load_settings(data_dir=tmp_path / "data")))
    k = app.extensions["kiosk"]
    add_user(k.store, "alice", PW, "auditor", languages="en")
    pid = make_sealed_case(k.settings.data_dir, k.store, keys=k.evidence_keys, ledger=k.ledger,
                           seconds=20.0, size=(640, 480), signals=True,
                           photos=True)
    yield app, pid
    k.shutdown()


def test_auditor_follows_a_flag_and_approves_in_chromium(console, tmp_path, artifacts):
    app, pid = console
    k, svc = app.extensions["kiosk"], app.extensions["review"]
    with serve_in_thread(app) as base, browser(tmp_path) as b:
        page = b.new_page(viewport={"width": 1440, "height": 900})
        seen = watch(page)  # the replay's modules, under the console's CSP
        browser_login(page, base, "alice", PW)
        assert "alice · auditor" in page.get_by_test_id("whoami").inner_text()
        assert seen.problems() == {}
        page.screenshot(path=str(artifacts / "review-queue.png"))

        page.get_by_test_id("take-next").click()
        page.wait_for_url(f"{base}/review/cases/{pid}")
        page.wait_for_function("() => window.review && window.review.firstPlayMs !== null",
                               timeout=15000)
        assert page.get_by_test_id("verdict").inner_text() == "needs attention"
        steps = page.get_by_test_id("steps").inner_text()
        assert "consent answer not recognised at 00:1" in steps
        # ID photo beside the best frame, both served from the sealed bag
        for img in page.get_by_test_id("compare").locator("img").all():
            assert img.evaluate("i => i.complete && i.naturalWidth > 0")
        assert page.evaluate("document.getElementById('rv-signals').toDataURL().length") > 3000
        assert seen.problems() == {}
        page.screenshot(path=str(artifacts / "review-case.png"))

        # pause, then follow the flag marker on the timeline to its moment
        page.get_by_test_id("play").click()
        page.wait_for_function("() => document.getElementById('rv-video').paused")
        flag = page.get_by_test_id("marker-flag").first
        t = float(flag.get_attribute("data-t"))
        assert t > 5.0
        flag.click()
        page.wait_for_function(
            "(t) => { const v = document.getElementById('rv-video');"
            " return !v.seeking && Math.abs(v.currentTime - (t - 1)) < 0.25; }", arg=t,
            timeout=5000)
        sub = page.get_by_test_id("subtitle").inner_text()
        assert "free will" in sub  # the consent prompt's subtitle at that moment
        page.screenshot(path=str(artifacts / "review-flag.png"))

        # the guide's prompt audio plays in step with the video
        consent = next(x for x in svc.case(pid).prereview["subtitles"]
                       if x["kind"] == "prompt" and x["step"] == "consent")
        page.get_by_role("button", name="Consent", exact=True).click()
        page.get_by_test_id("play").click()
        page.wait_for_function("(sha) => window.review.audio === sha && window.review.audioStarted"
                               " > 0", arg=consent["sha256"], timeout=5000)
        page.get_by_test_id("play").click()

        # speed and skip-to-next-flag from the start
        page.get_by_test_id("speed").select_option("4")
        assert page.evaluate("document.getElementById('rv-video').playbackRate") == 4
        page.evaluate("document.getElementById('rv-video').currentTime = 0")
        page.get_by_test_id("next-flag").click()
        page.wait_for_function(
            "(t) => Math.abs(document.getElementById('rv-video').currentTime - (t - 1)) < 0.25",
            arg=t, timeout=5000)

        page.get_by_test_id("approve").click()
        page.wait_for_url(f"{base}/review/")
        assert "approve recorded" in page.get_by_test_id("flash-ok").inner_text()
        page.screenshot(path=str(artifacts / "review-approved.png"))
        assert seen.problems() == {}
        # The watch is live on the console: an inline script is refused and reported.
        page.evaluate("""() => { const s = document.createElement('script');
                                 s.textContent = 'window.inlineRan = true';
                                 document.body.appendChild(s); }""")
        page.wait_for_function("() => window.__cspViolations.length > 0", timeout=5000)
        assert seen.problems()["csp"] == ["script-src-elem inline"]
        assert page.evaluate("window.inlineRan === undefined")

    decisions = decisions_for(svc, pid)
    assert len(decisions) == 1 and decisions[0]["verified"]
    rec = decisions[0]["record"]
    assert (rec["decision"], rec["reviewer"], rec["package_id"]) == ("approve", "alice", pid)
    assert verify_record(rec, k.evidence_keys.keyring())
    assert k.ledger.verify(k.settings.data_dir / "evidence", k.evidence_keys.keyring()) == []
    assert verify_package(k.settings.data_dir / "evidence" / pid,
                          keyring=k.evidence_keys.keyring()).ok
    views = [e for e in svc.audit_log(pid) if e["action"] == "view"]
    assert views and views[0]["user"] == "alice"
