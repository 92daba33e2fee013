"""The answer judgement on transcripts (kiosk.speech.answers): lexicons, negation, reading."""

from __future__ import annotations

import pytest

from kiosk.speech.answers import (
    SLIP_AMBIGUOUS,
    ZH_CONSENT,
    ZH_REFUSAL,
    AnswerSpec,
    judge_text,
    reading_among_alternatives,
    requested_among_alternatives,
    requested_rescuable,
    score_reading,
    tokens_equal,
)
from kiosk.speech.engines.base import read_aloud_result
from kiosk.speech.expected import Expected
from kiosk.speech.textnorm import en_tokens, zh_tokens

CONSENT_ZH = AnswerSpec("affirm", "是的，我自愿")
CONSENT_EN = AnswerSpec("affirm", "yes, I do")
SENTENCE_ZH = "本人张三，身份证尾号8888，自愿在示例证券开立证券账户。"
SENTENCE_EN = ("I, Alex Chen, with ID number ending in 8888, voluntarily open a securities "
               "account with Example Securities.")


# -- the lists: every natural yes passes, every natural no is a refusal ---------------

@pytest.mark.parametrize("said", ["是", "是的", "对", "对的", "嗯，是的", "好的", "可以", "愿意",
                                  "我愿意", "自愿", "我自愿", "同意", "了解", "我已了解", "明白",
                                  "清楚", "确认", "是的，我自愿", "是的，我已了解", "没问题",
                                  "没有问题", "好的，没问题", "嗯，没问题"])
def test_natural_mandarin_yes_is_consent(said):
    assert judge_text(said, "zh-CN", CONSENT_ZH).intent == "affirm"


@pytest.mark.parametrize("said", ["不", "不是", "不愿意", "不自愿", "不同意", "不了解", "不清楚",
                                  "没有", "拒绝", "算了", "我再想想", "不，我不愿意"])
def test_natural_mandarin_no_is_a_refusal(said):
    assert judge_text(said, "zh-CN", CONSENT_ZH).intent == "deny"


@pytest.mark.parametrize("said", ["是的，我不愿意", "是的，我不同意", "对，我没有想好", "是的不是",
                                  "我自愿，不对", "好的，算了", "同意个鬼，不同意",
                                  "没问题，但我不愿意", "不是没问题", "有问题", "我有问题",
                                  "没问题吗", "没有问题吗"])
def test_a_negation_anywhere_is_never_consent(said):
    assert judge_text(said, "zh-CN", CONSENT_ZH).intent in ("unclear", "deny")


@pytest.mark.parametrize("said,intent", [
    ("只是的我自愿", "affirm"), ("只是的 我自愿", "affirm"), ("以是的我自愿", "affirm"),
    ("你是得握自愿", "affirm"), ("一是的", "affirm"),
    # Only one onset, only before 是, never around a negation or another answer.
    ("只是我不愿意", "unclear"), ("只是的，我不自愿", "unclear"), ("你好是的", "unclear"),
    ("只只是的", "unclear"), ("是的只", "unclear"), ("只", "unclear"), ("你是谁", "unclear"),
])
def test_a_breath_before_shi_written_as_a_syllable_is_set_aside(said, intent):
    """Whisper base writes a breath or 嗯 before 是 as 只 / 以 / 你 (holdout 13: zh-yunxia's
    是的，我自愿 heard 只是的我自愿 both times)."""
    assert judge_text(said, "zh-CN", CONSENT_ZH).intent == intent


def test_the_lexicons_never_overlap():
    for yes in ZH_CONSENT:
        assert judge_text(yes, "zh-CN").intent == "affirm", yes
    for no in ZH_REFUSAL:
        assert judge_text(no, "zh-CN").intent == "deny", no


@pytest.mark.parametrize("said,intent", [
    ("是的 我自愿", "affirm"),          # Whisper's spacing
    ("是的，我自願。", "affirm"),        # traditional characters
    ("是得，我自愿", "affirm"),          # a homophone the recogniser chose
    ("ＯＫ", "unclear"),                # full-width Latin is folded, and is not a Mandarin yes
    ("今天天气很好", "unclear"),
    ("", "unclear"),
    ("嗯嗯", "unclear"),
])
def test_transcript_forms(said, intent):
    assert judge_text(said, "zh-CN", CONSENT_ZH).intent == intent


