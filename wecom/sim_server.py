"""``chatarchive wecom-sim serve``: WeCom's server APIs over real HTTP, answered from a simulated archive.

Serves gettoken, the organisation, external contacts, customer groups, the msgaudit APIs, message/send
and the group robot webhook with WeCom's JSON, errcodes, opaque cursors and token expiry
(wecom-http-apis.md §7). Test and demo hooks under ``/_sim/``:

- ``GET /_sim/sent``: what message/send and the webhook received (``{"message_send": [...], "webhook": [...]}``);
- ``POST /_sim/faults`` ``{"path": "/cgi-bin/…", "errcode": 45009, "count": 2}``: the next calls fail;
- ``POST /_sim/expire_tokens``: every issued token expires (the next call gets 42001);
- ``POST /_sim/advance_clock`` ``{"seconds": 60}``: simulated time moves on (rate-limit windows, token expiry);
- ``POST /_sim/org`` ``{"move": {"userid": u, "departments": [..]}}`` or ``{"delete": u}``: the organisation
  changes (as an administrator would in the admin console), and the change_contact callback goes to the
  receiver set with ``POST /_sim/callback_target`` ``{"url", "token", "aes_key"}`` (if any);
- ``POST /_sim/callback`` ``{"url", "token", "aes_key", "event": {XML fields}, "timestamp"?, "nonce"?}``:
  delivers one signed, encrypted callback to ``url`` and returns the receiver's HTTP status and body.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets as random_tokens
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from wecom.callback_crypto import envelope
from wecom.ratelimit import RateLimiter
from wecom.redact import redact
from wecom.sim_org import ALERT_AGENTID, JsonDict, SimulatedOrg, corp_id, simulated_secrets

log = logging.getLogger(__name__)

# Which secret role may call which API prefix (§0.1); anything else → 48002.
ALLOWED_PREFIXES: dict[str, tuple[str, ...]] = {
    "archive": ("/cgi-bin/msgaudit/",),
    "contacts": ("/cgi-bin/department/", "/cgi-bin/user/"),
    "app": (
        "/cgi-bin/department/",
        "/cgi-bin/user/get",
        "/cgi-bin/user/simplelist",
        "/cgi-bin/user/list",
        "/cgi-bin/message/send",
    ),
    "customer": ("/cgi-bin/externalcontact/",),
}
ONLY_CONTACTS = ("/cgi-bin/user/list_id",)
WEBHOOK_PER_MINUTE = 20
OWNER_FILTER_MAX = 100
UNFILTERED_GROUP_LIST_MAX = 1000  # groupchat/list without owner_filter over more people → 81017 (§3.1)
SEND_PER_RECEIVER_PER_MINUTE = 30


class ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str, **empty_keys: object) -> None:
        self.errcode, self.errmsg, self.empty_keys = errcode, errmsg, empty_keys
        super().__init__(errmsg)


@dataclass
class SimState:
    """Everything the server remembers between requests."""

    org: SimulatedOrg
    secrets: dict[str, str]
    token_ttl: int = 7200
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token → (role, expires_at)
    faults: list[JsonDict] = field(default_factory=list)
    sent: dict[str, list[JsonDict]] = field(default_factory=lambda: {"message_send": [], "webhook": [], "dropped": []})
    lock: threading.Lock = field(default_factory=threading.Lock)
    offset_s: float = 0.0  # POST /_sim/advance_clock moves the simulated time forward
    callback_target: JsonDict = field(default_factory=dict)  # {"url", "token", "aes_key"} for change_contact

    def __post_init__(self) -> None:
        self.webhook_limiter = RateLimiter(WEBHOOK_PER_MINUTE, clock=self.now)
        self.receiver_limiter = RateLimiter(SEND_PER_RECEIVER_PER_MINUTE, clock=self.now)

    def now(self) -> float:
        return time.time() + self.offset_s

    def role_of_secret(self, secret: str) -> str | None:
        return next((role for role, value in self.secrets.items() if value == secret and role != "webhook"), None)

    def issue_token(self, role: str) -> str:
        token = random_tokens.token_urlsafe(48)
        with self.lock:
            self.tokens[token] = (role, self.now() + self.token_ttl)
        return token

    def role_of_token(self, token: str) -> str:
        if not token:
            raise ApiError(41001, "access_token missing")
        with self.lock:
            entry = self.tokens.get(token)
        if entry is None:
            raise ApiError(40014, "invalid access_token")
        if entry[1] <= self.now():
            raise ApiError(42001, "access_token expired")
        return entry[0]

    def take_fault(self, path: str) -> int | None:
        with self.lock:
            for fault in self.faults:
                if fault.get("path") in (path, "*") and int(str(fault.get("count") or 0)) > 0:
                    fault["count"] = int(str(fault["count"])) - 1
                    return int(str(fault["errcode"]))
        return None


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: object) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4)).decode()
        return int(text.removeprefix("o:"))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(40058, "invalid cursor") from None


def _page(items: list[JsonDict], cursor: object, limit: int) -> tuple[list[JsonDict], str]:
    start = _offset(cursor)
    end = start + limit
    return items[start:end], (_cursor(end) if end < len(items) else "")


def _limit(value: object, default: int, maximum: int) -> int:
    try:
        limit = int(str(value)) if value not in (None, "") else default
    except ValueError:
        raise ApiError(40058, "invalid limit") from None
    if limit < 1:
        raise ApiError(40058, "invalid limit")
    return min(limit, maximum)


class SimApi:
    """The API handlers: ``handle(method, path, query, body)`` → response JSON (errcode set)."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.org = state.org
        self.routes: dict[str, Callable[[dict[str, str], JsonDict], JsonDict]] = {
            "/cgi-bin/department/simplelist": self.department_simplelist,
            "/cgi-bin/department/get": self.department_get,
            "/cgi-bin/department/list": self.department_list,
            "/cgi-bin/user/list_id": self.user_list_id,
            "/cgi-bin/user/get": self.user_get,
            "/cgi-bin/user/simplelist": self.user_simplelist,
            "/cgi-bin/user/list": self.user_list,
            "/cgi-bin/externalcontact/get_follow_user_list": self.follow_user_list,
            "/cgi-bin/externalcontact/list": self.external_list,
            "/cgi-bin/externalcontact/get": self.external_get,
            "/cgi-bin/externalcontact/batch/get_by_user": self.external_batch,
            "/cgi-bin/externalcontact/groupchat/list": self.groupchat_list,
            "/cgi-bin/externalcontact/groupchat/get": self.groupchat_get,
            "/cgi-bin/msgaudit/get_permit_user_list": self.permit_users,
            "/cgi-bin/msgaudit/check_single_agree": self.check_single_agree,
            "/cgi-bin/msgaudit/check_room_agree": self.check_room_agree,
            "/cgi-bin/msgaudit/groupchat/get": self.msgaudit_groupchat,
            "/cgi-bin/msgaudit/get_robot_info": self.robot_info,
            "/cgi-bin/message/send": self.message_send,
        }

    def handle(self, path: str, query: dict[str, str], body: JsonDict) -> JsonDict:
        try:
            fault = self.state.take_fault(path)
            if fault is not None:
                raise ApiError(fault, "injected fault")
            if path == "/cgi-bin/gettoken":
                return _ok(self.gettoken(query))
            if path == "/cgi-bin/webhook/send":
                return _ok(self.webhook_send(query, body))
            handler = self.routes.get(path)
            if handler is None:
                raise ApiError(404, "api not found")
            role = self.state.role_of_token(query.get("access_token", ""))
            _check_permission(role, path)
            return _ok(handler(query, body))
        except ApiError as e:
            hint = (
                f"{e.errmsg}, hint: [{random_tokens.token_hex(8)}], from ip: 127.0.0.1, "
                f"more info at https://open.work.weixin.qq.com/devtool/query?e={e.errcode}"
            )
            return {"errcode": e.errcode, "errmsg": hint, **e.empty_keys}

    # ------------------------------------------------------------------ token
    def gettoken(self, query: dict[str, str]) -> JsonDict:
        if query.get("corpid") != self.org.corpid:
            raise ApiError(40013, "invalid corpid")
        role = self.state.role_of_secret(query.get("corpsecret", ""))
        if role is None:
            raise ApiError(40001, "invalid secret")
        return {"access_token": self.state.issue_token(role), "expires_in": self.state.token_ttl}

    # ------------------------------------------------------------------ organisation
    def department_simplelist(self, query: dict[str, str], _body: JsonDict) -> JsonDict:
        root = _int_param(query, "id")
        items = [{"id": d["id"], "parentid": d.get("parentid", 0), "order": 0} for d in self.org.subtree(root)]
        return {"department_id": items}

    def department_get(self, query: dict[str, str], _body: JsonDict) -> JsonDict:
        dept = self.org.department(_int_param(query, "id", required=True) or 0)
        if dept is None:
            raise ApiError(60123, "invalid department id")
        return {
            "department": {
                "id": dept["id"],
                "name": dept.get("name", ""),
                "name_en": "",
                "department_leader": [],
                "parentid": dept.get("parentid", 0),
                "order": 0,
            }
        }

    def department_list(self, query: dict[str, str], _body: JsonDict) -> JsonDict:
        return {
            "department": [
                {"id": d["id"], "name": d.get("name", ""), "parentid": d.get("parentid", 0), "order": 0}
                for d in self.org.subtree(_int_param(query, "id"))
            ]
        }

    def user_list_id(self, _query: dict[str, str], body: JsonDict) -> JsonDict:
        rows, cursor = _page(self.org.dept_user_rows(), body.get("cursor"), _limit(body.get("limit"), 10000, 10000))
        return {"dept_user": rows, "next_cursor": cursor}

    def user_get(self, query: dict[str, str], _body: JsonDict) -> JsonDict:
        person = self.org.employee(query.get("userid", ""))
        if person is None:
            raise ApiError(60111, "userid not found")
        return self.org.user_json(person)

    def user_simplelist(self, query: dict[str, str], _body: JsonDict) -> JsonDict:
        dept = _int_param(query, "department_id", required=True)
        return {
            "userlist": [
                {"userid": e["userid"], "name": e.get("name", ""), "department": e.get("departments")}
                for e in self.org.employees
                if dept in (e.get("departments") or [])
            ]
        }

    def user_list(self, query: dict[str, str], _body: JsonDict) -> JsonDict:
        dept = _int_param(query, "department_id", required=True)
        return {"userlist": [self.org.user_json(e) for e in self.org.employees if dept in (e.get("departments") or [])]}

    # ------------------------------------------------------------------ customers
    def follow_user_list(self, _query: dict[str, str], _body: JsonDict) -> JsonDict:
        return {"follow_user": self.org.follow_users()}

    def external_list(self, query: dict[str, str], _body: JsonDict) -> JsonDict:
        userid = query.get("userid", "")
        if self.org.employee(userid) is None:
            raise ApiError(60111, "userid not found", external_userid=[])
        return {"external_userid": self.org.externals_of(userid)}

    def external_get(self, query: dict[str, str], _body: JsonDict) -> JsonDict:
        x = self.org.external(query.get("external_userid", ""))
        if x is None:
            raise ApiError(40096, "invalid external userid", external_contact={}, follow_user=[])
        follows = [self.org.follow_json(x, str(u)) for u in x.get("followers") or []]
        page, cursor = _page(follows, query.get("cursor"), 500)
        return {"external_contact": self.org.external_contact_json(x), "follow_user": page, "next_cursor": cursor}

    def external_batch(self, _query: dict[str, str], body: JsonDict) -> JsonDict:
        users = [str(u) for u in body.get("userid_list") or []] if isinstance(body.get("userid_list"), list) else []
        if not users or len(users) > 100:
            raise ApiError(40058, "userid_list must hold 1-100 userids", external_contact_list=[])
        rows = [
            {
                "external_contact": self.org.external_contact_json(x),
                "follow_info": {**{k: v for k, v in self.org.follow_json(x, u).items() if k != "tags"}, "tag_id": []},
            }
            for u in users
            for x in self.org.externals
            if u in (x.get("followers") or [])
        ]
        page, cursor = _page(rows, body.get("cursor"), _limit(body.get("limit"), 50, 100))
        return {"external_contact_list": page, "next_cursor": cursor, "fail_info": {"unlicensed_userid_list": []}}

    def groupchat_list(self, _query: dict[str, str], body: JsonDict) -> JsonDict:
        if body.get("limit") in (None, ""):
            raise ApiError(40058, "limit is required", group_chat_list=[])
        owners_filter = body.get("owner_filter") if isinstance(body.get("owner_filter"), dict) else {}
        owners = set(owners_filter.get("userid_list") or []) if isinstance(owners_filter, dict) else set()
        if len(owners) > OWNER_FILTER_MAX:
            raise ApiError(40058, "owner_filter.userid_list holds more than 100 userids", group_chat_list=[])
        if not owners and len(self.org.employees) > UNFILTERED_GROUP_LIST_MAX:
            raise ApiError(81017, "too many people in range: give an owner filter", group_chat_list=[])
        chats = [
            {"chat_id": g["roomid"], "status": 0}
            for g in self.org.groups
            if g.get("kind") == "external" and (not owners or g.get("owner") in owners)
        ]
        page, cursor = _page(chats, body.get("cursor"), _limit(body.get("limit"), 1000, 1000))
        return {"group_chat_list": page, "next_cursor": cursor}

    def groupchat_get(self, _query: dict[str, str], body: JsonDict) -> JsonDict:
        group = self.org.group(str(body.get("chat_id") or ""))
        if group is None:
            raise ApiError(40050, "invalid chat_id")
        if group.get("kind") != "external":
            raise ApiError(90501, "not a customer group")
        return {"group_chat": self.org.customer_group_json(group, need_name=str(body.get("need_name")) == "1")}

    # ------------------------------------------------------------------ msgaudit
    def permit_users(self, _query: dict[str, str], _body: JsonDict) -> JsonDict:
        return {"ids": self.org.permit_users()}

    def check_single_agree(self, _query: dict[str, str], body: JsonDict) -> JsonDict:
        raw = body.get("info")
        info: list[JsonDict] = [i for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []
        if len(info) > 100:
            raise ApiError(301060, "too many entries")
        out = []
        for item in info:
            userid, external = str(item.get("userid") or ""), str(item.get("exteranalopenid") or "")
            status, when = self.org.consent_single.get((userid, external), ("Default_Agree", 0))
            out.append(
                {"status_change_time": when, "userid": userid, "exteranalopenid": external, "agree_status": status}
            )
        return {"agreeinfo": out}

    def check_room_agree(self, _query: dict[str, str], body: JsonDict) -> JsonDict:
        roomid = str(body.get("roomid") or "")
        group = self.org.group(roomid)
        if group is None:
            raise ApiError(301061, "room does not exist")
        externals = [m for m in group.get("members") or [] if self.org.employee(str(m)) is None]
        out = []
        for external in externals:
            status, when = self.org.consent_room.get((roomid, str(external)), ("Default_Agree", 0))
            out.append({"status_change_time": when, "exteranalopenid": external, "agree_status": status})
        return {"agreeinfo": out}

    def msgaudit_groupchat(self, _query: dict[str, str], body: JsonDict) -> JsonDict:
        group = self.org.group(str(body.get("roomid") or ""))
        if group is None or group.get("kind") != "internal":
            raise ApiError(301059, "not an internal group")
        return self.org.internal_group_json(group)

    def robot_info(self, query: dict[str, str], _body: JsonDict) -> JsonDict:
        robot = self.org.robot(query.get("robot_id", ""))
        if robot is None:
            raise ApiError(301061, "robot does not exist")
        return {"data": {"robot_id": robot["id"], "name": robot.get("name", ""), "creator_userid": ""}}

    # ------------------------------------------------------------------ alerts
    def message_send(self, _query: dict[str, str], body: JsonDict) -> JsonDict:
        if int(str(body.get("agentid") or 0)) != ALERT_AGENTID:
            raise ApiError(301002, "agentid does not match the token's app")
        msgtype = str(body.get("msgtype") or "")
        if msgtype not in ("text", "textcard", "markdown") or not isinstance(body.get(msgtype), dict):
            raise ApiError(40008, "invalid message type")
        _check_length(msgtype, body)
        receivers = [u for u in str(body.get("touser") or "").split("|") if u]
        active = {str(e["userid"]) for e in self.org.employees if e.get("status") != "left"}
        invalid = [u for u in receivers if u not in active]
        valid = [u for u in receivers if u in active]
        if not valid:
            raise ApiError(81013, "user & party & tag all invalid")
        delivered = [u for u in valid if self.state.receiver_limiter.try_acquire(u)]
        record = {**body, "delivered_to": delivered, "received_s": self.state.now()}
        with self.state.lock:
            self.state.sent["message_send"].append(record)
            if len(delivered) < len(valid):  # WeCom drops over-limit messages silently
                self.state.sent["dropped"].append({"touser": sorted(set(valid) - set(delivered))})
        return {
            "invaliduser": "|".join(invalid),
            "invalidparty": "",
            "invalidtag": "",
            "unlicenseduser": "",
            "msgid": random_tokens.token_urlsafe(20),
            "response_code": "",
        }

    def webhook_send(self, query: dict[str, str], body: JsonDict) -> JsonDict:
        key = query.get("key", "")
        if key != self.state.secrets.get("webhook"):
            raise ApiError(93000, "invalid webhook url")
        msgtype = str(body.get("msgtype") or "")
        if msgtype not in ("text", "markdown") or not isinstance(body.get(msgtype), dict):
            raise ApiError(40008, "invalid message type")
        _check_length(msgtype, body, markdown_max=4096)
        if not self.state.webhook_limiter.try_acquire(key):
            raise ApiError(45009, "api freq out of limit")
        with self.state.lock:
            self.state.sent["webhook"].append({**body, "received_s": self.state.now()})
        return {}


def _check_permission(role: str, path: str) -> None:
    if path in ONLY_CONTACTS and role != "contacts":
        raise ApiError(48002, "api forbidden")
    if not any(path.startswith(prefix) for prefix in ALLOWED_PREFIXES.get(role, ())):
        raise ApiError(48002, "api forbidden")


def _check_length(msgtype: str, body: JsonDict, markdown_max: int = 2048) -> None:
    payload = body[msgtype]  # a dict: the caller checked
    text = str(payload.get("content") or payload.get("description") or "")
    if not text.strip():
        raise ApiError(44004, "empty content")
    maximum = markdown_max if msgtype == "markdown" else (512 * 3 if msgtype == "textcard" else 2048)
    if len(text.encode()) > maximum:
        raise ApiError(45002, "content size out of limit")


def _int_param(query: dict[str, str], name: str, *, required: bool = False) -> int | None:
    value = query.get(name, "")
    if value == "":
        if required:
            raise ApiError(40058, f"{name} missing")
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError(40058, f"invalid {name}") from None


def _change_event(change: JsonDict) -> JsonDict:
    """The change_contact event for an admin change; the reduced payload of post-2022-08-15 receivers."""
    move = change.get("move")
    if isinstance(move, dict):
        departments = ",".join(str(d) for d in move.get("departments") or [])
        return {
            "Event": "change_contact",
            "ChangeType": "update_user",
            "UserID": str(move.get("userid")),
            "Department": departments,
        }
    return {"Event": "change_contact", "ChangeType": "delete_user", "UserID": str(change.get("delete"))}


def _ok(data: JsonDict) -> JsonDict:
    return {"errcode": 0, "errmsg": "ok", **data}


# ---------------------------------------------------------------------- callbacks
def callback_xml(corpid: str, fields: JsonDict, created: int) -> str:
    """A decrypted callback message: the envelope fields plus the event's own, CDATA for text."""
    parts = [
        f"<ToUserName><![CDATA[{corpid}]]></ToUserName>",
        "<FromUserName><![CDATA[sys]]></FromUserName>",
        f"<CreateTime>{created}</CreateTime>",
        "<MsgType><![CDATA[event]]></MsgType>",
    ]
    for name, value in fields.items():
        if isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}><![CDATA[{escape(str(value))}]]></{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def deliver_callback(corpid: str, request: JsonDict, clock: Callable[[], float] = time.time) -> JsonDict:
    """Signs, encrypts and POSTs one callback to ``request["url"]``; returns the receiver's answer."""
    timestamp = str(request.get("timestamp") or int(clock()))
    nonce = str(request.get("nonce") or random_tokens.token_hex(8))
    event: JsonDict = request["event"] if isinstance(request.get("event"), dict) else {}
    xml = callback_xml(corpid, event, int(timestamp))
    body, signature = envelope(
        xml,
        token=str(request["token"]),
        encoding_aes_key=str(request["aes_key"]),
        receiver_id=corpid,
        timestamp=timestamp,
        nonce=nonce,
    )
    query = urllib.parse.urlencode({"msg_signature": signature, "timestamp": timestamp, "nonce": nonce})
    http_request = urllib.request.Request(
        f"{request['url']}?{query}", data=body.encode(), method="POST", headers={"Content-Type": "text/xml"}
    )
    try:
        with urllib.request.urlopen(http_request, timeout=10) as response:
            return {"status": response.status, "body": response.read().decode(errors="replace")}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read().decode(errors="replace")}
    except urllib.error.URLError as e:
        return {"status": 0, "body": f"cannot reach the receiver: {e.reason}"}


