"""What the guide says for what is written: text normalisation before speech (pure, per locale).

The subtitle shows the broker's written text; the voice (espeak-ng ``sit/cmn-latn-pinyin`` or
``gmw/en-us``) gets ``speakable(text, locale)``. The guide (``GuideVoice.render``), the flow
preview and the flow checker all call this module, so what is previewed is what is spoken.

espeak-ng, left alone, reads 3.5% as "san wu" + English "percent", 105X as 一百零五 X, 95588 as
a number of ten-thousands, ETF as one English word, T+1 with English "plus", and a character
outside its dictionary as its code point. The passes below, in order, fix each class:

1. Fold: NFKC (full-width forms), every middle-dot look-alike to U+00B7 (then silent),
   Unicode minus and dashes to ASCII.
2. Dates (2024年1月1日, 2024-01-01) and times (9:30).
3. Digit strings read one by one: after a word that names one (尾号, 电话, 账号, "ending in",
   "phone" ...), an ID tail with its check letter (105X), a leading zero (0571), and any run of
   five or more digits that is not a quantity (not followed by a unit such as 元 or 万).
4. Ranges (3–5, 3%-5%), percent and per mille, money (¥, $, 万元, 亿元), signs (T+1, -3.5%).
5. The remaining numbers as cardinals (cn2an in Mandarin; espeak-ng reads English ones).
6. Latin acronyms letter by letter (ETF -> E T F).
7. Symbols espeak-ng would say as English words (& @ = ~ / ...) as words of the locale, or
   silent.
8. CJK characters outside espeak-ng's dictionary (Extension A and later) as pinyin with a tone
   digit, which the Mandarin voice reads as pinyin ("tuo1"); Chinese characters in an English
   text as toneless pinyin. A character nobody has a reading for is dropped, never spelled as
   a code point (``kiosk flows check`` warns about it).

Flow variables are read by their declared reading (``{id_last4:digits}``): see
``read_variable``. ``speakable`` costs ~0.1 ms per prompt (docs/flows.md, "What the guide says").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from kiosk.speech.textnorm import zh_cardinal, zh_reading

# Bump when a rule changes what is spoken: part of the guide's cache key.
NORMALISER_VERSION = "speakable/1"

READINGS = ("digits", "number", "text")
# Variables read digit by digit unless the flow says otherwise (ID tails, phone numbers).
_DIGIT_VARIABLE = re.compile(r"id_last\d*|.*(?:phone|mobile|tel|account|card|_no|number|code)")

MIDDLE_DOTS = "\u00b7\u0387\u16eb\u2022\u2027\u2219\u22c5\u2e31\u30fb\u318d\uff65\U00010101"
_MIDDLE_DOT = re.compile(f"[{MIDDLE_DOTS}]")
_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d]")
# Characters espeak-ng's Mandarin dictionary covers: the original CJK Unified Ideographs.
_ESPEAK_CJK = re.compile("[\u4e00-\u9fa5]")
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")

ZH_DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
YEAR_DIGITS = dict(ZH_DIGITS, **{"0": "〇"})
EN_DIGITS = dict(zip("0123456789", ("zero", "one", "two", "three", "four", "five", "six",
                                    "seven", "eight", "nine"), strict=True))
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
# Words after which digits are an identifier, read one by one.
_ZH_DIGIT_CUES = ("尾号|号码|电话|热线|手机|账号|帐号|编号|卡号|代码|验证码|序号|工号|证号|邮编|"
                  "单号|流水号|客服|尾数|"
                  # 身份证后四位 / 证件末4位 / 后六位数字: the tail of an ID, said digit by digit
                  "[后末][0-9一二三四五六七八九十]+位(?:数字|号码|数)?")
_EN_DIGIT_CUES = (r"ending in|ends in|ending with|number|no\.|phone|telephone|hotline|tel\.?|"
                  r"account|code|ID|PIN|card|tail|"
                  r"last (?:\w+ )?digits(?: of (?:your |the )?[\w ]{1,20}?)?")
# Digits after a cue, with the group separators phone and card numbers are written with
# (400-820-8820, (021) 6888-1234, 6225 8801 2345 6789): one identifier, read digit by digit.
_CUED_DIGITS = r"(?P<d>\(?\d[\dA-Za-z]*\)?(?:(?:-| (?=\d{3}))\d[\dA-Za-z]*)*)"
_ZH_CUED = re.compile(rf"(?P<cue>{_ZH_DIGIT_CUES})(?P<sep>[为是：:\s]*){_CUED_DIGITS}")
_EN_CUED = re.compile(rf"(?P<cue>\b(?:{_EN_DIGIT_CUES}))(?P<sep>[:\s]*(?:(?:is|are)\s+)?)"
                      rf"{_CUED_DIGITS}\b", re.IGNORECASE)
# A phone-style number of three or more groups (400-820-8820) is an identifier even uncued.
_GROUPED_DIGITS = re.compile(r"(?<![\d.,-])\d{3,4}(?:-\d{3,4}){2,}(?![\d.,-])")
# A run of digits ending in an ID check letter (105X), or starting with 0 (0571), or 5+ long.
# (\w would match CJK characters too: "尾号105X" has a word character before the digits.)
_ID_TAIL = re.compile(r"(?<![A-Za-z0-9_.])\d+[Xx](?![A-Za-z0-9_])")
_LEADING_ZERO = re.compile(r"(?<![A-Za-z0-9_.,])0\d+(?![\d.,])")
_LONG_DIGITS = re.compile(r"(?<![A-Za-z0-9_.,])\d{5,}(?![\d.,])")
# What makes a number a quantity, not an identifier, when it follows.
_ZH_UNITS = re.compile("[元万亿千百个人名位股份手天日月年岁次件台张笔户家倍分秒小周%‰]")
_EN_UNITS = re.compile(r"(?:yuan|dollars?|shares?|days?|years?|months?|people|persons?|times|"
                       r"percent|units?|kg|km|m|%|‰)\b", re.IGNORECASE)

_SUPERSCRIPT = re.compile(r"[\u00b2\u00b3\u00b9\u2070-\u209f]")


@dataclass(frozen=True)
class Issue:
    """Something in a text the voice would say badly: ``offset`` into the text, a message."""

    offset: int
    message: str


def is_zh(locale: str) -> bool:
    return locale.split("-")[0].lower() in ("zh", "cmn")


def fold(text: str) -> str:
    """NFKC, middle-dot look-alikes to U+00B7, dashes and minus to '-', spaces collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = _MIDDLE_DOT.sub("\u00b7", text)
    text = _DASHES.sub("-", text)
    return re.sub(r"[ \t\r\n\u3000]+", " ", text).strip()


