"""#15, tester round seven: the classes it found wrong, the false flow-check warnings, and the
warnings for what the rules still cannot read. (A file of its own, next to
test_guide_normalise.py, whose helpers it uses.)"""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner

from kiosk.flows.cli import flows as flows_cli
from kiosk.guide.normalise import read_variable, speakable, speech_issues
from kiosk.guide.tts import DEFAULT_VOICES

# (written, locale, what the voice must get), in the tester's order of importance.
ROWS = [
    # the English letter A: espeak-ng en-us says a lone A as the article ("uh"); "eh" is the
    # letter (A shares, AAA, NAV, A-prefixed IDs); the article stays
    ("One GDR represents 10 A shares.", "en", "One G D R represents 10 eh shares."),
    ("Class A shares", "en", "Class eh shares"),
    ("A-share investors", "en", "eh-share investors"),
    ("rated AAA", "en", "rated triple eh"),  # speakable/17: a rating as said
    ("rated AA+", "en", "rated double eh plus"),
    ("the NAV is 1.02", "en", "the N eh V is 1.02"),
    ("HK ID A123456(7)", "en", "H K I D eh one two three four five six (7)"),
    ("A 30% loss", "en", "A 30% loss"),
    ("A fee applies.", "en", "A fee applies."),
    ("We report under FATCA.", "en", "We report under Fatca."),
    # phone numbers with a bracketed area code, or dashes US style
    ("香港客户请拨打(852)2509 8333", "zh-CN", "香港客户请拨打八五二二五零九八三三三"),
    ("香港客户请拨打(852) 2509-8333", "zh-CN", "香港客户请拨打八五二二五零九八三三三"),
    ("reached at (852) 2509 8333", "en",
     "reached at eight five two two five zero nine eight three three three"),
    ("call 1 (800) 123-4567", "en",
     "call one eight zero zero one two three four five six seven"),
    ("Please dial 1-800-123-4567", "en",
     "Please dial one eight zero zero one two three four five six seven"),
    # codes and tickers
    ("期权交易代码如510050C2412M02500", "zh-CN",
     "期权交易代码如 五一零零五零 C 二四一二 M 零二五零零"),
    ("代码为688xxx或689xxx", "zh-CN", "代码 wei2 六八八 X X X 或六八九 X X X"),
    ("中证A500指数", "zh-CN", "中证A五百指数"),
    ("特斯拉（TSLA.US）", "zh-CN", "特斯拉(T S L A 点 U S)"),
    ("浦发银行（600000.SH）", "zh-CN", "浦发银 hang2 (六零零零零零 点 S H)"),
    ("恒生科技指数（HSTECH）", "zh-CN", "恒生科技指数(H S T E C H)"),
    ("the Hang Seng TECH Index (HSTECH)", "en", "the Hang Seng Tech Index (H S Tech)"),
    ("Apple (AAPL.O)", "en", "Apple (eh eh P L dot O)"),
    ("P.O. Box 88", "en", "P.O. Box 88"),  # no ticker
    ("PM2.5为10 PM2.5", "zh-CN", "P M 二点五 wei2 十 P M 二点五"),  # no p.m.
    # slashes
    ("同类排名128/356", "zh-CN", "同类排名第一百二十八名，共三百五十六名"),
    ("交易单位为1000桶/手", "zh-CN", "交易单位 wei2 yi4 千桶每手"),
    ("近1年/近3年年化收益率为3.5%/4.1%", "zh-CN",
     "近 yi4 年和近三年年化收益率分别 wei2 百分之三点五和百分之四点一"),
    ("2025/26财年", "zh-CN", "二〇二五至二六财年"),
    ("The USD/CNY rate", "en", "The U S dollar to yuan rate"),  # speakable/10's pair rule
    ("partly filled: 60/100", "en", "partly filled: 60 of 100"),
    ("a 50/50 split", "en", "a 50 50 split"),
    ("ranks 128/356", "en", "ranks one hundred twenty eighth of 356"),
    ("due on 12/31", "en", "due on December 31"),  # a date stays a date
    # dates and times
    ("请于25年3月31日前", "zh-CN", "请于二五年三月三十一日前"),
    ("办公时间：9:00am-5:00pm", "zh-CN", "办公时间：上午九点到下午五点"),
    ("请于下午5:00pm前", "zh-CN", "请于下午五点前"),
    ("due by 11:59 p.m.", "en", "due by eleven fifty nine PM."),
    ("until 5:00 p.m. Beijing time", "en", "until five PM Beijing time"),
    # room ranges
    ("32楼3201-02室", "zh-CN", "三十二楼三二零一至零二室"),
    ("3201至3202室", "zh-CN", "三二零一至三二零二室"),
    ("Suite 3201-02", "en", "Suite thirty two oh one to oh two"),
    # multipliers of four digits or more
    ("subscription ratio was 3,125x", "en", "subscription ratio was 3125 times"),
    ("a 1,000x leverage", "en", "a 1000 times leverage"),
    ("认购倍数为3125x", "zh-CN", "认购倍数 wei2 三千一百二十五倍"),
    ("身份证尾号3125x", "zh-CN", "身份证尾号 三一二五 X"),  # an ID tail stays one
    # 万 written w / W
    ("资产门槛为50W，创业板为10w", "zh-CN", "资产门槛 wei2 五十万，创业板 wei2 十万"),
    ("约1.5w元", "zh-CN", "约一点五万元"),
    ("2000W像素", "zh-CN", "两千万像素"),
    ("65W快充", "zh-CN", "六十五W快充"),
    ("额定功率100W", "zh-CN", "额定功率 yi4 百W"),  # watts
    # a minus in a formula before a number
    ("溢价率=（可转债价格÷转换价值-1）×100%", "zh-CN",
     "溢价率等于(可转债价格除以转换价值减一)乘以百分之一百"),
    # surnames after a role word with 为 / 是, or before a verb
    ("请客户经理朴成浩协助您", "zh-CN", "请客户经理 piáo 成浩协助您"),
    ("您的投资顾问为仇小红", "zh-CN", "您的投资顾问 wei2 qiú 小红"),
    ("本次见证人员为查良镛", "zh-CN", "本次见证人员 wei2 zhā 良镛"),
    ("您的投资顾问为查询提供帮助", "zh-CN", "您的投资顾问为查询提供帮助"),  # 查询: no name
    # names in free English text (Ms. is Miz since round 12)
    ("Hello Ms. Nguyễn Thị Minh Khai", "en", "Hello Miz Nguyen Thi Minh Khai"),
    ("Dear Mr. SMITH John Paul", "en", "Dear Mr. Smith John Paul"),
    ("José García", "en", "José García"),  # marks the English voice says are kept
    # Greek letter names in Mandarin, one way
    ("Vega为0.15，Theta为-0.03，Delta为0.5，Gamma为0.1", "zh-CN",
     "维加 wei2 零点一五，西塔 wei2 负零点零三，德尔塔 wei2 零点五， ga1 ma3 wei2 零点一"),
    # minor
    ("股价在20.00至100.00港元之间", "zh-CN", "股价在二十至一百港元之间"),
    ("近1M、3M、6M、1Y收益", "zh-CN", "近 yi2 个月、三个月、六个月、 yi4 年收益"),
]


