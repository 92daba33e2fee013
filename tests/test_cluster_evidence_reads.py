"""Any node serves any sealed case (issue #17, bug A of the operator's run), and `kiosk evidence
pubkey` prints the cluster's shared keyring (bug H).

Two node apps on the real shared pieces: one PostgreSQL database, one Redis, one moto bucket
with Object Lock, and a data_dir each, as ``./dev.sh cluster`` runs them. A case is sealed on
node A (its bag and archive on A's disk only) and uploaded to the bucket. Node B then answers
the back office's pre-review, the console's report and the package download exactly as A
does, from the archive it fetches from the bucket and verifies; its poller leaves A's case to A
and logs no ERROR. Without an object store B answers a 503 naming node A, never a verdict.
"""

from __future__ import annotations

import hashlib
import logging
import time

import pytest

from kiosk.config import load_settings
from kiosk.review.accounts import add_user
from kiosk.review.console import register
from kiosk.review.sample import make_sealed_case
from kiosk.testing import moto as moto_testing
from kiosk.web.app import create_app
from tests.databases import migrated_database
from tests.kiosk_server import API_KEY, make_flows_dir
from tests.test_evidence_s3 import BUCKET, make_bucket, s3

ok, why = moto_testing.available()
pytestmark = pytest.mark.skipif(not ok, reason=why)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def moto():
    server = moto_testing.TempMoto().start()
    yield server
    server.stop()


@pytest.fixture()
def pg_url(postgres_server):
    with migrated_database(postgres_server) as url:
        yield url


@pytest.fixture()
def make_node(tmp_path, redis_server, pg_url):
    """make_node(name, s3=...): a node app on the shared database and Redis, with its own
    data_dir; the console's poller off (the test polls). Shut down at the end."""
    apps = []
    prefix = f"e{time.monotonic_ns()}:"

    def make(name: str, s3_server=None, **extra):
        values = dict(data_dir=tmp_path / name, flows_dir=make_flows_dir(tmp_path / "flows"),
                      api_keys=[API_KEY], liveness=False, speech=False, database_url=pg_url,
                      redis_url=redis_server.url(), redis_prefix=prefix, node_id=name,
                      secret_key="s" * 64, node_heartbeat_seconds=0.5, node_ttl_seconds=30)
        if s3_server is not None:
            values.update(evidence_s3_bucket=BUCKET, evidence_s3_prefix=f"{prefix[:-1]}/",
                          evidence_s3_endpoint_url=s3_server.url(),
                          evidence_s3_region=moto_testing.REGION,
                          evidence_s3_access_key_id=moto_testing.ACCESS_KEY,
                          evidence_s3_secret_access_key=moto_testing.SECRET_KEY,
                          evidence_s3_lock_mode="GOVERNANCE",
                          evidence_s3_retry_seconds=0.2, evidence_s3_retry_max_seconds=1.0)
        values.update(extra)
        app = create_app(load_settings(**values))
        register(app, app.extensions["kiosk"], config={"poll_seconds": 0})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["kiosk"].shutdown()


def seal_on(app, node: str) -> str:
    """A sample case sealed by ``app`` onto its own disk, its row run by ``node``."""
    k = app.extensions["kiosk"]
    pid = make_sealed_case(k.settings.data_dir, k.store, keys=k.evidence_keys, ledger=k.ledger,
                           seconds=2.0)
    k.store.set(pid, node_id=node)
    return pid


def console(app):
    c = app.test_client()
    tok = c.get("/review/api/csrf").get_json()["csrf_token"]
    r = c.post("/review/api/login", json={"username": "alice", "password": PASSWORD},
               headers={"X-CSRF-Token": tok})
    assert r.status_code == 200, r.get_data(as_text=True)
    return c, r.get_json()["csrf_token"]


