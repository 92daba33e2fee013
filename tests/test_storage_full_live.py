"""A data disk that fills up during a live witness (issue #13, item 6): the session ends as
``aborted: storage_full``, the investor is told so, its end is written and sealed once there
is space again, and a restart keeps that cause instead of ``server_restart``."""

from __future__ import annotations

import errno
import json
import logging
import os
import time

import pytest

from kiosk.config import load_settings
from kiosk.timeline import MediaClock, TimelineWriter, read_timeline, verify_chain
from kiosk.utc import utc_iso
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir
from tests.logfilters import is_load_warning

ID_NUMBER = "110102199003078888"


def make_app(data_dir, flows_dir):
    return create_app(load_settings(
        data_dir=data_dir, flows_dir=flows_dir, api_keys=[API_KEY], liveness=False,
        speech=False, socket_join_seconds=30))


@pytest.fixture()
def app(tmp_path):
    app = make_app(tmp_path / "data", make_flows_dir(tmp_path / "flows"))
    yield app
    app.extensions["kiosk"].shutdown()


@pytest.fixture()
def fast_retry(monkeypatch):
    monkeypatch.setattr("kiosk.witness.runner.END_RETRY_SECONDS", 0.2)


class Disk:
    """Every fsync of a file the kiosk writes (timeline lines, session files, evidence) fails
    as on a full disk while ``full`` (or for the next ``fail_next`` ones); SQLite's own writes
    go on."""

    def __init__(self, monkeypatch):
        self.full = False
        self.fail_next = 0
        real = os.fsync

        def fsync(fd):
            if self.full or self.fail_next > 0:
                self.fail_next -= 1
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(fd)

        monkeypatch.setattr(os, "fsync", fsync)


def create(app):
    client = app.test_client()
    r = client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": ID_NUMBER}, "flow_id": "quick"})
    assert r.status_code == 201, r.data
    return client, r.get_json()


def join(app, before=lambda: None):
    client, created = create(app)
    before()
    sock = app.extensions["socketio"].test_client(app, flask_test_client=client)
    sock.emit("join", {"token": created["investor_url"].rsplit("/", 1)[1]})
    return sock, created["session_id"]


def received(sock, name):
    return [m["args"][0] for m in sock.queue if m["name"] == name]


def test_a_full_disk_mid_witness_ends_it_as_storage_full_then_seals_it(app, monkeypatch,
                                                                       fast_retry):
    disk = Disk(monkeypatch)
    sock, session_id = join(app)
    assert received(sock, "joined")
    c = app.extensions["kiosk"].live()[0]
    disk.full = True
    sock.emit("client_error", {"code": "media_error"})  # a timeline write that fails
    assert received(sock, "aborted") == [{"reason": "storage_full", "state": "aborted"}]
    assert not received(sock, "error")  # not "server_error": the page says what happened
    assert c.finalised.wait(20)
    store = app.extensions["kiosk"].store
    row = store.get(session_id)
    # SQLite still had room: the row says why at once, but nothing else could be written.
    assert (row.state, row.end_reason, row.sealed_at) == ("aborted", "storage_full", None)
    assert not c.end_written.is_set()
    disk.full = False  # space is back: the rest of the end is written and sealed
    assert c.end_written.wait(20)
    row = store.get(session_id)
    assert row.sealed_at is not None
    events = read_timeline(c.dir / "timeline.jsonl")
    assert verify_chain(events) is None
    assert len(events) == len((c.dir / "timeline.jsonl").read_text().splitlines())  # none torn
    ends = [e for e in events if e["type"] in ("aborted", "failed", "finished")]
    assert [(e["type"], e["data"]) for e in ends] == [
        ("aborted", {"reason": "storage_full", "written_late": True})]
    assert "client_error" not in [e["type"] for e in events]  # it was never written
    meta = json.loads((c.dir / "session.json").read_text(encoding="utf-8"))
    assert (meta["state"], meta["end_reason"]) == ("aborted", "storage_full")


