"""Pinyin for the English voice: a Chinese name or place written in pinyin (Li, Xie, Qiu, Cai,
Xiaoming, Xiamen) respelt so that espeak-ng's English letter rules say something a listener
hears as the Mandarin word, not an English word (Li "lie", Xie "zai", Qiu "kiu", Cai "kai").

Each toneless pinyin syllable (``kiosk.speech.textnorm.pinyin_syllables``) is given an English
spelling built from its initial and final: Li -> Lee, Xie -> Shee-yeh, Qiu -> Chee-yoh, Cai ->
Tsai, Wei -> Way, He -> Huh, Xiaoming -> Shee-yow-ming. The spellings were chosen by reading
espeak-ng's phonemes (``espeak-ng -v gmw/en-us -x``): a consonant before y or w that English
does not begin a word with (shy-, chy-, ly-, hw-, lw-, shw-) makes espeak-ng say the letters
or "eye", so a medial i is written "ee-y" (Shee-yeh: S'i:j'eI) and a medial u after such a
consonant "oo-w" (Luo -> Loo-waw), after h "wh" (Hua -> Whah).
"""

from __future__ import annotations

import functools
import re

from kiosk.speech.textnorm import pinyin_syllables

_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q",
             "x", "r", "z", "c", "s", "y", "w")
_SAY_INITIAL = {"zh": "j", "q": "ch", "x": "sh", "c": "ts", "j": "j"}
# Consonants espeak-ng says before a w as English says them (gw, kw, dw, tw, sw, zw: Guo Gwaw);
# h takes wh (Hua Whah), the others an oo first (Luo Loo-waw, Zhuo Joo-waw).
_W_AFTER = frozenset("g k d t s z".split())
# Finals without a medial: the English spelling of the vowel part.
_PLAIN = {"a": "ah", "ai": "ai", "ao": "au", "an": "ahn", "ang": "ahng", "o": "aw", "ou": "oh",
          "ong": "oong", "e": "uh", "ei": "ay", "en": "un", "eng": "ung", "er": "ar", "i": "ee",
          "in": "een", "ing": "ing", "u": "oo"}
# The vowel part after a medial i (Xie -> Shee-yeh) or u (Guo -> Gwaw).
_AFTER_I = {"a": "yah", "ao": "yow", "an": "yen", "ang": "yahng", "e": "yeh", "u": "yoh",
            "ong": "yoong", "o": "yaw"}
_AFTER_U = {"a": "ah", "ai": "ai", "an": "ahn", "ang": "ahng", "o": "aw", "i": "ay",
            "n": "un", "ei": "ay", "en": "un"}
# y- syllables (ya, yue, yuan) and the ü finals after j q x y l n (Xu Shoo, Xue Shoo-eh).
_Y = {"ya": "yah", "yao": "yow", "yan": "yen", "yang": "yahng", "ye": "yeh", "yi": "ee",
      "yin": "een", "ying": "ying", "yo": "yaw", "yong": "yoong", "you": "yoh", "yu": "yoo",
      "yuan": "yoo-en", "yue": "yoo-eh", "yun": "yoon"}
_U_UMLAUT = {"u": "oo", "ue": "oo-eh", "uan": "oo-en", "un": "oon", "ü": "ee-yoo",
             "üe": "oo-eh"}
_W = {"wa": "wah", "wo": "waw", "wai": "wai", "wei": "way", "wan": "wahn", "wen": "wun",
      "wang": "wahng", "weng": "wung", "wu": "woo"}
_BUZZED_I = {"zh": "jir", "ch": "chir", "sh": "shir", "r": "rir", "z": "zuh", "c": "tser",
             "s": "suh"}
# Whole syllables the parts above would spell wrong (measured: espeak-ng says ts+u as tsoo,
# "ai" as the letters A I, "ay" as aye, "been" as bin, "jung" as German jung).
_WHOLE = {"ai": "eye", "ei": "eh", "ao": "ao", "ce": "tser", "cen": "tsern", "ceng": "tserng",
          "bin": "bean", "zheng": "jerng"}


