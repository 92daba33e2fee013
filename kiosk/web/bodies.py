"""Request bodies: refused before they are read when too large, and bounded in time.

A client could declare a large ``Content-Length`` and then send its body a few bytes a
second: the server thread reading it (a gunicorn gthread worker thread, or Werkzeug's under
``--dev``) waited for ever, and a body over the cap was refused only once it had been read
(issue #13 retest, F1). :class:`RequestBodies` is WSGI middleware around the whole app,
Socket.IO's engine.io included, so it works the same under gunicorn and ``--dev``:

- **Declared too large.** A ``Content-Length`` over the route's cap (:func:`body_cap`:
  ``max_id_card_bytes`` for an ID card image, ``max_socket_message_bytes`` for a Socket.IO
  polling POST, ``max_request_bytes`` for anything else) is answered 413 with a JSON body at
  once, before a byte of the body is read. A Socket.IO polling POST over its cap goes on to
  engine.io's own refusal (``kiosk.web.socket_size``), which also answers 413 unread and
  records why the witness's connection closed.
- **Slow.** A body not wholly received within ``request_body_seconds`` of the request's
  headers is answered 408 with a JSON body and its connection closed: the thread is free
  again. The body is read here, into memory (it is within the cap), and handed to the app
  whole, so no view ever waits on the client.
- A chunked body with no ``Content-Length`` is read the same way, and refused with 413 as
  soon as it passes the cap.

Reads block inside the server (gunicorn's ``Body.read(n)`` loops until ``n`` bytes), so a
socket timeout cannot bound them: one watchdog thread (:class:`Deadlines`) shuts the read
side of a late request's socket (``shutdown(SHUT_RD)``), which wakes the blocked read at
once; the answer still goes out on the write side. Every refused request's read side is shut
too, so neither gunicorn (which drains an unread body for up to 5 s before it closes) nor
Werkzeug (which drains it without a time limit) reads the rest. The request's socket is the
server's own (``gunicorn.socket``, ``werkzeug.socket``); without one (Flask's test client) the
deadline is checked between reads only.

Not covered here: a client that sends its request *head* (the request line and headers)
slowly. gunicorn 27 hands a connection to a thread as soon as its first byte arrives (it
waits 5 s for one without a thread) and has no setting that bounds reading the rest of the
head; the reverse proxy in front of the node must bound it (docs/operations.md, *Slow
clients*).
"""

from __future__ import annotations

import heapq
import io
import itertools
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

READ_BYTES = 64 * 1024  # one read of a body
_ID_CARD = re.compile(r"/api/sessions/[^/]+/id-card/(front|back)/?")
_SOCKET_IO = "/socket.io/"


@dataclass(frozen=True)
class BodyCap:
    """The largest body a route takes: ``limit`` bytes, from setting ``setting``; a body
    declared larger is refused with 413 and error code ``code`` (and ``field``, if any), or,
    with ``engineio`` True, left to engine.io's own refusal (kiosk.web.socket_size)."""

    limit: int
    setting: str
    code: str = "too_large"
    field: str | None = None
    engineio: bool = False

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ValueError(f"{self.setting} must be 0 or more, not {self.limit}")


def body_cap(settings: Any, environ: dict) -> BodyCap:
    """The cap of the request ``environ`` asks for, from ``settings`` (see the module)."""
    path = environ.get("PATH_INFO", "")
    card = _ID_CARD.fullmatch(path)
    if card is not None and environ.get("REQUEST_METHOD") == "PUT":
        return BodyCap(settings.max_id_card_bytes, "max_id_card_bytes", "id_card_too_large",
                       field=f"id_card.{card.group(1)}")
    if path.startswith(_SOCKET_IO) or path == _SOCKET_IO.rstrip("/"):
        return BodyCap(settings.max_socket_message_bytes, "max_socket_message_bytes",
                       engineio=True)
    return BodyCap(settings.max_request_bytes, "max_request_bytes")


class _Deadline:
    """One request's deadline in :class:`Deadlines`; ``fired`` once its socket was shut."""

    __slots__ = ("at", "sock", "done", "fired")

    def __init__(self, at: float, sock: socket.socket | None) -> None:
        self.at = at
        self.sock = sock
        self.done = False
        self.fired = False


class Deadlines:
    """One daemon thread that shuts the read side of each armed socket whose deadline passed
    before it was disarmed. ``arm``/``disarm`` are thread-safe and O(log n)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._count = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, sock: socket.socket | None, seconds: float) -> _Deadline:
        """A deadline ``seconds`` from now for ``sock`` (None: only recorded, never fired)."""
        entry = _Deadline(time.monotonic() + seconds, sock)
        if sock is None:
            return entry
        with self._cond:
            heapq.heappush(self._heap, (entry.at, next(self._count), entry))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kiosk-body-deadlines",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        return entry

    def disarm(self, entry: _Deadline) -> bool:
        """Stop watching ``entry``; True if it had already fired (its socket's read side is
        shut: the request must be answered 408 and its connection closed)."""
        with self._cond:
            entry.done = True
            return entry.fired

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                at, _, entry = self._heap[0]
                wait = at - time.monotonic()
                if entry.done:
                    heapq.heappop(self._heap)
                    continue
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                entry.fired = True
                entry.done = True
            shut_reading(entry.sock)


def shut_reading(sock: socket.socket | None) -> None:
    """Shut ``sock``'s read side: a read blocked on it returns at once, and no later read of
    the server's waits for the client. Writing (the answer) still works."""
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RD)
    except OSError:  # already closed by the client or the server
        pass


class BodyTooSlow(Exception):
    """The body did not arrive within its deadline."""


class BodyTooLarge(Exception):
    """A chunked body passed the cap while it arrived."""


