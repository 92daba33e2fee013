"""The witness timeline: an append-only, hash-chained JSONL file on the recording's clock.

Every event is one JSON line::

    {"seq": 3, "t": 4.512, "wall": "2026-11-24T21:00:00.123Z", "type": "step_started",
     "data": {...}, "prev": "<hash of event seq-1>", "hash": "<sha256 of this event>"}

``t`` is seconds on the session's media clock (the clock the recording's timestamps use);
``hash`` is the sha256 of the canonical JSON of the event without its ``hash`` field, and
``prev`` is the previous event's hash (64 zeros for the first). Editing, removing or swapping
any event breaks the chain at a known index.

Events the investor's page causes (``PAGE_REPORTED``) cannot grow the timeline without bound:
an event of such a type identical to one already written (``display_prefs``: identical to the
current prefs) is counted, not written, and at most ``PAGE_REPORTED_CAP`` of each type are
written. ``close()`` then writes one ``repeats_counted`` event with the counts.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kiosk.atomic_files import FILE_MODE, is_disk_full, storage_full, write_atomic
from kiosk.protocol import TimelineEvent
from kiosk.utc import utc_iso

GENESIS = "0" * 64

# Event types whose number the investor's page decides (repeats of one report are counted).
PAGE_REPORTED = frozenset({
    TimelineEvent.DISPLAY_PREFS, TimelineEvent.PROMPT_STARTED, TimelineEvent.PROMPT_ENDED,
    TimelineEvent.PROMPT_BLOCKED, TimelineEvent.PROMPT_REPLAYED, TimelineEvent.CLIENT_ERROR,
    TimelineEvent.OFFER_REFUSED, TimelineEvent.CANDIDATES_DROPPED,
})
# Of these, a value that only says what is current: a change back is a change, so only a
# repeat of the current value is counted.
CURRENT_VALUE = frozenset({TimelineEvent.DISPLAY_PREFS})
PAGE_REPORTED_CAP = 50  # written per type per session; the rest are only counted


def canonical_json(obj) -> bytes:
    """The byte form that is hashed and signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: dict) -> str:
    """sha256 hex of an event without its own ``hash`` field."""
    body = {k: v for k, v in event.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()




class MediaClock:
    """Seconds since the session's media origin, on ``time.monotonic``.

    The recorder stamps every packet on this clock too, so an event's ``t`` is the position in
    the recording where it happened.
    """

    def __init__(self, origin: float | None = None):
        self.origin = time.monotonic() if origin is None else origin

    def now(self) -> float:
        return round(time.monotonic() - self.origin, 4)


@dataclass(frozen=True)
class ChainBreak:
    index: int
    reason: str


def verify_chain(events: list[dict]) -> ChainBreak | None:
    """First place where the hash chain does not hold, or None."""
    prev = GENESIS
    for i, ev in enumerate(events):
        if ev.get("seq") != i:
            return ChainBreak(
                i, f"event {i}: seq is {ev.get('seq')!r}, expected {i} (removed or reordered)")
        if ev.get("prev") != prev:
            return ChainBreak(
                i, f"event {i}: prev hash does not match event {i - 1} (removed or reordered)")
        if event_hash(ev) != ev.get("hash"):
            return ChainBreak(i, f"event {i}: content does not match its hash (edited)")
        prev = ev["hash"]
    return None


@dataclass(frozen=True)
class TimelineScan:
    """Every readable event of a timeline file and what could not be read.

    ``events``: the events in file order (each a dict), lines that could not be read left out.
    ``problems``: one short text per unreadable line ("line 7: not valid JSON"), or one
    "file missing" / "not a file" / "cannot read" text; empty for a sound file.
    """

    events: list[dict]
    problems: list[str]


def _line_event(line: bytes) -> tuple[dict | None, str]:
    """The event one timeline line holds, or (None, why it is not one)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"byte 0x{line[exc.start]:02x} is not valid UTF-8"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None, "not valid JSON (torn or edited)"
    if not isinstance(value, dict):
        return None, f"a JSON {type(value).__name__}, not an event object"
    return value, ""


def scan_timeline(path: Path) -> TimelineScan:
    """Read every line of a timeline file, past damaged ones; never raises for bad content.

    For readers that must see all that is left (the pre-review): a torn or edited line in the
    middle of the file hides none of the events after it, and each unreadable line, or a
    missing file, is named in ``problems`` (line numbers are 1-based).
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return TimelineScan([], ["file missing"])
    except IsADirectoryError:
        return TimelineScan([], ["not a file"])
    except OSError as exc:
        return TimelineScan([], [f"cannot read ({exc.strerror or type(exc).__name__})"])
    events: list[dict] = []
    problems: list[str] = []
    for n, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        event, why = _line_event(line.strip())
        if event is None:
            problems.append(f"line {n}: {why}")
        else:
            events.append(event)
    return TimelineScan(events, problems)


def read_timeline(path: Path) -> list[dict]:
    """The complete events at the start of a timeline file, up to the first line that is not
    one (a torn last line after a crash): a prefix of the file's lines, as the writer and the
    sealer need it. Never raises for bad content (invalid UTF-8, a line that is JSON but not
    an object); [] for a missing file. See :func:`scan_timeline` to read past damage."""
    events: list[dict] = []
    if not path.exists():
        return events
    for line in path.read_bytes().splitlines():
        line = line.strip()
        if not line:
            continue
        event, _why = _line_event(line)
        if event is None:
            break  # only the last line can be torn by a crash
        events.append(event)
    return events


def relative_paths(value, roots: list[str]):
    """``value`` with every string's ``<root>/`` prefix removed (``<root>`` alone becomes
    ``.``), in nested dicts and lists too: exception messages that embed a session file's
    absolute path are recorded with the path relative to the session folder."""
    if isinstance(value, str):
        for root in roots:
            if root in value:
                value = value.replace(root + os.sep, "").replace(root, ".")
            # A message cut short (``str(exc)[:300]``) may end inside a root: drop that part.
            i = value.find(os.sep)
            while i != -1:
                if len(value) - i > 1 and root.startswith(value[i:]):
                    value = value[:i] + "…"
                    break
                i = value.find(os.sep, i + 1)
        return value
    if isinstance(value, dict):
        return {k: relative_paths(v, roots) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [relative_paths(v, roots) for v in value]
    return value


def _lines(events: list[dict]) -> bytes:
    return "".join(json.dumps(ev, ensure_ascii=False) + "\n" for ev in events).encode("utf-8")


class TimelineWriter:
    """Appends chained events to ``timeline.jsonl``; each line is written and fsynced.

    A write that fails (StorageFull when the disk is full) leaves the file as it was and the
    writer usable: the event is not on the timeline, and the caller decides what that means.
    """

    def __init__(self, path: Path, clock: MediaClock):
        self.path = path
        self.clock = clock
        # The session folder as text, both as given and resolved: recorded strings name
        # files relative to it, never by the server's absolute paths.
        folder = Path(path).parent
        self._roots = sorted({str(folder), str(folder.resolve())}, key=len, reverse=True)
        self._lock = threading.Lock()
        self._written: dict[str, set[str]] = {}  # page-reported type -> hashes of its data
        self._n_written: dict[str, int] = {}
        self._current: dict[str, str] = {}  # CURRENT_VALUE type -> hash of the last data
        self._repeated: dict[str, int] = {}
        self._over_cap: dict[str, int] = {}
        existing = read_timeline(path)
        self._seq = len(existing)
        self._prev = existing[-1]["hash"] if existing else GENESIS
        if path.exists() and path.read_bytes() != _lines(existing):
            # Drop a torn tail so the next append starts on a fresh line; write-then-rename,
            # so a full disk leaves the old file, never an empty one (StorageFull).
            write_atomic(path, _lines(existing))
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)

    def append(self, type_: TimelineEvent, data: dict | None = None,
               t: float | None = None) -> dict | None:
        """Write one event and return it; None when it is a counted repeat (``PAGE_REPORTED``).

        ValueError once closed. ``type_`` is typed as a ``kiosk.protocol.TimelineEvent`` so
        that mypy refuses a misspelled one in the package; it is written (and returned) as the
        plain string it equals.
        """
        name = str(type_)
        with self._lock:
            digest = None
            if name in PAGE_REPORTED:
                digest = hashlib.sha256(canonical_json(data or {})).hexdigest()
                if self._counted(name, digest):
                    return None
            event = {
                "seq": self._seq,
                "t": self.clock.now() if t is None else t,
                "wall": utc_iso(),
                "type": name,
                "data": relative_paths(data or {}, self._roots),
                "prev": self._prev,
            }
            event["hash"] = event_hash(event)
            if self._fd is None:
                raise ValueError(f"timeline {self.path} is closed")
            self._write_line((json.dumps(event, ensure_ascii=False) + "\n").encode("utf-8"))
            self._seq += 1
            self._prev = event["hash"]
            if digest is not None:
                self._note_written(name, digest)
            return event

    def _write_line(self, line: bytes) -> None:
        """Append ``line`` and fsync it, or leave the file as it was and raise.

        Unbuffered, so a failed write leaves nothing behind to be flushed later; a partial
        line is cut off again, so the next append (once there is space) starts on a fresh
        line and the chain goes on. StorageFull when the disk is full.
        """
        assert self._fd is not None
        start = os.fstat(self._fd).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, start)  # shrinking needs no space
            except OSError:
                pass  # then reading stops at the torn line, as after a crash
            if is_disk_full(exc):
                raise storage_full(self.path, exc) from exc
            raise

    def _counted(self, type_: str, digest: str) -> bool:
        """True if this page report is only counted (a repeat, or over the cap)."""
        if type_ in CURRENT_VALUE:
            repeat = self._current.get(type_) == digest
        else:
            repeat = digest in self._written.get(type_, ())
        if repeat:
            self._repeated[type_] = self._repeated.get(type_, 0) + 1
            return True
        if self._n_written.get(type_, 0) >= PAGE_REPORTED_CAP:
            self._over_cap[type_] = self._over_cap.get(type_, 0) + 1
            return True
        return False

    def _note_written(self, type_: str, digest: str) -> None:
        self._n_written[type_] = self._n_written.get(type_, 0) + 1
        self._written.setdefault(type_, set()).add(digest)
        self._current[type_] = digest

    @property
    def counted(self) -> dict[str, dict[str, int]]:
        """Page reports not written so far: ``{"repeated": {type: n}, "over_cap": {type: n}}``."""
        with self._lock:
            return {"repeated": dict(sorted(self._repeated.items())),
                    "over_cap": dict(sorted(self._over_cap.items()))}

    @property
    def events(self) -> list[dict]:
        return read_timeline(self.path)

    def close(self) -> None:
        """Write ``repeats_counted`` if any page report was only counted, then close."""
        counted = self.counted
        if (counted["repeated"] or counted["over_cap"]) and self._fd is not None:
            try:
                self.append(TimelineEvent.REPEATS_COUNTED, counted)
            except OSError:  # a full disk: the counts are lost, the timeline stays whole
                pass
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    @property
    def closed(self) -> bool:
        return self._fd is None
