"""The investor's peer connection: validate the offer, answer it, record and consume media.

``InvestorPeer`` runs entirely on the ``MediaLoop``; its callbacks to the witness are handed
to a thread pool so that nothing slow ever runs on the loop. ``LoopPeer`` is the witness
runner's ``kiosk.witness.ports.MediaPeer``: it drives an ``InvestorPeer`` from the runner's
threads, and the runner hands it, with the offer, everything of its own
(``kiosk.media.peer_session.PeerSession``: the session, its media clock, where to record,
and the callbacks to report through).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs import CODECS as AIORTC_CODECS
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcpeerconnection import is_codec_compatible
from aiortc.sdp import SessionDescription

from kiosk.errors import SignallingError
from kiosk.media.peer_session import PeerSession
from kiosk.media.recorder import PacketRecorder, prefer_vp8_opus
from kiosk.timeline import MediaClock

if TYPE_CHECKING:
    from kiosk.media.loop import MediaLoop
    from kiosk.media.recorder import PacketRecorder

log = logging.getLogger(__name__)


# What the recorder writes (kiosk.media.recorder.CODECS): an offer without them cannot be
# recorded, and asking again will not change the browser.
RECORDED_CODECS = {"video": "vp8", "audio": "opus"}
# Repair and signalling payloads, not codecs a browser records with.
_NOT_MEDIA_CODECS = {"rtx", "red", "ulpfec", "flexfec-03", "cn", "telephone-event"}
NO_MICROPHONE = ("the offer has no microphone track, so the spoken answers cannot be heard: "
                 "allow the microphone or connect one")
NO_CAMERA = ("the offer sends no camera picture, so the investor cannot be seen: allow the "
             "camera or connect one")
# One media line as RFC 8866 5.14 has it: kind, port (/count), protocol, one or more formats.
# aiortc asserts this shape; an offer that breaks it is refused here, by name, instead.
_MEDIA_LINE = re.compile(r"m=[a-z]+ [0-9]+(/[0-9]+)? [A-Za-z0-9/]+( [^ ]+)+")
# The fingerprint kinds aiortc's DTLS transport can check (aiortc.rtcdtlstransport
# X509_DIGEST_ALGORITHMS), and a fingerprint's shape (RFC 8122: hex bytes joined by colons).
DTLS_FINGERPRINT_ALGORITHMS = ("sha-256", "sha-384", "sha-512")
_FINGERPRINT_VALUE = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){19,63}")
# What the recorder counted while receiving (kiosk.media.recorder.PacketRecorder.stats), as
# the end of a witness records it.
RECEIVED_COUNTS = ("video_packets_missing", "video_gaps", "skipped_video", "keyframe_requests",
                   "keyframe_requests_recovery", "dropped_video", "audio_packets_missing",
                   "dropped_audio")
def validate_offer(sdp: object, max_bytes: int) -> str:
    """Return the SDP if it is an acceptable offer; SignallingError saying why otherwise.

    Its ``code`` tells the page what to ask for: ``no_camera`` (no video section, or one not
    sent: recvonly, inactive, port 0), ``no_microphone`` (the same for audio),
    ``unsupported_browser`` (no VP8 or no Opus), else ``bad_offer`` (also for a section without
    ``a=ice-ufrag``, ``a=ice-pwd``, ``a=setup``, a usable ``a=fingerprint`` or ``a=rtcp-mux``,
    or whose VP8 or Opus is not one aiortc can use: another clock rate). The message is
    always ours: never the text of an exception raised by the SDP parser."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise SignallingError("the offer has no SDP")
    if len(sdp.encode("utf-8", "replace")) > max_bytes:
        raise SignallingError(f"the offer is larger than {max_bytes} bytes")
    if not sdp.startswith("v=0"):
        raise SignallingError("the offer is not SDP (it must start with v=0)")
    _check_media_lines(sdp)
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception:  # aiortc raises AssertionError/ValueError/IndexError on junk
        log.debug("the SDP parser refused an offer", exc_info=True)
        raise SignallingError("the offer SDP cannot be parsed: one of its lines is not "
                              "valid SDP") from None
    kinds = [m.kind for m in parsed.media]
    if not kinds:
        raise SignallingError("the offer carries no media: it needs one video and one audio "
                              "track")
    if kinds.count("video") > 1 or kinds.count("audio") > 1 or len(kinds) > 2:
        raise SignallingError("the offer may carry one video and one audio track, no more")
    if kinds.count("video") + kinds.count("audio") != len(kinds):
        raise SignallingError("the offer may carry one video and one audio track, no more")
    for m in parsed.media:
        if m.direction is None:
            # aiortc would fail on it deep inside (ValueError "None is not in list").
            raise SignallingError(
                f"the offer's {m.kind} section has no direction line (a=sendonly or "
                "a=sendrecv)")
    for m in parsed.media:
        _check_transport(m)
    for kind, refusal, code in (("video", NO_CAMERA, "no_camera"),
                                ("audio", NO_MICROPHONE, "no_microphone")):
        media = [m for m in parsed.media if m.kind == kind]
        if not media or media[0].port == 0 or media[0].direction not in ("sendonly",
                                                                        "sendrecv"):
            # The witness must see the investor and hear the spoken consent.
            raise SignallingError(refusal, code=code)
    for m in parsed.media:
        offered = {c.mimeType.lower() for c in m.rtp.codecs}
        wanted = f"{m.kind}/{RECORDED_CODECS[m.kind]}"
        if wanted in offered:
            _check_recorded_codec(m, wanted)
        else:
            names = ", ".join(sorted(c.split("/", 1)[1].upper() for c in offered
                                     if c.split("/", 1)[1] not in _NOT_MEDIA_CODECS)) or "none"
            raise SignallingError(
                f"this browser sends {m.kind} as {names} only; the witness records "
                f"{RECORDED_CODECS[m.kind].upper()}: update the browser (Safari 12.1 / iOS 12.2 "
                "or later) or use an up-to-date Chrome, Edge or Firefox",
                code="unsupported_browser")
    return sdp


