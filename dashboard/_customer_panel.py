"""④ 对话客户的详细信息: the customer's name, type, corp, follow users (with their
remark and tags), add time, consent, from whatever directory data the store holds.

Followers come in two shapes: userids (the simulator's ``org.json``) or WeCom's
``follow_user`` objects (``{"userid", "remark", "createtime", "tags": [{"tag_name"}]}``)
from a directory sync; both are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import streamlit as st

from chatarchive.archive import Archive
from compliance.consent import list_consent
from core.directory import Directory
from dashboard import _ui

TYPE_LABELS = {"wechat": "微信用户", "wecom": "企业微信用户", 1: "微信用户", 2: "企业微信用户"}
CONSENT_LABELS = {"agree": "同意存档", "disagree": "不同意存档", "unknown": "未知"}
JsonObject = dict[str, object]


@dataclass(frozen=True)
class Follower:
    userid: str
    remark: str
    added_ms: int
    tags: list[str]


def followers_of(external: JsonObject) -> list[Follower]:
    out: list[Follower] = []
    for f in list(external.get("followers") or external.get("follow_user") or []):  # type: ignore[call-overload]
        if isinstance(f, dict):
            added = int(f.get("createtime") or 0)
            tags = [str(t.get("tag_name") or t) if isinstance(t, dict) else str(t) for t in f.get("tags") or []]
            out.append(
                Follower(
                    str(f.get("userid") or ""),
                    str(f.get("remark") or ""),
                    added * 1000 if 0 < added < 10**11 else added,
                    tags,
                )
            )
        else:
            out.append(Follower(str(f), "", 0, []))
    return out


def consent_of(archive: Archive, external_id: str) -> str:
    """The newest consent state of the customer with any employee (agree / disagree / unknown)."""
    rows = [r for r in list_consent(archive.store) if r.get("external") == external_id]
    return str(rows[0]["status"]) if rows else "unknown"


def detail_rows(external: JsonObject, directory: Directory, consent: str, tz: str) -> list[tuple[str, str]]:
    followers = followers_of(external)
    added = int(str(external.get("added_ms") or 0)) or min((f.added_ms for f in followers if f.added_ms), default=0)
    tags = sorted(
        {t for f in followers for t in f.tags} | {str(t) for t in cast(list[object], external.get("tags") or [])}
    )
    remarks = [f"{directory.name(f.userid)}: {f.remark}" for f in followers if f.remark]
    kind = external.get("type")
    return [
        ("名称", str(external.get("name") or external.get("id") or "")),
        ("类型", TYPE_LABELS.get(kind, str(kind or "—")) if isinstance(kind, (str, int)) else "—"),
        ("企业", str(external.get("corp") or external.get("corp_name") or "—")),
        ("跟进人", "、".join(directory.name(f.userid) for f in followers) or "—"),
        ("备注", "；".join(remarks) or str(external.get("remark") or "—")),
        ("添加时间", _ui.fmt_time(added, tz) if added else "—"),
        ("存档同意", CONSENT_LABELS.get(consent, consent)),
        ("标签", "、".join(tags) or "—"),
        ("来源", str(external.get("source") or "—")),
    ]


def show(archive: Archive, directory: Directory, external_id: str, tz: str) -> None:
    """The panel for one customer; a note when the directory does not know them."""
    external = next((x for x in directory.externals if x.get("id") == external_id), None)
    with st.container(border=True):
        st.markdown("**客户详情**")
        if external is None:
            st.caption(f"通讯录中没有此客户的资料 ({external_id})")
            return
        rows = detail_rows(external, directory, consent_of(archive, external_id), tz)
        st.markdown(
            "".join(f'<div class="ca-card-row"><span>{_ui.esc(k)}</span>{_ui.esc(v)}</div>' for k, v in rows),
            unsafe_allow_html=True,
        )
