"""kiosk.media.frames: decoded video frames to RGB in the colour range each frame declares.

The clips are encoded at test time with PyAV (H.264 with its range flag, VP8 without one) and
decoded as the server decodes them (kiosk.media.peer: FFmpeg's decoders through aiortc)."""

from __future__ import annotations

import io
import threading
import time

import av
import numpy as np
import pytest
from av.video.reformatter import ColorRange

from kiosk.media.frames import RgbConverter, source_range
from kiosk.testing import faces, streams

# Grey levels from black to white, the pale ones as a white card's background on camera.
LEVELS = (0, 10, 16, 60, 128, 200, 235, 245, 250, 255)
PATCH = 32  # px a side; 4:2:0 chroma and the codec's blocks stay inside a patch
TOLERANCE = 3  # levels: a lossy codec at a high bit rate, and swscale's rounding
WAIT = 300.0  # s: only to stop a hung thread from hanging the run (never a speed check)


def _patches() -> np.ndarray:
    rgb = np.zeros((PATCH * 2, PATCH * len(LEVELS), 3), np.uint8)
    for i, level in enumerate(LEVELS):
        rgb[:, i * PATCH:(i + 1) * PATCH] = level
    return rgb


def _levels(rgb: np.ndarray) -> list[int]:
    """The median of each patch's centre, all three channels (a grey stays grey)."""
    c = PATCH // 4
    return [int(np.median(rgb[PATCH - c:PATCH + c, i * PATCH + c:(i + 1) * PATCH - c]))
            for i in range(len(LEVELS))]


def _encode_decode(yuv: list[av.VideoFrame], codec: str, rng: ColorRange) -> list[av.VideoFrame]:
    """Encode yuv420p frames with ``codec`` (its stream tagged ``rng``), decode them back."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        stream = out.add_stream(codec, rate=15)
        stream.width, stream.height = yuv[0].width, yuv[0].height
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 8_000_000
        stream.codec_context.color_range = rng
        for k, frame in enumerate(yuv):
            frame.pts = k
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as inp:
        return list(inp.decode(video=0))


def _clip(rgb: np.ndarray, codec: str, rng: ColorRange, n: int = 4) -> list[av.VideoFrame]:
    """``rgb`` converted to ``rng`` Y'CbCr (tagged so), encoded ``n`` times and decoded."""
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="yuv420p", dst_color_range=rng)
    frame.color_range = rng
    return _encode_decode([frame] * n, codec, rng)


