"""The one asyncio thread that owns every aiortc peer connection, and a watch on its lag.

Every RTP and RTCP packet of every investor, the ICE consent checks and the DTLS records are
handled on this one thread. Anything slow that runs on it delays all of them: a loop that
wakes seconds late misses ICE consent responses, and aiortc closes a healthy connection
(``media_closed``) about 30 s later. ``LoopLagMonitor`` therefore measures how late the loop
wakes from a short sleep, keeps a bounded histogram of it, and logs a warning when a wake-up
is later than a threshold; ``/api/health`` and ``kiosk loadtest`` report it.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import logging
import math
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Histogram bucket upper bounds in ms: 0.25 ms to ~60 s, each 25% above the previous one, so
# a percentile read from the histogram is within 25% of the true value, in constant memory.
LAG_BUCKETS_MS: tuple[float, ...] = tuple(0.25 * 1.25 ** i for i in range(56))


@dataclass(frozen=True)
class LagSnapshot:
    """Counts of lag samples per ``LAG_BUCKETS_MS`` bucket (the last counts everything above
    the last bound), with their number, sum and maximum (ms). Subtract two snapshots for the
    lag of the period between them."""

    counts: tuple[int, ...]
    n: int
    total_ms: float
    max_ms: float
    over_threshold: int

    def __sub__(self, earlier: LagSnapshot) -> LagSnapshot:
        """The samples taken after ``earlier``; their maximum is known to bucket precision."""
        counts = tuple(a - b for a, b in zip(self.counts, earlier.counts, strict=True))
        top = max((i for i, c in enumerate(counts) if c > 0), default=None)
        max_ms = 0.0 if top is None else min(
            self.max_ms, LAG_BUCKETS_MS[top] if top < len(LAG_BUCKETS_MS) else self.max_ms)
        return LagSnapshot(counts, self.n - earlier.n, self.total_ms - earlier.total_ms,
                           max_ms, self.over_threshold - earlier.over_threshold)

    @classmethod
    def from_counts(cls, counts, total_ms: float, max_ms: float,
                    over_threshold: int) -> LagSnapshot:
        """Rebuild a snapshot from ``to_dict(counts=True)`` figures (ValueError if malformed)."""
        counts = tuple(int(c) for c in counts)
        if len(counts) != len(LAG_BUCKETS_MS) + 1 or min(counts) < 0:
            raise ValueError(f"expected {len(LAG_BUCKETS_MS) + 1} non-negative bucket counts")
        return cls(counts, sum(counts), float(total_ms), float(max_ms), int(over_threshold))

    def percentile(self, q: float) -> float | None:
        """The bucket bound (ms) at or below which a share ``q`` (0..1) of the samples lie."""
        if not 0 <= q <= 1:
            raise ValueError(f"q must be within 0..1, got {q!r}")
        if self.n <= 0:
            return None
        rank = max(1, math.ceil(q * self.n))
        seen = 0
        for i, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                bound = LAG_BUCKETS_MS[i] if i < len(LAG_BUCKETS_MS) else self.max_ms
                return round(min(bound, self.max_ms), 2)
        return round(self.max_ms, 2)

    def to_dict(self, counts: bool = False) -> dict:
        """``{"samples", "p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms", "over_threshold"}``
        (ms; None without samples), and with ``counts`` the raw ``counts`` and ``total_ms``."""
        out: dict[str, object] = {
            "samples": self.n,
            "p50_ms": self.percentile(0.5),
            "p95_ms": self.percentile(0.95),
            "p99_ms": self.percentile(0.99),
            "max_ms": round(self.max_ms, 2) if self.n else None,
            "mean_ms": round(self.total_ms / self.n, 2) if self.n else None,
            "over_threshold": self.over_threshold,
        }
        if counts:
            out["counts"] = list(self.counts)
            out["total_ms"] = round(self.total_ms, 3)
        return out


class LoopLagMonitor:
    """How late an asyncio loop wakes: sleep ``interval`` s, measure the overshoot, repeat.

    ``run()`` is the coroutine to start on the watched loop; ``add()`` and ``snapshot()`` may be
    called from any thread. A wake-up later than ``warn_ms`` is logged as a warning, at most
    once per ``warn_every_s`` (with the count of the late ones in between).
    """

    def __init__(self, interval: float = 0.1, warn_ms: float = 250.0, warn_every_s: float = 10.0):
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        if not warn_ms > 0:
            raise ValueError(f"warn_ms must be > 0, got {warn_ms!r}")
        self.interval = float(interval)
        self.warn_ms = float(warn_ms)
        self.warn_every_s = float(warn_every_s)
        self._lock = threading.Lock()
        self._counts = [0] * (len(LAG_BUCKETS_MS) + 1)
        self._n = 0
        self._total = 0.0
        self._max = 0.0
        self._over = 0
        self._last_warning = float("-inf")
        self._late_since_warning = 0

    async def run(self) -> None:
        """Measure until cancelled."""
        while True:
            start = time.monotonic()
            await asyncio.sleep(self.interval)
            self.add(max(0.0, (time.monotonic() - start - self.interval) * 1000))

    def add(self, lag_ms: float) -> None:
        """Count one wake-up ``lag_ms`` late (warns when above the threshold)."""
        if not lag_ms >= 0:
            raise ValueError(f"lag must be >= 0 ms, got {lag_ms!r}")
        warn = None
        with self._lock:
            self._counts[bisect.bisect_left(LAG_BUCKETS_MS, lag_ms)] += 1
            self._n += 1
            self._total += lag_ms
            self._max = max(self._max, lag_ms)
            if lag_ms > self.warn_ms:
                self._over += 1
                self._late_since_warning += 1
                now = time.monotonic()
                if now - self._last_warning >= self.warn_every_s:
                    warn = self._late_since_warning
                    self._last_warning = now
                    self._late_since_warning = 0
        if warn is not None:
            log.warning("the media loop woke %.0f ms late (threshold %.0f ms; %d late wake-up(s) "
                        "since the last warning): RTP, RTCP and ICE consent checks wait that long",
                        lag_ms, self.warn_ms, warn)

    def snapshot(self) -> LagSnapshot:
        """The histogram so far (a copy)."""
        with self._lock:
            return LagSnapshot(tuple(self._counts), self._n, self._total, self._max, self._over)


class MediaLoop:
    """A daemon thread running an asyncio loop; other threads hand it coroutines.

    The loop watches its own lag (``self.lag``: a ``LoopLagMonitor``); ``lag_warn_ms`` is the
    lateness above which it logs a warning.
    """

    def __init__(self, name: str = "kiosk-media", lag_warn_ms: float = 250.0):
        self.loop = asyncio.new_event_loop()
        self.lag = LoopLagMonitor(warn_ms=lag_warn_ms)
        self._lag_task: asyncio.Task | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self._lag_task = self.loop.create_task(self.lag.run())
        self.loop.run_forever()
        # Let the cancelled watch finish, or asyncio reports it "destroyed but pending".
        task = self._lag_task
        if task is not None and not task.done():
            task.cancel()
        if task is not None:
            try:
                self.loop.run_until_complete(task)
            except asyncio.CancelledError:
                pass

    def submit(self, coro) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro, timeout: float = 15.0):
        """Run ``coro`` on the loop and wait at most ``timeout`` seconds for its result (from
        another thread). Raises what ``coro`` raises; TimeoutError past ``timeout``, and then
        ``coro`` is cancelled (a caller that gave up must not leave it running: a peer
        connection half made, a recorder nothing closes). RuntimeError on the loop thread."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("MediaLoop.run called from the loop thread itself")
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def call_soon(self, fn, *args) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float = 5.0) -> None:
        if not self.loop.is_running():
            return
        if self._lag_task is not None:
            self.loop.call_soon_threadsafe(self._lag_task.cancel)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
