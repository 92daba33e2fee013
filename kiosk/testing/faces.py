"""Test clips synthesised offline from public-domain faces (live actions and attacks).

The faces are ``skimage.data.astronaut()`` (NASA) and matplotlib's ``grace_hopper.jpg``
(US Navy), both public domain. A face is fitted once with the real mediapipe adapter, its 468
mesh points are triangulated together with a fixed ring around the head, and each frame is a
piecewise-affine warp of the photo:

* blink: upper lids moved onto the lower lids, the lid painted with skin tone plus a lash line;
* open mouth: points below the mouth rotated about a jaw hinge behind the face, dark cavity;
* head turn / nod: the 3D points rotated about a pivot behind the face and reprojected.

Background clips: a live face with a framed still picture of another face on the wall behind
(``portrait``), or that other person sitting quietly in the same place (``onlooker``).

Attack clips: a still photo, a hand-held photo (2D affine drift), a flat photo tilted in
perspective (homography), two faces, person A swapped for B, no face, and a live face that
never answers. Frames are cached as MP4 in a temp folder keyed by the clip's parameters.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from kiosk.liveness.adapter import FaceAnalyzer
from kiosk.testing.streams import rgb_to_yuv420

log = logging.getLogger(__name__)

FACES = ("astronaut", "hopper")
LIVE_KINDS = ("neutral", "blink", "turn_left", "turn_right", "nod", "open_mouth", "sequence")
ATTACK_KINDS = ("still", "drift", "tilt", "two_faces", "swap", "no_face", "no_response")
# A live investor with a second, smaller face in the background's top-right corner: a framed
# picture of it (frozen: a portrait on the wall), or the second person sitting quietly there
# (natural sway only, like two_faces' second person).
BACKGROUND_KINDS = ("portrait", "onlooker")
# The challenge order the "sequence" clip performs (and swap / two_faces reuse).
SEQUENCE = ("blink", "turn_left", "open_mouth", "turn_right", "nod")
SYNTH_VERSION = 4  # bump when rendering changes, so cached clips are regenerated

# Synthesised amplitudes; measured yaw/pitch come out at roughly 0.55-0.8 of these.
TURN_DEG = 32.0
NOD_DEG = 24.0
JAW_DEG = 24.0

# mediapipe mesh indices (subject's right eye is on image left).
_EYES = (
    # upper lid, lower lid (paired), ring above the upper lid, outer corner, inner corner
    (
        (246, 161, 160, 159, 158, 157, 173),
        (7, 163, 144, 145, 153, 154, 155),
        (247, 30, 29, 27, 28, 56, 190),
        33,
        133,
    ),
    (
        (466, 388, 387, 386, 385, 384, 398),
        (249, 390, 373, 374, 380, 381, 382),
        (467, 260, 259, 257, 258, 286, 414),
        263,
        362,
    ),
)
_UPPER_LIP = (185, 40, 39, 37, 0, 267, 269, 270, 409, 191, 80, 81, 82, 13, 312, 311, 310, 415)
_LOWER_LIP = (146, 91, 181, 84, 17, 314, 405, 321, 375, 95, 88, 178, 87, 14, 317, 402, 318, 324)
_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
_INNER_LOWER = (308, 324, 318, 402, 317, 14, 87, 178, 88, 95, 78)
_MOUTH_CORNERS = (61, 291, 78, 308)
_CHEEKS = (50, 280, 118, 347)
_N_MESH = 468


def face_photo(name: str) -> np.ndarray:
    """The original public-domain photo as RGB uint8."""
    if name == "astronaut":
        from skimage import data

        return np.ascontiguousarray(data.astronaut())
    if name == "hopper":
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        bgr = cv2.imread(str(path))
        if bgr is None:
            raise FileNotFoundError(f"{path}: matplotlib's sample photo is missing")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    raise ValueError(f"unknown face {name!r}; choose one of {', '.join(FACES)}")


def _fit(rgb: np.ndarray) -> np.ndarray:
    """468 mesh points (x_px, y_px, z_px) of the one face in ``rgb``, via the real adapter."""
    with FaceAnalyzer(num_faces=1) as fa:
        faces = fa.detect(rgb, 0)
    if not faces:
        raise RuntimeError("no face found while fitting the mesh")
    h, w = rgb.shape[:2]
    pts = faces[0].landmarks[:_N_MESH].copy()
    pts[:, 0] *= w
    pts[:, 1] *= h
    pts[:, 2] *= w
    return pts


def framed_photo(name: str, size: tuple[int, int]) -> np.ndarray:
    """The photo cropped around the face to ``size`` (w, h), face about a third of the width."""
    photo = face_photo(name)
    pts = _fit(photo)
    w, h = size
    x0, x1 = pts[:, 0].min(), pts[:, 0].max()
    cx, cy = (x0 + x1) / 2, (pts[:, 1].min() + pts[:, 1].max()) / 2
    crop_w = (x1 - x0) / 0.32
    scale = w / crop_w
    # Affine: face centre -> (0.5 w, 0.47 h); reflected borders where the crop leaves the photo.
    m = np.array([[scale, 0, w * 0.5 - cx * scale], [0, scale, h * 0.47 - cy * scale]])
    return cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


class FaceRig:
    """A fitted face that renders deformed frames (blink, jaw, yaw, pitch) of its photo."""

    def __init__(self, image: np.ndarray):
        from scipy.spatial import Delaunay

        self.image = image
        self.h, self.w = image.shape[:2]
        mesh = _fit(image)
        self.face_w = float(np.ptp(mesh[:, 0]))
        self.center = mesh[:, :2].mean(axis=0)
        # A fixed ring around the head so the warp blends into an unmoving background.
        ang = np.linspace(0, 2 * np.pi, 28, endpoint=False)
        rx, ry = 1.25 * self.face_w, 1.25 * float(np.ptp(mesh[:, 1]))
        ring = np.stack([self.center[0] + rx * np.cos(ang), self.center[1] + ry * np.sin(ang)], 1)
        far_z = float(mesh[:, 2].max())
        ring3 = np.column_stack([ring, np.full(len(ring), far_z)])
        self.points = np.vstack([mesh, ring3])  # (468 + 28, 3)
        self.n_mesh = _N_MESH
        self.tris = Delaunay(self.points[:, :2]).simplices
        self.pivot = np.array(
            [self.center[0], self.center[1], mesh[:, 2].mean() + 0.8 * self.face_w]
        )
        cheeks = np.concatenate([self._patch(mesh[i, :2]) for i in _CHEEKS])
        self.skin = np.median(cheeks, axis=0)
        # Jaw weights: lower lip fully, below the mouth corners ramping in.
        y_c = mesh[list(_MOUTH_CORNERS), 1].mean()
        y_chin = mesh[152, 1]
        wts = np.clip((mesh[:, 1] - y_c) / max(1.0, 0.35 * (y_chin - y_c)), 0, 1)
        wts[list(_UPPER_LIP)] = 0.0
        wts[list(_MOUTH_CORNERS)] = 0.0
        wts[list(_LOWER_LIP)] = 1.0
        self.jaw_w = wts
        self.hinge = np.array(
            [self.center[0], mesh[[234, 454], 1].mean(), mesh[:, 2].mean() + 0.6 * self.face_w]
        )

    def _patch(self, xy: np.ndarray, r: int = 4) -> np.ndarray:
        x, y = int(xy[0]), int(xy[1])
        return self.image[max(0, y - r) : y + r, max(0, x - r) : x + r].reshape(-1, 3).astype(float)

    def deform(self, yaw=0.0, pitch=0.0, blink=0.0, jaw=0.0) -> np.ndarray:
        """Deformed 3D points (pixels) for the given pose (degrees), closure 0-1 and jaw angle."""
        p = self.points.copy()
        m = p[: self.n_mesh]
        if jaw:
            a = math.radians(jaw) * self.jaw_w
            dy, dz = m[:, 1] - self.hinge[1], m[:, 2] - self.hinge[2]
            m[:, 1] = self.hinge[1] + np.cos(a) * dy - np.sin(a) * dz
            m[:, 2] = self.hinge[2] + np.sin(a) * dy + np.cos(a) * dz
        if blink:
            for upper, lower, ring, _, _ in _EYES:
                up, lo = list(upper), list(lower)
                travel = (m[lo, :2] - m[up, :2]) * blink * 0.9
                m[up, :2] += travel
                m[list(ring), :2] += travel * 0.4
        if yaw or pitch:
            d = m - self.pivot
            a, b = math.radians(yaw), math.radians(pitch)
            # yaw > 0 turns the nose to image right (x grows for points in front of the pivot).
            x = np.cos(a) * d[:, 0] - np.sin(a) * d[:, 2]
            z = np.sin(a) * d[:, 0] + np.cos(a) * d[:, 2]
            # pitch > 0 is chin down (the nose tip moves down the image).
            y = np.cos(b) * d[:, 1] - np.sin(b) * z
            z = np.sin(b) * d[:, 1] + np.cos(b) * z
            m[:] = np.column_stack([x, y, z]) + self.pivot
        p[: self.n_mesh] = m
        return p

    def render(self, yaw=0.0, pitch=0.0, blink=0.0, jaw=0.0) -> np.ndarray:
        """One RGB frame of the face in that pose."""
        dst = self.deform(yaw, pitch, blink, jaw)
        out = piecewise_warp(self.image, self.points[:, :2], dst[:, :2], self.tris, dst[:, 2])
        if blink >= 0.75:
            self._paint_lids(out, dst)
        if jaw >= 6:
            self._paint_cavity(out, dst)
        return out

    def _paint_cavity(self, out: np.ndarray, dst: np.ndarray) -> None:
        # The lips' original gap (teeth of a smile) stays at the top; the new gap is dark.
        up, lo = list(_INNER_UPPER), list(_INNER_LOWER[::-1])
        gap0 = self.points[lo, :2] - self.points[up, :2]
        top = dst[up, :2] + gap0
        bottom = np.maximum(dst[lo, :2], top)
        poly = np.vstack([top, bottom[::-1]])
        cv2.fillPoly(out, [np.round(poly * 16).astype(np.int32)], (40, 12, 16), cv2.LINE_AA, 4)

    def _paint_lids(self, out: np.ndarray, dst: np.ndarray) -> None:
        mask = np.zeros(out.shape[:2], np.float32)
        lash_px = max(1, round(self.face_w / 110))
        lines = []
        for _upper, lower, ring, outer, inner in _EYES:
            poly = np.vstack(
                [
                    dst[[outer], :2],
                    dst[list(ring), :2],
                    dst[[inner], :2],
                    dst[list(lower)[::-1], :2],
                ]
            )
            cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1.0)
            lines.append(np.round(dst[[outer] + list(lower) + [inner], :2]).astype(np.int32))
        soft = cv2.GaussianBlur(mask, (0, 0), max(1.0, self.face_w / 150))[..., None]
        lid = np.broadcast_to(self.skin * 0.9, out.shape)
        out[:] = np.clip(out * (1 - soft) + lid * soft, 0, 255).astype(np.uint8)
        cv2.polylines(out, lines, False, (35, 25, 25), lash_px, cv2.LINE_AA)


def piecewise_warp(img, src, dst, tris, depth=None) -> np.ndarray:
    """Warp ``img`` so that each triangle src[tris] lands on dst[tris] (far triangles first)."""
    h, w = img.shape[:2]
    order = np.arange(len(tris))
    if depth is not None:
        order = np.argsort(-depth[tris].mean(axis=1))  # larger z is farther: draw it first
    idx = np.full((h, w), -1, np.int32)
    for tri in order:
        cv2.fillConvexPoly(
            idx, np.round(dst[tris[tri]] * 16).astype(np.int32), int(tri), cv2.LINE_8, 4
        )
    d = dst[tris]  # (T, 3, 2)
    s = src[tris]
    dh = np.concatenate([d, np.ones((len(tris), 3, 1))], axis=2)
    aff = np.linalg.pinv(dh) @ s  # (T, 3, 2): [x y 1] @ aff = source xy
    ys, xs = np.nonzero(idx >= 0)
    k = idx[ys, xs]
    map_x = np.tile(np.arange(w, dtype=np.float32), (h, 1))
    map_y = np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w))
    map_x[ys, xs] = xs * aff[k, 0, 0] + ys * aff[k, 1, 0] + aff[k, 2, 0]
    map_y[ys, xs] = xs * aff[k, 0, 1] + ys * aff[k, 1, 1] + aff[k, 2, 1]
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@lru_cache(maxsize=8)
def face_rig(name: str, size: tuple[int, int] = (640, 480)) -> FaceRig:
    """The fitted rig of a named face at a frame size (cached per process)."""
    return FaceRig(framed_photo(name, size))


@dataclass(frozen=True)
class ClipSpec:
    """A synthetic clip: which face, what it does, frame size, rate and random seed."""

    face: str
    kind: str
    size: tuple[int, int] = (640, 480)
    fps: int = 15
    seed: int = 0
    other: str = ""  # the second person in two_faces / swap
    seconds: float = 0.0  # 0: the kind's natural length

    def __post_init__(self):
        if self.face not in FACES:
            raise ValueError(f"unknown face {self.face!r}; choose one of {', '.join(FACES)}")
        if self.kind not in LIVE_KINDS + ATTACK_KINDS + BACKGROUND_KINDS:
            raise ValueError(f"unknown clip kind {self.kind!r}")
        if self.other and self.other not in FACES:
            raise ValueError(f"unknown face {self.other!r}")
        if (
            self.seconds < 0
            or self.fps <= 0
            or min(self.size) < 64
            or self.size[0] % 2
            or self.size[1] % 2
        ):
            raise ValueError(
                f"bad clip geometry: {self.size} at {self.fps} fps for {self.seconds} s"
            )

    @property
    def second(self) -> str:
        return self.other or next(f for f in FACES if f != self.face)

    @property
    def duration(self) -> float:
        if self.seconds:
            return self.seconds
        if self.kind in ("sequence", "two_faces"):
            return 11.0
        if self.kind == "swap":
            return 13.0
        if self.kind == "tilt":
            return 6.0
        return 3.2

    @property
    def key(self) -> str:
        blob = json.dumps({**asdict(self), "v": SYNTH_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _bump(t: float, start: float, ramp: float = 0.35, hold: float = 0.4) -> float:
    """0 -> 1 -> 0 smooth profile of an action starting at ``start``."""
    u = t - start
    if u <= 0 or u >= 2 * ramp + hold:
        return 0.0
    if u < ramp:
        return 0.5 - 0.5 * math.cos(math.pi * u / ramp)
    if u < ramp + hold:
        return 1.0
    return 0.5 + 0.5 * math.cos(math.pi * (u - ramp - hold) / ramp)


def _blink(t: float, start: float, fps: int) -> float:
    """Eye closure: one half-closed frame, five closed frames, one half-closed frame."""
    f = round((t - start) * fps)
    return {0: 0.5, 1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 1.0, 6: 0.5}.get(f, 0.0)


def _action(kind: str, t: float, start: float, fps: int) -> dict:
    b = _bump(t, start)
    if kind == "blink":
        return {"blink": _blink(t, start, fps)}
    if kind == "turn_left":  # investor's own left = nose to image right = yaw > 0
        return {"yaw": TURN_DEG * b}
    if kind == "turn_right":
        return {"yaw": -TURN_DEG * b}
    if kind == "nod":
        return {"pitch": NOD_DEG * b}
    if kind == "open_mouth":
        return {"jaw": JAW_DEG * b}
    raise ValueError(kind)


def _pose_track(spec: ClipSpec, t: float, actions: Iterable[tuple[str, float]]) -> dict:
    """Render parameters at ``t``: natural sway plus every action under way."""
    rng = np.random.default_rng(spec.seed)
    ph = rng.uniform(0, 2 * np.pi, 2)
    p = {
        "yaw": 1.5 * math.sin(2 * math.pi * 0.31 * t + ph[0]),
        "pitch": 1.0 * math.sin(2 * math.pi * 0.23 * t + ph[1]),
        "blink": 0.0,
        "jaw": 0.0,
    }
    for kind, start in actions:
        for k, v in _action(kind, t, start, spec.fps).items():
            p[k] = p[k] + v if k in ("yaw", "pitch") else max(p[k], v)
    return p


def _sequence_actions(t0: float = 1.0, gap: float = 2.0) -> list[tuple[str, float]]:
    return [(k, t0 + i * gap) for i, k in enumerate(SEQUENCE)]


def _noise(frame: np.ndarray, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    """Camera sensor noise, so no two frames are bit-identical."""
    n = rng.normal(0, sigma, frame.shape).astype(np.float32)
    return np.clip(frame.astype(np.float32) + n, 0, 255).astype(np.uint8)


def _room(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """An empty room: wall gradient, a door and a picture frame, no face."""
    w, h = size
    y = np.linspace(0, 1, h)[:, None, None]
    img = (np.array([170, 160, 140]) * (1 - 0.3 * y) + np.zeros((h, w, 3))).astype(np.uint8)
    cv2.rectangle(img, (int(0.1 * w), int(0.25 * h)), (int(0.3 * w), h), (110, 80, 60), -1)
    cv2.rectangle(
        img, (int(0.55 * w), int(0.2 * h)), (int(0.85 * w), int(0.5 * h)), (60, 90, 120), -1
    )
    return img


def iter_frames(spec: ClipSpec) -> Iterator[tuple[float, np.ndarray]]:
    """(t seconds, RGB uint8 frame) for every frame of a synthetic clip."""
    w, h = spec.size
    rng = np.random.default_rng(spec.seed + 1000)
    n = int(round(spec.duration * spec.fps))
    kind = spec.kind
    if kind == "no_face":
        room = _room(spec.size, rng)
        for i in range(n):
            yield i / spec.fps, _noise(room, rng)
        return
    rig = face_rig(spec.face, spec.size)
    rig_b = (face_rig(spec.second, spec.size)
             if kind in ("two_faces", "swap") + BACKGROUND_KINDS else rig)
    drift = rng.normal(0, 1, (n, 4)).cumsum(axis=0)  # used by "drift" only
    for i in range(n):
        t = i / spec.fps
        if kind == "neutral" or kind == "no_response":
            frame = rig.render(**_pose_track(spec, t, []))
        elif kind in ("blink", "turn_left", "turn_right", "nod", "open_mouth"):
            frame = rig.render(**_pose_track(spec, t, [(kind, 1.0)]))
        elif kind == "sequence":
            frame = rig.render(**_pose_track(spec, t, _sequence_actions()))
        elif kind == "still":
            frame = rig.image.copy()
        elif kind == "drift":
            # A photo held in a hand: slow 2D rotation, shift and scale wander, no 3D change.
            d = drift[i] / max(1.0, math.sqrt(n))
            ang, sc = 2.5 * math.tanh(d[0]), 1 + 0.03 * math.tanh(d[1])
            m = cv2.getRotationMatrix2D((w / 2, h / 2), ang, sc)
            m[:, 2] += np.array([12 * math.tanh(d[2]), 12 * math.tanh(d[3])])
            frame = cv2.warpAffine(rig.image, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        elif kind == "tilt":
            frame = _tilted(rig.image, *_tilt_angles(t))
        elif kind == "two_faces":
            a = rig.render(**_pose_track(spec, t, _sequence_actions()))
            frame = _side_by_side(a, rig_b.render(**_pose_track(spec, t + 3.0, [])))
        elif kind in BACKGROUND_KINDS:
            framed = kind == "portrait"
            b = rig_b.image if framed else rig_b.render(**_pose_track(spec, t + 3.0, []))
            frame = _in_corner(rig.render(**_pose_track(spec, t, [])), b, framed=framed)
        elif kind == "swap":
            # A sits for 2 s, then B takes the seat and answers every challenge.
            frame = (
                rig.render(**_pose_track(spec, t, []))
                if t < 2.0
                else rig_b.render(**_pose_track(spec, t, _sequence_actions(t0=3.0)))
            )
        else:  # pragma: no cover - ClipSpec validates kinds
            raise ValueError(kind)
        yield t, _noise(frame, rng)


def _tilt_angles(t: float) -> tuple[float, float]:
    """A flat photo swung left, right, then tipped forward, as someone faking the moves would."""
    yaw = 35 * math.sin(2 * math.pi * t / 4.0) if t < 4.0 else 0.0
    pitch = 30 * math.sin(math.pi * (t - 4.0) / 2.0) if t >= 4.0 else 0.0
    return yaw, pitch


def _tilted(img: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """``img`` as a flat card rotated by yaw/pitch (degrees) seen through a pinhole camera."""
    h, w = img.shape[:2]
    f = float(w)
    a, b = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    card = (
        np.column_stack([corners[:, 0] - w / 2, corners[:, 1] - h / 2, np.zeros(4)]) @ (rx @ ry).T
    )
    z = card[:, 2] + 1.6 * f
    proj = np.column_stack([card[:, 0] * 1.6 * f / z + w / 2, card[:, 1] * 1.6 * f / z + h / 2])
    hmat = cv2.getPerspectiveTransform(corners.astype(np.float32), proj.astype(np.float32))
    return cv2.warpPerspective(img, hmat, (w, h), flags=cv2.INTER_LINEAR, borderValue=(90, 90, 90))


def _in_corner(a: np.ndarray, b: np.ndarray, framed: bool) -> np.ndarray:
    """``a`` with the middle of ``b`` (its face) shrunk into the top-right corner, face about
    a sixth of the frame wide; ``framed`` draws a picture frame around it."""
    h, w = a.shape[:2]
    crop = b[int(0.15 * h) : int(0.8 * h), int(0.25 * w) : int(0.75 * w)]
    cw = int(0.26 * w)
    ch = int(cw * crop.shape[0] / crop.shape[1])
    small = cv2.resize(crop, (cw, ch), interpolation=cv2.INTER_AREA)
    out = a.copy()
    x0, y0 = w - cw - 8, 8
    if framed:
        cv2.rectangle(out, (x0 - 6, y0 - 6), (x0 + cw + 5, y0 + ch + 5), (90, 60, 30), -1)
    out[y0 : y0 + ch, x0 : x0 + cw] = small
    return out


def _side_by_side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two people in one frame: the centres of two 0.7-scaled frames next to each other."""
    h, w = a.shape[:2]
    out = np.full_like(a, 100)
    sw, sh = int(w * 0.7), int(h * 0.7)
    half = w // 2
    y0 = (h - sh) // 2
    for k, img in enumerate((a, b)):
        small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
        x0 = (sw - half) // 2
        out[y0 : y0 + sh, k * half : (k + 1) * half] = small[:, x0 : x0 + half]
    return out


