"""Identity document numbers: each type's rule, good and bad, with the exact message; and the
intake API naming the field and the rule."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.config import load_settings
from kiosk.identity.numbers import (
    IdNumberError,
    IdType,
    make_resident_id,
    mod11_2,
    parse_id_number,
)
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir

TODAY = date(2025, 6, 1)


def test_mod11_2_matches_the_standards_worked_example():
    # GB 11643-1999 Appendix A: 11010519491231002 -> X.
    assert mod11_2("11010519491231002") == "X"
    assert mod11_2("11010219900307888") == "8"
    with pytest.raises(ValueError, match="17 digits"):
        mod11_2("1234")


@pytest.mark.parametrize("text, number, born, sex", [
    ("110102199003078888", "110102199003078888", date(1990, 3, 7), "F"),
    ("11010519491231002x", "11010519491231002X", date(1949, 12, 31), "F"),  # x folded to X
    (" " + make_resident_id("440305", date(2000, 2, 29), 1) + " ",
     make_resident_id("440305", date(2000, 2, 29), 1), date(2000, 2, 29), "M"),  # leap day
])
def test_resident_id_good(text, number, born, sex):
    n = parse_id_number("prc_resident_id", text, TODAY)
    assert (n.id_type, n.number, n.birth_date, n.sex) == (IdType.PRC_RESIDENT_ID, number, born,
                                                         sex)


@pytest.mark.parametrize("text, message", [
    ("110102199003078881", "check digit 1 is wrong: GB 11643-1999 (ISO 7064 MOD 11-2) gives 8 "
                           "for the first 17 digits; a digit is mistyped"),
    ("110101199003078888", "check digit 8 is wrong: GB 11643-1999 (ISO 7064 MOD 11-2) gives 1 "
                           "for the first 17 digits; a digit is mistyped"),
    ("110102900307888", "a 15-digit number is the first-generation resident ID (GB 11643-1989, "
                        "before 2004); send the 18-digit number printed on the current card "
                        "(GB 11643-1999)"),
    ("11010219900307888", "a PRC resident ID number is 18 characters: 17 digits and a check "
                          "digit 0-9 or X (got 17 characters)"),
    ("1101021990030788A8", "a PRC resident ID number is 18 characters: 17 digits and a check "
                           "digit 0-9 or X (character 17 is a letter, not a digit)"),
    ("4403051985X2310021", "a PRC resident ID number is 18 characters: 17 digits and a check "
                           "digit 0-9 or X (character 11 is a letter, not a digit)"),
    ("44030519850231002A", "a PRC resident ID number is 18 characters: 17 digits and a check "
                           "digit 0-9 or X (character 18 is neither a digit nor X)"),
    ("110102 99003078881", "a PRC resident ID number is 18 characters: 17 digits and a check "
                           "digit 0-9 or X (character 7 is a space, not a digit)"),
    ("110102199002308888", "birth date 19900230 (digits 7-14) is not a real date"),
    ("110102209912318888", "birth date 2099-12-31 (digits 7-14) is in the future"),
    ("110102189912318888", "birth date 1899-12-31 (digits 7-14) is before 1900"),
    ("990102199003078888", "a number starting with 9 is a foreign permanent resident ID; send "
                           "id_type foreign_permanent_resident_id"),
    ("870102199003078888", "digits 1-2 (87) are not a province code of GB/T 2260"),
    (make_resident_id("810000", date(1990, 3, 7), 888),
     "810000 is the address code of the Hong Kong residence permit; send id_type "
     "hk_macao_taiwan_residence_permit"),
])
def test_resident_id_bad(text, message):
    with pytest.raises(IdNumberError) as exc:
        parse_id_number(IdType.PRC_RESIDENT_ID, text, TODAY)
    assert str(exc.value) == message


@pytest.mark.parametrize("area", ["810000", "820000", "830000"])
def test_residence_permits_good(area):
    number = make_resident_id(area, date(1985, 11, 30), 13)
    n = parse_id_number("hk_macao_taiwan_residence_permit", number, TODAY)
    assert n.number == number and n.birth_date == date(1985, 11, 30) and n.sex == "M"


@pytest.mark.parametrize("text, message", [
    (make_resident_id("110102", date(1990, 3, 7), 888),
     "a residence permit for Hong Kong, Macao or Taiwan residents starts with 810000, 820000 or "
     "830000 (got 110102)"),
    (make_resident_id("810000", date(1990, 3, 7), 888)[:17] + "0",
     "check digit 0 is wrong: GB 11643-1999 (ISO 7064 MOD 11-2) gives "
     f"{make_resident_id('810000', date(1990, 3, 7), 888)[17]} for the first 17 digits; "
     "a digit is mistyped"),
])
def test_residence_permits_bad(text, message):
    with pytest.raises(IdNumberError) as exc:
        parse_id_number("hk_macao_taiwan_residence_permit", text, TODAY)
    assert str(exc.value) == message


def test_foreign_permanent_resident_2023_card():
    body = "931" + "840" + "19800115" + "005"  # 9, Shanghai, USA (840), born, sequence
    number = body + mod11_2(body)
    n = parse_id_number("foreign_permanent_resident_id", number, TODAY)
    assert n.birth_date == date(1980, 1, 15) and n.sex == "M"
    wrong = body + ("0" if number[-1] != "0" else "1")
    with pytest.raises(IdNumberError, match=r"^check digit . is wrong: the 2023 card's number "
                                            r"\(ISO 7064 MOD 11-2\) gives"):
        parse_id_number("foreign_permanent_resident_id", wrong, TODAY)
    with pytest.raises(IdNumberError) as exc:
        parse_id_number("foreign_permanent_resident_id", "1" + number[1:], TODAY)
    assert str(exc.value) == ("an 18-digit foreign permanent resident ID (2023 card) starts "
                              "with 9 (got 1)")


@pytest.mark.parametrize("nationality", ["000", "999", "001", "841"])
def test_the_2023_cards_nationality_is_an_iso_3166_numeric_code(nationality):
    """#16 retest L-5: 000 and 999 were accepted; the 2017 card's alpha-3 code was checked."""
    for good in ("840", "826", "392", "004"):  # USA, United Kingdom, Japan, Afghanistan
        body = "931" + good + "19800115" + "005"
        parse_id_number("foreign_permanent_resident_id", body + mod11_2(body), TODAY)
    body = "931" + nationality + "19800115" + "005"
    with pytest.raises(IdNumberError) as exc:
        parse_id_number("foreign_permanent_resident_id", body + mod11_2(body), TODAY)
    assert str(exc.value) == (f"digits 4-6 ({nationality}) are not an ISO 3166-1 numeric "
                              "country code (GB/T 2659; the holder's nationality on the 2023 "
                              "card)")
    assert exc.value.rule == "nationality code"


