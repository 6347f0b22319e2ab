"""Rendering helpers shared by the pages: time in the archive's time zone, safe
highlight HTML, chat bubbles.

Everything here returns strings; pages pass them to ``st.markdown(...,
unsafe_allow_html=True)``. Only HTML built here reaches the browser: message text is
always escaped, and the store's ``<mark>`` highlights are rebuilt from scratch rather
than trusted.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from dashboard import i18n
from dashboard._text import text_html
from store.highlight import mark_ranges

CHAT_KIND_LABELS = {"external": "外部客户", "internal": "内部沟通", "group": "群聊"}
STATUS_LABELS = {k: i18n.status(k) for k in ("unreviewed", "confirmed", "false_positive", "escalated")}
DIRECTION_LABELS = {"employee": "员工发送", "customer": "客户发送", "other": "其他"}

_MARK_SPLIT = re.compile(r"(<mark>|</mark>)")

BUBBLE_CSS = """<style>
.ca-day{color:#888;text-align:center;margin:10px 0;font-size:.85em}
.ca-row{display:flex;margin:4px 0}
.ca-row.me{justify-content:flex-end}
.ca-bubble{max-width:75%;padding:6px 10px;border-radius:8px;background:#f1f3f5;white-space:pre-wrap}
.ca-row.me .ca-bubble{background:#d8f0d2}
.ca-bubble.hit{outline:2px solid #f59f00}
.ca-bubble.flagged{background:#ffe3e3}
.ca-meta{font-size:.78em;color:#666}
.ca-revoked{color:#c92a2a;font-size:.78em}
mark{background:#ffe066;padding:0 1px}
</style>"""


@lru_cache(maxsize=8)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def fmt_time(ms: int, tz: str) -> str:
    """``2021-02-25 18:31:15`` in the archive's time zone."""
    return datetime.fromtimestamp(ms / 1000, zone(tz)).strftime("%Y-%m-%d %H:%M:%S")


def fmt_day(ms: int, tz: str) -> str:
    return datetime.fromtimestamp(ms / 1000, zone(tz)).strftime("%Y-%m-%d")


def day_start_ms(day: date, tz: str) -> int:
    """Midnight of ``day`` in the archive's time zone, as epoch ms."""
    return int(datetime(day.year, day.month, day.day, tzinfo=zone(tz)).timestamp() * 1000)


def day_range_ms(first: date, last: date, tz: str) -> tuple[int, int]:
    """``[first 00:00, last+1 00:00)`` in the archive's time zone (an inclusive date range)."""
    if last < first:
        first, last = last, first
    return day_start_ms(first, tz), day_start_ms(last + timedelta(days=1), tz)


def esc(text: Any) -> str:
    """Text from a chat or the directory as inert HTML, Markdown included (dashboard._text)."""
    return text_html(text)


def safe_highlight(highlight: str) -> str:
    """The store's highlight (escaped text with ``<mark>``/``</mark>``) as HTML that can
    contain nothing but escaped text and balanced ``<mark>`` tags, whatever it held."""
    out: list[str] = []
    depth = 0
    for part in _MARK_SPLIT.split(highlight or ""):
        if part == "<mark>":
            if depth == 0:
                out.append("<mark>")
            depth += 1
        elif part == "</mark>":
            if depth == 1:
                out.append("</mark>")
            depth = max(0, depth - 1)
        elif part:
            out.append(text_html(html.unescape(part)))
    if depth:
        out.append("</mark>")
    return "".join(out)


def mark_spans(text: str, spans: Iterable[Iterable[int]]) -> str:
    """``text`` escaped, with ``<mark>`` around the violations' matched spans (merged)."""
    return safe_highlight(mark_ranges(text, spans))


def day_separator(day: str) -> str:
    return f'<div class="ca-day">— {html.escape(day)} —</div>'  # our own date text, not a message's
