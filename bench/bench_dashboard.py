"""Dashboard interaction latency: pages driven through streamlit's AppTest on a large
archive, each compared with the core call that page makes (the same store query without
Streamlit), measured in the same run.

The archive is a copy of a complete store built by ``bench/bench_search.py`` (realistic
Chinese chat text from the simulator's phrase grammar, 90 days, the conformance corpus's
organisation), to which this script adds the organisation's names, an administrator and
violations on the planted rare phrase, so every page has something to show.

    .venv/bin/python bench/bench_dashboard.py --messages 100000 --runs 3

Measures server-side time (script run in AppTest: widgets, store queries, charts
serialised), not the browser's rendering. Target: < 1 s per interaction at 1,000,000
messages.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from chatarchive.archive import Archive  # noqa: E402
from core.models import ALL, MessageFilter, SearchRequest, Violation, ViolationFilter  # noqa: E402
from tests.conformance.corpus import CUSTOMERS, DEPARTMENTS, EMPLOYEES  # noqa: E402

PASSWORD = "benchmark-lantern-orbit-47"
RARE_PHRASE = "私下转账给我"  # planted by bench_search in 1 of 10,000 messages
COMMON_WORD = "产品"


def organisation() -> dict[str, Any]:
    names = {"zhangsan": "张三", "lisi": "李四", "wangwu": "王五", "zhaoliu": "赵六", "sunqi": "孙七"}
    return {
        "corp": {"corpid": "wwbench", "name": "基准测试"},
        "departments": [{"id": d, "name": f"部门{d}", "parentid": p} for d, p in DEPARTMENTS.items()],
        "employees": [
            {"userid": u, "name": names.get(u, u), "departments": [d], "status": "active"} for u, d in EMPLOYEES.items()
        ],
        "externals": [
            {
                "id": c,
                "name": f"客户{i}",
                "type": "wechat",
                "added_ms": 1_767_225_600_000,
                "followers": ["zhangsan"],
                "source": "企业微信",
            }
            for i, c in enumerate(CUSTOMERS)
        ],
        "groups": [],
    }


def prepare(n: int, source: Path, target: Path) -> None:
    """Copies the search benchmark's store and adds what the dashboard needs (once)."""
    if (target / "dashboard-ready").exists():
        return
    if not (source / "complete").exists():
        sys.exit(f"{source} is not a complete store: run bench/bench_search.py --messages {n} first")
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("texts.txt"))
    from compliance.accounts import create_account
    from store.directory import save_directory

    archive = Archive.open(data=str(target))
    try:
        save_directory(archive.store, organisation())
        create_account(archive.store, "admin", "super", PASSWORD)
        hits = archive.store.search(SearchRequest(query=f'"{RARE_PHRASE}"', limit=1000, highlight=False), scope=ALL)
        messages = archive.store.get_messages([h.msgid for h in hits.hits], scope=ALL)
        archive.store.put_violations(
            [
                Violation(
                    msgid=m.msgid,
                    rule_id="private-deal",
                    rule_version=1,
                    rule_name="私下交易",
                    category="私下交易",
                    severity="high",
                    terms=[RARE_PHRASE],
                    spans=[[m.text.find(RARE_PHRASE), m.text.find(RARE_PHRASE) + len(RARE_PHRASE)]],
                    time_ms=m.time_ms,
                    sender=m.sender,
                    chat_id=m.chat_id,
                    chat_kind=m.chat_kind,
                    employees=m.employees,
                    departments=m.departments,
                )
                for m in messages
            ]
        )
    finally:
        archive.close()
    (target / "dashboard-ready").write_text("ok\n")


def ensure_rules(target: Path) -> None:
    """The starter pack, for the rules page (archives prepared before it was added have none)."""
    from analyzers.rules.files import load_starter_pack
    from compliance.rulestore import list_rules, save_rule

    archive = Archive.open(data=str(target))
    try:
        if not list_rules(archive.store):
            for rule in load_starter_pack():
                save_rule(archive.store, rule, "bench")
    finally:
        archive.close()


