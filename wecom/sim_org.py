"""The simulated organisation as WeCom's server APIs show it (wecom-http-apis.md §1-3, protocol §8.2-8.5).

Built from what ``chatarchive simulate`` wrote: ``org.json`` (departments, employees, customers,
groups, robots), ``sim.json`` (corp id, archive secret) and ``truth.jsonl`` (the agree/disagree
events behind check_single_agree / check_room_agree). Pure data: the HTTP layer is ``wecom.sim_server``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JsonDict = dict[str, Any]  # JSON from the wire: each reader checks the shape it needs

SECRET_ROLES = ("archive", "contacts", "customer", "app")
ALERT_AGENTID = 1000002
STATUS_CODES = {"active": 1, "left": 5}  # user/get status: 1 activated, 5 left the corp
ADD_WAYS = {"扫描二维码": 1, "搜索手机号": 2, "名片分享": 3, "群聊": 4, "微信联系人": 6, "企业微信": 201}
AGREE_STATUS = {"agree": "Agree", "disagree": "Disagree"}


def simulated_secrets(archive_dir: Path) -> dict[str, str]:
    """The secrets the simulator accepts: the archive secret of ``sim.json`` and, derived from it, one
    per other role, plus the group robot's webhook key (role ``webhook``)."""
    meta = json.loads((archive_dir / "sim.json").read_text(encoding="utf-8"))
    archive = str(meta["secret"])
    out = {"archive": archive}
    for role in (*SECRET_ROLES[1:], "webhook"):
        out[role] = hashlib.sha256(f"{archive}/{role}".encode()).hexdigest()[:43]
    return out


def sim_settings(archive_dir: Path, url: str) -> dict[str, object]:
    """The product settings that point at a simulated WeCom (corp id, every secret, the alert app)."""
    secrets = simulated_secrets(archive_dir)
    return {
        "wecom_api_url": url,
        "corpid": corp_id(archive_dir),
        "secret": secrets["archive"],
        "wecom_contacts_secret": secrets["contacts"],
        "wecom_customer_secret": secrets["customer"],
        "wecom_app_secret": secrets["app"],
        "wecom_agentid": ALERT_AGENTID,
        "wecom_webhook_key": secrets["webhook"],
    }


def corp_id(archive_dir: Path) -> str:
    return str(json.loads((archive_dir / "sim.json").read_text(encoding="utf-8"))["corpid"])


