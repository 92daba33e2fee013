"""At start-up: end and seal what a crash (kill -9, power loss) left behind."""

from __future__ import annotations

import json
import logging

from kiosk.logs import session_context
from kiosk.timeline import MediaClock, TimelineWriter, read_timeline, wall_clock

log = logging.getLogger(__name__)


class _RecordAt:
    """A ``recorder_of`` for finalise_session_recording: appends every event at time ``t``."""

    def __init__(self, timeline: TimelineWriter, t: float) -> None:
        self.timeline = timeline
        self.t = t

    def record(self, type_: str, data: dict | None = None) -> dict | None:
        return self.timeline.append(type_, data, t=self.t)


def recover_interrupted(services) -> list[str]:
    """Finalise every session that was live when the server died; returns their ids.

    The partial recording is remuxed into a playable file (everything up to the last flushed
    cluster, about 1-2 s before the kill), the timeline gets an ``aborted`` event with reason
    ``server_restart``, and the session is sealed as recovered.
    """
    from kiosk.atomic_files import write_json_atomic
    from kiosk.web.controller import finalise_session_recording

    recovered = []
    for row in services.store.interrupted():
        with session_context(row.id):
            folder = services.store.session_dir(row.id)
            folder.mkdir(parents=True, exist_ok=True)
            events = read_timeline(folder / "timeline.jsonl")
            last_t = max(
                (e["t"] for e in events if isinstance(e.get("t"), (int, float))), default=0.0
            )
            # The old media clock died with the process: stamp recovery at the last known time.
            timeline = TimelineWriter(folder / "timeline.jsonl", MediaClock())
            timeline.append("aborted", {"reason": "server_restart", "recovered": True}, t=last_t)
            info = finalise_session_recording(folder, _RecordAt(timeline, last_t))
            timeline.close()
            meta_path = folder / "session.json"
            meta = (json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists()
                    else {"id": row.id})
            meta.update(state="aborted", end_reason="server_restart", recovered=True,
                        ended_at=wall_clock())
            write_json_atomic(meta_path, meta)
            services.store.end(row.id, "aborted", "server_restart", recovered=True,
                               recording_frames=info.get("video_frames") if info else None)
            log.warning("recovered a session interrupted by a server stop")
            recovered.append(row.id)
    for row in services.store.unsealed():
        services.seal(row.id)
    return recovered
