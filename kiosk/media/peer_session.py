"""What a witness hands its media peer with the offer: ``PeerSession``.

Apart from the peer (``kiosk.media.peer``, which loads aiortc): the runner and its ports name
it, and a runner with a peer of its own (a test's) loads no WebRTC stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.timeline import MediaClock

# A video or audio frame (av.VideoFrame / av.AudioFrame) and its media time in seconds.
FrameSink = Callable[[Any, float], None]


@dataclass(frozen=True)
class PeerSession:
    """What one witness gives its peer with the offer: the session id (for the logs), its
    media clock (every frame and packet is stamped with it), where to record (None: nowhere)
    and how to report. ``first_frame``, ``lost(reason)`` and ``storage_full(exc)`` (the
    recording stopped: the data disk is full; None: the recorder says so in the log) run on
    the worker pool; ``video_frame`` / ``audio_frame`` (None: not wanted) get every decoded
    frame on the loop itself and must only hand it over."""

    session_id: str
    clock: MediaClock
    recording_path: Path | None
    first_frame: Callable[[], None]
    lost: Callable[[str], None]
    video_frame: FrameSink | None = None
    audio_frame: FrameSink | None = None
    storage_full: Callable[[OSError], None] | None = None
