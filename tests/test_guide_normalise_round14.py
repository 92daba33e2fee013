"""#15, tester round fourteen: pinyin in English prompts (the applicant's name above all),
surname readings of names typed in Mandarin greetings, month/day dates, firm and city names,
and the speech check's false alarm on English number-adjectives, each as a class
(written → spoken), with espeak-ng's phonemes checked for each class."""

from __future__ import annotations

import pytest

from kiosk.flows.model import fill_template
from kiosk.guide.en_pinyin import en_pinyin_word, en_syllable, looks_pinyin
from kiosk.guide.normalise import NORMALISER_VERSION, speakable
from kiosk.speech.textnorm import _pinyin_syllables
from tests.guide_rows import espeak_said as _espeak_said
from tests.guide_rows import espeak_written as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak
from tests.guide_rows import warnings as _warnings


def _named(template: str, name: str, locale: str = "en") -> str:
    return speakable(fill_template(template, {"name": name}, locale), locale)


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/30"  # bumped by round twenty-seven


# -- E1: pinyin in English prompts ----------------------------------------------------------

NAMES = [  # {name} in an English prompt
    ("李娜", "Hello Lee Nah."), ("谢晓明", "Hello Shee-yeh Shee-yow-ming."),
    ("邱莹", "Hello Chee-yoh Ying."), ("蔡文", "Hello Tsai Wun."),
    ("魏强", "Hello Way Chee-yahng."),
    ("王小明", "Hello Wahng Shee-yow-ming."), ("何伟", "Hello Huh Way."),
    ("曾国藩", "Hello Zung Gwaw-fahn."), ("欧阳娜娜", "Hello Oh-yahng Nah-nah."),
    ("上官婉儿", "Hello Shahng-gwahn Wahn-ar."), ("吕波", "Hello Lee-yoo Baw."),
    ("Xie Xiaoming", "Hello Shee-yeh Shee-yow-ming."), ("QIU YING", "Hello Chee-yoh Ying."),
    ("LYU Bo", "Hello Lee-yoo Baw."),
    # a name not all pinyin is left as written
    ("JOHN SMITH", "Hello John Smith."), ("Lee Ming", "Hello Lee Ming."),
    ("Maria Li", "Hello Maria Lee."),  # the pinyin surname respelt (speakable/19)
]


@pytest.mark.parametrize(("name", "spoken"), NAMES)
def test_the_applicants_name_is_respelt_for_the_english_voice(name, spoken):
    assert _named("Hello {name}.", name) == spoken


def test_the_mandarin_name_is_unchanged():
    assert _named("您好，{name}。", "谢晓明", "zh-CN") == "您好， 谢晓明。"
    assert _named("您好，{name}。", "曾国藩", "zh-CN") == "您好， zēng 国藩。"


PINYIN_IN_TEXT = [
    ("Hello Ms. Li, please look at the camera.", "en",
     "Hello Miz Lee, please look at the camera."),
    ("Hello Mr. He, please look at the camera.", "en",
     "Hello Mr. Huh, please look at the camera."),
    ("He will call you.", "en", "He will call you."),  # the pronoun
    ("I, Wang Xiaoming, agree.", "en", "I, Wahng Shee-yow-ming, agree."),
    ("Dear Qiu Ying", "en", "Dear Chee-yoh Ying"), ("Dear Cai Wen", "en", "Dear Tsai Wun"),
    ("Customer: ZHANG Wei", "en", "Customer: Jahng Way"),
    ("The branch is in Xiamen, Fujian.", "en", "The branch is in Shee-yah-mun, Foo-jee-yen."),
    ("Huaxin Securities", "en", "Whah-sheen Securities"),
    ("Qianhai Asset Management", "en", "Chee-yen-hai Asset Management"),
    ("Suzhou and Qingdao", "en", "Soo-joh and Ching-dau"),
    # English words that parse as pinyin stay English; so do exonyms English says well
    ("Waiting for a taxi in Shanghai.", "en", "Waiting for a taxi in Shanghai."),
    ("Make sure the time is right. Julie will call.", "en",
     "Make sure the time is right. Julie will call."),
    ("Wang Ming, Chen Long", "en", "Wang Ming, Chen Long"),  # said near enough: left
]


def test_pinyin_words_in_english_texts():
    assert _misread(PINYIN_IN_TEXT) == []


def test_every_pinyin_syllable_has_a_spelling():
    for syllable in _pinyin_syllables():
        said = en_syllable(syllable)
        assert said and said.replace("-", "").isascii(), syllable
    assert en_pinyin_word("Xi'an") == "Shee-ahn" and en_pinyin_word("Lee") is None
    assert not looks_pinyin("Maria") and not looks_pinyin("Waiting") and looks_pinyin("Xiamen")


