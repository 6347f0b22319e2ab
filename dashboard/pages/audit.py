"""审计日志: the tamper-evident audit trail and its verification (super administrators)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from compliance import access, audit
from dashboard import _state, _ui
from dashboard.i18n import audit_action, t

PAGE_SIZE = 100

session = _state.require(access.AUDIT)
arch = _state.user_archive()
tz = _state.tz()

st.title(t("审计日志"))
c1, c2, c3 = st.columns(3)
actor = c1.text_input("操作人", key="au_actor")
action = c2.selectbox(
    "操作", ["", *sorted(audit.ACTIONS)], key="au_action", format_func=lambda a: audit_action(a) if a else "全部"
)
page = int(c3.number_input("页", min_value=1, value=1, key="au_page"))

with _state.guard("audit"):
    rows = audit.list_entries(
        arch.store, actor=actor.strip() or None, action=action or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    if not rows:
        st.info("没有记录。")
    else:
        df = pd.DataFrame(
            [
                {
                    "序号": r["seq"],
                    "时间": _ui.fmt_time(int(r["time_ms"]), tz),
                    "操作人": r["actor"],
                    "操作": audit_action(r["action"]),
                    "对象": r["target"],
                    "理由": r.get("reason", ""),
                    "详情": json.dumps(r.get("details") or {}, ensure_ascii=False)[:300],
                }
                for r in rows
            ]
        )
        st.dataframe(df, hide_index=True, width="stretch")
        st.download_button("下载 CSV", df.to_csv(index=False).encode("utf-8-sig"), "audit.csv", key="au_csv")

if st.button("校验审计链", key="au_verify"):
    with _state.guard("verify"), st.spinner("校验中…"):
        result = audit.verify(arch.store)
        if result.ok:
            st.success(f"完整: {result.checked} 条, head {result.head_seq} · {result.head_hash[:16]}…")
        else:
            st.error(f"审计链被篡改 at seq {result.first_bad_seq}: {result.problem}")
        for w in result.warnings:
            st.warning(w)
