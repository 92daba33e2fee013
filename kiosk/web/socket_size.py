"""Socket messages over ``max_socket_message_bytes``: cut off while they arrive, and reported.

python-engineio applies its cap (``max_http_buffer_size``, our ``max_socket_message_bytes``)
only after the whole message is in memory, and then drops the connection without a word:

- **websocket** (threading mode, simple-websocket): simple-websocket was given no limit, so it
  buffered a message of any size (a 500 KB ``client_error``, or a permessage-deflate bomb that
  inflates without bound) before engine.io measured it, raised ``ValueError('packet is too
  large')`` inside its own reader, logged that at INFO on a logger we keep at WARNING, and
  closed the connection. The witness then ended as a plain ``aborted: disconnected``.
- **polling**: a POST whose ``Content-Length`` is over the cap was answered 400 and its
  Engine.IO session disconnected, unread. Worse, engine.io's ``disconnect`` closes a session
  with ``wait=True``, which waits (``queue.join()``, no timeout) until a GET poll takes the
  CLOSE packet: a client that never polls again held the POST's server thread for ever, and
  about 240 of them stopped a gunicorn node (issue #13 retest, N11).

``measure_messages`` keeps the cap and says why a connection closed. A polling POST over the
cap is answered here, at once: 413 with a JSON body (``message_too_large``), with or without
a live session, its session (if any) reported and closed without waiting for the client.
engine.io's own ``disconnect`` (its other callers: a failed GET poll, shutdown) waits at most
``CLOSE_WAIT_SECONDS`` for the client to take the CLOSE packet, so no request can hold a
thread there for longer. simple-websocket gets
the cap as its ``max_message_size``, so a message is cut off as soon as it passes the cap (the
client gets close code 1009) and memory stays bounded; every such message, and every polling
POST over the cap, is reported to ``on_too_large`` with the Engine.IO sid, the event's name
(read from the message's first bytes: a ``kiosk.protocol.PageEvent``, ``connect``, or
``other``; never the message's text) and its size, before engine.io closes the connection.

simple-websocket wakes its reader on a cut-off message before it sets ``connected = False``,
so engine.io's reader, which waits without a timeout, could wait for ever (measured: one run in
two; the witness then ended at the heartbeat timeout as ``connection_lost``, unexplained). The
reader here waits in steps of ``RECEIVE_STEP_SECONDS`` and looks again.

This module is the only one that knows engine.io's websocket driver (``_async['websocket']``,
``Socket._websocket_handler``) and simple-websocket's counters (``incoming_message_len``,
``incoming_message``); tests/test_socket_size.py pins them.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from kiosk.protocol import PageEvent

log = logging.getLogger(__name__)

# How long the reader waits for a message before it looks again whether the socket closed.
RECEIVE_STEP_SECONDS = 1.0
# How long engine.io's ``disconnect`` waits for a client to take its CLOSE packet (a polling
# client takes it with its next GET, which may never come).
CLOSE_WAIT_SECONDS = 1.0
# Enough of a message to read its event name (Socket.IO's ``42["name",`` and variants).
HEAD_CHARS = 256
# An Engine.IO MESSAGE (4) holding a Socket.IO EVENT (2) or BINARY_EVENT (5): optional
# attachment count, namespace and ack id, then the JSON array whose first item is the name.
_EVENT = re.compile(r'4[25](?:\d+-)?(?:/[^,\["]{0,100},)?\d*\["([A-Za-z0-9_]{1,64})"')
_CONNECT = re.compile(r"40(?:/[^,{]{0,100},?)?(?:\{|$)")
_PAGE_EVENTS = frozenset(PageEvent)


@dataclass(frozen=True)
class TooLarge:
    """A socket message over the cap: its event (``event_name``), the bytes that arrived (the
    whole message, or as much as arrived before it was cut off: ``complete`` False) and the
    transport (``websocket`` or ``polling``)."""

    event: str
    bytes: int
    complete: bool
    transport: str

    def describe(self, limit: int) -> str:
        """``a socket message (client_error) of 500000 bytes over max_socket_message_bytes
        (64000)``; one cut off: ``of at least 65536 bytes``."""
        size = f"{self.bytes}" if self.complete else f"at least {self.bytes}"
        return (f"a socket message ({self.event}) of {size} bytes over "
                f"max_socket_message_bytes ({limit})")


OnTooLarge = Callable[[str, TooLarge], None]
# A polling POST engine.io cannot decode: (Engine.IO sid, a short reason, never its text).
OnMalformed = Callable[[str, str], None]


def event_name(head: str | bytes | bytearray | None) -> str:
    """The event a message's first bytes name: a page event's name, ``connect`` for a
    Socket.IO CONNECT, else ``other`` (an unknown name, a binary attachment, or no message)."""
    if head is None:
        return "other"
    if isinstance(head, bytes | bytearray):
        head = bytes(head[:HEAD_CHARS]).decode("utf-8", "replace")
    head = head[:HEAD_CHARS].lstrip("\x1e")  # a polling payload separates packets with \x1e
    match = _EVENT.match(head)
    if match is not None:
        return match.group(1) if match.group(1) in _PAGE_EVENTS else "other"
    return "connect" if _CONNECT.match(head) else "other"


class _MeasuredWebSocket:
    """The websocket engine.io reads from (its driver's object, wrapped): ``wait`` returns
    what the driver's would, reporting a message over the cap first."""

    def __init__(self, wsgi: Any, eio_sid: str, limit: int, report: OnTooLarge):
        self._wsgi = wsgi  # engineio.async_drivers._websocket_wsgi.SimpleWebSocketWSGI
        self._eio_sid = eio_sid
        self._limit = limit
        self._report = report

    def wait(self) -> str | bytes | None:
        from simple_websocket import ConnectionClosed  # engine.io's websocket dependency

        ws = self._wsgi.ws  # simple_websocket.Server
        while True:
            try:
                data = ws.receive(timeout=RECEIVE_STEP_SECONDS)
            except ConnectionClosed:
                data = None
            if data is not None or not ws.connected:
                break
        if data is not None and len(data) > self._limit:  # only if the library let it through
            self._safe_report(TooLarge(event_name(data), len(data), True, "websocket"))
        elif data is None and getattr(ws, "incoming_message_len", 0) > self._limit:
            self._safe_report(TooLarge(event_name(getattr(ws, "incoming_message", None)),
                                       ws.incoming_message_len, False, "websocket"))
        return data

    def _safe_report(self, message: TooLarge) -> None:
        try:
            self._report(self._eio_sid, message)
        except Exception:  # the connection still closes: engine.io must get its answer
            log.exception("reporting a socket message over the cap failed")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wsgi, name)


