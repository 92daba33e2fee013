"""kiosk.speech.models: the bundled Whisper model is joined once and refused when it changed."""

from __future__ import annotations

import hashlib

import pytest

from kiosk.speech import models


def _parts(tmp_path, data=(b"abc" * 1000, b"xyz" * 500)):
    side = tmp_path / "side"
    side.mkdir()
    for name in models.SIDE_FILES:
        (side / name).write_text(name)
    parts = []
    for i, chunk in enumerate(data):
        p = tmp_path / f"model.bin.part{i + 1}"
        p.write_bytes(chunk)
        parts.append(p)
    return parts, side, hashlib.sha256(b"".join(data)).hexdigest()


def test_join_parts_checks_the_hash_and_writes_atomically(tmp_path):
    parts, side, sha = _parts(tmp_path)
    dest = tmp_path / "cache" / "m"
    assert models.join_parts(parts, side, dest, sha) == dest
    assert (dest / "model.bin").read_bytes() == b"abc" * 1000 + b"xyz" * 500
    assert sorted(p.name for p in dest.iterdir()) == sorted(("model.bin",) + models.SIDE_FILES)
    # Joined once: a second call keeps the existing folder.
    mtime = (dest / "model.bin").stat().st_mtime_ns
    assert models.join_parts(parts, side, dest, sha) == dest
    assert (dest / "model.bin").stat().st_mtime_ns == mtime


def test_a_changed_part_is_refused_and_leaves_nothing_behind(tmp_path):
    parts, side, sha = _parts(tmp_path)
    parts[1].write_bytes(b"xyz" * 499 + b"xyQ")
    dest = tmp_path / "cache" / "m"
    with pytest.raises(models.ModelError, match="reinstall the model packages"):
        models.join_parts(parts, side, dest, sha)
    assert not dest.exists()
    assert list((tmp_path / "cache").iterdir()) == []  # no half-written temporary folder


def test_the_bundled_model_joins_to_its_pinned_hash(tmp_path):
    assert models.bundled_available()
    d = models.bundled_whisper_dir(tmp_path)
    h = hashlib.sha256()
    with open(d / "model.bin", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    assert h.hexdigest() == models.WHISPER_BASE_SHA256
    assert all((d / n).is_file() for n in models.SIDE_FILES)


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KIOSK_MODEL_CACHE", str(tmp_path / "k"))
    assert models.cache_root() == tmp_path / "k"
    monkeypatch.delenv("KIOSK_MODEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert models.cache_root() == tmp_path / "x" / "witness-kiosk"


def test_the_whisper_worker_exits_when_its_server_is_killed(tmp_path):
    """A SIGKILLed server leaves no Whisper worker behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = ("from kiosk.speech import models\n"
            "from kiosk.speech.whisper_proc import WhisperProcess\n"
            "w = WhisperProcess(models.bundled_whisper_dir())\n"
            "print(w.pid(), flush=True)\n"
            "import time; time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        os.kill(worker, 0)  # alive
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        raise AssertionError(f"Whisper worker {worker} outlived its parent")
    finally:
        parent.kill()


def test_preload_warms_each_recogniser_with_a_throw_away_reading(monkeypatch, caplog):
    from kiosk.speech.engines.base import Engine, Recognition
    from kiosk.speech.recognize import WARM_READING, Recognizer

    heard: list = []

    class Stub(Engine):
        name = "stub"

        def recognize(self, pcm16k, expected):
            heard.append((pcm16k.size, expected.kind, expected.text, expected.required))
            if expected.text == WARM_READING["en"][0]:
                raise RuntimeError("no decoder")  # a warm-up failure is only logged
            return Recognition("", "unclear", 0.0)

    r = Recognizer()
    monkeypatch.setattr(r, "engine_for", lambda locale: Stub())
    r.preload(("en", "zh"))
    assert heard == [(16000, "read_aloud", WARM_READING[k][0], WARM_READING[k][1])
                     for k in ("en", "zh")]
    assert "warming the en recogniser failed: no decoder" in caplog.text
    heard.clear()
    r.preload(("zh",), warm=False)
    assert heard == []
