"""The applicant's ID card sent by the broker: read, masked, cross-checked, kept for evidence.

``read_job`` is what the card worker (``kiosk.idcard.worker``) runs for one image: bounded
decoding, OCR, the fields, the masked image (``kiosk.idcard.mask``, per the ``id_mask``
setting) and, on the portrait side, the portrait against the broker's ID photo when one was
sent. ``record_side`` then writes what the session keeps, in its folder::

    id_card/front.jpg  id_card/back.jpg   the images as masked (never the originals)
    id_card/card.json                     fields with confidences, every check, the authority
    id_card/portrait.npy                  the card portrait's face descriptor (never sealed)

Nothing unmasked is written: the number read is kept as ``id_mask`` shows it, the address
(under every mask but ``none``) as asterisks. The checks that need the unmasked values are
computed when their side arrives, against the applicant as the broker sent it, and kept as
results. Sealing copies ``id_card/`` into the package (``kiosk.evidence.package``).

The card's portrait against the live face (``card_portrait_matches_live_face``) needs both,
and either may come first: the front may be sent before the investor joins or while the
face is watched, and the face analysis ends with the session. So the portrait's descriptor
is kept (``portrait.npy``, a working file: the package copies named files only) and the
live face is kept by the face observer (``kiosk.liveness.live_face``); whichever arrives
second decides, and ``settle_card_portrait``, run just before sealing, decides for good:
without a live face by then the check needs a human, never a pass.
"""

from __future__ import annotations

import hashlib
import io
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
from kiosk.flows.model import CARD_SIDES
from kiosk.idcard.fields import CardSide
from kiosk.idcard.mask import MaskError, mask_card
from kiosk.idcard.ocr import TextReader
from kiosk.idcard.reader import CardLimits, read_side
from kiosk.idcard.recapture import CHROMA_RATIO_LIMIT, screen_signs
from kiosk.identity.checks import (
    LIVE_FACE_CHECK,
    CardPortrait,
    CheckResult,
    IdentityAuthority,
    Status,
    check_authority,
    check_live_face,
    check_validity,
    cross_check,
    describe_card_portrait,
    overall,
)
from kiosk.liveness.id_photo import encode_jpeg, load_photo_rgb
from kiosk.liveness.identity import descriptor_distance, shared_describer
from kiosk.liveness.live_face import read_live_face
from kiosk.liveness.session_checks import SessionCheckParams
from kiosk.store import LIVE_STATES, WitnessRow
from kiosk.utc import utc_iso

log = logging.getLogger(__name__)

FORMAT = "witness-kiosk-idcard/1"
FOLDER = "id_card"
CARD_JSON = "card.json"
SIDES = CARD_SIDES  # the flow model's card sides, front first
ENGINE = "rapidocr-onnxruntime 1.4.4 (PP-OCRv4)"
SCREEN_CHECK = "card_not_screen_photo"  # both sides' images (kiosk.idcard.recapture)
CHECK_ORDER = ("id_number_valid", "id_number_matches_applicant", "birth_date_matches_number",
               "sex_matches_number", "name_matches_applicant", "card_not_expired",
               "portrait_matches_face", LIVE_FACE_CHECK, SCREEN_CHECK, "authority")
FRONT_CHECKS = CHECK_ORDER[:5] + ("portrait_matches_face",)
PORTRAIT_FILE = "portrait.npy"
# How a side shown on camera ended (card.json "capture"): read, or a human must look.
CAPTURE_READ = "read"
CAPTURE_NEEDS_HUMAN = "needs_human"
_write_lock = threading.Lock()  # one writer of card.json at a time in this process


@dataclass
class SideRead:
    """One image as read by the worker (no unmasked pixels leave it): ``jpeg`` the masked
    image (None: withheld, ``withheld`` says why), ``portrait`` (found, distance) or None when
    there was no ID photo to compare; ``card_face`` the card portrait's descriptor (front
    only; never logged)."""

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
    card_face: CardPortrait | None = field(default=None, repr=False)


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
        portrait = card_face = None
        if want == "front":
            card_face = describe_card_portrait(rgb, side)
            if face_photo is not None:
                portrait = _portrait(card_face, face_photo)
        screen = screen_signs(rgb).to_dict()
        return SideRead(want, side, jpeg, withheld, masked, hashlib.sha256(data).hexdigest(),
                        len(data), time.perf_counter() - t0, portrait,
                        extra={"screen": screen}, card_face=card_face)

    return job


