"""The pre-review shows, for every answer and reading, what was expected, what was heard, the
score and threshold, why a step failed in plain words, and what the judgement let stand, also
on a cleared case (issue #12, the fresh tester's pre-review faults 1 and 4).

The recorded results are made as the live judge records them: the real reading score
(``read_aloud_result``) and decision rule (``decide``), in the detail of
``kiosk.speech.observer.hear_answer``.
"""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.evidence import EvidenceKeys, Ledger, seal_package
from kiosk.protocol import AnswerDecision, StepKind, StepOutcome, TimelineEvent
from kiosk.review.prereview import build_prereview
from kiosk.review.sample import make_session_dir
from kiosk.speech.decide import decide
from kiosk.speech.engines.base import read_aloud_result
from kiosk.speech.expected import Expected
from kiosk.speech.recognize import Answer
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

EN_TEXT = "I, Emily Walker, with ID number ending in 105X, open an account of my own free will."
ZH_TEXT = "本人张三，身份证尾号3115，自愿在示例证券开立证券账户。"


def reading(heard: str, text: str, required: tuple[str, ...], locale: str) -> dict:
    """A reading's step_result detail, as the live judge records it."""
    expected = Expected("read_aloud", text=text, required=required)
    rec = read_aloud_result(heard, expected, locale)
    answer = Answer(True, rec.transcript, rec.intent, rec.score, "whisper", "0" * 64, [], 1.0,
                    note=rec.note)
    decision = decide(answer, expected)
    return {"speech_present": True, "transcript": heard, "intent": rec.intent,
            "score": round(rec.score, 3), "engine": "whisper", "speech_spans": [[1.0, 4.0]],
            "decision_reason": decision.reason, "note": rec.note, "refusal": False,
            "expected_text": text, "required": list(required),
            "_outcome": decision.outcome}


def silence() -> dict:
    expected = Expected("affirm", requested="yes, I do")
    answer = Answer(False, "", "silence", 0.0, "silero-vad", "", [], 1.0)
    return {"speech_present": False, "transcript": "", "intent": "silence", "score": 0.0,
            "engine": "silero-vad", "speech_spans": [],
            "decision_reason": decide(answer, expected).reason, "note": "", "refusal": False}


def sealed(tmp_path: Path, steps: list[tuple[str, str, list[dict]]], locale="en") -> Path:
    """A finished session whose steps (id, kind, [step_result detail with "outcome"]) each
    ran their attempts in turn; a question step also records its answer_recognised."""
    keys = EvidenceKeys(tmp_path / "keys")
    keys.ensure()
    sdir = tmp_path / "sessions" / ("a" * 32)
    make_session_dir(sdir, "a" * 32, seconds=3.0, flagged=False, locale=locale)
    (sdir / "flow.yaml").write_text(FLOW, encoding="utf-8")
    (sdir / "timeline.jsonl").unlink()
    tw = TimelineWriter(sdir / "timeline.jsonl", MediaClock())
    tw.append(TimelineEvent.JOINED, {}, t=0.0)
    t = 0.1
    for i, (step, kind, attempts) in enumerate(steps):
        for n, detail in enumerate(attempts, 1):
            tw.append(TimelineEvent.STEP_STARTED, {"step": step, "index": i, "kind": kind,
                                                   "attempt": n}, t=t)
            outcome = detail.pop("outcome")
            if kind == StepKind.QUESTION:
                tw.append(TimelineEvent.ANSWER_RECOGNISED, {
                    "step": step, "decision": {StepOutcome.PASS: AnswerDecision.AGREE}.get(
                        outcome, AnswerDecision.UNCLEAR),
                    "intent": detail["intent"], "text": detail["transcript"],
                    "t_start": t, "t_end": t + 0.1, "score": detail["score"],
                    "engine": detail["engine"], "negation": False}, t=t + 0.1)
            tw.append(TimelineEvent.STEP_RESULT, {"step": step, "outcome": outcome,
                                                  "attempt": n, "window": [t, t + 0.1],
                                                  **detail}, t=t + 0.12)
            t += 0.2
        tw.append(TimelineEvent.STEP_COMPLETED, {"step": step, "index": i}, t=t)
        t += 0.05
    tw.append(TimelineEvent.FINISHED, {"flags": []}, t=2.9)
    tw.append(TimelineEvent.RECORDING_FINALISED, {"file": "recording.webm"}, t=3.0)
    tw.close()
    return seal_package(sdir, tmp_path / "evidence", keys,
                        Ledger(tmp_path / "ledger.jsonl", keys=keys)).bag_dir


