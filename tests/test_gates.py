"""The gates of ``make check`` fail on what they are meant to catch: a planted type error,
an untyped function in a strict package, a lint error, unformatted code, and an error
beyond the mypy baseline (which can only shrink)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from scripts import mypy_gate
from tests.helpers import REPO

PYPROJECT = REPO / "pyproject.toml"


def _package(root: Path, package: str, source: str) -> Path:
    (root / package).mkdir(parents=True, exist_ok=True)
    (root / package / "__init__.py").write_text("", encoding="utf-8")
    path = root / package / "planted.py"
    path.write_text(source, encoding="utf-8")
    return path


def _mypy(root: Path, path: Path) -> list[str]:
    """mypy with the project's options on one planted file (run from ``root``, so the module
    is named after its package there and the package's strictness applies)."""
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(PYPROJECT),
        "--cache-dir",
        str(root / ".cache"),
        "--no-error-summary",
        "--show-error-codes",
        str(path.relative_to(root)),
    ]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr
    return [line for line in done.stdout.splitlines() if ": error:" in line]


def _ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ruff", *args, "--config", str(PYPROJECT), "."]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("package", ["core", "reports"])
def test_a_planted_type_error_fails_mypy_in_any_package(tmp_path: Path, package: str) -> None:
    """GIVEN a function returning a str where it promises an int WHEN mypy runs THEN it reports it."""
    path = _package(tmp_path, package, 'def answer() -> int:\n    return "forty-two"\n')
    assert any("[return-value]" in line for line in _mypy(tmp_path, path))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("package", "strict"),
    [("core", True), ("store", True), ("compliance", True), ("reports", False), ("dashboard", False)],
)
def test_untyped_functions_fail_only_in_the_strict_packages(tmp_path: Path, package: str, strict: bool) -> None:
    """GIVEN an unannotated function WHEN mypy runs THEN core, store and compliance reject it, the rest accept it."""
    path = _package(tmp_path, package, "def twice(x):\n    return x * 2\n")
    errors = _mypy(tmp_path, path)
    assert any("[no-untyped-def]" in line for line in errors) is strict


def test_a_planted_lint_error_and_a_long_line_fail_ruff(tmp_path: Path) -> None:
    """GIVEN an unused import and a 121-character line WHEN ruff checks THEN both are reported."""
    (tmp_path / "planted.py").write_text("import os\n\nX = '" + "x" * 115 + "'\n", encoding="utf-8")
    done = _ruff("check", "--no-cache", cwd=tmp_path)
    assert done.returncode == 1
    assert "F401" in done.stdout and "E501" in done.stdout


def test_unformatted_code_fails_the_format_check(tmp_path: Path) -> None:
    """GIVEN code not in ruff's format WHEN format-checked THEN it fails; once formatted THEN it passes."""
    (tmp_path / "planted.py").write_text("x = {  'a':1 }\n", encoding="utf-8")
    assert _ruff("format", "--check", "--no-cache", cwd=tmp_path).returncode == 1
    assert _ruff("format", "--no-cache", cwd=tmp_path).returncode == 0
    assert _ruff("format", "--check", "--no-cache", cwd=tmp_path).returncode == 0


BASELINE = Counter({"store/a.py: Missing type arguments  [type-arg]": 2, "dashboard/b.py: Bad  [arg-type]": 1})


def test_errors_within_the_baseline_pass_even_when_lines_move() -> None:
    """GIVEN the baseline's errors at other line numbers WHEN compared THEN nothing is new or fixed."""
    lines = [
        "store/a.py:10: error: Missing type arguments  [type-arg]",
        "store/a.py:99: error: Missing type arguments  [type-arg]",
        "dashboard/b.py:5: error: Bad  [arg-type]",
    ]
    assert mypy_gate.compare(BASELINE, lines).ok


def test_an_error_beyond_the_baseline_fails_with_its_location() -> None:
    """GIVEN a third occurrence of a known error and an unknown one WHEN compared THEN both are new."""
    lines = [
        "store/a.py:1: error: Missing type arguments  [type-arg]",
        "store/a.py:2: error: Missing type arguments  [type-arg]",
        "store/a.py:3: error: Missing type arguments  [type-arg]",
        "dashboard/b.py:5: error: Bad  [arg-type]",
        "core/c.py:7: error: Incompatible return value type  [return-value]",
    ]
    verdict = mypy_gate.compare(BASELINE, lines)
    assert verdict.new == [
        "core/c.py:7: Incompatible return value type  [return-value]",
        "store/a.py:3: Missing type arguments  [type-arg]",
    ]
    assert not verdict.ok


def test_a_fixed_error_still_listed_fails_until_the_baseline_shrinks() -> None:
    """GIVEN one baseline error fixed WHEN compared THEN the gate fails; after shrinking THEN it passes."""
    lines = ["store/a.py:10: error: Missing type arguments  [type-arg]", "dashboard/b.py:5: error: Bad  [arg-type]"]
    assert mypy_gate.compare(BASELINE, lines).fixed == ["store/a.py: Missing type arguments  [type-arg]"]
    assert mypy_gate.compare(mypy_gate.shrunk(BASELINE, lines), lines).ok


def test_shrinking_never_adds_an_error() -> None:
    """GIVEN current errors outside the baseline WHEN the baseline shrinks THEN none of them is added."""
    lines = ["core/c.py:7: error: New  [misc]", "store/a.py:1: error: Missing type arguments  [type-arg]"]
    smaller = mypy_gate.shrunk(BASELINE, lines)
    assert smaller == Counter({"store/a.py: Missing type arguments  [type-arg]": 1})
    assert not mypy_gate.compare(smaller, lines).ok


def test_the_baseline_file_lists_mypy_errors_only() -> None:
    """GIVEN scripts/mypy-baseline.txt WHEN read THEN every entry is a ``path: message  [code]`` key."""
    for key in mypy_gate.read_baseline().elements():
        path, _, rest = key.partition(": ")
        assert path.endswith(".py") and (REPO / path).exists() and rest.endswith("]"), key
