"""CJK characters of U+4E00–U+9FA5 that espeak-ng's Mandarin voice says with a wrong tone.

espeak-ng's ``sit/cmn-latn-pinyin`` dictionary gives some characters a tone that is not their
reading: 燚 (yì, a given-name character) is said yī, 邳 pí for pī, 讧 hóng for hòng. These are
the characters with ONE reading in pypinyin (no heteronym, so no context can make espeak-ng
right) whose espeak-ng tone differs from it. The guide gives each its pypinyin reading as
pinyin with a tone digit (燚 -> "yi4"), as it gives the characters espeak-ng cannot say
(``kiosk.guide.espeak_cmn_gaps``). Polyphonic characters are handled by their context
(``ESPEAK_CMN_READINGS`` and the phrase readings in ``kiosk.guide.normalise``).

Measured with espeak-ng 1.51 (Debian) over U+4E00–U+9FA5 less the gaps: 756 of the
characters pypinyin knows. Regenerate it (from the repository root, with espeak-ng installed;
about 20 s of one core):

    python -m kiosk.guide.espeak_cmn_tones > tones.py && mv tones.py kiosk/guide/espeak_cmn_tones.py

tests/test_guide_normalise_round10.py re-measures a sample against the installed espeak-ng.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from kiosk.guide.espeak_cmn_gaps import (
    ESPEAK_CMN_GAPS,
    FIRST,
    LAST,
    VOICE,
    espeak_version,
    phoneme_lines,
)

# espeak-ng's tone numbers (pitch contours) for the four tones.
_CONTOURS = {"55": 1, "35": 2, "214": 3, "21": 3, "51": 4}

# BEGIN GENERATED
ESPEAK_VERSION = "1.51"
ESPEAK_CMN_TONES = frozenset(
    "丵亇伮佲侙侞俇俵倁倃倎倶倷偂偤傊傠儣儨兤冭冾凁凗剆剻劅劕劜劰勂勏勨勫勬匥匬匸卶厒"
    "叝呠呥咅咗咵哻唀唂唅唋唭唹啂啒啱啲喺喼嗰嘋噮囩囲圑圢圤坄坣坱埍埞堎堼堾塣塸墄墇墑"
    "墣墬墶壴夦夽奆妴姛姾娸娺婌媉嫞嬂嬅嬠嬱寋屒岤岯岰峆峉峎峏峑峘峜峾崁崱崸嵅嵈嵡嵨嶑"
    "嶖嶣嶲巀巤巻幀幏庛廅廍廜廮弅彉彍彟彠彽徶忛応忟忦怷恀恏惃惗慛憜憣懅懖懫懭扥抩抰挀"
    "挶捀捑掍掓掕揗揯搄搈摚摬摿撃撗撧撸擌擕攌攡敀敒敪敯昤晊晠晣晳暜暪暸暺朄杋枡枬査栘"
    "栢栨桰桵梜梮棅棆棌棞棤棳椫楅楎楧榙榥榲榼槆槕槖槦槰樃樍樎樷樿橁檋檙欉欘欫欰歋歕歞"
    "歵歺殏殜殻毃毦毲汦汫沨沯泭洅洕浀淔淴淿渮湀湁湥湨溇溕溣溨溰溻滉滍滗滫滰滺滽漃漅漧"
    "潃潷澃澏澖濥瀄瀙瀜灍灴炇炶烇烼焂焟焩焪煄煵熌熮燓燚燪燺爈爊爋爒牅牤犦犩犽狅狛猇猒"
    "猞猹獊獥獱玜琄琍瑎瑦瑳璹瓆瓋瓍甐甝甹畁疶疷痁瘎瘜瘷瘽癒癥癹皕皝皬盠盰眒眡眤眮眱眳"
    "瞂瞃瞡矉矋矝矲砙硈硠硡磌磘礍礏礔礚祩祲祳禆禔禝禫禶秎秷稨稪穬窡窢窣窱窷竮笅笩筁筈"
    "筣箺篃篫篽簁簼粈粚粦糌糪糷紖紪紻絇絎絟絼綥綼緁緆縓繨繷纼绗罙罧罺罿羍羵翖耊耠耴聛"
    "聠聧肒肙肵胐胮脁脙脜脶脻脽腉腛腡腨舚舭艥艵芏芞芶苖茩荍荝荲莌莶菂萠萲萴葀葕葖葜蒚"
    "蒠蒧蒫蓚蓢蓥蓩蓳蓶蓹蔮蔹蔿蕫薀薚薝藈藧蘝蘣蘤蘳蘵蘹虍虪虳蚃蚍蛂蛅蛈蛬蜠蜪蜬蝰螤蠁"
    "蠙蠚蠝蠫蠯蠿衉衪袕袬裣裰裻褀褁褉褺覒覗覸觓訌訮詨誁誈誖誧諁諊諌諝諯諻謩譠譣譪讗讘"
    "讧谞谽貦貭賌賏賧贉贑赥趬踄踗踘踙蹜蹵蹹躤軠軡輁轝轠迉迏迵邳郖鄃鄇鄎鄏鄓酑酘醘醩釛"
    "釢釸鈟鈢鈵鋄鋛錖錜錝鍕鍜鍤鍷鎤鎹鏊鏚鏼鐂鐐鐑鐚鐛鑉鑋鑜钃钑铔铴锸镩閌陮陿隢隫隲雟"
    "雵霐霶霼靗靫鞂鞒鞥韖韱頋頛頢頥頱顠顣顪顭颿餋餥饂馣馤馰馴駉駗駩駽騇騝騞騟騱騻驏驓"
    "驔驨骲骺髜髢鬋鬗鬫魆魙魠鮛鮡鮳鯓鯶鯷鰌鰎鰏鰕鰿鱊鲓鲾鳀鳙鳣鳪鳬鴄鴘鴜鵀鵖鵚鵫鶤鶷"
    "鷏鷑鷒鷚鷛鷨鸄鸒鸔鹨麅麌麡麧麪麫麯麹麿黁黊黋黗黭黼鼨鼰鼵鼶鼸鼼齈齚齞龖龡"
)
# END GENERATED


# Characters espeak-ng says in the neutral tone (contour 11, 22 or 33) wherever they stand (欢迎
# huan5 ying2, 业务 ye4 wu5, 信息 xin4 xi5, the surnames 傅 伍 巴), though each has a full tone
# and pypinyin lists no neutral reading for it (since speakable/26; the round-twenty-two
# tester's class). Measured with espeak-ng 1.51 over the 3,755 characters of GB 2312 level 1
# (``common_chars``): 80 said neutral, of which these 53 are not particles (的 了 吗 们
# 子 ...: a neutral reading of pypinyin's), not in ``ESPEAK_CMN_READINGS`` (地 de5, 得 de5: the
# voice's reading on purpose) and not 个 (neutral in 这个, 一个 as spoken). The guide gives each
# its reading as pinyin with a tone digit, which espeak-ng says with that tone (huan1: h'uan55),
# except where a word of pypinyin's says it neutral (尾巴 ba, 衣裳 shang, 功夫 fu).
# Regenerate: python -m kiosk.guide.espeak_cmn_tones --neutral (about 4 s of one core).
# BEGIN NEUTRAL
ESPEAK_CMN_NEUTRAL = frozenset(
    "乎仙伍伶傅务匠咐唬嗽坊夫娘宜屉巴帚息戚扮拇拾敞晃晨朵枉楚欢泼涂爷狸甫睛矩稼窿笆篷"
    "糊缀膊菇蔗蝇袱识诉辑酬驼鹊"
)
# END NEUTRAL
_NEUTRAL_CONTOURS = ("11", "22", "33")


def common_chars() -> str:
    """The 3,755 characters of GB 2312 level 1 (the common ones), in code order."""
    out = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                out.append(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(out)


# espeak-ng's Mandarin voice reads a character by one reading wherever it stands. For these
# polyphonic characters that reading is not pypinyin's common one (measured with espeak-ng
# 1.51 `-x` over the polyphonic characters of GB 2312 level 1; characters whose espeak reading
# differs from pypinyin's only by a neutral tone are left out). For the rest, espeak-ng reads
# a character as pypinyin's common reading (``zh_reading``).
ESPEAK_CMN_READINGS = {
    "唉": "ai4", "耙": "pa2", "绷": "beng3", "掺": "chan1", "长": "chang2", "澄": "deng4",
    "地": "de5", "得": "de5", "甸": "dian4", "侗": "tong1", "囤": "tun2", "垛": "duo4",
    "干": "gan1", "杠": "gang4", "葛": "ge3", "冠": "guan4", "呵": "a1", "貉": "he2",
    "哄": "hong1", "虹": "jiang4", "稽": "qi3", "迹": "ji1", "绩": "ji1", "缉": "qi4",
    "贾": "gu3", "矫": "jiao2", "尽": "jin4", "咳": "hai1", "傀": "kui3", "勒": "le4",
    "擂": "lei4", "肋": "lei4", "楞": "leng4", "蔓": "man2", "谩": "man4", "糜": "mei2",
    "娩": "wan3", "呐": "ne5", "溺": "niao4", "疟": "yao4", "漂": "piao4", "撇": "pie3",
    "颇": "po1", "仆": "pu2", "呛": "qiang4", "炔": "que1", "煞": "sha4", "似": "si4",
    "苔": "tai1", "褪": "tun4", "拓": "ta4", "萎": "wei3", "挝": "zhua1", "矽": "xi1",
    "铣": "xian3", "兴": "xing4", "莞": "wan3", "奄": "yan1", "耶": "ye1", "荫": "yin4",
    "喳": "cha1",
    "辗": "zhan3", "吱": "zi1", "著": "zhe5", "拽": "ye4", "仔": "zi3", "卒": "cu4", "柞": "zuo4",
}


def said_neutral(chars: str, voice: str = VOICE, timeout: float = 120.0) -> set[str]:
    """The characters of ``chars`` espeak-ng says with a neutral contour (one espeak-ng run)."""
    lines = phoneme_lines(chars, voice, timeout)
    out = set()
    for ch, line in zip(chars, lines, strict=True):
        contours = re.findall(r"\d+", line)
        if contours and contours[-1] in _NEUTRAL_CONTOURS:
            out.add(ch)
    return out


def neutral_misread(chars: str) -> set[str]:
    """The characters of ``chars`` espeak-ng says neutral that have a full tone and no neutral
    reading in pypinyin, less the voice's deliberate readings and 个 (see above)."""
    from pypinyin import Style, pinyin  # the rebuild only

    from kiosk.speech.textnorm import zh_reading  # the rebuild only

    out = set()
    for ch in said_neutral("".join(c for c in chars if c not in ESPEAK_CMN_GAPS)):
        reading = zh_reading(ch)
        readings = pinyin(ch, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0]
        if reading and reading[-1] in "1234" and ch not in ESPEAK_CMN_READINGS and \
                ch != "个" and not any(r.endswith("5") for r in readings):
            out.add(ch)
    return out


