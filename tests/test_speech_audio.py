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


def test_frames_delivered_in_bursts_keep_their_own_timing():
    """Under CPU load aiortc hands frames over in bursts; placed by arrival time, the speech
    was chopped (gaps of zeros, overwritten stretches) and Whisper heard nonsense. Placed by
    their own timestamps (pts), the window is the signal that was sent, whole."""
    import fractions

    rng = np.random.default_rng(0)
    signal = rng.normal(0, 0.2, 3 * IN_RATE).astype(np.float32)
    sent16 = pcm_from_array((signal * 32767).astype(np.int16), IN_RATE)
    buf = AudioWindowBuffer(seconds=10)
    starts = list(range(0, signal.size, FRAME))
    for k, i in enumerate(starts):
        data = (signal[i:i + FRAME] * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="mono")
        frame.sample_rate = IN_RATE
        frame.pts = i
        frame.time_base = fractions.Fraction(1, IN_RATE)
        # Held back, then released ten at a time 150 ms after the last was sent.
        last = starts[min(len(starts) - 1, (k // 10) * 10 + 9)]
        buf.feed(frame, 5.0 + (last + FRAME) / IN_RATE + 0.15 + 0.001 * (k % 10))
    got = buf.cut(5.6, 7.6)
    assert np.count_nonzero(got == 0) < 50  # no stretches of zeros put in
    # The window is one contiguous stretch of what was sent (at a fixed delay).
    lag = int(np.argmax(np.correlate(sent16.astype(np.float64), got[:1600].astype(np.float64),
                                     "valid")))
    whole = sent16[lag:lag + got.size]
    assert np.mean(np.abs(whole.astype(np.int32) - got.astype(np.int32)) < 300) > 0.99


def test_a_restarted_stream_is_placed_by_arrival():
    """A jump of more than a second in the frame clock (a restarted stream) re-anchors."""
    import fractions

    buf = AudioWindowBuffer(seconds=20)
    for start_pts, arrival in ((0, 1.0), (10_000_000, 4.0)):
        for j in range(50):
            frame = av.AudioFrame.from_ndarray(np.full((1, FRAME), 1000, np.int16),
                                               format="s16", layout="mono")
            frame.sample_rate = IN_RATE
            frame.pts = start_pts + j * FRAME
            frame.time_base = fractions.Fraction(1, IN_RATE)
            buf.feed(frame, arrival + j * 0.02)
    assert np.count_nonzero(buf.cut(4.1, 4.9)) > 0.9 * 0.8 * 16000
    assert np.count_nonzero(buf.cut(2.5, 3.5)) == 0


def test_a_delivery_stall_keeps_the_audio_where_it_was_sent():
    """A 3 s stall in DELIVERY (continuous timestamps, late arrival) is not a restarted
    stream: the utterance stays whole at its sent time. Re-anchoring it by arrival once split
    "是的我自愿" in two, the second half 3 s later."""
    import fractions

    buf = AudioWindowBuffer(seconds=20)
    n = 100  # 2 s of 20 ms frames, a constant tone
    for j in range(n):
        frame = av.AudioFrame.from_ndarray(np.full((1, FRAME), 1000, np.int16),
                                           format="s16", layout="mono")
        frame.sample_rate = IN_RATE
        frame.pts = j * FRAME
        frame.time_base = fractions.Fraction(1, IN_RATE)
        # Frames 30.. are held back 3 s, then arrive in a burst.
        arrival = 1.0 + j * 0.02 + (3.0 + 0.001 * j if j >= 30 else 0.0)
        buf.feed(frame, arrival)
    whole = buf.cut(1.0, 3.0)
    assert np.count_nonzero(whole) > 0.97 * whole.size  # all of it, where it was sent
    assert np.count_nonzero(buf.cut(3.2, 6.0)) == 0  # nothing moved to arrival time


def test_a_silence_with_a_timestamp_gap_stays_a_gap():
    """Opus DTX: no packets while silent, timestamps and arrival both move on by the gap."""
    import fractions

    buf = AudioWindowBuffer(seconds=20)
    for start, arrival in ((0, 1.0), (3 * IN_RATE, 4.0)):  # 1 s of audio, 2 s silence, 1 s
        for j in range(50):
            frame = av.AudioFrame.from_ndarray(np.full((1, FRAME), 1000, np.int16),
                                               format="s16", layout="mono")
            frame.sample_rate = IN_RATE
            frame.pts = start + j * FRAME
            frame.time_base = fractions.Fraction(1, IN_RATE)
            buf.feed(frame, arrival + j * 0.02)
    assert np.count_nonzero(buf.cut(1.05, 1.95)) > 0.95 * 0.9 * 16000
    assert np.count_nonzero(buf.cut(2.1, 3.9)) == 0
    assert np.count_nonzero(buf.cut(4.05, 4.95)) > 0.95 * 0.9 * 16000


@pytest.mark.parametrize("behind", [1.5, 2.0])
def test_a_sender_that_fell_behind_and_caught_up_is_placed_by_its_timestamps(behind):
    """A busy sender sends silence late (continuous timestamps, growing delay), then jumps its
    clock forward to real time as speech starts: the speech belongs where its timestamps and
    the least delay put it, not earlier (it was once placed before its window)."""
    import fractions

    buf = AudioWindowBuffer(seconds=30)
    pts = 0
    for j in range(200):  # 4 s of silence whose delivery falls `behind` s behind
        frame = av.AudioFrame.from_ndarray(np.zeros((1, FRAME), np.int16), format="s16",
                                           layout="mono")
        frame.sample_rate, frame.pts = IN_RATE, pts
        frame.time_base = fractions.Fraction(1, IN_RATE)
        buf.feed(frame, 1.0 + pts / IN_RATE + behind * j / 200)
        pts += FRAME
    # Speech starts at sender time 8 s (the clock jumps 4 s ahead, to real time), arriving at 9 s.
    pts = 8 * IN_RATE
    for j in range(50):
        frame = av.AudioFrame.from_ndarray(np.full((1, FRAME), 1000, np.int16), format="s16",
                                           layout="mono")
        frame.sample_rate, frame.pts = IN_RATE, pts + j * FRAME
        frame.time_base = fractions.Fraction(1, IN_RATE)
        buf.feed(frame, 9.0 + j * 0.02)
    assert np.count_nonzero(buf.cut(7.0, 8.95)) == 0  # nothing before it was sent
    assert np.count_nonzero(buf.cut(9.02, 9.98)) > 0.95 * 0.96 * 16000
