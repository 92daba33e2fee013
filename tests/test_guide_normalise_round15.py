"""#15, tester round fifteen: a typed ID or card tail in the witness's question, surnames
before titles and roles, 我行 (our bank), extension numbers, English ranges and units, Chinese
month.day dates, names in the English flow, and the speech check's false alarms, each as a
class (written → spoken), with espeak-ng's phonemes checked for a sample of each class."""

from __future__ import annotations

import pytest

from kiosk.flows.model import fill_template
from kiosk.guide.normalise import NORMALISER_VERSION, speakable
from tests.guide_rows import espeak_said as _espeak_said
from tests.guide_rows import espeak_written as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak
from tests.guide_rows import warnings as _warnings


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/30"  # bumped by round twenty-seven


# -- 1: a typed ID / card tail, digit by digit -----------------------------------------------

ID_TAILS = [
    ("请问您的身份证号码后四位是否为3210？", "zh-CN",
     "请问您的身份证号码后四位是否 wei2 三二一零？"),
    ("尾号是否为6789", "zh-CN", "尾号是否 wei2 六七八九"),
    ("后四位是否是3210", "zh-CN", "后四位是否是 三二一零"),
    ("证件号码后六位是不是123456", "zh-CN", "证件号码后六位是 bu2 是 一二三四五六"),
    ("本人身份证号码以8888结尾。", "zh-CN", "本人身份证号码以 八八八八 结尾。"),
    ("以1012结尾，对吗", "zh-CN", "以 一零一二 结尾，对吗"),
    ("证件号末尾数字是1234", "zh-CN", "证件号末尾数字是 一二三四"),
    ("身份证最后几位是1012吗", "zh-CN", "身份证最后几位是 一零一二 吗"),
    ("身份证号码后几位为1012", "zh-CN", "身份证号码后几位 wei2 一零一二"),
    ("请核对身份证号码后四位（1012）", "zh-CN", "请核对身份证号码后四位(一零一二)"),
    # quantities stay quantities
    ("以5%结尾的收益", "zh-CN", "以百分之五结尾的收益"),
    ("Does your ID number end in 3210?", "en", "Does your I D number end in three two one zero?"),
    ("Does your card number end in 2019?", "en",
     "Does your card number end in two zero one nine?"),
    ("Is the last four 3210?", "en", "Is the last four three two one zero?"),
    ("The last four are 3210.", "en", "The last four are three two one zero."),
    # a year after "end in" with no number named is a year
    ("The fund ended in 2023 with gains.", "en", "The fund ended in 2023 with gains."),
    ("The offer ends in 2025.", "en", "The offer ends in 2025."),
    ("It will end in 3 days.", "en", "It will end in 3 days."),
]


def test_typed_id_tails_are_read_digit_by_digit():
    assert _misread(ID_TAILS) == []


def test_the_check_is_quiet_on_typed_tails():
    for text, locale, _ in ID_TAILS:
        assert not [w for w in _warnings(text, locale) if "digit" in w], text


@needs_espeak
def test_espeak_says_a_typed_tail_digit_by_digit():
    said = _espeak("请问您的身份证号码后四位是否为3210？")
    assert "tS;h'iE55n" not in said and "p'ai21" not in said, said  # no 千, no 百
    assert "l'i35N" in said, said  # 零
    said = _espeak("Does your ID number end in 3210?", "en")
    assert "T'aUz@nd" not in said and "z'i@roU" in said, said


# -- 2: a surname before a title or a role, and a name that opens a clause --------------------