def test_a_late_end_keeps_the_time_the_session_ended(app, monkeypatch, fast_retry):
    """t13c row 6: with the database on the full disk too, the row's ended_at was the time the
    late write succeeded, not the end."""
    from sqlalchemy import event

    from kiosk.utc import utcnow

    disk = Disk(monkeypatch)
    engine = app.extensions["kiosk"].store.engine
    error = engine.dialect.dbapi.OperationalError

    def db_full(_conn, _cursor, statement, *_args):
        if disk.full and statement.lstrip().upper().startswith("UPDATE WITNESS_SESSIONS"):
            raise error("database or disk is full")

    event.listen(engine, "before_cursor_execute", db_full)
    try:
        sock, session_id = join(app)
        assert received(sock, "joined")
        c = app.extensions["kiosk"].live()[0]
        before_end = utcnow()
        disk.full = True
        sock.emit("client_error", {"code": "media_error"})
        assert received(sock, "aborted") == [{"reason": "storage_full", "state": "aborted"}]
        assert c.finalised.wait(20)
        store = app.extensions["kiosk"].store
        assert store.get(session_id).ended_at is None  # nothing could be written
        freed = utcnow()  # every write so far failed: one that succeeds comes after this
        disk.full = False
        assert c.end_written.wait(20)
    finally:
        event.remove(engine, "before_cursor_execute", db_full)
    row = store.get(session_id)
    assert (row.state, row.end_reason) == ("aborted", "storage_full")
    assert before_end <= row.ended_at < freed, (before_end, row.ended_at, freed)
    meta = json.loads((c.dir / "session.json").read_text(encoding="utf-8"))
    assert meta["ended_at"] == utc_iso(row.ended_at)


def test_a_full_disk_when_the_investor_joins_ends_the_session_as_storage_full(app, monkeypatch):
    disk = Disk(monkeypatch)
    sock, session_id = join(app, before=lambda: setattr(disk, "full", True))
    assert not received(sock, "joined") and not received(sock, "error")
    assert received(sock, "aborted") == [{"reason": "storage_full", "state": "aborted"}]
    deadline = time.monotonic() + 20
    while app.extensions["kiosk"].store.get(session_id).state == "active":
        assert time.monotonic() < deadline, "the session stayed active"
        time.sleep(0.1)
    row = app.extensions["kiosk"].store.get(session_id)
    assert (row.state, row.end_reason) == ("aborted", "storage_full")


def test_a_restart_keeps_the_recorded_cause(tmp_path, monkeypatch):
    """The disk had room for the timeline's last line but not for the database row or
    session.json, and the server stopped before more space came: the restart must not call
    it ``server_restart``."""
    flows = make_flows_dir(tmp_path / "flows")
    app = make_app(tmp_path / "data", flows)
    services = app.extensions["kiosk"]
    disk = Disk(monkeypatch)
    sock, session_id = join(app)
    c = services.live()[0]
    full_db = OSError(errno.ENOSPC, "database or disk is full")

    def end(*_a, **_k):
        raise full_db

    monkeypatch.setattr(services.store, "end", end)
    monkeypatch.setattr("kiosk.witness.finalise.write_json_atomic", end)
    # The report's line and the dispatch's `aborted` line fail; then a line fits again.
    disk.fail_next = 2
    sock.emit("client_error", {"code": "media_error"})
    assert received(sock, "aborted") == [{"reason": "storage_full", "state": "aborted"}]
    assert c.finalised.wait(20)
    assert services.store.get(session_id).state == "active"
    services.shutdown()
    monkeypatch.undo()

    again = make_app(tmp_path / "data", flows)  # the start recovers the session
    try:
        row = again.extensions["kiosk"].store.get(session_id)
        assert (row.state, row.end_reason, row.recovered) == ("aborted", "storage_full", True)
        assert row.sealed_at is not None
        events = read_timeline(c.dir / "timeline.jsonl")
        assert verify_chain(events) is None
        reasons = [e["data"]["reason"] for e in events if e["type"] in ("aborted", "failed")]
        assert reasons == ["storage_full"]
        meta = json.loads((c.dir / "session.json").read_text(encoding="utf-8"))
        assert (meta["state"], meta["end_reason"], meta["recovered"]) == (
            "aborted", "storage_full", True)
    finally:
        again.extensions["kiosk"].shutdown()


def test_a_failed_timeline_write_leaves_no_torn_line_and_the_chain_goes_on(tmp_path,
                                                                          monkeypatch):
    from kiosk.errors import StorageFull

    path = tmp_path / "timeline.jsonl"
    tw = TimelineWriter(path, MediaClock())
    tw.append("a", {"i": 0})
    real = os.write

    def half(fd, data):  # half the line fits, then the disk is full
        real(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half)
    with pytest.raises(StorageFull, match="timeline.jsonl"):
        tw.append("b", {"i": 1})
    monkeypatch.undo()
    tw.append("c", {"i": 2})
    tw.close()
    events = read_timeline(path)
    assert [e["type"] for e in events] == ["a", "c"] and verify_chain(events) is None


