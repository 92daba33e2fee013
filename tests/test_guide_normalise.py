"""The guide says what is written (#15): the normaliser, flow variables, intake, check, preview.

End-to-end rows render through the real GuideVoice (espeak-ng) and compare espeak-ng's phonemes
for what the voice said with its phonemes for the reading the issue asks for.
"""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata

import pytest
from click.testing import CliRunner

from kiosk.config import REPO_ROOT
from kiosk.errors import FlowError
from kiosk.flows.cli import flows as flows_cli
from kiosk.flows.loader import check_flow, load_flow, speech_warnings
from kiosk.guide import GuideVoice
from kiosk.guide.normalise import normalise_name, speakable, speech_issues
from kiosk.guide.tts import DEFAULT_VOICES
from kiosk.web.api import Applicant

# (written, locale, what the voice must get) -- the issue's table, then its English rows.
ROWS = [
    ("年化收益率3.5%", "zh-CN", "年化收益率百分之三点五"),
    ("费率0.15％", "zh-CN", "费率百分之零点一五"),
    ("身份证尾号105X", "zh-CN", "身份证尾号 一零五 X"),
    ("尾号1012", "zh-CN", "尾号 一零一二"),
    ("2024年1月1日", "zh-CN", "二〇二四年一月一日"),
    ("客服电话95588", "zh-CN", "客服电话 九五五八八"),
    ("T+1交收", "zh-CN", "T加一交收"),
    ("ETF", "zh-CN", "E T F"),
    ("王𠇔", "zh-CN", "王 tuo1"),
    ("买买提・艾力", "zh-CN", "买买提 艾力"),
    ("ID ending in 8888", "en", "I D ending in eight eight eight eight"),
    ("annual yield 3.5%", "en", "annual yield 3.5%"),
    ("fee 0.15％", "en", "fee 0.15%"),
    ("ID ending in 105X", "en", "I D ending in one zero five X"),
    ("on 2024-01-01", "en", "on January 1, 2024"),
    ("hotline 95588", "en", "hotline nine five five eight eight"),
    ("T+1 settlement", "en", "T+1 settlement"),
    ("an ETF", "en", "an E T F"),
    ("Mr 王𠇔", "en", "Mr Wang Tuo"),
    ("Maimaiti・Aili", "en", "Maimaiti Aili"),
]

# The rest of the classes the issue names: ranges, signs, money, times, per mille.
MORE = [
    ("3-5个工作日", "zh-CN", "三到五个工作日"),
    ("3%–5%", "zh-CN", "百分之三到百分之五"),
    ("收益-3.5%", "zh-CN", "收益负百分之三点五"),
    ("±2%", "zh-CN", "正负百分之二"),
    ("10000元", "zh-CN", "一万元"),
    ("1.5万元", "zh-CN", "一点五万元"),
    ("¥1,000.50", "zh-CN", "一千点五元"),
    ("下午3:30", "zh-CN", "下午三点三十分"),
    ("9:05开市", "zh-CN", "九点零五分开市"),
    ("下跌2‰", "zh-CN", "下跌千分之二"),
    ("请拨打4008888888", "zh-CN", "请拨打四零零八八八八八八八"),
    ("2024-01-01", "zh-CN", "二〇二四年一月一日"),
    ("ＡＢＣ基金", "zh-CN", "A B C 基金"),
    ("3–5 days", "en", "3 to 5 days"),
    ("−3.5%", "en", "minus 3.5%"),
    ("$1,000.50", "en", "1000 dollars and 50 cents"),
    ("1.5万元", "en", "15000 yuan"),
    ("R&D", "en", "R and D"),
]


@pytest.mark.parametrize(("written", "locale", "spoken"), ROWS + MORE)
def test_speakable(written, locale, spoken):
    assert speakable(written, locale) == spoken


def test_no_code_points_and_no_english_symbols_in_mandarin():
    for written, _, _ in ROWS[:10]:
        said = speakable(written, "zh-CN")
        assert not re.search(r"[%％+&・]|U\+|20[0-9A-F]{3}", said), said


