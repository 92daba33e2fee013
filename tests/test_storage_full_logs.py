"""What the log says when the data disk fills (issue #13 retest, new 4).

On a 30 MB tmpfs filled during a witness, the server logged the recorder's failure as ERRORs
with a traceback, under session ``-``, naming the recording by its absolute path; a WARNING
for every write that failed after it and five more every 10 s while the end waited for space;
and the 503 refusal of a new session at ERROR. Now the session says it once: one WARNING, with
its id, naming the file by its name; a 503 refusal is a WARNING; real faults keep their
tracebacks.
"""

from __future__ import annotations

import asyncio
import errno
import io
import logging
import os
import time
from pathlib import Path

import pytest
import requests

from kiosk.config import load_settings
from kiosk.logs import SessionFilter
from kiosk.timeline import read_timeline
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir
from tests.logfilters import is_load_warning
from tests.test_storage_full_live import Disk, join, received

ID_NUMBER = "110102199003078888"


@pytest.fixture()
def logs(caplog):
    """caplog at DEBUG, each record tagged with its session as the service's handler does."""
    caplog.handler.addFilter(SessionFilter())
    caplog.set_level(logging.DEBUG)
    return caplog


def kiosk_records(caplog, level: int = logging.DEBUG) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("kiosk") and r.levelno >= level]


class FillingFile(io.FileIO):
    """A file on a disk with ``room`` bytes left: writing past them fails as ENOSPC."""

    def __init__(self, path, mode: str, room: int):
        super().__init__(path, mode.replace("b", ""))
        self.room = room

    def write(self, data) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        data = bytes(data)[: self.room]
        n = super().write(data)
        self.room -= n
        return n


def test_a_recording_that_fills_the_disk_is_said_once_and_what_it_holds_is_sealed(
        tmp_path, monkeypatch, logs, barcode_video, tone_audio):
    """A real witness over WebRTC (kiosk simulate's investor against an app in this
    process), whose recording file has 60 KB of room."""
    import aioice.ice

    from kiosk.media.simulate import run_investor
    from kiosk.testing.server import serve_in_thread

    if not aioice.ice.get_host_addresses(True, False):  # a loopback-only host (stack-facts)
        monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda a, b: ["127.0.0.1"])
    monkeypatch.setattr("kiosk.media.recorder.open",
                        lambda path, mode, buffering=-1: FillingFile(path, mode, 60_000),
                        raising=False)
    data_dir = tmp_path / "data"
    app = create_app(load_settings(
        data_dir=data_dir, flows_dir=make_flows_dir(tmp_path / "flows"), api_keys=[API_KEY],
        liveness=False, speech=False, ice_allow_loopback=True,
        ice_private_networks=["0.0.0.0/0", "::/0"]))
    services = app.extensions["kiosk"]
    try:
        with serve_in_thread(app) as url:
            r = requests.post(url + "/api/sessions", headers={"X-API-Key": API_KEY}, json={
                "applicant": {"name": "张三", "id_number": ID_NUMBER}, "flow_id": "quick"},
                timeout=10)
            assert r.status_code == 201, r.text
            session_id = r.json()["session_id"]
            token = r.json()["investor_url"].rsplit("/", 1)[1]
            result = asyncio.run(run_investor(f"{url}/w/{token}", barcode_video, tone_audio,
                                              audio_mode="loop", timeout=60))
            assert (result.state, result.reason) == ("aborted", "storage_full"), result.as_dict()
            deadline = time.monotonic() + 30
            while services.store.get(session_id).sealed_at is None:
                assert time.monotonic() < deadline, "the session was not sealed"
                time.sleep(0.1)
    finally:
        services.shutdown()
    row = services.store.get(session_id)
    assert (row.state, row.end_reason) == ("aborted", "storage_full")
    assert row.sealed_at is not None  # the timeline had room: sealed at once
    events = read_timeline(services.store.session_dir(session_id) / "timeline.jsonl")
    (finalised,) = [e["data"] for e in events if e["type"] == "recording_finalised"]
    assert finalised["video_frames"] > 0, finalised  # what was recorded is in the package

    # (Warnings about the machine's load are not about the disk.)
    warnings = [r for r in kiosk_records(logs, logging.WARNING) if not is_load_warning(r)]
    assert [(r.levelname, r.session) for r in warnings] == [("WARNING", session_id)], [
        (r.levelname, r.session, r.getMessage()) for r in warnings]
    said = warnings[0].getMessage()
    assert said.startswith("storage_full: the data disk is full (writing recording.mkv)")
    assert "recording stopped" in said and "sealed" in said, said
    assert warnings[0].exc_info is None and "Traceback" not in logs.text
    # The recorder's own lines carry the session too, and no line names a server path.
    recorder = [r for r in kiosk_records(logs) if r.name == "kiosk.media.recorder"]
    assert recorder and {r.session for r in recorder} == {session_id}
    leaked = [r.getMessage() for r in kiosk_records(logs) if str(data_dir) in r.getMessage()
              and r.name != "kiosk.migrations"]  # the database's address, once at start
    assert leaked == []


