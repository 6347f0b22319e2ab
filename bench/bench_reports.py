"""Report latency: every statistic the dashboard's report pages compute, on a large store.

Times each ``reports`` call the pages make (数据报表 statistics: the count and all
six tabs, which Streamlit renders together; 服务质量 service quality; 查看聊天记录 one
employee's chats and figures), p50 and max over ``--runs``, for the whole archive and for
a department-scoped account, over all time and over the last 7 days; then each page's
total (the sum of its calls' p50s) against the one-second budget. Peer measured in the
same run: ``store.count`` of the same selection through a real query, the cheapest request
a page can make (the ratio says how many "counts" a statistic costs).

The store is reused, not rebuilt: by default the 1M-message store that
``bench/bench_search.py --messages 1000000`` leaves in ``bench/out/search-1000000``
(``--store`` picks another; ``--build N`` writes a new one of N messages, with response
times, group chats and violations, to ``bench/out/reports-N``).

    .venv/bin/python bench/bench_reports.py --build 1000000 --runs 5     # builds once (~13 min), then reuses
    .venv/bin/python bench/bench_reports.py --store bench/out/search-1000000 --runs 5
"""

from __future__ import annotations

import argparse
import random
import statistics as pystats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.directory import Directory  # noqa: E402
from core.models import ALL, Batch, MessageFilter, Scope, Violation, ViolationFilter  # noqa: E402
from reports import people, service, stats  # noqa: E402
from store.embedded import EmbeddedStore  # noqa: E402
from tests.conformance.corpus import BASE_MS, CUSTOMERS, DEPARTMENTS, EMPLOYEES, Factory  # noqa: E402

TZ = "Asia/Shanghai"
DAY = 86_400_000
BUDGET_MS = 1000.0
BATCH = 20_000


def chat_batch(
    f: Factory, rng: random.Random, seqs: range, n: int, text: Callable[[int], str | None] = lambda seq: None
) -> Batch:
    """Messages ``seqs`` of an n-message archive over 90 days: customer chats with replies,
    internal chats, group chats, 1 % flagged with a violation. ``text(seq)`` may plant a text
    (None draws one from the simulator's grammar)."""
    people_ = list(EMPLOYEES)
    batch = Batch()
    for seq in seqs:
        t = BASE_MS + seq * 90 * DAY // n
        sender = rng.choice(people_)
        kind = rng.random()
        if kind < 0.6:
            customer = rng.choice(CUSTOMERS)
            if rng.random() < 0.5:
                m = f.message(text(seq), seq=seq, msgid=f"r{seq:09d}", time_ms=t, sender=customer, to=[sender])
            else:
                reply = rng.randrange(5_000, 4 * 3_600_000) if rng.random() < 0.4 else -1
                m = f.message(
                    text(seq),
                    seq=seq,
                    msgid=f"r{seq:09d}",
                    time_ms=t,
                    sender=sender,
                    to=[customer],
                    reply_ms=reply,
                    reply_business_ms=reply // 2 if reply > 0 else -1,
                )
        elif kind < 0.85:
            m = f.message(
                text(seq),
                seq=seq,
                msgid=f"r{seq:09d}",
                time_ms=t,
                sender=sender,
                to=[rng.choice([p for p in people_ if p != sender])],
            )
        else:
            m = f.message(
                text(seq),
                seq=seq,
                msgid=f"r{seq:09d}",
                time_ms=t,
                sender=sender,
                to=[rng.choice(CUSTOMERS), rng.choice(people_)],
                roomid=f"wrGROUP{rng.randrange(200):04d}",
            )
        batch.messages.append(m)
        if rng.random() < 0.01:
            m.flagged = True
            batch.violations.append(
                Violation(
                    msgid=m.msgid,
                    rule_id=f"r{rng.randrange(20)}",
                    rule_version=1,
                    rule_name="rule",
                    category=rng.choice(["承诺收益", "辱骂", "私下交易"]),
                    severity=rng.choice(["high", "medium", "low"]),
                    terms=["x"],
                    spans=[[0, 1]],
                    time_ms=t,
                    sender=m.sender,
                    chat_id=m.chat_id,
                    chat_kind=m.chat_kind,
                    employees=m.employees,
                    departments=m.departments,
                )
            )
    batch.checkpoint = batch.messages[-1].seq if batch.messages else None
    return batch


def build(path: Path, n: int, seed: int = 3) -> None:
    """n messages over 90 days (``chat_batch``), written in batches of BATCH."""
    import shutil

    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    f, rng = Factory(seed=seed), random.Random(seed)
    store = EmbeddedStore(path, timezone=TZ)
    store.init()
    started = time.perf_counter()
    for start in range(1, n + 1, BATCH):
        batch = chat_batch(f, rng, range(start, min(n, start + BATCH - 1) + 1), n)
        store.write_batch(batch)
        print(f"  {batch.checkpoint:,} / {n:,} ({time.perf_counter() - started:.0f}s)", file=sys.stderr)
    store.close()
    (path / "complete").write_text(f"{n}\n")


