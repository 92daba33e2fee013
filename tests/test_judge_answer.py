"""judge_answer: what the investor's page is sent after an answer, per the flow's setting."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from kiosk.session import PlannedStep
from kiosk.speech.audio import pcm_from_file
from kiosk.speech.corpus import synthesize
from kiosk.testing import voices as tv
from kiosk.witness.judge import judge_answer

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def voice_hearing(pcm: np.ndarray):
    """A VoiceObserver whose answer window holds ``pcm``."""
    return SimpleNamespace(window=lambda a, b: pcm, stop_listening=lambda: None,
                           heard_early=lambda t0, spans: None)


@pytest.fixture(scope="module")
def yes_pcm():
    speech = synthesize("yes I understand", "gmw/en-US", 150)
    return np.concatenate([np.zeros(8000, np.int16), speech, np.zeros(12800, np.int16)])


@pytest.mark.parametrize("show", [True, False])
def test_recognised_words_reach_the_page_only_when_the_flow_allows(show, yes_pcm):
    from kiosk.speech.recognize import default_recognizer

    step = PlannedStep(id="consent", kind="question", text="Do you agree?", title="Consent",
                       answer_seconds=5, retries=1, expect="affirm")
    judged = judge_answer(voice_hearing(yes_pcm), default_recognizer(), "en", show, step,
                          (10.0, 13.0))
    assert judged.outcome == "pass" and "understand" in judged.detail["transcript"]
    data = judged.shown  # the page's `recognised` message (the runner sends it)
    assert data["outcome"] == "pass" and data["intent"] == "affirm"
    assert ("understand" in data["text"]) is show and (data["text"] == "") is not show
    # The evidence keeps the transcript whatever the page is shown.
    assert judged.answer["decision"] == "agree" and "understand" in judged.answer["text"]


@pytest.fixture(scope="module")
def mumble_pcm():
    """Pinyin-ish espeak Mandarin: Whisper makes nonsense of it, so nothing is shown."""
    speech = synthesize("si4 ge4 wu3 er4 san1", "sit/cmn-Latn-pinyin", 150)
    return np.concatenate([np.zeros(8000, np.int16), speech, np.zeros(12800, np.int16)])


def test_the_page_is_never_shown_words_that_were_not_made_out(mumble_pcm):
    from kiosk.speech.recognize import default_recognizer

    step = PlannedStep(id="consent", kind="question", text="您是否自愿？", title="Consent",
                       answer_seconds=5, retries=1, expect="affirm", answer="是的，我自愿")
    judged = judge_answer(voice_hearing(mumble_pcm), default_recognizer(), "zh-CN", True, step,
                          (10.0, 13.0))
    assert judged.outcome == "retry"
    data = judged.shown
    assert data["text"] == "" and data["outcome"] == "retry", data


def test_mandarin_words_are_shown_in_characters(tmp_path):
    from kiosk.speech.recognize import default_recognizer

    voice = {v.id: v for v in tv.VOICES}["zh-xiaobei"]
    pcm = pcm_from_file(tv.say_to_file(voice, "是的，我自愿", tmp_path))
    step = PlannedStep(id="consent", kind="question", text="您是否自愿？", title="Consent",
                       answer_seconds=5, retries=1, expect="affirm", answer="是的，我自愿")
    judged = judge_answer(voice_hearing(pcm), default_recognizer(), "zh-CN", True, step,
                          (10.0, 13.0))
    data = judged.shown
    assert judged.outcome == "pass" and "自愿" in data["text"], data
    assert not any(ch.isascii() and ch.isalpha() for ch in data["text"]), data