def _check_transport(m) -> None:
    """Refuse, by name, a media section without what ICE and DTLS need: ``a=ice-ufrag``,
    ``a=ice-pwd``, ``a=setup``, and an ``a=fingerprint`` with an algorithm the DTLS stack
    checks (sha-256, sha-384, sha-512) and a value of colon-separated hex bytes. These lines
    may stand at the session level (the parser copies them into each section). Without them
    aiortc accepted the offer and then failed inside ICE or DTLS: a traceback in the log and
    an investor left waiting."""
    section = f"the offer's {m.kind} section"
    if not (m.ice and m.ice.usernameFragment):
        raise SignallingError(f"{section} has no a=ice-ufrag line (the ICE user name)")
    if not m.ice.password:
        raise SignallingError(f"{section} has no a=ice-pwd line (the ICE password)")
    if m.dtls is None:
        raise SignallingError(f"{section} has no a=setup line (the DTLS role, a=setup:actpass)")
    if not m.dtls.fingerprints:
        raise SignallingError(f"{section} has no a=fingerprint line (the DTLS certificate's "
                              "fingerprint)")
    for f in m.dtls.fingerprints:
        if f.algorithm.lower() not in DTLS_FINGERPRINT_ALGORITHMS:
            raise SignallingError(
                f"{section} has a fingerprint of an unsupported kind (it must be one of "
                f"{', '.join(DTLS_FINGERPRINT_ALGORITHMS)})")
        if not _FINGERPRINT_VALUE.fullmatch(f.value):
            raise SignallingError(f"{section} has a fingerprint that is not colon-separated "
                                  "hex bytes")
    if not m.rtcp_mux:  # aiortc: ValueError "RTCP mux is not enabled", with a traceback
        raise SignallingError(f"{section} has no a=rtcp-mux line (RTP and RTCP on one port, "
                              "which every current browser offers)")


