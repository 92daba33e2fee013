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


# ...and before a step retried after an answer heard clearly that was not the one asked for
# (#12 fresh tester: 是的，我已了解 and "Yes, it's my own decision" were answered "I did not
# catch that"). ``{answer}`` is the step's requested answer; the ``_ANY`` forms serve a step
# without one. "understanding_only": understanding said where willingness is asked for.
HEARD_RETRY_PREFIX = {
    "heard": {"zh-CN": "谢谢，我们听到了您的回答。请按提示回答：“{answer}”。",
              "en": 'Thank you, we heard your answer. Please answer in the words asked for: '
                    '"{answer}".'},
    "heard_any": {"zh-CN": "谢谢，我们听到了您的回答。请按提示的话再回答一次。",
                  "en": "Thank you, we heard your answer. Please answer once more in the words "
                        "asked for."},
    # Someone else's will was heard (``observer.speaks_of_another_will``): the investor is asked
    # to answer for themselves, never given the words to say.
    "own_will": {"zh-CN": "谢谢，我们听到了您的回答。"
                          "请您根据本人的真实意愿回答，不必按照任何人的要求回答。",
                 "en": "Thank you, we heard your answer. Please answer for yourself, as you truly "
                       "wish, not as anyone asked you to."},
    "understanding_only": {
        "zh-CN": "谢谢，您已了解。了解不等于自愿，请说明您是否自愿：请回答“{answer}”。",
        "en": 'Thank you for saying you understand. Understanding is not the same as being '
              'willing: please say whether you are willing. Please answer "{answer}".'},
}


def retry_prefix(locale: str, after_refusal: bool = False, hint: str = "",
                 answer: str = "") -> str:
    """What the guide says before a retried step: ``REFUSAL_RETRY_PREFIX`` after a no,
    ``HEARD_RETRY_PREFIX`` after an answer heard clearly but not taken (``hint``
    "understanding_only" or "heard", with the step's requested ``answer``), else
    ``RETRY_PREFIX``."""
    if after_refusal:
        return REFUSAL_RETRY_PREFIX[locale]
    if hint == "own_will":
        return HEARD_RETRY_PREFIX[hint][locale]
    if hint in ("heard", "understanding_only"):
        key = hint if answer.strip() else "heard_any"
        return HEARD_RETRY_PREFIX[key][locale].replace("{answer}", answer.strip())
    return RETRY_PREFIX[locale]


def retry_prompt(text: str, spoken: str | None, locale: str,
                 after_refusal: bool = False, hint: str = "",
                 answer: str = "") -> tuple[str, str | None]:
    """A retried step's subtitle and voice text: ``retry_prefix`` before each (``RETRY_PREFIX``;
    ``REFUSAL_RETRY_PREFIX`` when the last answer was heard as a refusal, ``after_refusal``;
    ``HEARD_RETRY_PREFIX`` when it was heard clearly but not taken, ``hint``). ``spoken`` is
    already normalised (``speakable``), so only the prefix is normalised before it."""
    prefix = retry_prefix(locale, after_refusal, hint, answer)
    return (prefix + " " + text,
            speakable(prefix, locale) + " " + spoken if spoken else spoken)