def test_foreign_permanent_resident_2017_card():
    # nationality, place of application (4 digits), YYMMDD, sequence, final digit
    n = parse_id_number("foreign_permanent_resident_id", "usa310080011512", TODAY)
    assert n.number == "USA310080011512" and n.birth_date == date(1980, 1, 15)
    n = parse_id_number("foreign_permanent_resident_id", "USA310008011512", TODAY)
    assert n.birth_date == date(2008, 1, 15)  # a two-digit year not in the future
    n = parse_id_number("foreign_permanent_resident_id", "GBR110085123112", TODAY)
    assert n.birth_date == date(1985, 12, 31)
    for text, message in [
        ("USA3100800115", "a foreign permanent resident ID is 18 digits starting with 9 (2023 "
                          "card) or 3 letters and 12 digits (2017 card) (got 13 characters: "
                          "3 letters, 10 digits)"),
        ("US1310080011512", "a foreign permanent resident ID is 18 digits starting with 9 (2023 "
                            "card) or 3 letters and 12 digits (2017 card) (got 15 characters: "
                            "2 letters, 13 digits)"),
        ("ZZZ310080011512", "characters 1-3 (ZZZ) are not an ISO 3166-1 alpha-3 country code "
                            "(the holder's nationality on the 2017 card)"),
        ("XXA310080011512", "characters 1-3 (XXA) are not an ISO 3166-1 alpha-3 country code "
                            "(the holder's nationality on the 2017 card)"),
        ("USA990080011512", "characters 4-5 (99) are not a province code of GB/T 2260"),
        ("USA310080013212", "birth date 19800132 (characters 8-13) is not a real date"),
    ]:
        with pytest.raises(IdNumberError) as exc:
            parse_id_number("foreign_permanent_resident_id", text, TODAY)
        assert str(exc.value) == message


@pytest.mark.parametrize("id_type, good, bad, message", [
    ("hk_macao_travel_permit", ["H12345678", "m12345678", "H1234567801"],
     ["H1234567", "K12345678", "H123456789"],
     "a travel permit for Hong Kong and Macao residents is H or M and 8 digits (10 on the older "
     "booklets)"),
    ("taiwan_travel_permit", ["01234567"], ["1234567", "T1234567", "012345678"],
     "a travel permit for Taiwan residents is 8 digits"),
    ("prc_passport", ["E12345678", "EA1234567", "G12345678", "DE1234567", "se1234567"],
     ["E1234567", "EA12345678", "A12345678", "123456789"],
     "a PRC passport number is E and 8 digits, E, a letter and 7 digits, G and 8 digits, or "
     "DE/SE/PE and 7 digits"),
    ("foreign_passport", ["AB12345", "123456789", "X1234567890123456"],
     ["AB12", "X12345678901234567", "AB-12345"],
     "a passport number is 5-17 letters or digits"),
])
def test_pattern_types(id_type, good, bad, message):
    for text in good:
        assert parse_id_number(id_type, text, TODAY).number == text.upper()
    for text in bad:
        with pytest.raises(IdNumberError) as exc:
            parse_id_number(id_type, text, TODAY)
        assert str(exc.value).startswith(f"{message} (got {len(text)} characters: ")


