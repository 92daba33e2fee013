"""#15, tester round thirteen: credit ratings, polyphones of broker texts, 两 and 二, dates and
times, English addresses and pinyin names, and the speech check's false alarms, each as a
class (written → spoken), with espeak-ng's phonemes checked for each class. (A file of its
own, next to test_guide_normalise.py and its round-seven to round-twelve siblings.)"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import kiosk.guide.normalise as normalise
from kiosk.cli import main as cli
from kiosk.guide.normalise import NORMALISER_VERSION
from tests.guide_rows import espeak_written as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak
from tests.guide_rows import warnings as _warnings


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/30"  # bumped by round twenty-seven


# -- 1: credit ratings ----------------------------------------------------------------------

RATINGS = [
    ("该债券信用评级为AA-。", "zh-CN", "该债券信用评级 wei2 A A 减。"),
    ("发行人评级BBB-，展望稳定。", "zh-CN", "发行人评级 B B B 减，展望稳定。"),
    ("主体评级AA+，债项评级AAA。", "zh-CN", "主体评级 A A 加，债项评级 A A A。"),
    ("信用评级AA-及以上的债券", "zh-CN", "信用评级 A A 减 及以上的债券"),
    ("评级为AAA+或A-", "zh-CN", "评级 wei2 A A A 加 或 A 减"),
    ("评级A+、AA-、AA", "zh-CN", "评级 A 加、 A A 减、 A A"),
    ("信用等级AA-至AAA", "zh-CN", "信用等级 A A 减 至 A A A"),
    ("信用等级ＡＡ－的产品", "zh-CN", "信用等级 A A 减 的产品"),
    ("The bond is rated A-.", "en", "The bond is rated eh minus."),
    ("rated AA- by S&P", "en", "rated double eh minus by S and P"),
    ("an issuer rating of BBB-", "en", "an issuer rating of triple B minus"),
    ("ratings of A+ or above", "en", "ratings of eh plus or above"),
    ("AA-, A+, BBB-, AAA+", "en", "double eh minus, eh plus, triple B minus, triple eh plus"),
    ("rated AA- to AAA", "en", "rated double eh minus to triple eh"),
    ("CCC+ is junk.", "en", "triple C plus is junk."),
    # short-term ratings, in a sentence of ratings
    ("短期融资券信用评级A-1+", "zh-CN", "短期融资券信用评级 A 一 加"),
    ("评级为A-1级", "zh-CN", "评级 wei2 A 一 级"),
    ("rated A-1+ by S&P", "en", "rated eh one plus by S and P"),
]

NOT_RATINGS = [
    ("A+H股上市，A股和B股，B+轮融资。", "zh-CN", "A加H股上市，A股和B股，B加轮融资。"),
    ("本产品风险等级R3-R4。", "zh-CN", "本产品风险等级 R 三 到 R 四。"),
    ("ABC-12345，AA-1，C++", "zh-CN", "A B C 一二三四五， A A 一，C加加"),
    ("A rating of AA is good. A fee applies.", "en", "A rating of double eh is good. A fee "
     "applies."),
    ("The AA meeting, AAA batteries.", "en", "The eh eh meeting, eh eh eh batteries."),
]


def test_credit_ratings_are_said_with_their_notch():
    assert _misread(RATINGS) == []


def test_letters_and_signs_that_are_no_rating_stay_as_before():
    assert _misread(NOT_RATINGS) == []


@needs_espeak
def test_espeak_says_the_notch_of_a_rating():
    # 减 jiǎn after the letters (tS;'iE214n / 21n), never nothing; "minus" in English.
    for text in ("该债券信用评级为AA-。", "评级为AAA+或A-"):
        said = _espeak(text)
        assert said.count("'ei51") >= 2 and "tS;'iE2" in said, said
    assert "tS;'iA55" in _espeak("评级为AAA+或A-")  # 加 jiā
    said = _espeak("rated AA- by S&P", "en")
    assert "d'Vb@L'eIm'aIn@s" in said, said
    assert "tr'Ip@Lb'i:m'aIn@s" in _espeak("an issuer rating of BBB-", "en")


# -- 2: polyphones of broker texts -----------------------------------------------------------

POLYPHONES = [
    # 重 "again" before a verb: chóng
    ("请重置密码", "zh-CN", "请 chong2 置密码"),
    ("如需变更，请重签协议。", "zh-CN", "如需变 geng1，请 chong2 签协议。"),
    ("请重做风险测评", "zh-CN", "请 chong2 做风险测评"),
    ("资产重估", "zh-CN", "资产 chong2 估"),
    ("网络异常，请重试。", "zh-CN", "网络异常，请 chong2 试。"),
    # ... not where 重 ends a word or the verb starts one, nor 重 of weight
    ("注重投资者教育", "zh-CN", "注重投资者教育"),
    ("隆重签约", "zh-CN", "隆重签约"),
    ("比重开始上升", "zh-CN", "比重开始上升"),
    ("权重设定", "zh-CN", "权重设定"),
    ("重仓股和重大事项，重罚", "zh-CN", "重仓股和重大事项，重罚"),
    # 差 of a spread: chā; 轧差 gá chā
    ("本合约的买卖价差较大。", "zh-CN", "本合约的买卖价 cha1 较大。"),
    ("利差收窄，基差扩大，点差和息差", "zh-CN", "利 cha1 收窄，基 cha1 扩大，点 cha1 和 xi1 cha1"),
    ("贸易逆差", "zh-CN", "贸易逆 cha1"),
    ("日终轧差后结算", "zh-CN", "日终 ga2 cha1 后结算"),
    ("收益较差，差不多", "zh-CN", "收益较差，差不多"),
    # 当日 the same day: dàng rì
    ("申购当日确认，当日有效。", "zh-CN", "申购 dang4 日确认， dang4 日有效。"),
    ("应当日内完成", "zh-CN", "应当日内完成"),
]


def test_polyphones_of_broker_texts():
    assert _misread(POLYPHONES) == []


@needs_espeak
def test_espeak_says_the_polyphones_as_meant():
    said = _espeak("请重置密码")
    assert "ts.h'ong35" in said and "ts.'ong51" not in said, said  # chóng, not zhòng
    said = _espeak("本合约的买卖价差较大。")
    assert "tS;'iA51ts.h'A55" in said, said  # jià chā, not chà
    assert "k'A35ts.h'A55" in _espeak("日终轧差后结算")  # gá chā
    assert "t'a51Nz.'i.51" in _espeak("申购当日确认")  # dàng rì
    assert "ts.'ong51" in _espeak("注重投资者教育")  # zhù zhòng kept


# -- 3: 两 and 二 ------------------------------------------------------------------------------

LIANG = [
    ("资金将在2个工作日内到账。", "zh-CN", "资金将在两个工作日内到账。"),
    ("最多2倍，2万元起投，请2位见证人签字。", "zh-CN",
     "最多两倍，两万元起投，请两位见证人签字。"),
    ("2000元，2亿元，2千万", "zh-CN", "两千元，两亿元，两千万"),
    ("等待2秒钟，打2折，共2轮、2批、2户、2人", "zh-CN",
     "等待两秒钟，打两折，共两轮、两批、两户、两人"),
    ("2-3个交易日", "zh-CN", "两到三个交易日"),
    ("2到3年，2或3天，2~3天", "zh-CN", "两到三年，两或三天，两到三天"),
    # 二 in ordinals, ranks, categories, dates, decimals and numbers ending in 2
    ("第2期，二级市场2级，2类，2季度，2月", "zh-CN", "第二期，二级市场二级，二类，二季度，二月"),
    ("费率0.2%，2.5倍，共12个月，22个", "zh-CN",
     "费率百分之零点二，二点五倍，共十二个月，二十二个"),
    ("T+2日，第2到3年，2至3月", "zh-CN", "T加二日，第二到三年，二至三月"),
    ("2元人民币", "zh-CN", "两元人民币"),
    ("200元", "zh-CN", "二百元"),
]


def test_liang_before_a_measure_word_er_elsewhere():
    assert _misread(LIANG) == []


@needs_espeak
def test_espeak_says_liang_and_er():
    said = _espeak("2-3个交易日")
    assert said.startswith("l'iA21"), said  # liǎng
    said = _espeak("等待2秒钟")
    assert "l'iA35N" in said and "'@r51" not in said, said  # liǎng, in sandhi before miǎo
    assert "'@r51" in _espeak("第2期")  # èr


# -- 4: dates and times ------------------------------------------------------------------------

DATES = [
    ("交易日期20251231，请核对。", "zh-CN", "交易日期二〇二五年十二月三十一日，请核对。"),
    ("到期日：20260630", "zh-CN", "到期日：二〇二六年六月三十日"),
    ("到期日20261301", "zh-CN", "到期日二零二六一三零一"),  # no month 13: digits, as before
    ("订单号20251231", "zh-CN", "订单号 二零二五一二三一"),  # no word of a date: an identifier
    ("2025年12月31日15:00前完成。", "zh-CN", "二〇二五年十二月三十一日十五点前完成。"),
    ("T日15:00前申购", "zh-CN", "T日十五点前申购"),
    ("Dates: 20251231", "en", "Dates: December 31, 2025"),
    ("Orders placed after 3pm are processed the next day.", "en",
     "Orders placed after three PM are processed the next day."),
    ("The market closes at 4 PM.", "en", "The market closes at four PM."),
    ("Pay by 5 P.M. Then go.", "en", "Pay by five PM. Then go."),
    ("Deadline: 9.30am, Wednesday", "en", "Deadline: nine thirty AM, Wednesday"),
    ("It is 1.05 pm", "en", "It is one oh five PM"),
    ("Valid until Wed, Dec 31.", "en", "Valid until Wednesday, December 31."),
    ("Sat 5 Jan", "en", "Saturday the fifth of January"),
    ("open Mon-Fri, 9:00-17:00", "en", "open Monday to Friday, nine AM to five PM"),
    ("1.5m people, Thu 3 shares", "en", "1.5m people, Thu 3 shares"),
]


def test_dates_and_times_the_earlier_rounds_left():
    assert _misread(DATES) == []


def test_a_compact_date_is_not_warned_as_a_guess():
    assert _warnings("交易日期20251231，请核对。") == []
    assert _warnings("Dates: 20251231", "en") == []
    assert _warnings("Orders placed after 3pm are processed.", "en") == []


@needs_espeak
def test_espeak_says_the_dates_and_times():
    said = _espeak("交易日期20251231")
    assert "n'iE35n" in said and "'yE51" in said and "z.'i.51" in said, said  # 年 月 日
    said = _espeak("Deadline: 9.30am", "en")
    assert "n'aInT'3:t" in said and "pOInt" not in said, said  # nine thirty, not nine point
    assert "w'EnzdeI" in _espeak("Valid until Wed, Dec 31.", "en")


# -- 5: English addresses and pinyin names ---------------------------------------------------

# (speakable/18: the pinyin of these rows is respelt for the English voice: Xicheng
# Shee-chung, Liu Lee-yoh; round thirteen expected it left as written, which espeak misreads.)
ADDRESSES_AND_NAMES = [
    ("Room 1203, No. 88 Century Ave, Pudong, Shanghai 200120", "en",
     "Room twelve oh three, number eighty eight Century Avenue, Pudong, Shanghai two zero zero "
     "one two zero"),
    ("Unit 2306, 1 Jinrong St, Xicheng District, Beijing 100033, PRC", "en",
     "Unit twenty three oh six, one Jeen-roong Street, Shee-chung District, Beijing one zero zero "
     "zero three three, P R C"),
    ("Postcode: 200120. Zip code 10001.", "en",
     "Postcode: two zero zero one two zero. Zip code one zero zero zero one."),
    ("Building 3, Lane 1500, Xinjinqiao Rd", "en",
     "Building 3, Lane fifteen hundred, Sheen-jeen-chee-yow Road"),
    ("Ms. GAO will call you.", "en", "Miz Gau will call you."),
    ("Contact Mr. LIU or Ms. LI", "en", "Contact Mr. Lee-yoh or Miz Lee"),
    ("The ZHANG family trust", "en", "The Jahng family trust"),
    ("Your manager is XU Jing and your witness is QIAN Lei.", "en",
     "Your manager is Shoo Jing and your witness is Chee-yen Lay."),
    ("Our office on Xi Jinping Rd.", "en", "Our office on Shee Jeen-ping Road."),
    # not an address or a name
    ("Visit St Paul, the Ave Maria", "en", "Visit St Paul, the Ave Maria"),
    ("buy 200120 shares", "en", "buy 200120 shares"),
    ("the MAO rule", "en", "the M eh O rule"),
]


def test_english_addresses_and_pinyin_names():
    assert _misread(ADDRESSES_AND_NAMES) == []


def test_a_postcode_is_not_warned_as_a_guess():
    assert _warnings("Room 1203, 88 Century Ave, Shanghai 200120, China", "en") == []
    assert _warnings("Postcode: 200120.", "en") == []


@needs_espeak
def test_espeak_says_addresses_and_names():
    said = _espeak("Ms. GAO will call you.", "en")
    assert "g'aU" in said and "dZ'i:" not in said, said  # Gao, not G-A-O
    said = _espeak("Room 1203, No. 88 Century Ave, Pudong, Shanghai 200120", "en")
    assert "tw'Elv'oUTr'i:" in said and "'av@n" in said, said  # twelve oh three; Avenue
    assert "T'aUz@nd" not in said, said


# -- 618, G20, K12, 2FA ----------------------------------------------------------------------

DIGIT_NAMES = [
    ("618大促期间，G20峰会，K12教育，请开启2FA。", "zh-CN",
     "六一八大促期间， ji1 二十 峰会， K十二 教育，请开启 二 F A。"),
    ("During the 618 sale, the G20 summit, K12 education, enable 2FA.", "en",
     "During the six eighteen sale, the G twenty summit, K twelve education, enable two F eh."),
    ("G7峰会", "zh-CN", "ji1 七 峰会"),
    ("the G8 and G7", "en", "the G eight and G seven"),
    # 618 as an amount or digits, G12 as a code: as before
    ("我有618元，尾号618", "zh-CN", "我有六百一十八元，尾号 六一八"),
    ("G12", "zh-CN", "ji1 一二"),
]


def test_618_g20_k12_2fa():
    assert _misread(DIGIT_NAMES) == []


@needs_espeak
def test_espeak_says_618_g20_k12_2fa():
    said = _espeak("618大促期间，G20峰会，K12教育")
    assert said.startswith("l'iou51j'i55p'A55"), said  # liù yī bā
    assert "'@r51s.'i.35" in said and "kh'ei51s.'i.35'@r51" in said, said  # 二十, K 十二
    said = _espeak("the G20 summit, enable 2FA", "en")
    assert "dZ'i:tw'Enti" in said and "t'u:'Ef'eI" in said, said


# -- 6: the check's false alarms and its advice -----------------------------------------------

BROKER_FLOW = """\
id: broker_texts
version: 1
title: {zh-CN: 债券产品见证, en: Bond product witness}
locales: [zh-CN, en]
steps:
  - id: rating
    kind: say
    text:
      zh-CN: "本债券发行人主体信用评级为AA+，债项评级AA-；如评级下调至BBB-，本产品可能提前终止。"
      en: "The issuer is rated AA+ and the notes AA-; if the rating falls to BBB-,
        the product may be redeemed early."
  - id: spread
    kind: say
    text:
      zh-CN: "本产品的收益与利差、基差相关，买卖价差较大时请谨慎交易；日终轧差后结算。"
      en: "Returns depend on credit spreads; wide bid-ask spreads raise costs."
  - id: dates
    kind: say
    text:
      zh-CN: "认购期至2025年12月31日15:00，成立日期20260105，资金将在2个工作日内到账。"
      en: "The offer runs to 31 December 2025, 3pm Beijing time; trading hours are
        9.30am to 11.30am, Mon-Fri. Value date: 20260105."
  - id: contact
    kind: say
    text:
      zh-CN: "如需重置密码，请联系客户经理，客服电话95588。"
      en: "Contact Ms. GAO at Room 1203, No. 88 Century Ave, Pudong, Shanghai 200120.
        Postcode: 200120."
  - id: security
    kind: say
    text:
      zh-CN: "请开启2FA；618大促期间交易量较大，K12教育类基金除外。"
      en: "Enable 2FA; the 618 sale and the G20 summit may move markets."
