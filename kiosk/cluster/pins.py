"""Session → node pins: which node a joined witness lives on, for the router.

A witness is a room on one node (its peer connection, recorder and timers are in that
process), so the investor's Socket.IO and WebRTC traffic, reconnects included, must reach
that node. At ``join`` the node writes ``pin:<session_id>`` = its ``node_id`` with a TTL of
the session's longest possible life; it deletes the pin when the witness ends. The router
(or anything else) reads it with ``node_of``; ``kiosk.cluster.nodes`` gives the node's URL.
"""

from __future__ import annotations

from kiosk.cluster.redis_store import SharedRedis

PIN_KEY = "pin:"  # + session_id


class SessionPins:
    """The pin store; every method raises SharedStateError when Redis fails."""

    def __init__(self, shared: SharedRedis) -> None:
        self.shared = shared

    def pin(self, session_id: str, node_id: str, ttl_seconds: float) -> None:
        """Pin ``session_id`` to ``node_id`` for ``ttl_seconds`` (replacing any pin)."""
        if not session_id or not node_id:
            raise ValueError("session_id and node_id must not be empty")
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
        self.shared.put(PIN_KEY + session_id, node_id, ttl_seconds)

    def node_of(self, session_id: str) -> str | None:
        """The node_id ``session_id`` is pinned to, or None (never joined, ended, expired)."""
        return self.shared.get(PIN_KEY + session_id)

    def unpin(self, session_id: str) -> None:
        self.shared.delete(PIN_KEY + session_id)


# Beyond the steps' own limits: connecting, the offer, reconnect grace and finalising.
PIN_MARGIN_SECONDS = 300.0


def max_session_seconds(flow) -> float:
    """The longest a witness of ``flow`` (a ``kiosk.flows`` Flow) can live, in seconds: each
    step's ``timeout`` for each of its attempts, plus ``PIN_MARGIN_SECONDS``."""
    return PIN_MARGIN_SECONDS + sum(s.timeout * (1 + s.retries) for s in flow.steps)
