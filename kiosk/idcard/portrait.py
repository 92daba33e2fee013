"""Where the portrait is on a read card's portrait side, and the portrait cut out upright (pure
numpy; the face in it is found and described by ``kiosk.liveness.identity``).

The second-generation resident ID card (85.6 x 54 mm, GA 467) prints its labels in a column
on the left and the holder's photograph on the right. The labels the OCR read (``姓名``,
``性别``, ``民族``, ``出生``, ``住址``, ``公民身份号码``) are anchors of known position on the
card: from two or more of them a similarity transform (scale, rotation, shift) maps card
millimetres onto the image, whatever the card's size, position or turn in the photo (upside
down included). The region ``PORTRAIT_MM``, a margin around the printed photograph, is then
sampled upright into its own image, and the face detector searches only there: the holder's
own face beside the card, or any other face in the photograph, is never taken for the
portrait.

Without two anchors that agree (``MAX_RESIDUAL_MM``) the portrait is not located, and no
face is searched: the check that needs it goes to a human.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

import numpy as np

from kiosk.idcard.fields import CardSide
from kiosk.idcard.ocr import TextBox

# The left end, halfway up, of each label's text line, in card millimetres from the card's
# top-left corner (the published layout as kiosk.testing.idcards draws it).
ANCHORS_MM: dict[str, tuple[float, float]] = {
    "姓名": (5.5, 7.8), "性别": (5.5, 14.3), "民族": (24.5, 14.3), "出生": (5.5, 20.8),
    "住址": (5.5, 27.3), "公民身份号码": (5.5, 45.8),
}
# The printed photograph is 26 x 32 mm from (55.5, 6.0); the region adds a margin for a
# misplaced anchor and for cards whose photograph sits a little differently.
PORTRAIT_MM = (50.5, 2.0, 85.0, 42.0)  # x0, y0, x1, y1
MAX_RESIDUAL_MM = 4.0  # anchors farther than this from where the fit puts them disagree
MIN_SPAN_MM = 6.0  # anchors closer than this give no reliable scale or turn
MAX_PX_PER_MM = 12.0  # the crop is never sampled finer than this (dlib needs ~80 px a face)


@dataclass(frozen=True)
class CardFrame:
    """Card millimetres to image pixels: ``image = scale * R(angle) @ mm + shift``.

    ``anchors`` names the labels used; ``residual_mm`` is the largest misfit of one of them.
    """

    scale: float  # pixels per millimetre
    angle: float  # radians; about pi when the card is upside down
    shift: tuple[float, float]
    anchors: tuple[str, ...]
    residual_mm: float

    def to_image(self, x_mm: np.ndarray, y_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = math.cos(self.angle), math.sin(self.angle)
        x = self.scale * (c * x_mm - s * y_mm) + self.shift[0]
        y = self.scale * (s * x_mm + c * y_mm) + self.shift[1]
        return x, y


def _label_start(box: TextBox, upside_down: bool) -> tuple[float, float]:
    """The text's left end, halfway up, in pixels. The engine's corners start at the image's
    top-left, so for a card upside down the text starts at the box's image-right edge."""
    q = box.quad
    a, b = (q[1], q[2]) if upside_down else (q[0], q[3])
    return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2


def _anchors(side: CardSide) -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
    """(label, card mm, image px) of each label that begins a text box (once per label)."""
    seen: dict[str, tuple[str, tuple[float, float], tuple[float, float]]] = {}
    for box in side.boxes:
        text = "".join(unicodedata.normalize("NFKC", box.text).split())
        for label, mm in ANCHORS_MM.items():
            if text.startswith(label) and label not in seen:
                seen[label] = (label, mm, _label_start(box, side.upside_down))
    return list(seen.values())


def locate_card(side: CardSide) -> CardFrame | None:
    """The card's frame in the image of a portrait side, from its labels' text boxes; None
    when fewer than two labels begin a box, they lie too close together, or they disagree
    with the layout (a misfit above ``MAX_RESIDUAL_MM``)."""
    if side.side != "front":
        return None
    found = _anchors(side)
    if len(found) < 2:
        return None
    mm = np.array([complex(*m) for _, m, _ in found])
    px = np.array([complex(*p) for _, _, p in found])
    if max(abs(a - b) for a in mm for b in mm) < MIN_SPAN_MM:
        return None
    # Least squares of px = a * mm + b over complex numbers (a: scale and turn, b: shift).
    mm_c, px_c = mm - mm.mean(), px - px.mean()
    a = complex(np.vdot(mm_c, px_c) / np.vdot(mm_c, mm_c))
    b = complex(px.mean() - a * mm.mean())
    if abs(a) < 1e-6:
        return None
    residual = float(np.max(np.abs(a * mm + b - px))) / abs(a)
    if residual > MAX_RESIDUAL_MM:
        return None
    return CardFrame(abs(a), math.atan2(a.imag, a.real), (b.real, b.imag),
                     tuple(label for label, _, _ in found), residual)


def layout_misfit(side: CardSide) -> bool:
    """Whether three or more of the portrait side's labels begin text boxes but lie where no
    card puts them (``locate_card`` finds no fit): a form or a printout with the card's
    words, not the card (two labels always fit)."""
    return side.side == "front" and len(_anchors(side)) >= 3 and locate_card(side) is None


def portrait_crop(rgb: np.ndarray, frame: CardFrame) -> np.ndarray:
    """The ``PORTRAIT_MM`` region of ``rgb`` (H, W, 3) uint8, sampled upright (bilinear) at
    the image's own resolution (at most ``MAX_PX_PER_MM``); parts off the image are grey.
    ValueError when ``rgb`` is not an RGB uint8 image."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {rgb.shape} {rgb.dtype}")
    x0, y0, x1, y1 = PORTRAIT_MM
    k = min(frame.scale, MAX_PX_PER_MM)
    w, h = max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k))
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
    sx, sy = frame.to_image(x0 + (gx + 0.5) / k, y0 + (gy + 0.5) / k)
    sx, sy = sx - 0.5, sy - 0.5
    H, W = rgb.shape[:2]
    inside = (sx >= 0) & (sy >= 0) & (sx <= W - 1) & (sy <= H - 1)
    sx, sy = np.clip(sx, 0, W - 1), np.clip(sy, 0, H - 1)
    ix, iy = np.minimum(sx.astype(int), W - 2 if W > 1 else 0), \
        np.minimum(sy.astype(int), H - 2 if H > 1 else 0)
    fx, fy = (sx - ix)[..., None], (sy - iy)[..., None]
    img = rgb.astype(np.float32)
    jx, jy = np.minimum(ix + 1, W - 1), np.minimum(iy + 1, H - 1)
    top = img[iy, ix] * (1 - fx) + img[iy, jx] * fx
    bottom = img[jy, ix] * (1 - fx) + img[jy, jx] * fx
    out = top * (1 - fy) + bottom * fy
    out[~inside] = 128.0
    return np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))
