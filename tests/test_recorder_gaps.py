"""A lossy network at the recording seam, and recordings with packets that do not decode.

The recorder is fed through a real aiortc ``RTCRtpReceiver`` (its jitter buffer, depayloader
and decoder thread) with RTP packets of real VP8 frames encoded by PyAV; only the network
below it is a stand-in that keeps the RTCP the receiver sends.
"""

from __future__ import annotations

import asyncio
import fractions
import math
from pathlib import Path
from types import SimpleNamespace

import av
import pytest
from aiortc import RTCRtpReceiver
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpDecodingParameters,
    RTCRtpReceiveParameters,
)
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPacket, RtcpPsfbPacket, RtpPacket
from aiortc.stats import RTCStatsReport
from av.video.frame import PictureType

from kiosk.errors import MediaError
from kiosk.media import aiortc_seam
from kiosk.media.keyframes import extract_step_keyframes
from kiosk.media.recorder import PacketRecorder
from kiosk.media.remux import finalise_recording, probe_recording
from kiosk.timeline import MediaClock
from tests.test_recorder import draw_number, read_number

SSRC = 0x1234
W, H = 160, 120
PAYLOAD_TYPE = 96


class Network:
    """What the receiver's DTLS transport would be: keeps the RTCP packets it sends."""

    state = "connected"

    def __init__(self):
        self.rtcp: list[bytes] = []

    async def _send_rtp(self, data: bytes) -> None:
        self.rtcp.append(data)

    def _register_rtp_receiver(self, receiver, parameters) -> None:
        pass

    def _unregister_rtp_receiver(self, receiver) -> None:
        pass

    def _get_stats(self):
        return RTCStatsReport()

    def plis(self) -> int:
        return sum(1 for data in self.rtcp for p in RtcpPacket.parse(data)
                   if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_PLI
                   and p.media_ssrc == SSRC)


class Camera:
    """VP8 frames showing their index; a keyframe first and whenever asked."""

    def __init__(self):
        self.enc = av.CodecContext.create("libvpx", "w")
        self.enc.width, self.enc.height, self.enc.pix_fmt = W, H, "yuv420p"
        self.enc.time_base = fractions.Fraction(1, 15)
        self.enc.gop_size = 100_000  # keyframes only when asked (ffmpeg's default is every 12)
        self.enc.options = {"deadline": "realtime", "lag-in-frames": "0"}
        self.index = 0

    def next(self, keyframe: bool = False) -> bytes:
        frame = av.VideoFrame.from_ndarray(draw_number(self.index, W, H), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = self.index
        if keyframe:
            frame.pict_type = PictureType.I
        packets = self.enc.encode(frame)
        assert len(packets) == 1, "the encoder must not buffer frames"
        self.index += 1
        return bytes(packets[0])


def rtp_packets(data: bytes, seq: int, ts: int, parts: int = 3) -> list[RtpPacket]:
    """``data`` in ``parts`` RTP packets with a minimal VP8 payload descriptor (S bit first)."""
    size = math.ceil(len(data) / parts)
    chunks = [data[i:i + size] for i in range(0, len(data), size)]
    return [RtpPacket(payload_type=PAYLOAD_TYPE, marker=int(i == len(chunks) - 1),
                      sequence_number=(seq + i) & 0xFFFF, timestamp=ts, ssrc=SSRC,
                      payload=bytes([0x10 if i == 0 else 0x00]) + chunk)
            for i, chunk in enumerate(chunks)]


async def video_receiver(network: Network) -> RTCRtpReceiver:
    receiver = RTCRtpReceiver("video", network)
    receiver._track = RemoteStreamTrack(kind="video")
    receiver._set_rtcp_ssrc(0x5678)
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=PAYLOAD_TYPE)
    encoding = RTCRtpDecodingParameters(ssrc=SSRC, payloadType=PAYLOAD_TYPE)
    await receiver.receive(RTCRtpReceiveParameters(codecs=[vp8], encodings=[encoding]))
    return receiver


