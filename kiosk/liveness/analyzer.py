"""Runs the adapter (and identity sampling) over frames: ``FrameAnalysis`` one frame at a time,
``analyze_frames`` / ``analyze_video`` over a whole file.

Live frames are fed by ``kiosk.liveness.observer.FaceObserver``, which takes only the LATEST
frame: aiortc queues every decoded frame without bound, so analysis must drop stale frames
rather than fall behind.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kiosk.liveness.adapter import FaceAnalyzer
from kiosk.liveness.challenges import ChallengeParams, run_challenges
from kiosk.liveness.continuity import ContinuityParams, sample_quality
from kiosk.liveness.identity import FaceDescriber
from kiosk.liveness.session_checks import (
    SessionCheckParams,
    SessionReport,
    SpokenAnswer,
    check_session,
)
from kiosk.liveness.signals import FrameSignals

log = logging.getLogger(__name__)


@dataclass
class Analysis:
    """Signals of every analysed frame, sampled descriptors, and what it cost."""

    signals: list[FrameSignals] = field(default_factory=list)
    descriptors: list[tuple[float, np.ndarray]] = field(default_factory=list)
    landmark_s: float = 0.0  # wall time inside the landmarker
    descriptor_s: float = 0.0  # wall time computing descriptors
    cpu_s: float = 0.0  # process CPU time over the run (all threads)
    wall_s: float = 0.0
    dropped: int = 0  # frames skipped by the live observer's latest-frame handoff
    # Frames considered for an identity sample but not good enough, by reason, and when.
    identity_skipped: dict[str, int] = field(default_factory=dict)
    identity_misses: list[tuple[float, str]] = field(default_factory=list)
    # Media-time spans in which a sample was due but not tried: the describer was still busy
    # with the one before (the server's worker is shared and slow under load). Nothing is
    # known about the face then, so it is not counted as face that could not be compared.
    identity_busy: list[tuple[float, float]] = field(default_factory=list)

    @property
    def ms_per_frame(self) -> float:
        return 1000.0 * self.landmark_s / len(self.signals) if self.signals else 0.0

    def report(
        self,
        challenges: Sequence[str] = (),
        timeout: float = 6.0,
        id_descriptor: np.ndarray | None = None,
        params: SessionCheckParams | None = None,
        challenge_params: ChallengeParams | None = None,
        spoken: Sequence[SpokenAnswer] = (),
    ) -> SessionReport:
        """The session checks, with ``challenges`` run one after another over the signals
        (``spoken``: the answers heard, for the speaking-seen check)."""
        verdicts = run_challenges(self.signals, challenges, timeout, params=challenge_params)
        return check_session(
            self.signals, self.descriptors, verdicts, id_descriptor, params, challenge_params,
            self.identity_misses, self.identity_busy, spoken=spoken,
        )


class FrameAnalysis:
    """Stateful per-stream analysis: one landmarker (and describer) for one thread."""

    def __init__(
        self, model_path: Path | None = None, describe: bool = True,
        descriptor_every_s: float = 1.0, describer=None,
        continuity: ContinuityParams | None = None,
    ):
        self._faces = FaceAnalyzer(model_path)
        self._describer = describer
        if describe and describer is None:
            self._describer = FaceDescriber()
        self.every = descriptor_every_s
        self.continuity = continuity or ContinuityParams()
        self._next_desc_t: float | None = None
        # A describer with ``submit`` (the server's: dlib in its worker process) describes
        # while this thread goes on with the next frames; one sample at a time is pending.
        self._pending: tuple[float, Future] | None = None
        self._busy_since: float | None = None  # a sample fell due while one was pending
        self._soon = False  # sample_soon() while a sample was pending: the next one at once
        self._last_ms = -1
        self.result = Analysis()
        self._t0_wall = time.perf_counter()
        self._t0_cpu = time.process_time()

    def feed(self, t: float, rgb: np.ndarray, src_t: float | None = None) -> FrameSignals:
        """Analyse one RGB frame (h, w, 3) uint8 that arrived at media time ``t`` (s);
        ``src_t``: its own timestamp on the sender's clock (s), None when unknown
        (``FrameSignals.src_t``)."""
        # mediapipe needs strictly increasing integer ms; a repeated stamp is nudged by 1 ms.
        t_ms = max(int(round(t * 1000)), self._last_ms + 1)
        self._last_ms = t_ms
        a = time.perf_counter()
        sig = self._faces.analyze(rgb, t_ms)
        sig = dataclasses.replace(sig, t=t, src_t=src_t)  # exact media time, not the rounded ms
        self.result.landmark_s += time.perf_counter() - a
        self.result.signals.append(sig)
        self._collect(t, block=False)
        if self._describer is not None and sig.faces > 0:
            if self._next_desc_t is None or t >= self._next_desc_t:
                if self._pending is None:
                    self._sample_identity(t, sig, rgb)
                elif self._busy_since is None:
                    self._busy_since = t
        return sig

    def sample_soon(self) -> None:
        """Take the next identity sample on the next frame with a face (unless one is still
        pending), not a second later: after an answer the person on camera must be confirmed
        before the session ends (``continuity.confirm_end``), and a witness may end 1-2 s
        after its last answer."""
        if self._pending is None:
            self._next_desc_t = None
        else:  # the pending one may show the face before the answer ended: one more after it
            self._soon = True

    def _sample_identity(self, t: float, sig: FrameSignals, rgb: np.ndarray) -> None:
        """Describe this frame if it is a good identity sample (kiosk.liveness.continuity)."""
        why = sample_quality(sig, rgb, self.continuity)
        if why is not None:
            self._described(t, None, why)
            return
        submit = getattr(self._describer, "submit", None)
        if submit is not None:
            self._pending = (t, submit(rgb, sig.box, require_detection=True))
            # The earliest the next sample can fall due (if this one fails): from then on, a
            # frame left untried while this one is pending is "busy" (see ``_collect``).
            self._next_desc_t = t + min(self.every, 0.2)
            return
        a = time.perf_counter()
        d = self._describer.descriptor(rgb, sig.box, require_detection=True)
        self.result.descriptor_s += time.perf_counter() - a
        self._described(t, d, "no frontal face for dlib")

    def _collect(self, now: float, block: bool) -> None:
        """Take the pending sample's descriptor when it is ready (``block``: wait for it);
        ``now`` is the media time of the frame at hand, which ends a busy span."""
        if self._pending is None:
            return
        t, future = self._pending
        if not block and not future.done():
            return
        self._pending = None
        try:
            d = future.result()
        except Exception as exc:  # the worker failed on this sample: skip it, go on
            log.warning("face descriptor failed: %s", type(exc).__name__)
            self._described(t, None, "descriptor failed")
        else:
            self._described(t, d, "no frontal face for dlib")
        if self._soon:
            self._soon = False
            self._next_desc_t = None
        if self._busy_since is not None:
            # Busy only from when the next sample was really due (a good sample sets it later).
            start = max(self._busy_since, self._next_desc_t or self._busy_since)
            if now > start:
                self.result.identity_busy.append((start, now))
            self._busy_since = None

    def _described(self, t: float, d: np.ndarray | None, why: str) -> None:
        """The sample at ``t``: its descriptor, or None and why there is none."""
        if d is not None:
            self.result.descriptors.append((t, d))
            # Enrol quickly: someone who sits for only the first seconds and then hands
            # over must leave enough samples to seed the template (continuity.enrol).
            enrolling = len(self.result.descriptors) < 2 * self.continuity.enrol_samples
            every = min(self.every, self.continuity.enrol_every_s) if enrolling else self.every
            self._next_desc_t = t + every
            return
        skipped = self.result.identity_skipped
        skipped[why] = skipped.get(why, 0) + 1
        self.result.identity_misses.append((t, why))
        # Try again soon, not on every frame: dlib costs ~70 ms.
        self._next_desc_t = t + min(self.every, 0.2)

    def close(self) -> Analysis:
        signals = self.result.signals
        self._collect(signals[-1].t if signals else 0.0, block=True)
        self._faces.close()
        self.result.wall_s = time.perf_counter() - self._t0_wall
        self.result.cpu_s = time.process_time() - self._t0_cpu
        return self.result


def analyze_frames(
    frames: Iterable[tuple[float, np.ndarray]],
    model_path: Path | None = None,
    describe: bool = True,
    descriptor_every_s: float = 1.0,
) -> Analysis:
    """Analyse (t seconds, RGB frame) pairs in order."""
    fa = FrameAnalysis(model_path, describe, descriptor_every_s)
    try:
        for t, rgb in frames:
            fa.feed(t, rgb)
    finally:
        result = fa.close()
    return result


def analyze_video(path: Path | str, **kwargs) -> Analysis:
    """Analyse every decoded video frame of a recording (WebM, MKV, MP4, ...)."""
    from kiosk.testing.faces import read_video  # the clip tools: only for a recording

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: recording not found")
    result = analyze_frames(read_video(path), **kwargs)
    if not result.signals:
        raise ValueError(f"{path}: no decodable video frames")
    return result