def _portrait(card: CardPortrait, face_photo: Path) -> tuple[bool, float | None]:
    """The card's portrait against the broker's ID photo: (both faces found, distance)."""
    try:
        face_rgb = load_photo_rgb(face_photo)
    except ValueError:
        return False, None
    face = shared_describer().descriptor(face_rgb, require_detection=True)
    if card.descriptor is None or face is None:
        return False, None
    return True, descriptor_distance(card.descriptor, face)


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


def front_checks(read: SideRead, applicant: dict, day: date) -> list[CheckResult]:
    """The portrait side's checks for ``read`` against ``applicant`` (the broker's name and
    number) on ``day``, in ``FRONT_CHECKS`` order: what ``record_side`` keeps."""
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


def _save_portrait(folder: Path, card_face: CardPortrait | None) -> dict:
    """Keep (or drop) the card portrait's descriptor; what ``card.json`` says of it."""
    path = folder / PORTRAIT_FILE
    if card_face is None or card_face.descriptor is None:
        path.unlink(missing_ok=True)
        problem = card_face.problem if card_face is not None else "not described"
        return {"face_found": False, "problem": problem}
    buf = io.BytesIO()
    np.save(buf, np.asarray(card_face.descriptor, dtype=np.float64), allow_pickle=False)
    write_atomic(path, buf.getvalue())
    return {"face_found": True, "problem": None}


