"""Caps on Socket.IO connections and on the rate of their events.

Anyone can open a socket: only ``join`` with a valid link makes it a witness. In threading
mode every open socket holds server threads (400 idle sockets held about 1,600), so before a
join the server limits them: at most ``max_total`` sockets and ``max_per_address`` from one
address, and a socket that has not joined within ``join_seconds`` is disconnected. One sweeper
thread runs only while some socket is waiting to join.

Every event a socket sends, joined or not, also passes ``EventLimiter``: a token bucket per
(socket, event name). One investor once sent 2,000 each of ``heartbeat``, ``prompt_replayed``,
``prefs`` and junk offers in 8 s; each handler ran, and each report was written to the signed
timeline. Now events over their rate are dropped, and a socket that keeps going over is
disconnected (``kiosk.web.events`` records why and ends its witness as ``client_abuse``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

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
        self._joining: set[str] = set()  # sids whose join is being handled: never dropped
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

    def join_started(self, sid: str) -> None:
        """A join from this socket is being handled: its deadline waits until the join ends.

        The deadline is for sockets that send nothing; a join that arrived in time may take
        longer than ``join_seconds`` to handle on a loaded server (the link, the flow and the
        witness are loaded), and cutting the socket then loses a witness that came in time."""
        with self._lock:
            self._joining.add(sid)

    def join_ended(self, sid: str) -> None:
        """The join is handled. Had it failed, the socket's deadline applies again (one
        already past drops it at the next sweep)."""
        with self._lock:
            self._joining.discard(sid)

    def joined(self, sid: str) -> None:
        """The socket joined a witness: it stays (the session's own timeouts apply)."""
        with self._lock:
            self._deadline.pop(sid, None)

    def gone(self, sid: str) -> None:
        with self._lock:
            self._deadline.pop(sid, None)
            self._joining.discard(sid)
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
                late = [sid for sid, t in self._deadline.items()
                        if t <= now and sid not in self._joining]
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


# ---------------------------------------------------------------- event rates


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class EventLimiter:
    """Token buckets per (socket, event) and a flood verdict per socket.

    ``limits`` maps an event name to ``(per_second, burst)``: ``burst`` events may come at
    once, then ``per_second`` on average; names without a limit share the ``"other"`` one. An
    event over its rate is refused (the handler does not run). Refusals drain a second
    bucket per socket (``tolerance`` at once, refilled over ``FLOOD_WINDOW_SECONDS``): when
    it is empty the socket is flooding and ``admit`` says ``"flood"`` (once).
    """

    FLOOD_WINDOW_SECONDS = 10.0

    def __init__(self, limits: Mapping[str, tuple[float, int]], *, tolerance: int,
                 clock: Callable[[], float] = time.monotonic):
        if "other" not in limits:
            raise ValueError("limits need an 'other' entry for events without their own")
        self.limits = dict(limits)
        self.tolerance = tolerance
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._strikes: dict[str, _Bucket] = {}
        self._received: dict[str, Counter[str]] = {}
        self._refused: dict[str, Counter[str]] = {}
        self._flooded: set[str] = set()

    def admit(self, sid: str, event: str) -> Literal["ok", "refused", "flood"]:
        """Take a token for ``event`` on socket ``sid``: ok, refused (over its rate), or
        flood (refused too often: disconnect the socket; said once, then refused)."""
        name = event if event in self.limits else "other"
        per_second, burst = self.limits[name]
        now = self._clock()
        with self._lock:
            self._received.setdefault(sid, Counter())[name] += 1
            if sid in self._flooded:
                self._refused[sid][name] += 1
                return "refused"
            if _take(self._buckets, (sid, name), per_second, burst, now):
                return "ok"
            self._refused.setdefault(sid, Counter())[name] += 1
            if _take(self._strikes, sid, self.tolerance / self.FLOOD_WINDOW_SECONDS,
                     self.tolerance, now):
                return "refused"
            self._flooded.add(sid)
            return "flood"

    def counts(self, sid: str) -> dict[str, dict[str, int]]:
        """What socket ``sid`` sent, per event name: ``{"received": {...}, "refused": {...}}``."""
        with self._lock:
            return {"received": dict(sorted(self._received.get(sid, Counter()).items())),
                    "refused": dict(sorted(self._refused.get(sid, Counter()).items()))}

    def forget(self, sid: str) -> None:
        with self._lock:
            for name in self.limits:
                self._buckets.pop((sid, name), None)
            self._strikes.pop(sid, None)
            self._received.pop(sid, None)
            self._refused.pop(sid, None)
            self._flooded.discard(sid)


def _take(buckets: dict, key, per_second: float, burst: int, now: float) -> bool:
    """Refill ``buckets[key]`` for the time passed and take one token, if there is one."""
    b = buckets.get(key)
    if b is None:
        b = buckets[key] = _Bucket(float(burst), now)
    b.tokens = min(float(burst), b.tokens + (now - b.stamp) * per_second)
    b.stamp = now
    if b.tokens >= 1.0:
        b.tokens -= 1.0
        return True
    return False
