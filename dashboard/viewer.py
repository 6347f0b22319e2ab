"""The chat viewer: a conversation drawn like WeChat.

The selected employee sits on the right, everyone else on the left, each with a name and
an avatar of initials (robots by their name); images and stickers inline as thumbnails;
every other type as a card with its fields and, once fetched, a download; quoted replies
as quotes; revoked messages marked; consent and revoke records as centred notices. The
whole conversation pages through, newest page first. Message text is always escaped:
only HTML built here reaches the browser.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import streamlit as st

from chatarchive import actions
from chatarchive.archive import Archive
from core.directory import Directory
from core.models import Message, MessageFilter
from dashboard import _chat_cards, _chat_media, _ui
from dashboard._chat_media import MediaView

PAGE_SIZE = 100
NOTICE_TYPES = ("revoke", "agree", "disagree", "switch")
AVATAR_COLORS = ("#4dabf7", "#69db7c", "#ffa94d", "#da77f2", "#ff8787", "#38d9a9", "#748ffc", "#f783ac")

VIEWER_CSS = """<style>
.ca-day{color:#888;text-align:center;margin:10px 0;font-size:.85em}
.ca-row{display:flex;margin:6px 0;align-items:flex-start;gap:8px}
.ca-row.me{flex-direction:row-reverse}
.ca-avatar{flex:0 0 36px;height:36px;border-radius:6px;color:#fff;font-size:.8em;display:flex;
 align-items:center;justify-content:center;font-weight:600}
.ca-col{max-width:70%;display:flex;flex-direction:column}
.ca-row.me .ca-col{align-items:flex-end}
.ca-name{font-size:.75em;color:#888;margin:0 2px 2px}
.ca-bubble{padding:7px 10px;border-radius:6px;background:#fff;border:1px solid #e9ecef;white-space:pre-wrap;
 word-break:break-word}
.ca-row.me .ca-bubble{background:#95ec69;border-color:#86d65e}
.ca-bubble.hit{outline:2px solid #f59f00}
.ca-bubble.flagged{box-shadow:0 0 0 2px #fa5252 inset}
.ca-quote{border-left:3px solid #adb5bd;background:rgba(0,0,0,.05);padding:3px 6px;margin-bottom:4px;
 font-size:.85em;color:#555}
.ca-card{min-width:200px}
.ca-card-title{font-weight:600;margin-bottom:3px}
.ca-card-row{font-size:.85em}.ca-card-row span{color:#888;margin-right:6px}
.ca-thumb{max-width:240px;max-height:240px;border-radius:4px;display:block}
.ca-placeholder{font-size:.85em;color:#868e96;border:1px dashed #adb5bd;padding:6px;border-radius:4px}
.ca-meta{font-size:.72em;color:#999;margin:2px 2px 0}
.ca-revoked{color:#c92a2a;font-size:.78em}
.ca-notice{text-align:center;color:#888;font-size:.8em;margin:6px 0}
mark{background:#ffe066;padding:0 1px}
</style>"""


@dataclass
class ViewOptions:
    """What the caller knows about the conversation it shows."""

    me: str = ""  # the employee on the right ("" = every employee on the right)
    names: dict[str, str] = field(default_factory=dict)  # party id → display name (robots included)
    bodies: dict[str, str] = field(default_factory=dict)  # msgid → prepared body HTML (highlights)
    hit_msgid: str = ""
    highlight_flagged: bool = False
    extras: dict[str, str] = field(default_factory=dict)  # msgid → HTML appended under the body


def initials(name: str) -> str:
    """The avatar text: the last two characters of a Chinese name (王明乐 → 明乐), else two initials."""
    name = name.strip() or "?"
    if any("\u4e00" <= ch <= "\u9fff" for ch in name):
        return name[-2:] if len(name) >= 2 else name
    words = [w for w in name.replace("-", " ").split() if w]
    return "".join(w[0] for w in words[:2]).upper() or name[:2]


def avatar_html(party: str, name: str) -> str:
    color = AVATAR_COLORS[int(hashlib.md5(party.encode()).hexdigest(), 16) % len(AVATAR_COLORS)]
    return f'<div class="ca-avatar" style="background:{color}" title="{_ui.esc(name)}">{_ui.esc(initials(name))}</div>'


def chat_employee(messages: list[Message], directory: Directory) -> str:
    """The employee to draw on the right when the caller chose none: the one employee of
    a one-to-one chat, the owner of a group, else "" (every employee on the right)."""
    if not messages:
        return ""
    chat_id = messages[0].chat_id
    if "|" in chat_id:
        employees = [p for p in chat_id.split("|") if directory.kind_of(p) == "employee"]
        return employees[0] if len(employees) == 1 else ""
    return str((directory.groups_by_id.get(chat_id) or {}).get("owner") or "")


def is_mine(message: Message, me: str) -> bool:
    return message.sender == me if me else message.sender_kind == "employee"


def text_html(message: Message) -> str:
    """Text, with a quoted reply drawn as a quote."""
    quote = _chat_cards.parse_quote(message.text)
    if quote is None:
        return _ui.esc(message.text)
    return f'<div class="ca-quote">{_ui.esc(quote.who)}：{_ui.esc(quote.quoted)}</div>{_ui.esc(quote.reply)}'


def media_html(view: MediaView) -> str:
    if view.thumbnail:
        return f'<img class="ca-thumb" src="{view.thumbnail}" alt="{_ui.esc(view.name)}"/>'
    if view.problem:
        return f'<div class="ca-placeholder">[{_ui.esc(view.name)}] {_ui.esc(view.problem)}</div>'
    return ""


def card_html(message: Message, media: list[MediaView], tz: str) -> str:
    """Images and stickers as thumbnails (or a placeholder with the reason); the rest as a card."""
    shown = "".join(media_html(v) for v in media)
    if message.msgtype in ("image", "emotion") and media:
        return shown
    card = _chat_cards.card(message, tz)
    rows = "".join(f'<div class="ca-card-row"><span>{_ui.esc(k)}</span>{_ui.esc(v)}</div>' for k, v in card.fields)
    return f'<div class="ca-card"><div class="ca-card-title">[{_ui.esc(card.title)}]</div>{rows}{shown}</div>'


def body_html(message: Message, media: list[MediaView], options: ViewOptions, tz: str) -> str:
    prepared = options.bodies.get(message.msgid)
    if message.msgtype in ("text", "markdown") and message.known_type:
        body = prepared if prepared is not None else text_html(message)
    else:
        body = card_html(message, media, tz)
        if prepared is not None and message.text:
            body += f'<div class="ca-card-row">{prepared}</div>'  # the hit inside a card's text
    return body + options.extras.get(message.msgid, "")


def notice_html(message: Message, name: str) -> str:
    """Revoke, consent and switch records: a centred line like WeChat's system notices."""
    what = {
        "revoke": "撤回了一条消息",
        "agree": "同意存档会话内容",
        "disagree": "不同意存档会话内容",
        "switch": "切换了企业",
    }[message.msgtype]
    return f'<div class="ca-notice">{_ui.esc(name)} {what}</div>'


def display_name(message: Message, names: dict[str, str]) -> str:
    """The sender's name; a robot the directory does not name is still called a robot."""
    if message.sender in names:
        return names[message.sender]
    return f"机器人 {message.sender[:8]}…" if message.sender_kind == "robot" else message.sender


def message_html(message: Message, media: list[MediaView], options: ViewOptions, tz: str) -> str:
    name = display_name(message, options.names)
    if message.msgtype in NOTICE_TYPES:
        return notice_html(message, name)
    classes = ["ca-bubble"]
    if message.msgid == options.hit_msgid:
        classes.append("hit")
    if options.highlight_flagged and message.flagged:
        classes.append("flagged")
    revoked = '<div class="ca-revoked">已撤回</div>' if message.revoked else ""
    flag = " ⚠" if message.flagged else ""
    side = " me" if is_mine(message, options.me) else ""
    return (
        f'<div class="ca-row{side}">{avatar_html(message.sender, name)}<div class="ca-col">'
        f'<div class="ca-name">{_ui.esc(name)}</div>'
        f'<div class="{" ".join(classes)}">{body_html(message, media, options, tz)}</div>'
        f'<div class="ca-meta">{_ui.fmt_time(message.time_ms, tz)}{flag}</div>{revoked}</div></div>'
    )


def conversation_html(
    messages: list[Message], media: dict[str, list[MediaView]], options: ViewOptions, tz: str
) -> list[tuple[str, Message | None]]:
    """The conversation as HTML chunks, each with the message it ends with (for its downloads)."""
    chunks: list[tuple[str, Message | None]] = []
    last_day = ""
    for m in messages:
        day = _ui.fmt_day(m.time_ms, tz)
        if day != last_day:
            chunks.append((_ui.day_separator(day), None))
            last_day = day
        chunks.append((message_html(m, media.get(m.msgid, []), options, tz), m))
    return chunks


def downloads(views: list[MediaView], message: Message, right: bool) -> None:
    """A download button per fetched file of ``message``, on the message's side."""
    left_col, right_col = st.columns(2)
    with right_col if right else left_col:
        for i, view in enumerate(views):
            if view.path is None:
                continue
            st.download_button(
                f"下载 {view.name}", view.path.read_bytes(), file_name=view.name, key=f"dl_{message.msgid}_{i}"
            )


def show(archive: Archive, messages: list[Message], options: ViewOptions, tz: str) -> None:
    """Draws ``messages`` (time order) with their media; one HTML block between downloads."""
    media = {m.msgid: _chat_media.media_views(archive, m) for m in messages if m.media}
    pending: list[str] = [VIEWER_CSS]
    for chunk, message in conversation_html(messages, media, options, tz):
        pending.append(chunk)
        if message is not None and any(v.path is not None for v in media.get(message.msgid, [])):
            st.markdown("".join(pending), unsafe_allow_html=True)
            pending = [VIEWER_CSS]
            downloads(media[message.msgid], message, is_mine(message, options.me))
    if len(pending) > 1:
        st.markdown("".join(pending), unsafe_allow_html=True)


def page_count(archive: Archive, chat_id: str) -> int:
    total = archive.store.count(MessageFilter(chats=[chat_id]), scope=archive.scope)
    return max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)


def page_number(archive: Archive, chat_id: str, *, key: str) -> int:
    """The page picker over the whole conversation; it opens on the newest page."""
    total = archive.store.count(MessageFilter(chats=[chat_id]), scope=archive.scope)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return int(st.number_input(f"页 (共 {pages} 页, {total} 条)", 1, pages, value=pages, key=f"{key}_page"))


def viewed_page(
    archive: Archive, chat_id: str, reason: str, *, visit: str, key: str, details: dict[str, object]
) -> list[Message]:
    """The page the picker shows, read through the audited view (``chatarchive.actions``: a reason
    is required, and the view is recorded once per visit, not on every rerun)."""
    page = page_number(archive, chat_id, key=key)
    return actions.view_conversation(
        archive,
        chat_id,
        reason,
        visit=visit,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        details={**details, "page": page},
    )
