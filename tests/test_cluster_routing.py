"""Routing a witness to its node by path (issue #17, item 3; kiosk.cluster.routing).

The pure parts (slugs, the choice of node, the balancer's config, the prefix middleware)
are tested alone; the pages and Socket.IO under ``/n/<node>/`` with two apps on a real Redis
(kiosk.testing.redis), as in test_multinode_redis. The whole path through a real nginx, with
gunicorn nodes and WebRTC, is tests/test_cluster_local.py.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import requests
import socketio

from kiosk.cluster.nodes import NodeInfo
from kiosk.cluster.routing import (
    BalancedNode,
    NodePathPrefix,
    balancer_config,
    choose_node,
    node_prefix,
    node_slug,
    site_config,
)
from kiosk.config import load_settings
from kiosk.errors import ConfigError
from kiosk.media.simulate import open_link, run_investor
from kiosk.recovery import recover_interrupted, recover_lost_nodes
from kiosk.testing.server import serve_in_thread
from kiosk.web.app import create_app
from kiosk.witness.finalise import write_session_meta
from tests.kiosk_server import API_KEY, make_flows_dir

APPLICANT = {"name": "张三", "id_number": "110102199003078888"}


def node(node_id: str, load: int = 0, capacity: int = 4, draining: bool = False) -> NodeInfo:
    return NodeInfo(node_id, f"https://{node_id}", load, capacity, draining, 0.0)


# -- the pure parts -----------------------------------------------------------------------------

def test_a_node_id_becomes_one_path_segment():
    assert node_slug("node-a") == "node-a"
    assert node_slug("kiosk-1.example:5001") == "kiosk-1.example_5001"
    assert node_slug("a/b?c#d e") == "a_b_c_d_e"
    assert node_prefix("host:5000") == "/n/host_5000"
    for bad in ("", ".", ".."):
        with pytest.raises(ValueError, match="cannot name a path segment"):
            node_slug(bad)


def test_the_witness_goes_to_the_open_node_with_the_lowest_load_per_place():
    assert choose_node([]) is None
    assert choose_node([node("a", draining=True)]) is None
    # a ratio, not a count: 2 of 8 is lighter than 1 of 2
    assert choose_node([node("a", 1, 2), node("b", 2, 8)]).node_id == "b"
    # equal ratios: the most free places, then the id
    assert choose_node([node("a", 0, 2), node("b", 0, 4)]).node_id == "b"
    assert choose_node([node("b", 1, 4), node("a", 1, 4)]).node_id == "a"
    # a draining node never, however empty
    assert choose_node([node("a", 0, 4, draining=True), node("b", 3, 4)]).node_id == "b"
    # a full node only when every node is full: the least loaded one
    assert choose_node([node("a", 4, 4), node("b", 3, 4)]).node_id == "b"
    assert choose_node([node("a", 5, 4), node("b", 4, 4)]).node_id == "b"


def test_the_prefix_middleware_serves_only_this_nodes_prefix():
    seen = []

    def app(environ, start_response):
        seen.append((environ["SCRIPT_NAME"], environ["PATH_INFO"]))
        return []

    mw = NodePathPrefix(app, "host:5001")
    for path in ("/n/host_5001/w/abc", "/n/host_5001", "/n/host_50012/x", "/n/other/w/abc",
                 "/w/abc"):
        mw({"SCRIPT_NAME": "", "PATH_INFO": path}, None)
    assert seen == [("/n/host_5001", "/w/abc"), ("/n/host_5001", "/"),
                    ("", "/n/host_50012/x"), ("", "/n/other/w/abc"), ("", "/w/abc")]


def test_a_balanced_node_is_an_id_and_a_host_port():
    assert BalancedNode.parse(" node-a = 10.0.0.5:5001 ") == BalancedNode("node-a", "10.0.0.5:5001")
    assert BalancedNode.parse("b=[::1]:5002").address == "[::1]:5002"
    with pytest.raises(ValueError, match="write NODE_ID=HOST:PORT"):
        BalancedNode.parse("10.0.0.5:5001")
    with pytest.raises(ValueError, match="is not host:port"):
        BalancedNode.parse("a=10.0.0.5")
    with pytest.raises(ValueError, match="is not host:port"):
        BalancedNode.parse("a=10.0.0.5:70000")
    with pytest.raises(ValueError, match="is not host:port"):
        BalancedNode.parse("a=10.0.0.5:80; return 200")


def test_the_balancer_routes_each_prefix_to_its_node_and_the_rest_to_any_node():
    nodes = [BalancedNode("node-a", "127.0.0.1:5001"), BalancedNode("h:5002", "127.0.0.1:5002")]
    conf = site_config(nodes, "127.0.0.1:8080")
    assert "location /n/node-a/ {\n            proxy_pass http://127.0.0.1:5001;" in conf
    assert "location /n/h_5002/ {\n            proxy_pass http://127.0.0.1:5002;" in conf
    assert conf.count("server 127.0.0.1:500") == 2  # both in the round robin for the rest
    assert "remote_addr" not in conf and "ip_hash" not in conf  # never on the client's address
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    with pytest.raises(ValueError, match="share a path segment"):
        site_config([BalancedNode("h:1", "127.0.0.1:1"), BalancedNode("h_1", "127.0.0.1:2")],
                    "127.0.0.1:8080")
    with pytest.raises(ValueError, match="at least one node"):
        site_config([], "127.0.0.1:8080")
    whole = balancer_config(nodes, "127.0.0.1:8080", "/run/lb", user="root")
    assert whole.startswith("user root;\n") and "pid /run/lb/nginx.pid;" in whole


def test_the_deploy_example_is_what_the_generator_writes():
    from pathlib import Path

    example = (Path(__file__).resolve().parent.parent / "deploy" / "nginx-cluster.conf")
    text = example.read_text()
    nodes = [BalancedNode("node-a", "10.0.0.11:5001"), BalancedNode("node-b", "10.0.0.12:5001")]
    assert site_config(nodes, "127.0.0.1:8080") in text


def test_a_page_whose_node_is_down_is_relinked_and_a_readiness_503_takes_no_node_out():
    nodes = [BalancedNode("node-a", "10.0.0.11:5001"), BalancedNode("node-b", "10.0.0.12:5001")]
    conf = site_config(nodes, "127.0.0.1:8080")
    # nginx's own 502/503/504 for a witness's page under a node: back to the plain link.
    page_a = conf.split("location /n/node-a/w/ {", 1)[1].split("}", 1)[0]
    assert "proxy_pass http://10.0.0.11:5001;" in page_a
    assert "error_page 502 503 504 = @kiosk_relink;" in page_a
    assert "proxy_intercept_errors on" not in conf  # a node's own answer is never replaced
    assert "rewrite ^/n/([^/]+)(/w/[^/]+)$ $2?unreachable=$1 redirect;" in conf
    # A plain link no node answers: the kind page (no redirect, so no loop).
    links = conf.split("location /w/ {", 1)[1].split("}", 1)[0]
    assert "error_page 502 503 504 = @kiosk_unavailable;" in links
    # No node's own 5xx counts as a failure (a readiness 503 while Redis is down).
    assert "http_503" not in conf and "http_502" not in conf
    assert conf.count("proxy_next_upstream error timeout;") == 2


def _nginx_or_skip() -> str:
    from kiosk.testing.cluster import find_nginx

    nginx = find_nginx()
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return nginx


def test_nginx_accepts_the_generated_config(tmp_path):
    import os
    import subprocess

    nginx = _nginx_or_skip()
    nodes = [BalancedNode("node-a", "127.0.0.1:5001"), BalancedNode("h:5002", "127.0.0.1:5002")]
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(balancer_config(nodes, "127.0.0.1:8080", str(tmp_path),
                                    user="root" if os.geteuid() == 0 else ""))
    done = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf),
                           "-e", str(tmp_path / "error.log")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


class _FakeNode:
    """A node on loopback that answers ``/api/ready`` 503 (unready: Redis down) and anything
    else 200 with its name; ``stop()`` closes its port (a dead node)."""

    def __init__(self, name: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                status = 503 if self.path == "/api/ready" else 200
                body = f"{name} {self.path}".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.stopped = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.server.shutdown()
        self.server.server_close()


def test_through_real_nginx_a_dead_nodes_page_relinks_and_unready_nodes_stay_in(tmp_path):
    import os
    import subprocess

    from kiosk.testing.procs import free_port

    nginx = _nginx_or_skip()
    a, b = _FakeNode("node-a"), _FakeNode("node-b")
    port = free_port()
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(balancer_config(
        [BalancedNode("node-a", f"127.0.0.1:{a.port}"),
         BalancedNode("node-b", f"127.0.0.1:{b.port}")],
        f"127.0.0.1:{port}", str(tmp_path), user="root" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf), "-e",
                             str(tmp_path / "error.log"), "-g", "daemon off;"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/api/health", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.1)
        # Bug I: both nodes unready. Their 503s pass through and take neither node out.
        for _ in range(4):
            r = requests.get(url + "/api/ready", timeout=10)
            assert r.status_code == 503 and r.text.startswith("node-"), r.text
        seen = {requests.get(url + "/api/capacity", timeout=10).text.split()[0]
                for _ in range(4)}
        assert seen == {"node-a", "node-b"}  # still both in the round robin, no 502

        # Bug C: node B dies; its page's reload goes back to the plain link, query and all.
        b.stop()
        r = requests.get(url + "/n/node-b/w/tok_1?lang=en", allow_redirects=False, timeout=10)
        assert r.status_code == 302, r.text
        assert r.headers["Location"] == "/w/tok_1?unreachable=node-b&lang=en"
        r = requests.get(url + "/w/tok_1?unreachable=node-b&lang=en", timeout=10)
        assert (r.status_code, r.text) == (200, "node-a /w/tok_1?unreachable=node-b&lang=en")
        # Every node down: the plain link gets the kind page that retries, never a redirect.
        a.stop()
        r = requests.get(url + "/n/node-a/w/tok_1", timeout=10)  # follows the relink
        assert r.status_code == 503 and [h.status_code for h in r.history] == [302]
        assert 'http-equiv="refresh"' in r.text and "Try again" in r.text
        assert r.headers["Cache-Control"] == "no-store"
        assert "502 Bad Gateway" not in r.text
    finally:
        proc.terminate()
        proc.wait(30)
        a.stop()
        b.stop()


# -- pages and sockets on two nodes --------------------------------------------------------------

@pytest.fixture()
def make_node(tmp_path, redis_server):
    """make_node(name, **settings): an app routed by path on the session's Redis (a key
    prefix per test), shut down at the end."""
    apps = []
    prefix = f"rt{time.monotonic_ns()}:"

    def make(name: str, **settings):
        values = dict(data_dir=tmp_path / name, flows_dir=make_flows_dir(tmp_path / "flows"),
                      api_keys=[API_KEY], liveness=False, speech=False,
                      redis_url=redis_server.url(), redis_prefix=prefix, node_id=name,
                      node_routing="path", socket_join_seconds=60,
                      # one installation: one database (each node its own data folder)
                      database_url=f"sqlite:///{tmp_path / 'kiosk.sqlite3'}")
        values.update(settings)
        app = create_app(load_settings(**values))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["kiosk"].shutdown()


def _create(app) -> tuple[str, str]:
    r = app.test_client().post("/api/sessions", headers={"X-API-Key": API_KEY},
                               json={"applicant": APPLICANT, "flow_id": "quick"})
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    return body["session_id"], body["investor_url"].rsplit("/", 1)[1]


def test_routing_by_path_needs_redis(tmp_path):
    with pytest.raises((ConfigError, ValueError), match="node_routing 'path' needs redis_url"):
        load_settings(data_dir=tmp_path / "d", node_routing="path")


def test_a_link_opened_on_any_node_goes_to_the_chosen_node_and_a_reload_follows_the_pin(
        make_node):
    a = make_node("node-a", node_capacity=1)
    b = make_node("node-b", node_capacity=4)  # as empty, with more free places: chosen
    session_id, token = _create(a)
    r = a.test_client().get(f"/w/{token}?lang=en")
    assert r.status_code == 307, r.get_data(as_text=True)
    assert r.headers["Location"] == f"/n/node-b/w/{token}?lang=en"
    assert r.headers["Cache-Control"] == "no-store"
    assert b.extensions["kiosk"].cluster.pins.node_of(session_id) == "node-b"

    page = b.test_client().get(f"/n/node-b/w/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-base="/n/node-b"' in html
    assert 'src="/n/node-b/static/vendor/socket.io.min.js"' in html
    assert 'href="/n/node-b/static/investor.css"' in html
    assert '"/static/' not in html  # every URL of the page is on the witness's node

    # Opened again anywhere (another click, a reload): the pin wins.
    for app in (a, b):
        again = app.test_client().get(f"/w/{token}")
        assert (again.status_code, again.headers["Location"]) == (307, f"/n/node-b/w/{token}")
    # The page of another node's prefix is sent to the pinned one.
    stray = a.test_client().get(f"/n/node-a/w/{token}")
    assert (stray.status_code, stray.headers["Location"]) == (307, f"/n/node-b/w/{token}")


def test_a_witness_not_joined_yet_leaves_a_node_that_drains(make_node):
    a = make_node("node-a", node_capacity=1)
    b = make_node("node-b", node_capacity=4)
    session_id, token = _create(a)
    assert b.test_client().get(f"/w/{token}").headers["Location"] == f"/n/node-b/w/{token}"
    b.extensions["kiosk"].drain()
    r = b.test_client().get(f"/n/node-b/w/{token}")
    assert (r.status_code, r.headers["Location"]) == (307, f"/n/node-a/w/{token}")
    assert a.extensions["kiosk"].cluster.pins.node_of(session_id) == "node-a"


def test_a_link_pinned_to_a_silent_or_unreachable_node_goes_to_a_live_one(make_node):
    import json

    from kiosk.cluster.nodes import NODE_KEY

    a = make_node("node-a", node_capacity=1)
    b = make_node("node-b", node_capacity=4)
    session_id, token = _create(a)
    assert a.test_client().get(f"/w/{token}").headers["Location"] == f"/n/node-b/w/{token}"

    # The balancer could not reach node B for this page (its relink): never B again.
    r = a.test_client().get(f"/w/{token}?unreachable=node-b&lang=en")
    assert (r.status_code, r.headers["Location"]) == (
        307, f"/n/node-a/w/{token}?unreachable=node-b&lang=en")
    assert a.extensions["kiosk"].cluster.pins.node_of(session_id) == "node-a"

    # Node B stops beating (killed): its registration lives on until its TTL, but after two
    # missed beats no new witness is sent there.
    b_cluster = b.extensions["kiosk"].cluster
    b_cluster.registry.stop(deregister=False)
    registry = a.extensions["kiosk"].cluster.registry
    last = registry.node("node-b")
    assert last is not None
    b_cluster.shared.put(NODE_KEY + "node-b", json.dumps({
        **last.to_dict(), "seen_at": time.time() - 3 * registry.every - 1.5}), registry.ttl)
    assert "node-b" in [n.node_id for n in registry.live_nodes()]  # not expired yet
    b_cluster.pins.pin(session_id, "node-b", 600)
    r = a.test_client().get(f"/w/{token}")
    assert (r.status_code, r.headers["Location"]) == (307, f"/n/node-a/w/{token}")
    assert a.extensions["kiosk"].cluster.pins.node_of(session_id) == "node-a"
    _second_id, second = _create(a)
    assert a.test_client().get(f"/w/{second}").headers["Location"] == f"/n/node-a/w/{second}"


def test_the_kiosk_page_settles_on_one_node(make_node):
    make_node("node-a", node_capacity=1)
    b = make_node("node-b", node_capacity=4)
    r = b.test_client().get("/kiosk?flow=quick")
    assert (r.status_code, r.headers["Location"]) == (307, "/n/node-b/kiosk?flow=quick")
    page = b.test_client().get("/n/node-b/kiosk?flow=quick")
    assert page.status_code == 200 and 'data-base="/n/node-b"' in page.get_data(as_text=True)


def test_socket_io_answers_under_the_nodes_prefix_and_join_pins_there(make_node):
    a = make_node("node-a")
    session_id, token = _create(a)
    joined = threading.Event()
    sock = socketio.Client(reconnection=False)
    sock.on("joined", lambda _data: joined.set())
    services = a.extensions["kiosk"]
    with serve_in_thread(a) as url:
        sock.connect(url, transports=["websocket"], socketio_path="/n/node-a/socket.io",
                     wait_timeout=10)
        try:
            sock.emit("join", {"token": token})
            assert joined.wait(20), "the investor never joined"
            assert services.cluster.pins.node_of(session_id) == "node-a"
            assert services.store.get(session_id).node_id == "node-a"
            sock.emit("cancel", {})
            deadline = time.monotonic() + 20
            while services.live() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not services.live(), "the cancelled witness did not end"
        finally:
            sock.disconnect()


def test_the_simulated_investor_follows_the_link_to_its_nodes_prefix(
        make_node, barcode_video, tone_audio):
    # kiosk simulate joined at the balancer's /socket.io, which reaches any node: the witness
    # then ran on that node instead of the one its link was routed to.
    loopback = {"ice_allow_loopback": True, "ice_private_networks": ["0.0.0.0/0", "::/0"]}
    a = make_node("node-a", node_capacity=1, **loopback)
    b = make_node("node-b", node_capacity=4, **loopback)  # more free places: chosen
    session_id, token = _create(a)

    def balancer(environ, start_response):
        # As the generated nginx config: /n/node-b/ to node-b, anything else to node-a.
        node = b if environ.get("PATH_INFO", "").startswith("/n/node-b/") else a
        return node(environ, start_response)

    with serve_in_thread(balancer) as url:
        where = open_link(f"{url}/w/{token}", requests.Session())
        assert (where.server, where.base, where.token) == (url, "/n/node-b", token)
        assert where.socketio_path == "/n/node-b/socket.io"
        assert where.url("/api/capacity") == f"{url}/n/node-b/api/capacity"
        assert where.url("https://cdn.example/x.mp3") == "https://cdn.example/x.mp3"
        res = asyncio.run(run_investor(f"{url}/w/{token}", barcode_video, tone_audio,
                                       prompt_time="instant", cancel_at_step=0, timeout=90))
    assert res.session_id == session_id, res.as_dict()
    assert (res.state, res.reason) == ("aborted", "cancelled"), res.as_dict()
    assert res.first_prompt_ms is not None  # its prompt came from node-b's prefix
    assert b.extensions["kiosk"].store.get(session_id).node_id == "node-b"


def test_open_link_refuses_what_is_no_investor_link():
    with pytest.raises(ValueError, match="not an investor link"):
        open_link("http://127.0.0.1:1/review", requests.Session())


def test_one_node_keeps_its_unprefixed_page(tmp_path):
    app = create_app(load_settings(data_dir=tmp_path / "one", api_keys=[API_KEY],
                                   flows_dir=make_flows_dir(tmp_path / "flows"),
                                   liveness=False, speech=False))
    try:
        _sid, token = _create(app)
        page = app.test_client().get(f"/w/{token}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert 'data-base=""' in html and 'src="/static/vendor/socket.io.min.js"' in html
        assert app.test_client().get(f"/n/local/w/{token}").status_code == 404
    finally:
        app.extensions["kiosk"].shutdown()


# -- a node that dies while the others run --------------------------------------------------------

def test_a_running_node_ends_and_seals_a_lost_nodes_session(make_node, tmp_path):
    shared = tmp_path / "shared"  # one data folder: A can seal what B left
    fast = dict(node_heartbeat_seconds=0.2, node_ttl_seconds=1.0, data_dir=shared,
                node_routing="off")
    b = make_node("node-b", lost_node_check_seconds=0, **fast)
    a = make_node("node-a", lost_node_check_seconds=0.2, **fast)
    on_b, token_b = _create(b)
    b.extensions["kiosk"].store.consume(token_b, node_id="node-b")  # what B's join does,
    write_session_meta(shared / "sessions" / on_b, {"id": on_b})  # then its runner
    on_a, token_a = _create(a)
    a.extensions["kiosk"].store.consume(token_a, node_id="node-a")
    store = a.extensions["kiosk"].store
    suspects: set[str] = set()
    assert recover_lost_nodes(a.extensions["kiosk"], suspects) == []  # B alive: left alone
    assert store.get(on_b).state == "active" and suspects == set()

    b.extensions["kiosk"].cluster.registry.stop(deregister=False)  # B dies (kill -9)
    deadline = time.monotonic() + 30
    while store.get(on_b).sealed_at is None and time.monotonic() < deadline:
        time.sleep(0.1)
    row = store.get(on_b)
    assert (row.state, row.end_reason, row.recovered) == ("aborted", "node_lost", True)
    assert row.sealed_at is not None and row.node_id == "node-a"
    assert (shared / "evidence" / f"{on_b}.tar").is_file()
    assert store.get(on_a).state == "active"  # A's own session is live: never touched


def test_a_session_created_here_but_run_on_a_lost_node_is_not_sealed_from_its_stub(make_node):
    """POST /api/sessions reached A (A's folder holds only the flow and prompts it wrote);
    the witness ran on B, whose own disk holds its timeline and recording. When B is lost,
    A ends the row ``node_lost`` but must not seal its stub as the evidence: B seals the
    real folder when it starts again."""
    fast = dict(node_heartbeat_seconds=0.2, node_ttl_seconds=1.0, node_routing="off")
    b = make_node("node-b", lost_node_check_seconds=0, **fast)
    a = make_node("node-a", lost_node_check_seconds=0.2, **fast)
    session_id, token = _create(a)
    stub = a.extensions["kiosk"].store.session_dir(session_id)
    assert stub.is_dir() and not (stub / "timeline.jsonl").exists()
    b.extensions["kiosk"].store.consume(token, node_id="node-b")  # B's join

    b.extensions["kiosk"].cluster.registry.stop(deregister=False)  # B dies
    store = a.extensions["kiosk"].store
    deadline = time.monotonic() + 30
    while store.get(session_id).state == "active" and time.monotonic() < deadline:
        time.sleep(0.1)
    row = store.get(session_id)
    assert (row.state, row.end_reason, row.node_id) == ("aborted", "node_lost", "node-b")
    assert row.sealed_at is None  # left to B, which has the recording
    assert recover_interrupted(a.extensions["kiosk"]) == []  # A's next start: still B's
    assert store.get(session_id).sealed_at is None
    assert not list((a.extensions["kiosk"].settings.data_dir / "evidence").glob("*.tar"))


def test_a_node_missing_once_is_only_suspected_and_handled_when_still_missing(make_node):
    fast = dict(node_heartbeat_seconds=0.2, node_ttl_seconds=1.0, node_routing="off",
                lost_node_check_seconds=0)
    b = make_node("node-b", **fast)
    a = make_node("node-a", **fast)
    sid, token = _create(b)
    b.extensions["kiosk"].store.consume(token, node_id="node-b")
    svc_a = a.extensions["kiosk"]
    b.extensions["kiosk"].cluster.registry.stop(deregister=False)
    deadline = time.monotonic() + 20
    while svc_a.cluster.registry.node("node-b") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    suspects: set[str] = set()
    assert recover_lost_nodes(svc_a, suspects) == [] and suspects == {"node-b"}
    assert svc_a.store.get(sid).state == "active"  # once: only suspected
    b.extensions["kiosk"].cluster.registry.beat()  # back before the next check
    assert recover_lost_nodes(svc_a, suspects) == [] and suspects == set()
    assert svc_a.store.get(sid).state == "active"
    b.extensions["kiosk"].cluster.shared.delete("node:node-b")  # gone again, for good
    recover_lost_nodes(svc_a, suspects)
    recover_lost_nodes(svc_a, suspects)  # missing at two checks in a row: lost
    row = svc_a.store.get(sid)
    assert (row.state, row.end_reason) == ("aborted", "node_lost")
