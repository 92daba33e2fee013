"""A considered decision is not hesitation; a 吧 that ends a clause is a hedge; the page never
echoes garbled or coerced words; the pre-review names the step of a doubt.

1. 我考虑好了 / 我想好了 / 考虑清楚了 / 我已经想清楚了, "I've made up my mind" / "I have thought it
   through" / "I've decided" are set aside before the hedge and hesitation checks
   (``answers.set_aside_decided``): never coded "hesitation", and a yes said with them is the
   yes. 我再想想 / 我还要考虑一下 / "let me think about it" / "I need to think" stay as they were;
   a negation anywhere is still never consent.
2. 是的吧 / 我自愿吧 / 可以吧 / 好吧 are hedges (doubt, never consent); a 吧 of the broker's own
   wording is not.
3. ``observer.words_sure``: the page is shown words only when they are real words (not Latin
   junk in Mandarin, not a loop, not heard with very low confidence, not another's will).
4. The pre-review's doubt finding says "<code> at step <id>".

Transcripts are judged by the real rules and the real judge (``judge.judge_answer`` over
``tests.test_retry_t12b.TextRecognizer``); the pre-review reads a session sealed from them.
"""

from __future__ import annotations

import random

import pytest

from kiosk.flows.loader import load_flow
from kiosk.protocol import StepOutcome
from kiosk.review.prereview import build_prereview
from kiosk.speech import textnorm
from kiosk.speech.answers import AnswerSpec, hedges, judge_text, set_aside_decided
from kiosk.speech.expected import Expected
from kiosk.speech.observer import shown_words, words_sure
from kiosk.speech.recognize import Answer, SpeechSpan
from kiosk.witness.judge import hesitates, judge_answer
from kiosk.witness.plan import plan_witness
from tests.test_prereview_t12b import ANSWER, READ, flags, sealed
from tests.test_retry_t12b import FLOWS, VARIABLES, TextRecognizer, Voice

WILLING = {"zh-CN": AnswerSpec("affirm", "是的，我自愿"), "en": AnswerSpec("affirm", "yes, I do")}


def _step(step_id: str, locale: str):
    flow = load_flow(next(p for p in FLOWS if p.stem == "securities_account_opening"))
    plan = plan_witness(flow, locale, VARIABLES[locale], random.Random(1))
    return next(s for s in plan if s.id == step_id)


def _judged(said: str, locale: str, step_id: str = "consent"):
    step = _step(step_id, locale)
    return judge_answer(Voice(), TextRecognizer(said), locale, True, step, (10.0, 15.0), 0)


# --- 1. a considered decision is not hesitation ------------------------------------------------

DECIDED_ALONE = [
    ("zh-CN", "我考虑好了"), ("zh-CN", "我想好了"), ("zh-CN", "考虑清楚了"),
    ("zh-CN", "我已经想清楚了"),
    ("en", "I've made up my mind."), ("en", "I have thought it through."),
    ("en", "I've decided."),
]
DECIDED_YES = [
    ("zh-CN", "是的，我考虑好了，我自愿"), ("zh-CN", "是的，我想好了"),
    ("zh-CN", "我已经想清楚了，我自愿"), ("zh-CN", "考虑清楚了，是的，我自愿"),
    ("en", "Yes, I've made up my mind, I do."), ("en", "Yes, I have thought it through. I do."),
    ("en", "I've decided, yes, I do."),
]
STILL_THINKING = [
    ("zh-CN", "我再想想"), ("zh-CN", "我还要考虑一下"), ("zh-CN", "我还没想好"),
    ("zh-CN", "让我考虑清楚"), ("zh-CN", "我还要考虑清楚"), ("zh-CN", "等我想好再说"),
    ("zh-CN", "我会好好考虑清楚的"),
    ("en", "Let me think about it."),
]


@pytest.mark.parametrize("locale,said", DECIDED_ALONE + DECIDED_YES)
def test_a_decided_phrase_is_neither_a_hedge_nor_a_hesitation(locale, said):
    assert not hedges(said, locale) and not hesitates(said, locale), said
    j = _judged(said, locale)
    assert j.detail["reason_code"] not in ("hesitation", "question", "coerced"), j.detail
    assert j.detail.get("retry_hint") != "hesitation", j.detail