@dataclass
class SimulatedOrg:
    corpid: str
    departments: list[JsonDict]
    employees: list[JsonDict]
    externals: list[JsonDict]
    groups: list[JsonDict]
    robots: list[JsonDict]
    consent_single: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)  # → (status, s)
    consent_room: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)  # (roomid, ext) → …

    @classmethod
    def load(cls, archive_dir: Path) -> SimulatedOrg:
        org = json.loads((archive_dir / "org.json").read_text(encoding="utf-8"))
        sim = cls(
            corpid=corp_id(archive_dir),
            departments=list(org.get("departments") or []),
            employees=list(org.get("employees") or []),
            externals=list(org.get("externals") or []),
            groups=list(org.get("groups") or []),
            robots=list(org.get("robots") or []),
        )
        sim._load_consent(archive_dir / "truth.jsonl")
        return sim

    def _load_consent(self, truth: Path) -> None:
        """The newest agree/disagree per (employee, customer) and per (room, customer), in seconds."""
        if not truth.exists():
            return
        with truth.open(encoding="utf-8") as f:
            for line in f:
                if '"agree"' not in line and '"disagree"' not in line:
                    continue
                msg = json.loads(line, strict=False)
                kind = msg.get("msgtype")
                if kind not in AGREE_STATUS:
                    continue
                body = msg.get(kind) or {}
                external = str(body.get("userid") or msg.get("from") or "")
                when = int(body.get(f"{kind}_time") or msg.get("msgtime") or 0) // 1000
                roomid = str(msg.get("roomid") or "")
                target = self.consent_room if roomid else self.consent_single
                for other in [str(p) for p in [msg.get("from"), *(msg.get("tolist") or [])] if p != external]:
                    key = (roomid, external) if roomid else (other, external)
                    if key not in target or target[key][1] <= when:
                        target[key] = (AGREE_STATUS[kind], when)

    # ------------------------------------------------------------------ organisation
    def employee(self, userid: str) -> JsonDict | None:
        return next((e for e in self.employees if e["userid"] == userid), None)

    def department(self, dept_id: int) -> JsonDict | None:
        return next((d for d in self.departments if int(str(d["id"])) == dept_id), None)

    def subtree(self, root: int | None) -> list[JsonDict]:
        if root is None:
            return list(self.departments)
        keep, todo = set(), [root]
        while todo:
            current = todo.pop()
            keep.add(current)
            todo.extend(int(str(d["id"])) for d in self.departments if int(str(d.get("parentid") or 0)) == current)
        return [d for d in self.departments if int(str(d["id"])) in keep]

    def dept_user_rows(self) -> list[JsonDict]:
        return [
            {"userid": e["userid"], "department": int(str(d))}
            for e in self.employees
            for d in _ints(e.get("departments"))
        ]

    def user_json(self, e: JsonDict) -> JsonDict:
        depts = _ints(e.get("departments"))
        return {
            "userid": e["userid"],
            "name": e.get("name", ""),
            "department": depts,
            "order": [0] * len(depts),
            "position": e.get("position", ""),
            "main_department": depts[0] if depts else 1,
            "status": STATUS_CODES.get(str(e.get("status")), 1),
            "is_leader_in_dept": [0] * len(depts),
            "direct_leader": [],
            "alias": "",
            "telephone": "",
            "external_position": "",
        }

    def permit_users(self) -> list[str]:
        """归档中: employees whose archiving has not ended."""
        return [str(e["userid"]) for e in self.employees if e.get("archived_until") is None]

    def change(self, request: JsonDict) -> JsonDict:
        """An administrator's change: move a member to other departments, or delete one."""
        move = request.get("move")
        if isinstance(move, dict):
            person = self.employee(str(move.get("userid")))
            if person is None:
                return {"ok": False, "error": "no such userid"}
            person["departments"] = _ints(move.get("departments"))
            return {"ok": True}
        if request.get("delete"):
            before = len(self.employees)
            self.employees = [e for e in self.employees if e["userid"] != request["delete"]]
            return {"ok": len(self.employees) < before}
        return {"ok": False, "error": "give move or delete"}

    # ------------------------------------------------------------------ customers
    def follow_users(self) -> list[str]:
        return sorted({str(f) for x in self.externals for f in _strs(x.get("followers"))})

    def externals_of(self, userid: str) -> list[str]:
        return [str(x["id"]) for x in self.externals if userid in _strs(x.get("followers"))]

    def external(self, external_id: str) -> JsonDict | None:
        return next((x for x in self.externals if x["id"] == external_id), None)

    def external_contact_json(self, x: JsonDict) -> JsonDict:
        wecom_user = x.get("type") == "wecom"
        out: JsonDict = {
            "external_userid": x["id"],
            "name": x.get("name", ""),
            "type": 2 if wecom_user else 1,
            "gender": 0,
            "avatar": "",
        }
        if wecom_user:
            out.update({"corp_name": x.get("corp", ""), "corp_full_name": x.get("corp", ""), "position": ""})
        else:
            out["unionid"] = "o" + hashlib.sha256(str(x["id"]).encode()).hexdigest()[:27]
        return out

    def follow_json(self, x: JsonDict, userid: str) -> JsonDict:
        return {
            "userid": userid,
            "remark": x.get("name", ""),
            "description": "",
            "createtime": int(str(x.get("added_ms") or 0)) // 1000,
            "tags": [],
            "remark_corp_name": "",
            "remark_mobiles": [],
            "oper_userid": userid,
            "add_way": ADD_WAYS.get(str(x.get("source")), 0),
        }

    # ------------------------------------------------------------------ groups
    def group(self, roomid: str) -> JsonDict | None:
        return next((g for g in self.groups if g["roomid"] == roomid), None)

    def customer_group_json(self, g: JsonDict, need_name: bool) -> JsonDict:
        created = int(str(g.get("created_ms") or 0)) // 1000
        members = []
        for member in _strs(g.get("members")):
            person = self.employee(member)
            item: JsonDict = {
                "userid": member,
                "type": 1 if person else 2,
                "join_time": created,
                "join_scene": 1,
                "group_nickname": "",
            }
            if need_name:
                item["name"] = (person or self.external(member) or {}).get("name", "")
            members.append(item)
        version = hashlib.md5(json.dumps(sorted(_strs(g.get("members")))).encode()).hexdigest()
        return {
            "chat_id": g["roomid"],
            "name": g.get("name", ""),
            "owner": g.get("owner", ""),
            "create_time": created,
            "notice": "",
            "member_list": members,
            "admin_list": [],
            "member_version": version,
        }

    def internal_group_json(self, g: JsonDict) -> JsonDict:
        created = int(str(g.get("created_ms") or 0)) // 1000
        return {
            "roomname": g.get("name", ""),
            "creator": g.get("owner", ""),
            "room_create_time": created,
            "notice": "",
            "members": [{"memberid": m, "jointime": created} for m in _strs(g.get("members"))],
        }

    def robot(self, robot_id: str) -> JsonDict | None:
        return next((r for r in self.robots if r["id"] == robot_id), None)


def _ints(value: object) -> list[int]:
    return [int(str(v)) for v in value] if isinstance(value, list) else []


def _strs(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
