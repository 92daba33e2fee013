"""The back-office REST API: create witness sessions, read their state."""

from __future__ import annotations

import hmac
import logging
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date
from functools import wraps

import psutil
from flask import Blueprint, jsonify, redirect, request
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from kiosk.cluster.routing import owner_location
from kiosk.context import current_services
from kiosk.errors import EvidenceError, FlowError, SharedStateError, StorageFull
from kiosk.evidence.bags import BagUnavailable
from kiosk.evidence.keys import public_key_pem
from kiosk.evidence.package import check_package_id
from kiosk.idcard.reader import CardImageError, CardLimits
from kiosk.idcard.worker import OcrBusy, shared_worker
from kiosk.liveness.id_photo import PhotoTooLarge
from kiosk.process_usage import process_usage
from kiosk.review.prereview import PrereviewError, build_prereview
from kiosk.store import TERMINAL_STATES
from kiosk.utc import utc_iso
from kiosk.witness.admission import node_capacity
from kiosk.witness.id_card import SIDES, read_job, record_side, takes_card_images
from kiosk.witness.intake import (  # noqa: F401  # Applicant: re-exported
    Applicant,
    CreateSession,
    open_witness,
    witness_url,
)
from kiosk.witness.media_figures import media_figures

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

services = current_services  # the blueprint's one way to the server's parts


def error(status: int, code: str, message: str, **extra):
    return jsonify({"error": code, "message": message, **extra}), status


def api_key_given() -> bool:
    """Whether this request carries one of ``api_keys`` (``X-API-Key``, or ``Authorization:
    Bearer``); False when none is configured."""
    keys = services().settings.api_keys
    given = request.headers.get("X-API-Key") or ""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        given = auth[7:]
    return bool(keys) and any(hmac.compare_digest(given.encode(), k.encode()) for k in keys)


def require_api_key(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        if not api_key_given():
            return error(401, "unauthorized", "a valid API key is required (X-API-Key header)")
        return fn(*args, **kwargs)

    return wrapper


def investor_url(token: str) -> str:
    return witness_url(services().settings, token)


@bp.post("/sessions")
@require_api_key
def post_session():
    if not request.is_json:
        return error(415, "bad_request", "send JSON (Content-Type: application/json)")
    try:
        body = CreateSession.model_validate(request.get_json(silent=True) or {})
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                    for e in exc.errors()]
        return error(422, "invalid", "the request is not valid", problems=problems)
    try:
        row, token = open_witness(services(), body)
    except FlowError as exc:
        return error(404, "unknown_flow", str(exc))
    except PhotoTooLarge as exc:
        return error(400, "id_photo_too_large", str(exc))
    except StorageFull as exc:  # an operating condition, not a fault of ours: no traceback
        log.warning("session refused (503 storage_full): %s", exc.strerror)
        return error(503, "storage_full", f"{exc.strerror}; try again later")
    except ValueError as exc:
        return error(422, "invalid", str(exc))
    return jsonify({
        "session_id": row.id,
        "investor_url": investor_url(token),
        "expires_at": utc_iso(row.expires_at, "auto"),
        "flow": {"id": row.flow_id, "version": row.flow_version, "hash": row.flow_hash},
    }), 201


def _session_row(session_id: str):
    """The session's row, or None for an unknown or malformed id (never a path)."""
    try:
        services().store.session_dir(session_id)
    except ValueError:
        return None
    return services().store.get(session_id)


@bp.get("/sessions/<session_id>")
@require_api_key
def get_session(session_id: str):
    """The session as the back office may see it (``WitnessRow.public``: no ID number, no
    photo, no token), plus ``finalised``, ``recording`` (the file's name or null),
    ``recording_frames`` and ``media``.

    ``media`` is null while the witness is live. Once it has ended: ``{"node_id": the node
    process it ran on (null if it never joined), "this_node": the node answering, "figures":
    kiosk.witness.media_figures.media_figures(...) or null}``. The figures come from the
    session's folder on the node that ran it, so a node that does not hold that folder
    answers ``figures: null``: ask that node (with path routing, ``/n/<slug>/api/sessions/
    <id>`` through the balancer)."""
    row = _session_row(session_id)
    if row is None:
        return error(404, "not_found", "no such session")
    info = row.public()
    # The DB row turns terminal only after the recording is finalised (WitnessRunner._finalise),
    # except a lost node's session, ended here in the row only: its recording was on that
    # node, so it is finalised only once that node wrote its end (recording_frames is set).
    info["finalised"] = row.state in TERMINAL_STATES and (
        row.end_reason != "node_lost" or row.recording_frames is not None)
    folder = services().store.session_dir(session_id)
    rec = folder / "recording.webm"
    # Relative to the session folder: the server's own paths are not the back office's business.
    info["recording"] = rec.name if info["finalised"] and rec.exists() else None
    info["recording_frames"] = row.recording_frames
    info["media"] = ({"node_id": row.node_id,
                      "this_node": services().settings.effective_node_id,
                      "figures": media_figures(folder)}
                     if info["finalised"] else None)
    info["evidence"] = _evidence_info(row)
    # Ended by a fault of ours (a node lost or stopped): the investor needs a new link.
    info["new_attempt_needed"] = row.end_reason in SERVER_ENDS
    return jsonify(info)


