"""Seal a witness session directory into a signed BagIt package plus a .tar of it.

Package layout (``<out_dir>/<package_id>/``, and the same tree in ``<package_id>.tar``)::

    bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt  signature.json
    data/recording.webm        (or recording.mkv when no webm was finalised)
    data/prompts/<sha256>.wav  every guide prompt sent to the page
    data/timeline.jsonl        the hash-chained timeline, complete lines only
    data/checks/*.json  data/keyframes/*.jpg  (when present)
    data/id_card/card.json  data/id_card/front.jpg  data/id_card/back.jpg
                               the ID card as the broker sent it, masked per id_mask, with its
                               OCR fields, confidences and checks (kiosk.witness.id_card)
    data/flow.yaml  data/flow.json  data/applicant.json  data/report.json  data/summary.html

Choices, and why:

* The bag is BagIt 1.0 (RFC 8493) with sha256 manifests only. We write the manifest and tag
  files ourselves, in bagit-python's format, instead of calling ``bagit.make_bag``: make_bag
  ``os.chdir``s (process-wide, unsafe in the threaded server) and always re-hashes every file,
  while the recorder can hand us hashes it computed while writing (``precomputed``). bagit-python
  then checks the structure at sealing (``validate(completeness_only=True)``, no hashing) and
  is the validator that re-hashes every byte in ``verify_package``.
* ``signature.json`` holds an Ed25519 signature over the exact bytes of
  ``tagmanifest-sha256.txt``. It cannot be listed in the tag manifest it signs, so it is the one
  tag file outside it; verification allows exactly that set of root files and nothing else.
  The tag manifest covers ``bag-info.txt`` (session, outcome, retention, key id, timeline head),
  which is therefore signed as well.
* RFC 3161 timestamps are not implemented: ``tsa_url`` raises ConfigError, and without it
  bag-info says ``Timestamp-Authority: none configured``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import shutil
import tarfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import bagit

from kiosk.atomic_files import DIR_MODE, FILE_MODE, make_private_dir
from kiosk.errors import ConfigError, EvidenceError
from kiosk.evidence.keys import SigningKeys
from kiosk.evidence.ledger import Ledger
from kiosk.evidence.report import build_report, render_summary_html, summarize_check
from kiosk.evidence.storage import EvidenceStorage, check_package_id
from kiosk.logs import session_context
from kiosk.session import TERMINAL
from kiosk.timeline import GENESIS, read_timeline, verify_chain
from kiosk.utc import utc_iso

log = logging.getLogger(__name__)

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt")
ROOT_FILES = frozenset(TAG_FILES + ("tagmanifest-sha256.txt", "signature.json"))
SIGNATURE_FORMAT = "witness-kiosk-signature/1"
MASKS = ("keep_last4", "full", "none")
TSA_NONE = "none configured"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class SealResult:
    bag_dir: Path
    archive: Path
    package_id: str
    ledger_index: int
    seconds: float
    tagmanifest_sha256: str = ""


def mask_id_number(value: str, mask: str) -> str:
    """Mask an ID number: keep_last4 -> '**************8888', full -> all '*', none -> as is."""
    if mask not in MASKS:
        raise ConfigError(f"unknown ID number mask {mask!r}; use one of {', '.join(MASKS)}")
    value = str(value)
    if mask == "none":
        return value
    if mask == "keep_last4" and len(value) > 4:
        return "*" * (len(value) - 4) + value[-4:]
    return "*" * len(value)


def retain_until(start: date, years: int) -> date:
    """``start`` plus ``years``; 29 February rolls forward to 1 March (never shorter)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


def _parse_day(value, fallback: date) -> date:
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    return fallback




def _tag_value(v) -> str:
    # Tag values are one line each (bagit-python strips CR/LF the same way).
    text = "none" if v is None else (json.dumps(v) if isinstance(v, bool) else str(v))
    return re.sub(r"[\r\n]+", " ", text).strip() or "none"


def _kiosk_version() -> str:
    try:
        from importlib.metadata import version
        return version("witness-kiosk")
    except Exception:  # not installed as a distribution (running from a checkout)
        return "unknown"


