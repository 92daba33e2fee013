"""The local cluster's bookkeeping (kiosk.testing.cluster), without starting it: the cores
each node is pinned to, and a later command's view of a running cluster (its port, nodes and
node settings come from ``cluster.json``). The running cluster is tests/test_cluster_local.py."""

from __future__ import annotations

import json

from kiosk.testing.cluster import DRAIN_GRACE, STATE, LocalCluster, cores_for


def test_each_node_gets_its_own_cores_round_robin_and_none_when_cores_are_short():
    assert cores_for(2, [0, 1]) == [[0], [1]]
    assert cores_for(2, [3, 0, 2, 1]) == [[0, 2], [1, 3]]
    assert cores_for(3, [0, 1, 2, 3]) == [[0, 3], [1], [2]]
    assert cores_for(1, [5]) == [[5]]
    assert cores_for(3, [0, 1]) == [None, None, None]  # shared cores would each count


def _saved(run, **extra) -> dict:
    state = {
        "own_session": False, "port": 8933, "balancer": "http://127.0.0.1:8933",
        "env": {DRAIN_GRACE: "120", "KIOSK_NODE_CAPACITY": "2"},
        "redis": {"url": "redis://127.0.0.1:7000/0"},
        "postgres": {"url": "postgresql+psycopg://postgres@127.0.0.1:7001/t"},
        "moto": {"url": "http://127.0.0.1:7002"}, "api_key": "k",
        "nodes": {"node-a": {"port": 7003, "data_dir": str(run / "node-a"), "cores": [0]},
                  "node-b": {"port": 7004, "data_dir": str(run / "node-b"), "cores": None}},
        **extra,
    }
    run.mkdir(parents=True, exist_ok=True)
    (run / STATE).write_text(json.dumps(state))
    return state


def test_a_later_command_sees_the_running_clusters_port_nodes_and_settings(tmp_path):
    run = tmp_path / "run"
    _saved(run)
    cluster = LocalCluster(run)  # as start-node / stop-node / env build it: no port given
    env = cluster._node_env("node-a")
    assert env["KIOSK_PUBLIC_URL"] == "http://127.0.0.1:8933"  # not the default 8080
    assert env["KIOSK_PORT"] == "7003" and env[DRAIN_GRACE] == "120"
    assert env["KIOSK_NODE_CAPACITY"] == "2"
    assert cluster.port == 8933 and cluster.names == ["node-a", "node-b"]
    assert cluster.drain_grace() == 120.0
    assert (cluster.cores("node-a"), cluster.cores("node-b")) == ([0], None)
    cli = cluster.cli_env()
    assert cli["KIOSK_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert cli["KIOSK_REDIS_URL"] == "redis://127.0.0.1:7000/0"
    assert cli["KIOSK_EVIDENCE_S3_ENDPOINT_URL"] == "http://127.0.0.1:7002"
    assert "KIOSK_API_KEYS" not in cli


def test_the_drain_grace_is_five_seconds_unless_the_settings_say_otherwise(tmp_path):
    run = tmp_path / "run"
    state = _saved(run)
    del state["env"][DRAIN_GRACE]
    (run / STATE).write_text(json.dumps(state))
    assert LocalCluster(run).drain_grace() == 5.0
    assert LocalCluster(run)._node_env("node-b")[DRAIN_GRACE] == "5"
