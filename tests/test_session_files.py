"""What a witness leaves on disk: masked ID number, private modes, no server paths.

Runs real witnesses in-process (Flask test client + Socket.IO test client, real SQLite, real
sealing) that the investor cancels, then reads every byte the server left in its data folder.
"""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kiosk.config import load_settings
from kiosk.timeline import MediaClock, TimelineWriter, read_timeline
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir

ID_NUMBER = "110102199003078888"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture()
def app(tmp_path):
    settings = load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], link_ttl_seconds=60, liveness=False, speech=False)
    app = create_app(settings)
    yield app
    app.extensions["kiosk"].shutdown()


def run_witness(app, before_cancel=None) -> tuple[str, Path]:
    """Create a witness (with an ID photo), join it, cancel it; wait until it is sealed."""
    client = app.test_client()
    r = client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": ID_NUMBER,
                      "id_photo": base64.b64encode(_jpeg()).decode()},
        "locale": "zh-CN", "flow_id": "quick"})
    assert r.status_code == 201, r.data
    sid = r.get_json()["session_id"]
    k = app.extensions["kiosk"]
    sock = app.extensions["socketio"].test_client(app, flask_test_client=client)
    sock.emit("join", {"token": r.get_json()["investor_url"].rsplit("/", 1)[1]})
    sock.get_received()
    controller = k.live()[0]
    folder = k.store.session_dir(sid)
    if before_cancel is not None:
        before_cancel(folder)
    sock.emit("cancel", {})
    assert controller.finalised.wait(20)
    deadline = time.monotonic() + 20
    while k.store.get(sid).sealed_at is None:
        assert time.monotonic() < deadline, "the session was not sealed"
        time.sleep(0.1)
    sock.disconnect()
    return sid, folder


# -- #13.10: the full ID number ---------------------------------------------------------------

def test_session_json_holds_the_masked_id_number_while_live(app):
    seen = {}

    def peek(folder):
        seen["meta"] = json.loads((folder / "session.json").read_text(encoding="utf-8"))

    run_witness(app, peek)
    assert seen["meta"]["applicant"]["id_number"] == "*" * 14 + "8888"
    assert ID_NUMBER not in json.dumps(seen["meta"])


def test_no_full_id_number_is_left_anywhere_in_the_data_folder_after_sealing(app):
    sid, _ = run_witness(app)
    k = app.extensions["kiosk"]
    assert k.store.get(sid).applicant["id_number"] == "*" * 14 + "8888"
    found = []
    for p in k.settings.data_dir.rglob("*"):
        if p.is_file() and ID_NUMBER.encode() in p.read_bytes():
            found.append(str(p.relative_to(k.settings.data_dir)))
    assert found == [], f"the full ID number is still in {found}"
    sealed = k.settings.data_dir / "evidence" / sid / "data" / "applicant.json"
    assert json.loads(sealed.read_text(encoding="utf-8"))["id_number"].endswith("8888")


# -- #13.18: private modes ----------------------------------------------------------------------

def _loose(data_dir: Path, paths) -> list[str]:
    loose = []
    for p in paths:
        try:
            mode = stat.S_IMODE(os.lstat(p).st_mode)
        except FileNotFoundError:
            continue  # a writer's temporary file, renamed into place while the tree was read
        if mode & 0o077:
            loose.append(f"{p.relative_to(data_dir)} {oct(mode)}")
    return loose


def test_the_data_folder_the_server_creates_is_private(app):
    """Explicit modes: folders 0700, files 0600, whatever the process umask (022 here)."""
    run_witness(app)
    data_dir = app.extensions["kiosk"].settings.data_dir
    loose = []
    # The guide's voice cache is private through the server's umask (next test), not here.
    for p in [data_dir, *(p for p in data_dir.rglob("*") if p.parts[len(data_dir.parts)]
                          != "tts-cache")]:
        mode = stat.S_IMODE(os.lstat(p).st_mode)
        if mode & 0o077:
            loose.append(f"{p.relative_to(data_dir)} {oct(mode)}")
    assert loose == [], loose
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "kiosk.sqlite3").stat().st_mode) == 0o600


