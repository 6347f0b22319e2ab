"""The embedded engine at 100k, 1M and 10M messages: build time, index size, searches with
highlights, the report pages, an export of 100,000 messages and memory, with the targets.

Build: messages are written to the store directly (``store.write_batch``), bypassing the
WeCom source, decryption and normalization. Each message is what ``bench_reports.chat_batch``
makes (the simulator's phrase grammar via ``tests.conformance.corpus.Factory``; customer,
internal and group chats over 90 days; reply times drawn, not computed; 1 % flagged with a
violation), with bench_search's rare word and phrase planted in 1 of 10,000 messages; then
the ingest pipeline's own ``analyze`` stage (``indexer.stages.Analyze``: jieba words and
the sentiment of customer messages) runs on it. Bypassed besides decryption: consent (no
consent events), reply-time tracking, rule matching (violations are drawn) and the evidence
ledger entry per batch. Worker processes (``--workers``) prepare batches of 20,000 while
this process writes them, in seq order, with the batch's last seq as the checkpoint; a
killed build resumes from the store's checkpoint (writes are upserts by msgid, so a batch
written twice is still one copy). The texts also go to ``texts.txt``, one a line, the peer's
input: ``grep -F -c`` over the same text.

Measured in a fresh process per size (so its RSS is that of a reader, as the dashboard is):
phrase, bare-word, filtered (one employee, last 7 days) and sorted searches, top 20 with
highlights, p50/p95 over ``--runs`` (target p95 < 100 ms), each with grep's time for the
same needle; the statistics, service and conversations pages' calls (``bench_reports.reports``,
what the pages call; target: each page's total < 1 s); ``compliance.export.export_messages``
of 100,000 messages to CSV; index bytes per message; the reader's RSS with the store still
open after its searches and pages (heap and resident index pages apart: the index is read
through mmap) and the builder's RSS after each batch (target: RSS at 10M within 1.5x RSS at 1M).

    .venv/bin/python bench/bench_scale.py --messages 100000                      # make bench
    .venv/bin/python bench/bench_scale.py --sizes 100000,1000000,10000000 --runs 40
    nohup .venv/bin/python bench/bench_scale.py --messages 10000000 --build-only > bench/out/scale-10000000.log 2>&1 &

Archives are kept in bench/out/scale-N (``--data DIR`` for one size elsewhere) and reused;
an unfinished one is resumed by running the same command again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_reports import BUDGET_MS, DAY, TZ, chat_batch, directory, reports, timed  # noqa: E402
from bench_search import PLANT_EVERY, RARE_PHRASE, RARE_WORD, common_terms, dir_bytes, grep_ms, percentile  # noqa: E402

from core.models import ALL, Batch, MessageFilter, SearchRequest, ViolationFilter  # noqa: E402
from store.embedded import EmbeddedStore  # noqa: E402
from tests.conformance.corpus import Factory  # noqa: E402

CHUNK = 20_000
SEED = 17
SEARCH_P95_MS = 100.0
RSS_GROWTH = 1.5
EXPORT_N = 100_000


# --- building -------------------------------------------------------------------------------
def prepare_chunk(task: tuple[int, int, int, int]) -> Batch:
    """Messages start..stop of an n-message archive, analyzed as ingest does; the same
    every time for the same arguments (a resumed build writes what the first would have)."""
    from analyzers.chinese import get_analyzer
    from indexer.stages import Analyze, StagedBatch

    n, start, stop, seed = task
    f, rng = Factory(seed=seed * 1_000_003 + start), random.Random(seed * 7_919 + start)

    def text(seq: int) -> str | None:
        return f"{f.text()}，{RARE_WORD}的事{RARE_PHRASE}" if seq % PLANT_EVERY == 0 else None

    batch = chat_batch(f, rng, range(start, stop + 1), n, text)
    Analyze(get_analyzer())(StagedBatch(batch.messages))
    return batch


def status_mb() -> dict[str, float]:
    """This process's memory figures from /proc/self/status, in MiB: VmRSS (resident), VmHWM
    (its peak), RssAnon (the heap: Python objects, tantivy's buffers) and RssFile (pages of
    mapped files resident: tantivy's index, read through mmap; the kernel may drop them)."""
    figures = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                figures[key] = int(value.split()[0]) / 1024
    return figures


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MiB."""
    figures = status_mb()
    return figures["VmRSS"], figures["VmHWM"]


def keep_lines(path: Path, count: int) -> None:
    """Cuts a text file after its first ``count`` lines (a resumed build's texts.txt)."""
    if not path.exists():
        path.touch()
        return
    with open(path, "r+b") as f:
        for _ in range(count):
            if not f.readline():
                return
        f.truncate()


def read_log(path: Path, upto: int) -> list[dict[str, Any]]:
    """The build log's lines for chunks at or below the checkpoint ``upto``."""
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["checkpoint"] <= upto]


class Inline:
    """``--workers 0``: batches prepared in this process, when asked for (tests, one core)."""

    def __init__(self, fn: Any, args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args

    def get(self) -> Any:
        return self.fn(*self.args)


def build(
    path: Path,
    n: int,
    *,
    workers: int = 1,
    seed: int = SEED,
    chunk: int = CHUNK,
    limit: int | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Builds (or resumes) an n-message archive at path, stopping after ``limit`` messages if
    given; returns the build's figures."""
    import contextlib
    import multiprocessing

    path.mkdir(parents=True, exist_ok=True)
    store = EmbeddedStore(path, timezone=TZ)
    store.init()
    done = store.checkpoint()
    texts = path / "texts.txt"
    keep_lines(texts, done)
    log_path = path / "build.jsonl"
    log = read_log(log_path, done)
    log_path.write_text("".join(json.dumps(r) + "\n" for r in log))
    end = n if limit is None else min(n, limit)
    tasks = [(n, s, min(end, s + chunk - 1), seed) for s in range(done + 1, end + 1, chunk)]
    if done and tasks and not quiet:
        print(f"  resuming at {done:,} / {n:,}", file=sys.stderr, flush=True)
    session_start = time.perf_counter()
    last = session_start
    pool = multiprocessing.get_context("spawn").Pool(workers) if workers else None
    submit = pool.apply_async if pool else Inline
    with contextlib.ExitStack() as stack:
        if pool:
            stack.enter_context(pool)
        plain = stack.enter_context(open(texts, "a", encoding="utf-8"))
        logf = stack.enter_context(open(log_path, "a"))
        pending: deque[Any] = deque()
        queue = iter(tasks)
        for task in queue:  # at most workers + 1 batches prepared ahead of the writer
            pending.append(submit(prepare_chunk, (task,)))
            if len(pending) > workers:
                break
        while pending:
            batch = pending.popleft().get()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append(submit(prepare_chunk, (nxt,)))
            plain.write("".join(m.text.replace("\n", " ") + "\n" for m in batch.messages))
            plain.flush()
            store.write_batch(batch)
            now = time.perf_counter()
            memory = status_mb()
            rss, peak = memory["VmRSS"], memory["VmHWM"]
            row = {
                "checkpoint": batch.checkpoint,
                "seconds": round(now - last, 3),
                "rss_mb": rss,
                "peak_mb": peak,
                "anon_mb": memory["RssAnon"],
            }
            last = now
            logf.write(json.dumps(row) + "\n")
            logf.flush()
            log.append(row)
            if not quiet:
                total = sum(r["seconds"] for r in log)
                print(
                    f"  {batch.checkpoint:,} / {n:,}  {total:,.0f} s  "
                    f"{len(batch.messages) / row['seconds']:,.0f} msgs/s  RSS {rss:,.0f} MiB (peak {peak:,.0f})  "
                    f"load {os.getloadavg()[0]:.1f}",
                    file=sys.stderr,
                    flush=True,
                )
    store.close()
    written = log[-1]["checkpoint"] if log else done
    figures = {
        "messages": n,
        "written": written,
        "seconds": sum(r["seconds"] for r in log),
        "builder_rss_mb": log[-1]["rss_mb"] if log else None,
        "builder_peak_mb": max((r["peak_mb"] for r in log), default=None),
        "builder_anon_mb": log[-1].get("anon_mb") if log else None,
        "rss_at": {str(r["checkpoint"]): r["rss_mb"] for r in log},
        "load": os.getloadavg()[0],
    }
    if written >= n:
        (path / "complete").write_text(json.dumps(figures) + "\n")
    return figures


# --- measuring ------------------------------------------------------------------------------
def search_cases(path: Path, last_ms: int) -> list[tuple[str, SearchRequest, str | None]]:
    word, bigram = common_terms(path)
    week = MessageFilter(employees=["zhangsan"], time_from=last_ms - 7 * DAY, time_to=last_ms + 1)
    return [
        ("phrase, rare", SearchRequest(query=f'"{RARE_PHRASE}"', sort="relevance"), RARE_PHRASE),
        ("phrase, common (2 chars)", SearchRequest(query=f'"{bigram}"', sort="relevance"), bigram),
        ("bare word, rare", SearchRequest(query=RARE_WORD, sort="relevance"), RARE_WORD),
        ("bare word, common", SearchRequest(query=word, sort="relevance"), word),
        ("sorted: common word, newest first", SearchRequest(query=word, sort="time_desc"), word),
        ("sorted: common phrase, newest first", SearchRequest(query=f'"{bigram}"', sort="time_desc"), bigram),
        ("filtered: common word, 1 employee, 7 days", SearchRequest(query=word, filters=week), word),
        (
            "filtered: common phrase, 1 employee, 7 days, by relevance",
            SearchRequest(query=f'"{bigram}"', filters=week, sort="relevance"),
            bigram,
        ),
        ("all messages, newest first", SearchRequest(sort="time_desc"), None),
    ]


def measure(path: Path, runs: int) -> dict[str, Any]:
    """Every reading figure of one archive, in this (fresh) process."""
    from chatarchive.archive import Archive
    from compliance.export import export_messages

    load_before = os.getloadavg()[0]
    store = EmbeddedStore(path, timezone=TZ)
    store.init()
    total = store.count(MessageFilter(), scope=ALL)
    span = store.aggregate(MessageFilter(), {"hi": {"max": {"field": "time"}}}, scope=ALL)
    last_ms = int(span["hi"]["value"])
    out: dict[str, Any] = {"total": total, "searches": [], "pages": [], "load_before": load_before}
    for label, request, needle in search_cases(path, last_ms):
        store.search(request, scope=ALL)  # warm
        times, hits = [], 0
        for _ in range(runs):
            t0 = time.perf_counter()
            result = store.search(request, scope=ALL)
            times.append((time.perf_counter() - t0) * 1000)
            hits = result.total
            assert not result.hits or any("<mark>" in h.highlight for h in result.hits) or not request.query
        g_ms, g_count = grep_ms(path, needle, runs=3) if needle else (float("nan"), 0)
        out["searches"].append(
            {
                "case": label,
                "query": request.query,
                "hits": hits,
                "p50": percentile(times, 50),
                "p95": percentile(times, 95),
                "grep_ms": g_ms,
                "grep_count": g_count,
            }
        )
        print(f"  {label}: p95 {out['searches'][-1]['p95']:.1f} ms", file=sys.stderr, flush=True)
    org = directory()
    for selection, since in (("all time", None), ("last 7 days", last_ms - 7 * DAY)):
        f, vf = MessageFilter(time_from=since), ViolationFilter(time_from=since)
        for page, name, call in reports(store, f, vf, ALL, org, last_ms):
            p50, worst = timed(call, max(3, runs // 8))
            out["pages"].append({"selection": selection, "page": page, "report": name, "p50": p50, "max": worst})
            print(f"  {selection}: {page} {name}: {p50:.0f} ms", file=sys.stderr, flush=True)
    # What a dashboard process holds: the store open after its searches and pages. The index is
    # read through mmap, so the pages of it those reads touched are resident (RssFile) while open.
    memory = status_mb()
    out["rss_mb"], out["peak_mb"] = memory["VmRSS"], memory["VmHWM"]
    out["anon_mb"], out["file_mb"] = memory["RssAnon"], memory["RssFile"]
    store.close()

    archive = Archive.open(data=str(path), media=False)
    try:
        count = min(EXPORT_N, total)
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            t0 = time.perf_counter()
            done = export_messages(
                archive,
                "",
                "csv",
                Path(tmp) / "export.csv",
                "benchmark: export of 100,000 messages",
                filters=MessageFilter(seq_from=1, seq_to=count + 1),
            )
            out["export"] = {"count": done["count"], "seconds": time.perf_counter() - t0}
    finally:
        archive.close()
    print(f"  export {out['export']['count']:,}: {out['export']['seconds']:.1f} s", file=sys.stderr, flush=True)
    out["export_peak_mb"] = status_mb()["VmHWM"]
    out["index_bytes"] = dir_bytes(path / "index")
    out["state_bytes"] = sum(p.stat().st_size for p in path.glob("state.sqlite3*"))
    out["text_bytes"] = (path / "texts.txt").stat().st_size
    out["load_after"] = os.getloadavg()[0]
    return out


# --- reporting ------------------------------------------------------------------------------
def miss(value: float, limit: float) -> str:
    """ "met", or by how much the value is over its limit (absolute and as a multiple)."""
    over = f"{value - limit:,.2f}" if limit < 10 else f"{value - limit:,.0f}"
    return "met" if value <= limit else f"**missed** by {over} ({value / limit:.2f}x the limit)"


def page_totals(m: dict[str, Any]) -> dict[tuple[str, str], float]:
    """(selection, page) → the sum of the p50s of the page's calls."""
    totals: dict[tuple[str, str], float] = {}
    for p in m["pages"]:
        key = (p.get("selection", "all time"), p["page"])
        totals[key] = totals.get(key, 0.0) + p["p50"]
    return totals


def report(results: dict[int, tuple[dict[str, Any], dict[str, Any]]]) -> None:
    sizes = sorted(results)
    for size in sizes:
        b, m = results[size]
        n = m["total"]
        print(f"\n### {n:,} messages (load {m['load_before']:.1f} → {m['load_after']:.1f}; 2 cores)\n")
        print(
            f"build {b['seconds']:,.0f} s ({b['written'] / b['seconds']:,.0f} msgs/s, "
            f"load {b['load']:.1f} at the end); "
            f"index {m['index_bytes'] / n:,.0f} bytes/message ({m['index_bytes'] / 2**30:,.2f} GiB), "
            f"state.sqlite3 {m['state_bytes'] / n:,.0f} bytes/message, plain text {m['text_bytes'] / n:,.0f} "
            f"bytes/message; export of {m['export']['count']:,} messages (CSV) {m['export']['seconds']:.1f} s\n"
        )
        print("| search (top 20, highlights) | hits | p50 ms | p95 ms | grep -F -c ms | p50 / grep | p95 < 100 ms |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for s in m["searches"]:
            ratio = s["p50"] / s["grep_ms"] if s["grep_ms"] == s["grep_ms"] else float("nan")
            print(
                f"| {s['case']}: `{s['query'] or '(empty)'}` | {s['hits']:,} | {s['p50']:.1f} | {s['p95']:.1f} | "
                f"{s['grep_ms']:.0f} | {ratio:.3f} | {miss(s['p95'], SEARCH_P95_MS)} |"
            )
        print("\n| selection | page | report | p50 ms | max ms |\n| --- | --- | --- | ---: | ---: |")
        for p in m["pages"]:
            selection = p.get("selection", "all time")
            print(f"| {selection} | {p['page']} | {p['report']} | {p['p50']:,.1f} | {p['max']:,.1f} |")
        print("\n| selection | page (all its calls) | total of p50s ms | < 1 s |\n| --- | --- | ---: | --- |")
        for (selection, page), ms in page_totals(m).items():
            print(f"| {selection} | {page} | {ms:,.0f} | {miss(ms, BUDGET_MS)} |")
    print("\n### growth\n")
    print(
        "| messages | build msgs/s | index bytes/msg | search p95 worst ms | statistics page ms (7 days) "
        "| service page ms (7 days) | conversations page ms (one employee) | export 100k s "
        "| reader RSS MiB, store open (peak) | reader heap / mapped index MiB | builder RSS MiB (peak) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in sizes:
        b, m = results[size]
        n = m["total"]
        totals = page_totals(m)

        def page(name: str) -> str:
            week = totals.get(("last 7 days", name))
            return f"{totals[('all time', name)]:,.0f}" + (f" ({week:,.0f})" if week is not None else "")

        print(
            f"| {n:,} | {b['written'] / b['seconds']:,.0f} | {m['index_bytes'] / n:,.0f} | "
            f"{max(s['p95'] for s in m['searches']):.1f} | {page('statistics')} | {page('service')} | "
            f"{totals[('all time', 'conversations')]:,.0f} | "
            f"{m['export']['seconds']:.1f} | {m['rss_mb']:,.0f} ({m['peak_mb']:,.0f}) | "
            f"{m.get('anon_mb', float('nan')):,.0f} / {m.get('file_mb', float('nan')):,.0f} | "
            f"{b['builder_rss_mb']:,.0f} ({b['builder_peak_mb']:,.0f}) |"
        )
    for size in sizes:  # one build's own growth: its RSS after a tenth of the messages and at the end
        rss_at = results[size][0].get("rss_at", {})
        tenth, end = rss_at.get(str(size // 10)), rss_at.get(str(size))
        if tenth and end:
            print(
                f"\nbuilder RSS within the {size:,} build: {tenth:,.0f} MiB at {size // 10:,}, {end:,.0f} MiB at "
                f"{size:,}, x{end / tenth:.2f} (target ≤ {RSS_GROWTH}x: {miss(end / tenth, RSS_GROWTH)})"
            )
    for small, large in zip(sizes, sizes[1:]):
        if large < 10 * small:
            continue
        for who, a, c in (
            ("reader", results[small][1]["rss_mb"], results[large][1]["rss_mb"]),
            ("builder", results[small][0]["builder_rss_mb"], results[large][0]["builder_rss_mb"]),
            ("builder peak", results[small][0]["builder_peak_mb"], results[large][0]["builder_peak_mb"]),
        ):
            print(
                f"\n{who} RSS {small:,} → {large:,}: {a:,.0f} → {c:,.0f} MiB, x{c / a:.2f} "
                f"(target ≤ {RSS_GROWTH}x: {miss(c / a, RSS_GROWTH)})"
            )


def child(flag: str, n: int, path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Runs a build or a measurement in a fresh process (so each RSS is that process's alone)."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as result:
        cmd = [sys.executable, __file__, flag, "--messages", str(n), "--data", str(path), "--runs", str(args.runs)]
        cmd += ["--workers", str(args.workers), "--json", result.name]
        subprocess.run(cmd, check=True)
        return json.loads(Path(result.name).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--sizes", help="comma-separated sizes, e.g. 100000,1000000,10000000")
    parser.add_argument("--data", type=Path, help="the archive's directory (one size only)")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=1, help="processes preparing batches for the writer")
    parser.add_argument("--build-only", action="store_true", help="build (or resume) and stop")
    parser.add_argument("--report-only", action="store_true", help="print the tables of the last measurements")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.messages]
    if args.data and len(sizes) > 1:
        parser.error("--data names one archive: use it with --messages")

    def where(n: int) -> Path:
        return args.data or REPO / "bench" / "out" / f"scale-{n}"

    if args.build_only or args.measure_only:
        n, path = sizes[0], where(sizes[0])
        if args.build_only:
            figures = build(path, n, workers=args.workers)
        else:
            figures = measure(path, args.runs)
            (path / "measure.json").write_text(json.dumps(figures) + "\n")
        if args.json:
            args.json.write_text(json.dumps(figures))
        return
    results = {}
    for n in sizes:
        path = where(n)
        if args.report_only:  # the last measurement, of a complete or a partly built archive
            written = read_log(path / "build.jsonl", n)
            built = {
                "messages": n,
                "written": written[-1]["checkpoint"] if written else 0,
                "seconds": sum(r["seconds"] for r in written),
                "builder_rss_mb": written[-1]["rss_mb"] if written else None,
                "builder_peak_mb": max((r["peak_mb"] for r in written), default=None),
                "builder_anon_mb": written[-1].get("anon_mb") if written else None,
                "load": float("nan"),
            }
            if (path / "complete").exists():
                built = json.loads((path / "complete").read_text())
            if (path / "measure.json").exists():
                results[n] = (built, json.loads((path / "measure.json").read_text()))
            continue
        if not (path / "complete").exists():
            print(f"building {n:,} messages in {path}", file=sys.stderr, flush=True)
            child("--build-only", n, path, args)
        built = json.loads((path / "complete").read_text())
        print(f"measuring {n:,} messages in {path}", file=sys.stderr, flush=True)
        results[n] = (built, child("--measure-only", n, path, args))
    report(results)


if __name__ == "__main__":
    main()
