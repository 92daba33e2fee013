"""Cross-checks of an ID card as read against the broker's applicant and the live face (pure,
except ``describe_card_portrait`` and ``portrait_distance``, which run dlib).

Each check is a named ``CheckResult`` with a status:

* ``pass``: the evidence agrees, every field it used was read with confidence;
* ``fail``: the evidence disagrees: a complete, valid read against another value;
* ``needs_human``: a field is missing or was read with a confidence below
  ``LOW_CONFIDENCE``, or read as something it cannot be (a number incomplete or invalid by
  its own rule, a birth date that is not a real date), so a person must look. A
  low-confidence read is never a pass, an impossible one never a fail;
* ``not_checked``: there was nothing to check against (no broker number given, no back
  image, no face, no identity authority configured).

``overall`` is ``pass`` only when every check passed: by default the authority check is
``not_checked: human review``, so the default overall is ``needs_human``, never a fake pass.
With ``identity_authority: external`` (the broker checks identity against the authority in
its own system) the authority check is ``not_checked`` with ``EXTERNAL_DETAIL`` and left out
of ``overall``.
Details name fields and positions, never the numbers themselves (they reach logs and
evidence).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from enum import StrEnum
from typing import Protocol

import numpy as np

from kiosk.guide.normalise import name_parts, normalise_name
from kiosk.idcard.fields import CardSide
from kiosk.idcard.portrait import locate_card, portrait_crop
from kiosk.identity.numbers import IdNumberError, IdType, parse_id_number
from kiosk.liveness.identity import SAME_PERSON_DISTANCE, descriptor_distance, shared_describer

LOW_CONFIDENCE = 0.80
NO_AUTHORITY_DETAIL = "not checked: human review"
EXTERNAL_DETAIL = ("checked outside the kiosk: the broker verifies identity against the "
                   "authority in its own system (identity_authority: external)")


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NEEDS_HUMAN = "needs_human"
    NOT_CHECKED = "not_checked"


@dataclass(frozen=True)
class CheckResult:
    """One named check: ``status`` and a sentence saying why; a face comparison adds its
    descriptor ``distance`` and the ``threshold`` it was judged by (None: not measured)."""

    name: str
    status: Status
    detail: str
    distance: float | None = None
    threshold: float | None = None

    def to_dict(self) -> dict:
        out: dict = {"name": self.name, "status": self.status.value, "detail": self.detail}
        if self.distance is not None:
            out["distance"] = round(self.distance, 4)
        if self.threshold is not None:
            out["threshold"] = self.threshold
        return out


class ReadField(Protocol):
    """A field as read (``kiosk.idcard.fields.CardField`` is one)."""

    @property
    def value(self) -> str: ...

    @property
    def confidence(self) -> float: ...


@dataclass(frozen=True)
class AuthorityAnswer:
    """A citizen-identity service's answer: ``matched`` True / False, ``detail`` its words."""

    matched: bool
    detail: str = ""


class IdentityAuthority(Protocol):
    """A broker's connector to the Ministry of Public Security's citizen-identity service
    (公安部公民身份信息核查, 权威库) or another authority. ``name`` appears in the result.
    ``verify`` raises on any failure to get an answer; the check then needs a human."""

    name: str

    def verify(self, name: str, id_number: str) -> AuthorityAnswer: ...


def overall(results: list[CheckResult]) -> Status:
    """``fail`` if any failed; ``pass`` only if all passed; else ``needs_human``. The
    authority check declared done outside the kiosk (``EXTERNAL_DETAIL``) is left out."""
    statuses = {r.status for r in results
                if not (r.name == "authority" and r.status is Status.NOT_CHECKED
                        and r.detail == EXTERNAL_DETAIL)}
    if Status.FAIL in statuses:
        return Status.FAIL
    if statuses == {Status.PASS}:
        return Status.PASS
    return Status.NEEDS_HUMAN


