"""Console pages: login, queue, one-screen case replay with decision, supervisor dashboard,
and the case media (recording with HTTP ranges, prompt audio, key frames)."""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from pydantic import ValidationError

from kiosk.errors import KioskError
from kiosk.review import auth
from kiosk.review.accounts import LoginRefused
from kiosk.review.bucket import byte_window
from kiosk.review.context import current_review
from kiosk.review.decisions import (
    PACKAGE_BLOCKED,
    REJECT_REASONS,
    RETURN_REASONS,
    DecisionError,
    decide,
    decisions_for,
)
from kiosk.review.service import CaseAccessError
from kiosk.witness.intake import Applicant, CreateSession, open_witness, witness_url

log = logging.getLogger(__name__)
bp = Blueprint("review", __name__, url_prefix="/review", template_folder="templates")
bp.before_request(auth.guard)
bp.after_request(auth.security_headers)

_PROMPT = re.compile(r"^[0-9a-f]{64}$")
_FRAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.jpg$")
OPENED_KEY = "review_opened"


review = current_review  # the blueprint's one way to the console's service


def client_ip() -> str:
    """The client's address, through the trusted proxies (see auth.client_address)."""
    return auth.client_address()


@bp.app_context_processor
def _inject():
    return {"csrf_token": auth.csrf_token}


# -- shared with the API ----------------------------------------------------------------------

def note_opened(case_id: str) -> None:
    """Remember when this login first opened the case (for review-time statistics)."""
    opened = dict(session.get(OPENED_KEY) or {})
    if case_id not in opened:
        if len(opened) > 20:
            opened.pop(next(iter(opened)))
        opened[case_id] = _now_epoch()
        session[OPENED_KEY] = opened


def _now_epoch() -> float:
    import datetime as dt
    return review().clock().replace(tzinfo=dt.UTC).timestamp()


def opened_at(case_id: str) -> float | None:
    return (session.get(OPENED_KEY) or {}).get(case_id)


# Said when a return cannot make the new link itself (the decision is still recorded).
BACK_OFFICE_RETURN = ("The full ID number is not kept after sealing, so the back office "
                      "creates the new witness (POST /api/sessions).")


def return_link(case) -> tuple[str | None, str | None]:
    """A new investor link for the same applicant and flow (``kiosk.witness.intake``), or
    (None, None) when the session's full ID number is no longer kept (masked once sealed,
    docs/operations.md): the return is recorded and the back office creates the witness."""
    kiosk = review().kiosk
    if kiosk is None:
        raise CaseAccessError("the console runs without the witness server; create the new "
                              "witness from the back office", 409)
    row = kiosk.store.get(case.session_id)
    if row is None:
        raise CaseAccessError("the original session is no longer in the store; create the "
                              "new witness from the back office", 409)
    applicant = row.applicant
    if "*" in str(applicant.get("id_number") or ""):
        return None, None
    photo = None
    folder = kiosk.store.session_dir(row.id)
    for ext in ("jpg", "png"):
        p = folder / f"id_photo.{ext}"
        if p.is_file():
            photo = base64.b64encode(p.read_bytes()).decode("ascii")
            break
    try:
        body = CreateSession(
            applicant=Applicant(name=applicant["name"], id_number=applicant["id_number"],
                                id_type=applicant.get("id_type", "prc_resident_id"),
                                id_photo=photo),
            locale=row.locale, flow_id=row.flow_id, external_ref=row.external_ref)
    except ValidationError:
        # Stored before intake checked the number's rule (kiosk/identity/numbers.py): the
        # back office sends a valid one.
        log.warning("return link not made: the stored applicant fails intake validation",
                    extra={"session": row.id})
        return None, None
    new_row, token = open_witness(kiosk, body)
    return new_row.id, witness_url(kiosk.settings, token)


def case_media_path(user: dict, case_id: str, kind: str, name: str = "") -> Path:
    """The file to serve, from server-side ids only; anything else is a 404."""
    svc = review()
    case = svc.case(case_id)
    if case is None:
        raise CaseAccessError("no such case", 404)
    svc.check_access(user, case)
    # The recording streams from the bucket when the bag is not here (views.recording); the
    # small files come from the bag fetched and verified from the object store.
    data = svc.bag_dir(case_id, fetch=kind != "recording" or svc.bucket is None) / "data"
    if kind == "recording":
        for n in ("recording.webm", "recording.mkv"):
            if (data / n).is_file():
                return data / n
    elif kind == "prompt" and _PROMPT.match(name):
        p = data / "prompts" / f"{name}.wav"
        if p.is_file():
            return p
    elif kind == "id_card" and name in ("front", "back"):
        p = data / "id_card" / f"{name}.jpg"  # masked when it was received
        if p.is_file() and not p.is_symlink():
            return p
    elif kind == "frame" and _FRAME.match(name):
        p = data / ("id_photo.jpg" if name == "id_photo.jpg" else f"keyframes/{name}")
        if p.is_file() and not p.is_symlink():
            return p
    raise CaseAccessError("no such file", 404)


