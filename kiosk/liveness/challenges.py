"""Active liveness challenges as pure detectors over FrameSignals (no mediapipe here).

Each challenge is judged against the person's own neutral baseline, taken from the first
frames after the challenge starts (or handed in), because resting pose and eye openness differ
per person. A challenge passes when the signal crosses its threshold and then RETURNS (eyes
reopen, head comes back, mouth closes), which a photo moved about cannot fake with one motion.

Directions: see ``kiosk.liveness.signals`` - ``turn_left`` is the investor's own left, which is
yaw increasing (nose to image right) in the raw, unmirrored camera image the server sees.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from kiosk.liveness.signals import FrameSignals

CHALLENGE_KINDS = ("blink", "turn_left", "turn_right", "nod", "open_mouth")


@dataclass(frozen=True)
class ChallengeParams:
    """Thresholds; defaults calibrated on kiosk.testing.faces clips and the shared notes."""

    baseline_s: float = 0.4  # neutral frames collected after the start when none is given
    baseline_min_frames: int = 3
    blink_close: float = 0.30  # eyeBlink mean that counts as closed (absolute floor) ...
    blink_rise: float = 0.20  # ... and at least this much above the person's open-eye level
    blink_max_s: float = 1.0  # eyes must reopen within this (a blink, not eyes shut)
    turn_deg: float = 12.0  # yaw change from baseline (a flat photo swung around moves ~2 deg)
    nod_deg: float = 10.0  # pitch increase (chin down) from baseline
    nod_max_jaw: float = 0.15  # jawOpen rise above which a pitch change is a mouth, not a nod
    jaw_open: float = 0.20  # jawOpen floor for an open mouth ...
    jaw_rise: float = 0.15  # ... and rise above baseline ...
    # ... and the lips really part: a flat photo swung sideways lifts jawOpen to ~0.28 but
    # moves the measured lip gap by < 0.05 (kiosk.testing.faces "tilt" clips).
    mouth_gap_rise: float = 0.15
    return_frac: float = 0.5  # "returned" = back within this fraction of the threshold
    max_action_s: float = 4.0  # from crossing the threshold to returning
    near_frac: float = 0.4  # hint "a little more" once this fraction of the threshold is reached
    dark: float = 40.0  # face-box luma below which the picture is too dark

    def __post_init__(self):
        for name, value in asdict(self).items():
            if value < 0:
                raise ValueError(f"ChallengeParams.{name} must be >= 0, got {value}")


@dataclass(frozen=True)
class Baseline:
    """The person's neutral face at the start of a challenge."""

    blink: float
    jaw_open: float
    yaw: float
    pitch: float
    mouth_gap: float = 0.0

    @classmethod
    def from_signals(cls, signals: Sequence[FrameSignals]) -> Baseline:
        """Median of the frames that show a face; ValueError when none does."""
        faced = [s for s in signals if s.faces > 0]
        if not faced:
            raise ValueError("cannot take a baseline: no frame shows a face")
        return cls(
            blink=statistics.median(s.blink for s in faced),
            jaw_open=statistics.median(s.jaw_open for s in faced),
            yaw=statistics.median(s.yaw for s in faced),
            pitch=statistics.median(s.pitch for s in faced),
            mouth_gap=statistics.median(s.mouth_gap for s in faced),
        )


@dataclass(frozen=True)
class Verdict:
    """The outcome of one challenge. ``score`` is the peak response over the threshold."""

    kind: str
    passed: bool
    reason: str
    t_start: float
    t_peak: float | None
    t_end: float
    score: float

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("t_start", "t_peak", "t_end", "score"):
            if d[k] is not None:
                d[k] = round(d[k], 3)
        return d


_NOUN = {
    "blink": "blink",
    "turn_left": "turn to the left",
    "turn_right": "turn to the right",
    "nod": "nod",
    "open_mouth": "open mouth",
}
_MORE = {
    "turn_left": "turn a little more",
    "turn_right": "turn a little more",
    "nod": "lower your chin a little more",
    "open_mouth": "open your mouth a little wider",
    "blink": "close your eyes fully, then open them",
}
_BACK = {
    "blink": "now open your eyes",
    "turn_left": "now back to the centre",
    "turn_right": "now back to the centre",
    "nod": "now look up again",
    "open_mouth": "now close your mouth",
}


