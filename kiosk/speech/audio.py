"""PCM for speech: 48 kHz ``av.AudioFrame`` -> 16 kHz mono int16, and a per-session window buffer.

This is the only module of ``kiosk.speech`` that touches PyAV.
"""

from __future__ import annotations

import threading

import av
import numpy as np

RATE = 16000
# A jump in frame timestamps larger than this (seconds) is a gap or a clock reset, not jitter.
GAP_TOLERANCE = 0.06
# Frames that carry timestamps (aiortc's, from RTP) are stored on the SENDER's sample clock, so
# the audio stays exactly as sent; the sender clock is mapped onto the media clock when a
# window is cut, by the smallest arrival delay seen so far (a frame never arrives before it is
# sent). A restarted stream (the sender's timestamps jump to where that mapping is off by more
# than RESYNC_S) is re-anchored where arrival says. A late DELIVERY is not a restart: frames
# whose timestamps run on continuously keep their place however late they arrive (a stall of
# 3 s once split "是的我自愿" in two, the second half placed 3 s later, and the answer failed
# the noise check). Placing
# frames by arrival time garbled speech under CPU load: frames delivered in bursts were taken
# for gaps (zeros put in) and overlaps (audio overwritten), and Whisper heard "a December ...
# a 30s account" for a clear "an ID number ... a securities account". Re-placing frames each
# time the mapping improved cut the first answer of a session instead.
RESYNC_S = 1.0


class PcmConverter:
    """Turns ``av.AudioFrame``s of any format/layout/rate into 16 kHz mono int16 samples.

    The resampler is rebuilt when the input format, layout or rate changes (a browser may switch
    from stereo to mono mid-call); the old one is flushed first so no samples are lost.
    """

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None
        self._key: tuple | None = None

    def convert(self, frame: av.AudioFrame) -> np.ndarray:
        """Samples produced so far for ``frame`` (the resampler may hold a few back)."""
        if not isinstance(frame, av.AudioFrame):
            raise TypeError(f"expected av.AudioFrame, got {type(frame).__name__}")
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        parts = []
        if key != self._key:
            parts.append(self.flush())
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
            self._key = key
        frame.pts = None  # the resampler must not re-time samples from the sender's clock
        assert self._resampler is not None  # set and cleared together with self._key
        for out in self._resampler.resample(frame):
            parts.append(out.to_ndarray().reshape(-1))
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def flush(self) -> np.ndarray:
        """Drain the samples the resampler still holds and forget it."""
        if self._resampler is None:
            return np.zeros(0, np.int16)
        parts = [out.to_ndarray().reshape(-1) for out in self._resampler.resample(None)]
        self._resampler = None
        self._key = None
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)


def pcm_from_array(samples: np.ndarray, rate: int) -> np.ndarray:
    """Resample a mono int16 array at ``rate`` to 16 kHz mono int16."""
    samples = np.asarray(samples)
    if samples.ndim != 1 or samples.dtype != np.int16:
        raise ValueError(f"expected 1-D int16 samples, got {samples.ndim}-D {samples.dtype}")
    if rate == RATE:
        return samples.copy()
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    conv = PcmConverter()
    return np.concatenate([conv.convert(frame), conv.flush()])


def pcm_from_file(path) -> np.ndarray:
    """Decode any audio file PyAV reads into 16 kHz mono int16."""
    conv = PcmConverter()
    parts = []
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError(f"{path}: has no audio stream")
        for frame in container.decode(audio=0):
            parts.append(conv.convert(frame))
    parts.append(conv.flush())
    return np.concatenate(parts)


def _frame_seconds(frame: av.AudioFrame) -> float | None:
    """The frame's own timestamp in seconds (pts x time_base), or None when it has none."""
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * frame.time_base)


