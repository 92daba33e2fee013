"""The load test's investors send a VP8 file packet by packet (kiosk.media.packet_camera).

Six investors re-encoding every frame on the server's 2 cores starved, and the server received
32-203 of a witness's ~500 frames: the load test measured the investors. Sent as packets, the
same stream reaches the server through aiortc and decodes frame for frame.
"""

from __future__ import annotations

import asyncio
import time

import av
import pytest
from aiortc import RTCPeerConnection

from kiosk.media.packet_camera import PacketCamera, encode_vp8, is_vp8_file
from kiosk.testing.streams import read_barcode


@pytest.fixture(scope="module")
def vp8_file(barcode_video, tmp_path_factory):
    return encode_vp8(barcode_video, tmp_path_factory.mktemp("vp8") / "barcode.webm",
                      bitrate=2_000_000)


def test_encode_vp8_keeps_size_rate_and_puts_a_keyframe_every_keyint(vp8_file, barcode_video):
    assert is_vp8_file(vp8_file) and not is_vp8_file(barcode_video)
    with av.open(str(vp8_file)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.width, s.codec_context.height) == (640, 480)
        assert float(s.average_rate) == 15.0
        keys = [p.is_keyframe for p in c.demux(s) if p.size]
    assert len(keys) == 60  # 4 s at 15 fps, every frame kept
    assert [i for i, k in enumerate(keys) if k] == [0, 15, 30, 45]


def test_packets_keep_real_time_and_loop_with_rising_timestamps(vp8_file):
    camera = PacketCamera(vp8_file)

    async def take(n):
        return [await camera.recv() for _ in range(n)]

    start = time.monotonic()
    packets = asyncio.run(take(63))
    took = time.monotonic() - start
    assert [p.pts for p in packets] == [i * 6000 for i in range(63)]  # 90 kHz at 15 fps
    assert bytes(packets[60]) == bytes(packets[0])  # looped to the first (key)frame
    # Paced at the clip's rate, not as fast as it can (no upper bound: a loaded CI runner is slow).
    assert took > 62 / 15 - 0.2
    assert camera.dropped == 0


def test_not_a_vp8_file_is_refused_by_name(barcode_video):
    with pytest.raises(ValueError, match="not a VP8 video"):
        PacketCamera(barcode_video)


def test_a_peer_receives_and_decodes_every_frame_in_order(vp8_file):
    """Through real aiortc peers on loopback: VP8 negotiated, the packets packetised without an
    encoder, and the receiver's decoder gives the clip's frames back in order."""

    async def run() -> list[int]:
        sender, receiver = RTCPeerConnection(), RTCPeerConnection()
        got: list[int] = []
        done = asyncio.Event()

        @receiver.on("track")
        def on_track(track):
            async def read():
                while len(got) < 40:
                    frame = await track.recv()
                    got.append(read_barcode(frame.to_ndarray(format="rgb24")))
                done.set()
            asyncio.ensure_future(read())

        camera = PacketCamera(vp8_file)
        sender.addTransceiver(camera, direction="sendonly")
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        try:
            await asyncio.wait_for(done.wait(), 30)
        finally:
            camera.stop()
            await sender.close()
            await receiver.close()
        return got

    got = asyncio.run(run())
    assert got[:40] == list(range(40)), got
