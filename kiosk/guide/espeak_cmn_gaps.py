"""CJK characters of U+4E00–U+9FA5 that espeak-ng's Mandarin voice cannot say (measured).

espeak-ng's ``sit/cmn-latn-pinyin`` voice has a reading for most of the original CJK Unified
Ideographs, but not all: for one it has no entry for (瑃, 璓, 琒, 暃, 嫲 ...) it says a schwa
(phonemes ``@:11``), so a rare character of a name is not heard. ``ESPEAK_CMN_GAPS`` holds
them; the guide gives each its pypinyin reading as pinyin with a tone digit (瑃 -> "chun1"),
which the voice reads as written, and ``kiosk flows check`` warns about one with no reading.

Measured with espeak-ng 1.51 (Debian) over U+4E00–U+9FA5: 625 of the 20,902 characters.
Regenerate it (from the repository root, with espeak-ng installed; about 15 s of one core):

    python -m kiosk.guide.espeak_cmn_gaps > gaps.py && mv gaps.py kiosk/guide/espeak_cmn_gaps.py

tests/test_guide_normalise.py re-measures a sample against the installed espeak-ng.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

VOICE = "sit/cmn-latn-pinyin"
FIRST, LAST = 0x4E00, 0x9FA5  # the range the voice's dictionary covers (kiosk.guide.normalise)
# What espeak-ng says for a character it has no entry for.
SCHWA = "@:11"

# BEGIN GENERATED
ESPEAK_VERSION = "1.51"
ESPEAK_CMN_GAPS = frozenset(
    "丆丷乄乊乛乤乥乧乬乮乯乲乺乻乼乽亪亽仒仩伬佦佨侤俧俬倿傦僲儏兙兡兯兺冃冧凖凧凩凪"
    "匁匂匇厁厑厼叾呚呣咜哖哘哛唜唟唥啹喸嗧嗭嗴嘥噺嚑嚒嚡囎囕囖圕圦圷圸垈垊垪垯垰垳埖"
    "堏堒堔塀塆塰墛墸墹壗壥壪壭夈夑夞夻奍妛娐娳婔婮婲媈媘媫嫲嬄嬜嬫嬳嬶孧尛尡屗屲屶屷"
    "岃岼岾峅崊崰嵜嵵嵶嵻嶶嶿巕巪巬巭巼幉幤幥庒廤廭彁彅徔徚忄怺怽怾恖恷愥慐懳扌扖抣拤"
    "挘挧捤掵掶掹揻揼摗撶擜擝攚敾斏旀旕暃曢曻朑朥朰杁杢杣杤杦枠枤枦枩柨栆栍栶桛桝桞梺"
    "梻椙椚椛椡椢椣椦椧椨椩椬楾楿榁榊榋榌槗槝槞槡樭樮樰橲橳橴橵橸橺橻檪檲櫊櫤櫦櫵櫷欌"
    "欍欕欟歄歚殝殱毜毝毟毮毶氞氵氺汢汣汼泹洜浌涥渏湪湭溂溄溊溋滧潈潉潱澚澛澝濏濵濸濹"
    "瀭瀮灐灜灳炚炞炿烥烪烮焁焑焒焹焽焾焿煀煯煶煷熍熕熖熴燝燞燵燶爎爘爠爦爫爳牗牜犞犭"
    "猠獇獤珯珱琑琒琻瑃瑡璍璓璤璴瓧瓩瓰瓱瓲瓸瓼甅畓畠畩疂癦癷睵瞣砛砽砿硓硘硛硳硴碵碷"
    "磗磮礀礂礢禙禣稥穃穒穝穦穯窤窧窽竍竏竓竔竕竡笂笹笽筺筽箮篐篒簓簗簯簱籂籎籏籖籡粀"
    "粂粌粏粐粩粫粬粭糀糘糬紦絋綛緕縅縇縨繌繧纐缼罀罉罖羪翶耂聁聓聢聣聨聺胿脋脌膒膤舤"
    "舮舿艈艔艝艠苆茐茒茾荢莵莻萙萞萟萡萢萣蒅蒊蒏蓙蓜蓞蓤蔶蕱薭藔藲藵蘒蘕蘰虄虅虲蛯蝊"
    "螁螦螧螩蟐蟵蠴衐衤袥袰裃裄裇褄褜褝襅襨襷襽覄訁誮謃謉謢贌贘趰踎躮躵躻躼躾軅軈轌辪"
    "辷辻込迌迚迲逧遖遤邜邤郒郮酛酜釒釻鈨鈩鈪鈫銯鋲鋴錺錻錿鍂鍅鎆鎺鎼鎽鎾鏯鏱鏲鐢鐣鑓"
    "鑦鑧閊閖閚閪闎闏闧陦陹隡霗霻靍鞆鞐鞰鞺韕韟颪飊駇駯駲髸魞魸魹鮖鮗鮘鮱鮲鮴鯂鯎鯏鯐"
    "鯑鯱鯲鯳鰘鰚鰰鱛鱜鱩鱪鱫鱰鳰鴫鵆鵇鵈鵤鵥鶍鶎鶑鶫麶"
)
# END GENERATED


def measure(chars: str, voice: str = VOICE, timeout: float = 120.0) -> set[str]:
    """The characters of ``chars`` that espeak-ng (``espeak-ng -x``, ``voice``) says as a
    schwa: the ones its dictionary has no entry for.

    One espeak-ng run, each character a sentence of its own. Raises FileNotFoundError when
    espeak-ng is not installed, RuntimeError when its output does not have one line per
    character, and subprocess.TimeoutExpired after ``timeout`` seconds.
    """
    lines = phoneme_lines(chars, voice, timeout, "cannot tell which it cannot say")
    return {c for c, line in zip(chars, lines, strict=True) if line.startswith(SCHWA)}


def phoneme_lines(chars: Sequence[str], voice: str = VOICE, timeout: float = 120.0,
                  what: str = "") -> list[str]:
    """espeak-ng's phonemes (``-x``, ``voice``) of each character of ``chars`` (or each text of
    a sequence of texts), a line each:
    one espeak-ng run, each character a sentence of its own. Raises FileNotFoundError when
    espeak-ng is not installed, RuntimeError (``what`` appended) when its output does not have
    one line per character, and subprocess.TimeoutExpired after ``timeout`` seconds."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng)")
    text = "".join(f"{c}。\n" for c in chars)
    out = subprocess.run([exe, "-v", voice, "-x", "-q", "--stdin"], input=text.encode(),
                         capture_output=True, timeout=timeout, check=True).stdout.decode()
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if len(lines) != len(chars):
        raise RuntimeError(f"espeak-ng gave {len(lines)} lines of phonemes for {len(chars)} "
                           "characters" + (f"; {what}" if what else ""))
    return lines


def espeak_version() -> str:
    """The installed espeak-ng's version ("1.51"), from ``espeak-ng --version``."""
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, check=True,
                         timeout=30).stdout.decode().split()
    return out[out.index("text-to-speech:") + 1] if "text-to-speech:" in out else "unknown"


def _data_lines(chars: set[str], width: int = 40) -> str:
    ordered = "".join(sorted(chars))
    rows = [ordered[i:i + width] for i in range(0, len(ordered), width)]
    return "\n    ".join(f'"{row}"' for row in rows)


def main() -> None:
    """Print this module with ESPEAK_CMN_GAPS measured anew on the installed espeak-ng."""
    gaps = measure("".join(chr(c) for c in range(FIRST, LAST + 1)))
    source = Path(__file__).read_text(encoding="utf-8")
    head, _, rest = source.partition("# BEGIN GENERATED\n")
    _, _, tail = rest.partition("# END GENERATED\n")
    block = (f'# BEGIN GENERATED\nESPEAK_VERSION = "{espeak_version()}"\n'
             f"ESPEAK_CMN_GAPS = frozenset(\n    {_data_lines(gaps)}\n)\n# END GENERATED\n")
    sys.stdout.write(head + block + tail)


if __name__ == "__main__":
    main()
