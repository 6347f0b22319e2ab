"""The starter pack on the labelled evasion set (tests/data/evasion_set.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzers.rules.files import load_starter_pack
from reports.backtest import evaluate_labelled_set

SET = Path(__file__).parent / "data" / "evasion_set.jsonl"


@pytest.fixture(scope="module")
def result() -> dict:
    rows = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 300
    return evaluate_labelled_set(rows, load_starter_pack())


def test_every_evasive_spelling_of_every_starter_keyword_is_caught(result: dict) -> None:
    """GIVEN every starter keyword written plainly, with separators, in traditional characters,
    full-width or pinyin, and personal data in its usual spellings
    THEN the starter pack catches all of them."""
    missed = [f for f in result["failures"] if f["expect"]]
    assert result["recall"] == 1.0, missed[:10]


def test_the_tricky_innocent_sentences_are_not_flagged(result: dict) -> None:
    """GIVEN sentences naive filters flag (不保本, 大麻烦, 路口交通, 来回扣款, usb, 返回，扣款 …)
    THEN no starter rule fires on them."""
    false_hits = [f for f in result["failures"] if not f["expect"]]
    assert result["false_hit_rate"] == 0.0, false_hits
