"""Console login sessions: idle + absolute session timeouts, CSRF tokens and per-endpoint
role checks. Accounts, passwords and the login throttle are in ``kiosk.review.accounts``."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    abort,
    g,
    has_request_context,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)

from kiosk.review.context import current_review
from kiosk.review.models import ROLES, StaffUser

log = logging.getLogger(__name__)
SESSION_KEY = "review"
CSRF_KEY = "review_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


# -- the login session in Flask's signed cookie ----------------------------------------------

def _epoch(d: dt.datetime) -> float:
    return d.replace(tzinfo=dt.UTC).timestamp()


def start_session(user: StaffUser, now: dt.datetime) -> str:
    """A fresh login session (old contents dropped against fixation); returns its CSRF token."""
    session.clear()
    session.permanent = False
    token = secrets.token_urlsafe(32)
    session[SESSION_KEY] = {"uid": user.id, "role": user.role, "name": user.username,
                            "gen": user.session_generation or 0,
                            "login": _epoch(now), "seen": _epoch(now)}
    session[CSRF_KEY] = token
    return token


def end_session() -> None:
    session.pop(SESSION_KEY, None)
    session.pop(CSRF_KEY, None)


def revoke_sessions(store, uid: int) -> None:
    """End every login of this account on the server: each cookie issued before (copies
    included) is refused at its next request. For logout, and any credential change."""
    with store.db() as db, db.begin():
        u = db.get(StaffUser, uid)
        if u is not None:
            u.session_generation = (u.session_generation or 0) + 1


def logout(svc, ip: str | None = None) -> None:
    """Log the current user out everywhere (server-side) and clear this cookie."""
    user = current_user(svc)
    if user is not None:
        revoke_sessions(svc.store, user["uid"])
        svc.audit(user, "logout", None, {}, ip)
        log.info("console session of %s ended: logout", user["name"])
    session.clear()
    g.review_user = None


def client_address() -> str:
    """The client's address: the socket peer, or behind the trusted proxies
    (``trusted_proxy_hops``, werkzeug ProxyFix) the address they forwarded; "" outside a
    request."""
    if not has_request_context():
        return ""
    return request.remote_addr or ""


def csrf_token() -> str:
    """The session's CSRF token, created for an anonymous visitor (the login form) too."""
    tok = session.get(CSRF_KEY)
    if not tok:
        tok = session[CSRF_KEY] = secrets.token_urlsafe(32)
    return tok


def csrf_ok() -> bool:
    expected = session.get(CSRF_KEY)
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    if not expected or not given:
        return False
    return hmac.compare_digest(str(given).encode(), str(expected).encode())


def web_origin(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL, lower case and without a default port
    (as browsers send ``Origin``); "" when ``url`` is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("http", "https") or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if port is None or port == {"http": 80, "https": 443}[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def expected_origin() -> str:
    """The console's own origin: ``public_url``'s when set, else this request's host URL as
    seen through the trusted proxies (``trusted_proxy_hops``)."""
    svc = current_review()
    return svc.public_origin or web_origin(request.host_url)


def origin_ok() -> bool:
    """A browser's Origin (or Referer), when sent, must be the console's own origin."""
    origin = request.headers.get("Origin") or ""
    if not origin:
        ref = request.headers.get("Referer") or ""
        origin = "/".join(ref.split("/")[:3]) if ref else ""
    if not origin or origin == "null":
        return not request.headers.get("Origin")  # "null" from a sandbox is refused
    mine = expected_origin()
    return bool(mine) and web_origin(origin) == mine


def current_user(svc) -> dict | None:
    """The logged-in staff member as ``{uid, role, name}``, enforcing the timeouts."""
    if "review_user" in g:
        return g.review_user
    info = session.get(SESSION_KEY)
    user = None
    if isinstance(info, dict):
        now = _epoch(svc.clock())
        cfg = svc.config
        if now - info.get("login", 0) > cfg.absolute_timeout_seconds:
            log.info("console session of %s ended: absolute timeout", info.get("name"))
            end_session()
        elif now - info.get("seen", 0) > cfg.idle_timeout_seconds:
            log.info("console session of %s ended: idle timeout", info.get("name"))
            end_session()
        else:
            row = svc.user(info.get("uid"))
            if row is not None and (row.session_generation or 0) != info.get("gen"):
                log.info("console session of %s refused: it was logged out", row.username)
                end_session()
            elif row is not None and row.active and row.role == info.get("role"):
                if now - info["seen"] > 5:  # keep the cookie quiet between clicks
                    info["seen"] = now
                    session[SESSION_KEY] = info
                user = {"uid": row.id, "role": row.role, "name": row.username,
                        "languages": row.languages, "flows": row.flows}
            else:
                end_session()
    g.review_user = user
    return user


def _wants_json() -> bool:
    return request.path.startswith("/review/api/") or request.is_json


def require_role(*roles: str):
    """Per-endpoint role check; anonymous callers get 401 (API) or the login page."""
    for r in roles:
        if r not in ROLES:
            raise ValueError(f"unknown role {r!r}")

    def deco(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            svc = current_review()
            user = current_user(svc)
            if user is None:
                if _wants_json():
                    return jsonify({"error": "unauthorized",
                                    "message": "log in to the review console first"}), 401
                return redirect(url_for("review.login", next=request.path))
            if roles and user["role"] not in roles:
                log.warning("console: %s (%s) refused %s %s", user["name"], user["role"],
                            request.method, request.path)
                if _wants_json():
                    return jsonify({"error": "forbidden",
                                    "message": f"role {user['role']} may not do this"}), 403
                abort(403)
            return fn(user, *args, **kwargs)
        return wrapper
    return deco


# -- hooks for the console blueprints ---------------------------------------------------------

def guard():
    """before_request of every console blueprint: Origin and CSRF on state-changing calls."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if not origin_ok():
        log.warning("console: %s %s from origin %s refused: expected %s", request.method,
                    request.path, (request.headers.get("Origin") or "(Referer)")[:100],
                    expected_origin())
        return jsonify({"error": "bad_origin",
                        "message": "the request comes from another origin than "
                                   f"{expected_origin()}"}), 403
    if not csrf_ok():
        log.warning("console: %s %s without a valid CSRF token refused", request.method,
                    request.path)
        return jsonify({"error": "csrf",
                        "message": f"missing or wrong CSRF token (send the {CSRF_HEADER} "
                                   f"header or the {CSRF_FIELD} form field)"}), 403
    return None


def security_headers(resp):
    """after_request of every console blueprint."""
    resp.headers.setdefault("Cache-Control", "no-store")
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    return resp
