"""PacketRecorder over a real aiortc loopback: numbered frames and timed beeps in, decoded out.

The sender tracks behave like a camera and microphone: their content is a function of the
time since a shared start, so the recording can be checked for frame content, frame count and
A/V sync. Video frame k shows k as 10 black/white bars; audio carries a 1 kHz beep of
``BEEP_SECONDS`` starting at every whole second since the start.

Run as a script for the crash child (``--crash-child PATH``) or the CPU bench (``--bench``).
"""

from __future__ import annotations

import asyncio
import fractions
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

if __name__ == "__main__":  # run as a script from anywhere: make `kiosk` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av
import numpy as np
import pytest
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from kiosk.errors import MediaError
from kiosk.media.recorder import (
    PacketRecorder,
    RtpTimeline,
    prefer_vp8_opus,
    vp8_is_keyframe,
    vp8_keyframe_size,
)
from kiosk.media.remux import finalise_recording, probe_recording
from kiosk.timeline import MediaClock

FPS = 15
WIDTH, HEIGHT = 320, 240
BITS = 10
RATE = 48_000
SAMPLES = 960  # 20 ms, what WebRTC sends
BEEP_HZ = 1000.0
BEEP_AMPLITUDE = 0.3  # RMS of the beep: 0.3 / sqrt(2) = 0.212
BEEP_SECONDS = 0.3


# -- synthetic camera and microphone -------------------------------------------------------------


class SharedStart:
    """The moment the first track is read; both tracks' content is timed from it."""

    def __init__(self):
        self.t0: float | None = None

    def get(self) -> float:
        if self.t0 is None:
            self.t0 = time.monotonic()
        return self.t0


