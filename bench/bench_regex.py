"""Rule regexes on RE2: what the linear-time guarantee costs, and what it prevents.

Measures, in the same run:
- ``RuleEngine.match_batch`` with 1,000 keyword rules plus 20 regex rules, the regexes on RE2
  (the product) and on Python's ``re`` (the previous engine), in messages per CPU-second;
- the catastrophic rule ``(a|aa)+b`` on adversarial messages of growing length: RE2 at 40
  characters and at the 1,000,000-character message limit, Python's ``re`` at lengths it can
  still finish (its time grows ~1.6x per character; 40 characters is extrapolated).

Usage: .venv/bin/python bench/bench_regex.py [--messages 20000]
One core; rates per CPU-second of this process (``time.process_time``).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzers.rules.engine import RuleEngine  # noqa: E402
from analyzers.rules.model import Rule  # noqa: E402
from analyzers.rules.regex import compile_rule_regex  # noqa: E402
from bench.bench_rules import best_of, make_messages, make_rules, per_second  # noqa: E402

# Patterns rule editors write: phone numbers, accounts, amounts, contact evasions.
PATTERNS = [
    "\\d{3}-\\d{4}",
    "1[3-9]\\d{9}",
    "(微信|vx|VX)号?[:：]?\\w{5,20}",
    "转.{0,10}账户",
    "\\d+万",
    "(加|\\+)我.{0,4}(微信|QQ)",
    "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[a-z]{2,}",
    "返[0-9]{1,2}个?点",
    "私下.{0,6}(转|给)",
    "卡号.{0,3}\\d{12,19}",
] * 2


class PythonRePattern:
    """The previous engine: the same pattern on Python's backtracking ``re``."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled = re.compile(pattern)

    def spans(self, text: str) -> list[tuple[int, int]]:
        return [(m.start(), m.end()) for m in self._compiled.finditer(text) if m.end() > m.start()]


def engine_with_regexes(rng: random.Random) -> tuple[RuleEngine, list[Rule]]:
    rules = make_rules(1000, rng)
    regex_rules = [Rule.from_dict({"name": f"regex {i}", "id": f"x{i}", "regex": [p]}) for i, p in enumerate(PATTERNS)]
    return RuleEngine(rules + regex_rules), rules


def use_python_re(engine: RuleEngine) -> None:
    for compiled in engine._compiled:
        compiled.regexes = [PythonRePattern(p.pattern) for p in compiled.regexes]  # type: ignore[misc]


def throughput(n_messages: int) -> None:
    rng = random.Random(7)
    engine, rules = engine_with_regexes(rng)
    messages = make_messages(n_messages, rules, rng)
    for i in range(0, len(messages), 50):  # some messages the regexes do match
        messages[i].text += f" 电话138{i:08d}"[:14] + " 加我微信abc12345"
    re2_seconds = best_of(lambda: engine.match_batch(messages))
    re2_hits = len(engine.match_batch(messages))
    python_engine, _ = engine_with_regexes(random.Random(7))
    use_python_re(python_engine)
    re_seconds = best_of(lambda: python_engine.match_batch(messages))
    re_hits = len(python_engine.match_batch(messages))
    print(f"messages: {n_messages}; 1,000 keyword rules + {len(PATTERNS)} regex rules; msgs per CPU-second, best of 3")
    print("| regex engine | msgs/s | violations |\n|---|---:|---:|")
    print(f"| RE2 (google-re2) | {per_second(n_messages, re2_seconds):,.0f} | {re2_hits} |")
    print(f"| Python re (before) | {per_second(n_messages, re_seconds):,.0f} | {re_hits} |")


def cpu_seconds(fn: object) -> float:
    started = time.process_time()
    fn()  # type: ignore[operator]
    return time.process_time() - started


def adversarial() -> None:
    pattern = "(a|aa)+b"
    re2 = compile_rule_regex(pattern)
    python = re.compile(pattern)
    print(f"\ncatastrophic rule {pattern!r} on 'a' * n (CPU seconds)")
    print("| n | RE2 | Python re |\n|---:|---:|---:|")
    last = 0.0
    for n in (20, 24, 28):
        text = "a" * n
        python_time = cpu_seconds(lambda: python.search(text))  # noqa: B023 (called at once)
        print(f"| {n} | {cpu_seconds(lambda: re2.spans(text)):.6f} | {python_time:.3f} |")  # noqa: B023
        last = python_time
    growth = 1.618  # the number of ways to split n a's into a and aa grows like the golden ratio
    print(f"| 40 | {cpu_seconds(lambda: re2.spans('a' * 40)):.6f} | ~{last * growth**12:,.0f} (extrapolated) |")
    print(f"| 1,000,000 | {cpu_seconds(lambda: re2.spans('a' * 1_000_000)):.3f} | never |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000)
    args = parser.parse_args()
    throughput(args.messages)
    adversarial()


if __name__ == "__main__":
    main()
