"""Sealing benchmark (``kiosk evidence bench``): how long sealing a synthetic 3-minute
session takes, hashing the recording at seal time or with the hashes the recorder computed
while writing."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from kiosk.evidence.keys import EvidenceKeys
from kiosk.evidence.ledger import Ledger
from kiosk.evidence.package import seal_package
from kiosk.protocol import TimelineEvent
from kiosk.timeline import MediaClock, TimelineWriter


def bench_seal(size_mb: int = 30, events: int = 300, prompts: int = 12) -> dict[str, float]:
    """Seal a synthetic session with a ``size_mb`` recording, with and without precomputed
    hashes; prints and returns the seconds of each."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-seal-") as tmp:
        base = Path(tmp)
        keys = EvidenceKeys(base / "keys")
        keys.ensure()
        ledger = Ledger(base / "ledger.jsonl", keys=keys)
        for mode in ("hash at seal", "precomputed"):
            sid = "bench-" + mode.split()[0]
            sdir = base / "sessions" / sid
            (sdir / "prompts").mkdir(parents=True)
            pre: dict[str, str] = {}
            with open(sdir / "recording.webm", "wb") as fh:
                h = hashlib.sha256()
                for _ in range(size_mb):
                    block = os.urandom(1 << 20)
                    h.update(block)  # as the recorder would, while writing
                    fh.write(block)
            pre["recording.webm"] = h.hexdigest()
            for i in range(prompts):
                wav = os.urandom(60_000) + str(i).encode()
                digest = hashlib.sha256(wav).hexdigest()
                (sdir / "prompts" / f"{digest}.wav").write_bytes(wav)
                pre[f"prompts/{digest}.wav"] = digest
            tw = TimelineWriter(sdir / "timeline.jsonl", MediaClock())
            for i in range(events):
                tw.append(TimelineEvent.LIVENESS_SAMPLE, {"step": f"s{i // 20}", "i": i}, t=i * 0.6)
            tw.close()
            (sdir / "flow.yaml").write_text("id: bench\nversion: 1\n", encoding="utf-8")
            (sdir / "session.json").write_text(json.dumps({
                "id": sid, "flow": {"id": "bench", "version": 1, "content_hash": "0" * 64},
                "locale": "en", "applicant": {"name": "Bench", "id_number": "X0000000"},
                "state": "finished", "end_reason": "completed", "retention_years": 20}),
                encoding="utf-8")
            res = seal_package(sdir, base / "packages", keys, ledger,
                               precomputed=pre if mode == "precomputed" else None)
            results[mode] = res.seconds
            print(f"seal {size_mb} MB recording, {mode}: {res.seconds:.3f} s")
    return results
