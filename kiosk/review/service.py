"""The review service: enqueue sealed packages, dispatch, locks, SLA escalation, audit log.

It owns the review tables' rows; the rules themselves are in ``dispatch`` (pure). ``clock``
returns naive UTC datetimes like ``kiosk.utc.utcnow`` and is injected for tests.

Several nodes may serve the console on one database (PostgreSQL). The in-process lock only
orders this node's threads; what keeps two nodes from handing one case to two reviewers is
that every claim (take, open, heartbeat, auto-assign, idle release) is one conditional UPDATE
whose WHERE re-checks the state it was decided on, and counts as won only when it changed
the row.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.engine import CursorResult

from kiosk.atomic_files import is_disk_full, sha256_file
from kiosk.errors import AuthError, EvidenceError
from kiosk.evidence.bags import BagUnavailable, SealedBags
from kiosk.evidence.ledger import TAGMANIFEST
from kiosk.evidence.storage import check_package_id
from kiosk.evidence.verify import verify_package
from kiosk.review import dispatch
from kiosk.review.accounts import LoginThrottle
from kiosk.review.bucket import BucketMedia
from kiosk.review.models import AuditEntry, ReviewCase, ReviewDecisionRow, StaffUser
from kiosk.review.prereview import PrereviewError, build_prereview, unreadable_prereview
from kiosk.store import WitnessRow
from kiosk.utc import utc_iso, utcnow

if TYPE_CHECKING:
    from kiosk.services import KioskServices

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReviewConfig:
    """Console settings; ``from_mapping`` reads them from ``app.config['REVIEW']``."""

    sla_hours: float = 24.0
    at_risk_fraction: float = 0.75
    lock_idle_seconds: float = 600.0
    max_load: int = 5
    idle_timeout_seconds: float = 15 * 60
    absolute_timeout_seconds: float = 8 * 3600
    max_failed_logins: int = 5
    # failed logins from one client address (behind a proxy: trusted_proxy_hops) within
    # lockout_seconds before that address is refused
    max_failed_logins_per_address: int = 20
    lockout_seconds: float = 15 * 60
    poll_seconds: float = 15.0  # how often the server looks for newly sealed sessions
    active_reviewer_seconds: float = 30 * 60  # seen this recently: eligible for dispatch

    @classmethod
    def from_mapping(cls, values: dict | None) -> ReviewConfig:
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown review settings: {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
        return cls(**values)

    def policy(self) -> dispatch.DispatchPolicy:
        return dispatch.DispatchPolicy(self.sla_hours, self.at_risk_fraction,
                                       self.lock_idle_seconds, self.max_load)


class CaseAccessError(AuthError):
    """The caller may not open or change this case; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 403, owner: str | None = None):
        super().__init__(message)
        self.status = status
        # 503 only: the node that sealed the case onto its disk and can serve it (no object
        # store, or the archive not readable from it here).
        self.owner = owner


# The ledger record type of a reviewer's decision (kiosk.review.decisions signs it).
DECISION_RECORD = "review_decision"


def _ledger_time(value) -> dt.datetime | None:
    """A record's ``decided_at`` (``utc_iso`` text) as a naive UTC datetime; None if unreadable."""
    try:
        moment = dt.datetime.fromisoformat(str(value).removesuffix("Z"))
    except ValueError:
        return None
    return moment if moment.tzinfo is None else moment.astimezone(dt.UTC).replace(tzinfo=None)


@dataclass
class DecisionRows:
    """The rows one decision adds (``record_decision``), until its ledger number is known."""

    decision_row: ReviewDecisionRow
    audit_row: AuditEntry
    detail: dict

    def set_ledger_seq(self, seq: int) -> None:
        self.decision_row.ledger_seq = seq
        self.detail["ledger_seq"] = seq
        self.audit_row.detail_json = json.dumps(self.detail, ensure_ascii=False)


def _files_stamp(folder: Path) -> tuple:
    """(relative path, size, mtime_ns, ctime_ns, inode) of every entry under ``folder``,
    sorted. The change time is kept because a writer can set the modification time back
    (``touch -d``) but not the change time."""
    out = []
    for p in folder.rglob("*"):
        try:
            st = p.lstat()
        except FileNotFoundError:
            continue
        out.append((str(p.relative_to(folder)), st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                    st.st_ino))
    return tuple(sorted(out))


# take_next reads the queue again after losing a case to another node, at most this often.
TAKE_ATTEMPTS = 20


def _rowcount(result) -> int:
    assert isinstance(result, CursorResult)  # an UPDATE executes to a CursorResult
    return result.rowcount


# A sealed package whose bag is not here (yet), or cannot be listed, is tried again after
# RETRY_FIRST_SECONDS, doubling up to RETRY_MAX_SECONDS; after RETRY_ATTEMPTS failed tries
# (about 16 minutes) it is queued flagged "evidence unreadable" so that auditors see it.
RETRY_FIRST_SECONDS = 15.0
RETRY_MAX_SECONDS = 300.0
RETRY_ATTEMPTS = 7


