"""Whole witnesses over real WebRTC: ``kiosk simulate``'s aiortc investor against
``kiosk serve``."""

import asyncio
import datetime
import json
import subprocess
import sys
import time

import pytest

from kiosk.flows import load_flow
from kiosk.media.remux import probe_recording
from kiosk.media.simulate import run_investor
from kiosk.testing.streams import read_barcode
from kiosk.timeline import read_timeline, verify_chain
from tests.kiosk_server import API_KEY, REPO, KioskServer

QUICK_STEPS = [s.id for s in load_flow(REPO / "tests" / "flow_fixtures" / "quick.yaml").steps]


def timeline(server, session_id):
    return read_timeline(server.session_dir(session_id) / "timeline.jsonl")


def decoded_barcodes(path, limit=400):
    import av

    codes = []
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i >= limit:
                break
            codes.append(read_barcode(frame.to_ndarray(format="rgb24")))
    return codes


def distinct(steps):
    """Step ids with retries folded (a retried step runs again right after itself)."""
    return [s for i, s in enumerate(steps) if i == 0 or steps[i - 1] != s]


def check_timeline_in_order(events, steps):
    assert verify_chain(events) is None
    ts = [e["t"] for e in events]
    assert ts == sorted(ts), "events are not on one monotonic clock"
    started = [e["data"]["step"] for e in events if e["type"] == "step_started"]
    assert distinct(started) == steps


def run(link, video, audio, **kw):
    return asyncio.run(run_investor(link, video, audio, api_key=API_KEY, timeout=120, **kw))


def test_a_whole_witness_is_recorded_frame_for_frame(kiosk_server, barcode_video, tone_audio):
    created = kiosk_server.create(flow="quick")
    res = run(created["investor_url"], barcode_video, tone_audio, audio_mode="loop")
    assert res.state == "finished", (res.as_dict(), kiosk_server.log())
    assert distinct(res.steps) == QUICK_STEPS
    info = kiosk_server.wait_ended(created["session_id"])
    assert info["state"] == "finished" and info["end_reason"] == "completed"
    report = kiosk_server.verify_sealed(created["session_id"])
    events = timeline(kiosk_server, created["session_id"])
    # One key frame per step run, packaged in the sealed bag.
    bag = kiosk_server.data_dir / "evidence" / created["session_id"] / "data" / "keyframes"
    started = [e for e in events if e["type"] == "step_started"]
    assert len(list(bag.glob("*.jpg"))) == len(started), (list(bag.glob("*")), report.info)
    check_timeline_in_order(events, QUICK_STEPS)
    types = [e["type"] for e in events]
    for t in ("joined", "media_connected", "prompt_sent", "prompt_started", "prompt_ended",
              "window_opened", "window_closed", "step_result", "finished", "recording_finalised"):
        assert t in types, t

    probe = probe_recording(kiosk_server.session_dir(created["session_id"]) / "recording.webm")
    media_span = events[types.index("finished")]["t"] - events[types.index("media_connected")]["t"]
    # The recording holds every frame sent at 15 fps over the media span (a few frames of
    # slack for the first keyframe wait and the last packets in flight).
    assert probe["video_frames"] >= 15 * media_span - 20, (probe, media_span)
    assert (probe["width"], probe["height"]) == (640, 480)
    codes = decoded_barcodes(kiosk_server.session_dir(created["session_id"]) / "recording.webm")
    assert all(0 <= c < 60 for c in codes), codes[:30]  # the source has 60 frames, looped
    steps = [(b - a) % 60 for a, b in zip(codes, codes[1:], strict=False)]
    assert sum(s == 1 for s in steps) >= 0.9 * len(steps), steps  # in order, none repeated
    assert probe["audio_seconds"] >= media_span - 1.0 and probe["audio_rms"] > 0.05, probe
    # Both tracks start promptly on the session clock (content-timed A/V sync within 100 ms is
    # proven in tests/test_recorder.py; here the sender starts its two tracks independently).
    assert abs(probe["first_video_pts"] - probe["first_audio_pts"]) < 0.3, probe


def test_simulate_command_prints_json(kiosk_server, barcode_video, tone_audio):
    out = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "simulate", "--server", kiosk_server.url,
         "--api-key", API_KEY, "--flow", "quick", "--locale", "en", "--video", str(barcode_video),
         "--audio", str(tone_audio), "--prompt-time", "instant", "--json"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["state"] == "finished" and result["recording"].endswith("recording.webm")
    assert distinct(result["steps"]) == QUICK_STEPS


def test_investor_cancel_ends_aborted_with_a_playable_recording(
    kiosk_server, barcode_video, tone_audio
):
    created = kiosk_server.create(flow="quick")
    res = run(created["investor_url"], barcode_video, tone_audio, cancel_at_step=1)
    assert (res.state, res.reason) == ("aborted", "cancelled")
    info = kiosk_server.wait_ended(created["session_id"])
    assert (info["state"], info["end_reason"]) == ("aborted", "cancelled")
    assert info["recording_frames"] and info["recording_frames"] > 0


