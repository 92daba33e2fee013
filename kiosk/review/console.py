"""Wiring the auditor console into a Flask app.

``register(app, services)`` is called from ``create_app``; it adds the ``review`` (pages) and
``review_api`` (JSON) blueprints under ``/review``, creates the review tables on the store's
engine, sets the console cookie policy and starts the queue poller.
"""

from __future__ import annotations

import logging
import threading

from flask import has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.exc import SQLAlchemyError

from kiosk.errors import EvidenceError
from kiosk.review import (
    api,
    auth,
    models,  # registers the tables on Base
    views,
)
from kiosk.review.bucket import BucketMedia
from kiosk.review.context import EXTENSION
from kiosk.review.service import ReviewConfig, ReviewService
from kiosk.services import KioskServices
from kiosk.store import Base
from kiosk.utc import utcnow

log = logging.getLogger(__name__)

__all__ = ["register"]


def register(app, services: KioskServices, config: dict | None = None, clock=None) -> None:
    """Wire the console into ``app``; ``config`` overrides ``app.config['REVIEW']``."""
    cfg = ReviewConfig.from_mapping(config if config is not None else app.config.get("REVIEW"))
    previous = app.extensions.get(EXTENSION)
    if previous is not None:
        previous.poller_stop.set()  # registered again (tests: another clock or config)
    Base.metadata.create_all(services.store.engine)
    models.upgrade_schema(services.store.engine)
    svc = ReviewService(services.store, services.settings.data_dir / "evidence", cfg,
                        clock=clock or utcnow, keys=services.evidence_keys,
                        ledger=services.ledger,
                        public_origin=auth.web_origin(services.settings.public_url),
                        client_address=auth.client_address, kiosk=services,
                        bucket=(BucketMedia(services.sealer.objects)
                                if services.sealer.objects is not None else None),
                        bags=services.sealer.bags)
    app.extensions[EXTENSION] = svc
    _reconcile_at_start(svc)
    https = services.settings.base_url().startswith("https://")
    app.config.update(
        SESSION_COOKIE_SECURE=https,
        SESSION_COOKIE_HTTPONLY=True,
        # Strict: the console is never entered from another site with a live session.
        SESSION_COOKIE_SAMESITE="Strict",
    )

    app.session_interface = RequestSchemeSessions()
    if previous is None:
        for bp in (views.bp, api.bp):
            app.register_blueprint(bp)
    if cfg.poll_seconds > 0:
        _start_poller(svc, cfg.poll_seconds)


class RequestSchemeSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie ``Secure`` also when the request came
    over https without ``public_url``: through TLS, or behind a trusted proxy whose
    X-Forwarded-Proto says https (``trusted_proxy_hops``; ProxyFix sets the scheme only
    then, so a client cannot forge it)."""

    def get_cookie_secure(self, app) -> bool:
        return bool(super().get_cookie_secure(app)
                    or (has_request_context() and request.is_secure))


def _reconcile_at_start(svc: ReviewService) -> None:
    """Case rows follow the decisions the ledger holds (an append whose row was lost to a
    full disk or a crash); what cannot be written now is retried on the next queue view."""
    try:
        svc.reconcile_decisions()
    except (EvidenceError, OSError, SQLAlchemyError) as exc:  # `kiosk ledger verify` names
        # an unreadable ledger; a database that does not answer fails the server elsewhere
        log.warning("decisions not reconciled with the ledger at start: %s",
                    type(exc).__name__ if isinstance(exc, SQLAlchemyError) else exc)


def _start_poller(svc, every: float) -> None:
    stop = svc.poller_stop

    def run():
        while not stop.wait(every):
            if svc.kiosk is not None and svc.kiosk.closed.is_set():
                return  # the server shut down
            try:
                svc.poll()
            except Exception:
                log.exception("review queue poll failed")
            if svc.kiosk is not None:
                try:  # links that expired unused: their ID numbers are no longer needed
                    svc.store.forget_expired_id_numbers(svc.kiosk.settings.id_mask)
                except Exception:
                    log.exception("masking the ID numbers of expired links failed")

    threading.Thread(target=run, name="review-poller", daemon=True).start()
