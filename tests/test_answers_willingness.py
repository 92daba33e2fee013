"""#12 fresh tester: understanding is not willingness, natural paraphrases of the requested
answer, an answer heard clearly is never "not heard clearly", and 查 for the 叉 (X) of an ID
tail read aloud."""

from __future__ import annotations

import pytest

from kiosk.session import PlannedStep, SendStep, StepResult, WitnessState, transition
from kiosk.speech.answers import AnswerSpec, judge_text, score_reading, step_meaning
from kiosk.speech.expected import Expected
from kiosk.speech.observer import retry_hint, shown_words
from kiosk.speech.recognize import Answer
from kiosk.witness.plan import retry_prefix, retry_prompt

ZH_WILL = AnswerSpec("affirm", "是的，我自愿")
ZH_KNOW = AnswerSpec("affirm", "是的，我已了解")
EN_WILL = AnswerSpec("affirm", "yes, I do")
EN_KNOW = AnswerSpec("affirm", "yes, I understand")
ZH_AGREE = AnswerSpec("affirm", "我同意")
EN_AGREE = AnswerSpec("affirm", "I agree")


def test_the_requested_answer_says_what_the_step_asks():
    assert step_meaning("zh-CN", ZH_WILL) == step_meaning("zh-CN", ZH_AGREE) == "willingness"
    assert step_meaning("en", EN_WILL) == step_meaning("en", EN_AGREE) == "willingness"
    assert step_meaning("en", AnswerSpec("affirm", "I am willing")) == "willingness"
    assert step_meaning("zh-CN", ZH_KNOW) == "understanding"
    assert step_meaning("en", EN_KNOW) == "understanding"
    assert step_meaning("zh-CN", AnswerSpec("affirm", "是的，我确认")) == ""
    assert step_meaning("zh-CN", AnswerSpec("affirm")) == ""


@pytest.mark.parametrize("said", ["是的，我已了解", "我明白", "清楚", "是的，我清楚", "我知道",
                                  "懂了", "明白了", "我已经了解了", "了解", "好的，我明白了",
                                  "我理解"])
@pytest.mark.parametrize("spec", [ZH_WILL, ZH_AGREE])
def test_understanding_is_not_willingness_in_mandarin(said, spec):
    judged = judge_text(said, "zh-CN", spec)
    assert judged.intent == "unclear" and "understanding only" in judged.reason


@pytest.mark.parametrize("said", ["Yes, I understand.", "Understood.", "I understand.", "I see.",
                                  "Got it.", "Yes, I know.", "I do understand.",
                                  "Yes, I've understood.", "Yes, I have read it.", "Clear."])
@pytest.mark.parametrize("spec", [EN_WILL, EN_AGREE])
def test_understanding_is_not_willingness_in_english(said, spec):
    judged = judge_text(said, "en", spec)
    assert judged.intent == "unclear" and "understanding only" in judged.reason


@pytest.mark.parametrize("locale,spec,said", [
    ("zh-CN", ZH_WILL, "是的"), ("zh-CN", ZH_WILL, "对"), ("zh-CN", ZH_WILL, "是的，我自愿"),
    ("zh-CN", ZH_WILL, "我同意"), ("zh-CN", ZH_WILL, "是的，我已了解，我自愿"),
    ("en", EN_WILL, "yes"), ("en", EN_WILL, "Yes, I do."), ("en", EN_WILL, "I agree"),
    # An understanding step still takes understanding.
    ("zh-CN", ZH_KNOW, "是的，我已了解"), ("zh-CN", ZH_KNOW, "明白"), ("zh-CN", ZH_KNOW, "清楚"),
    ("en", EN_KNOW, "Yes, I understand."), ("en", EN_KNOW, "Understood."),
])
def test_a_bare_yes_and_understanding_on_an_understanding_step_still_pass(locale, spec, said):
    assert judge_text(said, locale, spec).intent == "affirm"


