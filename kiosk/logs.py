"""Structured logging: one JSON object per line, with the session id in every record.

The session id travels in a context variable (``session_context``) so that code deep in the
media or guide layers logs it without passing it around. Nothing here ever formats applicant
data: callers must not pass ID numbers or images to a logger.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys

from kiosk.utc import utc_iso

current_session: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kiosk_session", default=None
)


@contextlib.contextmanager
def session_context(session_id: str | None):
    """Tag every log record made inside the block with ``session_id``."""
    token = current_session.set(session_id)
    try:
        yield
    finally:
        current_session.reset(token)


# What must never reach a log even when a caller slips: investor link tokens (a path such as
# "Exception on /w/<token> [GET]", written by Flask itself) and ID-card numbers (18 characters).
_REDACTIONS = (
    (re.compile(r"/w/[A-Za-z0-9_-]{8,}"), "/w/<token>"),
    (re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])"), "<id-number>"),
)


def redact(text: str) -> str:
    """``text`` with investor tokens in /w/ paths and ID-card numbers masked."""
    for pattern, mask in _REDACTIONS:
        text = pattern.sub(mask, text)
    return text


class RedactFilter(logging.Filter):
    """Masks tokens and ID numbers in the message and traceback of every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the formatter to report
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class SessionFilter(logging.Filter):
    """Sets ``record.session`` to the session of ``session_context`` (``-`` outside one),
    unless the caller passed ``extra={"session": ...}``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "session", None):
            record.session = current_session.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line: ts, level, logger, session, msg and extras."""

    _std = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "session"}

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": utc_iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "session": getattr(record, "session", "-"),
            "msg": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in self._std and not k.startswith("_"):
                out[k] = v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:  # as the RedactFilter left it
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    """Install the kiosk handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_kiosk", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._kiosk = True  # type: ignore[attr-defined]  # ours, found on the next call
    handler.addFilter(SessionFilter())
    handler.addFilter(RedactFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(session)s] %(message)s")
        )
    root.addHandler(handler)
    root.setLevel(level.upper())
    # aiortc/aioice are chatty at INFO about every ICE pair.
    for noisy in ("aioice", "aiortc", "engineio", "socketio", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
