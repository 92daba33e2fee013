"""The digital human in real headless chromium against a real ``kiosk serve``: lip-sync against
audio time, subtitles, the autoplay gate, replays, pre-flight checks and the kiosk reset loop.

Screenshots go to test-artifacts/. Visemes come from real espeak-ng prompts in both languages.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
import requests

from kiosk.timeline import read_timeline
from tests.browser import browser, phase, start_witness, wait_phase
from tests.kiosk_server import KioskServer, make_flows_dir

browser_test = pytest.mark.browser

MOUTH = "document.querySelector('#avatar svg').getAttribute('data-mouth')"
AUDIO = "document.getElementById('prompt-audio')"
LIPSYNC_TOLERANCE_S = 0.080  # the bound: the mouth follows audio time within 80 ms
ZH_LINE = "您好，欢迎办理开户见证。请看着屏幕，保持面部在框内。"
EN_LINE = "Hello, and welcome. Please look at the screen, and keep your face in the oval."

FLOWS = {
    # Two long-ish spoken steps with pauses, so there is both vowel and silence to sample.
    "lipsync.yaml": f"""
id: lipsync
version: 1
title: {{zh-CN: 口型测试, en: Lip-sync test}}
locales: [zh-CN, en]
broker: {{zh-CN: 示例证券, en: Example Securities}}
steps:
  - id: welcome
    kind: say
    text: {{zh-CN: "{ZH_LINE}", en: "{EN_LINE}"}}
  - id: again
    kind: say
    text:
      zh-CN: "好的，我们继续。下面，请保持安静。"
      en: "Good. We go on. Now, please stay quiet."
""",
    # One very short step that names the applicant: the kiosk reset must wipe the name.
    "kiosk_short.yaml": """
id: kiosk_short
version: 1
title: {zh-CN: 柜台测试, en: Kiosk test}
locales: [zh-CN, en]
broker: {zh-CN: 示例证券, en: Example Securities}
steps:
  - id: hi
    kind: say
    text: {zh-CN: "{name}，您好。", en: "Hello {name}."}