def test_set_aside_decided_takes_out_only_the_decision():
    def zh(text: str) -> str:
        return "".join(textnorm.zh_tokens(text))

    assert zh(set_aside_decided("是的，我考虑好了，我自愿", "zh-CN")) == "是的我自愿"
    assert zh(set_aside_decided("我已经想清楚了", "zh-CN")) == ""
    for still in ("我还没想好", "我再想想", "我还要考虑清楚", "让我考虑清楚", "我想好再说",
                  "我会好好考虑清楚的", "是的我还没想好"):
        assert zh(set_aside_decided(still, "zh-CN")) == still, still
    assert set_aside_decided("Yes, I've made up my mind, I do", "en") == "yes , i do"
    assert set_aside_decided("I have not decided", "en") == "i have not decided"


@pytest.mark.parametrize("locale,said", DECIDED_YES)
def test_a_yes_said_with_a_decision_is_the_yes(locale, said):
    assert judge_text(said, locale, WILLING[locale]).intent == "affirm", said
    assert _judged(said, locale).outcome == StepOutcome.PASS


@pytest.mark.parametrize("locale,said", [("zh-CN", "我考虑好了"), ("zh-CN", "我想好了"),
                                         ("zh-CN", "考虑清楚了"), ("en", "I've made up my mind.")])
def test_a_decision_alone_is_asked_again_with_the_words_to_say(locale, said):
    # It says no yes: heard clearly, not the answer asked for; the words are given (not doubt),
    # and 考虑清楚 is not taken for understanding without willingness.
    j = _judged(said, locale)
    assert j.outcome == StepOutcome.RETRY and j.detail["reason_code"] == "heard", j.detail
    assert j.shown is not None and j.shown["ask"] == ANSWER[locale], j.shown


@pytest.mark.parametrize("locale,said", STILL_THINKING)
def test_still_thinking_stays_doubt(locale, said):
    assert hesitates(said, locale), said
    assert judge_text(said, locale, WILLING[locale]).intent != "affirm"
    j = _judged(said, locale)
    assert j.outcome != StepOutcome.PASS
    assert j.detail["reason_code"] in ("hesitation", "refusal"), j.detail


@pytest.mark.parametrize("locale,said,intent", [
    ("zh-CN", "我再想想", "deny"), ("zh-CN", "我还没想好", "deny"),
    ("en", "I need to think", "deny"),
])
def test_still_thinking_is_a_refusal_as_before(locale, said, intent):
    assert judge_text(said, locale, WILLING[locale]).intent == intent


@pytest.mark.parametrize("locale,said", [
    ("zh-CN", "是的，我考虑好了，我不自愿"), ("zh-CN", "我想好了，不开了"),
    ("en", "I've made up my mind, I don't."), ("en", "I have decided not to."),
])
def test_a_negation_beside_a_decision_is_never_consent(locale, said):
    assert judge_text(said, locale, WILLING[locale]).intent != "affirm", said
    assert _judged(said, locale).outcome != StepOutcome.PASS


# --- 2. a 吧 that ends a clause is a hedge ------------------------------------------------------

@pytest.mark.parametrize("said", ["是的吧", "我自愿吧", "可以吧", "好吧", "是吧，我自愿",
                                  "是的吧我自愿"])
def test_ba_is_a_hedge_never_consent_and_doubt(said):
    assert hedges(said, "zh-CN")
    got = judge_text(said, "zh-CN", WILLING["zh-CN"])
    assert got.intent == "unclear" and "hedge" in got.reason, got
    j = _judged(said, "zh-CN")
    assert j.outcome == StepOutcome.RETRY and j.detail["reason_code"] == "hesitation", j.detail
    assert j.detail["retry_hint"] == "hesitation" and j.shown is not None and j.shown["ask"] == ""


def test_ba_with_a_question_mark_is_still_a_question():
    assert _judged("是的吧？", "zh-CN").detail["reason_code"] == "question"


def test_ba_of_the_brokers_own_wording_is_not_a_hedge():
    spec = AnswerSpec("affirm", "好的，开始吧")
    assert not hedges("好的，开始吧", "zh-CN", ("好的，开始吧",))
    assert judge_text("好的，开始吧", "zh-CN", spec).intent == "affirm"
    # ...but another 吧 said with it is still the investor's hedge.
    assert hedges("好的，开始吧，可以吧", "zh-CN", ("好的，开始吧",))
    assert judge_text("可以吧", "zh-CN", spec).intent == "unclear"
    phrases = AnswerSpec("phrases", accept=("走吧",))
    assert judge_text("走吧", "zh-CN", phrases).intent == "phrase"


def test_the_noun_bar_is_not_a_hedge():
    assert not hedges("我在酒吧工作", "zh-CN")


# --- 3. the page never shows garbled or coerced words -----------------------------------------

