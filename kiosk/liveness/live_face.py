"""The live face of a session as one descriptor, kept for the checks that come after the
face analysis: the ID card's portrait, which may be sent before or after the face is seen.

At the end of the face analysis, ``kiosk.liveness.observer.FaceObserver.finish`` writes
``live_face.json`` into the session folder: the enrolment template
(``kiosk.liveness.continuity.enrolment_template``, the same 128-d descriptor the broker's
ID photo is judged against) and the threshold of that judgement
(``SessionCheckParams.id_match_distance``), or why there is none. It is a working file of the
session: it is not sealed into the evidence (the package copies named files only) and it is
never logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kiosk.atomic_files import write_json_atomic

FILE = "live_face.json"
FORMAT = "witness-kiosk-live-face/1"


@dataclass(frozen=True)
class LiveFace:
    """``template`` (128,) float64, or None with ``problem`` saying why; ``threshold`` the
    largest descriptor distance judged the same person; ``samples`` good samples taken."""

    template: np.ndarray | None = field(repr=False, compare=False)
    threshold: float
    samples: int
    problem: str | None = None


def write_live_face(session_dir: Path, template: np.ndarray | None, threshold: float,
                    samples: int, problem: str | None = None) -> None:
    """Write ``live_face.json`` atomically (private). ValueError for a template that is not
    128 finite numbers, or for no template without a ``problem``; OSError from the disk."""
    if template is not None:
        t = np.asarray(template, dtype=np.float64)
        if t.shape != (128,) or not np.all(np.isfinite(t)):
            raise ValueError(f"a live face template is 128 finite numbers, got {t.shape}")
        values: list[float] | None = [float(v) for v in t]
    elif not problem:
        raise ValueError("a live face without a template needs a problem saying why")
    else:
        values = None
    write_json_atomic(Path(session_dir) / FILE, {
        "format": FORMAT, "template": values, "threshold": float(threshold),
        "samples": int(samples), "problem": None if values is not None else problem})


def read_live_face(session_dir: Path) -> LiveFace | None:
    """The session's live face, or None when the face analysis has not ended (no file).
    A damaged file is a LiveFace without a template whose problem says so."""
    path = Path(session_dir) / FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return LiveFace(None, 0.0, 0, f"{FILE} is unreadable")
    try:
        threshold = float(doc["threshold"])
        samples = int(doc["samples"])
        values = doc["template"]
        if values is None:
            return LiveFace(None, threshold, samples, str(doc.get("problem") or "no live face"))
        t = np.asarray(values, dtype=np.float64)
        if t.shape != (128,) or not np.all(np.isfinite(t)):
            raise ValueError("bad template")
        return LiveFace(t, threshold, samples)
    except (KeyError, TypeError, ValueError):
        return LiveFace(None, 0.0, 0, f"{FILE} is damaged")