@pytest.mark.parametrize("rng", [ColorRange.MPEG, ColorRange.JPEG], ids=["limited", "full"])
def test_h264_levels_are_right_in_the_range_the_stream_signals(rng):
    """H.264 carries its range (VUI video_full_range_flag); a full-range Y of 255 and a
    limited-range Y of 235 are both white, and the pale levels stay apart."""
    decoded = _clip(_patches(), "libx264", rng)
    y = decoded[-1].to_ndarray()[:PATCH * 2]
    white_y = int(np.median(y[:, -PATCH // 2]))
    assert decoded[-1].color_range == rng
    assert white_y == (255 if rng == ColorRange.JPEG else 235)
    got = _levels(RgbConverter().rgb(decoded[-1]))
    assert np.abs(np.array(got) - LEVELS).max() <= TOLERANCE, (got, LEVELS)


def test_vp8_is_limited_range_and_cannot_say_otherwise():
    """VP8 (what witnesses send) has no range flag: a limited-range clip is read right, and
    full-range pixels come back tagged limited, stretched (the pale levels merge at 255).
    Nothing in the stream tells them apart, so what is sent must be limited."""
    limited = _clip(_patches(), "libvpx", ColorRange.MPEG)[-1]
    assert limited.color_range == ColorRange.MPEG
    got = _levels(RgbConverter().rgb(limited))
    assert np.abs(np.array(got) - LEVELS).max() <= TOLERANCE, (got, LEVELS)
    full = _clip(_patches(), "libvpx", ColorRange.JPEG)[-1]
    assert full.color_range == ColorRange.MPEG  # the JPEG tag did not survive VP8
    stretched = dict(zip(LEVELS, _levels(RgbConverter().rgb(full)), strict=True))
    assert stretched[245] == stretched[250] == stretched[255] == 255
    assert stretched[10] == 0


@pytest.mark.parametrize("writer", ["streams", "faces"])
def test_a_test_camera_y4m_sent_as_chromium_sends_it_arrives_at_its_levels(tmp_path, writer):
    """Chromium's fake camera encodes the Y4M's values as they are into VP8, and the server
    reads them as limited range. Written full range, a pale 245-250 arrived as 255 and a pale
    card was glare on every frame; written limited (kiosk.testing.streams) they arrive."""
    path = tmp_path / "cam.y4m"
    rgb = _patches()
    h, w = rgb.shape[:2]
    if writer == "streams":
        streams.write_y4m(path, [rgb] * 4, width=w, height=h)
    else:
        faces.write_y4m([rgb] * 4, path)
    data = path.read_bytes()
    body = data.split(b"FRAME\n")[1]
    planes = np.frombuffer(body, np.uint8)
    # The camera's I420, untagged, as Chromium hands it to its encoder.
    frame = av.VideoFrame.from_ndarray(planes.reshape(h * 3 // 2, w), format="yuv420p")
    assert frame.color_range == ColorRange.UNSPECIFIED
    decoded = _encode_decode([frame] * 4, "libvpx", ColorRange.UNSPECIFIED)[-1]
    got = _levels(RgbConverter().rgb(decoded))
    assert np.abs(np.array(got) - LEVELS).max() <= TOLERANCE, (got, LEVELS)


def test_the_converter_reads_the_range_each_frame_declares():
    """The same Y'CbCr values read as limited (declared, or not declared) or as full."""
    rgb = _patches()
    limited = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="yuv420p", dst_color_range=ColorRange.MPEG)
    planes = limited.to_ndarray()
    untagged = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    tagged_full = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    tagged_full.color_range = ColorRange.JPEG
    assert source_range(untagged) == ColorRange.MPEG
    assert source_range(tagged_full) == ColorRange.JPEG
    conv = RgbConverter()
    assert np.abs(np.array(_levels(conv.rgb(untagged))) - LEVELS).max() <= TOLERANCE
    as_full = _levels(conv.rgb(tagged_full))  # limited values read as full: grey and flat
    assert as_full[0] >= 14 and as_full[-1] <= 237, as_full
    assert tagged_full.color_range == ColorRange.JPEG  # the frame's own tag is left as it was


def test_the_face_observer_converts_with_its_own_scaler_while_another_thread_converts(
        tmp_path):
    """The face observer's frames are the decoded VP8 frames the card observer converts too.
    Through the frame's own scaler from two threads, one hung for ever in swscale (av 18.1);
    the face observer converts with its own (kiosk.media.frames) and finds the face in every
    frame, at the levels the clip was made with."""
    from kiosk.liveness.observer import FaceObserver, FaceReports

    spec = faces.ClipSpec("astronaut", "neutral", size=(640, 480), seconds=2.0)
    clip = list(faces.iter_frames(spec))
    yuv = [av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="yuv420p", dst_color_range=ColorRange.MPEG) for _, rgb in clip]
    decoded = _encode_decode(yuv, "libvpx", ColorRange.MPEG)
    assert len(decoded) == len(clip)
    unavailable: list[str] = []
    noop = lambda *a: None  # noqa: E731  # only the analysis is looked at here
    reports = FaceReports(sample=noop, hint=noop, challenge_due=noop, challenge_judged=noop,
                          all_judged=noop, unavailable=unavailable.append,
                          id_photo_unusable=noop, report=noop)
    observer = FaceObserver("0123456789abcdef", tmp_path, lambda: clip[-1][0], reports)
    current, stop, other_done = [0], threading.Event(), threading.Event()

    def card_observer_like() -> None:  # converts the frame the face observer has, meanwhile
        while not stop.is_set():
            decoded[current[0]].to_ndarray(format="rgb24")
        other_done.set()

    threading.Thread(target=card_observer_like, daemon=True).start()
    try:
        for i, frame in enumerate(decoded):
            current[0] = i
            observer.submit(frame, clip[i][0])
            deadline = time.monotonic() + WAIT
            while len(observer.latencies) < i + 1 and not unavailable:
                assert time.monotonic() < deadline, f"the face observer hung at frame {i}"
                time.sleep(0.01)
    finally:
        stop.set()
        observer.finish(timeout=WAIT)
    assert other_done.wait(WAIT), "the other thread converting the frames hung"
    assert unavailable == []
    assert observer.analysis is not None
    signals = observer.analysis.signals
    assert len(signals) == len(decoded) and observer.dropped == 0
    assert all(s.faces == 1 for s in signals)
    # its converter's output: the decoded frame at the clip's own levels (not stretched)
    own = RgbConverter(640).rgb(decoded[5])
    assert abs(float(own.mean()) - float(clip[5][1].mean())) < 2.0