def espeak_tones(chars: str, voice: str = VOICE, timeout: float = 120.0) -> list[int | None]:
    """The tone espeak-ng says each character of ``chars`` with (1-4; None when its phonemes
    show none). One espeak-ng run, each character a sentence of its own. Raises
    FileNotFoundError when espeak-ng is not installed, RuntimeError when its output does not
    have one line per character."""
    lines = phoneme_lines(chars, voice, timeout)
    tones: list[int | None] = []
    for line in lines:
        contours = re.findall(r"\d+", line)
        tones.append(_CONTOURS.get(contours[-1]) if contours else None)
    return tones


def misread(chars: str) -> set[str]:
    """The characters of ``chars`` with one pypinyin reading that espeak-ng says with another
    tone."""
    # Only when the table is rebuilt (python -m kiosk.guide.espeak_cmn_tones), never at run time.
    from pypinyin import Style, pinyin

    from kiosk.speech.textnorm import zh_reading  # the rebuild only, as above

    said = espeak_tones(chars)
    out = set()
    for ch, tone in zip(chars, said, strict=True):
        reading = zh_reading(ch)
        readings = pinyin(ch, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0]
        if tone is None or reading is None or len(set(readings)) != 1 or \
                not reading[-1].isdigit():
            continue
        if int(reading[-1]) != tone:
            out.add(ch)
    return out


