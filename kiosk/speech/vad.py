"""Voice activity detection: silero-vad's ONNX model run by onnxruntime, without torch.

The ``silero-vad`` wheel ships the model but its Python package imports torch, so it is
installed with ``--no-deps`` and only its data file is used; the package is never imported.
"""

from __future__ import annotations

import importlib.metadata
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.errors import ConfigError

RATE = 16000
CHUNK = 512  # samples per model step at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous chunk the model expects in front of each chunk
MODEL_FILE = "silero_vad/data/silero_vad.onnx"


@dataclass(frozen=True)
class SpeechSpan:
    """One stretch of speech, in seconds from the start of the window."""

    start: float
    end: float

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError(f"speech span ends before it starts: {self.start} > {self.end}")

    @property
    def duration(self) -> float:
        return self.end - self.start


def silero_model_path() -> Path:
    """Path of silero's ONNX model inside the installed ``silero-vad`` distribution."""
    try:
        dist = importlib.metadata.distribution("silero-vad")
    except importlib.metadata.PackageNotFoundError as exc:
        raise ConfigError(
            "silero-vad is not installed: run `.venv/bin/pip install --no-deps silero-vad`"
        ) from exc
    path = Path(str(dist.locate_file(MODEL_FILE)))
    if not path.is_file():
        raise ConfigError(f"silero-vad model missing at {path}")
    return path