"""


def _round_thirteen_off(monkeypatch):
    """The normaliser without the round-thirteen rules: the report's classes as they were."""
    monkeypatch.setattr(normalise, "_round_thirteen_early", lambda t, zh: t)
    monkeypatch.setattr(normalise, "_zh_round_thirteen", lambda t: t)
    monkeypatch.setattr(normalise, "_en_round_thirteen", lambda t: t)
    monkeypatch.setattr(normalise, "_round_thirteen_spans", lambda t, zh: set())


def test_realistic_broker_texts_pass_the_check(tmp_path):
    path = tmp_path / "broker_texts.yaml"
    path.write_text(BROKER_FLOW, encoding="utf-8")
    r = CliRunner().invoke(cli, ["flows", "check", str(path)])
    assert r.exit_code == 0 and "warning" not in r.output, r.output


def test_the_check_warned_falsely_and_missed_the_ratings_without_the_rules(monkeypatch, tmp_path):
    _round_thirteen_off(monkeypatch)
    path = tmp_path / "broker_texts.yaml"
    path.write_text(BROKER_FLOW, encoding="utf-8")
    r = CliRunner().invoke(cli, ["flows", "check", str(path)])
    lines = [line for line in r.output.splitlines() if ": warning: " in line]
    # every warning names file:line:col
    assert lines and all(line.startswith(f"{path}:") and line.split(":")[1].isdigit() and
                         line.split(":")[2].isdigit() for line in lines), r.output
    # a rating's minus left unsaid is now warned by the net, where it was silent
    assert any("AA-: the sign after the letters is not said" in line for line in lines), r.output
    # the eight digits of a date: with how to write it
    assert any("for a date write 2026年1月5日" in line for line in lines), r.output


