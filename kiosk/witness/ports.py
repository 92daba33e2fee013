"""The ports a ``WitnessRunner`` runs its effects through, as typed ``Protocol``s.

The runner only dispatches events to ``kiosk.session`` and carries out the effects it returns;
every piece of I/O goes through one of these. The server passes the real ones (the chained
timeline file, the investor's socket, ``threading.Timer``s, the guide's TTS, the aiortc peer,
the judge of the face and voice observers and the card capture); a test may pass its own.

Only the runner calls ``Timeline.append`` and ``PageChannel.emit`` (and ``kiosk.witness.
finalise``, for the end the runner writes): what is below it (observers, peer, judge) reports
through callbacks or return values (``tests/test_one_writer.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from kiosk.guide import Prompt
from kiosk.protocol import ServerEvent, StepOutcome, TimelineEvent
from kiosk.session import PlannedStep

if TYPE_CHECKING:
    from kiosk.media.peer_session import PeerSession
    from kiosk.witness.live_card import CardReadings


class Timeline(Protocol):
    """The session's hash-chained evidence timeline (``kiosk.timeline.TimelineWriter``)."""

    def append(self, type_: TimelineEvent, data: dict | None = None,
               t: float | None = None) -> dict | None:
        """Write one event of type ``type_`` at media time ``t`` (now if None); None for a
        counted repeat. ValueError once closed, OSError when it cannot be written."""
        ...

    def close(self) -> None: ...


class PageChannel(Protocol):
    """The investor's page: server -> page messages (``kiosk.protocol.ServerEvent``)."""

    def emit(self, event: ServerEvent, data: dict) -> None: ...


class Timers(Protocol):
    """Named one-shot timers; starting a name again replaces its timer."""

    def start(self, name: str, seconds: float, fire: Callable[[], None]) -> None: ...

    def cancel(self, name: str) -> None: ...

    def cancel_all(self) -> None: ...


class Guide(Protocol):
    """The guide's voice (``kiosk.guide.GuideVoice``)."""

    def render(self, text: str, locale: str, rate: int | None = None,
               spoken: str | None = None) -> Prompt:
        """The prompt's audio for ``text``; GuideError when it cannot be rendered."""
        ...

    def prerender(self, items: list[tuple]) -> object:
        """Render ``(text, locale, spoken)`` items in the background."""
        ...


class MediaPeer(Protocol):
    """The investor's media connection (``kiosk.media.peer.LoopPeer``). The runner is its
    only user: it hands the peer its session with the offer, and the peer reports through
    that session's callbacks (first frame, loss, decoded frames for the observers)."""

    def accept(self, offer_sdp: str, session: PeerSession) -> str:
        """Answer the offer (blocking); returns the answer's SDP. SignallingError when the
        offer cannot be answered; any other exception is a failure of the media layer."""
        ...

    def close(self) -> None:
        """Stop receiving and close the recording (blocking; idempotent; may raise)."""
        ...

    def received(self) -> dict:
        """What the recorder counted while receiving (packets missing, key frame requests
        ...: ``kiosk.media.peer.RECEIVED_COUNTS``); ``{}`` when nothing was recorded."""
        ...


@dataclass(frozen=True)
class Judgement:
    """What a ``StepJudge`` made of a window. The runner writes it: ``outcome`` and ``detail``
    go to the state machine (``step_result``); ``answer``, when not None, is recorded as
    ``answer_recognised`` (a question's answer: decision, intent, transcript, span, score,
    engine, negation); ``shown``, when not None, is sent to the page as ``recognised``
    (``{step, text, intent, outcome}``); ``card``, when not None, is what the card capture
    read (``kiosk.witness.live_card.CardReadings``): the runner keeps it in ``card.json``,
    records ``id_card_captured`` for each side, and the step's outcome and detail become those
    of what was kept (``outcome`` stays only if it cannot be kept)."""

    outcome: StepOutcome
    detail: dict
    answer: dict | None = None
    shown: dict | None = None
    card: CardReadings | None = None


class StepJudge(Protocol):
    """Judges a step's observation window ``(t0, t1)`` (media seconds) and returns a
    ``Judgement``; it writes nothing itself (only the runner writes the timeline and talks to
    the page). May block (recognition); it runs on a worker thread, never under the session's
    lock."""

    def judge(self, step: PlannedStep, window: tuple[float, float], seq: int,
              attempt: int) -> Judgement: ...


class ThreadTimers:
    """``Timers`` on ``threading.Timer`` (daemon threads named after the session)."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._timers: dict[str, threading.Timer] = {}
        self._lock = threading.Lock()

    def start(self, name: str, seconds: float, fire: Callable[[], None]) -> None:
        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        timer.name = f"kiosk-timer-{name}-{self._label}"
        with self._lock:
            old = self._timers.pop(name, None)
            self._timers[name] = timer
        if old is not None:
            old.cancel()
        timer.start()

    def cancel(self, name: str) -> None:
        with self._lock:
            old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()

    def cancel_all(self) -> None:
        with self._lock:
            timers, self._timers = list(self._timers.values()), {}
        for timer in timers:
            timer.cancel()
