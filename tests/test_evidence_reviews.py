"""Review decisions as evidence in ordinary use: reviews made through the workflow verify, and
applying a rule retroactively again keeps a decision instead of silently resetting it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.evidence import verify_archive
from compliance.rulestore import save_rule
from core.models import ALL, ViolationFilter
from reports.backtest import apply_retroactively
from reports.review import review_violation
from store.embedded import EmbeddedStore
from tests.evidence_corpus import fill
from tests.helpers import open_test_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = open_test_store(tmp_path / "data")
    fill(s)
    yield s
    s.close()


def test_reviews_through_the_workflow_verify(store: EmbeddedStore) -> None:
    """GIVEN each status set in turn through the review workflow THEN verify passes every time."""
    for status, comment in (("confirmed", ""), ("false_positive", "a quote"), ("escalated", "to legal")):
        review_violation(store, "m4:r1", status, comment, reviewer="auditor1")
        report = verify_archive(store)
        assert report.ok, report.problems


def test_reapplying_a_rule_keeps_a_review_and_the_archive_verifies(store: EmbeddedStore) -> None:
    """GIVEN a violation found retroactively and confirmed by a reviewer WHEN the rule is applied
    retroactively again THEN the violation stays confirmed and verify passes (a reset would be a
    status without its event)."""
    rule = save_rule(store, {"name": "收益", "keywords": ["收益"]}, "alice")
    assert apply_retroactively(store, rule, ALL) == 12
    store.refresh()
    target = f"m7:{rule.id}"
    review_violation(store, target, "false_positive", "quoting the regulation", reviewer="auditor1")
    assert apply_retroactively(store, rule, ALL) == 12
    store.refresh()
    _, found = store.list_violations(ViolationFilter(rule_ids=[rule.id], msgids=["m7"]), scope=ALL)
    assert found[0].status == "false_positive" and found[0].reviewer == "auditor1"
    report = verify_archive(store)
    assert report.ok, report.problems