def _unsure(fields: Mapping[str, ReadField], *names: str) -> CheckResult | None:
    """A needs_human detail when a field is missing or read with low confidence."""
    for n in names:
        f = fields.get(n)
        if f is None:
            return CheckResult("", Status.NEEDS_HUMAN, f"{n} was not read")
        if f.confidence < LOW_CONFIDENCE:
            # Rounded down: 0.7996 is "0.79 (below 0.80)", never "0.80 (below 0.80)".
            shown = math.floor(f.confidence * 100) / 100
            return CheckResult("", Status.NEEDS_HUMAN, f"{n} was read with confidence "
                               f"{shown:.2f} (below {LOW_CONFIDENCE:.2f})")
    return None


def _named(name: str, r: CheckResult) -> CheckResult:
    return CheckResult(name, r.status, r.detail)


def _differences(a: str, b: str) -> str:
    if len(a) != len(b):
        return f"{len(a)} characters against {len(b)}"
    pos = [str(i + 1) for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return f"they differ at position{'s' if len(pos) > 1 else ''} {', '.join(pos)}"


def check_number(fields: Mapping[str, ReadField], applicant_number: str | None,
                 day: date) -> list[CheckResult]:
    """``id_number_valid`` (GB 11643-1999) and ``id_number_matches_applicant``."""
    unsure = _unsure(fields, "id_number")
    if unsure:
        return [_named("id_number_valid", unsure), _named("id_number_matches_applicant", unsure)]
    read = fields["id_number"].value
    try:
        parse_id_number(IdType.PRC_RESIDENT_ID, read, day)
    except IdNumberError as exc:
        # Not a complete, valid number: most often a misread or a finger over its end (a
        # forged number needs a human just the same). The rule is named, never its digits.
        what = (f"{len(read)} characters, not 18" if exc.rule == "length"
                else f"its {exc.rule} is not valid")
        unread = CheckResult("", Status.NEEDS_HUMAN, f"the number read is not complete or not "
                             f"valid ({what}): misread or partly covered, a human must read "
                             "the card")
        match = (CheckResult("id_number_matches_applicant", Status.NOT_CHECKED,
                             "no applicant number was given") if not applicant_number
                 else _named("id_number_matches_applicant", unread))
        return [_named("id_number_valid", unread), match]
    valid = CheckResult("id_number_valid", Status.PASS,
                        "the number read has a valid check digit and birth date")
    if not applicant_number:
        match = CheckResult("id_number_matches_applicant", Status.NOT_CHECKED,
                            "no applicant number was given")
    elif read == applicant_number.strip().upper():
        match = CheckResult("id_number_matches_applicant", Status.PASS,
                            "the number read is the applicant's")
    else:
        match = CheckResult("id_number_matches_applicant", Status.FAIL,
                            "the number read is not the applicant's: "
                            + _differences(read, applicant_number.strip().upper()))
    return [valid, match]


def check_birth_and_sex(fields: Mapping[str, ReadField], day: date,
                        applicant_number: str | None = None) -> list[CheckResult]:
    """``birth_date_matches_number`` and ``sex_matches_number``.

    A birth date or sex that disagrees with a number read complete, valid, with confidence
    and equal to ``applicant_number`` (the broker's) is a misread of the birth date or sex
    (glare over the date row reads 1990-01-06 for 1990-05-16 at 0.998): ``needs_human``.
    ``fail`` is kept for a disagreement with a number that is not the broker's, or when no
    broker number was given."""
    out = []
    number = None
    if "id_number" in fields:
        try:
            number = parse_id_number(IdType.PRC_RESIDENT_ID, fields["id_number"].value, day)
        except IdNumberError:
            number = None
    brokers = bool(number and applicant_number
                   and fields["id_number"].value == applicant_number.strip().upper()
                   and fields["id_number"].confidence >= LOW_CONFIDENCE)
    for name, field, want in (
            ("birth_date_matches_number", "birth",
             number.birth_date.isoformat() if number and number.birth_date else None),
            ("sex_matches_number", "sex",
             {"M": "男", "F": "女"}.get(number.sex or "") if number else None)):
        unsure = _unsure(fields, field, "id_number")
        if unsure:
            out.append(_named(name, unsure))
        elif want is None:
            out.append(CheckResult(name, Status.NEEDS_HUMAN,
                                   "the number read is not valid, so it says nothing"))
        elif field == "birth" and not _real_birth_date(fields[field].value, day):
            out.append(CheckResult(name, Status.NEEDS_HUMAN, "the birth date read is not a "
                                   "real date (a misread): a human must read the card"))
        elif field == "sex" and fields[field].value not in ("男", "女"):
            out.append(CheckResult(name, Status.NEEDS_HUMAN, "the sex read is neither 男 nor "
                                   "女 (a misread): a human must read the card"))
        elif fields[field].value == want:
            out.append(CheckResult(name, Status.PASS, f"the card's {field} agrees with the "
                                   "number"))
        elif brokers:
            out.append(CheckResult(name, Status.NEEDS_HUMAN, f"the card's {field} as read "
                                   "disagrees with the number, which was read complete, valid "
                                   "and is the applicant's (a misread): a human must read the "
                                   "card"))
        else:
            out.append(CheckResult(name, Status.FAIL, f"the card's {field} disagrees with the "
                                   "number"))
    return out


def _real_birth_date(text: str, day: date) -> bool:
    """Whether ``text`` (ISO, as the reader writes a date) is a date a card holder could be
    born on: a real calendar date from 1900 to ``day``."""
    try:
        born = date.fromisoformat(text)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= day


def _name_key(name: str) -> str:
    # NFC and middle dots as U+00B7 (the intake's normalisation), then NFKC for full-width
    # forms, then letters only: a card prints 张三, a broker may send "张 三"; the small dot
    # of 阿依古丽·买买提 is often lost by the OCR, and by back-office systems that cannot
    # store it (the card reader keeps nothing else that is not a letter, either).
    return "".join(ch for ch in unicodedata.normalize("NFKC", normalise_name(name))
                   if ch.isalnum())


def _part_of(read: str, whole: str) -> bool:
    """Whether ``read`` is ``whole`` with characters left out (a name read in part)."""
    rest = iter(whole)
    return len(read) < len(whole) and all(ch in rest for ch in read)


NEAR_NAME_CONFIDENCE = 0.95  # a name one character off, read below this, is a likely misread


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions of one character)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def _one_off(read: str, whole: str) -> bool:
    """Whether ``read`` is ``whole`` with one character misread, added or lost, or read in
    part with one character misread besides (陈垫 for 陈燚堃: a rare character dropped and
    its neighbour misread), at least two characters read."""
    if len(read) < 2:
        return False
    lost = max(0, len(whole) - len(read))
    return _edit_distance(read, whole) <= lost + 1


