"""#15, tester round twenty-five's classes fixed in round twenty-five (speakable/28): No. before
a number in Mandarin, English dates in Mandarin, REITs in Mandarin, currency pairs with CNH, a
rate divided by days (6.8%/365), US rule numbers (15c3-1) and forms (10-K, 1099-B, W-8BEN),
intake names joined by a dot or hyphen look-alike (and full-width Latin), and the odd ones: Q1季度,
the pause after p.m., a bracketed gloss said twice, 第一条 为规范, x2 leverage, a US ZIP code;
and the check's message for an unquoted comma in a {zh-CN: …, en: …} title."""

from __future__ import annotations

import pytest

from kiosk.flows import check_flow
from kiosk.flows.model import fill_template
from kiosk.guide.normalise import NORMALISER_VERSION, normalise_name, speakable
from kiosk.witness.intake import Applicant
from tests.guide_rows import espeak_written as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak
from tests.guide_rows import rows as _rows
from tests.guide_rows import warnings as _warnings


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/30"  # bumped by round twenty-seven


# -- 1: No. before a number inside Mandarin ----------------------------------------------------

NO_NUMBER = [
    ("本公司为No.1券商。", "zh-CN", "本公司 wei2 第一券商。"),
    ("本产品为No.3号产品。", "zh-CN", "本产品 wei2 三号产品。"),  # 号 not doubled
    ("他是行业No.1。", "zh-CN", "他是 hang2 业第一。"),
    ("请到No. 2号窗口", "zh-CN", "请到二号窗口"),
    ("No.12期理财", "zh-CN", "第十二期理财"),
    ("No.5号楼", "zh-CN", "五号楼"),
    # must not change: a long number after No. is a code, and English says "number"
    ("编号No.20240603-0015", "zh-CN", "编号 二零二四零六零三-零零一五"),
    ("Invoice No. 12 is paid.", "en", "Invoice number twelve is paid."),
]


