"""One installation's secrets across nodes (issue #17, item 6): with several nodes the Flask
secret and the evidence signing keys come from the shared database, not per-node files;
rotation makes a new key sign on every node while old packages still verify.

Two apps with their own data folders share one database (SQLite file or PostgreSQL) and one
Redis; a package is sealed by start-up recovery of a session the node had joined."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine

from kiosk.cli import main as kiosk_cli
from kiosk.config import load_settings
from kiosk.errors import EvidenceError
from kiosk.evidence import verify_package
from kiosk.evidence.keys import EvidenceKeys
from kiosk.evidence.keys_db import DbEvidenceKeys
from kiosk.recovery import recover_interrupted
from kiosk.web.app import create_app
from tests.databases import both_databases
from tests.kiosk_server import API_KEY, make_flows_dir


@pytest.fixture()
def make_node(tmp_path, redis_server, db_url):
    apps = []
    prefix = f"k{time.monotonic_ns()}:"

    def make(name: str, **settings):
        values = dict(data_dir=tmp_path / name, flows_dir=make_flows_dir(tmp_path / "flows"),
                      api_keys=[API_KEY], liveness=False, speech=False, node_id=name,
                      redis_url=redis_server.url(), redis_prefix=prefix, database_url=db_url)
        values.update(settings)
        app = create_app(load_settings(**values))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["kiosk"].shutdown()


def _seal_one(app) -> str:
    """A session joined on ``app``'s node, ended and sealed by its recovery: its archive."""
    svc = app.extensions["kiosk"]
    r = app.test_client().post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "flow_id": "quick", "locale": "en",
        "applicant": {"name": "Ann Lee", "id_number": "110102199003078888"}})
    assert r.status_code == 201, r.get_data(as_text=True)
    row = svc.store.consume(r.get_json()["investor_url"].rsplit("/", 1)[1],
                            node_id=svc.node_id)
    assert recover_interrupted(svc) == [row.id]
    archive = svc.settings.data_dir / "evidence" / f"{row.id}.tar"
    assert archive.exists()
    return str(archive)


@both_databases
def test_two_nodes_share_the_secret_and_the_signing_key_and_rotation_keeps_old_packages(
        make_node, monkeypatch):
    a, b = make_node("node-a"), make_node("node-b")
    ka, kb = a.extensions["kiosk"].evidence_keys, b.extensions["kiosk"].evidence_keys
    assert a.config["SECRET_KEY"] == b.config["SECRET_KEY"] and len(a.config["SECRET_KEY"]) == 64
    assert ka.key_id == kb.key_id
    # No per-node files: the keys and the secret are in the database only.
    for node in ("node-a", "node-b"):
        data = a.extensions["kiosk"].settings.data_dir.parent / node
        assert not (data / "secret_key").exists() and not (data / "keys" / "current").exists()

    old = _seal_one(a)
    report = verify_package(old, keyring=kb.keyring())  # sealed on A, checked with B's keys
    assert report.ok and report.key_id == ka.key_id, report.problems

    first = ka.key_id
    new = kb.rotate()  # on node B; node A follows at its next seal
    assert new != first
    fresh = _seal_one(a)
    assert verify_package(fresh, keyring=kb.keyring()).key_id == new
    assert ka.key_id == new
    for archive in (old, fresh):  # the old package still verifies after the rotation
        assert verify_package(archive, keyring=ka.keyring()).ok
    assert set(kb.keyring()) == {first, new}
    # `kiosk evidence verify` on a node trusts the shared keyring by default.
    settings = a.extensions["kiosk"].settings
    for name, value in (("DATABASE_URL", settings.database_url), ("REDIS_URL", settings.redis_url),
                        ("DATA_DIR", str(settings.data_dir))):
        monkeypatch.setenv(f"KIOSK_{name}", value)
    res = CliRunner().invoke(kiosk_cli, ["evidence", "verify", old])
    assert res.exit_code == 0, res.output


@both_databases
def test_the_retired_private_key_is_gone_and_a_wrong_passphrase_is_refused(db_url, tmp_path):
    (tmp_path / "data").mkdir(exist_ok=True)
    engine = create_engine(db_url)
    from kiosk.migrations import prepare_schema

    prepare_schema(engine)
    # A node's keyring from before it joined the cluster: kept as a retired key.
    legacy = EvidenceKeys(tmp_path / "legacy-keys")
    legacy.ensure()
    one = DbEvidenceKeys(engine, "correct passphrase", import_dir=tmp_path / "legacy-keys")
    one.ensure()
    assert legacy.key_id in one.keyring() and one.key_id != legacy.key_id
    first = one.key_id
    one.rotate()
    from sqlalchemy import select

    from kiosk.evidence.keys_db import EvidenceKeyRow

    with engine.connect() as conn:
        rows = conn.execute(select(EvidenceKeyRow.key_id, EvidenceKeyRow.private_pem,
                                   EvidenceKeyRow.retired_at)).all()
    private = {kid: pem for kid, pem, _ in rows}
    assert private[first] is None and private[legacy.key_id] is None
    assert "ENCRYPTED PRIVATE KEY" in private[one.key_id]
    with pytest.raises(EvidenceError, match="cannot be read with this node's "
                                            "evidence_key_passphrase"):
        DbEvidenceKeys(engine, "another passphrase").ensure()
    engine.dispose()
