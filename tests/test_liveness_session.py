"""Pure whole-session checks on synthetic signal and descriptor sequences."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from kiosk.liveness.challenges import Verdict
from kiosk.liveness.session_checks import (
    SecondFace,
    SessionCheckParams,
    SpokenAnswer,
    assess,
    check_session,
    identity_events,
    runs,
    second_face_motion,
    track_faces,
)
from kiosk.liveness.signals import FrameSignals, OtherFace

FPS = 15


def live(duration, faces=lambda t: 1, brightness=lambda t: 120.0, sway=1.5):
    """A live-looking face: sway in pose and landmark positions, at the landmark speed measured
    on real talking people (0.02-0.09 frame widths a second; docs/evaluation.md)."""
    out = []
    for i in range(int(duration * FPS)):
        t = i / FPS
        f = faces(t)
        dx = 0.008 * math.sin(2 * math.pi * 0.9 * t)
        out.append(
            FrameSignals(
                t=t,
                faces=f,
                yaw=sway * math.sin(2 * math.pi * 0.3 * t) if f else 0.0,
                pitch=8 + 0.7 * sway * math.sin(2 * math.pi * 0.23 * t) if f else 0.0,
                brightness=brightness(t),
                box=(100, 100, 300, 300) if f else None,
                points=((0.5 + dx, 0.5), (0.4 + dx, 0.4), (0.6 + dx, 0.4)) if f else (),
            )
        )
    return out


def desc(seed, jitter=0.0, k=0):
    base = np.random.default_rng(seed).normal(0, 0.1, 128)
    return base + np.random.default_rng(1000 + k).normal(0, jitter, 128)


def types(report):
    return [e.type for e in report.events]


def test_clean_live_session_holds():
    sigs = live(10)
    ds = [(float(t), desc(1, 0.01, t)) for t in range(10)]
    r = check_session(sigs, ds)
    assert r.events == []
    assert r.summary["face_present_ratio"] == 1.0
    assert r.summary["identity_consistent"] is True
    assert r.summary["still_image_suspected"] is False
    assert assess(r) == (True, [])


def test_face_lost_is_reported_with_its_moment():
    sigs = live(10, faces=lambda t: 0 if 4.0 <= t < 6.0 else 1)
    r = check_session(sigs)
    lost = [e for e in r.events if e.type == "face_lost"]
    assert len(lost) == 1
    assert lost[0].t_start == pytest.approx(4.0, abs=0.07)
    assert lost[0].t_end == pytest.approx(6.0, abs=0.07)
    assert r.summary["face_present_ratio"] == pytest.approx(0.8, abs=0.01)
    ok, reasons = assess(r)
    assert not ok and any("face lost" in x for x in reasons)


def test_no_face_while_the_id_card_is_held_up_is_not_face_lost():
    # The card hides the face 5-12 s; the card step ran 4.5-12.5 s.
    r = check_session(live(20, faces=lambda t: 0 if 5.0 <= t < 12.0 else 1),
                      face_hidden=[(4.5, 12.5)])
    assert "face_lost" not in types(r)
    assert r.summary["face_present_ratio"] == 1.0 and r.summary["face_hidden_s"] == 8.0
    assert assess(r) == (True, [])
    # The face still missing after the card step: that part is lost.
    r = check_session(live(20, faces=lambda t: 0 if 5.0 <= t < 15.0 else 1),
                      face_hidden=[(4.5, 12.5)])
    lost = [e for e in r.events if e.type == "face_lost"]
    assert [(e.t_start, round(e.t_end, 1)) for e in lost] == [(12.5, 15.0)]
    assert not assess(r)[0]


def test_short_face_dropout_is_not_an_event():
    r = check_session(live(10, faces=lambda t: 0 if 4.0 <= t < 4.5 else 1))
    assert "face_lost" not in types(r)


def test_multiple_faces_reported_and_single_frame_ignored():
    r = check_session(live(10, faces=lambda t: 2 if 3.0 <= t < 5.0 else 1))
    multi = [e for e in r.events if e.type == "multiple_faces"]
    assert len(multi) == 1 and multi[0].score == 2.0
    assert r.summary["faces_max"] == 2
    one_frame = check_session(live(10, faces=lambda t: 2 if abs(t - 3.0) < 0.01 else 1))
    assert "multiple_faces" not in types(one_frame)


def test_too_dark_reported():
    r = check_session(live(6, brightness=lambda t: 20.0 if t > 2 else 120.0))
    assert "too_dark" in types(r)
    assert not assess(r)[0]


def test_identity_change_flagged_when_it_persists():
    ds = [(float(t), desc(1, 0.01, t)) for t in range(6)] + [
        (float(t), desc(2, 0.01, t)) for t in range(6, 11)
    ]
    events, result = identity_events(ds)
    assert len(events) == 1
    assert events[0].t_start == 6.0 and events[0].t_end == 10.0
    assert max(result.distances[:6]) < 0.55 < min(result.distances[6:])
    # One odd sample (a bad angle) is not a change.
    ds_one = ds[:6] + [(6.0, desc(2))] + [(float(t), desc(1, 0.01, t)) for t in range(7, 11)]
    assert identity_events(ds_one)[0] == []


def test_still_image_suspected_when_nothing_moves():
    sigs = live(6, sway=0.0)
    sigs = [
        FrameSignals(**{**s.__dict__, "points": ((0.5, 0.5), (0.4, 0.4), (0.6, 0.4))}) for s in sigs
    ]
    r = check_session(sigs)
    assert r.summary["still_image_suspected"] is True
    assert "still image" in " ".join(assess(r)[1])


def test_codec_noise_on_a_still_photo_is_still_a_still_photo():
    """A still frame sent through WebRTC wobbles ~0.3 degrees and 0.004 widths/s (measured)."""
    rng = np.random.default_rng(3)
    sigs = [FrameSignals(t=i / FPS, faces=1, yaw=float(rng.normal(0, 0.3)), pitch=8.0,
                         box=(100, 100, 300, 300),
                         points=tuple((x + float(rng.normal(0, 0.0002)), y)
                                      for x, y in ((0.5, 0.5), (0.4, 0.4), (0.6, 0.4))))
            for i in range(6 * FPS)]
    r = check_session(sigs)
    assert r.summary["still_image_suspected"] is True, r.summary


def test_a_second_face_glimpsed_under_a_second_is_not_a_flag():
    sigs = live(6, faces=lambda t: 2 if 2.0 <= t < 2.6 else 1)
    r = check_session(sigs)
    assert "second_face_glimpse" in types(r) and "multiple_faces" not in types(r)
    assert assess(r)[0]
    sigs = live(6, faces=lambda t: 2 if 2.0 <= t < 3.5 else 1)
    r = check_session(sigs)
    assert "multiple_faces" in types(r) and not assess(r)[0]


def test_no_challenge_response_and_failed_challenges_reported():
    vs = [
        Verdict("blink", False, "timeout", 0, None, 6, 0.05),
        Verdict("nod", False, "timeout", 6, None, 12, 0.1),
    ]
    r = check_session(live(12), verdicts=vs)
    assert r.summary["no_challenge_response"] is True
    ok, reasons = assess(r)
    assert not ok and reasons[0].startswith("challenge blink failed")


def test_passed_challenges_become_events():
    vs = [Verdict("turn_left", True, "", 1.0, 1.5, 2.0, 1.4)]
    r = check_session(live(4), verdicts=vs)
    assert r.to_dict()["events"] == [
        {"type": "turn_left", "t_start": 1.0, "t_end": 2.0, "score": 1.4}
    ]


def test_id_photo_match_and_mismatch():
    ds = [(float(t), desc(1, 0.01, t)) for t in range(5)]
    same = check_session(live(5), ds, id_descriptor=desc(1, 0.02, 99))
    assert same.summary["id_match"] is True
    other = check_session(live(5), ds, id_descriptor=desc(3))
    assert other.summary["id_match"] is False
    assert "does not match the ID photo" in " ".join(assess(other)[1])


def test_empty_recording_does_not_hold():
    r = check_session([])
    assert r.summary["frames"] == 0
    assert not assess(r)[0]


def test_runs_helper_and_param_validation():
    sigs = live(2, faces=lambda t: 0 if t >= 1.0 else 1)
    assert runs(sigs, lambda s: s.faces == 0, 0.5) == [(1.0, sigs[-1].t)]
    with pytest.raises(ValueError, match="id_match_distance must be >= 0"):
        SessionCheckParams(id_match_distance=-0.1)


# ---- a second face: a picture on the wall or a person ----------------------------------------

def corner_face(t, moving, rng, x=0.85, y=0.2, extent=0.08):
    """A small face in the top corner (its 6 motion landmarks, normalised). ``moving``: head
    sway at the slowest speed measured on real talkers pasted small (~0.025 own extents a second,
    docs/evaluation.md); still: jitter only (~0.0004 extents a second)."""
    if moving:
        x += 0.016 * extent * math.sin(2 * math.pi * 0.25 * t)
        y += 0.008 * extent * math.sin(2 * math.pi * 0.4 * t)
    shape = ((0, 0), (0, 0.5), (-0.5, -0.3), (0.5, -0.3), (-0.3, 0.25), (0.3, 0.25))
    points = tuple((x + extent * dx + float(rng.normal(0, 1e-5)),
                    y + extent * dy + float(rng.normal(0, 1e-5))) for dx, dy in shape)
    return OtherFace(box=(x - 0.6 * extent, y - 0.5 * extent, x + 0.6 * extent, y + 0.8 * extent),
                     points=points)


def with_second_face(sigs, when, moving, fps_keep=1):
    """``sigs`` with a corner face added while ``when(t)``; every ``fps_keep``-th frame kept."""
    rng = np.random.default_rng(7)
    out = []
    for i, s in enumerate(sigs):
        if i % fps_keep:
            continue
        if when(s.t):
            s = dataclasses.replace(s, faces=2, others=(corner_face(s.t, moving, rng),))
        out.append(s)
    return out


def test_a_still_second_face_is_a_picture_not_a_second_person():
    """A portrait on the wall behind the investor (issue #12): seen, shown, not flagged."""
    sigs = with_second_face(live(10), lambda t: 3.0 <= t < 4.2, moving=False)
    r = check_session(sigs)
    assert "multiple_faces" not in types(r)
    (pic,) = [e for e in r.events if e.type == "still_second_face"]
    assert pic.t_start == pytest.approx(3.0, abs=0.07) and pic.t_end == pytest.approx(4.2, abs=0.07)
    assert pic.score < SessionCheckParams().still_face_speed
    assert r.summary["multiple_faces_s"] == 0 and r.summary["still_second_face_s"] > 1.1
    assert r.summary["faces_max"] == 2
    assert assess(r) == (True, [])


def test_a_moving_second_face_is_still_a_second_person():
    sigs = with_second_face(live(10), lambda t: 3.0 <= t < 4.2, moving=True)
    r = check_session(sigs)
    (multi,) = [e for e in r.events if e.type == "multiple_faces"]
    assert multi.score == 2.0 and "still_second_face" not in types(r)
    assert r.summary["still_second_face_s"] == 0
    ok, reasons = assess(r)
    assert not ok and "more than one face for 1.2 s" in reasons


def test_a_picture_seen_whole_session_with_the_faces_listed_in_either_order():
    """The picture is the larger face in some frames: the investor is who is largest most."""
    sigs = with_second_face(live(6), lambda t: True, moving=False)
    swapped = [dataclasses.replace(s, points=s.others[0].points,
                                   others=(dataclasses.replace(s.others[0], points=s.points),))
               if 20 <= i < 30 else s for i, s in enumerate(sigs)]
    r = check_session(swapped)
    assert types(r) == ["still_second_face"] and assess(r)[0]


def test_a_second_face_that_cannot_be_followed_is_flagged_as_before():
    # Signals recorded before ``others`` existed: faces == 2, nothing to follow.
    old = live(10, faces=lambda t: 2 if 3.0 <= t < 4.2 else 1)
    assert "multiple_faces" in types(check_session(old))
    # Too few frames in the sighting to measure motion (a starved stream: 4 fps).
    sparse = with_second_face(live(10), lambda t: 3.0 <= t < 4.2, moving=False, fps_keep=4)
    assert sum(s.faces == 2 for s in sparse) < SessionCheckParams().still_face_samples
    assert "multiple_faces" in types(check_session(sparse))
    # The picture's landmarks missing in one frame of the sighting.
    sigs = with_second_face(live(10), lambda t: 3.0 <= t < 4.2, moving=False)
    i = next(i for i, s in enumerate(sigs) if s.t >= 3.5)
    sigs[i] = dataclasses.replace(sigs[i], others=())
    assert "multiple_faces" in types(check_session(sigs))


def test_a_person_stepping_in_next_to_a_picture_is_flagged():
    """Two extra faces in one sighting: the picture is still, the person is not."""
    rng = np.random.default_rng(1)
    sigs = []
    for s in live(10):
        if 3.0 <= s.t < 5.0:
            others = [corner_face(s.t, False, rng)]
            if 3.5 <= s.t < 4.8:
                others.append(corner_face(s.t, True, rng, x=0.15, y=0.3, extent=0.1))
            s = dataclasses.replace(s, faces=1 + len(others), others=tuple(others))
        sigs.append(s)
    r = check_session(sigs)
    assert "multiple_faces" in types(r) and "still_second_face" not in types(r)
    assert not assess(r)[0]


def test_second_face_motion_and_tracking():
    sigs = with_second_face(live(3), lambda t: True, moving=True)
    motion, speed = second_face_motion(sigs)
    assert motion is SecondFace.MOVING and speed > SessionCheckParams().still_face_speed
    ids, tracks = track_faces(sigs)
    assert len(tracks) == 2 and all(i == [0, 1] for i in ids)
    assert tracks[0].primary == len(sigs) and tracks[1].primary == 0
    assert second_face_motion([]) == (SecondFace.UNTRACKED, None)
    with pytest.raises(ValueError, match="still_face_speed must be >= 0"):
        SessionCheckParams(still_face_speed=-1)


def test_signals_without_others_still_load_and_others_round_trip():
    old = {"t": 1.0, "faces": 2, "blink_l": 0.1, "box": [1, 2, 3, 4], "points": [[0.5, 0.5]]}
    s = FrameSignals.from_dict(old)
    assert s.others == () and s.faces == 2
    assert "others" not in s.to_dict()  # one-face frames stay as small as before
    rng = np.random.default_rng(0)
    two = dataclasses.replace(s, others=(corner_face(1.0, False, rng),))
    d = json.loads(json.dumps(two.to_dict()))
    assert set(d["others"][0]) == {"box", "points"} and len(d["others"][0]["points"]) == 6
    back = FrameSignals.from_dict(d)
    assert back.others[0].box == pytest.approx(two.others[0].box, abs=1e-4)
    with pytest.raises(ValueError, match="OtherFace.box must have 4 numbers, got 3"):
        FrameSignals.from_dict({**d, "others": [{"box": [0, 0, 1]}]})
    with pytest.raises(ValueError, match="OtherFace.points must be finite"):
        OtherFace(box=(0, 0, 1, 1), points=((0.5, float("nan")),))


def hints_over(sigs):
    """``another_person_in_view`` frame by frame, as the live observer asks it."""
    from kiosk.liveness.observer import another_person_in_view

    return [(s.t, another_person_in_view(sigs[max(0, i - 89): i + 1]))
            for i, s in enumerate(sigs)]


def test_the_investor_is_not_asked_to_remove_a_picture_on_the_wall():
    sigs = with_second_face(live(8), lambda t: t >= 2.0, moving=False)
    assert not any(ask for _t, ask in hints_over(sigs))


def test_the_investor_is_asked_about_a_second_person_once_it_is_more_than_a_glimpse():
    from kiosk.liveness.observer import MOVING_HINT_S, UNJUDGED_HINT_S

    asked = [t for t, ask in hints_over(with_second_face(live(8), lambda t: t >= 2.0, True))
             if ask]
    # Judged moving within 0.9 s at 15 fps; asked once the sighting has lasted MOVING_HINT_S.
    assert asked and asked[0] == pytest.approx(2.0 + MOVING_HINT_S, abs=1.5 / FPS)
    assert asked[-1] == pytest.approx(8 - 1 / FPS)
    # A glimpse is not worth a hint; a face that cannot be followed gets one by 1 s.
    glimpse = hints_over(with_second_face(live(4), lambda t: 2.0 <= t < 2.25, True))
    assert not any(ask for _t, ask in glimpse)
    old = [t for t, ask in hints_over(live(5, faces=lambda t: 2 if t >= 2.0 else 1)) if ask]
    assert old and old[0] == pytest.approx(2.0 + UNJUDGED_HINT_S, abs=1.5 / FPS)


def test_a_picture_jittering_as_the_stream_starts_is_not_asked_about():
    """The encoder's first half second: a picture's landmarks drift at 0.02 own extents a
    second, then settle (measured live: 0.0091-0.0099 at 0.8 s into the sighting, under load,
    docs/evaluation.md). Judged on its first five half-second speeds alone, it was a person."""
    rng = np.random.default_rng(3)
    sigs = []
    for s in live(6):
        drift = 0.02 * 0.08 * min(s.t, 0.5)  # own extents a second x extent x seconds
        face = corner_face(s.t, False, rng, x=0.85 + drift)
        sigs.append(dataclasses.replace(s, faces=2, others=(face,)))
    early = second_face_motion([s for s in sigs if s.t <= 0.85])
    assert early[0] is SecondFace.MOVING  # what the hint judged on before MOVING_HINT_S
    assert not any(ask for _t, ask in hints_over(sigs))
    assert "multiple_faces" not in types(check_session(sigs))


def test_a_picture_seen_in_bursts_on_a_starved_server_is_not_asked_about():
    """A loaded server analyses frames in bursts: no two frames of the picture 0.5-1 s apart,
    so its motion cannot be measured (untracked). Too few frames is not a reason to ask the
    investor; the whole-session check still counts the sighting as a person for review."""
    from kiosk.liveness.observer import judge_another_person

    sigs = [s for s in with_second_face(live(8), lambda t: t >= 2.0, moving=False)
            if s.t % 1.6 < 0.4]
    assert second_face_motion([s for s in sigs if s.faces == 2])[0] is SecondFace.UNTRACKED
    assert not any(ask for _t, ask in hints_over(sigs))
    ask, why = judge_another_person(sigs)
    assert not ask and why.startswith("too few frames to judge"), why
    assert "multiple_faces" in types(check_session(sigs))


def test_a_face_barely_over_the_still_threshold_is_left_to_the_reviewer():
    """A picture through the live WebRTC path measured up to 0.0101 own extents a second over a
    6 s window (a suite run asked the investor about it). The hint asks only from 1.5 times
    the still threshold; the whole-session check still counts such a face as a person."""
    rng = np.random.default_rng(5)
    sigs = []
    for s in live(8):
        face = corner_face(s.t, False, rng, x=0.85 + 0.012 * 0.08 * s.t)  # 0.012 extents/s
        sigs.append(dataclasses.replace(s, faces=2, others=(face,)))
    motion, speed = second_face_motion(sigs)
    assert motion is SecondFace.MOVING and 0.011 < speed < 0.013
    assert not any(ask for _t, ask in hints_over(sigs))
    assert "multiple_faces" in types(check_session(sigs))


def test_challenge_hint_leaves_out_one_person_only_when_told():
    from kiosk.liveness.challenges import ChallengeTracker

    tr = ChallengeTracker("blink", 6.0, 0.0)
    for s in with_second_face(live(1), lambda t: True, moving=False):
        tr.feed(s)
    assert tr.hint() == "only one face in the frame, please"
    assert tr.hint(another_person=False) != "only one face in the frame, please"



# -- identity: a change too late to confirm, face time that could not be compared (#12) -------

def test_a_person_swapped_in_for_the_last_seconds_is_unconfirmed_not_clear():
    """Holdout 7: person B for the last ~2 s left one far sample; nothing came of it."""
    sigs = live(17)
    ds = [(float(t), desc(1, 0.01, t)) for t in range(16)] + [(16.2, desc(2))]
    r = check_session(sigs, ds)
    ev = [e for e in r.events if e.type == "identity_unconfirmed"]
    assert len(ev) == 1 and (ev[0].t_start, ev[0].t_end) == (16.2, 16.2)
    assert ev[0].score > 0.55 and ev[0].to_dict()["samples"] == 1
    assert "identity_change" not in types(r) and r.summary["identity_consistent"] is True
    ok, reasons = assess(r)
    assert not ok and any("too short to confirm" in x for x in reasons)


def test_a_face_that_cannot_be_compared_for_too_long_is_reported_with_its_reasons():
    sigs = live(20)
    # Good samples once a second up to 12 s, then the face is too small (and once turned)
    # until the end: 8 s that no sample compared.
    ds = [(float(t), desc(1, 0.01, t)) for t in range(13)]
    misses = [(round(12.2 + 0.2 * i, 3), "face too small") for i in range(36)]
    misses[5] = (misses[5][0], "face turned")
    r = check_session(sigs, ds, identity_misses=misses)
    ev = [e for e in r.events if e.type == "identity_unverified"]
    assert len(ev) == 1
    d = ev[0].to_dict()
    assert (d["t_start"], d["to_end"]) == (12.0, True)
    assert d["score"] == pytest.approx(sigs[-1].t - 12.0, abs=1e-3)
    assert d["reasons"] == {"face too small": 35, "face turned": 1}
    s = r.summary
    assert s["identity_tail_gap_s"] == s["identity_max_gap_s"] == pytest.approx(
        sigs[-1].t - 12.0, abs=1e-3)
    assert s["identity_skipped"] == {"face too small": 35, "face turned": 1}
    assert any("not comparable" in x for x in assess(r)[1])
    # The same stretch while the describer was busy (a due sample not tried) is not counted.
    busy = check_session(sigs, ds, identity_misses=misses[:2], identity_busy=[(12.6, 19.9)])
    assert "identity_unverified" not in types(busy)
    assert busy.summary["identity_busy_s"] == pytest.approx(7.3)


def test_short_gaps_and_a_clean_session_raise_nothing():
    sigs = live(12)
    ds = [(float(t), desc(1, 0.01, t)) for t in range(12)]
    r = check_session(sigs, ds, identity_misses=[(4.2, "face turned"), (4.4, "face blurred")])
    assert types(r) == [] and assess(r)[0]
    assert r.summary["identity_max_gap_s"] == pytest.approx(1.0)
    assert r.summary["identity_tail_gap_s"] == 0.0
    assert r.summary["identity_unconfirmed_from"] is None


# -- the still-image check under load (issues #13 F4 / #17) -----------------------------------
# Measured in a `kiosk loadtest --n 6` on 2 cores: the starved simulated investors sent their
# clip's 12-15 s of pictures over 22-24 s (0.54x real time), so the face moved at about half
# its speed on the server's arrival clock, under the threshold: 4 of 6 genuine witnesses were
# a suggested reject. Frames stamped with their capture time (``src_t``) fix the clock; what
# cannot be judged goes to a human.


def talker(seconds, fps=FPS, seed=5):
    """A slow genuine face: head sway plus landmark jitter, 0.016 frame widths a second frame
    to frame (the synthetic loadtest face measured 0.0125-0.0145, barely over
    ``still_speed``), stamped with its capture time (``src_t``) and arriving on time (``t``).
    The old judgement on arrival time called it still when its sender fell behind (0.0088),
    each frame came twice (0), or 1 frame a second was analysed (0.0091)."""
    rng = np.random.default_rng(seed)
    amp = 0.0056
    out = []
    for i in range(int(seconds * fps)):
        t = i / fps
        dx = amp * math.sin(2 * math.pi * 0.6 * t)
        dy = 0.5 * amp * math.sin(2 * math.pi * 0.37 * t + 1.0)
        pts = tuple((x + dx + float(rng.normal(0, 0.0002)), y + dy + float(rng.normal(0, 0.0002)))
                    for x, y in ((0.5, 0.5), (0.4, 0.4), (0.6, 0.4)))
        out.append(FrameSignals(t=t, faces=1, yaw=0.5, pitch=8.0, box=(100, 100, 300, 300),
                                points=pts, src_t=t))
    return out


def photo(seconds, fps=FPS, seed=3):
    """A still photo through the codec: 0.0002 of jitter per landmark (test above)."""
    rng = np.random.default_rng(seed)
    return [FrameSignals(t=i / fps, faces=1, yaw=float(rng.normal(0, 0.3)), pitch=8.0,
                         box=(100, 100, 300, 300), src_t=i / fps,
                         points=tuple((x + float(rng.normal(0, 0.0002)), y)
                                      for x, y in ((0.5, 0.5), (0.4, 0.4), (0.6, 0.4))))
            for i in range(int(seconds * fps))]


def slowed(sigs, rate):
    """As a sender that fell behind delivers it: each picture arrives at ``src_t / rate``."""
    return [dataclasses.replace(s, t=s.src_t / rate) for s in sigs]


def bursts(sigs, k=4, apart=0.003):
    """As a stalled media loop delivers it: k frames at once, ``apart`` seconds apart."""
    fps = round(1 / (sigs[1].src_t - sigs[0].src_t))
    return [dataclasses.replace(s, t=(i // k) * k / fps + (i % k) * apart)
            for i, s in enumerate(sigs)]


def test_the_slow_talker_helper_is_genuine_and_the_photo_still_on_time():
    assert check_session(talker(20)).summary["still_image_suspected"] is False
    assert check_session(talker(20)).summary["landmark_speed"] > 0.01
    assert check_session(photo(20)).summary["still_image_suspected"] is True


def test_a_genuine_face_from_a_sender_that_fell_behind_is_never_a_still_image():
    r = check_session(slowed(talker(13), 0.54))
    s = r.summary
    assert s["still_image_suspected"] is False
    assert s["still_image_unjudged"].startswith("sender not in real time: 12.9 s of pictures "
                                                "arrived over 24.0 s (0.54x)"), s
    assert s["still_evidence"]["clock"] == "capture"
    ok, reasons = assess(r)
    assert not ok and any(x.startswith("still image not judged: sender not in real time")
                          for x in reasons)
    assert not any("looks like a still image" in x for x in reasons)
    # A still photo sent the same way is not cleared either: a human looks.
    p = check_session(slowed(photo(13), 0.54)).summary
    assert p["still_image_suspected"] is False and p["still_image_unjudged"]


def test_a_still_photo_delivered_in_bursts_is_still_caught():
    """Arrival bursts 3 ms apart made a photo's jitter look fast (0.054/s): cleared before."""
    r = check_session(bursts(photo(12)))
    assert r.summary["still_image_suspected"] is True, r.summary["still_evidence"]
    g = check_session(bursts(talker(12))).summary
    assert g["still_image_suspected"] is False and g["still_image_unjudged"] is None


def test_the_same_frame_delivered_twice_is_skipped():
    sigs = [x for s in talker(12) for x in (s, dataclasses.replace(s, t=s.t + 0.01))]
    s = check_session(sigs).summary
    assert s["still_image_suspected"] is False and s["still_image_unjudged"] is None
    assert s["still_evidence"]["frames"] == 2 * s["still_evidence"]["distinct"]


def test_a_picture_repeated_by_the_sender_counts_once():
    """The sender repeats each picture (new capture time, same content) every other frame."""
    sigs = talker(12)
    sigs = [dataclasses.replace(s, points=sigs[i - i % 2].points) for i, s in enumerate(sigs)]
    s = check_session(sigs).summary
    assert s["still_image_suspected"] is False, s["still_evidence"]
    assert s["still_evidence"]["pictures"] == s["still_evidence"]["distinct"] // 2


@pytest.mark.parametrize("keep_every", [8, 15])  # 1.9 and 1 frames a second analysed
def test_a_starved_analysis_is_not_enough_frames_to_judge_never_still(keep_every):
    for sigs in (talker(40), photo(40)):
        r = check_session(sigs[::keep_every])
        s = r.summary
        assert s["still_image_suspected"] is False
        assert s["still_image_unjudged"].startswith("analysis starved: 0 usable frame pairs")
        assert any(x.startswith("still image not judged: analysis starved")
                   for x in assess(r)[1])


def test_a_frozen_picture_is_still_at_any_rate_but_a_short_one_is_not_judged():
    frozen = [dataclasses.replace(s, points=((0.5, 0.5), (0.4, 0.4), (0.6, 0.4)))
              for s in photo(40)]
    assert check_session(frozen[::8]).summary["still_image_suspected"] is True
    short = check_session(frozen[:10]).summary
    assert short["still_image_suspected"] is False and short["still_image_unjudged"]


def test_still_evidence_params_are_checked():
    with pytest.raises(ValueError, match="still_min_gap_s"):
        SessionCheckParams(still_min_gap_s=0.3, still_max_gap_s=0.25)
    with pytest.raises(ValueError, match="still_clock_band"):
        SessionCheckParams(still_clock_band=(1.1, 1.3))
    with pytest.raises(ValueError, match="src_t"):
        FrameSignals(t=0.0, faces=1, src_t=float("nan"))
    s = FrameSignals(t=1.5, faces=1, src_t=0.75)
    assert FrameSignals.from_dict(json.loads(json.dumps(s.to_dict()))).src_t == 0.75
    assert "src_t" not in FrameSignals(t=1.5, faces=1).to_dict()


# -- identity: the person on camera after the last answer (#12, holdout 11) -------------------
# zh-CN-late_swap-18: A answered everything (the last answer ended at 15.1 s); B sat for the
# last 2 s with a face under the 90 px gate, so no sample of B was compared, the stretch was
# under identity_unverified's 3 s, and the case was cleared.

ANSWERS = [SpokenAnswer("identity", ((6.0, 9.5),)), SpokenAnswer("consent", ((14.0, 15.1),))]


def talking(sigs):
    """The same frames with a mouth that opens and closes (the speaking-seen check)."""
    return [dataclasses.replace(s, mouth_gap=0.1 + 0.1 * math.sin(2 * math.pi * 3 * s.t))
            for s in sigs]


def late_swap_session(samples_until: float, end: float = 17.1, after=()):
    """A matched (a good sample once a second) up to ``samples_until``; from there to ``end``
    a face too small to compare (a miss every 0.2 s), plus good samples ``after`` (t, seed)."""
    sigs = talking(live(end + 1 / FPS))
    ds = [(float(t), desc(1, 0.01, t)) for t in range(int(samples_until) + 1)]
    if samples_until > int(samples_until):
        ds.append((samples_until, desc(1, 0.01, 98)))
    ds += [(t, desc(seed, 0.01, 50 + i)) for i, (t, seed) in enumerate(after)]
    first_miss = samples_until + 0.2
    misses = [(round(first_miss + 0.2 * i, 3), "face too small")
              for i in range(int((end - first_miss) / 0.2) + 1)]
    misses = [m for m in misses if not any(abs(m[0] - t) < 1e-6 for t, _ in after)]
    return sigs, sorted(ds, key=lambda x: x[0]), misses


def test_a_face_never_compared_after_the_last_answer_is_not_cleared():
    sigs, ds, misses = late_swap_session(14.9)
    r = check_session(sigs, ds, identity_misses=misses, spoken=ANSWERS)
    # The older rules see nothing: no far sample, and the stretch is under 3 s.
    assert not {"identity_change", "identity_unconfirmed", "identity_unverified"} & set(types(r))
    ev = [e for e in r.events if e.type == "identity_end_unconfirmed"]
    assert len(ev) == 1
    d = ev[0].to_dict()
    assert (d["t_start"], d["t_end"]) == (15.1, round(sigs[-1].t, 3))
    assert d["last_match"] == 14.9 and d["far_samples"] == 0
    assert d["score"] == pytest.approx(sigs[-1].t - 14.9, abs=1e-3)
    assert d["reasons"] == {"face too small": sum(1 for t, _ in misses if t >= 15.1)}
    assert r.summary["identity_end_confirmed"] is False
    ok, reasons = assess(r)
    assert not ok
    assert "the person on camera could not be confirmed after the last answer" in reasons


def test_a_far_face_after_the_last_answer_is_not_cleared_either():
    sigs, ds, misses = late_swap_session(14.0, after=[(16.0, 2)])
    r = check_session(sigs, ds, identity_misses=misses, spoken=ANSWERS)
    ev = [e for e in r.events if e.type == "identity_end_unconfirmed"]
    assert len(ev) == 1 and ev[0].to_dict()["far_samples"] == 1
    assert "identity_unconfirmed" in types(r)  # the older rule sees the far sample too


def test_the_enrolled_face_matched_after_the_last_answer_is_confirmed():
    # A matched at 16.0 s, after the answer; then 1.1 s uncompared (as a genuine face that
    # turns at the end): still confirmed, and nothing else is raised.
    sigs, ds, misses = late_swap_session(14.0, after=[(16.0, 1)])
    r = check_session(sigs, ds, identity_misses=misses, spoken=ANSWERS)
    assert types(r) == [] and assess(r)[0]
    assert r.summary["identity_end_confirmed"] is True
    assert r.summary["identity_end_tail_s"] == pytest.approx(sigs[-1].t - 16.0, abs=1e-3)


def test_a_session_ending_moments_after_the_answer_is_confirmed_by_the_last_match():
    # The witness ended 0.5 s after the answer: no sample could be taken after it, but the
    # enrolled face matched 1.1 s before the end (within end_tail_s).
    sigs, ds, misses = late_swap_session(14.5, end=15.6)
    assert [t for t, _ in ds[-2:]] == [14.0, 14.5]
    r = check_session(sigs, ds, identity_misses=misses, spoken=ANSWERS)
    assert r.summary["identity_end_confirmed"] is True and assess(r)[0]
    assert r.summary["identity_end_tail_s"] == pytest.approx(sigs[-1].t - 14.5, abs=1e-3)
    # The same ending with the last match at 14.0 s, 1.6 s before it, is not.
    r = check_session(sigs, ds[:-1], identity_misses=misses, spoken=ANSWERS)
    assert r.summary["identity_end_confirmed"] is False
    assert "identity_end_unconfirmed" in types(r)


def test_no_face_after_the_last_answer_is_left_to_face_lost():
    # The investor leaves right after the answer: no face is not an unconfirmed face (the
    # face_lost check judges it).
    sigs = talking(live(17.1 + 1 / FPS, faces=lambda t: 1 if t < 15.2 else 0))
    ds = [(float(t), desc(1, 0.01, t)) for t in range(15)]
    r = check_session(sigs, ds, spoken=ANSWERS)
    assert r.summary["identity_end_confirmed"] is True
    assert "identity_end_unconfirmed" not in types(r) and "face_lost" in types(r)


def test_without_an_answer_heard_there_is_nothing_to_anchor_the_end_check():
    sigs, ds, misses = late_swap_session(14.0)
    r = check_session(sigs, ds, identity_misses=misses)
    assert r.summary["identity_end_confirmed"] is None
    assert r.summary["identity_end_tail_s"] is None
    assert "identity_end_unconfirmed" not in types(r)


def test_id_photo_clearly_another_person_is_recorded_with_both_thresholds():
    ds = [(float(t), desc(1, 0.01, t)) for t in range(5)]
    p = SessionCheckParams()
    other = check_session(live(5), ds, id_descriptor=desc(3)).summary
    assert other["id_match"] is False and other["id_mismatch"] is True
    assert other["id_match_distance"] >= p.id_mismatch_distance
    assert (other["id_match_threshold"], other["id_mismatch_threshold"]) == (
        p.id_match_distance, p.id_mismatch_distance)
    same = check_session(live(5), ds, id_descriptor=desc(1, 0.02, 99)).summary
    assert same["id_match"] is True and same["id_mismatch"] is False
    with pytest.raises(ValueError, match="id_mismatch_distance >= id_match_distance"):
        SessionCheckParams(id_mismatch_distance=0.5)


def _keeping_still(blink_at=None):
    """A real face keeping still (codec-like wobble only, as a photo's), eyes open at 0.05,
    closed for 0.2 s from ``blink_at``."""
    rng = np.random.default_rng(5)
    out = []
    for i in range(8 * FPS):
        t = i / FPS
        closed = blink_at is not None and blink_at <= t < blink_at + 0.2
        out.append(FrameSignals(t=t, faces=1, yaw=float(rng.normal(0, 0.3)), pitch=8.0,
                                box=(100, 100, 300, 300),
                                blink_l=0.7 if closed else 0.05, blink_r=0.7 if closed else 0.05,
                                points=tuple((x + float(rng.normal(0, 0.0002)), y)
                                             for x, y in ((0.5, 0.5), (0.4, 0.4), (0.6, 0.4)))))
    return out


def test_the_blinks_of_a_face_keeping_still_are_counted_for_the_reviewer():
    """#12 fresh tester: the coach case (the investor silent while another person speaks) was
    called a still image. A picture never blinks: the blinks are counted beside the motion,
    which alone still decides (a blink never clears a face that did not move)."""
    still = check_session(_keeping_still()).summary
    assert still["still_image_suspected"] is True and still["still_evidence"]["blinks"] == 0
    blinked = check_session(_keeping_still(blink_at=3.0)).summary
    assert blinked["still_evidence"]["speed"] < SessionCheckParams().still_speed
    assert blinked["still_evidence"]["blinks"] == 1
    assert blinked["still_image_suspected"] is True
    # Eyes shut for seconds (or a photo with closed eyes) is no blink.
    shut = _keeping_still()
    shut = [FrameSignals(**{**s.__dict__, "blink_l": 0.7, "blink_r": 0.7})
            if s.t >= 2.0 else s for s in shut]
    assert check_session(shut).summary["still_evidence"]["blinks"] == 0


def _leading_case(first_answer_at: float, challenge_at: float | None = None):
    """A face too small for the first 4 s (the Biden clip of holdout 15), then good samples
    once a second to the end at 20 s; one answer heard at ``first_answer_at``."""
    sigs = live(20)
    misses = [(round(0.2 * i, 3), "face too small") for i in range(20)]  # 0.0-3.8 s
    ds = [(float(t), desc(1, 0.01, t)) for t in range(4, 20)]
    spoken = [SpokenAnswer("consent", ((first_answer_at, first_answer_at + 1.5),))]
    verdicts = ([Verdict("blink", True, "blinked", challenge_at, challenge_at + 0.5,
                         challenge_at + 2.0, 0.9)] if challenge_at is not None else [])
    return check_session(sigs, ds, identity_misses=misses, spoken=spoken, verdicts=verdicts)


def test_a_face_too_small_before_anything_is_attested_is_kept_but_not_reported():
    """Holdout 15: the Biden clip's first 3-4 s were under the identity gate, before enrolment
    and before any answer, and the case needed a human. Nothing was attested by that face:
    the enrolled face answers, does the challenges and is compared with the ID photo."""
    r = _leading_case(first_answer_at=9.0)
    assert "identity_unverified" not in types(r)
    assert r.summary["identity_leading_gap_s"] == pytest.approx(4.0, abs=0.1)
    assert r.summary["identity_max_gap_s"] == pytest.approx(4.0, abs=0.1)  # still recorded


@pytest.mark.parametrize("answer_at, challenge_at", [(2.0, None), (9.0, 3.0)])
def test_a_face_too_small_while_an_answer_or_challenge_is_attested_is_reported(
        answer_at, challenge_at):
    """The same stretch reaching into the first answer, or into a challenge, is face time of
    something attested that nobody compared: still identity_unverified."""
    r = _leading_case(first_answer_at=answer_at, challenge_at=challenge_at)
    ev = [e for e in r.events if e.type == "identity_unverified"]
    assert len(ev) == 1 and ev[0].t_start == 0.0 and ev[0].t_end == 4.0
    assert r.summary["identity_leading_gap_s"] == 0.0


def test_a_leading_stretch_with_nothing_heard_is_reported():
    sigs = live(20)
    misses = [(round(0.2 * i, 3), "face too small") for i in range(20)]
    ds = [(float(t), desc(1, 0.01, t)) for t in range(4, 20)]
    r = check_session(sigs, ds, identity_misses=misses)
    assert "identity_unverified" in types(r)