def timed(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def quick(data: Path, runs: int) -> None:
    """The interactions issue 15 named, on an existing archive (e.g. the 20,000-message demo): the first
    login, the statistics page, its keywords, the rule backtest over the archive's whole span."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from streamlit.testing.v1 import AppTest

    from compliance.accounts import create_account, get_account

    os.environ["CHATARCHIVE_DATA"] = str(data)
    archive = Archive.open(data=str(data))
    if get_account(archive.store, "bench-admin") is None:
        create_account(archive.store, "bench-admin", "super", PASSWORD)
    total = archive.store.count(MessageFilter(), scope=ALL)
    ends = [
        archive.store.list_messages(MessageFilter(), scope=ALL, sort=s, limit=1)[1][0].time_ms
        for s in ("time_asc", "time_desc")
    ]
    archive.close()
    days = [datetime.fromtimestamp(ms / 1000, ZoneInfo("Asia/Shanghai")).date() for ms in ends]
    app = str(REPO / "dashboard" / "app.py")

    def login() -> AppTest:
        at = AppTest.from_file(app, default_timeout=300)
        at.run()
        at.text_input(key="login_name").input("bench-admin")
        at.text_input(key="login_password").input(PASSWORD)
        at.button[0].click()
        at.run()
        return at

    def page(path: str) -> AppTest:
        at = login()
        at.switch_page(path)
        return at

    def backtest_setup() -> AppTest:
        at = page("pages/rules.py")
        at.run()
        at.selectbox(key="rule_pick").select_index(1).run()
        at.date_input(key="bt_from").set_value(days[0])
        at.date_input(key="bt_to").set_value(days[1] + timedelta(days=0))
        return at

    steps: list[tuple[str, Callable[[], AppTest], Callable[[AppTest], Any]]] = [
        ("first login (form submit → first page)", lambda: _login_form(app), lambda at: at.run()),
        ("statistics page (all time)", lambda: page("pages/statistics.py"), lambda at: at.run()),
        (
            "statistics: keywords and word frequency",
            lambda: _ran(page("pages/statistics.py")),
            lambda at: at.toggle(key="st_kw_on").set_value(True).run(),
        ),
        (
            f"rule backtest window ({(days[1] - days[0]).days + 1} days, at most the newest 5,000 messages)",
            backtest_setup,
            lambda at: at.button(key="bt_run").click().run(),
        ),
    ]
    print(f"\nDashboard interactions on the {total:,}-message archive {data} (median of {runs})\n")
    print("| interaction | ms |\n| --- | ---: |")
    for name, setup, act in steps:
        times = []
        for _ in range(runs):
            at = setup()
            t0 = time.perf_counter()
            act(at)
            times.append((time.perf_counter() - t0) * 1000)
            assert not at.exception, [e.value for e in at.exception]
        print(f"| {name} | {statistics.median(times):,.0f} |")


def backtests(store: Any, tz: str, logged_in: Callable[[str], Any], measure: Callable[..., None]) -> None:
    """The rules page: the instant backtest (the newest messages of the last 92 days), starting the
    whole-archive job, a page while that job runs, and how long the job takes in the background."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from analyzers.rules.model import Rule
    from compliance.rulestore import list_rules
    from dashboard import _backtest_jobs, _backtest_runner
    from dashboard._ui import day_range_ms
    from reports import stats

    rule = next(r for r in list_rules(store) if r.name == "私下交易")
    last_ms = store.list_messages(MessageFilter(), scope=ALL, sort="time_desc", limit=1)[1][0].time_ms
    last = datetime.fromtimestamp(last_ms / 1000, ZoneInfo(tz)).date()
    first = last - timedelta(days=_backtest_runner.MAX_DAYS - 1)

    def rules_page(at: Any) -> None:
        at.run()
        at.selectbox(key="rule_pick").set_value(rule.id).run()
        at.date_input(key="bt_from").set_value(first)
        at.date_input(key="bt_to").set_value(last)

    measure(
        f"rule backtest: newest {_backtest_runner.MAX_MESSAGES:,} messages of the last "
        f"{_backtest_runner.MAX_DAYS} days, diff against the saved version",
        "pages/rules.py",
        rules_page,
        lambda at: at.button(key="bt_run").click().run(),
        lambda: _backtest_runner.run(
            store, rule, rule, ALL, *day_range_ms(first, last, tz), tz=tz, progress=lambda *_: None
        ),
    )

    def common_rule(at: Any) -> None:
        at.run()
        at.selectbox(key="rule_pick").set_value("__new__").run()
        at.text_input(key="name___new__").input("常用字")
        at.text_area(key="kw___new__").input("的,我,你,是,好,了")
        at.date_input(key="bt_from").set_value(first)
        at.date_input(key="bt_to").set_value(last)

    measure(
        "rule backtest, same window, a new rule matching ~60 % of messages (的, 我, 你, 是, 好, 了)",
        "pages/rules.py",
        common_rule,
        lambda at: at.button(key="bt_run").click().run(),
        lambda: _backtest_runner.run(
            store,
            Rule.from_dict({"name": "常用字", "keywords": ["的", "我", "你", "是", "好", "了"]}),
            None,
            ALL,
            *day_range_ms(first, last, tz),
            tz=tz,
            progress=lambda *_: None,
        ),
    )

    def cancel_all() -> None:
        for job in _backtest_jobs.REGISTRY.jobs_of("admin"):
            _backtest_jobs.REGISTRY.cancel(job.key)
            _backtest_jobs.REGISTRY.wait(job.key)

    def start_setup(at: Any) -> None:
        cancel_all()  # so every run starts a job, rather than showing the one already running
        rules_page(at)
        at.checkbox(key="bt_whole").check()

    measure(
        "start the whole-archive backtest job (page returns, job runs on)",
        "pages/rules.py",
        start_setup,
        lambda at: at.button(key="bt_job").click().run(),
        None,
    )
    job = _backtest_jobs.REGISTRY.jobs_of("admin")[0]
    measure(
        "statistics page while the job runs (shares the GIL)",
        "pages/statistics.py",
        nothing_run,
        lambda at: at.run(),
        lambda: stats.per_day(store, MessageFilter(), scope=ALL),
    )
    done = _backtest_jobs.REGISTRY.wait(job.key, timeout=3600)
    assert done is not None and done.state == _backtest_jobs.DONE, done
    assert done.result is not None
    print(
        f"  whole-archive job: {done.elapsed_s():.0f} s for {done.result['window']['messages']:,} messages "  # type: ignore[index]
        f"({done.result['total']:,} hits)",
        file=sys.stderr,
    )


COLD_LOGIN = """
import os, sys, time
from streamlit.testing.v1 import AppTest
os.environ["CHATARCHIVE_DATA"] = sys.argv[2]
AppTest.from_string("import streamlit as st; st.write(1)").run()  # the runtime's start (server start-up)
at = AppTest.from_file(sys.argv[1], default_timeout=300)
t0 = time.perf_counter()
at.run()
t1 = time.perf_counter()
at.text_input(key="login_name").input("admin")
at.text_input(key="login_password").input(sys.argv[3])
at.button[0].click().run()
assert not at.exception, [e.value for e in at.exception]
t2 = time.perf_counter()
time.sleep(1.5)  # a reader's pause on the first page
at.switch_page("pages/statistics.py")
t3 = time.perf_counter()
at.run()
assert not at.exception, [e.value for e in at.exception]
print((t1 - t0) * 1000, (t2 - t1) * 1000, (time.perf_counter() - t3) * 1000)
"""


def cold_login(app: str, data: Path) -> tuple[float, float, float]:
    """The first visitor of a server process that has only started (streamlit's runtime up, nothing of
    ours imported): (the login page: imports, store opening; the login: password check, first page;
    the first chart page, the statistics, 1.5 s later)."""
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", COLD_LOGIN, app, str(data), PASSWORD],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    page, login, charts = out.stdout.strip().splitlines()[-1].split()
    return float(page), float(login), float(charts)


def browser(data: Path, runs: int) -> None:
    """What a user waits for in Chromium (server, websocket and rendering), on ``chatarchive serve``
    over ``data``: from the click until the answer is on screen and the page's run has finished."""
    import re
    import socket
    import subprocess
    import urllib.request

    from playwright.sync_api import expect, sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "chatarchive.cli", "--data", str(data), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        rows: dict[str, list[tuple[float, float]]] = {}
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=args, headless=True)
            expect.set_options(timeout=60_000)
            try:
                for run in range(runs):
                    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
                    page.set_default_timeout(60_000)
                    idle = page.locator("[data-testid='stStatusWidget']")

                    def timed_click(name: str, click: Callable[[], Any], shown: Any) -> None:
                        t0 = time.perf_counter()
                        click()
                        shown.wait_for(state="visible")  # event-driven, not expect()'s retry back-off
                        t1 = time.perf_counter()
                        idle.wait_for(state="hidden")
                        t2 = time.perf_counter()
                        rows.setdefault(name, []).append(((t1 - t0) * 1000, (t2 - t0) * 1000))

                    page.goto(url)
                    page.get_by_label("账号", exact=True).fill("admin")
                    page.get_by_label("密码", exact=True).fill(PASSWORD)
                    timed_click(
                        "first login (submit → search page)" + (" (first visitor of the process)" if run == 0 else ""),
                        lambda: page.get_by_role("button", name="登录", exact=True).click(),
                        page.get_by_role("heading", name="搜索", exact=True),
                    )
                    link = page.url.split("?", 1)[1]
                    idle.wait_for(state="hidden")
                    box = page.locator(".st-key-q input")
                    box.fill(f'"{RARE_PHRASE}"')
                    timed_click(
                        "search a rare phrase (a light page: the browser's floor)",
                        lambda: box.press("Enter"),
                        page.locator("mark").first,
                    )
                    page.goto(f"{url}/statistics?{link}")
                    expect(page.get_by_role("tab", name="关键词", exact=False)).to_be_visible()
                    expect(idle).to_be_hidden()
                    page.get_by_role("tab", name="关键词", exact=False).click()
                    page.wait_for_timeout(1500 if run == 0 else 200)  # a reader's pause (jieba's tables warm up)
                    timed_click(
                        "statistics: switch keywords on (5,000 newest messages; first run computes, later cached)",
                        lambda: page.get_by_text("计算关键词和词频").click(),
                        page.locator(".st-key-ch_frequency"),
                    )
                    page.goto(f"{url}/rules?{link}")
                    page.locator(".st-key-rule_pick input").click()
                    page.get_by_role("option", name="私下交易", exact=False).first.click()
                    expect(page.get_by_role("button", name="运行回测")).to_be_visible()
                    expect(idle).to_be_hidden()
                    timed_click(
                        "rules: backtest window (newest 5,000 messages of the last 30 days)",
                        lambda: page.get_by_role("button", name="运行回测").click(),
                        page.get_by_text("已回测", exact=False).first,
                    )
                    page.get_by_text("后台回测整个存档 (不限日期)").click()
                    expect(idle).to_be_hidden()
                    timed_click(
                        "rules: start the whole-archive job (panel with progress shows)",
                        lambda: page.get_by_role("button", name="后台回测整个区间").click(),
                        page.get_by_text(re.compile("状态: (运行中|排队中|已完成)")),
                    )
                    page.get_by_role("button", name="取消后台回测").click()
                    expect(page.get_by_text("状态: 已取消")).to_be_visible()
                    page.close()
            finally:
                chromium.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"\nIn Chromium on {data} ({runs} runs; ms from the click until the answer shows / the run ends)\n")
    print("| interaction | answer shown (median) | run ended (median) | runs: shown / ended |")
    print("| --- | ---: | ---: | --- |")
    for name, times in rows.items():
        shown = statistics.median(t[0] for t in times)
        ended = statistics.median(t[1] for t in times)
        each = ", ".join(f"{a:,.0f} / {b:,.0f}" for a, b in times)
        print(f"| {name} | {shown:,.0f} | {ended:,.0f} | {each} |")


