"""``kiosk simulate``: a synthetic investor that runs a whole witness against a server.

It behaves like the investor page: opens the link (following a cluster's redirect to the
witness's node, ``/n/<node>/w/<token>``: kiosk.cluster.routing), joins over Socket.IO under
that node's prefix, sends camera (a video file) and microphone over real WebRTC (aiortc),
reports prompt playback, and speaks its answer audio inside every answer window. Tests, demos
and benchmarks use it.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import av
import click
import numpy as np
import requests
import socketio
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from av.container import InputContainer

from kiosk.liveness.adapter import FaceAnalyzer
from kiosk.media.packet_camera import PacketCamera, is_vp8_file
from kiosk.protocol import DEFAULT_LOCALE, LOCALES, HintCode, PageEvent, ServerEvent

log = logging.getLogger(__name__)

# Join refusals that mean "no place now, try again" (kiosk.witness.admission).
BUSY_CODES = ("witness_busy", "node_draining")
MAX_BUSY_WAIT_S = 600.0
CAPACITY_POLL_S = 10.0
SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms


def load_pcm(path: Path) -> np.ndarray:
    """Decode any audio file to 48 kHz mono int16."""
    out = []
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        for frame in container.decode(audio=0):
            for f in resampler.resample(frame):
                out.append(f.to_ndarray().reshape(-1))
        for f in resampler.resample(None):
            out.append(f.to_ndarray().reshape(-1))
    return np.concatenate(out).astype(np.int16) if out else np.zeros(0, np.int16)


class AnswerAudioTrack(AudioStreamTrack):
    """Silence, except that ``speak()`` plays the answer clip once from its start."""

    def __init__(self, pcm: np.ndarray, loop: bool = False):
        super().__init__()
        self.pcm = pcm
        self.loop_mode = loop
        self._pos: int | None = 0 if loop else None
        self._ts = 0
        # Not AudioStreamTrack's _start (a float it sets in its own recv(), overridden here).
        self._started_at: float | None = None

    def speak(self, pcm: np.ndarray | None = None) -> None:
        """Play ``pcm`` (or the track's own clip) once from its start."""
        if pcm is not None:
            self.pcm = pcm
        self._pos = 0

    async def recv(self):
        if self._started_at is None:
            self._started_at = time.time()
        self._ts += FRAME_SAMPLES
        wait = self._started_at + self._ts / SAMPLE_RATE - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -0.06 and not self._pos:
            # Behind real time (a busy machine) and silent, or about to start speaking: skip
            # the missed silence, as a capture device's clock never falls behind (speech that
            # started behind was placed before its window). Speech itself is never skipped.
            self._ts = int((time.time() - self._started_at) * SAMPLE_RATE) // FRAME_SAMPLES \
                * FRAME_SAMPLES
        chunk = np.zeros(FRAME_SAMPLES, np.int16)
        if self._pos is not None and len(self.pcm):
            part = self.pcm[self._pos:self._pos + FRAME_SAMPLES]
            chunk[: len(part)] = part
            self._pos += FRAME_SAMPLES
            if self._pos >= len(self.pcm):
                self._pos = 0 if self.loop_mode else None
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._ts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


# How the simulated investor answers the page's "come closer" / "move back" hints: as a person
# leaning in, the picture grows about the face by LEAN_STEP per hint, up to LEAN_MAX, after a
# reaction time, at LEAN_RATE (zoom per second). The crop is upscaled, so the face gains size
# but no detail: a harder test of the face checks than a real person leaning in.
LEAN_STEP = 1.25
LEAN_MAX = 1.6
LEAN_REACTION_S = 0.7
LEAN_RATE = 0.5


class FileCamera(MediaStreamTrack):
    """A video file as a looping camera, paced at the file's frame rate in real time.

    ``lean(code)`` makes it follow a framing hint (``closer`` / ``further``) as a person does:
    the picture is cropped about the face (found with MediaPipe on the next frame) and scaled
    back to the clip's size, by at most ``LEAN_MAX``.

    When the sender cannot keep up, frames are dropped (counted in ``dropped``) rather than
    sent late, as a browser's camera does, so the picture never plays slower than the clip.

    aiortc's MediaPlayer(loop=True) ends the track at the first end of file for some MP4s and
    restarts pts at 0 for others (which makes the VP8 encoder fail): this reopens the file and
    keeps timestamps rising. Decoding runs in a worker thread, off the event loop.
    """

    kind = "video"

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        """``clock`` (seconds, monotonic) and ``sleep`` pace the frames; tests pass a fake pair
        so that "keeps up" and "starved" do not depend on how loaded the machine is."""
        super().__init__()
        self.path = Path(path)
        self._clock = clock
        self._sleep = sleep
        with av.open(str(self.path)) as c:
            rate = c.streams.video[0].average_rate
        self.fps = float(rate) if rate else 15.0
        self._container: InputContainer | None = None
        self._frames: Iterator[av.VideoFrame] | None = None
        self._n = 0
        self._start: float | None = None
        # Decoding runs in a worker thread while stop() runs on the loop: closing a container
        # that is being decoded aborts the process (PyAV frees what the decoder still uses).
        self._lock = threading.Lock()
        self._stopped = False
        #: Frames dropped to keep real time (a starved sender), as a browser's camera drops them.
        self.dropped = 0
        # Leaning (lean()): the zoom now and wanted, from when, and the face centre (0..1).
        self.zoom = 1.0
        self._zoom_target = 1.0
        self._zoom_from_t: float | None = None
        self._centre: tuple[float, float] | None = None
        self._faces: FaceAnalyzer | None = None
        #: Every change of the wanted zoom: (clip time in s, zoom), for the result's record.
        self.leans: list[tuple[float, float]] = []

    def lean(self, code: str | None) -> None:
        """Follow a framing hint (thread-safe): ``closer`` zooms in one step, ``further`` out;
        a hint that comes while the last one is still being followed is ignored."""
        with self._lock:
            if self.zoom != self._zoom_target:
                return  # still leaning after the last hint: a person waits to see the effect
            if code == HintCode.CLOSER:
                target = min(LEAN_MAX, self._zoom_target * LEAN_STEP)
            elif code == HintCode.FURTHER:
                target = max(1.0, self._zoom_target / LEAN_STEP)
            else:
                return
            if target == self._zoom_target:
                return
            self._zoom_target = target
            self._centre = None  # found again on the next frame: the person may have moved
            now = self._n / self.fps
            self._zoom_from_t = now + LEAN_REACTION_S
            self.leans.append((round(now, 2), round(target, 3)))

    def _leaned(self, frame: av.VideoFrame) -> av.VideoFrame:
        """``frame`` as the leaning investor's camera sees it (called under the lock)."""
        t = self._n / self.fps
        if self._zoom_from_t is not None and t >= self._zoom_from_t:
            dt = 1.0 / self.fps
            if self.zoom < self._zoom_target:
                self.zoom = min(self._zoom_target, self.zoom + LEAN_RATE * dt)
            elif self.zoom > self._zoom_target:
                self.zoom = max(self._zoom_target, self.zoom - LEAN_RATE * dt)
        if self.zoom <= 1.0 and self._zoom_target <= 1.0:
            return frame
        rgb = frame.to_ndarray(format="rgb24")
        h, w = rgb.shape[:2]
        if self._centre is None:
            if self._faces is None:
                self._faces = FaceAnalyzer(num_faces=1)
            faces = self._faces.detect(rgb, self._n * 1000 // int(self.fps) + 1)
            if faces:
                x0, y0, x1, y1 = faces[0].box(w, h)
                self._centre = ((x0 + x1) / 2 / w, (y0 + y1) / 2 / h)
            else:
                self._centre = (0.5, 0.5)
        if self.zoom <= 1.0:
            return frame
        cw, ch = int(w / self.zoom) // 2 * 2, int(h / self.zoom) // 2 * 2
        cx = min(max(int(self._centre[0] * w - cw / 2), 0), w - cw)
        cy = min(max(int(self._centre[1] * h - ch / 2), 0), h - ch)
        crop = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[cy:cy + ch, cx:cx + cw],
                                                               dtype=np.uint8),
                                          format="rgb24")
        return crop.reformat(width=w, height=h, format="yuv420p")

    def _next_frame(self, skip: int = 0):
        """The next frame after dropping ``skip`` frames (decoded and thrown away)."""
        with self._lock:
            for _ in range(skip):
                if self._stopped:
                    raise MediaStreamError("the camera was stopped")
                self._decode_next()
            if self._stopped:
                raise MediaStreamError("the camera was stopped")
            return self._leaned(self._decode_next())

    def _decode_next(self):
        for _ in range(2):
            if self._frames is None:
                self._container = av.open(str(self.path))
                self._frames = self._container.decode(video=0)
            try:
                return next(self._frames)
            except StopIteration:
                assert self._container is not None  # opened together with _frames
                self._container.close()
                self._frames = None
        raise MediaStreamError(f"{self.path} has no video frames")

    async def recv(self):
        # A camera runs in real time: when the sender falls behind (a starved CPU), the frames
        # it could not send are dropped, so the picture keeps the clip's own pace and a frame's
        # pts is its capture time. (Sending every frame late played the clip at 0.44-0.74x
        # under `kiosk loadtest --n 6`, and its faces moved at half speed: docs/evaluation.md,
        # "Still image under load".)
        skip = 0
        if self._start is not None:
            due = int((self._clock() - self._start) * self.fps)
            skip = max(0, due - self._n)
        frame = await asyncio.get_running_loop().run_in_executor(None, self._next_frame, skip)
        self._n += skip
        self.dropped += skip
        if self._start is None:
            self._start = self._clock()
        wait = self._start + self._n / self.fps - self._clock()
        if wait > 0:
            await self._sleep(wait)
        frame.pts = int(self._n * 90000 / self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self._n += 1
        return frame

    def stop(self):
        super().stop()
        with self._lock:
            self._stopped = True
            if self._container is not None:
                self._container.close()
                self._container, self._frames = None, None
            if self._faces is not None:
                self._faces.close()
                self._faces = None


@dataclass
class SimResult:
    session_id: str | None = None
    state: str | None = None
    reason: str | None = None
    recording: str | None = None
    events: list = field(default_factory=list)
    offer_answer_ms: float | None = None
    first_prompt_ms: float | None = None
    errors: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    # Per answered step: what the server heard and decided, one entry per attempt.
    answers: list = field(default_factory=list)
    # The AI pre-review of the sealed session: {"verdict": clear|attention|reject, "reasons"}.
    review: dict | None = None
    # Joins refused for want of a place (witness_busy, node_draining), each retried after the
    # wait the server gave, as the investor page does; and the seconds waited in all.
    busy_refusals: int = 0
    busy_waited_s: float = 0.0
    # Each zoom the investor leaned to on a framing hint: (clip time in s, zoom).
    leans: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "session_id": self.session_id, "state": self.state, "reason": self.reason,
            "recording": self.recording, "offer_answer_ms": self.offer_answer_ms,
            "first_prompt_ms": self.first_prompt_ms, "steps": self.steps,
            "answers": self.answers, "review": self.review, "errors": self.errors,
            "busy_refusals": self.busy_refusals, "busy_waited_s": round(self.busy_waited_s, 1),
            "leans": self.leans,
        }


