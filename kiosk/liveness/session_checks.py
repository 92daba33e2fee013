"""Whole-session face checks over recorded FrameSignals and identity descriptors (pure).

Everything here is an observation for the reviewer: events with moments, and a summary. The
``assess`` function states whether the active liveness check and the session checks hold; the
flow decides what to do with that.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum

import numpy as np

from kiosk.liveness.challenges import ChallengeParams, Verdict
from kiosk.liveness.continuity import (
    ContinuityParams,
    ContinuityResult,
    EndConfirmation,
    Unverified,
    check_continuity,
    confirm_end,
    id_photo_distance,
    unverified_stretches,
)
from kiosk.liveness.signals import FrameSignals
from kiosk.protocol import CheckEvent

# See ``SessionCheckParams.id_mismatch_distance``.
ID_MISMATCH_DISTANCE = 0.7


@dataclass(frozen=True)
class SessionCheckParams:
    """Thresholds of the whole-session checks."""

    face_lost_s: float = 1.0  # a gap without a face longer than this is an event
    # A second face must stay this long to be flagged. The landmarker's tracker put phantom
    # second faces on real single-person footage for 0.35-0.85 s at a time (flags, portraits
    # behind the speaker); shorter sightings are kept as "second_face_glimpse" for replay.
    multiple_faces_s: float = 1.0
    glimpse_s: float = 0.3
    dark: float = 40.0  # face-box luma
    dark_s: float = 1.0
    min_present_ratio: float = 0.9
    # Identity continuity (kiosk.liveness.continuity): good samples against an enrolment
    # template, a change only when it persists. ID photo: the template against the photo.
    continuity: ContinuityParams = field(default_factory=ContinuityParams)
    id_match_distance: float = 0.6
    # The ID photo is clearly ANOTHER person (a suggested reject, not only a flag) when the
    # enrolment template, taken from good samples only, is at least this far from it. Between
    # ``id_match_distance`` and this the match is doubtful and a human looks. Measured on the
    # corpus (docs/evaluation.md, *The ID photo: a match, a doubt and another person*).
    id_mismatch_distance: float = ID_MISMATCH_DISTANCE
    # A still image: the median landmark speed (frame widths per second) below this. Measured:
    # a still frame sent through the live WebRTC path moves 0.004/s (codec noise); real people
    # talking, 0.021-0.09/s (GRID at 25 fps, weekly addresses at 15 fps). Frame-to-frame
    # distance alone depends on the frame rate, and pose spread does not separate them (a
    # still frame wobbles 0.3 degrees through the codec, a GRID talker 0.5).
    still_speed: float = 0.01
    # What the still-image judgement may use (``still_evidence``), so that load can never turn
    # into "still": time is the frames' own capture time (``FrameSignals.src_t``) when known,
    # a frame at the same time as the one before is the same frame (skipped), a picture
    # repeated unchanged counts once (at its first time), and a speed is taken only between
    # pictures ``still_min_gap_s``..``still_max_gap_s`` apart. Under the minimum gap the times
    # are bursts, not camera intervals (a 30 fps camera: 0.033 s), and the landmarker's
    # jitter over a tiny gap looks fast (a still photo delivered 4 frames 3 ms apart measured
    # 0.054/s frame to frame). Over the maximum, talking, which goes back and forth, is
    # averaged away: measured on the 10 GRID tuning clips (docs/evaluation.md, *Still image
    # under load*), the slowest talker's median speed fell from 0.0215 at 0.04 s to 0.0132 at
    # 0.12-0.24 s, 0.0114 at 0.28 s and 0.0101 at 0.32 s. Fewer than ``still_min_pairs`` such
    # speeds, or less than ``still_min_s`` of time covered by them: not judged (a human
    # looks), never "still".
    still_min_gap_s: float = 0.025
    still_max_gap_s: float = 0.25
    still_min_pairs: int = 20
    still_min_s: float = 2.5
    # With capture times known, the capture clock over the arrival clock of the analysed
    # frames must lie in this band: a sender whose pictures arrive slower than they were taken
    # (a simulated camera that fell behind played its clip at 0.54x real time under load)
    # shows motion slowed down, and one faster than real time is not a live camera either.
    still_clock_band: tuple[float, float] = (0.8, 1.25)
    # A second face that does not move is a picture (a portrait on the wall), not a person:
    # below this median landmark speed over half a second (``FaceTrack.speeds``), in the
    # face's OWN landmark extents per second, it is STILL_SECOND_FACE, not MULTIPLE_FACES.
    # Frame widths would not do: a face further back looks smaller and moves fewer of them
    # (GRID talkers pasted small moved 0.005-0.012 frame widths/s, under ``still_speed``).
    # Measured on composites of the GRID tuning clips and on the synthetic portrait /
    # onlooker clips, through x264 and through aiortc's VP8 at 500 kbit/s, analysed at 15 and
    # 7.5 fps (docs/evaluation.md): still faces 0.0010-0.0032/s, talkers 0.024-0.044/s, a
    # person sitting quietly (head sway only) 0.029-0.031/s.
    still_face_speed: float = 0.01
    # Every extra face must give at least this many half-second speeds in the sighting to be
    # judged; otherwise it counts as a person, as before.
    still_face_samples: int = 5
    # Speaking seen (lip movement, 唇动检测): while an answer is heard, the investor's mouth
    # must move. The measure is the spread of ``mouth_gap`` over the face frames in the
    # answer's speech spans (widened by ``speaking_margin_s`` each side for the A/V offset),
    # its highest and lowest values left out (``mouth_spread``: one landmark glitch must not
    # make a still mouth "move"). Chosen on the 11 GRID tuning clips only, through the eval's
    # 640x480 15 fps video, the face at its normal size (170-204 px) and shrunk to the small
    # face of the corpus (69-83 px); docs/evaluation.md. Any 1 s of speech (VAD on the clip's
    # own sound): >= 0.093 normal, >= 0.086 small. The silent, closed mouth after speech:
    # <= 0.0062 normal, <= 0.0067 small; the last frame held 3 s with head motion (1 degree,
    # 2 px, noise), mouth closed or at rest: <= 0.0125 normal, <= 0.0148 small. The floor is
    # the geometric middle, about 2.4 times from each side.
    speaking_floor: float = 0.035
    # Fewer face frames than this in the spans: not verified (face too small, turned, lost).
    speaking_min_frames: int = 5
    speaking_margin_s: float = 0.15
    # A shorter answer ("是", "yes") is judged over this much time around its middle: at the
    # analyser's idle 8 frames a second a 0.3 s word alone gives too few frames.
    speaking_min_window_s: float = 1.0

    def __post_init__(self):
        for name, value in asdict(self).items():
            if isinstance(value, (int, float)) and value < 0:
                raise ValueError(f"SessionCheckParams.{name} must be >= 0, got {value}")
        if self.id_mismatch_distance < self.id_match_distance:
            raise ValueError("SessionCheckParams: need id_mismatch_distance >= "
                             f"id_match_distance, got {self.id_mismatch_distance}, "
                             f"{self.id_match_distance}")
        if not 0 < self.still_min_gap_s < self.still_max_gap_s:
            raise ValueError("SessionCheckParams: need 0 < still_min_gap_s < still_max_gap_s, "
                             f"got {self.still_min_gap_s}, {self.still_max_gap_s}")
        lo, hi = self.still_clock_band
        if not 0 < lo <= 1 <= hi:
            raise ValueError(f"SessionCheckParams.still_clock_band must hold 1, got {lo}, {hi}")


@dataclass(frozen=True)
class SessionEvent:
    """Something a reviewer should see, with when it happened (media-clock seconds), and
    what else the reviewer is told about it (``detail``: JSON values, keys other than the
    four fields)."""

    type: str
    t_start: float
    t_end: float
    score: float
    detail: dict | None = None

    def to_dict(self) -> dict:
        return {
            **(self.detail or {}),
            "type": str(self.type),
            "t_start": round(self.t_start, 3),
            "t_end": round(self.t_end, 3),
            "score": round(self.score, 4),
        }


@dataclass
class SessionReport:
    """Events (challenges and problems) ordered by time, and the summary figures."""

    events: list[SessionEvent]
    summary: dict
    verdicts: list[Verdict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "events": [e.to_dict() for e in self.events],
            "summary": self.summary,
            "challenges": [v.to_dict() for v in self.verdicts],
        }


def runs(
    signals: Sequence[FrameSignals], pred: Callable[[FrameSignals], bool], min_s: float
) -> list[tuple[float, float]]:
    """Maximal runs of consecutive frames where ``pred`` holds, lasting at least ``min_s``.

    A run lasts from its first frame until the next frame that breaks it (or the last frame).
    """
    out = []
    start = None
    for s in signals:
        if pred(s):
            if start is None:
                start = s.t
            continue
        if start is not None:
            if s.t - start >= min_s:
                out.append((start, s.t))
            start = None
    if start is not None and signals and signals[-1].t - start >= min_s:
        out.append((start, signals[-1].t))
    return out


def without(spans: Sequence[tuple[float, float]], cut: Sequence[tuple[float, float]],
            min_s: float) -> list[tuple[float, float]]:
    """``spans`` with the time in ``cut`` taken out; pieces shorter than ``min_s`` dropped."""
    out = []
    for a, b in spans:
        pieces = [(a, b)]
        for c0, c1 in cut:
            pieces = [q for p0, p1 in pieces
                      for q in ((p0, min(p1, c0)), (max(p0, c1), p1)) if q[1] > q[0]]
        out += [q for q in pieces if q[1] - q[0] >= min_s]
    return out


def identity_events(
    descriptors: Sequence[tuple[float, np.ndarray]], params: ContinuityParams | None = None
) -> tuple[list[SessionEvent], ContinuityResult]:
    """identity_change events (persistent departures from the enrolment template) and the
    identity_unconfirmed event (far samples that end the session too soon to confirm one)."""
    result = check_continuity(descriptors, params)
    events = [SessionEvent(CheckEvent.IDENTITY_CHANGE, a, b, d) for a, b, d in result.changes]
    u = result.unconfirmed
    if u is not None:
        events.append(SessionEvent(CheckEvent.IDENTITY_UNCONFIRMED, u.t_start, u.t_end,
                                   u.max_distance, {"samples": u.samples}))
    return events, result


def leading_unattested(stretches: Sequence[Unverified], start: float,
                       first_attested: float | None) -> Unverified | None:
    """The stretch that opens the session and ends with the first compared sample at or before
    ``first_attested`` (the start of the first answer heard or of the first challenge), else
    None.

    Such a stretch comes before the face is enrolled and before anything is attested: who sat
    there is not who answered, did the challenges or matched the ID photo, since all of that
    is judged on the enrolled face from its first good sample on. A person far back who then
    leans in (holdout 15: the Biden clip's first 3-4 s under the then 90 px gate) is enrolled when
    the face is large enough; another person leaning in instead is the enrolled one, and is
    compared with the ID photo. It is kept for the record, not reported."""
    if first_attested is None or not stretches:
        return None
    u = stretches[0]
    if u.t_start != start or u.trailing or u.t_end > first_attested:
        return None
    return u


def unverified_events(
    signals: Sequence[FrameSignals], descriptors: Sequence[tuple[float, np.ndarray]],
    misses: Sequence[tuple[float, str]], busy: Sequence[tuple[float, float]] = (),
    params: ContinuityParams | None = None, first_attested: float | None = None,
) -> tuple[list[SessionEvent], list[Unverified], Unverified | None]:
    """identity_unverified events: face time that could not be compared with the enrolled
    face for longer than ``unverified_gap_s`` (``continuity.unverified_stretches``), every
    such stretch however short, and the stretch that opens the session before anything is
    attested (``leading_unattested``; ``first_attested`` in media seconds, None when no answer
    was heard and no challenge run), which is not reported as an event."""
    p = params or ContinuityParams()
    if not signals:
        return [], [], None
    absent = runs(signals, lambda s: s.faces == 0, 0.0)
    stretches = unverified_stretches([t for t, _ in descriptors], misses, signals[0].t,
                                     signals[-1].t, busy, absent)
    leading = leading_unattested(stretches, signals[0].t, first_attested)
    events = [SessionEvent(CheckEvent.IDENTITY_UNVERIFIED, u.t_start, u.t_end, u.seconds,
                           {"reasons": dict(u.reasons), "to_end": u.trailing})
              for u in stretches if u.seconds > p.unverified_gap_s and u is not leading]
    return events, stretches, leading


def end_confirmation(
    signals: Sequence[FrameSignals], continuity: ContinuityResult,
    spoken: Sequence[SpokenAnswer], misses: Sequence[tuple[float, str]] = (),
    params: ContinuityParams | None = None,
) -> tuple[list[SessionEvent], EndConfirmation | None]:
    """The identity_end_unconfirmed event when the person on camera after the last answer
    heard is not confirmed as the enrolled one (``continuity.confirm_end``), and the
    confirmation (None when no answer was heard or nothing was analysed: nothing to anchor)."""
    ends = [b for answer in spoken for _, b in answer.spans]
    if not signals or not ends:
        return [], None
    absent = runs(signals, lambda s: s.faces == 0, 0.0)
    c = confirm_end(max(ends), continuity.times, continuity.distances, misses, signals[0].t,
                    signals[-1].t, absent, params)
    if c.confirmed:
        return [], c
    detail = {"answer_end": round(c.answer_end, 3),
              "last_match": None if c.last_match is None else round(c.last_match, 3),
              "far_samples": c.far_after, "reasons": dict(c.misses)}
    return [SessionEvent(CheckEvent.IDENTITY_END_UNCONFIRMED, c.answer_end, c.end, c.tail_s,
                         detail)], c


def motion_stats(signals: Sequence[FrameSignals]) -> tuple[float, float, float]:
    """(pose std in degrees: max of yaw and pitch, median landmark motion per frame in frame
    widths, median landmark speed in frame widths per second)."""
    faced = [s for s in signals if s.faces > 0]
    if len(faced) < 3:
        return 0.0, 0.0, 0.0
    pose_std = max(
        statistics.pstdev(s.yaw for s in faced), statistics.pstdev(s.pitch for s in faced)
    )
    steps, speeds = [], []
    for a, b in zip(faced, faced[1:], strict=False):
        if a.points and len(a.points) == len(b.points):
            pa, pb = np.asarray(a.points), np.asarray(b.points)
            step = float(np.linalg.norm(pa - pb, axis=1).mean())
            steps.append(step)
            if b.t - a.t > 1e-3:
                speeds.append(step / (b.t - a.t))
    return (pose_std, statistics.median(steps) if steps else 0.0,
            statistics.median(speeds) if speeds else 0.0)


@dataclass(frozen=True)
class StillEvidence:
    """What the still-image judgement rests on (``still_evidence``).

    ``still`` is True (no natural motion), False (motion seen) or None (not judged: ``why``
    names the cause, for the reviewer). ``speed`` is the median landmark speed in frame widths
    per second over ``pairs`` usable speeds covering ``seconds`` of capture time; ``frames``
    the face frames with landmarks, ``distinct`` those left after same-time frames were
    skipped and ``pictures`` after unchanged repeats were counted once; ``clock`` says whose
    time was used ("capture" or "arrival") and ``clock_rate`` the capture clock over the
    arrival clock (None on arrival time).
    """

    still: bool | None
    why: str | None
    speed: float
    pairs: int
    seconds: float
    frames: int
    distinct: int
    pictures: int
    clock: str
    clock_rate: float | None
    # Blinks of the face seen (``blinks_seen``), for the reviewer: a picture never blinks.
    blinks: int = 0

    def to_dict(self) -> dict:
        return {"still": self.still, "why": self.why, "speed": round(self.speed, 5),
                "blinks": self.blinks,
                "pairs": self.pairs, "seconds": round(self.seconds, 3), "frames": self.frames,
                "distinct": self.distinct, "pictures": self.pictures, "clock": self.clock,
                "clock_rate": None if self.clock_rate is None else round(self.clock_rate, 3)}


def blinks_seen(frames: Sequence[FrameSignals], params: ChallengeParams | None = None) -> int:
    """How many blinks the face made: runs of frames whose ``blink`` is at least the blink
    challenge's closed level (``blink_close``) and ``blink_rise`` over the face's median,
    lasting at most ``blink_max_s``, with open eyes before and after. Measured on 8 clips of
    the corpus through the eval's x264 video: every still photo 0 blinks (peaks 0.04-0.19, and
    one frame with the eyes shut at 0.62 throughout), silent stretches of real faces 0 or 13
    (docs/evaluation.md, *A coach beside a still face*).
    """
    p = params or ChallengeParams()
    values = [s.blink for s in frames]
    if len(values) < 3:
        return 0
    closed = max(p.blink_close, statistics.median(values) + p.blink_rise)
    count, start = 0, None
    for i, s in enumerate(frames):
        if s.blink >= closed:
            if start is None:
                start = i
            continue
        if start is not None and start > 0 and s.t - frames[start].t <= p.blink_max_s:
            count += 1
        start = None
    return count


def still_evidence(signals: Sequence[FrameSignals],
                   params: SessionCheckParams | None = None) -> StillEvidence:
    """Whether the face shows natural motion, judged only on evidence that can show it.

    1. The frames with a face and landmark points, in arrival order, each at its capture time
       (``FrameSignals.src_t``) when every one has it, else at its arrival time ``t``.
    2. A frame whose time is not after the last kept one is skipped: the same frame again,
       or a stale one.
    3. A picture repeated with identical points is counted once, at its first time (the
       motion up to the next picture happened over the whole interval).
    4. A speed (mean landmark distance over the time between them, frame widths per second)
       for each two consecutive pictures ``still_min_gap_s``..``still_max_gap_s`` apart.
    5. With capture times, the capture clock must run at ``still_clock_band`` of the arrival
       clock (else not judged: "sender not in real time").
    6. At least ``still_min_pairs`` speeds covering ``still_min_s``: still when their median is
       under ``still_speed`` (the blinks, ``blinks_seen``, are counted beside it for the
       reviewer). Otherwise not judged ("analysis starved: N frames over S s"), unless the
       picture never changed at all over that much time: a frozen picture is still whatever
       the frame rate.
    """
    p = params or SessionCheckParams()
    faced = [s for s in signals if s.faces > 0 and s.points]
    capture = bool(faced) and all(s.src_t is not None for s in faced)
    clock = "capture" if capture else "arrival"

    def when(s: FrameSignals) -> float:
        return float(s.src_t) if capture and s.src_t is not None else s.t

    kept: list[FrameSignals] = []
    for s in faced:
        if not kept or when(s) > when(kept[-1]):
            kept.append(s)
    pictures: list[FrameSignals] = []
    for s in kept:
        if not pictures or s.points != pictures[-1].points:
            pictures.append(s)
    speeds, covered = [], 0.0
    for a, b in zip(pictures, pictures[1:], strict=False):
        dt = when(b) - when(a)
        if p.still_min_gap_s <= dt <= p.still_max_gap_s and len(a.points) == len(b.points):
            step = float(np.linalg.norm(np.asarray(a.points) - np.asarray(b.points),
                                        axis=1).mean())
            speeds.append(step / dt)
            covered += dt
    span = when(kept[-1]) - when(kept[0]) if kept else 0.0
    rate = None
    # Over a short span arrival jitter alone moves the ratio: then the counts below decide.
    if capture and span >= p.still_min_s and kept[-1].t > kept[0].t:
        rate = span / (kept[-1].t - kept[0].t)
    speed = statistics.median(speeds) if speeds else 0.0

    blinks = blinks_seen(kept)

    def result(still: bool | None, why: str | None) -> StillEvidence:
        return StillEvidence(still, why, speed, len(speeds), covered, len(faced), len(kept),
                             len(pictures), clock, rate, blinks)

    if not faced:  # no face to judge: the presence checks report that
        return result(None, None)
    lo, hi = p.still_clock_band
    if rate is not None and not lo <= rate <= hi:
        arrival_s = kept[-1].t - kept[0].t
        return result(None, f"sender not in real time: {span:.1f} s of pictures arrived over "
                            f"{arrival_s:.1f} s ({rate:.2f}x), motion cannot be judged")
    if len(speeds) >= p.still_min_pairs and covered >= p.still_min_s:
        # The blinks are counted for the reviewer (a picture does not blink), not used to
        # overrule the motion: in one eval run of the coach attack the face that did not move
        # was not called still and the case was cleared (docs/evaluation.md, *A coach beside
        # a still face*), so a blink alone never clears a face.
        return result(speed < p.still_speed, None)
    if len(pictures) == 1 and len(kept) > p.still_min_pairs and span >= p.still_min_s:
        return result(True, None)  # one picture, unchanged, over many frames: frozen
    return result(None, f"analysis starved: {len(speeds)} usable frame pairs over "
                        f"{covered:.1f} s ({len(kept)} frames over {span:.1f} s), "
                        "too few to judge")


@dataclass
class FaceTrack:
    """One face followed from frame to frame: its observations as (t, points (k, 2) in
    normalised frame coordinates), and in how many of them it was the largest face."""

    obs: list[tuple[float, np.ndarray]] = field(default_factory=list)
    primary: int = 0

    @property
    def centre(self) -> np.ndarray:
        return self.obs[-1][1].mean(axis=0)

    @property
    def size(self) -> float:
        return _size(self.obs[-1][1])

    def speeds(self, lag_s: float = 0.5) -> list[float]:
        """Mean landmark speeds over ``lag_s`` (frame widths per second, the unit of
        ``motion_stats``): from each observation to the first one at least ``lag_s`` later,
        when that one is less than ``2 * lag_s`` later.

        Measured over half a second rather than frame to frame: the jitter the codec and the
        landmarker add does not add up over time, motion does, so a picture's speed drops with
        the lag and a person's does not (and it depends less on how many frames a second the
        analyser kept up with).
        """
        out = []
        j = 0
        for ta, pa in self.obs:
            while j < len(self.obs) and self.obs[j][0] - ta < lag_s:
                j += 1
            if j == len(self.obs):
                break
            tb, pb = self.obs[j]
            if tb - ta < 2 * lag_s and pa.shape == pb.shape:
                out.append(float(np.linalg.norm(pa - pb, axis=1).mean()) / (tb - ta))
        return out


def _size(points: np.ndarray) -> float:
    return float(max(np.ptp(points[:, 0]), np.ptp(points[:, 1]), 1e-6))


def track_faces(
    signals: Sequence[FrameSignals], match: float = 0.5, max_gap_s: float = 2.0
) -> tuple[list[list[int] | None], list[FaceTrack]]:
    """Follow every face (the largest one and ``others``) across frames.

    Returns, per frame, the index into the returned tracks of each face in the order
    ``[largest, *others]`` (empty without a face), or None for a frame whose faces cannot be
    followed (a face without landmark points, or signals recorded before ``others``
    existed). A face continues the nearest track whose last centre is within ``match`` times
    the larger landmark extent of the two, seen at most ``max_gap_s`` ago; otherwise it starts
    a new track.
    """
    tracks: list[FaceTrack] = []
    out: list[list[int] | None] = []
    for s in signals:
        if s.faces == 0:
            out.append([])
            continue
        faces = [s.points] + [o.points for o in s.others]
        if len(faces) != s.faces or any(len(p) < 3 for p in faces):
            out.append(None)
            continue
        pts = [np.asarray(p, dtype=float) for p in faces]
        live = [i for i, tr in enumerate(tracks) if s.t - tr.obs[-1][0] <= max_gap_s]
        pairs = sorted(
            (float(np.linalg.norm(p.mean(axis=0) - tracks[i].centre)), k, i)
            for k, p in enumerate(pts) for i in live
        )
        assigned: dict[int, int] = {}
        used: set[int] = set()
        for d, k, i in pairs:
            if k in assigned or i in used:
                continue
            if d <= match * max(_size(pts[k]), tracks[i].size):
                assigned[k] = i
                used.add(i)
        ids = []
        for k, p in enumerate(pts):
            if k not in assigned:
                tracks.append(FaceTrack())
                assigned[k] = len(tracks) - 1
            tr = tracks[assigned[k]]
            tr.obs.append((s.t, p))
            tr.primary += k == 0
            ids.append(assigned[k])
        out.append(ids)
    return out, tracks


class SecondFace(StrEnum):
    """What the faces besides the investor's did during one sighting (``second_face_motion``)."""

    STILL = "still"  # every one tracked, and none moved: pictures
    MOVING = "moving"  # at least one moved: a person
    UNTRACKED = "untracked"  # too few frames or points to tell: treated as a person


