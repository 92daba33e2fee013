"""Write-then-rename for every session and evidence file, with private modes.

A file is written to a hidden temporary name in its own folder, fsynced, then renamed over
the target (``os.replace``, atomic on POSIX), and the folder is fsynced. A reader therefore
sees the old file or the new one, never a torn one, even when the disk fills mid-write: the
temporary file is removed and ``StorageFull`` is raised instead.

Files are created ``0600`` and folders ``0700``: session folders hold faces, voices and
(until sealing) an ID number.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from kiosk.errors import StorageFull

FILE_MODE = 0o600
DIR_MODE = 0o700
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


# PostgreSQL's SQLSTATEs (class 53, insufficient resources): 53100 disk_full, the one a full
# disk gives (its errcode_for_file_access maps ENOSPC to it); 53000, the class's generic
# code, counts only when its message carries the operating system's full-disk text. 53200
# out_of_memory, 53300 too_many_connections and 53400 configuration_limit_exceeded never do.
PG_DISK_FULL = "53100"
PG_INSUFFICIENT_RESOURCES = "53000"
_FULL_DISK_TEXTS = tuple(os.strerror(e) for e in sorted(DISK_FULL_ERRNOS))


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` says the data disk is full: ENOSPC / EDQUOT (an ``OSError``, or our
    ``StorageFull``), SQLite's "database or disk is full", or PostgreSQL's SQLSTATE 53100
    ``disk_full`` (psycopg's ``DiskFull``; 53000 only with ENOSPC's or EDQUOT's text), raw or
    wrapped by SQLAlchemy (its ``.orig``). Reads attributes only: psycopg is not imported."""
    if isinstance(exc, StorageFull):
        return True
    if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
        return True
    for err in (exc, getattr(exc, "orig", None)):
        # psycopg 3 names it ``sqlstate``, psycopg2 ``pgcode``; sqlite3 has neither.
        state = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
        if state == PG_DISK_FULL:
            return True
        if state == PG_INSUFFICIENT_RESOURCES and any(t in str(err) for t in _FULL_DISK_TEXTS):
            return True
    return "database or disk is full" in str(exc)


def storage_full(path: Path | str, exc: BaseException | None = None) -> StorageFull:
    """The StorageFull to raise for ``path`` (named by its file name only, never in full)."""
    err = StorageFull(errno.ENOSPC, f"the data disk is full (writing {Path(path).name})")
    if exc is not None:
        err.__cause__ = exc
    return err


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) ``0700``; an existing folder keeps its mode."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)  # mkdir's mode is filtered by the umask; this is not
    return path


@contextlib.contextmanager
def _replacing(path: Path, mode: int) -> Iterator[int]:
    """Yield the fd of a fresh temporary file beside ``path``; on success it replaces
    ``path`` (fsynced, with ``mode``), on any error it is removed. StorageFull when the disk
    is full; the old file, if any, is left as it was."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            yield fd
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)  # os.open's mode is filtered by the umask
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise storage_full(path, exc) from exc
        raise
    _fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``data`` (write-then-rename, fsynced, created with ``mode``).

    StorageFull when the disk is full; the old file, if any, is left as it was.
    """
    with _replacing(Path(path), mode) as fd:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]


def write_json_atomic(path: Path, data: dict, mode: int = FILE_MODE) -> None:
    """``data`` as indented UTF-8 JSON, written with ``write_atomic``."""
    write_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, default=str)
                 .encode("utf-8"), mode)


def copy_atomic(src: Path, dest: Path, mode: int = FILE_MODE) -> None:
    """Copy ``src`` to ``dest`` with write-then-rename (StorageFull when the disk is full)."""
    with _replacing(Path(dest), mode) as fd, open(src, "rb") as fin:
        while chunk := fin.read(1 << 20):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks (``hashlib.file_digest``)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def free_mb(path: Path) -> float:
    """Free space (MB, for an unprivileged user) on the disk holding ``path``."""
    return shutil.disk_usage(path).free / 1e6


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder; the rename still stands
        pass
    finally:
        os.close(fd)
