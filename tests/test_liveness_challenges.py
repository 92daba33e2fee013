"""Pure challenge detectors on synthetic signal sequences (no mediapipe)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kiosk.liveness.challenges import Baseline, ChallengeParams, ChallengeTracker, run_challenges
from kiosk.liveness.signals import FrameSignals, pose_from_matrix

FPS = 15


def bump(t, start, length=1.0):
    """0 -> 1 -> 0 raised cosine of ``length`` seconds from ``start``."""
    u = (t - start) / length
    return 0.5 - 0.5 * math.cos(2 * math.pi * u) if 0 < u < 1 else 0.0


def sequence(duration, faces=1, **channels):
    """Frames at 15 fps; each channel is a function of t added to a neutral face."""
    base = dict(
        blink_l=0.04, blink_r=0.04, jaw_open=0.02, yaw=1.0, pitch=8.0, roll=0.0, mouth_gap=0.05
    )
    out = []
    for i in range(int(duration * FPS)):
        t = i / FPS
        vals = dict(base)
        for name, fn in channels.items():
            if name == "blink":
                vals["blink_l"] += fn(t)
                vals["blink_r"] += fn(t)
            else:
                vals[name] += fn(t)
        f = faces(t) if callable(faces) else faces
        out.append(FrameSignals(t=t, faces=f, box=(100, 100, 300, 300) if f else None, **vals))
    return out


def run(kind, sigs, timeout=6.0):
    tr = ChallengeTracker(kind, timeout, 0.0)
    for s in sigs:
        v = tr.feed(s)
        if v:
            return v
    return tr.finish(sigs[-1].t)


def blink_profile(t):
    # Closed (~0.55 over open) for 5 frames at 15 fps starting at 1.2 s.
    return 0.55 if 1.2 <= t < 1.2 + 5 / FPS else 0.0


def test_blink_passes_on_close_then_open():
    v = run("blink", sequence(3.0, blink=blink_profile))
    assert v.passed, v.reason
    assert 1.19 <= v.t_start <= 1.21
    assert v.t_end == pytest.approx(1.2 + 5 / FPS, abs=0.01)
    assert v.score == pytest.approx(0.55 / 0.2, rel=0.01)


def test_blink_with_glasses_capped_at_03_still_passes():
    v = run("blink", sequence(3.0, blink=lambda t: 0.28 if 1.2 <= t < 1.5 else 0.0))
    assert v.passed, v.reason


def test_eyes_shut_too_long_is_not_a_blink():
    v = run("blink", sequence(4.0, blink=lambda t: 0.55 if 1.0 <= t < 2.5 else 0.0))
    assert not v.passed
    assert "no blink" in v.reason


def test_half_closed_eyes_do_not_pass_blink():
    v = run("blink", sequence(3.0, blink=lambda t: 0.15 if 1.0 <= t < 1.4 else 0.0))
    assert not v.passed


@pytest.mark.parametrize("kind, sign", [("turn_left", 1), ("turn_right", -1)])
def test_turn_passes_in_its_direction_only(kind, sign):
    # turn_left is the investor's own left: yaw increases (nose to image right, raw camera).
    toward = sequence(3.0, yaw=lambda t: sign * 18 * bump(t, 1.0, 1.2))
    away = sequence(3.0, yaw=lambda t: -sign * 18 * bump(t, 1.0, 1.2))
    v = run(kind, toward)
    assert v.passed, v.reason
    assert v.t_peak == pytest.approx(1.6, abs=0.07)
    assert not run(kind, away).passed


def test_turn_must_return_to_pass():
    sigs = sequence(3.0, yaw=lambda t: 18 * min(1.0, max(0.0, t - 1.0)))  # turns and stays
    v = run("turn_left", sigs)
    assert not v.passed
    assert "did not return" in v.reason


def test_small_turn_fails_and_hints_turn_more():
    tr = ChallengeTracker("turn_left", 6.0, 0.0)
    hints = set()
    for s in sequence(3.0, yaw=lambda t: 7 * bump(t, 1.0, 1.2)):
        assert tr.feed(s) is None
        hints.add(tr.hint())
    assert "turn a little more" in hints
    v = tr.finish(3.0)
    assert not v.passed
    assert "58%" in v.reason  # 7 of the 12 degrees needed


def test_flat_photo_swing_of_2_degrees_does_not_pass_turn():
    assert not run("turn_left", sequence(3.0, yaw=lambda t: 2.0 * bump(t, 1.0, 1.2))).passed


def test_nod_passes_on_chin_down_and_back():
    v = run("nod", sequence(3.0, pitch=lambda t: 15 * bump(t, 1.0, 1.2)))
    assert v.passed, v.reason


def test_nod_does_not_fire_on_mouth_opening():
    # Opening the mouth shifts the measured pitch by ~9 deg and more with a big jaw movement.
    sigs = sequence(
        3.0,
        pitch=lambda t: 12 * bump(t, 1.0, 1.2),
        jaw_open=lambda t: 0.5 * bump(t, 1.0, 1.2),
        mouth_gap=lambda t: 0.5 * bump(t, 1.0, 1.2),
    )
    assert not run("nod", sigs).passed
    assert run("open_mouth", sigs).passed


def test_chin_up_is_not_a_nod():
    assert not run("nod", sequence(3.0, pitch=lambda t: -15 * bump(t, 1.0, 1.2))).passed


def test_open_mouth_needs_parted_lips_not_just_jawopen():
    # A flat photo swung sideways lifts jawOpen to ~0.28 while the lip gap barely moves.
    fake = sequence(
        3.0,
        jaw_open=lambda t: 0.28 * bump(t, 1.0, 1.2),
        mouth_gap=lambda t: 0.03 * bump(t, 1.0, 1.2),
    )
    assert not run("open_mouth", fake).passed
    real = sequence(
        3.0, jaw_open=lambda t: 0.3 * bump(t, 1.0, 1.2), mouth_gap=lambda t: 0.5 * bump(t, 1.0, 1.2)
    )
    assert run("open_mouth", real).passed


def test_timeout_fails_with_reason():
    tr = ChallengeTracker("blink", 2.0, 0.0)
    verdicts = [tr.feed(s) for s in sequence(3.0)]
    v = next(v for v in verdicts if v)
    assert not v.passed
    assert v.reason == "timeout: no blink within 2 s"
    assert v.t_end > 2.0
    # A blink after the timeout changes nothing: the verdict is final.
    late = sequence(4.0, blink=lambda t: 0.55 if 3.2 <= t < 3.5 else 0.0)
    assert all(tr.feed(s) is v for s in late[45:])


def test_response_during_baseline_window_does_not_count_as_baseline_face():
    # The person was already turned when the challenge started: baseline = turned, so coming
    # back to centre is a turn_right, not a turn_left.
    sigs = sequence(3.0, yaw=lambda t: 18 if t < 1.0 else 18 * max(0.0, 1 - (t - 1.0) / 0.5))
    assert not run("turn_left", sigs).passed


def test_given_baseline_is_used():
    sigs = sequence(2.0, yaw=lambda t: 18 * bump(t, 0.1, 1.0))
    tr = ChallengeTracker("turn_left", 6.0, 0.0, baseline=Baseline(0.04, 0.02, 1.0, 8.0))
    assert any(tr.feed(s) for s in sigs)
    assert tr.verdict.passed


def test_no_face_hint_and_no_baseline_failure():
    tr = ChallengeTracker("nod", 6.0, 0.0)
    for s in sequence(2.0, faces=0):
        tr.feed(s)
    assert tr.hint() == "keep your face in the frame"
    v = tr.finish(2.0)
    assert not v.passed and "no neutral face" in v.reason


def test_too_dark_hint():
    tr = ChallengeTracker("blink", 6.0, 0.0)
    tr.feed(FrameSignals(t=0.0, faces=1, brightness=20.0))
    assert tr.hint() == "too dark"


def test_run_challenges_in_sequence_and_failures_hand_over():
    sigs = sequence(
        9.0,
        blink=lambda t: 0.55 if 1.0 <= t < 1.3 else 0.0,
        yaw=lambda t: 18 * bump(t, 2.5, 1.2),
    )
    vs = run_challenges(sigs, ["blink", "turn_left", "nod"], timeout=4.0)
    assert [v.kind for v in vs] == ["blink", "turn_left", "nod"]
    assert [v.passed for v in vs] == [True, True, False]
    assert vs[1].t_start > vs[0].t_end
    assert vs[2].reason.startswith("timeout")


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown challenge 'smile'"):
        ChallengeTracker("smile", 5, 0)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        ChallengeTracker("blink", 0, 0)
    with pytest.raises(ValueError, match="turn_deg must be >= 0"):
        ChallengeParams(turn_deg=-1)
    with pytest.raises(ValueError, match="faces must be >= 0"):
        FrameSignals(t=0, faces=-1)


def test_pose_from_matrix_conventions():
    def rot_y(deg):
        a = math.radians(deg)
        return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])

    def rot_x(deg):
        a = math.radians(deg)
        return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])

    yaw, pitch, roll = pose_from_matrix(rot_y(20))
    assert (round(yaw, 6), round(pitch, 6), round(roll, 6)) == (20.0, 0.0, 0.0)
    yaw, pitch, roll = pose_from_matrix(rot_x(15))  # R12 = -sin: pitch = +15 (chin down)
    assert pitch == pytest.approx(15.0)
    with pytest.raises(ValueError, match="4x4 or 3x3"):
        pose_from_matrix(np.eye(2))


def test_signals_round_trip_through_dict():
    s = FrameSignals(t=1.5, faces=2, blink_l=0.1, yaw=-3.2, box=(1, 2, 3, 4), points=((0.5, 0.25),))
    assert FrameSignals.from_dict(s.to_dict()) == s