def attempt(detail: dict, outcome: StepOutcome) -> dict:
    detail = {k: v for k, v in detail.items() if k != "_outcome"}
    return {**detail, "outcome": outcome}


def consent_passed() -> dict:
    return {"outcome": StepOutcome.PASS, "speech_present": True, "transcript": "Yes, I do.",
            "intent": "affirm", "score": 0.93, "engine": "whisper",
            "decision_reason": "affirm heard (score 0.93 >= 0.50)",
            "note": "accepted answers, and nothing else", "refusal": False}


def step(pre: dict, sid: str) -> dict:
    return next(s for s in pre["steps"] if s["step"] == sid)


def test_a_wrong_surname_is_named_with_what_was_heard_and_expected(tmp_path):
    heard = "I, Emily Walters, with ID number ending in 105X, open an account of my own free will."
    r = reading(heard, EN_TEXT, ("Emily Walker", "105X"), "en")
    assert r["_outcome"] == StepOutcome.RETRY  # the live rule fails it (commit c4f451a)
    pre = build_prereview(sealed(tmp_path, [
        ("identity", StepKind.READ_ALOUD, [attempt(r, StepOutcome.RETRY),
                                           attempt(r, StepOutcome.FLAG)]),
        ("consent", StepKind.QUESTION, [consent_passed()])]))
    assert pre["verdict"] == "needs_attention"
    answers = step(pre, "identity")["answers"]
    assert [a["attempt"] for a in answers] == [1, 2]
    a = answers[-1]
    assert a["expected"] == EN_TEXT and a["heard"] == heard and a["kind"] == "read_aloud"
    assert a["unit"] == "words" and a["error_rate"] is not None and a["max_error_rate"] == 0.25
    assert a["why"] == ["surname heard as Walters, expected Walker"]
    assert a["let_stand"] == []
    flag = next(f for f in pre["findings"] if f["code"] == "step_flag")
    assert flag["text"].endswith(": surname heard as Walters, expected Walker")
    # ... and the consent that passed shows its score against the threshold.
    c = step(pre, "consent")["answers"][0]
    assert (c["expected"], c["heard"], c["score"], c["threshold"], c["why"]) == (
        "yes, I do", "Yes, I do.", 0.93, 0.5, [])


def test_a_wrong_id_tail_in_mandarin_is_named(tmp_path):
    text = "本人张三，身份证尾号105X，自愿在示例证券开立证券账户。"
    heard = "本人张三，身份证尾号1055，自愿在示例证券开立证券账户。"
    r = reading(heard, text, ("张三", "105X"), "zh-CN")
    assert r["_outcome"] == StepOutcome.RETRY
    pre = build_prereview(sealed(tmp_path, [
        ("identity", StepKind.READ_ALOUD, [attempt(r, StepOutcome.FLAG)])], locale="zh-CN"))
    a = step(pre, "identity")["answers"][0]
    assert a["unit"] == "characters"
    assert a["why"] == ["ID tail heard as 1055, expected 105X"]
    assert pre["verdict"] == "needs_attention"


def test_a_repeated_digit_said_once_more_is_let_stand_and_shown_on_a_clear_case(tmp_path):
    # 31115 can only be 3115 with a repeat said once more (315 would be 3315 or 3155
    # as well, which is not let stand since answers12)
    heard = "本人张三，身份证尾号31115，自愿在示例证券开立证券账户。"
    r = reading(heard, ZH_TEXT, ("张三", "3115"), "zh-CN")
    assert r["_outcome"] == StepOutcome.PASS and "let stand" in r["note"]
    pre = build_prereview(sealed(tmp_path, [
        ("identity", StepKind.READ_ALOUD, [attempt(r, StepOutcome.PASS)]),
        ("consent", StepKind.QUESTION, [consent_passed()])], locale="zh-CN"))
    assert pre["verdict"] == "clear"
    a = step(pre, "identity")["answers"][0]
    assert a["why"] == [] and a["score"] is not None and a["threshold"] == 0.75
    assert a["let_stand"] == ["the digits heard with a repeated digit said once more or less"]
    assert pre["let_stand"] == [
        "step identity, attempt 1: let stand: the digits heard with a repeated digit said "
        "once more or less"]
    moment = [m for m in step(pre, "identity")["moments"] if "let stand" in m["text"]]
    assert len(moment) == 1 and moment[0]["severity"] == "info"


