"""Caps on unauthenticated Socket.IO connections.

Anyone can open a socket: only ``join`` with a valid link makes it a witness. In threading
mode every open socket holds server threads (400 idle sockets held about 1,600), so before a
join the server limits them: at most ``max_total`` sockets and ``max_per_address`` from one
address, and a socket that has not joined within ``join_seconds`` is disconnected. One sweeper
thread runs only while some socket is waiting to join.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

log = logging.getLogger(__name__)


class ConnectionGate:
    """Admits sockets under the caps; disconnects those that do not join in time."""

    def __init__(self, *, max_total: int, max_per_address: int, join_seconds: float,
                 disconnect: Callable[[str], None], clock: Callable[[], float] = time.monotonic):
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.join_seconds = join_seconds
        self._disconnect = disconnect
        self._clock = clock
        self._lock = threading.Lock()
        self._address: dict[str, str] = {}  # sid -> address, every open socket
        self._per_address: Counter[str] = Counter()
        self._deadline: dict[str, float] = {}  # sid -> when to drop it, until it joins
        self._sweeper: threading.Thread | None = None

    def admit(self, sid: str, address: str) -> str | None:
        """Count a new socket in; or the reason it is refused (a message for the page)."""
        with self._lock:
            if len(self._address) >= self.max_total:
                log.warning("socket refused: %d connections open (socket_max_connections)",
                            len(self._address))
                return "the witness service is busy; please try again in a minute"
            if self._per_address[address] >= self.max_per_address:
                log.warning("socket refused: %d connections from one address "
                            "(socket_max_per_address)", self._per_address[address])
                return "too many connections from your network; please try again in a minute"
            self._address[sid] = address
            self._per_address[address] += 1
            self._deadline[sid] = self._clock() + self.join_seconds
            if self._sweeper is None:
                self._sweeper = threading.Thread(target=self._sweep, name="kiosk-socket-gate",
                                                 daemon=True)
                self._sweeper.start()
        return None

    def joined(self, sid: str) -> None:
        """The socket joined a witness: it stays (the session's own timeouts apply)."""
        with self._lock:
            self._deadline.pop(sid, None)

    def gone(self, sid: str) -> None:
        with self._lock:
            self._deadline.pop(sid, None)
            address = self._address.pop(sid, None)
            if address is not None:
                self._per_address[address] -= 1
                if self._per_address[address] <= 0:
                    del self._per_address[address]

    def open_count(self) -> int:
        with self._lock:
            return len(self._address)

    def _sweep(self) -> None:
        while True:
            time.sleep(min(0.25, self.join_seconds / 4))
            now = self._clock()
            with self._lock:
                late = [sid for sid, t in self._deadline.items() if t <= now]
                for sid in late:
                    del self._deadline[sid]
                if not self._deadline and not late:
                    self._sweeper = None
                    return
            for sid in late:
                log.info("socket did not join within %.0f s; disconnected", self.join_seconds)
                try:
                    self._disconnect(sid)
                except Exception:  # already gone
                    log.debug("disconnecting a late socket failed", exc_info=True)
