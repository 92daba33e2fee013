"""Where sealed package archives are kept: a small interface, with a local folder by default.

A WORM bucket or an archive service can implement the same five methods later; sealing and
verifying only ever hand it finished ``<package_id>.tar`` files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from kiosk.atomic_files import copy_atomic, make_private_dir
from kiosk.errors import EvidenceError

_PACKAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_package_id(package_id: str) -> str:
    """A package id is also a file name: letters, digits, '.', '_', '-' only."""
    if not isinstance(package_id, str) or not _PACKAGE_ID.match(package_id):
        raise EvidenceError(f"package id {package_id!r} is not a safe name "
                            "(letters, digits, '.', '_', '-'; at most 128)")
    return package_id


class EvidenceStorage(Protocol):
    def put(self, archive: Path) -> str: ...
    def get(self, package_id: str, dest_dir: Path) -> Path: ...
    def exists(self, package_id: str) -> bool: ...
    def delete(self, package_id: str) -> None: ...
    def list(self) -> list[str]: ...


class LocalStorage:
    """Archives as ``<root>/<package_id>.tar``; never overwrites one."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, package_id: str) -> Path:
        return self.root / f"{check_package_id(package_id)}.tar"

    def put(self, archive: Path) -> str:
        """Copy ``archive`` in (atomically); returns its location."""
        archive = Path(archive)
        package_id = archive.name.removesuffix(".tar")
        dest = self._path(package_id)
        if archive.resolve() == dest.resolve():
            return str(dest)
        if dest.exists():
            raise EvidenceError(f"{dest}: an archive for package {package_id} already exists")
        make_private_dir(self.root)
        copy_atomic(archive, dest)
        return str(dest)

    def get(self, package_id: str, dest_dir: Path) -> Path:
        src = self._path(package_id)
        if not src.is_file():
            raise EvidenceError(f"{src}: no archive for package {package_id}")
        out = Path(dest_dir) / src.name
        copy_atomic(src, out)
        return out

    def exists(self, package_id: str) -> bool:
        return self._path(package_id).is_file()

    def delete(self, package_id: str) -> None:
        self._path(package_id).unlink(missing_ok=True)

    def list(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name.removesuffix(".tar") for p in self.root.glob("*.tar"))