def test_vanished_browser_is_aborted_within_a_second(kiosk_server, barcode_video, tone_audio):
    created = kiosk_server.create(flow="quick")
    t0 = time.monotonic()
    res = run(created["investor_url"], barcode_video, tone_audio, vanish_at_step=1)
    assert res.state == "vanished"
    info = kiosk_server.wait_ended(created["session_id"], timeout=20)
    # A closed tab drops the socket and the DTLS session together: whichever the server
    # notices first names the end.
    assert info["state"] == "aborted" and info["end_reason"] in ("disconnected", "media_closed")
    assert info["recording_frames"] > 0
    events = timeline(kiosk_server, created["session_id"])
    types = [e["type"] for e in events if not e["type"].startswith("keyframes_")]
    assert types[-1] == "recording_finalised"
    assert time.monotonic() - t0 < 30


def test_silent_network_drop_is_caught_by_the_heartbeat(kiosk_server, barcode_video, tone_audio):
    created = kiosk_server.create(flow="quick")
    res = run(created["investor_url"], barcode_video, tone_audio, mute_at_step=0)
    assert (res.state, res.reason) == ("aborted", "connection_lost"), res.as_dict()
    events = timeline(kiosk_server, created["session_id"])
    lost = next(e for e in events if e["type"] == "aborted")
    connected = next(e for e in events if e["type"] == "media_connected")
    assert lost["t"] - connected["t"] < 12.5  # heartbeat timeout 10 s (+ one beat)


def test_server_shutdown_ends_live_sessions_cleanly(tmp_path, barcode_video, tone_audio):
    server = KioskServer(tmp_path / "data").start()
    created = server.create(flow="quick")

    async def go():
        task = asyncio.ensure_future(run_investor(created["investor_url"], barcode_video,
                                                  tone_audio, timeout=60))
        await asyncio.sleep(6)
        await asyncio.get_running_loop().run_in_executor(None, server.stop)
        return await task

    res = asyncio.run(go())
    assert (res.state, res.reason) == ("aborted", "server_shutdown"), (res.as_dict(), server.log())
    folder = server.session_dir(created["session_id"])
    assert (folder / "recording.webm").exists() and not (folder / "recording.mkv").exists()
    assert probe_recording(folder / "recording.webm")["video_frames"] > 30
    meta = json.loads((folder / "session.json").read_text())
    assert (meta["state"], meta["end_reason"]) == ("aborted", "server_shutdown")


@pytest.mark.slow
def test_kill_9_leaves_a_playable_partial_recording_sealed_on_restart(
    tmp_path, barcode_video, tone_audio
):
    server = KioskServer(tmp_path / "data").start()
    created = server.create(flow="securities_account_opening")

    async def go():
        # A timeout far beyond the witness: the simulator must end when the socket drops.
        task = asyncio.ensure_future(run_investor(created["investor_url"], barcode_video,
                                                  tone_audio, timeout=300))
        await asyncio.sleep(9)
        server.kill9()
        killed_at.append(time.time())
        return await task

    killed_at = []
    res = asyncio.run(go())
    # #17: it noticed the closed connection instead of waiting for its timeout.
    assert (res.state, res.reason) == ("error", "connection_lost"), res.as_dict()
    assert [e["code"] for e in res.errors] == ["connection_lost"], res.errors
    folder = server.session_dir(created["session_id"])
    before = read_timeline(folder / "timeline.jsonl")
    connected_wall = next(e["wall"] for e in before if e["type"] == "media_connected")
    connected_epoch = datetime.datetime.fromisoformat(
        connected_wall.replace("Z", "+00:00")).timestamp()
    media_seconds = killed_at[0] - connected_epoch
    assert (folder / "recording.mkv").exists()

    server.start()  # the same data folder: recovery runs at start-up
    info = server.wait_ended(created["session_id"])
    assert (info["state"], info["end_reason"], info["recovered"]) == (
        "aborted", "server_restart", True)
    report = server.verify_sealed(created["session_id"])
    assert str(report.info.get("Witness-Recovered")).lower() == "true", report.info
    probe = probe_recording(folder / "recording.webm")
    events = read_timeline(folder / "timeline.jsonl")
    assert verify_chain(events) is None
    tail = [e["type"] for e in events if not e["type"].startswith("keyframes_")][-2:]
    assert tail == ["aborted", "recording_finalised"]
    # Everything up to about 2 s before the kill is kept.
    assert media_seconds > 4
    assert probe["duration"] >= media_seconds - 2.5, (probe, media_seconds)
    assert probe["video_frames"] >= 15 * (media_seconds - 2.5) - 5, (probe, media_seconds)
    server.stop()
