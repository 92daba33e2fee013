"""The applicant's ID card sent by the broker: read, masked, cross-checked, kept for evidence.

``read_job`` is what the card worker (``kiosk.idcard.worker``) runs for one image: bounded
decoding, OCR, the fields, the masked image (``kiosk.idcard.mask``, per the ``id_mask``
setting) and, on the portrait side, the portrait against the broker's ID photo when one was
sent. ``record_side`` then writes what the session keeps, in its folder::

    id_card/front.jpg  id_card/back.jpg   the images as masked (never the originals)
    id_card/card.json                     fields with confidences, every check, the authority

Nothing unmasked is written: the number read is kept as ``id_mask`` shows it, the address
(under every mask but ``none``) as asterisks. The checks that need the unmasked values are
computed when their side arrives, against the applicant as the broker sent it, and kept as
results. Sealing copies ``id_card/`` into the package (``kiosk.evidence.package``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from kiosk.atomic_files import make_private_dir, write_atomic, write_json_atomic
from kiosk.evidence.package import mask_id_number
from kiosk.idcard.fields import CardSide
from kiosk.idcard.mask import MaskError, mask_card
from kiosk.idcard.ocr import TextReader
from kiosk.idcard.reader import CardLimits, read_side
from kiosk.identity.checks import (
    CheckResult,
    IdentityAuthority,
    Status,
    check_authority,
    check_validity,
    cross_check,
    overall,
    portrait_distance,
)
from kiosk.liveness.id_photo import encode_jpeg, load_photo_rgb
from kiosk.utc import utc_iso

log = logging.getLogger(__name__)

FORMAT = "witness-kiosk-idcard/1"
FOLDER = "id_card"
CARD_JSON = "card.json"
SIDES = ("front", "back")
ENGINE = "rapidocr-onnxruntime 1.4.4 (PP-OCRv4)"
CHECK_ORDER = ("id_number_valid", "id_number_matches_applicant", "birth_date_matches_number",
               "sex_matches_number", "name_matches_applicant", "card_not_expired",
               "portrait_matches_face", "authority")
FRONT_CHECKS = CHECK_ORDER[:5] + ("portrait_matches_face",)
_write_lock = threading.Lock()  # one writer of card.json at a time in this process


@dataclass
class SideRead:
    """One image as read by the worker (no unmasked pixels leave it): ``jpeg`` the masked
    image (None: withheld, ``withheld`` says why), ``portrait`` (found, distance) or None when
    there was no ID photo to compare."""

    want: str
    side: CardSide
    jpeg: bytes | None
    withheld: str | None
    masked: list[str]
    sha256: str
    size: int
    seconds: float
    portrait: tuple[bool, float | None] | None = None
    extra: dict = field(default_factory=dict)


def read_job(data: bytes, want: str, *, mask: str, limits: CardLimits,
             face_photo: Path | None = None) -> Callable[[TextReader], SideRead]:
    """The worker's job for one image (``want``: ``front`` or ``back``). The job raises the
    reader's ``CardImageError`` subclasses (their messages name ``id_card.<want>``)."""
    if want not in SIDES:
        raise ValueError(f"side must be 'front' or 'back', got {want!r}")

    def job(reader: TextReader) -> SideRead:
        t0 = time.perf_counter()
        side, rgb = read_side(data, want, f"id_card.{want}", reader, limits)
        withheld = None
        jpeg = None
        masked: list[str] = []
        try:
            out, masked = mask_card(rgb, side, mask)
            jpeg = encode_jpeg(out)
        except MaskError as exc:
            withheld = f"image not kept: {exc}, so it could not be masked"
        portrait = None
        if want == "front" and face_photo is not None:
            portrait = _portrait(rgb, face_photo)
        return SideRead(want, side, jpeg, withheld, masked, hashlib.sha256(data).hexdigest(),
                        len(data), time.perf_counter() - t0, portrait)

    return job


def _portrait(card_rgb: np.ndarray, face_photo: Path) -> tuple[bool, float | None]:
    try:
        face = load_photo_rgb(face_photo)
    except ValueError:
        return False, None
    return portrait_distance(card_rgb, face)


