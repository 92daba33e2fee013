"""At start-up: end and seal what a crash (kill -9, power loss) left behind; with several
nodes, also while running: end the sessions of nodes that died (``watch_lost_nodes``)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading

from sqlalchemy import select

from kiosk.atomic_files import is_disk_full, write_atomic
from kiosk.cluster import SharedStateError
from kiosk.logs import session_context
from kiosk.protocol import TimelineEvent
from kiosk.store import WitnessRow, masked_applicant
from kiosk.timeline import MediaClock, TimelineWriter, read_timeline
from kiosk.utc import utc_iso, utcnow
from kiosk.witness.finalise import SessionEnd, write_session_meta

log = logging.getLogger(__name__)


TERMINAL = ("finished", "aborted", "failed")

# How often a seal that failed at start-up on a full disk is tried again while the node runs.
SEAL_RETRY_SECONDS = 10.0


def recorded_end(events: list[dict], meta: dict) -> tuple[str, str, bool] | None:
    """The end a session recorded before the server stopped, if any: ``(state, reason,
    on_timeline)``. The timeline's terminal event wins over ``session.json``'s state (written
    after it); None when neither says how the session ended."""
    for ev in reversed(events):
        if ev.get("type") in TERMINAL:
            data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
            default = "completed" if ev["type"] == "finished" else "unknown"
            return ev["type"], str(data.get("reason") or default), True
    if meta.get("state") in TERMINAL and isinstance(meta.get("end_reason"), str):
        return meta["state"], meta["end_reason"], False
    return None


def owner_lost(services, owner: str | None) -> bool | None:
    """Whether sessions owned by node ``owner`` are this node's to recover.

    None: they are this node's own (its id, no owner recorded, or a single node: without
    Redis every session in the database is this node's, as before several nodes existed).
    True: the owner's lease (its registration in Redis, ``node_ttl_seconds``) has expired, so
    the node is gone. False: the owner is alive, or Redis cannot say (never guess a node
    dead)."""
    if services.cluster is None or owner is None or owner == services.node_id:
        return None
    try:
        return services.cluster.registry.node(owner) is None
    except SharedStateError as exc:
        log.error("recovery: cannot read the node registry, so no other node's session is "
                  "touched: %s", exc)
        return False


def recover_interrupted(services) -> list[str]:
    """Finalise every session of this node that was live when it died; returns their ids.

    Which sessions are this node's: see ``owner_lost``. A live session of a node whose lease
    expired is claimed (one node wins: ``SessionStore.claim``) and ended as ``aborted:
    node_lost`` when its folder is visible here (shared storage); when it is not (each node
    its own disk), only its row is ended ``node_lost``, and the owner seals it when it
    starts again. Sessions of live nodes are never touched.

    The partial recording is remuxed into a playable file (everything up to the last flushed
    cluster, about 1-2 s before the kill) and the session is sealed as recovered. Its end is
    the one it recorded, if it had ended (e.g. ``aborted: storage_full`` when the disk filled
    and its database row could not be written); otherwise the timeline gets an ``aborted``
    event with reason ``server_restart`` (``node_lost`` for another node's). A session whose
    files cannot be written now (the disk is still full) is left for the next start.
    """
    recovered: list[str] = []
    full: list[str] = []
    for row in services.store.interrupted():
        lost = owner_lost(services, row.node_id)
        if lost is False:
            continue
        if _end_interrupted(services, row, lost=bool(lost)):
            recovered.append(row.id)
    for row in services.store.unsealed():
        if not _ours_to_seal(services, row):
            continue
        with session_context(row.id):
            if row.end_reason == "node_lost" and not _end_recorded(services, row):
                # Ended by another node while this one was down (node_lost): write that end
                # into the folder before sealing it.
                _recover(services, row, (row.state, row.end_reason or "unknown"))
            if services.seal(row.id, say_disk_full=False):
                log.warning("storage_full: sealing a recovered session failed, the data disk "
                            "is full; it is tried again every %.0f s", SEAL_RETRY_SECONDS)
                full.append(row.id)
    if full:
        seal_later(services, full)
    seal_supplements(services)
    seal_lost_from_shared_state(services)
    return recovered


def seal_later(services, session_ids: list[str]) -> threading.Thread:
    """Try every ``SEAL_RETRY_SECONDS`` to seal the sessions whose seal failed on a full disk
    until each is sealed (#13 retest F3: they stayed unsealed, and out of the review queue,
    until the next restart), or the node shuts down (the next start tries again)."""
    def run() -> None:
        left = list(session_ids)
        while left and not services.closed.wait(SEAL_RETRY_SECONDS):
            still = []
            for session_id in left:
                if services.closed.is_set():
                    return
                row = services.store.get(session_id)
                if row is None or row.sealed_at is not None:
                    continue
                if services.seal(session_id, say_disk_full=False):
                    still.append(session_id)
                else:
                    with session_context(session_id):
                        log.info("a recovered session was sealed once the disk had room")
            left = still

    thread = threading.Thread(target=run, name="seal-retry", daemon=True)
    thread.start()
    return thread


def _end_interrupted(services, row, *, lost: bool) -> bool:
    """End one interrupted session in its folder and row: ``aborted: node_lost`` when its
    owner is ``lost`` (claimed first; only the row when its folder is not visible here),
    else ``server_restart``. True when it was recovered here (its folder written)."""
    reason = "server_restart"
    if lost:
        reason = "node_lost"
        if not _run_visible(services, row):
            _end_elsewhere(services, row)
            return False
        if not services.store.claim(row.id, row.node_id, services.node_id):
            return False  # another node recovers it
    with session_context(row.id):
        try:
            _recover(services, row, ("aborted", reason))
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            log.warning("storage_full: recovering an interrupted session failed, the data "
                        "disk is full; it is tried again at the next start")
            return False
    return True


def recover_lost_nodes(services, suspects: set[str] | None = None) -> list[str]:
    """While this node runs (several nodes): end the live sessions of every node whose lease
    expired as ``aborted: node_lost`` (``recover_interrupted``'s rule for them), and seal
    those whose run is visible here; returns the ids sealed here. This node's own sessions
    and those of live nodes are never touched. Without Redis: nothing.

    ``suspects``: when given, an owner found without a lease is only noted there the first
    time and handled only if it is still without one at the next call (a node whose
    heartbeat stalled for a moment on a loaded machine is not declared lost at once); the
    set is updated in place."""
    if services.cluster is None:
        return []
    sealed = []
    missing: set[str] = set()
    for row in services.store.interrupted():
        if owner_lost(services, row.node_id) is not True:
            continue
        missing.add(row.node_id)
        if suspects is not None and row.node_id not in suspects:
            continue
        if _end_interrupted(services, row, lost=True):
            services.seal(row.id)
            sealed.append(row.id)
    if suspects is not None:
        suspects.clear()
        suspects.update(missing)
    return sealed


def watch_lost_nodes(services, every: float) -> threading.Thread:
    """Run ``recover_lost_nodes``, ``seal_lost_from_shared_state`` and ``seal_supplements``
    every ``every`` seconds on a daemon thread until
    ``services.closed`` is set: a node that dies is noticed within its lease
    (``node_ttl_seconds``) plus two checks (its absence must last from one check to the
    next), without waiting for any node to restart."""
    def run() -> None:
        suspects: set[str] = set()
        while not services.closed.wait(every):
            try:
                ended = recover_lost_nodes(services, suspects)
            except Exception:
                log.exception("ending a lost node's sessions failed; tried again in %g s",
                              every)
                continue
            if ended:
                log.warning("ended and sealed %d session(s) of lost nodes", len(ended))
            try:
                seal_lost_from_shared_state(services)
                # A copy of ours that another node was sealing incomplete as this node
                # started again (its start-up found the row not yet sealed).
                seal_supplements(services)
            except Exception:
                log.exception("sealing a lost node's sessions from the shared state failed; "
                              "tried again in %g s", every)

    thread = threading.Thread(target=run, name="kiosk-lost-nodes", daemon=True)
    thread.start()
    return thread


def _ours_to_seal(services, row) -> bool:
    """An unsealed, ended session this node may seal: its own (or a lost node's, claimed
    first), with its folder here."""
    if not services.store.session_dir(row.id).is_dir():
        return False
    lost = owner_lost(services, row.node_id)
    if lost is None:
        return True
    return (bool(lost) and _run_visible(services, row)
            and services.store.claim(row.id, row.node_id, services.node_id))


# What the node that runs a witness writes into its folder as it starts (WitnessRunner:
# session.json first, then the timeline); the node that only created the session (POST
# /api/sessions) writes neither, only the flow and its prompts.
RUN_FILES = ("session.json", "timeline.jsonl")


def _run_visible(services, row) -> bool:
    """Whether another node's witness ``row`` ran in a folder visible here (a shared
    ``data_dir``): its run's files (``RUN_FILES``) are there. A folder without them is only
    what this node wrote when the session was created here while it ran on the other node's
    own disk: sealing it would make evidence without the recording, so it is left to that
    node, which seals its own folder when it starts again."""
    folder = services.store.session_dir(row.id)
    return any((folder / name).is_file() for name in RUN_FILES)


def _end_recorded(services, row) -> bool:
    folder = services.store.session_dir(row.id)
    meta_path = folder / "session.json"
    meta = (json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {})
    return recorded_end(read_timeline(folder / "timeline.jsonl"), meta) is not None


def _end_elsewhere(services, row) -> None:
    """A lost node's live session whose files are on that node's disk: end its row as
    ``aborted: node_lost`` (it is live nowhere). The owner seals its folder if it starts again
    within ``lost_node_seal_after_seconds``; after that a surviving node seals what the shared
    state holds, marked incomplete (``seal_lost_from_shared_state``)."""
    with session_context(row.id):
        services.store.end(row.id, "aborted", "node_lost", recovered=True)
        log.warning("a session of lost node %s ended as node_lost; its files are on that "
                    "node: sealed there if it starts within %.0f s, else sealed here from the "
                    "shared state, marked incomplete", row.node_id,
                    services.settings.lost_node_seal_after_seconds)


def _recover(services, row, default_end: tuple[str, str]) -> None:
    """Write the end of ``row`` into its folder and row: the end it recorded, else
    ``default_end`` ``(state, reason)``."""
    folder = services.store.session_dir(row.id)
    folder.mkdir(parents=True, exist_ok=True)
    events = read_timeline(folder / "timeline.jsonl")
    last_t = max(
        (e["t"] for e in events if isinstance(e.get("t"), (int, float))), default=0.0
    )
    meta_path = folder / "session.json"
    meta = (json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists()
            else {"id": row.id})
    ended = recorded_end(events, meta)
    if ended is None:
        (state, reason), on_timeline = default_end, False
    else:
        state, reason, on_timeline = ended
    # The old media clock died with the process: stamp recovery at the last known time.
    timeline = TimelineWriter(folder / "timeline.jsonl", MediaClock())
    end = SessionEnd(
        session_id=row.id, session_dir=folder, state=state, reason=reason,
        timeline=timeline, t=last_t,
        terminal=None if on_timeline else {"reason": reason, "recovered": True},
        record=lambda type_, data: timeline.append(type_, data, t=last_t),
        received=None, meta=meta, store=services.store, recovered=True,
        # Sealed with the rest of the unsealed sessions, once every one is recovered.
        seal=lambda: True)
    done: set[str] = set()

    def run(name: str, write) -> None:  # all at once: a failure leaves it for the next start
        write()
        done.add(name)

    try:
        end.write(run, done)
    finally:
        timeline.close()
    if ended is None:
        log.warning("recovered a session interrupted by a server stop (%s: %s)", state, reason)
    else:
        log.warning("recovered a session that had ended (%s: %s) but was not stored as ended",
                    state, reason)


# -- a lost node's session whose files are lost with it (issue #17, bug B) ------------------

def _incomplete_note(lost_node: str | None, lost_at: dt.datetime | None, by: str) -> dict:
    node = lost_node or "unknown"
    return {
        "reason": "node_lost", "node": node,
        "lost_at": utc_iso(lost_at, "auto") if lost_at else None, "sealed_by": by,
        "text": (f"the recording, the timeline and the checks were on node {node}, lost with "
                 f"it; sealed by node {by} from what the shared database holds. Offer the "
                 "investor a new attempt"),
    }


def seal_lost_from_shared_state(services, now: dt.datetime | None = None) -> list[str]:
    """Seal, marked incomplete, every session that ended ``aborted: node_lost`` at least
    ``lost_node_seal_after_seconds`` ago (``now``: naive UTC, default the clock) whose owner's
    lease is still expired and whose run is not visible here (the lost node's own disk);
    returns their ids. Without Redis: nothing.

    One node claims each (``SessionStore.claim``). Its folder here gets what the shared
    database holds: ``session.json`` (the row, the applicant masked per ``id_mask``, the flow
    version, the node and time of the loss, ``incomplete``), ``flow.yaml`` (the published
    version) and a timeline with the one ``aborted`` event; it is sealed with the
    installation's key as an incomplete package (``EvidenceSealer.seal``: a ledger record
    ``incomplete``), so the session reaches the review queue flagged. A node that returns
    later seals its own copy as a supplement (``seal_supplements``)."""
    if services.cluster is None:
        return []
    grace = dt.timedelta(seconds=services.settings.lost_node_seal_after_seconds)
    now = now or utcnow()
    sealed = []
    for row in services.store.unsealed():
        if (row.end_reason != "node_lost" or row.ended_at is None
                or now - row.ended_at < grace
                or owner_lost(services, row.node_id) is not True
                or _run_visible(services, row)):
            continue
        if not services.store.claim(row.id, row.node_id, services.node_id):
            continue  # another node seals it
        with session_context(row.id):
            note = _incomplete_note(row.node_id, row.ended_at, services.node_id)
            try:
                _write_from_shared_state(services, row, note)
                services.sealer.seal(row.id, incomplete=note)
            except Exception as exc:
                # Claimed: this node's next start seals the folder (its session.json says
                # incomplete), or tries again.
                if is_disk_full(exc):
                    log.warning("storage_full: sealing a lost node's session from the shared "
                                "state failed; tried again at the next start")
                else:
                    log.exception("sealing a lost node's session from the shared state failed")
                continue
            log.warning("a session of lost node %s was sealed here from the shared state, "
                        "marked incomplete (its recording was on that node)", row.node_id)
            sealed.append(row.id)
    return sealed


def _write_from_shared_state(services, row, note: dict) -> None:
    """``row``'s folder here from the shared database only (see
    ``seal_lost_from_shared_state``); what this node wrote when the session was created here
    (flow, prompts) is kept."""
    folder = services.store.session_dir(row.id)
    folder.mkdir(parents=True, exist_ok=True)
    version = services.flow_versions.get(row.flow_id, row.flow_version)
    retention, priority = 20, None
    flow = services.flow_versions.load(row.flow_id, row.flow_version) if version else None
    if flow is not None:
        retention, priority = flow.retention_years, flow.priority
    if version is not None and not (folder / "flow.yaml").is_file():
        write_atomic(folder / "flow.yaml", version["source"].encode("utf-8"))
    meta = {
        "id": row.id,
        "flow": {"id": row.flow_id, "version": row.flow_version, "content_hash": row.flow_hash},
        "locale": row.locale,
        "applicant": masked_applicant(row.applicant, services.settings.id_mask),
        "created_at": utc_iso(row.created_at, "auto"),
        "joined_at": utc_iso(row.joined_at, "auto") if row.joined_at else None,
        "retention_years": retention, "priority": priority,
        "node_id": row.node_id, "incomplete": note,
    }
    timeline = TimelineWriter(folder / "timeline.jsonl", MediaClock())
    try:
        if not read_timeline(folder / "timeline.jsonl"):
            timeline.append(TimelineEvent.ABORTED, {"reason": "node_lost", "recovered": True,
                                                    "node": note["node"], "incomplete": True},
                            t=0.0)
    finally:
        timeline.close()
    write_session_meta(folder, meta, state="aborted", end_reason="node_lost", recovered=True)


def seal_supplements(services) -> list[str]:
    """On a node that starts again after it was lost: every session it ran whose package
    another node sealed incomplete (``seal_lost_from_shared_state``) while its folder, with
    the recording, stayed here. The end is written into that folder (``aborted: node_lost``,
    the recording remuxed) and it is sealed as a supplement linked to the package
    (``EvidenceSealer.seal_supplement``); the package itself, and the row's ``package_id``,
    stay as they are. Returns the supplements' ids."""
    with services.store.db() as db:
        rows = list(db.scalars(select(WitnessRow).where(
            WitnessRow.end_reason == "node_lost", WitnessRow.sealed_at.is_not(None),
            WitnessRow.package_id.is_not(None))))
    done = []
    for row in rows:
        # Its run is here, the package is not (a shared data_dir would hold both: that
        # package was sealed from this very folder), and it is not our shared-state copy.
        if (row.node_id == services.node_id or not _run_visible(services, row)
                or (services.sealer.out_dir / f"{row.package_id}.tar").exists()
                or _shared_state_copy(services, row)
                or services.sealer.ledger.find(f"{row.id}.supplement") is not None):
            continue
        with session_context(row.id):
            try:
                if not _end_recorded(services, row):
                    _recover(services, row, ("aborted", "node_lost"))
                    services.store.set(row.id, ended_at=row.ended_at)  # the loss, not now
                supplement = services.sealer.seal_supplement(row.id, row.package_id)
                services.store.forget_id_number(row.id, services.settings.id_mask)
            except Exception:
                log.exception("sealing this node's copy of a session sealed incomplete "
                              "elsewhere failed; tried again at the next start")
                continue
            if supplement:
                log.warning("this node's copy of a session sealed incomplete while it was "
                            "lost was sealed as a supplement")
                done.append(supplement)
    return done


def _shared_state_copy(services, row) -> bool:
    """Whether ``row``'s folder here is the incomplete one this node wrote from the shared
    state (not a run of its own)."""
    meta_path = services.store.session_dir(row.id) / "session.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and bool(meta.get("incomplete"))
