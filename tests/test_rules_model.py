"""The rule record: what a valid rule is, and the clear errors for invalid ones."""

from __future__ import annotations

from typing import Any

import pytest

from analyzers.rules.model import Rule, check_regex
from core.directory import Directory
from core.errors import RuleError

VALID: dict[str, Any] = {
    "name": "私下交易",
    "category": "私下交易监控",
    "severity": "high",
    "keywords": ["回扣", "返点", {"term": "大麻", "match": "word"}],
    "require": "any",
    "match": "substring",
    "exclude": ["不保本"],
    "allow": ["大麻烦"],
    "near": [{"terms": ["保证", "收益"], "within": 10}],
    "regex": ["\\d{3}-\\d{4}"],
    "behaviours": ["redpacket", "external_redpacket", "file", "card", "phone", "idcard", "bankcard", "email", "url"],
    "msgtypes": ["text"],
    "direction": "any",
    "chat_kinds": ["external", "internal", "group"],
    "scope": {"departments": [2, 5], "users": ["zhangsan"]},
    "pinyin": False,
    "enabled": True,
}

DIRECTORY = Directory.from_dict(
    {
        "departments": [
            {"id": 1, "name": "总部", "parentid": 0},
            {"id": 2, "name": "财富", "parentid": 1},
            {"id": 5, "name": "一部", "parentid": 2},
        ],
        "employees": [{"userid": "zhangsan", "name": "张三", "departments": [5]}],
    }
)


def test_the_contract_example_is_a_valid_rule_and_round_trips() -> None:
    rule = Rule.from_dict(VALID, directory=DIRECTORY)
    assert rule.keywords[2].match == "word"
    assert rule.id.startswith("r")
    again = Rule.from_dict(rule.to_dict(), directory=DIRECTORY)
    assert again.to_dict() == rule.to_dict()
    assert [k["forms"] for k in rule.normalized_keywords()] == [["回扣"], ["返点"], ["大麻"]]


def test_pinyin_keywords_expose_their_pinyin_form() -> None:
    rule = Rule.from_dict({"name": "kb", "keywords": ["回扣"], "pinyin": True})
    assert rule.normalized_keywords()[0]["forms"] == ["回扣", "huikou"]


BAD = [
    ("unknown field", {"name": "x", "keywords": ["a"], "colour": "red"}, "colour"),
    ("no name", {"keywords": ["a"]}, "name"),
    ("nothing to match", {"name": "x", "keywords": []}, "keywords"),
    ("keyword of only symbols", {"name": "x", "keywords": ["--"]}, "keywords"),
    ("bad severity", {"name": "x", "keywords": ["a"], "severity": "urgent"}, "severity"),
    ("bad require", {"name": "x", "keywords": ["a"], "require": 3}, "require"),
    ("bad require word", {"name": "x", "keywords": ["a"], "require": "most"}, "require"),
    ("bad match", {"name": "x", "keywords": [{"term": "a", "match": "fuzzy"}]}, "keywords"),
    ("unknown behaviour", {"name": "x", "behaviours": ["telepathy"]}, "behaviours"),
    ("bad direction", {"name": "x", "keywords": ["a"], "direction": "both"}, "direction"),
    ("bad chat kind", {"name": "x", "keywords": ["a"], "chat_kinds": ["private"]}, "chat_kinds"),
    ("invalid regex", {"name": "x", "regex": ["(unclosed"]}, "regex"),
    ("backreference", {"name": "x", "regex": ["(a)\\1"]}, "regex"),
    ("look-ahead", {"name": "x", "regex": ["转(?=账)"]}, "regex"),
    ("negative look-behind", {"name": "x", "regex": ["(?<!不)保本"]}, "regex"),
    ("conditional group", {"name": "x", "regex": ["(a)?(?(1)b|c)"]}, "regex"),
    ("escape RE2 lacks", {"name": "x", "regex": ["a\\Z"]}, "regex"),
    ("repeat count beyond RE2's limit", {"name": "x", "regex": ["(ab{2}){1001}"]}, "regex"),
    ("regex matching empty text", {"name": "x", "regex": ["a*"]}, "regex"),
    ("overlong regex", {"name": "x", "regex": ["a" * 300]}, "regex"),
    ("near with one term", {"name": "x", "near": [{"terms": ["a"], "within": 3}]}, "near"),
    ("near with bad within", {"name": "x", "near": [{"terms": ["a", "b"], "within": -1}]}, "near"),
    ("pinyin not a bool", {"name": "x", "keywords": ["a"], "pinyin": "yes"}, "pinyin"),
    (
        "department not in directory",
        {"name": "x", "keywords": ["a"], "scope": {"departments": [99]}},
        "scope.departments",
    ),
    ("user not in directory", {"name": "x", "keywords": ["a"], "scope": {"users": ["ghost"]}}, "scope.users"),
    ("not an object", ["name"], ""),
]


@pytest.mark.parametrize("data,field", [(d, f) for _, d, f in BAD], ids=[i for i, _, _ in BAD])
def test_invalid_rules_are_refused_naming_the_field(data: Any, field: str) -> None:
    with pytest.raises(RuleError) as err:
        Rule.from_dict(data, directory=DIRECTORY)
    assert err.value.field == field
    if field:
        assert str(err.value).startswith(field)


@pytest.mark.parametrize(
    "pattern",
    [
        "\\d{3}-\\d{4}",
        "1[3-9]\\d{9}",
        "(微信|vx)号?[:：]?\\w{5,20}",
        "a(b|c)?d+",
        "(\\d{3}-){2}\\d{4}",
        "转.{0,10}账户",
    ],
)
def test_ordinary_regexes_are_accepted(pattern: str) -> None:
    assert check_regex(pattern).pattern == pattern


def test_a_rule_with_only_behaviours_is_valid() -> None:
    assert Rule.from_dict({"name": "红包", "behaviours": ["redpacket"]}).behaviours == ["redpacket"]


def test_require_all_and_at_least_n() -> None:
    assert Rule.from_dict({"name": "x", "keywords": ["a", "b", "c"], "require": "all"}).required_count == 3
    assert Rule.from_dict({"name": "x", "keywords": ["a", "b", "c"], "require": 2}).required_count == 2