# -- end to end: the real voice, espeak-ng's phonemes ------------------------------------------

def espeak(text: str, locale: str) -> str:
    return subprocess.run(["espeak-ng", "-x", "-q", "-v", DEFAULT_VOICES[locale], text],
                          capture_output=True, text=True, check=True, timeout=30).stdout


def phonemes(text: str, locale: str) -> str:
    """espeak-ng's phonemes for ``text``: tones, stress, pauses and spaces dropped."""
    return re.sub(r"[0-9',_:|\s]", "", espeak(text, locale))


# What the guide must be heard to say, in plain words espeak-ng reads without help.
HEARD = {
    "年化收益率3.5%": "百分之三点五",
    "费率0.15％": "百分之零点一五",
    "身份证尾号105X": "一零五",
    "尾号1012": "一零一二",
    "2024年1月1日": "二零二四年一月一日",
    "客服电话95588": "九五五八八",
    "T+1交收": "加一",
    "王𠇔": "王 tuo1",
    "买买提・艾力": "买买提艾力",
    "ID ending in 8888": "eight eight eight eight",
    "annual yield 3.5%": "three point five percent",
    "ID ending in 105X": "one zero five",
    "on 2024-01-01": "January",
    "hotline 95588": "nine five five eight eight",
    "T+1 settlement": "T plus one",
    "an ETF": "E T F",
    "Mr 王𠇔": "Wang Tuo",
}


@pytest.fixture(scope="module")
def guide(tmp_path_factory):
    with GuideVoice(tmp_path_factory.mktemp("tts")) as g:
        yield g


@pytest.mark.parametrize(("written", "locale", "spoken"), ROWS)
def test_the_voice_says_it(guide, written, locale, spoken):
    prompt = guide.render(written, locale)
    assert (prompt.text, prompt.spoken) == (written, spoken)
    assert prompt.duration > 0.3
    said = phonemes(prompt.spoken, locale)
    if locale == "zh-CN":
        assert "(en)" not in said, f"{written}: the voice switched to English: {said}"
    if written in HEARD:
        assert phonemes(HEARD[written], locale) in said, (written, said)
    if written == "ETF":  # letter by letter: three syllables, not one English word
        assert espeak(prompt.spoken, locale).count("_|") == 3, said
    if written == "身份证尾号105X":
        assert phonemes("百", locale) not in said  # not 一百零五


def test_cache_is_keyed_by_what_is_said(guide):
    a = guide.render("尾号{x}", "zh-CN", spoken="尾号 一零一二")
    b = guide.render("尾号{x}", "zh-CN", spoken="尾号 一千零一十二")
    assert a.sha256 != b.sha256
    same = guide.render("尾号 一零一二", "zh-CN")  # other written text, same spoken text
    assert same.sha256 == a.sha256 and same.text == "尾号 一零一二"
    hits = guide.stats["cache_hits"]
    assert guide.render("尾号{x}", "zh-CN", spoken="尾号 一零一二").sha256 == a.sha256
    assert guide.stats["cache_hits"] == hits + 1


def test_lip_sync_follows_the_spoken_audio(guide):
    """The mouth timeline spans the normalised audio, so it moves while 百分之三点五 is said."""
    p = guide.render("3.5%", "zh-CN")
    assert p.spoken == "百分之三点五"
    assert p.visemes[-1][0] == pytest.approx(p.duration, abs=0.02)
    open_frames = [t for t, v in p.visemes if v > 0.2]
    # Six syllables take far longer than the two words "san wu" the raw text gave.
    assert open_frames[-1] - open_frames[0] > 0.8


# -- flow variables -----------------------------------------------------------------------------

FLOW = """\
id: norm
version: 1
title: {zh-CN: 测试, en: Test}
locales: [zh-CN, en]
steps:
  - id: hello
    kind: say
    text:
      zh-CN: "{name}，您的身份证尾号{id_last4}，编号{id_last4:number}。"
      en: "{name}, your ID ends in {id_last4}; as an amount {id_last4:number}."
"""


