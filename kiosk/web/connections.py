"""Caps on Engine.IO sessions (the connections under Socket.IO) and on the rate of events.

Anyone can open a socket: only ``join`` with a valid link makes it a witness. In threading
mode every open connection holds server threads (400 idle sockets held about 1,600), so before
a join the server limits them: at most ``max_total`` connections waiting to join and
``max_per_address`` of them from one address, and a connection that has not joined within
``join_seconds`` is closed. One sweeper thread runs only while some connection is waiting.

A joined connection leaves those counts: witnesses are bounded at the join by the node's
capacity (``KioskServices.admit``), so idle sockets can never take a joined investor's
place. Nor can they keep a new investor out: when every place is taken, a newcomer from an
address holding fewer waiting connections than the address holding the most closes that
address's oldest waiting connection (not one whose join is being handled) and takes its
place. Idle sockets held from one address (or a few) at the total cap, renewed at each
deadline, once answered every investor "busy".

The gate counts **Engine.IO** sessions, when Engine.IO opens one (websocket or polling), not
Socket.IO connects: a client that opened raw Engine.IO websockets and only answered pings
(never a Socket.IO ``connect`` packet) once kept 60 of them open from one address for 40 s,
threads 34 -> 274. A connection over a cap is kept open for ``REFUSED_GRACE_SECONDS`` only,
so the page's Socket.IO connect can be told why (``refusal``); past ``max_refused_held`` such
connections at once, the next is refused at the door (Engine.IO answers 401).

A connection that sends packets Socket.IO cannot decode is counted by ``malformed``; after
``MALFORMED_LIMIT`` of them it is closed. One message over ``max_socket_message_bytes`` is
counted by ``too_large``: its transport has already cut it off and closes the connection.
Every refusal is logged as one short line, through ``LineBudget`` (at most a few lines a
second, the rest counted), never with the packet's text.

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

BUSY = "the witness service is busy; please try again in a minute"
TOO_MANY_FROM_ADDRESS = "too many connections from your network; please try again in a minute"


class LineBudget:
    """At most ``burst`` log lines at once and ``per_second`` on average; the lines over the
    budget are counted and the count is added to the next line that is written."""

    def __init__(self, *, per_second: float = 2.0, burst: int = 10,
                 clock: Callable[[], float] = time.monotonic):
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._suppressed = 0

    def warning(self, logger: logging.Logger, msg: str, *args) -> bool:
        """Log ``msg % args`` as a warning if the budget allows; True if it was written."""
        with self._lock:
            if not _take(self._buckets, "lines", self.per_second, self.burst, self._clock()):
                self._suppressed += 1
                return False
            suppressed, self._suppressed = self._suppressed, 0
        if suppressed:
            msg += " (%d similar lines not logged)"
            args = (*args, suppressed)
        logger.warning(msg, *args)
        return True


class ConnectionGate:
    """Admits connections under the caps; closes those that do not join in time.

    Connections are Engine.IO sessions, named by their Engine.IO sid; ``disconnect(eio_sid)``
    closes one. Thread-safe."""

    REFUSED_GRACE_SECONDS = 2.0
    MALFORMED_LIMIT = 3

    def __init__(self, *, max_total: int, max_per_address: int, join_seconds: float,
                 disconnect: Callable[[str], None], clock: Callable[[], float] = time.monotonic,
                 max_refused_held: int | None = None, lines: LineBudget | None = None):
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.join_seconds = join_seconds
        self.max_refused_held = (max_per_address if max_refused_held is None
                                 else max_refused_held)
        self._disconnect = disconnect
        self._clock = clock
        self._lines = lines or LineBudget()
        self._lock = threading.Lock()
        # eio sid -> address, every admitted connection not joined yet, oldest first
        self._address: dict[str, str] = {}
        self._per_address: Counter[str] = Counter()  # the same, counted per address
        self._joined: set[str] = set()  # admitted connections that joined a witness
        self._deadline: dict[str, float] = {}  # eio sid -> when to close it, until it joins
        self._joining: set[str] = set()  # sids whose join is being handled: never dropped
        self._refused: dict[str, str] = {}  # eio sid -> why, for connections held to be told
        self._malformed: Counter[str] = Counter()
        self._sweeper: threading.Thread | None = None

    def admit(self, sid: str, address: str) -> str | None:
        """Count a new connection in; or the reason it is refused (a message for the page).

        A refused connection is held for ``REFUSED_GRACE_SECONDS`` (``refusal`` tells its
        Socket.IO connect why) while fewer than ``max_refused_held`` are; ``held`` says
        whether it was, else the caller closes it at once."""
        with self._lock:
            victim = None
            if self._per_address[address] >= self.max_per_address:
                reason, why = TOO_MANY_FROM_ADDRESS, (
                    "%d connections from one address (socket_max_per_address)",
                    self._per_address[address])
            elif len(self._address) >= self.max_total and \
                    (victim := self._evictable(address)) is None:
                reason, why = BUSY, ("%d connections waiting to join (socket_max_connections)",
                                     len(self._address))
            else:
                now = self._clock()
                if victim is not None:  # the sweeper closes it at once
                    self._release(victim)
                    self._deadline[victim] = now
                self._address[sid] = address
                self._per_address[address] += 1
                self._deadline[sid] = now + self.join_seconds
                self._start_sweeper()
                if victim is None:
                    return None
                reason = ""
            if reason and len(self._refused) < self.max_refused_held:
                self._refused[sid] = reason
                self._deadline[sid] = self._clock() + min(self.REFUSED_GRACE_SECONDS,
                                                          self.join_seconds)
                self._start_sweeper()
        if not reason:
            self._lines.warning(log, "socket closed to make room: the oldest connection "
                                "waiting to join, of the address holding the most")
            return None
        self._lines.warning(log, "socket refused: " + why[0], *why[1:])
        return reason

    def held(self, sid: str) -> bool:
        """True while a refused connection is held open to be told why."""
        with self._lock:
            return sid in self._refused

    def refusal(self, sid: str) -> str | None:
        """Why a Socket.IO connect over connection ``sid`` must be refused, or None: the
        reason it was refused at the door, or "busy" for a connection the gate never saw."""
        with self._lock:
            if sid in self._refused:
                return self._refused[sid]
            return None if sid in self._address or sid in self._joined else BUSY

    def join_started(self, sid: str) -> None:
        """A join from this connection is being handled: its deadline waits until it ends.

        The deadline is for connections that send nothing; a join that arrived in time may
        take longer than ``join_seconds`` to handle on a loaded server (the link, the flow
        and the witness are loaded), and cutting it then loses a witness that came in time."""
        with self._lock:
            self._joining.add(sid)

    def join_ended(self, sid: str) -> None:
        """The join is handled. Had it failed, the connection's deadline applies again (one
        already past closes it at the next sweep)."""
        with self._lock:
            self._joining.discard(sid)

    def joined(self, sid: str) -> None:
        """The connection joined a witness: it stays (the session's own timeouts apply) and
        no longer counts toward the caps on connections waiting to join."""
        with self._lock:
            self._deadline.pop(sid, None)
            if sid in self._address:
                self._release(sid)
                self._joined.add(sid)

    def left(self, sid: str) -> None:
        """Its Socket.IO socket disconnected: the connection no longer counts, and is closed
        at the next sweep (an Engine.IO session without its socket serves nothing)."""
        with self._lock:
            self._release(sid)
            self._deadline[sid] = self._clock()
            self._start_sweeper()

    def malformed(self, sid: str, what: str,
                  closing: Callable[[int], None] | None = None) -> bool:
        """Count a packet from ``sid`` that could not be decoded (``what``: a short reason,
        never the packet's text); True when the connection has sent too many and is closed.
        ``closing(count)`` runs just before it is closed (its witness records why first)."""
        with self._lock:
            self._malformed[sid] += 1
            count = self._malformed[sid]
        too_many = count >= self.MALFORMED_LIMIT
        self._lines.warning(log, "socket message refused: %s (%d from this connection%s)",
                            what, count, "; closed" if too_many else "")
        if too_many:
            if closing is not None:
                try:
                    closing(count)
                except Exception:  # the connection still closes
                    log.exception("recording a refused socket message failed")
            self._close(sid)
            self.gone(sid)
        return too_many

    def too_large(self, sid: str, what: str) -> None:
        """Count a message from ``sid`` over the size cap (``what``: its event and size, never
        its text) in one short line; its transport closes the connection
        (``kiosk.web.socket_size``)."""
        with self._lock:
            self._malformed[sid] += 1
        self._lines.warning(log, "socket message refused: %s; connection closed", what)

    def gone(self, sid: str) -> None:
        """The connection closed (idempotent)."""
        with self._lock:
            self._release(sid)
            self._deadline.pop(sid, None)
            self._refused.pop(sid, None)
            self._malformed.pop(sid, None)

    def open_count(self) -> int:
        """Admitted connections now open, joined or waiting to join (refused ones held to be
        told are not counted)."""
        with self._lock:
            return len(self._address) + len(self._joined)

    def waiting_count(self) -> int:
        """Admitted connections waiting to join: what ``max_total`` bounds."""
        with self._lock:
            return len(self._address)

    def _evictable(self, address: str) -> str | None:
        """Under the lock, the waiting pool full: the connection to close for a newcomer from
        ``address``, the oldest of the address holding the most waiting connections, if that
        is more than ``address`` holds and its join is not being handled; else None."""
        if not self._per_address:
            return None
        most = max(self._per_address.values())
        if most <= self._per_address[address]:
            return None
        for sid, holder in self._address.items():  # oldest first
            if self._per_address[holder] == most and sid not in self._joining:
                return sid
        return None

    def _release(self, sid: str) -> None:
        self._joining.discard(sid)
        self._joined.discard(sid)
        address = self._address.pop(sid, None)
        if address is not None:
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]

    def _start_sweeper(self) -> None:
        """Under the lock: start the sweeper thread unless it runs."""
        if self._sweeper is None:
            self._sweeper = threading.Thread(target=self._sweep, name="kiosk-socket-gate",
                                             daemon=True)
            self._sweeper.start()

    def _close(self, sid: str) -> None:
        try:
            self._disconnect(sid)
        except Exception:  # already gone
            log.debug("closing a connection failed", exc_info=True)

    def _sweep(self) -> None:
        while True:
            time.sleep(min(0.25, self.join_seconds / 4))
            now = self._clock()
            with self._lock:
                late = [sid for sid, t in self._deadline.items()
                        if t <= now and sid not in self._joining]
                for sid in late:
                    del self._deadline[sid]
                waiting = [sid for sid in late if sid in self._address]
                if not self._deadline and not late:
                    self._sweeper = None
                    return
            if waiting:
                log.info("%d connection(s) did not join within %.0f s; closed", len(waiting),
                         self.join_seconds)
            for sid in late:
                self._close(sid)
                self.gone(sid)  # closed for good (its Engine.IO close says so again)


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
