"""Live listening to one investor: the microphone's ring buffer and the answer of a window.

``VoiceObserver`` takes audio frames from the media loop onto a bounded queue; its thread
resamples them to 16 kHz mono into a ring buffer on the media clock. When an answer window
closes, ``hear_answer`` cuts the window, recognises it (or takes the answer already heard
before the window closed) and applies the decision rule. Like the face observer it only
reports: the early end of an answer through a callback, the verdict as a return value. It
holds no reference to the witness, writes no timeline and never talks to the page.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kiosk.logs import session_context
from kiosk.protocol import StepOutcome
from kiosk.speech import textnorm
from kiosk.speech.answers import (
    cites_another_will,
    done_by_another,
    has_negation,
    is_zh,
    understanding_only,
)
from kiosk.speech.audio import AudioWindowBuffer
from kiosk.speech.decide import Decision, decide
from kiosk.speech.engines.whisper import HALLUCINATION_NOTE, WHISPER_MIN_CONFIDENCE, WhisperEngine
from kiosk.speech.expected import Expected
from kiosk.speech.recognize import SHOWABLE_ENGINES, Answer, Recognizer
from kiosk.speech.vad import StreamingVad, detect_speech

if TYPE_CHECKING:
    from kiosk.session import PlannedStep

log = logging.getLogger(__name__)


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

    def __init__(self, session_id: str, recognizer: Callable[[], Recognizer]):
        """Start the buffering thread; ``recognizer()`` gives the server's shared recogniser
        (called only when an answer is to be heard early)."""
        self.session_id = session_id
        self._recognizer = recognizer
        self.buffer = AudioWindowBuffer(seconds=180)
        self._queue: queue.Queue = queue.Queue(maxsize=self.QUEUE_FRAMES)
        self.dropped = 0
        self._listening: tuple | None = None  # (t0, locale, expected) of the open window
        self._guess: tuple | None = None  # (t0, spans, Answer) heard before the window closed
        # (t0, spans, threading.Event) of the early recognition running now: the window's
        # verdict waits for it rather than starting a second, competing recognition.
        self._inflight: tuple | None = None
        self._guess_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"kiosk-voice-{session_id[:8]}",
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
                         name=f"kiosk-listen-{self.session_id[:8]}", daemon=True).start()

    def stop_listening(self) -> None:
        with self._guess_lock:
            self._listening = None

    def _speculate(self, t0: float, locale: str, expected, on_done=None) -> None:
        vad = StreamingVad()  # each chunk of the growing window goes through the model once
        heard_spans = None
        passed = False  # the early answer passes: close once enough silence follows it
        with session_context(self.session_id):
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
                            answer = self._recognizer().verify(pcm, locale, expected)
                            passed = decide(answer, expected).outcome == StepOutcome.PASS
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

    def heard_early(self, t0: float, spans) -> Answer | None:
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
        with session_context(self.session_id):
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


def _heard(voice: VoiceObserver, recognizer: Recognizer, locale: str, pcm: np.ndarray,
           t0: float, expected: Expected) -> Answer:
    """The window's Answer: the early one when no speech followed it, else recognised now."""
    t = time.perf_counter()
    early = voice.heard_early(t0, detect_speech(pcm)) if pcm.size else None
    if early is not None:
        ms = round(1000 * (time.perf_counter() - t), 1)
        return dataclasses.replace(early, ms=ms, note=(early.note + "; heard before the window "
                                                       "closed").lstrip("; "))
    return recognizer.verify(pcm, locale, expected)


# A Whisper transcript judged unclear was still heard clearly (the investor is shown it and
# asked for the requested answer, not told "we could not hear that clearly") when Whisper's
# confidence (mean token probability) is at least this, it shows no hallucination sign and
# holds no "no". Measured on the tuning voices (docs/evaluation.md, "Heard, but not the answer").
HEARD_CLEARLY_MIN_CONFIDENCE = 0.5
# ...and, in Mandarin, when the transcript reads like words (``textnorm.zh_plausibility``):
# Whisper is as confident of 私底处于我奔人意愿 (0.70) as of 我明白 (0.79); by words, every
# tuning-voice answer heard as said scored at least -6.53, and 10 of the 11 heard as
# syllables without words at most -6.63.
HEARD_CLEARLY_MIN_ZH_PLAUSIBILITY = -6.6


