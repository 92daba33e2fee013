"""The live ``StepJudge``: challenges by the face observer, answers by the voice observer.

The judge writes nothing: what the judging leaves on the timeline (``answer_recognised``,
``id_card_captured``), in ``card.json`` (the card's readings) and tells the page
(``recognised``) travels in its ``Judgement``, which the runner writes. The judge reads only
the observers, the session's language, the flow's one setting and the server's recogniser,
all given when it is made.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from kiosk.protocol import AnswerDecision, StepKind, StepOutcome
from kiosk.session import PlannedStep
from kiosk.speech.answers import (
    NEGATION_ADDED,
    done_by_another,
    has_negation,
    hedges,
    is_question,
    is_zh,
    score_reading,
    set_aside_decided,
)
from kiosk.speech.observer import (
    Heard,
    VoiceObserver,
    hear_answer,
    shown_words,
    speaks_of_another_will,
)
from kiosk.speech.recognize import min_score
from kiosk.speech.words import is_digits
from kiosk.witness.ports import Judgement

if TYPE_CHECKING:
    from kiosk.liveness.observer import FaceObserver
    from kiosk.speech import Recognizer
    from kiosk.witness.live_card import LiveCard

# What the auditor's pre-review reads: only a decided answer is "agree" / "disagree".
OUTCOME_DECISION: dict[StepOutcome, AnswerDecision] = {
    StepOutcome.PASS: AnswerDecision.AGREE, StepOutcome.STOP: AnswerDecision.DISAGREE}


# Why an answer was judged as it was, written with it (``reason_code`` in ``step_result`` and
# ``answer_recognised``) for the pre-review, which reads it instead of the recogniser's note.
# A question step: passed | silence | coerced (someone else's will or an order, or someone
# else read for the investor) | question |
# hesitation (also a hedge or a reservation: 我觉得是, 好吧, "I guess so", "yes, but I'm
# worried") | refusal (nothing but a no) | negation (a no inside another answer) |
# understanding_only | heard (heard clearly, other words) | needs_review | unclear. A reading:
# passed | silence | reading_missing (a required part not heard) | reading_negation (a "not"
# the text does not hold) | reading_error_rate | unclear.
# The doubt codes among them: ``kiosk.protocol.DOUBT_CODES``.
# The retried prompt after an answer of doubt (``kiosk.witness.plan.HEARD_RETRY_PREFIX``): it
# asks the question again without the words to say.
DOUBT_HINTS = {"coerced": "own_will", "question": "question", "hesitation": "hesitation"}
# An answer that asks rather than answers (我需要回答什么？, "what should I say?"). Wider than
# ``answers``' question test, which a question without 吗 / 呢 / "?" passes as words heard.
ZH_QUESTION = ("?", "？", "吗", "呢", "什么", "怎么", "为什么", "如何", "啥", "哪", "是不是",
               "要不要", "能不能", "可不可以", "该说", "该怎么")
# A wh-word counts where a question puts it: opening the answer or a clause, or before an
# auxiliary ("so what do I say"); "that's what I want" is not a question.
EN_QUESTION = re.compile(
    r"\?|(?:^|[,.;:!]\s*|\b(?:so|and|but|then|um|uh|er|sorry|ok|okay)\s+)"
    r"(?:what|how|why|which|who|where)\b|\b(?:what|how|why|which|who|where)\s+(?:should|do|"
    r"does|did|can|could|must|shall|is|are|am|was|were|would|will)\b|^\s*(?:should|do|does|"
    r"can|could|must|shall|is|are|am|may)\s+(?:i|we|you|it|this|that)\b", re.IGNORECASE)
# An answer that hesitates (我再想想, 算了, "let me think", "I'm not sure").
ZH_HESITATION = ("想想", "想一想", "考虑", "不确定", "不太确定", "犹豫", "没想好", "等一下", "等等",
                 "算了", "再说", "说不好", "不好说", "不知道")
EN_HESITATION = re.compile(
    r"\b(?:let me think|think about it|think it over|not sure|unsure|maybe|don'?t know|do not "
    r"know|wait|hold on|never mind|forget it|not certain|later)\b", re.IGNORECASE)


def asks(text: str, locale: str) -> bool:
    """Whether a transcript asks a question instead of answering (``ZH_QUESTION``,
    ``EN_QUESTION``). 吧 with no question mark is not a question (``answers.is_question``) but
    reluctance or a guess (好吧，我自愿; 我再考虑一下吧; 可能吧; 自愿吧): ``hesitates``."""
    if is_question(text, locale):
        return True
    return (any(w in text for w in ZH_QUESTION) if is_zh(locale)
            else bool(EN_QUESTION.search(text)))


def hesitates(text: str, locale: str, own: Sequence[str] = ()) -> bool:
    """Whether a transcript hesitates (``ZH_HESITATION``, ``EN_HESITATION``), hedges or holds a
    reservation (``answers.hedges``: 我觉得是自愿的, 好吧, "I think so", "yes, but I'm
    worried"; in Mandarin also a 吧 that ends a clause, 可能吧, 自愿吧, unless it is of ``own``,
    the step's own answers, whose words are not a hedge). A decided phrase (我考虑好了, 我已经想
    清楚了, "I've made up my mind") is set aside first (``answers.set_aside_decided``): its 考虑
    / 想 / "thought" are a decision taken, not one put off."""
    if hedges(text, locale, own):
        return True
    text = set_aside_decided(text, locale)
    if is_zh(locale):
        return any(w in text for w in ZH_HESITATION)
    return bool(EN_HESITATION.search(text))


def reason_code(heard: Heard, locale: str) -> str:
    """Why a question step's answer was judged as it was (see ``DOUBT_CODES``): what the
    pre-review reads and what the retried prompt answers."""
    answer, detail = heard.answer, heard.detail
    if heard.outcome == StepOutcome.PASS:
        return "passed"
    if answer.intent == "silence" or not answer.speech_present:
        return "silence"
    text = answer.transcript
    if detail.get("retry_hint") == "own_will" or (text and (
            speaks_of_another_will(text, locale) or done_by_another(text, locale))):
        # (someone else read it for the investor, 我儿子帮我读的: asked to answer for themselves)
        return "coerced"
    if text and asks(text, locale):
        return "question"
    own = [t for t in (heard.expected.requested or "", *heard.expected.phrases) if t.strip()]
    if text and hesitates(text, locale, own):
        return "hesitation"
    if answer.intent == "deny":
        return "refusal"
    if detail.get("refusal"):
        return "negation"
    if detail.get("retry_hint") in ("understanding_only", "heard"):
        return str(detail["retry_hint"])
    if answer.intent == "needs_review":
        return "needs_review"
    return "unclear"


def reading_fields(heard: Heard, locale: str) -> dict:
    """A reading's judgement as fields (``reason_code``, ``error_rate``, ``unit``, ``missing``,
    ``tolerated``), from ``answers.score_reading`` of the transcript heard, as the engine
    judged it; {} when that score is not the one the engine gave (an engine that compared
    another text), so the pre-review falls back to the note."""
    answer, expected = heard.answer, heard.expected
    if answer.intent == "silence" or not answer.speech_present:
        return {"reason_code": "silence"}
    text = expected.text or ""
    required = tuple(expected.required) or ((text,) if is_digits(text) else ())
    r = score_reading(answer.transcript, text, locale, required)
    if abs(round(r.score, 3) - float(answer.score)) > 0.0015:
        return {}
    missing = [m for m in r.missing if m != NEGATION_ADDED]
    if heard.outcome == StepOutcome.PASS:
        code = "passed"
    elif missing:
        code = "reading_missing"
    elif NEGATION_ADDED in r.missing:
        code = "reading_negation"
    elif r.error_rate > 1.0 - min_score(expected, answer.engine):
        code = "reading_error_rate"
    else:
        code = "unclear"
    return {"reason_code": code, "error_rate": round(r.error_rate, 3), "unit": r.unit,
            "missing": missing, "negation_added": NEGATION_ADDED in r.missing,
            "tolerated": list(r.tolerated)}


class Observers(Protocol):
    """The witness's observers, read when a window is judged (``WitnessRunner``: they start
    at the join, after the judge is made); None when switched off."""

    @property
    def face(self) -> FaceObserver | None: ...

    @property
    def voice(self) -> VoiceObserver | None: ...

    @property
    def card(self) -> LiveCard | None: ...


class ObserverJudge:
    """Judges the windows of one witness's steps (a ``kiosk.witness.ports.StepJudge``):
    challenges by the face observer, answers by the voice observer, ID cards by the card
    capture (``kiosk.witness.live_card``); anything without an automatic check goes to a human
    (``unverified``).

    ``observers``: where the face and voice observers are found; ``locale``: the session's
    language; ``show_words``: the flow's ``show_recognised_words``; ``recognizer``: the
    server's shared recogniser (called only when an answer is heard)."""

    def __init__(self, observers: Observers, locale: str, show_words: bool,
                 recognizer: Callable[[], Recognizer]) -> None:
        self.observers = observers
        self.locale = locale
        self.show_words = show_words
        self.recognizer = recognizer

    def judge(self, step: PlannedStep, window: tuple[float, float], seq: int,
              attempt: int) -> Judgement:
        if step.kind == StepKind.CHALLENGE:
            face = self.observers.face
            if face is None:
                return Judgement(StepOutcome.UNVERIFIED, {"engine": "none",
                                                          "reason": "liveness check disabled"})
            outcome, detail = face.challenge_outcome(seq, window[1])
            return Judgement(StepOutcome(outcome), detail)
        if step.kind == StepKind.ID_DOCUMENT:
            card = self.observers.card
            if card is None:
                return Judgement(StepOutcome.UNVERIFIED, {
                    "engine": "none", "reason": "the card capture was not running"})
            readings = card.read(step, seq, window[1])
            if readings is None:
                return Judgement(StepOutcome.UNVERIFIED, {
                    "engine": "none", "reason": "the card capture was not running"})
            # What was read is kept by the runner (card.json), which then settles the step.
            return Judgement(StepOutcome.UNVERIFIED, {
                "engine": "none", "reason": "the card readings were not kept"}, card=readings)
        if step.listens:
            voice = self.observers.voice
            if voice is None:
                return Judgement(StepOutcome.UNVERIFIED, {"engine": "none",
                                                          "reason": "speech check disabled"})
            return judge_answer(voice, self.recognizer(), self.locale, self.show_words, step,
                                window, attempt)
        return Judgement(StepOutcome.UNVERIFIED,
                         {"engine": "none", "reason": f"no automatic check for {step.kind} steps"})


