"""Several nodes on one database: migrations, review dispatch and the ledger, on SQLite and on a
real PostgreSQL server (kiosk.testing.postgres, started once per run on 127.0.0.1).

A "node" here is its own SessionStore, i.e. its own SQLAlchemy engine and connection pool,
with its own ReviewService or Ledger, driven from its own thread: nothing in-process (locks,
caches) is shared between two nodes, only the database (and, for the file ledger, the file).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text, update
from sqlalchemy.exc import IntegrityError

from kiosk import migrations
from kiosk.cli import main as kiosk_cli
from kiosk.errors import ConfigError
from kiosk.evidence.ledger import Ledger, RecordExists
from kiosk.evidence.ledger_db import DbLedger, LedgerEntryRow, open_ledger
from kiosk.flows.versions import FlowVersion, FlowVersions
from kiosk.review.accounts import add_user
from kiosk.review.models import ReviewCase
from kiosk.review.service import ReviewConfig, ReviewService
from kiosk.store import Base, SessionStore
from kiosk.timeline import verify_chain
from tests.databases import both_databases
from tests.test_flow_versions import QUICK

HEAD = migrations.HEAD
T0 = dt.datetime(2026, 11, 24, 9, 0, 0)
TAKES_PER_NODE = 50


def _store(db_url, tmp_path, node: str) -> SessionStore:
    return migrations.open_store(db_url, tmp_path / f"sessions-{node}")


def _run_nodes(work, nodes: int = 2) -> list:
    """Run ``work(i)`` for each node in its own thread, all released at once; re-raise the
    first failure. Returns each node's result."""
    start = threading.Barrier(nodes)
    results: list = [None] * nodes
    errors: list[BaseException] = []

    def run(i):
        try:
            start.wait(timeout=60)
            results[i] = work(i)
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a node thread did not finish"
    if errors:
        raise errors[0]
    return results


# -- migrations ----------------------------------------------------------------------------

