"""Record a peer's VP8 video and Opus audio packets as they arrive: no re-encoding, off the loop.

``PacketRecorder.attach(pc)`` tees every encoded frame of each receiver (``aiortc_seam``),
stamps it on the session ``MediaClock`` and hands it through a bounded queue to one writer
thread, which muxes it into a live Matroska file flushed after every packet (clusters of at
most 1 s), so a killed process loses only the last second or two. ``kiosk.media.remux`` turns
that file, even a truncated one, into a seekable WebM with cues, and decodes a recording to
prove what is in it.

A full data disk stops the recording at the first write that fails: what was written before
stays a valid (truncated) Matroska file, the rest of the media is not written, and the owner is
told once (``on_storage_full``, with a ``StorageFull`` naming the file only), so the witness
can end as ``aborted: storage_full``. The writer thread logs under the session's id
(``session_id``), and names files by their name only.

After a gap in the received video (RTP sequence numbers that never reached a frame: see
``aiortc_seam.TappedFrame``) the delta frames that follow refer to a picture that is not in
the file, and decoders fail on them or show garbage. The recorder then asks the sender for a
keyframe at once (RTCP PLI), records no video until one arrives, and counts the packets
missing, the gaps and the frames skipped (``stats()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCRtpReceiver

from kiosk.atomic_files import is_disk_full, storage_full
from kiosk.errors import MediaError, StorageFull
from kiosk.logs import session_context
from kiosk.media import aiortc_seam
from kiosk.timeline import MediaClock

log = logging.getLogger(__name__)

CLOCK_RATES = {"video": 90_000, "audio": 48_000}
CODECS = {"video": "vp8", "audio": "opus"}
# Matroska stores every timestamp in milliseconds (the muxer forces time base 1/1000).
MS = Fraction(1, 1000)
LIVE_MKV_OPTIONS = {
    "cluster_time_limit": "1000",  # close a cluster at least every second ...
    "flush_packets": "1",  # ... and push each packet to the OS: a SIGKILL loses ~1-2 s
    # Never hold one track's packets for long waiting on the other (default is 10 s).
    "max_interleave_delta": "1000000",
}
# Header dimensions if no VP8 keyframe arrived before the header had to be written; decoders
# take the real size from the bitstream.
FALLBACK_SIZE = (640, 480)
HEADER_WAIT_SECONDS = 2.0


def vp8_is_keyframe(data: bytes) -> bool:
    """VP8 frame tag bit 0 is 0 on a keyframe (RFC 6386 section 9.1)."""
    return len(data) > 0 and not data[0] & 1


def vp8_is_whole_keyframe(data: bytes) -> bool:
    """A keyframe with its start code: a frame that lost its first packets is not one, even
    when its first byte happens to have bit 0 clear."""
    return vp8_keyframe_size(data) is not None


def vp8_keyframe_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8 keyframe header, or None when ``data`` is not one."""
    if len(data) < 10 or not vp8_is_keyframe(data) or data[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


def prefer_vp8_opus(pc: RTCPeerConnection) -> None:
    """Make the answer negotiate only VP8 (+RTX) and Opus; call after setRemoteDescription.

    Raises MediaError naming the offered codecs when the offer has no VP8 or no Opus.
    """
    wanted = {"video": {"video/vp8"}, "audio": {"audio/opus"}}
    for transceiver in pc.getTransceivers():
        kind = transceiver.kind
        if kind not in wanted:
            continue
        capabilities = RTCRtpReceiver.getCapabilities(kind)
        assert capabilities is not None  # None only for a kind other than audio/video
        caps = capabilities.codecs
        prefs = [c for c in caps if c.mimeType.lower() in wanted[kind]]
        if kind == "video":
            prefs += [c for c in caps if c.mimeType.lower() == "video/rtx"]
        transceiver.setCodecPreferences(prefs)
        offered = [c.mimeType for c in (getattr(transceiver, "_codecs", None) or [])]
        if offered and not aiortc_seam.restrict_negotiated_codecs(transceiver, wanted[kind]):
            raise MediaError(
                f"the offer's {kind} has no {CODECS[kind].upper()} codec (offered: "
                f"{', '.join(sorted(set(offered)))}); recording needs VP8 video and Opus audio"
            )


class RtpTimeline:
    """Maps one track's RTP timestamps to seconds on the session MediaClock.

    pts = (arrival of the track's first frame - clock origin) + (rtp - first rtp) / clock rate,
    with 32-bit RTP wraparound unwrapped (a step of more than half the range is backwards).
    """

    def __init__(self, clock_rate: int, origin: float):
        self.clock_rate = clock_rate
        self.origin = origin
        self.first_arrival: float | None = None
        self._first = self._ext = self._last_raw = 0

    def pts(self, rtp_ts: int, arrival: float) -> float:
        if self.first_arrival is None:
            self.first_arrival = arrival
            self._first = self._ext = self._last_raw = rtp_ts
        else:
            delta = (rtp_ts - self._last_raw) & 0xFFFFFFFF
            if delta >= 1 << 31:
                delta -= 1 << 32
            self._ext += delta
            self._last_raw = rtp_ts
        return (self.first_arrival - self.origin) + (self._ext - self._first) / self.clock_rate


@dataclass
class _Track:
    """Per-receiver state; the producer fields are touched only on the asyncio loop."""

    kind: str
    receiver: RTCRtpReceiver
    timeline: RtpTimeline
    tap: aiortc_seam.ReceiverTap | None = None
    stream: av.stream.Stream | None = None  # writer thread only
    need_keyframe: bool = True
    keyframe_wanted: bool = False
    last_keyframe_arrival: float | None = None
    last_pli: float = 0.0
    last_ms: int = -1  # writer thread only
    wrong_codec_warned: bool = False


@dataclass
class _Item:
    track: _Track
    data: bytes
    pts: float  # seconds on the session MediaClock
    keyframe: bool


class PacketRecorder:
    """Records every encoded video frame and audio packet of one peer connection to ``path``.

    ``session_id`` tags the writer thread's log records; ``on_storage_full(StorageFull)`` is
    called once, from the writer thread, when the data disk is full (the recording stops
    there; without it, one WARNING says so)."""

    def __init__(
        self,
        path: Path,
        clock: MediaClock,
        keyframe_interval: float = 2.0,
        queue_max_packets: int = 1000,
        *,
        session_id: str | None = None,
        on_storage_full: Callable[[StorageFull], None] | None = None,
    ):
        path = Path(path)
        if not path.parent.is_dir():
            raise MediaError(f"recording folder {path.parent} does not exist")
        if not keyframe_interval > 0:
            raise ValueError(f"keyframe_interval must be > 0 seconds, got {keyframe_interval!r}")
        if queue_max_packets < 1:
            raise ValueError(f"queue_max_packets must be >= 1, got {queue_max_packets!r}")
        self.path = path
        self.clock = clock
        self.session_id = session_id
        self._on_storage_full = on_storage_full
        self._storage_full = False  # writer thread only: the disk filled, recording stopped
        self.keyframe_interval = float(keyframe_interval)
        # ~65 packets/s for A+V: the default holds ~15 s of media if the disk stalls.
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=queue_max_packets)
        self._tracks: list[_Track] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closed = False
        self._writer: threading.Thread | None = None
        self._pli_task: asyncio.Task | None = None
        self._gap_requests: set[asyncio.Task] = set()
        self._last_drop_warning = 0.0
        # Counters (int) and first_<kind>_t (float | None), updated by kind-built keys.
        self._stats: dict[str, Any] = {
            "video_packets": 0,
            "audio_packets": 0,
            "video_keyframes": 0,
            "bytes": 0,
            "first_video_t": None,
            "first_audio_t": None,
            "dropped_video": 0,
            "dropped_audio": 0,
            "skipped_video": 0,  # frames before the first keyframe or after a drop or a gap
            # Every PLI sent: one each keyframe_interval keeps the file seekable; the
            # "recovery" ones were sent because a gap or a drop left video undecodable.
            "keyframe_requests": 0,
            "keyframe_requests_recovery": 0,
            # Gaps in the received sequence numbers, and the packets missing in them.
            "video_gaps": 0,
            "video_packets_missing": 0,
            "audio_gaps": 0,
            "audio_packets_missing": 0,
            "write_errors": 0,
        }

    # -- attaching (asyncio loop) -------------------------------------------------------------

    def attach(self, pc: RTCPeerConnection) -> None:
        """Tap every video and audio receiver of ``pc``; call on its loop before createAnswer."""
        with self._lock:
            if self._closed:
                raise MediaError("recorder is closed")
            if self._tracks:
                raise MediaError("recorder is already attached to a peer connection")
            for transceiver in pc.getTransceivers():
                if transceiver.kind not in CLOCK_RATES or transceiver.receiver is None:
                    continue
                if aiortc_seam.receiver_started(transceiver.receiver):
                    log.warning("attach() after %s media started: the recording may miss its "
                                "start (attach right after setRemoteDescription)",
                                transceiver.kind)
                track = _Track(transceiver.kind, transceiver.receiver,
                               RtpTimeline(CLOCK_RATES[transceiver.kind], self.clock.origin))
                try:
                    track.tap = aiortc_seam.tap_receiver(
                        transceiver.receiver, functools.partial(self._on_frame, track))
                except MediaError:
                    for done in self._tracks:  # leave no half-attached recorder behind
                        assert done.tap is not None  # a track is appended once tapped
                        done.tap.detach()
                    self._tracks.clear()
                    raise
                self._tracks.append(track)
            if not self._tracks:
                raise MediaError("the peer connection has no audio or video receiver to record")
            self._writer = threading.Thread(target=self._writer_main, name="recorder-writer",
                                            daemon=True)
            self._writer.start()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.warning("attach() called outside the asyncio loop: no periodic keyframe requests")
            return
        if any(t.kind == "video" for t in self._tracks):
            self._pli_task = loop.create_task(self._request_keyframes())

    def _on_frame(self, track: _Track, frame: aiortc_seam.TappedFrame) -> None:
        """Stamp one encoded frame and queue it; runs on the asyncio loop, so never blocks."""
        data, arrival = frame.data, frame.arrival
        if self._closed or not data:
            return
        if frame.codec.lower() != CODECS[track.kind]:
            if not track.wrong_codec_warned:
                track.wrong_codec_warned = True
                log.warning("not recording %s: negotiated codec %s is not %s", track.kind,
                            frame.codec, CODECS[track.kind])
            return
        if frame.gap:
            self._stats[track.kind + "_gaps"] += 1
            self._stats[track.kind + "_packets_missing"] += frame.lost_before
            if track.kind == "video":
                self._after_gap(track, frame.lost_before)
        pts = track.timeline.pts(frame.rtp_timestamp, arrival)
        keyframe = True
        if track.kind == "video":
            keyframe = vp8_is_whole_keyframe(data)
            if keyframe:
                track.last_keyframe_arrival = arrival
                track.keyframe_wanted = False
                track.need_keyframe = False
            elif track.need_keyframe:
                # Undecodable without the keyframe it depends on.
                self._stats["skipped_video"] += 1
                track.keyframe_wanted = True
                return
        try:
            self._queue.put_nowait(_Item(track, data, pts, keyframe))
        except queue.Full:
            self._stats["dropped_" + track.kind] += 1
            if track.kind == "video":
                track.need_keyframe = True
                track.keyframe_wanted = True
            if arrival - self._last_drop_warning > 5.0:
                self._last_drop_warning = arrival
                log.warning("recorder queue full (writer behind): dropped %d video, %d audio "
                            "packets so far", self._stats["dropped_video"],
                            self._stats["dropped_audio"])

    def _after_gap(self, track: _Track, lost: int) -> None:
        """Skip video until a keyframe arrives, and ask for one now."""
        track.need_keyframe = True
        track.keyframe_wanted = True
        if self._stats["video_gaps"] <= 3 or self._stats["video_gaps"] % 100 == 0:
            log.info("video gap of %d packet(s) (%d gaps so far): waiting for a keyframe",
                     lost, self._stats["video_gaps"])
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # fed outside a loop (tests): the periodic task asks instead
            return
        task = loop.create_task(self._request_keyframe_now(track))
        self._gap_requests.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._gap_requests.discard)

    async def _request_keyframe_now(self, track: _Track) -> None:
        now = time.monotonic()
        if now - track.last_pli < 0.2:  # a PLI is on its way: the sender needs time to answer
            return
        track.last_pli = now
        try:
            sent = await aiortc_seam.request_keyframe(track.receiver)
            self._stats["keyframe_requests"] += sent
            self._stats["keyframe_requests_recovery"] += sent
        except Exception as exc:  # a closing transport
            log.debug("keyframe request failed: %s", exc)

    async def _request_keyframes(self) -> None:
        """Ask the sender for a keyframe every keyframe_interval, so the file stays seekable."""
        period = min(0.5, self.keyframe_interval / 4)
        while not self._stop.is_set():
            await asyncio.sleep(period)
            now = time.monotonic()
            for track in self._tracks:
                if track.kind != "video" or track.timeline.first_arrival is None:
                    continue
                last = track.last_keyframe_arrival
                due = track.keyframe_wanted or last is None or (
                    now - last >= self.keyframe_interval - period / 2)
                if not due or now - track.last_pli < min(1.0, self.keyframe_interval / 2):
                    continue
                track.last_pli = now
                recovery = track.keyframe_wanted
                try:
                    sent = await aiortc_seam.request_keyframe(track.receiver)
                    self._stats["keyframe_requests"] += sent
                    if recovery:
                        self._stats["keyframe_requests_recovery"] += sent
                except Exception as exc:  # a closing transport must not kill the task
                    log.debug("keyframe request failed: %s", exc)

    # -- writer thread ------------------------------------------------------------------------

    def _writer_main(self) -> None:
        with session_context(self.session_id):
            self._run_writer()

    def _disk_full(self, exc: BaseException) -> bool:
        """True when ``exc`` is the data disk being full: the recording stops (what was
        written is kept), said once, through ``on_storage_full`` or one WARNING."""
        if not is_disk_full(exc):
            return False
        if self._storage_full:
            return True
        self._storage_full = True
        err = storage_full(self.path, exc)
        if self._on_storage_full is None:
            log.warning("storage_full: %s: recording stopped; what was recorded is kept",
                        err.strerror)
            return True
        try:
            self._on_storage_full(err)
        except Exception:
            log.exception("reporting the full disk failed")
        return True

    def _run_writer(self) -> None:
        container = None
        fh = None
        pending: list[_Item] = []
        try:
            while True:
                try:
                    item = self._queue.get(timeout=0.2)
                except queue.Empty:
                    item = None
                    if self._stop.is_set():
                        break
                if container is None:
                    if item is not None:
                        pending.append(item)
                    if not self._header_ready(pending):
                        continue
                    try:
                        fh = open(self.path, "wb", buffering=0)
                        container = self._open_container(fh, pending)
                    except Exception as exc:
                        self._stats["write_errors"] += 1
                        if not self._disk_full(exc):
                            log.exception("cannot open recording %s; recording nothing",
                                          self.path.name)
                        self._drain_after_failure()
                        return
                    items, pending = pending, []
                else:
                    items = [item] if item is not None else []
                for it in items:
                    self._write(container, it)
                if self._storage_full:  # the rest is not written: recording stopped
                    self._drain_after_failure()
                    break
            if container is None:  # stopped before any header: still leave a valid file
                fh = open(self.path, "wb", buffering=0)
                container = self._open_container(fh, pending)
                for it in pending:
                    self._write(container, it)
        except Exception as exc:
            self._stats["write_errors"] += 1
            if not self._disk_full(exc):
                log.exception("recording writer failed")
        finally:
            if container is not None:
                try:
                    container.close()
                except Exception as exc:
                    self._stats["write_errors"] += 1
                    # After a full disk the trailer cannot be written either (PyAV then
                    # says only "Error in PyAV callback"): the file stays readable without it.
                    if not (self._storage_full or self._disk_full(exc)):
                        log.exception("closing recording %s failed", self.path.name)
            if fh is not None:
                fh.close()

    def _drain_after_failure(self) -> None:
        while not (self._stop.is_set() and self._queue.empty()):
            try:
                self._queue.get(timeout=0.2)
            except queue.Empty:
                pass

    def _header_ready(self, pending: list[_Item]) -> bool:
        """Write the header once a video keyframe gave the size, or after a short wait."""
        if self._stop.is_set():
            return True
        if not pending:
            return False
        kinds = {t.kind for t in self._tracks}
        if "video" not in kinds or any(p.keyframe and p.track.kind == "video" for p in pending):
            return True
        return pending[-1].pts - pending[0].pts >= HEADER_WAIT_SECONDS

    def _open_container(self, fh, pending: list[_Item]):
        size = next((s for p in pending if p.track.kind == "video"
                     for s in [vp8_keyframe_size(p.data)] if s), FALLBACK_SIZE)
        container = av.open(fh, "w", format="matroska", options=LIVE_MKV_OPTIONS)
        for track in self._tracks:
            stream: av.stream.Stream
            if track.kind == "video":
                stream = container.add_mux_stream("vp8", width=size[0], height=size[1])
            else:
                # A libopus encoder context (opened, never fed) makes PyAV write an OpusHead
                # as CodecPrivate, which Matroska's A_OPUS requires; ffmpeg guesses without
                # one, stricter players may not. PyAV cannot set extradata on a mux stream.
                stream = container.add_stream("libopus", rate=48_000, layout="stereo")
            stream.time_base = MS
            track.stream = stream
        container.start_encoding()
        log.info("recording to %s (video %dx%d)", self.path.name, *size)
        return container

    def _write(self, container, item: _Item) -> None:
        track = item.track
        ms = max(0, round(item.pts * 1000))
        if ms <= track.last_ms:  # Matroska needs increasing timestamps per track
            ms = track.last_ms + 1
        track.last_ms = ms
        packet = av.Packet(item.data)
        assert track.stream is not None  # _open_container made every track's stream
        packet.stream = track.stream
        packet.time_base = MS
        packet.pts = packet.dts = ms
        packet.is_keyframe = item.keyframe
        if self._storage_full:
            return
        try:
            container.mux(packet)
        except Exception as exc:
            self._stats["write_errors"] += 1
            if not self._disk_full(exc) and self._stats["write_errors"] <= 3:
                log.error("writing a %s packet to %s failed: %s", track.kind, self.path.name,
                          type(exc).__name__)
            return
        kind = track.kind
        self._stats[kind + "_packets"] += 1
        self._stats["bytes"] += len(item.data)
        if kind == "video" and item.keyframe:
            self._stats["video_keyframes"] += 1
        if self._stats["first_" + kind + "_t"] is None:
            self._stats["first_" + kind + "_t"] = round(ms / 1000, 3)

    # -- public -------------------------------------------------------------------------------

    def stats(self) -> dict:
        """Counters: packets and keyframes written, bytes, first pts per kind, drops, frames
        skipped, keyframe requests, gaps in the received sequence numbers and the packets
        missing in them (per kind)."""
        return dict(self._stats)

    def close(self, timeout: float = 30.0) -> None:
        """Stop recording, flush and close the file; idempotent, thread-safe, never raises."""
        with (session_context(self.session_id) if self.session_id is not None
              else contextlib.nullcontext()):
            self._close(timeout)

    def _close(self, timeout: float) -> None:
        with self._lock:
            first = not self._closed
            self._closed = True
            self._stop.set()
            writer = self._writer
        if first:
            for track in self._tracks:
                if track.tap is not None:
                    track.tap.detach()
            task = self._pli_task
            if task is not None and not task.done():
                try:
                    task.get_loop().call_soon_threadsafe(task.cancel)
                except RuntimeError:  # loop already closed
                    pass
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout)
            if writer.is_alive():
                log.error("recording writer did not finish within %.0f s (%s)", timeout,
                          self.path.name)
            elif first:
                log.info("recording closed: %s", self._stats)
