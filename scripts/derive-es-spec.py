#!/usr/bin/env python3
"""Derives tests/es_spec_data/elasticsearch-openapi-subset.json from Elasticsearch's published
OpenAPI document: the request bodies of the endpoints the backend calls and the component
schemas the tests validate against, with every schema they reference (transitively).

The full document (4 MB) is read only here, at generation time; the tests read the subset.
Descriptions, examples and external docs are dropped: they are not used for validation.

    python scripts/derive-es-spec.py /path/to/elasticsearch-openapi.json

Source: https://github.com/elastic/elasticsearch-specification
(output/openapi/elasticsearch-openapi.json), licensed under the Apache License 2.0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "tests" / "es_spec_data" / "elasticsearch-openapi-subset.json"
SOURCE = {
    "repository": "https://github.com/elastic/elasticsearch-specification",
    "file": "output/openapi/elasticsearch-openapi.json",
    "commit": "5fda598",
    "date": "2025-03-12",
    "elasticsearch": "8.x/9.0",
    "licence": "Apache License 2.0 (https://github.com/elastic/elasticsearch-specification/blob/main/LICENSE)",
    "derived_by": "scripts/derive-es-spec.py",
}

# (path, method) of every endpoint whose request body the backend sends.
ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("/_bulk", "post"),
    ("/{index}/_search", "post"),
    ("/_search", "post"),
    ("/{index}/_count", "post"),
    ("/{index}/_delete_by_query", "post"),
    ("/{index}/_update/{id}", "post"),
    ("/_index_template/{name}", "put"),
    ("/_ilm/policy/{policy}", "put"),
    ("/_reindex", "post"),
    ("/_aliases", "post"),
    ("/{index}", "put"),
    ("/{index}/_settings", "put"),
    ("/_pit", "delete"),
    ("/_security/role/{name}", "put"),
    ("/_security/api_key", "post"),
)
# Component schemas the tests validate against directly.
COMPONENTS: tuple[str, ...] = (
    "_global.bulk:OperationContainer",
    "_global.bulk:UpdateAction",
    "_types.aggregations:AggregationContainer",
    "_types.mapping:TypeMapping",
    "_types.query_dsl:PercolateQuery",
    "_types.query_dsl:QueryContainer",
    "_types.analysis:Analyzer",
    "_types.analysis:Tokenizer",
    "_types.analysis:TokenFilter",
    "_types.analysis:Normalizer",
    "_types:SortOrder",
    "_types:SortMode",
    "_types:NestedSortValue",
    "_types:FieldValue",
    "_types.query_dsl:QueryBase",
)
DROPPED_KEYS = frozenset(
    {"description", "examples", "example", "externalDocs", "x-codeSamples", "x-state", "x-metaTags"}
)
REF = "#/components/"


def strip(node: Any) -> Any:
    """The node without documentation-only keys (a property named like one is kept)."""
    if isinstance(node, list):
        return [strip(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: strip(sub) for name, sub in value.items()}
        elif key not in DROPPED_KEYS:
            out[key] = strip(value)
    return out


def refs_in(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs_in(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(refs_in(v) for v in node))
    return set()


def component(spec: dict[str, Any], ref: str) -> tuple[str, str, Any]:
    section, name = ref[len(REF) :].split("/", 1)
    return section, name, spec["components"][section][name]


def request_body_only(operation: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": operation["requestBody"]} if "requestBody" in operation else {}


def derive(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, method in ENDPOINTS:
        paths.setdefault(path, {})[method] = strip(request_body_only(spec["paths"][path][method]))
    components: dict[str, dict[str, Any]] = {"schemas": {}, "requestBodies": {}}
    pending = refs_in(paths) | {f"{REF}schemas/{name}" for name in COMPONENTS}
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        section, name, schema = component(spec, ref)
        components.setdefault(section, {})[name] = strip(schema)
        pending |= refs_in(schema) - seen
    sorted_components = {s: dict(sorted(v.items())) for s, v in components.items()}
    return {
        "openapi": spec["openapi"],
        "info": {**spec["info"], "x-chatarchive-source": SOURCE},
        "paths": paths,
        "components": sorted_components,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", type=Path, help="the published elasticsearch-openapi.json")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    try:
        spec = json.loads(args.spec.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"cannot read {args.spec}: {e}", file=sys.stderr)
        return 2
    subset = derive(spec)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(subset, ensure_ascii=False, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{args.output}: {len(subset['paths'])} paths, {len(subset['components']['schemas'])} schemas")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
