"""faster-whisper as an engine: the client of the Whisper worker process.

CTranslate2 never loads into this process: ``kiosk.speech.whisper_proc`` runs the model in one
spawned worker per server, and this engine sends it audio and the decoding bias (hotwords),
then matches the transcript with ``kiosk.speech.answers``.
"""

from __future__ import annotations

import logging
import re
import threading
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kiosk.speech import textnorm
from kiosk.speech.answers import (
    EN_SPELLING_MAX_LOG_ODDS,
    FORCED_CHOICE_FORM,
    NAME_MAX_LOG_ODDS,
    ZH_GIVEN_MAX_LOG_ODDS,
    HeardName,
    ambiguous_tails,
    covering_tokens,
    doubt_among,
    heard_given_name,
    heard_name,
    heard_spelling,
    judge_text,
    name_prefix,
    reading_among_alternatives,
    reading_names,
    reading_rescuable,
    requested_among_alternatives,
    requested_rescuable,
    settled_by_forced_choice,
    tail_score,
    unconfirmed_consent,
    unconfirmed_name,
)
from kiosk.speech.engines.base import (
    Engine,
    Recognition,
    files_sha256,
    read_aloud_result,
    reading_required,
)
from kiosk.speech.engines.grammar import PocketSphinxGrammar
from kiosk.speech.expected import Expected
from kiosk.speech.lexicon import EN_AFFIRM, EN_DENY, ZH_HOTWORDS
from kiosk.speech.whisper_proc import shared
from kiosk.speech.words import normalize_locale, to_pinyin

if TYPE_CHECKING:
    from kiosk.speech.whisper_proc import WhisperProcess

log = logging.getLogger(__name__)

# A Whisper transcript longer than this (in characters) for a short answer is a hallucination.
WHISPER_MAX_CHARS = 16
# Whisper's confidence (mean token probability) a match needs; its scale is not the grammar's
# lattice posterior, so the decision rule looks the threshold up by engine (``min_score``).
WHISPER_MIN_CONFIDENCE = 0.3
# An English name is likely without the bias (``WhisperEngine._name_likely``) when no token of
# it, teacher-forced, falls below this log probability. Measured (nineteenth session, seen
# rounds' and testers' readings): 37 of 40 genuine readings had every name token at -4.93 or
# above (the others, -6.8 to -9.7, were confirmed by the beam rule), and 19 of 20 readings of a
# name one word off had a token at -5.52 or below (the other, Marton for Martin, is heard the
# same with or without the bias). docs/evaluation.md, "The name heard without bias".
EN_NAME_MIN_TOKEN_LOGPROB = -5.0
# The note of a transcript Whisper itself marks as made up (looping, no speech, too long).
HALLUCINATION_NOTE = "Whisper's hallucination signs"


def _per_character(logprobs: list[tuple[int, float]], text: str) -> list[float]:
    """Token log probabilities ``[(UTF-8 bytes, log prob)]`` of ``text`` summed per character
    (a token goes to the character its first byte is in)."""
    starts, at = [], 0
    for ch in text:
        starts.append(at)
        at += len(ch.encode())
    out = [0.0] * len(text)
    pos, k = 0, 0
    for nbytes, lp in logprobs:
        while k + 1 < len(starts) and starts[k + 1] <= pos:
            k += 1
        if k < len(out):
            out[k] += lp
        pos += nbytes
    return out


def _known_words(logprobs: list[tuple[int, float]], text: str, words: list[str]) -> bool:
    """Whether each of ``words`` in ``text`` is ONE token of Whisper's vocabulary (with its
    leading space), as scored in ``logprobs`` ``[(UTF-8 bytes, log prob)]``: a word the model
    knows whole ("Diana", "Tina", "Lee"), not one it spells piece by piece ("Chakumeka" for
    Chukwuemeka, holdout 24), whose common pieces make it far likelier than a rare name
    written out, however it was said."""
    starts, at = set(), 0
    for nbytes, _ in logprobs:
        starts.add(at)
        at += nbytes
    for word in words:
        i = text.find(" " + word)
        if i < 0:
            return False
        a = len(text[:i].encode())
        b = a + len((" " + word).encode())
        if a not in starts or b not in starts | {at}:
            return False
        if sum(1 for s in starts if a <= s < b) != 1:
            return False
    return True


