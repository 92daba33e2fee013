"""Dispatch rules for the review queue: priority, SLA escalation, skills, load and locks.

Pure functions over plain values; the caller passes ``now``, so tests drive time by hand.
The order of the queue, most urgent first:

1. SLA breached, then SLA at risk (a case about to miss its deadline beats everything else);
2. ``priority``: pre-review risk first (suggested reject > needs attention > clear), then the
   flow's ``priority`` setting (high > normal > low);
3. earliest SLA deadline, then earliest enqueued, then id (a stable total order).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

RISK_RANK = {"clear": 0, "needs_attention": 1, "suggested_reject": 2}
FLOW_RANK = {"low": 0, "normal": 1, "high": 2}
SLA_RANK = {"ok": 0, "at_risk": 1, "breached": 2}


@dataclass(frozen=True)
class DispatchPolicy:
    """Configurable dispatch settings; the SLA is ``sla_hours`` from sealing to decision."""

    sla_hours: float = 24.0
    at_risk_fraction: float = 0.75  # at risk once this share of the SLA window has passed
    lock_idle_seconds: float = 600.0  # a lock without activity for this long is released
    max_load: int = 5  # open cases assigned to one reviewer before dispatch skips them

    def __post_init__(self):
        if self.sla_hours <= 0:
            raise ValueError(f"DispatchPolicy.sla_hours must be > 0, got {self.sla_hours}")
        if not 0 < self.at_risk_fraction < 1:
            raise ValueError("DispatchPolicy.at_risk_fraction must be between 0 and 1, "
                             f"got {self.at_risk_fraction}")
        if self.lock_idle_seconds <= 0:
            raise ValueError("DispatchPolicy.lock_idle_seconds must be > 0, "
                             f"got {self.lock_idle_seconds}")
        if self.max_load < 1:
            raise ValueError(f"DispatchPolicy.max_load must be >= 1, got {self.max_load}")

    def due(self, enqueued_at: dt.datetime) -> dt.datetime:
        return enqueued_at + dt.timedelta(hours=self.sla_hours)


@dataclass(frozen=True)
class QueueItem:
    """What dispatch needs to know about one open case."""

    id: str
    priority: int
    enqueued_at: dt.datetime
    sla_due_at: dt.datetime
    locale: str = ""
    flow_id: str = ""
    assigned_to: int | None = None
    locked_by: int | None = None
    lock_expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class Reviewer:
    """A reviewer's skills (empty = any) and current load (open cases assigned)."""

    id: int
    languages: tuple[str, ...] = ()
    flows: tuple[str, ...] = ()
    load: int = 0


def priority_of(verdict: str, flow_priority: str) -> int:
    """Risk dominates, flow priority breaks ties: 0 (clear, low flow) .. 22 (reject, high)."""
    if verdict not in RISK_RANK:
        raise ValueError(f"unknown pre-review verdict {verdict!r}; use one of "
                         f"{', '.join(RISK_RANK)}")
    if flow_priority not in FLOW_RANK:
        raise ValueError(f"unknown flow priority {flow_priority!r}; use one of "
                         f"{', '.join(FLOW_RANK)}")
    return RISK_RANK[verdict] * 10 + FLOW_RANK[flow_priority]


def sla_state(item: QueueItem, now: dt.datetime, policy: DispatchPolicy) -> str:
    """ok | at_risk | breached, for an open case at ``now``."""
    if now >= item.sla_due_at:
        return "breached"
    window = (item.sla_due_at - item.enqueued_at).total_seconds()
    elapsed = (now - item.enqueued_at).total_seconds()
    return "at_risk" if window <= 0 or elapsed >= policy.at_risk_fraction * window else "ok"


def lock_held(item: QueueItem, now: dt.datetime) -> bool:
    """True while someone's lock on the case has not idled out."""
    return (item.locked_by is not None and item.lock_expires_at is not None
            and item.lock_expires_at > now)


def order_queue(items: Iterable[QueueItem], now: dt.datetime,
                policy: DispatchPolicy) -> list[QueueItem]:
    """Open cases, most urgent first (see the module docstring)."""
    def key(it: QueueItem):
        return (-SLA_RANK[sla_state(it, now, policy)], -it.priority, it.sla_due_at,
                it.enqueued_at, it.id)
    return sorted(items, key=key)


def skilled(reviewer: Reviewer, item: QueueItem) -> bool:
    """The reviewer speaks the case's language and knows its flow (empty skill lists: any)."""
    if reviewer.languages and item.locale not in reviewer.languages:
        return False
    return not (reviewer.flows and item.flow_id not in reviewer.flows)


def next_case(items: Sequence[QueueItem], reviewer: Reviewer, now: dt.datetime,
              policy: DispatchPolicy) -> QueueItem | None:
    """The case ``reviewer`` should take next: their own assigned cases first, then the
    most urgent unassigned case they are skilled for (only while under ``max_load``)."""
    ordered = order_queue(items, now, policy)
    for it in ordered:
        if it.assigned_to == reviewer.id and not _locked_by_other(it, reviewer.id, now):
            return it
    if reviewer.load >= policy.max_load:
        return None
    for it in ordered:
        if it.assigned_to is None and not _locked_by_other(it, reviewer.id, now) \
                and skilled(reviewer, it):
            return it
    return None


def _locked_by_other(item: QueueItem, reviewer_id: int, now: dt.datetime) -> bool:
    return lock_held(item, now) and item.locked_by != reviewer_id


def choose_reviewer(item: QueueItem, reviewers: Sequence[Reviewer],
                    policy: DispatchPolicy) -> Reviewer | None:
    """The skilled reviewer with the lowest load under ``max_load`` (ties: lowest id)."""
    fit = [r for r in reviewers if skilled(r, item) and r.load < policy.max_load]
    return min(fit, key=lambda r: (r.load, r.id)) if fit else None


def assign_pending(items: Sequence[QueueItem], reviewers: Sequence[Reviewer], now: dt.datetime,
                   policy: DispatchPolicy) -> list[tuple[str, int]]:
    """(case id, reviewer id) for every unassigned case, most urgent first, balancing load."""
    loads = {r.id: r for r in reviewers}
    out: list[tuple[str, int]] = []
    for it in order_queue([i for i in items if i.assigned_to is None], now, policy):
        r = choose_reviewer(it, list(loads.values()), policy)
        if r is None:
            continue
        out.append((it.id, r.id))
        loads[r.id] = Reviewer(r.id, r.languages, r.flows, r.load + 1)
    return out


def escalations(items: Iterable[tuple[QueueItem, str]], now: dt.datetime,
                policy: DispatchPolicy) -> list[tuple[str, str]]:
    """(case id, new SLA state) for every case whose state moved since it was stored;
    ``items`` pairs each case with its stored state. Only worsening moves are reported."""
    out = []
    for it, stored in items:
        state = sla_state(it, now, policy)
        if SLA_RANK[state] > SLA_RANK.get(stored, 0):
            out.append((it.id, state))
    return out


def expired_locks(items: Iterable[QueueItem], now: dt.datetime) -> list[str]:
    """Ids of cases whose lock has idled out and must be released."""
    return [it.id for it in items if it.locked_by is not None and not lock_held(it, now)]
