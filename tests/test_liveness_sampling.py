"""Identity sampling in the analyser: a sample the busy describer could not take is not face
time that could not be compared (kiosk.liveness.analyzer, issue #12)."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pytest

from kiosk.liveness.analyzer import FrameAnalysis
from kiosk.testing.faces import ClipSpec, clip_path, read_video


class QueuedDescriber:
    """A describer like the server's (``submit`` returns a future), answered by the test: every
    sample comes back as a miss (dlib found no frontal face) ``lag`` frames after it was sent."""

    def __init__(self, lag: int):
        self.lag = lag
        self.waiting: list[tuple[int, Future]] = []
        self.frame = 0
        self.sent = 0

    def submit(self, rgb, box=None, require_detection=False) -> Future:
        f: Future = Future()
        self.waiting.append((self.frame, f))
        self.sent += 1
        return f

    def tick(self) -> None:
        self.frame += 1
        for sent, f in list(self.waiting):
            if self.frame - sent >= self.lag:
                f.set_result(None)
                self.waiting.remove((sent, f))


class MissingDescriber:
    """The same misses, answered at once (the command-line tools' describer)."""

    def descriptor(self, rgb, box=None, require_detection=False):
        return None


def _analyse(describer) -> tuple:
    fa = FrameAnalysis(describer=describer)
    for _, (t, rgb) in zip(range(60), read_video(clip_path(ClipSpec("astronaut", "neutral",
                                                                     seconds=4.0))),
                           strict=False):
        fa.feed(t, rgb)
        if isinstance(describer, QueuedDescriber):
            describer.tick()
    if isinstance(describer, QueuedDescriber):  # the session ends: the last one comes back
        describer.lag = 0
        describer.tick()
    a = fa.close()
    return a, a.report()


def test_time_the_describer_was_busy_is_not_counted_as_unverified():
    a, r = _analyse(MissingDescriber())
    end = a.signals[-1].t
    # Tried every 0.2 s and never compared: the whole session could not be verified.
    assert a.identity_busy == [] and len(a.identity_misses) >= 18
    assert r.summary["identity_max_gap_s"] == pytest.approx(end, abs=0.01)
    assert [e.type for e in r.events if e.type.startswith("identity")] == [
        "identity_unverified"]

    slow = QueuedDescriber(lag=15)  # each answer takes 1 s at 15 fps
    a, r = _analyse(slow)
    busy = sum(b - x for x, b in a.identity_busy)
    # A sample was due 0.2 s after each miss but waited 0.8 s more for the describer.
    assert len(a.identity_misses) == slow.sent >= 3
    assert busy == pytest.approx(0.8 * len(a.identity_misses), abs=0.3)
    assert r.summary["identity_busy_s"] == pytest.approx(busy, abs=0.01)
    assert r.summary["identity_max_gap_s"] == pytest.approx(end - busy, abs=0.01)
    assert r.summary["identity_skipped"] == {"no frontal face for dlib": len(a.identity_misses)}


class SameFaceDescriber:
    """Every good sample is described as the same face, at once."""

    def descriptor(self, rgb, box=None, require_detection=False):
        return np.full(128, 0.05)


def test_an_answer_heard_brings_the_next_identity_sample_forward():
    """After an answer the person on camera must be confirmed before the witness ends
    (continuity.confirm_end, holdout 11): the next frame is sampled, not one a second on."""
    frames = list(zip(range(90), read_video(clip_path(ClipSpec("astronaut", "neutral",
                                                               seconds=6.0))), strict=False))

    def sampled_after(soon_at: float | None) -> list[float]:
        fa = FrameAnalysis(describer=SameFaceDescriber())
        for _, (t, rgb) in frames:
            if soon_at is not None and abs(t - soon_at) < 1e-6:
                fa.sample_soon()
            fa.feed(t, rgb)
        return [t for t, _ in fa.close().descriptors]

    plain = sampled_after(None)
    # Enrolment every 0.3 s for ten samples, then once a second.
    assert len(plain) >= 12 and plain[11] - plain[10] == pytest.approx(1.0, abs=0.07)
    soon_at = next(t for _, (t, _) in frames if plain[10] + 0.2 < t < plain[10] + 0.3)
    brought = sampled_after(soon_at)
    assert brought[:11] == plain[:11] and brought[11] == pytest.approx(soon_at)


def test_an_answer_heard_while_a_sample_is_pending_takes_one_more_at_once():
    """The pending sample may show the face from before the answer ended: the next one is
    taken as soon as it comes back, not a second later."""
    frames = list(zip(range(45), read_video(clip_path(ClipSpec("astronaut", "neutral",
                                                               seconds=3.0))), strict=False))

    class Lagging(QueuedDescriber):
        def tick(self) -> None:  # every sample comes back as the same face, lag frames later
            self.frame += 1
            for sent, f in list(self.waiting):
                if self.frame - sent >= self.lag:
                    f.set_result(np.full(128, 0.05))
                    self.waiting.remove((sent, f))

    def sent_at(soon: bool) -> list[int]:
        d = Lagging(lag=3)
        fa = FrameAnalysis(describer=d)
        sent = []
        for i, (_, (t, rgb)) in enumerate(frames):
            before = d.sent
            if soon and i == 1:  # the first sample (frame 0) is pending
                fa.sample_soon()
            fa.feed(t, rgb)
            if d.sent > before:
                sent.append(i)
            d.tick()
        d.lag = 0  # the session ends: the last one comes back
        d.tick()
        fa.close()
        return sent

    # Enrolling: every 0.3 s (4-5 frames at 15 fps) after a sample's frame.
    plain, soon = sent_at(False), sent_at(True)
    assert plain[:2] == [0, 5]
    assert soon[:2] == [0, 3]  # on the frame the pending one came back