def check_name(fields: Mapping[str, ReadField], applicant_name: str | None) -> CheckResult:
    """``name_matches_applicant``, after the intake's normalisation on both sides.

    A name one character off the applicant's (``_one_off``) read with a confidence below
    ``NEAR_NAME_CONFIDENCE`` is a likely misread (blur reads 陈垫 for 陈燚堃 at 0.81):
    ``needs_human``. ``fail`` is kept for another name, or one character off read with high
    confidence (a broker's 王方 against a card's 王芳)."""
    if not applicant_name:
        return CheckResult("name_matches_applicant", Status.NOT_CHECKED,
                           "no applicant name was given")
    unsure = _unsure(fields, "name")
    if unsure:
        return _named("name_matches_applicant", unsure)
    # A name sent in both scripts (JOHN SMITH（约翰·史密斯）, so that the Mandarin guide says
    # the Chinese one) matches a card that prints either, or both.
    wanted = {_name_key(applicant_name)} | {_name_key(p) for p in name_parts(applicant_name) or ()}
    read = _name_key(fields["name"].value)
    if read in wanted:
        return CheckResult("name_matches_applicant", Status.PASS,
                           "the name read is the applicant's (compared without spaces and "
                           "middle dots)")
    if read and any(_part_of(read, w) for w in wanted):
        return CheckResult("name_matches_applicant", Status.NEEDS_HUMAN,
                           "the name read is the applicant's with characters missing (read "
                           "in part): a human must read the card")
    if (fields["name"].confidence < NEAR_NAME_CONFIDENCE
            and any(_one_off(read, w) for w in wanted)):
        return CheckResult("name_matches_applicant", Status.NEEDS_HUMAN,
                           "the name read differs from the applicant's by one character, read "
                           f"with confidence {fields['name'].confidence:.2f} (a likely "
                           "misread): a human must read the card")
    return CheckResult("name_matches_applicant", Status.FAIL,
                       "the name read is not the applicant's")


