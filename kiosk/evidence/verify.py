"""Verify an evidence package (bag folder or .tar) offline: every byte, the signature, the
timeline chain and, when given, the ledger entry. Each problem names the file, event or key.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import stat
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import bagit

from kiosk.atomic_files import sha256_file
from kiosk.errors import EvidenceError
from kiosk.evidence.keys import key_id_of, load_public_keys, verify_signature
from kiosk.evidence.ledger import Ledger
from kiosk.evidence.package import ROOT_FILES, SIGNATURE_FORMAT, TAG_FILES
from kiosk.timeline import GENESIS, verify_chain

log = logging.getLogger(__name__)

MAX_ARCHIVE_BYTES = 16 * 1024**3
MAX_ARCHIVE_MEMBERS = 20_000
REQUIRED_PAYLOAD = ("data/timeline.jsonl", "data/report.json", "data/applicant.json",
                    "data/flow.json", "data/summary.html")


@dataclass
class VerifyReport:
    ok: bool
    problems: list[str]
    package_id: str | None = None
    key_id: str | None = None
    info: dict = field(default_factory=dict)
    seconds: float = 0.0


class UnsafeArchive(EvidenceError):
    """An archive member that would escape or subvert the extraction folder."""


def safe_extract(archive: Path, dest: Path, *, max_bytes: int = MAX_ARCHIVE_BYTES,
                 max_members: int = MAX_ARCHIVE_MEMBERS) -> Path:
    """Extract a package .tar (or .tar.gz) into ``dest``; return the package folder.

    Names may start with ``./`` (``tar -cf x.tar -C parent .``); the bare ``.`` folder is
    skipped. An archive of a bag's own files (``tar -C <bag> .``: ``bagit.txt`` at the top) is
    extracted into ``dest/package``. Refuses, with one message naming the member: absolute
    names, '..', links of any kind, devices and FIFOs, duplicate names, more than one top-level
    folder, and archives over the member or size caps (UnsafeArchive).
    """
    try:
        tf = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise UnsafeArchive(f"{archive}: not a readable tar archive ({exc})") from exc
    with tf:
        try:
            members, tops = _checked_members(tf, archive, max_bytes, max_members)
        except (tarfile.TarError, EOFError) as exc:  # truncated or corrupt after a good start
            raise UnsafeArchive(f"{archive}: not a readable tar archive ({exc})") from exc
        if not members:
            raise UnsafeArchive(f"{archive}: holds no package folder (only '.')")
        if "bagit.txt" in tops and len(tops) > 1:
            # The bag's own files at the top: give them a folder of their own.
            for m in members:
                m.name = f"package/{m.name}"
            tops = {"package"}
        if len(tops) != 1:
            raise UnsafeArchive(f"{archive}: must hold exactly one package folder, "
                                f"found {sorted(tops)}")
        top = tops.pop()
        if not any(m.isdir() and m.name == top for m in members) and \
                any(m.name == top for m in members):
            raise UnsafeArchive(f"{archive}: {top!r} is a file; members must sit in one "
                                "named package folder")
        # Every member was checked above; the 'data' filter is a second guard.
        try:
            tf.extractall(dest, members=members, filter="data")
        except (tarfile.TarError, EOFError) as exc:
            raise UnsafeArchive(f"{archive}: cannot be extracted ({exc})") from exc
    return dest / top


def _checked_members(tf: tarfile.TarFile, archive: Path, max_bytes: int,
                     max_members: int) -> tuple[list[tarfile.TarInfo], set[str]]:
    """The archive's members with their names normalised (no ``./``), and their top-level
    names; UnsafeArchive at the first dangerous member."""
    members: list[tarfile.TarInfo] = []
    names: set[str] = set()
    tops: set[str] = set()
    total = 0
    for count, m in enumerate(tf):
        if count >= max_members:
            raise UnsafeArchive(f"{archive}: more than {max_members} members (refused)")
        name = m.name
        p = PurePosixPath(name)
        if name.startswith("/") or p.is_absolute() or "\\" in name or \
                (p.parts and ":" in p.parts[0]):
            raise UnsafeArchive(f"{archive}: member {name!r} has an absolute path (refused)")
        if ".." in p.parts:
            raise UnsafeArchive(f"{archive}: member {name!r} contains '..' (refused)")
        if m.issym() or m.islnk():
            raise UnsafeArchive(f"{archive}: member {name!r} is a link to "
                                f"{m.linkname!r} (refused)")
        if not (m.isfile() or m.isdir()):
            raise UnsafeArchive(f"{archive}: member {name!r} is not a regular file or "
                                "folder (device, FIFO; refused)")
        if not p.parts:  # '.' or './': the folder tar was run in
            if not m.isdir():
                raise UnsafeArchive(f"{archive}: member {name!r} is not a folder (refused)")
            continue
        norm = "/".join(p.parts)  # pathlib drops './' and inner '.' parts
        if norm in names:
            raise UnsafeArchive(f"{archive}: member {name!r} appears twice (refused)")
        names.add(norm)
        tops.add(p.parts[0])
        total += m.size
        if total > max_bytes:
            raise UnsafeArchive(f"{archive}: members exceed {max_bytes} bytes (refused)")
        m.name = norm
        members.append(m)
    return members, tops


def _scan_tree(bag: Path) -> list[str]:
    """Symlinks and special files anywhere in the bag; they are never followed or read."""
    problems = []
    for dirpath, dirnames, filenames in os.walk(bag, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(bag).as_posix()
            mode = os.lstat(p).st_mode
            if stat.S_ISLNK(mode):
                problems.append(f"{rel}: is a symlink (to {os.readlink(p)!r}); a package "
                                "holds regular files only")
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                problems.append(f"{rel}: is not a regular file (device, FIFO or socket)")
    return problems


def _bag_problems(bag: Path) -> list[str]:
    """Full bagit validation (every byte re-hashed), phrased per file."""
    problems: list[str] = []
    try:
        b = bagit.Bag(str(bag))
    except bagit.BagError as exc:
        return [f"bag: not a valid bag ({exc})"]
    if b.algorithms != ["sha256"]:
        problems.append(f"manifests: sha256 only expected, found {b.algorithms}")
    listed_tags = set(b.tagfile_entries())
    for t in TAG_FILES:
        if t not in listed_tags:
            problems.append(f"tagmanifest-sha256.txt: does not list {t}")
    try:
        only_in_manifest, only_on_fs = b.compare_manifests_with_fs()
    except Exception as exc:  # report any bagit failure as a problem
        return problems + [f"bag: cannot compare manifests with files ({exc})"]
    problems += [f"{p}: missing (listed in the manifest)" for p in sorted(only_in_manifest)]
    problems += [f"{p}: extra file (not in the manifest)" for p in sorted(only_on_fs)]
    try:
        b.validate(processes=1, fast=False)  # never fast: re-hash every byte
    except bagit.BagValidationError as exc:
        detailed = False
        for d in exc.details or []:
            if isinstance(d, bagit.ChecksumMismatch):
                detailed = True
                problems.append(f"{d.path}: sha256 mismatch (manifest {d.expected}, "
                                f"file {d.found}): content changed")
            elif isinstance(d, (bagit.FileMissing, bagit.UnexpectedFile)):
                detailed = True  # already named above
            else:
                problems.append(f"bag: {d}")
        if not detailed and not (only_in_manifest or only_on_fs):
            problems.append(f"bag: {exc}")
        if not any(isinstance(d, bagit.ChecksumMismatch) for d in exc.details or []):
            # bagit stops at the count or completeness check before hashing; still hash
            # what is there so that changed files are named too.
            problems += _rehash(b, bag)
    except bagit.BagError as exc:
        problems.append(f"bag: {exc}")
    return problems


def _rehash(b: bagit.Bag, bag: Path) -> list[str]:
    out = []
    for rel, hashes in sorted(b.entries.items()):
        p = bag / rel
        if "sha256" not in hashes or not p.is_file() or p.is_symlink():
            continue
        digest = sha256_file(p)
        if digest != hashes["sha256"].lower():
            out.append(f"{rel}: sha256 mismatch (manifest {hashes['sha256']}, file "
                       f"{digest}): content changed")
    return out


def _signature_problems(bag: Path, trusted: dict, info: dict) -> tuple[list[str], str | None]:
    problems: list[str] = []
    try:
        sig = json.loads((bag / "signature.json").read_text(encoding="utf-8"))
        kid = sig["key_id"]
        signature = base64.b64decode(sig["signature"], validate=True)
    except FileNotFoundError:
        return ["signature.json: missing; the package is not signed"], None
    except (ValueError, KeyError, TypeError) as exc:
        return [f"signature.json: unreadable ({exc!r})"], None
    if sig.get("format") != SIGNATURE_FORMAT or sig.get("algorithm") != "Ed25519":
        problems.append(f"signature.json: unknown format {sig.get('format')!r} / "
                        f"algorithm {sig.get('algorithm')!r}")
    if sig.get("signed_file") != "tagmanifest-sha256.txt":
        problems.append(f"signature.json: signs {sig.get('signed_file')!r}, "
                        "expected tagmanifest-sha256.txt")
    bag_kid = info.get("Signing-Key-Id")
    if bag_kid != kid:
        problems.append(f"bag-info.txt: Signing-Key-Id {bag_kid!r} differs from "
                        f"signature.json key {kid!r}")
    try:
        signed = (bag / "tagmanifest-sha256.txt").read_bytes()
    except FileNotFoundError:
        return problems + ["tagmanifest-sha256.txt: missing; nothing to check the "
                           "signature against"], kid
    if not trusted:
        problems.append(f"signature.json: no trusted public key given, so the signature of "
                        f"key {kid} cannot be checked (pass --pubkey PEM or a keyring)")
    elif kid not in trusted:
        problems.append(f"signature.json: signed by key {kid}, which is not in the keyring or "
                        f"the given public keys ({', '.join(sorted(trusted))})")
    elif not verify_signature(trusted[kid], signature, signed):
        problems.append(f"signature.json: signature by key {kid} does not match "
                        "tagmanifest-sha256.txt (tag files or manifests changed after sealing)")
    return problems, kid


def _timeline_problems(bag: Path, info: dict) -> list[str]:
    path = bag / "data" / "timeline.jsonl"
    if not path.is_file() or path.is_symlink():
        return []  # reported as a missing file
    events, problems = [], []
    # Strict: in a sealed package every line must be a whole event (no torn tail allowed).
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        try:
            events.append(json.loads(line))
        except ValueError:
            problems.append(f"data/timeline.jsonl line {n}: not a valid JSON event")
    if problems:
        return problems
    brk = verify_chain(events)
    if brk is not None:
        reason = brk.reason.removeprefix(f"event {brk.index}: ")
        problems.append(f"data/timeline.jsonl: chain broken at event {brk.index}: {reason}")
    want_n, want_head = info.get("Timeline-Events"), info.get("Timeline-Head")
    head = events[-1].get("hash") if events else GENESIS
    if want_n is not None and str(len(events)) != str(want_n):
        problems.append(f"data/timeline.jsonl: has {len(events)} events, bag-info.txt records "
                        f"{want_n} (events added or removed at the end)")
    elif want_head is not None and head != want_head:
        problems.append(f"data/timeline.jsonl: last event hash differs from bag-info.txt "
                        f"Timeline-Head (event {len(events) - 1} replaced)")
    return problems


def _ledger_problems(ledger_path: Path, package_id: str, bag: Path) -> list[str]:
    ledger = Ledger(ledger_path)
    problems = [p for p in ledger.verify(None) if "does not exist" not in p]
    if not ledger_path.exists():
        return [f"{ledger_path}: ledger file does not exist"]
    entry = ledger.find(package_id)
    if entry is None:
        return problems + [f"{ledger_path}: no entry for package {package_id} (removed from "
                           "the ledger, or sealed elsewhere)"]
    tm = bag / "tagmanifest-sha256.txt"
    if tm.is_file():
        digest = sha256_file(tm)
        if digest != entry.get("tagmanifest_sha256"):
            problems.append(f"{ledger_path}: entry {entry.get('seq')} records a different "
                            f"tagmanifest-sha256.txt for package {package_id} (package replaced)")
    return problems


def read_bag_info(bag: Path) -> dict:
    """bag-info.txt as {name: value} (first value of repeated names)."""
    info: dict = {}
    path = bag / "bag-info.txt"
    if not path.is_file():
        return info
    for line in path.read_text(encoding="utf-8").splitlines():
        if ":" in line and not line[:1].isspace():
            k, v = line.split(":", 1)
            info.setdefault(k.strip(), v.strip())
    return info


def verify_package(path: Path, *, keyring: dict | None = None, pubkeys=(),
                   ledger: Path | None = None) -> VerifyReport:
    """Full verification of a bag folder or .tar; never fast mode."""
    t0 = time.perf_counter()
    path = Path(path)
    if path.is_file():
        tmp = Path(tempfile.mkdtemp(prefix="kiosk-verify-"))
        try:
            try:
                bag = safe_extract(path, tmp)
            except UnsafeArchive as exc:
                return VerifyReport(False, [str(exc)], seconds=time.perf_counter() - t0)
            rep = _verify_folder(bag, keyring, pubkeys, ledger)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    elif path.is_dir():
        rep = _verify_folder(path, keyring, pubkeys, ledger)
    else:
        rep = VerifyReport(False, [f"{path}: no such package folder or archive"])
    rep.seconds = time.perf_counter() - t0
    return rep


def _verify_folder(bag: Path, keyring, pubkeys, ledger) -> VerifyReport:
    if bag.is_symlink():
        return VerifyReport(False, [f"{bag}: the package folder is a symlink"])
    problems = _scan_tree(bag)
    if problems:
        # Never read through a link or a device: stop before hashing.
        return VerifyReport(False, problems)
    info = read_bag_info(bag)
    package_id = info.get("External-Identifier") or bag.name
    for entry in sorted(os.listdir(bag)):
        if entry != "data" and entry not in ROOT_FILES:
            problems.append(f"{entry}: extra file in the package root (not part of a sealed "
                            "package)")
    for name in sorted(ROOT_FILES):
        if not (bag / name).is_file():
            problems.append(f"{name}: missing")
    for rel in REQUIRED_PAYLOAD:
        if not (bag / rel).is_file():
            problems.append(f"{rel}: missing (every package has it)")
    problems += _bag_problems(bag)
    trusted: dict = dict(keyring or {})
    try:
        trusted.update(load_public_keys(pubkeys))
    except EvidenceError as exc:
        problems.append(str(exc))
    for kid, key in list(trusted.items()):
        if key_id_of(key) != kid:
            problems.append(f"keyring: entry {kid} holds key {key_id_of(key)}")
            del trusted[kid]
    sig_problems, kid = _signature_problems(bag, trusted, info)
    problems += sig_problems
    problems += _timeline_problems(bag, info)
    if ledger is not None:
        problems += _ledger_problems(Path(ledger), package_id, bag)
    # one message per distinct problem, in order of discovery
    problems = list(dict.fromkeys(problems))
    if problems:
        log.warning("package %s failed verification: %d problems", package_id, len(problems))
    return VerifyReport(not problems, problems, package_id=package_id, key_id=kid, info=info)