def _load_portrait(folder: Path) -> np.ndarray | None:
    try:
        d = np.load(folder / PORTRAIT_FILE, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return d if d.shape == (128,) and np.all(np.isfinite(d)) else None


def live_face_check(session_dir: Path, card: dict, *, final: bool) -> CheckResult:
    """``card_portrait_matches_live_face`` from what the session holds now: the card's
    portrait (``card``'s front and ``portrait.npy``) and the live face (``live_face.json``).
    ``final``: the session is being sealed, so a live face not known is never coming."""
    threshold = SessionCheckParams().id_match_distance
    front = card.get("front")
    if not isinstance(front, dict):
        return _missing(LIVE_FACE_CHECK, "front")
    info = front.get("portrait") or {}
    if not info.get("face_found"):
        return check_live_face(None, threshold, str(info.get("problem") or
                                                     "the card's portrait was not described"))
    desc = _load_portrait(Path(session_dir) / FOLDER)
    if desc is None:
        return check_live_face(None, threshold, "the card portrait's descriptor is missing")
    live = read_live_face(Path(session_dir))
    if live is None:
        return check_live_face(None, threshold, (
            "no live face was seen in this session (the face analysis never ran)" if final
            else "the live face is not known yet: compared when the face analysis ends"))
    if live.template is None:
        return check_live_face(None, live.threshold or threshold, str(live.problem))
    return check_live_face(descriptor_distance(live.template, desc), live.threshold)


def _not_read(name: str, side: str, card: dict) -> CheckResult:
    """The check of a side not received: ``needs_human`` when the side was shown on camera
    and could not be read (``capture``), else ``not_checked`` (it was never sent)."""
    capture = (card.get("capture") or {}).get(side) or {}
    if capture.get("status") == CAPTURE_NEEDS_HUMAN:
        what = "portrait side (front)" if side == "front" else "emblem side (back)"
        return CheckResult(name, Status.NEEDS_HUMAN, f"the card's {what} was shown on camera "
                           f"but not read: {capture.get('reason')}")
    return _missing(name, side)


def screen_check(card: dict) -> CheckResult:
    """``card_not_screen_photo`` from the sides kept in ``card``: ``needs_human`` when a
    side's image shows colour moiré (a photo of a screen) or was too small to judge, ``pass``
    when every side kept showed none (no proof: tuned on synthetic renders only)."""
    sides = [s for s in SIDES if isinstance(card.get(s), dict)]
    if not sides:
        return _not_read(SCREEN_CHECK, "front", card)
    signs = {s: card[s].get("screen") for s in sides}
    hits = [s for s, sc in signs.items() if sc and sc.get("screen")]
    if hits:
        worst = max(signs[s]["chroma_ratio"] for s in hits)
        return CheckResult(SCREEN_CHECK, Status.NEEDS_HUMAN,
                           f"the {' and '.join(hits)} image looks like a photo of a screen: "
                           f"colour moiré {worst:.2f} of the fine detail (limit "
                           f"{CHROMA_RATIO_LIMIT}); a human must look at the card images")
    unknown = [s for s, sc in signs.items() if not sc or not sc.get("judged")]
    if unknown:
        return CheckResult(SCREEN_CHECK, Status.NEEDS_HUMAN,
                           f"the {' and '.join(unknown)} image was not judged for a screen "
                           "(too small, or read before this check existed)")
    return CheckResult(SCREEN_CHECK, Status.PASS,
                       f"no colour moiré on the {' and '.join(sides)} image (a screen "
                       "detector tuned on synthetic renders: no proof of a physical card)")


def _summarise(card: dict, live: CheckResult, auth: CheckResult | None = None) -> None:
    """``checks`` in ``CHECK_ORDER`` and ``overall``, from each side's own checks, the live
    face check ``live`` and ``auth`` (None: keep the authority result already there)."""
    by_name: dict[str, dict] = {}
    for s in SIDES:
        doc = card.get(s)
        names = FRONT_CHECKS if s == "front" else ("card_not_expired",)
        for name in names:
            by_name[name] = next((c for c in (doc or {}).get("checks", [])
                                  if c["name"] == name), _not_read(name, s, card).to_dict())
    if not isinstance(card.get("front"), dict):
        live = _not_read(LIVE_FACE_CHECK, "front", card)
    by_name[LIVE_FACE_CHECK] = live.to_dict()
    by_name[SCREEN_CHECK] = screen_check(card).to_dict()
    by_name["authority"] = (auth.to_dict() if auth is not None
                            else (card.get("authority") or {}).get("result")
                            or check_authority(None, None, None).to_dict())
    card["checks"] = [by_name[n] for n in CHECK_ORDER]
    card["overall"] = overall([CheckResult(c["name"], Status(c["status"]), c["detail"])
                               for c in card["checks"]]).value


def _ask_authority(card: dict | None, authority: IdentityAuthority | None,
                   applicant: dict) -> CheckResult:
    """The authority's answer, asked once a session: a definite answer (pass or fail) of the
    same connector, kept in ``card``, is reused when the other side arrives (such services
    are paid per query); no answer (needs_human) is asked again."""
    if authority is not None and card is not None:
        kept = card.get("authority") or {}
        result = kept.get("result") or {}
        if kept.get("name") == authority.name and result.get("status") in ("pass", "fail"):
            return CheckResult("authority", Status(result["status"]), str(result["detail"]))
    return check_authority(authority, applicant.get("name"), applicant.get("id_number"))


def takes_card_images(row: WitnessRow | None) -> bool:
    """A session takes card images until it ends: live (created or active) and not sealed."""
    return row is not None and row.state in LIVE_STATES and row.sealed_at is None


def record_side(session_dir: Path, read: SideRead, applicant: dict, *, mask: str,
                day: date, authority: IdentityAuthority | None = None,
                source: str = "api") -> dict:
    """Keep one side in ``session_dir/id_card/`` and return the updated ``card.json``.

    ``applicant`` is the session's applicant as the broker sent it (full number: sealing
    has not happened yet); ``day`` the witness day; ``authority`` the broker's connector
    (None: ``not checked: human review``), asked outside the write lock; ``source`` where
    the image came from (``api``: the broker; ``live``: the witness's video). A side sent
    again replaces the earlier one. StorageFull when the disk is full.
    """
    if source not in ("api", "live"):
        raise ValueError(f"source must be 'api' or 'live', got {source!r}")
    folder = make_private_dir(Path(session_dir) / FOLDER)
    auth = _ask_authority(load_card(session_dir), authority, applicant)
    with _write_lock:
        card = load_card(session_dir) or {"format": FORMAT, "document": "prc_resident_id",
                                          "engine": ENGINE, "front": None, "back": None}
        image = f"{FOLDER}/{read.want}.jpg"
        if read.jpeg is not None:
            write_atomic(folder / f"{read.want}.jpg", read.jpeg)
        else:
            (folder / f"{read.want}.jpg").unlink(missing_ok=True)
        checks = (front_checks(read, applicant, day) if read.want == "front"
                  else [check_validity(read.side.fields, day, back_received=True)])
        card[read.want] = {
            "received_at": utc_iso(), "source": source, "bytes": read.size,
            "sha256": read.sha256,
            "image": image if read.jpeg is not None else None,
            "image_withheld": read.withheld, "masked": read.masked,
            "upside_down": read.side.upside_down, "seconds": round(read.seconds, 3),
            "fields": _field_docs(read.side, mask),
            "checks": [c.to_dict() for c in checks],
            "screen": read.extra.get("screen"),
        }
        if read.want == "front":
            card["front"]["portrait"] = _save_portrait(folder, read.card_face)
        _summarise(card, live_face_check(session_dir, card, final=False), auth)
        card["authority"] = {"configured": authority is not None,
                             "external": getattr(authority, "external", False) is True,
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


def record_capture(session_dir: Path, side: str, status: str, detail: dict,
                   reason: str | None = None) -> dict:
    """Note how ``side`` fared when shown on camera (``card.json`` ``capture.<side>``):
    ``status`` ``read`` or ``needs_human`` (then ``reason`` says why, and that side's checks
    need a human unless the broker sent the side); ``detail`` the frames' numbers (no pixels).
    Returns the updated ``card.json``. ValueError for an unknown side or status."""
    if side not in SIDES:
        raise ValueError(f"side must be 'front' or 'back', got {side!r}")
    if status not in (CAPTURE_READ, CAPTURE_NEEDS_HUMAN):
        raise ValueError(f"status must be {CAPTURE_READ!r} or {CAPTURE_NEEDS_HUMAN!r}, "
                         f"got {status!r}")
    make_private_dir(Path(session_dir) / FOLDER)
    with _write_lock:
        card = load_card(session_dir) or {"format": FORMAT, "document": "prc_resident_id",
                                          "engine": ENGINE, "front": None, "back": None}
        card.setdefault("capture", {})[side] = {"status": status, "reason": reason,
                                                "at": utc_iso(), **detail}
        _summarise(card, live_face_check(session_dir, card, final=False))
        card["updated_at"] = utc_iso()
        write_json_atomic(card_path(session_dir), card)
    log.info("ID card %s shown on camera: %s", side, status,
             extra={"session": Path(session_dir).name})
    return card


def settle_card_portrait(session_dir: Path) -> dict | None:
    """Decide ``card_portrait_matches_live_face`` for good, just before sealing (the
    sealer's ``before_seal`` hook): with the live face kept by the face observer, or
    ``needs_human`` without one. Returns the updated ``card.json``; None without a card, or
    when it is unreadable (then it is packaged as it is and the pre-review flags it).
    Nothing about the faces is logged but the check's status."""
    with _write_lock:
        try:
            card = load_card(session_dir)
        except (OSError, ValueError):
            return None
        if not isinstance(card, dict):
            return None
        try:
            result = live_face_check(session_dir, card, final=True)
            _summarise(card, result)
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("ID card results malformed: the portrait check was not settled",
                        extra={"session": Path(session_dir).name})
            return None
        card["updated_at"] = utc_iso()
        write_json_atomic(card_path(session_dir), card)
    log.info("ID card portrait against the live face: %s", result.status.value,
             extra={"session": Path(session_dir).name})
    return card