# ---------------------------------------------------------------------- HTTP
class _Handler(BaseHTTPRequestHandler):
    server: SimServer

    def log_message(self, format: str, *args: object) -> None:
        log.debug("wecom-sim: %s", redact(format % args))

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        body = self._body() if method == "POST" else {}
        if body is None:
            self._reply({"errcode": 47001, "errmsg": "data format error"})
            return
        if url.path.startswith("/_sim/"):
            self._reply(self._sim_hook(method, url.path, body))
            return
        self._reply(self.server.api.handle(url.path, query, body))

    def _body(self) -> JsonDict | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _sim_hook(self, method: str, path: str, body: JsonDict) -> JsonDict:
        state = self.server.state
        if path == "/_sim/sent":
            with state.lock:
                return json.loads(json.dumps(state.sent))
        if path == "/_sim/faults" and method == "POST":
            with state.lock:
                state.faults.append(dict(body))
            return {"ok": True}
        if path == "/_sim/expire_tokens" and method == "POST":
            with state.lock:
                state.tokens = {token: (role, 0.0) for token, (role, _expires) in state.tokens.items()}
            return {"ok": True}
        if path == "/_sim/advance_clock" and method == "POST":
            with state.lock:
                state.offset_s += float(str(body.get("seconds") or 0))
            return {"ok": True}
        if path == "/_sim/callback_target" and method == "POST":
            with state.lock:
                state.callback_target = dict(body)
            return {"ok": True}
        if path == "/_sim/org" and method == "POST":
            with state.lock:
                answer = state.org.change(body)
                target = dict(state.callback_target)
            if answer.get("ok") and target:  # an admin-console change: WeCom tells the receiver
                answer["callback"] = deliver_callback(state.org.corpid, {**target, "event": _change_event(body)})
            return answer
        if path == "/_sim/callback" and method == "POST":
            return deliver_callback(state.org.corpid, body)
        return {"error": "unknown simulator hook"}

    def _reply(self, data: JsonDict) -> None:
        payload = json.dumps(data, ensure_ascii=False).encode()
        self.send_response(200)  # WeCom answers 200 even for errcode ≠ 0
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class SimServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, archive_dir: Path, host: str = "127.0.0.1", port: int = 0, token_ttl: int = 7200) -> None:
        self.state = SimState(
            org=SimulatedOrg.load(archive_dir), secrets=simulated_secrets(archive_dir), token_ttl=token_ttl
        )
        self.api = SimApi(self.state)
        self.corpid = corp_id(archive_dir)
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        return f"http://{host}:{port}"

    def start_in_thread(self) -> threading.Thread:
        """Serves on a daemon thread (tests and ``chatarchive demo``); stop with ``shutdown()``."""
        thread = threading.Thread(target=self.serve_forever, name="wecom-sim", daemon=True)
        thread.start()
        return thread
