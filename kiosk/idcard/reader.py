"""Read a PRC resident ID card from image bytes: bounded decoding, OCR, fields.

``read_card(front_bytes, back_bytes)`` is the one entry point: the CLI calls it, and so can a
camera capture step or the API later (each hands over encoded JPEG or PNG bytes). Every image
is refused before any pixel is decoded when it is over ``CardLimits.max_bytes`` or states more
than ``max_side`` pixels a side in its header (``kiosk.liveness.id_photo.decode_rgb``), and is
decoded at most ``OCR_SIDE`` pixels a side, upright as its EXIF orientation says. A card whose
text runs up or down the image (a photo turned 90°, by its pixels or by an EXIF orientation
the camera got wrong) is turned a quarter and read again, so that its fields are read and its
number masked on an upright card (``SIDEWAYS``). Errors are ``CardImageError`` subclasses whose
``code`` a caller can route on (the session goes on to a human) and whose message names the
image, never its folder.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from kiosk.idcard.fields import BACK_LABELS, FRONT_LABELS, CardField, CardSide, parse_side
from kiosk.idcard.frames import MIN_AREA_SHARE, score_frame
from kiosk.idcard.ocr import OCR_SIDE, TextBox, TextReader, shared_reader
from kiosk.idcard.portrait import layout_misfit, locate_card
from kiosk.idcard.vision import warp_card
from kiosk.liveness.id_photo import PhotoTooLarge, decode_rgb


class CardImageError(ValueError):
    """An image that cannot be read as the card side asked for; ``code`` says why:
    ``too_large``, ``unreadable``, ``not_a_card`` or ``wrong_side``."""

    code = "unreadable"


class CardImageTooLarge(CardImageError):
    code = "too_large"


class NotACard(CardImageError):
    code = "not_a_card"


class WrongSide(CardImageError):
    code = "wrong_side"


@dataclass(frozen=True)
class CardLimits:
    """Caps applied before decoding: bytes of the encoded image, pixels a side (header), and
    pixels in all for a PNG (decoded in full; a JPEG is decoded at a reduced scale)."""

    max_bytes: int = 8_000_000
    max_side: int = 8192
    max_png_pixels: int = 16_000_000  # 4900x3260: a card scanned at 1450 dpi


@dataclass(frozen=True)
class CardReading:
    """Both sides as read. ``front_rgb`` and ``back_rgb`` are the decoded sides (H, W, 3)
    uint8 as the OCR read them, for the portrait match and the screen check (``back_rgb`` None
    without a back); ``seconds`` the wall time of decoding and OCR."""

    front: CardSide
    back: CardSide | None
    front_rgb: np.ndarray = field(repr=False, compare=False)
    seconds: float = 0.0
    back_rgb: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def fields(self) -> dict[str, CardField]:
        out = dict(self.front.fields)
        if self.back is not None:
            out.update(self.back.fields)
        return out

    def to_dict(self) -> dict:
        """JSON-ready: each field's value, confidence and whether its label was read."""
        return {
            "fields": {k: {"value": f.value, "confidence": f.confidence, "labelled": f.labelled}
                       for k, f in self.fields.items()},
            "upside_down": {"front": self.front.upside_down,
                            "back": self.back.upside_down if self.back else None},
            "seconds": round(self.seconds, 3),
        }


def decode_card_image(data: bytes, name: str, limits: CardLimits = CardLimits()) -> np.ndarray:
    """The image as RGB uint8 (H, W, 3), at most ``OCR_SIDE`` a side; CardImageTooLarge or
    CardImageError (``unreadable``) before or instead of decoding it."""
    try:
        return decode_rgb(data, name, max_side=limits.max_side, out_side=OCR_SIDE,
                          max_bytes=limits.max_bytes, setting="card image limit",
                          max_png_pixels=limits.max_png_pixels)
    except PhotoTooLarge as exc:
        raise CardImageTooLarge(str(exc)) from None
    except ValueError as exc:
        raise CardImageError(str(exc)) from None


