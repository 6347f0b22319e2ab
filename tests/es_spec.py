"""Validation of request bodies against Elasticsearch's OpenAPI specification.

The specification's object schemas are open (``additionalProperties`` unset), so a
misspelled parameter would pass a plain validation. ``strict_components`` closes every
object schema that lists its properties and flattens ``allOf`` compositions into one
closed object first (closing the members of an ``allOf`` separately would reject the
other members' properties). ``oneOf`` becomes ``anyOf``: several variants of the spec
overlap (e.g. a string that is also a nullable string), and closed objects keep the
variants apart anyway.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

SPEC_PATH = Path("/work/shared/es-spec/elasticsearch-openapi.json")
REF_PREFIX = "#/components/schemas/"


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = schemas[schema["$ref"][len(REF_PREFIX):]]
    return schema


def _flatten_all_of(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any] | None:
    """One object schema equivalent to ``allOf`` of object schemas, or None if a member
    is not a plain object schema."""
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    open_object = False
    for member in schema["allOf"]:
        m = _resolve(member, schemas)
        if "allOf" in m:
            m = _flatten_all_of(m, schemas)
            if m is None:
                return None
        if not isinstance(m, dict) or "oneOf" in m or "anyOf" in m:
            return None
        if "properties" not in m and "additionalProperties" not in m:
            if m.get("type") != "object":
                return None
            continue  # a bare {"type": "object"} member: a subtype that adds no properties
        merged["properties"].update(m.get("properties", {}))
        merged["required"] += m.get("required", [])
        if "additionalProperties" in m:
            open_object = True
            merged["additionalProperties"] = m["additionalProperties"]
        for k in ("minProperties", "maxProperties"):
            if k in m:  # "exactly one of these" holds for one member only, not for the merged object
                merged.setdefault("_member_limits", []).append(k)
    if not merged["required"]:
        del merged["required"]
    if open_object:
        merged["_open"] = True
    return merged


def _strict(schema: Any, schemas: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return [_strict(s, schemas) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "allOf" in schema:
        flat = _flatten_all_of(schema, schemas)
        if flat is not None:
            extra = {k: v for k, v in schema.items() if k not in ("allOf",)}
            flat.update({k: v for k, v in extra.items() if k in ("description",)})
            schema = flat
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: _strict(sub, schemas) for name, sub in value.items()}
        elif key == "oneOf":
            out["anyOf"] = _strict(value, schemas)
        elif key in ("items", "additionalProperties", "anyOf", "allOf", "not"):
            out[key] = _strict(value, schemas)
        elif key in ("_open", "_member_limits"):
            continue
        else:
            out[key] = value
    if "properties" in out and "additionalProperties" not in out and not schema.get("_open"):
        out["additionalProperties"] = False
    return out


# Known gaps of the OpenAPI export, patched in from Elasticsearch's own specification
# (elastic/elasticsearch-specification, specification/_types/sort.ts): ``SortOptions``
# is keyed by a field name with a ``FieldSort`` value, which the export drops.
FIELD_SORT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "order": {"$ref": REF_PREFIX + "_types:SortOrder"},
        "missing": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
        "mode": {"$ref": REF_PREFIX + "_types:SortMode"},
        "nested": {"$ref": REF_PREFIX + "_types:NestedSortValue"},
        "unmapped_type": {"type": "string"},
        "numeric_type": {"type": "string", "enum": ["long", "double", "date", "date_nanos"]},
        "format": {"type": "string"},
    },
}
# ``TermsQuery`` likewise is keyed by a field name (``{"terms": {"field": [values]}}``).
PATCHES: dict[str, dict[str, Any]] = {
    "_types:SortOptions": {"additionalProperties": FIELD_SORT},
    "_types.query_dsl:TermsQuery": {
        "allOf": [
            {"$ref": REF_PREFIX + "_types.query_dsl:QueryBase"},
            {"type": "object", "additionalProperties": {"type": "array", "items": {"$ref": REF_PREFIX + "_types:FieldValue"}}},
        ]
    },
}


@lru_cache(maxsize=1)
def strict_components() -> dict[str, Any]:
    schemas = copy.deepcopy(spec()["components"]["schemas"])
    for name, patch in PATCHES.items():
        schemas[name].update(patch)
    return {name: _strict(s, schemas) for name, s in schemas.items()}


def _root(schema: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {}, "components": {"schemas": strict_components()}, **{"allOf": [schema]}}


def request_body_schema(path: str, method: str = "post") -> dict[str, Any]:
    """The (strict) schema of the JSON request body of ``method path``."""
    op = spec()["paths"][path][method]
    body = op["requestBody"]
    if "$ref" in body:
        body = spec()["components"]["requestBodies"][body["$ref"].rsplit("/", 1)[1]]
    return _strict(copy.deepcopy(body["content"]["application/json"]["schema"]), spec()["components"]["schemas"])


def component_schema(name: str) -> dict[str, Any]:
    return {"$ref": REF_PREFIX + name}


def errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Every validation error (empty list: valid), best match first."""
    validator = jsonschema.Draft7Validator(_root(schema))
    errs = list(validator.iter_errors(instance))
    if not errs:
        return []
    best = jsonschema.exceptions.best_match(errs)
    return [f"{'/'.join(map(str, best.absolute_path))}: {best.message}"] + [e.message for e in errs if e is not best]


def validate_body(instance: Any, path: str, method: str = "post") -> list[str]:
    return errors(instance, request_body_schema(path, method))


def validate_component(instance: Any, name: str) -> list[str]:
    return errors(instance, component_schema(name))
