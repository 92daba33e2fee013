"""The live ``id_document`` step in a real browser: Debian's chromium, headless, shows a
synthetic ID card through its fake camera (a Y4M made at test time), the real investor page
sends it over WebRTC, and the server picks the frames and reads them (real RapidOCR).

The fake camera loops one file. Chromium reads each Y4M frame from the file as it plays it
(it does not load the file at start), so the test turns the card over the way an investor
does, when the page is told to show the other side: it writes the back's clip over the
front's, byte for byte, in the same file.
"""

from __future__ import annotations

import json
import threading
from datetime import date
from pathlib import Path

import pytest

from kiosk.testing.idcards import held_card_clip, make_person, render_back, render_front
from kiosk.testing.streams import write_y4m
from kiosk.timeline import read_timeline
from tests.browser import browser, start_witness, wait_phase, watch
from tests.kiosk_server import KioskServer, make_flows_dir

pytestmark = pytest.mark.browser
pytest.importorskip("rapidocr_onnxruntime")

SIDE_SECONDS = 7
CARD_FLOW = f"""\
id: card_browser
version: 1
title: {{zh-CN: 身份证, en: ID card}}
locales: [zh-CN, en]
steps:
  - id: id_card
    kind: id_document
    seconds: {SIDE_SECONDS}
"""


class SocketEvents:
    """The Socket.IO events the server sent the page, read off the page's WebSocket."""

    def __init__(self, page, on_event=None) -> None:
        self.events: list[tuple[str, object]] = []
        self._on_event = on_event
        self._lock = threading.Lock()
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if not isinstance(payload, str) or not payload.startswith("42"):
            return  # engine.io pings, binary frames
        body = payload[2:]
        body = body[body.index("["):] if "[" in body else body  # a namespace prefix
        try:
            name, *args = json.loads(body)
        except (ValueError, TypeError):
            return
        data = args[0] if args else None
        with self._lock:
            self.events.append((name, data))
        if self._on_event:
            self._on_event(name, data)

    def of(self, name: str) -> list:
        with self._lock:
            return [d for n, d in self.events if n == name]


def test_a_card_held_to_chromiums_camera_is_read_side_by_side(tmp_path, tone_audio, artifacts):
    person = make_person(33, today=date.today())
    front = write_y4m(tmp_path / "card.y4m", held_card_clip(render_front(person), 6.0, seed=1))
    back = write_y4m(tmp_path / "back.y4m", held_card_clip(render_back(person), 6.0, seed=2))
    assert front.stat().st_size == back.stat().st_size
    turned = threading.Event()

    def turn_card(name: str, data) -> None:
        if name == "card_side" and data.get("side") == "back" and not turned.is_set():
            with open(front, "r+b") as fh:  # in place: chromium keeps the file open
                fh.write(back.read_bytes())
            turned.set()

    flows = make_flows_dir(tmp_path / "flows")
    (flows / "card_browser.yaml").write_text(CARD_FLOW, encoding="utf-8")
    server = KioskServer(tmp_path / "data", flows_dir=flows).start()
    try:
        created = server.create(flow="card_browser", name=person.name,
                                id_number=person.id_number)
        sid = created["session_id"]
        with browser(tmp_path, front, tone_audio) as b:
            page = b.new_page(viewport={"width": 1280, "height": 800})
            seen = watch(page)
            sent = SocketEvents(page, turn_card)
            start_witness(page, created["investor_url"])
            wait_phase(page, "witness", 30000)
            page.wait_for_function(
                "() => document.getElementById('witness-frame').classList.contains('is-card')",
                timeout=60000)
            page.wait_for_function(
                "() => document.getElementById('frame-hint').textContent.length > 0",
                timeout=30000)
            page.screenshot(path=str(artifacts / "investor-id-card-live.png"))
            assert wait_phase(page, ["done", "ended", "error"], 180000) == "done", \
                page.evaluate("() => window.kiosk")
            assert seen.problems() == {}
        info = server.wait_ended(sid, timeout=60)
        assert (info["state"], info["end_reason"]) == ("finished", "completed"), info
        server.verify_sealed(sid)
        session_dir = server.session_dir(sid)
        events = read_timeline(session_dir / "timeline.jsonl")
        card = json.loads((session_dir / "id_card" / "card.json").read_text(encoding="utf-8"))
    finally:
        server.stop()

    # What was seen per side, for the record (frames, hints, the best scores).
    (artifacts / "id-card-live-capture.json").write_text(
        json.dumps({"capture": card["capture"], "sent": sent.events[-60:]}, ensure_ascii=False,
                   indent=1), encoding="utf-8")
    assert turned.is_set()
    sides = [(s["side"], s["index"], s["total"]) for s in sent.of("card_side")]
    assert sides == [("front", 0, 2), ("back", 1, 2)], sides
    hints = {h["code"] for h in sent.of("hint") if h and h.get("code")}
    # The clip brings the card in too far away, then with a corner out of the frame, then
    # jumps into place: each gets its hint, on each side.
    assert {"card_closer", "card_corners"} <= hints, hints

    assert card["front"]["source"] == card["back"]["source"] == "live", card
    fields = {k: v["value"] for k, v in card["front"]["fields"].items()}
    assert fields["name"] == person.name, fields
    assert fields["sex"] == person.sex and fields["nation"] == person.nation, fields
    number = fields["id_number"]
    assert number.endswith(person.id_number[-4:]) and person.id_number not in number  # masked
    back_fields = {k: v["value"] for k, v in card["back"]["fields"].items()}
    assert back_fields["authority"] == person.authority, back_fields
    assert back_fields["validity"] == person.validity, back_fields
    checks = {c["name"]: c["status"] for c in card["checks"]}
    for name in ("id_number_valid", "id_number_matches_applicant", "birth_date_matches_number",
                 "sex_matches_number", "name_matches_applicant", "card_not_expired",
                 "card_not_screen_photo"):
        assert checks[name] == "pass", (name, checks)
    for side in ("front", "back"):
        capture = card["capture"][side]
        assert capture["status"] == "read", capture
        # The pale card over-exposed in Chromium's video may read as "glare" on the portrait
        # side (docs/identity.md): then its least-glare frames are the ones read.
        assert capture["frames"]["best"] and (capture["frames"]["frames_usable"] >= 1
                                              or capture["frames"]["glare_only"]), capture
        assert {"card_closer", "card_corners"} <= set(capture["frames"]["hints"]), capture
    captured = [(e["data"]["side"], e["data"]["status"]) for e in events
                if e["type"] == "id_card_captured"]
    assert captured == [("front", "read"), ("back", "read")], captured
    result = next(e["data"] for e in events if e["type"] == "step_result")
    assert result["outcome"] == "pass", result
    assert Path(session_dir / "id_card" / "front.jpg").is_file()
