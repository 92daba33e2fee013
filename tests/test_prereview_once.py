"""In the pre-review and the replay's timeline, each answer (one attempt at a question or a
reading) gives exactly one finding and one marker, at the start of the speech heard for it:
never at the later time it was recognised or settled, never twice for a question's two records
(``answer_recognised`` then ``step_result``), never a "step flagged" or "step repeated" copy.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.evidence import EvidenceKeys, Ledger, seal_package
from kiosk.protocol import AnswerDecision, StepKind, StepOutcome, TimelineEvent
from kiosk.review.prereview import build_prereview
from kiosk.review.sample import make_session_dir
from kiosk.timeline import MediaClock, TimelineWriter

FLOW = """\
id: securities_account_opening
version: 1
title: {en: Account opening, zh-CN: 开户}
locales: [zh-CN, en]
steps:
  - id: identity
    kind: read_aloud
    title: {en: Identity, zh-CN: 身份确认}
  - id: consent
    kind: question
    title: {en: Consent, zh-CN: 开户意愿}
    expect: affirm
    answer: {zh-CN: 是的，我自愿, en: "yes, I do"}
"""

TEXT = "I, Emily Walker, open an account of my own free will."
# Each attempt: the prompt plays for 4 s, speech starts 1.5 s into the answer window and
# lasts 1.2 s; it is recognised 3 s after its start and settled 0.5 s later.
PROMPT_S, SPEECH_AFTER, SPEECH_S, RECOGNISED_AFTER, SETTLED_AFTER = 4.0, 1.5, 1.2, 3.0, 0.5


def question(outcome: StepOutcome, said: str, intent: str, **extra) -> dict:
    return {"outcome": outcome, "transcript": said, "intent": intent, "score": 0.2,
            "speech_present": bool(said), "engine": "whisper", "refusal": False,
            "note": "", "decision_reason": "", **extra}


def reading(outcome: StepOutcome, said: str) -> dict:
    return {"outcome": outcome, "transcript": said, "intent": "read", "score": 0.5,
            "speech_present": True, "engine": "whisper", "expected_text": TEXT,
            "required": ["Emily Walker"], "note": "", "decision_reason": ""}


def sealed(tmp_path: Path, steps: list[tuple[str, str, list[dict]]]) -> tuple[Path, dict]:
    """A finished session whose steps ran their attempts as the runner records them; the
    speech start and the settling time of every answer, by (step, attempt)."""
    keys = EvidenceKeys(tmp_path / "keys")
    keys.ensure()
    sdir = tmp_path / "sessions" / ("d" * 32)
    make_session_dir(sdir, "d" * 32, seconds=3.0, flagged=False, locale="en")
    (sdir / "flow.yaml").write_text(FLOW, encoding="utf-8")
    (sdir / "timeline.jsonl").unlink()
    tw = TimelineWriter(sdir / "timeline.jsonl", MediaClock())
    tw.append(TimelineEvent.JOINED, {}, t=0.0)
    times: dict[tuple[str, int], tuple[float, float]] = {}
    t = 1.0
    for i, (step, kind, attempts) in enumerate(steps):
        for n, detail in enumerate(attempts):
            detail = dict(detail)
            outcome = detail.pop("outcome")
            tw.append(TimelineEvent.STEP_STARTED, {"step": step, "index": i, "kind": kind,
                                                   "attempt": n}, t=t)
            window = t + PROMPT_S
            tw.append(TimelineEvent.WINDOW_OPENED, {"step": step, "seconds": 6, "kind": "answer"},
                      t=window)
            speech = window + SPEECH_AFTER if detail["speech_present"] else window
            spans = [[speech, speech + SPEECH_S]] if detail["speech_present"] else []
            recognised = speech + RECOGNISED_AFTER
            settled = recognised + SETTLED_AFTER
            if kind == StepKind.QUESTION:
                decision = {StepOutcome.PASS: AnswerDecision.AGREE,
                            StepOutcome.STOP: AnswerDecision.DISAGREE}.get(
                                outcome, AnswerDecision.UNCLEAR)
                tw.append(TimelineEvent.ANSWER_RECOGNISED, {
                    "step": step, "decision": decision, "intent": detail["intent"],
                    "text": detail["transcript"], "t_start": speech,
                    "t_end": spans[-1][1] if spans else window + 6,
                    "score": detail["score"], "engine": "whisper", "negation": False,
                    "reason_code": detail.get("reason_code"), "attempt": n}, t=recognised)
            tw.append(TimelineEvent.STEP_RESULT, {
                "step": step, "outcome": outcome, "attempt": n, "window": [window, window + 6],
                "speech_spans": spans, **detail}, t=settled)
            times[(step, n)] = (speech, settled)
            t = settled + 1.0
        tw.append(TimelineEvent.STEP_COMPLETED, {"step": step, "index": i}, t=t)
        t += 1.0
    tw.append(TimelineEvent.FINISHED, {"flags": []}, t=t)
    tw.append(TimelineEvent.RECORDING_FINALISED, {"file": "recording.webm"}, t=t + 0.5)
    tw.close()
    bag = seal_package(sdir, tmp_path / "evidence", keys,
                       Ledger(tmp_path / "ledger.jsonl", keys=keys)).bag_dir
    return bag, times


def of(pre: dict, what: str, step: str) -> list[dict]:
    """The findings, or the answer and flag markers, of ``step``."""
    if what == "findings":
        return [f for f in pre["findings"] if f["step"] == step]
    return [m for m in pre["markers"] if m["step"] == step and m["kind"] in ("answer", "flag")]


def speech_starts(times: dict, step: str) -> list[float]:
    return sorted(start for (s, _n), (start, _end) in times.items() if s == step)


def test_a_consent_not_taken_twice_gives_one_finding_and_marker_per_answer(tmp_path):
    unclear = question(StepOutcome.RETRY, "What is this about?", "unclear")
    last = question(StepOutcome.FLAG, "mm", "unclear")
    bag, times = sealed(tmp_path, [("consent", StepKind.QUESTION, [unclear, last])])
    pre = build_prereview(bag)
    starts = speech_starts(times, "consent")
    findings = of(pre, "findings", "consent")
    assert [f["t"] for f in findings] == starts, findings
    assert [(f["code"], f["severity"]) for f in findings] == [
        ("consent_unclear", "flag"), ("consent_unclear", "flag")]
    assert not [f for f in findings if f["code"] in ("retry", "step_flag")]
    markers = of(pre, "markers", "consent")
    assert [m["t"] for m in markers] == starts, markers
    assert [m["kind"] for m in markers] == ["flag", "flag"]
    settled = {end for (_s, _n), (_start, end) in times.items()}
    assert not [m for m in pre["markers"] if m["t"] in settled], pre["markers"]
    # one subtitle per answer, from where its speech starts
    subs = [s for s in pre["subtitles"] if s["kind"] == "answer"]
    assert [s["start"] for s in subs] == starts and [s["text"] for s in subs] == [
        "What is this about?", "mm"]
    assert pre["verdict"] == "needs_attention"


def test_an_answer_taken_gives_one_info_finding_and_one_answer_marker(tmp_path):
    bag, times = sealed(tmp_path, [
        ("consent", StepKind.QUESTION, [question(StepOutcome.PASS, "Yes, I do.", "affirm")])])
    pre = build_prereview(bag)
    (start,) = speech_starts(times, "consent")
    (f,) = of(pre, "findings", "consent")
    assert (f["t"], f["severity"], f["code"]) == (start, "info", "answer")
    assert f["text"] == "step consent: the answer at 00:06 was taken"
    (m,) = of(pre, "markers", "consent")
    assert (m["t"], m["kind"]) == (start, "answer")
    assert pre["verdict"] == "clear", pre["verdict_reasons"]


def test_unclear_then_clear_keeps_one_marker_each_and_the_first_becomes_info(tmp_path):
    bag, times = sealed(tmp_path, [("consent", StepKind.QUESTION, [
        question(StepOutcome.RETRY, "", "silence"),
        question(StepOutcome.PASS, "Yes, I do.", "affirm")])])
    pre = build_prereview(bag)
    starts = speech_starts(times, "consent")
    findings = of(pre, "findings", "consent")
    assert [(f["t"], f["severity"], f["code"]) for f in findings] == [
        (starts[0], "info", "no_answer"), (starts[1], "info", "answer")]
    markers = of(pre, "markers", "consent")
    assert [(m["t"], m["kind"]) for m in markers] == [(starts[0], "answer"),
                                                       (starts[1], "answer")]
    assert pre["verdict"] == "clear", pre["verdict_reasons"]


def test_a_doubt_replaces_the_answers_finding_at_its_speech_start(tmp_path):
    coerced = question(StepOutcome.RETRY, "Someone told me to say yes.", "unclear",
                       reason_code="coerced", retry_hint="own_will")
    bag, times = sealed(tmp_path, [("consent", StepKind.QUESTION, [
        coerced, question(StepOutcome.PASS, "Yes, I do.", "affirm")])])
    pre = build_prereview(bag)
    starts = speech_starts(times, "consent")
    findings = of(pre, "findings", "consent")
    assert [(f["t"], f["code"], f["severity"]) for f in findings] == [
        (starts[0], "doubt_coerced", "flag"), (starts[1], "answer", "info")]
    assert "consented when asked again" in findings[0]["text"]
    markers = of(pre, "markers", "consent")
    assert [(m["t"], m["kind"]) for m in markers] == [(starts[0], "flag"),
                                                       (starts[1], "answer")]
    assert markers[0]["label"] == findings[0]["text"]


def test_a_no_confirmed_then_a_decline_is_one_finding_per_answer(tmp_path):
    no = question(StepOutcome.RETRY, "No.", "deny", confirm_stop=True)
    bag, times = sealed(tmp_path, [("consent", StepKind.QUESTION, [
        no, question(StepOutcome.STOP, "No.", "deny")])])
    pre = build_prereview(bag)
    starts = speech_starts(times, "consent")
    findings = of(pre, "findings", "consent")
    # the first "no", asked to confirm, is a doubt (a flag); the second declines: a reject,
    # and no "investor declined" copy of it
    assert [(f["t"], f["code"], f["severity"]) for f in findings] == [
        (starts[0], "doubt_refusal", "flag"), (starts[1], "consent_no", "reject")]
    assert [m["t"] for m in of(pre, "markers", "consent")] == starts


def test_a_reading_gives_one_finding_and_marker_per_attempt_at_its_speech_start(tmp_path):
    wrong = "I, Emily Walters, open an account of my own free will."
    bag, times = sealed(tmp_path, [("identity", StepKind.READ_ALOUD, [
        reading(StepOutcome.RETRY, wrong), reading(StepOutcome.FLAG, wrong)])])
    pre = build_prereview(bag)
    starts = speech_starts(times, "identity")
    findings = of(pre, "findings", "identity")
    assert [(f["t"], f["code"], f["severity"]) for f in findings] == [
        (starts[0], "retry", "info"), (starts[1], "step_flag", "flag")]
    assert findings[1]["text"].startswith("step identity flagged at 00:")
    markers = of(pre, "markers", "identity")
    assert [(m["t"], m["kind"]) for m in markers] == [(starts[0], "answer"),
                                                       (starts[1], "flag")]
    subs = [s for s in pre["subtitles"] if s["kind"] == "answer"]
    assert [s["start"] for s in subs] == starts
    # the step's answers table is timed the same way
    answers = next(s for s in pre["steps"] if s["step"] == "identity")["answers"]
    assert [a["t"] for a in answers] == starts
