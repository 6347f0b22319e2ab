"""Messages that arrive again: duplicates are counted, changed content is kept as a version.

WeCom re-delivers records (a pull from an older seq, an import of an overlapping file). The
first stored copy of a msgid is the evidence and is never replaced: a re-delivery with the same
content (same ``raw_sha256``) is a duplicate; one with different content is kept next to it in
the ``message_versions`` record collection (id ``MSGID:SHA256``), which both backends hold the
same way, and is counted. Identical duplicates are written again (an idempotent upsert), so a
batch replayed after a crash still completes its violations and dead letters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core import clock
from core.models import Message, Scope
from store.base import Store

VERSIONS = "message_versions"


@dataclass
class Redelivery:
    """One batch's messages sorted by whether their msgid was seen before."""

    write: list[Message] = field(default_factory=list)  # new msgids + identical re-deliveries
    new: int = 0  # msgids not stored before
    duplicates: int = 0  # re-deliveries of a stored (or earlier in the batch) msgid, changed or not
    versions: list[Message] = field(default_factory=list)  # re-deliveries with different content

    def version_records(self) -> list[tuple[str, str, dict[str, Any]]]:
        """``Batch.new_records`` entries: created only if absent, in the batch's own write."""
        now = clock.now_ms()
        return [
            (
                VERSIONS,
                version_id(m),
                {"msgid": m.msgid, "seq": m.seq, "raw": m.raw, "raw_sha256": m.raw_sha256, "received_ms": now},
            )
            for m in self.versions
        ]


def version_id(message: Message) -> str:
    return f"{message.msgid}:{message.raw_sha256}"


def split_redeliveries(store: Store, messages: list[Message]) -> Redelivery:
    """Which messages are new, which are duplicates, and which are changed versions."""
    stored = {m.msgid: m for m in store.get_messages([m.msgid for m in messages], scope=Scope.everything())}
    seen: dict[str, Message] = {}
    result = Redelivery()
    for m in messages:
        first = seen.get(m.msgid) or stored.get(m.msgid)
        if first is None:
            seen[m.msgid] = m
            result.new += 1
            result.write.append(m)
            continue
        result.duplicates += 1
        if first.masked:
            continue  # masked by retention or consent: the re-delivery must not bring the text back
        if m.raw_sha256 != first.raw_sha256:
            result.versions.append(m)
        elif m.msgid not in seen:
            seen[m.msgid] = m
            result.write.append(m)  # identical: rewriting it is idempotent and completes a replayed batch
    return result


def count_versions(store: Store, msgid: str | None = None) -> int:
    return store.count_records(VERSIONS, {"msgid": msgid} if msgid else None)


def list_versions(store: Store, msgid: str) -> list[dict[str, Any]]:
    """The other versions received for ``msgid``, oldest first (the stored message is the first)."""
    return store.find_records(VERSIONS, {"msgid": msgid}, order_by="received_ms")
