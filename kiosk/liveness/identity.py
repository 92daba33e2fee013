"""Face descriptors (dlib's 128-d ResNet model): the only module that imports dlib.

Models come from the ``face_recognition_models`` package (installed without
``face_recognition``, which would build dlib from source). About 70 ms a face on an idle core,
so sessions sample roughly one descriptor a second. dlib holds the GIL for the whole call, so
the server computes descriptors in a worker process (``SharedFaceDescriber``); a
``FaceDescriber`` is for command-line tools and tests.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kiosk.errors import ConfigError
from kiosk.liveness.id_photo import load_photo_rgb
from kiosk.workers import WorkerProcess

log = logging.getLogger(__name__)

# dlib's own guidance: the same person is usually closer than 0.6. Calibrated on the
# kiosk.testing.faces fixtures in tests/test_liveness_identity.py.
SAME_PERSON_DISTANCE = 0.6


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance of two 128-d descriptors (smaller is more alike)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != (128,) or b.shape != (128,):
        raise ValueError(f"descriptors must have shape (128,), got {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b))


class FaceDescriber:
    """Computes a 128-d descriptor of the face in an RGB frame (one instance per thread)."""

    def __init__(self):
        try:
            import dlib
        except ImportError as exc:
            raise ConfigError(
                f"face descriptors need dlib and its models ({exc.name} is missing); install with "
                "`.venv/bin/pip install dlib-bin face_recognition_models`"
            ) from exc
        models = _model_dir()
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self._encoder = dlib.face_recognition_model_v1(
            str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def descriptor(
        self, rgb: np.ndarray, box: tuple[int, int, int, int] | None = None,
        require_detection: bool = False,
    ) -> np.ndarray | None:
        """Descriptor of the largest face (inside ``box`` when given); None when none is found.

        With ``require_detection`` the face must be found by dlib's own frontal detector (it
        misses profiles and covered faces); otherwise ``box`` stands in when it finds none.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {rgb.shape} {rgb.dtype}")
        dlib = self._dlib
        ox = oy = 0
        img = rgb
        if box is not None:
            ox, oy, rx1, ry1 = face_region(rgb.shape, box)
            img = np.ascontiguousarray(rgb[oy:ry1, ox:rx1])
        upsample = 1 if min(img.shape[:2]) < 160 else 0
        rects = list(self._detector(img, upsample))
        if rects:
            rect = max(rects, key=lambda r: r.width() * r.height())
        elif box is not None and not require_detection:
            x0, y0, x1, y1 = box
            rect = dlib.rectangle(int(x0 - ox), int(y0 - oy), int(x1 - ox), int(y1 - oy))
        else:
            return None
        shape = self._shape(img, rect)
        return np.asarray(self._encoder.compute_face_descriptor(img, shape), dtype=np.float64)

    def describe_file(self, path: Path | str) -> np.ndarray:
        """Descriptor of an ID photo file (JPEG or PNG, decoded bounded by
        ``kiosk.liveness.id_photo``); ValueError naming the file when it is unreadable, too
        large (PhotoTooLarge) or has no face."""
        return _describe_photo(path, self.descriptor)


def _model_dir() -> Path:
    """The model folder of the ``face_recognition_models`` package, found without importing
    it: its ``__init__`` imports ``pkg_resources``, which setuptools 81 and later no longer
    ship. ConfigError naming the package when it or a model file is missing."""
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("face descriptors need the face_recognition_models package; install "
                          "with `.venv/bin/pip install face_recognition_models`")
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    for name in ("shape_predictor_5_face_landmarks.dat",
                 "dlib_face_recognition_resnet_model_v1.dat"):
        if not (models / name).is_file():
            raise ConfigError(f"face_recognition_models has no models/{name}; reinstall it")
    return models


# Set in the describer's worker process only.
_worker_describer: FaceDescriber | None = None


# The describer's worker yields to the answers' recogniser and the face analysis: identity
# samples are taken about once a second and waited for by nobody (``submit``), while an
# answer's verdict is waited for by the investor.
WORKER_NICENESS = 5


def _worker_init() -> None:
    global _worker_describer
    os.nice(WORKER_NICENESS)
    _worker_describer = FaceDescriber()


