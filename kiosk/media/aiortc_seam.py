"""The only module that touches aiortc's private internals (aiortc is pinned to 1.16.0 for it).

Two seams:

* ``tap_receiver``: every ``RTCRtpReceiver`` hands each complete, depayloaded encoded frame to
  its decoder thread with ``self.__decoder_queue.put((codec, jitter_frame))`` on the asyncio
  loop (``RTCRtpReceiver._handle_rtp_packet``). We replace ``put`` on that one queue object
  with a tee that first gives the encoded bytes to a callback, then calls the real ``put``,
  so decoded frames still reach the track. Patching the instance (not the class) keeps it
  per-receiver, and works whether or not the decoder thread has started.

  The frames come out of the receiver's ``JitterBuffer``, which assembles a frame only from
  consecutive RTP sequence numbers. A packet that never arrives (nor its retransmission)
  stalls it until it overflows; it then discards packets (``smart_remove``), and the next
  frame it hands on may lack its first packets, and every delta frame after it refers to a
  picture the decoder never saw. The tap therefore also wraps that buffer's ``add`` (on the
  instance) to note each packet's sequence number per RTP timestamp, and tells the callback,
  with each frame, how many sequence numbers were skipped since the previous frame
  (``TappedFrame.lost_before``): the packets the recording will lack.
* ``request_keyframe``: sends an RTCP PLI for the receiver's media SSRCs
  (``RTCRtpReceiver._send_rtcp_pli``), so the sender produces a keyframe.

``jitter_frame.timestamp`` is already passed through aiortc's ``TimestampMapper`` (RTP time
rebased to 0 at the first frame, 32-bit wraps unwrapped); callers must treat it as RTP time
of unknown origin and still cope with a wrap.
"""

from __future__ import annotations

import logging
import queue
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCRtpReceiver

from kiosk.errors import MediaError

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class TappedFrame:
    """One encoded frame on its way to the decoder.

    ``rtp_timestamp`` is on the codec clock (90 kHz video, 48 kHz audio), ``arrival`` is
    ``time.monotonic()`` seconds. ``lost_before`` is how many RTP sequence numbers between the
    previous frame handed on and this one never reached a frame (lost, or discarded by the
    jitter buffer); ``gap`` is True when that is more than 0 or when the stream restarted with
    an unrelated sequence number (then ``lost_before`` is 0: the count is unknown).
    """

    codec: str
    data: bytes
    rtp_timestamp: int
    arrival: float
    lost_before: int = 0
    gap: bool = False


FrameSink = Callable[[TappedFrame], None]

_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"
_JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"
_RTX_ATTR = "_RTCRtpReceiver__rtx_ssrc"
# Sequence numbers are remembered for this many recent RTP timestamps (frames) per receiver.
_TIMESTAMPS_KEPT = 256
_LOST_ATTR = "_kiosk_lost_before"  # set on aiortc's JitterFrame by the jitter buffer wrapper
_RESTART = -1  # _LOST_ATTR value: the sequence numbers restarted, the loss is unknown