class BodyIncomplete(Exception):
    """The client ended the body before its ``Content-Length``."""


def read_body(stream: Any, length: int | None, limit: int, deadline: _Deadline) -> bytes:
    """The body from ``stream``: exactly ``length`` bytes, or (``length`` None: chunked) up to
    its end. Raises BodyTooSlow past ``deadline.at`` (or once it fired), BodyTooLarge for a
    chunked body over ``limit`` bytes, BodyIncomplete when the stream ends early."""
    parts: list[bytes] = []
    got = 0
    while length is None or got < length:
        if deadline.fired or time.monotonic() > deadline.at:
            raise BodyTooSlow
        want = READ_BYTES if length is None else min(READ_BYTES, length - got)
        try:
            chunk = stream.read(want)
        except Exception as exc:  # the server's reader, after the watchdog shut the socket
            if deadline.fired:
                raise BodyTooSlow from exc
            raise
        if not chunk:
            if deadline.fired:
                raise BodyTooSlow
            if length is None:
                break
            raise BodyIncomplete
        parts.append(chunk)
        got += len(chunk)
        if length is None and got > limit:
            raise BodyTooLarge
    return b"".join(parts)


def _answer(start_response: Callable, status: str, body: dict) -> list[bytes]:
    """A JSON answer. No ``Connection: close`` (a hop-by-hop header, which PEP 3333 keeps
    from apps and gunicorn drops): the read side is shut, so the server closes anyway."""
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data))), ("Cache-Control", "no-store")])
    return [data]


def _server_socket(environ: dict) -> socket.socket | None:
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    return sock if isinstance(sock, socket.socket) else None


class RequestBodies:
    """WSGI middleware: every request body capped (:func:`body_cap`) before it is read, and
    read whole within ``seconds`` (see the module). ``cap_of(environ) -> BodyCap``."""

    def __init__(self, app: Callable, cap_of: Callable[[dict], BodyCap], seconds: float,
                 deadlines: Deadlines | None = None) -> None:
        if seconds <= 0:
            raise ValueError(f"request_body_seconds must be more than 0, not {seconds}")
        self.app = app
        self.cap_of = cap_of
        self.seconds = seconds
        self.deadlines = deadlines or Deadlines()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        raw_length = environ.get("CONTENT_LENGTH") or ""
        if not chunked and raw_length in ("", "0"):
            return self.app(environ, start_response)  # no body (GETs, websocket upgrades)
        sock = _server_socket(environ)
        cap = self.cap_of(environ)
        length: int | None = None
        if not chunked:
            try:
                length = int(raw_length)
                if length < 0:
                    raise ValueError(raw_length)
            except ValueError:
                shut_reading(sock)
                return _answer(start_response, "400 Bad Request",
                               {"error": "bad_request", "message": "Content-Length is not a "
                                "number of bytes"})
        if length is not None and length > cap.limit:
            return self._too_large(environ, start_response, cap, sock, f"{length}")
        deadline = self.deadlines.arm(sock, self.seconds)
        try:
            body = read_body(environ["wsgi.input"], length, cap.limit, deadline)
        except BodyTooSlow:
            self.deadlines.disarm(deadline)
            return self._too_slow(environ, start_response, sock)
        except BodyTooLarge:
            self.deadlines.disarm(deadline)
            return self._too_large(environ, start_response, cap, sock, "a chunked")
        except BodyIncomplete:
            self.deadlines.disarm(deadline)
            shut_reading(sock)
            return _answer(start_response, "400 Bad Request",
                           {"error": "bad_request", "message": "the request body ended before "
                            "its Content-Length"})
        except BaseException:
            self.deadlines.disarm(deadline)
            raise
        if self.deadlines.disarm(deadline):  # fired just as the last bytes came in
            return self._too_slow(environ, start_response, sock)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = True
        return self.app(environ, start_response)

    def _too_large(self, environ: dict, start_response: Callable, cap: BodyCap,
                   sock: socket.socket | None, size: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "?")
        if cap.engineio:
            # engine.io answers 413 unread and records why the witness's socket closed; it
            # reads at most the body's first bytes, within the deadline.
            deadline = self.deadlines.arm(sock, self.seconds)
            try:
                return self.app(environ, start_response)
            finally:
                self.deadlines.disarm(deadline)
                shut_reading(sock)
        shut_reading(sock)
        log.warning("a %s request of %s bytes refused unread (413): over %s (%d)", method,
                    size, cap.setting, cap.limit)
        body = {"error": cap.code, "message": f"the request body is larger than {cap.limit} "
                f"bytes ({cap.setting})", "limit": cap.limit}
        if cap.field:
            body["field"] = cap.field
        return _answer(start_response, "413 Request Entity Too Large", body)

    def _too_slow(self, environ: dict, start_response: Callable,
                  sock: socket.socket | None) -> Iterable[bytes]:
        shut_reading(sock)
        # The method only: a path may hold an investor's link.
        log.warning("a %s request's body did not arrive within %g s (request_body_seconds): "
                    "408, connection closed", environ.get("REQUEST_METHOD", "?"), self.seconds)
        return _answer(start_response, "408 Request Timeout",
                       {"error": "request_timeout", "message": "the request body did not "
                        f"arrive within {self.seconds:g} s (request_body_seconds)"})


def limit_bodies(app: Any, settings: Any) -> None:
    """Wrap Flask ``app``'s WSGI app (Socket.IO's middleware included) in
    :class:`RequestBodies` with ``settings``' caps and ``request_body_seconds``."""
    app.wsgi_app = RequestBodies(app.wsgi_app, lambda environ: body_cap(settings, environ),
                                 settings.request_body_seconds)
