"""``kiosk analyze`` on synthetic recordings, through click's runner."""

from __future__ import annotations

import json

from click.testing import CliRunner

from kiosk.liveness.cli import analyze
from kiosk.testing.faces import ClipSpec, clip_path


def test_analyze_json_reports_challenge_events_and_summary(tmp_path):
    clip = clip_path(ClipSpec("hopper", "sequence", size=(320, 240)))
    signals = tmp_path / "signals.jsonl"
    args = [str(clip), "--json", "--signals", str(signals)]
    for kind in ("blink", "turn_left", "open_mouth", "turn_right", "nod"):
        args += ["--challenge", kind]
    res = CliRunner().invoke(analyze, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    kinds = [e["type"] for e in out["events"]]
    assert kinds == ["blink", "turn_left", "open_mouth", "turn_right", "nod"]
    assert all(set(e) == {"type", "t_start", "t_end", "score"} for e in out["events"])
    s = out["summary"]
    assert s["face_present_ratio"] == 1.0 and s["faces_max"] == 1
    assert s["identity_consistent"] is True
    assert s["checks_hold"] is True and s["reasons"] == []
    assert len(signals.read_text().splitlines()) == s["frames"] == 165


def test_analyze_flags_two_faces_in_text_output():
    clip = clip_path(ClipSpec("astronaut", "two_faces", seconds=2.0))
    res = CliRunner().invoke(analyze, [str(clip), "--no-identity"])
    assert res.exit_code == 0, res.output
    assert "multiple_faces" in res.output
    assert "checks do not hold: more than one face" in res.output


def test_analyze_missing_recording_is_named(tmp_path):
    missing = tmp_path / "nope.webm"
    res = CliRunner().invoke(analyze, [str(missing), "--json"])
    assert res.exit_code != 0
    assert f"{missing}: recording not found" in res.output
