"""The auditor console's ID card view, end to end: the broker sends the card through the API
(real OCR on a synthetic card rendered here), the session ends and is sealed, an auditor opens
the case and sees both sides masked beside the key frames with every check; each access to a
card image is in the audit log."""

from __future__ import annotations

import io
from datetime import date
from types import SimpleNamespace

import pytest
from PIL import Image

from kiosk.config import load_settings
from kiosk.liveness.identity import shared_describer
from kiosk.liveness.live_face import write_live_face
from kiosk.review.accounts import add_user
from kiosk.review.console import register
from kiosk.testing.faces import face_rig
from kiosk.testing.idcards import make_person, photograph, render_back, render_front
from kiosk.web.app import create_app
from kiosk.witness.finalise import session_meta, write_session_meta
from tests.kiosk_server import API_KEY, make_flows_dir
from tests.test_review import PW, Clock, login

KEY = {"X-API-Key": API_KEY}


@pytest.fixture()
def app(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data",
                             flows_dir=make_flows_dir(tmp_path / "flows"), api_keys=[API_KEY],
                             demo=True)
    app = create_app(settings)
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0}, clock=Clock())
    store = app.extensions["kiosk"].store
    add_user(store, "alice", PW, "auditor", languages="zh-CN,en")
    add_user(store, "bob", PW, "auditor", languages="zh-CN,en")
    yield app
    app.extensions["kiosk"].shutdown()


