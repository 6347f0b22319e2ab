"""Normalization: WeCom's decrypted message JSON → one ``Message``.

Every msgtype of the protocol (doc §5.2) gets its searchable text and its media
references; an unknown msgtype is still archived with its raw JSON (``known_type`` False,
a warning logged), never dropped. ``raw`` keeps the plaintext exactly as decrypted
(evidence); control characters that break strict JSON are tolerated (``strict=False``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from core.directory import Directory
from core.errors import DecryptError, ParseError
from core.models import DeadLetter, MediaRef, Message
from indexer.source.base import EncryptedRecord
from indexer.validate import check_message_fields

logger = logging.getLogger(__name__)

# msgtype → the key of its type object when it is not the msgtype itself (protocol §5.2).
OBJECT_KEY = {
    "docmsg": "doc",
    "markdown": "info",
    "news": "info",
    "voiptext": "info",
    "qydiskfile": "info",
    "meeting_notification": "info",
    "external_redpacket": "redpacket",
}

MEDIA_EXT = {"image": "jpg", "voice": "amr", "video": "mp4", "meeting_voice_call": "amr"}


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def clean_text(text: str) -> str:
    """Searchable text without control characters (``raw`` keeps them as evidence)."""
    return _CONTROL.sub("", text)


def _join(*parts: Any) -> str:
    return " ".join(p for p in (_s(x).strip() for x in parts) if p)


def _nested(content: Any) -> dict[str, Any]:
    """mixed/chatrecord items carry their object as a JSON *string*."""
    if isinstance(content, dict):
        return content
    if isinstance(content, str) and content:
        try:
            value = json.loads(content, strict=False)
        except ValueError:
            return {"content": content}
        return value if isinstance(value, dict) else {"content": _s(value)}
    return {}


def _media(obj: dict[str, Any], kind: str) -> MediaRef | None:
    sdkfileid = obj.get("sdkfileid")
    if not sdkfileid:
        return None
    if kind == "emotion":
        ext = "gif" if obj.get("type") == 1 else "png"
    elif kind in ("file", "voip_doc_share"):
        name = _s(obj.get("filename"))
        ext = _s(obj.get("fileext")) or (name.rsplit(".", 1)[-1] if "." in name else "bin")
    else:
        ext = MEDIA_EXT.get(kind, "bin")
    size = obj.get("filesize") or obj.get("voice_size") or obj.get("imagesize") or 0
    return MediaRef(
        sdkfileid=_s(sdkfileid),
        md5sum=_s(obj.get("md5sum")),
        size=int(size or 0),
        ext=ext,
        name=_s(obj.get("filename")),
    )


def _text_of(kind: str, obj: dict[str, Any], media: list[MediaRef]) -> str:
    """The searchable text of one type object (also used for nested items)."""
    handler = _TEXT.get(kind)
    if handler is not None:
        return handler(obj, media)
    ref = _media(obj, kind)
    if ref is not None:
        media.append(ref)
    return ""


def _mixed(obj: dict[str, Any], media: list[MediaRef]) -> str:
    texts = []
    for item in obj.get("item") or []:
        kind = _s(item.get("type"))
        texts.append(_text_of(kind, _nested(item.get("content")), media))
    return _join(*texts)


# ChatRecordText → text, ChatRecordFile → file, ...
def _chatrecord(obj: dict[str, Any], media: list[MediaRef]) -> str:
    texts = [_s(obj.get("title"))]
    for item in obj.get("item") or []:
        kind = _s(item.get("type"))
        if kind.startswith("ChatRecord"):
            kind = kind[len("ChatRecord") :].lower()
        texts.append(_text_of(kind, _nested(item.get("content")), media))
    return _join(*texts)


def _with_media(kind: str, text: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any], list[MediaRef]], str]:
    def handler(obj: dict[str, Any], media: list[MediaRef]) -> str:
        ref = _media(obj, kind)
        if ref is not None:
            media.append(ref)
        return text(obj)

    return handler


def _news(obj: dict[str, Any], media: list[MediaRef]) -> str:
    items = obj.get("item") or []
    if items:
        return _join(*(_join(i.get("title"), i.get("description")) for i in items))
    return _join(obj.get("title"), obj.get("description"))


def _vote(obj: dict[str, Any], media: list[MediaRef]) -> str:
    inner = obj.get("vote") if isinstance(obj.get("vote"), dict) else obj
    return _join(inner.get("votetitle"), *(inner.get("voteitem") or []))


_TEXT: dict[str, Callable[[dict[str, Any], list[MediaRef]], str]] = {
    "text": lambda o, m: _s(o.get("content")),
    "markdown": lambda o, m: _s(o.get("content")),
    "link": lambda o, m: _join(o.get("title"), o.get("description"), o.get("link_url")),
    "weapp": lambda o, m: _join(o.get("title"), o.get("description"), o.get("displayname")),
    "card": lambda o, m: _join(o.get("corpname"), o.get("userid")),
    "location": lambda o, m: _join(o.get("title"), o.get("address")),
    "docmsg": lambda o, m: _join(o.get("title"), o.get("link_url")),
    "calendar": lambda o, m: _join(o.get("title"), o.get("place"), o.get("remarks"), *(o.get("attendeename") or [])),
    "meeting": lambda o, m: _join(o.get("topic"), o.get("address"), o.get("remarks")),
    "collect": lambda o, m: _join(
        o.get("room_name"), o.get("title"), *((d or {}).get("ques") for d in o.get("details") or [])
    ),
    "todo": lambda o, m: _join(o.get("title"), o.get("content")),
    "redpacket": lambda o, m: _s(o.get("wish")),
    "external_redpacket": lambda o, m: _s(o.get("wish")),
    "sphfeed": lambda o, m: _join(o.get("sph_name"), o.get("feed_desc")),
    "qydiskfile": lambda o, m: _s(o.get("filename")),
    "voiptext": lambda o, m: f"[通话 {o.get('callduration', 0)} 秒]",
    "meeting_notification": lambda o, m: _s(o.get("content")),
    "news": _news,
    "vote": _vote,
    "mixed": _mixed,
    "chatrecord": _chatrecord,
    "file": _with_media("file", lambda o: _s(o.get("filename"))),
    "voip_doc_share": _with_media("voip_doc_share", lambda o: _s(o.get("filename"))),
    "image": _with_media("image", lambda o: ""),
    "voice": _with_media("voice", lambda o: ""),
    "video": _with_media("video", lambda o: ""),
    "emotion": _with_media("emotion", lambda o: _s(o.get("title"))),
    "meeting_voice_call": _with_media(
        "meeting_voice_call", lambda o: _join(*((d or {}).get("filename") for d in o.get("demofiledata") or []))
    ),
    "revoke": lambda o, m: "",
    "agree": lambda o, m: "",
    "disagree": lambda o, m: "",
}

KNOWN_MSGTYPES: frozenset[str] = frozenset(_TEXT) | {"switch"}
_UNKNOWN_SEEN: set[str] = set()


def parse_plaintext(plaintext: bytes | str, max_chars: int | None = None) -> tuple[str, dict[str, Any]]:
    """(raw text, parsed JSON). Raises ``ParseError`` (stage parse) for bad or oversize JSON."""
    try:
        raw = plaintext.decode("utf-8") if isinstance(plaintext, bytes) else plaintext
    except UnicodeDecodeError as e:
        raise ParseError(f"plaintext is not UTF-8: {e}") from e
    if max_chars is not None and len(raw) > max_chars:
        raise ParseError(
            f"message is {len(raw):,} characters, over the limit of {max_chars:,} "
            "(setting max_message_chars; raise it and replay the dead letter to store it)"
        )
    try:
        data = json.loads(raw, strict=False)
    except (ValueError, RecursionError) as e:  # RecursionError: nesting deeper than the parser allows
        raise ParseError(f"plaintext is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ParseError("plaintext JSON is not an object")
    if _SURROGATE_ESCAPE.search(raw):
        data = _without_lone_surrogates(data)
    return raw, data


# A "\ud800"-style escape: JSON may encode half of a UTF-16 pair on its own (a client that cut an
# emoji in two). json.loads keeps such a half as a lone surrogate, which no UTF-8 encoder (the
# index, SQLite, the export) accepts, so one message would fail its whole batch on every pull.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _without_lone_surrogates(value: Any) -> Any:
    """The parsed JSON with each lone surrogate replaced by U+FFFD (raw keeps the original bytes)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def chat_key(sender: str, receivers: list[str], roomid: str) -> str:
    """roomid for groups, else the unordered pair of the two parties."""
    if roomid:
        return roomid
    other = receivers[0] if receivers else ""
    a, b = sorted((sender, other))
    return f"{a}|{b}"