class WhisperEngine(Engine):
    """faster-whisper on a local CTranslate2 model directory (the bundled Whisper base by default).

    The transcript is turned into pinyin and matched against the same affirm/deny lexicon as the
    pinyin grammar, so homophones and character choices do not matter. Decoding is biased
    towards the lexicon (hotwords: every consent AND every refusal, so neither side is favoured);
    that bias can drop a short "不" or put a lexicon word on other speech, so a consent must also
    survive the pinyin grammar as a guard: it must fit the audio better than every refusal,
    including the same words with "bu" put in (``contradicts_consent``). Whatever the guard, a
    consent must survive a second opinion without the bias (``_confirmed``, issue #12).
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

    def transcribe(self, pcm16k: np.ndarray, expected: Expected) -> tuple[str, float, str]:
        """(text, confidence 0..1, the hallucination sign seen: "looping", "no_speech",
        "too_long" or "" for none)."""
        segments = self._load().transcribe(pcm16k, self.locale, self.hotwords(expected) or None)
        text = "".join(seg[0] for seg in segments).strip()
        conf = float(np.exp(np.mean([seg[1] for seg in segments]))) if segments else 0.0
        # Whisper's own failure signs: a looping transcript, or "no speech" with a weak decode.
        if any(seg[3] > LOOPING_COMPRESSION_RATIO for seg in segments):
            return text, conf, "looping"
        if any(seg[2] > 0.6 and seg[1] < -1.0 for seg in segments):
            return text, conf, "no_speech"
        if len(re.findall(r"[\u4e00-\u9fff]", text)) > max_chars(expected):
            return text, conf, "too_long"
        return text, conf, ""

    def recognize(self, pcm16k: np.ndarray, expected: Expected) -> Recognition:
        result = self._recognize(pcm16k, expected)
        # Only an answer that would PASS is confirmed: a yes to a consent, one of the step's
        # phrases. A yes where a no is wanted stops the witness and needs no second opinion.
        if (expected.kind, result.intent) in (("affirm", "affirm"), ("phrases", "phrase")):
            return self._confirmed(pcm16k, expected, result)
        if expected.kind == "read_aloud" and result.intent == "phrase" and self.hotwords(expected):
            return self._name_confirmed(pcm16k, expected, result)
        return result

    def _name_confirmed(self, pcm16k: np.ndarray, expected: Expected,
                        heard: Recognition) -> Recognition:
        """A reading that passed stands only when a beam of ``ALTERNATIVES`` decoded WITHOUT
        the name's bias also holds the applicant's name (``answers.unconfirmed_name``):
        given the name as hotwords, Whisper hears it for a near name read instead (单美娜 as
        单丽娜, Galloway as Holloway). Otherwise the reading is unclear (read again, then a
        person decides). Runs in the Whisper worker, on the caller's thread (a judge worker,
        never the event loop)."""
        # Only as far as the name (it opens the default flow's sentence): on holdout 20 the
        # whole sentence made an English reading's verdict p95 2.8 s instead of about 1.1 s;
        # stopped after the name, the decode took a median 0.76 s instead of 1.65 s on the
        # stored readings, with the same verdicts. (A beam of two lost two more genuine.)
        upto = name_prefix(expected.text or "", expected.required, self.locale)
        if self.locale == "en" and upto:
            otherwise = self._spelled_otherwise(pcm16k, upto, expected, heard.transcript)
            if otherwise:
                log.info("a reading's name was heard spelled as another name")
                return Recognition(heard.transcript, "unclear", 0.0,
                                   note=f"{heard.note}; {otherwise}")
            if self._name_likely(pcm16k, upto, expected):
                return heard
        hyps = self._load().beams(pcm16k, self.locale, [None], ALTERNATIVES, upto=upto)[0]
        texts = [textnorm.display_text(h[0].strip(), self.locale) for h in hyps]
        why = unconfirmed_name(texts, expected.text or "", expected.required, self.locale)
        if why is None and self.locale == "en" and upto and texts:
            # the loose rule took a spelling for the name: weigh it too ("Diana" for Dana)
            why = self._spelled_otherwise(pcm16k, upto, expected, texts[0])
        if why is None:
            return heard
        if self.locale == "zh" and upto and texts and self._given_name_likely(
                pcm16k, upto, expected, texts[0]):
            return heard
        found = self._heard_name(expected, texts[0]) if texts else None
        weighed = self._name_weighed(pcm16k, expected, found) if found else None
        if weighed is not None:
            return Recognition(heard.transcript, heard.intent, heard.score,
                               note=f"{heard.note}; without the bias {weighed}")
        log.info("a reading's name was not confirmed by a decode without bias")
        return Recognition(heard.transcript, "unclear", 0.0, note=f"{heard.note}; {why}")

    def _spelled_otherwise(self, pcm16k: np.ndarray, upto: str, expected: Expected,
                           transcript: str) -> str | None:
        """Why an English name heard spelled otherwise (``heard_spelling``: "Diana Whitfield"
        for Dana Whitfield) is another name, or None: both spellings teacher-forced on the
        audio without the bias (one ``align``), the name as written more than
        ``EN_SPELLING_MAX_LOG_ODDS`` nats less likely than as heard."""
        for name in reading_names(expected.required, self.locale):
            found = heard_spelling(transcript, name)
            if found is None or not upto.endswith(name):
                continue
            prefix = " " + upto[:-len(name)].strip() + " "
            written, heard = found
            scores = self._load().forced_choice(pcm16k, self.locale, None,
                                                [prefix + written, prefix + heard])
            odds = sum(lp for _, lp in scores[0]) - sum(lp for _, lp in scores[1])
            if odds < -EN_SPELLING_MAX_LOG_ODDS and _known_words(
                    scores[1], prefix + heard, [h for h, w in zip(heard.split(), written.split(),
                                                               strict=True) if h != w]):
                return (f"the name {name!r} was heard as {heard!r}, which is {-odds:.1f} nats "
                        "more likely without the decoding bias: another name")
        return None

    def _name_likely(self, pcm16k: np.ndarray, upto: str, expected: Expected) -> bool:
        """Whether, WITHOUT any decoding bias, Whisper finds the English applicant's name
        likely in this audio: ``upto`` (the text as far as the name) teacher-forced on it
        (``WhisperProcess.forced_choice``, one ``align`` on the encoder output already
        computed), no token of the name below ``EN_NAME_MIN_TOKEN_LOGPROB``. A rare name that
        Whisper misspells without the bias is still likely as written (Obinna Eze, heard
        "Obana-S": lowest token -4.0); a near name read instead is not (Galloway read for
        Holloway: " Holloway" at -10.0). When it is not, the beam rule decides."""
        text = " " + upto.strip()
        names = [n for n in reading_names(expected.required, self.locale) if n in text]
        if not names:
            return False
        logprobs = self._load().forced_choice(pcm16k, self.locale, None, [text])[0]
        return all(logprobs[i][1] >= EN_NAME_MIN_TOKEN_LOGPROB
                   for n in names
                   for i in covering_tokens(logprobs, text, text.find(n), text.find(n) + len(n)))

    def _heard_name(self, expected: Expected, transcript: str) -> HeardName | None:
        """How ``transcript`` holds the reading's one applicant name, when it holds it
        otherwise in a way the model may weigh (``answers.heard_name``); else None."""
        names = reading_names(expected.required, self.locale)
        upto = name_prefix(expected.text or "", expected.required, self.locale)
        if len(names) != 1 or not upto or not upto.endswith(names[0]):
            return None
        return heard_name(transcript, expected.text or "", names[0], self.locale)

    def _name_weighed(self, pcm16k: np.ndarray, expected: Expected,
                      found: HeardName) -> str | None:
        """Why the applicant's name stands though it was heard otherwise (``found``, from
        ``_heard_name``: a rare name the recogniser does not know, not plainly another name),
        or None: the name as written and the stretch heard in its place, both after the
        sentence's opening and teacher-forced on the audio WITHOUT the bias (one ``align``),
        the written name at most ``NAME_MAX_LOG_ODDS`` nats less likely than as heard (each
        Mandarin character heard otherwise alone). Mandarin only: ``heard_name`` weighs no
        English name (sums over different tokens are not comparable).

        Holdout 24 lost 栾志诚 (heard 览制成 without the bias) and 雍晓岚 (heard 晓岚)."""
        upto = name_prefix(expected.text or "", expected.required, self.locale) or ""
        head = upto[:-len(found.written)]
        texts = [head + found.written, head + found.heard]
        scored = self._load().forced_choice(pcm16k, self.locale, None, texts)
        if found.weigh:
            per = [_per_character(lps, t)[len(head):]
                   for lps, t in zip(scored, texts, strict=True)]
            odds = min(per[0][k] - per[1][k] for k in found.weigh)
        else:
            odds = sum(lp for _, lp in scored[0]) - sum(lp for _, lp in scored[1])
        if odds < -NAME_MAX_LOG_ODDS:
            return None
        return (f"the name {found.written!r}, heard as {found.heard!r}, is "
                f"{max(0.0, -odds):.1f} nats less likely as written, teacher-forced without "
                "the decoding bias: it stands")

    def _given_name_likely(self, pcm16k: np.ndarray, upto: str, expected: Expected,
                           unbiased: str) -> bool:
        """Whether a Mandarin name the beam rule did not confirm is still likely: its surname
        heard alike in ``unbiased`` (the best hypothesis without the bias) and each given-name
        character heard otherwise at most ``ZH_GIVEN_MAX_LOG_ODDS`` nats less likely than the
        one heard, both teacher-forced on the audio without the bias (one ``align``).
        蒲海涛 heard 谱海托 stands (涛 against 托); 单美娜 read for 单丽娜 does not (丽 against 美,
        about 14 nats)."""
        names = reading_names(expected.required, self.locale)
        if len(names) != 1 or not upto.endswith(names[0]):
            return False
        name = names[0]
        found = heard_given_name(unbiased, expected.text or "", name)
        if found is None:
            return False
        other, positions = found
        prefix = upto[:-len(name)]
        scored = self._load().forced_choice(pcm16k, self.locale, None,
                                            [prefix + name, prefix + other])
        per_char = [_per_character(lps, prefix + text)[len(prefix):]
                    for lps, text in zip(scored, (name, other), strict=True)]
        return all(per_char[0][k] - per_char[1][k] >= -ZH_GIVEN_MAX_LOG_ODDS for k in positions)

    def _confirmed(self, pcm16k: np.ndarray, expected: Expected,
                   heard: Recognition) -> Recognition:
        """A consent (or the step's phrase) stands only when a beam of ``ALTERNATIVES``
        decoded WITHOUT any bias agrees (``answers.unconfirmed_consent``): no hypothesis holds a
        negation or is a refusal; and, for a biased decode, when no hypothesis of a biased beam
        holds one either (the bias also helps a refusal to be heard: 是的我自愿 over 我拒绝 at
        +6 dB was 是的我自愿 greedily, 是的我自愿我拒绝 in the biased beam). Otherwise the answer
        is unclear (asked again, then a person decides). These decodes run in the Whisper
        worker, like the first, on the caller's thread (a judge worker, never the event loop)."""
        spec = expected.spec()
        hotwords = self.hotwords(expected)
        biases: list[str | None] = [None, hotwords] if hotwords else [None]
        # Both beams from one pass of the encoder (its cost dominates a short answer).
        beams = [[textnorm.display_text(h[0].strip(), self.locale) for h in hyps]
                 for hyps in self._load().beams(pcm16k, self.locale, biases, ALTERNATIVES)]
        why = unconfirmed_consent(heard.transcript, beams[0], self.locale, spec)
        doubt = doubt_among(beams[1], self.locale, spec) if len(beams) > 1 else None
        if why is None and doubt is not None:
            why = (f"heard as {heard.transcript!r}, but the biased beam also heard {doubt!r}: "
                   "never consent")
        if why is None:
            return heard
        log.info("a consent was not confirmed by a second decode")
        return Recognition(heard.transcript, "unclear", 0.0, note=why, negation=any(
            doubt_among(texts, self.locale, spec) is not None for texts in beams))

    def _recognize(self, pcm16k: np.ndarray, expected: Expected) -> Recognition:
        text, conf, sign = self.transcribe(pcm16k, expected)
        text = textnorm.display_text(text, self.locale)
        if sign == "looping":
            # Greedy decoding fell into a loop ("I, I, I, ..."); a beam search of the same
            # audio usually does not (Whisper's own remedy is a temperature fallback, which
            # would make the verdict depend on a random draw).
            redone = self._redecoded(pcm16k, expected)
            if redone is None:
                return Recognition(text, "unclear", 0.0,
                                   note="Whisper looped, and so did every hypothesis of its beam")
            text, conf, sign = redone[0], redone[1], ""
            log.info("a looping transcript was decoded again with a beam of %d", ALTERNATIVES)
        if expected.kind == "read_aloud":
            result = read_aloud_result(text, expected, self.locale)
            if result.intent == "unclear" and not sign:
                result, rescuable = self._reading_by_forced_choice(pcm16k, expected, result)
                if result.intent == "unclear" and rescuable:
                    result = self._reading_from_alternatives(pcm16k, expected, result)
                if result.intent == "unclear" and self.hotwords(expected):
                    return self._reading_by_name_weighed(pcm16k, expected, result)
            return result
        if sign:
            return Recognition(text, "unclear", conf, note=HALLUCINATION_NOTE)
        judged = judge_text(text, self.locale, expected.spec())
        if judged.intent == "unclear":
            return self._from_alternatives(pcm16k, expected, text, conf, judged.reason)
        if judged.intent in ("affirm", "phrase") and self.guard is not None:
            why = self.guard.contradicts_consent(pcm16k, to_pinyin(text), expected)
            if why is not None:
                log.info("consent heard by Whisper contradicted by the pinyin guard")
                return Recognition(text, "unclear", 0.0, note=why)
        return Recognition(text, judged.intent, conf, note=judged.reason)

    def _reading_by_name_weighed(self, pcm16k: np.ndarray, expected: Expected,
                                 first: Recognition) -> Recognition:
        """A reading heard as asked but for the applicant's name: it passes when the
        transcript with the name put in its place reads as asked and the name, weighed
        against what was heard without the bias, stands (``_name_weighed``). Like any
        reading that passes, it must then survive ``_name_confirmed`` (measured, twentieth
        session: without that, "Emma Carter" read for Emily Carter, heard "Am A Carter",
        passed, the written name likelier than that garble)."""
        found = self._heard_name(expected, first.transcript)
        if found is None:
            return first
        repaired = read_aloud_result(found.repaired, expected, self.locale)
        if repaired.intent != "phrase":
            return first
        why = self._name_weighed(pcm16k, expected, found)
        if why is None:
            return first
        log.info("a reading's name heard otherwise was weighed without the bias and stands")
        return Recognition(first.transcript, "phrase", repaired.score,
                           note=f"{first.note}; {why}; {repaired.note}")

    def _redecoded(self, pcm16k: np.ndarray, expected: Expected) -> tuple[str, float] | None:
        """The best hypothesis of a beam of ``ALTERNATIVES`` that does not loop, as (display
        text, confidence 0..1), or None when every hypothesis loops."""
        hyps = self._load().alternatives(pcm16k, self.locale, self.hotwords(expected) or None,
                                         ALTERNATIVES)
        for raw, logprob in hyps:
            if raw.strip() and compression_ratio(raw) <= LOOPING_COMPRESSION_RATIO:
                return textnorm.display_text(raw.strip(), self.locale), float(np.exp(logprob))
        return None

    def _from_alternatives(self, pcm16k: np.ndarray, expected: Expected, text: str,
                           conf: float, reason: str) -> Recognition:
        """An unclear transcript that may be the requested answer misheard: decode again with
        a beam of ``ALTERNATIVES`` and take the requested answer when one of the hypotheses
        is it and none holds a negation (``answers.requested_among_alternatives``)."""
        spec = expected.spec()
        if not requested_rescuable(text, self.locale, spec):
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

    def _reading_by_forced_choice(self, pcm16k: np.ndarray, expected: Expected,
                                  first: Recognition) -> tuple[Recognition, bool]:
        """A reading whose ID tail was heard with a slip that does not settle it (700: 7700 or
        7000, ``answers.ambiguous_tails``): the same model scores the transcript with each
        candidate tail in place of the heard group, teacher-forced on the same audio (one
        extra call in the worker: ``WhisperProcess.forced_choice``), and the shown tail counts
        as heard only when it beats every neighbour by ``answers.FORCED_CHOICE_MARGIN``
        (``answers.settled_by_forced_choice``); the note gives every candidate's score.

        Returns (the result, whether a beam alternative may still rescue it): not when a
        neighbour scored at least as well as the shown tail (the audio leans to another
        tail). Runs on the caller's thread (a judge worker), never the event loop."""
        required = reading_required(expected)
        choices = ambiguous_tails(first.transcript, self.locale, required)
        if not choices:
            return first, True
        form = FORCED_CHOICE_FORM if self.locale == "zh" else "arabic"
        written = [c.texts(first.transcript, form) for c in choices]
        texts = [t for ws in written for t, _, _ in ws]
        tokens = self._load().forced_choice(pcm16k, self.locale,
                                            self.hotwords(expected) or None, texts)
        settled: dict[str, str] = {}
        notes: list[str] = []
        leans_away = False
        at = 0
        for choice, ws in zip(choices, written, strict=True):
            scores = [tail_score(tokens[at + k], t, a, b) for k, (t, a, b) in enumerate(ws)]
            at += len(ws)
            ok, note = settled_by_forced_choice(choice, scores)
            if ok:
                settled[choice.item] = note
            else:
                notes.append(note)
                leans_away = leans_away or max(scores[1:]) >= scores[0]
        log.info("an ambiguous tail was scored by forced choice (%s)",
                 "settled" if settled and not notes else "not settled")
        if settled and not notes:
            result = read_aloud_result(first.transcript, expected, self.locale, settled)
            if result.intent != "unclear":
                return result, False
        why = f"; not settled by forced choice: {'; '.join(notes)}" if notes else ""
        return Recognition(first.transcript, first.intent, first.score,
                           note=first.note + why), not leans_away

    def _reading_from_alternatives(self, pcm16k: np.ndarray, expected: Expected,
                                   first: Recognition) -> Recognition:
        """A reading that missed its name or ID tail by one syllable: decode again with a beam
        of ``ALTERNATIVES`` and pass when a hypothesis is the sentence as asked
        (``answers.reading_among_alternatives``); otherwise the first result stands."""
        text = expected.text or ""
        required = tuple(expected.required)
        if not reading_rescuable(first.transcript, text, self.locale, required):
            return first
        hyps = self._load().alternatives(pcm16k, self.locale, self.hotwords(expected) or None,
                                         ALTERNATIVES)
        texts = [textnorm.display_text(h[0], self.locale) for h in hyps]
        alt = reading_among_alternatives(first.transcript, texts, text, self.locale, required)
        if alt is None:
            return first
        result = read_aloud_result(alt, expected, self.locale)
        return Recognition(alt, result.intent, result.score,
                           note=f"heard as {first.transcript!r}; the recogniser's alternative "
                                f"{alt!r} reads the sentence as asked ({result.note})")


# Beam width of the second decode of an unclear answer (WhisperEngine._from_alternatives).
ALTERNATIVES = 5
# Whisper's own threshold (openai-whisper's compression_ratio_threshold): a transcript whose
# UTF-8 bytes compress more than this with zlib repeats itself.
LOOPING_COMPRESSION_RATIO = 2.4


def compression_ratio(text: str) -> float:
    """len(UTF-8 bytes) / len(zlib-compressed bytes) of ``text``; 0.0 for an empty text."""
    raw = text.encode("utf-8")
    return len(raw) / max(1, len(zlib.compress(raw))) if raw else 0.0


def max_chars(expected: Expected) -> int:
    """How many CJK characters a transcript may hold before it counts as a hallucination: a
    short answer ``WHISPER_MAX_CHARS``; a reading twice its own text's, plus that margin (a
    zh-CN reading of the default flow is about 28 characters, and was always "too long")."""
    if expected.kind != "read_aloud" or not expected.text:
        return WHISPER_MAX_CHARS
    return 2 * len(re.findall(r"[\u4e00-\u9fff]", expected.text)) + WHISPER_MAX_CHARS
