"""Cross-reference checks the API specification cannot make: names that must agree
between our index templates and our requests.

- analysis: every analyzer, tokenizer, token filter, char filter and normalizer a
  template names is defined in its ``settings.analysis`` or built into Elasticsearch
  (no plugin: the cluster runs a stock distribution); ngram gaps within
  ``index.max_ngram_diff``; date formats are built-in names or valid patterns;
- fields: every field a query, sort, aggregation or percolator query names exists in
  the index's mappings with a type that query can use (a phrase on a ``text`` field,
  a range on a number or date, a sort or aggregation on a field with doc values).

The built-in lists are Elasticsearch 8's (reference: "Built-in analyzer reference",
"Tokenizer reference", "Token filter reference", "Character filters reference",
"Built-in formats" of the ``date`` field); a name missing here fails loudly, so
adding one is a deliberate, reviewed change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

JsonObject = dict[str, Any]

BUILTIN_ANALYZERS = frozenset(
    {
        "standard",
        "simple",
        "whitespace",
        "stop",
        "keyword",
        "pattern",
        "fingerprint",
        "cjk",
        "english",
        "french",
        "german",
    }
)
BUILTIN_TOKENIZERS = frozenset(
    {
        "standard",
        "letter",
        "lowercase",
        "whitespace",
        "uax_url_email",
        "classic",
        "thai",
        "ngram",
        "edge_ngram",
        "keyword",
        "pattern",
        "simple_pattern",
        "simple_pattern_split",
        "char_group",
        "path_hierarchy",
    }
)
BUILTIN_TOKEN_FILTERS = frozenset(
    {
        "apostrophe",
        "asciifolding",
        "cjk_bigram",
        "cjk_width",
        "classic",
        "common_grams",
        "condition",
        "decimal_digit",
        "delimited_payload",
        "dictionary_decompounder",
        "edge_ngram",
        "elision",
        "fingerprint",
        "flatten_graph",
        "hunspell",
        "hyphenation_decompounder",
        "keep_types",
        "keep",
        "keyword_marker",
        "keyword_repeat",
        "kstem",
        "length",
        "limit",
        "lowercase",
        "min_hash",
        "multiplexer",
        "ngram",
        "pattern_capture",
        "pattern_replace",
        "porter_stem",
        "predicate_token_filter",
        "remove_duplicates",
        "reverse",
        "shingle",
        "snowball",
        "stemmer",
        "stemmer_override",
        "stop",
        "synonym",
        "synonym_graph",
        "trim",
        "truncate",
        "unique",
        "uppercase",
        "word_delimiter",
        "word_delimiter_graph",
    }
)
BUILTIN_CHAR_FILTERS = frozenset({"html_strip", "mapping", "pattern_replace"})
BUILTIN_NORMALIZERS = frozenset({"lowercase"})
BUILTIN_DATE_FORMATS = frozenset(
    {
        "epoch_millis",
        "epoch_second",
        "date_optional_time",
        "strict_date_optional_time",
        "strict_date_optional_time_nanos",
        "basic_date",
        "basic_date_time",
        "basic_date_time_no_millis",
        "date",
        "strict_date",
        "date_time",
        "strict_date_time",
        "date_time_no_millis",
        "strict_date_time_no_millis",
        "date_hour_minute_second",
        "strict_date_hour_minute_second",
        "date_hour_minute_second_millis",
        "strict_date_hour_minute_second_millis",
        "year_month_day",
        "strict_year_month_day",
        "year",
        "strict_year",
        "hour_minute_second",
        "strict_hour_minute_second",
        "time",
        "strict_time",
    }
)
# A custom pattern may use only java.time letters, digits, separators and quoted text.
_DATE_PATTERN = re.compile(r"^(?:[GuyDMLdQqYwWEecFaBhKkHmsSAnNVvzOXxZ \-/:.,T]|'[^']*')+$")
NGRAM_TYPES = frozenset({"ngram", "edge_ngram"})
DEFAULT_MAX_NGRAM_DIFF = 1
NGRAM_TOKEN_CHARS = frozenset({"letter", "digit", "whitespace", "punctuation", "symbol", "custom"})

# Which mapping types each kind of query can use.
TEXT = frozenset({"text", "match_only_text"})
EXACT = frozenset(
    {"keyword", "long", "integer", "short", "byte", "double", "float", "date", "boolean", "flattened-key"}
)
RANGED = frozenset({"long", "integer", "short", "byte", "double", "float", "date", "flattened-key"})
SORTABLE = frozenset(
    {"keyword", "long", "integer", "short", "byte", "double", "float", "date", "boolean", "flattened-key"}
)
QUERY_TYPES: dict[str, frozenset[str]] = {
    "term": EXACT | TEXT,  # a term on text is exact only when the analyzer keeps the token (whitespace, unigrams)
    "terms": EXACT | TEXT,
    "range": RANGED,
    "match": TEXT,
    "match_phrase": TEXT,
    "intervals": TEXT,
    "prefix": frozenset({"keyword", "flattened-key"}),
}
SORT_SPECIAL = frozenset({"_score", "_doc", "_shard_doc"})


# ---------------------------------------------------------------- analysis


def analysis_errors(template: JsonObject) -> list[str]:
    """Undefined or plugin analysis components, bad ngram gaps and date formats of an
    index template body (``{"template": {"settings", "mappings"}}``)."""
    settings = template.get("template", {}).get("settings", {})
    analysis = settings.get("analysis", {})
    index_settings = settings.get("index", {})
    max_diff = int(index_settings.get("max_ngram_diff", settings.get("index.max_ngram_diff", DEFAULT_MAX_NGRAM_DIFF)))
    problems = _component_errors(analysis, max_diff)
    for path, spec in _mapped_fields(template.get("template", {}).get("mappings", {})):
        problems += _field_analysis_errors(path, spec, analysis)
    return problems


def _component_errors(analysis: JsonObject, max_diff: int) -> list[str]:
    problems: list[str] = []
    tokenizers, filters = analysis.get("tokenizer", {}), analysis.get("filter", {})
    char_filters = analysis.get("char_filter", {})
    for name, spec in tokenizers.items():
        problems += _typed_component_errors("tokenizer", name, spec, BUILTIN_TOKENIZERS, max_diff)
    for name, spec in filters.items():
        problems += _typed_component_errors("filter", name, spec, BUILTIN_TOKEN_FILTERS, max_diff)
    for name, spec in char_filters.items():
        problems += _typed_component_errors("char_filter", name, spec, BUILTIN_CHAR_FILTERS, max_diff)
    for kind in ("analyzer", "normalizer"):
        for name, spec in analysis.get(kind, {}).items():
            problems += _chain_errors(f"{kind} {name!r}", spec, kind, tokenizers, filters, char_filters)
    return problems


def _typed_component_errors(
    kind: str, name: str, spec: JsonObject, builtin: frozenset[str], max_diff: int
) -> list[str]:
    problems: list[str] = []
    component_type = spec.get("type")
    if component_type not in builtin:
        problems.append(f"{kind} {name!r}: type {component_type!r} is not built into Elasticsearch (a plugin?)")
    if component_type in NGRAM_TYPES:
        low, high = int(spec.get("min_gram", 1)), int(spec.get("max_gram", 2))
        if low > high:
            problems.append(f"{kind} {name!r}: min_gram {low} > max_gram {high}")
        if component_type == "ngram" and high - low > max_diff:
            problems.append(
                f"{kind} {name!r}: max_gram - min_gram = {high - low} exceeds index.max_ngram_diff {max_diff}"
            )
        unknown = set(spec.get("token_chars", [])) - NGRAM_TOKEN_CHARS
        if unknown:
            problems.append(f"{kind} {name!r}: unknown token_chars {sorted(unknown)}")
    return problems


def _chain_errors(
    what: str, spec: JsonObject, kind: str, tokenizers: JsonObject, filters: JsonObject, char_filters: JsonObject
) -> list[str]:
    problems: list[str] = []
    if spec.get("type", "custom") != "custom":
        if kind == "analyzer" and spec["type"] not in BUILTIN_ANALYZERS:
            problems.append(f"{what}: type {spec['type']!r} is not a built-in analyzer")
        return problems
    tokenizer = spec.get("tokenizer")
    if kind == "analyzer" and tokenizer not in tokenizers and tokenizer not in BUILTIN_TOKENIZERS:
        problems.append(f"{what}: tokenizer {tokenizer!r} is neither defined nor built in")
    for name in spec.get("filter", []):
        if name not in filters and name not in BUILTIN_TOKEN_FILTERS:
            problems.append(f"{what}: filter {name!r} is neither defined nor built in")
    for name in spec.get("char_filter", []):
        if name not in char_filters and name not in BUILTIN_CHAR_FILTERS:
            problems.append(f"{what}: char_filter {name!r} is neither defined nor built in")
    return problems


def _field_analysis_errors(path: str, spec: JsonObject, analysis: JsonObject) -> list[str]:
    problems: list[str] = []
    analyzers = analysis.get("analyzer", {})
    for key in ("analyzer", "search_analyzer", "search_quote_analyzer"):
        name = spec.get(key)
        if name is not None and name not in analyzers and name not in BUILTIN_ANALYZERS:
            problems.append(f"field {path!r}: {key} {name!r} is neither defined nor built in")
    normalizer = spec.get("normalizer")
    if (
        normalizer is not None
        and normalizer not in analysis.get("normalizer", {})
        and normalizer not in BUILTIN_NORMALIZERS
    ):
        problems.append(f"field {path!r}: normalizer {normalizer!r} is neither defined nor built in")
    if spec.get("type") in ("date", "date_nanos") and "format" in spec:
        problems += [f"field {path!r}: {p}" for p in date_format_errors(spec["format"])]
    return problems


def date_format_errors(formats: str) -> list[str]:
    problems = []
    for part in formats.split("||"):
        if part not in BUILTIN_DATE_FORMATS and not (_DATE_PATTERN.match(part) and part.strip("'") and "_" not in part):
            problems.append(f"date format {part!r} is neither a built-in format nor a valid pattern")
    return problems


# ---------------------------------------------------------------- fields


def _mapped_fields(mappings: JsonObject, prefix: str = "") -> Iterator[tuple[str, JsonObject]]:
    for name, spec in mappings.get("properties", {}).items():
        path = prefix + name
        yield path, spec
        for sub, sub_spec in spec.get("fields", {}).items():
            yield f"{path}.{sub}", sub_spec
        if "properties" in spec:
            yield from _mapped_fields(spec, path + ".")


def field_types(mappings: JsonObject) -> dict[str, JsonObject]:
    """Every queryable path → its mapping (multi-fields and object properties included);
    ``parent.*`` for the fields a dynamic template maps under a dynamic object."""
    fields = dict(_mapped_fields(mappings))
    for template in mappings.get("dynamic_templates", []):
        for spec in template.values():
            pattern = spec.get("path_match", "")
            parent = pattern.removesuffix(".*")
            if pattern.endswith(".*") and fields.get(parent, {}).get("dynamic") in ("true", True):
                fields[pattern] = spec["mapping"]
    return fields


def _field_type(path: str, fields: dict[str, JsonObject]) -> tuple[str, JsonObject] | None:
    if path in fields:
        return fields[path].get("type", "object"), fields[path]
    parent, _, _ = path.rpartition(".")
    if parent in fields and fields[parent].get("type") == "flattened":
        return "flattened-key", fields[parent]
    if f"{parent}.*" in fields:
        return fields[f"{parent}.*"].get("type", "object"), fields[f"{parent}.*"]
    return None


def _use_errors(
    path: str, use: str, allowed: frozenset[str], fields: dict[str, JsonObject], *, needs_doc_values: bool
) -> list[str]:
    found = _field_type(path, fields)
    if found is None:
        return [f"{use} names field {path!r}, which is not in the mappings"]
    field_type, spec = found
    if field_type not in allowed:
        return [f"{use} on field {path!r} of type {field_type!r} (needs one of {sorted(allowed)})"]
    if spec.get("index") is False and not needs_doc_values:
        return [f"{use} on field {path!r}, which is not indexed"]
    if needs_doc_values and spec.get("doc_values") is False:
        return [f"{use} on field {path!r}, which has no doc values"]
    return []


def query_field_errors(query: Any, fields: dict[str, JsonObject]) -> list[str]:
    """Fields a Query DSL tree names that the mappings lack or cannot serve."""
    if isinstance(query, list):
        return [p for q in query for p in query_field_errors(q, fields)]
    if not isinstance(query, dict):
        return []
    problems: list[str] = []
    for kind, body in query.items():
        if kind == "bool":
            for clause in ("must", "should", "filter", "must_not"):
                problems += query_field_errors(body.get(clause, []), fields)
        elif kind in QUERY_TYPES:
            for path in (k for k in body if k not in ("boost", "_name")):
                problems += _use_errors(path, kind, QUERY_TYPES[kind], fields, needs_doc_values=False)
        elif kind == "exists":
            problems += _use_errors(body["field"], kind, EXACT | TEXT, fields, needs_doc_values=False)
        elif kind == "percolate":
            problems += _use_errors(body["field"], kind, frozenset({"percolator"}), fields, needs_doc_values=False)
        elif kind in ("constant_score", "nested"):
            problems += query_field_errors(body.get("filter", body.get("query")), fields)
        elif kind not in ("match_all", "match_none", "ids"):
            problems.append(f"query type {kind!r} is not checked here: add it to tests/es_crossref.py")
    return problems


def sort_field_errors(sort: list[Any], fields: dict[str, JsonObject]) -> list[str]:
    problems: list[str] = []
    for item in sort:
        names = [item] if isinstance(item, str) else list(item)
        for name in names:
            if name not in SORT_SPECIAL:
                problems += _use_errors(name, "sort", SORTABLE, fields, needs_doc_values=True)
    return problems


def aggregation_field_errors(aggs: JsonObject, fields: dict[str, JsonObject]) -> list[str]:
    problems: list[str] = []
    for name, container in aggs.items():
        for kind, body in container.items():
            if kind in ("aggs", "aggregations"):
                problems += aggregation_field_errors(body, fields)
            elif isinstance(body, dict) and "field" in body:
                problems += _use_errors(
                    body["field"], f"aggregation {name!r} ({kind})", SORTABLE, fields, needs_doc_values=True
                )
    return problems


def search_body_errors(body: JsonObject, fields: dict[str, JsonObject]) -> list[str]:
    """Every field a search (or count, delete-by-query) body names, checked."""
    problems = query_field_errors(body.get("query", {}), fields)
    problems += sort_field_errors(body.get("sort", []), fields)
    problems += aggregation_field_errors(body.get("aggregations", body.get("aggs", {})), fields)
    return problems
