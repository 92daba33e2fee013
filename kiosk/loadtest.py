"""``kiosk loadtest``: N whole witnesses at once against a fresh server, and what the load did.

Each run starts ``kiosk serve`` (under gunicorn, as in production; ``--dev``: Werkzeug) on
loopback with its own data folder, in this process's session (``kiosk.testing.server``: the
investors' nice 19 must leave it the cores), and runs N ``kiosk simulate`` investors at once through
a real flow (``kiosk.evaluation.run.run_case``: one process each, at the lowest CPU priority, like
``kiosk eval``). Every investor shows a synthetic public-domain face that blinks and turns
(``kiosk.testing.faces``), sends an ID photo of it, and speaks its answers (espeak-ng).

Per run it reports how many witnesses finished and how the others ended, the media loop's
lag during the run (``kiosk.media.loop``: how late the loop that carries every RTP packet and
ICE check woke), the frames the face analysis received and analysed per witness, whether each
recording was finalised or missing, the frames that decode in it, the packets missing from
it and the frames skipped while waiting for a keyframe (``kiosk.media.recorder``), the CPU
used by the server and by the whole machine, the server's peak RSS (with its worker
processes), offer->answer p50/p95, frame->analysis p95, answer window end->verdict p50/p95, and
how many sealed packages verify offline. ``--ramp`` starts the witnesses over some seconds
instead of at once; ``--capacity`` runs them against a node that admits fewer
(``kiosk.witness.admission``): the others wait for a place, as investors do.

``--stall`` adds one more witness whose ID photo is as large in pixels as an upload may be
(``max_id_photo_side``), joining a few seconds after the others, and first tries a
decompression bomb (a tiny PNG stating 16000x16000 pixels), which the API must refuse.

``--server URL --api-key KEY`` runs the investors against a server already running (a node, or
the balancer of ``./dev.sh cluster``) instead of starting one, and reports what its API shows
(``run_remote``), per witness and overall: how the witnesses ended and their pre-review
verdicts, offer->answer and answer window end->verdict (as the investors saw them), the joins
told to wait, the node each ran on and its media figures (the ``media`` block of ``GET
/api/sessions/<id>``, asked of that node: frames received and analysed, frame->analysis p95,
the recording and its RTP packets missing), and the sealed packages; and per node (``GET
/api/nodes``, each reached through the balancer at ``/n/<slug>``, or ``--node URL``) its CPU
% of one core and RSS (``/api/health``'s ``process``, shown only with the API key, read
every 2 s from before the first
witness to the end of the last) and its media loop lag. With ``--evidence DIR`` (a node's
``data_dir/evidence``, on this machine) it also verifies the packages offline with the keys
of ``/api/evidence/public-keys``, without the server's ledger. What could not be read is
named as omitted. The flow is planned from this machine's flows (``KIOSK_FLOWS_DIR``): the
server must run the same flow.

The figures depend on the machine: the simulated investors encode video on the server's own
cores. No test asserts them; read them next to the machine's core count.
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import tempfile
import threading
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import psutil
import requests

from kiosk.evaluation.corpus import Case, id_number_for
from kiosk.evaluation.run import CaseResult, run_case
from kiosk.media.loop import LagSnapshot
from kiosk.witness.media_figures import media_figures

VOICES = {"en": "gmw/en-us", "zh-CN": "sit/cmn"}
NAMES = {"en": "Alex Morgan", "zh-CN": "张三"}
STALL_DELAY_S = 8.0  # the stall witness joins while the others are well under way
BOMB_SIDE = 16000


@dataclass
class WitnessFigures:
    """What one witness of a load run ended as, from the server's own files."""

    case: str
    session_id: str | None
    state: str | None
    end_reason: str | None
    frames_received: int | None = None  # decoded video frames handed to the face analysis
    frames_analysed: int | None = None
    analysed_fps: float | None = None
    recording: str | None = None  # finalised | missing | None (no event)
    video_frames: int | None = None  # frames that decode in the finalised recording
    video_undecodable: int | None = None
    packets_missing: int | None = None  # RTP packets the recording lacks (lost or discarded)
    gaps: int | None = None
    frames_skipped: int | None = None  # waiting for a keyframe after a gap (or at the start)
    frame_latency_p95_ms: float | None = None  # frame arrival -> its face analysis, p95
    offer_answer_ms: float | None = None
    package_verified: bool | None = None  # the sealed package verifies offline (None: no package)
    sealed: bool | None = None  # the API says the evidence is sealed (None: not asked)
    verdict: str | None = None  # the pre-review's verdict: clear | attention | reject
    node: str | None = None  # the node process it ran on (--server: the API's media block)
    busy_refusals: int = 0  # joins told to wait for a place
    error: str | None = None


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(round(q * (len(v) - 1))))], 1)


