"""Pipeline health: counters, and alerts before WeCom's 5-day window turns a stall into loss.

Counters live in the store's ``meta`` records (so the dashboard of another process sees
them). ``check`` raises alerts for: no successful pull for ``stall_alert_hours``, seq gaps,
decryption failures by key version, a growing media backlog and dead letters waiting. An
alert is a log line at error level, a ``meta/alerts`` record the dashboard shows as a
banner, and a JSON POST to ``alert_webhook`` when configured.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core import clock

if TYPE_CHECKING:
    from core.models import DeadLetter, Message
    from core.settings import Settings
    from indexer.source.base import EncryptedRecord
    from store.base import Store

logger = logging.getLogger(__name__)

COUNTERS = "counters"
ALERTS = "alerts"
WECOM_WINDOW_HOURS = 5 * 24


def _get(store: Store, record_id: str) -> dict[str, Any]:
    return store.get_record("meta", record_id) or {}


def counters(store: Store) -> dict[str, Any]:
    return _get(store, COUNTERS)


def count(store: Store, name: str, n: int = 1) -> None:
    c = counters(store)
    c[name] = int(c.get(name, 0)) + n
    store.put_record("meta", COUNTERS, c)


def batch_done(
    store: Store,
    records: Sequence[EncryptedRecord],
    messages: Sequence[Message],
    dead: Sequence[DeadLetter],
    *,
    seq_before: int,
) -> None:
    c = counters(store)
    c["pulled"] = int(c.get("pulled", 0)) + len(records)
    c["stored"] = int(c.get("stored", 0)) + len(messages)
    c["deadlettered"] = int(c.get("deadlettered", 0)) + len(dead)
    seqs = sorted(r.seq for r in records)
    gaps = 0
    previous = seq_before
    for s in seqs:
        if previous and s > previous + 1:
            gaps += s - previous - 1
        previous = s
    c["seq_gaps"] = int(c.get("seq_gaps", 0)) + gaps
    by_version = dict(c.get("decrypt_failures_by_key_version") or {})
    for d in dead:
        if d.stage == "decrypt":
            key = str(d.key_version)
            by_version[key] = by_version.get(key, 0) + 1
    c["decrypt_failures_by_key_version"] = by_version
    if messages:
        c["newest_message_ms"] = max(int(c.get("newest_message_ms", 0)), max(m.time_ms for m in messages))
    store.put_record("meta", COUNTERS, c)


def pull_succeeded(store: Store, last_seq: int, pulled: int) -> None:
    c = counters(store)
    c["last_pull_ms"] = clock.now_ms()
    c["last_seq"] = last_seq
    c["last_pull_count"] = pulled
    c["last_error_store"] = False
    store.put_record("meta", COUNTERS, c)


def pull_failed(store: Store, error: str, *, store_unavailable: bool = False) -> None:
    """``store_unavailable``: the archive's store refused the writes (overloaded or red),
    not the source: the pull resumes from the checkpoint, an operator should look now."""
    c = counters(store)
    c["last_error"] = error
    c["last_error_ms"] = clock.now_ms()
    c["last_error_store"] = store_unavailable
    c["failed_pulls"] = int(c.get("failed_pulls", 0)) + 1
    store.put_record("meta", COUNTERS, c)


def check(store: Store, settings: Settings, *, now: int | None = None) -> list[dict[str, Any]]:
    """The alerts in force now (also saved for the dashboard's banner)."""
    now = now if now is not None else clock.now_ms()
    c = counters(store)
    alerts: list[dict[str, Any]] = []
    last = int(c.get("last_pull_ms", 0))
    if last:
        hours = (now - last) / 3_600_000
        if hours >= settings.stall_alert_hours:
            left = WECOM_WINDOW_HOURS - hours
            alerts.append(
                {
                    "kind": "stall",
                    "severity": "error",
                    "message": f"no successful pull for {hours:.1f} h: WeCom deletes unpulled messages after 5 days "
                    f"({max(left, 0):.0f} h left). Last error: {c.get('last_error', 'none')}",
                }
            )
    elif c.get("failed_pulls"):
        alerts.append(
            {
                "kind": "stall",
                "severity": "error",
                "message": f"no pull has ever succeeded; last error: {c.get('last_error', 'unknown')}",
            }
        )
    if c.get("last_error_store"):  # cleared by the next successful pull
        alerts.append(
            {
                "kind": "store",
                "severity": "error",
                "message": "the store refuses writes, pulls wait and resume from the checkpoint: "
                f"{c.get('last_error')}",
            }
        )
    for version, n in sorted((c.get("decrypt_failures_by_key_version") or {}).items()):
        alerts.append(
            {
                "kind": "decrypt",
                "severity": "error",
                "message": f"{n} records of publickey_ver {version} could not be decrypted "
                f"(add the private key with `chatarchive keys add`, then `deadletter replay`)",
            }
        )
    if c.get("seq_gaps"):
        alerts.append(
            {
                "kind": "seq_gap",
                "severity": "warning",
                "message": f"{c['seq_gaps']} seq numbers were skipped by the source (gaps are possible in WeCom; "
                f"check the source if the number grows)",
            }
        )
    backlog = store.count_records("media", {"status": "pending"})
    if backlog > 1000:
        alerts.append(
            {"kind": "media_backlog", "severity": "warning", "message": f"{backlog} media files wait to be fetched"}
        )
    dead = store.list_deadletters(limit=1)[0]
    if dead:
        alerts.append(
            {
                "kind": "deadletter",
                "severity": "warning",
                "message": f"{dead} records are in the dead letters (`chatarchive deadletter list`)",
            }
        )
    previous = {a["kind"] for a in (store.get_record("meta", ALERTS) or {}).get("alerts", [])}
    store.put_record("meta", ALERTS, {"alerts": alerts, "checked_ms": now})
    for a in alerts:
        if a["severity"] == "error":
            logger.error("ALERT %s: %s", a["kind"], a["message"])
    fresh = [a for a in alerts if a["kind"] not in previous]
    if fresh and settings.alert_webhook:
        post_webhook(settings.alert_webhook, {"alerts": fresh, "time_ms": now})
    return alerts


def post_webhook(url: str, payload: dict[str, Any], timeout: float = 10) -> bool:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the operator's URL)
            return 200 <= response.status < 300
    except OSError as e:
        logger.error("alert webhook %s failed: %s", url.split("?")[0], e)
        return False
