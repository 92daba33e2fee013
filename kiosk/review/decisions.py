"""Reviewer decisions: approve, reject with reason codes, or return for a new witness.

A decision is a record signed with the installation's evidence key (Ed25519 over the canonical
JSON of the record without ``signature``) and appended to the evidence ledger as a ``record``
entry about the package (``Ledger.append_record``), which chains and signs it again. The sealed
package itself is never touched.
"""

from __future__ import annotations

import base64
import datetime as dt
import errno
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.atomic_files import free_mb, is_disk_full
from kiosk.errors import StorageFull
from kiosk.evidence.keys import verify_signature
from kiosk.evidence.ledger import Ledger, RecordExists
from kiosk.evidence.ledger_db import DbLedger
from kiosk.review.models import ReviewCase
from kiosk.review.service import DECISION_RECORD, CaseAccessError, ReviewService
from kiosk.timeline import canonical_json
from kiosk.utc import utc_iso

log = logging.getLogger(__name__)

RECORD_TYPE = DECISION_RECORD
# Free space (MB) a decision needs on the data disk, at most ``min_free_mb``: the rows and the
# ledger line are small, so auditors can still decide when new sessions are already refused.
DECISION_RESERVE_MB = 8.0
PACKAGE_BLOCKED = ("the package does not verify against its signed manifest, so it cannot be "
                   "decided; tell a supervisor (kiosk evidence verify)")
DECISIONS = ("approve", "reject", "return")
REJECT_REASONS = {
    "identity_mismatch": "the person is not the applicant",
    "no_consent": "consent was not given or not clear",
    "third_party": "another person was present or prompted the applicant",
    "not_live": "not a live person (photo, replay, deepfake suspected)",
    "incomplete": "required steps were not completed",
    "poor_quality": "video or audio too poor to judge",
    "other": "other (explained in the note)",
}
RETURN_REASONS = {
    "poor_quality": "video or audio too poor to judge",
    "incomplete": "required steps were not completed",
    "technical": "a technical fault interrupted the witness",
    "other": "other (explained in the note)",
}
MAX_NOTE = 1000


class DecisionError(ValueError):
    """The decision request is not valid; the message names the field."""


@dataclass(frozen=True)
class DecisionResult:
    case_id: str
    decision: str
    ledger_seq: int
    record: dict
    investor_url: str | None = None  # only for "return": the new link, shown once
    new_session_id: str | None = None


def validate(decision: str, reasons, note: str | None) -> tuple[list[str], str]:
    """(reason codes, note) if the combination is valid; DecisionError otherwise."""
    if decision not in DECISIONS:
        raise DecisionError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if isinstance(reasons, str):
        reasons = [r for r in reasons.split(",") if r]
    reasons = list(dict.fromkeys(reasons or []))
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DecisionError(f"note must be at most {MAX_NOTE} characters")
    allowed = {"approve": {}, "reject": REJECT_REASONS, "return": RETURN_REASONS}[decision]
    if decision == "approve" and reasons:
        raise DecisionError("an approval takes no reason codes")
    if decision != "approve":
        if not reasons:
            raise DecisionError(f"a {decision} needs at least one reason code: "
                                f"{', '.join(allowed)}")
        bad = [r for r in reasons if r not in allowed]
        if bad:
            raise DecisionError(f"unknown reason code(s) {', '.join(map(repr, bad))} for "
                                f"{decision}; use {', '.join(allowed)}")
        if "other" in reasons and not note:
            raise DecisionError("reason 'other' needs a note")
    return reasons, note


def sign_record(keys, record: dict) -> dict:
    """The record with ``key_id`` and ``signature`` added."""
    body = {k: v for k, v in record.items() if k != "signature"}
    body["key_id"] = keys.key_id
    sig = keys.sign(canonical_json(body))
    return {**body, "signature": base64.b64encode(sig).decode("ascii")}


def verify_record(record: dict, keyring: dict) -> bool:
    """True when ``record`` is signed by a key in ``keyring`` and unchanged since."""
    key = keyring.get(record.get("key_id"))
    if key is None or not record.get("signature"):
        return False
    try:
        sig = base64.b64decode(record["signature"], validate=True)
    except (ValueError, TypeError):
        return False
    body = {k: v for k, v in record.items() if k != "signature"}
    return verify_signature(key, sig, canonical_json(body))


NewLink = Callable[[ReviewCase], tuple[str | None, str | None]]


def already_decided(decision: str | None, at) -> str:
    """The 409 message for a case that holds its final decision (``at``: datetime or text)."""
    when = utc_iso(at) if isinstance(at, dt.datetime) else (at or "an earlier time")
    return f"already decided: {decision or 'unknown'} at {when}"


def decision_space(svc: ReviewService) -> None:
    """StorageFull when the disk of the case rows (and of a file ledger) has less than the
    decision's reserve free: refused before anything is signed."""
    reserve = min(svc.store.min_free_mb, DECISION_RESERVE_MB)
    if reserve <= 0:
        return
    where = [Path(svc.store.sessions_dir)]
    if isinstance(svc.ledger, Ledger) and not isinstance(svc.ledger, DbLedger):
        where.append(svc.ledger.path.parent)
    for path in where:
        if not path.exists():
            continue
        free = free_mb(path)
        if free < reserve:
            raise StorageFull(errno.ENOSPC, f"the data disk has {free:.0f} MB free, below the "
                                            f"{reserve:g} MB a decision keeps in reserve")


