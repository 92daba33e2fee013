"""Time-limited TURN credentials, issued per session (coturn's ``use-auth-secret``).

coturn's REST-API scheme (draft-uberti-behave-turn-rest-00, coturn's ``turnserver.conf``:
``use-auth-secret`` with ``static-auth-secret``): the username is ``<expiry>:<user>``, where
``<expiry>`` is a Unix time in seconds, and the password is the base64 of the HMAC-SHA1 of that
username under the shared secret. coturn refuses the credential after ``<expiry>``, so a
leaked one is worth ``turn_ttl_seconds`` at most, and no per-user state is kept anywhere.

Each investor gets credentials at ``join`` (in ``joined {ice_servers}``); the server's own
peer connection gets its own with the node as user. The secret never leaves the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from kiosk.config import IceServer, Settings


def turn_credential(secret: str, user: str, ttl_s: int, now: float | None = None
                    ) -> tuple[str, str]:
    """(username, password) valid for ``ttl_s`` seconds from ``now`` (Unix seconds; default
    the current time) for ``user`` under ``secret``. ValueError for an empty secret, a user
    with ``:`` or a ttl below 60 s."""
    if not secret:
        raise ValueError("turn_secret is empty")
    if ":" in user:
        raise ValueError("a TURN user must not contain ':'")
    if ttl_s < 60:
        raise ValueError(f"turn_ttl_seconds must be at least 60, got {ttl_s}")
    expiry = int(now if now is not None else time.time()) + ttl_s
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers_for(settings: Settings, user: str, now: float | None = None) -> list[IceServer]:
    """``settings.ice_servers`` plus, when ``turn_urls`` and ``turn_secret`` are set, one TURN
    entry with credentials for ``user`` (a session id, or the node for its own peer)."""
    servers = list(settings.ice_servers)
    if settings.turn_urls and settings.turn_secret:
        username, password = turn_credential(settings.turn_secret, user,
                                             settings.turn_ttl_seconds, now)
        servers.append(IceServer(urls=list(settings.turn_urls), username=username,
                                 credential=password))
    return servers
