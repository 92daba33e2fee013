"""The guide's voice: spoken prompts rendered to WAV by pyttsx3 on espeak-ng, cached by hash.

Design: one long-lived worker *process* per (voice, rate) pair (``worker.py``). Each worker owns
one pyttsx3 engine whose voice and rate are set once and checked after a warm-up, and it
serves one utterance at a time. That sidesteps every known pyttsx3 fault: per-utterance voice
and rate changes (never done), threads sharing an engine (one thread per engine), early
``runAndWait`` returns (the worker waits for ``finished-utterance`` and checks the file) and
hangs (every request has a deadline; a late worker is killed and the next call starts a fresh
one). A warm worker renders a sentence in ~15 ms (measured), versus ~75 ms for a process per
utterance; starting a worker (with its warm-up) costs ~65 ms once.

Cache layout in ``cache_dir``::

    <sha256>.wav            the prompt audio; the name is the sha256 of the file's bytes
    <sha256>.visemes.json   {"sha256", "duration", "frame_seconds", "visemes": [[t, open], ...]}
    index/<key>.json        {"sha256", "duration"}; key = sha256(engine, voice, rate, spoken)

The voice never gets the written text: ``render`` passes it through ``kiosk.guide.normalise``
(or takes the caller's ``spoken`` text, where flow variables were read by their declared
reading), and the cache key covers that spoken text. The prompt's mouth timeline is measured
on the spoken audio itself, so lip-sync follows the normalised words.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import ctypes.util
import functools
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import re
import select
import subprocess
import sys
import threading
import time
import uuid
import wave
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from kiosk.atomic_files import sha256_file as _file_sha256
from kiosk.atomic_files import write_atomic as _write_atomic
from kiosk.errors import GuideError
from kiosk.guide.normalise import speakable
from kiosk.guide.visemes import FRAME_SECONDS, mouth_timeline

log = logging.getLogger(__name__)

# Bump when the post-processing below changes the bytes of a rendered prompt.
PIPELINE_VERSION = "kiosk-guide/1"
SAMPLE_RATE = 22050
# espeak-ng starts speaking on the first sample and ends ~50 ms after the last phoneme.
# Browsers often swallow the first few ms of an <audio> element, and the avatar needs a closed
# mouth before and after speech, so every prompt gets this much silence on each side.
LEAD_SILENCE_SECONDS = 0.10
TAIL_SILENCE_SECONDS = 0.15
MAX_TEXT_CHARS = 2000
MIN_RATE, MAX_RATE = 80, 450  # espeak-ng's usable words-per-minute range
MAX_WORKERS = 4  # distinct (voice, rate) processes kept alive; least recently used goes first
MAX_MEMO = 1024

DEFAULT_VOICES = {"zh-CN": "sit/cmn-latn-pinyin", "en": "gmw/en-us"}
DEFAULT_RATES = {"zh-CN": 165, "en": 160}

_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_WORKER_SCRIPT = Path(__file__).with_name("worker.py")


@dataclass(frozen=True)
class Prompt:
    """One rendered prompt: its audio file in the cache and its mouth timeline.

    ``text`` is what is written (the subtitle), ``spoken`` what the voice said.
    """

    sha256: str
    path: Path
    duration: float
    text: str
    locale: str
    visemes: list[tuple[float, float]] = field(repr=False)
    spoken: str = ""


def find_prompt(cache_dir: Path, sha256: str) -> Path | None:
    """The cached WAV named ``sha256``; None if the name is malformed, missing or tampered with."""
    if not isinstance(sha256, str) or not _SHA256_RE.fullmatch(sha256):
        return None
    root = Path(cache_dir).resolve()
    path = (root / f"{sha256}.wav").resolve()
    # A symlink planted in the cache must not lead a caller outside it.
    if path.parent != root or not path.is_file():
        return None
    if _file_sha256(path) != sha256:
        log.warning("cached prompt %s does not match its name; ignoring it", sha256[:12])
        return None
    return path


@functools.cache
def engine_version() -> str:
    """pyttsx3 and libespeak-ng versions: part of every cache key."""
    try:
        pyttsx3_version = importlib.metadata.version("pyttsx3")
    except importlib.metadata.PackageNotFoundError as exc:
        raise GuideError("pyttsx3 is not installed in this environment") from exc
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise GuideError(f"libespeak-ng not found ({name}): install espeak-ng") from exc
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    return f"pyttsx3 {pyttsx3_version}; espeak-ng {lib.espeak_Info(None).decode()}"




class _Worker:
    """One worker process for one (voice, rate); callers hold ``lock`` around ``render``."""

    def __init__(self, voice: str, rate: int):
        self.voice = voice
        self.rate = rate
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self._buf = b""
        self._next_id = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def render(self, text: str, out: Path, deadline: float, retry: bool = True) -> float:
        """Have the worker write ``text`` to ``out``; returns the worker's synthesis ms."""
        if self.proc is None or self.proc.poll() is not None:
            if self.proc is not None:
                log.warning("guide TTS worker for %s exited (status %s); restarting",
                            self.voice, self.proc.returncode)
            self._start(deadline)
        self._next_id += 1
        req_id = self._next_id
        reply = self._exchange({"id": req_id, "text": text, "out": str(out)}, deadline)
        if reply.get("id") != req_id:
            self.kill()
            raise GuideError(f"guide TTS worker answered request {reply.get('id')}, "
                             f"expected {req_id}; worker restarted")
        if not reply.get("ok"):
            if retry and "cancel" in str(reply.get("error")):
                # pyttsx3 sometimes cancels the first utterance of a fresh engine under load:
                # one retry on a new worker, within the same deadline.
                log.warning("guide TTS utterance cancelled; retrying on a fresh worker")
                self.kill()
                return self.render(text, out, deadline, retry=False)
            raise GuideError(f"guide TTS failed (voice {self.voice}, rate {self.rate}): "
                             f"{reply.get('error')}")
        return float(reply.get("ms", 0.0))

    # espeak occasionally keeps its default rate in a fresh engine (~1 start in 12 measured,
    # more under load): a worker that refuses to start is replaced this many times.
    START_ATTEMPTS = 4

    def _start(self, deadline: float, retry: bool = True, attempt: int = 1) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, str(_WORKER_SCRIPT), "--voice", self.voice,
                 "--rate", str(self.rate)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=env,
                close_fds=True,
            )
        except OSError as exc:
            raise GuideError(f"cannot start the guide TTS worker: {exc}") from exc
        self._buf = b""
        info = self._exchange(None, deadline)
        if not info.get("ready"):
            self.kill()
            if retry and attempt < self.START_ATTEMPTS and time.monotonic() < deadline:
                log.warning("guide TTS worker did not start (%s); starting another",
                            info.get("error"))
                return self._start(deadline, retry=True, attempt=attempt + 1)
            raise GuideError(f"guide TTS worker for voice {self.voice!r} rate {self.rate} "
                             f"did not start: {info.get('error')}")
        self.info = info
        log.info("guide TTS worker ready", extra={"voice": info.get("voice"),
                                                  "rate": info.get("rate"), "pid": self.proc.pid})

    def _exchange(self, request: dict | None, deadline: float) -> dict:
        """Send ``request`` (if any) and read one JSON line back before ``deadline``."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        try:
            if request is not None:
                self.proc.stdin.write((json.dumps(request) + "\n").encode())
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            raise GuideError(f"guide TTS worker died ({exc}); it restarts on the next call") \
                from exc
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise GuideError(f"guide TTS timed out (voice {self.voice}, rate {self.rate}); "
                                 "worker killed, a fresh one starts on the next call")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                status = self.proc.poll()
                self.kill()
                raise GuideError(f"guide TTS worker exited unexpectedly (status {status}); "
                                 "it restarts on the next call")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            self.kill()
            raise GuideError(f"guide TTS worker sent garbage: {line[:80]!r}") from exc

    def kill(self) -> None:
        """Kill the process now (it may be hung) and reap it."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("guide TTS worker %s did not die after SIGKILL", proc.pid)
        for stream in (proc.stdin, proc.stdout):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass

    def close(self) -> None:
        """Ask the worker to exit (stdin EOF), killing it if it does not within 1 s."""
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=1)
        except (subprocess.TimeoutExpired, OSError):
            pass
        self.kill()


