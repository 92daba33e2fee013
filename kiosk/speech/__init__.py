"""Hearing the investor's spoken answer: VAD, recognition, read-aloud checks and the decision rule.

Heavy libraries (onnxruntime, pocketsphinx, PyAV) load only when their module is used.
"""

from kiosk.speech.decide import Decision, decide
from kiosk.speech.recognize import Answer, Expected, Recognizer, verify
from kiosk.speech.vad import SpeechSpan, detect_speech

__all__ = ["Answer", "Decision", "Expected", "Recognizer", "SpeechSpan", "decide",
           "detect_speech", "verify"]
