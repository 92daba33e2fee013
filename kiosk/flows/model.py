"""The flow script model: what a broker may write, as pydantic models (the untrusted input).

A flow is a list of steps the digital guide leads the investor through. The loader
(``kiosk.flows.loader``) turns YAML into these models, and ``kiosk.flows.checks`` adds what
pydantic cannot express (locales, variables, speaking time); ``docs/flows.md`` is the
reference for brokers.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal, TypeGuard, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from kiosk.errors import FlowError
from kiosk.guide.normalise import default_reading, speakable, spoken_variable

ID_PATTERN = r"^[a-z0-9_]+$"
LOCALE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
MAX_ID_LENGTH = 64
# A flow id (the script's ``id``, its file name, its published versions, a broker's flows):
# the whole string, so never with a trailing newline (``^...$`` with ``re.match`` takes one).
FLOW_ID_RE = re.compile(rf"[a-z0-9_]{{1,{MAX_ID_LENGTH}}}")


def is_flow_id(value: object) -> TypeGuard[str]:
    """True when ``value`` is a valid flow id: a ``str`` of 1-64 lowercase ASCII letters,
    digits and ``_`` (the rule of ``StepId``, which a flow's ``id`` follows)."""
    return isinstance(value, str) and FLOW_ID_RE.fullmatch(value) is not None

VARIABLES = {"name", "id_last4", "broker"}
CHALLENGES = {"blink", "turn_left", "turn_right", "nod", "open_mouth"}
# Seconds a step may take when its flow gives no ``timeout``.
DEFAULT_STEP_TIMEOUT_S = 90
STEP_KINDS = ("say", "question", "read_aloud", "challenge", "show_id", "id_document", "wait")
# The ID card's sides an id_document step may ask for, in the order asked (the page has the
# same list: static/investor/protocol.js, CARD_SIDES).
CardSideName = Literal["front", "back"]
CARD_SIDES: tuple[CardSideName, ...] = get_args(CardSideName)

# The guide's words for an id_document step without its own ``text``, per language and by the
# sides asked for (docs/flows.md); a flow offering another language must write ``text``.
ID_DOCUMENT_TEXTS: dict[str, dict[tuple[str, ...], str]] = {
    "zh": {
        ("front", "back"): "请将身份证人像面对准摄像头，保持不动，四个角都在框内；"
                           "屏幕提示后，再翻到国徽面。",
        ("front",): "请将身份证人像面对准摄像头，保持不动，四个角都在框内。",
        ("back",): "请将身份证国徽面对准摄像头，保持不动，四个角都在框内。",
    },
    "en": {
        ("front", "back"): "Hold the photo side of your ID card up to the camera, keep it still "
                           "with all four corners in the frame; when the screen says so, turn "
                           "it over to the emblem side.",
        ("front",): "Hold the photo side of your ID card up to the camera, keep it still with "
                    "all four corners in the frame.",
        ("back",): "Hold the emblem side of your ID card up to the camera, keep it still with "
                   "all four corners in the frame.",
    },
}

# The guide's words for each challenge, per language; a step's ``instructions`` override them.
CHALLENGE_INSTRUCTIONS: dict[str, dict[str, str]] = {
    "zh": {
        "blink": "请眨眨眼。",
        "turn_left": "请向左转头。",
        "turn_right": "请向右转头。",
        "nod": "请点点头。",
        "open_mouth": "请张开嘴。",
    },
    "en": {
        "blink": "Please blink.",
        "turn_left": "Please turn your head to the left.",
        "turn_right": "Please turn your head to the right.",
        "nod": "Please nod.",
        "open_mouth": "Please open your mouth.",
    },
}

# Speaking-time rule (docs/flows.md, "Speaking time"). The guide (espeak-ng) was measured at
# 3.0 Chinese characters/s (sit/cmn-latn-pinyin, rate 165, pauses included) and ~2.6 English
# words/s (gmw/en-us, rate 160); an investor reading aloud manages ~4.5 characters/s.
# Digits are read one by one and count as one character (CJK locales) or one word.
GUIDE_CJK_CHARS_PER_SECOND = 3.0
READER_CJK_CHARS_PER_SECOND = 4.5
WORDS_PER_SECOND = 2.5
REFERENCE_RATE_CJK = 165  # espeak-ng rate (words per minute) the guide figure was measured at
REFERENCE_RATE_OTHER = 160
CJK_LANGUAGES = {"zh", "ja", "ko", "yue", "cmn"}
# Stand-ins used when estimating how long a text with variables takes to speak.
ESTIMATE_VALUES = {
    "cjk": {"name": "欧阳娜娜", "id_last4": "1234"},
    "other": {"name": "Maria Fernanda Lopez", "id_last4": "1234"},
}
# The time the camera watches, one rule for the live run (kiosk.witness.plan.plan_witness
# and the face observer) and for the estimates here: each drawn challenge gets
# PER_CHALLENGE_SECONDS (they are watched one after another), plus 1 s, and an ID card
# SHOW_ID_SECONDS; both at most the step's timeout (``observe_seconds``).
PER_CHALLENGE_SECONDS = 8.0
SHOW_ID_SECONDS = 8.0
ID_SIDE_SECONDS = 8.0  # an id_document step's default time per card side

_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_DIGIT_RE = re.compile(r"\d")
# {{ and }} are literal braces; {name} is a variable; anything else with a brace is an error.
TEMPLATE_TOKEN_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")

LocaleText = Annotated[
    dict[str, str],
    Field(description="One text per locale, e.g. {zh-CN: 您好, en: Hello}."),
]
LocaleList = Annotated[
    dict[str, list[str]],
    Field(description="One list of texts per locale, e.g. {zh-CN: [是的], en: [yes]}."),
]
StepId = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=MAX_ID_LENGTH)]
OnFail = Literal["retry", "flag", "refer", "abort"]
ChallengeName = Annotated[str, Field(json_schema_extra={"enum": sorted(CHALLENGES)})]