# ---- writers -------------------------------------------------------------------------------


def write_y4m(frames: Iterable[np.ndarray], path: Path | str, fps: int = 15) -> int:
    """Write RGB frames as a 4:2:0 Y4M Chromium can use as a fake camera, limited-range BT.601
    (``kiosk.testing.streams.rgb_to_yuv420``); returns the frame count."""
    path = Path(path)
    count = 0
    with open(path, "wb") as fh:
        for frame in frames:
            h, w = frame.shape[:2]
            if w % 2 or h % 2:
                raise ValueError(f"Y4M 4:2:0 needs even width and height, got {w}x{h}")
            if count == 0:
                fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            fh.write(b"FRAME\n")
            for plane in rgb_to_yuv420(frame):
                fh.write(plane.tobytes())
            count += 1
    if count == 0:
        raise ValueError(f"{path}: no frames to write")
    return count


def write_video(
    frames: Iterable[np.ndarray], path: Path | str, fps: int = 15, crf: int = 16
) -> int:
    """Write RGB frames to .mp4 (H.264) or .webm (VP8) with PyAV; returns frame count."""
    import av

    path = Path(path)
    codec = {".mp4": "libx264", ".webm": "libvpx", ".mkv": "libx264"}.get(path.suffix.lower())
    if codec is None:
        raise ValueError(f"{path}: unsupported video extension (use .mp4, .webm or .mkv)")
    count = 0
    with av.open(str(path), "w") as container:
        stream: av.VideoStream | None = None
        for frame in frames:
            if stream is None:
                added = container.add_stream(codec, rate=fps)
                assert isinstance(added, av.VideoStream)
                stream = added
                stream.width, stream.height = frame.shape[1], frame.shape[0]
                stream.pix_fmt = "yuv420p"
                if codec == "libx264":
                    stream.options = {"crf": str(crf), "preset": "veryfast"}
                else:
                    stream.options = {
                        "crf": "6",
                        "b": "4M",
                        "deadline": "realtime",
                        "cpu-used": "8",
                    }
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            for pkt in stream.encode(vf):
                container.mux(pkt)
            count += 1
        if stream is None:
            raise ValueError(f"{path}: no frames to write")
        for pkt in stream.encode(None):
            container.mux(pkt)
    return count