def bomb_png() -> bytes:
    """A PNG of a few KB whose header states BOMB_SIDE x BOMB_SIDE pixels (1-bit grey)."""
    row = b"\x00" + b"\x00" * (BOMB_SIDE // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(BOMB_SIDE)) + comp.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", BOMB_SIDE, BOMB_SIDE, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))


def build_witnesses(n: int, flow, locale: str, work: Path, stall_side: int = 0,
                    investors: str = "packets") -> list[Case]:
    """N genuine witnesses (and one with a ``stall_side``-pixel ID photo when > 0).

    ``investors``: "packets" sends a VP8 file encoded once, packet by packet
    (``kiosk.media.packet_camera``: the investors cost next to no CPU, so the run measures
    the server); "encode" decodes an H.264 clip and re-encodes every frame as a browser does
    (15-20 % of a core per investor, on the server's own cores)."""
    from kiosk.media.packet_camera import encode_vp8
    from kiosk.testing.faces import ClipSpec, clip_path, write_id_photo
    from kiosk.testing.streams import speech_wav
    from kiosk.witness.plan import plan_witness

    video = clip_path(ClipSpec("astronaut", "sequence"), work)
    if investors == "packets":
        video = encode_vp8(video, video.with_suffix(".vp8.webm"))
    photo = write_id_photo("astronaut", work / "id_photo.jpg")
    cases = []
    for i in range(n + (1 if stall_side else 0)):
        idn = id_number_for(i)
        variables = {"name": NAMES[locale], "id_last4": idn[-4:]}
        answers = {}
        for step in plan_witness(flow, locale, variables, random.Random(i)):
            text = step.read_text if step.kind == "read_aloud" else (
                step.answer or (step.phrases[0] if step.phrases else None)
                if step.kind == "question" else None)
            if text:
                answers[step.id] = speech_wav(work / f"answer-{i}-{step.id}.wav", text,
                                              voice=VOICES[locale], lead_silence=0.3)
        stall = stall_side and i == n
        id_photo = (write_id_photo("astronaut", work / "id_photo_large.png", canvas=stall_side)
                    if stall else photo)
        cases.append(Case(f"{'stall' if stall else 'witness'}-{i}", locale, "genuine", "load",
                          video, id_photo, NAMES[locale], idn, answers, face="astronaut"))
    return cases


class _Sampler:
    """The server's CPU seconds (its process and every child: gunicorn's worker and the model
    workers) and the machine's, twice a second, on a thread."""

    def __init__(self, pid: int):
        self.server = psutil.Process(pid)
        self.samples: list[tuple[float, float, float]] = []  # (wall, server cpu, machine busy)
        self.rss_peak = 0  # bytes: the server and its worker processes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                c = self.server.cpu_times()
                cpu = c.user + c.system
                m = psutil.cpu_times()
                rss = self.server.memory_info().rss
                # gunicorn's worker, dlib's and Whisper's workers, the guide's TTS worker.
                for child in self.server.children(recursive=True):
                    try:
                        cc = child.cpu_times()
                        cpu += cc.user + cc.system
                        rss += child.memory_info().rss
                    except psutil.Error:
                        pass
                self.rss_peak = max(self.rss_peak, rss)
                busy = sum(m) - m.idle - getattr(m, "iowait", 0.0)
                self.samples.append((time.monotonic(), cpu, busy))
            except psutil.Error:
                return
            self._stop.wait(0.5)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self) -> dict:
        if len(self.samples) < 2:
            return {"server_cpu_pct": None, "machine_cpu_pct": None, "server_rss_peak_mb": None}
        (w0, s0, m0), (w1, s1, m1) = self.samples[0], self.samples[-1]
        wall = max(w1 - w0, 1e-6)
        cores = psutil.cpu_count() or 1
        return {"server_cpu_pct": round(100 * (s1 - s0) / wall, 1),  # 100 = one core
                "machine_cpu_pct": round(100 * (m1 - m0) / wall / cores, 1),  # 100 = all
                "server_rss_peak_mb": round(self.rss_peak / 2**20, 1)}


def _lag(url: str) -> LagSnapshot:
    body = requests.get(url + "/api/health", params={"histogram": "1"}, timeout=10).json()
    lag = body["media_loop_lag"]
    return LagSnapshot.from_counts(lag["counts"], lag["total_ms"], lag["max_ms"] or 0.0,
                                   lag["over_threshold"])


def _package_verified(data_dir: Path, session_id: str, wait_s: float = 60.0) -> bool | None:
    """Whether the session's sealed package verifies offline (signature, manifest, ledger)
    with the server's keyring; None when no package appeared within ``wait_s``."""
    from kiosk.evidence.keys import EvidenceKeys
    from kiosk.evidence.verify import verify_package

    archive = data_dir / "evidence" / f"{session_id}.tar"
    deadline = time.monotonic() + wait_s
    while not archive.exists():
        if time.monotonic() > deadline:
            return None
        time.sleep(0.5)
    ledger = data_dir / "ledger.jsonl"
    report = verify_package(archive, keyring=EvidenceKeys(data_dir / "keys").keyring(),
                            ledger=ledger if ledger.exists() else None)
    return report.ok


