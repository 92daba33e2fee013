"""The small exception hierarchy shared by every part of the kiosk."""

from kiosk.protocol import LINK_ERRORS, ErrorCode


class KioskError(Exception):
    """Base class: every error the kiosk raises on purpose."""


class ConfigError(KioskError):
    """Settings are missing or wrong; the message says which and how to fix it."""


class FlowError(KioskError):
    """A flow script is invalid. ``problems`` holds every problem found."""

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = problems or []


class MediaError(KioskError):
    """WebRTC negotiation, recording or finalising failed."""


class SignallingError(MediaError):
    """An offer or socket message from the browser was refused (bad input).

    ``code`` is the ``error`` event's code (a ``kiosk.protocol.ErrorCode``) the page shows a
    message for: ``bad_offer`` (try again), ``no_camera`` or ``no_microphone`` (allow or connect
    one) or ``unsupported_browser`` (update it). ValueError for a code that is not an ``ErrorCode``.
    """

    def __init__(self, message: str, code: ErrorCode | str = ErrorCode.BAD_OFFER):
        super().__init__(message)
        self.code = ErrorCode(code)


class OutOfOrder(KioskError):
    """A message from the page that does not fit the witness now (a second offer, an offer
    after the end); the page gets an ``error`` with code ``out_of_order`` and this message."""

    code = ErrorCode.OUT_OF_ORDER


class GuideError(KioskError):
    """Rendering a spoken prompt failed or timed out."""


class EvidenceError(KioskError):
    """Sealing or verifying an evidence package failed."""


class AuthError(KioskError):
    """A caller is not allowed to do what it asked."""


class LinkError(AuthError):
    """An investor link is unknown, expired or already used: ``code`` is ``link_invalid``,
    ``link_expired`` or ``link_used`` (a ``kiosk.protocol.ErrorCode``; ValueError for any
    other)."""

    def __init__(self, code: ErrorCode | str, message: str):
        super().__init__(message)
        self.code = ErrorCode(code)
        if self.code not in LINK_ERRORS:
            raise ValueError(f"a link error's code is one of {', '.join(sorted(LINK_ERRORS))}, "
                             f"not {code!r}")


class StorageFull(KioskError, OSError):
    """The data disk is full (ENOSPC, EDQUOT) or below the configured free-space floor.

    An ``OSError`` too, so code that already handles failed writes keeps handling it.
    """


class SharedStateError(KioskError):
    """The state shared by the nodes (Redis, ``redis_url``) could not be reached or refused a
    command; the message names the server, never its password."""
