"""The evaluation corpus: real face footage, natural voices, and the cases built from them.

Faces come from a manifest the operator provides (``faces.json``, see docs/evaluation.md): real
footage with a permissive licence, each clip with its person, source, licence and split. The
repository keeps no footage; a manifest lists it with hashes. Voices are the neural test
voices of ``kiosk.testing.voices``. Each voice and face belongs to a split: ``tuning`` may be
studied while rules are made, ``validation`` is only measured. ``holdout``, ``holdout2`` and
``holdout3`` (case splits, not voice or face splits; see ``HOLDOUT_ROUNDS``) use the validation
voices and faces with applicants, ID numbers and speaking rates (0.85-1.2) that no rule was
ever made on: every utterance in them is new.

A *case* is one whole witness: a camera video, an ID photo, an applicant, and one audio file
per answered step. Genuine cases answer every step as asked. Attack species:

=================  ===========================================================================
refusal            the consent question answered with a plain refusal
yes_but_no         consent answered "是的，我不愿意" / "Yes, but I don't want to"
off_script         consent answered with unrelated speech
overlap            consent refused ("不，我不愿意" / "No, I don't want to") while another voice
                   of the same split says the requested consent 8 dB quieter, 150-300 ms in
                   (a coach beside the investor; issue #12)
silence            no answer at all
wrong_reading      the identity sentence read with another name and ID tail
still_photo        a still frame of the face instead of live video
swap               person A for 8 s, then person B: B gives the answers (mid-session)
late_swap          person A for 15 s, then person B: with instant prompts a witness lasts
                   16-30 s, so B often appears only after the last answer
id_mismatch        an ID photo of a different person
coach              the consent answer said by another voice (off camera) while the video shows
                   the investor silent: a stretch of the clip without speech whose mouth is
                   measured still (``CaseBuilder.still_mouth``), played back and forth
=================  ===========================================================================
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kiosk.atomic_files import write_atomic
from kiosk.errors import ConfigError
from kiosk.protocol import StepKind
from kiosk.testing.voices import say_to_file, voices
from kiosk.witness.plan import plan_witness

SPLITS = ("tuning", "validation")  # of voices and faces
SPECIES: tuple[str, ...]  # the attack species, below
# The attacks on the consent question: its answer is replaced by ATTACK_SPEECH.
CONSENT_ATTACKS = ("refusal", "yes_but_no", "off_script")
SPECIES = (*CONSENT_ATTACKS, "overlap", "silence", "wrong_reading", "still_photo", "swap",
           "late_swap", "id_mismatch")
# Where person B takes over in the swap attacks (seconds of the witness's video). Until
# 2026-12-01 "swap" was at 15 s, which was mid-session while witnesses took 40 s or more; with
# instant prompts they now take 16-30 s, so that cut became the end (late_swap keeps it).
SWAP_AT_S = {"swap": 8.0, "late_swap": 15.0}
MAX_CLIP_BYTES = 200 * 1024 * 1024
VIDEO_SIZE = (640, 480)
VIDEO_FPS = 15
# Someone off camera answers for a silent investor (the lip-movement check): kept on a line of
# its own, apart from SPECIES above.
SPECIES += ("coach",)

# What attackers say instead of the requested answer, per locale.
ATTACK_SPEECH = {
    "zh-CN": {"refusal": "不，我不愿意。", "yes_but_no": "是的，我不愿意。",
              "off_script": "今天天气很好，我们一起去公园散步吧。", "overlap": "不，我不愿意。"},
    "en": {"refusal": "No, I don't.", "yes_but_no": "Yes, but I don't want to.",
           "off_script": "The weather is lovely today, let's go for a walk in the park.",
           "overlap": "No, I don't want to."},
}
# The overlap attack: the coach's consent this many dB below the investor's refusal, starting
# this many seconds after it (drawn per case).
OVERLAP_GAIN_DB = -8.0
OVERLAP_OFFSET_S = (0.15, 0.30)
APPLICANT_NAMES = {"zh-CN": ("张三", "李娜", "王伟", "刘洋", "陈静", "赵敏"),
                   "en": ("Alex Chen", "Maria Lopez", "John Smith", "Emma Brown", "David Lee")}
WRONG_NAME = {"zh-CN": "李四", "en": "Peter Wong"}
HOLDOUT_NAMES = {"zh-CN": ("孙丽", "周杰", "吴芳", "郑强", "黄磊", "林晓", "何静怡"),
                 "en": ("Sarah Miller", "Kevin Zhang", "Laura Green", "Tom Baker", "Nina Patel")}
HOLDOUT_SPEEDS = (0.85, 0.95, 1.1, 1.2)


@dataclass(frozen=True)
class HoldoutRound:
    """One round of new utterances on the validation voices and faces.

    A round is used for figures once its rules are final; once its failures have been studied
    it counts as seen, and the next round is what to quote. ``id_offset`` keeps its ID numbers
    apart from every other split's; ``seed`` gives its own plans and speaking rates.
    """

    names: dict[str, tuple[str, ...]]
    speeds: tuple[float, ...]
    id_offset: int
    seed: int
    id_salt: int = 0


HOLDOUT_ROUNDS = {
    "holdout": HoldoutRound(HOLDOUT_NAMES, HOLDOUT_SPEEDS, 1000, 7919),
    # Added after the first holdout's failures were studied (2026-11-30): nothing in it was
    # heard while rules were made.
    "holdout2": HoldoutRound(
        {"zh-CN": ("马超", "高敏", "罗斌", "梁雪", "宋佳", "谢婷", "韩冰"),
         "en": ("Olivia Carter", "Ryan Murphy", "Sofia Rossi", "Daniel Kim", "Grace Liu")},
        (0.9, 0.97, 1.05, 1.15), 2000, 104729, id_salt=389),
    # Added before any of it was heard (2026-11-30, third round), after holdout2's failures
    # were studied: quote this one until its own failures are studied.
    "holdout3": HoldoutRound(
        {"zh-CN": ("唐宁", "许文博", "曹阳", "邓丽君", "冯涛", "蒋欣", "范晓东"),
         "en": ("Hannah Wright", "Lucas Meyer", "Chloe Martin", "Ethan Park", "Zoe Clark")},
        (0.88, 0.93, 1.03, 1.08, 1.18), 3000, 1299709, id_salt=653),
    # Added before any of it was heard (2026-11-30, fifth session), after holdout3's failures
    # were studied: quote this one until its own failures are studied.
    "holdout4": HoldoutRound(
        {"zh-CN": ("杜明", "姜雨桐", "钱坤", "孔令辉", "白露", "秦朗", "汪洋"),
         "en": ("Isabel Ortiz", "Noah Bennett", "Mia Schultz", "Owen Patel", "Leah Novak")},
        (0.87, 0.92, 1.01, 1.12, 1.17), 4000, 15485863, id_salt=911),
    # Added before any of it was heard (2026-11-30, sixth session), after holdout4's failures
    # were studied; seen now (its first look is in docs/evaluation.md). It was first run with a
    # rate of 1.0, which repeats the validation split's fixed answers; 1.04 since.
    "holdout5": HoldoutRound(
        {"zh-CN": ("龚雪", "施展", "霍思燕", "欧阳明", "严浩", "彭宇", "俞静"),
         "en": ("Ava Thompson", "Liam Walsh", "Priya Shah", "Marcus Reed", "Elena Petrova")},
        (0.86, 0.94, 1.04, 1.09, 1.16), 5000, 32452843, id_salt=1153),
    # Added before any of it was heard (2026-12-01, seventh session), after holdout5's failures
    # were studied: quote this one until its own failures are studied.
    "holdout6": HoldoutRound(
        {"zh-CN": ("温婉", "石磊", "贺知章", "段誉", "苏晴", "陆远", "司马南"),
         "en": ("Chloe Adams", "Victor Huang", "Isla Morgan", "Samuel Ortiz", "Yuki Tanaka")},
        (0.89, 0.96, 1.02, 1.07, 1.14), 6000, 49979687, id_salt=1601),
    # Added before any of it was heard (2026-12-01, seventh session), after holdout6's failures
    # were studied (a looping greedy decode; the Mandarin reading rescue that never ran).
    "holdout7": HoldoutRound(
        {"zh-CN": ("蔡琳", "潘岳", "董卿", "卢俊义", "武艺", "季羡林", "上官婉儿"),
         "en": ("Felix Wagner", "Aisha Khan", "Mateo Silva", "Hazel Brooks", "Ren Takahashi")},
        (0.91, 0.98, 1.06, 1.13, 1.19), 7000, 67867967, id_salt=1709),
    # Added before any of it was heard (2026-12-01, eighth session), after holdout7's swap
    # failure was studied (a change of person in the last seconds was never reported).
    "holdout8": HoldoutRound(
        {"zh-CN": ("方志远", "金晓燕", "柏杨", "夏雨荷", "鲁明", "尹天仇", "诸葛青"),
         "en": ("Oscar Lindqvist", "Fatima Rahman", "Diego Alvarez", "Nora Fitzgerald",
                "Kenji Watanabe")},
        (0.84, 0.99, 1.11, 1.22), 8000, 86028121, id_salt=1823),
    # Added before any of it was heard (2026-12-01, eighth session), after holdout8's failures
    # were studied (a swap after the last answer; Mandarin tails losing a digit at 1.1-1.2x).
    "holdout9": HoldoutRound(
        {"zh-CN": ("邵华", "焦阳", "甘露", "管宁", "包青", "易凡", "欧阳修文"),
         "en": ("Ingrid Holm", "Tariq Aziz", "Lucia Moreno", "Callum Reid", "Mei Lin Ong")},
        (0.83, 0.955, 1.025, 1.095, 1.155), 9000, 104395301, id_salt=1931),
    # Added before any of it was heard (2026-12-01, ninth session), with the overlap attack
    # (issue #12: a refusal under a coach's quieter consent); never run when it was added.
    # Rates half a step off 0.86/0.93/1.04/1.1/1.17, which earlier rounds already use.
    "holdout10": HoldoutRound(
        {"zh-CN": ("阮文静", "车志明", "滕飞", "聂晓光", "毛思远", "安若溪", "司徒嘉"),
         "en": ("Rosa Delgado", "Arjun Mehta", "Freya Nilsson", "Tobias Grant", "Paul Dubois")},
        (0.865, 0.935, 1.045, 1.105, 1.175), 10000, 122949823, id_salt=2053),
    # Added before any of it was heard (2026-12-01, tenth session), after holdout10's failures
    # were studied (issue #12). Its rates are ones no earlier round uses, between theirs.
    "holdout11": HoldoutRound(
        {"zh-CN": ("钟晓梅", "翁子健", "屈静", "黎明轩", "柯佳怡", "储涛", "慕容秋"),
         "en": ("Beatrice Hale", "Omar Farouk", "Ines Duarte", "Viktor Sorensen", "Theo Okafor")},
        (0.875, 0.945, 1.015, 1.085, 1.165), 11000, 141650939, id_salt=2179),
    # Added before any of it was heard (2026-12-01, tenth session), after holdout11's failures
    # were studied (issue #12: answers sampled too sparsely to be seen spoken, a face too
    # small for the gate, 五 heard as 母). Rates no earlier round uses.
    "holdout12": HoldoutRound(
        {"zh-CN": ("樊雨晴", "柴志刚", "卓文", "喻晓峰", "左丘明", "雷婷", "薛凯"),
         "en": ("Clara Jensen", "Rahul Verma", "Jonas Becker", "Amara Okoye", "Felipe Castro")},
        (0.845, 0.915, 1.035, 1.075, 1.145), 12000, 179424673, id_salt=2311),
    # Added before any of it was heard (2026-12-02, twelfth session), after holdout12's
    # failures were studied (issue #12: a doubled digit of a Mandarin tail collapsed by
    # Whisper base; short answers not seen spoken on dubbed footage). Rates no earlier round
    # uses.
    "holdout13": HoldoutRound(
        {"zh-CN": ("邵嘉怡", "司马睿", "麦子豪", "冉秀英", "闻一鸣", "简宁远", "戴晴"),
         "en": ("Priya Natarajan", "Lukas Novak", "Mei Tanaka", "Samuel Adeyemi",
                "Hugo Lindqvist")},
        (0.855, 0.925, 1.005, 1.065, 1.125), 13000, 198491317, id_salt=2411),
    # Added before any of it was heard (2026-12-02, thirteenth session), after holdout13's
    # failures were studied (issue #12: answers analysed at the idle frame rate, a breath
    # before 是 written as 只). Rates no earlier round uses.
    "holdout14": HoldoutRound(
        {"zh-CN": ("岑思远", "褚嘉宁", "甘若溪", "蒲雪松", "晏子墨", "东方晓", "邝美玲"),
         "en": ("Nadia Rahman", "Tomas Eriksen", "Keiko Sato", "Kwame Mensah",
                "Ingrid Solberg")},
        (0.835, 0.905, 0.995, 1.055, 1.135), 14000, 217645177, id_salt=2539),
    # Added before any of it was heard (2026-12-02, fourteenth session), after holdout14's
    # failures were studied and a fresh tester's findings were worked on (issue #12:
    # understanding-only consent, out-of-lexicon answers). Rates no earlier round uses.
    "holdout15": HoldoutRound(
        {"zh-CN": ("华清源", "巫晓岚", "寇振华", "靳雨桐", "冉子涵", "闻人杰", "谷嘉欣"),
         "en": ("Marcus Bell", "Lena Fischer", "Mateo Ruiz", "Aisha Bello",
                "Henrik Dahl")},
        (0.825, 0.895, 0.975, 1.115, 1.185), 15000, 236887691, id_salt=2659),
    # Added before any of it was heard (2026-12-02, fifteenth session), after holdout15's
    # failures were studied and a second fresh tester's findings were worked on (issue #12:
    # a face too small at the start, a short risk answer not seen spoken, a doubled tail
    # digit). Rates no earlier round uses.
    "holdout16": HoldoutRound(
        {"zh-CN": ("俞雅琴", "祁志远", "阮文博", "郜思雨", "蓝天佑", "慕容雪", "籍晓东"),
         "en": ("Olivia Hart", "Daniel Osei", "Yuki Mori", "Stefan Kovac",
                "Fatima Haddad")},
        (0.812, 0.883, 0.962, 1.042, 1.128), 16000, 256203221, id_salt=2777),
    # Added before any of it was heard (2026-12-02, fifteenth session), after holdout16's
    # failures were studied (issue #12: answers not seen well enough under load, Biden's face
    # under the gate into the first answer, 是的 heard as 只试着). Rates no earlier round uses.
    "holdout17": HoldoutRound(
        {"zh-CN": ("伍思琪", "车晓川", "龙梓萱", "游建国", "尚雨彤", "欧阳子墨", "莫少聪"),
         "en": ("Grace Whitfield", "Omar Siddiqui", "Hannah Vogel", "Diego Moreno",
                "Chloe Dubois")},
        (0.818, 0.892, 0.958, 1.052, 1.138), 17000, 275604541, id_salt=2851),
    # Added before any of it was heard (2026-12-02, sixteenth session), after holdout17's
    # failures were studied (issue #12: a coach video that was a mouth moving, Biden's face
    # under the gate, a 1 s consent not seen spoken, 9626 heard as 9666). Rates no earlier
    # round uses.
    "holdout18": HoldoutRound(
        {"zh-CN": ("符嘉禾", "牛振宇", "简雨萱", "訾文涛", "庞晓静", "上官云", "聂子默"),
         "en": ("Imogen Prescott", "Haruto Fujiwara", "Leila Nasser", "Piotr Zielinski",
                "Ruth Adebayo")},
        (0.822, 0.887, 0.953, 1.048, 1.132), 18000, 294114827, id_salt=2969),
    # Added before any of it was heard (2026-12-03, seventeenth session), before holdout18 was
    # heard, for the round after it: a decided yes is not doubt, 吧 is a hedge, refer ends the
    # witness, dropped frames of an answer are caught up. Rates no earlier round uses.
    "holdout19": HoldoutRound(
        {"zh-CN": ("韦思远", "卜佳慧", "茅一鸣", "谈雅婷", "缪振华", "东方明月", "闵若溪"),
         "en": ("Felicity Langford", "Kwame Asante", "Sakura Ishida", "Tomasz Nowicki",
                "Nadia Karimi")},
        (0.827, 0.879, 0.967, 1.037, 1.141), 19000, 313627151, id_salt=3067),
    # Added before any of it was heard (2026-12-03, seventeenth session), after holdout19's
    # failures were studied (issue #12: 卜佳慧 heard as 不佳慧 and as 佳慧). Rates no earlier
    # round uses.
    "holdout20": HoldoutRound(
        {"zh-CN": ("邵静怡", "甘立新", "司徒雅琪", "阎子豪", "裘婉清", "巫明杰", "宁欣然"),
         "en": ("Harriet Ashworth", "Chidi Okafor", "Aiko Nakamura", "Lukas Brandt",
                "Yasmin Rahimi")},
        (0.831, 0.874, 0.964, 1.043, 1.146), 20000, 332140463, id_salt=3163),
    # Added before any of it was heard (2026-12-03, eighteenth session), before holdout20 was
    # heard, for the round after it (issue #12: the recogniser's bias towards the applicant's
    # name). Rates no earlier round uses.
    "holdout21": HoldoutRound(
        {"zh-CN": ("缑晓彤", "葛振东", "庄雨菲", "瞿思成", "詹佳琳", "邬天宇", "皇甫晴"),
         "en": ("Rosalind Fairweather", "Emeka Nwosu", "Hiroshi Kondo", "Magnus Lindgren",
                "Soraya Haidari")},
        (0.836, 0.869, 0.971, 1.038, 1.152), 21000, 350377843, id_salt=3272),
    # Added before any of it was heard (2026-12-03, eighteenth session), before holdout21 was
    # heard, for the round after it (issue #12: the name's decode without bias stopped after
    # the name). Rates no earlier round uses.
    "holdout22": HoldoutRound(
        {"zh-CN": ("濮明轩", "牧晓峰", "扈思敏", "骆家辉", "臧文静", "房俊杰", "公孙婷"),
         "en": ("Philippa Thistlewood", "Obinna Eze", "Renata Kowalczyk", "Anders Mikkelsen",
                "Anouk Verbeek")},
        (0.841, 0.862, 0.978, 1.033, 1.158), 22000, 368634923, id_salt=3391),
    # Added before any of it was heard (2026-12-03, nineteenth session), before holdout22 was
    # heard, for the round after it (issue #12: a deny step's no is a plain no). Rates no
    # earlier round uses.
    "holdout23": HoldoutRound(
        {"zh-CN": ("酆子健", "阙雅琴", "蒲海涛", "晏梦洁", "鞠永康", "端木清", "宦诗雨"),
         "en": ("Cordelia Waverley", "Tunde Bakare", "Ingeborg Solheim", "Mateusz Wrobel",
                "Farah Siddiqui")},
        (0.846, 0.857, 0.983, 1.028, 1.163), 23000, 387150211, id_salt=3499),
    # Added before any of it was heard (2026-12-03, nineteenth session), while holdout23 was
    # running and before its results were read, for the round after it (issue #12: an English
    # name teacher-forced without the bias). Rates no earlier round uses.
    "holdout24": HoldoutRound(
        {"zh-CN": ("雍晓岚", "栾志诚", "衡思涵", "钮家豪", "逄雪梅", "佘文轩", "夏侯菲"),
         "en": ("Octavia Pemberton", "Chukwuemeka Obi", "Siobhan Gallagher", "Radek Novotny",
                "Leilani Kahale")},
        (0.851, 0.853, 0.988, 1.024, 1.168), 24000, 405665501, id_salt=3608),
    # Added before any of it was heard (2026-12-03, nineteenth session), before holdout24 was
    # heard, for the round after it (issue #12: a Mandarin given name and an English spelling
    # weighed by the model). Rates no earlier round uses.
    "holdout25": HoldoutRound(
        {"zh-CN": ("糜嘉怡", "冼振华", "琚雨彤", "郦文斌", "暨思琪", "滕子轩", "令狐月"),
         "en": ("Araminta Featherstone", "Oluwaseun Adeyemi", "Katarzyna Dabrowska",
                "Henrik Lundqvist", "Marisol Quintero")},
        (0.856, 0.848, 0.993, 1.019, 1.173), 25000, 424180793, id_salt=3716),
    # Added before any of it was heard (2026-12-03, twentieth session), before holdout25 was
    # heard, for the round after it (issue #12). Rates no earlier round uses.
    "holdout26": HoldoutRound(
        {"zh-CN": ("邝嘉欣", "芮国栋", "訾静怡", "乜红梅", "印晓东", "韦一鸣", "上官婉"),
         "en": ("Gwendolyn Marchetti", "Adebayo Okafor", "Zofia Wisniewska",
                "Lachlan McAllister", "Thandiwe Mokoena")},
        (0.861, 0.843, 0.998, 1.014, 1.178), 26000, 442696081, id_salt=3717),
    # Added before any of it was heard (2026-12-03, twentieth session), before holdout26 was
    # heard, for the round after it (issue #12). Rates no earlier round uses.
    "holdout27": HoldoutRound(
        {"zh-CN": ("揭雨晴", "宓嘉豪", "冉晓萌", "亓俊杰", "殳文涛", "桑德明", "欧阳蕾"),
         "en": ("Bartholomew Ashdown", "Ngozi Chukwu", "Agnieszka Zielinska",
                "Fionnuala Brennan", "Ximena Alvarado")},
        (0.866, 0.838, 1.003, 1.009, 1.183), 27000, 461211369, id_salt=3718),
}
# The holdouts: validation voices and faces saying new things.
CASE_SPLITS = SPLITS + tuple(HOLDOUT_ROUNDS)


@dataclass(frozen=True)
class FaceClip:
    """One real clip of one person (from ``faces.json``)."""

    id: str
    file: Path
    person: str
    split: str
    source: str
    licence: str


@dataclass
class Case:
    """One whole witness to run: who, which camera, which ID photo, what is said per step."""

    id: str
    locale: str
    species: str  # genuine | one of SPECIES
    split: str
    video: Path
    id_photo: Path
    name: str
    id_number: str
    answers: dict[str, Path] = field(default_factory=dict)
    voice: str = ""
    face: str = ""
    attacked_step: str | None = None  # the step whose answer the attack replaced


def id_number_for(i: int, salt: int = 0) -> str:
    """A valid 18-digit PRC resident ID (GB 11643 check digit) whose check digit is not X.

    ``salt`` shifts the sequence digits (and so the last four) for a split of its own.
    """
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    n = 0
    while True:
        body = f"11010119{80 + (i + n) % 20:02d}{(i + n) % 12 + 1:02d}{(i * 7 + n) % 28 + 1:02d}" \
               f"{(i * 37 + n * 11 + salt) % 1000:03d}"
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
        if check != "X":
            return body + check
        n += 1


def load_faces(manifest: Path) -> list[FaceClip]:
    """The clips listed in a ``faces.json`` (paths relative to it); ConfigError if malformed."""
    try:
        raw = json.loads(Path(manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{manifest}: not a readable faces manifest ({exc})") from exc
    items = raw.get("clips") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise ConfigError(f"{manifest}: expected a list of clips (or {{\"clips\": [...]}})")
    out = []
    for i, item in enumerate(items):
        where = f"{manifest}: clip {i + 1}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected an object")
        missing = [k for k in ("id", "file", "person", "split", "licence") if not item.get(k)]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        if item["split"] not in SPLITS:
            raise ConfigError(f"{where}: split must be one of {', '.join(SPLITS)}")
        path = (Path(manifest).parent / str(item["file"])).resolve()
        if not path.is_file():
            raise ConfigError(f"{where}: no file {path}")
        if path.stat().st_size > MAX_CLIP_BYTES:
            raise ConfigError(f"{where}: {path.name} is larger than {MAX_CLIP_BYTES} bytes")
        out.append(FaceClip(str(item["id"]), path, str(item["person"]), item["split"],
                            str(item.get("source", "")), str(item["licence"])))
    return out


def _run_ffmpeg(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """ffmpeg with ``args`` (errors only on stderr), its output captured; ConfigError when
    ffmpeg is missing."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise ConfigError("ffmpeg is missing: ./dev.sh setup installs it")
    return subprocess.run([exe, "-hide_banner", "-loglevel", "error", *args],
                          capture_output=True, timeout=timeout)