def _answer(text: str, intent: str = "unclear", score: float = 0.9, note: str = "") -> Answer:
    return Answer(True, text, intent, score, "faster-whisper", "", [SpeechSpan(0.5, 2.0)], 10.0,
                  note=note)


@pytest.mark.parametrize("locale,text,sure", [
    ("zh-CN", "是的，我自愿", True), ("zh-CN", "对对对，我自愿", True),
    ("zh-CN", "我想问一下手续费", True),
    ("zh-CN", "本人张三，身份证尾号8888", True),
    ("zh-CN", "Thank you for watching", False), ("zh-CN", "人人善善,善善善为豹", False),
    ("zh-CN", "是的是的是的", False), ("zh-CN", "工作人员让我说是的", False),
    ("zh-CN", "我儿子帮我读的", False), ("zh-CN", "", False),
    ("en", "yes, I do", True), ("en", "I want to ask about the fees", True),
    ("en", "yes yes yes yes", False), ("en", "la la la la la", False),
    ("en", "Someone told me to say yes.", False), ("en", "My son read it for me.", False),
])
def test_words_sure_keeps_real_words_and_hides_junk_and_coercion(locale, text, sure):
    assert words_sure(text, locale, 0.9) is sure, text


def test_words_heard_with_very_low_confidence_are_not_sure():
    assert words_sure("是的，我自愿", "zh-CN", 0.9) and not words_sure("是的，我自愿", "zh-CN", 0.1)
    assert not words_sure("yes, I do", "en", 0.05)


def test_the_brokers_own_wording_of_another_will_may_be_shown():
    text = "本人张三，无人强迫，自愿开户"
    assert not words_sure(text, "zh-CN") and words_sure(text, "zh-CN", None, (text,))


@pytest.mark.parametrize("locale,said", [
    ("zh-CN", "工作人员让我说是的"), ("zh-CN", "我儿子帮我读的"),
    ("en", "Someone told me to say yes."), ("en", "My son read it for me."),
])
def test_coerced_words_are_never_echoed_on_the_page(locale, said):
    j = _judged(said, locale)
    assert j.detail["reason_code"] == "coerced" and j.outcome == StepOutcome.RETRY, j.detail
    # The page gets no words: it says "we could not hear that clearly" (guide.js onRecognised).
    assert j.shown is not None and j.shown["text"] == "" and j.shown["ask"] == "", j.shown


@pytest.mark.parametrize("locale,said", [("zh-CN", "是的吧"), ("en", "I guess so."),
                                         ("zh-CN", "我考虑好了")])
def test_clear_words_of_doubt_or_decision_are_still_shown(locale, said):
    j = _judged(said, locale)
    assert j.shown is not None and j.shown["text"] == said, j.shown


def test_shown_words_hides_junk_a_recogniser_took_as_an_answer():
    expected = Expected("affirm", requested="是的，我自愿")
    assert shown_words(_answer("是的，我自愿", "affirm"), expected, "zh-CN") == "是的，我自愿"
    assert shown_words(_answer("不不不不", "deny"), expected, "zh-CN") == ""
    assert shown_words(_answer("不愿意", "deny", score=0.1), expected, "zh-CN") == ""
    assert shown_words(_answer("不愿意", "deny", score=0.9), expected, "zh-CN") == "不愿意"


# --- 4. the pre-review names the step ----------------------------------------------------------

@pytest.mark.parametrize("locale,first,code", [
    ("zh-CN", "是的吧", "hesitation"), ("zh-CN", "我再想想", "hesitation"),
    ("en", "Let me think about it.", "hesitation"), ("zh-CN", "工作人员让我说是的", "coerced"),
    ("en", "What should I say?", "question"),
])
def test_the_prereview_doubt_finding_names_the_step(tmp_path, locale, first, code):
    pre = build_prereview(sealed(tmp_path, locale, {
        "identity": [READ[locale]], "consent": [first, ANSWER[locale]]}))
    (flag,) = flags(pre)
    assert flag["code"] == f"doubt_{code}" and flag["step"] == "consent", flag
    assert f"({code} at step consent)" in flag["text"], flag["text"]


@pytest.mark.parametrize("locale,first", [("zh-CN", "是的，我考虑好了，我自愿"),
                                          ("en", "Yes, I've made up my mind, I do.")])
def test_a_decided_yes_leaves_the_prereview_clear(tmp_path, locale, first):
    pre = build_prereview(sealed(tmp_path, locale, {
        "identity": [READ[locale]], "consent": [first]}))
    assert pre["verdict"] == "clear", pre["verdict_reasons"]