@functools.lru_cache(maxsize=512)
def en_syllable(syllable: str) -> str:
    """The English spelling of one toneless pinyin syllable (xie -> shee-yeh, lü -> lee-yoo);
    unchanged when it is not one of the forms above."""
    s = syllable.lower().replace("v", "ü")
    if s in _WHOLE:
        return _WHOLE[s]
    if s in _Y:
        return _Y[s]
    if s in _W:
        return _W[s]
    initial = next((i for i in _INITIALS if s.startswith(i) and len(s) > len(i)), "")
    final = s[len(initial):]
    say = _SAY_INITIAL.get(initial, initial)
    if final == "i" and initial in _BUZZED_I:
        return _BUZZED_I[initial]
    if initial in ("j", "q", "x") and final.startswith("u"):
        return say + _U_UMLAUT.get(final, final)
    if initial in ("l", "n") and final in ("ü", "üe"):
        return say + _U_UMLAUT[final]
    if final in _PLAIN:
        return say + _PLAIN[final]
    if final == "iu":
        return say + "ee-yoh"
    if final.startswith("i") and final[1:] in _AFTER_I:
        return say + "ee-" + _AFTER_I[final[1:]]
    if final.startswith("u") and final[1:] in _AFTER_U:
        rest = _AFTER_U[final[1:]]
        if initial in _W_AFTER:
            return say + "w" + rest
        if initial == "h":
            return "wh" + rest
        return say + "oo-w" + rest
    return s


_VOWEL_START = re.compile("[aeo]")


@functools.lru_cache(maxsize=4096)
def pinyin_word_syllables(word: str, longest: int = 4) -> tuple[str, ...] | None:
    """The syllables of a Latin word written in pinyin, or None: as ``pinyin_syllables``, but
    a syllable that begins with a, e or o after another in one part is refused (pinyin writes
    Xi'an; Lee is not le-e, Maria not ma-ri-a), except er (Waner: wan-er); at most ``longest``
    syllables (a name's word may be longer: ``respell_name``)."""
    if not word or not all(c.isalpha() or c in "'’" for c in word):
        return None
    out: list[str] = []
    for part in word.replace("’", "'").split("'"):
        found = pinyin_syllables(part.replace("ü", "v").replace("Ü", "V"), longest)
        if found is None or any(_VOWEL_START.match(s) and s != "er" for s in found[1:]):
            return None
        out += found
    return tuple(out) if len(out) <= longest else None


def en_pinyin_word(word: str, longest: int = 4) -> str | None:
    """A pinyin word respelt for the English voice (Xiaoming -> Shee-yow-ming, QIU -> Chee-yoh),
    capitalised when the word is; None when the word is not pinyin."""
    syllables = pinyin_word_syllables(word, longest)
    if syllables is None:
        return None
    said = "-".join(en_syllable(s) for s in syllables)
    return said.capitalize() if word[:1].isupper() else said


# Where English letter rules go wrong on pinyin: x q zh c as initials, and every final but the
# few English says near enough (an ang en eng in ing ong u un: Wang, Zhang, Chen, Ming, Long).
_SAID_NEAR_ENOUGH = frozenset("a an ang en eng in ing ong un".split())


def _risky(syllable: str) -> bool:
    initial = next((i for i in _INITIALS if syllable.startswith(i) and len(syllable) > len(i)),
                   "")
    if initial in ("x", "q", "zh", "c", "z", "j"):
        return True
    if initial in ("y", "w"):
        return syllable not in ("wang", "wan", "yang", "ying", "yin", "yan", "wu")
    return syllable[len(initial):] not in _SAID_NEAR_ENOUGH


def risky_pinyin(word: str) -> bool:
    """Whether ``word`` is pinyin that English letter rules misread (Li, Xiamen, Huaxin, Qiu,
    Zhang; not Wang, Ming, Chen, Long, which English says near enough)."""
    syllables = pinyin_word_syllables(word)
    return syllables is not None and any(_risky(s) for s in syllables)


