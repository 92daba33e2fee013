"""The vocabulary shared by the server, the investor's page and the reviewer.

One place for every name that crosses a boundary:

- ``ServerEvent``: Socket.IO events the server sends to the page (``static/investor/socket.js``
  handles each one; ``SERVER_ONLY`` lists any it may ignore, with the reason).
- ``PageEvent``: events the page sends; each has a handler in ``kiosk.web.events`` and a rate
  limit in ``kiosk.config.SOCKET_EVENT_LIMITS``. Their payloads are the pydantic models below.
- ``TimelineEvent``: the ``type`` of every event written to a session's ``timeline.jsonl``;
  ``CheckEvent``: the ``type`` of the events in ``checks/liveness.json``. The AI pre-review
  (``kiosk.review.prereview``) keys its rules on these.
- ``HintCode``, ``ErrorCode``, ``StepOutcome``, ``StepKind``, ``AnswerDecision``,
  ``ClientErrorCode``, ``LOCALES``; ``REFERRED``, the end reason of a witness referred to a
  human agent (``referred:<step id>``).

The enums are ``StrEnum``: a member is the plain string (``TimelineEvent.JOINED == "joined"``),
so the wire format and the on-disk timeline are exactly the strings they always were, and
records written before this module existed read the same. ``tests/test_protocol.py`` checks
this module against the page's script and against what ``kiosk/`` records.

Inbound models validate one page message each; ``parse_message`` turns anything else (not an
object, wrong types, out of range) into ``None`` so a handler answers ``bad_message`` (or the
specific error it always gave) and never raises.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)

# The investor-facing languages, re-exported: defined in kiosk.locales, which imports nothing,
# so that a command's options can offer them without loading pydantic.
from kiosk.locales import DEFAULT_LOCALE as DEFAULT_LOCALE
from kiosk.locales import LOCALES as LOCALES

# ---------------------------------------------------------------- socket events


class ServerEvent(StrEnum):
    """Server -> page (docs/architecture.md, "Socket.IO protocol")."""

    JOINED = "joined"
    ANSWER = "answer"
    STEP = "step"
    WINDOW_OPEN = "window_open"
    WINDOW_CLOSE = "window_close"
    HINT = "hint"
    CHALLENGE = "challenge"  # the liveness action the investor should do now
    CHALLENGE_RESULT = "challenge_result"  # that action was seen (or its time ran out)
    CARD_SIDE = "card_side"  # the ID card side to hold up now (an id_document step)
    RECOGNISED = "recognised"
    FINISHED = "finished"
    ABORTED = "aborted"
    ERROR = "error"


# Server events the page may leave unhandled, each with the reason. None today: every event
# the server sends changes what the investor sees.
SERVER_ONLY: dict[ServerEvent, str] = {}


class PageEvent(StrEnum):
    """Page -> server."""

    JOIN = "join"
    OFFER = "offer"
    PROMPT_STARTED = "prompt_started"
    PROMPT_ENDED = "prompt_ended"
    PROMPT_BLOCKED = "prompt_blocked"
    PROMPT_REPLAYED = "prompt_replayed"
    HEARTBEAT = "heartbeat"
    CANCEL = "cancel"
    PREFS = "prefs"
    CLIENT_ERROR = "client_error"


class HintCode(StrEnum):
    """Framing hints (``hint {code}``); ``code: null`` clears the hint."""

    FACE_IN_FRAME = "face_in_frame"
    ONE_PERSON = "one_person"
    MORE_LIGHT = "more_light"
    CLOSER = "closer"
    FURTHER = "further"
    TURN_MORE = "turn_more"
    # An ID card held up to the camera (kiosk.idcard.frames, during an id_document step).
    CARD_CORNERS = "card_corners"  # all four corners in view
    CARD_CLOSER = "card_closer"
    CARD_STILL = "card_still"
    CARD_GLARE = "card_glare"
    CARD_TURN = "card_turn"  # the side shown is still the one before: turn the card over


class ClientErrorCode(StrEnum):
    """What the page may report with ``client_error {code}`` (recorded on the timeline)."""

    PERMISSION_DENIED = "permission_denied"
    NO_CAMERA = "no_camera"
    CAMERA_IN_USE = "camera_in_use"
    UNSUPPORTED_BROWSER = "unsupported_browser"
    NO_MICROPHONE = "no_microphone"
    MEDIA_ERROR = "media_error"


class ErrorCode(StrEnum):
    """The codes of ``error {code, message}`` (server -> page; docs/architecture.md).
    ``static/investor/protocol.js`` sorts them for the page: ``LINK_ERRORS``,
    ``BUSY_ERRORS`` and ``SOFT_ERRORS`` are the groups below (``tests/test_protocol.py``)."""

    LINK_INVALID = "link_invalid"
    LINK_EXPIRED = "link_expired"
    LINK_USED = "link_used"
    BAD_OFFER = "bad_offer"
    NO_CAMERA = "no_camera"
    NO_MICROPHONE = "no_microphone"
    UNSUPPORTED_BROWSER = "unsupported_browser"
    BAD_MESSAGE = "bad_message"
    OUT_OF_ORDER = "out_of_order"
    SERVER_ERROR = "server_error"
    WITNESS_BUSY = "witness_busy"
    NODE_DRAINING = "node_draining"
    # The data disk is full (or below min_free_mb): no witness can be stored now; the link is
    # still unused, and the investor tries again later.
    STORAGE_FULL = "storage_full"
    # Not an ``error`` event: the data of a refused Socket.IO connection (too many sockets).
    SERVER_BUSY = "server_busy"


# The link itself cannot be used (again).
LINK_ERRORS = frozenset({ErrorCode.LINK_INVALID, ErrorCode.LINK_EXPIRED, ErrorCode.LINK_USED})
# No place for a witness now (kiosk.witness.admission): the link is still unused, and the page
# tries again by itself after retry_after_s.
BUSY_ERRORS = frozenset({ErrorCode.WITNESS_BUSY, ErrorCode.NODE_DRAINING})
# One message is refused; the witness goes on.
SOFT_ERRORS = frozenset({ErrorCode.BAD_MESSAGE, ErrorCode.OUT_OF_ORDER})


class StepOutcome(StrEnum):
    """How a step's answer or observation was judged (``kiosk.session.StepResult``)."""

    PASS = "pass"
    UNVERIFIED = "unverified"  # nothing could judge it: a human must
    RETRY = "retry"
    FLAG = "flag"
    STOP = "stop"  # the investor said no


