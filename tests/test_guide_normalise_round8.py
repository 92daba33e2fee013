"""#15, tester round eight: the classes it found wrong or poor (A-G of the brief), each as a
class. (A file of its own, next to test_guide_normalise.py and its round-seven sibling.)"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.flows import load_flow
from kiosk.flows.cli import flows as flows_cli
from kiosk.flows.model import fill_template
from kiosk.guide.normalise import read_variable, speakable, speech_issues
from kiosk.guide.tts import DEFAULT_VOICES
from kiosk.speech.textnorm import ZH_SURNAMES, zh_phrase_readings

SHIPPED = Path(__file__).resolve().parent.parent / "flows"
# A surname's reading as ``read_name`` gives it, and a Yi name's 呷 (gā).
SURNAMES = sorted(ZH_SURNAMES.items()) + [("阿西木呷", "阿西木 gā")]
PROTECTION_BLOCK = re.compile("[\ue000-\ue24f]")


def _name(surname: str) -> str:
    return surname if len(surname) > 2 else surname + "小红"


def _misread(rows) -> list[tuple[str, str, str]]:
    """(written, expected, spoken) of each row whose spoken text is not the expected one."""
    return [(w, e, speakable(w, loc)) for w, loc, e in rows if speakable(w, loc) != e]


def _espeak(text: str, locale: str) -> str:
    return subprocess.run(["espeak-ng", "-x", "-q", "-v", DEFAULT_VOICES[locale], text],
                          capture_output=True, text=True, check=True, timeout=30).stdout


# -- A: the pinyin the normaliser writes is never read again by another rule ------------------

# Where a {name} stands: after a pause, after 本人 with digits after it, after 姓名 and a colon
# (the Latin-name rule stripped the tone marks: ge), after digits (the 万 rule read the w of
# wěi, 12 wěi -> 12万ěi); the letter-G rule read the g of gě, gā, gōu as a lone G (jī ě).
NAME_TEMPLATES = ["您好，{name}。", "本人{name}，身份证尾号{id_last4}。", "客户姓名：{name}",
                  "工号12{name}先生", "{name}"]


@pytest.mark.parametrize(("surname", "reading"), SURNAMES)
def test_a_surname_reading_is_spoken_as_written_through_name(surname, reading):
    name = _name(surname)
    assert reading in read_variable(name, "name", "zh-CN")
    for template in NAME_TEMPLATES:
        filled = fill_template(template, {"name": name, "id_last4": "1234"}, "zh-CN")
        said = speakable(filled, "zh-CN")
        assert reading in said and not PROTECTION_BLOCK.search(said), (template, said)


def test_every_surname_reading_is_spoken_as_written_in_text():
    misread = []
    for surname, reading in (s for s in SURNAMES if len(s[0]) <= 2):
        name = _name(surname)
        # (a surname alone before 先生 after 那 么 都 过 能 is no name: 请那先生)
        alone = [] if surname in "那么都过能" else [f"请{surname}先生确认"]
        for text in [f"客户经理{name}，", f"您好，{name}女士。", f"您的投资顾问为{name}", *alone]:
            said = speakable(text, "zh-CN")
            if reading not in said or "ji1" in said:
                misread.append((text, said))
    assert misread == []


def test_a_reading_put_into_a_text_by_hand_is_kept():
    # what a harness gets with read_variable + speakable, and a broker's own pinyin
    for name in ("葛优", "盖丽丽", "句芒", "阿西木呷"):
        said = speakable(f"您好， {read_variable(name, 'name', 'zh-CN')} 。", "zh-CN")
        assert "ji1" not in said and read_variable(name, "name", "zh-CN") in said
    assert speakable("葛（gě）姓客户", "zh-CN") == "葛(gě)姓客户"
    assert speakable("5G网络，G股", "zh-CN") == "五 ji1 网络， ji1 股"  # a real G is still jī


def test_a_name_is_read_only_by_its_reading():
    # a Latin pinyin name after digits: min was minutes (十二分钟 hua); in English a given
    # name Sun before a full stop was Sunday
    said = speakable(fill_template("工号12{name}", {"name": "MIN Hua"}, "zh-CN"), "zh-CN")
    assert said == "工号 一二 min hua"
    said = speakable(fill_template("Hello {name}.", {"name": "李孙"}, "en"), "en")
    assert said == "Hello Lee Swun."  # respelt since speakable/18


def test_the_identity_sentence_says_ge_you():
    flow = load_flow(SHIPPED / "securities_account_opening.yaml")
    step = flow.step("identity")
    said = flow.prompt_text(step, "zh-CN", {"name": "葛优", "id_last4": "1234"}, spoken=True)
    assert "本人 gě 优，身份证尾号 一二三四" in said, said
    heard = _espeak(said, "zh-CN")
    assert "p'@21n_| z.'@35n_| k'o-21_| j'iou55_|" in heard, heard  # 本人 gě 优, not jī ě


FLOW = """\
id: names
version: 1
title: {zh-CN: 测试, en: Test}
locales: [zh-CN, en]
steps:
  - id: hello
    kind: say
    text:
      zh-CN: "您好，{name}。"
      en: "Hello {name}."
