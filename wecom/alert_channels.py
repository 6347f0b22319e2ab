"""The channels that tell reviewers: a WeCom app message (message/send), a group robot, SMTP e-mail.

Each channel sends one ``AlertText`` and stays within WeCom's limits on its own: at most 20 app
messages a minute to one receiver (WeCom drops more than 30 silently, wecom-http-apis.md §4.1) and
20 a minute per robot (§4.2). ``send`` returns False when the limit is reached so the caller can
defer the alert to the next digest instead of losing it or blocking the pipeline.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from wecom.client import WeComClient
from wecom.errcodes import RATE_LIMIT_ERRCODES, WeComError
from wecom.ratelimit import RateLimiter

APP_PER_RECEIVER_PER_MINUTE = 20
ROBOT_PER_MINUTE = 20
TITLE_CHARS = 128
DESCRIPTION_CHARS = 512


class AlertError(Exception):
    """A channel could not deliver (after the client's own retries)."""


@dataclass
class AlertText:
    title: str
    lines: list[str]
    url: str
    mentions: list[str] = field(default_factory=list)  # WeCom userids

    def plain(self) -> str:
        return "\n".join([self.title, *self.lines, self.url])


class Channel(Protocol):
    name: str

    def ready(self, receivers: list[str]) -> bool:
        """Whether a message to these receivers fits the channel's rate limit now."""
        ...

    def send(self, alert: AlertText, receivers: list[str]) -> bool: ...


def _clip_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


class AppMessageChannel:
    """message/send as a textcard with a link to the violation."""

    name = "app"

    def __init__(self, client: WeComClient, agentid: int, limiter: RateLimiter | None = None) -> None:
        self.client = client
        self.agentid = agentid
        self.limiter = limiter or RateLimiter(APP_PER_RECEIVER_PER_MINUTE)

    def ready(self, receivers: list[str]) -> bool:
        return all(self.limiter.wait_time(r) == 0 for r in receivers)

    def send(self, alert: AlertText, receivers: list[str]) -> bool:
        if not receivers:
            return True
        if not self.ready(receivers):
            return False
        for receiver in receivers:
            self.limiter.try_acquire(receiver)
        description = "".join(f'<div class="normal">{line}</div>' for line in alert.lines)
        body = {
            "touser": "|".join(receivers),
            "msgtype": "textcard",
            "agentid": self.agentid,
            "textcard": {
                "title": alert.title[:TITLE_CHARS],
                "description": description[:DESCRIPTION_CHARS],
                "url": alert.url,
                "btntxt": "查看",
            },
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 600,
        }
        try:
            self.client.call("POST", "/cgi-bin/message/send", secret="app", body=body, wait_out_limits=False)
        except WeComError as e:
            if e.errcode in RATE_LIMIT_ERRCODES:
                return False
            raise AlertError(str(e)) from None
        return True


class RobotChannel:
    """The group robot webhook, as markdown mentioning the reviewers."""

    name = "webhook"

    def __init__(self, client: WeComClient, key: str, limiter: RateLimiter | None = None) -> None:
        self.client = client
        self._key = key
        self.limiter = limiter or RateLimiter(ROBOT_PER_MINUTE)

    def ready(self, receivers: list[str]) -> bool:
        return self.limiter.wait_time("robot") == 0

    def send(self, alert: AlertText, receivers: list[str]) -> bool:
        if not self.limiter.try_acquire("robot"):
            return False
        mentions = "".join(f"<@{r}>" for r in receivers)
        content = "\n".join(
            [f"### {alert.title}", *(f"> {line}" for line in alert.lines), f"[查看]({alert.url})", mentions]
        )
        try:
            self.client.webhook(
                self._key,
                {"msgtype": "markdown", "markdown": {"content": _clip_bytes(content, 4096)}},
                wait_out_limits=False,
            )
        except WeComError as e:
            if e.errcode in RATE_LIMIT_ERRCODES:
                return False
            raise AlertError(str(e)) from None
        return True


class EmailChannel:
    name = "email"

    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def ready(self, receivers: list[str]) -> bool:
        return True

    def send(self, alert: AlertText, receivers: list[str]) -> bool:
        if not receivers:
            return True
        message = EmailMessage()
        message["Subject"] = alert.title
        message["From"] = self.sender
        message["To"] = ", ".join(receivers)
        message.set_content(alert.plain())
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as e:
            raise AlertError(f"SMTP {self.host}:{self.port}: {type(e).__name__}: {e}") from None
        return True
