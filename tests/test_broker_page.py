"""Broker page: roles, CSRF, live validation, prompt rendering, diff and publish, and the editor
end to end in real headless Debian chromium (type an error, see it at its line, fix it, dry-run,
publish) without a console error, uncaught exception or CSP violation. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import json
import logging
import re
import shutil
import wave
from pathlib import Path

import pytest

from kiosk.broker import register as register_broker
from kiosk.config import load_settings
from kiosk.flows.versions import resolve_flow
from kiosk.resources import SHIPPED_FLOWS_DIR
from kiosk.review.accounts import add_user
from kiosk.review.console import register as register_review
from kiosk.web.app import create_app

PW = "correct horse battery"
FIXTURES = Path(__file__).parent / "flow_fixtures"
QUICK = (FIXTURES / "quick.yaml").read_text(encoding="utf-8")


@pytest.fixture()
def app(tmp_path):
    flows_dir = tmp_path / "flows"
    flows_dir.mkdir()
    shutil.copy(FIXTURES / "quick.yaml", flows_dir)
    shutil.copy(SHIPPED_FLOWS_DIR / "securities_account_opening.yaml", flows_dir)
    app = create_app(load_settings(data_dir=tmp_path / "data", flows_dir=flows_dir))
    k = app.extensions["kiosk"]
    register_review(app, k, config={"poll_seconds": 0})
    register_broker(app, k)
    add_user(k.store, "brenda", PW, "broker_admin")
    add_user(k.store, "alice", PW, "auditor")
    yield app
    k.shutdown()


def login(app, name):
    c = app.test_client()
    tok = c.get("/review/api/csrf").get_json()["csrf_token"]
    r = c.post("/review/api/login", json={"username": name, "password": PW},
               headers={"X-CSRF-Token": tok})
    assert r.status_code == 200, r.get_json()
    c.csrf = r.get_json()["csrf_token"]
    return c


def post(c, url, body, **headers):
    return c.post(url, json=body, headers={"X-CSRF-Token": c.csrf, **headers})


def test_page_needs_broker_admin_and_csrf(app):
    anon = app.test_client()
    r = anon.get("/review/flows/")
    assert r.status_code == 302 and "/review/login" in r.headers["Location"]
    r = anon.post("/review/api/flows/check", json={"flow_id": "quick", "text": QUICK})
    assert r.status_code == 403 and r.get_json()["error"] == "csrf"

    alice = login(app, "alice")
    assert alice.get("/review/flows/").status_code == 403
    r = post(alice, "/review/api/flows/check", {"flow_id": "quick", "text": QUICK})
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"

    brenda = login(app, "brenda")
    r = brenda.post("/review/api/flows/check", json={"flow_id": "quick", "text": QUICK})
    assert r.status_code == 403 and r.get_json()["error"] == "csrf"  # logged in, no token
    r = post(brenda, "/review/api/flows/publish", {"flow_id": "quick", "text": QUICK,
                                                    "base_hash": None},
             Origin="http://evil.example")
    assert r.status_code == 403 and r.get_json()["error"] == "bad_origin"
    assert app.extensions["kiosk"].flow_versions.versions("quick") == []

    page = brenda.get("/review/flows/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="flow-quick"' in html
    assert 'data-testid="flow-securities_account_opening"' in html
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_check_endpoint_reports_problems_at_their_lines(app):
    c = login(app, "brenda")
    broken = QUICK.replace("    expect: affirm\n", "    expect: affirm\n    colour: red\n")
    bye = 'kind: say\n    text: {zh-CN: "再见。"'
    broken = broken.replace(bye, bye.replace("say", "sya"))
    r = post(c, "/review/api/flows/check", {"flow_id": "quick", "text": broken})
    body = r.get_json()
    assert r.status_code == 200 and body["valid"] is False
    lines = broken.splitlines()
    colour = next(i for i, x in enumerate(lines, 1) if "colour" in x)
    sya = next(i for i, x in enumerate(lines, 1) if "kind: sya" in x)
    assert body["problems"] == [
        {"line": colour, "col": 5,
         "message": "step 'ready': unknown field 'colour' for a question step; allowed: "
                    "accept, answer, answer_seconds, expect, id, kind, on_fail, phrases, "
                    "refuse, retries, text, timeout, title"},
        {"line": sya, "col": 11,
         "message": "step 'bye': unknown kind 'sya'; use say, question, read_aloud, "
                    "challenge, show_id, id_document or wait (did you mean 'say'?)"},
    ]
    ok = post(c, "/review/api/flows/check", {"flow_id": "quick", "text": QUICK}).get_json()
    assert ok["valid"] and ok["problems"] == [] and ok["locales"] == ["zh-CN", "en"]
    assert ok["warnings"] == []
    assert [s["id"] for s in ok["steps"]["en"]] == ["hello", "ready", "bye"]
    # the id must match the flow being edited
    other = post(c, "/review/api/flows/check", {"flow_id": "other", "text": QUICK}).get_json()
    assert not other["valid"] and "other" in other["problems"][0]["message"]
    bad = post(c, "/review/api/flows/check", {"flow_id": "../x", "text": QUICK})
    assert bad.status_code == 400 and "invalid flow id" in bad.get_json()["message"]


def test_check_endpoint_gives_the_speech_warnings_of_kiosk_flows_check(app):
    from kiosk.flows.loader import speech_warnings

    c = login(app, "brenda")
    hard = QUICK.replace('text: {zh-CN: "再见。"', 'text: {zh-CN: "再见 ☃ 。"')
    assert hard != QUICK
    body = post(c, "/review/api/flows/check", {"flow_id": "quick", "text": hard}).get_json()
    assert body["valid"] and body["problems"] == []
    cli = speech_warnings("quick.yaml", hard)
    assert cli and body["warnings"] == [{"line": w.line, "col": w.col, "message": w.message}
                                        for w in cli]
    line = next(i for i, x in enumerate(hard.splitlines(), 1) if "☃" in x)
    assert {w["line"] for w in body["warnings"]} == {line}


def test_prompt_is_rendered_by_the_server_guide_and_served(app):
    c = login(app, "brenda")
    r = post(c, "/review/api/flows/prompt", {"flow_id": "quick", "text": QUICK,
                                             "step": "ready", "locale": "en"})
    p = r.get_json()
    assert r.status_code == 200, p
    assert p["text"] == "Ready?" and p["url"] == f"/media/prompts/{p['sha256']}.wav"
    audio = c.get(p["url"])
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    path = app.extensions["kiosk"].settings.tts_cache_dir / f"{p['sha256']}.wav"
    with wave.open(str(path)) as w:
        assert abs(w.getnframes() / w.getframerate() - p["duration"]) < 0.01
    assert 0.4 < p["duration"] < 3.0
    retry = post(c, "/review/api/flows/prompt", {"flow_id": "quick", "text": QUICK,
                                                 "step": "ready", "locale": "en",
                                                 "attempt": 1}).get_json()
    assert retry["text"].startswith("Sorry, I did not catch that") and retry["duration"] > 2
    missing = post(c, "/review/api/flows/prompt", {"flow_id": "quick", "text": QUICK,
                                                   "step": "nope", "locale": "en"})
    assert missing.status_code == 400 and "no step 'nope'" in missing.get_json()["message"]


def test_diff_then_publish_binds_new_witnesses(app):
    k = app.extensions["kiosk"]
    c = login(app, "brenda")
    assert resolve_flow(k, "quick").content_hash == k.flows.get("quick").content_hash
    d = post(c, "/review/api/flows/diff", {"flow_id": "quick", "text": QUICK}).get_json()
    assert d["published"] is None and d["base_hash"] is None and d["valid"]
    assert d["diff"].startswith("--- (nothing published)\n+++ quick (this edit)\n")
    r = post(c, "/review/api/flows/publish", {"flow_id": "quick", "text": QUICK,
                                               "base_hash": None})
    v1 = r.get_json()["version"]
    assert r.status_code == 200 and v1["version"] == 1 and v1["published_by"] == "brenda"

    edited = QUICK.replace("version: 1", "version: 2").replace('"Hello."', '"Hello there."')
    d = post(c, "/review/api/flows/diff", {"flow_id": "quick", "text": edited}).get_json()
    assert d["base_hash"] == v1["content_hash"]
    assert "-version: 1\n+version: 2\n" in d["diff"]
    assert '+    text: {zh-CN: "您好。", en: "Hello there."}' in d["diff"]
    # publishing against a stale diff is refused
    stale = post(c, "/review/api/flows/publish", {"flow_id": "quick", "text": edited,
                                                   "base_hash": None})
    assert stale.status_code == 409
    assert "since you looked at the diff" in stale.get_json()["message"]
    r = post(c, "/review/api/flows/publish", {"flow_id": "quick", "text": edited,
                                               "base_hash": v1["content_hash"]})
    assert r.status_code == 200 and r.get_json()["version"]["version"] == 2
    bound = resolve_flow(k, "quick")
    assert bound.version == 2 and bound.step("hello").text["en"] == "Hello there."
    # the file in flows_dir is no longer what witnesses run
    assert k.flows.get("quick").version == 1
    audit = [e for e in app.extensions["review"].audit_log() if e["action"] == "flow_publish"]
    assert len(audit) == 2

    # version 2 is immutable: other text under it is refused with what to do
    v2_hash = r.get_json()["version"]["content_hash"]
    again = post(c, "/review/api/flows/publish", {"flow_id": "quick", "base_hash": v2_hash,
                                                   "text": edited.replace("there", "again")})
    assert again.status_code == 409
    assert again.get_json()["message"].endswith("set version: 3 to publish this text")
    listed = c.get("/review/api/flows/quick/versions").get_json()["versions"]
    assert [v["version"] for v in listed] == [2, 1]
    assert c.get("/review/api/flows/quick/versions/1").get_json()["source"] == QUICK
    assert c.get("/review/api/flows/quick/versions/9").status_code == 404
    page = c.get("/review/flows/quick/versions/2").get_data(as_text=True)
    assert "published, immutable" in page and v2_hash in page and "Hello there." in page


def test_editor_page_loads_draft_and_templates(app):
    c = login(app, "brenda")
    page = c.get("/review/flows/quick/edit").get_data(as_text=True)
    assert "Loaded from file in flows_dir" in page and "id: quick" in page
    # The page's data rides in a <script> as JSON (Jinja's |tojson): parsable, and nothing in
    # it can close the script element.
    raw = re.search(r'<script type="application/json" id="bk-data">(.*?)</script>', page,
                    re.S).group(1)
    assert json.loads(raw)["flow_id"] == "quick" and "<" not in raw
    r = post(c, "/review/api/flows/draft", {"flow_id": "quick", "text": "id: quick\nbroken: ["})
    assert r.status_code == 200
    page = c.get("/review/flows/quick/edit").get_data(as_text=True)
    assert "Loaded from draft saved by brenda" in page and "broken: [" in page
    r = c.get("/review/flows/new?template=fund_suitability&id=my_fund")
    assert r.status_code == 303
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "Loaded from template fund_suitability" in page and "id: my_fund" in page
    assert c.get("/review/flows/new?template=nope&id=x").status_code == 400


@pytest.mark.browser
def test_editor_in_chromium_marks_error_then_dry_run_and_publish(app, tmp_path, artifacts):
    from kiosk.testing.replay_bench import browser_login
    from kiosk.testing.server import serve_in_thread
    from tests.browser import browser, watch

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    k = app.extensions["kiosk"]
    lines = QUICK.splitlines()
    expect_line = next(i for i, x in enumerate(lines, 1) if "expect: affirm" in x)
    typed = "\n    colour: red"
    with serve_in_thread(app) as base, browser(tmp_path) as b:
        page = b.new_page(viewport={"width": 1440, "height": 900})
        seen = watch(page)  # the editor's modules, under the console's CSP
        browser_login(page, base, "brenda", PW)
        page.goto(f"{base}/review/flows/")
        assert seen.problems() == {}
        page.get_by_test_id("edit-quick").click()
        page.wait_for_url(f"{base}/review/flows/quick/edit")
        page.wait_for_function(
            "() => window.broker && window.broker.checks >= 1 && window.broker.valid")
        assert seen.problems() == {}
        assert "Valid: version 1, 3 steps" in page.get_by_test_id("status").inner_text()

        # type an unknown field at the end of the `expect: affirm` line
        editor = page.get_by_test_id("yaml")
        editor.click()
        page.evaluate("(n) => { const t = document.getElementById('bk-text');"
                      " const lines = t.value.split('\\n');"
                      " const pos = lines.slice(0, n).join('\\n').length;"
                      " t.setSelectionRange(pos, pos); }", expect_line)
        page.keyboard.type(typed, delay=15)
        page.wait_for_function("() => window.broker.problems.length === 1")
        marked = page.get_by_test_id(f"err-line-{expect_line + 1}")
        assert "bk-err" in marked.get_attribute("class")
        assert "unknown field 'colour' for a question step" in marked.get_attribute("title")
        assert page.locator(".bk-gutter .bk-err").count() == 1
        assert page.locator(f".bk-marks div[data-line='{expect_line + 1}']").count() == 1
        problem = page.get_by_test_id("problem").inner_text()
        assert problem.startswith(f"line {expect_line + 1}, column 5: step 'ready': unknown "
                                  "field 'colour'")
        page.screenshot(path=str(artifacts / "broker-editor-error.png"))

        # fix it: the marker goes away
        for _ in typed:
            page.keyboard.press("Backspace")
        page.wait_for_function("() => window.broker.valid && window.broker.problems.length === 0")
        assert page.locator(".bk-gutter .bk-err").count() == 0
        assert page.evaluate("document.getElementById('bk-text').value") == QUICK

        # one step's prompt, in English, through the server's guide voice
        page.get_by_test_id("locale").select_option("en")
        page.get_by_test_id("play-ready").click()
        page.wait_for_function("() => window.broker.played.length >= 1", timeout=15000)
        assert page.get_by_test_id("dur-ready").inner_text().strip().endswith(" s")

        # dry run: a wrong answer is retried, then answered right
        page.get_by_test_id("dry-start").click()
        page.get_by_test_id("sim-fail-1").click(timeout=20000)
        page.get_by_test_id("sim-pass").click(timeout=20000)
        page.wait_for_function("() => window.broker.dry && window.broker.dry.ended", timeout=20000)
        log = page.evaluate("window.broker.dry.log")
        assert log == ["hello: pass (spoken)", "ready: fail (Other answer), retry 1 of 1",
                       "ready: pass (Answers yes)", "bye: pass (spoken)",
                       "end: finished, no flags"], log
        assert page.locator("#bk-avatar [data-testid=avatar]").count() == 1  # the guide's face
        page.screenshot(path=str(artifacts / "broker-dry-run.png"))

        # publish, after seeing the diff to the published version (none yet)
        page.get_by_test_id("publish-review").click()
        page.get_by_test_id("publish-dialog").wait_for(state="visible")
        assert "+id: quick" in page.get_by_test_id("diff").inner_text()
        assert "nothing (first publication)" in page.get_by_test_id("publish-info").inner_text()
        page.get_by_test_id("publish-confirm").click()
        page.wait_for_function("() => window.broker.published !== null")
        assert page.get_by_test_id("publish-result").inner_text().startswith(
            "Published quick@1 · sha256 ")
        page.screenshot(path=str(artifacts / "broker-published.png"))

        # A speech warning, and what the voice says beside what is written.
        page.get_by_test_id("publish-cancel").click()
        edited = QUICK.replace('en: "Hello."', 'en: "Hello. Call 95588 about the ETF ☃."')
        page.evaluate("(v) => { const t = document.getElementById('bk-text'); t.value = v;"
                      " t.dispatchEvent(new Event('input')); }", edited)
        page.wait_for_function("() => window.broker.valid && window.broker.warnings.length")
        warning = page.get_by_test_id("warning").first.inner_text()
        hello_line = next(i for i, x in enumerate(edited.splitlines(), 1) if "☃" in x)
        assert warning.startswith(f"line {hello_line}, column ") and ": voice: " in warning
        assert "speech warning" in page.get_by_test_id("status").inner_text()
        page.get_by_test_id("play-hello").click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=spoken-hello]').textContent !== ''",
            timeout=15000)
        spoken = page.get_by_test_id("spoken-hello").inner_text()
        assert spoken.startswith("Voice: ") and "nine five five eight eight" in spoken
        assert "E T F" in spoken and "95588" not in spoken
        assert page.get_by_test_id("spoken-ready").inner_text() == ""  # said as written
        assert seen.problems() == {}  # the whole editing session ran cleanly

        page.goto(f"{base}/review/flows/")
        assert page.get_by_test_id("version-quick-1").is_visible()
        assert page.evaluate("window.broker === undefined")  # the list page runs no script
        assert seen.problems() == {}
    rows = k.flow_versions.versions("quick")
    assert [(v["version"], v["published_by"]) for v in rows] == [(1, "brenda")]
    assert resolve_flow(k, "quick").content_hash == rows[0]["content_hash"]
