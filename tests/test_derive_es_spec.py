"""scripts/derive-es-spec.py keeps exactly what validation needs: the listed endpoints' request
bodies and every schema they reference, transitively; documentation is dropped."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def derive_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("derive_es_spec", ROOT / "scripts" / "derive-es-spec.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def tiny_spec() -> dict[str, Any]:
    """One endpoint whose body references A → B → A (a cycle); C is referenced by nothing."""
    body = {"content": {"application/json": {"schema": ref("A")}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": ""},
        "paths": {"/_bulk": {"post": {"description": "doc", "requestBody": body, "responses": {}}}},
        "components": {
            "schemas": {
                "A": {
                    "type": "object",
                    "description": "drop me",
                    "properties": {"b": ref("B"), "description": {"type": "string"}},
                },
                "B": {"type": "array", "items": ref("A"), "examples": ["x"]},
                "C": {"type": "string"},
            },
            "requestBodies": {},
        },
    }


def test_the_subset_is_the_reference_closure_without_documentation(monkeypatch: Any) -> None:
    """GIVEN a spec with a reference cycle and an unreferenced schema WHEN derived THEN the subset has the endpoint's
    body and A and B (not C), no descriptions or examples, but a property that is named "description" stays."""
    module = derive_module()
    monkeypatch.setattr(module, "ENDPOINTS", (("/_bulk", "post"),))
    monkeypatch.setattr(module, "COMPONENTS", ())
    subset = module.derive(tiny_spec())
    assert set(subset["components"]["schemas"]) == {"A", "B"}
    assert subset["paths"] == {
        "/_bulk": {"post": {"requestBody": {"content": {"application/json": {"schema": ref("A")}}}}}
    }
    assert "description" not in subset["components"]["schemas"]["A"]
    assert subset["components"]["schemas"]["A"]["properties"]["description"] == {"type": "string"}
    assert "examples" not in subset["components"]["schemas"]["B"]
    assert subset["info"]["x-chatarchive-source"]["licence"].startswith("Apache License 2.0")


def test_the_committed_subset_names_its_source_and_covers_every_listed_endpoint() -> None:
    module = derive_module()
    subset = json.loads(
        (ROOT / "tests" / "es_spec_data" / "elasticsearch-openapi-subset.json").read_text(encoding="utf-8")
    )
    assert subset["info"]["x-chatarchive-source"] == module.SOURCE
    for path, method in module.ENDPOINTS:
        assert method in subset["paths"][path], f"{method} {path} is missing: regenerate the subset"
    assert set(module.COMPONENTS) <= set(subset["components"]["schemas"])