# English words (and names of English) that parse as pinyin with a telling part: found by
# running ``looks_pinyin`` over the CMU pronouncing dictionary (pocketsphinx's copy) and keeping
# the English ones; -ing words (waiting, sailing) are refused by rule.
ENGLISH_WORDS = frozenset("""
    taxi maxi queer queerer cheque oxide oxidase oxidize exile exude antique opaque maximize
    maxima maxime maxine julia julie julian juliana julieta diana dianna diane annie naomi heidi
    monique enrique henrique manrique angelique fourier courier couturier soulier routier
    mexican mexicana mexicali canadian pancanadian cutie pixie sexier haiku haiti haitian obama
    dubai sinai maori katie sadie natalie natalia amalia amalie bianca lilian liliana damian
    fabian nubian simian titian dietitian leila sheila alexia ataxia acadia anglia rumania
    rumanian tanzania tanzanian lusitania catalonia catalonian opie ernie minnie lennie dannie
    fannie pennie bennie rennie hannie binnie moxie dixie lexie mamie bailie goudie kaolin
    cacao pique media mania ganglia mahalia kuwaiti sicilian sicilia bahamian namibian
    panamanian maximilian ohanian kantian laotian gentian humiliating alienating abie obie
    eiji geisha cuomo
    shanghai beijing taipei taiwan macao hainan tianjin
    agua aguayo alachua antigua caruana chihuahua guarini huachuca kuala lashua lingua managua
    nashua
    aguanga bohemian guantanamo henao luanda sanjuan
""".split())
# ua and uai since speakable/22 (Fanhua, Huaxin's hua: English says "hyoo-uh")
# uan and uang since speakable/25 (Dongguan, Yinchuan, Huangpu: "gyoo-an", "hyoo-ang")
_TELLING_FINALS = frozenset("iu uo ao ui ie ia ian iao iang iong ue üe ou ei ai ua uai uan "
                            "uang".split())
# Finals English never spells so (ao, uo, iao, iu, iong, uang, uan, ian): enough to take a
# word ending in -ing or -he for pinyin (Baoding, Tianhe); ui / uai are not (guiding).
_NOT_ENGLISH_FINALS = ("ao", "uo", "iu", "iong", "uang", "uan", "ian")


def _telling(syllable: str) -> bool:
    initial = next((i for i in _INITIALS if syllable.startswith(i) and len(syllable) > len(i)),
                   "")
    return initial in ("x", "q", "zh") or syllable[len(initial):] in _TELLING_FINALS


def looks_pinyin(word: str) -> bool:
    """Whether a capitalised word met in an English text is taken for pinyin without a title
    before it: it parses as pinyin (``pinyin_word_syllables``), is not an English word
    (``ENGLISH_WORDS``), and has an initial English never spells so (x, q, zh: Xiamen, Qingdao,
    Zhou) or is two syllables or more with a final English reads otherwise (Huaxin is not:
    hua-xin has x; Suzhou has zh; Qianhai; Liuzhou)."""
    if word.lower() in ENGLISH_WORDS:
        return False
    syllables = pinyin_word_syllables(word)
    if syllables is None:
        return False
    if "'" in word or "’" in word:
        # pinyin's syllable mark before a, e, o (Xi'an, Lu'an, Tai'an: since speakable/27);
        # no English word parses so (O'Neil, D'Arcy, Don't do not)
        return True
    if any(s[0] in "xq" or s.startswith("zh") for s in syllables):
        return True
    if word.lower().endswith("ing"):
        # Baoding, Xiaoping (since speakable/25): a final English never spells so before -ing
        return len(syllables) >= 2 and any(s.endswith(_NOT_ENGLISH_FINALS) and
                                           not s.endswith(("ui", "uai")) for s in syllables[:-1])
    # Tianhe, Longhe (since speakable/25): a last "he" after a final English never spells so
    strong = any(s.endswith(_NOT_ENGLISH_FINALS) for s in syllables)
    return len(syllables) >= 2 and any(_telling(s) for s in syllables) and (
        not any(s[-1] == "e" and s[-2:] not in ("ie", "ue") and not (strong and s == "he")
                for s in syllables))