def test_kiosk_serve_creates_everything_private(kiosk_server):
    """The real server (umask 077 at serve start): every folder and file of a sealed witness,
    the guide's voice cache included."""
    import socketio

    created = kiosk_server.create(flow="quick")
    client = socketio.Client(reconnection=False)
    got = []
    client.on("*", lambda event, data=None: got.append(event))
    client.connect(kiosk_server.url, transports=["websocket"], wait_timeout=10)
    client.emit("join", {"token": created["investor_url"].rsplit("/", 1)[1]})
    deadline = time.monotonic() + 10
    while "joined" not in got and time.monotonic() < deadline:
        time.sleep(0.1)
    client.emit("cancel", {})
    kiosk_server.wait_ended(created["session_id"])
    kiosk_server.verify_sealed(created["session_id"])
    client.disconnect()
    data_dir = kiosk_server.data_dir
    assert _loose(data_dir, data_dir.rglob("*")) == []
    assert (data_dir / "evidence" / f"{created['session_id']}.tar").is_file()


# -- #13.19: no absolute server paths -----------------------------------------------------------

def test_recorded_reasons_and_the_api_name_files_relative_to_the_session_folder(app):
    def broken_recording(folder):
        (folder / "recording.mkv").write_bytes(b"not a matroska file")

    sid, folder = run_witness(app, broken_recording)
    data_dir = str(app.extensions["kiosk"].settings.data_dir)
    events = read_timeline(folder / "timeline.jsonl")
    missing = [e for e in events if e["type"] == "recording_missing"]
    assert missing and "recording.mkv" in missing[0]["data"]["reason"]
    leaked = [e["type"] for e in events if data_dir in json.dumps(e, ensure_ascii=False)]
    assert leaked == [], leaked
    (folder / "recording.webm").write_bytes(b"\x1a\x45\xdf\xa3")
    r = app.test_client().get(f"/api/sessions/{sid}", headers={"X-API-Key": API_KEY})
    assert r.get_json()["recording"] == "recording.webm"
    assert data_dir not in r.get_data(as_text=True)
    sealed = app.extensions["kiosk"].settings.data_dir / "evidence" / sid
    assert all(data_dir.encode() not in p.read_bytes() for p in sealed.rglob("*") if p.is_file())


def test_an_exception_message_with_a_session_path_is_recorded_relative(tmp_path):
    folder = tmp_path / "sessions" / "abc"
    folder.mkdir(parents=True)
    tw = TimelineWriter(folder / "timeline.jsonl", MediaClock())
    ev = tw.append("id_photo_unusable", {
        "reason": f"ValueError: {folder}/id_photo.png: not a readable image",
        "nested": [{"file": str(folder.resolve() / "checks" / "x.json")}, str(folder)]})
    tw.close()
    assert ev["data"]["reason"] == "ValueError: id_photo.png: not a readable image"
    assert ev["data"]["nested"] == [{"file": "checks/x.json"}, "."]
    assert str(tmp_path) not in (folder / "timeline.jsonl").read_text(encoding="utf-8")
    cut = f"live recording {folder}/recording.mkv is bad: '{folder}/recording.mkv'"[:60]
    assert str(tmp_path)[:10] in cut
    assert tw_append(folder, cut).endswith("…") and "/tmp" not in tw_append(folder, cut)


def tw_append(folder: Path, reason: str) -> str:
    tw = TimelineWriter(folder / "timeline.jsonl", MediaClock())
    try:
        return tw.append("recording_missing", {"reason": reason})["data"]["reason"]
    finally:
        tw.close()


def test_a_link_that_expired_unused_keeps_no_full_id_number(tmp_path):
    """#13 retest: sessions never joined kept the full ID number in the database for ever
    (only sealing masked it). Once the link has expired unused, no witness will need it."""
    import datetime as dt
    import types

    from kiosk.config import load_settings
    from kiosk.migrations import open_store
    from kiosk.store import utcnow

    settings = load_settings(data_dir=tmp_path / "data")
    store = open_store(settings.db_url, settings.sessions_dir)
    flow = types.SimpleNamespace(id="securities_account_opening", version=1,
                                 content_hash="0" * 64)
    number = "110102199003078888"
    rows = [store.create(flow=flow, locale="zh-CN", ttl_seconds=600,
                         applicant={"name": "张三", "id_number": number})[0] for _ in range(3)]
    expired, joined, fresh = (r.id for r in rows)
    past = utcnow() - dt.timedelta(minutes=1)
    store.set(expired, expires_at=past)
    store.set(joined, expires_at=past, state="active", joined_at=utcnow())
    assert store.forget_expired_id_numbers("keep_last4") == 1
    assert store.get(expired).applicant["id_number"] == "**************8888"
    assert store.get(joined).applicant["id_number"] == number  # its witness still runs
    assert store.get(fresh).applicant["id_number"] == number  # its link is still good
    assert store.forget_expired_id_numbers("keep_last4") == 0  # once
    assert store.forget_expired_id_numbers("none") == 0  # the operator keeps numbers
