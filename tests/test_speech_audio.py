"""AudioWindowBuffer: 48 kHz av.AudioFrames in, media-time windows of 16 kHz mono out."""

from __future__ import annotations

import av
import numpy as np
import pytest

from kiosk.speech.audio import AudioWindowBuffer, PcmConverter, pcm_from_array

IN_RATE = 48000
FRAME = 960  # 20 ms, what aiortc delivers for Opus


def stream(seconds: float, click_at: float, layout: str, fmt: str = "s16"):
    """(frames, their relative start times) of silence with one click at ``click_at`` s."""
    n = int(seconds * IN_RATE)
    mono = np.zeros(n, np.float32)
    c = int(click_at * IN_RATE)
    mono[c : c + 48] = 0.8  # 1 ms pulse
    out = []
    for i in range(0, n, FRAME):
        chunk = mono[i : i + FRAME]
        channels = 2 if layout == "stereo" else 1
        if fmt == "s16":
            data = (np.repeat(chunk, channels) * 32767).astype(np.int16).reshape(1, -1)
        else:  # planar float, as Opus decoders produce
            data = np.tile(chunk, (channels, 1))
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=layout)
        frame.sample_rate = IN_RATE
        out.append((frame, i / IN_RATE))
    return out


def click_time(window: np.ndarray, t0: float) -> float:
    return t0 + int(np.argmax(np.abs(window.astype(np.int32)))) / 16000


@pytest.mark.parametrize("layout,fmt", [("stereo", "s16"), ("mono", "s16"), ("stereo", "fltp")])
def test_cut_is_aligned_to_media_time(layout, fmt):
    buf = AudioWindowBuffer(seconds=10)
    for frame, rel in stream(3.0, click_at=1.5, layout=layout, fmt=fmt):
        buf.feed(frame, 5.0 + rel)
    win = buf.cut(6.0, 7.0)
    assert win.dtype == np.int16 and win.shape == (16000,)
    assert abs(click_time(win, 6.0) - 6.5) < 0.002
    assert np.abs(win).max() > 10000


def test_layout_change_mid_stream_keeps_alignment():
    buf = AudioWindowBuffer(seconds=10)
    first = stream(1.0, click_at=0.5, layout="stereo")
    second = stream(1.0, click_at=0.25, layout="mono")
    for frame, rel in first:
        buf.feed(frame, 2.0 + rel)
    for frame, rel in second:
        buf.feed(frame, 3.0 + rel)
    assert abs(click_time(buf.cut(2.2, 2.8), 2.2) - 2.5) < 0.002
    assert abs(click_time(buf.cut(3.0, 3.5), 3.0) - 3.25) < 0.002


def test_gap_is_zero_filled_and_keeps_later_audio_in_place():
    buf = AudioWindowBuffer(seconds=10)
    frames = stream(2.0, click_at=1.5, layout="mono")
    for frame, rel in frames:
        if 0.5 <= rel < 1.0:
            continue  # 0.5 s of lost packets
        buf.feed(frame, rel)
    assert abs(click_time(buf.cut(1.0, 2.0), 1.0) - 1.5) < 0.002
    assert not buf.cut(0.55, 0.95).any()


def test_window_outside_the_audio():
    buf = AudioWindowBuffer(seconds=2)
    assert buf.cut(0, 1).shape == (16000,) and buf.end_time is None
    for frame, rel in stream(5.0, click_at=4.0, layout="mono"):
        buf.feed(frame, 10.0 + rel)
    assert abs(buf.end_time - 15.0) < 0.01
    assert abs(click_time(buf.cut(13.5, 14.5), 13.5) - 14.0) < 0.002
    with pytest.raises(ValueError, match=r"buffer only holds audio from 1[23]\.9?"):
        buf.cut(11.0, 12.0)
    with pytest.raises(ValueError, match="t1 > t0"):
        buf.cut(14.0, 14.0)
    assert not buf.cut(15.5, 16.0).any()  # not arrived yet: zeros


def test_converter_rejects_non_frames_and_resamples_arrays():
    with pytest.raises(TypeError, match="av.AudioFrame"):
        PcmConverter().convert(np.zeros(10))
    out = pcm_from_array(np.zeros(22050, np.int16), 22050)
    assert abs(out.size - 16000) <= 32
    with pytest.raises(ValueError, match="1-D int16"):
        pcm_from_array(np.zeros(10, np.float64), 22050)
