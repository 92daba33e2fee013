"""Decoded video frames as RGB arrays, one converter per consuming thread.

The media loop hands the same decoded ``av.VideoFrame`` to every observer (the face observer
and, during an ``id_document`` step, the card observer), each on its own thread.
``VideoFrame.to_ndarray(format=...)`` converts through a scaler (``SwsContext``) that PyAV
creates lazily and keeps *on the frame*, and runs it without the GIL. Two threads converting
the same frame therefore drive one ``SwsContext`` at once, which FFmpeg does not allow: with
av 18.1 one of the two threads blocks for ever inside ``sws_scale_frame`` (reproduced: two
threads converting the same 60 frames hung in 3 runs of 3; in a real browser the card
observer stopped after its first frames of the step, and the card was never read).

``RgbConverter`` owns its own ``VideoReformatter`` (its own ``SwsContext``), single-threaded,
so each observer converts with its own and nothing of a frame is shared but its pixels,
which are only read.

**Colour range.** A decoded frame says how its Y'CbCr is scaled: ``color_range`` MPEG
(limited: Y 16-235, chroma 16-240) or JPEG (full: 0-255). H.264 signals it in its VUI
(``video_full_range_flag``) and FFmpeg's decoder sets it on each frame; VP8, the codec every
witness sends (``kiosk.media.peer``), has no such flag (RFC 6386 names only a BT.601-like
colour space) and FFmpeg marks every VP8 frame MPEG. ``RgbConverter`` gives swscale the
frame's own range as the source (UNSPECIFIED taken as MPEG, swscale's own assumption) and
full-range RGB as the target, so a limited-range Y of 235 and a full-range Y of 255 are both
white. PyAV 18.1's ``reformat`` reads the frame's range by itself when it is not given; it
is given here so that the conversion does not rest on that default (PyAV before 17.0, through
``sws_scale``, took the range from these arguments only, limited by default).

Full-range pixels sent in a VP8 stream cannot be told from the stream: they are read as
limited and come out stretched (a pale 250 clipped to 255, dark greys to 0). That is what
made a pale card "glare" in Chromium: the test camera's Y4M was written full range, Chromium
encoded its Y values as they were, and they arrived tagged limited. The test cameras
(``kiosk.testing.streams``) now write limited-range Y4M, what a VP8 stream stands for.
"""

from __future__ import annotations

import numpy as np
from av.video.reformatter import ColorRange, VideoReformatter


def source_range(frame) -> ColorRange:
    """The Y'CbCr range ``frame`` (an ``av.VideoFrame``) declares: JPEG (full) or MPEG
    (limited); a frame that declares none is limited, as swscale takes it."""
    return ColorRange.JPEG if frame.color_range == ColorRange.JPEG else ColorRange.MPEG


class RgbConverter:
    """Converts frames to RGB uint8 arrays (H, W, 3) for ONE thread: give every thread that
    converts frames its own (the scaler it keeps is not thread-safe)."""

    def __init__(self, max_width: int | None = None) -> None:
        """``max_width``: a wider frame is scaled down to this width (its height kept even
        and in proportion); None keeps the frame's size. ValueError for a width below 2."""
        if max_width is not None and max_width < 2:
            raise ValueError(f"max_width must be at least 2 pixels, got {max_width}")
        self.max_width = max_width
        self._reformatter = VideoReformatter()

    def rgb(self, frame) -> np.ndarray:
        """``frame`` (an ``av.VideoFrame``) as full-range RGB uint8 (H, W, 3), read in the
        colour range and matrix the frame declares (see the module); an ndarray is taken as
        it is (tests and stills hand RGB arrays)."""
        if isinstance(frame, np.ndarray):
            return frame
        width = height = None
        if self.max_width is not None and frame.width > self.max_width:
            width = self.max_width
            height = int(frame.height * self.max_width / frame.width) // 2 * 2
        out = self._reformatter.reformat(frame, width=width, height=height, format="rgb24",
                                         src_color_range=source_range(frame),
                                         dst_color_range=ColorRange.JPEG, threads=1)
        return out.to_ndarray()


def frame_bytes(frame) -> int:
    """Bytes of pixels ``frame`` holds: an ``av.VideoFrame``'s planes as decoded (YUV 4:2:0
    is 1.5 bytes a pixel: 460,800 B at 640x480), or an RGB ndarray's ``nbytes`` (3 bytes a
    pixel: 921,600 B at 640x480). Cheap: it reads sizes, it converts nothing."""
    if isinstance(frame, np.ndarray):
        return int(frame.nbytes)
    return sum(int(p.buffer_size) for p in frame.planes)
