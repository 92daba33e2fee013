"""A photo of a screen showing the card (a recapture or replay attack), judged from pixels.

A card shown on a phone or monitor and photographed again carries the screen's own pattern:
its pixels are red, green and blue subpixel stripes with dark gaps between them, which the
camera's sensor samples at its own pitch. The two grids beat against each other (moiré): on
a neutral card the beat shows as bands of false colour, and the grid itself leaves sharp,
isolated peaks in the image's spectrum. A printed card photographed has neither: its colour
changes where its printed edges are, and its spectrum falls off smoothly.

``screen_signs(rgb)`` measures the first on the image the OCR reads:

- **colour moiré** (``chroma_ratio``): the energy of the chroma channels (B-Y, R-Y) in a band
  of fine detail (a difference of Gaussians, 1 and 3 pixels) over the luma's energy in the
  same band. A genuine card's colour edges follow its text (blue labels, black text: small);
  moiré makes colour stripes where the luma is flat (large);
- the grid's spectral peaks were tried too (the strongest high-frequency peak in 128-pixel
  tiles over the mean power at its radius) and are **not** used: the synthetic cards' own
  printed background waves and text rows peaked up to 484x on genuine photos, screens from
  68x, so they told nothing apart.

``ScreenSigns.screen`` applies a limit **tuned on synthetic renders only**
(``kiosk.testing.idcards.photograph_screen`` against ``photograph``'s seven distortions;
figures in docs/identity.md). A real screen photographed by a real phone can look otherwise
(a high-density screen with a lens that smooths its grid shows little moiré), so a hit sends
the card to a human, and no hit is no proof: the check never rejects, and its pass means
only "no sign of a screen was found".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kiosk.idcard import vision

CHROMA_RATIO_LIMIT = 0.25  # colour moiré: chroma band energy over luma band energy
MIN_SIDE = 200  # an image smaller than this a side is not judged


@dataclass(frozen=True)
class ScreenSigns:
    """What was measured (JSON-ready with ``to_dict``) and the verdict. ``judged`` is False
    when the image was too small to tell (then ``screen`` is False and means nothing)."""

    chroma_ratio: float
    judged: bool = True

    @property
    def screen(self) -> bool:
        """A sign of a screen: the colour moiré is over its limit."""
        return self.judged and self.chroma_ratio > CHROMA_RATIO_LIMIT

    def to_dict(self) -> dict:
        """JSON-ready: ``chroma_ratio``, ``limit``, ``judged``, ``screen``."""
        return {"chroma_ratio": round(self.chroma_ratio, 3), "limit": CHROMA_RATIO_LIMIT,
                "judged": self.judged, "screen": self.screen}


def _band(channel: np.ndarray) -> np.ndarray:
    return vision.gaussian_blur(channel, 1.0) - vision.gaussian_blur(channel, 3.0)


def chroma_ratio(rgb: np.ndarray) -> float:
    """Fine-detail energy of the chroma over that of the luma (>= 0)."""
    f = rgb.astype(np.float32)
    y = 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]
    cb, cr = f[..., 2] - y, f[..., 0] - y
    ey = float(np.mean(_band(y) ** 2))
    ec = float(np.mean(_band(cb) ** 2) + np.mean(_band(cr) ** 2))
    return ec / (ey + 1e-6)


def screen_signs(rgb: np.ndarray) -> ScreenSigns:
    """Measure ``rgb`` (H, W, 3 uint8, the image as the OCR read it). ValueError for
    another shape."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
    if min(rgb.shape[:2]) < MIN_SIDE:
        return ScreenSigns(0.0, judged=False)
    return ScreenSigns(chroma_ratio(rgb))
