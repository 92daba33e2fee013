"""The witness state machine, driven event by event (no I/O, no clock)."""

import pytest

from kiosk.session import (
    Abort,
    Cancel,
    CloseWindow,
    End,
    Evaluate,
    Failure,
    Joined,
    Lost,
    MediaConnected,
    OpenWindow,
    PlannedStep,
    PromptEnded,
    PromptStarted,
    PromptTimeout,
    Record,
    Reject,
    SendStep,
    Shutdown,
    StartTimer,
    StepResult,
    WindowTimeout,
    WitnessState,
    settle,
    transition,
)

PLAN = (
    PlannedStep("welcome", "say", "Hello", "Welcome"),
    PlannedStep("consent", "question", "Do you agree?", "Consent", answer_seconds=4,
                retries=1, expect="affirm"),
    PlannedStep("pause", "wait", "One moment", "Pause", seconds=2),
    PlannedStep("bye", "say", "Goodbye", "Goodbye"),
)


def run(events, plan=PLAN, state=None):
    state = state or WitnessState()
    log = []
    for ev in events:
        state, effects = transition(plan, state, ev)
        log.append(effects)
    return state, log


def records(log):
    return [e.type for effects in log for e in effects if isinstance(e, Record)]


def start(plan=PLAN):
    return run([Joined(), MediaConnected()], plan)


def test_happy_path_runs_every_step_in_order():
    state, log = start()
    assert state.phase == "prompting" and state.index == 0 and state.seq == 1
    assert SendStep(0, 1, 0) in log[-1]
    state, l2 = run([PromptStarted(1), PromptEnded(1)], state=state)  # say: advances
    assert state.index == 1 and state.seq == 2
    state, l3 = run([PromptStarted(2), PromptEnded(2)], state=state)  # question: window opens
    assert state.phase == "listening"
    assert OpenWindow("consent", 2, 4.0, "answer") in l3[-1]
    assert StartTimer("window", 4.0, WindowTimeout(2)) in l3[-1]
    state, l4 = run([WindowTimeout(2)], state=state)
    assert state.phase == "evaluating"
    assert CloseWindow("consent", 2) in l4[0] and Evaluate(1, 2, 0) in l4[0]
    state, l5 = run([StepResult(2, "pass")], state=state)
    assert state.index == 2 and state.phase == "prompting"
    state, l6 = run([PromptEnded(3)], state=state)  # wait step: timer, no evaluation
    assert OpenWindow("pause", 3, 2.0, "wait") in l6[0]
    state, l7 = run([WindowTimeout(3), PromptEnded(4)], state=state)
    assert state.phase == "finished" and state.end_reason == "completed"
    assert End("finished", "completed") in l7[-1]
    all_records = records(log + l2 + l3 + l4 + l5 + l6 + l7)
    assert all_records[:3] == ["joined", "media_connected", "step_started"]
    started = [r for r in all_records if r == "step_started"]
    assert len(started) == 4 and all_records[-1] == "finished"


def test_steps_cannot_be_skipped_by_a_stale_or_forged_prompt_report():
    state, _ = start()
    state, log = run([PromptEnded(7)], state=state)
    assert state.index == 0 and state.phase == "prompting"
    assert isinstance(log[0][0], Reject) and log[0][0].code == "out_of_order"
    # A window timeout for a step that is not current does nothing.
    state2, log2 = run([WindowTimeout(1)], state=state)
    assert state2 == state and log2 == [[]]


def test_media_before_join_and_double_join_are_refused():
    state, log = run([MediaConnected()])
    assert state.phase == "created" and log == [[]]
    state, log = run([Joined(), Joined()])
    assert isinstance(log[1][0], Reject)


def test_retry_once_then_flag_and_continue():
    state, _ = start()
    state, _ = run([PromptEnded(1), PromptEnded(2), WindowTimeout(2)], state=state)
    state, log = run([StepResult(2, "retry")], state=state)
    assert state.index == 1 and state.attempt == 1 and state.seq == 3
    assert SendStep(1, 3, 1) in log[0]
    state, _ = run([PromptEnded(3), WindowTimeout(3)], state=state)
    state, log = run([StepResult(3, "retry")], state=state)  # out of retries -> flag
    assert state.index == 2 and "flag:consent" in state.flags


def test_no_answer_stops_the_witness_politely():
    """A first refusal is confirmed once (asked again, whatever the step's retries); the
    second stops the witness as declined."""
    state, _ = start()
    state, log = run([PromptEnded(1), PromptEnded(2), WindowTimeout(2), StepResult(2, "stop")],
                     state=state)
    assert state.phase == "prompting" and state.index == 1 and state.confirming
    assert SendStep(1, 3, 1, False, "confirm") in log[-1]
    result = next(e for e in log[-1] if isinstance(e, Record) and e.type == "step_result")
    assert result.data["outcome"] == "retry" and result.data["confirm_stop"] is True
    state, log = run([PromptEnded(3), WindowTimeout(3), StepResult(3, "stop")], state=state)
    assert state.phase == "aborted" and state.end_reason == "declined"
    assert End("aborted", "declined") in log[-1]