def parse_answers(specs) -> dict[str, Path]:
    """``["consent=yes.wav", ...]`` -> ``{"consent": Path("yes.wav")}``; a clear error if not."""
    out: dict[str, Path] = {}
    for spec in specs or ():
        step, sep, file = str(spec).partition("=")
        if not sep or not step.strip() or not file.strip():
            raise click.BadParameter(f"{spec!r}: write STEP=FILE, e.g. consent=yes.wav",
                                     param_hint="--answer")
        path = Path(file.strip())
        if not path.is_file():
            raise click.BadParameter(f"{spec!r}: no such file {path}", param_hint="--answer")
        out[step.strip()] = path
    return out


@dataclass(frozen=True)
class WitnessAddress:
    """Where a witness's page lives, as the investor's browser ends up there.

    ``server``: ``scheme://host[:port]`` of the link (the balancer, in a cluster); ``base``:
    the path prefix of the node that runs the witness (``/n/<slug>`` when routed by path, ""
    on one node); ``token``: the link's token."""

    server: str
    base: str
    token: str

    def url(self, path: str) -> str:
        """``path`` on the witness's node: a root-relative path (``/api/capacity``, a prompt's
        ``/guide/...``) goes under ``base``, as the page's ``onThisNode`` does; an absolute
        URL is returned as it is."""
        if path.startswith("/") and not path.startswith("//"):
            return self.server + self.base + path
        return path

    @property
    def socketio_path(self) -> str:
        """The Socket.IO path on the witness's node (``<base>/socket.io``)."""
        return self.base + "/socket.io"