def read_video(path: Path | str) -> Iterator[tuple[float, np.ndarray]]:
    """(t seconds, RGB frame) of every decoded video frame of a file."""
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path}: no video stream")
        stream = container.streams.video[0]
        for i, frame in enumerate(container.decode(stream)):
            t = (
                float(frame.time)
                if frame.time is not None
                else i / float(stream.average_rate or 15)
            )
            yield t, frame.to_ndarray(format="rgb24")


def write_id_photo(name: str, path: Path, canvas: int = 0) -> Path:
    """A named face as an ID photo file (JPEG or PNG by ``path``'s suffix).

    With ``canvas`` > 0 the 480x480 portrait sits in the middle of a ``canvas`` x ``canvas``
    plain grey image: a photo as large in pixels as an upload may be, yet small in bytes.
    """
    face = framed_photo(name, (480, 480))
    if canvas:
        if canvas < 480:
            raise ValueError(f"canvas must be 0 or at least 480 pixels, got {canvas}")
        img = np.full((canvas, canvas, 3), 128, np.uint8)
        at = (canvas - 480) // 2
        img[at:at + 480, at:at + 480] = face
        face = img
    if not cv2.imwrite(str(path), cv2.cvtColor(face, cv2.COLOR_RGB2BGR)):
        raise ValueError(f"cannot write an image to {path.name} (use .jpg or .png)")
    return path


def cache_dir() -> Path:
    """Where generated clips are kept between runs ($KIOSK_CLIP_CACHE or the temp folder)."""
    d = Path(os.environ.get("KIOSK_CLIP_CACHE") or Path(tempfile.gettempdir()) / "kiosk-face-clips")
    d.mkdir(parents=True, exist_ok=True)
    return d


def clip_path(spec: ClipSpec, directory: Path | None = None) -> Path:
    """An MP4 of the clip, generated once and cached by its parameters."""
    d = directory or cache_dir()
    path = d / f"{spec.face}-{spec.kind}-{spec.size[0]}x{spec.size[1]}-{spec.key}.mp4"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp.mp4")
        write_video((f for _, f in iter_frames(spec)), tmp, fps=spec.fps)
        os.replace(tmp, path)  # atomic, so a parallel run never reads half a file
        log.info("generated clip %s", path.name)
    return path