@pytest.mark.parametrize("id_type, text, got", [
    ("taiwan_travel_permit", "T1234567", "got 8 characters: 1 letter, 7 digits"),
    ("hk_macao_travel_permit", "C12345678", "got 9 characters: 1 letter, 8 digits"),
    ("prc_passport", "K12345678", "got 9 characters: 1 letter, 8 digits"),
    ("foreign_passport", "AB 123456", "got 9 characters: 2 letters, 6 digits, 1 other character "
                                      "(spaces, hyphens, punctuation or full-width forms)"),
])
def test_a_number_of_the_right_length_is_told_what_it_is_made_of(id_type, text, got):
    with pytest.raises(IdNumberError) as exc:
        parse_id_number(id_type, text, TODAY)
    assert str(exc.value).endswith(f"({got})")


def test_unknown_type_is_a_value_error_naming_the_choices():
    with pytest.raises(ValueError, match="unknown id_type 'driver_licence'; use one of "
                                         "prc_resident_id, hk_macao_taiwan_residence_permit"):
        parse_id_number("driver_licence", "123456")


def test_make_resident_id_refuses_bad_parts():
    with pytest.raises(ValueError, match="area must be 6 digits"):
        make_resident_id("1101", date(1990, 1, 1), 1)
    with pytest.raises(ValueError, match="sequence must be 0-999"):
        make_resident_id("110101", date(1990, 1, 1), 1000)


# -- the intake API --------------------------------------------------------------------------

@pytest.fixture()
def client(tmp_path):
    app = create_app(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=False, speech=False))
    yield app.test_client(), app
    app.extensions["kiosk"].shutdown()


def _post(client, **applicant):
    body = {"applicant": {"name": "张三", **applicant}, "locale": "zh-CN", "flow_id": "quick"}
    return client.post("/api/sessions", json=body, headers={"X-API-Key": API_KEY})


def test_api_defaults_to_the_resident_id_and_stores_the_type(client):
    c, app = client
    r = _post(c, id_number="１１０１０５１９４９１２３１００２ｘ")  # full-width, lower-case x
    assert r.status_code == 201, r.get_json()
    row = app.extensions["kiosk"].store.get(r.get_json()["session_id"])
    assert row.applicant["id_type"] == "prc_resident_id"
    assert row.applicant["id_number"] == "11010519491231002X"


@pytest.mark.parametrize("applicant, message", [
    ({"id_number": "110101199003078888"},
     "check digit 8 is wrong: GB 11643-1999 (ISO 7064 MOD 11-2) gives 1 for the first 17 "
     "digits; a digit is mistyped"),
    ({"id_number": "110102900307888"},
     "a 15-digit number is the first-generation resident ID (GB 11643-1989, before 2004); send "
     "the 18-digit number printed on the current card (GB 11643-1999)"),
    ({"id_type": "taiwan_travel_permit", "id_number": "T1234567"},
     "a travel permit for Taiwan residents is 8 digits (got 8 characters: 1 letter, 7 digits)"),
    ({"id_number": "110102 199003078881"},
     "must be 5-32 letters or digits (character 7 is a space; send the number without spaces "
     "or separators)"),
    ({"id_number": "110102-199003078881"},
     "must be 5-32 letters or digits (character 7 is punctuation (a hyphen or a dot, say); "
     "send the number without spaces or separators)"),
    # #16 retest L-6: pydantic's own words were "String should have at least 5 characters"
    # and "Input should be a valid string".
    ({"id_number": ""}, "must be 5-32 letters or digits (got 0 characters)"),
    ({"id_number": "1101"}, "must be 5-32 letters or digits (got 4 characters)"),
    ({"id_number": "1" * 40}, "must be 5-32 letters or digits (got 40 characters)"),
    ({"id_number": 110101199003078881},
     "must be a JSON string of 5-32 letters or digits (got a number; a number loses its "
     "leading zeros and cannot hold the X check digit)"),
    ({"id_number": None},
     "must be a JSON string of 5-32 letters or digits (got null; a number loses its leading "
     "zeros and cannot hold the X check digit)"),
])
def test_api_names_the_field_and_the_rule(client, applicant, message):
    r = _post(client[0], **applicant)
    assert r.status_code == 422
    assert r.get_json()["problems"] == [{"field": "applicant.id_number", "message": message}]


def test_api_unknown_type_names_the_type_field_only(client):
    r = _post(client[0], id_type="driver_licence", id_number="110102199003078888")
    assert r.status_code == 422
    fields = [p["field"] for p in r.get_json()["problems"]]
    assert fields == ["applicant.id_type"]
    assert "prc_resident_id" in r.get_json()["problems"][0]["message"]


def test_api_takes_other_types(client):
    c, app = client
    r = _post(c, id_type="hk_macao_travel_permit", id_number="h12345678")
    assert r.status_code == 201
    row = app.extensions["kiosk"].store.get(r.get_json()["session_id"])
    assert row.applicant["id_type"] == "hk_macao_travel_permit"
    assert row.applicant["id_number"] == "H12345678"
