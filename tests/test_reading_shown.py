"""What the investor is shown of a passed Mandarin reading: the sentence as written where
Whisper heard homophones (a fresh tester saw 示例证券 shown as 势力政权), the heard
characters where the syllable differs; the evidence keeps the transcript as heard."""

from __future__ import annotations

from kiosk.speech.expected import Expected
from kiosk.speech.observer import shown_words
from kiosk.speech.recognize import Answer
from kiosk.speech.textnorm import as_written

SENTENCE = "本人张三，身份证尾号8888，自愿在示例证券开立证券账户。"


def test_homophones_of_the_sentence_are_shown_as_written():
    heard = "本人张三 身份证尾号8888 自愿在势力政权开立证券帐户"
    assert as_written(heard, SENTENCE) == "本人张三 身份证尾号8888 自愿在示例证券开立证券账户"


def test_a_character_heard_as_another_syllable_stays_as_heard():
    heard = "本人李四，身份证尾号8888，自愿在示例证券开立证券账户。"
    assert as_written(heard, SENTENCE) == heard
    # Nothing written to align with: unchanged, punctuation and digits included.
    assert as_written("我自愿 8888", "") == "我自愿 8888"


def _answer(transcript: str, score: float) -> Answer:
    return Answer(speech_present=True, transcript=transcript,
                  intent="phrase" if score >= 0.85 else "unclear", score=score,
                  engine="faster-whisper", model_sha256="0" * 64, spans=[], ms=0.0)


def test_a_passed_reading_is_shown_as_written_and_a_poor_one_not_at_all():
    expected = Expected("read_aloud", text=SENTENCE, required=("张三", "8888"))
    shown = shown_words(_answer("本人张三身份证尾号8888自愿在势力政权开立证券账户", 0.93), expected)
    assert shown == "本人张三身份证尾号8888自愿在示例证券开立证券账户"
    assert shown_words(_answer("四个五二三", 0.2), expected) == ""
