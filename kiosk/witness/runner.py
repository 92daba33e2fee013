"""Runs one live witness: feeds the state machine and carries out its effects.

``WitnessRunner`` dispatches events to ``kiosk.session`` and runs the effects it returns
through its ports (``kiosk.witness.ports``): the timeline, the investor's page, timers, the
guide's voice, the media peer and the step judge. The face and voice observers and the card
capture report to it through callbacks, the judge through its ``Judgement``; only the runner
writes the timeline and talks to the page (``kiosk.web.events`` too sends the page
``joined``, ``answer`` and its refusals through the runner).

Every event for a session is applied under that session's lock, so socket handlers, timers
and media callbacks can all dispatch from their own threads.

A witness whose evidence cannot be written is over: when a timeline event or a session file
cannot be written because the data disk is full, the session ends as ``aborted:
storage_full`` (any other failed write or effect: ``failed: internal_error``). Its end (the
terminal timeline event, ``session.json``, the database row, the seal) is then written as far
as the disk allows, and what could not be is tried again every ``END_RETRY_SECONDS`` while the
server runs; after a restart, ``kiosk.recovery`` keeps the recorded cause. A full disk is said
once per session, as one WARNING naming the file (``storage_full: ...``); the writes that fail
after it, and the end's retries, are DEBUG lines, since they add nothing an operator can act
on. Any other failed write is an ERROR with its traceback.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk import session as sm
from kiosk.atomic_files import copy_atomic, is_disk_full, write_atomic
from kiosk.errors import GuideError, OutOfOrder, SignallingError
from kiosk.flows.model import shown_seconds
from kiosk.liveness.challenges import Verdict
from kiosk.liveness.observer import FaceObserver, FaceReports
from kiosk.logs import session_context
from kiosk.media.peer_session import PeerSession
from kiosk.media.turn import ice_servers_for
from kiosk.protocol import (
    ErrorCode,
    HintCode,
    PageEvent,
    ServerEvent,
    StepKind,
    StepOutcome,
    TimelineEvent,
)
from kiosk.speech.observer import VoiceObserver, expected_for
from kiosk.timeline import MediaClock, TimelineWriter
from kiosk.witness import finalise
from kiosk.witness.finalise import SessionEnd, session_meta, write_session_meta
from kiosk.witness.judge import ObserverJudge
from kiosk.witness.live_card import CardSettings, LiveCard, LiveCardReports
from kiosk.witness.plan import plan_witness, retry_prompt
from kiosk.witness.ports import (
    Guide,
    Judgement,
    MediaPeer,
    PageChannel,
    StepJudge,
    ThreadTimers,
    Timeline,
    Timers,
)

if TYPE_CHECKING:
    from kiosk.services import KioskServices
    from kiosk.store import WitnessRow

log = logging.getLogger(__name__)

# The end of a session that could not be written (full disk) is tried again this often, this
# many times (10 minutes); after that, or after a restart, kiosk.recovery finishes it.
END_RETRY_SECONDS = 10.0
END_RETRY_ATTEMPTS = 60
# After an ID card step's window closes the page says "reading the card" (it asked for the
# card until then); the face is still hidden until a moment after the step's result reaches
# the page (the OCR of the best frames runs after the window: 3-13 s under load).
CARD_LOWERED_S = 2.0
END_PARTS = frozenset(finalise.END_PARTS)
# The page's playback reports, as they are recorded.
PROMPT_REPORTS = {
    PageEvent.PROMPT_STARTED: TimelineEvent.PROMPT_STARTED,
    PageEvent.PROMPT_ENDED: TimelineEvent.PROMPT_ENDED,
    PageEvent.PROMPT_BLOCKED: TimelineEvent.PROMPT_BLOCKED,
}


def _failure_for(exc: BaseException) -> sm.Event:
    """How a session ends when writing its evidence or running an effect raised ``exc``."""
    return sm.Abort("storage_full") if is_disk_full(exc) else sm.Failure("internal_error")


class WitnessRunner:
    """One investor's live witness session.

    ``services`` gives the settings, the session store, the worker pool and the seal (the
    end's bookkeeping); ``page`` is the investor's socket. The other ports default to the
    real ones: the session folder's timeline, ``threading.Timer``s, the server's guide voice
    and the observers' judge. ``peer`` is the one passed to ``accept_offer``.
    """

    def __init__(self, services: KioskServices, row: WitnessRow, flow, sid: str,
                 page: PageChannel, *, timeline: Timeline | None = None,
                 timers: Timers | None = None, guide: Guide | None = None,
                 judge: StepJudge | None = None):
        self.services = services
        self.settings = services.settings
        self.id = row.id
        self.row = row
        self.flow = flow
        self.sid = sid
        self.locale = row.locale
        self.dir: Path = services.store.session_dir(row.id)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "prompts").mkdir(exist_ok=True)
        self.clock = MediaClock()
        self.timeline: Timeline = (timeline if timeline is not None
                                   else TimelineWriter(self.dir / "timeline.jsonl", self.clock))
        self.page = page
        self.timers: Timers = timers if timers is not None else ThreadTimers(row.id[:8])
        self.guide: Guide = guide if guide is not None else services.guide
        applicant = row.applicant
        id_number = str(applicant.get("id_number", ""))
        self.variables = {"name": applicant.get("name", ""), "id_last4": id_number[-4:]}
        self.plan = plan_witness(flow, self.locale, self.variables, random.SystemRandom())
        self.state = sm.WitnessState()
        self.peer: MediaPeer | None = None
        self.face: FaceObserver | None = None  # from the join
        self.voice: VoiceObserver | None = None  # from the join
        self.card: LiveCard | None = None  # from the join, when the flow has a card step
        self.judge: StepJudge = (judge if judge is not None else ObserverJudge(
            self, self.locale, flow.show_recognised_words, services.recognizer))
        self._lock = threading.RLock()
        self._prompts: dict[int, dict] = {}  # seq -> prompt info
        self._window_started: float | None = None
        self._card_asked_at: float | None = None  # the ID card step's prompt (media time)
        self._depth = 0  # dispatch calls on this thread's stack (under the lock)
        self._pending_end: sm.Event | None = None  # a failed write during dispatch ends it
        self._end_t: float | None = None
        self._terminal_written = False
        self._end_done: set[str] = set()  # the parts of the end already on disk
        self._end_attempts = 0
        self._disk_full_writes = 0
        self._disk_full_said = False  # the one WARNING of a full disk was logged
        self._session_end: SessionEnd | None = None  # from the first attempt to write it
        self.finalised = threading.Event()  # the end was handled (first attempt done)
        self.end_written = threading.Event()  # every part of the end is on disk (or given up)
        self.prefs = {"locale": self.locale, "speed": 1.0, "captions": True}

    # ------------------------------------------------------------------ public

    def start(self) -> None:
        """The link was consumed: write the session folder and pre-render every prompt.

        If the folder cannot be written, the session ends at once (``state.terminal``).
        """
        try:
            flow_copy = self.dir / "flow.yaml"
            if not flow_copy.exists():
                write_atomic(flow_copy, self.flow.source_text.encode("utf-8"))
            self._write_meta()
        except OSError as exc:
            self._write_failed("the session files", exc)
            return
        self.guide.prerender([(s.text, self.locale, s.spoken or None)
                                       for s in self.plan if s.text.strip()])
        self.start_observers()  # loads the face models while the investor reads the consent
        self.dispatch(sm.Joined())
        self.record(TimelineEvent.DISPLAY_PREFS, dict(self.prefs))
        self.record(TimelineEvent.WITNESS_PLANNED, {
            "flow": {"id": self.flow.id, "version": self.flow.version,
                     "hash": self.flow.content_hash},
            "locale": self.locale,
            "steps": [{"id": s.id, "kind": s.kind, "challenges": list(s.challenges),
                       "read_text_sha256": _sha(s.read_text) if s.read_text else None}
                      for s in self.plan],
        })

    def send_joined(self) -> None:
        """Tell the page it joined (``joined``: ``joined_message``)."""
        self.emit(ServerEvent.JOINED, self.joined_message())

    def refuse(self, code: ErrorCode, message: str) -> None:
        """Tell the page one of its messages was refused (``error {code, message}``); the
        witness goes on."""
        self.emit(ServerEvent.ERROR, {"code": code, "message": message})

    def joined_message(self) -> dict:
        """The page's ``joined`` message: ``{session_id, locale, steps: [{id, kind, title}],
        ice_servers}`` (as the browser's RTCIceServer: the configured ones and, with
        ``turn_urls``, a TURN entry with this session's credentials; kiosk.media.turn)."""
        return {
            "session_id": self.id,
            "locale": self.locale,
            "steps": [{"id": s.id, "kind": s.kind, "title": s.title} for s in self.plan],
            "ice_servers": [s.model_dump(exclude_none=True)
                            for s in ice_servers_for(self.settings, self.id)],
        }

    def dispatch(self, event: sm.Event) -> None:
        with session_context(self.id), self._lock:
            if self.state.terminal:
                return
            self._depth += 1
            try:
                self._apply(event, ending=False)
            finally:
                self._depth -= 1

    def _apply(self, event: sm.Event, ending: bool) -> None:
        """Transition and run the effects; a failed effect or write ends the session.

        ``ending``: ``event`` is that ending; its effects all run (the End above all), even
        when a record among them cannot be written.
        """
        self.state, effects = sm.transition(self.plan, self.state, event)
        for effect in effects:
            try:
                self._run(effect)
            except Exception as exc:
                if is_disk_full(exc):
                    self._disk_full(f"a file of effect {type(effect).__name__}")
                else:
                    log.exception("effect %s failed", type(effect).__name__)
                if not ending and not self.state.terminal:
                    self._pending_end = _failure_for(exc)
            if self._pending_end is not None and not ending:
                end, self._pending_end = self._pending_end, None
                if not self.state.terminal:
                    self._apply(end, ending=True)
                return

    def record(self, type_: TimelineEvent, data: dict | None = None) -> dict | None:
        """Append to the timeline; None if it was not written (closed, a counted repeat, or a
        failed write: that ends the session, see the module's docstring)."""
        try:
            event = self.timeline.append(type_, data)
        except ValueError:  # closed after the end: late reports are not evidence
            return None
        except OSError as exc:
            self._write_failed(f"timeline event {type_}", exc)
            return None
        if type_ in sm.TERMINAL and event is not None:
            self._terminal_written = True
        return event

    def _write_failed(self, what: str, exc: OSError) -> None:
        """A piece of evidence could not be written: end the session (unless it has ended)."""
        with session_context(self.id), self._lock:
            if is_disk_full(exc):
                self._disk_full_writes += 1
                self._disk_full(what)
            else:
                log.error("writing %s failed: %s", what, type(exc).__name__, exc_info=exc)
            if self.state.terminal:
                return
            if self._depth:  # inside dispatch: it ends the session after this effect
                self._pending_end = self._pending_end or _failure_for(exc)
            else:
                self.dispatch(_failure_for(exc))

    def _disk_full(self, what: str) -> None:
        """Say once per session, as one WARNING, that the data disk is full (``what`` could
        not be written) and what follows from it; each later failure is a DEBUG line."""
        if self._disk_full_said:
            log.debug("writing %s failed: the data disk is full", what)
            return
        self._disk_full_said = True
        if not self.state.terminal:
            log.warning("storage_full: the data disk is full (writing %s): recording stopped "
                        "and the witness ends as aborted: storage_full; what was recorded is "
                        "kept, and sealed as soon as the disk has room", what)
        else:
            log.warning("storage_full: the data disk is full (writing %s) at the end of the "
                        "session (%s: %s): the rest of the end is written and sealed as soon "
                        "as the disk has room (tried every %g s)", what, self.state.phase,
                        self.state.end_reason, END_RETRY_SECONDS)

    def emit(self, event: ServerEvent, data: dict) -> None:
        self.page.emit(event, data)

    def sent_prompt(self, seq: int) -> dict | None:
        """The prompt sent with ``seq``: ``{step, sha256}``, or None if none was."""
        return self._prompts.get(seq)

    def heartbeat(self) -> None:
        self._start_timer("heartbeat", self.settings.heartbeat_timeout_seconds,
                          sm.Lost("connection_lost"))

    def prompt_report(self, event: PageEvent, seq: int, extra: dict | None = None) -> None:
        """The page says a prompt started, ended or was blocked (``event``)."""
        info = self._prompts.get(seq)
        data = {"seq": seq, "step": info["step"] if info else None,
                "sha256": info["sha256"] if info else None, **(extra or {})}
        with self._lock:
            if self.state.terminal:
                return
            if info is None or seq != self.state.seq:
                self.refuse(ErrorCode.OUT_OF_ORDER, f"prompt {seq} is not current")
                return
            self.record(PROMPT_REPORTS[event], data)
        if event == PageEvent.PROMPT_STARTED:
            self.dispatch(sm.PromptStarted(seq))
        elif event == PageEvent.PROMPT_ENDED:
            self.dispatch(sm.PromptEnded(seq))

    def check_offer(self) -> None:
        """Raise OutOfOrder unless an offer may come now: the witness has not ended and no
        offer was accepted (or is being answered). A hint only: ``accept_offer`` decides."""
        with self._lock:
            if self.state.terminal:
                raise OutOfOrder("the witness has ended")
            if self.peer is not None:
                raise OutOfOrder("an offer was already accepted")

    def prompt_replayed(self, seq: int) -> None:
        """The investor asked to hear prompt ``seq`` again (the guide's voice may be in the
        answer): recorded. OutOfOrder when no prompt ``seq`` was sent (a made-up seq is not
        evidence, and is not written)."""
        prompt = self.sent_prompt(seq)
        if prompt is None:
            raise OutOfOrder(f"prompt {seq} was not sent")
        self.record(TimelineEvent.PROMPT_REPLAYED, {"seq": seq, "step": prompt["step"]})

    def client_error(self, code: str) -> None:
        """The page reports a device or browser problem (a ``kiosk.protocol.ClientErrorCode``):
        recorded, the witness goes on."""
        self.record(TimelineEvent.CLIENT_ERROR, {"code": str(code)})

    def offer_refused(self, exc: SignallingError) -> None:
        """An offer was refused before or while it was answered: recorded with its code and
        reason; the witness goes on (another offer may follow)."""
        self.record(TimelineEvent.OFFER_REFUSED, {"code": exc.code, "reason": str(exc)})

    def flooded(self, event: str, counts: dict, limits: dict[str, list[float]]) -> None:
        """The page's socket kept sending faster than its limits and is being disconnected:
        recorded as ``client_flood`` (``event``: the one that tipped it; ``counts``: what the
        socket's limiter counted; ``limits``: the exceeded ones as ``[per_second, burst]``),
        and the witness ends as ``aborted: client_abuse``."""
        self.record(TimelineEvent.CLIENT_FLOOD, {"event": event, **counts, "limits": limits})
        self.dispatch(sm.Abort("client_abuse"))

    def message_too_large(self, event: str, size: int, limit: int, *,
                          complete: bool = True) -> None:
        """The page's socket sent a message over ``limit`` bytes (``max_socket_message_bytes``;
        ``event``: its name, ``size``: its bytes, or as many as arrived before it was cut off
        when not ``complete``), and its connection is being closed: recorded as
        ``client_message_refused`` (reason ``message_too_large``), and the witness ends as
        ``aborted: client_abuse``. Never the message's text."""
        self.record(TimelineEvent.CLIENT_MESSAGE_REFUSED, {
            "reason": "message_too_large", "event": event, "bytes": size,
            "complete": complete, "limit": limit})
        self.dispatch(sm.Abort("client_abuse"))

    def message_malformed(self, count: int) -> None:
        """The page's socket sent ``count`` messages that could not be decoded (not Socket.IO,
        nested too deep, a lone surrogate, a polling payload engine.io refuses), and its
        connection is being closed: recorded as ``client_message_refused`` (reason
        ``malformed``), and the witness ends as ``aborted: client_abuse``. Never the text."""
        self.record(TimelineEvent.CLIENT_MESSAGE_REFUSED, {"reason": "malformed",
                                                           "count": count})
        self.dispatch(sm.Abort("client_abuse"))

    def accept_offer(self, peer: MediaPeer, offer_sdp: str,
                     dropped: dict[str, int] | None = None) -> str:
        """Answer the investor's (checked) offer through ``peer``: the page gets ``answer
        {sdp, type}``, and the answer's SDP is returned.

        ``dropped``: the remote candidates the server removed from the offer, counted by
        reason (recorded as ``candidates_dropped``; never the addresses).

        The peer is claimed under the session's lock, so of two offers that arrive together
        (each socket event runs on its own thread) one only reaches a peer: OutOfOrder for
        the other, and for an offer after the end (nothing would close its peer).

        Starts the observers, records ``offer_received`` and ``answer_sent``, and hands the
        peer this session: its clock, the recording's path (none with the ``blackhole``
        recorder) and the callbacks the media reports through (first frame: the media is
        connected; lost: the session ends; frames: to the face and voice observers).
        SignallingError (the offer was refused): the peer is dropped, another offer may
        follow. Any other exception is raised with the peer kept, so the end closes it.
        """
        with self._lock:
            self.check_offer()
            self.peer = peer
        self.start_observers()
        if dropped:
            self.record(TimelineEvent.CANDIDATES_DROPPED, dict(sorted(dropped.items())))
        self.record(TimelineEvent.OFFER_RECEIVED, {"bytes": len(offer_sdp)})
        session = PeerSession(
            session_id=self.id,
            clock=self.clock,
            recording_path=(None if self.settings.recorder == "blackhole"
                            else self.dir / "recording.mkv"),
            first_frame=lambda: self.dispatch(sm.MediaConnected()),
            lost=lambda reason: self.dispatch(sm.Lost(reason)),
            video_frame=self._video_sink(),
            audio_frame=self.voice.submit if self.voice is not None else None,
            storage_full=lambda exc: self._write_failed("recording.mkv", exc),
        )
        try:
            answer = peer.accept(offer_sdp, session)
        except SignallingError:
            with self._lock:
                self.peer = None
            raise
        self.record(TimelineEvent.ANSWER_SENT, {"bytes": len(answer)})
        self.emit(ServerEvent.ANSWER, {"sdp": answer, "type": "answer"})
        return answer

    def _video_sink(self):
        """Where decoded video frames go (on the media loop: each sink only keeps a
        reference): the face observer and the card capture, whichever run."""
        face, card = self.face, self.card
        if face is not None and card is not None:
            def both(frame, t: float) -> None:
                face.submit(frame, t)
                card.submit(frame, t)
            return both
        if face is not None:
            return face.submit
        return card.submit if card is not None else None

    def set_prefs(self, prefs: dict) -> None:
        self.prefs.update(prefs)
        self.record(TimelineEvent.DISPLAY_PREFS, dict(self.prefs))

    def start_observers(self) -> None:
        """Start watching the face (before media flows), unless liveness is switched off."""
        if self.settings.liveness and self.face is None:
            self.face = FaceObserver(self.id, self.dir, self.clock.now, self._face_reports(),
                                     self.settings.face_model,
                                     idle_fps=self.settings.analysis_fps_idle)
        if self.settings.speech and self.voice is None:
            self.voice = VoiceObserver(self.id, self.services.recognizer)
        if self.card is None and any(s.kind == StepKind.ID_DOCUMENT for s in self.plan):
            self.card = LiveCard(self.id, self.dir, CardSettings.of(self.settings),
                                 self._applicant, LiveCardReports(
                                     hint=self._on_card_hint, side_due=self._on_card_side),
                                 authority=self.services.authority)

    def _applicant(self) -> dict:
        """The applicant as the broker sent it (the store's row: full number, before the
        seal)."""
        fresh = self.services.store.get(self.id)
        return dict((fresh or self.row).applicant)

    # ------------------------------------------------------------------ observers' reports

    def _face_reports(self) -> FaceReports:
        return FaceReports(
            sample=lambda data: self.record(TimelineEvent.LIVENESS_SAMPLE, data),
            hint=self._on_hint,
            challenge_due=self._on_challenge_due,
            challenge_judged=self._on_challenge_judged,
            all_judged=lambda seq: self.dispatch(sm.WindowTimeout(seq)),
            unavailable=lambda error: self.record(TimelineEvent.LIVENESS_UNAVAILABLE,
                                                  {"error": error}),
            id_photo_unusable=lambda reason: self.record(TimelineEvent.ID_PHOTO_UNUSABLE,
                                                         {"reason": reason}),
            report=lambda data: self.record(TimelineEvent.LIVENESS_REPORT, data),
        )

    def _on_hint(self, code: HintCode | None, text: str | None) -> None:
        if self._in_card_step():
            return  # the card hides the face: the card's own hints count now
        self.emit(ServerEvent.HINT, {"code": code, "text": text})

    def _in_card_step(self) -> bool:
        """An id_document step is on, from its prompt (which asks for the card) to its result
        (which moves the page on): the face's framing hints are held back all that time."""
        if self.card is not None and self.card.watching:
            return True
        state = self.state
        if state.phase not in ("prompting", "listening", "evaluating"):
            return False
        return 0 <= state.index < len(self.plan) and \
            self.plan[state.index].kind == StepKind.ID_DOCUMENT

    def _on_card_hint(self, code: HintCode | None) -> None:
        self.emit(ServerEvent.HINT, {"code": code, "text": None})

    def _on_card_side(self, step: str, side: str, index: int, total: int) -> None:
        self.emit(ServerEvent.CARD_SIDE, {"step": step, "side": side, "index": index,
                                          "total": total})

    def _on_challenge_due(self, step: str, name: str, index: int, total: int) -> None:
        self.emit(ServerEvent.CHALLENGE, {"step": step, "name": name, "index": index,
                                          "total": total})

    def _on_challenge_judged(self, step: str, verdict: Verdict) -> None:
        self.record(TimelineEvent.CHALLENGE_RESULT, {"step": step, **verdict.to_dict()})
        self.emit(ServerEvent.CHALLENGE_RESULT, {"step": step, "name": verdict.kind,
                                                 "passed": verdict.passed})

    # ------------------------------------------------------------------ effects

    def _run(self, effect: sm.Effect) -> None:
        if isinstance(effect, sm.Record):
            self.record(TimelineEvent(effect.type), effect.data)
        elif isinstance(effect, sm.SendStep):
            self._send_step(effect)
        elif isinstance(effect, sm.StartTimer):
            self._start_timer(effect.name, effect.seconds, effect.event)
        elif isinstance(effect, sm.OpenWindow):
            self._window_started = self.clock.now()
            step = self.plan[self.state.index]
            if step.kind == StepKind.CHALLENGE and self.face is not None:
                self.face.start_challenges(effect.seq, step, self._window_started)
            if step.kind == StepKind.ID_DOCUMENT and self.card is not None:
                self.card.start(effect.seq, step, self._window_started)
            if step.listens and self.face is not None:
                self.face.listening(True)  # every frame while the answer is said
            if step.listens and self.voice is not None:
                seq = effect.seq
                self.voice.listen(self._window_started, self.locale, expected_for(step),
                                  on_done=lambda: self._close_early(seq))
            self.emit(ServerEvent.WINDOW_OPEN, {"step": effect.step, "seconds": effect.seconds,
                                      "kind": effect.kind, "seq": effect.seq})
        elif isinstance(effect, sm.CloseWindow):
            self.emit(ServerEvent.WINDOW_CLOSE, {"step": effect.step, "seq": effect.seq})
        elif isinstance(effect, sm.Evaluate):
            window = (self._window_started or 0.0, self.clock.now())
            if self.plan[effect.index].listens and self.face is not None:
                self.face.listening(False)
            if self.plan[effect.index].kind == StepKind.ID_DOCUMENT and self.face is not None:
                # The card hides the face from its prompt (which asks for it) until a moment
                # after its window closes (the card is lowered).
                self.face.face_hidden_during(self._card_asked_at or window[0],
                                             window[1] + CARD_LOWERED_S)
            self.services.executor.submit(self._evaluate, effect, window)
        elif isinstance(effect, sm.Reject):
            self.refuse(ErrorCode(effect.code), effect.message)
        elif isinstance(effect, sm.End):
            self._end(effect)

    def _close_early(self, seq: int) -> None:
        """The answer of window ``seq`` is in and passes: close it now (endpointing).

        The window's own timer still fires later and is ignored: its seq is stale by then.
        """
        with self._lock:
            current = self.state.seq == seq and self.state.phase == "listening"
        if current:
            self.record(TimelineEvent.ANSWER_ENDPOINTED,
                        {"seq": seq, "step": self.plan[self.state.index].id})
            self.dispatch(sm.WindowTimeout(seq))

    def _send_step(self, effect: sm.SendStep) -> None:
        step = self.plan[effect.index]
        if step.kind == StepKind.ID_DOCUMENT:
            self._card_asked_at = self.clock.now()
        # The subtitle is ``text``; the voice says the normalised ``spoken`` text.
        text, spoken = step.text, step.spoken or None
        if effect.attempt:
            text, spoken = retry_prompt(text, spoken, self.locale, effect.after_refusal,
                                        effect.retry_hint, step.answer or "")
        prompt_msg = None
        # How long the page shows a prompt without audio (kiosk.flows.model.shown_seconds).
        reading = shown_seconds(text, self.locale)
        # The page plays the prompt (or shows it) at the investor's speed: slower takes longer.
        speed = self.prefs.get("speed")
        pace = min(1.0, speed) if isinstance(speed, int | float) and speed > 0 else 1.0
        try:
            prompt = self.guide.render(text, self.locale, spoken=spoken)
            dest = self.dir / "prompts" / f"{prompt.sha256}.wav"
            if not dest.exists():
                copy_atomic(prompt.path, dest)  # exists() above: never a torn one kept
            prompt_msg = {
                "url": f"/media/prompts/{prompt.sha256}.wav",
                "visemes_url": f"/media/prompts/{prompt.sha256}.visemes.json",
                "sha256": prompt.sha256,
                "duration": round(prompt.duration, 3),
            }
            timeout = prompt.duration / pace + sm.PROMPT_GRACE_SECONDS
        except GuideError as exc:
            self.record(TimelineEvent.GUIDE_DEGRADED, {"step": step.id, "error": str(exc)[:200]})
            # The investor reads the subtitle instead, for as long as the page shows it.
            timeout = reading / pace + sm.PROMPT_GRACE_SECONDS
        self._prompts[effect.seq] = {"step": step.id, "sha256": prompt_msg and prompt_msg["sha256"]}
        self.record(TimelineEvent.PROMPT_SENT, {"step": step.id, "seq": effect.seq, "text": text,
                                    "sha256": prompt_msg and prompt_msg["sha256"],
                                    "duration": prompt_msg and prompt_msg["duration"]})
        self.emit(ServerEvent.STEP, {
            "index": effect.index, "total": len(self.plan), "id": step.id, "kind": step.kind,
            "title": step.title, "text": text, "prompt": prompt_msg, "seq": effect.seq,
            "attempt": effect.attempt, "answer_seconds": step.answer_seconds,
            "challenges": list(step.challenges), "reading_seconds": reading,
        })
        self._start_timer("prompt", timeout, sm.PromptTimeout(effect.seq))

    def _evaluate(self, effect: sm.Evaluate, window: tuple[float, float]) -> None:
        """Judge the window (on a worker), write what the judge heard or read, settle the
        step."""
        step = self.plan[effect.index]
        try:
            judged = self.judge.judge(step, window, effect.seq, effect.attempt)
            if judged.card is not None and self.card is not None:
                # The card's readings: kept in card.json, each side recorded, and the step
                # settled by what was kept.
                kept = self.card.keep(judged.card)
                for captured in kept.captured:
                    self.record(TimelineEvent.ID_CARD_CAPTURED, captured)
                judged = Judgement(kept.outcome, kept.detail)
        except Exception as exc:
            log.exception("evaluating step %s failed", step.id)
            judged = Judgement(StepOutcome.FLAG, {"error": type(exc).__name__})
        if step.kind == StepKind.ID_DOCUMENT and self.face is not None:
            # Until the result moves the page on, an investor may still hold the card up:
            # the excuse reaches a moment after it (#16 retest M-2: the OCR ran 3-13 s past
            # the window and the face was "lost" meanwhile).
            self.face.face_hidden_during(window[1], self.clock.now() + CARD_LOWERED_S)
        spans = judged.detail.get("speech_spans")
        if step.listens and self.face is not None and isinstance(spans, list) and spans:
            # The face side checks at the end that the mouth moved while this was heard.
            self.face.speech_heard(step.id, spans)
        if judged.answer is not None:
            self.record(TimelineEvent.ANSWER_RECOGNISED, judged.answer)
        if judged.shown is not None:
            self.emit(ServerEvent.RECOGNISED, judged.shown)
        self.dispatch(sm.StepResult(effect.seq, judged.outcome,
                                    {"window": list(window), **judged.detail}))

    def _start_timer(self, name: str, seconds: float, event: sm.Event) -> None:
        with self._lock:
            if self.state.terminal:
                self.timers.cancel(name)
                return
            self.timers.start(name, seconds, lambda: self.dispatch(event))

    def _end(self, effect: sm.End) -> None:
        self._end_t = self.clock.now()
        self.timers.cancel_all()
        if effect.state == "finished":
            self.emit(ServerEvent.FINISHED, {"session_id": self.id})
        else:
            self.emit(ServerEvent.ABORTED, {"reason": effect.reason, "state": effect.state})
        self.services.executor.submit(self._finalise, effect.state, effect.reason)

    # ------------------------------------------------------------------ the end

    def _finalise(self, state: str, reason: str) -> None:
        """Close the peer, make the recording seekable, write the folder, seal. Never raises."""
        with session_context(self.id):
            try:
                self._close_peer()
                self._stop_observers()
                self._write_end(state, reason)
            except Exception:
                log.exception("finalising the session failed")
            finally:
                self.services.forget(self)
                self.finalised.set()

    def _stop_observers(self) -> None:
        """Stop the face, voice and card observers, each on its own: one that fails (the face
        analysis cannot write ``checks/liveness.json`` on a full disk) never keeps the end
        from being written. A face analysis that could not finish is recorded as
        ``liveness_unavailable``, which the pre-review flags."""
        for name, observer, stop in (("face", self.face, "finish"), ("voice", self.voice, "stop"),
                                     ("card", self.card, "stop")):
            if observer is None:
                continue
            try:
                getattr(observer, stop)()
            except Exception as exc:
                why = ("the data disk is full" if is_disk_full(exc)
                       else type(exc).__name__)
                if is_disk_full(exc):
                    self._disk_full(f"the {name} observer's results")
                else:
                    log.exception("the %s observer could not finish", name)
                if name == "face":
                    try:
                        self.record(TimelineEvent.LIVENESS_UNAVAILABLE,
                                    {"error": f"the results were not written: {why}"})
                    except Exception:  # the end retries its own writes; this one is lost
                        log.warning("liveness_unavailable could not be recorded")

    def _write_end(self, state: str, reason: str) -> None:
        """Write each part of the end not yet on disk (``kiosk.witness.finalise.SessionEnd``:
        the terminal timeline event if the dispatch could not write it, the recording,
        closing the timeline, ``session.json``, the database row, the seal); on a full disk,
        try again later.
        """
        self._end_attempts += 1
        done = self._end_done
        if self._session_end is None:
            self._session_end = SessionEnd(
                session_id=self.id, session_dir=self.dir, state=state, reason=reason,
                timeline=self.timeline, t=self._end_t,
                # Written late when the dispatch could not write it.
                terminal=(None if self._terminal_written
                          else {"reason": reason, "written_late": True}),
                record=self.record,
                received=self.peer.received() if self.peer is not None else {},
                meta=self._meta(), store=self.services.store, seal=self._seal,
                record_failures=lambda: self._disk_full_writes)

        def attempt(name: str, write) -> None:
            if name in done:
                return
            try:
                if write() is False:
                    return
            except Exception as exc:
                if is_disk_full(exc):
                    self._disk_full_writes += 1
                    self._disk_full(f"the end ({name})")
                    return
                log.exception("writing the end (%s) failed", name)  # trying again cannot help
            done.add(name)

        self._session_end.write(attempt, done)
        if done >= END_PARTS:
            if self._end_attempts > 1:
                log.info("the end of the session is written, at attempt %d (the data disk "
                         "has room again)", self._end_attempts)
            self.end_written.set()
            return
        if self._end_attempts >= END_RETRY_ATTEMPTS:
            log.warning("storage_full: the end of the session could not be written in %d "
                        "attempts (the data disk stays full); the next start finishes it",
                        self._end_attempts)
            self.timeline.close()
            self.end_written.set()
            return
        self.timers.start("end-retry", END_RETRY_SECONDS,
                          lambda: self._retry_end(state, reason))

    def _retry_end(self, state: str, reason: str) -> None:
        with session_context(self.id):
            try:
                self._write_end(state, reason)
            except Exception:
                log.exception("writing the end of the session failed")
                self.end_written.set()

    def _close_peer(self) -> None:
        if self.peer is None:
            return
        try:
            self.peer.close()
        except Exception:
            log.exception("closing the peer failed")

    def _meta(self) -> dict:
        return session_meta(self.row, self.flow, self.plan, self.settings.id_mask)

    def _write_meta(self) -> None:
        write_session_meta(self.dir, self._meta())

    def _seal(self) -> bool:
        """Seal (it logs its own failure); True unless sealing again may help: the row is
        unsealed and the disk was full (otherwise the next start seals it)."""
        if self.services.seal(self.id, say_disk_full=False):  # the disk is full: again later
            self._disk_full_writes += 1
            self._disk_full("the evidence package")
            return False
        row = self.services.store.get(self.id)
        return row is None or row.sealed_at is not None or not self._disk_full_writes


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
