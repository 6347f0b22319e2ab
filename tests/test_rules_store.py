"""Rules as versioned data in the (real, embedded) store; backtests and retroactive runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analyzers.rules.engine import RuleEngine
from compliance.rulestore import (
    add_exception,
    disable_rule,
    enable_rule,
    engine_from_store,
    get_rule,
    list_rules,
    rule_history,
    rules_fingerprint,
    save_rule,
)
from core.errors import BadInput, RuleError
from core.models import ALL, Batch, Message, Scope, ViolationFilter
from reports.backtest import apply_retroactively, backtest, diff_versions, label_recall
from store.embedded import EmbeddedStore
from tests.helpers import make_message

DAY = 86_400_000
T0 = 1_700_000_000_000  # 2023-11-15 06:13 Asia/Shanghai


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path / "data")
    s.init()
    yield s
    s.close()


def _message(i: int, text: str, *, day: int = 0, user: str = "zhangsan", depts: tuple[int, ...] = (5, 2, 1)) -> Message:
    return make_message(
        text, msgid=f"m{i}", seq=i, sender=user, time_ms=T0 + day * DAY + i * 1000, departments=list(depts)
    )


HISTORY = [
    _message(1, "这单成了给你回扣，老规矩"),
    _message(2, "快递费来回扣款了两次"),
    _message(3, "给你回-扣", day=1),
    _message(4, "今天天气不错", day=1),
    _message(5, "保本型存款了解一下，回扣另算", day=2, user="lisi", depts=(7, 1)),
]


@pytest.fixture
def history(store: EmbeddedStore) -> EmbeddedStore:
    store.write_batch(Batch(messages=HISTORY, checkpoint=5))
    store.refresh()
    return store


def test_every_edit_is_a_new_version_and_the_old_ones_are_kept(store: EmbeddedStore) -> None:
    """GIVEN a rule saved, edited, disabled and re-enabled
    THEN it has four versions, the current one is the last, and each old one is readable."""
    r1 = save_rule(store, {"name": "回扣", "keywords": ["回扣"]}, "alice")
    r2 = save_rule(store, {"name": "回扣", "keywords": ["回扣", "返点"]}, "bob")
    r3 = disable_rule(store, r1.id, "bob")
    r4 = enable_rule(store, r1.id, "carol")
    assert [r.version for r in (r1, r2, r3, r4)] == [1, 2, 3, 4]
    assert r1.id == r2.id == r3.id == r4.id
    assert [r.version for r in rule_history(store, r1.id)] == [1, 2, 3, 4]
    assert [k.term for k in get_rule(store, r1.id, version=1).keywords] == ["回扣"]
    current = get_rule(store, r1.id)
    assert (current.version, current.enabled, current.created_by, current.updated_by) == (4, True, "alice", "carol")
    assert not get_rule(store, r1.id, version=3).enabled


def test_saving_the_same_content_again_makes_no_new_version(store: EmbeddedStore) -> None:
    first = save_rule(store, {"name": "回扣", "keywords": ["回扣"]}, "alice")
    again = save_rule(store, {"name": "回扣", "keywords": ["回扣"]}, "bob")
    assert (again.version, again.updated_by) == (1, "alice")
    assert len(rule_history(store, first.id)) == 1
    assert enable_rule(store, first.id, "bob").version == 1  # already enabled: no change


def test_rule_changes_are_audited(store: EmbeddedStore, tmp_path: Path) -> None:
    """GIVEN rule changes made through chatarchive.actions THEN one rule_change entry each, by its author."""
    from chatarchive import actions
    from chatarchive.archive import Archive
    from compliance.audit import verify
    from core.settings import Settings

    def editor(name: str) -> Archive:
        return Archive(Settings(data=str(tmp_path)), actor=name, role="rule-editor", _store=store)

    rule = actions.save_rule(editor("alice"), {"name": "回扣", "keywords": ["回扣"]})
    actions.set_rule_enabled(editor("bob"), rule.id, False)
    entries = [e for e in store.find_records("audit") if e["action"] == "rule_change"]
    assert [(e["actor"], e["details"]["version"]) for e in entries] == [("alice", 1), ("bob", 2)]
    assert verify(store).ok


def test_names_are_unique_and_bad_rules_are_not_saved(store: EmbeddedStore) -> None:
    save_rule(store, {"name": "回扣", "keywords": ["回扣"]}, "alice")
    with pytest.raises(RuleError) as err:
        save_rule(store, {"id": "other", "name": "回扣", "keywords": ["返点"]}, "alice")
    assert err.value.field == "name"
    with pytest.raises(RuleError):
        save_rule(store, {"name": "坏规则", "regex": ["(a)\\1"]}, "alice")
    assert [r.name for r in list_rules(store)] == ["回扣"]
    with pytest.raises(BadInput):
        get_rule(store, "nope")


def test_a_false_positive_becomes_an_allow_list_phrase_in_one_step(store: EmbeddedStore) -> None:
    """GIVEN a rule that flags 保本 inside 保本型存款 (a legitimate product name)
    WHEN a reviewer adds the exception THEN the next version no longer flags it, other hits remain."""
    rule = save_rule(store, {"name": "承诺收益", "keywords": ["保本"]}, "alice")
    fp = _message(9, "保本型存款了解一下")
    assert RuleEngine([rule]).match(fp)
    fixed = add_exception(store, rule.id, "保本型存款", "reviewer1")
    assert fixed.version == 2 and fixed.allow == ["保本型存款"]
    engine = engine_from_store(store)
    assert engine.match(fp) == []
    assert engine.match(_message(10, "这个绝对保本"))


def test_the_fingerprint_changes_with_any_rule_change(store: EmbeddedStore) -> None:
    empty = rules_fingerprint(store)
    rule = save_rule(store, {"name": "回扣", "keywords": ["回扣"]}, "alice")
    one = rules_fingerprint(store)
    assert one == rules_fingerprint(store) != empty
    disable_rule(store, rule.id, "alice")
    assert rules_fingerprint(store) != one
    assert engine_from_store(store).rules == []


def test_backtest_counts_by_day_marks_samples_and_respects_scope(history: EmbeddedStore) -> None:
    rule = save_rule(history, {"name": "回扣", "keywords": ["回扣"], "allow": ["来回扣"]}, "alice")
    result = backtest(history, rule, ALL, sample=2)
    assert result["total"] == 3
    assert result["by_day"] == {"2023-11-15": 1, "2023-11-16": 1, "2023-11-17": 1}
    assert [s["msgid"] for s in result["sample"]] == ["m1", "m3"]
    assert result["sample"][1]["text"] == "给你<mark>回-扣</mark>"
    scoped = backtest(history, rule, Scope.of(departments=[2]))
    assert scoped["total"] == 2
    windowed = backtest(history, rule, ALL, time_from=T0 + DAY, time_to=T0 + 2 * DAY)
    assert windowed["total"] == 1


def test_diff_versions_shows_hits_gained_and_lost(history: EmbeddedStore) -> None:
    """GIVEN version 1 (回扣, no allow-list) and version 2 (allow 来回扣, plus 保本)
    THEN m2 (来回扣款) is lost and m5 is unchanged (hit by both)."""
    v1 = save_rule(history, {"name": "回扣", "keywords": ["回扣"]}, "alice")
    v2 = save_rule(history, {"name": "回扣", "keywords": ["回扣", "天气"], "allow": ["来回扣"]}, "alice")
    diff = diff_versions(history, v1, v2, ALL)
    assert [d["msgid"] for d in diff["lost"]] == ["m2"]
    assert [d["msgid"] for d in diff["gained"]] == ["m4"]
    assert (diff["gained_total"], diff["lost_total"]) == (1, 1)


def test_retroactive_application_stores_violations_once(history: EmbeddedStore) -> None:
    rule = save_rule(history, {"name": "回扣", "keywords": ["回扣"], "allow": ["来回扣"]}, "alice")
    assert apply_retroactively(history, rule, ALL) == 3
    assert apply_retroactively(history, rule, ALL) == 3
    history.refresh()
    total, items = history.list_violations(ViolationFilter(rule_ids=[rule.id]), scope=ALL)
    assert total == 3
    assert sorted(v.msgid for v in items) == ["m1", "m3", "m5"]


def test_label_recall_counts_per_label(tmp_path: Path) -> None:
    (tmp_path / "labels.jsonl").write_text(
        '{"msgid": "a", "labels": ["kickback"]}\n{"msgid": "b", "labels": ["kickback", "evasion"]}\n'
        '{"msgid": "c", "labels": ["phone"]}\n',
        encoding="utf-8",
    )
    violations = [
        {"msgid": "a", "rule_name": "回扣返点"},
        {"msgid": "b", "rule_name": "手机号"},
        {"msgid": "z", "rule_name": "回扣返点"},
    ]
    result = label_recall(tmp_path, violations)
    assert result["labels"]["kickback"] == {"planted": 2, "caught": 1, "recall": 0.5}
    assert result["labels"]["evasion"]["caught"] == 0
    assert result["labels"]["phone"]["caught"] == 0
    assert result["unlabelled_flagged"] == 1
