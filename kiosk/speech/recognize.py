"""What did the investor say: the recogniser that picks an engine per locale and hears a window.

``Recognizer.verify`` finds the speech (silero VAD), decodes it with the locale's engine
(``kiosk.speech.engines``: Whisper, else the pocketsphinx grammar), hears a repeated answer
utterance by utterance, distrusts a consent heard in noise, and returns an ``Answer``.
``kiosk.speech.decide`` turns an ``Answer`` into pass/stop/retry/flag.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.speech import models
from kiosk.speech.answers import READING_MAX_ERROR, UNDERSTANDING_ONLY, understanding_only
from kiosk.speech.engines.base import INTENTS, Engine, Recognition
from kiosk.speech.engines.grammar import MIN_POSTERIOR, PocketSphinxGrammar
from kiosk.speech.engines.whisper import WHISPER_MIN_CONFIDENCE, WhisperEngine
from kiosk.speech.expected import Expected
from kiosk.speech.vad import RATE, SpeechSpan, check_pcm, detect_speech, window_snr_db
from kiosk.speech.words import normalize_locale

log = logging.getLogger(__name__)

# Below this speech-to-noise ratio (dB) a Whisper consent is not trusted (see Recognizer.verify).
MIN_CONSENT_SNR_DB = 12.0


@dataclass(frozen=True)
class Answer:
    """What was heard in one answer window."""

    speech_present: bool
    transcript: str
    intent: str
    score: float
    engine: str
    model_sha256: str
    spans: list[SpeechSpan]
    ms: float
    note: str = ""  # why the engine or a check decided so (evidence only, never shown)
    negation: bool = False  # a negation heard in some decode, maybe not in the transcript

    def __post_init__(self):
        if self.intent not in INTENTS:
            raise ValueError(f"answer intent {self.intent!r} is not one of {', '.join(INTENTS)}")


# Silence between two spans that makes them separate utterances.
UTTERANCE_GAP_S = 0.6


ZH_ENGINES = ("auto", "whisper", "pinyin", "none")
EN_ENGINES = ("auto", "whisper", "pocketsphinx")
# Engines whose transcript is words or characters a person can read (not pinyin or phones).
SHOWABLE_ENGINES = ("faster-whisper", "pocketsphinx-en")


def min_score(expected: Expected, engine: str) -> float:
    """The score a matching answer needs to pass, by what is expected and which engine heard it."""
    if expected.kind == "read_aloud":
        return round(1.0 - READING_MAX_ERROR, 4)
    return WHISPER_MIN_CONFIDENCE if engine == WhisperEngine.name else MIN_POSTERIOR


# The throw-away reading Recognizer.preload recognises (a made-up applicant).
WARM_READING = {
    "zh": ("本人张三，身份证尾号1234，自愿在示例证券开立证券账户。", ("张三", "1234")),
    "en": ("I, Alex Chen, with ID number ending in 1234, open an account.", ("Alex Chen", "1234")),
}


class Recognizer:
    """Picks the engine per locale and turns a window of audio into an ``Answer``.

    English (``en_engine``): Whisper ("auto" when installed, "whisper" insists on it), else the
    pocketsphinx grammar ("pocketsphinx"). Mandarin (``zh_engine``): "auto" uses
    Whisper (the model in ``whisper_model_dir``, else the bundled Whisper base; with
    ``zh_guard`` its consents must also survive the pinyin grammar's forced alignment), falling
    back to the pinyin grammar alone when no Whisper model is installed;
    "whisper" insists on Whisper; "pinyin" uses the grammar only; "none" hears no Mandarin
    engine -> "needs_review".
    """

    def __init__(self, whisper_model_dir: str | Path | None = None, zh_engine: str = "auto",
                 pad: float = 0.3, en_engine: str = "auto", zh_guard: bool = False):
        if zh_engine not in ZH_ENGINES:
            raise ValueError(f"zh_engine {zh_engine!r} is not one of {', '.join(ZH_ENGINES)}")
        if en_engine not in EN_ENGINES:
            raise ValueError(f"en_engine {en_engine!r} is not one of {', '.join(EN_ENGINES)}")
        self.en_engine = en_engine
        self.zh_guard = zh_guard
        self.whisper_model_dir = Path(whisper_model_dir) if whisper_model_dir else None
        self.zh_engine = zh_engine
        self.pad = pad
        self._engines: dict[str, Engine | None] = {}
        self._lock = threading.Lock()

    def _whisper_dir(self) -> Path | None:
        if self.whisper_model_dir is not None:
            return self.whisper_model_dir
        if not models.bundled_available():
            return None
        return models.bundled_whisper_dir()

    def _make_zh(self) -> Engine | None:
        if self.zh_engine == "none":
            return None
        if self.zh_engine == "pinyin":
            return PocketSphinxGrammar("zh")
        engine = self._whisper_or_grammar("zh", self.zh_engine == "whisper")
        if isinstance(engine, WhisperEngine) and self.zh_guard:
            # The pinyin guard vetoed every natural-voice consent it saw ("是的我自愿" was "not
            # clearly not 'shi de wo zi yuan'"): off unless asked for (speech_zh_guard).
            engine.guard = PocketSphinxGrammar("zh")
        return engine

    def _make_en(self) -> Engine:
        if self.en_engine == "pocketsphinx":
            return PocketSphinxGrammar("en")
        return self._whisper_or_grammar("en", self.en_engine == "whisper")

    def _whisper_or_grammar(self, locale: str, insist: bool) -> Engine:
        """Whisper when its model is installed; else the grammar, or an error if ``insist``."""
        language = "Mandarin" if locale == "zh" else "English"
        # English is heard unbiased; Mandarin biased towards its answer lexicon (see hotwords).
        whisper = WhisperEngine(self._whisper_dir(), locale, bias=locale == "zh")
        if whisper.available():
            return whisper
        if insist:
            raise RuntimeError(
                f"{language} engine 'whisper' is unavailable: no model.bin in "
                f"{whisper.model_dir or 'the bundled model packages'} or faster-whisper missing"
            )
        log.warning("no Whisper model for %s: using the pocketsphinx grammar", language)
        return PocketSphinxGrammar(locale)

    def engine_for(self, locale: str) -> Engine | None:
        loc = normalize_locale(locale)
        with self._lock:
            if loc not in self._engines:
                self._engines[loc] = self._make_en() if loc == "en" else self._make_zh()
            return self._engines[loc]

    def preload(self, locales=("en", "zh"), warm: bool = True) -> None:
        """Build each locale's engine and load its model now rather than at the first answer.

        ``warm``: also recognise one throw-away second of quiet noise as a reading, so the
        first investor does not pay the first-call costs: the decoder's buffers and tokenizer,
        the beam's second decode, and jieba's and pypinyin's dictionaries in this process (the
        first Mandarin readings of a fresh server took 3.4-4.1 s from window end to verdict
        against a p95 of 1.2 s after them; ``kiosk eval --split holdout3``).
        """
        for loc in locales:
            engine = self.engine_for(loc)
            if isinstance(engine, WhisperEngine):
                engine.worker_pid()
            if warm and engine is not None:
                self._warm(engine, loc)

    @staticmethod
    def _warm(engine: Engine, locale: str) -> None:
        text, required = WARM_READING["en" if locale == "en" else "zh"]
        noise = (np.random.default_rng(0).normal(0, 300, RATE)).astype(np.int16)
        try:
            engine.recognize(noise, Expected("read_aloud", text=text, required=tuple(required)))
        except Exception as exc:  # a warm-up failure is the first answer's to report
            log.warning("warming the %s recogniser failed: %s", locale, exc)

    def verify(self, pcm16k: np.ndarray, locale: str, expected: Expected) -> Answer:
        """Hear one answer window: silence, or speech with a transcript, intent and score."""
        t0 = time.perf_counter()
        check_pcm(pcm16k)
        if not isinstance(expected, Expected):
            raise TypeError(f"expected must be an Expected, got {type(expected).__name__}")
        engine = self.engine_for(locale)
        spans = detect_speech(pcm16k)
        if not spans:
            return Answer(False, "", "silence", 0.0, "silero-vad", "", [], _ms(t0))
        if engine is None:
            return Answer(True, "", "needs_review", 0.0, "none", "", spans, _ms(t0))
        # Decode only the speech (plus a margin): faster, and the grammar sees less noise.
        a = max(0, int((spans[0].start - self.pad) * RATE))
        b = min(pcm16k.size, int((spans[-1].end + self.pad) * RATE))
        rec = engine.recognize(pcm16k[a:b], expected)
        if rec.intent == "unclear" and expected.kind != "read_aloud" and not rec.negation:
            # (A window where some decode heard a "no" is never rescued utterance by utterance.)
            rec = self._per_utterance(engine, pcm16k, spans, expected) or rec
        if expected.kind == "affirm" and rec.intent == "affirm" \
                and understanding_only(rec.transcript, locale, expected.spec()):
            # The grammars' lexicons hold "yes i understand" / "ming bai" as a yes: on a step
            # that asks for willingness it is not one (kiosk.speech.answers, rule 4).
            rec = Recognition(rec.transcript, "unclear", rec.score, rec.engine,
                              note=UNDERSTANDING_ONLY, negation=rec.negation)
        decided_by = rec.engine or engine.name
        if decided_by == WhisperEngine.name and rec.intent in ("affirm", "phrase") \
                and expected.kind != "read_aloud":
            snr = window_snr_db(pcm16k, spans)
            if snr is not None and snr < MIN_CONSENT_SNR_DB:
                # Measured: in white noise at 10 dB, "我不同意" came out as "我同意" and passed
                # the guard 3 times in 320 answers; at 20 dB never.
                log.info("consent heard in a noisy window (%.1f dB) treated as unclear", snr)
                rec = Recognition(rec.transcript, "unclear", 0.0, rec.engine,
                                  note=f"too noisy to confirm consent ({snr:g} dB)",
                                  negation=rec.negation)
        return Answer(True, rec.transcript, rec.intent, round(rec.score, 3), decided_by,
                      engine.model_sha256(expected), spans, _ms(t0), note=rec.note,
                      negation=rec.negation)

    def _per_utterance(self, engine, pcm16k, spans, expected) -> Recognition | None:
        """An answer said more than once ("yes, I do ... yes, I do") decodes as one long, unclear
        hypothesis. Heard utterance by utterance, it counts only if EVERY utterance is on its
        own a clear answer of the same intent: one unclear or contrary utterance (a "no" that
        fillers could hide) leaves the whole window unclear."""
        groups: list[list[SpeechSpan]] = []
        for span in spans:
            if groups and span.start - groups[-1][-1].end < UTTERANCE_GAP_S:
                groups[-1].append(span)
            else:
                groups.append([span])
        if not 2 <= len(groups) <= 4:
            return None
        heard = []
        for g in groups:
            a = max(0, int((g[0].start - self.pad) * RATE))
            b = min(pcm16k.size, int((g[-1].end + self.pad) * RATE))
            heard.append(engine.recognize(pcm16k[a:b], expected))
        intents = {r.intent for r in heard}
        if len(intents) != 1 or intents & {"unclear", "silence", "needs_review"}:
            return None
        # Each utterance must clear its own engine's threshold (scores are on each engine's
        # scale); the weakest one, by its margin, stands for the whole window.
        def margin(r: Recognition) -> float:
            return r.score - min_score(expected, r.engine or engine.name)

        weakest = min(heard, key=margin)
        if margin(weakest) < 0:
            return None
        return Recognition(" | ".join(r.transcript for r in heard), weakest.intent,
                           weakest.score, weakest.engine)


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


_default: Recognizer | None = None
_default_lock = threading.Lock()


def default_recognizer() -> Recognizer:
    """The process-wide recogniser with default engines (build a ``Recognizer`` to configure)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Recognizer()
        return _default


def verify(pcm16k: np.ndarray, locale: str, expected: Expected) -> Answer:
    """Hear one answer window with the default recogniser."""
    return default_recognizer().verify(pcm16k, locale, expected)
