"""Per-frame face signals: the one shape every detector and check consumes (pure).

Pose convention (degrees), from mediapipe's facial transformation matrix:

* ``yaw > 0``: the nose points to IMAGE RIGHT.
* ``pitch > 0``: chin down.
* ``roll``: ``atan2(R10, R11)``.

The server sees the raw, unmirrored camera image. Someone facing the camera who turns their
head to THEIR OWN LEFT points their nose to image right, so **investor's left = yaw increasing**
(``turn_left``) and investor's right = yaw decreasing (``turn_right``). The mirrored preview the
browser shows the investor does not change this: the instruction means their own left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Stable landmarks whose frame-to-frame motion tells a still image from a live face:
# nose tip, chin, outer eye corners, mouth corners.
MOTION_LANDMARKS = (1, 152, 33, 263, 61, 291)


@dataclass(frozen=True)
class OtherFace:
    """A face besides the largest one, kept small enough to record for every frame.

    ``box`` is ``(x0, y0, x1, y1)`` and ``points`` the ``MOTION_LANDMARKS`` as (x, y), all
    normalised to 0..1 of the frame's width and height (a face cut by the frame edge may reach
    a little outside). Enough to follow the face from frame to frame and to tell a picture
    on the wall (no motion) from a person (``kiosk.liveness.session_checks``).
    """

    box: tuple[float, float, float, float]
    points: tuple[tuple[float, float], ...] = ()

    def __post_init__(self):
        if len(self.box) != 4 or not all(math.isfinite(v) for v in self.box):
            raise ValueError(f"OtherFace.box must be 4 finite numbers, got {self.box!r}")
        if not all(len(p) == 2 and all(math.isfinite(v) for v in p) for p in self.points):
            raise ValueError("OtherFace.points must be finite (x, y) pairs")

    def to_dict(self) -> dict:
        return {"box": [round(v, 4) for v in self.box],
                "points": [[round(x, 5), round(y, 5)] for x, y in self.points]}

    @classmethod
    def from_dict(cls, d: dict) -> OtherFace:
        box = d["box"]
        if len(box) != 4:
            raise ValueError(f"OtherFace.box must have 4 numbers, got {len(box)}")
        return cls(box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                   points=tuple((float(x), float(y)) for x, y in d.get("points", ())))


@dataclass(frozen=True)
class FrameSignals:
    """What one analysed frame says about the face(s) in it.

    ``t`` is seconds on the media clock; ``faces`` the number of faces found. The other face
    fields describe the largest face and are 0 / None when ``faces == 0``. ``box`` is
    ``(x0, y0, x1, y1)`` in pixels; ``brightness`` the mean luma 0-255 of the face box (the whole
    frame when no face); ``mouth_gap`` the inner-lip gap over the between-the-eyes-to-nose-base
    distance (geometry, unlike ``jaw_open``, is not fooled by a tilted photo); ``points`` a few
    normalised (x, y) landmarks for micro-motion checks. ``others`` are the remaining faces
    (``faces - 1`` of them when recorded by this version; empty in signals recorded before
    it, which the one-person check then treats as untrackable). ``src_t`` is the frame's own
    timestamp in seconds on the SENDER's clock (the RTP timestamp: when the camera took it),
    or None when unknown (a file analysed offline, where ``t`` is already the file's own
    time, or signals recorded before it was kept). ``t`` is when the frame ARRIVED: under load
    frames arrive late and in bursts, and a sender that falls behind plays its pictures
    slower than they were taken, so the still-image check measures time on ``src_t``
    (``kiosk.liveness.session_checks.still_evidence``).
    """

    t: float
    faces: int
    blink_l: float = 0.0
    blink_r: float = 0.0
    jaw_open: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    box: tuple[int, int, int, int] | None = None
    brightness: float = 128.0
    mouth_gap: float = 0.0
    points: tuple[tuple[float, float], ...] = field(default=(), repr=False)
    others: tuple[OtherFace, ...] = field(default=(), repr=False)
    src_t: float | None = None

    def __post_init__(self):
        if not math.isfinite(self.t):
            raise ValueError(f"FrameSignals.t must be finite, got {self.t!r}")
        if self.src_t is not None and not math.isfinite(self.src_t):
            raise ValueError(f"FrameSignals.src_t must be finite or None, got {self.src_t!r}")
        if self.faces < 0:
            raise ValueError(f"FrameSignals.faces must be >= 0, got {self.faces}")

    @property
    def blink(self) -> float:
        """Both-eye closure: the mean of the two blendshapes (a wink scores half)."""
        return (self.blink_l + self.blink_r) / 2.0

    def to_dict(self) -> dict:
        d: dict[str, Any] = {
            "t": round(self.t, 4),
            "faces": self.faces,
            "blink_l": round(self.blink_l, 4),
            "blink_r": round(self.blink_r, 4),
            "jaw_open": round(self.jaw_open, 4),
            "yaw": round(self.yaw, 3),
            "pitch": round(self.pitch, 3),
            "roll": round(self.roll, 3),
            "box": list(self.box) if self.box else None,
            "brightness": round(self.brightness, 2),
            "mouth_gap": round(self.mouth_gap, 4),
            "points": [[round(x, 5), round(y, 5)] for x, y in self.points],
        }
        if self.others:  # only when there are: one-face frames stay as small as before
            d["others"] = [o.to_dict() for o in self.others]
        if self.src_t is not None:
            d["src_t"] = round(self.src_t, 4)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FrameSignals:
        box = d.get("box")
        return cls(
            t=float(d["t"]),
            faces=int(d["faces"]),
            blink_l=float(d.get("blink_l", 0.0)),
            blink_r=float(d.get("blink_r", 0.0)),
            jaw_open=float(d.get("jaw_open", 0.0)),
            yaw=float(d.get("yaw", 0.0)),
            pitch=float(d.get("pitch", 0.0)),
            roll=float(d.get("roll", 0.0)),
            box=tuple(int(v) for v in box) if box else None,  # type: ignore[arg-type]  # x y w h
            brightness=float(d.get("brightness", 128.0)),
            mouth_gap=float(d.get("mouth_gap", 0.0)),
            points=tuple((float(x), float(y)) for x, y in d.get("points", ())),
            others=tuple(OtherFace.from_dict(o) for o in d.get("others", ())),
            src_t=None if d.get("src_t") is None else float(d["src_t"]),
        )


def pose_from_matrix(matrix) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from a 4x4 (or 3x3) facial transformation matrix."""
    m = np.asarray(matrix, dtype=float)
    if m.shape not in ((4, 4), (3, 3)):
        raise ValueError(f"pose matrix must be 4x4 or 3x3, got shape {m.shape}")
    r = m[:3, :3]
    yaw = math.degrees(math.atan2(r[0, 2], r[2, 2]))
    pitch = -math.degrees(math.asin(max(-1.0, min(1.0, r[1, 2]))))
    roll = math.degrees(math.atan2(r[1, 0], r[1, 1]))
    return yaw, pitch, roll


def luma(rgb: np.ndarray) -> float:
    """Mean BT.601 luma (0-255) of an RGB uint8 image or region."""
    if rgb.size == 0:
        return 0.0
    px = rgb.reshape(-1, 3)[:: max(1, rgb.shape[0] * rgb.shape[1] // 20000)]
    return float((px @ np.array([0.299, 0.587, 0.114])).mean())
