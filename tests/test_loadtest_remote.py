"""``kiosk loadtest --server URL`` (issue #17): synthetic investors against a server that is
already running (here one started by the test), measured through its API: end states,
offer->answer, answer->verdict, joins told to wait, each witness's media figures (the
``media`` block of ``GET /api/sessions/<id>``), the node's CPU and RSS (``/api/health``'s
``process``), sealed packages, verified offline from the server's evidence folder with the
keys its API publishes. The figures are checked for presence and sanity, never against a
speed."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
import requests
from click.testing import CliRunner

from kiosk.evaluation.corpus import id_number_for
from kiosk.evaluation.run import CaseResult
from kiosk.loadtest import (
    find_nodes,
    format_remote,
    loadtest,
    public_keyring,
    remote_figures,
)
from kiosk.testing.procs import free_port
from kiosk.testing.server import API_KEY
from kiosk.witness.media_figures import media_figures
from tests.kiosk_server import KioskServer, make_flows_dir

# One spoken answer (the investor says "yes"), with face analysis on.
FLOW = """\
id: remote_load
version: 1
title: {zh-CN: 远程压测, en: Remote load}
locales: [zh-CN, en]
broker: {zh-CN: 示例证券, en: Example Securities}
steps:
  - id: hello
    kind: say
    text: {zh-CN: "您好。", en: "Hello."}
  - id: ready
    kind: question
    text: {zh-CN: "可以开始吗？", en: "Are you ready to begin?"}
    expect: affirm
    answer: {zh-CN: 是的, en: "yes"}
    answer_seconds: 5
  - id: bye
    kind: say
    text: {zh-CN: "再见。", en: "Goodbye."}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One server and one ``kiosk loadtest --server URL --n 1`` run against it: (server,
    printed output, the run's JSON figures)."""
    tmp = tmp_path_factory.mktemp("remote")
    flows = make_flows_dir(tmp / "flows")
    (flows / "remote_load.yaml").write_text(FLOW, encoding="utf-8")
    with KioskServer(tmp / "data", flows) as server:
        out = CliRunner().invoke(
            loadtest, ["--server", server.url + "/", "--api-key", API_KEY, "--n", "1",
                       "--flow", "remote_load", "--evidence", str(server.data_dir / "evidence"),
                       "--json", str(tmp / "run.json")],
            env={"KIOSK_FLOWS_DIR": str(flows)}, catch_exceptions=False)
        assert out.exit_code == 0, out.output
        yield server, out.output, json.loads((tmp / "run.json").read_text())["runs"][0]


def test_loadtest_against_a_running_server_prints_every_figure_of_the_issue(run):
    server, text, r = run
    assert r["server"] == server.url
    assert r["finished"] == 1, r["per_witness"]
    assert r["ends"] == {"finished": 1}
    assert r["packages_sealed"] == 1
    assert r["packages_verified"] == 1 and r["packages_failed"] == 0
    oa = r["offer_answer_ms"]
    assert 0 < oa["p50"] <= oa["p95"]
    # The one question's answer got its verdict; on a loaded machine its first window can
    # be judged unclear and asked once more (the flow's retry), so one or two verdicts.
    assert r["answer_verdict_s"]["n"] in (1, 2), r["per_witness"]
    assert 0 <= r["answer_verdict_s"]["p50"] <= r["answer_verdict_s"]["p95"]
    # The media figures came through the API from the node's session folder.
    (w,) = r["per_witness"]
    node_id = requests.get(server.url + "/api/health", timeout=10).json()["node_id"]
    assert w["node"] == node_id
    assert w["frames_received"] > 0 and 0 < w["frames_analysed"] <= w["frames_received"]
    assert w["frame_latency_p95_ms"] > 0
    assert r["frame_latency_p95_ms_worst"] == w["frame_latency_p95_ms"]
    assert w["recording"] == "finalised" and w["packets_missing"] is not None
    assert r["packets_missing"] == {"witnesses": int(w["packets_missing"] > 0),
                                    "packets": w["packets_missing"]}
    assert r["busy_refusals"] == w["busy_refusals"] == 0  # the node had a place for it
    # The node's CPU and RSS, sampled before and after through /api/health.
    (node,) = r["nodes"]
    assert node["node_id"] == node_id and node["witnesses"] == 1
    assert 0 < node["cpu_pct"] <= 100 * node["cores"] * 4  # the node and its workers
    assert 0 < node["rss_mb_before"] <= node["rss_mb_peak"]
    assert node["media_loop_lag_ms"]["samples"] > 0
    assert r["cpu_pct_per_witness"] == node["cpu_pct"]
    assert r["omitted"] == {}
    assert text == format_remote(1, r) + "\n"
    lines = text.splitlines()
    assert "1/1 finished" in lines[0] and "verified offline: 1/1" in text
    assert f"frame->analysis p95 (worst witness) {w['frame_latency_p95_ms']} ms" in lines[1]
    assert f"packets missing: {w['packets_missing']} in" in lines[2]
    assert "joins told to wait: 0" in lines[2]
    assert any(line.startswith(f"  witness-0 on {node_id}: finished")
               and f"frames received {w['frames_received']}" in line for line in lines)
    assert any(line.startswith(f"  node {node_id}: 1 witness(es); CPU {node['cpu_pct']}% ")
               and f"peak {node['rss_mb_peak']} MB" in line for line in lines)
    assert "server CPU per witness" in text and "omitted" not in text
    # No ID number and no investor link (its token) in what the operator reads.
    assert id_number_for(0) not in text and id_number_for(0) not in json.dumps(r)
    assert "/w/" not in text and not re.search(r"token", text, re.I)


def test_the_session_api_gives_an_ended_witness_media_block_from_its_folder(run, tmp_path):
    server, _text, r = run
    (w,) = r["per_witness"]
    sid = w["session_id"]
    body = server.session(sid)
    media = body["media"]
    node_id = requests.get(server.url + "/api/health", timeout=10).json()["node_id"]
    assert media["node_id"] == media["this_node"] == node_id
    figures = media["figures"]
    assert figures == media_figures(server.session_dir(sid))
    assert set(figures) == {"frames_received", "frames_analysed", "analysed_fps",
                            "frame_analysis_ms", "recording", "video_frames",
                            "video_undecodable", "packets_missing", "gaps", "frames_skipped"}
    assert 0 < figures["frames_analysed"] <= figures["frames_received"]
    assert 0 < figures["frame_analysis_ms"]["p50"] <= figures["frame_analysis_ms"]["p95"]
    assert figures["recording"] == "finalised" and figures["video_frames"] > 0
    assert figures["packets_missing"] >= 0 and figures["frames_skipped"] >= 0
    # Nothing of the applicant in it (the row's public view already leaves them out).
    assert id_number_for(0) not in json.dumps(body)

    # A node without the session's folder (another node of a cluster) names the node it ran
    # on and no figures; the loadtest then asks that node.
    folder = server.session_dir(sid)
    away = tmp_path / "away"
    shutil.move(folder, away)
    try:
        media = server.session(sid)["media"]
        assert media == {"node_id": node_id, "this_node": node_id, "figures": None}
        result = CaseResult(w["case"], "en", "genuine", "load", "astronaut", "finished", None,
                            session_id=sid)
        fig = remote_figures(server.url, API_KEY, result)
        assert fig.node == node_id and fig.frames_received is None
    finally:
        shutil.move(away, folder)
    fig = remote_figures(server.url, API_KEY, result, nodes=find_nodes(server.url, API_KEY))
    assert fig.frames_received == w["frames_received"]

    # A witness not joined yet: no media block.
    live = server.create(flow="remote_load", locale="en", name="Alex Morgan",
                         id_number=id_number_for(7))
    body = server.session(live["session_id"])
    assert body["state"] == "created" and body["media"] is None


def test_health_reports_the_node_process_cpu_and_memory(run):
    server, _text, _r = run
    key = {"X-API-Key": API_KEY}  # the figures are shown only to a back-office key
    assert "process" not in requests.get(server.url + "/api/health", timeout=10).json()
    first = requests.get(server.url + "/api/health", headers=key, timeout=10).json()
    time.sleep(0.05)
    second = requests.get(server.url + "/api/health", headers=key, timeout=10).json()
    a, b = first["process"], second["process"]
    assert set(a) == {"cpu_s", "rss_mb", "processes", "cores", "monotonic_s"}
    assert 0 < a["cpu_s"] <= b["cpu_s"] and a["monotonic_s"] < b["monotonic_s"]
    assert a["rss_mb"] > 50 and a["processes"] >= 1 and a["cores"] >= 1
    assert find_nodes(server.url, API_KEY) == {first["node_id"]: server.url}
    assert find_nodes(server.url, API_KEY, (server.url + "/",)) == {first["node_id"]: server.url}


def test_an_altered_or_absent_archive_is_never_counted_as_verified(run, tmp_path):
    server, _text, r = run
    (witness,) = r["per_witness"]
    evidence = server.data_dir / "evidence"
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    archive = tampered / f"{witness['session_id']}.tar"
    shutil.copy(evidence / archive.name, archive)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(data)
    result = CaseResult(witness["case"], "en", "genuine", "load", "astronaut", "finished",
                        None, session_id=witness["session_id"])
    fig = remote_figures(server.url, API_KEY, result, evidence_dirs=(tampered,),
                         keyring=public_keyring(server.url))
    assert fig.sealed is True and fig.package_verified is False
    # Sealed, but the archive is in none of the folders: not verified, not failed.
    fig = remote_figures(server.url, API_KEY, result, evidence_dirs=(tmp_path / "empty",),
                         keyring=public_keyring(server.url))
    assert fig.state == "finished" and fig.sealed is True and fig.package_verified is None


def test_the_command_refuses_what_does_not_go_together_and_a_server_that_is_not_there():
    runner = CliRunner()
    out = runner.invoke(loadtest, ["--server", "http://127.0.0.1:9"])
    assert out.exit_code == 2 and "--server needs --api-key" in out.output
    out = runner.invoke(loadtest, ["--api-key", "k"])
    assert out.exit_code == 2 and "--api-key, --evidence and --node go with --server" in out.output
    out = runner.invoke(loadtest, ["--node", "http://127.0.0.1:9"])
    assert out.exit_code == 2 and "go with --server" in out.output
    out = runner.invoke(loadtest, ["--server", "http://127.0.0.1:9", "--api-key", "k",
                                   "--capacity", "2"])
    assert out.exit_code == 2 and "--stall and --capacity need a server started here" in out.output
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    out = runner.invoke(loadtest, ["--server", url, "--api-key", "k", "--n", "1"])
    assert out.exit_code == 1 and f"{url} does not answer" in out.output


def test_through_a_balancer_the_figures_come_from_the_node_that_ran_the_witness(
        run, tmp_path, redis_server):
    """Two path-routed nodes behind a front that does what the cluster's nginx does
    (``/n/<slug>/`` to that node, the path unchanged; the rest to one node): the nodes are
    found through ``/api/nodes``, each read at ``/n/<slug>``, and a witness that ran on
    node-a gets its figures from node-a even when the front sends the API call to node-b."""
    from kiosk.config import load_settings
    from kiosk.testing.server import serve_in_thread
    from kiosk.web.app import create_app

    server, _text, r = run
    flows = make_flows_dir(tmp_path / "flows")
    prefix = f"lt{time.monotonic_ns()}:"
    apps = {name: create_app(load_settings(
        data_dir=tmp_path / name, flows_dir=flows, api_keys=[API_KEY], liveness=False,
        speech=False, redis_url=redis_server.url(), redis_prefix=prefix, node_id=name,
        node_routing="path", database_url=f"sqlite:///{tmp_path / 'kiosk.sqlite3'}"))
        for name in ("node-a", "node-b")}

    def front(environ, start_response):
        path = environ.get("PATH_INFO", "")
        name = next((n for n in apps if path.startswith(f"/n/{n}/")), "node-b")
        return apps[name].wsgi_app(environ, start_response)

    try:
        with serve_in_thread(front) as url:
            nodes = find_nodes(url, API_KEY)
            assert nodes == {"node-a": url + "/n/node-a", "node-b": url + "/n/node-b"}
            # A witness that ended on node-a: the real figures of the run's witness, in
            # node-a's folder.
            made = requests.post(url + "/api/sessions", headers={"X-API-Key": API_KEY},
                                 timeout=30, json={"applicant": {"name": "Alex Morgan",
                                                                 "id_number": id_number_for(3)},
                                                   "flow_id": "quick"}).json()
            sid = made["session_id"]
            store = apps["node-a"].extensions["kiosk"].store
            shutil.copytree(server.session_dir(r["per_witness"][0]["session_id"]),
                            store.session_dir(sid), dirs_exist_ok=True)
            store.end(sid, "finished", "completed", node_id="node-a")
            media = requests.get(f"{url}/api/sessions/{sid}", headers={"X-API-Key": API_KEY},
                                 timeout=30).json()["media"]
            assert media == {"node_id": "node-a", "this_node": "node-b", "figures": None}
            result = CaseResult("witness-0", "en", "genuine", "load", "astronaut",
                                "finished", None, session_id=sid)
            fig = remote_figures(url, API_KEY, result, nodes=nodes, wait_s=0)
            assert fig.node == "node-a"
            assert fig.frames_received == r["per_witness"][0]["frames_received"] > 0
            assert fig.packets_missing == r["per_witness"][0]["packets_missing"]
    finally:
        for app in apps.values():
            app.extensions["kiosk"].shutdown()
