"""The runner's side of an ``id_document`` step: the card shown on camera, read like an upload.

``LiveCard`` owns the session's ``kiosk.idcard.observer.CardObserver`` (frames in, hints and
sides out). Like the face and voice observers it holds no reference to the timeline or the
page: what the investor should see travels through ``LiveCardReports`` (the observer's hint,
the side due now), which the runner turns into ``hint {code}`` and
``card_side {step, side, index, total}`` messages. Otherwise:

- when a side closes, its best frames (the card cut out, best first) go to the card worker
  (``kiosk.idcard.worker``, the OCR thread the ``PUT /id-card`` API uses) as one job that
  reads them in turn (``kiosk.witness.id_card.read_job``: the same decoding, OCR, masking
  and portrait description as an upload) until one reads as that side with every check
  passing, and keeps the reading with the fewest doubts (``_read_best``);
- when the step is judged, ``read`` closes the window and waits for the readings, writing
  nothing (the step judge calls it; the readings travel in its ``Judgement``);
- the runner then has them kept with ``keep``: every side read with ``record_side``
  (``source: live``) and every side not read noted with ``record_capture`` as needing a
  human, with the reason (the same ``card.json``, evidence and review as cards the broker
  sends). ``keep`` returns the step's outcome and the ``id_card_captured`` data of each side,
  which the runner records.

The step's outcome: ``pass`` when every side was read and no check failed, ``flag`` when a
check failed on what was read, ``unverified`` (a human decides; the witness goes on) when a
side had no usable frame or could not be read. Never a pass without a reading.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kiosk.atomic_files import is_disk_full
from kiosk.idcard.fields import BACK_FIELDS, FRONT_FIELDS
from kiosk.idcard.observer import CardObserver, CardReports, SideCapture
from kiosk.idcard.reader import CardImageError, CardLimits
from kiosk.idcard.worker import CardWorker, OcrBusy, shared_worker
from kiosk.identity.checks import CheckResult, IdentityAuthority, Status, check_validity
from kiosk.liveness.id_photo import encode_jpeg
from kiosk.protocol import HintCode, StepOutcome
from kiosk.session import PlannedStep
from kiosk.witness.id_card import (
    CAPTURE_NEEDS_HUMAN,
    CAPTURE_READ,
    SideRead,
    front_checks,
    read_job,
    record_capture,
    record_side,
)

log = logging.getLogger(__name__)

JPEG_QUALITY = 92  # the card cut out of a frame, as handed to the reader


@dataclass(frozen=True)
class CardSettings:
    """What the capture needs of the server's settings (``kiosk.config.Settings``)."""

    id_mask: str = "keep_last4"
    max_bytes: int = 8_000_000
    max_side: int = 8192
    queue: int = 4
    timeout_seconds: float = 60.0

    @classmethod
    def of(cls, settings) -> CardSettings:
        return cls(settings.id_mask, settings.max_id_card_bytes, settings.max_id_card_side,
                   settings.id_card_queue, settings.id_card_timeout_seconds)


@dataclass(frozen=True)
class LiveCardReports:
    """Where a ``LiveCard`` reports what the investor should see (on the card observer's
    thread, never on the media loop); the runner turns each report into a page message."""

    # The hint for the latest frame (None: the card is fine now).
    hint: Callable[[HintCode | None], None]
    # The side to show now: (step id, side, index, total).
    side_due: Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class SideReading:
    """One side as the step judge found it: ``read`` the worker's reading (None: none, and
    ``reason`` says why) and ``rank`` the best frame's rank among the side's frames."""

    capture: SideCapture
    read: SideRead | None = field(repr=False)
    rank: int | None
    reason: str | None


@dataclass(frozen=True)
class CardReadings:
    """What the card capture of one step read, not yet kept (``LiveCard.keep`` keeps it):
    the step id and each side shown, in order."""

    step: str
    sides: tuple[SideReading, ...]


@dataclass(frozen=True)
class CardKept:
    """The readings as kept: the step's ``outcome`` and ``detail`` (for ``step_result``) and
    the ``id_card_captured`` data of each side, in order, for the runner to record."""

    outcome: StepOutcome
    detail: dict
    captured: tuple[dict, ...]


@dataclass
class _Side:
    capture: SideCapture
    future: Future | None = None
    error: str | None = None


def side_checks(read: SideRead, applicant: dict, day: date) -> list[CheckResult]:
    """The checks ``record_side`` would keep for ``read`` (the front's text and portrait
    checks, or the back's validity)."""
    if read.want == "front":
        return front_checks(read, applicant, day)
    return [check_validity(read.side.fields, day, back_received=True)]


def _doubts(checks: list[CheckResult]) -> int:
    """How many of a reading's checks did not pass on what was read (a portrait that could
    not be compared is not the reading's fault and does not count)."""
    return sum(1 for c in checks if c.status != Status.PASS
               and c.name != "portrait_matches_face")


