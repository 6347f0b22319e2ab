"""One language for the dashboard: Chinese by default, English as a setting
(``CHATARCHIVE_DASHBOARD_LANGUAGE=en``), through one translation table.

Source strings are the Chinese text itself (as with gettext), so a page reads naturally
and an untranslated string still shows in Chinese. Code values that reach the user —
roles, severities, review statuses, message types, audit actions, month names, and the
English messages of our errors — are translated here too, never on the pages.
"""

from __future__ import annotations

import os
import re

LANGUAGES = ("zh", "en")
ENV = "CHATARCHIVE_DASHBOARD_LANGUAGE"

# Chinese text → English. Keep it sorted by area; every visible Chinese string that is not
# message content belongs here.
EN: dict[str, str] = {
    # navigation and login
    "搜索": "Search",
    "查看聊天记录": "Conversations",
    "员工管理": "Employees",
    "客户管理": "Customers",
    "违规管理": "Violations",
    "抽样检查": "Sampling",
    "敏感规则": "Rules",
    "数据报表": "Statistics",
    "服务质量": "Service quality",
    "账号权限": "Accounts",
    "审计日志": "Audit trail",
    "登录": "Log in",
    "会话存档 · 登录": "Chat archive · Log in",
    "账号": "Account",
    "密码": "Password",
    "退出登录": "Log out",
    "采集状态": "Pipeline",
    "查看详情": "Details",
    "会话存档": "Chat archive",
    # roles
    "超级管理员": "Super administrator",
    "审核员": "Auditor",
    "规则编辑": "Rule editor",
    "查看者": "Viewer",
    # severities and review statuses
    "严重": "critical",
    "高": "high",
    "中": "medium",
    "低": "low",
    "待审核": "unreviewed",
    "确认违规": "confirmed",
    "误报": "false positive",
    "已上报": "escalated",
    "无问题": "no issue",
    "发现问题": "issue found",
    # audit actions
    "登录成功": "login",
    "登录失败": "failed login",
    "退出": "logout",
    "查看会话": "view conversation",
    "导出": "export",
    "规则变更": "rule change",
    "账号变更": "account change",
    "设置变更": "settings change",
    "清除": "purge",
    "保全变更": "legal hold change",
    "审核": "review",
    "存证锚定": "evidence anchor",
    "发出提醒": "alert sent",
    # errors of the login and the session
    "用户名或密码错误": "wrong user name or password",
    "此账号已停用": "this account is disabled",
    "登录已过期，请重新登录": "the session expired; log in again",
    "请先登录": "please log in",
    "登录链接已失效，请重新登录。": "The login link is no longer valid; please log in again.",
    "账号因多次登录失败已锁定，请稍后再试": "this account is locked after repeated failed logins; try again later",
    # pipeline health
    "会话采集已停滞 {hours} 小时，企业微信只保留 5 天未拉取的消息。最近的错误: {error}": (
        "No successful pull for {hours} h; WeCom deletes unpulled messages after 5 days. Last error: {error}"
    ),
    "无法读取采集状态。": "Cannot read the pipeline's health records.",
}

ROLE_NAMES = {"super": "超级管理员", "auditor": "审核员", "rule-editor": "规则编辑", "viewer": "查看者"}
SEVERITY_NAMES = {"critical": "严重", "high": "高", "medium": "中", "low": "低"}
STATUS_NAMES = {"unreviewed": "待审核", "confirmed": "确认违规", "false_positive": "误报", "escalated": "已上报"}
AUDIT_ACTION_NAMES = {
    "login": "登录成功",
    "login_failed": "登录失败",
    "logout": "退出",
    "search": "搜索",
    "view_conversation": "查看会话",
    "export": "导出",
    "rule_change": "规则变更",
    "account_change": "账号变更",
    "settings_change": "设置变更",
    "purge": "清除",
    "hold_change": "保全变更",
    "review": "审核",
    "anchor": "存证锚定",
    "alert": "发出提醒",
}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# English messages of our errors that users meet on the dashboard → their Chinese source string.
ERRORS_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^wrong user name or password$"), "用户名或密码错误"),
    (re.compile(r"^this account is disabled$"), "此账号已停用"),
    (re.compile(r"^the session expired; log in again$"), "登录已过期，请重新登录"),
    (re.compile(r"^not logged in$"), "请先登录"),
    (re.compile(r"^this account is locked after repeated failed logins"), "账号因多次登录失败已锁定，请稍后再试"),
]


def language() -> str:
    value = os.environ.get(ENV, "zh").strip().lower()
    return value if value in LANGUAGES else "zh"


def t(text: str, **values: object) -> str:
    """``text`` (Chinese) in the dashboard's language, with ``{name}`` placeholders filled."""
    out = EN.get(text, text) if language() == "en" else text
    return out.format(**values) if values else out


def role(name: str) -> str:
    return t(ROLE_NAMES.get(name, name))


def severity(name: str) -> str:
    return t(SEVERITY_NAMES.get(name, name))


def status(name: str) -> str:
    return t(STATUS_NAMES.get(name, name))


def audit_action(name: str) -> str:
    return t(AUDIT_ACTION_NAMES.get(name, name))


def month(number: int) -> str:
    """A month's name: 3月 or Mar."""
    return MONTHS_EN[number - 1] if language() == "en" else f"{number}月"


def error(message: str) -> str:
    """One of our English error messages in the dashboard's language (unknown ones unchanged)."""
    for pattern, zh in ERRORS_ZH:
        if pattern.search(message):
            return t(zh)
    return message