def heard_clearly(answer: Answer, locale: str) -> bool:
    """Whether an answer that was not taken was still heard word for word: Whisper heard
    characters or words with confidence ``HEARD_CLEARLY_MIN_CONFIDENCE``, no hallucination
    sign, no negation in any decode (that is a "no", said so instead), and Mandarin that reads
    like words (``HEARD_CLEARLY_MIN_ZH_PLAUSIBILITY``)."""
    return (answer.engine == WhisperEngine.name and answer.speech_present
            and bool(textnorm.tokens(answer.transcript, locale))
            and answer.score >= HEARD_CLEARLY_MIN_CONFIDENCE
            and answer.note != HALLUCINATION_NOTE and not answer.negation
            and not has_negation(answer.transcript, locale)
            and (not is_zh(locale) or textnorm.zh_plausibility(answer.transcript)
                 >= HEARD_CLEARLY_MIN_ZH_PLAUSIBILITY))


def retry_hint(answer: Answer, expected: Expected, locale: str) -> str:
    """Why an answer to a question was asked again although it was heard clearly, for the page
    and the retried prompt: "understanding_only" (understanding said on a step that asks for
    willingness, ``answers.understanding_only``), "own_will" (it speaks of someone else's will or
    an order, ``speaks_of_another_will``), "heard" (heard word for word, not the answer asked
    for), or "" (not heard clearly, silence, a no, or not asked again)."""
    if expected.kind not in ("affirm", "phrases") or answer.intent != "unclear" \
            or not heard_clearly(answer, locale):
        return ""
    if expected.kind == "affirm" and understanding_only(answer.transcript, locale,
                                                        expected.spec()):
        return "understanding_only"
    if speaks_of_another_will(answer.transcript, locale):
        return "own_will"
    return "heard"


def speaks_of_another_will(text: str, locale: str) -> bool:
    """Whether ``text`` (a transcript) speaks of someone else's will or an order, in
    ``locale``: someone else + told / asked / said / 让 / 叫 / 要求 + me or an answer, an
    instruction in the passive, force or obligation (``answers.cites_another_will``, whose
    ``ZH_ANOTHER_WILL`` / ``EN_ANOTHER_WILL`` hold the structure). Such an answer is never
    taken (``answers.judge_text``); asked again, it must not be prompted with the words to
    say, which would coach a coerced investor: "own_will" asks them to answer for themselves
    instead. Merely naming a person ("yes, I spoke with my advisor and I agree") is not
    another's will: that answer is asked again with the words to say."""
    return cites_another_will(text, locale)


# --- words the page may echo ------------------------------------------------------------------
# The investor's page echoes the words heard ("听到：…"), so they must be words the investor can
# recognise as theirs. Not shown (the page says "we could not hear that clearly" instead):
# a Mandarin transcript that is mostly Latin letters (Whisper's "Thank you for watching" over a
# breath), a unit said over and over (善善善善, Whisper's loop on noise; the same syllable or
# word WORDS_SURE_MAX_REPEAT times in a row, or a group of two to four of them three times),
# a recogniser confidence under WORDS_SURE_MIN_CONFIDENCE (the lowest at which any answer is
# taken, ``WHISPER_MIN_CONFIDENCE``), and an answer that speaks of someone else's will or of
# someone else reading for the investor: echoing 工作人员让我说是的 on a screen the staff may
# see would repeat the pressure, and the retried prompt already asks the investor to answer
# for themselves. The evidence keeps every transcript as heard.
WORDS_SURE_MIN_CJK_SHARE = 0.6
WORDS_SURE_MAX_REPEAT = 4
WORDS_SURE_MIN_CONFIDENCE = WHISPER_MIN_CONFIDENCE  # 0.3


def _loops(units: list[str]) -> bool:
    """Whether ``units`` holds one unit ``WORDS_SURE_MAX_REPEAT`` times in a row, or a group of
    two to four units three times in a row. Digits repeat in earnest (an ID tail 8888)."""
    for size, times in ((1, WORDS_SURE_MAX_REPEAT), (2, 3), (3, 3), (4, 3)):
        span = size * times
        for i in range(len(units) - span + 1):
            group = units[i:i + size]
            if not all(u.isdigit() for u in group) and all(
                    units[i + k * size:i + (k + 1) * size] == group for k in range(1, times)):
                return True
    return False


