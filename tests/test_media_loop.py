"""The media loop's lag monitor: histogram, percentiles, differences, warnings (``/api/health``
is in test_api)."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from kiosk.loadtest import BOMB_SIDE, bomb_png
from kiosk.media.loop import LagSnapshot, LoopLagMonitor, MediaLoop


def test_percentiles_come_from_the_bucket_holding_them():
    mon = LoopLagMonitor(warn_ms=1000)
    for ms in [1.0] * 90 + [40.0] * 9 + [900.0]:
        mon.add(ms)
    snap = mon.snapshot().to_dict()
    assert snap["samples"] == 100 and snap["max_ms"] == 900.0 and snap["over_threshold"] == 0
    # Each figure is the bound of its bucket: at most 25% above the true value.
    assert 1.0 <= snap["p50_ms"] <= 1.25
    assert 40.0 <= snap["p95_ms"] <= 50.0
    assert 40.0 <= snap["p99_ms"] <= 50.0  # the 99th of 100 samples is a 40 ms one
    assert snap["mean_ms"] == pytest.approx((90 * 1 + 9 * 40 + 900) / 100, abs=0.01)


def test_the_p99_of_one_late_wake_up_in_a_hundred_is_that_wake_up():
    mon = LoopLagMonitor(warn_ms=1000)
    for ms in [1.0] * 98 + [700.0, 700.0]:
        mon.add(ms)
    assert 700.0 <= mon.snapshot().percentile(0.99) <= 700.0 * 1.25


def test_a_difference_of_snapshots_is_the_period_between_them():
    mon = LoopLagMonitor(warn_ms=1000)
    for _ in range(50):
        mon.add(2000.0)  # a bad start (models loading) ...
    before = mon.snapshot()
    for _ in range(50):
        mon.add(3.0)  # ... is not the load period's
    period = mon.snapshot() - before
    assert period.n == 50 and period.percentile(0.99) <= 3.0 * 1.25
    assert period.max_ms <= 3.0 * 1.25 and period.over_threshold == 0
    again = LagSnapshot.from_counts(**{k: v for k, v in mon.snapshot().to_dict(counts=True)
                                       .items() if k in ("counts", "total_ms", "max_ms",
                                                         "over_threshold")})
    assert again == mon.snapshot()


def test_bad_figures_are_refused():
    with pytest.raises(ValueError, match="interval"):
        LoopLagMonitor(interval=0)
    with pytest.raises(ValueError, match="lag must be >= 0"):
        LoopLagMonitor().add(-1.0)
    with pytest.raises(ValueError, match="within 0..1"):
        LoopLagMonitor().snapshot().percentile(1.5)
    with pytest.raises(ValueError, match="bucket counts"):
        LagSnapshot.from_counts([1, 2], 0.0, 0.0, 0)
    assert LoopLagMonitor().snapshot().to_dict()["p95_ms"] is None  # no samples yet


def test_a_late_wake_up_is_logged_once_per_period(caplog):
    mon = LoopLagMonitor(warn_ms=100, warn_every_s=3600)
    with caplog.at_level(logging.WARNING, logger="kiosk.media.loop"):
        for _ in range(5):
            mon.add(450.0)
        mon.add(10.0)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "450 ms late" in warnings[0]
    assert mon.snapshot().over_threshold == 5


def test_a_blocked_loop_is_measured():
    loop = MediaLoop(name="test-media")
    try:
        ready = threading.Event()

        async def block():
            ready.set()
            import time

            time.sleep(0.6)  # what a decode or an inference on the loop would do

        loop.run(asyncio.sleep(0.25))  # a few samples first
        loop.run(block())
        loop.run(asyncio.sleep(0.25))  # the monitor wakes after the block and counts it
        snap = loop.lag.snapshot()
        assert ready.is_set() and snap.n >= 2
        assert snap.max_ms >= 300  # the monitor was due during the block
    finally:
        loop.stop()


def test_the_bomb_states_its_size_in_a_few_bytes():
    from kiosk.liveness.id_photo import PhotoTooLarge, inspect_photo

    data = bomb_png()
    assert len(data) < 200_000
    assert data[16:24] == BOMB_SIDE.to_bytes(4, "big") * 2  # IHDR width, height
    with pytest.raises(PhotoTooLarge, match="the limit is 4096x4096"):
        inspect_photo(data)


def test_a_run_that_times_out_cancels_its_coroutine():
    """``LoopPeer.accept`` waits ``accept_timeout`` through ``run``: past it the caller ends the
    witness, so the coroutine must not go on creating a peer connection and a recorder that
    nothing would close."""
    media = MediaLoop(name="test-media-timeout")
    started, cancelled, finished = threading.Event(), threading.Event(), threading.Event()

    async def slow():
        started.set()
        try:
            await asyncio.Event().wait()  # never set: only a cancel ends it
        except asyncio.CancelledError:
            cancelled.set()
            raise
        finished.set()

    try:
        with pytest.raises(TimeoutError):
            media.run(slow(), timeout=0.05)
        media.run(asyncio.sleep(0), timeout=30)  # the loop ran what was queued before
        if started.is_set():  # else it was cancelled before its first step
            assert cancelled.wait(30), "the timed-out coroutine is still running on the loop"
        assert not finished.is_set()
    finally:
        media.stop()
