"""Mask the ID number and the address on a card image kept as evidence (pure numpy).

The ``id_mask`` setting says how evidence shows the ID number (``kiosk.evidence.package.
mask_id_number``): ``keep_last4`` (the last four characters stay readable), ``full`` or
``none``. On a card image the same setting applies to where the number was read, and every
mask but ``none`` also covers the address. Regions come from the OCR text boxes
(``CardField.regions``), padded so that ascenders and a slightly misplaced box are covered;
on the portrait side every other text box holding six digits or more in a row is covered too.

A side whose number or address cannot be located is not masked by guesswork: ``MaskError``
says which, and the caller keeps no image of it (the fields and checks are kept). Nor is one
whose number's text box does not run along its own top edge (a box at least ``MIN_LINE_RATIO``
times as long as it is high): such a box is a line read sideways, and the share of it that
``keep_last4`` leaves would be measured across the line, not along it.
"""

from __future__ import annotations

import math
import re

import numpy as np

from kiosk.idcard.fields import CardSide, Region

MASKS = ("keep_last4", "full", "none")
FILL = (40, 40, 40)  # the mask's colour: dark grey, plainly not part of the card
_PAD_DOWN = 0.35  # of the box height, above and below
_PAD_ALONG = 0.3  # of the box height (a twentieth of one character at the keep_last4 boundary)
_UNCLIP = 0.25  # the text detector's box margin at each end, as a share of the box height
MIN_LINE_RATIO = 2.0  # an ID number's box is about ten times as long as it is high
_DIGITS = re.compile(r"[0-9OoDIl|iZSB]{6,}")


class MaskError(ValueError):
    """A region that must be masked could not be located on the image."""


def _sub_quad(quad, a: float, b: float, upside_down: bool, pad_end: float | None = None
              ) -> np.ndarray:
    """The part of a text box between reading fractions ``a`` and ``b``, padded (4, 2)."""
    q = np.asarray(quad, np.float64)
    if q.shape != (4, 2):
        raise MaskError(f"a text box needs 4 corners, got {q.shape}")
    if upside_down:  # the engine's corners start at the image's top-left: text runs backwards
        a, b = 1.0 - b, 1.0 - a
    top, bottom = q[1] - q[0], q[2] - q[3]
    length = max(float(np.hypot(*top)), 1.0)
    height = max(float(np.hypot(*(q[3] - q[0]))), 1.0)
    u = top / length
    v = (q[3] - q[0]) / height
    pd, pa = _PAD_DOWN * height, _PAD_ALONG * height
    pa_a = pa_b = pa
    if pad_end is not None:  # keep_last4: pad toward the kept digits by a share of one char
        if upside_down:
            pa_a = pad_end
        else:
            pa_b = pad_end
    p_a, p_b = q[0] + top * a, q[0] + top * b
    r_a, r_b = q[3] + bottom * a, q[3] + bottom * b
    return np.array([p_a - u * pa_a - v * pd, p_b + u * pa_b - v * pd,
                     r_b + u * pa_b + v * pd, r_a - u * pa_a + v * pd])


def fill_polygon(img: np.ndarray, poly: np.ndarray, color=FILL) -> None:
    """Paint the convex polygon ``poly`` (N, 2; x, y pixels) on ``img`` (H, W, 3) in place."""
    h, w = img.shape[:2]
    x0, y0 = np.floor(poly.min(axis=0)).astype(int)
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
    if x1 < x0 or y1 < y0:
        return
    ys, xs = np.mgrid[y0:y1 + 1, x0:x1 + 1]
    px, py = xs + 0.5, ys + 0.5
    inside_pos = np.ones(xs.shape, bool)
    inside_neg = np.ones(xs.shape, bool)
    n = len(poly)
    for i in range(n):
        (ax, ay), (bx, by) = poly[i], poly[(i + 1) % n]
        cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
        inside_pos &= cross >= 0
        inside_neg &= cross <= 0
    img[y0:y1 + 1, x0:x1 + 1][inside_pos | inside_neg] = color


def _number_polys(regions: tuple[Region, ...], value: str, mask: str,
                  upside_down: bool) -> list[np.ndarray]:
    polys = []
    keep = mask == "keep_last4" and len(value) > 4 and len(regions) == 1
    for r in regions:
        if not keep:
            polys.append(_sub_quad(r.quad, r.start, r.end, upside_down))
            continue
        # The detector's box runs past the text at both ends by about a quarter of its
        # height (its "unclip" margin): characters are placed on the text between.
        q = np.asarray(r.quad, np.float64)
        length = max(math.hypot(*(q[1] - q[0])), 1.0)
        margin = _UNCLIP * math.hypot(*(q[3] - q[0])) / length
        a = max(r.start, margin) if r.start == 0.0 else r.start
        b = min(r.end, 1.0 - margin) if r.end == 1.0 else r.end
        cut = a + (b - a) * (len(value) - 4) / len(value)
        char = length * (b - a) / len(value)
        polys.append(_sub_quad(r.quad, r.start, cut, upside_down, pad_end=0.05 * char))
    return polys


def mask_card(rgb: np.ndarray, side: CardSide, mask: str) -> tuple[np.ndarray, list[str]]:
    """A masked copy of ``rgb`` (the image ``side`` was read from) and the names of what was
    masked (``id_number``, ``address``, ``digits``). ``mask`` is the ``id_mask`` setting.

    ValueError for an unknown mask; MaskError when the portrait side's number or address
    was not located (nothing is returned then: no half-masked image exists)."""
    if mask not in MASKS:
        raise ValueError(f"unknown ID number mask {mask!r}; use one of {', '.join(MASKS)}")
    out = np.array(rgb, dtype=np.uint8, copy=True)
    if mask == "none" or side.side != "front":
        return out, []
    done: list[str] = []
    polys: list[np.ndarray] = []
    number = side.fields.get("id_number")
    if number is None or not number.regions:
        raise MaskError("the ID number was not located on the portrait side")
    for r in number.regions:
        (x0, y0), (x1, y1), _, (x3, y3) = r.quad
        if math.hypot(x1 - x0, y1 - y0) < MIN_LINE_RATIO * math.hypot(x3 - x0, y3 - y0):
            raise MaskError("the ID number's text was not read as a line along the card")
    polys += _number_polys(number.regions, number.value, mask, side.upside_down)
    done.append("id_number")
    address = side.fields.get("address")
    if address is None or not address.regions:
        raise MaskError("the address was not located on the portrait side")
    polys += [_sub_quad(r.quad, r.start, r.end, side.upside_down) for r in address.regions]
    done.append("address")
    own = {r.quad for r in number.regions}
    extra = [b for b in side.boxes if b.quad not in own and _DIGITS.search(b.text)
             and sum(c.isdigit() for c in b.text) >= 6]
    polys += [_sub_quad(b.quad, 0.0, 1.0, side.upside_down) for b in extra]
    if extra:
        done.append("digits")
    for p in polys:
        fill_polygon(out, p)
    return out, done
