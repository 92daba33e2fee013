"""Bad camera input: black frames and a resolution change mid-stream are reported, not fatal."""

import numpy as np

from kiosk.liveness.analyzer import analyze_frames
from kiosk.liveness.session_checks import assess, check_session
from kiosk.testing.faces import ClipSpec, iter_frames


def test_black_frames_then_a_resolution_change_are_reported_not_fatal():
    black = [(i / 15, np.zeros((480, 640, 3), np.uint8)) for i in range(20)]
    clip = ClipSpec("astronaut", "neutral", size=(320, 240))
    small = [(20 / 15 + t, f) for t, f in iter_frames(clip)]
    analysis = analyze_frames(black + small, describe=False)
    sigs = analysis.signals
    assert len(sigs) == len(black) + len(small)
    assert all(s.faces == 0 and s.brightness < 40 for s in sigs[:20])
    assert sum(s.faces == 1 for s in sigs[20:]) >= 0.9 * len(small)
    report = check_session(sigs)
    ok, reasons = assess(report)
    assert not ok and any("face" in r for r in reasons), reasons
    assert any(e.type == "face_lost" and e.t_start < 0.1 for e in report.events), report.events
