"""Log lines that report the machine's load, not the code under test.

Tests that count WARNING lines exactly leave these out: on a loaded 2-core runner the media
loop wakes late and a guide TTS worker can miss its start-up check, and each says so at
WARNING (seen in full-suite runs of 2026-11-30 on tests/test_storage_full_*.py).
"""

from __future__ import annotations

import logging

#: (logger, start of the message) of each warning that reports the machine's load.
LOAD_WARNINGS = (
    ("kiosk.media.loop", "the media loop woke "),
    ("kiosk.guide.tts", "guide TTS worker did not start"),
    ("kiosk.guide.tts", "guide TTS worker for "),
    ("kiosk.guide.tts", "guide TTS utterance cancelled"),
)


def is_load_warning(record: logging.LogRecord) -> bool:
    """True when ``record`` is one of :data:`LOAD_WARNINGS`."""
    said = record.getMessage()
    return any(record.name == name and said.startswith(start) for name, start in LOAD_WARNINGS)
