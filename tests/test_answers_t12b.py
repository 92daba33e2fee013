"""The #12 fresh tester's faults in the judgement of answers (answers12): questions taken as a
yes, another's will not seen, Mandarin paraphrases of consent refused, spoken digit forms, a
collapsed tail that does not settle which tail was read, and another broker's name read aloud.

Each test states the class with several natural variants, in both languages where it applies.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kiosk.flows import load_flow
from kiosk.speech.answers import (
    ANOTHER_WILL,
    SLIP_AMBIGUOUS,
    AnswerSpec,
    cites_another_will,
    is_question,
    judge_text,
    reading_among_alternatives,
    requested_among_alternatives,
    requested_rescuable,
    score_reading,
)
from kiosk.speech.engines.base import read_aloud_result
from kiosk.speech.expected import Expected
from kiosk.speech.observer import retry_hint, speaks_of_another_will
from kiosk.speech.recognize import Answer
from kiosk.speech.textnorm import en_tokens, zh_tokens
from kiosk.witness.plan import plan_witness

ROOT = Path(__file__).resolve().parent.parent
WILLING = {"zh-CN": AnswerSpec("affirm", "是的，我自愿"), "en": AnswerSpec("affirm", "yes, I do")}
UNDERSTAND = {"zh-CN": AnswerSpec("affirm", "是的，我已了解"),
              "en": AnswerSpec("affirm", "yes, I understand")}


def _answer(text: str) -> Answer:
    return Answer(True, text, "unclear", 0.8, "faster-whisper", "", [], 10.0)


# --- 1. a question is not consent ---------------------------------------------------------

QUESTIONS = [
    ("en", "Yes, I do?"), ("en", "I agree?"), ("en", "Yes, I do, do I"),
    ("en", "I agree, is it"), ("en", "Yes I do, right"), ("en", "I do, right?"),
    ("en", "yes, huh"), ("en", "Yes, I am, am I"), ("en", "Okay, I agree, eh"),
    # (是的吧 without a question mark is a hedge, not a question: tests/test_answers_decided.py)
    ("zh-CN", "是的，我自愿？"), ("zh-CN", "我自愿吗"), ("zh-CN", "我自愿呢"),
    ("zh-CN", "是么"), ("zh-CN", "同意么"), ("zh-CN", "是嘛"), ("zh-CN", "自愿的吧？"),
    ("zh-CN", "好嘛，我同意"),
]


@pytest.mark.parametrize("locale,said", QUESTIONS)
def test_a_question_or_a_tag_question_is_never_consent(locale, said):
    assert is_question(said, locale)
    for spec in (WILLING[locale], UNDERSTAND[locale], AnswerSpec()):
        got = judge_text(said, locale, spec)
        assert got.intent == "unclear" and "question" in got.reason, got


@pytest.mark.parametrize("locale,said", QUESTIONS)
def test_a_question_is_never_rescued_by_the_recognisers_alternatives(locale, said):
    spec = WILLING[locale]
    assert not requested_rescuable(said, locale, spec)
    assert requested_among_alternatives(said, [spec.requested or ""], locale, spec) is None


@pytest.mark.parametrize("locale,said", [
    ("en", "That's right."), ("en", "All right."), ("en", "Yes, right."), ("en", "Right."),
    ("en", "Yes, I do."), ("en", "Oh, yes."), ("en", "Yes, that is right, I do"),
    ("zh-CN", "那么，是的，我自愿"), ("zh-CN", "是的，我自愿"), ("zh-CN", "对，我同意"),
])
def test_a_plain_yes_is_no_question(locale, said):
    assert not is_question(said, locale)
    assert judge_text(said, locale, WILLING[locale]).intent == "affirm"


# --- 2. someone else's will ---------------------------------------------------------------

ANOTHERS_WILL = [
    ("en", "The clerk said just say yes."), ("en", "The agent told me to say yes."),
    ("en", "My son said I should agree."), ("en", "Yes. I was told to say yes."),
    ("en", "Yes, I agree, they told me to."), ("en", "My wife wants me to open it, so yes."),
    ("en", "Yes, my daughter asked me to."), ("en", "The manager made me come, I agree."),
    ("en", "I'm supposed to say yes."), ("en", "Yes, the bank guy thinks it is fine."),
    ("zh-CN", "工作人员让我说是的"), ("zh-CN", "他们叫我这么说"), ("zh-CN", "是的，我儿子说可以"),
    ("zh-CN", "工作人员说回答是的就行"), ("zh-CN", "我妈让我来的，我同意"),
    ("zh-CN", "是的，我自愿，是经理要求的"), ("zh-CN", "听我老公的，同意"),
    ("zh-CN", "按他说的，是的"),
    ("zh-CN", "我是被要求来开户的"), ("zh-CN", "是的，有人告诉我这么回答"),
]


@pytest.mark.parametrize("locale,said", ANOTHERS_WILL)
def test_an_answer_that_cites_anothers_instruction_is_never_consent(locale, said):
    assert cites_another_will(said, locale) and speaks_of_another_will(said, locale)
    for spec in (WILLING[locale], UNDERSTAND[locale], AnswerSpec()):
        assert judge_text(said, locale, spec).intent == "unclear", said
    expected = Expected("affirm", requested=WILLING[locale].requested)
    assert retry_hint(_answer(said), expected, locale) == "own_will"


@pytest.mark.parametrize("locale,said", [
    ("en", "Yes, I do."), ("en", "I made the decision myself."), ("en", "I want to say yes."),
    ("en", "Yes, I was told about the risks."), ("en", "Can I ask about the fees?"),
    ("en", "As you said, yes."),  # "you" is the kiosk, whose prompt gives the words
    ("zh-CN", "是的，我自愿"), ("zh-CN", "让我想想"), ("zh-CN", "其他没有问题"),
    ("zh-CN", "我已被告知风险"), ("zh-CN", "是我自己要开的"), ("zh-CN", "我自己要求开户的"),
])
def test_own_words_and_hesitations_are_not_anothers_will(locale, said):
    assert not cites_another_will(said, locale)


@pytest.mark.parametrize("locale,said", [
    ("en", "Yes, I spoke with my advisor and I agree."),
    ("en", "Yes, my son is here with me, I agree."),
    ("zh-CN", "是的，我跟理财顾问聊过，我同意"),
    ("zh-CN", "是的，我儿子陪我来的，我自愿"),
])
def test_merely_naming_a_person_is_not_anothers_will_and_not_consent_either(locale, said):
    """The side it falls on (answers12): a person named without an instruction is not
    another's will, so the investor is asked again with the words to say; the answer is not
    consent by itself either (its extra words are not a paraphrase's)."""
    assert not cites_another_will(said, locale)
    assert judge_text(said, locale, WILLING[locale]).intent == "unclear"
    expected = Expected("affirm", requested=WILLING[locale].requested)
    assert retry_hint(_answer(said), expected, locale) == "heard"


def test_the_reason_says_anothers_will():
    assert judge_text("Yes, the clerk told me to say yes", "en",
                      WILLING["en"]).reason == ANOTHER_WILL


# --- 3. Mandarin paraphrases of consent -----------------------------------------------------

@pytest.mark.parametrize("said", [
    "当然是自愿的", "没错，我自愿的", "当然自愿", "是我自己愿意的", "我是自愿的", "对，是自愿的",
    "确实是我自愿的", "的确自愿", "肯定是自愿的", "当然了，我愿意", "当然同意", "绝对自愿",
    "嗯，当然是我自己愿意的", "没错，是自愿的", "当然", "当然了",
])
def test_a_mandarin_paraphrase_of_own_willingness_is_consent(said):
    assert judge_text(said, "zh-CN", WILLING["zh-CN"]).intent == "affirm", said


@pytest.mark.parametrize("said", [
    "当然不是自愿的", "没错，我不自愿", "我是被迫的", "当然不愿意", "肯定不是", "确实不太愿意",
    "当然是他们让我来的", "当然自愿吗", "没错，是被逼的", "当然不", "确实没想好",
])
def test_a_negated_forced_or_questioned_paraphrase_stays_no_consent(said):
    assert judge_text(said, "zh-CN", WILLING["zh-CN"]).intent in ("unclear", "deny"), said


@pytest.mark.parametrize("said,willing,understand", [
    ("当然了解", "unclear", "affirm"), ("当然，我明白", "unclear", "affirm"),
    ("是的确认", "affirm", "affirm"), ("当然自愿", "affirm", "affirm"),
])
def test_intensifiers_keep_understanding_apart_from_willingness(said, willing, understand):
    assert judge_text(said, "zh-CN", WILLING["zh-CN"]).intent == willing
    assert judge_text(said, "zh-CN", UNDERSTAND["zh-CN"]).intent == understand


# --- 4. digits read the way people read them ------------------------------------------------

@pytest.mark.parametrize("said,digits", [
    ("double seven double zero", "7700"), ("double seven double oh", "7700"),
    ("triple eight", "888"), ("seven oh oh one", "7001"), ("seven o one", "701"),
    ("four oh double one", "4011"), ("nought nought seven", "007"), ("double oh seven", "007"),
    ("1 oh 5", "105"), ("triple 8 one", "8881"),
])
def test_english_spoken_digit_forms_are_digits(said, digits):
    assert "".join(en_tokens(said)) == digits


@pytest.mark.parametrize("said,words", [
    ("Oh, yes.", ["oh", "yes"]), ("I double checked it", ["i", "double", "checked", "it"]),
    ("a triple win", ["a", "triple", "win"]), ("oh", ["oh"]),
])
def test_english_digit_forms_stay_words_away_from_digits(said, words):
    assert en_tokens(said) == words


EN_SENTENCE = ("I, Alex Chen, with ID number ending in {}, voluntarily open a securities "
               "account with Example Securities.")


@pytest.mark.parametrize("tail,said,ok", [
    ("7700", "double seven double zero", True), ("7700", "seven seven oh oh", True),
    ("8881", "triple eight one", True), ("7700", "double seven oh", False),
    ("7700", "seven thousand", False), ("7700", "triple seven oh", False),
])
def test_an_english_tail_read_with_double_triple_and_oh(tail, said, ok):
    r = score_reading(EN_SENTENCE.format(said), EN_SENTENCE.format(tail), "en",
                      ["Alex Chen", tail])
    assert r.passed is ok, r


@pytest.mark.parametrize("heard", ["77洞洞", "拐拐00", "拐拐洞洞", "七七洞洞"])
def test_radio_digits_dong_and_guai_are_not_read_as_digits(heard):
    """洞 (0) and 拐 (7) are the radio alphabet's, not how an investor reads an ID tail: they
    stay characters, so such a reading is asked again (幺 and 两 are standard and read)."""
    assert not any(t.isdigit() for t in zh_tokens("洞拐"))
    text = "本人张三，身份证尾号{}，自愿在示例证券开立证券账户。"
    r = score_reading(text.format(heard), text.format("7700"), "zh-CN", ["张三", "7700"])
    assert "7700" in r.missing, r
    assert score_reading(text.format("两两幺幺"), text.format("2211"), "zh-CN",
                         ["张三", "2211"]).passed


# --- 5. a collapsed tail must settle which tail was read ----------------------------------------

ZH_SENTENCE = "本人张三，身份证尾号{}，自愿在示例证券开立证券账户。"


@pytest.mark.parametrize("tail,heard", [
    ("7700", "700"), ("7000", "700"), ("3115", "315"), ("3315", "315"), ("3155", "315"),
    ("0002", "002"), ("0022", "002"), ("4227", "427"), ("5337", "53期"), ("7700", "七零零"),
    ("1190", "190"), ("2884", "284"),
])
def test_a_collapsed_tail_that_another_tail_gives_too_is_not_heard(tail, heard):
    r = score_reading(ZH_SENTENCE.format(heard), ZH_SENTENCE.format(tail), "zh-CN",
                      ["张三", tail])
    assert not r.passed and r.missing == (tail,) and r.tolerated == (), r
    assert r.ambiguous == ("the digits heard with " + SLIP_AMBIGUOUS,), r
    note = read_aloud_result(ZH_SENTENCE.format(heard), Expected(
        "read_aloud", text=ZH_SENTENCE.format(tail), required=("张三", tail)), "zh-CN").note
    assert "ambiguous:" in note and "let stand" not in note, note


@pytest.mark.parametrize("tail,heard", [
    ("8888", "888"), ("8888", "88888"), ("0002", "00002"), ("1111", "111"), ("7000", "70000"),
])
def test_a_slip_that_only_the_shown_tail_gives_is_let_stand(tail, heard):
    r = score_reading(ZH_SENTENCE.format(heard), ZH_SENTENCE.format(tail), "zh-CN",
                      ["张三", tail])
    assert r.passed and r.tolerated and not r.ambiguous, r


@pytest.mark.parametrize("tail,said", [("7700", "7 0 0"), ("7700", "seven oh oh"),
                                       ("3115", "three one five"), ("7000", "7 0 0")])
def test_an_english_collapsed_tail_is_not_heard_either(tail, said):
    r = score_reading(EN_SENTENCE.format(said), EN_SENTENCE.format(tail), "en",
                      ["Alex Chen", tail])
    assert not r.passed and r.ambiguous, r


def test_an_ambiguous_tail_is_rescued_only_when_no_hypothesis_heard_another_tail():
    best, right = ZH_SENTENCE.format("700"), ZH_SENTENCE.format("7700")
    required = ["张三", "7700"]
    assert reading_among_alternatives(best, [right], right, "zh-CN", required) == right
    assert reading_among_alternatives(best, [right, ZH_SENTENCE.format("7000")], right,
                                      "zh-CN", required) is None
    assert reading_among_alternatives(best, [best], right, "zh-CN", required) is None


# --- 6. the broker's name must be heard -------------------------------------------------------

def _identity_required(locale: str) -> tuple[str, tuple[str, ...]]:
    flow = load_flow(ROOT / "flows" / "securities_account_opening.yaml")
    steps = plan_witness(flow, locale, {"name": "张三" if locale == "zh-CN" else "Alex Chen",
                                        "id_last4": "8888"}, random.Random(0))
    (step,) = [s for s in steps if s.kind == "read_aloud" and s.required]
    return step.read_text or "", tuple(step.required)


@pytest.mark.parametrize("locale,broker", [("zh-CN", "示例证券"), ("en", "Example Securities")])
def test_the_flows_broker_is_a_required_item_of_the_reading(locale, broker):
    text, required = _identity_required(locale)
    assert broker in text and required[-1] == broker and "8888" in required


@pytest.mark.parametrize("locale,wrong", [
    ("zh-CN", "华泰证券"), ("zh-CN", "中信证券"), ("zh-CN", "国泰证券"), ("zh-CN", "示例银行"),
    ("en", "Golden Harbor Securities"), ("en", "Silver Harbor Securities"),
    ("en", "Sample Securities"), ("en", "Exemplar Securities"), ("en", "Securities"),
])
def test_another_brokers_name_read_aloud_fails(locale, wrong):
    text, required = _identity_required(locale)
    broker = required[-1]
    r = score_reading(text.replace(broker, wrong), text, locale, required)
    assert not r.passed and r.missing == (broker,), r


@pytest.mark.parametrize("locale,heard", [
    ("zh-CN", "本人张三身份证尾号8888自愿在示例证券开立证券账户"),
    ("zh-CN", "本人张三，身份证尾号8888，自愿在势力政权开立政权账户。"),   # Whisper's homophones
    ("zh-CN", "本人張三，身份證尾號8888，自願在示例證券開立證券帳戶。"),
    ("en", "I Alex Chen with ID number ending in 8888 voluntarily open a securities account "
           "with example securities"),
    ("en", "I, Alex Chen, with ID number ending in eight eight eight eight, voluntarily open a "
           "securities account with Example Security."),
])
def test_the_right_broker_read_naturally_passes(locale, heard):
    text, required = _identity_required(locale)
    r = score_reading(heard, text, locale, required)
    assert r.passed, r


@pytest.mark.parametrize("heard,ok", [
    ("Golden Harbour Securities", True), ("Goldenharbor Securities", True),
    ("golden harbor", True), ("Golden Harvest Securities", False),
    ("Silver Harbor Securities", False), ("Harbor Securities", False),
])
def test_an_english_broker_is_heard_word_by_word(heard, ok):
    text = ("I, Alex Chen, with ID number ending in 8888, voluntarily open a securities "
            "account with {}.")
    required = ["Alex Chen", "8888", "Golden Harbor Securities"]
    r = score_reading(text.format(heard), text.format("Golden Harbor Securities"), "en",
                      required)
    assert ("Golden Harbor Securities" not in r.missing) is ok, r


@pytest.mark.parametrize("locale,said,intent", [
    # 我不愿意 refuses; it does not say nobody did it (nineteenth session: not the no).
    ("zh-CN", "没有", "deny"), ("zh-CN", "我不愿意", "unclear"), ("en", "No.", "deny"),
    ("en", "No, I do not.", "deny"), ("zh-CN", "我不愿意，是他们让我来的", "unclear"),
])
def test_refusals_are_judged_as_before_beside_the_will_rule(locale, said, intent):
    deny = AnswerSpec("deny", "没有" if locale == "zh-CN" else "no")
    assert judge_text(said, locale, deny).intent == intent
    assert judge_text(said, locale, WILLING[locale]).intent != "affirm"
