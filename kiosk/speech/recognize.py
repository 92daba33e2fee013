"""What did the investor say: pocketsphinx grammars, an optional Whisper engine, read-aloud.

Engines only propose a transcript, an intent and a confidence; ``kiosk.speech.decide`` turns an
``Answer`` into pass/stop/retry/flag. An engine never reports consent it did not hear: the
grammar holds filler words so that other speech lands on fillers, and a low posterior turns
any match into "unclear".
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kiosk.speech import textnorm
from kiosk.speech.answers import (
    READING_MAX_ERROR,
    AnswerSpec,
    has_negation,
    judge_text,
    requested_among_alternatives,
    score_reading,
)
from kiosk.speech.vad import RATE, SpeechSpan, check_pcm, detect_speech, window_snr_db

if TYPE_CHECKING:
    from kiosk.speech.whisper_proc import WhisperProcess

log = logging.getLogger(__name__)

INTENTS = ("affirm", "deny", "phrase", "unclear", "silence", "needs_review")
KINDS = ("affirm", "deny", "phrases", "read_aloud")
# A grammar match whose weakest answer word has a lattice posterior below this is "unclear".
MIN_POSTERIOR = 0.5
# A positive match with more filler words than this around it is "unclear" (see recognize()).
MAX_EXTRA_WORDS = {"en": 1, "zh": 0}
# Consent must out-score each of its negations, forced onto the same audio, by this much
# (log base 1.0001 units; 10,000 is a likelihood ratio of e).
ALIGN_MARGIN = 0.0
# Pruning: a filler loop over a noisy window otherwise costs seconds per answer on this CPU.
DECODER_OPTIONS: dict = {"beam": 1e-20, "wbeam": 1e-15, "pbeam": 1e-20}
WIDE_OPTIONS: dict = {"beam": 1e-30, "wbeam": 1e-20, "pbeam": 1e-30}

# Every English consent contains "yes": "i agree" / "i understand" alone were dropped after
# "I do not agree" was heard as "i agree" (the "do not" swallowed) and passed as consent.
# The guide asks for "yes, I understand" / "yes, I do" anyway.
EN_AFFIRM = ["yes", "yes i understand", "yes i do", "yes i agree", "yes i have",
             "yes that is right", "yes i confirm"]
EN_DENY = ["no", "i do not", "i disagree", "no i do not", "no i don't", "i don't", "i don't agree",
           "i do not agree", "no i disagree", "i don't understand", "i do not understand",
           "i refuse", "no i refuse"]
# Short common words and hesitations: other speech is absorbed here instead of by an answer.
EN_FILLERS = ["uh", "um", "the", "a", "well", "so", "what", "maybe", "wait", "please", "okay",
              "sure", "hmm"]
EN_DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
             "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}

ZH_AFFIRM = ["shi de", "shi", "dui", "hao de", "wo tong yi", "tong yi", "ming bai",
             "wo ming bai", "shi de wo tong yi", "dui wo tong yi", "shi de wo ming bai"]
ZH_DENY = ["bu", "bu shi", "bu tong yi", "wo bu tong yi", "bu dui", "bu ming bai",
           "wo bu ming bai", "mei you", "bu yao", "bu xing", "ju jue", "wo ju jue", "bu yuan yi",
           "wo bu yuan yi"]
# Extra pronunciation for the negation: a missed "bu" turns a refusal into consent, so it gets
# more ways to match than other syllables (unaspirated b is heard as p). More variants (B UH,
# B AH, P UH) were measured: they turn a clean "wo tong yi" into "wo bu ...".
ZH_VARIANTS = {"bu": ["B UW", "P UW"]}
ZH_FILLERS = ["en", "a", "na", "ge", "zhe", "ni", "qing", "zai", "shuo", "yi", "bian", "shen",
              "me", "deng", "xia", "ma", "ne", "ba", "wen"]
# Whisper's decoding bias (see WhisperEngine): the Mandarin answer lexicon in characters.
ZH_HOTWORDS = ["是的", "是", "对", "好的", "我同意", "同意", "明白", "我明白",
               "不", "不是", "不同意", "我不同意", "不对", "不明白", "我不明白",
               "没有", "不要", "不行", "我拒绝", "拒绝", "不愿意", "我不愿意"]
# A Whisper transcript longer than this (in characters) for a short answer is a hallucination.
WHISPER_MAX_CHARS = 16
# Whisper's confidence (mean token probability) a match needs; its scale is not the grammar's
# lattice posterior, so the decision rule looks the threshold up by engine (``min_score``).
WHISPER_MIN_CONFIDENCE = 0.3
# Below this speech-to-noise ratio (dB) a Whisper consent is not trusted (see Recognizer.verify).
MIN_CONSENT_SNR_DB = 12.0
ZH_DIGITS = {"ling": "0", "yi": "1", "yao": "1", "er": "2", "liang": "2", "san": "3", "si": "4",
             "wu": "5", "liu": "6", "qi": "7", "ba": "8", "jiu": "9"}


@dataclass(frozen=True)
class Expected:
    """What the step expects: a yes, a no, one of some phrases, or a text read aloud.

    ``requested`` is the answer the guide asks for (always accepted when clearly said);
    ``phrases`` / ``refuse`` add accepted answers and refusals to the built-in lexicons
    (``kiosk.speech.answers``); ``required`` lists parts of a read-aloud text that must be
    heard exactly (the name, the ID tail).
    """

    kind: str
    phrases: list[str] = field(default_factory=list)
    text: str | None = None
    requested: str | None = None
    refuse: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"expected kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "phrases" and not (any(p.strip() for p in self.phrases)
                                           or (self.requested or "").strip()):
            raise ValueError("expected kind 'phrases' needs at least one non-empty phrase")
        if self.kind == "read_aloud" and not (self.text or "").strip():
            raise ValueError("expected kind 'read_aloud' needs the text to be read")

    def spec(self) -> AnswerSpec:
        """The question's accepted answers as ``kiosk.speech.answers`` judges them."""
        if self.kind == "read_aloud":
            raise ValueError("a read-aloud step has no answer spec; use score_reading")
        return AnswerSpec(self.kind, (self.requested or "").strip() or None,
                          tuple(p for p in self.phrases if p.strip()),
                          tuple(r for r in self.refuse if r.strip()))


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

    def __post_init__(self):
        if self.intent not in INTENTS:
            raise ValueError(f"answer intent {self.intent!r} is not one of {', '.join(INTENTS)}")


