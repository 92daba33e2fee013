"""A photo of a screen showing the card (kiosk.idcard.recapture): synthetic screen photos made
at test time (kiosk.testing.idcards.photograph_screen: subpixel stripes, gamma, bezel,
sampled without an anti-aliasing filter) are sent to a human; genuine card photos with blur,
glare, JPEG, low light, tilt or a thumb over them are not. Tuned on these renders only."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from kiosk.idcard.reader import CardLimits, decode_card_image
from kiosk.idcard.recapture import CHROMA_RATIO_LIMIT, screen_signs
from kiosk.testing.idcards import (
    DISTORTIONS,
    make_person,
    photograph,
    photograph_screen,
    render_back,
    render_front,
)
from kiosk.witness.id_card import SCREEN_CHECK, load_card, screen_check


def _rgb(data: bytes) -> np.ndarray:
    return decode_card_image(data, "id_card.front", CardLimits())


@pytest.fixture(scope="module")
def cards():
    person = make_person(41)
    return {"front": render_front(person), "back": render_back(person)}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("side", ["front", "back"])
def test_a_photo_of_a_screen_shows_colour_moire(cards, side, seed):
    signs = screen_signs(_rgb(photograph_screen(cards[side], seed=seed)))
    assert signs.judged and signs.screen, signs
    assert signs.chroma_ratio > 2 * CHROMA_RATIO_LIMIT, signs


@pytest.mark.parametrize("distortion", DISTORTIONS)
@pytest.mark.parametrize("side", ["front", "back"])
def test_a_genuine_card_photo_is_not_a_screen_blur_and_glare_included(cards, side, distortion):
    signs = screen_signs(_rgb(photograph(cards[side], distortion, seed=5)))
    assert signs.judged and not signs.screen, (distortion, signs)
    assert signs.chroma_ratio < CHROMA_RATIO_LIMIT / 2, (distortion, signs)


def test_bad_input_and_a_small_image():
    with pytest.raises(ValueError,
                       match=r"expected an RGB image \(H, W, 3\), got shape \(10, 10\)"):
        screen_signs(np.zeros((10, 10), np.uint8))
    small = screen_signs(np.zeros((120, 160, 3), np.uint8))
    assert not small.judged and not small.screen
    assert small.to_dict() == {"chroma_ratio": 0.0, "limit": CHROMA_RATIO_LIMIT,
                               "judged": False, "screen": False}


def _side(screen: dict | None) -> dict:
    return {"fields": {}, "checks": [], "screen": screen}


def test_the_check_needs_a_human_for_a_screen_and_never_passes_an_unjudged_side():
    clean = {"chroma_ratio": 0.04, "limit": CHROMA_RATIO_LIMIT, "judged": True,
             "screen": False}
    hit = {"chroma_ratio": 3.2, "limit": CHROMA_RATIO_LIMIT, "judged": True, "screen": True}
    r = screen_check({"front": _side(clean), "back": _side(hit)})
    assert (r.name, r.status) == (SCREEN_CHECK, "needs_human")
    assert r.detail.startswith("the back image looks like a photo of a screen: colour moiré "
                               "3.20 of the fine detail (limit 0.25)")
    r = screen_check({"front": _side(clean), "back": _side(clean)})
    assert r.status == "pass" and "tuned on synthetic renders" in r.detail
    small = dict(clean, judged=False)
    assert screen_check({"front": _side(small), "back": None}).status == "needs_human"
    old = screen_check({"front": _side(None), "back": None})  # read before the check existed
    assert old.status == "needs_human" and "before this check existed" in old.detail
    assert screen_check({"front": None, "back": None}).status == "not_checked"


def test_a_screen_photo_sent_as_the_back_is_kept_with_the_check_for_a_human(tmp_path):
    pytest.importorskip("rapidocr_onnxruntime")
    from kiosk.idcard.ocr import shared_reader
    from kiosk.witness.id_card import read_job, record_side

    person = make_person(42, today=date.today())
    data = photograph_screen(render_back(person), seed=1)
    read = read_job(data, "back", mask="keep_last4", limits=CardLimits())(shared_reader())
    assert read.extra["screen"]["screen"] is True
    record_side(tmp_path, read, {"name": person.name, "id_number": person.id_number},
                mask="keep_last4", day=date.today(), source="api")
    card = load_card(tmp_path)
    assert card is not None and card["back"]["screen"]["screen"] is True
    check = next(c for c in card["checks"] if c["name"] == SCREEN_CHECK)
    assert check["status"] == "needs_human" and "the back image" in check["detail"], check
    assert card["overall"] != "pass"
    json.dumps(card)  # JSON-ready


def test_the_cli_prints_the_screen_check_and_sends_a_screen_photo_to_a_human(tmp_path):
    """``kiosk idcard read`` runs the same screen check as a witness's card: a photo of a
    screen given as the back makes ``card_not_screen_photo`` needs_human, and so the card."""
    pytest.importorskip("rapidocr_onnxruntime")
    from click.testing import CliRunner

    from kiosk.cli import main

    person = make_person(42, today=date.today())
    front, back = tmp_path / "front.jpg", tmp_path / "back.jpg"
    front.write_bytes(photograph(render_front(person), "clean", 1))
    back.write_bytes(photograph_screen(render_back(person), seed=1))
    r = CliRunner().invoke(main, ["idcard", "read", str(front), "--back", str(back), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["screen"]["back"]["screen"] is True and out["screen"]["front"]["screen"] is False
    check = next(c for c in out["checks"] if c["name"] == SCREEN_CHECK)
    assert check["status"] == "needs_human" and "the back image" in check["detail"], check
    assert out["overall"] == "needs_human"
    r = CliRunner().invoke(main, ["idcard", "read", str(front)])  # the text form prints it too
    assert r.exit_code == 0, r.output
    assert f"pass         {SCREEN_CHECK}: no colour moiré on the front image" in r.output