def decide(svc: ReviewService, user: dict, case_id: str, decision: str, reasons=None,
           note: str | None = None, *, new_link: NewLink | None = None,
           opened_at: float | None = None) -> DecisionResult:
    """Record a decision on an open case; ``new_link(case) -> (session_id, url)`` makes the
    new investor link for a return ((None, None): the back office makes it). ``opened_at`` is
    when this login opened the case (epoch seconds; None: never), and ``user`` must hold the
    case lock. Raises DecisionError, StorageFull (nothing recorded), or CaseAccessError (409
    already decided, or without the lock or an opened view; 423 locked by another).

    The ledger is the truth and is written last: the free space is checked and the case
    rows (case, decision, audit entry) are written and flushed in one transaction first; the
    signed record is appended (refused if the package already holds a decision, under the
    ledger's lock); then the transaction commits. Should the commit fail after the append,
    the decision stands as the ledger has it: the answer says so, and the rows are brought
    in line from the ledger (``ReviewService.reconcile_decisions``)."""
    reasons, note = validate(decision, reasons, note)
    if svc.keys is None or svc.ledger is None:
        raise CaseAccessError("evidence signing is not configured on this server", 503)
    with svc._lock:
        case = svc.case(case_id)
        if case is None:
            raise CaseAccessError("no such case", 404)
        svc.check_access(user, case, for_decision=True)
        if case.status != "queued":
            raise CaseAccessError(already_decided(case.decision, case.decided_at), 409)
        prior = _ledger_decision(svc, case_id)
        if prior is not None:
            raise _decided_in_ledger(svc, case_id, prior)
        svc.check_decision_lock(user, case, opened=opened_at is not None)
        pkg = svc.ledger.find(case_id)
        if pkg is None:
            raise CaseAccessError(f"package {case_id} is not in the evidence ledger", 409)
        problems = svc.package_problems(case_id, fresh=True)  # never signed on a cached check
        if problems:  # never sign a decision about evidence that is not what was sealed
            raise CaseAccessError(f"{PACKAGE_BLOCKED}: {'; '.join(problems[:3])}", 409)
        decision_space(svc)
        new_sid = url = None
        if decision == "return":
            if new_link is None:
                raise CaseAccessError("returning a case needs a link factory", 503)
            new_sid, url = new_link(case)
        now = svc.clock()
        pre_bytes = json.dumps(case.prereview, sort_keys=True, ensure_ascii=False).encode()
        record = {
            "type": RECORD_TYPE,
            "decision": decision,
            "reasons": reasons,
            "note": note,
            "reviewer": user["name"],
            "reviewer_id": user["uid"],
            "reviewer_role": user["role"],
            "decided_at": utc_iso(now),
            "package_id": case_id,
            "session_id": case.session_id,
            "package_tagmanifest_sha256": pkg.get("tagmanifest_sha256"),
            "prereview_verdict": case.verdict,
            "prereview_sha256": hashlib.sha256(pre_bytes).hexdigest(),
            "new_session_id": new_sid,
        }
        record = sign_record(svc.keys, record)
        review_s = None
        if opened_at is not None:
            review_s = max(0.0, now.replace(tzinfo=dt.UTC).timestamp() - opened_at)
        with svc.store.db() as db:
            db.begin()
            try:
                rows = svc.record_decision(db, case_id, record, -1, review_s)
                if rows is None:  # decided by another node since it was read
                    now_case = svc.case(case_id)
                    raise CaseAccessError(already_decided(
                        now_case.decision if now_case else None,
                        now_case.decided_at if now_case else None), 409)
                db.flush()  # a full disk or a constraint fails here, before anything is signed
                seq = svc.ledger.append_record(case_id, record, once=True)
            except RecordExists as exc:
                db.rollback()
                raise _decided_in_ledger(svc, case_id, exc.entry) from None
            except BaseException:
                db.rollback()
                raise
            # Signed: from here the decision is final, whatever happens to the rows.
            rows.set_ledger_seq(seq)
            try:
                db.commit()
            except Exception as exc:
                db.rollback()
                svc.unreconciled.add(case_id)
                if not is_disk_full(exc):
                    log.exception("case %s: decision recorded in the ledger (#%d), but its "
                                  "case row was not written", case_id, seq,
                                  extra={"session": case.session_id})
                else:
                    log.warning("case %s: decision recorded in the ledger (#%d), but its "
                                "case row was not written (the data disk is full); the row "
                                "follows the ledger when space returns", case_id, seq,
                                extra={"session": case.session_id})
    log.info("case %s decided: %s %s (ledger #%d)", case_id, decision, ",".join(reasons), seq,
             extra={"session": case.session_id})
    return DecisionResult(case_id, decision, seq, record, url, new_sid)


def _ledger_decision(svc: ReviewService, case_id: str) -> dict | None:
    """The ledger entry of the case's first decision, or None."""
    assert svc.ledger is not None
    return next((e for e in svc.ledger.records(case_id)
                 if (e.get("record") or {}).get("type") == RECORD_TYPE), None)


def _decided_in_ledger(svc: ReviewService, case_id: str, entry: dict) -> CaseAccessError:
    """The 409 for a case whose decision the ledger already holds; its row is made to
    follow the ledger first (when the disk allows)."""
    svc.reconcile_decisions([case_id])
    rec = entry.get("record") or {}
    return CaseAccessError(already_decided(rec.get("decision"), rec.get("decided_at")), 409)


def decisions_for(svc: ReviewService, case_id: str) -> list[dict]:
    """The ledger's decision records about a package, each with ``verified``."""
    keyring = svc.keys.keyring() if svc.keys is not None else {}
    out = []
    for entry in svc.ledger.records(case_id) if svc.ledger is not None else []:
        rec = entry.get("record") or {}
        if rec.get("type") != RECORD_TYPE:
            continue
        out.append({"ledger_seq": entry.get("seq"), "record": rec,
                    "verified": verify_record(rec, keyring)})
    return out
