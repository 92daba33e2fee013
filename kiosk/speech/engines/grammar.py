"""pocketsphinx 5 with its bundled en-us model and a JSGF grammar per expected answer.

English uses the bundled CMU dictionary; Mandarin a pinyin dictionary mapped onto en-us phones
(``kiosk.speech.phones``). The grammar holds filler words so that other speech lands on
fillers, a low lattice posterior turns any match into "unclear", and a consent must survive a
second, answers-only decode (and in Mandarin a forced alignment against its negations).
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import threading
from pathlib import Path

import numpy as np

from kiosk.speech.engines.base import Engine, Recognition, files_sha256, read_aloud_result
from kiosk.speech.expected import Expected
from kiosk.speech.lexicon import (
    EN_AFFIRM,
    EN_DENY,
    EN_DIGITS,
    EN_FILLERS,
    ZH_AFFIRM,
    ZH_DENY,
    ZH_DIGITS,
    ZH_FILLERS,
    ZH_VARIANTS,
)
from kiosk.speech.phones import pinyin_phones
from kiosk.speech.words import classify, digits_of, is_digits, normalize_locale, to_pinyin, words_of

log = logging.getLogger(__name__)

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
        def esc(opts) -> str:
            return " | ".join(sorted(set(opts)))

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
