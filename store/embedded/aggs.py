"""The store's aggregation subset (store.base) → tantivy aggregations, and tantivy's result
→ Elasticsearch's response shape.

tantivy's ``date_histogram`` takes fixed intervals only and ignores ``time_zone``, so a
date histogram is a ``histogram`` on the i64 ms field ``time`` whose ``offset`` puts the
bucket boundaries on local midnights/hours of the archive's time zone. ``terms`` asks
for every bucket and orders/truncates here (count desc, key asc), so ties are stable.
"""

from __future__ import annotations

import math
from typing import Any

from core.errors import BadInput
from store.base import AGG_FIELDS

BUCKET_KINDS = ("terms", "date_histogram", "histogram")
METRIC_KINDS = ("value_count", "min", "max", "avg", "sum", "stats", "percentiles", "cardinality")
INTERVALS = {"1h": 3_600_000, "1d": 86_400_000, "hour": 3_600_000, "day": 86_400_000}
ALL_TERMS = 65_000  # "every bucket" for terms: the organisation's ids are far fewer


def _field(spec: dict[str, Any], kind: str) -> str:
    field = spec.get("field") if isinstance(spec, dict) else None
    if field not in AGG_FIELDS:
        raise BadInput(f"{kind}: field {field!r} cannot be aggregated; use one of {sorted(AGG_FIELDS)}")
    return str(field)


def to_tantivy(aggs: dict[str, Any], tz_offset_ms: int, depth: int = 0) -> dict[str, Any]:
    if not isinstance(aggs, dict):
        raise BadInput("aggregations must be a JSON object")
    out: dict[str, Any] = {}
    for name, body in aggs.items():
        if not isinstance(body, dict):
            raise BadInput(f"aggregation {name!r} must be an object")
        kinds = [k for k in body if k != "aggs"]
        if len(kinds) != 1:
            raise BadInput(f"aggregation {name!r}: expected exactly one aggregation type")
        kind, spec = kinds[0], body[kinds[0]]
        field = _field(spec, kind)
        if kind == "terms":
            agg: dict[str, Any] = {"terms": {"field": field, "size": ALL_TERMS, "segment_size": ALL_TERMS}}
        elif kind == "date_histogram":
            if field != "time":
                raise BadInput("date_histogram: only the field time is supported")
            interval_name = spec.get("fixed_interval") or spec.get("calendar_interval") or spec.get("interval")
            if interval_name not in INTERVALS:
                raise BadInput(f"date_histogram: interval must be 1h or 1d, got {interval_name!r}")
            interval = INTERVALS[interval_name]
            agg = {
                "histogram": {
                    "field": "time",
                    "interval": interval,
                    "offset": (-tz_offset_ms) % interval,
                    "min_doc_count": 1,
                }
            }
        elif kind == "histogram":
            interval = spec.get("interval")
            if not isinstance(interval, (int, float)) or interval <= 0:
                raise BadInput("histogram: interval must be a positive number")
            agg = {"histogram": {"field": field, "interval": interval, "min_doc_count": 1}}
            if "offset" in spec:
                agg["histogram"]["offset"] = spec["offset"]
        elif kind == "percentiles":
            agg = {
                "percentiles": {"field": field, "percents": list(spec.get("percents") or [1, 5, 25, 50, 75, 95, 99])}
            }
        elif kind in METRIC_KINDS:
            agg = {kind: {"field": field}}
        else:
            raise BadInput(f"aggregation {name!r}: unknown type {kind!r}")
        if body.get("aggs"):
            if depth >= 1:
                raise BadInput("only one level of sub-aggregations is supported")
            if kind not in BUCKET_KINDS:
                raise BadInput(f"aggregation {name!r}: a metric cannot have sub-aggregations")
            agg["aggs"] = to_tantivy(body["aggs"], tz_offset_ms, depth + 1)
        out[name] = agg
    return out


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _key(kind: str, key: Any) -> Any:
    if kind == "date_histogram":
        return int(key)
    return key


def from_tantivy(aggs: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, body in aggs.items():
        kind = next(k for k in body if k != "aggs")
        spec = body[kind]
        sub = body.get("aggs") or {}
        raw = result.get(name) or {}
        if kind in BUCKET_KINDS:
            buckets = []
            for b in raw.get("buckets", []):
                bucket: dict[str, Any] = {"key": _key(kind, b["key"]), "doc_count": int(b["doc_count"])}
                if "key_as_string" in b and kind == "terms":
                    bucket["key_as_string"] = b["key_as_string"]
                if sub:
                    bucket.update(from_tantivy(sub, b))
                buckets.append(bucket)
            if kind == "terms":
                buckets.sort(key=lambda b: (-b["doc_count"], b["key"]))
                size = int(spec.get("size", 10))
                other = sum(b["doc_count"] for b in buckets[size:])
                out[name] = {"doc_count_error_upper_bound": 0, "sum_other_doc_count": other, "buckets": buckets[:size]}
            else:
                out[name] = {"buckets": [b for b in buckets if b["doc_count"] > 0]}
        elif kind == "stats":
            count = int(raw.get("count") or 0)
            out[name] = {
                "count": count,
                "min": _clean(raw.get("min")) if count else None,
                "max": _clean(raw.get("max")) if count else None,
                "avg": _clean(raw.get("avg")) if count else None,
                "sum": float(raw.get("sum") or 0.0),
            }
        elif kind == "percentiles":
            values = raw.get("values") or {}
            out[name] = {
                "values": {
                    str(float(p)): _clean(values.get(str(float(p))))
                    for p in (spec.get("percents") or [1, 5, 25, 50, 75, 95, 99])
                }
            }
        elif kind in ("value_count", "cardinality"):
            out[name] = {"value": int(raw.get("value") or 0)}
        else:
            value = _clean(raw.get("value"))
            if kind == "sum" and value is None:
                value = 0.0
            out[name] = {"value": value}
    return out
