"""The ID card in the sealed evidence and in the AI pre-review: card images masked per
``id_mask``, the OCR fields and every check in ``data/id_card/card.json``, covered by the
manifest and the signature; the checks judged by the pre-review. Real OCR on synthetic cards
rendered here."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kiosk.evidence import EvidenceKeys, Ledger, seal_package, verify_package
from kiosk.idcard.ocr import shared_reader
from kiosk.idcard.reader import CardLimits
from kiosk.identity.numbers import make_resident_id
from kiosk.liveness.live_face import write_live_face
from kiosk.review.prereview import build_prereview
from kiosk.testing.idcards import make_person, photograph, render_back, render_front
from kiosk.witness.id_card import read_job, record_side, settle_card_portrait
from tests.test_evidence import make_session

TODAY = date(2025, 6, 1)
WEBM = b"\x1a\x45\xdf\xa3" + bytes(64)  # the recording is not what these tests look at


@pytest.fixture(scope="module")
def person():
    return make_person(23, TODAY)


@pytest.fixture(scope="module")
def photos(person):
    return (photograph(render_front(person, 23), "clean", 1),
            photograph(render_back(person, 23), "clean", 2))


@pytest.fixture(scope="module")
def reads(photos):
    """Each side read once per mask (real OCR)."""
    out = {}
    for mask in ("keep_last4", "full"):
        for side, data in zip(("front", "back"), photos, strict=True):
            out[mask, side] = read_job(data, side, mask=mask, limits=CardLimits())(
                shared_reader())
    return out


@pytest.fixture(scope="module")
def live_face(person):
    """The live face of the card's holder, as the face observer keeps it."""
    from kiosk.liveness.identity import shared_describer
    from kiosk.testing.faces import face_rig

    return shared_describer().descriptor(face_rig(person.face).image, require_detection=True)


def sealed(tmp_path: Path, webm: bytes, person, reads, *, mask="keep_last4", number=None,
           sides=("front", "back"), day=TODAY, live=None, authority=None):
    applicant = {"name": person.name, "id_type": "prc_resident_id",
                 "id_number": number or person.id_number}
    sdir = make_session(tmp_path / "sessions", webm, applicant=applicant)
    if live is not None:
        write_live_face(sdir, live, 0.6, 5)
    for side in sides:
        record_side(sdir, reads[mask, side], applicant, mask=mask, day=day,
                    authority=authority)
    settle_card_portrait(sdir)  # the server's sealer does it first
    keys = EvidenceKeys(tmp_path / "keys")
    keys.ensure()
    res = seal_package(sdir, tmp_path / "packages", keys, Ledger(tmp_path / "l.jsonl", keys=keys),
                       mask=mask)
    return res, keys


def ocr_text(path: Path) -> str:
    rgb = np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("RGB"))
    return "".join(b.text for b in shared_reader().read(rgb))


