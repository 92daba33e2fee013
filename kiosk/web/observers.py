"""Live observation of one investor: the face (active liveness check, one person, identity).

``FaceObserver`` gets every decoded video frame on the aiortc loop but only keeps a reference
to the newest one; its own thread converts and analyses the latest frame, drops stale ones,
runs the current challenge, sends live hints to the page and, at the end, writes the
whole-session checks. It observes and reports; the session decides.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.flows.model import PER_CHALLENGE_SECONDS, observe_seconds
from kiosk.logs import session_context
from kiosk.protocol import HintCode, ServerEvent, StepOutcome, TimelineEvent

if TYPE_CHECKING:
    import av

    from kiosk.liveness.analyzer import Analysis
    from kiosk.liveness.challenges import ChallengeTracker, Verdict

log = logging.getLogger(__name__)

# Hints from kiosk.liveness.challenges.ChallengeTracker.hint() -> page hint codes.
HINT_CODES = {
    "keep your face in the frame": HintCode.FACE_IN_FRAME,
    "too dark": HintCode.MORE_LIGHT,
    "only one face in the frame, please": HintCode.ONE_PERSON,
}
MAX_ANALYSIS_WIDTH = 640
HINT_EVERY_S = 1.0
SAMPLE_EVERY_S = 0.2


def challenge_window_seconds(step) -> float:
    """Time allowed for a planned challenge step: its window (``kiosk.flows.model.
    observe_seconds``: each drawn challenge gets its share, capped by the step's timeout)."""
    window = step.seconds or observe_seconds("challenge", 90.0, len(step.challenges))
    assert window is not None  # a challenge step always has one
    return float(window)


BASELINE_SECONDS = 2.0


def baseline_before(history, t: float):
    """The person's neutral face: the median of the last seconds before ``t`` (or None).

    Taken from frames before the challenge starts (while the guide speaks), so that a movement
    made right at the start is measured against the resting face, not mistaken for it.
    """
    from kiosk.liveness.challenges import Baseline

    recent = [s for s in history if t - BASELINE_SECONDS <= s.t <= t]
    try:
        return Baseline.from_signals(recent) if len(recent) >= 5 else None
    except ValueError:
        return None


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
        from kiosk.liveness.challenges import ChallengeTracker

        self.tracker = ChallengeTracker(self.queue.pop(0), self.timeout, t, baseline=baseline)


class FaceObserver:
    """One investor's face, watched off the loop (one landmarker per observer thread)."""

    def __init__(self, controller, model_path: Path | None = None):
        self.c = controller
        self.model_path = model_path
        self._cond = threading.Condition()
        self._pending: tuple[av.VideoFrame, float] | None = None
        self._stopping = False
        self._lock = threading.Lock()
        self._challenges: _Challenges | None = None
        self.verdicts: list[Verdict] = []
        self.error: str | None = None
        self.analysis: Analysis | None = None
        self.received = 0
        self.dropped = 0
        self.latencies: list[float] = []  # media seconds from frame arrival to its analysis
        self._last_hint = (None, 0.0)
        self._last_sample = float("-inf")
        self._history: collections.deque = collections.deque(maxlen=90)  # ~6 s at 15 fps
        self._thread = threading.Thread(target=self._run, name=f"kiosk-face-{controller.id[:8]}",
                                        daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ from the loop

    def submit(self, frame, t: float) -> None:
        """Keep the newest frame; an unanalysed older one is dropped (never queued)."""
        with self._cond:
            self.received += 1
            if self._pending is not None:
                self.dropped += 1
            self._pending = (frame, t)
            self._cond.notify()

    # ------------------------------------------------------------------ the worker

    def _run(self) -> None:
        with session_context(self.c.id):
            try:
                from kiosk.liveness.analyzer import FrameAnalysis
                from kiosk.liveness.identity import shared_describer

                fa = FrameAnalysis(self.model_path, describe=True, describer=shared_describer())
                self.id_descriptor = self._id_descriptor(fa)
            except Exception as exc:  # a broken model must flag the session, never pass it
                log.exception("the face analyser could not start")
                self.error = f"face analyser unavailable: {type(exc).__name__}: {exc}"[:300]
                self.c.record(TimelineEvent.LIVENESS_UNAVAILABLE, {"error": self.error})
                return
            try:
                while True:
                    with self._cond:
                        while self._pending is None and not self._stopping:
                            self._cond.wait()
                        if self._pending is None:
                            break
                        frame, t = self._pending
                        self._pending = None
                    try:
                        if frame.width > MAX_ANALYSIS_WIDTH:
                            h = int(frame.height * MAX_ANALYSIS_WIDTH / frame.width) // 2 * 2
                            rgb = frame.to_ndarray(format="rgb24", width=MAX_ANALYSIS_WIDTH,
                                                   height=h)
                        else:
                            rgb = frame.to_ndarray(format="rgb24")
                        sig = fa.feed(t, rgb)
                    except Exception as exc:  # an unreadable frame: note it and go on
                        log.warning("frame not analysed: %s", type(exc).__name__)
                        continue
                    self.latencies.append(self.c.clock.now() - t)
                    self._on_signals(sig, rgb.shape[1])
            except Exception as exc:
                log.exception("the face observer failed")
                self.error = f"face observer failed: {type(exc).__name__}"
                self.c.record(TimelineEvent.LIVENESS_UNAVAILABLE, {"error": self.error})
            finally:
                self.analysis = fa.close()

    def _id_descriptor(self, fa):
        folder = self.c.dir
        for name in ("id_photo.jpg", "id_photo.png"):
            path = folder / name
            if path.exists():
                try:
                    return fa._describer.describe_file(path) if fa._describer else None
                except Exception as exc:
                    self.c.record(TimelineEvent.ID_PHOTO_UNUSABLE,
                                  {"reason": f"{type(exc).__name__}: {exc}"[:200]})
                    return None
        return None

    def _on_signals(self, sig, width: int) -> None:
        with self._lock:
            self._history.append(sig)
        if sig.t - self._last_sample >= SAMPLE_EVERY_S:
            # Curves for the auditor's replay (blink, yaw, jaw, face present), 5 per second.
            self._last_sample = sig.t
            self.c.record(TimelineEvent.LIVENESS_SAMPLE, {
                "frame_t": round(sig.t, 3), "faces": sig.faces,
                "blink": round(max(sig.blink_l, sig.blink_r), 3), "yaw": round(sig.yaw, 1),
                "jaw": round(sig.jaw_open, 3)})
        hint = None
        finished_seq = None
        with self._lock:
            ch = self._challenges
            if ch is not None and not ch.done:
                verdict = ch.tracker.feed(sig)
                hint = ch.tracker.hint()
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
            code = self._framing(sig, width)
        self._hint(code, hint)
        if finished_seq is not None:
            from kiosk.session import WindowTimeout

            self.c.dispatch(WindowTimeout(finished_seq))  # all decided: no need to wait longer

    def _framing(self, sig, width: int) -> HintCode | None:
        if sig.faces == 0:
            return HintCode.FACE_IN_FRAME
        if sig.faces > 1:
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
        self.c.emit(ServerEvent.HINT, {"code": code, "text": text})

    def _verdict(self, ch: _Challenges, verdict) -> None:
        ch.verdicts.append(verdict)
        self.verdicts.append(verdict)
        data = {"step": ch.step_id, **verdict.to_dict()}
        self.c.record(TimelineEvent.CHALLENGE_RESULT, data)
        self.c.emit(ServerEvent.CHALLENGE_RESULT, {"step": ch.step_id, "name": verdict.kind,
                                         "passed": verdict.passed})

    def _announce(self, ch: _Challenges) -> None:
        index = len(ch.verdicts)
        self.c.emit(ServerEvent.CHALLENGE, {"step": ch.step_id, "name": ch.tracker.kind,
                                            "index": index, "total": index + 1 + len(ch.queue)})

    # ------------------------------------------------------------------ the session's calls

    def start_challenges(self, seq: int, step, t: float) -> None:
        if not step.challenges:
            return
        timeout = min(PER_CHALLENGE_SECONDS, challenge_window_seconds(step))
        with self._lock:
            baseline = baseline_before(list(self._history), t)
            self._challenges = _Challenges(seq, step.id, list(step.challenges), t, timeout,
                                           baseline)
            self._announce(self._challenges)

    def challenge_outcome(self, seq: int, t: float) -> tuple[str, dict]:
        """Close the current challenges at ``t``: pass only if every one passed."""
        with self._lock:
            ch = self._challenges
            if ch is None or ch.seq != seq:
                return StepOutcome.FLAG, {"engine": "mediapipe",
                                          "reason": "no challenge was running"}
            if not ch.done:
                from kiosk.liveness.challenges import ChallengeTracker

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
            return report
        from kiosk.liveness.session_checks import assess, check_session

        a = self.analysis
        session_report = check_session(a.signals, a.descriptors, self.verdicts,
                                       id_descriptor=getattr(self, "id_descriptor", None))
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
                "analysed_fps": round(len(a.signals) / wall, 2),
                "latency_p50_ms": round(1000 * lat[len(lat) // 2], 1) if lat else None,
                "latency_p95_ms": round(1000 * lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
                "ms_per_frame": round(a.ms_per_frame, 2),
            },
        }
        self._write(report)
        self.c.record(TimelineEvent.LIVENESS_REPORT, {
            "ok": report["ok"], "reasons": report["reasons"][:20],
            "summary": {k: v for k, v in session_report.summary.items()
                        if isinstance(v, (int, float, str, bool, type(None)))},
            "events": [e for e in report.get("events", []) if e.get("type") != "challenge"][:50],
            "performance": report["performance"],
        })
        return report

    def _write(self, report: dict) -> None:
        from kiosk.atomic_files import write_json_atomic

        folder = self.c.dir / "checks"
        folder.mkdir(exist_ok=True)
        # Write-then-rename: a full disk leaves the previous file or none, never a torn one.
        write_json_atomic(folder / "liveness.json", report)


class VoiceObserver:
    """One investor's microphone: 48 kHz frames -> 16 kHz mono ring buffer, off the loop.

    The loop only puts frames on a bounded queue; a worker thread resamples them into an
    ``AudioWindowBuffer`` keyed by media-clock time, from which each answer window is cut.
    """

    QUEUE_FRAMES = 500  # 10 s of 20 ms frames: a stalled worker drops, never grows
    # Speculative recognition (see ``listen``): how often the open window is checked, and the
    # silence after speech that makes the answer worth hearing before the window closes.
    LISTEN_EVERY_S = 0.4
    ENDPOINT_SILENCE_S = 0.8
    # Silence after an answer that passes before the window is closed early (endpointing).
    # Longer than the pause inside "是的，……我自愿" of the natural voices (≤ 0.6 s measured).
    EARLY_CLOSE_SILENCE_S = 1.2

    def __init__(self, controller):
        import queue

        from kiosk.speech.audio import AudioWindowBuffer

        self.c = controller
        self.buffer = AudioWindowBuffer(seconds=180)
        self._queue: queue.Queue = queue.Queue(maxsize=self.QUEUE_FRAMES)
        self.dropped = 0
        self._listening: tuple | None = None  # (t0, locale, expected) of the open window
        self._guess: tuple | None = None  # (t0, spans, Answer) heard before the window closed
        # (t0, spans, threading.Event) of the early recognition running now: the window's
        # verdict waits for it rather than starting a second, competing recognition.
        self._inflight: tuple | None = None
        self._guess_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"kiosk-voice-{controller.id[:8]}",
                                        daemon=True)
        self._thread.start()

    # -- speculative recognition -------------------------------------------------------------

    def listen(self, t0: float, locale: str, expected, on_done=None) -> None:
        """An answer window opened at ``t0``: hear the answer as soon as the investor stops.

        People finish before their window closes. Once the VAD sees speech followed by
        ``ENDPOINT_SILENCE_S`` of silence, the window so far is recognised in the background;
        when the window closes, that result is used if no speech came after it (same speech
        spans), so the verdict follows the window's end at once instead of after Whisper.

        ``on_done()`` is called (from a worker thread, at most once) when that early answer
        passes (``kiosk.speech.decide``) and ``EARLY_CLOSE_SILENCE_S`` of silence has followed
        it: the window may close now (endpointing). Unclear answers and refusals never close a
        window early: the investor keeps the whole window to answer or correct themselves.
        """
        with self._guess_lock:
            self._listening = (t0, locale, expected)
            self._guess = None
        threading.Thread(target=self._speculate, args=(t0, locale, expected, on_done),
                         name=f"kiosk-listen-{self.c.id[:8]}", daemon=True).start()

    def stop_listening(self) -> None:
        with self._guess_lock:
            self._listening = None

    def _speculate(self, t0: float, locale: str, expected, on_done=None) -> None:
        from kiosk.speech.decide import decide
        from kiosk.speech.vad import StreamingVad

        vad = StreamingVad()  # each chunk of the growing window goes through the model once
        heard_spans = None
        passed = False  # the early answer passes: close once enough silence follows it
        with session_context(self.c.id):
            while True:
                time.sleep(self.LISTEN_EVERY_S)
                with self._guess_lock:
                    if self._listening is None or self._listening[0] != t0:
                        return
                end = self.buffer.end_time
                if end is None or end - t0 < 1.0:
                    continue
                try:
                    pcm = self.buffer.cut(t0, end)
                    spans = vad.spans(pcm)
                    silence = pcm.size / 16000 - spans[-1].end if spans else 0.0
                    if not spans or silence < self.ENDPOINT_SILENCE_S:
                        passed = False
                        continue
                    if spans != heard_spans:
                        heard_spans = spans
                        done = threading.Event()
                        with self._guess_lock:
                            self._inflight = (t0, spans, done)
                        try:
                            answer = self.c.services.recognizer().verify(pcm, locale, expected)
                            passed = decide(answer, expected, 0, 0).outcome == StepOutcome.PASS
                            with self._guess_lock:
                                # Kept even if the window closed meanwhile: heard_early may be
                                # waiting for exactly this answer.
                                self._guess = (t0, spans, answer)
                                listening = (self._listening is not None
                                             and self._listening[0] == t0)
                        finally:
                            with self._guess_lock:
                                if self._inflight is not None and self._inflight[2] is done:
                                    self._inflight = None
                            done.set()
                        if not listening:
                            return
                    if passed and on_done is not None and silence >= self.EARLY_CLOSE_SILENCE_S:
                        on_done()
                        return
                except Exception:  # the window's own recognition will run (and report) anyway
                    log.exception("speculative recognition failed")
                    return

    # How long the window's verdict waits for an early recognition of the same speech that is
    # still running (a second recognition would compete with it for the CPU and finish later).
    INFLIGHT_WAIT_S = 20.0

    def heard_early(self, t0: float, spans) -> object | None:
        """The answer recognised before the window closed, if its speech is all there was.

        When that recognition is still running for the same speech, this waits for it (up to
        ``INFLIGHT_WAIT_S``) instead of returning None.
        """
        with self._guess_lock:
            guess, inflight = self._guess, self._inflight
        if _same_speech(guess, t0, spans):
            return guess[2] if guess is not None else None
        if inflight is None or not _same_speech(inflight, t0, spans):
            return None
        inflight[2].wait(self.INFLIGHT_WAIT_S)
        with self._guess_lock:
            guess = self._guess
        return guess[2] if guess is not None and _same_speech(guess, t0, spans) else None

    def submit(self, frame, t: float) -> None:
        try:
            self._queue.put_nowait((frame, t))
        except Exception:  # queue.Full
            self.dropped += 1

    def _run(self) -> None:
        with session_context(self.c.id):
            while True:
                item = self._queue.get()
                if item is None:
                    return
                try:
                    self.buffer.feed(*item)
                except Exception:
                    log.exception("audio frame could not be buffered")

    def window(self, t0: float, t1: float, timeout: float = 2.0):
        """The investor's audio in [t0, t1] (waits briefly for frames still in the queue)."""
        deadline = time.monotonic() + timeout
        while (self.buffer.end_time or 0.0) < t1 - 0.05 and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.buffer.cut(t0, t1)

    def stop(self) -> None:
        self.stop_listening()
        try:
            self._queue.put(None, timeout=1)
        except Exception:
            pass
        self._thread.join(5)


def _same_speech(heard: tuple | None, t0: float, spans) -> bool:
    """Whether ``heard`` = (t0, spans, ...) covers exactly this window's speech spans."""
    if heard is None or heard[0] != t0 or len(heard[1]) != len(spans):
        return False
    return all(abs(a.start - b.start) < 0.05 and abs(a.end - b.end) < 0.05
               for a, b in zip(heard[1], spans, strict=True))


# What the auditor's pre-review reads: only a decided answer is "agree" / "disagree".
OUTCOME_DECISION: dict[str, str] = {StepOutcome.PASS: "agree", StepOutcome.STOP: "disagree"}


def _heard(controller, voice, pcm, t0: float, expected):
    """The window's Answer: the early one when no speech followed it, else recognised now."""
    import dataclasses

    from kiosk.speech.vad import detect_speech

    t = time.perf_counter()
    early = voice.heard_early(t0, detect_speech(pcm)) if pcm.size else None
    if early is not None:
        ms = round(1000 * (time.perf_counter() - t), 1)
        return dataclasses.replace(early, ms=ms, note=(early.note + "; heard before the window "
                                                       "closed").lstrip("; "))
    return controller.services.recognizer().verify(pcm, controller.locale, expected)


def shown_words(answer, expected) -> str:
    """What the investor may be shown of a heard answer: the words of a judged answer, or ""."""
    from kiosk.speech.recognize import SHOWABLE_ENGINES

    if answer.engine not in SHOWABLE_ENGINES or not answer.transcript.strip():
        return ""
    if expected.kind == "read_aloud":
        return answer.transcript if answer.score >= 0.5 else ""
    return answer.transcript if answer.intent in ("affirm", "deny", "phrase") else ""


def expected_for(step):
    """What a planned question or read-aloud step expects to hear (``speech.Expected``)."""
    from kiosk.speech import Expected

    if step.kind == "read_aloud":
        return Expected("read_aloud", text=step.read_text, required=tuple(step.required))
    return Expected(step.expect or "affirm", phrases=list(step.phrases), requested=step.answer,
                    refuse=tuple(step.refuse))


def judge_answer(controller, step, window: tuple[float, float], attempt: int):
    """Cut the answer window, recognise it, and apply the decision rule."""
    from kiosk.speech.answers import has_negation
    from kiosk.speech.decide import decide

    voice = controller.voice
    if voice is None:
        return StepOutcome.UNVERIFIED, {"engine": "none", "reason": "speech check disabled"}
    expected = expected_for(step)
    voice.stop_listening()
    pcm = voice.window(*window)
    answer = _heard(controller, voice, pcm, window[0], expected)
    decision = decide(answer, expected, attempt, step.retries)
    detail = {
        "speech_present": answer.speech_present,
        "transcript": answer.transcript,
        "intent": answer.intent,
        "score": round(float(answer.score), 3),
        "engine": answer.engine,
        "model_sha256": answer.model_sha256,
        "speech_spans": [[round(window[0] + s.start, 3), round(window[0] + s.end, 3)]
                         for s in answer.spans],
        "decision_reason": decision.reason,
        "note": answer.note,
        **({"expected_text": expected.text, "required": list(expected.required)}
           if expected.kind == "read_aloud" else {}),
        "recognise_ms": round(answer.ms, 1),
    }
    if step.kind == "question":
        controller.record(TimelineEvent.ANSWER_RECOGNISED, {
            "step": step.id, "decision": OUTCOME_DECISION.get(decision.outcome, "unclear"),
            "intent": answer.intent,
            "text": answer.transcript,
            "t_start": detail["speech_spans"][0][0] if answer.spans else window[0],
            "t_end": detail["speech_spans"][-1][1] if answer.spans else window[1],
            "score": detail["score"], "engine": answer.engine,
            # A "no" hidden in an unclear answer: the pre-review never lets a later yes
            # outweigh it (kiosk.review.prereview).
            "negation": bool(answer.transcript) and has_negation(answer.transcript,
                                                                 controller.locale)})
    # The investor sees the words heard only when they are meaningful (characters or words of
    # a judged answer, never phones or pinyin) and the broker's flow allows it; the evidence
    # always keeps the full transcript.
    shown = shown_words(answer, expected) if controller.flow.show_recognised_words else ""
    controller.emit(ServerEvent.RECOGNISED, {"step": step.id, "text": shown,
                                   "intent": answer.intent, "outcome": decision.outcome})
    return decision.outcome, detail