# "…请回答：是的，我自愿。" / 请回答“是的，我自愿” / 请您说“我确认” / 请读出：我自愿开户 /
# "… please answer: yes, I do." / Please say "I agree" / just say: I consent -> the phrase asked
# for (up to the sentence's end, a semicolon or the quote). A verb of saying counts after 请,
# 请您, 请直接, 只需 … (回答 and 回复 alone too); a colon or an opening quote must follow it.
_ASKED_RE = re.compile(
    r"(?:(?:请|請)(?:您|直接|大声|大聲)?|只需|只要|直接)"
    r"(?:回答|回复|回覆|说出|說出|说|說|讲|講|读出|讀出|念出|读|讀|念)"
    r"\s*(?:[：:]\s*[“\"「]?|[“\"「])(?P<zh>[^“”\"「」。！？!?；;]+)"
    r"|(?:回答|回复)\s*(?:[：:]\s*[“\"「]?|[“\"「])(?P<zh2>[^“”\"「」。！？!?；;]+)"
    r"|(?:please|just|simply)\s+(?:answer|say|reply|respond|read(?:\s+out)?)"
    r"\s*(?:[:：]\s*[“\"']?|[“\"'])(?P<en>[^“”\".!?;]+)",
    re.IGNORECASE,
)


def asked_span(text: str) -> tuple[int, int] | None:
    """Where in ``text`` the first request of a phrase to say stands ("请回答：X" /
    "please answer: X", up to but not including the sentence's end), or None; the request
    ``asked_phrase`` reads."""
    m = _ASKED_RE.search(text or "")
    return None if m is None else m.span()


def asked_phrase(text: str) -> str | None:
    """The phrase a prompt asks the investor to say ("请回答：X。", "please answer: X."), if any.

    The first such request counts ("如自愿请回答：是的；如不愿意请回答：不愿意" asks for 是的);
    quotes and the closing punctuation are dropped.
    """
    m = _ASKED_RE.search(text or "")
    if m is None:
        return None
    return (m.group("zh") or m.group("zh2") or m.group("en") or "").strip(" \t\"'“”「」，,") or None


