"""The guide's voice on real espeak-ng audio: rendering, cache, voice choice, hangs, visemes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
import wave

import numpy as np
import pytest

from kiosk.errors import GuideError
from kiosk.guide import GuideVoice, Prompt, find_prompt
from kiosk.guide.tts import DEFAULT_VOICES, LEAD_SILENCE_SECONDS, TAIL_SILENCE_SECONDS

ZH = "您好，欢迎办理证券开户见证。"  # 12 syllables
EN = "Welcome. Please look at the camera and keep your face inside the frame."  # 13 words


@pytest.fixture(scope="module")
def voice(tmp_path_factory):
    v = GuideVoice(tmp_path_factory.mktemp("tts-cache"))
    yield v
    v.close()


def read_wav(path):
    with wave.open(str(path), "rb") as w:
        params = (w.getframerate(), w.getnchannels(), w.getsampwidth())
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return params, samples


@pytest.mark.parametrize(("text", "locale", "low", "high"), [
    (ZH, "zh-CN", 12 * 0.15, 12 * 0.6),   # seconds for 12 Mandarin syllables
    (EN, "en", 13 * 0.2, 13 * 0.6),       # seconds for 13 English words at ~160 wpm
])
def test_renders_valid_mono_22k_wav(voice, text, locale, low, high):
    p = voice.render(text, locale)
    assert isinstance(p, Prompt)
    assert p.path == voice.cache_dir / f"{p.sha256}.wav"
    assert hashlib.sha256(p.path.read_bytes()).hexdigest() == p.sha256
    params, samples = read_wav(p.path)
    assert params == (22050, 1, 2)
    assert p.duration == pytest.approx(len(samples) / 22050, abs=1e-3)
    assert low < p.duration < high, f"{locale} prompt lasts {p.duration:.2f} s"
    assert np.abs(samples).max() > 3000  # real speech, not near-silence
    assert (p.text, p.locale) == (text, locale)


def test_cache_returns_same_sha_without_rendering(voice, tmp_path):
    text = "Your answer has been recorded."
    first = voice.render(text, "en")
    rendered = voice.stats["rendered"]
    mtime = first.path.stat().st_mtime_ns
    again = voice.render(text, "en")
    assert again.sha256 == first.sha256
    assert voice.stats["rendered"] == rendered  # not rendered again (its speed: kiosk bench)
    assert first.path.stat().st_mtime_ns == mtime

    # A new GuideVoice on the same directory finds it on disk without starting a worker.
    with GuideVoice(voice.cache_dir) as fresh:
        from_disk = fresh.render(text, "en")
        assert from_disk.sha256 == first.sha256
        assert from_disk.visemes == first.visemes
        assert fresh.stats["rendered"] == 0 and fresh.worker_pid("en") is None


def test_different_text_or_rate_gives_different_sha(voice):
    a = voice.render("请看镜头。", "zh-CN")
    b = voice.render("请点头。", "zh-CN")
    c = voice.render("请看镜头。", "zh-CN", rate=220)
    assert len({a.sha256, b.sha256, c.sha256}) == 3
    assert c.duration < a.duration  # the faster rate is really applied


def test_zh_uses_the_pinyin_mandarin_voice(voice, tmp_path):
    pinyin = voice.render(ZH, "zh-CN")
    # pyttsx3 names espeak voices by lower-cased identifier; the worker checks what it got.
    assert voice.engine_voice("zh-CN") == "sit/cmn-latn-pinyin"
    # espeak-ng itself: the pinyin voice gives Mandarin phonemes with tone numbers, the plain
    # `cmn` voice switches to English "(en)" to read the pinyin with tone digits.
    def phonemes(v):
        return subprocess.run(["espeak-ng", "-v", v, "-x", "-q", ZH], capture_output=True,
                              text=True, timeout=10, check=True).stdout
    assert "(en)" not in phonemes(DEFAULT_VOICES["zh-CN"])
    assert "51" in phonemes(DEFAULT_VOICES["zh-CN"])  # falling tone on 办/证/券...
    assert "(en)" in phonemes("sit/cmn")
    # And the audio really differs from what the `cmn` voice makes of the same text.
    with GuideVoice(tmp_path, voices={"zh-CN": "sit/cmn"}, rates={"zh-CN": 165}) as other:
        english_ish = other.render(ZH, "zh-CN")
        assert other.engine_voice("zh-CN") == "sit/cmn"
    assert english_ish.sha256 != pinyin.sha256
    assert abs(english_ish.duration - pinyin.duration) > 0.15 * pinyin.duration


def test_unknown_voice_is_a_clear_error(tmp_path):
    with GuideVoice(tmp_path, voices={"en": "gmw/no-such-voice"}, rates={"en": 160}) as v:
        with pytest.raises(GuideError, match="no-such-voice"):
            v.render("Hello.", "en")


def test_hung_worker_is_killed_and_replaced(tmp_path):
    with GuideVoice(tmp_path, timeout=1.5) as v:
        v.render("First prompt.", "en")
        pid = v.worker_pid("en")
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # a real hang: the worker stops answering
        t0 = time.perf_counter()
        with pytest.raises(GuideError, match="timed out"):
            v.render("Second prompt.", "en")
        assert time.perf_counter() - t0 >= 1.4  # it waited for the timeout, then gave up
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed and reaped
        after = v.render("Third prompt.", "en")
        assert read_wav(after.path)[1].size > 0
        assert v.worker_pid("en") not in (None, pid)
        assert v.stats["timeouts_or_failures"] == 1


def test_tiny_timeout_raises_then_recovers(tmp_path):
    with GuideVoice(tmp_path, timeout=0.001) as v:
        with pytest.raises(GuideError, match="timed out"):
            v.render(EN, "en")
        v.timeout = 8.0
        assert v.render(EN, "en").duration > 1


def test_crashed_worker_restarts_on_next_call(tmp_path):
    with GuideVoice(tmp_path) as v:
        v.render("One.", "en")
        pid = v.worker_pid("en")
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        assert v.render("Two.", "en").duration > 0.3
        assert v.worker_pid("en") != pid


def test_visemes_closed_in_silence_open_in_speech(voice):
    p = voice.render(EN, "en")
    times = [t for t, _ in p.visemes]
    opens = np.array([o for _, o in p.visemes])
    assert np.all(np.diff(times) > 0) and np.all(np.diff(times) <= 0.041)
    assert times[-1] == pytest.approx(p.duration, abs=0.021)
    assert opens.min() >= 0 and opens.max() <= 1
    lead = [o for t, o in p.visemes if t < LEAD_SILENCE_SECONDS - 0.02]
    tail = [o for t, o in p.visemes if t > p.duration - TAIL_SILENCE_SECONDS + 0.04]
    assert lead and max(lead) < 0.05
    assert tail and max(tail) < 0.05
    assert opens.max() > 0.3
    # The mouth follows the audio: open where it is loud, shut where it is quiet.
    _, samples = read_wav(p.path)
    hop = 441
    n = len(samples) // hop
    rms = np.sqrt((samples[: n * hop].astype(float).reshape(n, hop) ** 2).mean(1)) / 32768
    loud, quiet = rms > 0.08, rms < 0.004
    assert opens[:n][loud].mean() > 0.5 > opens[:n][quiet].mean() + 0.4
    saved = json.loads((voice.cache_dir / f"{p.sha256}.visemes.json").read_text())
    assert saved["sha256"] == p.sha256
    assert [tuple(x) for x in saved["visemes"]] == p.visemes


def test_find_prompt_only_returns_genuine_files_inside_the_cache(voice, tmp_path):
    p = voice.render("Thank you.", "en")
    assert find_prompt(voice.cache_dir, p.sha256) == p.path.resolve()
    for bad in ["../x", p.sha256.upper(), p.sha256[:-1], p.sha256 + "0",
                "../" + p.sha256[3:], "", "g" * 64]:
        assert find_prompt(voice.cache_dir, bad) is None, bad
    assert find_prompt(voice.cache_dir, "0" * 64) is None  # well formed, absent
    # A file whose bytes do not match its name is refused.
    forged = "1" * 64
    (voice.cache_dir / f"{forged}.wav").write_bytes(p.path.read_bytes())
    assert find_prompt(voice.cache_dir, forged) is None
    # A symlink leading out of the cache is refused even when the hash matches.
    outside = tmp_path / "outside.wav"
    outside.write_bytes(b"secret")
    sha = hashlib.sha256(b"secret").hexdigest()
    (voice.cache_dir / f"{sha}.wav").symlink_to(outside)
    assert find_prompt(voice.cache_dir, sha) is None


def test_concurrent_renders_from_many_threads(tmp_path):
    texts = [("请保持面部在画面中。", "zh-CN"), ("Please nod.", "en"), ("Please blink.", "en")]
    results: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def work(text, locale):
        try:
            results.append((text, v.render(text, locale).sha256))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    with GuideVoice(tmp_path) as v:
        threads = [threading.Thread(target=work, args=item) for item in texts * 3]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors
        assert len(results) == 9
        by_text: dict[str, set[str]] = {}
        for text, sha in results:
            by_text.setdefault(text, set()).add(sha)
        assert all(len(s) == 1 for s in by_text.values())  # one render per distinct prompt
        assert v.stats["rendered"] == 3


def test_prerender_in_background(voice):
    items = [("第一步，请确认身份。", "zh-CN"), ("Step one: confirm your identity.", "en")]
    prompts = voice.prerender(items).result(timeout=30)
    assert [(p.text, p.locale) for p in prompts] == items
    assert all(p.path.is_file() for p in prompts)
    with pytest.raises(ValueError, match="item 0"):
        voice.prerender(["not a tuple"])


@pytest.mark.parametrize(("text", "locale", "rate", "message"), [
    ("Hello.", "fr", None, "locale 'fr'"),
    ("   ", "en", None, "empty"),
    ("Hello.", "en", 10, "rate"),
    ("x" * 2001, "en", None, "2001 characters"),
])
def test_bad_input_is_refused_with_a_clear_error(voice, text, locale, rate, message):
    with pytest.raises(GuideError, match=message):
        voice.render(text, locale, rate=rate)
