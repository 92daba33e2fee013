"""What the guide says for what is written: text normalisation before speech (pure, per locale).

The subtitle shows the broker's written text; the voice (espeak-ng ``sit/cmn-latn-pinyin`` or
``gmw/en-us``) gets ``speakable(text, locale)``. The guide (``GuideVoice.render``), the flow
preview and the flow checker all call this module, so what is previewed is what is spoken.

espeak-ng, left alone, reads 3.5% as "san wu" + English "percent", 105X as 一百零五 X, 95588 as
a number of ten-thousands, ETF as one English word, T+1 with English "plus", and a character
outside its dictionary as its code point. The passes below, in order, fix each class:

1. Fold: NFKC (full-width forms; the full-width comma stays one, a thousands separator
   only in an amount typed in full-width mode, 3，000元: ``_FULL_WIDTH_THOUSANDS``), every
   middle-dot look-alike to U+00B7 (then silent), hyphens and en dashes to ASCII, >= <= ≧ ≦
   to ≥ ≤. Then dashes: —— is a pause; a hyphen before a digit is 到 after a
   quantity of the same kind (3个月-6个月), else a minus sign (近1年-5.2%: ``_hyphen``).
   Codes of letters and digits (HT2024001) are letters, then digits one by one; ranges of
   levels (R1-R4, C3-5) are ranges, and a level before a hyphen and a percentage (C3-5%) is
   the level, a pause and a signed percentage. Masked numbers (138****8000) are digits and 星号.
2. Dates (2024年1月1日, 2024-01-01; 12/31 when a date word is next to it: ``_ZH_DATE_BEFORE``),
   every year of a range or list (2023年-2024, 2023、2024年, 2023.01-2023.06), clock times and
   ratios (9:30 九点三十分 / "nine thirty"; 比例1:10 一比十 / "1 to 10").
3. Digit strings read one by one: after a word that names one (尾号, 电话, 手机号, 账号,
   "ending in", "phone" ...), phone and card numbers in groups (400-820-8820, 6222 0201 2345
   6789), an ID tail with its check letter (105X), a leading zero (0571), and any run of five
   or more digits that is not a quantity (not followed by a unit such as 元 or 万).
4. Money (¥, $, RMB, 万元, 亿元, "$1.5 million", "$0.50" 50 cents, ¥-2,500, ¥100-¥500;
   trailing zeros of an amount unsaid), ranges (3–5, 3%-5%), percent, per mille and per ten
   thousand, signs (T+1, -3.5%).
5. The remaining numbers as cardinals (cn2an in Mandarin, 两 before a measure word and in
   两千 / 两万; espeak-ng reads English ones).
6. Latin capitals letter by letter when they are an acronym (ETF -> E T F; WELCOME and ZHANG
   SAN are words: see ``_spelled``).
7. Symbols espeak-ng would say as English words (& @ = ~ / × ≥ < ...) as words of the locale,
   or silent ('/' is 每 / "per" after a unit, else 或 / "or"; *ST is 星 S T).
   Polyphonic Mandarin characters inside a word get their reading there as pinyin when
   espeak-ng would say another (银行 -> 银 hang2: ``_zh_polyphones``).
8. CJK characters outside espeak-ng's dictionary (Extension A and later, and the 625 of
   U+4E00–U+9FA5 it has no entry for: ``espeak_cmn_gaps``) as pinyin with a tone digit,
   which the Mandarin voice reads as pinyin ("tuo1"); Chinese characters in an English
   text as toneless pinyin. A character nobody has a reading for is dropped, never spelled as
   a code point (``kiosk flows check`` warns about it).

Flow variables are read by their declared reading (``{id_last4:digits}``, ``{name}`` as a
name with its surname's reading): see ``read_variable``. Every rule is linear in the length of
the text, which is capped at MAX_SPEAKABLE_CHARS. ``speakable`` costs about 1 ms per prompt
(the first call in a process about a second more, loading pypinyin's and cn2an's tables:
docs/flows.md, "What the guide says"). Control and format characters are removed first
(``strip_controls``). speakable/6 added standards (GB/T 35273-2020), circled list markers,
years without 年 (2024末, 2025H1, FY2024, 〔2017〕), 分机 / extension cues, email addresses,
English room and street numbers, Roman numerals of account classes, names in the running
script after a role word, English abbreviations (Jan, Mon., No., Art., hrs, bn), a minus
between words, Greek letters and a lone %. speakable/7 added English ranges of large amounts as
numbers, full-width amounts after a currency code, pinyin names in Latin letters (PIAO Chenghao;
zhang san in Mandarin), names after 本人, 转 extensions, English comparison chains, floors
(11/F), No. 130 as a cardinal, Apt, street numbers before 号, 3+2年 and 至长期. speakable/8
added data sizes and rates (5MB, 100Mbps), currency codes after an amount in Mandarin (1 USD =
7.18 CNY), ranges after a currency code joined by "to" or glued to Chinese, non-pinyin Latin
names in Mandarin said as words, day/month/year dates in Mandarin, 万1 as 万分之一, web
addresses with a scheme and port, versions (V6.2.1), resolutions (720P), English min./max./
incl./excl./approx., 500k and "the 8th of March". speakable/9 (try15) added '/' in a formula
as 除以 / "divided by", a short last group of a cued account number as digits, 按#号键 井号键 /
"the hash key", ≈ and a leading ~ as 约 / "about", stock-code prefixes (688开头) digit by digit,
zero decimals before 份/股/手, the letter G as ji1 in Mandarin and ü in a pinyin name (Lü Bo).
speakable/10 added units of measure after a number (3.5GHz 三点五G赫兹 / "3.5 gigahertz", 3km,
2kg, 5ms, 5000mAh, 220V, 120km/h, 3-5km: ``_MEASURE_UNITS``), 100M宽带 as 兆, 7*24小时,
lower-case 5g, the currency codes AUD CAD SGD CHF NZD MOP TWD KRW (and S$ A$ C$ NZ$ NT$ MOP$),
currency pairs (USD/CNY 美元兑人民币), amounts with a Latin scale in Mandarin ($6M
六百万美元), basis points (25bps 二十五个基点), small-x multiples
(PE 15x 十五倍), tenors (10Y 十年期, 3M Shibor 三个月, O/N 隔夜), the yuan's code after an
amount as 元人民币 (1 USD = 7.18 CNY), English money ranges joined by through / thru / "between
... and" or with a scale on the first amount (RMB 1 million to 5 million), dates with a
two-digit year (05/10/86) and English dates with '.' or '-' (warned when ambiguous, as '/'
ones), and a name in both scripts (JOHN SMITH（约翰·史密斯）) said in the locale's script.
speakable/11 added round six's classes (the rules at the end of this module, run by
``_zh_round_seven`` / ``_en_round_seven``): the English letter A said as the letter (10 A
shares), phone numbers with bracketed area codes, option codes and tickers (510050C2412M02500,
TSLA.US), slashes as ranks, rates and year spans (128/356, 1000桶/手, 2025/26财年), am/pm ranges,
room ranges (3201-02室), multipliers (3,125x), 万 written w/W, a formula's minus, surnames after
a role word and 为/是, minority names, and Greek letters in Mandarin. speakable/12 (tester round
eight) protects the words the normaliser writes for the voice, and a {name}'s reading, from
every later rule (``protect_spoken``: the letter-G rule had made 葛 gě jī ě), finds words for
the polyphone pass without crossing a more common word (``kiosk.speech.textnorm.zh_words``:
失败将 is no 败将), reads a lone 为 by its context (the copula wéi, 为您 wèi), codes of digits and
letters (98A001234567) one by one, web addresses without a scheme or www (irm.cninfo.com.cn),
a Mandarin address's words letter by letter unless pinyin, a full name before 先生 / 女士 after
请 由 向 和 尊敬的 ..., 21:00-次日02:30 as a range, 两点, and English times on a 24-hour clock
with a m / p m. speakable/13 (tester round nine) finds the words by the most probable
segmentation of the whole text (``kiosk.speech.textnorm.zh_segments``: 存管银行为 is 银行 + 为,
not 银 + 行为), reads 只 after a numeral or a determiner as the measure word zhī, 为 before 您
after the name of an amount as the copula (上限为您担保资产的1.5倍), 绩 and 迹 as jì wherever
they stand, 一 and 不 with their tone sandhi (一百 yi4, 不是 bu2), month/days after any word
ending in 日 and after a 于 of time (红利发放日为7/3, 于7/3) and dotted ones (请于1.15前) as
dates, 元/点 as 元每点, English ordinals in words (100th "one hundredth") and No. before a code
as "number"; ``kiosk flows check`` warns about an English month/day that could be read either
way (7/3), a Mandarin one read as a fraction or a number, and a Chinese name written in an
English prompt (``round_nine_issues``). speakable/14 (tester round ten: ``round_ten_issues``
and the rules before it) reads a two-digit year before 年 as a year where its words make it
one (25年全年 二五年, 在25年内 stays a duration), an English month/day with a leading zero or
after a word of a date as a date (on 12/01 "December 1"), two consecutive years as a span
(2025/26 "twenty twenty five to twenty six"), a name in a greeting or an address with its
surname's reading (您好，单田芳。 shàn), and the characters espeak-ng says with a wrong tone
(燚 yì: ``kiosk.guide.espeak_cmn_tones``) by their pypinyin reading. speakable/15 (tester
round eleven: ``_zh_round_eleven``, ``_zh_bank_hang``, ``round_eleven_issues``) reads a slash
after 第, before 号 or in a code as a separator (第12/356号 第十二斜杠三百五十六号), generations
digit by digit (90后 九零后), two-digit year spans (23-24年 二三至二四年, 24/25财年), a phone
number's extension (021-68881234-8052 零二一 六八八八一二三四 转 八零五二), a futures contract's
month after its commodity (豆粕2605 豆粕二六零五; 沪深300 stays 三百), 行 as a bank as háng
(开户行为工商银行, 托管行, 总行), and a name in the identity question (您是单田芳本人吗) with its
surname's reading, warned by the check. speakable/17 (tester round thirteen: the section at the
end of this module) reads credit ratings with their notch (AA- A A 减, "double eh minus"), 重
"again" as chóng (重置), 差 of a spread as chā (价差), 轧差 gá chā, 当日 dàng rì, 两 before more
measure words and in ranges (2-3个 两到三个), compact dates after a date word (交易日期20251231),
3pm and 9.30am, weekday abbreviations before a date, Ave / St, postcodes, pinyin names after
Ms. and role words, 618 / G20 / K12 / 2FA; the net warns a sign left unsaid after capitals.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from kiosk.guide.en_pinyin import (
    ENGLISH_WORDS,
    HK_NAME_WORDS,
    WADE_GILES_HK,
    english_syllable,
    pinyin_word_syllables,
    respell_name,
    respell_text,
    risky_pinyin,
)
from kiosk.guide.espeak_cmn_gaps import ESPEAK_CMN_GAPS
from kiosk.guide.espeak_cmn_repeats import ESPEAK_CMN_REPEATS
from kiosk.guide.espeak_cmn_tones import (
    ESPEAK_CMN_NEUTRAL,
    ESPEAK_CMN_READINGS,
    ESPEAK_CMN_TONES,
)
from kiosk.speech.textnorm import (
    ZH_COMPOUND_SURNAMES,
    ZH_NUMERALS,
    ZH_SURNAMES,
    ZH_SURNAMES_BY_RANK,
    pinyin_syllables,
    to_simplified,
    word_counts,
    zh_cardinal,
    zh_is_word,
    zh_phrase_readings,
    zh_polyphonic,
    zh_reading,
    zh_segments,
    zh_word_readings,
)
from kiosk.speech.textnorm import zh_surname as _speech_zh_surname

# Surnames the shared table lacks, read so only where a name is (since speakable/25): 於 yú
# (於梨华), which the voice says yū.
_GUIDE_SURNAMES = {"於": "yú", "洗": "xiǎn"}  # 洗星海 (a variant of 冼; since speakable/29)


def zh_surname(name: str) -> tuple[str, str] | None:
    """``kiosk.speech.textnorm.zh_surname``, and the surnames of ``_GUIDE_SURNAMES``."""
    found = _speech_zh_surname(name)
    if found is None and len(name) >= 2 and name[0] in _GUIDE_SURNAMES:
        return name[0], _GUIDE_SURNAMES[name[0]]
    return found


# Bump when a rule changes what is spoken. It names the rule set (for reports and docs); it is
# not part of the guide's cache key, which is the spoken text itself (``GuideVoice``), so a
# prompt whose words changed renders anew and the others stay cached.
NORMALISER_VERSION = "speakable/30"
_LOG = logging.getLogger(__name__)
# The longest written text ``speakable`` takes, in characters (a prompt the voice can say is
# at most 2,000: ``kiosk.guide.tts.MAX_TEXT_CHARS``). Longer input raises ValueError.
MAX_SPEAKABLE_CHARS = 20_000

READINGS = ("digits", "number", "text", "name")
# Variables read digit by digit unless the flow says otherwise (ID tails, phone numbers): the
# name is id_last..., or ends in one of these (searched from the end: linear in the name).
_DIGIT_VARIABLE = re.compile(r"\Aid_last\d*\Z|(?:phone|mobile|tel|account|card|_no|number|code)\Z")
# The applicant's name: read as a name (its surname's reading; never spelled as capitals).
_NAME_VARIABLE = re.compile(r"(?:applicant_|investor_|full_)?name")

MIDDLE_DOTS = "\u00b7\u0387\u16eb\u2022\u2027\u2219\u22c5\u2e31\u30fb\u318d\uff65\U00010101"
_MIDDLE_DOT = re.compile(f"[{MIDDLE_DOTS}]")
# Hyphens and the en dash fold to "-"; the em dash (a pause, or a range between digits) and
# the minus sign U+2212 (always a sign) are kept: see ``_dashes``.
_DASHES = re.compile("[\u2010\u2011\u2012\u2013\ufe63\uff0d]")
_EM_DASHES = re.compile("[\ufe58\u2e3a\u2e3b]")
# Characters espeak-ng's Mandarin dictionary covers: the original CJK Unified Ideographs.
_ESPEAK_CJK = re.compile("[\u4e00-\u9fa5]")
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")



def _beyond_voice(ch: str) -> bool:
    """Whether espeak-ng's Mandarin voice has no reading for the CJK character ``ch``: it is
    outside U+4E00–U+9FA5, or one of the characters there its dictionary lacks (瑃, 暃:
    ``kiosk.guide.espeak_cmn_gaps``, measured), or says with a tone that is none of the
    character's (燚 yī for yì: ``kiosk.guide.espeak_cmn_tones``, measured)."""
    return bool(_CJK.match(ch)) and (not _ESPEAK_CJK.match(ch) or ch in ESPEAK_CMN_GAPS or
                                     ch in ESPEAK_CMN_TONES)


ZH_DIGITS = ZH_NUMERALS
YEAR_DIGITS = dict(ZH_DIGITS, **{"0": "〇"})
EN_DIGITS = dict(zip("0123456789", ("zero", "one", "two", "three", "four", "five", "six",
                                    "seven", "eight", "nine"), strict=True))
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")

# A written number: an ASCII comma groups thousands only between groups of exactly three
# digits (1,234,567); 1,2 and 1,2024 are lists, and so is anything with a full-width comma.
_NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
# Words after which digits are an identifier, read one by one.
_ZH_DIGIT_CUES = ("(?:尾号|号码|电话|热线|手机|账号|帐号|编号|卡号|代码|验证码|序号|工号|证号|邮编|"
                  "单号|流水号|客服|尾数|末尾|尾部|结尾|分机|邮政编码|"
                  # 请读出数字：5291 / 念出以下号码: a figure the client reads back (speakable/20)
                  "(?:读出|念出|复述|说出|读|念)(?:以下|下列|下面的|屏幕上的|这串|这组)?(?=数字|号码)|"
                  # 客户号为 / 护照号：: a word ending in 号 before 为 / 是 / a colon (not 三号,
                  # 1号, 第二号); and right before the digits (注册号110000000012345, 登记号...:
                  # since speakable/20)
                  "(?<=[\u4e00-\u9fff])(?<![〇零一二两三四五六七八九十百千万亿第])号(?=[为是：:]|\\d)|"
                  # 转 right after a phone number is its extension (0991-2345678转806)
                  r"(?<=\d{7})转|(?<=\d[- ]\d{4})转|"
                  # 身份证后四位 / 证件末4位 / 后六位数字: the tail of an ID, said digit by digit
                  "[后末][0-9一二三四五六七八九十几]+位(?:数字|号码|数)?|"
                  # 以8888结尾 / 以105X结束: the digits a number ends with (a cue of no width)
                  r"(?<=以)(?=\d+[Xx]?\s*(?:结尾|结束|收尾)))"
                  # 手机号, 电话号码, 客服热线号: a cue word with 号 / 号码 / 码 after it
                  "(?:号码|号|码)?")
_EN_DIGIT_CUES = (r"end(?:ing|s|ed)?(?: in| with)?|number|no\.|phone|telephone|hotline|tel\.?|"
                  r"extension|ext\.?|"
                  r"mobile|cell(?:phone)?|fax|account|code|ID|PIN|card|tail|"
                  r"last (?:\w+ )?digits(?: of (?:your |the )?[\w ]{1,20}?)?|"
                  r"last (?:two|three|four|five|six|[2-6])(?= (?:is|are|\d))|"
                  # read the numbers on the screen: 3857 / Read the digits 3857 aloud: a figure
                  # the client reads back, digit by digit as 请读出数字 (since speakable/21)
                  r"(?<![A-Za-z])(?:read|say|repeat|speak)(?: out| aloud| back)?"
                  r"(?: (?:the following|the|these|this|following))? (?:numbers?|digits|code)"
                  r"(?: (?:on|from) (?:the|your) screen| shown| below| aloud)?")
# Between a cue and its digits: 后四位是否为3210 / 尾号是不是6789 (the witness's yes/no
# question), 末尾数字是1234, 后四位（1012） (the tail in brackets).
_ZH_CUE_SEP = (r"(?:数字|号码)?(?:是否|是不是|应|应当|应该|均|都)?[为是：:\s]*"
               r"(?:[（(](?=\d+[Xx]?[）)](?!\s?\d)))?")
# Digits after a cue, with the group separators phone and card numbers are written with
# (400-820-8820, (021) 6888-1234, 6225 8801 2345 6789): one identifier, read digit by digit.
# A bracket is part of the number only as a pair round its first group ((021) 6888-1234); a
# closing bracket after the digits closes the text's own bracket: （电话95588）.
# After two groups, the last may be short (客户号：1100 2233 44) when no word or unit follows
# it (尾号1234 5个工作日 is a tail, then a quantity).
_CUED_DIGITS = (r"(?P<d>(?:\(\d+\)\s?\d|\d)[\dA-Za-z]*(?:(?:-| (?=\d{3}))\d[\dA-Za-z]*)*"
                r"(?:(?:(?<= \d{3})|(?<= \d{4})) \d{1,2}"
                r"(?![\dA-Za-z]|[.,]\d|\s*(?:[\u4e00-\u9fff%‰‱]|[A-Za-z]{2,})))?)")
_ZH_CUED = re.compile(rf"(?P<cue>{_ZH_DIGIT_CUES})(?P<sep>{_ZH_CUE_SEP}){_CUED_DIGITS}")
_EN_CUED = re.compile(rf"(?P<cue>\b(?:{_EN_DIGIT_CUES}))(?P<sep>[:\s]*(?:(?:is|are|on|at)\s+)?)"
                      rf"{_CUED_DIGITS}\b", re.IGNORECASE)
# A phone-style number of three or more groups (400-820-8820) is an identifier even uncued, and
# so is a card or phone number in groups of four after spaces (6222 0201 2345 6789, 138 0013
# 8000); thousands are never grouped by fours. (The second lookbehind starts a match only at
# the first group, so a long run of groups is scanned once.)
# Phone shapes are digits too, never ranges: a landline with its area code (021-6888 1234,
# 0571-12345678, (021) 6888-1234), and 400 / 800 / mobile numbers in three groups (400 820
# 8820, 138-0013-8000). A '.' or ',' after the digits ends the sentence: only a '.' or ','
# followed by a digit continues a number.
_GROUPED_DIGITS = re.compile(r"(?<![\d.,-])\d{3,4}(?:-\d{3,4}){2,}(?!\d|[.,-]\d)"
                             r"|(?<![\d.,])(?<!\d )\d{3,4}(?: \d{4}){2,}(?: \d{1,4})?(?!\d|[.,]\d)"
                             r"|(?<![\d.,-])(?:\(0\d{2,3}\) ?|0\d{2,3}[- ]?)\d{3,4}[- ]?\d{4}"
                             r"(?!\d|[.,-]\d)"
                             r"|(?<![\d.,-])(?:[48]00|1[3-9]\d)[- ]\d{3,4}[- ]\d{4}(?!\d|[.,-]\d)")
# A run of digits ending in an ID check letter (105X), or starting with 0 (0571), or 5+ long.
# (\w would match CJK characters too: "尾号105X" has a word character before the digits.)
_ID_TAIL = re.compile(r"(?<![A-Za-z0-9_.])\d+[Xx](?![A-Za-z0-9_])")
_LEADING_ZERO = re.compile(r"(?<![A-Za-z0-9_.,])0\d+(?!\d|[.,]\d)")
_LONG_DIGITS = re.compile(r"(?<![A-Za-z0-9_.,])\d{5,}(?!\d|[.,]\d)")
# What makes a number a quantity, not an identifier, when it follows.
# (点 index points, but not 点击 / 点开; 只 funds or stocks, but not 只需 / 只要.)
_ZH_UNITS = re.compile("[元万亿千百个人名位股份手天日月年岁次件台张笔户家倍分秒小周%‰‱]"
                       "|点(?![击开选按进])|只(?![需要能有是])|(?:RMB|CNY|USD|HKD|EUR|GBP|JPY|AUD|CAD|SGD|CHF|NZD"
                       "|MOP|TWD|KRW)(?![A-Za-z])")
_EN_UNITS = re.compile(r"(?:yuan|dollars?|(?:US|Hong Kong) dollars?|cents?|pence|pounds?|"
                       r"euros?|shares?|days?|years?|"
                       r"months?|people|persons?|times|percent|units?|thousand|million|billion|"
                       r"trillion|points?|investors?|accounts?|clients?|customers?|"
                       r"(?:U S|Australian|Canadian|Singapore|New Zealand|New Taiwan) dollars?|"
                       r"Swiss francs?|patacas?|won|yen|"
                       r"households?|trades?|orders?|lots?|funds?|stocks?|kg|km|m|"
                       r"(?:kilo|mega|giga|tera)(?:byte|bit)s?)\b|[%‰‱]",
                       re.IGNORECASE)

# An amount typed on a Chinese keyboard in full-width mode (3，000元, １，０００元, 1，234.56元): a
# full-width comma after one to three digits with no letter, digit or comma before them, and
# before exactly three digits and then an amount's unit, a '.' or the end of the text, groups
# thousands. Anything else with a full-width comma between digits (C3，100万元: level C3, then
# an amount; 共3，200名) is a list; ``speech_issues`` warns about every one of them.
# After a currency (RMB1，000，000, ＲＭＢ１，０００，０００元, USD 1，000，000，请确认:
# an amount, as 人民币１，０００，０００元 and ¥１，０００，０００ are), any groups of exactly
# three digits do.
# The currencies an amount may be written with: signs, and ISO 4217 codes (each 3 letters,
# so they may stand in a fixed-width lookbehind).
# (The dollars of other places are written with their letters: S$ A$ C$ NZ$ NT$ MOP$.)
_CUR_SIGNS = r"US\$|HK\$|(?<![A-Za-z])(?:NZ|NT|MOP|[SAC])\$|[¥$€£]"
_CUR_CODES = "RMB|CNY|USD|HKD|EUR|GBP|JPY|AUD|CAD|SGD|CHF|NZD|MOP|TWD|KRW"
_FULL_WIDTH_THOUSANDS = re.compile(r"(?<![A-Za-z0-9_,，.])\d{1,3}(?:，\d{3})+"
                                   r"(?=\s*(?:[元万亿股份块]|[美港欧]元|\.|\Z))"
                                   rf"|(?:(?<={_CUR_CODES})|(?<=[¥$€£])"
                                   rf"|(?<=(?:{_CUR_CODES}) ))\d{{1,3}}(?:，\d{{3}})+(?!\d)")
# Superscripts and subscripts, read before NFKC would make them plain digits (10⁵ is not 105):
# after a number, a power (1×10⁵ 一乘以十的五次方, "10 to the power of 5"); after a unit of
# length (m² km² cm³, and the squared unit signs ㎡ ㎢ ㎥, or m2 km2 written plain after a
# number), an area or a volume (平方米 平方公里 立方厘米 / "square meters"); anywhere else a
# footnote mark, not said. km² is 平方公里, as it is said (GB 3100 writes 平方千米).
_SUPERSCRIPT = re.compile(r"[\u00b2\u00b3\u00b9\u2070-\u209f]")
_SUPER_DIGITS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-", strict=True))
_UNIT_SIGNS = {"㎟": "mm²", "㎠": "cm²", "㎡": "m²", "㎢": "km²", "㎣": "mm³", "㎤": "cm³",
               "㎥": "m³", "㎦": "km³", "㏈": "dB"}
_UNIT_SIGN = re.compile(f"[{''.join(_UNIT_SIGNS)}]")
_POWER = re.compile(r"(?<=[0-9\uff10-\uff19])\s?(?P<e>⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_UNIT_POWER = re.compile(r"(?P<num>(?<=[0-9\uff10-\uff19])\s?)?(?<![A-Za-z])(?P<u>[kcmd]?m)"
                         r"(?:(?P<e>[²³])|(?P<plain>[23]))(?![A-Za-z0-9])")
_ZH_LENGTHS = {"km": "公里", "m": "米", "dm": "分米", "cm": "厘米", "mm": "毫米"}
_EN_LENGTHS = {"km": "kilometer", "m": "meter", "dm": "decimeter", "cm": "centimeter",
               "mm": "millimeter"}


def _unit_power(m: re.Match, zh: bool) -> str:
    if m.group("plain") and m.group("num") is None:  # m2 after no number: a name (M2, m2)
        return m.group(0)
    square = (m.group("e") or m.group("plain")) in "²2"
    if zh:
        return ("平方" if square else "立方") + _ZH_LENGTHS[m.group("u")]
    head = m.string[max(0, m.start("u") - 4):m.start("u")]  # a window: linear in the text
    one = re.search(r"(?<![\d.])1\s?\Z", head) is not None
    plural = "" if one or m.group("num") is None else "s"
    return f" {'square' if square else 'cubic'} {_EN_LENGTHS[m.group('u')]}{plural}"


def _powers(text: str, zh: bool) -> str:
    """Superscripts and unit signs said before folding: powers after a number, areas and
    volumes (m², ㎡, 120m2), else dropped."""
    if _UNIT_SIGN.search(text):
        text = _UNIT_SIGN.sub(lambda m: _UNIT_SIGNS[m.group(0)], text)
    if "m" in text:
        text = _UNIT_POWER.sub(lambda m: _unit_power(m, zh), text)
    if not _SUPERSCRIPT.search(text):
        return text
    def sub(m: re.Match) -> str:
        exp = "".join(_SUPER_DIGITS[c] for c in m.group("e"))
        return f"的{exp}次方" if zh else f" to the power of {exp.replace('-', 'minus ')}"

    return _SUPERSCRIPT.sub("", _POWER.sub(sub, text))


@dataclass(frozen=True)
class Issue:
    """Something in a text the voice would say badly: ``offset`` into the text, a message."""

    offset: int
    message: str


def is_zh(locale: str) -> bool:
    return locale.split("-")[0].lower() in ("zh", "cmn")


def fold(text: str) -> str:
    """NFKC, middle-dot look-alikes to U+00B7, hyphens and en dashes to '-', spaces collapsed;
    a CJK Radicals Supplement character as its unified ideograph (⻛ 风: CJK_RADICAL_EQUIVALENTS).

    The full-width comma (，, and the small ﹐) stays full width: NFKC would make it an ASCII
    comma, which between digits is a thousands separator, while "C3，100万元" is a list. The em
    dash (— U+2014, ― U+2015, ⸺ ⸻ as ——) and the minus sign (− U+2212) are kept too.
    """
    text = text.replace("\ufe50", "\uff0c")
    if _RADICAL.search(text):
        text = text.translate(CJK_RADICAL_EQUIVALENTS)
    text = "\uff0c".join(unicodedata.normalize("NFKC", part) for part in text.split("\uff0c"))
    text = _MIDDLE_DOT.sub("\u00b7", text)
    text = _EM_DASHES.sub("\u2014\u2014", text)
    text = _DASHES.sub("-", text)
    return re.sub(r"[ \t\r\n\u3000]+", " ", text).strip()


# Code points a name cannot hold: variation selectors (the emoji presentation of a character),
# tag characters and zero-width ones are invisible; symbols and emoji cannot be spoken.
_VARIATION_SELECTOR = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_CJK_PLANES = re.compile("[\U00020000-\U0003ffff]")  # Extension H and later: Cn to Python 3.11


def _name_char_problem(ch: str) -> str | None:
    """Why ``ch`` cannot be part of a name (a phrase for an error message), or None."""
    cat = unicodedata.category(ch)
    what = unicodedata.name(ch, "").lower() or "character"
    if _VARIATION_SELECTOR.match(ch) or cat == "Cf":
        return f"the invisible character U+{ord(ch):04X} ({what})"
    if cat.startswith("S") or cat == "Me":
        return f"the symbol {ch} (U+{ord(ch):04X}, {what}); emoji and symbols cannot be spoken"
    if cat in ("Cc", "Co", "Cs") or (cat == "Cn" and not _CJK_PLANES.match(ch)):
        return f"the code point U+{ord(ch):04X}, which is not a letter"
    return None


# Full-width Latin letters and digits (U+FF10-FF19, FF21-FF3A, FF41-FF5A) and the ideographic
# space: folded as NFKC folds them; nothing else of a name is NFKC'd (since speakable/28).
_FULL_WIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000]+")
# The dot or hyphen look-alikes a broker types between the two parts of a name in CJK
# characters (阿卜杜热合曼.买买提, ．, ‐, ‑, -, －): the name's middle dot U+00B7, as the
# middle-dot look-alikes are; between Latin letters (J. Smith, Jean-Luc) they are kept.
_NAME_PART_JOIN = re.compile(f"(?<={_CJK.pattern})\\s*[.\uff0e\u2010\u2011\\-\uff0d\u30fb]+\\s*"
                             f"(?={_CJK.pattern})")


def normalise_name(value: str, field: str = "name") -> str:
    """An applicant's name or variable as stored: NFC, middle dots as U+00B7, trimmed.

    Since speakable/28 also: full-width Latin letters and digits folded (ＺＨＡＮＧ ＳＡＮ is
    ZHANG SAN); a dot, full stop or hyphen look-alike between two runs of CJK characters is the
    middle dot (阿卜杜热合曼．买买提 is 阿卜杜热合曼·买买提); a doubled middle dot is one, and one
    at either end is dropped.

    Raises ValueError, naming ``field`` and the character, for what a name cannot hold:
    zero-width and other invisible formatting characters (U+200B, U+200D, U+FEFF, variation
    selectors, tags), emoji and other symbols, control, private-use and unassigned code points.
    Letters of every script, combining accents, spaces and the punctuation of names (· ' - .)
    are kept.
    """
    text = unicodedata.normalize("NFC", value)
    if _FULL_WIDTH_ALNUM.search(text):  # ＺＨＡＮＧ ＳＡＮ: Zhang San's letters, as NFKC has them
        text = _FULL_WIDTH_ALNUM.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    text = _MIDDLE_DOT.sub("\u00b7", text)
    text = _NAME_PART_JOIN.sub("\u00b7", text)
    text = re.sub(r"\s+", " ", text).strip()
    if "\u00b7" in text:  # a doubled dot is one; a dot at either end is none
        text = re.sub(r"\s*\u00b7(?:\s*\u00b7)*\s*", "\u00b7", text).strip("\u00b7 ")
    for ch in text:
        problem = _name_char_problem(ch)
        if problem is not None:
            raise ValueError(f"{field} must not contain {problem}; write the {field} as it "
                             "is on the ID document")
    return text


def _spoken_script(ch: str) -> bool:
    """Whether the letter ``ch`` is of a script both voices say: Han (every CJK plane, 〇) or
    Latin (with its accents and full-width forms)."""
    return bool(_CJK.match(ch) or _CJK_PLANES.match(ch) or ch == "\u3007"
                or "LATIN" in unicodedata.name(ch, "").split())


def name_script_problem(name: str) -> str | None:
    """Why the voices cannot say ``name`` (a phrase for an error message), or None.

    PRC identity documents write a name in Chinese characters (居民身份证, residence permits)
    or Latin letters (passports, the foreigner's permanent residence card), and the guide's
    voices read exactly these; a letter of another script (Cyrillic, Greek, Arabic, Thai,
    Hangul, kana ...) would be spelled with its script's name before every letter ("Cyrillic
    D, Cyrillic I ..."), so a name holding one is refused at intake, never spoken so.
    """
    for ch in name:
        if unicodedata.category(ch).startswith("L") and not _spoken_script(ch):
            script = (unicodedata.name(ch, "").split() or ["another"])[0].capitalize()
            return (f"is written in {script} ({ch}), which the guide's voices cannot say; "
                    "send the name as it is printed on the ID document, in Chinese characters "
                    "or Latin letters (a passport's Latin spelling)")
    return None


def default_reading(name: str) -> str:
    """How a variable is read when the flow does not say: digits for ID tails and phones,
    ``name`` for the applicant's name (``name``, ``applicant_name`` ...), else text."""
    if _NAME_VARIABLE.fullmatch(name):
        return "name"
    return "digits" if _DIGIT_VARIABLE.search(name) else "text"


def spell_digits(value: str, locale: str) -> str:
    """Digits (and letters) one by one: 105X -> 一零五X / "one zero five X"; group separators
    (spaces, hyphens, brackets of 400-820-8820 or (021) 6888) are left out."""
    chars = [c for c in fold(value) if not c.isspace() and c not in "-()"]
    if is_zh(locale):
        return "".join(ZH_DIGITS.get(c, f" {c.upper()} ") for c in chars).strip().replace(
            "  ", " ")
    return " ".join(EN_DIGITS.get(c, c.upper()) for c in chars)


def read_variable(value: str, reading: str, locale: str) -> str:
    """A variable's value as the voice should get it, by its reading.

    ``digits``: one by one (1012 -> 一零一二 / "one zero one two"). ``number``: a cardinal in
    words, so no later rule reads it otherwise (1012 -> 一千零一十二 / "one thousand twelve");
    a value that is not a plain number is left as it is. ``name``: see ``read_name``.
    ``text``: unchanged. Raises ValueError for another reading.
    """
    if reading not in READINGS:
        raise ValueError(f"unknown reading {reading!r}; use {', '.join(READINGS)}")
    value = str(value)
    if reading == "digits":
        return spell_digits(value, locale)
    if reading == "number":
        plain = fold(value).replace(",", "")
        try:
            return zh_cardinal(plain) if is_zh(locale) else en_number_words(plain)
        except ValueError:
            return value
    if reading == "name":
        return read_name(value, locale)
    return value


def spoken_variable(value: str, reading: str, locale: str) -> str:
    """A variable's value as it goes into a text that ``speakable`` then reads: the words of
    ``read_variable``, and for a name those words protected, so that no rule of the text reads
    inside a name (``speakable`` gives its letters back: ``protect_spoken``). Raises
    ValueError as ``read_variable`` does."""
    said = read_variable(value, reading, locale)
    return protect_spoken(said) if reading == "name" else said


# Words the normaliser has already written for the voice are protected from every rule that
# runs after them: a name's reading (gě 优, zēng 国藩, Zhang San), a surname's reading in the
# text, a polyphone's reading (hang2), a rare character's (tuo1), the letter G's ji1. Their
# Latin letters and digits are carried as characters of a private-use block (U+E030-U+E24F),
# which no rule reads, and given back as the last step of ``speakable``. (The letter-G rule
# read the g of gě as a lone G, so 葛优 was said jī ě; after a digit the 万 rule read the w of
# wěi, and the minutes rule the min of a name: any rule that reads Latin letters could.)
# Tone-marked pinyin written in a Mandarin text (gě, yù chí: what ``read_variable`` gives for
# a surname) is protected when ``speakable`` starts, whoever wrote it.
_SHIELD = 0xE000
_SHIELDABLE = [c for c in range(0x30, 0x250) if chr(c).isalnum() and chr(c).isascii()
               or c >= 0xC0 and chr(c).isalpha()]  # digits, Latin letters (ā ü ǎ, not ×)
_PROTECT = {c: _SHIELD + c for c in _SHIELDABLE}
_UNPROTECT = {_SHIELD + c: c for c in _SHIELDABLE}


def _shielded(ch: str) -> bool:
    """Whether ``ch`` is a character ``protect_spoken`` made (a private-use stand-in for an
    ASCII letter or digit); full-width punctuation (，：！ at U+FF0C...) is above the range and
    is not (until speakable/20 the test was ``>= 0xE000``, so 您好，曾经理 lost its surname)."""
    return ord(ch) - _SHIELD in _PROTECT


def protect_spoken(words: str) -> str:
    """``words`` with their Latin letters and digits protected from the rules of
    ``speakable``, which gives them back unchanged (CJK characters and punctuation are left
    to the rules: a name's given name still gets its readings)."""
    return words.translate(_PROTECT)


_PINYIN_MARKS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüĀÁǍÀĒÉĚÈĪÍǏÌŌÓǑÒŪÚǓÙǕǗǙǛÜ"
_MARKED_PINYIN = re.compile(rf"(?<![^\W\d_])[A-Za-z{_PINYIN_MARKS}]*[{_PINYIN_MARKS}]"
                            rf"[A-Za-z{_PINYIN_MARKS}]*(?![^\W\d_])")


def _protect_marked_pinyin(text: str) -> str:
    """Each word of tone-marked pinyin (gě, yù chí, Ōu, lü) in ``text`` protected: one whose
    letters without their tone marks are pinyin syllables (José, García are not)."""
    def sub(m: re.Match) -> str:
        word = m.group(0)
        return protect_spoken(word) if pinyin_syllables(_toneless(word)) else word

    return _MARKED_PINYIN.sub(sub, text)


_LETTER_WORD = re.compile(r"[^\W\d_]{2,}")
# A name given in both scripts, as a foreigner's permanent residence card may print it: the Latin
# name and its Chinese transliteration, either first, the second in brackets or after a space
# or a slash (JOHN SMITH（约翰·史密斯）, 约翰·史密斯 John Smith, John Smith / 约翰·史密斯).
# (Each part two letters or more: 王 John, a surname and a given name, is one name.)
_LATIN_PART = r"[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'’.\- \u00b7]*[A-Za-z\u00c0-\u024f.]"
_HAN_PART = (r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]"
             r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f \u00b7]*"
             r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]")
_BOTH_SCRIPTS = re.compile(
    rf"(?P<a>{_LATIN_PART}|{_HAN_PART})\s*(?:[(（]\s*(?P<b>{_LATIN_PART}|{_HAN_PART})\s*[)）]"
    rf"|[/／]?\s*(?P<c>{_LATIN_PART}|{_HAN_PART}))")


def name_parts(name: str) -> tuple[str, str] | None:
    """The (Latin, Chinese) parts of a name written in both scripts (JOHN SMITH（约翰·史密斯）
    -> ("JOHN SMITH", "约翰·史密斯")), or None for a name in one script. (Tried on
    names of both scripts up to 128 characters, intake takes 64, so the search stays short.)"""
    if len(name) > 128 or not _CJK.search(name) or not _LATIN_LETTER.search(name):
        return None
    m = _BOTH_SCRIPTS.fullmatch(name)
    if m is None:
        return None
    first, second = m.group("a"), m.group("b") or m.group("c")
    latin = [p for p in (first, second) if not _CJK.match(p[0])]
    han = [p for p in (first, second) if _CJK.match(p[0])]
    return (latin[0], han[0]) if len(latin) == len(han) == 1 else None


def read_name(value: str, locale: str) -> str:
    """A person's name as the voice should get it.

    Its first characters, when they are a surname read otherwise than usual (曾 zēng, 单 shàn,
    尉迟 yù chí: ``kiosk.speech.textnorm.zh_surname``), are given as tone-marked pinyin in
    Mandarin (which espeak-ng reads as written) and as capitalised pinyin in English ("Zeng").
    A word in capitals (ZHANG SAN, as on a passport) is a name, not an acronym: it is given
    capitalised (Zhang San) so that no rule spells it letter by letter. A name given in both
    scripts (JOHN SMITH（约翰·史密斯）) is said in the locale's: its Chinese transliteration in
    Mandarin (a Latin name the Mandarin voice can only approximate: ``_zh_latin_name``), its
    Latin name in English.
    """
    parts = name_parts(value.strip())
    if parts is not None:
        return read_name(parts[1] if is_zh(locale) else parts[0], locale)
    text = _LETTER_WORD.sub(lambda m: m.group(0).capitalize() if m.group(0).isupper()
                            else m.group(0), value.strip())
    text = _joined_cjk_name(text)
    parts = _minority_name(text)
    if parts is not None:
        if is_zh(locale):  # 呷 is gā in a Yi name; the voice says xiā
            return re.sub(r"\s+", " ", text.replace("呷", " gā ")).strip()
        return " ".join(_en_syllables(p) for p in parts)
    if not is_zh(locale):
        return _en_name(_en_unmarked(text))
    if _LATIN_LETTER.search(text):
        return _zh_latin_name(text)
    found = zh_surname(text)
    if found is None:
        head = 2 if text[:2] in ZH_COMPOUND_SURNAMES and len(text) > 2 else 1
        return text[:head] + zh_name_chars(text[head:]) if _CJK.match(text[:1]) else text
    surname, reading = found
    return f"{reading} {zh_name_chars(text[len(surname):])}".strip()


# Given-name characters espeak-ng's Mandarin voice has but says with another syllable or tone
# than their reading in a name (pypinyin's, checked against 现代汉语词典; since speakable/22):
# 婠 wān (espeak wà), 炅 jiǒng (guì, the surname's), 莜 yóu (diào), 蔓 màn (mán), 琊 yá (yé),
# 澄 chéng (dèng, 澄清 water's). Measured with espeak-ng -x over 335 uncommon name characters
# (docs/flows.md, round eighteen): 17 disagreed; 3 are in ``ESPEAK_CMN_TONES`` already, these
# 6 are given their reading in a name, and 8 are left, espeak's being a reading names use too
# (珩 héng, 晟 shèng, 媛 yuán, 偲 sī, 嫚 màn, 昳 yì, 阆 làng, 玟 mín).
ZH_NAME_CHAR_READINGS = {"婠": "wan1", "炅": "jiong3", "莜": "you2", "蔓": "man4", "琊": "ya2",
                         "澄": "cheng2"}


def zh_name_chars(given: str) -> str:
    """A given name with each character of ``ZH_NAME_CHAR_READINGS`` as its protected
    tone-digit pinyin (婠 -> " wan1 "), the others as written."""
    if not any(c in ZH_NAME_CHAR_READINGS for c in given):
        return given
    return "".join(f" {protect_spoken(ZH_NAME_CHAR_READINGS[c])} " if c in ZH_NAME_CHAR_READINGS
                   else c for c in given)


_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")


# A Cantonese name word with no vowel (Ng, the Hong Kong spelling of 吴 / 伍) is a syllabic
# nasal: given as pinyin with a tone digit (ng2, as 嗯 ńg), which the Mandarin voice says as one
# syllable; as written it spelled the letters, N and G said zhì ("en zhì"; since speakable/20).
_ZH_SYLLABIC_NASALS = {"ng": "ng2"}


def _zh_latin_name(name: str) -> str:
    """A name in Latin letters in a Mandarin prompt. A pinyin name (ZHANG SAN, Piao Chenghao,
    every word a run of pinyin syllables: ``pinyin_syllables``) is given as its syllables in
    small letters (zhang san, piao cheng hao), which the Mandarin voice reads as pinyin (in
    the first tone: the characters are unknown). Any other is said as words, as a person
    reading the prompt would say it (JOHN SMITH -> John Smith, O'Neil, José García -> Jose
    Garcia): the Mandarin voice says a word it cannot read as pinyin in English (Smith, John,
    O'Neil, David: measured), and one it can (Lee, Maria) as pinyin syllables. Words in
    capitals are capitalised and accents dropped, so no rule spells them; CJK parts are
    kept."""
    parts = [w for w in re.split(f"[\\s{MIDDLE_DOTS}\\-]+", name) if w]
    # ü is written v in pinyin input (Lü Bo, LÜ Bo, LV Bo, LYU Bo: lü bo, 吕, not 卢).
    as_typed = [unicodedata.normalize("NFC", w).replace("ü", "v").replace("Ü", "V")
                for w in parts]
    syllables = [pinyin_syllables(w) if w.replace("'", "").replace("’", "").isascii()
                 else None for w in as_typed]
    if parts and all(syllables):
        return " ".join(s for found in syllables for s in found or ())
    words = []
    for word in re.split(f"[\\s{MIDDLE_DOTS}]+", name):
        plain = "".join(c for c in unicodedata.normalize("NFKD", word)
                        if not unicodedata.combining(c)).replace("’", "'")
        if plain.lower() in _ZH_SYLLABIC_NASALS:
            words.append(_ZH_SYLLABIC_NASALS[plain.lower()])
        elif "-" in plain and any(zh_hk_word(p) for p in plain.split("-")):
            words.append(" ".join(zh_hk_word(p) or p for p in plain.split("-")))
        elif zh_hk_word(plain):
            words.append(zh_hk_word(plain) or plain)
        elif plain and all(c.isascii() and (c.isalpha() or c in "'.-") for c in plain):
            words.append(_LETTER_WORD.sub(lambda m: m.group(0).capitalize()
                                          if m.group(0).isupper() else m.group(0), plain))
        elif word:
            words.append(word)
    return " ".join(words)


def _en_syllables(chars: str) -> str:
    """Chinese characters as one capitalised toneless pinyin word: 国藩 -> Guofan (a word's
    reading where it has one: 阿卜杜 Abudu)."""
    readings = (p or zh_reading(c) for c, p in zip(chars, zh_phrase_readings(chars),
                                                     strict=True))
    return _joined_syllables([re.sub(r"\d", "", r).replace("v", "ü") for r in readings if r])


def _joined_syllables(syllables: list[str]) -> str:
    """Toneless pinyin syllables as one capitalised word, with an apostrophe between two
    syllables before a syllable that begins with a, e or o but er (Tian'an, as pinyin writes
    it) and wherever the word would split otherwise (every syllable apart then; since
    speakable/22): the English respeller (``kiosk.guide.en_pinyin``) reads the syllables the
    characters have, never a re-parse."""
    word = "".join(s if i == 0 or s[:1] not in "aeo" or s == "er" else "'" + s
                   for i, s in enumerate(syllables))  # pinyin's own apostrophe (Tian'an)
    if len(syllables) > 1 and pinyin_syllables(word.replace("ü", "v"),
                                                max(4, len(syllables))) != syllables:
        word = "'".join(syllables)
    return word.capitalize()


# Surnames of three and four characters (Manchu clan names: 爱新觉罗, 叶赫那拉), which a
# name written without its middle dot (爱新觉罗溥仪) begins with: one word in English (since
# speakable/23), as a compound surname is.
ZH_LONG_SURNAMES = ("爱新觉罗", "叶赫那拉", "乌拉那拉", "钮祜禄", "瓜尔佳", "赫舍里", "富察",
                    "佟佳", "那拉")


def _en_name(text: str) -> str:
    """A name in English: a Chinese name as surname and given name, each one word (曾国藩
    Zeng Guofan, 欧阳娜娜 Ouyang Nana, 尉迟恭 Yuchi Gong); a name in parts (买买提·艾力) as one
    word per part (Maimaiti Aili). Latin parts are kept."""
    parts = [p for p in re.split(f"[\\s{MIDDLE_DOTS}]+", text) if p]
    if len(parts) == 1 and all(_CJK.match(c) for c in text):
        # a traditional surname is the simplified one (單雄信 Shan Xiongxin, as 单 shàn)
        found = zh_surname(text) or zh_surname(to_simplified(text[:2]))
        long = next((s for s in ZH_LONG_SURNAMES if text.startswith(s) and len(text) > len(s)),
                    None)
        if long is not None:  # 爱新觉罗溥仪: Aixinjueluo Puyi, not Ai Xinjueluopuyi
            head, surname = long, _en_syllables(long)
        elif found is not None:
            head = found[0]
            surname = _joined_syllables([_toneless(s) for s in found[1].split()])
        else:
            head = text[:2] if text[:2] in ZH_COMPOUND_SURNAMES and len(text) > 2 else text[:1]
            surname = _en_syllables(head)
        return f"{surname} {_en_syllables(text[len(head):])}".strip()
    return " ".join(_en_syllables(p) if all(_CJK.match(c) for c in p) else p for p in parts)


def _toneless(syllable: str) -> str:
    """Tone-marked pinyin without its tone marks: zēng -> zeng (ü stays ü)."""
    parts = unicodedata.normalize("NFD", syllable)
    plain = "".join(c for c in parts if c not in "\u0300\u0301\u0304\u030c")
    return unicodedata.normalize("NFC", plain)


_EN_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
            "ninety")
_EN_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion")
_PLAIN_NUMBER = re.compile(r"(-?)(\d+)(?:\.(\d+))?")


def _en_below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_EN_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_EN_TENS[tens])
        if ones:
            words.append(_EN_ONES[ones])
    elif rest or not words:
        words.append(_EN_ONES[rest])
    return words


def en_number_words(number: str) -> str:
    """A plain decimal number in English words, as read aloud (US style, no "and").

    "1012" -> "one thousand twelve", "-3.5" -> "minus three point five", "0.05" -> "zero
    point zero five". Raises ValueError for anything but an optional minus, digits and one
    decimal point, or for more than 18 digits before the point.
    """
    m = _PLAIN_NUMBER.fullmatch(number or "")
    if m is None or len(m.group(2).lstrip("0")) > 18:
        raise ValueError(f"not a plain decimal number of at most 18 digits: {number!r}")
    sign, whole, frac = m.groups()
    n = int(whole)
    groups: list[int] = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    words = [] if groups else ["zero"]
    for i in range(len(groups) - 1, -1, -1):
        if groups[i]:
            words += _en_below_thousand(groups[i]) + ([_EN_SCALES[i]] if i else [])
    if frac:
        words += ["point"] + [EN_DIGITS[c] for c in frac]
    return ("minus " if sign else "") + " ".join(words)


# --------------------------------------------------------------------------- shared

# Comparison signs, written several ways, as the two the rules below say.
_COMPARE = re.compile(r">=|<=|[≧⩾≦⩽]")
_COMPARE_AS = {">=": "≥", "≧": "≥", "⩾": "≥", "<=": "≤", "≦": "≤", "⩽": "≤"}

# Dashes. An em dash run (——, the Chinese 破折号) is a pause; one em dash between digits, or
# after a year, month or day before a digit, is a range (2011—2012年, 2011年—2012年: GB/T
# 15834). A hyphen before a digit is decided by what stands before it
# (``_hyphen``); U+2212 is always a minus sign.
_EM_DASH_RUN = re.compile(r"\s*[\u2014\u2015]{2,}\s*")
_EM_DASH_RANGE = re.compile(r"(?<=[\d年月日号])\s*[\u2014\u2015]\s*(?=\d)")
_EM_DASH = re.compile(r"\s*[\u2014\u2015]\s*")
_HYPHEN_DIGIT = re.compile(r"-(?=\d)|(?<=\d)\u2212(?=\d)")
# A quantity before the hyphen: a number and its unit (3个月, 4月, 1号, 2023年, 近一年, 100万).
# The hyphen is a range, 到, only when a quantity of the same kind follows (3个月-6个月,
# 2023年-2024年, 3个月-1年); before anything else (近1年-5.2%, 2023年-15.6%) it is a minus sign.
_ZH_UNIT = (r"(?:个|多个)?(?:个?交易日|个?工作日|小时|分钟|月|年|日|号|天|周|点|时|岁|期|秒|分|"
            r"万元|亿元|元|块|万|亿|千|百|股|手|份|次|倍|只|户|人|名|笔|张|家)")
_ZH_QUANTITY_BEFORE = re.compile(rf"(?P<n>\d*)[\d〇零一二两三四五六七八九十百千万亿]\s*"
                                 rf"(?P<u>{_ZH_UNIT})\s*\Z")
_ZH_QUANTITY_AFTER = re.compile(rf"\d+(?:[.,]\d+)*\s*(?P<u>{_ZH_UNIT}|[%‰‱])?")
_ZH_TIME_UNITS = frozenset("交易日 工作日 小时 分钟 月 年 日 号 天 周 点 时 期 秒 分".split())
_ZH_MONEY_UNITS = frozenset("万元 亿元 元 块 万 亿 千 百".split())


def _unit_kind(unit: str) -> str:
    """What a unit measures, for telling a range (3个月-1年) from a sign (近1年-5.2%)."""
    unit = unit.lstrip("多个") or unit
    if unit in _ZH_TIME_UNITS:
        return "time"
    return "money" if unit in _ZH_MONEY_UNITS else unit


def _zh_like_quantities(text: str, j: int, p: int) -> bool:
    """Whether the quantity ending at ``j`` and the number after the hyphen at ``p`` are of
    the same kind (3个月-6个月, 100万-500万元, 2023年-2024年, 2023年-2024), making it a range."""
    before = _ZH_QUANTITY_BEFORE.search(text, max(0, j - 16), j)
    if before is None:
        return False
    after = _ZH_QUANTITY_AFTER.match(text, p + 1)
    assert after is not None  # a digit follows the hyphen
    if after.group("u") is None:  # a bare number: a range only for years (2023年-2024)
        return before.group("u") == "年" and len(before.group("n")) == 3 and \
            re.fullmatch(r"\d{4}", after.group(0).strip()) is not None
    return _unit_kind(before.group("u")) == _unit_kind(after.group("u"))


_BRACKET_NOTE = re.compile(r"\([^()]{1,6}\)\s*\Z")


def _hyphen(text: str, m: re.Match, zh: bool) -> str:
    """What a '-' right before a digit is: kept as '-' (a range, date, phone or code after a
    digit, letter or %, left to the rules that know them), '到' / "to" after a quantity of
    the same kind as the one after it (3个月-6个月, 2023年-2024年), else a minus sign '−'
    (收益-3.5%, 近1年-5.2%, 基准-1.1%, 从-5%到+5%): a minus is never dropped, as a loss said
    without it is heard as a gain. A pause is written as a dash (—, ——), not a hyphen."""
    if m.group(0) == "\u2212":  # 3−5 between digits: a range, as an ASCII hyphen would be
        return "-"
    p = m.start()
    prev = text[p - 1] if p else ""
    if prev and (prev.isascii() and prev.isalnum() or prev in "%‰‱._"):
        return "-"
    j = p
    while j and text[j - 1] == " ":
        j -= 1
    note = _BRACKET_NOTE.search(text, max(0, j - 12), j)  # 100万元（含）-500万元: a range
    if note is not None and _CJK.match(text[note.start() - 1] if note.start() else " "):
        j = note.start()
    before = text[j - 1] if j else ""
    if not _CJK.match(before or " "):
        # "fell -3%", "T -1": left to the sign rules; "2023 -15.6%" (a space before the
        # hyphen, none after it): a sign, not a range
        spaced_sign = before.isdigit() or before in "%‰‱"
        return "-" if prev == " " and before and not spaced_sign else "\u2212"
    if _zh_like_quantities(text, j, p):
        return "到" if zh else " to "
    return "\u2212"


# A hyphen between two ordinals (第1条-第5条, 第1季度-第3季度): a range.
_ORDINAL_RANGE = re.compile(r"(?P<a>第\s*\d+\s*[\u4e00-\u9fff]{1,3})\s*-\s*(?=第\s*\d)")


def _dashes(text: str, zh: bool) -> str:
    pause = "，" if zh else ", "
    if "第" in text:
        text = _ORDINAL_RANGE.sub(lambda m: m.group("a") + ("到" if zh else " to "), text)
    if "\u2014" in text or "\u2015" in text:
        text = _EM_DASH_RUN.sub(pause, text)
        text = _EM_DASH_RANGE.sub("-", text)
        text = _EM_DASH.sub(pause, text)
    if "-" not in text and "\u2212" not in text:
        return text
    return _HYPHEN_DIGIT.sub(lambda m: _hyphen(text, m, zh), text)


# A code of letters and digits (HT20240101001, SN123456, B2024001, abc123, ABC-12345, C3, R2,
# HT2024-001): the letters spelled, then the digits one by one (a hyphen after three digits or
# more joins another group of digits, said after a space). Capitals (with a hyphen when two or
# more), or up to three small letters; a currency code before an amount (RMB100) is money, not
# a code.
_CODE = re.compile(r"(?<![A-Za-z0-9_.\-])(?P<l>[A-Z]{2,8}-|[A-Z]{1,8}|[a-z]{1,3})"
                   r"(?P<d>\d[\dA-Z]*)(?P<more>(?<=\d{3})(?:-\d{2,}(?![\d.%‰‱]))+)?"
                   r"(?![A-Za-z0-9_]|\.\d)")
_CURRENCY_CODES = frozenset(_CUR_CODES.split("|")) | {"US", "HK"}


def _code(m: re.Match, locale: str) -> str:
    letters = m.group("l").rstrip("-")
    if letters.upper() in _CURRENCY_CODES:
        return m.group(0)
    said = " " + " ".join(letters.upper()) + " " + spell_digits(m.group("d"), locale) + " "
    return said + "".join(spell_digits(g, locale) + " " for g in
                          re.findall(r"\d+", m.group("more") or ""))


# A data size or rate after a number (5MB, 2 Mbps, 10GB, 500KB/s): in Mandarin as it is said
# (五兆, 两兆, 十G, 五百K, 一T; MB/s 兆每秒; a rate is said as its size: 百兆宽带), 2 as 两; in
# English in words ("5 megabytes", "2 megabits per second"). A network generation (5G) and a
# screen (4K) are left as a number and a letter, which both voices say right.
_DATA_UNIT = re.compile(r"(?<![A-Za-z0-9_.,])(?P<n>\d+(?:\.\d+)?)\s?(?P<p>[kKMGT])"
                        r"(?P<u>B/s|B|bps|b/s)(?![A-Za-z0-9])")
_ZH_DATA_PREFIX = {"k": "K", "K": "K", "M": "兆", "G": "G", "T": "T"}
_EN_DATA_PREFIX = {"k": "kilo", "K": "kilo", "M": "mega", "G": "giga", "T": "tera"}


def _data_unit(m: re.Match, zh: bool) -> str:
    n, prefix, unit = m.group("n", "p", "u")
    if zh:
        said = _zh_number(n)
        return ("两" if said == "二" else said) + _ZH_DATA_PREFIX[prefix] + (
            "每秒" if unit == "B/s" else "")
    word = _EN_DATA_PREFIX[prefix] + ("byte" if unit.startswith("B") else "bit")
    return f"{n} {word}{'' if n == '1' else 's'}{'' if unit == 'B' else ' per second'}"


# A unit of measure in Latin letters after a number (3.5GHz, 5km, 100ms, 5000mAh, 220V, 120km/h):
# the unit's name in the locale (三点五G赫兹, 五公里, 一百毫秒 / "3.5 gigahertz", "5 kilometers"),
# as espeak-ng would else spell it (五 K M, "five K M") or mangle it (GHz "zhi ei zi"). In
# Mandarin a gigahertz is G赫兹 (the G said jī, as in 5G), as people say it, and M before 宽带 /
# 带宽 / 光纤 / 网速 (100M宽带) is 兆; 2 before a unit is 两. Units of one letter (m g s h V W L)
# and min are read only right after the number (no space); m, s, h and min only in Mandarin
# (in English 5m is five million, 90s the nineties, and min / hrs have their own rule).
_MEASURE_UNITS: dict[str, tuple[str, str]] = {
    "km/h": ("公里每小时", "kilometer per hour"), "Hz": ("赫兹", "hertz"),
    "kHz": ("千赫兹", "kilohertz"), "MHz": ("兆赫兹", "megahertz"), "GHz": ("G赫兹", "gigahertz"),
    "km": ("公里", "kilometer"), "cm": ("厘米", "centimeter"), "mm": ("毫米", "millimeter"),
    "kg": ("公斤", "kilogram"), "mg": ("毫克", "milligram"), "ml": ("毫升", "milliliter"),
    "ms": ("毫秒", "millisecond"), "mA": ("毫安", "milliamp"), "mAh": ("毫安时", "milliamp hour"),
    "kW": ("千瓦", "kilowatt"), "kWh": ("千瓦时", "kilowatt hour"),
    # basis points (利率下调25bps, "cut by 25bp"): in a broker's text bp / bps after a bare
    # number is never bits (a line's speed has its prefix: 10Mbps, ``_DATA_UNIT``)
    "bp": ("个基点", "basis point"), "bps": ("个基点", "basis point"),
    "BP": ("个基点", "basis point"), "BPS": ("个基点", "basis point"),
    # (W after a number in Mandarin is as often 万 in slang, 年薪50W, as watts: left as written)
    "g": ("克", "gram"), "V": ("伏", "volt"), "W": ("", "watt"), "L": ("升", "liter"),
    "m": ("米", ""), "s": ("秒", ""), "h": ("小时", "hour"), "min": ("分钟", ""),
}
# The ways each is written (KM, Ghz, KWh, mL ...), longest first.
_MEASURE_SPELLINGS = {v: k for k in _MEASURE_UNITS for v in {
    k, k.upper(), k.lower(), k[:1].upper() + k[1:]}
    if len(k) > 1 and k not in ("ms", "mA", "min", "bp", "bps", "BP", "BPS")} | {
    k: k for k in _MEASURE_UNITS}
_MEASURE_UNIT = re.compile(
    # (not after a currency: US$2.5m, RMB 5m are millions)
    rf"(?<![A-Za-z0-9_.,$¥€£])(?<!(?:{_CUR_CODES}) )"
    rf"(?:(?P<a>{_NUM})\s*(?P<sep>-|~|至|到|to(?= ))\s*)?"
    rf"(?<![A-Za-z0-9_.,])(?P<n>{_NUM})(?P<sp>\s?)(?P<u>"
    + "|".join(re.escape(u) for u in sorted(_MEASURE_SPELLINGS, key=len, reverse=True))
    # 5g网络 is the network (5G), 100g金条 grams
    + r")(?![A-Za-z0-9])(?<!g(?=\s*(?:网|手机|信号|基站|时代|通信|network|phone|mobile|signal)))")
_ZH_MEGA_LINE = re.compile(rf"(?<![A-Za-z0-9_.,])(?P<n>{_NUM})\s?[Mm]"
                           r"(?=\s*(?:宽带|带宽|光纤|网速))")


def _measure_unit(m: re.Match, zh: bool) -> str:
    unit = _MEASURE_SPELLINGS[m.group("u")]
    said_zh, said_en = _MEASURE_UNITS[unit]
    if m.group("sp") and len(unit) == 1 or not (said_zh if zh else said_en):
        return m.group(0)
    n, a = m.group("n"), m.group("a")
    if zh:  # a range (3-5km, 3至5公里): 三到五公里
        said = _zh_number(n.replace(",", ""))
        start = "" if a is None else (_zh_number(a.replace(",", ""))
                                      + ("至" if m.group("sep") == "至" else "到"))
        return start + ("两" if said == "二" and not start else said) + said_zh
    start = "" if a is None else f"{a} to "
    head, _, tail = said_en.partition(" per ")
    plural = head if n == "1" and not start or head.endswith("hertz") else head + "s"
    return f"{start}{n} {plural}{' per ' + tail if tail else ''}"


# A video resolution (720P, 1080p) as it is said: 七二零P, "seven twenty p".
_RESOLUTION = re.compile(r"(?<![A-Za-z0-9_.,])(?P<n>240|360|480|540|576|720|1080|1440|2160|4320)"
                         r"(?P<p>[pPiI])(?![A-Za-z0-9])")


def _resolution(m: re.Match, zh: bool) -> str:
    if zh:
        return spell_digits(m.group("n"), "zh") + m.group("p").upper()
    return f"{_en_house_number(m.group('n'))} {m.group('p').lower()}"


# A version of three or four parts (V6.2.1, 14.0.3) in Mandarin: 六点二点一 (each part a number).
_ZH_VERSION = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){2,3}(?!\d|\.\d)")
# 万1, 万2.5 (a commission rate in brokers' shorthand, 佣金万2.5免5): 万分之一, never 万一
# ("in case"); not after a number (十万1千, 1万2).
_ZH_WAN_RATE = re.compile(r"(?<![\d.〇零一二两三四五六七八九十百千万亿])万(?=\d+(?:\.\d+)?(?![\d.])"
                          r"(?!\s*[万亿千百十元块股份手个人名]))")


# A date written day/month/year or month/day/year (15/03/2019, 03/15/2030, 15.03.2019): the day
# first when the first number cannot be a month, else the month first (05/10/1986 is May 10,
# as in English; ``speech_issues`` warns that it is ambiguous). With '/' the year may have two
# digits (05/10/86: 八六年五月十日, "May 10, eighty-six"), read as written. English reads these
# too (05-10-1986, 05.10.1986 were "zero five-10 to 1986").
_DMY_DATE = re.compile(r"(?<![\d/.\-])(?P<a>\d{1,2})(?P<s>[/.\-])(?P<b>\d{1,2})(?P=s)"
                       r"(?P<y>(?:19|20)\d\d|(?<=/)\d\d)(?![\d/]|[.\-]\d)")


def _dmy(m: re.Match) -> tuple[int, int] | None:
    """The month and day of a ``_DMY_DATE`` match (day first when the first number cannot be
    a month or the date is dotted, else month first), or None when it is no date
    (13/13/2024)."""
    a, b = int(m.group("a")), int(m.group("b"))
    mo, d = (a, b) if a <= 12 else (b, a)
    if m.group("s") == "." and b <= 12:
        # dotted with the year last is day.month.year (01.03.2025: 1 March, since speakable/27):
        # the European and Russian way; US dates are never dotted, Chinese ones put the year
        # first. A second number above 12 (12.31.2024) can only be a day, so month first.
        mo, d = b, a
    return (mo, d) if 1 <= mo <= 12 and 1 <= d <= 31 else None


def _en_dmy_date(m: re.Match) -> str:
    found = _dmy(m)
    if found is None:
        return m.group(0)
    y = m.group("y")
    year = y if len(y) == 4 else ("oh " + EN_DIGITS[y[1]] if y[0] == "0" else y)
    return f"{EN_MONTHS[found[0] - 1]} {found[1]}, {year}"


def _zh_dmy_date(m: re.Match) -> str:
    found = _dmy(m)
    if found is None:
        return m.group(0)
    mo, d = found
    return ("".join(YEAR_DIGITS[c] for c in m.group("y")) + "年" + zh_cardinal(str(mo)) + "月"
            + zh_cardinal(str(d)) + "日")


# A range of levels (risk levels R1-R4, C3至C5, R2~R3, C3-5 with one letter and one digit
# each): 到 / "to" (至 as written), the letters said before each level. A level before a hyphen
# and a percentage (C3-5%) is the level, a pause and a signed percentage (C 三，负百分之五 / "C
# three, minus 5%"): the minus is never dropped, and ``speech_issues`` warns about it.
_LEVEL_RANGE = re.compile(r"(?<![A-Za-z0-9_.\-])(?P<l>[A-Z]{1,2})(?P<a>\d{1,2})\s*"
                          r"(?P<sep>-|~|至|到)\s*(?:(?P<l2>[A-Z]{1,2})(?P<b>\d{1,2})|(?P<n>\d))"
                          r"(?![A-Za-z0-9_%‰‱]|\.\d|\s*[%‰‱])")
_LEVEL_SIGNED = re.compile(r"(?<![A-Za-z0-9_.\-])(?P<l>[A-Z]{1,2})(?P<a>\d{1,2})-"
                           r"(?=(?P<p>\d+(?:\.\d+)?\s*[%‰‱]))")


def _level_range(m: re.Match, locale: str) -> str:
    lead, a, b = m.group("l"), m.group("a"), m.group("b") or m.group("n")
    if m.group("l2") is not None and m.group("l2") != lead or m.group("n") is not None and (
            len(lead) != 1 or len(a) != 1 or int(b) <= int(a)):
        return m.group(0)
    zh = is_zh(locale)
    sep = ("至" if m.group("sep") == "至" else "到") if zh else "to"
    letters = " ".join(lead)
    return (f" {letters} {spell_digits(a, locale)} {sep} {letters} "
            f"{spell_digits(b, locale)} ")


def _level_signed(m: re.Match, locale: str) -> str:
    pause = "，" if is_zh(locale) else ", "
    return f" {' '.join(m.group('l'))} {spell_digits(m.group('a'), locale)}{pause}\u2212"


# A phone number with its country code (+86 138 0013 8000, +86-13800138000, +852 2345 6789):
# 加 / "plus", the code and the number digit by digit; at least seven digits after the code, in
# any grouping (+86 21 9555 3: a group of one digit too, since speakable/21).
# The code in brackets too ((+86) 21 6888 1234; since speakable/22).
_COUNTRY_CODE = re.compile(r"(?<![A-Za-z0-9_+])(?P<o>\()?\+(?P<cc>\d{1,3})(?(o)\))[ -]?"
                           r"(?P<n>\(?\d{2,4}\)?(?:[ -]?\d{1,4}){1,4})(?![\d%‰‱]|[.,]\d|[ -]\d)")


def _country_code(m: re.Match, locale: str) -> str:
    if sum(c.isdigit() for c in m.group("n")) < 7:
        return m.group(0)
    plus = "加" if is_zh(locale) else "plus "
    return f"{plus}{spell_digits(m.group('cc'), locale)} {spell_digits(m.group('n'), locale)} "


# A standard's designation (GB 11643-1999, GB/T 35273-2020, JR/T 0171-2020, GB 3100-93,
# ISO/IEC 27001:2013): its letters spelled (the / unsaid: G B T), its number digit by digit (a
# dotted part, GB/T 1.1, with 点 / "point"), then its year as a year (二〇二〇 / "twenty
# twenty"), never a minus and a cardinal.
_STANDARD = re.compile(r"(?<![A-Za-z0-9/])(?P<org>(?:GB|JR|GA|GM|YD|SJ|JJF|JJG|HJ|DB\d{2}|ISO|IEC)"
                       r"(?:/(?:IEC|T|Z))*)\s?(?P<n>\d{3,}|\d+(?:\.\d+)+)"
                       r"(?:\s?[-:]\s?(?P<y>(?:19|20)\d\d|\d\d))?(?!\d|\.\d)")


def en_year(year: str) -> str:
    """A year as English readers say it: 1999 "nineteen ninety nine", 2007 "two thousand
    seven", 2020 "twenty twenty", 1900 "nineteen hundred"; a two-digit year (93) as a number.
    Raises ValueError for anything but two or four digits."""
    if not re.fullmatch(r"\d\d|\d{4}", year):
        raise ValueError(f"not a year of two or four digits: {year!r}")
    n = int(year)
    if n < 100:
        return ("oh " + _EN_ONES[n]) if year[0] == "0" else en_number_words(str(n))
    hi, lo = divmod(n, 100)
    if 2000 <= n < 2010:
        return en_number_words(str(n))
    if lo == 0:
        return en_number_words(str(hi)) + " hundred"
    return en_number_words(str(hi)) + " " + ("oh " if lo < 10 else "") + en_number_words(str(lo))


def _standard(m: re.Match, locale: str) -> str:
    zh = is_zh(locale)
    letters = " ".join(m.group("org").replace("/", ""))
    number = (" 点 " if zh else " point ").join(spell_digits(part, locale)
                                                for part in m.group("n").split("."))
    if zh:
        number = number.replace(" 点 ", "点")
    said = f" {letters} {number}"
    year = m.group("y")
    if year is not None:
        if zh:
            said += " " + "".join((YEAR_DIGITS if len(year) == 4 else ZH_DIGITS)[c] for c in year)
        else:
            said += ", " + en_year(year)
    return said + " "


# An email address (zhangsan@163.com) or a web address (www.example.com.cn): digits one by
# one, @ 艾特 / "at", . 点 / "dot", _ 下划线 / "underscore", - 横杠 / "dash", www spelled; its
# words as written in English, and in Mandarin spelled letter by letter unless they are pinyin
# (zhangsan, baidu) or com, net, org (which the Mandarin voice says in English, as people say
# 点com): the voice read sse, gov and service as pinyin syllables (``_zh_address_word``).
# A web address may have a scheme (https://trade.example.com.cn), a port (:8443, digit by
# digit) and a path (/open: 斜杠 / "slash"); without a scheme or www it is one by its last
# label, a top-level domain in small letters (irm.cninfo.com.cn, example-securities.com, but
# not 600000.SH, TSLA.US, Au99.99).
_TOP_LEVEL = r"(?:com|cn|net|org|gov|edu|info|biz|io|hk|mo|tw|sg|uk|us|top|vip|xyz|site|online)"
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
                    r"|(?<![A-Za-z0-9.@/\-])(?:https?://(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,}"
                    r"|(?:https?://)?www(?:\.[A-Za-z0-9\-]+)+"
                    rf"|(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+{_TOP_LEVEL}"
                    r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9]))(?::\d{1,5}(?!\d))?"
                    r"(?:/[A-Za-z0-9\-_~%]+(?:\.[A-Za-z0-9\-_~%]+)*)*/?")
_PORT = re.compile(r"[A-Za-z]:\d")
_ADDRESS_PART = re.compile(r"://|[A-Za-z]+|\d+|[@._\-+%:/]")
_ZH_ADDRESS_SIGNS = {"@": "艾特", ".": "点", "_": "下划线", "-": "横杠", "+": "加", "%": "百分号",
                     "://": "冒号斜杠斜杠", ":": "冒号", "/": "斜杠"}
_EN_ADDRESS_SIGNS = {"@": "at", ".": "dot", "_": "underscore", "-": "dash", "+": "plus",
                     "%": "percent", "://": "colon slash slash", ":": "colon", "/": "slash"}


def _address(m: re.Match, locale: str) -> str:
    zh = is_zh(locale)
    signs = _ZH_ADDRESS_SIGNS if zh else _EN_ADDRESS_SIGNS
    words = []
    parts = _ADDRESS_PART.findall(m.group(0).rstrip("."))
    for i, part in enumerate(parts):
        # a top-level domain after a dot (com, cn) stays a word
        top_level = i > 0 and parts[i - 1] == "." and re.fullmatch(_TOP_LEVEL, part) is not None
        if part in signs:
            words.append(signs[part])
        elif part.isdigit():
            words.append(spell_digits(part, locale))
        elif part.lower() in ("www", "http", "https") or zh and not _zh_address_word(part) or \
                not zh and not _en_address_word(part, top_level):
            words.append(" ".join(part.upper()))
        else:
            words.append(part.lower())
    return " " + " ".join(words) + " " + ("." if m.group(0).endswith(".") else "")


# English, a word of an address said as a word (since speakable/20): one of seven letters or
# more (example, eastmoney), an English word of the lists here (bank, fund, mail, online),
# pinyin (sina, huatai, li.si@), or a top-level domain after a dot (com, cn); a shorter label
# is an acronym-like name and is spelled (cicc "C I C C", not "sick"; citics, csrc, gtja, cmbc,
# ir@). The voice's own dictionary is not reachable without running it (see ``COMMON_WORDS``);
# a short English word missing from the lists is spelled, which is still understood.
_EN_ADDRESS_WORDS = frozenset("""
    mail email info news shop store web site home help service online cloud login apply
    invest trade stock stocks fund funds bank money sales hello admin office contact support
    google apple yahoo amazon bing gmail hotmail outlook live mobile app apps open portal
    """.split())


def _en_address_word(part: str, top_level: bool) -> bool:
    """Whether a word of an address is said as a word in English (see above)."""
    low = part.lower()
    return top_level or len(part) >= 7 or low in _EN_ADDRESS_WORDS or \
        part.upper() in COMMON_WORDS or pinyin_word_syllables(low) is not None


def _zh_address_word(part: str) -> bool:
    """Whether a word of an address is said as a word in Mandarin: pinyin of three letters or
    more (zhangsan, huatai), or com, net, org."""
    return part.lower() in ("com", "net", "org") or len(part) >= 3 and \
        pinyin_syllables(part) is not None


_WHOLE_READINGS: tuple[re.Pattern, ...] = (_STANDARD, _EMAIL)


# An English room or street number is said as English readers say one (Room 1102 "eleven oh
# two", 1589 Century Avenue "fifteen eighty nine", 200 Park Avenue "two hundred"), not as a
# cardinal; five digits or more, one by one.
# (Lane, Block, Tower and Gate since speakable/17: Lane 1500 "fifteen hundred", as Room 1203)
_EN_ROOM = re.compile(r"\b(?P<w>Room|Rm\.|Suite|Unit|Flat|Apt\.?|Apartment|Lane|Block|Tower|"
                      r"Gate)\s+(?P<n>\d{1,6})"
                      r"(?![\d%‰‱]|[.,]\d)")
_EN_STREET = re.compile(r"(?<![\w.,$¥€£-])(?P<n>\d{1,6})(?=\s+(?:[A-Z][a-z]+\s+){1,3}"
                        r"(?:Avenue|Ave|Road|Rd|Street|St|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|"
                        r"Place|Pl|Square|Sq|Highway|Hwy|Court|Ct|Terrace|Parkway)\b)")


# A floor as addresses in Hong Kong and China write it (11/F, 3/F): "11th floor".
_EN_FLOOR = re.compile(r"(?<![\w/.,])(?P<n>\d{1,3})/F\b")


def _en_ordinal(n: str) -> str:
    """11 -> 11th, 22 -> 22nd, 3 -> 3rd (espeak-ng reads them as ordinals)."""
    value = int(n)
    suffix = "th" if value % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(
        value % 10, "th")
    return f"{value}{suffix}"


_EN_ROOM_WORDS = {"Rm.": "Room", "Apt": "Apartment", "Apt.": "Apartment"}


def _en_house_number(n: str) -> str:
    """A room or street number as read in English: 7 "seven", 305 "three oh five", 1102
    "eleven oh two", 1589 "fifteen eighty nine", 200 "two hundred", 2000 "two thousand";
    five digits or more, or a leading zero, one by one."""
    if len(n) > 4 or (len(n) > 1 and n[0] == "0"):
        return spell_digits(n, "en")
    value = int(n)
    if value < 100 or value % 1000 == 0:
        return en_number_words(n)
    hi, lo = divmod(value, 100)
    if lo == 0:
        return en_number_words(str(hi)) + " hundred"
    return en_number_words(str(hi)) + (" oh " if lo < 10 else " ") + en_number_words(str(lo))

# Circled and other enclosed numbers (① ⑫ ㉑ ❶ ⓫): list markers, said as 第一，/ "one, " (NFKC
# would make ①② the number 12). Read before folding.
_CIRCLED = re.compile("[\u2460-\u2473\u24ea-\u24ff\u2776-\u2793\u3251-\u325f\u32b1-\u32bf]")


def _circled(text: str, zh: bool) -> str:
    def sub(m: re.Match) -> str:
        n = int(unicodedata.numeric(m.group(0)))
        nxt = text[m.end():m.end() + 1]
        pause = "" if not nxt or nxt in "，。；、,.;:：！？!?)）" else ("，" if zh else ", ")
        return (f"第{zh_cardinal(str(n))}" if zh else f" {en_number_words(str(n))}") + pause

    return _CIRCLED.sub(sub, text)


# A minus between two words (期末净值－期初净值, 收益=卖出金额-买入金额-费用): 减 / "minus".
# The full-width minus (U+FF0D, the Chinese keyboard's) or U+2212 between words always is
# one; an ASCII hyphen between Chinese words only in a formula, a sentence with = ÷ ×
# (elsewhere, 北京-上海, it is silent and ``speech_issues`` warns); in English a spaced hyphen
# between words in a sentence with =.
_WORD_END = "\u4e00-\u9fff\u3400-\u4dbf)）A-Za-z"
_WORD_START = "\u4e00-\u9fff\u3400-\u4dbf(（A-Za-z"
_WIDE_MINUS = re.compile(rf"(?<=[{_WORD_END}])\s*[\uff0d\u2212]\s*(?=[{_WORD_START}])")
_MINUS_SIGN_BETWEEN = re.compile(r"(?<=[\u4e00-\u9fff\u3400-\u4dbf)A-Za-z])\s*\u2212\s*"
                                 r"(?=[\u4e00-\u9fff\u3400-\u4dbf(A-Za-z])")
_SENTENCE = re.compile(r"[^。；;！？!?]+")
_FORMULA = re.compile(r"[=÷×]|[)）]\s*/|/\s*[(（]")
_ZH_WORD_HYPHEN = re.compile(r"(?<=[\u4e00-\u9fff\u3400-\u4dbf)])-"
                             r"(?=[\u4e00-\u9fff\u3400-\u4dbf(])")
_EN_WORD_HYPHEN = re.compile(r"(?<=[A-Za-z)]) - (?=[A-Za-z(])")


def _formula_minus(text: str, zh: bool) -> str:
    text = _MINUS_SIGN_BETWEEN.sub("减" if zh else " minus ", text)
    hyphen = _ZH_WORD_HYPHEN if zh else _EN_WORD_HYPHEN
    if "-" not in text or not _FORMULA.search(text):
        return text
    return _SENTENCE.sub(lambda m: hyphen.sub("减" if zh else " minus ", m.group(0))
                         if _FORMULA.search(m.group(0)) else m.group(0), text)


# '/' in a formula is a division (维持担保比例=（现金+市值）/（融资买入金额+…）: 除以, "divided
# by"), not the 或 / "or" of 是/否: in a clause (up to a comma or a sentence's end) with = × ÷,
# a word plus a word, or a bracket right before or after the slash. A slash between two
# digits stays a fraction or a date (1/3, 12/31), one after an amount or unit before a unit
# stays 每 / "per" (5元/笔, 0.5%/年, 1.5 yuan/trade), and alternatives stay 或 (是/否, 买入/卖出).
_CLAUSE = re.compile(r"(?:[^，。；;！？!?,]|,(?=\d))+")
_ZH_FORMULA = re.compile(r"[=÷×]|\)\s*/|/\s*\(|[\u4e00-\u9fff)]\s*\+\s*[\u4e00-\u9fff(]")
_EN_FORMULA = re.compile(r"[=÷×]|\)\s*/|/\s*\(|[A-Za-z)] [+\u2212] [A-Za-z(]|[\d%] / \d")
_ZH_ALTERNATIVE = re.compile("(?:是|买入|买|沪|男|有|和|及|先生|上海|A|B)/"
                             "(?:否|卖出|卖|深|女|无|或|女士|深圳|A|B|H)")
_EN_ALTERNATIVE = re.compile(r"\b(?:and|or|yes|no|buy|sell|he|she|his|her)/"
                             r"(?:or|and|no|yes|sell|buy|she|he|her|his)\b", re.IGNORECASE)


def _is_division(clause: str, i: int, zh: bool) -> bool:
    """Whether the '/' at ``clause[i]`` (in a formula) divides."""
    before, after = clause[:i].rstrip(), clause[i + 1:].lstrip()
    if not zh and clause[i - 1:i + 2] == " / " and re.search(r"[\d%]\Z", before) and \
            after[:1].isdigit():
        return True  # (8% / 365): spaced, a division (since speakable/18)
    if before[-1:].isdigit() and after[:1].isdigit():
        return False  # 1/3, 12/31
    if zh and re.match("[天日年月期份人次]数", after):
        return True  # ×365/天数: a number of days, not "per day" (since speakable/18)
    near = clause[max(0, i - 3):i + 4]
    if zh:
        if _ZH_ALTERNATIVE.search(near):
            return False
        return not (_ZH_PER_UNIT.match(clause, len(before)) and
                    re.search(f"[{_ZH_UNIT_CHARS}]\\Z", before)
                    or _ZH_PER_AFTER_AMOUNT.match(clause, len(before))
                    and re.search(r"[\d%‰‱]\Z", before))
    if _EN_ALTERNATIVE.search(clause[max(0, i - 5):i + 6]):
        return False
    if clause[i - 1:i] == " " or clause[i + 1:i + 2] == " ":
        return True  # a spaced slash in a formula: "365 / days held"
    return not (_EN_PER.search(clause[max(0, i - 12):i + 2]) and
                re.search(r"[A-Za-z]\Z", before)
                or _EN_PER_AFTER_AMOUNT.match(clause, i) and re.search(r"[\d%‰‱]\Z", before))


def _formula_slash(text: str, zh: bool) -> str:
    if "/" not in text:
        return text
    formula = _ZH_FORMULA if zh else _EN_FORMULA
    said = "除以" if zh else " divided by "

    def clause(m: re.Match) -> str:
        c = m.group(0)
        if "/" not in c or not formula.search(c):
            return c
        return "".join(said if ch == "/" and _is_division(c, i, zh) else ch
                       for i, ch in enumerate(c))

    return _CLAUSE.sub(clause, text)


# Greek letters as their names (β系数 贝塔系数, "beta"); µ and μ are left to the unit rules.
_GREEK = {"α": ("阿尔法", "alpha"), "β": ("贝塔", "beta"), "γ": ("伽马", "gamma"),
          "δ": ("德尔塔", "delta"), "Δ": ("德尔塔", "delta"), "ε": ("艾普西龙", "epsilon"),
          "θ": ("西塔", "theta"), "λ": ("兰姆达", "lambda"), "π": ("派", "pi"),
          "ρ": ("肉", "rho"), "σ": ("西格玛", "sigma"), "Σ": ("西格玛", "sigma"),
          "τ": ("陶", "tau"), "φ": ("斐", "phi"), "ω": ("欧米伽", "omega"),
          "Ω": ("欧米伽", "omega")}
_GREEK_LETTER = re.compile(f"[{''.join(_GREEK)}]")
# A % or ‰ standing alone, as a unit label (单位：%, 收益率（%）): 百分比 / 千分比.
_ZH_LONE_PERCENT = re.compile("[%‰]")


# English abbreviations said as the words they stand for: a month next to a number (Jan 5,
# 1 Jan, Sept. 30: January ...), a weekday with its dot or in a range (Mon. Fri., Mon-Fri:
# Monday to Friday), No. / Art. / Sec. before a number (number, Article, Section), a unit after
# a number (hrs hours, hr hour, mins, secs, yrs, mths; bn billion, mn million), p.a. (per
# annum). An abbreviation's dot is dropped, except at the end of the text.
_EN_MONTH_ABBR = {m[:3]: m for m in EN_MONTHS if len(m) > 3} | {"Sept": "September"}
_MON = r"(?P<m>Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)"
_EN_MONTH_SHORT = re.compile(rf"\b{_MON}\b(?:\.(?!\d))?(?=\s*\d)"
                             rf"|(?<=\d)(?P<s>\s+){_MON.replace('?P<m>', '?P<m2>')}\b\.?")
_EN_DAYS = {"Mon": "Monday", "Tue": "Tuesday", "Tues": "Tuesday", "Wed": "Wednesday",
            "Thu": "Thursday", "Thur": "Thursday", "Thurs": "Thursday", "Fri": "Friday",
            "Sat": "Saturday", "Sun": "Sunday"}
_DAY = r"(?:Mon|Tues?|Wed|Thu(?:rs?)?|Fri|Sat|Sun)"
_EN_DAY_RANGE = re.compile(rf"\b(?P<a>{_DAY})\b\.?\s*(?:-|to|through)\s*(?P<b>{_DAY})\b\.?")
_EN_DAY_DOT = re.compile(rf"\b(?P<a>{_DAY})\.")
_EN_BEFORE_NUMBER = re.compile(r"\b(?P<w>No|no|Art|Arts|Sec|Para)\.\s*(?=\d)"
                               r"(?:(?P<n>[1-9]\d{0,2})(?!\d|[.,]\d))?")
_EN_BEFORE_WORDS = {"No": "number", "no": "number", "Art": "Article", "Arts": "Articles",
                    "Sec": "Section", "Para": "paragraph"}
_EN_UNIT_ABBR = re.compile(r"(?<![\d.])(?P<n>\d+(?:\.\d+)?)\s*"
                           r"(?P<u>hrs?|mins?|secs?|yrs?|mths?|bn|mn)\b\.?")
_EN_UNIT_WORDS = {"hr": "hour", "min": "minute", "sec": "second", "yr": "year", "mth": "month"}
_PER_ANNUM = re.compile(r"(?<![A-Za-z])p\.\s?a\.")
# min. / max. before an amount (min. RMB 5: the voice took "min." for the end of a sentence);
# incl. / excl. before a word "including" / "excluding", after one "included" / "excluded";
# approx. and est.
_EN_MIN_MAX = re.compile(r"\b(?P<w>[Mm]in|[Mm]ax)\.\s*"
                         rf"(?=[$¥€£]|(?:{_CUR_CODES}|HK|US)\b|\d)")
_EN_MIN_MAX_WORDS = {"min": "minimum", "max": "maximum"}
_EN_INCL = re.compile(r"\b(?P<w>[Ii]ncl|[Ee]xcl|[Aa]pprox|[Ee]st)\.(?P<next>\s*[A-Za-z0-9$¥€£])?")
_EN_INCL_WORDS = {"incl": ("including", "included"), "excl": ("excluding", "excluded"),
                  "approx": ("approximately", "approximately"), "est": ("estimated", "estimated")}
# A day before a month (8 March 2025, 21st June): "the 8th of March 2025", as it is said (the
# voice reads "8 March" as "eight March").
_EN_DAY_MONTH = re.compile(rf"(?<![\d/.,:])(?P<d>[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s+"
                           rf"(?P<m>{'|'.join(EN_MONTHS)})\b")
# A thousand written as a small k after a number (500k yuan): "500 thousand"; 4K is a screen.
_EN_THOUSAND_K = re.compile(r"(?<![A-Za-z0-9_.,$¥€£])(?P<n>\d+(?:\.\d+)?)k(?![A-Za-z0-9])")


# est. before a year that ends its phrase (The firm, est. 1991, is listed; Est. in 2005 by ...)
# is "established", as on a firm's sign; before anything else it stays "estimated" (est. 5%
# growth, est. 2000 units; since speakable/20).
_EN_ESTABLISHED = re.compile(r"\b(?P<w>[Ee]st)\.(?=\s*(?:in\s+)?(?:1[6-9]|20)\d\d"
                             r"(?:\s*(?:[,.;:)!?\]](?!\d)|\Z)|\s+(?:in|by|as|and)\b))")


def _en_incl(m: re.Match) -> str:
    before, after = _EN_INCL_WORDS[m.group("w").lower()]
    nxt = m.group("next")
    if nxt is not None:
        return before + nxt
    return after + _end_dot(m)


def _end_dot(m: re.Match) -> str:
    return "." if m.group(0).endswith(".") and m.end() == len(m.string) else ""


# A percentage's trailing zeros are not said, as an amount's are not (1.20% 百分之一点二,
# "1.2%"; 10.00% 百分之十).
_PERCENT_DECIMALS = re.compile(r"(?<![\d.])\d+\.\d+(?=\s*[%‰‱])")


def _en_unit_abbr(m: re.Match) -> str:
    n, u = m.group("n"), m.group("u").rstrip("s") if m.group("u") not in ("bn", "mn") else \
        m.group("u")
    if u in ("bn", "mn"):  # the dot of "USD 1.5bn." ends the sentence too
        return f"{n} {'billion' if u == 'bn' else 'million'}" + _end_dot(m)
    return f"{n} {_EN_UNIT_WORDS[u]}{'' if n == '1' else 's'}" + _end_dot(m)


def _en_before_number(m: re.Match) -> str:
    """No. 130 "number one hundred thirty" (a document's or an order's number, of up to three
    digits with no leading zero, is a cardinal; a longer one stays digits for the cue rule)."""
    word, n = _EN_BEFORE_WORDS[m.group("w")], m.group("n")
    if word == "number" and n is not None:
        return f"{word} {en_number_words(n)}"
    return f"{word} {n or ''}"


def _en_abbreviations(text: str) -> str:
    text = _EN_MONTH_SHORT.sub(lambda m: (m.group("s") or "") + _EN_MONTH_ABBR[
        m.group("m") or m.group("m2")] + _end_dot(m), text)
    text = _EN_DAY_RANGE.sub(lambda m: f"{_EN_DAYS[m.group('a')]} to {_EN_DAYS[m.group('b')]}"
                             + _end_dot(m), text)
    text = _EN_DAY_DOT.sub(lambda m: _EN_DAYS[m.group("a")] + _end_dot(m), text)
    if "No" in text or "NO" in text or "no." in text:
        text = _EN_NO_AFTER_NOUN.sub(_en_no_after_noun, text)
        text = _EN_REF.sub("reference ", _EN_NO_CODE.sub("number ", text))
    text = _EN_BEFORE_NUMBER.sub(_en_before_number, text)
    text = _EN_UNIT_ABBR.sub(_en_unit_abbr, text)
    if "." in text:
        text = _EN_MIN_MAX.sub(lambda m: _EN_MIN_MAX_WORDS[m.group("w").lower()] + " ", text)
        text = _EN_ESTABLISHED.sub(lambda m: "Established" if m.group("w")[0] == "E"
                                   else "established", text)
        text = _EN_INCL.sub(_en_incl, text)
    text = _EN_DAY_MONTH.sub(lambda m: f"the {_en_ordinal(m.group('d'))} of {m.group('m')}", text)
    return _PER_ANNUM.sub("per annum", text)


# Roman numerals: the Unicode ones (Ⅰ Ⅱ Ⅲ ⅳ, read before NFKC makes them letters), and I to
# VIII in capitals before 类 / 级 / 期 / 型 / 档 (II类户 二类户) or after Class / Type / Tier /
# Category / Level / Phase / Grade ("Class II" "Class two"): numbers, never letters.
_ROMAN_SIGNS = re.compile("[\u2160-\u217f]")
_ROMAN_VALUES = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8}
_ZH_ROMAN = re.compile(r"(?<![A-Za-z])(?P<r>VI{0,3}|I{1,3}|IV)(?=\s*(?:类|级|期|型|档))")
_EN_ROMAN = re.compile(r"\b(?P<w>Class|Type|Category|Tier|Level|Phase|Grade)\s+"
                       r"(?P<r>VI{0,3}|I{1,3}|IV)\b")


def _roman_signs(text: str, zh: bool) -> str:
    def sub(m: re.Match) -> str:
        n = str(int(unicodedata.numeric(m.group(0))))
        return zh_cardinal(n) if zh else f" {en_number_words(n)} "

    return _ROMAN_SIGNS.sub(sub, text)


# Names in the running script, read with their surname's reading (客户经理单明 shàn 明, 曾庆红
# zēng): a name of two to four characters right after a role word (客户经理, 经办人, 联系人,
# 客户, 投资者, 姓名 ...) that ends where the text pauses (punctuation, a space, the end, 先生 /
# 女士), and every name after it in a list (、，和); a later name of a list may run on (仇英已
# 完成). A name before 先生 / 女士 after a pause (您好，单明女士), and one surname alone before
# them (请曾先生). A two-character word of pypinyin's phrase table (单方, 曾经) is no name. A
# Latin name after 姓名 or a role word and a colon is spelled (``_zh_latin_name``).
_ZH_NAME_ROLE = re.compile(r"(?:见证人员|经办人员|见证员|"
                           r"客户经理|理财经理|投资顾问|经办人|联系人|见证人|代理人|申请人|"
                           r"负责人|法定代表人|开户人|持有人|客户姓名|投资者姓名|姓名|客户|投资者|"
                           r"本人|"
                           # since speakable/25: titles of a firm's people before a name
                           # (首席经济学家解运亮表示 xiè)
                           r"首席经济学家|经济学家|首席分析师|首席策略师|首席执行官|首席投资官|"
                           r"首席风险官|首席信息官|首席财务官|分析师|研究员|副董事长|董事长|独立董事|"
                           r"董事|监事长|监事|总监|主管|主任|副总裁|总裁|合伙人|律师|会计师|"
                           r"保荐代表人)[:：\s]*")
# A name ends at a pause, before 先生 / 女士, or before the verb of an identity sentence
# (本人单仁平确认, 投资者单明承诺); its given name has none of the characters that make the
# words after 本人 / 投资者 a clause (本人能确认，投资者都已确认: _ZH_NOT_GIVEN).
_ZH_NAME_END = re.compile(r"\Z|[，,、。.；;:：！？!?()（）\[\]【】\s\"“”'‘’《》]"
                          r"|先生|女士|同志|老师|确认|承诺|声明|同意|知悉|自愿|保证|申请|郑重"
                          r"|表示|指出|认为|介绍|强调|预计|称")
_ZH_NOT_GIVEN = re.compile("[已将都也还均再又就是不没未能会要应须需在对了过着的得地和与及或并且而但"
                          "把被让使从到给于]|确认|同意|知悉|承诺|声明|申请|办理|签署|阅读|表示|任职")
_ZH_NAME_SEP = re.compile(r"[，,、]|和|及|与")
_ZH_MR = re.compile("先生|女士")
_LATIN_NAME = re.compile(r"[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'’\-]*"
                         r"(?: [A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'’\-]*)*")
_NOT_BEFORE_MR = frozenset("那么都过能")  # 那先生: "that gentleman"
_ZH_MEASURE_BEFORE_MR = frozenset("位个名些")  # 六位先生, 那位女士: "six gentlemen", "that lady"
# Words a full name before 先生 / 女士 follows in running text as it follows a pause
# (请单雄信先生确认, 尊敬的单田芳女士, 由曾小贤先生办理, 向解晓东女士咨询): the name's surname gets
# its reading there too. Elsewhere a name before 先生 / 女士 needs a pause before it; a word of
# pypinyin's phrase table (单位, 曾经, 查询) is never a name, nor a given name with a character
# that makes the words a clause (_ZH_NOT_GIVEN: 请曾经理先生, 由解决了先生 ...).
_ZH_BEFORE_NAME = re.compile("(?:请|由|向|和|与|及|或|同|跟|给|让|叫|致|尊敬的|亲爱的|您好|你好|是|"
                             "感谢|谢谢|欢迎|邀请|恭喜|联系|致电|通知|转告|告知|陪同)\\Z")


def _cjk_run(text: str, a: int, b: int) -> bool:
    return 0 <= a < b <= len(text) and all(_CJK.match(c) for c in text[a:b])


def _zh_no_name_word(two: str) -> bool:
    """Whether the two characters a name would start with are a word of pypinyin's phrase
    table (单位, 曾经: no name), other than a compound surname (尉迟, 万俟 are in the table
    too, and were never read as surnames there)."""
    return zh_is_word(two) and two not in ZH_COMPOUND_SURNAMES


def _zh_overlapping_name(text: str, a: int, q: int) -> bool:
    """Whether ``text[a:q]``, three characters whose first two are a word (查明亮: 查明), is
    still a full name: its first character a surname read otherwise than usual, the three no
    word, and the two after it no title nor anything that makes the words a clause (见证员查明亮,
    尊敬的查明亮先生: zhā; 经查明，查明原因 stay the verb; since speakable/22)."""
    return q - a == 3 and _cjk_run(text, a, q) and text[a] in ZH_SURNAMES and \
        zh_surname(text[a:q]) is not None and not zh_is_word(text[a:q]) and \
        text[a + 1:q] not in ZH_TITLES and not _ZH_NOT_GIVEN.search(text, a + 1, q) and \
        text[q - 1] not in _ZH_NOT_LAST_GIVEN


# Verbs that end a clause, never a given name, after a surname and a word (解释说: 解 + 解释).
_ZH_NOT_LAST_GIVEN = frozenset("说道称问答讲述写看听想做去来")
# Roles of the staff, after which a name may overlap a word (见证员查明亮; since speakable/22);
# after 客户 / 投资者 / 本人 the words are as often a clause (投资者解释说).
_ZH_STAFF_ROLE = re.compile("见证人员|经办人员|见证员|客户经理|理财经理|投资顾问|经办人|联系人|"
                            "见证人|首席|经济学家|分析师|策略师|研究员|副董事长|董事长|独立董事|董事|"
                            "监事|总监|主管|主任|副总裁|总裁|合伙人|律师|会计师|保荐代表人")


def _zh_name_at(text: str, p: int, in_list: bool, staff: bool = False) -> int | None:
    """Where a name starting at ``p`` ends, or None (see _ZH_NAME_ROLE's comment); after a
    staff role (``staff``) a name may overlap a word (``_zh_overlapping_name``)."""
    head = 2 if text[p:p + 2] in ZH_COMPOUND_SURNAMES else 1  # 单于明: the given name is 明
    for n in (4, 3, 2) if head == 2 else (3, 2):
        if _cjk_run(text, p, p + n) and _ZH_NAME_END.match(text, p + n) and \
                (not _zh_no_name_word(text[p:p + 2]) or
                 staff and _zh_overlapping_name(text, p, p + n)) \
                and \
                not _ZH_NOT_GIVEN.search(text, p + min(head, n - 1), p + n):
            return p + n
    if in_list and _cjk_run(text, p, p + 2) and zh_surname(text[p:p + 2]) is not None and \
            not _zh_no_name_word(text[p:p + 2]):
        return p + 2
    return None


def _zh_said_name(text: str, a: int, b: int) -> str:
    found = zh_surname(text[a:b])
    if found is None:
        return text[a:b]
    lead = " " if a and (_CJK.match(text[a - 1]) or text[a - 1].isalnum()) else ""
    return f"{lead}{protect_spoken(found[1])} {zh_name_chars(text[a + len(found[0]):b])}"


def _zh_names(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _ZH_NAME_ROLE.finditer(text):
        if m.start() < pos:
            continue
        p = m.end()
        latin = _LATIN_NAME.match(text, p)
        if latin and re.search("[a-z]", latin.group(0)) and \
                ("姓名" in m.group(0) or ":" in m.group(0) or "：" in m.group(0)):
            out += [text[pos:p], protect_spoken(_zh_latin_name(latin.group(0)))]
            pos = latin.end()
            continue
        in_list = False
        staff = _ZH_STAFF_ROLE.match(m.group(0)) is not None
        while p < len(text):
            end = _zh_name_at(text, p, in_list, staff)
            if end is None:
                break
            out += [text[pos:p], _zh_said_name(text, p, end)]
            pos, in_list = end, True
            sep = _ZH_NAME_SEP.match(text, end)
            if sep is None:
                break
            p = sep.end()
    out.append(text[pos:])
    text = "".join(out)
    if "先生" not in text and "女士" not in text:
        return text
    out, pos = [], 0
    for m in _ZH_MR.finditer(text):
        q = m.start()
        for n in (4, 3, 2, 1):  # four characters only with a compound surname: 尉迟小红
            a = q - n
            found = zh_surname(text[a:q]) if a >= pos and _cjk_run(text, a, q) and (
                n < 4 or text[a:a + 2] in ZH_COMPOUND_SURNAMES) else None
            if found is None or _zh_no_name_before_mr(text, a, q, found[0]) or \
                    _zh_given_name_before_mr(text, a, q, pos):
                continue
            out += [text[pos:a], _zh_said_name(text, a, q)]
            pos = q
            break
    out.append(text[pos:])
    return "".join(out)


# A surname read otherwise than usual alone before a title or a role other than 先生 / 女士
# (since speakable/19: 由曾经理为您办理 zēng, 单经理 shàn, 查老师 zhā, 区经理 ōu, 华经理 huà,
# 任经理 rén, 曾总): it gets its surname reading where the text's segmentation
# (``zh_segments``) makes the surname a word of its own and the title the next word. So 地区经理
# (地区), 中华经理人, 了解, 责任经理 keep their words, and 曾经理财 is 曾经 + 理财 (céng jīng);
# 由曾经理为您办理 segments as 由 + 曾 + 经理, a manager named Zeng, the reading a broker's text
# means (a text that means "once managed" is rare and reads zēng: rewrite it as 曾经管理). 查
# right after a word that asks for an action (请 可 需 要 去 再 先 …) is the verb chá there
# (请查经理审批记录, "please check"), not the surname.
ZH_TITLES = frozenset("经理 总经理 副总 老师 主任 总监 主管 律师 医生 教授 博士 会计 会计师 "
                      "专员 顾问 行长 副行长 董事长 董事 部长 处长 科长 局长 院长 校长 师傅 "
                      "助理 小姐 同学 阿姨 大夫 总 工 经办 组长 站长 店长 厂长 秘书 老板 老总 "
                      "先生 女士".split())


# A clause that opens with 查 + title after a comma or colon names a manager Zha when the
# title is the subject of the clause (您好，查主任为您服务; since speakable/20), and orders a
# check otherwise (如有疑问，查主任的审批记录 chá).
_ZH_CLAUSE_MARKS = frozenset("，,：:；;、")
_ZH_TITLE_SUBJECT_AFTER = re.compile(r"\s*(?:[，,。.！!？?；;：:]|\Z|为|将|会|来|负责|给|已|"
                                     r"请|您好|你好|正在|在|向|和|与|陪同|带|是)")
_ZH_CHECK_BEFORE = re.compile("(?:请|可|需|要|去|来|再|先|自行|及时|可以|需要|应|并|已|未)\\Z")


# A compound surname straight before a title (您好，万俟经理为您服务, 请和万俟经理确认): the
# surname's reading (mò qí), as {name} and 万俟女士 have it; segmented as 万 + 俟 it was mò sì
# (since speakable/21).
_ZH_COMPOUND_TITLED = re.compile(
    "(?P<s>" + "|".join(sorted(ZH_COMPOUND_SURNAMES, key=len, reverse=True)) + ")"
    "(?=" + "|".join(sorted((t for t in ZH_TITLES if t not in ("先生", "女士")), key=len,
                            reverse=True)) + ")")


def _zh_titled_names(text: str) -> str:
    if _ZH_COMPOUND_TITLED.search(text):
        text = _ZH_COMPOUND_TITLED.sub(lambda m: _zh_said_name(m.string, m.start(), m.end()), text)
    if not any(c in ZH_SURNAMES for c in text):
        return text
    segments = zh_segments(text)
    out: list[str] = []
    pos = 0
    for (a, b), (c, d) in zip(segments, segments[1:], strict=False):
        if text[a] == "查" and _ZH_CHECK_BEFORE.search(text, max(0, a - 3), a):
            continue  # 请查经理审批记录: the verb "check" (chá)
        if text[a] == "查" and a and text[a - 1] in _ZH_CLAUSE_MARKS and \
                not _ZH_TITLE_SUBJECT_AFTER.match(text, d):
            continue  # 如有疑问，查主任的审批记录: an order to check (chá), not 查主任为您服务
        if b - a != 1 or text[a] not in ZH_SURNAMES or text[c:d] not in ZH_TITLES or \
                text[c:d] in ("先生", "女士") or a < pos or _ZH_MR.match(text, d):
            continue
        if a and _shielded(text[a - 1]) or text[a] in _NOT_BEFORE_MR:
            continue  # 那经理: "that manager", not the surname nā
        out += [text[pos:a], _zh_said_name(text, a, b)]
        pos = b
    out.append(text[pos:])
    return "".join(out)


# The commonest surnames (the hundred of the 2020 census, with the polyphonic ones of
# ``ZH_SURNAMES``): a character after one of them in a name before 先生 / 女士 is a given name
# (刘德华先生: 华 is huá, not the surname huà; 王单先生 dān, 孙朴先生 pǔ; since speakable/18).
_ZH_COMMON_SURNAMES = frozenset(ZH_SURNAMES_BY_RANK) | frozenset(ZH_COMPOUND_SURNAMES)


def _zh_given_name_before_mr(text: str, a: int, q: int, pos: int) -> bool:
    """Whether ``text[a:q]`` (one or two characters before 先生 / 女士) ends a longer name
    whose surname stands one or two characters before it (刘德|华先生, 王|单先生, 赵一|曾先生),
    so that it is a given name, not a surname: unless the words before it lead to a name
    (感谢华先生: 谢 ends 感谢, and 华 is the surname)."""
    if q - a > 2 or _ZH_BEFORE_NAME.search(text, max(0, a - 4), a):
        return False
    for k in (1, 2):
        s = a - k
        if s < pos or q - s > 3 or not _cjk_run(text, s, a):
            continue
        if text[s] in _ZH_COMMON_SURNAMES or text[s - 1:s + 1] in ZH_COMPOUND_SURNAMES:
            return True
    # a surname already read (ōu 志华先生: the rule runs again on its own output)
    s = a
    while s > 0 and a - s < 2 and _CJK.match(text[s - 1]):
        s -= 1
    while s > 0 and text[s - 1] == " ":
        s -= 1
    return s < a and s > 0 and _shielded(text[s - 1])


def _zh_no_name_before_mr(text: str, a: int, q: int, surname: str) -> bool:
    """Whether ``text[a:q]``, right before 先生 / 女士 and starting with ``surname``, is no
    name: 那 么 都 过 or 能 alone (那先生, "that gentleman"); a word of pypinyin's phrase
    table (单位, 曾经); a numeral or demonstrative and its measure word (六位先生, 那位女士); a
    full name with a character before it, unless that is a word that leads to a name
    (_ZH_BEFORE_NAME) and the given name holds nothing that makes the words a clause
    (_ZH_NOT_GIVEN)."""
    if q - a == 1:
        return text[a] in _NOT_BEFORE_MR
    given = text[a + len(surname):q]
    if _zh_no_name_word(text[a:a + 2]) and not (
            _zh_overlapping_name(text, a, q) and (
                not a or not _CJK.match(text[a - 1]) or
                _ZH_BEFORE_NAME.search(text, max(0, a - 4), a) is not None)) or \
            given[:1] in _ZH_MEASURE_BEFORE_MR:
        return True
    if a and _CJK.match(text[a - 1]):
        return not _ZH_BEFORE_NAME.search(text, max(0, a - 4), a) or \
            _ZH_NOT_GIVEN.search(given) is not None
    return False


# T-1 (the trading day before T), as T+1 is T加一: T减一 / "T minus 1".
_T_MINUS = re.compile(r"(?<![A-Za-z0-9])T\s*-\s*(?=\d)")
# *ST (a stock under delisting risk warning): the star is said, 星 / "star".
_STAR_ST = re.compile(r"\*\s*(?=S\*?T)")

# Two or three numbers joined by colons: a clock time (9:05, 15:30:00) or a ratio (1:10).
# A colon before the numbers is a label's (见证时间：14:35, "Time:14:35": the full-width one is
# folded to ":" first), unless a digit is before it (the middle of 1:2:3:4).
_COLON_NUMBERS = re.compile(r"(?<![\d.])(?<!\d:)(?P<a>\d+(?:\.\d+)?):(?P<b>\d+(?:\.\d+)?)"
                            r"(?::(?P<c>\d+(?:\.\d+)?))?(?![\d:]|\.\d)")
# Words that make a colon between numbers a ratio: before it (比例1:10, "ratio of 1:10") or
# after it (按1:10的比例, "a 2:1 split").
_ZH_RATIO_BEFORE = re.compile(r"(?:比例|比率|比值|配比|比分|杠杆|倍率|赔率|兑换|折算|拆分|送股|"
                              r"合股|缩股|配售|比)[为是约按：:\s]*\Z")
_ZH_RATIO_AFTER = re.compile(r"\s*的?(?:比例|比率|配比|配售|兑换|折算|拆分|送股|合股|缩股|杠杆)")
_EN_RATIO_BEFORE = re.compile(r"\b(?:ratios?|proportions?|odds|scale|leverage|split|mix)\b"
                              r"[\s:=]*(?:[A-Za-z]+\s+){0,3}\Z", re.IGNORECASE)
_EN_RATIO_AFTER = re.compile(r"\s*(?:ratio|split|leverage|odds|scale|mix)\b", re.IGNORECASE)


def _clock(m: re.Match) -> tuple[int, int, int | None] | None:
    """(hour, minute, second) when the colon numbers are shaped as a clock time."""
    a, b, c = m.group("a"), m.group("b"), m.group("c")
    if "." in a + b + (c or "") or len(a) > 2 or len(b) != 2 or (c is not None and len(c) != 2):
        return None
    h, mi, s = int(a), int(b), (int(c) if c is not None else None)
    if h == 24 and mi == 0 and not s:  # 24:00, the end of a day (00:00-24:00)
        return h, mi, s
    if h > 23 or mi > 59 or (s is not None and s > 59):
        return None
    return h, mi, s


def _is_ratio(text: str, m: re.Match, before: re.Pattern, after: re.Pattern) -> bool:
    """A ratio: not shaped as a time (1:5, 1:100, 2.5:1), or a ratio word next to it."""
    if _clock(m) is None:
        return True
    return bool(before.search(text[max(0, m.start() - 24):m.start()])
                or after.match(text, m.end(), m.end() + 12))


# Capital letters spelled one by one, with an optional plural s (ETFs: "E T F's" in English,
# E T F in Mandarin, which has no plural) -- when they are an acronym: see _spelled.
_ACRONYM = re.compile(r"(?<![A-Za-z])(?P<a>[A-Z]{2,})(?P<s>s?)(?![A-Za-z])")
# Acronyms spelled wherever they stand, also among words in capitals (RISK NOTICE: ETF).
KNOWN_ACRONYMS = frozenset("""
    AI AML API APP ATM BSE CDR CEO CFO CNY CPI CSRC CTO EPS ESG ETF EU EUR FAQ FOF GBP GDP HK HKD
    ID IPO IRR JPY KYC LOF LPR NAV NEEQ OK OTP PB PC PDF PE PIN PMI PPI QDII QFII QR REIT RMB
    ROE ROI RQFII SEHK SFC SMS SSE ST SZSE TV UK UN URL USB USD VIP""".split())
# Short English words a notice writes in capitals (NOTE, RISK, HELLO): read as words. The
# voice's own dictionary is not reachable without running it, so this is the cheap list.
COMMON_WORDS = frozenset("""
    AN AM AS AT BE BY DO GO HE IF IN IS ME MY NO OF ON OR SO TO UP WE STAR
    ACT ADD AGE AGO ALL AND ANY ARE ASK BAD BIG BUT BUY CAN DAY DUE END FAX FEE FOR GET HAS
    HER HIM HIS HOW ITS LAW LET LOW MAY NEW NOT NOW OFF OLD ONE OUR OUT OWN PAY PUT SEE SET
    SHE SIT TAX THE TOO TOP TRY TWO USE WAY WHO WHY WIN YES YET YOU
    ALSO AWAY BACK BANK BEEN BEST BOTH BUSY CALL CARD CARE CASH DATA DATE DEAR DONE DOWN EACH
    EVEN FACE FAIL FEES FILL FIND FIVE FORM FOUR FREE FROM FULL FUND GAIN GIVE GOOD HAVE HEAD
    HELP HERE HIGH HOLD HOME INTO JUST KEEP KIND LAST LATE LEFT LESS LIKE LIST LIVE LOAN LONG
    LOOK LOSE LOSS LOST MADE MAKE MANY MORE MOST MOVE MUCH MUST NAME NEAR NEED NEXT NINE NONE
    NOTE ONCE ONLY OPEN OVER PAGE PAID PART PASS PLAN PLAY READ REAL RISK RULE SAFE SAID SALE
    SAME SAVE SEEN SELL SEND SHOW SIGN SOME SOON STAY STEP STOP SURE TAKE TALK TELL TERM TEST
    TEXT THAN THAT THEM THEN THEY THIS TIME TRUE TURN TYPE UNIT UPON USED USER VERY VIEW VOID
    WAIT WANT WARN WELL WERE WHAT WHEN WILL WITH WORD WORK YEAR YOUR ZERO
    ABOUT ABOVE AFTER AGAIN AGREE ALERT ALLOW ASSET AUDIT BEGIN BELOW BOARD BONDS BONUS CAUSE
    CHECK CLEAR CLOSE COSTS COUNT DAILY DEBIT DELAY DRAFT EARLY ENTER EQUAL ERROR EVERY FINAL
    FIRST FOCUS FUNDS GUIDE HAPPY HELLO INDEX ISSUE LEGAL LEVEL LIGHT LIMIT LOCAL LOWER MONEY
    MONTH NEVER NOTES OFFER ORDER OTHER OWNER PAUSE PHONE PLACE POINT PRICE PRIOR PROOF QUICK
    QUOTA RATES READY RIGHT RISKS RULES SCORE SHARE SHORT SINCE SMILE SORRY SOUND SPEAK STAND
    START STATE STILL STOCK STORE TERMS THANK THEIR THERE THESE THING THINK THOSE THREE TODAY
    TOTAL TRADE TRUST UNDER UNTIL USAGE VALID VALUE VIDEO VOICE WATCH WHERE WHICH WHILE WHOLE
    WORDS WORLD WRITE WRONG YIELD YOURS""".split())
_CAPS_BEFORE = re.compile(r"(?<![A-Za-z])(?P<w>[A-Z]{2,})[\s,.;:!?'&/\u00b7-]{1,3}\Z")
_CAPS_AFTER = re.compile(r"[\s,.;:!?'&/\u00b7-]{1,3}(?P<w>[A-Z]{2,})(?![a-z])")


def _caps_word(word: str) -> bool:
    """Whether a neighbouring word in capitals is a word of text written in capitals (WELCOME,
    TO), not an acronym (GLP, REIT, ETF: the CICC GLP REIT spells CICC; since speakable/25)."""
    return word not in KNOWN_ACRONYMS and bool(re.search("[AEIOUY]", word)) and (
        len(word) > 5 or word in COMMON_WORDS or len(word) <= 2 or
        pinyin_syllables(word) is not None)


def _spelled(text: str, m: re.Match) -> bool:
    """Whether the capitals at ``m`` are an acronym, spelled letter by letter.

    The rule, in order: a known acronym (ETF, ID, KYC, CSRC ...) is spelled; a pinyin name in
    passport style (Customer: PIAO Chenghao, Dear LI Na: ``_en_latin_name``) is a word; a
    word with no vowel letter (HK, CSRC) cannot be said as a word and is spelled; a word next
    to another word in capitals (WELCOME TO ..., ZHANG SAN) is text written in capitals,
    read as words; otherwise a word of up to five letters is spelled unless it is a common
    English word (NOTE, RISK, HELLO), and a longer one (WELCOME) is a word.
    """
    word = m.group("a")
    if word in KNOWN_ACRONYMS:
        return True
    if word in SAID_AS_WORDS:
        return False
    if _en_latin_name(text, m):
        return False
    if not re.search("[AEIOUY]", word):
        return True
    before = _CAPS_BEFORE.search(text, max(0, m.start() - 24), m.start())
    after = _CAPS_AFTER.match(text, m.end(), m.end() + 24)
    if before and _caps_word(before.group("w")) or after and _caps_word(after.group("w")):
        return False
    return len(word) <= 5 and word not in COMMON_WORDS


# A name in passport style (PIAO Chenghao, ZHANG Wei, Dear LI Na): a word in capitals that is
# pinyin (``pinyin_syllables``) after a word that introduces a name (Customer:, Dear, Mr,
# Name:, ...; a given name may stand between: Dear Wei ZHANG), or next to a capitalised word
# that is pinyin too (ZHANG Wei, Wei ZHANG). Known acronyms are spelled first.
# Since speakable/17 also after Ms. said "Miz", Prof, and a person's role (officer, manager,
# agent, witness, adviser, representative, Contact), and before "family" / "'s" (the ZHANG
# family): "Ms. GAO" was G eh O.
_EN_NAME_CUE = re.compile(r"\b(?:[Cc]ustomer|[Cc]lient|[Ii]nvestor|[Aa]pplicant|[Hh]older|"
                          r"[Nn]ame|[Ss]ubject|Dear|Mr|Mrs|Ms|Miz|Miss|Dr|Prof|Madam|Sir|"
                          r"[Oo]fficer|[Mm]anager|[Aa]gent|[Ww]itness|[Aa]dvis[eo]r|"
                          r"[Rr]epresentative|Contact)\.?"
                          r"(?:\s+(?:is|of))?\s*[:,]?\s*(?:[A-Z][a-z]+\s+)?\Z")
_TITLE_WORD_AFTER = re.compile(r"\s+(?P<w>[A-Z][a-z]+)\b")
_EN_FAMILY_AFTER = re.compile(r"\s+famil(?:y|ies)\b|'s\b")
_TITLE_WORD_BEFORE = re.compile(r"(?<![A-Za-z])(?P<w>[A-Z][a-z]+)\s+\Z")


def _en_latin_name(text: str, m: re.Match) -> bool:
    if pinyin_syllables(m.group("a")) is None or m.group("s"):
        return False
    if _EN_NAME_CUE.search(text, max(0, m.start() - 40), m.start()) or \
            len(m.group("a")) > 2 and _EN_FAMILY_AFTER.match(text, m.end()):
        return True
    for near in (_TITLE_WORD_AFTER.match(text, m.end(), m.end() + 24),
                 _TITLE_WORD_BEFORE.search(text, max(0, m.start() - 24), m.start())):
        if near is not None and pinyin_syllables(near.group("w")) is not None:
            return True
    return False


def _acronyms(text: str, zh: bool) -> str:
    def sub(m: re.Match) -> str:
        word, plural = m.group("a"), m.group("s")
        if not _spelled(text, m):
            return word.capitalize() + plural  # said as a word, never spelled by the voice
        if zh:
            return " " + " ".join(word) + " "
        return " ".join(word) + ("'s" if plural else "")

    return _ACRONYM.sub(sub, text)


# --------------------------------------------------------------------------- Mandarin


def _zh_number(text: str) -> str:
    """A written number (commas, sign, decimals) in Chinese numerals; a leading 二 before 千,
    万 or 亿 is said 两 (2000 两千, 20000 两万)."""
    plain = text.replace(",", "").lstrip("+")
    said = zh_cardinal(plain)
    return "两" + said[1:] if said[:2] in ("二千", "二万", "二亿") else said


def _zh_date(m: re.Match) -> str:
    y, mo, d = m.group("y"), m.group("mo"), m.group("d")
    out = "".join(YEAR_DIGITS[c] for c in y) + "年"
    if mo:
        out += zh_cardinal(str(int(mo))) + "月"
    if d:
        out += zh_cardinal(str(int(d))) + "日"
    return out


def _zh_time(h: int, mi: int, s: int | None) -> str:
    out = ("两" if h == 2 else zh_cardinal(str(h))) + "点"  # 2:30 两点三十分, as it is said
    if mi:
        out += ("零" if mi < 10 else "") + zh_cardinal(str(mi)) + "分"
    if s:
        out += zh_cardinal(str(s)) + "秒"
    return out


def _zh_colon(text: str, m: re.Match) -> str:
    """A clock time (9:05 -> 九点零五分), or a ratio (比例1:10 -> 一比十; 1:5 -> 一比五)."""
    if _is_ratio(text, m, _ZH_RATIO_BEFORE, _ZH_RATIO_AFTER):
        return "比".join(g for g in m.group("a", "b", "c") if g is not None)
    clock = _clock(m)
    assert clock is not None
    return _zh_time(*clock)


_ZH_DATE = re.compile(r"(?<!\d)(?P<y>\d{4})(?:年(?:(?P<mo>\d{1,2})月(?:(?P<d>\d{1,2})[日号])?)?"
                      r"|[-/.](?P<mo2>\d{1,2})[-/.](?P<d2>\d{1,2})(?!\d))")
# Month/day (12/31): a date when the words around it say so, else a fraction (3/4 四分之三).
_ZH_MONTH_DAY = re.compile(r"(?<![\d/.])(?P<mo>\d{1,2})/(?P<d>\d{1,2})(?![\d/]|\.\d)")
# Words that name a date (截止, 有效期, and the days of events: 到期日, 行权日, 付息日, 权益登记日),
# then 为 / 是 / 至 / 在 ... (有效期至12/31); any other word ending in 日 before 为 / 是 / a colon
# (红利发放日为7/3, 派息日：6/30); 于 of a time (请于, 将于, 本基金于7/3发放, 不晚于), but not
# the 于 of a comparison or a relation (低于, 等于, 大于, 相当于, 由于, 对于, 基于, 用于, 处于 ...).
# Another word ending in 日 or 期 (每日, 当日, 期限, 本期) names no date: 每日3/4 is a fraction, and
# so is one after 至 / 到 / 在 alone (降至1/3, 控制在1/3以内).
_ZH_EVENT_DAYS = ("行权|付息|派息|兑付|兑息|起息|计息|交割|交收|登记|除息|除权|生效|缴款|申购|认购|"
                  "赎回|清算|结算|公告|基准|估值|开放|成立|上市|还款|扣款|到账|起始|开始|结束|终止|"
                  "签约|签署|确认|募集|分红|派发|支付|发行|申报|过户|转让|最后交易|首个交易|出生|"
                  "纪念|截止|到期|生")
_ZH_NOT_DAY_WORD = "每当次今昨明本各单同逐隔平整半多数首末近"
_ZH_COMPARING_YU = ("低高等大小多少当近逊胜属由对关鉴基用限处至位归源"
                    "出介甚善乐敢终急忙苦过亚次优劣强弱趋免似在适宜易难长短富接")
_ZH_DATE_BEFORE = re.compile(rf"(?:(?:截止|截至|日期|到期|每年|今年|明年|去年|有效期|"
                             rf"(?:延期|延长|推迟|顺延|提前)(?=至|到)|(?:{_ZH_EVENT_DAYS})日)"
                             r"(?:[为是在于至到：:\s])*"
                             rf"|(?<=[\u4e00-\u9fff])(?<![{_ZH_NOT_DAY_WORD}])日"
                             r"(?:\s*(?:为|是|[：:]))+\s*"
                             rf"|(?<![{_ZH_COMPARING_YU}])于[：:\s]*)\Z")
# 从 / 自 before a month/day dates it only when a range or list of them follows (从3/1到6/30;
# 从1/4提高到1/2 is two fractions).
_ZH_DATE_FROM = re.compile(r"(?:从|自)\s*\Z")
_ZH_MONTH_DAY_SEP = r"\s*(?:[、，,和及与或~-]|至|到)\s*"
_ZH_MONTH_DAY_NEXT = re.compile(rf"{_ZH_MONTH_DAY_SEP}\d{{1,2}}/\d{{1,2}}(?![\d/]|\.\d)")
# Month/days before this one in a list or range (付息日6/30、12/31, 自1/1至12/31): the list
# is dated as its first; and as its last (6/30至9/30止).
_ZH_MONTH_DAY_LIST = re.compile(rf"(?:\d{{1,2}}/\d{{1,2}}{_ZH_MONTH_DAY_SEP})+\Z")
_ZH_MONTH_DAY_CHAIN = re.compile(rf"(?:{_ZH_MONTH_DAY_NEXT.pattern})*")
_ZH_DATE_AFTER = re.compile(r"\s*(?:前|之前|以前|之后|以后|后(?!者)|起|止|当天|当日|日|号|期间|"
                            r"到期|截止|截至|"
                            r"[(（]?(?:周|星期)[一二三四五六日天])")
_ZH_PERCENT = re.compile(rf"(?P<sign>(?<![A-Za-z0-9_.])[-+±\u2212])?(?<!\d)(?P<n>{_NUM})\s*"
                         r"(?P<unit>[%‰‱])")
_RANGE = re.compile(rf"(?<!\d)(?P<a>{_NUM})\s*(?P<ua>[%‰‱]|[万亿千百倍]?)\s*(?P<sep>-|~|至)\s*"
                    rf"(?P<b>{_NUM})\s*(?P<ub>[%‰‱])?")
# Two clock times joined by a dash (9:30-11:30, once each is 九点三十分): a range, 到.
# ... and so are two dates (2023.1.1-2023.12.31, once each is 二〇二三年一月一日).
# ... and so is a dash before the next day's time (21:00-次日02:30: 二十一点到次日两点三十分).
_ZH_TIME_RANGE = re.compile(r"([点分秒日月])\s*-\s*(?=(?:次日|翌日|隔日|当日|次月|凌晨|上午|下午|"
                            r"晚上|早上|中午)?\s*[〇零一二三四五六七八九十两])")
# (A sign may stand after the currency: ¥-2,500.00 is 负两千五百元, "minus 2500 yuan".)
_MONEY_PREFIX = re.compile(rf"(?P<cur>{_CUR_SIGNS}|(?:{_CUR_CODES})"
                           rf"(?=\s*[-\u2212]?\d))\s*(?P<sign>[-\u2212])?(?P<n>{_NUM})"
                           rf"(?P<mult>[万亿]?)(?P<abbr>(?:[MmBb]n|[KkMmBb])(?![A-Za-z0-9]))?")
# A range of amounts after a currency sign (¥100-¥500, ¥1-5万, $1-2 billion): one range, the
# currency said once after it (一百到五百元, "1 to 2 billion dollars").
_MONEY_RANGE = re.compile(rf"(?P<cur>{_CUR_SIGNS}|(?<![A-Za-z0-9_])(?:{_CUR_CODES})(?=\s*\d))"
                          rf"\s*(?P<a>{_NUM})(?P<ma>[万亿]?)\s*"
                          rf"(?P<sep>[-~]|至|到|(?<![A-Za-z])to(?![A-Za-z]))\s*(?:(?P=cur)\s*)?"
                          rf"(?P<b>{_NUM})(?![\d%‰‱])(?P<mb>[万亿]?)")


def _zh_money_range(text: str, m: re.Match) -> str:
    """¥100-¥500 一百到五百元; the currency's word once when the text writes it after the
    range as well (RMB 500,000 to 1,000,000元: 五十万到一百万元, not 一百万元元)."""
    sep = "至" if m.group("sep") == "至" else "到"  # '-', '~', 到 and "to" are 到
    word = _ZH_CURRENCY[m.group("cur")]
    after = text[m.end():m.end() + 8].lstrip()
    if after.startswith(word) or word == "元" and after.startswith("人民币"):
        word = ""
    return (_trim_decimals(m.group("a")) + m.group("ma") + sep + _trim_decimals(m.group("b"))
            + m.group("mb") + word)


def _en_money_range(text: str, m: re.Match) -> str:
    sep = m.group("sep")
    if sep == "and" and not _EN_BETWEEN.search(text, max(0, m.start() - 12), m.start()):
        return m.group(0)  # "RMB 500 and 1,000 shares": not a range
    a, b = m.group("a"), m.group("b")
    if m.group("ma") or m.group("mb"):
        a, b = _en_scaled(a, m.group("ma") or m.group("mb")), _en_scaled(b, m.group("mb"))
    abbr = m.group("abbr")
    scale = m.group("scale") or (_EN_SCALES_ABBR[abbr.lower()] if abbr else "")
    first = m.group("sa") or (_EN_SCALES_ABBR[m.group("saa").lower()] if m.group("saa") else "")
    if first and not scale:  # $1 million to 500,000: each amount as written
        head = f"{_trim_decimals(a.replace(',', ''))} {first.lower()}"
    else:
        head = _en_grouped(_trim_decimals(a.replace(',', ''))) + (f" {first.lower()}" if first
                                                                  else "")
    word = sep if sep in ("through", "and") else "through" if sep == "thru" else "to"
    return f"{head} {word} {_en_amount(b, _EN_CURRENCY[m.group('cur')], scale.lower())}"


def _en_grouped(n: str) -> str:
    """A plain number with its thousands grouped when it has five digits or more before the
    point (500000 -> 500,000): the first amount of a range, which no unit follows, would else
    be taken for digits to read one by one. espeak-ng reads 500,000 as a number."""
    whole, dot, frac = n.partition(".")
    if len(whole) < 5 or not whole.isdigit():
        return n
    return f"{int(whole):,}{dot}{frac}"


_ZH_CURRENCY = {"¥": "元", "$": "美元", "US$": "美元", "HK$": "港元", "€": "欧元", "£": "英镑",
                "S$": "新加坡元", "A$": "澳元", "C$": "加元", "NZ$": "新西兰元", "NT$": "新台币",
                "MOP$": "澳门元",
                "RMB": "元", "CNY": "元", "USD": "美元", "HKD": "港元", "EUR": "欧元",
                "GBP": "英镑", "JPY": "日元", "AUD": "澳元", "CAD": "加元", "SGD": "新加坡元",
                "CHF": "瑞士法郎", "NZD": "新西兰元", "MOP": "澳门元", "TWD": "新台币",
                "KRW": "韩元"}
# After an amount (1 USD = 7.18 CNY) the code of the yuan is said 元人民币, as exchange rates
# are announced (一美元等于七点一八元人民币); before one (RMB 100) it is 元.
_ZH_CURRENCY_AFTER = _ZH_CURRENCY | {"RMB": "元人民币", "CNY": "元人民币"}
# An amount with decimals before its currency (100.00元, 1,234.50元): trailing zeros unsaid.
_ZH_MONEY_DECIMALS = re.compile(r"(?<![\d.,])(?P<n>\d+(?:,\d{3})*\.\d+)"
                                r"(?=\s*[万亿]?\s*(?:元|块|美元|港元|欧元|英镑|日元|人民币|澳元|加元|"
                                r"瑞士法郎|韩元|新台币))")
# A currency pair (USD/CNY 7.18, USD/HKD): 美元兑人民币 / "US dollar to yuan"; the rate after it
# is a plain number (not 七点一八元). In Mandarin the yuan of a pair is 人民币.
_CURRENCY_PAIR = re.compile(rf"(?<![A-Za-z])(?P<a>{_CUR_CODES})\s*/\s*(?P<b>{_CUR_CODES})"
                            r"(?![A-Za-z])")
_ZH_PAIR_NAMES = {"RMB": "人民币", "CNY": "人民币", "CNH": "离岸人民币"}
_EN_PAIR_NAMES = {"CNH": "offshore yuan"}


def _currency_pair(m: re.Match, zh: bool) -> str:
    if zh:
        a, b = (_ZH_PAIR_NAMES.get(c) or _ZH_CURRENCY[c] for c in m.group("a", "b"))
        return f"{a}兑{b}"
    a, b = (_EN_PAIR_NAMES.get(c) or _EN_CURRENCY[c] for c in m.group("a", "b"))
    return f" {a} to {b} "


# An amount before a currency code in a Mandarin text (1 USD = 7.18 CNY): 一美元等于七点一八元.
_ZH_MONEY_AFTER = re.compile(rf"(?<![\d.,])(?P<n>{_NUM})\s*(?P<cur>{_CUR_CODES})(?![A-Za-z])")
# A word in capitals right before 先生 / 女士 / 小姐 (SMITH先生) is a name: said as a word.
_ZH_CAPS_BEFORE_MR = re.compile(r"(?<![A-Za-z])[A-Z]{2,}(?=\s*(?:先生|女士|小姐))")
_PLUS_BETWEEN = re.compile(r"(?<=[A-Za-z0-9])\s*\+\s*(?=\d)")
_SIGNED = re.compile(rf"(?<![A-Za-z0-9_.])(?P<sign>[-+±\u2212])(?P<n>{_NUM})")
_NUMBER = re.compile(rf"(?<![0-9.]){_NUM}|\d+")
_FRACTION = re.compile(r"(?<![0-9.])(\d+)/(\d+)(?![0-9])")
_ZH_SYMBOLS = {"&": "和", "=": "等于", "@": " at ", "#": "号", "≈": "约", "°C": "摄氏度", "°": "度",
               "~": "到", "/": "或", "×": "乘以", "÷": "除以", "*": " ", "^": " ", "|": " ",
               "_": " ", "<": "小于",
               ">": "大于", "≥": "大于等于", "≤": "小于等于", "≠": "不等于", "‱": "万分之",
               "\\": " ", "\u00b7": " ", "\u2212": "负"}
_ZH_SYMBOL = re.compile("°C|[&=@#≈°~/×÷*^|_<>≥≤≠‱\\\\\u00b7\u2212]")
# '/' is 每 only between a unit and a unit (元/股, 次/日, 万元/年, 元/平方米, and 元/点, an index
# future's multiplier); elsewhere (沪/深, A/B股, 买入/卖出, 是/否, KYC/AML) it is 或.
_ZH_UNIT_CHARS = "元股次日天月年周份手张笔户件个位时秒克斤吨"
_ZH_PER_UNIT = re.compile(rf"(?<=[{_ZH_UNIT_CHARS}])\s*/\s*"
                          rf"(?=[{_ZH_UNIT_CHARS}人分]|点(?![击开选按进])|平方|立方|公里|米)")
# '/' after a percentage or an amount, before a unit of time or of trading, is 每 (6.8%/年
# 百分之六点八每年, 5/笔 五每笔); decided before the percentage is said.
_ZH_PER_AFTER_AMOUNT = re.compile(r"(?<=[\d%‰‱])\s*/\s*(?=[年月日天周笔股份手张次](?!\d))")
# Years of a range or list before 年 or a year word (2023-2024年, 2023~2024学年, 2023、2024年,
# 2022、2023和2024财年): every year digit by digit, 二〇二三到二〇二四年.
_ZH_YEAR_RUN = re.compile(r"(?<![\d.])\d{4}(?:\s*(?:-|~|至|到|、|和|与|及|或)\s*\d{4}){1,8}"
                          r"(?=\s*(?:年|学年|财年|赛季|会计年度|财政年度))")
_ZH_YEAR_SEP = re.compile(r"\s*(-|~|至|到|、|和|与|及|或)\s*")
# A year after a year and a range or list word (2023年-2024, 2023年至2024期间, 2023年、2024):
# a year too, unless a unit makes it a count (2023年共2024人 has no such word between).
_ZH_YEAR_AFTER_YEAR = re.compile(r"(?<=\d{4}年)(?P<sep>\s*(?:到|至|~|、|和|与|及|或)\s*)"
                                 r"(?P<y>\d{4})(?![\d.,%‰‱]|\s*(?:[年月万亿千百元块个股份手只"
                                 r"人名户家笔次倍天日号点分秒]))")
# A range of year.months (2023.01-2023.06, 2023/07~2024/06, 2023-07至2023-12): 二〇二三年一月到
# 二〇二三年六月. A lone 2023.01 stays a number (an index level).
_YEAR_MONTH_RANGE = re.compile(r"(?<![\d.])(?P<y1>(?:19|20)\d\d)(?P<s>[./-])(?P<m1>0?[1-9]|1[0-2])"
                               r"\s*(?P<sep>-|~|至|到)\s*(?P<y2>(?:19|20)\d\d)(?P=s)"
                               r"(?P<m2>0?[1-9]|1[0-2])(?![\d.]|[./-]\d)")


def _zh_year_run(m: re.Match) -> str:
    parts = _ZH_YEAR_SEP.split(m.group(0))
    return "".join("".join(YEAR_DIGITS[c] for c in p) if i % 2 == 0 else
                   ("到" if p in "-~" else p) for i, p in enumerate(parts))


def _zh_year_month_range(m: re.Match) -> str:
    def said(y: str, mo: str) -> str:
        return "".join(YEAR_DIGITS[c] for c in y) + "年" + zh_cardinal(str(int(mo))) + "月"
    sep = "至" if m.group("sep") == "至" else "到"
    return said(m.group("y1"), m.group("m1")) + sep + said(m.group("y2"), m.group("m2"))


def _en_year_month_range(m: re.Match) -> str:
    return (f"{EN_MONTHS[int(m.group('m1')) - 1]} {m.group('y1')} to "
            f"{EN_MONTHS[int(m.group('m2')) - 1]} {m.group('y2')}")
# A year before 版, 年度, 财年, 届 (2024版, 2023年度 is a date already): digit by digit.
# ... and before 修订 / 修正, 末 / 初 / 底 (2024末), 上半年, 年报 ...; a year in the brackets of a
# document number (证监发〔2017〕14号, [2017]) too.
_ZH_YEAR_OF = re.compile(r"(?<![\d.])(?:19|20)\d\d(?=\s*(?:版|年度|财年|届|修订|修正|修改|末|初|底|"
                         r"上半年|下半年|全年|年报|半年报|季报))"
                         r"|(?<=[〔\[［])(?:19|20)\d\d(?=[〕\]］])")
# A year with its half or quarter (2025H1, 2024Q3) or a fiscal year (FY2024, FY24): 二〇二五年
# 上半年, 二〇二四年第三季度, 二〇二四财年 / "twenty twenty five H one", "Q three twenty twenty
# four", "fiscal year twenty twenty four".
_YEAR_PART = re.compile(r"(?<![A-Za-z0-9_.])(?P<y>(?:19|20)\d\d)\s?(?P<p>H[12]|Q[1-4])"
                        r"(?![A-Za-z0-9])")
_FISCAL_YEAR = re.compile(r"(?<![A-Za-z0-9_.])FY\s?(?P<y>(?:19|20)\d\d|\d\d)(?![A-Za-z0-9])")


def _year_part(m: re.Match, zh: bool) -> str:
    y, part = m.group("y"), m.group("p")
    if not zh:
        return f"{part[0]} {_EN_ONES[int(part[1])]} {en_year(y)}" if part[0] == "Q" else \
            f"{en_year(y)} {part[0]} {_EN_ONES[int(part[1])]}"
    said = "".join(YEAR_DIGITS[c] for c in y) + "年"
    if part[0] == "H":
        return said + ("上半年" if part[1] == "1" else "下半年")
    return said + f"第{ZH_DIGITS[part[1]]}季度"


def _fiscal_year(m: re.Match, zh: bool) -> str:
    y = m.group("y")
    if zh:
        return "".join(YEAR_DIGITS[c] for c in y) + "财年"
    return f"fiscal year {en_year(y)}"
# 2 before a measure word is 两 (2个月 两个月, 2万元 两万元, 2倍 两倍, 3室2厅 三室两厅, 2立方米
# 两立方米); 二 stays in 第二, 2月, 2号, T+2, 12, 2.5 and digit strings. Since speakable/17 (tester
# round thirteen) also before the other measure words of counting (2秒钟, 2成, 2折, 2遍, 2款,
# 2户, 2人, 2轮, 2批, 2组, 2瓶, 2克 …) and as the first number of a range or choice of counted
# things (2-3个 两到三个, 2到3年, 2或3天, 2~3天); a word that names a rank or a category keeps 二
# (2级, 2类, 2档, 2季度, 2期, 2代, 2届, 2节: 二级市场, 二季度). Before 百 cn2an's 二百 stays (200元
# 二百元): both are Putonghua there and 二 the more usual (现代汉语八百词, 二 and 两), while before
# 千 万 亿 两 is, as 2000元 两千元 and 2万 两万 already were.
_ZH_MEASURES = (r"个|万|千|亿|倍|种|次|份|位|名|张|年|天|周|小时|条|项|手|笔|家|只|点|岁|元|块|股|"
                r"分钟|半|室|厅|卫|套|间|层|栋|台|辆|本|门|平方|立方|公里|米|公斤|千克|吨|秒|成|折|"
                r"遍|趟|款|户|人(?!民)|轮|颗|批|幅|段|句|封|部|盒|箱|瓶|克|亩|斤|把|件|场|"
                r"枚|票|桶")
_ZH_LIANG = re.compile(r"(?<![\d.,+第])(?<![0-9A-Za-z]加)2"
                       rf"(?=\s*(?:{_ZH_MEASURES})|\s*(?:到|至|或)\s*\d+\s*(?:{_ZH_MEASURES}))")


# A room number (1001室) is said digit by digit, as an address is read; 3室2厅 counts rooms.
_ZH_ROOM = re.compile(r"(?<![\d.,])\d{3,}(?=\s*室)"
                      # ... and so is a street number of three digits or more (世纪大道1589号
                      # 一五八九号; 建国路88号 八十八号 and 令第130号 第一百三十号 are cardinals)
                      r"|(?<=[路街道巷弄])\d{3,}(?=\s*号)")


# A masked number (138****8000, 110***********002X, ****1234): the digits one by one, the
# stars once, 星号 / "stars" (a single star is *ST's, or a footnote's).
_MASKED = re.compile(r"(?<![A-Za-z0-9_*])(?P<a>\d*)\*{2,}(?P<b>\d*[Xx]?)(?![A-Za-z0-9_*])")


def _masked(m: re.Match, locale: str) -> str:
    a, b = m.group("a"), m.group("b")
    if not (a or b):
        return m.group(0)
    stars = "星号" if is_zh(locale) else "stars"
    return f" {spell_digits(a, locale)} {stars} {spell_digits(b, locale)} "


def _cued_digits(m: re.Match, locale: str) -> str:
    return m.group("cue") + m.group("sep") + " " + spell_digits(m.group("d"), locale) + " "


_EN_YEAR_LIKE = re.compile(r"(?:19|20)\d\d")
_EN_NUMBER_NAMED = re.compile(r"\b(?:ID|number|card|account|phone|mobile|no\.|passport|"
                              r"licen[cs]e|certificate)\b", re.IGNORECASE)


def _en_cued_digits(text: str, m: re.Match) -> str:
    """Digits after a cue, one by one, unless a unit follows ("ends in 3 days"); "ext." is
    said "extension"."""
    if _quantity_follows(text, m.end(), _EN_UNITS):
        return m.group(0)
    if re.match(r"[.,]\d", text[m.end():m.end() + 2]) or (
            m.group("d") == "0" and re.match(r"\.\d", text[m.end():m.end() + 2])):
        return m.group(0)  # account is 0.025%: a decimal, a quantity (since speakable/30)
    if (m.group("cue").lower().startswith("end") and _EN_YEAR_LIKE.fullmatch(m.group("d"))
            and not _EN_NUMBER_NAMED.search(text, max(0, m.start() - 60), m.start())):
        return m.group(0)  # "the offer ends in 2025": a year, unless a number was named
    said = _cued_digits(m, "en")
    return "extension" + said[len(m.group("cue")):] if m.group("cue").lower().startswith(
        "ext") else said


def _zh_range(m: re.Match) -> str:
    ua, ub = m.group("ua"), m.group("ub") or ""
    unit_a = ua or ub  # 3-5% is 百分之三到百分之五
    sep = "至" if m.group("sep") == "至" else "到"  # 至 is said as written
    return f"{m.group('a')}{unit_a}{sep}{m.group('b')}{ub}"


_ZH_PER = {"%": "百分之", "‰": "千分之", "‱": "万分之"}


def _zh_percent(m: re.Match) -> str:
    sign = {"-": "负", "\u2212": "负", "+": "正", "±": "正负"}.get(m.group("sign") or "", "")
    return sign + _ZH_PER[m.group("unit")] + _zh_number(_trim_decimals(m.group("n")))


def _trim_decimals(n: str) -> str:
    """1,000.50 -> 1,000.5; 100.00 -> 100 (an amount's trailing zeros are not said)."""
    return n.rstrip("0").rstrip(".") if "." in n else n


def _zh_money(text: str, m: re.Match) -> str:
    """¥100 一百元; the currency's word once when the text writes it after the amount as well
    (RMB100元, ¥100元: 一百元, not 一百元元)."""
    sign = "负" if m.group("sign") else ""
    word = _ZH_CURRENCY[m.group("cur")]
    n = m.group("n")
    if m.group("abbr"):  # $6M 六百万美元, USD 1.5bn 十五亿美元, HK$50K 五万港元
        scale = _EN_SCALES_ABBR[m.group("abbr").lower()]
        value = float(n.replace(",", "")) * {"thousand": 1e3, "million": 1e6, "billion": 1e9}[scale]
        n = f"{value:.0f}" if value.is_integer() else f"{value:g}"
    if text.startswith(word, m.end()) or word == "元" and text.startswith("人民币", m.end()):
        word = ""
    return sign + _trim_decimals(n) + m.group("mult") + word


# Since speakable/18 a month/day is also dated by its shape and the words of a period: a word
# of a period (申购期, 募集期, 活动期间, 回访时间, 开放期, 交易时段, 开放日) then 为 / 是 / 在 /
# a colon (申购期：6/10-6/14, 回访时间：3/15, 开放期为3.15-4.15), with no unit after it
# (时间为1/2小时 is half an hour); and a range of two month/days that runs forward in one
# month (6/10-6/14, 5/1-5/31), or over months when a day is 1 or above 12 (3/15-4/15,
# 3/1-4/30), which no range of fractions is (1/4-1/2 falls, 1/3-2/3 keeps both days 3).
_ZH_PERIOD_BEFORE = re.compile(r"(?:(?<![本当每近同上下前后首末分周长短到限])期(?:间)?|时间|时段|"
                               r"开放日?)\s*(?:为|是|在|[：:])+\s*\Z")
_ZH_MONTH_DAY_PAIR = re.compile(r"(?<![\d/.])(?P<mo>\d{1,2})(?P<s>[/.])(?P<d>\d{1,2})"
                                r"\s*(?:[~-]|至|到)\s*(?P<mo2>\d{1,2})(?P=s)(?P<d2>\d{1,2})"
                                r"(?![\d/]|\.\d)")


def _zh_month_day_range(text: str, start: int) -> bool:
    """Whether a range of two month/days starts at ``start`` (see _ZH_PERIOD_BEFORE's comment);
    dots only with a word of a period before it (利率3.15-4.15 is two decimals)."""
    m = _ZH_MONTH_DAY_PAIR.match(text, start)
    if m is None:
        return False
    mo, d, mo2, d2 = (int(m.group(k)) for k in ("mo", "d", "mo2", "d2"))
    if not (1 <= mo <= 12 and 1 <= mo2 <= 12 and 1 <= d <= 31 and 1 <= d2 <= 31):
        return False
    if m.group("s") == "." and not _ZH_PERIOD_BEFORE.search(text, max(0, start - 8), start):
        return False
    return mo == mo2 and d2 > d or mo2 > mo and (min(d, d2) == 1 or max(d, d2) > 12)


def _zh_period_dated(text: str, start: int, end: int) -> bool:
    after = text[end:end + 8].lstrip()
    return _ZH_PERIOD_BEFORE.search(text, max(0, start - 8), start) is not None and \
        (after[:1] in ("日", "号") or not _ZH_UNITS.match(after))


def _zh_month_day_dated(text: str, m: re.Match) -> bool:
    """Whether the month/day (or fraction) ``m`` of ``_ZH_MONTH_DAY`` is a date by the words
    around it (``_ZH_DATE_BEFORE``, ``_ZH_DATE_AFTER``, a range or list after 从 / 自, a word
    of a period: ``_ZH_PERIOD_BEFORE``) or by its shape (a range of month/days)."""
    listed = _ZH_MONTH_DAY_LIST.search(text, max(0, m.start() - 60), m.start())
    start = listed.start() if listed else m.start()
    chain = _ZH_MONTH_DAY_CHAIN.match(text, m.end(), m.end() + 60)  # (...)*: always a match
    end = chain.end() if chain else m.end()
    return bool(_ZH_DATE_BEFORE.search(text, max(0, start - 12), start)
                or _ZH_DATE_AFTER.match(text, end, end + 8)
                or (_ZH_DATE_FROM.search(text, max(0, start - 4), start)
                    and (listed or _ZH_MONTH_DAY_NEXT.match(text, m.end())))
                or _zh_period_dated(text, start, end)
                or _zh_month_day_range(text, start))


def _zh_month_day(text: str, m: re.Match) -> str:
    mo, d = int(m.group("mo")), int(m.group("d"))
    if not (1 <= mo <= 12 and 1 <= d <= 31 and _zh_month_day_dated(text, m)):
        return m.group(0)
    said_day = text[m.end():m.end() + 1] in ("日", "号")  # 12/31日: the 日 is written
    return zh_cardinal(str(mo)) + "月" + zh_cardinal(str(d)) + ("" if said_day else "日")


# A month.day written with a dot (请于1.15前): a date after a word that names one (as a
# month/day with a slash: ``_ZH_DATE_BEFORE``) and with no unit after it (每年1.5次, 于1.5小时后
# are numbers); else a decimal, which ``kiosk flows check`` warns about when a date word stands
# after it (1.15前: ``round_nine_issues``).
_ZH_DOTTED_MONTH_DAY = re.compile(r"(?<![\d.])(?P<mo>1[0-2]|0?[1-9])\.(?P<d>3[01]|[12]\d|0?[1-9])"
                                  r"(?![\d.])")


def _zh_dotted_dated(text: str, m: re.Match) -> bool:
    after = text[m.end():m.end() + 24].lstrip()
    if after[:1] not in ("日", "号") and _ZH_UNITS.match(after):
        return False
    if _ZH_DATE_BEFORE.search(text, max(0, m.start() - 12), m.start()) is not None:
        return True
    # the second of a range (开放期为3.15-4.15): dated as the range
    sep = re.search(r"(?<![\d.])\d{1,2}\.\d{1,2}\s*(?:[~-]|至|到)\s*\Z",
                    text[max(0, m.start() - 12):m.start()])
    start = m.start() - len(sep.group(0)) if sep else m.start()
    return _zh_period_dated(text, start, m.end()) or _zh_month_day_range(text, start)


def _zh_dotted_month_day(text: str, m: re.Match) -> str:
    if not _zh_dotted_dated(text, m):
        return m.group(0)
    said_day = text[m.end():m.end() + 1] in ("日", "号")
    return (zh_cardinal(str(int(m.group("mo")))) + "月" + zh_cardinal(str(int(m.group("d"))))
            + ("" if said_day else "日"))


def _zh_signed(m: re.Match) -> str:
    sign = {"-": "负", "\u2212": "负", "+": "正", "±": "正负"}[m.group("sign")]
    return sign + m.group("n")


def _quantity_follows(text: str, end: int, units: re.Pattern) -> bool:
    """Whether a unit (元, 万, days, %) follows the number that ends at ``end``."""
    return units.match(text[end:end + 24].lstrip()) is not None


# The name of a quantity before a number (合约乘数为10000, 委托数量：100000, "the multiplier is
# 10000"): a number, not digits, though no unit follows it.
_ZH_QUANTITY_NAME = re.compile(r"(?:乘数|倍数|数量|股数|份数|份额|总数|总额|余额|金额|规模|"
                               r"面值|价格|市值|上限|下限)[为是约：:\s]*\Z")
_EN_QUANTITY_NAME = re.compile(r"\b(?:multiplier|quantity|amount|volume|size|balance|total|"
                               r"limit|cap|value|price)\s*(?:is|of|:|=)?\s*\Z", re.IGNORECASE)


def _quantity_named(text: str, start: int, zh: bool) -> bool:
    name = _ZH_QUANTITY_NAME if zh else _EN_QUANTITY_NAME
    return name.search(text, max(0, start - 16), start) is not None


# A multiple written with x (P/E 22.99x): 倍 / "times" (an ID tail's X has no decimal point),
# and P/E, P/B, P/S: the two letters, not "P or E".
_MULTIPLE = re.compile(r"(?<![\d.])(?P<n>\d+\.\d+)x(?![A-Za-z0-9])")
# A range of multiples (3x-5x leverage: 三到五倍 / "3 to 5 times"), and a whole multiple before
# an English word (2x leverage): small x only, one or two digits (an ID tail is 105X).
_MULTIPLE_RANGE = re.compile(r"(?<![A-Za-z0-9_.])(?P<a>\d+(?:\.\d+)?)x\s*(?:-|~|to|至|到)\s*"
                             r"(?P<b>\d+(?:\.\d+)?)x(?![A-Za-z0-9])")
_WHOLE_MULTIPLE = re.compile(r"(?<![A-Za-z0-9_.])(?P<n>\d{1,2})x(?=\s+[a-z])")
_P_RATIO = re.compile(r"(?<![A-Za-z/])P/(?P<r>[EBS])(?![A-Za-z/])")


# A whole multiple of one or two digits with a small x (3x杠杆, PE 15x): 三倍, "15 times". (An ID
# tail has three digits before its X; after a digit cue, 尾号12x, it stays digits.)
_SMALL_MULTIPLE = re.compile(r"(?<![A-Za-z0-9_.])(?P<n>\d{1,2})x(?![A-Za-z0-9])")
_TAIL_CUE = re.compile(r"(?:尾号|尾数|末|后|ending in|ends in|last)\s*\Z", re.IGNORECASE)
# A tenor (10Y国债, 1Y LPR, 3M Shibor, 1W, 7D回购, O/N): 十年期, 三个月, 一周, 七天, 隔夜 / "10
# year", "3 month", "overnight". Y always; M, W and D only before a rate, a bond or a repo (6M
# alone may be six million, 1W 万 or a watt).
_TENOR = re.compile(r"(?<![A-Za-z0-9_.])(?P<n>\d{1,2})(?P<u>Y|M|W|D)(?![A-Za-z0-9])"
                    r"(?:(?<=Y)|(?=\s*(?:[Ss][Hh][Ii][Bb][Oo][Rr]|[Hh][Ii][Bb][Oo][Rr]|[Ll][Ii][Bb][Oo][Rr]"
                    r"|SOFR|LPR|国债|存款|贷款|回购|利率|理财|定存|期|美债|deposits?\b|"
                    r"[Tt]reasur|[Bb]ills?\b|[Rr]epos?\b|rates?\b)))")
_ZH_TENORS = {"Y": "年期", "M": "个月", "W": "周", "D": "天"}
_EN_TENORS = {"Y": "year", "M": "month", "W": "week", "D": "day"}
_OVERNIGHT = re.compile(r"(?<![A-Za-z/])O/N(?![A-Za-z/])")


def _tenor(m: re.Match, zh: bool) -> str:
    n, u = m.group("n", "u")
    if not zh:
        return f"{n} {_EN_TENORS[u]}"
    word = _ZH_TENORS[u]
    if word.endswith("期") and m.string.startswith("期", m.end()):  # 10Y期: 十年期, once
        word = word[:-1]
    return zh_cardinal(n) + word


def _small_multiple(text: str, m: re.Match, zh: bool) -> str:
    if _TAIL_CUE.search(text, max(0, m.start() - 12), m.start()):
        return m.group(0)
    return m.group("n") + ("倍" if zh else " times")


def _zh_long_digits(text: str) -> str:
    def sub(m: re.Match) -> str:
        if _quantity_follows(text, m.end(), _ZH_UNITS) or _quantity_named(text, m.start(), True):
            return m.group(0)
        return spell_digits(m.group(0), "zh")

    return _LONG_DIGITS.sub(sub, text)


# ESPEAK_CMN_READINGS (espeak-ng's own readings of polyphonic characters) lives in
# kiosk.guide.espeak_cmn_tones, whose rebuild needs it, and is imported above.


# Characters espeak-ng reads, wherever they stand, with a reading that is no Putonghua reading
# of them (a Taiwan or obsolete one, measured: ``ESPEAK_CMN_READINGS``): 迹 and 绩 are jì
# (普通话异读词审音表: 统读), never jī, 娩 is miǎn, 缉 jī or qī, never qì. pypinyin lists the
# Taiwan readings as heteronyms, so a word of its phrase table (成绩) was read right and one
# it lacks (业绩, 字迹) was not: these get pypinyin's common reading wherever no word gives one.
_ZH_STANDARD_ONLY = frozenset("迹绩娩缉")

# 一 and 不 change their tone by the next syllable (tone sandhi), which espeak-ng never does (一百
# yī bǎi, 不是 bù shì: measured with ``-x``): 不 before a fourth tone is bú (bu2), 一 before a
# fourth tone yí (yi2) and before the others yì (yi4), by the next syllable as the voice says it.
# 一 keeps yī where it is a digit or an ordinal: after a numeral, 第, 之, 加, 周 ... (十一, 第一,
# 百分之一, T加一, 二〇二一年), before a numeral other than 百 千 万 亿 (一二三, 一零五X), before a
# word that makes it a number, a rank or a date (一月, 一号, 一点五, 一比一, 一到三年, 一季度, 一级,
# 一类, 一是…二是…), at the end of a word (统一, 唯一, 星期一: ``zh_segments``), and before no
# syllable.
_SANDHI = frozenset("一不")
_ZH_NUMERALS = frozenset("〇零一二两三四五六七八九十百千万亿")
_YI_AS_DIGIT_BEFORE = frozenset("〇零一二两三四五六七八九十月号点比到至加减乘除又"
                                "季级类等档期楼层线是")
_YI_AS_DIGIT_AFTER = _ZH_NUMERALS | frozenset("第之加减乘除比到至周月点号")


def _zh_tone(reading: str | None) -> int:
    """The tone digit of a reading (hang2 -> 2), 0 for none."""
    return int(reading[-1]) if reading and reading[-1].isdigit() else 0


def _zh_sandhi(text: str, i: int, said: list[str | None]) -> str | None:
    """The reading of 一 or 不 at ``text[i]`` before the next syllable, given as pinyin, or
    None (the voice's yī / bù). ``said`` holds the readings given to the voice so far (None:
    the voice's own)."""
    nxt = text[i + 1:i + 2]
    if not nxt or not _CJK.match(nxt):
        return None
    tone = _zh_tone(said[i + 1] or ESPEAK_CMN_READINGS.get(nxt) or zh_reading(nxt))
    if text[i] == "不":
        return "bu2" if tone == 4 else None
    if nxt in _YI_AS_DIGIT_BEFORE or text[i - 1:i] in _YI_AS_DIGIT_AFTER or \
            tone not in (1, 2, 3, 4) or _zh_road_number(text, i) or \
            not _zh_word_starts_at(text, i):
        return None
    return "yi2" if tone == 4 else "yi4"


# A road, street or district number (since speakable/26): 福华一路, 中山一路111号, 金融一街8号,
# 一环路, 和平一巷, 二区一组: 一 is the number one, yī, not the sandhi of 一路顺风 (yí lù) or 一道
# ("together"). 一 is such a number before 路 街 巷 弄 道 环 区 村 组 when a place name stands
# before it (a Chinese character) and what follows the place word is not a Chinese character
# (a house number, punctuation, the end) or is a word of an address (号 口 段 东 西 南 北 中 内
# 外 路 线 辅 巷 弄 里 支 站 小 社 片 与 和 及 至 到 交, a numeral: the house number as said): not
# 一路顺风, 一路上, 一道来, 一环扣一环.
_YI_ROAD_WORD = frozenset("路街巷弄道环区村组")
_YI_ROAD_NEXT = frozenset("号口段东西南北中内外路线辅巷弄里支站小社片与和及至到交") | _ZH_NUMERALS


def _zh_road_number(text: str, i: int) -> bool:
    if text[i] != "一" or text[i + 1:i + 2] not in _YI_ROAD_WORD or not i or \
            not _CJK.match(text[i - 1]) or text[i - 1] in "是的了在和与从沿走这那每":
        return False
    after = text[i + 2:i + 3]
    return not after or not _CJK.match(after) or after in _YI_ROAD_NEXT


def _zh_word_starts_at(text: str, i: int) -> bool:
    """Whether a word begins at ``text[i]`` (not 一 of 统一, 唯一, 星期一): the most probable
    segmentation of the six characters either side (a word has at most four)."""
    a = max(0, i - 6)
    return any(start == i - a for start, _ in zh_segments(text[a:i + 7]))


# 只 is the measure word zhī (三只股票, 该只基金, 每只新股) after a numeral or a determiner, and
# the adverb zhǐ ("only", the voice's own) before the words it makes (只需, 只能, 只有, 只是:
# 这只是 is "this is only") and after a word ending in 一 (统一只收, 唯一只能).
_ZH_ZHI_AFTER = _ZH_NUMERALS | frozenset("几每该这那此哪各首")
_ZH_ZHI_ADVERB = frozenset("需要能有是管会得好限许准够剩在对")


def _zh_zhi(text: str, i: int) -> str | None:
    before, after = text[i - 1:i], text[i + 1:i + 2]
    if before not in _ZH_ZHI_AFTER or not before or after in _ZH_ZHI_ADVERB and after:
        return None
    if before == "一" and i >= 2 and text[i - 2] in "统唯之万单同专划均归合整逐":
        return None
    return "zhi1"


# 为 standing alone (no word of the phrase tables holds it: 认为, 成为, 作为, 为止, 为期, 以为
# are wéi there, 因为, 为了, 为何 wèi): espeak-ng says wèi wherever it stands, but in a broker's
# text it is mostly the copula wéi (代码为600000, 收益率为3%, 本产品为R3级, 以此为准, 分别为).
# It is the wèi of "for" before a pronoun (为您服务, 为我们, 为大家; not 为您本人, "is you
# yourself"), before a verb of service in its phrase (为客户提供, 为投资者办理, 为查询提供帮助),
# and at the start of a clause before a word (为保护您的权益，…: a purpose). After the name of
# an amount or a limit (上限, 额度, 比例 ...) 为 before a pronoun is the copula too, unless a verb
# of service follows in the clause (上限为您担保资产的1.5倍 wéi; 额度为您提供 wèi).
_ZH_SERVICE = ("提供|服务|办理|讲解|解答|开通|开立|负责|带来|创造|着想|保驾护航|答疑|推荐|"
               "定制|量身|介绍|说明|节省|争取|安排|预留|匹配|推送|发送|展示|呈现|保留|申请|"
               "预约|处理")
_ZH_WEI_FOR = re.compile(r"\s*(?:(?P<p>(?:[您你我他她咱]们?|大家|各位)(?!\s*(?:本人|自己|本身)))"
                         rf"|[\u4e00-\u9fff]{{1,8}}?(?:{_ZH_SERVICE}))")
_ZH_CLAUSE_START = re.compile(r"(?:\A|[，。；！？：,.;!?:、(（“\"])\s*\Z")
_ZH_AMOUNT_NAME = re.compile(r"(?:上限|下限|限额|额度|比例|比率|占比|金额|总额|余额|费率|利率|价格|"
                             r"期限|数量|倍数|规模|门槛|最高|最低|最多|最少)\s*\Z")
_ZH_SERVICE_IN_CLAUSE = re.compile(rf"[^，。；！？,;!?]*?(?:{_ZH_SERVICE})")


def _zh_wei(text: str, i: int) -> str | None:
    """The reading of a lone 为 at ``text[i]``: wei2 for the copula, None for wèi (the
    voice's own)."""
    m = _ZH_WEI_FOR.match(text, i + 1)
    if m is not None:
        if m.group("p") and _ZH_AMOUNT_NAME.search(text, max(0, i - 8), i) and \
                not _ZH_SERVICE_IN_CLAUSE.match(text, m.end(), m.end() + 40):
            return "wei2"
        return None
    if _ZH_CLAUSE_START.search(text, max(0, i - 3), i) and _CJK.match(text[i + 1:i + 2] or " "):
        return None
    # 第一条 为规范…: an article's first word, as a clause's (wèi, "in order to"; since
    # speakable/28)
    if _ZH_ARTICLE_BEFORE.search(text, max(0, i - 12), i) and _CJK.match(text[i + 1:i + 2] or " "):
        return None
    return "wei2"


_ZH_ARTICLE_BEFORE = re.compile(r"第[〇零一二两三四五六七八九十百千\d]+[条章节款]\s*\Z")


# The name of a firm (东兴证券, 中兴通讯, 甬兴证券, 兴证全球基金, 华兴资本: the broker's own name
# in every prompt) is read as pypinyin reads the characters before the firm's word (up to
# four, as one phrase: its phrase table, then each character's common reading), where the
# segmentation found no word there: espeak-ng says 兴 xìng (the 兴 of 高兴), pypinyin xīng.
# (Since speakable/18; 东莞 and 单县 are words of the phrase readings: 莞 is wǎn to espeak-ng.)
_ZH_FIRM_SUFFIX = re.compile("证券|基金|资本|通讯|银行|集团|期货|控股|科技|保险|信托|资管|投资|"
                             "股份|公司|营业部|资产|财富")
_ZH_FIRM_NAME = re.compile(rf"[\u4e00-\u9fff]{{1,4}}?(?={_ZH_FIRM_SUFFIX.pattern})")
_ZH_NOT_IN_FIRM_NAME = frozenset("的了着地得和为与及在是将把被从向对")


def _zh_firm_readings(text: str, readings: list[str | None]) -> None:
    for m in _ZH_FIRM_NAME.finditer(text):
        name = m.group(0)
        said = zh_word_readings(name)  # pypinyin's, as one phrase (cached)
        if len(said) != len(name):
            continue
        for i, ch in enumerate(name):
            j = m.start() + i
            if readings[j] is None and ch not in _ZH_NOT_IN_FIRM_NAME and zh_polyphonic(ch) \
                    and said[i].replace("ü", "v") != _voice_reading(ch):
                readings[j] = said[i].replace("ü", "v")


def _voice_reading(ch: str) -> str | None:
    """How the voice reads the character ``ch`` on its own."""
    if ch in ESPEAK_CMN_NEUTRAL:  # said neutral (欢 huan5; since speakable/26)
        reading = zh_reading(ch)
        return reading[:-1] + "5" if reading else None
    return ESPEAK_CMN_READINGS.get(ch) or zh_reading(ch)


def _zh_said_neutral_here(text: str, i: int) -> bool:
    """Whether a word of pypinyin's phrase table says ``text[i]`` (one of ESPEAK_CMN_NEUTRAL)
    in the neutral tone (尾巴, 衣裳, 功夫): then the voice's neutral is right there."""
    from pypinyin.phrases_dict import phrases_dict  # loaded with pypinyin already

    for word, k in ((text[i - 1:i + 1] if i else "", 1), (text[i:i + 2], 0)):
        said = phrases_dict.get(word) if len(word) == 2 else None
        if said and len(said) == 2 and not any(c in _PINYIN_MARKS for c in said[k][0]):
            return True
    return False


def _zh_polyphones(text: str) -> str:
    """Polyphonic characters inside a word whose reading there is not the one espeak-ng
    gives them, as pinyin with a tone digit (银行 -> 银 hang2, 了解 -> liao3 jie3, 增长 -> 增
    zhang3), which the voice reads as written; a lone 为 by its context (``_zh_wei``), a lone
    只 by its (``_zh_zhi``), the characters espeak-ng reads otherwise than Putonghua does
    (``_ZH_STANDARD_ONLY``), and the tone sandhi of 一 and 不 (``_zh_sandhi``). Other
    characters are left to the voice."""
    if not _ESPEAK_CJK.search(text):
        return text
    said: list[str | None] = []
    readings = zh_phrase_readings(text)
    _zh_bank_hang(text, readings)
    if "上行" in text:
        _zh_goes_up(text, readings)
    for phrase, fixed in _ZH_SET_PHRASES.items():
        for m in re.finditer(phrase, text) if phrase in text else ():
            for k, r in fixed.items():
                readings[m.start() + k] = r
    _zh_round_thirteen_readings(text, readings)
    _zh_round_twenty_readings(text, readings)
    if "调" in text or "数" in text:
        _zh_round_twentyfour_readings(text, readings)
    if _ZH_FIRM_SUFFIX.search(text):
        _zh_firm_readings(text, readings)
    for i in (m.start() for m in re.finditer("将", text)) if "将" in text else ():
        if readings[i] == "jiang4" and text[i + 1:i + 2] and \
                text[i + 1] in _ZH_FUTURE_AFTER_JIANG:
            readings[i] = None
    for i, (ch, reading) in enumerate(zip(text, readings, strict=True)):
        if reading is None and ch == "为":
            reading = _zh_wei(text, i)
        elif reading is None and ch == "只":
            reading = _zh_zhi(text, i)
        elif reading is None and ch in _ZH_STANDARD_ONLY:
            reading = zh_reading(ch)
        said.append(reading if reading is not None and ch not in _SANDHI and
                     reading != _voice_reading(ch) else None)
    if "一" in text or "不" in text:
        for i, ch in enumerate(text):
            if ch in _SANDHI:
                said[i] = _zh_sandhi(text, i, said)
    return "".join(ch if r is None else f" {protect_spoken(r)} " for ch, r in zip(text, said,
                                                                                 strict=True))


# 下调 / 上调 (a rate lowered, raised) is tiáo, also where the word list takes 一下 before it
# across a number (由0.1%下调至: 百分之零点一下调, said diào); a verb said twice with 一 or 了
# between (数一数, 数了数: count) is shǔ, not shù (speakable/27).
_ZH_TIAO = re.compile("(?<=[上下])调")
_ZH_COUNT_TWICE = re.compile("数(?=[一了]数)|(?<=数[一了])数")


def _zh_round_twentyfour_readings(text: str, readings: list[str | None]) -> None:
    for m in _ZH_TIAO.finditer(text):
        readings[m.start()] = "tiao2"
    for m in _ZH_COUNT_TWICE.finditer(text):
        readings[m.start()] = "shu3"


def _zh_cjk(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        if ch in ESPEAK_CMN_NEUTRAL and not _zh_said_neutral_here(text, i):
            out.append(f" {protect_spoken(zh_reading(ch) or '')} ")
        elif _beyond_voice(ch):
            reading = zh_reading(ch)
            out.append(f" {protect_spoken(reading)} " if reading else "")
        else:
            out.append(ch)
    return "".join(out)


def _subst(pattern: re.Pattern, text: str, fn) -> str:
    """``pattern.sub`` whose replacement sees the whole text (for the words around a match)."""
    return pattern.sub(lambda m: fn(text, m), text)


# The hash key of a phone keypad: 按#号键 / 按#键 -> 井号键.
_ZH_HASH_KEY = re.compile(r"#\s*(?:号\s*)?(?=键)|#(?=号)")
# A tilde before a number with no number just before it is "about" (规模~3亿元 约三亿元);
# 3~5 and 1月~3月 stay ranges (到).
# (A space before the tilde keeps the range: CNY 500,000 ~ 1,000,000 was 五十万元 约一百万.)
_ZH_APPROX = re.compile(r"(?<!\d)(?<!\d[^\d\s])(?<!\d[^\d\s]{2})(?<!\d\s)(?<!\d[^\d\s]\s)"
                        r"(?<!\d[^\d\s]{2}\s)~\s*(?=\d)")
# Stock-code prefixes are digits (以688开头 以六八八开头; 688、689开头), never cardinals.
_ZH_CODE_PREFIX = re.compile(r"(?<![\d.])\d{2,6}(?:\s*[、，,/或和及]\s*\d{2,6})*"
                             r"(?=\s*(?:开头|打头|起头))")
# 7x24h, 7*24小时 (round the clock): 七乘二十四小时, the '×' said and the h a unit.
_ZH_ROUND_THE_CLOCK = re.compile(r"(?<![\d.])(?P<d>\d)\s*[xX*×]\s*24\s*"
                                 r"(?:(?P<h>[hH])(?![A-Za-z])|(?=小时))")
# Zero decimals of a number of units or shares (1,000,000.00份: 一百万份), as of an amount.
_ZH_ZERO_DECIMALS = re.compile(r"(?<![\d.,])(?P<n>\d+(?:,\d{3})*)\.0+(?=\s*[份股手])")
# The letter G is jī in Mandarin (5G 五G, G股); espeak-ng's Mandarin voice says zhì.
_ZH_LETTER_G = re.compile(r"(?<![A-Za-z])[Gg](?![A-Za-z])")
_PROTECTED_JI = " " + protect_spoken("ji1") + " "


# A questionnaire option marker, a single Latin letter and a dot glued to Chinese (A.高中 B.大专,
# a.是 b.否; ． is folded to . before) or opening a clause before a number (：A.100万以下): the
# letter and a pause (A，高中). espeak-ng's Mandarin voice said the English word "space" twice for
# the dot before a CJK character (since speakable/20). A letter after a letter, digit or dot
# (U.S., e.g., 1.A) and a section number after Chinese (附件A.1) are left alone.
_ZH_OPTION_LETTER = re.compile(
    r"(?<![A-Za-z0-9_.\-])(?P<l>[A-Za-z])\.\s*(?=[\u3400-\u4dbf\u4e00-\u9fff])"
    r"|(?:(?<=\A)|(?<=[\s：:，,；;。！？!?（(]))(?P<c>[A-Za-z])\.(?=\s*\d)")


def _zh_option_letter(m: re.Match) -> str:
    return f"{m.group('l') or m.group('c')}，"


# A numbered option opening the text or a clause and glued to Chinese (1.党政机关 2.事业单位):
# the number and a pause (1，党政机关), not 一党政机关 (since speakable/21).
_ZH_OPTION_NUMBER = re.compile(r"(?:(?<=\A)|(?<=[\s：:；;，,]))(?P<n>[1-9]\d?)\."
                               r"(?=[\u4e00-\u9fff])")


# The check's quiet cases (since speakable/21): digits after a word for a password
# (请勿使用123456等简单密码, "a password such as 123456": read digit by digit, as they should
# be); a form's box or tick at an option's start (□是 □否, √ 我已阅读并同意), which the voice
# drops silently, as a reader skips it (a box the text speaks of, 请在□内打√, is still
# warned); and digit words 零 … 九 on each side of a hyphen. Since speakable/21 the voice
# is given such a box or tick removed.
_PASSWORD = re.compile(r"密码|口令|[Pp]ass(?:word|code)|PIN")


def _password_near(text: str, a: int, b: int) -> bool:
    """Whether a word for a password stands within 24 characters of ``text[a:b]`` in its
    sentence."""
    before = re.split(r"[。！？!?]|\.\s", text[max(0, a - 24):a])[-1]
    after = re.split(r"[。！？!?]|\.(?:\s|\Z)", text[b:b + 24])[0]
    return bool(_PASSWORD.search(before) or _PASSWORD.search(after))
_CHECK_MARKS = frozenset("□☐☑☒✓✔√")
_CHECK_MARKER = re.compile(r"(?:(?<=\A)|(?<=[\s:：;；,，(（？?！!。]))[□☐☑☒✓✔√]\s*"
                           # before a number too (□10万元以下; since speakable/29)
                           r"(?=[\u4e00-\u9fffA-Za-z0-9])")
_ZH_DIGIT_WORDS = frozenset("零〇一二三四五六七八九幺")


def _zh_speakable(text: str) -> str:
    if "." in text:
        text = _ZH_OPTION_LETTER.sub(_zh_option_letter, text)
        text = _ZH_OPTION_NUMBER.sub(lambda m: f"{m.group('n')}，", text)
    text = _zh_round_fourteen(text)
    text = _zh_round_eleven(_zh_round_twelve(_zh_round_thirteen(text)))
    if "#" in text:
        text = _ZH_HASH_KEY.sub("井号", text)
    if "~" in text:
        text = _ZH_APPROX.sub("约", text)
    text = _zh_round_seven(text)
    text = _ZH_CODE_PREFIX.sub(lambda m: re.sub(r"\d+", lambda d: spell_digits(d.group(0), "zh"),
                                                m.group(0)), text)
    text = _ZH_ZERO_DECIMALS.sub(r"\g<n>", text)
    text = _STANDARD.sub(lambda m: _standard(m, "zh"), text)
    text = _zh_titled_names(_zh_greeting_names(_zh_by_names(_zh_names(text))))
    text = _zh_name_char_names(text)
    text = _ZH_ROMAN.sub(lambda m: zh_cardinal(str(_ROMAN_VALUES[m.group("r")])), text)
    if "@" in text or "." in text:
        text = _EMAIL.sub(lambda m: _address(m, "zh"), text)
    text = _YEAR_PART.sub(lambda m: _year_part(m, True), text)
    text = _FISCAL_YEAR.sub(lambda m: _fiscal_year(m, True), text)
    text = _COUNTRY_CODE.sub(lambda m: _country_code(m, "zh"), text)
    text = _STAR_ST.sub("星", text)
    text = _T_MINUS.sub("T减", text)
    if "**" in text:
        text = _MASKED.sub(lambda m: _masked(m, "zh"), text)
    text = _MULTIPLE_RANGE.sub(r"\g<a>到\g<b>倍", text)
    text = _MULTIPLE.sub(r"\g<n>倍", text)
    text = _subst(_SMALL_MULTIPLE, text, lambda t, m: _small_multiple(t, m, True))
    text = _TENOR.sub(lambda m: _tenor(m, True), text)
    if "O/N" in text:
        text = _OVERNIGHT.sub("隔夜", text)
    text = _P_RATIO.sub(r" P \g<r> ", text)
    text = _LEVEL_RANGE.sub(lambda m: _level_range(m, "zh"), text)
    text = _LEVEL_SIGNED.sub(lambda m: _level_signed(m, "zh"), text)
    text = _CODE.sub(lambda m: _code(m, "zh"), text)
    text = _DATA_UNIT.sub(lambda m: _data_unit(m, True), text)
    if "/" in text:
        text = _CURRENCY_PAIR.sub(lambda m: _currency_pair(m, True), text)
    if "24" in text:
        text = _ZH_ROUND_THE_CLOCK.sub(lambda m: zh_cardinal(m.group("d")) + "乘二十四"
                                         + ("小时" if m.group("h") else ""), text)
    text = _MEASURE_UNIT.sub(lambda m: _measure_unit(m, True), text)
    text = _ZH_MEGA_LINE.sub(lambda m: _zh_number(m.group("n")) + "兆", text)
    text = _RESOLUTION.sub(lambda m: _resolution(m, True), text)
    text = _DMY_DATE.sub(_zh_dmy_date, text)
    text = _ZH_VERSION.sub(lambda m: "点".join(zh_cardinal(str(int(p)))
                                              for p in m.group(0).split(".")), text)
    text = _YEAR_MONTH_RANGE.sub(_zh_year_month_range, text)
    text = _ZH_YEAR_RUN.sub(_zh_year_run, text)
    text = _ZH_YEAR_AFTER_YEAR.sub(lambda m: m.group("sep").replace("~", "到")
                                   + "".join(YEAR_DIGITS[c] for c in m.group("y")), text)
    text = _ZH_YEAR_OF.sub(lambda m: "".join(YEAR_DIGITS[c] for c in m.group(0)), text)
    text = _ZH_DATE.sub(lambda m: _zh_date(m) if m.group("mo2") is None else _zh_date_iso(m),
                        text)
    text = _subst(_ZH_MONTH_DAY, text, _zh_month_day)
    if "." in text:
        text = _subst(_ZH_DOTTED_MONTH_DAY, text, _zh_dotted_month_day)
    text = _subst(_COLON_NUMBERS, text, _zh_colon)
    text = _ZH_TIME_RANGE.sub(r"\1到", text)
    text = _ZH_CUED.sub(lambda m: _cued_digits(m, "zh"), text)
    text = _GROUPED_DIGITS.sub(lambda m: spell_digits(m.group(0), "zh"), text)
    text = _ID_TAIL.sub(lambda m: spell_digits(m.group(0), "zh"), text)
    text = _LEADING_ZERO.sub(lambda m: spell_digits(m.group(0), "zh"), text)
    text = _zh_long_digits(text)
    text = _ZH_ROOM.sub(lambda m: spell_digits(m.group(0), "zh"), text)
    text = _subst(_MONEY_RANGE, text, _zh_money_range)
    text = _subst(_MONEY_PREFIX, text, _zh_money)
    text = _ZH_MONEY_AFTER.sub(lambda m: m.group("n") + _ZH_CURRENCY_AFTER[m.group("cur")],
                               text)
    text = _ZH_MONEY_DECIMALS.sub(lambda m: _trim_decimals(m.group("n")), text)
    text = _RANGE.sub(_zh_range, text)
    text = _ZH_PER_AFTER_AMOUNT.sub("每", text)
    if "万" in text:
        text = _ZH_WAN_RATE.sub("万分之", text)
    text = _ZH_PERCENT.sub(_zh_percent, text)
    text = _ZH_LONE_PERCENT.sub(lambda m: "百分比" if m.group(0) == "%" else "千分比", text)
    text = _FRACTION.sub(lambda m: f"{m.group(2)}分之{m.group(1)}", text)
    text = _PLUS_BETWEEN.sub("加", text)
    text = _SIGNED.sub(_zh_signed, text)
    text = _ZH_LIANG.sub("两", text)
    text = _NUMBER.sub(lambda m: _zh_number(m.group(0)), text)
    if "先生" in text or "女士" in text or "小姐" in text:
        text = _ZH_CAPS_BEFORE_MR.sub(lambda m: m.group(0) if m.group(0) in KNOWN_ACRONYMS
                                      else m.group(0).capitalize(), text)
    text = _acronyms(text, zh=True)
    text = _ZH_PER_UNIT.sub("每", text)
    if "=" in text:
        text = re.sub(r"\s*=\s*", "=", text)
    text = _ZH_SYMBOL.sub(lambda m: _ZH_SYMBOLS[m.group(0)], text)
    text = _zh_polyphones(text)
    if "账款" in text:  # espeak-ng's entry says 账款 with an extra syllable: zhàng kuán kuǎn
        text = text.replace("账款", f"账 {protect_spoken('kuan3')} ")
    text = text.replace("+", "加")
    # NFKC made "，" an ASCII ",", after which espeak's Mandarin voice makes no pause (measured:
    # "您好,欢迎" runs on, "您好，欢迎" pauses 140 ms): give the pauses back their full width.
    text = _ZH_PAUSE.sub(lambda m: _ZH_PAUSES[m.group(1) or m.group(2)], _zh_cjk(text))
    if "G" in text or "g" in text:
        text = _ZH_LETTER_G.sub(_PROTECTED_JI, text)
    return re.sub(r"\s+([，；：！？。])", r"\1", text)


_ZH_PAUSES = {",": "，", ";": "；", ":": "：", "!": "！", "?": "？"}
_ZH_PAUSE = re.compile(r"(?<![0-9A-Za-z])([,;:!?])\s*|(?<=[A-Za-z])(;)\s*")


def _zh_date_iso(m: re.Match) -> str:
    y, mo, d = m.group("y"), int(m.group("mo2")), int(m.group("d2"))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return m.group(0)
    return ("".join(YEAR_DIGITS[c] for c in y) + "年" + zh_cardinal(str(mo)) + "月"
            + zh_cardinal(str(d)) + "日")


# --------------------------------------------------------------------------- English

_EN_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
# (-30%~-50%: "minus 30% to minus 50%"; the sign of the second number is kept for _SIGNED.)
_EN_RANGE = re.compile(rf"(?<!\d)(?P<a>{_NUM})\s*(?P<ua>[%‰‱]?)\s*(?:-|~(?P<bs>\s*[-\u2212+]?))"
                       rf"\s*(?P<b>{_NUM})")
# am / pm after a clock time: 3:00 pm, 3:00PM, 3:00 p.m.
_AM_PM = r"(?P<ampm>[AaPp])(?:\.\s?[Mm]\.?|\s?[Mm])(?![A-Za-z])"
_EN_CLOCK = re.compile(rf"{_COLON_NUMBERS.pattern}(?:\s*{_AM_PM})?")
# Two clock times joined by a dash (9:30-11:30, 9:00 am-5:00 pm): a range, "to".
_EN_TIME_RANGE = re.compile(r"(\d:\d\d(?:\s*[AaPp]\.?\s?[Mm]\.?)?)\s*[-~]\s*"
                            r"(?=(?:(?:the\s+)?next\s+day,?\s+)?\d{1,2}:\d\d)")
# A time of the 24-hour clock (13:00-23:59, or an hour written with a leading zero: 08:00): a
# text that writes one says every time without am / pm on it, so each is said on the 12-hour
# clock with "a m" / "p m" ("8:00 to 20:00": eight a m to eight p m; 12:00 twelve noon), as an
# English broker says them. In a text with no such time, 8:00 stays "eight o'clock".
_EN_24_HOUR = re.compile(r"(?<![\d:.])(?:0\d|1[3-9]|2[0-3]):[0-5]\d(?!\d)")
_EN_SCALE = (r"(?:\s*(?P<scale>thousand|million|billion|trillion)\b|"
             r"(?P<abbr>mn|bn|trn|tn|[kKmMbB])\b)")
_EN_MONEY = re.compile(rf"(?P<cur>{_CUR_SIGNS}|(?<![A-Za-z0-9_])(?:{_CUR_CODES})"
                       rf"(?=\s*[-\u2212]?\d))\s*(?P<sign>[-\u2212])?(?P<n>{_NUM})"
                       rf"(?P<mult>[万亿]?){_EN_SCALE}?")
# In English the range may be joined by "through" / "thru", or by "and" after "between", and
# its first amount may have its own scale (RMB 1 million to 5 million; $1m-$5m): the currency
# is said once, after the second amount ("1 million to 5 million yuan").
_EN_MONEY_RANGE = re.compile(
    rf"(?P<cur>{_CUR_SIGNS}|(?<![A-Za-z0-9_])(?:{_CUR_CODES})(?=\s*\d))"
    rf"\s*(?P<a>{_NUM})(?P<ma>[万亿]?)"
    r"(?:\s*(?P<sa>thousand|million|billion|trillion)\b|(?P<saa>mn|bn|[kKmMbB])\b)?\s*"
    r"(?P<sep>[-~]|至|到|(?<![A-Za-z])(?:to|through|thru|and)(?![A-Za-z]))\s*(?:(?P=cur)\s*)?"
    rf"(?P<b>{_NUM})(?![\d%‰‱])(?P<mb>[万亿]?){_EN_SCALE}?")
_EN_BETWEEN = re.compile(r"\bbetween\s*\Z", re.IGNORECASE)
_EN_MONEY_AFTER = re.compile(rf"(?<![\d.,])(?P<n>{_NUM})\s*(?P<mult>[万亿]?)\s*"
                             rf"(?P<cur>元|人民币|块钱?|(?:{_CUR_CODES}|yuan|dollars?)\b)")
# The currency's name (singular), and its hundredth (singular, plural) where it has one.
_EN_CURRENCY = {"¥": "yuan", "RMB": "yuan", "CNY": "yuan", "元": "yuan", "人民币": "yuan",
                "块": "yuan", "块钱": "yuan", "yuan": "yuan", "$": "dollar", "dollar": "dollar",
                "dollars": "dollar", "US$": "US dollar", "USD": "US dollar",
                "S$": "Singapore dollar", "A$": "Australian dollar", "C$": "Canadian dollar",
                "NZ$": "New Zealand dollar", "NT$": "New Taiwan dollar", "MOP$": "pataca",
                "HK$": "Hong Kong dollar", "HKD": "Hong Kong dollar", "€": "euro", "EUR": "euro",
                "£": "pound", "GBP": "pound", "JPY": "yen", "AUD": "Australian dollar",
                "CAD": "Canadian dollar", "SGD": "Singapore dollar", "CHF": "Swiss franc",
                "NZD": "New Zealand dollar", "MOP": "pataca", "TWD": "New Taiwan dollar",
                "KRW": "won"}
_EN_SUBUNIT = {"dollar": ("cent", "cents"), "euro": ("cent", "cents"), "pound": ("penny", "pence")}
_EN_SCALES_ABBR = {"k": "thousand", "m": "million", "mn": "million", "b": "billion",
                   "bn": "billion", "tn": "trillion", "trn": "trillion"}
_EN_CN_MULT = re.compile(rf"(?<!\d)(?P<n>{_NUM})\s*(?P<mult>[万亿])")
_EN_SYMBOLS = {"&": " and ", "@": " at ", "=": " equals ", "~": " about ", "‰": " per mille",
               "‱": " per ten thousand", "≥": " at least ", "≤": " at most ",
               ">": " greater than ", "<": " less than ", "≠": " not equal to ",
               "°C": " degrees Celsius", "°": " degrees", "#": " number ", "\u00b7": " ",
               "*": " ", "^": " ", "|": " ", "_": " ", "\\": " ", "×": " times ",
               "÷": " divided by ", "/": " or ", "\u2212": " minus ", "≈": " about "}
_EN_SYMBOL = re.compile("°C|[&@=~≈‰‱≥≤<>≠°#*^|_\\\\\u00b7×÷/\u2212]")
# A date with a year (12/31/2024, US order; 31/12/2024 when the first number is no month).
_EN_SLASH_DATE = re.compile(r"(?<![\d/.])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")
# a/b with no year: a fraction with a small denominator (3/4 "three quarters", 1/2 "one
# half"); 24/7 "twenty four seven"; else a month/day (12/31 "December 31") or "a over b".
_EN_FRACTION = re.compile(r"(?<![\d/.])(\d{1,3})/(\d{1,3})(?![\d/]|\.\d)")
_EN_DENOMINATORS = {2: ("half", "halves"), 3: ("third", "thirds"), 4: ("quarter", "quarters"),
                    5: ("fifth", "fifths"), 6: ("sixth", "sixths"), 7: ("seventh", "sevenths"),
                    8: ("eighth", "eighths"), 9: ("ninth", "ninths"), 10: ("tenth", "tenths"),
                    100: ("hundredth", "hundredths")}
# '/' after a unit or currency is "per" (1.5 yuan/trade, 10 shares/day); between other words
# it is "or" (and/or, A/B).
# ... and after a percentage or an amount before one (6.8%/year, 5/trade): "per".
_EN_PER_AFTER_AMOUNT = re.compile(r"(?<=[\d%‰‱])\s*/\s*(?=(?:year|annum|month|week|day|trade|"
                                  r"transaction|share|lot|order)s?\b)", re.IGNORECASE)
_EN_AND_OR = re.compile(r"\b(and|or)\s*/\s*(?=or\b|and\b)", re.IGNORECASE)
_EN_PER = re.compile(r"\b(?P<u>yuan|dollars?|cents?|euros?|pounds?|pence|shares?|lots?|"
                     r"points?|times|RMB|km|kg)\s*/\s*(?=[A-Za-z])", re.IGNORECASE)


# A date written in Chinese in an English prompt (2024年1月1日, 2024年3月, 6月30日): an English
# date, "January 1, 2024", "March 2024", "June 30".
_EN_ZH_DATE = re.compile(r"(?<!\d)(?:(?P<y>\d{4})\s*年(?:\s*(?P<mo>\d{1,2})\s*月"
                         r"(?:\s*(?P<d>\d{1,2})\s*[日号])?)?"
                         r"|(?P<mo2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*[日号])")


def _en_zh_date(m: re.Match) -> str:
    y, mo, d = m.group("y"), m.group("mo") or m.group("mo2"), m.group("d") or m.group("d2")
    if (mo and not 1 <= int(mo) <= 12) or (d and not 1 <= int(d) <= 31):
        return m.group(0)
    if mo is None:
        return f" {y} "
    month = EN_MONTHS[int(mo) - 1]
    if d is None:
        return f" {month} {y} "
    return f" {month} {int(d)}, {y} " if y else f" {month} {int(d)} "


def _en_slash_date(m: re.Match) -> str:
    a, b, y = int(m.group(1)), int(m.group(2)), m.group(3)
    mo, d = (a, b) if a <= 12 else (b, a)
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return m.group(0)
    return f"{EN_MONTHS[mo - 1]} {d}, {y}"


def _en_fraction(m: re.Match) -> str:
    a, b = int(m.group(1)), int(m.group(2))
    if (a, b) == (24, 7):
        return "twenty four seven"
    if b in _EN_DENOMINATORS and 0 < a < b:
        return f"{en_number_words(str(a))} {_EN_DENOMINATORS[b][a != 1]}"
    if 1 <= a <= 12 and 1 <= b <= 31:
        return f"{EN_MONTHS[a - 1]} {b}"
    return f"{a} over {b}"


def _en_date(m: re.Match) -> str:
    y, mo, d = m.group(1), int(m.group(2)), int(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return m.group(0)
    return f"{EN_MONTHS[mo - 1]} {d}, {y}"


# After "9:30 a.m." the dot ends the sentence too when the text ends there or a word that opens
# a sentence follows ("… a.m. Some products …"; since speakable/19), not before a place or a
# time zone ("5:00 p.m. Beijing time").
_EN_SENTENCE_AFTER = re.compile(r"\s*\Z|\s+(?:The|This|That|These|Those|Some|All|Any|Please|"
                                r"You|Your|We|Our|It|Its|If|When|After|Before|Orders?|Each|"
                                r"Every|No|Note|Thank|Thanks|Trading|Applications?|Clients?)\b|"
                                # a capitalised noun and a verb: a new sentence (3:30 p.m.
                                # Commission is ...; since speakable/28)
                                r"\s+[A-Z][a-z]+\s+(?:is|are|was|were|will|must|"
                                r"may|can|has|have|applies|apply|starts?|runs?|ends?|opens?|"
                                r"closes?)\b")


def _en_clock(text: str, m: re.Match) -> str:
    """A clock time in words (9:05 -> "nine oh five", 3:00 pm -> "three p m", 15:30 ->
    "three thirty p m"), or a ratio ("ratio 1:10" -> "1 to 10"; 1:5 -> "1 to 5")."""
    ampm = m.group("ampm")
    if ampm is None and _is_ratio(text, m, _EN_RATIO_BEFORE, _EN_RATIO_AFTER):
        return " to ".join(g for g in m.group("a", "b", "c") if g is not None)
    clock = _clock(m)
    if clock is None:  # 1:5 pm: not a time; leave it
        return m.group(0)
    h, mi, s = clock
    if h == 24 or h == 0 and mi == 0 and not s and ampm is None and \
            not re.match(r"\s*(?:[-–—~～至]|to\b)", text[m.end():]):
        return "midnight"  # the end of the day; 00:00 too (it was "twelve AM", which readers
        # take for noon as often as not; since speakable/21), but not where it starts a range
        # (00:00-24:00 "twelve AM to midnight")
    half = ampm.lower() if ampm else None
    if half is None and h == 12 and mi == 0 and not s and _EN_24_HOUR.search(text):
        return "twelve noon"
    if half is None and h > 12:
        h, half = h - 12, "p"
    elif half is None and h == 0:
        h, half = 12, "a"
    elif h == 0:
        h = 12
    elif half is None and _EN_24_HOUR.search(text):
        half = "p" if h == 12 else "a"
    words = en_number_words(str(h))
    if mi == 0:
        words += "" if half else " o'clock"
    else:
        words += (" oh " if mi < 10 else " ") + en_number_words(str(mi))
    if s:
        words += " and " + en_number_words(str(s)) + (" second" if s == 1 else " seconds")
    stop = "." if m.group(0).endswith(".") and _EN_SENTENCE_AFTER.match(text, m.end()) else ""
    return words + (" " + protect_spoken(f"{half.upper()}M") + stop if half else "")


def _en_scaled(n: str, mult: str) -> str:
    value = float(n.replace(",", "")) * (10_000 if mult == "万" else 100_000_000 if mult else 1)
    return f"{value:.0f}" if value.is_integer() else f"{value:g}"


def _en_amount(n: str, unit: str, scale: str = "") -> str:
    """An amount of a currency in words espeak-ng reads right: "$12.30" -> "12 dollars and 30
    cents", "$0.50" -> "50 cents", "$1.5 million" -> "1.5 million dollars", "¥100.00" -> "100
    yuan" (yuan are said with a decimal point: 1234.5 yuan)."""
    n = n.replace(",", "")
    plural = unit if unit in ("yuan", "yen", "won") else unit + "s"
    if scale:
        return f"{_trim_decimals(n)} {scale} {plural}"
    whole, _, frac = n.partition(".")
    sub = _EN_SUBUNIT.get(unit.split()[-1])
    if frac and sub and len(frac) <= 2:
        w, cents = int(whole), int((frac + "0")[:2])
        head = f"{w} {unit if w == 1 else plural}"
        tail = f"{cents} {sub[0] if cents == 1 else sub[1]}"
        return head if not cents else tail if not w else f"{head} and {tail}"
    value = _trim_decimals(n)
    return f"{value} {unit if value == '1' else plural}"


def _en_money(m: re.Match) -> str:
    n, mult = m.group("n"), m.group("mult") or ""
    if mult:
        n = _en_scaled(n, mult)
    abbr = m.groupdict().get("abbr")
    scale = m.groupdict().get("scale") or (_EN_SCALES_ABBR[abbr.lower()] if abbr else "")
    sign = "minus " if m.groupdict().get("sign") else ""
    return sign + _en_amount(n, _EN_CURRENCY[m.group("cur")], scale.lower())


def _en_long_digits(text: str) -> str:
    def sub(m: re.Match) -> str:
        if _quantity_follows(text, m.end(), _EN_UNITS) or \
                _quantity_named(text, m.start(), False):
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


# A chain of comparisons round a variable (1 million ≤ M < 5 million, 5 > Y ≥ 2): "1 million
# is less than or equal to M, which is less than 5 million".
_EN_COMPARE_CHAIN = re.compile(r"\s*(?P<a>[<>≤≥])\s*(?P<v>[A-Za-z]{1,3})\s*(?P<b>[<>≤≥])\s*")
_EN_COMPARE_WORDS = {"<": "less than", ">": "greater than", "≤": "less than or equal to",
                     "≥": "greater than or equal to"}


def _en_compare_chain(m: re.Match) -> str:
    return (f" is {_EN_COMPARE_WORDS[m.group('a')]} {m.group('v')}, which is "
            f"{_EN_COMPARE_WORDS[m.group('b')]} ")


# The hash key of a keypad: "Press #" is "Press the hash key", "the # key" "the hash key" (a
# "#" elsewhere, #3, is "number").
_EN_HASH_KEY = re.compile(r"#\s*(?=key\b)")
_EN_PRESS_HASH = re.compile(r"(?<=\b[Pp]ress )#|(?<=\b[Hh]it )#|(?<=\b[Tt]ap )#")
_EN_CODE_PREFIX = re.compile(r"\b(?P<w>(?:start|begin)(?:s|ning)?\s+with|starting\s+with|"
                             r"prefix(?:ed)?(?:\s+with)?)\s+(?P<n>\d{2,6}(?:(?:,\s*(?:or\s+|and\s+)?|\s+(?:or|and)\s+)"
                             r"\d{2,6}(?!\d|\.\d|\s*%))*)\b(?!\.\d)", re.IGNORECASE)
# Every item of a list of code prefixes (start with 600, 601, 603 or 605) is a prefix, digit by
# digit like the first (the others were said as quantities; since speakable/30).
_EN_PREFIX_ITEM = re.compile(r"\d+")


# Round fourteen (speakable/18), the smaller classes: a weekday range with a hyphen (周一-周五
# 周一至周五), a floor of a building (写字楼2层 二层, not 两层 "two storeys"), an order number
# after No. in Mandarin (No.20250315001: its digits, not a cardinal of hundreds of millions),
# small letters glued to digits (htzq95597: h t z q 九五五九七); in English 1MM (a million, not
# a millimetre), 30s after in / within / after / every (seconds; the 1990s, her 30s stay).
_PLUS_MINUS = re.compile(r"\+\s?/\s?-\s*(?=\d)")
_ZH_WEEKDAY_RANGE = re.compile(r"(?P<a>(?:周|星期)[一二三四五六日天])\s*[-~]\s*"
                               r"(?=(?:周|星期)[一二三四五六日天])")
_ZH_FLOOR = re.compile(r"(?<=[楼厦座栋幢馆场心])\s*2\s*层(?!楼)")
_ZH_NO_DIGITS = re.compile(r"(?<![A-Za-z])No\.\s*(?P<d>\d{5,})(?![\d.])")
_ZH_LETTERS_DIGITS = re.compile(r"(?<![A-Za-z0-9_.@\-])(?P<l>[a-z]{2,8})(?P<d>\d{3,})"
                                r"(?![A-Za-z0-9_@]|\.\w)")
_EN_MILLION_MM = re.compile(r"(?<![A-Za-z0-9.,])(?P<n>\d+(?:\.\d+)?)\s?MM\b")
_EN_SECONDS = re.compile(r"\b(?P<w>in|within|after|every|for|than|of|about)\s+"
                         r"(?P<n>\d{1,3})s\b")


_ZH_LATIN_NAME_BEFORE_MR = re.compile(r"(?<![A-Za-z])(?P<n>[A-Za-z][A-Za-z'’\-]*"
                                      r"(?: [A-Za-z][A-Za-z'’\-]*)+)(?=\s*(?:先生|女士|小姐))")
# 将 after a word it would make a noun with (强将, 大将: jiàng, a general) but before the verb
# or preposition it marks the future of (张强将为您办理): jiāng.
_ASCII_LOWER = re.compile("[a-z][0-9]")
_ZH_FUTURE_AFTER_JIANG = frozenset("为在于会要把对向与给以进继提带及陆")


def _zh_latin_name_before_mr(m: re.Match) -> str:
    words = m.group("n").split()
    if not any(len(w) > 1 and w.isupper() and w not in KNOWN_ACRONYMS for w in words):
        return m.group(0)
    return " " + protect_spoken(_zh_latin_name(m.group("n"))) + " "


def _zh_round_fourteen(text: str) -> str:
    if "先生" in text or "女士" in text or "小姐" in text:
        text = _ZH_LATIN_NAME_BEFORE_MR.sub(_zh_latin_name_before_mr, text)
    if "周" in text or "星期" in text:
        text = _ZH_WEEKDAY_RANGE.sub(r"\g<a>至", text)
    if "层" in text:
        text = _ZH_FLOOR.sub("二层", text)
    if "No." in text:
        text = _ZH_NO_DIGITS.sub(lambda m: " " + spell_digits(m.group("d"), "zh"), text)
    if not _ASCII_LOWER.search(text):
        return text
    return _ZH_LETTERS_DIGITS.sub(lambda m: " " + " ".join(m.group("l").upper())
                                  + " " + spell_digits(m.group("d"), "zh"), text)


def _en_round_fourteen(text: str) -> str:
    if "MM" in text:
        text = _EN_MILLION_MM.sub(r"\g<n> million", text)
    return _EN_SECONDS.sub(lambda m: f"{m.group('w')} {m.group('n')} "
                           + ("second" if m.group("n") == "1" else "seconds"), text)


def _en_speakable(text: str) -> str:
    text = _en_round_fourteen(text)
    text = _en_round_seven(_en_round_twelve(_en_round_thirteen(text)))
    if "#" in text:
        text = _EN_PRESS_HASH.sub("the hash key", _EN_HASH_KEY.sub("hash ", text))
    text = _EN_CODE_PREFIX.sub(lambda m: f"{m.group('w')} " + _EN_PREFIX_ITEM.sub(
        lambda d: spell_digits(d.group(0), "en"), m.group("n")), text)
    text = _STANDARD.sub(lambda m: _standard(m, "en"), text)
    text = _en_abbreviations(text)
    text = _PERCENT_DECIMALS.sub(lambda m: _trim_decimals(m.group(0)), text)
    text = _EN_ROMAN.sub(lambda m: m.group("w") + " "
                         + en_number_words(str(_ROMAN_VALUES[m.group("r")])), text)
    if "@" in text or "." in text:
        text = _EMAIL.sub(lambda m: _address(m, "en"), text)
    text = _EN_ROOM.sub(lambda m: _EN_ROOM_WORDS.get(m.group("w"), m.group("w")) + " "
                        + _en_house_number(m.group("n")), text)
    text = _EN_STREET.sub(lambda m: _en_house_number(m.group("n")), text)
    if "/F" in text:
        text = _EN_FLOOR.sub(lambda m: _en_ordinal(m.group("n")) + " floor", text)
    text = _EN_ORDINAL.sub(lambda m: en_ordinal_words(m.group("n")), text)
    text = _YEAR_PART.sub(lambda m: _year_part(m, False), text)
    text = _FISCAL_YEAR.sub(lambda m: _fiscal_year(m, False), text)
    text = _COUNTRY_CODE.sub(lambda m: _country_code(m, "en"), text)
    text = _STAR_ST.sub("star ", text)
    text = _T_MINUS.sub("T minus ", text)
    if "**" in text:
        text = _MASKED.sub(lambda m: _masked(m, "en"), text)
    text = _MULTIPLE_RANGE.sub(r"\g<a> to \g<b> times", text)
    text = _MULTIPLE.sub(r"\g<n> times", text)
    text = _WHOLE_MULTIPLE.sub(r"\g<n> times", text)
    text = _subst(_SMALL_MULTIPLE, text, lambda t, m: _small_multiple(t, m, False))
    text = _TENOR.sub(lambda m: _tenor(m, False), text)
    if "O/N" in text:
        text = _OVERNIGHT.sub("overnight", text)
    text = _P_RATIO.sub(r"P \g<r>", text)
    text = _LEVEL_RANGE.sub(lambda m: _level_range(m, "en"), text)
    text = _LEVEL_SIGNED.sub(lambda m: _level_signed(m, "en"), text)
    text = _CODE.sub(lambda m: _code(m, "en"), text)
    text = _DATA_UNIT.sub(lambda m: _data_unit(m, False), text)
    if "/" in text:
        text = _CURRENCY_PAIR.sub(lambda m: _currency_pair(m, False), text)
    text = _MEASURE_UNIT.sub(lambda m: _measure_unit(m, False), text)
    text = _RESOLUTION.sub(lambda m: _resolution(m, False), text)
    text = _YEAR_MONTH_RANGE.sub(_en_year_month_range, text)
    text = _EN_ISO_DATE.sub(_en_date, text)
    text = _EN_SLASH_DATE.sub(_en_slash_date, text)
    text = _DMY_DATE.sub(_en_dmy_date, text)
    if "/" in text:
        text = _subst(_EN_MONTH_DAY, text, _en_month_day)
    if "年" in text or "月" in text:
        text = _EN_ZH_DATE.sub(_en_zh_date, text)
    text = _EN_TIME_RANGE.sub(r"\1 to ", text)
    text = _subst(_EN_CLOCK, text, _en_clock)
    text = _subst(_EN_CUED, text, _en_cued_digits)
    text = _GROUPED_DIGITS.sub(lambda m: spell_digits(m.group(0), "en"), text)
    text = _ID_TAIL.sub(lambda m: spell_digits(m.group(0), "en"), text)
    text = _LEADING_ZERO.sub(lambda m: spell_digits(m.group(0), "en"), text)
    text = _subst(_EN_MONEY_RANGE, text, _en_money_range)
    text = _EN_MONEY.sub(_en_money, text)
    text = _EN_THOUSAND_K.sub(r"\g<n> thousand", text)
    text = _EN_MONEY_AFTER.sub(_en_money, text)
    text = _EN_CN_MULT.sub(lambda m: _en_grouped(_en_scaled(m.group("n"), m.group("mult"))),
                           text)
    text = _en_long_digits(text)
    text = _EN_RANGE.sub(lambda m: f"{m.group('a')}{m.group('ua')} to "
                         f"{(m.group('bs') or '').strip()}{m.group('b')}", text)
    text = _SIGNED.sub(lambda m: {"-": "minus ", "\u2212": "minus ", "+": "plus ",
                                  "±": "plus or minus "}[m.group("sign")] + m.group("n"), text)
    if "/" in text:
        text = _EN_PER_AFTER_AMOUNT.sub(" per ", text)
    text = _EN_FRACTION.sub(_en_fraction, text)
    text = _en_letter_a(_acronyms(text, zh=False))
    if "/" in text:
        text = _EN_PER.sub(r"\g<u> per ", text)
        text = _EN_AND_OR.sub(r"\1 ", text)
    if "<" in text or ">" in text or "≤" in text or "≥" in text:
        text = _EN_COMPARE_CHAIN.sub(_en_compare_chain, text)
    text = _EN_SYMBOL.sub(lambda m: _EN_SYMBOLS[m.group(0)], text)
    return _en_cjk(text).replace("\uff0c", ", ")


# --------------------------------------------------------------------------- public


# Control and format characters never reach the voice: an ANSI escape sequence (ESC [ 31 m) is
# dropped whole, line and paragraph separators and C0/C1 whitespace controls are spaces, and
# every other control (Cc, NUL included) or format (Cf: zero-width, bidi, BOM) character is
# dropped, before any rule reads the text (尾号 ESC[31m105X is 尾号105X).
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
_CONTROL_SPACE = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]")


# A dash from a date to 长期 / "long term" (an ID card valid 2008.07.15-长期): 至 / "to".
_LONG_TERM = re.compile(r"(?<=\d)\s*(?:-|[\u2014\u2015]{1,2}|~)\s*(?=长期|long[- ]?term)")


_TILDE_RUN = re.compile(r"~{2,}")


def strip_controls(text: str) -> str:
    """``text`` with control and format characters removed (ANSI escape sequences whole;
    tabs, line breaks and U+2028/U+2029 as spaces). Linear in the text."""
    if "\x1b" in text:
        text = _ANSI_ESCAPE.sub("", text)
    text = _CONTROL_SPACE.sub(" ", text)
    return "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))


def speakable(text: str, locale: str, *, max_chars: int = MAX_SPEAKABLE_CHARS) -> str:
    """The text the voice should get for the written ``text`` in ``locale`` (pure; about 1 ms
    per prompt, the first call in a process about a second more).

    Mandarin for zh*/cmn* locales, English rules otherwise. Every rule is linear in the
    length of the text. Raises ValueError for a text longer than ``max_chars`` characters
    (MAX_SPEAKABLE_CHARS); other odd input never raises: what no rule covers is passed on
    unchanged (or dropped, for characters with no reading).
    """
    if len(text) > max_chars:
        raise ValueError(f"text is {len(text)} characters; the guide normalises at most "
                         f"{max_chars} per prompt: split it into shorter prompts")
    text = _round_twentysix_first(_round_twentyseven_first(text, is_zh(locale)), is_zh(locale))
    text = _round_twentyfour_first(_round_twentyfive_first(text, is_zh(locale)), is_zh(locale))
    text = _round_twentyone_first(_round_twentytwo_first(_round_twentythree_first(
        text, is_zh(locale)), is_zh(locale)), is_zh(locale))
    try:
        return _speakable(text, locale)
    except (ValueError, ArithmeticError, IndexError, KeyError) as exc:  # a rule's own fault
        # Never raise on odd input (since speakable/24): read every digit one by one, which
        # no number rule can fail on; if even that fails, the text without its digits.
        _LOG.warning("a speech rule failed (%s); reading the prompt's digits one by one",
                     type(exc).__name__)
        spelled = _ANY_DIGITS.sub(lambda m: f" {spell_digits(m.group(0), locale)} ", text)
        try:
            return _speakable(spelled, locale)
        except (ValueError, ArithmeticError, IndexError, KeyError):
            return re.sub(r"\s+", " ", _ANY_DIGITS.sub(" ", text)).strip()


_ANY_DIGITS = re.compile(r"\d+")


def _speakable(text: str, locale: str) -> str:
    if _CIRCLED.search(text):
        text = _circled(text, is_zh(locale))
    if _ROMAN_SIGNS.search(text):
        text = _roman_signs(text, is_zh(locale))
    text = _round_twelve_marks(strip_controls(text), is_zh(locale))
    if "\uff0d" in text:
        text = _WIDE_MINUS.sub("\u2212", text)
    text = _round_twelve_folded(_fold_commas(_powers(text, is_zh(locale))), is_zh(locale))
    text = _round_fifteen_early(_round_thirteen_early(text, is_zh(locale)), is_zh(locale))
    text = _round_seventeen_early(_round_sixteen_early(text, is_zh(locale)), is_zh(locale))
    text = _round_twentyone_early(_round_twenty_early(text, is_zh(locale)), is_zh(locale))
    if is_zh(locale) and _MARKED_PINYIN.search(text):
        text = _protect_marked_pinyin(text)
    if _GREEK_LETTER.search(text):
        i = 0 if is_zh(locale) else 1
        text = _GREEK_LETTER.sub(lambda m: _GREEK[m.group(0)][i] if i == 0 else
                                 f" {_GREEK[m.group(0)][1]} ", text)
    if "+/-" in text or "+ / -" in text:  # plus or minus (+/- 10%), not "+ or -"
        text = _PLUS_MINUS.sub("±", text)
    text = _formula_minus(text, is_zh(locale))
    text = _formula_slash(text, is_zh(locale))
    text = _COMPARE.sub(lambda m: _COMPARE_AS[m.group(0)], text)
    if "长期" in text or "long" in text:
        text = _LONG_TERM.sub("至" if is_zh(locale) else " to ", text)
    text = _dashes(text, is_zh(locale))
    if "~~" in text:
        text = _TILDE_RUN.sub(" ", text)  # a decoration (~~~~), not a run of ranges
    if not is_zh(locale) and "0s" in text:
        text = _EN_DECADE.sub(_en_decade, text)
    text = _zh_speakable(text) if is_zh(locale) else _en_pinyin(_en_speakable(text))
    text = re.sub(r" +([,.!?;:。、)])", r"\1", text)
    text = re.sub(r"\( +", "(", text)
    text = re.sub(r" {2,}", " ", text).strip().translate(_UNPROTECT)
    if "(" in text:
        text = _subst(_SAID_GLOSS, text, _said_gloss)
    return unrepeat(text) if is_zh(locale) else text


# A gloss in brackets said as the words before it (Zhang San (张三): "Jahng Sahn (Jahng
# Sahn)"; Midnight (24:00): "Midnight (midnight)"; 美元兑离岸人民币（USD/CNH）) is said once: the
# brackets hold what was just said (since speakable/28).
_SAID_GLOSS = re.compile(r"\s*\((?P<g>[^()]{2,60})\)")


def _said_gloss(text: str, m: re.Match) -> str:
    gloss = m.group("g").strip().lower()
    before = text[:m.start()].rstrip().lower()
    if not gloss or not before.endswith(gloss):
        return m.group(0)
    edge = before[-len(gloss) - 1:-len(gloss)]
    if gloss[0].isascii() and gloss[0].isalnum() and edge.isascii() and edge.isalnum():
        return m.group(0)  # the end of a longer word: not the same words
    return ""


# espeak-ng's dictionary words that it says with a syllable again (陕西 "shǎn xī xī", 贷款,
# 凌晨, 闵行区: since speakable/25, measured: ``kiosk.guide.espeak_cmn_repeats``), each as
# measured to be said once: cut by a zero-width space (陕\u200b西) or as pinyin with tone
# digits (闵行区 -> min3 hang2 qu1). The longest word of the table wins at each position.
_REPEAT_RUN = re.compile("[\u4e00-\u9fa5]{2,}")
_REPEAT_LONGEST = max(map(len, ESPEAK_CMN_REPEATS), default=0)


def _unrepeat_run(m: re.Match) -> str:
    run = m.group(0)
    out: list[str] = []
    i = 0
    while i < len(run):
        for n in range(min(_REPEAT_LONGEST, len(run) - i), 1, -1):
            said = ESPEAK_CMN_REPEATS.get(run[i:i + n])
            if said is not None:
                out.append(said if "\u200b" in said else f" {said} ")
                i += n
                break
        else:
            out.append(run[i])
            i += 1
    return "".join(out)


def unrepeat(text: str) -> str:
    """``text`` (Mandarin, as the voice gets it) with each word espeak-ng would say with a
    syllable again written as measured to be said once (``ESPEAK_CMN_REPEATS``). Linear."""
    if not ESPEAK_CMN_REPEATS:
        return text
    text = _REPEAT_RUN.sub(_unrepeat_run, text)
    return re.sub(r" {2,}", " ", text).strip() if "  " in text or text[:1] == " " or \
        text[-1:] == " " else text


# --------------------------------------------------------------------------- round twenty-five
# The classes of the twenty-fifth tester round (#15; speakable/28), run first, on the raw text:
#
# "No." before a number inside Mandarin (本公司为No.1券商, 本产品为No.3号产品): the voice said an
# English "no" before the number. Before 号 the sign is dropped (三号产品, never 三号号); after a
# word of a number (编号, 序号, a colon) too; elsewhere it is the ordinal 第 (第一券商), as a
# broker says "No.1". Five digits or more stay codes (``_ZH_NO_DIGITS``).
_ZH_NO_NUMBER = re.compile(r"(?<![A-Za-z])N[Oo]\.\s*(?=(?P<n>\d{1,4})(?![\d.]|[.,]\d))")
_ZH_NO_BEFORE_CODE = re.compile(r"(?:编号|序号|号码|单号|文号|批号|工号|代码|[:：])\s*\Z")
# An English date inside Mandarin (Dec. 31, 2024; 31 Dec 2024; December 31st, 2024; Dec 2024):
# 2024年12月31日, which the date rules read 二〇二四年十二月三十一日; the voice said "Dec." in
# English and the year as a quantity (两千零二十四).
_MONTH_WORD = (r"(?P<m>January|February|March|April|May|June|July|August|September|October|"
               r"November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)")
_ORD = r"(?:st|nd|rd|th)?"
_ZH_EN_DATE = re.compile(
    rf"(?<![A-Za-z]){_MONTH_WORD}\.?\s*(?P<d>[12]\d|3[01]|0?[1-9]){_ORD}(?![\d:])"
    r"(?:\s*,?\s*(?P<y>(?:19|20)\d\d)(?!\d))?|"
    rf"(?<![\d.])(?P<d2>[12]\d|3[01]|0?[1-9]){_ORD}\s*{_MONTH_WORD.replace('?P<m>', '?P<m2>')}"
    r"(?![A-Za-z])\.?(?:\s*,?\s*(?P<y2>(?:19|20)\d\d)(?!\d))?|"
    rf"(?<![A-Za-z]){_MONTH_WORD.replace('?P<m>', '?P<m3>')}\.?,?\s*(?P<y3>(?:19|20)\d\d)(?!\d)")
_MONTH_NUMBER = {name[:3]: i for i, name in enumerate(EN_MONTHS, 1)}
# Plural acronyms in Mandarin: REITs is said R E I T, letters without the English plural (as
# ETFs is E T F): the Mandarin voice cannot say the English "reets" (it switched to its English
# voice, since speakable/23) and 不动产投资信托基金 is not what the screen shows; brokers say
# the letters or the English word, and the letters are what this voice can say.
_ZH_REITS = re.compile(r"(?<![A-Za-z])(?P<c>C-)?REITs?(?![A-Za-z])")
# A currency pair with the offshore yuan (USD/CNH): 美元兑离岸人民币, "U S dollar to offshore
# yuan", as CNY/USD was (the code CNH was not a currency code: "U S D or C N H").
_CURRENCY_PAIR_CNH = re.compile(rf"(?<![A-Za-z])(?P<a>{_CUR_CODES}|CNH)\s*/\s*"
                                rf"(?P<b>{_CUR_CODES}|CNH)(?![A-Za-z])")
# A rate divided by a number of days (6.8%/365, 年利率6.8%/360): 除以 / "divided by"; a slash
# between two percentages (10%/20%) is still a choice.
_PERCENT_DIVIDED = re.compile(r"(?<=\d[%‰])\s*/\s*(?=\d+(?:\.\d+)?(?![\d.]*\s*[%‰‱]))")
# US rule numbers (Rule 15c3-1, 15c3-3, 10b-5, 10b5-1): a number, a small letter, maybe a
# number, a hyphen and a number, said as lawyers say them, "fifteen c three one", "ten b
# five"; the hyphen was read as a range ("15c3 to 1").
_EN_RULE_NUMBER = re.compile(r"(?<![\w.\-])(?P<a>\d{1,3})(?P<l>[a-z])(?P<b>\d{1,2})?-"
                             r"(?P<c>\d{1,2})(?![\w\-]|\.\d)")
# US tax and filing forms (Form 10-K, 10-Q, 8-K, 20-F, 1099-B, W-8BEN, W-9): said as their
# filers say them, "ten K", "ten ninety nine B", "W eight B E N"; after Form(s), or these
# well-known ones anywhere. The check no longer calls their hyphens a skipped minus.
_EN_FORM = re.compile(r"(?<![\w\-])(?:(?P<n>\d{1,4})-(?P<l>[A-Z]{1,3})|(?P<w>[A-Z])-(?P<m>\d{1,2})"
                      r"(?P<t>[A-Z]{0,4})(?P<e>-E)?)(?![\w\-])")
_EN_FORM_CUE = re.compile(r"\bForms?\s+(?:[\w\-]+(?:,\s*|\s+(?:and|or)\s+))*\Z")
_EN_KNOWN_FORMS = frozenset("10-K 10-Q 8-K 20-F 6-K 40-F S-1 S-3 F-1 W-8BEN W-8BEN-E W-9 "
                            "1099-B 1099-DIV 1099-INT 1042-S".split())
# A multiplier before a word (x2 leverage): "two times"; it was "X two".
_EN_X_BEFORE = re.compile(r"(?<![A-Za-z0-9_.])[x×](?P<n>\d{1,2})(?=\s+[a-z])")
# Q1季度: 第一季度 (the lone Q1 is 第一季度 since speakable/27, so 季度 was said twice).
_ZH_QUARTER_WORD = re.compile(r"(?<![A-Za-z0-9_.])Q(?P<q>[1-4])\s*(?=季度|季)")


def _zh_no_number(text: str, m: re.Match) -> str:
    if text.startswith("号", m.end("n")) or _ZH_NO_BEFORE_CODE.search(text, max(0, m.start() - 4),
                                                                      m.start()):
        return ""
    return "第"


def _zh_en_date(m: re.Match) -> str:
    month = m.group("m") or m.group("m2") or m.group("m3")
    day = m.group("d") or m.group("d2")
    year = m.group("y") or m.group("y2") or m.group("y3")
    mo = _MONTH_NUMBER[month[:3]]
    return (f"{year}年" if year else "") + f"{mo}月" + (f"{int(day)}日" if day else "")


def _en_form(text: str, m: re.Match) -> str:
    if m.group(0) not in _EN_KNOWN_FORMS and \
            not _EN_FORM_CUE.search(text, max(0, m.start() - 60), m.start()):
        return m.group(0)
    if m.group("n"):
        n = m.group("n")
        said = en_year(n) if len(n) == 4 else en_number_words(n)
        return f"{said.replace('-', ' ')} {' '.join(m.group('l'))}"
    tail = " ".join(m.group("t")) + (" E" if m.group("e") else "")
    return f"{m.group('w')} {en_number_words(m.group('m'))} {tail}".rstrip()


def _en_rule_number(m: re.Match) -> str:
    parts = [en_number_words(m.group("a")), m.group("l")]
    if m.group("b"):
        parts.append(en_number_words(m.group("b")))
    parts.append(en_number_words(m.group("c")))
    return " ".join(parts)


def _round_twentyfive_first(text: str, zh: bool) -> str:
    """The round-twenty-five rules that run first, on the raw text (see above)."""
    if zh:
        if "o." in text or "O." in text:
            text = _subst(_ZH_NO_NUMBER, text, _zh_no_number)
        if re.search("[A-Z][a-z]{2}|[A-Z]{3}", text):
            text = _ZH_EN_DATE.sub(_zh_en_date, text)
        if "REIT" in text:
            text = _ZH_REITS.sub(lambda m: " C R E I T " if m.group("c") else " R E I T ", text)
        if "Q" in text:
            text = _ZH_QUARTER_WORD.sub(lambda m: "第" + zh_cardinal(m.group("q")), text)
    else:
        if "-" in text:
            text = _EN_RULE_NUMBER.sub(_en_rule_number, text)
            text = _subst(_EN_FORM, text, _en_form)
        if "x" in text or "×" in text:
            text = _EN_X_BEFORE.sub(lambda m: f"{en_number_words(m.group('n'))} times", text)
    if "/" in text:
        if "CNH" in text:
            text = _CURRENCY_PAIR_CNH.sub(lambda m: _currency_pair(m, zh), text)
        if "%" in text or "‰" in text:
            text = _PERCENT_DIVIDED.sub("除以" if zh else " divided by ", text)
    return text


# --------------------------------------------------------------------------- round twenty-seven
# The classes of the twenty-seventh tester round (#15; speakable/30), run first, on the raw text.
#
# Mandarin. A target year in a fund's name (易方达养老2035三年持有FOF, 目标日期2035基金, 南方养老
# 2030一年持有): a year label, digit by digit (二〇三五), with a pause before a holding period
# written in numerals (二〇三〇，一年持有); it was a quantity that ran into the next number
# (两千零三十五三年, heard "2031 years"). A year-like number (19xx/20xx) is a label right after
# 养老 / 目标日期 / 目标 / FOF, or right before a holding period (三年持有, 1年定开, 五年期);
# before a unit of money or count (养老2035元, 2035万, 2035份, 2035人) it stays a quantity.
_ZH_PERIOD_AFTER = r"\s?[1-9一二两三四五六七八九十]年(?:持有|定开|定期开放|封闭|滚动|期)"
_ZH_NAME_YEAR = re.compile(
    r"(?<![\d.,])(?:(?<=养老)|(?<=目标日期)|(?<=目标)|(?<=FOF)|(?<=fof)|(?<=FOF-)|"
    rf"(?=(?:19|20)\d\d{_ZH_PERIOD_AFTER}))"
    r"(?P<y>(?:19|20)\d\d)(?![\d.,])"
    r"(?!\s*(?:[元万亿千百份人个只股户笔位家次倍点手张%‰]|美元|港元|块|年(?!持有|定开|期)))"
    r"(?P<sp>\s(?=[1-9一二两三四五六七八九十]年))?")
_ZH_NUMERAL_NEXT = re.compile(r"\s?[0-9一二两三四五六七八九十]")
#
# English. A decimal below one after "account is" (The commission on this account is 0.025%):
# "zero point zero two five percent"; the cue "account" took the 0 as the first digit of an
# account number and left ".025" ("zero dot ..."). A cued digit string never ends at a decimal
# point: a figure with its point is a quantity (see _en_cued_digits).
#
# English. A Roman numeral II to XII after a capitalised name word (Ruiyuan Growth Fund III,
# Series IV, Tranche II, World War II): the number in words ("Fund three"); round twenty-six's
# rule covered only Part / Chapter / Class .... A lone I, V or X after a name word is left as
# written (Fund I can be the pronoun: "the Fund I chose"; Vitamin C-like codes "Model X"), except
# after round twenty-six's words (Part I, Annex V). Never inside a word (CIVIL, MIX) or before a
# hyphen or apostrophe, and never after a function word (The, And, Of, In, ...).
_EN_ROMAN_NAME = re.compile(
    r"\b(?!(?:The|A|An|And|Or|Of|In|On|At|To|For|By|With|From|As|Is|Are|It|We|You|He|She|They|"
    r"If|But|So|No|Not|Do|Dear|Mr|Mrs|Ms|Dr)\s)(?P<w>[A-Z][a-z]+)\s+"
    r"(?P<r>III|II|IV|VIII|VII|VI|IX|XII|XI)\b(?![\-'’])")


def _zh_name_year(m: re.Match) -> str:
    said = "".join(YEAR_DIGITS[c] for c in m.group("y"))
    return said + ("，" if _ZH_NUMERAL_NEXT.match(m.string, m.end()) else "")


def _round_twentyseven_first(text: str, zh: bool) -> str:
    """The round-twenty-seven rules that run first, on the raw text (see above)."""
    if zh:
        if re.search(r"(?:19|20)\d\d", text):
            text = _ZH_NAME_YEAR.sub(_zh_name_year, text)
    elif re.search(r"\b[IVX]{2}", text):
        text = _EN_ROMAN_NAME.sub(lambda m: f"{m.group('w')} "
                                  f"{en_number_words(str(_roman_value(m.group('r'))))}", text)
    return text


# --------------------------------------------------------------------------- round twenty-six
# The classes of the twenty-sixth tester round (#15; speakable/29), run first, on the raw text.
#
# Mandarin. A zero-padded month or day without a year (于03月15日, 自05月01日起): 三月十五日;
# the 0 was said 零 (零三月). A page counter 第1页/共3页: 第一页，共三页 (the slash is a
# separator there, not 或).
_ZH_PADDED_MONTH = re.compile(r"(?<![\d年./\-])0(?P<m>[1-9])月(?:0(?P<d>[1-9])(?=[日号]))?")
_ZH_PADDED_DAY = re.compile(r"(?<=月)0(?=[1-9][日号])")
_ZH_PAGE_COUNTER = re.compile(r"(?<=页)\s*[/／]\s*(?=共)")
# ～ between two words, not numbers (客户须知～请您妥善保管, 温馨提示～本产品不保本): a pause
# (，); it was 到. Between numbers, dates, times and weekdays (9:00～17:00, 3月～5月, 周一～周五)
# it stays a range.
_ZH_TILDE_PAUSE = re.compile(r"(?<=[\u4e00-\u9fff])"
                             r"(?<![一二三四五六七八九十百千万亿日天月年时分秒点号周元])"
                             r"\s*[～~〜]\s*(?=[\u4e00-\u9fff])(?![一二三四五六七八九十周星礼])")
# A ranking of words with ＞/> and no word of navigating (股票型基金风险＞混合型基金＞债券型基金,
# 股票＞基金＞债券, "Stock funds > bond funds"): 大于 / "greater than". Round twenty-four's menu
# path (我的>设置>安全中心) still needs a navigating word (点击 进入 路径 菜单 设置 tap menu ...)
# in the sentence; two signs alone no longer make a path. The arrows (→ ➔ ›) stay steps.
_RANK_SIGN = re.compile(r"(?<=[^\W\d_]|[\"”’)）】」』])\s*[>＞]\s*(?=[^\W\d_]|[\"“‘(（【「『])")
_RANK_SENTENCE = re.compile(r"[^。；;！？!?\n]+")
# an app's first page opens a path too (首页＞理财＞基金, "Home > Wealth")
_PATH_START = re.compile(r"首页|主页|我的|(?<![A-Za-z])(?:Home|My|APP|App)(?![a-z])")
# ± inside Mandarin (前收盘价×(1±10%), 1±0.5%): 加减 after a number (一加减百分之十, as it is
# said; 一正负 made 一 yí), else 正负 (±10% 正负百分之十); espeak-ng's Mandarin voice switched to
# English for it ("plus or minus").
_ZH_PLUS_MINUS = re.compile(r"\s*±")
# Max(a, b) / Min(a, b): a与b中的较大值 / 较小值; "the greater of a and b" / "the smaller of
# a and b"; the voice said the English word Max inside Mandarin.
_MAX_MIN = re.compile(r"(?<![A-Za-z])(?P<f>[Mm]ax|MAX|[Mm]in|MIN)\s*[(（](?P<a>[^()（）]{1,80})"
                      r"[)）]")
# Latin letters with diacritics inside Mandarin (Nguyễn Văn An, Müller, François): the
# diacritics dropped (NFKD), as the letters are what this voice can say; it said ễ's code point.
_LATIN_MARKED = re.compile(r"[\u00c0-\u024f\u1e00-\u1eff]")
# Roman list markers at an item's start (i. 投资者适当性；ii. 信息披露 / i) 融资；ii) 融券 /
# (i) suitability): 一、二、三 / "one, two, three"; they were the letter i.
_ROMAN_ITEM = re.compile(r"(?:(?<=^)|(?<=[\s；;。，,：:]))"
                         r"(?:(?P<p>[(（])(?P<a>i{1,3}|iv|vi{0,3}|ix|x)[)）]|"
                         r"(?P<b>i{1,3}|iv|vi{0,3}|ix|x)(?:\.(?!e\.)|[)）]))\s*(?=[\u4e00-\u9fffA-Za-z])")
_ROMAN_VALUE = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8,
                "ix": 9, "x": 10}
# 单号/订单号/流水号 followed by a code (单号：#A-2025-0315): the sign # dropped after a word of a
# number (号 was said twice) and the code's parts said one by one (A 二零二五 零三一五); 单
# there is dān, never the surname shàn.
_ZH_CODE_AFTER = re.compile(r"(?P<w>(?:订|流水|运|快递|工|委托|合同)?单号|流水号|案件号)\s*"
                            r"(?P<c>[:：]?)\s*[#＃]?(?P<code>[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+)"
                            r"(?![\w\-])")
# A power with a letter or a bracket (FV=PV×(1+r)^n, 2^10): 的n次方 / "to the power n"; the ^
# was dropped ("(1 + r) n").
_CARET_POWER = re.compile(r"(?<=[\w)）])\s*\^\s*(?P<e>\(?-?\w{1,4}\)?)")
# 注① / 注1: 注一 (it was 注第一: ① after 注 is a note's number, not an ordinal).
_ZH_NOTE_CIRCLED = re.compile(r"(?<=注)(?P<c>[\u2460-\u2473])")
# English. A day range before a month (1-3 July 2025, 16-20 February 2026, 3–7 March): "the
# first to the third of July 2025"; "between 1 and 30 September": "between the first and the
# thirtieth of September". The first day was left a number before "-the third of".
_EN_DAYS_BEFORE_MONTH = re.compile(r"(?<![\w.,/:])(?P<a>[12]\d|3[01]|0?[1-9])"
                                   r"(?P<s>\s*[-–—]\s*|\s+(?:to|and)\s+)"
                                   r"(?=(?:[12]\d|3[01]|0?[1-9])\s+"
                                   rf"{_MONTH_WORD.replace('?P<m>', '?:')}\b)")
# A relation with the number first (7 days ≤ held < 30 days, RMB 1m ≤ assets, 30 days ≤
# holding period < 90 days): said the right way round, "held 7 days or more and less than 30
# days"; ≤ was "at most", which reads the relation backwards.
_EN_NUMBER_FIRST = re.compile(
    r"(?P<a>(?:(?:RMB|HKD|USD|HK\$|US\$|\$)\s*)?\d[\d,]*(?:\.\d+)?\s*(?:%|[mkb]n?\b|million|"
    r"billion|(?:business\s+|calendar\s+|trading\s+)?(?:days?|months?|years?|weeks?))?)\s*"
    r"(?P<r>≤|<=|≥|>=|<|>)\s*(?P<x>[A-Za-z][a-z]+(?:\s+[a-z]+){0,2}?)(?=\s*(?:≤|<=|<|[,;.)]|$))")
_EN_FIRST_AS = {"≤": "or more", "<=": "or more", "≥": "or less", ">=": "or less",
                "<": "more than", ">": "less than"}
# Day-first dates when the text proves it (a dd/mm/yyyy marker, or a first number over 12 in
# one of its dates): every nn/nn/yyyy of it is read day first (01/07/2025 - 31/07/2025: "1
# July 2025 to 31 July 2025"); the marker "(dd/mm/yyyy)" itself is "day month year".
_EN_NUMERIC_DATE = re.compile(r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/"
                              r"(?P<y>(?:19|20)\d\d)(?![\d/])")
_EN_DMY_MARK = re.compile(r"\bdd\s*/\s*mm\s*/\s*yy(?:yy)?\b", re.I)
_EN_DATE_DASH = re.compile(rf"(?<=\d{{4}})\s+[-–—]\s+(?=(?:[12]\d|3[01]|0?[1-9]) "
                           rf"{_MONTH_WORD.replace('?P<m>', '?:')})")
# A Roman numeral after Part, Chapter, Schedule ... (Part III, Annex I, Tier II): the number in
# words ("Part three"); it was spelled "I I I".
_EN_ROMAN_AFTER = re.compile(r"\b(?P<w>Part|Chapter|Schedule|Section|Article|Annex|Appendix|Phase|"
                             r"Tier|Class|Volume|Book|Title|Stage|Level)s?\s+(?P<r>[IVX]{1,5})\b(?![\-'’])")
_ROMAN_DIGIT = {"I": 1, "V": 5, "X": 10}
# A surname in capitals after a given name (Tony WANG, David ZHANG): said as a name (Wang), not
# spelled; only a pinyin syllable after a capitalised word.
_EN_CAPS_SURNAME = re.compile(r"(?<![\w'’])(?P<g>[A-Z][a-z]{1,12})\s+(?P<s>[A-Z]{2,6})(?![\w'’])")
# A one-time code after OTP (OTP: 4096): digit by digit, as codes of six are ("four oh nine
# six" would be a quantity, "four thousand ninety six").
_EN_OTP = re.compile(r"\bOTP\b(?P<s>\s*(?:code\s*)?(?:is\s*)?[:：]?\s*)(?P<d>\d{4,8})\b")
# "i.e.": "that is" (it was "I E").
_EN_IE = re.compile(r"(?<![\w.])i\.\s?e\.(?:,)?")


_LATIN_MARKED_WORD = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+")
_PINYIN_TONE_LETTERS = frozenset("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüĀÁǍÀĒÉĚÈĪÍǏÌŌÓǑÒŪÚǓÙÜ")


def _unmarked_word(m: re.Match) -> str:
    word = m.group(0)
    if all(c.isascii() or c in _PINYIN_TONE_LETTERS for c in word):
        return word  # pinyin with its tones (gě 优), which the voice reads as written
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _roman_value(r: str) -> int:
    total = 0
    for i, c in enumerate(r):
        v = _ROMAN_DIGIT[c]
        total += -v if i + 1 < len(r) and _ROMAN_DIGIT[r[i + 1]] > v else v
    return total


def _rank_signs(text: str, zh: bool) -> str:
    def sentence(s: re.Match) -> str:
        part = s.group(0)
        if _PATH_CUE.search(part) or _PATH_START.search(part) or not _RANK_SIGN.search(part):
            return part
        return _RANK_SIGN.sub("大于" if zh else " greater than ", part)

    return _RANK_SENTENCE.sub(sentence, text)


def _max_min(text: str, m: re.Match, zh: bool) -> str:
    big = m.group("f").lower() == "max"
    args = [a.strip() for a in re.split(r"[,，]", m.group("a")) if a.strip()]
    if len(args) < 2:
        return m.group(0)
    if zh:  # 取 after a sign (权利金+Max(...)), where it would say 正 for the + before a number
        lead = "取" if re.search(r"[+\-×*=/＋－＝]\s*\Z", text[:m.start()]) else ""
        return lead + "与".join(args) + ("中的较大值" if big else "中的较小值")
    return ("the greater of " if big else "the smaller of ") + ", ".join(args[:-1]) + \
        " and " + args[-1]


def _zh_code_after(m: re.Match) -> str:
    parts = [" ".join(spell_digits(p, "zh-CN") if p.isdigit() else " ".join(p) if p.isupper()
                      else p for p in re.findall(r"\d+|[A-Za-z]+", chunk))
             for chunk in m.group("code").split("-")]
    return m.group("w") + (m.group("c") or "") + " " + " ".join(parts) + " "


def _en_number_first(text: str, m: re.Match) -> str:
    rel, x = m.group("r"), m.group("x")
    if x.lower() in ("and", "or", "to", "than"):
        return m.group(0)
    a = m.group("a").strip()
    more = " and" if re.match(r"\s*(?:<|≤|<=)", text[m.end():]) else ""
    if rel in ("<", ">"):
        return f"{x} {_EN_FIRST_AS[rel]} {a}{more}"
    return f"{x} {a} {_EN_FIRST_AS[rel]}{more}"


def _en_proves_day_first(text: str) -> bool:
    """Whether an English text shows its nn/nn/yyyy dates are day first: a dd/mm/yyyy marker,
    or a date whose first number is over 12 beside an ambiguous one (01/07/2025 - 31/07/2025),
    and no date whose second number is over 12. A lone 31/12/2024 is read as before."""
    dates = list(_EN_NUMERIC_DATE.finditer(text))
    if not dates or any(int(m.group("b")) > 12 for m in dates):
        return False  # a month-first date too (07/31/2025): the text proves nothing
    return bool(_EN_DMY_MARK.search(text)) or any(int(m.group("a")) > 12 for m in dates) and \
        any(int(m.group("a")) != int(m.group("b")) and int(m.group("a")) <= 12 for m in dates)


def _en_day_first(text: str) -> str:
    if not _en_proves_day_first(text):
        return text

    def day_first(m: re.Match) -> str:
        d, mo = int(m.group("a")), int(m.group("b"))
        return f"{d} {EN_MONTHS[mo - 1]} {m.group('y')}" if 1 <= mo <= 12 and 1 <= d <= 31 \
            else m.group(0)
    text = _EN_NUMERIC_DATE.sub(day_first, text)
    text = _EN_DMY_MARK.sub("day month year", text)
    return _EN_DATE_DASH.sub(" to ", text)


def _en_caps_surname(m: re.Match) -> str:
    s = m.group("s")
    if m.group("g") in ENGLISH_WORDS or m.group("g") in ("The", "Dear", "Room", "Flat", "Unit") or \
            pinyin_word_syllables(s.lower(), 1) is None:
        return m.group(0)
    return f"{m.group('g')} {s.capitalize()}"


def _round_twentysix_first(text: str, zh: bool) -> str:
    """The round-twenty-six rules that run first, on the raw text (see above)."""
    if "^" in text:
        text = _CARET_POWER.sub(lambda m: f"的{m.group('e').strip('()')}次方" if zh else
                                f" to the power {m.group('e').strip('()')}", text)
    if ">" in text or "＞" in text:
        text = _rank_signs(text, zh)
    if "ax" in text or "in" in text or "AX" in text or "IN" in text:
        text = _subst(_MAX_MIN, text, lambda t, m: _max_min(t, m, zh))
    if zh:
        if "0" in text and "月" in text:
            text = _ZH_PADDED_MONTH.sub(lambda m: f"{m.group('m')}月" + (m.group("d") or ""), text)
            text = _ZH_PADDED_DAY.sub("", text)
        if "页" in text:
            text = _ZH_PAGE_COUNTER.sub("，", text)
        if "～" in text or "~" in text or "〜" in text:
            text = _ZH_TILDE_PAUSE.sub("，", text)
        if "±" in text:
            text = _subst(_ZH_PLUS_MINUS, text, lambda t, m: "加减" if m.start() and
                          t[m.start() - 1] in "0123456789)）%" else "正负")
        if _LATIN_MARKED.search(text):
            text = _LATIN_MARKED_WORD.sub(_unmarked_word, text)
        if "i" in text:
            text = _ROMAN_ITEM.sub(lambda m: zh_cardinal(str(_ROMAN_VALUE[m.group("a") or
                                                                       m.group("b")])) + "、",
                                   text)
        if "-" in text and "号" in text:
            text = _ZH_CODE_AFTER.sub(_zh_code_after, text)
        if "注" in text:
            text = _ZH_NOTE_CIRCLED.sub(lambda m: zh_cardinal(str(ord(m.group("c")) - 0x245F)),
                                        text)
    else:
        if "/" in text:
            text = _en_day_first(text)
        if re.search(r"\d\s*(?:[-–—]|to|and)\s*\d", text):
            text = _EN_DAYS_BEFORE_MONTH.sub(lambda m: f"the {_en_ordinal(str(int(m.group('a'))))}"
                                     + (" and " if "and" in m.group("s") else " to "), text)
        if re.search("[≤≥<>]", text):
            text = _subst(_EN_NUMBER_FIRST, text, _en_number_first)
        if re.search(r"\b[IVX]", text):
            text = _EN_ROMAN_AFTER.sub(lambda m: m.group(0)[:m.start("r") - m.start()] +
                                       en_number_words(str(_roman_value(m.group("r")))), text)
        if re.search("[A-Z]{2}", text):
            text = _EN_CAPS_SURNAME.sub(_en_caps_surname, text)
        if "i." in text:
            text = _EN_IE.sub("that is,", text)
        if "OTP" in text:
            text = _EN_OTP.sub(lambda m: "OTP" + m.group("s") + spell_digits(m.group("d"), "en"),
                               text)
        if "(i" in text or "i." in text or "i)" in text:
            text = _ROMAN_ITEM.sub(lambda m: en_number_words(str(_ROMAN_VALUE[m.group("a") or
                                                                          m.group("b")])) + ", ",
                                   text)
    return text


# A decade (the 1990s, 1980s): "nineteen nineties", as it is said; it was "nineteen hundred
# ninety z" (since speakable/22). The year's last word in the plural (twenty -> twenties).
_EN_DECADE = re.compile(r"(?<![\w.,/])(?P<y>1[89]\d0|20[0-9]0)[’']?s\b")


def _en_decade(m: re.Match) -> str:
    words = en_year(m.group("y")).split()
    last = words[-1]
    words[-1] = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return " ".join(words)


# Pinyin in an English text (speakable/18): the applicant's name ({name}, protected: every word
# of it pinyin) and capitalised pinyin words of the text (Xiamen, Mr. He, Customer: Qiu Ying)
# respelt for the English voice (``kiosk.guide.en_pinyin``: Li -> Lee, Xie -> Shee-yeh).
_SHIELDED_LETTER = "\ue041-\ue05a\ue061-\ue07a\ue0c0-\ue24f"
_SHIELDED_NAME = re.compile(f"[{_SHIELDED_LETTER}]+(?:['’][{_SHIELDED_LETTER}]+)?"
                            f"(?: [{_SHIELDED_LETTER}]+(?:['’][{_SHIELDED_LETTER}]+)?)*")


def _en_pinyin(text: str) -> str:
    def name(m: re.Match) -> str:
        words = m.group(0).translate(_UNPROTECT).split(" ")
        said = respell_name(words) if any(len(w) > 1 for w in words) else None
        # the respelling is protected, so the text's own respelling does not take it for
        # pinyin again (陈静: Chun Jing, not "Choo-wun Jing"; since speakable/25)
        return m.group(0) if said is None else protect_spoken(" ".join(said))

    if any(ord(c) >= _SHIELD for c in text):
        text = _SHIELDED_NAME.sub(name, text)
    return respell_text(text)


# Words that name the digits after them as an identifier, which the guide already reads digit
# by digit (a run of five digits or more is read so by default): no "a guess" warning after
# them (since speakable/19). 资金账户为10086001234, 股票代码如688981 (如 / 例如 after a word of a
# code earlier in the clause), 交易密码不得为123456, QQ号12345678; "Stock 600519", "order
# #12345", "Dial 95588"; and a bank's or a public service's short number alone (95588, 12306).
_ZH_NAMED_DIGITS = (r"(?:账户|帐户|密码|口令|QQ|微信|订单|合同|保单|股东|证券|股票|基金)"
                    r"(?:号|号码|代码|账号)?[^\d，。；;,！？!?]{0,6}?(?:为|是|如|：|:|\s)*\Z|"
                    r"代码[^\d，。；;,！？!?]{0,10}?(?:为|是)\s*\Z|"
                    r"代码[^。；;！？!?]{0,16}?(?:如|例如|比如)\s*\Z")
_SERVICE_NUMBER = re.compile(r"9[56]\d{3}|100\d\d|123\d\d")
_EN_NAMED_DIGITS = (r"\b(?:stock|shares? of|ticker|symbol|order|dial|call|ring|password|QQ|"
                    r"WeChat|policy|contract|reference|ref\.?|account)[:\s]*(?:#\s*:?\s*)?\Z|"
                    r"#\s*:?\s*\Z")  # Account #: 880012345678 (since speakable/22)


def speech_issues(text: str, locale: str) -> Iterator[Issue]:
    """What the voice would say badly in ``text``, each at its offset in ``text``: the
    warnings of the rules (``_rule_issues``), then those of the safety net
    (``safety_net_issues``) at offsets no rule warned about."""
    warned: set[int] = set()
    for issue in _rule_issues(text, locale):
        warned.add(issue.offset)
        yield issue
    yield from safety_net_issues(text, locale, warned)


# Six digits after a word of trading or a one-time code (买入600519, 国债逆回购204001, 申购的
# 787123, 600519报收12.38元, "reverse repo 204001", "Convertible bond 123001", "OTP: 386412"):
# a security's code or a code to type, read digit by digit as it should be; not warned as a
# guess since speakable/29.
_SECURITY_CUE_BEFORE = re.compile(r"(?:买入|卖出|代码|申购|认购|赎回|回购|逆回购|证券|股票|债券|"
                                  r"可转债|"
                                  r"基金|持有|\b(?:repo|bond|stock|fund|OTP|code|ticker|shares?))"
                                  r"[^\d。；;.!?]{0,6}\Z", re.I)
_SECURITY_CUE_AFTER = re.compile(r"\s*(?:报收|收盘|收于|涨|跌|中签|开盘)")


def _security_code_near(text: str, start: int, end: int) -> bool:
    return end - start == 6 and (
        _SECURITY_CUE_BEFORE.search(text, max(0, start - 16), start) is not None or
        _SECURITY_CUE_AFTER.match(text, end) is not None)


def _rule_issues(text: str, locale: str) -> Iterator[Issue]:
    """What the rules know the voice would say badly in ``text``, each at its offset.

    Characters with no reading at all; symbols the voice would read as English words (or not
    at all); an ASCII comma between digits that is not a thousands separator (1,2; C3,100;
    3, 200: read as a list); every full-width comma between digits (3，000元 is read as
    3,000, C3，100 as a list: a guess either way); digit runs longer than 4 that no rule
    marks as an identifier or a quantity (the voice would guess: write them after
    电话/手机号/编号/"number", or as a variable ``{x:digits}``); and ``round_seven_issues``.
    """
    zh = is_zh(locale)
    read = _read_spans(fold_keep_offsets(text), zh)
    for i, ch in enumerate(text):
        if _beyond_voice(ch) and zh_reading(ch) is None:
            yield Issue(i, f"character {ch} (U+{ord(ch):04X}) has no known reading; the "
                           "voice skips it, so write another character or its pinyin")
        elif ord(ch) in CJK_RADICAL_EQUIVALENTS or 0x2F00 <= ord(ch) <= 0x2FD5:
            # the Kangxi radicals (⽇ U+2F47) too, which the guide reads as NFKC's 日
            # (since speakable/25: they got "cannot be spoken")
            said = CJK_RADICAL_EQUIVALENTS.get(ord(ch)) or unicodedata.normalize("NFKC", ch)
            yield Issue(i, f"{ch} (U+{ord(ch):04X}) is a radical that looks like {said} "
                           f"(text copied from a PDF); the guide reads it as {said}, but type "
                           f"{said} so the subtitle shows the character")
        elif ch in _CHECK_MARKS and _CHECK_MARKER.match(text, i):
            continue  # □是 □否, √ 我已阅读: a form's box before an option, dropped silently
        elif unicodedata.category(ch) in ("So", "Co", "Cn") and ch not in "°℃" and \
                ch not in _UNIT_SIGNS and ch not in SILENT_MARKS:  # ㎡ is said 平方米
            yield Issue(i, f"symbol {ch} (U+{ord(ch):04X}) cannot be spoken; write it in words")
        elif unicodedata.category(ch) == "Sm" and \
                unicodedata.normalize("NFKC", ch) not in _SAID_MATH:
            yield Issue(i, f"symbol {ch} (U+{ord(ch):04X}) is not said; write it in words "
                           "(然后 / 'then' for an arrow between steps)")
    # The symbols no rule turns into words (& is 和 / "and", = is 等于 / "equals", ...).
    for m in re.finditer(r"[@*^|_\\]" if zh else r"[*^|_\\]", text):
        if m.start() in read or _STAR_ST.match(text, m.start()) or \
                text[m.start():m.start() + 2] == "**" or text[m.start() - 1:m.start()] == "*" or \
                text[m.start():m.start() + 2] == "__" or text[m.start() - 1:m.start()] == "_" or \
                _CARET_POWER.match(text, m.start()):  # (1+r)^n: a power (since speakable/29)
            # a run of underscores is a blank to sign or fill in (____年, "Signed on ____"),
            # which the voice skips, as it should (since speakable/29)
            continue
        if m.group(0) == "*" and text[m.start() - 1:m.start()].isdigit() and \
                text[m.start() + 1:m.start() + 2].isdigit() and "*" not in speakable(
                    text[max(0, m.start() - 8):m.start() + 8], locale):
            continue  # 7*24小时: said 七乘二十四 (since speakable/19)
        yield Issue(m.start(), f"symbol {m.group(0)} would be read as an English word or "
                               "skipped; write it in words")
    # An ASCII comma between digits that is not a thousands separator (1,2; 1,2024; C3,100;
    # 3, 200): the voice reads a list, which may not be what was meant.
    for m in _DIGIT_COMMAS.finditer(fold_keep_offsets(text)):
        currency = (m.group("l") or "").upper() in _CURRENCY_CODES
        listed = ", " in m.group("n") and _LIST_GOES_ON.match(text, m.end())
        if (not _THOUSANDS.fullmatch(m.group("n")) or m.group("l") and not currency or
                ", " in m.group("n")) and not listed:
            yield Issue(m.start("n"), f"the comma in {m.group(0)} is read as a list, not a "
                                      "thousands separator; write 3,200 for a number (groups "
                                      "of three digits, no space) or ，between list items")
    # A full-width comma between digits: a thousands separator typed in full-width mode
    # (3，000元) or a list (C3，100万元), told apart by a guess: say which, and how to write it.
    folded = fold_keep_offsets(text).replace("﹐", "，")
    grouping = {m.start() + i for m in _FULL_WIDTH_THOUSANDS.finditer(folded)
                for i, c in enumerate(m.group(0)) if c == "，"}
    for m in re.finditer(r"\d\s*(，)\s*(?=\d)", folded):
        if _no_thousands_comma(folded, m.start(1)):
            continue
        read_as = "a thousands separator" if m.start(1) in grouping else "a list"
        yield Issue(m.start(1), f"the full-width comma in {_around(folded, m.start(1))} is read "
                                f"as {read_as}; write 3000 or 3,000 for a number, or 、 "
                                "between list items")
    # The cue the normaliser reads the digits by ends right before them (searched in a short
    # window, so many digit runs in one text stay linear).
    if zh:
        spoken_cues = re.compile(rf"(?:{_ZH_DIGIT_CUES}){_ZH_CUE_SEP}\Z|{_ZH_NAMED_DIGITS}")
    else:
        spoken_cues = re.compile(rf"\b(?:{_EN_DIGIT_CUES})[:\s]*(?:(?:is|are|on|at)\s+)?\Z|"
                                 rf"{_EN_NAMED_DIGITS}", re.IGNORECASE)
    if zh and "-" in text:
        for sentence in _SENTENCE.finditer(text):
            if _FORMULA.search(sentence.group(0)):
                continue
            for m in _ZH_WORD_HYPHEN.finditer(sentence.group(0)):
                at = sentence.start() + m.start()
                if _ZH_WEEKDAY_RANGE.search(text, max(0, at - 3), at + 4):
                    continue  # 周一-周五: read 周一至周五 since speakable/18
                yield Issue(at, f"the hyphen in {text[max(0, at - 2):at + 3]} is not said; "
                                "write 减 for a minus, 至 or 到 for a range, or —— for a pause")
    for m in _LEVEL_SIGNED.finditer(fold_keep_offsets(text)):
        said = m.group(0) + m.group("p")
        yield Issue(m.start(), f"{said} is read as level {m.group('l')}{m.group('a')}, then "
                               f"minus {m.group('p')}; write {m.group('l')}{m.group('a')}，"
                               f"-{m.group('p')} for a loss, or {m.group('l')}{m.group('a')}-"
                               f"{m.group('l')}5 for a range of levels")
    # A day/month/year date whose first two numbers could each be the month (05/10/1986): read
    # month first (May 10), which a broker writing day first did not mean.
    # (05/10/86, 05.10.1986 and 05-10-1986 too, in both locales: ``_DMY_DATE``.)
    for m in _DMY_DATE.finditer(fold_keep_offsets(text)) if zh else ():
        a, b, y = int(m.group("a")), int(m.group("b")), m.group("y")
        if a != b and 1 <= a <= 12 and 1 <= b <= 12 and m.group("s") == ".":
            # dotted: read day first since speakable/27 (01.03.2025, the European way)
            yield Issue(m.start(), f"the date {m.group(0)} is ambiguous and read day first, "
                                   f"as {y}年{b}月{a}日; write {y}年{b}月{a}日 for that, or "
                                   f"{y}年{a}月{b}日 for month first")
        elif a != b and 1 <= a <= 12 and 1 <= b <= 12:
            yield Issue(m.start(), f"the date {m.group(0)} is ambiguous and read month first, "
                                   f"as {y}年{a}月{b}日; write {y}年{a}月{b}日 for that, or "
                                   f"{y}年{b}月{a}日 for day first")
    dates: list[tuple[int, str, str, str, str]] = [
        (m.start(), m.group(0), m.group(1), m.group(2), m.group(3))
        for m in _EN_SLASH_DATE.finditer(fold_keep_offsets(text))] if not zh else []
    seen = {d[0] for d in dates}
    dates += [(m.start(), m.group(0), m.group("a"), m.group("b"), m.group("y"))
              for m in _DMY_DATE.finditer(
        fold_keep_offsets(text)) if not zh and m.start() not in seen]
    for start, written, sa, sb, y in sorted(dates):
        a, b = int(sa), int(sb)
        if not zh and "/" in written and _en_proves_day_first(text):
            continue  # read day first, as the text shows (since speakable/29)
        if a != b and 1 <= a <= 12 and 1 <= b <= 12 and "." in written:
            iso = len(y) == 4  # dotted: day first since speakable/27 (01.03.2025: 1 March)
            yield Issue(start, f"the date {written} is ambiguous and read day first, "
                               f"as {EN_MONTHS[b - 1]} {a}, {y}; write "
                               + (f"{y}-{b:02d}-{a:02d} or " if iso else "")
                               + f"{a} {EN_MONTHS[b - 1]} {y} for that, or "
                               + (f"{y}-{a:02d}-{b:02d} or " if iso else "")
                               + f"{b} {EN_MONTHS[a - 1]} {y} for month first")
        elif a != b and 1 <= a <= 12 and 1 <= b <= 12:
            iso = len(y) == 4
            yield Issue(start, f"the date {written} is ambiguous and read month first, "
                               f"as {EN_MONTHS[a - 1]} {b}, {y}; write "
                               + (f"{y}-{a:02d}-{b:02d} or " if iso else "")
                               + f"{b} {EN_MONTHS[a - 1]} {y} for that, or "
                               + (f"{y}-{b:02d}-{a:02d} or " if iso else "")
                               + f"{a} {EN_MONTHS[b - 1]} {y} for day first")
    # a two-digit-year date whose first and last numbers could each be the year or the day
    # (24/12/31, 31/12/24): read year first when the last is larger (``_EN_SHORT_YMD``)
    for m in _EN_SHORT_YMD.finditer(fold_keep_offsets(text)) if not zh else ():
        y, mo, d = int(m.group("y")), int(m.group("m")), int(m.group("d"))
        if y <= 31 and y != d:
            first, day, year = (y, d, 2000 + y) if d > y else (d, y, 2000 + d)
            said = f"{EN_MONTHS[mo - 1]} {day}, " + (str(year) if d > y else f"{first:02d}")
            yield Issue(m.start(), f"the date {m.group(0)} could be year first or day first and "
                                   f"is read as {said}; write {year}-{mo:02d}-{day:02d} or "
                                   f"{day} {EN_MONTHS[mo - 1]} {year}")
    units = _ZH_UNITS if zh else _EN_UNITS
    for m in _LONG_DIGITS.finditer(fold_keep_offsets(text)):
        if m.start() in read or spoken_cues.search(text, max(0, m.start() - 64), m.start()) or \
                _SERVICE_NUMBER.fullmatch(m.group(0)) or _cued_list_item(text, m.start(), zh) or \
                _quantity_follows(text, m.end(), units) or \
                _quantity_named(text, m.start(), zh) or \
                _password_near(text, m.start(), m.end()) or \
                _fund_code_in_brackets(text, m.start(), m.end()) or \
                _security_code_near(text, m.start(), m.end()):
            continue
        yield Issue(m.start(), f"digits {m.group(0)} are read one by one as a guess; say "
                               "what they are (电话/编号/'number ...' before them) or "
                               "write a quantity with its unit" + _date_advice(m.group(0), zh))
    for m in _SHORT_DIGIT_LETTER_CODE.finditer(fold_keep_offsets(text)):
        if m.start() in read or spoken_cues.search(text, max(0, m.start() - 64), m.start()) or \
                _QUARTER_FIRST.fullmatch(m.group(0)):  # 3Q24: a quarter (speakable/27)
            continue
        yield Issue(m.start(), f"{m.group(0)} is read as numbers and letters (a code of six "
                               "characters or more is read one by one); write it after 编号 / "
                               "'code', or as a variable with :digits, if it is a code")
    yield from round_seven_issues(text, locale)
    yield from round_nine_issues(text, locale)
    yield from round_ten_issues(text, locale)
    yield from round_eleven_issues(text, locale)
    yield from round_twenty_issues(text, locale)
    yield from round_twentyone_issues(text, locale)


# Mathematical symbols the rules say (the others, such as the arrow →, the voice skips).
_SAID_MATH = frozenset("+<=>|~±×÷−≈≠≤≥≧≦⩾⩽\u223c\u223d")  # ∼ ∽: a range, as ~


def _read_spans(text: str, zh: bool) -> set[int]:
    """Offsets in ``text`` inside what a rule reads as a whole (a standard's designation, an
    email address, an amount after its currency: ¥123456, CNY 500000-1000000) or as digits by
    a rule that knows them (after a cue, with the area code: 投诉电话021-38676666; a phone
    shape: 0991-2345678; a leading 0: 0123456789; an ID tail; a code of letters and digits:
    ZQ-88012), where no digit or symbol warning applies."""
    spans: set[int] = set()
    for pattern in (*_WHOLE_READINGS, _MONEY_RANGE, _MONEY_PREFIX, _ZH_CUED if zh else _EN_CUED,
                    _GROUPED_DIGITS, _LEADING_ZERO, _ID_TAIL, _COUNTRY_CODE, _CODE):
        for m in pattern.finditer(text):
            spans.update(range(m.start(), m.end()))
    spans |= _round_seven_spans(text) | _round_twelve_spans(text, zh) | \
        _round_thirteen_spans(text, zh)
    if zh:
        spans |= _round_eleven_spans(text)
    return spans


_DIGIT_COMMAS = re.compile(r"(?P<l>(?<![A-Za-z])[A-Za-z]{1,8})?(?<![\d,])"
                           r"(?P<n>\d+(?:,\d+|, \d{3}(?!\d))+)")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
# A list that goes on after "100, 500" (another item, or "or" / "and" before the last one:
# 100, 500 or 2,000 shares): a plain list, not a mistyped thousands separator.
_LIST_GOES_ON = re.compile(r"\s*(?:,|、|，|or\b|and\b|和|或|及)")


def fold_keep_offsets(text: str) -> str:
    """Full-width digits, letters and signs (ＲＭＢ, １, ％; not the comma) as ASCII, one
    character for one, so offsets still match ``text`` and the checks see what the rules of
    ``speakable`` read after NFKC."""
    return "".join(unicodedata.normalize("NFKC", c) if "\uff01" <= c <= "\uff5e" and
                   c != "\uff0c" else c for c in text)


def _fold_commas(text: str) -> str:
    """``text`` folded with its full-width thousands separators (3，000元) made ASCII commas:
    what the rules of ``speakable`` then read as a number."""
    return _FULL_WIDTH_THOUSANDS.sub(lambda m: m.group(0).replace("，", ","), fold(text))


def _around(text: str, i: int) -> str:
    """The digits and letters either side of ``text[i]``, with it: C3，100 for the comma."""
    a, b = i, i + 1
    while a and (text[a - 1].isalnum() and text[a - 1].isascii()):
        a -= 1
    while b < len(text) and text[b].isascii() and text[b].isalnum():
        b += 1
    return text[a:b]


# --------------------------------------------------------------------------- round seven
# Rules for the classes of the seventh tester round (#15). Each is a table or a pattern with
# its own function, run by ``_zh_round_seven`` / ``_en_round_seven`` before the other rules
# (what they write is words or spelled digits that no later rule reads again), and by
# ``_en_letter_a`` after the acronyms are spelled.

# A phone number with its area code in brackets or with dashes, US style ((852) 2509 8333,
# (852)2509-8333, 1 (800) 123-4567, 1-800-123-4567): digit by digit, group by group (a space
# between groups; read as numbers it was 八百五十二, and 2509-8333 a range).
_PHONE_SHAPE = re.compile(r"(?<![A-Za-z0-9_.,+\-])(?P<p>1[ -])?(?P<a>\(\d{1,4}\)\s?|\d{3}-)"
                          r"(?P<b>\d{3,4})[ -](?P<c>\d{4})(?![\w]|[.,]\d|-\d)")


_ZH_CUED_BEFORE = re.compile(rf"(?:{_ZH_DIGIT_CUES}){_ZH_CUE_SEP}\Z")
_EN_CUED_BEFORE = re.compile(rf"\b(?:{_EN_DIGIT_CUES})[:\s]*(?:(?:is|are|on|at)\s+)?\Z",
                             re.IGNORECASE)


def _phone_shape(m: re.Match, locale: str) -> str:
    """The digits group by group, or the match itself after a cue (电话, "phone"), where
    ``_ZH_CUED`` / ``_EN_CUED`` read it."""
    cue = _ZH_CUED_BEFORE if is_zh(locale) else _EN_CUED_BEFORE
    if cue.search(m.string, max(0, m.start() - 40), m.start()):
        return m.group(0)
    groups = [g for g in (m.group("p"), m.group("a"), m.group("b"), m.group("c")) if g]
    return ("" if is_zh(locale) else " ").join(spell_digits(g.strip(" -"), locale)
                                               for g in groups)


# A code of digits and capitals in three or more groups (510050C2412M02500, an option's
# trading code: underlying, C/P, month, M/A, strike): every digit and letter one by one (the
# groups were read as numbers, 两千四百一十二, and the strike lost its leading 0).
_MIXED_CODE = re.compile(r"(?<![A-Za-z0-9_.])(?=[A-Z0-9]{8,}(?![A-Za-z0-9_]))"
                         r"\d+[A-Z]{1,3}\d+[A-Z]{1,3}\d+(?:[A-Z]{1,3}\d*)*(?![A-Za-z0-9_])")
# A code of six or more digits and capitals that starts with digits and has digits after its
# letters (a fund account 98A001234567, 2024A0315): every digit and letter one by one (it was
# read as numbers, 九十八A一百二十三万…; a code starting with letters is ``_CODE``'s). A year
# and its half or quarter (2024Q3, 2025H1) is not one. Shorter ones (12A34) are warned by
# ``kiosk flows check``: a code or numbers?
_DIGIT_LETTER_CODE = re.compile(r"(?<![A-Za-z0-9_.\-])(?=[A-Z0-9]{6,}(?![A-Za-z0-9_]))"
                                r"(?!(?:19|20)\d\d[HQ][1-4](?![A-Za-z0-9]))"
                                r"\d+[A-Z]{1,3}\d[A-Z0-9]*(?![A-Za-z0-9_])")
_SHORT_DIGIT_LETTER_CODE = re.compile(r"(?<![A-Za-z0-9_.\-])(?=[A-Z0-9]{3,5}(?![A-Za-z0-9_]))"
                                      r"\d+[A-WYZ]{1,3}\d[A-Z0-9]*(?![A-Za-z0-9_.,:])")
# Digits then placeholders (689xxx, 60XXXX, 300***): the digits one by one, each x as X.
_PLACEHOLDER_CODE = re.compile(r"(?<![A-Za-z0-9_.])(?P<d>\d{1,5})(?P<x>[xX]{2,5})"
                               r"(?![A-Za-z0-9_*])")
# An index named with a letter and its size (中证A500, 富时A50, MSCI A50): a number, as
# 中证500 is (中证A五百; A五零零 was a code).
_INDEX_SIZE = re.compile(r"(?P<i>中证|上证|深证|沪深|国证|富时|恒生|标普|北证|科创|MSCI)\s*"
                         r"(?P<l>[A-Z])(?P<n>\d{2,4})(?![\d.])")
# A ticker with its market (TSLA.US, 600000.SH, 920001.BJ, 0700.HK): spelled, 点 / "dot".
_TICKER = re.compile(r"(?<![A-Za-z0-9_.])(?P<t>[A-Z]{2,5}|\d{4,6})\.(?P<x>US|HK|SH|SZ|BJ|SS|"
                     r"SG|TW|L|N|O|T)(?![A-Za-z0-9])")
# Capitals ending in a word said as a word (HSTECH: H S Tech; the Hang Seng TECH Index: Tech);
# in Mandarin spelled (H S T E C H).
_CAPS_WORD_END = re.compile(r"(?<![A-Za-z])(?P<p>[A-Z]{0,3})(?P<w>TECH)(?![A-Za-z])")
# Capitals said as a word, never spelled (FATCA "fat-ka"; TECH "Tech").
SAID_AS_WORDS = frozenset({"FATCA", "TECH", "NASDAQ", "FINRA", "SWIFT", "COVID"})


def _ticker(m: re.Match, locale: str) -> str:
    t, x = m.group("t"), m.group("x")
    zh = is_zh(locale)
    head = spell_digits(t, locale) if t.isdigit() else " ".join(t)
    return f" {head} {'点' if zh else 'dot'} {' '.join(x)} "


# '/' between a rank and a count (同类排名128/356: 第一百二十八名，共三百五十六名; "ranks
# 128/356": "128th of 356").
_ZH_RANK = re.compile(r"(?P<w>排名|排行|名次|排第)\s*(?P<a>\d+)\s*/\s*(?P<b>\d+)(?![\d.])")
_EN_RANK = re.compile(r"\b(?P<w>rank(?:s|ed|ing)?(?: at)?|placed|position)\s+(?P<a>\d+)\s*/\s*"
                      r"(?P<b>\d+)(?![\d.])", re.IGNORECASE)
# '/' between an amount's own unit and another unit (1000桶/手, 10克/手, 100股/张): 每, "per".
_ZH_PER_MEASURE = re.compile(r"(?<=\d)(?P<u>[\u4e00-\u9fff]{1,2})\s*/\s*"
                             r"(?=(?:手|张|份|股|吨|桶|克|千克|公斤|盎司|合约|次|人|户|笔|只|年|月|"
                             r"日|天|周)(?![\u4e00-\u9fff]?\d))")
# A fiscal or academic year across two calendar years (2025/26财年): 二〇二五至二六财年.
_ZH_SPLIT_YEAR = re.compile(r"(?<![\d.])(?P<a>(?:19|20)\d\d)\s*/\s*(?P<b>\d\d|(?:19|20)\d\d)"
                            r"(?=\s*(?:财年|财政年度|年度|学年|赛季|会计年度))")
# "respectively" lists: 近1年/近3年年化收益率为3.5%/4.1%: the first list's / is 和, the values'
# / is 和 after 分别为 (both were 或).
_ZH_VALUE_LIST = re.compile(r"(?P<v>为|是)\s*(?P<l>-?\d+(?:\.\d+)?[%‰]?(?:[\u4e00-\u9fff]{0,2})"
                            r"(?:\s*/\s*-?\d+(?:\.\d+)?[%‰]?(?:[\u4e00-\u9fff]{0,2}))+)")
_ZH_ROUND7_CLAUSE = re.compile(r"[^，。；;！？!?,]+")


def _zh_respectively(text: str) -> str:
    def clause(c: re.Match) -> str:
        s = c.group(0)
        m = _ZH_VALUE_LIST.search(s)
        if m is None or "/" not in s[:m.start()]:
            return s
        n = m.group("l").count("/")
        head = s[:m.start()]
        if head.count("/") != n:
            return s
        join = "和" if n == 1 else "、"
        head = re.sub(r"\s*/\s*", join, head)
        said = re.sub(r"\s*/\s*", join, m.group("l"))
        verb = m.group("v") if head.endswith("分别") else "分别" + m.group("v")
        return f"{head}{verb}{said}{s[m.end():]}"

    return _ZH_ROUND7_CLAUSE.sub(clause, text)


# A two-digit year before a month (25年3月31日): 二五年, as said (二十五年 was 25 years).
_ZH_SHORT_YEAR = re.compile(r"(?<![\d.])(?P<y>\d\d)(?=年\s*\d{1,2}\s*月)")
# a.m./p.m. after a clock time in Mandarin (9:00am-5:00pm: 上午九点到下午五点; 下午5:00pm:
# 下午五点).
_ZH_AMPM_RANGE = re.compile(r"(?:(?<=[AaPp][Mm])|(?<=[AaPp]\.[Mm]))\.?\s*[-~至到]\s*"
                            r"(?=\d{1,2}(?::\d\d)?\s*[AaPp]\.?[Mm])")
_ZH_AMPM = re.compile(r"(?P<before>上午|下午|早上|晚上|傍晚|凌晨|中午|午后)?\s*"
                      r"(?P<t>\d{1,2}(?::\d\d){0,2})\s*(?P<ap>[AaPp])\.?\s?[Mm]\.?(?![A-Za-z0-9])")


def _zh_ampm(m: re.Match) -> str:
    t = m.group("t")
    said = t if ":" in t else t + "点"
    if m.group("before"):
        return m.group("before") + said
    return ("上午" if m.group("ap") in "Aa" else "下午") + said


# A room range (3201-02室, 3201至3202室): every room number digit by digit, 至 between.
_ZH_ROOM_RANGE = re.compile(r"(?<![\d.,])(?P<a>\d{3,})\s*(?:-|~|至|到)\s*(?P<b>\d{2,})(?=\s*室)")
_EN_ROOM_RANGE = re.compile(r"\b(?P<w>Room|Rooms|Rm\.|Suite|Suites|Unit|Units|Flat)\s+"
                            r"(?P<a>\d{3,6})\s*[-~]\s*(?P<b>\d{2,6})\b")
# A multiple of thousands (3,125x; 2,000x; 3125x after 倍数 / "leverage"): 3125倍, "3125 times"
# (3,125x was "3, one two five X" and 3125x an ID tail).
_GROUPED_MULTIPLE = re.compile(r"(?<![A-Za-z0-9_.,])(?P<n>\d{1,3}(?:,\d{3})+)x(?![A-Za-z0-9])")
_CUED_MULTIPLE = re.compile(r"(?P<cue>倍数|倍率|杠杆|超额认购|认购|ratio|leverage|subscribed)"
                            r"(?P<sep>[^，。；;,.!?\d]{0,6})(?P<n>\d{3,})x(?![A-Za-z0-9])")
_MULTIPLE_BEFORE_CUE = re.compile(r"(?<![A-Za-z0-9_.,])(?P<n>\d{3,})x(?=\s*(?:leverage|"
                                  r"oversubscri|杠杆|超额))")
# 万 written w or W (50W, 1.5w元, 2000W像素): 万 (not watts: 65W快充, 100W功率, 功率100W,
# 220V/100W: a power word or a voltage near it).
_ZH_WAN_LETTER = re.compile(r"(?<![A-Za-z0-9_.])(?P<n>\d+(?:\.\d+)?)\s?[wW](?![A-Za-z0-9])"
                            r"(?!\s*(?:快充|充电|功率|电源|灯|的功率))")
_ZH_POWER_NEAR = re.compile(r"功率|充电|快充|电源|额定|电压|瓦|\dV\b|伏")
# Zero decimals on the first amount of a money range (20.00至100.00港元: 二十至一百港元).
_ZH_RANGE_ZEROS = re.compile(r"(?<![\d.,])(?P<n>\d+(?:,\d{3})*)\.0+(?=\s*(?:-|~|至|到)\s*"
                             r"\d+(?:,\d{3})*(?:\.\d+)?\s*(?:万元|亿元|元|港元|美元|欧元|英镑|日元|"
                             r"港币|人民币))")
# Periods of a return written 1M 3M 6M 1Y 3D 2W after 近 / 过去 / 最近 (近1M、3M、6M、1Y收益):
# 个月 / 年 / 天 / 周.
_ZH_PERIODS = re.compile(r"(?P<cue>近|过去|最近|前)\s*(?P<l>\d{1,2}[MYDW](?:\s*[、，,/和及]\s*"
                         r"\d{1,2}[MYDW])*)(?![A-Za-z0-9])")
_ZH_PERIOD_WORDS = {"M": "个月", "Y": "年", "D": "天", "W": "周"}
# Greek-letter names in Mandarin (the option greeks): the Mandarin voice reads Vega and Theta
# as pinyin ("vo ka"), so all of them are given in Chinese, one way.
_ZH_GREEK_WORDS = {"delta": "德尔塔", "gamma": "伽马", "vega": "维加", "theta": "西塔",
                   "rho": "柔", "alpha": "阿尔法", "beta": "贝塔", "sigma": "西格玛"}
_ZH_GREEK_WORD = re.compile(rf"(?<![A-Za-z])(?:{'|'.join(_ZH_GREEK_WORDS)})(?![A-Za-z])",
                            re.IGNORECASE)
# A minus inside a formula between a word and a number (转换价值-1）×100%): 减 (not 负).
_ZH_FORMULA_MINUS_NUMBER = re.compile(r"(?<=[\u4e00-\u9fff\u3400-\u4dbf)）])(?<![的为是])\s*"
                                      r"[-\u2212]\s*"
                                      r"(?=\d)")


def _zh_formula_minus_number(text: str) -> str:
    if "-" not in text and "\u2212" not in text or not _FORMULA.search(text):
        return text
    return _SENTENCE.sub(lambda m: _ZH_FORMULA_MINUS_NUMBER.sub("减", m.group(0))
                         if _FORMULA.search(m.group(0)) else m.group(0), text)


# A surname read otherwise than usual after a role word and 为 / 是 / a colon, or with a verb
# right after the name (您的投资顾问为仇小红, 请客户经理朴成浩协助您, 本次见证人员为查良镛):
# the surname's reading (qiú, piáo, zhā), as ``_zh_names`` gives it after the role word alone.
_ZH_ROLE_IS = re.compile(r"(?:客户经理|理财经理|投资顾问|投资经理|见证人员|见证员|见证人|"
                         r"经办人员|经办人|工作人员|联系人|专员|柜员|双录人员|复核人员|服务人员|代理人|负责人)"
                         r"(?P<is>\s*(?:为|是|[:：])\s*|\s*)")


def _zh_role_surnames(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _ZH_ROLE_IS.finditer(text):
        p = m.end()
        if p < pos or not re.search("[为是]", m.group("is")) and \
                _zh_name_at(text, p, False) is not None:
            continue  # _zh_names reads it
        found = zh_surname(text[p:p + 4])
        if found is None or _zh_no_name_word(text[p:p + 2]):
            continue
        rest = p + len(found[0])
        if not _cjk_run(text, rest, rest + 1) or not _cjk_run(text, p, rest):
            continue
        out += [text[pos:p], f" {protect_spoken(found[1])} "]
        pos = rest
    out.append(text[pos:])
    return "".join(out)


def _zh_round_seven(text: str) -> str:
    """The round-seven rules of a Mandarin prompt, before the others (see the section's
    comment). Each group runs only when the characters it reads are in the text."""
    if "(" in text or "-" in text:
        text = _subst(_PHONE_SHAPE, text, lambda t, m: _phone_shape(m, "zh"))
    if _ASCII_LETTER.search(text):
        text = _zh_round_seven_letters(text)
    if "/" in text:
        text = _ZH_RANK.sub(lambda m: f"{m.group('w')}第{m.group('a')}名，共{m.group('b')}名",
                            text)
        text = _ZH_PER_MEASURE.sub(r"\g<u>每", text)
        text = _ZH_SPLIT_YEAR.sub(lambda m: "".join(YEAR_DIGITS[c] for c in m.group("a")) + "至"
                                  + "".join(YEAR_DIGITS[c] for c in m.group("b")), text)
        text = _zh_respectively(text)
    if "年" in text:
        text = _ZH_SHORT_YEAR.sub(lambda m: "".join(YEAR_DIGITS[c] for c in m.group("y")), text)
        text = _zh_short_years(text)
    if "室" in text:
        text = _ZH_ROOM_RANGE.sub(lambda m: spell_digits(m.group("a"), "zh") + "至"
                                  + spell_digits(m.group("b"), "zh"), text)
    if ".0" in text:
        text = _ZH_RANGE_ZEROS.sub(r"\g<n>", text)
    text = _zh_formula_minus_number(text)
    return _zh_role_surnames(text)


_ASCII_LETTER = re.compile("[A-Za-z]")
_DIGIT_CAPITAL = re.compile(r"\d[A-Z]")


def _zh_round_seven_letters(text: str) -> str:
    """The round-seven rules of a Mandarin prompt that read Latin letters."""
    if _DIGIT_CAPITAL.search(text):
        text = _MIXED_CODE.sub(lambda m: f" {spell_digits(m.group(0), 'zh')} ", text)
        text = _DIGIT_LETTER_CODE.sub(lambda m: f" {spell_digits(m.group(0), 'zh')} ", text)
    if "xx" in text or "XX" in text:
        text = _PLACEHOLDER_CODE.sub(lambda m: spell_digits(m.group("d"), "zh") + " "
                                     + " ".join(m.group("x").upper()) + " ", text)
    text = _INDEX_SIZE.sub(lambda m: f"{m.group('i')}{m.group('l')}"
                           f"{zh_cardinal(m.group('n'))}", text)
    if "." in text:
        text = _TICKER.sub(lambda m: _ticker(m, "zh"), text)
    if "TECH" in text:
        # spelled: the Mandarin voice garbles the English word Tech
        text = _CAPS_WORD_END.sub(lambda m: " " + " ".join(m.group(0)) + " ", text)
    text = _ZH_AMPM_RANGE.sub("到", text)
    text = _ZH_AMPM.sub(_zh_ampm, text)
    if "x" in text:
        text = _GROUPED_MULTIPLE.sub(lambda m: m.group("n").replace(",", "") + "倍", text)
        text = _CUED_MULTIPLE.sub(lambda m: f"{m.group('cue')}{m.group('sep')}{m.group('n')}倍",
                                  text)
        text = _MULTIPLE_BEFORE_CUE.sub(r"\g<n>倍", text)
    text = _ZH_WAN_LETTER.sub(lambda m: m.group(0) if _ZH_POWER_NEAR.search(
        m.string, max(0, m.start() - 8), m.start()) else m.group("n") + "万", text)
    text = _ZH_PERIODS.sub(lambda m: m.group("cue") + re.sub(
        r"(\d+)([MYDW])", lambda p: p.group(1) + _ZH_PERIOD_WORDS[p.group(2)], m.group("l")),
        text)
    return _ZH_GREEK_WORD.sub(lambda m: _ZH_GREEK_WORDS[m.group(0).lower()], text)


# A name of a title in capitals (Dear Mr. SMITH): a word (Smith), not letters.
_EN_TITLE_CAPS = re.compile(r"\b(?P<t>(?:Mr|Mrs|Ms|Miss|Dr|Madam|Dear)\.?\s+)(?P<w>[A-Z]{2,})"
                            r"(?![A-Za-z])")
# A word with letters of Latin Extended Additional (Vietnamese: Nguyễn Thị; espeak-ng's English
# voice names each one, "Latin small letter i with dot below"): the word without its marks
# (é, à, ư, đ of José, Hoàng, Phương, Đào it says; they are kept elsewhere).
_MARKED_LATIN = re.compile("[A-Za-z\u00c0-\u024f\u1e00-\u1eff]*[\u1e00-\u1eff]"
                           "[A-Za-z\u00c0-\u024f\u1e00-\u1eff]*")
_UNMARKED = {"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L"}


def _en_unmarked(text: str) -> str:
    def sub(m: re.Match) -> str:
        word = "".join(_UNMARKED.get(c, c) for c in m.group(0))
        return "".join(c for c in unicodedata.normalize("NFKD", word)
                       if not unicodedata.combining(c))

    return _MARKED_LATIN.sub(sub, text)


def _en_room_tail(n: str) -> str:
    """The second room of a range: 02 "oh two" (Suite 3201-02), 3202 "thirty two oh two"."""
    if len(n) == 2 and n[0] == "0":
        return "oh " + EN_DIGITS[n[1]]
    return _en_house_number(n)


def _en_round_seven(text: str) -> str:
    """The round-seven rules of an English prompt, before the others."""
    if not text.isascii():
        text = _en_unmarked(text)
    if "(" in text or "-" in text:
        text = _subst(_PHONE_SHAPE, text, lambda t, m: _phone_shape(m, "en"))
    if _DIGIT_CAPITAL.search(text):
        text = _MIXED_CODE.sub(lambda m: spell_digits(m.group(0), "en"), text)
        text = _DIGIT_LETTER_CODE.sub(lambda m: spell_digits(m.group(0), "en"), text)
    if "xx" in text or "XX" in text:
        text = _PLACEHOLDER_CODE.sub(lambda m: spell_digits(m.group("d"), "en") + " "
                                     + " ".join(m.group("x").upper()), text)
    if "." in text:
        text = _TICKER.sub(lambda m: _ticker(m, "en"), text)
    if "TECH" in text:
        text = _CAPS_WORD_END.sub(lambda m: " ".join([*m.group("p"), "Tech"]), text)
    text = _EN_TITLE_CAPS.sub(lambda m: m.group("t") + (m.group("w") if m.group("w") in
                                                        KNOWN_ACRONYMS else
                                                        m.group("w").capitalize()), text)
    if "/" in text:
        text = _EN_SPLIT_YEAR.sub(_en_split_year, text)
        text = _EN_RANK.sub(lambda m: f"{m.group('w')} {_en_ordinal(m.group('a'))} of "
                            f"{m.group('b')}", text)
        text = _EN_OF_COUNT.sub(lambda m: f"{m.group('a')} {m.group('b')}" if m.group("a") ==
                                m.group("b") else f"{m.group('a')} of {m.group('b')}", text)
    if "-" in text or "~" in text:
        text = _EN_ROOM_RANGE.sub(lambda m: f"{_EN_ROOM_WORDS.get(m.group('w'), m.group('w'))} "
                                  f"{_en_house_number(m.group('a'))} to "
                                  f"{_en_room_tail(m.group('b'))}", text)
    if "x" not in text:
        return text
    text = _GROUPED_MULTIPLE.sub(lambda m: m.group("n").replace(",", "") + " times", text)
    text = _CUED_MULTIPLE.sub(lambda m: f"{m.group('cue')}{m.group('sep')}{m.group('n')} times",
                              text)
    return _MULTIPLE_BEFORE_CUE.sub(r"\g<n> times", text)


# A count out of a total (filled: 60/100, 45/50 shares): "60 of 100" ("sixty hundredths" was a
# fraction); a slash between numbers of two or more digits each that is not a date. Two equal
# numbers are said as they are (50/50 "fifty fifty").
_EN_OF_COUNT = re.compile(r"(?<![\d/.,:])(?!(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])(?![\d/]))"
                          r"(?P<a>\d{2,})/(?P<b>\d{2,})(?![\d/]|\.\d)")


# The letter A in English: espeak-ng's English voice says a lone A as the article ("uh"). As a
# letter (in spelled letters N A V, A A A; right before digits or before three digit words:
# A123, A one two three, but not "A 30% loss"; A shares, A-share; Class A; AA+) it is given as
# "eh", which the voice says as the letter.
_EN_LETTER_A = re.compile(
    r"(?<![A-Za-z'’])A(?![A-Za-z'’])(?="
    r"\d|\s[A-Z](?![A-Za-z])|[-\s]shares?\b|-share|\s*[+](?![\d])|"
    r"(?:\s(?:zero|one|two|three|four|five|six|seven|eight|nine)\b){3})"
    r"|(?<=(?<![A-Za-z])[A-Z] )A(?![A-Za-z'’])"
    r"|(?<=\b[Cc]lass )A(?![A-Za-z'’])|(?<=\b[Tt]ype )A(?![A-Za-z'’])"
    r"|(?<=\b[Ss]eries )A(?![A-Za-z'’])|(?<=\b[Gg]rade )A(?![A-Za-z'’])"
    r"|(?<=\b[Tt]ier )A(?![A-Za-z'’])|(?<=\b[Pp]lan )A(?![A-Za-z'’])"
    r"|(?:(?<=\bShanghai )|(?<=\bShenzhen )|(?<=\bBeijing )|(?<=\bSH )|(?<=\bSZ ))A(?![A-Za-z'’])"
    r"|(?<![A-Za-z'’])A(?=\s+(?:accounts?|boards?|shareholders?)\b)")


def _en_letter_a(text: str) -> str:
    return _EN_LETTER_A.sub("eh", text) if "A" in text else text


# A Chinese name typed with a space after its surname (区 志华): one name (the surname's reading
# was lost in English: Qu Zhihua for Ou Zhihua).
_SPACED_CJK_NAME = re.compile(r"\A(?P<a>[\u3400-\u4dbf\u4e00-\u9fff]{1,2})[ \u3000]+"
                              r"(?P<b>[\u3400-\u4dbf\u4e00-\u9fff]{1,3})\Z")


def _joined_cjk_name(text: str) -> str:
    m = _SPACED_CJK_NAME.match(text)
    return m.group("a") + m.group("b") if m else text


# The first words of Tibetan, Mongolian and Yi names written in characters with no middle dot
# (次仁卓玛, 哈斯额尔敦, 阿西木呷): these names have no Han surname, so the first character is not
# given a surname's reading (哈 hǎ) and the English reading splits after the first word (Ciren
# Zhuoma, Hasi Eerdun, Axi Muga), not after the first character (Ci Renzhuoma).
MINORITY_NAME_WORDS = frozenset("""
    次仁 扎西 卓玛 多吉 旦增 丹增 格桑 尼玛 达瓦 普布 拉姆 央金 平措 顿珠 洛桑 索朗 白玛 德吉 益西
    曲珍 边巴 巴桑 米玛 拉巴 强巴 仁青 嘎玛 贡嘎 措姆 琼达 次旦 罗布 欧珠 桑珠 赤列 土登
    哈斯 巴特尔 额尔敦 乌力吉 其其格 苏和 斯琴 那仁 宝音 阿拉坦 朝鲁 敖登 图雅 萨仁 呼和 巴雅尔
    孟和 毕力格 额尔德尼 乌兰 吉日嘎拉 阿古拉 特木尔 巴图 格日勒 阿木古楞 娜仁 其木格 满都拉
    阿西 阿约 吉克 阿苏 曲比 沙马 吉木 海来 阿的 俄木 勒格 马海 阿牛 阿说 日火 阿尔 木呷
    那顺 查干 巴拉 朝克 额日 宝力 达来 吉雅 陶克""".split())


def _minority_name(text: str) -> tuple[str, str] | None:
    """(first word, the rest) of a name of four or more characters that starts with a word of
    MINORITY_NAME_WORDS, else None."""
    if len(text) < 4 or not all(_CJK.match(c) for c in text):
        return None
    for n in (4, 3, 2):
        if text[:n] in MINORITY_NAME_WORDS and len(text) - n >= 2:
            return text[:n], text[n:]
    # By rule (round twelve): two characters that are no compound surname, then a word of
    # the list (那顺 + 巴雅尔): a Mongolian name's first word, whatever it is.
    if text[:2] not in ZH_COMPOUND_SURNAMES and any(
            text[2:2 + k] in MINORITY_NAME_WORDS for k in (2, 3, 4) if len(text) - 2 >= k):
        return text[:2], text[2:]
    return None


# ``speech_issues`` for the round-seven rules: what they read is not a guess (a phone with its
# area code in brackets, an option code, a ticker with its market, a stock code in brackets
# right after the stock's name: 贝特瑞（835185）, a code with placeholders).
_STOCK_CODE_AFTER_NAME = re.compile(r"(?<=[\u4e00-\u9fff\u3400-\u4dbfA-Za-z”\"」』》])\s?[（(]\s*"
                                    r"\d{6}\s*[）)]")


def _round_seven_spans(text: str) -> set[int]:
    spans: set[int] = set()
    brackets = "(" in text or "（" in text
    patterns = (_PHONE_SHAPE if brackets or "-" in text else None,
                _MIXED_CODE if _DIGIT_CAPITAL.search(text) else None,
                _DIGIT_LETTER_CODE if _DIGIT_CAPITAL.search(text) else None,
                _TICKER if "." in text else None,
                _PLACEHOLDER_CODE if "xx" in text or "XX" in text else None,
                _STOCK_CODE_AFTER_NAME if brackets else None)
    for pattern in patterns:
        for m in pattern.finditer(text) if pattern is not None else ():
            spans.update(range(m.start(), m.end()))
    return spans


def _no_thousands_comma(text: str, i: int) -> bool:
    """Whether the full-width comma at ``text[i]`` (between digits) cannot be a thousands
    separator: after a clock time (9:30-12:00，13:00) or after four digits or more
    (验证码为386412，5分钟内有效): a pause, read as one, so not warned."""
    j = i
    while j and text[j - 1].isspace():
        j -= 1
    k = j
    while k and text[k - 1].isdigit():
        k -= 1
    return j - k >= 4 and text[k - 1:k] not in (",", ".") or text[k - 1:k] == ":"


def _cued_list_item(text: str, at: int, zh: bool) -> bool:
    """Whether the digits at ``at`` are a later item of a list of digits after a cue
    (中签号码为：10012345、10056789): read digit by digit, as the first item is."""
    listed = _ZH_CUED_LIST if zh else _EN_CUED_LIST
    return listed.search(text, max(0, at - 160), at) is not None


_ITEM = r"[\dA-Za-z\-]+"
_ITEM_SEP = r"\s*(?:[、，,/]|和|及|或|and\b|or\b)\s*"
_ZH_CUED_LIST = re.compile(rf"(?:{_ZH_DIGIT_CUES}){_ZH_CUE_SEP}{_ITEM}(?:{_ITEM_SEP}{_ITEM})*"
                           rf"{_ITEM_SEP}\Z")
_EN_CUED_LIST = re.compile(rf"(?:{_EN_DIGIT_CUES})[:\s]*(?:(?:is|are)\s+)?{_ITEM}"
                           rf"(?:{_ITEM_SEP}{_ITEM})*{_ITEM_SEP}\Z", re.IGNORECASE)


# Warnings for what the rules still cannot read well: a lowercase x after three digits or more
# with no multiplier cue (is it a multiple, 3125倍, or an ID tail, 三一二五X?), and a slash
# between two numbers whose first is the larger (2025/26: read as the fraction 26分之2025).
_SLASH_OR_X = re.compile(r"\d[xｘ]|[/／]")
_ZH_ANY_CUE = re.compile(_ZH_DIGIT_CUES)
_EN_ANY_CUE = re.compile(rf"\b(?:{_EN_DIGIT_CUES})", re.IGNORECASE)
_BARE_MULTIPLE = re.compile(r"(?<![A-Za-z0-9_.,])\d{3,}x(?![A-Za-z0-9])")
_IMPROPER_FRACTION = re.compile(r"(?<![\d/.,:])(?P<a>\d+)\s*/\s*(?P<b>\d+)(?![\d/]|\.\d)")


def round_seven_issues(text: str, locale: str) -> Iterator[Issue]:
    """The round-seven warnings (see above), each at its offset in ``text``."""
    if not _SLASH_OR_X.search(text):
        return
    zh = is_zh(locale)
    folded = fold_keep_offsets(text)
    cues = _ZH_ANY_CUE if zh else _EN_ANY_CUE
    for m in _BARE_MULTIPLE.finditer(folded):
        if _CUED_MULTIPLE.search(folded, max(0, m.start() - 24), m.end()) or \
                _MULTIPLE_BEFORE_CUE.match(folded, m.start()) or \
                cues.search(folded, max(0, m.start() - 24), m.start()):
            continue
        yield Issue(m.start(), f"{m.group(0)} is read as digits and the letter X (as an ID "
                               f"tail); write {m.group(0)[:-1]}倍 / '{m.group(0)[:-1]} times' "
                               "for a multiple")
    for m in _IMPROPER_FRACTION.finditer(folded):
        a, b = int(m.group("a")), int(m.group("b"))
        if a <= b or b == 0 or (a, b) == (24, 7) or _ZH_SPLIT_YEAR.match(folded, m.start()) or \
                _ZH_RANK.search(folded, max(0, m.start() - 4), m.end()) or \
                _EN_RANK.search(folded, max(0, m.start() - 16), m.end()) or \
                _FORMULA.search(folded) or not zh and _EN_SLASH_DATE.match(folded, m.start()) or \
                not zh and _en_split_year_read(folded, m.start()) or \
                zh and m.start() in _round_eleven_spans(folded) or \
                zh and _zh_year_span_at(folded, m.start()):
            continue
        month_day = re.match(r"\d{1,2}/\d{1,2}(?![\d/])", m.group(0)) and b <= 31 and \
            1 <= a <= 12
        if month_day and not zh:
            continue  # read as a date ("July 3"): round_nine_issues warns when it is ambiguous
        if month_day:
            md = _ZH_MONTH_DAY.match(folded, m.start())
            if md is not None and _zh_month_day_dated(folded, md):
                continue  # a date word is next to it: read as a date
        said = f"'{a} of {b}'" if not zh and _EN_OF_COUNT.match(folded, m.start()) else \
            f"'{a} over {b}'"
        yield Issue(m.start(), f"{m.group(0)} is read as a fraction ({b}分之{a} / {said}); write "
                    + (f"{a}月{b}日 for a date, " if month_day else "")
                    + "至 or 'to' for a span of years, 比 / 'to' for a ratio, or the words that "
                      "say what it is")


# --------------------------------------------------------------------------- round nine
# The classes of the ninth tester round (#15) that are English rules or warnings; the Mandarin
# ones are in the rules they extend (``_zh_zhi``, ``_zh_wei``, ``_zh_sandhi``,
# ``_ZH_STANDARD_ONLY``, ``_ZH_DATE_BEFORE``, ``_ZH_DOTTED_MONTH_DAY``, ``_ZH_PER_UNIT``, and
# ``kiosk.speech.textnorm.zh_segments`` for the words).

# An English ordinal in digits (3rd, 21st, 100th, 1,000th): in words, as espeak-ng says the
# small ones itself ("third") but a round one as a cardinal and a "th" ("one hundred th", "ten
# thousand th", measured).
_EN_ORDINAL = re.compile(r"(?<![\w.,])(?P<n>\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th)\b")
_EN_ORDINAL_LAST = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                    "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def en_ordinal_words(number: str) -> str:
    """A whole number (thousands may be grouped with commas) as an English ordinal in words:
    "100" -> "one hundredth", "1,000" -> "one thousandth", "21" -> "twenty first", "12" ->
    "twelfth". Raises ValueError for anything else (see ``en_number_words``)."""
    if not re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d+", number or ""):
        raise ValueError(f"not a whole number: {number!r}")
    head, _, last = en_number_words(number.replace(",", "")).rpartition(" ")
    if last in _EN_ORDINAL_LAST:
        last = _EN_ORDINAL_LAST[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head} {last}".strip()


# "No." before a code of letters and digits (Contract No. HT-2026-0001, Policy No. AB123456,
# Ref. No. ZQ-88012): "number" ("reference number"), with no full stop: the voice said "no"
# and paused. (Before digits ``_EN_BEFORE_NUMBER`` reads it.)
_EN_NO_CODE = re.compile(r"\b(?:No|NO|no)\.\s*(?=[A-Z]{1,8}[-\s]?\d)")
# "no." after a noun a number belongs to (ID no. ends in 105X, order no. is 00123, Contract no.
# HT-2024-0315-008; since speakable/21): "number" whatever follows, with the full stop kept
# where it also ends the sentence (at the end, or before a capital that starts no code); before
# digits ``_EN_BEFORE_NUMBER`` reads it (Order No. 130 "number one hundred thirty"). The
# word no ending a sentence (Say yes or no.) follows no such noun and is left alone.
_EN_NO_AFTER_NOUN = re.compile(
    r"\b(?P<n>(?:ID|I\.D\.|[Ii]d|[Oo]rder|[Cc]ontract|[Aa]ccount|[Aa]/[Cc]|[Pp]olicy|[Aa]pplication|"
    r"[Rr]eference|[Rr]ef\.?|[Ss]erial|[Cc]ase|[Tt]icket|[Pp]hone|[Mm]obile|[Tt]el\.?|[Cc]ard|"
    r"[Pp]assport|[Ll]icen[cs]e|[Cc]ertificate|[Ii]nvoice|[Dd]ocument|[Ff]ile|[Cc]laim|[Mm]ember|"
    r"[Cc]ustomer|[Cc]lient|[Rr]egistration|[Tt]ransaction|[Aa]greement|[Rr]eceipt|[Ff]orm|"
    r"[Bb]ooking|[Ff]und|[Ss]tock|[Pp]roduct|[Rr]oom|[Ww]indow|[Cc]ounter|[Ss]eat)\s+)"
    r"(?:No|NO|no)\.(?P<a>\s+(?![\d(])(?P<c>[A-Z](?![A-Z0-9-]))?|\Z)")


def _en_no_after_noun(m: re.Match) -> str:
    if m.group("a") == "" or m.group("c"):
        return f"{m.group('n')}number.{m.group('a')}"
    return f"{m.group('n')}number{m.group('a')}"


# "Ref." before "No." and digits ("Ref. No. 2024-18"): "reference".
_EN_REF = re.compile(r"\b(?:Ref|REF)\.\s*(?=number\b|No\.)")


# A Chinese name written in Chinese characters in an English prompt (Customer: 单雄飞) is read
# as pinyin syllables one by one, each with its common reading (Dan Xiong Fei), where {name}
# reads it as a name (Shan Xiongfei): two characters or more after a word that introduces a
# name (Customer:, Dear, Mr ...: ``_EN_NAME_CUE``; a name in parts too, 阿卜杜热合曼·艾买提), or
# two or three starting with a surname read otherwise than usual (曾国藩, 单雄飞; not the four
# of 华信证券).
_EN_HAN_RUN = re.compile(rf"{_HAN_PART}(?:\s*[{MIDDLE_DOTS}]\s*{_HAN_PART})*|{_CJK.pattern}")


# A name in pinyin after a title in an English text that the respelling leaves as written (Ms.
# Wang Fang, Mr. Shan: English letter rules say "wæng fæng", "shæn"; since speakable/19): a
# name written into the text, warned about as the Mandarin check warns about a name written
# in characters. Each of its one to three words parses as pinyin and is no English word
# (``kiosk.guide.en_pinyin``); a name respelt for the voice, in whole or in part (Mr Zhang:
# Jahng; Dear Qiu Ying: Chee-yoh Ying), is not warned.
_EN_TITLED_NAME = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Madam|Dr|Dear)\b\.?\s+"
                             r"(?P<n>[A-Z][a-z]+(?: [A-Z][a-z]+){0,2})\b")


def _en_titled_pinyin(text: str) -> Iterator[Issue]:
    for m in _EN_TITLED_NAME.finditer(text):
        words = m.group("n").split(" ")
        while words and (pinyin_word_syllables(words[-1]) is None or
                         words[-1].lower() in ENGLISH_WORDS):
            words.pop()  # Ms. Wang Will call: the name ends before a word that is no pinyin
        if not words or any(pinyin_word_syllables(w) is None or w.lower() in ENGLISH_WORDS
                            for w in words):
            continue
        name = " ".join(words)
        after = text[m.start("n") + len(name):m.start("n") + len(name) + 8]
        if _hong_kong_name(words, after):
            continue  # Chan Tai Man, Chang Hsueh-liang: said near enough (since speakable/24)
        said = respell_text(m.group(0)[:m.start("n") - m.start()] + name)
        kept = [w for w in words if re.search(rf"\b{w}\b", said)]
        if len(kept) < len(words):
            continue  # respelt for the English voice (Mr Zhang: Jahng; Qiu Ying: Chee-yoh Ying)
        yield Issue(m.start("n"), f"{name} is a name in pinyin written into the text, and "
                                  f"{' '.join(kept)} is said by English spelling (“"
                                  f"{said.split(' ', 1)[-1]}”); if it is the "
                                  "applicant's name use {name}, which is read as a name; a "
                                  "staff member's name can stay as written if that "
                                  "is near enough, or be respelt as said")


def _en_written_names(text: str) -> Iterator[Issue]:
    yield from _en_titled_pinyin(text)
    for m in _EN_HAN_RUN.finditer(text):
        run = m.group(0)
        cued = _EN_NAME_CUE.search(text, max(0, m.start() - 40), m.start()) is not None
        if not (cued and 2 <= len(run) <= 32 or 2 <= len(run) <= 3 and zh_surname(run)):
            continue
        yield Issue(m.start(), f"the Chinese characters {run} are read one by one with their "
                               f"common readings ({_en_cjk(run).strip()}); for the applicant's "
                               f"name write {{name}} (read as a name: {read_name(run, 'en')}), "
                               "else write the name or words in pinyin")


def round_nine_issues(text: str, locale: str) -> Iterator[Issue]:
    """The round-nine warnings, each at its offset in ``text``: in English a month/day with
    no year whose numbers could each be the month (7/3: read "July 3", but "7 March" day
    first), as dated ones are (``speech_issues``), and a Chinese name written in characters
    (``_en_written_names``); in Mandarin a dotted month.day read as a number though a date
    word follows it (1.15前: 一点一五前, with no date word before it)."""
    folded = fold_keep_offsets(text)
    if not is_zh(locale):
        yield from _en_written_names(folded)
        if "/" not in folded or _FORMULA.search(folded):
            return
        for m in _EN_FRACTION.finditer(folded):
            a, b = int(m.group(1)), int(m.group(2))
            said = _en_fraction(m)
            dated = _EN_MONTH_DAY.fullmatch(m.group(0)) is not None and \
                _en_month_day_dated(folded, m.start(), m.group(1), m.group(2), m.end())
            if a == b or not (1 <= a <= 12 and 1 <= b <= 12) or \
                    not (dated or said.startswith(EN_MONTHS[a - 1])):
                continue
            # a fraction's shape offers the fraction too (1/3: "one third"; since speakable/22)
            part = f"'{en_number_words(str(a))} {_EN_DENOMINATORS[b][a != 1]}' for a " \
                   "fraction, " if b in _EN_DENOMINATORS and 0 < a < b else ""
            yield Issue(m.start(), f"the date {m.group(0)} is ambiguous and read month first, "
                                   f"as {EN_MONTHS[a - 1]} {b}; write {part}"
                                   f"{EN_MONTHS[a - 1]} {b} for {'the date' if part else 'that'}"
                                   ", or "
                                   f"{a} {EN_MONTHS[b - 1]} for day first")
        return
    if "." not in folded:
        return
    for m in _ZH_DOTTED_MONTH_DAY.finditer(folded):
        if _zh_dotted_dated(folded, m) or not _ZH_DATE_AFTER.match(folded, m.end(), m.end() + 8):
            continue
        if _ZH_DOT_DATE.match(folded, m.start()) and \
                not _ZH_RATE_BEFORE.search(folded, max(0, m.start() - 3), m.start()):
            continue  # 12.31前: read as a date by the round-fifteen rule
        mo, d = int(m.group("mo")), int(m.group("d"))
        yield Issue(m.start(), f"{m.group(0)} is read as the number {_zh_number(m.group(0))}; "
                               f"write {mo}月{d}日 for a date")


# --------------------------------------------------------------------------- round ten
# The classes of the tenth tester round (#15).

# A two-digit year before 年 with no month after it (25年公司净利润, 24年全年, 24年度报告, 较24年末,
# 公司预计26年实现扭亏为盈): broker shorthand for 2025, said digit by digit as a year (二五年), not
# as a duration (二十五年). It is a year where the words after it make it one (年度, 年末, 年初,
# 年底, 年报, 全年, 上半年, 下半年, 第三季度 ...: ``_ZH_YEAR_AFTER``) or, with no word of a duration
# on either side, where it opens a sentence or a clause or follows a word of time (于, 在, 截至,
# 自, 从, 预计, 较 ...: ``_ZH_YEAR_BEFORE``). A duration stays one: 在25年内, 25年期, 满25年,
# 25年以上, 成立25年 (``_ZH_DURATION_AFTER`` / ``_ZH_DURATION_BEFORE``). Anything else is read as
# a duration and ``kiosk flows check`` warns (``round_ten_issues``). (25年3月 is a date already:
# ``_ZH_SHORT_YEAR``.)
_ZH_TWO_DIGIT_YEAR = re.compile(r"(?<![\d.,:/%~+\-])(?<!第)(?P<y>\d\d)年(?!\s*\d{1,2}\s*月)")
_ZH_YEAR_AFTER = re.compile(r"度|末|初|底|报|中报|年报|年度|全年|上半年|下半年|前三季度|"
                            r"第?[一二三四1-4]季度|首季|[QH]\d")
_ZH_DURATION_AFTER = re.compile(r"内|之内|以内|期|以上|以下|以来|来|多|余|左右|之久|间|半|零|整|"
                                r"有余|历史|经验|时间|工龄|教龄|"
                                # 10年后, 5年前, 90年代 (a decade, 九十年代): read so, and not
                                # warned since speakable/29
                                r"[后前]|以后|之后|以前|之前|代")
_ZH_DURATION_BEFORE = re.compile(r"(?:[少多大小高低长短等超]于|满|长达|达|超过|逾|近|历时|"
                                 r"经过|共|为期|有|已|用|花|约|大约|整整|不到|不足|至少|最长|最短|多达|过去|最近|未来|前|后|每|"
                                 r"成立|运营|经营|从业|工作|持有|存续|服务|持续|连续|坚持|累计|期限|"
                                 r"期限为|长|共计|合计|总计|这|那|几|再|又|头|了|"
                                 # a period things are kept for (保存20年; since speakable/20)
                                 r"保存|保留|保管|留存|存放|存储|储存|存档|归档|保密|延长|延期)\s*\Z")
_ZH_YEAR_BEFORE = re.compile(r"(?:\A|[，。；！？：,.;:!?、(（\s]|于|在|截至|截止|截止到|"
                             r"自|从|到|至|预计|预期|计划|将在|将于|较|相较|相比|对比|同比|比|直到|直至|始于|"
                             r"今|去|明|早在)\s*\Z")


def _zh_short_year_kind(text: str, m: re.Match) -> str:
    """"year", "duration" or "unsure" for the two-digit number before 年 at ``m``."""
    after, before = m.end(), text[max(0, m.start() - 6):m.start()]
    if _ZH_YEAR_AFTER.match(text, after):
        return "year"
    if _ZH_DURATION_AFTER.match(text, after) or _ZH_DURATION_BEFORE.search(before):
        return "duration"
    return "year" if _ZH_YEAR_BEFORE.search(before) else "unsure"


def _zh_short_years(text: str) -> str:
    return _subst(_ZH_TWO_DIGIT_YEAR, text, lambda t, m: "".join(
        YEAR_DIGITS[c] for c in m.group("y")) + "年" if _zh_short_year_kind(t, m) == "year"
        else m.group(0))


# An English month/day with no year (on 12/01, Payment due 06/30, by 3/4): a date, month first
# (docs/flows.md), where it has a leading zero (no fraction is written 06/30) or follows a word
# of a date (on, by, from, until, before, after, due, dated, a weekday). It was "12 or zero
# one": the leading-zero rule spelled 01 and '/' became "or". ``round_nine_issues`` warns when
# both numbers could be the month, with what the voice says.
_EN_MONTH_DAY = re.compile(r"(?<![\d/.,])(?P<m>0?[1-9]|1[0-2])/(?P<d>0?[1-9]|[12]\d|3[01])"
                           r"(?![\d/]|\.\d)")
_EN_DATE_CUE = re.compile(r"\b(?:on|by|from|until|till|before|after|due|dated|through|thru|"
                          r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|Mon|Tue|Tues|Wed|Thu|"
                          r"Thur|Thurs|Fri|Sat|Sun)\.?,?\s*\Z", re.IGNORECASE)


def _en_month_day_dated(text: str, start: int, month: str, day: str, end: int) -> bool:
    """Whether the month/day ``month``/``day`` at ``start`` of ``text`` (ending at ``end``)
    is read as a date by its shape or its context (see ``_EN_MONTH_DAY``). A fraction's shape
    (1/3, 3/4) stays a fraction after "from", "through" or before "of" (from 1/3 to 1/2 of your
    savings)."""
    if month.startswith("0") or day.startswith("0"):
        return True
    cue = _EN_DATE_CUE.search(text, max(0, start - 16), start)
    if cue is None:
        return False
    a, b = int(month), int(day)
    if b in _EN_DENOMINATORS and 0 < a < b:
        return not re.match(r"\s*(?:from|through|thru)\b", cue.group(0), re.IGNORECASE) and \
            not re.match(r"\s+of\b", text[end:end + 4]) and \
            not _EN_CHANGE_BY.search(text, max(0, start - 40), start)
    return True


# A change by a fraction (NAV dropped by 1/3, fell by 1/4, cut by 2/3): "by" is no date word
# after a verb of change, so 1/3 is "one third", not "January 3" (since speakable/22).
_EN_CHANGE_BY = re.compile(
    r"\b(?:drop(?:s|ped)?|f[ae]ll(?:s|en)?|ris(?:e|es|en)|rose|grows?|grew|grown|"
    r"increas(?:e|es|ed)|decreas(?:e|es|ed)|reduc(?:e|es|ed)|cuts?|los(?:e|es|t)|gain(?:s|ed)?|"
    r"declin(?:e|es|ed)|shr[iau]nks?|up|down|rais(?:e|es|ed)|lower(?:s|ed)?|dilut(?:e|es|ed)|"
    r"climb(?:s|ed)?|jump(?:s|ed)?|plung(?:e|es|ed)|slump(?:s|ed)?|rall(?:y|ies|ied)|"
    r"chang(?:e|es|ed)|adjust(?:s|ed)?|multipl(?:y|ies|ied)|divid(?:e|es|ed)|exceed(?:s|ed)?|"
    r"shed|sheds|trimm?(?:s|ed)?|slash(?:es|ed)?|expand(?:s|ed)?|widen(?:s|ed)?|narrow(?:s|ed)?)"
    r"\s+(?:\w+\s+)?by\s*\Z", re.IGNORECASE)


def _en_month_day(text: str, m: re.Match) -> str:
    if not _en_month_day_dated(text, m.start(), m.group("m"), m.group("d"), m.end()):
        return m.group(0)
    return f"{EN_MONTHS[int(m.group('m')) - 1]} {int(m.group('d'))}"


# An English fiscal or academic year across two calendar years (The fund's 2025/26 fiscal
# year; 2024/2025): "twenty twenty five to twenty six", as a broker says it. It was "2025 of
# 26" (a count out of a total), and the check said "2025 over 26". Only consecutive years:
# another pair is no span (``_EN_OF_COUNT`` reads it, and the check says so).
_EN_SPLIT_YEAR = re.compile(r"(?<![\w/.,])(?P<fy>FY\s?)?(?P<a>(?:19|20)\d\d)\s*/\s*"
                            r"(?P<b>\d\d|(?:19|20)\d\d)(?![\d/]|\.\d)")


def _en_split_year(m: re.Match) -> str:
    a, b = m.group("a"), m.group("b")
    if int(b) not in ((int(a) + 1) % 100 if len(b) == 2 else int(a) + 1,):
        return m.group(0)
    if len(b) == 4:
        tail = en_year(b)
    else:
        tail = ("oh " + en_number_words(b[1])) if b[0] == "0" else en_number_words(b)
    return f"{'fiscal year ' if m.group('fy') else ''}{en_year(a)} to {tail}"


def _en_split_year_read(text: str, start: int) -> bool:
    m = _EN_SPLIT_YEAR.match(text, start)
    if m is None and text[max(0, start - 3):start].lstrip().startswith("FY"):
        m = _EN_SPLIT_YEAR.match(text, text.rindex("FY", 0, start))
    return m is not None and _en_split_year(m) != m.group(0)


# A name written into Mandarin text in a greeting or an address (您好，单田芳。 单田芳您好， 尊敬的
# 单田芳客户 亲爱的曾国藩，), as after 先生 / 女士 and the role words (``_zh_names``): its surname
# gets the reading {name} gives it (单 shàn, 曾 zēng, 万俟 mò qí). A name there is two to four
# characters (four only with a compound surname) between the greeting and a pause, 您好, or a
# word of address (客户, 投资者 ...), starting with a surname read otherwise than usual
# (``zh_surname``), that is no common word: not a word of jieba's dictionary that starts it and
# is shorter than it (区域经理, 单位), nor a word of two characters (曾经, 华为); a word that is
# the whole name of three characters or more is a famous name (曾国藩). One the rule leaves as
# written ``kiosk flows check`` warns about ("a name written into the text: use {name}").
_ZH_GREETING_BEFORE = re.compile(r"(?:(?:您好|你好|早上好|上午好|下午好|晚上好)[，,！!：:\s]*|"
                                 r"尊敬的|亲爱的)\Z")
_ZH_GREETING_AFTER = re.compile(r"\s*(?:[，,]\s*)?(?:您好|你好)|\s*(?:客户|投资者|用户|会员|朋友|"
                                r"股东)|\s*(?:[，,。.！!？?；;：:）)]|\Z)")
_ZH_NAME_VERB_AFTER = re.compile("将为|将于|将在|将负责|请|负责|为您|会为|已为|来为|给您")
_ZH_CLAUSE_OPEN = re.compile(r"(?:\A|[，,。.！!？?；;：:（(]\s*)\Z")


# Words that start with a surname's character and are no name (单号：#A-2025-0315 was "shàn
# 号", and the check said to use {name}; since speakable/29).
_ZH_SURNAME_CHAR_WORDS = frozenset("单号 单据".split())


def _zh_greeting_name_kind(name: str) -> str | None:
    """"name" when ``name`` (in a greeting) is read as a name, "unsure" when it starts with a
    surname read otherwise than usual but is a word, None when it starts with no such
    surname."""
    found = zh_surname(name)
    if found is None or len(found[0]) == len(name) or name[:2] in _ZH_SURNAME_CHAR_WORDS:
        return None
    if len(name) == 4 and found[0] not in ZH_COMPOUND_SURNAMES:
        return None
    words = zh_segments(name)
    first = words[0][1] if words else 1
    whole = first == len(name) >= 3
    if not whole and (first > len(found[0]) or _zh_no_name_word(name[:2])) and \
            name[:2] not in ZH_COMPOUND_SURNAMES:
        return "unsure"
    return "name"


def _zh_greeting_names_at(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, kind)`` of each name candidate in a greeting (see above): "name" where it
    is read as a name, "unsure" where the rule cannot tell (a word right after 您好 or before
    您好 with a pause), "opening" for a name-like run (no word) that opens a clause with no
    greeting and ends at a pause or before the clause's verb (单田芳，请确认, 曾强将为您办理):
    read as a name, and warned about as a name written into the text."""
    for p in range(len(text)):
        if not _cjk_run(text, p, p + 2) or zh_surname(text[p:p + 2]) is None:
            continue
        before = text[max(0, p - 8):p]
        greeted = _ZH_GREETING_BEFORE.search(before) is not None
        if not greeted and _ZH_CLAUSE_OPEN.search(before) is None:
            continue
        for n in (4, 3, 2):
            after = _ZH_GREETING_AFTER.match(text, p + n) if _cjk_run(text, p, p + n) else None
            if after is None:
                continue
            kind = _zh_greeting_name_kind(text[p:p + n])
            if kind is None:
                continue
            hello = re.match(r"\s*(?:[，,]\s*)?(?:您好|你好)", after.group(0)) is not None
            addressed = not hello and re.search("[\u4e00-\u9fff]", after.group(0)) is not None
            if greeted or hello:
                if kind == "name" or not addressed:  # 尊敬的单位客户: a word before 客户
                    yield p, p + n, kind
            elif kind == "name" and text[p] not in _NOT_BEFORE_MR and \
                    text[p + 1:p + n] not in ZH_TITLES:  # 单经理，: ``_zh_titled_names``
                # a name that opens a clause and ends at a pause (曾强，请签字 单田芳，请确认):
                # read as a name since speakable/19 (its first two characters are no word);
                # a surname with 先生 / 女士 (单先生，请坐) was read before, and is not warned
                yield p, p + n, "name" if _ZH_MR.search(text, p, p + n) else "opening"
            break
        else:
            if greeted or _ZH_CLAUSE_OPEN.search(before) is not None:
                for n in (3, 2):  # 曾强将为您办理: a name before the verb of its clause
                    if _cjk_run(text, p, p + n) and _ZH_NAME_VERB_AFTER.match(text, p + n) and \
                            text[p] not in _NOT_BEFORE_MR and text[p + 1:p + n] not in ZH_TITLES \
                            and _zh_greeting_name_kind(text[p:p + n]) == "name" and \
                            not _ZH_NOT_GIVEN.search(text, p + 1, p + n):
                        yield p, p + n, "name" if greeted or _ZH_MR.search(
                            text, p, p + n) else "opening"
                        break


# A staff name after 由 and before the verb of what the staff member does (本次见证由曾晓东办理:
# zēng; since speakable/22); with 先生 / 女士 after it the name was read already.
_ZH_BY_NAME = re.compile("由(?P<n>[\u3400-\u4dbf\u4e00-\u9fff]{2,3}?)"
                         "(?=办理|负责|见证|经办|受理|接待|主持|审核|复核|协助|陪同|为您|向您|与您|"
                         "进行|完成|联系|签字|签署)")


# A name character of ``ZH_NAME_CHAR_READINGS`` in a name with a common surname before a title
# (请沈婠女士确认) or after a staff role (见证员沈婠): its reading in a name (since speakable/22).
_ZH_NAME_CHAR = re.compile(
    "[" + "".join(sorted(c for c in _ZH_COMMON_SURNAMES if len(c) == 1)) + "]"
    "[\u4e00-\u9fff]?[" + "".join(ZH_NAME_CHAR_READINGS) + "][\u4e00-\u9fff]?"
    r"(?=女士|先生|小姐|同志|老师|经理|本人|[，,。.；;！!？?：:\s]|\Z)")


def _zh_name_char_names(text: str) -> str:
    if not any(c in ZH_NAME_CHAR_READINGS for c in text):
        return text

    def said(m: re.Match) -> str:
        a = m.start()
        if a and _CJK.match(text[a - 1]) and not (
                _ZH_BEFORE_NAME.search(text, max(0, a - 4), a) or
                _ZH_ROLE_BEFORE.search(text, max(0, a - 12), a)):
            return m.group(0)
        return m.group(0)[0] + zh_name_chars(m.group(0)[1:])

    return _ZH_NAME_CHAR.sub(said, text)


def _zh_by_names(text: str) -> str:
    if "由" not in text:
        return text

    def said(m: re.Match) -> str:
        a, b = m.start("n"), m.end("n")
        name = text[a:b]
        if zh_surname(name) is None or text[a + 1:b] in ZH_TITLES or \
                _ZH_NOT_GIVEN.search(text, a + 1, b) or zh_is_word(name) or \
                _zh_no_name_word(text[a:a + 2]) and not _zh_overlapping_name(text, a, b):
            return m.group(0)
        return "由" + _zh_said_name(text, a, b)

    return _ZH_BY_NAME.sub(said, text)


def _zh_greeting_names(text: str) -> str:
    if not _ESPEAK_CJK.search(text):
        return text
    out: list[str] = []
    pos = 0
    for a, b, kind in _zh_greeting_names_at(text):
        if kind not in ("name", "opening") or a < pos:
            continue
        out += [text[pos:a], _zh_said_name(text, a, b)]
        pos = b
    out.append(text[pos:])
    return "".join(out)


_ZH_ROLE_BEFORE = re.compile(f"(?:{_ZH_NAME_ROLE.pattern})\\Z")


def round_ten_issues(text: str, locale: str) -> Iterator[Issue]:
    """The round-ten warnings, each at its offset in ``text``: in Mandarin a two-digit number
    before 年 that could be a year or a duration (read as a duration), and a word in a greeting
    that may be a name whose surname is read otherwise than usual (left as written)."""
    if not is_zh(locale):
        return
    folded = fold_keep_offsets(text)
    if "年" in folded:
        for m in _ZH_TWO_DIGIT_YEAR.finditer(folded):
            if _zh_short_year_kind(folded, m) != "unsure":
                continue
            y = m.group("y")
            yield Issue(m.start(), f"{y}年 is read as a duration ({zh_cardinal(str(int(y)))}年, "
                                   f"'{int(y)} years'); write 20{y}年 for a year, or a word of "
                                   "a duration (满, 以上, 内 ...) next to it")
    for a, b, kind in _zh_greeting_names_at(folded):
        surname, reading = zh_surname(folded[a:b]) or ("", "")
        # read as a name by another rule (客户姓名：单雄飞，): no warning
        if kind == "opening" and _ZH_ROLE_BEFORE.search(folded, max(0, a - 12), a):
            continue  # 客户姓名：单雄飞，: the role names the applicant; read as a name, no warning
        if kind == "opening":
            yield Issue(a, f"{folded[a:b]} is read as a name written into the text (its "
                           f"surname {surname} is read {reading}): every applicant would hear "
                           "it; use {name} for the applicant's name")
        elif kind == "unsure" and reading not in speakable(folded[max(0, a - 12):b + 1],
                                                            locale):
            yield Issue(a, f"{folded[a:b]} may be a name written into the text: it is read as "
                           f"words, so the surname {surname} is not read {reading}; use {{name}} "
                           "for the applicant's name (read as a name), or write the reading")


# --------------------------------------------------------------------------- round eleven
# The classes of the eleventh tester round (#15; speakable/15). ``_zh_round_eleven`` runs them
# first in a Mandarin prompt, before every other rule, and writes Chinese numerals, which no
# later rule reads as a number again; ``round_eleven_issues`` warns; ``_zh_bank_hang`` is part
# of the polyphone pass.

# A slash between numbers that is a separator, not a fraction: after 第 (第12/356号, a
# document number: 第十二斜杠三百五十六号), before 号 where the numbers cannot be a month/day
# (12/356号; 7/3号 stays a date), and in a code after a cue word (编号2024/0012: digits one by
# one). '/' is said 斜杠, the name a reader gives it in a number.
_ZH_SLASH_ORDINAL = re.compile(r"(?P<pre>第\s*)(?P<l>\d+(?:\s*/\s*\d+)+)(?![\d.%‰]|/\d)")
_ZH_SLASH_BEFORE_HAO = re.compile(r"(?<![\d./])(?P<l>\d+(?:\s*/\s*\d+)+)(?=\s*号)")
_ZH_SLASH_CODE = re.compile(rf"(?P<pre>(?:{_ZH_DIGIT_CUES}|文号|批号|字号)[为是：:\s]*)"
                            r"(?P<l>\d+(?:\s*/\s*\d+)+)(?![\d.%‰]|/\d)")


def _slash_parts(listed: str, digits: bool) -> str:
    parts = re.split(r"\s*/\s*", listed)
    return "斜杠".join(spell_digits(p, "zh") if digits else _zh_number(str(int(p)))
                     for p in parts)


def _zh_slash_before_hao(m: re.Match) -> str:
    parts = [int(p) for p in re.split(r"\s*/\s*", m.group("l"))]
    if len(parts) == 2 and 1 <= parts[0] <= 12 and 1 <= parts[1] <= 31:
        return m.group(0)  # 7/3号, 12/31号: a month and a day (_ZH_MONTH_DAY)
    return _slash_parts(m.group("l"), digits=False)


# Generation words (90后, 00后, 85后, 70、80后): the decade's two digits one by one, as said
# (九零后, 零零后, 八五后); 九十后 was a number. Only a decade or a half-decade (x0, x5) right
# before 后, with no digit, point, colon, 第, +, date word or word of reaching a level before it
# (3月15后, T+15后, 9:15后, 股价跌至10后, 满60后 are no generations).
_ZH_GENERATION = re.compile(r"(?<![\d.:/+\-第年月日点号至到破过超满达于])"
                            r"(?P<l>\d[05](?:\s*[、，,和及与]\s*\d[05])*)(?=后(?!\d))")

# A span of two years written with two digits (23-24年, 24/25财年, 2023-24年, 2024/25财年):
# each year digit by digit and 至 between (二三至二四年, 二〇二三至二四年); it was a range of
# numbers (二十三到二十四年) or a fraction. Before 财年 / 年度 / 学年 / 赛季 / 会计年度 any later
# second year is a span; before a plain 年 only the next year is (10-20年 stays a range of
# durations, 十到二十年), and not after a word of a duration (持有23-24年: round ten's cues).
_ZH_YEAR_SPAN = re.compile(r"(?<![\d.,/:])(?P<a>(?:19|20)?\d\d)\s*(?:[-/~]|至|到)\s*(?P<b>\d\d)"
                           r"(?=\s*(?P<w>财年|财政年度|会计年度|年度|学年|赛季|年))")


def _zh_year_span(text: str, m: re.Match) -> str:
    a, b = int(m.group("a")[-2:]), int(m.group("b"))
    if m.group("w") == "年":
        if b != (a + 1) % 100 or _ZH_DURATION_BEFORE.search(text, max(0, m.start() - 6),
                                                             m.start()):
            return m.group(0)
    elif not (b > a or b == (a + 1) % 100):
        return m.group(0)
    return ("".join(YEAR_DIGITS[c] for c in m.group("a")) + "至"
            + "".join(YEAR_DIGITS[c] for c in m.group("b")))


def _zh_year_span_at(text: str, i: int) -> bool:
    """Whether the numbers at ``text[i]`` are a span of years the rule above reads."""
    m = _ZH_YEAR_SPAN.match(text, i)
    return m is not None and _zh_year_span(text, m) != m.group(0)


# A phone number with an extension after a hyphen or 转 (021-68881234-8052, (021)68881234-8052,
# 400-820-8820-123, 0571-8888 1234转806): area code, number and extension each digit by digit,
# a pause (a space) between them and 转 before the extension; the extension was read as a
# negative number (负八千零五十二). Landlines with an area code (0 and 2-3 digits) and 400 / 800
# numbers.
_ZH_PHONE_EXTENSION = re.compile(
    r"(?<![\d.,+\-])(?P<a>\(0\d{2,3}\)|0\d{2,3}|[48]00)\s?-?\s?"
    r"(?P<n>\d{3,4}[- ]?\d{4})\s*(?:-|转|—|\u2212)\s*(?P<x>\d{1,6})(?![\d.]|,\d|-\d)")


def _zh_phone_extension(m: re.Match) -> str:
    return (f" {spell_digits(m.group('a'), 'zh')} {spell_digits(m.group('n'), 'zh')} 转 "
            f"{spell_digits(m.group('x'), 'zh')} ")


# A futures contract by its commodity and month (豆粕2605, 螺纹钢2610, 沪铜2603): YYMM, said
# digit by digit (二六零五), as traders say it; it was a cardinal (两千六百零五). The word
# before must be one of the commodities listed on China's futures exchanges (SHFE, INE, DCE,
# CZCE, GFEX: their names and the usual short names), and the month 01-12, with no unit or
# digit after (豆粕3000元/吨 is a price). Indexes are no commodities: 沪深300, 中证500 stay
# numbers. Two months joined by - / or 、 (螺纹钢2605-2610价差, a spread) are two contracts
# (二六零五、二六一零; the hyphen was a minus). (A code with letters, M2605 or RB2610, is read
# by the code rule already.)
ZH_FUTURES_COMMODITIES = frozenset("""
豆一 豆二 豆粕 豆油 棕榈油 玉米 玉米淀粉 淀粉 鸡蛋 生猪 粳米 原木 纤维板 胶合板 聚乙烯 塑料 聚氯乙烯
聚丙烯 乙二醇 苯乙烯 液化石油气 液化气 焦炭 焦煤 铁矿石 铁矿 沪铜 沪铝 沪锌 沪铅 沪镍 沪锡 沪金 沪银
黄金 白银 氧化铝 螺纹钢 螺纹 线材 热轧卷板 热卷 不锈钢 燃料油 燃油 低硫燃料油 石油沥青 沥青 天然橡胶
橡胶 丁二烯橡胶 合成橡胶 纸浆 原油 国际铜 集运指数 集运欧线 强麦 普麦 棉花 棉纱 白糖 菜籽油 菜油
菜籽粕 菜粕 油菜籽 菜籽 早籼稻 晚籼稻 粳稻 苹果 红枣 花生 甲醇 玻璃 纯碱 尿素 硅铁 锰硅 短纤
涤纶短纤 动力煤 烧碱 对二甲苯 瓶片 工业硅 碳酸锂 多晶硅 铂 钯 铜 铝 锌 铅 镍 锡
""".split())
_ZH_FUTURES = re.compile(
    "(?P<w>" + "|".join(sorted(ZH_FUTURES_COMMODITIES, key=len, reverse=True)) + ")"
    r"(?P<s>\s?)(?:期货|主力)?(?P<c>\d\d(?:0[1-9]|1[0-2]))"
    r"(?:\s*[-/、]\s*(?P<c2>\d\d(?:0[1-9]|1[0-2])))?(?![\d.,%‰]|\s*[-~至到]\s*\d{1,3}(?!\d))")
_ZH_FUTURES_UNIT = re.compile("[元万亿千百个吨克斤桶手张份股点%‰倍]|美元|港元|公斤|千克|盎司")


def _zh_futures(text: str, m: re.Match) -> str:
    w = m.group("w")
    if len(w) == 1 and m.start() and _CJK.match(text[m.start() - 1]) and \
            text[m.start() - 1] != "沪":
        return m.group(0)  # 铜 inside a word (青铜2000) is no contract
    if _ZH_FUTURES_UNIT.match(text, m.end()) or re.match(r"\s*[元万亿吨克桶手点%]", text[m.end():]):
        return m.group(0)
    said = m.group(0)[:m.start("c") - m.start()] + spell_digits(m.group("c"), "zh")
    # a second month after it (螺纹钢2605-2610价差, a spread): the two contracts, a pause between
    return said + ("、" + spell_digits(m.group("c2"), "zh") if m.group("c2") else "")


# A name written into the identity question (您是张三本人吗, 请问您是单田芳本人吗, 您是否为X本人):
# the frame makes it a name. Its surname gets the reading {name} gives it (单 shàn) where it
# is one read otherwise than usual, and ``kiosk flows check`` warns about every such name: a
# flow says the applicant's name as {name}, never as a name written in. Two or three
# characters (four with a compound surname), none of the characters that make a clause
# (_ZH_NOT_GIVEN) and no word of a role (客户, 投资者, 账户持有人 ...: ending in 人 者 户 员 方 主).
_ZH_IDENTITY_NAME = re.compile(r"(?:(?:您|你)(?:是否|就|真的)?|是否)(?:是|为)\s*"
                               r"(?P<n>[\u3400-\u4dbf\u4e00-\u9fff]{2,4})\s*(?:先生|女士)?\s*本人"
                               r"|(?:我|本人)(?:是|叫|名叫)\s*(?P<m>[\u3400-\u4dbf\u4e00-\u9fff]{2,4})"
                               r"(?=[，,。.；;！!？?\s]|\Z)")
_ZH_ROLE_END = frozenset("人者户员方主")


def _zh_identity_names_at(text: str) -> Iterator[tuple[int, int]]:
    for m in _ZH_IDENTITY_NAME.finditer(text):
        group = "n" if m.group("n") else "m"
        name = m.group(group)
        if name[-1] in _ZH_ROLE_END or _ZH_NOT_GIVEN.search(name) or "否" in name or \
                len(name) == 4 and name[:2] not in ZH_COMPOUND_SURNAMES or \
                _zh_no_name_word(name[:2]) and name[:2] not in ZH_COMPOUND_SURNAMES and \
                zh_surname(name) is None:
            continue
        yield m.start(group), m.end(group)


def _zh_identity_names(text: str) -> str:
    if "本人" not in text and "我" not in text:
        return text
    out: list[str] = []
    pos = 0
    for a, b in _zh_identity_names_at(text):
        out += [text[pos:a], _zh_said_name(text, a, b)]
        pos = b
    out.append(text[pos:])
    return "".join(out)


def _zh_round_eleven(text: str) -> str:
    """The round-eleven rules of a Mandarin prompt (see the section's comment)."""
    if "/" in text:
        text = _ZH_SLASH_ORDINAL.sub(lambda m: m.group("pre")
                                     + _slash_parts(m.group("l"), digits=False), text)
        text = _ZH_SLASH_CODE.sub(lambda m: m.group("pre")
                                  + _slash_parts(m.group("l"), digits=True), text)
        if "号" in text:
            text = _ZH_SLASH_BEFORE_HAO.sub(_zh_slash_before_hao, text)
    if "后" in text:
        text = _ZH_GENERATION.sub(lambda m: re.sub(r"\d\d", lambda d: spell_digits(
            d.group(0), "zh"), m.group("l")), text)
    if "年" in text or "赛季" in text:
        text = _subst(_ZH_YEAR_SPAN, text, _zh_year_span)
    text = _ZH_PHONE_EXTENSION.sub(_zh_phone_extension, text)
    text = _subst(_ZH_FUTURES, text, _zh_futures)
    return _zh_identity_names(text)


def _round_eleven_spans(text: str) -> set[int]:
    """Offsets the round-eleven rules read as a whole (a phone number with its extension, a
    slash separator, a contract month), where no digit or fraction warning applies."""
    spans: set[int] = set()
    for pattern in (_ZH_PHONE_EXTENSION, _ZH_SLASH_ORDINAL, _ZH_SLASH_CODE, _ZH_FUTURES):
        for m in pattern.finditer(text):
            spans.update(range(m.start(), m.end()))
    return spans


# 行 as a bank (háng) after a word of a bank's role or a bank's short name (开户行, 托管行,
# 存管行, 收款行, 总行, 投行, 我行, 贵行, 工行 ...): pypinyin's phrase table knows a few (开户行,
# 分行, 央行) and gets 总行 wrong (xíng), and a phrase it knows is not taken where it crosses
# a word of the text's segmentation (您的开户行为工商银行: 开户 + 行为). 行 is háng there when
# it ends its word in the segmentation (not 我行将: 行将 is a word) and does not begin a word
# read xíng with the next character (集中行权, 应该行使: 行权 and 行使; a word of jieba's or
# pypinyin's table, or 行权, which neither holds). Before 为: háng, and 为 the copula wéi, after
# a role that names a bank's part in a transaction (``_ZH_BANK_COPULA_ROLES``) when the clause
# goes on to name a bank (开户行为工商银行; 规范开户行为 stays xíng wéi, "behaviour"); háng, and
# 为 "for" (wèi), after 本 我 贵 or such a role before a pronoun or a service (本行为您提供 ...);
# else the segmentation's 行为 (员工行为 stays xíng wéi).
ZH_BANK_ROLES = ("开户|托管|存管|代销|结算|收款|付款|汇款|汇入|汇出|发卡|清算|承销|主办|代理|经办|"
                 "合作|签约|贷款|放款|收单|募集|商业|股份制|城商|农商|外资|中资|国有|邮储|"
                 "总|分|支|投|央|本|我|贵|该|各|工|建|农|中|交|招|浦发|民生|兴业|光大|华夏")
_ZH_BANK_COPULA_ROLES = frozenset("开户 托管 存管 代销 结算 收款 付款 汇款 汇入 汇出 发卡 清算 "
                                  "承销 主办 收单".split())
_ZH_BANK_HANG = re.compile(f"(?P<r>{ZH_BANK_ROLES})行")
_ZH_BANK_NAMED = re.compile(r"[^，。；！？,;!?]*?(?:行|银|信用社)")


def _zh_bank_hang(text: str, readings: list[str | None]) -> None:
    """Set ``readings`` (one per character of ``text``, as ``zh_phrase_readings`` gives them)
    of each 行 that is a bank by the rule above to hang2 (and of 为 after it: wei2 for the
    copula, None for wèi)."""
    if "行" not in text or not _ZH_BANK_HANG.search(text):
        return
    word_end = {b for _, b in zh_segments(text)}
    for m in _ZH_BANK_HANG.finditer(text):
        i = m.end() - 1
        if text[i + 1:i + 2] == "为":
            role = m.group("r")
            if (role in _ZH_BANK_COPULA_ROLES or role in "本我贵") and \
                    _ZH_WEI_FOR.match(text, i + 2):
                readings[i], readings[i + 1] = "hang2", None
            elif role in _ZH_BANK_COPULA_ROLES and _ZH_BANK_NAMED.match(text, i + 2):
                readings[i], readings[i + 1] = "hang2", "wei2"
        elif m.group("r") == "我" and (text[:m.start()].rstrip().endswith("任") or
                                      text[:m.start()].rstrip()[-3:] == protect_spoken("rén")):
            continue  # 任我行: a name (xíng), not "our bank"
        elif m.group("r") in "本我贵" and text[i + 1:i + 2] == "将":
            readings[i] = "hang2"  # 我行将为您…: "our bank will", not 行将 "about to"
        elif i + 1 in word_end and not _zh_xing_word(text[i:i + 2]):
            readings[i] = "hang2"


# Set phrases with a polyphone the tables read otherwise (since speakable/21): 一行两会 (the
# central bank and the regulators: yì háng liǎng huì, not xíng), 朝九晚五 (zhāo, "morning").
_ZH_SET_PHRASES: dict[str, dict[int, str]] = {
    "一行两会": {1: "hang2"}, "一行三会": {1: "hang2"}, "一行一局一会": {1: "hang2"},
    "朝九晚五": {0: "zhao1"}, "朝九晚六": {0: "zhao1"}, "朝三暮四": {0: "zhao1"},
}


def _zh_goes_up(text: str, readings: list[str | None]) -> None:
    """Set the reading of 行 in 上行, a word of the text's segmentation, to xing2: "goes up"
    (利率上行, 上行风险, 上行周期, 上行空间, 上行列车), as 下行 is (pypinyin's phrase table reads
    上行 shàng háng; since speakable/20). 上 + 行情 (市场上行情好) is no such word."""
    for a, b in zh_segments(text):
        if text[a:b] == "上行":
            readings[a + 1] = "xing2"


def _zh_xing_word(pair: str) -> bool:
    """Whether ``pair`` (行 and the character after it) is a word in which 行 is xíng."""
    return pair == "行权" or len(pair) == 2 and (pair in word_counts() or zh_is_word(pair)) and \
        _zh_pair_reading(pair) == "xing2"


def _zh_pair_reading(pair: str) -> str | None:
    readings = zh_phrase_readings(pair)
    return readings[0]


def round_eleven_issues(text: str, locale: str) -> Iterator[Issue]:
    """The round-eleven warnings: in Mandarin a name written into the identity question
    (您是张三本人吗), at its offset in ``text``."""
    if not is_zh(locale) or "本人" not in text:
        return
    folded = fold_keep_offsets(text)
    for a, b in _zh_identity_names_at(folded):
        name = folded[a:b]
        found = zh_surname(name)
        said = f" (its surname {found[0]} is read {found[1]} by a rule)" if found else ""
        yield Issue(a, f"{name} is a name written into the text{said}: every applicant would "
                       f"hear it; use {{name}} for the applicant's name (您是{{name}}本人吗)")


# --------------------------------------------------------------------------- round twelve
# Rules for the classes of the twelfth tester round (#15), and the safety net that warns where
# a written character is not said at all (``safety_net_issues``).

# The CJK Radicals Supplement (U+2E80–U+2EF3) as the unified ideographs Unicode names as their
# equivalents: the EquivalentUnifiedIdeograph.txt data file of the Unicode Character Database
# (15.1; the radicals that file maps, transcribed). Text copied out of a PDF often holds them
# (⻛险 for 风险); NFKC folds the Kangxi radicals (U+2F00 block) but not these, and the voice
# has no reading for them.
CJK_RADICAL_EQUIVALENTS = {
    0x2E80: "\u51ab", 0x2E81: "\u5382", 0x2E82: "\u4e5b", 0x2E83: "\u4e5a", 0x2E84: "\u4e59",
    0x2E85: "\u4ebb", 0x2E86: "\u5182", 0x2E89: "\u5202", 0x2E8A: "\u535c", 0x2E8B: "\u353e",
    0x2E8E: "\u5140", 0x2E8F: "\u5c23", 0x2E90: "\u5c22", 0x2E92: "\u5df3", 0x2E93: "\u5e7a",
    0x2E94: "\u5f51", 0x2E95: "\u5f50", 0x2E96: "\u5fc4", 0x2E97: "\u38fa", 0x2E98: "\u624c",
    0x2E99: "\u6535", 0x2E9B: "\u65e1", 0x2E9D: "\u6708", 0x2E9E: "\u6b7a", 0x2E9F: "\u6bcd",
    0x2EA0: "\u6c11", 0x2EA1: "\u6c35", 0x2EA2: "\u6c3a", 0x2EA3: "\u706c", 0x2EA5: "\u722b",
    0x2EA6: "\u4e2c", 0x2EA8: "\u72ad", 0x2EAB: "\u7f52", 0x2EAC: "\u793a", 0x2EAD: "\u793b",
    0x2EAF: "\u7cf9", 0x2EB0: "\u7e9f", 0x2EB1: "\u7f53", 0x2EB3: "\u34c1", 0x2EB4: "\u34c1",
    0x2EB9: "\u8002", 0x2EBA: "\u8080", 0x2EBC: "\u6708", 0x2EBD: "\u81fc", 0x2EBE: "\u8279",
    0x2EBF: "\u8279", 0x2EC0: "\u8279", 0x2EC1: "\u864e", 0x2EC2: "\u8864", 0x2EC3: "\u8980",
    0x2EC4: "\u897f", 0x2EC5: "\u89c1", 0x2EC8: "\u8ba0", 0x2EC9: "\u8d1d", 0x2ECB: "\u8f66",
    0x2ECD: "\u8fb6", 0x2ECF: "\u961d", 0x2ED0: "\u9485", 0x2ED1: "\u9577", 0x2ED2: "\u9578",
    0x2ED3: "\u957f", 0x2ED6: "\u961d", 0x2ED8: "\u9752", 0x2ED9: "\u97e6", 0x2EDA: "\u9875",
    0x2EDB: "\u98ce", 0x2EDC: "\u98de", 0x2EDD: "\u98df", 0x2EDF: "\u98e0", 0x2EE0: "\u9963",
    0x2EE2: "\u9a6c", 0x2EE3: "\u9aa8", 0x2EE4: "\u9b3c", 0x2EE5: "\u9c7c", 0x2EE6: "\u9e1f",
    0x2EE7: "\u5364", 0x2EE8: "\u9ea6", 0x2EE9: "\u9ec4", 0x2EEA: "\u9efe", 0x2EEB: "\u6589",
    0x2EEC: "\u9f50", 0x2EED: "\u6b6f", 0x2EEE: "\u9f7f", 0x2EEF: "\u7adc", 0x2EF0: "\u9f99",
    0x2EF1: "\u9f9c", 0x2EF2: "\u4e80", 0x2EF3: "\u9f9f",
}
# Four radicals that file leaves out, by their names (C-SIMPLIFIED GATE 门, RAIN 雨, EAT TWO 食,
# SIMPLIFIED HORN 角), as other converters map them.
CJK_RADICAL_EQUIVALENTS |= {0x2ED4: "\u95e8", 0x2ED7: "\u96e8", 0x2EDE: "\u98df",
                            0x2EC6: "\u89d2"}
_RADICAL = re.compile("[\u2e80-\u2ef3]")

# Marks, not words: ™ ® © ℠ ℗ are not said in either locale (NFKC would make ™ the letters T M).
SILENT_MARKS = "\u2122\u00ae\u00a9\u2120\u2117"
_SILENT_MARK = re.compile(f"\\s?[{SILENT_MARKS}]")
# Signs of a range that look like a tilde (〜 U+301C wave dash, ∼ U+223C tilde operator,
# ⁓ U+2053 swung dash, ∽ U+223D, 〰 U+3030, ˜ U+02DC): the ASCII ~ the range rules read.
TILDE_LOOKALIKES = "\u301c\u223c\u2053\u223d\u3030\u02dc"
_TILDE_LOOKALIKE = re.compile(f"[{TILDE_LOOKALIKES}]")
# Vulgar fractions (½ ⅓ ¼ ¾ ⅔ ⅛ ...), with a whole number before them (1½): their value from
# the Unicode data (NFKC gives numerator ⁄ denominator), 二分之一 / "one half".
_VULGAR = re.compile(r"(?P<n>(?<![\d.])\d+\s?)?(?P<f>[\u00bc-\u00be\u2150\u2152-\u215e\u2189])")


def _vulgar_fraction(m: re.Match, zh: bool) -> str:
    a, b = (int(x) for x in unicodedata.normalize("NFKC", m.group("f")).split("\u2044"))
    whole = (m.group("n") or "").strip()
    if zh:
        said = f"{zh_cardinal(str(b))}分之{zh_cardinal(str(a))}"
        return f"{whole}又{said}" if whole else said
    word = _EN_DENOMINATORS.get(b, (en_ordinal_words(str(b)), en_ordinal_words(str(b)) + "s"))
    said = f"{en_number_words(str(a))} {word[a != 1]}"
    return f" {whole} and {said} " if whole else f" {said} "


def _round_twelve_marks(text: str, zh: bool) -> str:
    """The round-twelve rules that read characters NFKC would change: marks (silent) and
    vulgar fractions (words)."""
    if _SILENT_MARK.search(text):
        text = _SILENT_MARK.sub("", text)
    if _VULGAR.search(text):
        text = _VULGAR.sub(lambda m: _vulgar_fraction(m, zh), text)
    return text


# A sign between Latin letters and a number of basis points or percent (LPR-50bp, LPR+50bp,
# SHIBOR-0.2%; after a Chinese word the hyphen rules already make it a minus): a spread,
# so the hyphen is a minus (a minus is never dropped). A
# hyphen between letters and digits with no such unit is a code (ABC-12345: spelled) and is
# left to the code rules; where neither reads it the safety net warns.
_SPREAD_MINUS = re.compile(r"(?<=[A-Za-z])\s*(?P<s>[-+])\s*(?=\d+(?:\.\d+)?\s*"
                           r"(?:bps?\b|BPS?\b|bp|BP|%|个基点|基点))")
# An em dash between two clock times with a part of the day after it (上午8:30—下午5:30,
# 8:30 a.m.—5:30 p.m.): a range, 到 / "to", as between digits.
_EM_DASH_TIMES = re.compile(r"(?P<a>\d:\d\d(?:\s*[AaPp]\.?\s?[Mm]\.?)?)\s*[\u2014\u2015]\s*"
                            r"(?=(?:上午|下午|早上|晚上|傍晚|凌晨|中午|次日)\s*\d{1,2}:\d\d)")


def _round_twelve_folded(text: str, zh: bool) -> str:
    """The round-twelve rules run on the folded text before the dashes are read: tilde
    look-alikes, a spread's minus, an em dash between times."""
    if _TILDE_LOOKALIKE.search(text):
        text = _TILDE_LOOKALIKE.sub("~", text)
    if "-" in text or "+" in text:
        text = _SPREAD_MINUS.sub(lambda m: " \u2212" if m.group("s") == "-" else " +", text)
    if "\u2014" in text or "\u2015" in text:
        text = _EM_DASH_TIMES.sub(lambda m: m.group("a") + ("到" if zh else " to "), text)
    return text


# Short service numbers after a word of calling (请拨打110, 致电95588, call 999, dial 12386):
# digit by digit; so is a number before 热线 / 客服电话 (12386热线). Three digits at least, and
# not a count (拨打3次, call 10 times).
_ZH_CALL = re.compile(r"(?P<cue>拨打|致电|拨|呼叫|打)\s*(?P<d>\d{3,}(?:\s*[、/或和及]\s*\d{3,})*)"
                      r"(?![\d.,%‰-]|\s\d|\s*(?:次|个|遍|位|名|元|万|分钟|秒))")
_ZH_BEFORE_HOTLINE = re.compile(r"(?<![\d.,])(?P<d>\d{3,})(?=\s*(?:服务|客服|投诉|举报)?(?:热线|"
                                r"电话|专线))")
_EN_CALL = re.compile(r"\b(?P<cue>[Cc]all(?:ing)?|[Dd]ial(?:ling)?|[Rr]ing)\s+"
                      r"(?:us\s+(?:on|at)\s+)?"
                      r"(?P<d>\d{3,}(?:\s*(?:,|or|and|/)\s*\d{3,})*)"
                      r"(?![\d.,%-]|\s\d|\s*(?:times?|people|calls?|minutes?|seconds?)\b)")


def _spell_runs(text: str, locale: str) -> str:
    return re.sub(r"\d+", lambda d: spell_digits(d.group(0), locale), text)


# Compound durations (1h30min, 2h15m, 1h30m15s) and a number of minutes or seconds with no
# space (90min, 30sec; in Mandarin also 30s): 一小时三十分钟 / "1 hour 30 minutes".
_DURATION = re.compile(r"(?<![A-Za-z0-9_.])(?=\d)"
                       r"(?:(?P<h>\d+(?:\.\d+)?)\s?(?:hrs?|h)(?![a-z]))?\s?"
                       r"(?:(?P<m>\d+)\s?(?:mins?|m)(?![a-z]))?\s?"
                       r"(?:(?P<s>\d+)\s?(?:secs?|s)(?![a-z]))?(?![A-Za-z0-9])")
_EN_DURATION_UNITS = (("h", "hour"), ("m", "minute"), ("s", "second"))


def _duration(m: re.Match, zh: bool) -> str:
    parts = [(k, m.group(k)) for k in "hms" if m.group(k)]
    written = m.group(0)
    single = len(parts) == 1
    if not parts or single and (parts[0][0] == "h" or parts[0][0] == "m" and
                                not re.search(r"mins?\b", written) or
                                parts[0][0] == "s" and not zh and
                                not re.search(r"secs?\b", written)):
        return written  # 1h, 2m (a tenor or metres), "30s" in English (the thirties)
    if zh:
        units = {"h": "小时", "m": "分钟", "s": "秒"}
        return "".join(f"{n}{units[k]}" for k, n in parts)
    words = dict(_EN_DURATION_UNITS)
    return " ".join(f"{n} {words[k]}{'' if n == '1' else 's'}" for k, n in parts)


# A year alone in brackets ((2023), （2022）, 〔2023〕, [2024]): a year, 二〇二二 / "twenty twenty
# two"; a court's case number after it (（2023）沪74民初123号) digit by digit.
_BRACKET_YEAR = re.compile(r"(?P<o>[(（〔\[【])\s*(?P<y>(?:19|20)\d\d)\s*(?P<c>[)）〕\]】])")
_ZH_CASE_NUMBER = re.compile(r"(?<=[)）〕\]】])(?P<c>[\u4e00-\u9fff]{1,3}\d{0,4}"
                             r"[\u4e00-\u9fff]{1,4}\d+(?:之\d+)?号)")
# Bond short names: a two-digit year, the kind, a two-digit series (24国债01, 23附息国债05,
# 24国开05): each pair digit by digit, 二四国债零一.
_ZH_BOND = re.compile(r"(?<![\d.])(?P<y>\d\d)(?P<k>(?:附息|贴现|记账式|储蓄|特别)?国债|"
                      r"国开|进出|农发|地方债|专项债|政金债|金融债|城投债|企业债|公司债|可转债|"
                      r"[\u4e00-\u9fff]{2}(?:转债|债))"
                      r"(?P<s>\d{2,3})(?![\d.])")
# Slash abbreviations: N/A, A/C (account), c/o (care of), w/o (without), w/ (with).
_EN_SLASH_WORDS = {"n/a": "not applicable", "a/c": "account", "c/o": "care of",
                   "w/o": "without"}
_EN_SLASH_ABBR = re.compile(r"(?<![A-Za-z0-9/])(?:[Nn]/[Aa]|N/a|[Aa]/[Cc]|[Cc]/[Oo]|[Ww]/[Oo])"
                            r"(?![A-Za-z0-9/])")
_ZH_SLASH_ABBR = re.compile(r"(?<![A-Za-z0-9/])(?:N/A|n/a|A/C|a/c)(?![A-Za-z0-9/])")
_ZH_SLASH_WORDS = {"n/a": "不适用", "a/c": "账户"}
# Keys of a phone menu: * is 星号 / "star", # 井号 / "hash" (按*号键, 按*0, press the * key,
# press *0, press 1 and #).
_ZH_STAR_KEY = re.compile(r"\*\s*(?:号\s*)?(?=键)|(?<=按)\s*\*|\*(?=号)")
_EN_STAR_KEY = re.compile(r"(?<=\bthe )\*(?=\s*key\b)|(?:(?<=\b[Pp]ress )|(?<=\b[Dd]ial ))\*|"
                          r"(?<![*\w])\*(?=\d{1,2}\b)")
_EN_KEY_HASH = re.compile(r"(?:(?<=\band )|(?<=\bor )|(?<=\bthen ))#(?=\s*(?:[.,;!?]|\Z))")
# Weekdays joined by a hyphen or an en dash (Monday–Friday): "Monday to Friday".
_EN_WEEKDAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_EN_WEEKDAY_RANGE = re.compile(rf"\b(?P<a>{_EN_WEEKDAY})\s*-\s*(?P<b>{_EN_WEEKDAY})\b")
# Abbreviations of law, addresses and finance a broker writes: before a number (art. 50,
# para. 2, s. 108, cl. 4.2, Sch. 2, ss. 3) and anywhere (Rd., Bldg., Dist., Ave., vs., avg.).
_EN_CITE = re.compile(r"\b(?P<w>art|arts|para|paras|s|ss|cl|Sch|sch|Cl|Reg|reg|r)\.\s*(?=\d)")
_EN_CITE_WORDS = {"art": "Article", "arts": "Articles", "para": "paragraph",
                  "paras": "paragraphs", "s": "section", "ss": "sections", "cl": "clause",
                  "Cl": "Clause", "Sch": "Schedule", "sch": "schedule", "Reg": "Regulation",
                  "reg": "regulation", "r": "rule"}
_EN_ABBR_WORDS = {"Rd": "Road", "Bldg": "Building", "Dist": "District", "Ave": "Avenue",
                  "Blvd": "Boulevard", "Ctr": "Centre", "Hwy": "Highway", "vs": "versus",
                  "avg": "average", "Avg": "Average", "Ms": "Miz"}
_EN_ABBR = re.compile(r"\b(?:(?P<w>Rd|Bldg|Blvd|vs|Ms)\b(?P<dot>\.)?|"
                      r"(?P<w2>Dist|Ave|Ctr|Hwy|avg|Avg)(?P<dot2>\.))")
_EN_COMPASS = re.compile(r"(?:(?<=\bRoad )|(?<=\bStreet )|(?<=\bAvenue ))(?P<d>[NSEW])\.?"
                         r"(?![A-Za-z])")
_EN_COMPASS_WORDS = {"N": "North", "S": "South", "E": "East", "W": "West"}
# Period-on-period shorthand, and percentage points.
_EN_PERIOD_ON = {"YoY": "year on year", "QoQ": "quarter on quarter", "MoM": "month on month",
                 "WoW": "week on week", "DoD": "day on day", "HoH": "half on half"}
_EN_PERIOD = re.compile(rf"\b(?:{'|'.join(_EN_PERIOD_ON)})\b")
_PPT = re.compile(r"(?<=\d)\s*(?P<p>ppts?|pp)\b")
_ZH_PERIOD_ON = {"YoY": "同比", "QoQ": "环比", "MoM": "环比"}
_ZH_PERIOD = re.compile(r"(?<![A-Za-z])(?:YoY|QoQ|MoM)(?![A-Za-z])")


def _en_abbr(m: re.Match) -> str:
    word = _EN_ABBR_WORDS[m.group("w") or m.group("w2")]
    dot = m.group("dot") or m.group("dot2")
    return word + ("." if dot and m.end() == len(m.string) else "")


def _is_traditional(text: str) -> bool:
    """Whether ``text`` holds a CJK character outside GB 2312 that OpenCC's t2s changes (a
    Traditional character: 銀 還 為; GB 2312 holds the Simplified ones)."""
    for ch in text:
        if _CJK.match(ch):
            try:
                ch.encode("gb2312")
            except UnicodeEncodeError:
                if to_simplified(ch) != ch:
                    return True
    return False


def _zh_round_twelve(text: str) -> str:
    """The round-twelve rules of a Mandarin prompt (see the section's comment). A Traditional
    text is read as its Simplified form (OpenCC t2s), so that the polyphone rules fire (銀行為
    yín háng wéi, 還款 huán); the subtitle keeps what is written."""
    if _is_traditional(text):
        text = to_simplified(text)
    text = _ZH_CALL.sub(lambda m: m.group("cue") + _spell_runs(m.group("d"), "zh"), text)
    text = _ZH_BEFORE_HOTLINE.sub(lambda m: spell_digits(m.group("d"), "zh"), text)
    if "/" in text:
        text = _ZH_SLASH_ABBR.sub(lambda m: _ZH_SLASH_WORDS[m.group(0).lower()], text)
    if "*" in text:
        text = _ZH_STAR_KEY.sub("星号", text)
    text = _DURATION.sub(lambda m: _duration(m, True), text)
    text = _BRACKET_YEAR.sub(lambda m: m.group("o") + "".join(YEAR_DIGITS[c] for c in
                                                              m.group("y")) + m.group("c"), text)
    text = _ZH_CASE_NUMBER.sub(lambda m: _spell_runs(m.group("c"), "zh"), text)
    text = _ZH_BOND.sub(lambda m: spell_digits(m.group("y"), "zh") + m.group("k")
                        + spell_digits(m.group("s"), "zh"), text)
    return _ZH_PERIOD.sub(lambda m: _ZH_PERIOD_ON[m.group(0)], text)


def _en_round_twelve(text: str) -> str:
    """The round-twelve rules of an English prompt (see the section's comment)."""
    text = _EN_CALL.sub(lambda m: m.group(0)[:m.start("d") - m.start()]
                        + _spell_runs(m.group("d"), "en"), text)
    if "/" in text:
        text = _EN_SLASH_ABBR.sub(lambda m: _EN_SLASH_WORDS[m.group(0).lower()], text)
    if "*" in text:
        text = _EN_STAR_KEY.sub("star ", text)
    if "#" in text:
        text = _EN_KEY_HASH.sub("the hash key", text)
    text = _DURATION.sub(lambda m: _duration(m, False), text)
    text = _BRACKET_YEAR.sub(lambda m: m.group("o") + en_year(m.group("y")) + m.group("c"),
                             text)
    text = _EN_WEEKDAY_RANGE.sub(r"\g<a> to \g<b>", text)
    if "." in text:
        text = _EN_CITE.sub(lambda m: _EN_CITE_WORDS[m.group("w")] + " ", text)
    text = _EN_ABBR.sub(_en_abbr, text)
    text = _EN_COMPASS.sub(lambda m: _EN_COMPASS_WORDS[m.group("d")], text)
    text = _EN_PERIOD.sub(lambda m: _EN_PERIOD_ON[m.group(0)], text)
    return _PPT.sub(lambda m: " percentage points", text)


def _round_twelve_spans(text: str, zh: bool) -> set[int]:
    """Offsets the round-twelve rules read as digits or words (a service number after 拨打 /
    "call" or before 热线, a bond's short name, a phone menu's * key), where no digit or symbol
    warning applies."""
    spans: set[int] = set()
    for pattern in ((_ZH_CALL, _ZH_BEFORE_HOTLINE, _ZH_BOND, _ZH_STAR_KEY) if zh else
                    (_EN_CALL, _EN_STAR_KEY)):
        for m in pattern.finditer(text):
            spans.update(range(m.start(), m.end()))
    return spans


# The safety net: whatever no rule reads, a warning rather than silence. A character that is
# no letter, digit, space or ordinary punctuation is checked by saying the text without it: if
# nothing changes, the voice drops it (〜 ∼ ½ before round twelve, ⁂). A symbol left in the
# spoken text is skipped or garbled by the voice; a sign left between a number and a word
# (L P R -五十) is skipped. Lower-case letters glued to a number that come out as letters
# (1h30min, 1.2tn, 30s) are a unit the rules do not know.
ORDINARY_PUNCTUATION = frozenset(" ，。、；：？！“”‘’（）《》〈〉【】「」『』〔〕…—―·"
                                 ",.;:?!'\"()[]{}-–\u3000\ufe50" + MIDDLE_DOTS)
_SPOKEN_SIGN = re.compile(r"(?<=[\d〇零一二两三四五六七八九十百千万亿])\s*-|"
                          r"-(?=\s*[\d〇零一二两三四五六七八九十])")
# (4) shapes left in the spoken text that the voice says wrong: a short word with a dot
# before more of the sentence (art. 50, avg. price: read as a sentence's end), a slash
# between single letters one of them small (c/o, w/o: "c or o"; A/B股 is a choice), a word
# in mixed case (YoY: "yo why"). Glued units: two letters or more (1.2tn, 30sec), or one
# before more digits (1h30): 5g, 720p and 5m alone are left to the rules.
_NET_SHAPES = (
    # (Ltd. and Dept. are said "limited" and "department": measured, since speakable/22)
    (re.compile(r"(?<![A-Za-z.])(?!(?:etc|Ltd|Dept)\.)(?P<w>[A-Za-z]{1,4}\.)\s+(?=[a-z0-9])"),
     "an abbreviation the guide does not know, read as the end of a sentence"),
    (re.compile(r"(?<![A-Za-z/])(?P<w>[a-z](?:/|\s?或\s?| or )[A-Za-z]|[A-Z](?:/|\s?或\s?| or )"
                r"[a-z])(?![A-Za-z/])"),
     "letters joined by a slash, read as one letter 'or' the other"),
    (re.compile(r"(?<![A-Za-z])(?P<w>[A-Z][a-z]{1,2}[A-Z])(?![A-Za-z])"),
     "a word in mixed case the voice spells or guesses"),
)
_EN_FOR_RATIO = re.compile(r"\d-(?:for|in|on|of|to)-\d")
# (reversed: a digit, the hyphen, then a capitalised word of three letters or more before it)
_EN_INDEX_NUMBER = re.compile(r"\d-[a-z]{2,}[A-Z](?![A-Za-z])")
_GLUED_UNIT = re.compile(r"(?<![A-Za-z0-9_])\d+(?:\.\d+)?(?P<u>[a-z]{2,6}(?![A-Za-z])|[a-z](?=\d))")
_SPOKEN_LETTER_MINUS = re.compile(r"(?<![A-Za-z])(?:[A-Z]|eh)\s?[-\u2212](?![\w+\-])")
_WRITTEN_LETTER_MINUS = re.compile(r"(?<![A-Za-z0-9])[A-Z]{1,4}[-\u2212](?![\w+\-])")
_NET_ADVICE = {"~": "至 / 到, or 'to', for a range", "/": "a fraction in words (二分之一, 'one "
               "half') or 1/2", "\u2044": "a fraction in words (二分之一, 'one half') or 1/2",
               "-": "减 / 'minus' for a minus, 至 / 'to' for a range"}


def _plain(ch: str) -> bool:
    """Whether the net leaves ``ch`` alone (a superscript is a power the rules read or a
    footnote mark, silent on purpose: 3.5%¹)."""
    return ch in ORDINARY_PUNCTUATION or bool(_SUPERSCRIPT.match(ch)) or \
        unicodedata.category(ch)[0] in "LZM" or \
        unicodedata.category(ch) in ("Nd", "Cc", "Cf") or ch in SILENT_MARKS


def _squash(text: str) -> str:
    return re.sub(r"[\s，,]+", "", text)


_NEAR_EDGE = frozenset(" \t，。；！？、,;!?")


def _said_near(text: str, i: int, locale: str) -> str:
    """What the voice says around ``text[i]``: about eight characters either side, widened to
    whole words and numbers (never cut inside 11:30 or a date, whose cut half the rules read
    otherwise: the quote then showed 3 for 31 and a bare number for a range's clock time),
    at most 24 characters either side."""
    a, b = max(0, i - 8), min(len(text), i + 9)
    while a > 0 and i - a < 24 and text[a - 1] not in _NEAR_EDGE:
        a -= 1
    while b < len(text) and b - i < 24 and text[b] not in _NEAR_EDGE:
        b += 1
    return speakable(text[a:b].strip(), locale).translate(_UNPROTECT)


_EN_NUMBER_ADJECTIVE = re.compile(r"\d-[a-z]{2,}\b")


def _advice(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch)
    for sign, advice in _NET_ADVICE.items():
        if sign in folded or ch in TILDE_LOOKALIKES and sign == "~":
            return advice
    return "what it means in words"


def safety_net_issues(text: str, locale: str, warned: frozenset[int] | set[int] = frozenset()
                      ) -> Iterator[Issue]:
    """The safety net's warnings for ``text`` (offsets into it; none at an offset in
    ``warned``, where a rule already warned):
    (1) a character that is not a letter, digit, space, ordinary punctuation
    (ORDINARY_PUNCTUATION), ASCII or currency sign, that the guide neither says nor silences
    on purpose (SILENT_MARKS, control and format characters): the text says the same
    without it; (2) a symbol left in the spoken text, or a sign left between a number and
    what follows; (3) small letters glued to a number that the spoken text still holds as
    letters (1h30min before round twelve); (4) the shapes of ``_NET_SHAPES``.
    Each message says what the voice says there and what to write instead. Costs one
    ``speakable`` call per unusual character."""
    spoken = speakable(text, locale)
    said = _squash(spoken)
    folded = fold_keep_offsets(text)
    seen = set(warned)
    for i, ch in enumerate(text):
        # ASCII signs and currency signs are read by the rules, which may say one sign for
        # two (¥100元, $1-$5: one "dollars"); the other checks cover * ^ | _ \\.
        if i in seen or ch.isascii() or unicodedata.category(ch) == "Sc" or _plain(ch) or \
                _plain(folded[i]) and ch != folded[i] or \
                ch in _CHECK_MARKS and _CHECK_MARKER.match(text, i) or \
                ch in "～〜" and _ZH_TILDE_PAUSE.match(text, i) and is_zh(locale):
            continue  # ～ between two words is a pause (since speakable/29)
        if _squash(speakable(text[:i] + " " + text[i + 1:], locale)) == said:
            seen.add(i)
            yield Issue(i, f"{ch} (U+{ord(ch):04X}) is not said: the voice says "
                           f"“{_said_near(text, i, locale)}”; write {_advice(ch)}")
    for m in re.finditer(r"[^\w\s]", spoken):
        c = m.group(0)
        if c == "-":
            if not _SPOKEN_SIGN.search(spoken, max(0, m.start() - 2), m.end() + 2):
                continue
            # an option's code (IO2412-C-3900, 10004567-P-2.75): its hyphens are joins the
            # voice skips, as it should (since speakable/25)
            if _OPTION_CODE.search(text) and "-" not in _OPTION_CODE.sub("", text):
                continue
            # 编号No.20240603-0015: a hyphen between digits said one by one, which the voice
            # skips, as it should (since speakable/21)
            if is_zh(locale) and spoken[m.start() - 1:m.start()] in _ZH_DIGIT_WORDS and \
                    spoken[m.end():m.end() + 1] in _ZH_DIGIT_WORDS and m.start() > 0:
                continue
            # an English number-adjective (1-day, 7-day, 3-month, 6-digit, 5-star): espeak-ng
            # says "one day", "six digit" (measured); not a sign (since speakable/18)
            if not is_zh(locale) and _EN_NUMBER_ADJECTIVE.match(spoken, m.start() - 1):
                continue
            # 3-for-1 and an index's name (Nasdaq-100, Hang Seng-50): said as words, the
            # hyphen a join, not a sign (measured; since speakable/19)
            if not is_zh(locale) and (_EN_FOR_RATIO.search(spoken, max(0, m.start() - 12),
                                                           m.end() + 12) or
                                      _EN_INDEX_NUMBER.match(spoken[max(0, m.start() - 20):
                                                                    m.end() + 1][::-1])):
                continue
        elif _plain(c) or c in "%'’&+$.":
            continue
        at = next((j for j, w in enumerate(text) if c in unicodedata.normalize("NFKC", w)), 0)
        if at in seen:
            continue
        seen.add(at)
        yield Issue(at, f"{text[at] if at < len(text) else c} is left as the sign {c} in the "
                        f"spoken text, which the voice skips: it says "
                        f"“{_said_near(text, at, locale)}”; write {_advice(c)}")
    for pattern, what in _NET_SHAPES:
        for m in pattern.finditer(spoken):
            at = text.find(m.group("w"))
            if at < 0:  # said otherwise than written (N/A is "N or A"): at its first letter
                at = text.find(m.group("w")[0])
            if at < 0 or at in seen:
                continue
            seen.add(at)
            yield Issue(at, f"{m.group('w')}: {what}; the voice says “{m.group(0).strip()}”; "
                            "write it in words")
    # (5, round thirteen) a minus left after capitals (AA- before the rating rule): skipped.
    if _SPOKEN_LETTER_MINUS.search(spoken):
        for m in _WRITTEN_LETTER_MINUS.finditer(folded):
            at = m.end() - 1
            if at in seen:
                continue
            seen.add(at)
            yield Issue(at, f"{m.group(0)}: the sign after the letters is not said (the voice "
                            f"says “{_said_near(text, at, locale)}”); write 减 / 'minus' in "
                            "words, or a range with 至 / 'to'")
    rules = {i for r in _EN_RULE_NUMBER.finditer(folded) for i in range(*r.span())} \
        if not is_zh(locale) and "-" in folded else set()
    for m in _GLUED_UNIT.finditer(folded):
        unit = m.group("u")
        if m.start() in rules:  # Rule 15c3-1: a rule's number, said "fifteen c three one"
            continue
        if m.start("u") in seen or not re.search(rf"(?<![A-Za-z]){unit}(?![A-Za-z])", spoken):
            continue
        seen.add(m.start("u"))
        yield Issue(m.start("u"), f"{m.group(0)}: the guide does not know the unit {unit} and "
                                  f"the voice says “{_said_near(text, m.start('u'), locale)}”; "
                                  f"write what {unit} means in words (as 小时 / 'hours' for h)")


# The classes of the thirteenth tester round (#15; speakable/17). ``_round_thirteen_early`` runs
# on the folded text before the dashes and signs are read; ``_zh_round_thirteen`` /
# ``_en_round_thirteen`` before every other rule of their locale.
#
# Credit ratings (AA-, A+, BBB-, AAA+; S&P and Fitch scales, and China's agencies, which use
# the same letters): the sign is the notch, said 加 / 减 in Mandarin (as brokers and the
# agencies' own spoken reports say AA加, AA减: the notch is a step up or down, not a number's
# sign, so never 负 / 正) and "plus" / "minus" in English, with AA and AAA said "double eh",
# "triple B" as English speakers say a rating. Two or three letters with a sign are a rating
# wherever they stand; one letter with a sign (A-, B+) and two or three without (AAA) only in
# a sentence that speaks of ratings (评级, 信用, 等级, 级别, 展望, rated, rating, grade, outlook) or
# holds another rating with a sign. Never a range, a hyphen or a dropped sign.
_RATING_SIGNS = "+\\-\u2212\uff0b\uff0d\ufe63\u2010\u2011\u2013"
_RATING = re.compile(rf"(?<![A-Za-z0-9_+\-])(?P<r>A{{1,3}}|B{{1,3}}|C{{1,3}})"
                     rf"(?P<s>[{_RATING_SIGNS}])?(?![A-Za-z0-9_]|[{_RATING_SIGNS}][\dA-Za-z+\-]?)")
_RATING_CUE = re.compile(r"评级|信用|等级|级别|展望|穆迪|标普|惠誉|\brat(?:ed|ings?)\b|"
                         r"\bgrades?\b|\boutlook\b|\bMoody|\bS&P\b|\bFitch\b", re.IGNORECASE)
_RATING_SENTENCE = re.compile(r"[^。；;！？!?\n]+?(?:[。；;！？!?\n]|\.(?=\s)|\Z)")
_EN_RATING_COUNT = {1: "", 2: "double ", 3: "triple "}
_RATING_GATE = re.compile(r"(?<![A-Za-z])[ABC]")
_RATING_SIGNED = re.compile(rf"[ABC][{_RATING_SIGNS}]|AA|BB|CC")


def _rating(m: re.Match, zh: bool) -> str:
    letters, sign = m.group("r"), m.group("s")
    if zh:
        said = " ".join(letters) + ("" if not sign else " 加" if sign in "+\uff0b" else " 减")
        return f" {protect_spoken(said)} "
    letter = "eh" if letters[0] == "A" else letters[0]
    said = _EN_RATING_COUNT[len(letters)] + letter
    if sign:
        said += " plus" if sign in "+\uff0b" else " minus"
    return f" {protect_spoken(said)} "


def _ratings(text: str, zh: bool) -> str:
    def sentence(s: re.Match) -> str:
        part = s.group(0)
        found = list(_RATING.finditer(part))
        cued = bool(_RATING_CUE.search(part)) or \
            any(r.group("s") and len(r.group("r")) > 1 for r in found)
        out, last = [], 0
        for r in found:
            signed, many = bool(r.group("s")), len(r.group("r")) > 1
            if signed and many or cued and (signed or many and not zh):
                out.append(part[last:r.start()] + _rating(r, zh))
                last = r.end()
        part = "".join(out) + part[last:]
        if cued and "-" in part:
            part = _SHORT_RATING.sub(lambda r: _short_rating(r, zh), part)
        return part
    return _RATING_SENTENCE.sub(sentence, text)


# A short-term rating (A-1, A-1+, A-2, B-1: S&P's scale, and China's 短期融资券 ratings), in a
# sentence that speaks of ratings: the hyphen is not said, A 一 / "eh one", a plus 加 / "plus".
_SHORT_RATING = re.compile(r"(?<![A-Za-z0-9_+\-])(?P<r>[AB])-(?P<n>[123])(?P<s>\+)?"
                           r"(?![A-Za-z0-9_+\-]|\.\d)")


def _short_rating(m: re.Match, zh: bool) -> str:
    plus = m.group("s") is not None
    if zh:
        said = f"{m.group('r')} {ZH_DIGITS[m.group('n')]}" + (" 加" if plus else "")
    else:
        said = ("eh" if m.group("r") == "A" else "B") + " " + en_number_words(m.group("n")) + \
            (" plus" if plus else "")
    return f" {protect_spoken(said)} "


# --------------------------------------------------------------------------- round fifteen
# Rules for the classes of the fifteenth tester round (#15) that must run before the dashes
# and numbers are read (speakable/19):
# - a service number with menu choices after hyphens (95551-1-2, 95588-1, 4008208820-3): the
#   number digit by digit, each choice after 转 (九五五五一 转 一 转 二) / "then" in English
#   ("nine five five five one, then one, then two"), never a minus or a range. The number is
#   a bank's or carrier's short number (95xxx, 96xxx, 100xx, 101xx, 12xxx) or a 400 / 800
#   number, and each choice one digit, with no digit or hyphen after the last;
# - English: an hour range with am / pm on its ends (9am-5pm, 9 a.m.–5 p.m., 9:30am-3pm)
#   and a range of two month-day dates (Jan 1-Mar 31, Jan 1, 2023 - Dec 31, 2023) are said
#   with "to"; a year and month
#   written 2024-12 is "December 2024" (not where the second number is the next year's last
#   two digits: 2011-12 stays a span of years); 10-yr is "ten-year" (the "-yr" adjective);
#   1.2M after a number is "1.2 million" (M alone, not before a unit of measure);
# - Mandarin: a month.day date before a word of a deadline or start (12.31前, 1.1起, 6.30之前,
#   3.31截止) is 十二月三十一日 (not after a word of a rate or a price: 利率3.5起 stays a
#   number); 3.15 before 消费者 / 晚会 / 权益日 is the day's name, 三一五; a date of a two-digit
#   year written year first (24/12/31, Chinese order) is 二四年十二月三十一日.
_SERVICE_MENU = re.compile(r"(?<![\d.,+\-])(?P<n>9[56]\d{3}|10[01]\d{2}|12\d{3}|[48]00\d{7}|"
                           r"[48]00-\d{3}-\d{4})(?P<x>(?:-\d){1,3})(?![\d\-]|[.,]\d)")
_EN_HOUR = r"\d{1,2}(?::\d\d)?\s*[AaPp]\.?\s?[Mm]\.?"
_EN_HOUR_RANGE = re.compile(rf"(?<![\d:])(?P<a>{_EN_HOUR}|\b(?:noon|midnight))\s*"
                            r"[-\u2013\u2014~]\s*"
                            rf"(?=\d{{1,2}}(?::\d\d)?\s*[AaPp]\.?\s?[Mm](?![A-Za-z]))")
_EN_MONTH_NAME = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
                  r"Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_EN_DATE_RANGE = re.compile(rf"(?P<a>\b{_EN_MONTH_NAME}\.?\s+\d{{1,2}}(?:,\s*\d{{4}})?)\s*"
                            r"[-\u2013]\s*"
                            rf"(?={_EN_MONTH_NAME}\b)")
_EN_YEAR_MONTH = re.compile(r"(?<![\d\-/.])(?P<y>(?:19|20)\d\d)-(?P<m>0[1-9]|1[0-2])"
                            r"(?![\d\-/]|\.\d)")
_EN_YEAR_ADJECTIVE = re.compile(r"(?<![\d.])(?P<n>\d{1,3})-yrs?\b\.?")
_EN_MILLION_M = re.compile(r"(?<![A-Za-z0-9_.,])(?P<n>\d+(?:\.\d+)?)M(?![A-Za-z0-9])"
                           r"(?=\s*(?:yuan|RMB|CNY|USD|HKD|dollars?|shares|units|users|"
                           r"customers|clients|investors|accounts|people|in\b|of\b|[.,;]|\Z))")
_ZH_DOT_DATE = re.compile(r"(?<![\d.])(?P<mo>1[0-2]|0?[1-9])\.(?P<d>[12]\d|3[01]|0[1-9]|[1-9])"
                          r"(?=\s*(?:前|之前|以前|起|止|截止|到期|当日|当天|以后|之后|后(?!者)))")
_ZH_RATE_BEFORE = re.compile(r"(?:率|价|费|息|额|值|倍|点|约|为|是|达|化|涨|跌)\s*\Z")
_ZH_DAY_315 = re.compile(r"(?<![\d.])3\.15(?=\s*(?:消费者|晚会|权益日|国际消费))")
_ZH_SHORT_YMD = re.compile(r"(?<![\d/.\-])(?P<y>\d\d)/(?P<m>0?[1-9]|1[0-2])/"
                          r"(?P<d>0?[1-9]|[12]\d|3[01])(?![\d/]|\.\d)")

# English, a date of a two-digit year written year first (24/12/31, 25/06/30, 24/1/31: Chinese
# order, as the Mandarin side reads it, 二四年十二月三十一日): "December 31, 2024" (since
# speakable/20; it was "December 24, 31"). Year first where the first number cannot be a month
# (13-99), the second is one, and the last can only be a day or a year (13-31) and is larger
# than the first (a first number of 13-31 could be a day too: 31/12/24 stays day first,
# "December 31, 24"; ``speech_issues`` warns where both readings are dates). Where the last
# could be a month (31/12/08) or cannot be a day (15/03/86) it stays day first, and US month
# first (12/31/24) is unchanged. A year of 50-99 is 19xx, else 20xx.
_EN_SHORT_YMD = re.compile(r"(?<![\d/.\-])(?P<y>1[3-9]|[2-9]\d)/(?P<m>0?[1-9]|1[0-2])/"
                           r"(?P<d>1[3-9]|2\d|3[01])(?![\d/]|\.\d)")


def _en_short_ymd(m: re.Match) -> str:
    y = int(m.group("y"))
    if y <= 31 and int(m.group("d")) <= y:
        return m.group(0)  # 31/12/24: day first (``_en_dmy_date``)
    year = 1900 + y if y >= 50 else 2000 + y
    return f"{EN_MONTHS[int(m.group('m')) - 1]} {int(m.group('d'))}, {year}"


def _service_menu(m: re.Match, zh: bool) -> str:
    number = spell_digits(m.group("n").replace("-", ""), "zh" if zh else "en")
    choices = [spell_digits(c, "zh" if zh else "en") for c in m.group("x").split("-")[1:]]
    if zh:
        return f" {number} " + "".join(f"转 {c} " for c in choices)
    return f" {number}" + "".join(f", then {c}" for c in choices) + " "


def _en_year_month(m: re.Match) -> str:
    y, mo = m.group("y"), int(m.group("m"))
    if mo == (int(y) + 1) % 100:  # 2011-12: the span of two years
        return m.group(0)
    return f"{EN_MONTHS[mo - 1]} {y}"


def _zh_dot_date(text: str, m: re.Match) -> str:
    if _ZH_RATE_BEFORE.search(text, max(0, m.start() - 3), m.start()):
        return m.group(0)
    return f"{zh_cardinal(str(int(m.group('mo'))))}月{zh_cardinal(str(int(m.group('d'))))}日"


def _round_fifteen_early(text: str, zh: bool) -> str:
    """The round-fifteen rules that must run before the dashes and numbers are read (see the
    section's comment)."""
    if "-" in text and _SERVICE_MENU.search(text):
        text = _SERVICE_MENU.sub(lambda m: _service_menu(m, zh), text)
    if zh:
        if "." in text:
            text = _ZH_DAY_315.sub("三一五", text)
            text = _subst(_ZH_DOT_DATE, text, _zh_dot_date)
        if "/" in text:
            text = _ZH_SHORT_YMD.sub(lambda m: f"{spell_digits(m.group('y'), 'zh')}年"
                                     f"{zh_cardinal(str(int(m.group('m'))))}月"
                                     f"{zh_cardinal(str(int(m.group('d'))))}日", text)
        return text
    if "/" in text:
        text = _EN_SHORT_YMD.sub(_en_short_ymd, text)
    text = _EN_HOUR_RANGE.sub(lambda m: m.group("a") + " to ", text)
    text = _EN_DATE_RANGE.sub(lambda m: m.group("a") + " to ", text)
    text = _EN_YEAR_MONTH.sub(_en_year_month, text)
    text = _EN_YEAR_ADJECTIVE.sub(lambda m: en_number_words(m.group("n")) + "-year", text)
    return _EN_MILLION_M.sub(lambda m: f"{m.group('n')} million", text)


def _round_thirteen_early(text: str, zh: bool) -> str:
    """The round-thirteen rules that must run before the dashes and signs are read: credit
    ratings (AA- 'A A 减' / 'double eh minus')."""
    if _RATING_GATE.search(text) and (_RATING_SIGNED.search(text) or _RATING_CUE.search(text)):
        text = _ratings(text, zh)
    return text


# Polyphones of broker texts that pypinyin's phrase table and espeak-ng both read wrong
# (measured with ``espeak-ng -x`` on disclosure sentences, reviewed against 现代汉语词典):
# - 重 before a verb of doing again is chóng, "re-": 重置密码, 重签, 重设, 重开, 重算, 重做,
#   重发, 重录, 重试, 重估 (pypinyin and the voice: zhòng). Only where 重 is no part of a word
#   before it (注重, 隆重, 比重, 权重, 严重) and the verb starts no longer word (注重投资者,
#   重投资, 重发生: 投资, 发生); 重仓, 重大, 重要, 重罚 keep zhòng.
# - 差 as "the difference, a spread" after the thing measured is chā: 价差, 利差, 基差, 息差,
#   点差, 逆差, 汇差, 落差, 级差, 剪刀差 (both read chà, "poor"); not before 不 点 劲 远
#   (差不多, 差点: chà), nor after 盈利 获利 福利 (公司盈利差: poor profits), and 较差, 很差,
#   比预期差 keep chà.
# - 轧差 (netting, in settlement) is gá chā (the voice: yà chà).
# - 当日 "the same day" is dàng rì, as 当天 and 当月 already are (T日 / 当日有效 / 当日净值;
#   pypinyin: dāng rì, "at that time"), where 当 ends no word before it (应当日内, 相当).
_ZH_AGAIN_VERBS = frozenset("置设签开算做发录试估填输办装登写选测评订建传验扫拨连查交购投提"
                            "启申读拍审")
_ZH_SPREAD_BEFORE = frozenset("价利基息点逆汇落级刀轧")
_ZH_ROUND_THIRTEEN_POLY = re.compile("重|差|当日")


def _zh_round_thirteen_readings(text: str, readings: list[str | None]) -> None:
    """Set ``readings`` (one per character of ``text``, as ``zh_phrase_readings`` gives them)
    of 重 差 轧 当 by the rules above."""
    if not _ZH_ROUND_THIRTEEN_POLY.search(text):
        return
    segments = zh_segments(text)
    word_of: dict[int, tuple[int, int]] = {}
    for a, b in segments:
        for k in range(a, b):
            word_of[k] = (a, b)
    for i, ch in enumerate(text):
        if ch == "重" and text[i + 1:i + 2] in _ZH_AGAIN_VERBS:
            a, b = word_of[i]
            if a == i and (b == i + 1 and word_of[i + 1][1] == i + 2 or b == i + 2):
                readings[i] = "chong2"
        elif ch == "差" and i and text[i - 1] in _ZH_SPREAD_BEFORE and \
                text[i + 1:i + 2] not in ("不", "点", "劲", "远") and \
                text[max(0, i - 2):i] not in ("盈利", "获利", "福利"):
            readings[i] = "cha1"
            if text[i - 1] == "轧":
                readings[i - 1] = "ga2"
        elif ch == "当" and text[i + 1:i + 2] == "日" and word_of[i][0] == i:
            readings[i] = "dang4"


# Dates and times the earlier rounds left (tester round thirteen):
# - a compact date, YYYYMMDD (a year 19xx / 20xx, a month 01-12 and a day that month can have),
#   after a word of a date (日期, 交易日, 到期日, 起息日, 生效日 …, then 为 / 是 / a colon; "date",
#   "dated", "Date:", "Dates:"), as brokers' systems print it: 二〇二五年十二月三十一日,
#   "December 31, 2025", never eight digits one by one (a guess the check warned about);
# - an English time written with a dot and am / pm (9.30am, 9.30 p.m.), as British brokers
#   write it: "nine thirty a m", never "nine point three zero";
# - an hour with am / pm and no minutes (3pm, 4 PM, 11 a.m.): "three p m", as the clock rule
#   says 3:00 pm (the voice said "3pm" right, but the check warned "pm" as an unknown unit);
# - a weekday's abbreviation before a date (Wed, Dec 31; Wed 31 Dec): Wednesday.
_ZH_DATE_WORDS = (r"(?:日期|交易日|到期日|起息日|生效日|结算日|申购日|赎回日|付息日|兑付日|登记日|"
                  r"截止日|开始日|终止日|成立日|发行日|上市日|签署日|签订日|出生日期|有效期至|截止)")
_ZH_COMPACT_DATE = re.compile(rf"(?P<cue>{_ZH_DATE_WORDS}\s*(?:为|是|：|:)?\s*)"
                              r"(?P<y>(?:19|20)\d\d)(?P<m>0[1-9]|1[0-2])(?P<d>[0-3]\d)(?!\d)")
_EN_COMPACT_DATE = re.compile(r"(?P<cue>\b(?:[Dd]ates?|dated|DATE)\b\s*(?:is\s+|:\s*)?)"
                              r"(?P<y>(?:19|20)\d\d)(?P<m>0[1-9]|1[0-2])(?P<d>[0-3]\d)(?!\d)")
_EN_DOT_TIME = re.compile(r"(?<![\d.])(?P<h>0?[1-9]|1[0-2])\.(?P<mi>[0-5]\d)\s?"
                          r"(?P<ampm>[AaPp])(?:\.\s?[Mm]\.?|\s?[Mm])(?![A-Za-z])")
_EN_HOUR_AM_PM = re.compile(r"(?<![\d.:,])(?P<h>0?[1-9]|1[0-2])\s?"
                            r"(?P<ampm>[AaPp])(?:\.\s?[Mm]\.|\s?[Mm](?![A-Za-z.])|\.?\s?[Mm]\.?"
                            r"(?=\s|[,;)]|\Z))")
_EN_MONTH_WORD = rf"(?:{'|'.join(EN_MONTHS)}|{_MON.replace('?P<m>', '?:')})\b"
_EN_DAY_BEFORE_DATE = re.compile(rf"(?<![-\u2013/])\b(?P<a>{_DAY})\b\.?(?P<s>,?\s+)"
                                 rf"(?={_EN_MONTH_WORD}|\d{{1,2}}(?:st|nd|rd|th)?\s+"
                                 rf"{_EN_MONTH_WORD})")


_EN_DAY_GATE = re.compile(r"Mon|Tue|Wed|Thu|Fri|Sat|Sun")


def _compact_date(m: re.Match) -> tuple[int, int, int] | None:
    y, mo, d = int(m.group("y")), int(m.group("m")), int(m.group("d"))
    days = (31, 29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28, 31, 30, 31, 30, 31, 31,
            30, 31, 30, 31)[mo - 1]
    return (y, mo, d) if 1 <= d <= days else None


def _zh_compact_date(m: re.Match) -> str:
    date = _compact_date(m)
    if date is None:
        return m.group(0)
    y, mo, d = date
    return (m.group("cue") + "".join(YEAR_DIGITS[c] for c in m.group("y")) + "年"
            + zh_cardinal(str(mo)) + "月" + zh_cardinal(str(d)) + "日")


def _en_compact_date(m: re.Match) -> str:
    date = _compact_date(m)
    if date is None:
        return m.group(0)
    y, mo, d = date
    return f"{m.group('cue')}{EN_MONTHS[mo - 1]} {d}, {y}"


def _en_spoken_time(h: str, mi: str | None, ampm: str) -> str:
    words = en_number_words(str(int(h)))
    if mi and mi != "00":
        words += " " + (f"oh {en_number_words(str(int(mi)))}" if mi[0] == "0" else
                        en_number_words(mi))
    return f"{words} " + protect_spoken(f"{ampm.upper()}M")


# English addresses (tester round thirteen): "Ave" and "St" with no dot after a street's name
# (Century Ave, Jinrong St: Avenue, Street; "St Paul" before a name stays Saint for the voice),
# and a postcode: five or six digits after Postcode / Postal code / Zip (code), or six digits
# after a city's name in pinyin before a comma, China, PRC or the end (Shanghai 200120, Beijing
# 100033, PRC), said digit by digit, as before, but no longer warned as a guess.
_EN_STREET_ABBR = re.compile(r"(?<=[A-Za-z][a-z]\s)Ave\b(?!\.)(?!\s+[A-Z][a-z])|"
                             r"(?<=[A-Za-z][a-z]\s)St\b(?!\.)(?!\s+[A-Z])")
_EN_POSTCODE_CUE = re.compile(r"(?P<cue>\b(?:[Pp]ost(?:al)?\s?[Cc]ode|[Zz][Ii][Pp](?:\s?[Cc]ode)?)"
                              r"\s*(?:is\s+|:\s*)?)(?P<d>\d{5,6})(?![\d.,]\d)")
_EN_POSTCODE_CITY = re.compile(r"(?P<city>\b[A-Z][a-z]+),?\s+(?P<d>[1-8]\d{5})"
                               r"(?=\s*(?:,|\.(?!\d)|;|\)|\Z|China\b|PRC\b|P\.R\.C))")


# A US ZIP code after a state's two letters (Washington, DC 20006; New York, NY 10005), read
# digit by digit, as a ZIP is, and not warned as a guess (since speakable/28).
_US_STATES = frozenset("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN "
                       "MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA "
                       "WV WI WY PR".split())
_EN_US_ZIP = re.compile(r"(?<=[a-z],\s)(?P<s>[A-Z]{2})\s+(?P<d>\d{5})(?![\d.,\-]\d)")


def _en_postcodes(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each English postcode's digits in ``text`` (see above)."""
    for m in _EN_POSTCODE_CUE.finditer(text):
        yield m.span("d")
    for m in _EN_US_ZIP.finditer(text):
        if m.group("s") in _US_STATES:
            yield m.span("d")
    for m in _EN_POSTCODE_CITY.finditer(text):
        if pinyin_syllables(m.group("city")) is not None:
            yield m.span("d")


def _kept_full_stop(m: re.Match) -> str:
    """The full stop of a sentence that ends with an abbreviation's dot (closes at 4 P.M.)."""
    rest = m.string[m.end():]
    return "." if m.group(0).endswith(".") and (not rest.strip() or
                                                re.match(r"\s+[A-Z]", rest) and
                                                not _TIME_ZONE_AFTER.match(rest)) else ""


# A time zone after a time (3 p.m. ET, 4 P.M. HKT, 9 a.m. Beijing time) is not a new sentence
# (since speakable/28: "three PM. E T" paused).
_TIME_ZONE_AFTER = re.compile(r"\s+(?:[A-Z]{1,3}T|[A-Z][SD]T|GMT|UTC|[A-Z][a-z]+(?: [A-Z][a-z]+)? "
                              r"time)\b")


def _date_advice(digits: str, zh: bool) -> str:
    """For eight digits that can be a date (20260105) the warning's advice on writing it as one
    (since speakable/17 a compact date after a word of a date is read as a date)."""
    m = re.fullmatch(r"(?P<y>(?:19|20)\d\d)(?P<m>0[1-9]|1[0-2])(?P<d>[0-3]\d)", digits)
    if m is None or _compact_date(m) is None:
        return ""
    y, mo, d = (int(x) for x in m.groups())
    if zh:
        return f"; for a date write {y}年{mo}月{d}日, or put 日期 before it"
    return f"; for a date write {EN_MONTHS[mo - 1]} {d}, {y}, or put 'date' before it"


def _round_thirteen_spans(text: str, zh: bool) -> set[int]:
    """Offsets the round-thirteen rules read (a compact date after a word of a date), where no
    digit warning applies."""
    spans: set[int] = set()
    for m in (_ZH_COMPACT_DATE if zh else _EN_COMPACT_DATE).finditer(text):
        if _compact_date(m):
            spans.update(range(m.start("y"), m.end()))
    if not zh:
        for a, b in _en_postcodes(text):
            spans.update(range(a, b))
    return spans


# Names with digits no rule read (tester round thirteen): 618 before a word of the shopping
# festival is said as its date is, 六一八 / "six eighteen" (never 六百一十八); the groups G7, G8,
# G20 and K12 (kindergarten to year 12) are a letter and a cardinal, G二十 / "G twenty", K十二 /
# "K twelve" (never G 二零, "G two zero"); 2FA (two-factor authentication) is said as written,
# 二 F A / "two F A", as users read it (the voice said "2F eh").
_ZH_SIX_EIGHTEEN = re.compile(r"(?<![\d.])618(?=\s*(?:大促|购物节|年中大促|年中|狂欢|促销|活动|"
                              r"电商节|当天|期间))")
_EN_SIX_EIGHTEEN = re.compile(r"(?<![\d.])618(?=\s+(?:sale|sales|shopping|festival|promotion|"
                              r"mid-year)\b)", re.IGNORECASE)
_DIGIT_NAMES = re.compile(r"(?<![A-Za-z0-9])(?P<l>G|K)(?P<n>7|8|20|12)(?![A-Za-z0-9])")
_TWO_FA = re.compile(r"(?<![A-Za-z0-9])2FA(?![A-Za-z0-9])")


def _digit_name(m: re.Match, zh: bool) -> str:
    letter, n = m.group("l"), m.group("n")
    if (letter, n) not in {("G", "7"), ("G", "8"), ("G", "20"), ("K", "12")}:
        return m.group(0)
    if zh:
        return f" {letter}{zh_cardinal(n)} "
    return f" {protect_spoken(letter)} {en_number_words(n)} "


def _round_thirteen_names(text: str, zh: bool) -> str:
    if "618" in text:
        text = (_ZH_SIX_EIGHTEEN if zh else _EN_SIX_EIGHTEEN).sub(
            "六一八" if zh else "six eighteen", text)
    if "G" in text or "K" in text:
        text = _DIGIT_NAMES.sub(lambda m: _digit_name(m, zh), text)
    if "2FA" in text:
        text = _TWO_FA.sub(f" 二 {protect_spoken('F A')} " if zh else
                           f" two {protect_spoken('F eh')} ", text)
    return text


def _zh_round_thirteen(text: str) -> str:
    """The round-thirteen rules of a Mandarin prompt that run before the others: compact
    dates after a word of a date (交易日期20251231)."""
    if re.search(r"\d{8}", text):
        text = _ZH_COMPACT_DATE.sub(_zh_compact_date, text)
    return _round_thirteen_names(text, True)


def _en_round_thirteen(text: str) -> str:
    """The round-thirteen rules of an English prompt that run before the others: compact dates
    after "date", times with a dot or with no minutes before am / pm, a weekday's
    abbreviation before a date."""
    if re.search(r"\d{8}", text):
        text = _EN_COMPACT_DATE.sub(_en_compact_date, text)
    text = _round_thirteen_names(text, False)
    if re.search(r"\d\s?[AaPp]", text) or re.search(r"\d\.\d\d\s?[AaPp]", text):
        text = _EN_DOT_TIME.sub(lambda m: " " + _en_spoken_time(m.group("h"), m.group("mi"),
                                                                m.group("ampm")) + " ", text)
        text = _EN_HOUR_AM_PM.sub(lambda m: _en_spoken_time(m.group("h"), None, m.group("ampm"))
                                  + _kept_full_stop(m), text)
    if _EN_DAY_GATE.search(text):
        text = _EN_DAY_BEFORE_DATE.sub(lambda m: _EN_DAYS[m.group("a")] + m.group("s"), text)
    if "Ave" in text or "St " in text or "St," in text or text.endswith("St"):
        text = _EN_STREET_ABBR.sub(lambda m: "Avenue" if m.group(0) == "Ave" else "Street", text)
    if re.search(r"\d{5}", text):
        for a, b in sorted(_en_postcodes(text), reverse=True):
            text = text[:a] + spell_digits(text[a:b], "en") + text[b:]
    return text


# --------------------------------------------------------------------------- round sixteen
# The odd readings of the sixteenth tester round (#15), run before the numbers are read:
# - a menu key after 按 (按1查询, 请按0, 按2键): the digit alone, with no tone sandhi (按 yi4 查询
#   was said), not before a unit, a ratio or a percentage (按2倍, 按1:1, 按3%, 按1年期);
# - a step counter after a word of progress (进度：3/5, 步骤 2/4; "Progress: 3/5", "Step 2/4",
#   "Question 3/10"): 第三步，共五步 / "3 of 5", not a fraction (五分之三, "three fifths"),
#   where the first number is no larger than the second.
# (A figure the client must read, 请读出数字：5291, is cued in ``_ZH_DIGIT_CUES``.)
_ZH_MENU_KEY = re.compile(r"(?<=按)\s*(?P<d>\d)(?![\d.,:：%‰]|\s*(?:[万亿千百元倍个次年月日天周"
                          r"份股手折成层楼级期类档]|小时|分钟|比例|比))")
_ZH_STEPS = re.compile(r"(?P<w>进度|步骤|当前步骤|当前进度|题目|问题|页码|页)"
                       r"(?P<s>\s*[：:为是]?\s*)"
                       r"(?P<a>\d{1,2})\s*/\s*(?P<b>\d{1,2})(?![\d/]|[.．]\d)"
                       r"|(?P<w2>第)(?P<a2>\d{1,2})\s*/\s*(?P<b2>\d{1,2})(?P<u>[步题页])")
_EN_STEPS = re.compile(r"\b(?P<w>[Pp]rogress|[Ss]tep|[Qq]uestion|[Pp]age|[Ii]tem)(?P<s>\s*:?\s*)"
                       r"(?P<a>\d{1,2})\s*/\s*(?P<b>\d{1,2})(?![\d/]|[.．]\d)")


def _steps(m: re.Match, zh: bool) -> str:
    if zh and m.group("w2"):
        a, b = int(m.group("a2")), int(m.group("b2"))
        if not 0 < a <= b:
            return m.group(0)
        u = m.group("u")
        return f"第{zh_cardinal(str(a))}{u}，共{zh_cardinal(str(b))}{u}"
    a, b = int(m.group("a")), int(m.group("b"))
    if not 0 < a <= b:
        return m.group(0)
    if zh:
        w = m.group("w")
        u = "题" if w in ("题目", "问题") else "页" if w in ("页码", "页") else "步"
        if w.endswith("步骤") and not m.group("s").strip():
            w = w[:-2]  # 步骤3/5: 第三步，共五步, not 步骤第三步 (since speakable/22)
        return f"{w}{m.group('s')}第{zh_cardinal(str(a))}{u}，共{zh_cardinal(str(b))}{u}"
    return f"{m.group('w')}{m.group('s')}{a} of {b}"


def _round_sixteen_early(text: str, zh: bool) -> str:
    """The round-sixteen rules that run before the numbers are read (see above)."""
    if zh and "按" in text:
        text = _ZH_MENU_KEY.sub(lambda m: f" {spell_digits(m.group('d'), 'zh')} ", text)
    if "/" in text:
        text = (_ZH_STEPS if zh else _EN_STEPS).sub(lambda m: _steps(m, zh), text)
    return text


# The readings of the seventeenth tester round (#15), run before the numbers are read:
# - English questionnaire options, A. under 1 year B. 1-3 years / (a) Yes (b) No / a) … b) …:
#   the letter in capitals and a comma ("A, under 1 year; B, 1 to 3 years"), so espeak-ng says
#   the letter ('eI), not the article "uh" (a#), and pauses before each option's text and after
#   the previous option. Only a run of markers A, B, … in order (at least two, the first at the
#   start or after a colon or a sentence's end: not Plan A. Then B. Done) is taken, so an
#   initial (John A. Smith) or a lone "a)" is left alone, and so are two markers joined only by
#   and / or / to / a comma (paragraphs (a) and (b) apply: a reference, not a list).
_EN_OPTION_JOIN = re.compile(r"\s*(?:and|or|to|through|-|–|,|&)?\s*")
_EN_OPTION = re.compile(r"(?:(?<=\A)|(?<=[\s:：;,(（]))"
                        r"(?:\((?P<p>[A-Ha-h])\)|(?P<d>[A-Ha-h])[.．)])"
                        r"(?=\s*[A-Za-z0-9$¥€£\u4e00-\u9fff])")


def _en_options(text: str) -> str:
    marks = list(_EN_OPTION.finditer(text))
    if len(marks) < 2:
        return text
    letter = [(m.group("p") or m.group("d")).upper() for m in marks]
    run: list[re.Match] = []
    for i, m in enumerate(marks):
        want = chr(ord("A") + len(run))
        opens = text[:m.start()].rstrip()[-1:] in ("", ":", "：", "?", "!", ".", ";", "\n")
        if letter[i] == want and (run or opens):
            run.append(m)
        elif letter[i] == "A" and opens:
            run = [m] if len(run) < 2 else run
    pairs = zip(run, run[1:], strict=False)
    if len(run) < 2 or any(_EN_OPTION_JOIN.fullmatch(text[x.end():y.start()]) for x, y in pairs):
        return text  # paragraphs (a) and (b) apply: a reference to two items, not a list
    out, at = [], 0
    for k, m in enumerate(run):
        before = text[at:m.start()].rstrip()
        if k and before and before[-1] not in ".;:!?,":
            before += ";"
        out.append(before + (" " if before else ""))
        out.append(f"{chr(ord('A') + k)}, ")
        at = m.end()
        while at < len(text) and text[at] == " ":
            at += 1
    out.append(text[at:])
    return "".join(out)


def _round_seventeen_early(text: str, zh: bool) -> str:
    """The round-seventeen rules that run before the numbers are read (see above)."""
    if not zh and ("." in text or ")" in text):
        text = _en_options(text)
    if any(c in _CHECK_MARKS for c in text):  # □是 □否: the box unsaid (see _CHECK_MARKER)
        text = _CHECK_MARKER.sub("", text)
    return text


# --------------------------------------------------------------------------- round twenty
# The #15 tester's round-twenty classes (since speakable/23), each a rule, not a list of texts:
#
# A surname read otherwise than usual (曾 zēng, 单 shàn, 解 xiè, 区 ōu, 朴 piáo, 查 zhā ...)
# right after any job title or role noun (总经理曾志伟, 行长单明, 理财顾问解晓东, 柜员区丽,
# 销售经理朴敏: a title ends in one of ``ZH_JOB_TITLE_ENDS``, so 营业部经理 and 副行长 are
# titles too), with 为 / 是 / a colon between or not, when a given name of one or two characters
# follows and ends the name: at a pause, the end, or a verb of service (为, 将, 会, 负责, 办理 ...),
# or a given name of two characters that is no word at all, whatever follows (曾宪梓出席).
# The surname and the character after it must not be a word (曾经, 单独, 解决), and a given name
# holds nothing that makes the words a clause (经理曾任职, 顾问曾在: _ZH_NOT_GIVEN), so 该经理曾
# 多次提醒 keeps céng (多次 runs on into 提醒: no name ends there).
ZH_JOB_TITLE_ENDS = ("经理|顾问|行长|柜员|人员|经办人|分析师|总监|主管|主任|专员|助理|总裁|董事长|"
                     "董事|督导|讲师|会计师|律师|理财师|投顾|老师|师傅|店长|组长|科长|处长|部长|所长|"
                     "院长|局长|站长|营业员|业务员|审核员|复核员|见证员|客服|代表|负责人|联系人|代理人|"
                     "经纪人|合伙人|秘书|行政|操盘手|研究员")
_ZH_JOB_TITLE = re.compile(rf"(?:{ZH_JOB_TITLE_ENDS})(?P<is>\s*(?:为|是|[:：])?\s*)"
                           f"(?=[{''.join(k for k in ZH_SURNAMES if len(k) == 1)}])")
_ZH_GIVEN_NAME_END = re.compile(r"\s*(?:\Z|[，,、。.；;:：！？!?()（）\[\]【】\"“”'‘’《》]|"
                                r"先生|女士|"
                                r"同志|老师|为|将|会|来|负责|给|已|请|您好|你好|正在|在|向|和|与|"
                                r"陪同|带|是|办理|协助|联系|核实|确认|承诺|声明|致电|认为|表示|指出|"
                                r"提示|建议|介绍|讲解|提醒|说明|解答|告知|核对|审核|复核|发言|致辞|"
                                r"讲话|主持|出席|签字|签署|接待|解读|分享)")
# What a given name never starts with after a title: an adverb's or a count's character
# (该经理曾多次…, 顾问曾经…, 经理曾几何时).
_ZH_NOT_GIVEN_START = frozenset("多次几一二两三数经被获于从向任为")
# A given name of two characters is no common word (负责, 担任, 表示: counted 100 times or more
# in the word list); one that is no word at all is a name whatever follows it (副行长曾宪梓出席).
_ZH_COMMON_WORD_COUNT = 100


def _zh_job_title_surnames(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _ZH_JOB_TITLE.finditer(text):
        p = m.end()
        found = zh_surname(text[p:p + 4])
        if p < pos or found is None or _zh_no_name_word(text[p:p + 2]) or \
                len(found[0]) != 1 and not _cjk_run(text, p, p + 3):
            continue
        rest = p + len(found[0])
        named = text[rest:rest + 1] not in _ZH_NOT_GIVEN_START and any(
            _cjk_run(text, rest, rest + n) and not _ZH_NOT_GIVEN.search(text, rest, rest + n)
            and not zh_is_word(text[rest:rest + n]) and
            (n == 1 or word_counts().get(text[rest:rest + n], 0) < _ZH_COMMON_WORD_COUNT) and (
                _ZH_GIVEN_NAME_END.match(text, rest + n) is not None or
                n == 2 and text[rest:rest + n] not in word_counts())
            for n in (2, 1))
        if not named:
            continue
        out += [text[pos:p], f" {protect_spoken(found[1])} "]
        pos = rest
    out.append(text[pos:])
    return "".join(out)


# 朝 in a place named 朝阳 (朝阳门, 朝阳路, 朝阳区, 朝阳公园, 朝阳支行) and in 朝鲜 is cháo;
# pypinyin's phrase table reads 朝阳 zhāo yáng ("the morning sun"), right in
# 朝阳产业 and 朝气 / 朝夕, which keep zhāo. A place is 朝阳 before a place word, or after a
# city or province's name.
_ZH_CHAO_PLACE = re.compile(
    "朝(?=阳(?:区|门|路|街|大街|桥|镇|乡|县|市|村|公园|医院|站|广场|北|南|东|西|里|小区|支行|分行|"
    "营业部|中心|大悦城|剧场|体育))|(?<=北京|长春|辽宁|汕头|南宁|锦州|广州|揭阳|潮州)市?朝(?=阳)|"
    "朝(?=鲜)")
# 为 before 准确 / 准时 / 准备 (为准确起见, 为准确评估您的风险: wèi, "in order to"); pypinyin's
# phrase 为准 (以合同为准: wéi, "taken as the standard") read it wéi. Wéi stays where 以 opens the
# clause before it (以系统记录为准确认无误) and where no word starts at 准.
_ZH_WEI_IN_ORDER = re.compile("为(?=准(?:确|时|备|许|予))")
_ZH_YI_IN_CLAUSE = re.compile(r"以[^，。；！？,;!?]*\Z")


def _zh_round_twenty_readings(text: str, readings: list[str | None]) -> None:
    if "朝" in text:
        for m in _ZH_CHAO_PLACE.finditer(text):
            at = m.end() - 1
            readings[at] = "chao2"
    if "为准" in text:
        for m in _ZH_WEI_IN_ORDER.finditer(text):
            if not _ZH_YI_IN_CLAUSE.search(text, max(0, m.start() - 30), m.start()):
                readings[m.start()] = "wei4"
    _zh_place_readings(text, readings)


# A futures contract's code (the CFFEX index futures IF IH IC IM, the bond futures T TF TS
# TL) in a sentence about futures (期货, 合约, 主力, 交割, 股指, futures, contract, expiry):
# spelled letter by letter in both locales, as a code with its month (IF2412) already is; IF
# and IM were read as the English words "if" and "I'm".
_FUTURES_CODE = re.compile(r"(?<![A-Za-z0-9_\-])(?P<c>IF|IH|IC|IM|TF|TS|TL)(?![A-Za-z0-9_])")
_FUTURES_CUE = re.compile(r"期货|合约|主力|交割|股指|保证金|贴水|升水|基差|移仓|"
                          r"\b(?:[Ff]utures?|[Cc]ontracts?|[Ee]xpiry|[Dd]elivery|[Rr]oll(?:ing)?|"
                          r"[Bb]asis|CFFEX)\b")
_SENTENCE_SPAN = re.compile(r"[^。；;！？!?\n]+(?:[。；;！？!?\n]|\.(?=\s|\Z)|\Z)")


def _futures_codes(text: str) -> str:
    def sentence(s: re.Match) -> str:
        if not _FUTURES_CUE.search(s.group(0)):
            return s.group(0)
        return _FUTURES_CODE.sub(lambda m: " " + " ".join(m.group("c")) + " ", s.group(0))
    return _SENTENCE_SPAN.sub(sentence, text)


# An international number with a hyphen after its bracketed country code ((+86)-21-6888-1234):
# the hyphen is the separator, not a minus ("(plus 86) minus 21 to ..."), so the number is read
# as (+86) 21-6888-1234 is: digit by digit after the country code.
_CODE_HYPHEN = re.compile(r"(?<![A-Za-z0-9_+])(?P<cc>\(\+\d{1,3}\))\s*-\s*(?=\(?\d)")
# English: a range of abbreviated months (Apr.–Jun., Jan-Mar, Oct to Dec): the months' names;
# "w/" (with) before a word; "x" between numbers (3.5% x 90/365: times); a day-count fraction
# (90/365, 30/360: "over", as the convention is said); ChiNext (the name of 创业板: one word,
# "Chai-next"; 创业板 in Mandarin); REITs (reets, as the market says it; singular REIT).
_EN_MONTH_RANGE = re.compile(rf"\b{_MON}\b\.?\s*(?:-|–|~|to|through|thru)\s*"
                             rf"\b(?P<b>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b\.?")
_EN_WITH = re.compile(r"(?<![A-Za-z0-9/])[Ww]/(?=\s*[A-Za-z])(?![Oo](?![A-Za-z]))")
_TIMES_X = re.compile(r"(?<=[\d%‰)])\s+[x×]\s+(?=[\d(])")
_DAY_COUNT = re.compile(r"(?<![\d/.])(?P<a>\d{1,3})\s*/\s*(?P<b>36[056])(?![\d/])")
_CHINEXT = re.compile(r"(?<![A-Za-z])Chi[Nn]ext(?![A-Za-z])|(?<![A-Za-z])CHINEXT(?![A-Za-z])")
_REITS = re.compile(r"(?<![A-Za-z])(?:C-)?REIT(?P<s>s)?(?![A-Za-z])")


def _en_month(abbr: str) -> str:
    return _EN_MONTH_ABBR.get(abbr, abbr)


# English: a range of two dates written with dots or dashes (2024.1.1-2024.3.31): "to" between
# them, which the hyphen after the first date's year was not said as.
_EN_DATE_RANGE_DOTS = re.compile(r"(?P<a>(?<![\d.])(?:19|20)\d\d(?P<s>[./])\d{1,2}(?P=s)\d{1,2})"
                                 r"\s*[-~–]\s*(?=(?:19|20)\d\d[./]\d{1,2}[./]\d{1,2}(?![\d.]))")


# English: a label's colon with no space after it (Time：9:30-11:30, the full-width colon of a
# text typed in a Chinese input method, or Rate:3%): espeak-ng said the word "colon" there
# ("time colon nine thirty"); a space after it makes it the pause it is. Not in a web address
# (https://) nor between digits (a clock time).
_EN_LABEL_COLON = re.compile(r"(?<=[A-Za-z])\s*[:：](?=[^\s/])")


def _round_twenty_early(text: str, zh: bool) -> str:
    """The round-twenty rules that run before dashes and numbers are read (see above)."""
    if "(+" in text:
        text = _CODE_HYPHEN.sub(r"\g<cc> ", text)
    if _FUTURES_CODE.search(text):
        text = _futures_codes(text)
    if "hi" in text or "HI" in text:
        text = _CHINEXT.sub("创业板" if zh else "Chai-next", text)
    if "REIT" in text:
        text = _REITS.sub(lambda m: "Reets" if m.group("s") else "Reet", text)
    if zh:
        if " x " in text:
            text = _TIMES_X.sub("乘以", text)
        return _zh_job_title_surnames(text) if _ZH_JOB_TITLE.search(text) else text
    if ":" in text or "：" in text:
        text = _EN_LABEL_COLON.sub(": ", text)
    text = _EN_DATE_RANGE_DOTS.sub(r"\g<a> to ", text)
    text = _EN_MONTH_RANGE.sub(lambda m: f"{_en_month(m.group('m'))} to "
                               f"{_en_month(m.group('b'))}", text)
    if "/" in text:
        text = _EN_WITH.sub("with ", text)
        text = _DAY_COUNT.sub(lambda m: f"{m.group('a')} over {m.group('b')}", text)
    if "x" in text or "×" in text:
        text = _TIMES_X.sub(" times ", text)
    return text


_EN_CAPITALISED = re.compile(r"(?<![\w'’\-])[A-Z][a-z]+(?![\w\-])")
_BARE_FUTURES_CODE = re.compile(r"(?<![A-Za-z0-9_\-])(?:IF|IM)(?![A-Za-z0-9_])")


def round_twenty_issues(text: str, locale: str) -> Iterator[Issue]:
    """The round-twenty warnings, where the rules above leave a text the voice says badly:
    a futures code IF / IM in a sentence with no word of futures (read as the English "if"
    and "I'm"); in English a word that is pinyin English misreads (Li "lie", Jie "jai") or a
    Hong Kong / Wade-Giles name word (Ip, Chi, Ki: "I P", "kai") that the spoken text still
    holds as written: a name alone, with no title nor another name word beside it."""
    folded = fold_keep_offsets(text)
    for sentence in _SENTENCE_SPAN.finditer(folded):
        if _FUTURES_CUE.search(sentence.group(0)):
            continue
        for m in _BARE_FUTURES_CODE.finditer(sentence.group(0)):
            code = m.group(0)
            yield Issue(sentence.start() + m.start(),
                        f"{code} is read as the English word “{code.lower()}”; if it is a "
                        f"futures contract, say so in the sentence (股指期货{code} / '{code} "
                        f"futures'), or write the letters apart ({' '.join(code)})")
    if is_zh(locale) or not _EN_CAPITALISED.search(folded):
        return
    spoken = speakable(text, locale)
    for m in _EN_CAPITALISED.finditer(folded):
        word = m.group(0)
        if not re.search(rf"(?<![\w\-]){re.escape(word)}(?![\w\-])", spoken):
            continue
        if word.lower() in WADE_GILES_HK and word.lower() != "ng":
            yield Issue(m.start(), f"{word} is a name the voice reads as English letter rules "
                                   f"say it; write a title before it (Mr. / Ms. {word}) or the "
                                   f"whole name, or its respelling "
                                   f"{WADE_GILES_HK[word.lower()]}")
        elif risky_pinyin(word) and word.lower() not in ENGLISH_WORDS and \
                not english_syllable(word) and not folded[m.end():m.end() + 1] == "." and \
                len(pinyin_word_syllables(word) or ()) == 1:
            said = respell_text(f"Mr. {word}").split(" ", 1)[-1]
            if said == word:
                continue  # the voice says it as the respelling would (Jing, Kai: speakable/25)
            yield Issue(m.start(), f"{word} looks like a Chinese name in pinyin, which the "
                                   f"voice reads by English letter rules; write a title or the "
                                   f"whole name (Ms. {word}, Wang {word}), or its respelling "
                                   f"{said}")


# --------------------------------------------------------------------------- round twenty-one
# The #15 tester's round-twenty-one classes (since speakable/24), each a general rule:
#
# Digits of any script (Arabic-Indic ٣, Devanagari ३, ...: Unicode category Nd) are read as
# the ASCII digits they stand for, with the Arabic decimal and thousands separators and
# percent sign (٫ ٬ ٪); they made the number rules raise. A number grouped by threes with a
# no-break, narrow no-break, thin or figure space (1 000 000, typed so by a French or
# Swiss keyboard) is one number, as 1,000,000 is; with plain spaces only before a unit of
# money or shares (资金1 000 000元), since spaces elsewhere part digits of a phone number.
_ARABIC_SIGNS = str.maketrans({"\u066b": ".", "\u066c": ",", "\u066a": "%", "\u060c": ","})
_GROUP_SPACES = re.compile(r"(?<![\d.,])\d{1,3}(?:[\u00a0\u202f\u2009\u2007]\d{3})+(?![\d])")
_PLAIN_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?=\s*(?:万|亿)?(?:元|股|美元|港元|"
                            r"yuan|shares|RMB|CNY|HKD|USD)(?![A-Za-z]))")
# A number of more digits than a cardinal is said with (17 or more, commas aside) is read digit
# by digit, in both locales, whatever follows it: it made cn2an raise before 元 or 股.
_HUGE_NUMBER = re.compile(r"(?<![\d,])\d(?:,?\d){16,}(?:\.\d+)?")


def _fold_digits(text: str) -> str:
    if text.isascii():
        return text
    if any(c in "\u066a\u066b\u066c" for c in text):
        text = text.translate(_ARABIC_SIGNS)
    return "".join(str(unicodedata.decimal(c)) if not c.isascii() and
                   unicodedata.category(c) == "Nd" and
                   not "\uff10" <= c <= "\uff19" else c for c in text)


# The round-twenty-one tester's edge classes (since speakable/25), on the raw text:
# - combining marks left after NFC (李 + U+0301) are dropped: the voice says "acute";
# - a service number after 火警 / 急救 / 报警 / 匪警 / 客服 / 热线 / 电话 / 拨打 / 致电 is read
#   digit by digit (火警119: 一一九, not 一百一十九), as English "dial 119" already was;
# - a list of periods with slashes (30/60/90天, 7/14/30 days) is a list, not a fraction: 、 / ,;
# - a circled number after 第 (第⑩条) is that number (第十条, not 第第十，条);
# - English ≤ / ≥ with a number before and a word after (500,000 ≤ assets) is "less than or
#   equal to" / "greater than or equal to", as written, so the bound is not reversed.
_SERVICE_CALL = re.compile(r"(?P<w>火警|急救|报警|匪警|客服|热线|电话|拨打|致电)"
                           r"(?P<s>[:：\s]*)(?P<n>\d{3,4})(?![\d.,%]|[\s-]*\d)")
_PERIOD_LIST = re.compile(r"(?<![\d/.])(?P<l>\d{1,3}(?:/\d{1,3}){1,5})(?![\d/.])"
                          r"(?=\s*(?:天|个月|年|周|days?\b|months?\b|years?\b|weeks?\b))")
_CIRCLED_AFTER_DI = re.compile("第([\u2460-\u2473])")
_EN_BOUND = re.compile(r"(?<=\d)\s*(?P<c>[≤≥]|<=|>=)\s*(?=[A-Za-z])")


def _period_list(m: re.Match, zh: bool) -> str:
    parts = m.group("l").split("/")
    values = [int(p) for p in parts]
    if values != sorted(values) or len(set(values)) != len(values) or \
            (len(parts) == 2 and min(len(p) for p in parts) < 2):
        return m.group(0)  # 1/2天 and 3/4 of a year stay fractions
    return "、".join(parts) if zh else ", ".join(parts[:-1]) + " or " + parts[-1]


# Dashes between digit groups (since speakable/26; the round-twenty-two tester's phones): a
# phone number typed with a full-width hyphen (400－820－8820, 021－68888888: a Chinese input
# method in full-width mode), an en dash (pasted from Word), a hyphen (U+2010), a non-breaking
# hyphen (U+2011), a figure dash (U+2012), a small hyphen-minus (U+FE63), a minus sign
# (U+2212) or an em dash: the ASCII hyphen, before any rule reads the first group alone (拨打021
# then 负六八…). A digit-group pattern is a phone's: three or four digits, then two or more
# groups of three or four (400－820－8820), or an area code 0 plus two or three digits then a
# number of seven or eight (021－68888888, 0755–83888888).
_ANY_DASH = "‐‑‒–—−﹣－"
_DASHED_PHONE = re.compile(rf"(?<![\d.,{_ANY_DASH}-])(?:\d{{3,4}}(?:[{_ANY_DASH}]\d{{3,4}}){{2,}}|"
                           rf"0\d{{2,3}}[{_ANY_DASH}]\d{{7,8}})(?![\d{_ANY_DASH}]|[.,]\d)")
# A range of percentages with an em dash (3.5%—4.5%: GB/T 15834 writes ranges so) or a minus
# sign (3%−5%): the hyphen every locale reads as a range (到, "to"), not a pause or "minus".
_PERCENT_DASH_RANGE = re.compile(r"(?<=\d[%‰])\s*[\u2014\u2015\u2212]\s*"
                                 r"(?=[+]?\d+(?:\.\d+)?\s*[%‰])")


_CAPS_AMPERSAND = re.compile(r"(?<![A-Za-z&])[A-Z]{1,4}&[A-Z]{1,4}(?![A-Za-z&])")


def _round_twentythree_first(text: str, zh: bool) -> str:
    """The round-twenty-three rules that run first, on the raw text (see above)."""
    if not zh and ":" in text and "." in text:  # a web address with a port (example.com:8443/
        # login): read whole first, so no later rule says ": 8443 or login" (a ratio, "or")
        text = _EMAIL.sub(lambda m: _address(m, "en") if _PORT.search(m.group(0)) else
                          m.group(0), text)
    if not zh and "&" in text:  # AT&T, BB&T: letters, as S&P already was (not "At and T")
        text = _CAPS_AMPERSAND.sub(lambda m: " and ".join(
            " ".join(part) if len(part) > 1 else part for part in m.group(0).split("&")), text)
    if any(c in text for c in _ANY_DASH):
        text = _DASHED_PHONE.sub(lambda m: re.sub(f"[{_ANY_DASH}]", "-", m.group(0)), text)
        text = _PERCENT_DASH_RANGE.sub("-", text)
    return text


# --------------------------------------------------------------- round twenty-four (#15)
# The twenty-fourth tester round's classes (speakable/27), run first on the raw text.
#
# A duration or countdown written mm:ss (剩余时间：00:30, 录像时长05:30, "Time left: 00:30",
# "Video length: 02:45") was read as a clock time (零点三十分, "twelve thirty AM"). After a word
# of a duration (时长 剩余 倒计时 用时 耗时 历时 / duration length left remaining countdown
# elapsed ...) with only a colon, 为 / is between, and for 00:ss (not 00:00) anywhere but after
# a word of a moment (at, from, until, 于, 凌晨 ...) or before a range, it is minutes and seconds
# (三十秒, 五分三十秒, two minutes forty five seconds); h:mm:ss after such a word has hours too.
# A clock time (9:05, 09:30-11:30, 下午3:30) is left to the clock rules.
_ZH_DURATION_CUE = (r"(?:时长|剩余(?:有效)?时间|剩余|还剩|倒计时|计时|用时|耗时|历时|所用时间|"
                    r"通话时间|录制时间|录像时间|视频长度|时间长度)")
_EN_DURATION_CUE = (r"(?:[Dd]uration|[Ll]ength|[Tt]ime left|[Ll]eft|[Rr]emaining|[Cc]ountdown|"
                    r"[Ee]lapsed|[Tt]ime taken|[Tt]ime spent|[Rr]unning time|[Rr]untime|"
                    r"[Ll]ast(?:s|ed|ing)?|[Tt]imer)")
_CLOCK_DIGITS = (r"(?P<a>\d{1,2})[:：](?P<b>[0-5]\d)(?:[:：](?P<c>[0-5]\d))?"
                 r"(?![\d:：]|\s*(?:-|~|至|到|to\b)\s*\d)")
_ZH_TIMER = re.compile(rf"(?P<cue>{_ZH_DURATION_CUE}\s*(?:为|是|约|共|仅)?\s*[：:]?\s*)"
                       rf"(?<!\d){_CLOCK_DIGITS}")
_EN_TIMER = re.compile(rf"(?P<cue>\b{_EN_DURATION_CUE}\b\s*(?:is|of|was|will be)?\s*[:：]?\s*)"
                       rf"(?<!\d){_CLOCK_DIGITS}")
_ZERO_MINUTES = re.compile(r"(?<!\d)(?<!\d[:：.])(?P<a>00)[:：](?P<b>0[1-9]|[1-5]\d)"
                           r"(?![\d:：]|\s*(?:-|~|至|到|to\b)\s*\d)(?!\s*(?:开始|开市|开放|开启|起|"
                           r"前|后|之前|之后|以前|以后|整|结束|截止|关闭|收市|进行|执行|生效|"
                           r"[AaPp]\.?[Mm]\b|UTC|GMT|[Bb]eijing|[Ll]ocal|hrs\b|h\b|sharp\b|"
                           r"on\b|every\b|each\b|daily\b))")
_MOMENT_BEFORE = re.compile(r"(?:\b(?:at|from|until|till|to|by|before|after|since|midnight)"
                            r"|于|从|自|至|到|凌晨|零点|夜间|[-~])\s*\Z", re.IGNORECASE)


def _timer(m: re.Match, zh: bool) -> str:
    """The minutes and seconds (hours, minutes, seconds) of ``_CLOCK_DIGITS``, said."""
    if m.group("c") is None:
        h, mi, s = 0, int(m.group("a")), int(m.group("b"))
    else:
        h, mi, s = int(m.group("a")), int(m.group("b")), int(m.group("c"))
    if zh:
        out = (zh_cardinal(str(h)) + "小时") if h else ""
        if mi:
            out += ("两" if mi == 2 else zh_cardinal(str(mi))) + ("分" if s else "分钟")
        if s or not out:
            out += zh_cardinal(str(s)) + "秒"
        return out
    parts = [f"{en_number_words(str(n))} {w}{'' if n == 1 else 's'}"
             for n, w in ((h, "hour"), (mi, "minute"), (s, "second")) if n]
    return f" {' '.join(parts) or 'zero seconds'} "


def _zero_minutes(text: str, m: re.Match, zh: bool) -> str:
    if _MOMENT_BEFORE.search(text, max(0, m.start() - 12), m.start()):
        return m.group(0)
    return _timer(re.match(_CLOCK_DIGITS, m.group(0)) or m, zh)


# A menu path (我的>设置>安全中心, "Menu > Settings > Security", 首页→理财) is said as steps:
# "，然后" / ", then" for each sign between two words (was 大于 / "greater than", and the arrow
# was dropped or "right arrow"). A sign is a path's when a word (letters, Chinese, a quote or a
# bracket) is on both sides and the sentence has two of them or a word of navigating (点击 进入
# 路径 菜单 tap click open go to ...); before or after a number it stays a comparison (收益>5%).
_PATH_SIGN = re.compile(r"(?<=[\w\"”’)）】」』])(?<![\d])\s*(?:>|＞|›|→|⟶|➔|➜|»)\s*"
                        r"(?=[^\W\d_]|[\"“‘(（【「『])")
_PATH_CUE = re.compile(r"点击|点|进入|打开|路径|菜单|选择|依次|前往|找到|设置|[Tt]ap|[Cc]lick|"
                       r"[Oo]pen|[Gg]o to|[Ss]elect|[Mm]enu|[Cc]hoose|[Nn]avigate|[Pp]ath|"
                       r"[Ss]ettings")
_PATH_SENTENCE = re.compile(r"[^。；;！？!?\n]+")


def _menu_paths(text: str, zh: bool) -> str:
    def sentence(s: re.Match) -> str:
        part = s.group(0)
        signs = list(_PATH_SIGN.finditer(part))
        if not signs or (len(signs) < 2 and not _PATH_CUE.search(part)):
            return part
        return _PATH_SIGN.sub("，然后" if zh else ", then ", part)

    return _PATH_SENTENCE.sub(sentence, text)


# A month/day after a weekday (本周五（6/13）, 下周一(3/10), 周三3/5开放申购) or before one
# (6/13（周五）) is a date (六月十三日), not a fraction (十三分之六).
_ZH_WEEKDAY = r"(?:周|星期|礼拜)[一二三四五六日天]"
_ZH_WEEKDAY_MONTH_DAY = re.compile(
    rf"(?P<w>{_ZH_WEEKDAY})\s*(?P<o>[（(]?)\s*(?P<m>1[0-2]|0?[1-9])/(?P<d>3[01]|[12]\d|0?[1-9])"
    r"(?![\d/.])\s*(?P<c>[)）]?)")
_ZH_MONTH_DAY_WEEKDAY = re.compile(
    r"(?<![\d/.])(?P<m>1[0-2]|0?[1-9])/(?P<d>3[01]|[12]\d|0?[1-9])(?![\d/.])"
    rf"(?=\s*[（(]?\s*{_ZH_WEEKDAY})")


def _zh_weekday_month_day(m: re.Match) -> str:
    if bool(m.group("o")) != bool(m.group("c")):
        return m.group(0)
    return (f"{m.group('w')}{m.group('o')}{int(m.group('m'))}月{int(m.group('d'))}日"
            f"{m.group('c')}")


# Numbers with slashes before a window, counter or desk (请到1/2号窗口, 1/2/3号柜台, 窗口1/2,
# "window 1/2") are a list of them (一、二号窗口; "window one or two"), not a date (一月二号) nor
# a fraction ("one half") nor 斜杠.
_ZH_COUNTER = (r"(?:窗口|柜台|柜面|柜|台|门|口|通道|闸机|座席|工位|服务台|服务窗口|办理台|业务台|"
               r"窗|厅|楼|展台|会议室)")
_ZH_COUNTER_LIST = re.compile(r"(?<![\d./])(?P<l>\d{1,3}(?:\s*/\s*\d{1,3})+)(?![\d/]|\.\d)"
                              rf"(?=\s*号\s*{_ZH_COUNTER})"
                              r"|(?<=窗口|柜台)(?P<l2>\s*\d{1,3}(?:\s*/\s*\d{1,3})+)(?![\d/]|\.\d)")
_EN_COUNTER_LIST = re.compile(r"\b(?P<w>(?:[Ww]indow|[Cc]ounter|[Dd]esk|[Gg]ate|[Bb]ooth|[Ee]xit|"
                              r"[Ee]ntrance|[Ll]ane|[Pp]latform|[Dd]oor|[Rr]oom)s?)\s+"
                              r"(?P<l>\d{1,3}(?:\s*/\s*\d{1,3})+)(?![\d/]|\.\d)")


def _zh_counter_list(m: re.Match) -> str:
    listed = m.group("l") or m.group("l2")
    return "、".join(zh_cardinal(str(int(n))) for n in re.findall(r"\d+", listed))


def _en_counter_list(m: re.Match) -> str:
    said = [en_number_words(str(int(n))) for n in re.findall(r"\d+", m.group("l"))]
    return f"{m.group('w')} {', '.join(said[:-1])} or {said[-1]}"


# Share classes written with a slash (A/C类份额, 分为A/C两类, "Class A/C shares") are classes
# (A、C类; "A and C"), not a/c ("account", 账户).
_ZH_SHARE_CLASSES = re.compile(r"(?<![A-Za-z0-9/])(?P<l>[A-HR](?:\s*/\s*[A-HR]){1,3})"
                               r"(?![A-Za-z0-9/])(?=\s*(?:[两二三四]?类|份额|级|份))")
_EN_SHARE_CLASSES = re.compile(r"(?:(?<=\b[Cc]lass )|(?<=\b[Cc]lasses ))"
                               r"(?P<l>[A-HR](?:/[A-HR]){1,3})(?![A-Za-z0-9/])|(?<![A-Za-z0-9/])(?P<l2>[A-HR](?:/[A-HR]){1,3})"
                               r"(?=\s+(?:[Cc]lass(?:es)?|[Ss]hares?|[Uu]nits?)\b)")


def _en_share_classes(m: re.Match) -> str:
    letters = ["eh" if x == "A" else x for x in (m.group("l") or m.group("l2")).split("/")]
    return (", ".join(letters[:-1]) + " and " + letters[-1]) if len(letters) > 1 else letters[0]


# A building number in an address (现代城2栋1201室, 中关村大街2栋2单元) is a number (二栋), not a
# count (两栋): after a word of an address (号 路 街 道 巷 区 园 苑 城 村 座 厦 ...) or before a
# unit, room or floor number; 共2栋 stays 两栋.
_ZH_BUILDING_TWO = re.compile(r"(?<![\d.])(?:(?<=[号路街道巷弄区园苑城村里座厦庭府湾寓期])\s*2"
                              r"(?=\s*[栋幢])|2(?=\s*[栋幢]\s*(?:\d|单元|室|层|楼\d)))")


# A quarter or half written number first with a two-digit year (3Q24, 2Q25, 1H25): 二〇二四年第三
# 季度 / "third quarter twenty twenty-four"; in Mandarin a lone Q1-Q4 / H1 H2 (公司Q3营收, H1业绩)
# is 第三季度 / 上半年 (English says "Q three", "H one", as the market does).
_QUARTER_FIRST = re.compile(r"(?<![A-Za-z0-9_.])(?P<n>[1-4])(?P<p>[QH])(?P<y>\d\d|(?:19|20)\d\d)"
                            r"(?![A-Za-z0-9])")
_ZH_LONE_PART = re.compile(r"(?<![A-Za-z0-9_.])(?P<p>Q[1-4]|H[12])(?![A-Za-z0-9]|\s*\d)")
_ZH_PART_RANGE = re.compile(r"(?<![A-Za-z0-9_.])Q(?P<a>[1-4])\s*(?:-|~|至|到)\s*Q(?P<b>[1-4])"
                            r"(?![A-Za-z0-9])")
_EN_ORDINALS = ("first", "second", "third", "fourth")


def _quarter_first(m: re.Match, zh: bool) -> str:
    n, part, y = int(m.group("n")), m.group("p"), m.group("y")
    if part == "H" and n > 2:
        return m.group(0)
    year = y if len(y) == 4 else "20" + y
    if zh:
        said = ("第" + zh_cardinal(str(n)) + "季度") if part == "Q" else \
            ("上半年" if n == 1 else "下半年")
        return "".join(YEAR_DIGITS[c] for c in year) + "年" + said
    return f" {_EN_ORDINALS[n - 1]} {'quarter' if part == 'Q' else 'half'} {en_year(year)} "


def _zh_lone_part(m: re.Match) -> str:
    p = m.group("p")
    return ("第" + zh_cardinal(p[1]) + "季度") if p[0] == "Q" else ("上半年" if p[1] == "1"
                                                                    else "下半年")


# Latin product names the Mandarin voice (espeak-ng's cmn-latn-pinyin) reads as pinyin or
# spells (Chrome "chuo mo", Windows "W I N D O W S", Win10 "W I N 十", Wi-Fi "W I fi", iPhone
# "ai pho ne", WeChat "wu e chat"): respelt as words it says in English (checked with
# espeak-ng -x: Krohm kr'oU55m, Wendoughs w'E55ndoU55z, iphone 'aI55foU55n, Weechat w'i:55tSa55t)
# or as the pinyin Mandarin speakers say (Waifai, Wen before a version).
ZH_PRODUCT_RESPELT = {"chrome": "Krohm", "windows": "Wendoughs", "iphone": "iphone",
                      "wi-fi": "Waifai", "wifi": "Waifai", "wechat": "Weechat", "win": "Wen"}
_ZH_PRODUCT = re.compile(r"(?<![A-Za-z\-])(?:Chrome|CHROME|Windows|WINDOWS|iPhone|IPHONE|"
                         r"Wi-?Fi|WI-?FI|wifi|WiFi|WeChat|Win(?=\s?\d))(?![A-Za-z\-])")
# COVID-19 is a word and its number: covid nineteen (was spelled C O V I D one nine).
_COVID = re.compile(r"(?<![A-Za-z])(?:COVID|Covid|covid)[-\s]?19(?!\d)")
# y/y, m/m, q/q after a change: year on year, month on month, quarter on quarter (同比 / 环比)
_PERIOD_SLASH = re.compile(r"(?<![A-Za-z/])(?P<p>[yYmMqQ])/(?P=p)(?![A-Za-z/])")
_EN_PERIOD_SLASH = {"y": "year on year", "m": "month on month", "q": "quarter on quarter"}
# A decade with an apostrophe ('90s, ’80s, '00s): the nineties, the eighties, the two thousands.
_EN_SHORT_DECADE = re.compile(r"(?<![\w'’])['’](?P<d>\d)0['’]?s\b")
_EN_DECADE_WORDS = ("two thousands", "twenty-tens", "twenties", "thirties", "forties",
                    "fifties", "sixties", "seventies", "eighties", "nineties")
# An ordinal range (the 1st-3rd floors, 1st-5th of each month): "first to third".
_EN_ORDINAL_RANGE = re.compile(r"(?<![\w.,])(?P<a>\d{1,3}(?:st|nd|rd|th))\s*[-–~]\s*"
                               r"(?P<b>\d{1,3}(?:st|nd|rd|th))\b")
# A percentage with a plus after it (8%+): 百分之八以上 / "8% or more", not 加 / "plus".
_PERCENT_PLUS = re.compile(r"(?<=\d[%‰])\+(?![\w+])")


def _round_twentyfour_first(text: str, zh: bool) -> str:
    """The round-twenty-four rules that run first, on the raw text (see above)."""
    if ":" in text or "：" in text:
        if zh:
            text = _ZH_TIMER.sub(lambda m: m.group("cue") + _timer(m, True), text)
        else:
            text = _EN_TIMER.sub(lambda m: m.group("cue") + _timer(m, False), text)
        if "00" in text:
            text = _subst(_ZERO_MINUTES, text, lambda t, m: _zero_minutes(t, m, zh))
    if any(c in text for c in ">＞›→⟶➔➜»"):
        text = _menu_paths(text, zh)
    if "/" in text:
        if zh:
            text = _ZH_WEEKDAY_MONTH_DAY.sub(_zh_weekday_month_day, text)
            text = _ZH_MONTH_DAY_WEEKDAY.sub(
                lambda m: f"{int(m.group('m'))}月{int(m.group('d'))}日", text)
            text = _ZH_COUNTER_LIST.sub(_zh_counter_list, text)
            text = _ZH_SHARE_CLASSES.sub(lambda m: "、".join(re.findall("[A-Z]", m.group("l"))),
                                         text)
        else:
            text = _EN_COUNTER_LIST.sub(_en_counter_list, text)
            text = _EN_SHARE_CLASSES.sub(_en_share_classes, text)
        text = _PERIOD_SLASH.sub(lambda m: (("同比" if m.group("p") in "yY" else "环比") if zh
                                            else _EN_PERIOD_SLASH[m.group("p").lower()]), text)
    if zh and "2" in text and ("栋" in text or "幢" in text):
        text = _ZH_BUILDING_TWO.sub("二", text)
    if "Q" in text or "H" in text:
        text = _QUARTER_FIRST.sub(lambda m: _quarter_first(m, zh), text)
        if zh:
            text = _ZH_PART_RANGE.sub(lambda m: "第" + zh_cardinal(m.group("a")) + "至第"
                                      + zh_cardinal(m.group("b")) + "季度", text)
            text = _ZH_LONE_PART.sub(_zh_lone_part, text)
    if "19" in text:
        text = _COVID.sub(lambda m: f" {protect_spoken('covid')} 19 " if zh
                          else "covid nineteen", text)
    if zh and _ZH_PRODUCT.search(text):
        text = _ZH_PRODUCT.sub(
            lambda m: f" {protect_spoken(ZH_PRODUCT_RESPELT[m.group(0).lower()])} ", text)
    if not zh and ("'" in text or "’" in text):
        text = _EN_SHORT_DECADE.sub(lambda m: _EN_DECADE_WORDS[int(m.group("d"))], text)
    if not zh and ("st" in text or "nd" in text or "rd" in text or "th" in text):
        text = _EN_ORDINAL_RANGE.sub(r"\g<a> to \g<b>", text)
    if "+" in text:
        text = _PERCENT_PLUS.sub("以上" if zh else " or more", text)
    return text


def _round_twentytwo_first(text: str, zh: bool) -> str:
    """The round-twenty-two rules that run first, on the raw text (see above)."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
        if any(unicodedata.category(c) == "Mn" for c in text):
            text = "".join(c for c in text if unicodedata.category(c) != "Mn" or
                           not 0x300 <= ord(c) <= 0x36F)
        if "第" in text:
            text = _CIRCLED_AFTER_DI.sub(
                lambda m: "第" + str(unicodedata.numeric(m.group(1)).__int__()), text)
    if "/" in text:
        text = _PERIOD_LIST.sub(lambda m: _period_list(m, zh), text)
    if any(c.isdigit() for c in text):
        if zh:  # English already reads "dial 119" / "call 95588" digit by digit
            text = _SERVICE_CALL.sub(lambda m: m.group("w") + m.group("s") +
                                     spell_digits(m.group("n"), "zh-CN"), text)
        if not zh and ("≤" in text or "≥" in text or "<=" in text or ">=" in text):
            text = _EN_BOUND.sub(lambda m: " less than or equal to " if m.group("c") in
                                 ("≤", "<=") else " greater than or equal to ", text)
    return text


def _round_twentyone_first(text: str, zh: bool) -> str:
    """The round-twenty-one rules that run first, on the raw text (see above)."""
    text = _fold_digits(text)
    if zh and not text.isascii() and _ZH_OTHER_SCRIPT.search(text):
        text = _zh_drop_other_scripts(text)
    if any(c in text for c in "\u00a0\u202f\u2009\u2007"):
        text = _GROUP_SPACES.sub(lambda m: re.sub(r"\D", ",", m.group(0)), text)
    if " " in text:
        text = _PLAIN_GROUPED.sub(lambda m: m.group(0).replace(" ", ","), text)
    return _HUGE_NUMBER.sub(lambda m: _huge_number(m.group(0), zh), text)


def _huge_number(number: str, zh: bool) -> str:
    whole, _, frac = number.replace(",", "").partition(".")
    locale = "zh" if zh else "en"
    said = spell_digits(whole, locale)
    if frac:
        said += ("点" if zh else " point ") + spell_digits(frac, locale)
    return f" {said} "


# Place names whose characters pypinyin or espeak-ng read otherwise than the place is called.
# 长 is cháng in a place (长宁, 长治, 长沙, 长春, 长安, 长乐, 长兴, 长寿路, 长葛 ...): pypinyin read
# it zhǎng inside longer words (长宁路, 长治营业部), as in 长大. Not where the character before
# 长 makes a title or a verb with it (行长安排, 董事长治理, 增长安全: a word of the word list),
# unless a place word follows the name (西安市长安区). 长子县 stays zhǎng (its name).
_ZH_CHANG_PLACE_SECOND = "宁治葛沙春安乐兴寿江城汀泰垣丰岭海阳武清顺洲岛白"
_ZH_CHANG_PLACE = re.compile(f"长(?=[{_ZH_CHANG_PLACE_SECOND}])")
_ZH_PLACE_WORD_AFTER = re.compile("(?:区|县|市|路|街|大街|镇|乡|村|站|桥|支行|分行|营业部|"
                                  "营业厅|分公司|网点|中路|东路|西路|南路|北路|机场|公园|山)")
# Readings of single place names, each sure: 歙县 shè, 洪洞 hóng tóng, 盱眙 xū yí, 阆中 làng,
# 天台县 / 天台山 tāi, 长葛 gě, 费县 bì (espeak-ng and pypinyin read xī, dòng, chì, láng, tái, gé):
# written as pinyin before the other rules run, since the voice's own reading is the fault.
_ZH_PLACE_READINGS = {"歙(?=县|州|砚)": {0: "she4"}, "洪洞": {1: "tong2"}, "盱眙": {1: "yi2"},
                      "阆(?=中)": {0: "lang4"}, "天台(?=县|山)": {1: "tai1"},
                      "(?<=长)葛": {0: "ge3"},
                      "费(?=县)": {0: "bi4"},  # 费县 (Shandong); see _place_reading
                      # since speakable/25 (the round-twenty-one tester's class A), each the
                      # place's own name: 浚县 xùn, 涡阳 guō, 六合区 lù, 华阴 / 华县 / 华山 huà,
                      # 蚌山区 bèng, 泺源 / 泺口 luò, 栟茶 bēn, 栎阳 yuè, 乐亭 lào, 蔚县 yù,
                      # 犍为 qián, 筠连 jūn, 尉犁 yù, 铅山 yán, 台州 tāi, 枞阳 zōng, 黄陂 pí,
                      # 单县 shàn, 乐清 yuè
                      "浚(?=县)": {0: "xun4"}, "涡(?=阳)": {0: "guo1"},
                      "六(?=合区|合县)|(?<=南京|江苏)六(?=合)|(?<=南京市|江苏省)六(?=合)":
                          {0: "lu4"},
                      "华(?=阴|县|山)": {0: "hua4"}, "蚌(?=山区)": {0: "beng4"},
                      "泺(?=源|口)": {0: "luo4"}, "栟(?=茶)": {0: "ben1"},
                      "栎(?=阳)": {0: "yue4"}, "乐(?=亭)": {0: "lao4"},
                      "蔚(?=县)": {0: "yu4"}, "犍(?=为)": {0: "qian2"},
                      "筠(?=连)": {0: "jun1"}, "尉(?=犁)": {0: "yu4"},
                      "铅(?=山)": {0: "yan2"}, "台(?=州)": {0: "tai1"},
                      "枞(?=阳)": {0: "zong1"}, "(?<=黄)陂": {0: "pi2"},
                      "单(?=县)": {0: "shan4"}, "乐(?=清)": {0: "yue4"},
                      # since speakable/26 (the round-twenty-two tester's addresses), as rules of
                      # a character before a place word where one reading is a place's: 莘 is
                      # xīn in Shanghai's 七莘路, 莘庄, 莘松路 (莘县, 莘莘 stay shēn); 都 is dū in
                      # a district or county named X都 (郫都区, 花都区, 丰都县, 江都区: the voice
                      # said dōu), not after a word that makes it "all" (我们都, 也都); 兴 is
                      # xīng in a road or place named 兴X (兴华中路, 兴华街, 兴宁区), not 兴趣 /
                      # 兴致; 儋 is dān (儋州: the voice said dàn); 地王 (a building, "land
                      # king") is dì wáng (the voice said the particle de)
                      "莘(?=庄|[东西南北松建朱]?路)|(?<=七)莘": {0: "xin1"},
                      "(?<=[\u4e00-\u9fff])(?<![们也全还又就都却均])都(?=区|县)": {0: "du1"},
                      "兴(?![趣致味奋冲])(?=[\u4e00-\u9fff](?:[东西南北中]?路|街|大道|区|县|镇|"
                      "村|乡|社区|小区|花园))": {0: "xing1"},
                      "儋": {0: "dan1"}, "地(?=王)": {0: "di4"}}


def _zh_word_ends_at(text: str, i: int) -> bool:
    """Whether a word of two to four characters ends at ``text[i]`` (行长, 董事长, 收费, 手续费):
    pypinyin's phrase table or the word list."""
    return any(zh_is_word(text[j:i + 1]) or text[j:i + 1] in word_counts()
               for j in range(max(0, i - 3), i))


def _zh_place_readings(text: str, readings: list[str | None]) -> None:
    if "长" in text:
        for m in _ZH_CHANG_PLACE.finditer(text):
            i = m.start()
            before = text[i - 1:i + 1] if i else ""
            titled = len(before) == 2 and (before[0] in "市省县局部" or _zh_word_ends_at(text, i))
            if titled and not _ZH_PLACE_WORD_AFTER.match(text, i + 2):
                continue
            if text[i + 1:i + 3] in ("安排", "安全", "安装", "安心", "安慰", "安置", "安静",
                                     "城市") and not _ZH_PLACE_WORD_AFTER.match(text, i + 2):
                continue
            readings[i] = "chang2"


# A festival written as its date (3·15 消费者权益日, 5.1 假期, 国庆10.1, 6.18 促销, 11.11 购物节,
# 双11): the shorthand as it is said, the month as a number and the day's digits one by one
# (三一五, 五一, 十一, 六一八, 双十一 for 11.11, 双十二 for 12.12), not 三十五 or 五点一. A
# date with a middle dot (3·15, 9·11) is always such a name; with a full stop, only beside a
# word of a holiday, a sale or a gala (假期, 劳动节, 国庆, 晚会, 购物节, 促销, 大促, 期间, a word
# ending in 节 ...); not a section (第5.1节, 见5.1节, 5.1节的规定: 节 alone).
_ZH_FESTIVAL_DOT = re.compile(r"(?<![\d.·])(?P<m>1[0-2]|[1-9])·(?P<d>[1-9]|[12]\d|3[01])"
                              r"(?![\d.·])")
_ZH_FESTIVAL_CUE_AFTER = (r"\s*(?:假期|假日|小长假|长假|黄金周|劳动节|国庆|晚会|购物节|"
                          r"购物狂欢|狂欢节|促销|大促|期间|活动|消费者|当天|前后|电商|特惠|"
                          r"优惠|零点|[\u4e00-\u9fff]{1,3}节(?![省约能点目奏]))")
_ZH_FESTIVAL_FULL_STOP = re.compile(
    rf"(?:(?<=国庆)|(?<=双)|(?<![\d.第见]))(?P<m>1[0-2]|[1-9])\.(?P<d>[1-9]|1\d|2[0-9]|3[01])"
    rf"(?![\d.])(?={_ZH_FESTIVAL_CUE_AFTER})|(?<=国庆)(?P<m2>10)\.(?P<d2>1)(?![\d.])")
_ZH_DOUBLE = re.compile(r"(?<=双)(?P<n>11|12)(?!\d)")


def _zh_festival(m: re.Match) -> str:
    month = m.group("m") or m.group("m2")
    day = m.group("d") or m.group("d2")
    if month == day and month in ("11", "12") and m.string[m.start() - 1:m.start()] != "双":
        return "双" + zh_cardinal(month)
    return zh_cardinal(month) + spell_digits(day, "zh")


def _zh_festivals(text: str) -> str:
    if "·" in text:
        text = _ZH_FESTIVAL_DOT.sub(_zh_festival, text)
    if "." in text:
        text = _ZH_FESTIVAL_FULL_STOP.sub(_zh_festival, text)
    if "双1" in text:
        text = _ZH_DOUBLE.sub(lambda m: zh_cardinal(m.group("n")), text)
    return text


# An index named by its size (富时中国A50, MSCI中国A50, A50指数, A50ETF, "the A50 index"): the
# number as a number (A五十, "A fifty"); it was spelled as a code (A 五零, "A five zero"). A
# letter or a short name before 50 / 100 / 200 / 300 / 500 / 1000 is such an index beside a
# word of an index, a fund or futures (指数, ETF, 期货, 成分, index, futures, ETF) or after the
# name of an index family (富时, MSCI, 中证, 标普, FTSE, S&P, STOXX, KOSPI ...).
_INDEX_BY_SIZE = re.compile(
    r"(?<![A-Za-z0-9_.\-])(?P<l>A|H|KOSPI|STOXX|TOPIX|DAX|CAC|Nikkei|NIKKEI|ASX|SENSEX)"
    r"\s?(?P<n>50|100|200|225|300|500|1000)(?![\d.])"
    r"(?=(?:\s*(?:指数|ETF|期货|股指|成分|成份|联接|基金|index|Index|futures|Futures|ETFs?\b|fund|"
    r"constituents?)|(?<=A50)(?![A-Za-z0-9])))|"
    r"(?:(?<=富时)|(?<=中国)|(?<=中证)|(?<=标普))(?P<l2>A|H)(?P<n2>50|100|200|300|500)(?![\d.])")


_INDEX_CODE_BEFORE = re.compile(r"(?:编号|代码|型号|号码|序号|[Nn]o\.|[Mm]odel|[Cc]ode|#)"
                                r"[:：\s为是]*\Z")


def _index_sizes(text: str, zh: bool) -> str:
    def said(m: re.Match) -> str:
        if _INDEX_CODE_BEFORE.search(text, max(0, m.start() - 8), m.start()):
            return m.group(0)  # 编号A50, model A50: a code, spelled as before
        letters, n = (m.group("l") or m.group("l2")), (m.group("n") or m.group("n2"))
        if zh:
            return f"{letters}{protect_spoken(zh_cardinal(n))}"
        return f"{letters} {en_number_words(n)}"
    return _INDEX_BY_SIZE.sub(said, text)


def _round_twentyone_early(text: str, zh: bool) -> str:
    """The round-twenty-one rules that run before the numbers are read (see above)."""
    if not zh and ("#" in text or "*" in text):
        text = _en_keypad_keys(text)
    if not zh and ("ü" in text or "Ü" in text):
        text = _en_u_umlaut_names(text)
    if any(c.isdigit() for c in text):
        text = _index_sizes(text, zh)
        if zh:
            text = _zh_festivals(text)
    if zh and _ZH_HK_WORD.search(text):
        text = _zh_hk_words(text)
    if zh and _ZH_PLACE_CHARS.search(text):
        for pattern, fixed in _ZH_PLACE_READINGS.items():
            text = re.sub(pattern, _place_reading(fixed), text)
    return text


def _place_reading(fixed: dict[int, str]):
    def said(m: re.Match) -> str:
        at = m.start()
        if m.group(0) in "费乐单华台六蔚铅兴地" and _zh_word_ends_at(m.string, at):
            return m.group(0)  # 收费县道, 手续费县级, 快乐清单, 简单县城: a word ends there
        return "".join(f" {protect_spoken(fixed[k])} " if k in fixed else ch
                       for k, ch in enumerate(m.group(0)))
    return said


_ZH_PLACE_CHARS = re.compile("[歙洞眙阆台葛费浚涡六华蚌泺栟栎乐蔚犍筠尉铅枞陂单莘都兴儋地]")


# English keypad keys (since speakable/24): a lone # or * that is a key, wherever the sentence
# puts it (or # to go back, followed by #, then *, # to repeat, *# ...), is "hash" / "star",
# as "press #" already was ("the hash key"); a # before a number (#3, order #12345) stays
# "number". A lone # or * is a key when a word of a keypad menu is in the sentence (press,
# dial, enter, key, followed by, to go back / repeat / return / confirm / finish) or it stands
# between words or at the end of the sentence.
_EN_LONE_KEY = re.compile(r"(?<![\w#*])(?P<k>[#*])(?![\w#*])(?!\s*(?:\d|of\b))")
_EN_KEYPAD_CUE = re.compile(r"\b(?:[Pp]ress|[Dd]ial|[Ee]nter|[Hh]it|[Tt]ap|keys?|keypad|"
                            r"followed by|to (?:go back|return|repeat|confirm|finish|cancel|end|"
                            r"exit|skip|continue)|menu)\b")


# After press / hit / tap / dial / the, and a # ending the sentence after and / or / then,
# the rules of earlier rounds say it ("the hash key").
_EN_KEY_SAID_LATER = re.compile(r"\b(?:[Pp]ress|[Hh]it|[Tt]ap|[Dd]ial|the)\s*\Z")


def _en_keypad_keys(text: str) -> str:
    def sentence(s: re.Match) -> str:
        part = s.group(0)
        if not _EN_KEYPAD_CUE.search(part):
            return part
        return _EN_LONE_KEY.sub(lambda m: m.group(0) if _EN_KEY_SAID_LATER.search(
            part, 0, m.start()) or m.group("k") == "#" and _EN_KEY_HASH.match(
            part, m.start()) else
            " hash " if m.group("k") == "#" else " star ", part)
    return _SENTENCE_SPAN.sub(sentence, text)


# A pinyin name written with ü (Lü, Nü, Lüe, Nüe: the surnames 吕 and 女) or its keyboard
# spelling v (Lv): the English voice said ü as "oo" (Lu, a different surname). Written as v,
# the pinyin respelling takes it ("Lee-yoo"); Wade-Giles Yü is yu.
_EN_U_UMLAUT_NAME = re.compile(r"(?<![\w'’\-])(?P<i>[LlNn])[üÜ](?P<e>e?)(?![\w'’\-])|"
                               r"(?<![\w'’\-])(?P<y>[Yy])[üÜ](?![\w'’\-])")


def _en_u_umlaut_names(text: str) -> str:
    def said(m: re.Match) -> str:
        if m.group("y"):
            return m.group("y") + "u"
        return m.group("i") + "v" + m.group("e")
    return _EN_U_UMLAUT_NAME.sub(said, text)


# A Hong Kong or Wade-Giles name (Chan Tai Man, Chang Hsueh-liang, Wong Ka Yan) is said near
# enough by English spelling, which is how its owner spells it: no warning that it is "a
# name in pinyin" (a false alarm before speakable/24). A name is such when a word of it is a
# Hong Kong or Wade-Giles name word, or a Wade-Giles given name (Hs-, a hyphen) follows.
_WADE_GILES_AFTER = re.compile(r"-|\s+Hs[a-z]|\s+[A-Z][a-z]+-[a-z]")


def _hong_kong_name(words: list[str], after: str) -> bool:
    return any(w.lower() in HK_NAME_WORDS or w.lower() in WADE_GILES_HK for w in words) or \
        _WADE_GILES_AFTER.match(after) is not None


# Letters of a script the Mandarin voice has no reading for (Japanese kana, Hangul,
# Mongolian, Tibetan, Arabic, Cyrillic, Thai ...: not Han, Latin, Greek nor Bopomofo):
# espeak-ng said them as "Japanese letter" or read their code points as digits (Mongolian).
# In a Mandarin text they are left out of what the voice gets, and ``kiosk flows check``
# warns at the first letter of each run (since speakable/24).
_ZH_OTHER_SCRIPT = re.compile(
    "[\u0370-\u03ff\u0400-\u052f\u0530-\u1dff\u2c00-\u2dff\u3040-\u30ff\u3130-\u318f"
    "\u31f0-\u31ff\ua000-\ua4ff\ua640-\ua6ff\ua700-\ua7ff\ua800-\ud7ff\ufb1d-\ufdff"
    "\ufe70-\ufeff\uff66-\uffdc\U00010000-\U0001d3ff\U0001d800-\U0001ffff]+")


def _other_script_run(m: re.Match) -> bool:
    """Whether the run holds a letter (not a Greek letter the rules read, nor a symbol)."""
    return any(unicodedata.category(c)[0] == "L" and c not in _GREEK for c in m.group(0))


_OPTION_CODE = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z]{0,4}\d{4,8}-[CPcp]-\d+(?:\.\d+)?"
                          r"(?![A-Za-z0-9-])")


def _fund_code_in_brackets(text: str, a: int, b: int) -> bool:
    """Whether the digits text[a:b] are six in brackets right after a word (兴全合润混合（LOF）
    （163406）): a fund's or a stock's code, read right digit by digit (since speakable/25)."""
    return b - a == 6 and text[a - 1:a] in ("（", "(") and text[b:b + 1] in ("）", ")") and \
        a >= 2 and not text[a - 2].isspace()


def _zh_drop_other_scripts(text: str) -> str:
    return _ZH_OTHER_SCRIPT.sub(lambda m: " " if _other_script_run(m) else m.group(0), text)


# A long run of digits after a word of a code or number is a code, read right digit by digit.
_LONG_CUED_BEFORE = re.compile(r"(?:号|码|账户|帐户|代码|编号|ID|[Nn]o\.?|#|[Nn]umber|[Cc]ode|"
                               r"[Aa]ccount)(?:[:：\s为是]|\bis\b)*\Z")


def round_twentyone_issues(text: str, locale: str) -> Iterator[Issue]:
    """The round-twenty-one warnings: a number of 17 digits or more that is no code (read
    digit by digit), and in Mandarin a run of letters of another script (see
    _ZH_OTHER_SCRIPT), which the voice leaves out."""
    folded = _fold_digits(text)
    if len(folded) == len(text):  # offsets kept (the Arabic signs are one character each)
        for m in _HUGE_NUMBER.finditer(folded):
            if _LONG_CUED_BEFORE.search(folded, max(0, m.start() - 12), m.start()) or \
                    re.match("[A-Za-z]", folded[m.end():m.end() + 1]):  # 9111...8F: a code
                continue
            yield Issue(m.start(), f"{m.group(0)[:24]} has more digits than a number is said "
                                   f"with, so the voice reads it digit by digit; if it is an "
                                   f"amount write it with 万 / 亿 (or million / billion), if it "
                                   f"is a code it is right as it is")
    if not is_zh(locale):
        return
    for m in _ZH_OTHER_SCRIPT.finditer(text):
        if not _other_script_run(m):
            continue
        script = unicodedata.name(m.group(0)[0], "?").split(" ")[0].title()
        yield Issue(m.start(), f"{m.group(0)[:12]} is written in {script} letters, which the "
                               f"Mandarin voice cannot read and leaves out; write it in "
                               f"Chinese characters (or pinyin), or give it its own locale")


# Hong Kong and Wade-Giles name words in a Mandarin prompt that the Mandarin voice spelled
# letter by letter (Ip "I P", Wing "W I N G", Hsieh "H S ...", Tsz "T Z"): respelt as a word
# it reads whole (since speakable/24): Ip as Yip (said as the English word, as Ip is), Wing
# weng, Tsz ci, and a Wade-Giles Hs- word as the pinyin x- it stands for (Hsieh xie, Hsu xu,
# Hsiao xiao), also the hs- part of a hyphenated given name (Wen-hsiung: xiong). Capitalised
# words only: IP (an acronym) is spelled as before.
_ZH_HK_RESPELT = {"ip": "Yip", "wing": "weng", "tsz": "ci", "hsieh": "xie", "hsueh": "xue",
                  "hsun": "xun", "hsuan": "xuan", "hsien": "xian"}
_ZH_HK_WORD = re.compile(r"(?<![A-Za-z'’])(?:Ip|Wing|Tsz|Hs[a-zü]+|(?<=-)hs[a-zü]+)"
                         r"(?![A-Za-z'’])")


# Wade-Giles finals after hs- written as pinyin writes them (hsiung xiong, hsieh xie).
_WADE_GILES_FINALS = (("iung$", "iong"), ("ieh$", "ie"), ("ueh$", "ue"), ("ien$", "ian"))


def zh_hk_word(word: str) -> str | None:
    """The Mandarin voice's spelling of a Hong Kong / Wade-Giles name word it would spell
    letter by letter, or None."""
    low = word.lower()
    if low in _ZH_HK_RESPELT:
        return _ZH_HK_RESPELT[low]
    if low.startswith("hs"):
        pinyin = "x" + low[2:].replace("ü", "u")
        for wade, pin in _WADE_GILES_FINALS:
            pinyin = re.sub(wade, pin, pinyin)
        return " ".join(pinyin_syllables(pinyin) or ()) or None
    return None


def _zh_hk_words(text: str) -> str:
    return _ZH_HK_WORD.sub(lambda m: (lambda said: m.group(0) if said is None else
                                      f" {protect_spoken(said)} ")(zh_hk_word(m.group(0))), text)
