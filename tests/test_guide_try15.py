"""Issue #15, second broker trial (try15): what a broker writes and what the guide says.

Full-width braces from a Chinese IME, '/' in a formula, spaced account numbers, names in a
script no voice can say, and the smaller slips the trial found. End-to-end rows compare
espeak-ng's phonemes (the product's voices: sit/cmn-latn-pinyin, gmw/en-us).
"""

from __future__ import annotations

import re
import subprocess

import pytest
from pydantic import ValidationError

from kiosk.flows.loader import check_flow, speech_warnings
from kiosk.guide.normalise import read_variable, speakable, speech_issues
from kiosk.guide.tts import DEFAULT_VOICES
from kiosk.web.api import Applicant


def phonemes(text: str, locale: str) -> str:
    """espeak-ng's phonemes for ``text`` with tones: stress, pauses and spaces dropped."""
    out = subprocess.run(["espeak-ng", "-x", "-q", "-v", DEFAULT_VOICES[locale], text],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return re.sub(r"[',_:|\s]", "", out)


def flow(zh: str, en: str, title: str = "测试") -> str:
    return (f"id: ime\nversion: 1\ntitle: {{zh-CN: {title}, en: Test}}\nlocales: [zh-CN, en]\n"
            f"broker: {{zh-CN: 华信证券, en: Huaxin Securities}}\n"
            f"steps:\n  - id: welcome\n    kind: say\n    text:\n"
            f"      zh-CN: \"{zh}\"\n      en: \"{en}\"\n")


# -- 1. full-width braces --------------------------------------------------------------------

def test_full_width_braces_are_an_error_at_their_place():
    text = flow("｛name｝您好，您的身份证尾号为｛id_last4｝。",
                "Hello ｛name｝, ID ends ｛id_last4:digits｝.")
    found = [(p.line, p.col, p.message) for p in check_flow("ime.yaml", text)]
    assert found == [
        (10, 15, "step 'welcome': text.zh-CN has ｛name｝ in full-width braces (typed in Chinese "
                 "input mode), which the voice would not fill in; write {name} with ASCII "
                 "braces"),
        (10, 32, "step 'welcome': text.zh-CN has ｛id_last4｝ in full-width braces (typed in "
                 "Chinese input mode), which the voice would not fill in; write {id_last4} "
                 "with ASCII braces"),
        (11, 18, "step 'welcome': text.en has ｛name｝ in full-width braces (typed in Chinese "
                 "input mode), which the voice would not fill in; write {name} with ASCII "
                 "braces"),
        (11, 34, "step 'welcome': text.en has ｛id_last4:digits｝ in full-width braces (typed "
                 "in Chinese input mode), which the voice would not fill in; write "
                 "{id_last4:digits} with ASCII braces"),
    ]


def test_one_full_width_brace_and_a_full_width_colon_are_errors_too():
    text = flow("{name｝您好，尾号｛id_last4：digits}。", "Hello {name}.")
    msgs = [p.message for p in check_flow("ime.yaml", text)]
    assert len(msgs) == 2, msgs
    assert "has {name｝ in full-width braces" in msgs[0] and "write {name} with" in msgs[0]
    assert "write {id_last4:digits} with ASCII braces" in msgs[1]
    assert "lone" not in " ".join(msgs)


def test_full_width_braces_round_an_unknown_name_say_so():
    (problem,) = check_flow("ime.yaml", flow("手机号为｛phone｝。", "Phone {name}."))
    assert "write {phone} with ASCII braces, though phone is not a variable either: use " \
        "{broker}, {id_last4} or {name}" in problem.message


def test_full_width_braces_round_words_are_text():
    # Not a variable's name: brackets an author may mean (｛注意｝), left alone.
    assert check_flow("ime.yaml", flow("｛注意｝请仔细阅读。", "{{Note}} read it.")) == []


# -- 2. '/' in a formula ---------------------------------------------------------------------

FORMULAS = [
    ("账户维持担保比例=（现金+信用证券账户内证券市值）/（融资买入金额+融券卖出证券数量×当前市价+利息及费用）",
     "zh-CN",
     "账户维持担保比例等于(现金加信用证券账户内证券市值)除以(融资买入金额加融券卖出证券数量乘以"
     "当前市价加利 xi1 及费用)"),
    ("年化收益率=（期末净值-期初净值）/期初净值×365/持有天数×100%", "zh-CN",
     "年化收益率等于(期末净值减期初净值)除以期初净值乘以三百六十五除以持有天数乘以百分之一百"),
    ("（资产-负债）/总资产", "zh-CN", "(资产减负债)除以总资产"),
    ("Annualised return = (ending NAV - starting NAV) / starting NAV × 365 / days held × 100%",
     "en", "Annualised return equals (ending N eh V minus starting N eh V) divided by starting "
           "N eh V times 365 divided by days held times 100%"),
    ("ratio = (cash + securities) / (loans + interest)", "en",
     "ratio equals (cash + securities) divided by (loans + interest)"),
    # Alternatives, fractions, dates and units stay as they were.
    ("请回答是/否", "zh-CN", "请回答是或否"),
    ("买入/卖出", "zh-CN", "买入或卖出"),
    ("佣金=成交金额×0.03%，最低5元/笔；买入/卖出均收取", "zh-CN",
     "yong4 金等于成交金额乘以百分之零点零三，最低五元每笔；买入或卖出均收取"),
    ("费用=1/3×总额", "zh-CN", "费用等于三分之一乘以总额"),
    ("12/31前", "zh-CN", "十二月三十一日前"),
    ("yes/no", "en", "yes or no"),
    ("fee = 1.5 yuan/trade", "en", "fee equals 1.5 yuan per trade"),
]


@pytest.mark.parametrize(("written", "locale", "spoken"), FORMULAS)
def test_slash_in_a_formula_is_divided_by(written, locale, spoken):
    assert speakable(written, locale) == spoken


def test_the_voice_says_chuyi_in_the_margin_formula():
    # Tones dropped: 以 is ji21 before the pause of the bracket (third-tone sandhi), ji214 alone.
    said = re.sub(r"\d", "", phonemes(speakable(FORMULAS[0][0], "zh-CN"), "zh-CN"))
    assert re.sub(r"\d", "", phonemes("除以", "zh-CN")) in said
    assert re.sub(r"\d", "", phonemes("或", "zh-CN")) not in said


# -- 3. spaced account numbers ---------------------------------------------------------------

@pytest.mark.parametrize(("written", "locale", "spoken"), [
    ("客户号：1100 2233 44", "zh-CN", "客户号：一一零零二二三三四四"),
    ("资金账号 6222 0202 0000 12，请核对", "zh-CN",
     "资金账号 六二二二零二零二零零零零一二，请核对"),
    ("account no. 6222 0202 0000 1234", "en",
     "account number six two two two zero two zero two zero zero zero zero one two three four"),
    ("customer number 1100 2233 44", "en",
     "customer number one one zero zero two two three three four four"),
    # A quantity after the number is not part of it.
    ("尾号1234 5个工作日内到账", "zh-CN", "尾号 一二三四 五个工作日内到账"),
])
def test_spaced_digit_groups_after_a_cue_are_digits(written, locale, spoken):
    assert speakable(written, locale) == spoken


def test_the_voice_says_si_si_not_sishisi():
    said = phonemes(speakable("客户号：1100 2233 44", "zh-CN"), "zh-CN")
    assert phonemes("十", "zh-CN") not in said


# -- 4. names in a script the voices cannot say ----------------------------------------------

@pytest.mark.parametrize(("name", "script"), [
    ("Д. Иванов", "Cyrillic"), ("Ολγα", "Greek"), ("محمد", "Arabic"), ("สมชาย", "Thai"),
    ("김민수", "Hangul"), ("やまだ", "Hiragana"), ("ヤマダ", "Katakana"), ("王Иван", "Cyrillic"),
])
def test_a_name_no_voice_can_say_is_refused_at_intake(name, script):
    with pytest.raises(ValidationError) as info:
        Applicant(name=name, id_number="11010519491231002X")
    (error,) = info.value.errors()
    assert error["loc"] == ("name",)
    assert f"is written in {script}" in error["msg"]
    assert "Chinese characters or Latin letters" in error["msg"]


def test_names_on_prc_documents_are_accepted():
    for name in ("买买提·艾力", "José Ñúñez", "O'Brien-Smith Jr.", "王𠇔", "Nguyễn Văn An",
                 "ZHANG SAN", "张三"):
        assert Applicant(name=name, id_number="11010519491231002X").name


# -- 5. minors -------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "locale", "spoken"), [
    ("按#号键结束", "zh-CN", "按井号键结束"),
    ("按#键结束", "zh-CN", "按井号键结束"),
    ("Press # to finish", "en", "Press the hash key to finish"),
    ("收益率≈3.5%", "zh-CN", "收益率约百分之三点五"),
    ("产品规模~3亿元", "zh-CN", "产品规模约三亿元"),
    ("~3亿元", "zh-CN", "约三亿元"),
    ("3~5年", "zh-CN", "三到五年"),
    ("1月~3月", "zh-CN", "一月到三月"),
    ("请注意~~~~", "zh-CN", "请注意"),
    ("科创板股票代码以688开头", "zh-CN", "科创板股票代码以六八八开头"),
    ("688、689开头的股票", "zh-CN", "六八八、六八九开头的股票"),
    ("codes that start with 688", "en", "codes that start with six eight eight"),
    ("1,000,000.00份", "zh-CN", "yi4 百万份"),
    ("5G网络", "zh-CN", "五 ji1 网络"),
])
def test_minor_readings(written, locale, spoken):
    assert speakable(written, locale) == spoken