""",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("dh")
    flows = make_flows_dir(root / "flows")
    for name, text in FLOWS.items():
        (flows / name).write_text(text.lstrip(), encoding="utf-8")
    srv = KioskServer(root / "data", flows_dir=flows).start()
    yield srv
    srv.stop()
    if os.environ.get("KIOSK_TEST_SHOW_LOG"):
        print(srv.log())


# The fake camera shows a test pattern, not a face: the server's framing check says so.
HINT_TEXT = {"zh-CN": "请将面部移入椭圆框内", "en": "Please move your face into the oval"}

# Runs after the avatar's own animation frame (it is registered later), so each sample pairs the
# mouth the avatar drew with the audio time at (almost) the same moment.
SAMPLER = r"""() => {
  const audio = document.getElementById('prompt-audio');
  const svg = document.querySelector('#avatar svg');
  window.__samples = [];
  window.__subtitles = [];
  window.__looks = {states: {}, minLid: 1, minSway: 99, maxSway: -99};
  const head = svg.querySelector('.avatar-head');
  let lastStep = null;
  function tick() {
    const looks = window.__looks;
    looks.states[document.getElementById('avatar').getAttribute('data-state')] = true;
    const rot = /rotate\(([-\d.]+)/.exec(head.getAttribute('transform') || '');
    const sway = Number(rot ? rot[1] : 0);
    looks.minSway = Math.min(looks.minSway, sway);
    looks.maxSway = Math.max(looks.maxSway, sway);
    for (const g of svg.querySelectorAll('g[transform*="scale(1 "]')) {
      const lid = /scale\(1 ([\d.]+)\)/.exec(g.getAttribute('transform'));
      looks.minLid = Math.min(looks.minLid, Number(lid[1]));
    }
    if (!audio.paused && !audio.ended && audio.currentTime > 0) {
      window.__samples.push([audio.currentTime, Number(svg.getAttribute('data-mouth')),
                             audio.currentSrc, audio.playbackRate]);
    }
    if (window.kiosk.stepId !== lastStep && window.kiosk.stepId !== null) {
      lastStep = window.kiosk.stepId;
      const subtitle = document.querySelector('[data-testid=subtitle]').textContent;
      window.__subtitles.push([lastStep, subtitle]);
    }
    requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick);
}"""


def interpolate(points: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The page's rule (static/avatar.js interpolate): linear, 0 outside the timeline."""
    out = np.interp(t, points[:, 0], points[:, 1])
    out[(t < points[0, 0]) | (t > points[-1, 0])] = 0.0
    return out


def lipsync_report(samples, visemes: dict) -> dict:
    """For each sample, is the drawn mouth what the timeline gives within +-80 ms of audio time?"""
    pts = np.array(visemes["visemes"], dtype=float)
    bad, vowel, silence, tight = [], [], [], 0
    for t, mouth, *_ in samples:
        near = interpolate(pts, np.linspace(t - 0.02, t + 0.02, 9))
        tight += not (near.min() - 0.01 <= mouth <= near.max() + 0.01)  # figure for the report
        window = interpolate(pts, np.linspace(t - LIPSYNC_TOLERANCE_S, t + LIPSYNC_TOLERANCE_S, 33))
        if not (window.min() - 0.01 <= mouth <= window.max() + 0.01):
            bad.append((round(t, 3), mouth, round(float(window.min()), 3),
                        round(float(window.max()), 3)))
        if window.min() >= 0.3:  # open all through +-80 ms: the middle of a vowel
            vowel.append(mouth)
        if window.max() == 0.0:
            silence.append(mouth)
    return {"n": len(samples), "bad": bad, "vowel": vowel, "silence": silence, "tight": tight}


def fetch_visemes(server, sha: str) -> dict:
    r = requests.get(f"{server.url}/media/prompts/{sha}.visemes.json", timeout=10)
    r.raise_for_status()
    return r.json()


@browser_test
@pytest.mark.parametrize(("locale", "viewport", "shot"), [
    ("zh-CN", {"width": 1280, "height": 800}, "desktop"),
    ("en", {"width": 390, "height": 844}, "phone"),
])
def test_mouth_follows_audio_time_and_subtitles_match(server, barcode_video, tone_audio, tmp_path,
                                                      artifacts, locale, viewport, shot):
    created = server.create(flow="lipsync", locale=locale)
    with browser(tmp_path, barcode_video, tone_audio) as b:
        page = b.new_page(viewport=viewport)
        page.goto(created["investor_url"])
        wait_phase(page, "consent", 20000)
        page.evaluate(SAMPLER)
        page.screenshot(path=str(artifacts / f"dh-consent-{shot}.png"), full_page=True)
        page.get_by_test_id("start").click()
        wait_phase(page, "devices", 20000)
        # Pre-flight: the start button waits for camera frames, a moving mic level, the server.
        page.wait_for_function(
            "() => document.querySelector('[data-testid=devices-ok]').disabled === false",
            timeout=20000)
        checks = page.evaluate("window.kiosk.preflight")
        assert checks["camera"] and checks["mic"] and checks["connection"], checks
        page.screenshot(path=str(artifacts / f"dh-preflight-{shot}.png"), full_page=True)
        page.get_by_test_id("devices-ok").click()
        wait_phase(page, "witness", 30000)
        page.get_by_test_id("speed-1.2").click()  # a faster voice must stay in sync too
        page.wait_for_function(f"() => Number({MOUTH}) > 0.5", timeout=20000)
        page.locator("#avatar").screenshot(path=str(artifacts / f"dh-mouth-open-{locale}.png"))
        # The server's framing hint shows in the face oval, in the investor's language.
        hint = page.get_by_test_id("frame-hint")
        hint.wait_for(state="visible", timeout=10000)
        assert hint.get_attribute("data-code") == "face_in_frame"
        assert hint.inner_text() == HINT_TEXT[locale]
        page.screenshot(path=str(artifacts / f"dh-witness-{shot}.png"))
        # A pause between phrases: still playing, mouth shut.
        page.wait_for_function(f"() => !{AUDIO}.paused && {MOUTH} === '0.000'", timeout=20000)
        page.locator("#avatar").screenshot(path=str(artifacts / f"dh-mouth-closed-{locale}.png"))
        end = wait_phase(page, ["done", "ended", "error"], 60000)
        assert end == "done", page.evaluate("window.kiosk")
        assert page.evaluate(MOUTH) == "0.000"
        samples = page.evaluate("window.__samples")
        subtitles = page.evaluate("window.__subtitles")
        looks = page.evaluate("window.__looks")
    # The guide is alive: it spoke, waited ("thinking") between prompts, blinked, swayed a little.
    assert {"speaking", "thinking"} <= set(looks["states"]), looks
    assert looks["minLid"] < 0.3, looks
    assert 1.0 < looks["maxSway"] - looks["minSway"] < 12, looks

    events = read_timeline(server.session_dir(created["session_id"]) / "timeline.jsonl")
    sent = {e["data"]["step"]: e["data"] for e in events if e["type"] == "prompt_sent"}
    # Subtitles: the words on screen are exactly the words the guide was sent to speak.
    assert dict(subtitles) == {step: d["text"] for step, d in sent.items()}
    prefs = [e["data"] for e in events if e["type"] == "display_prefs"]
    assert prefs[-1] == {"locale": locale, "speed": 1.2, "captions": True}, prefs

    by_sha: dict[str, list] = {}
    for s in samples:
        if "/media/prompts/" not in s[2]:
            continue  # the silent warm-up clip played inside the investor's first tap
        by_sha.setdefault(s[2].rsplit("/", 1)[-1].split(".")[0], []).append(s)
    assert set(by_sha) == {d["sha256"] for d in sent.values()}, by_sha.keys()
    total = {"n": 0, "bad": [], "vowel": [], "silence": [], "tight": 0}
    for sha, group in by_sha.items():
        rep = lipsync_report(group, fetch_visemes(server, sha))
        for k in total:
            total[k] += rep[k]
    assert all(abs(s[3] - 1.2) < 1e-6 for s in samples[-20:]), samples[-1]
    assert total["n"] >= 60, total["n"]
    # A loaded CI machine may miss a frame; never more than 2% out of the 80 ms band.
    assert len(total["bad"]) <= 0.02 * total["n"], total["bad"][:10]
    print(f"lip-sync {locale}: {total['n']} samples, {len(total['bad'])} outside +-80 ms "
          f"({total['tight']} outside +-20 ms), "
          f"{len(total['vowel'])} at vowels, {len(total['silence'])} in silence")
    assert len(total["vowel"]) >= 5 and min(total["vowel"]) >= 0.29, total["vowel"]
    assert len(total["silence"]) >= 3 and max(total["silence"]) == 0.0, total["silence"]


@browser_test
def test_preflight_holds_the_start_until_the_microphone_level_moves(server, barcode_video, tmp_path,
                                                                    artifacts):
    import wave

    silent = tmp_path / "silent.wav"
    with wave.open(str(silent), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(b"\0\0" * 48000 * 3)
    created = server.create(flow="lipsync", locale="en")
    with browser(tmp_path, barcode_video, silent) as b:
        page = b.new_page(viewport={"width": 390, "height": 844})
        page.goto(created["investor_url"])
        wait_phase(page, "consent", 20000)
        page.get_by_test_id("start").click()
        wait_phase(page, "devices", 20000)
        page.wait_for_function(
            "() => window.kiosk.preflight.camera && window.kiosk.preflight.connection",
            timeout=20000)
        time.sleep(2.0)  # two more seconds of a silent microphone
        assert page.evaluate("window.kiosk.preflight.mic") is False
        assert page.get_by_test_id("devices-ok").is_disabled()
        assert page.get_by_test_id("check-mic").get_attribute("data-ok") == "false"
        assert page.get_by_test_id("check-mic").inner_text().endswith("Please say something")
        page.screenshot(path=str(artifacts / "dh-preflight-silent-mic-phone.png"), full_page=True)
        assert phase(page) == "devices"


# Emulates the autoplay policy strictly: the prompt audio may only start inside a tap's handler.
BLOCK_AUTOPLAY = """(() => {
  let inGesture = false;
  window.addEventListener('click', () => {
    inGesture = true;
    setTimeout(() => { inGesture = false; }, 0);
  }, true);
  const play = HTMLMediaElement.prototype.play;
  window.__blocked = 0;
  HTMLMediaElement.prototype.play = function () {
    const src = this.src || '';  // currentSrc still names the previous clip right after src is set
    if (src.includes('/media/prompts/') && !inGesture) {
      window.__blocked += 1;
      return Promise.reject(new DOMException('play() needs a user gesture', 'NotAllowedError'));
    }
    return play.call(this);
  };
})();"""


@browser_test
def test_blocked_audio_shows_tap_to_continue_then_plays_and_replay_is_recorded(
        server, barcode_video, tone_audio, tmp_path, artifacts):
    created = server.create(flow="lipsync", locale="zh-CN")
    with browser(tmp_path, barcode_video, tone_audio) as b:
        page = b.new_page(viewport={"width": 390, "height": 844})
        page.add_init_script(BLOCK_AUTOPLAY)
        start_witness(page, created["investor_url"])
        gate = page.get_by_test_id("tap-to-continue")
        gate.wait_for(state="visible", timeout=30000)
        assert page.evaluate("window.__blocked") >= 1
        assert page.evaluate(f"{AUDIO}.paused")
        page.screenshot(path=str(artifacts / "dh-tap-to-continue-phone.png"))
        gate.click()
        page.wait_for_function(f"() => !{AUDIO}.paused", timeout=10000)
        assert gate.is_hidden()
        page.wait_for_function("() => window.kiosk.stepId === 'again'", timeout=30000)
        page.get_by_test_id("tap-to-continue").wait_for(state="visible", timeout=10000)
        page.get_by_test_id("tap-to-continue").click()
        # The investor asks to hear it again: a real tap on the replay button.
        page.get_by_test_id("replay").click()
        page.wait_for_function(f"() => !{AUDIO}.paused", timeout=10000)
        wait_phase(page, ["done", "ended", "error"], 60000)

    events = read_timeline(server.session_dir(created["session_id"]) / "timeline.jsonl")
    seqs = {e["data"]["step"]: e["data"]["seq"] for e in events if e["type"] == "prompt_sent"}
    welcome = [e for e in events
               if e["data"].get("seq") == seqs["welcome"] and e["type"].startswith("prompt_")]
    kinds = [e["type"] for e in welcome]
    assert kinds[:3] == ["prompt_sent", "prompt_blocked", "prompt_started"], kinds
    assert welcome[1]["data"]["reason"] == "autoplay"
    assert welcome[1]["data"]["sha256"] == welcome[0]["data"]["sha256"]
    replayed = [e["data"] for e in events if e["type"] == "prompt_replayed"]
    assert replayed and replayed[0] == {"seq": seqs["again"], "step": "again"}, replayed


# The page's handler is real; only the browser's "tab hidden" signal is emulated.
SET_HIDDEN = """(hidden) => {
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


@browser_test
def test_prompt_cut_off_by_a_hidden_tab_is_replayed_after_a_tap(server, barcode_video, tone_audio,
                                                                tmp_path):
    created = server.create(flow="lipsync", locale="en")
    with browser(tmp_path, barcode_video, tone_audio) as b:
        page = b.new_page(viewport={"width": 390, "height": 844})
        start_witness(page, created["investor_url"])
        page.wait_for_function(f"() => {AUDIO}.currentTime > 0.8", timeout=30000)
        page.evaluate(SET_HIDDEN, True)
        assert page.evaluate(f"{AUDIO}.paused")
        page.evaluate(SET_HIDDEN, False)
        gate = page.get_by_test_id("tap-to-continue")
        gate.wait_for(state="visible", timeout=5000)
        gate.click()
        page.wait_for_function(f"() => !{AUDIO}.paused", timeout=10000)
        assert page.evaluate(f"{AUDIO}.currentTime") < 0.8  # from the start
        page.wait_for_function("() => window.kiosk.stepId === 'again'", timeout=30000)
        wait_phase(page, ["done", "ended", "error"], 60000)

    events = read_timeline(server.session_dir(created["session_id"]) / "timeline.jsonl")
    seq = next(e["data"]["seq"] for e in events if e["type"] == "prompt_sent")
    kinds = [(e["type"], e["data"].get("reason")) for e in events
             if e["type"].startswith("prompt_") and e["data"].get("seq") == seq]
    assert kinds == [("prompt_sent", None), ("prompt_started", None), ("prompt_blocked", "hidden"),
                     ("prompt_replayed", None), ("prompt_ended", None)], kinds


@browser_test
def test_prompt_arriving_in_a_hidden_tab_waits_for_the_investor(server, barcode_video, tone_audio,
                                                                tmp_path):
    created = server.create(flow="kiosk_short", locale="en", name="Alex Chen")
    with browser(tmp_path, barcode_video, tone_audio) as b:
        page = b.new_page(viewport={"width": 390, "height": 844})
        page.goto(created["investor_url"])
        wait_phase(page, "consent", 20000)
        page.get_by_test_id("start").click()
        wait_phase(page, "devices", 20000)
        page.get_by_test_id("devices-ok").click()
        page.evaluate(SET_HIDDEN, True)  # the investor switched apps before the guide spoke
        page.wait_for_function("() => window.kiosk.stepId === 'hi'", timeout=30000)
        time.sleep(0.5)
        assert page.evaluate(f"{AUDIO}.paused") and page.evaluate(f"{AUDIO}.currentTime") == 0
        page.evaluate(SET_HIDDEN, False)
        page.get_by_test_id("tap-to-continue").click()
        assert wait_phase(page, ["done", "ended", "error"], 30000) == "done"

    events = read_timeline(server.session_dir(created["session_id"]) / "timeline.jsonl")
    kinds = [(e["type"], e["data"].get("reason")) for e in events
             if e["type"].startswith("prompt_")]
    assert kinds == [("prompt_sent", None), ("prompt_blocked", "hidden"), ("prompt_started", None),
                     ("prompt_ended", None)], kinds


# ------------------------------------------------------------------ viseme timelines (no browser)

# (locale, text, syllables): real espeak-ng prompts with pauses at the punctuation.
VISEME_CASES = [("zh-CN", ZH_LINE, 22), ("en", EN_LINE, 19)]


@pytest.fixture(scope="module")
def voice(tmp_path_factory):
    from kiosk.guide import GuideVoice

    v = GuideVoice(tmp_path_factory.mktemp("dh-tts"))
    yield v
    v.close()


def openings(opens: np.ndarray) -> int:
    """Mouth openings: rises above 0.4 after having been nearly shut (< 0.15)."""
    count, shut = 0, True
    for o in opens:
        if shut and o > 0.4:
            count, shut = count + 1, False
        elif not shut and o < 0.15:
            shut = True
    return count


@pytest.mark.parametrize(("locale", "text", "syllables"), VISEME_CASES, ids=["zh-CN", "en"])
def test_viseme_timeline_moves_per_syllable_and_shuts_in_pauses(voice, locale, text, syllables):
    from kiosk.errors import GuideError

    try:
        p = voice.render(text, locale)
    except GuideError as exc:
        # About 1 start in 12, pyttsx3 keeps its default rate and the worker refuses to start
        # ("engine kept rate 200"); that is the guide's own test subject, not this one's.
        assert "did not start" in str(exc), exc
        p = voice.render(text, locale)
    doc = json.loads((voice.cache_dir / f"{p.sha256}.visemes.json").read_text(encoding="utf-8"))
    assert doc["sha256"] == p.sha256 and doc["frame_seconds"] == 0.02
    assert doc["duration"] == pytest.approx(p.duration)
    pts = np.array(doc["visemes"], dtype=float)
    assert np.all(np.diff(pts[:, 0]) > 0) and pts[-1, 0] == pytest.approx(p.duration, abs=0.021)
    opens = pts[:, 1]
    # The jaw moves with the syllables, not one long open mouth (measured: zh 20/22, en 16/19).
    assert 0.6 * syllables <= openings(opens) <= 1.3 * syllables, openings(opens)
    # Shut at both ends and in at least two phrase pauses of 100 ms or more.
    zero_runs, run = [], 0
    for o in opens:
        if o == 0:
            run += 1
        else:
            if run:
                zero_runs.append(run)
            run = 0
    zero_runs.append(run)
    assert opens[0] == 0 and opens[-1] == 0
    inner = [r for r in zero_runs[1:-1] if r >= 5]
    assert len(inner) >= 2, zero_runs
    assert 0.3 <= float((opens > 0.2).mean()) <= 0.8


# ------------------------------------------------------------------ kiosk mode

APPLICANT_NAME = "张三"  # pages.DEMO_APPLICANT for zh-CN: the /kiosk page's sample applicant

LEFTOVERS = """(secrets) => {
  const html = document.documentElement.outerHTML + document.body.innerText;
  const found = secrets.filter((s) => s && html.includes(s));
  const urls = performance.getEntriesByType('resource').map((e) => e.name).join(' ');
  return {found, storage: localStorage.length + sessionStorage.length,
          events: window.kiosk.events.length, stepId: window.kiosk.stepId,
          token: document.body.getAttribute('data-token'), path: location.pathname,
          sessionId: window.kiosk.sessionId,
          audioSrc: document.getElementById('prompt-audio').getAttribute('src'),
          promptUrls: urls.includes('/media/prompts/'),
          video: [...document.querySelectorAll('video')].some((v) => v.srcObject)};
}"""


def run_kiosk_session(page, timeout_ms=60000) -> str:
    """One customer at the kiosk, from the attract screen back to it; returns the session id."""
    wait_phase(page, "attract", timeout_ms)
    page.get_by_test_id("attract-start").click()
    wait_phase(page, "consent", timeout_ms)
    sid = page.evaluate("window.kiosk.sessionId")
    page.get_by_test_id("start").click()
    wait_phase(page, "devices", timeout_ms)
    page.get_by_test_id("devices-ok").click()  # waits until the pre-flight passes
    end = wait_phase(page, ["done", "ended", "error"], timeout_ms)
    assert end == "done", page.evaluate("window.kiosk")
    return sid


def heap_figures(cdp) -> dict:
    cdp.send("HeapProfiler.collectGarbage")
    heap = cdp.send("Runtime.getHeapUsage")
    dom = cdp.send("Memory.getDOMCounters")
    return {"heap_mb": heap["usedSize"] / 1e6, "nodes": dom["nodes"],
            "listeners": dom["jsEventListeners"], "documents": dom["documents"]}


@browser_test
def test_kiosk_reset_leaves_nothing_of_the_previous_investor(server, barcode_video, tone_audio,
                                                             tmp_path, artifacts):
    with browser(tmp_path, barcode_video, tone_audio) as b:
        page = b.new_page(viewport={"width": 1080, "height": 1920})
        page.goto(f"{server.url}/kiosk?flow=kiosk_short&lang=zh-CN&reset=2")
        wait_phase(page, "attract", 20000)
        page.screenshot(path=str(artifacts / "dh-kiosk-attract-portrait.png"))
        ids = []
        for _ in range(2):
            ids.append(run_kiosk_session(page))
            # The guide greeted the applicant by name: the wipe below has something to remove.
            assert APPLICANT_NAME in page.content()
            page.screenshot(path=str(artifacts / "dh-kiosk-done-portrait.png"))
            page.get_by_test_id("kiosk-finish").click()
            wait_phase(page, "attract", 5000)
            secrets = [ids[-1], APPLICANT_NAME, "110102199003078888", "8888"]
            left = page.evaluate(LEFTOVERS, secrets)
            assert left == {"found": [], "storage": 0, "events": 0, "stepId": None, "token": "",
                            "path": "/kiosk", "audioSrc": None, "promptUrls": False, "video": False,
                            "sessionId": None}, left
        # The second run was a new witness, and the page itself never reloaded.
        assert ids[0] != ids[1] and page.evaluate("window.kiosk.sessions") == 2
        # A customer who walks away on the done screen: the page resets by itself (reset 2 s).
        ids.append(run_kiosk_session(page))
        assert APPLICANT_NAME in page.content()
        wait_phase(page, "attract", 10000)
        assert page.evaluate(LEFTOVERS, [APPLICANT_NAME])["found"] == []
        # A customer who walks away before starting: the idle timer cancels and resets (idle 2 s).
        idle_page = b.new_page(viewport={"width": 1080, "height": 1920})
        idle_page.goto(f"{server.url}/kiosk?flow=kiosk_short&lang=zh-CN&idle=2")
        wait_phase(idle_page, "attract", 20000)
        idle_page.get_by_test_id("attract-start").click()
        wait_phase(idle_page, "consent", 20000)
        walked_away = idle_page.evaluate("window.kiosk.sessionId")
        wait_phase(idle_page, "attract", 10000)
        assert idle_page.evaluate(LEFTOVERS, [walked_away])["found"] == []
    for sid in ids:
        info = server.wait_ended(sid)
        assert (info["state"], info["end_reason"]) == ("finished", "completed"), info
    info = server.wait_ended(walked_away)
    assert info["state"] == "aborted", info


def test_kiosk_page_is_off_unless_allowed(tmp_path):
    srv = KioskServer(tmp_path / "data", KIOSK_DEMO="false").start()
    try:
        r = requests.get(srv.url + "/kiosk", timeout=10)
        assert r.status_code == 200 and 'data-kiosk-start="false"' in r.text
        r = requests.post(srv.url + "/kiosk/next", json={"locale": "en"}, timeout=10)
        assert r.status_code == 404
    finally:
        srv.stop()


def test_kiosk_next_refuses_non_json(server):
    r = requests.post(server.url + "/kiosk/next", data="locale=en",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    r = requests.post(server.url + "/kiosk/next", json={"flow": "no_such_flow"}, timeout=10)
    assert r.status_code == 400 and "no_such_flow" in r.json()["error"]


@browser_test
@pytest.mark.slow
def test_kiosk_runs_many_sessions_without_reload_or_memory_growth(server, barcode_video, tone_audio,
                                                                  tmp_path):
    n = int(os.environ.get("KIOSK_SOAK_SESSIONS", "50"))
    with browser(tmp_path, barcode_video, tone_audio) as b:
        page = b.new_page(viewport={"width": 1080, "height": 1920})
        cdp = page.context.new_cdp_session(page)
        page.goto(f"{server.url}/kiosk?flow=kiosk_short&lang=en")
        figures = []
        started = time.monotonic()
        for i in range(n):
            run_kiosk_session(page)
            page.get_by_test_id("kiosk-finish").click()
            wait_phase(page, "attract", 5000)
            if i == 4 or (i + 1) % 10 == 0 or i == n - 1:
                figures.append((i + 1, heap_figures(cdp)))
        elapsed = time.monotonic() - started
        assert page.evaluate("window.kiosk.sessions") == n
        left = page.evaluate(LEFTOVERS, ["Alex Chen"])
    print(f"kiosk soak: {n} sessions in {elapsed:.0f} s; " +
          "; ".join(f"after {k}: heap {f['heap_mb']:.2f} MB, {f['nodes']} nodes, "
                    f"{f['listeners']} listeners" for k, f in figures))
    assert left["found"] == [] and left["storage"] == 0
    first, last = figures[0][1], figures[-1][1]
    # Warm after 5 sessions; from there to the end the page must not keep what it no longer uses.
    assert last["heap_mb"] - first["heap_mb"] < 1.0, figures
    assert last["nodes"] <= first["nodes"] * 1.1 + 50, figures
    assert last["listeners"] <= first["listeners"] + 10, figures
    assert last["documents"] <= first["documents"] + 1, figures