_TITLE = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Miss|Miz|Mister|Madam|Madame|Dr|Doctor|Prof|Professor|"
                    r"Dear|[Cc]ustomer|[Cc]lient|[Ii]nvestor|[Aa]pplicant|[Nn]ame|"
                    # a staff member's role before a surname, as Mr (Manager Zeng: Zung, as
                    # Mr. Zeng is; since speakable/21)
                    r"[Mm]anager|[Dd]irector|[Oo]fficer|[Aa]dvis[eo]r|[Aa]gent|[Ww]itness|"
                    r"[Ss]upervisor|"
                    # more staff roles of a broker or a bank (teller Li, analyst Xu, banker Cao;
                    # since speakable/23)
                    r"[Aa]nalyst|[Tt]eller|[Cc]onsultant|[Rr]epresentative|[Ss]pecialist|"
                    r"[Pp]lanner|[Bb]anker|[Bb]roker|[Cc]ashier|[Cc]lerk|[Rr]eviewer|[Cc]olleague|"
                    r"[Pp]resident|[Cc]hairman|[Cc]hairwoman|[Aa]ssistant|[Ss]alesperson|"
                    r"[Cc]oordinator|[Ss]taff)\b\.?:?\s+)\Z")
# The longest title with its dot, colon and a space or two (Representative.: ): a window
# that keeps the search for a title before a word linear in the text (since speakable/26; a
# search from the start made 4,000 Chinese characters in an English prompt take 17 s).
_TITLE_WINDOW = 40


def _title_before(text: str, end: int) -> re.Match | None:
    """A title (Mr, Dear, Manager ...) right before ``text[end]``."""
    return _TITLE.search(text, max(0, end - _TITLE_WINDOW), end)


# A possessive 's is not part of the word (Qingdao's, Chongqing's: respelt as the bare name,
# since speakable/27); an apostrophe between pinyin syllables is (Xi'an, Lu'an).
_CAPITALISED = re.compile(r"(?<![\w'’\-])(?:[A-Z][a-z]+|[A-Z]{2,})(?:['’](?![sS]\b)[a-z]+)?"
                          r"(?![\w\-])")


# Wade-Giles and Hong Kong spellings of a surname or a given name (Hsu, Hsieh, Ip, Chi, Ki),
# said the way their bearers say them; English letter rules spell Hsu and Ip as letters (H S U,
# I P) and say Chi and Ki "kai" (since speakable/23). Hs- begins no English word, so a
# capitalised Hs- word is respelt anywhere; the others in a name (``respell_name``), after a
# title (Mr. Ip) or next to another name word (Chi Keung, Lau Chi Wai). The spellings were
# checked with espeak-ng -x (Shoo S'u:, Shee-yeh S'i:j'eI, Ipp 'Ip, Chee tS'i:).
WADE_GILES_HK = {
    "hsu": "Shoo", "hsü": "Shoo", "hsieh": "Shee-yeh", "hsiao": "Shee-yow", "hsia": "Shee-yah",
    "hsin": "Sheen", "hsing": "Shing", "hsiung": "Shee-yoong", "hsiang": "Shee-yahng",
    "hsien": "Shee-yen", "hsi": "Shee", "hsueh": "Shoo-eh", "hsun": "Shoon", "hsuan": "Shoo-en",
    "ip": "Ipp", "chi": "Chee", "ki": "Kee", "ng": "Ung", "tsui": "Tsoy",
    "tsz": "Tsee",  # 子 / 紫 in Hong Kong (Wong Tsz Kin), spelled T S Z by the voice (speakable/25)
}
# An Hs- word anywhere, a part of a hyphenated given name too (Hsiao-mei: Shee-yow-mei).
_HS_WORD = re.compile(r"(?<![\w'’])Hs[a-zü]+(?![\w'’])")
# Other name words of Hong Kong (not pinyin) that mark a name as one: Chi next to them is Chee.
_HK_NAME_WORDS = frozenset("""
    chan cheung leung lau wong ng ip yip kwok tsang tse tsui chow chau lam lai lee kwan kwong
    ung keung kit wai ming man hung fung yuen yeung mok siu sze chun cheuk hui lui tam tang fong
    choi chiu shek ho law lo poon pang kam yiu suen tsz wing hing ka yan hoi ting kin
""".split())
HK_NAME_WORDS = _HK_NAME_WORDS  # the same words, for the checks of kiosk.guide.normalise
# English words that are also pinyin syllables: a capitalised one starts a sentence or a title
# as often as it is a name, so next to a pinyin name word only that word is respelt (Ben Liu:
# Ben Lee-yoh); a pair of pinyin words is a name when one is pinyin English misreads and is no
# English word (Wang Li, Cao Jie, Guo Jing, Liu Yang).
_ENGLISH_SYLLABLES = frozenset("""
    a an he me she die lie tie pie you yo ban can fan man pan ran tan van wan bin din fin gin kin
    pin sin tin win ben den hen men pen ten zen bang gang hang rang sang tang long song dong gong
    pong ding king ping ring sing ting wing hey pai tai lou bo po mo no so la ma pa ta na ha ya wa
    cha chi dan nan jan ken sue hue gene lee
""".split())


