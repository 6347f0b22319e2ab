"""The import graph keeps the layers of docs/architecture.md: no top-level package imports one
above it or beside it (so there are no cycles), and imports inside functions are reserved
for optional heavy dependencies.

To add a top-level package, add it to ``LAYERS`` at the height it belongs (and to the
table in docs/architecture.md); a package missing from ``LAYERS`` fails the test.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO

# Bottom to top. A package may import only packages in a LOWER layer; packages sharing a
# layer are independent of each other.
LAYERS: list[tuple[str, ...]] = [
    ("core",),  # models, errors, settings, the directory, the clock: imports nothing of ours
    ("analyzers",),  # ingest-time text analysis and the rule engine: computation on core types
    ("store",),  # the Store Protocol and its two backends (they index with the analyzers)
    ("compliance",),  # accounts, scope, audit trail, integrity, retention, consent, rule versions
    ("wecom",),  # WeCom's server APIs: client, directory sync, consent, callbacks, reviewer alerts (audited)
    ("indexer",),  # the ingest path: source → decrypt → normalize → analyze → consent → match → store
    ("reports",),  # read-side figures computed with store aggregations
    ("chatarchive",),  # front ends: the CLI, Archive, the scheduler
    ("dashboard",),  # the Streamlit front end (launched by `chatarchive serve`, never imported by it)
    ("bench",),  # benchmarks may use everything
]
RANK = {package: height for height, layer in enumerate(LAYERS) for package in layer}
NOT_PACKAGES = {"tests", "scripts", "docs", "mappings"}  # no product code, or not importable


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted
    line: int
    in_function: bool
    optional: bool  # marked "# optional: why" on its line or the line above


def top_level_packages(root: Path) -> list[str]:
    return sorted(p.parent.name for p in root.glob("*/__init__.py") if p.parent.name not in NOT_PACKAGES)


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, root: Path) -> list[Import]:
    """Every absolute import in a file (relative ones stay inside their package), with
    whether it runs inside a function. ``if TYPE_CHECKING:`` blocks count as imports too:
    a type must not name an upper layer either."""
    module = _module_name(path, root)
    text = path.read_text(encoding="utf-8")
    lines = ["", *text.splitlines()]
    found: list[Import] = []

    def optional(line: int) -> bool:
        return "# optional" in lines[line] or "# optional" in lines[line - 1]

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                marked = optional(child.lineno)
                found.extend(Import(module, a.name, child.lineno, in_function, marked) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append(Import(module, child.module, child.lineno, in_function, optional(child.lineno)))
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, nested)

    visit(ast.parse(text), False)
    return found


def package_files(root: Path, packages: list[str]) -> list[Path]:
    return sorted(f for p in packages for f in (root / p).rglob("*.py"))


def layer_violations(root: Path) -> list[str]:
    """``module:line imports target`` for every import of a package not strictly below."""
    packages = top_level_packages(root)
    problems = []
    for path in package_files(root, [p for p in packages if p in RANK]):
        for imp in imports_of(path, root):
            source, target = imp.module.split(".")[0], imp.target.split(".")[0]
            if target in RANK and source != target and RANK[target] >= RANK[source]:
                problems.append(f"{imp.module}:{imp.line} imports {imp.target} ({source} may not import {target})")
    return problems


def function_level_imports(root: Path) -> list[str]:
    """Imports of our own packages inside functions: they hide cycles and the real graph.
    Allowed only when marked ``# optional: why`` (a backend whose dependency is optional).
    Benchmarks are scripts and exempt."""
    ours = set(RANK)
    product = [p for p in top_level_packages(root) if p in RANK and p != "bench"]
    return [
        f"{imp.module}:{imp.line} imports {imp.target} inside a function"
        for path in package_files(root, product)
        for imp in imports_of(path, root)
        if imp.in_function and not imp.optional and imp.target.split(".")[0] in ours
    ]


def cycles(root: Path) -> list[list[str]]:
    """Cycles in the package graph, found by depth-first search (brute force, small graph)."""
    edges: dict[str, set[str]] = {}
    for path in package_files(root, top_level_packages(root)):
        for imp in imports_of(path, root):
            source, target = imp.module.split(".")[0], imp.target.split(".")[0]
            if target in RANK and source != target:
                edges.setdefault(source, set()).add(target)
    found: list[list[str]] = []

    def walk(node: str, trail: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt == trail[0]:
                found.append([*trail, nxt])
            elif nxt not in trail and nxt > trail[0]:  # each cycle once: from its smallest member
                walk(nxt, [*trail, nxt])

    for start in sorted(edges):
        walk(start, [start])
    return found


def test_every_top_level_package_has_a_layer() -> None:
    """GIVEN the repository's top-level packages WHEN compared with LAYERS THEN each has a layer."""
    missing = [p for p in top_level_packages(REPO) if p not in RANK]
    assert not missing, f"add {missing} to LAYERS in tests/test_layers.py (and docs/architecture.md)"


