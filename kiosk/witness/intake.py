"""Opening a witness: the back office's request, checked, becomes a session and a link.

The request models (``CreateSession``, ``Applicant``) are the untrusted input of
``POST /api/sessions``; ``open_witness`` is the domain logic behind it, shared by the API,
the demo page and the review console's "return to the investor".
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from kiosk.flows.versions import resolve_flow
from kiosk.guide.normalise import fold, name_script_problem, normalise_name
from kiosk.identity.numbers import IdNumberError, IdType, characters_problem, parse_id_number
from kiosk.liveness.id_photo import MAX_SIDE, PhotoTooLarge, inspect_photo
from kiosk.protocol import LOCALES
from kiosk.store import WitnessRow

if TYPE_CHECKING:
    from kiosk.config import Settings
    from kiosk.services import KioskServices

log = logging.getLogger(__name__)

class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    # Declared before id_number: its validator reads the type (kiosk/identity/numbers.py).
    id_type: IdType = IdType.PRC_RESIDENT_ID
    # Its length and characters are checked by the validator, in the rule's words (pydantic's
    # own were "String should have at least 5 characters", "Input should be a valid string").
    id_number: str
    id_photo: str | None = Field(default=None, description="base64 JPEG or PNG")

    @field_validator("id_number", mode="before")
    @classmethod
    def _id_text(cls, v: object) -> object:
        if not isinstance(v, str):
            kind = ("a number" if isinstance(v, int | float) and not isinstance(v, bool)
                    else "null" if v is None else type(v).__name__)
            raise PydanticCustomError("id_number", "{rule}", {
                "rule": f"must be a JSON string of 5-32 letters or digits (got {kind}; a number "
                        "loses its leading zeros and cannot hold the X check digit)"})
        return v

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str, info: ValidationInfo) -> str:
        v = fold(v)  # full-width digits and letters (１０５Ｘ) as ASCII
        problem = characters_problem(v)
        if problem is not None:  # without pydantic's "Value error, " prefix, as below
            raise PydanticCustomError("id_number", "{rule}", {"rule": problem})
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
        problem = name_script_problem(name)
        if problem is not None:
            raise ValueError(problem)
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


def open_witness(svc: KioskServices, body: CreateSession) -> tuple[WitnessRow, str]:
    """Create a session and its folder from a validated request; returns (row, link token).

    The session is bound to the latest published version of the flow (the flows_dir file
    while it was never published). Raises FlowError (unknown or invalid flow), ValueError
    (the flow has no texts in the locale; a bad ID photo), PhotoTooLarge, StorageFull (disk
    full or below ``min_free_mb``).
    """
    # The latest published version; the file itself while a flow was never published.
    flow = resolve_flow(svc, body.flow_id or svc.settings.default_flow)
    if body.locale not in flow.locales:
        raise ValueError(f"flow {flow.id} has no {body.locale} texts")
    photo = None
    if body.applicant.id_photo:
        photo = decode_photo(body.applicant.id_photo, svc.settings.max_id_photo_bytes,
                             svc.settings.max_id_photo_side)
    applicant = {"name": body.applicant.name, "id_type": body.applicant.id_type.value,
                 "id_number": body.applicant.id_number,
                 "has_id_photo": photo is not None}
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


def witness_url(settings: Settings, token: str) -> str:
    """The investor's link for ``token`` on this server's public address."""
    return f"{settings.base_url()}/w/{token}"
