"""Repacked evidence archives: ``./``-prefixed members verify; dangerous members are refused
with one clear message, never a traceback."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.evidence import EvidenceKeys, Ledger, seal_package, verify_package
from kiosk.evidence.cli import evidence


@pytest.fixture
def sealed(tmp_path):
    """A real sealed package (a session that ended before any media) and its keys."""
    sdir = tmp_path / "sessions" / "s-repack"
    sdir.mkdir(parents=True)
    (sdir / "session.json").write_text(json.dumps({
        "id": "s-repack", "state": "aborted", "end_reason": "cancelled",
        "applicant": {"name": "Li", "id_number": "12345678"}}), encoding="utf-8")
    keys = EvidenceKeys(tmp_path / "keys")
    res = seal_package(sdir, tmp_path / "packages", keys, Ledger(tmp_path / "ledger.jsonl"))
    return res, keys, tmp_path


def _repack(src_dir: Path, archive: Path) -> Path:
    """What an operator does by hand: ``tar -cf x.tar -C parent .``."""
    subprocess.run(["tar", "-cf", str(archive), "-C", str(src_dir), "."], check=True)
    return archive


def _cli_verify(archive: Path, keys_dir: Path):
    return CliRunner().invoke(evidence, ["verify", str(archive), "--keys-dir", str(keys_dir)])


def test_an_archive_repacked_with_dot_slash_members_verifies(sealed, tmp_path):
    res, keys, _ = sealed
    parent = tmp_path / "repack"
    parent.mkdir()
    res.bag_dir.rename(parent / res.bag_dir.name)
    archive = _repack(parent, tmp_path / "x.tar")
    with tarfile.open(archive) as tf:
        assert tf.getnames()[0] in (".", "./")  # the shape that crashed safe_extract
    rep = verify_package(archive, keyring=keys.keyring())
    assert rep.ok, rep.problems
    assert rep.package_id == "s-repack"
    out = _cli_verify(archive, tmp_path / "keys")
    assert out.exit_code == 0, out.output
    assert out.output.startswith("OK: package s-repack verified")


def test_an_archive_of_the_bag_contents_alone_verifies(sealed, tmp_path):
    """``tar -cf x.tar -C <bag> .``: the bag's files at the top, no package folder."""
    res, keys, _ = sealed
    archive = _repack(res.bag_dir, tmp_path / "flat.tar")
    rep = verify_package(archive, keyring=keys.keyring())
    assert rep.ok, rep.problems
    assert rep.package_id == "s-repack"


def _with_member(tmp_path: Path, res, info: tarfile.TarInfo, data: bytes | None) -> Path:
    """The sealed package as ``./<id>/...`` members plus one hostile member."""
    archive = tmp_path / "hostile.tar"
    with tarfile.open(res.archive) as src, tarfile.open(archive, "w") as dst:
        root = tarfile.TarInfo("./")
        root.type = tarfile.DIRTYPE
        dst.addfile(root)
        for m in src.getmembers():
            body = src.extractfile(m).read() if m.isfile() else None
            m.name = "./" + m.name
            dst.addfile(m, io.BytesIO(body) if body is not None else None)
        dst.addfile(info, io.BytesIO(data) if data is not None else None)
    return archive


@pytest.mark.parametrize("name,kind,link,match", [
    ("./../evil.txt", tarfile.REGTYPE, "", "contains '..'"),
    ("./s-repack/../../evil.txt", tarfile.REGTYPE, "", "contains '..'"),
    ("/./evil.txt", tarfile.REGTYPE, "", "absolute path"),
    ("./s-repack/data/out", tarfile.SYMTYPE, "../../../../etc/passwd", "is a link"),
    ("./s-repack/data/hard", tarfile.LNKTYPE, "/etc/passwd", "is a link"),
    ("./s-repack/data/dev", tarfile.CHRTYPE, "", "not a regular file"),
    ("./s-repack/data/fifo", tarfile.FIFOTYPE, "", "not a regular file"),
    ("./other/x.txt", tarfile.REGTYPE, "", "exactly one package folder"),
])
def test_dangerous_dot_slash_members_are_refused_clearly(sealed, tmp_path, name, kind, link,
                                                        match):
    res, keys, _ = sealed
    bad = tarfile.TarInfo(name)
    bad.type = kind
    bad.linkname = link
    payload = b"x" if kind == tarfile.REGTYPE else None
    bad.size = len(payload or b"")
    archive = _with_member(tmp_path, res, bad, payload)
    rep = verify_package(archive, keyring=keys.keyring())
    assert not rep.ok and len(rep.problems) == 1 and match in rep.problems[0], rep.problems
    assert not (tmp_path / "evil.txt").exists()
    out = _cli_verify(archive, tmp_path / "keys")
    assert out.exit_code == 1 and match in out.output
    assert "Traceback" not in out.output and out.exception is None or isinstance(
        out.exception, SystemExit)


@pytest.mark.parametrize("names", [["."], ["./"], ["./", "."]])
def test_an_archive_with_only_dot_members_is_refused_clearly(tmp_path, names):
    archive = tmp_path / "empty.tar"
    with tarfile.open(archive, "w") as tf:
        for n in names:
            info = tarfile.TarInfo(n)
            info.type = tarfile.DIRTYPE
            tf.addfile(info)
    rep = verify_package(archive)
    assert not rep.ok and "no package folder" in rep.problems[0], rep.problems