SURNAMES = [
    ("由曾经理为您办理", "zh-CN", "由 zēng 经理为您办理"),
    ("单经理将为您服务", "zh-CN", "shàn 经理将为您服 wu4"),
    ("查经理为您讲解", "zh-CN", "zhā 经理为您讲解"),
    ("请找查老师", "zh-CN", "请找 zhā 老师"),
    ("区经理", "zh-CN", "ōu 经理"), ("华经理", "zh-CN", "huà 经理"),
    ("任经理", "zh-CN", "rén 经理"), ("请曾总签字", "zh-CN", "请 zēng 总签字"),
    ("曾强，请签字", "zh-CN", "zēng 强，请签字"),
    ("单田芳，请确认", "zh-CN", "shàn 田芳，请确认"),
    ("曾强将为您办理开户业务", "zh-CN", "zēng 强将为您办理开户业 wu4"),
    ("您好，曾强将为您服务", "zh-CN", "您好，zēng 强将为您服 wu4"),
    ("请问是否为解晓东本人？", "zh-CN", "请问是否 wei2 xiè 晓东本人？"),
    # words stay words
    ("我曾经在这里", "zh-CN", "我曾经在这里"), ("曾经理财", "zh-CN", "曾经理财"),
    ("单独办理", "zh-CN", "单独办理"), ("单独，请", "zh-CN", "单独，请"),
    ("查询余额", "zh-CN", "查询余额"), ("中华经理人", "zh-CN", "中华经理人"),
    ("任何经理", "zh-CN", "任何经理"), ("单位将为您服务", "zh-CN", "单位将为您服 wu4"),
    ("那经理为您服务", "zh-CN", "那经理为您服 wu4"),  # "that manager"
    ("请查经理审批记录", "zh-CN", "请查经理审批记录"),  # "please check"
    ("由查经理为您讲解", "zh-CN", "由 zhā 经理为您讲解"),
    ("曾经，请", "zh-CN", "曾经，请"),
]


def test_surnames_before_titles_and_names_opening_a_clause():
    assert _misread(SURNAMES) == []


@needs_espeak
def test_espeak_says_the_surname_before_a_title():
    said = _espeak("由曾经理为您办理")
    assert "ts'@55N" in said and "tsh'@35N" not in said, said  # zēng, not céng
    assert "tsh'@35N" in _espeak("曾经理财")  # céng jīng
    said = _espeak("单经理将为您服务")
    assert "s.'a51n" in said and "t'a55n" not in said, said  # shàn, not dān
    assert "ts.'A55" in _espeak("查老师")  # zhā, not chá
    assert "'ou55" in _espeak("区经理")  # ōu, not qū


# -- 3: 我行, "our bank" ------------------------------------------------------------------------

OUR_BANK = [
    ("我行将为您提供专业服务", "zh-CN", "我 hang2 将为您提供专业服 wu4"),
    ("我行提供理财服务", "zh-CN", "我 hang2 提供理财服 wu4"),
    ("本行将于明日起调整费率", "zh-CN", "本 hang2 将于明日起 tiao2 整费率"),
    ("我行我素", "zh-CN", "我行我素"),
    ("任我行先生", "zh-CN", "rén 我行先生"),  # a name: 行 xíng
]


def test_our_bank_is_hang():
    assert _misread(OUR_BANK) == []


@needs_espeak
def test_espeak_says_our_bank_hang_and_the_name_xing():
    assert "w'o21X'a35N" in _espeak("我行将为您提供专业服务")
    said = _espeak("任我行先生")
    assert "S;'i35N" in said and "X'a35N" not in said, said


# -- 4: a service number with menu choices after hyphens ---------------------------------------

MENUS = [
    ("请拨打95551-1-2转人工服务", "zh-CN", "请拨打 九五五五一 转 一 转 二 转人工服 wu4"),
    ("客服电话：95588-1", "zh-CN", "客服电话：九五五八八 转 一"),
    ("拨打4008208820-3", "zh-CN", "拨打 四零零八二零八八二零 转 三"),
    ("Please call 95551-1-2.", "en", "Please call nine five five five one, then one, then two."),
    ("Call 95588-1 for service.", "en", "Call nine five five eight eight, then one for service."),
    # a range of two numbers stays a range
    ("3-5个工作日", "zh-CN", "三到五个工作日"),
]


def test_service_numbers_with_menu_choices():
    assert _misread(MENUS) == []