def normalise_name(value: str) -> str:
    """An applicant's name or variable as stored: NFC, middle dots as U+00B7, trimmed."""
    text = unicodedata.normalize("NFC", value)
    text = _MIDDLE_DOT.sub("\u00b7", text)
    return re.sub(r"\s+", " ", text).strip()


def default_reading(name: str) -> str:
    """How a variable is read when the flow does not say: digits for ID tails and phones."""
    return "digits" if _DIGIT_VARIABLE.fullmatch(name) else "text"


def spell_digits(value: str, locale: str) -> str:
    """Digits (and letters) one by one: 105X -> 一零五X / "one zero five X"; group separators
    (spaces, hyphens, brackets of 400-820-8820 or (021) 6888) are left out."""
    chars = [c for c in fold(value) if not c.isspace() and c not in "-()"]
    if is_zh(locale):
        return "".join(ZH_DIGITS.get(c, f" {c.upper()} ") for c in chars).strip().replace(
            "  ", " ")
    return " ".join(EN_DIGITS.get(c, c.upper()) for c in chars)


def read_variable(value: str, reading: str, locale: str) -> str:
    """A variable's value as the voice should get it, by its reading (digits, number, text)."""
    if reading not in READINGS:
        raise ValueError(f"unknown reading {reading!r}; use {', '.join(READINGS)}")
    value = str(value)
    if reading == "digits":
        return spell_digits(value, locale)
    if reading == "number" and is_zh(locale):
        plain = fold(value).replace(",", "")
        try:
            return zh_cardinal(plain)
        except ValueError:
            return value
    return value


