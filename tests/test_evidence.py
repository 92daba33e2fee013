"""Evidence packages: seal real session folders, verify them, and catch every kind of tampering."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import shutil
import struct
import tarfile
import wave
from pathlib import Path

import av
import bagit
import numpy as np
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from sqlalchemy import create_engine

from kiosk.errors import ConfigError, EvidenceError
from kiosk.evidence import EvidenceKeys, Ledger, LocalStorage, seal_package, verify_package
from kiosk.evidence.cli import evidence
from kiosk.evidence.cli import ledger as ledger_group
from kiosk.evidence.keys import key_id_of
from kiosk.evidence.ledger_db import DbLedger, open_ledger
from kiosk.evidence.package import mask_id_number, retain_until
from kiosk.testing.seal_bench import bench_seal
from kiosk.timeline import MediaClock, TimelineWriter, event_hash
from tests.databases import both_databases

ID_NUMBER = "110102199003078888"


# -- building real session folders -----------------------------------------------------------

@pytest.fixture(scope="module")
def webm_bytes(tmp_path_factory) -> bytes:
    """A real VP8 WebM of a few 64x48 frames, encoded with PyAV."""
    path = tmp_path_factory.mktemp("media") / "clip.webm"
    with av.open(str(path), "w", format="webm") as c:
        s = c.add_stream("libvpx", rate=15)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(8):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 30, np.uint8),
                                               format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    data = path.read_bytes()
    assert data[:4] == b"\x1a\x45\xdf\xa3"  # EBML magic: a real Matroska/WebM file
    return data


def _wav(freq: float) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i
                                                                        / 16000)))
                               for i in range(1600)))
    return buf.getvalue()


def make_session(root: Path, webm: bytes, sid: str = "s-0001", **overrides) -> Path:
    sdir = root / sid
    (sdir / "prompts").mkdir(parents=True)
    (sdir / "checks").mkdir()
    (sdir / "keyframes").mkdir()
    (sdir / "recording.webm").write_bytes(webm)
    (sdir / "recording.mkv").write_bytes(b"live mkv leftover")
    (sdir / "id_photo.jpg").write_bytes(b"not packaged by default")
    prompts = []
    for f in (440.0, 660.0):
        wav = _wav(f)
        digest = hashlib.sha256(wav).hexdigest()
        (sdir / "prompts" / f"{digest}.wav").write_bytes(wav)
        prompts.append(digest)
    (sdir / "checks" / "liveness.json").write_text(
        json.dumps({"name": "liveness", "passed": True, "blinks": 2}), encoding="utf-8")
    Image.fromarray(np.full((24, 32, 3), 120, np.uint8)).save(sdir / "keyframes" / "0001.jpg")
    (sdir / "flow.yaml").write_text("id: securities_account_opening\nversion: 3\n",
                                    encoding="utf-8")
    tw = TimelineWriter(sdir / "timeline.jsonl", MediaClock())
    tw.append("session_started", {"flow": "securities_account_opening"}, t=0.0)
    tw.append("step_started", {"step": "risk", "kind": "question",
                               "title": "Risk <b>warning</b>", "prompt": prompts[0]}, t=1.0)
    tw.append("prompt_ended", {"step": "risk", "seq": 1}, t=5.5)
    tw.append("answer", {"step": "risk", "result": "agree"}, t=7.25)
    tw.append("step_started", {"step": "consent", "kind": "question", "prompt": prompts[1]},
              t=8.0)
    tw.append("answer", {"step": "consent", "result": "agree"}, t=12.0)
    tw.append("finished", {}, t=12.5)
    tw.close()
    session = {
        "id": sid,
        "flow": {"id": "securities_account_opening", "version": 3, "content_hash": "ab" * 32},
        "locale": "zh-CN",
        "applicant": {"name": "张三 <script>alert(1)</script>", "id_number": ID_NUMBER},
        "state": "finished", "end_reason": "completed",
        "created_at": "2026-11-24T20:00:00Z", "ended_at": "2026-11-24T20:03:00Z",
        "recovered": False, "retention_years": 20,
    }
    session.update(overrides)
    (sdir / "session.json").write_text(json.dumps(session, ensure_ascii=False), encoding="utf-8")
    return sdir


@pytest.fixture
def env(tmp_path, webm_bytes, db_url):
    """A sealed package and its ledger: the file (SQLite installations) or, under
    ``@both_databases`` with PostgreSQL, the evidence_ledger table."""
    keys = EvidenceKeys(tmp_path / "keys")
    keys.ensure()
    engine = create_engine(db_url) if db_url.startswith("postgresql") else None
    ledger = open_ledger(db_url, tmp_path / "ledger.jsonl", keys=keys, engine=engine)
    sdir = make_session(tmp_path / "sessions", webm_bytes)
    res = seal_package(sdir, tmp_path / "packages", keys, ledger)
    yield {"keys": keys, "ledger": ledger, "res": res, "tmp": tmp_path, "sdir": sdir}
    if engine is not None:
        engine.dispose()


def _ledger_file(env) -> Path:
    """The ledger as a file: the file ledger itself, or the table's export (kiosk ledger
    export), which is what an offline checker receives."""
    led = env["ledger"]
    if isinstance(led, DbLedger):
        out = env["tmp"] / "ledger-export.jsonl"
        led.export(out)
        return out
    return led.path


def _verify(env, path=None, **kw):
    kw.setdefault("keyring", env["keys"].keyring())
    return verify_package(path or env["res"].bag_dir, **kw)


def _problems(rep) -> str:
    assert not rep.ok
    return "\n".join(rep.problems)


def _rewrite_manifests(bag: Path) -> None:
    """A smarter attacker: regenerate every manifest with bagit itself after tampering."""
    bagit.Bag(str(bag)).save(manifests=True)
    assert bagit.Bag(str(bag)).is_valid(fast=False)  # the BagIt layer alone is now fooled


def _timeline_lines(bag: Path) -> list[str]:
    return (bag / "data" / "timeline.jsonl").read_text(encoding="utf-8").splitlines()


def _write_timeline(bag: Path, lines: list[str]) -> None:
    (bag / "data" / "timeline.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- happy path ------------------------------------------------------------------------------

@both_databases
def test_sealed_package_verifies_as_folder_archive_and_with_ledger(env):
    res = env["res"]
    assert res.bag_dir.is_dir() and res.archive.is_file() and res.ledger_index == 0
    for path in (res.bag_dir, res.archive):
        rep = _verify(env, path, ledger=_ledger_file(env))
        assert rep.ok, rep.problems
        assert rep.package_id == "s-0001" and rep.key_id == env["keys"].key_id
    assert bagit.Bag(str(res.bag_dir)).is_valid(fast=False)  # plain bagit agrees
    assert env["ledger"].verify(res.bag_dir.parent, keyring=env["keys"].keyring()) == []


def test_bag_contents_metadata_and_masking(env):
    bag = env["res"].bag_dir
    files = sorted(p.relative_to(bag).as_posix() for p in bag.rglob("*") if p.is_file())
    payload = [f for f in files if f.startswith("data/")]
    assert "data/recording.webm" in payload and "data/recording.mkv" not in payload
    assert "data/id_photo.jpg" not in payload
    assert sum(f.startswith("data/prompts/") for f in payload) == 2
    for f in ("data/timeline.jsonl", "data/checks/liveness.json", "data/keyframes/0001.jpg",
              "data/flow.yaml", "data/flow.json", "data/applicant.json", "data/report.json",
              "data/summary.html"):
        assert f in payload
    assert sorted(set(files) - set(payload)) == sorted(
        ["bag-info.txt", "bagit.txt", "manifest-sha256.txt", "signature.json",
         "tagmanifest-sha256.txt"])
    assert "signature.json" not in (bag / "tagmanifest-sha256.txt").read_text()
    info = (bag / "bag-info.txt").read_text(encoding="utf-8")
    for line in ("Witness-Session-Id: s-0001", "Witness-Outcome: finished",
                 "Witness-Flow: securities_account_opening@3", "Retention-Years: 20",
                 "Retain-Until: 2046-11-24", "Legal-Hold: false",
                 f"Signing-Key-Id: {env['keys'].key_id}",
                 "Timestamp-Authority: none configured", "Timeline-Events: 7"):
        assert line in info, line
    applicant = json.loads((bag / "data" / "applicant.json").read_text(encoding="utf-8"))
    assert applicant["id_number"] == "**************8888"
    for p in bag.rglob("*"):
        if p.is_file():
            assert ID_NUMBER.encode() not in p.read_bytes(), p
    flow = json.loads((bag / "data" / "flow.json").read_text())
    assert flow["version"] == 3
    assert flow["flow_yaml_sha256"] == hashlib.sha256((bag / "data/flow.yaml").read_bytes()
                                                      ).hexdigest()


def test_summary_html_is_self_contained_and_escaped(env):
    page = (env["res"].bag_dir / "data" / "summary.html").read_text(encoding="utf-8")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Risk &lt;b&gt;warning&lt;/b&gt;" in page
    assert "<style>" in page and "consent" in page and "liveness" in page
    report = json.loads((env["res"].bag_dir / "data" / "report.json").read_text())
    assert [s["step"] for s in report["steps"]] == ["risk", "consent"]
    assert report["steps"][0]["result"] == "agree"
    assert report["checks"][0]["result"] is True
    assert report["timeline"]["chain"] == "intact"


@pytest.mark.parametrize("mask,expected", [
    ("keep_last4", "**************8888"), ("full", "*" * 18), ("none", ID_NUMBER)])
def test_mask_id_number(mask, expected):
    assert mask_id_number(ID_NUMBER, mask) == expected


def test_bad_options_are_refused(tmp_path, webm_bytes):
    keys, ledger = EvidenceKeys(tmp_path / "k"), Ledger(tmp_path / "l.jsonl")
    sdir = make_session(tmp_path, webm_bytes)
    with pytest.raises(ConfigError, match="unknown ID number mask 'half'"):
        seal_package(sdir, tmp_path / "out", keys, ledger, mask="half")
    with pytest.raises(ConfigError, match="RFC 3161 timestamping is not implemented"):
        seal_package(sdir, tmp_path / "out", keys, ledger, tsa_url="http://tsa.example")
    with pytest.raises(EvidenceError, match="not 64 lowercase hex"):
        seal_package(sdir, tmp_path / "out", keys, ledger, precomputed={"recording.webm": "x"})
    seal_package(sdir, tmp_path / "out", keys, ledger)
    with pytest.raises(EvidenceError, match="already sealed"):
        seal_package(sdir, tmp_path / "out", keys, ledger)
    assert retain_until(__import__("datetime").date(2024, 2, 29), 1).isoformat() == "2025-03-01"


def test_an_unfinished_earlier_seal_is_sealed_again_and_a_ledgered_one_never(tmp_path,
                                                                             webm_bytes):
    """What a full disk or a crash left under a package's name before its ledger entry (its
    folder, a torn archive, temporaries) is not evidence: sealing again replaces it (it was
    refused as "already sealed" for ever: retest N7). Once the ledger records the package,
    nothing is touched."""
    keys, ledger = EvidenceKeys(tmp_path / "k"), Ledger(tmp_path / "l.jsonl")
    sdir = make_session(tmp_path, webm_bytes)
    out = tmp_path / "out"
    (out / "s-0001" / "data").mkdir(parents=True)  # a bag folder whose archive never came
    (out / "s-0001" / "data" / "timeline.jsonl").write_bytes(b"stale")
    (out / ".s-0001.tar.tmp").write_bytes(b"\0" * 5000)  # a torn archive
    (out / ".tmp-s-0001-0badc0de").mkdir()  # a work folder from a crash
    res = seal_package(sdir, out, keys, ledger)
    assert sorted(p.name for p in out.iterdir()) == ["s-0001", "s-0001.tar"]
    assert verify_package(res.archive, keyring=keys.keyring(), ledger=tmp_path / "l.jsonl").ok
    assert (out / "s-0001" / "data" / "timeline.jsonl").read_bytes() != b"stale"
    archive_bytes = res.archive.read_bytes()
    res.archive.unlink()  # even without its archive, a ledgered package is never redone
    with pytest.raises(EvidenceError, match="already sealed"):
        seal_package(sdir, out, keys, ledger)
    assert (out / "s-0001").is_dir() and len(ledger.entries()) == 1
    res.archive.write_bytes(archive_bytes)


def test_a_full_disk_while_the_archive_is_written_leaves_nothing(tmp_path, webm_bytes,
                                                                 monkeypatch):
    """``write_archive`` (and the seal's archive step) remove their temporary file on a full
    disk instead of leaving it to keep the disk full."""
    import errno

    from kiosk.evidence import package

    keys, ledger = EvidenceKeys(tmp_path / "k"), Ledger(tmp_path / "l.jsonl")
    sdir = make_session(tmp_path, webm_bytes)
    out = tmp_path / "out"
    real_fsync = package.os.fsync

    def full(fd):  # the archive's bytes are written, then syncing them finds no room
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(package, "_write_tar", lambda folder, name, tmp: (
        tmp.write_bytes(b"x" * 1000), full(0)))
    with pytest.raises(OSError):
        seal_package(sdir, out, keys, ledger)
    assert list(out.iterdir()) == [] and ledger.entries() == []
    monkeypatch.undo()
    assert package.os.fsync is real_fsync
    res = seal_package(sdir, out, keys, ledger)
    monkeypatch.setattr(package.os, "fsync", full)  # the whole tar written, then no room
    with pytest.raises(OSError):
        package.write_archive(res.bag_dir, tmp_path / "copy.tar")
    assert not (tmp_path / ".copy.tar.tmp").exists() and not (tmp_path / "copy.tar").exists()


def test_precomputed_hash_is_used_and_a_wrong_one_is_caught_by_verify(tmp_path, webm_bytes):
    keys, ledger = EvidenceKeys(tmp_path / "k"), Ledger(tmp_path / "l.jsonl")
    sdir = make_session(tmp_path, webm_bytes)
    wrong = "0" * 64  # the recorder's hash disagrees with the file that ends up sealed
    res = seal_package(sdir, tmp_path / "out", keys, ledger, precomputed={"recording.webm": wrong})
    assert f"{wrong}  data/recording.webm" in (res.bag_dir / "manifest-sha256.txt").read_text()
    rep = verify_package(res.bag_dir, keyring=keys.keyring())
    assert "data/recording.webm: sha256 mismatch" in _problems(rep)


def test_torn_timeline_tail_is_left_out_and_noted(tmp_path, webm_bytes):
    keys, ledger = EvidenceKeys(tmp_path / "k"), Ledger(tmp_path / "l.jsonl")
    sdir = make_session(tmp_path, webm_bytes, recovered=True, state="failed",
                        end_reason="server crashed")
    (sdir / "recording.webm").unlink()  # crash before finalising: only the live mkv exists
    with open(sdir / "timeline.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"seq": 7, "t": 13.0, "ty')
    res = seal_package(sdir, tmp_path / "out", keys, ledger)
    assert len(_timeline_lines(res.bag_dir)) == 7
    assert (res.bag_dir / "data" / "recording.mkv").is_file()
    report = json.loads((res.bag_dir / "data" / "report.json").read_text())
    assert any("torn by a crash" in n for n in report["notes"])
    assert any("recording.mkv is packaged" in n for n in report["notes"])
    assert "Witness-Recovered: true" in (res.bag_dir / "bag-info.txt").read_text()
    assert verify_package(res.archive, keyring=keys.keyring()).ok


def test_the_seal_benchmark_measures_both_ways():
    """`kiosk evidence bench` times sealing (speed is measured there, never asserted here:
    machines are noisy); this only checks that it seals both ways and reports each."""
    seconds = bench_seal(size_mb=2, events=20, prompts=2)
    assert set(seconds) == {"hash at seal", "precomputed"}, seconds
    assert all(v > 0 for v in seconds.values()), seconds


# -- tampering: each one fails and names its cause ---------------------------------------------

def test_flipped_byte_in_video(env):
    video = env["res"].bag_dir / "data" / "recording.webm"
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 0x01
    video.write_bytes(bytes(data))
    assert "data/recording.webm: sha256 mismatch" in _problems(_verify(env))


def _edit_event(bag: Path, index: int) -> None:
    lines = _timeline_lines(bag)
    ev = json.loads(lines[index])
    ev["data"]["result"] = "disagree"  # hash left as it was
    lines[index] = json.dumps(ev, ensure_ascii=False)
    _write_timeline(bag, lines)


def test_edited_event_caught_by_manifest_and_chain(env):
    bag = env["res"].bag_dir
    _edit_event(bag, 3)
    text = _problems(_verify(env))
    assert "data/timeline.jsonl: sha256 mismatch" in text
    assert "chain broken at event 3: content does not match its hash (edited)" in text


def test_edited_event_with_rewritten_manifests_caught_by_chain_and_signature(env):
    bag = env["res"].bag_dir
    _edit_event(bag, 3)
    _rewrite_manifests(bag)
    text = _problems(_verify(env))
    assert "sha256 mismatch" not in text  # the manifests now agree with the files
    assert "chain broken at event 3: content does not match its hash (edited)" in text
    assert f"signature by key {env['keys'].key_id} does not match tagmanifest" in text


def test_removed_event_with_rewritten_manifests(env):
    bag = env["res"].bag_dir
    lines = _timeline_lines(bag)
    del lines[2]
    _write_timeline(bag, lines)
    _rewrite_manifests(bag)
    text = _problems(_verify(env))
    assert "chain broken at event 2: seq is 3, expected 2 (removed or reordered)" in text
    assert "signature by key" in text


def test_swapped_events_with_rewritten_manifests(env):
    bag = env["res"].bag_dir
    lines = _timeline_lines(bag)
    lines[3], lines[4] = lines[4], lines[3]
    _write_timeline(bag, lines)
    _rewrite_manifests(bag)
    text = _problems(_verify(env))
    assert "chain broken at event 3: seq is 4, expected 3 (removed or reordered)" in text
    assert "signature by key" in text


def test_rechained_timeline_caught_by_signed_bag_info(env):
    """An attacker who edits, re-chains the timeline and rewrites manifests: only the signed
    layer (signature over tag files, Timeline-Head in bag-info) can catch it, and does."""
    bag = env["res"].bag_dir
    events = [json.loads(x) for x in _timeline_lines(bag)]
    events[3]["data"]["result"] = "disagree"
    prev = events[2]["hash"]
    for ev in events[3:]:
        ev["prev"] = prev
        ev["hash"] = event_hash(ev)
        prev = ev["hash"]
    _write_timeline(bag, [json.dumps(e, ensure_ascii=False) for e in events])
    _rewrite_manifests(bag)
    text = _problems(_verify(env))
    assert "chain broken" not in text
    assert "Timeline-Head" in text and "signature by key" in text


def test_extra_and_missing_files(env):
    bag = env["res"].bag_dir
    (bag / "data" / "extra.txt").write_text("slipped in")
    (bag / "notes.txt").write_text("slipped in at the root")
    prompt = next((bag / "data" / "prompts").glob("*.wav"))
    prompt.unlink()
    text = _problems(_verify(env))
    assert "data/extra.txt: extra file (not in the manifest)" in text
    assert "notes.txt: extra file in the package root" in text
    assert f"data/prompts/{prompt.name}: missing (listed in the manifest)" in text


def test_signed_with_another_key(env):
    bag = env["res"].bag_dir
    other = Ed25519PrivateKey.generate()
    other_id = key_id_of(other.public_key())
    sig = json.loads((bag / "signature.json").read_text())
    sig["key_id"] = other_id
    sig["signature"] = base64.b64encode(other.sign((bag / "tagmanifest-sha256.txt")
                                                   .read_bytes())).decode()
    (bag / "signature.json").write_text(json.dumps(sig))
    text = _problems(_verify(env))
    assert f"signed by key {other_id}, which is not in the keyring" in text
    assert f"Signing-Key-Id '{env['keys'].key_id}' differs" in text


def test_no_trusted_key_means_not_verified(env):
    text = _problems(verify_package(env["res"].bag_dir))
    assert "no trusted public key given" in text


def test_symlink_in_bag_is_refused(env):
    bag = env["res"].bag_dir
    video = bag / "data" / "recording.webm"
    real = env["tmp"] / "outside.webm"
    shutil.move(video, real)
    video.symlink_to(real)
    assert "data/recording.webm: is a symlink" in _problems(_verify(env))


def _tar_with(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w") as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


@pytest.mark.parametrize("name,kind,match", [
    ("pkg/../../evil.txt", tarfile.REGTYPE, "contains '..'"),
    ("/etc/evil.txt", tarfile.REGTYPE, "absolute path"),
    ("pkg/data/link", tarfile.SYMTYPE, "is a link"),
    ("pkg/data/dev", tarfile.CHRTYPE, "not a regular file"),
])
def test_unsafe_archive_members_are_refused(env, name, kind, match):
    archive = env["tmp"] / "evil.tar"
    with tarfile.open(env["res"].archive) as src:
        members = [(m, src.extractfile(m).read() if m.isfile() else None)
                   for m in src.getmembers()]
    for m, _ in members:
        m.name = "pkg" + m.name[len("s-0001"):]
    bad = tarfile.TarInfo(name)
    bad.type = kind
    payload = b"x" if kind == tarfile.REGTYPE else None
    if kind == tarfile.SYMTYPE:
        bad.linkname = "/etc/passwd"
    bad.size = len(payload or b"")
    _tar_with(archive, members + [(bad, payload)])
    rep = verify_package(archive, keyring=env["keys"].keyring())
    assert not rep.ok and len(rep.problems) == 1 and match in rep.problems[0]
    assert not (env["tmp"] / "evil.txt").exists() and not Path("/etc/evil.txt").exists()


# -- ledger ------------------------------------------------------------------------------------

def _seal_second(env, webm_bytes, sid="s-0002"):
    sdir = make_session(env["tmp"] / "sessions", webm_bytes, sid=sid)
    return seal_package(sdir, env["tmp"] / "packages", env["keys"], env["ledger"])


@both_databases
def test_package_removed_from_ledger(env, webm_bytes):
    second = _seal_second(env, webm_bytes)
    lpath = _ledger_file(env)
    lines = lpath.read_text(encoding="utf-8").splitlines()
    lpath.write_text(lines[0] + "\n", encoding="utf-8")  # drop the last entry: chain still ok
    rep = _verify(env, second.bag_dir, ledger=lpath)
    assert "no entry for package s-0002" in _problems(rep)
    problems = "\n".join(Ledger(lpath).verify(second.bag_dir.parent))
    assert "package s-0002" in problems and "is not in the ledger" in problems


@both_databases
def test_ledger_detects_reorder_missing_package_and_replacement(env, webm_bytes):
    second = _seal_second(env, webm_bytes)
    led = env["ledger"]
    assert led.verify(second.bag_dir.parent) == []
    # replaced: a different package with the same id, sealed elsewhere, copied over
    elsewhere = env["tmp"] / "elsewhere"
    other = seal_package(make_session(elsewhere / "sessions", webm_bytes, sid="s-0002"),
                         elsewhere / "packages", env["keys"], Ledger(elsewhere / "l.jsonl"))
    shutil.rmtree(second.bag_dir)
    shutil.copytree(other.bag_dir, second.bag_dir)
    text = "\n".join(led.verify(second.bag_dir.parent))
    assert "package s-0002" in text and "(package replaced)" in text
    # missing: a ledger entry whose package is gone
    shutil.rmtree(env["res"].bag_dir)
    env["res"].archive.unlink()
    text = "\n".join(led.verify(second.bag_dir.parent))
    assert "entry 0: package s-0001 is missing" in text
    # reordered
    lpath = _ledger_file(env)
    lines = lpath.read_text().splitlines()
    lines[0], lines[1] = lines[1], lines[0]
    lpath.write_text("\n".join(lines) + "\n")
    assert "entry 0: hash chain broken: seq is 1, expected 0" in "\n".join(
        Ledger(lpath).verify(None))


@both_databases
def test_rewritten_ledger_caught_by_entry_signatures(env):
    led = Ledger(_ledger_file(env))
    entry = json.loads(led.path.read_text().splitlines()[0])
    entry["tagmanifest_sha256"] = "f" * 64
    entry["hash"] = event_hash({k: v for k, v in entry.items() if k != "sig"})
    led.path.write_text(json.dumps(entry) + "\n")
    assert led.verify(None) == []  # the chain alone is fooled by a rewrite
    text = "\n".join(led.verify(None, keyring=env["keys"].keyring()))
    assert f"entry 0: signature by key {env['keys'].key_id} does not match" in text


def test_ledger_append_drops_a_torn_tail(tmp_path):
    led = Ledger(tmp_path / "l.jsonl")
    led.append("a", "1" * 64, "a", "t")
    with open(led.path, "a") as fh:
        fh.write('{"seq": 1, "kind": "pack')
    assert led.append_record("a", {"type": "decision", "verdict": "approved"}) == 1
    assert led.verify(None) == [] and [e["kind"] for e in led.entries()] == ["package", "record"]


# -- keys --------------------------------------------------------------------------------------

def test_key_rotation_keeps_old_packages_verifiable(env, webm_bytes):
    keys = env["keys"]
    old_id = keys.key_id
    new_id = keys.rotate()
    assert new_id != old_id and not (keys.keys_dir / f"{old_id}.key").exists()
    assert set(keys.keyring()) == {old_id, new_id}
    second = _seal_second(env, webm_bytes)
    assert json.loads((second.bag_dir / "signature.json").read_text())["key_id"] == new_id
    reloaded = EvidenceKeys(keys.keys_dir)
    assert reloaded.key_id == new_id
    for path in (env["res"].archive, second.archive):
        assert verify_package(path, keyring=reloaded.keyring(), ledger=env["ledger"].path).ok
    pem = env["tmp"] / "new.pem"
    pem.write_bytes(reloaded.public_pem())
    text = _problems(verify_package(env["res"].bag_dir, pubkeys=[pem]))
    assert f"signed by key {old_id}, which is not in the keyring" in text
    assert key_id_of(reloaded.public_key()) == hashlib.sha256(
        reloaded.public_key().public_bytes_raw()).hexdigest()[:16]


# -- CLI ---------------------------------------------------------------------------------------

def test_cli_verify_with_exported_pubkey(env):
    pem = env["tmp"] / "pub.pem"
    pem.write_bytes(env["keys"].public_pem())
    runner = CliRunner()
    ok = runner.invoke(evidence, ["verify", str(env["res"].archive), "--pubkey", str(pem),
                                  "--ledger", str(env["ledger"].path)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("OK: package s-0001 verified")
    (env["res"].bag_dir / "data" / "timeline.jsonl").write_text("{}\n")
    bad = runner.invoke(evidence, ["verify", str(env["res"].bag_dir), "--pubkey", str(pem)])
    assert bad.exit_code == 1 and "data/timeline.jsonl" in bad.output
    led = runner.invoke(ledger_group, ["verify", "--ledger", str(env["ledger"].path),
                                       "--packages", str(env["res"].bag_dir.parent),
                                       "--pubkey", str(pem)])
    assert led.exit_code == 0 and "chain intact" in led.output, led.output


def test_cli_delete_respects_retention_and_legal_hold(env, webm_bytes):
    runner = CliRunner()
    lp = str(env["ledger"].path)
    young = runner.invoke(evidence, ["delete", str(env["res"].bag_dir), "--ledger", lp, "--yes"])
    assert young.exit_code != 0
    assert "refused: package s-0001 must be kept until 2046-11-24" in young.output
    assert env["res"].bag_dir.is_dir()

    sdir = make_session(env["tmp"] / "sessions", webm_bytes, sid="s-old", retention_years=1,
                        ended_at="2020-01-01T00:00:00Z")
    old = seal_package(sdir, env["tmp"] / "packages", env["keys"], env["ledger"])
    hold = runner.invoke(evidence, ["hold", str(old.bag_dir), "--ledger", lp,
                                    "--reason", "case 42"])
    assert hold.exit_code == 0, hold.output
    held = runner.invoke(evidence, ["delete", str(old.bag_dir), "--ledger", lp, "--yes"])
    assert held.exit_code != 0 and "under legal hold" in held.output and "case 42" in held.output
    runner.invoke(evidence, ["hold", str(old.bag_dir), "--ledger", lp, "--off",
                             "--reason", "case closed"])
    gone = runner.invoke(evidence, ["delete", str(old.bag_dir), "--ledger", lp, "--yes"])
    assert gone.exit_code == 0, gone.output
    assert not old.bag_dir.exists() and not old.archive.exists()
    assert env["ledger"].verify(old.bag_dir.parent) == []  # deletion is on the record
    shown = runner.invoke(evidence, ["show", str(env["res"].archive), "--ledger", lp])
    assert "Retain-Until: 2046-11-24" in shown.output and ID_NUMBER not in shown.output


def test_local_storage_keeps_archives(env):
    store = LocalStorage(env["tmp"] / "store")
    store.put(env["res"].archive)
    assert store.list() == ["s-0001"] and store.exists("s-0001")
    with pytest.raises(EvidenceError, match="already exists"):
        store.put(env["res"].archive)
    got = store.get("s-0001", env["tmp"])
    assert verify_package(got, keyring=env["keys"].keyring()).ok
    with pytest.raises(EvidenceError, match="not a safe name"):
        store.exists("../x")


def test_aborted_session_without_media_still_seals(tmp_path):
    """Every terminal state seals, even one that ended before a camera or a timeline."""
    sdir = tmp_path / "s-early"
    sdir.mkdir()
    (sdir / "session.json").write_text(json.dumps({
        "id": "s-early", "state": "aborted", "end_reason": "link_expired",
        "applicant": {"name": "Li", "id_number": "1234"}}), encoding="utf-8")
    keys = EvidenceKeys(tmp_path / "k")
    res = seal_package(sdir, tmp_path / "out", keys, Ledger(tmp_path / "l.jsonl"))
    report = json.loads((res.bag_dir / "data" / "report.json").read_text())
    assert report["recording"] is None and report["timeline"]["events"] == 0
    assert "no recording exists for this session" in report["notes"]
    assert report["applicant"]["id_number"] == "****"  # too short to keep any digits
    assert "Witness-Recording: none" in (res.bag_dir / "bag-info.txt").read_text()
    assert verify_package(res.archive, keyring=keys.keyring(),
                          ledger=tmp_path / "l.jsonl").ok


def test_cli_pubkey_exports_the_current_key_and_never_creates_one(env):
    runner = CliRunner()
    out = runner.invoke(evidence, ["pubkey", "--current", "--keys-dir",
                                   str(env["keys"].keys_dir)])
    assert out.exit_code == 0 and out.output.encode() == env["keys"].public_pem()
    empty = env["tmp"] / "nokeys"
    none = runner.invoke(evidence, ["pubkey", "--keys-dir", str(empty)])
    assert none.exit_code != 0 and "no signing key yet" in none.output and not empty.exists()


def test_cli_pubkey_lists_current_and_retired_keys_and_the_bundle_verifies_old_packages(env):
    keys, old_id = env["keys"], env["keys"].key_id
    new_id = keys.rotate()
    runner = CliRunner()
    out = runner.invoke(evidence, ["pubkey", "--keys-dir", str(keys.keys_dir)])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"# kiosk evidence key {new_id} current (since ")
    assert f"# kiosk evidence key {old_id} retired (retired 20" in out.stdout
    assert out.stdout.count("-----BEGIN PUBLIC KEY-----") == 2
    bundle = env["tmp"] / "keys.pem"
    bundle.write_text(out.stdout, encoding="ascii")
    # The package was signed before the rotation: the bundle's retired key verifies it.
    ok = runner.invoke(evidence, ["verify", str(env["res"].archive), "--pubkey", str(bundle)])
    assert ok.exit_code == 0, ok.output
    js = runner.invoke(evidence, ["pubkey", "--json", "--keys-dir", str(keys.keys_dir)])
    assert json.loads(js.stdout)["current_key_id"] == new_id
    assert set(json.loads(js.stdout)["keys"]) == {old_id, new_id}