@pytest.mark.parametrize("said,intent", [
    ("Yes, I do.", "affirm"), ("yes", "affirm"), ("Yeah, I agree.", "affirm"),
    ("Yes, I do. Thank you.", "affirm"), ("No, I don't.", "deny"), ("I do not agree", "deny"),
    ("Yes, but I don't want to.", "unclear"), ("Yes, I don't agree", "unclear"),
    ("The weather is lovely today", "unclear"), ("I never agreed", "unclear"),
    # Every tuning voice's "Right." was heard exactly and was refused before (thirteenth
    # session); a question or a negation around it is still not consent.
    ("Right.", "affirm"), ("That's right.", "affirm"), ("All right.", "affirm"),
    ("Right?", "unclear"), ("That's not right.", "unclear"), ("Right, no.", "unclear"),
])
def test_english(said, intent):
    assert judge_text(said, "en", CONSENT_EN).intent == intent


def test_the_requested_answer_always_passes_even_outside_the_lexicon():
    spec = AnswerSpec("affirm", "本人确认开户")
    assert judge_text("本人确认开户", "zh-CN").intent == "unclear"
    assert judge_text("本人确认开户", "zh-CN", spec).intent == "affirm"


def test_expect_deny_and_phrases():
    deny = AnswerSpec("deny", "没有")
    assert judge_text("没有", "zh-CN", deny).intent == "deny"
    assert judge_text("有", "zh-CN", deny).intent == "unclear"
    pick = AnswerSpec("phrases", None, ("选项C", "C"))
    assert judge_text("选项C", "zh-CN", pick).intent == "phrase"
    assert judge_text("不是选项C", "zh-CN", pick).intent == "unclear"
    with pytest.raises(ValueError, match="expect 'phrases' needs"):
        AnswerSpec("phrases")
    with pytest.raises(ValueError, match="expect 'maybe' is not one of"):
        AnswerSpec("maybe")


# -- reading aloud -----------------------------------------------------------------------------

@pytest.mark.parametrize("heard", [
    SENTENCE_ZH,
    "本人张三，身份证尾号八八八八，自愿在示例证券开立证券账户。",   # digits said as characters
    "本人張三身份證尾號8888自願在示例證券開立證券帳戶",              # traditional, no punctuation
    "本人张三 身份证委号8888 自愿在势力政权开立政权账户",            # Whisper base's homophones
    "本人张三，身份证尾号88888，自愿在示例证券开立证券账户",         # a repeated digit doubled
    "本人章三，身份证尾号八千八百八十八，自愿在示例证券开立证券账户",  # a number with units
])
def test_mandarin_reading_passes(heard):
    r = score_reading(heard, SENTENCE_ZH, "zh-CN", ["张三", "8888"])
    assert r.passed, r


@pytest.mark.parametrize("heard,missing", [
    ("本人李四，身份证尾号8888，自愿在示例证券开立证券账户。", ("张三",)),
    ("本人张三，身份证尾号1234，自愿在示例证券开立证券账户。", ("8888",)),
    ("今天天气很好，我们一起去公园散步吧。", ("张三", "8888")),
    ("", ("张三", "8888")),
])
def test_mandarin_wrong_reading_fails_and_names_what_was_missed(heard, missing):
    r = score_reading(heard, SENTENCE_ZH, "zh-CN", ["张三", "8888"])
    assert not r.passed and r.missing == missing


def test_digits_heard_as_characters_count_as_their_readings_in_the_error_rate():
    """Whisper base wrote a weak voice's 1482 as 以四把二 and three more syllables nearly right:
    three syllable errors in 26, not seven (the digits are compared by their readings)."""
    sentence = "本人陈静，身份证尾号1482，自愿在示例证券开立证券账户。"
    heard = "本人陈静 审分中位好以四把二 资源在实力征权凯利征权征库。"
    r = score_reading(heard, sentence, "zh-CN", ["陈静", "1482"])
    assert r.error_rate == round(3 / 26, 4) and r.passed, r
    # ...and the other way round: the text's digits written as characters, heard as digits.
    r = score_reading("本人陈静身份证尾号1482自愿在示例证券开立证券账户",
                      sentence.replace("1482", "幺四八二"), "zh-CN", ["陈静"])
    assert r.error_rate == 0.0, r


