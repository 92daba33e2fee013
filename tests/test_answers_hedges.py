"""#12 fresh tester (compliance view): a yes with a hedge or a worry, and an answer saying
someone else read the text for the investor, is never consent and is doubt: coded
"hesitation" (or "coerced" for another's reading), asked again WITHOUT the words to say, and a
later yes is flagged for a human by the pre-review. The genuine consent paraphrases still pass.

Transcripts are judged by the real rules (``answers.judge_text``) and the real judge
(``judge.judge_answer`` over ``tests.test_retry_t12b.TextRecognizer``).
"""

from __future__ import annotations

import random

import pytest

from kiosk.flows.loader import load_flow
from kiosk.flows.model import asked_phrase
from kiosk.protocol import DOUBT_CODES, StepOutcome
from kiosk.review.prereview import build_prereview
from kiosk.speech.answers import AnswerSpec, done_by_another, hedges, judge_text
from kiosk.witness.judge import asks, hesitates, judge_answer
from kiosk.witness.plan import plan_witness, retry_prompt
from tests.test_prereview_t12b import ANSWER, READ, flags, sealed
from tests.test_retry_t12b import FLOWS, VARIABLES, TextRecognizer, Voice, _holds

WILLING = {"zh-CN": AnswerSpec("affirm", "是的，我自愿"), "en": AnswerSpec("affirm", "yes, I do")}
UNDERSTAND = {"zh-CN": AnswerSpec("affirm", "是的，我已了解"),
              "en": AnswerSpec("affirm", "yes, I understand")}

# The tester's phrases (1-4), then our own variants of each kind.
HEDGED = [
    ("zh-CN", "是的，但是我还有点担心。"), ("zh-CN", "是的，但是我有点害怕"),
    ("zh-CN", "自愿，就是有点担心亏钱"), ("zh-CN", "我想是的"), ("zh-CN", "应该是自愿的"),
    ("zh-CN", "大概是吧"), ("zh-CN", "可能吧"), ("zh-CN", "是的，我觉得是自愿的。"),
    ("zh-CN", "好吧，我自愿"), ("zh-CN", "我再考虑一下吧"),
    ("en", "Yes, but I'm still worried."), ("en", "Yes, but I'm scared."), ("en", "I guess so."),
    ("en", "I think so."), ("en", "Probably, yes."), ("en", "Sure, whatever."),
    ("en", "Yes, I do, I think."),
    # variants
    ("zh-CN", "我想应该是自愿的"), ("zh-CN", "也许是吧"), ("zh-CN", "估计是自愿的"),
    ("zh-CN", "好像是自愿的"), ("zh-CN", "算是自愿的吧"), ("zh-CN", "是的，就是有点紧张"),
    ("zh-CN", "自愿的，可是我怕亏钱"), ("zh-CN", "随便吧"), ("zh-CN", "行吧，我同意"),
    ("zh-CN", "嗯，我觉得我愿意"), ("zh-CN", "我自愿吧"), ("zh-CN", "无所谓，我同意"),
    ("en", "I suppose so."), ("en", "Yes, I guess."), ("en", "I think I agree."),
    ("en", "Maybe, yes."), ("en", "Kind of, yes."), ("en", "Yes, sort of."),
    ("en", "I'd say yes."), ("en", "Yes, I do, but I'm nervous."), ("en", "I believe so."),
    ("en", "Yes, I'm a bit worried though."), ("en", "Perhaps, I agree."),
    ("en", "Yeah, I don't mind."),
]
STILL_CONSENT = [
    ("zh-CN", "当然是自愿的"), ("zh-CN", "没错，我自愿的"), ("zh-CN", "是的，我自愿"),
    ("zh-CN", "是的，是我自己愿意的"), ("zh-CN", "嗯，是的，我自愿"), ("zh-CN", "只是的我自愿"),
    ("zh-CN", "我愿意"), ("zh-CN", "我同意"),
    ("en", "yes I do"), ("en", "yes, I'm doing this of my own free will"), ("en", "Yes, I do."),
    ("en", "Yes, it's my own decision."), ("en", "I agree."), ("en", "Absolutely, yes."),
]


@pytest.mark.parametrize("locale,said", HEDGED)
def test_a_hedge_or_a_reservation_is_never_consent(locale, said):
    for spec in (WILLING[locale], UNDERSTAND[locale], AnswerSpec("affirm")):
        assert judge_text(said, locale, spec).intent == "unclear", (said, spec)
    assert hesitates(said, locale) and not asks(said, locale)


@pytest.mark.parametrize("locale,said", STILL_CONSENT)
def test_genuine_consent_paraphrases_still_pass(locale, said):
    assert judge_text(said, locale, WILLING[locale]).intent == "affirm", said
    assert not hedges(said, locale) and not done_by_another(said, locale)


