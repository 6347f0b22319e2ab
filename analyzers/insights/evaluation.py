"""Accuracy, per-class precision/recall and the confusion matrix of a sentiment
classifier on labelled sentences (the test and the benchmark share it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from analyzers.insights.sentiment import LABELS


@dataclass
class LabelledSentence:
    text: str
    label: str
    domain: str = ""
    case: str = ""
    split: str = ""


def read_labelled(path: Path) -> list[LabelledSentence]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            rows.append(
                LabelledSentence(d["text"], d["label"], d.get("domain", ""), d.get("case", ""), d.get("split", ""))
            )
    return rows


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=lambda: {a: {b: 0 for b in LABELS} for a in LABELS})
    errors: list[tuple[LabelledSentence, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def precision(self, label: str) -> float:
        predicted = sum(self.confusion[t][label] for t in LABELS)
        return self.confusion[label][label] / predicted if predicted else 0.0

    def recall(self, label: str) -> float:
        actual = sum(self.confusion[label].values())
        return self.confusion[label][label] / actual if actual else 0.0

    def f1(self, label: str) -> float:
        p, r = self.precision(label), self.recall(label)
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def macro_f1(self) -> float:
        return self.macro_f1_of(LABELS)

    def macro_f1_of(self, labels: Iterable[str]) -> float:
        """The mean F1 of ``labels``: on a corpus with no neutral texts, of positive and negative
        (a neutral class with nothing to find would add a meaningless 0)."""
        chosen = list(labels)
        return sum(self.f1(x) for x in chosen) / len(chosen) if chosen else 0.0

    @property
    def neutral_rate(self) -> float:
        """The share of texts called neutral (on polar reviews, the share left undecided)."""
        return sum(self.confusion[t]["neutral"] for t in LABELS) / self.total if self.total else 0.0


def evaluate(rows: Iterable[LabelledSentence], predict: Callable[[str], str]) -> Report:
    """``predict(text) -> label``; the confusion matrix is ``confusion[true][predicted]``."""
    report = Report()
    for row in rows:
        got = predict(row.text)
        report.total += 1
        report.confusion[row.label][got] += 1
        if got == row.label:
            report.correct += 1
        else:
            report.errors.append((row, got))
    return report
