"""The catch-up of frames the live face analyser dropped while an answer was said
(kiosk.liveness.catch_up): what is kept and its caps, the real IMAGE-mode landmarker on the
rig's talking and still faces (kiosk.testing.faces), and a bounded end.

The observer tests force drops deterministically: two frames are submitted while the test
holds the observer's condition, so the worker can only take the second and the first is
dropped, as the live analyser drops frames it cannot keep up with.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from kiosk.liveness.catch_up import (
    PER_ANSWER_FRAMES,
    SESSION_BYTES,
    SESSION_FRAMES,
    CatchUpAnalyser,
    CatchUpBacklog,
    catch_up,
)
from kiosk.liveness.session_checks import (
    SpokenAnswer,
    answer_windows,
    check_session,
    speaking_events,
)
from kiosk.liveness.signals import FrameSignals
from kiosk.media.frames import frame_bytes
from kiosk.protocol import CheckEvent

TINY = np.zeros((2, 2, 3), np.uint8)


def test_dropped_frames_are_kept_only_while_an_answer_window_is_open():
    b = CatchUpBacklog()
    assert not b.keep(TINY, 0.1, None, TINY.nbytes)
    b.open_answer()
    assert b.keep(TINY, 0.2, None, TINY.nbytes)
    b.close_answer()
    assert not b.keep(TINY, 0.3, None, TINY.nbytes)
    assert b.count() == 1 and b.nbytes == TINY.nbytes
    kept = b.take([(0.0, 1.0)])
    assert kept is not None and kept.t == 0.2 and kept.answer == 1
    assert b.count() == 0 and b.nbytes == 0


def test_one_answer_keeps_its_newest_45_frames():
    b = CatchUpBacklog()
    b.open_answer()
    for i in range(60):
        b.keep(TINY, i / 15, None, TINY.nbytes)
    assert PER_ANSWER_FRAMES == 45 and b.count() == 45 and b.evicted == 15
    assert b.take([(0.0, 100.0)]).t == pytest.approx(15 / 15)  # the oldest 15 went first


def test_a_session_keeps_at_most_90_frames_the_oldest_let_go():
    b = CatchUpBacklog()
    for answer in range(3):
        b.open_answer(heard=[(0.0, 1000.0)])  # every earlier frame is in a heard answer
        for i in range(45):
            b.keep(TINY, answer * 10 + i / 15, None, TINY.nbytes)
        b.close_answer()
    assert SESSION_FRAMES == 90 and b.count() == 90 and b.evicted == 45
    assert b.count([(0.0, 9.0)]) == 0  # the first answer's frames went


def test_a_session_keeps_at_most_about_42_mb():
    """640x480 RGB is 921,600 B a frame: 45 fit (41,472,000 B), the 46th lets the oldest go."""
    rgb = np.zeros((480, 640, 3), np.uint8)
    assert frame_bytes(rgb) == 921_600
    b = CatchUpBacklog(per_answer=1000, max_frames=1000)
    b.open_answer()
    for i in range(50):
        b.keep(rgb, i / 15, None, frame_bytes(rgb))
    assert b.count() == 45 and b.nbytes == 41_472_000 <= SESSION_BYTES and b.evicted == 5


def test_a_decoded_640x480_frame_counts_as_its_yuv_planes():
    av = pytest.importorskip("av")
    frame = av.VideoFrame(640, 480, "yuv420p")
    assert frame_bytes(frame) == 460_800  # 90 of them: 41,472,000 B
    assert SESSION_FRAMES * 460_800 <= SESSION_BYTES


def test_the_next_window_lets_go_of_earlier_frames_no_answer_was_heard_in():
    b = CatchUpBacklog()
    b.open_answer()
    for i in range(10):
        b.keep(TINY, 1.0 + i / 10, None, TINY.nbytes)
    b.close_answer()
    b.open_answer(heard=[(1.25, 1.55)])
    assert b.count() == 3 and b.evicted == 0  # 1.3, 1.4, 1.5: in the heard answer


def test_caps_below_one_are_refused():
    with pytest.raises(ValueError, match="CatchUpBacklog.max_bytes must be at least 1, got 0"):
        CatchUpBacklog(max_bytes=0)


def test_late_frames_count_only_for_speaking_seen():
    """A late frame with no face or two faces changes no other check."""
    live = [FrameSignals(t=i / 5, faces=1, mouth_gap=0.2, points=((0.5, 0.5),))
            for i in range(20)]
    late = [FrameSignals(t=1.0 + i / 15, faces=0) for i in range(30)]
    late += [FrameSignals(t=3.0 + i / 15, faces=2) for i in range(30)]
    base = check_session(live).summary
    with_late = check_session(live, late_signals=late).summary
    for key in ("frames", "face_lost_s", "multiple_faces_s", "faces_max", "face_present_ratio"):
        assert with_late[key] == base[key], key


def test_late_frames_in_the_answer_make_a_still_looking_answer_seen_spoken():
    open_mouth = [FrameSignals(t=1.0 + i / 5, faces=1, mouth_gap=0.2, points=((0.5, 0.5),))
                  for i in range(6)]
    closed = [FrameSignals(t=1.1 + i / 5, faces=1, mouth_gap=0.01, points=((0.5, 0.5),))
              for i in range(6)]
    answer = [SpokenAnswer("consent", ((1.0, 2.0),))]
    (e,) = speaking_events(open_mouth, answer)
    assert e.type == CheckEvent.ANSWER_NOT_SEEN_SPOKEN
    assert speaking_events(open_mouth, answer, late=closed) == []


# -- real MediaPipe on the rig's face -------------------------------------------------------

SIZE = (320, 240)
OPEN_JAW = 16.0  # degrees: an open mouth held still (the live frames of the answer)


@pytest.fixture(scope="module")
def rig():
    from kiosk.testing.faces import face_rig

    return face_rig("astronaut", SIZE)


@pytest.fixture(scope="module")
def faces(rig):
    """The rig's frames: the mouth held open, and closed."""
    return {"open": rig.render(jaw=OPEN_JAW), "closed": rig.render(jaw=0.0)}


