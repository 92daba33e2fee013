"""What an answer window should hold: a yes, a no, one of some phrases, or a text read aloud."""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.speech.answers import AnswerSpec

KINDS = ("affirm", "deny", "phrases", "read_aloud")


@dataclass(frozen=True)
class Expected:
    """What the step expects: a yes, a no, one of some phrases, or a text read aloud.

    ``requested`` is the answer the guide asks for (always accepted when clearly said);
    ``phrases`` / ``refuse`` add accepted answers and refusals to the built-in lexicons
    (``kiosk.speech.answers``); ``required`` lists parts of a read-aloud text that must be
    heard exactly (the name, the ID tail).
    """

    kind: str
    phrases: list[str] = field(default_factory=list)
    text: str | None = None
    requested: str | None = None
    refuse: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"expected kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "phrases" and not (any(p.strip() for p in self.phrases)
                                           or (self.requested or "").strip()):
            raise ValueError("expected kind 'phrases' needs at least one non-empty phrase")
        if self.kind == "read_aloud" and not (self.text or "").strip():
            raise ValueError("expected kind 'read_aloud' needs the text to be read")

    def spec(self) -> AnswerSpec:
        """The question's accepted answers as ``kiosk.speech.answers`` judges them."""
        if self.kind == "read_aloud":
            raise ValueError("a read-aloud step has no answer spec; use score_reading")
        return AnswerSpec(self.kind, (self.requested or "").strip() or None,
                          tuple(p for p in self.phrases if p.strip()),
                          tuple(r for r in self.refuse if r.strip()))
