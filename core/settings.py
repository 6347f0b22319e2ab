"""One settings table. Every setting has a name, a default, an environment variable and help.

Values come, in increasing priority, from the defaults, ``DATA/config.yaml`` (written by
the dashboard's settings page or by hand), environment variables, and explicit keyword
arguments (the CLI's global options). Parsing is strict: a bad value is a ``BadInput``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.errors import BadInput


def str_to_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in {"1", "true", "yes", "on"}:
        return True
    if v in {"0", "false", "no", "off"}:
        return False
    raise BadInput(f"not a boolean: {value!r} (use true/false)")


def choice(*options: str) -> Callable[[Any], str]:
    """A parser for a closed set of values: anything else is an error naming the choices."""

    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in options:
            raise ValueError(f"{value!r} is not one of {', '.join(options)}")
        return text

    return parse


_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def hours_range(value: Any) -> str:
    """``HH:MM-HH:MM`` within one day, start before end (working hours)."""
    text = str(value).strip()
    match = _HOURS.match(text)
    if match is None:
        raise ValueError(f"{value!r} is not a time range like 09:00-18:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60 and (h1, m1) < (h2, m2)):
        raise ValueError(f"{value!r} is not a time range like 09:00-18:00 (start before end, within a day)")
    return text


def weekdays(value: Any) -> str:
    """Comma-separated ISO weekdays, 1 (Monday) to 7 (Sunday)."""
    text = str(value).strip()
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() and 1 <= int(p) <= 7 for p in parts):
        raise ValueError(f"{value!r} is not a list of weekdays like 1,2,3,4,5 (1 = Monday)")
    return ",".join(parts)


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = str

    @property
    def env(self) -> str:
        return "CHATARCHIVE_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("data", "./data", "Directory of the embedded store and the media files."),
    Setting(
        "backend",
        "embedded",
        "Store backend: embedded (tantivy + SQLite) or elasticsearch.",
        choice("embedded", "elasticsearch"),
    ),
    Setting("es_url", "", "Elasticsearch URL (also read from ES_URL)."),
    Setting("es_user", "", "Elasticsearch user name."),
    Setting("es_password", "", "Elasticsearch password (prefer es_password_file)."),
    Setting("es_password_file", "", "File holding the Elasticsearch password."),
    Setting("es_api_key", "", "Elasticsearch API key (instead of user/password)."),
    Setting("es_api_key_file", "", "File holding the Elasticsearch API key (made by `chatarchive es setup-security`)."),
    Setting("es_ca_certs", "", "CA certificate file for the Elasticsearch cluster."),
    Setting("es_timeout", 30.0, "Elasticsearch request timeout in seconds.", float),
    Setting("es_index_prefix", "chatarchive", "Prefix of every Elasticsearch index, alias and template."),
    Setting("timezone", "Asia/Shanghai", "The archive's time zone for days, hours and display."),
    Setting("source", "", "Default source for `run`: sim:DIR or sdk:PATH_TO_SO."),
    Setting("corpid", "", "WeCom corp id (vendor SDK source)."),
    Setting("secret_file", "", "File holding the archive Secret (会话内容存档 Secret)."),
    Setting("secret", "", "The archive Secret itself (prefer secret_file or the environment)."),
    Setting("proxy", "", "Proxy for the vendor SDK, e.g. socks5://10.0.0.1:8081."),
    Setting("proxy_password", "", "Proxy credentials user:password for the vendor SDK."),
    # WeCom server APIs (wecom/, docs/wecom.md): directory, consent, callbacks, reviewer alerts.
    Setting("wecom_api_url", "", "WeCom API base URL; empty means https://qyapi.weixin.qq.com."),
    Setting("wecom_contacts_secret", "", "通讯录同步 Secret (departments, members)."),
    Setting("wecom_customer_secret", "", "Secret of the app in 客户联系 → 可调用接口的应用 (customers, groups)."),
    Setting("wecom_app_secret", "", "Secret of the self-built app that sends reviewer alerts (message/send)."),
    Setting("wecom_agentid", 0, "agentid of the alert app.", int),
    Setting("wecom_webhook_key", "", "Group robot webhook key for alerts (optional)."),
    Setting("directory_sync_minutes", 60, "Minutes between scheduled directory syncs (`run`); 0 disables.", int),
    Setting("directory_full_sync_hours", 24.0, "A sync re-reads members' details older than this.", float),
    Setting("callback_token", "", "Token of the WeCom callback (接收事件服务器)."),
    Setting("callback_aes_key", "", "EncodingAESKey of the WeCom callback (43 characters)."),
    Setting("callback_port", 8600, "Port of the callback receiver (`callbacks serve`, `run`).", int),
    Setting("callback_window_s", 300, "Callbacks older or newer than this many seconds are refused.", int),
    Setting("alert_link_base", "http://localhost:8501", "Dashboard URL that alert links point to."),
    Setting("alert_show_text", False, "Put the message text (masked) in alerts; off: rule and ids only.", str_to_bool),
    Setting("alert_digest_minutes", 60, "Minutes between alert digests and retries of held-back alerts.", int),
    Setting("smtp_host", "", "SMTP server for e-mail alerts (optional)."),
    Setting("smtp_port", 25, "SMTP port.", int),
    Setting("smtp_from", "chatarchive@localhost", "Sender address of e-mail alerts."),
    Setting("sdk_timeout", 5, "Vendor SDK network timeout in seconds.", int),
    Setting("pull_interval", 60, "Seconds between scheduled pulls (`chatarchive run`).", int),
    Setting("batch_size", 1000, "Records per GetChatData call (1..1000).", int),
    Setting("write_size", 5000, "Pulled records written (and committed) together: one commit per this many.", int),
    Setting("max_message_chars", 1_000_000, "A message whose decrypted JSON is longer becomes a dead letter.", int),
    Setting("decrypt_workers", 0, "Decryption threads; 0 means one per core.", int),
    Setting(
        "ingest_processes",
        0,
        "Worker processes that decrypt, normalize and analyze a backlog; 0 means one per core (at most 4) "
        "when a pull finds a full batch waiting, -1 never (threads only).",
        int,
    ),
    Setting("stall_alert_hours", 24, "Alert when no pull has succeeded for this long (WeCom keeps 5 days).", float),
    Setting("alert_webhook", "", "URL that receives alerts as JSON (optional)."),
    Setting("media", True, "Fetch media (images, voice, video, files) after indexing.", str_to_bool),
    Setting("working_hours", "09:00-18:00", "Working hours for response-time statistics.", hours_range),
    Setting("working_days", "1,2,3,4,5", "Working days (1 = Monday) for response-time statistics.", weekdays),
    Setting("unanswered_minutes", 120, "A customer message unanswered this long counts as unanswered.", int),
    Setting("retention_days", 0, "Keep messages this many days; 0 keeps them forever.", int),
    Setting("retention_minimum_days", 0, "Legal minimum: refuse a retention policy shorter than this.", int),
    Setting(
        "retention_action",
        "delete",
        "What the purge does with expired messages: delete or mask.",
        choice("delete", "mask"),
    ),
    Setting(
        "consent_policy",
        "keep",
        "Messages with contacts who disagreed: keep, mask or exclude.",
        choice("keep", "mask", "exclude"),
    ),
    Setting("session_minutes", 480, "Dashboard session expiry in minutes.", int),
    Setting("lockout_failures", 5, "Failed logins before an account is locked.", int),
    Setting("lockout_minutes", 15, "How long a locked account stays locked.", int),
    Setting("anchor_key_file", "", "File (outside the data directory) of the keys that sign anchors, newest first."),
    Setting("anchor_key", "", "The anchor signing key itself (prefer anchor_key_file; set it in the environment)."),
    Setting("anchor_dir", "", "Where the scheduler writes its daily signed anchor (write-once storage)."),
    Setting(
        "read_only",
        False,
        "Open the data directory read-only (an evidence copy): reads work, nothing is written.",
        str_to_bool,
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class Settings:
    """Resolved settings. Attribute access by setting name: ``settings.data``."""

    def __init__(self, **overrides: Any) -> None:
        values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
        data_dir = overrides.get("data") or os.environ.get("CHATARCHIVE_DATA") or values["data"]
        config_file = Path(data_dir) / "config.yaml"
        if config_file.exists():
            loaded = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
            if not isinstance(loaded, dict):
                raise BadInput(f"{config_file}: expected a mapping of settings")
            for key, value in loaded.items():
                self._check_name(key, str(config_file))
                values[key] = value
        for s in SETTINGS:
            if s.env in os.environ:
                values[s.name] = os.environ[s.env]
        if os.environ.get("ES_URL") and not os.environ.get("CHATARCHIVE_ES_URL"):
            values["es_url"] = os.environ["ES_URL"]
        for key, value in overrides.items():
            if value is None:
                continue
            self._check_name(key, "arguments")
            values[key] = value
        self._values: dict[str, Any] = {}
        for s in SETTINGS:
            try:
                self._values[s.name] = s.parse(values[s.name])
            except (TypeError, ValueError) as e:
                raise BadInput(f"setting {s.name}: {e}") from e
        if not 1 <= self._values["batch_size"] <= 1000:
            raise BadInput("setting batch_size: must be between 1 and 1000 (the SDK's limit)")
        if self._values["max_message_chars"] < 1000:
            raise BadInput("setting max_message_chars: must be at least 1000")

    @staticmethod
    def _check_name(key: str, where: str) -> None:
        if key not in _BY_NAME:
            raise BadInput(f"{where}: unknown setting {key!r}")

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def data_dir(self) -> Path:
        return Path(self._values["data"])

    def save(self, changes: dict[str, Any]) -> None:
        """Writes ``changes`` into ``DATA/config.yaml`` (validated first, so a bad value changes
        nothing) and applies them here. The file is 0600: it may hold WeCom secrets."""
        for key in changes:
            self._check_name(key, "settings")
        path = self.data_dir / "config.yaml"
        current: dict[str, Any] = {}
        if path.exists():
            current = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        current.update(changes)
        Settings(**{k: v for k, v in current.items() if k != "data"}, data=str(self.data_dir))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode on open: set it
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(yaml.safe_dump(current, allow_unicode=True))
        for key, value in changes.items():
            self._values[key] = _BY_NAME[key].parse(value)


def setting_or_default(settings: Settings | None, name: str) -> Any:
    """The setting's value, or its default when no settings are given (library callers, tests)."""
    return getattr(settings, name) if settings is not None else _BY_NAME[name].parse(_BY_NAME[name].default)