# The end reason of a witness referred to a human agent: ``referred:<step id>``, after the last
# attempt of a step with ``on_fail: refer`` failed (``kiosk.session``). It ends ``aborted``, its
# evidence sealed as any aborted witness's; the page tells the investor that a member of staff
# continues (``static/investor/protocol.js`` ABORT_REASONS), and the pre-review flags the
# case ``referred`` naming the step (``kiosk.review.prereview``). This is the prefix; the step
# id follows the colon, as in ``step_failed:<step id>``.
REFERRED = "referred"


def referred_reason(step_id: str) -> str:
    """The end reason of a witness referred at step ``step_id``: ``"referred:<step_id>"``."""
    return f"{REFERRED}:{step_id}"


def referred_step(reason: object) -> str | None:
    """The step id of a ``referred:<step id>`` end reason; None for any other reason (or a
    value that is not text)."""
    if not isinstance(reason, str) or not reason.startswith(REFERRED + ":"):
        return None
    return reason[len(REFERRED) + 1:] or None


# The ``reason_code`` values of an answer of doubt to a question step, written by the witness
# judge (``kiosk.witness.judge.reason_code``) and read by the pre-review
# (``kiosk.review.prereview.doubt_code``): a consent after one of these never clears a case.
DOUBT_CODES = frozenset({"coerced", "question", "hesitation", "refusal", "negation"})


class StepKind(StrEnum):
    """The ``kind`` of a flow step (``kiosk.flows.model``), as the plan, the page's ``step``
    message and the timeline's ``step_started`` carry it."""

    SAY = "say"
    QUESTION = "question"
    READ_ALOUD = "read_aloud"
    CHALLENGE = "challenge"
    SHOW_ID = "show_id"
    ID_DOCUMENT = "id_document"
    WAIT = "wait"


