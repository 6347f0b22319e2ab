"""Rule regexes on RE2: catastrophic patterns run in linear time, results equal Python's ``re``."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers.rules.engine import RuleEngine
from analyzers.rules.model import Rule
from analyzers.rules.regex import compile_rule_regex
from tests.test_rules_engine import msg

# Each takes minutes (exponential backtracking) in Python's re on the message below.
CATASTROPHIC = ["(a|aa)+b", "(a|a?)+c", "(\\d|\\d\\d)+x", "(a+)+y", "(.*a){12}z"]
ADVERSARIAL = "a" * 40


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_a_catastrophic_rule_matches_a_40_character_adversarial_message_in_under_a_second(pattern: str) -> None:
    """GIVEN an enabled rule whose regex backtracks exponentially in Python's re
    WHEN the engine matches a 40-character adversarial message (and its digit twin)
    THEN matching finishes in well under a second (RE2: linear time) and finds nothing"""
    engine = RuleEngine([Rule.from_dict({"name": "catastrophic", "regex": [pattern]})])
    started = time.process_time()
    found = engine.match_batch([msg(ADVERSARIAL, msgid="m1"), msg("1" * 40, msgid="m2")])
    assert time.process_time() - started < 1.0  # backtracking would need ~2**40 steps
    assert found == []


def test_a_megabyte_message_is_matched_in_linear_time() -> None:
    """GIVEN a catastrophic rule and a 1 MB adversarial message (the default size limit)
    WHEN the rule's regex scans it
    THEN it finishes (RE2 is linear in the text; Python's re would never return)"""
    pattern = compile_rule_regex("(a|aa)+b")
    assert pattern.spans("a" * 1_000_000) == []
    assert pattern.spans("a" * 1_000 + "b") == [(0, 1001)]


@pytest.mark.parametrize(
    "pattern,feature",
    [
        ("(a)\\1", "backreferences"),
        ("转(?=账)", "look-arounds"),
        ("(?<!不)保本", "look-arounds"),
        ("(a)?(?(1)b|c)", "conditional"),
    ],
)
def test_features_re2_lacks_are_refused_with_their_name(pattern: str, feature: str) -> None:
    """GIVEN a regex using a Python-only feature
    WHEN the rule is validated
    THEN the error names the feature and points to the rule-file docs"""
    with pytest.raises(Exception) as err:
        Rule.from_dict({"name": "x", "regex": [pattern]})
    assert feature in str(err.value) and "docs/rules.md" in str(err.value)


SAFE_PATTERNS = ["\\d{3}-\\d{4}", "a(b|c)?d+", "(ab|a)+c", "[abc]{2,3}", "b.{0,3}d", "(?i)AB", "a|bc|d"]


@settings(max_examples=300, deadline=None)
@given(pattern=st.sampled_from(SAFE_PATTERNS), text=st.text(alphabet="abcdAB-0123 ", max_size=30))
def test_re2_spans_equal_python_re_spans(pattern: str, text: str) -> None:
    """GIVEN a pattern both engines support and any short text
    WHEN RE2 and Python's re (the reference) list the non-empty matches
    THEN the spans are identical: switching engines changed no rule's hits"""
    reference = [(m.start(), m.end()) for m in re.finditer(pattern, text) if m.end() > m.start()]
    assert compile_rule_regex(pattern).spans(text) == reference


def test_spans_are_character_offsets_in_chinese_text() -> None:
    """GIVEN a Chinese message with a phone-like number
    WHEN the regex matches
    THEN the span is in characters (not UTF-8 bytes), so highlights mark the right text"""
    text = "分机号码：123-4567 谢谢"
    [(start, end)] = compile_rule_regex("\\d{3}-\\d{4}").spans(text)
    assert text[start:end] == "123-4567"


PREFILTERED = RuleEngine(
    [Rule.from_dict({"name": f"r{i}", "id": f"r{i}", "regex": [p]}) for i, p in enumerate(SAFE_PATTERNS)]
)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="abcdAB-0123 ", min_size=1, max_size=30))
def test_an_engine_with_many_regex_rules_finds_what_python_re_finds(text: str) -> None:
    """GIVEN an engine whose regex rules share one RE2 set scan per message (the prefilter)
    WHEN it matches any short text
    THEN each rule's spans equal Python's re.finditer for its pattern: the prefilter skips nothing"""
    found = {v.rule_id: sorted(tuple(s) for s in v.spans) for v in PREFILTERED.match(msg(text))}
    for i, pattern in enumerate(SAFE_PATTERNS):
        folded = text.lower()  # the engine matches regexes on the width- and case-folded text
        reference = [(m.start(), m.end()) for m in re.finditer(pattern, folded) if m.end() > m.start()]
        assert found.get(f"r{i}", []) == sorted(reference), pattern
