"""Issue #12, the twentieth session: a name heard otherwise, weighed by the model
(``answers.heard_name``, ``WhisperEngine._name_weighed``). Holdout 24 lost rare names Whisper
base cannot write: 雍晓岚 heard as 晓岚 (the surname dropped), 栾志诚 heard as 览制成 without
the bias, Siobhan Gallagher heard as "Shivorn Gallagher" even with it. What may be weighed is
decided from the text here; the transcripts are the ones Whisper wrote."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.speech import answers as a
from kiosk.speech.expected import Expected
from tests.test_reading_name_bias import _engine, _ZhWorker


def zh(name: str, tail: str = "4721") -> str:
    return f"本人{name}，身份证尾号{tail}，自愿在示例证券开立证券账户。"


def en(name: str, tail: str = "4721") -> str:
    return (f"I, {name}, with ID number ending in {tail}, voluntarily open a securities "
            "account with Example Securities.")


def test_a_dropped_surname_is_weighed_with_the_name_put_back():
    heard = a.heard_name("本人晓岚身份证尾号4721自愿在示例证券开立证券账户", zh("雍晓岚"),
                         "雍晓岚", "zh-CN")
    assert heard is not None
    assert (heard.written, heard.heard, heard.weigh) == ("雍晓岚", "晓岚", ())
    assert heard.repaired == "本人雍晓岚身份证尾号4721自愿在示例证券开立证券账户"


def test_a_rare_surname_heard_as_no_common_surname_is_weighed_alone():
    heard = a.heard_name("本人览制成", zh("栾志诚"), "栾志诚", "zh-CN")
    assert heard is not None and heard.weigh == (0,) and heard.heard == "览制成"


@pytest.mark.parametrize("heard, name", [
    ("本人黄建国身份证尾号4721", "王建国"),  # huang: a common surname
    ("本人理建国身份证尾号4721", "王建国"),  # li, as 李
    ("本人张文博身份证尾号4721", "阮文博"),
    ("本人页梦洁身份证尾号4721", "晏梦洁"),  # ye, as 叶
    ("本人留下好身分政委号司721", "钮家豪"),  # liu, as 刘, though l/n are alike
])
def test_a_surname_heard_as_a_common_one_is_another_family(heard, name):
    assert a.heard_name(heard, zh(name), name, "zh-CN") is None


def test_a_given_name_heard_otherwise_is_weighed_character_by_character():
    heard = a.heard_name("本人王建华身份证尾号4721", zh("王建国"), "王建国", "zh-CN")
    assert heard is not None and heard.weigh == (2,)


def test_a_name_heard_as_written_or_alike_needs_no_weighing():
    assert a.heard_name("本人王建国身份证尾号4721", zh("王建国"), "王建国", "zh-CN") is None
    assert a.heard_name("本人汪建国身份证尾号4721", zh("王建国"), "王建国", "zh-CN") is None


def test_only_a_dropped_surname_is_weighed():
    assert a.heard_name("本人岚身份证尾号4721", zh("雍晓岚"), "雍晓岚", "zh-CN") is None
    assert a.heard_name("本人婷身份证尾号4721", zh("谢婷"), "谢婷", "zh-CN") is None
    assert a.heard_name("本人雍岚身份证尾号4721", zh("雍晓岚"), "雍晓岚", "zh-CN") is None
    # a near name read short: 4.1 nats less likely as written, too near the bound to weigh
    assert a.heard_name("本人欧阳娜身份证尾号4721", zh("欧阳娜娜"), "欧阳娜娜", "zh-CN") is None


@pytest.mark.parametrize("heard, name", [
    (en("Shivorn Gallagher"), "Siobhan Gallagher"),
    ("I and as Mikkelsen with ID number ending in 4-7-21", "Anders Mikkelsen"),
    ("I am a Carter, with ID number ending in 4721", "Emily Carter"),  # Emma read
    # the fresh tester: a spoken Llewellyn stood for "Llewell" (the written name's tokens a
    # prefix of the heard one's), a spoken Donoghue for Donaghy
    (en("Rhiannon Llewellyn"), "Rhiannon Llewell"),
    (en("Am Donacue"), "Niamh Donaghy"),
])
def test_no_english_name_is_weighed(heard, name):
    assert a.heard_name(heard, en(name), name, "en") is None


def test_nothing_heard_where_the_name_was_is_not_weighed():
    assert a.heard_name("with ID number ending in 4721", en("Siobhan Gallagher"),
                        "Siobhan Gallagher", "en") is None


def test_the_common_surnames_are_single_characters_without_repeats():
    assert len(a.ZH_COMMON_SURNAMES) == 100
    assert all(len(c) == 1 for c in a.ZH_COMMON_SURNAMES)


def test_a_compound_surnames_second_character_is_weighed_not_taken_for_a_family():
    heard = a.heard_name("本人零五月 身份仲伟后四期二一", zh("令狐月"), "令狐月", "zh-CN")
    assert heard is not None and heard.weigh == (1,)


# --- the engine (the Whisper worker replaced by a stand-in) -------------------------------------

class _Worker(_ZhWorker):
    """The stand-in of tests/test_reading_name_bias.py (first decode ``heard``, beams without
    the bias ``unbiased``, the written text ``odds`` nats less likely on its last character,
    one token per character), also asked for a beam's alternatives."""

    def alternatives(self, pcm, language, hotwords, n=5):
        return [(self.heard, -0.3)]