@pytest.mark.parametrize(("written", "locale", "spoken"), ROWS)
def test_round_seven_classes(written, locale, spoken):
    assert speakable(written, locale) == spoken


@pytest.mark.parametrize(("name", "locale", "spoken"), [
    ("阿西木呷", "en", "Axi Muga"), ("阿西木呷", "zh-CN", "阿西木 gā"),
    ("次仁卓玛", "en", "Ciren Zhuoma"), ("次仁卓玛", "zh-CN", "次仁卓玛"),
    ("哈斯额尔敦", "en", "Hasi Eerdun"), ("哈斯额尔敦", "zh-CN", "哈斯额尔敦"),
    ("区 志华", "en", "Ou Zhihua"), ("区 志华", "zh-CN", "ōu 志华"),
    ("Nguyễn Thị Minh Khai", "en", "Nguyen Thi Minh Khai"),
    ("哈林", "zh-CN", "hǎ 林"),  # a Han name with the surname 哈 keeps its reading
])
def test_round_seven_names(name, locale, spoken):
    assert read_variable(name, "name", locale) == spoken


def _espeak(text: str, locale: str) -> str:
    return subprocess.run(["espeak-ng", "-x", "-q", "-v", DEFAULT_VOICES[locale], text],
                          capture_output=True, text=True, check=True, timeout=30).stdout