def open_link(link: str, http: requests.Session, timeout: float = 10.0) -> WitnessAddress:
    """GET the investor ``link`` (``.../w/<token>``) as a browser does, following redirects:
    in a cluster routed by path the link answers 307 to ``/n/<node>/w/<token>``, and the
    witness's socket and prompts must then go under that prefix. An unusable link (404, 410)
    keeps the link's own address: the ``join`` then tells why, as for the page. Opening the
    page does not use the link up. ValueError for a URL without ``/w/<token>``;
    requests.RequestException when the server does not answer."""
    if "/w/" not in urlparse(link).path:
        raise ValueError(f"not an investor link (no /w/<token> in its path): {link!r}")
    r = http.get(link, timeout=timeout, allow_redirects=True)
    final = urlparse(r.url if r.ok else link)
    path = final.path.rstrip("/")
    cut = path.rfind("/w/")
    if cut < 0:  # redirected somewhere that is no witness page: stay on the link
        final, path = urlparse(link), urlparse(link).path.rstrip("/")
        cut = path.rfind("/w/")
    return WitnessAddress(f"{final.scheme}://{final.netloc}", path[:cut], path[cut + 3:])


def create_link(server: str, api_key: str | None, locale: str = "zh-CN", flow: str | None = None,
                name: str = "张三", id_number: str = "110102199003078888",
                id_photo: Path | None = None) -> str:
    """A fresh investor link: through the API when a key is given, else through /demo."""
    server = server.rstrip("/")
    if api_key:
        body: dict = {"applicant": {"name": name, "id_number": id_number}, "locale": locale}
        if id_photo is not None:
            import base64

            body["applicant"]["id_photo"] = base64.b64encode(Path(id_photo).read_bytes()).decode()
        if flow:
            body["flow_id"] = flow
        r = requests.post(f"{server}/api/sessions", json=body, headers={"X-API-Key": api_key},
                          timeout=10)
        if r.status_code != 201:
            raise click.ClickException(
                f"creating the session failed: HTTP {r.status_code} {r.text[:300]}")
        return r.json()["investor_url"]
    params = {"lang": locale}
    if flow:
        params["flow"] = flow
    r = requests.get(f"{server}/demo", params=params, allow_redirects=False, timeout=10)
    if r.status_code != 303:
        raise click.ClickException(
            "no API key given and the server has no /demo page: pass --api-key")
    return server + r.headers["Location"]


