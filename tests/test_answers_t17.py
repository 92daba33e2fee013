"""Issue #12, the seventeenth session's fresh tester: an English reading with another given
name passed, a Chinese name read in English was never checked, "没有，没人承诺过" to a deny step
was "a negated negation", and "I've thought it over and yes, I do" was not an accepted answer.
Transcripts are the ones Whisper wrote for the tester's natural voices (Kokoro)."""

from __future__ import annotations

import pytest

from kiosk.speech import answers as a
from kiosk.speech import textnorm

EN_TEXT = ("I, Mark Holloway, with ID number ending in 5625, voluntarily open a securities "
           "account with Example Securities.")
EN_REQUIRED = ("Mark Holloway", "5625", "Example Securities")


def _reading(heard: str, text: str = EN_TEXT, required=EN_REQUIRED) -> a.ReadingScore:
    return a.score_reading(heard, text, "en", required)


@pytest.mark.parametrize("heard", [
    "I, Mark Holloway, with ID number ending in 5, 6, 2, 5, voluntarily open a securities "
    "account with example securities.",
    "I Marc Holloway with ID number ending in 5625 voluntarily open a securities account "
    "with Example Securities.",
])
def test_the_name_as_asked_or_spelled_alike_passes(heard):
    assert _reading(heard).passed


@pytest.mark.parametrize("given", ["Peter", "Sarah", "Mike", ""])
def test_another_given_name_on_the_same_surname_is_not_the_name(given):
    heard = (f"I, {given} Holloway, with ID number ending in 5, 6, 2, 5, voluntarily open a "
             "securities account with example securities.")
    score = _reading(heard)
    assert not score.passed and "Mark Holloway" in score.missing
    # ...and the recogniser's alternatives may not put the name back (a word off is a name)
    assert not a.reading_rescuable(heard, EN_TEXT, "en", EN_REQUIRED)


def test_homophones_of_a_given_name_still_pass():
    # (the name only: these sentences are too short for their error rate to say anything)
    text = "I, Leah Novak, confirm."
    assert a.score_reading("I, Lee Novak, confirm.", text, "en", ("Leah Novak",)).missing == ()
    text = "I, Noah Bennett, confirm."
    assert a.score_reading("I know a Bennett, confirm.", text, "en",
                           ("Noah Bennett",)).missing == ()


def test_a_chinese_name_in_english_is_romanised_and_checked():
    assert textnorm.romanised_name("王建国") == ["wang", "jianguo"]
    assert textnorm.romanised_name("欧阳子墨") == ["ouyang", "zimo"]
    assert textnorm.romanised_name("吕布") == ["lu", "bu"]
    assert textnorm.romanised_name("曾国藩") == ["zeng", "guofan"]
    assert textnorm.romanised_name("Mark Holloway") == []
    text = ("I, 王建国, with ID number ending in 3411, voluntarily open a securities account "
            "with Example Securities.")
    req = ("王建国", "3411", "Example Securities")
    ok = ("I, Wang Jiangguo, with ID number ending in 3, 4, 1, 1, voluntarily open a securities "
          "account with Example Securities.")
    assert a.score_reading(ok, text, "en", req).passed
    split = ok.replace("Wang Jiangguo", "Wang Jian Guo")
    assert a.score_reading(split, text, "en", req).passed
    for other in ("Wang Zhikian", "Wang Jiayin Huah", "Li Jianguo", "Zhang Jianguo", ""):
        heard = ok.replace("Wang Jiangguo", other)
        score = a.score_reading(heard, text, "en", req)
        assert not score.passed and "王建国" in score.missing, other


DENY = a.AnswerSpec("deny", "没有")


@pytest.mark.parametrize("text", ["没有，没人承诺过", "没有，没有人跟我说过保本",
                                  "嗯，没有，从来没人说过", "不是，没人逼我"])
def test_a_no_then_nobody_did_it_is_a_no(text):
    assert a.judge_text(text, "zh-CN", DENY).intent == "deny"


@pytest.mark.parametrize("text", ["没有没人承诺过",      # no comma: a doubled negation, safe side
                                  "没有，没人不承诺",     # nobody did NOT: doubled
                                  "没有，我不确定", "没有，没人承诺过吧", "没有，没人承诺过吗",
                                  "有，没人承诺过", "没有，但是有人说保本"])
def test_anything_else_after_the_no_is_not_taken(text):
    assert a.judge_text(text, "zh-CN", DENY).intent != "deny", text


def test_nobody_did_it_is_never_consent_to_a_yes_step():
    assert a.judge_text("没有，没人逼我", "zh-CN",
                        a.AnswerSpec("affirm", "是的，我自愿")).intent == "unclear"


@pytest.mark.parametrize("text", ["I've thought it over and yes I do.",
                                  "I have decided, so yes I do", "My mind is made up, yes I do."])
def test_a_decision_joined_by_and_to_the_yes_is_the_yes(text):
    assert a.judge_text(text, "en", a.AnswerSpec("affirm", "yes, I do")).intent == "affirm"


def test_not_decided_is_still_not_a_yes():
    for text in ("I have not decided, yes I do", "I need to think about it and yes"):
        assert a.judge_text(text, "en", a.AnswerSpec("affirm", "yes, I do")).intent \
            != "affirm", text


BU_TEXT = "本人卜佳慧，身份证尾号1042，自愿在示例证券开立证券账户。"
BU_REQUIRED = ("卜佳慧", "1042", "示例证券")


@pytest.mark.parametrize("heard", ["本人不佳慧身份证尾号1042自愿在示例证券开立证券账户",
                                   "本人步佳慧身份证尾号1042自愿在示例证券开立证券账户"])
def test_a_surname_that_sounds_like_a_negation_is_the_name(heard):
    # holdout 19: 卜 (bǔ as a surname, bo in 萝卜) heard as 不 was "not heard" and "a negation".
    assert a.score_reading(heard, BU_TEXT, "zh-CN", BU_REQUIRED).passed


@pytest.mark.parametrize("heard, missing", [
    ("本人卜佳慧身份证尾号1042不自愿在示例证券开立证券账户", a.NEGATION_ADDED),
    ("本人不是卜佳慧身份证尾号1042自愿在示例证券开立证券账户", a.NEGATION_ADDED),
    ("本人张佳慧身份证尾号1042自愿在示例证券开立证券账户", "卜佳慧"),
])
def test_a_real_negation_or_another_name_still_fails(heard, missing):
    score = a.score_reading(heard, BU_TEXT, "zh-CN", BU_REQUIRED)
    assert not score.passed and missing in score.missing


def test_a_mandarin_name_a_syllable_off_is_never_rescued_but_digits_are():
    text = "本人单丽娜，身份证尾号5262，自愿在示例证券开立证券账户。"
    req = ("单丽娜", "5262", "示例证券")
    wrong_name = "本人单丽华身份证尾号5262自愿在示例证券开立证券账户"
    assert not a.reading_rescuable(wrong_name, text, "zh-CN", req)
    assert a.reading_among_alternatives(
        wrong_name, ["本人单丽娜身份证尾号5262自愿在示例证券开立证券账户"], text, "zh-CN",
        req) is None
    # a tail heard a syllable off is still rescued by an alternative that reads it as asked
    slip = "本人单丽娜身份证尾号五二六期自愿在示例证券开立证券账户"
    assert not a.score_reading(slip, text, "zh-CN", req).passed
    assert a.reading_rescuable(slip, text, "zh-CN", req)