def test_a_different_sentence_fails_on_its_error_rate_alone():
    r = score_reading("我想咨询一下信用卡的年费问题。", SENTENCE_ZH, "zh-CN")
    assert not r.passed and r.error_rate > 0.5


@pytest.mark.parametrize("heard", [
    SENTENCE_EN,
    "I Alex Chen with ID number ending in eight eight eight eight voluntarily open a "
    "securities account with example securities",
    "I, Alex Chen, with ID number ending in 8-8-8-8, voluntarily opened a securities account "
    "with Example Securities.",
])
def test_english_reading_passes(heard):
    assert score_reading(heard, SENTENCE_EN, "en", ["Alex Chen", "8888"]).passed


def test_english_wrong_tail_fails():
    heard = SENTENCE_EN.replace("8888", "1357")
    r = score_reading(heard, SENTENCE_EN, "en", ["Alex Chen", "8888"])
    assert not r.passed and r.missing == ("8888",)


def test_id_tail_with_x_said_several_ways():
    text = "身份证尾号105X"
    for said in ("身份证尾号105X", "身份证尾号一零五叉", "身份证尾号幺零五艾克斯"):
        assert score_reading(said, text, "zh-CN", ["105X"]).passed, said


def test_normalisation():
    assert zh_tokens("尾号一零五叉") == ["尾", "号", "1", "0", "5", "X"]
    assert zh_tokens("ＡＢＣ１２") == ["A", "B", "C", "1", "2"]
    assert en_tokens("Don't, 12") == ["do", "not", "1", "2"]
    assert tokens_equal("是的，我自愿。", "是的 我自愿", "zh-CN")
    assert not tokens_equal("是的，我自愿", "是的，我同意", "zh-CN")


@pytest.mark.parametrize("heard,ok", [
    # 002 is 0002 or 0022 with a repeat said once: it does not settle the tail (asked again)
    ("尾号002", False), ("尾号00002", True), ("尾号0002", True), ("尾号02", False),
    ("尾号1002", False), ("尾号0003", False), ("尾号00", False),
])
def test_a_repeated_digit_may_be_heard_once_more_or_less_but_nothing_else(heard, ok):
    assert score_reading(heard, "尾号0002", "zh-CN", ["0002"]).passed is ok


def test_a_garbled_tail_is_not_the_tail():
    r = score_reading("本人张三，身份证尾号88808，自愿在示例证券开立证券账户", SENTENCE_ZH, "zh-CN",
                      ["张三", "8888"])
    assert r.missing == ("8888",)


@pytest.mark.parametrize("heard,required,ok", [
    ("本人照明身份证尾号1850", ("赵敏", "1850"), True),     # zhao ming for zhao min
    ("本人曾经身份证尾号1482", ("陈静", "1482"), True),     # ceng jing for chen jing
    ("本人张三身份证委号222死", ("张三", "2224"), True),    # 死 (si) for 4
    # Fuzzy pinyin (front/back nasal, l/n): lin reads as ling (0) ...
    ("本人王伟身份政委号邻期四邻", ("王伟", "0740"), True),
    ("本人张三身份政委奥伊林七七", ("张三", "1077"), True),
    # ... but never as another digit: liang is 2, not 0; nothing reads as 1 but yi / yao.
    ("本人张三身份政委奥伊良七七", ("张三", "1077"), False),
    ("本人王伟身份政委号邻期四良", ("王伟", "0740"), False),
    ("本人王伟身份政委号邻期次邻", ("王伟", "0740"), False),  # ci is not si
    # The flat and retroflex sibilants (平翘舌) merge: shan is san (3), shi is si (4).
    ("本人刘洋审紛爭位好善零六舊", ("刘洋", "3069"), True),
    ("本人王伟身份政委号邻期是邻", ("王伟", "0740"), True),
    ("本人李四身份证尾号1850", ("赵敏", "1850"), False),
    ("本人张三身份证尾号1071", ("张三", "1077"), False),    # qi / yi: a different digit
    ("本人张三身份证尾号1078", ("张三", "1077"), False),
])
def test_names_and_digits_heard_as_near_homophones(heard, required, ok):
    r = score_reading(heard, heard, "zh-CN", required)
    assert (not r.missing) is ok, r


