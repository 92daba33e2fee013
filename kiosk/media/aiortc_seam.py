"""The only module that touches aiortc's private internals (aiortc is pinned to 1.16.0 for it).

Two seams:

* ``tap_receiver``: every ``RTCRtpReceiver`` hands each complete, depayloaded encoded frame to
  its decoder thread with ``self.__decoder_queue.put((codec, jitter_frame))`` on the asyncio
  loop (``RTCRtpReceiver._handle_rtp_packet``). We replace ``put`` on that one queue object
  with a tee that first gives the encoded bytes to a callback, then calls the real ``put``,
  so decoded frames still reach the track. Patching the instance (not the class) keeps it
  per-receiver, and works whether or not the decoder thread has started.
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
from collections.abc import Callable

from aiortc import RTCRtpReceiver

from kiosk.errors import MediaError

log = logging.getLogger(__name__)

# (codec_name, encoded_bytes, rtp_timestamp, arrival_monotonic)
FrameSink = Callable[[str, bytes, int, float], None]

_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"
_RTX_ATTR = "_RTCRtpReceiver__rtx_ssrc"


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
        self.receiver = receiver
        self._queue = q
        self._sink = sink
        self._real_put = q.put
        self.errors = 0
        q.put = self._put  # type: ignore[method-assign]

    def _put(self, item, block: bool = True, timeout: float | None = None) -> None:
        if item is not None:
            try:
                codec, frame = item
                self._sink(codec.name, frame.data, frame.timestamp, time.monotonic())
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


def tap_receiver(receiver: RTCRtpReceiver, sink: FrameSink) -> ReceiverTap:
    """Tee every encoded frame ``receiver`` decodes into ``sink`` (called on the asyncio loop)."""
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