def judge_answer(voice: VoiceObserver, recognizer: Recognizer, locale: str, show_words: bool,
                 step: PlannedStep, window: tuple[float, float], attempt: int = 0) -> Judgement:
    """Hear the answer of ``window`` (media seconds; ``kiosk.speech.observer.hear_answer``).

    Returns the ``Judgement``: its outcome and detail, the ``answer_recognised`` data for a
    question step (None for a read-aloud step) and the page's ``recognised`` message, whose
    ``text`` is empty unless ``show_words`` (the flow's ``show_recognised_words``) and the
    words are meaningful and sure (``kiosk.speech.observer.words_sure``: never junk, a loop,
    a very unsure hearing or words of someone else's will, which the page does not echo)."""
    heard = hear_answer(voice, recognizer, locale, step, window)
    answer, detail, outcome = heard.answer, dict(heard.detail), StepOutcome(heard.outcome)
    # Why, as fields the pre-review reads (never parsed back out of the recogniser's note).
    detail["threshold"] = min_score(heard.expected, answer.engine)
    if step.kind == StepKind.READ_ALOUD:
        detail.update(reading_fields(heard, locale))
    else:
        code = reason_code(heard, locale)
        detail["reason_code"] = code
        if code in DOUBT_HINTS and outcome in (StepOutcome.RETRY, StepOutcome.STOP):
            # Asked again without the words to say (kiosk.witness.plan.leads).
            detail["retry_hint"] = DOUBT_HINTS[code]
    recorded = None
    if step.kind == StepKind.QUESTION:
        recorded = {
            "step": step.id, "decision": OUTCOME_DECISION.get(outcome, AnswerDecision.UNCLEAR),
            "intent": answer.intent,
            "text": answer.transcript,
            "t_start": detail["speech_spans"][0][0] if answer.spans else window[0],
            "t_end": detail["speech_spans"][-1][1] if answer.spans else window[1],
            "score": detail["score"], "engine": answer.engine,
            # A "no" hidden in an unclear answer: the pre-review never lets a later yes
            # outweigh it (kiosk.review.prereview).
            "negation": answer.negation or (bool(answer.transcript)
                                            and has_negation(answer.transcript, locale)),
            "reason_code": detail["reason_code"], "attempt": attempt}
    # The investor sees the words heard only when they are meaningful (characters or words of
    # a judged answer, never phones or pinyin), sure (``words_sure``) and the broker's flow
    # allows it; the evidence always keeps the full transcript.
    shown = shown_words(answer, heard.expected, locale) if show_words else ""
    # An answer heard clearly but not taken: the page says what to say instead ("ask", the
    # step's requested answer) and why ("hint": understanding_only | heard), never "we could
    # not hear that clearly" (#12 fresh tester). After an answer of doubt (own_will, question,
    # hesitation) the page is never given the words to say.
    hint = detail.get("retry_hint", "")
    ask = (step.answer or "") if hint in ("heard", "understanding_only") else ""
    return Judgement(outcome, detail, answer=recorded,
                     shown={"step": step.id, "text": shown, "intent": answer.intent,
                            "outcome": outcome, "refusal": bool(detail.get("refusal")),
                            "hint": hint, "ask": ask})
