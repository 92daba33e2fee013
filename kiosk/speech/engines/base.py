"""What every engine takes and gives: ``Engine``, ``Recognition``, model hashes, readings.

Engines only propose a transcript, an intent and a confidence; ``kiosk.speech.recognize``
turns a ``Recognition`` into an ``Answer`` and ``kiosk.speech.decide`` that into
pass/stop/retry/flag. An engine never reports consent it did not hear.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.speech.answers import score_reading
from kiosk.speech.expected import Expected
from kiosk.speech.words import is_digits

INTENTS = ("affirm", "deny", "phrase", "unclear", "silence", "needs_review")


@dataclass(frozen=True)
class Recognition:
    """An engine's raw result before it becomes an Answer."""

    transcript: str
    intent: str
    score: float
    engine: str | None = None  # which engine decided, when not the one asked
    note: str = ""  # why (evidence only)
    # A negation or refusal was heard in some decode of this answer, though maybe not in
    # ``transcript`` (a refusal under a consent, issue #12).
    negation: bool = False


_hash_cache: dict[tuple, str] = {}
_hash_lock = threading.Lock()


def files_sha256(paths: list[Path], extra: str = "") -> str:
    """sha256 of the model files' bytes (in order) plus ``extra``; cached by path, size, mtime."""
    key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths) + (extra,)
    with _hash_lock:
        if key in _hash_cache:
            return _hash_cache[key]
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0")
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    h.update(extra.encode())
    digest = h.hexdigest()
    with _hash_lock:
        _hash_cache[key] = digest
    return digest


class Engine:
    """One recogniser: ``available()``, ``recognize()`` and the hash of the model it used."""

    name = "engine"

    def available(self) -> bool:
        return True

    def model_sha256(self, expected: Expected) -> str:
        raise NotImplementedError

    def recognize(self, pcm16k: np.ndarray, expected: Expected) -> Recognition:
        raise NotImplementedError


def read_aloud_result(heard: str, expected: Expected, locale: str = "en",
                      settled: dict[str, str] | None = None) -> Recognition:
    """Compare what was heard with the text to be read aloud (``answers.score_reading``).

    The score is ``1 - error rate`` (characters for Mandarin, words for English, digits
    normalised both ways); the reading passes ("phrase") only when the error rate is within
    ``answers.READING_MAX_ERROR`` and every required part was heard exactly. The note gives
    the error rate, the required parts not heard, and any slip let stand in one that was
    (``ReadingScore.tolerated``: "the digits heard with a doubled digit said once"), or why
    such a slip was not let stand (``ReadingScore.ambiguous``, after "ambiguous:").
    ``settled``: required digit strings whose ambiguous slip the audio settled (the Whisper
    engine's forced choice), with their scores: they count as heard, and the note says so.
    """
    text = expected.text or ""
    required = reading_required(expected)
    r = score_reading(heard, text, locale, required, settled)
    note = (f"{r.unit} error rate {r.error_rate:.2f}"
            + (f"; not heard: {', '.join(r.missing)}" if r.missing else "")
            + (f"; let stand: {', '.join(r.tolerated)}" if r.tolerated else "")
            + (f"; ambiguous: {', '.join(r.ambiguous)}" if r.ambiguous else ""))
    return Recognition(heard, "phrase" if r.passed else "unclear", r.score, note=note)


def reading_required(expected: Expected) -> tuple[str, ...]:
    """What a reading must hold exactly: ``expected.required``, or for a digit string to read
    (a ``digits`` step) the string itself, heard whole like an ID tail."""
    text = expected.text or ""
    return tuple(expected.required) or ((text,) if is_digits(text) else ())