def test_a_full_disk_is_one_warning_however_many_writes_and_retries_fail(
        tmp_path, monkeypatch, logs):
    """The timeline, the end's parts and every retry of them fail while the disk is full:
    one WARNING for the session; then one INFO when its end is written."""
    monkeypatch.setattr("kiosk.witness.runner.END_RETRY_SECONDS", 0.2)
    app = create_app(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=False, speech=False, socket_join_seconds=30))
    services = app.extensions["kiosk"]
    try:
        disk = Disk(monkeypatch)
        sock, session_id = join(app)
        runner = services.live()[0]
        disk.full = True
        sock.emit("client_error", {"code": "media_error"})
        assert received(sock, "aborted") == [{"reason": "storage_full", "state": "aborted"}]
        assert runner.finalised.wait(20)
        deadline = time.monotonic() + 20
        while runner._end_attempts < 4:  # the end was tried again, and failed again
            assert time.monotonic() < deadline, "the end was not tried again"
            time.sleep(0.05)
        assert not runner.end_written.is_set()
        disk.full = False
        assert runner.end_written.wait(20)
    finally:
        services.shutdown()
    ours = [r for r in kiosk_records(logs) if getattr(r, "session", None) == session_id]
    warnings = [r for r in ours if r.levelno >= logging.WARNING and not is_load_warning(r)]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING", [
        r.getMessage() for r in warnings]
    assert warnings[0].getMessage().startswith(
        "storage_full: the data disk is full (writing timeline event client_error)")
    failed_later = [r for r in ours if r.levelno == logging.DEBUG and "disk is full" in
                    r.getMessage()]
    assert len(failed_later) >= 4  # each later failure is still there, at DEBUG
    assert any(r.levelno == logging.INFO and "the end of the session is written, at attempt"
               in r.getMessage() for r in ours)
    assert not [r for r in kiosk_records(logs, logging.ERROR)] and "Traceback" not in logs.text


def test_a_503_refusal_of_a_new_session_is_a_warning_without_a_traceback(tmp_path, logs):
    app = create_app(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=False, speech=False, min_free_mb=10**9))
    try:
        r = app.test_client().post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
            "applicant": {"name": "张三", "id_number": ID_NUMBER}, "flow_id": "quick"})
    finally:
        app.extensions["kiosk"].shutdown()
    assert r.status_code == 503 and r.get_json()["error"] == "storage_full"
    said = [r for r in kiosk_records(logs, logging.WARNING) if not is_load_warning(r)]
    assert [(r.levelname, r.getMessage()[:40]) for r in said] == [
        ("WARNING", "session refused (503 storage_full): the ")]
    assert said[0].exc_info is None


def test_a_remux_onto_a_full_disk_is_storage_full_and_keeps_the_live_file(tmp_path, caplog):
    """ffmpeg writes the seekable copy itself: a full disk there was a MediaError ("remuxing
    /abs/path failed"), logged as a torn *input*, and recorded as recording_missing while the
    live recording was still on disk. /dev/full is a real ENOSPC from the kernel."""
    from kiosk.errors import StorageFull
    from kiosk.media.remux import finalise_recording
    from kiosk.witness.finalise import finalise_session_recording

    if not Path("/dev/full").exists():
        pytest.fail("/dev/full is missing: this test needs a device that is always full")
    live = _small_recording(tmp_path / "recording.mkv")
    part = tmp_path / "recording.webm.part"
    part.symlink_to("/dev/full")  # where the remux writes before renaming
    recorded: list = []
    with caplog.at_level(logging.INFO), pytest.raises(StorageFull, match="recording.webm"):
        finalise_session_recording(tmp_path, lambda t, d: recorded.append((t, d)))
    assert recorded == []  # never "recording_missing" for a recording that exists
    assert live.exists() and not part.exists() and not (tmp_path / "recording.webm").exists()
    assert "ends early" not in caplog.text and str(tmp_path) not in caplog.text
    info = finalise_recording(live, tmp_path / "recording.webm", decode=False)  # room again
    assert info["video_packets"] == 30


def _small_recording(path: Path) -> Path:
    import fractions

    import av

    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_mux_stream("vp8", width=64, height=48)
        stream.time_base = fractions.Fraction(1, 1000)
        out.start_encoding()
        for i in range(30):
            packet = av.Packet(os.urandom(500))
            packet.stream = stream
            packet.time_base = fractions.Fraction(1, 1000)
            packet.pts = packet.dts = i * 66
            packet.is_keyframe = True
            out.mux(packet)
    return path