def _day(text: str) -> date:
    y, m, d = text.split(".")
    return date(int(y), int(m), int(d))


def check_validity(fields: Mapping[str, ReadField], day: date,
                   back_received: bool = False) -> CheckResult:
    """``card_not_expired`` on ``day`` (the witness day), from the back's 有效期限.

    ``back_received``: a back side was sent or captured. Its validity period not read is then
    ``needs_human`` (a poor photo of an expired card's back must not pass for a card whose back
    was never asked for); ``not_checked`` only when no back was received."""
    name = "card_not_expired"
    if "validity" not in fields:
        received = back_received or "authority" in fields
        return CheckResult(name, Status.NEEDS_HUMAN if received else Status.NOT_CHECKED,
                           "the validity period was not read" + (
                               " from the back received: a human must read it" if received
                               else " (no back received)"))
    unsure = _unsure(fields, "validity")
    if unsure:
        return _named(name, unsure)
    start_s, end_s = fields["validity"].value.split("-", 1)
    try:
        start = _day(start_s)
        end = None if end_s == "长期" else _day(end_s)
    except ValueError:
        return CheckResult(name, Status.NEEDS_HUMAN, "the validity period is not a real date")
    if start > day:
        return CheckResult(name, Status.FAIL, f"the card is valid only from {start}")
    if end is not None and end < day:
        return CheckResult(name, Status.FAIL, f"the card expired on {end}")
    return CheckResult(name, Status.PASS, "valid on the witness day"
                       + (" (long-term card)" if end is None else f" (until {end})"))


def check_portrait(distance: float | None, found: bool | None) -> CheckResult:
    """``portrait_matches_face``: ``distance`` of dlib descriptors (None: not compared),
    ``found`` whether a face was found on the card (None: no face was given to compare)."""
    name = "portrait_matches_face"
    if found is None:
        return CheckResult(name, Status.NOT_CHECKED, "no face was given to compare")
    if not found or distance is None:
        return CheckResult(name, Status.NEEDS_HUMAN, "no portrait or no face found to compare")
    if distance < SAME_PERSON_DISTANCE:
        return CheckResult(name, Status.PASS, f"descriptor distance {distance:.2f} "
                           f"(same person below {SAME_PERSON_DISTANCE})", distance,
                           SAME_PERSON_DISTANCE)
    return CheckResult(name, Status.FAIL, f"descriptor distance {distance:.2f} "
                       f"(same person below {SAME_PERSON_DISTANCE})", distance,
                       SAME_PERSON_DISTANCE)


LIVE_FACE_CHECK = "card_portrait_matches_live_face"


def check_live_face(distance: float | None, threshold: float,
                    why_not: str | None = None) -> CheckResult:
    """``card_portrait_matches_live_face``: the card portrait's descriptor against the live
    face's enrolment template (``kiosk.liveness.continuity.enrolment_template``), judged as
    the broker's ID photo is (``SessionCheckParams.id_match_distance``: the same person at
    ``distance <= threshold``). ``why_not`` (no face on the card, the live face not known)
    makes it ``needs_human``: never a pass without both faces."""
    name = LIVE_FACE_CHECK
    if why_not is not None or distance is None:
        return CheckResult(name, Status.NEEDS_HUMAN, why_not or "not compared",
                           threshold=threshold)
    words = (f"descriptor distance {distance:.2f} between the card's portrait and the live "
             f"face (same person at {threshold} or less)")
    return CheckResult(name, Status.PASS if distance <= threshold else Status.FAIL, words,
                       distance, threshold)


