"""Sealed archives in S3-compatible object storage with Object Lock: boto3's one importer.

Each ``<package_id>.tar`` is PUT once, as a new object version that carries its own lock:

* ``ObjectLockMode`` COMPLIANCE (GOVERNANCE by the ``evidence_s3_lock_mode`` setting, which
  tests use) and ``ObjectLockRetainUntilDate`` = the package's ``Retain-Until`` (bag-info.txt,
  from the flow's ``retention_years``) at 00:00 UTC, the day ``kiosk evidence delete`` would
  first allow; ``ObjectLockLegalHoldStatus`` ON when the package is under legal hold.
* ``Content-MD5`` and ``x-amz-checksum-sha256`` computed from the local file, so an engine that
  checks them refuses a body damaged on the way (AWS S3, MinIO and Ceph RGW check Content-MD5;
  moto stores both without checking: see docs/operations.md).
* metadata ``kiosk-sha256`` (hex of the whole archive) and ``kiosk-package-id``.

An upload counts as confirmed only when a HEAD of the version just written shows the same size,
the SHA-256 (where the engine returns it), the lock mode, the retain-until date and the legal
hold that were asked for. ``kiosk.evidence.uploads`` retries until then.

The review console reads members of an archive in place: an uncompressed tar keeps each file's
bytes contiguous at a fixed offset, so ``member_spans`` reads the tar headers with ranged GETs
(64 KiB blocks) and ``read_range`` streams any byte range of one member.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from kiosk.errors import EvidenceError
from kiosk.evidence.storage import check_package_id

log = logging.getLogger(__name__)

LockMode = Literal["COMPLIANCE", "GOVERNANCE"]
LOCK_MODES: tuple[str, ...] = ("COMPLIANCE", "GOVERNANCE")
S3_SCHEME = "s3://"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_CHUNK = 1 << 20
_BLOCK = 64 * 1024  # ranged reads of tar headers
_MAX_MEMBERS = 20_000


class ObjectStoreError(EvidenceError):
    """The object store refused or could not be reached; the message names bucket and key and
    the engine's error code, never a credential."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}"


def is_s3_url(text: str) -> bool:
    return isinstance(text, str) and text.startswith(S3_SCHEME)


def parse_s3_url(url: str) -> S3Location:
    """``s3://bucket/key`` -> S3Location; ValueError naming what is wrong."""
    if not is_s3_url(url):
        raise ValueError(f"{url!r} is not an s3:// URL (s3://bucket/key)")
    bucket, _, key = url[len(S3_SCHEME):].partition("/")
    if not _BUCKET.match(bucket):
        raise ValueError(f"{url!r}: {bucket!r} is not a valid bucket name "
                         "(3-63 lowercase letters, digits, '.', '-')")
    if not key or key.endswith("/"):
        raise ValueError(f"{url!r}: no object key after the bucket (s3://bucket/key)")
    return S3Location(bucket, key)


@dataclass(frozen=True)
class LockTerms:
    """What an archive's object version is locked with."""

    mode: LockMode
    retain_until: datetime  # UTC
    legal_hold: bool

    @property
    def locked(self) -> bool:
        """False once the retention has ended: the object is then stored without a lock
        (engines refuse a retain-until date in the past)."""
        return self.retain_until > datetime.now(UTC)


@dataclass(frozen=True)
class StoredObject:
    """A confirmed upload: where, which version, and what was checked."""

    location: S3Location
    version_id: str
    size: int
    sha256: str  # hex
    terms: LockTerms


@dataclass(frozen=True)
class MemberSpan:
    """Where one tar member's bytes lie inside the archive object."""

    offset: int
    size: int


