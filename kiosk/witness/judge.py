"""The live ``StepJudge``: challenges by the face observer, answers by the voice observer.

The judge writes nothing: what the judging leaves on the timeline (``answer_recognised``,
``id_card_captured``), in ``card.json`` (the card's readings) and tells the page
(``recognised``) travels in its ``Judgement``, which the runner writes. The judge reads only
the observers, the session's language, the flow's one setting and the server's recogniser,
all given when it is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from kiosk.protocol import AnswerDecision, StepKind, StepOutcome
from kiosk.session import PlannedStep
from kiosk.speech.answers import has_negation
from kiosk.speech.observer import VoiceObserver, hear_answer, shown_words
from kiosk.witness.ports import Judgement

if TYPE_CHECKING:
    from kiosk.liveness.observer import FaceObserver
    from kiosk.speech import Recognizer
    from kiosk.witness.live_card import LiveCard

# What the auditor's pre-review reads: only a decided answer is "agree" / "disagree".
OUTCOME_DECISION: dict[StepOutcome, AnswerDecision] = {
    StepOutcome.PASS: AnswerDecision.AGREE, StepOutcome.STOP: AnswerDecision.DISAGREE}


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
                                window)
        return Judgement(StepOutcome.UNVERIFIED,
                         {"engine": "none", "reason": f"no automatic check for {step.kind} steps"})


def judge_answer(voice: VoiceObserver, recognizer: Recognizer, locale: str, show_words: bool,
                 step: PlannedStep, window: tuple[float, float]) -> Judgement:
    """Hear the answer of ``window`` (media seconds; ``kiosk.speech.observer.hear_answer``).

    Returns the ``Judgement``: its outcome and detail, the ``answer_recognised`` data for a
    question step (None for a read-aloud step) and the page's ``recognised`` message, whose
    ``text`` is empty unless ``show_words`` (the flow's ``show_recognised_words``) and the
    words are meaningful."""
    heard = hear_answer(voice, recognizer, locale, step, window)
    answer, detail, outcome = heard.answer, heard.detail, StepOutcome(heard.outcome)
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
                                            and has_negation(answer.transcript, locale))}
    # The investor sees the words heard only when they are meaningful (characters or words of
    # a judged answer, never phones or pinyin) and the broker's flow allows it; the evidence
    # always keeps the full transcript.
    shown = shown_words(answer, heard.expected, locale) if show_words else ""
    # An answer heard clearly but not taken: the page says what to say instead ("ask", the
    # step's requested answer) and why ("hint": understanding_only | heard), never "we could
    # not hear that clearly" (#12 fresh tester).
    hint = detail.get("retry_hint", "")
    return Judgement(outcome, detail, answer=recorded,
                     shown={"step": step.id, "text": shown, "intent": answer.intent,
                            "outcome": outcome, "refusal": bool(detail.get("refusal")),
                            "hint": hint, "ask": (step.answer or "") if hint else ""})