class _BagWriter:
    """Writes payload files under data/, fsynced, and collects their sha256."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        make_private_dir(root)
        self.data.mkdir(mode=DIR_MODE)
        self.entries: dict[str, str] = {}  # "data/rel" -> sha256
        self.bytes = 0

    def _dest(self, rel: str) -> Path:
        dest = self.data / rel
        make_private_dir(dest.parent)
        return dest

    def copy(self, src: Path, rel: str, known_sha256: str | None = None) -> str:
        dest = self._dest(rel)
        if known_sha256:
            with open(src, "rb") as fin, _create(dest) as fout:
                shutil.copyfileobj(fin, fout, _CHUNK)  # the hash came from the recorder
                fout.flush()
                os.fsync(fout.fileno())
            digest = known_sha256
        else:
            h = hashlib.sha256()
            with open(src, "rb") as fin, _create(dest) as fout:
                while block := fin.read(_CHUNK):
                    h.update(block)
                    fout.write(block)
                fout.flush()
                os.fsync(fout.fileno())
            digest = h.hexdigest()
        self.bytes += dest.stat().st_size
        self.entries[f"data/{rel}"] = digest
        return digest

    def write(self, rel: str, content: bytes) -> str:
        dest = self._dest(rel)
        _write_synced(dest, content)
        digest = hashlib.sha256(content).hexdigest()
        self.bytes += len(content)
        self.entries[f"data/{rel}"] = digest
        return digest


def _create(path: Path):
    """A new file for writing, 0600 whatever the umask (a bag is written once, in a private
    work folder that is renamed into place when complete)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "wb")


def _write_synced(path: Path, content: bytes) -> None:
    with _create(path) as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())


def _regular_file(path: Path) -> bool:
    """True for a regular file; a symlink in a session directory is refused outright."""
    if path.is_symlink():
        raise EvidenceError(f"{path}: is a symlink; session files must be regular files")
    return path.is_file()


def _files(folder: Path, pattern: str) -> list[Path]:
    if not folder.is_dir() or folder.is_symlink():
        return []
    return [p for p in sorted(folder.glob(pattern)) if _regular_file(p)]


def _load_session(session_dir: Path) -> dict:
    path = session_dir / "session.json"
    try:
        session = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise EvidenceError(f"{path}: missing; cannot seal a session without it") from exc
    except ValueError as exc:
        raise EvidenceError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(session, dict) or not session.get("id"):
        raise EvidenceError(f"{path}: must be an object with an 'id'")
    years = session.get("retention_years", 20)
    if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 100:
        raise EvidenceError(f"{path}: retention_years must be a whole number 1..100, "
                            f"not {years!r}")
    return session


def _timeline_bytes(path: Path) -> tuple[bytes, list[dict], int]:
    """(complete lines exactly as written, their events, bytes dropped after them)."""
    if not path.exists():
        return b"", [], 0
    if not _regular_file(path):
        raise EvidenceError(f"{path}: not a regular file")
    raw = path.read_bytes()
    events = read_timeline(path)
    lines = raw.splitlines(keepends=True)
    kept = b"".join(lines[: len(events)])
    if kept and not kept.endswith(b"\n"):
        kept += b"\n"
    return kept, events, max(0, len(raw) - len(kept))


