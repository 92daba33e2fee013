"""Finalising a session's files: its recording and its ``session.json``.

Used by the runner at the end of a live witness and by ``kiosk.recovery`` for a session a
crash left. Neither knows about the other: what happened is reported through ``record``
(a timeline writer's ``append``, bound to the caller's clock).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kiosk.atomic_files import write_json_atomic
from kiosk.errors import MediaError
from kiosk.media.keyframes import extract_step_keyframes
from kiosk.media.recorder import finalise_recording
from kiosk.protocol import TimelineEvent
from kiosk.store import masked_applicant
from kiosk.timeline import read_timeline
from kiosk.utc import utc_iso

log = logging.getLogger(__name__)

# ``record(type, data)``: how finalising reports to the timeline (None: not recorded).
Record = Callable[[str, dict], Any]


def finalise_session_recording(session_dir: Path, record: Record | None = None,
                               received: dict | None = None) -> dict | None:
    """Remux ``recording.mkv`` into the seekable ``recording.webm`` and record the result.

    ``received``: what the live recorder counted while receiving (packets missing, keyframe
    requests ...), recorded as ``received`` with the outcome; None when there was no live
    recorder (recovery).

    Returns the recording's summary (frame counts, duration, ...: numbers and strings only),
    or None when there was no recording or it could not be remuxed (``recording_missing`` is
    recorded with the reason). Key frames of every step are extracted into ``keyframes/``;
    their failure is recorded (``keyframes_missing``), never raised.
    """
    note: Record = record if record is not None else (lambda *_a: None)
    counts = {"received": received} if received else {}
    live = session_dir / "recording.mkv"
    out = session_dir / "recording.webm"
    if not live.exists():
        note(TimelineEvent.RECORDING_MISSING, {"reason": "no media was received", **counts})
        return None
    t0 = time.monotonic()
    try:
        info = finalise_recording(live, out)
    except MediaError as exc:
        note(TimelineEvent.RECORDING_MISSING, {"reason": str(exc)[:300], **counts})
        return None
    info = {k: v for k, v in info.items() if isinstance(v, (int, float, str, bool, type(None)))}
    note(TimelineEvent.RECORDING_FINALISED,
         {"file": out.name, "finalise_ms": round((time.monotonic() - t0) * 1000), **info,
          **counts})
    live.unlink(missing_ok=True)
    try:
        frames = extract_step_keyframes(out, read_timeline(session_dir / "timeline.jsonl"),
                                        session_dir / "keyframes")
        note(TimelineEvent.KEYFRAMES_EXTRACTED, {"files": [p.name for p in frames]})
    except Exception as exc:  # key frames help the reviewer; their absence must not lose it
        log.exception("extracting key frames failed")
        note(TimelineEvent.KEYFRAMES_MISSING, {"reason": f"{type(exc).__name__}: {exc}"[:200]})
    return info


def session_meta(row, flow, plan: Iterable, id_mask: str) -> dict:
    """``session.json`` of a live session: id, flow, locale, masked applicant, plan; state
    ``active`` (``write_session_meta`` adds the end)."""
    return {
        "id": row.id,
        "flow": {"id": flow.id, "version": flow.version, "content_hash": flow.content_hash},
        "locale": row.locale,
        "applicant": masked_applicant(row.applicant, id_mask),
        "created_at": utc_iso(row.created_at, "auto"),
        "retention_years": flow.retention_years,
        "priority": flow.priority,
        "plan": [asdict(s) for s in plan],
        "state": "active",
        "recovered": False,
        "written_at": utc_iso(),
    }


def write_session_meta(session_dir: Path, meta: dict, **extra) -> None:
    """Write ``session.json`` (atomically) from ``meta`` updated with ``extra``; a ``state``
    among them is an end, stamped ``ended_at``. Raises OSError (e.g. a full disk)."""
    meta = {**meta, **extra}
    if "state" in extra:
        meta["ended_at"] = utc_iso()
    write_json_atomic(session_dir / "session.json", meta)
