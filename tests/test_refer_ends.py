"""``on_fail: refer`` ends the witness: when the last attempt of such a step fails, the session
ends ``aborted`` with the reason ``referred:<step id>`` (``kiosk.protocol.REFERRED``), its
evidence sealed as any aborted witness's; the investor's page words it, and the pre-review
flags it ``referred``. ``abort`` and ``flag`` are unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kiosk import session as sm
from kiosk.evidence import EvidenceKeys, Ledger, seal_package, verify_package
from kiosk.evidence.verify import safe_extract
from kiosk.protocol import (
    REFERRED,
    PageEvent,
    ServerEvent,
    StepOutcome,
    TimelineEvent,
    referred_reason,
    referred_step,
)
from kiosk.review.prereview import build_prereview
from kiosk.review.sample import make_session_dir
from kiosk.timeline import MediaClock, TimelineWriter, read_timeline, verify_chain
from kiosk.witness.intake import Applicant, CreateSession, open_witness
from kiosk.witness.ports import Judgement
from kiosk.witness.runner import WitnessRunner
from tests.test_witness_runner import WAIT, HandTimers, MuteGuide, Page

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "static"


def plan(on_fail: str, retries: int = 1) -> tuple[sm.PlannedStep, ...]:
    return (
        sm.PlannedStep(id="hello", kind="say", text="Hello.", title="Hello"),
        sm.PlannedStep(id="consent", kind="question", text="Do you agree?", title="Consent",
                       answer_seconds=5, retries=retries, on_fail=on_fail, expect="affirm"),
        sm.PlannedStep(id="bye", kind="say", text="Goodbye.", title="Bye"),
    )


def run(steps, outcomes: list[str]):
    """Drive ``steps`` through the state machine, the consent judged ``outcomes`` in turn;
    the final state and every effect."""
    state = sm.WitnessState()
    effects_seen: list[sm.Effect] = []
    events: list[sm.Event] = [sm.Joined(), sm.MediaConnected()]
    left = list(outcomes)
    while events:
        state, effects = sm.transition(steps, state, events.pop(0))
        effects_seen += effects
        for e in effects:
            if isinstance(e, sm.SendStep):
                events.append(sm.PromptEnded(e.seq))
            elif isinstance(e, sm.OpenWindow):
                events.append(sm.WindowTimeout(e.seq))
            elif isinstance(e, sm.Evaluate):
                events.append(sm.StepResult(e.seq, left.pop(0)))
    assert left == [], left
    return state, effects_seen


def started(effects) -> list[str]:
    return [e.data["step"] for e in effects
            if isinstance(e, sm.Record) and e.type == TimelineEvent.STEP_STARTED]


# --- the state machine ---------------------------------------------------------------------

def test_the_reason_helpers():
    assert REFERRED == "referred"
    assert referred_reason("consent") == "referred:consent"
    assert referred_step("referred:consent") == "consent"
    for other in ("declined", "step_failed:consent", "referred", "referred:", None, 3):
        assert referred_step(other) is None, other


@pytest.mark.parametrize("outcomes", [[StepOutcome.RETRY, StepOutcome.RETRY],
                                      [StepOutcome.RETRY, StepOutcome.FLAG]])
def test_refer_ends_the_witness_as_referred_after_its_last_attempt(outcomes):
    state, effects = run(plan("refer"), outcomes)
    assert (state.phase, state.end_reason) == ("aborted", "referred:consent")
    assert effects[-1] == sm.End("aborted", "referred:consent")
    (aborted,) = [e for e in effects if isinstance(e, sm.Record)
                  and e.type == TimelineEvent.ABORTED]
    assert aborted.data == {"reason": "referred:consent", "at_step_index": 1}
    # asked twice, then nothing after it runs: the goodbye is never said
    assert started(effects) == ["hello", "consent", "consent"]
    assert not any(f.startswith("refer") for f in state.flags), state.flags
    assert not any(isinstance(e, sm.Record) and e.type == TimelineEvent.FINISHED
                   for e in effects)


@pytest.mark.parametrize("retries, outcome", [(0, StepOutcome.RETRY), (0, StepOutcome.FLAG),
                                              (1, StepOutcome.FLAG)])
def test_refer_ends_at_a_flag_or_with_no_retries_left(retries, outcome):
    # A flag is not retried (only on_fail: retry gives a flag another round).
    state, effects = run(plan("refer", retries=retries), [outcome])
    assert (state.phase, state.end_reason) == ("aborted", "referred:consent")
    assert started(effects) == ["hello", "consent"]


def test_a_refer_step_that_passes_on_its_retry_goes_on():
    state, effects = run(plan("refer"), [StepOutcome.RETRY, StepOutcome.PASS])
    assert (state.phase, state.end_reason, state.flags) == ("finished", "completed", ())
    assert started(effects) == ["hello", "consent", "consent", "bye"]


def test_an_unverified_answer_on_a_refer_step_is_flagged_and_goes_on():
    # Nothing could judge it: a human must, after the witness; not a failed attempt.
    state, _ = run(plan("refer"), [StepOutcome.UNVERIFIED])
    assert (state.phase, state.flags) == ("finished", ("unverified:consent",))


def test_abort_and_flag_are_unchanged():
    state, _ = run(plan("abort"), [StepOutcome.RETRY, StepOutcome.FLAG])
    assert (state.phase, state.end_reason) == ("aborted", "step_failed:consent")
    state, effects = run(plan("flag"), [StepOutcome.RETRY, StepOutcome.FLAG])
    assert (state.phase, state.end_reason, state.flags) == ("finished", "completed",
                                                             ("flag:consent",))
    assert started(effects)[-1] == "bye"


def test_a_refusal_on_a_refer_step_is_still_declined():
    # A "no" is confirmed once and then declines the witness: the investor's answer, not a
    # failure to refer.
    state, _ = run(plan("refer"), [StepOutcome.STOP, StepOutcome.STOP])
    assert (state.phase, state.end_reason) == ("aborted", "declined")


# --- the runner: the witness ends, the page is told, the evidence is sealed ----------------

REFER_FLOW = """\
id: refer_quick
version: 1
title: {zh-CN: 转人工测试, en: Refer test}
locales: [zh-CN, en]
broker: {zh-CN: 示例证券, en: Example Securities}
steps:
  - id: hello
    kind: say
    text: {zh-CN: "您好。", en: "Hello."}
  - id: consent
    kind: question
    text: {zh-CN: "您是否自愿？", en: "Do you agree?"}
    expect: affirm
    answer_seconds: 3
    retries: 0
    on_fail: refer
  - id: bye
    kind: say
    text: {zh-CN: "再见。", en: "Goodbye."}
