"""A login that survives a reload: the session travels in the page URL as a signed,
expiring token (``?s=…``), since a browser reload starts a new Streamlit session.

The token is ``payload.signature``: the payload (base64url JSON) holds the account
session's bearer token and an expiry; the signature is HMAC-SHA256 with a key kept in
the data directory (``dashboard-session.key``, mode 0600, created on first use). A
changed, expired or foreign token is refused; the server-side session (expiry, disabled
account, logout) is still checked on every run, so logging out kills the link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
from pathlib import Path

KEY_FILE = "dashboard-session.key"
PARAM = "s"
KEY_BYTES = 32


def session_key(data_dir: Path) -> bytes:
    """The signing key, created once with mode 0600 (O_EXCL: two servers starting at once agree)."""
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(KEY_BYTES))
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, 0o600)  # a key others can read lets them forge links
    key = path.read_bytes()
    if len(key) < KEY_BYTES:
        raise ValueError(f"{path} is shorter than {KEY_BYTES} bytes; delete it to create a new key")
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("utf-8"), hashlib.sha256).digest())


def sign(token: str, expires_ms: int, key: bytes) -> str:
    payload = _b64(json.dumps({"t": token, "exp": int(expires_ms)}, separators=(",", ":")).encode())
    return f"{payload}.{_signature(key, payload)}"


def verify(signed: str, key: bytes, now_ms: int) -> str | None:
    """The session token inside ``signed``, or None when it is forged, garbled or expired."""
    payload, _, signature = signed.partition(".")
    if not payload or not hmac.compare_digest(signature.encode("utf-8"), _signature(key, payload).encode()):
        return None
    try:
        doc = json.loads(_unb64(payload))
        expires = int(doc["exp"])
        token = doc["t"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        return None
    return token if isinstance(token, str) and expires > now_ms else None
