"""Render every prompt of a flow with the real guide voice and time the witness.

Spoken durations are measured from the rendered audio; the rest of a step (answer window,
pause, time to perform challenges or hold up the ID) comes from the same rules as
``Flow.step_seconds``. Where a step's words depend on a random draw (a read-aloud pool, the
challenges drawn), every variant that could be the longest is rendered and the longest
counts, so the total is what a witness takes with every step passing at the first attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.flows.model import (
    ChallengeStep,
    Flow,
    ReadAloudStep,
    Step,
    challenge_words,
    estimate_values,
    speaking_seconds,
)
from kiosk.guide.normalise import safety_net_issues

log = logging.getLogger(__name__)

DEFAULT_LIMIT_SECONDS = 600.0  # ten minutes: longer witnesses lose investors (override per run)


@dataclass(frozen=True)
class RenderedPrompt:
    """One rendered variant of a step's words: written (the subtitle) and as spoken."""

    text: str
    sha256: str
    duration: float
    spoken: str = ""
    path: str = ""  # the WAV in the guide's cache


@dataclass(frozen=True)
class StepPreview:
    """A step in one locale: its longest spoken prompt and the whole step's expected length."""

    step_id: str
    kind: str
    spoken: float
    expected: float
    prompts: tuple[RenderedPrompt, ...]


@dataclass
class FlowPreview:
    """All steps of a flow in one locale."""

    flow_id: str
    version: int
    locale: str
    steps: list[StepPreview] = field(default_factory=list)

    @property
    def spoken_seconds(self) -> float:
        return sum(s.spoken for s in self.steps)

    @property
    def total_seconds(self) -> float:
        """Expected length of the witness: every step passing at the first attempt."""
        return sum(s.expected for s in self.steps)


def stand_in_variables(flow: Flow, locale: str, name: str | None = None) -> dict[str, str]:
    """The long stand-in applicant used for timing (the flow's own broker name); ``name``, when
    given, is the applicant's name instead (as stored at intake: ``normalise_name``)."""
    values = estimate_values(flow.broker, locale)
    if name is not None:
        values["name"] = name
    return {k: v for k, v in values.items() if k != "broker"}


def spoken_variants(flow: Flow, step: Step, locale: str) -> list[str]:
    """The texts the guide may say for ``step``: one, or each candidate of a random draw."""
    return [written for written, _ in prompt_variants(flow, step, locale)]


def prompt_variants(flow: Flow, step: Step, locale: str,
                    name: str | None = None) -> list[tuple[str, str]]:
    """``(written, spoken)`` for each text the guide may say for ``step`` (the applicant's
    ``name`` if given, else the stand-in's)."""
    variables = stand_in_variables(flow, locale, name)
    draws: list
    if isinstance(step, ReadAloudStep):
        if step.pool is not None:
            draws = list(dict.fromkeys(step.pool[locale]))
        elif step.digits is not None:
            draws = [("1234567890" * 2)[: step.digits]]
        else:
            draws = [None]
    elif isinstance(step, ChallengeStep):
        # The `draw` challenges whose words take longest: the worst case of one session.
        by_length = sorted(dict.fromkeys(step.pool), key=lambda c: -speaking_seconds(
            challenge_words(step, c, locale) or "", locale))
        draws = [by_length[: step.draw]]
    elif step.text or step.kind == "id_document":  # id_document: its own or built-in words
        draws = [None]
    else:
        draws = []  # a silent pause
    pairs = [(flow.prompt_text(step, locale, variables, draw=d),
              flow.prompt_text(step, locale, variables, draw=d, spoken=True)) for d in draws]
    return [(w, s) for w, s in pairs if w.strip()]


