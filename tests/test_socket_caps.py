"""Unauthenticated Socket.IO connections are capped per address and in total, refused with a
clear message, and dropped when they do not join in time (issue #13, item 13)."""

from __future__ import annotations

import time

import pytest

from kiosk.config import load_settings
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir


@pytest.fixture()
def make_app(tmp_path):
    apps = []

    def make(**settings):
        app = create_app(load_settings(
            data_dir=tmp_path / f"data{len(apps)}", flows_dir=make_flows_dir(tmp_path / "flows"),
            api_keys=[API_KEY], liveness=False, speech=False, **settings))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["kiosk"].shutdown()


def _client_from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def connect(app, address="198.51.100.7"):
    return app.extensions["socketio"].test_client(app, flask_test_client=_client_from(app, address))


def test_one_address_gets_at_most_its_share_and_is_told_why(make_app):
    app = make_app(socket_max_per_address=3, socket_join_seconds=30)
    first = [connect(app) for _ in range(3)]
    assert all(s.is_connected() for s in first)
    fourth = connect(app)
    assert not fourth.is_connected()
    # Another address is still welcome; a freed place can be taken again.
    assert connect(app, "203.0.113.5").is_connected()
    first[0].disconnect()
    assert connect(app).is_connected()


def test_the_total_is_capped_too(make_app):
    app = make_app(socket_max_connections=4, socket_max_per_address=100, socket_join_seconds=30)
    socks = [connect(app, f"198.51.100.{i}") for i in range(4)]
    assert all(s.is_connected() for s in socks)
    assert not connect(app, "198.51.100.99").is_connected()


def test_the_refusal_names_the_reason():
    from kiosk.web.connections import ConnectionGate

    gate = ConnectionGate(max_total=2, max_per_address=1, join_seconds=30,
                          disconnect=lambda sid: None)
    assert gate.admit("a", "198.51.100.7") is None
    assert gate.admit("b", "198.51.100.7") == (
        "too many connections from your network; please try again in a minute")
    assert gate.admit("c", "203.0.113.5") is None
    assert gate.admit("d", "203.0.113.6") == (
        "the witness service is busy; please try again in a minute")
    gate.gone("a")
    gate.gone("a")  # twice is harmless
    assert gate.open_count() == 1 and gate.admit("e", "198.51.100.7") is None


def test_a_socket_that_does_not_join_is_disconnected(make_app):
    app = make_app(socket_join_seconds=0.6)
    idle = connect(app)
    assert idle.is_connected()
    deadline = time.monotonic() + 5
    while idle.is_connected() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not idle.is_connected()
    # Its place is free again.
    assert connect(app).is_connected()


def _joined_socket(app):
    """A socket that created a session and joined it (its first message is ``joined``)."""
    client = _client_from(app, "198.51.100.7")
    r = client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": "110102199003078888"}, "flow_id": "quick"})
    token = r.get_json()["investor_url"].rsplit("/", 1)[1]
    sock = app.extensions["socketio"].test_client(app, flask_test_client=client)
    sock.emit("join", {"token": token})
    assert [m["name"] for m in sock.get_received()][:1] == ["joined"]
    return sock


def test_a_joined_socket_stays_past_the_deadline(make_app):
    sock = _joined_socket(make_app(socket_join_seconds=0.6))
    time.sleep(1.5)
    assert sock.is_connected()
    sock.disconnect()


def test_a_join_that_came_in_time_is_not_cut_while_it_is_handled(make_app, monkeypatch):
    """A loaded server once took longer than the join deadline to handle a join (the link,
    the flow, the witness): the sweeper cut the socket of an investor who came in time."""
    import kiosk.web.events as events

    slow = events.session_flow

    def slow_flow(*a, **kw):
        time.sleep(1.2)  # twice the deadline: the join is still being handled when it passes
        return slow(*a, **kw)

    monkeypatch.setattr(events, "session_flow", slow_flow)
    sock = _joined_socket(make_app(socket_join_seconds=0.6))
    time.sleep(1.0)
    assert sock.is_connected()
    sock.disconnect()


def test_a_failed_join_leaves_the_deadline_in_force():
    from kiosk.web.connections import ConnectionGate

    now = [0.0]
    dropped: list[str] = []
    gate = ConnectionGate(max_total=4, max_per_address=4, join_seconds=0.4,
                          disconnect=dropped.append, clock=lambda: now[0])
    assert gate.admit("a", "198.51.100.7") is None and gate.admit("b", "198.51.100.8") is None
    gate.join_started("a")
    now[0] = 1.0  # both deadlines passed: b sent nothing, a's join is being handled
    for _ in range(200):
        if dropped:
            break
        time.sleep(0.02)
    time.sleep(0.3)  # a few more sweeps
    assert dropped == ["b"]
    gate.join_ended("a")  # the join failed (a bad link): its deadline applies again
    for _ in range(200):
        if "a" in dropped:
            break
        time.sleep(0.02)
    assert dropped == ["b", "a"]
