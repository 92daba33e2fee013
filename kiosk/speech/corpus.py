"""Synthetic spoken answers (espeak-ng) with noise, generated at run time for tests and eval."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from kiosk.speech.audio import RATE, pcm_from_array

EN_VOICES = ["gmw/en-US", "gmw/en", "gmw/en-US+f3", "gmw/en+m3", "gmw/en-GB-x-rp+f2", "gmw/en-029"]
ZH_VOICES = ["sit/cmn-Latn-pinyin", "sit/cmn-Latn-pinyin+f3", "sit/cmn-Latn-pinyin+m3",
             "sit/cmn-Latn-pinyin+f2"]

# True intent -> utterances. "unclear" is speech that is neither yes nor no.
EN_TEXTS = {
    # Consents as the guide asks for them ("please answer: yes, I understand").
    "affirm": ["yes", "yes I understand", "yes I do", "yes I agree", "yes, I understand",
               "yes I have"],
    # Refusals, including the ones one swallowed syllable away from a consent.
    "deny": ["no", "I do not", "I disagree", "no I do not", "no I don't", "I don't agree",
             "I do not agree", "I don't understand", "no, I refuse"],
    "unclear": ["can you repeat the question", "hold on a second", "maybe later",
                "what was that", "wait please"],
}
# Pinyin with tone digits, as sit/cmn-Latn-pinyin reads it.
ZH_TEXTS = {
    "affirm": ["shi4 de5", "shi4 de5 wo3 tong2 yi4", "wo3 tong2 yi4", "dui4", "hao3 de5",
               "wo3 ming2 bai2", "tong2 yi4"],
    "deny": ["bu4", "bu4 tong2 yi4", "wo3 bu4 tong2 yi4", "bu2 shi4", "bu2 dui4", "mei2 you3",
             "wo3 ju4 jue2", "bu2 yuan4 yi4"],
    "unclear": ["qing3 zai4 shuo1 yi2 bian4", "shen2 me5", "deng3 yi2 xia4", "na4 ge5"],
}
BABBLE_TEXTS = [
    "the weather today is fine and the market opened higher",
    "please take a number and wait for your turn at the counter",
    "we will call you back later this afternoon about the order",
    "the train to the city leaves from platform four at noon",
]


def require_espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    return exe


def synthesize(text: str, voice: str = "gmw/en-US", wpm: int = 160) -> np.ndarray:
    """Speak ``text`` with espeak-ng and return 16 kHz mono int16 samples."""
    if not text.strip():
        raise ValueError("nothing to speak: text is empty")
    proc = subprocess.run(
        [require_espeak(), "-v", voice, "-s", str(int(wpm)), "--stdout", text],
        capture_output=True, timeout=30, check=False,
    )
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError(f"espeak-ng failed for voice {voice!r}: {proc.stderr.decode()[:200]}")
    # espeak-ng writes a streaming WAV whose size fields are 0xFFFFFFFF; wave still reads it.
    with wave.open(io.BytesIO(proc.stdout)) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    return pcm_from_array(data, rate)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0


@lru_cache(maxsize=1)
def _babble_bed() -> np.ndarray:
    """Four talkers at once, looped as a noise bed."""
    voices = ["gmw/en-US", "gmw/en+f3", "gmw/en-US+m3", "gmw/en+f2"]
    parts = [synthesize(t, v, 170).astype(np.float64)
             for t, v in zip(BABBLE_TEXTS, voices, strict=True)]
    n = max(p.size for p in parts)
    bed = np.zeros(n)
    for i, p in enumerate(parts):
        bed += np.roll(np.pad(p, (0, n - p.size), mode="wrap"), i * n // 4)
    return bed


def add_noise(pcm: np.ndarray, kind: str, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Mix white or babble noise in at ``snr_db`` relative to the speech's RMS."""
    if kind == "none":
        return pcm
    signal = pcm.astype(np.float64)
    level = rms(pcm[np.abs(pcm) > 100]) or 1000.0  # speech RMS, not diluted by the padding
    if kind == "white":
        noise = rng.standard_normal(pcm.size)
    elif kind == "babble":
        bed = _babble_bed()
        start = int(rng.integers(0, bed.size))
        noise = np.resize(np.roll(bed, -start), pcm.size)
    else:
        raise ValueError(f"unknown noise kind {kind!r}: use none, white or babble")
    noise *= level / (rms(noise) or 1.0) / (10 ** (snr_db / 20))
    return np.clip(signal + noise, -32768, 32767).astype(np.int16)


