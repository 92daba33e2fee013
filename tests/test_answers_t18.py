"""Issue #12, the eighteenth session's fresh tester: a consent followed by "nobody forced me"
(是的，我自愿，没人逼我; "Yes, I do. Nobody is forcing me.") and 不是被迫的，是我自己愿意的 were
refused as a negation or as another's will; "No, nobody promised me anything." to a deny step
was refused as a negation, and a deny step's reasons spoke of "consent". The transcripts are
the ones Whisper wrote for the tester's voices (spaces for commas, no comma at all)."""

from __future__ import annotations

import pytest

from kiosk.speech import answers as a

ZH = a.AnswerSpec("affirm", "是的，我自愿")
EN = a.AnswerSpec("affirm", "yes, I do")
ZH_DENY = a.AnswerSpec("deny", "没有")
EN_DENY = a.AnswerSpec("deny", "no")


@pytest.mark.parametrize("text", [
    "是的，我自愿，没人逼我", "是的 我自愿 没人逼我", "是的我自愿没人逼我",
    "是的，我自愿，没有人强迫我", "是的，我自愿，没人让我", "是的，我自愿，没有被强迫",
    "是的，我自愿，不是被迫的", "不是被迫的，是我自己愿意的", "不是被迫的是我自己愿意的",
    "我自愿的，没有被强迫", "是的，我自愿，從來沒有人逼過我",
])
def test_a_consent_and_that_nobody_forced_me_is_consent(text):
    judged = a.judge_text(text, "zh-CN", ZH)
    assert judged.intent == "affirm" and "nobody forced" in judged.reason, judged


@pytest.mark.parametrize("text, intent", [
    ("没人让我来，是我妈叫我来的", "unclear"),   # 没人让我来 has an object: not the clause
    ("是的，不过是朋友叫我开的", "unclear"),
    ("是的，我自愿，不过是朋友叫我开的", "unclear"),
    ("是的，但我其实不想开", "unclear"),
    ("我不自愿", "deny"),
    ("没有，我不愿意", "deny"),
    ("不是我自愿的，是被迫的", "unclear"),
    ("是被迫的", "unclear"),
    ("不是我自己愿意的", "unclear"),
    ("不是，我是被迫的", "unclear"),
    ("没有，没人逼我", "unclear"),                # a no first: never a yes, nor a refusal
    ("是的，我自愿，没人逼我，是我儿子让我来的", "unclear"),
    ("是的，我自愿，没人让我来", "unclear"),
    ("是的，我自愿，没人逼我吗", "unclear"),
    ("是的，我自愿，没人逼我吧", "unclear"),
    ("是的，我自愿，没有人强迫我，但我有点担心", "unclear"),
    ("是的，我自愿，没人逼我，我不想开", "unclear"),
    ("是不是被迫的", "unclear"),                  # asked, not said
    ("是的，有没有人逼我", "unclear"),
    ("没人逼我", "unclear"),                      # no consent in it
    ("不是被迫的", "unclear"),
])
def test_refusals_and_anothers_will_are_never_consent(text, intent):
    assert a.judge_text(text, "zh-CN", ZH).intent == intent, text


def test_nobody_forced_me_is_neither_a_negation_nor_anothers_will():
    for text in ("是的 我自愿 没人逼我", "不是被迫的是我自己愿意的"):
        assert not a.has_negation(text, "zh-CN") and not a.cites_another_will(text, "zh-CN")
    assert not a.has_negation("Yes, I do. No one is forcing me.", "en")
    assert not a.cites_another_will("Yes, I do. Nobody is forcing me.", "en")
    # ...but what is said beside it still is
    assert a.has_negation("没人逼我，我不愿意", "zh-CN")
    assert a.has_negation("没人让我来", "zh-CN")
    assert a.cites_another_will("没人逼我，是我妈让我来的", "zh-CN")
    assert a.cites_another_will("Nobody is forcing me, my son told me to", "en")


def test_set_aside_unforced_keeps_the_rest():
    assert a.set_aside_unforced("是的，我自愿，没人逼我", "zh-CN") == "是的,我自愿,，"
    assert a.set_aside_unforced("是的，我自愿", "zh-CN") == "是的，我自愿"  # untouched
    assert a.tokens_equal(a.set_aside_unforced("Yes nobody forced me", "en"), "yes", "en")
    assert a.set_aside_unforced("Nobody asked me.", "en") == "Nobody asked me."