# --------------------------------------------------------------------------- Mandarin


def _zh_number(text: str) -> str:
    """A written number (commas, sign, decimals) in Chinese numerals."""
    plain = text.replace(",", "").lstrip("+")
    return zh_cardinal(plain)


def _zh_date(m: re.Match) -> str:
    y, mo, d = m.group("y"), m.group("mo"), m.group("d")
    out = "".join(YEAR_DIGITS[c] for c in y) + "年"
    if mo:
        out += zh_cardinal(str(int(mo))) + "月"
    if d:
        out += zh_cardinal(str(int(d))) + "日"
    return out


def _zh_time(m: re.Match) -> str:
    h, mi, s = int(m.group(1)), int(m.group(2)), m.group(3)
    out = zh_cardinal(str(h)) + "点"
    if mi:
        out += ("零" if mi < 10 else "") + zh_cardinal(str(mi)) + "分"
    if s is not None and int(s):
        out += zh_cardinal(str(int(s))) + "秒"
    return out


_ZH_DATE = re.compile(r"(?<!\d)(?P<y>\d{4})(?:年(?:(?P<mo>\d{1,2})月(?:(?P<d>\d{1,2})[日号])?)?"
                      r"|[-/.](?P<mo2>\d{1,2})[-/.](?P<d2>\d{1,2})(?!\d))")
_TIME = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(?![\d:])")
_ZH_PERCENT = re.compile(rf"(?P<sign>(?<![A-Za-z0-9_.])(?:[+-]|±))?(?P<n>{_NUM})\s*(?P<unit>[%‰])")
_RANGE = re.compile(rf"(?P<a>{_NUM})\s*(?P<ua>[%‰]|[万亿千百倍]?)\s*(?:-|~|至)\s*(?P<b>{_NUM})"
                    r"\s*(?P<ub>[%‰])?")
# Two clock times joined by a dash (9:30-11:30, once each is 九点三十分): a range, 到.
_ZH_TIME_RANGE = re.compile(r"([点分秒])\s*-\s*(?=[零一二三四五六七八九十两])")
_MONEY_PREFIX = re.compile(rf"(?P<cur>US\$|HK\$|[¥$€£])\s*(?P<n>{_NUM})(?P<mult>[万亿]?)")
_ZH_CURRENCY = {"¥": "元", "$": "美元", "US$": "美元", "HK$": "港元", "€": "欧元", "£": "英镑"}
_PLUS_BETWEEN = re.compile(r"(?<=[A-Za-z0-9])\s*\+\s*(?=\d)")
_SIGNED = re.compile(rf"(?<![A-Za-z0-9_.])(?P<sign>[+-]|±)(?P<n>{_NUM})")
_NUMBER = re.compile(rf"(?<![0-9.]){_NUM}|\d+")
_FRACTION = re.compile(r"(?<![0-9.])(\d+)/(\d+)(?![0-9])")
# Capitals spelled letter by letter, with an optional plural s (ETFs: "E T F's" in English,
# E T F in Mandarin, which has no plural).
_ACRONYM = re.compile(r"(?<![A-Za-z])(?P<a>[A-Z]{2,})(?P<s>s?)(?![A-Za-z])")
_ZH_SYMBOLS = {"&": "和", "=": "等于", "@": " at ", "#": "号", "°C": "摄氏度", "°": "度",
               "~": "到", "/": "每", "*": " ", "^": " ", "|": " ", "_": " ", "<": "小于",
               ">": "大于", "\\": " ", "\u00b7": " "}
