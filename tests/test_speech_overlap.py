"""Issue #12: a refusal overlapped by a coach's "yes" must never pass as consent, and a retry
after a refusal says the answer was heard as a no (never "I did not catch that").

The engine test runs the real Whisper worker on a tuning voice; only the second decode is
replaced where the test needs to say what it heard (the defence's wiring, not the acoustics:
the #12 tester's mixed files are the tuning material, see docs/speech.md)."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.speech.answers import AnswerSpec, unconfirmed_consent
from kiosk.speech.audio import pcm_from_file
from kiosk.speech.expected import Expected
from kiosk.testing import voices as tv

ZH = AnswerSpec("affirm", "是的，我自愿")
EN = AnswerSpec("affirm", "Yes, I do")


@pytest.mark.parametrize("unbiased", [
    ["是的我自愿", "不，是的我自愿", "是得我自愿"],  # a "no" in any hypothesis
    ["我拒绝", "是的我自愿"],  # a refusal
])
def test_a_no_in_the_unbiased_beam_vetoes_a_biased_consent(unbiased):
    assert "never consent" in unconfirmed_consent("是的我自愿", unbiased, "zh-CN", ZH)


def test_a_mo_heard_for_the_wo_of_the_requested_answer_is_no_negation():
    # zh-xiaoni's 是的，我自愿 on another CPU: biased beam 是的 莫自愿 (2026-12-03).
    assert unconfirmed_consent("是的我自愿", ["是的 莫自愿", "是的我自愿"], "zh-CN", ZH) is None
    # ...but 莫 stays a negation anywhere else: 莫得 ("haven't"), a 莫 that is not the 我 of
    # the step's own answer, or a 莫 beside a real negation.
    for doubt in ("我莫得自愿", "是的莫要自愿", "莫自愿", "是的莫不自愿", "莫是的我自愿"):
        assert unconfirmed_consent("是的我自愿", [doubt], "zh-CN", ZH) is not None, doubt


def test_a_consent_the_unbiased_beam_never_hears_rests_on_the_bias_alone():
    # o_reqA_jujue_400 of the #12 tester: 我拒绝 over 是的我自愿 at the same level, biased
    # greedy 是的我自愿, unbiased beam 试的我试员 / 试的我试试 / ...: no hypothesis is a yes.
    why = unconfirmed_consent("是的我自愿", ["试的我试员", "试的我试试", "試得我雖然"], "zh-CN", ZH,
                              require_wanted=True)
    assert why is not None and "bias alone" in why
    # The engine does not require it (it cost genuine consents, see unconfirmed_consent).
    assert unconfirmed_consent("是的我自愿", ["试的我试员", "试的我试试"], "zh-CN", ZH) is None
    # ...but an unbiased decode is not asked to be the bias's twin: any hypothesis that is the
    # wanted answer confirms it (对的 heard unbiased as 推的 first and 对的 second).
    assert unconfirmed_consent("对的", ["推的", "对的", "推他"], "zh-CN", ZH,
                               require_wanted=True) is None
    assert unconfirmed_consent("是的我自愿", ["試得我自願。", "是的,我自愿"], "zh-CN", ZH,
                               require_wanted=True) is None


def test_an_unbiased_first_decode_needs_only_the_beam_without_a_doubt():
    # English is decoded without bias: its beam may only add a "no" ("Yes, I do. No.").
    assert unconfirmed_consent("Yes, I do.", ["Yes, I do.", "Yes I do"], "en", EN,
                               ) is None
    assert unconfirmed_consent("Yes, I do.", ["Yes, I do.", "Yes, I do. No."], "en", EN,
                               ) is not None
    # A question mark in a hypothesis is the beam's punctuation, not a no.
    assert unconfirmed_consent("Yes.", ["Yes.", "Yes?"], "en", EN) is None


def test_a_consent_is_decoded_again_without_bias_and_a_no_there_vetoes_it(rec, tmp_path,
                                                                          monkeypatch):
    voice = next(v for v in tv.VOICES if v.id == "zh-xiaoni")
    pcm = pcm_from_file(tv.say_to_file(voice, "是的，我自愿", tmp_path, 0.97))
    pcm = np.concatenate([np.zeros(8000, np.int16), pcm, np.zeros(12000, np.int16)])
    exp = Expected("affirm", requested="是的，我自愿")
    engine = rec.engine_for("zh")
    worker = engine._load()
    real = worker.beams
    seen = []

    def beams(pcm16k, language, biases, n=5, upto=None):
        seen.extend(biases)
        return real(pcm16k, language, biases, n)

    monkeypatch.setattr(worker, "beams", beams)
    ans = rec.verify(pcm, "zh-CN", exp)
    assert ans.intent == "affirm" and not ans.negation, ans
    # The consent was decoded again without the bias (and with it, as a beam).
    assert None in seen and engine.hotwords(exp) in seen

    # The same audio, where the unbiased decode hears a refusal under the consent.
    def heard_no(pcm16k, language, biases, n=5):
        out = real(pcm16k, language, biases, n)
        return [[("不，我不愿意", -0.3)] + hyps[1:] if bias is None else hyps
                for bias, hyps in zip(biases, out, strict=True)]

    monkeypatch.setattr(worker, "beams", heard_no)
    ans = rec.verify(pcm, "zh-CN", exp)
    assert ans.intent == "unclear" and ans.negation and "never consent" in ans.note, ans
