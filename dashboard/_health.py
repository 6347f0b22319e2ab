"""The banner shown on every page when the pipeline reports a stall or another alert.

``indexer.health`` keeps its counters (``meta/counters``: ``last_pull_ms``,
``last_error``) and the alerts in force (``meta/alerts``: ``{"alerts": [{"kind",
"severity", "message"}], "checked_ms"}``) in the store; this module only reads them.
The stall is also computed here from ``last_pull_ms``, so the banner appears even when
no scheduler has run ``health.check`` since the pull stopped.
"""

from __future__ import annotations

import logging

from chatarchive.archive import Archive
from core import clock
from dashboard.i18n import t

log = logging.getLogger(__name__)


def health_warning(archive: Archive, *, now_ms: int | None = None) -> str:
    """One warning text (alerts joined), or "" when the pipeline is healthy or has not run."""
    try:
        store = archive.store
        counters = store.get_record("meta", "counters") or {}
        alerts = list((store.get_record("meta", "alerts") or {}).get("alerts") or [])
    except Exception:  # noqa: BLE001 - a broken health record must not take the dashboard down
        log.exception("cannot read the pipeline's health records")
        return t("无法读取采集状态。")
    now = now_ms if now_ms is not None else clock.now_ms()
    messages: list[str] = []
    last = int(counters.get("last_pull_ms") or 0)
    stall_hours = float(archive.settings.stall_alert_hours)
    if last and (now - last) >= stall_hours * 3_600_000 and not any(a.get("kind") == "stall" for a in alerts):
        hours = (now - last) / 3_600_000
        messages.append(
            t(
                "会话采集已停滞 {hours} 小时，企业微信只保留 5 天未拉取的消息。最近的错误: {error}",
                hours=f"{hours:.1f}",
                error=counters.get("last_error") or "无",
            )
        )
    for a in alerts:
        if a.get("severity") == "error" or a.get("kind") == "stall":
            messages.append(str(a.get("message") or a.get("kind")))
    warnings = [
        str(a.get("message") or a.get("kind"))
        for a in alerts
        if a.get("severity") != "error" and a.get("kind") != "stall"
    ]
    if not messages and not warnings:
        return ""
    return "⚠ " + " · ".join(messages + warnings)


def pipeline_status(archive: Archive, *, now_ms: int | None = None) -> list[tuple[str, str]]:
    """The pipeline's counters as (label, value) rows for the sidebar: last pull, last seq,
    pulled / stored / dead-lettered, the media backlog and how old the newest message is
    (the lag behind the source, as far as the archive can tell without asking WeCom)."""
    try:
        store = archive.store
        counters = store.get_record("meta", "counters") or {}
        backlog = store.count_records("media", {"status": "pending"})
    except Exception:  # noqa: BLE001 - the status panel must not take the dashboard down
        log.exception("cannot read the pipeline's counters")
        return []
    if not counters:
        return []
    now = now_ms if now_ms is not None else clock.now_ms()

    def ago(ms: object) -> str:
        if not ms:
            return "—"
        minutes = max(0, (now - int(ms))) // 60_000  # type: ignore[arg-type]
        return f"{minutes // 60} 小时 {minutes % 60} 分钟前" if minutes >= 60 else f"{minutes} 分钟前"

    return [
        (t("上次采集"), ago(counters.get("last_pull_ms"))),
        (t("最新 seq"), str(counters.get("last_seq", "—"))),
        (t("已拉取"), f"{int(counters.get('pulled', 0)):,}"),
        (t("已存档"), f"{int(counters.get('stored', 0)):,}"),
        (t("无法处理的记录 (死信)"), f"{int(counters.get('deadlettered', 0)):,}"),
        (t("待下载媒体"), f"{backlog:,}"),
        (t("最新消息"), ago(counters.get("newest_message_ms"))),
    ]