class ReceiverTap:
    """A tee on one receiver's decoder queue; ``detach()`` restores the original ``put``."""

    def __init__(self, receiver: RTCRtpReceiver, sink: FrameSink):
        q = getattr(receiver, _QUEUE_ATTR, None)
        if not isinstance(q, queue.Queue):
            raise MediaError(
                f"aiortc internals changed: RTCRtpReceiver has no {_QUEUE_ATTR} queue "
                "(kiosk.media.aiortc_seam supports aiortc 1.16.0)"
            )
        if "put" in vars(q):
            raise MediaError("this receiver is already tapped by another recorder")
        jb = getattr(receiver, _JITTER_ATTR, None)
        if jb is None or not callable(getattr(jb, "add", None)):
            raise MediaError(
                f"aiortc internals changed: RTCRtpReceiver has no {_JITTER_ATTR} with add() "
                "(kiosk.media.aiortc_seam supports aiortc 1.16.0)"
            )
        self.receiver = receiver
        self._queue = q
        self._jitter = jb
        self._sink = sink
        self._real_put = q.put
        self._real_add = jb.add
        self.errors = 0
        # raw RTP timestamp -> sequence numbers of the packets added with it (recent frames)
        self._seqs: OrderedDict[int, list[int]] = OrderedDict()
        self._last_seq: int | None = None  # the last sequence number of the last frame out
        q.put = self._put  # type: ignore[method-assign]  # the seam: wraps aiortc's own
        jb.add = self._add

    def _add(self, packet):
        pli_flag, frame = self._real_add(packet)
        try:
            self._note(packet.sequence_number, packet.timestamp, frame)
        except Exception:
            self.errors += 1
            if self.errors == 1:
                log.exception("recording tap failed; media still flows to the track")
        return pli_flag, frame

    def _note(self, seq: int, rtp_ts: int, frame) -> None:
        """Remember ``seq``; when ``frame`` comes out, mark how many sequence numbers it skips."""
        seqs = self._seqs.get(rtp_ts)
        if seqs is None:
            seqs = self._seqs[rtp_ts] = []
            if len(self._seqs) > _TIMESTAMPS_KEPT:
                self._seqs.popitem(last=False)
        seqs.append(seq)
        if frame is None:
            return
        mine = self._seqs.pop(frame.timestamp, None)  # raw: aiortc maps it after add()
        if not mine:
            return
        if self._last_seq is None:
            self._last_seq = _last_of(mine)
            return
        ahead = sorted({(s - self._last_seq) & 0xFFFF for s in mine} - {0})
        ahead = [o for o in ahead if o < 0x8000]
        if not ahead:  # only older numbers: the sender restarted its sequence
            setattr(frame, _LOST_ATTR, _RESTART)
            self._last_seq = _last_of(mine)
            return
        self._last_seq = (self._last_seq + ahead[-1]) & 0xFFFF
        if ahead[0] > 1:
            setattr(frame, _LOST_ATTR, ahead[0] - 1)

    def _put(self, item, block: bool = True, timeout: float | None = None) -> None:
        if item is not None:
            try:
                codec, frame = item
                lost = getattr(frame, _LOST_ATTR, 0)
                self._sink(TappedFrame(codec.name, frame.data, frame.timestamp,
                                       time.monotonic(), max(0, lost), lost != 0))
            except Exception:
                # The recorder must never break media delivery to the track.
                self.errors += 1
                if self.errors == 1:
                    log.exception("recording tap failed; media still flows to the track")
        self._real_put(item, block, timeout)

    def detach(self) -> None:
        """Stop teeing; frames keep flowing to the decoder."""
        if vars(self._queue).get("put") == self._put:
            del self._queue.put
        if vars(self._jitter).get("add") == self._add:
            del self._jitter.add


def _last_of(seqs: list[int]) -> int:
    """The latest of a frame's sequence numbers (they span far less than half the range)."""
    first = seqs[0]
    return (first + max((s - first + 0x8000) & 0xFFFF for s in seqs) - 0x8000) & 0xFFFF


def tap_receiver(receiver: RTCRtpReceiver, sink: FrameSink) -> ReceiverTap:
    """Tee every encoded frame ``receiver`` decodes into ``sink`` (called on the asyncio loop
    with a ``TappedFrame``); MediaError when the receiver's internals are not aiortc 1.16's."""
    return ReceiverTap(receiver, sink)


def receiver_started(receiver: RTCRtpReceiver) -> bool:
    """True once the receiver's decoder thread runs, i.e. media may already have flowed."""
    return getattr(receiver, "_RTCRtpReceiver__decoder_thread", None) is not None


def media_ssrcs(receiver: RTCRtpReceiver) -> list[int]:
    """SSRCs of the media streams this receiver has seen, without RTX retransmission SSRCs."""
    rtx = set(getattr(receiver, _RTX_ATTR, {}) or {})
    return [s.source for s in receiver.getSynchronizationSources() if s.source not in rtx]


async def request_keyframe(receiver: RTCRtpReceiver) -> int:
    """Send an RTCP PLI for each media SSRC of ``receiver``; returns how many were sent."""
    sent = 0
    for ssrc in media_ssrcs(receiver):
        await receiver._send_rtcp_pli(ssrc)
        sent += 1
    return sent


def restrict_negotiated_codecs(transceiver, mime_types: set[str]) -> list[str]:
    """Keep only ``mime_types`` (lower case) and their RTX among codecs negotiated from an offer.

    aiortc 1.16 negotiates an answerer's codecs inside ``setRemoteDescription`` and ignores
    ``setCodecPreferences`` called after it, so this re-filters ``transceiver._codecs``. Returns
    the mime types left; empty when nothing matched (the codecs are then left untouched).
    """
    codecs = list(getattr(transceiver, "_codecs", None) or [])
    if not codecs:
        return []
    kept = [c for c in codecs if c.mimeType.lower() in mime_types]
    if not kept:
        return []
    kept_pts = {c.payloadType for c in kept}
    rtx = [
        c for c in codecs
        if c.mimeType.lower().endswith("/rtx") and c.parameters.get("apt") in kept_pts
    ]
    transceiver._codecs = [c for c in codecs if c in kept or c in rtx]
    return [c.mimeType for c in transceiver._codecs]