SERVER_ENDS = ("node_lost", "server_restart", "server_shutdown")


def _evidence_info(row) -> dict | None:
    """``{"incomplete": bool, "note": str | None, "supplement": package id | None}`` from the
    ledger's records about the session's package (``kiosk.recovery``: a lost node's session
    sealed from the shared state, and the copy that node sealed when it came back); None
    before it is sealed."""
    if row.package_id is None:
        return None
    records = ([(e.get("record") or {}) for e in services().sealer.ledger.records(row.package_id)]
               if row.end_reason == "node_lost" else [])
    note = next((r for r in records if r.get("type") == "incomplete"), None)
    supplement = next((r.get("package_id") for r in records if r.get("type") == "supplement"),
                      None)
    return {"incomplete": note is not None, "note": note.get("text") if note else None,
            "supplement": supplement}


# Why a card image was refused, by the reader's error code: (HTTP status, error code).
CARD_ERRORS = {"too_large": (413, "id_card_too_large"), "unreadable": (422, "id_card_unreadable"),
               "not_a_card": (422, "not_a_card"), "wrong_side": (422, "wrong_side")}
CARD_TYPES = ("image/jpeg", "image/png")


def card_error(status: int, code: str, side: str, message: str):
    return error(status, code, message, field=f"id_card.{side}")


@bp.put("/sessions/<session_id>/id-card/<side>")
@require_api_key
def put_id_card(session_id: str, side: str):
    """One side of the applicant's resident ID card, as the raw JPEG or PNG body.

    Read (OCR) on the card worker, masked per ``id_mask`` and kept for the evidence; the
    answer is the session's ``card.json`` (fields masked as in the evidence, every check).
    Errors name the field ``id_card.<side>``: 413 too large (bytes or pixels), 415 not a
    JPEG or PNG, 422 unreadable / not a card / the wrong side / not a resident ID session,
    409 the session has ended, 503 the reader is busy (Retry-After) or took too long.
    """
    svc = services()
    settings = svc.settings
    if side not in SIDES:
        return error(404, "not_found", "the card's sides are front and back")
    row = _session_row(session_id)
    if row is None:
        return error(404, "not_found", "no such session")
    if not takes_card_images(row):
        return card_error(409, "session_ended", side, "the session has ended; card images are "
                          "taken until it ends")
    if row.applicant.get("id_type", "prc_resident_id") != "prc_resident_id":
        return card_error(422, "unsupported_document", side, "only the PRC resident ID card is "
                          f"read; this session's id_type is {row.applicant.get('id_type')}")
    if request.mimetype not in CARD_TYPES:
        return card_error(415, "unsupported_media_type", side, "send the image as the body, "
                          "Content-Type image/jpeg or image/png")
    cap = settings.max_id_card_bytes
    request.max_content_length = cap + 1  # this route's own cap, not max_request_bytes
    too_large = f"id_card.{side} is larger than the limit of {cap} bytes (max_id_card_bytes)"
    if request.content_length is not None and request.content_length > cap:
        return card_error(413, "id_card_too_large", side, too_large)
    try:
        data = request.stream.read(cap + 1)  # bounded even without a Content-Length
    except RequestEntityTooLarge:  # a chunked body past the cap
        return card_error(413, "id_card_too_large", side, too_large)
    if len(data) > cap:
        return card_error(413, "id_card_too_large", side, too_large)
    if not data:
        return card_error(422, "id_card_unreadable", side, f"id_card.{side} is empty")
    folder = svc.store.session_dir(row.id)
    photo = next((folder / f"id_photo.{e}" for e in ("jpg", "png")
                  if (folder / f"id_photo.{e}").is_file()), None)
    job = read_job(data, side, mask=settings.id_mask, face_photo=photo,
                   limits=CardLimits(max_bytes=cap, max_side=settings.max_id_card_side))
    try:
        read = shared_worker(settings.id_card_queue).submit(job).result(
            timeout=settings.id_card_timeout_seconds)
    except OcrBusy as exc:
        resp = card_error(503, "ocr_busy", side, f"{exc}; try again in a few seconds")
        resp[0].headers["Retry-After"] = "5"
        return resp
    except FutureTimeout:
        return card_error(503, "ocr_timeout", side, f"id_card.{side} was not read within "
                          f"{settings.id_card_timeout_seconds:.0f} s (id_card_timeout_seconds)")
    except CardImageError as exc:
        status, code = CARD_ERRORS.get(exc.code, (422, "id_card_unreadable"))
        log.info("ID card %s refused: %s", side, exc.code, extra={"session": row.id})
        return card_error(status, code, side, str(exc))
    fresh = svc.store.get(row.id)
    if fresh is None or not takes_card_images(fresh):
        return card_error(409, "session_ended", side, "the session ended while the card was "
                          "read; card images are taken until it ends")
    try:
        card = record_side(folder, read, fresh.applicant, mask=settings.id_mask,
                           day=date.today(), authority=svc.authority)
    except StorageFull as exc:
        log.warning("ID card %s not kept (503 storage_full): %s", side, exc.strerror,
                    extra={"session": row.id})
        return error(503, "storage_full", f"{exc.strerror}; try again later")
    return jsonify({"session_id": row.id, "side": side, **card})


