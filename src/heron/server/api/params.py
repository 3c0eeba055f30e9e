"""Query-string parsing for the read API; every error names the parameter.

Nothing a query string says reaches the store unchecked: a time is finite and in
[:data:`EARLIEST`, now + :data:`AHEAD`], a window no longer than its endpoint allows,
and a parameter the endpoint does not read is refused (a typo must not widen the answer).
docs/api.md ("Limits on query parameters") states the same numbers.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from starlette.datastructures import QueryParams

from heron.errors import ValidationError
from heron.schema import limits as L
from heron.store.base import BUCKET_SECONDS, BUCKETS, DIMENSIONS, METRICS, Filters

DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
"""A duration: ``15m``, ``24h``, ``7d`` (blanks around it are stripped)."""
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_LIMIT = 1000
MAX_BUCKETS = 10_000
MAX_TEXT_QUERY = 1000
"""Longest ``q`` (text search)."""
DAY = 86_400.0

EARLIEST = L.MIN_TIMESTAMP
"""2000-01-01T00:00:00Z: ingest refuses anything earlier, so no query needs to reach before it."""
AHEAD = 31 * DAY
"""How far past now a time may lie: room for a calendar window ("this month") and no more."""
EARLIEST_TEXT = "2000-01-01T00:00:00Z"

WINDOW = ("start", "end", "since")
"""The window parameters every windowed endpoint takes."""
FILTERS = (*WINDOW, *DIMENSIONS, "q")
"""What :func:`filters` reads (and ``tag.<key>``)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """The query parameters one endpoint reads: exact names, and prefixes such as ``tag.`` that take a key."""

    names: frozenset[str]
    prefixes: tuple[str, ...] = ()

    def describe(self) -> str:
        listed = [*sorted(self.names), *(f"{p}<key>" for p in self.prefixes)]
        return ", ".join(listed) if listed else "none"


def accepted(*groups: str | Iterable[str], prefixes: tuple[str, ...] = ()) -> Accepted:
    """``accepted(WINDOW, "limit", prefixes=("tag.",))``: names alone or in groups."""
    names: set[str] = set()
    for group in groups:
        names.update((group,) if isinstance(group, str) else group)
    return Accepted(frozenset(names), prefixes)


def check_known(query: QueryParams, allowed: Accepted) -> None:
    """Refuse the first parameter the endpoint does not read, naming it and what is valid."""
    for name in query:
        if name in allowed.names:
            continue
        if any(name.startswith(p) and len(name) > len(p) for p in allowed.prefixes):
            continue
        raise ValidationError(name, f"is not a parameter of this endpoint; valid: {allowed.describe()}")


def _shown(text: str) -> str:
    """``text`` quoted for an error message, cut short: an error never echoes a huge parameter back."""
    return repr(text if len(text) <= 80 else text[:80] + "...")


def duration(text: str, name: str) -> float:
    match = DURATION.match(text.strip())
    if not match:
        raise ValidationError(name, f"must be a duration like 15m, 24h or 7d, got {_shown(text)}")
    seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if not math.isfinite(seconds):
        raise ValidationError(name, f"is too long a duration: {_shown(text)}")
    return seconds


def check_time(value: float, name: str, *, now: float | None = None) -> float:
    """``value`` if it is finite and in [EARLIEST, now + AHEAD]; otherwise a 400 naming ``name`` and the range."""
    latest = (time.time() if now is None else now) + AHEAD
    if not math.isfinite(value):
        raise ValidationError(name, f"must be a finite time, from {EARLIEST_TEXT} to {AHEAD / DAY:.0f} days from now")
    if value < EARLIEST:
        raise ValidationError(name, f"is before {EARLIEST_TEXT} (epoch {EARLIEST:.0f}), the earliest time a query may name")
    if value > latest:
        hint = "; send epoch seconds, not milliseconds" if 1e11 < value < 1e14 else ""
        days = AHEAD / DAY
        raise ValidationError(name, f"is more than {days:.0f} days from now (the latest time a query may name is epoch {latest:.0f}){hint}")
    return value


