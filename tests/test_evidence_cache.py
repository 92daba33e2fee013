"""The evidence cache's working folders (``kiosk.evidence.bags``): a fetch that a dying process
left half-done (``.fetch-<id>-*``) is removed when the cache is next opened, once nothing in it
has been written for ``STALE_FETCH_SECONDS``; a live fetch's folder and the cached packages are
left alone. A failed fetch removing its own folder is tested against a real object store in
tests/test_cluster_evidence_reads.py (a damaged archive leaves the cache empty).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from kiosk.evidence.bags import STALE_FETCH_SECONDS, SealedBags

PID = "0123456789abcdef0123456789abcdef"


def _age(path: Path, seconds: float) -> None:
    """Set the modification time of ``path`` and everything under it ``seconds`` back."""
    then = time.time() - seconds
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.utime(os.path.join(root, name), (then, then), follow_symlinks=False)
    os.utime(path, (then, then))


def _fetch_folder(cache: Path, suffix: str) -> Path:
    work = cache / f".fetch-{PID}-{suffix}"
    (work / "x" / PID / "data").mkdir(parents=True)
    (work / f"{PID}.tar").write_bytes(b"half an archive")
    (work / "x" / PID / "data" / "report.json").write_text("{}")
    return work


def test_a_crashed_fetch_is_removed_when_the_cache_opens_and_nothing_else_is(tmp_path, caplog):
    cache = tmp_path / "evidence-cache"
    cache.mkdir()
    crashed = _fetch_folder(cache, "crashed")
    _age(crashed, STALE_FETCH_SECONDS + 60)
    live = _fetch_folder(cache, "live")  # another process fetching right now
    old_but_writing = _fetch_folder(cache, "writing")
    _age(old_but_writing, STALE_FETCH_SECONDS + 60)
    (old_but_writing / f"{PID}.tar").write_bytes(b"the download goes on")  # mtime: now
    # A cached, verified package (old, as cached packages are) is the cache's, not a leftover.
    other = "fedcba9876543210fedcba9876543210"
    (cache / other / "data").mkdir(parents=True)
    (cache / f"{other}.tar").write_bytes(b"archive")
    (cache / f"{other}.verified").write_text("0" * 64 + "\n")
    for p in (cache / other, cache / f"{other}.tar", cache / f"{other}.verified"):
        _age(p, 10 * STALE_FETCH_SECONDS)

    with caplog.at_level("INFO", logger="kiosk.evidence.bags"):
        SealedBags(tmp_path / "evidence", cache)

    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [live.name, old_but_writing.name, other, f"{other}.tar", f"{other}.verified"])
    assert [r.getMessage() for r in caplog.records] == [
        "evidence cache: removed 1 unfinished fetch folder(s) left by an earlier process"]


def test_a_stale_fetch_is_removed_only_after_the_safe_age(tmp_path):
    cache = tmp_path / "evidence-cache"
    cache.mkdir()
    work = _fetch_folder(cache, "w")
    bags = SealedBags(tmp_path / "evidence", cache)  # just written: kept
    assert work.is_dir()
    now = time.time()
    assert bags.remove_stale_fetches(now=now + STALE_FETCH_SECONDS - 60) == 0
    assert work.is_dir()
    assert bags.remove_stale_fetches(now=now + STALE_FETCH_SECONDS + 60) == 1
    assert not work.exists()


def test_no_cache_folder_yet_is_not_an_error(tmp_path):
    bags = SealedBags(tmp_path / "evidence", tmp_path / "no-cache-yet")
    assert bags.remove_stale_fetches() == 0
    assert not (tmp_path / "no-cache-yet").exists()


# A process killed (SIGKILL) in the middle of a download: its finally never runs.
_DIES_MID_FETCH = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from kiosk.evidence.bags import SealedBags

    class DiesMidDownload:
        def location(self, pid):
            return "s3://bucket/" + pid + ".tar"
        def exists(self, pid):
            return True
        def head(self, loc):
            return {"Metadata": {"kiosk-sha256": "0" * 64}}
        def download(self, loc, dest, version_id=None):
            Path(dest).write_bytes(b"the first blocks")
            os.kill(os.getpid(), signal.SIGKILL)

    SealedBags(Path(sys.argv[1]), Path(sys.argv[2]), DiesMidDownload()).bag(sys.argv[3])
""")


def test_a_fetch_killed_mid_download_leaves_a_folder_that_the_next_open_removes(tmp_path):
    cache = tmp_path / "evidence-cache"
    done = subprocess.run([sys.executable, "-c", _DIES_MID_FETCH, str(tmp_path / "evidence"),
                           str(cache), PID], capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    left = [p for p in cache.iterdir() if p.name.startswith(f".fetch-{PID}-")]
    assert len(left) == 1 and (left[0] / f"{PID}.tar").read_bytes() == b"the first blocks"
    SealedBags(tmp_path / "evidence", cache)  # the next start, within the safe age: kept
    assert left[0].is_dir()
    _age(left[0], STALE_FETCH_SECONDS + 60)
    SealedBags(tmp_path / "evidence", cache)  # a later start
    assert list(cache.iterdir()) == []
