"""Records to Arrow tables: the columnar form every backend bulk-loads fastest."""

from __future__ import annotations

import time
from collections.abc import Sequence

import msgspec
import pyarrow as pa

from heron.schema.records import Feedback, Interaction, ResourceSample

_ts = pa.timestamp("us")
_str = pa.string()
_i64 = pa.int64()
_f64 = pa.float64()
_tags = pa.map_(pa.string(), pa.string())
_encode = msgspec.json.Encoder().encode


def _us(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1_000_000)


def _tag_items(tags: dict[str, str]) -> list[tuple[str, str]] | None:
    return list(tags.items()) if tags else None


def interactions_table(items: Sequence[Interaction]) -> pa.Table:
    """Columns in the order of the ``interactions`` table (see migrations)."""
    now = round(time.time() * 1_000_000)
    n = len(items)

    def col(name: str, type_: pa.DataType) -> pa.Array:
        return pa.array([getattr(x, name) for x in items], type=type_)

    return pa.table(
        {
            "project": col("project", _str),
            "id": col("id", _str),
            "start_time": pa.array([_us(x.start_time) for x in items], type=_ts),  # type: ignore[arg-type]
            "end_time": pa.array([_us(x.end_time) for x in items], type=_ts),  # type: ignore[arg-type]
            "conversation_id": col("conversation_id", _str),
            "user_id": col("user_id", _str),
            "provider": col("provider", _str),
            "model": col("model", _str),
            "operation": col("operation", _str),
            "app_version": col("app_version", _str),
            "prompt_version": col("prompt_version", _str),
            "rag_sources": pa.array([x.rag_sources or None for x in items], type=pa.list_(_str)),
            "experiment": col("experiment", _str),
            "variant": col("variant", _str),
            "input": pa.array([_encode(x.input).decode() for x in items], type=_str),
            "output": col("output", _str),
            "latency_ms": col("latency_ms", _f64),
            "ttft_ms": col("ttft_ms", _f64),
            "input_tokens": col("input_tokens", _i64),
            "output_tokens": col("output_tokens", _i64),
            "cached_tokens": col("cached_tokens", _i64),
            "reasoning_tokens": col("reasoning_tokens", _i64),
            "status": col("status", _str),
            "error_type": col("error_type", _str),
            "error_message": col("error_message", _str),
            "finish_reason": col("finish_reason", _str),
            "trace_id": col("trace_id", _str),
            "span_id": col("span_id", _str),
            "tags": pa.array([_tag_items(x.tags) for x in items], type=_tags),
            "ingested_at": pa.array([now] * n, type=_ts),
            "cost_usd": col("cost_usd", _f64),
            "retry_of": col("retry_of", _str),
        }
    )


def feedback_table(items: Sequence[Feedback]) -> pa.Table:
    now = round(time.time() * 1_000_000)

    def col(name: str, type_: pa.DataType) -> pa.Array:
        return pa.array([getattr(x, name) for x in items], type=type_)

    return pa.table(
        {
            "project": col("project", _str),
            "id": col("id", _str),
            "interaction_id": col("interaction_id", _str),
            "time": pa.array([_us(x.time) for x in items], type=_ts),  # type: ignore[arg-type]
            "thumbs": col("thumbs", _str),
            "rating": col("rating", _f64),
            "comment": col("comment", _str),
            "label": col("label", _str),
            "source": col("source", _str),
            "user_id": col("user_id", _str),
            "conversation_id": col("conversation_id", _str),
            "tags": pa.array([_tag_items(x.tags) for x in items], type=_tags),
            "ingested_at": pa.array([now] * len(items), type=_ts),
        }
    )


def resources_table(items: Sequence[ResourceSample]) -> pa.Table:
    def col(name: str, type_: pa.DataType) -> pa.Array:
        return pa.array([getattr(x, name) for x in items], type=type_)

    return pa.table(
        {
            "project": col("project", _str),
            "time": pa.array([_us(x.time) for x in items], type=_ts),  # type: ignore[arg-type]
            "host": col("host", _str),
            "service": col("service", _str),
            "metric": col("metric", _str),
            "device": col("device", _str),
            "value": col("value", _f64),
        }
    )
