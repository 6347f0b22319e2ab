"""Media: fetched after the text is indexed, so a slow download never holds up search.

Every media reference (top-level or nested in mixed/chatrecord) is queued in the
``media`` records collection. ``MediaFetcher.fetch_pending`` downloads in 512 KiB chunks
through the source, retries a chunk on transient errors, verifies filesize and md5sum
(re-downloading on a mismatch, as WeCom's md5 is occasionally wrong on a first try), and
stores the bytes content-addressed under ``DATA/media/ab/<sha256>.<ext>``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import clock
from core.errors import SourceError
from store.filemodes import make_private_dir, make_private_file

if TYPE_CHECKING:
    from core.models import Message
    from indexer.source.base import MediaChunk, Source
    from store.base import Store

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


def media_id(sdkfileid: str) -> str:
    return hashlib.sha1(sdkfileid.encode("utf-8")).hexdigest()


def media_queue_records(messages: list[Message]) -> list[tuple[str, str, dict[str, Any]]]:
    """The ``media`` records to create (if absent) for the messages' media, pending download.
    They are written with the batch (``Batch.new_records``), in the same transaction."""
    records: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for m in messages:
        for ref in m.media:
            mid = media_id(ref.sdkfileid)
            records.setdefault(
                mid,
                (
                    "media",
                    mid,
                    {
                        "sdkfileid": ref.sdkfileid,
                        "msgid": m.msgid,
                        "md5sum": ref.md5sum,
                        "size": ref.size,
                        "ext": ref.ext,
                        "name": ref.name,
                        "status": "pending",
                        "attempts": 0,
                        "path": "",
                        "error": "",
                    },
                ),
            )
    return list(records.values())


def iter_media(
    source: Source, sdkfileid: str, *, get_chunk: Callable[[str, str], MediaChunk] | None = None
) -> Iterator[bytes]:
    """Chunk loop over any source's ``get_media_data`` (protocol doc §6): the first call with
    indexbuf "", then each time the previous ``outindexbuf``, until ``is_finish``.
    ``get_chunk`` replaces the source's call (e.g. with per-chunk retries)."""
    get = get_chunk or source.get_media_data
    indexbuf = ""
    while True:
        chunk = get(sdkfileid, indexbuf)
        yield chunk.data
        if chunk.is_finish:
            return
        if not chunk.outindexbuf or chunk.outindexbuf == indexbuf:
            raise SourceError(
                f"GetMediaData for {sdkfileid[:16]}…: not finished but no new index returned", 10003, retryable=True
            )
        indexbuf = chunk.outindexbuf


def verify_media(data: bytes, sdkfileid: str, *, md5sum: str = "", size: int | None = None) -> None:
    """SourceError 10002 (retryable: WeCom's md5 is sometimes wrong on a first download) when the
    bytes do not have the declared size or md5."""
    if size is not None and len(data) != size:
        raise SourceError(f"media {sdkfileid[:16]}…: got {len(data)} bytes, expected {size}", 10002, retryable=True)
    if md5sum and hashlib.md5(data).hexdigest() != md5sum.lower():
        raise SourceError(f"media {sdkfileid[:16]}…: md5 mismatch (expected {md5sum})", 10002, retryable=True)


def fetch_media(source: Source, sdkfileid: str, *, md5sum: str = "", size: int | None = None) -> bytes:
    """Reassembles a media file and verifies its size and md5."""
    data = b"".join(iter_media(source, sdkfileid))
    verify_media(data, sdkfileid, md5sum=md5sum, size=size)
    return data


class MediaFetcher:
    def __init__(
        self,
        store: Store,
        source: Source,
        media_dir: Path,
        *,
        sleep: Callable[[float], None] = time.sleep,
        retry_delay: float = 0.5,
    ) -> None:
        self.store = store
        self.source = source
        self.media_dir = Path(media_dir)
        self.sleep = sleep
        self.retry_delay = retry_delay

    def _chunk(self, sdkfileid: str, indexbuf: str) -> Any:
        for attempt in range(MAX_ATTEMPTS):
            try:
                return self.source.get_media_data(sdkfileid, indexbuf)
            except SourceError as e:
                if not e.retryable or attempt == MAX_ATTEMPTS - 1:
                    raise
                self.sleep(self.retry_delay * (attempt + 1))
        raise AssertionError("unreachable")

    def download(self, sdkfileid: str) -> bytes:
        return b"".join(iter_media(self.source, sdkfileid, get_chunk=self._chunk))

    def fetch_one(self, mid: str, item: dict[str, Any]) -> dict[str, Any]:
        item = dict(item)
        item["attempts"] = int(item.get("attempts", 0)) + 1
        try:
            data = self.download(item["sdkfileid"])
            verify_media(
                data, item["sdkfileid"], md5sum=item.get("md5sum") or "", size=int(item.get("size") or 0) or None
            )
            digest = hashlib.sha256(data).hexdigest()
            path = self.media_dir / digest[:2] / f"{digest}.{item.get('ext') or 'bin'}"
            if not path.exists():
                make_private_dir(path.parent)
                tmp = path.with_suffix(path.suffix + ".part")
                tmp.write_bytes(data)
                make_private_file(tmp)
                tmp.replace(path)
            item.update(
                status="done",
                path=str(path.relative_to(self.media_dir)),
                sha256=digest,
                error="",
                fetched_ms=clock.now_ms(),
                unverified_md5=not item.get("md5sum"),
            )
        except SourceError as e:
            final = not e.retryable or item["attempts"] >= MAX_ATTEMPTS
            item.update(status="failed" if final else "pending", error=str(e))
            logger.warning("media %s (message %s): %s%s", mid, item.get("msgid"), e, "" if final else ", will retry")
        self.store.put_record("media", mid, item)
        return item

    def fetch_pending(self, *, limit: int = 200, deadline_s: float | None = None) -> dict[str, int]:
        started = time.monotonic()
        counts = {"done": 0, "failed": 0, "pending": 0}
        for item in self.store.find_records("media", {"status": "pending"}, limit=limit):
            if deadline_s is not None and time.monotonic() - started > deadline_s:
                break
            mid = item.pop("_id")
            result = self.fetch_one(mid, item)
            counts[result["status"]] += 1
        counts["backlog"] = self.store.count_records("media", {"status": "pending"})
        return counts
