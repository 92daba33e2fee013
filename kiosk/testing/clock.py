"""A fake monotonic clock for code that paces itself in real time (``FileCamera``).

Tests of a pacing rule must not depend on how loaded the machine is: a wall clock made the
FileCamera tests fail on a loaded CI runner.
"""

from __future__ import annotations


class FakeClock:
    """A clock (seconds) that moves only when the code under test sleeps or the test moves it.

    Pass the instance as the clock and ``sleep`` as the async sleep; a test advances
    ``now`` itself to stand for a stall.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
