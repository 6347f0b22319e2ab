"""mypy with a ratchet: the errors allowed are those in scripts/mypy-baseline.txt, and that
list can only shrink.

    python scripts/mypy_gate.py            # fails on any error not in the baseline, or a fixed one still listed
    python scripts/mypy_gate.py --shrink   # drops the fixed errors from the baseline (never adds one)

Errors are compared without line numbers (``path: message  [code]``, counted), so editing
a file does not disturb its known errors. The options (which packages, strict where) are
in pyproject.toml's ``[tool.mypy]``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "scripts" / "mypy-baseline.txt"
_LINE_REF = re.compile(r"\bline \d+")
_ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):(?P<line>\d+):(?:\d+:)? error: (?P<message>.*)$")


@dataclass(frozen=True)
class Verdict:
    new: list[str]  # errors not in the baseline: the gate fails
    fixed: list[str]  # baseline entries no longer reported: the baseline must shrink

    @property
    def ok(self) -> bool:
        return not self.new and not self.fixed


def error_key(line: str) -> tuple[str, str] | None:
    """``(key, located)`` for a mypy error line: the key without its line number."""
    match = _ERROR.match(line.strip())
    if match is None:
        return None
    message = _LINE_REF.sub("line N", match["message"])  # "already defined on line 12" moves with edits too
    key = f"{match['path']}: {message}"
    return key, f"{match['path']}:{match['line']}: {match['message']}"


def run_mypy(args: list[str]) -> list[str]:
    """mypy's error lines (notes and the summary dropped)."""
    command = [sys.executable, "-m", "mypy", "--no-error-summary", "--show-error-codes", "--no-pretty", *args]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        raise SystemExit(f"mypy failed to run:\n{done.stderr or done.stdout}")
    return [line for line in done.stdout.splitlines() if error_key(line) is not None]


def read_baseline(path: Path = BASELINE) -> Counter[str]:
    if not path.exists():
        return Counter()
    return Counter(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def compare(baseline: Counter[str], error_lines: list[str]) -> Verdict:
    current: Counter[str] = Counter()
    located: dict[str, list[str]] = {}
    for line in error_lines:
        found = error_key(line)
        if found is not None:
            current[found[0]] += 1
            located.setdefault(found[0], []).append(found[1])
    extra = current - baseline
    new = [where for key, n in sorted(extra.items()) for where in located[key][-n:]]
    fixed = sorted((baseline - current).elements())
    return Verdict(new=new, fixed=fixed)


def shrunk(baseline: Counter[str], error_lines: list[str]) -> Counter[str]:
    """The baseline without the errors that are gone; an error not already listed is never added."""
    current = Counter(key for key, _ in filter(None, (error_key(line) for line in error_lines)))
    return baseline & current


def write_baseline(baseline: Counter[str], path: Path = BASELINE) -> None:
    path.write_text("".join(f"{line}\n" for line in sorted(baseline.elements())), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shrink", action="store_true", help="remove the fixed errors from the baseline")
    args = parser.parse_args(argv)
    baseline = read_baseline()
    errors = run_mypy([])
    if args.shrink:
        smaller = shrunk(baseline, errors)
        write_baseline(smaller)
        print(f"mypy baseline: {sum(baseline.values())} → {sum(smaller.values())} errors")
        baseline = smaller
    verdict = compare(baseline, errors)
    for line in verdict.new:
        print(f"{line}   (new: not in {BASELINE.relative_to(REPO)})")
    if verdict.fixed:
        print(f"{len(verdict.fixed)} baseline error(s) are fixed: run `python scripts/mypy_gate.py --shrink`")
    print(f"mypy: {len(errors)} error(s), baseline {sum(baseline.values())}, new {len(verdict.new)}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