@pytest.mark.parametrize("locale,spec,said", [
    ("zh-CN", ZH_WILL, "是的，是我自己愿意的"), ("zh-CN", ZH_WILL, "是我自己的决定"),
    ("zh-CN", ZH_WILL, "是的，完全是我本人的意愿"), ("zh-CN", ZH_WILL, "是的，我自愿开立账户"),
    ("zh-CN", ZH_WILL, "是的，我心甘情愿"), ("zh-CN", ZH_KNOW, "清楚，都看过了"),
    ("zh-CN", ZH_KNOW, "是的，我已经了解这些风险"), ("en", EN_WILL, "Yes, it's my own decision."),
    ("en", EN_WILL, "Yes, of my own free will."),
    ("en", EN_WILL, "Yes, I'm doing this voluntarily."),
    ("en", EN_KNOW, "Yes, I've read it all."), ("en", EN_KNOW, "Yes, I'm aware of the risks."),
])
def test_a_natural_paraphrase_of_the_requested_answer_passes(locale, spec, said):
    judged = judge_text(said, locale, spec)
    assert judged.intent == "affirm" and "paraphrase" in judged.reason


@pytest.mark.parametrize("locale,spec,said", [
    ("zh-CN", ZH_WILL, "是的，是别人让我来的"), ("zh-CN", ZH_WILL, "是有人让我这么说的"),
    ("zh-CN", ZH_WILL, "是他们让我说自愿的"), ("zh-CN", ZH_WILL, "是的，我被要求这样说"),
    ("zh-CN", ZH_WILL, "是的，有人教我这么说"), ("zh-CN", ZH_WILL, "是的，我是被迫的"),
    ("zh-CN", ZH_WILL, "他们说我必须自愿"), ("zh-CN", ZH_WILL, "是我自愿的吗"),
    ("zh-CN", ZH_WILL, "是的，我不愿意"), ("zh-CN", ZH_WILL, "是的，我老板让我开户"),
    ("zh-CN", ZH_WILL, "是的，今天天气很好"), ("zh-CN", ZH_KNOW, "有人让我说了解"),
    ("en", EN_WILL, "Yes, someone told me to say yes."), ("en", EN_WILL, "Yes, but I was told to."),
    ("en", EN_WILL, "They made me do it."), ("en", EN_WILL, "Is this voluntary"),
    ("en", EN_WILL, "Yes, they said I have to."), ("en", EN_WILL, "Yes, against my will."),
    ("en", EN_WILL, "Yes, because they said I must."), ("en", EN_WILL, "Do I have to say yes"),
    ("en", EN_WILL, "Yes, it's a nice day"),
    ("en", EN_KNOW, "Someone told me to say I understand."),
])
def test_coerced_coached_questioning_or_off_script_answers_are_never_consent(locale, spec, said):
    assert judge_text(said, locale, spec).intent != "affirm"


# --- the page and the guide: heard clearly is never "not heard clearly" -----------------------

def _answer(text: str, intent: str = "unclear", score: float = 0.8, note: str = "",
            engine: str = "faster-whisper", negation: bool = False) -> Answer:
    return Answer(True, text, intent, score, engine, "", [], 10.0, note=note, negation=negation)


CONSENT = Expected("affirm", requested="是的，我自愿")


def test_an_answer_heard_clearly_but_not_taken_is_shown_with_what_to_say():
    heard = _answer("是的，我已了解")
    assert retry_hint(heard, CONSENT, "zh-CN") == "understanding_only"
    assert shown_words(heard, CONSENT, "zh-CN") == "是的，我已了解"
    other = _answer("我想问一下手续费")
    assert retry_hint(other, CONSENT, "zh-CN") == "heard"
    assert shown_words(other, CONSENT, "zh-CN") == "我想问一下手续费"
    en = Expected("affirm", requested="yes, I do")
    assert retry_hint(_answer("Yes, I understand."), en, "en") == "understanding_only"


