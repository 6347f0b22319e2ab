"""Customer sentiment: accuracy on the labelled set and cost per message.

Accuracy, macro F1 and per-class precision/recall of ``analyzers.insights.sentiment`` on
``tests/data/sentiment_labelled.jsonl``, on its dev part (what the lexicon was tuned on),
its held-out part (never tuned on) and per hard case. Peers measured in the same run:
snownlp's sentiment (its bundled Naive Bayes model of product reviews; positive
probability > 0.6 positive, < 0.4 negative, else neutral) when ``snownlp`` is installed
(``pip install snownlp==0.12.3``; it is not a dependency of the product), and, for the
cost, jieba-rs segmentation of the same message (what ingest already pays per message).

    .venv/bin/python bench/bench_sentiment.py
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analyzers.chinese import get_analyzer  # noqa: E402
from analyzers.insights.evaluation import LabelledSentence, evaluate, read_labelled  # noqa: E402
from analyzers.insights.sentiment import LABELS, classify  # noqa: E402

LABELLED = REPO / "tests" / "data" / "sentiment_labelled.jsonl"


def snownlp_predict() -> Callable[[str], str] | None:
    try:
        from snownlp import SnowNLP
    except ImportError:
        return None

    def predict(text: str) -> str:
        p = SnowNLP(text).sentiments
        return "positive" if p > 0.6 else "negative" if p < 0.4 else "neutral"

    return predict


def per_message_us(fn: Callable[[str], object], texts: list[str], min_seconds: float = 1.0) -> float:
    fn(texts[0])
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < min_seconds:
        for t in texts:
            fn(t)
        n += len(texts)
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    rows = read_labelled(LABELLED)
    ours: Callable[[str], str] = lambda t: classify(t).label  # noqa: E731
    peers: list[tuple[str, Callable[[str], str]]] = [("lexicon (ours)", ours)]
    snow = snownlp_predict()
    if snow is not None:
        peers.append(("snownlp 0.12.3", snow))
    else:
        print("snownlp is not installed: no accuracy peer (pip install snownlp==0.12.3)", file=sys.stderr)
    parts: list[tuple[str, list[LabelledSentence]]] = [
        ("all", rows), ("dev (tuned on)", [r for r in rows if r.split == "dev"]),
        ("held-out", [r for r in rows if r.split == "heldout"]),
    ]
    print(f"\n{len(rows)} labelled sentences: " + ", ".join(f"{x} {sum(r.label == x for r in rows)}" for x in LABELS))
    print("\n| classifier | part | n | accuracy | macro F1 | " + " | ".join(f"{x[:3]} P / R" for x in LABELS) + " |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, predict in peers:
        for part, subset in parts:
            r = evaluate(subset, predict)
            cells = " | ".join(f"{r.precision(x):.2f} / {r.recall(x):.2f}" for x in LABELS)
            print(f"| {name} | {part} | {r.total} | {r.accuracy:.3f} | {r.macro_f1:.3f} | {cells} |")
    print("\n| classifier | " + " | ".join(sorted({r.case for r in rows})) + " |")
    print("| --- |" + " ---: |" * len({r.case for r in rows}))
    for name, predict in peers:
        by_case: dict[str, list[LabelledSentence]] = defaultdict(list)
        for r in rows:
            by_case[r.case].append(r)
        cells = " | ".join(f"{evaluate(v, predict).accuracy:.2f} ({len(v)})" for _, v in sorted(by_case.items()))
        print(f"| {name} | {cells} |")
    print("\n| cost per message | µs | ratio to jieba-rs segmentation |")
    print("| --- | ---: | ---: |")
    texts = [r.text for r in rows]
    analyzer = get_analyzer()
    seg = per_message_us(analyzer.words, texts)
    ours_us = per_message_us(classify, texts)
    print(f"| jieba-rs words (ingest already does this) | {seg:.1f} | 1.00 |")
    print(f"| lexicon sentiment (ours) | {ours_us:.1f} | {ours_us / seg:.2f} |")
    if snow is not None:
        snow_us = per_message_us(snow, texts, min_seconds=2.0)
        print(f"| snownlp sentiment | {snow_us:.1f} | {snow_us / seg:.2f} |")


if __name__ == "__main__":
    main()