def test_the_case_page_shows_the_masked_card_and_its_checks(app):
    person = make_person(31, date.today())
    c = app.test_client()
    r = c.post("/api/sessions", headers=KEY, json={
        "applicant": {"name": person.name, "id_number": person.id_number},
        "locale": "zh-CN", "flow_id": "quick"})
    sid = r.get_json()["session_id"]
    for side, card in (("front", render_front(person, 31)), ("back", render_back(person, 31))):
        r = c.put(f"/api/sessions/{sid}/id-card/{side}", data=photograph(card, "clean", 4),
                  headers={**KEY, "Content-Type": "image/jpeg"})
        assert r.status_code == 200, r.get_json()
    kiosk = app.extensions["kiosk"]
    row = kiosk.store.get(sid)
    flow = SimpleNamespace(id=row.flow_id, version=row.flow_version, content_hash=row.flow_hash,
                           retention_years=20, priority="normal")
    # What the runner writes when a witness ends (the witness itself is not what this tests).
    write_session_meta(kiosk.store.session_dir(sid),
                       session_meta(row, flow, [], kiosk.settings.id_mask),
                       state="finished", end_reason="completed")
    kiosk.store.end(sid, "finished", "completed")
    # The live face as the face observer keeps it at the end of the witness: the holder's.
    live = shared_describer().descriptor(face_rig(person.face).image, require_detection=True)
    write_live_face(kiosk.store.session_dir(sid), live, 0.6, 5)
    kiosk.seal(sid)
    assert kiosk.store.get(sid).sealed_at is not None
    app.extensions["review"].poll()

    alice = login(app, "alice")
    page = alice.get(f"/review/cases/{sid}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for testid in ("id-card", "id-card-front", "id-card-back", "id-card-checks"):
        assert f'data-testid="{testid}"' in html, testid
    for name in ("id_number_matches_applicant", "name_matches_applicant", "card_not_expired",
                 "authority", "not checked: human review", "card_portrait_matches_live_face",
                 "between the card&#39;s portrait and the live face (same person at 0.6 or less)"):
        assert name in html, name
    row = html[html.index("card_portrait_matches_live_face"):]
    assert row.index("rv-ic-pass") < row.index("</tr>")  # settled when sealed: a pass
    assert person.id_number not in html and person.address not in html
    assert "*" * 14 + person.id_number[-4:] in html

    img = alice.get(f"/review/cases/{sid}/id-card/front.jpg")
    assert img.status_code == 200 and img.mimetype == "image/jpeg"
    assert "no-store" in img.headers["Cache-Control"]
    bag = app.extensions["review"].bag_dir(sid)
    assert img.data == (bag / "data/id_card/front.jpg").read_bytes()
    assert Image.open(io.BytesIO(img.data)).size[0] > 0
    assert alice.get(f"/review/cases/{sid}/id-card/left.jpg").status_code == 404
    # Another auditor, while alice holds the case: refused and not logged as a view.
    assert login(app, "bob").get(f"/review/cases/{sid}/id-card/back.jpg").status_code in (
        403, 423)
    views = [e for e in app.extensions["review"].audit_log(sid) if e["action"] == "view_id_card"]
    assert [(e["user"], e["detail"]) for e in views] == [("alice", {"side": "front"})]
    assert person.id_number not in str(app.extensions["review"].audit_log())


def test_the_case_page_shows_what_the_live_capture_picked_per_side(app):
    """A card shown on camera (the id_document step): the front read from its best frame, the
    back never usable. The console shows per side the result, the frames analysed and usable,
    the hints the investor got and the best frames' scores, and says the back was shown but
    not read (not "not sent")."""
    from kiosk.witness.id_card import record_capture

    person = make_person(32, date.today())
    c = app.test_client()
    r = c.post("/api/sessions", headers=KEY, json={
        "applicant": {"name": person.name, "id_number": person.id_number},
        "locale": "zh-CN", "flow_id": "quick"})
    sid = r.get_json()["session_id"]
    r = c.put(f"/api/sessions/{sid}/id-card/front", data=photograph(render_front(person, 32),
                                                                   "clean", 4),
              headers={**KEY, "Content-Type": "image/jpeg"})
    assert r.status_code == 200, r.get_json()
    kiosk = app.extensions["kiosk"]
    folder = kiosk.store.session_dir(sid)
    best = [{"t": 21.25, "found": True, "in_view": True, "area_share": 0.34,
             "sharpness": 2237.2, "glare": 0.0, "motion": 0.0064},
            {"t": 22.5, "found": True, "in_view": True, "area_share": 0.35,
             "sharpness": 2101.0, "glare": 0.004, "motion": 0.0047}]
    record_capture(folder, "front", "read", {
        "step": "id_card", "window": [18.0, 32.0], "frame_rank": 1,
        "frames": {"frames_seen": 47, "frames_usable": 30,
                   "hints": {"card_closer": 9, "card_corners": 5, "none": 30}, "best": best}})
    reason = "no usable frame in 41 analysed: glare covered the card"
    record_capture(folder, "back", "needs_human", {
        "step": "id_card", "window": [25.0, 32.0],
        "frames": {"frames_seen": 41, "frames_usable": 0, "hints": {"card_glare": 41},
                   "best": []}}, reason=reason)
    row = kiosk.store.get(sid)
    flow = SimpleNamespace(id=row.flow_id, version=row.flow_version, content_hash=row.flow_hash,
                           retention_years=20, priority="normal")
    write_session_meta(folder, session_meta(row, flow, [], kiosk.settings.id_mask),
                       state="finished", end_reason="completed")
    kiosk.store.end(sid, "finished", "completed")
    kiosk.seal(sid)
    app.extensions["review"].poll()

    html = login(app, "alice").get(f"/review/cases/{sid}").get_data(as_text=True)
    assert 'data-testid="id-card-capture"' in html
    front = html[html.index('data-testid="id-card-capture-front"'):]
    front = front[:front.index("</tr>")]
    assert "read</span> from best frame #2" in front
    assert "30 usable of 47 analysed" in front
    assert "closer &times;9, corners &times;5, fine &times;30" in front
    assert "21.2 s: 2237, 34%, 0.0%; 22.5 s: 2101, 35%, 0.4%" in front
    back = html[html.index('data-testid="id-card-capture-back"'):]
    back = back[:back.index("</tr>")]
    assert "needs human" in back and reason in back and "none usable" in back
    assert "glare &times;41" in back
    assert f"The card's back was shown on camera but not read: {reason}." in html
    assert "The card's back was not sent." not in html
