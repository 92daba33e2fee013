"""The console's JSON API for the broker's back office (and the replay page's script).

Authenticated like the console: log in (``POST /review/api/login``) to get the session cookie
and a CSRF token; send the token as ``X-CSRF-Token`` on every POST. Roles and per-object
rules are the console's.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, jsonify, request

from kiosk.errors import EvidenceError
from kiosk.review import auth
from kiosk.review.accounts import LoginRefused
from kiosk.review.context import current_review
from kiosk.review.decisions import DecisionError, decide, decisions_for
from kiosk.review.prereview import read_json_file
from kiosk.review.service import CaseAccessError
from kiosk.review.views import (
    BACK_OFFICE_RETURN,
    client_ip,
    note_opened,
    opened_at,
    return_link,
)
from kiosk.utc import utc_iso

log = logging.getLogger(__name__)
bp = Blueprint("review_api", __name__, url_prefix="/review/api")
bp.before_request(auth.guard)
bp.after_request(auth.security_headers)


review = current_review  # the blueprint's one way to the console's service


def err(status: int, code: str, message: str, **extra):
    return jsonify({"error": code, "message": message, **extra}), status


def _access(exc: CaseAccessError):
    code = {404: "not_found", 409: "conflict", 423: "locked", 422: "invalid",
            503: "unavailable"}.get(exc.status, "forbidden")
    return err(exc.status, code, str(exc))


@bp.get("/csrf")
def csrf():
    """A CSRF token bound to this cookie session (needed before logging in)."""
    return jsonify({"csrf_token": auth.csrf_token()})


@bp.post("/login")
def login():
    svc = review()
    body = request.get_json(silent=True) or {}
    name = str(body.get("username") or "")[:64]
    try:
        user = svc.throttle.login(name, str(body.get("password") or ""), client_ip())
    except LoginRefused as exc:
        svc.audit({"uid": None, "name": name}, "login_failed", None, {"why": exc.code},
                  client_ip())
        return err(401, "login_refused", "user name or password not accepted, or the "
                   "account is locked")
    token = auth.start_session(user, svc.clock())
    svc.audit(user, "login", None, {"via": "api"}, client_ip())
    return jsonify({"user": user.public(), "csrf_token": token})


@bp.post("/logout")
def logout():
    """End the login on the server: this cookie and any copy of it stop working."""
    auth.logout(review(), client_ip())
    return jsonify({"ok": True})


@bp.get("/queue")
@auth.require_role("auditor", "supervisor", "broker_admin")
def queue(user):
    svc = review()
    return jsonify({"cases": [svc.case_json(c) for c in svc.visible_queue(user)]})


@bp.post("/next")
@auth.require_role("auditor", "supervisor")
def take_next(user):
    svc = review()
    svc.seen(user["uid"])
    svc.poll()
    case = svc.take_next(user)
    if case is None:
        return jsonify({"case": None})
    return jsonify({"case": svc.case_json(case)})


@bp.get("/cases/<case_id>")
@auth.require_role("auditor", "supervisor", "broker_admin")
def case(user, case_id: str):
    svc = review()
    try:
        c = svc.open_case(user, case_id, client_ip(), what="view_api")
    except CaseAccessError as exc:
        return _access(exc)
    note_opened(case_id)
    return jsonify(svc.case_json(c, with_prereview=True))


@bp.get("/cases/<case_id>/report")
@auth.require_role("auditor", "supervisor", "broker_admin")
def report(user, case_id: str):
    """The pre-review and the sealed package's own report.json."""
    svc = review()
    try:
        c = svc.case(case_id)
        if c is None:
            raise CaseAccessError("no such case", 404)
        svc.check_access(user, c)
    except CaseAccessError as exc:
        return _access(exc)
    # A torn report.json (a full disk) was a 500 with a traceback: the case's pre-review
    # already flags it; here it is null, with why.
    sealed: dict | None = None
    unreadable = None
    try:
        path: Path | None = svc.bag_dir(case_id) / "data" / "report.json"
    except CaseAccessError:  # queued flagged without its bag (ReviewService.poll): not a 500
        path = None
    if path is None:
        unreadable = "the package folder is not on this node"
    elif not path.is_file():
        unreadable = "report.json: missing"
    else:
        try:
            sealed = read_json_file(path)
        except EvidenceError as exc:
            unreadable = str(exc)
    svc.audit(user, "view_report", case_id, {}, client_ip())
    return jsonify({"prereview": c.prereview, "sealed_report": sealed,
                    "sealed_report_unreadable": unreadable})