def seal_package(session_dir: Path, out_dir: Path, keys: SigningKeys, ledger: Ledger, *,
                 mask: str = "keep_last4", tsa_url: str | None = None, recovered: bool = False,
                 precomputed: dict[str, str] | None = None,
                 storage: EvidenceStorage | None = None,
                 include_id_photo: bool = False, incomplete: dict | None = None,
                 package_id: str | None = None,
                 supplement_of: str | None = None) -> SealResult:
    """Seal ``session_dir`` into ``out_dir/<id>/`` and ``out_dir/<id>.tar``; record it in
    ``ledger``.

    ``incomplete``: the package is knowingly partial (a node lost with the recording and the
    checks, ``kiosk.recovery.seal_lost_from_shared_state``): ``{"reason": str, "node": str,
    "lost_at": ISO time, "text": str}``, kept as ``incomplete`` in ``report.json`` and as
    ``Witness-Incomplete`` in ``bag-info.txt`` (both signed). ``package_id``: the package's
    id when it is not the session id (a supplement, ``<session id>.supplement``);
    ``supplement_of``: the id of the package this one completes (``Witness-Supplement-Of``).

    ``precomputed`` maps session-relative paths (``recording.webm``, ``prompts/<x>.wav``) to
    their sha256 hex, computed by the recorder while writing; those files are then copied
    without re-hashing. A wrong hash is not trusted for ever: every verification re-hashes.
    """
    t0 = time.perf_counter()
    session_dir, out_dir = Path(session_dir), Path(out_dir)
    if tsa_url:
        raise ConfigError(f"tsa_url={tsa_url!r}: RFC 3161 timestamping is not implemented in "
                          "this build; leave tsa_url unset (packages then say "
                          "'Timestamp-Authority: none configured')")
    if mask not in MASKS:
        raise ConfigError(f"unknown ID number mask {mask!r}; use one of {', '.join(MASKS)}")
    precomputed = dict(precomputed or {})
    for rel, digest in precomputed.items():
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise EvidenceError(f"precomputed hash for {rel!r} is not 64 lowercase hex digits")
    if not session_dir.is_dir():
        raise EvidenceError(f"{session_dir}: session directory does not exist")
    session = _load_session(session_dir)
    package_id = check_package_id(package_id or str(session["id"]))
    with session_context(str(session["id"])):
        return _seal(session_dir, out_dir, keys, ledger, session, package_id, mask=mask,
                     recovered=recovered or bool(session.get("recovered")),
                     precomputed=precomputed, storage=storage,
                     include_id_photo=include_id_photo, t0=t0, incomplete=incomplete,
                     supplement_of=supplement_of)