def normalize(
    plaintext: bytes | str, *, seq: int, directory: Directory, key_version: int = 0, max_chars: int | None = None
) -> Message:
    """One decrypted message → ``Message``. Raises ``ParseError`` if it cannot be parsed, has a bad
    field, or is longer than ``max_chars``."""
    raw, data = parse_plaintext(plaintext, max_chars)
    check_message_fields(data)
    try:
        return _message(raw, data, seq=seq, directory=directory, key_version=key_version)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as e:
        # A type object of an unexpected shape (a list where an object belongs, "12kb" for a
        # size): one dead letter with the reason, never an exception that costs the batch.
        raise ParseError(
            f"unreadable {data.get('msgtype') or data.get('action')} message: {type(e).__name__}: {e}"
        ) from e


def normalize_records(
    records: list[EncryptedRecord],
    plaintexts: list[bytes | DecryptError],
    *,
    directory: Directory,
    max_chars: int | None,
    now_ms: int,
) -> tuple[list[Message], list[DeadLetter]]:
    """A decrypted batch → its messages and, for every record that could not be decrypted or
    parsed, a dead letter with the reason and the encrypted record (in record order)."""
    messages: list[Message] = []
    dead: list[DeadLetter] = []
    for record, plaintext in zip(records, plaintexts):
        if isinstance(plaintext, DecryptError):
            stage, reason = "decrypt", str(plaintext)
        else:
            try:
                messages.append(
                    normalize(
                        plaintext,
                        seq=record.seq,
                        directory=directory,
                        key_version=record.publickey_ver,
                        max_chars=max_chars,
                    )
                )
                continue
            except ParseError as e:
                stage, reason = "parse", str(e)
        dead.append(
            DeadLetter(
                seq=record.seq,
                msgid=record.msgid,
                reason=reason,
                stage=stage,
                record=record.to_dict(),
                key_version=record.publickey_ver,
                time_ms=now_ms,
            )
        )
    return messages, dead