"""


class UnclearJudge:
    """Every answer heard, and not understood."""

    def judge(self, step, window, seq, attempt):
        at = window[0] + 0.4
        return Judgement(StepOutcome.FLAG, {
            "engine": "test", "speech_present": True, "transcript": "mm", "intent": "unclear",
            "score": 0.1, "speech_spans": [[at, at + 0.8]], "attempt": attempt},
            answer={"step": step.id, "decision": "unclear", "text": "mm", "t_start": at,
                    "t_end": at + 0.8, "negation": False, "attempt": attempt})


@pytest.fixture()
def services(tmp_path):
    from kiosk.config import load_settings
    from kiosk.services import build_services
    from tests.kiosk_server import make_flows_dir

    flows = make_flows_dir(tmp_path / "flows")
    (flows / "refer_quick.yaml").write_text(REFER_FLOW, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", flows_dir=flows, liveness=False,
                             speech=False)
    services = build_services(settings)
    yield services
    services.shutdown()


def test_a_referred_witness_ends_on_the_page_and_its_evidence_is_sealed(services, tmp_path):
    row, token = open_witness(services, CreateSession(
        applicant=Applicant(name="Test Person", id_number="110101199001011237"),
        locale="en", flow_id="refer_quick"))
    row = services.store.consume(token)
    page, timers = Page(), HandTimers()
    runner = WitnessRunner(services, row, services.flows.get("refer_quick"), "sid-r", page,
                           timers=timers, guide=MuteGuide(), judge=UnclearJudge())
    services.register(runner)
    runner.start()
    runner.dispatch(sm.MediaConnected())
    for index in (0, 1):
        seq = page.wait_for(ServerEvent.STEP, index + 1)[index]["seq"]
        runner.prompt_report(PageEvent.PROMPT_STARTED, seq)
        runner.prompt_report(PageEvent.PROMPT_ENDED, seq)
    timers.fire("window")
    assert page.wait_for(ServerEvent.ABORTED) == [{"reason": "referred:consent",
                                                   "state": "aborted"}]
    assert runner.finalised.wait(WAIT) and runner.end_written.wait(WAIT)
    assert len(page.of(ServerEvent.STEP)) == 2  # the goodbye was never sent
    events = read_timeline(runner.dir / "timeline.jsonl")
    assert verify_chain(events) is None
    (end,) = [e["data"] for e in events if e["type"] == "aborted"]
    assert end["reason"] == "referred:consent"
    stored = services.store.get(row.id)
    assert (stored.state, stored.end_reason) == ("aborted", "referred:consent")
    assert stored.sealed_at is not None and stored.package_id
    data = services.settings.data_dir
    package = next(p for p in (data / "evidence").iterdir()
                   if p.name in (stored.package_id, f"{stored.package_id}.tar"))
    report = verify_package(package, keyring=EvidenceKeys(data / "keys").keyring(),
                            ledger=data / "ledger.jsonl")
    assert report.ok, report.problems
    bag = package if package.is_dir() else safe_extract(package, tmp_path / "unpacked")
    pre = build_prereview(bag)
    (referred,) = [f for f in pre["findings"] if f["code"] == "referred"]
    assert referred["step"] == "consent" and referred["severity"] == "flag"
    assert pre["verdict"] == "needs_attention"
    assert pre["outcome"] == {"state": "aborted", "end_reason": "referred:consent"}


# --- the pre-review -------------------------------------------------------------------------

FLOW = """\
id: securities_account_opening
version: 1
title: {en: Account opening, zh-CN: 开户}
locales: [zh-CN, en]
steps:
  - id: consent
    kind: question
    title: {en: Consent, zh-CN: 开户意愿}
    expect: affirm
    on_fail: refer
    answer: {zh-CN: 是的，我自愿, en: "yes, I do"}
