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
from collections.abc import Callable
from dataclasses import asdict, dataclass

from kiosk.cluster.redis_store import SharedRedis, SharedStateError

log = logging.getLogger(__name__)

NODE_KEY = "node:"  # + node_id


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

    ``load`` is called on each beat (from the heartbeat thread) for the live witness count.
    ``ttl`` must exceed ``every``, or a healthy node flickers out between two beats.
    """

    def __init__(self, shared: SharedRedis, node_id: str, url: str, capacity: int,
                 load: Callable[[], int], *, ttl: float = 10.0, every: float = 3.0) -> None:
        if not node_id:
            raise ValueError("node_id must not be empty")
        if ttl <= every:
            raise ValueError(f"the heartbeat TTL ({ttl} s) must exceed its interval ({every} s)")
        self.shared = shared
        self.node_id = node_id
        self.url = url
        self.capacity = capacity
        self.load = load
        self.ttl = ttl
        self.every = every
        self._draining = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False  # the last beat failed (logged once per outage)

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def info(self) -> NodeInfo:
        return NodeInfo(self.node_id, self.url, int(self.load()), self.capacity,
                        self.draining, time.time())

    def beat(self) -> None:
        """Write this node's registration now; SharedStateError when Redis fails."""
        self.shared.put(NODE_KEY + self.node_id, json.dumps(self.info().to_dict()), self.ttl)

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
