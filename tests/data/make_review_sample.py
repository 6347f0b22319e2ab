"""Writes tests/data/sentiment_reviews_sample.jsonl: a small sample of real customer reviews
for the sentiment tests (the full evaluation is bench/bench_sentiment.py).

From each review corpus of bench/sentiment_corpora.py (waimai, hotel, shopping), the first
PER_LABEL positive and PER_LABEL negative reviews of its **test** split in hash order, after
dropping every text the model saw in training; reviews longer than MAX_CHARS are left out to
keep the file small. Each line: ``{"text", "label", "domain": corpus, "split": "test"}``.
Sources and licences: tests/data/SOURCES.md. Run from the repository root:
``.venv/bin/python tests/data/make_review_sample.py --corpus-dir /path/to/ChineseNlpCorpus``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))

from bench.bench_sentiment import review_test_sets

PER_LABEL = 100
MAX_CHARS = 400
OUT = HERE / "sentiment_reviews_sample.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus-dir", type=Path, required=True)
    args = parser.parse_args()
    lines = []
    for corpus, rows in review_test_sets(args.corpus_dir, per_corpus=10**9):
        for label in ("positive", "negative"):
            chosen = [r for r in rows if r.label == label and len(r.text) <= MAX_CHARS][:PER_LABEL]
            lines += [
                json.dumps({"text": r.text, "label": label, "domain": corpus, "split": "test"}, ensure_ascii=False)
                for r in chosen
            ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} reviews -> {OUT}")


if __name__ == "__main__":
    main()
