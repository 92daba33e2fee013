"""The witness state machine: pure ``(state, event) -> (state, effects)``.

It does no I/O and has no clock. The runner (``kiosk.witness.runner``) feeds it events
(from the page, from timers, from the media layer), runs the effects it returns (timeline
records, socket messages, timers, finalising the recording) and stamps every record with the
media clock. Steps run strictly in order; none can be skipped: every step is entered through
``SendStep`` and left only through its own completion rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kiosk.protocol import StepOutcome, TimelineEvent, referred_reason

# ---------------------------------------------------------------- the plan


ANSWER_KINDS = frozenset({"question", "read_aloud"})
# The camera, not the voice, answers these.
OBSERVED_KINDS = frozenset({"challenge", "show_id", "id_document"})


@dataclass(frozen=True)
class PlannedStep:
    """One step as this session will run it: texts filled in, random draws made."""

    id: str
    kind: str  # say | question | read_aloud | challenge | show_id | id_document | wait
    text: str  # the exact words the guide speaks
    title: str
    answer_seconds: float | None = None  # question / read_aloud: the answer window
    # wait: how long; challenge / show_id / id_document: the time allowed
    seconds: float | None = None
    retries: int = 0
    on_fail: str = "flag"  # retry | flag | refer | abort
    expect: str | None = None  # question: affirm | deny | phrases
    phrases: tuple[str, ...] = ()  # question: accepted answers besides the built-in lexicon
    read_text: str | None = None  # read_aloud: what the investor must say
    answer: str | None = None  # question: the answer the guide asks for
    refuse: tuple[str, ...] = ()  # question: refusals besides the built-in lexicon
    required: tuple[str, ...] = ()  # read_aloud: parts heard exactly (name, ID tail)
    challenges: tuple[str, ...] = ()
    sides: tuple[str, ...] = ()  # id_document: the card sides to show, in order
    side_seconds: float | None = None  # id_document: the time for each side
    # What the voice gets for ``text`` (kiosk.guide.normalise; variables by their readings);
    # empty: the guide normalises ``text`` itself.
    spoken: str = ""

    @property
    def listens(self) -> bool:
        return self.kind in ANSWER_KINDS

    @property
    def observes(self) -> bool:
        return self.kind in OBSERVED_KINDS


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class Joined(Event):
    pass


@dataclass(frozen=True)
class MediaConnected(Event):
    """The first video frame arrived: the recording is running."""


@dataclass(frozen=True)
class PromptStarted(Event):
    seq: int


@dataclass(frozen=True)
class PromptEnded(Event):
    seq: int


@dataclass(frozen=True)
class PromptTimeout(Event):
    """The page never reported the end of a prompt in time."""

    seq: int


@dataclass(frozen=True)
class WindowTimeout(Event):
    """The answer / observation / wait period of step ``seq`` is over."""

    seq: int


@dataclass(frozen=True)
class StepResult(Event):
    """The outcome of evaluating a step's answer or observation.

    ``outcome``: pass | unverified (nothing could judge it; a human must) | retry | flag |
    stop (the investor said no).
    """

    seq: int
    outcome: str
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Cancel(Event):
    pass


@dataclass(frozen=True)
class Lost(Event):
    """The investor is gone: ``reason`` is disconnected, connection_lost or media_failed."""

    reason: str


@dataclass(frozen=True)
class Shutdown(Event):
    pass


@dataclass(frozen=True)
class Failure(Event):
    reason: str


@dataclass(frozen=True)
class Abort(Event):
    """The server ends the witness for a cause it found, neither the investor's choice nor a
    bug (``ABORT_REASONS``)."""

    reason: str

    def __post_init__(self) -> None:
        if self.reason not in ABORT_REASONS:
            raise ValueError(f"unknown abort reason {self.reason!r}; known: "
                             f"{', '.join(sorted(ABORT_REASONS))}")


# Abort reasons: the page flooded the socket with events; the data disk is full, so the
# evidence can no longer be written.
ABORT_REASONS = frozenset({"client_abuse", "storage_full"})


# ---------------------------------------------------------------- effects


@dataclass(frozen=True)
class Effect:
    pass


@dataclass(frozen=True)
class Record(Effect):
    """Append an event to the timeline."""

    type: TimelineEvent
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SendStep(Effect):
    """Render (cached) and send step ``index`` to the page, as attempt ``attempt``;
    ``after_refusal``: the attempt before was heard as a refusal (its retry prompt says so);
    ``retry_hint``: it was heard clearly but not taken ("understanding_only" or "heard",
    ``kiosk.speech.observer.retry_hint``: its retry prompt says what to say), heard as someone
    else's will, a question or a hesitation ("own_will", "question", "hesitation",
    ``kiosk.witness.judge``), or would have stopped the witness ("confirm"); after a refusal
    or these, the retry prompt never gives the words to say (``kiosk.witness.plan.leads``)."""

    index: int
    seq: int
    attempt: int
    after_refusal: bool = False
    retry_hint: str = ""


@dataclass(frozen=True)
class StartTimer(Effect):
    """After ``seconds``, dispatch ``event``; a later timer of the same name replaces it."""

    name: str
    seconds: float
    event: Event


@dataclass(frozen=True)
class OpenWindow(Effect):
    step: str
    seq: int
    seconds: float
    kind: str  # answer | observe | wait


@dataclass(frozen=True)
class CloseWindow(Effect):
    step: str
    seq: int


@dataclass(frozen=True)
class Evaluate(Effect):
    """Judge what happened in step ``index``'s window; the result comes back as StepResult."""

    index: int
    seq: int
    attempt: int


