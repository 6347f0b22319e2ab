"""Secrets (private keys, the archive Secret, passwords): read from files or the
environment, never logged or shown; files readable by others produce a warning."""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
from pathlib import Path

from core.errors import BadInput
from core.settings import Settings

log = logging.getLogger(__name__)

REDACTED = "***"

# Values read through this module; ``redact`` hides them wherever they appear.
_known: set[str] = set()
_known_lock = threading.Lock()

_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]*(PRIVATE KEY|SECRET)[A-Z0-9 ]*-----.*?-----END [A-Z0-9 ]*-----", re.S)
_ASSIGNMENT = re.compile(
    r"(?i)\b(secret|password|passwd|pwd|api_key|apikey|token|private_key)(\s*[=:]\s*|\"\s*:\s*\")([^\s\"',;&]+)"
)


def remember(value: str) -> str:
    """Registers a secret value so that ``redact`` hides it. Returns it unchanged."""
    if value and len(value) >= 4:
        with _known_lock:
            _known.add(value)
    return value


def check_permissions(path: Path | str) -> bool:
    """Warns (logging) when a key or secret file is readable or writable by group or others.
    Returns True when the permissions are tight."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except OSError:
        return True
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is accessible by other users (mode %o); run: chmod 600 %s", p, stat.S_IMODE(mode), p)
        return False
    return True


def read_secret_file(path: Path | str) -> str:
    """The file's content without surrounding whitespace (permissions checked)."""
    p = Path(path)
    try:
        check_permissions(p)
        value = p.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise BadInput(f"cannot read secret file {p}: {e.strerror or e}") from None
    if not value:
        raise BadInput(f"secret file {p} is empty")
    return remember(value)


def read_secret(*, value: str = "", file: str | Path = "", env: str = "", what: str = "secret") -> str:
    """The first of: the file, the environment variable, the literal value. Empty if none."""
    if file:
        return read_secret_file(file)
    if env and os.environ.get(env):
        return remember(os.environ[env])
    if value:
        return remember(value)
    return ""


def require_secret(*, value: str = "", file: str | Path = "", env: str = "", what: str = "secret") -> str:
    secret = read_secret(value=value, file=file, env=env, what=what)
    if not secret:
        where = (
            " or ".join(x for x in (f"file {file}" if file else "", f"${env}" if env else "") if x) or "configuration"
        )
        raise BadInput(f"no {what} given (expected in {where})")
    return secret


def read_private_key(path: Path | str) -> bytes:
    """A PEM private key's bytes (permissions checked; the content is never logged)."""
    p = Path(path)
    check_permissions(p)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise BadInput(f"cannot read key file {p}: {e.strerror or e}") from None
    return data


def redact(text: str) -> str:
    """Text safe for logs: PEM keys, ``secret=…``-style assignments and every secret
    read through this module are replaced by ***."""
    if not text:
        return text
    out = _PEM.sub(REDACTED, text)
    out = _ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", out)
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        out = out.replace(value, REDACTED)
    return out


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record's message (install on handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error path
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def archive_secret(settings: Settings) -> str:
    """The archive Secret: from ``secret_file`` if set, else the ``secret`` setting
    (CHATARCHIVE_SECRET). Never logged."""
    secret_file = getattr(settings, "secret_file", "")
    if secret_file:
        path = Path(secret_file).expanduser()
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise BadInput(f"cannot read the archive Secret from secret_file {path}: {e.strerror}") from None
        if not secret:
            raise BadInput(f"secret_file {path} is empty")
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("secret_file %s is readable by group/others (mode %03o): chmod 600 it", path, mode)
        return secret
    return str(getattr(settings, "secret", "") or os.environ.get("CHATARCHIVE_SECRET", ""))