def _missing(read: SideRead) -> int:
    """How many of the side's printed fields the reading did not find (a ``nation`` whose
    label was misread on one frame of a moving card, CI 2026-12-01)."""
    printed = FRONT_FIELDS if read.want == "front" else BACK_FIELDS
    return sum(1 for name in printed if name not in read.side.fields)


def _read_best(capture: SideCapture, settings: CardSettings, face_photo: Path | None,
               applicant: dict | None = None, day: date | None = None):
    """The worker's job: the side's best frames read in turn, as ``(SideRead, rank)``.

    The first frame that reads as that side with every check passing is kept at once. A
    reading with a check that did not pass (a birth date misread under glare, a name cut
    by a finger) is read again on the next best frame, up to every kept frame, and the
    reading with the fewest such checks is kept (the earliest on a tie): one frame's
    misread is not the card's. A card that really disagrees with itself or the applicant
    disagrees on every frame, so this never turns a true mismatch into a pass. A reading
    that passes but missed one of the side's printed fields is likewise read again, and on
    equal doubts the reading with fewer fields missing is kept. The reading's ``extra``
    says how many frames were read (``frames_read``), the doubts of each
    (``doubts_per_frame``, None for a frame that did not read as the side) and the fields
    each missed (``missing_per_frame``). The last frame's CardImageError when none reads
    as the side."""
    limits = CardLimits(max_bytes=settings.max_bytes, max_side=settings.max_side)
    want = applicant if applicant is not None else {}
    today = day or date.today()

    def job(reader):
        last: CardImageError | None = None
        best: tuple[tuple[int, int], SideRead, int] | None = None
        doubts: list[int | None] = []
        missing: list[int | None] = []
        for rank, picked in enumerate(capture.best):
            data = encode_jpeg(picked.card, quality=JPEG_QUALITY)
            try:
                read = read_job(data, capture.side, mask=settings.id_mask, limits=limits,
                                face_photo=face_photo)(reader)
            except CardImageError as exc:
                last = exc
                doubts.append(None)
                missing.append(None)
                continue
            key = (_doubts(side_checks(read, want, today)), _missing(read))
            doubts.append(key[0])
            missing.append(key[1])
            if best is None or key < best[0]:
                best = (key, read, rank)
            if key == (0, 0):
                break
        if best is None:
            assert last is not None  # a job is only made for a side with frames
            raise last
        _, read, rank = best
        read.extra["frames_read"] = len(doubts)
        read.extra["doubts_per_frame"] = doubts
        read.extra["missing_per_frame"] = missing
        return read, rank

    return job


