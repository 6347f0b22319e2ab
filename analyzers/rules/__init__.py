"""Sensitive-word rules: the rule language, evasion-resistant matching, percolation and testing.

``RuleEngine`` (engine) matches messages; ``files`` reads and writes rule files.
(``compliance.rulestore`` keeps rules as versioned data; ``reports.backtest`` replays a rule over stored history.)
"""

from __future__ import annotations

from analyzers.rules.engine import RuleEngine
from analyzers.rules.model import Keyword, Near, Rule
from analyzers.rules.normalize import normalize_for_rules

__all__ = ["Keyword", "Near", "Rule", "RuleEngine", "normalize_for_rules"]
