"""Field checks for one decrypted WeCom message, before it is normalized.

A record with a wrong type or an impossible value (``"msgtime": "yesterday"``, ``1e20``, a
``tolist`` that is not a list) must become a dead letter with a reason that names the field,
not an exception that costs the rest of the batch, and never a message stored with a made-up
value. The shapes are those of the protocol reference (wecom-protocol.md §5).
"""

from __future__ import annotations

from typing import Any

from core.errors import ParseError

# Plausible archive times (UTC ms): WeCom's archive started in 2019; nothing is from after 2100.
MIN_TIME_MS = 946_684_800_000  # 2000-01-01
MAX_TIME_MS = 4_102_444_800_000  # 2100-01-01
ACTIONS = ("send", "recall", "switch")


def check_message_fields(data: dict[str, Any]) -> None:
    """Raises ``ParseError`` naming the first field that is missing or has a bad type or value."""
    msgid = data.get("msgid")
    if not isinstance(msgid, str) or not msgid.strip():
        raise ParseError("field msgid: missing or not a non-empty string")
    action = data.get("action", "send")
    if action not in ACTIONS:
        raise ParseError(f"field action: {_show(action)} is not one of {', '.join(ACTIONS)}")
    if action == "switch":
        _check_time(data, "time")
        _check_string(data, "user", required=True)
        return
    _check_time(data, "msgtime")
    _check_string(data, "msgtype", required=True)
    if not data["msgtype"]:
        raise ParseError("field msgtype: empty")
    _check_string(data, "from", required=True)
    _check_string(data, "roomid", required=False)
    tolist = data.get("tolist", [])
    if not isinstance(tolist, list) or not all(isinstance(r, str) for r in tolist):
        raise ParseError(f"field tolist: {_show(tolist)} is not a list of user ids")
    body = data.get(data["msgtype"])
    if body is not None and not isinstance(body, (dict, str)):
        raise ParseError(f"field {data['msgtype']}: {_show(body)} is not an object")


def _check_time(data: dict[str, Any], field: str) -> None:
    value = data.get(field)
    if value is None:
        raise ParseError(f"field {field}: missing")
    # bool is an int in Python; a float must be integral (1.7e12 is fine, 1e20 is not).
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParseError(f"field {field}: {_show(value)} is not epoch milliseconds")
    if isinstance(value, float) and not value.is_integer():
        raise ParseError(f"field {field}: {_show(value)} is not a whole number of milliseconds")
    if not MIN_TIME_MS <= value < MAX_TIME_MS:
        raise ParseError(f"field {field}: {_show(value)} is out of range (years 2000-2099 in epoch milliseconds)")


def _check_string(data: dict[str, Any], field: str, *, required: bool) -> None:
    value = data.get(field)
    if value is None and not required:
        return
    if value is None:
        raise ParseError(f"field {field}: missing")
    if not isinstance(value, str):
        raise ParseError(f"field {field}: {_show(value)} is not a string")


def _show(value: Any) -> str:
    """The offending value, short enough for a one-line reason."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