def draw_number(k: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """An RGB frame showing ``k`` as BITS vertical bars, most significant left, white = 1."""
    img = np.full((height, width, 3), 16, np.uint8)
    bar = width // BITS
    for i in range(BITS):
        if (k >> (BITS - 1 - i)) & 1:
            img[:, i * bar:(i + 1) * bar] = 235
    return img


def read_number(gray: np.ndarray) -> int:
    """Inverse of draw_number on a decoded luma plane (bar centres only, robust to VP8)."""
    height, width = gray.shape
    bar = width // BITS
    k = 0
    for i in range(BITS):
        cell = gray[height // 4: 3 * height // 4, i * bar + bar // 4: (i + 1) * bar - bar // 4]
        k = (k << 1) | int(cell.mean() > 128)
    return k


class NumberedVideoTrack(MediaStreamTrack):
    """A camera at FPS whose frame k (k/FPS seconds after the shared start) shows k."""

    kind = "video"

    def __init__(self, start: SharedStart, width: int = WIDTH, height: int = HEIGHT,
                 texture: bool = False, number_offset: int = 0):
        super().__init__()
        self.start, self.width, self.height = start, width, height
        self.number_offset = number_offset
        # Camera-like bitrate for the bench: moving noise in the top quarter (not read back).
        self.noise = (np.random.default_rng(1).integers(0, 256, (height // 4, width * 2, 3),
                                                        dtype=np.uint8) if texture else None)
        self.k: int | None = None
        self.sent: list[int] = []
        self._cache: dict[int, av.VideoFrame] = {}

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        t0 = self.start.get()
        if self.k is None:
            self.k = math.ceil((time.monotonic() - t0) * FPS)
        await asyncio.sleep(max(0.0, t0 + self.k / FPS - time.monotonic()))
        if self.readyState != "live":
            raise MediaStreamError
        img = draw_number(self.k + self.number_offset, self.width, self.height)
        if self.noise is not None:
            shift = (self.k * 8) % self.width
            img[: self.height // 4] = self.noise[:, shift: shift + self.width]
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = self.k * (90_000 // FPS)
        frame.time_base = fractions.Fraction(1, 90_000)
        self.sent.append(self.k + self.number_offset)
        self.k += 1
        return frame


class BeepAudioTrack(MediaStreamTrack):
    """A microphone: a BEEP_HZ beep at every whole second after the shared start, else silence."""

    kind = "audio"

    def __init__(self, start: SharedStart):
        super().__init__()
        self.start = start
        self.sample: int | None = None
        self.first_sample: int | None = None

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        t0 = self.start.get()
        if self.sample is None:
            self.sample = math.ceil((time.monotonic() - t0) * RATE / SAMPLES) * SAMPLES
            self.first_sample = self.sample
        await asyncio.sleep(max(0.0, t0 + self.sample / RATE - time.monotonic()))
        idx = self.sample + np.arange(SAMPLES)
        t = idx / RATE
        on = (t >= 1.0) & ((t % 1.0) < BEEP_SECONDS)
        wave = np.where(on, BEEP_AMPLITUDE * np.sin(2 * np.pi * BEEP_HZ * t), 0.0)
        frame = av.AudioFrame.from_ndarray((wave * 32767).astype(np.int16).reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.sample
        frame.time_base = fractions.Fraction(1, RATE)
        self.sample += SAMPLES
        return frame


# -- loopback harness ----------------------------------------------------------------------------


class Loopback:
    """A sender pc with the synthetic tracks and a receiver pc answering like kiosk.media.peer."""

    def __init__(self, rec_path: Path | None, width=WIDTH, height=HEIGHT, number_offset=0,
                 **recorder_kw):
        self.start = SharedStart()
        self.video = NumberedVideoTrack(self.start, width, height, number_offset=number_offset)
        self.audio = BeepAudioTrack(self.start)
        self.clock = MediaClock()
        self.rec_path = rec_path
        self.recorder_kw = recorder_kw
        self.recorder: PacketRecorder | None = None
        self.received = {"video": 0, "audio": 0}
        self.lags: list[float] = []
        self._tasks: list[asyncio.Task] = []
        self.answer_sdp = ""

    async def connect(self) -> None:
        config = RTCConfiguration(iceServers=[])
        self.tx = RTCPeerConnection(config)
        self.rx = RTCPeerConnection(config)
        for track in (self.video, self.audio):
            tr = self.tx.addTransceiver(track, direction="sendonly")
            # Offer H264 / PCMU first, as some browsers do: the answer must still pick VP8/Opus.
            caps = RTCRtpSender.getCapabilities(track.kind).codecs
            first = "video/h264" if track.kind == "video" else "audio/pcmu"
            tr.setCodecPreferences(sorted(caps, key=lambda c: c.mimeType.lower() != first))

        @self.rx.on("track")
        def _on_track(track):
            self._tasks.append(asyncio.ensure_future(self._consume(track)))

        await self.tx.setLocalDescription(await self.tx.createOffer())
        await self.rx.setRemoteDescription(self.tx.localDescription)
        if self.rec_path is not None:
            prefer_vp8_opus(self.rx)
            self.recorder = PacketRecorder(self.rec_path, self.clock, **self.recorder_kw)
            self.recorder.attach(self.rx)
        await self.rx.setLocalDescription(await self.rx.createAnswer())
        self.answer_sdp = self.rx.localDescription.sdp
        await self.tx.setRemoteDescription(self.rx.localDescription)
        self._tasks.append(asyncio.ensure_future(self._watch_lag()))

    async def _consume(self, track) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            self.received[track.kind] += 1

    async def _watch_lag(self) -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.01)
            self.lags.append(time.monotonic() - t - 0.01)

    async def run_until_video(self, seconds: float, timeout: float = 20.0) -> None:
        """Run ``seconds`` after the first video frame is sent."""
        deadline = time.monotonic() + timeout
        while not self.video.sent:
            if time.monotonic() > deadline:
                raise AssertionError("no video frame was sent: the loopback did not connect")
            await asyncio.sleep(0.05)
        await asyncio.sleep(seconds)

    async def stop_sending(self) -> None:
        """Stop the sources, let the last packets arrive."""
        self.video.stop()
        self.audio.stop()
        await asyncio.sleep(0.5)

    async def close(self) -> None:
        if self.recorder is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.recorder.close)
        for t in self._tasks:
            t.cancel()
        await self.rx.close()
        await self.tx.close()


def decode_video_numbers(path: Path) -> list[tuple[float, int]]:
    """(pts seconds, frame number) of every decoded video frame."""
    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            gray = frame.to_ndarray(format="gray")
            out.append((float(frame.pts * frame.time_base), read_number(gray)))
    return out


def decode_audio_mono(path: Path) -> tuple[float, np.ndarray]:
    """(pts of the first sample, mono float samples at 48 kHz) of the audio track."""
    chunks, first = [], None
    with av.open(str(path)) as c:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in c.decode(audio=0):
            if first is None:
                first = float(frame.pts * frame.time_base)
            for f in resampler.resample(frame):
                chunks.append(f.to_ndarray().reshape(-1))
    return first, np.concatenate(chunks)


def beep_onsets(samples: np.ndarray, first_pts: float) -> list[float]:
    """Recording times where a beep starts (5 ms envelope crossing half the peak after quiet)."""
    win = RATE // 200
    env = np.sqrt(np.mean(samples[: len(samples) // win * win].reshape(-1, win) ** 2, axis=1))
    loud = env > 0.5 * env.max()
    onsets, quiet = [], 0
    for i, is_loud in enumerate(loud):
        if is_loud and quiet >= 20:  # >= 100 ms of quiet before
            onsets.append(first_pts + i * win / RATE)
        quiet = 0 if is_loud else quiet + 1
    return onsets


def _vint(buf: bytes, pos: int, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at ``pos``: (value, position after it)."""
    first = buf[pos]
    length = 9 - first.bit_length()
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for b in buf[pos + 1: pos + length]:
        value = (value << 8) | b
    return value, pos + length


def matroska_cue_points(path: Path) -> int:
    """Number of CuePoints in the Segment's Cues element (0 if there is none)."""
    buf = path.read_bytes()
    _, pos = _vint(buf, 0, True)  # EBML header
    size, pos = _vint(buf, pos, False)
    pos += size
    seg_id, pos = _vint(buf, pos, True)
    assert seg_id == 0x18538067, "no Segment"
    _, pos = _vint(buf, pos, False)
    while pos < len(buf):
        el_id, body = _vint(buf, pos, True)
        size, body = _vint(buf, body, False)
        if el_id == 0x1C53BB6B:  # Cues: count its CuePoint children
            points, p = 0, body
            while p < body + size:
                child, q = _vint(buf, p, True)
                csize, q = _vint(buf, q, False)
                points += child == 0xBB
                p = q + csize
            return points
        pos = body + size
    return 0


def ffmpeg_decode_errors(path: Path) -> str:
    """The ffmpeg CLI's complaints when decoding ``path`` fully ("" when it decodes cleanly)."""
    # -enc_time_base -1 keeps the file's ms timestamps: ffmpeg 5.1's default 1/fps time base
    # for the null output rounds 66.7 ms steps onto one tick and complains about itself.
    run = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-enc_time_base", "-1",
                          "-f", "null", "-"], capture_output=True, text=True)
    return run.stderr.strip() if run.returncode == 0 else f"exit {run.returncode}: {run.stderr}"


def ensure_host_address(monkeypatch=None) -> None:
    """aioice leaves out 127.0.0.1; on a host with only `lo`, offer it (stack-facts)."""
    import aioice.ice

    if not aioice.ice.get_host_addresses(True, False):
        if monkeypatch is not None:
            monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda a, b: ["127.0.0.1"])
        else:
            aioice.ice.get_host_addresses = lambda a, b: ["127.0.0.1"]


# -- tests ---------------------------------------------------------------------------------------


def test_vp8_header_parsing():
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 176, 144, "yuv420p"
    enc.time_base = fractions.Fraction(1, 15)
    packets = []
    for i in range(3):
        f = av.VideoFrame.from_ndarray(draw_number(i, 176, 144), format="rgb24")
        f = f.reformat(format="yuv420p")
        f.pts = i
        packets += [bytes(p) for p in enc.encode(f)]
    packets += [bytes(p) for p in enc.encode(None)]
    assert vp8_is_keyframe(packets[0]) and vp8_keyframe_size(packets[0]) == (176, 144)
    assert not vp8_is_keyframe(packets[1]) and vp8_keyframe_size(packets[1]) is None
    assert not vp8_is_keyframe(b"") and vp8_keyframe_size(b"\x00" * 4) is None


def test_rtp_timeline_anchors_on_first_arrival_and_unwraps():
    origin = 100.0
    tl = RtpTimeline(90_000, origin)
    assert tl.pts(2**32 - 900, 101.0) == pytest.approx(1.0)
    assert tl.pts(900, 101.5) == pytest.approx(1.02)  # wrapped: +1800 ticks, arrival ignored
    assert tl.pts(90_900, 999.0) == pytest.approx(2.02)
    assert tl.pts(90_000, 999.0) == pytest.approx(2.01)  # a small step back stays a step back
    audio = RtpTimeline(48_000, origin)
    assert audio.pts(123, 100.5) == pytest.approx(0.5)
    assert audio.pts(123 + 48_000 * 3, 100.0) == pytest.approx(3.5)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        PacketRecorder(tmp_path / "missing" / "r.mkv", MediaClock())
    with pytest.raises(ValueError, match="keyframe_interval"):
        PacketRecorder(tmp_path / "r.mkv", MediaClock(), keyframe_interval=0)
    with pytest.raises(MediaError, match="does not exist"):
        finalise_recording(tmp_path / "nope.mkv", tmp_path / "out.webm")
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"not a matroska file" * 10)
    with pytest.raises(MediaError, match="junk.mkv"):
        finalise_recording(junk, tmp_path / "out.webm")
    assert not (tmp_path / "out.webm").exists()


def test_offer_without_vp8_is_refused(monkeypatch):
    ensure_host_address(monkeypatch)

    async def main():
        tx, rx = RTCPeerConnection(RTCConfiguration(iceServers=[])), RTCPeerConnection(
            RTCConfiguration(iceServers=[]))
        tr = tx.addTransceiver("video", direction="sendonly")
        tr.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                                if c.mimeType.lower() == "video/h264"])
        await tx.setLocalDescription(await tx.createOffer())
        await rx.setRemoteDescription(tx.localDescription)
        try:
            with pytest.raises(MediaError, match=r"no VP8 codec \(offered: video/H264"):
                prefer_vp8_opus(rx)
        finally:
            await tx.close()
            await rx.close()

    asyncio.run(main())


def test_empty_recording_closes_cleanly(tmp_path, monkeypatch):
    """Attached but no media ever flows: close() does not raise, finalise says why."""
    ensure_host_address(monkeypatch)

    async def main():
        tx, rx = RTCPeerConnection(RTCConfiguration(iceServers=[])), RTCPeerConnection(
            RTCConfiguration(iceServers=[]))
        tx.addTransceiver("video", direction="sendonly")
        tx.addTransceiver("audio", direction="sendonly")
        await tx.setLocalDescription(await tx.createOffer())
        await rx.setRemoteDescription(tx.localDescription)
        rec = PacketRecorder(tmp_path / "r.mkv", MediaClock())
        rec.attach(rx)
        with pytest.raises(MediaError, match="already attached"):
            rec.attach(rx)
        with pytest.raises(MediaError, match="already tapped"):
            PacketRecorder(tmp_path / "other.mkv", MediaClock()).attach(rx)
        rec.close()
        rec.close()  # idempotent
        await tx.close()
        await rx.close()
        return rec

    rec = asyncio.run(main())
    assert rec.stats()["video_packets"] == 0 and rec.stats()["first_video_t"] is None
    with pytest.raises(MediaError, match="no video or audio packets"):
        finalise_recording(tmp_path / "r.mkv", tmp_path / "r.webm")


def test_record_loopback_frames_audio_and_sync(tmp_path, monkeypatch):
    """~4 s of numbered frames and beeps: recorded without re-encoding, in order, in sync."""
    ensure_host_address(monkeypatch)
    live, final = tmp_path / "recording.mkv", tmp_path / "recording.webm"
    lb = Loopback(live, keyframe_interval=1.0)

    async def main():
        await lb.connect()
        await lb.run_until_video(4.0)
        await lb.stop_sending()
        await lb.close()

    asyncio.run(main())
    stats = lb.recorder.stats()
    sent = lb.video.sent

    # The answer negotiated VP8 (+RTX) and Opus only, though the offer preferred H264/PCMU.
    rtpmaps = [line.split(" ", 1)[1] for line in lb.answer_sdp.splitlines()
               if line.startswith("a=rtpmap:")]
    assert {m.split("/")[0] for m in rtpmaps} == {"VP8", "rtx", "opus"}, rtpmaps

    # aiortc's own sender only makes a keyframe on request (gop 3000): >= 3 keyframes in ~4 s
    # prove the PLI seam works.
    assert stats["video_keyframes"] >= 3, stats
    assert stats["dropped_video"] == stats["dropped_audio"] == 0, stats
    # The tee does not steal frames from the track the lead consumes.
    assert lb.received["video"] >= len(sent) - 2, (lb.received, len(sent))

    info = finalise_recording(live, final)
    # Seekable: a Cues index with an entry per keyframe, written by the remux.
    assert matroska_cue_points(final) >= stats["video_keyframes"] - 1 >= 2
    assert ffmpeg_decode_errors(final) == ""

    # Frame count: the receiver's jitter buffer releases a frame only when the next frame's
    # first packet arrives, so the last frame sent is never delivered, and one more can be in
    # the encoder when the source stops: tolerance 2 frames, no loss on loopback.
    numbers = decode_video_numbers(final)
    got = [k for _, k in numbers]
    assert info["video_frames"] == len(numbers) == stats["video_packets"]
    assert len(sent) - 2 <= len(got) <= len(sent), (len(got), len(sent))
    assert got == sorted(set(got)) and set(got) <= set(sent), got  # content matches, in order
    assert got == list(range(got[0], got[0] + len(got))), "a frame is missing in the middle"
    assert (info["width"], info["height"]) == (WIDTH, HEIGHT)

    # Audio: the 1 kHz beep at the right level (Opus is lossy: +-25 %).
    first_audio, samples = decode_audio_mono(final)
    onsets = beep_onsets(samples, first_audio)
    assert len(onsets) >= 3, onsets
    start = int((onsets[0] - first_audio) * RATE)
    beep = samples[start + 960: start + int(BEEP_SECONDS * RATE) - 960]
    spectrum = np.abs(np.fft.rfft(beep * np.hanning(len(beep))))
    peak_hz = np.fft.rfftfreq(len(beep), 1 / RATE)[spectrum.argmax()]
    assert abs(peak_hz - BEEP_HZ) < 20, peak_hz
    beep_rms = float(np.sqrt(np.mean(beep ** 2)))
    assert abs(beep_rms - BEEP_AMPLITUDE / math.sqrt(2)) < 0.25 * BEEP_AMPLITUDE / math.sqrt(2)
    assert info["audio_rms"] > 0.02 and info["audio_seconds"] >= 3.5, info

    # A/V sync: both tracks' content is timed from the same start, so (recording pts - source
    # time) must agree between video frames and beep onsets.
    video_offset = float(np.median([pts - k / FPS for pts, k in numbers]))
    audio_offset = float(np.median([t - round(t - video_offset) for t in onsets]))
    assert abs(video_offset - audio_offset) < 0.1, (video_offset, audio_offset)
    # First pts per track agree with what each source started with.
    expected_gap = got[0] / FPS - lb.audio.first_sample / RATE
    gap = info["first_video_pts"] - info["first_audio_pts"]
    assert abs(gap - expected_gap) < 0.1, (gap, expected_gap)
    assert abs(stats["first_video_t"] - info["first_video_pts"]) < 0.002

    # A file cut at an arbitrary byte (torn block, SeekHead pointing past the end) still
    # finalises to the frames before the cut.
    data = live.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 6 // 10 + 7])
    cut_info = finalise_recording(cut, tmp_path / "cut.webm")
    assert 0.4 * len(got) <= cut_info["video_frames"] < len(got), cut_info
    assert ffmpeg_decode_errors(tmp_path / "cut.webm") == ""

    # The loop was never blocked by recording (sender + receiver share it here).
    lags = np.array(lb.lags)
    assert np.percentile(lags, 95) < 0.1 and lags.max() < 0.5, (
        np.percentile(lags, 95), lags.max())
    print(f"\nsent {len(sent)} frames, recorded {len(got)}; keyframes {stats['video_keyframes']};"
          f" A/V offset {1000 * (audio_offset - video_offset):+.1f} ms; video-offset "
          f"{video_offset:.3f}s; loop lag p95 {1000 * np.percentile(lags, 95):.1f} ms "
          f"max {1000 * lags.max():.1f} ms; beep {peak_hz:.0f} Hz rms {beep_rms:.3f}")


def test_each_session_records_only_its_own_tracks(tmp_path, monkeypatch):
    """Two peers on one loop: the tap is per receiver, so recordings never mix."""
    ensure_host_address(monkeypatch)
    a = Loopback(tmp_path / "a.mkv")
    b = Loopback(tmp_path / "b.mkv", number_offset=512)

    async def main():
        await asyncio.gather(a.connect(), b.connect())
        await asyncio.gather(a.run_until_video(2.0), b.run_until_video(2.0))
        await asyncio.gather(a.stop_sending(), b.stop_sending())
        await asyncio.gather(a.close(), b.close())

    asyncio.run(main())
    for lb, name in ((a, "a"), (b, "b")):
        finalise_recording(tmp_path / f"{name}.mkv", tmp_path / f"{name}.webm")
        got = [k for _, k in decode_video_numbers(tmp_path / f"{name}.webm")]
        assert len(got) >= len(lb.video.sent) - 2 and set(got) <= set(lb.video.sent), name


def test_stalled_disk_drops_packets_instead_of_blocking_the_loop(tmp_path, monkeypatch):
    """A writer stuck on its file (a FIFO nobody reads) must cost the loop nothing."""
    ensure_host_address(monkeypatch)
    fifo = tmp_path / "stuck.mkv"
    os.mkfifo(fifo)
    lb = Loopback(fifo, queue_max_packets=30)
    drained = bytearray()

    def read_fifo():
        with open(fifo, "rb") as fh:
            while chunk := fh.read(65536):
                drained.extend(chunk)

    async def main():
        await lb.connect()
        await lb.run_until_video(3.0)
        stats_stuck = lb.recorder.stats()
        await lb.stop_sending()
        reader = threading.Thread(target=read_fifo)
        reader.start()
        await lb.close()
        reader.join(10)
        return stats_stuck

    stats_stuck = asyncio.run(main())
    # Nothing was written while stuck, and the overflow was counted rather than queued.
    assert stats_stuck["video_packets"] == 0 and stats_stuck["audio_packets"] == 0
    # After a dropped video frame the rest up to the next keyframe is skipped (undecodable).
    lost_video = stats_stuck["dropped_video"] + stats_stuck["skipped_video"]
    assert stats_stuck["dropped_audio"] > 50 and stats_stuck["dropped_video"] >= 1, stats_stuck
    assert lost_video > 10, stats_stuck
    assert lb.received["video"] >= len(lb.video.sent) - 2, "decoded frames stopped flowing"
    lags = np.array(lb.lags)
    assert lags.max() < 0.5, lags.max()
    # Once unstuck, what was queued is a valid recording that starts at a keyframe.
    out = tmp_path / "drained.mkv"
    out.write_bytes(bytes(drained))
    info = probe_recording(out)
    assert info["video_frames"] >= 1 and info["audio_seconds"] > 0, info


def test_sigkill_leaves_a_recoverable_recording(tmp_path):
    """Kill the recording process ~5 s into the recording; the mkv must still finalise."""
    live, final = tmp_path / "recording.mkv", tmp_path / "recording.webm"
    child = subprocess.Popen([sys.executable, __file__, "--crash-child", str(live)],
                             stdout=subprocess.PIPE, text=True,
                             cwd=str(Path(__file__).resolve().parent.parent))
    try:
        line = child.stdout.readline()
        assert line.startswith("RECORDING"), f"child did not start recording: {line!r}"
        started = time.monotonic()
        time.sleep(5.0)
        recorded_for = time.monotonic() - started
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert matroska_cue_points(live) == 0  # killed: the live file never got its index
    info = finalise_recording(live, final)
    assert matroska_cue_points(final) >= 2
    numbers = decode_video_numbers(final)
    span = numbers[-1][0] - numbers[0][0]
    assert span >= recorded_for - 3.0, (span, recorded_for, info)
    got = [k for _, k in numbers]
    assert got == sorted(set(got)), "frames out of order after recovery"
    assert info["audio_seconds"] >= recorded_for - 3.0, info
    assert ffmpeg_decode_errors(final) == ""
    print(f"\nkilled after {recorded_for:.1f} s of recording; recovered {span:.2f} s of video, "
          f"{info['audio_seconds']:.2f} s of audio, {len(got)} frames")


# -- script entry points -------------------------------------------------------------------------


def _crash_child(path: Path) -> None:
    """Record a loopback until killed; print RECORDING once the first keyframe is on disk."""
    ensure_host_address()

    async def main():
        lb = Loopback(path)
        await lb.connect()
        while lb.recorder.stats()["video_keyframes"] < 1:
            await asyncio.sleep(0.02)
        print("RECORDING", flush=True)
        await asyncio.sleep(120)

    asyncio.run(main())


async def _signal_line(reader) -> dict:
    import json

    line = await asyncio.get_running_loop().run_in_executor(None, reader.readline)
    if not line:
        raise RuntimeError("signalling peer went away")
    return json.loads(line)


def _bench_sender() -> None:
    """Bench peer: send 640x480@15 numbered frames + beeps; SDP over stdin/stdout."""
    import json

    ensure_host_address()

    async def main():
        start = SharedStart()
        tx = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        tx.addTransceiver(NumberedVideoTrack(start, 640, 480, texture=True), direction="sendonly")
        tx.addTransceiver(BeepAudioTrack(start), direction="sendonly")
        await tx.setLocalDescription(await tx.createOffer())
        print(json.dumps({"sdp": tx.localDescription.sdp}), flush=True)
        answer = await _signal_line(sys.stdin)
        await tx.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        # Any line (or EOF) ends the run.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await tx.close()

    try:
        asyncio.run(main())
    except RuntimeError:
        pass


def bench_cpu(seconds: float = 20.0, tmp: Path | None = None) -> dict:
    """Receiver-process CPU (% of one core) for one 640x480@15 peer: decode only vs recording."""
    import json
    import tempfile

    ensure_host_address()
    tmp = Path(tmp or tempfile.mkdtemp(prefix="recbench-"))
    results = {}
    for mode in ("decode_only", "record"):
        child = subprocess.Popen([sys.executable, __file__, "--bench-sender"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        async def run(child: subprocess.Popen, mode: str) -> dict:
            offer = await _signal_line(child.stdout)
            lb = Loopback(tmp / f"{mode}.mkv" if mode == "record" else None)
            lb.rx = RTCPeerConnection(RTCConfiguration(iceServers=[]))

            @lb.rx.on("track")
            def _on_track(track):
                lb._tasks.append(asyncio.ensure_future(lb._consume(track)))

            await lb.rx.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
            if lb.rec_path is not None:
                prefer_vp8_opus(lb.rx)
                lb.recorder = PacketRecorder(lb.rec_path, lb.clock)
                lb.recorder.attach(lb.rx)
            await lb.rx.setLocalDescription(await lb.rx.createAnswer())
            child.stdin.write(json.dumps({"sdp": lb.rx.localDescription.sdp}) + "\n")
            child.stdin.flush()
            while lb.received["video"] < 15:
                await asyncio.sleep(0.05)
            cpu0, wall0, frames0 = time.process_time(), time.monotonic(), lb.received["video"]
            await asyncio.sleep(seconds)
            cpu = time.process_time() - cpu0
            wall = time.monotonic() - wall0
            fps = (lb.received["video"] - frames0) / wall
            child.stdin.write("stop\n")
            child.stdin.flush()
            stats = lb.recorder.stats() if lb.recorder else {}
            if lb.recorder:
                await asyncio.get_running_loop().run_in_executor(None, lb.recorder.close)
            for t in lb._tasks:
                t.cancel()
            await lb.rx.close()
            return {"cpu_percent": round(100 * cpu / wall, 1), "fps": round(fps, 1),
                    "recorded_bytes_per_s": round(stats.get("bytes", 0) / wall)}

        try:
            results[mode] = asyncio.run(run(child, mode))
        finally:
            child.wait(10) if child.poll() is None else None
    return results


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--crash-child":
        _crash_child(Path(sys.argv[2]))
    elif len(sys.argv) == 2 and sys.argv[1] == "--bench-sender":
        _bench_sender()
    elif len(sys.argv) == 2 and sys.argv[1] == "--bench":
        print(bench_cpu())
    else:
        sys.exit(f"usage: {sys.argv[0]} --crash-child PATH | --bench")