@dataclass(frozen=True)
class Reject(Effect):
    """Tell the page its message made no sense now (it is not applied)."""

    code: str
    message: str


@dataclass(frozen=True)
class End(Effect):
    """Terminal: stop timers, close the peer, finalise the recording, seal."""

    state: str  # finished | aborted | failed
    reason: str


# ---------------------------------------------------------------- state

TERMINAL = frozenset({"finished", "aborted", "failed"})
# The timeline event that ends a session in each terminal phase.
TERMINAL_EVENTS = {"finished": TimelineEvent.FINISHED, "aborted": TimelineEvent.ABORTED,
                   "failed": TimelineEvent.FAILED}

# How long the page may take beyond a prompt's duration to report its end.
PROMPT_GRACE_SECONDS = 6.0


@dataclass(frozen=True)
class WitnessState:
    phase: str = "created"  # created joined prompting listening evaluating + TERMINAL
    index: int = -1
    seq: int = 0
    attempt: int = 0
    end_reason: str | None = None
    flags: tuple[str, ...] = ()
    # The current step's answer that would stop the witness (a refusal) was heard once and is
    # being confirmed: the next one stops it (``transition``, StepResult).
    confirming: bool = False

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL


def _start_step(plan, state: WitnessState, index: int, attempt: int = 0,
                after_refusal: bool = False, retry_hint: str = ""):
    seq = state.seq + 1
    new = replace(state, phase="prompting", index=index, seq=seq, attempt=attempt,
                  confirming=state.confirming and index == state.index)
    step = plan[index]
    effects: list[Effect] = [
        Record(TimelineEvent.STEP_STARTED,
               {"step": step.id, "index": index, "kind": step.kind, "attempt": attempt}),
        SendStep(index, seq, attempt, after_refusal, retry_hint),
    ]
    return new, effects


def _advance(plan, state: WitnessState):
    step = plan[state.index]
    effects: list[Effect] = [
        Record(TimelineEvent.STEP_COMPLETED, {"step": step.id, "index": state.index})]
    if state.index + 1 < len(plan):
        new, more = _start_step(plan, state, state.index + 1)
        return new, effects + more
    new = replace(state, phase="finished", end_reason="completed")
    return new, effects + [
        Record(TimelineEvent.FINISHED, {"flags": list(state.flags)}),
        End("finished", "completed"),
    ]


