"""``kiosk bench``: concurrent synthetic investors against a real server, recording vs decode-only.

For each mode it starts ``kiosk serve --dev`` (Werkzeug: one process, whose CPU it samples;
fresh data folder), runs N
``kiosk simulate`` investors at once through a flow that keeps the media flowing for
``--seconds``, and measures the server process's CPU with psutil. The decode-only baseline
is the same server with ``KIOSK_RECORDER=blackhole`` (frames decoded and dropped, nothing
written), so the ratio is what recording costs.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click
import psutil
import requests

BENCH_FLOW = """\
id: bench
version: 1
title: {{zh-CN: 基准测试, en: Benchmark}}
locales: [zh-CN, en]
steps:
  - id: hello
    kind: say
    text: {{zh-CN: 您好。, en: Hello.}}
  - id: hold
    kind: wait
    seconds: {seconds}
    text: {{zh-CN: 请稍候。, en: Please wait.}}
  - id: bye
    kind: say
    text: {{zh-CN: 再见。, en: Goodbye.}}
"""
API_KEY = "bench-key-0123456789"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values, q):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return round(values[k], 1)


def run_mode(
    mode: str, sessions: int, seconds: float, video: Path, audio: Path, work: Path
) -> dict:
    """``mode``: blackhole (decode only), packets (recording), full (recording + liveness)."""
    from kiosk.media.simulate import create_link, run_investor

    data = work / mode
    flows = work / "flows"
    flows.mkdir(exist_ok=True)
    (flows / "bench.yaml").write_text(BENCH_FLOW.format(seconds=seconds), encoding="utf-8")
    port = _port()
    env = {**os.environ, "KIOSK_DATA_DIR": str(data), "KIOSK_FLOWS_DIR": str(flows),
           "KIOSK_PORT": str(port), "KIOSK_API_KEYS": API_KEY,
           "KIOSK_RECORDER": "blackhole" if mode == "blackhole" else "packets",
           "KIOSK_LIVENESS": "true" if mode == "full" else "false",
           "KIOSK_LOG_LEVEL": "WARNING",
           # the synthetic investors run on this machine (loopback / private addresses)
           "KIOSK_ICE_ALLOW_LOOPBACK": "true", "KIOSK_ICE_PRIVATE_NETWORKS": "0.0.0.0/0,::/0"}
    log = open(work / f"server-{mode}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "serve", "--dev"],
                            env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(url + "/api/ready", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise click.ClickException(f"the {mode} server did not start; see {log.name}")
        server = psutil.Process(proc.pid)
        links = [create_link(url, API_KEY, "en", "bench") for _ in range(sessions)]
        # Render the prompts once so that both modes start from a warm cache.
        warm = asyncio.run(run_investor(create_link(url, API_KEY, "en", "bench"), video, audio,
                                        prompt_time="instant", timeout=seconds + 60,
                                        api_key=API_KEY))
        samples: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample():  # the server's CPU seconds, 10 times a second
            while not stop.is_set():
                c = server.cpu_times()
                samples.append((time.monotonic(), c.user + c.system))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        async def all_investors():
            return await asyncio.gather(*(
                run_investor(link, video, audio, prompt_time="instant", timeout=seconds + 60,
                             api_key=API_KEY) for link in links))

        results = asyncio.run(all_investors())
        stop.set()
        sampler.join()
        # Only the steady media phase counts: from the moment every investor's "hold" window
        # opened to the first one closing (set-up, finalising and sealing are not the hot path).
        opens = [next(e["t"] for e in r.events if e["name"] == "window_open") for r in results]
        closes = [next(e["t"] for e in r.events if e["name"] == "window_close") for r in results]
        a, b = max(opens) + 1.0, min(closes) - 0.5
        inside = [(t, c) for t, c in samples if a <= t <= b]
        if len(inside) < 2:
            raise click.ClickException("the media phase was too short to measure; raise --seconds")
        wall = inside[-1][0] - inside[0][0]
        cpu = inside[-1][1] - inside[0][1]
        frames, liveness = [], []
        for r in results:
            if r.session_id:
                info = requests.get(f"{url}/api/sessions/{r.session_id}",
                                    headers={"X-API-Key": API_KEY}, timeout=10).json()
                frames.append(info.get("recording_frames"))
                checks = data / "sessions" / r.session_id / "checks" / "liveness.json"
                if checks.exists():
                    liveness.append(json.loads(checks.read_text())["performance"])
        offer_answer = [r.offer_answer_ms for r in results if r.offer_answer_ms]
        first_prompt = [r.first_prompt_ms for r in results if r.first_prompt_ms]
        return {
            "mode": mode,
            "sessions": sessions,
            "measured_s": round(wall, 1),
            "server_cpu_pct_total": round(100 * cpu / wall, 1),
            "server_cpu_pct_per_session": round(100 * cpu / wall / sessions, 1),
            "states": [r.state for r in results],
            "offer_answer_ms_p50": _pct(offer_answer, 50),
            "offer_answer_ms_p95": _pct(offer_answer, 95),
            "first_prompt_ms_p50": _pct(first_prompt, 50),
            "first_prompt_ms_p95": _pct(first_prompt, 95),
            "recorded_video_frames": frames,
            "liveness": liveness,
            "warmup_state": warm.state,
        }
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@click.command()
@click.option("--sessions", "-n", type=int, default=2, show_default=True,
              help="concurrent investors")
@click.option("--seconds", type=float, default=20.0, show_default=True,
              help="media time per session")
@click.option("--json", "as_json", is_flag=True)
@click.option("--keep", is_flag=True, help="keep the work folder (server logs, recordings)")
@click.option("--with-liveness", is_flag=True, help="also run recording + live face analysis")
def bench(sessions, seconds, as_json, keep, with_liveness):
    """Recording CPU vs a decode-only baseline, signalling latency, time to first prompt."""
    from kiosk.testing.streams import barcode_y4m, tone_wav

    work = Path(tempfile.mkdtemp(prefix="kiosk-bench-"))
    try:
        video = barcode_y4m(work / "camera.y4m", seconds=4.0)
        audio = tone_wav(work / "mic.wav", seconds=2.0)
        modes = ("blackhole", "packets") + (("full",) if with_liveness else ())
        if with_liveness:
            from kiosk.testing.faces import ClipSpec, clip_path

            # A real (public-domain) face that blinks and turns, so the analyser has work to do.
            video = clip_path(ClipSpec("astronaut", "sequence"), work)
        rows = [run_mode(m, sessions, seconds, video, audio, work) for m in modes]
        base, rec = rows[0], rows[1]
        ratio = (rec["server_cpu_pct_total"] / base["server_cpu_pct_total"]
                 if base["server_cpu_pct_total"] else None)
        summary = {"runs": rows, "recording_cpu_ratio": round(ratio, 2) if ratio else None,
                   "target_ratio": 1.5, "cores": psutil.cpu_count(),
                   "work_dir": str(work) if keep else None}
        if as_json:
            click.echo(json.dumps(summary, indent=2))
        else:
            for r in rows:
                click.echo(f"{r['mode']:>9}: {r['sessions']} sessions, "
                           f"server CPU {r['server_cpu_pct_total']}% "
                           f"({r['server_cpu_pct_per_session']}%/session of one core), "
                           f"offer->answer "
                           f"p50 {r['offer_answer_ms_p50']} ms p95 {r['offer_answer_ms_p95']} ms, "
                           f"connect->first prompt audio p50 {r['first_prompt_ms_p50']} ms "
                           f"p95 {r['first_prompt_ms_p95']} ms, "
                           f"frames {r['recorded_video_frames']}, "
                           f"states {r['states']}")
                for perf in r["liveness"]:
                    click.echo(f"           liveness: {perf['analysed_fps']} analysed fps, "
                               f"frame->result "
                               f"p50 {perf['latency_p50_ms']} ms p95 {perf['latency_p95_ms']} ms, "
                               f"{perf['frames_dropped']} stale frames dropped")
            click.echo(f"recording / decode-only CPU ratio: {summary['recording_cpu_ratio']} "
                       f"(target <= 1.5)")
            if keep:
                click.echo(f"work folder: {work}")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