EN_READING = ("I, {}, with ID number ending in {}, voluntarily open a securities account with "
              "Example Securities.")


@pytest.mark.parametrize("heard,name,ok", [
    # Whisper writes a homophone of the name: the same sounds, spelled another way.
    ("I. Lee Novak, with ID number ending in 0591", "Leah Novak", True),
    ("I know a Bennett with ID number ending in 0591", "Noah Bennett", True),
    ("I, Maya Shultz, with ID number ending in 0591", "Mia Schultz", True),
    ("I, Katherine Wood, with ID number ending in 0591", "Catherine Wood", True),
    # Another applicant's name is never the name.
    ("I, Laura Green, with ID number ending in 0591", "Leah Novak", False),
    ("I, Owen Patel, with ID number ending in 0591", "Noah Bennett", False),
    ("I, Sarah Miller, with ID number ending in 0591", "Laura Green", False),
    ("I, with ID number ending in 0591", "Noah Bennett", False),
    # A short name must be heard as written: too few letters to tell a homophone apart.
    ("I, Jon Li, with ID number ending in 0591", "John Li", False),
    # Another surname after the right first name (the #12 tester's false accepts): never.
    ("I, Emily Walters, with ID number ending in 0591", "Emily Walker", False),
    ("I, Kevin Wang, with ID number ending in 0591", "Kevin Zhang", False),
    ("I, Sarah Mills, with ID number ending in 0591", "Sarah Miller", False),
    ("I, Olivia Porter, with ID number ending in 0591", "Olivia Carter", False),
    ("I, Hannah Knight, with ID number ending in 0591", "Hannah Wright", False),
    ("I, Daniel Kimball, with ID number ending in 0591", "Daniel Kimura", False),
    ("I, Alex Cheng, with ID number ending in 0591", "Alex Chen", False),
])
def test_an_english_name_heard_as_a_homophone_spelled_otherwise(heard, name, ok):
    r = score_reading(heard, EN_READING.format(name, "0591"), "en", (name, "0591"))
    assert (name not in r.missing) is ok, r
    assert "0591" not in r.missing


@pytest.mark.parametrize("heard,tail,ok", [
    ("0000", "2222", False), ("0022", "0002", False), ("0222", "0002", False),
    ("002", "0002", False), ("00002", "0002", True), ("0202", "0002", False),
    ("8111", "8811", False), ("12345", "1234", False), ("91234", "1234", False),
    ("888", "8888", True), ("一二三十", "1234", False), ("222死", "2224", True),
    ("两两两两", "2222", True),
])
def test_id_tail_rules_found_by_review(heard, tail, ok):
    assert score_reading("尾号" + heard, "尾号" + tail, "zh-CN", [tail]).passed is ok


def test_a_reading_that_negates_the_statement_fails():
    r = score_reading(SENTENCE_ZH.replace("自愿", "不自愿"), SENTENCE_ZH, "zh-CN", ["张三", "8888"])
    assert not r.passed and "a negation that is not in the text" in r.missing
    en = SENTENCE_EN.replace("voluntarily", "do not voluntarily")
    assert not score_reading(en, SENTENCE_EN, "en", ["Alex Chen", "8888"]).passed


@pytest.mark.parametrize("negated", ["并非自愿", "绝非自愿", "非自愿"])
def test_a_reading_negated_with_fei_fails(negated):
    # #12 fresh tester (fourteenth session): 并非自愿 read aloud passed on two voices.
    r = score_reading(SENTENCE_ZH.replace("自愿", negated), SENTENCE_ZH, "zh-CN",
                      ["张三", "8888"])
    assert not r.passed and "a negation that is not in the text" in r.missing


