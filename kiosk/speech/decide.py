"""The decision rule: what a heard answer means for the step. Consent passes only on a clear yes.

It judges one answer only. Whether a ``retry`` is asked again or flagged (the step's retries
and ``on_fail``) is decided in one place, the state machine (``kiosk.session.settle``).
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.protocol import StepOutcome
from kiosk.speech.expected import Expected
from kiosk.speech.recognize import Answer, min_score

# What a heard answer can mean (never ``unverified``: the rule always judges).
DECISIONS = (StepOutcome.PASS, StepOutcome.STOP, StepOutcome.RETRY, StepOutcome.FLAG)
# The intent that answers each expected kind, and the one that refuses it.
_WANTED = {"affirm": "affirm", "deny": "deny", "phrases": "phrase", "read_aloud": "phrase"}
_OPPOSITE = {"affirm": "deny", "deny": "affirm", "phrases": "deny", "read_aloud": None}


@dataclass(frozen=True)
class Decision:
    """pass: answered; stop: the investor refused; retry: not understood (asked again while
    the step's retries last, ``kiosk.session.settle``); flag: human review. ``outcome`` is a
    ``StepOutcome`` (given as one or as its string); ValueError for anything else."""

    outcome: StepOutcome
    reason: str

    def __post_init__(self):
        if self.outcome not in DECISIONS:
            raise ValueError(
                f"decision outcome {self.outcome!r} is not one of {', '.join(DECISIONS)}"
            )
        object.__setattr__(self, "outcome", StepOutcome(self.outcome))


def decide(answer: Answer, expected: Expected, threshold: float | None = None) -> Decision:
    """Turn one heard answer into an outcome.

    Only a positive match at or above the threshold (default: ``min_score`` of the engine)
    passes; a refusal stops; no or unclear speech is ``retry``; an answer no engine could
    judge is ``flag``.
    """
    need = min_score(expected, answer.engine) if threshold is None else threshold
    wanted, opposite = _WANTED[expected.kind], _OPPOSITE[expected.kind]
    if answer.intent == "needs_review":
        return Decision(StepOutcome.FLAG,
                        "speech present but no engine could judge it: human review")
    if answer.intent == wanted and answer.score >= need:
        return Decision(StepOutcome.PASS,
                        f"{wanted} heard (score {answer.score:.2f} >= {need:.2f})")
    if opposite is not None and answer.intent == opposite and answer.score >= need:
        return Decision(StepOutcome.STOP, f"{opposite} heard (score {answer.score:.2f})")
    if answer.intent == "silence" or not answer.speech_present:
        why = "no speech in the answer window"
    elif answer.intent in (wanted, opposite):
        why = f"{answer.intent} heard with low confidence ({answer.score:.2f} < {need:.2f})"
    else:
        why = f"answer not understood ({answer.intent})"
    return Decision(StepOutcome.RETRY, why)
