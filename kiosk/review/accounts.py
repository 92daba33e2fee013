"""Console accounts: creating them, hashing passwords (argon2) and refusing logins.

The login itself (the account lock-out in the database and the per-address failure window)
lives here, apart from the Flask session and the request guard in ``kiosk.review.auth``, so
that the review service can hold a ``LoginThrottle`` without importing the request layer.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from kiosk.errors import AuthError, SharedStateError
from kiosk.flows.model import is_flow_id
from kiosk.review.models import ROLES, StaffUser

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
MIN_PASSWORD = 10
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
