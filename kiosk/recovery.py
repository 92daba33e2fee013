"""At start-up: end and seal what a crash (kill -9, power loss) left behind."""

from __future__ import annotations

import json
import logging

from kiosk.atomic_files import is_disk_full
from kiosk.logs import session_context
from kiosk.timeline import MediaClock, TimelineWriter, read_timeline
from kiosk.witness.finalise import SessionEnd

log = logging.getLogger(__name__)


TERMINAL = ("finished", "aborted", "failed")


def recorded_end(events: list[dict], meta: dict) -> tuple[str, str, bool] | None:
    """The end a session recorded before the server stopped, if any: ``(state, reason,
    on_timeline)``. The timeline's terminal event wins over ``session.json``'s state (written
    after it); None when neither says how the session ended."""
    for ev in reversed(events):
        if ev.get("type") in TERMINAL:
            data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
            default = "completed" if ev["type"] == "finished" else "unknown"
            return ev["type"], str(data.get("reason") or default), True
    if meta.get("state") in TERMINAL and isinstance(meta.get("end_reason"), str):
        return meta["state"], meta["end_reason"], False
    return None


def recover_interrupted(services) -> list[str]:
    """Finalise every session that was live when the server died; returns their ids.

    The partial recording is remuxed into a playable file (everything up to the last flushed
    cluster, about 1-2 s before the kill) and the session is sealed as recovered. Its end is
    the one it recorded, if it had ended (e.g. ``aborted: storage_full`` when the disk filled
    and its database row could not be written); otherwise the timeline gets an ``aborted``
    event with reason ``server_restart``. A session whose files cannot be written now (the
    disk is still full) is left for the next start.
    """
    recovered = []
    for row in services.store.interrupted():
        with session_context(row.id):
            try:
                _recover(services, row)
            except Exception as exc:
                if not is_disk_full(exc):
                    raise
                log.error("recovering an interrupted session failed: the data disk is full; "
                          "it is tried again at the next start")
                continue
            recovered.append(row.id)
    for row in services.store.unsealed():
        services.seal(row.id)
    return recovered


def _recover(services, row) -> None:
    folder = services.store.session_dir(row.id)
    folder.mkdir(parents=True, exist_ok=True)
    events = read_timeline(folder / "timeline.jsonl")
    last_t = max(
        (e["t"] for e in events if isinstance(e.get("t"), (int, float))), default=0.0
    )
    meta_path = folder / "session.json"
    meta = (json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists()
            else {"id": row.id})
    ended = recorded_end(events, meta)
    if ended is None:
        state, reason, on_timeline = "aborted", "server_restart", False
    else:
        state, reason, on_timeline = ended
    # The old media clock died with the process: stamp recovery at the last known time.
    timeline = TimelineWriter(folder / "timeline.jsonl", MediaClock())
    end = SessionEnd(
        session_id=row.id, session_dir=folder, state=state, reason=reason,
        timeline=timeline, t=last_t,
        terminal=None if on_timeline else {"reason": reason, "recovered": True},
        record=lambda type_, data: timeline.append(type_, data, t=last_t),
        received=None, meta=meta, store=services.store, recovered=True,
        # Sealed with the rest of the unsealed sessions, once every one is recovered.
        seal=lambda: True)
    done: set[str] = set()

    def run(name: str, write) -> None:  # all at once: a failure leaves it for the next start
        write()
        done.add(name)

    try:
        end.write(run, done)
    finally:
        timeline.close()
    if ended is None:
        log.warning("recovered a session interrupted by a server stop")
    else:
        log.warning("recovered a session that had ended (%s: %s) but was not stored as ended",
                    state, reason)