def is_cjk_locale(locale: str) -> bool:
    return locale.split("-")[0].lower() in CJK_LANGUAGES


def _joiner(locale: str) -> str:
    return "" if is_cjk_locale(locale) else " "


def parse_variable(token: str) -> tuple[str, str | None]:
    """``"id_last4:digits"`` -> ``("id_last4", "digits")``; ``"name"`` -> ``("name", None)``."""
    name, sep, reading = token.partition(":")
    return name.strip(), (reading.strip() if sep else None)


def fill_template(template: str, variables: dict[str, str],
                  spoken_locale: str | None = None) -> str:
    """Replace ``{var}`` (or ``{var:reading}``) with its value and ``{{``/``}}`` with braces.

    With ``spoken_locale``, each value is given as the voice should read it (its declared
    reading, else ``default_reading``: ``id_last4`` digit by digit), for ``speakable`` to read
    next: a name's letters are protected from the text's rules until ``speakable`` gives them
    back (``spoken_variable``), so pass the result to it. Unknown names raise FlowError.
    """
    def sub(m: re.Match) -> str:
        tok = m.group(0)
        if tok in ("{{", "}}"):
            return tok[0]
        if m.group(1) is None:
            raise FlowError(f"lone {tok!r} in text {template!r}; write {tok * 2} for a brace")
        name, reading = parse_variable(m.group(1))
        if name not in variables:
            raise FlowError(f"variable {{{name}}} has no value; pass it in variables")
        if spoken_locale is None:
            return str(variables[name])
        try:
            return " " + spoken_variable(str(variables[name]), reading or default_reading(name),
                                       spoken_locale) + " "
        except ValueError as exc:
            raise FlowError(f"variable {{{m.group(1)}}}: {exc}") from None

    return TEMPLATE_TOKEN_RE.sub(sub, template)


def _units(text: str, locale: str) -> tuple[int, int]:
    """(characters, words) of a text: CJK characters vs. words, digits one unit each."""
    cjk = len(_CJK_RE.findall(text))
    rest = _CJK_RE.sub(" ", text)
    digits = len(_DIGIT_RE.findall(rest))
    words = len(_WORD_RE.findall(rest))
    return (cjk + digits, words) if is_cjk_locale(locale) else (cjk, words + digits)


def speaking_seconds(text: str, locale: str, rate: int | None = None) -> float:
    """Estimated seconds for the guide to speak ``text`` (variables filled) at voice ``rate``."""
    chars, words = _units(text, locale)
    seconds = chars / GUIDE_CJK_CHARS_PER_SECOND + words / WORDS_PER_SECOND
    if rate:
        reference = REFERENCE_RATE_CJK if is_cjk_locale(locale) else REFERENCE_RATE_OTHER
        seconds *= reference / rate
    return seconds


def reading_seconds(text: str, locale: str) -> float:
    """Estimated seconds for an investor to read ``text`` aloud."""
    chars, words = _units(text, locale)
    return chars / READER_CJK_CHARS_PER_SECOND + words / WORDS_PER_SECOND


# How long the investor's page shows a prompt that has no audio (the step's
# ``reading_seconds``): the reading time, but never shorter or longer than these.
SHOWN_MIN_SECONDS = 2.5
SHOWN_MAX_SECONDS = 20.0


def shown_seconds(text: str, locale: str) -> float:
    """Seconds the page shows ``text`` when its prompt has no audio, at normal speed:
    ``reading_seconds`` within ``SHOWN_MIN_SECONDS``..``SHOWN_MAX_SECONDS``, to 0.1 s. The
    server sends it with the step and waits for it (``kiosk.witness.runner``); the page
    shows it (``static/investor/guide.js``)."""
    seconds = reading_seconds(text, locale)
    return round(min(SHOWN_MAX_SECONDS, max(SHOWN_MIN_SECONDS, seconds)), 1)


