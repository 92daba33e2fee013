"""State shared by the nodes of one installation, in Redis (``redis_url``).

Unset (the single-node default) none of this exists: the node keeps it in memory. Set, a
node holds a ``Cluster``:

- ``registry``: this node's heartbeat and the live nodes (``kiosk.cluster.nodes``);
- ``pins``: session → node pins for the router (``kiosk.cluster.pins``);
- ``login_failures()``: the console's per-address login throttle (``kiosk.cluster.failures``).

Flask-SocketIO's message queue (cross-node emits) uses the same URL (``kiosk.web.app``).
The key layout is in docs/operations.md, *Several nodes with Redis*. ``connect_cluster``
refuses to build one when Redis does not answer: a node that cannot share its state must not
start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.cluster.failures import SharedLoginFailures
from kiosk.cluster.nodes import NodeInfo, NodeRegistry
from kiosk.cluster.pins import SessionPins, max_session_seconds
from kiosk.cluster.redis_store import SharedRedis, SharedStateError, redact
from kiosk.errors import ConfigError
from kiosk.witness.admission import node_capacity

if TYPE_CHECKING:  # kiosk.config checks redis_url with kiosk.cluster.redis_store
    from kiosk.config import Settings

__all__ = ["Cluster", "NodeInfo", "SharedStateError", "connect_cluster", "default_node_id"]

log = logging.getLogger(__name__)


def default_node_id(settings: Settings) -> str:
    """``node_id`` when set, else ``<hostname>:<port>`` (one node process per port)."""
    return settings.effective_node_id


class Cluster:
    """This node's view of the shared state; built by ``connect_cluster``."""

    def __init__(self, shared: SharedRedis, registry: NodeRegistry) -> None:
        self.shared = shared
        self.registry = registry
        self.pins = SessionPins(shared)

    @property
    def node_id(self) -> str:
        return self.registry.node_id

    def start(self) -> None:
        """Register this node and start its heartbeat thread."""
        self.registry.start()
        log.info("node %s registered in Redis at %s", self.node_id, redact(self.shared.url))

    def reachable(self) -> bool:
        return self.shared.reachable()

    def pin_session(self, session_id: str, flow) -> None:
        """Pin a joined witness of ``flow`` to this node for the longest it can live
        (``max_session_seconds``); a Redis failure is logged (the witness goes on here, but
        a reconnect may reach another node)."""
        try:
            self.pins.pin(session_id, self.node_id, max_session_seconds(flow))
        except SharedStateError as exc:
            log.error("could not pin the session to this node: %s", exc)

    def unpin_session(self, session_id: str) -> None:
        try:
            self.pins.unpin(session_id)
        except SharedStateError as exc:
            log.error("could not remove the session's pin (it expires by itself): %s", exc)

    def login_failures(self, max_failures: int, window_seconds: float) -> SharedLoginFailures:
        return SharedLoginFailures(self.shared, max_failures, window_seconds)

    def drain(self) -> None:
        self.registry.drain()

    def close(self) -> None:
        """Stop the heartbeat, leave the registry, close the connections."""
        self.registry.stop(deregister=True)
        self.shared.close()


def connect_cluster(settings: Settings, load: Callable[[], int]) -> Cluster:
    """The cluster state of ``settings.redis_url`` (which must be set); ConfigError naming the
    server (never its password) when Redis does not answer. ``load`` counts live witnesses."""
    shared = SharedRedis(settings.redis_url, prefix=settings.redis_prefix,
                         timeout=settings.redis_timeout_seconds)
    try:
        shared.ping()
    except SharedStateError as exc:
        shared.close()
        raise ConfigError(f"{exc}. KIOSK_REDIS_URL names a Redis server this node cannot reach; "
                          "start it, fix the URL, or unset it for a single node") from None
    registry = NodeRegistry(shared, default_node_id(settings), settings.base_url(),
                            node_capacity(settings), load, ttl=settings.node_ttl_seconds,
                            every=settings.node_heartbeat_seconds)
    return Cluster(shared, registry)
