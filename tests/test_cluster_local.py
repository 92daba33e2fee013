"""A whole cluster on loopback (issue #17, items 3 and 8): Redis, PostgreSQL, moto, two gunicorn
nodes and nginx, started and stopped by the test with ``kiosk.testing.cluster`` (what
``./dev.sh cluster`` runs).

Investors are created through the balancer, open their links there, are sent to the node
chosen for them (``/n/<node>/w/<token>``), join over that node's Socket.IO path and send
camera and microphone over real WebRTC (aiortc). One witness lands on each node. Node B is
then killed (kill -9, master and worker): node A notices B's lease expire and ends B's
witness as ``aborted: node_lost``; after ``lost_node_seal_after_seconds`` A seals what the
shared database holds, marked incomplete, and it reaches the review queue flagged; node B,
started again, seals its own copy (the recording) as a supplement. A's witness is untouched.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import socketio
from sqlalchemy import create_engine, select

from kiosk.review.models import ReviewCase
from kiosk.testing import moto as moto_testing
from kiosk.testing.cluster import LocalCluster, find_nginx, free_port
from kiosk.testing.postgres import ensure_installed as postgres_installed
from kiosk.testing.procs import kiosk_env
from kiosk.testing.redis import ensure_installed as redis_installed
from tests.kiosk_server import make_flows_dir

if find_nginx() is None:
    pytest.skip("nginx is not installed (apt-get install nginx-light)", allow_module_level=True)
for _found, _why in (redis_installed(), postgres_installed(), moto_testing.available()):
    if not _found:
        pytest.skip(str(_why), allow_module_level=True)

APPLICANT = {"name": "张三", "id_number": "110102199003078888"}
# Eight 30 s answer windows: a witness that is surely still live when a node is killed and
# when the other node comes back (speech is off here, so each window passes when it closes).
LONG_FLOW = """\
id: long_witness
version: 1
title: {zh-CN: 长见证, en: Long witness}
locales: [zh-CN, en]
broker: {zh-CN: 示例证券, en: Example Securities}
steps:
""" + "".join(f"""\
  - id: q{i}
    kind: question
    text: {{zh-CN: "第{i}个问题，可以吗？", en: "Question {i}, all right?"}}
    expect: affirm
    answer_seconds: 30
