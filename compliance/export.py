"""Exports of search results, with a manifest that makes them verifiable evidence.

``FILE`` holds the messages (csv, xlsx or jsonl); ``FILE.manifest.json`` holds the count,
the file's sha256, who exported, when, the query, the reason, the scope and every
exported message's msgid with its ``raw_sha256``. The export is scoped like every read
and logged in the audit trail with its reason (minimum necessity).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from compliance import audit
from compliance.access import EXPORT, require
from core.errors import BadInput, ChatArchiveError
from core.models import Message, MessageFilter
from store.context import ArchiveContext
from store.filemodes import make_private_file

log = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx", "jsonl")
COLUMNS = ("msgid", "seq", "time", "sender", "sender_kind", "chat_id", "chat_kind", "msgtype", "text", "raw_sha256")
# The heading row of csv and xlsx files: Chinese by default (the people an export is handed to
# read it); "en" gives the field names, for scripts written against English headings. The
# dashboard translates the Chinese headings through its one translation table (dashboard.i18n).
# jsonl keeps the field names: it is a machine format.
HEADERS: dict[str, tuple[str, ...]] = {
    "zh": ("消息ID", "序号", "时间", "发送方", "发送方类型", "会话ID", "会话类型", "消息类型", "内容", "原文SHA256"),
    "en": COLUMNS,
}


def _iter_results(archive: ArchiveContext, query: str, filters: MessageFilter | None = None) -> Iterator[Message]:
    """Every matching message in (seq, msgid) order, streamed by the store (search_after over
    a point in time on Elasticsearch): no offsets, so no 10,000-result window and no cap."""
    return archive.store.iter_messages(filters or MessageFilter(), scope=archive.scope, query=query)


def _filters_dict(filters: MessageFilter | None) -> dict[str, Any]:
    """The filters that narrowed the export (only those set), for the manifest and the trail."""
    if filters is None:
        return {}
    default = MessageFilter()
    return {k: v for k, v in vars(filters).items() if v != getattr(default, k)}


def _cell(value: Any) -> Any:
    """Spreadsheet-safe value: text starting like a formula is quoted (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _row(m: Message, tz: ZoneInfo) -> list[Any]:
    time_iso = datetime.fromtimestamp(m.time_ms / 1000, tz).isoformat(timespec="milliseconds")
    return [m.msgid, m.seq, time_iso, m.sender, m.sender_kind, m.chat_id, m.chat_kind, m.msgtype, m.text, m.raw_sha256]


def _heading(headers: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(headers, str):
        if headers not in HEADERS:
            raise BadInput(f"export headers must be one of {', '.join(HEADERS)}, got {headers!r}")
        return HEADERS[headers]
    if len(headers) != len(COLUMNS):
        raise BadInput(f"export headers need {len(COLUMNS)} names, got {len(headers)}")
    return tuple(str(h) for h in headers)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def export_messages(
    archive: ArchiveContext,
    query: str,
    fmt: str,
    out: Path | str,
    reason: str,
    *,
    now_ms: int | None = None,
    operator: str = "",
    filters: MessageFilter | None = None,
    headers: str | Sequence[str] = "zh",
) -> dict[str, Any]:
    """Writes the export and its manifest; returns ``{"count", "sha256", "file", "manifest"}``.

    ``archive`` is a ``chatarchive.archive.Archive`` (its actor, role and scope apply);
    ``operator`` names who ran it on the account's behalf (``--as`` in the CLI); ``headers``
    is a language of ``HEADERS`` or the headings themselves (one per column of ``COLUMNS``)."""
    reason = audit.require_reason(reason)
    if fmt not in FORMATS:
        raise BadInput(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    heading = _heading(headers)
    require(archive, EXPORT)
    out = Path(out)
    if not out.parent.is_dir():
        raise BadInput(f"output directory {out.parent} does not exist")
    tz = ZoneInfo(archive.settings.timezone)
    manifest_path = out.with_name(out.name + ".manifest.json")
    tmp = out.with_name(f".{out.name}.partial")
    hashes: list[dict[str, str]] = []
    try:
        if fmt == "csv":
            with tmp.open("w", encoding="utf-8-sig", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(heading)
                for m in _iter_results(archive, query, filters):
                    writer.writerow([_cell(v) for v in _row(m, tz)])
                    hashes.append({"msgid": m.msgid, "raw_sha256": m.raw_sha256})
        elif fmt == "jsonl":
            with tmp.open("w", encoding="utf-8") as f:
                for m in _iter_results(archive, query, filters):
                    doc = m.to_dict()
                    doc.pop("words", None)
                    f.write(json.dumps(doc, ensure_ascii=False) + "\n")
                    hashes.append({"msgid": m.msgid, "raw_sha256": m.raw_sha256})
        else:
            from openpyxl import Workbook

            book = Workbook(write_only=True)
            sheet = book.create_sheet("messages")
            sheet.append(list(heading))
            for m in _iter_results(archive, query, filters):
                sheet.append([_cell(v) for v in _row(m, tz)])
                hashes.append({"msgid": m.msgid, "raw_sha256": m.raw_sha256})
            book.save(tmp)
        make_private_file(tmp)
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ChatArchiveError(f"cannot write {out}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    digest = _sha256_file(out)
    entry = audit.record(
        archive.store,
        archive.actor,
        "export",
        str(out),
        {
            "query": query,
            "filters": _filters_dict(filters),
            "format": fmt,
            "count": len(hashes),
            "sha256": digest,
            "scope": archive.scope.to_dict(),
            **({"operator": operator} if operator else {}),
        },
        reason,
        now_ms=now_ms,
    )
    manifest = {
        "file": out.name,
        "format": fmt,
        "count": len(hashes),
        "sha256": digest,
        "who": archive.actor,
        **({"operator": operator} if operator else {}),
        "when": datetime.fromtimestamp(entry["time_ms"] / 1000, tz).isoformat(timespec="seconds"),
        "query": query,
        "filters": _filters_dict(filters),
        "reason": reason,
        "scope": archive.scope.to_dict(),
        "audit_seq": entry["seq"],
        "messages": hashes,
    }
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    make_private_file(manifest_path)
    log.info("exported %d message(s) to %s", len(hashes), out)
    return {"count": len(hashes), "sha256": digest, "file": str(out), "manifest": str(manifest_path)}
