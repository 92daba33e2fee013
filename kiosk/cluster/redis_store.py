"""The one module that imports the ``redis`` client: a narrow, typed view of the few commands
the cluster state uses (strings with a TTL, a counter in a window, a key scan, ping).

Every key is namespaced under ``prefix`` (``kiosk:`` by default), so several installations
can share one Redis by giving each its own prefix (docs/operations.md, *Several nodes with
Redis*). Every Redis failure (refused connection, timeout, a server error) is raised as
``SharedStateError`` with the address (never the password) in the message.

Flask-SocketIO's ``message_queue`` (kiosk.web.app) reaches the same server through
python-socketio's own ``RedisManager``, which imports this client too; it is pinned in
pyproject.toml for both.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.exceptions import RedisError

from kiosk.config import check_redis_url
from kiosk.errors import SharedStateError

__all__ = ["SharedRedis", "SharedStateError", "redact"]


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class SharedRedis:
    """A connection pool to one Redis server, keys under ``prefix``.

    ``timeout`` (seconds) bounds connecting and every command, so a Redis that stops
    answering turns into ``SharedStateError`` instead of a hung request thread.
    """

    def __init__(self, url: str, *, prefix: str = "kiosk:", timeout: float = 2.0) -> None:
        self.url = check_redis_url(url)
        self.prefix = prefix
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout,
            decode_responses=True, health_check_interval=30)

    def key(self, name: str) -> str:
        return self.prefix + name

    def _fail(self, exc: Exception, what: str) -> SharedStateError:
        return SharedStateError(f"Redis at {redact(self.url)}: {what} failed: {exc}")

    def ping(self) -> None:
        """Return if the server answers; SharedStateError if not."""
        try:
            self._client.ping()
        except RedisError as exc:
            raise self._fail(exc, "PING") from exc

    def reachable(self) -> bool:
        try:
            self.ping()
        except SharedStateError:
            return False
        return True

    def put(self, name: str, value: str, ttl_seconds: float) -> None:
        """SET ``name`` to ``value``, expiring after ``ttl_seconds`` (rounded up to ms)."""
        try:
            self._client.set(self.key(name), value, px=max(1, int(ttl_seconds * 1000)))
        except RedisError as exc:
            raise self._fail(exc, f"SET {name}") from exc

    def get(self, name: str) -> str | None:
        try:
            return cast("str | None", self._client.get(self.key(name)))
        except RedisError as exc:
            raise self._fail(exc, f"GET {name}") from exc

    def delete(self, name: str) -> None:
        try:
            self._client.delete(self.key(name))
        except RedisError as exc:
            raise self._fail(exc, f"DEL {name}") from exc

    def ttl_seconds(self, name: str) -> float | None:
        """Seconds until ``name`` expires; None when it does not exist or never expires."""
        try:
            ms = int(cast(int, self._client.pttl(self.key(name))))
        except RedisError as exc:
            raise self._fail(exc, f"PTTL {name}") from exc
        return ms / 1000 if ms >= 0 else None

    def count_in_window(self, name: str, window_seconds: float) -> int:
        """INCR ``name`` and, if it has no expiry yet, let it expire ``window_seconds`` after
        this first increment (EXPIRE … NX, Redis 7.0+), both in one MULTI; the new count."""
        key = self.key(name)
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.incr(key)
            pipe.pexpire(key, max(1, int(window_seconds * 1000)), nx=True)
            count, _ = cast("list[Any]", pipe.execute())
            return int(count)
        except RedisError as exc:
            raise self._fail(exc, f"INCR {name}") from exc

    def mark(self, name: str, member: str, at: float, keep_seconds: float) -> None:
        """Add ``member`` to the sorted set ``name`` with score ``at`` (Unix seconds), drop
        members scored before ``at - keep_seconds`` and let the set expire after
        ``keep_seconds``: ZADD, ZREMRANGEBYSCORE and PEXPIRE in one MULTI."""
        key = self.key(name)
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.zadd(key, {member: at})
            pipe.zremrangebyscore(key, "-inf", f"({at - keep_seconds}")
            pipe.pexpire(key, max(1, int(keep_seconds * 1000)))
            pipe.execute()
        except RedisError as exc:
            raise self._fail(exc, f"ZADD {name}") from exc

    def unmark(self, name: str, members: Collection[str]) -> None:
        """Remove ``members`` from the sorted set ``name`` (ZREM; nothing when empty)."""
        if not members:
            return
        try:
            self._client.zrem(self.key(name), *members)
        except RedisError as exc:
            raise self._fail(exc, f"ZREM {name}") from exc

    def marked_since(self, name: str, since: float) -> int:
        """How many members of the sorted set ``name`` are scored at ``since`` or later."""
        try:
            return int(cast(int, self._client.zcount(self.key(name), since, "+inf")))
        except RedisError as exc:
            raise self._fail(exc, f"ZCOUNT {name}") from exc

    def count(self, name: str) -> int:
        """The counter ``name`` (0 when it does not exist or has expired)."""
        value = self.get(name)
        return int(value) if value else 0

    def values(self, pattern: str) -> dict[str, str]:
        """Every ``prefix + pattern`` key (SCAN MATCH, glob syntax) with its value, by name
        without the prefix; keys that expire during the scan are left out."""
        try:
            keys = [cast(str, k) for k in self._client.scan_iter(match=self.key(pattern),
                                                                   count=500)]
            if not keys:
                return {}
            got = cast("list[str | None]", self._client.mget(keys))
        except RedisError as exc:
            raise self._fail(exc, f"SCAN {pattern}") from exc
        n = len(self.prefix)
        return {k[n:]: v for k, v in zip(keys, got, strict=True) if v is not None}

    def close(self) -> None:
        self._client.close()