def _data_lines(chars: set[str], width: int = 40) -> str:
    ordered = "".join(sorted(chars))
    rows = [ordered[i:i + width] for i in range(0, len(ordered), width)]
    return "\n    ".join(f'"{row}"' for row in rows)


def _main_neutral() -> None:
    chars = "".join(sorted(neutral_misread(common_chars())))
    source = Path(__file__).read_text(encoding="utf-8")
    head, _, rest = source.partition("# BEGIN NEUTRAL\n")
    _, _, tail = rest.partition("# END NEUTRAL\n")
    sys.stdout.write(head + "# BEGIN NEUTRAL\nESPEAK_CMN_NEUTRAL = frozenset(\n    "
                     f"{_data_lines(set(chars))}\n)\n# END NEUTRAL\n" + tail)


def main() -> None:
    if sys.argv[1:] == ["--neutral"]:
        _main_neutral()
        return
    tones = misread("".join(chr(c) for c in range(FIRST, LAST + 1)
                            if chr(c) not in ESPEAK_CMN_GAPS))
    source = Path(__file__).read_text(encoding="utf-8")
    head, _, rest = source.partition("# BEGIN GENERATED\n")
    _, _, tail = rest.partition("# END GENERATED\n")
    block = (f'# BEGIN GENERATED\nESPEAK_VERSION = "{espeak_version()}"\n'
             f"ESPEAK_CMN_TONES = frozenset(\n    {_data_lines(tones)}\n)\n# END GENERATED\n")
    sys.stdout.write(head + block + tail)


if __name__ == "__main__":
    main()
