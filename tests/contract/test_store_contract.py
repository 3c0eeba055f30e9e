"""One suite run against every Store backend (DuckDB today; ClickHouse later)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from heron.schema.normalize import normalize_feedback, normalize_interaction
from heron.schema.records import Feedback, Interaction, Message
from heron.stats import sketch
from heron.store.base import Filters, InteractionQuery, MetricsQuery, Store, UsersQuery

T0 = 1_763_596_800.0  # 2025-11-20T00:00:00Z
NOW = T0 + 10 * 86400


def _duckdb(tmp: Path) -> Store:
    from heron.store.duckdb import DuckDBStore

    return DuckDBStore(tmp / "heron.duckdb")


BACKENDS: dict[str, Callable[[Path], Store]] = {"duckdb": _duckdb}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = BACKENDS[request.param](tmp_path)
    yield backend
    backend.close()


def make(i: int, rng: random.Random, **overrides: object) -> Interaction:
    fields: dict[str, object] = dict(
        id=f"i{i:06d}",
        model=rng.choice(["gpt-4o", "gpt-4o-mini", "claude"]),
        provider="openai",
        start_time=T0 + i * 60.0,
        latency_ms=rng.lognormvariate(6.5, 0.6),
        ttft_ms=rng.lognormvariate(4.0, 0.3),
        user_id=f"u{rng.randint(1, 40)}",
        conversation_id=f"c{i // 3}",
        prompt_version=rng.choice(["v1", "v2"]),
        input=[Message(role="user", content=f"question number {i} about billing" if i % 5 == 0 else f"question {i}")],
        output=f"answer {i}",
        input_tokens=rng.randint(10, 500),
        output_tokens=rng.randint(10, 900),
        cached_tokens=rng.randint(0, 5),
        reasoning_tokens=0,
        error_type="RateLimitError" if rng.random() < 0.1 else None,
        tags={"feature": rng.choice(["chat", "search"])},
        rag_sources=["kb"] if i % 2 else [],
    )
    fields.update(overrides)
    return normalize_interaction(Interaction(**fields), project="p", now=NOW)  # type: ignore[arg-type]


@pytest.fixture
def loaded(store: Store) -> tuple[Store, list[Interaction]]:
    rng = random.Random(42)
    items = [make(i, rng) for i in range(3000)]
    for lsn, k in enumerate(range(0, len(items), 700), start=1):
        store.write(items[k : k + 700], [], lsn=lsn)
    return store, items


def test_write_is_idempotent_by_lsn_and_by_id(store: Store) -> None:
    rng = random.Random(1)
    items = [make(i, rng) for i in range(10)]
    store.write(items, [], lsn=1)
    store.write(items, [], lsn=1)  # replay of the same log frame
    store.write(items[:5], [], lsn=2)  # a client retry with the same ids
    assert store.count("p") == 10
    assert store.applied_lsn() == 2
    assert len(store.list_interactions(InteractionQuery(project="p", limit=100)).items) == 10


def test_list_paginates_newest_first_without_gaps(loaded: tuple[Store, list[Interaction]]) -> None:
    store, items = loaded
    seen: list[str] = []
    cursor = None
    while True:
        page = store.list_interactions(InteractionQuery(project="p", limit=250, cursor=cursor))
        seen.extend(item["id"] for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [x.id for x in sorted(items, key=lambda x: x.start_time, reverse=True)]


def test_list_filters(loaded: tuple[Store, list[Interaction]]) -> None:
    store, items = loaded
    q = InteractionQuery(
        project="p",
        limit=1000,
        filters=Filters(start=T0 + 600 * 60, end=T0 + 1200 * 60, equals=(("model", "claude"), ("status", "error"))),
    )
    got = {x["id"] for x in store.list_interactions(q).items}
    want = {
        x.id for x in items
        if T0 + 600 * 60 <= x.start_time < T0 + 1200 * 60 and x.model == "claude" and x.status == "error"
    }
    assert got == want and got
    text = store.list_interactions(InteractionQuery(project="p", limit=1000, filters=Filters(text="BILLING")))
    assert {x["id"] for x in text.items} == {x.id for x in items if "billing" in str(x.input[0].content)}
    window = Filters(end=T0 + 1000 * 60, equals=(("tag.feature", "chat"),))
    tag = store.list_interactions(InteractionQuery(project="p", limit=1000, filters=window))
    assert {x["id"] for x in tag.items} == {x.id for x in items[:1000] if x.tags["feature"] == "chat"}
    other = store.list_interactions(InteractionQuery(project="other", limit=10))
    assert other.items == []


def test_conversation_in_order_with_feedback(store: Store) -> None:
    rng = random.Random(3)
    items = [make(i, rng, conversation_id="conv", start_time=T0 + 100 - i) for i in range(3)]
    store.write(items, [], lsn=1)
    fb = normalize_feedback(Feedback(interaction_id=items[0].id, thumbs="down", comment="wrong"), project="p", now=NOW)
    store.write([], [fb], lsn=2)
    turns = store.conversation("p", "conv")
    assert [t["id"] for t in turns] == [items[2].id, items[1].id, items[0].id]
    assert turns[2]["feedback"][0]["thumbs"] == "down"
    assert turns[0]["input"][0]["content"] == items[2].input[0].content
    one = store.get_interaction("p", items[0].id)
    assert one is not None and one["feedback"][0]["comment"] == "wrong"


@pytest.mark.parametrize("bucket", ["hour", "day", "minute"])
def test_metrics_match_numpy(loaded: tuple[Store, list[Interaction]], bucket: str) -> None:
    store, items = loaded
    width = {"minute": 60, "hour": 3600, "day": 86400}[bucket]
    rows = store.metrics(MetricsQuery(project="p", start=T0, end=T0 + 3000 * 60, bucket=bucket, group_by="model"))
    assert rows
    tolerance = sketch.ALPHA * 1.01 if bucket != "minute" else 1e-9
    for row in rows:
        start = row["t"].timestamp()
        group = [x for x in items if x.model == row["group"] and start <= x.start_time < start + width]
        assert row["count"] == len(group)
        assert row["errors"] == sum(x.status == "error" for x in group)
        assert row["input_tokens"] == sum(x.input_tokens or 0 for x in group)
        latencies = np.array([x.latency_ms for x in group])
        for q in (50, 90, 95, 99):
            exact = float(np.percentile(latencies, q))
            assert row[f"latency_p{q}"] == pytest.approx(exact, rel=tolerance)


def test_metrics_rollup_and_raw_paths_agree(loaded: tuple[Store, list[Interaction]]) -> None:
    store, _ = loaded
    base = dict(project="p", start=T0, end=T0 + 3000 * 60, bucket="hour")
    rollup = store.metrics(MetricsQuery(**base, filters=Filters(equals=(("model", "claude"),))))  # type: ignore[arg-type]
    raw = store.metrics(MetricsQuery(**base, filters=Filters(equals=(("model", "claude"),), text="question")))  # type: ignore[arg-type]
    assert [r["count"] for r in rollup] == [r["count"] for r in raw]
    for a, b in zip(rollup, raw):
        assert a["latency_p95"] == pytest.approx(b["latency_p95"], rel=sketch.ALPHA * 1.01)


def test_users_per_day(loaded: tuple[Store, list[Interaction]]) -> None:
    store, items = loaded
    rows = store.users(UsersQuery(project="p", start=T0, end=T0 + 3 * 86400))
    for row in rows:
        day = row["t"].timestamp()
        assert row["users"] == len({x.user_id for x in items if day <= x.start_time < day + 86400})
    by_model = store.users(UsersQuery(project="p", start=T0, end=T0 + 3 * 86400, group_by="model", bucket="hour"))
    assert sum(r["users"] for r in by_model) >= len(rows)


def test_metrics_by_non_rollup_dimension(loaded: tuple[Store, list[Interaction]]) -> None:
    store, items = loaded
    rows = store.metrics(MetricsQuery(project="p", start=T0, end=T0 + 3000 * 60, bucket="day", group_by="rag_source"))
    assert sum(r["count"] for r in rows) == sum(1 for x in items if x.rag_sources)
    tags = store.metrics(MetricsQuery(project="p", start=T0, end=T0 + 3000 * 60, bucket="day", group_by="tag.feature"))
    assert {r["group"] for r in tags} == {"chat", "search"}


def test_rollups_hold_one_row_per_key_however_many_writes(store: Store) -> None:
    rng = random.Random(9)
    items = [make(i, rng, start_time=T0 + i) for i in range(400)]  # all in one hour
    for lsn, k in enumerate(range(0, 400, 40), start=1):
        store.write(items[k : k + 40], [], lsn=lsn)
    rows = store.metrics(MetricsQuery(project="p", start=T0, end=T0 + 3600, bucket="hour", group_by="model"))
    assert len(rows) == 3 and sum(r["count"] for r in rows) == 400
    for row in rows:
        latencies = np.array([x.latency_ms for x in items if x.model == row["group"]])
        assert row["latency_p50"] == pytest.approx(float(np.percentile(latencies, 50)), rel=sketch.ALPHA * 1.01)
    users = store.users(UsersQuery(project="p", start=T0, end=T0 + 86400))
    assert users[0]["users"] == len({x.user_id for x in items})


def test_bucket_all_summarises_the_window(loaded: tuple[Store, list[Interaction]]) -> None:
    store, items = loaded
    end = T0 + 3000 * 60
    for filters in (Filters(), Filters(text="question")):  # rollup path and raw path
        rows = store.metrics(MetricsQuery(project="p", start=T0, end=end, bucket="all", group_by="model", filters=filters))
        assert len(rows) == 3
        for row in rows:
            group = [x for x in items if x.model == row["group"]]
            assert row["count"] == len(group)
            assert row["request_rate"] == pytest.approx(len(group) / (end - T0))
            assert row["latency_p95"] == pytest.approx(float(np.percentile([x.latency_ms for x in group], 95)), rel=sketch.ALPHA * 1.01)
    users = store.users(UsersQuery(project="p", start=T0, end=end, bucket="all"))
    assert users[0]["users"] == len({x.user_id for x in items})