def preview_flow(flow: Flow, guide, locales: list[str] | None = None,
                 on_render: Callable[[int], None] | None = None,
                 name: str | None = None) -> list[FlowPreview]:
    """Render every prompt through ``guide`` (a GuideVoice); one FlowPreview per locale.

    ``on_render(n)`` is called after each rendered prompt (for a progress bar); the number of
    prompts is ``count_prompts(flow, locales)``. ``name``: the applicant's name to fill in
    (default: the long stand-in). Raises GuideError if the voice fails.
    """
    out = []
    for locale in locales or flow.locales:
        preview = FlowPreview(flow.id, flow.version, locale)
        for step in flow.steps:
            rendered = []
            for text, said in prompt_variants(flow, step, locale, name):
                # The rate the running kiosk uses: the guide's configured voice for the locale.
                prompt = guide.render(text, locale, spoken=said or None)
                rendered.append(RenderedPrompt(text, prompt.sha256, prompt.duration,
                                               prompt.spoken, str(prompt.path)))
                if on_render:
                    on_render(1)
            spoken = max((p.duration for p in rendered), default=0.0)
            # The silent part of the step (answer window, pause, actions), by the model's rules.
            silent = flow.step_seconds(step, locale) - flow.prompt_seconds(step, locale)
            preview.steps.append(StepPreview(step.id, step.kind, spoken, spoken + silent,
                                             tuple(rendered)))
        log.info("flow %s v%d previewed in %s: %.1f s expected", flow.id, flow.version, locale,
                 preview.total_seconds)
        out.append(preview)
    return out


def preview_json(previews: list[FlowPreview], limit: float) -> dict:
    """The preview as one JSON document: every prompt written, spoken, its audio and length,
    and the safety net's warnings about it (``safety_net_issues``: a character not said, a
    sign left in the spoken text; messages only, as the prompt has its variables filled)."""
    return {"limit_seconds": limit, "locales": [{
        "flow": p.flow_id, "version": p.version, "locale": p.locale,
        "spoken_seconds": round(p.spoken_seconds, 2),
        "expected_seconds": round(p.total_seconds, 2),
        "over_limit": p.total_seconds > limit,
        "steps": [{"id": s.step_id, "kind": s.kind, "spoken_seconds": round(s.spoken, 2),
                   "expected_seconds": round(s.expected, 2),
                   "prompts": [{"written": r.text, "spoken": r.spoken, "audio": r.path,
                                "sha256": r.sha256, "duration": r.duration,
                                "warnings": [i.message for i in
                                             safety_net_issues(r.text, p.locale)]}
                               for r in s.prompts]}
                  for s in p.steps]} for p in previews]}


def count_prompts(flow: Flow, locales: list[str] | None = None) -> int:
    """How many prompts ``preview_flow`` renders."""
    return sum(len(spoken_variants(flow, s, lc)) for lc in locales or flow.locales
               for s in flow.steps)


def format_seconds(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def report_lines(preview: FlowPreview, limit: float) -> tuple[list[str], str | None]:
    """The printed table for one locale, and a warning if it runs above ``limit`` seconds."""
    width = max([len(s.step_id) for s in preview.steps] + [4])
    lines = [f"{preview.flow_id} v{preview.version} · {preview.locale}",
             f"  {'step':<{width}}  {'kind':<10}  {'spoken':>8}  {'expected':>8}"]
    for s in preview.steps:
        variants = f"  (longest of {len(s.prompts)})" if len(s.prompts) > 1 else ""
        lines.append(f"  {s.step_id:<{width}}  {s.kind:<10}  {s.spoken:>6.1f} s  "
                     f"{s.expected:>6.1f} s{variants}")
    total = preview.total_seconds
    lines.append(f"  spoken {preview.spoken_seconds:.1f} s; expected witness "
                 f"{total:.1f} s ({format_seconds(total)})")
    warning = None
    if total > limit:
        warning = (f"WARNING: {preview.flow_id} in {preview.locale} is expected to take "
                   f"{total:.0f} s, above the limit of {limit:.0f} s; shorten prompts, answer "
                   "windows or pauses, or remove steps")
    return lines, warning