def english_syllable(word: str) -> bool:
    """Whether ``word`` is an English word that is also one pinyin syllable (He, Ban, Long)."""
    return word.lower() in _ENGLISH_SYLLABLES


def _name_word(word: str) -> bool:
    """Whether ``word`` may be a word of a pinyin name beside another: one pinyin syllable, or
    more that ``looks_pinyin`` (so Pine, Lane, June, Tina, Lena, Line, read pi-ne, la-ne, ju-ne,
    ti-na, are English: a syllable ending in a bare e, or no telling final)."""
    syllables = pinyin_word_syllables(word)
    return syllables is not None and (len(syllables) == 1 or looks_pinyin(word))


def _name_pair(a: str, b: str) -> bool:
    """Whether two capitalised words side by side, both pinyin, are a Chinese name."""
    if not all(_name_word(w) for w in (a, b)):
        return False
    return any(risky_pinyin(w) and w.lower() not in _ENGLISH_SYLLABLES and
               w.lower() not in ENGLISH_WORDS for w in (a, b))


def respell_text(text: str) -> str:
    """``text`` with each pinyin word the English voice would misread respelt (``en_pinyin_word``):
    a capitalised word that ``looks_pinyin``, any pinyin word after a title (Mr He, Dear Li,
    Customer: Qiu Ying), and a pinyin word next to one of those (Wang Xiaoming). Words English
    reads near enough (Wang, Ming, Chen) are respelt only as part of such a name."""
    text = respell_ng(text)
    if "Shaanxi" in text or "SHAANXI" in text:  # 陕西's own spelling (not pinyin: speakable/25)
        text = re.sub(r"(?<![\w'’\-])(?:Shaanxi|SHAANXI)(?![\w\-])", "Shahn-shee", text)
    if "Hs" in text:
        text = _HS_WORD.sub(lambda m: WADE_GILES_HK.get(m.group(0).lower(), m.group(0)), text)
    if "Urumqi" in text or "URUMQI" in text:
        text = re.sub(r"(?<![\w'’\-])(?:Urumqi|URUMQI)(?![\w\-])", _URUMQI, text)
    words = list(_CAPITALISED.finditer(text))
    if not words:
        return text
    taken: list[bool | None] = [looks_pinyin(m.group(0)) or (
        risky_pinyin(m.group(0)) and _title_before(text, m.start()) is not None) or
        _named_place(text, m) for m in words]
    for i in range(len(words) - 1):  # Wang Li, Cao Jie: a name of two pinyin words
        a, b = words[i], words[i + 1]
        if text[a.end():b.start()] == " " and _name_pair(a.group(0), b.group(0)):
            for k, word in ((i, a), (i + 1, b)):
                if word.group(0).lower() not in _ENGLISH_SYLLABLES and \
                        word.group(0).lower() not in ENGLISH_WORDS:
                    taken[k] = True
    for i, m in enumerate(words):
        if taken[i] or pinyin_word_syllables(m.group(0)) is None:
            continue
        # Ben Liu, He Li: an English word right before a name is left (LI Na: Na is not)
        english = m.group(0).lower() in _ENGLISH_SYLLABLES and \
            _title_before(text, m.start()) is None
        for j in (i - 1, i + 1):
            if 0 <= j < len(words) and taken[j] and not (english and j == i + 1):
                a, b = sorted((words[i], words[j]), key=lambda w: w.start())
                if text[a.end():b.start()] == " ":
                    taken[i] = True
    for i, m in enumerate(words):  # Hsu, Hsieh anywhere; Ip, Chi, Ki in a name
        w = m.group(0).lower()
        if w not in WADE_GILES_HK or w == "ng":
            continue
        near = [words[j] for j in (i - 1, i + 1) if 0 <= j < len(words) and
                " " == text[min(m.end(), words[j].end()):max(m.start(), words[j].start())]]
        if w.startswith("hs") or _title_before(text, m.start()) or any(
                n.group(0).lower() in _HK_NAME_WORDS or n.group(0).lower() in WADE_GILES_HK
                for n in near):
            taken[i] = None
    out, at = [], 0
    for m, take in zip(words, taken, strict=True):
        if take is None:
            out += [text[at:m.start()], WADE_GILES_HK[m.group(0).lower()]]
            at = m.end()
            continue
        said = en_pinyin_word(m.group(0)) if take else None
        if said is not None:
            out += [text[at:m.start()], said]
            at = m.end()
    return "".join(out) + text[at:]


