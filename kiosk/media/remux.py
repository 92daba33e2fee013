"""The end of a recording: remux the live .mkv into a seekable .webm, and probe what decodes.

Apart from the recorder (``kiosk.media.recorder``), which receives through aiortc: ending a
witness (``kiosk.witness.finalise``, the runner and ``kiosk.recovery``) needs only PyAV, and
loads no WebRTC stack.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import av
import numpy as np

from kiosk.atomic_files import is_disk_full, storage_full
from kiosk.errors import MediaError

log = logging.getLogger(__name__)


def finalise_recording(live_path: Path, out_path: Path, decode: bool = True) -> dict:
    """Remux a live (possibly truncated) .mkv into a seekable .webm with cues, without re-encoding.

    Returns ``probe_recording(out_path)`` (or packet counts when ``decode`` is False). Raises
    MediaError when the input is missing or holds no usable VP8/Opus packet, and StorageFull
    (nothing written, the input left as it was) when the data disk is full: a recording that
    exists is never called missing because there was no room to remux it.
    """
    live_path, out_path = Path(live_path), Path(out_path)
    if not live_path.is_file():
        raise MediaError(f"live recording {live_path} does not exist")
    try:
        src = av.open(str(live_path))
    except EOFError:  # av.error.EOFError: a header and nothing after it
        raise MediaError(f"{live_path} holds no video or audio packets: nothing was recorded"
                         ) from None
    except av.FFmpegError as exc:
        raise MediaError(f"live recording {live_path} is not a readable Matroska file: {exc}"
                         ) from None
    tmp = out_path.with_name(out_path.name + ".part")
    counts = {"video": 0, "audio": 0}
    try:
        in_streams = [s for s in src.streams if s.type in ("video", "audio")
                      and s.codec_context is not None
                      and s.codec_context.codec.canonical_name in ("vp8", "opus")]
        if not in_streams:
            raise MediaError(f"{live_path} has no VP8 video or Opus audio stream")
        dst = av.open(str(tmp), "w", format="webm")
        muxed = False
        try:
            out_streams = {s.index: dst.add_stream_from_template(s) for s in in_streams}
            last: dict[int, int] = {}
            try:
                for packet in src.demux(in_streams):
                    if packet.size == 0 or packet.pts is None or packet.is_corrupt:
                        continue  # flush packets, and the torn block a SIGKILL leaves
                    if packet.dts is None:
                        packet.dts = packet.pts
                    idx = packet.stream.index
                    if idx in last and packet.dts <= last[idx]:
                        continue
                    last[idx] = packet.dts
                    packet.stream = out_streams[idx]
                    dst.mux(packet)
                    counts[packet.stream.type] += 1
            except (av.FFmpegError, EOFError) as exc:
                if is_disk_full(exc):  # writing the output, not reading a torn input
                    raise
                # A file cut by a crash ends in a partial cluster: keep what came before.
                log.warning("live recording %s ends early (%s); kept what precedes it",
                            live_path.name, type(exc).__name__)
            muxed = True
        finally:
            try:
                dst.close()  # writes the cues and the trailer
            except av.FFmpegError:
                if muxed:
                    raise
                # It fails too after a failed write (a full disk): the first error is raised.
    except MediaError:
        tmp.unlink(missing_ok=True)
        raise
    except (av.FFmpegError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise storage_full(out_path, exc) from exc
        if not isinstance(exc, av.FFmpegError):
            raise
        raise MediaError(f"remuxing {live_path} failed: {exc}") from None
    finally:
        src.close()
    if counts["video"] == 0 and counts["audio"] == 0:
        tmp.unlink(missing_ok=True)
        raise MediaError(f"{live_path} holds no video or audio packets: nothing was recorded")
    tmp.replace(out_path)
    if not decode:
        return {"video_packets": counts["video"], "audio_packets": counts["audio"]}
    return probe_recording(out_path)


def probe_recording(path: Path) -> dict:
    """Decode ``path`` fully and count what decodes; a bad packet is counted, never fatal.

    Returns ``video_frames``, ``width``, ``height`` (of the last frame), ``duration`` (s, first
    to last decoded media), ``audio_seconds``, ``audio_rms`` (0..1), ``first_video_pts`` and
    ``first_audio_pts`` (s), ``video_packets`` and ``audio_packets`` (demuxed),
    ``video_undecodable`` and ``audio_undecodable`` (packets the decoder refused) and
    ``demux_error`` (why reading stopped early, else None). Raises MediaError when the file
    is missing, cannot be opened, or not one frame of video or audio decodes.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"recording {path} does not exist")
    info: dict[str, Any] = {"video_frames": 0, "width": None, "height": None, "duration": 0.0,
            "audio_seconds": 0.0, "audio_rms": 0.0, "first_video_pts": None,
            "first_audio_pts": None, "video_packets": 0, "audio_packets": 0,
            "video_undecodable": 0, "audio_undecodable": 0, "demux_error": None}
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise MediaError(f"recording {path} cannot be opened: {exc}") from None
    last_video = last_audio_end = 0.0
    sum_sq = 0.0
    n_samples = 0
    first_error: str | None = None
    with container:
        streams = [s for s in container.streams if s.type in ("video", "audio")]
        packets = container.demux(streams)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except (av.FFmpegError, EOFError) as exc:  # a torn end: keep what came before
                info["demux_error"] = str(exc)[:200]
                break
            kind = packet.stream.type
            if packet.size == 0:
                frames = _decode_quietly(packet)  # the end-of-stream flush
            else:
                info[kind + "_packets"] += 1
                try:
                    frames = packet.decode()
                except av.FFmpegError as exc:
                    info[kind + "_undecodable"] += 1
                    first_error = first_error or f"{kind}: {exc}"
                    continue
            for frame in frames:
                # Only video and audio streams are demuxed, so only their frames come out.
                assert isinstance(frame, (av.VideoFrame, av.AudioFrame))
                t = None
                if frame.pts is not None:
                    assert frame.time_base is not None  # decoders stamp the stream's base
                    t = float(frame.pts * frame.time_base)
                if kind == "video":
                    assert isinstance(frame, av.VideoFrame)
                    info["video_frames"] += 1
                    info["width"], info["height"] = frame.width, frame.height
                    if t is not None:
                        if info["first_video_pts"] is None:
                            info["first_video_pts"] = t
                        last_video = max(last_video, t)
                else:
                    assert isinstance(frame, av.AudioFrame)
                    samples = frame.to_ndarray().astype(np.float64)
                    if frame.format.name.startswith("s16"):
                        samples /= 32768.0
                    sum_sq += float(np.sum(samples ** 2))
                    n_samples += samples.size
                    info["audio_seconds"] += frame.samples / frame.sample_rate
                    if t is not None:
                        if info["first_audio_pts"] is None:
                            info["first_audio_pts"] = t
                        last_audio_end = max(last_audio_end,
                                             t + frame.samples / frame.sample_rate)
    if info["video_frames"] == 0 and n_samples == 0:
        why = first_error or info["demux_error"] or "it holds no video or audio packets"
        raise MediaError(f"recording {path} does not decode ({why})")
    if info["video_undecodable"] or info["audio_undecodable"]:
        log.warning("recording %s: %d video and %d audio packets do not decode (first: %s)",
                    path.name, info["video_undecodable"], info["audio_undecodable"], first_error)
    starts = [t for t in (info["first_video_pts"], info["first_audio_pts"]) if t is not None]
    info["duration"] = round(max(last_video, last_audio_end) - min(starts), 3) if starts else 0.0
    info["audio_seconds"] = round(info["audio_seconds"], 3)
    info["audio_rms"] = round(math.sqrt(sum_sq / n_samples), 5) if n_samples else 0.0
    return info


def _decode_quietly(packet) -> list:
    """Frames a flush packet still yields; a decoder that fails on its flush yields none."""
    try:
        return list(packet.decode())
    except av.FFmpegError:
        return []