@pytest.mark.parametrize("where", ["timeline", "session.json"])
def test_recovery_keeps_an_end_the_session_recorded(tmp_path, where):
    """An active row whose timeline (or session.json) already says how it ended."""
    flows = make_flows_dir(tmp_path / "flows")
    app = make_app(tmp_path / "data", flows)
    services = app.extensions["kiosk"]
    sock, session_id = join(app)
    c = services.live()[0]
    services.sealer.seal = lambda _id: None  # nothing sealed yet, as when the disk was full
    services.shutdown()  # ends it as server_shutdown; now make it look as the full disk left it
    store = services.store
    store.set(session_id, state="active", end_reason=None, sealed_at=None)
    path = c.dir / "timeline.jsonl"
    events = read_timeline(path)
    kept = events[:[e["type"] for e in events].index("witness_planned") + 1]
    path.write_text("".join(json.dumps(e) + "\n" for e in kept), encoding="utf-8")
    meta = json.loads((c.dir / "session.json").read_text(encoding="utf-8"))
    meta.update(state="active", end_reason=None)
    if where == "timeline":
        tw = TimelineWriter(path, MediaClock())
        tw.append("aborted", {"reason": "storage_full", "at_step_index": 0})
        tw.close()
    else:
        meta.update(state="aborted", end_reason="storage_full")
    (c.dir / "session.json").write_text(json.dumps(meta), encoding="utf-8")

    again = make_app(tmp_path / "data", flows)
    try:
        row = again.extensions["kiosk"].store.get(session_id)
        assert (row.state, row.end_reason, row.recovered) == ("aborted", "storage_full", True)
        events = read_timeline(path)
        assert verify_chain(events) is None
        assert [e["data"]["reason"] for e in events if e["type"] == "aborted"] == ["storage_full"]
    finally:
        again.extensions["kiosk"].shutdown()


def test_a_full_disk_with_the_face_analysis_on_still_writes_the_end(tmp_path, monkeypatch,
                                                                    fast_retry):
    """Issue #13 retest: with liveness on (the default), the face analysis could not write
    checks/liveness.json on the full disk, its error skipped the rest of the end, and the
    session stayed `active` after space came back (a restart then called it server_restart)."""
    app = create_app(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=True, speech=False, socket_join_seconds=30))
    try:
        disk = Disk(monkeypatch)
        sock, session_id = join(app)
        assert received(sock, "joined")
        c = app.extensions["kiosk"].live()[0]
        assert c.face is not None
        disk.full = True
        sock.emit("client_error", {"code": "media_error"})
        assert received(sock, "aborted") == [{"reason": "storage_full", "state": "aborted"}]
        assert c.finalised.wait(30)
        disk.full = False
        assert c.end_written.wait(30)
        row = app.extensions["kiosk"].store.get(session_id)
        assert (row.state, row.end_reason) == ("aborted", "storage_full")
        assert row.sealed_at is not None
    finally:
        app.extensions["kiosk"].shutdown()


class FullArchiveDisk:
    """The disk fills while the evidence archive (``.<id>.tar.tmp``) is written: after
    ``room`` bytes of it, every write fails as ENOSPC, as on a real full disk (the bag folder
    before it had room). ``full`` False: room again."""

    def __init__(self, monkeypatch, room: int = 20_000):
        import io
        import tarfile

        self.full = True
        self.failures = 0
        disk = self
        real_open = tarfile.open

        class Filling(io.FileIO):
            left = room

            def write(self, data) -> int:
                if disk.full and self.left <= 0:
                    disk.failures += 1
                    raise OSError(errno.ENOSPC, "No space left on device")
                data = bytes(data)
                if disk.full:
                    data = data[: self.left]
                    self.left -= len(data)
                return super().write(data)

        def tar_open(name=None, mode="r", *args, **kwargs):
            if name is not None and str(name).endswith(".tar.tmp") and mode == "w":
                tf = real_open(None, mode, Filling(name, "w"), *args, **kwargs)
                tf._extfileobj = False  # closing the TarFile closes the file it writes
                return tf
            return real_open(name, mode, *args, **kwargs)

        monkeypatch.setattr(tarfile, "open", tar_open)


