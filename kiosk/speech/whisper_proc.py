"""Whisper in its own process: CTranslate2 never loads into the server (or a test) process.

CTranslate2 brings its own OpenMP runtime and native decoder; in the media server's process it
would share the address space with aiortc, PyAV and mediapipe. A crash or a hang there must not
take live sessions down, so ``WhisperProcess`` runs faster-whisper in one spawned worker
(``kiosk.workers.WorkerProcess``). A worker that dies is replaced once per call; one that hangs
past the timeout is killed, and the call fails with a clear error (the answer is then flagged
for a human by the caller).

The worker runs the CTranslate2 Whisper model directly, with faster-whisper's feature extractor
and tokenizer, on a window sized to the answer (its length plus 1.5 s, rounded up to 2 s, at
least 8 s) instead of the fixed 30 s window faster-whisper's ``transcribe`` always encodes.
Measured on this 2-core machine with one thread: a 1 s answer took 2.0-2.3 s through
``transcribe`` and 0.38 s this way; a 9 s read-aloud 2.2 s and 0.6-0.9 s; transcripts of 27
tuning clips were of the same quality (whisper.cpp's ``--audio-ctx`` is the same idea).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from kiosk.workers import WorkerProcess

log = logging.getLogger(__name__)

# Set in the worker process only.
_model = None
_features = None
_tokenizers: dict = {}
_model_dir = ""
# Encoder window: the answer plus this margin, rounded up to WINDOW_STEP_S, at least
# MIN_WINDOW_S (below 6 s Whisper base repeated short answers: "Yes, I do." 16 times on 4 s
# windows, never on 6-14 s ones over 18 tuning clips), at most 30 s.
WINDOW_MARGIN_S = 1.5
WINDOW_STEP_S = 2.0
MIN_WINDOW_S = 8.0
MAX_TOKENS = 160


def _init(model_dir: str, threads: int) -> None:
    global _model, _features, _model_dir
    import ctranslate2
    from faster_whisper.feature_extractor import FeatureExtractor

    _model = ctranslate2.models.Whisper(model_dir, device="cpu", compute_type="int8",
                                        intra_threads=threads)
    _features = FeatureExtractor(feature_size=_model.n_mels)
    _model_dir = model_dir


def _tokenizer(language: str):
    if language not in _tokenizers:
        import tokenizers
        from faster_whisper.tokenizer import Tokenizer

        raw = tokenizers.Tokenizer.from_file(os.path.join(_model_dir, "tokenizer.json"))
        assert _model is not None, "_init() loads the model when the worker starts"
        _tokenizers[language] = Tokenizer(raw, _model.is_multilingual, task="transcribe",
                                          language=language)
    return _tokenizers[language]


def window_frames(samples: int, rate: int = 16000) -> int:
    """Mel frames (10 ms) the encoder sees for an answer of ``samples``: see the docstring."""
    import math

    seconds = samples / rate + WINDOW_MARGIN_S
    seconds = max(MIN_WINDOW_S, math.ceil(seconds / WINDOW_STEP_S) * WINDOW_STEP_S)
    return int(min(30.0, seconds) * 100)


def _prepare(pcm: bytes, language: str, hotwords: str | None):
    """(features, prompt, token limit, tokenizer) for one answer's audio."""
    import ctranslate2

    assert _model is not None and _features is not None, "_init() runs when the worker starts"
    audio = np.frombuffer(pcm, np.int16).astype(np.float32) / 32768.0
    frames = window_frames(audio.size)
    # Pad the AUDIO with silence (not the features with zeros): a zero log-mel frame is loud
    # noise to Whisper, and zero-padded features made it repeat an answer up to 20 times.
    padded = np.zeros(frames * 160, np.float32)
    padded[: min(audio.size, padded.size)] = audio[: padded.size]
    feats = _features(padded)[:, :frames]
    if feats.shape[1] < frames:
        feats = np.pad(feats, ((0, 0), (0, frames - feats.shape[1])), mode="edge")
    tok = _tokenizer(language)
    prompt, limit = _prompt(tok, hotwords, audio.size)
    x = ctranslate2.StorageView.from_array(np.ascontiguousarray(feats[None], np.float32))
    return x, prompt, limit, tok


