"""Wall-clock time, always UTC: the one place that makes a timestamp.

Stored and shown times are ISO 8601 in UTC with a ``Z`` (``2026-11-24T21:00:00.123Z``); the
database keeps naive datetimes that are UTC (``utcnow``). Positions inside a recording are not
wall-clock time: they are on the session's media clock (``kiosk.timeline.MediaClock``).
"""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now, as a naive datetime in UTC (what the database's ``DateTime`` columns hold)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def utc_iso(when: float | dt.datetime | None = None, timespec: str = "milliseconds") -> str:
    """``when`` as ISO 8601 UTC with a ``Z``, e.g. ``2026-11-24T21:00:00.123Z``.

    ``when``: None (now), POSIX seconds, or a datetime (naive ones are taken as UTC, aware
    ones are converted). ``timespec`` as ``datetime.isoformat`` (``"seconds"``,
    ``"milliseconds"``, ``"microseconds"``, or ``"auto"``: microseconds only when non-zero);
    the fraction is truncated, never rounded up. ValueError for an unknown ``timespec``.
    """
    if when is None:
        moment = dt.datetime.now(dt.UTC)
    elif isinstance(when, dt.datetime):
        moment = when if when.tzinfo is None else when.astimezone(dt.UTC)
    else:
        moment = dt.datetime.fromtimestamp(when, dt.UTC)
    return moment.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"
