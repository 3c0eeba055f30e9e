"""Query-string parsing for the read API; every error names the parameter."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from starlette.datastructures import QueryParams

from heron.errors import ValidationError
from heron.store.base import BUCKET_SECONDS, BUCKETS, DIMENSIONS, METRICS, Filters

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_LIMIT = 1000
MAX_BUCKETS = 10_000


def duration(text: str, name: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise ValidationError(name, f"must be a duration like 15m, 24h or 7d, got {text!r}")
    return float(match.group(1)) * _UNIT[match.group(2)]


def timestamp(text: str, name: str) -> float:
    """ISO 8601 (naive means UTC), epoch seconds, or a duration meaning that long ago."""
    text = text.strip()
    if _DURATION.match(text):
        return time.time() - duration(text, name)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(name, f"must be ISO 8601, epoch seconds or a duration ago (e.g. 24h), got {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def time_range(params: QueryParams, *, default_since: float | None) -> tuple[float | None, float | None]:
    end = timestamp(params["end"], "end") if "end" in params else None
    if "start" in params:
        start: float | None = timestamp(params["start"], "start")
    elif "since" in params:
        start = time.time() - duration(params["since"], "since")
    elif default_since is not None:
        start = (end or time.time()) - default_since
    else:
        start = None
    if start is not None and end is not None and end <= start:
        raise ValidationError("end", "must be after start")
    return start, end


def window(params: QueryParams, *, default_since: float) -> tuple[float, float]:
    """The query's [start, end) as numbers: ``end`` defaults to now, ``start`` to ``default_since`` before it."""
    start, end = time_range(params, default_since=default_since)
    end = end if end is not None else time.time()
    return (start if start is not None else end - default_since), end


def filters(params: QueryParams, *, default_since: float | None) -> Filters:
    start, end = time_range(params, default_since=default_since)
    equals = []
    for key, value in params.multi_items():
        if key in DIMENSIONS or key.startswith("tag."):
            equals.append((key, value))
    text = params.get("q") or None
    if text is not None and len(text) > 1000:
        raise ValidationError("q", "is longer than 1000 characters")
    return Filters(start=start, end=end, equals=tuple(equals), text=text)


def limit(params: QueryParams, default: int = 50) -> int:
    raw = params.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError("limit", f"must be an integer from 1 to {MAX_LIMIT}, got {raw!r}")
    return int(raw)


def bucket(params: QueryParams, default: str = "hour") -> str:
    value = params.get("bucket", default)
    if value not in BUCKETS:
        raise ValidationError("bucket", f"must be one of {', '.join(BUCKETS)}, got {value!r}")
    return value


def check_buckets(start: float, end: float, bucket_name: str) -> None:
    if bucket_name == "all":
        return
    count = (end - start) / BUCKET_SECONDS[bucket_name]
    if count > MAX_BUCKETS:
        raise ValidationError(
            "bucket", f"{bucket_name} buckets over this range make {count:.0f} buckets; the limit is {MAX_BUCKETS}"
        )


def group_by(params: QueryParams) -> str | None:
    value = params.get("group_by") or None
    if value is not None and value not in DIMENSIONS and not value.startswith("tag."):
        raise ValidationError("group_by", f"unknown dimension {value!r}; valid: {', '.join(DIMENSIONS)}, tag.<key>")
    return value


def metric_names(params: QueryParams) -> tuple[str, ...]:
    raw = params.get("metrics")
    if not raw:
        return METRICS
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    for name in names:
        if name not in METRICS:
            raise ValidationError("metrics", f"unknown metric {name!r}; valid: {', '.join(METRICS)}")
    return names
