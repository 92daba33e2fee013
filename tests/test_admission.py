"""Admission control (issue #17, item 9): a node starts no witness beyond its capacity; the
investor is told the wait, and the link stays unused for a later try."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import pytest

from kiosk.config import load_settings
from kiosk.services import LiveSessions
from kiosk.web.app import create_app
from kiosk.witness.admission import (
    MIN_WAIT_S,
    RETRY_JITTER,
    estimated_wait,
    node_capacity,
    retry_after,
)
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


def _link(app) -> str:
    r = app.test_client().post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": "110102199003078888"}, "flow_id": "quick"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["investor_url"].rsplit("/", 1)[1]


def _join(app, token):
    sock = app.extensions["socketio"].test_client(app)
    sock.emit("join", {"token": token})
    return sock, sock.get_received()


def test_capacity_is_the_setting_or_witnesses_per_core_times_the_cores(tmp_path):
    s = load_settings(data_dir=tmp_path, node_capacity=5)
    assert node_capacity(s, cpu_count=2) == 5
    s = load_settings(data_dir=tmp_path, witnesses_per_core=3.5)
    assert node_capacity(s, cpu_count=2) == 7
    assert node_capacity(s, cpu_count=1) == 3
    assert node_capacity(load_settings(data_dir=tmp_path, witnesses_per_core=0.2), 1) == 1


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_a_node_pinned_to_one_core_counts_one_core(tmp_path):
    """Several node processes on one machine, each pinned to its core, must not each claim
    every core of the machine (docs/operations.md, *Admission control*)."""
    core = min(os.sched_getaffinity(0))
    code = ("from kiosk.config import load_settings; from kiosk.witness.admission import "
            f"node_capacity, usable_cores; s = load_settings(data_dir={str(tmp_path)!r}); "
            "print(usable_cores(), node_capacity(s))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    assert out.stdout.split() == ["1", "3"]  # witnesses_per_core 3 times its one core


def test_the_wait_is_until_the_oldest_witness_should_end_never_below_the_minimum():
    assert estimated_wait([30.0, 100.0], expected_s=180) == 80
    assert estimated_wait([], expected_s=180) == 180
    assert estimated_wait([179.0], expected_s=180) == MIN_WAIT_S
    assert estimated_wait([300.0], expected_s=180) == MIN_WAIT_S  # overdue: soon, not never
    assert estimated_wait([101.0], expected_s=180) == 80  # rounded up to 5 s
    waits = {retry_after(100, random.Random(i)) for i in range(50)}
    assert min(waits) >= 100 and max(waits) <= 100 * (1 + RETRY_JITTER)
    assert len(waits) > 5  # a crowd turned away together comes back spread out


def test_a_reserved_place_counts_until_it_is_taken_or_given_back():
    live = LiveSessions()
    assert live.reserve(2) and live.reserve(2)
    assert not live.reserve(2)
    live.release()
    assert live.reserve(2)
    live.release()
    live.release()
    live.release()  # more releases than reservations never go below zero
    assert live.load()[1] == 0


def test_beyond_capacity_an_investor_is_told_the_wait_and_the_link_joins_later(make_app):
    app = make_app(node_capacity=1, witness_expected_seconds=120)
    first, got = _join(app, _link(app))
    assert [m["name"] for m in got][:1] == ["joined"]
    cap = app.test_client().get("/api/capacity").get_json()
    assert cap["capacity"] == 1 and cap["live"] == 1 and cap["available"] == 0
    assert 15 <= cap["estimated_wait_s"] <= 120

    token = _link(app)
    second, got = _join(app, token)
    errors = [m["args"][0] for m in got if m["name"] == "error"]
    assert [e["code"] for e in errors] == ["witness_busy"], got
    assert 100 <= errors[0]["retry_after_s"] <= 120 * (1 + RETRY_JITTER)
    assert "joined" not in [m["name"] for m in got]
    # The link was not used up: the session is still waiting for its investor.
    sid = app.extensions["kiosk"].store.by_token(token).id
    status = app.test_client().get(f"/api/sessions/{sid}", headers={"X-API-Key": API_KEY})
    assert status.get_json()["state"] == "created"

    first.emit("cancel", {})
    first.disconnect()
    for _ in range(100):
        if not app.extensions["kiosk"].live():
            break
        time.sleep(0.05)
    assert app.test_client().get("/api/capacity").get_json()["available"] == 1
    second.emit("join", {"token": token})
    assert [m["name"] for m in second.get_received()][:1] == ["joined"]
    second.disconnect()


def test_a_bad_link_is_told_so_not_busy(make_app):
    app = make_app(node_capacity=1)
    first, _ = _join(app, _link(app))
    _, got = _join(app, "x" * 40)
    assert [m["args"][0]["code"] for m in got if m["name"] == "error"] == ["link_invalid"]
    first.disconnect()


def test_a_draining_node_starts_no_witness_and_says_it_is_restarting(make_app):
    app = make_app(node_capacity=4)
    app.extensions["kiosk"].drain()
    token = _link(app)
    _, got = _join(app, token)
    assert [m["args"][0]["code"] for m in got if m["name"] == "error"] == ["node_draining"]
    cap = app.test_client().get("/api/capacity").get_json()
    assert cap["draining"] is True and cap["available"] == 0 and cap["live"] == 0
    assert app.extensions["kiosk"].store.by_token(token).state == "created"


def test_a_join_on_a_full_disk_is_told_kindly_and_the_link_joins_later(make_app, caplog):
    """t13c row 6: the investor got a generic server_error and the log an ERROR traceback."""
    import logging

    from sqlalchemy import event

    app = make_app(node_capacity=2)
    token = _link(app)
    engine = app.extensions["kiosk"].store.engine
    error = engine.dialect.dbapi.OperationalError

    def full(_conn, _cursor, statement, *_args):  # SQLite's answer on a full disk
        if statement.lstrip().upper().startswith("UPDATE"):
            raise error("database or disk is full")

    event.listen(engine, "before_cursor_execute", full)
    try:
        with caplog.at_level(logging.INFO):
            sock, got = _join(app, token)
    finally:
        event.remove(engine, "before_cursor_execute", full)
    errors = [m["args"][0] for m in got if m["name"] == "error"]
    assert [e["code"] for e in errors] == ["storage_full"], got
    assert "try again later" in errors[0]["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    warned = [r for r in caplog.records if r.levelno == logging.WARNING
              and "storage_full" in r.getMessage()]
    assert len(warned) == 1 and warned[0].exc_info is None
    assert app.extensions["kiosk"].store.by_token(token).state == "created"
    assert app.test_client().get("/api/capacity").get_json()["available"] == 2
    sock.emit("join", {"token": token})
    assert [m["name"] for m in sock.get_received()][:1] == ["joined"]
    sock.disconnect()


def test_a_join_below_the_free_space_floor_is_refused_before_the_link_is_used(make_app,
                                                                              monkeypatch):
    app = make_app(node_capacity=2)
    token = _link(app)
    store = app.extensions["kiosk"].store
    monkeypatch.setattr(store, "min_free_mb", 1e12)  # more than any disk has
    _, got = _join(app, token)
    assert [m["args"][0]["code"] for m in got if m["name"] == "error"] == ["storage_full"]
    assert store.by_token(token).state == "created"
