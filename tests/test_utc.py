"""The one UTC timestamp helper: the formats the timeline, logs, ledger and API have used."""

import datetime as dt

import pytest

from kiosk.utc import utc_iso, utcnow


def test_posix_seconds_become_milliseconds_with_a_z():
    assert utc_iso(0) == "1970-01-01T00:00:00.000Z"
    assert utc_iso(1_795_000_000.1239) == "2026-11-18T11:06:40.123Z"  # truncated, not rounded


def test_datetimes_naive_are_utc_and_aware_ones_are_converted():
    naive = dt.datetime(2026, 11, 24, 21, 0, 0, 123456)
    assert utc_iso(naive, "auto") == "2026-11-24T21:00:00.123456Z"
    assert utc_iso(naive.replace(microsecond=0), "auto") == "2026-11-24T21:00:00Z"
    beijing = dt.datetime(2026, 11, 25, 5, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert utc_iso(beijing, "seconds") == "2026-11-24T21:00:00Z"
    assert utc_iso(naive, "microseconds") == "2026-11-24T21:00:00.123456Z"


def test_now_is_utc_and_the_timespec_is_checked():
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert utcnow().tzinfo is None and utcnow() >= before
    stamp = utc_iso()
    assert stamp.endswith("Z") and len(stamp) == len("2026-11-24T21:00:00.123Z")
    with pytest.raises(ValueError):
        utc_iso(0, "fortnights")