def _fail(exc: CaseAccessError):
    if exc.status == 404:
        abort(404)
    flash(str(exc), "error")
    return redirect(url_for("review.queue")), 303


# -- login ------------------------------------------------------------------------------------

@bp.get("/login")
def login():
    return render_template("review_login.html", next=request.args.get("next", ""))


@bp.post("/login")
def login_post():
    svc = review()
    name = (request.form.get("username") or "").strip()
    try:
        user = svc.throttle.login(name, request.form.get("password") or "", client_ip())
    except LoginRefused as exc:
        svc.audit({"uid": None, "name": name[:64]}, "login_failed", None, {"why": exc.code},
                  client_ip())
        flash("User name or password not accepted, or the account is locked.", "error")
        return render_template("review_login.html", next=request.form.get("next", "")), 401
    auth.start_session(user, svc.clock())
    svc.audit(user, "login", None, {}, client_ip())
    nxt = request.form.get("next") or ""
    if not (nxt.startswith("/review/") and not nxt.startswith("//")):
        nxt = url_for("review.queue")
    return redirect(nxt, code=303)


@bp.post("/logout")
def logout():
    auth.logout(review(), client_ip())
    return redirect(url_for("review.login"), code=303)


# -- queue ------------------------------------------------------------------------------------

@bp.get("/")
@auth.require_role("auditor", "supervisor", "broker_admin")
def queue(user):
    svc = review()
    rows = [svc.case_json(c) for c in svc.visible_queue(user)]
    return render_template("review_queue.html", user=user, cases=rows)


@bp.post("/next")
@auth.require_role("auditor", "supervisor")
def take_next(user):
    svc = review()
    svc.seen(user["uid"])
    svc.poll()
    case = svc.take_next(user)
    if case is None:
        flash("No case is waiting for you.", "info")
        return redirect(url_for("review.queue"), code=303)
    return redirect(url_for("review.case_page", case_id=case.id), code=303)


# -- one case ---------------------------------------------------------------------------------

@bp.get("/cases/<case_id>")
@auth.require_role("auditor", "supervisor", "broker_admin")
def case_page(user, case_id: str):
    svc = review()
    try:
        case = svc.open_case(user, case_id, client_ip())
    except CaseAccessError as exc:
        return _fail(exc)
    note_opened(case_id)
    pre = case.prereview
    problems = svc.package_problems(case_id) if case.status == "queued" else []
    data = {
        "case": svc.case_json(case),
        "prereview": pre,
        "urls": {
            "recording": url_for("review.recording", case_id=case_id),
            "prompt": url_for("review.prompt", case_id=case_id, sha="SHA"),
            "frame": url_for("review.frame", case_id=case_id, name="NAME"),
            "heartbeat": url_for("review_api.heartbeat", case_id=case_id),
        },
        "package_problems": problems,
        "can_decide": user["role"] in ("auditor", "supervisor") and case.status == "queued"
        and case.locked_by == user["uid"] and not problems,
        "lock_idle_seconds": svc.policy.lock_idle_seconds,
    }
    return render_template(
        "review_case.html", user=user, case=data["case"], pre=pre,
        data=data, package_problems=problems, package_blocked=PACKAGE_BLOCKED,
        can_decide=data["can_decide"], reject_reasons=REJECT_REASONS,
        return_reasons=RETURN_REASONS, decisions=decisions_for(svc, case_id))


@bp.get("/cases/<case_id>/recording")
@auth.require_role("auditor", "supervisor", "broker_admin")
def recording(user, case_id: str):
    try:
        path = case_media_path(user, case_id, "recording")
    except CaseAccessError as exc:
        if exc.status == 404 and review().bucket is not None:
            return _bucket_recording(user, case_id)
        abort(exc.status)
    mime = "video/webm" if path.suffix == ".webm" else "video/x-matroska"
    resp = send_file(path, mimetype=mime, conditional=True, max_age=0)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


