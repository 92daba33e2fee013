"""Checks and headers every request and response of the app gets, whatever blueprint serves it.

- **JSON bodies** are measured before any handler parses them: a body over
  ``max_request_bytes`` is refused with 413, and one nested deeper than ``max_json_depth`` with
  400. Python's ``json`` recurses once per level, so ``[`` × 100 000 raised RecursionError (a
  500 and a traceback in the log) in every endpoint that called ``get_json``.
- **Lone surrogates** (``"\\ud800"`` without its pair) are refused with 400 naming the field
  (``lone_surrogate``, ``note``, ``reasons[0]``): JSON's ``\\u`` escapes can spell one, and
  it is not a Unicode character, so it cannot be encoded to UTF-8 and every later step that
  encodes (password hashing, signing, logging) raised UnicodeEncodeError: a 500 with a
  traceback. Socket.IO messages get the same check (refused as malformed, below).
- **Socket.IO messages** get the same depth cap (``socket_json``): python-socketio parses each
  packet with ``json.loads``, so a 60 KB ``[`` × 30 000 message under the size cap raised
  RecursionError with a traceback. The packet is now refused before it is parsed; the
  connection counts it as malformed (``kiosk.web.connections.ConnectionGate.malformed``: one
  short line, never a traceback; a few of them close the connection).
- **A ``next`` parameter** (query or form) must be a same-site relative path (``/review/...``):
  anything else, CR/LF included (werkzeug refuses such a ``Location`` header with a 500), is a
  400 before the view runs.
- **Security headers** on every response: a Content-Security-Policy without inline scripts or
  styles (the investor page runs under it: its brand colour comes from ``/brand/theme.css``),
  ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` (the camera page must never be framed
  by another site), ``nosniff``. A blueprint that sets its own (the review console) keeps them.
"""

from __future__ import annotations

import json
import logging
import re
from types import SimpleNamespace

from flask import Flask, abort, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import ServiceUnavailable

from kiosk.atomic_files import is_disk_full

log = logging.getLogger(__name__)

# One double-quoted JSON string, escapes included (the unrolled form: linear, no backtracking).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
# A same-site path: one leading slash, then printable ASCII without spaces or backslashes.
_SAFE_NEXT = re.compile(r"/(?![/\\])[!-\[\]-~]*")
# A Host header fit to quote in the CSP (the browser sent it; anything odd is left out).
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self' blob:; connect-src 'self'{ws}; font-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings skipped); linear time.

    Counts brackets only, so it works on invalid JSON too (the parser reports that later).
    """
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))
    depth = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def is_utf8_json(body: bytes) -> bool:
    """Whether ``body`` is UTF-8 (a BOM allowed), the only encoding the depth check reads
    right: ``json.detect_encoding`` says UTF-16/32 for a body whose first bytes hold NULs."""
    if json.detect_encoding(body) not in ("utf-8", "utf-8-sig"):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_PATH = 80


def _where(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return (out or "the body")[:_MAX_PATH]


def lone_surrogate(value: object) -> str | None:
    """The place (``note``, ``applicant.name``, ``reasons[0]``) of the first string in a parsed
    JSON value (keys included) holding a lone surrogate (U+D800..U+DFFF: a ``\\u`` escape
    without its pair, not a Unicode scalar value), or None when every string is valid Unicode.

    Iterative (no recursion limit); the place is at most 80 characters and names keys only up
    to that length, so it is safe to echo back.
    """
    stack: list[tuple[object, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return _where(path)
        elif isinstance(item, dict):
            for key, sub in item.items():
                if _SURROGATE.search(str(key)):
                    return _where(path + ["(a key)"])
                stack.append((sub, path + [str(key)[:40]]))
        elif isinstance(item, list):
            stack.extend((sub, path + [i]) for i, sub in enumerate(item))
    return None


class SocketMessageRefused(ValueError):
    """A Socket.IO packet refused before parsing (its text is never logged)."""


def socket_json(max_depth: int) -> SimpleNamespace:
    """A ``json`` module for python-socketio (``dumps``/``loads``) whose ``loads`` refuses text
    nested deeper than ``max_depth`` with :class:`SocketMessageRefused`, before parsing it."""

    def loads(text, *args, **kwargs):
        raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
        if json_depth(raw) > max_depth:
            raise SocketMessageRefused(f"a socket message nested deeper than {max_depth} levels")
        value = json.loads(text, *args, **kwargs)
        where = lone_surrogate(value)
        if where is not None:
            raise SocketMessageRefused(f"a socket message with a lone surrogate in {where}")
        return value

    return SimpleNamespace(dumps=json.dumps, loads=loads)


class _QuietRefusals(logging.Filter):
    """Turns engine.io's "message handler error" traceback for a refused packet into a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, SocketMessageRefused):
            record.msg, record.args = f"socket message refused: {exc}", ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_refusals() -> None:
    """Install the filter on the loggers that report Socket.IO handler errors (idempotent),
    and remove the plain stderr handler engine.io and python-socketio add to them: their
    records reach the service's own handlers anyway, so each was written twice (once as
    JSON, once as plain text)."""
    for name in ("engineio.server", "socketio.server"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _QuietRefusals) for f in logger.filters):
            logger.addFilter(_QuietRefusals())
        for handler in list(logger.handlers):
            if type(handler) is logging.StreamHandler:
                logger.removeHandler(handler)


