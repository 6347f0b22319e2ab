"""What the dashboard's insights and the service page cost on a large store.

1. 服务质量: ``reports.service.service_quality`` now covers customer groups
   (``has_external``) and lists every employee taking part; timed against the version
   before that change (single chats only), read from git, in the same run.
2. 数据报表 insights: what one switch-on costs before ``st.cache_data`` keeps it — reading
   the selection (the newest ``MAX_SELECTION`` messages), TF-IDF, TextRank, word frequency,
   the customer-sentiment split, and one employee's sentiment trend.

Peer in the same run: ``store.count`` of everything through a real query. Reuses the
store of ``bench/bench_reports.py --build 1000000`` (``--store`` picks another).

    .venv/bin/python bench/bench_dashboard_insights.py --runs 3
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analyzers.insights.sentiment import conversation_sentiment  # noqa: E402
from core.models import ALL, MessageFilter, Scope  # noqa: E402
from reports import keywords as kw  # noqa: E402
from reports import service  # noqa: E402
from reports.trend import sentiment_trend  # noqa: E402
from store.embedded import EmbeddedStore  # noqa: E402

TZ = "Asia/Shanghai"
DAY = 86_400_000
BEFORE = "408fbab"  # the last commit with service quality over single chats only


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    call()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def old_service() -> Any:
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:reports/service.py"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "service_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("service_before", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["service_before"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=REPO / "bench" / "out" / "reports-1000000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not (args.store / "complete").exists():
        sys.exit(f"{args.store} is not a complete store: run bench/bench_reports.py --build 1000000 first")
    store = EmbeddedStore(args.store, timezone=TZ)
    store.init()
    total = store.count(MessageFilter(), scope=ALL)
    last = int(store.aggregate(MessageFilter(), {"hi": {"max": {"field": "time"}}}, scope=ALL)["hi"]["value"])
    peer, _ = timed(lambda: store.count(MessageFilter(time_from=0), scope=ALL), args.runs)
    before = old_service()
    cases = [
        ("everything, all time", ALL, MessageFilter()),
        ("everything, last 7 days", ALL, MessageFilter(time_from=last - 7 * DAY)),
        ("department 2 scope, all time", Scope.of(departments=[2]), MessageFilter()),
    ]
    print(
        f"\n### {total:,} messages ({args.store.name}), {args.runs} "
        f"runs after one warm-up; peer store.count = {peer:.1f} ms\n"
    )
    print(
        "| selection | service before p50 / max ms | after p50 / max ms "
        "| after / before | after / count | rows before / after |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, scope, f in cases:
        kwargs = dict(scope=scope, now_ms=last, unanswered_minutes=120)
        b = timed(lambda: before.service_quality(store, f, **kwargs), args.runs)
        a = timed(lambda: service.service_quality(store, f, **kwargs), args.runs)
        rows = (len(before.service_quality(store, f, **kwargs)), len(service.service_quality(store, f, **kwargs)))
        print(
            f"| {label} | {b[0]:,.0f} / {b[1]:,.0f} | {a[0]:,.0f} / {a[1]:,.0f} | {a[0] / b[0]:.1f} | "
            f"{a[0] / peer:.1f} | {rows[0]} / {rows[1]} |",
            flush=True,
        )
    print("\n| selection | step (one switch-on, uncached) | p50 ms | max ms | p50 / count |")
    print("| --- | --- | ---: | ---: | ---: |")
    for label, _, f in cases[:2]:
        customer = MessageFilter(**{**f.__dict__, "sender_kinds": ["external"]})
        messages = kw.selection(store, f, scope=ALL)
        said = kw.selection(store, customer, scope=ALL)
        steps = [
            (f"read the selection ({len(messages):,} newest)", lambda: kw.selection(store, f, scope=ALL)),
            ("TF-IDF keywords", lambda: kw.keywords(messages, method="tfidf")),
            ("TextRank keywords", lambda: kw.keywords(messages, method="textrank")),
            ("word frequency", lambda: kw.word_frequency(messages)),
            (f"read customer messages ({len(said):,} newest)", lambda: kw.selection(store, customer, scope=ALL)),
            ("sentiment split", lambda: conversation_sentiment(said)),
            (
                "sentiment trend, 1 employee",
                lambda: sentiment_trend(store, f, scope=ALL, tz=TZ, employees=["zhangsan"]),
            ),
        ]
        for name, call in steps:
            p50, worst = timed(call, args.runs)
            print(f"| {label} | {name} | {p50:,.0f} | {worst:,.0f} | {p50 / peer:.1f} |", flush=True)
    store.close()


if __name__ == "__main__":
    main()
