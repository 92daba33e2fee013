"""Build a real sealed witness package for tests, demos and the replay benchmark.

The session folder holds a VP8 WebM encoded with PyAV, guide prompts spoken by espeak-ng (a
sine tone where espeak-ng is missing), and a hash-chained timeline written with
``TimelineWriter`` that includes a flagged consent answer. ``seal_package`` then seals it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from kiosk.evidence import EvidenceKeys, Ledger, seal_package
from kiosk.protocol import AnswerDecision, StepKind, StepOutcome, TimelineEvent
from kiosk.timeline import MediaClock, TimelineWriter
from kiosk.utc import utcnow

FLOW_YAML = """\
id: securities_account_opening
version: 1
title: {en: Securities account opening witness, zh-CN: 证券账户开户见证}
locales: [zh-CN, en]
priority: %(priority)s
steps:
  - id: welcome
    kind: say
    title: {en: Welcome, zh-CN: 欢迎}
  - id: risk
    kind: question
    title: {en: Risk disclosure, zh-CN: 风险揭示}
  - id: consent
    kind: question
    title: {en: Consent, zh-CN: 开户意愿}
  - id: goodbye
    kind: say
    title: {en: Goodbye, zh-CN: 再见}
"""
PROMPTS = {
    "welcome": "Hello. This witness session is recorded.",
    "risk": "Have you read and understood the risk disclosure? Please answer yes.",
    "consent": "Do you open this account of your own free will? Please answer: yes, I do.",
    "goodbye": "Thank you. The witness is complete.",
}


def write_webm(path: Path, seconds: float, fps: int = 15, size=(320, 240),
               bitrate: str = "200k", noise: bool = False) -> Path:
    """A VP8 WebM whose frames show a moving bar and their time (keyframe every 2 s);
    ``noise`` adds camera-like grain so the file reaches a realistic bitrate."""
    import av

    w, h = size
    with av.open(str(path), "w", format="webm") as c:
        s = c.add_stream("libvpx", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.gop_size = 2 * fps
        s.options = {"deadline": "realtime", "cpu-used": "8", "b": bitrate}
        s.bit_rate = int(float(bitrate.rstrip("kM")) * (1000 if bitrate.endswith("k") else
                                                          1_000_000))
        n = int(seconds * fps)
        base = np.zeros((h, w, 3), np.uint8)
        base[:, :, 2] = 90
        rng = np.random.default_rng(7)
        for i in range(n):
            img = base.copy()
            if noise:
                img += rng.integers(0, 40, size=img.shape, dtype=np.uint8)
            x = int((i / max(1, n - 1)) * (w - 12))
            img[:, x:x + 12, :] = (240, 200, 40)
            img[: int(h * ((i % fps) / fps)) + 1, :6, 1] = 255  # a second-tick strip
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _sine_wav(seconds: float = 1.0, freq: float = 440.0, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wv:
        wv.setnchannels(1)
        wv.setsampwidth(2)
        wv.setframerate(rate)
        wv.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * freq * i
                                                                        / rate)))
                               for i in range(int(seconds * rate))))
    return buf.getvalue()


def speak_wav(text: str) -> bytes:
    """The prompt spoken by espeak-ng (English voice), or a tone if espeak-ng is missing."""
    exe = shutil.which("espeak-ng")
    if exe:
        # -w, not --stdout: a piped WAV carries a bogus "stream" length in its header.
        with tempfile.TemporaryDirectory(prefix="kiosk-say-") as tmp:
            out = Path(tmp) / "p.wav"
            res = subprocess.run([exe, "-v", "gmw/en-us", "-s", "160", "-w", str(out), text],
                                 capture_output=True, timeout=20, check=False)
            if res.returncode == 0 and out.is_file() and out.read_bytes()[:4] == b"RIFF":
                return out.read_bytes()
    return _sine_wav()


def _wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as wv:
        return wv.getnframes() / float(wv.getframerate())


def make_session_dir(sdir: Path, session_id: str, *, seconds: float = 12.0,
                     flagged: bool = True, priority: str = "normal", locale: str = "en",
                     state: str = "finished", size=(320, 240), bitrate: str = "200k",
                     noise: bool = False, signals: bool = False, photos: bool = False) -> Path:
    """A finished witness session folder; ``flagged`` makes the consent answer unrecognised,
    ``signals`` adds liveness samples, ``photos`` an ID photo and a key frame (scikit-image's
    public-domain astronaut photo)."""
    sdir = Path(sdir)
    (sdir / "prompts").mkdir(parents=True, exist_ok=True)
    if photos:
        from PIL import Image
        from skimage import data as skdata

        (sdir / "keyframes").mkdir(exist_ok=True)
        face = Image.fromarray(skdata.astronaut())
        face.crop((120, 0, 300, 220)).save(sdir / "id_photo.jpg", quality=85)
        face.resize((256, 256)).save(sdir / "keyframes" / "best_face.jpg", quality=85)
    write_webm(sdir / "recording.webm", seconds, size=size, bitrate=bitrate, noise=noise)
    (sdir / "flow.yaml").write_text(FLOW_YAML % {"priority": priority}, encoding="utf-8")
    tw = TimelineWriter(sdir / "timeline.jsonl", MediaClock())
    slot = seconds / len(PROMPTS)
    tw.append(TimelineEvent.JOINED, {}, t=0.0)
    tw.append(TimelineEvent.MEDIA_CONNECTED, {}, t=0.2)
    for i, (step, text) in enumerate(PROMPTS.items()):
        t0 = round(i * slot + 0.3, 3)
        wav = speak_wav(text)
        digest = hashlib.sha256(wav).hexdigest()
        (sdir / "prompts" / f"{digest}.wav").write_bytes(wav)
        dur = round(_wav_seconds(wav), 3)
        kind = StepKind.QUESTION if step in ("risk", "consent") else StepKind.SAY
        tw.append(TimelineEvent.STEP_STARTED, {"step": step, "index": i, "kind": kind,
                                               "attempt": 1}, t=t0)
        tw.append(TimelineEvent.PROMPT_SENT, {"step": step, "seq": i + 1, "text": text,
                                              "sha256": digest, "duration": dur}, t=t0 + 0.05)
        tw.append(TimelineEvent.PROMPT_STARTED, {"step": step, "seq": i + 1}, t=t0 + 0.1)
        end = round(min(t0 + 0.1 + dur, (i + 1) * slot - 0.2), 3)
        tw.append(TimelineEvent.PROMPT_ENDED, {"step": step, "seq": i + 1}, t=end)
        if kind == StepKind.QUESTION:
            tw.append(TimelineEvent.WINDOW_OPENED, {"step": step, "seconds": 6, "kind": "answer"},
                      t=end)
            ans_t = round(min(end + 1.0, (i + 1) * slot - 0.1), 3)
            tw.append(TimelineEvent.WINDOW_CLOSED, {"step": step}, t=ans_t)
            # The answer's speech starts before it is recognised, even in a short sample.
            speech = round(min(end + 0.2, ans_t - 0.05), 3)
            if step == "consent" and flagged:
                tw.append(TimelineEvent.ANSWER_RECOGNISED, {
                    "step": step, "decision": AnswerDecision.UNCLEAR, "text": "mm... yes?",
                    "t_start": speech, "t_end": ans_t}, t=ans_t)
                tw.append(TimelineEvent.STEP_RESULT, {
                    "step": step, "outcome": StepOutcome.FLAG, "attempt": 1,
                    "reason": "answer not recognised"}, t=ans_t)
            else:
                tw.append(TimelineEvent.ANSWER_RECOGNISED, {
                    "step": step, "decision": AnswerDecision.AGREE, "text": "yes, I understand",
                    "t_start": speech, "t_end": ans_t}, t=ans_t)
                tw.append(TimelineEvent.STEP_RESULT, {
                    "step": step, "outcome": StepOutcome.PASS, "attempt": 1}, t=ans_t)
        tw.append(TimelineEvent.STEP_COMPLETED, {"step": step, "index": i},
                  t=round((i + 1) * slot - 0.05, 3))
    if signals:
        for i in range(int(seconds * 5)):  # 5 Hz liveness samples, a blink every 3 s
            t = round(i / 5, 3)
            tw.append(TimelineEvent.LIVENESS_SAMPLE, {
                "blink": 0.6 if i % 15 == 7 else 0.04, "yaw": round(12 * math.sin(t / 2), 2),
                "jaw": 0.5 if 4 <= (t % 10) < 5 else 0.05,
                "faces": 0 if seconds * 0.4 <= t < seconds * 0.4 + 0.6 else 1}, t=t)
    tw.append(TimelineEvent.FINISHED if state == "finished" else TimelineEvent.ABORTED,
              {"flags": ["flag:consent"] if flagged else []}, t=round(seconds - 0.01, 3))
    tw.append(TimelineEvent.RECORDING_FINALISED, {"file": "recording.webm"},
              t=round(seconds, 3))
    tw.close()
    if signals:  # a face analysis that sampled the face wrote its results, as a live one does
        (sdir / "checks").mkdir(exist_ok=True)
        (sdir / "checks" / "liveness.json").write_text(json.dumps({
            "available": True, "ok": True, "reasons": [], "events": [],
            "summary": {"faces_max": 1}}), encoding="utf-8")
    (sdir / "session.json").write_text(json.dumps({
        "id": session_id,
        "flow": {"id": "securities_account_opening", "version": 1, "content_hash": "0" * 64},
        "locale": locale, "applicant": {"name": "Alex Chen", "id_type": "prc_resident_id",
                                      "id_number": "110102199003078888"},
        "state": state, "end_reason": "completed" if state == "finished" else "cancelled",
        "retention_years": 20}), encoding="utf-8")
    return sdir


def make_sealed_case(data_dir: Path, store=None, *, flow=None, seconds: float = 12.0,
                     flagged: bool = True, priority: str = "normal", locale: str = "en",
                     keys: EvidenceKeys | None = None, ledger: Ledger | None = None,
                     size=(320, 240), bitrate: str = "200k", noise: bool = False,
                     signals: bool = False, photos: bool = False) -> str:
    """Seal a sample session under ``data_dir`` (server layout: keys/, ledger.jsonl,
    evidence/); with ``store`` (and ``flow``) a matching sealed WitnessRow is stored too.
    Returns the package id (= session id)."""
    data_dir = Path(data_dir)
    keys = keys or EvidenceKeys(data_dir / "keys")
    keys.ensure()
    ledger = ledger or Ledger(data_dir / "ledger.jsonl", keys=keys)
    if store is not None:
        if flow is None:
            from types import SimpleNamespace
            flow = SimpleNamespace(id="securities_account_opening", version=1,
                                   content_hash="0" * 64)
        row, _token = store.create(flow=flow, locale=locale,
                                   applicant={"name": "Alex Chen",
                                              "id_type": "prc_resident_id",
                                              "id_number": "110102199003078888",
                                              "has_id_photo": False}, ttl_seconds=600)
        sid = row.id
        sdir = store.session_dir(sid)
    else:
        import uuid
        sid = uuid.uuid4().hex
        sdir = data_dir / "sessions" / sid
    make_session_dir(sdir, sid, seconds=seconds, flagged=flagged, priority=priority,
                     locale=locale, size=size, bitrate=bitrate, noise=noise, signals=signals,
                     photos=photos)
    res = seal_package(sdir, data_dir / "evidence", keys, ledger, include_id_photo=photos)
    if store is not None:
        store.set(sid, state="finished", end_reason="completed", ended_at=utcnow(),
                  sealed_at=utcnow(), package_id=res.package_id)
    return res.package_id
