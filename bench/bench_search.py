"""Search latency of the embedded store at 100k and 1M messages, highlights included.

Builds a store of N realistic Chinese chat messages (the simulator's phrase grammar via
tests.conformance.corpus.Factory; no encryption involved), with a rare word and a rare
phrase planted in 1 of 10,000 messages, then measures p50/p95 of ``store.search`` (top 20,
highlights on) for rare and common words and phrases, newest first and by relevance,
plus "all messages, newest first". Peer measured in the same run: ``grep -c -F`` over the
same texts in a plain file (a brute-force scan, no ranking, no sorting, no highlights).
Also: build time, index size per message on disk.

    .venv/bin/python bench/bench_search.py --messages 100000 1000000 --runs 40

Stores are kept under bench/out/search-N (reused when complete; --rebuild to force).
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.models import ALL, Batch, SearchRequest  # noqa: E402
from store.embedded import EmbeddedStore  # noqa: E402
from tests.conformance.corpus import BASE_MS, CUSTOMERS, EMPLOYEES, Factory  # noqa: E402

RARE_WORD = "返点"
RARE_PHRASE = "私下转账给我"
PLANT_EVERY = 10_000
BATCH = 20_000
PEOPLE = list(EMPLOYEES)


def build(path: Path, n: int, seed: int = 1) -> float:
    """Writes n messages to a new store at path and their texts to path/texts.txt; returns seconds."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    f = Factory(seed=seed)
    rng = random.Random(seed)
    store = EmbeddedStore(path)
    store.init()
    started = time.perf_counter()
    span_ms = 90 * 86_400_000
    with open(path / "texts.txt", "w", encoding="utf-8") as plain:
        for start in range(1, n + 1, BATCH):
            batch = Batch()
            for seq in range(start, min(n, start + BATCH - 1) + 1):
                text = f.text()
                if seq % PLANT_EVERY == 0:
                    text = f"{text}，{RARE_WORD}的事{RARE_PHRASE}"
                sender = rng.choice(PEOPLE)
                to = [rng.choice(CUSTOMERS if rng.random() < 0.6 else [p for p in PEOPLE if p != sender])]
                t = BASE_MS + seq * span_ms // n
                batch.messages.append(f.message(text, seq=seq, msgid=f"b{seq:09d}", time_ms=t, sender=sender, to=to))
                plain.write(text.replace("\n", " ") + "\n")
            batch.checkpoint = batch.messages[-1].seq
            store.write_batch(batch)
            print(f"  {batch.checkpoint:,} / {n:,} ({time.perf_counter() - started:.0f}s)", file=sys.stderr)
    seconds = time.perf_counter() - started
    store.close()
    (path / "complete").write_text(f"{n} {seconds:.1f}\n")
    return seconds


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def first_lines(path: Path, count: int) -> list[str]:
    """The first ``count`` lines of a text file, without reading the rest (texts.txt of 10M messages is ~0.5 GB)."""
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in itertools.islice(f, count)]


def common_terms(path: Path, sample: int = 20_000) -> tuple[str, str]:
    """A word and a two-character phrase that occur in roughly 5-15 % of the messages."""
    from analyzers.chinese import get_analyzer

    texts = first_lines(path / "texts.txt", sample)
    words: dict[str, int] = {}
    bigrams: dict[str, int] = {}
    for t in texts:
        for w in set(get_analyzer().words(t)):
            words[w] = words.get(w, 0) + 1
        for b in {t[i : i + 2] for i in range(len(t) - 1)}:
            if all("\u4e00" <= c <= "\u9fff" for c in b):
                bigrams[b] = bigrams.get(b, 0) + 1

    def near_ten_percent(counts: dict[str, int]) -> str:
        return min(counts, key=lambda k: abs(counts[k] / len(texts) - 0.10))

    return near_ten_percent({w: c for w, c in words.items() if len(w) >= 2}), near_ten_percent(bigrams)


