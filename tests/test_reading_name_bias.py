"""A reading passes only when the applicant's name is also heard WITHOUT the decoding bias
towards it (``answers.unconfirmed_name``, ``WhisperEngine._name_confirmed``; issue #12, second
fresh tester: given the name as hotwords, Whisper heard 单丽娜 for a spoken 单美娜 and "Mark
Holloway" for "Mark Galloway"), a Mandarin name is heard where it was to be read
(``answers._where_read``), its syllables alike only with the same initial
(``answers._sounds_alike``), and an English given name begins with the name's sound
(``answers._first_sound``). Measured in docs/evaluation.md ("The name heard without bias")."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.speech import answers
from kiosk.speech.answers import score_reading, unconfirmed_name
from kiosk.speech.expected import Expected

ZH = "本人单丽娜，身份证尾号5262，自愿在示例证券开立证券账户。"
ZH_REQ = ("单丽娜", "5262", "示例证券")
EN = ("I, Mark Holloway, with ID number ending in 5625, voluntarily open a securities "
      "account with Example Securities.")
EN_REQ = ("Mark Holloway", "5625", "Example Securities")


@pytest.mark.parametrize("a,b,alike", [
    ("ming", "min", True), ("chen", "ceng", True), ("yao", "ao", True), ("mi", "min", True),
    ("ceng", "cong", True),
    ("ming", "qing", False), ("zhang", "chang", False), ("liang", "jiang", False),
    ("mei", "li", False), ("yu", "wu", False), ("li", "na", False), ("li", "lu", False),
    ("hua", "hui", False),
])
def test_name_syllables_are_alike_only_with_the_same_initial(a, b, alike):
    assert answers._sounds_alike(a, b) is alike


def test_a_near_name_with_another_initial_is_not_the_name():
    # 戴明 read for 戴晴: heard 代名 (dai ming); ming/qing were 0.75 alike in letters and passed.
    text = ZH.replace("单丽娜", "戴晴")
    r = score_reading("本人代名身份证委号5262,自愿在示例证券开立证券账户", text, "zh-CN",
                      ("戴晴", "5262", "示例证券"))
    assert r.missing == ("戴晴",), r
    assert score_reading("本人代情身份证委号5262,自愿在示例证券开立证券账户", text, "zh-CN",
                         ("戴晴", "5262", "示例证券")).passed  # dai qing: a homophone


def test_a_given_name_with_its_last_syllable_repeated_is_not_the_name():
    # #12 eighteenth-session tester: 单丽丽 read for 单丽娜 passed (li and na, l/n folded).
    heard = "本人单丽丽 身份众委号5262 自愿在势力证券开立证券账户"
    assert score_reading(heard, ZH, "zh-CN", ZH_REQ).missing == ("单丽娜",)


def test_a_mandarin_name_is_heard_where_it_was_to_be_read():
    # 郑明 read for 郑强 (heard 证明): 证券 further on sounds like 郑强 (zheng quan).
    text = ZH.replace("单丽娜", "郑强")
    heard = "本人证明 身份证委号5262 自愿在势力证券开立证券账户"
    assert score_reading(heard, text, "zh-CN", ("郑强", "5262", "示例证券")).missing == ("郑强",)
    assert score_reading(heard.replace("证明", "正强"), text, "zh-CN",
                         ("郑强", "5262", "示例证券")).passed


@pytest.mark.parametrize("heard,passes", [
    ("I, Tina Patel, with ID number ending in 0919, voluntarily open", False),
    ("I, Brian Murphy, with ID number ending in 0919, voluntarily open", False),
    ("I, Nina Patel, with ID number ending in 0919, voluntarily open", True),
])
def test_an_english_given_name_begins_with_the_names_sound(heard, passes):
    text = "I, Nina Patel, with ID number ending in 0919, voluntarily open"
    name = "Nina Patel" if "Patel" in heard else "Ryan Murphy"
    text = text.replace("Nina Patel", name)
    assert score_reading(heard, text, "en", (name, "0919")).passed is passes


@pytest.mark.parametrize("name,heard,passes", [
    ("Ethan Park", "I, Evan Park, with ID number ending in 0919, voluntarily open", False),
    ("Leah Novak", "I, Lena Novak, with ID number ending in 0919, voluntarily open", False),
    ("Ren Takahashi", "I rent Takahashi, with ID number ending in 0919, voluntarily open", True),
    ("Mei Lin Ong", "I may Lin Ong with ID number ending in 0919 voluntarily open", True),
    ("Callum Reid", "I, Calum Reid, with ID number ending in 0919, voluntarily open", True),
])
def test_an_english_given_name_has_the_names_consonants(name, heard, passes):
    text = f"I, {name}, with ID number ending in 0919, voluntarily open"
    assert score_reading(heard, text, "en", (name, "0919")).passed is passes


@pytest.mark.parametrize("word,sounds", [
    ("Evan", "vn"), ("Ethan", "Tn"), ("Leah", "l"), ("Lee", "l"), ("Lena", "ln"),
    ("know", "n"), ("Noah", "n"), ("Callum", "klm"), ("Sophia", "sf"), ("Sofia", "sf"),
    ("Catherine", "kTrn"), ("Katherine", "kTrn"), ("Cecil", "sl"),
])
def test_consonant_sounds_of_a_name(word, sounds):
    assert answers._consonants(word) == sounds


def test_homophones_of_an_english_given_name_still_pass():
    text = "I, Leah Novak, with ID number ending in 0591, voluntarily open"
    for heard in ("I. Lee Novak, with ID number ending in 0591, voluntarily open",
                  "I know a Bennett with ID number ending in 0591, voluntarily open"):
        name = "Leah Novak" if "Novak" in heard else "Noah Bennett"
        assert score_reading(heard, text.replace("Leah Novak", name), "en",
                             (name, "0591")).passed, heard


@pytest.mark.parametrize("unbiased,stands", [
    (["本人单美娜 身分众委号5262 自愿在势力政权开立政权账户。"], False),   # tester's file
    (["本人丹丽娜 身分众委号5262 自愿在势力政权开立政权账户。"], True),    # a homophone
    (["本人單麗娜 身分眾委號5262 自願在勢力政權開立政權賬戶"], True),      # traditional
    (["本人单美娜 身份证尾号5262", "本人单美娜身份证尾号5262", "本人单丽娜 身份证尾号5262"],
     False),  # only the first two hypotheses count
    (["本人身份证尾号5262 自愿在示例证券开立证券账户"], False),            # no name at all
])
def test_a_mandarin_name_must_be_heard_without_the_bias(unbiased, stands):
    why = unconfirmed_name(unbiased, ZH, ZH_REQ, "zh-CN")
    assert (why is None) is stands, why
    if not stands:
        assert "'单丽娜' was heard only with the decoding bias" in why


@pytest.mark.parametrize("unbiased,stands", [
    (["I mark Galloway, with ID number ending in 5, 6, 2, 5, voluntarily open"], False),
    (["I, Mark Holloway, with ID number ending in 5625, voluntarily open"], True),
    (["I, Mark Hollaway, with ID number ending in 5625, voluntarily open"], True),
    (["I, Peter Holloway, with ID number ending in 5625, voluntarily open"], False),
])
def test_an_english_name_must_be_heard_without_the_bias(unbiased, stands):
    assert (unconfirmed_name(unbiased, EN, EN_REQ, "en") is None) is stands


def test_rare_english_names_misspelled_without_the_bias_stand():
    # As Whisper base wrote them without the bias (eighteenth session's measurement).
    for name, heard in (("Ingrid Holm", "I, Ingrid home, with ID number ending in 0170"),
                        ("Daniel Osei", "I, Daniel Osai, with ID number ending in 0170"),
                        ("Hugo Lindqvist", "I Hugo Lindfist, with ID number ending in 0170")):
        text = EN.replace("Mark Holloway", name)
        assert unconfirmed_name([heard], text, (name, "5625", "Example Securities"),
                                "en") is None, name
    # "I am a Carter" for a spoken "Emma Carter" is not Emily Carter.
    text = EN.replace("Mark Holloway", "Emily Carter")
    assert unconfirmed_name(["I am a Carter, with ID number ending in 1538"], text,
                            ("Emily Carter", "1538", "Example Securities"), "en") is not None


def test_a_surname_beginning_with_a_vowel_may_be_heard_with_another():
    # holdout 20 (en-michael at 0.831x): Chidi Okafor heard without the bias as "Akaffer".
    text = EN.replace("Mark Holloway", "Chidi Okafor")
    assert unconfirmed_name(["I, Chidi Akaffer, with ID number ending in 2005"], text,
                            ("Chidi Okafor", "2005", "Example Securities"), "en") is None


def test_a_given_name_beginning_with_a_vowel_needs_its_letters():
    # holdout 21 (en-emma 1.038x): Emeka Nwosu heard without the bias as "ameka Nwasu".
    text = EN.replace("Mark Holloway", "Emeka Nwosu")
    req = ("Emeka Nwosu", "4900", "Example Securities")
    assert unconfirmed_name(["I ameka Nwasu, with ID number ending in 49"], text, req,
                            "en") is None
    # ...but "a" alone is not Emily
    text = EN.replace("Mark Holloway", "Emily Carter")
    assert unconfirmed_name(["I am a Carter, with ID number ending in 1538"], text,
                            ("Emily Carter", "1538", "Example Securities"), "en") is not None


def test_the_decode_stops_after_the_name():
    assert answers.name_prefix(ZH, ZH_REQ, "zh-CN") == "本人单丽娜"
    assert answers.name_prefix(EN, EN_REQ, "en") == "I, Mark Holloway"
    assert answers.name_prefix(EN, ("5625", "Example Securities"), "en") is None


def test_the_brokers_name_and_digits_are_not_confirmed():
    assert answers.reading_names(ZH_REQ, "zh-CN") == ["单丽娜"]
    assert answers.reading_names(EN_REQ, "en") == ["Mark Holloway"]


# --- the engine (the worker replaced by a stand-in) ---------------------------------------------

class _Worker:
    def __init__(self, heard: str, unbiased: list[str]):
        self.heard, self.unbiased = heard, unbiased
        self.biases: list[list] = []

    def transcribe(self, pcm, language, hotwords):
        return [(self.heard, -0.2, 0.01, 1.0)]

    def beams(self, pcm, language, biases, n=5, upto=None):
        self.biases.append(list(biases))
        self.upto = upto
        return [[(t, -0.3) for t in self.unbiased] for _ in biases]

    def forced_choice(self, pcm, language, hotwords, texts):
        # the name as written far less likely than what was heard (单丽娜 for a spoken 单美娜)
        return [[(len(c.encode()), -12.0 if k == 0 else -0.5) for c in text]
                for k, text in enumerate(texts)]


def _engine(worker, locale="zh"):
    from kiosk.speech.engines.whisper import WhisperEngine

    engine = WhisperEngine(None, locale)
    engine._model = worker  # type: ignore[assignment]
    engine._load = lambda: worker  # type: ignore[method-assign]
    return engine


def test_the_engine_refuses_a_name_heard_only_with_the_bias():
    worker = _Worker("本人单丽娜 身份证尾号5262 自愿在示例证券开立证券账户",
                     ["本人单美娜 身分众委号5262 自愿在势力政权开立政权账户"])
    exp = Expected("read_aloud", text=ZH, required=ZH_REQ)
    r = _engine(worker).recognize(np.zeros(16000, np.int16), exp)
    assert r.intent == "unclear" and "only with the decoding bias" in r.note, r
    assert worker.biases == [[None]]  # one decode, without any bias
    assert worker.upto == "本人单丽娜"  # and only as far as the name
    worker = _Worker(worker.heard, ["本人单丽娜 身分众委号5262 自愿在势力政权开立政权账户"])
    assert _engine(worker).recognize(np.zeros(16000, np.int16), exp).intent == "phrase"


# --- real Whisper base on natural tuning voices (kiosk.testing.voices) -------------------------

@pytest.fixture(scope="module")
def reading(tmp_path_factory):
    from kiosk.speech.audio import pcm_from_file
    from kiosk.testing import voices as tv

    folder = tmp_path_factory.mktemp("voices")
    by_id = {v.id: v for v in tv.VOICES}

    def say(voice_id: str, text: str) -> np.ndarray:
        pcm = pcm_from_file(tv.say_to_file(by_id[voice_id], text, folder, 1.0))
        return np.concatenate([np.zeros(8000, np.int16), pcm, np.zeros(12000, np.int16)])

    return say


def test_real_whisper_passes_the_name_and_refuses_a_near_one(rec, reading):
    exp = Expected("read_aloud", text=ZH, required=ZH_REQ)
    genuine = rec.verify(reading("zh-xiaobei", ZH), "zh-CN", exp)
    assert genuine.intent == "phrase", genuine
    near = rec.verify(reading("zh-xiaobei", ZH.replace("单丽娜", "单美娜")), "zh-CN", exp)
    assert near.intent == "unclear", near


def test_the_worker_encodes_the_same_audio_once():
    # ``whisper_proc._encoded``: a second opinion on the same answer reuses the encoder's
    # output (measured: the decode without bias 0.59 s -> 0.36 s median, same hypotheses).
    from kiosk.speech import whisper_proc as wp

    class _Model:
        calls = 0

        def encode(self, x):
            self.calls += 1
            return ("encoded", x)

    saved = wp._model, wp._last_encoded
    try:
        wp._model, wp._last_encoded = _Model(), None
        a, b = b"\x01\x00" * 800, b"\x02\x00" * 800
        assert wp._encoded(a, "fa") == ("encoded", "fa")
        assert wp._encoded(a, "fa") == ("encoded", "fa") and wp._model.calls == 1
        assert wp._encoded(b, "fb") == ("encoded", "fb") and wp._model.calls == 2
        assert wp._encoded(a, "fa") == ("encoded", "fa") and wp._model.calls == 3
    finally:
        wp._model, wp._last_encoded = saved


# --- English: the name teacher-forced without the bias (``WhisperEngine._name_likely``) -----------

class _EnWorker(_Worker):
    def __init__(self, heard: str, unbiased: list[str], name_logprobs: list[float]):
        super().__init__(heard, unbiased)
        self.name_logprobs = name_logprobs
        self.forced: list[str] = []

    def forced_choice(self, pcm, language, hotwords, texts):
        assert hotwords is None  # never with the bias
        self.forced += texts
        head = " I,"  # the tokens before the name, then one token per name word
        return [[(len(head.encode()), -0.1)]
                + [(len((" " + w).encode()), lp)
                   for w, lp in zip(text[len(head) + 1:].split(), self.name_logprobs,
                                    strict=True)]
                for text in texts]


EN_HEARD = ("I, Mark Holloway, with ID number ending in 5625, voluntarily open a securities "
            "account with Example Securities.")


def test_a_likely_english_name_needs_no_beam():
    worker = _EnWorker(EN_HEARD, ["I, Mark Galloway, with ID"], [-0.2, -4.9])
    exp = Expected("read_aloud", text=EN, required=EN_REQ)
    assert _engine(worker, "en").recognize(np.zeros(16000, np.int16), exp).intent == "phrase"
    assert worker.forced == [" I, Mark Holloway"] and worker.biases == []


def test_an_unlikely_english_name_is_left_to_the_beam_rule():
    exp = Expected("read_aloud", text=EN, required=EN_REQ)
    worker = _EnWorker(EN_HEARD, ["I, Mark Galloway, with ID"], [-0.2, -10.0])
    r = _engine(worker, "en").recognize(np.zeros(16000, np.int16), exp)
    assert r.intent == "unclear" and "only with the decoding bias" in r.note, r
    assert worker.biases == [[None]]
    worker = _EnWorker(EN_HEARD, ["I, Mark Holloway, with ID"], [-7.0, -0.1])
    assert _engine(worker, "en").recognize(np.zeros(16000, np.int16), exp).intent == "phrase"


EN_OBINNA = ("I, Obinna Eze, with ID number ending in 4721, voluntarily open a securities "
             "account with Example Securities.")


@pytest.mark.parametrize("voice, said, passes", [
    # Obinna Eze: without the bias Whisper base writes "Obana-S" / "obna as" (holdout 22)
    ("en-heart", "Obinna Eze", True), ("en-fenrir", "Obinna Eze", True),
    ("en-heart", "Obinna Ezra", False),
])
def test_real_whisper_finds_a_rare_english_name_likely_and_a_near_one_not(rec, reading, voice,
                                                                           said, passes):
    exp = Expected("read_aloud", text=EN_OBINNA,
                   required=("Obinna Eze", "4721", "Example Securities"))
    heard = rec.verify(reading(voice, EN_OBINNA.replace("Obinna Eze", said)), "en", exp)
    assert (heard.intent == "phrase") is passes, heard


def test_a_heard_character_may_be_read_either_way():
    # 臧文静 heard as 藏文静 without the bias (holdout 22): 藏 reads cang or zang.
    text = "本人臧文静，身份证尾号4721，自愿在示例证券开立证券账户。"
    req = ("臧文静", "4721", "示例证券")
    assert unconfirmed_name(["本人藏文静 身份证委"], text, req, "zh-CN") is None
    assert unconfirmed_name(["本人仓文静 身份证委"], text, req, "zh-CN") is not None


# --- Mandarin: a given name heard otherwise, weighed by the model (``_given_name_likely``) --------

PU = "本人蒲海涛，身份证尾号4721，自愿在示例证券开立证券账户。"
PU_REQ = ("蒲海涛", "4721", "示例证券")


@pytest.mark.parametrize("unbiased, name, text, found", [
    ("本人谱海托 身分众委号", "蒲海涛", PU, ("谱海托", (2,))),      # tao heard as tuo
    ("本人单美娜 身分众委号", "单丽娜", ZH, ("单美娜", (1,))),
    ("本人黄建国 身分众委号", "王建国", ZH.replace("单丽娜", "王建国"), None),  # the surname
    ("本人刀木清 身分众委号", "端木清", ZH.replace("单丽娜", "端木清"), None),  # compound, whole
    ("本人欧阳立纳 身份", "欧阳娜娜", ZH.replace("单丽娜", "欧阳娜娜"), ("欧阳立纳", (2,))),
    ("本人单丽娜 身份", "单丽娜", ZH, None),                      # all alike: the beam rule's
])
def test_the_given_name_heard_otherwise(unbiased, name, text, found):
    assert answers.heard_given_name(unbiased, text, name) == found


class _ZhWorker(_Worker):
    def __init__(self, heard: str, unbiased: list[str], odds: float):
        super().__init__(heard, unbiased)
        self.odds = odds  # how much less likely the written character is than the one heard
        self.forced: list[list[str]] = []

    def forced_choice(self, pcm, language, hotwords, texts):
        assert hotwords is None
        self.forced.append(list(texts))
        # one token per character; the last character of the name differs
        out = []
        for k, text in enumerate(texts):
            row = [(len(c.encode()), -0.5) for c in text]
            if k == 0:
                row[-1] = (row[-1][0], -0.5 - self.odds)
            out.append(row)
        return out


@pytest.mark.parametrize("odds, intent", [(2.0, "phrase"), (3.9, "phrase"), (4.1, "unclear"),
                                          (14.0, "unclear")])
def test_a_given_name_character_heard_otherwise_is_weighed(odds, intent):
    worker = _ZhWorker("本人蒲海涛 身份证尾号4721 自愿在示例证券开立证券账户",
                       ["本人谱海托 身分众委号4721 自愿在势力政权开立政权账户"], odds)
    exp = Expected("read_aloud", text=PU, required=PU_REQ)
    r = _engine(worker).recognize(np.zeros(16000, np.int16), exp)
    assert r.intent == intent, r
    # weighed by ``_given_name_likely``; when it does not stand, ``_name_weighed`` weighs the
    # same pair again, character by character, to the same bound
    assert worker.forced[0] == ["本人蒲海涛", "本人谱海托"]
    assert all(pair == ["本人蒲海涛", "本人谱海托"] for pair in worker.forced)


def test_a_surname_heard_otherwise_is_not_weighed():
    worker = _ZhWorker("本人王建国 身份证尾号4721 自愿在示例证券开立证券账户",
                       ["本人黄建国 身分众委号4721 自愿在势力政权开立政权账户"], 0.0)
    text = PU.replace("蒲海涛", "王建国")
    exp = Expected("read_aloud", text=text, required=("王建国", "4721", "示例证券"))
    assert _engine(worker).recognize(np.zeros(16000, np.int16), exp).intent == "unclear"
    assert worker.forced == []


# --- English: a name heard spelled as another name (``_spelled_otherwise``) -----------------------

@pytest.mark.parametrize("heard, name, found", [
    ("I, Diana Whitfield, with ID number", "Dana Whitfield", ("Dana Whitfield", "Diana Whitfield")),
    ("I, Lee Novak, with ID number", "Leah Novak", ("Leah Novak", "Lee Novak")),
    ("I may Lin Ong with ID number", "Mei Lin Ong", ("Mei Lin Ong", "May Lin Ong")),
    ("I, Dana Whitfield, with ID number", "Dana Whitfield", None),     # as written
    ("I, Tina Patel, with ID number", "Nina Patel", None),             # not the name at all
    # holdout 24: a rare name heard as more words is not another name's spelling
    ("I, Chuck Umeca Obi, with ID number", "Chukwuemeka Obi", None),
])
def test_the_name_heard_spelled_otherwise(heard, name, found):
    assert answers.heard_spelling(heard, name) == found


class _SpellWorker(_EnWorker):
    def __init__(self, heard: str, unbiased: list[str], odds: float):
        super().__init__(heard, unbiased, [-0.1, -0.1])
        self.odds = odds  # how much less likely the name as written is than as heard

    def forced_choice(self, pcm, language, hotwords, texts):
        assert hotwords is None
        self.forced += texts
        if len(texts) == 1:  # ``_name_likely``: every token likely
            return [[(len(texts[0].encode()), -0.1)]]
        return [_by_word(texts[0], -1.0 - self.odds), _by_word(texts[1], -1.0)]


def _by_word(text: str, total: float) -> list[tuple[int, float]]:
    """One token per word (with its leading space), ``total`` spread over them; a word marked
    with a "~" is spelled in two tokens (a word the model does not know whole)."""
    words = text.split(" ")[1:]
    out = []
    for w in words:
        if w.endswith("~"):
            out += [(1 + len(w[:-1]) // 2, 0.0), (len(w[:-1]) - len(w[:-1]) // 2, 0.0)]
        else:
            out.append((1 + len(w), 0.0))
    return [(n, total / len(out)) for n, _ in out]


DANA = EN.replace("Mark Holloway", "Dana Whitfield")
DANA_REQ = ("Dana Whitfield", "5625", "Example Securities")


@pytest.mark.parametrize("odds, intent", [(11.3, "unclear"), (4.1, "unclear"), (3.9, "phrase"),
                                          (0.0, "phrase")])
def test_a_name_heard_spelled_otherwise_is_weighed(odds, intent):
    worker = _SpellWorker(DANA.replace("Dana", "Diana"), ["I, Diana Whitfield, with ID"], odds)
    exp = Expected("read_aloud", text=DANA, required=DANA_REQ)
    r = _engine(worker, "en").recognize(np.zeros(16000, np.int16), exp)
    assert r.intent == intent, r
    assert worker.forced[0:2] == [" I, Dana Whitfield", " I, Diana Whitfield"]
    if intent == "unclear":
        assert "heard as 'Diana Whitfield'" in r.note and "another name" in r.note


def test_a_spelling_the_loose_beam_rule_took_is_weighed_too():
    # the first decode wrote the name as written; the decode without bias, another spelling
    worker = _SpellWorker(DANA, ["I, Diana Whitfield, with ID"], 11.3)
    exp = Expected("read_aloud", text=DANA, required=DANA_REQ)

    def unlikely(pcm, language, hotwords, texts):
        worker.forced += texts
        if len(texts) == 1:
            return [[(5, -0.1), (len(texts[0].encode()) - 5, -9.0)]]  # not likely as written
        return [_by_word(texts[0], -12.3), _by_word(texts[1], -1.0)]

    worker.forced_choice = unlikely  # type: ignore[method-assign]
    r = _engine(worker, "en").recognize(np.zeros(16000, np.int16), exp)
    assert r.intent == "unclear" and "another name" in r.note, r
    assert worker.biases == [[None]]


def test_a_rare_name_spelled_piece_by_piece_is_not_another_name():
    # holdout 24: "Chakumeka Obi" for Chukwuemeka Obi was 16.9 nats likelier than the name as
    # written, as a word the model spells in pieces always is: not weighed as a spelling.
    from kiosk.speech.engines.whisper import _known_words

    text = " I, Chakumeka Obi"
    assert not _known_words(_by_word(" I, Chakumeka~ Obi", -3.0), text, ["Chakumeka"])
    assert _known_words(_by_word(" I, Diana Whitfield", -3.0), " I, Diana Whitfield", ["Diana"])
