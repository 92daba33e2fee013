"""Planning a witness: a flow's steps filled in for one investor, with its random draws.

One rule for the time the camera watches (``kiosk.flows.model.observe_seconds``, as in the
flow's time estimate); a question's answer window is the flow's ``answer_seconds``.
"""

from __future__ import annotations

import random

from kiosk import session as sm
from kiosk.flows.model import observe_seconds
from kiosk.guide.normalise import speakable
from kiosk.protocol import StepKind


def plan_witness(
    flow, locale: str, variables: dict, rng: random.Random
) -> tuple[sm.PlannedStep, ...]:
    """Fill in the flow's texts for this investor and make its random draws. Each step's
    ``kind`` is a ``kiosk.protocol.StepKind``."""
    steps = []
    for step in flow.steps:
        kind = StepKind(step.kind)
        draw = None
        challenges: tuple[str, ...] = ()
        read_text = None
        required: tuple[str, ...] = ()
        answer, accepted, refuse = None, (), ()
        if kind == StepKind.READ_ALOUD:
            draw = flow.draw_read_aloud(step, locale, rng)
            read_text = flow.reading_text(step, locale, variables, draw)
            required = flow.reading_required(step, locale, variables)
        elif kind == StepKind.QUESTION:
            answer, accepted, refuse = step.answer_spec(locale)
        elif kind == StepKind.CHALLENGE:
            challenges = tuple(flow.draw_challenges(step, rng))
            draw = list(challenges)
        text = flow.prompt_text(step, locale, variables, draw=draw)
        spoken = flow.prompt_text(step, locale, variables, draw=draw, spoken=True)
        steps.append(sm.PlannedStep(
            id=step.id,
            kind=kind,
            text=text,
            title=step.label(locale),
            answer_seconds=getattr(step, "answer_seconds", None),
            seconds=_window_seconds(step, challenges),
            retries=step.retries,
            on_fail=step.on_fail,
            expect=getattr(step, "expect", None),
            phrases=accepted,
            read_text=read_text,
            answer=answer,
            refuse=refuse,
            required=required,
            challenges=challenges,
            sides=tuple(getattr(step, "sides", ()) if kind == StepKind.ID_DOCUMENT else ()),
            side_seconds=(getattr(step, "seconds", None) if kind == StepKind.ID_DOCUMENT
                          else None),
            spoken=spoken,
        ))
    return tuple(steps)


def _window_seconds(step, challenges) -> float | None:
    """How long the camera or a wait step gets, from the flow's settings (the camera's time
    by the same rule as the flow's time estimate: ``kiosk.flows.model.observe_seconds``)."""
    if step.kind == StepKind.WAIT:
        return step.seconds
    if step.kind == StepKind.ID_DOCUMENT:
        return observe_seconds(step.kind, step.timeout, sides=len(step.sides),
                               side_seconds=step.seconds)
    return observe_seconds(step.kind, step.timeout, len(challenges))


# What the guide says before a retried step (the live witness and the broker's preview).
RETRY_PREFIX = {
    "zh-CN": "抱歉，我没有听清楚，请再回答一次。",
    "en": "Sorry, I did not catch that. Please answer once more.",
}
# ...and before a step retried after the answer was heard as a refusal or held a "no" (issue
# #12: "是的，我不愿意" was answered with "I did not catch that", as if nothing was heard).
REFUSAL_RETRY_PREFIX = {
    "zh-CN": "我们听到您的回答是否定的意思，请您再回答一次。",
    "en": "We heard your answer as a no. Please answer once more.",
}


def retry_prompt(text: str, spoken: str | None, locale: str,
                 after_refusal: bool = False) -> tuple[str, str | None]:
    """A retried step's subtitle and voice text: ``RETRY_PREFIX`` before each, or
    ``REFUSAL_RETRY_PREFIX`` when the last answer was heard as a refusal (``after_refusal``).
    ``spoken`` is already normalised (``speakable``), so only the prefix is normalised before
    it."""
    prefix = (REFUSAL_RETRY_PREFIX if after_refusal else RETRY_PREFIX)[locale]
    return (prefix + " " + text,
            speakable(prefix, locale) + " " + spoken if spoken else spoken)
