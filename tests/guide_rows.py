"""Helpers the guide-speech round tests share (tests/test_guide_normalise_round*.py):
written → spoken rows, the check's warnings, and espeak-ng's phonemes for a text."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from kiosk.guide.normalise import speakable, speech_issues
from kiosk.guide.tts import DEFAULT_VOICES

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed")


def rows(cases):
    """``(written, locale, expected)`` cases as a parametrize mark, each named by its text."""
    return pytest.mark.parametrize("written,locale,expected", cases, ids=[c[0] for c in cases])


def misread(rows) -> list[tuple[str, str, str]]:
    """(written, expected, spoken) of every (written, locale, expected) row read otherwise."""
    return [(w, e, speakable(w, loc)) for w, loc, e in rows if speakable(w, loc) != e]


def warnings(text: str, locale: str = "zh-CN") -> list[str]:
    """The messages `kiosk flows check` gives for ``text``."""
    return [i.message for i in speech_issues(text, locale)]


def squeeze(phonemes: str) -> str:
    """espeak-ng's ``-x`` output without word breaks and whitespace."""
    return "".join(phonemes.replace("_|", " ").split())


def espeak_said(said: str, locale: str = "zh-CN") -> str:
    """espeak-ng's phonemes for ``said`` exactly as given to the guide's voice."""
    return squeeze(subprocess.run(["espeak-ng", "-x", "-q", "-v", DEFAULT_VOICES[locale], said],
                                  capture_output=True, text=True, check=True,
                                  timeout=30).stdout)


def espeak_written(text: str, locale: str = "zh-CN") -> str:
    """espeak-ng's phonemes for what the guide gives the voice for the written ``text``."""
    return espeak_said(speakable(text, locale), locale)
