"""Charts people read: a title and labelled axes on every chart, every bar of a ranking
labelled, noise words out of keyword rankings, and the messages behind a selected bar.

Keyword noise: URL fragments (https, www, com …), WeChat's emoticon names that reach
the text as ``[微笑]``, and the words of WeCom's quote prefix (这是一条引用/回复消息).
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from chatarchive import actions
from chatarchive.archive import Archive
from compliance import access
from core.directory import Directory
from core.models import MessageFilter, SearchRequest
from dashboard import _state, _ui
from dashboard._chat_cards import type_name

BAR_PX = 26  # per bar of a horizontal ranking, so no label is skipped
DRILL_LIMIT = 50
URL_FRAGMENTS = {"http", "https", "www", "com", "cn", "net", "org", "html", "htm", "php", "app", "url", "link"}
EMOTICONS = {
    "微笑",
    "撇嘴",
    "发呆",
    "得意",
    "流泪",
    "害羞",
    "闭嘴",
    "大哭",
    "尴尬",
    "发怒",
    "调皮",
    "呲牙",
    "惊讶",
    "难过",
    "冷汗",
    "抓狂",
    "偷笑",
    "愉快",
    "白眼",
    "傲慢",
    "困",
    "惊恐",
    "憨笑",
    "悠闲",
    "奋斗",
    "咒骂",
    "疑问",
    "再见",
    "擦汗",
    "抠鼻",
    "鼓掌",
    "坏笑",
    "哈欠",
    "鄙视",
    "委屈",
    "快哭了",
    "阴险",
    "亲亲",
    "可怜",
    "玫瑰",
    "爱心",
    "强",
    "握手",
    "胜利",
    "抱拳",
    "拳头",
    "捂脸",
    "奸笑",
    "机智",
    "皱眉",
    "耶",
    "破涕为笑",
    "笑脸",
    "旺柴",
    "让我看看",
}
QUOTE_WORDS = {"这是", "一条", "引用", "回复", "消息", "quote", "reply"}
_HEXISH = re.compile(r"^[0-9a-f]{6,}$|^\d+$|^[a-z]{1,2}$", re.IGNORECASE)


def is_noise(word: str) -> bool:
    w = word.strip().lower()
    return not w or w in URL_FRAGMENTS or w in EMOTICONS or w in QUOTE_WORDS or bool(_HEXISH.match(w))


def ranking(df: pd.DataFrame, value: str, label: str, title: str) -> go.Figure:
    """A horizontal bar ranking, largest on top, every bar labelled and tall enough to read."""
    fig = px.bar(df.iloc[::-1], x=value, y=label, orientation="h", title=title, text=value)
    fig.update_yaxes(type="category", dtick=1, automargin=True, title=label)
    fig.update_xaxes(title=value)
    fig.update_layout(height=max(260, BAR_PX * len(df) + 120), margin={"t": 60})
    return fig


def bars(df: pd.DataFrame, x: str, y: str, title: str, **kwargs: object) -> go.Figure:
    fig = px.bar(df, x=x, y=y, title=title, **kwargs)  # type: ignore[arg-type]
    # Days stay as written (2026-01-05): a date axis would print English month names.
    fig.update_xaxes(title=x, type="category" if x == "日期" else "-")
    fig.update_yaxes(title=y)
    return fig


def msgtype_bars(rows: list[tuple[object, int]]) -> tuple[pd.DataFrame, go.Figure]:
    """Message types as a labelled ranking (a pie's labels pile up with 30 types)."""
    df = pd.DataFrame([(type_name(str(k)), n) for k, n in rows], columns=["消息类型", "消息数"])
    return df, ranking(df, "消息数", "消息类型", "按消息类型")


def selected(event: object, field: str) -> str | None:
    """The ``field`` of the first selected point of a plotly selection event, if any."""
    points = getattr(getattr(event, "selection", None), "points", None) or []
    if not points:
        return None
    value = points[0].get(field)
    return None if value is None else str(value)


def show_messages(arch: Archive, directory: Directory, f: MessageFilter, query: str, what: str, tz: str) -> None:
    """The messages behind a selected bar (newest first), for accounts that may search; audited as a search."""
    if not access.allowed(arch, access.SEARCH):
        st.caption("您的角色只能查看统计数字，不能查看消息内容。")
        return
    # One audited search per visit (a rerun of the page is not a new search).
    result = actions.search(
        arch, SearchRequest(query=query, filters=f, limit=DRILL_LIMIT, highlight=False), visit=_state.session().token
    )
    st.markdown(
        f"**{_ui.esc(what)}** 的消息: 共 {result.total} 条"
        + (f"，显示最新 {DRILL_LIMIT} 条" if result.total > DRILL_LIMIT else "")
    )
    messages = arch.store.get_messages([h.msgid for h in result.hits], scope=arch.scope)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "时间": _ui.fmt_time(m.time_ms, tz),
                    "发送方": directory.name(m.sender),
                    "类型": type_name(m.msgtype),
                    "内容": m.text,
                }
                for m in messages
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def day_filter(base: MessageFilter, day: str, tz: str) -> MessageFilter:
    """``base`` narrowed to one day (YYYY-MM-DD) of the archive's time zone."""
    first = date.fromisoformat(day[:10])
    start, end = _ui.day_range_ms(first, first, tz)
    return MessageFilter(
        **{**base.__dict__, "time_from": max(start, base.time_from or start), "time_to": min(end, base.time_to or end)}
    )