def _message(raw: str, data: dict[str, Any], *, seq: int, directory: Directory, key_version: int) -> Message:
    msgid = _s(data.get("msgid"))
    action = _s(data.get("action")) or "send"

    if action == "switch":  # not a message: a member switched corp in the client (§5.3)
        user = _s(data.get("user"))
        return Message(
            msgid=msgid,
            seq=seq,
            action="switch",
            msgtype="switch",
            time_ms=int(data.get("time") or 0),
            sender=user,
            sender_kind="system",
            receivers=[],
            roomid="",
            chat_id=f"switch:{user}",
            chat_kind="internal",
            text="",
            raw=raw,
            employees=[user] if user else [],
            departments=directory.departments_of(user),
            key_version=key_version,
        )

    msgtype = _s(data.get("msgtype")) or "unknown"
    sender = _s(data.get("from"))
    receivers = [_s(r) for r in data.get("tolist") or []]
    roomid = _s(data.get("roomid"))
    time_ms = int(data.get("msgtime") or 0)

    obj = data.get(OBJECT_KEY.get(msgtype, msgtype))
    if not isinstance(obj, dict) and msgtype == "external_redpacket":
        obj = data.get("external_redpacket")
    obj = obj if isinstance(obj, dict) else {}
    known = msgtype in _TEXT
    media: list[MediaRef] = []
    if known:
        text = _text_of(msgtype, obj, media)
    else:
        # Once per type and process at warning level: WeCom keeps adding types, and a new one
        # can appear thousands of times in one pull.
        level = logging.DEBUG if msgtype in _UNKNOWN_SEEN else logging.WARNING
        _UNKNOWN_SEEN.add(msgtype)
        logger.log(level, "unknown msgtype %r in message %s (seq %s): archived with its raw JSON", msgtype, msgid, seq)
        text = _join(*(v for v in obj.values() if isinstance(v, str)))

    participants = [sender, *receivers]
    kinds = {p: directory.kind_of(p) for p in participants if p}
    employees = sorted({p for p, k in kinds.items() if k == "employee"})
    externals = sorted({p for p, k in kinds.items() if k == "external"})
    departments: list[int] = []
    for e in employees:
        for d in directory.departments_of(e, time_ms):
            if d not in departments:
                departments.append(d)
    if msgtype in ("agree", "disagree") and obj.get("userid"):
        externals = sorted(set(externals) | {_s(obj.get("userid"))})

    has_external = bool(externals) or msgid.endswith("_external")
    if roomid:
        chat_kind = "group"
    elif has_external:
        chat_kind = "external"
    else:
        chat_kind = "internal"

    return Message(
        msgid=msgid,
        seq=seq,
        action=action,
        msgtype=msgtype,
        time_ms=time_ms,
        sender=sender,
        sender_kind=kinds.get(sender, "employee"),  # type: ignore[arg-type]
        receivers=receivers,
        roomid=roomid,
        chat_id=chat_key(sender, receivers, roomid),
        chat_kind=chat_kind,  # type: ignore[arg-type]
        text=clean_text(text),
        raw=raw,
        has_external=has_external,
        employees=employees,
        externals=externals,
        departments=sorted(departments),
        media=media,
        pre_msgid=_s(obj.get("pre_msgid")) if msgtype == "revoke" else "",
        known_type=known,
        key_version=key_version,
    )