_ZH_SYMBOL = re.compile("°C|[&=@#°~/*^|_<>\\\\\u00b7]")


def _cued_digits(m: re.Match, locale: str) -> str:
    return m.group("cue") + m.group("sep") + " " + spell_digits(m.group("d"), locale) + " "


def _zh_range(m: re.Match) -> str:
    ua, ub = m.group("ua"), m.group("ub") or ""
    unit_a = ua or ub  # 3-5% is 百分之三到百分之五
    return f"{m.group('a')}{unit_a}到{m.group('b')}{ub}"


def _zh_percent(m: re.Match) -> str:
    sign = {"-": "负", "+": "正", "±": "正负"}.get(m.group("sign") or "", "")
    head = "百分之" if m.group("unit") == "%" else "千分之"
    return sign + head + _zh_number(m.group("n"))


def _zh_money(m: re.Match) -> str:
    n = m.group("n")
    if "." in n:
        n = n.rstrip("0").rstrip(".")  # ¥1,000.50 is 一千点五元
    return n + m.group("mult") + _ZH_CURRENCY[m.group("cur")]


def _zh_signed(m: re.Match) -> str:
    sign = {"-": "负", "+": "正", "±": "正负"}[m.group("sign")]
    return sign + m.group("n")


def _quantity_follows(text: str, end: int, units: re.Pattern) -> bool:
    """Whether a unit (元, 万, days, %) follows the number that ends at ``end``."""
    return units.match(text[end:end + 12].lstrip()) is not None


def _zh_long_digits(text: str) -> str:
    def sub(m: re.Match) -> str:
        if _quantity_follows(text, m.end(), _ZH_UNITS):
            return m.group(0)
        return spell_digits(m.group(0), "zh")

    return _LONG_DIGITS.sub(sub, text)


def _zh_cjk(text: str) -> str:
    out = []
    for ch in text:
        if _CJK.match(ch) and not _ESPEAK_CJK.match(ch):
            reading = zh_reading(ch)
            out.append(f" {reading} " if reading else "")
        else:
            out.append(ch)
    return "".join(out)


def _zh_speakable(text: str) -> str:
    text = _ZH_DATE.sub(lambda m: _zh_date(m) if m.group("mo2") is None else _zh_date_iso(m),
                        text)
    text = _TIME.sub(_zh_time, text)
    text = _ZH_TIME_RANGE.sub(r"\1到", text)
    text = _ZH_CUED.sub(lambda m: _cued_digits(m, "zh"), text)
    text = _GROUPED_DIGITS.sub(lambda m: spell_digits(m.group(0), "zh"), text)
    text = _ID_TAIL.sub(lambda m: spell_digits(m.group(0), "zh"), text)
    text = _LEADING_ZERO.sub(lambda m: spell_digits(m.group(0), "zh"), text)
    text = _zh_long_digits(text)
    text = _MONEY_PREFIX.sub(_zh_money, text)
    text = _RANGE.sub(_zh_range, text)
    text = _ZH_PERCENT.sub(_zh_percent, text)
    text = _FRACTION.sub(lambda m: f"{m.group(2)}分之{m.group(1)}", text)
    text = _PLUS_BETWEEN.sub("加", text)
    text = _SIGNED.sub(_zh_signed, text)
    text = _NUMBER.sub(lambda m: _zh_number(m.group(0)), text)
    text = _ACRONYM.sub(lambda m: " " + " ".join(m.group("a")) + " ", text)
    text = _ZH_SYMBOL.sub(lambda m: _ZH_SYMBOLS[m.group(0)], text)
    text = text.replace("+", "加")
    # NFKC made "，" an ASCII ",", after which espeak's Mandarin voice makes no pause (measured:
    # "您好,欢迎" runs on, "您好，欢迎" pauses 140 ms): give the pauses back their full width.
    text = _ZH_PAUSE.sub(lambda m: _ZH_PAUSES[m.group(1)], _zh_cjk(text))
    return re.sub(r"\s+([，；：！？。])", r"\1", text)


