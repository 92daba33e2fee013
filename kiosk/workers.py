"""One spawned worker process for a native library that must not run in the server process.

Two kinds of native code are kept out of the media server's process:

- code that holds Python's GIL for a whole call. dlib's face descriptor (a ResNet forward
  pass, 70-400 ms) never releases it: on the server's threads it froze the asyncio loop that
  carries every RTP packet and ICE consent check for the whole call (``kiosk.media.loop``).
  Measured on this 2-core machine: a 5 ms ticker thread woke 433 ms late while the
  descriptor ran, against 6 ms beside mediapipe's landmarker, which releases it;
- code whose crash or hang must not take live sessions down (CTranslate2's Whisper, with its
  own OpenMP runtime).

``WorkerProcess`` runs such code in one spawned process (a ``concurrent.futures`` process pool
of size 1, so nothing of the server's threads is forked). Calls are serialised. A worker that
dies is replaced once per call; one that does not answer within ``timeout`` seconds is
killed and the call raises ``WorkerError``. The worker exits when the server is gone, even
after SIGKILL.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class WorkerError(RuntimeError):
    """The worker died twice on one call, or did not answer in time."""


def _exit_with_parent(parent: int) -> None:
    """A SIGKILLed server cannot stop its worker, and the worker's queue never sees EOF (it
    holds both ends): so the worker watches its parent and exits when it is gone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _init(parent: int, name: str, initializer: Callable[..., None] | None,
          initargs: tuple) -> None:
    threading.Thread(target=_exit_with_parent, args=(parent,), name=f"{name}-watch",
                     daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def ping() -> int:
    """The worker's process id (a call that only starts the worker)."""
    return os.getpid()


class WorkerProcess:
    """One spawned worker process running module-level functions, one call at a time.

    ``initializer(*initargs)`` runs once in each new worker (load models there). ``name``
    appears in log lines and errors. ``timeout`` is in seconds per call.
    """

    def __init__(self, name: str, initializer: Callable[..., None] | None = None,
                 initargs: tuple = (), timeout: float = 60.0):
        self.name = name
        self.timeout = timeout
        self._initializer = initializer
        self._initargs = initargs
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init,
                initargs=(os.getpid(), self.name, self._initializer, self._initargs),
            )
        return self._pool

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the worker (``fn`` and the arguments must pickle); its result.

        Raises ``WorkerError`` when the worker died twice or timed out, and whatever ``fn``
        raised in the worker otherwise.
        """
        with self._lock:
            for attempt in (1, 2):
                try:
                    # submit() itself raises BrokenProcessPool once the pool saw its worker die.
                    future = self._get_pool().submit(fn, *args)
                    return future.result(timeout=self.timeout)
                except BrokenProcessPool:
                    log.error("the %s worker died (attempt %d); starting a new one",
                              self.name, attempt)
                    self._drop(kill=False)
                except concurrent.futures.TimeoutError:
                    self._drop(kill=True)
                    raise WorkerError(f"the {self.name} worker did not answer within "
                                      f"{self.timeout:g} s") from None
            raise WorkerError(f"the {self.name} worker died twice on one call")

    def pid(self) -> int:
        """Start the worker (running the initializer) if needed and return its process id."""
        return self.call(ping)

    def _drop(self, kill: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the worker (a later call starts a new one)."""
        with self._lock:
            self._drop(kill=False)