def test_lu_keeps_its_umlaut_in_mandarin():
    assert read_variable("Lü Bo", "name", "zh-CN") == "lü bo"
    assert read_variable("LÜ Bo", "name", "zh-CN") == "lü bo"


def test_the_voice_says_ji_for_g_and_jinghao():
    assert phonemes("ji1", "zh-CN") in phonemes(speakable("5G网络", "zh-CN"), "zh-CN")
    # Tones dropped: 井 is tS;i21N before 号 (third-tone sandhi), tS;i214N alone.
    said = re.sub(r"\d", "", phonemes(speakable("按#号键结束", "zh-CN"), "zh-CN"))
    assert re.sub(r"\d", "", phonemes("井号", "zh-CN")) in said
    assert "(en)" not in phonemes(speakable("收益率≈3.5%", "zh-CN"), "zh-CN")


def test_approx_sign_is_not_warned_and_nothing_english_is_left():
    assert "≈" not in speakable("≈3.5%", "zh-CN")
    assert list(speech_issues("收益率≈3.5%", "zh-CN")) == []


def test_full_width_colon_after_a_key_is_named():
    text = flow("您好", "Hello").replace("    text:\n", "    text：\n")
    (problem,) = check_flow("ime.yaml", text)
    assert (problem.line, problem.col) == (9, 9)
    assert "full-width colon" in problem.message and "text:" in problem.message


def test_tab_indentation_is_named():
    text = flow("您好", "Hello").replace("      en:", "\t  en:")
    (problem,) = check_flow("ime.yaml", text)
    assert problem.line == 11 and problem.col == 1
    assert "tab" in problem.message and "spaces" in problem.message


def test_a_reading_that_does_not_fit_the_value_is_warned():
    text = flow("{broker:digits}欢迎您，{name:digits}", "Welcome, {broker}.")
    assert check_flow("ime.yaml", text) == []
    found = [(w.line, w.col, w.message) for w in speech_warnings("ime.yaml", text)]
    assert [f[:2] for f in found] == [(10, 15), (10, 34)]
    assert "{broker:digits} would spell 华信证券 one character at a time" in found[0][2]
    assert "{name:digits}" in found[1][2] and "a name is not digits" in found[1][2]
