"""Routing a witness to its node through one balancer, by path: ``/n/<node>/...``.

A witness is a room on one node, so every request of its page that reaches the server
(Socket.IO, the guide's prompts) must reach that node. With ``node_routing = "path"``:

- the investor link stays ``<public_url>/w/<token>`` and may reach any node. That node picks
  the witness's node (``choose_node``: live, not draining, the most free places, the least
  loaded), pins the session to it (``kiosk.cluster.pins``) and redirects the browser to
  ``/n/<slug>/w/<token>``; a link already pinned to a live node goes to that node, so a
  reload or a second click follows the pin;
- the balancer (``balancer_config``: nginx) sends ``/n/<slug>/...`` to that node's address
  unchanged, and everything else to any node. It never routes on the client's address;
- the node serves ``/n/<its slug>/...`` as if it were mounted there (``NodePathPrefix``
  moves the prefix from ``PATH_INFO`` to ``SCRIPT_NAME``), and the page builds every URL,
  its Socket.IO path included, on that prefix (``request.script_root``);
- ``join`` pins the session to the node that runs it (``Cluster.pin_session``).

``node_slug`` turns a node id into one path segment (letters, digits, ``.``, ``_``, ``-``);
the default id ``host:port`` becomes ``host_port``. One node (``node_routing = "off"``,
the default) has no prefix at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from kiosk.cluster.nodes import NodeInfo

NODE_PATH = "/n/"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_ADDRESS = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$")


def node_slug(node_id: str) -> str:
    """``node_id`` as one URL path segment: every character other than a letter, digit,
    ``.``, ``_`` or ``-`` becomes ``_``. ValueError for an empty id, ``.`` or ``..``."""
    slug = _UNSAFE.sub("_", node_id)
    if slug in ("", ".", ".."):
        raise ValueError(f"node id {node_id!r} cannot name a path segment")
    return slug


def node_prefix(node_id: str) -> str:
    """The path every request of a witness on ``node_id`` starts with: ``/n/<slug>``."""
    return NODE_PATH + node_slug(node_id)


def free_places(node: NodeInfo) -> int:
    return max(0, node.capacity - node.load)


def choose_node(nodes: Iterable[NodeInfo]) -> NodeInfo | None:
    """The node a new witness should run on: among the live, non-draining nodes, the one
    with a free place and the lowest load per place of capacity (ties: the most free places,
    then the node id). When every node is full, the least loaded one (its ``join`` then
    answers ``witness_busy`` with a wait, and the page asks again). None when every node
    drains or none is live."""
    open_nodes = [n for n in nodes if not n.draining]
    if not open_nodes:
        return None

    def key(n: NodeInfo) -> tuple[bool, float, int, str]:
        return (free_places(n) == 0, n.load / max(1, n.capacity), -free_places(n), n.node_id)

    return min(open_nodes, key=key)


class NodePathPrefix:
    """WSGI middleware: a request for ``/n/<slug>/rest`` (this node's ``slug``) is served as
    ``/rest`` with ``SCRIPT_NAME`` ``/n/<slug>``, so Flask's ``request.script_root`` and
    ``url_for`` carry the prefix and Socket.IO sees its own path. Other paths pass
    unchanged (a request without the prefix is served as before)."""

    def __init__(self, app: Callable, node_id: str) -> None:
        self.app = app
        self.prefix = node_prefix(node_id)

    def __call__(self, environ: dict, start_response: Callable):
        path = environ.get("PATH_INFO", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + self.prefix
            environ["PATH_INFO"] = path[len(self.prefix):] or "/"
        return self.app(environ, start_response)


@dataclass(frozen=True)
class BalancedNode:
    """One node behind the balancer: its ``node_id`` and the ``host:port`` it listens on."""

    node_id: str
    address: str

    def __post_init__(self) -> None:
        node_slug(self.node_id)  # ValueError for an id that cannot be a path segment
        m = _ADDRESS.match(self.address)
        if not m or not 0 < int(m.group(2)) < 65536:
            raise ValueError(f"node {self.node_id!r}: address {self.address!r} is not "
                             "host:port (e.g. 10.0.0.5:5001)")

    @classmethod
    def parse(cls, spec: str) -> BalancedNode:
        """``NODE_ID=HOST:PORT`` (the form of ``kiosk balancer --node``); ValueError."""
        node_id, sep, address = spec.partition("=")
        if not sep or not node_id.strip() or not address.strip():
            raise ValueError(f"{spec!r}: write NODE_ID=HOST:PORT, e.g. node-a=10.0.0.5:5001")
        return cls(node_id.strip(), address.strip())


# The proxy settings every location shares: the browser's host (the page and Socket.IO
# check the origin against it), the client's address for ProxyFix (trusted_proxy_hops = 1),
# WebSocket upgrades, and no buffering or short timeouts on a witness's long socket.
_PROXY = """\
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Port $server_port;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;"""


# What the balancer answers an investor's page when no node answers at all (every node down):
# a kind page in both languages that tries the same link again by itself. Nothing of the
# request is echoed into it (no reflected markup).
UNAVAILABLE_PAGE = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width,initial-scale=1">'
    '<meta http-equiv="refresh" content="15"><title>请稍候 / Please wait</title></head>'
    '<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em">'
    '<h1>服务暂时繁忙</h1><p>请稍候，本页会在几秒后自动重试。您的链接仍然有效。</p>'
    '<h1 lang="en">The service is busy for a moment</h1>'
    '<p lang="en">Please wait: this page tries again by itself in a few seconds. '
    'Your link is still valid.</p>'
    '<p><a href="">重试 / Try again</a></p></body></html>')


def site_config(nodes: Sequence[BalancedNode], listen: str, *,
                max_body: str = "16m") -> str:
    """The nginx ``http``-level lines and ``server`` block that balance ``nodes`` on
    ``listen`` (``host:port``): ``/n/<slug>/`` to its node, anything else to any live node
    (round robin; a node that refuses connections or times out is skipped for 5 s; a node's
    own 5xx answer, such as a readiness 503, is passed on and never counts as a failure).

    A witness's page under a node that does not answer (``/n/<slug>/w/<token>`` gets 502,
    503 or 504 from nginx itself: the node died before ``join``) is redirected (302) to the
    plain link ``/w/<token>?unreachable=<slug>``, which any live node routes again, never
    to ``<slug>``; a plain link no node answers gets ``UNAVAILABLE_PAGE`` (503, retries by
    itself), so there is no redirect loop when every node is down. ValueError for no node
    or two nodes with one slug."""
    if not nodes:
        raise ValueError("the balancer needs at least one node")
    slugs = [node_slug(n.node_id) for n in nodes]
    if len(set(slugs)) != len(slugs):
        raise ValueError(f"two nodes share a path segment: {slugs}; give them distinct ids")
    servers = "\n".join(f"        server {n.address} max_fails=1 fail_timeout=5s;"
                        for n in nodes)
    pinned = "\n".join(
        f"        location {NODE_PATH}{slug}/ {{\n"
        f"            proxy_pass http://{n.address};  # the URI unchanged: the node strips it\n"
        f"{_PROXY}\n"
        "        }\n"
        f"        location {NODE_PATH}{slug}/w/ {{  # its page: when the node is down, relink\n"
        f"            proxy_pass http://{n.address};\n"
        f"{_PROXY}\n"
        "            error_page 502 503 504 = @kiosk_relink;\n"
        "        }"
        for slug, n in zip(slugs, nodes, strict=True))
    page = UNAVAILABLE_PAGE.replace("'", "\\'")
    return f"""\
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream kiosk_nodes {{
{servers}
    }}
    server {{
        listen {listen};
        client_max_body_size {max_body};
        # A slow request head or body waits in nginx, never in a node's thread: nginx buffers
        # each body (proxy_request_buffering stays on) and passes it on only once it is whole.
        client_header_timeout 10s;
        client_body_timeout 20s;
        # A witness's page, Socket.IO and prompts: its node, from the pin (kiosk.cluster.routing).
{pinned}
        location {NODE_PATH} {{
            return 404;  # a node this balancer does not know: regenerate this file
        }}
        # Only nginx's own 502/503/504 come here (no proxy_intercept_errors: a node's own
        # answer passes): the page's node is down, so back to the plain link, routed again
        # to a live node other than that one (the query string goes along).
        location @kiosk_relink {{
            absolute_redirect off;
            rewrite ^{NODE_PATH}([^/]+)(/w/[^/]+)$ $2?unreachable=$1 redirect;
            default_type text/html;
            charset utf-8;
            add_header Cache-Control no-store always;
            return 503 '{page}';
        }}
        # Links: any node. No node answers: a kind page that tries again (never a redirect).
        location /w/ {{
            proxy_pass http://kiosk_nodes;
            proxy_next_upstream error timeout;
{_PROXY}
            error_page 502 503 504 = @kiosk_unavailable;
        }}
        location @kiosk_unavailable {{
            default_type text/html;
            charset utf-8;
            add_header Cache-Control no-store always;
            add_header Retry-After 15 always;
            return 503 '{page}';
        }}
        # The API, the consoles: any node (the first page load picks the witness's node).
        # Only a refused connection or a timeout skips a node and counts against it: its own
        # 5xx (readiness 503 while warming, draining or without Redis; storage_full) is its
        # answer, and counting it would take every node out for fail_timeout.
        location / {{
            proxy_pass http://kiosk_nodes;
            proxy_next_upstream error timeout;
{_PROXY}
        }}
    }}
"""


def balancer_config(nodes: Sequence[BalancedNode], listen: str, prefix: str, *,
                    user: str = "") -> str:
    """A whole nginx.conf for an nginx run in the foreground with ``-p prefix`` (pid, logs
    and temp files under ``prefix``): what ``./dev.sh cluster`` and the cluster test run.
    ``user``: nginx's ``user`` directive (as root its workers would otherwise run as nobody,
    who cannot use ``prefix``). Production puts ``site_config`` inside its own nginx."""
    user_line = f"user {user};\n" if user else ""
    return f"""\
{user_line}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;  # request lines carry investor links
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
{site_config(nodes, listen)}}}
"""
