"""One settings table. Every setting has a name, a default, an environment variable and help.

Values come, in increasing priority, from the defaults, ``DATA/config.yaml`` (written by
the dashboard's settings page or by hand), environment variables, and explicit keyword
arguments (the CLI's global options). Parsing is strict: a bad value is a ``BadInput``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

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
    Setting("backend", "embedded", "Store backend: embedded (tantivy + SQLite) or elasticsearch."),
    Setting("es_url", "", "Elasticsearch URL (also read from ES_URL)."),
    Setting("es_user", "", "Elasticsearch user name."),
    Setting("es_password", "", "Elasticsearch password (prefer es_password_file)."),
    Setting("es_password_file", "", "File holding the Elasticsearch password."),
    Setting("es_api_key", "", "Elasticsearch API key (instead of user/password)."),
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
    Setting("sdk_timeout", 5, "Vendor SDK network timeout in seconds.", int),
    Setting("pull_interval", 60, "Seconds between scheduled pulls (`chatarchive run`).", int),
    Setting("batch_size", 1000, "Records per GetChatData call (1..1000).", int),
    Setting("decrypt_workers", 0, "Decryption threads; 0 means one per core.", int),
    Setting("stall_alert_hours", 24, "Alert when no pull has succeeded for this long (WeCom keeps 5 days).", float),
    Setting("alert_webhook", "", "URL that receives alerts as JSON (optional)."),
    Setting("media", True, "Fetch media (images, voice, video, files) after indexing.", str_to_bool),
    Setting("working_hours", "09:00-18:00", "Working hours for response-time statistics."),
    Setting("working_days", "1,2,3,4,5", "Working days (1 = Monday) for response-time statistics."),
    Setting("unanswered_minutes", 120, "A customer message unanswered this long counts as unanswered.", int),
    Setting("retention_days", 0, "Keep messages this many days; 0 keeps them forever.", int),
    Setting("retention_minimum_days", 0, "Legal minimum: refuse a retention policy shorter than this.", int),
    Setting("retention_action", "delete", "What the purge does with expired messages: delete or mask.", str),
    Setting("consent_policy", "keep", "Messages with contacts who disagreed: keep, mask or exclude.", str),
    Setting("session_minutes", 480, "Dashboard session expiry in minutes.", int),
    Setting("lockout_failures", 5, "Failed logins before an account is locked.", int),
    Setting("lockout_minutes", 15, "How long a locked account stays locked.", int),
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
        if self._values["backend"] not in {"embedded", "elasticsearch"}:
            raise BadInput(f"setting backend: unknown backend {self._values['backend']!r}")
        if not 1 <= self._values["batch_size"] <= 1000:
            raise BadInput("setting batch_size: must be between 1 and 1000 (the SDK's limit)")

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

    def as_dict(self) -> dict[str, Any]:
        """Values with secrets hidden, for display and the audit trail."""
        hidden = {"es_password", "secret", "es_api_key", "proxy_password"}
        return {k: ("***" if k in hidden and v else v) for k, v in self._values.items()}

    def save(self, changes: dict[str, Any]) -> None:
        """Writes ``changes`` into ``DATA/config.yaml`` (validated first)."""
        for key in changes:
            self._check_name(key, "settings")
        path = self.data_dir / "config.yaml"
        current: dict[str, Any] = {}
        if path.exists():
            current = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        current.update(changes)
        Settings(**{k: v for k, v in current.items() if k != "data"}, data=str(self.data_dir))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(current, allow_unicode=True), encoding="utf-8")
        for key, value in changes.items():
            self._values[key] = _BY_NAME[key].parse(value)