def retain_until_datetime(day: date) -> datetime:
    """The lock's end for a ``Retain-Until`` day: that day at 00:00 UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def archive_bag_info(archive: Path) -> dict[str, str]:
    """``bag-info.txt`` of a sealed ``<package_id>.tar`` (EvidenceError when it has none)."""
    archive = Path(archive)
    package_id = archive.name.removesuffix(".tar")
    try:
        with tarfile.open(archive, "r:") as tf:
            member = tf.getmember(f"{package_id}/bag-info.txt")
            fh = tf.extractfile(member)
            raw = fh.read(1 << 20) if fh is not None else b""
    except (KeyError, tarfile.TarError, OSError) as exc:
        raise EvidenceError(f"{archive.name}: no readable {package_id}/bag-info.txt "
                            f"({exc})") from exc
    info: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            info[name.strip()] = value.strip()
    return info


def lock_terms(archive: Path, mode: LockMode, legal_hold: bool | None = None) -> LockTerms:
    """The lock for ``archive`` from its bag-info (``Retain-Until``, ``Legal-Hold``);
    ``legal_hold`` given overrides the sealed value (a hold placed later, in the ledger)."""
    if mode not in LOCK_MODES:
        raise ValueError(f"lock mode {mode!r}: use COMPLIANCE or GOVERNANCE")
    info = archive_bag_info(archive)
    try:
        until = date.fromisoformat(info.get("Retain-Until", ""))
    except ValueError as exc:
        raise EvidenceError(f"{Path(archive).name}: bag-info.txt has no valid Retain-Until "
                            f"({info.get('Retain-Until')!r})") from exc
    hold = (info.get("Legal-Hold", "false").lower() == "true" if legal_hold is None
            else legal_hold)
    return LockTerms(mode, retain_until_datetime(until), hold)


def _digests(path: Path) -> tuple[str, str, str, int]:
    """(sha256 hex, sha256 base64, md5 base64, size) of a file, in one pass."""
    sha, md5 = hashlib.sha256(), hashlib.md5()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            sha.update(block)
            md5.update(block)
            size += len(block)
    return (sha.hexdigest(), base64.b64encode(sha.digest()).decode("ascii"),
            base64.b64encode(md5.digest()).decode("ascii"), size)


def _why(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{err.get('Code', '?')} (HTTP {status}): {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


class ObjectStore:
    """One bucket (and key prefix) of an S3-compatible engine, through one boto3 client.

    ``endpoint_url`` empty means AWS S3; credentials empty mean boto3's own chain
    (environment, ``~/.aws``, instance role). boto3 clients are thread-safe: the uploader
    thread and request threads share this one.
    """

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str = "",
                 region: str = "", access_key_id: str = "", secret_access_key: str = "",
                 lock_mode: LockMode = "COMPLIANCE", timeout_seconds: float = 30.0,
                 addressing_style: str = "auto") -> None:
        if not _BUCKET.match(bucket or ""):
            raise ValueError(f"evidence_s3_bucket {bucket!r} is not a valid bucket name")
        if prefix.startswith("/"):
            raise ValueError(f"evidence_s3_prefix {prefix!r} must not start with '/'")
        if lock_mode not in LOCK_MODES:
            raise ValueError(f"evidence_s3_lock_mode {lock_mode!r}: use COMPLIANCE or "
                             "GOVERNANCE")
        self.bucket = bucket
        self.prefix = prefix
        self.lock_mode: LockMode = lock_mode
        session = boto3.session.Session()
        self._client = session.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(connect_timeout=timeout_seconds, read_timeout=timeout_seconds,
                          retries={"max_attempts": 2, "mode": "standard"},
                          s3={"addressing_style": addressing_style}))

    @classmethod
    def from_settings(cls, settings, bucket: str | None = None) -> ObjectStore | None:
        """The store of the ``evidence_s3_*`` settings; None when ``evidence_s3_bucket`` is
        unset and no ``bucket`` is given (``kiosk evidence verify s3://...``)."""
        name = bucket or settings.evidence_s3_bucket
        if not name:
            return None
        return cls(name, prefix=settings.evidence_s3_prefix if not bucket else "",
                   endpoint_url=settings.evidence_s3_endpoint_url,
                   region=settings.evidence_s3_region,
                   access_key_id=settings.evidence_s3_access_key_id,
                   secret_access_key=settings.evidence_s3_secret_access_key,
                   lock_mode=settings.evidence_s3_lock_mode,
                   timeout_seconds=settings.evidence_s3_timeout_seconds,
                   addressing_style=settings.evidence_s3_addressing_style)

    # -- names --------------------------------------------------------------------------
    def location(self, package_id: str) -> S3Location:
        return S3Location(self.bucket, f"{self.prefix}{check_package_id(package_id)}.tar")

    # -- writing ------------------------------------------------------------------------
    def check_bucket(self) -> None:
        """ObjectStoreError unless the bucket exists with Object Lock enabled."""
        try:
            conf = self._client.get_object_lock_configuration(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise ObjectStoreError(f"s3://{self.bucket}: Object Lock configuration not "
                                   f"readable: {_why(exc)}") from exc
        state = conf.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        if state != "Enabled":
            raise ObjectStoreError(f"s3://{self.bucket}: Object Lock is not enabled on this "
                                   "bucket (create it with Object Lock; it cannot be added "
                                   "to every engine later)")

    def put_archive(self, archive: Path, terms: LockTerms) -> StoredObject:
        """PUT ``archive`` (``<package_id>.tar``) locked by ``terms`` and confirm it.

        When the current version under the key already holds these bytes (an upload confirmed
        by the engine but not yet here: a crash in between), it is confirmed without a second
        PUT. A different archive under the key is refused: evidence is never replaced.
        Raises ObjectStoreError (the local file stays as it was).
        """
        archive = Path(archive)
        package_id = archive.name.removesuffix(".tar")
        loc = self.location(package_id)
        sha_hex, sha_b64, md5_b64, size = _digests(archive)
        existing = self._head(loc, None, missing_ok=True)
        if existing is not None:
            theirs = (existing.get("Metadata") or {}).get("kiosk-sha256")
            if theirs != sha_hex:
                raise ObjectStoreError(
                    f"{loc}: already holds a different archive (sha256 {theirs or 'unknown'}, "
                    f"ours {sha_hex}); evidence is never replaced: resolve by hand")
            return self._confirm(loc, existing, size, sha_hex, sha_b64, terms)
        args: dict[str, Any] = {
            "Bucket": loc.bucket, "Key": loc.key, "ContentLength": size,
            "ContentType": "application/x-tar", "ContentMD5": md5_b64,
            "ChecksumAlgorithm": "SHA256", "ChecksumSHA256": sha_b64,
            "Metadata": {"kiosk-sha256": sha_hex, "kiosk-package-id": package_id},
            "ObjectLockLegalHoldStatus": "ON" if terms.legal_hold else "OFF",
        }
        if terms.locked:
            args["ObjectLockMode"] = terms.mode
            args["ObjectLockRetainUntilDate"] = terms.retain_until
        else:  # engines refuse a retain-until date in the past
            log.warning("%s: retention ended on %s; stored without a retention lock", loc,
                        terms.retain_until.date().isoformat())
        try:
            with open(archive, "rb") as body:
                put = self._client.put_object(Body=body, **args)
        except (BotoCoreError, ClientError) as exc:
            raise ObjectStoreError(f"{loc}: upload failed: {_why(exc)}") from exc
        version = put.get("VersionId")
        if not version:
            raise ObjectStoreError(f"{loc}: the engine returned no version id; is versioning "
                                   "(Object Lock) enabled on the bucket?")
        returned = put.get("ChecksumSHA256")
        if returned and returned != sha_b64:
            raise ObjectStoreError(f"{loc}: the engine's SHA-256 {returned} is not ours "
                                   f"{sha_b64}")
        head = self._head(loc, version)
        assert head is not None  # missing_ok is False
        return self._confirm(loc, head, size, sha_hex, sha_b64, terms)

    def _confirm(self, loc: S3Location, head: dict, size: int, sha_hex: str, sha_b64: str,
                 terms: LockTerms) -> StoredObject:
        problems = []
        if head.get("ContentLength") != size:
            problems.append(f"size {head.get('ContentLength')} is not {size}")
        if head.get("ChecksumSHA256") not in (None, sha_b64):
            problems.append(f"SHA-256 {head.get('ChecksumSHA256')} is not {sha_b64}")
        until = head.get("ObjectLockRetainUntilDate")
        if terms.locked and head.get("ObjectLockMode") != terms.mode:
            problems.append(f"lock mode {head.get('ObjectLockMode')} is not {terms.mode}")
        if terms.locked and (not isinstance(until, datetime)
                             or until.astimezone(UTC) < terms.retain_until):
            problems.append(f"retained until {until}, not {terms.retain_until.isoformat()}")
        hold = head.get("ObjectLockLegalHoldStatus") == "ON"
        if hold != terms.legal_hold:
            problems.append(f"legal hold {'ON' if hold else 'OFF'}, not "
                            f"{'ON' if terms.legal_hold else 'OFF'}")
        if problems:
            raise ObjectStoreError(f"{loc}: upload not confirmed: {'; '.join(problems)}")
        return StoredObject(loc, str(head.get("VersionId") or ""), size, sha_hex, terms)

    def _head(self, loc: S3Location, version_id: str | None, *,
              missing_ok: bool = False) -> dict | None:
        args: dict[str, Any] = {"Bucket": loc.bucket, "Key": loc.key, "ChecksumMode": "ENABLED"}
        if version_id:
            args["VersionId"] = version_id
        try:
            return self._client.head_object(**args)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if missing_ok and code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise ObjectStoreError(f"{loc}: not readable: {_why(exc)}") from exc
        except BotoCoreError as exc:
            raise ObjectStoreError(f"{loc}: not readable: {_why(exc)}") from exc

    def set_legal_hold(self, package_id: str, on: bool) -> str:
        """Place or lift the legal hold on the current version of a package's archive;
        returns its version id. ObjectStoreError when there is none or the engine refuses."""
        loc = self.location(package_id)
        head = self._head(loc, None)
        assert head is not None
        version = str(head.get("VersionId") or "")
        try:
            args: dict[str, Any] = {"Bucket": loc.bucket, "Key": loc.key,
                                    "LegalHold": {"Status": "ON" if on else "OFF"}}
            if version:
                args["VersionId"] = version
            self._client.put_object_legal_hold(**args)
        except (BotoCoreError, ClientError) as exc:
            raise ObjectStoreError(f"{loc}: legal hold not changed: {_why(exc)}") from exc
        return version

    # -- reading ------------------------------------------------------------------------
    def head(self, loc: S3Location, version_id: str | None = None) -> dict:
        """The object's HEAD (size, lock mode and date, legal hold, metadata)."""
        head = self._head(loc, version_id)
        assert head is not None
        return head

    def exists(self, package_id: str) -> bool:
        return self._head(self.location(package_id), None, missing_ok=True) is not None

    def download(self, loc: S3Location, dest: Path, version_id: str | None = None) -> Path:
        """Stream the object to ``dest`` (a new file); ObjectStoreError on any failure."""
        args: dict[str, Any] = {"Bucket": loc.bucket, "Key": loc.key}
        if version_id:
            args["VersionId"] = version_id
        try:
            got = self._client.get_object(**args)
            with open(dest, "xb") as out:
                for block in got["Body"].iter_chunks(_CHUNK):
                    out.write(block)
        except (BotoCoreError, ClientError) as exc:
            raise ObjectStoreError(f"{loc}: download failed: {_why(exc)}") from exc
        return dest

    def read_range(self, loc: S3Location, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive) of the object, in chunks as they arrive.
        The request is made before the first chunk is asked for, so a refusal raises here."""
        if start < 0 or end < start:
            raise ValueError(f"bad byte range {start}-{end}")
        try:
            got = self._client.get_object(Bucket=loc.bucket, Key=loc.key,
                                          Range=f"bytes={start}-{end}")
        except (BotoCoreError, ClientError) as exc:
            raise ObjectStoreError(f"{loc}: range {start}-{end} not readable: "
                                   f"{_why(exc)}") from exc
        body = got["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(256 * 1024)
            finally:
                body.close()

        return chunks()

    def member_spans(self, loc: S3Location) -> dict[str, MemberSpan]:
        """Every regular file of the archive object: tar name -> where its bytes are.
        Reads only the tar headers (ranged GETs of 64 KiB blocks)."""
        size = int(self.head(loc).get("ContentLength") or 0)
        reader = _RangedReader(self, loc, size)
        spans: dict[str, MemberSpan] = {}
        try:
            with tarfile.open(fileobj=reader, mode="r:") as tf:
                for n, info in enumerate(tf):
                    if n >= _MAX_MEMBERS:
                        raise ObjectStoreError(f"{loc}: more than {_MAX_MEMBERS} members")
                    if info.isreg():
                        spans[info.name] = MemberSpan(info.offset_data, info.size)
        except tarfile.TarError as exc:
            raise ObjectStoreError(f"{loc}: not a readable tar archive ({exc})") from exc
        return spans

    def _get_block(self, loc: S3Location, start: int, end: int) -> bytes:
        try:
            got = self._client.get_object(Bucket=loc.bucket, Key=loc.key,
                                          Range=f"bytes={start}-{end}")
            return got["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise ObjectStoreError(f"{loc}: range {start}-{end} not readable: "
                                   f"{_why(exc)}") from exc


class _RangedReader(io.RawIOBase):
    """A read-only, seekable view of an object, fetched in aligned 64 KiB blocks (for
    tarfile to walk the headers without downloading the members between them)."""

    def __init__(self, store: ObjectStore, loc: S3Location, size: int) -> None:
        self._store, self._loc, self._size, self._pos = store, loc, size, 0
        self._blocks: dict[int, bytes] = {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buf) -> int:
        want = min(len(buf), self._size - self._pos)
        if want <= 0:
            return 0
        index = self._pos // _BLOCK
        block = self._blocks.get(index)
        if block is None:
            start = index * _BLOCK
            block = self._store._get_block(self._loc, start,
                                           min(self._size, start + _BLOCK) - 1)
            if len(self._blocks) > 16:
                self._blocks.clear()
            self._blocks[index] = block
        at = self._pos - index * _BLOCK
        piece = block[at:at + want]
        buf[:len(piece)] = piece
        self._pos += len(piece)
        return len(piece)
