"""Identity document numbers, validated by each document type's published rule (pure).

``parse_id_number(id_type, text)`` returns an ``IdNumber`` (the canonical number, and the
birth date and sex when the number encodes them) or raises ``IdNumberError`` whose message
names the rule that failed, in the words a back-office developer can act on.

=================================  ===========================================================
``id_type``                        rule
=================================  ===========================================================
``prc_resident_id``                居民身份证, GB 11643-1999: 6-digit address code (GB/T 2260
                                   province 11-71), 8-digit birth date, 3-digit sequence (odd:
                                   male), ISO 7064 MOD 11-2 check digit (0-9 or X). The
                                   15-digit first-generation number (GB 11643-1989) is refused.
``hk_macao_taiwan_residence_permit``  港澳台居民居住证 (2018): as above with the address code
                                   810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan).
``foreign_permanent_resident_id``  外国人永久居留身份证: the 2023 card, 18 digits: ``9``, a
                                   2-digit province code, a 3-digit nationality code (ISO 3166-1
                                   numeric, GB/T 2659), 8-digit
                                   birth date, 3-digit sequence, MOD 11-2 check digit (National
                                   Immigration Administration, 2023); or the 2017 card, 3 letters
                                   (ISO 3166-1 alpha-3 nationality,
                                   ``kiosk.identity.countries``) and 12 digits: 4-digit place
                                   of application (province and city), YYMMDD birth date, a
                                   sequence digit and a final digit. No public source states how
                                   the 2017 final digit is computed, so it is not checked.
``hk_macao_travel_permit``         港澳居民来往内地通行证: ``H`` (Hong Kong) or ``M`` (Macao) and
                                   8 digits; 10 digits on the older booklets (8 + reissue count).
``taiwan_travel_permit``           台湾居民来往大陆通行证 (card since 2015): 8 digits.
``prc_passport``                   中华人民共和国护照: ``E`` + 8 digits, ``E`` + a letter + 7
                                   digits (after 2019), ``G`` + 8 digits (before 2012), and
                                   ``DE`` / ``SE`` / ``PE`` + 7 digits (diplomatic, service,
                                   official).
``foreign_passport``               ICAO 9303 document number: 5-17 letters or digits.
=================================  ===========================================================

Letters are taken in either case and stored upper case (``x`` → ``X``); full-width forms are
folded by the caller (``kiosk.guide.normalise.fold``). Birth dates must be real calendar
dates, not in the future and not before 1900.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from kiosk.identity.countries import ISO3166_ALPHA3, ISO3166_NUMERIC


class IdType(StrEnum):
    """The identity documents an applicant may open an account with."""

    PRC_RESIDENT_ID = "prc_resident_id"
    HK_MACAO_TAIWAN_RESIDENCE_PERMIT = "hk_macao_taiwan_residence_permit"
    FOREIGN_PERMANENT_RESIDENT_ID = "foreign_permanent_resident_id"
    HK_MACAO_TRAVEL_PERMIT = "hk_macao_travel_permit"
    TAIWAN_TRAVEL_PERMIT = "taiwan_travel_permit"
    PRC_PASSPORT = "prc_passport"
    FOREIGN_PASSPORT = "foreign_passport"


class IdNumberError(ValueError):
    """An ID number breaks its document type's rule; the message names the rule. ``rule``
    names it too, without any character of the number (for a check's detail, which reaches
    evidence): ``length``, ``characters``, ``document type``, ``province code``, ``birth
    date`` or ``check digit``."""

    def __init__(self, message: str, rule: str = "format") -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class IdNumber:
    """A validated number: ``number`` canonical (upper case); ``birth_date`` and ``sex``
    (``"M"`` / ``"F"``) when the number encodes them, else None."""

    id_type: IdType
    number: str
    birth_date: date | None = None
    sex: str | None = None


# GB/T 2260 province-level codes a resident ID's address code starts with (71: Taiwan).
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71",
})
# Address codes of the residence permits for Hong Kong, Macao and Taiwan residents.
PERMIT_REGIONS = {"810000": "Hong Kong", "820000": "Macao", "830000": "Taiwan"}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_EARLIEST_BIRTH = date(1900, 1, 1)

_ASCII_DIGITS = "0123456789"
_DIGITS18 = re.compile(r"\d{17}[\dX]", re.ASCII)
_FPR_2017 = re.compile(r"[A-Z]{3}\d{12}", re.ASCII)
_HK_MACAO = re.compile(r"[HM](\d{8}|\d{10})", re.ASCII)
_TAIWAN = re.compile(r"\d{8}", re.ASCII)
_PRC_PASSPORT = re.compile(r"E\d{8}|E[A-Z]\d{7}|G\d{8}|[DSP]E\d{7}", re.ASCII)
_FOREIGN_PASSPORT = re.compile(r"[A-Z0-9]{5,17}")


def mod11_2(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character (``0``-``9`` or ``X``) of 17 digits."""
    if len(body) != 17 or not body.isdigit():
        raise ValueError(f"MOD 11-2 takes 17 digits, got {len(body)} characters")
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def make_resident_id(area: str, birth: date, sequence: int) -> str:
    """A valid 18-character number: 6-digit ``area``, ``birth``, ``sequence`` 0-999 (odd:
    male), and its check digit. For tests and synthetic cards; ValueError on bad parts."""
    if len(area) != 6 or not area.isdigit():
        raise ValueError(f"area must be 6 digits, got {area!r}")
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0-999, got {sequence}")
    body = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return body + mod11_2(body)