_ZH_PAUSES = {",": "，", ";": "；", ":": "：", "!": "！", "?": "？"}
_ZH_PAUSE = re.compile(r"(?<![0-9A-Za-z])([,;:!?])\s*")


def _zh_date_iso(m: re.Match) -> str:
    y, mo, d = m.group("y"), int(m.group("mo2")), int(m.group("d2"))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return m.group(0)
    return ("".join(YEAR_DIGITS[c] for c in y) + "年" + zh_cardinal(str(mo)) + "月"
            + zh_cardinal(str(d)) + "日")


# --------------------------------------------------------------------------- English

_EN_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_EN_RANGE = re.compile(rf"(?P<a>{_NUM})\s*(?P<ua>[%‰]?)\s*(?:-|~)\s*(?P<b>{_NUM})")
_EN_MONEY = re.compile(rf"(?P<cur>US\$|HK\$|[¥$€£])\s*(?P<n>{_NUM})")
_EN_CURRENCY = {"¥": "yuan", "$": "dollars", "US$": "US dollars", "HK$": "Hong Kong dollars",
                "€": "euros", "£": "pounds"}
_EN_CN_MONEY = re.compile(rf"(?P<n>{_NUM})\s*(?P<mult>[万亿]?)(?:元|人民币)")
_EN_CN_MULT = re.compile(rf"(?P<n>{_NUM})\s*(?P<mult>[万亿])")
_EN_SYMBOLS = {"&": " and ", "@": " at ", "=": " equals ", "~": " about ", "‰": " per mille",
               "°C": " degrees Celsius", "°": " degrees", "#": " number ", "\u00b7": " ",
               "*": " ", "^": " ", "|": " ", "_": " ", "\\": " "}
_EN_SYMBOL = re.compile("°C|[&@=~‰°#*^|_\\\\\u00b7]")


