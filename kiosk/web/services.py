"""Everything a running server holds, built once by ``create_app`` and passed around."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from kiosk.config import Settings
from kiosk.logs import session_context
from kiosk.store import SessionStore

if TYPE_CHECKING:
    from kiosk.speech import Recognizer

log = logging.getLogger(__name__)


class KioskServices:
    def __init__(self, settings: Settings, socketio):
        from kiosk.flows import FlowLibrary
        from kiosk.guide import GuideVoice
        from kiosk.media.loop import MediaLoop

        settings.ensure_dirs()
        self.settings = settings
        self.socketio = socketio
        self.store = SessionStore(settings.db_url, settings.sessions_dir,
                                  min_free_mb=settings.min_free_mb)
        self.flows = FlowLibrary(settings.flows_dir)
        self.guide = GuideVoice(
            settings.tts_cache_dir,
            voices={"zh-CN": settings.voice_zh, "en": settings.voice_en},
            rates={"zh-CN": settings.tts_rate_zh, "en": settings.tts_rate_en},
            timeout=settings.tts_timeout_seconds,
        )
        self.media = MediaLoop(lag_warn_ms=settings.media_loop_lag_warn_ms)
        # Finalising, evaluation and media callbacks: never on the loop, never on a request.
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kiosk-work")
        self._live: dict[str, object] = {}  # session id -> WitnessController
        self._by_sid: dict[str, str] = {}
        self._lock = threading.Lock()
        self.sealer = None  # set when the evidence package is available
        self._recognizer: Recognizer | None = None
        self._closed = False
        # Models still loading in the background ("face", "speech"): /api/ready answers 503
        # until this is empty, so a load balancer sends no investor to a cold node.
        self.warming: set[str] = set()

    # ------------------------------------------------------------------ live sessions

    def register(self, controller) -> None:
        with self._lock:
            self._live[controller.id] = controller
            self._by_sid[controller.sid] = controller.id

    def forget(self, controller) -> None:
        with self._lock:
            self._live.pop(controller.id, None)
            if self._by_sid.get(controller.sid) == controller.id:
                self._by_sid.pop(controller.sid, None)

    def by_sid(self, sid: str):
        with self._lock:
            sid_session = self._by_sid.get(sid)
            return self._live.get(sid_session) if sid_session else None

    def live(self) -> list:
        with self._lock:
            return list(self._live.values())

    def recognizer(self):
        """The shared speech recogniser (loaded on first use; it serialises its decoders)."""
        with self._lock:
            if self._recognizer is None:
                from kiosk.speech import Recognizer

                self._recognizer = Recognizer(
                    whisper_model_dir=self.settings.speech_whisper_model_dir,
                    zh_engine=self.settings.speech_zh_engine,
                    en_engine=self.settings.speech_en_engine,
                    zh_guard=self.settings.speech_zh_guard,
                )
            return self._recognizer

    def evaluator_for(self, controller):
        from kiosk.web.controller import StepEvaluator

        return StepEvaluator()

    # ------------------------------------------------------------------ sealing

    def seal(self, session_id: str) -> None:
        """Seal a session's evidence, if the evidence module is present."""
        if self.sealer is None:
            return
        with session_context(session_id):
            try:
                self.sealer(session_id)
            except Exception:
                log.exception("sealing failed; it is retried at the next start")

    # ------------------------------------------------------------------ lifecycle

    def shutdown(self, timeout: float = 30.0) -> None:
        """End every live session as aborted (server_shutdown) and wait for its recording."""
        if self._closed:
            return
        self._closed = True
        from kiosk.session import Shutdown

        live = self.live()
        for c in live:
            c.dispatch(Shutdown())
        for c in live:
            c.finalised.wait(timeout)
        self.executor.shutdown(wait=True)
        self.guide.close()
        self.media.stop()
        self.store.engine.dispose()
