"""Identity continuity: is the person at the end the person enrolled at the start? (pure)

Frame-to-frame comparison flags real people: dlib descriptor distances between frames of ONE
person talking or turning reach 0.52-0.62 on public footage, because a turned, blurred or
half-covered face gives a poor descriptor. So:

1. **Only good samples are described** (``sample_quality``): exactly one face, large enough,
   near-frontal (|yaw| and |pitch| within limits), sharp (variance of the Laplacian of the face
   crop), and found by dlib's own frontal detector too (it misses profiles and covered faces).
2. **An enrolment template** is the mean of the first ``enrol_samples`` good descriptors that
   agree with each other (sampled every ``enrol_every_s`` at first, then once a second, so
   that someone seen only in the first seconds still seeds it): it is seeded by the medoid of
   the first three (so one poor sample cannot seed it), and a later sample joins only when it
   is within ``distance`` of it (so a person who takes over in the first seconds does not
   blend into it).
3. **A change is reported only when it persists**: at least ``min_samples`` consecutive good
   samples farther than ``distance`` from the template, spanning at least ``min_span_s``.
4. **A change the session ended too soon to confirm is still reported**, as ``unconfirmed``:
   the far samples that end the session without meeting rule 3 (a person swapped in for the
   last seconds leaves one or two). Not a change (a bad angle can give one far sample), but
   not a clear session either: a human looks.
5. **Face time that could not be compared is measured** (``unverified_stretches``): a person
   who is never sampled (a face too small, turned away or blurred for as long as they sit
   there) is never compared, so a long enough stretch of it is reported too.
6. **The person on camera after the last answer must be confirmed** (``confirm_end``): a
   good sample matching the template after the last answer ends, or else little face time
   (``end_tail_s``) from the last matching sample to the end. Holdout 11 cleared a late swap:
   person B sat only for the 1.8 s after the last answer with a face under the size gate, so
   no sample of B was ever compared and rules 4 and 5 had nothing to go on. A clear case needs
   positive evidence of who is on camera at the end, not the absence of a finding.

Distances are Euclidean between dlib's 128-d descriptors (dlib's own guidance: the same
person is usually closer than 0.6). The thresholds are measured in docs/evaluation.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from kiosk.liveness.signals import FrameSignals

# A face crop is scaled to this height before its sharpness is measured, so that the figure
# does not depend on the camera's resolution.
SHARPNESS_HEIGHT = 112


@dataclass(frozen=True)
class ContinuityParams:
    """Sampling gate and change rule of the identity-continuity check (see module docstring)."""

    # Face box height (the landmarker's) in the analysed frame, at most 640 px wide. Real faces
    # scaled down in a 640x480 frame until the landmarker lost them (boxes of 73 px and up)
    # stayed within 0.30 of their full-size template and no nearer than 0.58 to anyone else's
    # (scripts/bench_face_size.py; docs/evaluation.md, *How small a face*). 90 turned away a
    # 640x480 webcam's face at a desk (85-90 px) and compared nobody sitting there.
    min_face_px: int = 75
    max_yaw_deg: float = 25.0
    max_pitch_deg: float = 30.0
    min_sharpness: float = 15.0  # variance of the Laplacian, face crop at SHARPNESS_HEIGHT px
    enrol_samples: int = 5
    enrol_every_s: float = 0.3  # describe this often until 2 * enrol_samples are taken
    distance: float = 0.55  # farther than this from the template: not the enrolled person
    min_samples: int = 3  # consecutive far samples ...
    min_span_s: float = 2.0  # ... spanning at least this long
    # Face time between two compared samples (or from the last one to the end) in which every
    # sample tried failed the gate, without the time the describer was busy or no face was
    # there: longer than this is reported. Measured in docs/evaluation.md.
    unverified_gap_s: float = 3.0
    # Rule 6: without a matching sample after the last answer, at most this much face time
    # from the last matching sample to the end. A sample falls due a second after the last
    # good one and is taken on the next analysed frame (5-8 fps under load), so a face
    # compared as often as it can be leaves gaps of up to ~1.2 s; holdout 11's late swap left
    # 2.2 s. Measured in docs/evaluation.md (*Confirmed after the last answer*).
    end_tail_s: float = 1.5

    def __post_init__(self):
        for name, value in asdict(self).items():
            if value < 0:
                raise ValueError(f"ContinuityParams.{name} must be >= 0, got {value}")
        if self.enrol_samples < 1 or self.min_samples < 1:
            raise ValueError("ContinuityParams.enrol_samples and min_samples must be >= 1")


def sharpness(gray_crop: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a grey face crop scaled to SHARPNESS_HEIGHT."""
    g = np.asarray(gray_crop, dtype=np.float32)
    if g.ndim != 2 or min(g.shape) < 8:
        return 0.0
    step = max(1, int(round(g.shape[0] / SHARPNESS_HEIGHT)))
    g = g[::step, ::step]
    lap = (g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4.0 * g[1:-1, 1:-1])
    return float(lap.var())