def test_a_beam_alternative_used_is_let_stand(tmp_path):
    passed = {**consent_passed(), "transcript": "是的我已了解",
              "note": "heard as '是的物意了解'; the recogniser's alternative '是的我已了解' is the "
                      "requested answer, and no hypothesis held a negation"}
    pre = build_prereview(sealed(tmp_path, [("consent", StepKind.QUESTION, [passed])],
                                 locale="zh-CN"))
    assert pre["verdict"] == "clear"
    a = step(pre, "consent")["answers"][0]
    assert a["expected"] == "是的，我自愿"
    assert a["let_stand"] == ["the recogniser first heard '是的物意了解'; its alternative "
                              "'是的我已了解' was used"]


def test_silence_is_no_answer_given_not_an_answer_not_recognised(tmp_path):
    pre = build_prereview(sealed(tmp_path, [
        ("consent", StepKind.QUESTION, [attempt(silence(), StepOutcome.RETRY),
                                        attempt(silence(), StepOutcome.FLAG)])]))
    assert pre["verdict"] == "needs_attention"
    texts = [f["text"] for f in pre["findings"]]
    assert not any("not recognised" in t for t in texts), texts
    assert sum(t.startswith("no answer was given at 00:0") for t in texts) == 2
    a = step(pre, "consent")["answers"][-1]
    assert a["heard"] == "" and a["why"] == [
        "no answer was given (no speech in the answer window)"]
    # One finding per answer (tests/test_prereview_once.py): the step's flag raises the
    # answer's own finding, never adds a "step flagged" copy of it.
    assert [(f["code"], f["severity"]) for f in pre["findings"] if f["step"] == "consent"] == [
        ("no_answer", "flag"), ("no_answer", "flag")]


def test_an_unclear_answer_is_still_not_recognised_with_what_was_heard(tmp_path):
    unclear = {**consent_passed(), "transcript": "What is this about?", "intent": "unclear",
               "score": 0.4, "decision_reason": "answer not understood (unclear)",
               "note": "not an accepted answer", "outcome": StepOutcome.FLAG}
    pre = build_prereview(sealed(tmp_path, [("consent", StepKind.QUESTION, [unclear])]))
    texts = [f["text"] for f in pre["findings"]]
    assert any(t.startswith("consent answer not recognised at") for t in texts), texts
    assert step(pre, "consent")["answers"][0]["why"] == [
        "heard 'What is this about?', not recognised as yes, I do (not an accepted answer)"]


def test_the_case_page_shows_the_evidence_and_what_was_let_stand(tmp_path):
    # 31115 can only be 3115 with a repeat said once more (315 would be 3315 or 3155
    # as well, which is not let stand since answers12)
    heard = "本人张三，身份证尾号31115，自愿在示例证券开立证券账户。"
    r = reading(heard, ZH_TEXT, ("张三", "3115"), "zh-CN")
    pre = build_prereview(sealed(tmp_path, [
        ("identity", StepKind.READ_ALOUD, [attempt(r, StepOutcome.PASS)])], locale="zh-CN"))
    html = _render(pre)
    assert "answer-evidence" in html and ZH_TEXT in html and heard in html
    assert "CER 0.0" in html and "(at most 0.25)" in html
    assert "the digits heard with a repeated digit said once more or less" in html
    json.dumps(pre)  # the report stays JSON


def render_case_block(pattern: str, pre: dict) -> str:
    """The block of the case page matching ``pattern`` (a regex over the real template),
    rendered with the pre-review ``pre``."""
    import re

    from jinja2 import Environment

    src = (Path(__file__).parent.parent / "kiosk" / "review" / "templates"
           / "review_case.html").read_text(encoding="utf-8")
    block = re.search(pattern, src, re.S)
    assert block is not None
    return Environment(autoescape=True).from_string(block.group(0)).render(pre=pre)


def _render(pre: dict) -> str:
    """The steps list of the case page, rendered from the real template's step block."""
    return render_case_block(r'<ol class="rv-steps".*?</ol>', pre)


def test_a_malformed_answer_record_is_shown_as_it_is_never_an_error(tmp_path):
    odd = {**consent_passed(), "outcome": StepOutcome.FLAG, "expected_text": "Read this.",
           "required": "Alex", "note": 7, "score": "high", "decision_reason": None}
    pre = build_prereview(sealed(tmp_path, [("identity", StepKind.READ_ALOUD, [odd])]))
    a = step(pre, "identity")["answers"][0]
    assert a["score"] is None and a["expected"] == "Read this." and a["why"]
    assert pre["verdict"] == "needs_attention"
