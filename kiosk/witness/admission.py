"""Admission control: a node starts no witness it cannot carry.

Overload must never show up as dropped media or lost recordings. One node process carries a
measured number of live witnesses (``node_capacity``; 0 means ``witnesses_per_core`` times the
machine's cores, from ``kiosk loadtest``: docs/operations.md, *Capacity*). When that many are
live, or the node is draining, an investor who opens a link is told the service is busy, with
an estimated wait, and the page tries again by itself. The link is checked but not used up:
the same link joins later.

A slot is reserved before the link is used up (``LiveSessions.reserve``), so two investors
joining at the same instant cannot both take the last slot.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import asdict, dataclass

from kiosk.config import Settings
from kiosk.protocol import BUSY_ERRORS, ErrorCode

# A wait shorter than this is not promised: the page retries no sooner.
MIN_WAIT_S = 15
# Retries spread over this fraction of the wait, so a crowd turned away together does not
# come back in the same second.
RETRY_JITTER = 0.2


@dataclass(frozen=True)
class Busy:
    """Why a witness was not started now, and when to try again.

    ``code``: ``witness_busy`` (every slot taken) or ``node_draining`` (the node is stopping),
    kept as the ``kiosk.protocol.ErrorCode`` (ValueError for any other code);
    ``retry_after_s``: seconds the page waits before it tries again by itself.
    """

    code: ErrorCode | str
    retry_after_s: int
    live: int
    capacity: int

    def __post_init__(self) -> None:
        if self.code not in BUSY_ERRORS:
            raise ValueError(f"a busy code is one of {', '.join(sorted(BUSY_ERRORS))}, "
                             f"not {self.code!r}")
        object.__setattr__(self, "code", ErrorCode(self.code))

    def message(self) -> str:
        if self.code == ErrorCode.NODE_DRAINING:
            return "the witness service is restarting; please try again shortly"
        return "every witness place is taken right now; please wait, the page will try again"


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (``taskset -c``, systemd
    ``CPUAffinity=``, a container's cpuset) where the OS reports one, else every core."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def node_capacity(settings: Settings, cpu_count: int | None = None) -> int:
    """Live witnesses this node process carries: ``node_capacity`` when set, else
    ``witnesses_per_core`` times the cores it may run on (``usable_cores``; at least 1).

    Several node processes on one machine each count every core unless each is pinned to its
    own (docs/operations.md, *Admission control*): pin them, or set ``node_capacity``."""
    if settings.node_capacity:
        return settings.node_capacity
    cores = cpu_count if cpu_count is not None else usable_cores()
    return max(1, math.floor(settings.witnesses_per_core * cores))


def estimated_wait(elapsed_s: list[float], expected_s: float) -> int:
    """Seconds until the first live witness is expected to end: ``expected_s`` (a witness's
    usual length) minus the longest elapsed time, at least ``MIN_WAIT_S``, rounded up to 5 s.
    ``elapsed_s``: how long each live witness has been running."""
    left = expected_s - max(elapsed_s, default=0.0)
    return int(math.ceil(max(MIN_WAIT_S, left) / 5.0) * 5)


def retry_after(wait_s: int, rng: random.Random | None = None) -> int:
    """The wait with up to ``RETRY_JITTER`` of it added at random (whole seconds)."""
    r = rng or random
    return wait_s + int(r.uniform(0, RETRY_JITTER * wait_s))


@dataclass(frozen=True)
class CapacityReport:
    """What ``GET /api/capacity`` answers for this node: live witnesses, the capacity,
    free places, whether it drains, and the estimated wait (s) when no place is free."""

    node_id: str
    capacity: int
    live: int
    reserved: int
    available: int
    draining: bool
    estimated_wait_s: int | None

    def to_dict(self) -> dict:
        return asdict(self)