async def run_investor(
    link: str,
    video: Path | None,
    audio: Path | None,
    *,
    prompt_time: str = "real",
    audio_mode: str = "answer",
    cancel_at_step: int | None = None,
    vanish_at_step: int | None = None,
    mute_at_step: int | None = None,
    timeout: float = 300.0,
    api_key: str | None = None,
    answers: dict[str, Path] | None = None,
    follow_hints: bool = True,
) -> SimResult:
    """Run one witness through ``link``; returns when the server ends it, when the server
    closes the connection first (its node died or drained: state ``error``, reason
    ``connection_lost``), or on timeout.

    ``answers`` maps a step id to the audio file spoken in that step's answer windows (every
    attempt); other steps speak ``audio``. With ``api_key`` the result also carries the sealed
    session's recording and its AI pre-review. With ``follow_hints`` a video file's investor
    leans in or back on the page's framing hints (``FileCamera.lean``); the result's ``leans``
    lists each change as (clip time in s, zoom).
    """
    loop = asyncio.get_running_loop()
    http = requests.Session()
    # As the browser: the page first, whose redirect names the witness's node in a cluster.
    where = await loop.run_in_executor(None, open_link, link, http)
    server, token = where.server, where.token
    result = SimResult()
    done = asyncio.Event()
    pc = RTCPeerConnection()
    # A pre-encoded VP8 file (kiosk loadtest) is sent as it is, without an encoder.
    camera: MediaStreamTrack | None = None
    if video:
        camera = PacketCamera(video) if is_vp8_file(video) else FileCamera(video)
    pcm = load_pcm(audio) if audio else np.zeros(0, np.int16)
    mic = AnswerAudioTrack(pcm, loop=(audio_mode == "loop"))
    step_pcm = {sid: load_pcm(path) for sid, path in (answers or {}).items()}
    window_sent: dict[int, float] = {}
    sio = socketio.Client(reconnection=False)
    t_offer = [0.0]

    def on_loop(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def note(name, data=None):
        result.events.append({"name": name, "t": round(time.monotonic(), 3), "data": data})

    @sio.on(ServerEvent.JOINED)
    def _joined(data):
        note("joined", data)
        result.session_id = data["session_id"]
        on_loop(_offer())

    async def _offer():
        if camera is not None:
            pc.addTransceiver(camera, direction="sendonly")
        else:
            raise RuntimeError("a video file is required")
        pc.addTransceiver(mic, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())  # gathers all candidates
        t_offer[0] = time.monotonic()
        sio.emit(PageEvent.OFFER, {"sdp": pc.localDescription.sdp, "type": "offer"})

    @sio.on(ServerEvent.ANSWER)
    def _answer(data):
        result.offer_answer_ms = round((time.monotonic() - t_offer[0]) * 1000, 1)
        note("answer")
        on_loop(pc.setRemoteDescription(RTCSessionDescription(sdp=data["sdp"], type="answer")))

    @sio.on(ServerEvent.STEP)
    def _step(data):
        note("step", {k: data.get(k) for k in ("index", "id", "seq", "attempt")})
        result.steps.append(data["id"])
        if not beating.is_set():
            return  # muted: this investor's network is gone
        if result.first_prompt_ms is None and data.get("prompt"):
            http.get(where.url(data["prompt"]["url"]), timeout=10).raise_for_status()
            result.first_prompt_ms = round((time.monotonic() - t_offer[0]) * 1000, 1)
        if cancel_at_step is not None and data["index"] == cancel_at_step:
            sio.emit(PageEvent.CANCEL, {})
            return
        if vanish_at_step is not None and data["index"] == vanish_at_step:
            on_loop(_vanish())
            return
        if mute_at_step is not None and data["index"] == mute_at_step:
            beating.clear()  # like a dead network: the socket stays open but nothing arrives
            return
        threading.Thread(target=_play, args=(data,), daemon=True).start()

    def _send(event, payload):
        try:
            sio.emit(event, payload)
        except socketio.exceptions.SocketIOError:
            pass  # the session already ended and the socket closed

    def _play(data):
        seq = data["seq"]
        _send(PageEvent.PROMPT_STARTED, {"step": data["id"], "seq": seq})
        if data.get("prompt") and prompt_time == "real":
            time.sleep(float(data["prompt"]["duration"]))
        elif prompt_time == "real":
            time.sleep(1.0)
        else:
            time.sleep(0.2)
        _send(PageEvent.PROMPT_ENDED, {"step": data["id"], "seq": seq})

    @sio.on(ServerEvent.HINT)
    def _hint(data):
        code = (data or {}).get("code")
        note("hint", {"code": code})  # framing hints, as the page shows
        if follow_hints and isinstance(camera, FileCamera):
            camera.lean(code)  # a pre-encoded PacketCamera cannot lean: it sends as it is

    @sio.on(ServerEvent.WINDOW_OPEN)
    def _window(data):
        note("window_open", data)
        if data.get("kind") == "answer":
            clip = step_pcm.get(str(data.get("step")), pcm)
            loop.call_soon_threadsafe(mic.speak, clip)

    @sio.on(ServerEvent.WINDOW_CLOSE)
    def _window_close(data):
        note("window_close", data)
        window_sent[len(result.answers)] = time.monotonic()

    @sio.on(ServerEvent.RECOGNISED)
    def _recognised(data):
        note("recognised", data)
        closed = window_sent.get(len(result.answers))
        result.answers.append({
            "step": data.get("step"), "outcome": data.get("outcome"),
            "intent": data.get("intent"), "shown": data.get("text"),
            # From the window's end (as this client saw it) to the verdict reaching it.
            "verdict_after_s": None if closed is None else round(time.monotonic() - closed, 3),
        })

    @sio.on(ServerEvent.FINISHED)
    def _finished(data):
        note("finished")
        result.state, result.reason = "finished", "completed"
        loop.call_soon_threadsafe(done.set)

    @sio.on(ServerEvent.ABORTED)
    def _aborted(data):
        note("aborted", data)
        result.state, result.reason = data.get("state", "aborted"), data.get("reason")
        loop.call_soon_threadsafe(done.set)

    @sio.on(ServerEvent.ERROR)
    def _error(data):
        note("error", data)
        if data.get("code") in BUSY_CODES:
            # No place now; the link is still unused: wait as told, then join again.
            wait = min(MAX_BUSY_WAIT_S, float(data.get("retry_after_s") or 30))
            result.busy_refusals += 1
            waiting.set()
            threading.Thread(target=_join_again, args=(wait,), daemon=True).start()
            return
        result.errors.append(data)
        if (data.get("code", "").startswith("link_")
                or data.get("code") in ("bad_offer", "server_error")):
            result.state, result.reason = "error", data.get("code")
            loop.call_soon_threadsafe(done.set)

    waiting = threading.Event()  # refused for want of a place: a drop is then expected

    @sio.on("disconnect")
    def _disconnected(*_reason):
        # The server closed the socket before ending the witness (its node died, or drained
        # it away): the witness cannot go on (the link is used up), so end now rather than at
        # the timeout. A socket closed while waiting for a place is joined again later.
        if result.state is not None or waiting.is_set():
            return
        note("disconnected")
        result.state, result.reason = "error", "connection_lost"
        result.errors.append({"code": "connection_lost", "message": "the server closed the "
                              "connection before the witness ended (its node died or "
                              "stopped)"})
        loop.call_soon_threadsafe(done.set)

    def _join_again(wait: float) -> None:
        # As the page: after the wait, or sooner when GET /api/capacity shows a free place.
        deadline = time.monotonic() + wait
        next_poll = time.monotonic() + CAPACITY_POLL_S
        while time.monotonic() < deadline:
            if result.state is not None:  # ended meanwhile (timeout, cancel)
                return
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + CAPACITY_POLL_S
                try:
                    cap = http.get(where.url("/api/capacity"), timeout=5).json()
                except (requests.RequestException, ValueError):
                    cap = {}
                if cap.get("available", 0) > 0 and not cap.get("draining"):
                    break
            time.sleep(0.5)
        result.busy_waited_s += wait - max(0.0, deadline - time.monotonic())
        if not sio.connected:  # the server drops a socket that waits too long unjoined
            sio.connect(server, transports=["websocket"], socketio_path=where.socketio_path,
                        wait_timeout=10)
        waiting.clear()
        sio.emit(PageEvent.JOIN, {"token": token})

    async def _vanish():
        # Like a closed tab: media and socket gone without a word.
        result.state, result.reason = "vanished", None
        await pc.close()
        await asyncio.get_running_loop().run_in_executor(None, sio.disconnect)
        done.set()

    beating = threading.Event()
    beating.set()

    def _heartbeat():
        while not done.is_set() and beating.is_set():
            if sio.connected:
                sio.emit(PageEvent.HEARTBEAT, {})
            time.sleep(2.0)

    await loop.run_in_executor(
        None, lambda: sio.connect(server, transports=["websocket"],
                                  socketio_path=where.socketio_path, wait_timeout=10))
    sio.emit(PageEvent.JOIN, {"token": token})
    threading.Thread(target=_heartbeat, daemon=True).start()
    try:
        await asyncio.wait_for(done.wait(), timeout)
    except TimeoutError:
        result.errors.append({"code": "timeout", "message": f"no end after {timeout} s"})
    finally:
        await pc.close()
        if camera is not None:
            camera.stop()
        if isinstance(camera, FileCamera):
            result.leans = list(camera.leans)
        if sio.connected:
            await loop.run_in_executor(None, sio.disconnect)
    if api_key and result.session_id and result.reason != "connection_lost":
        # (Its node gone, nothing is finalised there soon: not waited for.)
        result.recording = await loop.run_in_executor(
            None, _wait_recording, server, api_key, result.session_id)
        result.review = await loop.run_in_executor(
            None, _wait_review, server, api_key, result.session_id)
    return result


def _wait_review(server: str, api_key: str, session_id: str, timeout: float = 60.0) -> dict | None:
    """Poll the API until the session is sealed; its pre-review verdict and reasons."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(f"{server}/api/sessions/{session_id}/review",
                         headers={"X-API-Key": api_key}, timeout=30)
        if r.ok:
            body = r.json()
            return {"verdict": body["verdict"], "reasons": body["reasons"],
                    "steps": body.get("steps", [])}
        if r.status_code != 409:
            return {"verdict": None, "reasons": [f"HTTP {r.status_code}: {r.text[:200]}"]}
        time.sleep(0.3)
    return None


def _wait_recording(
    server: str, api_key: str, session_id: str, timeout: float = 60.0
) -> str | None:
    """Poll the API until the session is ended and its recording finalised."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(f"{server}/api/sessions/{session_id}", headers={"X-API-Key": api_key},
                         timeout=10)
        if r.ok:
            info = r.json()
            if info["state"] in ("finished", "aborted", "failed") and info.get("finalised"):
                return info.get("recording")
        time.sleep(0.3)
    return None