@pytest.mark.parametrize("text", [
    "Yes, I do. Nobody is forcing me.", "Yes, nobody forced me.", "Yes nobody forced me",
    "Yes, I do, I am not being forced.", "Yes, I do. No one is forcing me to do this.",
])
def test_an_english_consent_and_that_nobody_forced_me_is_consent(text):
    assert a.judge_text(text, "en", EN).intent == "affirm", text


@pytest.mark.parametrize("text", [
    "Nobody asked me if I wanted to", "Yes, but my boss is forcing me", "Yes. Actually no.",
    "Yes, I do. Nobody asked me.",      # not consulted is not "not forced"
    "Yes, nobody told me to.", "Yes, nobody forced me?", "No, nobody is forcing me.",
    "Nobody is forcing me.", "Yes, nobody forced me, but my son wants me to",
])
def test_english_refusals_and_anothers_will_are_never_consent(text):
    assert a.judge_text(text, "en", EN).intent != "affirm", text


@pytest.mark.parametrize("text", ["No, nobody promised me anything.", "No, no one has.",
                                  "No. Nobody did.", "No, none of them."])
def test_an_english_no_then_nobody_did_it_is_a_no(text):
    judged = a.judge_text(text, "en", EN_DENY)
    assert judged.intent == "deny" and judged.reason == "a no, then that nobody did it", judged


@pytest.mark.parametrize("text", [
    "Yes, someone promised me 10%", "Yes, they did.", "No nobody promised me anything",
    "No, but someone said it was safe.", "No, no one has, I think.",
    "No, none of them except the manager.", "No, nobody but the manager.",
    "No, nobody did, did they", "No, nobody didn't", "Yes, nobody promised me anything",
])
def test_anything_else_to_an_english_deny_step_is_not_its_no(text):
    assert a.judge_text(text, "en", EN_DENY).intent != "deny", text


@pytest.mark.parametrize("text", ["没有，没人承诺过，除了经理", "没有，没人承诺过除了经理",
                                  "没有，没人承诺过，只有经理说过"])
def test_an_exception_to_nobody_is_not_a_no(text):
    assert a.judge_text(text, "zh-CN", ZH_DENY).intent != "deny", text


def test_nobody_forced_me_is_not_taken_on_a_deny_step():
    # the set-aside is for a wanted yes only: 没人逼我 is no answer to "has anyone promised"
    for text in ("是的，没人逼我", "没人逼我"):
        assert a.judge_text(text, "zh-CN", ZH_DENY).intent == "unclear", text


def test_a_deny_steps_reasons_speak_of_the_no_not_of_consent():
    mixed = a.judge_text("No, but someone said it was safe.", "en", EN_DENY)
    assert (mixed.intent, mixed.reason) == ("unclear", a.NO_AMONG_OTHER_WORDS)
    zh_mixed = a.judge_text("没有 但是有人说宝板", "zh-CN", ZH_DENY)
    assert (zh_mixed.intent, zh_mixed.reason) == ("unclear", a.NO_AMONG_OTHER_WORDS)
    for text, locale in (("工作人员让我说是的", "zh-CN"), ("我觉得是吧", "zh-CN"),
                         ("The clerk said I should say that", "en"), ("I think so", "en")):
        other = a.judge_text(text, locale, ZH_DENY if locale == "zh-CN" else EN_DENY)
        assert other.intent == "unclear" and "never consent" not in other.reason \
            and a.NEVER_THE_NO in other.reason, other
    # an affirm step keeps its wording
    assert a.judge_text("是的，我不愿意", "zh-CN", ZH).reason \
        == "a negation was heard: never consent"
    assert a.judge_text("工作人员让我说是的", "zh-CN", ZH).reason == a.ANOTHER_WILL


def test_nobody_forced_me_never_makes_a_steps_own_no_phrase():
    spec = a.AnswerSpec("phrases", None, ("没有", "有"))
    assert a.judge_text("没有，没人逼我", "zh-CN", spec).intent == "unclear"
    assert a.judge_text("有，没人逼我", "zh-CN", spec).intent == "phrase"
