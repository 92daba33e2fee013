"""#15, tester round twelve: the safety net of the speech check (a character not said, a sign
left in the spoken text, a unit glued to a number), and the classes the round found wrong,
each as a class, with espeak-ng's phonemes checked for the Mandarin ones. (A file of its own,
next to test_guide_normalise.py and its round-seven to round-eleven siblings.)"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import kiosk.guide.normalise as normalise
from kiosk.cli import main as cli
from kiosk.guide.normalise import (
    CJK_RADICAL_EQUIVALENTS,
    NORMALISER_VERSION,
    read_name,
    safety_net_issues,
    speakable,
)
from tests.guide_rows import espeak_said as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak
from tests.guide_rows import warnings as _warnings


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/30"  # bumped by round twenty-seven


# -- A: the safety net ----------------------------------------------------------------------

def _net_off(monkeypatch):
    """The normaliser without the round-twelve rules: the report's classes as they were."""
    monkeypatch.setattr(normalise, "_zh_round_twelve", lambda t: t)
    monkeypatch.setattr(normalise, "_en_round_twelve", lambda t: t)
    monkeypatch.setattr(normalise, "_round_twelve_marks", lambda t, zh: t)
    monkeypatch.setattr(normalise, "_round_twelve_folded", lambda t, zh: t)
    monkeypatch.setattr(normalise, "_round_twelve_spans", lambda t, zh: set())


@pytest.mark.parametrize(("written", "locale"), [
    ("不超过½", "zh-CN"), ("below ½", "en"), ("9:30〜11:30", "zh-CN"), ("3⁓5年", "zh-CN"),
    ("3〜5 years", "en"), ("利率为LPR-50bp", "zh-CN"), ("LPR-50bp", "en"),
    ("用时1h30min", "zh-CN"), ("2h15m", "en"), ("30sec", "zh-CN"), ("按*号键返回", "zh-CN"),
    ("press the * key", "en"), ("art. 50 applies", "en"), ("the avg. price", "en"),
    ("c/o Mr Li", "en"), ("w/o fees", "en"), ("YoY growth", "en"),
])
def test_the_net_warns_where_a_rule_was_missing(monkeypatch, written, locale):
    _net_off(monkeypatch)
    assert _warnings(written, locale), speakable(written, locale)


def test_the_net_says_what_the_voice_says_and_what_to_write(monkeypatch):
    _net_off(monkeypatch)
    (msg,) = _warnings("9:30〜11:30", "zh-CN")
    assert "九点三十分〜十一点三十分" in msg and "至" in msg
    (msg,) = [i.message for i in safety_net_issues("不超过½", "zh-CN")]
    assert "一⁄二" in msg and "二分之一" in msg
    # a character dropped silently, at its offset
    assert [i.offset for i in safety_net_issues("请看⁂说明", "zh-CN")] == [2]


@pytest.mark.parametrize(("written", "locale"), [
    ("您好，欢迎办理开户。", "zh-CN"), ("收益-3.5%", "zh-CN"), ("¥100元", "zh-CN"),
    ("assets of $100,000-$500,000", "en"), ("due on 12/25/2025", "en"), ("A/B股", "zh-CN"),
    ("yield 3.5%¹", "en"), ("at least 720p", "en"), ("5g network", "en"), ("worth 5m", "en"),
    ("KYC/AML", "zh-CN"), ("Monday to Friday, 9:00-17:00", "en"), ("ChinaBond", "en"),
])
def test_the_net_spares_what_the_rules_read(written, locale):
    assert list(safety_net_issues(written, locale)) == []


def test_the_shipped_flows_stay_clean():
    r = CliRunner().invoke(cli, ["flows", "check", "flows/fund_suitability.yaml",
                                 "flows/margin_account_risk.yaml",
                                 "flows/securities_account_opening.yaml"])
    assert r.exit_code == 0 and "warning" not in r.output, r.output