def timestamp(text: str, name: str) -> float:
    """ISO 8601 (naive means UTC), epoch seconds, or a duration meaning that long ago; in range (see check_time)."""
    return check_time(_parse_time(text, name), name)


def _parse_time(text: str, name: str) -> float:
    text = text.strip()
    if DURATION.match(text):
        return time.time() - duration(text, name)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    except (ValueError, OverflowError) as exc:
        raise ValidationError(name, f"must be ISO 8601, epoch seconds or a duration ago (e.g. 24h), got {_shown(text)}") from exc


def time_range(params: QueryParams, *, default_since: float | None) -> tuple[float | None, float | None]:
    if "start" in params and "since" in params:
        raise ValidationError("since", "give start or since, not both")
    end = timestamp(params["end"], "end") if "end" in params else None
    if "start" in params:
        start: float | None = timestamp(params["start"], "start")
    elif "since" in params:
        start = check_time(time.time() - duration(params["since"], "since"), "since")
    elif default_since is not None:
        start = max(EARLIEST, (end or time.time()) - default_since)
    else:
        start = None
    if start is not None and end is not None and end <= start:
        raise ValidationError("end", "must be after start")
    return start, end


def check_span(params: QueryParams, start: float, end: float, max_days: float) -> None:
    """Refuse a window longer than ``max_days``, naming what set its start; before any work is done."""
    days = (end - start) / DAY
    if days > max_days:
        name = "since" if "since" in params else "start"
        raise ValidationError(name, f"the window is {days:,.0f} days long; this endpoint answers at most {max_days:,.0f} days")


def window(params: QueryParams, *, default_since: float, max_days: float | None = None) -> tuple[float, float]:
    """The query's [start, end) as numbers: ``end`` defaults to now, ``start`` to ``default_since`` before it."""
    start, end = time_range(params, default_since=default_since)
    end = end if end is not None else time.time()
    start = start if start is not None else max(EARLIEST, end - default_since)  # only an end was given
    if end <= start:
        raise ValidationError("end", "must be after start")
    if max_days is not None:
        check_span(params, start, end, max_days)
    return start, end


def filters(params: QueryParams, *, default_since: float | None) -> Filters:
    start, end = time_range(params, default_since=default_since)
    equals = []
    for key, value in params.multi_items():
        if key in DIMENSIONS or key.startswith("tag."):
            equals.append((key, value))
    text = params.get("q") or None
    if text is not None and len(text) > MAX_TEXT_QUERY:
        raise ValidationError("q", f"is longer than {MAX_TEXT_QUERY} characters")
    return Filters(start=start, end=end, equals=tuple(equals), text=text)


def bounded_int(params: QueryParams, name: str, *, default: int, low: int, high: int) -> int:
    """``name`` as a decimal integer in [low, high]. ASCII digits only: ``"²".isdigit()`` is true but ``int("²")`` fails."""
    raw = params.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ValidationError(name, f"must be an integer from {low} to {high}, got {_shown(raw)}")
    return int(raw)


def limit(params: QueryParams, default: int = 50) -> int:
    return bounded_int(params, "limit", default=default, low=1, high=MAX_LIMIT)


def bucket(params: QueryParams, default: str = "hour", choices: tuple[str, ...] = BUCKETS) -> str:
    value = params.get("bucket", default)
    if value not in choices:
        raise ValidationError("bucket", f"must be one of {', '.join(choices)}, got {_shown(value)}")
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
    if value is not None and value not in DIMENSIONS and not (value.startswith("tag.") and len(value) > 4):
        raise ValidationError("group_by", f"unknown dimension {_shown(value)}; valid: {', '.join(DIMENSIONS)}, tag.<key>")
    return value


def metric_names(params: QueryParams) -> tuple[str, ...]:
    raw = params.get("metrics")
    if not raw:
        return METRICS
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    for name in names:
        if name not in METRICS:
            raise ValidationError("metrics", f"unknown metric {_shown(name)}; valid: {', '.join(METRICS)}")
    return names