def _observer(tmp_path: Path, catch_up_s: float, backlog: CatchUpBacklog | None = None):
    from kiosk.liveness.observer import FaceObserver, FaceReports

    noop = lambda *a: None  # noqa: E731  # the reports are not what is tested here
    return FaceObserver("0123456789abcdef", tmp_path, lambda: 0.0,
                        FaceReports(sample=noop, hint=noop, challenge_due=noop,
                                    challenge_judged=noop, all_judged=noop,
                                    unavailable=noop, id_photo_unusable=noop, report=noop),
                        catch_up_s=catch_up_s, backlog=backlog)


def _wait_analysed(observer) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with observer._cond:
            if observer._pending is None:
                return
        time.sleep(0.005)
    raise AssertionError("the observer did not take its frame")


def _play(observer, faces, dropped: str) -> None:
    """3 s at 15 fps. Outside the answer window (0.5-2.5 s) every frame is analysed, the
    mouth closed. In it, frames go in pairs: the first (``dropped``: "open" or "closed") is
    dropped, the second (the mouth held open) analysed, as a loaded analyser that sees only
    an open mouth."""
    av = pytest.importorskip("av")

    def frame(name: str):
        return av.VideoFrame.from_ndarray(faces[name], format="rgb24")

    i = 0
    while i < 45:
        t = i / 15
        if 0.5 <= t < 2.5:
            if not observer.backlog.answer_open:
                observer.listening(True)
            with observer._cond:  # the worker cannot take the first: it is dropped
                observer.submit(frame(dropped), t)
                observer.submit(frame("open"), (i + 1) / 15)
            i += 2
        else:
            if observer.backlog.answer_open:
                observer.listening(False)
            observer.submit(frame("closed"), t)
            i += 1
        _wait_analysed(observer)


HEARD = [[1.0, 2.0]]


def _answer_event(saved: dict) -> list[dict]:
    return [e for e in saved["events"] if e.get("step") == "consent"]


def test_live_frames_alone_do_not_see_the_mouth_move(tmp_path, faces):
    observer = _observer(tmp_path, catch_up_s=0.0)
    _play(observer, faces, dropped="closed")
    with observer._cond:  # the idle worker cannot catch up before the next window opens
        observer.speech_heard("consent", HEARD)
        observer.listening(True)  # a window still open at the end: nothing caught up idle
    report = observer.finish(timeout=300)
    perf = report["performance"]
    assert perf["frames_caught_up"] == 0 and perf["frames_catch_up_left"] >= 8
    (e,) = _answer_event(report)
    assert e["type"] == "answer_not_seen_spoken" and "caught_up" not in e