def test_a_locale_with_no_guide_voice_is_warned_by_check_and_refused_by_preview(tmp_path):
    path = tmp_path / "tw_test.yaml"
    path.write_text("""\
id: tw_test
version: 1
title: {zh-CN: 测试, zh-TW: 測試, en: Test}
locales: [zh-CN, zh-TW, en]
steps:
  - id: hello
    kind: say
    text: {zh-CN: 您好。, zh-TW: 您好。, en: Hello.}
""", encoding="utf-8")
    r = CliRunner().invoke(cli, ["flows", "check", str(path)])
    assert r.exit_code == 0
    assert f"{path}:1:1: warning: no guide voice for locale(s) zh-TW; the guide speaks " \
           "zh-CN, en" in r.output
    r = CliRunner().invoke(cli, ["flows", "preview", str(path), "--locale", "zh-TW"])
    assert r.exit_code != 0 and "no guide voice for locale(s) zh-TW; the guide speaks " \
                               "zh-CN, en" in r.output


def test_preview_json_carries_the_nets_warnings():
    from kiosk.flows.preview import FlowPreview, RenderedPrompt, StepPreview, preview_json

    p = FlowPreview("f", 1, "zh-CN", [StepPreview("s", "say", 1.0, 1.0, (
        RenderedPrompt("请看⁂说明", "0" * 64, 1.0, "请看说明"),))])
    (prompt,) = preview_json([p], 600)["locales"][0]["steps"][0]["prompts"]
    assert prompt["warnings"] and "⁂" in prompt["warnings"][0]
    json.dumps(prompt, ensure_ascii=False)


# -- B: the classes ---------------------------------------------------------------------------

def test_minus_after_latin_letters_is_said():
    assert _misread([
        ("利率为LPR-50bp", "zh-CN", "利率 wei2 L P R 负五十个基点"),
        ("LPR-50bp", "en", "L P R minus 50 basis points"),
        ("LPR+50bp", "en", "L P R plus 50 basis points"),
        ("收益-3.5%", "zh-CN", "收益负百分之三点五"),  # after a Chinese word: as before
    ]) == []


def test_short_service_numbers_after_a_calling_word_are_digits():
    assert _misread([
        ("请拨打110报警", "zh-CN", "请拨打一一零报警"),
        ("或拨打999", "zh-CN", "或拨打九九九"),
        ("请致电95588", "zh-CN", "请致电九五五八八"),
        ("中国证监会12386热线", "zh-CN", "中国证监会一二三八六热线"),
        ("call 110", "en", "call one one zero"),
        ("call 999 or 110", "en", "call nine nine nine or one one zero"),
        ("拨打3次", "zh-CN", "拨打三次"),  # a count
    ]) == []
    for text, loc in (("拨打95588", "zh-CN"), ("call 95588", "en"),
                      ("中国证监会12386热线", "zh-CN")):
        assert _warnings(text, loc) == [], text


def test_range_signs_that_look_like_a_tilde_and_em_dash_between_times():
    assert _misread([
        ("9:30〜11:30", "zh-CN", "九点三十分到十一点三十分"),
        ("3∼5年", "zh-CN", "三到五年"), ("3⁓5年", "zh-CN", "三到五年"),
        ("3〜5 years", "en", "3 to 5 years"), ("2%∼4%", "en", "2% to 4%"),
        ("上午8:30—下午5:30", "zh-CN", "上午八点三十分到下午五点三十分"),
    ]) == []
    assert _warnings("3∼5年") == []


def test_vulgar_fractions():
    assert _misread([
        ("不超过½", "zh-CN", "不超过二分之一"), ("不超过¾", "zh-CN", "不超过四分之三"),
        ("below ½", "en", "below one half"), ("⅔ of it", "en", "two thirds of it"),
        ("1½年", "zh-CN", "一又二分之一年"),
    ]) == []


def test_cjk_radicals_fold_to_their_ideographs():
    assert speakable("⻛险揭示书 ⻓期 ⻔店 ⻅证 ⻚码 ⻋辆", "zh-CN") == \
        "风险揭示书 长期 门店 见证 页码 车辆"
    assert CJK_RADICAL_EQUIVALENTS[0x2EDB] == "风"
    (msg,) = _warnings("⻛险")
    assert "looks like 风" in msg and "type 风" in msg


