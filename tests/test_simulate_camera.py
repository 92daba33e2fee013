"""The simulated investor's camera keeps real time, as a browser's does.

Under `kiosk loadtest --n 6` the starved sender sent every frame late, so the clip played at
0.44-0.74x and genuine faces moved at half speed (docs/evaluation.md, "Still image under load").
"""

from __future__ import annotations

import asyncio

from kiosk.media.simulate import FileCamera
from kiosk.testing.clock import FakeClock
from kiosk.testing.streams import read_barcode


def _camera(path) -> tuple[FileCamera, FakeClock]:
    clock = FakeClock()
    return FileCamera(path, clock=clock, sleep=clock.sleep), clock


async def _take(camera: FileCamera, clock: FakeClock, n: int, stall_after: int | None = None,
                stall_s: float = 0.0) -> list[tuple[int, int]]:
    """(pts, barcode) of ``n`` frames; the sender stalls ``stall_s`` after frame ``stall_after``."""
    got = []
    for i in range(n):
        frame = await camera.recv()
        got.append((frame.pts, read_barcode(frame.to_ndarray(format="rgb24"))))
        if i == stall_after:
            clock.now += stall_s  # the whole loop starved, as on a loaded machine
    return got


def test_a_sender_that_keeps_up_sends_every_frame_in_order(barcode_video):
    camera, clock = _camera(barcode_video)
    try:
        got = asyncio.run(_take(camera, clock, 8))
    finally:
        camera.stop()
    assert [code for _, code in got] == list(range(8))
    assert [pts for pts, _ in got] == [i * 6000 for i in range(8)]  # 90 kHz at 15 fps
    assert camera.dropped == 0


def test_a_starved_sender_drops_the_frames_it_could_not_send_and_keeps_the_clip_pace(
        barcode_video):
    camera, clock = _camera(barcode_video)
    try:
        got = asyncio.run(_take(camera, clock, 6, stall_after=2, stall_s=0.6))  # 9 frame times
    finally:
        camera.stop()
    codes = [code for _, code in got]
    assert codes[:3] == [0, 1, 2]
    jump = codes[3] - codes[2]
    # 0.6 s is 9 frame times: the stall ends at frame 11's time, so 3-10 are dropped, none late
    assert jump == 9, codes
    assert camera.dropped == jump - 1
    # Each frame's pts is its place in the clip: the picture and its time agree.
    assert all(pts == code * 6000 for pts, code in got), got
    assert codes[3:] == list(range(codes[3], codes[3] + 3))
