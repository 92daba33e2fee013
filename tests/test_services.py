"""KioskServices' shared state that threads change while requests read it."""

from __future__ import annotations

import pytest

from kiosk import config as config_module
from kiosk.config import load_settings
from kiosk.errors import ConfigError
from kiosk.locales import LOCALES
from kiosk.services import KioskServices


def test_the_warming_models_can_be_read_while_a_preload_ends():
    """/api/ready and /api/health read the names while the preload threads discard them: the
    read is a copy taken under a lock, so a preload ending in the middle cannot break it (a
    bare set raised "Set changed size during iteration")."""
    warming = KioskServices.__dataclass_fields__["warming"].default_factory()
    warming.add("speech")
    warming.add("face")
    seen = []
    for name in warming.names():
        warming.discard("speech")  # the speech preload ends now
        seen.append(name)
    assert seen == ["face", "speech"] and warming.names() == ["face"]
    warming.discard("face")
    warming.discard("face")  # ending twice is harmless
    assert warming.names() == []


def test_the_guide_has_a_voice_and_a_rate_for_every_locale(tmp_path, monkeypatch):
    settings = load_settings(data_dir=tmp_path, voice_en="gmw/en-gb", tts_rate_zh=150)
    assert list(settings.voices()) == list(LOCALES) == list(settings.tts_rates())
    assert settings.voices()["en"] == "gmw/en-gb" and settings.tts_rates()["zh-CN"] == 150
    # A locale added to the list without its settings is named, not skipped.
    monkeypatch.setattr(config_module, "LOCALES", (*LOCALES, "fr"))
    with pytest.raises(ConfigError, match="no setting voice_fr for the locale fr"):
        settings.voices()
