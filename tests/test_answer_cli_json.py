"""``kiosk answer --json``: an error is also one JSON object on stdout (#12 fresh tester: a
broker's script got plain text on stderr), with click's exit code; without --json, text only."""

from __future__ import annotations

import json
import wave

from click.testing import CliRunner

from kiosk.speech.cli import answer


def _wav(path):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0" * 3200)
    return path


def _json_line(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_a_missing_file_is_a_json_error(tmp_path):
    res = CliRunner().invoke(answer, [str(tmp_path / "nope.wav"), "--flow",
                                      "securities_account_opening", "--step", "consent", "--json"])
    assert res.exit_code == 2
    out = _json_line(res.stdout)
    assert out["exit_code"] == 2 and "does not exist" in out["error"], out


def test_a_step_that_does_not_listen_is_a_json_error(tmp_path):
    wav = _wav(tmp_path / "a.wav")
    res = CliRunner().invoke(answer, [str(wav), "--flow", "securities_account_opening",
                                      "--step", "welcome", "--locale", "zh-CN", "--json"])
    assert res.exit_code == 2
    out = _json_line(res.stdout)
    assert "not a question or read_aloud step" in out["error"], out
    bad_id = CliRunner().invoke(answer, [str(wav), "--flow", "securities_account_opening",
                                         "--step", "consent", "--id-number", "123", "--json"])
    assert bad_id.exit_code == 2 and "18 characters" in _json_line(bad_id.stdout)["error"]


def test_without_json_an_error_is_text_only(tmp_path):
    wav = _wav(tmp_path / "a.wav")
    res = CliRunner().invoke(answer, [str(wav), "--flow", "securities_account_opening",
                                      "--step", "welcome"])
    assert res.exit_code == 2 and res.stdout.strip() == ""
    assert "not a question or read_aloud step" in res.stderr
