"""Reads the organisation from WeCom's server APIs into the directory shape of ``core.directory``.

Incremental: ``user/list_id`` (cheap, one row per member and department) is always read; ``user/get`` only
for members who are new, whose department rows changed or whose details are older than
``directory_full_sync_hours``; the same age rule for internal groups and robots. Departments, customers
(``batch/get_by_user``, 100 members a call) and customer groups are read every time: WeCom offers no
"changed since" for them.

Minimum-privilege order (wecom-http-apis.md §1-3, protocol §8.2-8.5): department/simplelist +
department/get, user/list_id + user/get (contacts secret), get_permit_user_list (archive secret),
get_follow_user_list + batch/get_by_user (customer secret), groupchat/list + groupchat/get for customer
groups, msgaudit/groupchat/get for the internal groups the archive has seen, get_robot_info for robots.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from wecom.client import JsonDict, WeComClient
from wecom.errcodes import WeComError

log = logging.getLogger(__name__)

ADD_WAY_LABELS = {
    0: "未知来源",
    1: "扫描二维码",
    2: "搜索手机号",
    3: "名片分享",
    4: "群聊",
    5: "手机通讯录",
    6: "微信联系人",
    8: "第三方应用",
    9: "搜索邮箱",
    10: "视频号",
    11: "日程参与人",
    12: "会议参与人",
    13: "微信好友的企业微信",
    16: "获客链接",
    201: "企业微信",
    202: "管理员分配",
}
LEFT_STATUS = 5
BATCH_USERS = 100  # batch/get_by_user: at most 100 members per call
OWNER_CHUNK = 100  # groupchat/list owner_filter: at most 100 owners


@dataclass
class FetchedDirectory:
    corp: JsonDict
    departments: list[JsonDict] = field(default_factory=list)
    employees: list[JsonDict] = field(default_factory=list)
    externals: list[JsonDict] = field(default_factory=list)
    groups: list[JsonDict] = field(default_factory=list)
    robots: list[JsonDict] = field(default_factory=list)
    permit_users: list[str] = field(default_factory=list)


@dataclass
class Known:
    """What an incremental sync may reuse: details read at or after ``fresh_since_ms``."""

    employees: dict[str, JsonDict] = field(default_factory=dict)
    internal_groups: dict[str, JsonDict] = field(default_factory=dict)
    robots: dict[str, JsonDict] = field(default_factory=dict)
    fresh_since_ms: int = 0
    now_ms: int = 0

    def fresh(self, item: JsonDict | None) -> bool:
        return item is not None and int(item.get("synced_ms") or 0) >= self.fresh_since_ms > 0


def fetch_directory(
    client: WeComClient, *, roomids: Iterable[str] = (), robot_ids: Iterable[str] = (), known: Known | None = None
) -> FetchedDirectory:
    """The organisation as the APIs show it now. ``roomids``: groups seen in the archive (internal
    groups cannot be listed, only looked up); ``robot_ids``: robots seen. With ``known``, members whose
    department rows did not change, internal groups and robots read recently are not read again."""
    known = known or Known()
    departments = fetch_departments(client)
    root = next((d for d in departments if int(str(d.get("parentid") or 0)) == 0), None)
    out = FetchedDirectory(
        corp={"corpid": client.corp_id, "name": str(root["name"]) if root else ""}, departments=departments
    )
    out.employees = fetch_employees(client, known)
    out.permit_users = fetch_permit_users(client)
    out.externals = fetch_externals(client, sorted({str(e["userid"]) for e in out.employees}))
    customer_groups = fetch_customer_groups(client, [str(e["userid"]) for e in out.employees])
    rooms = [r for r in roomids if r not in {str(g["roomid"]) for g in customer_groups}]
    out.groups = customer_groups + [
        known.internal_groups[r] for r in rooms if known.fresh(known.internal_groups.get(r))
    ]
    out.groups += fetch_internal_groups(
        client, [r for r in rooms if not known.fresh(known.internal_groups.get(r))], known.now_ms
    )
    robots = list(robot_ids)
    out.robots = [known.robots[r] for r in robots if known.fresh(known.robots.get(r))]
    out.robots += fetch_robots(client, [r for r in robots if not known.fresh(known.robots.get(r))], known.now_ms)
    return out


def fetch_departments(client: WeComClient) -> list[JsonDict]:
    ids = client.call("GET", "/cgi-bin/department/simplelist", secret="contacts").get("department_id")
    out: list[JsonDict] = []
    for item in ids if isinstance(ids, list) else []:
        dept_id = int(item["id"])
        try:
            dept = client.call("GET", "/cgi-bin/department/get", secret="contacts", params={"id": dept_id})[
                "department"
            ]
        except WeComError as e:
            if not e.skippable and e.errcode != 60123:
                raise
            continue
        if not isinstance(dept, dict):
            continue
        out.append(
            {"id": dept_id, "name": str(dept.get("name") or dept_id), "parentid": int(dept.get("parentid") or 0)}
        )
    return out


def fetch_employees(client: WeComClient, known: Known) -> list[JsonDict]:
    departments: dict[str, list[int]] = {}
    for row in client.paginate(
        "POST", "/cgi-bin/user/list_id", secret="contacts", items="dept_user", body={"limit": 10000}
    ):
        departments.setdefault(str(row["userid"]), []).append(int(str(row["department"])))
    out: list[JsonDict] = []
    for userid, depts in departments.items():
        before = known.employees.get(userid)
        if known.fresh(before) and before is not None and sorted(before.get("departments") or []) == sorted(set(depts)):
            out.append(
                {
                    k: before[k]
                    for k in ("userid", "name", "position", "departments", "status", "wecom_status", "synced_ms")
                    if k in before
                }
            )
            continue
        try:
            user = client.call("GET", "/cgi-bin/user/get", secret="contacts", params={"userid": userid})
        except WeComError as e:
            if e.errcode == 60111:  # deleted between the two calls
                continue
            raise
        status = int(str(user.get("status") or 1))
        out.append(
            {
                "userid": userid,
                "name": str(user.get("name") or userid),
                "position": str(user.get("position") or ""),
                "departments": sorted(set(depts)),
                "status": "left" if status == LEFT_STATUS else "active",
                "wecom_status": status,
                "synced_ms": known.now_ms,
            }
        )
    return out


def fetch_permit_users(client: WeComClient) -> list[str]:
    ids = client.call("POST", "/cgi-bin/msgaudit/get_permit_user_list", secret="archive", body={}).get("ids")
    return [str(i) for i in ids] if isinstance(ids, list) else []


def fetch_externals(client: WeComClient, userids: list[str]) -> list[JsonDict]:
    follow = client.call("GET", "/cgi-bin/externalcontact/get_follow_user_list", secret="customer").get("follow_user")
    followers = sorted({str(u) for u in follow} & set(userids)) if isinstance(follow, list) else []
    by_id: dict[str, JsonDict] = {}
    for start in range(0, len(followers), BATCH_USERS):
        chunk = followers[start : start + BATCH_USERS]
        for row in client.paginate(
            "POST",
            "/cgi-bin/externalcontact/batch/get_by_user",
            secret="customer",
            items="external_contact_list",
            body={"userid_list": chunk, "limit": 100},
        ):
            _add_follow(by_id, row)
    return list(by_id.values())


def _add_follow(by_id: dict[str, JsonDict], row: JsonDict) -> None:
    """One (customer, following member) row into the customer: ``followers`` in order, ``follow`` per member
    (remark, when added, how: add_way and its label), and the customer's earliest add as ``added_ms``/``source``."""
    contact, info = row.get("external_contact"), row.get("follow_info")
    if not isinstance(contact, dict) or not isinstance(info, dict):
        return
    external_id = str(contact["external_userid"])
    added_ms = int(str(info.get("createtime") or 0)) * 1000
    add_way = int(str(info.get("add_way") or 0))
    entry = by_id.setdefault(
        external_id,
        {
            "id": external_id,
            "name": str(contact.get("name") or external_id),
            "corp": str(contact.get("corp_name") or ""),
            "type": "wecom" if int(str(contact.get("type") or 1)) == 2 else "wechat",
            "added_ms": added_ms,
            "followers": [],
            "follow": {},
            "source": ADD_WAY_LABELS.get(add_way, "其他"),
        },
    )
    follower = str(info.get("userid") or "")
    if follower and follower not in entry["followers"]:
        entry["followers"].append(follower)
    entry["follow"][follower] = {
        "remark": str(info.get("remark") or ""),
        "added_ms": added_ms,
        "add_way": add_way,
        "source": ADD_WAY_LABELS.get(add_way, "其他"),
    }
    if added_ms and added_ms < int(str(entry["added_ms"])):
        entry["added_ms"] = added_ms
        entry["source"] = ADD_WAY_LABELS.get(add_way, "其他")


