"""Spoken answers in live sessions: espeak-ng answers over real WebRTC into the recogniser."""

import asyncio

import numpy as np
import pytest

from kiosk.media.simulate import run_investor
from kiosk.testing.streams import speech_wav, write_wav
from kiosk.timeline import read_timeline
from tests.kiosk_server import API_KEY


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    d = tmp_path_factory.mktemp("answers")
    return {
        # What the guide asks for ("please answer: yes, I understand"); a bare "yes" is too
        # short for a confident match and is asked again, by design.
        "yes": speech_wav(d / "yes.wav", "yes, I understand", lead_silence=0.3, trail_silence=0.3),
        "no": speech_wav(d / "no.wav", "I disagree", lead_silence=0.3, trail_silence=0.3),
        "silence": write_wav(d / "silence.wav", np.zeros(48000)),
        "zh_no": speech_wav(d / "zh_no.wav", "wo3 bu4 tong2 yi4", voice="sit/cmn-Latn-pinyin+f3",
                            lead_silence=0.3, trail_silence=0.3),
    }


def answer_with(server, video, audio, locale="en"):
    created = server.create(flow="quick", locale=locale, name="Alex Chen")
    res = asyncio.run(run_investor(created["investor_url"], video, audio, api_key=API_KEY,
                                   prompt_time="instant", timeout=90))
    server.wait_ended(created["session_id"])
    events = read_timeline(server.session_dir(created["session_id"]) / "timeline.jsonl")
    results = [e["data"] for e in events if e["type"] == "step_result"]
    return res, events, results


def test_a_spoken_yes_passes_the_question(kiosk_server, barcode_video, answers):
    res, events, results = answer_with(kiosk_server, barcode_video, answers["yes"])
    assert res.state == "finished"
    # A recogniser unsure of a real yes asks once more (by design); it must pass by then.
    assert len(results) <= 2 and [x["outcome"] for x in results[:-1]] in ([], ["retry"]), results
    r = results[-1]
    assert (r["outcome"], r["intent"]) == ("pass", "affirm"), r
    # The grammar decides, or Whisper when the grammar could not make it out (each its threshold).
    assert r["speech_present"] and r["speech_spans"]
    assert r["engine"] in ("pocketsphinx-en", "faster-whisper"), r
    assert r["score"] >= (0.5 if r["engine"] == "pocketsphinx-en" else 0.3)
    assert len(r["model_sha256"]) == 64 and "understand" in r["transcript"].lower()
    w0, w1 = r["window"]
    assert all(w0 <= a < b <= w1 + 0.05 for a, b in r["speech_spans"])
    recognised = [e["data"] for e in events if e["type"] == "answer_recognised"]
    assert recognised and recognised[-1]["decision"] == "agree"


def test_a_spoken_no_stops_the_witness(kiosk_server, barcode_video, answers):
    res, events, results = answer_with(kiosk_server, barcode_video, answers["no"])
    assert (res.state, res.reason) == ("aborted", "declined"), res.as_dict()
    assert results[-1]["outcome"] == "stop" and results[-1]["intent"] == "deny"
    assert [x["outcome"] for x in results[:-1]] in ([], ["retry"]), results


def test_silence_retries_once_then_flags_for_a_human(kiosk_server, barcode_video, answers):
    res, events, results = answer_with(kiosk_server, barcode_video, answers["silence"])
    assert res.state == "finished"
    assert [r["outcome"] for r in results] == ["retry", "flag"], results
    assert not any(r["speech_present"] for r in results)
    retry_prompt = [e["data"]["text"] for e in events if e["type"] == "prompt_sent"][2]
    assert retry_prompt.startswith("Sorry, I did not catch that")
    finished = next(e for e in events if e["type"] == "finished")
    assert "flag:ready" in finished["data"]["flags"]


def test_a_spoken_mandarin_refusal_stops_the_witness(kiosk_server, barcode_video, answers):
    """Mandarin through the server's default engine: the bundled Whisper base."""
    res, events, results = answer_with(kiosk_server, barcode_video, answers["zh_no"], "zh-CN")
    assert (res.state, res.reason) == ("aborted", "declined"), res.as_dict()
    r = results[-1]
    assert (r["outcome"], r["intent"], r["engine"]) == ("stop", "deny", "faster-whisper"), r
    assert "不同意" in r["transcript"] and len(r["model_sha256"]) == 64
    shown = [e["data"] for e in events if e["type"] == "answer_recognised"]
    assert shown and shown[-1]["decision"] == "disagree"
