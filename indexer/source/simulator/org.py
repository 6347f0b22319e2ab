"""The simulated organisation: department tree, employees, external contacts, groups, robots.

The result has the shape of ``core.directory`` (``org.json``) plus a ``robots`` list
(``{"id": "wb…", "name": …, "groups": [roomid…]}``), which ``Directory`` ignores: robot ids are
classified by their ``wb`` prefix. Everything derives from the seeded ``random.Random``.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

from pypinyin import lazy_pinyin

DAY_MS = 86_400_000
_ID_ALPHABET = string.ascii_letters + string.digits

# (id, name, parentid, industry of the people in it)
DEPARTMENTS: list[tuple[int, str, int, str]] = [
    (1, "总部", 0, "internal"),
    (2, "财富管理部", 1, "wealth"),
    (3, "理财一组", 2, "wealth"),
    (4, "理财二组", 2, "wealth"),
    (5, "投资顾问组", 2, "wealth"),
    (6, "零售事业部", 1, "retail"),
    (7, "华东门店", 6, "retail"),
    (8, "线上商城运营组", 6, "retail"),
    (9, "教育事业部", 1, "education"),
    (10, "课程顾问组", 9, "education"),
    (11, "教务组", 9, "education"),
    (12, "客服中心", 1, "service"),
    (13, "合规部", 1, "internal"),
    (14, "行政人事部", 1, "internal"),
    (15, "信息技术部", 1, "internal"),
]

# Where the employees sit (leaf departments), with weights.
_STAFFING: list[tuple[int, float]] = [
    (3, 12),
    (4, 10),
    (5, 6),
    (7, 9),
    (8, 6),
    (10, 9),
    (11, 5),
    (12, 10),
    (13, 3),
    (14, 2),
    (15, 2),
    (2, 1),
    (6, 1),
    (9, 1),
    (1, 1),
]

POSITIONS: dict[int, list[str]] = {
    1: ["总经理", "副总经理"],
    2: ["财富管理部总监"],
    6: ["零售事业部总监"],
    9: ["教育事业部总监"],
    3: ["理财经理", "高级理财经理", "客户经理", "团队主管"],
    4: ["理财经理", "高级理财经理", "客户经理"],
    5: ["投资顾问", "高级投资顾问"],
    7: ["店长", "导购", "店员"],
    8: ["运营专员", "社群运营", "电商客服"],
    10: ["课程顾问", "学习规划师", "课程顾问主管"],
    11: ["班主任", "教务老师"],
    12: ["客服专员", "客服主管", "售后专员"],
    13: ["合规专员", "合规经理", "风控专员"],
    14: ["行政专员", "HRBP"],
    15: ["运维工程师", "系统管理员"],
}

SURNAMES = (
    "王王王李李李张张张刘刘陈陈杨杨黄赵赵吴周周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
    "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎"
    "贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉玲建林宇浩凯婷雪琳晨欣怡子涵梓轩宏博文"
    "斌俊峰岚旭兵进海乐胤生英炳添鑫昌宁尧晖甜佳颖思雨嘉瑶梦倩蕾晓慧丹蓉志远永健立新春燕红亮凡阳帆睿泽"
)
_SHOPS = [
    "独秀馒头",
    "九果玩具乐园",
    "东业明财务",
    "鲜丰水果",
    "老王烟酒",
    "小林美甲",
    "阿强汽修",
    "甜心烘焙",
    "好又多便利",
    "悦动健身",
    "蓝天装饰",
    "金福珠宝",
    "大润家政",
    "晨光文具",
    "一品茶庄",
]
_NICKS = [
    "老辉",
    "king",
    "Tany",
    "Lily",
    "阿杰",
    "小鱼儿",
    "Amy",
    "雨后彩虹",
    "平安是福",
    "Kevin",
    "大海",
    "追梦人",
    "Sunny",
    "静待花开",
    "🌸Cherry",
    "知足常乐",
    "Mr. CK(Jack Hwang)-黄",
    "Bob@上海",
    "A-小美",
    "David Chen",
    "向日葵🌻",
    "一路向北",
]
_COMPANIES = [
    "上海恒泰物流有限公司",
    "杭州云帆科技有限公司",
    "深圳市前海盛世贸易有限公司",
    "北京博雅教育咨询有限公司",
    "苏州工业园区恒信精密制造",
    "广州天河汇金投资",
    "成都锦城餐饮管理有限公司",
    "南京紫金文化传媒",
]
_EXTERNAL_SOURCES = ["企业微信", "扫描二维码", "搜索手机号", "名片分享", "群聊", "微信联系人"]
_CORPS = ["鑫诚远景控股集团", "华信汇通集团", "恒嘉众联集团", "中鼎同创集团"]

EXTERNAL_GROUP_NAMES = {
    "wealth": ["{dept}VIP客户群", "{dept}财富沙龙{n}群", "稳健理财交流群({n})", "养老规划分享群", "基金定投打卡群{n}"],
    "retail": ["{dept}会员福利群{n}", "宝妈好物分享群", "周末秒杀群{n}", "门店老顾客群", "新品体验官{n}群"],
    "education": [
        "少儿编程体验课{n}班",
        "雅思冲刺家长群{n}",
        "初二数学提高班{n}群",
        "钢琴启蒙课家长群",
        "考研政治打卡群",
    ],
    "service": ["售后服务群{n}", "企业客户对接群{n}", "大客户服务群"],
}
INTERNAL_GROUP_NAMES = [
    "{dept}工作群",
    "{dept}周报提交群",
    "{dept}业绩冲刺群",
    "合规通知群",
    "全员通知群",
    "客服中心值班群",
    "新人培训群{n}",
    "系统故障处理群",
    "午饭约起来",
]
ROBOT_NAMES = ["日报助手", "业绩播报机器人", "系统告警机器人"]


@dataclass
class Organisation:
    """The generated organisation plus the indexes the conversation generator needs."""

    corpid: str
    corp_name: str
    secret: str
    data: dict[str, Any]
    employees_by_industry: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    externals_by_follower: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    employee_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    industry_of: dict[str, str] = field(default_factory=dict)
    external_groups: list[dict[str, Any]] = field(default_factory=list)
    internal_groups: list[dict[str, Any]] = field(default_factory=list)
    robots: list[dict[str, Any]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def name(self, party_id: str) -> str:
        return self.names.get(party_id, party_id)

    def active(self, userid: str, t_ms: int) -> bool:
        e = self.employee_by_id[userid]
        until = e.get("archived_until")
        return until is None or t_ms < until


def wx_id(rng: random.Random, prefix: str, length: int = 32) -> str:
    """A 32-character WeCom-style id: ``wm``/``wo`` externals, ``wr`` rooms, ``wb`` robots."""
    return prefix + "".join(rng.choice(_ID_ALPHABET) for _ in range(length - len(prefix)))


def chinese_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def mobile_number(rng: random.Random) -> str:
    """A mainland mobile number (1[3-9]x, 11 digits)."""
    prefix = rng.choice(
        [
            "130",
            "131",
            "132",
            "135",
            "136",
            "137",
            "138",
            "139",
            "150",
            "151",
            "152",
            "155",
            "156",
            "157",
            "158",
            "159",
            "166",
            "177",
            "180",
            "181",
            "185",
            "186",
            "187",
            "188",
            "189",
            "199",
        ]
    )
    return prefix + "".join(rng.choice(string.digits) for _ in range(8))


def _external_name(rng: random.Random) -> tuple[str, str]:
    """(display name, corp) in the styles of real customer lists."""
    roll = rng.random()
    if roll < 0.40:
        return chinese_name(rng), ""
    if roll < 0.60:
        return f"{rng.choice(_SHOPS)}-{chinese_name(rng)}", ""
    if roll < 0.82:
        return rng.choice(_NICKS), ""
    if roll < 0.90:
        return f"{rng.choice('ABCDEFGHJKLMN')}{chinese_name(rng)}{mobile_number(rng)}", ""
    return f"{chinese_name(rng)}", rng.choice(_COMPANIES)


def generate(rng: random.Random, employees: int, start_ms: int, end_ms: int) -> Organisation:
    """An organisation with ``employees`` employees, customers added before or during the window."""
    if employees < 4:
        raise ValueError("need at least 4 employees")
    corp_name = rng.choice(_CORPS)
    corpid = "ww" + "".join(rng.choice("0123456789abcdef") for _ in range(16))
    secret = "".join(rng.choice(_ID_ALPHABET + "-_") for _ in range(43))
    span = max(1, end_ms - start_ms)
    dept_industry = {d[0]: d[3] for d in DEPARTMENTS}
    dept_name = {d[0]: d[1] for d in DEPARTMENTS}

    # Employees: every customer-facing leaf gets at least one, the rest by weight.
    leaves = [d for d, _ in _STAFFING]
    weights = [w for _, w in _STAFFING]
    must = [3, 7, 10, 12, 13]
    placements = must[:employees] + rng.choices(leaves, weights, k=max(0, employees - len(must)))
    used_ids: set[str] = set()
    staff: list[dict[str, Any]] = []
    for dept in placements:
        name = chinese_name(rng)
        if rng.random() < 0.1:
            userid = f"{rng.randrange(1, 99999):07d}"  # corps that use staff numbers as userids
        else:
            userid = "".join(lazy_pinyin(name))
        base, n = userid, 2
        while userid in used_ids:
            userid, n = f"{base}{n}", n + 1
        used_ids.add(userid)
        staff.append(
            {
                "userid": userid,
                "name": name,
                "position": rng.choice(POSITIONS[dept]),
                "departments": [dept],
                "status": "active",
                "archived_since": start_ms - rng.randrange(30, 400) * DAY_MS,
                "archived_until": None,
            }
        )
    # Some left during the window (曾归档); one name comes back as a new hire (同名员工 like 龚进).
    customer_facing = [e for e in staff if dept_industry[e["departments"][0]] != "internal"]
    n_left = max(1, employees // 12)
    for e in rng.sample(
        customer_facing[len(must) :] or customer_facing[1:], min(n_left, max(0, len(customer_facing) - 4))
    ):
        e["status"] = "left"
        e["archived_until"] = start_ms + int(span * rng.uniform(0.3, 0.8))
    left = [e for e in staff if e["status"] == "left"]
    if left and employees >= 10:
        old = left[0]
        userid = "".join(lazy_pinyin(old["name"])) + "01"
        if userid not in used_ids:
            used_ids.add(userid)
            staff.append(
                {
                    **old,
                    "userid": userid,
                    "status": "active",
                    "archived_until": None,
                    "archived_since": old["archived_until"],
                }
            )

    org = Organisation(corpid=corpid, corp_name=corp_name, secret=secret, data={})
    for e in staff:
        ind = dept_industry[e["departments"][0]]
        org.employees_by_industry.setdefault(ind, []).append(e)
        org.employee_by_id[e["userid"]] = e
        org.industry_of[e["userid"]] = ind

    # External contacts, each followed by 1-3 customer-facing employees of one industry.
    externals: list[dict[str, Any]] = []
    facing_inds = [i for i in ("wealth", "retail", "education", "service") if org.employees_by_industry.get(i)]
    for _ in range(employees * 6):
        ind = rng.choice(facing_inds)
        pool = org.employees_by_industry[ind]
        followers = rng.sample(pool, min(len(pool), rng.choice([1, 1, 1, 2, 3])))
        name, corp = _external_name(rng)
        wecom = bool(corp) or rng.random() < 0.08
        ext = {
            "id": wx_id(rng, "wo" if wecom else "wm"),
            "name": name,
            "corp": corp,
            "type": "wecom" if wecom else "wechat",
            "added_ms": start_ms - rng.randrange(0, 200) * DAY_MS
            if rng.random() < 0.8
            else start_ms + rng.randrange(span),
            "followers": [f["userid"] for f in followers],
            "source": rng.choice(_EXTERNAL_SOURCES),
        }
        externals.append(ext)
        org.industry_of[ext["id"]] = ind
        for f in followers:
            org.externals_by_follower.setdefault(f["userid"], []).append(ext)

    # Customer groups (external) and internal groups.
    groups: list[dict[str, Any]] = []
    for i in range(max(2, employees // 2)):
        ind = rng.choice(facing_inds)
        owner = rng.choice(org.employees_by_industry[ind])
        colleagues = [
            e["userid"] for e in rng.sample(org.employees_by_industry[ind], min(2, len(org.employees_by_industry[ind])))
        ]
        customers = org.externals_by_follower.get(owner["userid"], [])
        others = [x for x in externals if org.industry_of[x["id"]] == ind]
        members_ext = rng.sample(customers, min(len(customers), rng.randint(2, 6)))
        members_ext += rng.sample(others, min(len(others), rng.randint(1, 8)))
        members = list(dict.fromkeys([owner["userid"], *colleagues, *(x["id"] for x in members_ext)]))
        name = rng.choice(EXTERNAL_GROUP_NAMES[ind]).format(dept=dept_name[owner["departments"][0]], n=i % 9 + 1)
        g = {
            "roomid": wx_id(rng, "wr"),
            "name": name,
            "owner": owner["userid"],
            "kind": "external",
            "members": members,
            "created_ms": start_ms - rng.randrange(1, 300) * DAY_MS,
        }
        groups.append(g)
        org.external_groups.append({**g, "industry": ind})
    all_ids = [e["userid"] for e in staff]
    for i in range(max(2, employees // 4 + 1)):
        dept = rng.choice([d for d in dept_name if any(e["departments"][0] == d for e in staff)])
        in_dept = [e["userid"] for e in staff if e["departments"][0] == dept]
        members = list(dict.fromkeys(in_dept + rng.sample(all_ids, min(len(all_ids), rng.randint(1, 5)))))
        if len(members) < 3:
            members = list(dict.fromkeys(members + rng.sample(all_ids, min(len(all_ids), 3))))
        name = rng.choice(INTERNAL_GROUP_NAMES).format(dept=dept_name[dept], n=i + 1)
        g = {
            "roomid": wx_id(rng, "wr"),
            "name": name,
            "owner": members[0],
            "kind": "internal",
            "members": members,
            "created_ms": start_ms - rng.randrange(1, 500) * DAY_MS,
        }
        groups.append(g)
        org.internal_groups.append({**g, "industry": dept_industry[dept]})

    for name in ROBOT_NAMES[: 2 if employees < 30 else 3]:
        rooms = [g["roomid"] for g in rng.sample(org.internal_groups, min(2, len(org.internal_groups)))]
        org.robots.append({"id": wx_id(rng, "wb"), "name": name, "groups": rooms})

    org.data = {
        "corp": {"corpid": corpid, "name": corp_name},
        "departments": [{"id": d, "name": n, "parentid": p} for d, n, p, _ in DEPARTMENTS],
        "employees": staff,
        "externals": externals,
        "groups": groups,
        "robots": org.robots,
    }
    org.names = {e["userid"]: e["name"] for e in staff}
    org.names.update({x["id"]: x["name"] for x in externals})
    org.names.update({r["id"]: r["name"] for r in org.robots})
    return org