def sample_quality(sig: FrameSignals, rgb: np.ndarray,
                   params: ContinuityParams | None = None) -> str | None:
    """Why this frame is not a good identity sample (a short reason), or None when it is."""
    p = params or ContinuityParams()
    if sig.faces != 1 or sig.box is None:
        return "not exactly one face"
    x0, y0, x1, y1 = sig.box
    if y1 - y0 < p.min_face_px:
        return "face too small"
    if abs(sig.yaw) > p.max_yaw_deg or abs(sig.pitch) > p.max_pitch_deg:
        return "face turned"
    h, w = rgb.shape[:2]
    crop = rgb[max(0, y0):min(h, y1), max(0, x0):min(w, x1)]
    if crop.size == 0:
        return "face outside the frame"
    gray = crop[..., 0] * 0.299 + crop[..., 1] * 0.587 + crop[..., 2] * 0.114
    if sharpness(gray) < p.min_sharpness:
        return "face blurred"
    return None


@dataclass(frozen=True)
class Unconfirmed:
    """Far samples that end the session without meeting the change rule (it ran out of time)."""

    t_start: float  # the first far sample
    t_end: float  # the last sample of the session
    max_distance: float
    samples: int


@dataclass(frozen=True)
class ContinuityResult:
    """Distances of every good sample to the enrolment template, and the persistent changes.

    ``changes`` are (t_start, t_end, max distance) of each run that meets the change rule;
    ``unconfirmed`` is the run of far samples that ends the session without meeting it.
    """

    distances: tuple[float, ...]
    times: tuple[float, ...]
    changes: tuple[tuple[float, float, float], ...]
    enrolled_at: float | None
    enrolment_spread: float | None  # largest distance of an enrolment sample to the template
    unconfirmed: Unconfirmed | None = None

    def summary(self) -> dict:
        d = np.asarray(self.distances) if self.distances else None
        at, spread, u = self.enrolled_at, self.enrolment_spread, self.unconfirmed
        return {
            "identity_samples": len(self.distances),
            "identity_enrolled_at": None if at is None else round(at, 3),
            "identity_enrolment_spread": None if spread is None else round(spread, 4),
            "identity_max_distance": None if d is None else round(float(d.max()), 4),
            "identity_p50_distance": None if d is None else round(float(np.median(d)), 4),
            "identity_consistent": None if d is None else not self.changes,
            "identity_unconfirmed_from": None if u is None else round(u.t_start, 3),
        }


def template_of(descriptors: Sequence[np.ndarray]) -> np.ndarray:
    """The enrolment template: the mean of the given 128-d descriptors."""
    arr = np.asarray([np.asarray(d, float) for d in descriptors])
    if arr.ndim != 2 or arr.shape[1] != 128 or len(arr) == 0:
        raise ValueError(f"need one or more (128,) descriptors, got shape {arr.shape}")
    return arr.mean(axis=0)