""" for i in range(8))
KIOSK_CLI = str(Path(sys.executable).with_name("kiosk"))  # the venv's console script
WAIT = 90.0  # seconds any one step may take on a loaded 2-core machine (never a speed check)


def wait_for(predicate, what: str, timeout: float = WAIT, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(step)


class Investor:
    """One investor through the balancer, as the page does: opens the link (and follows the
    redirect to its node), joins on that node's Socket.IO path, heartbeats, and sends a
    moving 320x240 camera and a silent microphone over WebRTC."""

    def __init__(self, balancer: str, link: str, loop: asyncio.AbstractEventLoop) -> None:
        self.balancer = balancer
        self.link = link
        self.loop = loop
        self.prefix = ""
        self.session_id: str | None = None
        self.events: list[tuple[str, object]] = []
        self.joined = threading.Event()
        self.answered = threading.Event()
        self.sio = socketio.Client(reconnection=False)
        self.pc = None
        self.sio.on("joined", self._joined)
        self.sio.on("answer", self._answer)
        self.sio.on("*", lambda name, data=None: self.events.append((name, data)))
        self._beating = threading.Event()

    def open(self) -> str:
        """The node prefix the link sends this investor to (the page under it is served)."""
        r = requests.get(self.link, allow_redirects=False, timeout=30)
        assert r.status_code == 307, (r.status_code, r.text[:300])
        location = r.headers["Location"]
        self.prefix = location.split("/w/")[0]
        page = requests.get(self.balancer + location, timeout=30)
        assert page.status_code == 200, page.text[:300]
        assert f'data-base="{self.prefix}"' in page.text
        return self.prefix

    def _joined(self, data) -> None:
        self.session_id = data["session_id"]
        self.joined.set()

    def _answer(self, data) -> None:
        asyncio.run_coroutine_threadsafe(self._set_answer(data["sdp"]), self.loop)

    async def _set_answer(self, sdp: str) -> None:
        from aiortc import RTCSessionDescription

        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self.answered.set()

    def join(self) -> str:
        self.sio.connect(self.balancer, transports=["websocket"], wait_timeout=20,
                         socketio_path=f"{self.prefix}/socket.io")
        self.sio.emit("join", {"token": self.link.rsplit("/", 1)[1]})
        assert self.joined.wait(WAIT), f"not joined: {self.events}"
        self._beating.set()
        threading.Thread(target=self._heartbeat, daemon=True).start()
        return self.session_id or ""

    def _heartbeat(self) -> None:
        while self._beating.is_set():
            if self.sio.connected:
                try:
                    self.sio.emit("heartbeat", {})
                except socketio.exceptions.SocketIOError:
                    return
            time.sleep(2.0)

    def offer(self) -> None:
        sdp = asyncio.run_coroutine_threadsafe(self._make_offer(), self.loop).result(WAIT)
        self.sio.emit("offer", {"sdp": sdp, "type": "offer"})
        assert self.answered.wait(WAIT), f"no answer: {self.events}"

    async def _make_offer(self) -> str:
        from aiortc import RTCPeerConnection
        from aiortc.mediastreams import AudioStreamTrack

        self.pc = RTCPeerConnection()
        self.pc.addTransceiver(moving_camera(), direction="sendonly")
        self.pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())  # gathers candidates
        return self.pc.localDescription.sdp

    def connected(self) -> bool:
        return self.pc is not None and self.pc.connectionState == "connected"

    def close(self) -> None:
        self._beating.clear()
        if self.sio.connected:
            self.sio.disconnect()
        if self.pc is not None:
            asyncio.run_coroutine_threadsafe(self.pc.close(), self.loop).result(30)


def moving_camera():
    """A 320x240 video track at 15 fps whose picture changes every frame."""
    import av
    from aiortc.mediastreams import VideoStreamTrack

    class _Camera(VideoStreamTrack):
        def __init__(self) -> None:
            super().__init__()
            self.n = 0

        async def recv(self):
            pts, _ = await self.next_timestamp()
            self.n += 1
            img = np.full((240, 320, 3), 60, np.uint8)
            x = (self.n * 4) % 300
            img[100:140, x:x + 20] = 230
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = pts, fractions.Fraction(1, 90000)
            return frame

    return _Camera()


@pytest.fixture()
def rtc_loop(monkeypatch):
    import aioice.ice

    if not aioice.ice.get_host_addresses(True, False):  # a namespace with only lo
        monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda a, b: ["127.0.0.1"])
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="investors-rtc", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_witnesses_through_the_balancer_land_on_both_nodes_and_a_killed_nodes_witness_ends_node_lost(  # noqa: E501
        tmp_path, rtc_loop):
    flows = make_flows_dir(tmp_path / "flows")
    (flows / "long_witness.yaml").write_text(LONG_FLOW, encoding="utf-8")
    cluster = LocalCluster(tmp_path / "run", port=free_port(), env={
        "KIOSK_FLOWS_DIR": str(flows),
        "KIOSK_DEFAULT_FLOW": "long_witness",
        "KIOSK_LIVENESS": "false", "KIOSK_SPEECH": "false",  # the routing is under test
        "KIOSK_NODE_CAPACITY": "4",
        # A lease long enough that a live node's heartbeat never lapses on a loaded machine
        # (the nodes run at the test's nice level), short enough for the test.
        "KIOSK_NODE_HEARTBEAT_SECONDS": "1", "KIOSK_NODE_TTL_SECONDS": "8",
        "KIOSK_LOST_NODE_CHECK_SECONDS": "2",
        # B's disk is "lost" until it restarts: A seals the shared state 3 s after the loss.
        "KIOSK_LOST_NODE_SEAL_AFTER_SECONDS": "3",
        "KIOSK_ICE_ALLOW_LOOPBACK": "true", "KIOSK_ICE_PRIVATE_NETWORKS": "0.0.0.0/0,::/0",
        "KIOSK_LOG_FORMAT": "json",
    })
    url = cluster.up()
    api = {"X-API-Key": cluster.state["api_key"]}
    investors: list[Investor] = []
    try:
        # Each node in this session (its scheduler autogroup, where nice ranks it against
        # investors run from here) and in a process group of its own (kill_node, Ctrl-C).
        for name in cluster.names:
            master = cluster.pid(name)
            assert master is not None
            assert os.getsid(master) == os.getsid(0) and os.getpgid(master) == master
        def create() -> str:
            r = requests.post(f"{url}/api/sessions", headers=api, timeout=30,
                              json={"applicant": APPLICANT, "locale": "zh-CN"})
            assert r.status_code == 201, r.text
            link = r.json()["investor_url"]
            assert link.startswith(url + "/w/")  # the public link names the balancer only
            return link

        def loads() -> dict:
            r = requests.get(f"{url}/api/nodes", headers=api, timeout=30)
            return {n["node_id"]: n["load"] for n in r.json()["nodes"]}

        def pin(session_id: str) -> str | None:
            from kiosk.cluster.pins import PIN_KEY
            from kiosk.cluster.redis_store import SharedRedis

            shared = SharedRedis(cluster.state["redis"]["url"])
            try:
                return shared.get(PIN_KEY + session_id)
            finally:
                shared.close()

        def session(session_id: str) -> dict:
            r = requests.get(f"{url}/api/sessions/{session_id}", headers=api, timeout=30)
            assert r.status_code == 200, r.text
            return r.json()

        placed = {}
        for expected in ("node-a", "node-b"):  # both empty: a first (by id), then b (lighter)
            inv = Investor(url, create(), rtc_loop)
            investors.append(inv)
            assert inv.open() == f"/n/{expected}"
            assert inv.open() == f"/n/{expected}"  # opened again: the pin holds
            sid = inv.join()
            inv.offer()
            wait_for(inv.connected, f"WebRTC up on {expected}")
            assert pin(sid) == expected
            wait_for(lambda e=expected: loads().get(e) == 1, f"{expected}'s load in the registry")
            placed[expected] = (inv, sid)

        inv_a, on_a = placed["node-a"]
        inv_b, on_b = placed["node-b"]
        assert session(on_a)["state"] == session(on_b)["state"] == "active"

        cluster.kill_node("node-b")
        wait_for(lambda: session(on_b)["state"] != "active", "B's witness to end")
        ended = session(on_b)
        assert (ended["state"], ended["end_reason"], ended["recovered"]) == (
            "aborted", "node_lost", True)
        assert sorted(loads()) == ["node-a"]
        # A's witness goes on: live, its media connected, never told to end.
        assert session(on_a)["state"] == "active"
        assert inv_a.connected() and inv_a.sio.connected
        assert not [e for e in inv_a.events if e[0] in ("aborted", "finished", "error")]
        # A link created now goes to the node that is left.
        assert Investor(url, create(), rtc_loop).open() == "/n/node-a"

        # B stays down: after the grace A seals the shared state, marked incomplete.
        wait_for(lambda: session(on_b)["sealed"], "B's witness to be sealed by A")
        lost = session(on_b)
        assert (lost["package_id"], lost["finalised"], lost["recording"]) == (on_b, False, None)
        assert lost["evidence"]["incomplete"] is True and "node-b" in lost["evidence"]["note"]
        assert lost["new_attempt_needed"] is True
        archive = tmp_path / "run" / "node-a" / "evidence" / f"{on_b}.tar"
        assert archive.is_file()
        env = kiosk_env({**os.environ, **cluster._node_env("node-a")})
        done = subprocess.run([KIOSK_CLI, "evidence", "verify", str(archive), "--json"],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["package_id"] == on_b
        engine = create_engine(cluster.state["postgres"]["url"])
        try:
            def case():
                with engine.connect() as db:
                    return db.execute(select(ReviewCase.prereview_json)
                                      .where(ReviewCase.id == on_b)).scalar()
            flagged = json.loads(wait_for(case, "B's witness in the review queue"))
            assert [f["code"] for f in flagged["findings"]].count("evidence_incomplete") == 1
            assert flagged["incomplete"]["node"] == "node-b"
        finally:
            engine.dispose()

        # B comes back: its start-up recovery writes the end into B's folder (the recording)
        # and seals it as a supplement; the package A sealed stays the session's.
        cluster.start_node("node-b")
        wait_for(lambda: session(on_b)["evidence"]["supplement"], "B's supplement")
        back = session(on_b)
        assert back["evidence"]["supplement"] == f"{on_b}.supplement"
        assert back["package_id"] == on_b and back["end_reason"] == "node_lost"
        supplement = tmp_path / "run" / "node-b" / "evidence" / f"{on_b}.supplement.tar"
        assert supplement.is_file()
        assert not (tmp_path / "run" / "node-b" / "evidence" / f"{on_b}.tar").exists()
        done = subprocess.run([KIOSK_CLI, "evidence", "verify",
                               str(supplement), "--json"],
                              env=kiosk_env({**os.environ, **cluster._node_env("node-b")}),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["package_id"] == f"{on_b}.supplement"
        assert session(on_a)["state"] == "active"
    finally:
        for inv in investors:
            try:
                inv.close()
            except Exception:  # a socket the killed node took with it
                pass
        cluster.down()
    assert cluster.running() == []


def test_each_node_is_pinned_to_its_cores_and_a_page_whose_node_died_before_join_moves_on(
        tmp_path, rtc_loop):
    """Bugs G and C of issue #17: ``./dev.sh cluster`` pins each node process to its own
    cores, so each reports ``witnesses_per_core`` x its cores; an investor whose node is
    killed before ``join`` reaches the other node, from a reload of the node's page as from
    the plain link, and never sees nginx's 502."""
    cluster = LocalCluster(tmp_path / "run", port=free_port(), env={
        "KIOSK_FLOWS_DIR": str(make_flows_dir(tmp_path / "flows")),
        "KIOSK_LIVENESS": "false", "KIOSK_SPEECH": "false",
        "KIOSK_WITNESSES_PER_CORE": "3",
        "KIOSK_NODE_HEARTBEAT_SECONDS": "1", "KIOSK_NODE_TTL_SECONDS": "8",
        "KIOSK_DRAIN_GRACE_SECONDS": "2",
    })
    url = cluster.up()
    api = {"X-API-Key": cluster.state["api_key"]}
    try:
        usable = sorted(os.sched_getaffinity(0))
        taken: set[int] = set()
        for name in cluster.names:
            cores = cluster.cores(name)
            master = cluster.pid(name)
            assert master is not None
            if len(usable) >= len(cluster.names):  # one node per core at least: pinned
                assert cores and not taken & set(cores)
                taken |= set(cores)
                assert sorted(os.sched_getaffinity(master)) == cores
            else:
                assert cores is None
            capacity = requests.get(cluster.node_url(name) + "/api/capacity", timeout=30).json()
            assert capacity["node_id"] == name
            assert capacity["capacity"] == 3 * len(cores or usable)
        assert cluster.drain_grace() == 2.0  # the caller's setting, not the fixed 5 s

        def create() -> str:
            r = requests.post(f"{url}/api/sessions", headers=api, timeout=30,
                              json={"applicant": APPLICANT, "locale": "zh-CN",
                                    "flow_id": "quick"})
            assert r.status_code == 201, r.text
            return r.json()["investor_url"]

        def node_of(link: str) -> str:
            r = requests.get(link, allow_redirects=False, timeout=30)
            assert r.status_code == 307, r.text[:300]
            return r.headers["Location"].split("/w/")[0]

        # Three links opened: the first and third land on node A (both empty: A by id; then
        # B, the lighter; then A again).
        links = [create() for _ in range(3)]
        assert [node_of(link) for link in links] == ["/n/node-a", "/n/node-b", "/n/node-a"]
        first, third = links[0], links[2]
        cluster.kill_node("node-a")

        def reaches_b(address: str) -> None:
            page = requests.get(address, timeout=30)  # following every redirect, as a browser
            statuses = [r.status_code for r in page.history] + [page.status_code]
            assert 502 not in statuses and "Bad Gateway" not in page.text, statuses
            assert page.status_code == 200, (statuses, page.text[:300])
            assert page.url.startswith(f"{url}/n/node-b/w/"), page.url
            assert 'data-base="/n/node-b"' in page.text

        # The busy page's retry of the dead node's address, and the plain link.
        token = first.rsplit("/", 1)[1]
        reaches_b(f"{url}/n/node-a/w/{token}")
        assert node_of(first) == "/n/node-b"  # re-pinned: a click on the link goes there too
        reaches_b(third)
        # The investor goes on there: joins over node B's Socket.IO.
        inv = Investor(url, third, rtc_loop)
        inv.prefix = "/n/node-b"
        try:
            assert inv.join()
        finally:
            inv.close()
    finally:
        cluster.down()
    assert cluster.running() == []
    assert not (tmp_path / "run" / "node-a").exists()  # down removes the nodes' data