class GuideVoice:
    """Renders prompts to cached WAVs through worker processes; safe to call from any thread."""

    def __init__(self, cache_dir: Path, voices: dict[str, str] = DEFAULT_VOICES,
                 rates: dict[str, int] = DEFAULT_RATES, timeout: float = 8.0):
        if timeout <= 0:
            raise ValueError(f"timeout must be positive seconds, got {timeout}")
        missing = set(voices) - set(rates)
        if missing:
            raise ValueError(f"no rate configured for locale(s) {sorted(missing)}")
        for locale, rate in rates.items():
            self._check_rate(rate, f"rate for {locale}")
        self.cache_dir = Path(cache_dir)
        self.voices = dict(voices)
        self.rates = dict(rates)
        self.timeout = float(timeout)  # seconds per render, worker start-up included
        self.stats = {"rendered": 0, "cache_hits": 0, "timeouts_or_failures": 0}
        self._lock = threading.Lock()
        self._workers: OrderedDict[tuple[str, int], _Worker] = OrderedDict()
        self._memo: OrderedDict[str, Prompt] = OrderedDict()
        self._inflight: dict[str, concurrent.futures.Future] = {}
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False
        for sub in ("", "index", "tmp"):
            (self.cache_dir / sub).mkdir(parents=True, exist_ok=True)

    # -- public API ---------------------------------------------------------------------------

    def render(self, text: str, locale: str, rate: int | None = None,
               spoken: str | None = None) -> Prompt:
        """The prompt for ``text`` in ``locale``: from the cache, or rendered now (blocking).

        The voice says ``spoken`` if given (the flow's spoken text), else
        ``speakable(text, locale)``; the cache is keyed by what is said. Raises GuideError.
        """
        voice, rate, text = self._validate(text, locale, rate)
        said = self._check_text(speakable(text, locale) if spoken is None else spoken,
                                "spoken text")
        key = self._cache_key(voice, rate, said)
        with self._lock:
            if self._closed:
                raise GuideError("GuideVoice is closed")
            prompt = self._memo.get(key)
            if prompt is not None:
                self._memo.move_to_end(key)
                self.stats["cache_hits"] += 1
                return prompt if prompt.text == text else replace(prompt, text=text)
            pending = self._inflight.get(key)
            if pending is None:
                pending = self._inflight[key] = concurrent.futures.Future()
                owner = True
            else:
                owner = False
        if not owner:  # the same prompt is being rendered by another thread: share its result
            shared: Prompt = pending.result()
            return shared if shared.text == text else replace(shared, text=text)
        try:
            prompt = self._from_disk(key, text, said, locale)
            if prompt is None:
                prompt = self._render_new(key, voice, rate, text, said, locale)
            else:
                with self._lock:
                    self.stats["cache_hits"] += 1
            with self._lock:
                self._memo[key] = prompt
                while len(self._memo) > MAX_MEMO:
                    self._memo.popitem(last=False)
            pending.set_result(prompt)
            return prompt
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def prerender(self, items: list[tuple[str, ...]]) -> concurrent.futures.Future:
        """Render ``[(text, locale), ...]`` or ``(text, locale, spoken)`` items in the
        background; a future of ``list[Prompt]``."""
        items = list(items)
        for i, item in enumerate(items):
            if not (isinstance(item, tuple) and len(item) in (2, 3)):
                raise ValueError(f"prerender item {i} must be a (text, locale) or (text, "
                                 f"locale, spoken) tuple, got {item!r}")
        with self._lock:
            if self._closed:
                raise GuideError("GuideVoice is closed")
            if self._executor is None:
                # One thread: the machine is small and each worker serves one utterance anyway.
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="guide-prerender")
            executor = self._executor
        return executor.submit(lambda: [
            self.render(item[0], item[1], spoken=item[2] if len(item) == 3 else None)
            for item in items])

    def engine_voice(self, locale: str, rate: int | None = None) -> str | None:
        """The voice id the running worker for ``locale`` really selected (None if not started)."""
        with self._lock:
            worker = self._workers.get(self._voice_rate(locale, rate))
        return worker.info.get("voice") if worker and worker.proc else None

    def worker_pid(self, locale: str, rate: int | None = None) -> int | None:
        """Process id of the worker serving ``locale`` (None if not running); for ops and tests."""
        with self._lock:
            worker = self._workers.get(self._voice_rate(locale, rate))
        return worker.pid if worker else None

    def close(self) -> None:
        """Stop the background renderer and every worker process."""
        with self._lock:
            self._closed = True
            workers = list(self._workers.values())
            self._workers.clear()
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            with worker.lock:
                worker.close()

    def __enter__(self) -> GuideVoice:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _check_rate(rate, what: str) -> int:
        if isinstance(rate, bool) or not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
            raise GuideError(f"{what} must be an integer {MIN_RATE}..{MAX_RATE} words per "
                             f"minute, got {rate!r}")
        return rate

    def _voice_rate(self, locale: str, rate: int | None) -> tuple[str, int]:
        if locale not in self.voices:
            raise GuideError(f"no guide voice for locale {locale!r}; "
                             f"configured: {sorted(self.voices)}")
        rate = self.rates[locale] if rate is None else self._check_rate(rate, "rate")
        return self.voices[locale], rate

    def _validate(self, text, locale, rate) -> tuple[str, int, str]:
        voice, rate = self._voice_rate(locale, rate)
        return voice, rate, self._check_text(text, "prompt text")

    @staticmethod
    def _check_text(text, what: str) -> str:
        if not isinstance(text, str):
            raise GuideError(f"{what} must be a string, got {type(text).__name__}")
        text = text.strip()
        if not text:
            raise GuideError(f"{what} is empty")
        if len(text) > MAX_TEXT_CHARS:
            raise GuideError(f"{what} is {len(text)} characters; the limit is "
                             f"{MAX_TEXT_CHARS}")
        if "\x00" in text:
            raise GuideError(f"{what} contains a NUL character")
        return text

    @staticmethod
    def _cache_key(voice: str, rate: int, text: str) -> str:
        body = json.dumps({"pipeline": PIPELINE_VERSION, "engine": engine_version(),
                           "voice": voice.lower(), "rate": rate, "text": text},
                          sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()

    def _from_disk(self, key: str, text: str, said: str, locale: str) -> Prompt | None:
        index = self.cache_dir / "index" / f"{key}.json"
        try:
            entry = json.loads(index.read_text(encoding="utf-8"))
            sha = entry["sha256"]
            path = find_prompt(self.cache_dir, sha)
            if path is None:
                return None
            vis = json.loads((self.cache_dir / f"{sha}.visemes.json").read_text(encoding="utf-8"))
            visemes = [(float(t), float(v)) for t, v in vis["visemes"]]
            return Prompt(sha, path, float(entry["duration"]), text, locale, visemes, said)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or damaged entry: render again

    def _worker(self, voice: str, rate: int) -> _Worker:
        with self._lock:
            worker = self._workers.get((voice, rate))
            if worker is None:
                worker = self._workers[(voice, rate)] = _Worker(voice, rate)
            self._workers.move_to_end((voice, rate))
            evicted = []
            while len(self._workers) > MAX_WORKERS:
                evicted.append(self._workers.popitem(last=False)[1])
        for old in evicted:
            with old.lock:
                old.close()
        return worker

    def _render_new(self, key: str, voice: str, rate: int, text: str, said: str,
                    locale: str) -> Prompt:
        raw = self.cache_dir / "tmp" / f"{uuid.uuid4().hex}.wav"
        worker = self._worker(voice, rate)
        t0 = time.perf_counter()
        try:
            with worker.lock:
                synth_ms = worker.render(said, raw, time.monotonic() + self.timeout)
            wav_bytes, samples = self._finish_wav(raw)
        except GuideError:
            with self._lock:
                self.stats["timeouts_or_failures"] += 1
            raise
        finally:
            raw.unlink(missing_ok=True)

        sha = hashlib.sha256(wav_bytes).hexdigest()
        path = self.cache_dir / f"{sha}.wav"
        if not path.exists():
            _write_atomic(path, wav_bytes)
        duration = round(len(samples) / SAMPLE_RATE, 4)
        visemes = mouth_timeline(samples, SAMPLE_RATE)
        vis_doc = {"sha256": sha, "duration": duration, "frame_seconds": FRAME_SECONDS,
                   "visemes": [list(p) for p in visemes]}
        _write_atomic(self.cache_dir / f"{sha}.visemes.json",
                      json.dumps(vis_doc, separators=(",", ":")).encode())
        _write_atomic(self.cache_dir / "index" / f"{key}.json",
                      json.dumps({"sha256": sha, "duration": duration}).encode())
        with self._lock:
            self.stats["rendered"] += 1
        # The text itself is not logged: a prompt may carry the applicant's name.
        log.info("guide prompt rendered", extra={
            "locale": locale, "sha256": sha[:12], "chars": len(text), "duration": duration,
            "synth_ms": round(synth_ms, 1), "total_ms": round((time.perf_counter() - t0) * 1e3, 1)})
        return Prompt(sha, path, duration, text, locale, visemes, said)

    @staticmethod
    def _finish_wav(raw: Path) -> tuple[bytes, np.ndarray]:
        """Check the engine's WAV and pad it with silence; the final bytes and samples."""
        try:
            with wave.open(str(raw), "rb") as wav:
                params = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
                frames = wav.readframes(wav.getnframes())
        except (OSError, EOFError, wave.Error) as exc:
            raise GuideError(f"guide TTS produced an unreadable WAV: {exc}") from exc
        if params != (SAMPLE_RATE, 1, 2):
            raise GuideError(f"guide TTS produced rate/channels/width {params}, "
                             f"expected {(SAMPLE_RATE, 1, 2)}")
        speech = np.frombuffer(frames, dtype="<i2")
        if speech.size == 0 or not speech.any():
            raise GuideError("guide TTS produced silence only")
        samples = np.concatenate([
            np.zeros(int(LEAD_SILENCE_SECONDS * SAMPLE_RATE), dtype="<i2"), speech,
            np.zeros(int(TAIL_SILENCE_SECONDS * SAMPLE_RATE), dtype="<i2")])
        buf = io.BytesIO()
        with wave.open(buf, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(samples.tobytes())
        return buf.getvalue(), samples