@both_databases
def test_migrations_build_exactly_the_models_schema_with_its_triggers(db_url, tmp_path):
    store = _store(db_url, tmp_path, "a")  # SQLite migrates here; PostgreSQL was by the fixture
    assert migrations.script_head() == migrations.HEAD
    assert migrations.current(store.engine) == migrations.HEAD
    assert migrations.schema_differences(store.engine) == []
    insp = inspect(store.engine)
    assert set(insp.get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            triggers = set(conn.scalars(text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
        assert triggers == {"flow_versions_no_update", "flow_versions_no_delete",
                            "flow_versions_no_truncate", "evidence_ledger_no_update",
                            "evidence_ledger_no_delete", "evidence_ledger_no_truncate"}
    else:
        with store.engine.connect() as conn:
            triggers = set(conn.scalars(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        assert triggers == {"flow_versions_no_update", "flow_versions_no_delete"}
    store.engine.dispose()


def test_an_sqlite_database_made_before_migrations_is_adopted(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    # What an older kiosk left: its tables by create_all, without the later column.
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[t] for t in (
        "witness_sessions", "review_users")])
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE review_users DROP COLUMN session_generation"))
        conn.execute(text("DROP INDEX ix_witness_sessions_node_id"))  # revision 0003's
        conn.execute(text("ALTER TABLE witness_sessions DROP COLUMN node_id"))
        conn.execute(text(
            "INSERT INTO witness_sessions (id, token_hash, created_at, expires_at, state, "
            "flow_id, flow_version, flow_hash, locale, applicant_json, recovered) VALUES "
            "('a1', 'h', '2026-01-01', '2026-01-02', 'finished', 'f', 1, 'x', 'en', '{}', 0)"))
    engine.dispose()
    store = migrations.open_store(url, tmp_path / "sessions")
    assert migrations.current(store.engine) == migrations.HEAD
    assert migrations.schema_differences(store.engine) == []
    assert store.get("a1").state == "finished"  # the data came along
    store.engine.dispose()


def test_a_postgresql_node_refuses_an_unmigrated_database_until_kiosk_db_upgrade(
        postgres_server, tmp_path, monkeypatch):
    name = postgres_server.create_database()
    try:
        url = postgres_server.url(name)
        with pytest.raises(ConfigError, match=r"is empty or made before schema migrations; "
                           rf"this version needs revision {HEAD}: run `kiosk db upgrade` once"):
            migrations.open_store(url, tmp_path / "sessions")
        monkeypatch.setenv("KIOSK_DATABASE_URL", url)
        monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
        runner = CliRunner()
        res = runner.invoke(kiosk_cli, ["db", "current"])
        assert res.exit_code == 1 and f"revision none; this version needs {HEAD}" in res.output
        res = runner.invoke(kiosk_cli, ["db", "upgrade"])
        assert res.exit_code == 0, res.output
        assert f"/{name}: revision none -> {HEAD}" in res.output
        res = runner.invoke(kiosk_cli, ["db", "upgrade"])
        assert res.exit_code == 0 and f"already at revision {HEAD}" in res.output
        res = runner.invoke(kiosk_cli, ["db", "current"])
        assert res.exit_code == 0 and f"revision {HEAD} (head)" in res.output
        store = migrations.open_store(url, tmp_path / "sessions")
        assert migrations.schema_differences(store.engine) == []
        store.engine.dispose()
    finally:
        postgres_server.drop_database(name)


# -- flow-version immutability in the database --------------------------------------------

@both_databases
def test_raw_sql_cannot_change_a_published_flow_version(db_url, tmp_path):
    store = _store(db_url, tmp_path, "a")
    FlowVersions(store).publish(QUICK, "brenda", "quick.yaml")
    statements = ["UPDATE flow_versions SET source = 'x'", "DELETE FROM flow_versions"]
    if store.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE flow_versions")  # skips row triggers: a statement one
    for stmt in statements:
        with store.engine.begin() as conn, pytest.raises(
                IntegrityError, match="published flow versions are immutable"):
            conn.execute(text(stmt))
    with store.db() as db:
        assert [r.source for r in db.query(FlowVersion)] == [QUICK]
    store.engine.dispose()


# -- review dispatch across nodes ------------------------------------------------------------

@both_databases
def test_two_nodes_taking_next_never_hand_one_case_to_two_auditors(db_url, tmp_path):
    stores = [_store(db_url, tmp_path, n) for n in ("a", "b")]
    alice = add_user(stores[0], "alice", "correct horse battery", "auditor")
    bob = add_user(stores[0], "bob", "correct horse battery", "auditor")
    cases = [f"{i:03d}" + uuid.uuid4().hex[:8] for i in range(2 * TAKES_PER_NODE)]
    with stores[0].db() as db, db.begin():
        for cid in cases:
            db.add(ReviewCase(id=cid, session_id=cid, priority=1, enqueued_at=T0,
                              sla_due_at=T0 + dt.timedelta(hours=24), status="queued"))
    config = ReviewConfig(max_load=1000, poll_seconds=0)
    services = [ReviewService(s, tmp_path / "evidence", config, clock=lambda: T0)
                for s in stores]
    users = [{"uid": alice.id, "role": "auditor"}, {"uid": bob.id, "role": "auditor"}]

    def take(i):
        svc, user, store = services[i], users[i], stores[i]
        got = []
        for _ in range(TAKES_PER_NODE):
            case = svc.take_next(user)
            assert case is not None, f"node {i}: nothing to take after {len(got)} cases"
            assert case.assigned_to == user["uid"] and case.locked_by == user["uid"]
            got.append(case.id)
            # The auditor decides it (the decision's own row change, by its assignee only).
            with store.db() as db, db.begin():
                done = db.execute(update(ReviewCase).where(
                    ReviewCase.id == case.id, ReviewCase.assigned_to == user["uid"],
                    ReviewCase.status == "queued").values(status="decided"))
                assert done.rowcount == 1, f"node {i}: case {case.id} was not its own"
        return got

    taken = _run_nodes(take)
    everything = taken[0] + taken[1]
    assert len(everything) == len(set(everything)) == len(cases)  # none twice, none lost
    assert set(everything) == set(cases)
    with stores[0].db() as db:
        rows = {c.id: c.assigned_to for c in db.query(ReviewCase)}
    assert all(rows[c] == alice.id for c in taken[0]) and all(rows[c] == bob.id
                                                              for c in taken[1])
    for s in stores:
        s.engine.dispose()


@both_databases
def test_a_case_locked_on_one_node_cannot_be_opened_on_another(db_url, tmp_path):
    stores = [_store(db_url, tmp_path, n) for n in ("a", "b")]
    alice = add_user(stores[0], "alice", "correct horse battery", "auditor")
    bob = add_user(stores[0], "bob", "correct horse battery", "auditor")
    with stores[0].db() as db, db.begin():
        db.add(ReviewCase(id="c1", session_id="s1", enqueued_at=T0,
                          sla_due_at=T0 + dt.timedelta(hours=24), status="queued"))
    a, b = (ReviewService(s, tmp_path / "evidence", ReviewConfig(poll_seconds=0),
                          clock=lambda: T0) for s in stores)
    assert a.take_next({"uid": alice.id, "role": "auditor"}).id == "c1"
    assert b.take_next({"uid": bob.id, "role": "auditor"}) is None
    from kiosk.review.service import CaseAccessError

    # The claim itself refuses, even when the caller skipped the access check.
    with pytest.raises(CaseAccessError, match="assigned to another reviewer"):
        b._lock_case("c1", {"uid": bob.id, "role": "auditor"}, assign_self=True)
    with pytest.raises(CaseAccessError, match="another reviewer is reviewing this case"):
        b._lock_case("c1", {"uid": bob.id, "role": "supervisor"})
    assert a.case("c1").locked_by == alice.id
    for s in stores:
        s.engine.dispose()


# -- the ledger across nodes -------------------------------------------------------------------

@both_databases
def test_two_nodes_appending_keep_one_linear_ledger(db_url, tmp_path):
    stores = [_store(db_url, tmp_path, n) for n in ("a", "b")]
    path = tmp_path / "ledger.jsonl"
    ledgers = [open_ledger(db_url, path, engine=s.engine) for s in stores]
    on_pg = db_url.startswith("postgresql")
    assert all(isinstance(led, DbLedger) == on_pg for led in ledgers)
    assert ledgers[0] is not ledgers[1]  # two objects: no shared in-process lock

    def append(i):
        seqs = []
        for n in range(TAKES_PER_NODE):
            pid = f"n{i}-{n:03d}"
            if n % 2:
                seqs.append(ledgers[i].append_record(pid, {"type": "legal_hold", "on": True}))
            else:
                seqs.append(ledgers[i].append(pid, "ab" * 32, pid, "2026-11-24T09:00:00Z"))
        return seqs

    seqs = _run_nodes(append)
    entries = ledgers[0].entries()
    assert [e["seq"] for e in entries] == list(range(2 * TAKES_PER_NODE))
    assert sorted(seqs[0] + seqs[1]) == list(range(2 * TAKES_PER_NODE))
    assert verify_chain([{k: v for k, v in e.items() if k != "sig"} for e in entries]) is None
    assert ledgers[1].verify(None) == []
    assert len({e["prev"] for e in entries}) == len(entries)  # no two entries on one parent
    for s in stores:
        s.engine.dispose()


@both_databases
def test_two_nodes_deciding_one_package_append_one_decision(db_url, tmp_path):
    """append_record(once=True): the check and the append are one step under the ledger's
    lock (flock / pg_advisory_xact_lock), so of two nodes deciding at once one wins and the
    other is shown the winner's entry."""
    stores = [_store(db_url, tmp_path, n) for n in ("a", "b")]
    path = tmp_path / "ledger.jsonl"
    ledgers = [open_ledger(db_url, path, engine=s.engine) for s in stores]
    pids = [f"p{n:03d}" for n in range(20)]
    for pid in pids:
        ledgers[0].append(pid, "ab" * 32, pid, "2026-11-24T09:00:00Z")

    def decide(i):
        won, lost = [], []
        for pid in pids:
            try:
                won.append(ledgers[i].append_record(
                    pid, {"type": "review_decision", "decision": "approve" if i else "reject"},
                    once=True))
            except RecordExists as exc:
                lost.append(exc.entry["package_id"])
        return won, lost

    results = _run_nodes(decide)
    assert len(results[0][0]) + len(results[1][0]) == len(pids)
    assert sorted(results[0][1] + results[1][1]) == pids  # each package lost by one node
    for pid in pids:
        decisions = [e for e in ledgers[1].records(pid) if e["record"]["type"] == "review_decision"]
        assert len(decisions) == 1, (pid, decisions)
    # another record type about the same package is not limited
    ledgers[1].append_record(pids[0], {"type": "legal_hold", "on": True}, once=True)
    assert ledgers[0].verify(None) == []
    for s in stores:
        s.engine.dispose()


def test_the_postgresql_ledger_is_append_only_and_exports_to_the_file_form(postgres_server,
                                                                            tmp_path):
    name = postgres_server.create_database()
    try:
        engine = create_engine(postgres_server.url(name))
        migrations.upgrade(engine)
        led = DbLedger(engine)
        led.append("p1", "cd" * 32, "p1", "2026-11-24T09:00:00Z")
        led.append_record("p1", {"type": "legal_hold", "on": True, "reason": "order 7"})
        for stmt in ("UPDATE evidence_ledger SET entry_json = '{}'",
                     "DELETE FROM evidence_ledger", "TRUNCATE evidence_ledger"):
            with engine.begin() as conn, pytest.raises(
                    IntegrityError, match="the evidence ledger is append-only"):
                conn.execute(text(stmt))
        # A writer that skips the advisory lock still cannot fork the chain: seq is the key.
        first = led.entries()[0]
        with engine.begin() as conn, pytest.raises(IntegrityError):
            conn.execute(LedgerEntryRow.__table__.insert().values(
                seq=1, kind="package", package_id="p9", entry_hash="e" * 64,
                entry_json=json.dumps(first)))
        out = tmp_path / "ledger.jsonl"
        assert led.export(out) == 2
        assert Ledger(out).entries() == led.entries()
        assert Ledger(out).verify(None) == [] and led.verify(None) == []
        assert led.find("p1")["tagmanifest_sha256"] == "cd" * 32
        assert [r["record"]["reason"] for r in led.records("p1")] == ["order 7"]
        with pytest.raises(ValueError, match="needs PostgreSQL, not sqlite"):
            DbLedger(create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}"))
        engine.dispose()
    finally:
        postgres_server.drop_database(name)


def test_evidence_and_ledger_commands_use_the_postgresql_ledger(postgres_server, tmp_path,
                                                                monkeypatch):
    from kiosk.evidence.cli import evidence
    from kiosk.evidence.cli import ledger as ledger_group

    name = postgres_server.create_database()
    try:
        url = postgres_server.url(name)
        engine = create_engine(url)
        migrations.upgrade(engine)
        monkeypatch.setenv("KIOSK_DATABASE_URL", url)
        monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
        package = tmp_path / "p1.tar"
        package.write_bytes(b"")
        runner = CliRunner()
        res = runner.invoke(evidence, ["hold", str(package), "--reason", "order 7"])
        assert res.exit_code == 0 and "placed on p1 (ledger entry 0)" in res.output, res.output
        assert DbLedger(engine).records("p1")[0]["record"]["reason"] == "order 7"
        assert not (tmp_path / "data" / "ledger.jsonl").exists()  # no per-node file
        res = runner.invoke(ledger_group, ["verify"])
        assert res.exit_code == 0, res.output
        assert f"OK: ledger ledger table evidence_ledger in {name} on 127.0.0.1: 1 entries" \
            in res.output
        out = tmp_path / "export.jsonl"
        res = runner.invoke(ledger_group, ["export", str(out)])
        assert res.exit_code == 0 and "exported 1 entries" in res.output, res.output
        assert Ledger(out).verify(None) == [] and Ledger(out).entries()[0]["package_id"] == "p1"
        engine.dispose()
    finally:
        postgres_server.drop_database(name)


def test_failed_logins_on_two_nodes_all_count_towards_the_lockout(postgres_server, tmp_path):
    from kiosk.review.accounts import LoginRefused, LoginThrottle
    from kiosk.review.models import StaffUser

    name = postgres_server.create_database()
    try:
        url = postgres_server.url(name)
        engine = create_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        stores = [_store(url, tmp_path, n) for n in ("a", "b")]
        user = add_user(stores[0], "alice", "correct horse battery", "auditor")
        throttles = [LoginThrottle(s, lambda: T0, max_failures=1000, ip_max_failures=1000)
                     for s in stores]
        tries = 8

        def fail(i):
            for _ in range(tries):
                with pytest.raises(LoginRefused):
                    throttles[i].login("alice", "wrong password!", ip=f"10.0.0.{i}")

        _run_nodes(fail)
        with stores[0].db() as db:
            assert db.get(StaffUser, user.id).failed_logins == 2 * tries
        for s in stores:
            s.engine.dispose()
    finally:
        postgres_server.drop_database(name)
