"""ID card images through the back-office API: real OCR on synthetic cards rendered here,
masking checked by reading the kept image again, every refusal naming its field, and the
card worker's bound and priority."""

from __future__ import annotations

import io
import json
import os
import threading
from datetime import date

import numpy as np
import pytest
from PIL import Image

from kiosk.config import load_settings
from kiosk.idcard.worker import CardWorker, OcrBusy
from kiosk.testing.idcards import card_jpeg, make_person, photograph, render_back, render_front
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def person():
    return make_person(11, date.today())


@pytest.fixture(scope="module")
def images(person):
    front, back = render_front(person, 11), render_back(person, 11)
    return {"front": photograph(front, "clean", 1), "back": photograph(back, "clean", 2),
            "turned": card_jpeg(Image.open(io.BytesIO(photograph(front, "glare", 3)))
                                .rotate(180))}


@pytest.fixture()
def app(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data",
                             flows_dir=make_flows_dir(tmp_path / "flows"), api_keys=[API_KEY],
                             demo=True, link_ttl_seconds=60)
    app = create_app(settings)
    yield app
    app.extensions["kiosk"].shutdown()


@pytest.fixture()
def client(app):
    return app.test_client()


def create(client, person, id_type="prc_resident_id", id_number=None) -> str:
    r = client.post("/api/sessions", headers=KEY, json={
        "applicant": {"name": person.name, "id_type": id_type,
                      "id_number": id_number or person.id_number},
        "locale": "zh-CN", "flow_id": "quick"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["session_id"]


def put(client, sid, side, data, mime="image/jpeg", headers=KEY):
    return client.put(f"/api/sessions/{sid}/id-card/{side}", data=data,
                      headers={**headers, "Content-Type": mime})


def ocr_text(jpeg: bytes) -> str:
    from kiosk.idcard.ocr import shared_reader

    rgb = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    return "".join(b.text for b in shared_reader().read(rgb))


def test_both_sides_are_read_masked_and_checked(app, client, person, images):
    sid = create(client, person)
    r = put(client, sid, "front", images["front"])
    assert r.status_code == 200, r.get_json()
    r = put(client, sid, "back", images["back"])
    assert r.status_code == 200, r.get_json()
    card = r.get_json()
    checks = {c["name"]: c["status"] for c in card["checks"]}
    assert checks == {"id_number_valid": "pass", "id_number_matches_applicant": "pass",
                      "birth_date_matches_number": "pass", "sex_matches_number": "pass",
                      "name_matches_applicant": "pass", "card_not_expired": "pass",
                      "portrait_matches_face": "not_checked",
                      "card_portrait_matches_live_face": "needs_human",
                      "card_not_screen_photo": "pass",
                      "authority": "not_checked"}
    assert card["overall"] == "needs_human"  # no authority: never a fake pass
    live = {c["name"]: c for c in card["checks"]}["card_portrait_matches_live_face"]
    assert "not known yet" in live["detail"]  # the session's face analysis has not ended
    assert card["authority"]["result"]["detail"] == "not checked: human review"
    fields = card["front"]["fields"]
    assert fields["id_number"]["value"] == "*" * 14 + person.id_number[-4:]
    assert fields["address"]["value"] == "*" * len(person.address)
    assert fields["name"]["value"] == person.name and 0 < fields["name"]["confidence"] <= 1
    assert card["back"]["fields"]["validity"]["value"] == person.validity
    assert card["front"]["masked"] == ["id_number", "address"]
    folder = app.extensions["kiosk"].store.session_dir(sid) / "id_card"
    assert sorted(p.name for p in folder.iterdir()) == ["back.jpg", "card.json", "front.jpg",
                                                        "portrait.npy"]  # not sealed
    stored = (folder / "card.json").read_bytes()
    assert person.id_number.encode() not in stored
    assert person.address.encode() not in stored
    assert json.loads(stored)["checks"] == card["checks"]
    # The kept image, read again by the same OCR: no number, no address, the last 4 digits.
    text = ocr_text((folder / "front.jpg").read_bytes())
    assert person.id_number[:6] not in text and person.id_number[-8:-4] not in text
    assert person.address[-6:] not in text and "示例路" not in text
    assert person.id_number[-4:] in text and person.name in text


def test_an_upside_down_card_is_read_and_masked_the_right_way_round(app, client, person,
                                                                   images):
    sid = create(client, person)
    r = put(client, sid, "front", images["turned"])
    assert r.status_code == 200, r.get_json()
    card = r.get_json()
    assert card["front"]["upside_down"] is True
    assert {c["name"]: c["status"] for c in card["checks"]}["id_number_matches_applicant"] \
        == "pass"
    folder = app.extensions["kiosk"].store.session_dir(sid) / "id_card"
    text = ocr_text((folder / "front.jpg").read_bytes())
    assert person.id_number[:6] not in text and person.id_number[-8:-4] not in text
    assert person.id_number[-4:] in text


def exif_sideways(card_photo: bytes) -> bytes:
    """The photo as a phone keeps a portrait shot: pixels turned a quarter, EXIF Orientation 6
    (turn 90° clockwise to show)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.open(io.BytesIO(card_photo)).transpose(Image.Transpose.ROTATE_90).save(
        buf, format="JPEG", quality=92, exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize("turn", ["exif6", "rot90", "rot270"])
def test_a_sideways_card_is_read_upright_and_its_number_masked(app, client, person, images,
                                                               turn):
    photo = Image.open(io.BytesIO(images["front"]))
    data = {"exif6": lambda: exif_sideways(images["front"]),
            "rot90": lambda: card_jpeg(photo.rotate(90, expand=True)),
            "rot270": lambda: card_jpeg(photo.rotate(270, expand=True))}[turn]()
    sid = create(client, person)
    r = put(client, sid, "front", data)
    assert r.status_code == 200, r.get_json()
    card = r.get_json()
    checks = {c["name"]: c["status"] for c in card["checks"]}
    assert checks["id_number_matches_applicant"] == "pass"
    assert card["front"]["fields"]["address"]["value"] == "*" * len(person.address)
    folder = app.extensions["kiosk"].store.session_dir(sid) / "id_card"
    # Kept only when masked; then the kept image, read again, holds no number but its last 4.
    if card["front"]["image_withheld"] is None:
        kept = (folder / "front.jpg").read_bytes()
        w, h = Image.open(io.BytesIO(kept)).size
        assert w > h  # stored upright, as the card is read
        text = ocr_text(kept)
        assert person.id_number[:6] not in text and person.id_number[-8:-4] not in text
        assert person.address[-6:] not in text and person.id_number[-4:] in text
    else:
        assert not (folder / "front.jpg").exists()


def test_a_different_number_fails_its_check(client, person, images):
    from kiosk.identity.numbers import make_resident_id

    other = make_resident_id("110102", date(1990, 3, 7), 888)
    sid = create(client, person, id_number=other)
    card = put(client, sid, "front", images["front"]).get_json()
    got = {c["name"]: c for c in card["checks"]}
    assert got["id_number_matches_applicant"]["status"] == "fail"
    assert other not in json.dumps(card) and person.id_number not in json.dumps(card)
    assert card["overall"] == "fail"
    # Only the front was sent: the back's check says so.
    assert got["card_not_expired"] == {"name": "card_not_expired", "status": "not_checked",
                                       "detail": "the card's emblem side (back) was not sent"}


def test_refusals_name_the_field(app, client, person, images):
    from kiosk.testing.faces import face_photo
    from tests.test_id_photo import bomb_png

    sid = create(client, person)
    buf = io.BytesIO()
    Image.fromarray(face_photo("astronaut")).save(buf, format="JPEG")
    cases = [
        (put(client, sid, "front", buf.getvalue()), 422, "not_a_card", "front"),
        (put(client, sid, "front", images["back"]), 422, "wrong_side", "front"),
        (put(client, sid, "back", images["front"][: len(images["front"]) // 2]), 422,
         "id_card_unreadable", "back"),
        (put(client, sid, "front", images["front"] + b"\0" * 8_000_000), 413,
         "id_card_too_large", "front"),
        (put(client, sid, "back", bomb_png(9000), "image/png"), 413, "id_card_too_large",
         "back"),
        (put(client, sid, "front", images["front"], "text/plain"), 415,
         "unsupported_media_type", "front"),
    ]
    for r, status, code, side in cases:
        body = r.get_json()
        assert (r.status_code, body["error"], body.get("field")) == (status, code,
                                                          f"id_card.{side}"), body
    assert "9000x9000 pixels; the limit is 8192x8192" in cases[4][0].get_json()["message"]
    # Chunked, without a Content-Length: counted while read, refused past the cap.
    r = client.put(f"/api/sessions/{sid}/id-card/front", headers={**KEY, "Content-Type":
                                                                  "image/jpeg"},
                   input_stream=io.BytesIO(images["front"] + bytes(8_000_000)),
                   environ_overrides={"wsgi.input_terminated": True})
    assert (r.status_code, r.get_json()["field"]) == (413, "id_card.front")
    assert put(client, sid, "left", images["front"]).status_code == 404
    assert put(client, "nope", "front", images["front"]).status_code == 404
    assert put(client, sid, "front", images["front"], headers={}).status_code == 401
    assert not (app.extensions["kiosk"].store.session_dir(sid) / "id_card").exists()
    passport = create(client, person, id_type="prc_passport", id_number="E12345678")
    r = put(client, passport, "front", images["front"])
    assert (r.status_code, r.get_json()["error"]) == (422, "unsupported_document")
    app.extensions["kiosk"].store.end(sid, "aborted", "test")
    r = put(client, sid, "front", images["front"])
    assert (r.status_code, r.get_json()["error"]) == (409, "session_ended")


class Gate:
    """A reader whose read waits until the test opens the gate (the queue fills meanwhile)."""

    def __init__(self):
        self.open = threading.Event()

    def read(self, rgb):
        self.open.wait(10)
        return []


def test_the_worker_is_bounded_and_runs_at_low_priority():
    gate = Gate()
    worker = CardWorker(queue_size=2, reader_factory=lambda: gate)
    try:
        nice = worker.submit(lambda reader: os.getpriority(
            os.PRIO_PROCESS, threading.get_native_id())).result(10)
        assert nice == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)  # never less nice
        running = worker.submit(lambda reader: reader.read(None))
        while not running.running():
            threading.Event().wait(0.01)
        waiting = [worker.submit(lambda reader: 1) for _ in range(2)]
        with pytest.raises(OcrBusy):
            worker.submit(lambda reader: 1)
        gate.open.set()
        assert running.result(10) == [] and [w.result(10) for w in waiting] == [1, 1]
        failing = worker.submit(lambda reader: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            failing.result(10)
        assert worker.submit(lambda reader: "still alive").result(10) == "still alive"
    finally:
        gate.open.set()
        worker.close()


def test_the_portrait_is_compared_with_the_brokers_id_photo(client, person, images):
    import base64

    from kiosk.testing.faces import face_photo

    buf = io.BytesIO()
    Image.fromarray(face_photo(person.face)).save(buf, format="JPEG", quality=85)
    r = client.post("/api/sessions", headers=KEY, json={
        "applicant": {"name": person.name, "id_number": person.id_number,
                      "id_photo": base64.b64encode(buf.getvalue()).decode()},
        "locale": "zh-CN", "flow_id": "quick"})
    sid = r.get_json()["session_id"]
    card = put(client, sid, "front", images["front"]).get_json()
    got = {c["name"]: c for c in card["checks"]}["portrait_matches_face"]
    assert got["status"] == "pass", got
    assert got["detail"].endswith("(the card's portrait against the broker's ID photo)")