def witness_figures(data_dir: Path, url: str, api_key: str, result: CaseResult) -> WitnessFigures:
    """Read one witness's end, recording and face-analysis figures from the server."""
    fig = WitnessFigures(result.case, result.session_id, result.state, None, error=result.error)
    if not result.session_id:
        return fig
    info = requests.get(f"{url}/api/sessions/{result.session_id}",
                        headers={"X-API-Key": api_key}, timeout=10)
    if info.ok:
        body = info.json()
        fig.state, fig.end_reason = body.get("state"), body.get("end_reason")
    _take_media(fig, media_figures(data_dir / "sessions" / result.session_id))
    fig.offer_answer_ms = result.offer_answer_ms
    fig.busy_refusals = result.busy_refusals
    fig.package_verified = _package_verified(data_dir, result.session_id)
    return fig


def _take_media(fig: WitnessFigures, media: dict | None) -> None:
    """Copy ``kiosk.witness.media_figures.media_figures`` output into ``fig``."""
    if not media:
        return
    fig.frames_received = media.get("frames_received")
    fig.frames_analysed = media.get("frames_analysed")
    fig.analysed_fps = media.get("analysed_fps")
    fig.frame_latency_p95_ms = (media.get("frame_analysis_ms") or {}).get("p95")
    for key in ("recording", "video_frames", "video_undecodable", "packets_missing", "gaps",
                "frames_skipped"):
        setattr(fig, key, media.get(key))


def drive_investors(cases: list[Case], url: str, api_key: str, flow_id: str, *,
                    ramp: float = 0.0, timeout: float = 300.0) -> list[CaseResult]:
    """Run every case as one ``kiosk simulate`` investor against ``url``, all at once (the
    ``stall`` case STALL_DELAY_S late), or over ``ramp`` seconds; their results in order."""
    n = sum(not c.id.startswith("stall") for c in cases)

    def one(case: Case) -> CaseResult:
        if case.id.startswith("stall"):
            time.sleep(STALL_DELAY_S)
        elif ramp > 0 and n > 1:
            time.sleep(ramp * int(case.id.rsplit("-", 1)[1]) / (n - 1))
        return run_case(case, url, api_key, flow_id, timeout=timeout)

    with ThreadPoolExecutor(len(cases)) as pool:
        return list(pool.map(one, cases))


def run_load(n: int, flow_id: str, locale: str, work: Path, stall: bool = False,
             timeout: float = 300.0, capacity: int | None = None, ramp: float = 0.0,
             gunicorn: bool = False, investors: str = "packets") -> dict:
    """One load run against a fresh server; returns its summary and per-witness figures.

    ``capacity``: the server's ``node_capacity`` (witnesses beyond it wait for a place, as
    investors do); None admits every witness of the run, to measure the load itself.
    ``ramp``: seconds over which the witnesses start, evenly (0: all at once). ``gunicorn``:
    serve as ``kiosk serve --gunicorn`` (default: as ``kiosk serve``, Werkzeug).
    ``investors``: how the simulated investors send video (``build_witnesses``)."""
    from kiosk.config import Settings
    from kiosk.flows import FlowLibrary
    from kiosk.testing.server import API_KEY, ServerProcess

    settings = Settings()
    flow = FlowLibrary(settings.flows_dir).get(flow_id)
    cases = build_witnesses(n, flow, locale, work / "media",
                            stall_side=settings.max_id_photo_side if stall else 0,
                            investors=investors)
    data = Path(tempfile.mkdtemp(prefix="data-", dir=work))
    proc = ServerProcess(data, settings.flows_dir, production=gunicorn,
                         KIOSK_SPEECH_PRELOAD="true", KIOSK_DEMO="false",
                         KIOSK_NODE_CAPACITY=str(capacity or n + (1 if stall else 0)))
    with proc:
        assert proc.proc is not None  # started by the with
        bomb_status = None
        if stall:
            import base64

            r = requests.post(proc.url + "/api/sessions", headers=proc.headers(), timeout=30,
                              json={"applicant": {"name": NAMES[locale], "id_number":
                                                  id_number_for(999),
                                                  "id_photo": base64.b64encode(bomb_png()
                                                                               ).decode()},
                                    "locale": locale, "flow_id": flow_id})
            bomb_status = r.status_code
        before = _lag(proc.url)
        t0 = time.monotonic()
        with _Sampler(proc.proc.pid) as sampler:
            results = drive_investors(cases, proc.url, API_KEY, flow_id, ramp=ramp,
                                      timeout=timeout)
        wall = time.monotonic() - t0
        lag = _lag(proc.url) - before
        witnesses = [witness_figures(data, proc.url, API_KEY, r) for r in results]
    load = [w for w in witnesses if not w.case.startswith("stall")]
    ends = Counter(w.state if w.state == "finished" else f"{w.state}: {w.end_reason}"
                   for w in load)
    analysed = [w.frames_analysed for w in load if w.frames_analysed is not None]
    oa = [float(w.offer_answer_ms) for w in load if w.offer_answer_ms is not None]
    fl = [float(w.frame_latency_p95_ms) for w in load if w.frame_latency_p95_ms is not None]
    av = [float(a["verdict_after_s"]) for r in results if not r.case.startswith("stall")
          for a in r.answers if a.get("verdict_after_s") is not None]
    return {
        "witnesses": n,
        "stall": stall,
        "bomb_refused": None if bomb_status is None else bomb_status == 400,
        "wall_s": round(wall, 1),
        "finished": sum(w.state == "finished" for w in load),
        "ends": dict(ends),
        "media_loop_lag_ms": lag.to_dict(),
        "frames_analysed": {"per_witness": [w.frames_analysed for w in load],
                            "p50": _pct([float(a) for a in analysed], 0.5)},
        "recordings": dict(Counter(w.recording or "none" for w in load)),
        "recording_missing": sum(w.recording == "missing" for w in load),
        "video_undecodable": sum(w.video_undecodable or 0 for w in load),
        "packets_missing": sum(w.packets_missing or 0 for w in load),
        "frames_skipped": sum(w.frames_skipped or 0 for w in load),
        "ramp_s": ramp,
        "serving": "gunicorn" if gunicorn else "werkzeug",
        "investors": investors,
        "frames_received": [w.frames_received for w in load],
        "offer_answer_ms": {"p50": _pct(oa, 0.5), "p95": _pct(oa, 0.95)},
        "frame_latency_p95_ms_worst": max(fl) if fl else None,
        "answer_verdict_s": {"n": len(av), "p50": _pct(av, 0.5), "p95": _pct(av, 0.95)},
        "packages_verified": sum(w.package_verified is True for w in load),
        "packages_failed": sum(w.package_verified is False for w in load),
        "capacity": capacity,
        "busy_refusals": sum(r.busy_refusals for r in results),
        "busy_waited_s": round(sum(r.busy_waited_s for r in results), 1),
        **sampler.figures(),
        "cores": psutil.cpu_count(),
        "server_log": str(proc.log_path),
        "per_witness": [asdict(w) for w in witnesses],
    }