@pytest.mark.parametrize("said,intent", [("并非自愿", "deny"), ("是的，我非常愿意", "affirm")])
def test_fei_negates_only_as_a_word(said, intent):
    got = judge_text(said, "zh-CN", CONSENT_ZH).intent
    assert (got != "affirm") if intent == "deny" else (got == "affirm"), got


@pytest.mark.parametrize("said", ["是吧？", "对吧", "同意？", "是的？", "可以吧", "全部同意",
                                  "不是不愿意", "没有不同意", "不拒绝"])
def test_questions_hedges_and_double_negations_are_never_consent_or_refusal(said):
    assert judge_text(said, "zh-CN", CONSENT_ZH).intent == "unclear"


@pytest.mark.parametrize("said", ["yes?", "right?", "I agree?", "yeah right", "Yeah, right.",
                                  "Oh right."])
def test_english_questions_are_not_consent(said):
    assert judge_text(said, "en", CONSENT_EN).intent == "unclear"


def test_a_double_negation_on_a_deny_step_is_not_a_no():
    deny = AnswerSpec("deny", "没有")
    for said in ("不是没有", "也不是没有", "没有？"):
        assert judge_text(said, "zh-CN", deny).intent == "unclear", said


def test_a_phrases_step_with_a_negative_phrase_passes_it():
    spec = AnswerSpec("phrases", None, ("没有", "从来没有"))
    assert judge_text("没有", "zh-CN", spec).intent == "phrase"
    assert judge_text("从来没有", "zh-CN", spec).intent == "phrase"


def test_fuzzy_pinyin_never_merges_two_digits():
    from kiosk.speech.answers import _ZH_DIGIT_READINGS, fuzzy_pinyin

    forms = {d: {fuzzy_pinyin(r) for r in rs} for d, rs in _ZH_DIGIT_READINGS.items()}
    for a in forms:
        for b in forms:
            assert a == b or not forms[a] & forms[b], (a, b)
    assert fuzzy_pinyin("lin") == fuzzy_pinyin("ling") == fuzzy_pinyin("ning")
    assert fuzzy_pinyin("shan") == fuzzy_pinyin("san") and fuzzy_pinyin("zhi") == "zi"


# --- the recogniser's alternatives (Whisper's beam) -------------------------------------------

CONSENT_ZH = AnswerSpec("affirm", "是的，我已了解")


def test_a_misheard_requested_answer_is_found_among_the_alternatives():
    # zh-yunyang (tuning): Whisper base's beam of five for "是的，我已了解".
    beam = ["是的 物意了解", "是的 无意了解", "是的 物一了解", "是的物意了解", "是的 我已了解"]
    assert requested_among_alternatives(beam[0], beam[1:], "zh-CN", CONSENT_ZH) == "是的 我已了解"


@pytest.mark.parametrize("best,alternatives", [
    # A negation anywhere in the beam: never consent (xiaoni's "是的，我不愿意").
    ("是得握愿意", ["是得握不愿意", "是的 我已了解"]),
    ("是的 物意了解", ["是的 我不了解", "是的 我已了解"]),
    # Other speech whose beam happens to hold the answer.
    ("今天天气很好 我们一起去公园散步吧", ["是的 我已了解"]),
    # A question in the beam.
    ("是的 物意了解", ["是的 我已了解吗", "是的 我已了解"]),
    # The alternative is only a built-in short yes, not the requested answer.
    ("是的 物意了解", ["是的", "对的"]),
])
def test_alternatives_never_make_consent_of_doubt(best, alternatives):
    assert requested_among_alternatives(best, alternatives, "zh-CN", CONSENT_ZH) is None


def test_only_an_answer_near_the_requested_one_is_decoded_again():
    # The beam costs about 1 s a window: off-script speech, a refusal or a question never
    # pays it; the misheard requested answer does.
    spec = AnswerSpec("affirm", "是的，我已了解")
    assert requested_rescuable("是的 物意了解", "zh-CN", spec)
    assert not requested_rescuable("今天天气很好 我们一起去公园散步吧", "zh-CN", spec)
    assert not requested_rescuable("是的 我不了解", "zh-CN", spec)
    assert not requested_rescuable("是的 我已了解吗", "zh-CN", spec)
    assert not requested_rescuable("The weather is lovely today", "en",
                                   AnswerSpec("affirm", "yes, I do"))
    assert requested_rescuable("yes I dew", "en", AnswerSpec("affirm", "yes, I do"))


