"""``kiosk serve`` under gunicorn's gthread worker (issue #17, item 1): a real Socket.IO client
over the websocket transport and an HTTP API call against it, then SIGTERM mid-witness: the
node drains (no new witness joins, a live one may still end by itself), and the witness still
live when the grace runs out ends as ``aborted: server_shutdown`` and is sealed."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import psutil
import requests
import socketio

from kiosk.config import load_settings
from kiosk.evidence import EvidenceKeys, verify_package
from kiosk.testing.procs import scheduler_autogroup
from kiosk.web.production import bind_address, gunicorn_options, serving_threads
from tests.kiosk_server import KioskServer

GRACE = 15  # seconds the drained node lets live witnesses run (the test needs only a few)


def _wait(predicate, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def _join(server, created) -> tuple[socketio.Client, list]:
    """An investor's socket (websocket transport) that joins and, like the page, sends a
    heartbeat every second until it disconnects."""
    client = socketio.Client(reconnection=False)
    got: list = []
    client.on("*", lambda event, data=None: got.append((event, data)))
    client.connect(server.url, transports=["websocket"], wait_timeout=10)
    client.emit("join", {"token": created["investor_url"].rsplit("/", 1)[1]})
    _wait(lambda: got, what="an answer to join")

    def beat() -> None:
        while client.connected:
            try:
                client.emit("heartbeat", {})
            except socketio.exceptions.SocketIOError:
                return
            client.sleep(1)

    threading.Thread(target=beat, daemon=True).start()
    return client, got


def test_the_worker_has_a_thread_for_every_socket_and_no_preload():
    s = load_settings(socket_max_connections=50, serve_thread_headroom=10, node_capacity=8,
                      drain_grace_seconds=100, drain_finalise_seconds=20, port=5123)
    opts = gunicorn_options(s)
    assert serving_threads(s) == 68  # waiting to join, joined (node_capacity), HTTP
    assert (opts["workers"], opts["worker_class"], opts["threads"]) == (1, "gthread", 68)
    assert opts["preload_app"] is False
    assert opts["graceful_timeout"] == 120  # the master waits for the grace and the seals
    assert opts["bind"] == ["127.0.0.1:5123"]
    assert bind_address("::1", 80) == "[::1]:80"


def test_sigterm_drains_then_ends_and_seals_the_witnesses_still_live(tmp_path):
    server = KioskServer(tmp_path / "data", production=True,
                         KIOSK_DRAIN_GRACE_SECONDS=str(GRACE)).start()
    try:
        # An API call and two investors on websockets, served by the gthread worker.
        r = requests.get(server.url + "/api/ready", timeout=10)
        assert r.status_code == 200, r.text
        leaving, staying, late = (server.create(flow="quick") for _ in range(3))
        c1, got1 = _join(server, leaving)
        c2, got2 = _join(server, staying)
        assert got1[0][0] == "joined" and got2[0][0] == "joined", (got1, got2)
        # gunicorn's master (the process started) serves through one worker process.
        assert len(psutil.Process(server.proc.pid).children()) == 1
        ids = {server.session(leaving["session_id"])["state"],
               server.session(staying["session_id"])["state"]}
        assert ids == {"active"}

        server.proc.send_signal(signal.SIGTERM)  # the master, as systemd or Kubernetes does
        _wait(lambda: requests.get(server.url + "/api/ready", timeout=5).status_code == 503,
              what="the node to report draining")
        assert requests.get(server.url + "/api/ready", timeout=5).json()["draining"] is True
        # No new witness starts on a draining node, and its link stays unused.
        c3, got3 = _join(server, late)
        assert got3[0][0] == "error" and got3[0][1]["code"] == "node_draining", got3
        assert server.session(late["session_id"])["state"] == "created"
        c3.disconnect()
        # Live witnesses go on during the grace; one ends by itself (the investor leaves).
        assert server.session(staying["session_id"])["state"] == "active"
        c1.disconnect()
        _wait(lambda: server.session(leaving["session_id"])["finalised"],
              what="the leaving witness to end")
        # The other is still live when the grace runs out: ended, sealed, then the node stops.
        assert server.proc.wait(GRACE + 90) == 0, server.log()
        c2.disconnect()
    finally:
        server.stop()

    def ended(created) -> tuple[str, str]:
        meta = json.loads((server.session_dir(created["session_id"]) / "session.json")
                          .read_text(encoding="utf-8"))
        return meta["state"], meta["end_reason"]

    assert ended(leaving) == ("aborted", "disconnected")
    assert ended(staying) == ("aborted", "server_shutdown")
    assert ("aborted", {"reason": "server_shutdown"}) in [
        (e, {"reason": d.get("reason")}) for e, d in got2 if isinstance(d, dict)], got2
    keyring = EvidenceKeys(server.data_dir / "keys").keyring()
    for created in (leaving, staying):
        archive = server.data_dir / "evidence" / f"{created['session_id']}.tar"
        assert archive.exists(), server.log()
        report = verify_package(archive, keyring=keyring,
                                ledger=server.data_dir / "ledger.jsonl")
        assert report.ok, report.problems
    assert not (server.data_dir / "evidence" / f"{late['session_id']}.tar").exists()



def test_the_load_harness_keeps_gunicorn_in_its_session_and_kills_it_as_a_group(tmp_path):
    # kiosk loadtest --gunicorn ran the server in a session of its own: a scheduler autogroup
    # of its own, where the investors' nice 19 no longer left it the cores, and it lost media.
    server = KioskServer(tmp_path / "data", production=True).start()
    try:
        master = server.proc.pid
        (worker,) = psutil.Process(master).children()
        assert os.getsid(master) == os.getsid(worker.pid) == os.getsid(0)
        # The same autogroup too, where the kernel names it (None on all three where it does not).
        groups = {scheduler_autogroup(pid) for pid in (master, worker.pid, os.getpid())}
        assert len(groups) == 1
        # Still a process group of its own: kill -9 takes the master and its worker at once.
        assert os.getpgid(master) == os.getpgid(worker.pid) == master != os.getpgid(0)
        server.kill9()
        worker.wait(10)
        assert not worker.is_running()
    finally:
        server.stop()
