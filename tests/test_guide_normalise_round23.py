"""#15, tester round twenty-two's classes fixed in round twenty-three (speakable/26): 一 in a
road number, place readings as character + place-word rules, phone numbers and ranges typed
with other dashes, English pinyin places before a place word, the characters espeak-ng says
in the neutral tone (measured: ``ESPEAK_CMN_NEUTRAL``), linear pinyin respelling in English,
a web address with a port and AT&T."""

from __future__ import annotations

import re

import pytest

from kiosk.guide.en_pinyin import respell_text
from kiosk.guide.espeak_cmn_tones import ESPEAK_CMN_NEUTRAL, common_chars, said_neutral
from kiosk.guide.normalise import NORMALISER_VERSION, speakable
from kiosk.speech.textnorm import zh_reading
from tests.guide_rows import espeak_said as _espeak_said
from tests.guide_rows import espeak_written as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/30"  # bumped by round twenty-seven


# -- 1: 一 in a road, street or district number ------------------------------------------------

ROADS = [
    ("地址：深圳市福田区福华一路111号招商证券大厦。", "zh-CN",
     "di4 址：深圳市福田区福华一路一一一号招商证券大厦。"),
    ("地址：无锡市滨湖区金融一街8号。", "zh-CN", "di4 址：无锡市滨湖区金融一街八号。"),
    ("广州市中山一路", "zh-CN", "广州市中山一路"),
    ("人民一路与二路交界", "zh-CN", "人民一路与二路交界"),
    ("劳动一路交汇处", "zh-CN", "劳动一路交汇处"),
    ("祝您一路顺风", "zh-CN", "祝您 yi2 路顺风"),  # the sandhi stays where 一路 is a word
    ("和我们一道来", "zh-CN", "和我们 yi2 道来"),
    ("一路上", "zh-CN", "yi2 路上"),
]


