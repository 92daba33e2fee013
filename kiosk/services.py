"""Everything a running server holds: one frozen dataclass, built once by ``build_services``.

Nothing is attached to it later: the evidence keys and ledger, the flow versions and the
live sessions are all fields from the start (some of them mutable containers, each with its
own lock). Blueprints reach it through ``kiosk.context.current_services()``; this module
does not load Flask.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kiosk.atomic_files import is_disk_full
from kiosk.cluster import connect_cluster
from kiosk.config import Settings
from kiosk.evidence.keys import SigningKeys
from kiosk.evidence.ledger import Ledger
from kiosk.evidence.service import EvidenceSealer
from kiosk.flows import FlowLibrary
from kiosk.flows.versions import FlowVersions
from kiosk.guide import GuideVoice
from kiosk.identity.authority import load_authority
from kiosk.identity.checks import IdentityAuthority
from kiosk.logs import session_context
from kiosk.media.loop import MediaLoop
from kiosk.migrations import open_store
from kiosk.session import Shutdown
from kiosk.speech.recognize import Recognizer
from kiosk.store import SessionStore
from kiosk.witness.admission import (
    MIN_WAIT_S,
    Busy,
    CapacityReport,
    estimated_wait,
    node_capacity,
    retry_after,
)
from kiosk.witness.id_card import settle_card_portrait

if TYPE_CHECKING:
    from kiosk.cluster import Cluster
    from kiosk.witness.runner import WitnessRunner

log = logging.getLogger(__name__)


class LiveSessions:
    """The witnesses running now, by session id and by Socket.IO sid (thread-safe)."""

    def __init__(self) -> None:
        self._live: dict[str, WitnessRunner] = {}
        self._by_sid: dict[str, str] = {}
        self._started: dict[str, float] = {}  # session id -> time.monotonic() at register
        self._reserved = 0  # places promised to joins that have not registered yet
        self._joining: set[str] = set()  # sids whose join is under way (claim / unclaim)
        self._lock = threading.Lock()

    def claim(self, sid: str) -> bool:
        """Start a join on socket ``sid``: False when that socket has a witness or a join
        under way (each socket event runs on its own thread, so two joins can come together;
        the check and the claim are one step). ``unclaim`` ends the claim (``register`` has
        taken over by then, or the join failed)."""
        with self._lock:
            if sid in self._by_sid or sid in self._joining:
                return False
            self._joining.add(sid)
            return True

    def unclaim(self, sid: str) -> None:
        with self._lock:
            self._joining.discard(sid)

    def reserve(self, capacity: int) -> bool:
        """Promise a place to a join if fewer than ``capacity`` witnesses are live or
        promised; ``register(..., reserved=True)`` or ``release()`` settles it."""
        with self._lock:
            if len(self._live) + self._reserved >= capacity:
                return False
            self._reserved += 1
            return True

    def release(self) -> None:
        """Give back a place promised by ``reserve`` that no witness took."""
        with self._lock:
            self._reserved = max(0, self._reserved - 1)

    def register(self, runner: WitnessRunner, *, reserved: bool = False) -> None:
        """Add a live witness. ValueError when its socket already has another one."""
        with self._lock:
            if self._by_sid.get(runner.sid, runner.id) != runner.id:
                raise ValueError("this socket already has a live witness")
            self._live[runner.id] = runner
            self._by_sid[runner.sid] = runner.id
            self._started[runner.id] = time.monotonic()
            if reserved:
                self._reserved = max(0, self._reserved - 1)

    def forget(self, runner: WitnessRunner) -> None:
        with self._lock:
            self._live.pop(runner.id, None)
            self._started.pop(runner.id, None)
            if self._by_sid.get(runner.sid) == runner.id:
                self._by_sid.pop(runner.sid, None)

    def load(self) -> tuple[int, int, list[float]]:
        """(live witnesses, places promised, seconds each live witness has been running)."""
        now = time.monotonic()
        with self._lock:
            return len(self._live), self._reserved, [now - t for t in self._started.values()]

    def by_sid(self, sid: str) -> WitnessRunner | None:
        with self._lock:
            session_id = self._by_sid.get(sid)
            return self._live.get(session_id) if session_id else None

    def all(self) -> list[WitnessRunner]:
        with self._lock:
            return list(self._live.values())

    def ids(self) -> list[str]:
        """The session ids of the live witnesses."""
        with self._lock:
            return list(self._live)


class Warming:
    """The models still loading in the background (``"face"``, ``"speech"``), thread-safe:
    the preload threads add and discard names while requests read them."""

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._lock = threading.Lock()

    def add(self, name: str) -> None:
        with self._lock:
            self._names.add(name)

    def discard(self, name: str) -> None:
        with self._lock:
            self._names.discard(name)

    def names(self) -> list[str]:
        """The names still loading, sorted (a copy: safe while a preload ends)."""
        with self._lock:
            return sorted(self._names)


class SharedRecognizer:
    """The server's one speech recogniser, built on first use (it serialises its decoders;
    its engines load their models when first asked)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._recognizer: Recognizer | None = None
        self._lock = threading.Lock()

    def get(self) -> Recognizer:
        with self._lock:
            if self._recognizer is None:
                s = self._settings
                self._recognizer = Recognizer(
                    whisper_model_dir=s.speech_whisper_model_dir,
                    zh_engine=s.speech_zh_engine,
                    en_engine=s.speech_en_engine,
                    zh_guard=s.speech_zh_guard,
                )
            return self._recognizer


