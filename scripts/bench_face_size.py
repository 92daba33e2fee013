"""Measure how the identity descriptor behaves as the face gets smaller (docs/evaluation.md,
*Identity continuity: how small a face can be compared*).

Each clip of the real-faces corpus (``faces.json``, one split) is read through the server's
own frame path (``RgbConverter(MAX_ANALYSIS_WIDTH)``: at most 640 px wide), ``--rate`` frames a
second, and centred on a grey 640x480 frame (the webcam the kiosk asks for). On each frame the
project's code finds the face (``FaceAnalyzer.analyze``, the landmarker the live observer runs)
and judges it with the sampling gate with the size rule off (``sample_quality``,
``min_face_px=0``). A frame that is a good sample at its own size is then scaled (area
averaging, like a sensor seeing a face farther away) so that the face box is each of ``SIZES``
px high, centred on a 640x480 frame again, analysed again from scratch at that size (its own
landmarker), judged again and described as a session describes it
(``FaceDescriber.descriptor`` with the box and ``require_detection=True``). Sizes above a
frame's own are not made (upscaling shows nothing a camera would).

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_face_size.py --split tuning --out t.json
    PYTHONPATH=$PWD .venv/bin/python scripts/bench_face_size.py --report t.json

The report gives, per size: samples (frames whose face was found and passed the gate bar
size), the sharpness pass rate, dlib's detection rate, and the distances of each described
sample to its person's template built from full-size samples (``full``) and from samples at
that same size (``same``, the investor who sits far from the start), with the share over
``ContinuityParams.distance`` (far samples), and the smallest distance to ANOTHER person's
template (full-size and same-size templates of the others). Templates are built by
``continuity.enrol`` over the person's samples in time order, as a session would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

SIZES = (60, 70, 75, 80, 85, 90, 100, 120)
NATIVE = 0  # the size key of the frame as analysed, unscaled
CANVAS = (640, 480)  # the webcam the kiosk expects (w, h)


def _frames(path: Path, rate: float):
    """(t, RGB) of ``path`` at ``rate`` a second, converted as the live observer does."""
    import av

    from kiosk.liveness.observer import MAX_ANALYSIS_WIDTH
    from kiosk.media.frames import RgbConverter

    conv = RgbConverter(MAX_ANALYSIS_WIDTH)
    next_t = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for i, frame in enumerate(container.decode(stream)):
            t = float(frame.time) if frame.time is not None else i / float(stream.average_rate)
            if t + 1e-6 < next_t:
                continue
            next_t = t + 1.0 / rate
            yield t, conv.rgb(frame)


def _scaled(rgb: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    size = (max(2, int(round(w * factor))), max(2, int(round(h * factor))))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _on_canvas(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` centred on a grey CANVAS frame (cropped to it if larger): the landmarker finds a
    face by its size in the WHOLE frame (its detector sees the frame shrunk to 128 px), so a
    small face must be measured in a webcam-sized frame, not in a frame shrunk with it."""
    cw, ch = CANVAS
    h, w = rgb.shape[:2]
    y, x = max(0, (h - ch) // 2), max(0, (w - cw) // 2)
    rgb = rgb[y:y + ch, x:x + cw]
    h, w = rgb.shape[:2]
    out = np.full((ch, cw, 3), 120, np.uint8)
    top, left = (ch - h) // 2, (cw - w) // 2
    out[top:top + h, left:left + w] = rgb
    return out


def measure(corpus: Path, split: str, rate: float) -> list[dict]:
    """One record per (clip frame, size): box height, gate reason, sharpness, descriptor."""
    from kiosk.liveness.adapter import FaceAnalyzer
    from kiosk.liveness.continuity import ContinuityParams, sample_quality, sharpness
    from kiosk.liveness.identity import FaceDescriber

    no_size = ContinuityParams(min_face_px=0)
    describer = FaceDescriber()
    clips = [c for c in json.loads(corpus.read_text())["clips"] if c["split"] == split]
    records: list[dict] = []
    for clip in clips:
        analyzers = {s: FaceAnalyzer(num_faces=2) for s in (NATIVE, *SIZES)}
        try:
            for k, (t, rgb) in enumerate(_frames(corpus.parent / clip["file"], rate)):
                t_ms = int(round(t * 1000)) + k  # strictly increasing
                rgb = _on_canvas(rgb)
                sig = analyzers[NATIVE].analyze(rgb, t_ms)
                if sig.faces != 1 or sig.box is None:
                    continue
                native_h = sig.box[3] - sig.box[1]
                if sample_quality(sig, rgb, no_size) is not None:
                    continue
                for size in (NATIVE, *SIZES):
                    if size and size > native_h:
                        continue
                    img = rgb if size == NATIVE else _on_canvas(_scaled(rgb, size / native_h))
                    s = sig if size == NATIVE else analyzers[size].analyze(img, t_ms)
                    rec = {"clip": clip["id"], "person": clip["person"], "t": round(t, 3),
                           "size": size, "native_h": native_h, "found": False}
                    if s.faces == 1 and s.box is not None:
                        x0, y0, x1, y1 = s.box
                        crop = img[max(0, y0):y1, max(0, x0):x1]
                        gray = crop[..., 0] * 0.299 + crop[..., 1] * 0.587 + crop[..., 2] * 0.114
                        why = sample_quality(s, img, no_size)
                        d = (describer.descriptor(img, s.box, require_detection=True)
                             if why is None else None)
                        rec.update(found=True, box_h=y1 - y0, why=why,
                                   sharpness=round(sharpness(gray), 2),
                                   desc=None if d is None else [float(v) for v in d])
                    records.append(rec)
        finally:
            for a in analyzers.values():
                a.close()
        n = sum(1 for r in records if r["clip"] == clip["id"] and r["size"] == NATIVE)
        print(f"{clip['id']}: {n} good frames", file=sys.stderr)
    return records


def _templates(records: list[dict], size: int) -> dict[str, np.ndarray]:
    from kiosk.liveness.continuity import enrol

    out = {}
    for person in sorted({r["person"] for r in records}):
        samples = [(r["t"], np.asarray(r["desc"])) for r in records
                   if r["person"] == person and r["size"] == size and r.get("desc")]
        if samples:
            out[person], _ = enrol(samples)
    return out


def report(records: list[dict]) -> list[dict]:
    """Per-size figures (see the module docstring)."""
    from kiosk.liveness.continuity import ContinuityParams

    p = ContinuityParams()
    full = _templates(records, NATIVE)
    rows = []
    for size in (NATIVE, *SIZES):
        at = [r for r in records if r["size"] == size]
        if not at:
            continue
        found = [r for r in at if r["found"]]
        # The sharpness gate alone: pose / face count failures are not its business.
        judged = [r for r in found if r["why"] in (None, "face blurred")]
        gated = [r for r in found if r["why"] is None]
        described = [r for r in gated if r.get("desc")]
        own = _templates(records, size)
        same_full, same_own, diff_full, diff_own = [], [], [], []
        for r in described:
            d = np.asarray(r["desc"])
            same_full.append(float(np.linalg.norm(d - full[r["person"]])))
            if r["person"] in own:
                same_own.append(float(np.linalg.norm(d - own[r["person"]])))
            diff_full += [float(np.linalg.norm(d - t)) for q, t in full.items() if q != r["person"]]
            diff_own += [float(np.linalg.norm(d - t)) for q, t in own.items() if q != r["person"]]

        def q(v, k):
            return round(float(np.percentile(v, k)), 3) if v else None

        rows.append({
            "size": size or "native", "frames": len(at), "found": len(found),
            "box_h_med": q([r["box_h"] for r in found], 50),
            "sharp_pass": f"{sum(r['why'] is None for r in judged)}/{len(judged)}",
            "sharp_med": q([r["sharpness"] for r in found], 50),
            "dlib_found": f"{len(described)}/{len(gated)}",
            "same_full_p50": q(same_full, 50), "same_full_max": q(same_full, 100),
            "same_full_far": f"{sum(x > p.distance for x in same_full)}/{len(same_full)}",
            "same_own_p50": q(same_own, 50), "same_own_max": q(same_own, 100),
            "same_own_far": f"{sum(x > p.distance for x in same_own)}/{len(same_own)}",
            "diff_full_min": q(diff_full, 0), "diff_full_p5": q(diff_full, 5),
            "diff_own_min": q(diff_own, 0), "diff_own_p5": q(diff_own, 5),
        })
    return rows


BOX_BANDS = ((0, 75), (75, 80), (80, 85), (85, 90), (90, 95), (95, 100), (100, 10_000))


def report_by_box(records: list[dict]) -> list[dict]:
    """The described scaled samples by the face box the landmarker measured (what the gate
    compares with ``min_face_px``; in a 640x480 frame it is larger than the nominal size)."""
    from kiosk.liveness.continuity import ContinuityParams

    p = ContinuityParams()
    full = _templates(records, NATIVE)
    own = {size: _templates(records, size) for size in SIZES}
    rows = []
    for lo, hi in BOX_BANDS:
        at = [r for r in records if r["size"] != NATIVE and r["found"] and r.get("desc")
              and lo <= r["box_h"] < hi]
        if not at:
            continue
        same_full = [float(np.linalg.norm(np.asarray(r["desc"]) - full[r["person"]]))
                     for r in at]
        same_own = [float(np.linalg.norm(np.asarray(r["desc"]) - own[r["size"]][r["person"]]))
                    for r in at]
        diff = [float(np.linalg.norm(np.asarray(r["desc"]) - t))
                for r in at for q, t in full.items() if q != r["person"]]
        rows.append({
            "box_h": f"{lo}-{hi - 1}" if hi < 10_000 else f">={lo}", "samples": len(at),
            "same_full_max": round(max(same_full), 3),
            "same_full_far": f"{sum(x > p.distance for x in same_full)}/{len(same_full)}",
            "same_own_max": round(max(same_own), 3),
            "same_own_far": f"{sum(x > p.distance for x in same_own)}/{len(same_own)}",
            "diff_full_min": round(min(diff), 3) if diff else None,
        })
    return rows


def _print(rows: list[dict]) -> None:
    cols = list(rows[0]) if rows else []
    print(" | ".join(cols))
    for row in rows:
        print(" | ".join(str(row[c]) for c in cols))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=os.environ.get("KIOSK_EVAL_FACES"),
                    help="faces.json of the real-faces corpus (default: $KIOSK_EVAL_FACES)")
    ap.add_argument("--split", choices=("tuning", "validation"))
    ap.add_argument("--rate", type=float, default=5.0, help="frames a second taken")
    ap.add_argument("--out", type=Path, help="write the per-sample records here")
    ap.add_argument("--report", type=Path, help="print the table of a records file")
    args = ap.parse_args(argv)
    if args.report:
        records = json.loads(args.report.read_text())
    else:
        if not args.split or not args.corpus:
            ap.error("--split and --corpus (or KIOSK_EVAL_FACES) are needed to measure")
        records = measure(args.corpus, args.split, args.rate)
        if args.out:
            args.out.write_text(json.dumps(records))
    _print(report(records))
    print()
    _print(report_by_box(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