def check_authority(authority: IdentityAuthority | None, name: str | None,
                    id_number: str | None) -> CheckResult:
    """``authority``: none configured (the default) is ``not_checked: human review``;
    ``identity_authority: external`` is ``not_checked`` with ``EXTERNAL_DETAIL``."""
    if authority is None:
        return CheckResult("authority", Status.NOT_CHECKED, NO_AUTHORITY_DETAIL)
    if getattr(authority, "external", False) is True:
        return CheckResult("authority", Status.NOT_CHECKED, EXTERNAL_DETAIL)
    if not name or not id_number:
        return CheckResult("authority", Status.NEEDS_HUMAN,
                           f"{authority.name}: no name and number to ask about")
    try:
        answer = authority.verify(name, id_number)
    except Exception as exc:  # a connector's failure must never pass, nor stop the report
        return CheckResult("authority", Status.NEEDS_HUMAN,
                           f"{authority.name} gave no answer ({type(exc).__name__})")
    matched = getattr(answer, "matched", None)
    if not isinstance(answer, AuthorityAnswer) or not isinstance(matched, bool):
        # A connector that returns None or something else gave no answer: never a pass, and
        # never a failure of the witness (#16 retest M-5: None was a 500 with a traceback).
        return CheckResult("authority", Status.NEEDS_HUMAN,
                           f"{authority.name} gave no usable answer "
                           f"({type(answer).__name__}, not an AuthorityAnswer)")
    detail = str(answer.detail or "")
    if matched:
        return CheckResult("authority", Status.PASS, f"{authority.name}: matched. "
                           f"{detail}".strip())
    return CheckResult("authority", Status.FAIL, f"{authority.name}: not matched. "
                       f"{detail}".strip())


def cross_check(fields: Mapping[str, ReadField], *, day: date,
                applicant_name: str | None = None, applicant_number: str | None = None,
                portrait_distance: float | None = None, portrait_found: bool | None = None,
                authority: IdentityAuthority | None = None,
                back_received: bool = False) -> list[CheckResult]:
    """Every check, in a fixed order, for a card read on ``day`` (the witness day);
    ``back_received``: a back side was given (see ``check_validity``)."""
    name = fields["name"].value if "name" in fields else applicant_name
    number = fields["id_number"].value if "id_number" in fields else applicant_number
    return [*check_number(fields, applicant_number, day),
            *check_birth_and_sex(fields, day, applicant_number),
            check_name(fields, applicant_name), check_validity(fields, day, back_received),
            check_portrait(portrait_distance, portrait_found),
            check_authority(authority, applicant_name or name, applicant_number or number)]


@dataclass(frozen=True)
class CardPortrait:
    """The portrait of a card's portrait side: ``descriptor`` (128-d, dlib) of the face found
    in it, or None and ``problem``, a sentence saying why (for a check's detail). Never
    logged: it describes a face."""

    descriptor: np.ndarray | None = dc_field(repr=False, compare=False)
    problem: str | None = None


def describe_card_portrait(card_rgb: np.ndarray, side: CardSide) -> CardPortrait:
    """The card's portrait cut out where the layout puts it (``kiosk.idcard.portrait``, from
    the labels the OCR read on ``side``) and the largest face dlib's own detector finds in
    that region only, described. ``card_rgb`` is the image ``side`` was read from (decoded,
    bounded), so the shared describer's lock covers dlib only."""
    frame = locate_card(side)
    if frame is None:
        return CardPortrait(None, "the portrait could not be located on the card (fewer "
                                  "than two of its labels were read where the layout puts "
                                  "them)")
    desc = shared_describer().descriptor(portrait_crop(card_rgb, frame), require_detection=True)
    if desc is None:
        return CardPortrait(None, "no face was found in the card's portrait")
    return CardPortrait(desc)


def portrait_distance(card_rgb: np.ndarray, face_rgb: np.ndarray,
                      side: CardSide) -> tuple[bool, float | None]:
    """(portrait found, descriptor distance to the face) with dlib's descriptors: the card's
    portrait as ``describe_card_portrait`` finds it, the face as the largest one on
    ``face_rgb``. (False, None) when either has no face."""
    card = describe_card_portrait(card_rgb, side).descriptor
    face = shared_describer().descriptor(face_rgb, require_detection=True)
    if card is None or face is None:
        return False, None
    return True, descriptor_distance(card, face)
