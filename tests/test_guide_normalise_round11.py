"""#15, tester round eleven: the Mandarin classes it found wrong (1-7 of the brief), each as a
class, with an end-to-end check of espeak-ng's phonemes for each. (A file of its own, next to
test_guide_normalise.py and its round-seven to round-ten siblings.)"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from kiosk.flows.loader import speech_warnings
from kiosk.guide.normalise import NORMALISER_VERSION, speakable, speech_issues
from kiosk.guide.tts import DEFAULT_VOICES
from kiosk.resources import SHIPPED_FLOWS_DIR

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed")

# espeak-ng (sit/cmn-latn-pinyin) phonemes of the syllables the checks below look for
FRACTION = "f'@55n_| ts.'i.55"  # 分之
MINUS = "f'u51"  # 负
SHI = "s.'i.35"  # 十
LING = "l'i35N"  # 零
ZHI_SPAN = "ts.'i.51"  # 至
HANG = "X'a35N"  # háng
XING = "S;'i35N"  # xíng


def _misread(rows) -> list[tuple[str, str, str]]:
    """(written, expected, spoken) of each row whose spoken text is not the expected one."""
    return [(w, e, speakable(w, loc)) for w, loc, e in rows if speakable(w, loc) != e]


def _warnings(text: str, locale: str = "zh-CN") -> list[str]:
    return [i.message for i in speech_issues(text, locale)]


def _espeak(text: str) -> str:
    return subprocess.run(["espeak-ng", "-x", "-q", "-v", DEFAULT_VOICES["zh-CN"], text],
                          capture_output=True, text=True, check=True, timeout=30).stdout


def _said_as(written: str, reference: str) -> tuple[str, str]:
    """espeak-ng's phonemes for what the guide gives the voice for ``written``, and for
    ``reference`` (plain characters the voice reads as meant), word breaks and pauses left
    out."""
    def squeeze(p: str) -> str:
        return "".join(p.replace("_|", " ").split())

    return squeeze(_espeak(speakable(written, "zh-CN"))), squeeze(_espeak(reference))


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/30"  # bumped by round twenty-seven


# -- 1: a slash after 第, before 号, in a code is a separator ---------------------------------

def test_1_a_slash_after_di_or_before_hao_or_in_a_code_is_a_separator():
    rows = [
        ("第12/356", "zh-CN", "第十二斜杠三百五十六"),
        ("请查阅第12/356号文件。", "zh-CN", "请查阅第十二斜杠三百五十六号文件。"),
        ("根据证监会令第3/5号", "zh-CN", "根据证监会令第三斜杠五号"),
        ("第2024/18/3号", "zh-CN", "第两千零二十四斜杠十八斜杠三号"),
        ("12/356号公告", "zh-CN", "十二斜杠三百五十六号公告"),
        ("编号2024/0012", "zh-CN", "编号二零二四斜杠零零一二"),
        ("文号：88/2025", "zh-CN", "文号：八八斜杠二零二五"),
        # a month/day before 号, a rank, a fraction stay what they were
        ("于7/3号发放", "zh-CN", "于七月三号发放"),
        ("同类排名12/356", "zh-CN", "同类排名第十二名，共三百五十六名"),
        ("不低于1/3", "zh-CN", "不低于三分之一"),
    ]
    assert _misread(rows) == []
    # an improper "fraction" that is a separator is not warned as one
    assert not [w for w in _warnings("第356/12号") if "fraction" in w]
    assert [w for w in _warnings("在356/12发放") if "fraction" in w]


@needs_espeak
def test_1_the_voice_says_the_separator_not_a_fraction():
    said, ref = _said_as("请查阅第12/356号文件。", "请查阅第十二斜杠三百五十六号文件。")
    assert said == ref and FRACTION.replace(" ", "") not in said


# -- 2: generation words ------------------------------------------------------------------

def test_2_a_generation_is_said_digit_by_digit():
    rows = [
        ("90后投资者", "zh-CN", "九零后投资者"),
        ("00后客户", "zh-CN", "零零后客户"),
        ("85后", "zh-CN", "八五后"),
        ("今年是95后", "zh-CN", "今年是九五后"),
        ("70、80后", "zh-CN", "七零、八零后"),
        ("80后和90后", "zh-CN", "八零后和九零后"),
        # no generation: after a date word, a point, a plus, a colon; another number
        ("3月15后", "zh-CN", "三月十五后"),
        ("T+15后", "zh-CN", "T加十五后"),
        ("9:15后", "zh-CN", "九点十五分后"),
        ("第90后", "zh-CN", "第九十后"),
        ("88后", "zh-CN", "八十八后"),
        ("股价跌至10后", "zh-CN", "股价跌至十后"),
    ]
    assert _misread(rows) == []


@needs_espeak
def test_2_the_voice_says_jiu_ling_hou():
    said, ref = _said_as("90后投资者", "九零后投资者")
    assert said == ref and LING in said and SHI not in said


# -- 3: two-digit year spans --------------------------------------------------------------

def test_3_a_span_of_years_is_said_digit_by_digit():
    rows = [
        ("23-24年", "zh-CN", "二三至二四年"),
        ("24/25财年", "zh-CN", "二四至二五财年"),
        ("2023-24年", "zh-CN", "二〇二三至二四年"),
        ("2024/25财年", "zh-CN", "二〇二四至二五财年"),
        ("23/24赛季", "zh-CN", "二三至二四赛季"),
        ("2024-26年度", "zh-CN", "二〇二四至二六年度"),
        ("99-00年", "zh-CN", "九九至〇〇年"),
        # a range of durations stays one
        ("10-20年", "zh-CN", "十到二十年"),
        ("持有23-24年", "zh-CN", "持有二十三到二十四年"),
        ("3-5年", "zh-CN", "三到五年"),
    ]
    assert _misread(rows) == []
    assert not [w for w in _warnings("24/25财年") if "fraction" in w]


@needs_espeak
@pytest.mark.parametrize(("written", "reference"), [
    ("23-24年", "二三至二四年"), ("24/25财年", "二四至二五财年")])
def test_3_the_voice_says_the_span(written, reference):
    said, ref = _said_as(written, reference)
    assert said == ref and ZHI_SPAN in said
    assert FRACTION.replace(" ", "") not in said and MINUS not in said and SHI not in said


# -- 4: a phone number with an extension ----------------------------------------------------

def test_4_a_phone_number_with_an_extension():
    rows = [
        ("021-68881234-8052", "zh-CN", "零二一 六八八八一二三四 转 八零五二"),
        ("请拨打021-68881234-8052咨询", "zh-CN", "请拨打 零二一 六八八八一二三四 转 八零五二 咨询"),
        ("客服电话021-68881234-8052", "zh-CN", "客服电话 零二一 六八八八一二三四 转 八零五二"),
        ("(021)68881234-8052", "zh-CN", "零二一 六八八八一二三四 转 八零五二"),
        ("0571-8888 1234转806", "zh-CN", "零五七一 八八八八一二三四 转 八零六"),
        ("400-820-8820-123", "zh-CN", "四零零 八二零八八二零 转 一二三"),
        # without an extension, as before
        ("请拨打400-820-8820", "zh-CN", "请拨打四零零八二零八八二零"),
        ("电话(021)68881234", "zh-CN", "电话 零二一六八八八一二三四"),
        ("手机+86 138 0013 8000", "zh-CN", "手机加八六 一三八零零一三八零零零"),
    ]
    assert _misread(rows) == []
    assert not [w for w in _warnings("请拨打021-68881234-8052咨询") if "digits" in w]


@needs_espeak
def test_4_the_voice_says_zhuan_not_minus():
    said, ref = _said_as("请拨打021-68881234-8052咨询",
                         "请拨打零二一六八八八一二三四转八零五二咨询")
    assert said == ref and MINUS not in said and "ts.'ua21" in said  # 转 (its tone before another)


# -- 5: a futures contract's month after its commodity --------------------------------------

def test_5_a_contract_month_is_said_digit_by_digit():
    rows = [
        ("豆粕2605合约", "zh-CN", "豆粕二六零五合约"),
        ("螺纹钢2610", "zh-CN", "螺纹钢二六一零"),
        ("沪铜2603", "zh-CN", "沪铜二六零三"),
        ("铁矿石2609合约的保证金比例为15%", "zh-CN",
         "铁矿石二六零九合约的保证金比例 wei2 百分之十五"),
        ("螺纹钢2605-2610价差", "zh-CN", "螺纹钢二六零五、二六一零价 cha1"),  # speakable/17
        # indexes, prices, invalid months and words are no contracts
        ("沪深300指数", "zh-CN", "沪深三百指数"),
        ("中证500", "zh-CN", "中证五百"),
        ("豆粕3000元/吨", "zh-CN", "豆粕三千元每吨"),
        ("豆粕2613", "zh-CN", "豆粕两千六百一十三"),
        ("黄金9999", "zh-CN", "黄金九千九百九十九"),
        ("黄金1012克", "zh-CN", "黄金 yi4 千零一十二克"),
        ("青铜2000", "zh-CN", "青铜两千"),
    ]
    assert _misread(rows) == []


@needs_espeak
def test_5_the_voice_says_the_month_digit_by_digit():
    said, ref = _said_as("豆粕2605合约", "豆粕二六零五合约")
    assert said == ref and LING in said and "p'ai214" not in said  # 百


# -- 6: 行 as a bank ------------------------------------------------------------------------

def test_6_hang_of_a_bank_is_read_hang_in_its_contexts():
    hang = ["开户行", "请填写开户行名称", "您的开户行为工商银行", "开户行：工商银行深圳分行",
            "托管行为招商银行", "请确认收款行名称", "总行", "投行", "我行", "工行、建行",
            "本行使用", "银行", "行情", "行业", "行长"]
    for text in hang:
        said = speakable(text, "zh-CN")
        assert "hang2" in said and "行" not in said, (text, said)
    # 为 after a bank: the copula wéi before a bank's name, wèi (the voice's own) before a
    # pronoun; 行为 elsewhere is behaviour
    rows = [
        ("您的开户行为工商银行", "zh-CN", "您的开户 hang2 wei2 工商银 hang2"),
        ("本行为您提供优质服务", "zh-CN", "本 hang2 为您提供优质服 wu4"),
        ("规范开户行为", "zh-CN", "规范开户行 wei2"),
        ("员工行为应当符合银行规定", "zh-CN", "员工行 wei2 应当符合银 hang2 规定"),
    ]
    assert _misread(rows) == []
    # xíng stays xíng (the voice's own reading): verbs and words of xíng
    for text in ("行权", "集中行权", "发行", "平行", "执行", "行使", "应该行使", "规范开户行为",
                 "风险自行承担", "代理行使表决权", "各行其是", "总行程"):
        said = speakable(text, "zh-CN")
        assert "hang2" not in said, (text, said)


@needs_espeak
@pytest.mark.parametrize(("written", "reading"), [
    ("开户行", HANG), ("您的开户行为工商银行", HANG), ("总行", HANG), ("托管行", HANG),
    ("银行", HANG), ("行情", HANG), ("行业", HANG),
    ("行权", XING), ("发行", XING), ("平行", XING), ("执行", XING), ("集中行权", XING)])
def test_6_the_voice_says_hang_or_xing(written, reading):
    said = _espeak(speakable(written, "zh-CN"))
    other = XING if reading == HANG else HANG
    assert reading in said and other not in said, (written, said)


# -- 7: a name written into the identity question ---------------------------------------------

def test_7_a_name_in_the_identity_question_is_warned_and_its_surname_read():
    for text, name in (("您是张三本人吗", "张三"), ("请问您是单田芳本人吗", "单田芳"),
                       ("您是否为曾国藩本人？", "曾国藩"), ("您是欧阳娜娜本人吗", "欧阳娜娜")):
        found = [i for i in speech_issues(text, "zh-CN") if "{name}" in i.message]
        assert len(found) == 1 and found[0].offset == text.index(name), (text, found)
    assert "shàn" in speakable("请问您是单田芳本人吗", "zh-CN")
    assert "zēng" in speakable("您是否为曾国藩本人？", "zh-CN")
    # no name there: no warning
    for text in ("您是客户本人吗", "您是账户持有人本人吗", "您是否本人", "您是本人吗",
                 "您是{name}本人吗"):
        assert not [w for w in _warnings(text) if "{name}" in w], text


@needs_espeak
def test_7_the_voice_says_the_surname_shan():
    said = _espeak(speakable("请问您是单田芳本人吗", "zh-CN"))
    assert "s.'a51n" in said and "t'a55n" not in said


def test_7_the_check_reports_file_line_and_column():
    text = (SHIPPED_FLOWS_DIR / "fund_suitability.yaml").read_text(encoding="utf-8")
    written = "请问您是单田芳本人吗？现在为您"
    text = text.replace("您好，{name}。现在为您", written, 1)
    assert written in text
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if written in ln)
    col = text.splitlines()[line - 1].index("单田芳") + 1
    found = [p for p in speech_warnings("fund_suitability.yaml", text)
             if "单田芳 is a name" in p.message]
    assert [(p.line, p.col) for p in found] == [(line, col)], found
    assert "{name}" in found[0].message and "shàn" in found[0].message
    # the shipped flows (which say {name}) get no such warning
    for path in sorted(SHIPPED_FLOWS_DIR.glob("*.yaml")):
        assert not [p for p in speech_warnings(path) if "is a name written" in p.message], path