def nothing_run(at: Any) -> None:
    return None


def _login_form(app: str) -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(app, default_timeout=300)
    at.run()
    at.text_input(key="login_name").input("bench-admin")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click()
    return at


def _ran(at: Any) -> Any:
    at.run()
    return at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, help="measure the quick set on this existing archive instead")
    parser.add_argument("--browser", action="store_true", help="measure a few interactions in Chromium instead")
    args = parser.parse_args()
    if args.browser:
        target = args.data or REPO / "bench" / "out" / f"dashboard-{args.messages}"
        if args.data is None:
            prepare(args.messages, REPO / "bench" / "out" / f"search-{args.messages}", target)
            ensure_rules(target)
        browser(target, args.runs)
        return
    if args.data:
        quick(args.data, args.runs)
        return
    source = REPO / "bench" / "out" / f"search-{args.messages}"
    target = REPO / "bench" / "out" / f"dashboard-{args.messages}"
    prepare(args.messages, source, target)
    ensure_rules(target)
    os.environ["CHATARCHIVE_DATA"] = str(target)

    from streamlit.testing.v1 import AppTest

    from reports import people, service, stats

    app = str(REPO / "dashboard" / "app.py")
    archive = Archive.open(data=str(target))
    store = archive.store
    total = store.count(MessageFilter(), scope=ALL)
    msgid = store.search(SearchRequest(query=f'"{RARE_PHRASE}"', limit=1), scope=ALL).hits[0].msgid
    chat = store.get_messages([msgid], scope=ALL)[0].chat_id
    from core.directory import Directory

    directory = Directory.from_dict(organisation())

    def logged_in(page: str) -> AppTest:
        at = AppTest.from_file(app, default_timeout=120)
        at.run()
        at.text_input(key="login_name").input("admin")
        at.text_input(key="login_password").input(PASSWORD)
        at.button[0].click()
        at.run()
        at.switch_page(page)
        return at

    rows: list[tuple[str, float, float | None]] = []

    def measure(
        name: str,
        page: str,
        setup: Callable[[AppTest], None],
        act: Callable[[AppTest], None],
        core: Callable[[], Any] | None,
        fresh: Callable[[], AppTest] | None = None,
    ) -> None:
        ui_times = []
        for _ in range(args.runs):
            at = fresh() if fresh is not None else logged_in(page)
            setup(at)
            t0 = time.perf_counter()
            act(at)
            ui_times.append((time.perf_counter() - t0) * 1000)
            assert not at.exception, [e.value for e in at.exception]
        core_ms = timed(core, args.runs) if core is not None else None
        rows.append((name, statistics.median(ui_times), core_ms))
        print(f"  {name}: {rows[-1][1]:.0f} ms (core {core_ms} ms)", file=sys.stderr)

    nothing = lambda at: None  # noqa: E731

    def login_form() -> AppTest:
        at = AppTest.from_file(app, default_timeout=120)
        at.run()
        at.text_input(key="login_name").input("admin")
        at.text_input(key="login_password").input(PASSWORD)
        return at

    from compliance.accounts import authenticate

    cold = [cold_login(app, target) for _ in range(args.runs)]
    rows.append(
        ("fresh server process: the login page (imports, store opening)", statistics.median(c[0] for c in cold), None)
    )
    rows.append(
        ("fresh server process: first login (form submit → first page)", statistics.median(c[1] for c in cold), None)
    )
    rows.append(
        (
            "fresh server process: then the statistics page (the first chart page)",
            statistics.median(c[2] for c in cold),
            None,
        )
    )
    print(f"  fresh process: {rows[-2][1]:.0f} ms, {rows[-1][1]:.0f} ms", file=sys.stderr)
    measure(
        "first login (form submit → first page, process warm)",
        "",
        nothing,
        lambda at: at.button[0].click().run(),
        lambda: authenticate(store, "admin", PASSWORD, settings=archive.settings),
        fresh=login_form,
    )
    measure(
        "search page, all messages newest first",
        "pages/search.py",
        nothing,
        lambda at: at.run(),
        lambda: store.search(SearchRequest(), scope=ALL),
    )
    measure(
        f"search a common word ({COMMON_WORD})",
        "pages/search.py",
        lambda at: at.run(),
        lambda at: at.text_input(key="q").input(COMMON_WORD).run(),
        lambda: store.search(SearchRequest(query=COMMON_WORD), scope=ALL),
    )
    measure(
        "search a rare phrase, only flagged",
        "pages/search.py",
        lambda at: at.run(),
        lambda at: (at.text_input(key="q").input(f'"{RARE_PHRASE}"'), at.checkbox(key="f_flagged").check().run()),
        lambda: store.search(SearchRequest(query=f'"{RARE_PHRASE}"', filters=MessageFilter(flagged=True)), scope=ALL),
    )

    def open_context_setup(at: AppTest) -> None:
        at.text_input(key="q").input(f'"{RARE_PHRASE}"').run()
        [b for b in at.button if str(b.key).startswith("ctx_")][0].click().run()
        at.text_input(key="ctx_reason").input("benchmark").run()

    measure(
        "open a hit's context (with reason)",
        "pages/search.py",
        lambda at: (at.run(), open_context_setup(at)),
        lambda at: at.button(key="ctx_open").click().run(),
        lambda: store.context(msgid, scope=ALL),
    )
    measure(
        "conversations: employee figures + chat list",
        "pages/conversations.py",
        nothing,
        lambda at: at.run(),
        lambda: (
            people.employee_figures(store, "zhangsan", scope=ALL, directory=directory),
            people.employee_chats(store, "zhangsan", scope=ALL),
        ),
    )

    def conversation_setup(at: AppTest) -> None:
        at.run()
        at.button(key="open_external").click().run()

    measure(
        "conversations: open a chat (last page)",
        "pages/conversations.py",
        conversation_setup,
        lambda at: at.text_input(key="conv_reason").input("benchmark").run(),
        lambda: store.list_messages(MessageFilter(chats=[chat]), scope=ALL, limit=100),
    )

    def page_input(at: AppTest) -> Any:
        return next(n for n in at.number_input if str(n.key).startswith("conv_") and str(n.key).endswith("_page"))

    measure(
        "viewer: page back to the conversation's first page",
        "pages/conversations.py",
        lambda at: (conversation_setup(at), at.text_input(key="conv_reason").input("benchmark").run()),
        lambda at: page_input(at).set_value(1).run(),
        lambda: store.list_messages(MessageFilter(chats=[chat]), scope=ALL, limit=100, offset=0),
    )
    measure(
        "violations list + detail",
        "pages/violations.py",
        nothing,
        lambda at: at.run(),
        lambda: store.list_violations(ViolationFilter(statuses=["unreviewed"]), scope=ALL),
    )
    measure(
        "statistics (6 charts, all time)",
        "pages/statistics.py",
        nothing,
        lambda at: at.run(),
        lambda: (
            stats.per_day(store, MessageFilter(), scope=ALL),
            stats.hour_of_week(store, MessageFilter(), scope=ALL, tz="Asia/Shanghai"),
            stats.by_field(store, MessageFilter(), "msgtype", scope=ALL),
            stats.by_field(store, MessageFilter(), "chat_kind", scope=ALL),
            stats.by_department(store, MessageFilter(), scope=ALL),
            stats.top_employees(store, MessageFilter(), scope=ALL),
            stats.violations_per_day(store, ViolationFilter(), scope=ALL),
        ),
    )
    measure(
        "review desk: submit a review (confirmed)",
        "pages/violations.py",
        lambda at: (
            at.run(),
            at.multiselect(key="v_status").set_value(["unreviewed", "confirmed"]).run(),  # never an empty queue
            at.radio(key="r_status").set_value("confirmed"),
            at.text_area(key="r_comment").input("benchmark"),
        ),
        lambda at: at.button(key="FormSubmitter:review-提交审核").click().run(),
        None,
    )
    import streamlit as st

    measure(
        "statistics: keywords and word frequency (switched on, not cached)",
        "pages/statistics.py",
        lambda at: (st.cache_data.clear(), at.run()),  # every run computes them (the page caches 5 minutes)
        lambda at: at.toggle(key="st_kw_on").set_value(True).run(),
        None,
    )
    measure(
        "service quality per employee",
        "pages/service.py",
        nothing,
        lambda at: at.run(),
        lambda: service.service_quality(
            store, MessageFilter(), scope=ALL, now_ms=int(time.time() * 1000), unanswered_minutes=120
        ),
    )
    measure(
        "customers list",
        "pages/customers.py",
        nothing,
        lambda at: at.run(),
        lambda: people.customer_rows(store, directory, scope=ALL),
    )
    backtests(store, archive.settings.timezone, logged_in, measure)
    archive.close()

    print(f"\nDashboard interactions on {total:,} messages (median of {args.runs}; embedded store)\n")
    print("| interaction | dashboard (AppTest) ms | core call ms | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, ui, core in rows:
        core_cell, ratio = (f"{core:,.0f}", f"{ui / core:.1f}" if core else "–") if core is not None else ("–", "–")
        print(f"| {name} | {ui:,.0f} | {core_cell} | {ratio} |")


if __name__ == "__main__":
    main()