def test_the_net_warns_a_sign_left_after_letters(monkeypatch):
    _round_thirteen_off(monkeypatch)
    (msg,) = _warnings("该债券信用评级为AA-。")
    assert msg.startswith("AA-: the sign after the letters is not said") and "A A -" in msg
    assert _warnings("rated A-.", "en")


@pytest.mark.parametrize(("written", "locale"), [
    ("pre- and post-trade", "en"), ("A-B股", "zh-CN"), ("该债券信用评级为AA-。", "zh-CN"),
    ("rated AA- by S&P", "en"), ("Orders after 3pm", "en"), ("at 9.30am", "en"),
    ("Shanghai 200120, China", "en"), ("交易日期20251231", "zh-CN"),
])
def test_the_check_spares_what_is_read_right(written, locale):
    assert _warnings(written, locale) == []


def test_a_date_in_eight_digits_with_no_cue_is_warned_with_how_to_write_it():
    (msg,) = _warnings("请于20260105前付款")
    assert msg.endswith("for a date write 2026年1月5日, or put 日期 before it")
    (msg,) = _warnings("pay by 20260105", "en")
    assert msg.endswith("for a date write January 5, 2026, or put 'date' before it")


@needs_espeak
def test_espeak_says_the_net_s_example_right_with_the_rules():
    # the text the net warned about without the rules is said with its notch with them
    assert "tS;'iE2" in _espeak("该债券信用评级为AA-。")


def test_the_new_rules_leave_their_look_alikes():
    rows = [
        ("公司盈利差，收益比预期差", "zh-CN", "公司盈利差，收益比预期差"),
        ("选项2支持，步骤2组合，2单元", "zh-CN", "选项二支持，步骤二组合，二单元"),
    ]
    assert _misread(rows) == []