# 乌鲁木齐's own spelling (Urumqi, from Uyghur: not pinyin), which the voice said "Yoo-rum-kee"
# (since speakable/26; checked with espeak-ng -x: u:ru:mu:tSi:)
_URUMQI = "Oo-roo-moo-chee"
# A word before a word of a place (Siming District, Jiading District, Kunming Road: since
# speakable/26) is a place's pinyin name when it parses as two pinyin syllables or more, is no
# English word, and either has a syllable English misreads (``risky_pinyin``: Si, Jia) or
# joins n and m (Kunming: "Kun-uh-ming"); a bare e ends none of its syllables but he (Pine
# Street, Lena Road stay English), as ``looks_pinyin`` asks.
_PLACE_WORD_AFTER = re.compile(r" (?:District|County|City|Road|Street|Avenue|Province|Town|"
                               r"Township|Village|Lane|Subdistrict|New Area|Zone|Prefecture)\b")


def _named_place(text: str, m: re.Match) -> bool:
    word = m.group(0)
    if not _PLACE_WORD_AFTER.match(text, m.end()) or word.lower() in ENGLISH_WORDS:
        return False
    syllables = pinyin_word_syllables(word)
    if syllables is None or len(syllables) < 2 or any(
            s[-1] == "e" and s[-2:] not in ("ie", "ue") and s != "he" for s in syllables):
        return False
    return risky_pinyin(word) or any(a.endswith("n") and b.startswith("m")
                                     for a, b in zip(syllables, syllables[1:], strict=False))


# The Cantonese surname Ng (吴 / 伍 in Hong Kong), which espeak-ng spells as the letters N G: a
# syllabic ng, said "Ung" ('VN) as English speakers near it (Ms. Ng, Ng Wai Kit).
_NG = re.compile(r"(?<![\w'’\-])(?:Ng|NG)(?![\w'’\-])")


def respell_ng(text: str, name: bool = False) -> str:
    """``text`` with the surname Ng said "Ung": the capitalised word Ng anywhere, NG (capitals)
    only in a name (``name``) or after a title (Mr NG), where it is no acronym."""
    if "Ng" not in text and "NG" not in text:
        return text
    return _NG.sub(lambda m: "Ung" if m.group(0) == "Ng" or name or
                   _title_before(text, m.start()) else m.group(0), text)


_NAME_WORD_SYLLABLES = 8


def respell_name(words: list[str]) -> list[str] | None:
    """A name's words respelt for the English voice when every word is pinyin (Wang Xiaoming ->
    Wahng Shee-yow-ming); in a name not all pinyin (a Western given name and a Chinese surname:
    Maria Li), only its last word when it is pinyin English misreads (``risky_pinyin``: Maria
    Lee; Lee Ming and John Smith are left), and the surname Ng ("Ung") in any name (Ng Wai Kit).
    None when nothing is respelt."""
    # A name's word may be long (a Uyghur name's part: Gulinazhaer, Abudoureheman, six
    # syllables): every word pinyin, each is respelt whole (since speakable/24).
    said = [en_pinyin_word(w, _NAME_WORD_SYLLABLES) for w in words]
    if said and None not in said:
        return [w for w in said if w]
    out = [WADE_GILES_HK.get(w.lower(), w) if w.lower() in WADE_GILES_HK and (
        w.lower() != "chi" or any(v.lower() in _HK_NAME_WORDS for v in words)) else w
        for w in words]
    last = words[-1] if words else ""
    if len(words) > 1 and last.lower() not in ENGLISH_WORDS and risky_pinyin(last) and \
            en_pinyin_word(words[0]) is None:
        out[-1] = en_pinyin_word(last) or last
    return None if out == words else out