@dataclass
class _Retry:
    """A package the poller could not enqueue: how often it failed, when to try again."""

    attempts: int
    next_at: dt.datetime


def _item(c: ReviewCase) -> dispatch.QueueItem:
    return dispatch.QueueItem(c.id, c.priority, c.enqueued_at, c.sla_due_at, c.locale,
                              c.flow_id, c.assigned_to, c.locked_by, c.lock_expires_at)


class ReviewService:
    def __init__(self, store, packages_dir: Path, config: ReviewConfig | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, keys=None, ledger=None,
                 public_origin: str = "", client_address: Callable[[], str] = lambda: "",
                 kiosk: KioskServices | None = None, bucket: BucketMedia | None = None,
                 bags: SealedBags | None = None):
        self.store = store
        # Where a case's bag is read from: this node's disk, else (with an object store) the
        # archive fetched from the bucket and verified (kiosk.evidence.bags).
        self.bags = bags or SealedBags(Path(packages_dir), Path(packages_dir) / ".no-cache")
        # Recordings from the evidence bucket when a case's local bag is gone (None: no
        # evidence_s3_bucket).
        self.bucket = bucket
        # The kiosk's services (new links on a return; the poller stops with the server).
        self.kiosk = kiosk
        # The address of the client whose request is running ("" outside a request); every
        # audit entry without an explicit ip records it.
        self.client_address = client_address
        # The console's origin from the public_url setting ("" : from each request).
        self.public_origin = public_origin
        self.packages_dir = Path(packages_dir)
        self.config = config or ReviewConfig()
        self.policy = self.config.policy()
        self.clock = clock
        self.keys = keys
        self.ledger = ledger
        self._lock = threading.RLock()  # one dispatch change at a time (take-next races)
        cfg = self.config
        self.throttle = LoginThrottle(store, clock, max_failures=cfg.max_failed_logins,
                                      lockout_seconds=cfg.lockout_seconds,
                                      ip_max_failures=cfg.max_failed_logins_per_address,
                                      ip_window_seconds=cfg.lockout_seconds, audit=self.audit,
                                      shared_addresses=(kiosk.cluster.login_failures
                                                        if kiosk and kiosk.cluster else None))
        self.poller_stop = threading.Event()  # set: the queue poller (if any) stops
        # Cases whose decision the ledger holds but whose row could not be written (a full
        # disk after the append): the row is brought in line at the next chance.
        self.unreconciled: set[str] = set()
        # package id -> (the stat of its files when verified, the problems found): a bag is
        # hashed again only when one of its files changed.
        self._integrity: dict[str, tuple[tuple, list[str]]] = {}
        # Sealed packages the poller could not enqueue yet: package id -> its next try.
        self._retry: dict[str, _Retry] = {}

    # -- users and audit -----------------------------------------------------------------
    def user(self, uid) -> StaffUser | None:
        if not isinstance(uid, int):
            return None
        with self.store.db() as db:
            return db.get(StaffUser, uid)

    def users(self) -> list[StaffUser]:
        with self.store.db() as db:
            return list(db.scalars(select(StaffUser).order_by(StaffUser.id)))

    def audit(self, user, action: str, case_id: str | None = None, detail: dict | None = None,
              ip: str | None = None) -> None:
        """Append to the audit log; ``user`` is a StaffUser, a session dict or None (the
        server itself). ``ip`` defaults to the address of the client of the running request
        (through the trusted proxies), or "" when the server acts on its own (the poller)."""
        with self.store.db() as db, db.begin():
            db.add(self.audit_entry(user, action, case_id, detail, ip))

    def audit_entry(self, user, action: str, case_id: str | None = None,
                    detail: dict | None = None, ip: str | None = None) -> AuditEntry:
        """The audit row ``audit`` would add, for a caller that adds it in its own
        transaction."""
        if ip is None:
            ip = self.client_address()
        uid = getattr(user, "id", None) if not isinstance(user, dict) else user.get("uid")
        name = getattr(user, "username", "") if not isinstance(user, dict) else user.get("name")
        return AuditEntry(at=self.clock(), user_id=uid, username=name or "", action=action,
                          case_id=case_id, ip=ip[:64],
                          detail_json=json.dumps(detail or {}, ensure_ascii=False))

    # -- decisions: the ledger is the truth ---------------------------------------------------
    def record_decision(self, db, case_id: str, record: dict, seq: int,
                        review_seconds: float | None = None, *,
                        reconciled: bool = False) -> DecisionRows | None:
        """Add to ``db``'s transaction what the case rows hold of the signed decision
        ``record`` (ledger entry ``seq``): the case decided and unlocked, the decision row and
        the ``decide`` audit entry. None (nothing added) when the case is gone or was
        already decided."""
        c = db.get(ReviewCase, case_id)
        if c is None or c.status != "queued":
            return None
        decided_at = _ledger_time(record.get("decided_at")) or self.clock()
        uid = record.get("reviewer_id")
        uid = uid if isinstance(uid, int) else None
        decision = str(record.get("decision") or "")
        reasons = [str(r) for r in record.get("reasons") or []]
        c.status, c.decision, c.decided_at, c.decided_by = "decided", decision, decided_at, uid
        c.locked_by = c.lock_expires_at = None
        row = ReviewDecisionRow(case_id=case_id, user_id=uid or 0, decision=decision,
                                reasons_csv=",".join(reasons), decided_at=decided_at,
                                review_seconds=review_seconds, ledger_seq=seq,
                                new_session_id=record.get("new_session_id"))
        detail: dict = {"decision": decision, "reasons": reasons, "ledger_seq": seq}
        user = {"uid": uid, "name": record.get("reviewer") or ""}
        if reconciled:
            detail["reconciled_from_ledger"] = True
        entry = self.audit_entry(user, "decide", case_id, detail,
                                 ip="" if reconciled else None)
        db.add_all([row, entry])
        return DecisionRows(row, entry, detail)

    def reconcile_decisions(self, case_ids=None) -> list[str]:
        """Bring queued case rows in line with the decisions the ledger holds for them (a
        decision appended whose row was then not written: a full disk, a crash). ``case_ids``:
        only these (None: every queued case, one read of the ledger). Returns the cases
        changed; a case that cannot be written now stays in ``unreconciled``, with a WARNING
        and no traceback."""
        if self.ledger is None:
            return []
        with self.store.db() as db:
            q = select(ReviewCase.id).where(ReviewCase.status == "queued")
            if case_ids is not None:
                q = q.where(ReviewCase.id.in_(list(case_ids)))
            queued = set(db.scalars(q))
        if case_ids is not None:
            self.unreconciled.difference_update(set(case_ids) - queued)
        if not queued:
            return []
        if case_ids is None:
            found = self.ledger.first_records(DECISION_RECORD)
        else:
            found = {}
            for cid in queued:
                first = next((e for e in self.ledger.records(cid)
                              if (e.get("record") or {}).get("type") == DECISION_RECORD), None)
                if first is not None:
                    found[cid] = first
        changed = []
        for cid in sorted(queued & set(found)):
            entry = found[cid]
            try:
                with self._lock, self.store.db() as db, db.begin():
                    done = self.record_decision(db, cid, entry.get("record") or {},
                                                int(entry.get("seq", -1)), reconciled=True)
            except Exception as exc:
                if not is_disk_full(exc):
                    raise
                self.unreconciled.add(cid)
                log.warning("case %s: its decision is in the ledger (#%s) but the case row "
                            "cannot be written yet: the data disk is full", cid,
                            entry.get("seq"))
                continue
            self.unreconciled.discard(cid)
            if done:
                changed.append(cid)
                log.warning("case %s: the ledger holds its decision (#%s, %s) but the case "
                            "row did not; the row now follows the ledger", cid,
                            entry.get("seq"), (entry.get("record") or {}).get("decision"))
        return changed

    def audit_log(self, case_id: str | None = None, limit: int = 200) -> list[dict]:
        with self.store.db() as db:
            q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
            if case_id:
                q = q.where(AuditEntry.case_id == case_id)
            return [a.public() for a in db.scalars(q)]

    def seen(self, uid: int) -> None:
        with self.store.db() as db, db.begin():
            u = db.get(StaffUser, uid)
            if u is not None:
                u.last_seen_at = self.clock()

    # -- the queue -----------------------------------------------------------------------
    def bag_dir(self, case_id: str, *, fetch: bool = True) -> Path:
        """The sealed bag folder of a case; only ever from a server-side id.

        This node's own bag, else the verified copy from the object store (fetched now unless
        ``fetch`` is False). CaseAccessError 404 for a bad id (or, without ``fetch``, no bag
        here yet); 503 naming what is unavailable (no object store and the bag on another
        node, the archive not uploaded yet, the store unreachable or its archive failing
        verification)."""
        try:
            check_package_id(case_id)
            if not fetch:
                found = self.bags.local_bag(case_id) or self.bags.cached_bag(case_id)
                if found is None:
                    raise CaseAccessError("no such case", 404)
                return found
            return self.bags.bag(case_id)
        except BagUnavailable as exc:
            raise self._unavailable(case_id, exc) from None
        except EvidenceError:
            raise CaseAccessError("no such case", 404) from None

    def package_archive(self, case_id: str) -> Path:
        """The sealed archive (.tar) of a case, from this node or the object store; the
        errors of ``bag_dir``."""
        try:
            check_package_id(case_id)
            return self.bags.archive(case_id)
        except BagUnavailable as exc:
            raise self._unavailable(case_id, exc) from None
        except EvidenceError:
            raise CaseAccessError("no such case", 404) from None

    def sealing_node(self, package_id: str) -> str | None:
        """The node that ran (and sealed) the package's session, when recorded."""
        with self.store.db() as db:
            return db.scalar(select(WitnessRow.node_id).where(
                WitnessRow.package_id == package_id).limit(1))

    def _unavailable(self, case_id: str, exc: BagUnavailable) -> CaseAccessError:
        node = self.sealing_node(case_id)
        own = self.kiosk.node_id if self.kiosk is not None else None
        if exc.reason == "not_sealed_here" and (node is None or node == own):
            # This node's own package, its bag gone, no object store: nobody else has it.
            return CaseAccessError("no such case", 404)
        return CaseAccessError(f"evidence unavailable on this node: {exc}" + (
            f" (sealed on node {node})" if node else ""), 503,
            owner=node)

    def _here(self, package_id: str) -> bool:
        """This node has the package's bag (its own, or fetched from the bucket before)."""
        try:
            return (self.bags.local_bag(package_id) or self.bags.cached_bag(package_id)) \
                is not None
        except EvidenceError:
            return False

    def _other_live_node(self, node_id: str | None) -> bool:
        """True when ``node_id`` is another node whose lease is live: it enqueues its own
        packages, so this node does not fetch them."""
        kiosk = self.kiosk
        if not node_id or kiosk is None or kiosk.cluster is None or node_id == kiosk.node_id:
            return False
        try:
            return kiosk.cluster.registry.node(node_id) is not None
        except Exception:  # the registry unreachable: let the owner enqueue it
            return True

    def enqueue(self, package_id: str, session_id: str | None = None, *,
                unreadable: tuple[str, str] | None = None) -> ReviewCase:
        """Pre-review a sealed package and put it in the queue (idempotent).

        A bag whose content the pre-review cannot judge is queued with an "evidence
        unreadable: <file>: <why>" flag (``PrereviewError``); ``unreadable=(file, why)``
        queues it so without reading the bag (the poller, once it gave up waiting for it).
        CaseAccessError (404) when the bag is not here; OSError when it cannot be listed."""
        with self._lock:
            with self.store.db() as db:
                existing = db.get(ReviewCase, package_id)
                row = db.get(WitnessRow, session_id) if session_id else None
                row_flow, row_locale = (row.flow_id, row.locale) if row else ("", "")
            if existing is not None:
                return existing
            if unreadable is None:
                try:
                    pre = build_prereview(self.bag_dir(package_id))
                except PrereviewError as exc:
                    unreadable = (exc.file, exc.why)
                    log.warning("package %s: %s; queued flagged", package_id, exc,
                                extra={"session": session_id})
            if unreadable is not None:
                pre = unreadable_prereview(package_id, session_id or package_id, *unreadable,
                                           flow_id=row_flow, locale=row_locale)
            now = self.clock()
            flow_priority = pre["flow"].get("priority") or "normal"
            if not isinstance(flow_priority, str) or flow_priority not in dispatch.FLOW_RANK:
                flow_priority = "normal"
            locale = pre["locale"] if isinstance(pre["locale"], str) else ""
            case = ReviewCase(
                id=package_id, session_id=session_id or str(pre["session_id"])[:64],
                flow_id=str(pre["flow"].get("id") or "")[:64], flow_priority=flow_priority,
                locale=locale[:8], verdict=pre["verdict"],
                flag_count=sum(1 for f in pre["findings"] if f["severity"] != "info"),
                duration_s=pre["duration"],
                priority=dispatch.priority_of(pre["verdict"], flow_priority),
                prereview_json=json.dumps(pre, ensure_ascii=False), enqueued_at=now,
                sla_due_at=self.policy.due(now), status="queued")
            with self.store.db() as db, db.begin():
                db.add(case)
            log.info("case %s enqueued: %s, priority %d", package_id, pre["verdict"],
                     case.priority, extra={"session": case.session_id})
            return case

    def poll(self) -> dict:
        """Enqueue sealed sessions not yet in the queue, release idle locks, escalate SLAs,
        and assign unassigned cases to active reviewers. Returns what it did."""
        with self.store.db() as db:
            known = set(db.scalars(select(ReviewCase.id)))
            sealed = list(db.execute(select(WitnessRow.package_id, WitnessRow.id,
                                            WitnessRow.node_id).where(
                WitnessRow.sealed_at.is_not(None), WitnessRow.package_id.is_not(None))))
        added = []
        for package_id, session_id, node_id in sealed:
            if package_id in known:
                self._retry.pop(package_id, None)  # queued by another node
                continue
            # Only what this node can read: another live node's fresh package is enqueued by
            # that node (never queued here as "unreadable"); a lost node's from the bucket.
            if self._other_live_node(node_id) and not self._here(package_id):
                continue
            if self._enqueue_or_wait(package_id, session_id):
                added.append(package_id)
        return {"enqueued": added, "released": self.release_idle_locks(),
                "escalated": self.escalate(), "assigned": self.auto_assign()}

    def _enqueue_or_wait(self, package_id: str, session_id: str) -> bool:
        """Enqueue one sealed package unless it waits for its next try; True if queued.

        A bag not here (yet) or a folder that cannot be listed is tried again with a bounded
        backoff, then queued flagged; any other failure (the database) only backs off. One
        WARNING per package and kind of failure, never a traceback each poll."""
        now = self.clock()
        retry = self._retry.get(package_id)
        if retry is not None and now < retry.next_at:
            return False
        attempts = retry.attempts + 1 if retry is not None else 1
        why = ""
        try:
            self.enqueue(package_id, session_id)
        except CaseAccessError as exc:
            why = ("the package folder is not on this node" if exc.status == 404
                   else str(exc))  # 503: not in the object store, or it is unreachable
            what = f"{package_id}/data/"
        except OSError as exc:
            why = f"cannot be read ({exc.strerror or type(exc).__name__})"
            what = Path(exc.filename).name if exc.filename else f"{package_id}/"
        except Exception as exc:
            delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** (attempts - 1))
            self._retry[package_id] = _Retry(attempts, now + dt.timedelta(seconds=delay))
            if attempts == 1 and not is_disk_full(exc):
                log.exception("could not enqueue package %s; trying again with a backoff",
                              package_id, extra={"session": session_id})
            else:
                log.warning("could not enqueue package %s (%s, try %d); next in %.0f s",
                            package_id, type(exc).__name__, attempts, delay,
                            extra={"session": session_id})
            return False
        else:
            self._retry.pop(package_id, None)
            return True
        if attempts >= RETRY_ATTEMPTS:
            self._retry.pop(package_id, None)
            log.warning("package %s: %s (%s) after %d tries; queued flagged", package_id, why,
                        what, attempts, extra={"session": session_id})
            try:
                self.enqueue(package_id, session_id, unreadable=(what, why))
            except Exception:
                log.exception("could not enqueue package %s flagged", package_id,
                              extra={"session": session_id})
                self._retry[package_id] = _Retry(attempts, now + dt.timedelta(
                    seconds=RETRY_MAX_SECONDS))
                return False
            return True
        delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** (attempts - 1))
        self._retry[package_id] = _Retry(attempts, now + dt.timedelta(seconds=delay))
        if attempts == 1:
            log.warning("package %s not queued yet: %s (%s); trying again with a backoff",
                        package_id, why, what, extra={"session": session_id})
        return False

    def open_cases(self) -> list[ReviewCase]:
        with self.store.db() as db:
            return list(db.scalars(select(ReviewCase).where(ReviewCase.status == "queued")))

    def case(self, case_id: str) -> ReviewCase | None:
        with self.store.db() as db:
            return db.get(ReviewCase, case_id)

    def visible_queue(self, user: dict) -> list:
        """The ordered queue as ``user`` may see it (an auditor: unassigned or their own)."""
        self.seen(user["uid"])
        if self.unreconciled:
            self.reconcile_decisions(set(self.unreconciled))
        self.poll()
        cases = self.ordered_queue()
        if user["role"] == "auditor":
            cases = [c for c in cases if c.assigned_to in (None, user["uid"])]
        return cases

    def ordered_queue(self) -> list[ReviewCase]:
        cases = {c.id: c for c in self.open_cases()}
        return [cases[i.id] for i in dispatch.order_queue(
            [_item(c) for c in cases.values()], self.clock(), self.policy)]

    def loads(self) -> dict[int, int]:
        with self.store.db() as db:
            return dict(db.execute(select(ReviewCase.assigned_to, func.count()).where(
                ReviewCase.status == "queued", ReviewCase.assigned_to.is_not(None)
            ).group_by(ReviewCase.assigned_to)).all())

    def _reviewer(self, u: StaffUser, loads: dict[int, int]) -> dispatch.Reviewer:
        return dispatch.Reviewer(u.id, tuple(u.languages), tuple(u.flows), loads.get(u.id, 0))

    def release_idle_locks(self) -> list[str]:
        now = self.clock()
        released: set[str] = set()
        with self._lock, self.store.db() as db, db.begin():
            cases = list(db.scalars(select(ReviewCase).where(ReviewCase.status == "queued",
                                                             ReviewCase.locked_by.is_not(None))))
            ids = set(dispatch.expired_locks([_item(c) for c in cases], now))
            for c in cases:
                if c.id not in ids:
                    continue
                # Only the lock as read: a heartbeat on another node may have renewed it since.
                self_assigned = c.assigned_by == "self"  # back to the queue; supervisor picks stay
                res = db.execute(
                    update(ReviewCase)
                    .where(ReviewCase.id == c.id, ReviewCase.locked_by == c.locked_by,
                           ReviewCase.lock_expires_at == c.lock_expires_at)
                    .values(locked_by=None, lock_expires_at=None,
                            **({"assigned_to": None, "assigned_by": None}
                               if self_assigned else {}))
                    .execution_options(synchronize_session=False))
                if _rowcount(res) == 1:
                    log.info("case %s: lock of user %s released after idling", c.id,
                             c.locked_by)
                    released.add(c.id)
        ids = released
        for cid in sorted(ids):
            self.audit(None, "lock_released", cid, {"reason": "idle"})
        return sorted(ids)

    def escalate(self) -> list[tuple[str, str]]:
        """Move cases to at_risk / breached; each move is logged for supervisors."""
        now = self.clock()
        with self._lock, self.store.db() as db, db.begin():
            cases = list(db.scalars(select(ReviewCase).where(ReviewCase.status == "queued")))
            moves = dispatch.escalations([(_item(c), c.escalation) for c in cases], now,
                                         self.policy)
            by_id = {c.id: c for c in cases}
            for cid, state in moves:
                by_id[cid].escalation = state
                by_id[cid].escalated_at = now
                log.warning("case %s: SLA %s (due %sZ), escalated to supervisors", cid, state,
                            by_id[cid].sla_due_at.isoformat(timespec="minutes"))
        for cid, state in moves:
            self.audit(None, "sla_" + state, cid, {})
        return moves

    def auto_assign(self) -> list[tuple[str, int]]:
        """Give unassigned cases to recently active, skilled auditors with the lowest load."""
        now = self.clock()
        active_since = now - dt.timedelta(seconds=self.config.active_reviewer_seconds)
        with self._lock:
            loads = self.loads()
            reviewers = [self._reviewer(u, loads) for u in self.users()
                         if u.role == "auditor" and u.active and u.last_seen_at is not None
                         and u.last_seen_at >= active_since]
            if not reviewers:
                return []
            pairs = dispatch.assign_pending([_item(c) for c in self.open_cases()], reviewers,
                                            now, self.policy)
            done = []
            with self.store.db() as db, db.begin():
                for cid, uid in pairs:
                    # Conditional: a reviewer on another node may have taken it meanwhile.
                    res = db.execute(
                        update(ReviewCase)
                        .where(ReviewCase.id == cid, ReviewCase.status == "queued",
                               ReviewCase.assigned_to.is_(None))
                        .values(assigned_to=uid, assigned_by="dispatch")
                        .execution_options(synchronize_session=False))
                    if _rowcount(res) == 1:
                        done.append((cid, uid))
        return done

    # -- taking, opening, locking ------------------------------------------------------------
    def take_next(self, user: dict) -> ReviewCase | None:
        """Assign and lock the next case for this reviewer (None when nothing fits)."""
        if user["role"] not in ("auditor", "supervisor"):
            raise CaseAccessError(f"role {user['role']} does not review cases")
        with self._lock:
            self.release_idle_locks()
            u = self.user(user["uid"])
            if u is None:
                raise CaseAccessError("unknown user", 401)
            lost: set[str] = set()
            for attempt in range(TAKE_ATTEMPTS):
                reviewer = self._reviewer(u, self.loads())
                pick = dispatch.next_case(
                    [_item(c) for c in self.open_cases() if c.id not in lost], reviewer,
                    self.clock(), self.policy)
                if pick is None:
                    return None
                try:
                    return self._lock_case(pick.id, user, assign_self=True)
                except CaseAccessError:
                    # Another node took or locked it after we read the queue: read it again,
                    # without that case, after a short random pause (two nodes in step would
                    # otherwise race for the same next case on every attempt).
                    log.info("case %s: taken by another reviewer first; looking again", pick.id)
                    lost.add(pick.id)
                    time.sleep(random.uniform(0.0, 0.002 * (attempt + 1)))
        raise CaseAccessError("the queue is changing too fast to pick a case; try again", 503)

    def _lock_case(self, case_id: str, user: dict, assign_self: bool = False) -> ReviewCase:
        """Lock an open case for ``user`` (and, with ``assign_self``, assign it to them when
        it is unassigned), as ONE conditional UPDATE: of two reviewers on two nodes racing
        for a case exactly one wins, on SQLite and PostgreSQL alike. CaseAccessError for the
        loser: 404 (no such case), 409 (decided), 403 (assigned to another), 423 (locked)."""
        now = self.clock()
        uid = user["uid"]
        conditions = [ReviewCase.id == case_id, ReviewCase.status == "queued",
                      or_(ReviewCase.locked_by.is_(None), ReviewCase.locked_by == uid,
                          ReviewCase.lock_expires_at.is_(None),
                          ReviewCase.lock_expires_at <= now)]
        values: dict = {"locked_by": uid, "lock_expires_at": now + dt.timedelta(
            seconds=self.policy.lock_idle_seconds)}
        if assign_self:
            conditions.append(or_(ReviewCase.assigned_to.is_(None),
                                  ReviewCase.assigned_to == uid))
            values["assigned_by"] = case((ReviewCase.assigned_to.is_(None), "self"),
                                         else_=ReviewCase.assigned_by)
            values["assigned_to"] = uid
        with self.store.db() as db, db.begin():
            res = db.execute(update(ReviewCase).where(*conditions).values(**values)
                             .execution_options(synchronize_session=False))
            c = db.scalar(select(ReviewCase).where(ReviewCase.id == case_id)
                          .execution_options(populate_existing=True))
            if c is None:
                raise CaseAccessError("no such case", 404)
            if _rowcount(res) != 1:
                if c.status != "queued":
                    raise CaseAccessError("this case has already been decided", 409)
                if assign_self and c.assigned_to not in (None, uid):
                    raise CaseAccessError("this case is assigned to another reviewer; a "
                                          "supervisor can reassign it")
                raise CaseAccessError("another reviewer is reviewing this case", 423)
            return c

    def check_access(self, user: dict, case: ReviewCase, *, for_decision: bool = False) -> None:
        """Per-object rule: an auditor only opens unassigned cases or their own, and never one
        another reviewer holds locked; a supervisor opens any; a broker admin reads only."""
        now = self.clock()
        role = user["role"]
        if for_decision and role not in ("auditor", "supervisor"):
            raise CaseAccessError(f"role {role} may not decide cases")
        if role == "auditor":
            if case.assigned_to not in (None, user["uid"]):
                raise CaseAccessError("this case is assigned to another reviewer; a "
                                      "supervisor can reassign it")
            if dispatch.lock_held(_item(case), now) and case.locked_by != user["uid"]:
                raise CaseAccessError("another reviewer is reviewing this case", 423)
            if case.assigned_to is None and "languages" in user:
                me = dispatch.Reviewer(user["uid"], tuple(user.get("languages") or ()),
                                       tuple(user.get("flows") or ()))
                if not dispatch.skilled(me, _item(case)):
                    raise CaseAccessError("this case's language or flow is not among your "
                                          "skills; a supervisor can assign it to you")
        if for_decision and dispatch.lock_held(_item(case), now) \
                and case.locked_by != user["uid"]:
            raise CaseAccessError("another reviewer is reviewing this case", 423)

    def check_decision_lock(self, user: dict, case: ReviewCase, *, opened: bool) -> None:
        """A decision needs the case opened in this login (``opened``) and its lock held by
        the decider right now; CaseAccessError 409 otherwise. Opening the case takes the lock."""
        if not opened:
            raise CaseAccessError("open the case before deciding it: a decision needs the "
                                  "case lock and the case opened by you", 409)
        if case.locked_by != user["uid"] or not dispatch.lock_held(_item(case), self.clock()):
            raise CaseAccessError("you do not hold this case's lock (it is released after "
                                  f"{self.policy.lock_idle_seconds:.0f} s without activity); "
                                  "open the case again before deciding", 409)

    def package_problems(self, case_id: str, fresh: bool = False) -> list[str]:
        """What is wrong with the case's sealed bag, checked as ``kiosk evidence verify`` does
        (every payload hash, the tag manifest, the signature) and against the ledger's entry;
        [] when it verifies. ``fresh``: hash everything again (a decision is signed only on
        what was just checked). Otherwise cached per package until one of its files changes
        (size, modification or change time, inode)."""
        try:
            # This node's bag, else the object store's copy, verified as it is fetched.
            bag = self.bag_dir(case_id)
        except CaseAccessError as exc:
            # Not readable here (no bag, the store unreachable, its copy failing verification):
            # nothing checked is nothing to sign on.
            return [f"the package cannot be read on this server to be checked: {exc}"]
        stamp = _files_stamp(bag)
        cached = self._integrity.get(case_id)
        if not fresh and cached is not None and cached[0] == stamp:
            return cached[1]
        keyring = self.keys.keyring() if self.keys is not None else None
        report = verify_package(bag, keyring=keyring)
        problems = list(report.problems)
        entry = self.ledger.find(case_id) if self.ledger is not None else None
        tag = bag / TAGMANIFEST
        if self.ledger is not None:
            if entry is None:
                problems.append("the package is not in the evidence ledger")
            elif tag.is_file() and entry.get("tagmanifest_sha256") != sha256_file(tag):
                problems.append(f"{TAGMANIFEST} differs from the ledger's entry "
                                "(package replaced)")
        if problems:
            log.warning("case %s: the package does not verify: %s", case_id,
                        "; ".join(problems[:3]))
        self._integrity[case_id] = (stamp, problems)
        return problems

    def open_case(self, user: dict, case_id: str, ip: str = "", what: str = "view") -> ReviewCase:
        """Check access, lock for reviewers, and write the view to the audit log."""
        if case_id in self.unreconciled:  # decided in the ledger: the row says so first
            self.reconcile_decisions([case_id])
        with self._lock:
            case = self.case(case_id)
            if case is None:
                raise CaseAccessError("no such case", 404)
            self.check_access(user, case)
            held_by_other = (dispatch.lock_held(_item(case), self.clock())
                             and case.locked_by != user["uid"])
            if user["role"] in ("auditor", "supervisor") and case.status == "queued" \
                    and not held_by_other:
                case = self._lock_case(case_id, user, assign_self=user["role"] == "auditor")
        self.audit(user, what, case_id, {}, ip)
        return case

    def heartbeat(self, user: dict, case_id: str) -> dt.datetime:
        """Keep the reviewer's lock alive while the page is in use."""
        with self._lock:
            case = self.case(case_id)
            if case is None:
                raise CaseAccessError("no such case", 404)
            if case.locked_by != user["uid"] or case.status != "queued":
                raise CaseAccessError("you do not hold this case's lock", 409)
            locked = self._lock_case(case_id, user)
            assert locked.lock_expires_at is not None  # _lock_case has just set it
            return locked.lock_expires_at

    def release(self, user: dict, case_id: str) -> None:
        """Give up the lock the user holds on a case (nothing when they hold none)."""
        with self._lock, self.store.db() as db, db.begin():
            res = db.execute(update(ReviewCase)
                             .where(ReviewCase.id == case_id,
                                    ReviewCase.locked_by == user["uid"])
                             .values(locked_by=None, lock_expires_at=None)
                             .execution_options(synchronize_session=False))
            released = _rowcount(res) == 1
        if released:
            self.audit(user, "lock_released", case_id, {"reason": "released"})

    def reassign(self, supervisor: dict, case_id: str, to_uid: int | None) -> ReviewCase:
        """Supervisor only: give a case to another reviewer (or back to the queue)."""
        if supervisor["role"] != "supervisor":
            raise CaseAccessError("only a supervisor can reassign cases")
        if to_uid is not None:
            target = self.user(to_uid)
            if target is None or target.role not in ("auditor", "supervisor") \
                    or not target.active:
                raise CaseAccessError(f"user {to_uid} cannot review cases", 422)
        with self._lock, self.store.db() as db, db.begin():
            c = db.get(ReviewCase, case_id)
            if c is None or c.status != "queued":
                raise CaseAccessError("no such open case", 404)
            prev = c.assigned_to
            c.assigned_to = to_uid
            c.assigned_by = "supervisor" if to_uid is not None else None
            c.locked_by = c.lock_expires_at = None
        self.audit(supervisor, "reassign", case_id, {"from": prev, "to": to_uid})
        return c

    # -- the supervisor dashboard -----------------------------------------------------------
    def dashboard(self) -> dict:
        now = self.clock()
        cases = self.open_cases()
        ages = sorted((now - c.enqueued_at).total_seconds() for c in cases)
        states = {c.id: dispatch.sla_state(_item(c), now, self.policy) for c in cases}
        names = {u.id: u.username for u in self.users()}
        day = now - dt.timedelta(hours=24)
        with self.store.db() as db:
            rows = list(db.execute(select(ReviewDecisionRow.user_id, func.count(),
                                          func.avg(ReviewDecisionRow.review_seconds))
                                   .where(ReviewDecisionRow.decided_at >= day)
                                   .group_by(ReviewDecisionRow.user_id)))
        loads = self.loads()
        return {
            "now": utc_iso(now, "auto"),
            "queue_depth": len(cases),
            "unassigned": sum(1 for c in cases if c.assigned_to is None),
            "oldest_age_s": round(ages[-1], 1) if ages else 0.0,
            "median_age_s": round(ages[len(ages) // 2], 1) if ages else 0.0,
            "sla_at_risk": sorted(cid for cid, s in states.items() if s == "at_risk"),
            "sla_breached": sorted(cid for cid, s in states.items() if s == "breached"),
            "by_verdict": {v: sum(1 for c in cases if c.verdict == v)
                           for v in ("suggested_reject", "needs_attention", "clear")},
            "throughput_24h": [{"user": names.get(uid, str(uid)), "decided": n,
                                "avg_review_s": round(avg, 1) if avg is not None else None,
                                "open_assigned": loads.get(uid, 0)}
                               for uid, n, avg in rows],
            "load": {names.get(uid, str(uid)): n for uid, n in loads.items()},
        }

    def case_json(self, c: ReviewCase, *, with_prereview: bool = False) -> dict:
        now = self.clock()
        out = {
            "case_id": c.id, "session_id": c.session_id, "flow_id": c.flow_id,
            "flow_priority": c.flow_priority, "locale": c.locale, "verdict": c.verdict,
            "flags": c.flag_count, "duration_s": c.duration_s, "priority": c.priority,
            "status": c.status, "enqueued_at": utc_iso(c.enqueued_at, "auto"),
            "sla_due_at": utc_iso(c.sla_due_at, "auto"),
            "sla": dispatch.sla_state(_item(c), now, self.policy) if c.status == "queued"
            else "done",
            "assigned_to": c.assigned_to,
            "locked": dispatch.lock_held(_item(c), now),
            "decision": c.decision,
            "decided_at": utc_iso(c.decided_at, "auto") if c.decided_at else None,
            # Sealed incomplete (its node was lost with the recording): the pre-review's
            # evidence_incomplete flag; the investor needs a new attempt.
            "incomplete": bool(c.prereview.get("incomplete")),
        }
        if with_prereview:
            out["prereview"] = c.prereview
            problems = self.package_problems(c.id) if c.status == "queued" else []
            out["package_verified"] = not problems
            out["package_problems"] = problems
        return out