def _birth(text: str, where: str, today: date) -> date:
    try:
        born = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise IdNumberError(f"birth date {text} ({where}) is not a real date",
                           "birth date") from None
    if born > today:
        raise IdNumberError(f"birth date {born.isoformat()} ({where}) is in the future",
                           "birth date")
    if born < _EARLIEST_BIRTH:
        raise IdNumberError(f"birth date {born.isoformat()} ({where}) is before 1900",
                           "birth date")
    return born


def _check_digit(number: str, standard: str) -> None:
    want = mod11_2(number[:17])
    if number[17] != want:
        raise IdNumberError(f"check digit {number[17]} is wrong: {standard} (ISO 7064 MOD 11-2) "
                            f"gives {want} for the first 17 digits; a digit is mistyped",
                            "check digit")


def _eighteen(number: str, what: str) -> None:
    if len(number) == 15 and number.isdigit():
        raise IdNumberError(
            "a 15-digit number is the first-generation resident ID (GB 11643-1989, before "
            "2004); send the 18-digit number printed on the current card (GB 11643-1999)", "length")
    if not _DIGITS18.fullmatch(number):
        rule = f"a {what} number is 18 characters: 17 digits and a check digit 0-9 or X"
        if len(number) != 18:
            raise IdNumberError(f"{rule} (got {len(number)} characters)", "length")
        bad = next(i for i, c in enumerate(number)
                   if not (c in _ASCII_DIGITS or (c == "X" and i == 17)))
        what = _kind(number[bad]) if bad < 17 else "neither a digit nor X"
        raise IdNumberError(f"{rule} (character {bad + 1} is {what})", "characters")


def _sex(digit: str) -> str:
    return "M" if int(digit) % 2 else "F"


def _resident_id(number: str, today: date) -> IdNumber:
    _eighteen(number, "PRC resident ID")
    region = PERMIT_REGIONS.get(number[:6])
    if region:
        raise IdNumberError(f"{number[:6]} is the address code of the {region} residence permit; "
                            f"send id_type {IdType.HK_MACAO_TAIWAN_RESIDENCE_PERMIT.value}",
                            "document type")
    if number[0] == "9":
        raise IdNumberError("a number starting with 9 is a foreign permanent resident ID; send "
                            f"id_type {IdType.FOREIGN_PERMANENT_RESIDENT_ID.value}",
                            "document type")
    if number[:2] not in PROVINCES:
        raise IdNumberError(f"digits 1-2 ({number[:2]}) are not a province code of GB/T 2260",
                            "province code")
    born = _birth(number[6:14], "digits 7-14", today)
    _check_digit(number, "GB 11643-1999")
    return IdNumber(IdType.PRC_RESIDENT_ID, number, born, _sex(number[16]))


def _residence_permit(number: str, today: date) -> IdNumber:
    _eighteen(number, "residence permit")
    if number[:6] not in PERMIT_REGIONS:
        raise IdNumberError(f"a residence permit for Hong Kong, Macao or Taiwan residents starts "
                            f"with 810000, 820000 or 830000 (got {number[:6]})", "document type")
    born = _birth(number[6:14], "digits 7-14", today)
    _check_digit(number, "GB 11643-1999")
    return IdNumber(IdType.HK_MACAO_TAIWAN_RESIDENCE_PERMIT, number, born, _sex(number[16]))