@dataclass(frozen=True)
class Recognition:
    """An engine's raw result before it becomes an Answer."""

    transcript: str
    intent: str
    score: float
    engine: str | None = None  # which engine decided, when not the one asked
    note: str = ""  # why (evidence only)


def normalize_locale(locale: str) -> str:
    """'en', 'en-US', 'en_gb' -> 'en'; 'zh', 'zh-CN', 'cmn' -> 'zh'."""
    base = re.split(r"[-_]", (locale or "").strip().lower())[0]
    if base == "en":
        return "en"
    if base in ("zh", "cmn"):
        return "zh"
    raise ValueError(f"unsupported speech locale {locale!r}: use en or zh")


def words_of(text: str) -> list[str]:
    """Lower-case words with punctuation removed (apostrophes kept: "don't")."""
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def to_pinyin(text: str) -> str:
    """Chinese characters (via pypinyin) or tone-marked/numbered pinyin -> 'shi de wo tong yi'."""
    if re.search(r"[\u4e00-\u9fff]", text):
        from kiosk.speech import textnorm

        text = textnorm.toneless_pinyin(text)
    import unicodedata

    text = unicodedata.normalize("NFKD", text.lower().replace("ü", "v"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z]+", re.sub(r"[0-9]", " ", text)))


def _contains(words: list[str], phrase: list[str]) -> int:
    """Start index of ``phrase`` inside ``words`` or -1."""
    n = len(phrase)
    for i in range(len(words) - n + 1):
        if words[i : i + n] == phrase:
            return i
    return -1


def classify(words: list[str], affirm: list[str], deny: list[str], phrases: list[str]):
    """(intent, (start, end) of the matched words); deny wins: 'no I do not' holds 'I do'."""
    for intent, options in (("deny", deny), ("phrase", phrases), ("affirm", affirm)):
        for p in sorted(options, key=lambda s: -len(s.split())):
            pw = p.split()
            i = _contains(words, pw)
            if i >= 0:
                return intent, (i, i + len(pw))
    return "unclear", None


# --- pinyin -> en-us phones: lets the en-us acoustic model decode a small Mandarin grammar ----
_INITIALS = {"b": "B", "p": "P", "m": "M", "f": "F", "d": "D", "t": "T", "n": "N", "l": "L",
             "g": "G", "k": "K", "h": "HH", "j": "JH", "q": "CH", "x": "SH", "zh": "JH",
             "ch": "CH", "sh": "SH", "r": "R", "z": "Z", "c": "T S", "s": "S"}
_FINALS = {"a": "AA", "o": "AO", "e": "AH", "ai": "AY", "ei": "EY", "ao": "AW", "ou": "OW",
           "an": "AE N", "en": "AH N", "ang": "AA NG", "eng": "AH NG", "ong": "UH NG",
           "er": "ER", "i": "IY", "ia": "Y AA", "ie": "Y EH", "iao": "Y AW", "iou": "Y OW",
           "ian": "Y EH N", "in": "IY N", "iang": "Y AA NG", "ing": "IY NG", "iong": "Y UH NG",
           "u": "UW", "ua": "W AA", "uo": "W AO", "uai": "W AY", "uei": "W EY", "uan": "W AA N",
           "uen": "W AH N", "uang": "W AA NG", "ueng": "W AH NG", "v": "Y UW", "ve": "Y UW EH",
           "van": "Y UW AE N", "vn": "Y UW N"}
_ZERO_INITIAL = {"yi": "i", "ya": "ia", "ye": "ie", "yao": "iao", "you": "iou", "yan": "ian",
                 "yin": "in", "yang": "iang", "ying": "ing", "yong": "iong", "yu": "v",
                 "yue": "ve", "yuan": "van", "yun": "vn", "wu": "u", "wa": "ua", "wo": "uo",
                 "wai": "uai", "wei": "uei", "wan": "uan", "wen": "uen", "wang": "uang",
                 "weng": "ueng"}


def pinyin_phones(syllable: str) -> str:
    """Approximate en-us (CMU) phones of one toneless pinyin syllable."""
    s = syllable.lower()
    if s in _ZERO_INITIAL:
        final = _ZERO_INITIAL[s]
        lead = "Y " if s[0] == "y" and final in ("i", "in", "ing") else ""
        return (lead + _FINALS[final]).strip()
    single = s[0] if s[0] in _INITIALS else ""
    initial = next((i for i in ("zh", "ch", "sh") if s.startswith(i)), single)
    rest = s[len(initial):]
    if initial in ("j", "q", "x") and rest.startswith("u"):
        rest = "v" + rest[1:]  # ju, que, xuan are ü
    rest = {"iu": "iou", "ui": "uei", "un": "uen"}.get(rest, rest)
    if rest == "i" and initial in ("zh", "ch", "sh", "r"):
        final = "ER"  # the apical vowel of zhi/chi/shi/ri
    elif rest == "i" and initial in ("z", "c", "s"):
        final = "IH"
    elif rest in _FINALS:
        final = _FINALS[rest]
    else:
        raise ValueError(f"{syllable!r} is not a pinyin syllable this recogniser knows")
    return f"{_INITIALS[initial]} {final}".strip() if initial else final


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


class PocketSphinxGrammar(Engine):
    """pocketsphinx 5 with its bundled en-us acoustic model and a JSGF grammar per expectation.

    English uses the bundled CMU dictionary; Mandarin ("zh") uses a generated pinyin
    dictionary mapped onto en-us phones. A decoder is not thread-safe: calls are serialised.
    """

    def __init__(self, locale: str = "en", min_posterior: float = MIN_POSTERIOR):
        import pocketsphinx  # deferred: heavy, and only speech needs it

        self._ps = pocketsphinx
        self.locale = normalize_locale(locale)
        self.name = f"pocketsphinx-{'en' if self.locale == 'en' else 'pinyin'}"
        self.min_posterior = min_posterior
        model = Path(pocketsphinx.get_model_path()) / "en-us"
        self.hmm_dir = model / "en-us"
        self._lock = threading.Lock()
        if self.locale == "en":
            self.affirm, self.deny = EN_AFFIRM, EN_DENY
            self.fillers, self.digits = EN_FILLERS, EN_DIGITS
            self.dict_path = model / "cmudict-en-us.dict"
        else:
            self.affirm, self.deny = ZH_AFFIRM, ZH_DENY
            self.fillers, self.digits = ZH_FILLERS, ZH_DIGITS
            self.dict_path = self._pinyin_dict()
        self.lm_path = model / "en-us.lm.bin"
        # Tight beams keep a noisy window to ~0.2 s; when they prune every path to the grammar's
        # end (no hypothesis), the audio is decoded again with wider beams.
        self._decoders = [self._make_decoder(DECODER_OPTIONS), self._make_decoder(WIDE_OPTIONS)]
        # Forced alignment of a Mandarin consent against its negations (see _best_rival).
        self._aligner = self._make_decoder({}) if self.locale == "zh" else None
        self._searches: dict[str, str] = {}
        self._model_files = sorted(p for p in self.hmm_dir.iterdir() if p.is_file())

    def _make_decoder(self, options: dict):
        return self._ps.Decoder(
            hmm=str(self.hmm_dir), dict=str(self.dict_path), loglevel="FATAL",
            bestpath=True,  # lattice posteriors give the per-word confidence
            **options,
        )

    def _pinyin_dict(self) -> Path:
        syllables = set()
        for p in ZH_AFFIRM + ZH_DENY + ZH_FILLERS + list(ZH_DIGITS):
            syllables.update(p.split())
        return self._write_dict(syllables)

    def _write_dict(self, syllables: set[str]) -> Path:
        lines = []
        for syl in sorted(syllables):
            # Generic alternatives (D/T, G/K, ER/IH, UH NG/OW NG...) were measured: +2/80 Mandarin
            # answers for twice the decode time, so only the negation gets extra pronunciations.
            prons = ZH_VARIANTS.get(syl) or [pinyin_phones(syl)]
            lines.append(f"{syl} {prons[0]}\n")
            for i, alt in enumerate(prons[1:], start=2):
                lines.append(f"{syl}({i}) {alt}\n")
        text = "".join(lines)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"kiosk-pinyin-{digest}.dict"
        if not path.exists():
            tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        return path

    def _vocab(self, expected: Expected) -> list[str]:
        """Phrases this expectation adds to the grammar, in the dictionary's spelling."""
        if expected.kind != "phrases":
            return []
        if self.locale == "zh":
            return [to_pinyin(p) for p in expected.phrases if to_pinyin(p)]
        return [" ".join(words_of(p)) for p in expected.phrases if words_of(p)]

    def grammar(self, expected: Expected) -> str:
        """The JSGF text for this expectation (also hashed into ``model_sha256``)."""
        esc = lambda opts: " | ".join(sorted(set(opts)))  # noqa: E731
        fill = f"<filler> = {esc(self.fillers)};\n"
        if expected.kind == "read_aloud":
            # No fillers here: they swallow digits, and a digit loop has no answer to fake.
            body = f"<digit> = {esc(self.digits)};\npublic <utt> = <digit>+;\n"
        else:
            answers = list(self.affirm) + list(self.deny) + self._vocab(expected)
            body = (f"<answer> = {esc(answers)};\n"
                    "public <utt> = [<filler>+] <answer> [<filler>+] | <filler>+;\n")
        return "#JSGF V1.0;\ngrammar answer;\n" + fill + body

    def _check_vocab(self, expected: Expected) -> None:
        for phrase in self._vocab(expected):
            for w in phrase.split():
                if self._decoders[0].lookup_word(w) is None:
                    if self.locale == "zh":
                        for d in self._decoders:
                            d.add_word(w, pinyin_phones(w), True)
                    else:
                        raise ValueError(
                            f"phrase word {w!r} is not in the English pronunciation dictionary"
                        )

    def uses_free_text(self, expected: Expected) -> bool:
        return expected.kind == "read_aloud" and not is_digits(expected.text or "")

    def available(self) -> bool:
        return True

    def model_sha256(self, expected: Expected) -> str:
        paths = list(self._model_files) + [self.dict_path]
        if self.uses_free_text(expected):
            return files_sha256(paths + [self.lm_path])
        return files_sha256(paths, self.grammar(expected) + self.strict_grammar(expected))

    def _search_for(self, expected: Expected) -> str:
        if self.uses_free_text(expected):
            if self.locale != "en":
                raise ValueError("free-text read-aloud needs an English model or Whisper")
            if "lm" not in self._searches:
                for d in self._decoders:
                    d.add_lm_file("lm", str(self.lm_path))
                self._searches["lm"] = "lm"
            return "lm"
        text = self.grammar(expected)
        key = hashlib.sha256(text.encode()).hexdigest()[:16]
        if key not in self._searches:
            self._check_vocab(expected)
            for d in self._decoders:
                d.add_jsgf_string(f"g{key}", text)
            self._searches[key] = f"g{key}"
        return self._searches[key]

    def _decode(self, pcm16k: np.ndarray, search: str):
        result = self._decode_with(self._decoders[0], pcm16k, search)
        if not result[1]:
            result = self._decode_with(self._decoders[1], pcm16k, search)
        return result

    def _decode_with(self, d, pcm16k: np.ndarray, search: str):
        d.activate_search(search)
        d.start_utt()
        d.process_raw(pcm16k.tobytes(), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        words, posts, frames = [], [], []
        for seg in d.seg() or []:
            w = re.sub(r"\(\d+\)$", "", seg.word)
            if w.startswith("<") or w.startswith("[") or w.startswith("+"):
                continue
            words.append(w)
            posts.append(float(seg.prob))
            frames.append((seg.start_frame, seg.end_frame + 1))  # 10 ms frames
        return (hyp.hypstr if hyp else ""), words, posts, frames

    def strict_grammar(self, expected: Expected) -> str:
        """Answers only, no fillers: the second opinion on a positive match."""
        answers = list(self.affirm) + list(self.deny) + self._vocab(expected)
        return ("#JSGF V1.0;\ngrammar strict;\n"
                f"public <utt> = {' | '.join(sorted(set(answers)))};\n")

    def _strict_search(self, expected: Expected) -> str:
        text = self.strict_grammar(expected)
        key = "s" + hashlib.sha256(text.encode()).hexdigest()[:16]
        if key not in self._searches:
            for d in self._decoders:
                d.add_jsgf_string(key, text)
            self._searches[key] = key
        return self._searches[key]

    def parses(self, words: list[str], expected: Expected) -> bool:
        """Whether ``words`` is a whole sentence of the answer grammar (fillers, answer, fillers).

        pocketsphinx returns the best partial path when no path reached the grammar's end; such
        a fragment ("wo bu tong") must not be read as an answer.
        """
        if expected.kind == "read_aloud":
            return all(w in self.digits for w in words) and bool(words)
        fillers = set(self.fillers)
        options = list(self.affirm) + list(self.deny) + self._vocab(expected)
        answers = {tuple(a.split()) for a in options}
        if words and all(w in fillers for w in words):
            return True
        for i in range(len(words)):
            for j in range(i + 1, len(words) + 1):
                if tuple(words[i:j]) in answers and all(
                    w in fillers for w in words[:i] + words[j:]
                ):
                    return True
        return False

    def recognize(self, pcm16k: np.ndarray, expected: Expected) -> Recognition:
        with self._lock:
            search = self._search_for(expected)
            transcript, words, posts, frames = self._decode(pcm16k, search)
            if words and not self.parses(words, expected):
                retry = self._decode_with(self._decoders[1], pcm16k, search)
                if self.parses(retry[1], expected):
                    transcript, words, posts, frames = retry
            complete = self.parses(words, expected)
            if expected.kind == "read_aloud":
                digits = is_digits(expected.text or "")
                heard = digits_of(words, self.digits) if digits else " ".join(words)
                return read_aloud_result(heard, expected)
            vocab = self._vocab(expected)
            intent, span = classify(words, self.affirm, self.deny, vocab)
            if span is None:
                return Recognition(transcript, "unclear", 0.0)
            score = min(posts[span[0] : span[1]]) if posts[span[0] : span[1]] else 0.0
            if score < self.min_posterior:
                log.info("low-confidence %s match (%.2f) treated as unclear", intent, score)
                return Recognition(transcript, "unclear", score)
            if not complete:
                # A fragment ("wo bu" of "wo tong yi") is neither a yes nor a clear refusal.
                log.info("%s match in an incomplete hypothesis treated as unclear", intent)
                return Recognition(transcript, "unclear", 0.0)
            # A refusal ends the witness, so it must not hide among other words either ("yes,
            # I do" looped was once heard as "i do not understand the a" and stopped a willing
            # investor). The strict second pass below stays for consent only.
            extra = len(words) - (span[1] - span[0])
            if extra > MAX_EXTRA_WORDS[self.locale]:
                # Fillers that soak up real speech around a "yes" hide what else was said
                # (the "dis" of "I disagree", the "bu" of "bu tong yi"): not a clear consent.
                log.info("%s match among %d other words treated as unclear", intent, extra)
                return Recognition(transcript, "unclear", 0.0)
            if intent == "deny":
                return Recognition(transcript, intent, score)
            # A positive match must survive a second decode of just the matched stretch with
            # answers only: fillers can swallow the "dis" of "I disagree" and leave "I agree".
            a = max(0, (frames[span[0]][0] - 30) * 160)
            b = min(pcm16k.size, (frames[span[1] - 1][1] + 30) * 160)
            strict, swords, sposts, _ = self._decode(pcm16k[a:b], self._strict_search(expected))
            s_intent, s_span = classify(swords, self.affirm, self.deny, vocab)
            if s_intent != intent:
                log.info("positive match not confirmed by the strict pass (%s)", s_intent)
                return Recognition(transcript, "unclear", 0.0, note=f"strict pass heard {strict!r}")
            matched = " ".join(words[span[0] : span[1]])
            # Mandarin only: with the en-us model "bu" and "wo" sound alike, and the passes above
            # measured 1-2 false consents per 80 answers there; English measured none without it,
            # and the check (see _best_rival) costs English half its true consents.
            rival = self._best_rival(pcm16k[a:b], matched) if self.locale == "zh" else None
            if rival is not None:
                log.info("positive match not clearly better than its negation %r", rival)
                return Recognition(transcript, "unclear", 0.0, note=f"not clearly not {rival!r}")
        return Recognition(transcript, intent, min(score, min(sposts) if sposts else 0.0))

    def contradicts_consent(self, pcm16k: np.ndarray, phrase: str,
                            expected: Expected) -> str | None:
        """Why another engine's consent ``phrase`` is doubtful on this audio, or None.

        Doubtful when any refusal (the lexicon's, or the phrase with "bu" put in) fits the audio
        at least as well as the phrase itself (see ``_best_rival``). Measured on synthetic
        Mandarin: Whisper's lexicon bias once wrote "同意" for a spoken "不对"; the refusal
        "bu dui" forced onto that audio out-scores "tong yi". A veto by this grammar's own
        free decode was also measured: it hears "bu" in most true consents.
        """
        with self._lock:
            self._search_for(expected)  # puts the step's phrase words into the dictionary
            rival = self._best_rival(pcm16k, phrase, also=self.deny)
        return None if rival is None else f"not clearly not {rival!r}"

    def negations(self, phrase: str) -> list[str]:
        """Refusals that sound close to ``phrase``: deny phrases sharing a content word with it,
        the bare "no"/"bu", and (Mandarin) the phrase with "bu" put in or swapped in."""
        words = phrase.split()
        neg = "no" if self.locale == "en" else "bu"
        content = set(words) - {"i", "wo", "yes"}
        out = {neg} | {d for d in self.deny if content & set(d.split())}
        if self.locale == "zh":
            for i in range(len(words)):
                out.add(" ".join(words[:i] + ["bu"] + words[i:]))
                out.add(" ".join(words[:i] + ["bu"] + words[i + 1 :]))
        out.discard(phrase)
        return sorted(out)

    def _align_score(self, pcm16k: np.ndarray, text: str) -> float | None:
        """Acoustic log-likelihood (log base 1.0001) of ``text`` forced onto the audio, or None."""
        d = self._aligner
        assert d is not None, "forced alignment is built for Mandarin only (see _best_rival)"
        try:
            d.set_align_text(text)
        except (RuntimeError, ValueError):
            return None
        d.start_utt()
        d.process_raw(pcm16k.tobytes(), full_utt=True)
        d.end_utt()
        segs = list(d.seg() or [])
        if not segs:
            return None
        lm = d.get_logmath()
        # An underflowed word score (0.0) is treated as the worst possible fit.
        return float(sum(lm.log(sg.ascore) if sg.ascore > 0 else -1e12 for sg in segs))

    def _best_rival(self, pcm16k: np.ndarray, phrase: str, also=()) -> str | None:
        """A negation that explains the audio at least as well as ``phrase``, if any.

        The second pass can still pick "wo tong yi" for a spoken "bu tong yi" when the model
        hears b and w alike; forcing each reading onto the same audio and comparing scores
        catches that: consent must be the better fit. pocketsphinx normalises acoustic scores
        per search, so these scores are only roughly comparable: the check is conservative
        (it also turns some true consents into "unclear"), never a reason to accept.
        """
        own = self._align_score(pcm16k, phrase)
        if own is None:
            return phrase  # the consent itself does not fit the audio
        for rival in sorted((set(self.negations(phrase)) | set(also)) - {phrase}):
            other = self._align_score(pcm16k, rival)
            if other is not None and other >= own - ALIGN_MARGIN:
                return rival
        return None


def is_digits(text: str) -> bool:
    """True when the read-aloud text is a digit string (spaces and dashes allowed)."""
    return bool(re.fullmatch(r"[\d\s\-]+", text.strip())) and any(c.isdigit() for c in text)


def digits_of(words: list[str], table: dict[str, str]) -> str:
    return "".join(table[w] for w in words if w in table)


def read_aloud_result(heard: str, expected: Expected, locale: str = "en") -> Recognition:
    """Compare what was heard with the text to be read aloud (``answers.score_reading``).

    The score is ``1 - error rate`` (characters for Mandarin, words for English, digits
    normalised both ways); the reading passes ("phrase") only when the error rate is within
    ``answers.READING_MAX_ERROR`` and every required part was heard exactly.
    """
    text = expected.text or ""
    # A digit string to read (a `digits` step) must be heard whole, like an ID tail.
    required = expected.required or ((text,) if is_digits(text) else ())
    r = score_reading(heard, text, locale, required)
    note = (f"{r.unit} error rate {r.error_rate:.2f}"
            + (f"; not heard: {', '.join(r.missing)}" if r.missing else ""))
    return Recognition(heard, "phrase" if r.passed else "unclear", r.score, note=note)


class WhisperEngine(Engine):
    """faster-whisper on a local CTranslate2 model directory (the bundled Whisper base by default).

    The transcript is turned into pinyin and matched against the same affirm/deny lexicon as the
    pinyin grammar, so homophones and character choices do not matter. Decoding is biased
    towards the lexicon (hotwords: every consent AND every refusal, so neither side is favoured);
    that bias can drop a short "不" or put a lexicon word on other speech, so a consent must also
    survive the pinyin grammar as a guard: it must fit the audio better than every refusal,
    including the same words with "bu" put in (``contradicts_consent``).
    """

    name = "faster-whisper"

    def __init__(self, model_dir: str | Path | None, locale: str = "zh",
                 guard: PocketSphinxGrammar | None = None, bias: bool = True):
        self.model_dir = Path(model_dir) if model_dir else None
        self.locale = normalize_locale(locale)
        self.guard = guard
        self.bias = bias
        self._model: WhisperProcess | None = None
        self._lock = threading.Lock()

    def available(self) -> bool:
        if self.model_dir is None or not (self.model_dir / "model.bin").is_file():
            return False
        # find_spec, not import: faster-whisper (CTranslate2) loads only in the worker process.
        import importlib.util

        return importlib.util.find_spec("faster_whisper") is not None

    def model_sha256(self, expected: Expected) -> str:
        if self.model_dir is None:
            raise ValueError("no Whisper model directory configured")
        guard = self.guard.model_sha256(expected) if self.guard is not None else ""
        return files_sha256(sorted(p for p in self.model_dir.iterdir() if p.is_file()),
                            guard + self.hotwords(expected))

    def _load(self):
        if not self.available():
            raise RuntimeError(f"Whisper engine unavailable (model dir {self.model_dir})")
        with self._lock:
            if self._model is None:
                from kiosk.speech.whisper_proc import shared

                assert self.model_dir is not None  # available() checked it
                self._model = shared(self.model_dir)
            return self._model

    def worker_pid(self) -> int:
        """Start the Whisper worker process (and load the model) now; its process id."""
        return self._load().pid()

    def close(self) -> None:
        if self._model is not None:
            self._model.close()

    def hotwords(self, expected: Expected) -> str:
        """The decoding bias: for a question the whole answer lexicon, consents and refusals
        alike; for a reading the applicant's name (a rare word Whisper base misspells: 赵敏 as
        照明, 陈静 as 曾经), never the sentence itself."""
        if expected.kind == "read_aloud":
            return " ".join(r for r in expected.required if not any(c.isdigit() for c in r))
        if not self.bias:
            return ""
        own = [expected.requested or ""] + list(expected.phrases) + list(expected.refuse)
        words = (ZH_HOTWORDS if self.locale == "zh" else EN_AFFIRM + EN_DENY) + [
            p.strip() for p in own if p.strip()]
        return " ".join(dict.fromkeys(words))

    def transcribe(self, pcm16k: np.ndarray, expected: Expected) -> tuple[str, float, bool]:
        """(text, confidence 0..1, looks_hallucinated)."""
        segments = self._load().transcribe(pcm16k, self.locale, self.hotwords(expected) or None)
        text = "".join(seg[0] for seg in segments).strip()
        conf = float(np.exp(np.mean([seg[1] for seg in segments]))) if segments else 0.0
        # Whisper's own failure signs: a looping transcript, or "no speech" with a weak decode.
        looping = any(seg[3] > 2.4 for seg in segments)
        no_speech = any(seg[2] > 0.6 and seg[1] < -1.0 for seg in segments)
        too_long = len(re.findall(r"[\u4e00-\u9fff]", text)) > WHISPER_MAX_CHARS
        return text, conf, looping or no_speech or too_long

    def recognize(self, pcm16k: np.ndarray, expected: Expected) -> Recognition:
        text, conf, suspect = self.transcribe(pcm16k, expected)
        text = textnorm.display_text(text, self.locale)
        if expected.kind == "read_aloud":
            return read_aloud_result(text, expected, self.locale)
        if suspect:
            return Recognition(text, "unclear", conf, note="Whisper's hallucination signs")
        judged = judge_text(text, self.locale, expected.spec())
        if judged.intent == "unclear":
            return self._from_alternatives(pcm16k, expected, text, conf, judged.reason)
        if judged.intent in ("affirm", "phrase") and self.guard is not None:
            why = self.guard.contradicts_consent(pcm16k, to_pinyin(text), expected)
            if why is not None:
                log.info("consent heard by Whisper contradicted by the pinyin guard")
                return Recognition(text, "unclear", 0.0, note=why)
        return Recognition(text, judged.intent, conf, note=judged.reason)


    def _from_alternatives(self, pcm16k: np.ndarray, expected: Expected, text: str,
                           conf: float, reason: str) -> Recognition:
        """An unclear transcript that may be the requested answer misheard: decode again with
        a beam of ``ALTERNATIVES`` and take the requested answer when one of the hypotheses
        is it and none holds a negation (``answers.requested_among_alternatives``)."""
        spec = expected.spec()
        if not spec.requested or has_negation(text, self.locale):
            return Recognition(text, "unclear", conf, note=reason)
        hyps = self._load().alternatives(pcm16k, self.locale, self.hotwords(expected) or None,
                                         ALTERNATIVES)
        texts = [textnorm.display_text(h[0], self.locale) for h in hyps]
        alt = requested_among_alternatives(text, texts, self.locale, spec)
        if alt is None:
            return Recognition(text, "unclear", conf, note=reason)
        judged = judge_text(alt, self.locale, spec)
        score = next((float(np.exp(h[1])) for h, t in zip(hyps, texts, strict=True) if t == alt),
                     conf)
        return Recognition(alt, judged.intent, score,
                           note=f"heard as {text!r}; the recogniser's alternative {alt!r} is the "
                                f"requested answer, and no hypothesis held a negation")


# Beam width of the second decode of an unclear answer (WhisperEngine._from_alternatives).
ALTERNATIVES = 5

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
        from kiosk.speech import models

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

    def preload(self, locales=("en", "zh")) -> None:
        """Build each locale's engine and load its model now rather than at the first answer."""
        for loc in locales:
            engine = self.engine_for(loc)
            if isinstance(engine, WhisperEngine):
                engine.worker_pid()

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
        if rec.intent == "unclear" and expected.kind != "read_aloud":
            rec = self._per_utterance(engine, pcm16k, spans, expected) or rec
        decided_by = rec.engine or engine.name
        if decided_by == WhisperEngine.name and rec.intent in ("affirm", "phrase") \
                and expected.kind != "read_aloud":
            snr = window_snr_db(pcm16k, spans)
            if snr is not None and snr < MIN_CONSENT_SNR_DB:
                # Measured: in white noise at 10 dB, "我不同意" came out as "我同意" and passed
                # the guard 3 times in 320 answers; at 20 dB never.
                log.info("consent heard in a noisy window (%.1f dB) treated as unclear", snr)
                rec = Recognition(rec.transcript, "unclear", 0.0, rec.engine,
                                  note=f"too noisy to confirm consent ({snr:g} dB)")
        return Answer(True, rec.transcript, rec.intent, round(rec.score, 3), decided_by,
                      engine.model_sha256(expected), spans, _ms(t0), note=rec.note)

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
        margin = lambda r: r.score - min_score(expected, r.engine or engine.name)  # noqa: E731
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
