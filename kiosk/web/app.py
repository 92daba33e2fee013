"""``create_app(settings)``: the Flask app, its Socket.IO server and the kiosk services."""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Any

from flask import Flask
from flask_socketio import SocketIO

from kiosk.atomic_files import write_atomic
from kiosk.broker import register as register_broker
from kiosk.cluster.routing import NodePathPrefix
from kiosk.config import Settings, load_settings
from kiosk.context import EXTENSION
from kiosk.evidence.keys_db import shared_secret
from kiosk.liveness.identity import shared_describer
from kiosk.recovery import recover_interrupted, watch_lost_nodes
from kiosk.resources import STATIC_DIR
from kiosk.review.console import register as register_review
from kiosk.services import KioskServices, build_services
from kiosk.web import api, events, guard, pages
from kiosk.web.bodies import limit_bodies

log = logging.getLogger(__name__)


def _secret_key(settings: Settings, services: KioskServices) -> str:
    """``secret_key``; else, with several nodes, the one generated into the shared database;
    else the one generated into this node's data_dir."""
    if settings.secret_key:
        return settings.secret_key
    if settings.shared_state:
        return shared_secret(services.store.engine, "flask_secret")
    path = settings.data_dir / "secret_key"
    if not path.exists():
        write_atomic(path, secrets.token_hex(32).encode("ascii"))  # 0600 from the start
    return path.read_text().strip()


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app; ``app.extensions['kiosk']`` holds the services, ['socketio'] the server."""
    settings = settings or load_settings()
    settings.ensure_dirs()
    app = Flask(
        __name__,
        static_folder=str(STATIC_DIR),
        static_url_path="/static",
        template_folder="templates",
    )
    services = build_services(settings)
    app.config.update(
        SECRET_KEY=_secret_key(settings, services),
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_AS_ASCII=False,
    )
    socketio = SocketIO(
        app,
        async_mode="threading",  # never eventlet/gevent: they break aiortc's decoder threads
        ping_interval=settings.socket_ping_interval,
        ping_timeout=settings.socket_ping_timeout,
        max_http_buffer_size=settings.max_socket_message_bytes,
        cors_allowed_origins=None,  # same origin only
        logger=False,
        engineio_logger=False,
        json=guard.socket_json(settings.max_json_depth),
        # Several nodes: an emit on any node reaches clients connected to the others
        # (python-socketio's RedisManager: a listener thread per process, threading mode).
        **_message_queue(settings),
    )
    guard.quiet_refusals()
    # Every body capped before it is read and read within request_body_seconds, Socket.IO's
    # polling included: wrapped around Socket.IO's middleware, inside the node prefix and
    # ProxyFix below (they only rewrite the path and the address).
    limit_bodies(app, settings)
    if settings.node_routing == "path":
        # /n/<this node>/... is served as /... under that prefix (kiosk.cluster.routing);
        # inside ProxyFix, outside Socket.IO's middleware, which then sees its own path.
        app.wsgi_app = NodePathPrefix(  # type: ignore[method-assign]  # as ProxyFix below
            app.wsgi_app, settings.effective_node_id)
    # Engine.IO reads X-Forwarded-Proto itself, trusted proxies or not: its case too.
    app.wsgi_app = LowerCaseScheme(app.wsgi_app)  # type: ignore[method-assign]  # as ProxyFix
    if settings.trusted_proxy_hops:
        _trust_proxies(app, settings.trusted_proxy_hops)
    app.extensions[EXTENSION] = services
    guard.register(app, settings)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    events.register(socketio, services)
    register_review(app, services)
    register_broker(app, services)
    recover_interrupted(services)
    if services.cluster is not None:
        services.cluster.start()  # registered only once the node can serve
        # Another node that dies mid-witness: its sessions end as node_lost while we run.
        if settings.lost_node_check_seconds:
            watch_lost_nodes(services, settings.lost_node_check_seconds)
    if settings.liveness:
        # Load mediapipe and dlib's models now, not inside the first investor's connection.
        services.warming.add("face")
        threading.Thread(target=_preload_face_models, args=(services,), name="kiosk-preload",
                         daemon=True).start()
    if settings.speech and settings.speech_preload:
        # The recognisers too (Whisper's worker process): the first answer must not wait.
        services.warming.add("speech")
        threading.Thread(target=_preload_speech, args=(services,), name="kiosk-preload-speech",
                         daemon=True).start()
    return app


def _message_queue(settings: Settings) -> dict:
    """SocketIO's message-queue arguments: none for one node, Redis with ``redis_url``.

    The channel carries the key prefix, so installations sharing one Redis do not see each
    other's emits."""
    if not settings.redis_url:
        return {}
    return {"message_queue": settings.redis_url,
            "channel": f"{settings.redis_prefix}socketio"}


def _trust_proxies(app: Flask, hops: int) -> None:
    """Believe the last ``hops`` X-Forwarded-For/-Proto/-Host/-Port values (the proxies'
    own), so request.remote_addr is the client and request.host_url the browser's origin.
    Wrapped outside Socket.IO's middleware, so its same-origin check sees the same."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask documents this wrapping
        LowerCaseScheme(app.wsgi_app), x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    # LowerCaseScheme inside ProxyFix: ProxyFix sets the scheme from the header as sent.


class LowerCaseScheme:
    """WSGI middleware (inside ProxyFix, when there is one): the request's scheme and
    X-Forwarded-Proto in lower case.

    A URL scheme is case-insensitive (RFC 3986 3.1), but ProxyFix copies X-Forwarded-Proto
    as sent into ``wsgi.url_scheme``, and Werkzeug's ``request.is_secure`` (the console
    cookie's ``Secure``) and Engine.IO's same-origin check (``scheme://host`` against the
    browser's lower-case ``Origin``, which also reads X-Forwarded-Proto itself) compare it
    case-sensitively: ``HTTPS`` from a proxy meant no ``Secure`` flag and refused sockets."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        environ["wsgi.url_scheme"] = str(environ.get("wsgi.url_scheme", "http")).lower()
        if "HTTP_X_FORWARDED_PROTO" in environ:
            environ["HTTP_X_FORWARDED_PROTO"] = environ["HTTP_X_FORWARDED_PROTO"].lower()
        return self.app(environ, start_response)


def _preload_speech(services: KioskServices) -> None:
    try:
        services.recognizer().preload(("en", "zh"))
    except Exception:
        log.exception("preloading the speech models failed; answers will report it")
    finally:
        services.warming.discard("speech")


def _preload_face_models(services: KioskServices) -> None:
    try:
        import mediapipe  # noqa: F401  # imported for its slow first import only

        shared_describer().pid()  # starts dlib's worker process, which loads its models
    except Exception:
        log.exception("preloading the face models failed; sessions will report it")
    finally:
        services.warming.discard("face")

