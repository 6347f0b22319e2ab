"""Directory sync over HTTP (``wecom-sim serve`` → ``directory sync``), history, ``directory import`` and
the 'Done when' of issue 14: an HTTP-synced archive scopes exactly like the same archive pulled from ``sim:``."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from chatarchive.archive import Archive
from chatarchive.cli.wecom import sim_settings
from core.directory import Directory
from core.models import MessageFilter, Scope
from indexer.source.simulator.generate import simulate
from store.embedded import EmbeddedStore
from tests.helpers import cli, read_jsonl, running_wecom_sim
from tests.test_sdk_binding import stub_so  # noqa: F401 - the compiled SDK stub fixture
from wecom.client import WeComClient
from wecom.directory_fetch import FetchedDirectory
from wecom.directory_history import merge_directory
from wecom.sim_org import ADD_WAYS, simulated_secrets
from wecom.sync import sync_directory

COUNT_KEYS = {"departments", "employees", "customers", "groups", "permit_users", "consent"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wecomdir") / "archive"
    simulate(out, 600, seed=21, employees=30)
    return out


@pytest.fixture(scope="module")
def wecom_env(archive: Path) -> Iterator[dict[str, str]]:
    with running_wecom_sim(archive) as server:
        yield {f"CHATARCHIVE_{k.upper()}": str(v) for k, v in sim_settings(archive, server.url).items()}


def _department_totals(data: Path, departments: list[int]) -> dict[int, tuple[int, int]]:
    """Per department: (messages the filter finds, messages a scoped account sees)."""
    store = EmbeddedStore(data)
    try:
        return {
            d: (
                store.count(MessageFilter(departments=[d]), scope=Scope.everything()),
                store.count(MessageFilter(), scope=Scope.of(departments=[d])),
            )
            for d in departments
        }
    finally:
        store.close()


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_http_synced_import_scopes_exactly_like_a_sim_pull(
    archive: Path, wecom_env: dict[str, str], tmp_path: Path
) -> None:
    """GIVEN one simulated archive WHEN (a) its directory is synced over HTTP from wecom-sim and its
    truth.jsonl imported, (b) it is pulled from sim: THEN every department's totals are equal in both,
    and equal to a brute-force count over truth.jsonl with the simulator's own organisation."""
    synced, pulled = tmp_path / "synced", tmp_path / "pulled"
    counts = cli("directory", "sync", data=synced, env=wecom_env)
    assert set(counts) == COUNT_KEYS and counts["employees"] > 0
    assert cli("import", str(archive / "truth.jsonl"), data=synced)["stored"] == 600
    assert cli("pull", "--source", f"sim:{archive}", "--once", data=pulled)["stored"] == 600

    org = Directory.from_dict(json.loads((archive / "org.json").read_text(encoding="utf-8")))
    departments = sorted(int(d["id"]) for d in org.departments)
    expected = {d: 0 for d in departments}
    for msg in read_jsonl(archive / "truth.jsonl"):
        people = [msg.get("from"), *(msg.get("tolist") or [])] if msg.get("action") != "switch" else [msg.get("user")]
        depts = {a for p in people if p in org.employee_ids for a in org.departments_of(str(p))}
        for d in depts:
            expected[d] += 1
    synced_totals, pulled_totals = _department_totals(synced, departments), _department_totals(pulled, departments)
    assert synced_totals == pulled_totals
    assert {d: t[0] for d, t in synced_totals.items()} == expected
    assert sum(expected.values()) > 600  # messages count in every ancestor department