def enrol(samples: Sequence[tuple[float, np.ndarray]],
          params: ContinuityParams | None = None) -> tuple[np.ndarray, list[int]]:
    """(template, indices of the samples that formed it); see the module docstring."""
    p = params or ContinuityParams()
    descs = [np.asarray(d, float) for _, d in samples]
    if not descs:
        raise ValueError("no samples to enrol")
    head = descs[:3]
    seed = min(range(len(head)),
               key=lambda i: sum(float(np.linalg.norm(head[i] - h)) for h in head))
    members = [seed]
    template = descs[seed]
    for i, d in enumerate(descs):
        if len(members) >= p.enrol_samples:
            break
        if i != seed and float(np.linalg.norm(d - template)) <= p.distance:
            members.append(i)
            template = template_of([descs[j] for j in members])
    return template, sorted(members)


def check_continuity(samples: Sequence[tuple[float, np.ndarray]],
                     params: ContinuityParams | None = None) -> ContinuityResult:
    """Compare every good sample ``(t seconds, descriptor)`` with the enrolment template."""
    p = params or ContinuityParams()
    if not samples:
        return ContinuityResult((), (), (), None, None)
    template, members = enrol(samples, p)
    spread = max(float(np.linalg.norm(np.asarray(samples[i][1], float) - template))
                 for i in members)
    times = tuple(float(t) for t, _ in samples)
    dists = tuple(float(np.linalg.norm(np.asarray(d, float) - template)) for _, d in samples)
    changes = []
    unconfirmed = None
    i = 0
    while i < len(dists):
        if dists[i] <= p.distance:
            i += 1
            continue
        j = i
        while j + 1 < len(dists) and dists[j + 1] > p.distance:
            j += 1
        if j - i + 1 >= p.min_samples and times[j] - times[i] >= p.min_span_s:
            changes.append((times[i], times[j], max(dists[i : j + 1])))
        elif j == len(dists) - 1:  # the session ended before the run could be confirmed
            unconfirmed = Unconfirmed(times[i], times[j], max(dists[i : j + 1]), j - i + 1)
        i = j + 1
    return ContinuityResult(dists, times, tuple(changes), times[members[-1]], spread,
                            unconfirmed)


@dataclass(frozen=True)
class Unverified:
    """Face time between two compared samples (or from the last one to the end of the
    session) in which every identity sample tried failed the gate."""

    t_start: float  # the compared sample before it (or the session's first frame)
    t_end: float  # the next compared sample (or the session's last frame)
    seconds: float  # of it with a face on camera and the describer not busy
    reasons: dict[str, int]  # the failed samples in it, by reason (``sample_quality``)
    trailing: bool  # it runs to the end of the session


def _covered(spans: Sequence[tuple[float, float]], a: float, b: float) -> float:
    """Seconds of [a, b] inside the union of ``spans``."""
    cut = sorted((max(a, x), min(b, y)) for x, y in spans if y > a and x < b)
    total, reach = 0.0, a
    for x, y in cut:
        if y > reach:
            total += y - max(x, reach)
            reach = y
    return total


def unverified_stretches(
    sampled: Sequence[float], misses: Sequence[tuple[float, str]],
    start: float, end: float, busy: Sequence[tuple[float, float]] = (),
    absent: Sequence[tuple[float, float]] = (),
) -> list[Unverified]:
    """Every stretch of face time in which the face could not be compared.

    ``sampled``: times of the good samples (described and compared); ``misses``: (time,
    reason) of the samples tried that failed; ``start`` / ``end``: the session's first and last
    analysed frame. Between two good samples (and before the first, after the last) the time
    counts only when a sample was tried and failed in it, and then without ``busy`` (a due
    sample was not tried because the describer was still busy with an earlier one: nothing was
    known to be wrong with the face) and ``absent`` (no face: the face-lost check covers it).
    """
    edges = [start, *sorted(t for t in sampled if start <= t <= end), end]
    out = []
    for k in range(len(edges) - 1):
        a, b = edges[k], edges[k + 1]
        last = k == len(edges) - 2
        inside = [why for t, why in misses if a <= t < b or (last and t == b)]
        if not inside or b <= a:
            continue
        reasons: dict[str, int] = {}
        for why in inside:
            reasons[why] = reasons.get(why, 0) + 1
        seconds = (b - a) - _covered([*busy, *absent], a, b)
        out.append(Unverified(a, b, max(0.0, seconds), reasons, last))
    return out