@needs_espeak
def test_espeak_says_menu_choices_without_a_minus_or_a_range():
    said = _espeak("请拨打95551-1-2转人工服务")
    assert "f'u51" not in said and "t'Au51" not in said, said  # no 负, no 到
    said = _espeak("Please call 95551-1-2.", "en")
    assert "t@" not in said and "tu:" not in said, said  # no "to"


# -- 5: English ranges, year-months, AM / PM ------------------------------------------------------

EN_RANGES = [
    ("Office hours are 9am-5pm", "en", "Office hours are nine AM to five PM"),
    ("Open 9 a.m.–5 p.m.", "en", "Open nine AM to five PM."),
    ("From Jan 1-Mar 31.", "en", "From January 1 to March 31."),
    ("The reporting period is Jan 1, 2023 - Dec 31, 2023.", "en",
     "The reporting period is January 1, 2023 to December 31, 2023."),
    ("As of 2024-12.", "en", "As of December 2024."),
    ("at 9:30 a.m. today", "en", "at nine thirty AM today"),
    ("Lunch break: noon-1pm.", "en", "Lunch break: noon to one PM."),
    # the dot of a.m. ends the sentence before a word that opens one, not before a place
    ("Trading starts at 9:30 a.m. Some products differ.", "en",
     "Trading starts at nine thirty AM. Some products differ."),
    ("until 5:00 p.m. Beijing time", "en", "until five PM Beijing time"),
]


def test_english_ranges_and_year_months():
    assert _misread(EN_RANGES) == []


@needs_espeak
def test_espeak_says_am_as_letters_and_the_range_with_to():
    said = _espeak("Office hours are 9am-5pm", "en")
    assert "eI'Em" in said and "a#'Em" not in said and "t@" in said, said


# -- 6: Chinese month.day dates and two-digit-year dates ------------------------------------------

ZH_DATES = [
    ("12.31前完成", "zh-CN", "十二月三十一日前完成"),
    ("1.1起执行", "zh-CN", "一月一日起执行"),
    ("请于6.30之前提交", "zh-CN", "请于六月三十日之前提交"),
    ("3.15消费者权益日", "zh-CN", "三一五消费者权益日"),
    ("截至24/12/31", "zh-CN", "截至二四年十二月三十一日"),
    # a rate or a price stays a number
    ("利率3.5起", "zh-CN", "利率三点五起"),
    ("收益率1.5以后", "zh-CN", "收益率一点五以后"),
]


def test_chinese_dotted_and_short_year_dates():
    assert _misread(ZH_DATES) == []


def test_the_check_is_quiet_on_dates_read_as_dates():
    assert not [w for w in _warnings("12.31前完成") if "date" in w]
    assert [w for w in _warnings("利率3.5起") if "date" in w]


@needs_espeak
def test_espeak_says_the_dotted_date_with_month_and_day():
    said = _espeak("12.31前完成")
    assert "'yE51" in said and "t'iE21n" not in said, said  # 月, no 点


# -- 8: English units ------------------------------------------------------------------------------

EN_UNITS = [
    ("The 10-yr government bond yield", "en", "The ten-year government bond yield"),
    ("Assets of 1.2M yuan", "en", "Assets of 1.2 million yuan"),
]


def test_english_units():
    assert _misread(EN_UNITS) == []


@needs_espeak
def test_espeak_says_ten_year_and_million():
    said = _espeak("The 10-yr government bond yield", "en")
    assert "t'Enj'i@" in said, said
    said = _espeak("Assets of 1.2M yuan", "en")
    assert "m'Ili@n" in said, said


# -- 7: names in the English flow -----------------------------------------------------------------

def _named(template: str, name: str, locale: str = "en") -> str:
    return speakable(fill_template(template, {"name": name}, locale), locale)