"""


def sealed_referred(tmp_path: Path, with_end_event: bool = True) -> Path:
    """A witness referred at ``consent`` after two unclear answers, as the runner records it
    (the state machine's own records), sealed."""
    keys = EvidenceKeys(tmp_path / "keys")
    keys.ensure()
    sdir = tmp_path / "sessions" / ("c" * 32)
    make_session_dir(sdir, "c" * 32, seconds=3.0, flagged=False, locale="en")
    (sdir / "flow.yaml").write_text(FLOW, encoding="utf-8")
    meta = json.loads((sdir / "session.json").read_text(encoding="utf-8"))
    meta.update(state="aborted", end_reason="referred:consent")
    (sdir / "session.json").write_text(json.dumps(meta), encoding="utf-8")
    (sdir / "timeline.jsonl").unlink()
    tw = TimelineWriter(sdir / "timeline.jsonl", MediaClock())
    steps = (sm.PlannedStep(id="consent", kind="question", text="?", title="Consent",
                            answer_seconds=5, retries=1, on_fail="refer", expect="affirm"),)
    state, t = sm.WitnessState(), 0.0
    events: list[sm.Event] = [sm.Joined(), sm.MediaConnected()]
    while events:
        state, effects = sm.transition(steps, state, events.pop(0))
        for e in effects:
            t += 1.0
            if isinstance(e, sm.Record):
                if e.type != TimelineEvent.ABORTED or with_end_event:
                    tw.append(e.type, e.data, t=t)
            elif isinstance(e, sm.SendStep):
                events.append(sm.PromptEnded(e.seq))
            elif isinstance(e, sm.OpenWindow):
                events.append(sm.WindowTimeout(e.seq))
            elif isinstance(e, sm.Evaluate):
                tw.append(TimelineEvent.ANSWER_RECOGNISED, {
                    "step": "consent", "decision": "unclear", "text": "mm", "t_start": t - 0.5,
                    "t_end": t, "negation": False, "attempt": e.attempt}, t=t + 0.5)
                events.append(sm.StepResult(e.seq, StepOutcome.RETRY, {
                    "speech_present": True, "transcript": "mm", "intent": "unclear",
                    "score": 0.1, "speech_spans": [[t - 0.5, t]], "engine": "test"}))
    assert (state.phase, state.end_reason) == ("aborted", "referred:consent")
    tw.append(TimelineEvent.RECORDING_FINALISED, {"file": "recording.webm"}, t=t + 0.5)
    tw.close()
    return seal_package(sdir, tmp_path / "evidence", keys,
                        Ledger(tmp_path / "ledger.jsonl", keys=keys)).bag_dir


@pytest.mark.parametrize("with_end_event", [True, False])
def test_the_prereview_flags_a_referred_witness_naming_the_step(tmp_path, with_end_event):
    pre = build_prereview(sealed_referred(tmp_path, with_end_event))
    assert pre["outcome"] == {"state": "aborted", "end_reason": "referred:consent"}
    (f,) = [f for f in pre["findings"] if f["code"] == "referred"]
    assert (f["severity"], f["step"]) == ("flag", "consent")
    assert re.fullmatch(r"referred to a human agent at \d\d:\d\d: step consent failed its last "
                        r"attempt \(on_fail: refer\); a member of staff must finish the witness",
                        f["text"]), f["text"]
    # never clear, never a reject: the investor did nothing wrong
    assert pre["verdict"] == "needs_attention"
    assert not [x for x in pre["findings"] if x["severity"] == "reject"], pre["findings"]
    assert f["text"] in pre["verdict_reasons"]
    assert any(m["kind"] == "flag" and "referred to a human agent" in m["label"]
               for m in pre["markers"])


# --- the investor's page (static: the browser tests run it) --------------------------------

def test_the_page_words_a_referred_end_and_asks_for_no_new_link():
    protocol = (STATIC / "investor" / "protocol.js").read_text(encoding="utf-8")
    reasons = re.search(r"ABORT_REASONS = \[([^\]]*)\]", protocol)
    assert reasons and '"referred"' in reasons.group(1)
    assert re.search(r'export const REFERRED = "referred";', protocol)
    i18n = (STATIC / "i18n.js").read_text(encoding="utf-8")
    zh = "为保障您的权益，本次见证将转由人工坐席继续办理，请稍候或联系客服。"
    en = ("To protect you, a member of our staff will continue this witness with you. "
          "Please wait or contact us.")
    assert f'"aborted.referred": "{zh}"' in i18n and f'"aborted.referred": "{en}"' in i18n
    screens = (STATIC / "investor" / "screens.js").read_text(encoding="utf-8")
    # the kind before the colon picks the message; the new-link line is hidden for it
    assert 'split(":")[0]' in screens
    assert '$("ended-contact").hidden = key === "aborted." + REFERRED;' in screens
    html = (REPO / "kiosk" / "web" / "templates" / "investor.html").read_text(encoding="utf-8")
    assert 'id="ended-contact" data-i18n="ended.contact"' in html


def test_abort_key_maps_a_referred_reason_to_its_message(tmp_path):
    """``abortKey`` run under node, with the page's own protocol list."""
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    screens = (STATIC / "investor" / "screens.js").read_text(encoding="utf-8")
    body = re.search(r"export function abortKey\(reason\) \{.*?\n\}\n", screens, re.S)
    assert body
    (tmp_path / "protocol.mjs").write_text(
        (STATIC / "investor" / "protocol.js").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "run.mjs").write_text(
        'import { ABORT_ALIASES, ABORT_REASONS } from "./protocol.mjs";\n' + body.group(0)
        + 'process.stdout.write(JSON.stringify(["referred:consent", "referred", '
          '"step_failed:x", "declined", "nonsense"].map(abortKey)));\n', encoding="utf-8")
    out = subprocess.run([node, str(tmp_path / "run.mjs")], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert json.loads(out) == ["aborted.referred", "aborted.referred", "aborted.step_failed",
                               "aborted.declined", "aborted.unknown"]


def test_the_evaluation_counts_genuine_witnesses_referred_to_a_human():
    from kiosk.evaluation.run import CaseResult, format_table, summarise

    referred = CaseResult("en-genuine-1", "en", "genuine", "v", "f", "aborted", "attention",
                          end_reason="referred:consent")
    finished = CaseResult("en-genuine-2", "en", "genuine", "v", "f", "finished", "clear",
                          end_reason="completed")
    summary = summarise([referred, finished])
    assert summary["en"]["genuine"]["referred"] == 1
    assert "referred to a human 1" in format_table(summary, [referred, finished])
