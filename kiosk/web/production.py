"""Production serving under gunicorn: the one module that imports gunicorn.

``kiosk serve`` runs one gunicorn master (this process) with exactly ONE ``gthread`` worker:

- one worker, because a witness lives in one process (its peer connection, recorder and
  timers) and Flask-SocketIO needs every request of a client in the process that holds its
  socket; more capacity is more node processes on their own ports (docs/operations.md);
- ``gthread`` (real threads; eventlet and gevent would monkey-patch aiortc's decoder
  threads into green threads). Flask-SocketIO runs in ``threading`` mode, and simple-websocket
  takes over the connection through gunicorn's ``gunicorn.socket`` for the websocket
  transport. Every open Socket.IO connection holds a pool thread for its whole life, so the
  worker's pool has ``socket_max_connections`` (waiting to join) ``+ node_capacity`` (joined)
  ``+ serve_thread_headroom`` threads (``serving_threads``). The process runs more: each open
  websocket also has simple-websocket's reader and Engine.IO's writer and ping timer (four
  threads a socket, measured: docs/operations.md, *Serving*; tests/test_socket_threads.py);
- no ``--preload``: the app, with its asyncio media loop thread, is built in the worker
  after the fork (a thread does not survive ``fork()``).

SIGTERM drains the node (``NodeDrain``): the node takes no new witnesses (``/api/ready``
answers 503, ``join`` is refused, the Redis registry shows it draining), live witnesses may
finish for ``drain_grace_seconds``, the rest end as ``aborted: server_shutdown`` and are
sealed, and the worker exits. gunicorn's ``graceful_timeout`` is set to the grace plus
``drain_finalise_seconds`` so the master does not kill the worker mid-seal. SIGINT (Ctrl-C)
and SIGQUIT skip the grace: live witnesses end at once, and are sealed, as before.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from kiosk.config import Settings
from kiosk.witness.admission import node_capacity

log = logging.getLogger(__name__)

# Seconds the master lets a worker go without a heartbeat before it kills it. The worker
# beats from its event loop, which never waits on the app, but building the app (recovering
# a crashed node's sessions remuxes their recordings) happens before its first beat.
WORKER_BOOT_SECONDS = 300


def serving_threads(settings: Settings) -> int:
    """Pool (request) threads of the one gthread worker: every Socket.IO connection the gate
    admits holds one (and three threads of its own outside the pool), those
    waiting to join (``socket_max_connections``) and the joined witnesses (``node_capacity``,
    which bounds them at the join), plus ``serve_thread_headroom`` for plain HTTP requests."""
    return (settings.socket_max_connections + node_capacity(settings)
            + settings.serve_thread_headroom)


def bind_address(host: str, port: int) -> str:
    """``host:port`` for gunicorn's ``bind``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn settings of one node process (names as in gunicorn's docs)."""
    threads = serving_threads(settings)
    return {
        "bind": [bind_address(settings.host, settings.port)],
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        # Sockets beyond the threads would only wait in the pool: keep-alive slots on top.
        "worker_connections": threads + settings.serve_thread_headroom,
        "preload_app": False,
        # Whole seconds (gunicorn's type), rounded up.
        "graceful_timeout": math.ceil(settings.drain_grace_seconds
                                      + settings.drain_finalise_seconds),
        "timeout": WORKER_BOOT_SECONDS,
        "keepalive": 5,
        "accesslog": None,  # requests carry investor links: no access log
        "errorlog": "-",
        "loglevel": "warning",
        # Several node processes per machine: no shared control socket in $HOME.
        "control_socket_disable": True,
        "proc_name": f"kiosk-{settings.port}",
        "post_worker_init": _post_worker_init,
        "worker_exit": _worker_exit,
    }


class KioskGunicorn(BaseApplication):
    """gunicorn's master for one node; ``load()`` (in the worker, after the fork) builds the
    app with ``create_app(settings)``."""

    def __init__(self, settings: Settings, app_factory: Callable[[Settings], Any]) -> None:
        self.settings = settings
        self.app_factory = app_factory
        super().__init__()

    def load_config(self) -> None:
        for name, value in gunicorn_options(self.settings).items():
            self.cfg.set(name, value)

    def load(self):
        return self.app_factory(self.settings)


def run(settings: Settings, app_factory: Callable[[Settings], Any]) -> None:
    """Serve until SIGTERM (drain) or SIGINT (end now); returns when gunicorn has stopped.
    gunicorn exits the process itself (status 1) when the worker fails to boot."""
    KioskGunicorn(settings, app_factory).run()


class NodeDrain:
    """Drains one node's app, once, on a thread of its own, then calls ``stop``.

    ``begin()`` is safe from a signal handler: it only starts the thread. The thread drains
    the services, waits up to ``drain_grace_seconds`` for the live witnesses, shuts the
    services down (the rest end as ``aborted: server_shutdown`` and are sealed), closes every
    Socket.IO connection, then calls ``stop`` (the worker's own exit)."""

    def __init__(self, app, stop: Callable[[], None]) -> None:
        self.app = app
        self.stop = stop
        self.done = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    def begin(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name="kiosk-drain", daemon=True).start()

    def _run(self) -> None:
        services = self.app.extensions["kiosk"]
        settings = services.settings
        try:
            left = services.finish_then_shutdown(settings.drain_grace_seconds,
                                                 settings.drain_finalise_seconds)
            if left:
                log.warning("drain: %d witness(es) still live after %g s ended as "
                            "aborted: server_shutdown", len(left), settings.drain_grace_seconds)
            # The ended witnesses' sockets would keep the worker waiting: close them all.
            self.app.extensions["socketio"].server.eio.disconnect()
            log.info("drain done: every witness of this node has ended and is sealed")
        except Exception:
            log.exception("draining the node failed; stopping anyway")
        finally:
            self.done.set()
            self.stop()


def _post_worker_init(worker) -> None:
    """In the worker, once the app is built: SIGTERM drains instead of stopping at once."""
    drain = NodeDrain(worker.wsgi, lambda: worker.handle_exit(signal.SIGTERM, None))

    def on_term(_signum, _frame) -> None:
        log.info("SIGTERM: draining this node")
        drain.begin()

    signal.signal(signal.SIGTERM, on_term)


def _worker_exit(_arbiter, worker) -> None:
    """The worker is leaving (drained, SIGINT/SIGQUIT, or its master died): end what is
    still live, seal it, leave the registry (a no-op after a drain)."""
    app = getattr(worker, "wsgi", None)
    services = app.extensions.get("kiosk") if app is not None else None
    if services is not None:
        services.shutdown(timeout=worker.cfg.graceful_timeout)
