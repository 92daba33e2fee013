"""The words of a transcript: locale names, words, pinyin, lexicon matches and digits."""

from __future__ import annotations

import re
import unicodedata

from kiosk.speech import textnorm


def normalize_locale(locale: str) -> str:
    """'en', 'en-US', 'en_gb' -> 'en'; 'zh', 'zh-CN', 'cmn' -> 'zh'."""
    base = re.split(r"[-_]", (locale or "").strip().lower())[0]
    if base == "en":
        return "en"
    if base in ("zh", "cmn"):
        return "zh"
    raise ValueError(f"unsupported speech locale {locale!r}: use en or zh")


def words_of(text: str) -> list[str]:
    """Lower-case words with punctuation removed (apostrophes kept: "don't")."""
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def to_pinyin(text: str) -> str:
    """Chinese characters (via pypinyin) or tone-marked/numbered pinyin -> 'shi de wo tong yi'."""
    if re.search(r"[\u4e00-\u9fff]", text):
        text = textnorm.toneless_pinyin(text)
    text = unicodedata.normalize("NFKD", text.lower().replace("ü", "v"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z]+", re.sub(r"[0-9]", " ", text)))


def _contains(words: list[str], phrase: list[str]) -> int:
    """Start index of ``phrase`` inside ``words`` or -1."""
    n = len(phrase)
    for i in range(len(words) - n + 1):
        if words[i : i + n] == phrase:
            return i
    return -1


def classify(words: list[str], affirm: list[str], deny: list[str], phrases: list[str]):
    """(intent, (start, end) of the matched words); deny wins: 'no I do not' holds 'I do'."""
    for intent, options in (("deny", deny), ("phrase", phrases), ("affirm", affirm)):
        for p in sorted(options, key=lambda s: -len(s.split())):
            pw = p.split()
            i = _contains(words, pw)
            if i >= 0:
                return intent, (i, i + len(pw))
    return "unclear", None


def is_digits(text: str) -> bool:
    """True when the read-aloud text is a digit string (spaces and dashes allowed)."""
    return bool(re.fullmatch(r"[\d\s\-]+", text.strip())) and any(c.isdigit() for c in text)


def digits_of(words: list[str], table: dict[str, str]) -> str:
    """The digits of the words that are digit words in ``table`` ("four seven" -> "47")."""
    return "".join(table[w] for w in words if w in table)