@needs_espeak
def test_espeak_says_pinyin_names_as_mandarin():
    said = _espeak_said(_named("Hello {name}.", "李娜"), "en")
    assert "l'i:" in said and "l'aI" not in said, said  # Lee, not "lie"
    said = _espeak_said(_named("Hello {name}.", "谢晓明"), "en")
    assert "S'i:j'eI" in said and "S'i:j'aU" in said and "z'aI" not in said, said
    said = _espeak_said(_named("Hello {name}.", "邱莹"), "en")
    assert "tS'i:j'oU" in said and "k" not in said.split("h@l'oU")[-1], said  # not "kiu"
    said = _espeak_said(_named("Hello {name}.", "蔡文"), "en")
    assert "ts'aI" in said and "k'aI" not in said, said
    said = _espeak_said(speakable("The branch is in Xiamen.", "en"), "en")
    assert "S'i:j'A:" in said and "z'aI" not in said, said


# -- Z11 / Z10: a name typed into a greeting or an identity question --------------------------

GREETING_NAMES = [
    # the surname reading goes on the name's first character only (Z11)
    ("您好，刘德华先生。", "zh-CN", "您好，刘德华先生。"),
    ("尊敬的陈国华先生，您好。", "zh-CN", "尊敬的陈国华先生，您好。"),
    ("感谢张建华先生的配合。", "zh-CN", "感谢张建华先生的配合。"),
    ("请李华女士确认。", "zh-CN", "请李华女士确认。"),
    ("您好，王单先生。", "zh-CN", "您好，王单先生。"),
    ("您好，孙朴先生。", "zh-CN", "您好，孙朴先生。"),
    ("您好，周查先生。", "zh-CN", "您好，周查先生。"),
    ("请问您是区志华先生本人吗？", "zh-CN", "请问您是 ōu 志华先生本人吗？"),
    # a lone surname before 先生 keeps its reading, also after a word that ends in a surname
    ("您好，华先生。", "zh-CN", "您好，huà 先生。"), ("感谢华先生", "zh-CN", "感谢 huà 先生"),
    ("请曾先生确认", "zh-CN", "请 zēng 先生确认"),
    # after 您是 / 是 / 我是 / 我叫, before 先生本人 (Z10)
    ("请问您是朴成浩先生本人吗？", "zh-CN", "请问您是 piáo 成浩先生本人吗？"),
    ("请问您是单田芳先生吗？", "zh-CN", "请问您是 shàn 田芳先生吗？"),
    ("请问是曾国强先生吗？", "zh-CN", "请问是 zēng 国强先生吗？"),
    ("我是曾国强，身份证尾号为1234。", "zh-CN", "我是 zēng 国强，身份证尾号 wei2 一二三四。"),
    ("我叫查文斌。", "zh-CN", "我叫 zhā 文斌。"),
    ("您好，请问您是查文斌先生本人吗？", "zh-CN", "您好，请问您是 zhā 文斌先生本人吗？"),
    # no name
    ("这是单位先生", "zh-CN", "这是单位先生"), ("我是客户。", "zh-CN", "我是客户。"),
    ("本人是投资者。", "zh-CN", "本人是投资者。"),
]


def test_surname_readings_of_names_in_greetings():
    assert _misread(GREETING_NAMES) == []


@needs_espeak
def test_espeak_says_the_given_name_and_the_surname():
    said = _espeak("您好，刘德华先生。")
    assert "Xw'A35" in said and "Xw'A51" not in said, said  # 华 huá, not huà
    said = _espeak("您好，王单先生。")
    assert "t'a55n" in said and "s.'a51n" not in said, said  # 单 dān, not shàn
    said = _espeak("请问您是朴成浩先生本人吗？")
    assert "phj'Au35" in said, said  # 朴 piáo
    said = _espeak("我叫查文斌。")
    assert "ts.'A55" in said and "ts.h'A35" not in said, said  # 查 zhā, not chá


# -- Z1: month/day dates by their shape and the words of a period ------------------------------