"""


def test_preview_takes_the_applicants_name(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "names.yaml"
    path.write_text(FLOW, encoding="utf-8")
    r = CliRunner().invoke(flows_cli, ["preview", str(path), "--locale", "zh-CN", "--json",
                                       "--name", " 葛优 ", "--cache-dir", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    (prompt,) = json.loads(r.stdout)["locales"][0]["steps"][0]["prompts"]
    assert prompt["written"] == "您好，葛优。" and prompt["spoken"] == "您好， gě 优。"
    r = CliRunner().invoke(flows_cli, ["preview", str(path), "--name", "Иван",
                                       "--cache-dir", str(tmp_path / "c")])
    assert r.exit_code == 2 and "Cyrillic" in r.output


# -- B: a phrase of pypinyin's that crosses a more common word is no word there -------------

def test_a_phrase_that_crosses_a_more_common_word_is_not_read():
    text = "定投扣款失败将收取每次2元的手续费。"
    assert zh_phrase_readings(text)[text.index("将")] is None  # 败将 crosses 失败
    assert speakable(text, "zh-CN") == "定投扣款失败将收取每次两元的手续费。"
    # ... but a phrase keeps its reading against a rarer word that crosses it
    assert zh_phrase_readings("我不了解")[2:] == ["liao3", "jie3"]  # 不了 < 了解
    assert zh_phrase_readings("持有时间")[1] == "you3"  # 有时 crosses 持有, 时间 crosses 有时
    assert speakable("到期一次还本", "zh-CN") == "到期 yi2 次 huan2 本"


# -- C: a code of digits and letters is read one by one -------------------------------------

CODES = [
    ("您的基金账户为98A001234567", "zh-CN", "您的基金账户 wei2 九八 A 零零一二三四五六七"),
    ("基金账户98A001234567已开立", "zh-CN", "基金账户 九八 A 零零一二三四五六七 已开立"),
    ("fund account 98A001234567", "en",
     "fund account nine eight eh zero zero one two three four five six seven"),
    ("合同编号2024A0315", "zh-CN", "合同编号 二零二四 A 零三一五"),  # after a cue, as before
    ("2024Q3", "zh-CN", "二〇二四年第三季度"),  # a year's quarter is no code
]


def test_a_code_of_digits_and_letters_is_read_one_by_one():
    assert _misread(CODES) == []
    assert [w for w, loc, _ in CODES if list(speech_issues(w, loc))] == []


def test_a_short_code_of_digits_and_letters_is_warned():
    (issue,) = list(speech_issues("本期收益12A34", "zh-CN"))
    assert issue.offset == 4 and "12A34" in issue.message
    assert list(speech_issues("编号12A34", "zh-CN")) == []  # after a cue: digits


# -- D: web addresses without a scheme; a Mandarin address's words spelled unless pinyin ----

ADDRESSES = [
    ("深交所互动易平台：irm.cninfo.com.cn。", "zh-CN",
     "深交所互动易平台：I R M 点 C N I N F O 点 com 点 C N。"),
    ("您也可以访问https://www.sse.com.cn查询", "zh-CN",
     "您也可以访问 H T T P S 冒号斜杠斜杠 W W W 点 S S E 点 com 点 C N 查询"),
    ("请发送邮件至service@example.com", "zh-CN",
     "请发送邮件至 S E R V I C E 艾特 E X A M P L E 点 com"),
    ("证监会网站www.csrc.gov.cn", "zh-CN", "证监会网站 W W W 点 C S R C 点 ji1 O V 点 C N"),
    ("zhangsan@163.com", "zh-CN", "zhangsan 艾特 一六三 点 com"),  # pinyin stays a word
    ("Visit irm.cninfo.com.cn.", "en", "Visit I R M dot C N I N F O dot com dot cn."),
    ("See example-securities.com/open", "en", "See example dash securities dot com slash open"),
    # no addresses: tickers, codes, versions, abbreviations
    ("浦发银行（600000.SH）", "zh-CN", "浦发银 hang2 (六零零零零零 点 S H)"),
    ("黄金Au99.99", "zh-CN", "黄金Au九十九点九九"),
    ("V6.2.1", "zh-CN", "V六点二点一"),
    ("P.O. Box 88, e.g. this", "en", "P.O. Box 88, e.g. this"),
]


def test_web_addresses():
    assert _misread(ADDRESSES) == []


# -- E: a full name before 先生 / 女士 after 请, 由, 向, 和, 尊敬的 ... ----------------------

NAMES_BEFORE_MR = [
    ("请单雄信先生确认以下信息", "请 shàn 雄信先生确认以下信 xi1"),
    ("尊敬的单田芳女士", "尊敬的 shàn 田芳女士"),
    ("请曾小贤女士", "请 zēng 小贤女士"),
    ("由解晓东先生办理", "由 xiè 晓东先生办理"),
    ("请万俟卨先生", "请 mò qí 卨先生"),  # a compound surname is in pypinyin's table too
    ("联系人：单于明，曾庆红", "联系人：chán yú 明，zēng 庆红"),
    # no names
    ("请单位负责人先生", "请单位负责人先生"),
    ("请曾经理先生", "请曾经理先生"),
    ("那位先生", "那位先生"),  # was nā 位: "that gentleman"
    ("感谢六位女士", "感谢六位女士"),
    ("和都是先生", "和都是先生"),
]


def test_a_name_before_mr_after_a_word_that_leads_to_it():
    assert _misread([(w, "zh-CN", e) for w, e in NAMES_BEFORE_MR]) == []


# -- F: 为 by its context ---------------------------------------------------------------------

WEI = [
    ("代码为600000", "代码 wei2 六零零零零零"),
    ("收益率为3%", "收益率 wei2 百分之三"),
    ("本产品为R3级产品", "本产品 wei2 R 三 级产品"),
    ("可认定为专业投资者", "可认定 wei2 专业投资者"),
    ("本次转入资金为人民币5,000元", "本次转入资金 wei2 人民币五千元"),
    ("账户持有人为您本人", "账户持有人 wei2 您本人"),
    ("以此为准", "以此 wei2 准"),
    # wèi, the voice's own
    ("客户经理王小明将为您服务", "客户经理王小明将为您服 wu4"),
    ("投资顾问将为客户提供咨询", "投资顾问将为客户提供咨询"),
    ("为保护您的安全，见证全程录像", "为保护您的安全，见证全程录像"),
    ("因为市场波动", "因为市场波动"),
    ("为了您的资金安全", "为了您的资金安全"),
]


def test_wei_by_its_context():
    assert _misread([(w, "zh-CN", e) for w, e in WEI]) == []


def test_the_voice_says_the_copula_wei_rising():
    assert "w'ei35" in _espeak(speakable("代码为600000", "zh-CN"), "zh-CN")
    assert "w'ei51" in _espeak(speakable("将为您服务", "zh-CN"), "zh-CN")


# -- G: times, arrows, unit signs -------------------------------------------------------------

TIMES = [
    ("夜盘交易时间为21:00-次日02:30", "zh-CN", "夜盘交易时间 wei2 二十一点到次日两点三十分"),
    ("下午2:30", "zh-CN", "下午两点三十分"),
    ("Our hotline is staffed Mon-Fri, 8:00 to 20:00.", "en",
     "Our hotline is staffed Monday to Friday, eight AM to eight PM."),
    ("9:30-11:30 and 13:00-15:00", "en",
     "nine thirty AM to eleven thirty AM and one PM to three PM"),
    ("from 12:00 to 13:30", "en", "from twelve noon to one thirty PM"),
    ("21:00-next day 02:30", "en", "nine PM to next day two thirty AM"),
    ("Call at 8:00", "en", "Call at eight o'clock"),  # no 24-hour time: no guess
]


def test_times():
    assert _misread(TIMES) == []


@pytest.mark.parametrize(("written", "locale"), [
    ("请在App中点击“我的”→“账户设置”", "zh-CN"), ("Tap Me → Settings", "en")])
def test_an_arrow_is_warned(written, locale):
    (issue,) = list(speech_issues(written, locale))
    assert written[issue.offset] == "→" and "is not said" in issue.message


def test_a_unit_sign_the_voice_says_is_not_warned():
    assert speakable("该写字楼面积为1200㎡", "zh-CN") == "该写字楼面积 wei2 yi4 千二百平方米"
    assert list(speech_issues("该写字楼面积为1200㎡", "zh-CN")) == []
    assert list(speech_issues("1+1=2, x ≥ 3, ±1, 3~5", "en")) == []  # said symbols