def _seal(session_dir: Path, out_dir: Path, keys: SigningKeys, ledger: Ledger, session: dict,
          package_id: str, *, mask: str, recovered: bool, precomputed: dict[str, str],
          storage, include_id_photo: bool, t0: float, incomplete: dict | None = None,
          supplement_of: str | None = None) -> SealResult:
    bag_dir = out_dir / package_id
    archive = out_dir / f"{package_id}.tar"
    _clear_unfinished(out_dir, package_id, ledger)
    make_private_dir(out_dir)
    work = out_dir / f".tmp-{package_id}-{uuid.uuid4().hex[:8]}"
    notes: list[str] = []
    if incomplete:
        notes.append(f"incomplete: {incomplete.get('text')}")
    if supplement_of:
        notes.append(f"supplement to package {supplement_of}: what the node that ran the "
                     "witness held on its own disk, sealed when it started again")
    if session.get("state") not in TERMINAL:
        notes.append(f"sealed in state {session.get('state')!r}, not a terminal state")
    sealed_at = utc_iso(timespec="microseconds")
    try:
        w = _BagWriter(work)

        # -- recording: the finalised webm; the live mkv only when no webm exists ----------
        recording = None
        for name in ("recording.webm", "recording.mkv"):
            src = session_dir / name
            if _regular_file(src):
                digest = w.copy(src, name, precomputed.get(name))
                recording = {"file": name, "bytes": src.stat().st_size, "sha256": digest}
                if name == "recording.mkv":
                    notes.append("no finalised recording.webm: the live recording.mkv is "
                                 "packaged instead")
                break
        if recording is None:
            notes.append("no recording exists for this session")

        # -- guide prompts ------------------------------------------------------------------
        prompts = []
        for p in _files(session_dir / "prompts", "*.wav"):
            rel = f"prompts/{p.name}"
            digest = w.copy(p, rel, precomputed.get(rel))
            ok = p.stem == digest
            prompts.append({"file": rel, "bytes": p.stat().st_size, "name_matches_sha256": ok})
            if not ok:
                notes.append(f"{rel}: file name is not the sha256 of its content")

        # -- timeline: complete lines only; a crash can tear the last one -------------------
        tl_bytes, events, dropped = _timeline_bytes(session_dir / "timeline.jsonl")
        if not (session_dir / "timeline.jsonl").exists():
            notes.append("no timeline.jsonl in the session directory; an empty one is packaged")
        if dropped:
            notes.append(f"timeline.jsonl: {dropped} bytes after event {len(events) - 1} were "
                         "not a complete event (torn by a crash) and are not packaged")
        w.write("timeline.jsonl", tl_bytes)
        brk = verify_chain(events)
        if brk is not None:
            log.warning("timeline chain broken at sealing: event %d", brk.index)
            notes.append(f"timeline.jsonl chain was already broken at sealing: {brk.reason}")
        head = events[-1]["hash"] if events else GENESIS
        timeline_info = {"events": len(events), "head": head,
                         "chain": "intact" if brk is None else brk.reason,
                         "dropped_bytes": dropped}

        # -- checks, keyframes, flow --------------------------------------------------------
        checks = []
        for p in _files(session_dir / "checks", "*.json"):
            w.copy(p, f"checks/{p.name}", precomputed.get(f"checks/{p.name}"))
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except ValueError:
                data = None
                notes.append(f"checks/{p.name}: not valid JSON (packaged as is)")
            checks.append(summarize_check(p.name, data))
        for p in _files(session_dir / "keyframes", "*.jpg"):
            w.copy(p, f"keyframes/{p.name}", precomputed.get(f"keyframes/{p.name}"))
        if include_id_photo and _regular_file(session_dir / "id_photo.jpg"):
            w.copy(session_dir / "id_photo.jpg", "id_photo.jpg")
        id_card = _package_id_card(session_dir, w, session, mask, notes)

        flow_meta = dict(session.get("flow") or {})
        flow_src = session_dir / "flow.yaml"
        if _regular_file(flow_src):
            flow_meta["flow_yaml_sha256"] = w.copy(flow_src, "flow.yaml")
        else:
            flow_meta["flow_yaml_sha256"] = None
            notes.append("no flow.yaml in the session directory")
        w.write("flow.json", _json_bytes(flow_meta))

        applicant = dict(session.get("applicant") or {})
        raw_id = applicant.get("id_number")
        if raw_id is not None:
            applicant["id_number"] = mask_id_number(raw_id, mask)
        applicant["id_number_mask"] = mask
        w.write("applicant.json", _json_bytes(applicant))

        # -- retention ----------------------------------------------------------------------
        years = session.get("retention_years", 20)
        start = _parse_day(session.get("ended_at"), datetime.now(UTC).date())
        retention = {"years": years, "from": start.isoformat(),
                     "retain_until": retain_until(start, years).isoformat(),
                     "legal_hold": bool(session.get("legal_hold", False))}

        session_view = dict(session, recovered=recovered)
        report = build_report(
            package_id=package_id, sealed_at=sealed_at, key_id=keys.key_id, tsa=TSA_NONE,
            session=session_view, applicant=applicant, flow=flow_meta, retention=retention,
            recording=recording, timeline=timeline_info, events=events, checks=checks,
            prompts=prompts, notes=notes)
        if id_card is not None:
            report["id_card"] = id_card
        if incomplete:
            report["incomplete"] = dict(incomplete)
        if supplement_of:
            report["supplement_of"] = supplement_of
        report_bytes = _json_bytes(report)
        html_bytes = render_summary_html(report).encode("utf-8")
        if raw_id and mask != "none" and len(str(raw_id)) > 4:
            # Belt and braces: the unmasked number must not leak via events or checks.
            masked = applicant["id_number"].encode()
            report_bytes = report_bytes.replace(str(raw_id).encode(), masked)
            html_bytes = html_bytes.replace(str(raw_id).encode(), masked)
        w.write("report.json", report_bytes)
        w.write("summary.html", html_bytes)

        # -- tag files ----------------------------------------------------------------------
        manifest = "".join(f"{w.entries[k]}  {k}\n" for k in sorted(w.entries))
        _write_synced(work / "manifest-sha256.txt", manifest.encode("utf-8"))
        _write_synced(work / "bagit.txt", BAGIT_TXT)
        flow_tag = f"{flow_meta.get('id')}@{flow_meta.get('version')}"
        info = {
            "Bag-Software-Agent": f"witness-kiosk {_kiosk_version()} "
                                  f"(bagit-python {bagit.VERSION} format)",
            "Bagging-Date": sealed_at[:10],
            "Sealed-At": sealed_at,
            "External-Identifier": package_id,
            "External-Description": "Witness session evidence: recording, guide audio, "
                                    "timeline, checks and flow script",
            "Payload-Oxum": f"{w.bytes}.{len(w.entries)}",
            "Witness-Session-Id": session.get("id"),
            "Witness-Flow": flow_tag,
            "Witness-Flow-Id": flow_meta.get("id"),
            "Witness-Flow-Version": flow_meta.get("version"),
            "Witness-Flow-Content-Hash": flow_meta.get("content_hash"),
            "Witness-Locale": session.get("locale"),
            "Witness-Outcome": session.get("state"),
            "Witness-End-Reason": session.get("end_reason"),
            "Witness-Recovered": recovered,
            "Witness-Recording": recording["file"] if recording else "none",
            **({"Witness-Incomplete": incomplete.get("text")} if incomplete else {}),
            **({"Witness-Supplement-Of": supplement_of} if supplement_of else {}),
            "Applicant-Id-Masking": mask,
            "Timeline-Events": len(events),
            "Timeline-Head": head,
            "Retention-Years": years,
            "Retention-From": retention["from"],
            "Retain-Until": retention["retain_until"],
            "Legal-Hold": retention["legal_hold"],
            "Signing-Key-Id": keys.key_id,
            "Signature-File": "signature.json (Ed25519 over the bytes of "
                              "tagmanifest-sha256.txt; not listed in it)",
            "Timestamp-Authority": TSA_NONE,
        }
        _write_synced(work / "bag-info.txt", "".join(
            f"{k}: {_tag_value(v)}\n" for k, v in info.items()).encode("utf-8"))
        tagmanifest = "".join(
            f"{hashlib.sha256((work / n).read_bytes()).hexdigest()}  {n}\n" for n in TAG_FILES
        ).encode("utf-8")
        _write_synced(work / "tagmanifest-sha256.txt", tagmanifest)
        tm_sha = hashlib.sha256(tagmanifest).hexdigest()
        signature = {
            "format": SIGNATURE_FORMAT,
            "algorithm": "Ed25519",
            "key_id": keys.key_id,
            "signed_file": "tagmanifest-sha256.txt",
            "signed_file_sha256": tm_sha,
            "signature": base64.b64encode(keys.sign(tagmanifest)).decode("ascii"),
            "signed_at": sealed_at,
            # For reading only: verification trusts the keyring or given keys, never this.
            "public_key_pem": keys.public_pem().decode("ascii"),
            "timestamp": {"authority": TSA_NONE, "token": None},
        }
        _write_synced(work / "signature.json", _json_bytes(signature))

        try:  # bagit-python checks the structure we wrote (no hashing: that is for verify)
            bagit.Bag(str(work)).validate(completeness_only=True)
        except bagit.BagError as exc:
            raise EvidenceError(f"sealing {package_id}: bagit rejects the bag: {exc}") from exc

        # The archive first (from the work folder, under the package's name), then both put
        # in place: a full disk while the archive is written leaves no folder named as the
        # package, only temporaries, removed here, so the next attempt seals it afresh.
        archive_tmp = _archive_tmp(archive)
        _write_tar(work, package_id, archive_tmp)
        os.rename(work, bag_dir)
        os.replace(archive_tmp, archive)
        _fsync_dir(out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        _archive_tmp(archive).unlink(missing_ok=True)
        raise

    index = ledger.append(package_id, tm_sha, str(session.get("id")), sealed_at)
    if storage is not None:
        storage.put(archive)
    seconds = time.perf_counter() - t0
    log.info("sealed package %s in %.3f s (ledger entry %d, key %s)",
             package_id, seconds, index, keys.key_id)
    return SealResult(bag_dir=bag_dir, archive=archive, package_id=package_id,
                      ledger_index=index, seconds=seconds, tagmanifest_sha256=tm_sha)


ID_CARD_FILES = ("card.json", "front.jpg", "back.jpg")


def _package_id_card(session_dir: Path, w: _BagWriter, session: dict, mask: str,
                     notes: list[str]) -> dict | None:
    """Copy ``id_card/`` (images already masked when they were received) into the bag; the
    report's summary of it, or None when no card image was sent."""
    folder = session_dir / "id_card"
    if not folder.is_dir() or folder.is_symlink():
        return None
    card_file = folder / "card.json"
    summary: dict = {"files": [], "overall": None, "checks": {}}
    for name in ID_CARD_FILES:
        src = folder / name
        if not _regular_file(src):
            continue
        if name == "card.json":
            raw = src.read_bytes()
            raw_id = (session.get("applicant") or {}).get("id_number")
            if raw_id and mask != "none" and len(str(raw_id)) > 4:
                # Belt and braces: card.json holds the number masked already.
                raw = raw.replace(str(raw_id).encode(), mask_id_number(raw_id, mask).encode())
            w.write(f"id_card/{name}", raw)
            try:
                card = json.loads(raw.decode("utf-8"))
                summary["overall"] = card.get("overall")
                summary["checks"] = {c["name"]: c["status"] for c in card.get("checks") or []}
            except (ValueError, TypeError, KeyError, AttributeError):
                notes.append("id_card/card.json: not valid JSON (packaged as is)")
        else:
            w.copy(src, f"id_card/{name}")
        summary["files"].append(f"id_card/{name}")
    if not _regular_file(card_file):
        notes.append("id_card/: card images without their card.json")
    return summary


def _json_bytes(obj) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Same bytes for the same bag: no owner names, fixed modes.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if info.isdir() else 0o644
    return info


def write_archive(bag_dir: Path, archive: Path) -> Path:
    """An uncompressed .tar of ``bag_dir`` (media does not compress), written atomically: on
    any failure (a full disk) no archive and no temporary file is left."""
    tmp = _archive_tmp(archive)
    try:
        _write_tar(bag_dir, bag_dir.name, tmp)
        os.replace(tmp, archive)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return archive


def _archive_tmp(archive: Path) -> Path:
    return archive.with_name(f".{archive.name}.tmp")


def _write_tar(folder: Path, name: str, tmp: Path) -> None:
    """``folder`` as ``name/`` in the uncompressed .tar ``tmp``, synced (not yet in place)."""
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tf:
        tf.add(folder, arcname=name, recursive=True, filter=_normalise)
    os.chmod(tmp, FILE_MODE)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())


