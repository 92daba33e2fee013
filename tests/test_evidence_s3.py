"""Evidence in S3-compatible object storage with Object Lock, against a real moto server.

moto runs as a child process on a loopback port (kiosk.testing.moto) and is stopped after.
It refuses deletes under retention, which these tests check; it is no proof of WORM.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from kiosk.config import load_settings
from kiosk.errors import ConfigError
from kiosk.evidence.cli import evidence
from kiosk.evidence.service import EvidenceSealer
from kiosk.evidence.uploads import ArchiveUploader, pending_uploads, read_receipt
from kiosk.migrations import open_store
from kiosk.review.bucket import byte_window
from kiosk.store import SessionStore
from kiosk.testing import moto as moto_testing
from tests.test_evidence import make_session, webm_bytes  # noqa: F401  # webm_bytes: fixture

BUCKET = "kiosk-evidence"

ok, why = moto_testing.available()
pytestmark = pytest.mark.skipif(not ok, reason=why)


@pytest.fixture(scope="module")
def moto():
    server = moto_testing.TempMoto().start()
    yield server
    server.stop()


def s3(server):
    import boto3  # the test's own client: an oracle independent of kiosk.evidence.objectstore

    return boto3.client("s3", endpoint_url=server.url(), region_name=moto_testing.REGION,
                        aws_access_key_id=moto_testing.ACCESS_KEY,
                        aws_secret_access_key=moto_testing.SECRET_KEY)


def make_bucket(server, name=BUCKET):
    client = s3(server)
    existing = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
    if name not in existing:
        client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return client


def s3_settings(tmp_path, server, **kw):
    values = dict(data_dir=tmp_path / "data", evidence_s3_bucket=BUCKET,
                  evidence_s3_prefix="witness/", evidence_s3_endpoint_url=server.url(),
                  evidence_s3_region=moto_testing.REGION,
                  evidence_s3_access_key_id=moto_testing.ACCESS_KEY,
                  evidence_s3_secret_access_key=moto_testing.SECRET_KEY,
                  evidence_s3_retry_seconds=0.2, evidence_s3_retry_max_seconds=1.0)
    values.update(kw)
    return load_settings(**values)


def s3_env(monkeypatch, server):
    """The evidence_s3_* settings `kiosk evidence verify s3://...` reads, as an operator sets
    them."""
    for k, v in {"ENDPOINT_URL": server.url(), "REGION": moto_testing.REGION,
                 "ACCESS_KEY_ID": moto_testing.ACCESS_KEY,
                 "SECRET_ACCESS_KEY": moto_testing.SECRET_KEY}.items():
        monkeypatch.setenv(f"KIOSK_EVIDENCE_S3_{k}", v)


def ended_session(store: SessionStore, webm: bytes, **overrides) -> str:
    """A session row and folder in a terminal state, ready for EvidenceSealer.seal."""
    flow = SimpleNamespace(id="securities_account_opening", version=3, content_hash="ab" * 32)
    row, _ = store.create(flow=flow, locale="zh-CN", ttl_seconds=600,
                          applicant={"name": "张三", "id_number": "110102199003078888"})
    built = make_session(store.sessions_dir.parent / "built", webm, sid=row.id, **overrides)
    shutil.copytree(built, store.session_dir(row.id), dirs_exist_ok=True)
    store.set(row.id, state="finished")
    return row.id


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def sealer(tmp_path, moto):
    make_bucket(moto)
    settings = s3_settings(tmp_path, moto)
    settings.ensure_dirs()
    store = open_store(settings.db_url, settings.sessions_dir)
    sealer = EvidenceSealer(settings, store)
    yield sealer
    sealer.close()
    store.engine.dispose()


def test_sealed_archive_goes_to_the_bucket_locked_per_flow_and_verifies_from_s3(
        sealer, moto, webm_bytes, monkeypatch):  # noqa: F811  # pytest fixture
    sid = ended_session(sealer.store, webm_bytes)
    held = ended_session(sealer.store, webm_bytes, retention_years=30, legal_hold=True)
    sealer.seal(sid)
    sealer.seal(held)
    assert sealer.uploader is not None and sealer.uploader.wait_idle(60)
    client = s3(moto)
    archive = sealer.out_dir / f"{sid}.tar"

    head = client.head_object(Bucket=BUCKET, Key=f"witness/{sid}.tar")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    # ended 2026-11-24 with the flow's 20 years: locked to the package's Retain-Until
    assert head["ObjectLockRetainUntilDate"].astimezone(UTC) == datetime(2046, 11, 24, tzinfo=UTC)
    assert head["ObjectLockLegalHoldStatus"] == "OFF"
    assert head["ContentLength"] == archive.stat().st_size
    assert head["Metadata"]["kiosk-sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    other = client.head_object(Bucket=BUCKET, Key=f"witness/{held}.tar")
    assert other["ObjectLockRetainUntilDate"].astimezone(UTC) == datetime(2056, 11, 24,
                                                                          tzinfo=UTC)
    assert other["ObjectLockLegalHoldStatus"] == "ON"
    assert client.get_object_legal_hold(Bucket=BUCKET, Key=f"witness/{held}.tar")[
        "LegalHold"]["Status"] == "ON"

    receipt = read_receipt(sealer.settings.evidence_receipts_dir, sid)
    assert receipt is not None and receipt["version_id"] == head["VersionId"]
    assert receipt["url"] == f"s3://{BUCKET}/witness/{sid}.tar"
    stored = [r["record"] for r in sealer.ledger.records(sid)
              if r["record"].get("type") == "stored"]
    assert stored and stored[0]["version_id"] == head["VersionId"]
    assert archive.is_file()  # the local copy stays

    # a delete of that version before its retention ends is refused, bypass header or not
    for bypass in (False, True):
        with pytest.raises(client.exceptions.ClientError, match="AccessDenied"):
            client.delete_object(Bucket=BUCKET, Key=f"witness/{sid}.tar",
                                 VersionId=head["VersionId"], BypassGovernanceRetention=bypass)
    assert client.head_object(Bucket=BUCKET, Key=f"witness/{sid}.tar",
                              VersionId=head["VersionId"])["ContentLength"] > 0

    # verified from the bucket by the command line, with only the public key
    s3_env(monkeypatch, moto)
    pem = Path(sealer.out_dir.parent / "pub.pem")
    pem.write_bytes(sealer.keys.public_pem())
    runner = CliRunner()
    res = runner.invoke(evidence, ["verify", f"s3://{BUCKET}/witness/{sid}.tar",
                                   "--pubkey", str(pem)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"OK: package {sid} verified")

    # a damaged copy in the bucket fails verification (the download is really checked)
    data = bytearray(archive.read_bytes())
    at = data.index(b"\x1a\x45\xdf\xa3") + 200  # inside the recording's bytes
    data[at] ^= 0xFF
    client.put_object(Bucket=BUCKET, Key=f"damaged/{sid}.tar", Body=bytes(data))
    bad = runner.invoke(evidence, ["verify", f"s3://{BUCKET}/damaged/{sid}.tar",
                                   "--pubkey", str(pem)])
    assert bad.exit_code == 1 and "data/recording.webm" in bad.output, bad.output
    missing = runner.invoke(evidence, ["verify", f"s3://{BUCKET}/witness/nope.tar",
                                       "--pubkey", str(pem)])
    assert missing.exit_code == 1 and "download failed" in missing.output
    assert "Traceback" not in missing.output

    # lifting the legal hold: recorded in the ledger and applied to the stored version
    monkeypatch.setenv("KIOSK_DATA_DIR", str(sealer.settings.data_dir))
    monkeypatch.setenv("KIOSK_EVIDENCE_S3_BUCKET", BUCKET)
    monkeypatch.setenv("KIOSK_EVIDENCE_S3_PREFIX", "witness/")
    lifted = runner.invoke(evidence, ["hold", str(sealer.out_dir / held), "--off",
                                      "--reason", "case closed", "--ledger",
                                      str(sealer.settings.data_dir / "ledger.jsonl")])
    assert lifted.exit_code == 0, lifted.output
    assert "legal hold OFF" in lifted.output
    assert client.get_object_legal_hold(Bucket=BUCKET, Key=f"witness/{held}.tar")[
        "LegalHold"]["Status"] == "OFF"


def test_an_unlocked_bucket_or_a_different_archive_is_never_confirmed(tmp_path, moto,
                                                                      webm_bytes):  # noqa: F811  # fixture
    from kiosk.evidence.objectstore import ObjectStore, ObjectStoreError, lock_terms

    client = s3(moto)
    client.create_bucket(Bucket="kiosk-plain")  # no Object Lock
    sealed = make_bucket(moto)
    settings = s3_settings(tmp_path, moto, evidence_s3_prefix="conflict/")
    settings.ensure_dirs()
    store = open_store(settings.db_url, settings.sessions_dir)
    sealer = EvidenceSealer(settings, store)
    try:
        sid = ended_session(store, webm_bytes)
        sealer.seal(sid)
        assert sealer.uploader is not None and sealer.uploader.wait_idle(60)
        archive = sealer.out_dir / f"{sid}.tar"
        terms = lock_terms(archive, "COMPLIANCE")
        plain = ObjectStore.from_settings(settings, bucket="kiosk-plain")
        assert plain is not None
        with pytest.raises(ObjectStoreError, match="kiosk-plain"):
            plain.check_bucket()
        with pytest.raises(ObjectStoreError, match="upload failed"):
            plain.put_archive(archive, terms)
        # the same archive again: confirmed from the stored version, no second PUT
        objects = sealer.objects
        assert objects is not None
        versions = client.list_object_versions(Bucket=BUCKET, Prefix=f"conflict/{sid}.tar")
        again = objects.put_archive(archive, terms)
        assert again.version_id == versions["Versions"][0]["VersionId"]
        assert len(sealed.list_object_versions(Bucket=BUCKET, Prefix=f"conflict/{sid}.tar")[
            "Versions"]) == 1
        # a different archive under the same key is refused, never stacked on top
        other = tmp_path / "other" / f"{sid}.tar"
        other.parent.mkdir()
        data = bytearray(archive.read_bytes())
        data[-1] ^= 1  # tar padding: still a valid tar with the same bag-info
        other.write_bytes(bytes(data))
        with pytest.raises(ObjectStoreError, match="already holds a different archive"):
            objects.put_archive(other, terms)
    finally:
        sealer.close()
        store.engine.dispose()


def test_governance_mode_by_setting(tmp_path, moto, webm_bytes):  # noqa: F811  # fixture
    make_bucket(moto)
    settings = s3_settings(tmp_path, moto, evidence_s3_lock_mode="GOVERNANCE",
                           evidence_s3_prefix="gov/")
    settings.ensure_dirs()
    store = open_store(settings.db_url, settings.sessions_dir)
    sealer = EvidenceSealer(settings, store)
    try:
        sid = ended_session(store, webm_bytes)
        sealer.seal(sid)
        assert sealer.uploader is not None and sealer.uploader.wait_idle(60)
        client = s3(moto)
        head = client.head_object(Bucket=BUCKET, Key=f"gov/{sid}.tar")
        assert head["ObjectLockMode"] == "GOVERNANCE"
        with pytest.raises(client.exceptions.ClientError, match="AccessDenied"):
            client.delete_object(Bucket=BUCKET, Key=f"gov/{sid}.tar",
                                 VersionId=head["VersionId"])
    finally:
        sealer.close()
        store.engine.dispose()


def test_failed_upload_is_retried_and_the_local_copy_kept_until_it_succeeds(
        tmp_path, moto, webm_bytes, monkeypatch):  # noqa: F811  # pytest fixture
    make_bucket(moto)
    settings = s3_settings(tmp_path, moto, evidence_s3_prefix="retry/")
    settings.ensure_dirs()
    store = open_store(settings.db_url, settings.sessions_dir)
    sealer = EvidenceSealer(settings, store)
    uploader = sealer.uploader
    assert uploader is not None
    first = ended_session(store, webm_bytes)
    second = ended_session(store, webm_bytes)
    expired = ended_session(store, webm_bytes, retention_years=1,
                            ended_at="2020-01-01T00:00:00Z")
    moto.pause()  # the object store is down
    try:
        sealer.seal(first)
        assert wait_for(lambda: uploader.status().get(first, {}).get("attempts", 0) >= 2)
        status = uploader.status()[first]
        assert "upload failed" in status["last_error"] or "not readable" in status["last_error"]
        archive = sealer.out_dir / f"{first}.tar"
        assert archive.is_file()
        assert pending_uploads(sealer.out_dir, settings.evidence_receipts_dir) == [first]
        assert read_receipt(settings.evidence_receipts_dir, first) is None
        # deleting a local archive (even one past its retention) is refused while it is the
        # upload's only source
        sealer.seal(expired)
        old_archive = sealer.out_dir / f"{expired}.tar"
        monkeypatch.setenv("KIOSK_DATA_DIR", str(settings.data_dir))
        monkeypatch.setenv("KIOSK_EVIDENCE_S3_BUCKET", BUCKET)
        refused = CliRunner().invoke(evidence, ["delete", str(old_archive), "--yes",
                                                "--ledger", str(tmp_path / "other.jsonl")])
        assert refused.exit_code != 0
        assert f"refused: package {expired} is not confirmed in the bucket" in refused.output
        assert old_archive.is_file()

        # a restart while the store is down: the next start finds the pending upload on disk
        sealer.seal(second)
        sealer.close()
        assert sorted(pending_uploads(sealer.out_dir, settings.evidence_receipts_dir)) == \
            sorted([first, second, expired])
    finally:
        moto.resume()
    client = make_bucket(moto)  # moto kept nothing across its restart
    again = ArchiveUploader(sealer.objects, sealer.out_dir, settings.evidence_receipts_dir,
                            ledger=sealer.ledger, retry_seconds=0.2,
                            retry_max_seconds=1.0).start()
    try:
        assert again.wait_idle(60), again.status()
    finally:
        again.stop()
        store.engine.dispose()
    for sid in (first, second):
        local = (sealer.out_dir / f"{sid}.tar").read_bytes()
        got = client.get_object(Bucket=BUCKET, Key=f"retry/{sid}.tar")["Body"].read()
        assert got == local
        assert read_receipt(settings.evidence_receipts_dir, sid) is not None
    assert pending_uploads(sealer.out_dir, settings.evidence_receipts_dir) == []
    # retention over before the upload: stored, without a lock in the past
    head = client.head_object(Bucket=BUCKET, Key=f"retry/{expired}.tar")
    assert "ObjectLockMode" not in head


def test_a_running_uploader_retries_by_itself_when_the_store_comes_back(
        tmp_path, moto, webm_bytes):  # noqa: F811  # pytest fixture
    make_bucket(moto)
    settings = s3_settings(tmp_path, moto, evidence_s3_prefix="backoff/")
    settings.ensure_dirs()
    store = open_store(settings.db_url, settings.sessions_dir)
    sealer = EvidenceSealer(settings, store)
    uploader = sealer.uploader
    assert uploader is not None
    try:
        sid = ended_session(store, webm_bytes)
        moto.pause()
        try:
            sealer.seal(sid)
            assert wait_for(lambda: uploader.status().get(sid, {}).get("attempts", 0) >= 1)
        finally:
            moto.resume()
        make_bucket(moto)
        assert uploader.wait_idle(60), uploader.status()
        assert read_receipt(settings.evidence_receipts_dir, sid) is not None
    finally:
        sealer.close()
        store.engine.dispose()


def test_review_streams_the_recording_from_the_bucket_when_the_local_bag_is_gone(
        tmp_path, moto):
    from kiosk.review.accounts import add_user
    from kiosk.review.console import register
    from kiosk.review.sample import make_sealed_case
    from kiosk.web.app import create_app

    make_bucket(moto)
    settings = s3_settings(tmp_path, moto, evidence_s3_prefix="review/")
    app = create_app(settings)
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0})
    k = app.extensions["kiosk"]
    try:
        add_user(k.store, "alice", "correct horse battery", "auditor", languages="en,zh-CN")
        pid = make_sealed_case(k.settings.data_dir, k.store, keys=k.evidence_keys,
                               ledger=k.ledger, seconds=2.0)
        app.extensions["review"].poll()
        k.sealer.uploader.enqueue(pid)
        assert k.sealer.uploader.wait_idle(60)
        bag = k.sealer.out_dir / pid
        recording = (bag / "data" / "recording.webm").read_bytes()
        shutil.rmtree(bag)
        (k.sealer.out_dir / f"{pid}.tar").unlink()

        c = app.test_client()
        tok = c.get("/review/api/csrf").get_json()["csrf_token"]
        r = c.post("/review/api/login", json={"username": "alice",
                                              "password": "correct horse battery"},
                   headers={"X-CSRF-Token": tok})
        csrf = r.get_json()["csrf_token"]
        assert c.post("/review/api/next", json={},
                      headers={"X-CSRF-Token": csrf}).status_code == 200
        url = f"/review/cases/{pid}/recording"
        part = c.get(url, headers={"Range": "bytes=100-1123"})
        assert part.status_code == 206, part.status_code
        assert part.data == recording[100:1124]
        assert part.headers["Content-Range"] == f"bytes 100-1123/{len(recording)}"
        assert part.headers["Content-Type"] == "video/webm"
        tail = c.get(url, headers={"Range": "bytes=-500"})
        assert tail.status_code == 206 and tail.data == recording[-500:]
        whole = c.get(url)
        assert whole.status_code == 200 and whole.data == recording
        beyond = c.get(url, headers={"Range": f"bytes={len(recording)}-"})
        assert beyond.status_code == 416
        assert beyond.headers["Content-Range"] == f"bytes */{len(recording)}"
        assert c.get("/review/cases/does-not-exist/recording").status_code == 404
    finally:
        k.shutdown()


# -- no bucket: nothing changes; settings and ranges ----------------------------------------

def test_without_a_bucket_nothing_is_uploaded(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    store = open_store(settings.db_url, settings.sessions_dir)
    sealer = EvidenceSealer(settings, store)
    assert sealer.objects is None and sealer.uploader is None
    assert not settings.evidence_receipts_dir.exists()
    sealer.close()
    store.engine.dispose()


@pytest.mark.parametrize(("kw", "msg"), [
    ({"evidence_s3_bucket": "Bad_Bucket"}, "is not a bucket name"),
    ({"evidence_s3_prefix": "/abs/"}, "must not start with '/'"),
    ({"evidence_s3_lock_mode": "NONE"}, "evidence_s3_lock_mode"),
    ({"evidence_s3_retry_seconds": 10, "evidence_s3_retry_max_seconds": 5},
     "must be at least evidence_s3_retry_seconds"),
])
def test_bad_s3_settings_are_named(tmp_path, kw, msg):
    with pytest.raises(ConfigError, match=msg):
        load_settings(data_dir=tmp_path, **kw)


def test_s3_urls_and_byte_windows():
    from kiosk.evidence.objectstore import parse_s3_url

    loc = parse_s3_url("s3://kiosk-evidence/witness/a.tar")
    assert (loc.bucket, loc.key, str(loc)) == ("kiosk-evidence", "witness/a.tar",
                                              "s3://kiosk-evidence/witness/a.tar")
    for bad, why in (("http://x/y", "is not an s3:// URL"), ("s3://ab/k", "valid bucket"),
                     ("s3://bucket", "no object key"), ("s3://bucket/dir/", "no object key")):
        with pytest.raises(ValueError, match=why):
            parse_s3_url(bad)
    assert byte_window(0, 9, 100) == (0, 9)
    assert byte_window(90, None, 100) == (90, 99)
    assert byte_window(50, 500, 100) == (50, 99)
    assert byte_window(None, 10, 100) == (90, 99)
    assert byte_window(None, 500, 100) == (0, 99)
    assert byte_window(100, None, 100) is None
    assert byte_window(5, 4, 100) is None
    assert byte_window(None, 0, 100) is None


def test_receipt_json_is_reported_when_damaged(tmp_path):
    from kiosk.errors import EvidenceError

    (tmp_path / "s-1.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EvidenceError, match="not valid JSON"):
        read_receipt(tmp_path, "s-1")
    (tmp_path / "s-2.json").write_text(json.dumps({"ok": 1}), encoding="utf-8")
    assert read_receipt(tmp_path, "s-2") == {"ok": 1}