def test_the_package_holds_the_masked_card_and_every_check(tmp_path, person, reads):
    res, keys = sealed(tmp_path, WEBM, person, reads)
    bag = res.bag_dir
    assert verify_package(bag, keyring=keys.keyring()).ok
    manifest = (bag / "manifest-sha256.txt").read_text()
    for name in ("card.json", "front.jpg", "back.jpg"):
        assert f"  data/id_card/{name}\n" in manifest
    card = json.loads((bag / "data/id_card/card.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in card["checks"]] == [
        "id_number_valid", "id_number_matches_applicant", "birth_date_matches_number",
        "sex_matches_number", "name_matches_applicant", "card_not_expired",
        "portrait_matches_face", "card_portrait_matches_live_face", "card_not_screen_photo",
        "authority"]
    assert all("confidence" in f for f in card["front"]["fields"].values())
    assert card["authority"] == {"configured": False, "external": False, "name": None, "result": {
        "name": "authority", "status": "not_checked", "detail": "not checked: human review"}}
    report = json.loads((bag / "data/report.json").read_text(encoding="utf-8"))
    assert report["id_card"]["overall"] == "needs_human"
    assert report["id_card"]["checks"]["id_number_matches_applicant"] == "pass"
    for p in bag.rglob("*"):
        if p.is_file():
            assert person.id_number.encode() not in p.read_bytes(), p
            assert person.address.encode("utf-8") not in p.read_bytes(), p
    text = ocr_text(bag / "data/id_card/front.jpg")
    assert person.id_number[-4:] in text and person.id_number[:6] not in text


def test_a_changed_card_image_fails_verification(tmp_path, person, reads):
    res, keys = sealed(tmp_path, WEBM, person, reads)
    img = res.bag_dir / "data/id_card/front.jpg"
    data = bytearray(img.read_bytes())
    data[len(data) // 2] ^= 0x01
    img.write_bytes(bytes(data))
    rep = verify_package(res.bag_dir, keyring=keys.keyring())
    assert not rep.ok and "data/id_card/front.jpg: sha256 mismatch" in "\n".join(rep.problems)


def test_the_full_mask_hides_the_last_four_too(tmp_path, person, reads):
    res, _ = sealed(tmp_path, WEBM, person, reads, mask="full")
    card = json.loads((res.bag_dir / "data/id_card/card.json").read_text(encoding="utf-8"))
    assert card["front"]["fields"]["id_number"]["value"] == "*" * 18
    text = ocr_text(res.bag_dir / "data/id_card/front.jpg")
    assert person.id_number[-4:] not in text and person.name in text


# -- the pre-review ---------------------------------------------------------------------------

def findings(pre) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in pre["findings"] if f["code"].startswith("id_card")}


def test_prereview_agreeing_card_without_an_authority_is_never_clear(tmp_path, person, reads,
                                                                     live_face):
    """#16 retest M-1: every card check passes, but no authority is configured (the default):
    nobody checked the identity against the authority, so the case is not ``clear`` and the
    reason says so, in words that are not doubled."""
    res, _ = sealed(tmp_path, WEBM, person, reads, live=live_face)
    pre = build_prereview(res.bag_dir)
    assert findings(pre) == {"id_card_portrait_matches_face": "info",
                             "id_card_authority": "flag"}
    assert pre["id_card"]["overall"] == "needs_human"
    assert pre["id_card"]["front"]["image"] == "front.jpg"
    assert pre["verdict"] == "needs_attention"
    assert [r for r in pre["verdict_reasons"] if "ID card" in r] == [
        "ID card: identity not checked against the authority: human review"]
    assert not any("not checked: not checked" in f["text"] for f in pre["findings"])


def test_prereview_identity_checked_outside_the_kiosk_is_information_only(tmp_path, person,
                                                                          reads, live_face):
    """``identity_authority: external``: the broker declares that it checks identity against
    the authority in its own system; the authority check is then information only, the card's
    overall passes without it and the agreeing card adds no reason to the verdict."""
    from kiosk.identity.authority import load_authority

    res, _ = sealed(tmp_path, WEBM, person, reads, live=live_face,
                    authority=load_authority("external"))
    card = json.loads((res.bag_dir / "data/id_card/card.json").read_text(encoding="utf-8"))
    assert card["authority"]["external"] is True
    # Only the ID photo is missing (portrait_matches_face not_checked): the authority
    # declared done elsewhere does not hold the card's overall back by itself.
    assert {c["name"] for c in card["checks"] if c["status"] != "pass"} == {
        "portrait_matches_face", "authority"}
    from kiosk.identity.checks import CheckResult, Status, overall
    assert overall([CheckResult(c["name"], Status.PASS if c["name"] == "portrait_matches_face"
                                else Status(c["status"]), c["detail"])
                    for c in card["checks"]]) is Status.PASS
    pre = build_prereview(res.bag_dir)
    assert findings(pre) == {"id_card_portrait_matches_face": "info",
                             "id_card_authority": "info"}
    assert not any("ID card" in r for r in pre["verdict_reasons"])
    text = next(f["text"] for f in pre["findings"] if f["code"] == "id_card_authority")
    assert text == ("ID card: identity checked outside the kiosk: the broker verifies identity "
                    "against the authority in its own system (identity_authority: external)")
    # Without a live face the portrait goes to a human: a flag, never information only.
    res, _ = sealed(tmp_path / "no-face", WEBM, person, reads)
    pre = build_prereview(res.bag_dir)
    assert findings(pre)["id_card_card_portrait_matches_live_face"] == "flag"
    assert pre["verdict"] != "clear"


def test_prereview_a_number_mismatch_suggests_a_reject(tmp_path, person, reads):
    other = make_resident_id("110102", date(1990, 3, 7), 888)
    res, _ = sealed(tmp_path, WEBM, person, reads, number=other)
    pre = build_prereview(res.bag_dir)
    assert findings(pre)["id_card_id_number_matches_applicant"] == "reject"
    assert pre["verdict"] == "suggested_reject"


def test_prereview_a_number_read_in_part_is_attention_never_a_reject(tmp_path, person, reads):
    """A thumb over the number's end: 12 digits read, with confidence. A human reads the card;
    the applicant is not suggested for rejection."""
    from dataclasses import replace

    front = reads["keep_last4", "front"]
    number = front.side.fields["id_number"]
    part = replace(number, value=number.value[:12], confidence=0.99)
    side = replace(front.side, fields={**front.side.fields, "id_number": part})
    covered = {**reads, ("keep_last4", "front"): replace(front, side=side)}
    res, _ = sealed(tmp_path, WEBM, person, covered)
    pre = build_prereview(res.bag_dir)
    got = findings(pre)
    assert got["id_card_id_number_valid"] == "flag"
    assert got["id_card_id_number_matches_applicant"] == "flag"
    assert pre["verdict"] == "needs_attention"


def test_prereview_an_expired_card_and_a_missing_back(tmp_path, person, reads):
    later = TODAY.replace(year=TODAY.year + 40)
    res, _ = sealed(tmp_path, WEBM, person, reads, day=later)
    assert findings(build_prereview(res.bag_dir))["id_card_card_not_expired"] == "reject"
    res, _ = sealed(tmp_path / "front-only", WEBM, person, reads, sides=("front",))
    pre = build_prereview(res.bag_dir)
    assert findings(pre)["id_card_card_not_expired"] == "info"
    assert pre["id_card"]["back"] is None


def test_prereview_low_confidence_needs_a_human_never_a_pass(tmp_path, person, reads):
    res, _ = sealed(tmp_path, WEBM, person, reads)
    path = res.bag_dir / "data/id_card/card.json"
    card = json.loads(path.read_text(encoding="utf-8"))
    for c in card["checks"]:
        if c["name"] == "name_matches_applicant":
            c["status"], c["detail"] = "needs_human", "name was read with confidence 0.42"
    path.write_text(json.dumps(card), encoding="utf-8")
    pre = build_prereview(res.bag_dir)
    assert findings(pre)["id_card_name_matches_applicant"] == "flag"
    assert pre["verdict"] != "clear"
    path.write_text("{torn", encoding="utf-8")
    pre = build_prereview(res.bag_dir)
    assert any(f["code"] == "file_unreadable" for f in pre["findings"])
    assert pre["verdict"] != "clear"


def test_prereview_a_card_side_not_read_live_is_worded_for_a_card_not_an_answer():
    """#16 retest L-6: a card step whose back was not read said "answer on step id_card not
    verified by machine"; there is no answer in a card step."""
    from kiosk.review.prereview import RULES, Context

    ctx = Context()
    reason = ("back: none of the 3 best frames read as the card's back: they show the card's "
              "other side (it was not turned over in time)")
    RULES["step_result"]({"step": "id_card", "outcome": "unverified", "engine": "rapidocr",
                          "sides": [{"side": "front", "status": "read", "reason": None},
                                    {"side": "back", "status": "needs_human",
                                     "reason": reason[6:]}],
                          "reason": reason}, 55.3, ctx)
    (f,) = ctx.findings
    assert (f.severity, f.code, f.step) == ("flag", "unverified", "id_card")
    assert f.text == f"ID card on step id_card not read by machine at 00:55: {reason}"
    ctx = Context()
    RULES["step_result"]({"step": "consent", "outcome": "unverified"}, 12.0, ctx)
    assert ctx.findings[0].text == "answer on step consent not verified by machine at 00:12"