def _field_docs(side: CardSide, mask: str) -> dict:
    out = {}
    for name, f in side.fields.items():
        value = f.value
        if name == "id_number":
            value = mask_id_number(value, mask)
        elif name == "address" and mask != "none":
            value = "*" * len(value)
        out[name] = {"value": value, "confidence": f.confidence, "labelled": f.labelled}
    return out


def _front_checks(read: SideRead, applicant: dict, day: date) -> list[CheckResult]:
    found, distance = read.portrait if read.portrait is not None else (None, None)
    results = cross_check(read.side.fields, day=day, applicant_name=applicant.get("name"),
                          applicant_number=applicant.get("id_number"),
                          portrait_distance=distance, portrait_found=found)
    out = []
    for r in results:
        if r.name not in FRONT_CHECKS:
            continue
        if r.name == "portrait_matches_face":
            r = (CheckResult(r.name, r.status, r.detail + " (the card's portrait against the "
                             "broker's ID photo)") if read.portrait is not None
                 else CheckResult(r.name, Status.NOT_CHECKED,
                                  "no ID photo was sent to compare with the card's portrait; "
                                  "the reviewer compares it with the live face"))
        out.append(r)
    return out


def _missing(name: str, side: str) -> CheckResult:
    what = "portrait side (front)" if side == "front" else "emblem side (back)"
    return CheckResult(name, Status.NOT_CHECKED, f"the card's {what} was not sent")


def card_path(session_dir: Path) -> Path:
    return Path(session_dir) / FOLDER / CARD_JSON


def load_card(session_dir: Path) -> dict | None:
    """The session's ``id_card/card.json``, or None when no card image was received."""
    try:
        return json.loads(card_path(session_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def record_side(session_dir: Path, read: SideRead, applicant: dict, *, mask: str,
                day: date, authority: IdentityAuthority | None = None) -> dict:
    """Keep one side in ``session_dir/id_card/`` and return the updated ``card.json``.

    ``applicant`` is the session's applicant as the broker sent it (full number: sealing
    has not happened yet); ``day`` the witness day. A side sent again replaces the earlier
    one. StorageFull when the disk is full.
    """
    folder = make_private_dir(Path(session_dir) / FOLDER)
    with _write_lock:
        card = load_card(session_dir) or {"format": FORMAT, "document": "prc_resident_id",
                                          "engine": ENGINE, "front": None, "back": None}
        image = f"{FOLDER}/{read.want}.jpg"
        if read.jpeg is not None:
            write_atomic(folder / f"{read.want}.jpg", read.jpeg)
        else:
            (folder / f"{read.want}.jpg").unlink(missing_ok=True)
        checks = (_front_checks(read, applicant, day) if read.want == "front"
                  else [check_validity(read.side.fields, day)])
        card[read.want] = {
            "received_at": utc_iso(), "bytes": read.size, "sha256": read.sha256,
            "image": image if read.jpeg is not None else None,
            "image_withheld": read.withheld, "masked": read.masked,
            "upside_down": read.side.upside_down, "seconds": round(read.seconds, 3),
            "fields": _field_docs(read.side, mask),
            "checks": [c.to_dict() for c in checks],
        }
        by_name: dict[str, dict] = {}
        for s in SIDES:
            doc = card.get(s)
            names = FRONT_CHECKS if s == "front" else ("card_not_expired",)
            for name in names:
                by_name[name] = next((c for c in (doc or {}).get("checks", [])
                                      if c["name"] == name), _missing(name, s).to_dict())
        auth = check_authority(authority, applicant.get("name"), applicant.get("id_number"))
        by_name["authority"] = auth.to_dict()
        card["checks"] = [by_name[n] for n in CHECK_ORDER]
        card["overall"] = overall([CheckResult(c["name"], Status(c["status"]), c["detail"])
                                   for c in card["checks"]]).value
        card["authority"] = {"configured": authority is not None,
                             "name": authority.name if authority is not None else None,
                             "result": auth.to_dict()}
        card["id_mask"] = mask
        card["updated_at"] = utc_iso()
        write_json_atomic(card_path(session_dir), card)
    log.info("ID card %s read in %.2f s: %d fields, upside down %s, %s, overall %s",
             read.want, read.seconds, len(read.side.fields), read.side.upside_down,
             "image withheld" if read.jpeg is None else f"masked {','.join(read.masked) or '-'}",
             card["overall"], extra={"session": Path(session_dir).name})
    return card
