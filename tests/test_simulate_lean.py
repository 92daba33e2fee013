"""The simulated investor follows the page's framing hints as a person does.

A live investor asked to come closer leans in; a clip cannot. Without this, every witness on a
clip whose face sits under the identity sampling gate (the validation split's Biden clip, 85-91
px) was a case the product itself would have fixed by asking (docs/evaluation.md).
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from kiosk.liveness.adapter import FaceAnalyzer
from kiosk.media.simulate import LEAN_MAX, LEAN_STEP, FileCamera
from kiosk.protocol import HintCode
from kiosk.testing.clock import FakeClock
from kiosk.testing.faces import framed_photo, write_y4m

FACE_CENTRE = (260, 213)  # where the small face sits in the 640x480 picture


@pytest.fixture(scope="module")
def small_face_video(tmp_path_factory):
    """3 s at 15 fps: a face about 100 px wide, off-centre, on a grey 640x480 picture."""
    face = framed_photo("hopper", (320, 240))  # face about a third of the width, centred
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[100:340, 100:420] = face
    path = tmp_path_factory.mktemp("lean") / "small_face.y4m"
    write_y4m([frame] * 45, path)
    return path


def _frames(path, hints: dict[int, str], n: int) -> tuple[list[np.ndarray], FileCamera]:
    """``n`` frames from a FileCamera given ``hints`` (frame index -> hint code) as they come."""
    clock = FakeClock()
    camera = FileCamera(path, clock=clock, sleep=clock.sleep)

    async def take():
        out = []
        for i in range(n):
            if i in hints:
                camera.lean(hints[i])
            out.append((await camera.recv()).to_ndarray(format="rgb24"))
        return out

    try:
        return asyncio.run(take()), camera
    finally:
        camera.stop()


def _face_box(rgb: np.ndarray) -> tuple[int, int, int, int]:
    with FaceAnalyzer(num_faces=1) as fa:
        faces = fa.detect(rgb, 1)
    assert faces, "no face in the frame"
    return faces[0].box(rgb.shape[1], rgb.shape[0])


def test_come_closer_grows_the_face_about_itself_after_a_reaction(small_face_video):
    frames, camera = _frames(small_face_video, {3: HintCode.CLOSER}, 45)
    before, after = _face_box(frames[2]), _face_box(frames[-1])
    grow = (after[2] - after[0]) / (before[2] - before[0])
    assert 1.15 < grow < 1.35, grow  # one step of LEAN_STEP (1.25)
    # Nothing changes before the reaction time (0.7 s at 15 fps is about 10 frames).
    assert np.array_equal(frames[5], frames[2])
    # Zoomed about the face: its centre moves towards the picture's centre, not out of view.
    cx = (after[0] + after[2]) / 2
    assert abs(cx - 320) < abs(FACE_CENTRE[0] - 320)
    assert frames[-1].shape == frames[0].shape
    assert camera.leans == [(0.2, LEAN_STEP)]
    assert camera.zoom == pytest.approx(LEAN_STEP)


def test_leaning_is_bounded_and_move_back_undoes_it(small_face_video):
    # A hint while the last is still followed is ignored (2); then one step per hint.
    hints = {1: HintCode.CLOSER, 2: HintCode.CLOSER, 20: HintCode.CLOSER,
             32: HintCode.CLOSER, 44: HintCode.CLOSER}
    _, camera = _frames(small_face_video, hints, 45)
    assert [z for _, z in camera.leans] == [1.25, 1.562, LEAN_MAX]  # the last: at the bound
    frames, camera = _frames(small_face_video, {1: HintCode.CLOSER, 20: HintCode.FURTHER}, 45)
    assert [z for _, z in camera.leans] == [1.25, 1.0]
    assert camera.zoom == 1.0
    assert np.array_equal(frames[-1], frames[0])


def test_other_hints_do_not_move_the_investor(small_face_video):
    hints = {1: HintCode.MORE_LIGHT, 2: HintCode.ONE_PERSON, 3: None}
    frames, camera = _frames(small_face_video, hints, 20)  # type: ignore[arg-type]
    assert camera.leans == [] and camera.zoom == 1.0
    assert np.array_equal(frames[-1], frames[0])