def test_nothing_imports_upward_or_sideways() -> None:
    """GIVEN the product code WHEN every import is read THEN each names a package in a lower layer."""
    assert layer_violations(REPO) == []


def test_the_package_graph_has_no_cycles() -> None:
    """GIVEN the product code WHEN the package import graph is searched THEN it has no cycle."""
    assert cycles(REPO) == []


def test_our_packages_are_imported_at_module_level() -> None:
    """GIVEN the product code WHEN imports inside functions are listed THEN none imports our own code."""
    assert function_level_imports(REPO) == []


def test_core_imports_nothing_of_ours() -> None:
    """GIVEN core/ WHEN its imports are read THEN they are the standard library, third parties or core."""
    ours = set(RANK) - {"core"}
    bad = [
        f"{imp.module} imports {imp.target}"
        for path in package_files(REPO, ["core"])
        for imp in imports_of(path, REPO)
        if imp.target.split(".")[0] in ours
    ]
    assert bad == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"core/__init__.py": "", "core/m.py": "from store.base import Store\n", "store/__init__.py": ""}, 1),
        ({"core/__init__.py": "", "store/__init__.py": "", "store/m.py": "from core import models\n"}, 0),
        (
            {
                "store/__init__.py": "",
                "store/m.py": "if TYPE_CHECKING:\n    import indexer.pipeline\n",
                "indexer/__init__.py": "",
            },
            1,
        ),
        (
            {
                "reports/__init__.py": "",
                "reports/m.py": "def f():\n    import dashboard\n",
                "dashboard/__init__.py": "",
            },
            1,
        ),
    ],
    ids=["upward", "downward", "type-only-upward", "in-function-upward"],
)
def test_the_checker_catches_a_planted_upward_import(tmp_path: Path, files: dict[str, str], expected: int) -> None:
    """GIVEN a tiny tree with a planted import WHEN checked THEN upward ones (even type-only or
    inside a function) are reported and downward ones are not."""
    assert len(layer_violations(_write(tmp_path, files))) == expected


def test_the_cycle_search_finds_a_planted_cycle(tmp_path: Path) -> None:
    """GIVEN two packages importing each other WHEN searched THEN the cycle is found once."""
    root = _write(tmp_path, {"store/__init__.py": "import indexer\n", "indexer/__init__.py": "import store\n"})
    assert cycles(root) == [["indexer", "store", "indexer"]]


def test_function_level_imports_of_our_code_are_found(tmp_path: Path) -> None:
    """GIVEN a function importing our code, a marked optional one and a third party WHEN checked
    THEN only the unmarked import of ours is reported."""
    body = "def f():\n    import core\n    import openpyxl\n    # optional: a backend\n    import store.x\n"
    root = _write(tmp_path, {"store/__init__.py": "", "store/m.py": body})
    assert function_level_imports(root) == ["store.m:2 imports core inside a function"]