def test_variables_are_read_by_their_reading(tmp_path):
    path = tmp_path / "norm.yaml"
    path.write_text(FLOW, encoding="utf-8")
    flow = load_flow(path)
    step = flow.steps[0]
    values = {"name": "买买提・艾力", "id_last4": "1012"}
    assert flow.prompt_text(step, "zh-CN", values) == "买买提・艾力，您的身份证尾号1012，编号1012。"
    assert flow.prompt_text(step, "zh-CN", values, spoken=True) == \
        "买买提 艾力，您的身份证尾号 一零一二，编号 一千零一十二。"
    assert flow.prompt_text(step, "en", values, spoken=True) == \
        "Mai Mai Ti Ai Li, your I D ends in one zero one two; as an amount 1012."


def test_unknown_reading_is_a_problem_with_its_place():
    text = FLOW.replace("{id_last4:number}。", "{id_last4:numbr}。")
    (problem,) = check_flow("norm.yaml", text)
    assert (problem.line, problem.col) == (9, 14)
    assert "reads {id_last4} as 'numbr'" in problem.message and "did you mean 'number'" in \
        problem.message


def test_plan_carries_written_and_spoken_text():
    from random import Random

    from kiosk.web.controller import plan_witness

    flow = load_flow(REPO_ROOT / "flows" / "securities_account_opening.yaml")
    plan = plan_witness(flow, "zh-CN", {"name": "王𠇔", "id_last4": "105X"}, Random(0))
    identity = next(s for s in plan if s.id == "identity")
    assert "王𠇔，身份证尾号105X" in identity.text  # the subtitle: as written
    assert "本人 王 tuo1，身份证尾号 一零五 X，" in identity.spoken  # the voice


# -- intake -------------------------------------------------------------------------------------

@pytest.mark.parametrize("dot", ["\u30fb", "\u2022", "\u2027", "\uff65", "\u00b7", "\u2219"])
def test_applicant_name_is_normalised_at_intake(dot):
    decomposed = unicodedata.normalize("NFD", "José")
    a = Applicant(name=f"  买买提{dot}艾力 {decomposed}\u3000", id_number="11010519491231002X")
    assert a.name == "买买提\u00b7艾力 José"
    assert a.name == normalise_name(a.name)
    assert Applicant(name="王", id_number="１１０１０５１９４９１２３１００２Ｘ").id_number == \
        "11010519491231002X"


def test_blank_name_is_refused():
    with pytest.raises(ValueError, match="must not be blank"):
        Applicant(name="\u3000\u3000", id_number="11010519491231002X")


# -- kiosk flows check ---------------------------------------------------------------------------

BAD = """\
id: bad
version: 1
title: {zh-CN: 测试, en: Test}
locales: [zh-CN, en]
steps:
  - id: hello
    kind: say
    text:
      zh-CN: "请拨打4008888888，王𪜀好*。"
      en: "Call 4008888888 now ★"
"""


def test_check_warns_where_the_voice_would_fail(tmp_path):
    assert check_flow("bad.yaml", BAD) == []  # warnings never make a flow invalid
    found = [(w.line, w.col, w.message.split(": ", 2)[2]) for w in
             speech_warnings("bad.yaml", BAD)]
    assert found == [
        (9, 18, "digits 4008888888 are read one by one as a guess; say what they are (电话/编号/'number ...' before them) or write a quantity with its unit"),  # noqa: E501 -- the exact message
        (9, 30, "character 𪜀 (U+2A700) has no known reading; the voice skips it, so write another character or its pinyin"),  # noqa: E501 -- the exact message
        (9, 32, "symbol * would be read as an English word or skipped; write it in words"),
        (10, 17, "digits 4008888888 are read one by one as a guess; say what they are (电话/编号/'number ...' before them) or write a quantity with its unit"),  # noqa: E501 -- the exact message
        (10, 32, "symbol ★ (U+2605) cannot be spoken; write it in words"),
    ]
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    r = CliRunner().invoke(flows_cli, ["check", str(path)])
    assert r.exit_code == 0, r.output
    assert f"{path}:9:18: warning: step 'hello': digits 4008888888" in r.output
    assert r.output.strip().endswith("(1 steps, 5 speech warning(s))")


