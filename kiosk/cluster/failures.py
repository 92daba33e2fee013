"""Failed console logins per client address, counted in Redis so every node sees them.

``login-fail:<address>`` is an INCR counter that expires ``window_seconds`` after the first
failure in its window (a fixed window; the single-node memory counter in
``kiosk.review.accounts`` slides). At ``max_failures`` the address is refused until the key
expires.
"""

from __future__ import annotations

from kiosk.cluster.redis_store import SharedRedis

FAIL_KEY = "login-fail:"  # + client address


class SharedLoginFailures:
    """``blocked(ip)`` / ``fail(ip)``; both raise SharedStateError when Redis fails."""

    def __init__(self, shared: SharedRedis, max_failures: int, window_seconds: float) -> None:
        if max_failures < 1 or window_seconds <= 0:
            raise ValueError("max_failures must be >= 1 and window_seconds > 0")
        self.shared = shared
        self.max_failures = max_failures
        self.window_seconds = window_seconds

    @staticmethod
    def _name(ip: str) -> str:
        return FAIL_KEY + str(ip)[:64]  # an address, never longer; "" when there is none

    def blocked(self, ip: str) -> bool:
        return self.shared.count(self._name(ip)) >= self.max_failures

    def fail(self, ip: str) -> int:
        """Count one failure from ``ip``; the failures in its window so far."""
        return self.shared.count_in_window(self._name(ip), self.window_seconds)
