"""The live ``StepJudge``: challenges by the face observer, answers by the voice observer.

What the judging leaves on the timeline (``answer_recognised``) and tells the page
(``recognised``) goes through the runner's own ``record`` and ``emit``: the observers only
report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from kiosk.protocol import ServerEvent, StepOutcome, TimelineEvent
from kiosk.session import PlannedStep
from kiosk.speech.answers import has_negation
from kiosk.speech.observer import VoiceObserver, hear_answer, shown_words

if TYPE_CHECKING:
    from kiosk.liveness.observer import FaceObserver
    from kiosk.speech import Recognizer
    from kiosk.witness.live_card import LiveCard

# What the auditor's pre-review reads: only a decided answer is "agree" / "disagree".
OUTCOME_DECISION: dict[str, str] = {StepOutcome.PASS: "agree", StepOutcome.STOP: "disagree"}


class ShowsWords(Protocol):
    """The flow's setting the judge reads (``kiosk.flows.model.Flow``)."""

    @property
    def show_recognised_words(self) -> bool: ...


class HasRecognizer(Protocol):
    """The server's shared recogniser (``kiosk.services.KioskServices.recognizer``)."""

    def recognizer(self) -> Recognizer: ...


class JudgedWitness(Protocol):
    """What the judge uses of the witness it judges (``kiosk.witness.runner.WitnessRunner``):
    its observers (None when switched off), locale, flow and recogniser, and the runner's own
    ``record`` (timeline) and ``emit`` (page)."""

    @property
    def face(self) -> FaceObserver | None: ...

    @property
    def voice(self) -> VoiceObserver | None: ...

    @property
    def card(self) -> LiveCard | None: ...

    @property
    def locale(self) -> str: ...

    @property
    def flow(self) -> ShowsWords: ...

    @property
    def services(self) -> HasRecognizer: ...

    def record(self, type_: str, data: dict | None = None) -> dict | None: ...

    def emit(self, event: ServerEvent, data: dict) -> None: ...


class ObserverJudge:
    """Judges the windows of ``runner``'s steps (a ``kiosk.witness.ports.StepJudge``): challenges
    by the face observer, answers by the voice observer, ID cards by the card capture
    (``kiosk.witness.live_card``); anything without an automatic check goes to a human
    (``unverified``)."""

    def __init__(self, runner: JudgedWitness) -> None:
        self.runner = runner

    def judge(self, step: PlannedStep, window: tuple[float, float], seq: int,
              attempt: int) -> tuple[str, dict]:
        face = self.runner.face
        if step.kind == "challenge":
            if face is None:
                return StepOutcome.UNVERIFIED, {"engine": "none",
                                                "reason": "liveness check disabled"}
            return face.challenge_outcome(seq, window[1])
        if step.kind == "id_document":
            card = self.runner.card
            if card is None:
                return StepOutcome.UNVERIFIED, {"engine": "none",
                                                "reason": "the card capture was not running"}
            return card.judge(step, seq, window[1])
        if step.listens:
            return judge_answer(self.runner, step, window)
        return StepOutcome.UNVERIFIED, {"engine": "none",
                                        "reason": f"no automatic check for {step.kind} steps"}


def judge_answer(runner: JudgedWitness, step: PlannedStep,
                 window: tuple[float, float]) -> tuple[str, dict]:
    """Hear the answer of ``window`` (``kiosk.speech.observer.hear_answer``), record it and
    tell the page what was heard; returns ``(outcome, detail)``.

    ``runner``: see ``JudgedWitness`` (its ``face`` is not used here).
    """
    voice = runner.voice
    if voice is None:
        return StepOutcome.UNVERIFIED, {"engine": "none", "reason": "speech check disabled"}
    heard = hear_answer(voice, runner.services.recognizer(), runner.locale, step, window)
    answer, detail = heard.answer, heard.detail
    if step.kind == "question":
        runner.record(TimelineEvent.ANSWER_RECOGNISED, {
            "step": step.id, "decision": OUTCOME_DECISION.get(heard.outcome, "unclear"),
            "intent": answer.intent,
            "text": answer.transcript,
            "t_start": detail["speech_spans"][0][0] if answer.spans else window[0],
            "t_end": detail["speech_spans"][-1][1] if answer.spans else window[1],
            "score": detail["score"], "engine": answer.engine,
            # A "no" hidden in an unclear answer: the pre-review never lets a later yes
            # outweigh it (kiosk.review.prereview).
            "negation": bool(answer.transcript) and has_negation(answer.transcript,
                                                                 runner.locale)})
    # The investor sees the words heard only when they are meaningful (characters or words of
    # a judged answer, never phones or pinyin) and the broker's flow allows it; the evidence
    # always keeps the full transcript.
    shown = shown_words(answer, heard.expected) if runner.flow.show_recognised_words else ""
    runner.emit(ServerEvent.RECOGNISED, {"step": step.id, "text": shown,
                                         "intent": answer.intent, "outcome": heard.outcome})
    return heard.outcome, detail