def public_keyring(url: str) -> dict:
    """{key_id: Ed25519 public key} from the server's ``/api/evidence/public-keys``;
    RuntimeError when it does not answer with keys."""
    from cryptography.hazmat.primitives import serialization

    r = requests.get(url + "/api/evidence/public-keys", timeout=30)
    if not r.ok:
        raise RuntimeError(f"{url}/api/evidence/public-keys answered {r.status_code}")
    return {kid: serialization.load_pem_public_key(pem.encode())
            for kid, pem in r.json()["keys"].items()}


def _health(url: str, api_key: str = "") -> dict:
    """``url``'s ``/api/health`` body (with the media loop's histogram; with ``api_key`` also
    the node's ``process`` figures, which it shows only with a key); RuntimeError when it
    does not answer 200 with JSON."""
    headers = {"X-API-Key": api_key} if api_key else {}
    try:
        r = requests.get(url + "/api/health", params={"histogram": "1"}, headers=headers,
                         timeout=10)
        if r.ok:
            return r.json()
        raise RuntimeError(f"{url}/api/health answered {r.status_code}")
    except (requests.RequestException, ValueError) as exc:
        raise RuntimeError(f"{url}/api/health does not answer: {exc}") from None


def find_nodes(url: str, api_key: str, node_urls: tuple[str, ...] = ()) -> dict[str, str]:
    """{node_id: base URL that reaches that node process} for a run against ``url``.

    ``node_urls`` given: each one's ``/api/health`` names its node. Else ``url`` itself when
    it is one node (its health has no ``cluster``), or, for a cluster, every node of
    ``GET /api/nodes`` at ``url`` + ``/n/<slug>`` (path routing through the balancer); a
    node that this path does not reach (another node answers: ``node_routing`` off) is left
    out, and named in the report. RuntimeError when a URL does not answer."""
    from kiosk.cluster.routing import node_prefix

    if node_urls:
        return {_health(u.rstrip("/"), api_key)["node_id"]: u.rstrip("/") for u in node_urls}
    health = _health(url, api_key)
    if "cluster" not in health:
        return {health["node_id"]: url}
    r = requests.get(url + "/api/nodes", headers={"X-API-Key": api_key}, timeout=10)
    if not r.ok:
        raise RuntimeError(f"{url}/api/nodes answered {r.status_code}")
    found = {}
    for node in r.json()["nodes"]:
        try:
            via = url + node_prefix(node["node_id"])
            if _health(via, api_key).get("node_id") == node["node_id"]:
                found[node["node_id"]] = via
        except (RuntimeError, ValueError):
            continue
    return found


