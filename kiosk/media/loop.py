"""The one asyncio thread that owns every aiortc peer connection."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading

log = logging.getLogger(__name__)


class MediaLoop:
    """A daemon thread running an asyncio loop; other threads hand it coroutines."""

    def __init__(self, name: str = "kiosk-media"):
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def submit(self, coro) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro, timeout: float = 15.0):
        """Run ``coro`` on the loop and wait for its result (from another thread)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("MediaLoop.run called from the loop thread itself")
        return self.submit(coro).result(timeout)

    def call_soon(self, fn, *args) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float = 5.0) -> None:
        if not self.loop.is_running():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