def _ffmpeg(*args: str) -> None:
    proc = _run_ffmpeg("-y", *args)
    if proc.returncode != 0:
        raise ConfigError(f"ffmpeg failed: {proc.stderr.decode(errors='replace')[-400:]}")


_SCALE = (f"scale={VIDEO_SIZE[0]}:{VIDEO_SIZE[1]}:force_original_aspect_ratio=decrease,"
          f"pad={VIDEO_SIZE[0]}:{VIDEO_SIZE[1]}:(ow-iw)/2:(oh-ih)/2,fps={VIDEO_FPS},"
          "format=yuv420p")


def _key(*parts: object) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()[:12]


class CaseBuilder:
    """Makes the videos, photos and answer audio of the cases, cached under ``work``."""

    def __init__(self, work: Path, faces: list[FaceClip]):
        self.work = Path(work)
        self.faces = faces
        (self.work / "video").mkdir(parents=True, exist_ok=True)
        (self.work / "audio").mkdir(parents=True, exist_ok=True)

    def _stat(self, clip: FaceClip) -> str:
        st = clip.file.stat()
        return f"{clip.file}:{st.st_size}:{st.st_mtime_ns}"

    def looped(self, clip: FaceClip, seconds: float) -> Path:
        """The clip as a 640x480, 15 fps MP4, looped to ``seconds``."""
        out = self.work / "video" / f"{clip.id}-{int(seconds)}s-{_key(self._stat(clip))}.mp4"
        if not out.is_file():
            tmp = out.with_suffix(".tmp.mp4")
            _ffmpeg("-stream_loop", "-1", "-i", str(clip.file), "-t", str(seconds), "-an",
                    "-vf", _SCALE, "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
                    str(tmp))
            tmp.replace(out)
        return out

    def frame(self, clip: FaceClip, at: float = 1.0) -> Path:
        """One JPEG frame of the clip (an ID photo, or the picture of a still-photo attack)."""
        out = self.work / "video" / f"{clip.id}-frame{at:g}-{_key(self._stat(clip))}.jpg"
        if not out.is_file():
            _ffmpeg("-ss", str(at), "-i", str(clip.file), "-frames:v", "1", "-q:v", "3",
                    str(out))
        return out

    def still(self, clip: FaceClip, seconds: float = 180.0) -> Path:
        out = self.work / "video" / f"{clip.id}-still-{_key(self._stat(clip))}.mp4"
        if not out.is_file():
            tmp = out.with_suffix(".tmp.mp4")
            _ffmpeg("-loop", "1", "-i", str(self.frame(clip)), "-t", str(seconds), "-vf", _SCALE,
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(tmp))
            tmp.replace(out)
        return out

    def swap(self, a: FaceClip, b: FaceClip, a_seconds: float = 15.0,
             total: float = 180.0) -> Path:
        """Person A for ``a_seconds``, then person B until ``total``."""
        key = _key(self._stat(a), self._stat(b), a_seconds, total)  # a cut elsewhere: another file
        out = self.work / "video" / f"swap-{a.id}-{b.id}-{key}.mp4"
        if not out.is_file():
            first, second = self.looped(a, a_seconds), self.looped(b, total - a_seconds)
            listing = self.work / "video" / f"{out.stem}.txt"
            listing.write_text(f"file '{first}'\nfile '{second}'\n")
            tmp = out.with_suffix(".tmp.mp4")
            _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(tmp))
            tmp.replace(out)
        return out

    def talking(self, clip: FaceClip, seconds: float) -> Path:
        """The clip cut to its speech and looped to ``seconds``, as ``looped``: the face of
        someone answering is talking whenever an answer is heard (the lip-movement check).

        The speech spans (by the clip's own sound) are kept with ``TALKING_PAD_S`` around
        each, and a pause between them longer than ``TALKING_MAX_PAUSE_S`` is cut out: a
        GRID clip is 3 s with up to 1.9 s of silence around the loop point, and a weekly
        address pauses 0.5-1.0 s between sentences (obama_weekly_address_B), in which a 1 s
        answer fell with a closed mouth; a real investor's mouth moves while they answer.
        ``looped`` for a clip without sound or speech."""
        spans, _ = _clip_speech(clip.file)
        if not spans:
            return self.looped(clip, seconds)
        keep = talking_segments(spans)
        out = self.work / "video" / (f"{clip.id}-talking-{int(seconds)}s-"
                                     f"{_key(self._stat(clip), keep)}.mp4")
        if not out.is_file():
            part = out.with_suffix(".part.mp4")
            pick = "+".join(f"between(t,{a:.3f},{b:.3f})" for a, b in keep)
            _ffmpeg("-i", str(clip.file), "-an", "-vf",
                    f"select='{pick}',setpts=N/FRAME_RATE/TB",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", str(part))
            tmp = out.with_suffix(".tmp.mp4")
            _ffmpeg("-stream_loop", "-1", "-i", str(part), "-t", str(seconds), "-an", "-vf",
                    _SCALE, "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(tmp))
            tmp.replace(out)
            part.unlink(missing_ok=True)
        return out

    def silent(self, clip: FaceClip, seconds: float = 180.0) -> Path:
        """A verified still mouth of the clip (``still_mouth``) played forward then backward,
        looped to ``seconds``: a real person on camera, not speaking. ConfigError when the
        clip has no such stretch."""
        a, b = self.still_mouth(clip)  # first: a clip without a still mouth never passes
        key = _key(self._stat(clip), f"{a:.3f}", f"{b:.3f}")
        out = self.work / "video" / f"{clip.id}-silent-{int(seconds)}s-{key}.mp4"
        if out.is_file():
            return out
        part = out.with_suffix(".part.mp4")
        _ffmpeg("-ss", f"{a:.3f}", "-t", f"{b - a:.3f}", "-i", str(clip.file), "-an",
                "-filter_complex", "[0:v]split[f][r];[r]reverse[v];[f][v]concat=n=2:v=1:a=0",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", str(part))
        tmp = out.with_suffix(".tmp.mp4")
        _ffmpeg("-stream_loop", "-1", "-i", str(part), "-t", str(seconds), "-an", "-vf", _SCALE,
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(tmp))
        tmp.replace(out)
        part.unlink(missing_ok=True)
        return out

    def still_mouth(self, clip: FaceClip) -> tuple[float, float]:
        """(start, end) seconds of the longest stretch of the clip where its own sound has no
        speech (``_silent_parts``) and the mouth, measured by the project's face analysis, is
        still in every 1 s window of the stretch played back and forth (``mouth_still``).

        The measurement of every candidate is cached as JSON beside the videos, keyed by the
        clip and the rule's figures; ConfigError naming the measurement when none passes."""
        rule = (COACH_MARGIN_S, COACH_MIN_STILL_S, COACH_STILL_SPREAD)
        out = self.work / "video" / f"{clip.id}-still-mouth-{_key(self._stat(clip), rule)}.json"
        if out.is_file():
            found = json.loads(out.read_text())
        else:
            found = [{"start": a, "end": b, **mouth_still(clip.file, a, b)}
                     for a, b in _silent_parts(clip.file)]
            write_atomic(out, json.dumps(found, indent=1).encode())
        ok = [f for f in found if f["still"]]
        if ok:
            best = max(ok, key=lambda f: f["end"] - f["start"])
            return best["start"], best["end"]
        seen = "; ".join(f"{f['start']:.2f}-{f['end']:.2f} s: 1 s mouth spread up to "
                         + (f"{f['spread_max']:.3f}" if f["spread_max"] is not None else "-")
                         + f", {f['face_frames']}/{f['frames']} face frames"
                         for f in found) or "none"
        raise ConfigError(f"{clip.file.name}: no still mouth for the coach attack (stretches of "
                          f"{COACH_MIN_STILL_S} s without speech, {COACH_MARGIN_S} s clear of "
                          f"it, every 1 s mouth spread at most {COACH_STILL_SPREAD}; "
                          f"measured: {seen})")

    def id_photo(self, clip: FaceClip) -> Path:
        """A photo of the same person from another clip when there is one, else this clip."""
        others = [c for c in self.faces if c.person == clip.person and c.id != clip.id]
        return self.frame(others[0], 0.5) if others else self.frame(clip, 0.5)

    def say(self, voice, text: str, speed: float = 1.0) -> Path:
        return say_to_file(voice, text, self.work / "audio", speed)

    def overlap(self, voice, text: str, coach, coach_text: str, speed: float = 1.0,
                gain_db: float = OVERLAP_GAIN_DB, offset_s: float = 0.2) -> Path:
        """``voice`` saying ``text`` while ``coach`` says ``coach_text`` ``gain_db`` quieter,
        starting ``offset_s`` later: one 16 kHz mono WAV, mixed in numpy."""
        import wave

        import numpy as np

        from kiosk.speech.audio import pcm_from_file  # PyAV: only when an overlap is mixed

        first = self.say(voice, text, speed)
        second = self.say(coach, coach_text, speed)
        key = _key(first.name, second.name, gain_db, offset_s)
        out = self.work / "audio" / f"overlap-{key}.wav"
        if not out.is_file():
            a = pcm_from_file(first).astype(np.float32)
            b = pcm_from_file(second).astype(np.float32) * 10 ** (gain_db / 20)
            start = int(round(offset_s * 16000))
            mixed = np.zeros(max(a.size, start + b.size), np.float32)
            mixed[: a.size] += a
            mixed[start : start + b.size] += b
            peak = float(np.max(np.abs(mixed))) or 1.0
            pcm = (mixed * min(1.0, 32000.0 / peak)).astype(np.int16)
            tmp = out.with_suffix(".tmp.wav")
            with wave.open(str(tmp), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(16000)
                w.writeframes(pcm.tobytes())
            tmp.replace(out)
        return out


# The talking footage (``CaseBuilder.talking``): speech spans padded by this much (s), and
# pauses between them longer than this cut out (s); a shorter pause is kept as it is.
TALKING_PAD_S = 0.08
TALKING_MAX_PAUSE_S = 0.3


def talking_segments(spans: Sequence[tuple[float, float]], pad: float = TALKING_PAD_S,
                     max_pause: float = TALKING_MAX_PAUSE_S) -> list[tuple[float, float]]:
    """The (start, end) seconds of a clip to keep as talking footage: ``spans`` (speech, in
    order) joined across pauses of at most ``max_pause`` s, each kept span padded by ``pad``
    s (not below 0). A pause longer than ``max_pause`` is dropped between two segments."""
    out: list[tuple[float, float]] = []
    for a, b in spans:
        if out and a - out[-1][1] <= max_pause:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return [(round(max(0.0, a - pad), 3), round(b + pad, 3)) for a, b in out]


def _clip_speech(clip: Path) -> tuple[list[tuple[float, float]], float]:
    """The clip's speech spans (seconds, by the VAD on its own sound) and its sound's length;
    ([], 0.0) for a clip without sound."""
    from kiosk.speech.vad import RATE, detect_speech  # onnxruntime: only when cases are built

    proc = _run_ffmpeg("-i", str(clip), "-vn", "-f", "s16le", "-ac", "1", "-ar", str(RATE), "-",
                       timeout=120)
    pcm = np.frombuffer(proc.stdout, np.int16)
    if proc.returncode != 0 or pcm.size < RATE // 2:
        return [], 0.0
    return [(sp.start, sp.end) for sp in detect_speech(pcm)], pcm.size / RATE


# The coach's silent investor (``CaseBuilder.still_mouth``): a stretch without speech by the
# clip's own sound, COACH_MARGIN_S clear of any speech (the lips open before the sound and
# close after it), at least COACH_MIN_STILL_S long before it is played back and forth (at
# 15 fps, 8 frames or more: a mouth_spread with its extremes left out, and a back-and-forth
# period of 1 s or more, not a twitch), and verified still: every 1 s window of the stretch
# played back and forth has a mouth spread of at most COACH_STILL_SPREAD, half the speaking
# floor (0.035). GRID's silent closed mouths measure 0.000-0.014; the stretch the coach used
# on obama_weekly_address_A until 2026-12-02, a mouth between two sentences, 0.028-0.070
# (docs/evaluation.md, *A coach beside a still face*). COACH_MIN_FACE_SHARE of its frames
# must show exactly one face, as the speaking check counts them.
COACH_MARGIN_S = 0.3
COACH_MIN_STILL_S = 0.5
COACH_STILL_SPREAD = 0.0175
COACH_MIN_FACE_SHARE = 0.9


def _silent_parts(clip: Path, margin: float = COACH_MARGIN_S,
                  least: float = COACH_MIN_STILL_S) -> list[tuple[float, float]]:
    """(start, end) seconds of every stretch of the clip without speech, by the VAD on its own
    sound, ``margin`` seconds clear of speech, ``least`` seconds long or more: before the
    first speech, between two, and after the last. Whether the mouth is still there is
    ``mouth_still``'s to measure. ConfigError for a clip without sound."""
    spans, total = _clip_speech(clip)
    if not total:
        raise ConfigError(f"{clip.name}: the coach attack needs a clip with sound, to find "
                          "where the person is silent")
    edges = [0.0, *(x for a, b in spans for x in (a - margin, b + margin)), total]
    parts = [(round(a, 3), round(b, 3)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    return [(a, b) for a, b in parts if b - a >= least]


def mouth_still(clip: Path, start: float, end: float) -> dict:
    """Whether the clip's mouth is still from ``start`` to ``end`` seconds, measured as the
    coach shows it: the stretch through the eval's 640x480 15 fps scaling, every frame through
    the face analysis (``analyze_frames``), the frames' ``mouth_gap`` played forward then
    backward and looped, and ``mouth_spread`` over every 1 s window of it (as
    ``speaking_events`` judges an answer). A dict of the figures; ``still`` is the verdict."""
    from kiosk.liveness.analyzer import analyze_frames  # MediaPipe: only for a coach video
    from kiosk.liveness.session_checks import mouth_spread  # with the analyser, as above

    w, h = VIDEO_SIZE
    proc = _run_ffmpeg("-ss", f"{start:.3f}", "-t", f"{end - start:.3f}", "-i", str(clip), "-an",
                       "-vf", _SCALE, "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    raw = np.frombuffer(proc.stdout, np.uint8)
    frames = raw[: raw.size // (w * h * 3) * (w * h * 3)].reshape(-1, h, w, 3)
    signals = analyze_frames(((i / VIDEO_FPS, f) for i, f in enumerate(frames)),
                             describe=False).signals
    gaps = [s.mouth_gap for s in signals if s.faces == 1]
    n = len(signals)
    figures: dict[str, object] = {"frames": n, "face_frames": len(gaps), "spread_min": None,
                                  "spread_max": None, "gap_low": None, "gap_high": None,
                                  "still": False}
    if not gaps or len(gaps) < COACH_MIN_FACE_SHARE * n:
        return figures
    loop = gaps + gaps[::-1]  # one back-and-forth period, as CaseBuilder.silent plays it
    window = VIDEO_FPS  # 1 s
    played = loop * (window // len(loop) + 2)
    spreads = [mouth_spread(played[i: i + window]) for i in range(len(loop))]
    figures.update(spread_min=round(min(spreads), 4), spread_max=round(max(spreads), 4),
                   gap_low=round(min(gaps), 4), gap_high=round(max(gaps), 4),
                   still=max(spreads) <= COACH_STILL_SPREAD)
    return figures


def build_cases(flow, locale: str, split: str, builder: CaseBuilder, genuine: int,
                seed: int = 0) -> list[Case]:
    """Genuine cases (every step answered as asked) and one case per attack species."""
    import random as _random

    if split not in CASE_SPLITS:
        raise ConfigError(f"split must be one of {', '.join(CASE_SPLITS)}, not {split!r}")
    round_ = HOLDOUT_ROUNDS.get(split)
    media_split = "validation" if round_ else split
    rng = random.Random(seed + (round_.seed if round_ else 0))
    faces = [c for c in builder.faces if c.split == media_split]
    vs = voices(locale, media_split)
    names = (round_.names if round_ else APPLICANT_NAMES)[locale]
    if not faces:
        raise ConfigError(f"no {media_split} face clips in the manifest")
    if not vs:
        raise ConfigError(f"no {media_split} voices for {locale}")
    people = sorted({c.person for c in faces})
    cases: list[Case] = []

    def make(species: str, i: int) -> Case:
        face = faces[i % len(faces)]
        voice = vs[i % len(vs)]
        name = names[i % len(names)]
        idn = id_number_for(i + (0 if species == "genuine" else 100)
                            + (round_.id_offset if round_ else 0),
                            round_.id_salt if round_ else 0)
        variables = {"name": name, "id_last4": idn[-4:]}
        plan = plan_witness(flow, locale, variables, _random.Random(rng.random()))
        speed = rng.choice(round_.speeds) if round_ else 1.0

        def say(text: str) -> Path:
            return builder.say(voice, text, speed)

        answers = {}
        for step in plan:
            if step.kind == StepKind.READ_ALOUD and step.read_text:
                answers[step.id] = say(step.read_text)
            elif step.kind == StepKind.QUESTION:
                answers[step.id] = say(step.answer or _default_answer(step, locale))
        case = Case(f"{locale}-{species}-{i}", locale, species, split, builder.talking(face, 180),
                    builder.id_photo(face), name, idn, answers,
                    voice.id if speed == 1.0 else f"{voice.id}@{speed:g}x", face.id)
        consent = _consent_step(plan)
        if species in CONSENT_ATTACKS and consent is not None:
            case.answers[consent] = say(ATTACK_SPEECH[locale][species])
            case.attacked_step = consent
        elif species == "overlap" and consent is not None:
            coach = vs[(i + 1) % len(vs)]  # another voice of the same split
            requested = next(s for s in plan if s.id == consent)
            case.answers[consent] = builder.overlap(
                voice, ATTACK_SPEECH[locale]["overlap"], coach,
                requested.answer or _default_answer(requested, locale), speed,
                OVERLAP_GAIN_DB, round(rng.uniform(*OVERLAP_OFFSET_S), 3))
            case.attacked_step = consent
        elif species == "silence":
            case.answers = {}
        elif species == "wrong_reading":
            for step in plan:
                if step.kind == StepKind.READ_ALOUD and step.read_text:
                    wrong = step.read_text.replace(name, WRONG_NAME[locale]).replace(
                        idn[-4:], "1357" if idn[-4:] != "1357" else "2468")
                    case.answers[step.id] = say(wrong)
                    case.attacked_step = step.id
        elif species == "still_photo":
            case.video = builder.still(face)
        elif species == "coach" and consent is not None:
            # Someone else says the consent off camera; the investor on camera stays silent.
            coach = vs[(i + 1) % len(vs)] if len(vs) > 1 else voice
            case.answers[consent] = builder.say(coach, step_answer(plan, consent, locale), speed)
            # The first clip from this case's on with a verified still mouth (a pause between
            # sentences may hold a moving mouth), its ID photo with it. No validation clip has
            # one (docs/evaluation.md, *A coach beside a still face*): the validation and
            # holdout coach then takes a tuning face, said in the case's `face`; its voices
            # stay the split's own.
            tuning = [c for c in builder.faces if c.split == "tuning" and c not in faces]
            order = [faces[(i + k) % len(faces)] for k in range(len(faces))] + tuning
            for quiet in order:
                try:
                    case.video = builder.silent(quiet)
                except ConfigError:
                    continue
                case.face, case.id_photo = quiet.id, builder.id_photo(quiet)
                if quiet.split != media_split:
                    case.face = f"{quiet.id} ({quiet.split}: no {media_split} clip has a " \
                                "still mouth)"
                break
            else:
                raise ConfigError(f"no face clip has a still mouth (a stretch without speech "
                                  "whose measured 1 s mouth spread stays at most "
                                  f"{COACH_STILL_SPREAD}), as the coach attack needs")
            # No attacked_step: the words are the requested ones, so the step passing is not a
            # false consent; the case is caught (or cleared) by the pre-review alone.
        elif species in ("swap", "late_swap", "id_mismatch"):
            other = next((c for c in builder.faces if c.person != face.person), None)
            if other is None:
                raise ConfigError(f"the {species} attack needs clips of two people; "
                                  f"the manifest has only {people}")
            if species in SWAP_AT_S:
                case.video = builder.swap(face, other, a_seconds=SWAP_AT_S[species])
            else:
                case.id_photo = builder.frame(other, 0.5)
        return case

    for i in range(genuine):
        cases.append(make("genuine", i))
    for j, species in enumerate(SPECIES):
        cases.append(make(species, genuine + j))
    return cases


def step_answer(plan, step_id: str, locale: str) -> str:
    """What step ``step_id`` of ``plan`` asks the investor to say."""
    step = next(s for s in plan if s.id == step_id)
    return step.answer or _default_answer(step, locale)


def _consent_step(plan) -> str | None:
    """The last question expecting a yes: the consent an attacker refuses or dodges."""
    ids = [s.id for s in plan if s.kind == StepKind.QUESTION and (s.expect or "affirm") == "affirm"]
    return ids[-1] if ids else None


def _default_answer(step, locale: str) -> str:
    if step.phrases:
        return step.phrases[0]
    yes = {"zh-CN": "是的", "en": "Yes"}
    no = {"zh-CN": "没有", "en": "No"}
    return (no if step.expect == "deny" else yes)[locale]
