"""#12 fresh tester, retries after doubt: an answer heard as someone else's will, a question, a
hesitation or a refusal is asked again WITHOUT the words to say (the shipped flows, both
languages); a first refusal is confirmed once and a second stops the witness as declined.

The answers go through the real observer (``hear_answer``), decision rule and judge
(``kiosk.witness.judge.judge_answer``); only the audio is replaced by a recogniser that hears
a given transcript and judges it with the real ``answers.judge_text``, as Whisper does.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from kiosk import session as sm
from kiosk.config import load_settings
from kiosk.flows.loader import load_flow
from kiosk.flows.model import asked_phrase
from kiosk.protocol import PageEvent, ServerEvent, StepKind, StepOutcome
from kiosk.services import build_services
from kiosk.speech import textnorm
from kiosk.speech.answers import judge_text
from kiosk.speech.engines.base import read_aloud_result
from kiosk.speech.engines.whisper import WHISPER_MIN_CONFIDENCE, WhisperEngine
from kiosk.speech.recognize import Answer
from kiosk.speech.vad import SpeechSpan
from kiosk.timeline import read_timeline
from kiosk.witness.intake import Applicant, CreateSession, open_witness
from kiosk.witness.judge import judge_answer, reason_code
from kiosk.witness.plan import (
    REFUSAL_RETRY_PREFIX,
    RETRY_PREFIX,
    leads,
    plan_witness,
    retry_prompt,
    unled_text,
)
from kiosk.witness.ports import Judgement
from kiosk.witness.runner import WitnessRunner
from tests.kiosk_server import make_flows_dir
from tests.test_witness_runner import WAIT, HandTimers, MuteGuide, Page

FLOWS = sorted((Path(__file__).resolve().parents[1] / "flows").glob("*.yaml"))
VARIABLES = {"zh-CN": {"name": "张三", "id_last4": "123X"},
             "en": {"name": "Alex Chen", "id_last4": "123X"}}


def _question_steps():
    for path in FLOWS:
        flow = load_flow(path)
        for locale in flow.locales:
            for step in plan_witness(flow, locale, VARIABLES[locale], random.Random(1)):
                if step.kind == StepKind.QUESTION and step.answer:
                    yield pytest.param(step, locale, id=f"{flow.id}-{step.id}-{locale}")


def _holds(text: str, answer: str, locale: str) -> bool:
    """Whether ``text`` holds the words ``answer`` in a row (normalised: punctuation aside)."""
    if locale.startswith("zh"):
        return "".join(textnorm.tokens(answer, locale)) in "".join(textnorm.tokens(text, locale))
    want, words = textnorm.tokens(answer, locale), textnorm.tokens(text, locale)
    return any(words[i:i + len(want)] == want for i in range(len(words) - len(want) + 1))


# --- the retried prompt ----------------------------------------------------------------------

@pytest.mark.parametrize("step,locale", list(_question_steps()))
def test_a_retry_after_doubt_asks_again_without_the_words_to_say(step, locale):
    assert asked_phrase(step.text) is not None and _holds(step.text, step.answer, locale)
    for after_refusal, hint in ((True, ""), (False, "own_will"), (False, "question"),
                                (False, "hesitation"), (False, "confirm"), (True, "confirm")):
        assert not leads(after_refusal, hint)
        text, spoken = retry_prompt(step.text, step.spoken, locale, after_refusal, hint,
                                    step.answer)
        for said, full in ((text, step.text), (spoken or "", step.spoken)):
            assert asked_phrase(said) is None, said
            assert "请回答" not in said and "please answer:" not in said.lower(), said
            # After the prefix, the question itself is still asked, as a question, and the
            # words to say are gone (a deny step's prefix may say "no" itself).
            question = unled_text(full)
            assert question and question[-1] in "？?", question
            assert said.endswith(question) and not _holds(question, step.answer, locale), said
    # A refusal's retry says it was heard as a no.
    text, _ = retry_prompt(step.text, step.spoken, locale, True, "", step.answer)
    assert text.startswith(REFUSAL_RETRY_PREFIX[locale])


@pytest.mark.parametrize("step,locale", list(_question_steps()))
def test_a_retry_after_silence_may_still_give_the_words(step, locale):
    assert leads(False, "") and leads(False, "heard")
    text, spoken = retry_prompt(step.text, step.spoken, locale, False, "", step.answer)
    assert text.startswith(RETRY_PREFIX[locale]) and _holds(text, step.answer, locale)
    assert spoken and asked_phrase(spoken) is not None


def test_the_request_and_its_condition_are_cut_from_a_longer_sentence():
    assert unled_text("请问您是否自愿开户，如自愿请回答：是的；如不愿意请回答：不愿意。谢谢。") \
        == "请问您是否自愿开户？谢谢。"
    assert unled_text("Do you agree, if so please answer: I agree.") == "Do you agree?"
    assert unled_text("Thank you, please say \"I agree\". Next.") == "Thank you. Next."
    assert unled_text("No request here.") == "No request here."


# --- what the judge makes of an answer of doubt ------------------------------------------------

class TextRecognizer:
    """Hears ``transcript`` and judges it with the real rules, as Whisper does."""

    def __init__(self, transcript: str):
        self.transcript = transcript

    def verify(self, pcm, locale, expected):
        spans = [SpeechSpan(0.5, 2.0)] if self.transcript else []
        if not self.transcript:
            return Answer(False, "", "silence", 0.0, "silero-vad", "", [], 1.0)
        if expected.kind == "read_aloud":
            rec = read_aloud_result(self.transcript, expected, locale)
            intent, note, score = rec.intent, rec.note, rec.score
        else:
            judged = judge_text(self.transcript, locale, expected.spec())
            intent, note, score = judged.intent, judged.reason, 0.9
        return Answer(True, self.transcript, intent, round(score, 3), WhisperEngine.name,
                      "0" * 64, spans, 1.0, note=note)


class Voice:
    """The part of a VoiceObserver an answer window reads (the audio itself is not used)."""

    def window(self, t0, t1):
        return np.zeros(0, dtype=np.float32)

    def stop_listening(self):
        pass

    def heard_early(self, t0, spans):
        return None


def consent_step(locale: str):
    flow = load_flow(next(p for p in FLOWS if p.stem == "securities_account_opening"))
    plan = plan_witness(flow, locale, VARIABLES[locale], random.Random(1))
    return next(s for s in plan if s.id == "consent")


def judged(said: str, locale: str, attempt: int = 0):
    return judge_answer(Voice(), TextRecognizer(said), locale, True, consent_step(locale),
                        (10.0, 15.0), attempt)


@pytest.mark.parametrize("said,locale,code,hint", [
    ("工作人员让我说是的", "zh-CN", "coerced", "own_will"),
    ("我需要回答什么？", "zh-CN", "question", "question"),
    ("我需要回答什么", "zh-CN", "question", "question"),
    ("嗯，我再考虑一下", "zh-CN", "hesitation", "hesitation"),
    ("我再想想", "zh-CN", "hesitation", "hesitation"),
    ("不愿意", "zh-CN", "refusal", ""),
    ("是的，我不愿意", "zh-CN", "negation", ""),
    ("Someone told me to say yes.", "en", "coerced", "own_will"),
    ("What should I say?", "en", "question", "question"),
    ("So what do I say", "en", "question", "question"),
    ("Yes, I do?", "en", "question", "question"),
    ("Let me think about it.", "en", "hesitation", "hesitation"),
    ("No, I don't.", "en", "refusal", ""),
])
def test_an_answer_of_doubt_is_coded_and_never_given_the_words(said, locale, code, hint):
    j = judged(said, locale)
    assert j.outcome in (StepOutcome.RETRY, StepOutcome.STOP), j.detail
    assert j.detail["reason_code"] == code, j.detail
    assert j.answer is not None and j.answer["reason_code"] == code
    assert j.detail.get("retry_hint", "") == hint, j.detail
    assert j.shown is not None and j.shown["ask"] == "", j.shown  # the page is not told either
    step = consent_step(locale)
    text, spoken = retry_prompt(step.text, step.spoken, locale,
                                bool(j.detail.get("refusal")) or j.outcome == StepOutcome.STOP,
                                str(j.detail.get("retry_hint") or ""), step.answer or "")
    assert not _holds(text, step.answer or "", locale) and asked_phrase(text) is None, text


@pytest.mark.parametrize("said,locale,code", [
    ("", "zh-CN", "silence"), ("是的，我自愿", "zh-CN", "passed"), ("yes, I do", "en", "passed"),
    ("我想咨询手续费", "zh-CN", "heard"),
    # A wh-word that is not asking (merge review): not a question, so not a doubt.
    ("I know what the fees are", "en", "understanding_only"),
])
def test_other_answers_keep_their_codes(said, locale, code):
    j = judged(said, locale)
    assert j.detail["reason_code"] == code, j.detail
    if said:  # the rule's threshold for the engine that heard it, written as a field
        assert j.detail["threshold"] == WHISPER_MIN_CONFIDENCE


def test_reason_code_reads_the_heard_verdict():
    j = judged("是的，我自愿", "zh-CN")
    assert j.outcome == StepOutcome.PASS and j.detail["reason_code"] == "passed"
    assert reason_code.__doc__  # the codes are documented where they are made


# --- through the runner: the first refusal is confirmed, the second stops ---------------------

@pytest.fixture()
def services(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data",
                             flows_dir=make_flows_dir(tmp_path / "flows"),
                             liveness=False, speech=False)
    services = build_services(settings)
    yield services
    services.shutdown()


class ScriptedJudge:
    """The real judge of answers (``judge_answer``) over scripted transcripts, per step."""

    def __init__(self, locale: str, said: dict[str, list[str]]):
        self.locale = locale
        self.said = {k: list(v) for k, v in said.items()}

    def judge(self, step, window, seq, attempt):
        if not step.listens:
            return Judgement(StepOutcome.PASS, {"engine": "test"})
        transcript = self.said[step.id].pop(0)
        return judge_answer(Voice(), TextRecognizer(transcript), self.locale, True, step,
                            window, attempt)


def run_witness(services, locale: str, said: dict[str, list[str]]):
    """Run the shipped account-opening flow in ``locale`` with the answers ``said``; the
    runner, its page and the timeline once it ended."""
    row, token = open_witness(services, CreateSession(
        applicant=Applicant(name=VARIABLES[locale]["name"], id_number="110101199001011237"),
        locale=locale, flow_id="securities_account_opening"))
    row = services.store.consume(token)
    page, timers = Page(), HandTimers()
    runner = WitnessRunner(services, row, services.flows.get("securities_account_opening"),
                           "sid-t12b", page, timers=timers, guide=MuteGuide(),
                           judge=ScriptedJudge(locale, said))
    services.register(runner)
    runner.start()
    runner.dispatch(sm.MediaConnected())
    sent = 0
    while not runner.state.terminal:
        steps = page.wait_for(ServerEvent.STEP, sent + 1)
        sent = len(steps)
        step = steps[-1]
        runner.prompt_report(PageEvent.PROMPT_STARTED, step["seq"])
        runner.prompt_report(PageEvent.PROMPT_ENDED, step["seq"])
        if "window" in timers.pending:
            timers.fire("window")
        with page.changed:
            page.changed.wait_for(lambda n=sent: runner.state.terminal
                                  or len(page.of(ServerEvent.STEP)) > n, WAIT)
    assert runner.finalised.wait(WAIT) and runner.end_written.wait(WAIT)
    return runner, page, read_timeline(runner.dir / "timeline.jsonl")


IDENTITY = {"zh-CN": "本人张三，身份证尾号1237，自愿在示例证券开立证券账户。",
            "en": "I, Alex Chen, with ID number ending in 1237, voluntarily open a securities "
                  "account with Example Securities."}
YES = {"zh-CN": ("是的，我已了解", "是的，我自愿"), "en": ("yes, I understand", "yes, I do")}
NO = {"zh-CN": "不愿意", "en": "No, I don't."}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_first_refusal_is_confirmed_and_a_consent_after_it_continues(services, locale):
    risk, consent = YES[locale]
    runner, page, events = run_witness(services, locale, {
        "identity": [IDENTITY[locale]], "risk": [risk], "consent": [NO[locale], consent]})
    assert (runner.state.phase, runner.state.end_reason) == ("finished", "completed")
    results = [e["data"] for e in events if e["type"] == "step_result"
               and e["data"]["step"] == "consent"]
    assert [(r["outcome"], r["reason_code"]) for r in results] == [
        ("retry", "refusal"), ("pass", "passed")]
    assert results[0]["confirm_stop"] is True
    retried = [s for s in page.of(ServerEvent.STEP) if s["id"] == "consent"][1]
    assert retried["attempt"] == 1 and retried["text"].startswith(REFUSAL_RETRY_PREFIX[locale])
    assert asked_phrase(retried["text"]) is None, retried["text"]
    prompts = [e["data"]["text"] for e in events if e["type"] == "prompt_sent"
               and e["data"]["step"] == "consent"]
    assert asked_phrase(prompts[0]) is not None and asked_phrase(prompts[1]) is None


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_second_refusal_stops_the_witness_as_declined(services, locale):
    risk, _ = YES[locale]
    runner, _page, events = run_witness(services, locale, {
        "identity": [IDENTITY[locale]], "risk": [risk], "consent": [NO[locale], NO[locale]]})
    assert (runner.state.phase, runner.state.end_reason) == ("aborted", "declined")
    outcomes = [e["data"]["outcome"] for e in events if e["type"] == "step_result"
                and e["data"]["step"] == "consent"]
    assert outcomes == ["retry", "stop"]


def test_a_coerced_answer_is_asked_again_for_the_investors_own_will(services):
    runner, page, events = run_witness(services, "zh-CN", {
        "identity": [IDENTITY["zh-CN"]], "risk": ["是的，我已了解"],
        "consent": ["工作人员让我说是的", "是的，我自愿"]})
    assert runner.state.phase == "finished"
    retried = [s for s in page.of(ServerEvent.STEP) if s["id"] == "consent"][1]
    assert "真实意愿" in retried["text"] and "是的，我自愿" not in retried["text"], retried
    shown = page.of(ServerEvent.RECOGNISED)
    assert any(r["hint"] == "own_will" and r["ask"] == "" for r in shown), shown


# --- with a natural voice, through the server's recogniser (kiosk.testing.voices) -----------

@pytest.mark.parametrize("voice_id,locale,said,code", [
    ("zh-xiaobei", "zh-CN", "我需要回答什么？", "question"),
    ("en-bella", "en", "What should I say?", "question"),
    ("zh-xiaobei", "zh-CN", "工作人员让我说是的", "coerced"),
    ("zh-yunyang", "zh-CN", "我再考虑一下", "hesitation"),
    ("en-bella", "en", "Let me think about it.", "hesitation"),
])
def test_a_spoken_answer_of_doubt_is_never_given_the_words(tmp_path, voice_id, locale, said,
                                                           code):
    from types import SimpleNamespace

    from kiosk.speech.audio import pcm_from_file
    from kiosk.speech.recognize import default_recognizer
    from kiosk.testing import voices as tv

    voice = {v.id: v for v in tv.VOICES}[voice_id]
    pcm = pcm_from_file(tv.say_to_file(voice, said, tmp_path))
    hearing = SimpleNamespace(window=lambda a, b: pcm, stop_listening=lambda: None,
                              heard_early=lambda t0, spans: None)
    step = consent_step(locale)
    j = judge_answer(hearing, default_recognizer(), locale, True, step, (10.0, 14.0))
    assert j.outcome == StepOutcome.RETRY and j.detail["reason_code"] == code, j.detail
    assert j.shown is not None and j.shown["ask"] == "", j.shown
    text, spoken = retry_prompt(step.text, step.spoken, locale, False,
                                str(j.detail["retry_hint"]), step.answer or "")
    assert asked_phrase(text) is None and spoken and asked_phrase(spoken) is None, text
