"""Metric reads answer exactly the window asked for, however it falls on the rollups' hours.

Every figure is checked against a brute-force computation over the rows written, for random
windows that start and end inside hours (and days), for every bucket kind, grouped and filtered,
on the rollup path and on the raw path. Quantiles from the rollups must equal the sketch of
exactly the window's calls (what a raw scan through the same mapping builds), which in turn
is within the sketch's relative accuracy of numpy's exact percentile.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction, Message
from heron.stats import sketch
from heron.store._duckdb_sql import split_window
from heron.store.base import BUCKET_SECONDS, METRICS, Filters, MetricsQuery, UsersQuery
from heron.store.duckdb import DuckDBStore

T0 = 1_763_596_800.0  # 2025-11-20T00:00:00Z
NOW = T0 + 10 * 86400
SPAN = 3 * 86400
HOUR = 3600.0
MODELS = ("gpt-4o", "gpt-4o-mini", "claude", "acme-unpriced")
PER_TOKEN = {"gpt-4o": 2e-6, "gpt-4o-mini": 3e-7, "claude": 1e-6}
"""Test prices (USD per token); acme-unpriced has none, so its calls' cost is unknown."""
QS = (50, 90, 95, 99)


def _item(i: int, rng: random.Random, project: str = "p") -> Interaction:
    if i % 10 == 0:
        start = T0 + rng.randrange(SPAN)  # a whole second: windows snap to some of these
    elif i % 97 == 0:
        start = T0 + HOUR * rng.randrange(int(SPAN / HOUR))  # exactly on an hour
    else:
        start = T0 + rng.randrange(SPAN * 1000) / 1000
    model = rng.choice(MODELS)
    latency = None if rng.random() < 0.05 else rng.lognormvariate(6.5, 0.8)
    ttft = None if latency is None or rng.random() < 0.3 else latency * rng.uniform(0.05, 0.9)
    tokens = [None if rng.random() < 0.05 else rng.randint(0, 900) for _ in range(2)]
    item = Interaction(
        id=f"{project}{i:06d}", model=model, start_time=start, latency_ms=latency, ttft_ms=ttft,
        input_tokens=tokens[0], output_tokens=tokens[1], cached_tokens=rng.randint(0, 5), reasoning_tokens=rng.choice([None, 0, 7]),
        error_type="RateLimitError" if rng.random() < 0.1 else None, prompt_version=rng.choice(["v1", "v2", None]),
        user_id=rng.choice([None, *(f"u{k}" for k in range(60))]), tags={"feature": rng.choice(["chat", "search"])},
        input=[Message(role="user", content=f"question {i}")],
    )  # fmt: skip
    item = normalize_interaction(item, project=project, now=NOW)
    price = PER_TOKEN.get(model)
    item.cost_usd = None if price is None else ((item.input_tokens or 0) + (item.output_tokens or 0)) * price
    return item


@dataclass(frozen=True)
class Case:
    name: str
    group_by: str | None
    filters: Filters
    rollup: bool
    """Whether hour/day buckets of this query read the rollups (minute buckets never do)."""


CASES = [
    Case("total", None, Filters(), True),
    Case("by_model", "model", Filters(), True),
    Case("by_prompt_version", "prompt_version", Filters(), True),  # includes calls without one (group None)
    Case("one_model", None, Filters(equals=(("model", "claude"),)), True),
    Case("unpriced_by_model", "model", Filters(equals=(("model", "acme-unpriced"),)), True),
    Case("by_tag", "tag.feature", Filters(), False),
    Case("two_filters", "model", Filters(equals=(("prompt_version", "v1"), ("status", "error"))), False),
]


def _value(item: Interaction, dim: str) -> Any:
    return item.tags.get(dim[4:]) if dim.startswith("tag.") else getattr(item, dim)


def _selected(items: list[Interaction], start: float, end: float, filters: Filters, project: str = "p") -> list[Interaction]:
    lo, hi = round(start * 1e6), round(end * 1e6)  # as stored: microseconds
    return [
        x for x in items
        if x.project == project and lo <= round(x.start_time * 1e6) < hi and all(_value(x, d) == v for d, v in filters.equals)
    ]  # fmt: skip


def _bucket_us(x: Interaction, bucket: str, start: float) -> int:
    if bucket == "all":
        return round(start * 1e6)
    width = BUCKET_SECONDS[bucket] * 1_000_000
    return round(x.start_time * 1e6) // width * width


def _covered(bucket: str, t_us: int, start: float, end: float) -> float:
    if bucket == "all":
        return end - start
    width = BUCKET_SECONDS[bucket] * 1_000_000
    return (min(t_us + width, round(end * 1e6)) - max(t_us, round(start * 1e6))) / 1e6


