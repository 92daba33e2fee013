"""Issue #12: after an answer heard as a refusal (or holding a "no"), the retried prompt and
the investor's page say it was heard as a no, never "I did not catch that"."""

from __future__ import annotations

from kiosk.session import (
    Joined,
    MediaConnected,
    PlannedStep,
    PromptEnded,
    SendStep,
    StepResult,
    WindowTimeout,
    WitnessState,
    transition,
)
from kiosk.speech.expected import Expected
from kiosk.speech.observer import heard_refusal
from kiosk.speech.recognize import Answer
from kiosk.witness.plan import REFUSAL_RETRY_PREFIX, RETRY_PREFIX, retry_prompt


def _answer(transcript: str, intent: str, negation: bool = False) -> Answer:
    return Answer(True, transcript, intent, 0.8, "faster-whisper", "", [], 1.0,
                  negation=negation)


def test_a_refusal_is_told_apart_from_an_answer_not_heard():
    yes = Expected("affirm", requested="是的，我自愿")
    assert heard_refusal(_answer("是的，我不愿意", "unclear"), yes, "zh-CN")
    assert heard_refusal(_answer("不", "deny"), yes, "zh-CN")
    assert heard_refusal(_answer("是的我自愿", "unclear", negation=True), yes, "zh-CN")
    assert not heard_refusal(_answer("今天天气很好", "unclear"), yes, "zh-CN")
    assert not heard_refusal(Answer(False, "", "silence", 0.0, "silero-vad", "", [], 1.0), yes,
                             "zh-CN")
    # Where a no is the wanted answer, a no is not "heard as a refusal".
    assert not heard_refusal(_answer("没有", "deny"), Expected("deny", requested="没有"), "zh-CN")


PLAN = (PlannedStep("consent", "question", "Do you agree?", "Consent", answer_seconds=4,
                    retries=1, expect="affirm"),)


def _retried(detail: dict) -> SendStep:
    state, log = WitnessState(), []
    for ev in (Joined(), MediaConnected(), PromptEnded(1), WindowTimeout(1),
               StepResult(1, "retry", detail)):
        state, effects = transition(PLAN, state, ev)
        log += effects
    return next(e for e in log if isinstance(e, SendStep) and e.attempt == 1)


def test_the_retry_after_a_refusal_says_it_was_heard_as_a_no():
    assert _retried({"intent": "unclear", "refusal": True}).after_refusal
    assert not _retried({"intent": "unclear", "refusal": False}).after_refusal
    assert not _retried({"intent": "silence"}).after_refusal
    for locale in ("zh-CN", "en"):
        text, spoken = retry_prompt("Q?", "Q", locale, after_refusal=True)
        assert text.startswith(REFUSAL_RETRY_PREFIX[locale])
        assert RETRY_PREFIX[locale] not in text and spoken and spoken.endswith("Q")
    assert "没有听清楚" not in REFUSAL_RETRY_PREFIX["zh-CN"]
    assert retry_prompt("Q?", None, "en")[0].startswith(RETRY_PREFIX["en"])
