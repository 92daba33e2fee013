"""KioskServices' shared state that threads change while requests read it."""

from __future__ import annotations

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
