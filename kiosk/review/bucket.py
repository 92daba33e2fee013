"""Recordings from the evidence bucket when the local bag is gone (a streamed proxy).

The archive in the bucket is an uncompressed tar, so the recording's bytes lie contiguous at a
fixed offset inside it. ``BucketMedia`` finds that offset once per package (the tar headers,
read with ranged GETs; ``kiosk.evidence.objectstore.ObjectStore.member_spans``) and answers a
browser's ``Range: bytes=a-b`` with a ranged GET of ``offset+a .. offset+b``: the video element
seeks as it does on the local file, and no archive is downloaded whole. A presigned URL cannot
do this: the browser's ranges would count from the start of the tar, not of the recording.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kiosk.evidence.storage import check_package_id

log = logging.getLogger(__name__)

RECORDINGS = (("recording.webm", "video/webm"), ("recording.mkv", "video/x-matroska"))
_CACHE = 256  # packages whose member offsets are remembered


@dataclass(frozen=True)
class RemoteMember:
    offset: int  # of the member's first byte in the archive object
    size: int
    mimetype: str


def byte_window(first: int | None, last: int | None, size: int) -> tuple[int, int] | None:
    """One HTTP byte range (``first``/``last`` as in ``bytes=first-last``; ``first`` None is
    a suffix of ``last`` bytes) of a ``size``-byte file -> (start, end) inclusive, or None when
    it is not satisfiable (RFC 9110 14.1.2)."""
    if size <= 0:
        return None
    if first is None:
        if last is None or last <= 0:
            return None
        return max(0, size - last), size - 1
    if first >= size or (last is not None and last < first):
        return None
    return first, size - 1 if last is None else min(last, size - 1)


class BucketMedia:
    """The recording of a package, read from the object store (``objects``: an
    ``ObjectStore``; any object with ``location``, ``member_spans``, ``read_range``)."""

    def __init__(self, objects: Any) -> None:
        self.objects = objects
        self._spans: OrderedDict[str, RemoteMember | None] = OrderedDict()
        self._lock = threading.Lock()

    def recording(self, package_id: str) -> RemoteMember | None:
        """Where the package's recording is in its archive, or None when the archive has
        none. ObjectStoreError when the bucket cannot be read."""
        check_package_id(package_id)
        with self._lock:
            if package_id in self._spans:
                self._spans.move_to_end(package_id)
                return self._spans[package_id]
        spans = self.objects.member_spans(self.objects.location(package_id))
        found = None
        for name, mime in RECORDINGS:
            span = spans.get(f"{package_id}/data/{name}")
            if span is not None:
                found = RemoteMember(span.offset, span.size, mime)
                break
        with self._lock:
            self._spans[package_id] = found
            while len(self._spans) > _CACHE:
                self._spans.popitem(last=False)
        return found

    def read(self, package_id: str, member: RemoteMember, start: int,
             end: int) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive) of the member, streamed."""
        if not 0 <= start <= end < member.size:
            raise ValueError(f"range {start}-{end} outside a {member.size}-byte recording")
        return self.objects.read_range(self.objects.location(package_id),
                                       member.offset + start, member.offset + end)
