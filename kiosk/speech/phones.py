"""Toneless pinyin -> approximate en-us (CMU) phones.

This lets pocketsphinx's bundled en-us acoustic model decode a small Mandarin grammar
(``kiosk.speech.engines.grammar``): each syllable of the pinyin lexicon gets a pronunciation.
"""

from __future__ import annotations

_INITIALS = {"b": "B", "p": "P", "m": "M", "f": "F", "d": "D", "t": "T", "n": "N", "l": "L",
             "g": "G", "k": "K", "h": "HH", "j": "JH", "q": "CH", "x": "SH", "zh": "JH",
             "ch": "CH", "sh": "SH", "r": "R", "z": "Z", "c": "T S", "s": "S"}
_FINALS = {"a": "AA", "o": "AO", "e": "AH", "ai": "AY", "ei": "EY", "ao": "AW", "ou": "OW",
           "an": "AE N", "en": "AH N", "ang": "AA NG", "eng": "AH NG", "ong": "UH NG",
           "er": "ER", "i": "IY", "ia": "Y AA", "ie": "Y EH", "iao": "Y AW", "iou": "Y OW",
           "ian": "Y EH N", "in": "IY N", "iang": "Y AA NG", "ing": "IY NG", "iong": "Y UH NG",
           "u": "UW", "ua": "W AA", "uo": "W AO", "uai": "W AY", "uei": "W EY", "uan": "W AA N",
           "uen": "W AH N", "uang": "W AA NG", "ueng": "W AH NG", "v": "Y UW", "ve": "Y UW EH",
           "van": "Y UW AE N", "vn": "Y UW N"}
_ZERO_INITIAL = {"yi": "i", "ya": "ia", "ye": "ie", "yao": "iao", "you": "iou", "yan": "ian",
                 "yin": "in", "yang": "iang", "ying": "ing", "yong": "iong", "yu": "v",
                 "yue": "ve", "yuan": "van", "yun": "vn", "wu": "u", "wa": "ua", "wo": "uo",
                 "wai": "uai", "wei": "uei", "wan": "uan", "wen": "uen", "wang": "uang",
                 "weng": "ueng"}


def pinyin_phones(syllable: str) -> str:
    """Approximate en-us (CMU) phones of one toneless pinyin syllable."""
    s = syllable.lower()
    if s in _ZERO_INITIAL:
        final = _ZERO_INITIAL[s]
        lead = "Y " if s[0] == "y" and final in ("i", "in", "ing") else ""
        return (lead + _FINALS[final]).strip()
    single = s[0] if s[0] in _INITIALS else ""
    initial = next((i for i in ("zh", "ch", "sh") if s.startswith(i)), single)
    rest = s[len(initial):]
    if initial in ("j", "q", "x") and rest.startswith("u"):
        rest = "v" + rest[1:]  # ju, que, xuan are ü
    rest = {"iu": "iou", "ui": "uei", "un": "uen"}.get(rest, rest)
    if rest == "i" and initial in ("zh", "ch", "sh", "r"):
        final = "ER"  # the apical vowel of zhi/chi/shi/ri
    elif rest == "i" and initial in ("z", "c", "s"):
        final = "IH"
    elif rest in _FINALS:
        final = _FINALS[rest]
    else:
        raise ValueError(f"{syllable!r} is not a pinyin syllable this recogniser knows")
    return f"{_INITIALS[initial]} {final}".strip() if initial else final
