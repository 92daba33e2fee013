"""Console accounts and login sessions: argon2 passwords, throttling with logged lock-out,
idle + absolute session timeouts, CSRF tokens and per-endpoint role checks."""

from __future__ import annotations

import collections
import datetime as dt
import hmac
import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Protocol
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
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
from sqlalchemy import select

from kiosk.errors import AuthError, SharedStateError
from kiosk.flows.model import is_flow_id
from kiosk.review.context import current_review
from kiosk.review.models import ROLES, StaffUser

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
MIN_PASSWORD = 10
SESSION_KEY = "review"
CSRF_KEY = "review_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_hasher = PasswordHasher()
# Verified when the user does not exist or is locked, so those answers take as long as a
# wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class LoginRefused(AuthError):
    """Wrong name or password, or the account is locked; ``code`` says which for the log."""

    def __init__(self, code: str, message: str = "user name or password not accepted"):
        super().__init__(message)
        self.code = code


def hash_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"password must be at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def _csv_list(values: Iterable[str] | str | None, valid: Callable[[str], bool],
              what: str) -> str:
    if values is None:
        return ""
    if isinstance(values, str):
        values = [v.strip() for v in values.split(",")]
    out = [v for v in values if v]
    for v in out:
        if not valid(v):
            raise ValueError(f"{what} {v!r} is not valid")
    return ",".join(out)


def add_user(store, username: str, password: str, role: str, *, languages=None,
             flows=None) -> StaffUser:
    """Create a console account; raises ValueError naming what is wrong."""
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise ValueError(f"user name {username!r} must be 2-64 letters, digits or . _ @ -")
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    user = StaffUser(username=username, password_hash=hash_password(password), role=role,
                     languages_csv=_csv_list(languages, lambda v: _LANG.fullmatch(v) is not None,
                                            "language"),
                     flows_csv=_csv_list(flows, is_flow_id, "flow id"))
    with store.db() as db, db.begin():
        if db.scalar(select(StaffUser).where(StaffUser.username == username)) is not None:
            raise ValueError(f"user {username!r} already exists")
        db.add(user)
    log.info("console user %s created with role %s", username, role)
    return user


class LoginThrottle:
    """Per-account lock-out (in the database, shared by nodes on one database) plus a
    per-address failure window: in memory (each node counts its own, a sliding window), or
    with ``shared_addresses`` in Redis (every node counts every failure; a fixed window from
    the first failure, kiosk.cluster.failures). A Redis that does not answer refuses every
    login (``throttle_unavailable``) rather than stop counting.

    The address is the caller's ``ip``: the console passes ``request.remote_addr``, which is
    the real client only through the trusted proxies (``trusted_proxy_hops``); without that
    setting it is the socket peer and X-Forwarded-For is never read."""

    _SWEEP_AT = 10_000  # addresses remembered before the expired ones are dropped

    def __init__(self, store, clock: Callable[[], dt.datetime], *, max_failures: int = 5,
                 lockout_seconds: float = 900, ip_max_failures: int = 20,
                 ip_window_seconds: float = 900, audit=None,
                 shared_addresses: Callable[[int, float], SharedAddresses] | None = None):
        self.store = store
        self.clock = clock
        self.max_failures = max_failures
        self.lockout = dt.timedelta(seconds=lockout_seconds)
        self.ip_max = ip_max_failures
        self.ip_window = dt.timedelta(seconds=ip_window_seconds)
        self.audit = audit  # fn(user, action, case_id, detail)
        self._ip: dict[str, collections.deque] = {}
        self._lock = threading.Lock()
        # Built from the limits: fn(max failures, window seconds) -> blocked(ip) / fail(ip).
        self._shared = (shared_addresses(ip_max_failures, ip_window_seconds)
                        if shared_addresses is not None else None)

    def _ip_blocked(self, ip: str, now: dt.datetime) -> bool:
        if self._shared is not None:
            try:
                return self._shared.blocked(ip)
            except SharedStateError as exc:  # Redis does not answer
                log.error("login refused: the shared login throttle is unavailable: %s", exc)
                raise LoginRefused("throttle_unavailable") from None
        with self._lock:
            q = self._ip.get(ip)
            if q is None:
                return False
            while q and now - q[0] > self.ip_window:
                q.popleft()
            return len(q) >= self.ip_max

    def _ip_fail(self, ip: str, now: dt.datetime) -> None:
        if self._shared is not None:
            try:
                self._shared.fail(ip)
            except SharedStateError as exc:  # the login is refused anyway
                log.error("a failed login was not counted: %s", exc)
            return
        with self._lock:
            if len(self._ip) >= self._SWEEP_AT:
                self._ip = {k: q for k, q in self._ip.items()
                            if q and now - q[-1] <= self.ip_window}
            self._ip.setdefault(ip, collections.deque()).append(now)

    def login(self, username: str, password: str, ip: str = "") -> StaffUser:
        """The account, if the password is right and nothing is locked; LoginRefused if not."""
        now = self.clock()
        if self._ip_blocked(ip, now):
            log.warning("login refused: too many failures from one address")
            raise LoginRefused("address_throttled")
        refused = None  # raised after the commit: an exception would roll the count back
        locked_now = False
        with self.store.db() as db, db.begin():
            # FOR UPDATE (PostgreSQL; SQLite ignores it and serialises writers anyway): nodes
            # sharing the database count every failure, instead of each overwriting the
            # count it read before its argon2 check with its own +1.
            user = db.scalar(select(StaffUser).where(StaffUser.username == str(username)[:64])
                             .with_for_update())
            # Every answer about a name costs one argon2 verification, so the time taken
            # never tells an unknown or locked account from a wrong password.
            if user is None or not user.active:
                _check(_DUMMY_HASH, password)
                refused = "unknown_user"
            elif user.locked_until is not None and user.locked_until > now:
                _check(_DUMMY_HASH, password)
                refused = "locked"
            elif not _check(user.password_hash, password):
                refused = "bad_password"
                user.failed_logins += 1
                if user.failed_logins >= self.max_failures:
                    user.locked_until = now + self.lockout
                    user.failed_logins = 0
                    locked_now = True
            else:
                user.failed_logins = 0
                user.locked_until = None
                user.last_seen_at = now
                if _hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = _hasher.hash(password)
        if refused is None:
            return user
        self._ip_fail(ip, now)
        if refused == "locked":
            log.warning("login refused: account %s is locked out", user.username)
        if locked_now:
            log.warning("login lock-out: account %s locked for %d s after %d failed logins",
                        user.username, self.lockout.total_seconds(), self.max_failures)
            if self.audit:
                self.audit(user, "lockout", None,
                           {"seconds": int(self.lockout.total_seconds())})
        raise LoginRefused(refused)


class SharedAddresses(Protocol):
    """A per-address failure counter shared by the nodes (kiosk.cluster.failures)."""

    def blocked(self, ip: str) -> bool: ...

    def fail(self, ip: str) -> int: ...


def _check(hashed: str, password) -> bool:
    try:
        return _hasher.verify(hashed, str(password))
    except (VerificationError, InvalidHashError):
        return False


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