@dataclass(frozen=True, eq=False)
class KioskServices:
    """The server's parts; every field is set by ``build_services`` and never replaced."""

    settings: Settings
    store: SessionStore
    flows: FlowLibrary
    flow_versions: FlowVersions
    guide: GuideVoice
    media: MediaLoop
    # Finalising, evaluation and media callbacks: never on the loop, never on a request.
    executor: ThreadPoolExecutor
    sealer: EvidenceSealer
    recognizers: SharedRecognizer
    sessions: LiveSessions = field(default_factory=LiveSessions)
    # Models still loading in the background ("face", "speech"): /api/ready answers 503
    # until this is empty, so a load balancer sends no investor to a cold node.
    warming: Warming = field(default_factory=Warming)
    draining: threading.Event = field(default_factory=threading.Event)  # set: no new witnesses
    closed: threading.Event = field(default_factory=threading.Event)
    # State shared with the other nodes in Redis (redis_url); None for a single node.
    cluster: Cluster | None = None
    # The broker's identity-authority connector (identity_authority); None: not configured,
    # the ID card's authority check reads "not checked: human review".
    authority: IdentityAuthority | None = None

    @property
    def node_id(self) -> str:
        """This node process's id (``Settings.effective_node_id``): the owner recorded on the
        sessions it runs."""
        return self.settings.effective_node_id

    @property
    def evidence_keys(self) -> SigningKeys:
        return self.sealer.keys

    @property
    def ledger(self) -> Ledger:
        return self.sealer.ledger

    # ------------------------------------------------------------------ live sessions

    def register(self, runner: WitnessRunner, *, reserved: bool = False) -> None:
        self.sessions.register(runner, reserved=reserved)

    # ------------------------------------------------------------------ admission

    def admit(self) -> Busy | None:
        """Reserve a place for a new witness, or say why none is free
        (``kiosk.witness.admission``). A reservation is settled by
        ``register(runner, reserved=True)`` or ``sessions.release()``."""
        capacity = node_capacity(self.settings)
        if self.draining.is_set():
            live = self.sessions.load()[0]
            return Busy("node_draining", retry_after(MIN_WAIT_S * 2), live, capacity)
        if self.sessions.reserve(capacity):
            return None
        live, _, elapsed = self.sessions.load()
        wait = estimated_wait(elapsed, self.settings.witness_expected_seconds)
        log.warning("witness refused: %d live of %d (node_capacity); estimated wait %d s",
                    live, capacity, wait)
        return Busy("witness_busy", retry_after(wait), live, capacity)

    def capacity(self) -> CapacityReport:
        """This node's places now (``GET /api/capacity``)."""
        capacity = node_capacity(self.settings)
        live, reserved, elapsed = self.sessions.load()
        available = max(0, capacity - live - reserved)
        draining = self.draining.is_set()
        wait = (None if available and not draining
                else estimated_wait(elapsed, self.settings.witness_expected_seconds))
        node_id = (self.cluster.node_id if self.cluster is not None
                   else self.settings.node_id or "local")
        return CapacityReport(node_id, capacity, live, reserved,
                              0 if draining else available, draining, wait)

    def forget(self, runner: WitnessRunner) -> None:
        self.sessions.forget(runner)
        if self.cluster is not None:
            self.cluster.unpin_session(runner.id)

    def by_sid(self, sid: str) -> WitnessRunner | None:
        return self.sessions.by_sid(sid)

    def live(self) -> list[WitnessRunner]:
        return self.sessions.all()

    def recognizer(self) -> Recognizer:
        """The shared speech recogniser (loaded on first use)."""
        return self.recognizers.get()

    # ------------------------------------------------------------------ sealing

    def seal(self, session_id: str, *, say_disk_full: bool = True) -> bool:
        """Seal a session's evidence; True when it failed because the data disk is full
        (worth trying again once there is room: said in one WARNING without a traceback,
        unless ``say_disk_full`` is False and the caller says it). Any other failure is
        logged with its traceback; the next start tries again either way."""
        with session_context(session_id):
            try:
                self.sealer.seal(session_id)
            except Exception as exc:
                if not is_disk_full(exc):
                    log.exception("sealing failed; it is retried at the next start")
                    return False
                if say_disk_full:
                    log.warning("storage_full: sealing failed, the data disk is full; it is "
                                "retried at the next start")
                return True
        return False

    # ------------------------------------------------------------------ lifecycle

    def drain(self) -> None:
        """Take no new witnesses: /api/ready answers 503 and, with Redis, the node registry
        shows this node as draining. Live witnesses go on."""
        self.draining.set()
        if self.cluster is not None:
            self.cluster.drain()

    def finish_then_shutdown(self, grace: float, timeout: float = 30.0) -> list[str]:
        """A graceful stop (SIGTERM under gunicorn): drain, let the live witnesses end by
        themselves for up to ``grace`` seconds, then ``shutdown(timeout)``: the ones still
        live end as ``aborted: server_shutdown`` and are sealed. Returns their session ids."""
        self.drain()
        deadline = time.monotonic() + grace
        for runner in self.live():  # no witness joins while draining: the set only shrinks
            runner.finalised.wait(max(0.0, deadline - time.monotonic()))
        left = [r.id for r in self.live()]
        self.shutdown(timeout)
        return left

    def shutdown(self, timeout: float = 30.0) -> None:
        """Drain, end every live session as aborted (server_shutdown), wait for its
        recording, then leave the node registry."""
        if self.closed.is_set():
            return
        self.drain()
        self.closed.set()
        live = self.live()
        for runner in live:
            runner.dispatch(Shutdown())
        for runner in live:
            runner.finalised.wait(timeout)
        self.executor.shutdown(wait=True)
        self.sealer.close()
        self.guide.close()
        self.media.stop()
        self.store.engine.dispose()
        if self.cluster is not None:
            self.cluster.close()