# A line of text is sideways when its box is this much taller than wide (a line of the card
# has at least three characters, and boxes are quads from the image's top-left corner).
SIDEWAYS = 1.5


def sideways(boxes: list[TextBox]) -> bool:
    """Whether most lines of three characters or more run up or down the image."""
    lines = [b for b in boxes if len(b.text.strip()) >= 3]
    tall = sum(math.dist(b.quad[0], b.quad[3]) > SIDEWAYS * math.dist(b.quad[0], b.quad[1])
               for b in lines)
    return bool(lines) and 2 * tall > len(lines)


# A card photo the labels of which cannot be read when the image, or the card in it, is small.
MIN_IMAGE_SIDE = 480  # pixels, the image's longer side (the card's labels are then ~10 px)


def _too_small(rgb: np.ndarray) -> str:
    """Why nothing was read, when the image or the card in it is too small to read: the
    words to add to NotACard's message ("" when neither is)."""
    h, w = rgb.shape[:2]
    if max(h, w) < MIN_IMAGE_SIDE:
        return (f"; the image is only {w}x{h} pixels, too small to read a card: send a "
                f"photo at least {MIN_IMAGE_SIDE} pixels wide, the card filling most of it")
    score = score_frame(rgb)
    if score.found and score.area_share < MIN_AREA_SHARE:
        return (f"; a card-shaped outline covers only {score.area_share:.0%} of the image, "
                "too small to read: take the photo closer, the card filling most of it")
    return ""


# The card's width as its outline shows it against the width its labels' spacing gives
# (``kiosk.idcard.portrait.locate_card``): a card's own outline agrees within this ratio.
OUTLINE_WIDTH_RATIO = 1.35


def _looks_like_a_card(rgb: np.ndarray, side: CardSide) -> bool:
    """Whether an image whose text reads as the portrait side shows a card: an outline of the
    card's shape (ID-1, ``kiosk.idcard.vision.find_card``) of the width its labels' spacing
    gives the card, or (a photo cut to the card's edges, an outline not found) a face where
    the layout puts the portrait (dlib, only then). A printed form with the same labels and
    values has neither: its labels do not lie as a card's do (``layout_misfit``), or its
    boxed rows make an outline of about the card's shape but not of the card's size (#16
    retest M-7: one passed every number check)."""
    if layout_misfit(side):
        return False
    frame = locate_card(side)
    score = score_frame(rgb)
    if score.found and score.corners is not None:
        if frame is None:
            return True  # too few labels placed to say how large the card is
        c = score.corners
        sides = [float(np.linalg.norm(c[i] - c[(i + 1) % 4])) for i in range(4)]
        width = max(sides[0] + sides[2], sides[1] + sides[3]) / 2
        expected = frame.scale * 85.6
        if 1 / OUTLINE_WIDTH_RATIO <= width / expected <= OUTLINE_WIDTH_RATIO:
            return True
    if frame is None:
        return False
    from kiosk.identity.checks import describe_card_portrait  # dlib: loaded when needed

    return describe_card_portrait(rgb, side).descriptor is not None


# The card straightened from its outline (a card photographed at an angle): 10 px/mm.
STRAIGHT_SIZE = (856, 540)
# An outline whose opposite sides differ more than this (shorter / longer) is seen at a
# steep angle: its labels' spacing gives the far edge's scale, not the card's width.
STEEP_RATIO = 0.8


