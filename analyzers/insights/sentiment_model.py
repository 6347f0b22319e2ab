"""A linear model of customer text over character n-grams (1 to 3 characters), with two heads.

The lexicon (``sentiment.py``) knows how chat is phrased (negation, questions, irony) but not
the thousands of ways customers praise or complain in their own words; this model does. Both
heads are logistic regressions trained by ``bench/train_sentiment.py`` on public data (which,
with its splits, is in docs/benchmarks.md ``## Insights``):

- polarity: log-odds that the text praises rather than complains (customer reviews);
- opinion: log-odds that the text reads like a customer's opinion (a review, a complaint in chat)
  rather than a request, an arrangement or a report (customers' and agents' turns in e-commerce
  chat, task dialogue turns, news): the gate that keeps "快递单号发一下" from being read as a
  complaint by a model of reviews.

Each n-gram's two weights are shipped in ``sentiment_model.tsv`` and held as one complex number
(polarity + opinion·1j), so scoring a message is a set of its n-grams, one dict look-up each and
one sum, all in C: a few microseconds and no download.
"""

from __future__ import annotations

from itertools import repeat
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
    def __init__(self, weights: dict[str, complex], bias: complex) -> None:
        """``weights[gram]`` and ``bias`` are polarity + opinion·1j."""
        self.weights = weights
        self.bias = bias

    def scores(self, folded_text: str) -> complex:
        """Both logits of the (lower-cased) text at once: polarity + opinion·1j, each the bias
        plus the weights of the text's distinct n-grams."""
        return sum(map(self.weights.get, ngrams(folded_text), repeat(0j)), self.bias)

    def logit(self, folded_text: str) -> float:
        """Log-odds that the text is praise rather than a complaint; near 0 when its n-grams carry
        no polarity (news-like and request-like text was trained toward 0)."""
        return self.scores(folded_text).real

    def opinion(self, folded_text: str) -> float:
        """Log-odds that the text is a customer's opinion rather than a request or a report."""
        return self.scores(folded_text).imag


def load_model(path: Path = MODEL_PATH) -> NgramModel:
    """Reads ``feature<TAB>polarity<TAB>opinion`` lines (``#`` comments; ``__bias__`` is the
    intercepts)."""
    weights: dict[str, complex] = {}
    bias = 0j
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        try:
            if len(parts) != 3 or not parts[0]:
                raise ValueError("wrong shape")
            weight = complex(float(parts[1]), float(parts[2]))
        except ValueError:
            raise ValueError(f"{path}:{number}: expected 'feature<TAB>polarity<TAB>opinion', got {line!r}") from None
        feature = parts[0]
        if feature == BIAS_KEY:
            bias = weight
        else:
            weights[feature] = weight
    return NgramModel(weights, bias)


def save_model(model: NgramModel, path: Path, header: list[str]) -> None:
    """Writes the model in the format ``load_model`` reads, features sorted so diffs stay small."""

    def number(x: float) -> str:
        return "0" if round(x, 3) == 0 else f"{x:.3f}"

    lines = [f"# {h}" for h in header] + [f"{BIAS_KEY}\t{model.bias.real:.4f}\t{model.bias.imag:.4f}"]
    lines += [f"{f}\t{number(w.real)}\t{number(w.imag)}" for f, w in sorted(model.weights.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
