"""Issue #12, the nineteenth session: the eighteenth session's fresh tester's recordings, heard
at last. "Not really." passed as the no a deny step asks for ("has anyone promised you
returns?"), as would 不知道, 我再想想, "not sure" and "I refuse": they refuse to consent but do
not say nobody did it. 是的，我自愿，现在没人逼我了 ("nobody forces me any more", so someone did)
passed as consent. The transcripts are the ones Whisper wrote for the tester's voices."""

from __future__ import annotations

import pytest

from kiosk.speech import answers as a

ZH = a.AnswerSpec("affirm", "是的，我自愿")
EN = a.AnswerSpec("affirm", "yes, I do")
ZH_DENY = a.AnswerSpec("deny", "没有")
EN_DENY = a.AnswerSpec("deny", "no")


@pytest.mark.parametrize("text", [
    "没有", "没有。", "不", "不是", "不是的", "没有的", "否", "从来没有", "我没有",
    "没有，没人承诺过", "嗯，没有",
])
def test_a_plain_mandarin_no_is_the_no(text):
    assert a.judge_text(text, "zh-CN", ZH_DENY).intent == "deny"


@pytest.mark.parametrize("text", [
    "No.", "Nope.", "No, never.", "Never.", "No, I haven't.", "No, I don't.",
    "No, nobody promised me anything.", "Um, no.",
])
def test_a_plain_english_no_is_the_no(text):
    assert a.judge_text(text, "en", EN_DENY).intent == "deny"


@pytest.mark.parametrize("text", ["不知道", "不清楚", "我不清楚", "我再想想", "我拒绝", "算了",
                                  "不想", "我还没想好"])
def test_doubt_or_a_refusal_is_not_the_mandarin_no(text):
    judged = a.judge_text(text, "zh-CN", ZH_DENY)
    assert judged.intent == "unclear" and judged.reason == a.NOT_THE_NO, judged


@pytest.mark.parametrize("text", ["Not really.", "Not sure.", "I'm not sure.", "Let me think.",
                                  "I refuse.", "Not yet.", "I need to think.", "I decline."])
def test_doubt_or_a_refusal_is_not_the_english_no(text):
    judged = a.judge_text(text, "en", EN_DENY)
    assert judged.intent == "unclear" and judged.reason == a.NOT_THE_NO, judged


@pytest.mark.parametrize("text, locale, spec", [
    ("不知道", "zh-CN", ZH), ("我再想想", "zh-CN", ZH), ("Not really.", "en", EN),
    ("I'm not sure.", "en", EN),
])
def test_they_are_still_refusals_to_consent(text, locale, spec):
    assert a.judge_text(text, locale, spec).intent == "deny"


def test_a_flow_may_still_accept_its_own_words_as_the_no():
    spec = a.AnswerSpec("deny", "没有", accept=("不知道",))
    assert a.judge_text("不知道", "zh-CN", spec).intent == "deny"


@pytest.mark.parametrize("text", [
    "是的，我自愿，现在没人逼我了", "是的 我自愿 现在没人逼我了", "是的，我自愿，已经没人逼我",
    "是的，我自愿，没人逼我了", "是的，我自愿，目前没有人强迫我",
])
def test_nobody_forces_me_any_more_is_not_consent(text):
    assert a.judge_text(text, "zh-CN", ZH).intent == "unclear"


@pytest.mark.parametrize("text", ["是的，我自愿，没人逼我", "是的，我自愿，没有被逼过",
                                  "是的，我自愿，从来没有人逼过我"])
def test_nobody_forced_me_still_passes(text):
    assert a.judge_text(text, "zh-CN", ZH).intent == "affirm"