def test_compound_durations():
    assert _misread([
        ("用时1h30min", "zh-CN", "用时 yi4 小时三十分钟"),
        ("30sec", "zh-CN", "三十秒"),
        ("1h30min", "en", "1 hour 30 minutes"), ("2h15m", "en", "2 hours 15 minutes"),
        ("90min", "en", "90 minutes"),
        ("5m", "en", "5m"),  # alone: no duration
    ]) == []


def test_years_in_brackets_case_numbers_and_bond_names():
    assert _misread([
        ("《期货和衍生品法》（2022）", "zh-CN", "《期货和衍生品法》(二〇二二)"),
        ("案号（2023）沪74民初123号", "zh-CN", "案号(二〇二三)沪七四民初一二三号"),
        ("24国债01", "zh-CN", "二四国债零一"), ("23附息国债26", "zh-CN", "二三附 xi1 国债二六"),
        ("the Act (2023)", "en", "the Act (twenty twenty three)"),
    ]) == []


def test_slash_abbreviations_keys_and_marks():
    assert _misread([
        ("N/A", "en", "not applicable"), ("N/A", "zh-CN", "bu2 适用"),
        ("A/C No. 123", "en", "account number one hundred twenty three"),
        ("c/o Mr Li", "en", "care of Mr Lee"), ("w/o fees", "en", "without fees"),
        ("按*号键返回", "zh-CN", "按星号键返回"), ("press the * key", "en", "press the star key"),
        ("press *0", "en", "press star 0"), ("press 1 and #", "en", "press 1 and the hash key"),
        ("APP™", "zh-CN", "A P P"), ("Securities® and ExampleTrade™", "en",
                                     "Securities and ExampleTrade"),
    ]) == []
    assert _warnings("按*号键返回") == [] and _warnings("APP™") == []


def test_traditional_text_is_read_as_simplified():
    assert _misread([
        ("存管銀行為中國銀行", "zh-CN", "存管银 hang2 wei2 中国银 hang2"),
        ("按時還款", "zh-CN", "按时 huan2 款"),
    ]) == []


def test_mongolian_names_by_rule():
    assert read_name("那顺巴雅尔", "zh-CN") != "nā 顺巴雅尔"
    assert read_name("那顺巴雅尔", "en") == "Nashun Bayaer"
    assert read_name("查干巴拉", "en") == "Chagan Bala"


def test_english_words_and_abbreviations():
    assert _misread([
        ("Monday–Friday", "en", "Monday to Friday"), ("Dear Ms. Li", "en", "Dear Miz Lee"),
        ("art. 50", "en", "Article 50"), ("para. 2", "en", "paragraph 2"),
        ("s. 108", "en", "section 108"), ("cl. 4.2", "en", "clause 4.2"),
        ("Sch. 2", "en", "Schedule 2"), ("12 Nathan Rd. W.", "en", "twelve Nathan Road West"),
        ("Bldg. 3", "en", "Building 3"), ("YoY", "en", "year on year"),
        ("A vs. B", "en", "A versus B"), ("avg. price", "en", "average price"),
        ("0.25 ppt", "en", "0.25 percentage points"), ("RMB 1.2tn", "en", "1.2 trillion yuan"),
    ]) == []


@needs_espeak
@pytest.mark.parametrize(("written", "reference"), [
    ("请拨打110报警", "请拨打一一零报警"), ("不超过½", "不超过二分之一"),
    ("9:30〜11:30", "九点三十分到十一点三十分"), ("利率LPR-50bp", "利率 L P R 负五十个基点"),
    ("⻛险揭示书", "风险揭示书"), ("24国债01", "二四国债零一"), ("按*号键返回", "按星号键返回"),
    ("用时1h30min", "用时义小时三十分钟"),  # 一 before 小 is yì, as 义
    ("案号（2023）", "案号(二〇二三)"),
])
def test_espeak_says_the_mandarin_classes_as_meant(written, reference):
    assert _espeak(speakable(written, "zh-CN")) == _espeak(reference)


@needs_espeak
def test_espeak_says_traditional_bank_words_as_meant():
    assert "X'a35N" in _espeak(speakable("存管銀行為中國銀行", "zh-CN"))  # háng