def measure_messages(eio: Any, limit: int, on_too_large: OnTooLarge,
                     on_malformed: OnMalformed | None = None) -> None:
    """Make python-engineio server ``eio`` (threading mode) cut every message over ``limit``
    characters off as it arrives and report it, and every polling POST over ``limit`` bytes
    (answered 413 at once), to ``on_too_large(eio_sid, TooLarge)``; its ``disconnect`` waits
    at most ``CLOSE_WAIT_SECONDS`` (see the module's docstring). A polling POST to a live
    session whose payload engine.io cannot decode (more than ``Payload.max_decode_packets``
    packets, not UTF-8, an empty or undecodable packet) is answered 400 at once and reported
    to ``on_malformed(eio_sid, why)``: engine.io logged a traceback for each and answered 200.
    Idempotent."""
    if getattr(eio, "_kiosk_measured", False):
        return
    driver = eio._async["websocket"]

    def websocket(handler, server, **kwargs):
        eio_socket = getattr(handler, "__self__", None)  # the engineio Socket it serves
        eio_sid = getattr(eio_socket, "sid", "") or ""

        def measured(ws):
            return handler(_MeasuredWebSocket(ws, eio_sid, limit, on_too_large))

        return driver(measured, server, **{**kwargs, "max_message_size": limit})

    # A copy: the driver's table is shared by every engine.io server in the process.
    eio._async = {**eio._async, "websocket": websocket}
    handle_request = eio.handle_request

    def measured_request(environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST":
            refused = _refuse_post(eio, environ, limit, on_too_large, start_response)
            if refused is None and on_malformed is not None:
                refused = _refuse_payload(eio, environ, on_malformed, start_response)
            if refused is not None:
                return refused
        return handle_request(environ, start_response)

    eio.handle_request = measured_request
    eio.disconnect = functools.partial(_disconnect, eio)
    eio._kiosk_measured = True


def _disconnect(eio: Any, sid: str | None = None, wait: float = CLOSE_WAIT_SECONDS) -> None:
    """engine.io's ``Server.disconnect`` (close session ``sid``, or every session), except
    that it waits at most ``wait`` seconds for the clients to take their CLOSE packets
    instead of for ever (``Socket.close(wait=True)``)."""
    sids = [sid] if sid is not None else list(eio.sockets)
    closing = []
    for one in sids:
        socket = eio.sockets.get(one)
        if socket is None:
            continue
        socket.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
        closing.append(socket)
    deadline = time.monotonic() + wait
    while (any(getattr(s.queue, "unfinished_tasks", 0) for s in closing)
           and time.monotonic() < deadline):
        time.sleep(0.02)
    for one in sids:
        eio.sockets.pop(one, None)


def _refuse_post(eio: Any, environ: dict, limit: int, on_too_large: OnTooLarge,
                 start_response: Callable) -> list[bytes] | None:
    """Answer a polling POST over ``limit`` bytes at once: 413 with a JSON body, its body
    unread but for its first bytes; its live Engine.IO session (if any) reported and closed
    without waiting for the client. ``None`` for a POST within the cap (engine.io's)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None  # engine.io answers it (int() fails there too: 400)
    if length <= limit:
        return None
    sid = (parse_qs(environ.get("QUERY_STRING", "")).get("sid") or [""])[0]
    if sid in eio.sockets:
        try:  # the body's first bytes name the event; the rest is never read
            head = environ["wsgi.input"].read(HEAD_CHARS)
        except Exception:
            head = None
        try:
            on_too_large(sid, TooLarge(event_name(head), length, True, "polling"))
        except Exception:
            log.exception("reporting a socket message over the cap failed")
        _disconnect(eio, sid, wait=0.0)
    body = json.dumps({"error": "message_too_large", "limit": limit}).encode()
    start_response("413 Request Entity Too Large",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                    ("Cache-Control", "no-store")])
    return [body]


def _payload_error(body: bytes) -> str | None:
    """Why engine.io could not decode polling payload ``body`` (as its ``Socket.
    handle_post_request`` does), or None; never the payload's text."""
    from engineio import payload

    try:
        payload.Payload(encoded_payload=body.decode("utf-8"))
    except UnicodeDecodeError:
        return "a polling payload that is not UTF-8"
    except Exception as exc:  # ValueError (too many packets, empty packet), KeyError, ...
        if "Too many packets" in str(exc):
            return (f"a polling payload of more than {payload.Payload.max_decode_packets} "
                    "packets")
        return f"a polling payload engine.io cannot decode ({type(exc).__name__})"
    return None


def _refuse_payload(eio: Any, environ: dict, on_malformed: OnMalformed,
                    start_response: Callable) -> list[bytes] | None:
    """Answer a polling POST (within the size cap) to a live session whose payload engine.io
    cannot decode: 400 with a JSON body, reported to ``on_malformed``. ``None`` otherwise,
    with the body read and put back for engine.io."""
    sid = (parse_qs(environ.get("QUERY_STRING", "")).get("sid") or [""])[0]
    socket = eio.sockets.get(sid)
    if socket is None or not socket.connected or socket.upgraded:
        return None  # engine.io answers it (400, one line)
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    why = _payload_error(body)
    if why is None:
        return None
    try:
        on_malformed(sid, why)
    except Exception:
        log.exception("reporting an undecodable polling payload failed")
    answer = json.dumps({"error": "bad_payload"}).encode()
    start_response("400 Bad Request",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(answer))),
                    ("Cache-Control", "no-store")])
    return [answer]