MONTH_DAYS = [
    ("申购期：6/10-6/14，请留意。", "zh-CN", "申购期：六月十日到六月十四日，请留意。"),
    ("募集期为6/10至6/14。", "zh-CN", "募集期 wei2 六月十日至六月十四日。"),
    ("活动期间：5/1-5/31，欢迎参与。", "zh-CN",
     "活动期间：五月一日到五月三十一日， huan1 迎参 yu4。"),
    ("本次活动时间为4/1-4/30。", "zh-CN", "本次活动时间 wei2 四月一日到四月三十日。"),
    ("本产品3/1-3/31期间开放申购。", "zh-CN", "本产品三月一日到三月三十一日期间开放申购。"),
    ("本次回访时间：3/15。", "zh-CN", "本次回访时间：三月十五日。"),
    ("开放期为3.15-4.15。", "zh-CN", "开放期 wei2 三月十五日到四月十五日。"),
    # fractions and decimals stay
    ("约占1/2的份额", "zh-CN", "约占二分之一的份额"), ("3/4的份额", "zh-CN", "四分之三的份额"),
    ("收益率3.15%", "zh-CN", "收益率百分之三点一五"),
    ("利率3.15-4.15", "zh-CN", "利率三点一五到四点一五"),
    ("持仓1/4-1/2", "zh-CN", "持仓四分之一到二分之一"),
    ("仓位1/3-2/3", "zh-CN", "仓位三分之一到三分之二"),
    ("所需时间为1/2小时", "zh-CN", "所需时间 wei2 二分之一小时"),
    ("本期为1/2", "zh-CN", "本期 wei2 二分之一"),
    ("开放期为3.15%", "zh-CN", "开放期 wei2 百分之三点一五"),
]


def test_month_days_by_shape_and_period_words():
    assert _misread(MONTH_DAYS) == []
    assert _warnings("申购期：6/10-6/14，请留意。") == []
    assert _warnings("本次活动时间为4/1-4/30。") == []


@needs_espeak
def test_espeak_says_month_day_ranges_as_dates():
    said = _espeak("申购期：6/10-6/14，请留意。")
    assert "fEn55" not in said and "tsi55" not in said, said  # no 分之
    assert said.count("'yE51") == 2 and said.count("z.'i.51") == 2, said  # 月 and 日 twice


# -- Z12: firm and city names --------------------------------------------------------------

FIRMS = [
    ("东兴证券、中兴通讯、华兴资本", "zh-CN", "东 xing1 证券、中 xing1 通讯、华 xing1 资本"),
    ("甬兴证券", "zh-CN", "甬 xing1 证券"), ("兴证全球基金", "zh-CN", "xing1 证全球基金"),
    ("感谢您选择东兴证券。", "zh-CN", "感谢您选择东 xing1 证券。"),
    ("东莞证券", "zh-CN", "东 guan3 证券"), ("山东单县营业部", "zh-CN", "山东 shan4 县营业部"),
    # names espeak-ng already reads right, and 兴 of 高兴, 莞 of 莞尔, stay
    ("长江证券", "zh-CN", "长江证券"), ("华泰证券", "zh-CN", "华泰证券"),
    ("国泰君安证券", "zh-CN", "国泰君安证券"), ("易方达基金", "zh-CN", "易方达基金"),
    ("我很高兴", "zh-CN", "我很高兴"), ("莞尔一笑", "zh-CN", "莞\u200b尔一笑"),
    ("中国银行", "zh-CN", "中国银 hang2"),
]


def test_firm_and_city_names():
    assert _misread(FIRMS) == []


def test_the_broker_variable_gets_the_firms_reading():
    said = speakable(fill_template("欢迎使用{broker}单向视频见证。", {"broker": "东兴证券"},
                                   "zh-CN"), "zh-CN")
    assert "xing1" in said, said


@needs_espeak
def test_espeak_says_firm_and_city_names():
    said = _espeak("东兴证券")
    assert "S;'i55N" in said and "S;'i51N" not in said, said  # xīng, not xìng
    said = _espeak("东莞证券")
    assert "kw'a21n" in said and "w'A21n" not in said, said  # guǎn, not wǎn
    said = _espeak("山东单县营业部")
    assert "s.'a51n" in said and "t'a55n" not in said, said  # shàn, not dān


# -- kiosk flows check: English number-adjectives are no false alarm -------------------------

NUMBER_ADJECTIVES = ["The 1-day treasury reverse repo", "7-day annualized yield",
                     "The 3-month Shibor", "Enter your 6-digit PIN", "a 5-star rating"]


@pytest.mark.parametrize("text", NUMBER_ADJECTIVES)
def test_english_number_adjectives_are_not_warned(text):
    assert speakable(text, "en") == text.replace("PIN", "P I N")
    assert _warnings(text, "en") == []


def test_a_sign_left_is_still_warned():
    assert _warnings("the rate is 3 -", "en") != []


@needs_espeak
def test_espeak_says_number_adjectives():
    said = _espeak("7-day annualized yield", "en")
    assert "s'Ev@nd'eI" in said, said  # "seven day"
    said = _espeak("Enter your 6-digit PIN", "en")
    assert "s'Iksd'IdZIt" in said, said


# -- the smaller classes: Z3 Z5 Z7 Z8 Z9, E3 E4 ------------------------------------------------

