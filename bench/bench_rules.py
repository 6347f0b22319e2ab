"""Rule percolation throughput: messages per second per core with 1,000 and 10,000 rules.

Measures, in the same run and on the same messages:
- the product's ``RuleEngine.match_batch`` (normalization, one automaton scan, verification
  of candidate rules, violations built);
- the naive peer ``for rule: for kw: kw in text`` (no normalization: it catches less);
- the two automaton libraries on their own (daachorse vs ahocorasick_rs, overlapping
  matches over normalized text), which is how the engine's matcher was chosen;
- the resident memory the compiled engine adds.

Usage: .venv/bin/python bench/bench_rules.py [--messages 20000] [--naive-messages 300] [--sim DIR]
One core: the loops are single-threaded Python; rates are per CPU-second of this process
(``time.process_time``), so other work on a shared machine does not distort them.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ahocorasick_rs  # noqa: E402
import daachorse  # noqa: E402

from analyzers.rules.engine import RuleEngine  # noqa: E402
from analyzers.rules.model import Rule  # noqa: E402
from analyzers.rules.normalize import normalize_fast  # noqa: E402
from core.models import Message  # noqa: E402

# Common characters of chat text, so keywords look like real two- to four-character words.
CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
    "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好"
    "应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道"
    "命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长"
    "求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色"
    "光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教"
    "速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记"
)
# Sensitive keywords are rare in ordinary chat: each holds one character from this pool,
# which the filler text of the messages never uses (hits come from planted keywords).
RARE = "".join(
    c
    for c in "贿赂赃诈骗贪腐赌毒枪械淫秽嫖娼窃盗伪劣逃税漏洗钱传销非法集资套现黑灰谣诽谤辱骂恐吓勒索"
    if c not in CHARS
)
TEMPLATES = [
    "您好，{x}的事情我们{y}了",
    "{x}，{y}，麻烦确认一下",
    "今天{x}行情{y}，您看看",
    "收到，{x}{y}明天给您回复",
    "{x}这个产品{y}，年化大概3.2%",
    "好的好的，{x}",
    "[图片] {x}{y}",
]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def make_rules(n: int, rng: random.Random) -> list[Rule]:
    rules, seen = [], set()
    for i in range(n):
        kws = []
        while len(kws) < 2:
            body = [rng.choice(CHARS) for _ in range(rng.randint(1, 3))]
            body.insert(rng.randint(0, len(body)), rng.choice(RARE))
            kw = "".join(body)
            if kw not in seen:
                seen.add(kw)
                kws.append(kw)
        data = {"name": f"rule {i}", "id": f"r{i}", "keywords": kws}
        if i % 10 == 0:
            data["allow"] = [kws[0] + rng.choice(CHARS)]
        if i % 25 == 0:
            data["keywords"] = [{"term": kws[0], "match": "word"}, kws[1]]
        rules.append(Rule.from_dict(data))
    return rules


def make_messages(n: int, rules: list[Rule], rng: random.Random, hit_rate: float = 0.03) -> list[Message]:
    out = []
    for i in range(n):

        def chunk() -> str:
            return "".join(rng.choice(CHARS) for _ in range(rng.randint(3, 12)))

        text = rng.choice(TEMPLATES).format(x=chunk(), y=chunk())
        if rng.random() < hit_rate:
            kw = rng.choice(rng.choice(rules).keywords).term
            if rng.random() < 0.3:
                kw = "-".join(kw)  # evasive spelling
            text = text + kw
        out.append(
            Message(
                msgid=f"m{i}",
                seq=i,
                action="send",
                msgtype="text",
                time_ms=1_700_000_000_000 + i * 1000,
                sender="zhangsan",
                sender_kind="employee",
                receivers=[],
                roomid="",
                chat_id=f"c{i % 500}",
                chat_kind="external",
                text=text,
                raw="",
            )
        )
    return out


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs, in CPU seconds of this (single-threaded) process: on
    a shared machine wall time counts the other processes too, CPU time is per core."""
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def per_second(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def bench(n_rules: int, n_messages: int, n_naive: int, rng: random.Random, starter: bool = False) -> dict[str, float]:
    rules = make_rules(n_rules, rng)
    messages = make_messages(n_messages, rules, rng)
    if starter:  # the realistic set-up: the starter pack (pinyin, personal-data detectors) on top
        from analyzers.rules.files import load_starter_pack

        rules = rules + load_starter_pack()
    gc.collect()
    before = rss_bytes()
    t = time.perf_counter()
    engine = RuleEngine(rules)
    build_s = time.perf_counter() - t
    memory = rss_bytes() - before

    engine.match_batch(messages[:500])  # warm the normalization table and the analyzer
    violations: list = []

    def run_engine() -> None:
        violations[:] = RuleEngine.match_batch(engine, messages)

    engine_s = best_of(run_engine)

    keywords = [k.term for r in rules for k in r.keywords]
    sample = messages[:n_naive]

    def run_naive() -> None:
        for m in sample:
            for r in rules:
                for kw in r.keywords:
                    if kw.term in m.text:
                        break

    naive_s = best_of(run_naive, repeat=1)

    normalized = [normalize_fast(m.text) for m in messages]
    norm_s = best_of(lambda: [normalize_fast(m.text) for m in messages])
    forms = sorted({normalize_fast(k) for k in keywords})
    da = daachorse.CharwiseDoubleArrayAhoCorasick(forms)
    da_s = best_of(lambda: [da.find_overlapping(t) for t in normalized])
    ac = ahocorasick_rs.AhoCorasick(forms)
    ac_s = best_of(lambda: [ac.find_matches_as_indexes(t, overlapping=True) for t in normalized])
    return {
        "rules": f"{n_rules:,}" + (" + starter pack" if starter else ""),
        "keywords": len(keywords),
        "violations": len(violations),
        "engine": per_second(len(messages), engine_s),
        "naive": per_second(len(sample), naive_s),
        "normalize": per_second(len(messages), norm_s),
        "daachorse": per_second(len(messages), da_s),
        "ahocorasick_rs": per_second(len(messages), ac_s),
        "build_s": build_s,
        "memory_mb": memory / 1e6,
    }


def bench_simulated(sim_dir: str) -> None:
    """The starter pack on a simulated archive: throughput and recall per planted label."""
    import json

    from analyzers.rules.files import load_starter_pack
    from core.directory import Directory
    from indexer.normalize import normalize
    from reports.backtest import label_recall

    directory = Directory.from_dict(json.loads(Path(sim_dir, "org.json").read_text(encoding="utf-8")))
    with open(Path(sim_dir, "truth.jsonl"), encoding="utf-8") as f:
        messages = [normalize(line, seq=i + 1, directory=directory) for i, line in enumerate(f) if line.strip()]
    engine = RuleEngine(load_starter_pack(), directory)
    engine.match_batch(messages[:1000])  # warm-up: jieba, pypinyin, tables
    found: list = []

    def run() -> None:
        found[:] = RuleEngine.match_batch(engine, messages)

    seconds = best_of(run)
    result = label_recall(sim_dir, found)
    print(
        f"\nstarter pack on {sim_dir}: {len(messages):,} messages, {len(found):,} violations, "
        f"{per_second(len(messages), seconds):,.0f} msgs per CPU-second"
    )
    print("| label | planted | caught | recall |\n|---|---:|---:|---:|")
    for label, row in result["labels"].items():
        print(f"| {label} | {row['planted']} | {row['caught']} | {row['recall']:.3f} |")
    print(f"flagged messages without a planted label: {result['unlabelled_flagged']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--naive-messages", type=int, default=300)
    parser.add_argument("--rules", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--sim", default="", help="Also run the starter pack on a simulated archive (chatarchive simulate --out DIR)."
    )
    args = parser.parse_args()
    rng = random.Random(42)
    rows = [bench(n, args.messages, args.naive_messages, rng) for n in args.rules]
    rows.append(bench(args.rules[-1], args.messages, args.naive_messages, rng, starter=True))
    print(
        f"messages: {args.messages} (naive peer on the first {args.naive_messages}); one core; msgs per CPU-second, "
        f"best of 3; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        "| rules | keywords | RuleEngine msgs/s | naive `kw in text` msgs/s | ratio | normalize only | "
        "daachorse scan | ahocorasick_rs scan | build s | engine RSS MB | violations |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['rules']} | {r['keywords']:,} | {r['engine']:,.0f} | {r['naive']:,.0f} | "
            f"{r['engine'] / r['naive']:,.0f}x | {r['normalize']:,.0f} | {r['daachorse']:,.0f} | "
            f"{r['ahocorasick_rs']:,.0f} | {r['build_s']:.2f} | {r['memory_mb']:.1f} | {r['violations']:,} |"
        )
    if args.sim:
        bench_simulated(args.sim)


if __name__ == "__main__":
    main()