EN_NAMES = [  # {name} in an English prompt
    ("Maria Li", "Hello Maria Lee."), ("Ng Wai Kit", "Hello Ung Wai Kit."),
    ("NG WAI KIT", "Hello Ung Wai Kit."),
    ("單雄信", "Hello Shahn Shee-yoong-sheen."),  # traditional 單 as 单: shàn
    ("单雄信", "Hello Shahn Shee-yoong-sheen."),
    # left: not pinyin, or pinyin English says near enough
    ("Lee Ming", "Hello Lee Ming."), ("JOHN SMITH", "Hello John Smith."),
    ("Maria Wang", "Hello Maria Wang."),
]


@pytest.mark.parametrize(("name", "spoken"), EN_NAMES)
def test_names_in_the_english_flow(name, spoken):
    assert _named("Hello {name}.", name) == spoken


NG_IN_TEXT = [
    ("Ms. Ng will call you.", "en", "Miz Ung will call you."),
    ("Mr NG Wai Kit", "en", "Mr Ung Wai Kit"),
    ("NG means no good.", "en", "N G means no good."),  # capitals with no title: an acronym
]


def test_the_surname_ng_in_english_text():
    assert _misread(NG_IN_TEXT) == []


@needs_espeak
def test_espeak_says_ng_lee_and_shan():
    said = _espeak_said(_named("Hello {name}.", "Ng Wai Kit"), "en")
    assert "'VN" in said and "dZ'i:" not in said, said  # Ung, not the letters N G
    said = _espeak_said(_named("Hello {name}.", "Maria Li"), "en")
    assert "l'i:" in said and "l'aI" not in said, said  # Lee, not "lie"
    said = _espeak_said(_named("Hello {name}.", "單雄信"), "en")
    assert "S'A:n" in said and "d'A:n" not in said, said  # Shan, not Dahn


# -- 9: the speech check: false alarms gone, a missed class warned ---------------------------

QUIET = [  # read right already: no warning
    ("资金账户为10086001234", "zh-CN"), ("股票代码如688981", "zh-CN"),
    ("科创板股票代码以688开头，如688981。", "zh-CN"),
    ("交易密码不得为123456", "zh-CN"), ("QQ号12345678", "zh-CN"), ("请拨打12306", "zh-CN"),
    ("请拨打95551-1-2转人工服务", "zh-CN"), ("7*24小时服务", "zh-CN"),
    ("Stock 600519 rose.", "en"), ("Your order #12345 is ready.", "en"),
    ("Dial 95588 for help.", "en"), ("Please call 95551-1-2.", "en"),
    ("Bonds, stocks, etc. are listed.", "en"), ("A 3-for-1 split.", "en"),
    ("The Nasdaq-100 index.", "en"), ("Office hours are 9am-5pm", "en"),
]


@pytest.mark.parametrize(("text", "locale"), QUIET)
def test_no_false_alarm(text, locale):
    assert _warnings("单先生，请坐。") == []  # a surname with 先生 was read, and is not warned
    assert _warnings(text, locale) == []


def test_the_check_still_warns_an_unnamed_digit_run():
    assert [w for w in _warnings("We had 123456 visitors.", "en") if "digits" in w]
    assert [w for w in _warnings("共计123456", "zh-CN") if "digits" in w]
    assert [w for w in _warnings("利率3.5起") if "date" in w]  # a number, not a date


def test_the_check_warns_a_pinyin_name_written_into_english_text():
    for text, name in (("Ms. Wang Fang will call.", "Wang Fang"),
                       ("Mr. Shan, please confirm.", "Shan")):
        found = [w for w in _warnings(text, "en") if "{name}" in w]
        assert len(found) == 1 and found[0].startswith(name), (text, found)
    # respelt for the voice (Chun Shee-yow, Jahng), or no pinyin: not warned
    for text in ("Dear Chen Xiao, welcome.", "Mr Zhang, please look at the camera.",
                 "Dear Qiu Ying, your account is ready.",
                 "Dear Customer, welcome.", "Mr. Smith will call.", "Dear Sir or Madam"):
        assert not [w for w in _warnings(text, "en") if "{name}" in w], text