@pytest.mark.parametrize("written,locale,expected", ROADS, ids=[r[0] for r in ROADS])
def test_road_numbers(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 2: place readings -------------------------------------------------------------------------

PLACES = [
    ("地址：南宁市青秀区金湖路59号地王国际商会中心。", "zh-CN",
     "di4 址：南宁市青秀区金湖路五十九号 di4 王国际商会中心。"),
    ("地址：上海市闵行区七莘路3333号。", "zh-CN",
     "di4 址：上海市 min3 hang2 qu1 七 xin1 路三三三三号。"),
    ("山东省莘县", "zh-CN", "山东省莘县"),
    ("地址：成都市郫都区犍为路。", "zh-CN", "di4 址：成 du1 市郫 du1 区 qian2 wei2 路。"),
    ("广州市花都区", "zh-CN", "广州市花 du1 区"),
    ("地址：海南省儋州市。", "zh-CN", "di4 址：海南省 dan1 州市。"),
    ("地址：重庆市涪陵区兴华中路。", "zh-CN", "di4 址：chong2 庆市涪陵区 xing1 华中路。"),
    ("兴趣小组", "zh-CN", "兴趣小组"),
]


@pytest.mark.parametrize("written,locale,expected", PLACES, ids=[r[0] for r in PLACES])
def test_place_readings(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


def test_du_after_a_word_of_all_stays_dou():
    assert "du1" not in speakable("我们都区分清楚", "zh-CN")


# -- 3: dashes in phone numbers and ranges -----------------------------------------------------

DASHES = [
    ("客服电话：400－820－8820。", "zh-CN", "客服电话：四零零八二零八八二零。"),
    ("请拨打021－68888888", "zh-CN", "请拨打零二一六八八八八八八八"),
    ("请拨打021–68888888", "zh-CN", "请拨打零二一六八八八八八八八"),
    ("请拨打400—820—8820", "zh-CN", "请拨打四零零八二零八八二零"),
    ("收益率为3%−5%", "zh-CN", "收益率 wei2 百分之三到百分之五"),
    ("温度为−5度", "zh-CN", "温度 wei2 负五度"),  # a minus sign before one number stays 负
    ("The yield is 3%−5%.", "en", "The yield is 3% to 5%."),
    ("The yield is 3%—5%.", "en", "The yield is 3% to 5%."),
    ("Call 400－820－8820.", "en", "Call four zero zero eight two zero eight eight two zero."),
]


@pytest.mark.parametrize("written,locale,expected", DASHES, ids=[r[0] for r in DASHES])
def test_dashes(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


@pytest.mark.parametrize("dash", ["\u2010", "\u2011", "\u2012", "\u2013", "\u2212", "\ufe63",
                                  "\uff0d"])
def test_every_dash_kind_in_a_phone(dash):
    said = speakable(f"客服电话：400{dash}820{dash}8820，或请拨打021{dash}68888888。", "zh-CN")
    assert "负" not in said and "到" not in said
    assert "四零零八二零八八二零" in said and "零二一六八八八八八八八" in said


def test_em_dash_range_of_percentages():
    assert "百分之三点五到百分之四点五" in speakable("业绩比较基准为3.5%—4.5%", "zh-CN")


# -- 4: English pinyin places ------------------------------------------------------------------

EN_PLACES = [
    ("Address: 8 Lujiang Road, Siming District, Xiamen, Fujian.", "en",
     "Address: eight Loo-jee-yahng Road, Suh-ming District, Shee-yah-mun, Foo-jee-yen."),
    ("Address: 218 Zhongshan Road, Tianshan District, Urumqi, Xinjiang.", "en",
     "Address: two eighteen Joong-shahn Road, Tee-yen-shahn District, Oo-roo-moo-chee, "
     "Sheen-jee-yahng."),
    ("Our branch is in Jiading District.", "en", "Our branch is in Jee-yah-ding District."),
    ("Our branch is in Kunming District.", "en", "Our branch is in Kwun-ming District."),
    ("Our branch is on Pine Street.", "en", "Our branch is on Pine Street."),
    ("Manning Road and Linden Street.", "en", "Manning Road and Linden Street."),
]


@pytest.mark.parametrize("written,locale,expected", EN_PLACES, ids=[r[0] for r in EN_PLACES])
def test_english_places(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 7: minor ----------------------------------------------------------------------------------

MINOR = [
    ("Visit https://www.example.com:8443/login.", "en",
     "Visit H T T P S colon slash slash W W W dot example dot com colon eight four four three "
     "slash login."),
    ("AT&T is a client.", "en", "eh T and T is a client."),
    ("S&P 500 index.", "en", "S and P 500 index."),
]


@pytest.mark.parametrize("written,locale,expected", MINOR, ids=[r[0] for r in MINOR])
def test_minor(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 5: characters said in the neutral tone ----------------------------------------------------

NEUTRAL = [
    ("欢迎您办理业务", "zh-CN", "huan1 迎您办理业 wu4"),
    ("信息披露", "zh-CN", "信 xi1 披露"),
    ("投诉电话", "zh-CN", "投 su4 电话"),
    ("傅园慧", "zh-CN", "fu4 园慧"),
    ("皇甫嵩", "zh-CN", "皇 fu3 嵩"),
    ("尾巴", "zh-CN", "尾巴"),  # a word said neutral there keeps the voice's neutral
    ("功夫", "zh-CN", "功夫"),
]


@pytest.mark.parametrize("written,locale,expected", NEUTRAL, ids=[r[0] for r in NEUTRAL])
def test_neutral_characters_get_their_tone(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


def test_the_neutral_table():
    assert {"欢", "务", "息", "诉", "酬", "傅", "伍", "甫", "巴", "朵"} <= ESPEAK_CMN_NEUTRAL
    assert not {"的", "了", "们", "子", "个", "地", "得"} & ESPEAK_CMN_NEUTRAL
    assert len(common_chars()) == 3755


_TONE = {"55": 1, "35": 2, "214": 3, "21": 3, "51": 4}


@needs_espeak
def test_espeak_says_the_neutral_table_neutral_and_the_guide_with_its_tone():
    chars = "".join(sorted(ESPEAK_CMN_NEUTRAL))
    assert said_neutral(chars) == set(chars)  # the fault, re-measured
    for ch in chars:
        contours = re.findall(r"\d+", _espeak(ch))
        assert contours and _TONE.get(contours[-1]) == int(zh_reading(ch)[-1]), ch


@needs_espeak
def test_espeak_says_huanying_with_tones():
    assert _espeak_said("欢迎").startswith("Xua11n")  # the fault: huan5
    assert _espeak("欢迎").startswith("X'ua55n")


# -- espeak-ng phonemes of the other classes ---------------------------------------------------

# (written, phonemes of what the guide gives the voice contain, and do not contain)
ESPEAK_ROWS = [
    ("福华一路111号", "j'i55l'u51", "j'i35"),
    ("郫都区", "ph'i35t'u55", "t'ou55"),
    ("七莘路", "S;'i55n", "s.'@55n"),
    ("儋州", "t'a55n", "t'a51n"),
    ("兴华中路", "S;'i55N", "S;'i51N"),
    ("地王", "t'i51w", "t@11"),
    ("Siming District", "s'Vm'IN", "s'aI"),
    ("Kunming District", "kw'Vnm'IN", "n@m"),
    ("Jiading District", "dZ'i:j'A:d'IN", "dZ'aI"),
    ("Urumqi", "'u:r'u:m'u:tS'i:", "j'U@"),
]


@needs_espeak
@pytest.mark.parametrize("written,has,lacks", ESPEAK_ROWS, ids=[r[0] for r in ESPEAK_ROWS])
def test_espeak_phonemes(written, has, lacks):
    locale = "en" if written.isascii() else "zh-CN"
    said = _espeak(written, locale)
    assert has in said and lacks not in said, said


@needs_espeak
def test_espeak_phone_with_a_full_width_hyphen_has_no_minus():
    said = _espeak("请拨打021－68888888")
    assert "f'u51" not in said  # 负
    assert said.count("p'A55") == 7  # 八 seven times, digit by digit


# -- 6: linear ---------------------------------------------------------------------------------

def test_title_search_is_bounded():
    # a title far before a word is not "before" it, and a title right before still is
    text = "Mr " + "x " * 50 + "Li"
    assert respell_text(text).endswith("Li")
    assert respell_text("Mr Li").endswith("Lee")