class _NodeSampler:
    """Each node's ``/api/health`` (``process``: CPU seconds, RSS) every ``every_s`` seconds
    on a thread, from before the run to its end: CPU % of one core over the node's own clock,
    RSS before and at its peak, and the media loop's lag during the run. ``api_key``: the
    nodes show ``process`` only to a back-office key."""

    def __init__(self, nodes: dict[str, str], api_key: str, every_s: float = 2.0):
        self.nodes = nodes
        self.api_key = api_key
        self.every_s = every_s
        self.first: dict[str, dict] = {}
        self.last: dict[str, dict] = {}
        self.rss_peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for node_id, url in self.nodes.items():
            try:
                body = _health(url, self.api_key)
            except RuntimeError:
                continue
            if body.get("node_id") != node_id or not body.get("process"):
                continue
            self.first.setdefault(node_id, body)
            self.last[node_id] = body
            self.rss_peak[node_id] = max(self.rss_peak.get(node_id, 0.0),
                                         float(body["process"]["rss_mb"]))

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._sample()

    def __enter__(self) -> _NodeSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def figures(self, witnesses_on: Counter) -> list[dict]:
        """Per node: ``{node_id, witnesses, cores, cpu_pct (100 = one core), rss_mb_before,
        rss_mb_peak, media_loop_lag_ms}``; the figures are None for a node not read twice
        (or restarted during the run)."""
        out = []
        for node_id in sorted(set(self.nodes) | set(witnesses_on)):
            a, b = self.first.get(node_id), self.last.get(node_id)
            fig = {"node_id": node_id, "witnesses": witnesses_on.get(node_id, 0),
                   "cores": None, "cpu_pct": None, "rss_mb_before": None, "rss_mb_peak": None,
                   "media_loop_lag_ms": None}
            if a is not None and b is not None:
                pa, pb = a["process"], b["process"]
                wall = pb["monotonic_s"] - pa["monotonic_s"]
                fig.update(cores=pb["cores"], rss_mb_before=pa["rss_mb"],
                           rss_mb_peak=self.rss_peak[node_id])
                if wall > 0 and pb["cpu_s"] >= pa["cpu_s"]:
                    fig["cpu_pct"] = round(100 * (pb["cpu_s"] - pa["cpu_s"]) / wall, 1)
                    lag = (_lag_of(b["media_loop_lag"]) - _lag_of(a["media_loop_lag"]))
                    fig["media_loop_lag_ms"] = lag.to_dict()
            out.append(fig)
        return out


def _lag_of(lag: dict) -> LagSnapshot:
    return LagSnapshot.from_counts(lag["counts"], lag["total_ms"], lag["max_ms"] or 0.0,
                                   lag["over_threshold"])


def remote_figures(url: str, api_key: str, result: CaseResult, *,
                   evidence_dirs: tuple[Path, ...] = (), keyring: dict | None = None,
                   nodes: dict[str, str] | None = None, wait_s: float = 60.0) -> WitnessFigures:
    """One witness as the API shows it: its end, and whether its evidence is sealed (asked
    until it is, for up to ``wait_s`` seconds); its media figures (the ``media`` block of
    ``GET /api/sessions/<id>``, asked of the node it ran on through ``nodes``, {node_id:
    URL}, when ``url`` reached another). When its archive is in one of ``evidence_dirs``,
    also whether it verifies offline with ``keyring`` (no ledger)."""
    from kiosk.evidence.verify import verify_package

    fig = WitnessFigures(result.case, result.session_id, result.state, None, error=result.error,
                         offer_answer_ms=result.offer_answer_ms, verdict=result.verdict,
                         busy_refusals=result.busy_refusals)
    if not result.session_id:
        return fig
    deadline = time.monotonic() + wait_s
    headers = {"X-API-Key": api_key}
    media = None
    while True:
        info = requests.get(f"{url}/api/sessions/{result.session_id}", headers=headers,
                            timeout=30)
        if info.ok:
            body = info.json()
            fig.state, fig.end_reason = body.get("state"), body.get("end_reason")
            fig.sealed = bool(body.get("sealed"))
            media = body.get("media")
        if fig.sealed or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    if media:
        fig.node = media.get("node_id")
        via = (nodes or {}).get(fig.node or "")
        if media.get("figures") is None and via:
            info = requests.get(f"{via}/api/sessions/{result.session_id}", headers=headers,
                                timeout=30)
            if info.ok:
                media = info.json().get("media") or {}
        _take_media(fig, media.get("figures"))
    archive = next((d / f"{result.session_id}.tar" for d in evidence_dirs
                    if (d / f"{result.session_id}.tar").is_file()), None)
    if fig.sealed and archive is not None:
        fig.package_verified = verify_package(archive, keyring=keyring).ok
    return fig