def _foreign_permanent(number: str, today: date) -> IdNumber:
    if len(number) == 18:
        _eighteen(number, "foreign permanent resident ID")
        if number[0] != "9":
            raise IdNumberError("an 18-digit foreign permanent resident ID (2023 card) starts "
                                f"with 9 (got {number[0]})", "document type")
        if number[1:3] not in PROVINCES:
            raise IdNumberError(f"digits 2-3 ({number[1:3]}) are not a province code of "
                                "GB/T 2260", "province code")
        if number[3:6] not in ISO3166_NUMERIC:
            raise IdNumberError(f"digits 4-6 ({number[3:6]}) are not an ISO 3166-1 numeric "
                                "country code (GB/T 2659; the holder's nationality on the 2023 "
                                "card)", "nationality code")
        born = _birth(number[6:14], "digits 7-14", today)
        _check_digit(number, "the 2023 card's number")
        return IdNumber(IdType.FOREIGN_PERMANENT_RESIDENT_ID, number, born, _sex(number[16]))
    if not _FPR_2017.fullmatch(number):
        raise IdNumberError("a foreign permanent resident ID is 18 digits starting with 9 (2023 "
                            f"card) or 3 letters and 12 digits (2017 card) ({_got(number)})",
                            "format")
    if number[:3] not in ISO3166_ALPHA3:
        raise IdNumberError(f"characters 1-3 ({number[:3]}) are not an ISO 3166-1 alpha-3 "
                            "country code (the holder's nationality on the 2017 card)",
                            "nationality code")
    if number[3:5] not in PROVINCES:
        raise IdNumberError(f"characters 4-5 ({number[3:5]}) are not a province code of "
                            "GB/T 2260", "province code")
    yymmdd = number[7:13]
    # A two-digit year: the latest century that does not put the birth in the future.
    century = "20" if int("20" + yymmdd[:2]) <= today.year else "19"
    born = _birth(century + yymmdd, "characters 8-13", today)
    return IdNumber(IdType.FOREIGN_PERMANENT_RESIDENT_ID, number, born)


def _kind(ch: str) -> str:
    """What a character that is not allowed is, in an error (never the character itself)."""
    if ch.isspace():
        return "a space, not a digit"
    if ch.isascii() and ch.isalpha():
        return "a letter, not a digit"
    return "not a digit" if ch.isascii() else "not an ASCII letter or digit"


def characters_problem(text: str, low: int = 5, high: int = 32) -> str | None:
    """Why ``text`` (folded by the caller) is not ``low``-``high`` ASCII letters or digits, in
    an error's words naming the first bad character's position and kind, or None."""
    bad = next((i for i, c in enumerate(text) if not (c.isascii() and c.isalnum())), None)
    if bad is not None:
        ch = text[bad]
        what = ("a space" if ch.isspace() else "punctuation (a hyphen or a dot, say)"
                if ch.isascii() else "not an ASCII letter or digit")
        return (f"must be {low}-{high} letters or digits (character {bad + 1} is {what}; "
                "send the number without spaces or separators)")
    if not low <= len(text) <= high:
        return f"must be {low}-{high} letters or digits (got {len(text)} characters)"
    return None


def _got(number: str) -> str:
    """The make-up of a number that matched no pattern: its length, letters and digits."""
    letters = sum(c.isascii() and c.isalpha() for c in number)
    digits = sum(c.isascii() and c.isdigit() for c in number)
    other = len(number) - letters - digits
    parts = [f"{letters} letter{'s' * (letters != 1)}", f"{digits} digit{'s' * (digits != 1)}"]
    if other:
        parts.append(f"{other} other character{'s' * (other != 1)} (spaces, hyphens, "
                     "punctuation or full-width forms)")
    return f"got {len(number)} characters: {', '.join(parts)}"


def _pattern(id_type: IdType, pattern: re.Pattern, rule: str, number: str) -> IdNumber:
    if not pattern.fullmatch(number):
        raise IdNumberError(f"{rule} ({_got(number)})", "format")
    return IdNumber(id_type, number)


def parse_id_number(id_type: IdType | str, text: str, today: date | None = None) -> IdNumber:
    """Validate ``text`` as a number of ``id_type``; ``today`` bounds birth dates (default:
    the local date). IdNumberError names the rule; ValueError for an unknown ``id_type``."""
    try:
        kind = IdType(id_type)
    except ValueError:
        raise ValueError(f"unknown id_type {id_type!r}; use one of "
                         f"{', '.join(t.value for t in IdType)}") from None
    number = text.strip().upper()
    today = today or date.today()
    if kind is IdType.PRC_RESIDENT_ID:
        return _resident_id(number, today)
    if kind is IdType.HK_MACAO_TAIWAN_RESIDENCE_PERMIT:
        return _residence_permit(number, today)
    if kind is IdType.FOREIGN_PERMANENT_RESIDENT_ID:
        return _foreign_permanent(number, today)
    if kind is IdType.HK_MACAO_TRAVEL_PERMIT:
        return _pattern(kind, _HK_MACAO, "a travel permit for Hong Kong and Macao residents is H "
                        "or M and 8 digits (10 on the older booklets)", number)
    if kind is IdType.TAIWAN_TRAVEL_PERMIT:
        return _pattern(kind, _TAIWAN, "a travel permit for Taiwan residents is 8 digits", number)
    if kind is IdType.PRC_PASSPORT:
        return _pattern(kind, _PRC_PASSPORT, "a PRC passport number is E and 8 digits, E, a "
                        "letter and 7 digits, G and 8 digits, or DE/SE/PE and 7 digits", number)
    return _pattern(kind, _FOREIGN_PASSPORT, "a passport number is 5-17 letters or digits",
                    number)