def _end(state: WitnessState, phase: str, reason: str):
    new = replace(state, phase=phase, end_reason=reason)
    data: dict[str, str | int] = {"reason": reason}
    if state.index >= 0:
        data["at_step_index"] = state.index
    return new, [Record(TERMINAL_EVENTS[phase], data), End(phase, reason)]


def _after_prompt(plan, state: WitnessState):
    step = plan[state.index]
    if step.listens:
        seconds = float(step.answer_seconds or 6.0)
        kind = "answer"
    elif step.observes or step.kind == "wait":
        seconds = float(step.seconds or 5.0)
        kind = "observe" if step.observes else "wait"
    else:
        return _advance(plan, state)
    new = replace(state, phase="listening")
    return new, [
        Record(TimelineEvent.WINDOW_OPENED, {"step": step.id, "seconds": seconds, "kind": kind}),
        OpenWindow(step.id, state.seq, seconds, kind),
        StartTimer("window", seconds, WindowTimeout(state.seq)),
    ]


def settle(step: PlannedStep, attempt: int, outcome: str) -> tuple[str, str]:
    """The one retry rule: how ``outcome`` of ``attempt`` (0 for the first) of ``step``
    settles, as ``(recorded, applied)``.

    ``recorded`` is what ``step_result`` records: a ``retry`` once the step's own ``retries``
    are used up is a ``flag``. ``applied`` is what the witness does next: with ``on_fail:
    retry`` a flag gets one more full round of the step (at least one retry in all), then
    stays a flag; with ``on_fail: refer`` a challenge's flag gets the step's own ``retries``
    first (a failed challenge of a step with ``retries: 2`` is done again up to twice), and
    only the last attempt's flag refers the witness to staff (which ends it); a question's flag
    (a doubt the judge leaves to a person) refers at once. Any other outcome is both.
    ValueError for a negative attempt.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    recorded = outcome
    if recorded == StepOutcome.RETRY and attempt >= step.retries:
        recorded = StepOutcome.FLAG  # out of retries: a human decides
    applied = recorded
    if (applied == StepOutcome.FLAG and step.on_fail == "retry"
            and attempt < max(step.retries, 1)):
        applied = StepOutcome.RETRY
    if (applied == StepOutcome.FLAG and step.on_fail == "refer" and step.kind == "challenge"
            and attempt < step.retries):
        applied = StepOutcome.RETRY
    return recorded, applied


def transition(plan: tuple[PlannedStep, ...], state: WitnessState, event: Event):
    """Apply ``event``; return the new state and the effects to run, in order."""
    if state.terminal:
        return state, []  # everything after the end is ignored, by design

    if isinstance(event, Cancel):
        return _end(state, "aborted", "cancelled")
    if isinstance(event, Lost):
        return _end(state, "aborted", event.reason)
    if isinstance(event, Shutdown):
        return _end(state, "aborted", "server_shutdown")
    if isinstance(event, Failure):
        return _end(state, "failed", event.reason)
    if isinstance(event, Abort):
        return _end(state, "aborted", event.reason)

    phase = state.phase
    if isinstance(event, Joined):
        if phase != "created":
            return state, [Reject("out_of_order", "already joined")]
        return replace(state, phase="joined"), [Record(TimelineEvent.JOINED)]

    if isinstance(event, MediaConnected):
        if phase != "joined":
            return state, []  # a second notice of the same media: nothing to do
        if not plan:
            return _end(state, "failed", "empty_flow")
        effects: list[Effect] = [Record(TimelineEvent.MEDIA_CONNECTED)]
        new, more = _start_step(plan, state, 0)
        return new, effects + more

    seq = getattr(event, "seq", None)
    if seq is not None and seq != state.seq:
        # A report about an earlier step (or a made-up one): never let it move the flow.
        if isinstance(event, (PromptStarted, PromptEnded)):
            return state, [Reject("out_of_order", f"prompt {seq} is not the current prompt")]
        return state, []

    if isinstance(event, PromptStarted):
        if phase != "prompting":
            return state, [Reject("out_of_order", "no prompt is playing")]
        return state, []  # the runner records playback reports with their own data

    if isinstance(event, PromptEnded):
        if phase != "prompting":
            return state, [Reject("out_of_order", "no prompt is playing")]
        return _after_prompt(plan, state)

    if isinstance(event, PromptTimeout):
        if phase != "prompting":
            return state, []
        step = plan[state.index]
        flagged = replace(state, flags=state.flags + (f"prompt_unconfirmed:{step.id}",))
        new, effects = _after_prompt(plan, flagged)
        return new, [Record(TimelineEvent.PROMPT_UNCONFIRMED, {"step": step.id})] + effects

    if isinstance(event, WindowTimeout):
        if phase != "listening":
            return state, []
        step = plan[state.index]
        effects = [Record(TimelineEvent.WINDOW_CLOSED, {"step": step.id}),
                   CloseWindow(step.id, state.seq)]
        if step.kind == "wait":
            new, more = _advance(plan, state)
            return new, effects + more
        new = replace(state, phase="evaluating")
        return new, effects + [Evaluate(state.index, state.seq, state.attempt)]

    if isinstance(event, StepResult):
        if phase != "evaluating":
            return state, []
        step = plan[state.index]
        recorded, outcome = settle(step, state.attempt, event.outcome)
        if outcome == StepOutcome.STOP and not state.confirming:
            # A first refusal is confirmed once, never taken at once: a genuine 我愿意 was
            # heard as 不愿意 and declined (#12 fresh tester). The retry asks the question again
            # without the words to say (kiosk.witness.plan.leads), whatever the step's retries;
            # a second refusal stops the witness; consent after it goes to a human
            # (kiosk.review.prereview).
            rec = Record(TimelineEvent.STEP_RESULT, {
                "step": step.id, "outcome": StepOutcome.RETRY, "attempt": state.attempt,
                **event.detail, "confirm_stop": True})
            new, more = _start_step(plan, state, state.index, state.attempt + 1,
                                    bool(event.detail.get("refusal")),
                                    str(event.detail.get("retry_hint") or "") or "confirm")
            return replace(new, confirming=True), [rec] + more
        rec = Record(
            TimelineEvent.STEP_RESULT,
            {"step": step.id, "outcome": recorded, "attempt": state.attempt, **event.detail},
        )
        if outcome == StepOutcome.PASS:
            new, more = _advance(plan, state)
            return new, [rec] + more
        if outcome == StepOutcome.RETRY:
            new, more = _start_step(plan, state, state.index, state.attempt + 1,
                                    bool(event.detail.get("refusal")),
                                    str(event.detail.get("retry_hint") or ""))
            return new, [rec] + more
        if outcome == StepOutcome.STOP:
            new, more = _end(state, "aborted", "declined")
            return new, [rec] + more
        if outcome in (StepOutcome.FLAG, StepOutcome.UNVERIFIED):
            if outcome == StepOutcome.FLAG and step.on_fail == "abort":
                new, more = _end(state, "aborted", f"step_failed:{step.id}")
                return new, [rec] + more
            if outcome == StepOutcome.FLAG and step.on_fail == "refer":
                # A human agent finishes this witness: it ends here, its evidence sealed as any
                # aborted witness's (kiosk.protocol.REFERRED).
                new, more = _end(state, "aborted", referred_reason(step.id))
                return new, [rec] + more
            flag = f"{outcome}:{step.id}"
            new, more = _advance(plan, replace(state, flags=state.flags + (flag,)))
            return new, [rec] + more
        return state, [Reject("bad_message", f"unknown outcome {event.outcome!r}")]

    return state, [Reject("bad_message", f"unexpected event {type(event).__name__}")]
