"""#15, tester round fifteen: a typed ID or card tail in the witness's question, surnames
before titles and roles, 我行 (our bank), extension numbers, English ranges and units, Chinese
month.day dates, names in the English flow, and the speech check's false alarms, each as a
class (written → spoken), with espeak-ng's phonemes checked for a sample of each class."""

from __future__ import annotations

from kiosk.guide.normalise import NORMALISER_VERSION
from tests.guide_rows import espeak_written as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak
from tests.guide_rows import warnings as _warnings


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/19"


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
    ("单经理将为您服务", "zh-CN", "shàn 经理将为您服务"),
    ("查经理为您讲解", "zh-CN", "zhā 经理为您讲解"),
    ("请找查老师", "zh-CN", "请找 zhā 老师"),
    ("区经理", "zh-CN", "ōu 经理"), ("华经理", "zh-CN", "huà 经理"),
    ("任经理", "zh-CN", "rén 经理"), ("请曾总签字", "zh-CN", "请 zēng 总签字"),
    ("曾强，请签字", "zh-CN", "zēng 强，请签字"),
    ("单田芳，请确认", "zh-CN", "shàn 田芳，请确认"),
    ("曾强将为您办理开户业务", "zh-CN", "zēng 强将为您办理开户业务"),
    ("请问是否为解晓东本人？", "zh-CN", "请问是否 wei2 xiè 晓东本人？"),
    # words stay words
    ("我曾经在这里", "zh-CN", "我曾经在这里"), ("曾经理财", "zh-CN", "曾经理财"),
    ("单独办理", "zh-CN", "单独办理"), ("单独，请", "zh-CN", "单独，请"),
    ("查询余额", "zh-CN", "查询余额"), ("中华经理人", "zh-CN", "中华经理人"),
    ("任何经理", "zh-CN", "任何经理"), ("单位将为您服务", "zh-CN", "单位将为您服务"),
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
    ("我行将为您提供专业服务", "zh-CN", "我 hang2 将为您提供专业服务"),
    ("我行提供理财服务", "zh-CN", "我 hang2 提供理财服务"),
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