@pytest.mark.parametrize(("written", "locale", "heard"), [
    ("10 A shares", "en", "'eI"), ("the NAV", "en", "'eI"), ("rated AAA", "en", "'eI"),
    ("Vega为0.15", "zh-CN", "w'ei35"), ("Theta为0.1", "zh-CN", "S;'i55_| th'A"),  # 维加, 西塔
])
def test_the_voice_says_the_letter_and_the_greek_names(written, locale, heard):
    said = _espeak(speakable(written, locale), locale)
    assert heard in said and "a#" not in said, said


# `flows check`: the tester's false warnings, which the rules read right.
@pytest.mark.parametrize(("written", "locale"), [
    ("港股通交易时间为9:30-12:00，13:00-16:00", "zh-CN"),
    ("验证码为386412，5分钟内有效", "zh-CN"),
    ("中签号码为：10012345、10056789", "zh-CN"),
    ("贝特瑞（835185）", "zh-CN"),
    ("浦发银行（600000.SH）", "zh-CN"),
    ("您账户中的“中国平安”（601318）已被列入ST风险警示板。", "zh-CN"),
    ("北交所股票代码示例：920001.BJ。", "zh-CN"),
    ("期权交易代码如510050C2412M02500", "zh-CN"),
    ("香港客户请拨打(852)2509 8333", "zh-CN"),
    ("Call 1-800-123-4567 or (852) 2509 8333.", "en"),
])
def test_round_seven_false_warnings_are_gone(written, locale):
    assert list(speech_issues(written, locale)) == []


@pytest.mark.parametrize(("written", "warned"), [
    ("最低投资3，000元", "a thousands separator"), ("C3，100万元", "a list"),
    ("共3，200名", "a list")])
def test_an_ambiguous_full_width_comma_is_still_warned(written, warned):
    (issue,) = [i for i in speech_issues(written, "zh-CN") if "comma" in i.message]
    assert f"is read as {warned}" in issue.message


# What still cannot be read well is warned: a bare 3125x (a multiple or an ID tail?) and a
# slash whose first number is the larger (read as a fraction).
@pytest.mark.parametrize(("written", "locale", "at", "says"), [
    ("本期收益为3125x", "zh-CN", 5, "3125倍"),
    ("returns of 3125x", "en", 11, "3125 times"),
    ("参见2025/26报告", "zh-CN", 2, "26分之2025"),
])
def test_round_seven_warnings(written, locale, at, says):
    (issue,) = list(speech_issues(written, locale))
    assert issue.offset == at and says in issue.message


@pytest.mark.parametrize(("written", "locale"), [
    ("认购倍数为3125x", "zh-CN"), ("身份证尾号3125x", "zh-CN"), ("2025/26财年", "zh-CN"),
    ("请于12/5前完成", "zh-CN"), ("ranks 128/356", "en"), ("due on 12/25/2025", "en"),
    ("Our 24/7 hotline is 0755-95565.", "en")])
def test_round_seven_warnings_spare_what_is_read(written, locale):
    assert list(speech_issues(written, locale)) == []


def test_flows_check_has_no_round_seven_false_warnings(tmp_path):
    flow = tmp_path / "t.yaml"
    flow.write_text("""id: t
version: 1
title: {zh-CN: 测试, en: Test}
locales: [zh-CN, en]
broker: {zh-CN: 示例证券, en: Example Securities}
priority: normal
retention_years: 20
steps:
  - id: a
    kind: say
    title: {zh-CN: 规则, en: Rules}
    text:
      zh-CN: "港股通交易时间为9:30-12:00，13:00-16:00。验证码为386412，5分钟内有效。"
      en: "Our Hong Kong office can be reached at (852) 2509 8333."
  - id: b
    kind: say
    title: {zh-CN: 代码, en: Codes}
    text:
      zh-CN: "中签号码为：10012345、10056789。贝特瑞（835185）。期权交易代码如510050C2412M02500。"
      en: "Shanghai Pudong Development Bank (600000.SH) is suspended today."
""", encoding="utf-8")
    result = CliRunner().invoke(flows_cli, ["check", str(flow)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output.lower(), result.output
