"""The node registry: each node process announces itself in Redis under a key that expires.

A node writes ``node:<node_id>`` = JSON ``{"node_id", "url", "load", "capacity",
"draining", "seen_at"}`` with a TTL of ``ttl`` seconds, and a background thread rewrites it
every ``every`` seconds. A node that stops beating (killed, frozen, cut off from Redis)
disappears from ``live_nodes()`` once its key expires; a node that stops cleanly deletes
its key at once. ``load`` is the number of live witnesses on the node, ``capacity`` the
witnesses it is configured to carry, ``seen_at`` the Unix time of the last beat.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass

from kiosk.cluster.redis_store import SharedRedis, SharedStateError

log = logging.getLogger(__name__)

NODE_KEY = "node:"  # + node_id
ROUTED_KEY = "routed:"  # + node_id: sorted set of session ids routed there, not joined yet
# How long a route counts against its node without a join (an investor who opened the link
# and never allowed the camera stops counting then).
ROUTE_PENDING_SECONDS = 120.0
# A node whose last heartbeat is older than this many intervals gets no new witness
# (NodeRegistry.fresh), even before its registration expires.
STALE_BEATS = 2


@dataclass(frozen=True)
class NodeInfo:
    """One node as its last heartbeat described it."""

    node_id: str
    url: str
    load: int  # live witnesses
    capacity: int  # witnesses it is configured to carry
    draining: bool  # takes no new witnesses (stopping)
    seen_at: float  # Unix time of the heartbeat, seconds

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, text: str) -> NodeInfo:
        d = json.loads(text)
        return cls(node_id=str(d["node_id"]), url=str(d["url"]), load=int(d["load"]),
                   capacity=int(d["capacity"]), draining=bool(d["draining"]),
                   seen_at=float(d["seen_at"]))


class NodeRegistry:
    """This node's heartbeat and everyone's registrations.

    ``load`` is called on each beat (from the heartbeat thread) for the live witness count;
    ``live_ids`` (optional) for the live witnesses' session ids, whose routes the beat then
    clears (``routed``). ``ttl`` must exceed ``every``, or a healthy node flickers out between
    two beats.

    **Routes not joined yet.** A heartbeat's ``load`` is up to ``every`` seconds old, and an
    investor routed to a node joins seconds after (the page loads, the camera is allowed).
    Routed on heartbeats alone, a burst of investors all went to the same node: `kiosk
    loadtest --n 8` against two nodes put 6 witnesses on one and 2 on the other, and the
    six lost packets. So the router records each route (``note_routed``) in the sorted set
    ``routed:<node_id>`` (score: Unix time), each beat removes the sessions it now counts as
    live, and ``pending`` counts the rest of the last ``ROUTE_PENDING_SECONDS``: the router
    adds them to the heartbeat's load.
    """

    def __init__(self, shared: SharedRedis, node_id: str, url: str, capacity: int,
                 load: Callable[[], int], *, ttl: float = 10.0, every: float = 3.0,
                 live_ids: Callable[[], Collection[str]] | None = None) -> None:
        if not node_id:
            raise ValueError("node_id must not be empty")
        if ttl <= every:
            raise ValueError(f"the heartbeat TTL ({ttl} s) must exceed its interval ({every} s)")
        self.shared = shared
        self.node_id = node_id
        self.url = url
        self.capacity = capacity
        self.load = load
        self.live_ids = live_ids
        self.ttl = ttl
        self.every = every
        self._draining = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False  # the last beat failed (logged once per outage)

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def beat(self) -> None:
        """Write this node's registration now, then clear the routes to it of the witnesses
        it counts as live; SharedStateError when Redis fails."""
        ids = list(self.live_ids()) if self.live_ids is not None else None
        load = len(ids) if ids is not None else int(self.load())
        info = NodeInfo(self.node_id, self.url, load, self.capacity, self.draining, time.time())
        self.shared.put(NODE_KEY + self.node_id, json.dumps(info.to_dict()), self.ttl)
        if ids:
            self.shared.unmark(ROUTED_KEY + self.node_id, ids)

    def note_routed(self, node_id: str, session_id: str) -> None:
        """Record that ``session_id`` was just sent to ``node_id`` (not joined yet)."""
        self.shared.mark(ROUTED_KEY + node_id, session_id, time.time(), ROUTE_PENDING_SECONDS)

    def pending(self, node_id: str) -> int:
        """Witnesses routed to ``node_id`` in the last ``ROUTE_PENDING_SECONDS`` that its
        heartbeat does not count yet."""
        return self.shared.marked_since(ROUTED_KEY + node_id,
                                        time.time() - ROUTE_PENDING_SECONDS)

    def start(self) -> None:
        """Beat once (SharedStateError if Redis fails), then every ``every`` s on a daemon
        thread until ``stop()``."""
        self.beat()
        self._thread = threading.Thread(target=self._run, name="kiosk-node-heartbeat",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except SharedStateError as exc:
                if not self._failing:
                    log.error("node heartbeat failed (this node drops out of the registry "
                              "until Redis answers again): %s", exc)
                self._failing = True
                continue
            if self._failing:
                log.warning("node heartbeat restored")
            self._failing = False

    def drain(self) -> None:
        """Mark this node draining (no new witnesses) and announce it at once."""
        self._draining.set()
        try:
            self.beat()
        except SharedStateError as exc:
            log.error("could not announce draining: %s", exc)

    def stop(self, *, deregister: bool = True) -> None:
        """Stop beating; with ``deregister`` delete the registration at once (else it
        expires after ``ttl``, as a crashed node's does)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.every + 5)
        if deregister:
            try:
                self.shared.delete(NODE_KEY + self.node_id)
            except SharedStateError as exc:
                log.error("could not remove this node from the registry: %s", exc)

    def fresh(self, node: NodeInfo, now: float | None = None) -> bool:
        """Whether ``node`` beat within the last ``STALE_BEATS`` intervals (plus 1 s of slack
        for a busy machine and clock skew): a node that missed two beats is probably dead
        even while its registration lives on for the rest of ``ttl``. ``now``: Unix time."""
        now = time.time() if now is None else now
        return now - node.seen_at <= STALE_BEATS * self.every + 1.0

    def live_nodes(self) -> list[NodeInfo]:
        """Every node whose registration has not expired, by node_id; SharedStateError."""
        nodes = []
        for name, text in self.shared.values(NODE_KEY + "*").items():
            try:
                nodes.append(NodeInfo.from_json(text))
            except (ValueError, KeyError, TypeError):
                log.warning("ignoring a malformed node registration %s", name)
        return sorted(nodes, key=lambda n: n.node_id)

    def node(self, node_id: str) -> NodeInfo | None:
        text = self.shared.get(NODE_KEY + node_id)
        return NodeInfo.from_json(text) if text else None
