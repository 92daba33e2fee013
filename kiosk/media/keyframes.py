"""Key frames for the evidence: one JPEG per step, from the finalised recording.

An ``id_document`` step's key frame is never taken from the recording: its frames show the
card as held up, unmasked (number, address). It is the captured front as kept (masked
under the flow's ``id_mask``, ``id_card/front.jpg``), or there is none for that step.

A packet that does not decode (a recording made over a lossy network) is skipped and counted:
the key frames come from what decodes.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import av
from PIL import Image

from kiosk.atomic_files import write_atomic

log = logging.getLogger(__name__)

# A moment after the step starts: the investor has heard the first words and faces the camera.
OFFSET_S = 1.0
MAX_WIDTH = 640
_SAFE = re.compile(r"[^a-z0-9_]")


def extract_step_keyframes(recording: Path, events: list[dict], out_dir: Path,
                           card_dir: Path | None = None) -> list[Path]:
    """Write ``<index>_<step>.jpg`` for every ``step_started`` event; returns the files written.

    An ``id_document`` step gets ``card_dir/front.jpg`` (the masked front) when there is one,
    else no key frame: never a frame of the recording, which shows the card unmasked."""
    wanted = []
    cards = []
    for ev in events:
        if ev.get("type") == "step_started" and isinstance(ev.get("t"), (int, float)):
            data = ev.get("data") or {}
            step = _SAFE.sub('_', str(data.get('step', 'step')))[:40]
            name = f"{int(data.get('index', 0)):02d}_{step}"
            if data.get("attempt"):
                name += f"_retry{int(data['attempt'])}"
            if data.get("kind") == "id_document":
                cards.append(name)
            else:
                wanted.append((float(ev["t"]) + OFFSET_S, name))
    if not (wanted or cards) or not recording.exists():
        return []
    out_dir.mkdir(exist_ok=True)
    written = []
    front = card_dir / "front.jpg" if card_dir is not None else None
    if cards and front is not None and front.is_file():
        with Image.open(front) as img:
            masked = img.convert("RGB")
        for name in cards:
            written.append(_save_image(masked, out_dir / f"{name}.jpg"))
    if not wanted:
        return written
    with av.open(str(recording)) as container:
        stream = container.streams.video[0] if container.streams.video else None
        if stream is None:
            return written
        targets = sorted(wanted)
        i = 0
        last = None
        for frame in _decodable_frames(container, stream, recording):
            t = 0.0
            if frame.pts is not None:
                assert frame.time_base is not None  # decoders stamp the stream's time base
                t = float(frame.pts * frame.time_base)
            while i < len(targets) and t >= targets[i][0]:
                written.append(_save(frame, out_dir / f"{targets[i][1]}.jpg"))
                i += 1
            last = frame
            if i >= len(targets):
                break
        while i < len(targets) and last is not None:  # steps after the last frame: the last frame
            written.append(_save(last, out_dir / f"{targets[i][1]}.jpg"))
            i += 1
    return written


def _decodable_frames(container, stream, recording: Path):
    """Every frame of ``stream`` that decodes; undecodable packets are skipped and counted."""
    failed = 0
    packets = container.demux(stream)
    try:
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except (av.FFmpegError, EOFError) as exc:  # a torn end: what came before is kept
                log.warning("reading %s stopped early: %s", recording.name, exc)
                break
            try:
                frames = packet.decode()
            except av.FFmpegError:
                failed += packet.size > 0  # a flush packet that fails is no lost picture
                continue
            yield from frames
    finally:
        if failed:
            log.warning("%d video packets of %s do not decode; key frames come from the rest",
                        failed, recording.name)


def _save(frame, path: Path) -> Path:
    return _save_image(frame.to_image(), path)


def _save_image(img: Image.Image, path: Path) -> Path:
    """``img`` as a JPEG at ``path``, at most MAX_WIDTH wide, written then renamed (a full
    disk or a kill leaves the old file or none, never a torn JPEG in the evidence)."""
    if img.width > MAX_WIDTH:
        img = img.resize((MAX_WIDTH, int(img.height * MAX_WIDTH / img.width)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    write_atomic(path, buf.getvalue())
    return path