def test_a_short_requested_answer_is_never_taken_from_the_alternatives():
    spec = AnswerSpec("affirm", "是的")
    assert requested_among_alternatives("试的", ["是的"], "zh-CN", spec) is None
    assert requested_among_alternatives("yep", ["yes"], "en", AnswerSpec("affirm", "yes")) is None


def test_english_alternatives():
    spec = AnswerSpec("affirm", "yes, I do")
    assert requested_among_alternatives("yes I dew", ["yes, I do."], "en", spec) == "yes, I do."
    assert requested_among_alternatives("yes I dew", ["yes, I don't", "yes, I do."], "en",
                                        spec) is None


def test_a_deny_step_takes_nothing_from_the_alternatives():
    spec = AnswerSpec("deny", "不是我本人")
    assert requested_among_alternatives("不是我本人", ["不是我本人"], "zh-CN", spec) is None


# --- a reading's alternatives ------------------------------------------------------------------

READ_ZH = "本人罗斌，身份证尾号4637，自愿在示例证券开立证券账户。"
READ_ZH_REQUIRED = ("罗斌", "4637")
# zh-yunjian (validation voice, holdout 2) at 0.97x, as Whisper base heard it greedily, and
# the five hypotheses of its beam for the same audio.
HEARD_ZH = "本人罗斌身份政委号司律三期 自愿在势力政权开立政权账户"
BEAM_ZH = ["本人罗斌身份政委号四六三期自愿在势力政权开立政权账户",
           "本人罗斌身份政委号四六三期 自愿在势力政权开立政权账户",
           "本人罗斌身份证委号四六三期 自愿在势力政权开立政权账户",
           "本人罗斌身份证委号四六三期自愿在势力政权开立政权账户",
           "本人罗斌身份政委号四六三期 自愿在势力政权开立政权账户。"]


def test_a_reading_whose_tail_was_misheard_by_a_syllable_is_found_among_the_alternatives():
    assert not score_reading(HEARD_ZH, READ_ZH, "zh-CN", READ_ZH_REQUIRED).passed
    assert reading_among_alternatives(HEARD_ZH, BEAM_ZH, READ_ZH, "zh-CN",
                                      READ_ZH_REQUIRED) == BEAM_ZH[0]


@pytest.mark.parametrize("best,alternatives", [
    # Another tail read on purpose (two digits off), whose beam somehow holds the right one.
    ("本人罗斌身份证尾号四六八八自愿在示例证券开立证券账户", BEAM_ZH),
    # Another name read on purpose.
    ("本人李四身份证尾号四六三期自愿在示例证券开立证券账户", BEAM_ZH),
    # A negation in the beam: the statement may have been denied.
    (HEARD_ZH, ["本人罗斌身份证尾号四六三期不自愿在示例证券开立证券账户", *BEAM_ZH]),
    # The best transcript is not the sentence at all.
    ("今天天气很好我们一起去公园散步吧", BEAM_ZH),
    # No hypothesis reads it as asked.
    (HEARD_ZH, ["本人罗斌身份政委号司律三期自愿在势力政权开立政权账户"]),
])
def test_a_reading_is_never_rescued_from_a_different_or_denied_statement(best, alternatives):
    assert reading_among_alternatives(best, alternatives, READ_ZH, "zh-CN",
                                      READ_ZH_REQUIRED) is None


def test_an_english_reading_with_a_misheard_tail_digit():
    text = "I, Sofia Rossi, with ID number ending in 4637, wish to open an account."
    required = ("Sofia Rossi", "4637")
    assert reading_among_alternatives(
        "I Sofia Rossi with ID number ending in 4 6 8 7 wish to open an account",
        ["I Sofia Rossi with ID number ending in 4637 wish to open an account"], text, "en",
        required) == "I Sofia Rossi with ID number ending in 4637 wish to open an account"
    # Two digits off: another tail, never rescued.
    assert reading_among_alternatives(
        "I Sofia Rossi with ID number ending in 4 1 8 7 wish to open an account",
        ["I Sofia Rossi with ID number ending in 4637 wish to open an account"], text, "en",
        required) is None