def noise_burst(seconds: float, rng: np.random.Generator, amplitude: int = 20000) -> np.ndarray:
    """A loud broadband burst (a cough-like click or a knock), not speech."""
    n = int(seconds * RATE)
    env = np.exp(-np.linspace(0, 6, n))
    return np.clip(rng.standard_normal(n) * amplitude * env, -32768, 32767).astype(np.int16)


@dataclass
class CorpusItem:
    """One synthetic answer and what it really is."""

    locale: str
    text: str
    intent: str  # affirm | deny | unclear | silence
    voice: str
    wpm: int
    noise: str
    snr_db: float
    pcm: np.ndarray = field(repr=False)


def make_item(locale: str, intent: str, rng: np.random.Generator, noisy: bool = True) -> CorpusItem:
    """One random answer of the given true intent, with random voice, speed, padding and noise."""
    texts, voices = (EN_TEXTS, EN_VOICES) if locale == "en" else (ZH_TEXTS, ZH_VOICES)
    voice = str(rng.choice(voices))
    wpm = int(rng.integers(130, 191))
    noise, snr = [("none", 99.0), ("white", 20.0), ("white", 10.0), ("babble", 20.0),
                  ("babble", 10.0)][int(rng.integers(0, 5))]
    if not noisy:
        noise, snr = "none", 99.0
    lead = np.zeros(int(RATE * rng.uniform(0.3, 1.2)), np.int16)
    tail = np.zeros(int(RATE * rng.uniform(0.4, 1.0)), np.int16)
    if intent == "silence":
        text = ""
        body = np.zeros(int(RATE * rng.uniform(1.0, 2.5)), np.int16)
        if rng.random() < 0.6:  # a knock or a click in an otherwise silent window
            burst = noise_burst(rng.uniform(0.05, 0.3), rng)
            at = int(rng.integers(0, body.size - burst.size))
            body[at : at + burst.size] = burst
        # Babble is speech, so a silent window only gets a white noise floor (a quiet room, a fan).
        noise, level = [("none", 0.0), ("white", 30.0), ("white", 300.0)][int(rng.integers(0, 3))]
        if not noisy:
            noise, level = "none", 0.0
        snr = 99.0
        pcm = np.concatenate([lead, body, tail]).astype(np.float64)
        pcm += rng.standard_normal(pcm.size) * level
        pcm = np.clip(pcm, -32768, 32767).astype(np.int16)
        return CorpusItem(locale, text, intent, voice, wpm, noise, snr, pcm)
    text = str(rng.choice(texts[intent]))
    speech = synthesize(text, voice, wpm)
    pcm = add_noise(np.concatenate([lead, speech, tail]), noise, snr, rng)
    return CorpusItem(locale, text, intent, voice, wpm, noise, snr, pcm)


def make_corpus(locale: str, n: int, seed: int = 0, noisy: bool = True) -> list[CorpusItem]:
    """``n`` answers: about 35% affirm, 35% deny, 15% other speech, 15% silence or a noise burst."""
    if locale not in ("en", "zh"):
        raise ValueError(f"unknown corpus locale {locale!r}: use en or zh")
    rng = np.random.default_rng(seed)
    plan = ["affirm"] * 7 + ["deny"] * 7 + ["unclear"] * 3 + ["silence"] * 3
    return [make_item(locale, plan[i % len(plan)], rng, noisy) for i in range(n)]