def _check_recorded_codec(m, wanted: str) -> None:
    """Refuse, by name, a section whose recorded codec (``wanted``, e.g. ``video/vp8``) is
    offered only in a form aiortc cannot use (``is_codec_compatible``: another clock rate,
    ``a=rtpmap:96 VP8/0``): aiortc refused it with MediaError "no VP8 codec" and a traceback."""
    ours = [c for c in AIORTC_CODECS[m.kind] if c.mimeType.lower() == wanted]
    offered = [c for c in m.rtp.codecs if c.mimeType.lower() == wanted]
    if any(is_codec_compatible(a, b) for a in ours for b in offered):
        return
    name = wanted.split("/", 1)[1].upper()
    rates = ", ".join(sorted({str(c.clockRate) for c in offered}))
    expected = ", ".join(sorted({str(c.clockRate) for c in ours}))
    raise SignallingError(f"the offer's {m.kind} section offers {name} at a clock rate of "
                          f"{rates} Hz; {name} runs at {expected} Hz")


def _check_media_lines(sdp: str) -> None:
    """Refuse, by line number, an ``m=`` line without a kind, a port, a protocol and at least
    one format (aiortc asserts on it: the page got "(AssertionError)")."""
    for number, line in enumerate(sdp.splitlines(), start=1):
        if line.startswith("m=") and not _MEDIA_LINE.fullmatch(line.rstrip()):
            raise SignallingError(
                f"the offer's media line {number} is incomplete: it needs a kind, a port, a "
                "protocol and at least one codec (payload type)")


def ice_configuration(ice_servers) -> RTCConfiguration:
    """aiortc's default is Google's STUN; we use none unless configured."""
    return RTCConfiguration(iceServers=[
        RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in ice_servers
    ])


class InvestorPeer:
    """One investor's receive-only peer connection, its recorder and its frame consumers."""

    def __init__(
        self,
        *,
        session_id: str,
        clock: MediaClock,
        recording_path: Path | None,
        executor: Executor,
        ice_servers=(),
        keyframe_interval: float = 2.0,
        on_first_frame: Callable[[], None] = lambda: None,
        on_lost: Callable[[str], None] = lambda reason: None,
        on_video_frame: Callable | None = None,
        on_audio_frame: Callable | None = None,
        on_storage_full: Callable[[OSError], None] | None = None,
    ):
        self.session_id = session_id
        self.clock = clock
        self.recording_path = recording_path
        self.executor = executor
        self.ice_servers = ice_servers
        self.keyframe_interval = keyframe_interval
        self.on_first_frame = on_first_frame
        self.on_lost = on_lost
        self.on_video_frame = on_video_frame
        self.on_audio_frame = on_audio_frame
        self.on_storage_full = on_storage_full
        self.pc: RTCPeerConnection | None = None
        self.recorder: PacketRecorder | None = None
        self.video_frames = 0
        self.audio_frames = 0
        self._tasks: list[asyncio.Task] = []
        self._first = False
        self._closed = False

    def _later(self, fn, *args) -> None:
        self.executor.submit(fn, *args)

    async def accept(self, offer_sdp: str) -> str:
        """Answer the offer; the recorder is attached before any media can flow."""
        pc = RTCPeerConnection(ice_configuration(self.ice_servers))
        self.pc = pc

        @pc.on("track")
        def _on_track(track):
            self._tasks.append(asyncio.ensure_future(self._consume(track)))

        @pc.on("connectionstatechange")
        async def _on_state():
            state = pc.connectionState
            log.info("peer connection %s", state, extra={"session": self.session_id})
            if state in ("failed", "closed") and not self._closed:
                self._later(self.on_lost, "media_" + state)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            if self.recording_path is not None:
                prefer_vp8_opus(pc)
                on_full = self.on_storage_full
                self.recorder = PacketRecorder(
                    self.recording_path, self.clock, keyframe_interval=self.keyframe_interval,
                    session_id=self.session_id,
                    # Off the writer thread, as the other callbacks: the owner ends the session.
                    on_storage_full=(None if on_full is None
                                     else lambda exc: self._later(on_full, exc)))
                self.recorder.attach(pc)
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except SignallingError:
            await self.close()
            raise
        except Exception:
            # Said in the log (with the traceback, for us); the page gets our words only.
            log.exception("answering an offer that passed validate_offer failed")
            await self.close()
            raise SignallingError("the offer could not be answered: its SDP is not one "
                                  "this server can use") from None
        return pc.localDescription.sdp

    async def _consume(self, track) -> None:
        """Drain a remote track so aiortc's unbounded frame queue never grows."""
        kind = track.kind
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            except asyncio.CancelledError:
                return
            if kind == "video":
                self.video_frames += 1
                if not self._first:
                    self._first = True
                    self._later(self.on_first_frame)
                if self.on_video_frame is not None:
                    self.on_video_frame(frame, self.clock.now())
            else:
                self.audio_frames += 1
                if self.on_audio_frame is not None:
                    self.on_audio_frame(frame, self.clock.now())

    async def close(self) -> None:
        """Stop consuming, close the connection and the recorder; idempotent."""
        if self._closed:
            return
        self._closed = True
        for t in self._tasks:
            t.cancel()
        if self.pc is not None:
            try:
                await asyncio.wait_for(self.pc.close(), 5)
            except Exception:  # closing must never raise into shutdown paths
                log.exception("closing peer connection failed", extra={"session": self.session_id})
        if self.recorder is not None:
            # close() flushes the file: do it off the loop.
            t0 = time.monotonic()
            await asyncio.get_running_loop().run_in_executor(self.executor, self.recorder.close)
            log.info("recorder closed in %.0f ms", (time.monotonic() - t0) * 1000,
                     extra={"session": self.session_id})