def test_shipped_flows_have_no_speech_warnings():
    for path in sorted((REPO_ROOT / "flows").glob("*.yaml")):
        assert speech_warnings(path) == [], path


def test_cued_and_quantity_digits_are_not_warned():
    assert list(speech_issues("客服电话95588，共10000元", "zh-CN")) == []
    assert list(speech_issues("our hotline 95588, 10000 shares", "en")) == []


# -- kiosk flows preview --json ------------------------------------------------------------------

def test_preview_json_shows_written_spoken_audio_and_duration(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "norm.yaml"
    path.write_text(FLOW, encoding="utf-8")
    r = CliRunner().invoke(flows_cli, ["preview", str(path), "--locale", "zh-CN", "--json",
                                       "--cache-dir", str(tmp_path / "cache")])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    (loc,) = doc["locales"]
    (step,) = loc["steps"]
    (prompt,) = step["prompts"]
    assert prompt["written"] == "欧阳娜娜，您的身份证尾号1234，编号1234。"
    assert prompt["spoken"] == "欧阳娜娜，您的身份证尾号 一二三四，编号 一千二百三十四。"
    assert prompt["audio"] == str(tmp_path / "cache" / f"{prompt['sha256']}.wav")
    assert 1.0 < prompt["duration"] < 10.0
    assert loc["locale"] == "zh-CN" and step["spoken_seconds"] == round(prompt["duration"], 2)


def test_flow_error_for_a_variable_without_value():
    flow = load_flow("norm.yaml", FLOW)
    with pytest.raises(FlowError, match="has no value"):
        flow.prompt_text(flow.steps[0], "zh-CN", {}, spoken=True)


# Found by a fresh tester of issue #15: phone numbers written with group separators, and ID
# tails named without 尾号 / "ending in", were read as ranges, minus signs and whole numbers.
@pytest.mark.parametrize(("written", "locale", "spoken"), [
    ("致电400-820-8820", "zh-CN", "致电四零零八二零八八二零"),
    ("热线400-820-8820", "zh-CN", "热线 四零零八二零八八二零"),
    ("身份证后四位8888", "zh-CN", "身份证后四位 八八八八"),
    ("证件末四位1012", "zh-CN", "证件末四位 一零一二"),
    ("身份证号码后四位是1012", "zh-CN", "身份证号码后四位是 一零一二"),
    ("银行卡号6225 8801 2345 6789", "zh-CN", "银行卡号 六二二五八八零一二三四五六七八九"),
    ("100-500元", "zh-CN", "一百到五百元"),  # still a range
    ("call 400-820-8820", "en", "call four zero zero eight two zero eight eight two zero"),
    ("Tel: (021) 6888-1234", "en", "Tel: zero two one six eight eight eight one two three four"),
    ("The last four digits of your ID are 8888", "en",
     "The last four digits of your I D are eight eight eight eight"),
    ("Your ID tail 8888", "en", "Your I D tail eight eight eight eight"),
    ("3-5 business days", "en", "3 to 5 business days"),  # still a range
    # Ranges with units on both ends, and clock-time ranges, say 到 (were a minus / silent).
    ("100万-500万元", "zh-CN", "一百万到五百万元"),
    ("0.5倍-2倍", "zh-CN", "零点五倍到二倍"),
    ("9:30-11:30", "zh-CN", "九点三十分到十一点三十分"),
    ("收益-2%", "zh-CN", "收益负百分之二"),  # still a sign
    # Plural acronyms: spelled, with the plural said in English and dropped in Mandarin.
    ("ETFs and REITs", "en", "E T F's and R E I T's"),
    ("REITs基金", "zh-CN", "R E I T 基金"),
])
def test_identifiers_written_with_separators_or_named_otherwise(written, locale, spoken):
    assert speakable(written, locale) == spoken
