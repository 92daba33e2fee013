"""#15, tester round twenty-one: 长 as cháng and other place names the voice misread (长宁路,
长治, 歙县, 洪洞, 盱眙, 阆中, 天台县), festival dates (3·15, 5.1, 国庆10.1, 6.18, 11.11, 双11),
an index named by its size (A50), keypad keys in English (# "hash", * "star" wherever the
sentence puts them), ü in a written pinyin name (Lü, Nü), long Uyghur name parts in English,
Hong Kong / Wade-Giles name words in Mandarin (Ip, Wing, Hsieh, Tsz), and robustness: digits of
other scripts, numbers of 17+ digits, amounts grouped with a no-break space, letters of other
scripts in Mandarin; each as a class (written → spoken), espeak-ng's phonemes checked for a
sample, and what `kiosk flows check` says."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.flows.loader import speech_warnings
from kiosk.flows.model import fill_template
from kiosk.guide.normalise import NORMALISER_VERSION, speakable
from tests.guide_rows import espeak_written as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak
from tests.guide_rows import warnings as _warnings


def _named(name: str, locale: str) -> str:
    return speakable(fill_template("{name}", {"name": name}, locale), locale)


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/30"  # bumped by round twenty-seven


# -- 1: place names ----------------------------------------------------------------------------

PLACES = [
    ("长宁路营业部", "zh-CN", "长宁路营业部"),  # 长 left to the voice: cháng
    ("上海长宁区营业部", "zh-CN", "上海长宁区营业部"),
    ("长治营业部", "zh-CN", "长治营业部"),
    ("长葛营业部", "zh-CN", "长 ge3 营业部"),
    ("歙县营业部", "zh-CN", "she4 县营业部"),
    ("洪洞营业部", "zh-CN", "洪 tong2 营业部"),
    ("盱眙营业部", "zh-CN", "盱 yi2 营业部"),
    ("阆中营业部", "zh-CN", "lang4 中营业部"),
    ("天台县支行", "zh-CN", "天 tai1 县支 hang2"),
    ("西安市长安区", "zh-CN", "西安市长安区"),
    ("山东临沂费县支行", "zh-CN", "山东临沂 bi4 县支 hang2"),
    ("手续费县级", "zh-CN", "手续费县级"),  # a word ends at 费
    ("免费县城巴士", "zh-CN", "免费县城 ba1 士"),
    # 长 zhǎng stays where a title or a verb holds it, and in 长子县
    ("行长安排", "zh-CN", "hang2 zhang3 安排"),
    ("董事长治理", "zh-CN", "董事 zhang3 治理"),
    ("长子县", "zh-CN", "zhang3 zi3 县"),
    ("长大后", "zh-CN", "zhang3 大后"),
]


@pytest.mark.parametrize("written,locale,expected", PLACES, ids=[r[0] for r in PLACES])
def test_place_names(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 2: festival dates and index sizes ----------------------------------------------------------

DATES_AND_INDEXES = [
    ("3·15消费者权益日，请警惕非法荐股。", "zh-CN", "三一五消费者权益日，请警惕非法荐股。"),
    ("5.1假期期间暂停交易。", "zh-CN", "五一 jia4 期期间暂停交易。"),
    ("5.1劳动节", "zh-CN", "五一劳动节"),
    ("国庆10.1", "zh-CN", "国庆十一"),
    ("10.1假期", "zh-CN", "十一 jia4 期"),
    ("6.18促销", "zh-CN", "六一八促销"),
    ("11.11购物节", "zh-CN", "双十一购物节"),
    ("双11", "zh-CN", "双十一"),
    ("3.15晚会", "zh-CN", "三一五晚会"),
    ("利率5.1%", "zh-CN", "利率百分之五点一"),  # a decimal stays one
    ("详见第5.1节", "zh-CN", "详见第五点一节"),  # a section, not May Day
    ("参见5.1节的规定", "zh-CN", "参见五点一节的规定"),
    ("MSCI中国A50指数", "zh-CN", "M S C I 中国A五十指数"),
    ("A50ETF", "zh-CN", "A五十 E T F"),
    ("富时中国A50", "zh-CN", "富时中国A五十"),
    ("The A50 index fell.", "en", "The A fifty index fell."),
]


@pytest.mark.parametrize("written,locale,expected", DATES_AND_INDEXES,
                         ids=[r[0] for r in DATES_AND_INDEXES])
def test_festival_dates_and_index_sizes(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 3: English keys and ü ----------------------------------------------------------------------

ENGLISH = [
    ("Press 1 to confirm or # to go back.", "en", "Press 1 to confirm or hash to go back."),
    ("Enter your PIN followed by #.", "en", "Enter your P I N followed by hash."),
    ("Press # to finish or * to go back.", "en",
     "Press the hash key to finish or star to go back."),
    ("press 1 and #", "en", "press 1 and the hash key"),
    ("Press 2 to hear the # of shares you hold.", "en",
     "Press 2 to hear the number of shares you hold."),
    ("Your order #12345 is ready.", "en",
     "Your order number one two three four five is ready."),
    ("Dr. Lü Bo will review your file.", "en", "Dr. Lee-yoo Baw will review your file."),
    ("Your adviser, Mr. Lü Wei", "en", "Your adviser, Mr. Lee-yoo Way"),
    ("Ms. Nü Hua", "en", "Miz Nee-yoo Whah"),
]


@pytest.mark.parametrize("written,locale,expected", ENGLISH, ids=[r[0] for r in ENGLISH])
def test_english_keys_and_u_umlaut(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


# -- 4: names ----------------------------------------------------------------------------------

NAMES = [
    ("古丽娜扎尔·迪力木拉提", "en", "Goo-lee-nah-jah-ar Dee-lee-moo-lah-tee"),
    ("迪丽热巴·迪力木拉提", "en", "Dee-lee-ruh-bah Dee-lee-moo-lah-tee"),
    ("阿不都热合曼·艾则孜", "en", "Ah-boo-doh-ruh-huh-mahn Eye-zuh-zuh"),
    ("买买提·艾力", "en", "Mai-mai-tee Eye-lee"),
    ("Ip Man", "zh-CN", "Yip Man"),
    ("Ng Wing Kei", "zh-CN", "ng2 weng Kei"),
    ("Hsieh Mei-ling", "zh-CN", "xie Mei-ling"),
    ("Chan Tai Man", "zh-CN", "chan tai man"),
]


@pytest.mark.parametrize("name,locale,expected", NAMES, ids=[r[0] for r in NAMES])
def test_names(name, locale, expected):
    assert _named(name, locale) == expected


def test_hong_kong_words_in_mandarin_text():
    assert speakable("请联系Ip Man先生", "zh-CN") == "请联系 Yip Man先生"
    assert speakable("Hsieh Mei-ling为您服务", "zh-CN") == "xie Mei-ling为您服 wu4"
    assert speakable("见证人员Hsieh Wen-hsiung", "zh-CN") == "见证人员 xie Wen- xiong"
    assert speakable("请检查IP地址", "zh-CN") == "请检查 I P di4 址"  # an acronym stays spelled


# -- 5: robustness -----------------------------------------------------------------------------

ROBUST = [
    ("规模上限为12345678901234567890元", "zh-CN",
     "规模上限 wei2 一二三四五六七八九零一二三四五六七八九零 元"),
    ("规模上限为12345678901234567890股", "zh-CN",
     "规模上限 wei2 一二三四五六七八九零一二三四五六七八九零 股"),
    ("A cap of 12345678901234567890 yuan", "en", "A cap of one two three four five six seven "
     "eight nine zero one two three four five six seven eight nine zero yuan"),
    ("收益率٣٫٥٪", "zh-CN", "收益率百分之三点五"),
    ("收益率३.५%", "zh-CN", "收益率百分之三点五"),
    ("资金1\u00a0000\u00a0000元", "zh-CN", "资金 yi4 百万元"),
    ("资金1\u202f000\u202f000元", "zh-CN", "资金 yi4 百万元"),
    ("资金1 000 000元", "zh-CN", "资金 yi4 百万元"),
    ("欢迎こんにちは光临", "zh-CN", "huan1 迎 光临"),
    ("客户안녕하세요您好", "zh-CN", "客户 您好"),
    ("ᠮᠣᠩᠭᠣᠯ文字", "zh-CN", "文字"),
]


@pytest.mark.parametrize("written,locale,expected", ROBUST, ids=[r[0] for r in ROBUST])
def test_odd_input_never_raises(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


def test_a_phone_number_in_plain_spaces_stays_digits():
    assert speakable("电话 021 123 456", "zh-CN") == "电话 零二一一二三四五六"


# -- 6: the check ------------------------------------------------------------------------------

def test_the_check_warns_on_other_scripts_and_huge_numbers():
    assert any("Hiragana" in w for w in _warnings("欢迎こんにちは光临"))
    assert any("Mongolian" in w for w in _warnings("ᠮᠣᠩᠭᠣᠯ文字"))
    assert any("digit by digit" in w for w in _warnings("规模上限为12345678901234567890元"))
    assert _warnings("收益率٣٫٥٪") == []


def test_the_check_no_longer_warns_on_hong_kong_names_or_lu():
    assert _warnings("Your adviser is Ms. Chan Tai Man.", "en") == []
    assert _warnings("Mr. Chang Hsueh-liang will call you.", "en") == []
    assert _warnings("Your adviser, Mr. Lü Wei.", "en") == []


def test_the_check_reports_a_file_line_col_never_a_traceback(tmp_path: Path):
    flow = Path("flows/fund_suitability.yaml").read_text(encoding="utf-8")
    flow = flow.replace("全程将录音录像。", "规模上限为12345678901234567890元，收益率٣٫٥٪。", 1)
    path = tmp_path / "odd.yaml"
    path.write_text(flow, encoding="utf-8")
    found = speech_warnings(path)
    assert any("digit by digit" in p.message for p in found)
    line = next(i for i, t in enumerate(flow.splitlines(), 1) if "12345678901234567890" in t)
    assert any(p.line == line for p in found)


# -- espeak-ng --------------------------------------------------------------------------------

@needs_espeak
def test_espeak_says_the_places():
    assert "ts.h'A35N" in _espeak("长宁路营业部")  # cháng, not zhǎng (ts.'a21N)
    assert "ts.h'A35N" in _espeak("长治营业部")
    assert "s.'o-51" in _espeak("歙县营业部")  # shè, not xī
    assert "th'ong35" in _espeak("洪洞营业部")  # tóng, not dòng
    assert "j'i35" in _espeak("盱眙营业部")  # yí, not chì
    assert "l'a51N" in _espeak("阆中营业部")  # làng


@needs_espeak
def test_espeak_says_the_dates_and_the_index():
    said = _espeak("3·15消费者权益日")
    assert said.startswith("s'a55nj'i55w'u")  # 三一五, not 三十五
    assert "s.'i.35" not in said[:30]
    assert "t'iE21n" not in _espeak("5.1劳动节")  # no 点
    assert "w'u21s.'i.35" in _espeak("A50指数")  # 五十
    assert "f'Ifti" in _espeak("The A50 index", "en")


@needs_espeak
def test_espeak_says_keys_names_and_no_code_points():
    assert "h'aS" in _espeak("Press 1 to confirm or # to go back.", "en")
    assert "n'Vmb3" not in _espeak("Press 1 to confirm or # to go back.", "en")
    assert "st'A@" in _espeak("Press # to finish or * to go back.", "en")
    assert "l'i:j'u:" in _espeak("Dr. Lü Bo will review your file.", "en")
    assert "ta35pliou" not in _espeak("请联系Ng Wing Kei先生")  # Wing not spelled W I N G
    assert "'eI55tS" not in _espeak("Hsieh Mei-ling为您服务")  # Hsieh not spelled H S
    mongolian = _espeak("ᠮᠣᠩᠭᠣᠯ文字")
    assert "j'i55" not in mongolian and "p'A55" not in mongolian  # no code-point digits


def test_a_failing_rule_is_a_finding_not_a_traceback(tmp_path: Path, monkeypatch):
    import kiosk.flows.loader as loader

    def broken(text, locale):
        raise ValueError("a rule's fault")
        yield  # pragma: no cover

    monkeypatch.setattr(loader, "speech_issues", broken)
    path = tmp_path / "fund_suitability.yaml"
    path.write_text(Path("flows/fund_suitability.yaml").read_text(encoding="utf-8"),
                    encoding="utf-8")
    found = speech_warnings(path)
    assert found and all("speech rules failed" in p.message and p.line > 0 for p in found)


def test_a_failing_rule_falls_back_to_digits(monkeypatch):
    import kiosk.guide.normalise as normalise
    real = normalise._zh_number

    def fussy(text: str) -> str:
        if len(text.replace(",", "")) > 3:
            raise ValueError("out of range")
        return real(text)

    monkeypatch.setattr(normalise, "_zh_number", fussy)
    assert normalise.speakable("金额12345元", "zh-CN") == "金额 一二三四五 元"
