"""judge_answer: what the investor's page is sent after an answer, per the flow's setting."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from kiosk.session import PlannedStep
from kiosk.speech.corpus import synthesize
from kiosk.web.observers import judge_answer

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


class Controller:
    """The parts of WitnessController that judge_answer uses, with a real recogniser."""

    def __init__(self, show: bool, pcm: np.ndarray, recognizer):
        self.flow = SimpleNamespace(show_recognised_words=show)
        self.locale = "en"
        self.voice = SimpleNamespace(window=lambda a, b: pcm)
        self.services = SimpleNamespace(recognizer=lambda: recognizer)
        self.emitted, self.recorded = [], []

    def emit(self, kind, data):
        self.emitted.append((kind, data))

    def record(self, kind, data):
        self.recorded.append((kind, data))


@pytest.fixture(scope="module")
def yes_pcm():
    speech = synthesize("yes I understand", "gmw/en-US", 150)
    return np.concatenate([np.zeros(8000, np.int16), speech, np.zeros(12800, np.int16)])


@pytest.mark.parametrize("show", [True, False])
def test_recognised_words_reach_the_page_only_when_the_flow_allows(show, yes_pcm):
    from kiosk.speech.recognize import default_recognizer

    step = PlannedStep(id="consent", kind="question", text="Do you agree?", title="Consent",
                       answer_seconds=5, retries=1, expect="affirm")
    c = Controller(show, yes_pcm, default_recognizer())
    outcome, detail = judge_answer(c, step, (10.0, 13.0), attempt=0)
    assert outcome == "pass" and "understand" in detail["transcript"]
    (kind, data), = c.emitted
    assert kind == "recognised" and data["outcome"] == "pass" and data["intent"] == "affirm"
    assert ("understand" in data["text"]) is show and (data["text"] == "") is not show
    # The evidence keeps the transcript whatever the page is shown.
    (rkind, rdata), = c.recorded
    assert rkind == "answer_recognised" and "understand" in rdata["text"]