def grep_ms(path: Path, needle: str, runs: int = 5) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(["grep", "-c", "-F", needle, str(path / "texts.txt")], capture_output=True, text=True)
        times.append((time.perf_counter() - t0) * 1000)
        count = int(out.stdout.strip() or 0)
    return statistics.median(times), count


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def measure(path: Path, runs: int) -> list[dict]:
    store = EmbeddedStore(path)
    store.init()
    word, bigram = common_terms(path)
    long_phrase = first_lines(path / "texts.txt", 4322)[4321][:8]
    cases = [
        ("rare word", RARE_WORD, RARE_WORD),
        ("rare phrase", f'"{RARE_PHRASE}"', RARE_PHRASE),
        ("common word", word, word),
        ("common phrase (2 chars)", f'"{bigram}"', bigram),
        ("8-char phrase", f'"{long_phrase}"', long_phrase),
        ("all messages", "", None),
    ]
    rows = []
    for label, query, needle in cases:
        for sort in ("time_desc", "relevance"):
            if query == "" and sort == "relevance":
                continue
            request = SearchRequest(query=query, sort=sort, limit=20)  # type: ignore[arg-type]
            store.search(request, scope=ALL)  # warm
            times, took = [], []
            total = 0
            for _ in range(runs):
                t0 = time.perf_counter()
                result = store.search(request, scope=ALL)
                times.append((time.perf_counter() - t0) * 1000)
                took.append(result.took_ms)
                total = result.total
            g_ms, g_count = grep_ms(path, needle) if needle else (float("nan"), 0)
            rows.append(
                {
                    "case": label,
                    "query": query,
                    "sort": sort,
                    "total": total,
                    "p50": percentile(times, 50),
                    "p95": percentile(times, 95),
                    "took_p50": percentile(took, 50),
                    "grep_ms": g_ms,
                    "grep_count": g_count,
                }
            )
    store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, nargs="+", default=[100_000])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args()

    results: dict[int, list[dict]] = {}
    for n in args.messages:
        path = args.out / f"search-{n}"
        marker = path / "complete"
        if args.rebuild or not marker.exists() or int(marker.read_text().split()[0]) != n:
            print(f"building {n:,} messages in {path}", file=sys.stderr)
            build(path, n)
        build_s = float(marker.read_text().split()[1])
        index_bytes = dir_bytes(path / "index")
        state_bytes = sum(p.stat().st_size for p in path.glob("state.sqlite3*"))
        text_bytes = (path / "texts.txt").stat().st_size
        print(f"\n### {n:,} messages\n")
        print(
            f"build {build_s:.0f} s ({n / build_s:,.0f} msgs/s); index {index_bytes / n:,.0f} bytes/message "
            f"({index_bytes / 2**20:,.0f} MiB; plain text {text_bytes / n:,.0f} "
            f"bytes/message); state.sqlite3 {state_bytes / 2**20:.1f} MiB\n"
        )
        rows = measure(path, args.runs)
        results[n] = rows
        print("| query | sort | hits | p50 ms | p95 ms | grep -c ms | p50 / grep |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for r in rows:
            ratio = r["p50"] / r["grep_ms"] if r["grep_ms"] == r["grep_ms"] else float("nan")
            check = (
                ""
                if not r["grep_count"] or r["grep_count"] == r["total"] or r["case"].endswith("word")
                else " (≠ grep!)"
            )
            print(
                f"| {r['case']}: `{r['query'] or '(empty)'}` | {r['sort']} | {r['total']:,}{check} | {r['p50']:.1f} | "
                f"{r['p95']:.1f} | {r['grep_ms']:.1f} | {ratio:.2f} |"
            )
    if len(results) >= 2:
        small, large = sorted(results)[0], sorted(results)[-1]
        print(f"\n### scaling {small:,} → {large:,}\n")
        print("| query | sort | p50 small | p50 large | ratio |")
        print("| --- | --- | ---: | ---: | ---: |")
        for a, b in zip(results[small], results[large]):
            print(f"| {a['case']} | {a['sort']} | {a['p50']:.1f} | {b['p50']:.1f} | {b['p50'] / a['p50']:.2f} |")
        med_small = statistics.median(r["p50"] for r in results[small])
        med_large = statistics.median(r["p50"] for r in results[large])
        print(f"\nmedian over all cases: {med_small:.1f} ms → {med_large:.1f} ms (×{med_large / med_small:.2f})")


if __name__ == "__main__":
    main()