@bp.post("/cases/<case_id>/heartbeat")
@auth.require_role("auditor", "supervisor")
def heartbeat(user, case_id: str):
    try:
        until = review().heartbeat(user, case_id)
    except CaseAccessError as exc:
        return _access(exc)
    return jsonify({"locked_until": utc_iso(until, "auto")})


@bp.post("/cases/<case_id>/release")
@auth.require_role("auditor", "supervisor")
def release(user, case_id: str):
    review().release(user, case_id)
    return jsonify({"ok": True})


@bp.post("/cases/<case_id>/decision")
@auth.require_role("auditor", "supervisor")
def decision(user, case_id: str):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return err(415, "bad_request", "send a JSON object (Content-Type: application/json)")
    reasons, note = body.get("reasons") or [], body.get("note")
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        return err(422, "invalid", "reasons must be a list of reason codes (strings)")
    if note is not None and not isinstance(note, str):
        return err(422, "invalid", "note must be text or null")
    try:
        res = decide(review(), user, case_id, str(body.get("decision", "")),
                     reasons, note, new_link=return_link,
                     opened_at=opened_at(case_id))
    except DecisionError as exc:
        return err(422, "invalid", str(exc))
    except CaseAccessError as exc:
        return _access(exc)
    out = {"case_id": res.case_id, "decision": res.decision, "ledger_seq": res.ledger_seq,
           "record": res.record}
    if res.investor_url:
        out["new_session_id"] = res.new_session_id
        out["investor_url"] = res.investor_url
    elif res.decision == "return":
        out["new_witness"] = BACK_OFFICE_RETURN
    return jsonify(out), 201


@bp.get("/cases/<case_id>/decisions")
@auth.require_role("auditor", "supervisor", "broker_admin")
def decisions(user, case_id: str):
    svc = review()
    c = svc.case(case_id)
    if c is None:
        return err(404, "not_found", "no such case")
    try:
        svc.check_access(user, c)
    except CaseAccessError as exc:
        return _access(exc)
    return jsonify({"decisions": decisions_for(svc, case_id)})


@bp.post("/cases/<case_id>/assign")
@auth.require_role("supervisor")
def assign(user, case_id: str):
    body = request.get_json(silent=True) or {}
    to = body.get("user_id")
    # bool is an int in Python: true must not mean user 1. Ids fit the database's integer.
    if to is not None and (isinstance(to, bool) or not isinstance(to, int)
                           or not 1 <= to <= 2**31 - 1):
        return err(422, "invalid", "user_id must be a user's id (a positive whole number) "
                                   "or null")
    try:
        c = review().reassign(user, case_id, to)
    except CaseAccessError as exc:
        return _access(exc)
    return jsonify(review().case_json(c))


@bp.get("/dashboard")
@auth.require_role("supervisor", "broker_admin")
def dashboard(user):
    review().poll()
    return jsonify(review().dashboard())


@bp.get("/audit")
@auth.require_role("supervisor")
def audit(user):
    return jsonify({"entries": review().audit_log(request.args.get("case_id") or None)})


@bp.get("/cases/<case_id>/package")
@auth.require_role("auditor", "supervisor")
def package(user, case_id: str):
    """The sealed archive (BagIt .tar) for submission; the path comes from the case id only."""
    from flask import send_file

    svc = review()
    try:
        c = svc.case(case_id)
        if c is None:
            raise CaseAccessError("no such case", 404)
        svc.check_access(user, c)
        archive = svc.bag_dir(case_id).with_suffix(".tar")
        if not archive.is_file() or archive.is_symlink():
            raise CaseAccessError("no such case", 404)
    except CaseAccessError as exc:
        return _access(exc)
    svc.audit(user, "download_package", case_id, {}, client_ip())
    return send_file(archive, mimetype="application/x-tar", as_attachment=True,
                     download_name=f"witness-{case_id}.tar", conditional=True)