# -- 五 heard as 母 / 姆 / 呜 in a digit run (holdouts 7 and 11: "尾号253母" for 2535) ----------

READ_2535 = "本人屈静，身份证尾号2535，自愿在示例证券开立证券账户。"


@pytest.mark.parametrize("heard", [
    "本人屈静，身份证尾号253母，自愿在示例证券开立证券账户。",   # holdout 11, zh-CN-genuine-2
    "本人屈静，身份证尾号253姆，自愿在示例证券开立证券账户。",   # holdout 7's 姆
    "本人屈静，身份证尾号253呜，自愿在示例证券开立证券账户。",
    "本人屈静，身份证尾号二五三母，自愿在示例证券开立证券账户。",
    "本人屈静，身份证尾号2母35，自愿在示例证券开立证券账户。",    # inside the run
])
def test_five_heard_as_mu_or_wu_in_a_digit_run_is_five(heard):
    r = score_reading(heard, READ_2535, "zh-CN", ["屈静", "2535"])
    assert r.passed and not r.missing, r


@pytest.mark.parametrize("heard,tail", [
    ("本人屈静，身份证尾号254母，自愿在示例证券开立证券账户。", "2535"),  # a wrong digit before
    ("本人屈静，身份证尾号253母，自愿在示例证券开立证券账户。", "2534"),  # 母 is 5, never 4
    ("本人屈静，身份证尾号母253，自愿在示例证券开立证券账户。", "5253"),  # not at a run's start
    ("本人屈静，身份证尾号253母母，自愿在示例证券开立证券账户。", "2535"),  # 25355: one too many
])
def test_a_wrong_tail_with_mu_in_it_does_not_pass(heard, tail):
    r = score_reading(heard, READ_2535.replace("2535", tail), "zh-CN", ["屈静", tail])
    assert not r.passed and tail in r.missing, r


def test_mu_and_wu_stay_characters_away_from_digits():
    assert "".join(zh_tokens("母亲和父母都同意")) == "母亲和父母都同意"
    assert "".join(zh_tokens("大写字母1")) == "大写字母1"  # before a run: not a digit
    assert "".join(zh_tokens("一母同胞，两母女")) == "一母同胞两母女"  # 一 and 两 are words
    assert "".join(zh_tokens("呜呜，姆妈")) == "呜呜姆妈"
    assert zh_tokens("尾号253母") == ["尾", "号", "2", "5", "3", "5"]
    assert zh_tokens("尾号八五母") == ["尾", "号", "8", "5", "5"]
    assert zh_tokens("尾号五母") == ["尾", "号", "5", "5"]


# -- a doubled digit of the tail said once (holdouts 4, 9 and 12) --------------------------------

READ_TAIL = "本人樊雨晴，身份证尾号{}，自愿在示例证券开立证券账户。"


@pytest.mark.parametrize("tail,heard", [
    # Whisper base on genuine natural-voice readings (holdout 12, zh-CN-genuine-0, -3, -6).
    ("3115", "本人樊雨晴身份证尾号315自愿在示例证券开立证券账户"),
    ("4227", "本人樊雨晴，身份证尾号427，自愿在示例证券开立证券账户。"),
    ("5337", "本人樊雨晴身份证尾号53期自愿在示例证券开立证券账户"),
    ("1190", "本人樊雨晴身份证尾号190自愿在示例证券开立证券账户"),          # holdouts 4 and 9
    ("3115", "本人樊雨晴身份证尾号三幺五自愿在示例证券开立证券账户"),       # as characters
])
def test_a_doubled_tail_digit_said_once_is_asked_again_and_the_evidence_says_why(tail, heard):
    # Since the #12 fresh tester (7000 read for 7700 passed as 700): 315 is 3115, 3315 or 3155
    # with one repeat said once, so it does not settle which tail was read (answers12).
    r = score_reading(heard, READ_TAIL.format(tail), "zh-CN", ["樊雨晴", tail])
    assert not r.passed and r.missing == (tail,) and r.tolerated == (), r
    assert r.ambiguous == ("the digits heard with " + SLIP_AMBIGUOUS,), r
    note = read_aloud_result(heard, Expected("read_aloud", text=READ_TAIL.format(tail),
                                             required=("樊雨晴", tail)), "zh-CN").note
    assert note.endswith("; ambiguous: the digits heard with " + SLIP_AMBIGUOUS), note
    assert "let stand" not in note


