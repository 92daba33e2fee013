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