@click.command()
@click.option("--server", default="http://127.0.0.1:5000", show_default=True)
@click.option("--link", help="an investor link (default: create one)")
@click.option("--api-key", envvar="KIOSK_API_KEY", help="back-office key to create the session")
@click.option("--video", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True)
@click.option("--audio", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the investor's answer, spoken in every answer window")
@click.option("--answer", "answer_specs", multiple=True, metavar="STEP=FILE",
              help="audio spoken in that step's answer windows (repeat per step)")
@click.option("--audio-mode", type=click.Choice(["answer", "loop"]), default="answer",
              show_default=True)
@click.option("--name", default="张三", show_default=True, help="the applicant's name")
@click.option("--id-number", default="110102199003078888", show_default=True,
              help="the applicant's ID number")
@click.option("--id-photo", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the applicant's ID photo (JPEG or PNG), sent with the session")
@click.option("--locale", type=click.Choice(LOCALES), default=DEFAULT_LOCALE, show_default=True)
@click.option("--flow", help="flow id (default: the server's default flow)")
@click.option("--prompt-time", type=click.Choice(["real", "instant"]), default="real",
              show_default=True,
              help="wait for each prompt's duration, or report it played at once")
@click.option("--cancel-at-step", type=int, help="cancel when this step index starts")
@click.option("--vanish-at-step", type=int, help="vanish like a closed tab at this step index")
@click.option("--timeout", type=float, default=300.0, show_default=True)
@click.option("--follow-hints/--ignore-hints", default=True, show_default=True,
              help="lean in or back on the page's 'come closer' / 'move back' hints, as a "
                   "person does (a video file's picture is cropped about the face, up to 1.6x)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def simulate(server, link, api_key, video, audio, answer_specs, audio_mode, name, id_number,
             id_photo, locale, flow, prompt_time, cancel_at_step, vanish_at_step, timeout,
             follow_hints, as_json):
    """Run a synthetic investor through a whole witness against a running server."""
    logging.basicConfig(level=os.environ.get("KIOSK_LOG_LEVEL", "WARNING"))
    answers = parse_answers(answer_specs)
    link = link or create_link(server, api_key, locale, flow, name=name, id_number=id_number,
                               id_photo=id_photo)
    result = asyncio.run(run_investor(
        link, video, audio, prompt_time=prompt_time, audio_mode=audio_mode,
        cancel_at_step=cancel_at_step, vanish_at_step=vanish_at_step, timeout=timeout,
        api_key=api_key, answers=answers, follow_hints=follow_hints))
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        click.echo(f"session {result.session_id}: {result.state} ({result.reason})")
        for a in result.answers:
            click.echo(f"  {a['step']}: {a['outcome']} ({a['intent']}) {a['shown'] or ''}")
        if result.recording:
            click.echo(f"recording: {result.recording}")
        if result.review:
            click.echo(f"pre-review: {result.review['verdict']}")
            for r in result.review["reasons"]:
                click.echo(f"  - {r}")
    sys.exit(0 if result.state in ("finished", "aborted", "vanished") else 1)
