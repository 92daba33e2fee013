"""Frames the live face analyser dropped while an answer was said, analysed later, for the
speaking-seen check only.

The live analyser (``kiosk.liveness.observer.FaceObserver``) takes the newest frame and drops
older unanalysed ones: it must keep up with the stream. Under load it analyses 4-5 frames a
second, and a 1 s answer then has too few frames, or only open-mouth ones, to see the mouth
move (``session_checks.speaking_events``): a genuine witness goes to a human. So, while an
answer window is open (``FaceObserver.listening``: from the window's opening to its
judgement), every frame the live analyser drops is kept in a ``CatchUpBacklog``: the decoded
frame itself (a reference, no copy and no conversion on the media loop) with its media time.
Which part of the window held speech is known only after the fact (``speech_heard``), so the
whole window is kept and, when the next window opens, frames of earlier windows outside every
heard answer are let go.

The kept frames are analysed later, off the media loop: on the observer's thread while the
live analyser is idle (no frame waiting, no challenge or answer being watched), and at the
end for at most ``CATCH_UP_S``. A separate FaceLandmarker in IMAGE mode does it
(``CatchUpAnalyser``): the live one runs in VIDEO mode, which tracks from frame to frame and
needs increasing timestamps, and these frames are older than the ones it has seen. Their
signals go to ``check_session(..., late_signals=...)`` and count in the speaking-seen check
only: never in presence, second faces, identity continuity or the still-image judgement,
which were calibrated on the live analyser's frames.

Caps (memory: 90 kept frames of 640x480 are 41.5 MB; see the constants). Beyond a cap the
oldest kept frame goes first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kiosk.liveness.adapter import FaceAnalyzer
from kiosk.liveness.signals import FrameSignals
from kiosk.media.frames import RgbConverter

log = logging.getLogger(__name__)

PER_ANSWER_FRAMES = 45
"""Most frames kept for one answer window (the newest; an answer is endpointed when it has
been said, so its speech is at the window's end): 3 s of a 15 fps stream, or 4.5-6 s of the
frames a loaded analyser drops (it drops 2 in 3 at 4.6 analysed a second)."""

SESSION_FRAMES = 90
"""Most frames kept at once in a session (two answers' worth); analysed ones are let go."""

SESSION_BYTES = 42_000_000
"""Most bytes of pixels kept at once in a session (``kiosk.media.frames.frame_bytes``). A
decoded 640x480 frame is YUV 4:2:0, 640 x 480 x 1.5 = 460,800 B, so 90 of them are
41,472,000 B: the frame cap and this one meet at the kiosk's usual camera size. An RGB copy
would be 640 x 480 x 3 = 921,600 B, and only 45 would fit (45 x 921,600 = 41,472,000 B):
that is why the decoded frame is kept, not a converted copy. A larger camera frame
(1280x720: 1,382,400 B decoded) is held to 30 by this cap."""

CATCH_UP_S = 6.0
"""Most wall seconds the catch-up gets at the end of a session (``FaceObserver.finish``),
plus at most one frame's analysis (and, the first time, loading the IMAGE-mode model); what
is left then is counted, not analysed."""


@dataclass(frozen=True)
class KeptFrame:
    """One dropped frame kept: the frame (an ``av.VideoFrame`` or an RGB uint8 ndarray), its
    media time ``t`` (s), its own timestamp ``src_t`` (s, None when unknown), its size in
    bytes and the answer window it was dropped in (a count from 1)."""

    t: float
    src_t: float | None
    frame: object
    nbytes: int
    answer: int


class CatchUpBacklog:
    """The frames kept for the catch-up, bounded (see the module); safe to use from the media
    loop (``keep``) and the observer's thread at once."""

    def __init__(self, per_answer: int = PER_ANSWER_FRAMES, max_frames: int = SESSION_FRAMES,
                 max_bytes: int = SESSION_BYTES):
        """Caps: frames per answer window, frames and bytes kept at once. ValueError for a
        cap below 1."""
        for name, cap in (("per_answer", per_answer), ("max_frames", max_frames),
                          ("max_bytes", max_bytes)):
            if cap < 1:
                raise ValueError(f"CatchUpBacklog.{name} must be at least 1, got {cap}")
        self.per_answer, self.max_frames, self.max_bytes = per_answer, max_frames, max_bytes
        self._lock = threading.Lock()
        self._kept: list[KeptFrame] = []  # oldest first
        self._bytes = 0
        self._answer = 0  # the current (or last) answer window, 0 before the first
        self._open = False
        #: Frames let go to stay within a cap (not those let go as outside every answer).
        self.evicted = 0

    # ------------------------------------------------------------------ the answer windows

    def open_answer(self, heard: Sequence[tuple[float, float]] = ()) -> None:
        """An answer window opens: dropped frames are kept from now on. Frames of earlier
        windows outside every ``heard`` window (media time, s: the answers heard so far,
        ``session_checks.answer_windows``) are let go: no answer needs them."""
        with self._lock:
            self._answer += 1
            self._open = True
            self._kept = [k for k in self._kept if _inside(k.t, heard)]
            self._bytes = sum(k.nbytes for k in self._kept)

    def close_answer(self) -> None:
        """The answer window is being judged: dropped frames are no longer kept."""
        with self._lock:
            self._open = False

    @property
    def answer_open(self) -> bool:
        with self._lock:
            return self._open

    # ------------------------------------------------------------------ from the media loop

    def keep(self, frame: object, t: float, src_t: float | None, nbytes: int) -> bool:
        """Keep a frame the live analyser dropped, at media time ``t`` (s), of ``nbytes``
        bytes, if an answer window is open; then let the oldest go beyond the caps. Whether it
        was kept (False: no window open, or it alone is over the byte cap)."""
        with self._lock:
            if not self._open or nbytes > self.max_bytes:
                return False
            self._kept.append(KeptFrame(t, src_t, frame, nbytes, self._answer))
            self._bytes += nbytes
            mine = [k for k in self._kept if k.answer == self._answer]
            for k in mine[:max(0, len(mine) - self.per_answer)]:
                self._let_go(k)
            while len(self._kept) > self.max_frames or self._bytes > self.max_bytes:
                self._let_go(self._kept[0])
            return True

    def _let_go(self, k: KeptFrame) -> None:
        self._kept.remove(k)
        self._bytes -= k.nbytes
        self.evicted += 1

    # ------------------------------------------------------------------ the catch-up

    def take(self, windows: Sequence[tuple[float, float]]) -> KeptFrame | None:
        """The oldest kept frame inside one of ``windows`` (media time, s), no longer kept;
        None when there is none."""
        with self._lock:
            for k in self._kept:
                if _inside(k.t, windows):
                    self._kept.remove(k)
                    self._bytes -= k.nbytes
                    return k
            return None

    def count(self, windows: Sequence[tuple[float, float]] | None = None) -> int:
        """Frames kept (inside one of ``windows`` when given)."""
        with self._lock:
            return sum(1 for k in self._kept if windows is None or _inside(k.t, windows))

    @property
    def nbytes(self) -> int:
        """Bytes of pixels kept now."""
        with self._lock:
            return self._bytes

    def clear(self) -> None:
        """Let every kept frame go (the session ended)."""
        with self._lock:
            self._kept.clear()
            self._bytes = 0


def _inside(t: float, windows: Sequence[tuple[float, float]]) -> bool:
    return any(a <= t <= b for a, b in windows)


class CatchUpAnalyser:
    """A FaceLandmarker in IMAGE mode and its own RGB converter, for ONE thread, created on
    first use (a session without dropped answer frames never loads it)."""

    def __init__(self, model_path: Path | None = None, max_width: int = 640):
        """``model_path``: the FaceLandmarker model (None: the packaged one, as the live
        one); frames wider than ``max_width`` are scaled down as the live analyser does."""
        self.model_path = model_path
        self.max_width = max_width
        self._faces: FaceAnalyzer | None = None
        self._converter: RgbConverter | None = None

    def analyse(self, kept: KeptFrame) -> FrameSignals:
        """The signals of one kept frame, at its media time. Raises what the model or the
        conversion raise (ConfigError for a missing model)."""
        if self._faces is None or self._converter is None:
            self._faces = FaceAnalyzer(self.model_path, image_mode=True)
            self._converter = RgbConverter(self.max_width)
        rgb = self._converter.rgb(kept.frame)
        sig = self._faces.analyze(rgb, int(round(kept.t * 1000)))
        return replace(sig, t=kept.t, src_t=kept.src_t)

    def close(self) -> None:
        if self._faces is not None:
            self._faces.close()
            self._faces = None


@dataclass
class CatchUpResult:
    """What a catch-up run did: the signals of the frames analysed, and how many frames were
    left unanalysed in the windows (the time ran out) or failed to analyse."""

    signals: list[FrameSignals]
    left: int = 0
    failed: int = 0


def catch_up(backlog: CatchUpBacklog, windows: Sequence[tuple[float, float]],
             analyser: CatchUpAnalyser, seconds: float, limit: int | None = None,
             clock: Callable[[], float] = time.monotonic) -> CatchUpResult:
    """Analyse the kept frames inside ``windows`` (media time, s), oldest first, until none
    is left, ``limit`` frames were analysed (None: no limit) or ``seconds`` of ``clock``
    have passed (checked before each frame: a run ends at most one frame's analysis past
    it). A frame that fails to analyse is logged (its error's type only) and skipped."""
    deadline = clock() + seconds
    out = CatchUpResult([])
    while clock() < deadline and (limit is None or len(out.signals) + out.failed < limit):
        kept = backlog.take(windows)
        if kept is None:
            break
        try:
            out.signals.append(analyser.analyse(kept))
        except Exception as exc:  # one unreadable frame must not stop the others
            log.warning("a kept frame was not analysed: %s", type(exc).__name__)
            out.failed += 1
    out.left = backlog.count(windows)
    return out
