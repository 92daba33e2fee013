"""Whisper in its own process: CTranslate2 never loads into the server (or a test) process.

CTranslate2 brings its own OpenMP runtime and native decoder; in the media server's process it
would share the address space with aiortc, PyAV and mediapipe. A crash or a hang there must not
take live sessions down, so ``WhisperProcess`` runs faster-whisper in one spawned worker
(``concurrent.futures`` process pool of size 1). A worker that dies is replaced once per call;
one that hangs past the timeout is killed, and the call fails with a clear error (the answer is
then flagged for a human by the caller).
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import threading
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# Set in the worker process only.
_model = None


def _exit_with_parent(parent: int) -> None:
    """A SIGKILLed server cannot stop its worker, and the worker's queue never sees EOF (it
    holds both ends): so the worker watches its parent and exits when it is gone."""
    import time

    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _init(model_dir: str, threads: int, parent: int) -> None:
    global _model
    threading.Thread(target=_exit_with_parent, args=(parent,), name="kiosk-whisper-watch",
                     daemon=True).start()
    from faster_whisper import WhisperModel

    _model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)


def _ping() -> int:
    return os.getpid()


def _transcribe(pcm: bytes, language: str, hotwords: str | None) -> list[tuple]:
    audio = np.frombuffer(pcm, np.int16).astype(np.float32) / 32768.0
    segments, _info = _model.transcribe(
        audio, language=language, beam_size=1, temperature=0.0, vad_filter=False,
        condition_on_previous_text=False, without_timestamps=True, hotwords=hotwords or None,
    )
    return [(s.text, float(s.avg_logprob), float(s.no_speech_prob), float(s.compression_ratio))
            for s in segments]


class WhisperProcess:
    """One Whisper worker process; calls are serialised (one answer at a time per worker)."""

    def __init__(self, model_dir: str | Path, threads: int = 1, timeout: float = 60.0):
        self.model_dir = str(model_dir)
        self.threads = threads
        self.timeout = timeout
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init, initargs=(self.model_dir, self.threads, os.getpid()),
            )
        return self._pool

    def _call(self, fn, *args):
        with self._lock:
            for attempt in (1, 2):
                try:
                    # submit() itself raises BrokenProcessPool once the pool saw its worker die.
                    future = self._get_pool().submit(fn, *args)
                    return future.result(timeout=self.timeout)
                except BrokenProcessPool:
                    log.error("the Whisper worker died (attempt %d); starting a new one", attempt)
                    self._drop(kill=False)
                    if attempt == 2:
                        raise RuntimeError("the Whisper worker died twice on this answer") from None
                except concurrent.futures.TimeoutError:
                    self._drop(kill=True)
                    raise RuntimeError(
                        f"the Whisper worker did not answer within {self.timeout:g} s"
                    ) from None

    def _drop(self, kill: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def pid(self) -> int:
        """Start the worker (loading the model) if needed and return its process id."""
        return self._call(_ping)

    def transcribe(self, pcm16k: np.ndarray, language: str, hotwords: str | None) -> list[tuple]:
        """[(text, avg_logprob, no_speech_prob, compression_ratio)] per segment."""
        return self._call(_transcribe, np.ascontiguousarray(pcm16k, np.int16).tobytes(),
                          language, hotwords)

    def close(self) -> None:
        with self._lock:
            self._drop(kill=False)


_shared: dict[str, WhisperProcess] = {}
_shared_lock = threading.Lock()


def shared(model_dir: str | Path) -> WhisperProcess:
    """One worker per model for the whole process (English and Mandarin share it)."""
    key = str(Path(model_dir).resolve())
    with _shared_lock:
        if key not in _shared:
            _shared[key] = WhisperProcess(key)
        return _shared[key]
