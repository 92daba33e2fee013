"""Text normalisation for comparing what was heard with what was asked (pure, per locale).

The only module that imports pypinyin (readings; pypinyin-dict's zdic table for the rare
characters pypinyin lacks; jieba's dictionary, read as data, for how common words are:
``zh_segments``, ``zh_words``), OpenCC (traditional -> simplified: Whisper often writes Mandarin
in traditional characters) and cn2an (Chinese numerals with units). The guide's normaliser
(``kiosk.guide.normalise``) reaches them through ``zh_cardinal`` and ``zh_reading``.

Both sides of every comparison go through the same function, so a choice made here (a run of
Chinese digits becomes ASCII digits, "X" said as 叉 or 艾克斯 becomes ``X``, 母 / 姆 / 呜
right after a digit becomes 5) is symmetric.

* ``zh_tokens(text)``: one token per Chinese character, digit or Latin letter; punctuation and
  spaces dropped; full-width forms folded (NFKC); simplified characters.
* ``zh_syllables(tokens)``: each token's toneless pinyin (digits and letters unchanged), for
  matching homophones (是的 / 是得) and characters Whisper picks wrongly.
* ``zh_cardinal(number)``: "3.5" -> 三点五, "-10000" -> 负一万 (cn2an), for the guide's voice.
* ``zh_reading(char)``: a character's pinyin with its tone number ("tuo1"), or None.
* ``zh_surname(name)``: the surname a name begins with and its reading as a surname, when that
  differs from the common one ("曾国藩" -> 曾, "zēng"), or None.
* ``pinyin_syllables(word)``: a Latin word as pinyin syllables ("Chenghao" -> cheng hao), or
  None when it is not pinyin (a name read as pinyin, not spelled, by the guide's voice).
* ``en_tokens(text)``: lower-case words, number words and digit strings as single digits
  ("eight eight", "88", "8-8" -> ``["8", "8"]``; "double seven oh oh" -> ``["7", "7", "0",
  "0"]``, "triple eight" -> ``["8", "8", "8"]``), common contractions expanded. Mandarin has
  no such forms beyond 幺 (1) and 两 (2): the radio alphabet's 洞 (0) and 拐 (7) are not
  standard for reading an ID tail and stay characters.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

# Chinese digits as read aloud one by one (幺 is the telephone "one", 两 the counting "two").
# Digits written as Mandarin numerals, one character each (1 as 一, 0 as 零).
ZH_NUMERALS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
ZH_DIGIT_CHARS = {"零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
                  "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_ZH_UNITS = "十百千万"
_ZH_NUMBER_RUN = re.compile(f"[{''.join(ZH_DIGIT_CHARS)}{_ZH_UNITS}]{{2,}}")
# Whisper base writes a spoken 五 (wǔ) inside or at the end of a digit run as 母 / 姆 (mǔ) or
# 呜 (wū): "尾号253母" for 2535 in holdouts 7 and 11. Folded to 5 only right after a digit (an
# ASCII digit, or a lone Chinese digit other than 一 and 两, which are words of their own:
# 一母同胞), so 母亲, 父母 and 字母 stay.
_ZH_MISHEARD_FIVE = re.compile("([0-9]|(?<![零〇一幺二两三四五六七八九])"
                               "[零〇幺二三四五六七八九])([母姆呜]+)")
# Ways to say the letter X of an ID number (the check character) in Mandarin.
_ZH_X = re.compile(r"艾克斯|埃克斯|爱克斯|艾克思|(?<=[0-9])叉|叉(?=[0-9])")
_CJK_RANGES = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK = re.compile(f"[{_CJK_RANGES}]")
_TOKEN = re.compile(f"[{_CJK_RANGES}]|[0-9]|[A-Za-z]")

EN_NUMBER_WORDS = {"zero": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
                   "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
# Digits read aloud the way people read phone and ID numbers in English: "oh" for 0 (only next
# to another digit, so "oh, yes" stays a word), "double seven" for 77, "triple eight" for 888.
EN_ZERO_LETTERS = frozenset(("oh", "o"))
EN_DIGIT_REPEATS = {"double": 2, "triple": 3}
_EN_CONTRACTIONS = {"don't": "do not", "doesn't": "does not", "didn't": "did not",
                    "can't": "can not", "cannot": "can not", "won't": "will not",
                    "isn't": "is not", "aren't": "are not", "wasn't": "was not",
                    "haven't": "have not", "hasn't": "has not", "i'm": "i am", "it's": "it is",
                    "that's": "that is", "i've": "i have", "i'd": "i would", "i'll": "i will",
                    "shouldn't": "should not", "wouldn't": "would not", "couldn't": "could not"}
_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|[0-9]")


@functools.lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """NFKC (full-width letters, digits and punctuation to their plain forms)."""
    return unicodedata.normalize("NFKC", text or "")


def to_simplified(text: str) -> str:
    """Traditional Chinese characters to simplified (OpenCC t2s); other text unchanged."""
    return _t2s().convert(text) if _CJK.search(text) else text


def _zh_number(run: str) -> str:
    """One run of Chinese numerals as ASCII digits: read digit by digit, or a number with units."""
    if any(u in run for u in _ZH_UNITS):
        try:
            import cn2an

            value = cn2an.cn2an(run, "strict")
        except (ValueError, KeyError):
            return run
        return str(int(value)) if float(value).is_integer() else run
    return "".join(ZH_DIGIT_CHARS[c] for c in run)


def zh_tokens(text: str) -> list[str]:
    """Characters, digits and upper-case Latin letters of a Mandarin text, in order."""
    text = to_simplified(fold(text))
    text = _ZH_NUMBER_RUN.sub(lambda m: _zh_number(m.group(0)), text)
    text = _ZH_MISHEARD_FIVE.sub(
        lambda m: ZH_DIGIT_CHARS.get(m.group(1), m.group(1)) + "5" * len(m.group(2)), text)
    text = _ZH_X.sub("X", text)
    return [t.upper() for t in _TOKEN.findall(text)]


@functools.lru_cache(maxsize=4096)
def _syllable(token: str) -> str:
    if not _CJK.match(token):
        return token
    from pypinyin import Style, lazy_pinyin

    out = lazy_pinyin(token, style=Style.NORMAL, errors="ignore")
    return out[0].replace("ü", "v") if out else token


def zh_syllables(tokens: list[str]) -> list[str]:
    """Toneless pinyin of each token (digits and letters unchanged)."""
    return [_syllable(t) for t in tokens]


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@functools.lru_cache(maxsize=4096)
def zh_readings(char: str) -> tuple[str, ...]:
    """Every toneless reading of one Chinese character, the common one first ('藏' ->
    ('cang', 'zang')); () for anything that is not one character of pypinyin's table."""
    from pypinyin import Style, pinyin

    if len(char) != 1 or not _HAN.match(char):
        return ()
    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(dict.fromkeys(r for r in (readings[0] if readings else []) if r.isalpha()))


