"""The broker admin page: list flows and their versions, edit with live validation, play
prompts, dry-run a flow and publish it as an immutable version (docs/flows.md, "Broker page").

``register(app, services)`` is called from ``create_app`` after the review console, whose
staff login, CSRF token and security headers the page shares (kiosk.review.auth).
"""

from __future__ import annotations

from kiosk.broker import views
from kiosk.review.context import EXTENSION as REVIEW
from kiosk.services import KioskServices

__all__ = ["register"]


def register(app, services: KioskServices) -> None:
    """Add the ``broker`` (pages) and ``broker_api`` (JSON) blueprints under /review."""
    if REVIEW not in app.extensions:
        raise RuntimeError("register the review console (kiosk.review.console.register) before the "
                           "broker page: the page uses its staff login and CSRF token")
    if "broker" not in app.blueprints:
        app.register_blueprint(views.bp)
        app.register_blueprint(views.api)