def _en_date(m: re.Match) -> str:
    y, mo, d = m.group(1), int(m.group(2)), int(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return m.group(0)
    return f"{EN_MONTHS[mo - 1]} {d}, {y}"


def _en_scaled(n: str, mult: str) -> str:
    value = float(n.replace(",", "")) * (10_000 if mult == "万" else 100_000_000 if mult else 1)
    return f"{value:.0f}" if value.is_integer() else f"{value:g}"


def _en_money(m: re.Match) -> str:
    n = m.group("n").replace(",", "")
    word = _EN_CURRENCY[m.group("cur")]
    if "." in n and m.group("cur") in ("$", "US$", "HK$", "€", "£"):
        whole, cents = n.split(".", 1)
        cents = (cents + "0")[:2]
        return f"{whole} {word}" + (f" and {int(cents)} cents" if int(cents) else "")
    return f"{n} {word}"


def _en_long_digits(text: str) -> str:
    def sub(m: re.Match) -> str:
        if _quantity_follows(text, m.end(), _EN_UNITS):
            return m.group(0)
        return spell_digits(m.group(0), "en")

    return _LONG_DIGITS.sub(sub, text)


def _en_cjk(text: str) -> str:
    """Chinese characters in an English text: toneless pinyin, capitalised (王 -> Wang)."""
    def sub(m: re.Match) -> str:
        words = [zh_reading(ch) for ch in m.group(0)]
        syllables = [re.sub(r"\d", "", w) for w in words if w]
        return " " + " ".join(s.capitalize() for s in syllables) + " "

    return re.sub(f"(?:{_CJK.pattern})+", sub, text)


def _en_speakable(text: str) -> str:
    text = _EN_ISO_DATE.sub(_en_date, text)
    text = _EN_CUED.sub(lambda m: _cued_digits(m, "en"), text)
    text = _GROUPED_DIGITS.sub(lambda m: spell_digits(m.group(0), "en"), text)
    text = _ID_TAIL.sub(lambda m: spell_digits(m.group(0), "en"), text)
    text = _LEADING_ZERO.sub(lambda m: spell_digits(m.group(0), "en"), text)
    text = _EN_CN_MONEY.sub(lambda m: _en_scaled(m.group("n"), m.group("mult")) + " yuan", text)
    text = _EN_CN_MULT.sub(lambda m: _en_scaled(m.group("n"), m.group("mult")), text)
    text = _en_long_digits(text)
    text = _EN_MONEY.sub(_en_money, text)
    text = _EN_RANGE.sub(lambda m: f"{m.group('a')}{m.group('ua')} to {m.group('b')}", text)
    text = _SIGNED.sub(lambda m: {"-": "minus ", "+": "plus ", "±": "plus or minus "}[
        m.group("sign")] + m.group("n"), text)
    text = _ACRONYM.sub(lambda m: " ".join(m.group("a")) + ("'s" if m.group("s") else ""),
                        text)
    text = _EN_SYMBOL.sub(lambda m: _EN_SYMBOLS[m.group(0)], text)
    return _en_cjk(text)


# --------------------------------------------------------------------------- public


def speakable(text: str, locale: str) -> str:
    """The text the voice should get for the written ``text`` in ``locale`` (pure, ~0.1 ms).

    Mandarin for zh*/cmn* locales, English rules otherwise. Never raises on odd input: what
    no rule covers is passed on unchanged (or dropped, for characters with no reading).
    """
    text = _SUPERSCRIPT.sub("", fold(text))
    text = _zh_speakable(text) if is_zh(locale) else _en_speakable(text)
    text = re.sub(r" +([,.!?;:。、])", r"\1", text)
    return re.sub(r" {2,}", " ", text).strip()


def speech_issues(text: str, locale: str) -> Iterator[Issue]:
    """What the voice would say badly in ``text``, each at its offset in ``text``.

    Characters with no reading at all; symbols the voice would read as English words (or not
    at all); digit runs longer than 4 that no rule marks as an identifier or a quantity (the
    voice would guess: write them after 电话/编号/"number", or as a variable ``{x:digits}``).
    """
    zh = is_zh(locale)
    for i, ch in enumerate(text):
        if _CJK.match(ch) and not _ESPEAK_CJK.match(ch) and zh_reading(ch) is None:
            yield Issue(i, f"character {ch} (U+{ord(ch):04X}) has no known reading; the "
                           "voice skips it, so write another character or its pinyin")
        elif unicodedata.category(ch) in ("So", "Co", "Cn") and ch not in "°℃":
            yield Issue(i, f"symbol {ch} (U+{ord(ch):04X}) cannot be spoken; write it in words")
    # The symbols no rule turns into words (& is 和 / "and", = is 等于 / "equals", ...).
    for m in re.finditer(r"[@*^|_\\]" if zh else r"[*^|_\\]", text):
        yield Issue(m.start(), f"symbol {m.group(0)} would be read as an English word or "
                               "skipped; write it in words")
    if zh:
        spoken_cues = re.compile(rf"(?:{_ZH_DIGIT_CUES})[为是：:\s]*$")
    else:
        spoken_cues = re.compile(rf"\b(?:{_EN_DIGIT_CUES})[:\s]*(?:is\s+)?$", re.IGNORECASE)
    units = _ZH_UNITS if zh else _EN_UNITS
    for m in _LONG_DIGITS.finditer(fold_keep_offsets(text)):
        if spoken_cues.search(text[:m.start()]) or _quantity_follows(text, m.end(), units):
            continue
        yield Issue(m.start(), f"digits {m.group(0)} are read one by one as a guess; say "
                               "what they are (电话/编号/'number ...' before them) or write a "
                               "quantity with its unit")


def fold_keep_offsets(text: str) -> str:
    """Full-width digits as ASCII, one character for one, so offsets still match ``text``."""
    return "".join(unicodedata.normalize("NFKC", c) if "\uff10" <= c <= "\uff19" else c
                   for c in text)
