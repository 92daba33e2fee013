"""One background thread that reads card images for the server, bounded and at low priority.

A card image sent through the API is decoded and read (OCR, 1-3 s of CPU) here, never on
the media event loop nor in a web request's own CPU time: the request thread hands a job to
``CardWorker.submit`` and waits for its future. The queue holds at most ``queue_size`` jobs
(``OcrBusy`` beyond, a 503 for the caller), one job runs at a time, and the thread lowers its
own scheduling priority (Linux ``nice`` per thread) before it loads the OCR engine, so the
engine's own threads, created in it, inherit that priority: a live witness's face and
speech analysis keep the cores they need while a card is read.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from kiosk.idcard.ocr import RapidOcrReader, TextReader

log = logging.getLogger(__name__)

T = TypeVar("T")
NICE = 10  # added to the thread's niceness: about a tenth of a core's share against nice 0


class OcrBusy(RuntimeError):
    """The worker's queue is full; try again in a few seconds."""


class CardWorker:
    """Runs ``job(reader)`` callables one at a time on its own thread.

    ``reader_factory`` builds the text reader inside the worker thread on the first job
    (models load then, about 1-3 s). ``queue_size`` bounds the jobs waiting.
    """

    def __init__(self, queue_size: int = 4, nice: int = NICE,
                 reader_factory: Callable[[], TextReader] = RapidOcrReader) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self.queue_size = queue_size
        self._jobs: queue.Queue[tuple[Callable[[TextReader], Any], Future] | None] = \
            queue.Queue(maxsize=queue_size)
        self._nice = nice
        self._factory = reader_factory
        self._reader: TextReader | None = None
        self._thread = threading.Thread(target=self._run, name="id-card-ocr", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[TextReader], T]) -> Future[T]:
        """Queue ``job``; its future holds the result or the exception it raised. OcrBusy
        at once when ``queue_size`` jobs are waiting."""
        fut: Future[T] = Future()
        try:
            self._jobs.put_nowait((job, fut))
        except queue.Full:
            raise OcrBusy(f"{self.queue_size} card images are waiting to be read") from None
        return fut

    def close(self) -> None:
        """Stop after the jobs already queued (a blocking put: the sentinel always lands)."""
        self._jobs.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        if self._nice:
            try:  # on Linux a thread id names one thread: only this one (and what it starts)
                tid = threading.get_native_id()
                os.setpriority(os.PRIO_PROCESS, tid,
                               min(19, os.getpriority(os.PRIO_PROCESS, tid) + self._nice))
            except (OSError, AttributeError):
                log.warning("could not lower the card reader's priority")
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                if self._reader is None:
                    self._reader = self._factory()
                fut.set_result(job(self._reader))
            except BaseException as exc:  # the caller gets it; the thread goes on
                fut.set_exception(exc)


_shared: CardWorker | None = None
_shared_lock = threading.Lock()


def shared_worker(queue_size: int = 4) -> CardWorker:
    """The process-wide worker (one OCR engine per process); ``queue_size`` is used by the
    first call, which starts it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = CardWorker(queue_size)
        return _shared