@dataclass
class _State:
    baseline_frames: list[FrameSignals] = field(default_factory=list)
    active_since: float | None = None
    peak: float = 0.0  # best response / threshold so far
    t_peak: float | None = None
    last: FrameSignals | None = None
    recent_best: float = 0.0  # best response / threshold within the last second
    recent_t: float = 0.0


class ChallengeTracker:
    """Follows one challenge from ``started_t`` and returns a Verdict once it is decided."""

    def __init__(
        self,
        kind: str,
        timeout: float,
        started_t: float,
        baseline: Baseline | None = None,
        params: ChallengeParams | None = None,
    ):
        if kind not in CHALLENGE_KINDS:
            raise ValueError(
                f"unknown challenge {kind!r}; expected one of {', '.join(CHALLENGE_KINDS)}"
            )
        if timeout <= 0:
            raise ValueError(f"challenge timeout must be > 0 s, got {timeout}")
        self.kind = kind
        self.timeout = float(timeout)
        self.started_t = float(started_t)
        self.baseline = baseline
        self.params = params or ChallengeParams()
        self.verdict: Verdict | None = None
        self._s = _State()

    # -- the response measure ------------------------------------------------------------

    def _threshold(self) -> float:
        p = self.params
        return {
            "blink": p.blink_rise,
            "turn_left": p.turn_deg,
            "turn_right": p.turn_deg,
            "nod": p.nod_deg,
            "open_mouth": p.jaw_rise,
        }[self.kind]

    def _response(self, s: FrameSignals) -> float:
        """How far this frame is from the baseline in the challenged direction (signal units)."""
        b = self.baseline
        assert b is not None
        if self.kind == "blink":
            return s.blink - b.blink
        if self.kind == "turn_left":
            return s.yaw - b.yaw
        if self.kind == "turn_right":
            return b.yaw - s.yaw
        if self.kind == "nod":
            return s.pitch - b.pitch
        return s.jaw_open - b.jaw_open

    def _crossed(self, s: FrameSignals, r: float) -> bool:
        p = self.params
        if self.kind == "blink":
            return r >= p.blink_rise and s.blink >= p.blink_close
        if self.kind == "open_mouth":
            assert self.baseline is not None
            gap_rise = s.mouth_gap - self.baseline.mouth_gap
            return r >= p.jaw_rise and s.jaw_open >= p.jaw_open and gap_rise >= p.mouth_gap_rise
        if self.kind == "nod":
            # Opening the mouth shifts the measured pitch by ~9 deg: that is not a nod.
            assert self.baseline is not None
            return r >= p.nod_deg and s.jaw_open - self.baseline.jaw_open < p.nod_max_jaw
        return r >= p.turn_deg

    # -- feeding -------------------------------------------------------------------------

    def feed(self, sig: FrameSignals) -> Verdict | None:
        """Consume one frame's signals; the Verdict once decided (then always the same one)."""
        if self.verdict is not None:
            return self.verdict
        if sig.t < self.started_t:
            return None
        st = self._s
        st.last = sig
        if sig.t - self.started_t > self.timeout:
            return self._fail(sig.t, f"timeout: no {_NOUN[self.kind]} within {self.timeout:g} s")
        if self.baseline is None:
            if sig.faces > 0:
                st.baseline_frames.append(sig)
            done = sig.t - self.started_t >= self.params.baseline_s
            if done and len(st.baseline_frames) >= self.params.baseline_min_frames:
                self.baseline = Baseline.from_signals(st.baseline_frames)
            return None
        if sig.faces == 0:
            return None  # no evidence either way; the session checks count lost-face time
        thr = self._threshold()
        r = self._response(sig)
        rel = r / thr if thr else 0.0
        if self.kind == "open_mouth" and self.params.mouth_gap_rise:
            # Both must rise; the weaker one says how far the mouth really opened.
            gap_rel = (sig.mouth_gap - self.baseline.mouth_gap) / self.params.mouth_gap_rise
            rel = min(rel, gap_rel)
        if sig.t - st.recent_t > 1.0:
            st.recent_best = 0.0
        if rel > st.recent_best:
            st.recent_best, st.recent_t = rel, sig.t
        if st.active_since is None:
            if self._crossed(sig, r):
                st.active_since = sig.t
                st.peak, st.t_peak = rel, sig.t
            elif rel > st.peak:
                st.peak = rel
            return None
        # Crossed: wait for the return, tracking the peak.
        if rel > st.peak and self._crossed(sig, r):
            st.peak, st.t_peak = rel, sig.t
        limit = self.params.blink_max_s if self.kind == "blink" else self.params.max_action_s
        if r <= thr * self.params.return_frac:
            if sig.t - st.active_since > limit:
                st.active_since = None  # held too long (eyes shut, not a blink): start over
                return None
            self.verdict = Verdict(
                self.kind, True, "", st.active_since, st.t_peak, sig.t, round(st.peak, 3)
            )
            return self.verdict
        return None

    def finish(self, t: float) -> Verdict:
        """Close the challenge at ``t`` (window closed or recording ended): pass only if done."""
        if self.verdict is not None:
            return self.verdict
        if self.baseline is None:
            return self._fail(t, "no neutral face seen to compare against")
        if self._s.active_since is not None:
            return self._fail(t, f"{_NOUN[self.kind]} started but did not return before the end")
        return self._fail(t, f"no {_NOUN[self.kind]} before the end")

    def _fail(self, t: float, reason: str) -> Verdict:
        st = self._s
        if st.peak > 0 and self.kind != "blink":
            reason += f" (reached {st.peak:.0%} of the needed movement)"
        self.verdict = Verdict(
            self.kind, False, reason, self.started_t, st.t_peak, t, round(st.peak, 3)
        )
        return self.verdict

    def hint(self, another_person: bool = True) -> str | None:
        """A short live hint for the investor, or None when nothing needs saying.

        ``another_person=False`` leaves out the one-person hint when the frame has more than
        one face but the caller judged the extra one a still picture (``kiosk.liveness.
        observer``); the hints about the action are given instead.
        """
        st = self._s
        s = st.last
        if self.verdict is not None or s is None:
            return None
        if s.faces == 0:
            return "keep your face in the frame"
        if s.brightness < self.params.dark:
            return "too dark"
        if s.faces > 1 and another_person:
            return "only one face in the frame, please"
        if st.active_since is not None:
            return _BACK[self.kind]
        if (
            self.baseline is not None
            and st.recent_best >= self.params.near_frac
            and s.t - st.recent_t <= 1.0
        ):
            return _MORE[self.kind]
        return None


def run_challenges(
    signals: Sequence[FrameSignals],
    kinds: Sequence[str],
    timeout: float = 6.0,
    start_t: float | None = None,
    params: ChallengeParams | None = None,
) -> list[Verdict]:
    """Run ``kinds`` one after another over recorded signals, each starting when the last ended.

    A failed challenge still hands over to the next, as a live flow would move on.
    """
    verdicts: list[Verdict] = []
    if not kinds:
        return verdicts
    t0 = signals[0].t if start_t is None and signals else (start_t or 0.0)
    queue = list(kinds)
    tracker = ChallengeTracker(queue.pop(0), timeout, t0, params=params)
    for sig in signals:
        v = tracker.feed(sig)
        while v is not None:
            verdicts.append(v)
            if not queue:
                return verdicts
            tracker = ChallengeTracker(queue.pop(0), timeout, v.t_end, params=params)
            v = tracker.feed(sig)
    end = signals[-1].t if signals else t0
    verdicts.append(tracker.finish(end))
    for kind in queue:
        verdicts.append(ChallengeTracker(kind, timeout, end, params=params).finish(end))
    return verdicts
