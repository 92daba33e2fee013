"""Several nodes sharing one Redis (issue #17, item 2): cross-node Socket.IO emits, the node
registry with its heartbeat TTL, session pins and the per-address login throttle.

Each test builds two apps (two ``create_app`` with the same ``redis_url``, each with its own
data folder and node id) against a real ``redis-server`` on loopback (kiosk.testing.redis).
"""

from __future__ import annotations

import threading
import time

import pytest
import socketio

from kiosk.config import load_settings
from kiosk.errors import ConfigError
from kiosk.review.accounts import LoginRefused, add_user
from kiosk.review.console import register as register_review
from kiosk.testing.redis import TempRedis, ensure_installed, subscribers
from kiosk.testing.server import serve_in_thread
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir

PW = "correct horse battery"


@pytest.fixture()
def make_node(tmp_path, redis_server):
    """make_node(name, **settings): an app on the session's Redis, under its own prefix per
    test (so tests never see each other's keys), shut down at the end."""
    apps = []
    prefix = f"t{time.monotonic_ns()}:"

    def make(name: str, redis_url: str | None = None, **settings):
        values = dict(data_dir=tmp_path / name, flows_dir=make_flows_dir(tmp_path / "flows"),
                      api_keys=[API_KEY], liveness=False, speech=False,
                      redis_url=redis_url or redis_server.url(), redis_prefix=prefix,
                      node_id=name, public_url=f"https://{name}.kiosk.test",
                      socket_join_seconds=60)
        values.update(settings)
        app = create_app(load_settings(**values))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["kiosk"].shutdown()