def test_a_full_disk_while_the_archive_is_written_leaves_the_session_sealable(
        app, monkeypatch, fast_retry, caplog):
    """Retest N7: the disk filled after the bag folder was written, while `<id>.tar` was.
    Every later attempt failed as "already sealed" (ERROR, traceback, absolute path, every
    10 s), the session was never sealed nor queued, and the `.tar.tmp` kept the disk full.
    Now the attempt leaves no folder, archive or temporary file under the package's name and
    says so once (WARNING); once there is room, the session is sealed and queued."""
    from kiosk.evidence import EvidenceKeys, verify_package

    caplog.set_level(logging.INFO)
    disk = FullArchiveDisk(monkeypatch)
    sock, session_id = join(app)
    assert received(sock, "joined")
    c = app.extensions["kiosk"].live()[0]
    sock.emit("cancel", {})
    assert c.finalised.wait(20)
    deadline = time.monotonic() + 20
    while disk.failures < 3:  # the end retries sealing; each attempt hits the full disk
        assert time.monotonic() < deadline, "sealing was not attempted again"
        time.sleep(0.05)
    store = app.extensions["kiosk"].store
    evidence = app.extensions["kiosk"].settings.data_dir / "evidence"
    assert store.get(session_id).sealed_at is None

    def leftovers() -> list[str]:
        names = [p.name for p in evidence.iterdir()] if evidence.exists() else []
        return [n for n in names if session_id in n]

    # Nothing keeps the disk: each failed attempt removes its temporary files. The attempts go
    # on every 0.2 s, and the failure is counted before the attempt has cleaned up, so wait for
    # a moment between attempts; files left behind would pile up and never leave one.
    seen = leftovers()
    while seen:
        assert time.monotonic() < deadline + 10, seen
        time.sleep(0.01)
        seen = leftovers()
    disk.full = False  # room again: the next attempt seals it
    assert c.end_written.wait(20)
    row = store.get(session_id)
    assert row.sealed_at is not None and row.package_id == session_id
    archive = evidence / f"{session_id}.tar"
    data_dir = app.extensions["kiosk"].settings.data_dir
    report = verify_package(archive, keyring=EvidenceKeys(data_dir / "keys").keyring(),
                            ledger=data_dir / "ledger.jsonl")
    assert report.ok, report.problems
    assert sorted(p.name for p in evidence.iterdir()) == [session_id, f"{session_id}.tar"]
    assert session_id in app.extensions["review"].poll()["enqueued"]
    kiosk_logs = [r for r in caplog.records if r.name.startswith("kiosk")]
    assert not [r for r in kiosk_logs if r.levelno >= logging.ERROR], [
        (r.getMessage(), r.exc_info) for r in kiosk_logs if r.levelno >= logging.ERROR]
    assert not [r for r in kiosk_logs if "already sealed" in r.getMessage()]
    assert all(str(data_dir) not in r.getMessage() for r in kiosk_logs)
    warned = [r.getMessage() for r in kiosk_logs
              if r.levelno == logging.WARNING and not is_load_warning(r)]
    assert len(warned) == 1 and warned[0].startswith("storage_full:"), warned
    assert "evidence package" in warned[0]
    assert all(r.exc_info is None for r in kiosk_logs if r.levelno >= logging.WARNING)


def test_a_seal_that_fails_at_start_up_on_a_full_disk_is_retried_while_running(
        tmp_path, monkeypatch):
    """#13 retest F3: after a crash on a full disk, the start-up's seal failed and was tried
    again only at the next restart: once room was made the case stayed unsealed and out of
    the review queue."""
    monkeypatch.setattr("kiosk.recovery.SEAL_RETRY_SECONDS", 0.2, raising=False)
    flows = make_flows_dir(tmp_path / "flows")
    app = make_app(tmp_path / "data", flows)
    services = app.extensions["kiosk"]
    sock, session_id = join(app)
    services.sealer.seal = lambda _id: None  # killed before it was sealed
    services.shutdown()
    assert services.store.get(session_id).sealed_at is None

    disk = Disk(monkeypatch)
    disk.full = True
    again = make_app(tmp_path / "data", flows)  # the start cannot seal it: the disk is full
    try:
        store = again.extensions["kiosk"].store
        time.sleep(0.6)
        assert store.get(session_id).sealed_at is None
        disk.full = False  # room is made; no restart
        deadline = time.monotonic() + 10
        while store.get(session_id).sealed_at is None and time.monotonic() < deadline:
            time.sleep(0.1)
        row = store.get(session_id)
        assert row.sealed_at is not None and row.package_id
    finally:
        again.extensions["kiosk"].shutdown()
