"""A linear model of review polarity over character n-grams (1 to 3 characters).

The lexicon (``sentiment.py``) knows how chat is phrased (negation, questions, irony) but not
the thousands of ways customers praise or complain in their own words; this model does. It is
logistic regression trained by ``bench/train_sentiment.py`` on public review corpora (which,
with their splits, are in docs/benchmarks.md ``## Insights``) and shipped as one weight per
n-gram in ``sentiment_model.tsv``: scoring a message is a set of its n-grams and one dict
look-up each, a few microseconds and no download.
"""

from __future__ import annotations

from operator import add
from pathlib import Path

MODEL_PATH = Path(__file__).parent / "sentiment_model.tsv"
BIAS_KEY = "__bias__"  # longer than any feature (1-3 characters), so it never collides


def ngrams(text: str) -> set[str]:
    """The model's features of ``text``: its distinct characters, bigrams and trigrams
    (training and scoring share this, so they always agree)."""
    bigrams = list(map(add, text, text[1:]))  # map/add run in C: ingest calls this per message
    grams = set(text)
    grams.update(bigrams)
    grams.update(map(add, bigrams, text[2:]))
    return grams


class NgramModel:
    def __init__(self, weights: dict[str, float], bias: float) -> None:
        self.weights = weights
        self.bias = bias

    def logit(self, folded_text: str) -> float:
        """Log-odds that the (lower-cased) text is praise rather than a complaint; near 0 when
        its n-grams carry no polarity (news-like or logistics text was trained toward 0)."""
        return self.evidence(folded_text)[0]

    def evidence(self, folded_text: str) -> tuple[float, float]:
        """The logit, and the largest single n-gram weight in it (by size): a review's verdict
        rests on a few strong words ("难吃", "好评"), a logistics message's logit on many weak ones."""
        found = [w for w in map(self.weights.get, ngrams(folded_text)) if w is not None]
        if not found:
            return self.bias, 0.0
        return self.bias + sum(found), max(max(found), -min(found))


def load_model(path: Path = MODEL_PATH) -> NgramModel:
    """Reads ``feature<TAB>weight`` lines (``#`` comments; ``__bias__`` is the intercept)."""
    weights: dict[str, float] = {}
    bias = 0.0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        feature, _, value = line.rpartition("\t")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"{path}:{number}: expected 'feature<TAB>weight', got {line!r}") from None
        if not feature:
            raise ValueError(f"{path}:{number}: expected 'feature<TAB>weight', got {line!r}")
        if feature == BIAS_KEY:
            bias = weight
        else:
            weights[feature] = weight
    return NgramModel(weights, bias)


def save_model(model: NgramModel, path: Path, header: list[str]) -> None:
    """Writes the model in the format ``load_model`` reads, features sorted so diffs stay small."""
    lines = [f"# {h}" for h in header] + [f"{BIAS_KEY}\t{model.bias:.4f}"]
    lines += [f"{f}\t{w:.3f}" for f, w in sorted(model.weights.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
