"""The decision rule: what a heard answer means for the step. Consent passes only on a clear yes."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.speech.expected import Expected
from kiosk.speech.recognize import Answer, min_score

OUTCOMES = ("pass", "stop", "retry", "flag")
# The intent that answers each expected kind, and the one that refuses it.
_WANTED = {"affirm": "affirm", "deny": "deny", "phrases": "phrase", "read_aloud": "phrase"}
_OPPOSITE = {"affirm": "deny", "deny": "affirm", "phrases": "deny", "read_aloud": None}


@dataclass(frozen=True)
class Decision:
    """pass: answered; stop: the investor refused; retry: ask again; flag: human review."""

    outcome: str
    reason: str

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise ValueError(
                f"decision outcome {self.outcome!r} is not one of {', '.join(OUTCOMES)}"
            )


def decide(answer: Answer, expected: Expected, attempt: int, max_retries: int,
           threshold: float | None = None) -> Decision:
    """Turn one heard answer into an outcome.

    ``attempt`` is 0 for the first answer; ``max_retries`` is how many times the question may be
    asked again. Only a positive match at or above the threshold passes; a refusal stops; no or
    unclear speech is asked again until the retries run out, then flagged; an answer no engine
    could judge is always flagged.
    """
    if attempt < 0 or max_retries < 0:
        raise ValueError(f"attempt and max_retries must be >= 0, got {attempt}, {max_retries}")
    need = min_score(expected, answer.engine) if threshold is None else threshold
    wanted, opposite = _WANTED[expected.kind], _OPPOSITE[expected.kind]
    if answer.intent == "needs_review":
        return Decision("flag", "speech present but no engine could judge it: human review")
    if answer.intent == wanted and answer.score >= need:
        return Decision("pass", f"{wanted} heard (score {answer.score:.2f} >= {need:.2f})")
    if opposite is not None and answer.intent == opposite and answer.score >= need:
        return Decision("stop", f"{opposite} heard (score {answer.score:.2f})")
    if answer.intent == "silence" or not answer.speech_present:
        why = "no speech in the answer window"
    elif answer.intent in (wanted, opposite):
        why = f"{answer.intent} heard with low confidence ({answer.score:.2f} < {need:.2f})"
    else:
        why = f"answer not understood ({answer.intent})"
    if attempt < max_retries:
        return Decision("retry", f"{why}; asking again ({attempt + 1} of {max_retries})")
    return Decision("flag", f"{why}; no retries left: human review")