def run_remote(n: int, flow, locale: str, work: Path, url: str, api_key: str, *,
               timeout: float = 300.0, ramp: float = 0.0,
               evidence_dirs: tuple[Path, ...] = (), investors: str = "packets",
               node_urls: tuple[str, ...] = ()) -> dict:
    """N witnesses of ``flow`` (a loaded flow, the one the server runs) against the running
    server or balancer at ``url``; what its API shows (module docstring).

    ``evidence_dirs``: folders where the server keeps its sealed archives
    (``<session_id>.tar``), read on this machine to verify them offline. ``node_urls``: each
    node process's own URL, when the balancer's ``/n/<slug>`` does not reach them
    (``find_nodes``). RuntimeError when ``url`` does not answer ``/api/ready``."""
    url = url.rstrip("/")
    try:
        ready = requests.get(url + "/api/ready", timeout=10)
    except requests.RequestException as exc:
        raise RuntimeError(f"{url} does not answer: {exc}") from None
    if not ready.ok:
        raise RuntimeError(f"{url}/api/ready answered {ready.status_code}: not ready")
    keyring = public_keyring(url) if evidence_dirs else None
    nodes = find_nodes(url, api_key, node_urls)
    cases = build_witnesses(n, flow, locale, work / "media", investors=investors)
    t0 = time.monotonic()
    with _NodeSampler(nodes, api_key) as sampler:
        results = drive_investors(cases, url, api_key, flow.id, ramp=ramp, timeout=timeout)
    wall = time.monotonic() - t0
    witnesses = [remote_figures(url, api_key, r, evidence_dirs=evidence_dirs, keyring=keyring,
                                nodes=nodes) for r in results]
    oa = [float(w.offer_answer_ms) for w in witnesses if w.offer_answer_ms is not None]
    av = [float(a["verdict_after_s"]) for r in results for a in r.answers
          if a.get("verdict_after_s") is not None]
    fl = [float(w.frame_latency_p95_ms) for w in witnesses if w.frame_latency_p95_ms is not None]
    node_figs = sampler.figures(Counter(w.node for w in witnesses if w.node))
    cpu = [f["cpu_pct"] for f in node_figs if f["cpu_pct"] is not None]
    omitted = {}
    unread = [w.case for w in witnesses if w.session_id and w.frames_received is None
              and w.recording is None]
    if unread:
        omitted["media figures of " + ", ".join(unread)] = (
            "the node that ran them did not answer with its session folder (give --node URL)")
    unsampled = [f["node_id"] for f in node_figs if f["cpu_pct"] is None]
    if unsampled:
        omitted["CPU and RSS of " + ", ".join(unsampled)] = (
            "the node's /api/health was not read before and after (give --node URL)")
    return {
        "server": url,
        "witnesses": n,
        "ramp_s": ramp,
        "wall_s": round(wall, 1),
        "finished": sum(w.state == "finished" for w in witnesses),
        "ends": dict(Counter(w.state if w.state == "finished" else f"{w.state}: {w.end_reason}"
                             for w in witnesses)),
        "verdicts": dict(Counter(w.verdict or "none" for w in witnesses)),
        "offer_answer_ms": {"p50": _pct(oa, 0.5), "p95": _pct(oa, 0.95)},
        "answer_verdict_s": {"n": len(av), "p50": _pct(av, 0.5), "p95": _pct(av, 0.95)},
        "frame_latency_p95_ms_worst": max(fl) if fl else None,
        "frames_received": [w.frames_received for w in witnesses],
        "frames_analysed": [w.frames_analysed for w in witnesses],
        "recordings": dict(Counter(w.recording or "none" for w in witnesses)),
        "packets_missing": {"witnesses": sum(bool(w.packets_missing) for w in witnesses),
                            "packets": sum(w.packets_missing or 0 for w in witnesses)},
        "busy_refusals": sum(r.busy_refusals for r in results),
        "busy_waited_s": round(sum(r.busy_waited_s for r in results), 1),
        "nodes": node_figs,
        # All the nodes' CPU over the run shared by the witnesses (100 = one core).
        "cpu_pct_per_witness": round(sum(cpu) / n, 1) if cpu else None,
        "packages_sealed": sum(w.sealed is True for w in witnesses),
        "packages_verified": (sum(w.package_verified is True for w in witnesses)
                              if evidence_dirs else None),
        "packages_failed": sum(w.package_verified is False for w in witnesses),
        "packages_not_found": (sum(w.sealed is True and w.package_verified is None
                                   for w in witnesses) if evidence_dirs else None),
        "omitted": omitted,
        "per_witness": [asdict(w) for w in witnesses],
    }