def test_dropped_frames_of_a_moving_mouth_are_caught_up_and_seen_spoken(tmp_path, faces):
    observer = _observer(tmp_path, catch_up_s=6.0)
    _play(observer, faces, dropped="closed")
    observer.speech_heard("consent", HEARD)
    report = observer.finish(timeout=300)
    saved = json.loads((tmp_path / "checks" / "liveness.json").read_text(encoding="utf-8"))
    perf = saved["performance"]
    assert perf["frames_caught_up"] >= 8 and perf["frames_catch_up_left"] == 0, perf
    assert _answer_event(saved) == [], _answer_event(saved)
    assert saved["summary"]["answers_not_seen_spoken"] == 0
    # Late frames never enter the other checks: the frame count is the live analyser's.
    assert saved["summary"]["frames"] == perf["frames_analysed"]
    assert report["performance"] == perf


def test_dropped_frames_of_a_still_mouth_stay_not_seen_spoken(tmp_path, faces):
    observer = _observer(tmp_path, catch_up_s=6.0)
    _play(observer, faces, dropped="open")
    observer.speech_heard("consent", HEARD)
    report = observer.finish(timeout=300)
    assert report["performance"]["frames_caught_up"] >= 8
    (e,) = _answer_event(report)
    assert e["type"] == "answer_not_seen_spoken" and e["caught_up"] >= 8
    assert e["score"] < e["floor"]


def test_the_idle_analyser_catches_up_before_the_end(tmp_path, faces):
    observer = _observer(tmp_path, catch_up_s=0.0)  # nothing at the end: all done while idle
    _play(observer, faces, dropped="closed")
    observer.speech_heard("consent", HEARD)
    windows = answer_windows(SpokenAnswer("consent", ((1.0, 2.0),)))
    deadline = time.monotonic() + 120
    while observer.backlog.count(windows) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert observer.backlog.count(windows) == 0
    report = observer.finish(timeout=300)
    assert report["performance"]["frames_caught_up"] >= 8
    assert _answer_event(report) == []


def test_the_catch_up_stops_when_its_time_is_up(faces):
    """A clock that moves 1 s a reading: 3 s allow 2 frames, the rest are left."""
    b = CatchUpBacklog()
    b.open_answer()
    for i in range(10):
        b.keep(faces["closed"], 1.0 + i / 15, None, frame_bytes(faces["closed"]))
    ticks = iter(range(1000))
    analyser = CatchUpAnalyser()
    try:
        result = catch_up(b, [(0.0, 5.0)], analyser, 3.0, clock=lambda: float(next(ticks)))
    finally:
        analyser.close()
    assert len(result.signals) == 2 and result.left == 8 and result.failed == 0
    assert [s.t for s in result.signals] == [1.0, pytest.approx(1 + 1 / 15)]
    assert all(s.faces == 1 and s.points for s in result.signals)


def test_the_end_is_bounded_by_catch_up_s(tmp_path, faces):
    """90 kept frames and 0.3 s at the end: finish returns well before analysing them all."""
    av = pytest.importorskip("av")
    observer = _observer(tmp_path, catch_up_s=0.3,
                         backlog=CatchUpBacklog(per_answer=SESSION_FRAMES))
    observer.listening(True)  # open: nothing caught up while idle
    with observer._cond:  # 100 frames, the first 99 dropped
        for i in range(SESSION_FRAMES + 10):
            observer.submit(av.VideoFrame.from_ndarray(faces["closed"], format="rgb24"),
                            i / 100)
    _wait_analysed(observer)
    assert observer.backlog.count() == SESSION_FRAMES and observer.backlog.evicted == 9
    observer.speech_heard("consent", [[0.0, 1.0]])
    a = time.monotonic()
    report = observer.finish(timeout=300)
    perf = report["performance"]
    assert perf["frames_catch_up_left"] > 0
    assert perf["frames_caught_up"] + perf["frames_catch_up_left"] == SESSION_FRAMES
    assert perf["frames_catch_up_evicted"] == 9
    # 0.3 s, one frame past it and loading the IMAGE-mode model once; the live analyser's
    # close (the pending identity sample) is inside this too.
    assert time.monotonic() - a < 10
