"""#12 fresh tester, pre-review: a first answer to a question step heard as someone else's will,
a question, a hesitation or a refusal, followed by consent when asked again, is a flag that
needs a human (never "clear"), naming the step, what was heard first and when; the face
against the ID photo is shown pass or not; the judge's reasons are read as fields.

The recorded answers are made by the real judge (``kiosk.witness.judge.judge_answer``) over
transcripts judged by the real rules (``tests.test_retry_t12b.TextRecognizer``) and settled
by the real state machine (``kiosk.session.transition``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk import session as sm
from kiosk.evidence import EvidenceKeys, Ledger, seal_package
from kiosk.protocol import StepKind, TimelineEvent
from kiosk.review.prereview import build_prereview, face_match_result
from kiosk.review.sample import make_session_dir
from kiosk.session import PlannedStep
from kiosk.timeline import MediaClock, TimelineWriter
from kiosk.witness.judge import judge_answer
from tests.test_prereview_answers import render_case_block
from tests.test_retry_t12b import TextRecognizer, Voice

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
ANSWER = {"zh-CN": "是的，我自愿", "en": "yes, I do"}
READ = {"zh-CN": "本人张三，身份证尾号3115，自愿在示例证券开立证券账户。",
        "en": "I, Emily Walker, with ID number ending in 105X, open an account of my own free "
              "will."}
REQUIRED = {"zh-CN": ("张三", "3115"), "en": ("Emily Walker", "105X")}


def plan(locale: str) -> tuple[PlannedStep, ...]:
    return (
        PlannedStep("identity", StepKind.READ_ALOUD, "Read", "Identity", answer_seconds=10,
                    retries=1, read_text=READ[locale], required=REQUIRED[locale]),
        PlannedStep("consent", StepKind.QUESTION, "?", "Consent", answer_seconds=5, retries=1,
                    on_fail="refer", expect="affirm", answer=ANSWER[locale]),
    )


def sealed(tmp_path: Path, locale: str, said: dict[str, list[str]],
           liveness: dict | None = None) -> Path:
    """A finished session of ``plan(locale)`` whose answers were ``said``: each judged by the
    real judge, settled by the real state machine, recorded as the runner records them."""
    keys = EvidenceKeys(tmp_path / "keys")
    keys.ensure()
    sdir = tmp_path / "sessions" / ("b" * 32)
    make_session_dir(sdir, "b" * 32, seconds=3.0, flagged=False, locale=locale)
    (sdir / "flow.yaml").write_text(FLOW, encoding="utf-8")
    if liveness is not None:
        (sdir / "checks").mkdir(exist_ok=True)
        (sdir / "checks" / "liveness.json").write_text(json.dumps(liveness), encoding="utf-8")
    (sdir / "timeline.jsonl").unlink()
    tw = TimelineWriter(sdir / "timeline.jsonl", MediaClock())
    steps = plan(locale)
    state = sm.WitnessState()
    t = 0.0
    queue = {k: list(v) for k, v in said.items()}
    events: list[sm.Event] = [sm.Joined(), sm.MediaConnected()]
    while events:
        state, effects = sm.transition(steps, state, events.pop(0))
        for effect in effects:
            t += 0.5
            if isinstance(effect, sm.Record):
                tw.append(effect.type, effect.data, t=t)
            elif isinstance(effect, sm.SendStep):
                events.append(sm.PromptEnded(effect.seq))
            elif isinstance(effect, sm.OpenWindow):
                events.append(sm.WindowTimeout(effect.seq))
            elif isinstance(effect, sm.Evaluate):
                step = steps[effect.index]
                j = judge_answer(Voice(), TextRecognizer(queue[step.id].pop(0)), locale, True,
                                 step, (t, t + 4.0), effect.attempt)
                t += 4.0
                if j.answer is not None:
                    tw.append(TimelineEvent.ANSWER_RECOGNISED, j.answer, t=t)
                events.append(sm.StepResult(effect.seq, j.outcome,
                                            {"window": [t - 4.0, t], **j.detail}))
    assert state.phase == "finished", state
    tw.append(TimelineEvent.RECORDING_FINALISED, {"file": "recording.webm"}, t=t + 0.5)
    tw.close()
    return seal_package(sdir, tmp_path / "evidence", keys,
                        Ledger(tmp_path / "ledger.jsonl", keys=keys)).bag_dir


def flags(pre: dict) -> list[dict]:
    return [f for f in pre["findings"] if f["severity"] != "info"]


@pytest.mark.parametrize("locale,first,code,words", [
    ("zh-CN", "工作人员让我说是的", "doubt_coerced", "someone else's will"),
    ("zh-CN", "我需要回答什么？", "doubt_question", "a question"),
    ("zh-CN", "我再考虑一下", "doubt_hesitation", "a hesitation"),
    ("zh-CN", "我再想想", "doubt_hesitation", "a hesitation"),
    ("zh-CN", "不愿意", "doubt_refusal", "a refusal"),
    ("en", "Someone told me to say yes.", "doubt_coerced", "someone else's will"),
    ("en", "What should I say?", "doubt_question", "a question"),
    ("en", "No, I don't.", "doubt_refusal", "a refusal"),
])
def test_doubt_then_consent_is_never_clear(tmp_path, locale, first, code, words):
    pre = build_prereview(sealed(tmp_path, locale, {
        "identity": [READ[locale]], "consent": [first, ANSWER[locale]]}))
    assert pre["verdict"] == "needs_attention", pre["verdict_reasons"]
    (flag,) = flags(pre)  # the one reason: the doubt, not a reject, not a second copy
    assert flag["code"] == code and flag["step"] == "consent", flag
    text = flag["text"]
    assert text.startswith("step consent: the answer at 00:") and repr(first) in text, text
    assert words in text and "consented when asked again at 00:" in text, text
    assert "a human must judge" in text
    step = next(s for s in pre["steps"] if s["step"] == "consent")
    assert step["status"] == "flag" and text in step["reasons"]


def test_a_clean_case_is_still_clear(tmp_path):
    pre = build_prereview(sealed(tmp_path, "zh-CN", {
        "identity": [READ["zh-CN"]], "consent": [ANSWER["zh-CN"]]}))
    assert pre["verdict"] == "clear", pre["verdict_reasons"]
    assert pre["face_match"] is None


def test_silence_then_consent_stays_clear(tmp_path):
    pre = build_prereview(sealed(tmp_path, "en", {
        "identity": [READ["en"]], "consent": ["", ANSWER["en"]]}))
    assert pre["verdict"] == "clear", pre["verdict_reasons"]


def test_doubt_in_evidence_written_before_reason_codes_is_still_a_flag(tmp_path):
    bag = sealed(tmp_path, "zh-CN", {"identity": [READ["zh-CN"]],
                                     "consent": ["工作人员让我说是的", ANSWER["zh-CN"]]})
    timeline = bag / "data" / "timeline.jsonl"
    lines = [json.loads(x) for x in timeline.read_text(encoding="utf-8").splitlines()]
    for ev in lines:  # as the judge wrote it before: no reason_code
        ev["data"].pop("reason_code", None)
    timeline.write_text("".join(json.dumps(ev, ensure_ascii=False) + "\n" for ev in lines),
                        encoding="utf-8")
    pre = build_prereview(bag)
    assert [f["code"] for f in flags(pre)] == ["doubt_coerced"]


# --- the face against the ID photo, pass or not -------------------------------------------

def liveness(**summary) -> dict:
    return {"available": True, "events": [], "summary": summary}


def test_a_passing_face_match_is_shown_on_the_report_and_the_case_page(tmp_path):
    pre = build_prereview(sealed(tmp_path, "en", {
        "identity": [READ["en"]], "consent": [ANSWER["en"]]}, liveness(
        id_match=True, id_match_distance=0.41, id_mismatch=False, id_match_threshold=0.6,
        id_mismatch_threshold=0.8)))
    assert pre["verdict"] == "clear", pre["verdict_reasons"]
    assert pre["face_match"] == {"distance": 0.41, "threshold": 0.6, "mismatch_threshold": 0.8,
                                 "passed": True, "mismatch": False}
    info = [f for f in pre["findings"] if f["code"] == "face_match_passed"]
    assert len(info) == 1 and "0.41" in info[0]["text"] and info[0]["severity"] == "info"
    html = _render_face(pre)
    assert "match" in html and "distance 0.41" in html and "within 0.60" in html


def test_a_doubtful_or_missing_face_match_is_shown_too(tmp_path):
    doubtful = face_match_result({"id_match": False, "id_match_distance": 0.7,
                                  "id_mismatch": False})
    assert doubtful["passed"] is False and doubtful["mismatch"] is False
    html = _render_face({"face_match": doubtful, "has_id_photo": True})
    assert "doubtful" in html and "distance 0.70" in html
    html = _render_face({"face_match": face_match_result(
        {"id_match": False, "id_match_distance": None}), "has_id_photo": True})
    assert "not compared" in html
    assert "no comparison in this package" in _render_face({"face_match": None,
                                                            "has_id_photo": False})


def _render_face(pre: dict) -> str:
    """The face-match line of the case page, rendered from the real template."""
    return render_case_block(r"\{% set fm = pre.face_match %\}.*?</p>", pre)


# --- the judge's reasons, read as fields ----------------------------------------------------

def test_a_reading_is_explained_from_the_fields_the_judge_wrote(tmp_path):
    wrong = "I, Emily Walters, with ID number ending in 105X, open an account of my own free will."
    bag = sealed(tmp_path, "en", {"identity": [wrong, READ["en"]], "consent": [ANSWER["en"]]})
    timeline = bag / "data" / "timeline.jsonl"
    lines = [json.loads(x) for x in timeline.read_text(encoding="utf-8").splitlines()]
    first = next(ev["data"] for ev in lines if ev["type"] == "step_result")
    assert first["reason_code"] == "reading_missing" and first["missing"] == ["Emily Walker"]
    assert first["unit"] == "word" and first["tolerated"] == []
    for ev in lines:  # the note is no longer needed to explain it
        if ev["type"] == "step_result":
            ev["data"]["note"] = ""
    timeline.write_text("".join(json.dumps(ev, ensure_ascii=False) + "\n" for ev in lines),
                        encoding="utf-8")
    pre = build_prereview(bag)
    a = next(s for s in pre["steps"] if s["step"] == "identity")["answers"][0]
    assert a["why"] == ["surname heard as Walters, expected Walker"]
    assert a["error_rate"] == first["error_rate"] and a["unit"] == "words"
    assert a["threshold"] == 0.75