def _figures(group: list[Interaction], covered: float) -> dict[str, Any]:
    n = len(group)
    errors = sum(x.status == "error" for x in group)
    latencies = [x.latency_ms for x in group if x.latency_ms is not None]
    gen = [(x.output_tokens or 0, x.latency_ms - (x.ttft_ms or 0)) for x in group
           if x.latency_ms is not None and (x.output_tokens or 0) > 0 and x.latency_ms - (x.ttft_ms or 0) > 0]  # fmt: skip
    costs = [x.cost_usd for x in group if x.cost_usd is not None]
    return {
        "count": n, "request_rate": n / covered, "errors": errors, "error_rate": errors / n,
        "latency_avg": sum(latencies) / len(latencies) if latencies else None,
        "input_tokens": sum(x.input_tokens or 0 for x in group), "output_tokens": sum(x.output_tokens or 0 for x in group),
        "cached_tokens": sum(x.cached_tokens or 0 for x in group), "reasoning_tokens": sum(x.reasoning_tokens or 0 for x in group),
        "output_tokens_per_s": sum(t for t, _ in gen) * 1000.0 / sum(ms for _, ms in gen) if gen else None,
        "cost_usd": sum(costs) if costs else None, "cost_unknown": n - len(costs),
    }  # fmt: skip


def _close(got: Any, want: Any, rel: float = 1e-9) -> bool:
    if want is None or got is None:
        return got is want
    if isinstance(want, int) and not isinstance(want, bool):
        return bool(got == want)
    return math.isclose(got, want, rel_tol=rel, abs_tol=1e-12)


def _check(store: DuckDBStore, items: list[Interaction], case: Case, bucket: str, start: float, end: float) -> int:
    """Compare one query with the brute force; returns the number of calls it covered."""
    query = MetricsQuery(project="p", start=start, end=end, bucket=bucket, group_by=case.group_by, filters=case.filters)  # type: ignore[arg-type]
    rows = store.metrics(query)
    cells: dict[tuple[int, Any], list[Interaction]] = {}
    for x in _selected(items, start, end, case.filters):
        cells.setdefault((_bucket_us(x, bucket, start), _value(x, case.group_by) if case.group_by else None), []).append(x)
    got = {(round(r["t"].timestamp() * 1e6), r["group"]): r for r in rows}
    label = f"{case.name} {bucket} [{start - T0}, {end - T0})"
    assert set(got) == set(cells), label
    sketched = case.rollup and bucket != "minute"
    for key, group in cells.items():
        row = got[key]
        want = _figures(group, _covered(bucket, key[0], start, end))
        for name, value in want.items():
            assert _close(row[name], value), (label, key, name, row[name], value)
        for metric, values in (("latency", [x.latency_ms for x in group]), ("ttft", [x.ttft_ms for x in group])):
            present = [v for v in values if v is not None]
            for q in QS:
                value = row[f"{metric}_p{q}"]
                if not present:
                    assert value is None, (label, key, metric)
                    continue
                exact = float(np.percentile(present, q))
                if sketched:  # the sketch of exactly these calls, and so within its accuracy of the truth
                    assert _close(value, sketch.quantile(sketch.histogram(present), q / 100)), (label, key, metric, q)
                    assert value == pytest.approx(exact, rel=sketch.ALPHA * 1.01), (label, key, metric, q)
                else:
                    assert _close(value, exact), (label, key, metric, q)
    return sum(len(g) for g in cells.values())


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckDBStore, list[Interaction]]]:
    rng = random.Random(20251120)
    items = [_item(i, rng) for i in range(6000)] + [_item(i, rng, project="other") for i in range(400)]
    rng.shuffle(items)  # arrival order is not time order
    store = DuckDBStore(tmp_path_factory.mktemp("windows") / "heron.duckdb")
    for lsn, k in enumerate(range(0, len(items), 800), start=1):
        store.write(items[k : k + 800], [], lsn=lsn)
    yield store, items
    store.close()


def _windows(seed: int, bucket: str, items: list[Interaction], n: int) -> list[tuple[float, float]]:
    """Random windows, mostly unaligned; some edges sit exactly on a call's start (a whole second)."""
    rng = random.Random(seed)
    longest = {"all": 2 * 86400, "hour": 30 * 3600, "day": 3 * 86400, "minute": 3 * 3600}[bucket]
    seconds = [x.start_time for x in items if x.start_time == int(x.start_time)]
    out = []
    for k in range(n):
        start = rng.choice(seconds) if k % 3 == 0 else T0 - HOUR + rng.randrange(SPAN)
        end = start + rng.randrange(60, longest)
        if k % 3 == 1:
            end = min((s for s in seconds if s > start + 60), default=end)
        out.append((float(start), float(end)))
    return out


FIXED = [
    (T0 + 19 * HOUR + 40 * 60, T0 + 20 * HOUR + 20 * 60),  # the report: 19:40-20:20 counted as 19:00-21:00
    (T0 + 19 * HOUR + 5 * 60, T0 + 19 * HOUR + 50 * 60),  # inside one hour
    (T0 + 23 * HOUR + 30 * 60, T0 + 24 * HOUR + 30 * 60),  # across midnight
    (T0 + 19 * HOUR, T0 + 21 * HOUR),  # aligned: rollups only
    (T0 + 19 * HOUR + 0.25, T0 + 45 * HOUR - 0.5),  # fractional seconds, nearly aligned
]


