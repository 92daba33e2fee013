"""Issue #12: natural ways to say yes pass where a human auditor would accept them, and near
misses ("嗯" alone, "sure, but no", "not sure", "I don't understand") never do.

Spoken by the tuning voices at rates no other test or corpus case uses (0.9-1.08), and in
wordings that are not the lexicon's own strings ("Yes, definitely." is "yes" and "definitely";
"嗯，是的" is a hesitation and "是的")."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.speech.answers import AnswerSpec, judge_text
from kiosk.speech.audio import pcm_from_file
from kiosk.speech.decide import decide
from kiosk.speech.expected import Expected
from kiosk.speech.recognize import min_score
from kiosk.testing import voices as tv

VOICE = {v.id: v for v in tv.VOICES}
EN = Expected("affirm", requested="yes, I do")
ZH = Expected("affirm", requested="是的，我自愿")


def test_the_lexicon_takes_natural_yeses_and_never_their_near_misses():
    en, zh = AnswerSpec("affirm", "yes, I do"), AnswerSpec("affirm", "是的，我自愿")
    for yes in ("Yes, definitely.", "Definitely!", "Sure.", "Yes I do.", "I agree."):
        assert judge_text(yes, "en", en).intent == "affirm", yes
    # "Understood." says understanding, not willingness: not consent where "yes, I do" is
    # asked for (#12 fresh tester); it still is where "yes, I understand" is.
    assert judge_text("Understood.", "en", AnswerSpec("affirm", "yes, I understand")).intent \
        == "affirm"
    for no in ("Definitely not.", "Sure, but no.", "Not sure.", "I don't understand.",
               "Hmm.", "Understood."):
        assert judge_text(no, "en", en).intent != "affirm", no
    # Whisper base writes a leading 嗯 as 那: "那是的" is 嗯，是的.
    for yes in ("那是的", "嗯，是的", "是", "对", "好的", "可以", "那好的"):
        assert judge_text(yes, "zh-CN", zh).intent == "affirm", yes
    for no in ("嗯", "那", "那不是", "嗯，不是", "那我不同意"):
        assert judge_text(no, "zh-CN", zh).intent != "affirm", no


def _said(folder, voice: str, text: str, speed: float) -> np.ndarray:
    pcm = pcm_from_file(tv.say_to_file(VOICE[voice], text, folder, speed))
    return np.concatenate([np.zeros(8000, np.int16), pcm, np.zeros(12000, np.int16)])


@pytest.mark.parametrize("voice, speed", [("en-bella", 0.93), ("en-fenrir", 1.07)])
def test_yes_definitely_is_consent(rec, tmp_path, voice, speed):
    ans = rec.verify(_said(tmp_path, voice, "Yes, definitely.", speed), "en", EN)
    assert decide(ans, EN).outcome == "pass", ans


@pytest.mark.parametrize("voice, speed", [("zh-yunyang", 1.08), ("zh-xiaoni", 0.95)])
def test_a_hesitation_alone_is_never_heard_as_consent(rec, tmp_path, voice, speed):
    # The biased decode wrote these 嗯 as 对 and 行, and with onnxruntime 1.32's voice (a fresh
    # install, 2026-12-01) the yunyang one is even an 'affirm' at score 0.106: what must hold
    # is that it is never taken as consent, by its score if not by its words.
    ans = rec.verify(_said(tmp_path, voice, "嗯", speed), "zh-CN", ZH)
    assert decide(ans, ZH).outcome != "pass", ans
    assert ans.intent != "affirm" or ans.score < min_score(ZH, ans.engine), ans


def test_a_hesitation_before_yes_is_consent(rec, tmp_path):
    # Heard as 那是的: 那 was not set aside, and the answer was asked again.
    ans = rec.verify(_said(tmp_path, "zh-xiaoni", "嗯，是的", 0.95), "zh-CN", ZH)
    assert decide(ans, ZH).outcome == "pass", ans
