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
