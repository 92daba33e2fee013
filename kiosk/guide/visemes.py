"""Mouth-openness timeline for lip-sync, from the loudness envelope of the prompt's own audio.

Measured from the very samples the browser plays, so it cannot drift from the audio. Vowels are
the loud, low-frequency part of speech, so a low-passed RMS envelope opens the mouth on vowels
and keeps it nearly shut on fricatives and closed in silence.
"""

from __future__ import annotations

import numpy as np

FRAME_SECONDS = 0.02
# Below this RMS (about -42 dBFS) a frame is silence: mouth closed.
SILENCE_RMS = 0.008
# Frames quieter than this fraction of the utterance's loud level count as silence too.
RELATIVE_GATE = 0.12
# The loud level an utterance is normalised to (percentile of its voiced frames' RMS).
REFERENCE_PERCENTILE = 90
# A 1 ms box filter at 22 kHz: a cheap low-pass that takes the hiss out of "s" and "sh".
LOWPASS_SECONDS = 0.0004


def mouth_timeline(samples: np.ndarray, sample_rate: int,
                   frame_seconds: float = FRAME_SECONDS) -> list[tuple[float, float]]:
    """``(t, mouth_open)`` per frame (t = frame start, seconds; open in 0..1), closed at the end.

    ``samples`` are mono, either int16 or float in -1..1.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be mono (1-D), got shape {x.shape}")
    x = x.astype(np.float64) / 32768.0 if x.dtype == np.int16 else x.astype(np.float64)
    hop = max(1, int(round(frame_seconds * sample_rate)))
    n_frames = len(x) // hop + (1 if len(x) % hop else 0)
    if n_frames == 0:
        return [(0.0, 0.0)]

    taps = max(1, int(round(LOWPASS_SECONDS * sample_rate)))
    if taps > 1:
        x = np.convolve(x, np.full(taps, 1.0 / taps), mode="same")
    padded = np.zeros(n_frames * hop)
    padded[: len(x)] = x
    rms = np.sqrt(np.mean(padded.reshape(n_frames, hop) ** 2, axis=1))

    voiced = rms[rms > SILENCE_RMS]
    if voiced.size == 0:
        openness = np.zeros(n_frames)
    else:
        ref = float(np.percentile(voiced, REFERENCE_PERCENTILE))
        gate = max(SILENCE_RMS, RELATIVE_GATE * ref)
        # Map the gate..ref range onto 0..1 so quiet consonants barely open the mouth.
        openness = np.clip((rms - gate) / (ref - gate + 1e-12), 0.0, 1.0)
        openness[rms <= gate] = 0.0
        # Light smoothing (3 frames) so the jaw does not flicker between frames.
        openness = np.convolve(openness, [0.25, 0.5, 0.25], mode="same")

    out = [(round(i * frame_seconds, 3), round(float(v), 3)) for i, v in enumerate(openness)]
    end = round(len(samples) / sample_rate, 3)
    if out[-1][0] < end:
        out.append((end, 0.0))
    return out
