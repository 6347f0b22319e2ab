"""采集状态: the pipeline's health for administrators, where the banner's 查看详情 leads: the
alerts in force, the counters, and what to do about undecryptable records."""

from __future__ import annotations

import streamlit as st

from compliance import access
from dashboard import _state
from dashboard._health import health_warning, pipeline_status
from dashboard.i18n import t

session = _state.require(access.ACCOUNTS)
base = _state.base_archive()

st.title(t("采集状态"))
warning = health_warning(base)
if warning:
    st.warning(warning)
else:
    st.success(t("采集正常，没有告警。"))
rows = pipeline_status(base)
if rows:
    cols = st.columns(4)
    for i, (label, value) in enumerate(rows):
        cols[i % 4].metric(label, value)
else:
    st.info(t("采集尚未运行。"))
st.markdown(
    t(
        "无法解密或解析的记录会进入死信队列，不会丢失。补齐私钥后，由运维人员在服务器上执行 "
        "`chatarchive deadletter list` 查看原因、`chatarchive deadletter replay` 重新处理。"
    )
)
