"""The join on one socket: a second join, even one racing the first, is refused before it
uses up its link (each Socket.IO event runs on its own thread)."""

from __future__ import annotations

import pytest

from kiosk.config import load_settings
from kiosk.services import LiveSessions
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir


@pytest.fixture()
def app(tmp_path):
    app = create_app(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=False, speech=False, socket_join_seconds=30))
    yield app
    app.extensions["kiosk"].shutdown()


def new_link(client) -> tuple[str, str]:
    r = client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": "110102199003078888"}, "flow_id": "quick"})
    assert r.status_code == 201, r.data
    body = r.get_json()
    return body["session_id"], body["investor_url"].rsplit("/", 1)[1]


def test_a_join_racing_the_first_on_the_same_socket_is_refused(app, monkeypatch):
    """The second join arrives while the first is between its checks and its registration
    (here: while the first link is being used up). Before, both passed the "already joined"
    check: two witnesses on one socket, the first orphaned and a second link wasted."""
    services = app.extensions["kiosk"]
    client = app.test_client()
    first_id, first = new_link(client)
    second_id, second = new_link(client)
    sock = app.extensions["socketio"].test_client(app, flask_test_client=client)
    consume = services.store.consume
    raced: list[bool] = []

    def consume_while_another_join_comes(token, **kwargs):
        if not raced:
            raced.append(True)
            sock.emit("join", {"token": second})  # the same socket, another thread in life
        return consume(token, **kwargs)

    monkeypatch.setattr(services.store, "consume", consume_while_another_join_comes)
    sock.emit("join", {"token": first})
    received = [(m["name"], m["args"][0]) for m in sock.get_received()]
    assert received[0] == ("error", {"code": "out_of_order", "message": "already joined"})
    assert [name for name, _ in received[1:]] == ["joined"]
    assert received[1][1]["session_id"] == first_id
    assert [r.id for r in services.live()] == [first_id]
    assert services.store.get(second_id).state == "created"  # its link is still unused
    assert services.sessions.load()[1] == 0  # no place left promised
    sock.emit("join", {"token": second})  # and after the join, as before
    assert [m["args"][0]["code"] for m in sock.get_received()] == ["out_of_order"]


def test_a_failed_join_leaves_the_socket_free_to_join_again(app):
    services = app.extensions["kiosk"]
    client = app.test_client()
    session_id, token = new_link(client)
    sock = app.extensions["socketio"].test_client(app, flask_test_client=client)
    sock.emit("join", {"token": "not-a-link"})
    assert [m["args"][0]["code"] for m in sock.get_received()] == ["link_invalid"]
    sock.emit("join", {"token": token})
    assert [m["name"] for m in sock.get_received()] == ["joined"]
    assert [r.id for r in services.live()] == [session_id]


def test_the_sid_claim_is_one_step():
    sessions = LiveSessions()
    assert sessions.claim("sid-1") and not sessions.claim("sid-1")
    assert sessions.claim("sid-2")
    sessions.unclaim("sid-1")
    assert sessions.claim("sid-1")