def _straightened(rgb: np.ndarray, reader: TextReader) -> tuple[CardSide, np.ndarray] | None:
    """The portrait side read again from the card straightened out of its outline (a
    perspective transform of the card-shaped quadrilateral to 85.6 x 54 mm), when the labels
    then lie where a card puts them at the card's own size: a card photographed at a steep
    angle (#16 retest t16c M-C: a sharp card foreshortened 30% was refused as a form). None
    when no outline was found or the straightened image does not read as the card."""
    score = score_frame(rgb)
    if not score.found or score.corners is None:
        return None
    card = np.ascontiguousarray(warp_card(rgb, score.corners, *STRAIGHT_SIZE))
    side = parse_side(reader.read(card))
    if side.side != "front" or layout_misfit(side):
        return None
    frame = locate_card(side)
    if frame is None:
        return None
    if not 1 / OUTLINE_WIDTH_RATIO <= frame.scale * 85.6 / STRAIGHT_SIZE[0] <= OUTLINE_WIDTH_RATIO:
        return None
    return side, card


def _steep(rgb: np.ndarray) -> bool:
    """Whether the card-shaped outline found is seen at a steep angle (opposite sides of
    clearly different lengths)."""
    score = score_frame(rgb)
    if not score.found or score.corners is None:
        return False
    c = score.corners
    sides = [float(np.linalg.norm(c[i] - c[(i + 1) % 4])) for i in range(4)]
    return any(min(a, b) / max(a, b, 1e-6) < STEEP_RATIO
               for a, b in ((sides[0], sides[2]), (sides[1], sides[3])))


def read_side(data: bytes, want: str, name: str, reader: TextReader | None = None,
              limits: CardLimits = CardLimits()) -> tuple[CardSide, np.ndarray]:
    """One side (``want``: ``front`` or ``back``) and its decoded pixels; NotACard when
    neither side's labels are read, WrongSide when it is the other side."""
    if want not in ("front", "back"):
        raise ValueError(f"want must be 'front' or 'back', got {want!r}")
    rgb = decode_card_image(data, name, limits)
    reader = reader or shared_reader()
    boxes = reader.read(rgb)
    if sideways(boxes):  # read it upright (upside down, if so, is handled by parse_side)
        rgb = np.ascontiguousarray(np.rot90(rgb))
        boxes = reader.read(rgb)
    side = parse_side(boxes)
    if side.side is None or (side.side == "front" and side.front_labels < 2
                             and "id_number" not in side.fields):
        raise NotACard(f"{name}: no ID card found: none of the labels of either side "
                       f"({', '.join([*FRONT_LABELS.values(), *BACK_LABELS.values()])}) "
                       f"was read{_too_small(rgb)}")
    if side.side == "front" and want == "front" and not _looks_like_a_card(rgb, side):
        straightened = _straightened(rgb, reader)
        if straightened is None:
            if _steep(rgb):
                raise NotACard(f"{name}: the card was photographed at too steep an angle to "
                               "be read as a card: hold the card parallel to the camera, all "
                               "four corners in view, and take the photo again")
            raise NotACard(f"{name}: no ID card found: the portrait side's labels were read, "
                           "but neither a card's outline (85.6 x 54 mm) nor a portrait was "
                           "found (a form or a printout of the card's words is not the card): "
                           "send a photo of the card itself, all four corners in view")
        side, rgb = straightened
    if side.side != want:
        shows = ("the emblem side (签发机关, 有效期限)" if side.side == "back"
                 else "the portrait side (姓名, 公民身份号码)")
        asked = "portrait side as the front" if want == "front" else "emblem side as the back"
        raise WrongSide(f"{name} shows {shows}; send the {asked}")
    return side, rgb


def read_card(front: bytes, back: bytes | None = None, *, reader: TextReader | None = None,
              limits: CardLimits = CardLimits(), front_name: str = "front",
              back_name: str = "back") -> CardReading:
    """Read the portrait side (``front``) and, when given, the emblem side (``back``) of a
    resident ID card from JPEG or PNG bytes. Raises CardImageError subclasses (see module)."""
    t0 = time.perf_counter()
    reader = reader or shared_reader()
    front_side, rgb = read_side(front, "front", front_name, reader, limits)
    back_side = back_rgb = None
    if back is not None:
        back_side, back_rgb = read_side(back, "back", back_name, reader, limits)
    return CardReading(front_side, back_side, rgb, time.perf_counter() - t0, back_rgb)