def errors_logged(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_case_sealed_on_node_a_reads_the_same_through_node_b(make_node, moto, caplog):
    caplog.set_level(logging.INFO)
    make_bucket(moto)
    a, b = make_node("node-a", moto), make_node("node-b", moto)
    ka, kb = a.extensions["kiosk"], b.extensions["kiosk"]
    add_user(ka.store, "alice", PASSWORD, "auditor", languages="en,zh-CN")
    pid = seal_on(a, "node-a")
    assert not (kb.settings.data_dir / "evidence" / pid).exists()

    # B's poller leaves a live node's case to that node, and says nothing at ERROR.
    assert pid not in b.extensions["review"].poll()["enqueued"]
    assert pid in a.extensions["review"].poll()["enqueued"]

    # Not in the bucket yet: B answers 503 naming what is missing, never a verdict.
    early = b.test_client().get(f"/api/sessions/{pid}/review", headers={"X-API-Key": API_KEY})
    assert early.status_code == 503, early.get_data(as_text=True)
    assert early.get_json()["error"] == "evidence_unavailable"
    assert "not yet in the object store" in early.get_json()["message"]
    assert "node-a" in early.get_json()["message"]
    assert early.headers["Retry-After"]

    ka.sealer.uploader.enqueue(pid)
    assert ka.sealer.uploader.wait_idle(60)

    reviews = [n.test_client().get(f"/api/sessions/{pid}/review",
                                   headers={"X-API-Key": API_KEY}) for n in (a, b, b)]
    for r in reviews:
        assert r.status_code == 200, r.get_data(as_text=True)
    assert reviews[0].get_json() == reviews[1].get_json() == reviews[2].get_json()
    assert reviews[1].get_json()["reasons"] != ["evidence unreadable by the pre-review: "
                                                "human review"]
    assert reviews[1].get_json()["steps"]  # a real pre-review, step by step
    # B fetched and verified the archive once, into its cache (not its own evidence folder).
    assert (kb.settings.evidence_cache_dir / pid / "data" / "report.json").is_file()
    assert not (kb.settings.data_dir / "evidence" / pid).exists()

    (ca, csrf_a), (cb, _csrf_b) = console(a), console(b)
    taken = ca.post("/review/api/next", json={}, headers={"X-CSRF-Token": csrf_a})
    assert taken.get_json()["case"]["case_id"] == pid
    ra, rb = (c.get(f"/review/api/cases/{pid}/report") for c in (ca, cb))
    assert ra.status_code == rb.status_code == 200, rb.get_data(as_text=True)
    assert ra.get_json() == rb.get_json()
    assert rb.get_json()["sealed_report"] is not None
    assert rb.get_json()["sealed_report_unreadable"] is None
    pa, pb = (c.get(f"/review/api/cases/{pid}/package") for c in (ca, cb))
    assert pa.status_code == pb.status_code == 200, pb.get_data(as_text=True)
    stored = s3(moto).get_object(Bucket=BUCKET, Key=ka.sealer.objects.location(pid).key)
    assert hashlib.sha256(pb.data).hexdigest() == hashlib.sha256(pa.data).hexdigest() == \
        hashlib.sha256(stored["Body"].read()).hexdigest()
    # The small files of the case page come from B's verified copy too.
    frame = cb.get(f"/review/cases/{pid}/frames/id_photo.jpg")
    assert frame.status_code in (200, 404)  # a sample without an ID photo has none: no 5xx

    # Auditor access stays logged, whichever node served it.
    actions = [e["action"] for e in b.extensions["review"].audit_log(pid)]
    assert actions.count("view_report") == 2 and actions.count("download_package") == 2

    assert pid not in b.extensions["review"].poll()["enqueued"]  # already in the queue
    assert errors_logged(caplog) == []


def test_a_lost_nodes_case_is_enqueued_from_the_bucket_and_the_cache_keeps_to_its_cap(
        make_node, moto, caplog):
    caplog.set_level(logging.INFO)
    make_bucket(moto)
    a = make_node("node-a", moto)
    ka = a.extensions["kiosk"]
    first, second = seal_on(a, "node-a"), seal_on(a, "node-a")
    for pid in (first, second):
        ka.sealer.uploader.enqueue(pid)
    assert ka.sealer.uploader.wait_idle(60)
    one = (ka.sealer.out_dir / f"{first}.tar").stat().st_size
    ka.shutdown()  # node A is gone (its lease with it) before it enqueued its cases
    # Room in B's cache for about one package (its archive plus the unpacked bag).
    b = make_node("node-b", moto, evidence_cache_max_bytes=3 * one)
    kb = b.extensions["kiosk"]
    assert sorted(b.extensions["review"].poll()["enqueued"]) == sorted([first, second])
    cache = kb.settings.evidence_cache_dir
    kept = {p.name for p in cache.iterdir()}
    assert len([n for n in kept if n.endswith(".tar")]) == 1, kept  # one evicted
    assert not [n for n in kept if n.startswith(".fetch-")]
    bags = kb.sealer.bags
    for pid in (first, second):  # either is fetched again on demand
        assert (bags.bag(pid) / "data" / "report.json").is_file()
    assert errors_logged(caplog) == []


def test_a_damaged_archive_in_the_bucket_is_refused_not_judged(make_node, moto, caplog):
    make_bucket(moto)
    a, b = make_node("node-a", moto), make_node("node-b", moto)
    ka, kb = a.extensions["kiosk"], b.extensions["kiosk"]
    pid = seal_on(a, "node-a")
    # The bucket holds bytes that are not what node A sealed (the recorded checksum differs).
    loc = ka.sealer.objects.location(pid)
    s3(moto).put_object(Bucket=BUCKET, Key=loc.key, Body=b"not the sealed archive",
                        Metadata={"kiosk-sha256": "0" * 64})
    r = b.test_client().get(f"/api/sessions/{pid}/review", headers={"X-API-Key": API_KEY})
    assert r.status_code == 503, r.get_data(as_text=True)
    assert "sha256" in r.get_json()["message"]
    assert not (kb.settings.evidence_cache_dir / pid).exists()
    assert list(kb.settings.evidence_cache_dir.iterdir()) == []  # no half-fetched leftovers


def test_without_an_object_store_the_other_node_answers_503_naming_the_node(make_node,
                                                                            caplog):
    caplog.set_level(logging.INFO)
    a, b = make_node("node-a"), make_node("node-b")
    ka = a.extensions["kiosk"]
    add_user(ka.store, "alice", PASSWORD, "auditor", languages="en,zh-CN")
    pid = seal_on(a, "node-a")
    assert pid not in b.extensions["review"].poll()["enqueued"]
    assert pid in a.extensions["review"].poll()["enqueued"]

    r = b.test_client().get(f"/api/sessions/{pid}/review", headers={"X-API-Key": API_KEY})
    assert r.status_code == 503, r.get_data(as_text=True)
    body = r.get_json()
    assert body["error"] == "evidence_unavailable"
    assert "no object store" in body["message"] and "node-a" in body["message"]
    ok_a = a.test_client().get(f"/api/sessions/{pid}/review", headers={"X-API-Key": API_KEY})
    assert ok_a.status_code == 200

    (ca, csrf_a), (cb, _) = console(a), console(b)
    assert ca.post("/review/api/next", json={},
                   headers={"X-CSRF-Token": csrf_a}).get_json()["case"]["case_id"] == pid
    for what in ("report", "package"):
        got = cb.get(f"/review/api/cases/{pid}/{what}")
        assert got.status_code == 503, (what, got.status_code, got.get_data(as_text=True))
        assert got.get_json()["error"] == "unavailable"
        assert "node-a" in got.get_json()["message"]
        assert ca.get(f"/review/api/cases/{pid}/{what}").status_code == 200
    assert errors_logged(caplog) == []


def test_without_an_object_store_a_path_routed_node_sends_the_caller_to_the_sealing_node(
        make_node, caplog):
    """Nodes behind the balancer (node_routing "path"): B redirects to A's /n/node-a/ prefix
    while A's lease is live, and A answers there; with A gone, B answers 503."""
    a, b = make_node("node-a", node_routing="path"), make_node("node-b", node_routing="path")
    ka = a.extensions["kiosk"]
    add_user(ka.store, "alice", PASSWORD, "auditor", languages="en,zh-CN")
    pid = seal_on(a, "node-a")
    assert pid in a.extensions["review"].poll()["enqueued"]
    path = f"/api/sessions/{pid}/review"
    r = b.test_client().get(path, headers={"X-API-Key": API_KEY})
    assert r.status_code == 307, r.get_data(as_text=True)
    assert r.headers["Location"] == f"/n/node-a{path}"
    there = a.test_client().get(r.headers["Location"], headers={"X-API-Key": API_KEY})
    direct = a.test_client().get(path, headers={"X-API-Key": API_KEY})
    assert there.status_code == direct.status_code == 200
    assert there.get_json() == direct.get_json()

    (ca, csrf_a), (cb, _) = console(a), console(b)
    assert ca.post("/review/api/next", json={},
                   headers={"X-CSRF-Token": csrf_a}).get_json()["case"]["case_id"] == pid
    for what in ("report", "package"):
        got = cb.get(f"/review/api/cases/{pid}/{what}")
        assert got.status_code == 307, (what, got.get_data(as_text=True))
        assert got.headers["Location"] == f"/n/node-a/review/api/cases/{pid}/{what}"
        # Behind the balancer the same login cookie reaches node A under its prefix.
        assert ca.get(got.headers["Location"]).status_code == 200

    ka.shutdown()  # A leaves the registry: nobody to send the caller to
    gone = b.test_client().get(path, headers={"X-API-Key": API_KEY})
    assert gone.status_code == 503 and "node-a" in gone.get_json()["message"]
    assert errors_logged(caplog) == []


def test_pubkey_prints_the_shared_keyring_of_a_cluster(pg_url, tmp_path, monkeypatch):
    """Bug H: with several nodes the keys are in the database, not in data_dir/keys: the
    command lists them there (current and retired), and the bundle verifies a package signed
    before a rotation."""
    from click.testing import CliRunner
    from sqlalchemy import create_engine

    from kiosk.evidence.cli import evidence
    from kiosk.evidence.keys_db import DbEvidenceKeys

    engine = create_engine(pg_url)
    try:
        keys = DbEvidenceKeys(engine)
        keys.ensure()
        old_id = keys.key_id
        pid = make_sealed_case(tmp_path / "node-a", keys=keys, seconds=1.0)
        new_id = keys.rotate()
    finally:
        engine.dispose()
    monkeypatch.setenv("KIOSK_DATABASE_URL", pg_url)
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "node-b"))  # no keys folder at all
    runner = CliRunner()
    out = runner.invoke(evidence, ["pubkey"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith(f"# kiosk evidence key {new_id} current (since ")
    assert f"# kiosk evidence key {old_id} retired (retired 20" in out.stdout
    assert "2 key(s) from the shared keyring" in out.stderr
    assert not (tmp_path / "node-b" / "keys").exists()  # nothing created
    bundle = tmp_path / "keys.pem"
    bundle.write_text(out.stdout, encoding="ascii")
    archive = tmp_path / "node-a" / "evidence" / f"{pid}.tar"
    ok = runner.invoke(evidence, ["verify", str(archive), "--pubkey", str(bundle)])
    assert ok.exit_code == 0, ok.output
    current = runner.invoke(evidence, ["pubkey", "--current"])
    assert current.exit_code == 0 and current.stdout.count("BEGIN PUBLIC KEY") == 1