def second_face_motion(
    run: Sequence[FrameSignals], params: SessionCheckParams | None = None
) -> tuple[SecondFace, float | None]:
    """Whether the extra faces of one sighting (consecutive frames with ``faces >= 2``) moved.

    The investor is the face that is largest in most frames; every other face is followed
    (``track_faces``) and its median landmark speed over half a second (``FaceTrack.speeds``)
    taken in its own landmark extents per second. Returns the judgement and the fastest extra
    face's speed (None when untracked). Untracked: a frame without ``others`` (signals
    recorded before they were), or an extra face with fewer than ``still_face_samples``
    half-second speeds in the sighting (too few frames, or lost and found again as a new
    track).
    """
    p = params or SessionCheckParams()
    ids, tracks = track_faces(run)
    if not run or any(i is None or len(i) < 2 for i in ids):
        return SecondFace.UNTRACKED, None
    counts: dict[int, int] = {}
    for i in ids:
        assert i is not None
        counts[i[0]] = counts.get(i[0], 0) + 1
    investor = max(counts, key=lambda k: counts[k])
    fastest = 0.0
    for k, tr in enumerate(tracks):
        if k == investor:
            continue
        speeds = tr.speeds()
        if len(speeds) < p.still_face_samples:
            return SecondFace.UNTRACKED, None
        extent = statistics.median(_size(pts) for _, pts in tr.obs)
        fastest = max(fastest, statistics.median(speeds) / extent)
    kind = SecondFace.STILL if fastest < p.still_face_speed else SecondFace.MOVING
    return kind, fastest


