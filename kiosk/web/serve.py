"""``kiosk serve``: run the witness service."""

from __future__ import annotations

import logging
import os
import signal
import sys

import click

from kiosk.config import load_settings
from kiosk.errors import ConfigError
from kiosk.liveness.adapter import check_model
from kiosk.logs import configure_logging

log = logging.getLogger(__name__)

DEMO_ICE = {"ice_allow_loopback": True, "ice_private_networks": ["0.0.0.0/0", "::/0"]}


@click.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML settings file")
@click.option("--host", default=None, help="address to listen on (default 127.0.0.1)")
@click.option("--port", type=int, default=None, help="port (default 5000)")
@click.option("--demo", is_flag=True, help="enable the /demo start page with a sample applicant")
@click.option("--kiosk", "kiosk_mode", is_flag=True, help="branch touchscreen mode")
@click.option("--gunicorn", "use_gunicorn", is_flag=True,
              help="serve under gunicorn (the default: one gthread worker; SIGTERM drains "
                   "the node)")
@click.option("--dev", is_flag=True,
              help="Werkzeug in this process instead (the demo's ./dev.sh serve; overrides "
                   "--gunicorn)")
def serve(config_file, host, port, demo, kiosk_mode, use_gunicorn, dev):
    """Serve the investor pages, the API and the WebRTC endpoint.

    By default under gunicorn with one gthread worker (kiosk.web.production), where SIGTERM
    drains the node (docs/operations.md, *Stopping a node*); ``--dev`` serves with Werkzeug's
    threaded server in this process, where SIGTERM ends live witnesses at once.
    ``--gunicorn`` names the default explicitly."""
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if demo:
        overrides["demo"] = True
    try:
        settings = load_settings(config_file, **overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.demo:
        # The local demo's browser is on this machine: let it connect over loopback and the
        # LAN, unless the settings say otherwise (docs/operations.md, Security).
        demo_ice = {k: v for k, v in DEMO_ICE.items() if k not in settings.model_fields_set}
        settings = settings.model_copy(update=demo_ice)
    configure_logging(settings.log_format, settings.log_level)
    # Everything this process creates (recordings, prompts, caches, evidence) is private to
    # the service account: faces, voices and ID numbers are not for other local users.
    os.umask(0o077)
    if settings.demo and not settings.api_keys:
        log.info("demo mode: no API keys configured, only /demo creates sessions")
    try:
        _preflight(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    url = settings.base_url()
    click.echo(f"Witness Kiosk on {url}" + (f"  — demo: {url}/" if settings.demo else ""), err=True)
    if kiosk_mode:
        click.echo(f"Branch kiosk page: {url}/kiosk — start the touchscreen with:\n"
                   f"  chromium --kiosk --autoplay-policy=no-user-gesture-required {url}/kiosk\n"
                   "(see docs/kiosk.md)", err=True)
    if not dev:  # gunicorn, the default (--gunicorn only names it)
        from kiosk.web.production import run, serving_threads  # gunicorn: --gunicorn only

        log.info("serving on %s under gunicorn (1 gthread worker, %d threads)%s", url,
                 serving_threads(settings), " (demo: open /)" if settings.demo else "")
        run(settings, _build_app)  # the app is built in the worker, after the fork
        return
    try:
        app = _build_app(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    services = app.extensions["kiosk"]
    socketio = app.extensions["socketio"]

    def _stop(signum, _frame):
        log.info("signal %s: ending live sessions", signum)
        services.shutdown()
        sys.exit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("serving on %s with Werkzeug%s", url,
             " (demo: open /)" if settings.demo else "")
    socketio.run(app, host=settings.host, port=settings.port, allow_unsafe_werkzeug=True,
                 use_reloader=False, log_output=False, request_handler=request_handler())


def request_handler():
    """Werkzeug's request handler, with two changes for the witness service:

    - The connection of a websocket request is closed when its session ends. Werkzeug kept
      reading it as HTTP/1.1 keep-alive, so the browser's last websocket frame was logged
      as ``code 400, message Bad request syntax ('\\x81\\x82...')``: an ERROR line with raw
      client bytes after every witness.
    - A request line that is not HTTP is logged as one short line naming its size, never its
      bytes (genuine bad requests are still seen)."""
    from werkzeug.serving import WSGIRequestHandler

    class KioskRequestHandler(WSGIRequestHandler):
        def run_wsgi(self) -> None:
            try:
                super().run_wsgi()
            finally:
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    self.close_connection = True

        def log_error(self, format: str, *args) -> None:
            if (format == "code %d, message %s" and len(args) == 2
                    and isinstance(args[1], str) and args[1].startswith("Bad ")):
                args = (args[0], _unreadable(self.raw_requestline))
            super().log_error(format, *args)

        def log_request(self, code="-", size="-") -> None:
            if self.command is None:  # the line could not be read: it is client bytes
                self.requestline = _unreadable(self.raw_requestline)
            super().log_request(code, size)

    return KioskRequestHandler


def _unreadable(line: bytes | None) -> str:
    return f"not an HTTP request line ({len(line or b'')} bytes, not logged)"


def _build_app(settings):
    """``create_app(settings)``, imported only here: a missing espeak-ng or model is reported
    (by the preflight) before the server's whole import graph (aiortc, mediapipe, ...) is
    loaded, and the gunicorn master never loads it at all."""
    from kiosk.web.app import create_app  # see the docstring: after the preflight

    return create_app(settings)


def _preflight(settings) -> None:
    """Refuse to start with a broken piece rather than run a witness without it."""
    import shutil

    if shutil.which("espeak-ng") is None:
        raise ConfigError(
            "espeak-ng is not installed: run 'apt-get install espeak-ng libespeak-ng1'")
    check_model(settings.face_model)
