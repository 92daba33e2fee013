"""No coaching after doubt, round t12c: a retried question never holds the requested answer,
whatever the phrasing around it (kiosk.flows.unled), and ``kiosk flows check`` refuses a text
that would (kiosk.flows.checks)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import kiosk.flows.checks as checks
from kiosk.flows import check_flow, load_flow
from kiosk.flows.unled import REASK, holds_answer, normalised, unled_text
from kiosk.guide.normalise import speakable
from kiosk.protocol import AnswerDecision, StepKind, TimelineEvent
from kiosk.review.prereview import RULES, Context
from kiosk.witness.plan import plan_witness, retry_prefix, retry_prompt

ROOT = Path(__file__).resolve().parents[1]
FLOWS = sorted((ROOT / "flows").glob("*.yaml"))
# The fresh tester's three broker flows whose retries leaked the answer (round t12c).
TESTER = sorted((ROOT / "tests" / "flow_fixtures" / "unled").glob("*.yaml"))
VARIABLES = {"zh-CN": {"name": "张三", "id_last4": "123X"},
             "en": {"name": "Alex Chen", "id_last4": "123X"}}
ZH, EN = "是的，我自愿", "yes, I do"
ZQ, EQ = "请问您是否自愿开户？", "Do you open this account of your own free will?"

# (text, what the retry says): the tester's six phrasings, then ten of ours per locale.
ZH_CASES = [
    (ZQ + "自愿的话请回答是的我自愿。", ZQ),
    ("请问您是否自愿开立证券账户，请回答是的，我自愿。", "请问您是否自愿开立证券账户？"),
    (ZQ + "请用“是的，我自愿”回答。", ZQ),
    ("如果您自愿，可以回答“是的，我自愿”。" + ZQ, ZQ),
    ("您是否自愿开户？如您自愿，请说「是的，我自愿」，谢谢。", "您是否自愿开户？"),
    ("您是否自愿开户？是的，我自愿，请这样回答。", "您是否自愿开户？"),
    (ZQ + "若自愿，请回答：是的，我自愿！", ZQ),
    (ZQ + "可以回答＂是的，我自愿＂。", ZQ),
    (ZQ + "请以“是的 我自愿”作答。", ZQ),
    ("风险已告知。" + ZQ + "自愿的话，就说是的我自愿。", "风险已告知。" + ZQ),
    (ZQ + "如您同意，请回复『是的，我自愿』；如不同意请说明。", ZQ + "如不同意请说明。"),
    ("请您用“是的，我自愿”回答：" + ZQ, ZQ),
    (ZQ + "（请回答：是的，我自愿）", ZQ),
]
EN_CASES = [
    (EQ + ' You can answer "yes, I do".', EQ),
    (EQ + " Answer yes, I do, if you agree.", EQ),
    (EQ + " Say 'yes, I do' to confirm.", EQ),
    ('If you agree, say “Yes, I do”. ' + EQ, EQ),
    ("Do you open it freely? If so, reply YES, I DO.", "Do you open it freely?"),
    (EQ + " Please answer: yes, I do.", EQ),
    (EQ + " If you do, you may answer 'yes, I do'.", EQ),
    (EQ + " Just say yes, I do.", EQ),
    (EQ + ' Respond with "Yes, I do" if that is your wish.', EQ),
    ("The risks were explained. " + EQ + " You can say yes, I do.",
     "The risks were explained. " + EQ),
    (EQ + " To confirm, answer ‘yes, I do’; if not, tell us why.", EQ + " if not, tell us why."),
    ('Please answer "yes, I do" to this: ' + EQ, EQ),
    (EQ + " (You can answer yes, I do.)", EQ),
]


@pytest.mark.parametrize("text,want", ZH_CASES)
def test_mandarin_phrasings_lose_the_answer_and_keep_the_question(text, want):
    assert holds_answer(text, ZH)
    got = unled_text(text, ZH, "zh-CN")
    assert not holds_answer(got, ZH), got
    assert got == want


@pytest.mark.parametrize("text,want", EN_CASES)
def test_english_phrasings_lose_the_answer_and_keep_the_question(text, want):
    assert holds_answer(text, EN)
    got = unled_text(text, EN, "en")
    assert not holds_answer(got, EN), got
    assert got == want


@pytest.mark.parametrize("text,answer,locale", [
    ("请用“是的，我自愿”回答。", ZH, "zh-CN"),
    ("Say 'yes, I do' to confirm.", EN, "en"),
    ('Do you open it freely (you may say "yes, I do")?', EN, "en"),
])
def test_nothing_left_to_ask_falls_back_to_a_neutral_reask(text, answer, locale):
    assert unled_text(text, answer, locale).endswith(REASK[locale])


@pytest.mark.parametrize("text,answer,locale", [
    (ZQ, ZH, "zh-CN"), (EQ, EN, "en"),
    ("您是否了解风险？", "是的，我已了解", "zh-CN"),
    ("Did you do this yesterday?", "yes", "en"),  # "yes" is not in "yesterday"
    ("Thank you. Next.", EN, "en"),
])
def test_a_text_without_the_answer_is_kept_as_it_is(text, answer, locale):
    assert unled_text(text, answer, locale) == text


def test_normalised_folds_case_width_quotes_and_spaces():
    assert normalised("“ＹＥＳ，  I Do”") == normalised("yes, I do") == "yesido"
    assert holds_answer("请回答是的我自愿", ZH) and not holds_answer("请回答是的", ZH)


def _question_steps(paths):
    for path in paths:
        flow = load_flow(path)
        for locale in flow.locales:
            for step in plan_witness(flow, locale, VARIABLES[locale], random.Random(1)):
                if step.kind == StepKind.QUESTION and step.answer:
                    yield pytest.param(step, locale, id=f"{flow.id}-{step.id}-{locale}")


@pytest.mark.parametrize("step,locale", list(_question_steps(FLOWS + TESTER)))
def test_no_retry_after_doubt_holds_the_answer_in_any_flow(step, locale):
    for after_refusal, hint in ((True, ""), (False, "own_will"), (False, "question"),
                                (False, "hesitation"), (False, "confirm")):
        text, spoken = retry_prompt(step.text, step.spoken, locale, after_refusal, hint,
                                    step.answer)
        prefix = retry_prefix(locale, after_refusal, hint, step.answer)
        for said, lead in ((text, prefix), (spoken or "", speakable(prefix, locale))):
            # The prefix of a deny step's retry may say "no" itself ("heard as a no").
            assert said.startswith(lead), said
            assert not holds_answer(said[len(lead):], step.answer), said
            assert said.rstrip()[-1] in "？?。.", said


def test_tester_flows_pass_the_check():
    assert len(TESTER) == 3, TESTER
    for path in TESTER:
        assert check_flow(path) == []


def test_flows_check_refuses_a_text_that_would_still_give_the_answer(monkeypatch):
    # The stripping makes this nearly impossible; a stripping that cut nothing shows the rule.
    path = ROOT / "flows" / "securities_account_opening.yaml"
    assert check_flow(path) == []
    monkeypatch.setattr(checks, "unled_text", lambda text, answer, locale: text)
    problems = check_flow(path)
    assert problems and all("would still give the answer" in p.message for p in problems)
    assert all(p.line > 0 for p in problems)
    assert any("sentence of their own" in p.message for p in problems)


# --- the pre-review's words and times for an answer --------------------------------------------

def _answer_findings(data: dict, t: float) -> list[str]:
    ctx = Context(step="risk")
    RULES[TimelineEvent.ANSWER_RECOGNISED](data, t, ctx)
    return [f.text for f in ctx.findings]


def test_a_negation_names_the_step_not_a_consent():
    texts = _answer_findings({"step": "risk", "decision": AnswerDecision.UNCLEAR,
                              "negation": True, "t_start": 18.2, "t_end": 19.0}, 23.4)
    assert texts == ["the answer to step risk at 00:18 held a negation and was not understood"]


def test_a_no_is_timed_where_its_speech_starts_as_its_doubt_is():
    # The doubt flag of the same answer (kiosk.review.prereview._doubt) is timed at the start
    # of its first speech span; the "no" finding was at the later recognised time (00:23).
    texts = _answer_findings({"step": "consent", "decision": AnswerDecision.DISAGREE,
                              "t_start": 18.2, "t_end": 19.0}, 23.4)
    assert texts == ["consent answer was 'no' at 00:18"]