def test_unverified_answer_is_flagged_never_silently_passed():
    state, _ = start()
    state, _ = run([PromptEnded(1), PromptEnded(2), WindowTimeout(2),
                    StepResult(2, "unverified")], state=state)
    assert "unverified:consent" in state.flags and state.index == 2


def test_on_fail_abort_ends_the_session():
    plan = (PlannedStep("c", "challenge", "Blink", "Blink", seconds=5, on_fail="abort"),)
    state, _ = start(plan)
    state, log = run([PromptEnded(1), WindowTimeout(1), StepResult(1, "flag")], plan, state)
    assert state.phase == "aborted" and state.end_reason == "step_failed:c"


def test_prompt_never_confirmed_is_flagged_and_the_flow_goes_on():
    state, _ = start()
    state, log = run([PromptTimeout(1)], state=state)
    assert "prompt_unconfirmed:welcome" in state.flags and state.index == 1
    assert records(log)[0] == "prompt_unconfirmed"


@pytest.mark.parametrize(
    "event, phase, reason",
    [(Cancel(), "aborted", "cancelled"), (Lost("connection_lost"), "aborted", "connection_lost"),
     (Shutdown(), "aborted", "server_shutdown"), (Failure("media_error"), "failed", "media_error"),
     (Abort("client_abuse"), "aborted", "client_abuse")],
)
def test_every_way_to_end_is_explicit_and_final(event, phase, reason):
    state, _ = start()
    state, log = run([event], state=state)
    assert state.phase == phase and state.end_reason == reason
    assert log[0] == [Record(phase, {"reason": reason, "at_step_index": 0}), End(phase, reason)]
    after, log2 = run([PromptEnded(state.seq), Cancel(), Joined()], state=state)
    assert after == state and log2 == [[], [], []]


def test_an_abort_names_a_known_reason():
    with pytest.raises(ValueError, match="unknown abort reason 'oops'"):
        Abort("oops")


def test_cancel_before_media_is_recorded_without_step():
    state, log = run([Joined(), Cancel()])
    assert state.phase == "aborted"
    assert log[1][0] == Record("aborted", {"reason": "cancelled"})


@pytest.mark.parametrize("retries,attempt,applied", [(2, 0, "retry"), (2, 1, "retry"),
                                                     (2, 2, "flag"), (0, 0, "flag")])
def test_a_refer_challenge_gets_its_retries_before_it_refers(retries, attempt, applied):
    step = PlannedStep(id="c", kind="challenge", text="Blink", title="Blink", seconds=5,
                       retries=retries, on_fail="refer")
    assert settle(step, attempt, "flag") == ("flag", applied)


def test_on_fail_retry_gives_one_more_round_then_flags():
    plan = (PlannedStep("c", "challenge", "Blink", "Blink", seconds=5, on_fail="retry"),)
    state, _ = start(plan)
    state, _ = run([PromptEnded(1), WindowTimeout(1), StepResult(1, "flag")], plan, state)
    assert state.phase == "prompting" and state.attempt == 1
    state, _ = run([PromptEnded(2), WindowTimeout(2), StepResult(2, "flag")], plan, state)
    assert state.phase == "finished" and "flag:c" in state.flags


@pytest.mark.parametrize("retries,on_fail,attempt,outcome,recorded,applied", [
    (2, "flag", 0, "retry", "retry", "retry"),
    (2, "flag", 2, "retry", "flag", "flag"),     # the step's retries are used up
    (0, "flag", 0, "retry", "flag", "flag"),
    (0, "retry", 0, "retry", "flag", "retry"),   # on_fail retry: one more round at least
    (0, "retry", 1, "retry", "flag", "flag"),
    (0, "retry", 0, "flag", "flag", "retry"),    # a flag too (a failed challenge)
    (2, "retry", 2, "flag", "flag", "flag"),
    (1, "refer", 0, "pass", "pass", "pass"),
    (1, "refer", 0, "flag", "flag", "flag"),      # a question's flag refers at once
    (1, "abort", 0, "stop", "stop", "stop"),
    (0, "retry", 0, "unverified", "unverified", "unverified"),
])
def test_settle_is_the_one_retry_rule(retries, on_fail, attempt, outcome, recorded, applied):
    step = PlannedStep(id="q", kind="question", text="?", title="Q", retries=retries,
                       on_fail=on_fail)
    assert settle(step, attempt, outcome) == (recorded, applied)
    with pytest.raises(ValueError, match="attempt must be >= 0, got -1"):
        settle(step, -1, outcome)
