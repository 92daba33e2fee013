"""The broker's ID photo (and ID card images, ``kiosk.idcard``): checked from its header,
decoded bounded; masked card images encoded (``encode_jpeg``). The only module of the service
that imports Pillow.

A PNG or JPEG states its size in a few header bytes, and a tiny file can claim 16000x16000
pixels (a 275 KB PNG that decodes to 768 MB). So the size is read from the header without
decoding (``Image.open`` is lazy) and refused over ``max_side`` on either side, both at upload
(``inspect_photo``) and when the photo is used (``load_photo_rgb``). A JPEG is then decoded at
a reduced scale when it is large (``Image.draft``), turned the way its EXIF orientation says
(a phone stores a portrait photo sideways with Orientation 6 or 8), and every photo is shrunk
to at most ``DESCRIBE_SIDE`` pixels before it reaches dlib. Messages name the file, never its
folder.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = ("JPEG", "PNG")
MAX_SIDE = 4096  # default cap on each side (16.8 MP): a scanned ID card is far smaller
DESCRIBE_SIDE = 1024  # dlib needs a face of ~150 px; larger photos only cost time and memory


class PhotoTooLarge(ValueError):
    """The photo's bytes or pixels exceed a configured cap; the message names the cap."""


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) a PNG's IHDR or a JPEG's frame header states, or None (not found).

    A JPEG with several frame headers (a crafted one: 16x16, then 60000x60000) gives the
    largest it declares, the one a refusal must name (#13 t13c row 5)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:2] != b"\xff\xd8":
        return None
    largest: tuple[int, int] | None = None
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _JPEG_SOF and i + 9 <= len(data):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            if largest is None or w * h > largest[0] * largest[1]:
                largest = (int(w), int(h))
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    return largest


def _open(data: bytes, name: str, max_side: int,
          setting: str = "max_id_photo_side") -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError:  # Pillow's own guard, far above ours
        # Its message names Pillow's internal limit; the sender needs the image's own size.
        size = header_size(data)
        states = (f"is {size[0]}x{size[1]} pixels" if size
                  else f"states more than {2 * (Image.MAX_IMAGE_PIXELS or 0)} pixels")
        raise PhotoTooLarge(f"{name} {states}; the limit is {max_side}x{max_side} ({setting})"
                            ) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise ValueError(f"{name} is not a readable JPEG or PNG image") from None
    if img.format not in FORMATS:
        raise ValueError(f"{name} must be a JPEG or PNG image, not {img.format}")
    return img


def _check_size(img: Image.Image, name: str, max_side: int,
                setting: str = "max_id_photo_side", data: bytes | None = None) -> tuple[int, int]:
    """Pillow's size, and with ``data`` also the largest size any frame header declares:
    Pillow takes the last of several JPEG frame headers, so a crafted file declaring
    60000x60000 and then 16x16 passed on Pillow's size alone (#13 t13d)."""
    w, h = img.size
    if w < 1 or h < 1:
        raise ValueError(f"{name} has no pixels ({w}x{h})")
    declared = header_size(data) if data is not None else None
    for sw, sh in ((w, h), declared or (0, 0)):
        if sw > max_side or sh > max_side:
            raise PhotoTooLarge(f"{name} is {sw}x{sh} pixels; the limit is "
                                f"{max_side}x{max_side} ({setting})")
    return w, h


def inspect_photo(data: bytes, max_side: int = MAX_SIDE,
                  name: str = "id_photo") -> tuple[str, int, int]:
    """(format, width, height) of a JPEG or PNG, from its header, without decoding pixels.

    PhotoTooLarge over ``max_side`` on either side; ValueError when it is not a readable
    JPEG or PNG.
    """
    img = _open(data, name, max_side)
    w, h = _check_size(img, name, max_side, data=data)
    return str(img.format), w, h


def load_photo_rgb(path: Path | str, max_side: int = MAX_SIDE, max_bytes: int = 20_000_000,
                   out_side: int = DESCRIBE_SIDE) -> np.ndarray:
    """The photo at ``path`` as an RGB uint8 array (H, W, 3), at most ``out_side`` a side.

    The size is checked from the header before any decoding (PhotoTooLarge), so memory stays
    bounded by ``max_side``² × 3 bytes at worst, and a large JPEG is decoded at a reduced
    scale. ValueError, naming the file only, when it cannot be read.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise PhotoTooLarge(f"{path.name} is {size} bytes; the limit is {max_bytes}")
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path.name}: cannot be read ({exc.strerror})") from None
    return decode_rgb(data, path.name, max_side, out_side)


def encode_jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    """An RGB uint8 array (H, W, 3) as baseline JPEG bytes (no metadata: nothing of the
    original file's EXIF, such as a place or a device, is carried over)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {rgb.shape} {rgb.dtype}")
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def decode_rgb(data: bytes, name: str, max_side: int = MAX_SIDE, out_side: int = DESCRIBE_SIDE,
               max_bytes: int | None = None, setting: str = "max_id_photo_side",
               max_png_pixels: int | None = None) -> np.ndarray:
    """JPEG or PNG bytes as an RGB uint8 array (H, W, 3), at most ``out_side`` a side.

    Refused before any pixel is decoded: over ``max_bytes`` (when given) or over ``max_side``
    pixels a side as the header states (PhotoTooLarge, naming ``setting``), and a PNG over
    ``max_png_pixels`` pixels in all (when given): a PNG is decoded in full, so a small file of
    8192x8192 16-bit RGBA, inside the side cap, would take about 300 MB. A large JPEG is
    decoded at a reduced scale, then turned upright as its EXIF orientation says (the pixels
    returned are the picture as its camera meant it). ValueError, naming ``name`` only, when it
    cannot be read (a truncated or corrupt file included).
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise PhotoTooLarge(f"{name} is {len(data)} bytes; the limit is {max_bytes}")
    img = _open(data, name, max_side, setting)
    w, h = _check_size(img, name, max_side, setting, data=data)
    if max_png_pixels is not None and img.format == "PNG" and w * h > max_png_pixels:
        raise PhotoTooLarge(f"{name} is a PNG of {w}x{h} pixels ({w * h / 1e6:.1f} MP); the "
                            f"limit for a PNG is {max_png_pixels / 1e6:g} MP ({setting}; send "
                            "a JPEG, or a smaller scan)")
    try:
        if img.format == "JPEG":
            img.draft("RGB", (out_side, out_side))  # decode at 1/2, 1/4 or 1/8 scale
        img = ImageOps.exif_transpose(img).convert("RGB")
        img.thumbnail((out_side, out_side))
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError, KeyError,
            TypeError):  # a corrupt file, or its EXIF
        raise ValueError(f"{name} is not a readable JPEG or PNG image") from None
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
