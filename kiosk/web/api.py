"""The back-office REST API: create witness sessions, read their state."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
from functools import wraps

from flask import Blueprint, current_app, jsonify, request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from kiosk.errors import FlowError, StorageFull
from kiosk.guide.normalise import fold, normalise_name
from kiosk.identity.numbers import IdNumberError, IdType, parse_id_number
from kiosk.liveness.id_photo import MAX_SIDE, PhotoTooLarge, inspect_photo
from kiosk.protocol import LOCALES

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

_ID_NUMBER = re.compile(r"^[0-9A-Za-z]{5,32}$")


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    # Declared before id_number: its validator reads the type (kiosk/identity/numbers.py).
    id_type: IdType = IdType.PRC_RESIDENT_ID
    id_number: str = Field(min_length=5, max_length=32)
    id_photo: str | None = Field(default=None, description="base64 JPEG or PNG")

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str, info: ValidationInfo) -> str:
        v = fold(v)  # full-width digits and letters (１０５Ｘ) as ASCII
        if not _ID_NUMBER.match(v):
            raise ValueError("must be 5-32 letters or digits")
        id_type = info.data.get("id_type")
        if id_type is None:  # the type itself is invalid and reported on its own
            return v
        try:
            return parse_id_number(id_type, v).number
        except IdNumberError as exc:
            # The rule's own words, without pydantic's "Value error, " prefix.
            raise PydanticCustomError("id_number", "{rule}", {"rule": str(exc)}) from None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if any(ord(c) < 32 for c in v) or "{" in v or "}" in v:
            raise ValueError("must not contain control characters or braces")
        # Stored as sent, normalised: NFC, every middle-dot look-alike (U+30FB, U+2022, ...)
        # as U+00B7, whitespace trimmed and single; the guide reads it with its readings.
        name = normalise_name(v)
        if not name:
            raise ValueError("must not be blank")
        return name


class CreateSession(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applicant: Applicant
    locale: str = "zh-CN"
    flow_id: str | None = None
    external_ref: str | None = Field(default=None, max_length=128)

    @field_validator("locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        if v not in LOCALES:
            raise ValueError(f"must be one of {', '.join(LOCALES)}")
        return v


def services():
    return current_app.extensions["kiosk"]


def error(status: int, code: str, message: str, **extra):
    return jsonify({"error": code, "message": message, **extra}), status


def require_api_key(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        keys = services().settings.api_keys
        given = request.headers.get("X-API-Key") or ""
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            given = auth[7:]
        if not keys or not any(hmac.compare_digest(given.encode(), k.encode()) for k in keys):
            return error(401, "unauthorized", "a valid API key is required (X-API-Key header)")
        return fn(*args, **kwargs)

    return wrapper


def decode_photo(data: str, limit: int, max_side: int = MAX_SIDE) -> bytes:
    """The ID photo's bytes, checked before anything decodes its pixels.

    PhotoTooLarge (a 400) over ``limit`` bytes, or over ``max_side`` pixels on either side as
    its header states (a decompression bomb is refused here, never decoded); ValueError (a 422)
    for bad base64 or anything but a readable JPEG or PNG.
    """
    if len(data) > (limit + 2) // 3 * 4 + 4:  # refuse before decoding the base64 too
        raise PhotoTooLarge(f"id_photo is larger than the limit of {limit} bytes "
                            "(max_id_photo_bytes)")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("id_photo is not valid base64") from None
    if len(raw) > limit:
        raise PhotoTooLarge(f"id_photo is larger than the limit of {limit} bytes "
                            "(max_id_photo_bytes)")
    if not (raw.startswith(b"\xff\xd8\xff") or raw.startswith(b"\x89PNG\r\n\x1a\n")):
        raise ValueError("id_photo must be a JPEG or PNG image")
    inspect_photo(raw, max_side)
    return raw


def create_session(body: CreateSession):
    """Create a session and its folder; returns (row, token).

    Raises FlowError, ValueError, StorageFull (disk full or below ``min_free_mb``).
    """
    svc = services()
    from kiosk.flows.versions import resolve_flow

    # The latest published version; the file itself while a flow was never published.
    flow = resolve_flow(svc, body.flow_id or svc.settings.default_flow)
    if body.locale not in flow.locales:
        raise ValueError(f"flow {flow.id} has no {body.locale} texts")
    photo = None
    if body.applicant.id_photo:
        photo = decode_photo(body.applicant.id_photo, svc.settings.max_id_photo_bytes,
                             svc.settings.max_id_photo_side)
    applicant = {"name": body.applicant.name, "id_type": body.applicant.id_type.value,
                 "id_number": body.applicant.id_number, "has_id_photo": photo is not None}
    # The session is bound to this exact script: it runs from this copy, whatever is edited
    # or published later.
    files = {"flow.yaml": flow.source_text.encode("utf-8")}
    if photo is not None:
        ext = "jpg" if photo.startswith(b"\xff\xd8") else "png"
        files[f"id_photo.{ext}"] = photo
    row, token = svc.store.create(flow=flow, locale=body.locale, applicant=applicant,
                                  ttl_seconds=svc.settings.link_ttl_seconds,
                                  external_ref=body.external_ref, files=files)
    log.info("session created (flow %s v%s, %s)", flow.id, flow.version, body.locale,
             extra={"session": row.id})
    return row, token


def investor_url(token: str) -> str:
    return f"{services().settings.base_url()}/w/{token}"


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
        row, token = create_session(body)
    except FlowError as exc:
        return error(404, "unknown_flow", str(exc))
    except PhotoTooLarge as exc:
        return error(400, "id_photo_too_large", str(exc))
    except StorageFull as exc:
        log.error("session refused: %s", exc.strerror)
        return error(503, "storage_full", f"{exc.strerror}; try again later")
    except ValueError as exc:
        return error(422, "invalid", str(exc))
    return jsonify({
        "session_id": row.id,
        "investor_url": investor_url(token),
        "expires_at": row.expires_at.isoformat() + "Z",
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
    row = _session_row(session_id)
    if row is None:
        return error(404, "not_found", "no such session")
    info = row.public()
    # The DB row turns terminal only after the recording is finalised (see controller._finalise).
    info["finalised"] = row.state in ("finished", "aborted", "failed")
    rec = services().store.session_dir(session_id) / "recording.webm"
    # Relative to the session folder: the server's own paths are not the back office's business.
    info["recording"] = rec.name if info["finalised"] and rec.exists() else None
    info["recording_frames"] = row.recording_frames
    return jsonify(info)


# The pre-review's verdicts as the back office reads them.
REVIEW_VERDICTS = {"clear": "clear", "needs_attention": "attention", "suggested_reject": "reject"}


@bp.get("/sessions/<session_id>/review")
@require_api_key
def get_session_review(session_id: str):
    """The AI pre-review of a sealed session: verdict clear | attention | reject, with reasons.

    409 ``not_sealed`` until the session has ended and its evidence is sealed.
    """
    from kiosk.errors import EvidenceError
    from kiosk.evidence.package import check_package_id
    from kiosk.review.prereview import build_prereview

    row = _session_row(session_id)
    if row is None:
        return error(404, "not_found", "no such session")
    if row.sealed_at is None or not row.package_id:
        return error(409, "not_sealed", "the session's evidence is not sealed yet")
    try:
        check_package_id(row.package_id)
        pre = build_prereview(services().settings.data_dir / "evidence" / row.package_id)
    except EvidenceError as exc:
        log.warning("pre-review of a sealed session failed: %s", exc, extra={"session": row.id})
        return jsonify({"session_id": row.id, "verdict": "attention",
                        "reasons": ["evidence unreadable by the pre-review: human review"],
                        "steps": []})
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
    from kiosk.evidence.keys import public_key_pem

    keys = getattr(services(), "evidence_keys", None)
    if keys is None:
        return error(503, "unavailable", "evidence signing is not configured")
    return jsonify({
        "current_key_id": keys.key_id,
        "keys": {kid: public_key_pem(k).decode() for kid, k in keys.keyring().items()},
    })


@bp.get("/health")
def health():
    """Liveness: 200 while the process serves requests (models may still be loading).

    ``media_loop_lag`` is how late the media loop has woken since the start (ms: samples,
    p50/p95/p99/max/mean, wake-ups over the warning threshold; ``?histogram=1`` adds the
    bucket counts, see ``kiosk.media.loop``).
    """
    svc = services()
    lag = svc.media.lag.snapshot().to_dict(counts=request.args.get("histogram") == "1")
    return jsonify({"ok": True, "live_sessions": len(svc.live()),
                    "warming": sorted(svc.warming), "media_loop_lag": lag})


@bp.get("/ready")
def ready():
    """Readiness: 200 once the face and speech models are loaded, else 503 with what is loading.

    A node that answers 503 should get no new investors: the first seconds of a witness on a
    cold node are not analysed while the models load.
    """
    warming = sorted(services().warming)
    if warming:
        return jsonify({"ready": False, "warming": warming}), 503
    return jsonify({"ready": True})