@pytest.mark.parametrize("answer", [
    _answer("四个五二三", score=0.2),  # a weak decode: not made out
    # Confident, but syllables without words (清楚，都看过了 / 是的，出于我本人意愿 heard so by
    # Whisper base from a tuning voice): not made out either.
    _answer("请处抖看国脸", score=0.75), _answer("私底处于我奔人意愿", score=0.7),
    _answer("是的我自愿", score=0.0, note="too noisy to confirm consent (8 dB)"),
    _answer("字幕由Amara.org社区提供", note="Whisper's hallucination signs"),
    _answer("是的，我不愿意"),  # a no: "we heard your answer as a no"
    _answer("是的我自愿", negation=True),
    _answer("shi de wo zi yuan", engine="pocketsphinx-zh"),
])
def test_only_an_answer_not_made_out_is_not_shown(answer):
    assert retry_hint(answer, CONSENT, "zh-CN") == ""
    assert shown_words(answer, CONSENT, "zh-CN") == ""


def test_the_retried_prompt_says_what_to_say():
    text = "最后，请问您是否自愿开立证券账户？请回答：是的，我自愿。"
    sub, spoken = retry_prompt(text, text, "zh-CN", hint="understanding_only",
                               answer="是的，我自愿")
    assert sub.startswith("谢谢，您已了解。") and "请说明您是否自愿：请回答“是的，我自愿”" in sub
    assert "没有听清" not in sub and spoken is not None and "没有听清" not in spoken
    sub, _ = retry_prompt(text, None, "zh-CN", hint="heard", answer="是的，我自愿")
    assert sub.startswith("谢谢，我们听到了您的回答。请按提示回答：“是的，我自愿”")
    sub, _ = retry_prompt("Do you?", None, "en", hint="heard", answer="yes, I do")
    assert sub.startswith('Thank you, we heard your answer.') and '"yes, I do"' in sub
    # Not heard clearly, and a no, are said as before.
    assert retry_prompt(text, None, "zh-CN")[0].startswith("抱歉，我没有听清楚")
    assert retry_prompt(text, None, "zh-CN", True, "heard", "是的，我自愿")[0].startswith(
        "我们听到您的回答是否定的意思")


def test_the_state_machine_carries_the_hint_to_the_retried_step():
    step = PlannedStep(id="consent", kind="question", text="您是否自愿？", title="Consent",
                       answer_seconds=5, retries=1, expect="affirm", answer="是的，我自愿")
    state = WitnessState(phase="evaluating", index=0, seq=3, attempt=0)
    _, effects = transition((step,), state, StepResult(3, "retry", {
        "intent": "unclear", "refusal": False, "retry_hint": "understanding_only"}))
    sent = [e for e in effects if isinstance(e, SendStep)]
    assert sent and sent[0].attempt == 1 and sent[0].retry_hint == "understanding_only"


# --- 查 for the 叉 (X) of an ID tail ------------------------------------------------------------

SENTENCE = "本人张三，身份证尾号{}，自愿在示例证券开立证券账户。"


@pytest.mark.parametrize("heard", ["本人张三，身份证尾号一零五查，自愿在示例证券开立证券账户。",
                                   "本人张三身份证尾号105查自愿在示例证券开立证券账户",
                                   "本人张三，身份证尾号一零五差，自愿在示例证券开立证券账户。"])
def test_a_character_whisper_writes_for_cha_is_the_x_of_the_tail(heard):
    r = score_reading(heard, SENTENCE.format("105X"), "zh-CN", ("张三", "105X"))
    assert r.passed and not r.missing, r


@pytest.mark.parametrize("tail,heard", [
    ("1058", "本人张三，身份证尾号一零五查，自愿在示例证券开立证券账户。"),  # no X in the tail
    ("105X", "本人张三，身份证尾号一零五三，自愿在示例证券开立证券账户。"),  # another digit
    ("105X", "本人张三，身份证尾号一零查五，自愿在示例证券开立证券账户。"),  # not at X's place
])
def test_cha_is_x_nowhere_else(tail, heard):
    assert not score_reading(heard, SENTENCE.format(tail), "zh-CN", ("张三", tail)).passed


# --- through the live judge, with a natural voice (kiosk.testing.voices, tuning split) ---------

def _voice_hearing(pcm):
    from types import SimpleNamespace

    return SimpleNamespace(window=lambda a, b: pcm, stop_listening=lambda: None,
                           heard_early=lambda t0, spans: None)


