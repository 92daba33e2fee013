"""Hearing the investor's spoken answer: VAD, recognition, read-aloud checks and the decision rule.

Heavy libraries (onnxruntime, pocketsphinx, PyAV) load only when their module is used. The
names below are resolved on first use, so that importing a light module of this package
(``kiosk.speech.answers`` from the flow checker, say) does not import the recogniser, and two
threads importing different modules of it at once never meet a half-imported module.
The decision rule is ``kiosk.speech.decide.decide`` (``kiosk.speech.decide`` is its module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "Decision": "kiosk.speech.decide",
    "Answer": "kiosk.speech.recognize", "Expected": "kiosk.speech.expected",
    "Recognizer": "kiosk.speech.recognize", "verify": "kiosk.speech.recognize",
    "SpeechSpan": "kiosk.speech.vad", "detect_speech": "kiosk.speech.vad",
}

__all__ = ["Answer", "Decision", "Expected", "Recognizer", "SpeechSpan", "detect_speech",
           "verify"]

if TYPE_CHECKING:
    from kiosk.speech.decide import Decision
    from kiosk.speech.expected import Expected
    from kiosk.speech.recognize import Answer, Recognizer, verify
    from kiosk.speech.vad import SpeechSpan, detect_speech


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kiosk.speech' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