class AnswerDecision(StrEnum):
    """What an ``answer_recognised`` event says the investor answered (``decision``): only a
    decided answer (``kiosk.witness.judge.OUTCOME_DECISION``) is agree or disagree."""

    AGREE = "agree"
    DISAGREE = "disagree"
    UNCLEAR = "unclear"


# ---------------------------------------------------------------- timeline


class TimelineEvent(StrEnum):
    """The ``type`` of a timeline event (``kiosk/timeline.py`` documents the format)."""

    # the state machine (kiosk.session)
    JOINED = "joined"
    MEDIA_CONNECTED = "media_connected"
    STEP_STARTED = "step_started"
    STEP_COMPLETED = "step_completed"
    STEP_RESULT = "step_result"
    WINDOW_OPENED = "window_opened"
    WINDOW_CLOSED = "window_closed"
    PROMPT_UNCONFIRMED = "prompt_unconfirmed"
    FINISHED = "finished"
    ABORTED = "aborted"
    FAILED = "failed"
    # the witness runner
    WITNESS_PLANNED = "witness_planned"
    DISPLAY_PREFS = "display_prefs"
    PROMPT_SENT = "prompt_sent"
    PROMPT_STARTED = "prompt_started"
    PROMPT_ENDED = "prompt_ended"
    PROMPT_BLOCKED = "prompt_blocked"
    PROMPT_REPLAYED = "prompt_replayed"
    GUIDE_DEGRADED = "guide_degraded"
    ANSWER_ENDPOINTED = "answer_endpointed"
    ANSWER_RECOGNISED = "answer_recognised"
    RECORDING_FINALISED = "recording_finalised"
    RECORDING_MISSING = "recording_missing"
    KEYFRAMES_EXTRACTED = "keyframes_extracted"
    KEYFRAMES_MISSING = "keyframes_missing"
    # signalling and the page
    OFFER_RECEIVED = "offer_received"
    OFFER_REFUSED = "offer_refused"
    ANSWER_SENT = "answer_sent"
    CANDIDATES_DROPPED = "candidates_dropped"
    CLIENT_ERROR = "client_error"
    CLIENT_FLOOD = "client_flood"
    CLIENT_MESSAGE_REFUSED = "client_message_refused"
    # the face observer
    LIVENESS_SAMPLE = "liveness_sample"
    LIVENESS_UNAVAILABLE = "liveness_unavailable"
    LIVENESS_REPORT = "liveness_report"
    CHALLENGE_RESULT = "challenge_result"
    ID_PHOTO_UNUSABLE = "id_photo_unusable"
    # the card capture (kiosk.witness.live_card): one card side shown on camera, read or not
    ID_CARD_CAPTURED = "id_card_captured"
    # the timeline writer itself
    REPEATS_COUNTED = "repeats_counted"


class CheckEvent(StrEnum):
    """The ``type`` of a problem event in ``checks/liveness.json`` (``kiosk.liveness``).

    Passed challenges are listed there too, under their challenge name (``blink``, ...).
    """

    FACE_LOST = "face_lost"
    MULTIPLE_FACES = "multiple_faces"
    SECOND_FACE_GLIMPSE = "second_face_glimpse"
    # A second face that did not move for a whole sighting: a picture, not a person (info).
    STILL_SECOND_FACE = "still_second_face"
    TOO_DARK = "too_dark"
    IDENTITY_CHANGE = "identity_change"
    # Far samples that end the session before a change could be confirmed (a flag).
    IDENTITY_UNCONFIRMED = "identity_unconfirmed"
    # Face time that could not be compared with the enrolled face, too long (a flag).
    IDENTITY_UNVERIFIED = "identity_unverified"
    # No good sample matched the enrolled face after the last answer, and the face time since
    # the last match is too long: who was on camera at the end is not known (a flag).
    IDENTITY_END_UNCONFIRMED = "identity_end_unconfirmed"
    # Speech was heard during an answer but the face on camera did not move its mouth
    # (lip-movement check; a flag: someone else may have answered).
    ANSWER_NOT_SEEN_SPOKEN = "answer_not_seen_spoken"
    # Speech was heard during an answer but too few frames showed the face to tell (a flag).
    SPEAKING_UNVERIFIED = "speaking_unverified"


