"""#15, tester round twenty: a surname read otherwise than usual after any job title (总经理曾志伟,
行长单明), pinyin staff names in English text (Wang Li, Cao Jie), Wade-Giles and Hong Kong name
spellings (Hsu, Hsieh, Ip, Chi), 朝阳 as a place (cháo), futures codes (IF, IM, TF), 为 before
准确 (wèi), and leftovers ((+86)-21-..., Apr.–Jun., w/, 3.5% x 90/365, ChiNext, REITs, 爱新觉罗),
each as a class (written → spoken), with espeak-ng's phonemes checked for a sample, and the
warnings `kiosk flows check` gives where the voice would still say it badly."""

from __future__ import annotations

import pytest

from kiosk.flows.model import fill_template
from kiosk.guide.normalise import NORMALISER_VERSION, speakable
from tests.guide_rows import espeak_said as _espeak_said
from tests.guide_rows import espeak_written as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak
from tests.guide_rows import warnings as _warnings


def _named(template: str, name: str, locale: str = "en") -> str:
    return speakable(fill_template(template, {"name": name}, locale), locale)


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/30"  # bumped by round twenty-seven


# -- 1: a surname read otherwise than usual after any job title ---------------------------------

TITLED = [
    ("总经理曾志伟将为您服务", "zh-CN", "总经理 zēng 志伟将为您服 wu4"),
    ("行长单明", "zh-CN", "hang2 zhang3 shàn 明"),
    ("理财顾问解晓东", "zh-CN", "理财顾问 xiè 晓东"),
    ("柜员区丽为您办理", "zh-CN", "柜员 ōu 丽为您办理"),
    ("销售经理朴敏", "zh-CN", "销售经理 piáo 敏"),
    ("营业部经理查建英，您好", "zh-CN", "营业部经理 zhā 建英，您好"),
    ("复核人员仇永强已确认", "zh-CN", "复核人员 qiú 永强已确认"),
    ("分析师单志鸣认为", "zh-CN", "分析师 shàn 志鸣认 wei2"),
    # the adverb 曾 (once), and words, keep their readings
    ("该经理曾多次提醒", "zh-CN", "该经理曾多次提醒"),
    ("顾问曾提醒您", "zh-CN", "顾问曾提醒您"),
    ("柜员曾经办理过", "zh-CN", "柜员曾经办理过"),
    ("行长解释说", "zh-CN", "hang2 zhang3 解释说"),
    ("经理曾任职于", "zh-CN", "经理曾任职于"),
]


