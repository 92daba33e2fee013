"""Fixture clip synthesis and its writers (Y4M for Chromium's fake camera, MP4/WebM via PyAV)."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.testing.faces import (
    ClipSpec,
    clip_path,
    iter_frames,
    read_video,
    write_video,
    write_y4m,
)


def small(kind, seconds=0.6, **kw):
    return ClipSpec("astronaut", kind, size=(320, 240), seconds=seconds, **kw)


def test_y4m_header_and_frame_layout(tmp_path):
    frames = [f for _, f in iter_frames(small("neutral", seconds=0.4))]
    path = tmp_path / "cam.y4m"
    assert write_y4m(frames, path, fps=15) == 6
    data = path.read_bytes()
    header = b"YUV4MPEG2 W320 H240 F15:1 Ip A1:1 C420jpeg\n"
    assert data.startswith(header)
    frame_bytes = len(b"FRAME\n") + 320 * 240 * 3 // 2
    assert len(data) == len(header) + 6 * frame_bytes
    # A white frame is Y=235 and neutral chroma 128 (limited-range BT.601: what a VP8 stream
    # stands for; kiosk.media.frames).
    white = tmp_path / "white.y4m"
    write_y4m([np.full((4, 4, 3), 255, np.uint8)], white)
    body = white.read_bytes().split(b"FRAME\n", 1)[1]
    assert body == bytes([235] * 16 + [128] * 8)


def test_y4m_refuses_odd_sizes_and_no_frames(tmp_path):
    with pytest.raises(ValueError, match="even width and height, got 5x4"):
        write_y4m([np.zeros((4, 5, 3), np.uint8)], tmp_path / "x.y4m")
    with pytest.raises(ValueError, match="no frames to write"):
        write_y4m([], tmp_path / "y.y4m")


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_video_writer_round_trip(tmp_path, suffix):
    frames = [f for _, f in iter_frames(small("turn_left"))]
    path = tmp_path / f"clip{suffix}"
    assert write_video(frames, path, fps=15) == len(frames) == 9
    decoded = list(read_video(path))
    assert len(decoded) == len(frames)
    assert decoded[0][1].shape == (240, 320, 3)
    assert decoded[3][0] == pytest.approx(3 / 15, abs=0.01)
    err = np.abs(decoded[4][1].astype(int) - frames[4].astype(int)).mean()
    assert err < 12  # lossy, but the same picture


def test_unsupported_extension_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"clip\.avi: unsupported video extension"):
        write_video([np.zeros((8, 8, 3), np.uint8)], tmp_path / "clip.avi")


def test_clips_are_cached_by_parameters(tmp_path):
    a = clip_path(small("blink"), tmp_path)
    mtime = a.stat().st_mtime_ns
    assert clip_path(small("blink"), tmp_path) == a
    assert a.stat().st_mtime_ns == mtime  # not regenerated
    b = clip_path(small("blink", seed=1), tmp_path)
    assert b != a and b.exists()


def test_clip_kinds_differ_as_intended():
    still = [f for _, f in iter_frames(small("still", seconds=0.4))]
    room = [f for _, f in iter_frames(small("no_face", seconds=0.2))]
    # Sensor noise only between still frames; the room is not the face photo.
    assert 0 < np.abs(still[0].astype(int) - still[-1].astype(int)).mean() < 3
    assert np.abs(room[0].astype(int) - still[0].astype(int)).mean() > 20


def test_clip_spec_validation():
    with pytest.raises(ValueError, match="unknown face 'mona'"):
        ClipSpec("mona", "blink")
    with pytest.raises(ValueError, match="unknown clip kind 'wink'"):
        ClipSpec("hopper", "wink")
    with pytest.raises(ValueError, match="bad clip geometry"):
        ClipSpec("hopper", "blink", size=(321, 240))
