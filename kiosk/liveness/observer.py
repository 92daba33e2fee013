"""Live observation of one investor's face: active liveness check, one person, identity.

``FaceObserver`` gets every decoded video frame from the media loop but only keeps a reference
to the newest one; its own thread converts and analyses the latest frame (older unanalysed
frames are dropped, never queued), runs the current challenge and, at the end, writes the
whole-session checks (``checks/liveness.json``). Frames it drops while an answer is said are
kept and analysed later for the speaking-seen check only (``kiosk.liveness.catch_up``). It
observes and reports through the callbacks of ``FaceReports`` (as ``kiosk.media.peer``
does): it holds no reference to the witness, never writes the timeline and never talks to
the page. The session decides.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.atomic_files import is_disk_full, write_json_atomic
from kiosk.flows.model import DEFAULT_STEP_TIMEOUT_S, PER_CHALLENGE_SECONDS, observe_seconds
from kiosk.liveness.analyzer import Analysis, FrameAnalysis
from kiosk.liveness.catch_up import CATCH_UP_S, CatchUpAnalyser, CatchUpBacklog, catch_up
from kiosk.liveness.challenges import Baseline, ChallengeTracker, Verdict
from kiosk.liveness.continuity import enrolment_template
from kiosk.liveness.identity import shared_describer
from kiosk.liveness.live_face import write_live_face
from kiosk.liveness.session_checks import (
    SecondFace,
    SessionCheckParams,
    SpokenAnswer,
    answer_windows,
    assess,
    check_session,
    second_face_motion,
    track_faces,
)
from kiosk.liveness.signals import FrameSignals
from kiosk.logs import session_context
from kiosk.media.frames import RgbConverter, frame_bytes
from kiosk.protocol import HintCode, StepOutcome

if TYPE_CHECKING:
    import av

    from kiosk.session import PlannedStep

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceReports:
    """Where a ``FaceObserver`` reports; each callback runs on the observer's thread (or the
    caller's, for the end of a challenge window), never on the media loop. What a callback
    returns is ignored."""

    # A replay sample, 5 per second: {frame_t, faces, blink, yaw, jaw}.
    sample: Callable[[dict], object]
    # A framing hint for the investor (code, the tracker's words), or (None, None) to clear.
    hint: Callable[[HintCode | None, str | None], None]
    # The action due now: (step id, challenge name, index, total).
    challenge_due: Callable[[str, str, int, int], None]
    # One challenge was judged: (step id, verdict).
    challenge_judged: Callable[[str, Verdict], None]
    # Every challenge of the window with this seq is decided: no need to wait for its end.
    all_judged: Callable[[int], object]
    # The analyser could not start or failed: the reason (the session is flagged).
    unavailable: Callable[[str], object]
    # The broker's ID photo could not be described: the reason.
    id_photo_unusable: Callable[[str], object]
    # The whole-session summary written at the end: {ok, reasons, summary, events, performance}.
    report: Callable[[dict], object]


# Hints from kiosk.liveness.challenges.ChallengeTracker.hint() -> page hint codes.
HINT_CODES = {
    "keep your face in the frame": HintCode.FACE_IN_FRAME,
    "too dark": HintCode.MORE_LIGHT,
    "only one face in the frame, please": HintCode.ONE_PERSON,
}
MAX_ANALYSIS_WIDTH = 640
HINT_EVERY_S = 1.0
SAMPLE_EVERY_S = 0.2
# A second face not yet judged still or moving after this long gets the one-person hint (at
# 15 fps it is judged after ~0.85 s; under load the analyser may see only 5 frames a second).
UNJUDGED_HINT_S = 2.0
# A second face judged moving gets the hint once its sighting has lasted this long (s). Over
# the first second of a WebRTC stream the encoder ramps its bit rate up and a picture's
# landmarks jitter: measured live on the synthetic portrait (8 sessions, 8-9 fps analysed, the
# machine loaded), its speed 0.8 s into the sighting was 0.0091-0.0099 own extents a second,
# right under ``still_face_speed`` (0.01; a loaded CI run crossed it once), and 0.0061-0.0066
# by 1.5 s. The whole-session check judges the whole sighting and is not affected.
MOVING_HINT_S = 1.5
# ... and it must already have been judged moving this long before (s): the judgement holds
# over two points of the sighting, not one (a loaded suite run once asked about a picture
# twice with MOVING_HINT_S alone; the whole-session check judged it still).
MOVING_PERSIST_S = 0.5
# ... and at this many times ``still_face_speed`` (the whole-session check's threshold). The
# picture through the live WebRTC path measured up to 0.0101 extents/s over a 6 s window on an
# idle machine (a suite run that asked about it); the slowest person measured 0.024-0.031
# (docs/evaluation.md). A person the hint misses is still counted by the whole-session check.
HINT_SPEED_FACTOR = 1.5


def challenge_window_seconds(step) -> float:
    """Time allowed for a planned challenge step: its window (``kiosk.flows.model.
    observe_seconds``: each drawn challenge gets its share, capped by the step's timeout)."""
    window = step.seconds or observe_seconds("challenge", DEFAULT_STEP_TIMEOUT_S,
                                             len(step.challenges))
    assert window is not None  # a challenge step always has one
    return float(window)


BASELINE_SECONDS = 2.0


def capture_time(frame) -> float | None:
    """A decoded frame's own timestamp in seconds (``pts * time_base``: aiortc stamps it from
    the RTP timestamp, on the sender's clock, rebased to 0), or None when it has none."""
    pts, base = getattr(frame, "pts", None), getattr(frame, "time_base", None)
    if pts is None or base is None:
        return None
    return float(pts * base)


def baseline_before(history, t: float):
    """The person's neutral face: the median of the last seconds before ``t`` (or None).

    Taken from frames before the challenge starts (while the guide speaks), so that a movement
    made right at the start is measured against the resting face, not mistaken for it.
    """
    recent = [s for s in history if t - BASELINE_SECONDS <= s.t <= t]
    try:
        return Baseline.from_signals(recent) if len(recent) >= 5 else None
    except ValueError:
        return None


def another_person_in_view(history: Sequence[FrameSignals],
                           params: SessionCheckParams | None = None) -> bool:
    """Whether to ask the investor for one person now (``history[-1]`` is the newest frame);
    ``judge_another_person`` gives the reason too."""
    return judge_another_person(history, params)[0]


def judge_another_person(history: Sequence[FrameSignals],
                         params: SessionCheckParams | None = None) -> tuple[bool, str]:
    """(ask, why): whether to ask the investor for one person now, and a short reason for the
    log (no face data in it).

    Yes when the newest frame has more than one face, the current sighting (the trailing
    frames with ``faces >= 2``) has lasted at least ``MOVING_HINT_S``, and an extra face was
    judged moving (``second_face_motion``) at ``HINT_SPEED_FACTOR`` times the still threshold or
    faster, both now and ``MOVING_PERSIST_S`` earlier. Also yes
    when after ``UNJUDGED_HINT_S`` it still cannot be judged because it cannot be followed
    (a face without landmarks, or an extra face lost and found again: more extra tracks than
    extra faces). Never for a face that merely had too few frames analysed to tell (a loaded
    server): the whole-session check judges the whole sighting. A face that has not moved
    since it was first seen is a picture on the wall: the investor is not asked to remove
    it. Only the last ~6 s of frames are kept, so "since first seen" means within them.
    """
    p = params or SessionCheckParams()
    if not history or history[-1].faces < 2:
        return False, "one face"
    run: list[FrameSignals] = []
    for s in reversed(history):
        if s.faces < 2:
            break
        run.append(s)
    run.reverse()
    seen_s = run[-1].t - run[0].t
    if seen_s < p.glimpse_s:
        return False, "a glimpse"
    motion, speed = second_face_motion(run, p)
    if motion is SecondFace.MOVING:
        if seen_s < MOVING_HINT_S:
            return False, "judged moving, too soon to ask"
        hint_speed = HINT_SPEED_FACTOR * p.still_face_speed
        if speed is None or speed < hint_speed:
            return False, f"moving at {speed:.4f} extents/s, under the hint's {hint_speed:.4f}"
        earlier = [s for s in run if s.t <= run[-1].t - MOVING_PERSIST_S]
        before, before_speed = second_face_motion(earlier, p)
        if before is not SecondFace.MOVING or before_speed is None \
                or before_speed < hint_speed:
            return False, "judged moving only now"
        return True, (f"moving at {speed:.4f} extents/s, seen {seen_s:.1f} s, "
                      f"{len(run)} frames")
    if motion is SecondFace.UNTRACKED and seen_s >= UNJUDGED_HINT_S:
        ids, tracks = track_faces(run)
        if any(i is None for i in ids):
            return True, f"a face without landmarks, seen {seen_s:.1f} s"
        extra_faces = max(s.faces for s in run) - 1
        if len(tracks) - 1 > extra_faces:
            return True, (f"lost and found again ({len(tracks) - 1} tracks for "
                          f"{extra_faces} extra faces), seen {seen_s:.1f} s")
        return False, f"too few frames to judge ({len(run)} in {seen_s:.1f} s)"
    return False, str(motion)


class _Challenges:
    tracker: ChallengeTracker  # the current challenge's; set by next_tracker()

    def __init__(self, seq: int, step_id: str, kinds: list[str], started_t: float, timeout: float,
                 baseline):
        self.seq, self.step_id = seq, step_id
        self.queue = list(kinds)
        self.timeout = timeout
        self.verdicts: list[Verdict] = []
        self.done = False
        self.next_tracker(started_t, baseline)

    def next_tracker(self, t: float, baseline) -> None:
        self.tracker = ChallengeTracker(self.queue.pop(0), self.timeout, t, baseline=baseline)


class FaceObserver:
    """One investor's face, watched off the loop (one landmarker per observer thread)."""

    def __init__(self, session_id: str, folder: Path, now: Callable[[], float],
                 reports: FaceReports, model_path: Path | None = None, idle_fps: float = 0.0,
                 catch_up_s: float = CATCH_UP_S, backlog: CatchUpBacklog | None = None):
        """Start watching: ``folder`` is the session's (its ID photo, its checks), ``now()``
        the media clock's time (frame latency), ``model_path`` the FaceLandmarker model
        (None: the packaged one). ``idle_fps`` > 0 analyses at most that many frames a second
        (media clock) while no liveness action is being watched; during actions every frame
        the analyser can keep up with is analysed. 0: every frame, always. ``catch_up_s``:
        the most wall seconds ``finish`` spends analysing frames dropped during answers
        (``kiosk.liveness.catch_up``), kept in ``backlog`` (None: one with the default
        caps)."""
        self.session_id = session_id
        self.idle_fps = idle_fps
        self.skipped_idle = 0  # frames left unanalysed by idle_fps
        self._listening = False  # an answer window is open: every frame (listening())
        self._last_analysed_t = float("-inf")
        self.folder = folder
        self._now = now
        self.reports = reports
        self.model_path = model_path
        self.id_descriptor = None
        self._cond = threading.Condition()
        self._pending: tuple[av.VideoFrame, float] | None = None
        self._stopping = False
        self._lock = threading.Lock()
        self._challenges: _Challenges | None = None
        self.verdicts: list[Verdict] = []
        self.error: str | None = None
        self.analysis: Analysis | None = None
        self.face_hidden: list[tuple[float, float]] = []  # card steps (media time)
        self.spoken: list[SpokenAnswer] = []  # answers heard (media time), for speaking seen
        self._confirm_identity = False  # an answer was heard: sample the face on the next frame
        self.received = 0
        self.dropped = 0
        self.latencies: list[float] = []  # media seconds from frame arrival to its analysis
        self._last_hint = (None, 0.0)
        self._asked_person = False  # the last frame asked for one person (logged once a run)
        self._last_sample = float("-inf")
        self._history: collections.deque = collections.deque(maxlen=90)  # ~6 s at 15 fps
        self.check_params = SessionCheckParams()
        # Frames dropped while an answer is said, analysed later for speaking seen only.
        self.catch_up_s = catch_up_s
        self.backlog = backlog if backlog is not None else CatchUpBacklog()
        self.late_signals: list[FrameSignals] = []
        self.catch_up_left = 0
        self._catch_up = CatchUpAnalyser(model_path, MAX_ANALYSIS_WIDTH)
        self._thread = threading.Thread(target=self._run, name=f"kiosk-face-{session_id[:8]}",
                                        daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ from the loop

    def submit(self, frame, t: float) -> None:
        """Keep the newest frame; an unanalysed older one is dropped (never queued), and kept
        for the catch-up while an answer window is open (``CatchUpBacklog.keep``: a reference
        to the decoded frame, nothing converted here)."""
        with self._cond:
            self.received += 1
            if self._pending is not None:
                self.dropped += 1
                old, old_t = self._pending
                if self.backlog.answer_open:
                    self.backlog.keep(old, old_t, capture_time(old), frame_bytes(old))
            self._pending = (frame, t)
            self._cond.notify()

    # ------------------------------------------------------------------ the worker

    def _run(self) -> None:
        with session_context(self.session_id):
            try:
                fa = FrameAnalysis(self.model_path, describe=True, describer=shared_describer())
                # Its own scaler: the card observer converts the same frames on its thread.
                converter = RgbConverter(MAX_ANALYSIS_WIDTH)
                self.id_descriptor = self._id_descriptor(fa)
            except Exception as exc:  # a broken model must flag the session, never pass it
                log.exception("the face analyser could not start")
                self.error = f"face analyser unavailable: {type(exc).__name__}: {exc}"[:300]
                self.reports.unavailable(self.error)
                return
            try:
                while True:
                    with self._cond:
                        while self._pending is None and not self._stopping \
                                and not self._catch_up_due():
                            self._cond.wait()
                        idle = self._pending is None and not self._stopping
                        if self._pending is None and not idle:
                            break
                        if not idle:
                            assert self._pending is not None
                            frame, t = self._pending
                            self._pending = None
                    if idle:  # nothing new to analyse: one dropped answer frame instead
                        self._run_catch_up(float("inf"), limit=1)
                        continue
                    if self._idle_skip(t):
                        continue
                    self._last_analysed_t = t
                    with self._lock:
                        confirm, self._confirm_identity = self._confirm_identity, False
                    if confirm:
                        fa.sample_soon()
                    try:
                        rgb = converter.rgb(frame)
                        sig = fa.feed(t, rgb, capture_time(frame))
                    except Exception as exc:  # an unreadable frame: note it and go on
                        log.warning("frame not analysed: %s", type(exc).__name__)
                        continue
                    self.latencies.append(self._now() - t)
                    self._on_signals(sig, rgb.shape[1])
            except Exception as exc:
                log.exception("the face observer failed")
                self.error = f"face observer failed: {type(exc).__name__}"
                self.reports.unavailable(self.error)
            finally:
                analysis = fa.close()
                analysis.dropped = self.dropped
                self._finish_catch_up()
                self.analysis = analysis

    def _heard_windows(self) -> list[tuple[float, float]]:
        """Where the answers heard so far are judged (media time, s)."""
        with self._lock:
            spoken = list(self.spoken)
        return [w for answer in spoken for w in answer_windows(answer, self.check_params)]

    def _catch_up_due(self) -> bool:
        """Whether the idle live analyser should analyse a dropped answer frame now: one is
        kept inside a heard answer, and no action or answer is being watched (those need
        every frame the analyser can take)."""
        with self._lock:
            ch = self._challenges
            watching = (ch is not None and not ch.done) or self._listening
        return not watching and self.backlog.count(self._heard_windows()) > 0

    def _run_catch_up(self, seconds: float, limit: int | None = None) -> None:
        result = catch_up(self.backlog, self._heard_windows(), self._catch_up, seconds, limit)
        with self._lock:
            self.late_signals += result.signals

    def _finish_catch_up(self) -> None:
        """The end: ``catch_up_s`` for the dropped answer frames still kept, then give up
        (``catch_up_left``) and let every kept frame go."""
        try:
            self._run_catch_up(self.catch_up_s)
            self.catch_up_left = self.backlog.count(self._heard_windows())
        except Exception:  # only speaking seen loses the late frames; the session goes on
            log.exception("the catch-up of dropped answer frames failed")
            self.catch_up_left = self.backlog.count(self._heard_windows())
        finally:
            self.backlog.clear()
            self._catch_up.close()

    def _idle_skip(self, t: float) -> bool:
        """Whether to leave the frame at media time ``t`` (s) unanalysed: no action is being
        watched and the last analysed frame is less than 1/``idle_fps`` before it. Outside
        actions the checks are per second (one person, face present, identity once a second,
        still second faces: calibrated at 7.5-25 fps), so fewer frames judge the same; the
        actions need every frame (a blink lasts 100-300 ms), and so do spoken answers (the
        mouth must be seen moving: at 4.6 analysed frames a second a 1 s 是的我自愿 had 7
        frames, all with the mouth open, and was "not seen spoken" in holdout 13)."""
        if self.idle_fps <= 0:
            return False
        with self._lock:
            ch = self._challenges
            watching = (ch is not None and not ch.done) or self._listening
        if watching or t - self._last_analysed_t >= 1.0 / self.idle_fps - 0.005:
            return False
        self.skipped_idle += 1
        return True

    def _id_descriptor(self, fa):
        folder = self.folder
        for name in ("id_photo.jpg", "id_photo.png"):
            path = folder / name
            if path.exists():
                try:
                    return fa._describer.describe_file(path) if fa._describer else None
                except Exception as exc:
                    self.reports.id_photo_unusable(f"{type(exc).__name__}: {exc}"[:200])
                    return None
        return None

    def _on_signals(self, sig, width: int) -> None:
        with self._lock:
            self._history.append(sig)
        if sig.t - self._last_sample >= SAMPLE_EVERY_S:
            # Curves for the auditor's replay (blink, yaw, jaw, face present), 5 per second.
            self._last_sample = sig.t
            self.reports.sample({
                "frame_t": round(sig.t, 3), "faces": sig.faces,
                "blink": round(max(sig.blink_l, sig.blink_r), 3), "yaw": round(sig.yaw, 1),
                "jaw": round(sig.jaw_open, 3)})
        hint = None
        finished_seq = None
        person = self._another_person(sig)
        with self._lock:
            ch = self._challenges
            if ch is not None and not ch.done:
                verdict = ch.tracker.feed(sig)
                hint = ch.tracker.hint(another_person=person)
                while verdict is not None:
                    self._verdict(ch, verdict)
                    if not ch.queue:
                        ch.done = True
                        finished_seq = ch.seq
                        break
                    ch.next_tracker(verdict.t_end,
                                    baseline_before(list(self._history), verdict.t_end))
                    self._announce(ch)
                    verdict = ch.tracker.feed(sig)
        code = HINT_CODES.get(hint) if hint else None
        if hint and code is None:
            code = (HintCode.TURN_MORE if "more" in hint or "wider" in hint or "fully" in hint
                    else None)
        if code is None:
            code = self._framing(sig, width, person)
        self._hint(code, hint)
        if finished_seq is not None:
            self.reports.all_judged(finished_seq)  # all decided: no need to wait longer

    def _another_person(self, sig) -> bool:
        with self._lock:
            history = list(self._history)
        ask, why = judge_another_person(history if history and history[-1] is sig
                                        else history + [sig], self.check_params)
        if ask and not self._asked_person:
            log.info("the investor is asked for one person: %s", why)
        self._asked_person = ask
        return ask

    def _framing(self, sig, width: int, another_person: bool = True) -> HintCode | None:
        if sig.faces == 0:
            return HintCode.FACE_IN_FRAME
        if sig.faces > 1 and another_person:
            return HintCode.ONE_PERSON
        if sig.brightness < 40:
            return HintCode.MORE_LIGHT
        if sig.box:
            frac = (sig.box[2] - sig.box[0]) / max(1, width)
            if frac < 0.18:
                return HintCode.CLOSER
            if frac > 0.75:
                return HintCode.FURTHER
        return None

    def _hint(self, code, text) -> None:
        last_code, last_at = self._last_hint
        now = time.monotonic()
        if code == last_code and now - last_at < HINT_EVERY_S:
            return
        if code is None and last_code is None:
            return
        self._last_hint = (code, now)
        self.reports.hint(code, text)

    def _verdict(self, ch: _Challenges, verdict) -> None:
        ch.verdicts.append(verdict)
        self.verdicts.append(verdict)
        self.reports.challenge_judged(ch.step_id, verdict)

    def _announce(self, ch: _Challenges) -> None:
        index = len(ch.verdicts)
        self.reports.challenge_due(ch.step_id, ch.tracker.kind, index,
                                   index + 1 + len(ch.queue))

    # ------------------------------------------------------------------ the session's calls

    def start_challenges(self, seq: int, step: PlannedStep, t: float) -> None:
        """Window ``seq`` of challenge step ``step`` opened at media time ``t``."""
        if not step.challenges:
            return
        timeout = min(PER_CHALLENGE_SECONDS, challenge_window_seconds(step))
        with self._lock:
            baseline = baseline_before(list(self._history), t)
            self._challenges = _Challenges(seq, step.id, list(step.challenges), t, timeout,
                                           baseline)
            self._announce(self._challenges)

    def listening(self, on: bool) -> None:
        """An answer window opens (``on``) or its answer is being judged (off): while it is
        open every frame is analysed, not ``idle_fps`` of them, so that the mouth is seen
        moving while the answer is said (``session_checks.speaking_events``)."""
        with self._lock:
            self._listening = bool(on)
        if on:
            self.backlog.open_answer(self._heard_windows())
        else:
            self.backlog.close_answer()

    def face_hidden_during(self, start: float, end: float) -> None:
        """The face is expected to be hidden from ``start`` to ``end`` (media time): an ID
        card step, the card held up to the camera. No face there is not "face lost"."""
        if end > start:
            with self._lock:
                self.face_hidden.append((start, end))

    def speech_heard(self, step: str, spans: Sequence[Sequence[float]]) -> None:
        """The voice side heard speech as the answer to ``step`` in ``spans`` (media time):
        at the end, the mouth must be seen moving there (``session_checks.speaking_events``,
        over the frames already analysed)."""
        answer = SpokenAnswer(step, tuple((float(a), float(b)) for a, b in spans))
        if answer.spans:
            with self._lock:
                self.spoken.append(answer)
                # Who is on camera after the answer must be confirmed before the session
                # ends (continuity.confirm_end): sample now rather than up to 1 s later.
                self._confirm_identity = True
            with self._cond:  # frames dropped in it may now be caught up while idle
                self._cond.notify()

    def challenge_outcome(self, seq: int, t: float) -> tuple[str, dict]:
        """Close the current challenges at ``t``: pass only if every one passed."""
        with self._lock:
            ch = self._challenges
            if ch is None or ch.seq != seq:
                return StepOutcome.FLAG, {"engine": "mediapipe",
                                          "reason": "no challenge was running"}
            if not ch.done:
                self._verdict(ch, ch.tracker.finish(t))
                for kind in ch.queue:
                    self._verdict(ch, ChallengeTracker(kind, ch.timeout, t).finish(t))
                ch.queue.clear()
                ch.done = True
            self._challenges = None
            verdicts = ch.verdicts
        if self.error:
            return StepOutcome.FLAG, {"engine": "mediapipe", "reason": self.error}
        passed = all(v.passed for v in verdicts)
        return (StepOutcome.PASS if passed else StepOutcome.FLAG), {
            "engine": "mediapipe",
            "challenges": [v.kind for v in verdicts],
            "passed": [v.passed for v in verdicts],
        }

    def finish(self, timeout: float = 15.0) -> dict | None:
        """Stop, run the whole-session checks, write ``checks/liveness.json``; returns the
        report."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)
        if self.analysis is None:
            report: dict[str, Any] = {"available": False, "error": self.error or "no analysis"}
            self._write(report)
            self._write_live_face(None, 0, "the face analysis was unavailable, so the live "
                                           "face was not described")
            return report
        a = self.analysis
        template = enrolment_template(a.descriptors, self.check_params.continuity)
        self._write_live_face(template, len(a.descriptors),
                              None if template is not None else
                              "no good sample of the live face was taken (a face frontal, "
                              "sharp and large enough)")
        session_report = check_session(a.signals, a.descriptors, self.verdicts,
                                       id_descriptor=self.id_descriptor,
                                       identity_misses=a.identity_misses,
                                       identity_busy=a.identity_busy,
                                       face_hidden=list(self.face_hidden),
                                       spoken=list(self.spoken),
                                       late_signals=list(self.late_signals))
        ok, reasons = assess(session_report)
        lat = sorted(self.latencies)
        wall = max(a.wall_s, 1e-6)
        report = {
            "available": self.error is None,
            "check": "active liveness check (not a certified presentation-attack detection)",
            "ok": ok and self.error is None,
            "reasons": reasons + ([self.error] if self.error else []),
            **session_report.to_dict(),
            "performance": {
                "frames_received": self.received,
                "frames_analysed": len(a.signals),
                "frames_dropped": self.dropped,
                "frames_skipped_idle": self.skipped_idle,
                # Dropped during answers and analysed later, for speaking seen only
                # (kiosk.liveness.catch_up); left: in a heard answer, time ran out; evicted:
                # beyond the backlog's caps.
                "frames_caught_up": len(self.late_signals),
                "frames_catch_up_left": self.catch_up_left,
                "frames_catch_up_evicted": self.backlog.evicted,
                "analysed_fps": round(len(a.signals) / wall, 2),
                "latency_p50_ms": round(1000 * lat[len(lat) // 2], 1) if lat else None,
                "latency_p95_ms": round(1000 * lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
                "ms_per_frame": round(a.ms_per_frame, 2),
            },
        }
        self._write(report)
        self.reports.report({
            "ok": report["ok"], "reasons": report["reasons"][:20],
            "summary": {k: v for k, v in session_report.summary.items()
                        if isinstance(v, (int, float, str, bool, type(None)))},
            "events": [e for e in report.get("events", []) if e.get("type") != "challenge"][:50],
            "performance": report["performance"],
        })
        return report

    def _write_live_face(self, template, samples: int, problem: str | None) -> None:
        """``live_face.json`` (``kiosk.liveness.live_face``) for the ID card's portrait check;
        a failure is logged, never raised: the card check then goes to a human."""
        try:
            write_live_face(self.folder, template, self.check_params.id_match_distance,
                            samples, problem)
        except (OSError, ValueError) as exc:
            if is_disk_full(exc):  # the runner says the full disk once for the session
                log.info("the live face was not kept for the ID card check: the data disk "
                         "is full")
            else:
                log.error("the live face could not be kept for the ID card check: %s",
                          type(exc).__name__, exc_info=exc)

    def _write(self, report: dict) -> None:
        folder = self.folder / "checks"
        folder.mkdir(exist_ok=True)
        # Write-then-rename: a full disk leaves the previous file or none, never a torn one.
        write_json_atomic(folder / "liveness.json", report)