def _worker_descriptor(rgb: np.ndarray, box: tuple[int, int, int, int] | None,
                       require_detection: bool) -> np.ndarray | None:
    assert _worker_describer is not None, "_worker_init() runs when the worker starts"
    return _worker_describer.descriptor(rgb, box, require_detection)


def face_region(shape: tuple[int, ...], box: tuple[int, int, int, int]
                ) -> tuple[int, int, int, int]:
    """The region ``FaceDescriber.descriptor`` searches for a face in ``box`` on an image of
    ``shape`` (H, W, ...): the box with a 30 % margin on every side (dlib's boxes are tighter
    and lower than the landmarker's), clipped to the image; (x0, y0, x1, y1) in pixels."""
    h, w = shape[:2]
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * 0.3, (y1 - y0) * 0.3
    return max(0, int(x0 - mx)), max(0, int(y0 - my)), min(w, int(x1 + mx)), min(h, int(y1 + my))


class SharedFaceDescriber:
    """The process-wide describer: dlib runs in one worker process (``kiosk.workers``), never
    in the server's.

    dlib's ResNet holds the GIL for the whole descriptor (70 ms on an idle core, 400 ms on a
    busy one): in the server it froze the media loop for as long (see ``kiosk.workers``). The
    models (~100 MB) load once, in the worker. Only the face region crosses to the worker:
    about 40 KB for a face in a 640x480 frame instead of 900 KB. Calls are serialised; a
    session pays one about once a second. Errors: ``kiosk.workers.WorkerError`` when the
    worker dies twice on one call or does not answer within ``timeout`` seconds.
    """

    def __init__(self, timeout: float = 30.0):
        self._worker = WorkerProcess("face descriptor", _worker_init, (), timeout)
        self._callers: ThreadPoolExecutor | None = None
        self._callers_lock = threading.Lock()

    def descriptor(self, rgb: np.ndarray, box: tuple[int, int, int, int] | None = None,
                   require_detection: bool = False) -> np.ndarray | None:
        """As ``FaceDescriber.descriptor``, computed in the worker."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {rgb.shape} {rgb.dtype}")
        if box is not None:
            # Send only what the describer would search; the box moves with the crop, and its
            # 30 % margin inside the crop is the crop itself (the same region, clipped alike).
            x0, y0, x1, y1 = face_region(rgb.shape, box)
            rgb = np.ascontiguousarray(rgb[y0:y1, x0:x1])
            box = (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)
        return self._worker.call(_worker_descriptor, rgb, box, require_detection)

    def submit(self, rgb: np.ndarray, box: tuple[int, int, int, int] | None = None,
               require_detection: bool = False) -> Future:
        """``descriptor`` without waiting: a future of its result. The face region is copied
        now, so the caller may reuse ``rgb``; requests are answered in order, one at a time
        (the worker is one process)."""
        if box is not None:
            x0, y0, x1, y1 = face_region(rgb.shape, box)
            rgb = np.array(rgb[y0:y1, x0:x1])
            box = (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)
        else:
            rgb = np.array(rgb)
        with self._callers_lock:
            if self._callers is None:
                self._callers = ThreadPoolExecutor(1, thread_name_prefix="kiosk-describe")
            return self._callers.submit(self.descriptor, rgb, box, require_detection)

    def describe_file(self, path: Path | str) -> np.ndarray:
        """As ``FaceDescriber.describe_file``; the untrusted photo is decoded and shrunk in this
        process (bounded by ``kiosk.liveness.id_photo``), and only the pixels go to dlib's
        worker: a hostile photo cannot stall the face analysis of every other live witness."""
        return _describe_photo(path, self.descriptor)

    def pid(self) -> int:
        """Start the worker (loading dlib's models) if needed; its process id."""
        return self._worker.pid()

    def close(self) -> None:
        """Stop the worker (the next descriptor starts a new one)."""
        with self._callers_lock:
            callers, self._callers = self._callers, None
        if callers is not None:
            callers.shutdown(wait=True)
        self._worker.close()


def _describe_photo(path: Path | str, descriptor) -> np.ndarray:
    rgb = load_photo_rgb(path)
    d = descriptor(rgb)
    if d is None:
        raise ValueError(f"{Path(path).name}: no face found in the photo")
    return d


_shared: SharedFaceDescriber | None = None
_shared_lock = threading.Lock()


def shared_describer() -> SharedFaceDescriber:
    """The process-wide describer (loaded on first call)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SharedFaceDescriber()
        return _shared
