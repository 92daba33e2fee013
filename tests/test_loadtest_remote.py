"""``kiosk loadtest --server URL`` (issue #17): synthetic investors against a server that is
already running (here one started by the test), measured from outside: end states, offer->
answer, answer->verdict, sealed packages, verified offline from the server's evidence folder
with the keys its API publishes. The figures are never asserted against a speed."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from kiosk.evaluation.run import CaseResult
from kiosk.flows import FlowLibrary
from kiosk.loadtest import (
    OMITTED_REMOTE,
    format_remote,
    loadtest,
    public_keyring,
    remote_figures,
    run_remote,
)
from kiosk.testing.procs import free_port
from kiosk.testing.server import API_KEY
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


def test_loadtest_against_a_running_server_reports_what_is_measurable_from_outside(tmp_path):
    flows = make_flows_dir(tmp_path / "flows")
    (flows / "remote_load.yaml").write_text(FLOW, encoding="utf-8")
    flow = FlowLibrary(flows).get("remote_load")
    (tmp_path / "work" / "media").mkdir(parents=True)
    with KioskServer(tmp_path / "data", flows) as server:
        evidence = server.data_dir / "evidence"
        r = run_remote(1, flow, "en", tmp_path / "work", server.url + "/", API_KEY,
                       evidence_dirs=(evidence,))
        assert r["server"] == server.url
        assert r["finished"] == 1, r["per_witness"]
        assert r["ends"] == {"finished": 1}
        assert r["packages_sealed"] == 1
        assert r["packages_verified"] == 1 and r["packages_failed"] == 0
        assert r["offer_answer_ms"]["p50"] is not None
        # The one question's answer got its verdict; on a loaded machine its first window can
        # be judged unclear and asked once more (the flow's retry), so one or two verdicts.
        assert r["answer_verdict_s"]["n"] in (1, 2), r["per_witness"]
        assert r["omitted"] == OMITTED_REMOTE
        text = format_remote(1, r)
        assert "1/1 finished" in text and "verified offline: 1/1" in text
        assert "server CPU and RSS" in text  # named as omitted

        # An archive altered after sealing is counted as failed, not as verified.
        (witness,) = r["per_witness"]
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
        fig = remote_figures(server.url, API_KEY, result, evidence_dirs=(tmp_path / "work",),
                             keyring=public_keyring(server.url))
        assert fig.state == "finished" and fig.sealed is True and fig.package_verified is None


def test_the_command_refuses_what_does_not_go_together_and_a_server_that_is_not_there():
    runner = CliRunner()
    out = runner.invoke(loadtest, ["--server", "http://127.0.0.1:9"])
    assert out.exit_code == 2 and "--server needs --api-key" in out.output
    out = runner.invoke(loadtest, ["--api-key", "k"])
    assert out.exit_code == 2 and "--api-key and --evidence go with --server" in out.output
    out = runner.invoke(loadtest, ["--server", "http://127.0.0.1:9", "--api-key", "k",
                                   "--capacity", "2"])
    assert out.exit_code == 2 and "--stall and --capacity need a server started here" in out.output
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    out = runner.invoke(loadtest, ["--server", url, "--api-key", "k", "--n", "1"])
    assert out.exit_code == 1 and f"{url} does not answer" in out.output