def decoded_numbers(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [read_number(f.to_ndarray(format="gray")) for f in c.decode(video=0)]


def test_a_gap_asks_for_a_keyframe_and_skips_deltas_until_it_comes(tmp_path):
    """Frame 20 and the first packet of frame 21 never arrive (nor their retransmission)."""
    live = tmp_path / "recording.mkv"

    async def run() -> dict:
        network = Network()
        receiver = await video_receiver(network)
        pc = SimpleNamespace(getTransceivers=lambda: [SimpleNamespace(kind="video",
                                                                      receiver=receiver)])
        recorder = PacketRecorder(live, MediaClock(), keyframe_interval=3600)
        recorder.attach(pc)
        camera = Camera()
        seq, lost, held, seen = 1000, 0, 0, {}
        keyframe_at = None
        while camera.index < 400:
            index = camera.index
            # The sender answers a PLI with a keyframe, as a browser does.
            wants_key = index == 0 or (keyframe_at is None and network.plis() > 0)
            if wants_key and index > 0:
                keyframe_at = index
            packets = rtp_packets(camera.next(keyframe=wants_key), seq, index * 6000)
            seq += len(packets)
            if index == 19:
                held = len(packets)
            if index == 20:
                lost += len(packets)
                continue
            if index == 21:
                lost += 1
                packets = packets[1:]  # the rest of frame 21 arrives without its start
            for p in packets:
                await receiver._handle_rtp_packet(p, arrival_time_ms=0)
                gaps = recorder.stats()["video_gaps"]
                if gaps and "plis" not in seen:
                    await asyncio.sleep(0)  # the request the gap scheduled runs now
                    await asyncio.sleep(0)
                    seen["plis"] = network.plis()
                    seen["requests"] = recorder.stats()["keyframe_requests"]
                    seen["frame"] = camera.index
            await asyncio.sleep(0)
        recorder.close()
        await receiver.stop()
        return {"stats": recorder.stats(), "lost": lost, "held": held, "keyframe_at": keyframe_at,
                "last": camera.index - 1, **seen}

    out = asyncio.run(run())
    stats = out["stats"]
    # The gap was noticed, its packets counted, and a keyframe asked for at once (before the
    # next packet), by the recorder itself. The jitter buffer hands a frame on only when the
    # next packet after it arrives, so frame 19 waited for frame 20 and was discarded with it.
    assert stats["video_gaps"] == 1
    assert stats["video_packets_missing"] == out["lost"] + out["held"] == 4 + 3
    assert out["requests"] == 1 and out["plis"] >= 1
    assert stats["keyframe_requests_recovery"] >= 1
    assert out["keyframe_at"] == out["frame"], out
    # Frame 21 (headless) and every delta after it up to the keyframe were not recorded.
    assert stats["skipped_video"] == out["keyframe_at"] - 21
    final = tmp_path / "recording.webm"
    info = finalise_recording(live, final)
    assert info["video_undecodable"] == 0
    # What is recorded decodes to exactly the frames before the gap and from the keyframe on
    # (the last frame is still in the jitter buffer, waiting for the next one).
    assert decoded_numbers(final) == list(range(19)) + list(range(out["keyframe_at"], out["last"]))


def test_without_a_gap_nothing_is_skipped(tmp_path):
    live = tmp_path / "recording.mkv"

    async def run() -> tuple[dict, int]:
        network = Network()
        receiver = await video_receiver(network)
        pc = SimpleNamespace(getTransceivers=lambda: [SimpleNamespace(kind="video",
                                                                      receiver=receiver)])
        recorder = PacketRecorder(live, MediaClock(), keyframe_interval=3600)
        recorder.attach(pc)
        camera, seq = Camera(), 65500  # the sequence numbers wrap at 65535
        while camera.index < 60:
            packets = rtp_packets(camera.next(keyframe=camera.index == 0), seq,
                                  camera.index * 6000)
            seq += len(packets)
            for p in packets:
                await receiver._handle_rtp_packet(p, arrival_time_ms=0)
        recorder.close()
        await receiver.stop()
        return recorder.stats(), network.plis()

    stats, plis = asyncio.run(run())
    assert stats["video_gaps"] == stats["video_packets_missing"] == stats["skipped_video"] == 0
    assert stats["keyframe_requests"] == 0 and plis == 0
    final = tmp_path / "recording.webm"
    finalise_recording(live, final)
    assert decoded_numbers(final) == list(range(59))


def test_the_periodic_keyframe_requests_are_not_counted_as_recovery(tmp_path):
    """A clean stream gets a PLI each keyframe interval (seekability), none for recovery."""

    async def run() -> tuple[dict, int]:
        network = Network()
        receiver = await video_receiver(network)
        pc = SimpleNamespace(getTransceivers=lambda: [SimpleNamespace(kind="video",
                                                                      receiver=receiver)])
        recorder = PacketRecorder(tmp_path / "recording.mkv", MediaClock(),
                                  keyframe_interval=0.2)
        recorder.attach(pc)
        camera, seq = Camera(), 100
        while camera.index < 40:
            packets = rtp_packets(camera.next(keyframe=camera.index == 0), seq,
                                  camera.index * 6000)
            seq += len(packets)
            for p in packets:
                await receiver._handle_rtp_packet(p, arrival_time_ms=0)
            await asyncio.sleep(0.03)  # 1.2 s in all: several keyframe intervals
        recorder.close()
        await receiver.stop()
        return recorder.stats(), network.plis()

    stats, plis = asyncio.run(run())
    assert stats["video_gaps"] == 0
    assert stats["keyframe_requests"] >= 2 and plis >= 2
    assert stats["keyframe_requests_recovery"] == 0


def corrupt_webm(path: Path, frames: int = 60, bad: int = 30) -> Path:
    """A VP8 WebM whose packet ``bad`` (a delta frame) is garbage."""
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=15)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(draw_number(i, W, H), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                if i == bad:
                    assert not packet.is_keyframe
                    garbage = av.Packet(b"\xff" * 64)
                    garbage.stream = stream
                    garbage.pts, garbage.dts, garbage.time_base = packet.pts, packet.dts, \
                        packet.time_base
                    packet = garbage
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_the_probe_counts_what_decodes_past_a_corrupt_packet(tmp_path):
    path = corrupt_webm(tmp_path / "r.webm")
    info = probe_recording(path)
    assert info["video_undecodable"] == 1 and info["video_packets"] == 60
    assert info["video_frames"] == 59 and (info["width"], info["height"]) == (W, H)
    assert info["duration"] == pytest.approx(59 / 15, abs=0.01)


def test_key_frames_come_from_what_decodes(tmp_path):
    path = corrupt_webm(tmp_path / "r.webm")
    events = [{"type": "step_started", "t": t, "data": {"step": name, "index": i}}
              for i, (name, t) in enumerate([("hello", 0.0), ("after", 2.5)])]
    files = extract_step_keyframes(path, events, tmp_path / "keyframes")
    assert [f.name for f in files] == ["00_hello.jpg", "01_after.jpg"]
    # The second step's frame is the one 1 s after it started, past the corrupt packet.
    with av.open(str(files[1])) as c:
        gray = next(c.decode(video=0)).reformat(width=W, height=H).to_ndarray(format="gray")
    assert read_number(gray) == math.ceil(3.5 * 15)  # the first frame at or after 3.5 s


def test_a_card_step_key_frame_is_the_masked_front_never_a_frame_of_the_recording(tmp_path):
    """The recording shows the card as held up, unmasked (#16 retest t16c M-A: the card
    step's key frame in the sealed package showed all 18 digits and the address)."""
    from PIL import Image
    path = corrupt_webm(tmp_path / "r.webm", bad=-1)
    events = [{"type": "step_started", "t": t, "data": {"step": name, "index": i, "kind": kind}}
              for i, (name, t, kind) in enumerate([("hello", 0.0, "say"),
                                                   ("id_card", 1.0, "id_document")])]
    # Without a kept front the step has no key frame at all.
    files = extract_step_keyframes(path, events, tmp_path / "kf0")
    assert [f.name for f in files] == ["00_hello.jpg"]
    card_dir = tmp_path / "id_card"
    card_dir.mkdir()
    Image.new("RGB", (856, 540), (200, 30, 40)).save(card_dir / "front.jpg", quality=90)
    files = extract_step_keyframes(path, events, tmp_path / "kf", card_dir)
    assert sorted(f.name for f in files) == ["00_hello.jpg", "01_id_card.jpg"]
    with Image.open(tmp_path / "kf" / "01_id_card.jpg") as img:
        assert img.width == 640  # the front, scaled as every key frame is
        r, g, b = img.convert("RGB").resize((1, 1)).getpixel((0, 0))
    assert abs(r - 200) < 8 and g < 45 and b < 50
    files = extract_step_keyframes(path, events, tmp_path / "kf2", tmp_path / "none")
    assert [f.name for f in files] == ["00_hello.jpg"]


def test_a_recording_where_nothing_decodes_is_refused(tmp_path):
    path = tmp_path / "r.webm"
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_mux_stream("vp8", width=W, height=H)
        stream.time_base = fractions.Fraction(1, 1000)
        for i in range(5):
            packet = av.Packet(b"\xff" * 64)
            packet.stream, packet.time_base = stream, stream.time_base
            packet.pts = packet.dts = i * 66
            out.mux(packet)
    with pytest.raises(MediaError, match="does not decode"):
        probe_recording(path)


def test_the_seam_refuses_a_receiver_without_a_jitter_buffer():
    class Receiver:
        _RTCRtpReceiver__decoder_queue = __import__("queue").Queue()

    with pytest.raises(MediaError, match="jitter_buffer"):
        aiortc_seam.tap_receiver(Receiver(), lambda frame: None)  # type: ignore[arg-type]


def test_sequence_numbers_across_a_wrap_are_no_gap():
    assert aiortc_seam._last_of([65534, 65535, 0, 1]) == 1
    assert aiortc_seam._last_of([7]) == 7
