"""Runs the adapter (and identity sampling) over frames: a whole file, or live frames on a worker.

The live worker takes only the LATEST frame: aiortc queues every decoded frame without bound,
so analysis must drop stale frames rather than fall behind.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kiosk.liveness.challenges import ChallengeParams, run_challenges
from kiosk.liveness.continuity import ContinuityParams, sample_quality
from kiosk.liveness.session_checks import SessionCheckParams, SessionReport, check_session
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
    dropped: int = 0  # frames skipped by the live worker's latest-frame handoff
    # Frames considered for an identity sample but not good enough, by reason.
    identity_skipped: dict[str, int] = field(default_factory=dict)

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
    ) -> SessionReport:
        """The session checks, with ``challenges`` run one after another over the signals."""
        verdicts = run_challenges(self.signals, challenges, timeout, params=challenge_params)
        return check_session(
            self.signals, self.descriptors, verdicts, id_descriptor, params, challenge_params
        )


class FrameAnalysis:
    """Stateful per-stream analysis: one landmarker (and describer) for one thread."""

    def __init__(
        self, model_path: Path | None = None, describe: bool = True,
        descriptor_every_s: float = 1.0, describer=None,
        continuity: ContinuityParams | None = None,
    ):
        from kiosk.liveness.adapter import FaceAnalyzer

        self._faces = FaceAnalyzer(model_path)
        self._describer = describer
        if describe and describer is None:
            from kiosk.liveness.identity import FaceDescriber

            self._describer = FaceDescriber()
        self.every = descriptor_every_s
        self.continuity = continuity or ContinuityParams()
        self._next_desc_t: float | None = None
        self._last_ms = -1
        self.result = Analysis()
        self._t0_wall = time.perf_counter()
        self._t0_cpu = time.process_time()

    def feed(self, t: float, rgb: np.ndarray) -> FrameSignals:
        # mediapipe needs strictly increasing integer ms; a repeated stamp is nudged by 1 ms.
        t_ms = max(int(round(t * 1000)), self._last_ms + 1)
        self._last_ms = t_ms
        a = time.perf_counter()
        sig = self._faces.analyze(rgb, t_ms)
        sig = dataclasses.replace(sig, t=t)  # exact media time, not the rounded ms
        self.result.landmark_s += time.perf_counter() - a
        self.result.signals.append(sig)
        if self._describer is not None and sig.faces > 0:
            if self._next_desc_t is None or t >= self._next_desc_t:
                self._sample_identity(t, sig, rgb)
        return sig

    def _sample_identity(self, t: float, sig: FrameSignals, rgb: np.ndarray) -> None:
        """Describe this frame if it is a good identity sample (kiosk.liveness.continuity)."""
        why = sample_quality(sig, rgb, self.continuity)
        if why is None:
            a = time.perf_counter()
            d = self._describer.descriptor(rgb, sig.box, require_detection=True)
            self.result.descriptor_s += time.perf_counter() - a
            if d is None:
                why = "no frontal face for dlib"
            else:
                self.result.descriptors.append((t, d))
                # Enrol quickly: someone who sits for only the first seconds and then hands
                # over must leave enough samples to seed the template (continuity.enrol).
                enrolling = len(self.result.descriptors) < 2 * self.continuity.enrol_samples
                every = min(self.every, self.continuity.enrol_every_s) if enrolling else self.every
                self._next_desc_t = t + every
                return
        skipped = self.result.identity_skipped
        skipped[why] = skipped.get(why, 0) + 1
        # Try again soon, not on every frame: dlib costs ~70 ms.
        self._next_desc_t = t + min(self.every, 0.2)

    def close(self) -> Analysis:
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
    from kiosk.testing.faces import read_video

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: recording not found")
    result = analyze_frames(read_video(path), **kwargs)
    if not result.signals:
        raise ValueError(f"{path}: no decodable video frames")
    return result


class LivenessWorker:
    """A thread that analyses the latest submitted frame; older unprocessed frames are dropped."""

    def __init__(
        self,
        model_path: Path | None = None,
        describe: bool = True,
        on_signals: Callable[[FrameSignals], None] | None = None,
        name: str = "liveness",
    ):
        self._cond = threading.Condition()
        self._pending: tuple[float, np.ndarray] | None = None
        self._stopping = False
        self._on_signals = on_signals
        self._model_path, self._describe = model_path, describe
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._analysis: Analysis | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def submit(self, t: float, rgb: np.ndarray) -> None:
        """Hand over a frame; replaces (drops) any frame not yet picked up."""
        with self._cond:
            if self._pending is not None:
                self._dropped += 1
            self._pending = (t, rgb)
            self._cond.notify()

    def _run(self) -> None:
        self._dropped = 0
        try:
            fa = FrameAnalysis(self._model_path, self._describe)
        except BaseException as exc:  # surfaced to the constructor's caller
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                with self._cond:
                    while self._pending is None and not self._stopping:
                        self._cond.wait()
                    if self._pending is None:
                        break
                    t, rgb = self._pending
                    self._pending = None
                sig = fa.feed(t, rgb)
                if self._on_signals is not None:
                    try:
                        self._on_signals(sig)
                    except Exception:
                        log.exception("liveness signal callback failed")
        except Exception as exc:
            log.exception("liveness worker failed")
            self._error = exc
        finally:
            self._analysis = fa.close()
            self._analysis.dropped = self._dropped

    def stop(self, timeout: float = 10.0) -> Analysis:
        """Finish the frame in hand, stop, and return everything analysed."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"liveness worker did not stop within {timeout} s")
        if self._error is not None:
            raise self._error
        assert self._analysis is not None
        return self._analysis
