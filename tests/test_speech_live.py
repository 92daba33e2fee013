"""Spoken answers in live sessions: natural-voice answers over real WebRTC into the recogniser."""

import asyncio

import numpy as np
import pytest

from kiosk.media.simulate import run_investor
from kiosk.testing import voices as tv
from kiosk.testing.streams import write_wav
from kiosk.timeline import read_timeline
from tests.kiosk_server import API_KEY


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    d = tmp_path_factory.mktemp("answers")
    voice = {v.id: v for v in tv.VOICES}
    return {
        "yes": tv.say_to_file(voice["en-bella"], "Yes, I understand.", d),
        "no": tv.say_to_file(voice["en-bella"], "No, I don't.", d),
        "silence": write_wav(d / "silence.wav", np.zeros(48000)),
        "zh_yes": tv.say_to_file(voice["zh-xiaobei"], "是的，我自愿", d),
        "zh_no": tv.say_to_file(voice["zh-xiaobei"], "不，我不愿意", d),
    }


def answer_with(server, video, audio, locale="en", flow="quick"):
    created = server.create(flow=flow, locale=locale, name="Alex Chen")
    res = asyncio.run(run_investor(created["investor_url"], video, audio, api_key=API_KEY,
                                   prompt_time="instant", timeout=90))
    server.wait_ended(created["session_id"])
    events = read_timeline(server.session_dir(created["session_id"]) / "timeline.jsonl")
    results = [e["data"] for e in events if e["type"] == "step_result"]
    return res, events, results


def test_a_spoken_yes_passes_the_question(kiosk_server, barcode_video, answers):
    res, events, results = answer_with(kiosk_server, barcode_video, answers["yes"])
    assert res.state == "finished"
    assert len(results) == 1, results
    r = results[-1]
    assert (r["outcome"], r["intent"]) == ("pass", "affirm"), r
    assert r["speech_present"] and r["speech_spans"]
    assert r["engine"] == "faster-whisper" and r["score"] >= 0.3, r
    assert len(r["model_sha256"]) == 64 and "understand" in r["transcript"].lower()
    w0, w1 = r["window"]
    assert all(w0 <= a < b <= w1 + 0.05 for a, b in r["speech_spans"])
    recognised = [e["data"] for e in events if e["type"] == "answer_recognised"]
    assert recognised and recognised[-1]["decision"] == "agree"


def test_a_spoken_no_stops_the_witness(kiosk_server, barcode_video, answers):
    res, events, results = answer_with(kiosk_server, barcode_video, answers["no"])
    assert (res.state, res.reason) == ("aborted", "declined"), res.as_dict()
    # The first refusal is confirmed (asked again without the words to say), the second stops.
    assert [(x["outcome"], x["intent"]) for x in results] == [("retry", "deny"),
                                                              ("stop", "deny")], results
    assert results[0]["confirm_stop"] is True
    # A refusal never closes the window early: the investor keeps it to correct themselves.
    assert not any(e["type"] == "answer_endpointed" for e in events)


def test_silence_retries_once_then_flags_for_a_human(kiosk_server, barcode_video, answers):
    res, events, results = answer_with(kiosk_server, barcode_video, answers["silence"])
    assert res.state == "finished"
    assert [r["outcome"] for r in results] == ["retry", "flag"], results
    assert not any(r["speech_present"] for r in results)
    retry_prompt = [e["data"]["text"] for e in events if e["type"] == "prompt_sent"][2]
    assert retry_prompt.startswith("Sorry, I did not catch that")
    finished = next(e for e in events if e["type"] == "finished")
    assert "flag:ready" in finished["data"]["flags"]


def test_mandarin_consent_said_as_the_guide_asks_passes(kiosk_server, barcode_video, answers):
    """The guide asks "请回答：是的，我自愿"; a natural voice saying exactly that passes, over
    real WebRTC, at the first attempt, and the page is shown the characters heard."""
    res, events, results = answer_with(kiosk_server, barcode_video, answers["zh_yes"], "zh-CN",
                                       flow="consent_endpoint")
    assert res.state == "finished", res.as_dict()
    r = results[0]
    assert (r["outcome"], r["intent"], r["engine"]) == ("pass", "affirm", "faster-whisper"), r
    shown = [a["shown"] for a in res.answers]
    assert shown and "自愿" in shown[0], res.answers
    # Endpointing: the answer passed and silence followed, so its 12 s window closed early and
    # the verdict is the answer heard then.
    opened = next(e for e in events if e["type"] == "window_opened")
    w0, w1 = r["window"]
    assert any(e["type"] == "answer_endpointed" for e in events), [e["type"] for e in events]
    assert w1 - w0 < opened["data"]["seconds"] - 0.5, (w0, w1, opened)
    assert "heard before the window closed" in r["note"], r
    # The back office reads the AI pre-review of the sealed session: no face on this barcode
    # camera, so it needs a person's attention, and says why.
    assert res.review is not None and res.review["verdict"] == "attention", res.review
    assert any("face" in r for r in res.review["reasons"]), res.review


def test_a_spoken_mandarin_refusal_stops_the_witness(kiosk_server, barcode_video, answers):
    """Mandarin through the server's default engine: the bundled Whisper base."""
    res, events, results = answer_with(kiosk_server, barcode_video, answers["zh_no"], "zh-CN")
    assert (res.state, res.reason) == ("aborted", "declined"), res.as_dict()
    r = results[-1]
    assert (r["outcome"], r["intent"], r["engine"]) == ("stop", "deny", "faster-whisper"), r
    assert "愿意" in r["transcript"] and len(r["model_sha256"]) == 64
    shown = [e["data"] for e in events if e["type"] == "answer_recognised"]
    assert shown and shown[-1]["decision"] == "disagree"
