"""Search: the contract's query syntax, filters, highlighted hits, the context of a hit,
saved searches and exports."""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path

import streamlit as st

from chatarchive import actions
from compliance import access
from compliance.export import HEADERS
from core import clock
from core.models import SearchRequest
from dashboard import _state, _ui, _widgets, i18n
from dashboard.i18n import t

PAGE_SIZE = 20
SAVED = "saved_searches"

session = _state.require(access.SEARCH)
arch = _state.user_archive()
directory = _state.directory()
tz = _state.tz()

st.title(t("搜索"))

# A saved search chosen last run: put its values into the widgets before they are drawn.
pending = st.session_state.pop("_load_saved", None)
if pending:
    st.session_state["q"] = pending.get("query", "")
    for key, value in (pending.get("widgets") or {}).items():
        st.session_state[key] = value
    st.session_state["page"] = 1

query = st.text_input(
    "查询",
    key="q",
    placeholder='例: 回扣 OR "私下转账" -测试   (words AND by default, "phrase", OR, -exclude, ( ))',
)
with st.expander("筛选", expanded=False):
    filters = _widgets.message_filters(directory, key="f")
c1, c2 = st.columns([2, 1])
sort = c1.radio(
    "排序",
    ["time_desc", "time_asc", "relevance"],
    horizontal=True,
    key="sort",
    format_func={"time_desc": "时间 (新→旧)", "time_asc": "时间 (旧→新)", "relevance": "相关度"}.get,
)
# A new query or new filters start again at page 1.
signature = repr((query, asdict(filters), sort))
if st.session_state.get("_search_signature") != signature:
    st.session_state["_search_signature"] = signature
    st.session_state["page"] = 1
page = int(c2.number_input("页", min_value=1, step=1, key="page"))

result = None
with _state.guard("search"):
    request = SearchRequest(query=query, filters=filters, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    result = actions.search(arch, request, visit=session.token)  # audited once per distinct search

if result is not None:
    pages = max(1, (result.total + PAGE_SIZE - 1) // PAGE_SIZE)
    st.caption(f"共 {result.total} 条结果 · 第 {page}/{pages} 页 · {result.took_ms:.0f} ms")
    if result.total == 0:
        st.info("没有匹配的消息。")
    st.markdown(_ui.BUBBLE_CSS, unsafe_allow_html=True)
    for hit in result.hits:
        chat_name = (
            directory.name(hit.chat_id)
            if hit.chat_id in directory.groups_by_id
            else " ↔ ".join(directory.name(p) for p in hit.chat_id.split("|"))
        )
        left, right = st.columns([6, 1])
        left.markdown(
            f'<div class="ca-meta">{_ui.esc(directory.name(hit.sender))} · {_ui.fmt_time(hit.time_ms, tz)} · '
            f"{_ui.esc(hit.msgtype)} · {_ui.esc(chat_name)}</div>"
            f'<div class="ca-hit">{_ui.safe_highlight(hit.highlight) or "[" + _ui.esc(hit.msgtype) + "]"}</div>',
            unsafe_allow_html=True,
        )
        if right.button("上下文", key=f"ctx_{hit.msgid}"):
            st.session_state["ctx_msgid"] = hit.msgid
            st.session_state["ctx_highlight"] = hit.highlight

# --- the context of one hit (needs a reason; the view is audited) ----------------------
ctx_msgid = st.session_state.get("ctx_msgid")
if ctx_msgid:
    st.divider()
    st.subheader("上下文")
    if not access.allowed(session, access.VIEW):
        st.error("您的角色无权查看聊天上下文。")
    else:
        reason = _widgets.reason_box("ctx_reason")
        if st.button("打开上下文", key="ctx_open", disabled=not reason):
            with _state.guard("context"):
                messages = _widgets.open_context(ctx_msgid, reason)
                if not messages:
                    st.warning("此消息不存在或不在您的权限范围内。")
                else:
                    _widgets.show_conversation(
                        messages,
                        hit_msgid=ctx_msgid,
                        hit_html=_ui.safe_highlight(st.session_state.get("ctx_highlight", "")) or None,
                    )
        if st.button("关闭", key="ctx_close"):
            st.session_state.pop("ctx_msgid", None)
            st.rerun()

# --- saved searches ------------------------------------------------------------------------
st.divider()
widget_keys = [k for k in st.session_state if isinstance(k, str) and k.startswith("f_")]
s1, s2 = st.columns(2)
with s1:
    st.subheader("保存的搜索")
    name = st.text_input("名称", key="save_name")
    if st.button("保存当前搜索", key="save_search", disabled=not name.strip()):
        with _state.guard("save search"):
            doc = {
                "owner": session.account,
                "name": name.strip(),
                "query": query,
                "widgets": {k: st.session_state[k] for k in widget_keys if _widgets.jsonable(st.session_state[k])},
                "filters": _widgets.filters_to_dict(filters),
                "created_ms": clock.now_ms(),
            }
            arch.store.put_record(SAVED, uuid.uuid4().hex[:12], _widgets.to_json(doc))
            st.success(f"已保存: {name.strip()}")
    with _state.guard("saved searches"):
        saved = arch.store.find_records(SAVED, {"owner": session.account}, order_by="created_ms", descending=True)
        for row in saved:
            a, b = st.columns([4, 1])
            a.write(f"**{row.get('name')}** — `{row.get('query') or '(全部)'}`")
            if b.button("运行", key=f"run_{row['_id']}"):
                st.session_state["_load_saved"] = _widgets.from_json(row)
                st.rerun()
        if not saved:
            st.caption("还没有保存的搜索。")

# --- export ---------------------------------------------------------------------------------
with s2:
    st.subheader("导出")
    if not access.allowed(session, access.EXPORT):
        st.caption("您的角色无权导出。")
    else:
        fmt = st.selectbox("格式", ["csv", "xlsx"], key="export_fmt")
        export_reason = _widgets.reason_box("export_reason", "导出")
        if st.button("生成导出文件", key="export_go", disabled=not export_reason):
            # The files exist only while they are read into the download: exported chat records
            # must not stay behind in the server's temporary directory.
            with (
                _state.guard("export"),
                st.status("正在导出…", expanded=False) as status,
                tempfile.TemporaryDirectory(prefix="chatarchive-export-") as out_dir,
            ):
                out = Path(out_dir) / f"chatarchive-export.{fmt}"
                summary = actions.export(
                    arch, query, fmt, out, export_reason, filters=filters, headers=i18n.headings(HEADERS["zh"])
                )
                status.update(label=f"已导出 {summary['count']} 条", state="complete")
                st.session_state["export_files"] = (out.name, out.read_bytes(), Path(summary["manifest"]).read_bytes())
        files = st.session_state.get("export_files")
        if files:
            st.download_button("下载导出文件", files[1], file_name=files[0], key="dl_export")
            st.download_button("下载清单", files[2], file_name=files[0] + ".manifest.json", key="dl_manifest")