def test_sync_reports_the_organisation_and_consent(archive: Path, wecom_env: dict[str, str], tmp_path: Path) -> None:
    """GIVEN the simulated organisation WHEN synced into an empty store, then again after an import THEN the
    counts match org.json (internal groups only once the archive saw them: WeCom cannot list them), the
    archived users are the permit list, and the consent stored from WeCom equals a brute force over the
    agree/disagree events of truth.jsonl (latest per employee and customer)."""
    data = tmp_path / "data"
    org = json.loads((archive / "org.json").read_text(encoding="utf-8"))
    first = cli("directory", "sync", data=data, env=wecom_env)
    cli("import", str(archive / "truth.jsonl"), data=data)
    counts = cli("directory", "sync", data=data, env=wecom_env)
    truth = read_jsonl(archive / "truth.jsonl")
    rooms_seen = {m["roomid"] for m in truth if m.get("roomid")}
    listable = [g for g in org["groups"] if g["kind"] == "external" or g["roomid"] in rooms_seen]
    active = [e for e in org["employees"] if e["archived_until"] is None]
    assert first["groups"] == len([g for g in org["groups"] if g["kind"] == "external"])
    assert counts["departments"] == len(org["departments"]) and counts["employees"] == len(org["employees"])
    assert counts["customers"] == len(org["externals"]) and counts["groups"] == len(listable)
    assert counts["permit_users"] == len(active) and first["consent"] > 0
    expected: dict[tuple[str, str], tuple[str, int]] = {}
    for m in truth:
        if m.get("msgtype") in ("agree", "disagree") and not m.get("roomid"):
            external = m[m["msgtype"]]["userid"]
            for employee in [p for p in [m["from"], *m["tolist"]] if p != external]:
                expected[(employee, external)] = (m["msgtype"], m["msgtime"] // 1000)
    store = EmbeddedStore(data)
    try:
        doc = store.get_record("directory", "org")
        consent = {
            (r["employee"], r["external"]): (r["status"], r["time_ms"] // 1000)
            for r in store.find_records("consent")
            if r["employee"]
        }
    finally:
        store.close()
    assert doc is not None
    assert {e["userid"] for e in doc["employees"] if e["archived_until"] is None} == {e["userid"] for e in active}
    assert {g["roomid"]: g["name"] for g in doc["groups"]} == {g["roomid"]: g["name"] for g in listable}
    assert expected and consent == expected


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_sdk_pull_plus_http_directory_matches_sim(
    archive: Path,
    wecom_env: dict[str, str],
    tmp_path: Path,
    stub_so: Path,  # noqa: F811 (the imported fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN the compiled vendor SDK stub serving the archive and the directory synced over HTTP
    WHEN pulled through sdk: (and the directory re-synced for the rooms it saw) THEN stats, customers,
    group names and department totals equal a sim: pull of the same archive."""
    sim = json.loads((archive / "sim.json").read_text(encoding="utf-8"))
    monkeypatch.setenv("WWF_STUB_DIR", str(archive))
    env = {**wecom_env, "CHATARCHIVE_MEDIA": "false", "CHATARCHIVE_SECRET": sim["secret"]}
    via_sdk, via_sim = tmp_path / "sdk", tmp_path / "sim"
    for version in sim["key_versions"]:
        cli("keys", "add", "--version", str(version), "--pem", str(archive / "keys" / f"v{version}.pem"), data=via_sdk)
    cli("directory", "sync", data=via_sdk, env=env)
    assert cli("pull", "--source", f"sdk:{stub_so}", "--once", data=via_sdk, env=env)["stored"] == 600
    cli("directory", "sync", data=via_sdk, env=env)
    cli("pull", "--source", f"sim:{archive}", "--once", data=via_sim, env={"CHATARCHIVE_MEDIA": "false"})
    assert cli("stats", data=via_sdk) == cli("stats", data=via_sim)
    directories = []
    for data in (via_sdk, via_sim):
        store = EmbeddedStore(data)
        try:
            directories.append(Directory.from_dict(store.get_record("directory", "org")))
        finally:
            store.close()
    rooms_seen = {m["roomid"] for m in read_jsonl(archive / "truth.jsonl") if m.get("roomid")}
    unseen_internal = {g["roomid"] for g in directories[1].groups if g["kind"] == "internal"} - rooms_seen
    assert directories[0].names == {k: v for k, v in directories[1].names.items() if k not in unseen_internal}
    assert sorted(x["id"] for x in directories[0].externals) == sorted(x["id"] for x in directories[1].externals)
    people = [
        {e["userid"]: (e["name"], e["departments"], e["status"], e["archived_until"] is None) for e in d.employees}
        for d in directories
    ]
    assert people[0] == people[1]  # the conversation viewer's employee list, 归档中/曾归档 included
    departments = [int(d["id"]) for d in directories[1].departments]
    assert _department_totals(via_sdk, departments) == _department_totals(via_sim, departments)


def test_history_keeps_people_who_moved_or_left_resolvable_as_of_message_time() -> None:
    """GIVEN random snapshots of an organisation synced at increasing times (people move and leave)
    WHEN merged one after the other THEN for random times departments_of(user, t) equals a brute force:
    the snapshot in force at t (the first one before the first sync), and nobody ever disappears."""
    rng = random.Random(7)
    tree = [{"id": 1, "name": "root", "parentid": 0}] + [
        {"id": i, "name": f"d{i}", "parentid": 1 + (i - 2) // 3} for i in range(2, 12)
    ]
    users = [f"u{i}" for i in range(15)]
    snapshots: list[tuple[int, dict[str, list[int]]]] = []
    merged: dict[str, object] | None = None
    t = 1_000
    for _ in range(8):
        t += rng.randrange(1, 500)
        present = {u: sorted(rng.sample(range(2, 12), rng.randrange(1, 3))) for u in users if rng.random() < 0.8}
        snapshots.append((t, present))
        fetched = FetchedDirectory(
            corp={},
            departments=tree,
            employees=[{"userid": u, "name": u, "departments": d, "status": "active"} for u, d in present.items()],
            permit_users=list(present),
        )
        merged = merge_directory(merged, fetched, t)
    assert merged is not None
    directory = Directory.from_dict(merged)
    ever = {u for _t, snap in snapshots for u in snap}
    assert {e["userid"] for e in directory.employees} == ever
    for _ in range(400):
        at = rng.randrange(0, t + 600)
        for user in ever:
            known = [(ts, snap[user]) for ts, snap in snapshots if user in snap]
            in_force = [d for ts, d in known if ts <= at]
            depts = in_force[-1] if in_force else known[0][1]
            expected = sorted({a for d in depts for a in directory.ancestors(d)})
            assert sorted(directory.departments_of(user, at)) == expected, (user, at)


def test_archiving_status_follows_the_permit_list() -> None:
    """GIVEN a user in the permit list, then out of it, then gone from WeCom WHEN synced each time THEN
    归档中 (no archived_until), then 曾归档 from the sync that saw it end, and then status left."""
    dept = [{"id": 1, "name": "root", "parentid": 0}]
    person = {"userid": "a", "name": "A", "departments": [1], "status": "active"}
    first = merge_directory(
        None, FetchedDirectory(corp={}, departments=dept, employees=[person], permit_users=["a"]), 100
    )
    second = merge_directory(first, FetchedDirectory(corp={}, departments=dept, employees=[person]), 200)
    third = merge_directory(second, FetchedDirectory(corp={}, departments=dept), 300)
    states = [
        (d["employees"][0]["archived_since"], d["employees"][0]["archived_until"], d["employees"][0]["status"])
        for d in (first, second, third)
    ]
    assert states == [(100, None, "active"), (100, 200, "active"), (100, 200, "left")]


def test_directory_import_counts_and_refuses_a_bad_file(tmp_path: Path) -> None:
    """GIVEN a directory file, and one whose employee lacks departments WHEN imported THEN the first is
    stored with its counts; the second exits 2 with a one-line error and the stored directory is unchanged."""
    data = tmp_path / "data"
    good = {
        "corp": {"corpid": "ww1", "name": "测试"},
        "departments": [{"id": 1, "name": "总部", "parentid": 0}],
        "employees": [{"userid": "zhang", "name": "张", "departments": [1]}],
        "externals": [{"id": "wm" + "a" * 30, "name": "客户", "followers": ["zhang"]}],
        "groups": [{"roomid": "wr" + "b" * 30, "name": "群", "kind": "external", "members": ["zhang"]}],
    }
    (tmp_path / "good.json").write_text(json.dumps(good, ensure_ascii=False), encoding="utf-8")
    assert cli("directory", "import", str(tmp_path / "good.json"), data=data) == {
        "departments": 1,
        "employees": 1,
        "customers": 1,
        "groups": 1,
        "permit_users": 1,
        "consent": 0,
    }
    bad = {**good, "employees": [{"userid": "li", "name": "李"}]}
    (tmp_path / "bad.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    result = cli("directory", "import", str(tmp_path / "bad.json"), data=data, expect=2)
    assert "employees[0] lacks departments" in result.output and result.output.count("\n") <= 1
    store = EmbeddedStore(data)
    try:
        assert [e["userid"] for e in store.get_record("directory", "org")["employees"]] == ["zhang"]
    finally:
        store.close()


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_a_move_synced_later_keeps_older_messages_in_the_old_departments(archive: Path, tmp_path: Path) -> None:
    """GIVEN a synced directory WHEN an administrator moves an employee in WeCom and deletes another, the
    directory is synced again and then the (older) messages are imported THEN the mover's history records
    the old departments until that sync, every department's totals still equal the brute force over the
    organisation at the messages' time, and the deleted employee stays resolvable with status left."""
    org = json.loads((archive / "org.json").read_text(encoding="utf-8"))
    truth = read_jsonl(archive / "truth.jsonl")
    senders = [m.get("from") for m in truth]
    active = [e for e in org["employees"] if e["status"] == "active"]
    mover = max(active, key=lambda e: senders.count(e["userid"]))
    deleted = next(e for e in active if e["userid"] != mover["userid"])
    new_dept = next(
        int(d["id"]) for d in org["departments"] if int(d["id"]) not in mover["departments"] and int(d["parentid"]) != 0
    )
    data = tmp_path / "data"
    with running_wecom_sim(archive) as server:
        env = {f"CHATARCHIVE_{k.upper()}": str(v) for k, v in sim_settings(archive, server.url).items()}
        cli("directory", "sync", data=data, env=env)
        requests.post(
            server.url + "/_sim/org", json={"move": {"userid": mover["userid"], "departments": [new_dept]}}, timeout=5
        )
        requests.post(server.url + "/_sim/org", json={"delete": deleted["userid"]}, timeout=5)
        cli("directory", "sync", data=data, env=env)
    cli("import", str(archive / "truth.jsonl"), data=data)
    store = EmbeddedStore(data)
    try:
        doc = store.get_record("directory", "org")
    finally:
        store.close()
    people = {e["userid"]: e for e in doc["employees"]}
    assert people[mover["userid"]]["departments"] == [new_dept]
    assert [h["departments"] for h in people[mover["userid"]]["history"]] == [mover["departments"]]
    assert people[deleted["userid"]]["status"] == "left" and people[deleted["userid"]]["name"] == deleted["name"]
    original = Directory.from_dict(org)
    departments = sorted(int(d["id"]) for d in org["departments"])
    expected = {d: 0 for d in departments}
    for msg in truth:
        people_ids = (
            [msg.get("from"), *(msg.get("tolist") or [])] if msg.get("action") != "switch" else [msg.get("user")]
        )
        for d in {a for p in people_ids if p in original.employee_ids for a in original.departments_of(str(p))}:
            expected[d] += 1
    assert {d: t[0] for d, t in _department_totals(data, departments).items()} == expected
    assert expected[new_dept] != sum(1 for m in truth if mover["userid"] in [m.get("from"), *(m.get("tolist") or [])])


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_incremental_sync_reads_only_what_changed_and_gives_the_same_directory(archive: Path, tmp_path: Path) -> None:
    """GIVEN a synced directory WHEN synced again at once THEN no member is re-read with user/get and the
    directory is the same; after a move only the mover is re-read; --full re-reads every member."""
    data = tmp_path / "data"
    with running_wecom_sim(archive) as server:
        settings = sim_settings(archive, server.url)
        target = Archive.for_cli(data=str(data), **settings)
        try:

            def synced(full: bool = False) -> tuple[int, dict[str, object]]:
                client = WeComClient(server.corpid, simulated_secrets(archive), server.url)
                sync_directory(target, client, full=full)
                user_gets = sum(1 for _ in client.call_log if _ == "/cgi-bin/user/get")
                doc = target.store.get_record("directory", "org") or {}
                return user_gets, {e["userid"]: (e["name"], e["departments"], e["status"]) for e in doc["employees"]}

            first_gets, first = synced()
            again_gets, again = synced()
            mover = next(iter(first))
            requests.post(server.url + "/_sim/org", json={"move": {"userid": mover, "departments": [1]}}, timeout=5)
            moved_gets, moved = synced()
            full_gets, _full = synced(full=True)
        finally:
            target.close()
    assert first_gets == len(first) and again_gets == 0 and again == first
    assert moved_gets == 1 and moved[mover][1] == [1]
    assert full_gets == len(first)


def test_consent_from_wecom_drives_the_consent_policy(archive: Path, wecom_env: dict[str, str], tmp_path: Path) -> None:
    """GIVEN consent synced from WeCom only (the agree/disagree messages left out of the import) and the
    consent policy exclude WHEN the messages are imported THEN exactly the messages a brute force over the
    WeCom decisions finds (a customer who disagreed with one of the message's employees, or latest
    disagree when none of its employees is known) are excluded."""
    data = tmp_path / "data"
    org = Directory.from_dict(json.loads((archive / "org.json").read_text(encoding="utf-8")))
    cli("directory", "sync", data=data, env=wecom_env)
    store = EmbeddedStore(data)
    try:
        rows = store.find_records("consent")
    finally:
        store.close()
    by_external: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_external.setdefault(str(row["external"]), []).append(row)
    lines = [m for m in read_jsonl(archive / "truth.jsonl") if m.get("msgtype") not in ("agree", "disagree")]
    (tmp_path / "no-events.jsonl").write_text(
        "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in lines), encoding="utf-8"
    )

    def excluded(msg: dict[str, object]) -> bool:
        people = [str(p) for p in [msg.get("from"), *(msg.get("tolist") or [])]]  # type: ignore[list-item]
        employees = {p for p in people if p in org.employee_ids}
        for external in {p for p in people if org.kind_of(p) == "external"}:
            known = by_external.get(external, [])
            pairs = [r for r in known if r["employee"] in employees]
            if pairs and any(r["status"] == "disagree" for r in pairs):
                return True
            if not pairs and known and max(known, key=lambda r: int(str(r["time_ms"])))["status"] == "disagree":
                return True
        return False

    dropped = sum(1 for m in lines if m.get("action") != "switch" and excluded(m))
    cli("import", str(tmp_path / "no-events.jsonl"), data=data, env={"CHATARCHIVE_CONSENT_POLICY": "exclude"})
    assert dropped > 0 and cli("stats", data=data)["messages"] == len(lines) - dropped


def test_customers_keep_each_followers_remark_add_time_and_way(
    archive: Path, wecom_env: dict[str, str], tmp_path: Path
) -> None:
    """GIVEN the simulated customers WHEN synced THEN every customer has exactly its followers, and each
    follower's add time and add_way equal what the API served for that (customer, member) pair."""
    data = tmp_path / "data"
    cli("directory", "sync", data=data, env=wecom_env)
    org = {x["id"]: x for x in json.loads((archive / "org.json").read_text(encoding="utf-8"))["externals"]}
    store = EmbeddedStore(data)
    try:
        synced = {x["id"]: x for x in store.get_record("directory", "org")["externals"]}
    finally:
        store.close()
    assert synced.keys() == org.keys()
    for external_id, customer in synced.items():
        assert sorted(customer["followers"]) == sorted(org[external_id]["followers"])
        assert sorted(customer["follow"]) == sorted(customer["followers"])
        for follow in customer["follow"].values():
            assert follow["added_ms"] == org[external_id]["added_ms"] // 1000 * 1000
            assert follow["add_way"] == ADD_WAYS.get(org[external_id]["source"], 0) and follow["remark"]
