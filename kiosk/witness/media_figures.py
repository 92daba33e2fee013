"""What a witness's media did, read from its session folder on the node that ran it.

The back office reads it as the ``media`` block of ``GET /api/sessions/<id>`` and
``kiosk loadtest`` prints it: the frames the face analysis received and analysed and how long
a frame waited for its analysis (``checks/liveness.json``, ``performance``, written by
``kiosk.liveness.observer``), and what the recording lacks (the ``recording_finalised`` or
``recording_missing`` event of ``timeline.jsonl``, counted by ``kiosk.media.recorder``).
Only counts and times: no name, ID number, token, face or speech.
"""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.protocol import TimelineEvent
from kiosk.timeline import read_timeline


def media_figures(session_dir: Path) -> dict | None:
    """The media figures of the ended witness in ``session_dir``; None when the folder holds
    neither the liveness checks nor the timeline (not on this node, or never joined).

    Shape (a figure is None when its file or field is absent)::

        {"frames_received": int,       # decoded video frames handed to the face analysis
         "frames_analysed": int,
         "analysed_fps": float,        # frames analysed a second of the witness
         "frame_analysis_ms": {"p50": float, "p95": float},  # frame arrival -> its analysis
         "recording": "finalised" | "missing",
         "video_frames": int,          # frames that decode in the finalised recording
         "video_undecodable": int,
         "packets_missing": int,       # RTP video packets the recording lacks
         "gaps": int,                  # runs of missing packets
         "frames_skipped": int}        # frames skipped waiting for a keyframe

    Never raises for a damaged file: its figures are None."""
    checks = session_dir / "checks" / "liveness.json"
    timeline = session_dir / "timeline.jsonl"
    if not checks.is_file() and not timeline.is_file():
        return None
    perf: dict = {}
    try:
        body = json.loads(checks.read_text(encoding="utf-8")) if checks.is_file() else {}
        perf = (body.get("performance") or {}) if isinstance(body, dict) else {}
    except (OSError, ValueError):
        perf = {}
    out: dict = {
        "frames_received": perf.get("frames_received"),
        "frames_analysed": perf.get("frames_analysed"),
        "analysed_fps": perf.get("analysed_fps"),
        "frame_analysis_ms": {"p50": perf.get("latency_p50_ms"),
                              "p95": perf.get("latency_p95_ms")},
        "recording": None, "video_frames": None, "video_undecodable": None,
        "packets_missing": None, "gaps": None, "frames_skipped": None,
    }
    try:
        events = read_timeline(timeline)
    except OSError:
        events = []
    for ev in events:
        if ev.get("type") not in (TimelineEvent.RECORDING_FINALISED,
                                  TimelineEvent.RECORDING_MISSING):
            continue
        data = ev.get("data")
        data = data if isinstance(data, dict) else {}
        received = data.get("received")
        received = received if isinstance(received, dict) else {}
        out.update(recording=str(ev["type"]).removeprefix("recording_"),
                   video_frames=data.get("video_frames"),
                   video_undecodable=data.get("video_undecodable"),
                   packets_missing=received.get("video_packets_missing"),
                   gaps=received.get("video_gaps"),
                   frames_skipped=received.get("skipped_video"))
    return out