@dataclass(frozen=True)
class EndConfirmation:
    """Whether the person on camera after the last answer is the enrolled one (rule 6).

    ``answer_end``: the end of the last answer heard; ``end``: the session's last frame;
    ``matched_after``: good samples at or after ``answer_end`` within ``distance`` of the
    template; ``far_after``: good samples after it farther than that; ``last_match``: the last
    matching sample of the whole session (None: none); ``tail_s``: face seconds from it (or
    from the first frame) to ``end``; ``misses``: the samples tried after ``answer_end`` that
    failed the gate, by reason. ``confirmed``: ``matched_after`` > 0 or ``tail_s`` <=
    ``end_tail_s``.
    """

    answer_end: float
    end: float
    confirmed: bool
    matched_after: int
    far_after: int
    last_match: float | None
    tail_s: float
    misses: dict[str, int]


def confirm_end(answer_end: float, times: Sequence[float], distances: Sequence[float],
                misses: Sequence[tuple[float, str]], start: float, end: float,
                absent: Sequence[tuple[float, float]] = (),
                params: ContinuityParams | None = None) -> EndConfirmation:
    """Rule 6 of the module docstring over one session (all times in media seconds).

    ``times`` / ``distances``: every good sample and its distance to the template
    (``ContinuityResult``); ``misses``: (time, reason) of the samples that failed the gate;
    ``start`` / ``end``: the session's first and last analysed frame; ``absent``: spans with
    no face (they do not count in the tail: ``face_lost`` judges them). Busy describer time
    does count: nothing confirmed who was there.
    """
    p = params or ContinuityParams()
    if len(times) != len(distances):
        raise ValueError(f"times and distances differ in length: {len(times)}, "
                         f"{len(distances)}")
    after = [d for t, d in zip(times, distances, strict=True) if t >= answer_end]
    matched = sum(1 for d in after if d <= p.distance)
    last_match = max((t for t, d in zip(times, distances, strict=True) if d <= p.distance),
                     default=None)
    a = start if last_match is None else max(start, last_match)
    tail = max(0.0, (end - a) - _covered(absent, a, end)) if end > a else 0.0
    reasons: dict[str, int] = {}
    for t, why in misses:
        if t >= answer_end:
            reasons[why] = reasons.get(why, 0) + 1
    return EndConfirmation(answer_end, end, matched > 0 or tail <= p.end_tail_s, matched,
                           len(after) - matched, last_match, tail, reasons)


def enrolment_template(samples: Sequence[tuple[float, np.ndarray]],
                       params: ContinuityParams | None = None) -> np.ndarray | None:
    """The live face as one 128-d descriptor: the enrolment template of ``enrol`` (None
    without good samples). The broker's ID photo and the ID card's portrait are both judged
    against it."""
    if not samples:
        return None
    template, _ = enrol(samples, params)
    return template


def id_photo_distance(samples: Sequence[tuple[float, np.ndarray]], id_descriptor: np.ndarray,
                      params: ContinuityParams | None = None) -> float | None:
    """Distance of the ID photo to the enrolment template (None without good samples)."""
    template = enrolment_template(samples, params)
    if template is None:
        return None
    return float(np.linalg.norm(template - np.asarray(id_descriptor, float)))