def _wait(predicate, timeout: float = 20.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def _nodes(app) -> dict:
    r = app.test_client().get("/api/nodes", headers={"X-API-Key": API_KEY})
    assert r.status_code == 200, r.get_data(as_text=True)
    return {n["node_id"]: n for n in r.get_json()["nodes"]}


# -- the Socket.IO message queue ------------------------------------------------------------

def test_an_emit_on_one_node_reaches_a_client_connected_to_the_other(make_node, redis_server):
    a, b = make_node("node-a"), make_node("node-b")
    channel = f"{a.extensions['kiosk'].settings.redis_prefix}socketio"
    got: list = []
    arrived = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on("kiosk_test")
    def _on(data):
        got.append(data)
        arrived.set()

    with serve_in_thread(b) as url_b:
        client.connect(url_b, transports=["websocket"], wait_timeout=10)
        try:
            # Node B subscribes to the queue when its first client connects.
            assert _wait(lambda: subscribers(redis_server.port, channel) >= 1), \
                "node B never subscribed to the message queue"
            # Node A has no such client: only the queue can carry the emit to node B.
            a.extensions["socketio"].emit("kiosk_test", {"from": "node-a"}, to=client.get_sid())
            assert arrived.wait(10), "the emit from node A did not reach the client on node B"
        finally:
            client.disconnect()
    assert got == [{"from": "node-a"}]


def test_without_redis_the_app_has_no_message_queue(tmp_path):
    app = create_app(load_settings(data_dir=tmp_path / "d", liveness=False, speech=False))
    try:
        manager = app.extensions["socketio"].server.manager
        assert type(manager).__name__ == "Manager"  # the in-process default
        assert app.extensions["kiosk"].cluster is None
        assert "cluster" not in app.test_client().get("/api/health").get_json()
    finally:
        app.extensions["kiosk"].shutdown()


# -- the node registry ------------------------------------------------------------------------

def test_both_nodes_are_listed_and_a_silent_node_drops_out_after_its_ttl(make_node):
    fast = dict(node_heartbeat_seconds=0.2, node_ttl_seconds=1.0, node_capacity=4)
    a, b = make_node("node-a", **fast), make_node("node-b", **fast)
    nodes = _nodes(a)
    assert sorted(nodes) == ["node-a", "node-b"]
    assert nodes["node-b"]["url"] == "https://node-b.kiosk.test"
    assert (nodes["node-b"]["load"], nodes["node-b"]["capacity"],
            nodes["node-b"]["draining"]) == (0, 4, False)
    health = a.test_client().get("/api/health").get_json()
    assert health["cluster"] == {"node_id": "node-a", "redis": "ok", "nodes_live": 2}

    # Node B freezes (no clean stop): its registration outlives it by at most the TTL.
    b.extensions["kiosk"].cluster.registry.stop(deregister=False)
    assert _wait(lambda: sorted(_nodes(a)) == ["node-a"], timeout=15), _nodes(a)
    # Node A kept beating all along: its own 1 s key never lapsed.
    assert "node-a" in _nodes(b)


def test_a_node_that_stops_leaves_at_once_and_a_draining_node_says_so(make_node):
    a, b = make_node("node-a"), make_node("node-b")  # TTL 10 s: nothing expires here
    b.extensions["kiosk"].drain()
    assert _nodes(a)["node-b"]["draining"] is True
    r = b.test_client().get("/api/ready")
    assert r.status_code == 503 and r.get_json() == {"ready": False, "draining": True}
    assert a.test_client().get("/api/ready").status_code == 200
    b.extensions["kiosk"].shutdown()
    assert sorted(_nodes(a)) == ["node-a"]


def test_nodes_needs_the_api_key(make_node):
    a = make_node("node-a")
    assert a.test_client().get("/api/nodes").status_code == 401


def test_the_load_is_the_live_witness_count(make_node):
    from kiosk.cluster.nodes import NodeRegistry

    a = make_node("node-a")
    cluster = a.extensions["kiosk"].cluster
    other = NodeRegistry(cluster.shared, "node-x", "https://x", 5, lambda: 2)
    other.beat()
    assert _nodes(a)["node-x"]["load"] == 2
    other.stop()
    assert "node-x" not in _nodes(a)


# -- session pins -----------------------------------------------------------------------------

def test_a_joined_session_is_pinned_to_its_node_until_it_ends(make_node):
    from kiosk.cluster.pins import PIN_MARGIN_SECONDS

    a, b = make_node("node-a"), make_node("node-b")
    client = a.test_client()
    r = client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": "110102199003078888"}, "flow_id": "quick"})
    assert r.status_code == 201, r.get_data(as_text=True)
    session_id = r.get_json()["session_id"]
    token = r.get_json()["investor_url"].rsplit("/", 1)[1]
    cluster_b = b.extensions["kiosk"].cluster
    assert cluster_b.pins.node_of(session_id) is None  # created, not joined: no pin

    joined = threading.Event()
    sock = socketio.Client(reconnection=False)  # Flask-SocketIO's test client refuses queues
    sock.on("joined", lambda _data: joined.set())
    services = a.extensions["kiosk"]
    with serve_in_thread(a) as url_a:
        sock.connect(url_a, transports=["websocket"], wait_timeout=10)
        try:
            sock.emit("join", {"token": token})
            assert joined.wait(20), "the investor never joined"
            # Any node can look the pin up, and the registry gives that node's address.
            assert cluster_b.pins.node_of(session_id) == "node-a"
            assert cluster_b.registry.node("node-a").url == "https://node-a.kiosk.test"
            ttl = cluster_b.shared.ttl_seconds(f"pin:{session_id}")
            assert ttl is not None and PIN_MARGIN_SECONDS < ttl <= PIN_MARGIN_SECONDS + 90 * 10
            sock.emit("cancel", {})
            assert _wait(lambda: not services.live()), "the cancelled witness did not end"
        finally:
            sock.disconnect()
    assert cluster_b.pins.node_of(session_id) is None


# -- the login throttle per address -------------------------------------------------------------

def test_failed_logins_from_one_address_count_across_both_nodes(make_node):
    a, b = make_node("node-a"), make_node("node-b")
    limits = {"poll_seconds": 0, "max_failed_logins": 1000, "max_failed_logins_per_address": 3}
    for app in (a, b):
        register_review(app, app.extensions["kiosk"], config=limits)
    add_user(a.extensions["kiosk"].store, "alice", PW, "auditor")
    add_user(b.extensions["kiosk"].store, "alice", PW, "auditor")
    throttles = [app.extensions["review"].throttle for app in (a, b)]
    for throttle in (throttles[0], throttles[1], throttles[0]):  # 3 failures, on two nodes
        with pytest.raises(LoginRefused) as refused:
            throttle.login("alice", "wrong password!", ip="203.0.113.9")
        assert refused.value.code == "bad_password"
    # Node B saw one failure itself; the right password is still refused from that address.
    with pytest.raises(LoginRefused) as refused:
        throttles[1].login("alice", PW, ip="203.0.113.9")
    assert refused.value.code == "address_throttled"
    assert throttles[1].login("alice", PW, ip="203.0.113.10").username == "alice"


def test_the_console_login_form_is_throttled_across_nodes(make_node):
    a, b = make_node("node-a"), make_node("node-b")
    limits = {"poll_seconds": 0, "max_failed_logins": 1000, "max_failed_logins_per_address": 2}
    for app in (a, b):
        register_review(app, app.extensions["kiosk"], config=limits)
        add_user(app.extensions["kiosk"].store, "alice", PW, "auditor")

    def login(app, password):
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = "198.51.100.20"
        tok = c.get("/review/api/csrf").get_json()["csrf_token"]
        return c.post("/review/api/login", json={"username": "alice", "password": password},
                      headers={"X-CSRF-Token": tok})

    assert login(a, "nope nope nope").status_code == 401
    assert login(b, "nope nope nope").status_code == 401
    assert login(b, PW).status_code == 401  # two failures from this address, one per node


# -- Redis down -------------------------------------------------------------------------------

def test_a_node_refuses_to_start_when_redis_does_not_answer(tmp_path, redis_server):
    dead = TempRedis(redis_server.binary).start()
    url = dead.url()
    dead.stop()
    with pytest.raises(ConfigError, match="KIOSK_REDIS_URL names a Redis server"):
        create_app(load_settings(data_dir=tmp_path / "d", liveness=False, speech=False,
                                 redis_url=url, redis_timeout_seconds=0.5))


def test_while_redis_is_down_the_node_is_not_ready_and_logins_are_refused(make_node):
    binary, why = ensure_installed()
    assert binary is not None, why
    own = TempRedis(binary).start()  # this test stops it: not the shared server
    try:
        a = make_node("node-a", redis_url=own.url(), redis_timeout_seconds=0.5)
        register_review(a, a.extensions["kiosk"], config={"poll_seconds": 0})
        add_user(a.extensions["kiosk"].store, "alice", PW, "auditor")
        assert a.test_client().get("/api/ready").status_code == 200
        own.pause()
        r = a.test_client().get("/api/ready")
        assert r.status_code == 503 and r.get_json() == {"ready": False, "redis": "unreachable"}
        assert a.test_client().get("/api/health").get_json()["cluster"]["redis"] == "unreachable"
        assert a.test_client().get("/api/nodes", headers={"X-API-Key": API_KEY}).status_code \
            == 503
        with pytest.raises(LoginRefused) as refused:
            a.extensions["review"].throttle.login("alice", PW, ip="203.0.113.9")
        assert refused.value.code == "throttle_unavailable"
        own.resume()
        assert a.test_client().get("/api/ready").status_code == 200
        assert a.extensions["review"].throttle.login("alice", PW, ip="203.0.113.9")
    finally:
        own.stop()


# -- routing a burst --------------------------------------------------------------------------

def test_a_burst_of_investors_is_spread_over_the_nodes_before_any_heartbeat_counts_them(
        make_node):
    """Eight investors open their links at once: heartbeats (every 3 s) still say both nodes
    are empty, yet the routes go 4 and 4, not all to node-a (`kiosk loadtest --n 8` against
    two nodes had put 6 on one and 2 on the other). A beat that counts a routed witness as
    live clears its route, so it is never counted twice."""
    from kiosk.flows import FlowLibrary

    a, b = make_node("node-a", node_capacity=6), make_node("node-b", node_capacity=6)
    cluster = a.extensions["kiosk"].cluster
    flow = FlowLibrary(a.extensions["kiosk"].settings.flows_dir).get("quick")
    routes = [cluster.route_session(f"s{i}", flow, joined=False) for i in range(8)]
    assert sorted(routes) == ["node-a"] * 4 + ["node-b"] * 4, routes
    loads = {n.node_id: n.load for n in cluster.live_nodes_with_pending()}
    assert loads == {"node-a": 4, "node-b": 4}
    # A reload of a routed link follows its pin and adds nothing.
    assert cluster.route_session("s0", flow, joined=False) == routes[0]
    assert cluster.registry.pending(routes[0]) == 4

    # node-b's beat now counts two of its routed witnesses as live: their routes are cleared
    # and the load stays 4, not 6.
    on_b = [f"s{i}" for i, node in enumerate(routes) if node == "node-b"]
    registry_b = b.extensions["kiosk"].cluster.registry
    registry_b.live_ids = lambda: on_b[:2]
    registry_b.beat()
    assert cluster.registry.pending("node-b") == 2
    assert {n.node_id: n.load for n in cluster.live_nodes_with_pending()}["node-b"] == 4