def format_remote(i: int, r: dict) -> str:
    """One run against a running server as the lines an operator reads: the run, then each
    witness, then each node."""
    pm = r["packets_missing"]
    lines = [
        f"run {i} against {r['server']}: {r['finished']}/{r['witnesses']} finished {r['ends']} "
        f"in {r['wall_s']} s; pre-review verdicts {r['verdicts']}",
        f"  offer->answer p50 {r['offer_answer_ms']['p50']} ms, p95 "
        f"{r['offer_answer_ms']['p95']} ms; frame->analysis p95 (worst witness) "
        f"{r['frame_latency_p95_ms_worst']} ms; answer window end->verdict p50 "
        f"{r['answer_verdict_s']['p50']} s, p95 {r['answer_verdict_s']['p95']} s "
        f"(n={r['answer_verdict_s']['n']}, as the investors saw them)",
        f"  recordings: {r['recordings']}; packets missing: {pm['packets']} in "
        f"{pm['witnesses']} witness(es); joins told to wait: {r['busy_refusals']} "
        f"({r['busy_waited_s']} s waited in all)",
        f"  packages sealed (API): {r['packages_sealed']}/{r['witnesses']}; "
        + (f"verified offline: {r['packages_verified']}/{r['packages_sealed']} (signature, "
           f"manifest; not the server's ledger)"
           + (f", {r['packages_failed']} FAILED" if r["packages_failed"] else "")
           + (f", {r['packages_not_found']} not in --evidence" if r["packages_not_found"]
              else "")
           if r["packages_verified"] is not None
           else "not verified offline (give --evidence DIR, a node's data_dir/evidence)"),
    ]
    for w in r["per_witness"]:
        lines.append(
            f"  {w['case']} on {w['node']}: {w['state']}"
            + (f" ({w['end_reason']})" if w["state"] != "finished" else "")
            + f", offer->answer {w['offer_answer_ms']} ms, frames received "
            f"{w['frames_received']} analysed {w['frames_analysed']}, frame->analysis p95 "
            f"{w['frame_latency_p95_ms']} ms, packets missing {w['packets_missing']}, "
            f"joins told to wait {w['busy_refusals']}, sealed {w['sealed']}")
    for f in r["nodes"]:
        lag = f["media_loop_lag_ms"] or {}
        lines.append(
            f"  node {f['node_id']}: {f['witnesses']} witness(es); CPU {f['cpu_pct']}% of one "
            f"core ({f['cores']} cores); RSS {f['rss_mb_before']} MB before, peak "
            f"{f['rss_mb_peak']} MB (with its workers); media loop lag p95 "
            f"{lag.get('p95_ms')} ms, max {lag.get('max_ms')} ms")
    lines.append(f"  server CPU per witness: {r['cpu_pct_per_witness']}% of one core (every "
                 f"node's CPU over the run / {r['witnesses']})")
    lines += [f"  omitted: {what}: {why}" for what, why in r["omitted"].items()]
    lines += [f"  {w['case']}: {w['error'][:200]}" for w in r["per_witness"] if w["error"]]
    return "\n".join(lines)


def format_run(i: int, r: dict) -> str:
    """One run as the lines an operator reads."""
    lag = r["media_loop_lag_ms"]
    lines = [
        f"run {i}: {r['finished']}/{r['witnesses']} finished {r['ends']} in {r['wall_s']} s"
        + (f"; bomb refused: {r['bomb_refused']}" if r["stall"] else ""),
        f"  media loop lag: p50 {lag['p50_ms']} ms, p95 {lag['p95_ms']} ms, max {lag['max_ms']} "
        f"ms ({lag['over_threshold']} wake-ups over the warning threshold, "
        f"{lag['samples']} samples)",
        f"  frames received per witness: {r.get('frames_received')} (investors: "
        f"{r.get('investors')}); analysed: {r['frames_analysed']['per_witness']}",
        f"  recordings: {r['recordings']}; frames that do not decode: {r['video_undecodable']}; "
        f"packets missing: {r['packets_missing']}; frames skipped for a keyframe: "
        f"{r['frames_skipped']}",
        f"  CPU: server {r['server_cpu_pct']}% of one core, machine {r['machine_cpu_pct']}% of "
        f"{r['cores']} cores; server RSS peak {r['server_rss_peak_mb']} MB (with its workers)",
        f"  offer->answer p50 {r['offer_answer_ms']['p50']} ms, p95 "
        f"{r['offer_answer_ms']['p95']} ms; frame->analysis p95 (worst witness) "
        f"{r['frame_latency_p95_ms_worst']} ms; answer window end->verdict p50 "
        f"{r['answer_verdict_s']['p50']} s, p95 {r['answer_verdict_s']['p95']} s "
        f"(n={r['answer_verdict_s']['n']})",
        f"  packages verified offline: {r['packages_verified']}/{r['witnesses']}"
        + (f" ({r['packages_failed']} FAILED)" if r["packages_failed"] else ""),
    ]
    if r.get("capacity"):
        lines.append(f"  admission: node_capacity {r['capacity']}; {r['busy_refusals']} joins "
                     f"told to wait, {r['busy_waited_s']} s waited in all")
    for w in r["per_witness"]:
        if w["case"].startswith("stall"):
            lines.append(f"  stall witness ({w['state']}: {w['end_reason']}): "
                         f"{w['frames_analysed']} frames analysed")
        if w["error"]:
            lines.append(f"  {w['case']}: {w['error'][:200]}")
    return "\n".join(lines)