class LoopPeer:
    """An ``InvestorPeer`` on ``media``, driven from other threads (a
    ``kiosk.witness.ports.MediaPeer``). One offer per peer.

    ``executor`` runs the peer's callbacks and the recorder's close; ``ice_servers`` and
    ``keyframe_interval`` (seconds between key frame requests) are the server's settings.
    ``accept`` waits at most ``accept_timeout`` seconds, ``close`` ``close_timeout``
    (``TimeoutError`` past them).
    """

    def __init__(self, media: MediaLoop, *, executor: Executor, ice_servers=(),
                 keyframe_interval: float = 2.0, accept_timeout: float = 15.0,
                 close_timeout: float = 20.0) -> None:
        self.media = media
        self.executor = executor
        self.ice_servers = ice_servers
        self.keyframe_interval = keyframe_interval
        self.accept_timeout = accept_timeout
        self.close_timeout = close_timeout
        self.peer: InvestorPeer | None = None

    def accept(self, offer_sdp: str, session: PeerSession) -> str:
        """Answer ``offer_sdp`` for ``session``; returns the answer's SDP.

        Raises SignallingError when the offer cannot be answered (the peer is closed),
        TimeoutError past ``accept_timeout``, RuntimeError for a second offer."""
        if self.peer is not None:
            raise RuntimeError("this peer has already accepted an offer")
        self.peer = InvestorPeer(
            session_id=session.session_id,
            clock=session.clock,
            recording_path=session.recording_path,
            executor=self.executor,
            ice_servers=self.ice_servers,
            keyframe_interval=self.keyframe_interval,
            on_first_frame=session.first_frame,
            on_lost=session.lost,
            on_video_frame=session.video_frame,
            on_audio_frame=session.audio_frame,
            on_storage_full=session.storage_full,
        )
        return self.media.run(self.peer.accept(offer_sdp), timeout=self.accept_timeout)

    def close(self) -> None:
        """Stop receiving, close the connection and the recording; idempotent."""
        if self.peer is not None:
            self.media.run(self.peer.close(), timeout=self.close_timeout)

    def received(self) -> dict:
        """The recorder's loss counters (``RECEIVED_COUNTS``); ``{}`` without a recorder."""
        recorder = self.peer.recorder if self.peer is not None else None
        if recorder is None:
            return {}
        stats = recorder.stats()
        return {k: stats[k] for k in RECEIVED_COUNTS if k in stats}