def directory(customers: int = 5_000) -> Directory:
    """The organisation of the corpus, with many customers (new-customer report)."""
    rng = random.Random(5)
    return Directory.from_dict(
        {
            "departments": [{"id": d, "parentid": p, "name": f"部门{d}"} for d, p in DEPARTMENTS.items()],
            "employees": [{"userid": u, "departments": [d]} for u, d in EMPLOYEES.items()],
            "externals": [
                {
                    "id": f"wm{i:08d}",
                    "added_ms": BASE_MS + rng.randrange(90 * DAY),
                    "followers": [rng.choice(list(EMPLOYEES))],
                }
                for i in range(customers)
            ],
        }
    )


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    fn()  # warm: the first call opens searchers and fills caches, as a page's first render does
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return pystats.median(samples), max(samples)


def reports(
    store: EmbeddedStore, f: MessageFilter, vf: ViolationFilter, scope: Scope, org: Directory, last_ms: int
) -> list[tuple[str, str, Callable[[], Any]]]:
    """(page, report, call) exactly as the pages call them."""
    return [
        ("statistics", "count", lambda: store.count(f, scope=scope)),
        ("statistics", "per_day", lambda: stats.per_day(store, f, scope=scope)),
        ("statistics", "hour_of_week", lambda: stats.hour_of_week(store, f, scope=scope, tz=TZ)),
        ("statistics", "by msgtype", lambda: stats.by_field(store, f, "msgtype", scope=scope)),
        ("statistics", "by chat_kind", lambda: stats.by_field(store, f, "chat_kind", scope=scope)),
        ("statistics", "by_department", lambda: stats.by_department(store, f, scope=scope)),
        ("statistics", "top_employees", lambda: stats.top_employees(store, f, scope=scope)),
        (
            "statistics",
            "new_customers_per_day",
            lambda: stats.new_customers_per_day(org, tz=TZ, time_from=f.time_from, time_to=f.time_to, scope=scope),
        ),
        ("statistics", "violations_per_day", lambda: stats.violations_per_day(store, vf, scope=scope)),
        (
            "service",
            "service_quality",
            lambda: service.service_quality(store, f, scope=scope, now_ms=last_ms, unanswered_minutes=60),
        ),
        ("conversations", "employee_chats", lambda: people.employee_chats(store, "zhangsan", scope=scope)),
        (
            "conversations",
            "employee_figures",
            lambda: people.employee_figures(store, "zhangsan", scope=scope, directory=org),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=REPO / "bench" / "out" / "search-1000000")
    parser.add_argument("--build", type=int, default=0, help="build a new store of this many messages instead")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = args.store
    if args.build:
        path = REPO / "bench" / "out" / f"reports-{args.build}"
        if not (path / "complete").exists():
            print(f"building {args.build:,} messages in {path}", file=sys.stderr)
            build(path, args.build)
    if not (path / "complete").exists():
        sys.exit(f"{path} is not a complete store: run bench/bench_search.py first, or pass --build N")
    store = EmbeddedStore(path, timezone=TZ)
    store.init()
    total = store.count(MessageFilter(), scope=ALL)
    span = store.aggregate(
        MessageFilter(), {"lo": {"min": {"field": "time"}}, "hi": {"max": {"field": "time"}}}, scope=ALL
    )
    last_ms = int(span["hi"]["value"])
    org = directory()
    cases = [
        ("everything, all time", ALL, MessageFilter(), ViolationFilter()),
        (
            "everything, last 7 days",
            ALL,
            MessageFilter(time_from=last_ms - 7 * DAY),
            ViolationFilter(time_from=last_ms - 7 * DAY),
        ),
        ("department 2 scope, all time", Scope.of(departments=[2]), MessageFilter(), ViolationFilter()),
    ]
    print(f"\n### {total:,} messages ({path.name}), {args.runs} runs each after one warm-up\n")
    print("| selection | page | report | p50 ms | max ms | count ms (peer) | p50 / count |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    pages: dict[tuple[str, str], float] = {}
    for label, scope, f, vf in cases:
        # The peer counts the same selection through a real query (time >= 0 keeps the store from
        # answering "everything" from its document count without searching).
        forced = MessageFilter(**{**f.__dict__, "time_from": f.time_from if f.time_from is not None else 0})
        peer, _ = timed(lambda: store.count(forced, scope=scope), args.runs)
        for page, name, call in reports(store, f, vf, scope, org, last_ms):
            p50, worst = timed(call, args.runs)
            pages[(label, page)] = pages.get((label, page), 0.0) + p50
            print(
                f"| {label} | {page} | {name} | {p50:,.1f} | {worst:,.1f} | "
                f"{peer:,.1f} | {p50 / peer if peer else float('nan'):,.1f} |",
                flush=True,
            )
    print("\n| selection | page | total of p50s ms | within 1 s |")
    print("| --- | --- | ---: | :---: |")
    for (label, page), ms in pages.items():
        print(f"| {label} | {page} | {ms:,.0f} | {'yes' if ms < BUDGET_MS else 'NO'} |")
    store.close()


if __name__ == "__main__":
    main()
