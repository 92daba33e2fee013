"""AI pre-review of a sealed evidence package: per-step pass/flag, key moments, a verdict.

It reads only the sealed bag (``data/timeline.jsonl``, ``data/flow.yaml``, ``data/report.json``,
``data/checks/*.json``) and never writes to it. Timeline events and check events are judged by
one table, ``RULES`` (event type -> function). A new check (liveness, speech, ...) slots in by
registering a rule with ``@rule(TimelineEvent.ITS_TYPE)`` (or a ``CheckEvent`` of a check
file); unknown event types are ignored. Every rule is keyed to a type something in ``kiosk/``
records (``tests/test_protocol.py``).

Each answer (one attempt at a question or a reading) gives exactly one finding and one marker,
at the start of the speech heard for it (``_answer``, ``_answer_result``). A witness referred
to a human agent (``aborted: referred:<step id>``, ``kiosk.protocol.REFERRED``) is a ``flag``
finding ``referred`` naming the step.

Verdict: ``suggested_reject`` when any finding has severity ``reject``; ``needs_attention``
when any finding is a ``flag`` (or the session did not finish, or there is no recording);
otherwise ``clear``.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from kiosk.errors import EvidenceError
from kiosk.liveness.session_checks import SessionCheckParams
from kiosk.protocol import (
    DOUBT_CODES,
    AnswerDecision,
    CheckEvent,
    StepKind,
    StepOutcome,
    TimelineEvent,
    referred_step,
)
from kiosk.speech import textnorm
from kiosk.speech.answers import NEGATION_ADDED, READING_MAX_ERROR
from kiosk.timeline import scan_timeline

log = logging.getLogger(__name__)

FORMAT = "witness-kiosk-prereview/1"
SEVERITY_RANK = {"info": 0, "flag": 1, "reject": 2}


class PrereviewError(EvidenceError):
    """A bag file whose content the pre-review could not judge (a shape no rule foresaw).

    ``file`` is its path inside ``data/`` and ``why`` a short reason (never its content); the
    case is queued with :func:`unreadable_prereview` instead, never left out of the queue."""

    def __init__(self, file: str, why: str):
        super().__init__(f"{file}: {why}")
        self.file = file
        self.why = why


def mmss(t: float | None) -> str:
    """Seconds as mm:ss, the way a reviewer reads a player position."""
    t = max(0.0, float(t or 0.0))
    return f"{int(t // 60):02d}:{int(t % 60):02d}"


@dataclass
class Finding:
    """One thing the reviewer should look at: a moment (t..end) with a one-line text."""

    t: float
    text: str
    severity: str = "flag"  # info | flag | reject
    code: str = ""
    step: str | None = None
    end: float | None = None

    def __post_init__(self):
        if self.severity not in SEVERITY_RANK:
            raise ValueError(f"Finding.severity must be one of {', '.join(SEVERITY_RANK)}, "
                             f"not {self.severity!r}")


@dataclass
class Context:
    """What rules may read and add to while the timeline is walked."""

    step: str | None = None  # the step running at the current event
    findings: list[Finding] = field(default_factory=list)
    markers: list[dict] = field(default_factory=list)
    subtitles: list[dict] = field(default_factory=list)
    signals: dict[str, list] = field(default_factory=lambda: {
        "t": [], "blink": [], "yaw": [], "jaw": [], "face": []})
    # step -> its unclear-answer findings that a clear answer to the same step may downgrade
    unclear: dict[str, list[Finding]] = field(default_factory=dict)
    # The bag file being read or judged now: named when content no rule foresaw breaks the
    # build (``PrereviewError``).
    reading: str = ""
    # The session's language and the flow's steps by id (what each answer step asked for),
    # read before the timeline is walked; each step's kind as it started.
    locale: str = ""
    flow_steps: dict[str, dict] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    # step -> what each judged answer to it recorded (``answer_evidence``), attempt by attempt
    evidence: dict[str, list[dict]] = field(default_factory=dict)
    # step -> its "no" answers (``consent_no``) a confirmed consent to the same step turns into
    # a flag, and its answers of doubt (``doubt_*``) that such a consent never clears
    refused: dict[str, list[Finding]] = field(default_factory=dict)
    doubts: dict[str, list[Finding]] = field(default_factory=dict)
    # The live face against the ID photo (``_face_match``), shown on every case that has one.
    face_match: dict | None = None
    # step -> the answer ``answer_recognised`` recorded, until its ``step_result`` settles it:
    # its speech start ``t`` and its one finding (None for a yes), so that the two records of
    # one answer give one finding and one marker (``_step_result``).
    heard: dict[str, dict] = field(default_factory=dict)

    def find(self, t, text, severity="flag", code="", step=None, end=None) -> None:
        f = Finding(float(t or 0.0), text, severity, code, step or self.step,
                    None if end is None else float(end))
        self.findings.append(f)
        if severity != "info":
            self.markers.append({"t": f.t, "kind": "flag", "label": text, "step": f.step})

    def mark(self, t, kind: str, label: str, step=None) -> None:
        self.markers.append({"t": float(t or 0.0), "kind": kind, "label": label,
                             "step": step or self.step})

    def marker_of(self, f: Finding) -> dict | None:
        """The flag marker of finding ``f`` (None when it has none: an info finding)."""
        return next((m for m in self.markers if m["kind"] == "flag" and m["t"] == f.t
                     and m["step"] == f.step and m["label"] == f.text), None)

    def retext(self, f: Finding, text: str) -> None:
        """Change ``f``'s text, and its marker's label with it."""
        m = self.marker_of(f)
        f.text = text
        if m is not None:
            m["label"] = text

    def to_info(self, f: Finding, text: str) -> None:
        """``f`` becomes information: its flag marker stays the answer's one marker, as an
        ``answer`` marker."""
        m = self.marker_of(f)
        f.severity, f.text = "info", text
        if m is not None:
            m["kind"], m["label"] = "answer", text


Rule = Callable[[dict, float, Context], None]
RULES: dict[str, Rule] = {}


def rule(*event_types: TimelineEvent | CheckEvent) -> Callable[[Rule], Rule]:
    """Register ``fn(data, t, ctx)`` as the judge of these event types."""
    def deco(fn: Rule) -> Rule:
        for et in event_types:
            RULES[et] = fn
        return fn
    return deco


def _span(data: dict, t: float) -> tuple[float, float | None]:
    start = data.get("t_start", t)
    return float(start if start is not None else t), data.get("t_end")


# -- the rules -------------------------------------------------------------------------------

@rule(TimelineEvent.STEP_STARTED)
def _step_started(data, t, ctx):
    ctx.step = str(data.get("step")) if data.get("step") is not None else ctx.step
    if ctx.step is not None and isinstance(data.get("kind"), str):
        ctx.kinds[ctx.step] = data["kind"]
    ctx.mark(t, "step", f"step {ctx.step}")


@rule(TimelineEvent.PROMPT_SENT)
def _prompt_sent(data, t, ctx):
    if data.get("text"):
        dur = data.get("duration")
        ctx.subtitles.append({"start": t, "end": t + float(dur) if dur else None,
                              "text": str(data["text"]), "kind": "prompt",
                              "sha256": data.get("sha256"), "step": data.get("step")})


def speech_start(data: dict, t: float) -> float:
    """Where a judged answer's speech starts (media seconds): its first speech span, else its
    recorded ``t_start``, else the start of its answer window, else ``t``."""
    spans = data.get("speech_spans")
    if isinstance(spans, list) and spans and isinstance(spans[0], list) and spans[0]:
        at = _num(spans[0][0])
        if at is not None:
            return at
    at = _num(data.get("t_start"))
    if at is not None:
        return at
    window = data.get("window")
    if isinstance(window, list) and window:
        at = _num(window[0])
        if at is not None:
            return at
    return t


@rule(TimelineEvent.STEP_RESULT)
def _step_result(data, t, ctx):
    step = str(data.get("step", ctx.step))
    ev = answer_evidence(data, ctx.kinds.get(step), ctx.flow_steps.get(step), ctx.locale)
    heard = ctx.heard.pop(step, None)
    if ev is None and heard is None and ctx.kinds.get(step) not in ANSWER_STEP_KINDS:
        _observed_result(data, t, ctx, step)
        return
    _answer_result(data, t, ctx, step, ev, heard)


# The kinds of step whose result settles an answer the investor spoke.
ANSWER_STEP_KINDS = frozenset({StepKind.QUESTION, StepKind.READ_ALOUD})


def _answer_result(data: dict, t: float, ctx: Context, step: str, ev: dict | None,
                   heard: dict | None) -> None:
    """The result of one answer (a question or a reading): exactly one finding and one
    timeline marker, both at the start of its speech (``speech_start``), never at the later
    time it was settled. A question's ``answer_recognised`` (``heard``) already made the
    finding of an answer not taken, and its marker; the result only raises its severity (or
    replaces it with the flag of a doubt, ``_doubt``). An answer taken gets an ``info``
    finding, naming what was let stand if anything was."""
    outcome = data.get("outcome")
    at = heard["t"] if heard is not None else speech_start(data, t)
    said = data.get("transcript") or data.get("answer_text") or data.get("text")
    if said and heard is None:  # a question's words are already a subtitle (``_answer``)
        spans = data.get("speech_spans")
        last = (_num(spans[-1][1]) if isinstance(spans, list) and spans
                and isinstance(spans[-1], list) and len(spans[-1]) > 1 else None)
        ctx.subtitles.append({"start": at, "end": last if last is not None else max(t, at),
                              "text": str(said), "kind": "answer", "step": step})
    if ev is not None:
        ev["t"] = at
        ctx.evidence.setdefault(step, []).append(ev)
    mine = heard["finding"] if heard is not None else None
    text, severity, code = _result_finding(data, at, step, ev)
    if mine is None:
        if outcome == StepOutcome.PASS and ev is not None and ev["let_stand"]:
            # Let stand: the step passed, but the auditor sees what was overlooked, even on a
            # cleared case (information, never a flag).
            text, code = (f"step {step}, attempt {ev['attempt']}: let stand: "
                          f"{'; '.join(ev['let_stand'])}", "let_stand")
        if severity != "info" and heard is not None and heard.get("marker") is not None:
            ctx.markers.remove(heard["marker"])  # the finding's flag marker is the one
            heard["marker"] = None
        ctx.find(at, text, severity, code, step)
        mine = ctx.findings[-1]
    elif SEVERITY_RANK[severity] > SEVERITY_RANK[mine.severity]:
        mine.severity = severity  # its marker is a flag marker already
    if mine.severity == "info":
        # No flag marker: the answer's one marker says what became of it.
        if heard is not None and heard.get("marker") is not None:
            heard["marker"]["label"] = f"{step}: {outcome}"
        else:
            ctx.mark(at, "answer", f"{step}: {outcome}", step)
    if outcome in (StepOutcome.RETRY, StepOutcome.FLAG) and ev is not None:
        _doubt(data, ev, step, at, ctx, mine)


def _result_finding(data: dict, at: float, step: str, ev: dict | None) -> tuple[str, str, str]:
    """What a step result says of an answer, as (text, severity, code)."""
    outcome = data.get("outcome")
    reason = data.get("reason") or data.get("detail") or ""
    if outcome == StepOutcome.PASS:
        n = f", attempt {ev['attempt']}" if ev is not None and ev.get("attempt") else ""
        return f"step {step}{n}: the answer at {mmss(at)} was taken", "info", "answer"
    if outcome == StepOutcome.UNVERIFIED:
        return (f"answer on step {step} not verified by machine at {mmss(at)}", "flag",
                "unverified")
    if outcome == StepOutcome.FLAG:
        why = f": {reason}" if reason else ""
        if ev is not None and ev["why"]:
            why = f": {'; '.join(ev['why'])}"
        return f"step {step} flagged at {mmss(at)}{why}", "flag", "step_flag"
    if outcome == StepOutcome.RETRY:
        why = f": {'; '.join(ev['why'])}" if ev is not None and ev["why"] else ""
        return f"step {step} repeated at {mmss(at)}{why}", "info", "retry"
    if outcome == StepOutcome.STOP:
        return f"investor declined on step {step} at {mmss(at)}", "reject", "declined"
    return (f"step {step} has unknown outcome {outcome!r} at {mmss(at)}", "flag",
            "unknown_outcome")


def _observed_result(data: dict, t: float, ctx: Context, step: str) -> None:
    """The result of a step the camera judged (a challenge, an ID card) or no recogniser
    judged: one finding when it did not pass, at the time it was settled."""
    outcome = data.get("outcome")
    reason = data.get("reason") or data.get("detail") or ""
    ctx.mark(t, "answer", f"{step}: {outcome}", step)
    if outcome == StepOutcome.PASS:
        return
    if outcome == StepOutcome.UNVERIFIED and isinstance(data.get("sides"), list):
        # An ID card shown on camera (kiosk.witness.live_card): no answer, a side not read.
        why = f": {str(reason)[:300]}" if reason else ""
        ctx.find(t, f"ID card on step {step} not read by machine at {mmss(t)}{why}",
                 "flag", "unverified", step)
        return
    text, severity, code = _result_finding(data, t, step, None)
    ctx.find(t, text, severity, code, step)


# An answer of doubt to a question step (``kiosk.protocol.DOUBT_CODES``, the witness judge's
# ``reason_code``), in the auditor's words: a consent given when the step was asked again never
# clears it.
DOUBT_WORDS = {
    "coerced": "someone else's will or an order",
    "question": "a question instead of an answer",
    "hesitation": "a hesitation",
    "refusal": "a refusal",
    "negation": "an answer holding a 'no'",
}


def doubt_code(data: dict) -> str | None:
    """The doubt a judged answer (a ``step_result``) was heard with (``DOUBT_WORDS``), or None:
    its ``reason_code``, or for evidence written before that field, what it recorded then (the
    retry hint ``own_will``, the recogniser's note of a question, a refusal or a "no")."""
    code = data.get("reason_code")
    if isinstance(code, str):
        return code if code in DOUBT_CODES else None
    if data.get("retry_hint") == "own_will":
        return "coerced"
    if str(data.get("note") or "").startswith("a question"):
        return "question"
    if data.get("intent") == "deny":
        return "refusal"
    if data.get("refusal"):
        return "negation"
    return None


def _unmark(ctx: Context, f: Finding) -> None:
    """Take finding ``f`` and its marker off the case."""
    if f in ctx.findings:
        ctx.findings.remove(f)
    ctx.markers[:] = [m for m in ctx.markers if not (
        m["kind"] == "flag" and m["t"] == f.t and m["step"] == f.step and m["label"] == f.text)]


def _doubt(data: dict, ev: dict, step: str, at: float, ctx: Context, mine: Finding) -> None:
    """An answer to ``step`` heard as a doubt (``doubt_code``) and asked again: one flag that
    names the step, what was heard and when (``at``, its speech start), in place of the
    answer's own finding ``mine`` (its plain "not recognised" or "no"); a later consent to the
    step never clears it."""
    code = doubt_code(data)
    if code is None:
        return
    for pending in (ctx.unclear, ctx.refused):
        if mine in pending.get(step, []):
            pending[step].remove(mine)
    _unmark(ctx, mine)
    ctx.markers[:] = [m for m in ctx.markers if not (
        m["kind"] == "answer" and m["t"] == mine.t and m["step"] == step)]
    heard = ev.get("heard") or ""
    said = f" {heard!r}" if heard else ""
    if data.get("outcome") == StepOutcome.RETRY:
        then = ("; asked again without the words to say"
                + (" (a first refusal is confirmed)" if data.get("confirm_stop") else ""))
    else:
        then = ""
    heard_as = DOUBT_WORDS.get(code, code)
    # "(hesitation at step consent_voluntary)": the code and the step together, so an auditor
    # (or a search of the findings) sees where the doubt was heard, whatever the text before.
    ctx.find(at, f"step {step}: the answer at {mmss(at)}{said} was heard as {heard_as} "
                 f"({code} at step {step}){then}", "flag", f"doubt_{code}", step)
    ctx.doubts.setdefault(step, []).append(ctx.findings[-1])


# -- what each judged answer recorded, in the auditor's words -------------------------------
#
# The voice judge records, in each ``step_result`` of an answer step (``kiosk.speech.observer.
# hear_answer``): whether speech was heard, the transcript, the score, the decision's reason
# and the recogniser's note ("word error rate 0.10; not heard: Emily Walker; let stand: the
# digits heard with a doubled digit said once", "heard as '…'; the recogniser's alternative
# '…' is the requested answer …"), and for a reading the text to read and its required parts.
# The judge (``kiosk.witness.judge``) adds its reasons as fields: ``threshold``, ``reason_code``
# and for a reading ``error_rate``, ``unit``, ``missing``, ``negation_added``, ``tolerated``;
# the regexes below read evidence written before them (and the beam alternative, which only
# the note names). ``answer_evidence`` only reads those records; it judges nothing again.

_RATE = re.compile(r"\b(character|word) error rate (\d+(?:\.\d+)?)")
_NOT_HEARD = re.compile(r"not heard: ([^;]*)")
_LET_STAND = re.compile(r"let stand: ([^;)]+)")
_ALTERNATIVE = re.compile(r"^heard as (['\"])(.*?)\1; the recogniser's alternative (['\"])(.*?)\3")
_PASSED_AT = re.compile(r"score (\d+(?:\.\d+)?) >= (\d+(?:\.\d+)?)")
_BELOW = re.compile(r"\((\d+(?:\.\d+)?) < (\d+(?:\.\d+)?)\)")
# What each ``expect`` asks for when the flow names no answer of its own.
EXPECT_TEXT = {"affirm": "a yes", "deny": "a no", "phrases": "one of the step's phrases"}


def _is_digit_token(tok: str) -> bool:
    return tok.isdigit() or tok in ("x", "X")


def _closest_heard(heard: str, item: str, locale: str) -> str | None:
    """The part of ``heard`` nearest to the required ``item`` (display only, for "heard as"):
    for a digit string the heard digit group nearest to it, for a name the run of heard words
    (characters in Mandarin) of about its length nearest to it; None when nothing is near."""
    from rapidfuzz.distance import Levenshtein


    zh = locale.lower().startswith(("zh", "cmn"))
    hyp, part = textnorm.tokens(heard, locale), textnorm.tokens(item, locale)
    if not hyp or not part:
        return None
    joiner = "" if zh else " "
    digits = all(_is_digit_token(t) for t in part)
    runs: list[list[str]] = []
    if digits:
        i = 0
        while i < len(hyp):
            if _is_digit_token(hyp[i]):
                j = i
                while j < len(hyp) and _is_digit_token(hyp[j]):
                    j += 1
                runs.append(hyp[i:j])
                i = j
            else:
                i += 1
    else:
        for n in range(max(1, len(part) - 1), len(part) + 2):
            runs += [hyp[i:i + n] for i in range(len(hyp) - n + 1)
                     if not any(_is_digit_token(t) for t in hyp[i:i + n])]
    if not runs:
        return None
    want = "".join(part).upper() if digits else joiner.join(part)
    scored = []
    for run in runs:
        text = "".join(run).upper() if digits else joiner.join(run)
        scored.append((Levenshtein.normalized_distance(want, text), text))
    dist, best = min(scored)
    return best if dist <= 0.6 else None


def _item_label(item: str, locale: str) -> str:

    part = textnorm.tokens(item, locale)
    return "ID tail" if part and all(_is_digit_token(t) for t in part) else "name"


def _heard_as(item: str, heard: str, locale: str) -> str:
    """"ID tail heard as 1055, expected 105X"; "surname heard as Walters, expected Walker";
    "name not heard, expected 张三"."""
    label = _item_label(item, locale)
    got = _closest_heard(heard, item, locale)
    if got is None:
        return f"{label} not heard, expected {item}"
    if label == "name" and not locale.lower().startswith(("zh", "cmn")):
        want, words = item.split(), got.split()
        if item[:1].isupper():
            words = [w[:1].upper() + w[1:] for w in words]
        if len(want) == len(words) > 1 and [w.lower() for w in want[:-1]] == \
                [w.lower() for w in words[:-1]]:
            return f"surname heard as {words[-1]}, expected {want[-1]}"
        got = " ".join(words)
    return f"{label} heard as {got}, expected {item}"


def answer_evidence(data: dict, kind: str | None, flow_step: dict | None,
                    locale: str) -> dict | None:
    """What one judged answer recorded (a ``step_result``), as the auditor reads it, or None
    for a step result that no recogniser judged (a challenge, an ID card, a check switched off).

    ``expected``: the text to read, or the answer the flow asks for in ``locale``; ``heard``:
    the transcript; ``score`` and ``threshold`` (for a reading also ``error_rate`` and
    ``max_error_rate``, ``unit`` characters or words); ``why``: for a step not passed, the
    reasons in plain words ("ID tail heard as 1055, expected 105X", "no answer was given");
    ``let_stand``: what was overlooked in a step that passed (a doubled digit said once, the
    recogniser's alternative used)."""
    if "speech_present" not in data and "transcript" not in data:
        return None

    note = str(data.get("note") or "")
    reason = str(data.get("decision_reason") or "")
    heard = str(data.get("transcript") or "")
    outcome = data.get("outcome")
    reading = kind == StepKind.READ_ALOUD or "expected_text" in data
    zh = locale.lower().startswith(("zh", "cmn"))
    if reading:
        expected: str | None = str(data.get("expected_text") or "") or None
    else:
        fs = flow_step or {}
        answer = fs.get("answer")
        expected = (answer.get(locale) if isinstance(answer, dict) else None) \
            or EXPECT_TEXT.get(str(fs.get("expect") or "affirm"))
    score = data.get("score")
    ev: dict = {"attempt": data.get("attempt"), "kind": "read_aloud" if reading else "answer",
                "outcome": outcome, "expected": expected, "heard": heard,
                "unit": ("characters" if zh else "words"), "score": _num(score),
                "threshold": None, "error_rate": None, "max_error_rate": None,
                "engine": data.get("engine"), "why": [], "let_stand": []}
    # The judge writes its reasons as fields (kiosk.witness.judge: ``threshold``,
    # ``error_rate``, ``unit``, ``missing``, ``negation_added``, ``tolerated``); evidence
    # written before them is read from the decision's reason and the recogniser's note.
    structured = isinstance(data.get("missing"), list) and _num(data.get("error_rate")) is not None
    ev["threshold"] = _num(data.get("threshold"))
    m = _PASSED_AT.search(reason) or _BELOW.search(reason)
    if m and ev["threshold"] is None:
        ev["threshold"] = float(m.group(2))
    rate = None if structured else _RATE.search(note)
    if reading:
        ev["max_error_rate"] = READING_MAX_ERROR
        ev["threshold"] = ev["threshold"] if ev["threshold"] is not None \
            else round(1.0 - READING_MAX_ERROR, 4)
        if structured:
            ev["error_rate"] = _num(data.get("error_rate"))
            ev["unit"] = "characters" if data.get("unit") == "character" else "words"
        elif rate:
            ev["error_rate"] = float(rate.group(2))
            ev["unit"] = "characters" if rate.group(1) == "character" else "words"
    why: list[str] = ev["why"]
    silent = data.get("speech_present") is False or data.get("intent") == "silence"
    if outcome != StepOutcome.PASS:
        if silent:
            why.append("no answer was given (no speech in the answer window)")
        elif reading:
            raw = data.get("required")
            required = [str(r) for r in (raw if isinstance(raw, list) else []) if str(r)]
            if structured:
                gone_items = [str(x) for x in data["missing"]]
                negation_added = data.get("negation_added") is True
            else:
                missing = _NOT_HEARD.search(note)
                gone = missing.group(1) if missing else ""
                gone_items = [item for item in required if item in gone]
                negation_added = NEGATION_ADDED in gone
            for item in required:
                if item in gone_items:
                    why.append(_heard_as(item, heard, locale))
            if negation_added:
                why.append("the reading holds a negation that is not in the text")
            if ev["error_rate"] is not None and ev["error_rate"] > READING_MAX_ERROR:
                why.append(f"{'CER' if zh else 'WER'} {ev['error_rate']:.2f} above "
                           f"{READING_MAX_ERROR:.2f}: the sentence read differs from the text")
            if not why:
                why.append(note or reason or "the reading was not recognised")
        elif data.get("intent") == "deny" or data.get("refusal"):
            why.append(f"a refusal was heard: {heard!r}" if heard else "a refusal was heard")
        else:
            said = f"heard {heard!r}" if heard else "heard speech, but no words"
            detail = note or reason
            why.append(f"{said}, not recognised as {expected or 'the requested answer'}"
                       + (f" ({detail})" if detail else ""))
    raw_tolerated = data.get("tolerated")
    if isinstance(raw_tolerated, list):
        ev["let_stand"] += [str(x) for x in raw_tolerated if str(x).strip()]
    else:
        ev["let_stand"] += [x.strip() for x in _LET_STAND.findall(note)]
    # The alternative a recogniser used is only in its note (kiosk.speech.engines.whisper).
    alt = _ALTERNATIVE.search(note)
    if alt:
        ev["let_stand"].append(f"the recogniser first heard {alt.group(2)!r}; its alternative "
                               f"{alt.group(4)!r} was used")
    return ev


@rule(TimelineEvent.ANSWER_RECOGNISED)
def _answer(data, t, ctx):
    """A question's answer as recognised: its subtitle, and its one finding (none for a yes)
    and marker, at the start of its speech (``t_start``), never the later time it was
    recognised; its ``step_result`` settles the same answer (``_answer_result``)."""
    decision = data.get("decision")
    step = data.get("step") or ctx.step
    t = _span(data, t)[0]
    said = data.get("text") or data.get("transcript")
    if said:
        ctx.subtitles.append({"start": t, "end": data.get("t_end", t + 2.0),
                              "text": str(said), "kind": "answer", "step": step})
    heard: dict = {"t": t, "finding": None, "marker": None}
    ctx.heard[str(step)] = heard
    if decision == AnswerDecision.AGREE:
        ctx.mark(t, "answer", f"{step}: {decision}", step)
        heard["marker"] = ctx.markers[-1]
        # Asked again after an answer that was only unclear (not heard, misheard; no "no" in
        # it), and now answered as asked: the investor's will is on record, the repeat is info.
        # An unclear answer that held a negation stays a flag: a later yes never outweighs it.
        for f in ctx.unclear.pop(step, []):
            ctx.to_info(f, f.text + "; asked again, the next answer was clear")
        # ...but after an answer of doubt (someone else's will, a question, a hesitation, a
        # no), a consent is for a human to judge: the flag stays and says so.
        for f in ctx.doubts.pop(step, []):
            ctx.retext(f, f.text + f"; the investor consented when asked again at {mmss(t)}: "
                              "a human must judge whether the consent is their own")
        # A "no" confirmed as a yes (kiosk.session asks once more): never a reject, never clear.
        for f in ctx.refused.pop(step, []):
            f.severity, f.code = "flag", "consent_after_no"
            ctx.retext(f, f.text + f"; asked to confirm, the investor consented at {mmss(t)}: "
                              "a human must judge whether the consent is their own")
        return
    if decision == AnswerDecision.DISAGREE:
        ctx.find(t, f"consent answer was 'no' at {mmss(t)}", "reject", "consent_no", step)
        ctx.refused.setdefault(step, []).append(ctx.findings[-1])
    elif data.get("negation"):
        ctx.find(t, f"the answer to step {step} at {mmss(t)} held a negation and was not "
                 "understood", "flag", "consent_negation", step)
        ctx.unclear.pop(step, None)
    elif data.get("intent") == "silence":
        # Nothing was said in the answer window (the voice detector heard no speech): not an
        # answer that was heard and not understood.
        ctx.find(t, f"no answer was given at {mmss(t)} (no speech in the answer window)",
                 "flag", "no_answer", step)
    else:
        ctx.find(t, f"consent answer not recognised at {mmss(t)}", "flag", "consent_unclear",
                 step)
    heard["finding"] = ctx.findings[-1]
    if decision != AnswerDecision.DISAGREE and data.get("negation") is False:
        # recorded by a version that looks for negations: a later clear yes may downgrade it
        ctx.unclear.setdefault(step, []).append(ctx.findings[-1])


@rule(CheckEvent.MULTIPLE_FACES)
def _second_face(data, t, ctx):
    a, b = _span(data, t)
    ctx.find(a, f"second face {mmss(a)}–{mmss(b if b is not None else a)}", "flag",
             "second_face", end=b)


@rule(CheckEvent.SECOND_FACE_GLIMPSE)
def _second_face_glimpse(data, t, ctx):
    a, b = _span(data, t)
    ctx.find(a, f"a second face glimpsed {mmss(a)}–{mmss(b if b is not None else a)} "
                "(under 1 s)", "info", "second_face_glimpse", end=b)


@rule(CheckEvent.STILL_SECOND_FACE)
def _still_second_face(data, t, ctx):
    a, b = _span(data, t)
    end = float(b) if b is not None else a
    ctx.find(a, f"a still picture of a face in the background (not moving) for "
                f"{max(0.0, end - a):.1f} s, {mmss(a)}–{mmss(end)}", "info",
             "still_second_face", end=b)


@rule(CheckEvent.FACE_LOST)
def _face_lost(data, t, ctx):
    a, b = _span(data, t)
    ctx.find(a, f"no face {mmss(a)}–{mmss(b if b is not None else a)}", "flag", "face_lost",
             end=b)


@rule(CheckEvent.TOO_DARK)
def _too_dark(data, t, ctx):
    a, b = _span(data, t)
    ctx.find(a, f"too dark {mmss(a)}–{mmss(b if b is not None else a)}", "flag", "too_dark",
             end=b)


@rule(CheckEvent.IDENTITY_CHANGE)
def _identity(data, t, ctx):
    a, b = _span(data, t)
    ctx.find(a, f"a different person appears at {mmss(a)}", "reject", "identity_change", end=b)


@rule(CheckEvent.IDENTITY_UNCONFIRMED)
def _identity_unconfirmed(data, t, ctx):
    a, b = _span(data, t)
    ctx.find(a, f"a face unlike the enrolled person's from {mmss(a)} to the end of the session, "
                "too short to confirm a change of person: check who is on camera at the end",
             "flag", "identity_unconfirmed", end=b)


# Why an identity sample failed (``kiosk.liveness.continuity.sample_quality`` and the
# analyser), in the auditor's words.
UNVERIFIED_WHY = {
    "face too small": "too small (too far from the camera)",
    "face turned": "turned away",
    "face blurred": "blurred",
    "not exactly one face": "more than one face in view",
    "face outside the frame": "partly outside the picture",
    "no frontal face for dlib": "not seen as a frontal face",
    "descriptor failed": "the face describer failed",
}


@rule(CheckEvent.IDENTITY_UNVERIFIED)
def _identity_unverified(data, t, ctx):
    a, b = _span(data, t)
    seconds = float(data.get("score") or 0.0)
    raw = data.get("reasons")
    counts = raw if isinstance(raw, dict) else {}
    why = [UNVERIFIED_WHY.get(str(k), str(k)[:60])
           for k, _ in sorted(counts.items(), key=lambda kv: -float(kv[1]))]
    until = "the end of the session" if data.get("to_end") else mmss(b)
    ctx.find(a, f"for {seconds:.0f} s ({mmss(a)} to {until}) the face on camera could not be "
                f"compared with the enrolled one: {', '.join(why) or 'no reason recorded'}",
             "flag", "identity_unverified", end=b)


@rule(CheckEvent.IDENTITY_END_UNCONFIRMED)
def _identity_end_unconfirmed(data, t, ctx):
    a, b = _span(data, t)
    raw = data.get("reasons")
    counts = raw if isinstance(raw, dict) else {}
    why = [UNVERIFIED_WHY.get(str(k), str(k)[:60])
           for k, _ in sorted(counts.items(), key=lambda kv: -float(kv[1]))]
    far = data.get("far_samples")
    seen = []
    if isinstance(far, int) and not isinstance(far, bool) and far > 0:
        seen.append(f"{far} sample{'s' if far > 1 else ''} unlike the enrolled face")
    if why:
        seen.append("samples " + ", ".join(why))
    ctx.find(a, f"the person on camera could not be confirmed after the last answer "
                f"({mmss(a)} to the end of the session: "
                f"{'; '.join(seen) or 'no face sample compared'}): check who is on camera "
                "at the end", "flag", "identity_end_unconfirmed", end=b)


def _speaking_flag(data, t, ctx, kind: str, but: str) -> None:
    """A flag on an answer heard while its speaking was not seen (``but`` says why)."""
    a, b = _span(data, t)
    step = data.get("step")
    ctx.find(a, f"the answer to step {step} was heard {mmss(a)}–{mmss(b if b is not None else a)}"
                f", but {but}", "flag", kind, step=str(step) if step else None, end=b)


@rule(CheckEvent.ANSWER_NOT_SEEN_SPOKEN)
def _answer_not_seen_spoken(data, t, ctx):
    _speaking_flag(data, t, ctx, "answer_not_seen_spoken",
                   "the mouth of the person on camera did not move: check who spoke")


@rule(CheckEvent.SPEAKING_UNVERIFIED)
def _speaking_unverified(data, t, ctx):
    _speaking_flag(data, t, ctx, "speaking_unverified",
                   "the face was not seen well enough to tell whether the investor spoke it")


@rule(TimelineEvent.CHALLENGE_RESULT)
def _challenge(data, t, ctx):
    a, _b = _span(data, t)
    kind = data.get("kind", "challenge")
    ctx.mark(a, "challenge", f"{kind}: {'passed' if data.get('passed') else 'failed'}")
    if not data.get("passed"):
        ctx.find(a, f"liveness challenge '{kind}' failed at {mmss(a)}", "flag", "challenge")


@rule(TimelineEvent.LIVENESS_SAMPLE)
def _sample(data, t, ctx):
    s = ctx.signals
    s["t"].append(round(t, 3))
    for k in ("blink", "yaw", "jaw"):
        s[k].append(data.get(k))
    s["face"].append(1 if (data.get("faces") or data.get("face")) else 0)


@rule(TimelineEvent.PROMPT_UNCONFIRMED)
def _prompt_unconfirmed(data, t, ctx):
    ctx.find(t, f"guide prompt of step {data.get('step', ctx.step)} not confirmed as played "
                f"at {mmss(t)}", "flag", "prompt_unconfirmed")


@rule(TimelineEvent.GUIDE_DEGRADED)
def _guide_degraded(data, t, ctx):
    ctx.find(t, f"guide speech failed at {mmss(t)} (text only)", "flag", "guide_degraded")


@rule(TimelineEvent.LIVENESS_UNAVAILABLE)
def _liveness_unavailable(data, t, ctx):
    ctx.find(t, f"active liveness check unavailable at {mmss(t)} "
                f"({str(data.get('error') or 'no reason given')[:200]}): review the face by "
                "hand", "flag", "liveness_unavailable", step=None)


@rule(TimelineEvent.ABORTED)
def _aborted(data, t, ctx):
    step = referred_step(data.get("reason"))
    if step is not None:
        _referred(step, t, ctx)
        return
    ctx.find(t, f"session aborted at {mmss(t)}: {data.get('reason', 'no reason given')}",
             "reject", "aborted")


def _referred(step: str, t: float, ctx: Context) -> None:
    """A witness referred to a human agent at ``step`` (``kiosk.protocol.REFERRED``): a flag
    naming the step, never a reject (the investor did nothing wrong) and never clear (a human
    finishes the witness)."""
    if any(f.code == "referred" for f in ctx.findings):
        return
    ctx.find(t, f"referred to a human agent at {mmss(t)}: step {step} failed its last attempt "
                "(on_fail: refer); a member of staff must finish the witness", "flag",
             "referred", step)


@rule(TimelineEvent.CLIENT_ERROR)
def _client_error(data, t, ctx):
    ctx.find(t, f"browser reported {data.get('code', 'an error')} at {mmss(t)}", "info",
             "client_error")


# -- building the report ---------------------------------------------------------------------

# A check file the timeline announced (by any of these events) must be in the bag: the face
# analysis ran if it sampled the face, even when it could not write its results at the end
# (a full disk).
CHECK_ANNOUNCED_BY = {"liveness": (TimelineEvent.LIVENESS_REPORT, TimelineEvent.LIVENESS_SAMPLE)}


def _damaged(ctx: Context, what: str, rel: str, why: str) -> None:
    """A bag file that cannot be read is a flag on the case, never a case no one sees."""
    text = f"{what} unreadable ({rel}: {why}): review the recording by hand"
    ctx.findings.append(Finding(0.0, text, "flag", "file_unreadable", None))
    ctx.markers.append({"t": 0.0, "kind": "flag", "label": text, "step": None})


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_safe(value):
    """``value`` (decoded JSON) with every lone surrogate (a ``\\ud800`` escape: JSON allows
    it, UTF-8 cannot hold it, so storing the pre-review failed: retest N8) in its strings and
    keys replaced by U+FFFD, and how many strings held one."""
    if isinstance(value, str):
        fixed, n = _SURROGATE.subn("\ufffd", value)
        return fixed, int(n > 0)
    if isinstance(value, dict):
        out, count = {}, 0
        for k, v in value.items():
            k2, n1 = _text_safe(k) if isinstance(k, str) else (k, 0)
            v2, n2 = _text_safe(v)
            out[k2] = v2
            count += n1 + n2
        return out, count
    if isinstance(value, list):
        items = [_text_safe(v) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0


def _missing(ctx: Context, what: str, rel: str, why: str) -> None:
    """A bag file the package should hold but does not is a flag too, naming the file."""
    text = f"{what} missing ({rel} {why}): review the recording by hand"
    ctx.findings.append(Finding(0.0, text, "flag", "file_missing", None))
    ctx.markers.append({"t": 0.0, "kind": "flag", "label": text, "step": None})


def _in_manifest(bag: Path, rel: str) -> bool:
    """True when the bag's payload manifest lists ``rel`` (``data/...``): it was sealed."""
    try:
        lines = (bag / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    return any(line.split(maxsplit=1)[1:] == [rel] for line in lines)


def _read_json(path: Path, ctx: Context | None = None, what: str = "") -> dict:
    """The JSON object in ``path``; {} when the file is missing.

    A file that is empty, not UTF-8, not JSON or not an object is damaged (a full disk tears
    files): with ``ctx`` it becomes a flag finding "<what> unreadable (<file>: why)" and {} is
    returned; without ``ctx`` it raises EvidenceError.
    """
    why = ""
    data = None
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        why = f"cannot be read ({exc.strerror or type(exc).__name__})"
    else:
        if not raw.strip():
            why = "empty file"
        else:
            try:
                data = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                why = "not valid UTF-8"
            except ValueError as exc:
                why = f"not valid JSON ({exc})"
            except RecursionError:  # #13 retest F2: a flag, not a crash the poller retries
                why = "nested too deeply"
            else:
                if not isinstance(data, dict):
                    why = f"not a JSON object (a {type(data).__name__})"
    rel = "/".join(path.parts[-2:]) if path.parent.name == "checks" else path.name
    if not why:
        assert isinstance(data, dict)
        try:
            data, bad = _text_safe(data)
        except RecursionError:  # parsed just under the limit, but too deep to walk
            why = "nested too deeply"
    if not why:
        assert isinstance(data, dict)
        if bad and ctx is not None:
            _damaged(ctx, what or rel, rel, f"{bad} strings hold a lone surrogate (not text; "
                     "shown as U+FFFD)")
        return data
    if ctx is None:
        raise EvidenceError(f"{rel}: {why}")
    _damaged(ctx, what or rel, rel, why)
    return {}


def read_json_file(path: Path) -> dict:
    """The JSON object in bag file ``path``; EvidenceError naming the file and why when it is
    damaged (empty, not UTF-8, not JSON, not an object); {} when it is missing."""
    return _read_json(path)


def _flow(bag: Path, ctx: Context) -> dict:
    path = bag / "data" / "flow.yaml"
    try:
        flow = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if _in_manifest(bag, "data/flow.yaml"):  # sealed with it, removed since
            _missing(ctx, "flow script", "flow.yaml", "is in the manifest but not in the package")
        return {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        _damaged(ctx, "flow script", "flow.yaml", f"not valid YAML ({type(exc).__name__})")
        return {}
    except RecursionError:  # '[' x 100000: PyYAML's composer recurses per level
        _damaged(ctx, "flow script", "flow.yaml", "nested too deeply")
        return {}
    if flow is None:  # an empty file, or only comments: a torn file, never a script
        _damaged(ctx, "flow script", "flow.yaml", "empty file")
        return {}
    if not isinstance(flow, dict):
        _damaged(ctx, "flow script", "flow.yaml", f"not a mapping (a {type(flow).__name__})")
        return {}
    if "steps" in flow and not isinstance(flow["steps"], list):
        _damaged(ctx, "flow script", "flow.yaml",
                 f"steps is not a list (a {type(flow['steps']).__name__})")
        flow = {k: v for k, v in flow.items() if k != "steps"}
    return flow


# report.json's parts the pre-review reads, each an object when present.
REPORT_OBJECTS = ("session", "outcome", "flow")


def _report(bag: Path, ctx: Context) -> dict:
    """``data/report.json``, each of its ``REPORT_OBJECTS`` an object (one that is not is a
    flag and read as {}), its ids and locale text."""
    report = _read_json(bag / "data" / "report.json", ctx, "package report")
    for key in REPORT_OBJECTS:
        if key in report and not isinstance(report[key], dict):
            _damaged(ctx, "package report", "report.json",
                     f"{key} is not an object (a {type(report[key]).__name__})")
            report[key] = {}
    for key, inner in (("package_id", None), ("id", "session"), ("locale", "session"),
                       ("state", "outcome"), ("end_reason", "outcome"), ("id", "flow")):
        part = report if inner is None else report.get(inner) or {}
        value = part.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            where = key if inner is None else f"{inner}.{key}"
            _damaged(ctx, "package report", "report.json",
                     f"{where} is not text (a {type(value).__name__})")
            del part[key]
    return report


def _apply_check_file(name: str, data: dict, ctx: Context) -> None:
    """A checks/*.json in the liveness SessionReport shape: events plus a summary.

    An event the rules cannot read (wrong types; no ``t_start`` that is a time, or a
    ``t_end`` that is neither null nor a time) is a flag on the case, not an error, and never
    a finding of its own: ``{"type": "identity_change"}`` alone was a reject at 00:00.
    """
    events = data.get("events")
    for i, ev in enumerate(events if isinstance(events, list) else []):
        if isinstance(ev, dict) and ev.get("type") in RULES:
            start = _event_time(ev.get("t_start"))
            end = ev.get("t_end")
            if start is None or (end is not None and _event_time(end) is None):
                _damaged(ctx, f"{name.removesuffix('.json')} results", f"checks/{name}",
                         f"event {i} malformed (no valid t_start/t_end)")
                continue
            try:
                RULES[ev["type"]](ev, start, ctx)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                _damaged(ctx, f"{name.removesuffix('.json')} results", f"checks/{name}",
                         f"event {i} malformed ({type(exc).__name__})")
    if data.get("available") is False:
        ctx.find(0.0, f"{name}: the analysis was unavailable "
                      f"({str(data.get('error') or 'no reason given')[:200]}): review the face "
                      "by hand", "flag", "liveness_unavailable", step=None)
    summary = data.get("summary")
    summary = summary if isinstance(summary, dict) else {}
    if summary.get("still_image_suspected"):
        ctx.find(0.0, _still_text(name, summary, events if isinstance(events, list) else []),
                 "reject", "still_image", step=None)
    elif summary.get("still_image_unjudged"):
        # Too little usable video to tell (a loaded server or sender): a human looks; never
        # a reject, which load alone must not cause.
        ctx.find(0.0, f"{name}: not enough frames to judge a still image "
                      f"({str(summary['still_image_unjudged'])[:200]}): review the face by hand",
                 "flag", "still_image_unjudged", step=None)
    _face_match(summary, ctx)


def _still_text(name: str, summary: dict, events: list) -> str:
    """The still-image finding with what it rests on (the face's median landmark speed against
    ``still_speed``) and, when answers were heard while this face did not speak or a second
    person was in view, that other reason named first: a coach answering for an investor who
    keeps still is not told apart from a picture by motion alone."""

    raw = summary.get("still_evidence")
    evidence = raw if isinstance(raw, dict) else {}
    speed = _num(evidence.get("speed"))
    speed = speed if speed is not None else _num(summary.get("landmark_speed"))
    limit = SessionCheckParams().still_speed
    figures = (f" (median landmark speed {speed:.4f} frame widths/s; a still image is under "
               f"{limit:.2f})" if speed is not None else "")
    blinks = evidence.get("blinks")
    if isinstance(blinks, int) and not isinstance(blinks, bool) and blinks > 0:
        figures += (f", though it blinked {blinks} time{'s' if blinks > 1 else ''} (a picture "
                    "does not): check for a live person keeping still")
    kinds = [str(e.get("type")) for e in events if isinstance(e, dict)]
    unspoken = kinds.count(CheckEvent.ANSWER_NOT_SEEN_SPOKEN)
    others = kinds.count(CheckEvent.MULTIPLE_FACES)
    why = []
    if others:
        why.append("a second person was in view")
    if unspoken:
        why.append(f"{unspoken} answer{'s were' if unspoken > 1 else ' was'} heard while this "
                   "face did not speak")
    if why:
        return (f"{name}: another person may have answered for the investor ({' and '.join(why)})"
                f"; the face on camera showed no natural motion{figures}: a still image, or a "
                "person keeping still while someone else spoke")
    return f"{name}: still image suspected: no natural motion of the face{figures}"


def face_match_result(summary: dict) -> dict:
    """The face against the ID photo as the case page and the report show it, pass or not:
    ``distance`` (None: no good face sample to compare), ``threshold`` (the same person within
    it), ``mismatch_threshold`` (another person from it), ``passed`` and ``mismatch``."""
    defaults = SessionCheckParams()
    distance = _num(summary.get("id_match_distance"))
    threshold = _num(summary.get("id_match_threshold")) or defaults.id_match_distance
    far = _num(summary.get("id_mismatch_threshold")) or defaults.id_mismatch_distance
    mismatch = summary.get("id_mismatch")
    return {"distance": distance, "threshold": threshold, "mismatch_threshold": far,
            "passed": summary.get("id_match") is True,
            "mismatch": (mismatch is True) or (mismatch is None and distance is not None
                                               and distance >= far)}


def _face_match(summary: dict, ctx: Context) -> None:
    """The live face against the broker's ID photo (``kiosk.liveness.session_checks``): a
    distance at or over ``id_mismatch_distance`` (measured from good samples only) is another
    person, a suggested reject; over ``id_match_distance`` but under that, a doubt a human
    settles (flag); no good sample to compare, a flag too."""

    defaults = SessionCheckParams()
    if "id_match" in summary:
        ctx.face_match = face_match_result(summary)
    if summary.get("id_match") is True and ctx.face_match is not None \
            and ctx.face_match["distance"] is not None:
        fm = ctx.face_match
        ctx.find(0.0, f"the face on camera matches the ID photo: face match distance "
                      f"{fm['distance']:.2f}, within {fm['threshold']:.2f}", "info",
                 "face_match_passed", step=None)
    if summary.get("id_match") is not False:
        return
    distance = summary.get("id_match_distance")
    if "id_match_distance" in summary and distance is None:
        ctx.find(0.0, "the face on camera could not be compared with the ID photo (no good "
                      "face sample): compare them by hand", "flag", "face_match", step=None)
        return
    if isinstance(distance, bool) or not isinstance(distance, (int, float)):
        return
    match = _num(summary.get("id_match_threshold")) or defaults.id_match_distance
    far = _num(summary.get("id_mismatch_threshold")) or defaults.id_mismatch_distance
    mismatch = summary.get("id_mismatch")
    if mismatch is True or (mismatch is None and distance >= far):
        ctx.find(0.0, f"the face on camera is another person than the ID photo: face match "
                      f"distance {distance:.2f}, at or over {far:.2f} (the same person is "
                      f"within {match:.2f})", "reject", "face_mismatch", step=None)
    else:
        ctx.find(0.0, f"face match distance {distance:.2f} above the ID photo threshold "
                      f"{match:.2f} (another person from {far:.2f}): compare them by hand",
                 "flag", "face_match", step=None)


# The ID card's checks (kiosk.witness.id_card, data/id_card/card.json): a failed check that
# says the card is not the applicant's, or not valid today, suggests a reject; any other
# failure, and every "needs_human", is a flag; "not_checked" is information only, except the
# authority: an identity nobody checked against the authority is a flag (a back office acting
# on "clear" must not open an account without it) unless the broker declared that it checks
# identity in its own system (identity_authority: external, card.json authority.external).
ID_CARD_REJECT = ("id_number_matches_applicant", "card_not_expired", "authority")
NO_AUTHORITY_TEXT = "identity not checked against the authority: human review"


def _apply_id_card(bag: Path, ctx: Context) -> dict | None:
    """The ID card's checks as findings; the card as the console shows it, or None."""
    folder = bag / "data" / "id_card"
    if not folder.is_dir():
        return None
    card = _read_json(folder / "card.json", ctx, "ID card results")
    if not card:
        if not (folder / "card.json").exists():
            text = "ID card results missing (id_card/card.json is not in the package)"
            ctx.findings.append(Finding(0.0, text, "flag", "file_missing", None))
            ctx.markers.append({"t": 0.0, "kind": "flag", "label": text, "step": None})
        return {"overall": None, "checks": [], "front": None, "back": None}
    def find(text: str, severity: str, code: str) -> None:  # about the card, not a step
        ctx.findings.append(Finding(0.0, text, severity, code, None))
        if severity != "info":
            ctx.markers.append({"t": 0.0, "kind": "flag", "label": text, "step": None})

    raw_checks = card.get("checks")
    if raw_checks is not None and not isinstance(raw_checks, list):
        _damaged(ctx, "ID card results", "id_card/card.json",
                 f"checks is not a list (a {type(raw_checks).__name__})")
        raw_checks = None
    checks = [c for c in raw_checks or [] if isinstance(c, dict)]
    for c in checks:
        name, status, detail = str(c.get("name")), c.get("status"), str(c.get("detail", ""))
        if status == "pass":
            continue
        if status == "fail":
            sev = "reject" if name in ID_CARD_REJECT else "flag"
            find(f"ID card: {name} failed: {detail}", sev, f"id_card_{name}")
        elif status == "not_checked" and name == "authority":
            kept = card.get("authority")
            if isinstance(kept, dict) and kept.get("external") is True:
                find(f"ID card: identity {detail}", "info", "id_card_authority")
            else:
                find(f"ID card: {NO_AUTHORITY_TEXT}", "flag", "id_card_authority")
        elif status == "not_checked":
            find(f"ID card: {name} not checked: {detail}", "info", f"id_card_{name}")
        else:  # needs_human, or anything unknown: never a pass
            find(f"ID card: {name} needs a human: {detail}", "flag", f"id_card_{name}")
    sides: dict[str, dict | None] = {}
    for s in ("front", "back"):
        doc = card.get(s)
        if not isinstance(doc, dict):
            sides[s] = None
            continue
        image = f"{s}.jpg" if (folder / f"{s}.jpg").is_file() else None
        if image is None:
            find(f"ID card {s}: no image in the package"
                 + (f" ({doc['image_withheld']})" if doc.get("image_withheld") else ""),
                 "info", "id_card_image")
        sides[s] = {"image": image, "fields": doc.get("fields") or {},
                    "upside_down": doc.get("upside_down"), "masked": doc.get("masked") or []}
    return {"overall": card.get("overall"), "checks": checks, **sides,
            "capture": _capture(card.get("capture"))}


def _num(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _capture(raw) -> dict:
    """card.json's ``capture`` (the card shown on camera) as the console shows it: per side
    its status, reason, the rank of the frame read, frames analysed and usable, the hints
    given and the best frames' scores; anything malformed is left out, never an error."""
    out: dict[str, dict] = {}
    if not isinstance(raw, dict):
        return out
    for side in ("front", "back"):
        cap = raw.get(side)
        if not isinstance(cap, dict) or cap.get("status") not in ("read", "needs_human"):
            continue
        got = cap.get("frames")
        frames: dict = got if isinstance(got, dict) else {}
        got = frames.get("hints")
        hints: dict = got if isinstance(got, dict) else {}
        best = []
        for b in frames.get("best") or []:
            if not isinstance(b, dict):
                continue
            nums = {k: _num(b.get(k)) for k in ("t", "sharpness", "area_share", "glare")}
            if all(v is not None for v in nums.values()):
                best.append(nums)
        rank = cap.get("frame_rank")
        out[side] = {
            "status": cap["status"],
            "reason": str(cap["reason"]) if cap.get("reason") else None,
            "frame_rank": rank if isinstance(rank, int) and not isinstance(rank, bool) else None,
            "frames": {"frames_seen": _num(frames.get("frames_seen")) or 0,
                       "frames_usable": _num(frames.get("frames_usable")) or 0,
                       "hints": {str(k): v for k, v in hints.items()
                                 if isinstance(v, int) and not isinstance(v, bool)},
                       "best": best}}
    return out


MAX_TIMELINE_PROBLEMS = 3  # damaged timeline lines named in the flag; the rest are counted


def _event_time(value: object) -> float | None:
    """An event's ``t`` (seconds on the media clock) if it is a finite number >= 0, else None
    (missing, null, true, a string, NaN, Infinity, negative)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    t = float(value)
    return t if math.isfinite(t) and t >= 0 else None


def build_prereview(bag_dir: Path) -> dict:
    """The pre-review of one sealed bag folder (read only).

    EvidenceError when ``bag_dir`` is not a bag at all; OSError when a file or folder in it
    cannot be listed or checked (the caller may try again later). A damaged or missing file
    inside it is a flag finding (``file_unreadable``, ``file_missing``) and makes the verdict
    at least ``needs_attention``. Content of a shape no rule foresaw raises
    :class:`PrereviewError` naming the file, so that the case is queued flagged
    (:func:`unreadable_prereview`), never retried for ever.
    """
    bag = Path(bag_dir)
    if not (bag / "data").is_dir():
        raise EvidenceError(f"{bag}: not an evidence bag (no data/ folder)")
    ctx = Context()
    try:
        return _build(bag, ctx)
    except (EvidenceError, OSError):
        raise
    except Exception as exc:  # a bug or a shape no rule knows: named, never a silent loss
        raise PrereviewError(ctx.reading or "the package",
                             f"content the pre-review cannot judge ({type(exc).__name__})"
                             ) from exc


def unreadable_prereview(package_id: str, session_id: str, file: str, why: str, *,
                         flow_id: str = "", locale: str = "") -> dict:
    """The pre-review of a case whose evidence cannot be read or judged: empty, with one
    ``flag`` finding (code ``evidence_unreadable``) "evidence unreadable: <file>: <why>" and
    the verdict ``needs_attention``. ``flow_id`` and ``locale`` come from the session row."""
    text = f"evidence unreadable: {file}: {why}: review the package by hand"
    return _text_safe({
        "format": FORMAT, "package_id": package_id, "session_id": session_id,
        "flow": {"id": flow_id or None, "version": None, "priority": "normal"},
        "locale": locale, "outcome": {"state": None, "end_reason": None},
        "recording": None, "duration": 0.0, "verdict": "needs_attention",
        "verdict_reasons": [text], "steps": [],
        "findings": [asdict(Finding(0.0, text, "flag", "evidence_unreadable", None))],
        "markers": [{"t": 0.0, "kind": "flag", "label": text, "step": None}],
        "subtitles": [], "signals": None, "keyframes": [], "has_id_photo": False,
        "face_match": None, "id_card": None,
    })[0]


def _build(bag: Path, ctx: Context) -> dict:
    ctx.reading = "report.json"
    report = _report(bag, ctx)
    if not (bag / "data" / "report.json").exists():  # every sealed package has one
        _missing(ctx, "package report", "report.json", "is not in the package")
    ctx.reading = "flow.yaml"
    flow = _flow(bag, ctx)
    ctx.locale = str((report.get("session") or {}).get("locale") or "")
    ctx.flow_steps = {str(st["id"]): st for st in flow.get("steps") or []
                      if isinstance(st, dict) and "id" in st}
    ctx.reading = "timeline.jsonl"
    scan = scan_timeline(bag / "data" / "timeline.jsonl")
    events = []
    for i, ev in enumerate(scan.events):
        ev, bad = _text_safe(ev)
        if bad:
            _damaged(ctx, "timeline", "timeline.jsonl", f"event {i} holds a lone surrogate "
                     "(not text; shown as U+FFFD)")
        events.append(ev)
    if scan.problems == ["file missing"]:
        text = ("timeline missing (timeline.jsonl is not in the package): review the recording "
                "by hand")
        ctx.findings.append(Finding(0.0, text, "flag", "file_missing", None))
        ctx.markers.append({"t": 0.0, "kind": "flag", "label": text, "step": None})
    elif not scan.problems and not events:  # sealing writes at least the start event
        _damaged(ctx, "timeline", "timeline.jsonl", "empty file, no events")
    elif scan.problems:  # the events after a damaged line are still read below
        more = len(scan.problems) - MAX_TIMELINE_PROBLEMS
        _damaged(ctx, "timeline", "timeline.jsonl",
                 "; ".join(scan.problems[:MAX_TIMELINE_PROBLEMS])
                 + (f"; {more} more damaged lines" if more > 0 else ""))
    duration = 0.0
    for i, ev in enumerate(events):
        t = _event_time(ev.get("t"))
        if t is None:  # never a case that no one sees
            _damaged(ctx, "timeline", "timeline.jsonl", f"event {i} has no valid time")
            continue
        duration = max(duration, t)
        raw = ev.get("data")
        data = raw if isinstance(raw, dict) else {}
        fn = RULES.get(str(ev.get("type")))
        if fn is not None:
            fn(data, t, ctx)
    # The check files are read after the timeline: their findings carry their own times and
    # belong to the step running then (``_steps``), not to the last step the walk left.
    ctx.step = None
    checks = bag / "data" / "checks"
    for path in sorted(checks.glob("*.json")):
        ctx.reading = f"checks/{path.name}"
        _apply_check_file(path.name, _read_json(path, ctx, f"{path.stem} results"), ctx)
    ctx.reading = "checks/"
    announced = {str(ev.get("type")) for ev in events}
    for name, event_types in CHECK_ANNOUNCED_BY.items():
        event_type = next((e for e in event_types if e in announced), None)
        if event_type is not None and not (checks / f"{name}.json").exists():
            text = (f"{name} results missing (checks/{name}.json: the timeline has "
                    f"{event_type} but the file is not in the package)")
            ctx.findings.append(Finding(0.0, text, "flag", "file_missing", None))
            ctx.markers.append({"t": 0.0, "kind": "flag", "label": text, "step": None})
    ctx.reading = "id_card/card.json"
    id_card = _apply_id_card(bag, ctx)
    incomplete = report.get("incomplete") if isinstance(report.get("incomplete"), dict) else None
    if incomplete:  # sealed from the shared state: the node with the recording was lost
        text = (f"incomplete evidence: {incomplete.get('text') or 'sealed without its node'}"
                .replace(". Offer", "; offer"))
        ctx.findings.append(Finding(0.0, text, "flag", "evidence_incomplete", None))
        ctx.markers.append({"t": 0.0, "kind": "flag", "label": text, "step": None})
    referred = referred_step((report.get("outcome") or {}).get("end_reason"))
    if referred is not None:  # also when the timeline's end was not recorded
        _referred(referred, duration, ctx)
    ctx.reading = "report.json, flow.yaml and timeline.jsonl (steps)"

    # Subtitles without an end run to the next prompt (or 4 s).
    prompts = [s for s in ctx.subtitles if s["kind"] == "prompt"]
    for i, s in enumerate(prompts):
        if s["end"] is None:
            nxt = prompts[i + 1]["start"] if i + 1 < len(prompts) else s["start"] + 4.0
            s["end"] = min(nxt, s["start"] + 8.0)

    steps = _steps(events, flow, report, ctx.findings, ctx.evidence)
    state = (report.get("outcome") or {}).get("state") or (report.get("session") or {}).get("state")
    verdict_reasons = [f.text for f in ctx.findings if f.severity != "info"]
    verdict_reasons += [r for st in steps for r in st["reasons"] if r.endswith("has no result")]
    if state and state != "finished":
        verdict_reasons.append(f"session ended as {state}")
    if not report.get("recording"):
        verdict_reasons.append("no recording in the package")
    worst = max((SEVERITY_RANK[f.severity] for f in ctx.findings), default=0)
    if worst >= 2:
        verdict = "suggested_reject"
    elif worst == 1 or verdict_reasons:
        verdict = "needs_attention"
    else:
        verdict = "clear"
    ctx.reading = "the package's file list"
    keyframes = sorted(p.name for p in (bag / "data" / "keyframes").glob("*.jpg"))
    has_signals = bool(ctx.signals["t"])
    pre = {
        "format": FORMAT,
        "package_id": report.get("package_id") or bag.name,
        "session_id": (report.get("session") or {}).get("id") or bag.name,
        "flow": {"id": (report.get("flow") or {}).get("id") or flow.get("id"),
                 "version": (report.get("flow") or {}).get("version") or flow.get("version"),
                 "priority": (flow["priority"] if isinstance(flow.get("priority"), str)
                              else "normal")},
        "locale": (report.get("session") or {}).get("locale") or "",
        "outcome": {"state": state,
                    "end_reason": (report.get("outcome") or {}).get("end_reason")},
        "recording": report.get("recording"),
        "incomplete": incomplete,
        "duration": round(duration, 3),
        "verdict": verdict,
        "verdict_reasons": verdict_reasons,
        # What the judgement let stand in answers that passed: shown even on a clear case.
        "let_stand": [f.text for f in ctx.findings if f.code == "let_stand"],
        "steps": steps,
        "findings": [asdict(f) for f in sorted(ctx.findings, key=lambda f: f.t)],
        "markers": _merge_markers(ctx.markers),
        "subtitles": sorted(ctx.subtitles, key=lambda s: s["start"]),
        "signals": ctx.signals if has_signals else None,
        "keyframes": keyframes,
        "has_id_photo": (bag / "data" / "id_photo.jpg").is_file(),
        # The face against the ID photo, pass or not (None: no comparison was made).
        "face_match": ctx.face_match,
        "id_card": id_card,
    }
    return _text_safe(pre)[0]  # and from any other source (flow.yaml, the card): never stored


def _merge_markers(markers: list[dict], within: float = 0.5) -> list[dict]:
    """One marker per kind and moment: markers of one kind closer than ``within`` s merge,
    so two findings about the same answer do not stack on the timeline bar."""
    out: list[dict] = []
    for m in sorted(markers, key=lambda m: (m["kind"], m["t"])):
        last = out[-1] if out else None
        if last and last["kind"] == m["kind"] and m["t"] - last["t"] < within:
            if m["label"] not in last["label"]:
                last["label"] += "; " + m["label"]
            continue
        out.append(dict(m))
    return sorted(out, key=lambda m: m["t"])


def _step_kind(kind: object) -> StepKind | object:
    """A step's recorded kind as a ``StepKind`` (the same string); anything else as it is."""
    return StepKind(kind) if isinstance(kind, str) and kind in set(StepKind) else kind


def _steps(events: list[dict], flow: dict, report: dict, findings: list[Finding],
           evidence: dict[str, list[dict]] | None = None) -> list[dict]:
    locale = (report.get("session") or {}).get("locale") or ""
    titles = {}
    for s in flow.get("steps") or []:
        if isinstance(s, dict) and "id" in s:
            title = s.get("title") or {}
            titles[str(s["id"])] = (title.get(locale) if isinstance(title, dict) else None) \
                or str(s["id"])
    rows: dict[str, dict] = {}
    for ev in events:
        raw = ev.get("data")
        data = raw if isinstance(raw, dict) else {}
        if ev.get("type") == TimelineEvent.STEP_STARTED and data.get("step") is not None:
            sid = str(data["step"])
            t = float(ev.get("t") or 0.0)
            row = rows.setdefault(sid, {"step": sid, "kind": _step_kind(data.get("kind")),
                                        "title": titles.get(sid, sid), "start": t, "end": t,
                                        "status": "pass", "outcome": None, "reasons": [],
                                        "moments": [],
                                        "answers": (evidence or {}).get(sid, [])})
            row["end"] = max(row["end"], t)
        elif data.get("step") is not None and str(data["step"]) in rows:
            rows[str(data["step"])]["end"] = max(rows[str(data["step"])]["end"],
                                                 float(ev.get("t") or 0.0))
            row = rows[str(data["step"])]
            if ev.get("type") == TimelineEvent.STEP_RESULT:
                row["outcome"] = data.get("outcome")
            elif ev.get("type") == TimelineEvent.STEP_COMPLETED and row["outcome"] is None:
                row["outcome"] = "completed"
    for f in findings:
        at = rows.get(f.step) if f.step else None
        if at is None:  # an untied finding belongs to the step running at its time
            at = next((r for r in rows.values() if r["start"] <= f.t <= r["end"] + 0.5), None)
        if at is None:
            continue
        at["moments"].append({"t": f.t, "end": f.end, "text": f.text,
                              "severity": f.severity})
        if f.severity != "info":
            at["status"] = "flag"
            at["reasons"].append(f.text)
    for row in rows.values():
        if row["outcome"] is None and row["status"] == "pass":
            # A step that started but never got a result was not completed.
            row["status"] = "flag"
            row["reasons"].append(f"step {row['step']} has no result")
    return list(rows.values())
