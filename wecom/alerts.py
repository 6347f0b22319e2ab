"""Alerts to reviewers when a rule fires (触发预警 / 向审核人员推送提醒), and pipeline-health alerts.

Routing is per rule (``alerts route RULE``, or ``*`` for every rule): ``mode`` immediate | digest | off,
``channels`` app (WeCom message/send) | webhook (group robot) | email, the reviewers' WeCom userids and
e-mail addresses. Each violation group (``Violation.group_key``: repeated hits of one rule in one
conversation) is alerted once. An immediate alert that a channel's rate limit or an error holds back
goes into the digest, which ``send_digest`` (scheduled by ``run``) sends and retries. Every alert sent
is in the audit trail. By default no message text leaves the archive: an alert names the rule, the
time, the conversation and the employees and links to the violation; with ``alert_show_text`` the
text is included with ID, bank card and mobile numbers and people's names masked.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.parse
from dataclasses import asdict, dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from compliance import audit
from compliance.masking import mask_text, organisation_names
from compliance.rulestore import list_rules
from core.directory import Directory
from core.errors import BadInput
from core.models import Scope, Violation
from store.context import ArchiveContext
from wecom.alert_channels import AlertError, AlertText, AppMessageChannel, Channel, EmailChannel, RobotChannel
from wecom.sync import client_from_settings, stored_directory

log = logging.getLogger(__name__)

COLLECTION = "meta"
ROUTES_ID = "alert_routes"
DIGEST_ID = "alert_digest"
SENT_PREFIX = "alert_sent:"
HEALTH_ALERTS_ID = "alerts"  # written by indexer.health.check
HEALTH_SENT_ID = "alert_health_sent"
ACTOR = "system:alerts"
MODES = ("immediate", "digest", "off")
CHANNELS = ("app", "webhook", "email")
SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
CHAT_KIND_ZH = {"external": "客户单聊", "internal": "内部单聊", "group": "群聊"}
DIGEST_LINKS = 5


@dataclass
class AlertRoute:
    mode: str = "immediate"
    channels: list[str] = field(default_factory=lambda: ["app"])
    reviewers: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> AlertRoute:
        route = cls(
            mode=str(data.get("mode") or "immediate"),
            channels=_strs(data.get("channels")) or ["app"],
            reviewers=_strs(data.get("reviewers")),
            emails=_strs(data.get("emails")),
        )
        route.validate()
        return route

    def validate(self) -> None:
        if self.mode not in MODES:
            raise BadInput(f"alert mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        unknown = [c for c in self.channels if c not in CHANNELS]
        if unknown:
            raise BadInput(f"unknown alert channel {unknown[0]!r}; use {', '.join(CHANNELS)}")
        if self.mode != "off" and "email" in self.channels and not self.emails:
            raise BadInput("the email channel needs at least one --email address")
        if self.mode != "off" and "app" in self.channels and not self.reviewers:
            raise BadInput("the app channel needs at least one --reviewer (a WeCom userid)")


def _strs(value: object) -> list[str]:
    return [str(v) for v in value if str(v)] if isinstance(value, list) else []


def routes(archive: ArchiveContext) -> dict[str, AlertRoute]:
    doc = archive.store.get_record(COLLECTION, ROUTES_ID) or {}
    raw = doc.get("routes")
    if not isinstance(raw, dict):
        return {}
    return {rule: AlertRoute.from_dict(r) for rule, r in raw.items() if isinstance(r, dict)}


def set_route(archive: ArchiveContext, rule_id: str, route: AlertRoute) -> None:
    route.validate()
    if rule_id != "*" and rule_id not in {r.id for r in list_rules(archive.store)}:
        raise BadInput(f"no rule {rule_id!r} (see `chatarchive rules list`; * routes every rule)")
    current = {rule: asdict(r) for rule, r in routes(archive).items()}
    current[rule_id] = asdict(route)
    archive.store.put_record(COLLECTION, ROUTES_ID, {"routes": current})
    audit.record(archive.store, archive.actor, "settings_change", f"alert route {rule_id}", asdict(route))


@dataclass
class AlertReport:
    sent: int = 0
    deferred: int = 0
    skipped: int = 0


class Alerter:
    """Sends the alerts of one archive through the configured channels."""

    def __init__(self, archive: ArchiveContext, channels: dict[str, Channel]) -> None:
        self.archive = archive
        self.store = archive.store
        self.settings = archive.settings
        self.channels = channels

    @classmethod
    def from_settings(cls, archive: ArchiveContext) -> Alerter:
        settings = archive.settings
        channels: dict[str, Channel] = {}
        if settings.corpid and (settings.wecom_app_secret or settings.wecom_webhook_key):
            client = client_from_settings(settings)
            if settings.wecom_app_secret and settings.wecom_agentid:
                channels["app"] = AppMessageChannel(client, settings.wecom_agentid)
            if settings.wecom_webhook_key:
                channels["webhook"] = RobotChannel(client, settings.wecom_webhook_key)
        if settings.smtp_host:
            channels["email"] = EmailChannel(settings.smtp_host, settings.smtp_port, settings.smtp_from)
        return cls(archive, channels)

    # ------------------------------------------------------------------ rule hits
    def notify(self, violations: list[Violation]) -> AlertReport:
        report = AlertReport()
        table = routes(self.archive)
        if not table:
            return report
        for violation in violations:
            route = table.get(violation.rule_id) or table.get("*")
            if route is None or route.mode == "off" or self._already_alerted(violation):
                report.skipped += 1
                continue
            if route.mode == "immediate" and self._send(route, self._render(violation), [violation.id], "immediate"):
                report.sent += 1
            else:
                self._defer(violation)
                report.deferred += 1
            self._mark(violation)
        return report

    def send_digest(self) -> int:
        """Sends the pending alerts, one message per route; returns how many violations went out."""
        pending = list((self.store.get_record(COLLECTION, DIGEST_ID) or {}).get("items") or [])
        if not pending:
            return 0
        table = routes(self.archive)
        by_route: dict[str, list[dict[str, object]]] = {}
        for item in pending:
            key = str(item["rule_id"]) if str(item["rule_id"]) in table else "*"
            by_route.setdefault(key, []).append(item)
        left: list[dict[str, object]] = []
        sent = 0
        for key, items in by_route.items():
            route = table.get(key)
            if route is None or route.mode == "off":
                continue
            if self._send(route, self._render_digest(items), [str(i["id"]) for i in items], "digest"):
                sent += len(items)
            else:
                left.extend(items)
        self.store.put_record(COLLECTION, DIGEST_ID, {"items": left})
        return sent

    # ------------------------------------------------------------------ pipeline health
    def notify_health(self, alerts: list[dict[str, object]]) -> int:
        """Pipeline-health alerts go to the route ``*`` (every channel it names), audited like rule alerts."""
        route = routes(self.archive).get("*")
        if not alerts or route is None or route.mode == "off":
            return 0
        text = AlertText(
            title=f"【系统】采集健康告警 {len(alerts)} 项",
            lines=[str(a.get("message") or a.get("kind")) for a in alerts],
            url=self._link(""),
            mentions=route.reviewers,
        )
        return int(self._send(route, text, [f"health:{a.get('kind')}" for a in alerts], "health"))

    def send_new_health_alerts(self) -> int:
        """The health check's alerts (``indexer.health``) that were not sent yet, by kind."""
        current = list((self.store.get_record(COLLECTION, HEALTH_ALERTS_ID) or {}).get("alerts") or [])
        sent_before = set((self.store.get_record(COLLECTION, HEALTH_SENT_ID) or {}).get("kinds") or [])
        fresh = [a for a in current if a.get("kind") not in sent_before]
        if fresh and not self.notify_health(fresh):
            return 0
        self.store.put_record(COLLECTION, HEALTH_SENT_ID, {"kinds": sorted({str(a.get("kind")) for a in current})})
        return len(fresh)

    # ------------------------------------------------------------------ internals
    def _send(self, route: AlertRoute, text: AlertText, targets: list[str], mode: str) -> bool:
        """Every channel of the route; True only if each one delivered (else the caller retries later).
        Nothing is sent while any channel is at its rate limit, so a retry does not repeat a message on
        the channels that had room."""
        configured = [(self.channels[n], self._receivers(route, n)) for n in route.channels if n in self.channels]
        if not all(channel.ready(receivers) for channel, receivers in configured):
            return False
        results: dict[str, str] = {}
        for name in route.channels:
            channel = self.channels.get(name)
            if channel is None:
                results[name] = "not configured"
                continue
            receivers = self._receivers(route, name)
            try:
                results[name] = "sent" if channel.send(text, receivers) else "throttled"
            except AlertError as e:
                log.error("alert via %s failed: %s", name, e)
                results[name] = f"failed: {e}"
        delivered = all(r in ("sent", "not configured") for r in results.values()) and "sent" in results.values()
        if any(r == "sent" for r in results.values()):
            audit.record(
                self.store,
                ACTOR,
                "alert",
                ",".join(targets[:20]),
                {
                    "mode": mode,
                    "channels": results,
                    "reviewers": route.reviewers,
                    "emails": route.emails,
                    "violations": len(targets),
                    "title": text.title,
                },
            )
        return delivered

    @staticmethod
    def _receivers(route: AlertRoute, channel: str) -> list[str]:
        return route.emails if channel == "email" else route.reviewers

    def _render(self, violation: Violation) -> AlertText:
        lines = [
            f"规则：{violation.rule_name}（{violation.category or '未分类'}）",
            f"时间：{self._local(violation.time_ms)}",
            f"会话：{CHAT_KIND_ZH.get(violation.chat_kind, violation.chat_kind)} {violation.chat_id}",
            f"员工：{'、'.join(violation.employees) or violation.sender}",
        ]
        if self.settings.alert_show_text:
            lines.append(f"内容：{self._masked_text(violation.msgid)}")
        title = f"【{SEVERITY_ZH.get(violation.severity, violation.severity)}风险】敏感规则命中：{violation.rule_name}"
        return AlertText(title=title, lines=lines, url=self._link(violation.id))

    def _render_digest(self, items: list[dict[str, object]]) -> AlertText:
        counts: dict[str, int] = {}
        for item in items:
            counts[str(item["rule_name"])] = counts.get(str(item["rule_name"]), 0) + 1
        lines = [f"{rule}：{n} 条" for rule, n in sorted(counts.items(), key=lambda kv: -kv[1])]
        lines += [f"待审核：{self._link(str(i['id']))}" for i in items[:DIGEST_LINKS]]
        return AlertText(title=f"敏感规则命中汇总：{len(items)} 条待审核", lines=lines, url=self._link(""))

    def _masked_text(self, msgid: str) -> str:
        found = self.store.get_messages([msgid], scope=Scope.everything())
        if not found:
            return "（消息不可用）"
        names = organisation_names(Directory.from_dict(stored_directory(self.store)))
        return mask_text(found[0].text, names)[:200]

    def _link(self, violation_id: str) -> str:
        base = str(self.settings.alert_link_base).rstrip("/")
        return f"{base}/?violation={urllib.parse.quote(violation_id)}" if violation_id else base

    def _local(self, time_ms: int) -> str:
        when = datetime.fromtimestamp(time_ms / 1000, ZoneInfo(self.settings.timezone))
        return when.strftime("%Y-%m-%d %H:%M")

    def _sent_key(self, violation: Violation) -> str:
        group = violation.group_key or violation.id
        return SENT_PREFIX + hashlib.sha256(f"{violation.rule_id}|{group}".encode()).hexdigest()[:24]

    def _already_alerted(self, violation: Violation) -> bool:
        return self.store.get_record(COLLECTION, self._sent_key(violation)) is not None

    def _mark(self, violation: Violation) -> None:
        self.store.put_record(
            COLLECTION, self._sent_key(violation), {"violation": violation.id, "rule_id": violation.rule_id}
        )

    def _defer(self, violation: Violation) -> None:
        doc = self.store.get_record(COLLECTION, DIGEST_ID) or {}
        items = list(doc.get("items") or [])
        items.append(
            {
                "id": violation.id,
                "rule_id": violation.rule_id,
                "rule_name": violation.rule_name,
                "severity": violation.severity,
                "time_ms": violation.time_ms,
            }
        )
        self.store.put_record(COLLECTION, DIGEST_ID, {"items": items})


_ALERTERS: dict[int, Alerter] = {}


def notify_violations(archive: ArchiveContext, violations: list[Violation]) -> None:
    """The pipeline's hook after each stored batch. Never raises: an alert problem must not stop
    archiving (it is logged, and deferred alerts go out with the next digest)."""
    if not violations:
        return
    try:
        if archive.store.get_record(COLLECTION, ROUTES_ID) is None:
            return
        alerter = _ALERTERS.get(id(archive))
        if alerter is None or alerter.archive is not archive:
            alerter = _ALERTERS[id(archive)] = Alerter.from_settings(archive)
        alerter.notify(violations)
    except Exception:
        log.exception("reviewer alerts failed for a batch of %d violations", len(violations))
