"""An ID tail heard with a collapse that does not settle it (700: 7700 or 7000) is settled by
forced choice: the same Whisper model scores each candidate tail on the same audio
(``answers.ambiguous_tails``, ``answers.tail_score``, ``answers.settled_by_forced_choice``,
``WhisperEngine._reading_by_forced_choice``). Measured in docs/evaluation.md ("settled by
forced choice"); the benchmark is ``scripts/bench_forced_choice.py``."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.speech import answers
from kiosk.speech.answers import (
    FORCED_CHOICE_MARGIN,
    TailChoice,
    ambiguous_tails,
    score_reading,
    settled_by_forced_choice,
    tail_score,
)
from kiosk.speech.engines.base import read_aloud_result
from kiosk.speech.expected import Expected

TEXT = "本人张三，身份证尾号{}，自愿在示例证券开立证券账户。"
REQUIRED = ("张三", "{}", "示例证券")


def req(tail: str) -> tuple[str, ...]:
    return tuple(r.format(tail) for r in REQUIRED)


# --- candidates (pure) -------------------------------------------------------------------------

@pytest.mark.parametrize("heard,tail,candidates", [
    ("本人张三，身份证尾号700，自愿在示例证券开立证券账户", "7700", ("7700", "7000")),
    ("本人张三，身份证尾号700，自愿在示例证券开立证券账户", "7000", ("7000", "7700")),
    ("本人张三 身份证委号315 自愿在示例证券开立证券账户", "3115", ("3115", "3155", "3315")),
    ("本人张三 身份证委号620 自愿在示例证券开立证券账户", "6620", ("6620", "6200", "6220")),
    ("本人张三 身份证委号002 自愿在示例证券开立证券账户", "0002", ("0002", "0022")),
])
def test_the_candidates_are_the_shown_tail_first_then_every_neighbour(heard, tail, candidates):
    [choice] = ambiguous_tails(heard, "zh-CN", req(tail))
    assert choice.item == tail and choice.candidates == candidates
    assert heard[choice.start:choice.end] == heard.split("号")[1][:3]
    assert not choice.chinese


def test_a_group_written_in_chinese_digits_is_located_and_rewritten():
    heard = "本人张三 身份证委号七零零 自愿在示例证券开立证券账户"
    [choice] = ambiguous_tails(heard, "zh-CN", req("7700"))
    assert choice.chinese and choice.candidates == ("7700", "7000")
    assert [t for t, _, _ in choice.texts(heard)] == [
        "本人张三 身份证委号七七零零 自愿在示例证券开立证券账户",
        "本人张三 身份证委号七零零零 自愿在示例证券开立证券账户"]
    assert [t for t, _, _ in choice.texts(heard, "arabic")] == [
        "本人张三 身份证委号7700 自愿在示例证券开立证券账户",
        "本人张三 身份证委号7000 自愿在示例证券开立证券账户"]
    for text, a, b in choice.texts(heard, "chinese"):
        assert text[a:b] in ("七七零零", "七零零零")


@pytest.mark.parametrize("heard,tail,group,candidates", [
    # Tuning voices' transcripts: zh-xiaobei's 4227 and zh-xiaoni's 7000 (for a 7700 tail).
    ("本人张三 神奋众委号42期 自愿在示例证券开立证券账户", "4227", "42期",
     ("4227", "4277", "4427")),
    ("本人张三 分争位好起00 资源在实力证券开立证券账户", "7700", "起00", ("7700", "7000")),
    # zh-xiaobei's 3115 at 0.9 once trimmed to its speech (Recognizer.verify): 3-1-5.
    ("本人李娜身份证委号3-1-5 自愿在示例证券开立证券账户", "3115", "3-1-5",
     ("3115", "3155", "3315")),
])
def test_characters_read_like_digits_belong_to_the_group(heard, tail, group, candidates):
    [choice] = ambiguous_tails(heard, "zh-CN", (tail,))
    assert heard[choice.start:choice.end] == group and choice.candidates == candidates
    assert choice.texts(heard, "chinese")[0][0] == heard.replace(group, "".join(
        answers.ZH_DIGIT_OF[d] for d in tail))


@pytest.mark.parametrize("heard,tail", [
    ("本人张三，身份证尾号7700，自愿在示例证券开立证券账户", "7700"),   # heard whole
    ("本人张三，身份证尾号888，自愿在示例证券开立证券账户", "8888"),    # settles by itself
    ("本人张三，身份证尾号1357，自愿在示例证券开立证券账户", "2468"),   # another tail
    ("本人张三，身份证尾号537期，自愿在示例证券开立证券账户", "5337"),  # 期 reads as a digit
    ("本人张三，身份证尾号35，自愿在示例证券开立证券账户", "3115"),     # two digits short
    ("本人张三，身份证尾号7000，自愿在示例证券开立证券账户", "7700"),   # the neighbour, whole
])
def test_nothing_to_choose_when_the_text_settles_the_tail(heard, tail):
    assert ambiguous_tails(heard, "zh-CN", req(tail)) == []


@pytest.mark.parametrize("group", ["700", "7-0-0"])
def test_an_english_collapse_is_a_choice_too(group):
    heard = f"I, Alex Chen, with ID number ending in {group}, voluntarily open an account."
    [choice] = ambiguous_tails(heard, "en", ("Alex Chen", "7700"))
    assert choice.candidates == ("7700", "7000") and heard[choice.start:choice.end] == group


def test_a_name_or_a_broker_is_never_a_choice():
    heard = "本人张三，身份证尾号700，自愿在示例证券开立证券账户"
    assert [c.item for c in ambiguous_tails(heard, "zh-CN", req("7700"))] == ["7700"]


# --- scores and the verdict (pure) -------------------------------------------------------------

def test_the_tail_score_sums_the_tokens_over_the_tail_and_the_next_one():
    text = "号七七零零，自"  # 号 3 bytes, each digit 3 bytes, ， 3, 自 3
    # Tokens: 号 | 七 split 2+1 | 七零 (6) | 零 | ， | 自
    tokens = [(3, -0.1), (2, -1.0), (1, -2.0), (6, -3.0), (3, -4.0), (3, -5.0), (3, -6.0)]
    a, b = 1, 5
    assert tail_score(tokens, text, a, b) == pytest.approx(-1.0 - 2.0 - 3.0 - 4.0 - 5.0)
    # A tail at the end has no next token.
    assert tail_score(tokens[:5], text[:5], a, b) == pytest.approx(-10.0)


def test_the_shown_tail_must_beat_every_neighbour_by_the_margin():
    c = TailChoice("3115", 0, 3, ("3115", "3155", "3315"), False)
    ok, note = settled_by_forced_choice(c, [-3.1, -7.9, -3.2 - FORCED_CHOICE_MARGIN])
    assert ok and note == f"3115 -3.1 vs 3155 -7.9 vs 3315 {-3.2 - FORCED_CHOICE_MARGIN:.1f}"
    assert not settled_by_forced_choice(c, [-3.1, -7.9, -3.0 - FORCED_CHOICE_MARGIN])[0]
    assert not settled_by_forced_choice(c, [-7.9, -3.1, -9.0])[0]
    assert not settled_by_forced_choice(TailChoice("7700", 0, 3, ("7700",), False), [-1.0])[0]


def test_a_settled_tail_counts_as_heard_with_its_scores_in_the_note():
    heard = "本人张三，身份证尾号700，自愿在示例证券开立证券账户"
    text = TEXT.format("7700")
    plain = score_reading(heard, text, "zh-CN", req("7700"))
    assert not plain.passed and plain.ambiguous and "7700" in plain.missing
    settled = score_reading(heard, text, "zh-CN", req("7700"), {"7700": "7700 -3.1 vs 7000 -7.9"})
    assert settled.passed and not settled.ambiguous and not settled.missing
    assert settled.tolerated == (f"the digits heard with {answers.REPEAT_ONE_OFF}, settled by "
                                 "forced choice: 7700 -3.1 vs 7000 -7.9",)
    # Settling one item settles nothing else: a wrong name still fails.
    other = score_reading(heard.replace("张三", "李四"), text, "zh-CN", req("7700"),
                          {"7700": "7700 -3.1 vs 7000 -7.9"})
    assert not other.passed and "张三" in other.missing
    exp = Expected("read_aloud", text=text, required=req("7700"))
    r = read_aloud_result(heard, exp, "zh-CN", {"7700": "7700 -3.1 vs 7000 -7.9"})
    assert r.intent == "phrase" and "settled by forced choice: 7700 -3.1 vs 7000 -7.9" in r.note


# --- the engine's use of it (the worker replaced by a stand-in; the real one below) ------------

class _Worker:
    """Stands in for ``WhisperProcess``: a fixed greedy transcript, forced scores chosen per
    candidate tail, and a beam."""

    def __init__(self, heard: str, tail_logprob: dict[str, float], beam: list[str]):
        self.heard, self.tail_logprob, self.beam = heard, tail_logprob, beam
        self.forced: list[list[str]] = []

    def transcribe(self, pcm, language, hotwords):
        return [(self.heard, -0.2, 0.01, 1.0)]

    def forced_choice(self, pcm, language, hotwords, texts):
        self.forced.append(list(texts))
        out = []
        zh = answers.textnorm.ZH_DIGIT_CHARS
        for t in texts:
            tail = t.split("号")[1][:4]
            digits = "".join(zh.get(ch, ch) for ch in tail)
            # One token a character: the tail's own score each, -0.1 elsewhere.
            out.append([(len(ch.encode()), self.tail_logprob.get(digits, -1.0)
                         if i in range(t.index("号") + 1, t.index("号") + 5) else -0.1)
                        for i, ch in enumerate(t)])
        return out

    def alternatives(self, pcm, language, hotwords, n=5):
        return [(t, -0.3) for t in self.beam]

    def beams(self, pcm, language, biases, n=5, upto=None):
        # the decode without bias that confirms a passing reading's name: here as heard
        return [[(self.heard, -0.3)] for _ in biases]


def _engine(worker):
    from kiosk.speech.engines.whisper import WhisperEngine

    engine = WhisperEngine(None, "zh")
    engine._model = worker  # type: ignore[assignment]
    engine._load = lambda: worker  # type: ignore[method-assign]
    return engine


def test_the_engine_settles_a_genuine_collapse_and_says_how():
    heard = "本人张三，身份证尾号700，自愿在示例证券开立证券账户"
    worker = _Worker(heard, {"7700": -0.5, "7000": -2.0}, [])
    exp = Expected("read_aloud", text=TEXT.format("7700"), required=req("7700"))
    r = _engine(worker).recognize(np.zeros(16000, np.int16), exp)
    assert r.intent == "phrase" and "settled by forced choice: 7700" in r.note, r
    shown = heard.replace("，", ",")  # the transcript as displayed (textnorm.display_text)
    assert worker.forced == [[shown.replace("700", "七七零零"), shown.replace("700", "七零零零")]]


def test_a_neighbour_the_audio_prefers_is_never_rescued_by_the_beam():
    heard = "本人张三，身份证尾号700，自愿在示例证券开立证券账户"
    # The beam holds the shown tail whole; the forced choice leans to 7000: not heard.
    worker = _Worker(heard, {"7700": -2.0, "7000": -0.5}, [heard.replace("700", "7700")])
    exp = Expected("read_aloud", text=TEXT.format("7700"), required=req("7700"))
    r = _engine(worker).recognize(np.zeros(16000, np.int16), exp)
    assert r.intent == "unclear" and "not settled by forced choice: 7700" in r.note, r
    # Too close to call: the beam's rule still applies (here it rescues: no other whole tail).
    worker = _Worker(heard, {"7700": -1.0, "7000": -1.0 - FORCED_CHOICE_MARGIN / 8},
                     [heard.replace("700", "7700")])
    r = _engine(worker).recognize(np.zeros(16000, np.int16), exp)
    assert r.intent == "phrase" and "alternative" in r.note, r


def test_a_reading_heard_whole_makes_no_extra_call():
    heard = "本人张三，身份证尾号7700，自愿在示例证券开立证券账户"
    worker = _Worker(heard, {}, [])
    exp = Expected("read_aloud", text=TEXT.format("7700"), required=req("7700"))
    assert _engine(worker).recognize(np.zeros(16000, np.int16), exp).intent == "phrase"
    assert worker.forced == []


# --- real Whisper base on natural tuning voices (kiosk.testing.voices) -------------------------

@pytest.fixture(scope="module")
def reading(tmp_path_factory):
    from kiosk.speech.audio import pcm_from_file
    from kiosk.testing import voices as tv

    folder = tmp_path_factory.mktemp("voices")
    by_id = {v.id: v for v in tv.VOICES}

    def say(voice_id: str, text: str, speed: float) -> np.ndarray:
        pcm = pcm_from_file(tv.say_to_file(by_id[voice_id], text, folder, speed))
        return np.concatenate([np.zeros(8000, np.int16), pcm, np.zeros(12000, np.int16)])

    return say


def test_real_whisper_settles_a_genuine_collapse_by_forced_choice(rec, reading):
    # zh-xiaobei reading 三一一五 at 0.9: Whisper base writes 3-1-5 (3115, 3155 or 3315 on
    # text alone); the audio settles it.
    text = TEXT.format("3115").replace("张三", "李娜")
    exp = Expected("read_aloud", text=text, required=("李娜", "3115", "示例证券"))
    ans = rec.verify(reading("zh-xiaobei", text, 0.9), "zh-CN", exp)
    assert "3-1-5" in ans.transcript, ans  # as heard on this machine
    assert ans.intent == "phrase" and "settled by forced choice: 3115" in ans.note, ans


def test_real_whisper_refuses_a_neighbour_read_for_the_tail(rec, reading):
    # zh-yunyang reading 七零零零 for a 7700 tail: written 700, which the shown 7700 collapses
    # to as well; the audio leans to 7000 (measured: 7700 -10.8 vs 7000 -4.8).
    text = TEXT.format("7700")
    exp = Expected("read_aloud", text=text, required=req("7700"))
    ans = rec.verify(reading("zh-yunyang", text.replace("7700", "7000"), 1.0), "zh-CN", exp)
    assert ans.intent == "unclear" and "not settled by forced choice: 7700" in ans.note, ans