@dataclass(frozen=True)
class SpokenAnswer:
    """Speech the voice side heard as one step's answer: the step and its speech spans
    (media-clock seconds, the clock of ``FrameSignals.t``)."""

    step: str
    spans: tuple[tuple[float, float], ...]

    def __post_init__(self):
        for a, b in self.spans:
            if not (math.isfinite(a) and math.isfinite(b)) or b < a:
                raise ValueError(f"SpokenAnswer.spans: bad span ({a}, {b})")


def mouth_spread(gaps: Sequence[float]) -> float:
    """The spread of mouth_gap values with the highest and the lowest left out."""
    v = sorted(gaps)
    return v[-2] - v[1] if len(v) >= 4 else (v[-1] - v[0] if v else 0.0)


def answer_windows(answer: SpokenAnswer,
                   params: SessionCheckParams | None = None) -> list[tuple[float, float]]:
    """The media-time windows (s) in which ``answer``'s mouth is judged: its speech spans each
    widened by ``speaking_margin_s``, the whole to ``speaking_min_window_s`` around it; [] for
    an answer without spans."""
    p = params or SessionCheckParams()
    if not answer.spans:
        return []
    m = p.speaking_margin_s
    windows = [(a - m, b + m) for a, b in answer.spans]
    short = p.speaking_min_window_s - (windows[-1][1] - windows[0][0])
    if short > 0:
        windows[0] = (windows[0][0] - short / 2, windows[0][1])
        windows[-1] = (windows[-1][0], windows[-1][1] + short / 2)
    return windows


