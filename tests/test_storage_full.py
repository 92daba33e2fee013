"""A full data disk: no torn session or evidence file, and a clear 503 instead of a 500."""

from __future__ import annotations

import errno
import json
import os

import pytest

from kiosk.config import load_settings
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir

ID_NUMBER = "110102199003078888"


def _enospc_after(limit: int):
    """An ``os.write`` that writes ``limit`` bytes in all, then fails as a full disk does."""
    real = os.write
    left = {"n": limit}

    def write(fd, data):
        if left["n"] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real(fd, bytes(data[: left["n"]]))
        left["n"] -= n
        return n

    return write


def test_a_full_disk_leaves_the_old_file_whole_and_no_temporary(tmp_path, monkeypatch):
    from kiosk.atomic_files import write_json_atomic
    from kiosk.errors import StorageFull

    target = tmp_path / "session.json"
    write_json_atomic(target, {"state": "active", "n": 1})
    monkeypatch.setattr(os, "write", _enospc_after(10))
    with pytest.raises(StorageFull, match="data disk is full"):
        write_json_atomic(target, {"state": "finished", "pad": "x" * 5000})
    monkeypatch.undo()
    assert json.loads(target.read_text(encoding="utf-8")) == {"state": "active", "n": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.json"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)


def test_a_torn_timeline_tail_is_dropped_atomically(tmp_path, monkeypatch):
    """Reopening a timeline with a torn tail rewrites it; a full disk then must not empty it."""
    from kiosk.errors import StorageFull
    from kiosk.timeline import MediaClock, TimelineWriter, read_timeline

    path = tmp_path / "timeline.jsonl"
    tw = TimelineWriter(path, MediaClock())
    for i in range(5):
        tw.append("e", {"i": i}, t=float(i))
    tw.close()
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"seq": 5, "torn')
    real_open = open

    class FullFile:
        """A file opened for writing on a full disk: opening truncates, writing fails."""

        def __init__(self, fh):
            self.fh = fh

        def write(self, _data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def full_open(file, mode="r", *a, **k):
        fh = real_open(file, mode, *a, **k)
        return FullFile(fh) if "w" in mode else fh

    monkeypatch.setattr("kiosk.timeline.open", full_open, raising=False)
    monkeypatch.setattr(os, "write", _enospc_after(0))
    with pytest.raises(StorageFull):
        TimelineWriter(path, MediaClock())
    monkeypatch.undo()
    assert [e["data"]["i"] for e in read_timeline(path)] == [0, 1, 2, 3, 4]


@pytest.fixture()
def app(tmp_path):
    settings = load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], link_ttl_seconds=60, liveness=False, speech=False)
    app = create_app(settings)
    yield app
    app.extensions["kiosk"].shutdown()


def _create(client, **applicant):
    return client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": ID_NUMBER, **applicant},
        "locale": "zh-CN", "flow_id": "quick"})


def test_a_full_disk_at_session_creation_is_a_503_json_and_leaves_nothing(app, monkeypatch):
    from pathlib import Path

    store = app.extensions["kiosk"].store
    before = set(store.sessions_dir.iterdir())

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    # Every way a file gets written: os-level writes and pathlib's helpers.
    monkeypatch.setattr(os, "write", full)
    monkeypatch.setattr(Path, "write_bytes", full)
    monkeypatch.setattr(Path, "write_text", full)
    r = _create(app.test_client())
    monkeypatch.undo()
    assert r.status_code == 503 and r.is_json, r.data[:200]
    body = r.get_json()
    assert body["error"] == "storage_full" and "disk" in body["message"]
    assert set(store.sessions_dir.iterdir()) == before  # no half-made session folder
    with store.db() as db:
        from sqlalchemy import func, select

        from kiosk.store import WitnessRow
        assert db.scalar(select(func.count()).select_from(WitnessRow)) == 0  # and no row
    assert _create(app.test_client()).status_code == 201  # space again: it works


def test_new_sessions_are_refused_below_the_free_space_floor(tmp_path):
    settings = load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=False, speech=False, min_free_mb=10**9)
    app = create_app(settings)
    try:
        r = _create(app.test_client())
        assert r.status_code == 503 and r.get_json()["error"] == "storage_full"
        assert "min_free_mb" in r.get_json()["message"]
        assert list(app.extensions["kiosk"].store.sessions_dir.iterdir()) == []
    finally:
        app.extensions["kiosk"].shutdown()


def test_the_free_space_floor_is_a_setting_with_a_default():
    assert load_settings().min_free_mb == 500
    with pytest.raises(Exception, match="min_free_mb"):
        load_settings(min_free_mb=-1)


# -- PostgreSQL's full disk (SQLSTATE 53100) is storage_full, as SQLite's and ENOSPC are -------

PG_FULL = 'could not extend file "base/16384/16397": No space left on device'


def _wrapped(orig: BaseException) -> BaseException:
    """``orig`` as SQLAlchemy hands it to our code (it wraps psycopg's errors by class)."""
    from sqlalchemy.exc import OperationalError

    return OperationalError("INSERT INTO audit_log ...", {}, orig)


def test_postgresql_disk_full_is_a_full_disk_raw_and_wrapped():
    import sqlite3

    import psycopg.errors

    from kiosk.atomic_files import is_disk_full

    full = psycopg.errors.DiskFull(PG_FULL)
    assert full.sqlstate == "53100"
    assert is_disk_full(full) and is_disk_full(_wrapped(full))
    # the class's generic code counts when the disk is what ran out
    assert is_disk_full(_wrapped(psycopg.errors.InsufficientResources(
        'could not write to file "base/pgsql_tmp/pgsql_tmp1.0": No space left on device')))
    # as before: SQLite's full disk and the operating system's
    assert is_disk_full(_wrapped(sqlite3.OperationalError("database or disk is full")))
    assert is_disk_full(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    assert is_disk_full(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)))


@pytest.mark.parametrize("name, message", [
    ("OutOfMemory", "out of memory"),                                    # 53200
    ("TooManyConnections", "sorry, too many clients already"),          # 53300
    ("ConfigurationLimitExceeded", "temporary file size exceeds temp_file_limit"),  # 53400
    ("InsufficientResources", "could not create shared memory segment"),  # 53000, no disk
    ("DeadlockDetected", "deadlock detected"),                           # 40P01
])
def test_other_postgresql_resource_errors_are_not_a_full_disk(name, message):
    import psycopg.errors

    from kiosk.atomic_files import is_disk_full

    err = getattr(psycopg.errors, name)(message)
    assert not is_disk_full(err) and not is_disk_full(_wrapped(err))
