"""A pre-encoded VP8 file as a camera: the simulated investor sends its packets as they are.

A load test on one machine runs the investors beside the server. ``FileCamera`` decodes its
clip and aiortc re-encodes every frame with libvpx, about 15-20 % of a core per investor
(measured with ``kiosk loadtest --n 6`` on 2 cores: six such investors starved, and the server
received 32-203 of a witness's ~500 frames), so the benchmark measured the investors, not the
server. ``PacketCamera`` instead hands aiortc's sender the VP8 packets of a file encoded once
(``encode_vp8``): aiortc's ``RTCRtpSender`` packetises an ``av.Packet`` without an encoder
(``Vp8Encoder.pack``). The server receives the same kind of stream a browser sends (VP8,
640x480, 15 fps, a keyframe every ``keyint`` frames), at almost no cost to the sender.

What it cannot do, unlike a browser: answer a keyframe request (PLI) at once (the next
periodic keyframe comes within ``keyint`` frames), adapt its bitrate to congestion (REMB), or
follow a framing hint. It is for load tests; ``kiosk eval`` keeps ``FileCamera``.
"""

from __future__ import annotations

import asyncio
import fractions
import os
import time
from pathlib import Path

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.video.frame import PictureType

#: RTP's video clock (Hz), the time base of every packet sent.
VIDEO_CLOCK = 90000


def is_vp8_file(path: Path) -> bool:
    """Whether ``path`` is a container (WebM, IVF, Matroska) whose first video stream is VP8.

    Raises nothing: an unreadable file is simply not one (``FileCamera`` will say why)."""
    try:
        with av.open(str(path)) as c:
            return bool(c.streams.video) and c.streams.video[0].codec_context.name == "vp8"
    except (av.FFmpegError, OSError):
        return False


def encode_vp8(src: Path, dst: Path, *, bitrate: int = 800_000, keyint: int = 15) -> Path:
    """Encode ``src`` (any video PyAV reads) once to a VP8 WebM at ``dst`` for ``PacketCamera``.

    ``bitrate`` in bit/s (a browser sends 0.5-1.5 Mbit/s at 640x480); ``keyint`` frames
    between keyframes (15: one a second at 15 fps). Same size and frame rate as ``src``.
    Encoded once: an existing ``dst`` is kept (name it by ``src``'s content, as
    ``kiosk.testing.faces.clip_path`` names its clips). Written to a temporary name of this
    process and renamed, so a parallel run never reads half a file. Returns ``dst``. Raises
    ``av.FFmpegError`` when ``src`` does not decode."""
    if dst.exists():
        return dst
    tmp = dst.with_name(f".{dst.stem}.{os.getpid()}.tmp.webm")
    with av.open(str(src)) as inp, av.open(str(tmp), "w", format="webm") as out:
        vin = inp.streams.video[0]
        rate = vin.average_rate or fractions.Fraction(15)
        vout = out.add_stream("libvpx", rate=rate)
        assert isinstance(vout, av.VideoStream)
        vout.width, vout.height = vin.codec_context.width, vin.codec_context.height
        vout.pix_fmt = "yuv420p"
        vout.bit_rate = bitrate
        vout.options = {"g": str(keyint), "deadline": "good", "cpu-used": "4",
                        "lag-in-frames": "0"}
        for frame in inp.decode(vin):
            frame.pts = None
            # A decoded frame keeps its own picture type, and libavcodec forces a keyframe
            # wherever it says I (every frame of an intra-only source such as Y4M).
            frame.pict_type = PictureType.NONE
            out.mux(vout.encode(frame))
        out.mux(vout.encode(None))
    tmp.replace(dst)
    return dst


class PacketCamera(MediaStreamTrack):
    """The VP8 packets of a file, looped and paced at its frame rate in real time.

    Each packet's pts is its place on the camera's clock (``n / fps``, rising across loops, in
    1/90000 s), as ``FileCamera`` stamps its frames, so the server's capture-time checks read
    the same clock. The whole file is read into memory at construction (a 40 s clip at
    800 kbit/s is about 4 MB). Raises ``ValueError`` when ``path`` holds no VP8 video."""

    kind = "video"

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        with av.open(str(self.path)) as c:
            if not c.streams.video or c.streams.video[0].codec_context.name != "vp8":
                raise ValueError(f"{self.path}: not a VP8 video (encode it with encode_vp8)")
            stream = c.streams.video[0]
            rate = stream.average_rate
            self.fps = float(rate) if rate else 15.0
            self._packets = [bytes(p) for p in c.demux(stream) if p.size]
        if not self._packets:
            raise ValueError(f"{self.path} has no video packets")
        self._n = 0
        self._start: float | None = None
        #: Always 0: a packet is never dropped (a gap would break decoding until a keyframe);
        #: sending one costs next to nothing, so the sender does not fall behind.
        self.dropped = 0

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError("the camera was stopped")
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._n / self.fps - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self._packets[self._n % len(self._packets)])
        packet.pts = int(self._n * VIDEO_CLOCK / self.fps)
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._n += 1
        return packet