def _prompt(tok, hotwords: str | None, samples: int) -> tuple[list[int], int]:
    """The decoder prompt for ``hotwords`` and its token limit for an answer of ``samples``."""
    prompt = []
    if hotwords:  # the decoding bias, as faster-whisper's get_prompt places it
        prompt = [tok.sot_prev] + tok.encode(" " + hotwords.strip())[: MAX_TOKENS // 2 - 1]
    prompt += list(tok.sot_sequence) + [tok.no_timestamps]
    # A person says at most ~8 tokens a second; more is Whisper looping.
    return prompt, min(MAX_TOKENS, len(prompt) + 16 + int(12 * samples / 16000))


# The encoder's output for the last audio encoded: (digest of its PCM, output). A verdict
# decodes the same answer more than once (the first decode, then a consent's or a reading's
# second opinion without bias, a rescue, a forced choice); the encoder dominates each call's
# cost, so a follow-up call on the same audio reuses it. One entry: calls are serialised.
_last_encoded: tuple[bytes, object] | None = None


def _encoded(pcm: bytes, x):
    """The encoder's output for features ``x`` of ``pcm``, from the one-entry cache when the
    same audio was encoded last."""
    global _last_encoded
    import hashlib

    assert _model is not None
    key = hashlib.blake2b(pcm, digest_size=16).digest()
    if _last_encoded is not None and _last_encoded[0] == key:
        return _last_encoded[1]
    out = _model.encode(x)
    _last_encoded = (key, out)
    return out


def _transcribe(pcm: bytes, language: str, hotwords: str | None) -> list[tuple]:
    import zlib

    x, prompt, limit, tok = _prepare(pcm, language, hotwords)
    assert _model is not None
    r = _model.generate(_encoded(pcm, x), [prompt], beam_size=1, max_length=limit,
                        return_scores=True, return_no_speech_prob=True, suppress_blank=True)[0]
    ids = [t for t in r.sequences_ids[0] if t < tok.eot]
    text = tok.decode(ids)
    raw = text.encode("utf-8")
    ratio = len(raw) / max(1, len(zlib.compress(raw))) if raw else 0.0
    return [(text, float(r.scores[0]), float(r.no_speech_prob), float(ratio))]


def _alternatives(pcm: bytes, language: str, hotwords: str | None, n: int) -> list[tuple]:
    x, prompt, limit, tok = _prepare(pcm, language, hotwords)
    assert _model is not None
    r = _model.generate(_encoded(pcm, x), [prompt], beam_size=n, num_hypotheses=n,
                        max_length=limit,
                        return_scores=True, suppress_blank=True)[0]
    return [(tok.decode([t for t in ids if t < tok.eot]), float(score))
            for ids, score in zip(r.sequences_ids, r.scores, strict=True)]


# ``_beams(upto=...)``: tokens beyond twice the text's own.
UPTO_MARGIN_TOKENS = 6


def _beams(pcm: bytes, language: str, biases: list, n: int,
           upto: str | None = None) -> list[list[tuple]]:
    """One beam search of width ``n`` per entry of ``biases`` (hotwords or None), all from ONE
    pass of the encoder (its cost dominates a short answer's decode). ``upto``: decode only
    about as far as this text would reach (twice its tokens, plus ``UPTO_MARGIN_TOKENS``: a
    traditional character may take more tokens than the simplified one written)."""
    x, _, _, tok = _prepare(pcm, language, None)
    assert _model is not None
    encoded = _encoded(pcm, x)
    samples = len(pcm) // 2
    out = []
    for hotwords in biases:
        prompt, limit = _prompt(tok, hotwords, samples)
        if upto:
            limit = min(limit, len(prompt) + 2 * len(tok.encode(" " + upto))
                        + UPTO_MARGIN_TOKENS)
        r = _model.generate(encoded, [prompt], beam_size=n, num_hypotheses=n, max_length=limit,
                            return_scores=True, suppress_blank=True)[0]
        out.append([(tok.decode([t for t in ids if t < tok.eot]), float(score))
                    for ids, score in zip(r.sequences_ids, r.scores, strict=True)])
    return out


def _token_bytes(tok, ids: list[int]) -> list[int]:
    """How many UTF-8 bytes of the text each of ``ids`` stands for. Whisper's tokens are
    byte-level BPE, written one printable character per byte (GPT-2's table), so a token's
    length is its byte count; a Chinese character is often split over two tokens, so a tail is
    located by bytes, not tokens."""
    return [len(tok.tokenizer.id_to_token(i) or "") for i in ids]


def _forced_choice(pcm: bytes, language: str, hotwords: str | None,
                   texts: list[str]) -> list[list[tuple[int, float]]]:
    """Each of ``texts`` teacher-forced on the same audio (CTranslate2 ``Whisper.align``, one
    batch after one pass of the encoder): per text, [(UTF-8 bytes, log probability)] for each
    of its tokens, in order. The prompt is the greedy decode's (``_prompt``), so a candidate
    is scored as the first decode would have written it."""
    x, prompt, _, tok = _prepare(pcm, language, hotwords)
    assert _model is not None
    encoded = _encoded(pcm, x)
    ids = [tok.encode(t) for t in texts]
    if len(ids) > 1:  # align takes one row of features per text
        import ctranslate2  # (in the worker process only, like every CTranslate2 import here)

        encoded = ctranslate2.StorageView.from_array(
            np.ascontiguousarray(np.repeat(np.asarray(encoded), len(ids), axis=0)))
    frames = int(x.shape[2])
    results = _model.align(encoded, prompt, ids, [frames] * len(ids))
    out = []
    for row, r in zip(ids, results, strict=True):
        probs = list(r.text_token_probs)[: len(row)]
        out.append([(n, float(np.log(max(p, 1e-12))))
                    for n, p in zip(_token_bytes(tok, row), probs, strict=True)])
    return out


class WhisperProcess:
    """One Whisper worker process (``kiosk.workers``); calls are serialised (one answer at a
    time per worker). Errors: ``kiosk.workers.WorkerError`` when the worker dies twice on one
    answer or does not answer within ``timeout`` seconds."""

    def __init__(self, model_dir: str | Path, threads: int = 1, timeout: float = 60.0):
        self.model_dir = str(model_dir)
        self.threads = threads
        self.timeout = timeout
        self._worker = WorkerProcess("Whisper", _init, (self.model_dir, threads), timeout)

    def _call(self, fn, *args):
        return self._worker.call(fn, *args)

    def pid(self) -> int:
        """Start the worker (loading the model) if needed and return its process id."""
        return self._worker.pid()

    def transcribe(self, pcm16k: np.ndarray, language: str, hotwords: str | None) -> list[tuple]:
        """[(text, avg_logprob, no_speech_prob, compression_ratio)] per segment."""
        return self._call(_transcribe, np.ascontiguousarray(pcm16k, np.int16).tobytes(),
                          language, hotwords)

    def alternatives(self, pcm16k: np.ndarray, language: str, hotwords: str | None,
                     n: int = 5) -> list[tuple]:
        """The ``n`` best hypotheses of a beam search of width ``n``: [(text, avg_logprob)],
        best first (a second decode of the same audio, for a transcript that was unclear)."""
        return self._call(_alternatives, np.ascontiguousarray(pcm16k, np.int16).tobytes(),
                          language, hotwords, n)

    def beams(self, pcm16k: np.ndarray, language: str, biases: list[str | None],
              n: int = 5, upto: str | None = None) -> list[list[tuple]]:
        """``alternatives`` for each decoding bias in ``biases`` (hotwords, or None for none),
        the audio encoded once: [[(text, avg_logprob)] per bias], each best first. ``upto``:
        stop about where this text (the start of what was to be said) would end."""
        return self._call(_beams, np.ascontiguousarray(pcm16k, np.int16).tobytes(),
                          language, list(biases), n, upto)

    def forced_choice(self, pcm16k: np.ndarray, language: str, hotwords: str | None,
                      texts: list[str]) -> list[list[tuple[int, float]]]:
        """Each of ``texts`` teacher-forced on the audio (one encoder pass, one batched
        ``align``): per text, [(UTF-8 bytes, log probability)] per token, in order."""
        return self._call(_forced_choice, np.ascontiguousarray(pcm16k, np.int16).tobytes(),
                          language, hotwords, list(texts))

    def close(self) -> None:
        self._worker.close()


_shared: dict[str, WhisperProcess] = {}
_shared_lock = threading.Lock()


def shared(model_dir: str | Path) -> WhisperProcess:
    """One worker per model for the whole process (English and Mandarin share it)."""
    key = str(Path(model_dir).resolve())
    with _shared_lock:
        if key not in _shared:
            # Two threads: answers are decoded one at a time, and on 2 cores a 1 s answer
            # took 0.38 s with one thread (0.2-0.25 s with two when the other core is free).
            _shared[key] = WhisperProcess(key, threads=min(2, os.cpu_count() or 1))
        return _shared[key]