def test_a_tail_heard_as_asked_lets_nothing_stand():
    r = score_reading(READ_TAIL.format("3115"), READ_TAIL.format("3115"), "zh-CN",
                      ["樊雨晴", "3115"])
    assert r.passed and r.tolerated == ()
    assert "let stand" not in read_aloud_result(
        READ_TAIL.format("3115"), Expected("read_aloud", text=READ_TAIL.format("3115"),
                                           required=("樊雨晴", "3115")), "zh-CN").note


@pytest.mark.parametrize("tail,said", [
    ("3115", "3125"), ("3115", "3415"), ("3115", "3155"), ("3115", "3114"),  # another digit
    ("3115", "311"), ("3115", "115"), ("3115", "35"), ("3115", "31"),     # a digit left out
    ("4227", "47"), ("4227", "422"), ("5337", "533"), ("5337", "537期"),  # (537期 = 5377)
    ("3115", "8660"), ("4227", "9772"),                                   # another tail
    ("3115", "31155"), ("3115", "33115"),                                 # another digit doubled
    ("1190", "19"), ("1190", "1900"), ("3115", "三一五五"), ("3115", "三五"),
])
def test_a_wrong_tail_never_passes_as_a_doubled_digit_said_once(tail, said):
    heard = READ_TAIL.format(said)
    r = score_reading(heard, READ_TAIL.format(tail), "zh-CN", ["樊雨晴", tail])
    assert not r.passed and r.missing == (tail,), r


def test_another_name_with_a_doubled_digit_said_once_fails_on_the_name():
    r = score_reading("本人柴志刚身份证尾号315自愿在示例证券开立证券账户", READ_TAIL.format("3115"),
                      "zh-CN", ["樊雨晴", "3115"])
    assert not r.passed and "樊雨晴" in r.missing, r


@pytest.mark.parametrize("heard,ok", [
    # 315 does not settle 3115 (3315, 3155): asked again
    ("I, Alex Chen, with ID number ending in 3 1 5, voluntarily open a securities account "
     "with Example Securities.", False),
    ("I Alex Chen with ID number ending in three one five voluntarily open a securities account "
     "with example securities", False),
    ("I, Alex Chen, with ID number ending in three double one five, voluntarily open a "
     "securities account with Example Securities.", True),
    ("I, Alex Chen, with ID number ending in 3 5, voluntarily open a securities account "
     "with Example Securities.", False),
    ("I, Alex Chen, with ID number ending in 3 1 2 5, voluntarily open a securities account "
     "with Example Securities.", False),
])
def test_an_english_doubled_digit_said_once(heard, ok):
    text = SENTENCE_EN.replace("8888", "3115")
    r = score_reading(heard, text, "en", ["Alex Chen", "3115"])
    assert r.passed is ok, r
    assert r.tolerated == ()


def test_meishi_is_no_negation_but_no_consent_either():
    """没事 / 没关系 ("it's fine") veto nothing (an unbiased decode of a clear 是的，我自愿 wrote
    没事的,我自愿), and are not consent by themselves."""
    from kiosk.speech.answers import has_negation

    assert not has_negation("没事的,我自愿", "zh-CN")
    assert not has_negation("没关系", "zh-CN")
    assert has_negation("没事，我不愿意", "zh-CN")
    assert judge_text("没事的", "zh-CN", CONSENT_ZH).intent == "unclear"
    assert judge_text("没事，我不愿意", "zh-CN", CONSENT_ZH).intent in ("unclear", "deny")