class SileroVad:
    """Speech probability per 32 ms chunk. One ONNX session is shared; state is per call."""

    def __init__(self, path: Path | None = None):
        import onnxruntime  # deferred: only speech needs it

        self.path = path or silero_model_path()
        opts = onnxruntime.SessionOptions()
        # The host has 2 cores shared by everything: one thread is enough (3 ms per s of audio).
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(self.path), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def probabilities(self, pcm16k: np.ndarray) -> np.ndarray:
        """Speech probability of each full 512-sample chunk of ``pcm16k``."""
        x = check_pcm(pcm16k).astype(np.float32) / 32768.0
        probs, _ = self.run_chunks(x, initial_state())
        return np.asarray(probs, np.float32)

    def run_chunks(self, x: np.ndarray, state: tuple[np.ndarray, np.ndarray]
                   ) -> tuple[list[float], tuple[np.ndarray, np.ndarray]]:
        """Probabilities of the full chunks of float samples ``x`` (-1..1), continuing from
        ``state`` = (model state, previous context); returns them and the state after."""
        model_state, context = state
        sr = np.array(RATE, dtype=np.int64)
        probs: list[float] = []
        for i in range(x.size // CHUNK):
            chunk = x[i * CHUNK : (i + 1) * CHUNK]
            inp = np.concatenate([context, chunk])[None, :]
            out, model_state = self._session.run(
                None, {"input": inp, "state": model_state, "sr": sr})
            probs.append(float(out[0, 0]))
            context = chunk[-CONTEXT:]
        return probs, (model_state, context)


def initial_state() -> tuple[np.ndarray, np.ndarray]:
    """silero's state before any audio: zero model state, zero context."""
    return np.zeros((2, 1, 128), np.float32), np.zeros(CONTEXT, np.float32)


class StreamingVad:
    """Speech spans of a growing window, computing each 32 ms chunk's probability once.

    ``spans(pcm)`` takes the window's audio from its start, as long as it is now; only the
    chunks not seen before go through the model (with the state and context carried over), so
    listening to a window as it grows costs the same as one pass over it, not one pass per look.
    The window must only grow at its end: audio that changed inside the part already seen is
    not looked at again (a window's verdict runs ``detect_speech`` on the final audio anyway).
    """

    def __init__(self, vad: SileroVad | None = None, threshold: float = 0.5):
        self._vad = vad
        self.threshold = threshold
        self._state = initial_state()
        self._probs: list[float] = []

    def spans(self, pcm16k: np.ndarray) -> list[SpeechSpan]:
        """The speech spans of ``pcm16k`` (the whole window so far), in seconds from its start.

        Raises ValueError if the window is shorter than what was already seen."""
        x = check_pcm(pcm16k)
        n = x.size // CHUNK
        if n < len(self._probs):
            raise ValueError(f"the window shrank from {len(self._probs)} to {n} chunks")
        if n > len(self._probs):
            new = x[len(self._probs) * CHUNK : n * CHUNK].astype(np.float32) / 32768.0
            probs, self._state = (self._vad or default_vad()).run_chunks(new, self._state)
            self._probs.extend(probs)
        return spans_from_probabilities(np.asarray(self._probs, np.float32),
                                        threshold=self.threshold, total=x.size / RATE)


def check_pcm(pcm16k: np.ndarray) -> np.ndarray:
    """Refuse anything but 1-D int16 samples, naming what was wrong."""
    if not isinstance(pcm16k, np.ndarray):
        raise TypeError(
            f"expected a numpy array of 16 kHz int16 samples, got {type(pcm16k).__name__}"
        )
    if pcm16k.ndim != 1 or pcm16k.dtype != np.int16:
        raise ValueError(
            f"expected 1-D int16 samples at 16 kHz, got {pcm16k.ndim}-D {pcm16k.dtype}"
        )
    return pcm16k


_vad: SileroVad | None = None
_vad_lock = threading.Lock()


def default_vad() -> SileroVad:
    """The process-wide VAD (loading the model once costs ~50 ms)."""
    global _vad
    with _vad_lock:
        if _vad is None:
            _vad = SileroVad()
        return _vad


def spans_from_probabilities(
    probs: np.ndarray,
    threshold: float = 0.5,
    min_speech: float = 0.09,  # a clipped Mandarin "bu4" is 0.16 s of speech
    min_silence: float = 0.15,
    pad: float = 0.05,
    total: float | None = None,
) -> list[SpeechSpan]:
    """Hysteresis over chunk probabilities (silero's rule): enter at threshold, leave at -0.15."""
    step = CHUNK / RATE
    total = len(probs) * step if total is None else total
    low = max(threshold - 0.15, 0.01)
    raw: list[list[float]] = []
    start = None
    silent_since = None
    for i, p in enumerate(probs):
        t = i * step
        if start is None:
            if p >= threshold:
                start, silent_since = t, None
            continue
        if p >= low:
            silent_since = None
            continue
        if silent_since is None:
            silent_since = t
        if t + step - silent_since >= min_silence:
            raw.append([start, silent_since])
            start, silent_since = None, None
    if start is not None:
        raw.append([start, len(probs) * step])
    spans: list[SpeechSpan] = []
    for a, b in raw:
        if b - a < min_speech:
            continue
        a, b = max(0.0, a - pad), min(total, b + pad)
        if spans and a <= spans[-1].end:
            spans[-1] = SpeechSpan(spans[-1].start, b)
        else:
            spans.append(SpeechSpan(round(a, 3), round(b, 3)))
    return spans


def detect_speech(pcm16k: np.ndarray, threshold: float = 0.5) -> list[SpeechSpan]:
    """Stretches of speech in 16 kHz mono int16 audio, in seconds from its start."""
    probs = default_vad().probabilities(pcm16k)
    return spans_from_probabilities(probs, threshold=threshold, total=pcm16k.size / RATE)


def window_snr_db(pcm16k: np.ndarray, spans: list[SpeechSpan],
                  margin: float = 0.15) -> float | None:
    """Speech-to-noise ratio of a window in dB: the level inside the speech spans against the
    level outside them (at least ``margin`` seconds away). None when either part is too short
    to measure (under 0.2 s)."""
    x = pcm16k.astype(np.float64)
    inside = np.zeros(x.size, bool)
    near = np.zeros(x.size, bool)
    for s in spans:
        a, b = int(s.start * RATE), int(s.end * RATE)
        inside[max(0, a) : b] = True
        m = int(margin * RATE)
        near[max(0, a - m) : b + m] = True
    speech, noise = x[inside], x[~near]
    if speech.size < 0.2 * RATE or noise.size < 0.2 * RATE:
        return None
    p_noise = float(np.mean(noise**2)) + 1.0  # +1: digital silence is not infinitely quiet
    p_speech = max(float(np.mean(speech**2)) - p_noise, 1.0)
    return round(10 * np.log10(p_speech / p_noise), 1)
