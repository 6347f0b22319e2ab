"""WeCom errcodes → what they mean for an administrator and what the client does about them.

Texts follow ../shared/wecom-http-apis.md §6.2 and wecom-protocol.md §8.7. ``action`` is one of
``token`` (refresh the access token and retry once), ``retry`` (back off and retry), ``skip`` (the
item is gone or out of scope; callers may skip it) or ``fail`` (configuration: a person must act).
"""

from __future__ import annotations

from core.errors import ChatArchiveError

TOKEN_ERRCODES = frozenset({40014, 42001, 42009})
RATE_LIMIT_ERRCODES = frozenset({45009, 45011, 45033})
RETRY_ERRCODES = frozenset({-1}) | RATE_LIMIT_ERRCODES

_TRUSTED_IP = (
    "the caller's IP is not in the app's 企业可信IP list (应用管理 → the app → 企业可信IP); "
    "add this server's public IP there (takes about a minute)"
)

EXPLANATIONS: dict[int, str] = {
    -1: "WeCom is busy; retried with backoff",
    40001: "invalid secret: the corp id / secret pair is wrong, the secret was reset or the app is disabled",
    40003: "invalid userid",
    40014: "invalid access_token",
    40056: "invalid agentid: the alert app's agentid does not match its secret",
    40096: "invalid external_userid, or its followers are outside the app's visible range",
    41001: "access_token missing (a client bug)",
    42001: "access_token expired",
    42009: "access_token expired",
    44004: "empty text content",
    45002: "content too long",
    45009: "WeCom's frequency limit was hit; backed off",
    45011: "WeCom's frequency limit was hit; backed off",
    45033: "WeCom's concurrency limit was hit; lower the parallelism",
    48002: "this API is not permitted for this secret (wrong secret kind, or the app is not in 客户联系 "
    "→ 可调用接口的应用)",
    60011: "member, department or tag outside the app's visible range (应用管理 → the app → 可见范围)",
    60020: _TRUSTED_IP,
    60111: "userid not found (left, deleted or outside the visible range)",
    60123: "invalid department id",
    81013: "every receiver of the alert is invalid (check the reviewers' userids and the app's visible range)",
    81017: "too many people in range: give an owner filter",
    84061: "no external-contact relation",
    84074: "no external-contact permission (客户联系 → 可调用接口的应用)",
    90501: "the chat is not a customer group",
    93000: "the group robot's webhook key is invalid or the robot was removed from its group",
    93004: "the group robot is disabled",
    93008: "the group robot is not in the group",
    301002: "the secret's app is not the requested agentid",
    301042: "the archive's IP whitelist refuses this server (管理工具 → 会话内容存档 → 可信IP地址); " + _TRUSTED_IP,
    301052: "the archive service has expired",
    301053: "the archive service is not enabled",
    301059: "not an internal group",
    301060: "too many consent entries in one request (more than 100)",
    301061: "userid or external id does not exist",
    701008: "no valid interop licence for the user(s)",
}

SKIP_ERRCODES = frozenset({40003, 40096, 60111, 84061, 90501, 301059, 301061})


def action_for(errcode: int) -> str:
    if errcode in TOKEN_ERRCODES:
        return "token"
    if errcode in RETRY_ERRCODES:
        return "retry"
    if errcode in SKIP_ERRCODES:
        return "skip"
    return "fail"


class WeComError(ChatArchiveError):
    """A WeCom API call failed. The message names the API and the errcode and explains it; it never
    carries a secret, a token or a webhook key."""

    def __init__(self, api: str, errcode: int, detail: str = "") -> None:
        self.api = api
        self.errcode = errcode
        self.action = action_for(errcode) if errcode else "retry"
        explanation = detail or EXPLANATIONS.get(
            errcode, "unknown errcode; see https://open.work.weixin.qq.com/devtool/query?e=" + str(errcode)
        )
        super().__init__(f"WeCom {api}: errcode {errcode}: {explanation}" if errcode else f"WeCom {api}: {explanation}")

    @property
    def skippable(self) -> bool:
        return self.action == "skip"