@click.command()
@click.option("--n", "n", type=click.IntRange(1, 32), default=6, show_default=True,
              help="concurrent witnesses")
@click.option("--runs", type=click.IntRange(1, 20), default=1, show_default=True)
@click.option("--flow", default=None, help="flow id (default: the server's default flow)")
@click.option("--locale", type=click.Choice(sorted(VOICES)), default="en", show_default=True)
@click.option("--stall", is_flag=True,
              help="also a witness with a maximum-size ID photo, and a decompression bomb")
@click.option("--timeout", type=float, default=300.0, show_default=True,
              help="seconds a witness may take")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="write every run's figures here")
@click.option("--keep", is_flag=True, help="keep the work folder (server data and logs)")
@click.option("--gunicorn/--dev", default=True, show_default=True,
              help="serve as `kiosk serve` (gunicorn) or as `kiosk serve --dev` (Werkzeug)")
@click.option("--ramp", type=click.FloatRange(0, 3600), default=0.0, show_default=True,
              help="seconds over which the witnesses start, evenly (0: all at once)")
@click.option("--capacity", type=click.IntRange(1, 500), default=None,
              help="the server's node_capacity: witnesses beyond it wait for a place, as "
                   "investors do (default: admit every witness, to measure the load itself)")
@click.option("--server", "server", default=None, metavar="URL",
              help="run against this running server or balancer instead of starting one "
                   "(reports what is measurable from outside)")
@click.option("--api-key", envvar="KIOSK_LOADTEST_API_KEY", default=None,
              help="with --server: a back-office key of that server (env KIOSK_LOADTEST_API_KEY)")
@click.option("--evidence", "evidence_dirs", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="with --server: a folder holding its sealed archives (a node's "
                   "data_dir/evidence, which a node creates at its first seal), to verify "
                   "them offline; repeat for each node")
@click.option("--node", "node_urls", multiple=True, metavar="URL",
              help="with --server: one node process's own URL, to read its CPU, RSS and its "
                   "witnesses' media figures when the balancer's /n/<node>/ path does not "
                   "reach it; repeat for each node (default: found through /api/nodes)")
@click.option("--investors", type=click.Choice(["packets", "encode"]), default="packets",
              show_default=True,
              help="packets: send a VP8 file encoded once (the investors cost next to no CPU, "
                   "so the run measures the server); encode: re-encode every frame as a "
                   "browser does (15-20%% of a core each, on the server's cores)")
def loadtest(n, runs, flow, locale, stall, timeout, json_out, keep, gunicorn, ramp, capacity,
             server, api_key, evidence_dirs, node_urls, investors):
    """N concurrent witnesses against a fresh server (or --server URL): end states, media loop
    lag, analysed frames, recordings, packets missing, CPU."""
    from kiosk.config import Settings
    from kiosk.errors import FlowError
    from kiosk.flows import FlowLibrary

    settings = Settings()
    flow = flow or settings.default_flow
    if server is None and (api_key or evidence_dirs or node_urls):
        raise click.UsageError("--api-key, --evidence and --node go with --server")
    if server is not None:
        if not api_key:
            raise click.UsageError("--server needs --api-key (or KIOSK_LOADTEST_API_KEY)")
        if stall or capacity:
            raise click.UsageError("--stall and --capacity need a server started here "
                                   "(leave out --server)")
    work = Path(tempfile.mkdtemp(prefix="kiosk-loadtest-"))
    (work / "media").mkdir()
    out = []
    try:
        for i in range(1, runs + 1):
            if server is not None:
                try:
                    r = run_remote(n, FlowLibrary(settings.flows_dir).get(flow), locale, work,
                                   server, api_key, timeout=timeout, ramp=ramp,
                                   evidence_dirs=tuple(evidence_dirs), investors=investors,
                                   node_urls=tuple(node_urls))
                except (RuntimeError, FlowError) as exc:
                    raise click.ClickException(str(exc)) from None
                out.append(r)
                click.echo(format_remote(i, r))
                continue
            r = run_load(n, flow, locale, work, stall=stall, timeout=timeout,
                         capacity=capacity, ramp=ramp, gunicorn=gunicorn,
                         investors=investors)
            out.append(r)
            click.echo(format_run(i, r))
        if runs > 1:
            total = sum(r["finished"] for r in out)
            click.echo(f"finished over {runs} runs: {total}/{n * runs}")
        if json_out:
            json_out.write_text(json.dumps({"runs": out}, ensure_ascii=False, indent=2),
                                encoding="utf-8")
        if keep:
            click.echo(f"work folder: {work}")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