def speaking_events(signals: Sequence[FrameSignals], spoken: Sequence[SpokenAnswer],
                    params: SessionCheckParams | None = None,
                    late: Sequence[FrameSignals] = ()) -> list[SessionEvent]:
    """answer_not_seen_spoken / speaking_unverified events: answers heard while the face on
    camera did not move its mouth, or was not seen well enough to tell.

    For each answer, the face frames (exactly one face with landmarks: a second face would
    make "whose mouth" unclear) inside its ``answer_windows``. Fewer than
    ``speaking_min_frames`` of them: speaking_unverified. Otherwise the ``mouth_spread`` of
    their mouth_gap below ``speaking_floor``: answer_not_seen_spoken. ``late`` are frames the
    live analyser dropped and the catch-up analysed afterwards (``kiosk.liveness.catch_up``):
    they count here, and only here, with the live ones; the detail says how many
    (``caught_up``). Pure: it reads frames already analysed, no model runs here.
    """
    p = params or SessionCheckParams()
    events = []
    for answer in spoken:
        windows = answer_windows(answer, p)
        if not windows:
            continue
        t0, t1 = answer.spans[0][0], answer.spans[-1][1]
        speech_s = sum(b - a for a, b in answer.spans)

        def inside(s: FrameSignals, windows=windows) -> bool:
            return s.faces == 1 and bool(s.points) and any(a <= s.t <= b for a, b in windows)

        live = [s.mouth_gap for s in signals if inside(s)]
        caught = [s.mouth_gap for s in late if inside(s)]
        gaps = live + caught
        detail: dict = {"step": answer.step, "frames": len(gaps), "speech_s": round(speech_s, 3)}
        if caught:
            detail["caught_up"] = len(caught)
        if len(gaps) < p.speaking_min_frames:
            events.append(SessionEvent(CheckEvent.SPEAKING_UNVERIFIED, t0, t1, float(len(gaps)),
                                       detail))
            continue
        spread = mouth_spread(gaps)
        if spread < p.speaking_floor:
            events.append(SessionEvent(CheckEvent.ANSWER_NOT_SEEN_SPOKEN, t0, t1, spread,
                                       {**detail, "floor": p.speaking_floor}))
    return events


