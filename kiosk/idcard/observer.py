"""Watching the ID card held up to the camera during an ``id_document`` step, off the loop.

``CardObserver`` gets the same decoded video frames as the face observer. Outside an
``id_document`` window ``submit`` drops them at once; inside one it keeps a reference to the
newest frame only (older unanalysed ones are dropped, never queued) and its own thread
converts and scores at most ``max_fps`` frames a second (``kiosk.idcard.frames``). The
window is split into the step's sides, ``seconds`` each, on the media clock: frames are
given to the side whose time they fall in, and a side closes when a frame arrives after its
time, or when the window closes (``finish``). Like the face observer it holds no reference
to the witness: it reports through ``CardReports`` (the hint for the latest frame, the side
due now, each side closed with its best frames), and the runner decides what to do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kiosk.idcard.frames import CardFramePicker, PickedFrame
from kiosk.logs import session_context
from kiosk.media.frames import RgbConverter
from kiosk.protocol import HintCode

log = logging.getLogger(__name__)

MAX_RGB_WIDTH = 1280  # frames are converted no wider than this (the card is read from it)
HINT_EVERY_S = 1.0  # the same hint is repeated at most this often


@dataclass(frozen=True)
class SideCapture:
    """One card side as captured live: ``best`` the usable frames kept, best first (empty:
    none was usable, ``reason`` says why), ``summary`` what was seen (JSON-ready), ``start``
    and ``end`` its media times (s)."""

    step: str
    side: str
    start: float
    end: float
    best: tuple[PickedFrame, ...] = field(repr=False)
    summary: dict
    reason: str | None


@dataclass(frozen=True)
class CardReports:
    """Where a ``CardObserver`` reports, on its own thread or on the caller of ``finish``;
    never on the media loop."""

    # The hint for the latest frame (None: the card is fine now).
    hint: Callable[[HintCode | None], None]
    # The side to show now: (step id, side, index, total).
    side_due: Callable[[str, str, int, int], None]
    # A side is closed: its capture.
    side_done: Callable[[SideCapture], None]


class _Window:
    def __init__(self, seq: int, step: str, sides: Sequence[str], seconds: float, start: float,
                 keep: int) -> None:
        self.seq, self.step, self.sides = seq, step, list(sides)
        self.seconds, self.start, self.keep = seconds, start, keep
        self.index = 0
        self.picker = CardFramePicker(keep)
        self.captures: list[SideCapture] = []

    @property
    def open(self) -> bool:
        return self.index < len(self.sides)

    def side_end(self) -> float:
        return self.start + self.seconds * (self.index + 1)

    def close_side(self, t: float) -> SideCapture:
        p = self.picker
        frames = p.to_read
        capture = SideCapture(self.step, self.sides[self.index],
                              self.start + self.seconds * self.index, t, tuple(frames),
                              p.summary(), None if frames else p.unusable_reason())
        self.captures.append(capture)
        self.index += 1
        # The next side's frames that still show this one are left out (a slow turn).
        self.picker = CardFramePicker(self.keep, [f.score.signature for f in frames
                                                  if f.score.signature is not None])
        return capture


class CardObserver:
    """One investor's card, watched on its own thread."""

    def __init__(self, session_id: str, reports: CardReports, max_fps: float = 8.0,
                 keep: int = 3) -> None:
        """``max_fps``: frames scored a second at most (media clock; 0: every frame the thread
        keeps up with); ``keep``: the best frames kept per side."""
        self.session_id = session_id
        self.reports = reports
        self.max_fps = max_fps
        self.keep = keep
        self.received = 0
        self.dropped = 0
        self.analysed = 0
        self._cond = threading.Condition()
        self._lock = threading.Lock()  # the window and its picker
        self._pending: tuple[object, float] | None = None
        self._window: _Window | None = None
        self._stopping = False
        self._last_t = float("-inf")
        self._last_hint: tuple[HintCode | None, float] = (None, 0.0)
        # Its own scaler: the face observer converts the same frames on its thread.
        self._converter = RgbConverter(MAX_RGB_WIDTH)
        self._thread = threading.Thread(target=self._run, name=f"kiosk-card-{session_id[:8]}",
                                        daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ from the loop

    def submit(self, frame, t: float) -> None:
        """Keep the newest frame while a card is being watched; otherwise drop it."""
        if self._window is None:  # a plain read: a stale answer only drops one frame
            return
        with self._cond:
            self.received += 1
            if self._pending is not None:
                self.dropped += 1
            self._pending = (frame, t)
            self._cond.notify()

    @property
    def watching(self) -> bool:
        """A card window is open."""
        return self._window is not None

    # ------------------------------------------------------------------ the session's calls

    def start(self, seq: int, step: str, sides: Sequence[str], seconds: float,
              t: float) -> None:
        """Window ``seq`` of step ``step`` opened at media time ``t``: ``sides`` (front,
        back) in turn, ``seconds`` each. ValueError for no sides or seconds <= 0."""
        if not sides or seconds <= 0:
            raise ValueError(f"need sides and seconds > 0, got {list(sides)}, {seconds}")
        with self._lock:
            self._window = _Window(seq, step, sides, seconds, t, self.keep)
        self._last_hint = (None, 0.0)
        self.reports.side_due(step, sides[0], 0, len(sides))

    def finish(self, seq: int, t: float) -> list[SideCapture]:
        """Close window ``seq`` at media time ``t``: every side not yet closed is closed now
        (and reported). Returns every side's capture of the window ([] for another seq)."""
        done: list[SideCapture] = []
        with self._lock:
            w = self._window
            if w is None or w.seq != seq:
                return []
            while w.open:
                done.append(w.close_side(t))
            self._window = None
            captures = list(w.captures)
        with self._cond:
            self._pending = None
        for capture in done:
            self.reports.side_done(capture)
        self.reports.hint(None)
        return captures

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread (the session is over)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)

    # ------------------------------------------------------------------ the worker

    def _run(self) -> None:
        with session_context(self.session_id):
            while True:
                with self._cond:
                    while self._pending is None and not self._stopping:
                        self._cond.wait()
                    if self._stopping:
                        return
                    assert self._pending is not None
                    frame, t = self._pending
                    self._pending = None
                if self.max_fps > 0 and t - self._last_t < 1.0 / self.max_fps - 0.005:
                    continue
                self._last_t = t
                try:
                    rgb = self._converter.rgb(frame)
                    self._feed(rgb, t)
                except Exception as exc:  # an unreadable frame: note it and go on
                    log.warning("card frame not analysed: %s", type(exc).__name__)

    def _feed(self, rgb: np.ndarray, t: float) -> None:
        closed: list[SideCapture] = []
        due: tuple[str, str, int, int] | None = None
        hint: HintCode | None = None
        scored = False
        with self._lock:
            w = self._window
            if w is None or t < w.start:
                return
            while w.open and t >= w.side_end():
                closed.append(w.close_side(w.side_end()))
                if w.open:
                    due = (w.step, w.sides[w.index], w.index, len(w.sides))
            if w.open:
                hint = w.picker.feed(rgb, t).hint
                scored = True
                self.analysed += 1
        for capture in closed:
            self.reports.side_done(capture)
        if due is not None:
            self._last_hint = (None, 0.0)
            self.reports.side_due(*due)
        if scored:
            self._hint(hint)

    def _hint(self, code: HintCode | None) -> None:
        last_code, last_at = self._last_hint
        now = time.monotonic()
        if code == last_code and (code is None or now - last_at < HINT_EVERY_S):
            return
        self._last_hint = (code, now)
        self.reports.hint(code)

