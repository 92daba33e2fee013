"""Image operations on card pictures: the only module of the kiosk that imports OpenCV.

OpenCV (``cv2``) arrives with mediapipe's ``opencv-contrib-python`` (rapidocr's own
``opencv-python`` is kept out: requirements-nodeps.txt), so a change of its version touches
this file only. Everything here takes and gives numpy arrays:

- ``resize_area``: shrink an image (the OCR's detector input);
- ``find_card``: the quadrilateral of an ID card (85.6 x 54 mm) in a grey frame, from its
  outline (Canny edges, contours, a convex four-cornered polygon of the card's aspect);
- ``laplacian_variance``: the sharpness of a grey image (variance of its Laplacian);
- ``warp_card``: the card cut out of a frame and made rectangular (perspective removed).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CARD_ASPECT = 85.6 / 54.0  # ISO/IEC 7810 ID-1, the PRC resident ID card's size
ASPECT_TOLERANCE = 0.22  # a card tilted toward the camera looks up to ~20% shorter or longer
MIN_AREA_SHARE = 0.02  # outlines smaller than this share of the frame are not looked at
BORDER_PX = 3  # a corner this close to the frame's edge may be cut off by it


@dataclass(frozen=True)
class CardQuad:
    """A card's outline in a frame: ``corners`` (4, 2) float pixels, clockwise from the
    card's top-left as seen (its long side across); ``area_share`` of the frame (0-1);
    ``in_view`` False when a corner touches the frame's edge (the card may be cut off)."""

    corners: np.ndarray
    area_share: float
    in_view: bool

    def scaled(self, k: float) -> CardQuad:
        """The same outline in a frame ``k`` times as large."""
        return CardQuad(self.corners * k, self.area_share, self.in_view)


def resize_area(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` (H, W[, C]) resized to ``width`` x ``height`` by pixel-area averaging (the
    right filter for shrinking). ValueError for a size below 1."""
    if width < 1 or height < 1:
        raise ValueError(f"size must be at least 1x1, got {width}x{height}")
    return cv2.resize(image, (int(width), int(height)), interpolation=cv2.INTER_AREA)


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """An RGB uint8 image (H, W, 3) as grey (H, W). ValueError for any other shape."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {rgb.shape} {rgb.dtype}")
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def laplacian_variance(grey: np.ndarray) -> float:
    """Sharpness of a grey uint8 image: the variance of its Laplacian (3x3). A sharp card at
    5 px/mm gives several hundred; a blurred one tens."""
    if grey.ndim != 2:
        raise ValueError(f"expected a grey image (H, W), got {grey.shape}")
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def _order(pts: np.ndarray) -> np.ndarray:
    """Four points clockwise from the top-left, then turned so the first edge is a long one."""
    c = pts.mean(axis=0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]  # clockwise in image coordinates (y down)
    start = int(np.argmin(pts.sum(axis=1)))
    pts = np.roll(pts, -start, axis=0)
    top = np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[2] - pts[3])
    side = np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])
    if side > top:  # held upright: the long side runs down; read it as the card's width
        pts = np.roll(pts, -1, axis=0)
    return pts


def _aspect(pts: np.ndarray) -> float:
    w = (np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[2] - pts[3])) / 2
    h = (np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])) / 2
    return float(w) / max(float(h), 1e-6)


def find_card(grey: np.ndarray) -> CardQuad | None:
    """The largest card-shaped quadrilateral in a grey uint8 frame (H, W), or None.

    Card-shaped: convex, four corners after simplifying the outline (the rounded corners fold
    away), long side / short side within ``ASPECT_TOLERANCE`` of 85.6/54, at least
    ``MIN_AREA_SHARE`` of the frame. Cost: about 2-4 ms at 640x480.
    """
    if grey.ndim != 2 or grey.dtype != np.uint8:
        raise ValueError(f"expected a grey uint8 image (H, W), got {grey.shape} {grey.dtype}")
    h, w = grey.shape
    blurred = cv2.GaussianBlur(grey, (5, 5), 0)
    edges = cv2.Canny(blurred, 40, 120)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    best: CardQuad | None = None
    frame_area = float(h * w)
    for contour in contours:
        if cv2.contourArea(contour) < MIN_AREA_SHARE * frame_area:
            continue
        hull = cv2.convexHull(contour)
        approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
        if len(approx) != 4 or not cv2.isContourConvex(approx):
            continue
        pts = _order(approx.reshape(4, 2).astype(np.float64))
        if abs(_aspect(pts) / CARD_ASPECT - 1.0) > ASPECT_TOLERANCE:
            continue
        share = float(cv2.contourArea(pts.astype(np.float32))) / frame_area
        if best is not None and share <= best.area_share:
            continue
        in_view = bool(np.all(pts[:, 0] >= BORDER_PX) and np.all(pts[:, 0] <= w - 1 - BORDER_PX)
                       and np.all(pts[:, 1] >= BORDER_PX)
                       and np.all(pts[:, 1] <= h - 1 - BORDER_PX))
        best = CardQuad(pts, share, in_view)
    return best


def warp_card(image: np.ndarray, corners: np.ndarray, width: int, height: int,
              margin: float = 0.0) -> np.ndarray:
    """The card at ``corners`` (4, 2, clockwise from its top-left) in ``image``, made a
    ``width`` x ``height`` rectangle; ``margin`` (share of each side) of surroundings is kept
    around it. Works on grey and RGB images."""
    if corners.shape != (4, 2):
        raise ValueError(f"corners must be (4, 2), got {corners.shape}")
    mx, my = width * margin, height * margin
    dst = np.array([[mx, my], [width - 1 - mx, my], [width - 1 - mx, height - 1 - my],
                    [mx, height - 1 - my]], np.float32)
    m = cv2.getPerspectiveTransform(corners.astype(np.float32), dst)
    return cv2.warpPerspective(image, m, (int(width), int(height)), flags=cv2.INTER_AREA,
                               borderMode=cv2.BORDER_REPLICATE)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` (float32, 2-D or H x W x C) blurred by a Gaussian of ``sigma`` pixels."""
    return cv2.GaussianBlur(image, (0, 0), sigma)
