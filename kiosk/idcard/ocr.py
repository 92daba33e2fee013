"""Text in an image, as boxes with a confidence: the only module that imports rapidocr.

The engine is ``rapidocr-onnxruntime`` 1.4.4 (Apache-2.0): PaddleOCR's PP-OCRv4 text detector
and recogniser and its mobile angle classifier as ONNX files inside the wheel (about 16 MB),
run on onnxruntime. Nothing is downloaded at run time: the models are read from the installed
package (measured with the network namespace removed, ``unshare -n``; docs/identity.md). The
newer ``rapidocr`` 3.x fetches its models at first use and is not used.

The wheel requires ``opencv-python``, which would replace mediapipe's
``opencv-contrib-python`` (both are ``cv2``); it is therefore installed ``--no-deps``
(requirements-nodeps.txt) and its other dependencies are listed in pyproject.toml.

Another engine plugs in by implementing ``TextReader``.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kiosk.errors import ConfigError
from kiosk.idcard.vision import resize_area

log = logging.getLogger(__name__)

# Longest side an image should have when it reaches ``read`` (callers decode to it): card
# text stays 20-40 px high, and detection time grows with the area.
OCR_SIDE = 960
# Longest side the text detector sees; lines are then read from the OCR_SIDE image.
DET_SIDE = 640


@dataclass(frozen=True)
class TextBox:
    """One line of text: ``quad`` its four corners (x, y) in pixels, clockwise from the
    top-left of the text as read; ``confidence`` 0-1 from the recogniser."""

    text: str
    confidence: float
    quad: tuple[tuple[float, float], ...]

    @property
    def center(self) -> tuple[float, float]:
        xs, ys = zip(*self.quad, strict=True)
        return sum(xs) / len(xs), sum(ys) / len(ys)

    @property
    def height(self) -> float:
        (x0, y0), _, _, (x3, y3) = self.quad
        return math.hypot(x3 - x0, y3 - y0)

    @property
    def angle(self) -> float:
        """Slope of the top edge in radians (0: horizontal)."""
        (x0, y0), (x1, y1) = self.quad[0], self.quad[1]
        return math.atan2(y1 - y0, x1 - x0)


class TextReader(Protocol):
    """An OCR engine: the lines of text in an RGB uint8 image (H, W, 3)."""

    def read(self, rgb: np.ndarray) -> list[TextBox]: ...


class RapidOcrReader:
    """PP-OCRv4 through rapidocr-onnxruntime. Thread-safe: one image is read at a time (OCR
    takes both cores of a small node), and the image is decoded before the lock is taken."""

    def __init__(self, threads: int = 1, det_side: int | None = None):
        """``threads``: onnxruntime's intra-op threads (1: measured 0.43 s of CPU a side
        against 0.77 s with 2, whose second thread mostly spins; on a shared node the worker
        should not take both cores); ``det_side``: longest side the detector sees
        (``DET_SIDE``). ValueError for threads < 1."""
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise ConfigError(
                f"ID card OCR needs rapidocr-onnxruntime ({exc.name} is missing); install with "
                "`.venv/bin/pip install --no-deps rapidocr-onnxruntime==1.4.4 && "
                ".venv/bin/pip install pyclipper shapely six`") from exc
        self._engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
        # The detector would enlarge any image whose short side is under 736 px; it gets
        # exactly the DET_SIDE image instead (rounded to multiples of 32 by the engine).
        self._engine.text_det.limit_side_len = 32
        # One line per recogniser batch: a batch is padded to its widest line (and at least
        # 320 px), so short labels batched with the address cost as much as the address.
        self._engine.text_rec.rec_batch_num = 1
        self._det_side = det_side or DET_SIDE
        self._lock = threading.Lock()

    def read(self, rgb: np.ndarray) -> list[TextBox]:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {rgb.shape} {rgb.dtype}")
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])  # the engine expects OpenCV's order
        h, w = bgr.shape[:2]
        k = min(1.0, self._det_side / max(h, w))
        small = bgr if k == 1.0 else resize_area(bgr, round(w * k), round(h * k))
        eng = self._engine
        with self._lock:
            # Lines are found on the small image and read from the full one: detection costs
            # with the area, recognition with the number of lines.
            found, _ = eng.text_det(small)
            if found is None or len(found) == 0:
                return []
            quads = [np.asarray(q, np.float32) / k for q in eng.sorted_boxes(found)]
            crops = eng.get_crop_img_list(bgr, quads)
            crops, _, _ = eng.text_cls(crops)
            texts, _ = eng.text_rec(crops, False)
        boxes = []
        for quad, (text, score, *_rest) in zip(quads, texts, strict=True):
            if float(score) >= eng.text_score:
                pts = tuple((float(x), float(y)) for x, y in quad)
                boxes.append(TextBox(str(text), float(score), pts))
        return boxes


_shared: RapidOcrReader | None = None
_shared_lock = threading.Lock()


def shared_reader() -> RapidOcrReader:
    """The process-wide reader (models loaded on first call, about 1-3 s)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RapidOcrReader()
        return _shared