def safe_next(value: str) -> bool:
    """True for an empty value or a same-site relative path (never //host, \\, CR/LF, spaces)."""
    return value == "" or _SAFE_NEXT.fullmatch(value) is not None


def _refuse(status: int, code: str, message: str):
    if request.is_json or request.path.startswith(("/api/", "/review/api/")):
        return jsonify({"error": code, "message": message}), status
    abort(status, description=message)


def register(app: Flask, settings) -> None:
    """Install the request checks and the response headers on ``app``."""
    max_depth = settings.max_json_depth
    max_bytes = settings.max_request_bytes

    @app.before_request
    def _check_request():
        targets = request.args.getlist("next")
        if request.method == "POST" and request.mimetype in _FORM_TYPES:
            targets += request.form.getlist("next")
        if not all(safe_next(t) for t in targets):
            return _refuse(400, "bad_request",
                           "next must be a path on this site, such as /review/")
        if not request.is_json:
            return None
        if request.content_length is not None and request.content_length > max_bytes:
            return _refuse(413, "too_large", f"the request is larger than {max_bytes} bytes")
        body = request.get_data(cache=True)  # handlers read the same bytes again
        if not is_utf8_json(body):
            # RFC 8259 §8.1: JSON between systems is UTF-8. The parser would also take UTF-16
            # and UTF-32, whose bytes hide their nesting from json_depth (#13 retest N1).
            return _refuse(400, "bad_encoding", "a JSON body must be UTF-8 (RFC 8259)")
        if json_depth(body) > max_depth:
            return _refuse(400, "bad_request",
                           f"the JSON is nested deeper than {max_depth} levels")
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            return None  # not JSON: the handler's own parsing reports it
        where = lone_surrogate(value)
        if where is not None:
            return _refuse(400, "lone_surrogate",
                           f"{where} holds a lone surrogate (a \\u escape such as \\ud800 "
                           "without its pair), which is not a Unicode character")
        return None

    def _storage_full(exc: Exception):
        """A write that failed because the data disk is full (ENOSPC, EDQUOT, SQLite's
        "database or disk is full"), in any view: 503 ``storage_full`` (JSON for the APIs,
        HTML for the pages) and one WARNING, never a 500 with a traceback (#13 retest N12: a
        console login's audit entry). Any other error goes on to Flask's 500."""
        if not is_disk_full(exc):
            raise exc
        # The endpoint, not the path: a witness page's path holds the investor's link.
        log.warning("%s refused (503 storage_full): the data disk is full",
                    request.endpoint or "a request")
        message = "the data disk is full; try again later"
        if request.is_json or request.path.startswith(("/api/", "/review/api/")):
            return jsonify({"error": "storage_full", "message": message}), 503
        return ServiceUnavailable(description=message).get_response()

    app.register_error_handler(OperationalError, _storage_full)
    app.register_error_handler(OSError, _storage_full)

    @app.after_request
    def _security_headers(resp):
        host = request.host if _HOST.fullmatch(request.host or "") else ""
        # Safari before 15.4 does not count ws(s): as 'self': name the socket's origin too.
        ws = f" ws://{host} wss://{host}" if host else ""
        resp.headers.setdefault("Content-Security-Policy", CSP.format(ws=ws))
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        return resp