@pytest.mark.parametrize("written,locale,expected", TITLED, ids=[r[0] for r in TITLED])
def test_a_surname_after_any_job_title(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 2: pinyin staff names in English text ------------------------------------------------------

EN_PINYIN = [
    ("Your advisor Wang Li will help.", "Your advisor Wahng Lee will help."),
    ("Cao Jie will call you.", "Tsau Jee-yeh will call you."),
    ("Guo Jing and Liu Yang", "Gwaw Jing and Lee-yoh Yahng"),
    ("Please contact Xu Jie or Tang Wei.", "Please contact Shoo Jee-yeh or Tang Way."),
    # an English word beside a name is left; a name after Dear is respelt whole
    ("Ben Liu", "Ben Lee-yoh"), ("He Li will help", "He Lee will help"),
    ("Dear LI Na, welcome.", "Dear Lee Nah, welcome."),
    ("Hong Kong", "Hong Kong"), ("Long Island", "Long Island"), ("Sun Life", "Sun Life"),
    # a one-word name after a staff role, as after Mr.
    ("Your teller Li will help.", "Your teller Lee will help."),
    ("Ask banker Cao.", "Ask banker Tsau."), ("The broker will call.", "The broker will call."),
    # English words that parse as pinyin of two syllables (pi-ne, la-ne, ju-ne) are no name
    ("Pine Lane", "Pine Lane"), ("June Tune", "June Tune"), ("Tie Line", "Tie Line"),
    ("Yao Ming", "Yow Ming"),
]


@pytest.mark.parametrize("written,expected", EN_PINYIN, ids=[r[0] for r in EN_PINYIN])
def test_pinyin_names_in_english_text(written, expected):
    assert speakable(written, "en") == expected


# -- 3: Wade-Giles and Hong Kong spellings ------------------------------------------------------

WADE_GILES = [
    ("Mr. Hsu", "Mr. Shoo"), ("Hsieh Ming said", "Shee-yeh Ming said"),
    ("Ms. Hsiao", "Miz Shee-yow"), ("Hsiao-mei Lin", "Shee-yow-mei Lin"),
    ("Mr. Ip", "Mr. Ipp"), ("Please call Ip Kwok Wai", "Please call Ipp Kwok Wai"),
    ("Mr. Chi", "Mr. Chee"), ("Lau Chi Wai", "Lau Chee Wai"), ("Mr. Ki", "Mr. Kee"),
    ("Mr. Tsang", "Mr. Tsang"), ("Ms. Ng", "Miz Ung"),
    # no name: the letters and the Greek letter stay
    ("IP address", "I P address"), ("Tai Chi", "Tai Chi"),
]


@pytest.mark.parametrize("written,expected", WADE_GILES, ids=[r[0] for r in WADE_GILES])
def test_wade_giles_and_hong_kong_names(written, expected):
    assert speakable(written, "en") == expected


@pytest.mark.parametrize(("name", "spoken"), [
    ("Hsu Wei", "Hello Shoo Way."), ("Ip Man", "Hello Ipp Man."),
    ("Chi Keung", "Hello Chee Keung."), ("Wang Chi", "Hello Wahng Chir."),
    ("爱新觉罗溥仪", "Hello Eye-sheen-joo-eh-loo-waw Poo-ee."),
    ("富察明轩", "Hello Foo-chah Ming-shoo-en."),
])
def test_a_name_variable(name, spoken):
    assert _named("Hello {name}.", name) == spoken


# -- 4-6: 朝 in a place, futures codes, 为 before 准确 -----------------------------------------

ZH_READINGS = [
    # cháo is the voice's own reading of 朝: pypinyin's phrase 朝阳 (zhāo) is no longer given
    ("朝阳门", "zh-CN", "朝阳门"), ("朝阳路营业部", "zh-CN", "朝阳路营业部"),
    ("位于朝阳公园附近", "zh-CN", "位于朝阳公园附近"),  # pypinyin's phrase is cháo there
    ("朝阳产业", "zh-CN", "zhao1 阳产业"), ("朝气蓬勃", "zh-CN", "zhao1 气蓬勃"),
    ("买入IF合约", "zh-CN", "买入 I F 合约"), ("IM合约到期", "zh-CN", "I M 合约到期"),
    ("Trade IF contracts", "en", "Trade I F contracts"),
    ("The IM contract expires", "en", "The I M contract expires"),
    ("If you agree", "en", "If you agree"),
    # wèi is the voice's own reading of 为: pypinyin's phrase 为准 (wéi) is no longer given
    ("为准确起见，请核对", "zh-CN", "为准确起见，请核对"),
    ("为准时完成交割", "zh-CN", "为准时完成交割"),
    ("以合同为准", "zh-CN", "以合同 wei2 准"),
]


@pytest.mark.parametrize("written,locale,expected", ZH_READINGS,
                         ids=[r[0] for r in ZH_READINGS])
def test_place_futures_and_wei(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 8: leftovers -------------------------------------------------------------------------------

LEFTOVERS = [
    ("Call (+86)-21-6888-1234", "en",
     "Call plus eight six two one six eight eight eight one two three four"),
    ("(+86)-21-6888-1234", "zh-CN", "加八六 二一六八八八一二三四"),
    ("Apr.–Jun.", "en", "April to June"), ("Jan-Mar", "en", "January to March"),
    ("w/ fees", "en", "with fees"), ("w/o fees", "en", "without fees"),
    ("3.5% x 90/365", "en", "3.5% times 90 over 365"),
    ("3.5% x 90/365", "zh-CN", "百分之三点五乘以三百六十五分之九十"),
    ("ChiNext", "en", "Chai-next"), ("ChiNext", "zh-CN", "创业板"),
    ("REITs", "en", "Reets"), ("REITs基金", "zh-CN", "R E I T 基金"),
    ("Period: 2024.1.1-2024.3.31", "en", "Period: January 1, 2024 to March 31, 2024"),
    # a label's colon with no space after it (full-width, typed in a Chinese input method)
    ("Time：9:30-11:30", "en", "Time: nine thirty to eleven thirty"),
    ("Rate:1-3%", "en", "Rate: 1 to 3%"),
]


@pytest.mark.parametrize("written,locale,expected", LEFTOVERS, ids=[r[0] for r in LEFTOVERS])
def test_leftovers(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 7: the check -------------------------------------------------------------------------------

def test_the_check_warns_where_the_voice_still_misreads():
    assert any("“if”" in w for w in _warnings("买入IF"))
    assert _warnings("买入IF合约") == []
    assert any("pinyin" in w and "Lee" in w for w in _warnings("Li will help you.", "en"))
    assert any("Ipp" in w for w in _warnings("Please ask Ip.", "en"))
    assert _warnings("Your advisor Wang Li will help.", "en") == []
    assert _warnings("Mr. Ip will help.", "en") == []


def test_the_checks_quote_is_never_cut_inside_a_number():
    from kiosk.guide.normalise import _said_near
    text = "Period：2024.1.1-2024.3.31, then 5-"
    said = _said_near(text, text.index("-"), "en")
    assert "March 31" in said


# -- espeak-ng --------------------------------------------------------------------------------

@needs_espeak
def test_espeak_says_the_surname_after_the_title():
    assert _espeak("行长单明") == _espeak_said("hang2 zhang3 shàn 明")
    assert "ts'@55N" in _espeak("总经理曾志伟")  # zēng, not céng (tsh'@35N)
    assert "phj'Au35" in _espeak("销售经理朴敏")  # piáo, not pǔ


@needs_espeak
def test_espeak_says_the_names_in_english():
    assert "l'i:" in _espeak("Your advisor Wang Li will help.", "en")  # Lee, not "lie"
    assert "l'aI" not in _espeak("Your advisor Wang Li will help.", "en")
    assert _espeak("Mr. Hsu", "en").endswith("S'u:")
    assert "'Ip" in _espeak("Mr. Ip", "en") and "p'i:" not in _espeak("Mr. Ip", "en")


@needs_espeak
def test_espeak_says_chao_wei_and_the_codes():
    assert "ts.h'Au35" in _espeak("朝阳门")  # cháo
    assert "w'ei51" in _espeak("为准确起见")  # wèi
    assert "'Ef" in _espeak("Trade IF contracts", "en")
    assert _espeak("REITs", "en") == "r'i:ts"
    assert "k'oUl@n" not in _espeak("Time：9:30-11:30", "en")  # no "colon" said