def _judged(tmp_path, voice_id: str, said: str, locale: str, answer: str):
    from kiosk.speech.audio import pcm_from_file
    from kiosk.speech.recognize import default_recognizer
    from kiosk.testing import voices as tv
    from kiosk.witness.judge import judge_answer

    voice = {v.id: v for v in tv.VOICES}[voice_id]
    pcm = pcm_from_file(tv.say_to_file(voice, said, tmp_path))
    step = PlannedStep(id="consent", kind="question", text="?", title="Consent",
                       answer_seconds=5, retries=1, expect="affirm", answer=answer)
    return judge_answer(_voice_hearing(pcm), default_recognizer(), locale, True, step,
                        (10.0, 14.0))


@pytest.mark.parametrize("voice,locale,said,answer", [
    ("zh-xiaobei", "zh-CN", "是的，我清楚", "是的，我自愿"),
    ("en-bella", "en", "Yes, I understand.", "yes, I do"),
])
def test_understanding_said_clearly_is_asked_again_with_what_to_say(tmp_path, voice, locale,
                                                                    said, answer):
    judged = _judged(tmp_path, voice, said, locale, answer)
    assert judged.outcome == "retry", judged.detail
    assert judged.detail["retry_hint"] == "understanding_only", judged.detail
    shown = judged.shown
    assert shown["hint"] == "understanding_only" and shown["ask"] == answer, shown
    assert shown["text"] and not shown["refusal"], shown  # what was heard, in words


@pytest.mark.parametrize("voice,locale,said,answer", [
    ("zh-xiaobei", "zh-CN", "是的，我心甘情愿", "是的，我自愿"),
    ("zh-yunyang", "zh-CN", "是的，是我本人的意愿", "是的，我自愿"),
])
def test_a_paraphrase_said_clearly_passes(tmp_path, voice, locale, said, answer):
    judged = _judged(tmp_path, voice, said, locale, answer)
    assert judged.outcome == "pass", judged.detail


def test_the_page_has_the_heard_and_ask_messages_in_both_languages():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "static"
    i18n = (root / "i18n.js").read_text(encoding="utf-8")
    for key in ("witness.heard_ask", "witness.say_willing"):
        lines = [ln for ln in i18n.splitlines() if f'"{key}"' in ln]
        assert len(lines) == 2 and all("{text}" in ln and "{answer}" in ln for ln in lines), key
        assert not any("没有听清" in ln or "could not hear" in ln for ln in lines), lines
    guide = (root / "investor" / "guide.js").read_text(encoding="utf-8")
    assert "data.hint" in guide and "data.ask" in guide and "witness.say_willing" in guide


# --- an answer that speaks of someone else's will is never given the words to say ----------

@pytest.mark.parametrize("text,locale", [
    ("工作人员让我说是的", "zh-CN"), ("是的，是我儿子叫我来开的", "zh-CN"),
    ("Someone told me to say yes.", "en"), ("Yes, my son made me do it.", "en"),
])
def test_another_persons_will_is_asked_for_the_investors_own_answer(text, locale):
    expected = Expected("affirm", requested="是的，我自愿" if locale == "zh-CN" else "yes, I do")
    assert retry_hint(_answer(text), expected, locale) == "own_will"
    prefix = retry_prefix(locale, hint="own_will", answer=expected.requested or "")
    assert (expected.requested or "") not in prefix  # no words put in the investor's mouth
    assert ("真实意愿" in prefix) if locale == "zh-CN" else ("for yourself" in prefix)


@pytest.mark.parametrize("text,locale", [("我想问一下手续费", "zh-CN"),
                                         ("Can I ask about the fees?", "en")])
def test_an_off_topic_answer_is_still_told_what_to_say(text, locale):
    expected = Expected("affirm", requested="是的，我自愿" if locale == "zh-CN" else "yes, I do")
    assert retry_hint(_answer(text), expected, locale) == "heard"


def test_a_coerced_answer_said_by_a_natural_voice_is_asked_for_the_own_answer(tmp_path):
    judged = _judged(tmp_path, "zh-xiaobei", "工作人员让我说是的", "zh-CN", "是的，我自愿")
    assert judged.outcome in ("retry", "flag"), judged.detail
    assert judged.detail["retry_hint"] == "own_will", judged.detail
    assert judged.shown["hint"] == "own_will", judged.shown
