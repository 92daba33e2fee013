"""Recovery per node (issue #17, item 5): a node's start-up recovery ends and seals only its own
interrupted sessions, or those of a node whose lease (its registration in Redis) expired.

Two apps share one database (SQLite file or PostgreSQL) and one Redis; "node B died" is B's
heartbeat stopping without deregistering, as after kill -9. B's live session is a row joined
by node B (``SessionStore.consume(..., node_id)``, what ``join`` does) with its folder.
"""

from __future__ import annotations

import time

import pytest

from kiosk.config import load_settings
from kiosk.evidence import verify_package
from kiosk.recovery import recover_interrupted
from kiosk.timeline import read_timeline
from kiosk.web.app import create_app
from kiosk.witness.finalise import write_session_meta
from tests.databases import both_databases
from tests.kiosk_server import API_KEY, make_flows_dir

# No running watch (kiosk.recovery.watch_lost_nodes): these tests drive start-up recovery.
FAST = dict(node_heartbeat_seconds=0.2, node_ttl_seconds=1.0, lost_node_check_seconds=0)


@pytest.fixture()
def make_node(tmp_path, redis_server):
    """make_node(name, data_dir, **settings): an app on the session's Redis under a prefix of
    this test's own; every app is shut down at the end."""
    apps = []
    prefix = f"r{time.monotonic_ns()}:"

    def make(name: str, data_dir, **settings):
        values = dict(data_dir=data_dir, flows_dir=make_flows_dir(tmp_path / "flows"),
                      api_keys=[API_KEY], liveness=False, speech=False,
                      redis_url=redis_server.url(), redis_prefix=prefix, node_id=name,
                      secret_key="s" * 64, **FAST)
        values.update(settings)
        app = create_app(load_settings(**values))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["kiosk"].shutdown()


def _live_session(app, node_id: str) -> str:
    """A session created through ``app``'s API and joined by ``node_id``: live there."""
    r = app.test_client().post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "flow_id": "quick", "locale": "zh-CN",
        "applicant": {"name": "张三", "id_number": "110102199003078888"}})
    assert r.status_code == 201, r.get_data(as_text=True)
    token = r.get_json()["investor_url"].rsplit("/", 1)[1]
    row = app.extensions["kiosk"].store.consume(token, node_id=node_id)
    assert (row.state, row.node_id) == ("active", node_id)
    # What the runner writes first on the node that runs it (kiosk.recovery.RUN_FILES).
    write_session_meta(app.extensions["kiosk"].store.session_dir(row.id), {"id": row.id})
    return row.id


def _wait_gone(services, node_id: str) -> None:
    deadline = time.monotonic() + 20
    while services.cluster.registry.node(node_id) is not None:
        assert time.monotonic() < deadline, f"{node_id}'s lease never expired"
        time.sleep(0.1)


@both_databases
def test_start_up_recovery_leaves_a_live_nodes_session_and_seals_it_once_its_lease_expired(
        make_node, tmp_path, db_url):
    shared = tmp_path / "shared"  # one data folder: sessions visible to both nodes
    b = make_node("node-b", shared, database_url=db_url)
    svc_b = b.extensions["kiosk"]
    on_b = _live_session(b, "node-b")
    mine = _live_session(b, "node-a")  # node A's, from before A restarted

    a = make_node("node-a", shared, database_url=db_url)  # A starts: its recovery runs
    svc_a = a.extensions["kiosk"]
    row = svc_a.store.get(on_b)
    assert (row.state, row.sealed_at, row.node_id) == ("active", None, "node-b")
    own = svc_a.store.get(mine)
    assert (own.state, own.end_reason, own.recovered) == ("aborted", "server_restart", True)
    assert own.sealed_at is not None

    svc_b.cluster.registry.stop(deregister=False)  # B dies: its lease runs out
    _wait_gone(svc_a, "node-b")
    assert recover_interrupted(svc_a) == [on_b]  # A's next start
    row = svc_a.store.get(on_b)
    assert (row.state, row.end_reason, row.recovered) == ("aborted", "node_lost", True)
    assert row.sealed_at is not None and row.node_id == "node-a"
    archive = shared / "evidence" / f"{on_b}.tar"
    ledger = shared / "ledger.jsonl" if db_url.startswith("sqlite") else None
    # Several nodes: the keyring is the shared one in the database (kiosk.evidence.keys_db).
    report = verify_package(archive, keyring=svc_b.evidence_keys.keyring(), ledger=ledger)
    assert report.ok, report.problems


@both_databases
def test_a_lost_nodes_session_on_its_own_disk_is_ended_here_and_sealed_by_its_owner(
        make_node, tmp_path, db_url):
    b = make_node("node-b", tmp_path / "b", database_url=db_url)
    on_b = _live_session(b, "node-b")
    a = make_node("node-a", tmp_path / "a", database_url=db_url)
    assert a.extensions["kiosk"].store.get(on_b).state == "active"

    b.extensions["kiosk"].cluster.registry.stop(deregister=False)
    _wait_gone(a.extensions["kiosk"], "node-b")
    assert recover_interrupted(a.extensions["kiosk"]) == []  # nothing here to seal
    row = a.extensions["kiosk"].store.get(on_b)
    assert (row.state, row.end_reason, row.sealed_at) == ("aborted", "node_lost", None)
    assert not (tmp_path / "a" / "sessions" / on_b).exists()

    b.extensions["kiosk"].shutdown()
    b2 = make_node("node-b", tmp_path / "b", database_url=db_url)  # B comes back
    row = b2.extensions["kiosk"].store.get(on_b)
    assert (row.end_reason, row.node_id) == ("node_lost", "node-b")
    assert row.sealed_at is not None
    events = read_timeline(tmp_path / "b" / "sessions" / on_b / "timeline.jsonl")
    ends = [(e["type"], e["data"].get("reason")) for e in events
            if e["type"] in ("finished", "aborted", "failed")]
    assert ends == [("aborted", "node_lost")], events  # written into the folder, then sealed


def test_join_records_the_node_that_runs_the_witness(tmp_path):
    app = create_app(load_settings(data_dir=tmp_path / "j", node_id="node-j", liveness=False,
                                   flows_dir=make_flows_dir(tmp_path / "flows"),
                                   api_keys=[API_KEY], speech=False))
    try:
        r = app.test_client().post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
            "flow_id": "quick", "locale": "zh-CN",
            "applicant": {"name": "张三", "id_number": "110102199003078888"}})
        body = r.get_json()
        sock = app.extensions["socketio"].test_client(app)
        sock.emit("join", {"token": body["investor_url"].rsplit("/", 1)[1]})
        assert [m["name"] for m in sock.get_received()][:1] == ["joined"]
        assert app.extensions["kiosk"].store.get(body["session_id"]).node_id == "node-j"
        sock.disconnect()
    finally:
        app.extensions["kiosk"].shutdown()


def test_without_redis_every_interrupted_session_is_this_nodes(tmp_path):
    """The single-node default is unchanged: no leases, whatever owner a row names."""
    settings = dict(data_dir=tmp_path / "d", flows_dir=make_flows_dir(tmp_path / "flows"),
                    api_keys=[API_KEY], liveness=False, speech=False)
    app = create_app(load_settings(**settings))
    try:
        sid = _live_session(app, "some-other-host:5000")
        assert recover_interrupted(app.extensions["kiosk"]) == [sid]
        row = app.extensions["kiosk"].store.get(sid)
        assert (row.end_reason, row.sealed_at is not None) == ("server_restart", True)
    finally:
        app.extensions["kiosk"].shutdown()