# ---------------------------------------------------------------- inbound payloads

# Prompt sequence numbers are small counters; anything else is not one of ours.
MAX_SEQ = 10**6
MAX_REASON_CHARS = 100
MAX_TOKEN_CHARS = 128

Seq = Annotated[int, Field(strict=True, ge=0, lt=MAX_SEQ)]


def _none_if_invalid(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A field that is wrong is dropped (None), not an error for the whole message."""
    try:
        return handler(value)
    except ValidationError:
        return None


class _Inbound(BaseModel):
    # Extra keys are ignored, as the handlers always did; the page may send more in future.
    model_config = ConfigDict(extra="ignore", frozen=True)


class JoinMessage(_Inbound):
    """``join {token}``. A token that is not a string of at most ``MAX_TOKEN_CHARS`` is None,
    which the store refuses as ``link_invalid``."""

    token: Annotated[
        str | None, Field(strict=True, max_length=MAX_TOKEN_CHARS),
        WrapValidator(_none_if_invalid),
    ] = None


class OfferMessage(_Inbound):
    """``offer {sdp, type: "offer"}``. The SDP itself (text, size cap ``max_sdp_bytes``, one
    video and at most one audio section) is checked by ``kiosk.media.peer.validate_offer``,
    which names exactly what is wrong with it."""

    sdp: Any = None
    type: Literal["offer"] = "offer"


class PromptReport(_Inbound):
    """``prompt_started`` / ``prompt_ended`` / ``prompt_replayed`` ``{step, seq}``; the
    server knows the step of a seq it sent, so ``step`` is not read."""

    seq: Seq


class PromptBlocked(PromptReport):
    """``prompt_blocked {step, seq, reason}``: ``reason`` is kept as text, cut to
    ``MAX_REASON_CHARS``."""

    reason: str = "None"

    @field_validator("reason", mode="before")
    @classmethod
    def _as_text(cls, v: Any) -> str:
        return str(v)[:MAX_REASON_CHARS]


def _known_locale(v: str) -> str:
    if v not in LOCALES:
        raise ValueError(f"locale must be one of {', '.join(LOCALES)}")
    return v


def _a_number(v: Any) -> Any:
    # Not a bool (True is an int), not a numeric string, not NaN.
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
        raise ValueError("speed must be a number")
    return v


class PrefsMessage(_Inbound):
    """``prefs {locale, speed, captions}``: each field that is missing or wrong is None (and
    not applied); the rest are. ``speed`` is a playback rate from 0.5 to 2."""

    locale: Annotated[str | None, Field(strict=True), AfterValidator(_known_locale),
                      WrapValidator(_none_if_invalid)] = None
    speed: Annotated[float | None, BeforeValidator(_a_number), Field(ge=0.5, le=2),
                     WrapValidator(_none_if_invalid)] = None
    captions: Annotated[bool | None, Field(strict=True), WrapValidator(_none_if_invalid)] = None

    def changes(self) -> dict[str, Any]:
        """The valid fields, as the session's display prefs."""
        return self.model_dump(exclude_none=True)


class ClientErrorMessage(_Inbound):
    """``client_error {code}``."""

    code: ClientErrorCode


# Each page event's payload model; None: the payload is not read (heartbeat, cancel).
INBOUND: dict[PageEvent, type[_Inbound] | None] = {
    PageEvent.JOIN: JoinMessage,
    PageEvent.OFFER: OfferMessage,
    PageEvent.PROMPT_STARTED: PromptReport,
    PageEvent.PROMPT_ENDED: PromptReport,
    PageEvent.PROMPT_BLOCKED: PromptBlocked,
    PageEvent.PROMPT_REPLAYED: PromptReport,
    PageEvent.HEARTBEAT: None,
    PageEvent.CANCEL: None,
    PageEvent.PREFS: PrefsMessage,
    PageEvent.CLIENT_ERROR: ClientErrorMessage,
}

M = TypeVar("M", bound=_Inbound)


def parse_message(model: type[M], data: Any) -> M | None:
    """``data`` as ``model``, or None when it is not an object or does not fit the model."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return None
    try:
        return model.model_validate(data)
    except ValidationError:
        return None