def words_sure(text: str, locale: str, confidence: float | None = None,
               own: tuple[str, ...] = ()) -> bool:
    """Whether ``text`` (a transcript) is words the investor's page may echo: real words, said
    once, heard with some confidence (``confidence``: the recogniser's score, 0..1, None when
    not known) and holding no hint of another's will or of another reading for the investor
    (unless ``own``, the broker's own wording of the step, holds the same: a text to read
    with 无人强迫). See ``WORDS_SURE_*``."""
    toks = textnorm.tokens(text, locale)
    if not toks or (confidence is not None and confidence < WORDS_SURE_MIN_CONFIDENCE):
        return False
    if is_zh(locale):
        # (Mandarin tokens are single characters, digits or Latin letters.)
        cjk = sum(1 for t in toks if not t.isascii())
        letters = sum(1 for t in toks if t.isascii() and t.isalpha())
        if (cjk or letters) and cjk < WORDS_SURE_MIN_CJK_SHARE * (cjk + letters):
            return False
        units = textnorm.zh_syllables(toks)
    else:
        units = toks
    if _loops(units):
        return False
    coerced = [f(text, locale) for f in (cites_another_will, done_by_another)]
    mine = [any(f(o, locale) for o in own if o) for f in (cites_another_will, done_by_another)]
    return not any(c and not m for c, m in zip(coerced, mine, strict=True))


def shown_words(answer: Answer, expected: Expected, locale: str | None = None) -> str:
    """What the investor may be shown of a heard answer: the words of a judged answer, or of
    an answer heard clearly that was not taken (``retry_hint``, given the ``locale``), and only
    when they are sure words (``words_sure``; without a ``locale`` it is read from the text:
    characters are Mandarin), or ""."""
    if answer.engine not in SHOWABLE_ENGINES or not answer.transcript.strip() \
            or answer.note == HALLUCINATION_NOTE:
        return ""
    loc = locale or ("zh-CN" if any(not t.isascii() for t in textnorm.zh_tokens(
        answer.transcript)) else "en")
    if expected.kind == "read_aloud":
        if answer.score < 0.5:
            return ""
        # Homophones of the sentence read are shown as written (the evidence keeps the
        # transcript as heard): an investor who read 示例证券 is not shown 势力政权.
        shown = textnorm.as_written(answer.transcript, expected.text or "")
        return shown if words_sure(shown, loc, None, (expected.text or "",)) else ""
    if answer.intent in ("affirm", "deny", "phrase"):
        shown = answer.transcript
    else:
        shown = answer.transcript if locale and retry_hint(answer, expected, locale) else ""
    own = tuple(t for t in (expected.requested or "", *expected.phrases) if t)
    return shown if shown and words_sure(shown, loc, answer.score, own) else ""


def expected_for(step: PlannedStep) -> Expected:
    """What a planned question or read-aloud step expects to hear (``speech.Expected``)."""
    if step.kind == "read_aloud":
        return Expected("read_aloud", text=step.read_text, required=tuple(step.required))
    return Expected(step.expect or "affirm", phrases=list(step.phrases), requested=step.answer,
                    refuse=tuple(step.refuse))


@dataclass(frozen=True)
class Heard:
    """The verdict on one answer window: the decision rule's outcome, the evidence's detail
    (transcript, intent, score, engine, model hash, speech spans on the media clock, ...),
    and the Answer, Decision and Expected it came from."""

    outcome: str
    detail: dict
    answer: Answer
    decision: Decision
    expected: Expected


def heard_refusal(answer: Answer, expected: Expected, locale: str) -> bool:
    """Whether an answer to a question that wants a yes (or one of its phrases) was heard as a
    refusal or held a "no": a refusal, a negation in the transcript, or one heard by another
    decode of the same audio (``Answer.negation``). The retried prompt and the page then say
    the answer was heard as a no, never that it was not heard (issue #12)."""
    if expected.kind not in ("affirm", "phrases") or not answer.speech_present:
        return False
    return (answer.intent == "deny" or answer.negation
            or (bool(answer.transcript) and has_negation(answer.transcript, locale)))


def hear_answer(voice: VoiceObserver, recognizer: Recognizer, locale: str, step: PlannedStep,
                window: tuple[float, float]) -> Heard:
    """Cut the answer window ``(t0, t1)`` (media seconds), recognise it, apply the decision
    rule (``kiosk.speech.decide``; the state machine settles a retry)."""
    expected = expected_for(step)
    voice.stop_listening()
    pcm = voice.window(*window)
    answer = _heard(voice, recognizer, locale, pcm, window[0], expected)
    decision = decide(answer, expected)
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
        "refusal": heard_refusal(answer, expected, locale),
        # Heard clearly but not taken: the page and the retried prompt say what to say.
        "retry_hint": (retry_hint(answer, expected, locale)
                       if decision.outcome == StepOutcome.RETRY else ""),
        **({"expected_text": expected.text, "required": list(expected.required)}
           if expected.kind == "read_aloud" else {}),
        "recognise_ms": round(answer.ms, 1),
    }
    return Heard(decision.outcome, detail, answer, decision, expected)
