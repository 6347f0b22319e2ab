"""Keeps secrets out of logs: the credentials WeCom puts in URLs (corpsecret, access_token, webhook key)."""

from __future__ import annotations

import logging
import re

_CREDENTIAL = re.compile(r"(?i)\b(corpsecret|access_token|key)=[^&\s\"']+")


def redact(text: str) -> str:
    return _CREDENTIAL.sub(r"\1=***", text)


class RedactCredentials(logging.Filter):
    """Rewrites a log record's message with the URL credentials hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """urllib3 logs every request URL at DEBUG; those URLs carry the secret or the token."""
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, RedactCredentials) for f in logger.filters):
        logger.addFilter(RedactCredentials())