@pytest.mark.parametrize("locale,said", [
    # 想 as "want", not "think"; a considered yes in the past tense; 吧 of 去公园散步吧 is judged
    # elsewhere (not an answer at all).
    ("zh-CN", "我想开户"), ("zh-CN", "我想要开立账户"), ("zh-CN", "我在家里读过了"),
    ("en", "I have thought about it and I agree"), ("en", "I have read it myself"),
])
def test_wanting_and_a_considered_yes_are_not_hedges(locale, said):
    assert not hedges(said, locale) and not done_by_another(said, locale)


def test_a_word_of_the_steps_own_answer_is_not_a_hedge():
    spec = AnswerSpec("affirm", "是的，我已了解投资可能亏损")
    assert judge_text("是的，我已了解投资可能亏损", "zh-CN", spec).intent == "affirm"
    assert judge_text("可能吧", "zh-CN", spec).intent == "unclear"
    en = AnswerSpec("affirm", "yes, I understand I may probably lose money")
    assert judge_text("yes, I understand I may probably lose money", "en", en).intent == "affirm"
    assert judge_text("probably", "en", en).intent == "unclear"


@pytest.mark.parametrize("locale,said", [
    ("en", "My son read it for me."), ("en", "Yes, my daughter read it to me."),
    ("en", "Someone read it for me."), ("en", "The clerk went through it for me."),
    ("zh-CN", "我儿子帮我读的"), ("zh-CN", "是我女儿给我念的"), ("zh-CN", "别人替我看的"),
    ("zh-CN", "工作人员帮我填的"),
])
def test_someone_else_reading_for_the_investor_is_never_consent(locale, said):
    assert done_by_another(said, locale)
    for spec in (WILLING[locale], UNDERSTAND[locale]):
        assert judge_text(said, locale, spec).intent == "unclear", said


def test_a_question_with_ba_and_a_question_mark_is_still_a_question():
    assert asks("是吧？", "zh-CN") and asks("我需要回答什么吧", "zh-CN")
    assert not asks("好吧，我自愿", "zh-CN") and hesitates("好吧，我自愿", "zh-CN")


# --- the judge: coded as doubt, never given the words ------------------------------------------

def _step(step_id: str, locale: str):
    flow = load_flow(next(p for p in FLOWS if p.stem == "securities_account_opening"))
    plan = plan_witness(flow, locale, VARIABLES[locale], random.Random(1))
    return next(s for s in plan if s.id == step_id)


def _assert_unled(step_id: str, said: str, locale: str, code: str, hint: str) -> None:
    step = _step(step_id, locale)
    j = judge_answer(Voice(), TextRecognizer(said), locale, True, step, (10.0, 15.0), 0)
    assert j.outcome in (StepOutcome.RETRY, StepOutcome.STOP), j.detail
    assert j.detail["reason_code"] == code and code in DOUBT_CODES, j.detail
    assert j.answer is not None and j.answer["reason_code"] == code
    assert j.detail.get("retry_hint") == hint, j.detail
    assert j.shown is not None and j.shown["ask"] == "", j.shown
    text, spoken = retry_prompt(step.text, step.spoken, locale, False, hint, step.answer or "")
    for s in (text, spoken or ""):
        assert not _holds(s, step.answer or "", locale) and asked_phrase(s) is None, s


@pytest.mark.parametrize("locale,said", HEDGED)
def test_a_hedge_is_coded_hesitation_and_asked_again_without_the_words(locale, said):
    _assert_unled("consent", said, locale, "hesitation", "hesitation")


@pytest.mark.parametrize("locale,said", [
    ("en", "My son read it for me."), ("zh-CN", "我儿子帮我读的"), ("zh-CN", "是我女儿给我念的"),
])
def test_another_reading_on_the_risk_step_asks_for_the_investors_own_answer(locale, said):
    _assert_unled("risk", said, locale, "coerced", "own_will")


@pytest.mark.parametrize("locale,said", [("zh-CN", "是吧？"), ("en", "I think so?")])
def test_a_hedge_asked_as_a_question_is_coded_question(locale, said):
    _assert_unled("consent", said, locale, "question", "question")


# --- the pre-review: a hedge, then consent, is never clear ------------------------------------

@pytest.mark.parametrize("locale,first", [
    ("zh-CN", "是的，但是我还有点担心。"), ("zh-CN", "是的，我觉得是自愿的。"),
    ("zh-CN", "好吧，我自愿"),
    ("en", "I guess so."), ("en", "Yes, but I'm scared."),
])
def test_a_hedge_then_consent_is_flagged_for_a_human(tmp_path, locale, first):
    pre = build_prereview(sealed(tmp_path, locale, {
        "identity": [READ[locale]], "consent": [first, ANSWER[locale]]}))
    assert pre["verdict"] == "needs_attention", pre["verdict_reasons"]
    (flag,) = flags(pre)
    assert flag["code"] == "doubt_hesitation" and flag["step"] == "consent", flag
    assert "a hesitation" in flag["text"] and "a human must judge" in flag["text"]