def _zh_reading(name: str) -> Expected:
    return Expected("read_aloud", text=zh(name), required=(name, "4721", "示例证券"))


# the written name has one character more, 0.5 nats in the stand-in: 3.4 + 0.5 is within 4.0
@pytest.mark.parametrize("odds, intent", [(0.0, "phrase"), (3.4, "phrase"), (3.6, "unclear")])
def test_a_surname_the_first_decode_dropped_is_weighed(odds, intent):
    heard = "本人晓岚身份证委号4721 自愿在势力证券开立证券账户"
    worker = _Worker(heard, [heard], odds)
    r = _engine(worker).recognize(np.zeros(16000, np.int16), _zh_reading("雍晓岚"))
    assert r.intent == intent, r
    assert ["本人雍晓岚", "本人晓岚"] in worker.forced
    if intent == "phrase":
        assert "heard as '晓岚'" in r.note and "it stands" in r.note


def test_a_rare_surname_heard_otherwise_without_the_bias_is_weighed():
    worker = _Worker("本人栾志诚 身份证尾号4721 自愿在示例证券开立证券账户",
                     ["本人览制成 身分众委号4721 自愿在势力政权开立政权账户"], 1.0)
    r = _engine(worker).recognize(np.zeros(16000, np.int16), _zh_reading("栾志诚"))
    assert r.intent == "phrase", r
    assert ["本人栾志诚", "本人览制成"] in worker.forced


def test_a_common_surname_heard_is_another_family_whatever_the_odds():
    worker = _Worker("本人留下好身分政委号4721 自愿在势力证券开立证券账户",
                     ["本人刘家豪 身分众委号4721"], 0.0)
    r = _engine(worker).recognize(np.zeros(16000, np.int16), _zh_reading("钮家豪"))
    assert r.intent == "unclear", r


def test_an_english_name_written_in_pieces_is_not_weighed():
    text = en("Siobhan Gallagher")
    exp = Expected("read_aloud", text=text, required=("Siobhan Gallagher", "4721",
                                                      "Example Securities"))
    heard = en("Shivorn Gallagher")
    worker = _Worker(heard, [heard], 0.0)
    r = _engine(worker, "en").recognize(np.zeros(16000, np.int16), exp)
    assert r.intent == "unclear", r
    assert not any("Shivorn" in t for pair in worker.forced for t in pair)