# The pre-review's verdicts as the back office reads them.
REVIEW_VERDICTS = {"clear": "clear", "needs_attention": "attention", "suggested_reject": "reject"}


def _evidence_elsewhere(row, exc: BagUnavailable):
    """The answer for a sealed session whose bag this node cannot read now: a 307 to the
    sealing node through the balancer while it is live, else 503 ``evidence_unavailable``."""
    log.warning("pre-review not available on this node (%s)", exc.reason,
                extra={"session": row.id})
    # The sealing node has the bag (no object store, or the archive not uploaded yet).
    where = owner_location(services().settings, services().cluster, row.node_id,
                           request.script_root, request.full_path.rstrip("?"))
    if where is not None:
        return redirect(where, code=307)
    node = f" (sealed on node {row.node_id})" if row.node_id else ""
    body, status = error(503, "evidence_unavailable",
                         f"the sealed evidence is not readable on this node now: {exc}{node}; "
                         "try again")
    body.headers["Retry-After"] = "30"
    return body, status


@bp.get("/sessions/<session_id>/review")
@require_api_key
def get_session_review(session_id: str):
    """The AI pre-review of a sealed session: verdict clear | attention | reject, with reasons.

    Any node answers the same: the bag is this node's, else the archive in the object store
    (fetched once, checked and verified; kiosk.evidence.bags). 409 ``not_sealed`` until the
    session has ended and its evidence is sealed; 503 ``evidence_unavailable`` (with
    Retry-After) when the evidence cannot be read on this node now (no object store and the
    bag on another node, the archive not uploaded yet, the store unreachable), never a verdict.
    """
    row = _session_row(session_id)
    if row is None:
        return error(404, "not_found", "no such session")
    if row.sealed_at is None or not row.package_id:
        return error(409, "not_sealed", "the session's evidence is not sealed yet")
    try:
        check_package_id(row.package_id)
        bag = services().sealer.bags.bag(row.package_id)
    except BagUnavailable as exc:
        own = row.node_id in (None, services().node_id)
        if exc.reason != "not_sealed_here" or not own:
            return _evidence_elsewhere(row, exc)
        bag = None  # this node's own package, its bag gone and no object store
    except (EvidenceError, OSError):
        bag = None
    try:
        if bag is None:
            raise EvidenceError(f"{row.package_id}: the package folder is not on this node")
        pre = build_prereview(bag)
    except (EvidenceError, OSError) as exc:  # a folder not listable: never a 500
        why = (f"evidence unreadable: {exc.file}: {exc.why}" if isinstance(exc, PrereviewError)
               else "evidence unreadable by the pre-review")
        log.warning("pre-review of a sealed session failed (%s)", type(exc).__name__,
                    extra={"session": row.id})
        return jsonify({"session_id": row.id, "verdict": "attention",
                        "reasons": [f"{why}: human review"], "steps": []})
    return jsonify({
        "session_id": row.id,
        "verdict": REVIEW_VERDICTS[pre["verdict"]],
        "reasons": pre["verdict_reasons"],
        "steps": [{"step": st["step"], "kind": st["kind"], "outcome": st["outcome"],
                   "status": st["status"], "reasons": st["reasons"]} for st in pre["steps"]],
    })


@bp.get("/evidence/public-keys")
def public_keys():
    """Every evidence signing key this installation has used: verify packages offline with them."""
    keys = services().evidence_keys
    return jsonify({
        "current_key_id": keys.key_id,
        "keys": {kid: public_key_pem(k).decode() for kid, k in keys.keyring().items()},
    })