@_rows(NO_NUMBER)
def test_no_before_a_number(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


def test_no_one_and_no_three_hao_are_checked_alike():
    assert _warnings("本公司为No.1券商。") == _warnings("本产品为No.3号产品。") == []
    assert "No" not in speakable("本公司为No.1券商。", "zh-CN")
    assert "No" not in speakable("本产品为No.3号产品。", "zh-CN")


# -- 2: English dates inside Mandarin ----------------------------------------------------------

EN_DATES_IN_ZH = [
    ("截止日期为Dec. 31, 2024。", "zh-CN", "截止日期 wei2 二〇二四年十二月三十一日。"),
    ("截止日期为31 Dec 2024。", "zh-CN", "截止日期 wei2 二〇二四年十二月三十一日。"),
    ("截止日期为December 31, 2024。", "zh-CN", "截止日期 wei2 二〇二四年十二月三十一日。"),
    ("生效日为Jan 1st, 2025。", "zh-CN", "生效日 wei2 二〇二五年一月一日。"),
    ("于Sept. 30, 2025到期", "zh-CN", "于二〇二五年九月三十日到期"),
    ("Mar 2025起执行", "zh-CN", "二〇二五年三月起执行"),
    ("请于May 5前提交", "zh-CN", "请于五月五日前提交"),
    # must not change: Mandarin dates, English in English, words that are not months
    ("2024年12月31日", "zh-CN", "二〇二四年十二月三十一日"),
    ("Due by Dec. 31, 2024.", "en", "Due by December 31, 2024."),
    ("Mayday活动", "zh-CN", "Mayday活动"),
    ("Dec是缩写", "zh-CN", "Dec是缩写"),
]


@_rows(EN_DATES_IN_ZH)
def test_english_dates_in_mandarin(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 3: REITs and other plural acronyms --------------------------------------------------------

PLURAL_ACRONYMS = [
    ("REITs产品风险等级为R3。", "zh-CN", "R E I T 产品风险等级 wei2 R 三。"),
    ("REITs分红比例不低于90%。", "zh-CN", "R E I T 分红比例不低于百分之九十。"),
    ("公募REITs和C-REITs", "zh-CN", "公募 R E I T 和 C R E I T"),
    ("ETFs和IPOs都是", "zh-CN", "E T F 和 I P O 都是"),
    ("QFIIs额度", "zh-CN", "Q F I I 额度"),
    # English keeps "reets" and the plural
    ("REITs are listed.", "en", "Reets are listed."),
    ("ETFs, REITs and IPOs.", "en", "E T F's, Reets and I P O's."),
]


@_rows(PLURAL_ACRONYMS)
def test_plural_acronyms(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 4: currency pairs -------------------------------------------------------------------------

PAIRS = [
    ("美元兑离岸人民币（USD/CNH）报7.25。", "zh-CN", "美元兑离岸人民币报七点二五。"),
    ("USD/CNH报7.25", "zh-CN", "美元兑离岸人民币报七点二五"),
    ("CNH/USD", "zh-CN", "离岸人民币兑美元"),
    ("USD/CNY报7.25，EUR/USD报1.08，USD/HKD报7.8", "zh-CN",
     "美元兑人民币报七点二五，欧元兑美元报一点零八，美元兑港元报七点八"),
    ("The USD/CNH rate is 7.25.", "en", "The U S dollar to offshore yuan rate is 7.25."),
    ("USD/CNH at 7.25.", "en", "U S dollar to offshore yuan at 7.25."),
    ("EUR/USD is 1.08.", "en", "euro to U S dollar is 1.08."),
    ("CNY/USD at 7.25.", "en", "yuan to U S dollar at 7.25."),  # as before
]


@_rows(PAIRS)
def test_currency_pairs(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 5: a rate divided by days -----------------------------------------------------------------

DIVIDED = [
    ("Margin interest accrues daily at 6.8%/365.", "en",
     "Margin interest accrues daily at 6.8% divided by 365."),
    ("The rate is 6.8%/365 per day.", "en", "The rate is 6.8% divided by 365 per day."),
    ("日利率为6.8%/365", "zh-CN", "日利率 wei2 百分之六点八除以三百六十五"),
    ("年利率6.8%/360", "zh-CN", "年利率百分之六点八除以三百六十"),
    ("日利率=年利率/360", "zh-CN", "日利率等于年利率除以三百六十"),
    ("Daily rate = annual rate/360.", "en", "Daily rate equals annual rate divided by 360."),
    # must not change: two percentages are a choice
    ("涨跌幅为10%/20%", "zh-CN", "涨跌幅 wei2 百分之十或百分之二十"),
    ("Limits are 10%/20%.", "en", "Limits are 10% or 20%."),
]


@_rows(DIVIDED)
def test_rate_divided_by_days(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 6: US rule numbers and forms --------------------------------------------------------------

RULES_FORMS = [
    ("See SEC Rule 15c3-1 for details.", "en", "See S E C Rule fifteen c three one for details."),
    ("Rule 15c3-3 protects customers.", "en", "Rule fifteen c three three protects customers."),
    ("Rule 10b-5 applies.", "en", "Rule ten b five applies."),
    ("A 10b5-1 plan.", "en", "A ten b five one plan."),
    ("Form 10-K and 10-Q.", "en", "Form ten K and ten Q."),
    ("Forms 8-K, 10-Q and 20-F.", "en", "Forms eight K, ten Q and twenty F."),
    ("Form W-8BEN is required.", "en", "Form W eight B E N is required."),
    ("Form 1099-B will be mailed by Feb. 15.", "en",
     "Form ten ninety nine B will be mailed by February 15."),
    # must not change: ranges
    ("Pages 3-5.", "en", "Pages 3 to 5."),
    ("The 2-3 years.", "en", "The 2 to 3 years."),
]


@_rows(RULES_FORMS)
def test_rule_numbers_and_forms(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


@pytest.mark.parametrize("text", ["Rule 10b-5 applies.", "Form 10-K and 10-Q.",
                                  "Form W-8BEN is required.", "See SEC Rule 15c3-1.",
                                  "Form 1099-B will be mailed."])
def test_rules_and_forms_are_not_warned(text):
    assert _warnings(text, "en") == []


def test_a_hyphen_still_said_badly_is_still_warned():
    assert any("left as the sign -" in w for w in _warnings("He scored 3-A.", "en"))


# -- 7: names at intake ------------------------------------------------------------------------

NAMES = [
    ("阿卜杜热合曼.买买提", "阿卜杜热合曼·买买提"),
    ("阿卜杜热合曼．买买提", "阿卜杜热合曼·买买提"),
    ("阿卜杜热合曼‐买买提", "阿卜杜热合曼·买买提"),
    ("阿卜杜热合曼‑买买提", "阿卜杜热合曼·买买提"),
    ("阿卜杜热合曼··买买提", "阿卜杜热合曼·买买提"),
    (" 阿卜杜热合曼 · 买买提 ", "阿卜杜热合曼·买买提"),
    ("·买买提", "买买提"),
    ("买买提·", "买买提"),
    ("ＺＨＡＮＧ ＳＡＮ", "ZHANG SAN"),
    ("Ａｎｎａ Ｌｅｅ", "Anna Lee"),
    # must not change
    ("J. Smith", "J. Smith"),
    ("Jean-Luc Picard", "Jean-Luc Picard"),
    ("阿卜杜热合曼・买买提", "阿卜杜热合曼·买买提"),
    ("张三", "张三"),
]


@pytest.mark.parametrize("sent,stored", NAMES, ids=[n[0] for n in NAMES])
def test_names_are_stored_folded(sent, stored):
    assert normalise_name(sent) == stored


def test_intake_stores_the_folded_name():
    a = Applicant(name="阿卜杜热合曼．买买提", id_number="11010519491231002X")
    assert a.name == "阿卜杜热合曼·买买提"


@pytest.mark.parametrize("sent", ["阿卜杜热合曼.买买提", "阿卜杜热合曼．买买提",
                                  "阿卜杜热合曼‐买买提"])
def test_a_folded_name_is_read_as_one_name_in_english(sent):
    def hello(name: str) -> str:
        return speakable(fill_template("Hello {name}.", {"name": name}, "en"), "en")

    assert hello(normalise_name(sent)) == "Hello Ah-boo-doo-ruh-huh-mahn Mai-mai-tee."


# -- the odd ones ------------------------------------------------------------------------------

ODD = [
    ("2025年Q1季度报告已披露。", "zh-CN", "二〇二五年第一季度报告已披露。"),
    ("Q3营收", "zh-CN", "第三季度营收"),
    ("Q2", "zh-CN", "第二季度"),
    ("STAR after-hours fixed-price trading runs 3:05 to 3:30 p.m. Commission is 0.025% of "
     "the amount.", "en", "Star after-hours fixed-price trading runs three oh five to three "
     "thirty PM. Commission is 0.025% of the amount."),
    ("Pay by 3 p.m. ET on T+1.", "en", "Pay by three PM E T on T+1."),
    ("Pay by 3 p.m. Hong Kong time.", "en", "Pay by three PM Hong Kong time."),
    ("We close at 4 P.M. The office opens at 9 a.m.", "en",
     "We close at four PM. The office opens at nine AM."),
    ("Midnight (24:00) cut-off.", "en", "Midnight cut-off."),
    ("Applicant: Zhang San (张三).", "en", "Applicant: Jahng Sahn."),
    ("Applicant: Li Si (张三).", "en", "Applicant: Lee Suh (Jahng Sahn)."),  # not the same
    ("Contact us (Hotline).", "en", "Contact us (Hotline)."),
    ("第一条 为规范证券公司融资融券业务，制定本办法。", "zh-CN",
     "第一条 为规范证券公司融资融券业 wu4，制定本办法。"),
    ("第二章 为保护投资者合法权益", "zh-CN", "第二章 为保护投资者合法权益"),
    ("比例为5%", "zh-CN", "比例 wei2 百分之五"),
    ("x2 leverage is not allowed.", "en", "two times leverage is not allowed."),
    ("x-ray", "en", "x-ray"),
]


@_rows(ODD)
def test_odd_ones(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- the check ---------------------------------------------------------------------------------

def test_a_us_zip_code_is_read_digit_by_digit_and_not_warned():
    text = "Suite 300, 1735 K Street NW, Washington, DC 20006."
    assert "two zero zero zero six" in speakable(text, "en")
    assert _warnings(text, "en") == []
    assert _warnings("Our office: New York, NY 10005.", "en") == []
    assert _warnings("邮政编码：100033") == []
    assert any("20006" in w for w in _warnings("We saw 20006 yesterday.", "en"))


@pytest.mark.parametrize("text,locale", [
    ("截止日期为Dec. 31, 2024。", "zh-CN"), ("截止日期为31 Dec 2024。", "zh-CN"),
    ("REITs产品风险等级为R3。", "zh-CN"), ("美元兑离岸人民币（USD/CNH）报7.25。", "zh-CN"),
    ("USD/CNH at 7.25.", "en"), ("Margin interest accrues daily at 6.8%/365.", "en"),
    ("日利率为6.8%/365", "zh-CN")])
def test_the_tester_misses_now_read_right_and_need_no_warning(text, locale):
    assert _warnings(text, locale) == []


def test_an_unquoted_comma_in_a_title_says_to_quote_it():
    text = ("id: mini\nversion: 1\ntitle: {zh-CN: 测试, 开户, en: Test}\nlocales: [zh-CN, en]\n"
            "steps:\n  - id: hello\n    kind: say\n    text: {zh-CN: 您好。, en: Hello.}\n")
    messages = [p.message for p in check_flow("mini.yaml", text)]
    assert any("has locale '开户' with no value" in m and "quote the value" in m
               for m in messages), messages
    # a wrong locale name with a value keeps its own message
    other = [p.message for p in check_flow("mini.yaml", text.replace("测试, 开户,",
                                                                      "测试, zh-TW: 測試,"))]
    assert any("which is not in locales" in m for m in other) and \
        not any("quote the value" in m for m in other), other


# -- espeak-ng, end to end ---------------------------------------------------------------------

# (written, locale, phonemes the voice says for the guide's text contain, and do not contain)
ESPEAK_ROWS = [
    ("本公司为No.1券商", "zh-CN", "t'i51j'i55", "n'o55"),  # 第一, no English "no"
    ("截止日期为Dec. 31, 2024", "zh-CN", "s.'i.35'@r51'yE51", "(en)"),  # 十二月, no English
    ("REITs产品", "zh-CN", "'@r35", "(en)"),  # R, in the Mandarin voice
    ("USD/CNH报7.25", "zh-CN", "l'i35'a51n", "x'uO51"),  # 离岸, not 或
    ("日利率为6.8%/365", "zh-CN", "ts.h'u35j'i21", "x'uO51"),  # 除以, not 或
    ("Margin interest accrues daily at 6.8%/365.", "en", "dI#v'aIdI#dbaI", "'O@"),
    ("See SEC Rule 15c3-1.", "en", "f'Ifti:ns'i:Tr'i:w,Vn", "t@w'Vn"),  # not "three to one"
    ("USD/CNH at 7.25.", "en", "'O2fSo@", "'O@"),
    ("Form 1099-B", "en", "t'Enn'aInti", "T'aUz@nd"),  # ten ninety nine, not one thousand
]


@needs_espeak
@pytest.mark.parametrize("written,locale,has,lacks", ESPEAK_ROWS,
                         ids=[r[0] for r in ESPEAK_ROWS])
def test_espeak_phonemes(written, locale, has, lacks):
    said = _espeak(written, locale)
    assert has in said and lacks not in said, said