def check_session(
    signals: Sequence[FrameSignals],
    descriptors: Sequence[tuple[float, np.ndarray]] = (),
    verdicts: Sequence[Verdict] = (),
    id_descriptor: np.ndarray | None = None,
    params: SessionCheckParams | None = None,
    challenge_params: ChallengeParams | None = None,
    identity_misses: Sequence[tuple[float, str]] = (),
    identity_busy: Sequence[tuple[float, float]] = (),
    face_hidden: Sequence[tuple[float, float]] = (),
    spoken: Sequence[SpokenAnswer] = (),
    late_signals: Sequence[FrameSignals] = (),
) -> SessionReport:
    """Every whole-session check over one recording's signals, descriptors and verdicts.

    ``identity_misses`` are the identity samples tried that failed, (t, reason), and
    ``identity_busy`` the spans in which a due sample waited for a busy describer
    (``kiosk.liveness.analyzer.Analysis``). ``face_hidden`` are the spans in which the face
    is expected to be hidden (an ``id_document`` step: the card is held up to the camera):
    no face there is not ``face_lost``, and its frames do not count in the presence ratio.
    ``spoken`` are the answers the voice side heard (``speaking_events``), and
    ``late_signals`` the frames dropped live and analysed afterwards
    (``kiosk.liveness.catch_up``): they serve the speaking-seen check only, never presence,
    second faces, identity or the still-image judgement.
    """
    p = params or SessionCheckParams()
    cp = challenge_params or ChallengeParams()
    events: list[SessionEvent] = []
    for v in verdicts:
        if v.passed:
            events.append(SessionEvent(v.kind, v.t_start, v.t_end, v.score))
    lost = without(runs(signals, lambda s: s.faces == 0, p.face_lost_s), face_hidden,
                   p.face_lost_s)
    events += [SessionEvent(CheckEvent.FACE_LOST, a, b, b - a) for a, b in lost]
    seen = runs(signals, lambda s: s.faces >= 2, min(p.glimpse_s, p.multiple_faces_s))
    multi, pictures = [], []
    judged = []  # how each sighting of a second face was judged, for the reviewer
    for a, b in seen:
        run = [s for s in signals if a <= s.t <= b and s.faces >= 2]
        peak = max(s.faces for s in run)
        if b - a < p.multiple_faces_s:
            events.append(SessionEvent(CheckEvent.SECOND_FACE_GLIMPSE, a, b, float(peak)))
            continue
        motion, speed = second_face_motion(run, p)
        judged.append({"t_start": round(a, 3), "t_end": round(b, 3), "motion": str(motion),
                       "speed": None if speed is None else round(speed, 4)})
        if motion is SecondFace.STILL:
            # A picture on the wall: shown to the reviewer, not counted as a second person.
            pictures.append((a, b))
            events.append(SessionEvent(CheckEvent.STILL_SECOND_FACE, a, b, float(speed or 0.0)))
        else:
            multi.append((a, b))
            events.append(SessionEvent(CheckEvent.MULTIPLE_FACES, a, b, float(peak)))
    dark = runs(signals, lambda s: s.brightness < p.dark, p.dark_s)
    events += [SessionEvent(CheckEvent.TOO_DARK, a, b, b - a) for a, b in dark]
    id_events, continuity = identity_events(descriptors, p.continuity)
    events += id_events
    starts = [a for answer in spoken for a, _ in answer.spans] + [v.t_start for v in verdicts]
    gap_events, stretches, leading = unverified_events(
        signals, descriptors, identity_misses, identity_busy, p.continuity,
        min(starts) if starts else None)
    events += gap_events
    speaking = speaking_events(signals, spoken, p, late=late_signals)
    events += speaking
    end_events, end_check = end_confirmation(signals, continuity, spoken, identity_misses,
                                             p.continuity)
    events += end_events
    skipped: dict[str, int] = {}
    for _, why in identity_misses:
        skipped[why] = skipped.get(why, 0) + 1
    tail = stretches[-1].seconds if stretches and stretches[-1].trailing else 0.0
    events.sort(key=lambda e: (e.t_start, e.type))

    shown = [s for s in signals if not any(a <= s.t < b for a, b in face_hidden)]
    n = len(shown)
    present = sum(1 for s in shown if s.faces > 0)
    pose_std, jitter, _ = motion_stats(signals)
    evidence = still_evidence(signals, p)
    no_response = bool(verdicts) and all(not v.passed and v.score < cp.near_frac for v in verdicts)
    summary = {
        "frames": len(signals),
        "duration_s": round(signals[-1].t - signals[0].t, 3) if signals else 0.0,
        "face_present_ratio": round(present / n, 4) if n else 0.0,
        "face_hidden_s": round(sum(b - a for a, b in face_hidden), 3),
        "faces_max": max((s.faces for s in signals), default=0),
        "face_lost_s": round(sum(b - a for a, b in lost), 3),
        "multiple_faces_s": round(sum(b - a for a, b in multi), 3),
        "still_second_face_s": round(sum(b - a for a, b in pictures), 3),
        "second_faces": judged,
        "too_dark_s": round(sum(b - a for a, b in dark), 3),
        **continuity.summary(),
        # Face time that could not be compared (continuity.unverified_stretches): the longest
        # stretch, the one that ends the session, and the failed samples by reason.
        "identity_max_gap_s": round(max((u.seconds for u in stretches), default=0.0), 3),
        "identity_tail_gap_s": round(tail, 3),
        "identity_busy_s": round(sum(b - a for a, b in identity_busy), 3),
        # The stretch before the first good sample and before anything was attested
        # (leading_unattested): kept for the record, not reported.
        "identity_leading_gap_s": round(leading.seconds, 3) if leading else 0.0,
        "identity_skipped": skipped,
        # The person on camera after the last answer (continuity.confirm_end): confirmed or
        # not (None: no answer heard), and the face seconds since the last matching sample.
        "identity_end_confirmed": None if end_check is None else end_check.confirmed,
        "identity_end_tail_s": None if end_check is None else round(end_check.tail_s, 3),
        "pose_std_deg": round(pose_std, 3),
        "landmark_jitter": round(jitter, 5),
        "landmark_speed": round(evidence.speed, 5),
        "still_image_suspected": evidence.still is True,
        # The still-image judgement could not be made (a human looks): why, else None.
        "still_image_unjudged": evidence.why,
        "still_evidence": evidence.to_dict(),
        "no_challenge_response": no_response,
        "answers_checked_speaking": len([a for a in spoken if a.spans]),
        "answers_not_seen_spoken": sum(
            1 for e in speaking if e.type == CheckEvent.ANSWER_NOT_SEEN_SPOKEN),
        "answers_speaking_unverified": sum(
            1 for e in speaking if e.type == CheckEvent.SPEAKING_UNVERIFIED),
        "challenges_passed": sum(1 for v in verdicts if v.passed),
        "challenges_total": len(verdicts),
    }
    if id_descriptor is not None:
        d = id_photo_distance(descriptors, id_descriptor, p.continuity)
        if d is not None:
            summary["id_match_distance"] = round(d, 4)
            summary["id_match"] = d <= p.id_match_distance
            # Clearly another person: far beyond the threshold, from good samples only.
            summary["id_mismatch"] = d >= p.id_mismatch_distance
        else:
            summary["id_match_distance"] = None
            summary["id_match"] = False
            summary["id_mismatch"] = False
        summary["id_match_threshold"] = p.id_match_distance
        summary["id_mismatch_threshold"] = p.id_mismatch_distance
    return SessionReport(events, summary, list(verdicts))


