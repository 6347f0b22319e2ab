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
from collections.abc import Iterable

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
    # errors shown by every page (dashboard._state.guard)
    "无权限: {message}": "Not allowed: {message}",
    "输入有误: {message}": "Invalid input: {message}",
    "操作失败: {message}": "Failed: {message}",
    "出错了 ({name})，详情见服务器日志。": "Something went wrong ({name}); the details are in the server log.",
    "您的角色 ({role}) 无权使用此页面。": "Your role ({role}) may not use this page.",
    # export headings (compliance.export.HEADERS["zh"])
    "消息ID": "Message ID",
    "序号": "Seq",
    "时间": "Time",
    "发送方": "Sender",
    "发送方类型": "Sender kind",
    "会话ID": "Chat ID",
    "会话类型": "Chat kind",
    "消息类型": "Message type",
    "内容": "Text",
    "原文SHA256": "Raw SHA-256",
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
# English messages of our errors that users meet on the dashboard → their Chinese text. A
# pattern's named groups fill the same names in the Chinese text (quoted values keep their quotes).
ERRORS_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^wrong user name or password$"), "用户名或密码错误"),
    (re.compile(r"^this account is disabled$"), "此账号已停用"),
    (re.compile(r"^the session expired; log in again$"), "登录已过期，请重新登录"),
    (re.compile(r"^not logged in$"), "请先登录"),
    (re.compile(r"^this account is locked after repeated failed logins"), "账号因多次登录失败已锁定，请稍后再试"),
    (re.compile(r"^the current password is wrong$"), "当前密码错误"),
    # reasons and review comments (minimum necessity)
    (re.compile(r"^a reason is required"), "请填写理由：为什么需要查看或导出这些消息？"),
    (re.compile(r"^the reason is too short"), "理由太短"),
    (re.compile(r"^a comment is required for a false positive or an escalation$"), "判为误报或上报时必须填写意见"),
    (re.compile(r"^a comment is required when a sampled conversation has an issue$"), "抽查发现问题时必须填写意见"),
    # accounts and passwords
    (re.compile(r"^password too short: at least (?P<n>\d+) characters$"), "密码太短：至少 {n} 个字符"),
    (re.compile(r"^password too long: at most (?P<n>\d+) characters$"), "密码太长：最多 {n} 个字符"),
    (re.compile(r"^the password must not contain the account name$"), "密码不能包含账号名"),
    (
        re.compile(r"^the password repeats too few characters: use at least (?P<n>\d+) different ones$"),
        "密码的不同字符太少：至少使用 {n} 个不同字符",
    ),
    (
        re.compile(r"^this password is on the list of common passwords"),
        "这是常见密码，请换一个 (几个不相关的词组合即可)",
    ),
    (re.compile(r"^an account named (?P<name>.+) already exists$"), "账号 {name} 已存在"),
    (re.compile(r"^no account named (?P<name>.+)$"), "没有账号 {name}"),
    (re.compile(r"^malformed account name (?P<name>.+?) \("), "账号名 {name} 不合规 (1-64 个字符，不含空格)"),
    (re.compile(r"^cannot disable the last active super administrator$"), "不能停用最后一个启用中的超级管理员"),
    (
        re.compile(r"^a super administrator sees everything; do not give it a scope$"),
        "超级管理员可查看全部，无需设置范围",
    ),
    (re.compile(r"^unknown department\(s\): (?P<ids>.+)$"), "未知部门: {ids}"),
    (re.compile(r"^unknown employee\(s\): (?P<ids>.+)$"), "未知员工: {ids}"),
    # permissions and scope
    (
        re.compile(r"^your role \((?P<role>[\w-]+)\) may not view message texts"),
        "您的角色不能查看消息原文，样例保持遮盖",
    ),
    (
        re.compile(r"^(?P<who>\S+) \(role (?P<role>[\w-]+)\) may not (?P<what>.+)$"),
        "{who} 的角色无权执行此操作 ({what})",
    ),
    (re.compile(r"^conversation (?P<chat>.+) is outside your scope$"), "会话 {chat} 不在您的可查看范围内"),
    (re.compile(r"^violation (?P<id>.+) is outside your scope$"), "违规 {id} 不在您的可查看范围内"),
    (re.compile(r"^no message (?P<id>.+) \(or it is outside the scope\)$"), "没有消息 {id} (或不在您的可查看范围内)"),
    (re.compile(r"^no violation (?P<id>.+)$"), "没有违规 {id}"),
    (re.compile(r"^rule (?P<id>.+) does not exist$"), "规则 {id} 不存在"),
    (re.compile(r"^the exception phrase is empty$"), "例外短语为空"),
    # sampling and statistics
    (re.compile(r"^sample by department or employee$"), "请按部门或员工抽样"),
    (re.compile(r"^percentage must be in \(0, 100\]"), "抽样比例须在 0 到 100 之间"),
    (re.compile(r"^the period is empty"), "期间为空：结束必须晚于开始"),
    (re.compile(r"^choose at least one (?P<what>\w+)$"), "请至少选择一个 ({what})"),
    (re.compile(r"^choose at least one employee for the sentiment trend$"), "请至少选择一名员工以查看情绪趋势"),
    # search queries (the position of the problem is kept)
    (re.compile(r"^unterminated quote: add the closing (?P<q>\S+)(?P<at>.*)$"), "引号没有闭合：请补上 {q}{at}"),
    (re.compile(r"^empty phrase \"\"(?P<at>.*)$"), '空的短语 ""{at}'),
    (re.compile(r"^unmatched closing parenthesis(?P<at>.*)$"), "多余的右括号{at}"),
    (re.compile(r"^missing closing parenthesis(?P<at>.*)$"), "缺少右括号{at}"),
    (re.compile(r"^empty parentheses(?P<at>.*)$"), "空的括号{at}"),
    (re.compile(r"^(?P<op>OR|AND) needs a term on both sides(?P<at>.*)$"), "{op} 两边都需要搜索词{at}"),
    (re.compile(r"^the query ends where a term was expected(?P<at>.*)$"), "查询在需要搜索词的地方结束了{at}"),
    (re.compile(r"^(?P<op>\S+) needs a term after it(?P<at>.*)$"), "{op} 后面需要搜索词{at}"),
    (re.compile(r"^too many terms \(at most (?P<n>\d+)\)(?P<at>.*)$"), "搜索词太多 (最多 {n} 个){at}"),
    (
        re.compile(r"^the query is too long \(at most (?P<n>\d+) characters\)(?P<at>.*)$"),
        "查询太长 (最多 {n} 个字符){at}",
    ),
    (re.compile(r"^(?P<v>.+) cannot start a term(?P<at>.*)$"), "{v} 不能作为搜索词的开头{at}"),
    # rules (RuleError: "field: message"; the field name stays, it is the form's label)
    (
        re.compile(r"^keywords: nothing to match: give keywords, near, regex or behaviours$"),
        "keywords: 没有可匹配的内容：请填写关键词、邻近、正则或行为",
    ),
    (re.compile(r"^name: required, a non-empty string$"), "名称: 必填"),
    (
        re.compile(r"^(?P<f>[\w.]+): (?P<t>.+) has no letters or digits, so it can never match$"),
        "{f}: {t} 不含文字或数字，永远不会命中",
    ),
    (re.compile(r"^regex: invalid regular expression (?P<p>.+?): (?P<why>.+)$"), "regex: 无效的正则表达式 {p}: {why}"),
    (
        re.compile(r"^regex: regular expression (?P<p>.+?) is not supported: (?P<why>.+)$"),
        "regex: 不支持的正则表达式 {p}: {why}",
    ),
    (re.compile(r"^regex: (?P<p>.+) matches the empty text"), "regex: {p} 能匹配空文本，会标记所有消息"),
    (
        re.compile(r"^regex: (?P<p>.+?): (?P<what>.+) are not supported \(rules use RE2"),
        "regex: 不支持的正则表达式 {p}: 规则使用 RE2，不支持 {what} (见 docs/rules.md)",
    ),
    (
        re.compile(r"^require: must be any, all or a number, not (?P<v>.+)$"),
        "require: 只能是 any、all 或数字，不能是 {v}",
    ),
    (
        re.compile(r"^require: must be between 1 and the number of keywords \((?P<n>\d+)\), not (?P<v>.+)$"),
        "require: 须在 1 到关键词个数 ({n}) 之间，不能是 {v}",
    ),
    (re.compile(r"^near: terms must list at least two terms$"), "near: 至少需要两个词"),
    (re.compile(r"^near: distance after @ must be a number, got (?P<v>.+)$"), "near: @ 后的距离须是数字，不能是 {v}"),
    (re.compile(r"^near: within must be an integer between 0 and (?P<n>\d+)$"), "near: 距离须是 0 到 {n} 之间的整数"),
    (re.compile(r"^(?P<f>[\w.]+): department (?P<d>.+) is not in the directory$"), "{f}: 部门 {d} 不在通讯录中"),
    (re.compile(r"^(?P<f>[\w.]+): user (?P<u>.+) is not in the directory$"), "{f}: 员工 {u} 不在通讯录中"),
    # statistics
    (re.compile(r"^keyword method must be tfidf or textrank"), "关键词方法只能是 TF-IDF 或 TextRank"),
]
# The query errors' position suffix, " (at character N of 'query')".
AT_CHARACTER = re.compile(r" \(at character (?P<n>\d+) of (?P<q>.+)\)$")


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


