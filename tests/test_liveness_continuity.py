"""Identity continuity (kiosk.liveness.continuity): good samples, enrolment, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.liveness.continuity import (
    ContinuityParams,
    check_continuity,
    enrol,
    id_photo_distance,
    sample_quality,
    sharpness,
    unverified_stretches,
)
from kiosk.liveness.signals import FrameSignals

RNG = np.random.default_rng(7)
BASE = {k: RNG.normal(0, 0.1, 128) for k in ("a", "b")}


def person(who: str, spread: float = 0.03) -> np.ndarray:
    """A descriptor of person ``who``: their base plus per-sample noise (~``spread`` * 11)."""
    return BASE[who] + RNG.normal(0, spread, 128)


def samples(*runs: tuple[str, int], every: float = 1.0, spread: float = 0.03):
    out, t = [], 0.0
    for who, n in runs:
        for _ in range(n):
            out.append((t, person(who, spread)))
            t += every
    return out


def test_one_person_is_consistent_even_with_a_poor_first_sample():
    s = samples(("a", 12))
    s[0] = (0.0, person("a") + RNG.normal(0, 0.06, 128))  # blurred, still passed the gate
    r = check_continuity(s)
    assert r.changes == () and r.summary()["identity_consistent"] is True
    assert 0 not in enrol(s)[1]  # the poor sample neither seeds nor joins the template
    assert max(r.distances[1:]) < ContinuityParams().distance


def test_a_swap_is_caught_and_when():
    r = check_continuity(samples(("a", 8), ("b", 8)))
    assert len(r.changes) == 1
    t0, t1, worst = r.changes[0]
    assert (t0, t1) == (8.0, 15.0) and worst > 0.55


def test_a_swap_during_enrolment_does_not_blend_into_the_template():
    r = check_continuity(samples(("a", 2), ("b", 10)))
    assert len(r.changes) == 1 and r.changes[0][0] == 2.0
    template, members = enrol(samples(("a", 2), ("b", 10)))
    assert members == [0, 1]


@pytest.mark.parametrize("far", [1, 2])
def test_a_change_must_persist(far):
    """One or two far samples (a bad angle that passed the gate) are not a new person."""
    s = samples(("a", 8)) + [(8.0 + i, person("b")) for i in range(far)] + [
        (8.0 + far + i, person("a")) for i in range(5)]
    assert check_continuity(s).changes == ()


def test_three_far_samples_must_span_two_seconds():
    s = samples(("a", 6)) + [(6.0 + 0.5 * i, person("b")) for i in range(3)]
    assert check_continuity(s).changes == ()  # 1 s of B
    s = samples(("a", 6)) + [(6.0 + i, person("b")) for i in range(3)]
    assert len(check_continuity(s).changes) == 1  # 2 s of B


def test_id_photo_compared_with_the_template():
    s = samples(("a", 6))
    assert id_photo_distance(s, person("a")) < 0.45
    assert id_photo_distance(s, person("b")) > 0.8
    assert id_photo_distance([], person("a")) is None


def test_no_samples():
    r = check_continuity([])
    assert r.changes == () and r.summary()["identity_consistent"] is None


def frame_with_face(blur: bool = False) -> np.ndarray:
    rng = np.random.default_rng(1)
    img = np.full((480, 640, 3), 90, np.uint8)
    face = rng.integers(0, 255, (200, 160, 3), dtype=np.uint8)
    if blur:
        face = np.full_like(face, 128)
    img[100:300, 240:400] = face
    return img


@pytest.mark.parametrize("sig,blur,why", [
    (FrameSignals(0.0, 1, box=(240, 100, 400, 300)), False, None),
    (FrameSignals(0.0, 2, box=(240, 100, 400, 300)), False, "not exactly one face"),
    (FrameSignals(0.0, 0), False, "not exactly one face"),
    (FrameSignals(0.0, 1, box=(240, 100, 300, 160)), False, "face too small"),
    (FrameSignals(0.0, 1, yaw=40.0, box=(240, 100, 400, 300)), False, "face turned"),
    (FrameSignals(0.0, 1, pitch=-35.0, box=(240, 100, 400, 300)), False, "face turned"),
    (FrameSignals(0.0, 1, box=(240, 100, 400, 300)), True, "face blurred"),
])
def test_sample_quality_gate(sig, blur, why):
    assert sample_quality(sig, frame_with_face(blur)) == why


def test_sharpness_and_params():
    assert sharpness(np.zeros((4, 4))) == 0.0
    assert sharpness(np.tile([0.0, 255.0], (64, 32))) > 1000
    with pytest.raises(ValueError, match="distance must be >= 0"):
        ContinuityParams(distance=-1)
    with pytest.raises(ValueError, match="enrol_samples and min_samples must be >= 1"):
        ContinuityParams(enrol_samples=0)


# -- a change the session ended too soon to confirm (issue #12, holdout 7) ---------------------

@pytest.mark.parametrize("far,every", [(1, 1.0), (2, 1.0), (3, 0.5)])
def test_far_samples_that_end_the_session_are_reported_unconfirmed(far, every):
    """Person B for the last seconds: too few far samples, or too short, for a change."""
    s = samples(("a", 8)) + [(8.0 + every * i, person("b")) for i in range(far)]
    r = check_continuity(s)
    assert r.changes == () and r.summary()["identity_consistent"] is True
    u = r.unconfirmed
    assert u is not None and (u.t_start, u.t_end, u.samples) == (8.0, 8.0 + every * (far - 1),
                                                                 far)
    assert u.max_distance > ContinuityParams().distance
    assert r.summary()["identity_unconfirmed_from"] == 8.0


def test_far_samples_followed_by_the_enrolled_person_or_confirmed_are_not_unconfirmed():
    back = samples(("a", 8)) + [(8.0, person("b")), (9.0, person("a"))]
    assert check_continuity(back).unconfirmed is None
    confirmed = check_continuity(samples(("a", 8), ("b", 3)))
    assert len(confirmed.changes) == 1 and confirmed.unconfirmed is None
    assert check_continuity(samples(("a", 8))).summary()["identity_unconfirmed_from"] is None


# -- face time that could not be compared --------------------------------------------------------

def tried(t0: float, t1: float, why: str = "face too small", every: float = 0.2):
    """Failed samples every ``every`` s from t0 up to (not including) t1."""
    n = int(round((t1 - t0) / every))
    return [(round(t0 + every * i, 3), why) for i in range(n)]


def test_a_face_never_sampled_after_the_last_good_sample_is_unverified_to_the_end():
    good = [float(t) for t in range(11)]  # 0 .. 10 s
    out = unverified_stretches(good, tried(11.0, 16.0), start=0.0, end=16.0)
    assert len(out) == 1
    u = out[0]
    assert (u.t_start, u.t_end, u.trailing) == (10.0, 16.0, True)
    assert u.seconds == pytest.approx(6.0) and u.reasons == {"face too small": 25}


def test_a_gap_in_the_middle_ends_at_the_next_good_sample():
    good = [0.0, 1.0, 2.0, 7.5, 8.5]
    misses = tried(3.0, 5.0, "face turned") + tried(5.0, 7.4, "face blurred")
    out = unverified_stretches(good, misses, start=0.0, end=9.0)
    assert [(u.t_start, u.t_end, u.trailing) for u in out] == [(2.0, 7.5, False)]
    assert out[0].seconds == pytest.approx(5.5)
    assert out[0].reasons == {"face turned": 10, "face blurred": 12}


def test_busy_and_faceless_time_are_not_unverified_and_no_miss_no_stretch():
    good = [0.0, 1.0, 2.0, 9.0]
    misses = tried(3.0, 4.0)
    # The describer busy 4-7 s (a due sample not tried), no face 6.5-8 s: not counted, so
    # 7 s from 2 to 9 less 4 s.
    out = unverified_stretches(good, misses, 0.0, 10.0, busy=[(4.0, 7.0)],
                               absent=[(6.5, 8.0)])
    assert len(out) == 1 and out[0].seconds == pytest.approx(3.0)
    # Only busy between two good samples, nothing tried and failed: nothing unverified.
    assert unverified_stretches([0.0, 5.0], [], 0.0, 6.0, busy=[(1.0, 4.9)]) == []
    # Never a good sample: the whole session is one stretch, from its first frame.
    whole = unverified_stretches([], tried(0.0, 4.0), 0.0, 4.0)
    assert [(u.t_start, u.t_end, u.trailing) for u in whole] == [(0.0, 4.0, True)]