class AudioWindowBuffer:
    """A ring of the last ``seconds`` of a session's audio at 16 kHz, addressed by media-clock time.

    ``feed(frame, t)`` takes each received frame with ``t`` = media-clock time of its first
    sample; ``cut(t0, t1)`` returns exactly ``round((t1 - t0) * 16000)`` samples of that window.
    Stretches with no audio received (before the first frame, gaps, not yet arrived) are zeros;
    a window older than the ring holds raises ValueError. Thread-safe: the media thread feeds,
    a session timer cuts.
    """

    def __init__(self, seconds: float = 120.0):
        if seconds <= 0:
            raise ValueError(f"buffer length must be positive, got {seconds}")
        self._cap = int(seconds * RATE)
        self._ring = np.zeros(self._cap, np.int16)
        self._lock = threading.Lock()
        self._conv = PcmConverter()
        self._origin: float | None = None  # time of absolute sample index 0 (sender clock)
        self._written = 0  # absolute index one past the last written sample
        self._seg_t: float | None = None  # media time of the current contiguous segment's start
        self._seg_index = 0  # absolute sample index where the segment starts
        self._seg_in = 0.0  # input seconds fed into the current segment
        # Media time minus sender time (the least delay seen); 0 for frames without timestamps.
        self._offset: float | None = None
        self._rebase = 0.0  # added to sender timestamps after a restarted stream
        self._last: tuple[float, float] | None = None  # (stamp, duration) of the last frame

    def feed(self, frame: av.AudioFrame, t: float) -> None:
        """Add one received frame whose first sample is at media time ``t`` (seconds)."""
        if not np.isfinite(t):
            raise ValueError(f"frame time must be finite, got {t}")
        duration = frame.samples / frame.sample_rate
        with self._lock:
            stamp = _frame_seconds(frame)
            if stamp is None:
                self._offset = 0.0 if self._offset is None else self._offset
                t = t - self._offset
            else:
                if self._last is not None and self._offset is not None:
                    last_stamp, last_duration = self._last
                    step = stamp - (last_stamp + last_duration)  # 0 when continuous
                    lag = t - (stamp + self._rebase)
                    if abs(step) > GAP_TOLERANCE and abs(lag - self._offset) > RESYNC_S:
                        # The sender clock jumped to where the mapping cannot place it (a
                        # restarted stream): continue it where arrival says it is. A jump the
                        # mapping agrees with (a silence without packets, Opus DTX; a sender
                        # catching up after falling behind) is kept as it is.
                        self._rebase += lag - self._offset
                self._last = (stamp, duration)
                sent = stamp + self._rebase
                lag = t - sent
                if self._offset is None or lag < self._offset:
                    self._offset = lag
                t = sent
            if self._origin is None:
                self._origin = t
            expected = None if self._seg_t is None else self._seg_t + self._seg_in
            if expected is None or abs(t - expected) > GAP_TOLERANCE:
                # New contiguous segment: keep what the resampler held for the old one.
                self._place(self._conv.flush())
                self._seg_t = t
                self._seg_index = max(0, round((t - self._origin) * RATE))
                self._seg_in = 0.0
                if self._seg_index < self._written:
                    self._written = self._seg_index  # clock went back: later audio overwrites
                self._zero_fill(self._seg_index)
            self._seg_in += duration
            self._place(self._conv.convert(frame))

    def _zero_fill(self, upto: int) -> None:
        start = max(self._written, upto - self._cap)
        for a in range(start, upto, self._cap):
            b = min(upto, a + self._cap)
            self._write_at(a, np.zeros(b - a, np.int16))
        self._written = max(self._written, upto)

    def _place(self, samples: np.ndarray) -> None:
        if samples.size == 0:
            return
        self._write_at(self._written, samples)
        self._written += samples.size

    def _write_at(self, index: int, samples: np.ndarray) -> None:
        if samples.size > self._cap:
            index += samples.size - self._cap
            samples = samples[-self._cap :]
        pos = index % self._cap
        first = min(samples.size, self._cap - pos)
        self._ring[pos : pos + first] = samples[:first]
        self._ring[: samples.size - first] = samples[first:]

    @property
    def end_time(self) -> float | None:
        """Media time just after the last buffered sample, or None before any audio."""
        with self._lock:
            if self._origin is None:
                return None
            return self._origin + self._written / RATE + (self._offset or 0.0)

    def cut(self, t0: float, t1: float) -> np.ndarray:
        """The 16 kHz mono int16 samples of media-time window [t0, t1)."""
        if not (np.isfinite(t0) and np.isfinite(t1)) or t1 <= t0:
            raise ValueError(f"window must have t1 > t0, got [{t0}, {t1}]")
        n = round((t1 - t0) * RATE)
        out = np.zeros(n, np.int16)
        with self._lock:
            if self._origin is None:
                return out
            a = round((t0 - (self._offset or 0.0) - self._origin) * RATE)
            oldest = max(0, self._written - self._cap)
            if a < oldest and self._written > self._cap:
                raise ValueError(
                    f"window starts at {t0:.3f} s but the buffer only holds audio from "
                    f"{self._origin + oldest / RATE + (self._offset or 0.0):.3f} s"
                )
            lo, hi = max(a, 0), min(a + n, self._written)
            if hi > lo:
                idx = np.arange(lo, hi) % self._cap
                out[lo - a : hi - a] = self._ring[idx]
        return out