def toneless_pinyin(text: str) -> str:
    """The toneless pinyin of a Chinese text's characters, space-separated (others dropped):
    '是的，我同意' -> 'shi de wo tong yi' (pypinyin's phrase-aware readings)."""
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(text, style=Style.NORMAL, errors="ignore"))


@functools.lru_cache(maxsize=1)
def _pinyin_syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin's character table uses (about 420: zhang, lü),
    without the interjections that have no vowel (hm, ng, m, n)."""
    from pypinyin.constants import PINYIN_DICT

    marked = unicodedata.normalize("NFD", ",".join(PINYIN_DICT.values()))
    plain = unicodedata.normalize("NFC", re.sub("[\u0300\u0301\u0304\u030c]", "", marked))
    return frozenset(s for s in plain.split(",") if re.search("[aeiouü]", s) and s != "ê")


# ü as passports write it: v after l or n anywhere, yu only where a part begins (LYU, NYU);
# inside a word yu is its own syllable (Xinyu xin yu, Chenyue chen yue: not xi nü, che nüe;
# since speakable/22).
_PINYIN_U = re.compile("(?<=[ln])v|(?<=^[ln])yu")


def pinyin_syllables(word: str, most: int = 4) -> list[str] | None:
    """A Latin word split into toneless pinyin syllables ("Chenghao" -> ["cheng", "hao"],
    "OUYANG" -> ["ou", "yang"], "Xi'an" -> ["xi", "an"]; ü as passports write it: LYU, LV ->
    ["lü"]), in the fewest syllables, or None when it is not pinyin or needs more than
    ``most`` syllables. Case is ignored. Linear in the word (syllables have at most six
    letters)."""
    syllables = _pinyin_syllables()
    parts = [_PINYIN_U.sub("ü", p) for p in word.lower().replace("’", "'").split("'")]
    out: list[str] = []
    for part in parts:
        if not part or len(part) > 6 * most:
            return None
        # the best split of part[:i]: fewest syllables that begin with a vowel after
        # another (pinyin writes Xi'an, so xian is one syllable and Nana is na na), then
        # fewest syllables
        best: list[tuple[int, int, list[str]] | None] = [(0, 0, [])] + [None] * len(part)
        for i in range(1, len(part) + 1):
            for size in range(1, min(6, i) + 1):
                before, syllable = best[i - size], part[i - size:i]
                if before is None or syllable not in syllables:
                    continue
                cost = (before[0] + (i > size and syllable[0] in "aeo"), before[1] + 1)
                current = best[i]
                if current is None or cost < current[:2]:
                    best[i] = (*cost, [*before[2], syllable])
        found = best[-1]
        if found is None:
            return None
        out += found[2]
    return out if len(out) <= most else None


def en_tokens(text: str) -> list[str]:
    """Lower-case words of an English text, numbers as single digits, contractions expanded."""
    text = fold(text).lower().replace("’", "'").replace("‘", "'")
    out: list[str] = []
    for word in _EN_WORD.findall(text):
        if word in _EN_CONTRACTIONS:
            out.extend(_EN_CONTRACTIONS[word].split())
        elif word.endswith("n't"):
            out.extend([word[:-3], "not"])
        elif word in EN_NUMBER_WORDS:
            out.append(EN_NUMBER_WORDS[word])
        else:
            out.append(word)
    return _en_spoken_digits(out)


def _en_spoken_digits(words: list[str]) -> list[str]:
    """``words`` with the spoken forms of digits read one by one as digits: "oh" / "o" next to
    a digit (or after "double" / "triple") is 0, and "double" / "triple" before a digit is
    that digit two / three times ("seven double oh one" -> 7 0 0 1). Anywhere else these are
    words ("oh, yes", "I double checked")."""
    out = list(words)

    def digitish(i: int) -> bool:
        return 0 <= i < len(out) and (out[i].isdigit() or out[i] in EN_DIGIT_REPEATS)

    changed = True
    while changed:  # "seven oh oh one": each "oh" next to a digit, the next one next to it
        changed = False
        for i, w in enumerate(out):
            if w in EN_ZERO_LETTERS and (digitish(i - 1) or (0 <= i + 1 < len(out)
                                                             and out[i + 1].isdigit())):
                out[i] = "0"
                changed = True
    spelled: list[str] = []
    for i, w in enumerate(out):
        if i > 0 and out[i - 1] in EN_DIGIT_REPEATS and w.isdigit():
            spelled.pop()
            spelled.extend([w] * EN_DIGIT_REPEATS[out[i - 1]])
        else:
            spelled.append(w)
    return spelled


def tokens(text: str, locale: str) -> list[str]:
    """``zh_tokens`` or ``en_tokens`` by locale ('zh', 'zh-CN', 'en', ...)."""
    return zh_tokens(text) if locale.lower().startswith(("zh", "cmn")) else en_tokens(text)


def display_text(text: str, locale: str) -> str:
    """A transcript as the investor should see it: simplified characters, folded forms."""
    text = fold(text).strip()
    return to_simplified(text) if locale.lower().startswith(("zh", "cmn")) else text


def as_written(heard: str, written: str) -> str:
    """``heard`` with each Chinese character that sounds as the aligned character of
    ``written`` shown as written: a reading Whisper heard as homophones ("示例证券" as
    "势力政权") reads as the sentence the investor was given, while a character heard as
    another syllable (a wrong name, a missing word) stays as heard. The alignment is over
    toneless pinyin (``difflib``); characters other than CJK are never changed.

    >>> as_written("本人李四，自愿在势力政权开户", "本人张三，自愿在示例证券开户")
    '本人李四，自愿在示例证券开户'
    """
    import difflib

    heard_at = [i for i, c in enumerate(heard) if _CJK.match(c)]
    written_cjk = [c for c in written if _CJK.match(c)]
    said = [_syllable(heard[i]) for i in heard_at]
    meant = [_syllable(c) for c in written_cjk]
    out = list(heard)
    matcher = difflib.SequenceMatcher(None, said, meant, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            out[heard_at[a + k]] = written_cjk[b + k]
    return "".join(out)


_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def zh_cardinal(number: str) -> str:
    """A plain decimal number ("3.5", "-10000", "0.15") in Chinese numerals, as read aloud.

    Raises ValueError for anything but an optional minus, digits and one decimal point.
    """
    if not _NUMBER.fullmatch(number or ""):
        raise ValueError(f"not a plain decimal number: {number!r}")
    import cn2an

    return str(cn2an.an2cn(number, "low"))


@functools.lru_cache(maxsize=1)
def _zdic() -> dict[int, str]:
    from pypinyin_dict.pinyin_data import zdic

    return dict(zdic.pinyin_dict)


@functools.lru_cache(maxsize=4096)
def zh_reading(char: str) -> str | None:
    """The most common reading of one CJK character as pinyin with a tone digit ("tuo1").

    pypinyin's own table first, then the larger zdic table of pypinyin-dict (rare name
    characters of CJK Extension B and later); None when neither knows the character.
    """
    if len(char) != 1 or not _CJK.match(char):
        return None
    from pypinyin import Style, lazy_pinyin
    from pypinyin.contrib.tone_convert import to_tone3

    out = lazy_pinyin(char, style=Style.TONE3, neutral_tone_with_five=True, errors="ignore")
    if out and out[0] != char:
        return out[0].replace("ü", "v")
    marked = _zdic().get(ord(char))
    if not marked:
        return None
    return str(to_tone3(marked.split(",")[0], neutral_tone_with_five=True)).replace("ü", "v")


# Surnames read otherwise than the character's common reading (曾 is céng in 曾经, zēng as a
# surname). pypinyin has no surname mode (mozillazg/python-pinyin #120, #297), so the table
# is here: tone-marked pinyin, which espeak-ng's Mandarin voice reads as written. Compound
# surnames first: 尉迟 is yù chí, while 尉 alone is wèi.
ZH_SURNAMES = {
    "尉迟": "yù chí", "万俟": "mò qí", "长孙": "zhǎng sūn", "澹台": "tán tái", "令狐": "líng hú",
    "曾": "zēng", "单": "shàn", "解": "xiè", "仇": "qiú", "区": "ōu", "朴": "piáo", "查": "zhā",
    "盖": "gě", "覃": "qín", "乐": "yuè", "缪": "miào", "翟": "zhái", "华": "huà", "任": "rén",
    "纪": "jǐ", "燕": "yān", "秘": "bì", "种": "chóng", "重": "chóng", "繁": "pó", "过": "guō",
    "折": "shè", "哈": "hǎ", "能": "nài", "佴": "nài", "粘": "niàn", "藏": "zàng", "都": "dū",
    "六": "lù", "薄": "bó", "阚": "kàn", "乜": "niè", "召": "shào", "句": "gōu", "员": "yùn",
    "贠": "yùn", "祭": "zhài", "卜": "bǔ", "葛": "gě", "么": "yāo", "黑": "hè",
    # The most common surnames, checked one by one against espeak-ng's reading: 贾 (read gǔ),
    # 肖 (xiào), 涂 and 戚 (a neutral tone); and 郇, 那 and 单于.
    "单于": "chán yú", "贾": "jiǎ", "肖": "xiāo", "涂": "tú", "戚": "qī", "郇": "huán",
    "那": "nā", "隗": "wěi",
    # 宓 as a surname is fú (宓子贱); espeak-ng says mì (tester round fourteen)
    "宓": "fú",
}
# Common one-character surnames, the commonest first (about the national ranking of the Ministry
# of Public Security's 2020 name report for the first hundred; the rest as the guide needs
# them). ``answers.ZH_COMMON_SURNAMES`` takes the first hundred; the guide all of them.
ZH_SURNAMES_BY_RANK = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
    "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘"
    "祝包宁尚符舒阮柯纪梅童凌毕单区朴查解仇华乐盖缪")
# Two-character surnames read as usual, for writing a name in English (欧阳娜娜 Ouyang Nana).
ZH_COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 公孙 慕容 宇文 司徒 夏侯 轩辕 钟离 端木 独孤 南宫 西门 呼延 "
    "百里 东郭 公羊 司空 闻人 申屠 太史 左丘 拓跋 完颜 纳兰".split()) | {
    k for k in ZH_SURNAMES if len(k) == 2}


def zh_surname(name: str) -> tuple[str, str] | None:
    """``(surname, reading)`` when ``name`` begins with a surname read otherwise than its
    characters' common reading: "曾国藩" -> ("曾", "zēng"), "尉迟恭" -> ("尉迟", "yù chí").

    The reading is tone-marked pinyin, one syllable per character, space-separated. None for
    any other name (its characters' common readings are right). ``name`` is as stored (NFC,
    trimmed: ``kiosk.guide.normalise.normalise_name``).
    """
    for size in (2, 1):
        head = name[:size]
        if len(head) == size and head in ZH_SURNAMES:
            return head, ZH_SURNAMES[head]
    return None


def zh_is_word(text: str) -> bool:
    """Whether pypinyin's phrase table holds ``text`` as a word (单方, 曾经, 区域: a word, not
    a name; the table holds words with a polyphonic character, not every word)."""
    from pypinyin.constants import PHRASES_DICT

    return text in PHRASES_DICT


# Broker words pypinyin (0.55) reads wrongly, reviewed against 现代汉语词典: each character's
# reading (tone digit, 5 for the neutral tone). They override pypinyin's phrase table for the
# guide's voice only (``zh_phrase_readings``); pypinyin's global phrase table is left alone,
# so the answer matching above (``zh_syllables``, ``toneless_pinyin``) is unchanged.
ZH_PHRASE_READINGS = {
    "还款": ("huan2", "kuan3"), "还息": ("huan2", "xi1"), "中签": ("zhong4", "qian1"),
    "单只": ("dan1", "zhi1"), "两只": ("liang3", "zhi1"), "为准": ("wei2", "zhun3"),
    "支行": ("zhi1", "hang2"), "调仓": ("tiao2", "cang1"), "调低": ("tiao2", "di1"),
    "调高": ("tiao2", "gao1"), "上调": ("shang4", "tiao2"), "处在": ("chu3", "zai4"),
    "得到": ("de2", "dao4"), "得以": ("de2", "yi3"),
    # 得分 (a score) is dé fēn; 得 before 先 after you is děi, "must first" (speakable/22)
    "得分": ("de2", "fen1"), "您得先": ("nin2", "dei3", "xian1"),
    "你得先": ("ni3", "dei3", "xian1"),
    # 中风险 is 中 + 风险, not 中风 (zhòng fēng, a stroke) + 险
    "中风险": ("zhong1", "feng1", "xian3"),
    # 卜 of the Uyghur name part 阿卜杜 (Abdu-) is bǔ; 照片 and 相片 are piàn (审音表 2016)
    "阿卜杜": ("a1", "bu3", "du4"), "照片": ("zhao4", "pian4"), "相片": ("xiang4", "pian4"),
    # 单县 (Shandong) is Shàn Xiàn, a place name no phrase table of pypinyin's holds
    "单县": ("shan4", "xian4"),
}
_ZH_PHRASE = re.compile("|".join(sorted(ZH_PHRASE_READINGS, key=len, reverse=True)))
# Rare words of pypinyin's phrase table that its segmenter finds across a word boundary in
# common text, giving a reading no reader would: 期年 (jī nián, "a full year") in 7天期年化,
# 年分 (nián fèn) in 2024年分别. ``zh_words`` never takes them as words. (Since speakable/12 a
# phrase that crosses a word of the text's segmentation is not taken either, which finds these
# two as well.)
ZH_RARE_WORDS = frozenset({"期年", "年分"})


@functools.lru_cache(maxsize=8192)
def zh_polyphonic(char: str) -> bool:
    """Whether pypinyin knows more than one reading for the CJK character ``char``."""
    from pypinyin import pinyin

    return len(char) == 1 and bool(_CJK.match(char)) and len(pinyin(char, heteronym=True)[0]) > 1


def zh_word_readings(word: str) -> tuple[str, ...]:
    """pypinyin's reading of each character of ``word`` read as one phrase (tone digits, 5 for
    the neutral tone, ü as v), or () when they do not pair up one to one. Cached."""
    return _word_readings(word)


@functools.lru_cache(maxsize=4096)
def _word_readings(word: str) -> tuple[str, ...]:
    from pypinyin import Style, lazy_pinyin

    out = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
    return tuple(s.replace("ü", "v") for s in out) if len(out) == len(word) else ()


def zh_phrase_readings(text: str) -> list[str | None]:
    """For each character of ``text``: its reading in context when it is a polyphonic
    character inside a word (ZH_PHRASE_READINGS, then pypinyin's phrase table), else None.

    A reading is pinyin with a tone digit (5: neutral), ü as v: "银行卡" -> [None, "hang2",
    None] (行 is polyphonic; 银 and 卡 are not), "了解" -> ["liao3", "jie3"]. A polyphonic
    character standing alone (地 in 认真地) gets None: no table says more than its common
    reading there. Characters other than CJK ideographs get None. The words are found by
    ``zh_words``: a phrase of pypinyin's is not a word where it crosses a word of the text's
    most probable segmentation (失败将收取: 败将 crosses 失败, so 将 keeps its common reading
    jiāng; 银行为: 行为 crosses 银行). Linear in the text.
    """
    out: list[str | None] = [None] * len(text)
    pos = 0
    pieces: list[tuple[int, str]] = []
    for m in _ZH_PHRASE.finditer(text):
        pieces.append((pos, text[pos:m.start()]))
        for i, reading in enumerate(ZH_PHRASE_READINGS[m.group(0)]):
            if zh_polyphonic(m.group(0)[i]):
                out[m.start() + i] = reading
        pos = m.end()
    pieces.append((pos, text[pos:]))
    for start, piece in pieces:
        for a, b in zh_words(piece):
            word = piece[a:b]
            if b - a > 1 and any(zh_polyphonic(c) for c in word):
                readings = _word_readings(word)
                for i, c in enumerate(word):
                    if readings and zh_polyphonic(c):
                        out[start + a + i] = readings[i]
    return out


# How common a word is: the counts of jieba's dictionary (jieba/dict.txt, about 350,000 words
# with their counts in a large corpus of modern Chinese), read as data; jieba's own segmenter
# is not imported. Kept: single characters, and words of two to four characters counted at
# least _MIN_WORD_COUNT times (about 94,000, ~30 MB, read once, in about a second, the first
# time a Mandarin text is segmented).
_MIN_WORD_COUNT = 10


@functools.lru_cache(maxsize=1)
def word_counts() -> dict[str, int]:
    """Characters and words of two to four characters with their counts in jieba's
    dictionary, and the dictionary's total count under the key "" (for the probability of a
    word). Raises RuntimeError when the jieba package (a dependency) is not installed."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        raise RuntimeError("the jieba package is not installed; the guide reads its dictionary's "
                           "word counts to find Mandarin words (pip install jieba==0.42.1)")
    counts: dict[str, int] = {}
    total = 0
    with open(Path(spec.origin).parent / "dict.txt", encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2 or not parts[1].isdigit():
                continue
            n = int(parts[1])
            total += n
            if len(parts[0]) == 1 or 2 <= len(parts[0]) <= 4 and n >= _MIN_WORD_COUNT:
                counts[parts[0]] = n
    counts[""] = total
    return counts



def zh_segments(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each word of the most probable segmentation of ``text``: the words
    of jieba's dictionary (``word_counts``) whose probabilities have the largest product, as
    jieba's own segmenter finds it without its HMM (a character the dictionary lacks is a
    word counted once). Linear in the text (words have at most four characters).

    It weighs whole segmentations, not two words against each other: in 存管银行为中国银行
    行为 (8,963) is more common than 银行 (7,684), but 银 + 行为 is far less likely than 银行 +
    为 (为 alone: 295,952), so 银行 is the word there."""
    counts = word_counts()
    get, log, cjk, log_total = counts.get, math.log, _CJK.match, math.log(counts[""])
    n = len(text)
    best = [0.0] * (n + 1)
    step = [1] * (n + 1)
    for i in range(n - 1, -1, -1):
        if not cjk(text[i]):  # a letter, digit, space or sign: a word in every segmentation
            best[i] = best[i + 1]
            continue
        top, k_top = log(get(text[i], 1)) - log_total + best[i + 1], 1
        for k in range(2, min(4, n - i) + 1):
            count = get(text[i:i + k])
            if count:
                score = log(count) - log_total + best[i + k]
                if score > top:
                    top, k_top = score, k
        best[i], step[i] = top, k_top
    words = []
    i = 0
    while i < n:
        words.append((i, i + step[i]))
        i += step[i]
    return words


def zh_plausibility(text: str) -> float:
    """How much a Mandarin text reads like words: the mean log-probability per character of its
    most probable segmentation (``zh_segments`` over jieba's word counts). A clear answer heard
    as said is about -4 to -6.5 (我已经知道了 -3.96, 我妈让我来开的 -6.53); a transcript of
    syllables Whisper could not make into words is lower (请处抖看国脸 -8.22, 动恋 -10.05).
    0.0 for a text without characters."""
    chars = "".join(t for t in zh_tokens(text) if _CJK.match(t))
    if not chars:
        return 0.0
    counts = word_counts()
    log_total = math.log(counts[""])
    return sum(math.log(counts.get(chars[a:b], 1)) - log_total
               for a, b in zh_segments(chars)) / len(chars)


def zh_words(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each word of ``text`` as the guide reads its polyphones: pypinyin's
    segmentation (the longest phrase of its phrase table, left to right), except that a phrase
    is not taken where it crosses a word of the text's most probable segmentation
    (``zh_segments``: it may hold words, or lie inside one, 银行 in 中国银行, but not take part
    of one and part of the next), nor where it is one of ZH_RARE_WORDS; a shorter one is
    tried, else the character stands alone. pypinyin's table holds only phrases with a
    polyphonic character, so its longest match alone cuts across words: 失败将收取 gave 败将
    ("a defeated general", jiàng) for the future marker 将 (jiāng), 资金为人民币 为人, and
    存管银行为中国银行 行为 (银行 yín xíng). Linear in the text (phrases are short)."""
    from pypinyin.constants import PHRASES_DICT
    from pypinyin.seg.mmseg import p_set

    # the word each character belongs to, as (start, end), once a phrase is to be weighed
    word_of: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        ends = []
        j = i + 1
        while j <= len(text) and text[i:j] in p_set:
            if j - i > 1 and text[i:j] in PHRASES_DICT and text[i:j] not in ZH_RARE_WORDS:
                ends.append(j)
            j += 1
        end = i + 1
        for j in reversed(ends):
            if not word_of:
                word_of = [w for w in zh_segments(text) for _ in range(*w)]
            first, last = word_of[i], word_of[j - 1]
            # a phrase crosses a word when it starts inside one that ends before the phrase
            # does, or ends inside one that started after the phrase did
            if not (first[0] < i and first[1] < j or last[1] > j and last[0] > i):
                end = j
                break
        yield i, end
        i = end


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a Chinese character."""
    return bool(_CJK.search(text))


def romanised_name(name: str) -> list[str]:
    """A Chinese name as the English words a recogniser writes for it, surname first, each
    part's toneless pinyin run together, as the guide says it in English
    (``kiosk.guide.normalise``): 王建国 -> ['wang', 'jianguo'], 欧阳子墨 -> ['ouyang', 'zimo']
    (``ZH_COMPOUND_SURNAMES``), 曾国藩 -> ['zeng', 'guofan'] (``zh_surname``), ü as u; []
    when ``name`` has no Chinese character."""
    chars = "".join(_CJK.findall(to_simplified(name)))
    if not chars:
        return []
    found = zh_surname(chars)
    if found is not None:
        head, reading = found[0], unicodedata.normalize("NFD", found[1])
        surname = "".join(c for c in reading if c.isascii() and c.isalpha())
    else:
        head = chars[:2] if len(chars) > 2 and chars[:2] in ZH_COMPOUND_SURNAMES else chars[:1]
        surname = toneless_pinyin(head).replace(" ", "")
    given = toneless_pinyin(chars[len(head):]).replace(" ", "")
    return [w.replace("ü", "u").replace("v", "u") for w in (surname, given) if w]