def _bucket_recording(user, case_id: str):
    """The recording streamed from the evidence bucket, for a case whose local bag is gone
    (kiosk.review.bucket): the same access rule, HTTP ranges as on the local file."""
    svc = review()
    case = svc.case(case_id)
    if case is None:
        abort(404)
    try:
        svc.check_access(user, case)
    except CaseAccessError as exc:
        abort(exc.status)
    bucket = svc.bucket
    assert bucket is not None
    try:
        member = bucket.recording(case_id)
        if member is None:
            abort(404)
        window: tuple[int, int] | None = (0, member.size - 1)
        status = 200
        rng = request.range
        if rng is not None and rng.units == "bytes" and len(rng.ranges) == 1:
            first, stop = rng.ranges[0]
            # werkzeug gives (first, stop exclusive); a suffix range is (-n, None).
            window = (byte_window(None, -first, member.size) if first < 0 else
                      byte_window(first, None if stop is None else stop - 1, member.size))
            if window is None:
                return Response(status=416, headers={
                    "Content-Range": f"bytes */{member.size}", "Accept-Ranges": "bytes"})
            status = 206
        assert window is not None
        body = bucket.read(case_id, member, *window)
    except KioskError as exc:
        log.warning("recording not readable from the evidence bucket: %s", exc,
                    extra={"session": case_id})
        abort(502)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(window[1] - window[0] + 1),
               "Cache-Control": "private, no-cache"}
    if status == 206:
        headers["Content-Range"] = f"bytes {window[0]}-{window[1]}/{member.size}"
    return Response(body, status=status, mimetype=member.mimetype, headers=headers,
                    direct_passthrough=True)


@bp.get("/cases/<case_id>/prompts/<sha>.wav")
@auth.require_role("auditor", "supervisor", "broker_admin")
def prompt(user, case_id: str, sha: str):
    try:
        path = case_media_path(user, case_id, "prompt", sha)
    except CaseAccessError as exc:
        abort(exc.status)
    resp = send_file(path, mimetype="audio/wav", conditional=True, max_age=0)
    resp.headers["Cache-Control"] = "private, max-age=3600"  # content-addressed
    return resp


@bp.get("/cases/<case_id>/frames/<name>")
@auth.require_role("auditor", "supervisor", "broker_admin")
def frame(user, case_id: str, name: str):
    try:
        path = case_media_path(user, case_id, "frame", name)
    except CaseAccessError as exc:
        abort(exc.status)
    return send_file(path, mimetype="image/jpeg", conditional=True, max_age=0)


@bp.get("/cases/<case_id>/id-card/<side>.jpg")
@auth.require_role("auditor", "supervisor", "broker_admin")
def id_card_image(user, case_id: str, side: str):
    """The ID card's front or back as masked at intake; every access is in the audit log."""
    try:
        path = case_media_path(user, case_id, "id_card", side)
    except CaseAccessError as exc:
        abort(exc.status)
    review().audit(user, "view_id_card", case_id, {"side": side}, client_ip())
    resp = send_file(path, mimetype="image/jpeg", conditional=True, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.post("/cases/<case_id>/decision")
@auth.require_role("auditor", "supervisor")
def decision_post(user, case_id: str):
    svc = review()
    try:
        res = decide(svc, user, case_id, request.form.get("decision", ""),
                     request.form.getlist("reasons"), request.form.get("note"),
                     new_link=return_link, opened_at=opened_at(case_id))
    except DecisionError as exc:
        flash(str(exc), "error")
        return redirect(url_for("review.case_page", case_id=case_id), code=303)
    except CaseAccessError as exc:
        return _fail(exc)
    msg = f"Case {case_id[:8]}… {res.decision} recorded (ledger entry {res.ledger_seq})."
    flash(msg, "ok")
    if res.investor_url:
        # Shown once, never logged: the back office sends it to the investor.
        flash(f"New investor link: {res.investor_url}", "link")
    elif res.decision == "return":
        flash(BACK_OFFICE_RETURN, "ok")
    return redirect(url_for("review.queue"), code=303)


@bp.post("/cases/<case_id>/assign")
@auth.require_role("supervisor")
def assign_post(user, case_id: str):
    svc = review()
    raw = request.form.get("user_id") or ""
    try:
        svc.reassign(user, case_id, int(raw) if raw.isdigit() else None)
    except CaseAccessError as exc:
        flash(str(exc), "error")
    return redirect(url_for("review.dashboard"), code=303)


# -- supervisor dashboard ---------------------------------------------------------------------

@bp.get("/dashboard")
@auth.require_role("supervisor", "broker_admin")
def dashboard(user):
    svc = review()
    svc.poll()
    reviewers = [u.public() for u in svc.users() if u.role in ("auditor", "supervisor")]
    return render_template("review_dashboard.html", user=user, dash=svc.dashboard(),
                           cases=[svc.case_json(c) for c in svc.ordered_queue()],
                           reviewers=reviewers)
