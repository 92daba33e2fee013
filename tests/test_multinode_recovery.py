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


@both_databases
def test_a_lost_nodes_session_is_sealed_incomplete_after_the_grace_then_its_copy_supplements_it(
        make_node, tmp_path, db_url):
    """Bug B of #17: node B dies with the witness's files on its own disk. After
    ``lost_node_seal_after_seconds`` node A seals what the shared database holds, marked
    incomplete, and it reaches the review queue flagged; when B comes back, its recording is
    sealed as a supplement linked to that package, which stays as it was."""
    import datetime as dt
    import json

    from kiosk.recovery import seal_lost_from_shared_state
    from kiosk.review.service import ReviewConfig, ReviewService
    from kiosk.utc import utcnow

    b = make_node("node-b", tmp_path / "b", database_url=db_url)
    on_b = _live_session(b, "node-b")
    b_folder = b.extensions["kiosk"].store.session_dir(on_b)
    a = make_node("node-a", tmp_path / "a", database_url=db_url,
                  lost_node_seal_after_seconds=600)
    svc_a = a.extensions["kiosk"]
    b.extensions["kiosk"].cluster.registry.stop(deregister=False)  # B dies (kill -9)
    _wait_gone(svc_a, "node-b")
    assert recover_interrupted(svc_a) == []  # ended node_lost; within the grace: not sealed
    assert svc_a.store.get(on_b).sealed_at is None
    assert seal_lost_from_shared_state(svc_a) == []
    api = a.test_client()
    info = api.get(f"/api/sessions/{on_b}", headers={"X-API-Key": API_KEY}).get_json()
    assert (info["state"], info["end_reason"], info["finalised"]) == ("aborted", "node_lost",
                                                                     False)
    assert info["recording"] is None and info["evidence"] is None
    assert info["new_attempt_needed"] is True

    later = utcnow() + dt.timedelta(seconds=601)
    assert seal_lost_from_shared_state(svc_a, now=later) == [on_b]
    assert seal_lost_from_shared_state(svc_a, now=later) == []  # once
    row = svc_a.store.get(on_b)
    assert row.sealed_at is not None and (row.package_id, row.node_id) == (on_b, "node-a")
    archive = tmp_path / "a" / "evidence" / f"{on_b}.tar"
    sqlite = db_url.startswith("sqlite")
    keyring = svc_a.evidence_keys.keyring()
    report = verify_package(archive, keyring=keyring,
                            ledger=tmp_path / "a" / "ledger.jsonl" if sqlite else None)
    assert report.ok, report.problems
    assert report.info["Witness-Incomplete"].startswith("the recording, the timeline and the "
                                                        "checks were on node node-b")
    sealed = json.loads((tmp_path / "a" / "evidence" / on_b / "data" / "report.json")
                        .read_text(encoding="utf-8"))
    assert sealed["incomplete"]["node"] == "node-b"
    assert sealed["applicant"]["id_number"] == "**************8888"
    assert sealed["recording"] is None
    assert svc_a.sealer.ledger.verify() == []
    info = api.get(f"/api/sessions/{on_b}", headers={"X-API-Key": API_KEY}).get_json()
    assert info["sealed"] is True and info["finalised"] is False
    assert info["evidence"]["incomplete"] is True and info["evidence"]["supplement"] is None
    assert "node-b" in info["evidence"]["note"]

    review = ReviewService(svc_a.store, tmp_path / "a" / "evidence",
                           ReviewConfig(poll_seconds=0))
    assert on_b in review.poll()["enqueued"]
    case = review.case(on_b)
    assert case is not None and case.verdict != "clear", case.prereview["findings"]
    flags = [f for f in case.prereview["findings"] if f["code"] == "evidence_incomplete"]
    assert len(flags) == 1 and flags[0]["severity"] == "flag" and "node-b" in flags[0]["text"]
    assert review.case_json(case)["incomplete"] is True

    b.extensions["kiosk"].shutdown()
    b2 = make_node("node-b", tmp_path / "b", database_url=db_url)  # B comes back: start-up
    svc_b = b2.extensions["kiosk"]
    supplement = tmp_path / "b" / "evidence" / f"{on_b}.supplement.tar"
    assert supplement.is_file()
    assert not (tmp_path / "b" / "evidence" / f"{on_b}.tar").exists()
    report = verify_package(supplement, keyring=keyring,
                            ledger=tmp_path / "b" / "ledger.jsonl" if sqlite else None)
    assert report.ok, report.problems
    assert report.info["Witness-Supplement-Of"] == on_b
    assert report.info["Witness-Session-Id"] == on_b
    events = read_timeline(b_folder / "timeline.jsonl")
    assert [(e["type"], e["data"].get("reason")) for e in events
            if e["type"] in ("finished", "aborted", "failed")] == [("aborted", "node_lost")]
    row = svc_b.store.get(on_b)
    assert (row.package_id, row.node_id, row.end_reason) == (on_b, "node-a", "node_lost")
    assert svc_b.sealer.ledger.verify() == []
    if not sqlite:  # one shared ledger: A's API sees the link
        info = api.get(f"/api/sessions/{on_b}", headers={"X-API-Key": API_KEY}).get_json()
        assert info["evidence"]["supplement"] == f"{on_b}.supplement"
    b2.extensions["kiosk"].shutdown()
    b3 = make_node("node-b", tmp_path / "b", database_url=db_url)  # sealed once only
    assert sorted(p.name for p in (tmp_path / "b" / "evidence").glob("*.tar")) == [
        f"{on_b}.supplement.tar"]
    assert b3.extensions["kiosk"].store.get(on_b).package_id == on_b