def _clear_unfinished(out_dir: Path, package_id: str, ledger: Ledger) -> None:
    """Refuse to seal ``package_id`` again once it is sealed here: the ledger records it (its
    entry is written once its folder and archive are in place) and its folder or archive is
    in ``out_dir`` (evidence is never overwritten). Without a ledger entry, anything under
    its name is an earlier attempt that did not finish (a full disk while the archive was
    written, a crash before the entry), not evidence yet: its folder, archive and temporaries
    are removed so that it is sealed again from the session's files (they used to be refused
    as "already sealed" for ever, the session never sealed nor queued)."""
    bag_dir = out_dir / package_id
    archive = out_dir / f"{package_id}.tar"
    if (bag_dir.exists() or archive.exists()) and ledger.find(package_id) is not None:
        raise EvidenceError(f"package {package_id} is already sealed; evidence is never "
                            "overwritten")
    leftovers = [p for p in (bag_dir, archive, _archive_tmp(archive)) if p.exists()]
    if out_dir.is_dir():
        leftovers += sorted(out_dir.glob(f".tmp-{package_id}-*"))
    if not leftovers:
        return
    log.warning("an unfinished earlier seal of this package (%s) is removed; sealing again",
                ", ".join(p.name for p in leftovers))
    for p in leftovers:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