SMALLER = [
    ("营业时间：周一-周五。", "zh-CN", "营业时间：周一至周五。"),  # Z5
    ("星期一~星期五", "zh-CN", "星期一至星期五"),
    ("营业部位于写字楼2层。", "zh-CN", "营业部位于写字楼二层。"),  # Z7
    ("2层楼", "zh-CN", "两层楼"), ("位于大厦12层", "zh-CN", "位于大厦十二层"),
    ("您的订单号为No.20250315001。", "zh-CN", "您的订单号 wei2 二零二五零三一五零零一。"),  # Z3
    ("微信号：htzq95597。", "zh-CN", "微信号：H T Z Q 九五五九七。"),
    ("您好，宓子贱先生。", "zh-CN", "您好，fú 子贱先生。"),  # Z8
    ("公司应收账款增加了20%。", "zh-CN", "公司应收账 kuan3 增加了百分之二十。"),  # Z9
    ("误差+/-10%", "zh-CN", "误 cha1 正负百分之十"),
    ("Tracking error: +/- 10%.", "en", "Tracking error: plus or minus 10%."),  # E3
    ("You may lose up to 1MM yuan.", "en", "You may lose up to 1 million yuan."),  # E4
    ("Your session will time out in 30s.", "en", "Your session will time out in 30 seconds."),
    # a decade is said as one since round eighteen (espeak said "nineteen hundred ninety z")
    ("in the 1990s", "en", "in the nineteen nineties"), ("in her 30s", "en", "in her 30s"),
]


def test_the_smaller_classes():
    assert _misread(SMALLER) == []
    assert _warnings("营业时间：周一-周五。") == []
    assert read_surname_of("宓子贱") == "fú"


def read_surname_of(name: str) -> str:
    return fill_template("{name}", {"name": name}, "zh-CN").strip().translate(
        {0xE000 + c: c for c in range(0x30, 0x250)}).split()[0]


@needs_espeak
def test_espeak_says_the_smaller_classes():
    said = _espeak("公司应收账款增加了20%。")
    assert "ts.'a51N" in said and said.count("khw'a") == 1, said  # 账款: no extra syllable
    said = _espeak("营业部位于写字楼2层。")
    assert "'@r51tsh'@35N" in said and "l'iA" not in said, said  # 二层 èr, not 两 liǎng
    said = _espeak("Tracking error: +/- 10%.", "en")
    assert "m'aIn@s" in said, said  # minus said
    said = _espeak("You may lose up to 1MM yuan.", "en")
    assert "m'Ili@n" in said and "m'Ilim" not in said, said


# -- Z6 / E2: a slash of a formula ------------------------------------------------------------

SLASHES = [
    ("年化收益=（期末资产-期初资产）/期初资产×365/天数×100%。", "zh-CN",
     "年化收益等于(期末资产减期初资产)除以期初资产乘以三百六十五除以天数乘以百分之一百。"),
    ("费用=金额×0.1%/天", "zh-CN", "费用等于金额乘以百分之零点一每天"),  # per day stays
    ("Interest is charged daily at 0.0219% (8% / 365).", "en",
     "Interest is charged daily at 0.0219% (8% divided by 365)."),
    ("three quarters: 3/4", "en", "three quarters: three quarters"),
    ("open 24/7", "en", "open twenty four seven"),
]


def test_formula_slashes():
    assert _misread(SLASHES) == []


@needs_espeak
def test_espeak_says_division():
    said = _espeak("Interest is charged daily at 0.0219% (8% / 365).", "en")
    assert "v'aIdI#dbaI" in said, said  # "divided by", not "or"
    said = _espeak("年化收益=收益/本金×365/天数")
    assert said.count("ts.h'u35") == 2, said  # 除以 twice: 365 除以天数, not 每天数


# -- Z2 / Z4: a word glued to a typed name; a Latin name in capitals before 先生 ----------------

TYPED_NAMES = [
    ("客户经理张强将为您办理业务。", "zh-CN", "客户经理张强将为您办理业 wu4。"),  # 将 jiāng
    ("客户经理曾强将为您办理业务。", "zh-CN", "客户经理 zēng 强将为您办理业 wu4。"),
    ("他是一员强将", "zh-CN", "他是 yi4 员强 jiang4"),  # a general: jiàng stays
    ("您好，JOHN SMITH先生。", "zh-CN", "您好， John Smith 先生。"),
    ("您好，LI Wei先生。", "zh-CN", "您好， li wei 先生。"),
    ("请联系ABC先生", "zh-CN", "请联系Abc先生"),  # one word: as before
]


def test_typed_names_in_mandarin():
    assert _misread(TYPED_NAMES) == []


@needs_espeak
def test_espeak_says_typed_names():
    said = _espeak("客户经理张强将为您办理业务。")
    assert "tS;'iA55Nw'ei51" in said and "tS;'iA51N" not in said, said  # 将 jiāng
    said = _espeak("您好，JOHN SMITH先生。")
    assert "dZ'0" in said and "'ei35ts.h" not in said, said  # John, not J O H N