@bp.get("/health")
def health():
    """Liveness: 200 while the process serves requests (models may still be loading).

    ``media_loop_lag`` is how late the media loop has woken since the start (ms: samples,
    p50/p95/p99/max/mean, wake-ups over the warning threshold; ``?histogram=1`` adds the
    bucket counts, see ``kiosk.media.loop``). ``draining``: the node takes no new witnesses.
    ``node_id``: this node process (``effective_node_id``). ``process``, only with an API
    key (``X-API-Key``, as ``/api/nodes``): its CPU seconds, RSS (MiB), cores and monotonic
    clock (``kiosk.process_usage.process_usage``; null if it cannot be read), for
    ``kiosk loadtest`` to sample before and after a run; without a key the field is absent,
    since resource figures tell a prober how the node is loaded and sized, and a load
    balancer needs only the status, ``draining`` (and ``/api/ready``).
    With ``redis_url``, ``cluster`` is ``{"node_id", "redis": "ok" | "unreachable",
    "nodes_live"}`` (the nodes themselves: ``GET /api/nodes``, behind the API key).
    """
    svc = services()
    lag = svc.media.lag.snapshot().to_dict(counts=request.args.get("histogram") == "1")
    body = {"ok": True, "live_sessions": len(svc.live()), "warming": svc.warming.names(),
            "draining": svc.draining.is_set(), "media_loop_lag": lag,
            "node_id": svc.settings.effective_node_id}
    if api_key_given():
        try:
            body["process"] = process_usage()
        except psutil.Error:
            body["process"] = None
    if svc.cluster is not None:
        body["cluster"] = _cluster_health(svc.cluster)
    return jsonify(body)


def _cluster_health(cluster) -> dict:
    """This node's id, whether Redis answers and how many nodes are registered (the list
    itself is behind the API key: GET /api/nodes)."""
    info: dict = {"node_id": cluster.node_id, "redis": "ok", "nodes_live": None}
    try:
        info["nodes_live"] = len(cluster.registry.live_nodes())
    except SharedStateError:
        info["redis"] = "unreachable"
    return info


@bp.get("/nodes")
@require_api_key
def nodes():
    """The live nodes of the installation (``redis_url``): ``{"nodes": [{node_id, url, load,
    capacity, draining, seen_at}], "this_node": id}``; one node without Redis: itself only.
    503 ``redis_unreachable`` when Redis does not answer."""
    svc = services()
    if svc.cluster is None:
        s = svc.settings
        me = {"node_id": s.node_id or "local", "url": s.base_url(), "load": len(svc.live()),
              "capacity": node_capacity(s), "draining": svc.draining.is_set(), "seen_at": None}
        return jsonify({"nodes": [me], "this_node": me["node_id"]})
    try:
        live = svc.cluster.registry.live_nodes()
    except SharedStateError as exc:
        log.error("listing nodes failed: %s", exc)
        return error(503, "redis_unreachable", "the node registry (Redis) does not answer")
    return jsonify({"nodes": [n.to_dict() for n in live], "this_node": svc.cluster.node_id})


@bp.get("/capacity")
def capacity():
    """This node's places for new witnesses (``kiosk.witness.admission``): ``{"node_id",
    "capacity", "live", "reserved", "available", "draining", "estimated_wait_s"}``, where
    ``available`` is 0 while draining and ``estimated_wait_s`` (seconds until the first live
    witness is expected to end) is null while a place is free. With ``redis_url``, ``nodes``
    adds every live node's ``{node_id, load, capacity, draining}`` (null while Redis does not
    answer). No API key: it names no session and no person, and a load balancer reads it."""
    svc = services()
    body = svc.capacity().to_dict()
    if svc.cluster is not None:
        try:
            body["nodes"] = [{k: n.to_dict()[k] for k in ("node_id", "load", "capacity",
                                                          "draining")}
                             for n in svc.cluster.registry.live_nodes()]
        except SharedStateError:
            body["nodes"] = None
    return jsonify(body)


@bp.get("/ready")
def ready():
    """Readiness: 200 once the face and speech models are loaded, else 503 with what is loading.

    A node that answers 503 should get no new investors: the first seconds of a witness on a
    cold node are not analysed while the models load. Also 503 while the node drains
    (``{"draining": true}``) and, with ``redis_url``, while Redis does not answer
    (``{"redis": "unreachable"}``).
    """
    svc = services()
    warming = svc.warming.names()
    if warming:
        return jsonify({"ready": False, "warming": warming}), 503
    if svc.draining.is_set():
        return jsonify({"ready": False, "draining": True}), 503
    if svc.cluster is not None and not svc.cluster.reachable():
        # Its emits, pins and login throttle would be lost: send investors elsewhere.
        return jsonify({"ready": False, "redis": "unreachable"}), 503
    return jsonify({"ready": True})