def assess(
    report: SessionReport, params: SessionCheckParams | None = None
) -> tuple[bool, list[str]]:
    """Whether the active liveness check and session checks all hold, and every reason why not."""
    p = params or SessionCheckParams()
    s = report.summary
    reasons = []
    for v in report.verdicts:
        if not v.passed:
            reasons.append(f"challenge {v.kind} failed: {v.reason}")
    if s["frames"] == 0 or s["face_present_ratio"] < p.min_present_ratio:
        reasons.append(f"face present in only {s['face_present_ratio']:.0%} of frames")
    if s["face_lost_s"] > 0:
        reasons.append(f"face lost for {s['face_lost_s']:.1f} s")
    if s["multiple_faces_s"] > 0:
        reasons.append(f"more than one face for {s['multiple_faces_s']:.1f} s")
    if s["too_dark_s"] > 0:
        reasons.append(f"too dark for {s['too_dark_s']:.1f} s")
    if s["identity_consistent"] is False:
        reasons.append(f"identity changed (max distance {s['identity_max_distance']})")
    if s.get("identity_unconfirmed_from") is not None:
        reasons.append(f"a face unlike the enrolled one from {s['identity_unconfirmed_from']} s "
                       "to the end, too short to confirm")
    gaps = [e for e in report.events if e.type == CheckEvent.IDENTITY_UNVERIFIED]
    if gaps:
        reasons.append(f"face not comparable with the enrolled one for "
                       f"{max(e.score for e in gaps):.1f} s")
    if s.get("identity_end_confirmed") is False:
        reasons.append("the person on camera could not be confirmed after the last answer")
    for e in report.events:
        step = (e.detail or {}).get("step")
        if e.type == CheckEvent.ANSWER_NOT_SEEN_SPOKEN:
            reasons.append(f"answer to step {step} heard, but the mouth on camera did not move")
        elif e.type == CheckEvent.SPEAKING_UNVERIFIED:
            reasons.append(f"answer to step {step} heard, but the face was not seen well "
                           "enough to tell whether it spoke")
    if s["still_image_suspected"]:
        reasons.append("no micro-motion: looks like a still image")
    elif s.get("still_image_unjudged"):
        reasons.append(f"still image not judged: {s['still_image_unjudged']}")
    if s.get("id_match") is False:
        reasons.append(f"face does not match the ID photo (distance {s.get('id_match_distance')})")
    return not reasons, reasons
