"""The organisation: departments, employees, external contacts and groups.

The simulator writes it as ``org.json``; in production it is imported from a JSON file
of the same shape (exported from WeCom's contact APIs, which this machine cannot reach).
The pipeline stores it in the ``directory`` record collection and uses it to classify
participants and to give each message the departments (with ancestors) that scope
filtering needs.

Shape::

    {"corp": {"corpid": "ww…", "name": "…"},
     "departments": [{"id": 1, "name": "总部", "parentid": 0}, ...],
     "employees": [{"userid": "zhangwei", "name": "张伟", "position": "理财经理",
                    "departments": [3], "status": "active" | "left",
                    "archived_since": ms, "archived_until": ms | null}, ...],
     "externals": [{"id": "wm…", "name": "…", "corp": "", "type": "wechat" | "wecom",
                    "added_ms": ms, "followers": ["zhangwei"], "source": "企业微信"}, ...],
     "groups": [{"roomid": "wr…", "name": "…", "owner": "zhangwei", "kind": "internal" | "external",
                 "members": ["zhangwei", "wm…"], "created_ms": ms}, ...]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


def party_kind(party_id: str, employees: set[str] | frozenset[str] | None = None) -> str:
    """employee | external | robot, by the directory when it knows the id, else by prefix
    (protocol doc §5.1: wm/wo external contacts, wb robots)."""
    if employees is not None and party_id in employees:
        return "employee"
    if party_id.startswith("wb") and len(party_id) >= 20:
        return "robot"
    if party_id.startswith(("wm", "wo")) and len(party_id) >= 20:
        return "external"
    return "employee"


@dataclass
class Directory:
    corp: dict[str, Any] = field(default_factory=dict)
    departments: list[dict[str, Any]] = field(default_factory=list)
    employees: list[dict[str, Any]] = field(default_factory=list)
    externals: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Directory:
        d = d or {}
        return cls(
            corp=dict(d.get("corp") or {}),
            departments=list(d.get("departments") or []),
            employees=list(d.get("employees") or []),
            externals=list(d.get("externals") or []),
            groups=list(d.get("groups") or []),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "corp": self.corp,
            "departments": self.departments,
            "employees": self.employees,
            "externals": self.externals,
            "groups": self.groups,
        }

    @cached_property
    def employee_ids(self) -> frozenset[str]:
        return frozenset(e["userid"] for e in self.employees)

    @cached_property
    def _parents(self) -> dict[int, int]:
        return {int(d["id"]): int(d.get("parentid") or 0) for d in self.departments}

    def ancestors(self, dept_id: int) -> list[int]:
        """The department and every department above it."""
        out: list[int] = []
        seen: set[int] = set()
        current = int(dept_id)
        while current and current not in seen:
            out.append(current)
            seen.add(current)
            current = self._parents.get(current, 0)
        return out

    def descendants(self, dept_id: int) -> set[int]:
        children: dict[int, list[int]] = {}
        for child, parent in self._parents.items():
            children.setdefault(parent, []).append(child)
        out, todo = set(), [int(dept_id)]
        while todo:
            d = todo.pop()
            if d not in out:
                out.add(d)
                todo.extend(children.get(d, []))
        return out

    @cached_property
    def _employee_depts(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for e in self.employees:
            depts: list[int] = []
            for d in e.get("departments") or []:
                for a in self.ancestors(int(d)):
                    if a not in depts:
                        depts.append(a)
            out[e["userid"]] = depts
        return out

    def departments_of(self, userid: str, at_ms: int | None = None) -> list[int]:
        """The employee's departments with their ancestors; with ``at_ms``, as of that time (a synced
        directory keeps moves as ``history: [{"departments": [...], "until_ms": t}]``)."""
        if at_ms is not None:
            for period in self._history.get(userid, []):
                if at_ms < int(period["until_ms"]):
                    return self._with_ancestors(period.get("departments") or [])
        return self._employee_depts.get(userid, [])

    @cached_property
    def _history(self) -> dict[str, list[dict[str, Any]]]:
        return {
            e["userid"]: sorted(e["history"], key=lambda p: int(p["until_ms"]))
            for e in self.employees
            if e.get("history")
        }

    def _with_ancestors(self, departments: list[int]) -> list[int]:
        out: list[int] = []
        for d in departments:
            out.extend(a for a in self.ancestors(int(d)) if a not in out)
        return out

    def kind_of(self, party_id: str) -> str:
        return party_kind(party_id, self.employee_ids if self.employees else None)

    @cached_property
    def names(self) -> dict[str, str]:
        """Display names of employees, external contacts and groups by id."""
        out = {e["userid"]: e.get("name") or e["userid"] for e in self.employees}
        out.update({x["id"]: x.get("name") or x["id"] for x in self.externals})
        out.update({g["roomid"]: g.get("name") or g["roomid"] for g in self.groups})
        return out

    def name(self, party_id: str) -> str:
        return self.names.get(party_id, party_id)

    @cached_property
    def department_names(self) -> dict[int, str]:
        return {int(d["id"]): d.get("name", str(d["id"])) for d in self.departments}

    @cached_property
    def groups_by_id(self) -> dict[str, dict[str, Any]]:
        return {g["roomid"]: g for g in self.groups}