def fetch_customer_groups(client: WeComClient, userids: list[str]) -> list[JsonDict]:
    """Every customer group; owners who left are only listed with an explicit owner filter, so the
    filter always names every known member (in chunks of 100), which also avoids 81017."""
    chat_ids: list[str] = []
    for start in range(0, len(userids), OWNER_CHUNK):
        body: JsonDict = {
            "status_filter": 0,
            "owner_filter": {"userid_list": userids[start : start + OWNER_CHUNK]},
            "limit": 1000,
        }
        for row in client.paginate(
            "POST", "/cgi-bin/externalcontact/groupchat/list", secret="customer", items="group_chat_list", body=body
        ):
            if str(row["chat_id"]) not in chat_ids:
                chat_ids.append(str(row["chat_id"]))
    out: list[JsonDict] = []
    for chat_id in chat_ids:
        group = client.call(
            "POST",
            "/cgi-bin/externalcontact/groupchat/get",
            secret="customer",
            body={"chat_id": chat_id, "need_name": 1},
        ).get("group_chat")
        if not isinstance(group, dict):
            continue
        members = [m for m in group.get("member_list") or [] if isinstance(m, dict)]
        out.append(
            {
                "roomid": chat_id,
                "name": str(group.get("name") or ""),
                "owner": str(group.get("owner") or ""),
                "kind": "external",
                "members": [str(m["userid"]) for m in members],
                "joined_ms": {str(m["userid"]): int(str(m.get("join_time") or 0)) * 1000 for m in members},
                "created_ms": int(str(group.get("create_time") or 0)) * 1000,
                "member_version": str(group.get("member_version") or ""),
            }
        )
    return out