class LiveCard:
    """The card capture of one witness session.

    ``reports`` are the runner's (what the page should show); ``applicant()`` the session's
    applicant as the broker sent it (read when the step is judged and when its readings are
    kept); ``worker`` the card reader (None: the process-wide one).
    """

    def __init__(self, session_id: str, session_dir: Path, settings: CardSettings,
                 applicant: Callable[[], dict], reports: LiveCardReports,
                 authority: IdentityAuthority | None = None, worker: CardWorker | None = None,
                 max_fps: float = 8.0) -> None:
        self.session_id = session_id
        self.dir = Path(session_dir)
        self.settings = settings
        self.applicant = applicant
        self.reports = reports
        self.authority = authority
        self._worker = worker
        self._sides: dict[str, _Side] = {}
        self.observer = CardObserver(session_id, CardReports(
            hint=reports.hint, side_due=reports.side_due, side_done=self._side_done),
            max_fps=max_fps)

    @property
    def watching(self) -> bool:
        """A card step's window is open (the face's framing hints then make no sense)."""
        return self.observer.watching

    def submit(self, frame, t: float) -> None:
        """A decoded video frame at media time ``t`` (from the media loop: cheap)."""
        self.observer.submit(frame, t)

    def start(self, seq: int, step: PlannedStep, t: float) -> None:
        """The window ``seq`` of ``step`` opened at media time ``t``."""
        self._sides = {}
        self.observer.start(seq, step.id, step.sides or ("front", "back"),
                            float(step.side_seconds or 8.0), t)

    def stop(self) -> None:
        self.observer.stop()

    # ------------------------------------------------------------------ observer's reports

    def _side_done(self, capture: SideCapture) -> None:
        entry = _Side(capture)
        self._sides[capture.side] = entry
        if capture.best:
            self._submit(entry)

    def _submit(self, entry: _Side) -> None:
        worker = self._worker or shared_worker(self.settings.queue)
        try:
            entry.future = worker.submit(_read_best(entry.capture, self.settings,
                                                    _photo(self.dir), self.applicant()))
        except OcrBusy:
            entry.future = None  # tried again when the step is judged

    # ------------------------------------------------------------------ the judging

    def read(self, step: PlannedStep, seq: int, t: float) -> CardReadings | None:
        """Close window ``seq`` of ``step`` at media time ``t`` and wait for the readings
        (at most ``timeout_seconds`` a side); writes nothing. None when the capture was not
        running for that window."""
        captures = self.observer.finish(seq, t)
        if not captures:
            return None
        id_type = self.applicant().get("id_type", "prc_resident_id")
        sides = []
        for capture in captures:
            entry = self._sides.get(capture.side) or _Side(capture)
            read, rank, reason = None, None, capture.reason
            if id_type != "prc_resident_id":
                reason = f"only the PRC resident ID card is read; this session's id_type is " \
                         f"{id_type}"
            elif capture.best:
                read, rank, reason = self._wait(entry)
            sides.append(SideReading(capture, read, rank, reason))
        return CardReadings(step.id, tuple(sides))

    def keep(self, readings: CardReadings) -> CardKept:
        """Keep ``readings`` in ``card.json`` (the runner calls it, after the judge): each
        side read with ``record_side``, each with ``record_capture``. A side that cannot be
        written (OSError, StorageFull among them) needs a human, with the reason. Returns the
        step's outcome and each side's ``id_card_captured`` data."""
        applicant = self.applicant()
        sides: list[dict] = []
        captured: list[dict] = []
        card: dict | None = None
        for reading in readings.sides:
            capture = reading.capture
            status, reason = CAPTURE_NEEDS_HUMAN, reading.reason
            detail: dict = {"step": readings.step, "frames": capture.summary,
                            "window": [round(capture.start, 3), round(capture.end, 3)]}
            try:
                if reading.read is not None:
                    card = record_side(self.dir, reading.read, applicant,
                                       mask=self.settings.id_mask, day=date.today(),
                                       authority=self.authority, source="live")
                    status = CAPTURE_READ
                    detail["frame_rank"] = reading.rank
                    detail["frames_read"] = reading.read.extra.get("frames_read", 1)
                    detail["doubts_per_frame"] = reading.read.extra.get("doubts_per_frame")
                    detail["missing_per_frame"] = reading.read.extra.get("missing_per_frame")
                card = record_capture(self.dir, capture.side, status, detail, reason)
            except OSError as exc:  # StorageFull among them: the runner's own writes end it
                if is_disk_full(exc):  # the runner says the full disk once for the session
                    log.info("the card side was not kept: the data disk is full")
                else:
                    log.error("the card side could not be kept: %s", type(exc).__name__,
                              exc_info=exc)
                status, reason = CAPTURE_NEEDS_HUMAN, f"not kept: {type(exc).__name__}"
            captured.append({
                "step": readings.step, "side": capture.side, "status": status,
                "reason": reason, "frames_seen": capture.summary["frames_seen"],
                "frames_usable": capture.summary["frames_usable"]})
            sides.append({"side": capture.side, "status": status, "reason": reason})
        outcome, detail = _outcome(sides, card)
        return CardKept(outcome, detail, tuple(captured))

    def _wait(self, entry: _Side) -> tuple[SideRead | None, int | None, str | None]:
        """The side's reading: (read, frame rank, None) or (None, None, why not)."""
        if entry.future is None:
            try:
                entry.future = (self._worker or shared_worker(self.settings.queue)).submit(
                    _read_best(entry.capture, self.settings, _photo(self.dir),
                               self.applicant()))
            except OcrBusy as exc:
                return None, None, f"the card reader was busy: {exc}"
        try:
            read, rank = entry.future.result(timeout=self.settings.timeout_seconds)
        except FutureTimeout:
            return None, None, (f"not read within {self.settings.timeout_seconds:.0f} s "
                                "(id_card_timeout_seconds)")
        except CardImageError as exc:
            n = len(entry.capture.best)
            # The reader's words are an upload's ("send the emblem side as the back"); an
            # auditor of a live capture is told what was shown on camera.
            why = ("they show the card's other side (it was not turned over in time)"
                   if exc.code == "wrong_side" else str(exc))
            return None, None, f"none of the {n} best frames read as the card's " \
                               f"{entry.capture.side}: {why}"
        except Exception as exc:  # the reader broke: a human reads the card
            log.exception("reading the card side failed")
            return None, None, f"the card reader failed: {type(exc).__name__}"
        return read, rank, None


def _photo(folder: Path) -> Path | None:
    return next((folder / f"id_photo.{e}" for e in ("jpg", "png")
                 if (folder / f"id_photo.{e}").is_file()), None)


def _outcome(sides: list[dict], card: dict | None) -> tuple[StepOutcome, dict]:
    detail: dict = {"engine": "rapidocr+opencv", "sides": sides,
                    "card_overall": card.get("overall") if card else None}
    missing = [s for s in sides if s["status"] != CAPTURE_READ]
    if missing:
        detail["reason"] = "; ".join(f"{s['side']}: {s['reason']}" for s in missing)
        return StepOutcome.UNVERIFIED, detail
    failed = [c["name"] for c in (card or {}).get("checks", []) if c.get("status") == "fail"]
    if failed:
        detail["failed_checks"] = failed
        return StepOutcome.FLAG, detail
    return StepOutcome.PASS, detail