def headings(names: Iterable[str]) -> list[str]:
    """Column headings (Chinese source strings: ``compliance.export.HEADERS["zh"]``) in the dashboard's language."""
    return [t(name) for name in names]


def month(number: int) -> str:
    """A month's name: 3月 or Mar."""
    return MONTHS_EN[number - 1] if language() == "en" else f"{number}月"


# The rule engine's explanation of a hit (analyzers.rules.engine._explain), stored with each violation.
EXPLANATION = re.compile(
    r"^Rule “(?P<name>.*)” \(v(?P<version>\d+), (?P<severity>\w+)\) matched (?P<terms>.*?)"
    r"(?:; written evasively as (?P<notes>.*))?\.$",
    re.DOTALL,
)


def explanation(text: str) -> str:
    """A violation's explanation in the dashboard's language (stored in English by the rule engine)."""
    found = EXPLANATION.match(text or "")
    if found is None or language() == "en":
        return text
    out = f"规则「{found['name']}」(v{found['version']}, {severity(found['severity'])}) 命中: {found['terms']}"
    if found["notes"]:
        out += f"；变体写法: {found['notes']}"
    return out + "。"


def error(message: str) -> str:
    """One of our English error messages in the dashboard's language: in Chinese through
    ``ERRORS_ZH`` (an unknown one stays as it is: the page's Chinese prefix still says what
    failed); unchanged in English, the language our errors are written in."""
    if language() == "en":
        return message
    for pattern, zh in ERRORS_ZH:
        found = pattern.search(message)
        if found:
            values = found.groupdict()
            if "at" in values:
                at = AT_CHARACTER.search(values["at"] or "")
                values["at"] = f" (第 {at['n']} 个字符，查询 {at['q']})" if at else values["at"]
            return zh.format(**values)
    return message
