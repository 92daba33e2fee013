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
"""

from __future__ import annotations

import numpy as np
from av.video.reformatter import VideoReformatter


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
        """``frame`` (an ``av.VideoFrame``) as RGB uint8 (H, W, 3); an ndarray is taken as it
        is (tests and stills hand RGB arrays)."""
        if isinstance(frame, np.ndarray):
            return frame
        width = height = None
        if self.max_width is not None and frame.width > self.max_width:
            width = self.max_width
            height = int(frame.height * self.max_width / frame.width) // 2 * 2
        out = self._reformatter.reformat(frame, width=width, height=height, format="rgb24",
                                         threads=1)
        return out.to_ndarray()
