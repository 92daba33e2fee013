"""State shared by the nodes of one installation, in Redis (``redis_url``).

Unset (the single-node default) none of this exists: the node keeps it in memory. Set, a
node holds a ``Cluster``:

- ``registry``: this node's heartbeat and the live nodes (``kiosk.cluster.nodes``);
- ``pins``: session → node pins for the router (``kiosk.cluster.pins``), and
  ``route_session``: the node a witness's page goes to (``kiosk.cluster.routing``);
- ``login_failures()``: the console's per-address login throttle (``kiosk.cluster.failures``).

Flask-SocketIO's message queue (cross-node emits) uses the same URL (``kiosk.web.app``).
The key layout is in docs/operations.md, *Several nodes with Redis*. ``connect_cluster``
refuses to build one when Redis does not answer: a node that cannot share its state must not
start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import TYPE_CHECKING

from kiosk.cluster.failures import SharedLoginFailures
from kiosk.cluster.nodes import NodeInfo, NodeRegistry
from kiosk.cluster.pins import SessionPins, max_session_seconds
from kiosk.cluster.redis_store import SharedRedis, SharedStateError, redact
from kiosk.cluster.routing import choose_node, free_places, node_slug
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

    def route_session(self, session_id: str, flow, *, joined: bool,
                      unreachable: Collection[str] = ()) -> str:
        """The node a witness's page and socket go to (``kiosk.cluster.routing``).

        ``unreachable``: node slugs (``node_slug``) the balancer could not reach for this
        page (``?unreachable=`` on its relink), never chosen. A ``joined`` witness follows its
        pin while the pinned node is live and not unreachable. One not joined yet stays on its
        pinned node while that node is fresh (``NodeRegistry.fresh``: it beat within the last
        two intervals), not draining and has a free place (or no node has one); else
        ``choose_node`` picks among the fresh live nodes, and the session is pinned there for
        ``max_session_seconds(flow)``. This node when Redis does not answer or no node takes
        witnesses (its own ``join`` then says why)."""
        avoid = set(unreachable)
        try:
            live = {n.node_id: n for n in self.live_nodes_with_pending()
                    if node_slug(n.node_id) not in avoid}
            now = time.time()
            fresh = {k: n for k, n in live.items()
                     if k == self.node_id or self.registry.fresh(n, now)}
            pinned = self.pins.node_of(session_id)
            chosen = choose_node(fresh.values())
            here = (live if joined else fresh).get(pinned) if pinned is not None else None
            if here is not None and (joined or (not here.draining and (
                    free_places(here) > 0 or chosen is None or free_places(chosen) == 0))):
                return here.node_id
            node_id = chosen.node_id if chosen is not None else self.node_id
            self.pins.pin(session_id, node_id, max_session_seconds(flow))
            if not joined:
                self.registry.note_routed(node_id, session_id)
            return node_id
        except SharedStateError as exc:
            log.error("routing the session: the registry does not answer, so it stays on "
                      "this node: %s", exc)
            return self.node_id

    def live_nodes_with_pending(self) -> list[NodeInfo]:
        """The live nodes, each ``load`` raised by the witnesses routed to it and not
        counted by its heartbeat yet (``NodeRegistry.pending``); SharedStateError."""
        return [replace(n, load=n.load + self.registry.pending(n.node_id))
                for n in self.registry.live_nodes()]

    def pick_node(self) -> str:
        """The node a witness not created yet should run on (the branch kiosk page): as
        ``route_session`` without a pin (fresh nodes only)."""
        try:
            now = time.time()
            chosen = choose_node(n for n in self.registry.live_nodes()
                                 if n.node_id == self.node_id or self.registry.fresh(n, now))
        except SharedStateError as exc:
            log.error("choosing a node: the registry does not answer: %s", exc)
            return self.node_id
        return chosen.node_id if chosen is not None else self.node_id

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


def connect_cluster(settings: Settings, load: Callable[[], int],
                    live_ids: Callable[[], Collection[str]] | None = None) -> Cluster:
    """The cluster state of ``settings.redis_url`` (which must be set); ConfigError naming the
    server (never its password) when Redis does not answer. ``load`` counts live witnesses;
    ``live_ids`` gives their session ids (the beat then clears their routes, ``NodeRegistry``)."""
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
                            every=settings.node_heartbeat_seconds, live_ids=live_ids)
    return Cluster(shared, registry)