def spaced_digits(digits: str) -> str:
    """Digits as the guide speaks them: one by one (``"5 8 3"``), never as a number."""
    return " ".join(digits)


class VoiceSettings(BaseModel):
    """The guide's voice for one locale (an espeak-ng voice name and rate in words/min)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    voice: str = Field(
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./+-]*$",
        max_length=64,
        description="espeak-ng voice, e.g. sit/cmn-latn-pinyin or gmw/en-us.",
    )
    rate: int = Field(160, ge=80, le=400, description="Speaking rate, words per minute.")


class _StepBase(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: StepId = Field(description="Unique within the flow: lowercase letters, digits, _.")
    text: LocaleText = Field(description="What the guide says, per locale.")
    title: LocaleText | None = Field(
        None, description="Short label for the progress bar, per locale (default: the id)."
    )
    timeout: float = Field(
        DEFAULT_STEP_TIMEOUT_S, gt=0, le=600,
        description="Seconds the whole step may take before it fails.",
    )
    retries: int = Field(0, ge=0, le=3, description="Extra attempts after a failed one.")
    on_fail: OnFail = Field("flag", description="What happens when the last attempt fails.")

    def label(self, locale: str) -> str:
        """The progress-bar label: the title in ``locale`` or else the step id."""
        return (self.title or {}).get(locale) or self.id


class SayStep(_StepBase):
    """The guide speaks; nothing is expected from the investor."""

    kind: Literal["say"]


class QuestionStep(_StepBase):
    """The guide asks; the investor answers aloud within ``answer_seconds``."""

    kind: Literal["question"]
    expect: Literal["affirm", "deny", "phrases"] = Field(
        description="affirm (yes), deny (no) or phrases (one of the given phrases)."
    )
    phrases: LocaleList | None = Field(
        None, description="Accepted answers per locale; required iff expect is phrases."
    )
    answer: LocaleText | None = Field(
        None,
        description="The answer the guide asks for, per locale (e.g. {zh-CN: 是的，我自愿, "
        "en: 'yes, I do'}); always accepted when clearly said. Required when the text asks "
        "for a phrase ('请回答：…', 'please answer: …').",
    )
    accept: LocaleList | None = Field(
        None, description="More accepted answers per locale, beyond the built-in lexicon."
    )
    refuse: LocaleList | None = Field(
        None, description="More refusals per locale, beyond the built-in lexicon."
    )
    answer_seconds: float = Field(6, ge=2, le=30, description="Length of the answer window.")
    retries: int = Field(1, ge=0, le=3, description="Extra attempts after a failed one.")

    def requested_answer(self, locale: str) -> str | None:
        """The answer the guide asks for: ``answer``, else the phrase the text asks for."""
        own = (self.answer or {}).get(locale)
        if own and own.strip():
            return own.strip()
        return asked_phrase(self.text.get(locale, ""))

    def answer_spec(self, locale: str) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
        """(requested answer, accepted answers, refusals) of this step in ``locale``."""
        accepted = list((self.phrases or {}).get(locale, ())) + list(
            (self.accept or {}).get(locale, ()))
        return (self.requested_answer(locale), tuple(accepted),
                tuple((self.refuse or {}).get(locale, ())))


class ReadAloudStep(_StepBase):
    """The investor reads a sentence aloud: a fixed one, one drawn from a pool, or digits."""

    kind: Literal["read_aloud"]
    sentence: LocaleText | None = Field(None, description="The fixed sentence to read.")
    pool: LocaleList | None = Field(
        None, description="At least 5 sentences per locale; one is drawn per session."
    )
    digits: int | None = Field(
        None, ge=4, le=12, description="Read a random digit string of this length."
    )
    answer_seconds: float = Field(6, ge=2, le=30, description="Length of the answer window.")
    retries: int = Field(1, ge=0, le=3, description="Extra attempts after a failed one.")


class ChallengeStep(_StepBase):
    """Liveness: the investor performs ``draw`` challenges drawn from ``pool``."""

    kind: Literal["challenge"]
    pool: list[ChallengeName] = Field(
        min_length=1, description="Challenges to draw from: blink, turn_left, ..."
    )
    draw: int = Field(ge=1, le=len(CHALLENGES), description="How many challenges to draw.")
    instructions: dict[str, LocaleText] | None = Field(
        None, description="Own words per challenge and locale, instead of the built-in ones."
    )
    retries: int = Field(1, ge=0, le=3, description="Extra attempts after a failed one.")


class ShowIdStep(_StepBase):
    """The investor holds the ID card up to the camera."""

    kind: Literal["show_id"]


def _both_sides() -> list[CardSideName]:
    return list(CARD_SIDES)


class IdDocumentStep(_StepBase):
    """The investor holds the ID card up to the camera, one side after the other; the server
    reads the best frame of each side (``kiosk.idcard``)."""

    kind: Literal["id_document"]
    sides: list[CardSideName] = Field(
        default_factory=_both_sides, min_length=1, max_length=2,
        description="The card sides to show, in order: front (the portrait side) and/or back "
        "(the emblem side).")
    seconds: float = Field(ID_SIDE_SECONDS, ge=4, le=30,
                           description="Seconds the camera watches each side.")
    # Optional here: the built-in words fit most flows.
    text: LocaleText | None = Field(  # type: ignore[assignment]  # optional only here
        None, description="What the guide says, per locale (default: the built-in words).")


def id_document_text(step: IdDocumentStep, locale: str) -> str | None:
    """The guide's words for an id_document step: its own ``text``, else the built-in ones
    for ``locale``'s language and the step's sides (None: no built-in words)."""
    own = (step.text or {}).get(locale)
    if own:
        return own
    return ID_DOCUMENT_TEXTS.get(locale.split("-")[0].lower(), {}).get(tuple(step.sides))


class WaitStep(_StepBase):
    """A pause of ``seconds``, with optional words."""

    kind: Literal["wait"]
    seconds: float = Field(ge=1, le=60, description="Length of the pause.")
    # Optional only here: a pause may be silent.
    text: LocaleText | None = Field(  # type: ignore[assignment]  # optional only here
        None, description="What the guide says, per locale."
    )


Step = Annotated[
    SayStep | QuestionStep | ReadAloudStep | ChallengeStep | ShowIdStep | IdDocumentStep
    | WaitStep,
    Field(discriminator="kind"),
]
STEP_CLASSES: dict[str, type[_StepBase]] = {
    "say": SayStep,
    "question": QuestionStep,
    "read_aloud": ReadAloudStep,
    "challenge": ChallengeStep,
    "show_id": ShowIdStep,
    "id_document": IdDocumentStep,
    "wait": WaitStep,
}


class UnknownStepError(FlowError, KeyError):
    """A step id that the flow does not have."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Flow(BaseModel):
    """One broker's witness script (see docs/flows.md)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        title="Witness Kiosk flow script",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    id: StepId = Field(description="Flow id; must equal the file name without .yaml.")
    version: int = Field(ge=1, le=2**31 - 1,
                         description="The broker's version label of this script.")
    title: LocaleText = Field(description="Name of the flow, per locale.")
    locales: list[Annotated[str, Field(pattern=LOCALE_PATTERN)]] = Field(
        min_length=1, description="Locales offered; every text must exist in all of them."
    )
    broker: LocaleText | None = Field(None, description="Broker name; the {broker} variable.")
    voice: dict[str, VoiceSettings] | None = Field(None, description="Guide voice per locale.")
    priority: Literal["low", "normal", "high"] = Field(
        "normal", description="Review queue priority."
    )
    retention_years: int = Field(20, ge=1, le=100, description="Years evidence is kept (>= 20).")
    show_recognised_words: bool = Field(
        True, description="Show the investor the words heard after each spoken answer."
    )
    steps: list[Step] = Field(min_length=1, description="The steps, in order.")

    _source_path: Path | None = PrivateAttr(None)
    _source_text: str | None = PrivateAttr(None)
    _content_hash: str | None = PrivateAttr(None)

    # -- provenance (never part of the schema or of model_dump) --------------------------

    @property
    def source_path(self) -> Path | None:
        """The file the flow was loaded from, if any."""
        return self._source_path

    @property
    def source_text(self) -> str:
        """The exact script text; a YAML dump of the model for flows built in code."""
        if self._source_text is None:
            self._source_text = yaml.safe_dump(
                self.model_dump(mode="json", exclude_none=True),
                allow_unicode=True,
                sort_keys=False,
            )
        return self._source_text

    @property
    def content_hash(self) -> str:
        """sha256 hex of the script's bytes (UTF-8)."""
        if self._content_hash is None:
            self._content_hash = hashlib.sha256(self.source_text.encode("utf-8")).hexdigest()
        return self._content_hash

    def _set_source(self, path: Path | None, text: str, raw: bytes) -> None:
        self._source_path = path
        self._source_text = text
        self._content_hash = hashlib.sha256(raw).hexdigest()

    # -- lookup --------------------------------------------------------------------------

    def step(self, step_id: str) -> Step:
        """The step with this id; raises UnknownStepError (a FlowError and KeyError)."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise UnknownStepError(f"flow '{self.id}' has no step {step_id!r}")

    def voice_rate(self, locale: str) -> int | None:
        v = (self.voice or {}).get(locale)
        return v.rate if v else None

    def variables_for(self, locale: str, variables: dict[str, str]) -> dict[str, str]:
        """``variables`` plus ``broker`` from the flow, unless the caller gave one."""
        out = {}
        if self.broker and locale in self.broker:
            out["broker"] = self.broker[locale]
        out.update({k: str(v) for k, v in variables.items()})
        return out

    # -- what the guide says -------------------------------------------------------------

    def _check_locale(self, locale: str) -> None:
        if locale not in self.locales:
            raise FlowError(
                f"flow '{self.id}' has no locale {locale!r}; it offers {', '.join(self.locales)}"
            )

    def challenge_instruction(self, step: ChallengeStep, challenge: str, locale: str) -> str:
        """The guide's words for one challenge: the step's own, else the built-in ones."""
        builtin = challenge_words(step, challenge, locale)
        if builtin is None:
            raise FlowError(f"no words for challenge {challenge!r} in {locale}; add instructions")
        return builtin

    def prompt_text(
        self,
        step: Step,
        locale: str,
        variables: dict[str, str],
        draw: str | Sequence[str] | None = None,
        spoken: bool = False,
    ) -> str:
        """The guide's words with variables filled.

        For read_aloud the text to read follows the instruction: the fixed sentence, or
        ``draw`` (from ``draw_read_aloud``: a pool item, or digits spoken one by one). For a
        challenge step, ``draw`` may name challenges whose instructions are appended.
        ``spoken=True`` gives what the voice gets instead of what is written (the subtitle):
        variables read by their readings, then ``kiosk.guide.normalise.speakable``.
        """
        self._check_locale(locale)
        values = self.variables_for(locale, variables)
        voice = locale if spoken else None
        parts = []
        if isinstance(step, IdDocumentStep):
            card_words = id_document_text(step, locale)
            if card_words is None:
                raise FlowError(f"step '{step.id}' has no {locale} text and there are no "
                                f"built-in words in {locale}; add text")
            parts.append(fill_template(card_words, values, voice))
        elif step.text:
            parts.append(fill_template(step.text[locale], values, voice))
        if isinstance(step, ReadAloudStep):
            if draw is not None and not isinstance(draw, str):
                raise FlowError(f"step '{step.id}': a read_aloud draw is one string")
            parts.append(self.reading_text(step, locale, variables, draw, spoken=True,
                                           voice=spoken))
        elif isinstance(step, ChallengeStep) and draw:
            names = [draw] if isinstance(draw, str) else list(draw)
            words = (fill_template(self.challenge_instruction(step, n, locale), values, voice)
                     for n in names)
            parts.append(_joiner(locale).join(words))
        text = _joiner(locale).join(p for p in parts if p)
        return speakable(text, locale) if spoken else text

    def reading_text(
        self,
        step: ReadAloudStep,
        locale: str,
        variables: dict[str, str],
        draw: str | None = None,
        spoken: bool = False,
        voice: bool = False,
    ) -> str:
        """What the investor must read for a read_aloud step (for matching the answer).

        ``spoken=True`` gives digits separated by spaces, as the guide says them;
        ``voice=True`` fills variables as the voice reads them, for ``speakable`` (see
        ``prompt_text`` and ``fill_template``).
        """
        self._check_locale(locale)
        into = locale if voice else None
        if step.sentence is not None:
            return fill_template(step.sentence[locale], self.variables_for(locale, variables),
                                 into)
        if draw is None:
            raise FlowError(
                f"step '{step.id}' draws what to read; pass draw=flow.draw_read_aloud(...)"
            )
        if step.digits is not None:
            if not (draw.isdigit() and len(draw) == step.digits):
                raise FlowError(f"step '{step.id}' needs {step.digits} digits, got {draw!r}")
            return spaced_digits(draw) if spoken else draw
        if step.pool is not None and draw not in step.pool[locale]:
            raise FlowError(f"step '{step.id}': the drawn sentence is not in its {locale} pool")
        return fill_template(draw, self.variables_for(locale, variables), into)

    def reading_required(self, step: ReadAloudStep, locale: str,
                         variables: dict[str, str]) -> tuple[str, ...]:
        """The details the text to read names, heard exactly (``answers.score_reading``): the
        applicant's name and ID tail, and the broker's name (the flow's ``broker`` unless the
        caller gave one), each only when the sentence holds its variable. The broker's name is a
        small share of the sentence, so the error rate alone let another broker's name pass
        (#12 fresh tester: 华泰证券 read for 示例证券)."""
        if step.sentence is None:
            return ()
        used = {parse_variable(m.group(1))[0]
                for m in TEMPLATE_TOKEN_RE.finditer(step.sentence[locale]) if m.group(1)}
        values = self.variables_for(locale, variables)
        return tuple(str(values[v]) for v in ("name", "id_last4", "broker")
                     if v in used and str(values.get(v) or "").strip())

    def draw_read_aloud(self, step: Step, locale: str, rng: random.Random) -> str | None:
        """A random pool item or digit string for this session; None for a fixed sentence."""
        if not isinstance(step, ReadAloudStep):
            raise FlowError(f"step '{step.id}' is a {step.kind} step, not read_aloud")
        self._check_locale(locale)
        if step.pool is not None:
            return rng.choice(step.pool[locale])
        if step.digits is not None:
            return "".join(rng.choice("0123456789") for _ in range(step.digits))
        return None

    def draw_challenges(self, step: Step, rng: random.Random) -> list[str]:
        """``step.draw`` different challenges from the pool, in random order."""
        if not isinstance(step, ChallengeStep):
            raise FlowError(f"step '{step.id}' is a {step.kind} step, not challenge")
        return rng.sample(list(dict.fromkeys(step.pool)), step.draw)

    # -- timing ----------------------------------------------------------------------------

    def prompt_seconds(self, step: Step, locale: str) -> float:
        """Worst-case estimated seconds for the guide to speak this step's prompt."""
        return prompt_seconds(step, locale, self.broker, self.voice_rate(locale))

    def step_seconds(self, step: Step, locale: str) -> float:
        """Estimated worst-case seconds the step needs: prompt, answer window, pause, actions."""
        return step_seconds(step, locale, self.broker, self.voice_rate(locale))

    def estimated_seconds(self, locale: str) -> float:
        """Estimated length of a session with every step passing at the first attempt."""
        self._check_locale(locale)
        return sum(self.step_seconds(s, locale) for s in self.steps)


def challenge_words(step: ChallengeStep, challenge: str, locale: str) -> str | None:
    """The guide's words for one challenge: the step's own, else the built-in ones."""
    own = (step.instructions or {}).get(challenge, {}).get(locale)
    if own:
        return own
    return CHALLENGE_INSTRUCTIONS.get(locale.split("-")[0].lower(), {}).get(challenge)


def estimate_values(broker: dict[str, str] | None, locale: str) -> dict[str, str]:
    """Stand-in variable values for estimating speaking time."""
    values = dict(ESTIMATE_VALUES["cjk" if is_cjk_locale(locale) else "other"])
    values["broker"] = (broker or {}).get(locale, "")
    return values


def prompt_seconds(
    step: Step, locale: str, broker: dict[str, str] | None = None, rate: int | None = None
) -> float:
    """Worst-case estimated seconds to speak a step's prompt in ``locale``."""
    values = estimate_values(broker, locale)
    text = id_document_text(step, locale) if isinstance(step, IdDocumentStep) else (
        step.text[locale] if step.text else None)
    base = fill_template(text, values) if text else ""
    seconds = speaking_seconds(base, locale, rate)
    if isinstance(step, ReadAloudStep):
        seconds += max(
            (speaking_seconds(t, locale, rate) for t in reading_candidates(step, locale, values)),
            default=0.0,
        )
    elif isinstance(step, ChallengeStep):
        each = sorted(
            (
                speaking_seconds(challenge_words(step, c, locale) or "", locale, rate)
                for c in set(step.pool)
            ),
            reverse=True,
        )
        seconds += sum(each[: step.draw])
    return seconds


def step_seconds(
    step: Step, locale: str, broker: dict[str, str] | None = None, rate: int | None = None
) -> float:
    """Estimated worst-case seconds a step needs: prompt, answer window, pause, actions."""
    seconds = prompt_seconds(step, locale, broker, rate)
    if isinstance(step, (QuestionStep, ReadAloudStep)):
        seconds += step.answer_seconds
    elif isinstance(step, WaitStep):
        seconds += step.seconds
    elif isinstance(step, (ChallengeStep, ShowIdStep)):
        seconds += observe_seconds(step.kind, step.timeout, getattr(step, "draw", 0)) or 0.0
    elif isinstance(step, IdDocumentStep):
        seconds += observe_seconds(step.kind, step.timeout, sides=len(step.sides),
                                   side_seconds=step.seconds) or 0.0
    return seconds


def observe_seconds(kind: str, timeout: float, challenges: int = 0, *, sides: int = 0,
                    side_seconds: float = ID_SIDE_SECONDS) -> float | None:
    """Seconds the camera watches a ``challenge`` step (``challenges`` drawn actions), a
    ``show_id`` step or an ``id_document`` step (``sides`` card sides, ``side_seconds``
    each), at most ``timeout``; None for any other kind of step."""
    if kind == "challenge":
        return min(float(timeout), PER_CHALLENGE_SECONDS * max(1, challenges) + 1.0)
    if kind == "show_id":
        return min(float(timeout), SHOW_ID_SECONDS)
    if kind == "id_document":
        return min(float(timeout), float(side_seconds) * max(1, sides))
    return None


def reading_candidates(step: ReadAloudStep, locale: str, values: dict[str, str]) -> list[str]:
    """Every text the investor might be asked to read, variables filled with stand-ins."""
    if step.sentence is not None:
        return [fill_template(step.sentence[locale], values)]
    if step.pool is not None:
        return [fill_template(t, values) for t in step.pool[locale]]
    if step.digits is not None:
        return [spaced_digits("0" * step.digits)]
    return []
