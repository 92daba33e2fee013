"""Synthetic camera and microphone input for tests and benchmarks, generated on demand.

Each video frame carries its frame number as a 12-bit barcode (big black/white blocks that
survive VP8 compression), so a recording can be checked frame by frame against its source.
"""

from __future__ import annotations

import math
import subprocess
import wave
from pathlib import Path

import numpy as np

BARCODE_BITS = 12
_BAR_H = 48  # rows used by the barcode at the top of the frame


def frame_image(index: int, width: int = 640, height: int = 480) -> np.ndarray:
    """An RGB frame: a moving gradient below a barcode of ``index``."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    phase = index / 15.0
    r = 0.5 + 0.35 * np.sin(2 * math.pi * (x + phase * 0.2))
    g = 0.5 + 0.35 * np.sin(2 * math.pi * (y + phase * 0.1))
    b = np.full_like(r * g, 0.45)
    img = (np.stack(np.broadcast_arrays(r, g, b), axis=-1) * 255).astype(np.uint8)
    cell = width // BARCODE_BITS
    for bit in range(BARCODE_BITS):
        on = (index >> (BARCODE_BITS - 1 - bit)) & 1
        img[:_BAR_H, bit * cell : (bit + 1) * cell] = 255 if on else 0
    return img


def read_barcode(rgb: np.ndarray) -> int:
    """The frame number written by ``frame_image`` (reads the centre of every cell)."""
    h, w = rgb.shape[:2]
    gray = rgb[: _BAR_H * h // 480].mean(axis=2)
    cell = w // BARCODE_BITS
    value = 0
    for bit in range(BARCODE_BITS):
        block = gray[
            gray.shape[0] // 4 : 3 * gray.shape[0] // 4,
            bit * cell + cell // 4 : (bit + 1) * cell - cell // 4,
        ]
        value = (value << 1) | int(block.mean() > 127)
    return value


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB uint8 (H, W, 3), H and W even -> limited-range BT.601 Y, U, V planes (uint8; Y
    16-235, chroma 16-240 around 128; chroma averaged over 2x2).

    Limited range, because a VP8 stream cannot say otherwise: Chromium encodes the Y4M's
    values as they are and the server reads them as limited (kiosk.media.frames). Written
    full range, a pale 250 arrived as 255 and a pale card was "glare" on every frame."""
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16 + (0.299 * r + 0.587 * g + 0.114 * b) * (219 / 255)
    u = 128 + (-0.168736 * r - 0.331264 * g + 0.5 * b) * (224 / 255)
    v = 128 + (0.5 * r - 0.418688 * g - 0.081312 * b) * (224 / 255)

    def sub(p: np.ndarray) -> np.ndarray:
        return p.reshape(p.shape[0] // 2, 2, p.shape[1] // 2, 2).mean(axis=(1, 3))

    def u8(p: np.ndarray) -> np.ndarray:
        return np.clip(np.round(p), 0, 255).astype(np.uint8)

    return u8(y), u8(sub(u)), u8(sub(v))


def rgb_to_i420(rgb: np.ndarray) -> bytes:
    """RGB uint8 (H, W, 3) -> one planar 4:2:0 frame as a Y4M holds it (``rgb_to_yuv420``)."""
    return b"".join(p.tobytes() for p in rgb_to_yuv420(rgb))


def write_y4m(path: Path, frames, width: int = 640, height: int = 480, fps: int = 15) -> Path:
    """Write RGB frames as a 4:2:0 Y4M (the format chromium's fake camera reads)."""
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for img in frames:
            fh.write(b"FRAME\n")
            fh.write(rgb_to_i420(img))
    return path


def barcode_y4m(
    path: Path, seconds: float = 4.0, fps: int = 15, width: int = 640, height: int = 480
) -> Path:
    n = int(seconds * fps)
    return write_y4m(path, (frame_image(i, width, height) for i in range(n)), width, height, fps)


def write_wav(path: Path, samples: np.ndarray, rate: int = 48000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.clip(samples, -32768, 32767).astype(np.int16).tobytes())
    return path


def tone_wav(
    path: Path, seconds: float = 2.0, freq: float = 440.0, rate: int = 48000, amplitude: float = 0.3
) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    return write_wav(path, amplitude * 32767 * np.sin(2 * math.pi * freq * t), rate)


def speech_wav(
    path: Path,
    text: str,
    voice: str = "gmw/en-us",
    rate: int = 48000,
    lead_silence: float = 0.0,
    trail_silence: float = 0.0,
) -> Path:
    """Real synthetic speech from espeak-ng, resampled to ``rate`` with optional padding."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text],
        check=True,
        capture_output=True,
        timeout=30,
    )
    with wave.open(str(raw)) as w:
        src_rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32)
    raw.unlink()
    n = int(len(pcm) * rate / src_rate)
    resampled = np.interp(np.linspace(0, len(pcm) - 1, n), np.arange(len(pcm)), pcm)

    def pad(seconds: float) -> np.ndarray:
        return np.zeros(int(seconds * rate), np.float32)

    return write_wav(path, np.concatenate([pad(lead_silence), resampled, pad(trail_silence)]),
                     rate)