def fetch_internal_groups(client: WeComClient, roomids: Iterable[str], now_ms: int = 0) -> list[JsonDict]:
    out: list[JsonDict] = []
    for roomid in roomids:
        try:
            room = client.call("POST", "/cgi-bin/msgaudit/groupchat/get", secret="archive", body={"roomid": roomid})
        except WeComError as e:
            if e.skippable:  # a customer group outside the app's range, or gone
                continue
            raise
        members = [m for m in room.get("members") or [] if isinstance(m, dict)]
        out.append(
            {
                "roomid": roomid,
                "name": str(room.get("roomname") or ""),
                "owner": str(room.get("creator") or ""),
                "kind": "internal",
                "members": [str(m["memberid"]) for m in members],
                "joined_ms": {str(m["memberid"]): int(str(m.get("jointime") or 0)) * 1000 for m in members},
                "created_ms": int(str(room.get("room_create_time") or 0)) * 1000,
                "synced_ms": now_ms,
            }
        )
    return out


def fetch_robots(client: WeComClient, robot_ids: Iterable[str], now_ms: int = 0) -> list[JsonDict]:
    out: list[JsonDict] = []
    for robot_id in robot_ids:
        try:
            data = client.call(
                "GET", "/cgi-bin/msgaudit/get_robot_info", secret="archive", params={"robot_id": robot_id}
            ).get("data")
        except WeComError as e:
            if e.skippable:
                continue
            raise
        if isinstance(data, dict):
            out.append(
                {
                    "id": robot_id,
                    "name": str(data.get("name") or robot_id),
                    "creator": str(data.get("creator_userid") or ""),
                    "synced_ms": now_ms,
                }
            )
    return out