def build_services(settings: Settings) -> KioskServices:
    """Open the store, flows, guide voice, media loop and evidence keys of ``settings``.

    Creates the data directories, the database tables and (on first start) the evidence
    signing key; with ``redis_url``, connects to Redis (not yet registering the node: see
    ``Cluster.start``); builds the ``identity_authority`` connector. Raises ConfigError /
    OSError when they cannot be.
    """
    authority = load_authority(settings.identity_authority,
                               settings.identity_authority_options)
    settings.ensure_dirs()
    sessions = LiveSessions()
    cluster = None
    if settings.redis_url:
        cluster = connect_cluster(settings, lambda: len(sessions.all()), sessions.ids)
    store = open_store(settings.db_url, settings.sessions_dir,
                       min_free_mb=settings.min_free_mb)
    return KioskServices(
        sessions=sessions,
        cluster=cluster,
        authority=authority,
        settings=settings,
        store=store,
        flows=FlowLibrary(settings.flows_dir),
        flow_versions=FlowVersions(store),
        guide=GuideVoice(
            settings.tts_cache_dir,
            voices=settings.voices(),
            rates=settings.tts_rates(),
            timeout=settings.tts_timeout_seconds,
        ),
        media=MediaLoop(),
        executor=ThreadPoolExecutor(max_workers=8, thread_name_prefix="kiosk-work"),
        sealer=EvidenceSealer(settings, store, before_seal=settle_card_portrait),
        recognizers=SharedRecognizer(settings),
    )