@pytest.mark.parametrize("bucket", ["all", "hour", "day", "minute"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_unaligned_windows_are_exact(loaded: tuple[DuckDBStore, list[Interaction]], case: Case, bucket: str) -> None:
    store, items = loaded
    windows = FIXED + _windows(sum(map(ord, case.name + bucket)), bucket, items, 6)
    covered = [_check(store, items, case, bucket, start, end) for start, end in windows]
    assert sum(covered) > 0


def test_the_reported_window_counts_only_its_own_calls(loaded: tuple[DuckDBStore, list[Interaction]]) -> None:
    store, items = loaded
    start, end = FIXED[0]
    (row,) = store.metrics(MetricsQuery(project="p", start=start, end=end, bucket="all", metrics=("count",)))
    wide = len(_selected(items, T0 + 19 * HOUR, T0 + 21 * HOUR, Filters()))
    assert row["count"] == len(_selected(items, start, end, Filters())) < wide
    assert row["t"].timestamp() == start  # the bucket starts where the window does, not at 19:00
    hourly = store.metrics(MetricsQuery(project="p", start=start, end=end, bucket="hour"))
    assert [r["t"].timestamp() for r in hourly] == [T0 + 19 * HOUR, T0 + 20 * HOUR]  # labelled by calendar hour
    assert [r["request_rate"] for r in hourly] == pytest.approx([r["count"] / 1200 for r in hourly])  # 20 minutes each


def test_empty_and_reversed_windows_have_no_rows(loaded: tuple[DuckDBStore, list[Interaction]]) -> None:
    store, _ = loaded
    for start, end in ((T0 + 5 * HOUR, T0 + 5 * HOUR), (T0 + 5 * HOUR + 7, T0 + 5 * HOUR + 7), (T0 + 6 * HOUR, T0 + 5 * HOUR)):
        for bucket in ("all", "hour"):
            assert store.metrics(MetricsQuery(project="p", start=start, end=end, bucket=bucket, metrics=METRICS)) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("group_by", "filters"),
    [(None, Filters()), ("model", Filters()), (None, Filters(equals=(("prompt_version", "v2"),))), ("tag.feature", Filters())],
)
def test_users_per_day_over_unaligned_windows(loaded: tuple[DuckDBStore, list[Interaction]], group_by: str | None, filters: Filters) -> None:
    store, items = loaded
    for start, end in FIXED + _windows(7, "day", items, 6):
        rows = store.users(UsersQuery(project="p", start=start, end=end, group_by=group_by, filters=filters))
        want: dict[tuple[int, Any], set[str]] = {}
        for x in _selected(items, start, end, filters):
            users = want.setdefault((_bucket_us(x, "day", start), _value(x, group_by) if group_by else None), set())
            if x.user_id is not None:
                users.add(x.user_id)
        assert {(round(r["t"].timestamp() * 1e6), r["group"]): r["users"] for r in rows} == {k: len(v) for k, v in want.items()}


def test_unknown_cost_models_count_exactly_the_window(loaded: tuple[DuckDBStore, list[Interaction]]) -> None:
    store, items = loaded
    for start, end in FIXED + _windows(11, "all", items, 6):
        by_model: dict[str, list[Interaction]] = {}
        for x in _selected(items, start, end, Filters()):
            by_model.setdefault(x.model, []).append(x)
        want = [
            {"model": model, "calls": sum(x.cost_usd is None for x in group), "input_tokens": sum(x.input_tokens or 0 for x in group),
             "output_tokens": sum(x.output_tokens or 0 for x in group)}
            for model, group in by_model.items() if any(x.cost_usd is None for x in group)
        ]  # fmt: skip
        want.sort(key=lambda r: (-r["calls"], r["model"]))
        assert store.unknown_cost_models("p", start, end) == want


def _epoch(naive: datetime) -> float:
    return naive.replace(tzinfo=timezone.utc).timestamp()


def test_split_window_covers_the_window_once_with_at_most_two_partial_edges() -> None:
    rng = random.Random(5)
    for unit in (3600, 86400):
        for _ in range(2000):
            start = T0 + rng.randrange(-unit, 3 * unit) + rng.choice([0.0, 0.5])
            end = start + rng.choice([0, 1, 59, unit - 1, unit, unit + 1, 5 * unit]) + rng.choice([0.0, 0.25])
            window = split_window(start, end, unit)
            lo, hi = (_epoch(t) for t in window.inner)
            pieces = [(_epoch(a), _epoch(b)) for a, b in window.edges]
            assert len(pieces) <= 2
            for a, b in pieces:
                assert a < b and math.floor(a / unit) == math.ceil(b / unit) - 1  # within one unit
                assert b <= lo or a >= hi or lo >= hi  # outside the whole units
            if lo < hi:
                assert lo % unit == 0 and hi % unit == 0
            covered = sum(b - a for a, b in pieces) + max(hi - lo, 0)
            assert covered == pytest.approx(max(end - start, 0), abs=1e-5)

