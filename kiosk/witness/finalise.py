"""Finalising a session: its recording, its ``session.json`` and the rest of its end.

``SessionEnd.write`` is the end's one sequence (``END_PARTS``, in order), used by the runner
at the end of a live witness (each part tried again while the disk is full) and by
``kiosk.recovery`` for a session a crash left (all parts at once, or none until the next
start). Neither knows about the other: what happened is reported through ``record`` (a
timeline writer's ``append``, bound to the caller's clock).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kiosk.atomic_files import is_disk_full, storage_full, write_json_atomic
from kiosk.errors import MediaError
from kiosk.media.keyframes import extract_step_keyframes
from kiosk.media.remux import finalise_recording
from kiosk.protocol import TimelineEvent
from kiosk.session import TERMINAL_EVENTS
from kiosk.store import SessionStore, masked_applicant
from kiosk.timeline import read_timeline
from kiosk.utc import utc_iso, utcnow

log = logging.getLogger(__name__)

# ``record(type, data)``: how finalising reports to the timeline (None: not recorded).
Record = Callable[[TimelineEvent, dict], Any]


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
                                        session_dir / "keyframes", session_dir / "id_card")
        note(TimelineEvent.KEYFRAMES_EXTRACTED, {"files": [p.name for p in frames]})
    except Exception as exc:  # key frames help the reviewer; their absence must not lose it
        if is_disk_full(exc):  # the session's own full-disk WARNING says it
            log.info("key frames not extracted: the data disk is full")
        else:
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


def write_session_meta(session_dir: Path, meta: dict, *, ended_at: dt.datetime | None = None,
                       **extra) -> None:
    """Write ``session.json`` (atomically) from ``meta`` updated with ``extra``; a ``state``
    among them is an end, stamped ``ended_at`` (None: now). Raises OSError (e.g. a full
    disk)."""
    meta = {**meta, **extra}
    if "state" in extra:
        meta["ended_at"] = utc_iso(ended_at)
    write_json_atomic(session_dir / "session.json", meta)


# The parts of a session's end, in the order they are written.
END_PARTS = ("terminal", "recording", "timeline", "meta", "database", "seal")
# ``run(part, write)``: how the caller runs one part (``write`` returns False when the part
# must be tried again); ``done``: the parts finished so far (the caller's set).
RunPart = Callable[[str, Callable[[], bool | None]], None]


class EndTimeline(Protocol):
    """The session's timeline as the end writes it (``kiosk.timeline.TimelineWriter``)."""

    def append(self, type_: TimelineEvent, data: dict | None = None,
               t: float | None = None) -> dict | None: ...

    def close(self) -> None: ...


@dataclass
class SessionEnd:
    """How one session ended, and what writing that end needs.

    ``terminal``: the data of the terminal timeline event when it is not on the timeline yet
    (written at media time ``t``), else None. ``record`` notes the recording's outcome on the
    timeline; ``received`` is what the live recorder counted (None: none ran).
    ``record_failures``: how many writes ``record`` has failed on a full disk so far, for a
    ``record`` that does not raise (the runner's); the recording is then finalised again
    while its live file is left. ``meta`` is ``session.json`` before the end; ``recovered``
    marks an end written by ``kiosk.recovery``. ``seal`` seals the package and says whether
    the seal part is done (False: try again). ``recording_frames`` is filled in by the
    recording part, for the database row.
    """

    session_id: str
    session_dir: Path
    state: str  # finished | aborted | failed
    reason: str
    timeline: EndTimeline
    t: float | None
    terminal: dict | None
    record: Record
    received: dict | None
    meta: dict
    store: SessionStore
    seal: Callable[[], bool]
    recovered: bool = False
    record_failures: Callable[[], int] | None = None
    recording_frames: int | None = None
    # When the session ended (naive UTC): the row and session.json say this, not when a write
    # delayed by a full disk finally succeeded (#13 t13c row 6).
    ended_at: dt.datetime = field(default_factory=utcnow)

    def write(self, run: RunPart, done: Collection[str]) -> None:
        """Write each part through ``run``, in ``END_PARTS`` order: the terminal event, the
        recording, closing the timeline (once both are done), ``session.json``, the database
        row, the seal (once the row and the timeline are done)."""
        run("terminal", self._terminal)
        run("recording", self._recording)
        if {"terminal", "recording"} <= set(done):
            run("timeline", self._close_timeline)
        run("meta", self._meta)
        run("database", self._database)
        if {"database", "timeline"} <= set(done):
            run("seal", self.seal)

    def _terminal(self) -> None:
        if self.terminal is not None:
            self.timeline.append(TERMINAL_EVENTS[self.state], self.terminal, t=self.t)
            self.terminal = None

    def _recording(self) -> None:
        failures = self.record_failures() if self.record_failures is not None else 0
        info = finalise_session_recording(self.session_dir, self.record, self.received)
        self.recording_frames = info.get("video_frames") if info else None
        # Again only if the live file is still there and its events could not be written.
        live = self.session_dir / "recording.mkv"
        if (self.record_failures is not None and self.record_failures() > failures
                and live.exists()):
            raise storage_full(live)

    def _close_timeline(self) -> None:
        self.timeline.close()

    def _meta(self) -> None:
        extra = {"recovered": True} if self.recovered else {}
        write_session_meta(self.session_dir, self.meta, state=self.state,
                           end_reason=self.reason, ended_at=self.ended_at, **extra)

    def _database(self) -> None:
        extra = {"recovered": True} if self.recovered else {}
        self.store.end(self.session_id, self.state, self.reason, ended_at=self.ended_at,
                       recording_frames=self.recording_frames, **extra)
        log.info("session ended: %s (%s)", self.state, self.reason)
