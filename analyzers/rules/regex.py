"""Rule regular expressions on RE2: matching time is linear in the message length.

Python's ``re`` backtracks without a time limit, so one rule such as ``(a|aa)+b`` could
hold a pull or the dashboard for minutes on a crafted 25-character message, and no shape
check catches every such pattern. RE2 (``google-re2``) runs any pattern it accepts in
time linear in the text, so no budget is needed and nothing has to be killed.

RE2 lacks backreferences, look-arounds and conditional groups; a rule using them is
refused at validation with a message that names the feature (docs/rules.md).
"""

from __future__ import annotations

import logging
import re
from re import _constants as sre_constants  # type: ignore[attr-defined]  # Python's parser: names what RE2 lacks
from re import _parser as sre_parse  # type: ignore[attr-defined]  # (private, so not in the type stubs)

import re2

from core.errors import RuleError

logger = logging.getLogger(__name__)

MAX_REGEX_LENGTH = 200
# RE2 compiles to an automaton within this memory; a pattern that needs more is refused.
MAX_PROGRAM_MEMORY = 8 << 20

_UNSUPPORTED = {
    sre_constants.GROUPREF: "backreferences (\\1, (?P=name))",
    sre_constants.ASSERT: "look-arounds ((?=...), (?<=...))",
    sre_constants.ASSERT_NOT: "look-arounds ((?!...), (?<!...))",
    sre_constants.GROUPREF_EXISTS: "conditional groups ((?(1)...))",
    getattr(sre_constants, "ATOMIC_GROUP", None): "atomic groups ((?>...))",
    getattr(sre_constants, "POSSESSIVE_REPEAT", None): "possessive repeats (a*+)",
}
_UNSUPPORTED.pop(None, None)


class RulePattern:
    """A validated rule regex. ``spans`` gives its non-overlapping matches as character
    offsets in the text, as Python's ``re`` gives them."""

    def __init__(self, pattern: str, compiled: re2._Regexp) -> None:
        self.pattern = pattern
        self._compiled = compiled
        self._prefilter: RegexPrefilter | None = None
        self._index = -1

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Non-empty match spans, in order."""
        if self._prefilter is not None and self._index not in self._prefilter.matching(text):
            return []
        return [(m.start(), m.end()) for m in self._compiled.finditer(text) if m.end() > m.start()]


class RegexPrefilter:
    """One RE2 set scan of a text for all of an engine's rule regexes.

    A single ``re2`` call costs more than Python's ``re`` failing fast on a literal prefix, so
    matching each of 20 patterns separately on every message made matching slower; one set
    scan answers "which patterns match at all" for all of them, and only those are run for
    their spans. The last text's answer is kept: the engine asks for each pattern in turn on
    the same text object."""

    def __init__(self, patterns: list[RulePattern]) -> None:
        self._set = re2.Set.SearchSet(_set_options())
        indices = [self._set.Add(pattern.pattern) for pattern in patterns]
        self._set.Compile()
        self._last: tuple[str, frozenset[int]] = ("", frozenset())
        for index, pattern in zip(indices, patterns):
            pattern._prefilter, pattern._index = self, index

    def matching(self, text: str) -> frozenset[int]:
        last = self._last  # one read of a tuple: safe when threads share the engine
        if last[0] is text:
            return last[1]
        found = frozenset(self._set.Match(text) or ())  # the binding answers None for "none match"
        self._last = (text, found)
        return found


def prefilter(patterns: list[RulePattern]) -> None:
    """Makes ``patterns`` share one set scan per text (see ``RegexPrefilter``). Patterns that
    RE2 cannot put in one set (too much memory) keep scanning one by one."""
    if len(patterns) < 2:
        return
    try:
        RegexPrefilter(patterns)
    except (re2.error, ValueError) as e:
        logger.warning("rule regexes scanned one by one (no RE2 set: %s)", e)


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # errors become RuleErrors, not lines on the server's stderr
    options.max_mem = MAX_PROGRAM_MEMORY
    return options


_OPTIONS = _options()
SET_MEMORY = 64 << 20  # all of an engine's regexes in one automaton


def _set_options() -> re2.Options:
    options = _options()
    options.max_mem = SET_MEMORY
    return options


def compile_rule_regex(pattern: object) -> RulePattern:
    """Validates and compiles one rule regex; raises ``RuleError`` (field ``regex``)."""
    if not isinstance(pattern, str) or not pattern:
        raise RuleError("entries must be non-empty strings", "regex")
    if len(pattern) > MAX_REGEX_LENGTH:
        raise RuleError(f"pattern longer than {MAX_REGEX_LENGTH} characters", "regex")
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as e:
        raise RuleError(f"invalid regular expression {pattern!r}: {e}", "regex") from None
    _refuse_unsupported(parsed, pattern)
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as e:
        reason = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        raise RuleError(f"regular expression {pattern!r} is not supported: {reason}", "regex") from None
    if compiled.match("") is not None:
        raise RuleError(f"{pattern!r} matches the empty text, so it would flag every message", "regex")
    return RulePattern(pattern, compiled)


def _refuse_unsupported(tree: sre_parse.SubPattern, pattern: str) -> None:
    """Walks Python's parse tree: a clear message for what RE2 would reject obscurely."""
    for op, av in tree:
        if op in _UNSUPPORTED:
            raise RuleError(
                f"{pattern!r}: {_UNSUPPORTED[op]} are not supported (rules use RE2, see docs/rules.md)", "regex"
            )
        for child in _children(op, av):
            _refuse_unsupported(child, pattern)


def _children(op: object, av: object) -> list[sre_parse.SubPattern]:
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
        return [av[2]]  # type: ignore[index]
    if op == sre_constants.SUBPATTERN:
        return [av[-1]]  # type: ignore[index]
    if op == sre_constants.BRANCH:
        return list(av[1])  # type: ignore[index]
    return []
