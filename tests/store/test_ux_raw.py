"""UX figures summed from raw turns (tags, call dimensions, mixed slices) equal the UX rollups where both can answer,
and a tag slice equals a brute-force computation over the stored turns."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heron.enrich.base import Signals, Turn
from heron.errors import ValidationError
from heron.schema.normalize import normalize_feedback, normalize_interaction
from heron.schema.records import Feedback, Interaction, Message
from heron.store.duckdb import DuckDBStore

T0 = 1_763_596_800.0  # 2025-11-20T00:00:00Z
NOW = T0 + 10 * 86400
TEAMS = ["support", "sales", None]


def _signals(item: Interaction, rng: random.Random) -> Signals:
    return Signals(
        interaction_id=item.id or "", language=rng.choice(["en", "de", None]), sentiment=rng.choice([None, rng.uniform(-1, 1)]),
        reply_sentiment=0.0, cues=rng.choice([[], ["gratitude"], ["anger", "urgency"], ["confusion"]]),
        rephrase=rng.random() < 0.2, repeat=rng.random() < 0.1, complaint=rng.random() < 0.2, shouting=rng.random() < 0.05,
        refusal=rng.random() < 0.1, empty_reply=rng.random() < 0.05, truncated=False, error=item.status == "error",
        frustration=rng.choice([None, rng.random()]), topic_id=rng.choice([None, -1, 1, 2, 3]), topic_similarity=None,
        reply_language=rng.choice(["en", "de", None]), language_mismatch=rng.choice([None, False, True]),
    )  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    """Three days of conversations over several models, versions, environments and tags, arriving out of order, with
    feedback and a topic refit on top: every revision path of the rollups has run."""
    s = DuckDBStore(tmp_path_factory.mktemp("ux-raw") / "h.duckdb")
    rng = random.Random(11)
    pairs = []
    for c in range(120):
        t = T0 + rng.uniform(0, 3 * 86400)
        team = rng.choice(TEAMS)
        model = rng.choice(["gpt-4o", "gpt-4o-mini", "claude"])
        for k in range(rng.randint(1, 6)):
            t += rng.choice([20.0, 300.0, 2000.0, 5000.0])
            tags = {"app.team": team} if team else {}
            if rng.random() < 0.3:
                tags["tenant"] = rng.choice(["acme", "globex"])
            item = Interaction(
                id=f"c{c}-{k}", model=model, start_time=t, latency_ms=rng.choice([None, rng.uniform(50, 900)]),
                conversation_id=f"c{c}", user_id=f"u{c % 17}", input=[Message(role="user", content=f"message {c} {k}")],
                output="answer", prompt_version=rng.choice(["v1", "v2", None]), variant=rng.choice(["a", "b", None]),
                environment=rng.choice(["prod", "staging", None]), status=rng.choice(["ok"] * 9 + ["error"]),
                cost_usd=rng.choice([None, 0.01, 0.002]), tags=tags,
            )  # fmt: skip
            item = normalize_interaction(item, project="p", now=NOW)
            pairs.append((item, _signals(item, rng)))
    rng.shuffle(pairs)
    for k in range(0, len(pairs), 25):
        batch = pairs[k : k + 25]
        s.write([p[0] for p in batch], [], lsn=0)
        watermark = s._con.execute("SELECT max(rowid) FROM interactions").fetchall()[0][0]  # noqa: SLF001
        s.write_signals([Turn.from_interaction(p[0]) for p in batch], [p[1] for p in batch], watermark)
    ids = [p[0].id for p in pairs]
    feedback = [normalize_feedback(Feedback(interaction_id=i, thumbs=rng.choice(["up", "down"])), project="p", now=NOW)
                for i in rng.sample(ids, 60)]  # fmt: skip
    s.write([], feedback, lsn=0)
    s.apply_feedback()
    s.set_topics("p", [(i, rng.choice([1, 2, 3]), 0.5) for i in rng.sample(ids, 80)])
    yield s
    s.close()


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert len(a) == len(b) and a, (a, b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for key in x:
            if isinstance(x[key], float) or isinstance(y[key], float):
                assert x[key] == pytest.approx(y[key], rel=1e-9, abs=1e-12), (key, x, y)
            else:
                assert x[key] == y[key], (key, x, y)


WINDOWS = [(T0, NOW), (T0 + 5000.5, T0 + 2 * 86400 + 77.0)]  # aligned, and one the rollups widen to whole hours


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("bucket", ["all", "hour", "day"])
@pytest.mark.parametrize("group_by", [None, "model", "prompt_version", "variant", "language", "topic_id"])
def test_raw_turns_equal_the_rollups(store: DuckDBStore, window: tuple[float, float], bucket: str, group_by: str | None) -> None:
    merged = {3: 1} if group_by == "topic_id" else None  # topic 3 merged into 1: both paths fold it the same way
    rollup = store.ux_summary("p", *window, group_by=group_by, bucket=bucket, topic_map=merged)
    raw = store.ux_summary("p", *window, group_by=group_by, bucket=bucket, topic_map=merged, raw=True)
    _same(rollup, raw)


@pytest.mark.parametrize("where", [("model", "claude"), ("prompt_version", "v2"), ("prompt_version", ""), ("topic_id", "2")])
def test_raw_slice_equals_the_rollup_slice(store: DuckDBStore, where: tuple[str, str]) -> None:
    for group_by in (None, where[0]):
        _same(store.ux_summary("p", T0, NOW, where=where, group_by=group_by, bucket="hour"),
              store.ux_summary("p", T0, NOW, where=where, group_by=group_by, bucket="hour", raw=True))


def test_raw_flow_equals_the_flow_rollup(store: DuckDBStore) -> None:
    merged = {3: 1}
    assert store.topic_flow("p", T0, NOW, topic_map=merged) == store.topic_flow("p", T0, NOW, topic_map=merged, raw=True)
    assert store.topic_flow("p", T0, NOW, where=("model", "claude")) == store.topic_flow("p", T0, NOW, where=("model", "claude"), raw=True)


def _turns(store: DuckDBStore) -> list[dict[str, Any]]:
    """Every counted turn with its call's tags and environment: the brute-force oracle's input."""
    cur = store._con.cursor()  # noqa: SLF001
    result = cur.execute(
        "SELECT s.*, i.tags, i.environment FROM interaction_signals s JOIN interactions i ON i.project = s.project"
        " AND i.id = s.interaction_id WHERE s.counted"
    )
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def _brute(turns: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(turns)
    sat = [t["satisfaction"] for t in turns if t["satisfaction"] is not None]
    fr = [t["frustration"] for t in turns if t["frustration"] is not None]
    ended = [t for t in turns if t["is_last"]]
    thumbs = [t["thumbs"] for t in turns if t["thumbs"] is not None]
    costs = [t["cost_usd"] for t in turns if t["cost_usd"] is not None]
    unexpected = [t for t in turns if t["refusal"] or t["empty_reply"] or t["truncated"] or t["error"]]
    return {
        "interactions": n,
        "conversations": sum(1 for t in turns if t["is_first"]),
        "satisfaction_avg": sum(sat) / len(sat) if sat else None,
        "frustration_rate": sum(1 for v in fr if v >= 0.5) / len(fr) if fr else None,
        "complaint_rate": sum(1 for t in turns if t["complaint"]) / n,
        "anger_rate": sum(1 for t in turns if "anger" in (t["cues"] or [])) / n,
        "unexpected_rate": len(unexpected) / n,
        "language_mismatch_rate": sum(1 for t in turns if t["language_mismatch"]) / n,
        "ended": len(ended),
        "abandonment_rate": sum(1 for t in ended if t["abandoned"]) / len(ended) if ended else None,
        "thumbs": len(thumbs),
        "thumbs_up_rate": thumbs.count("up") / len(thumbs) if thumbs else None,
        "cost_usd": sum(costs),
    }


def _check(row: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if value is None:
            assert row[key] is None, key
        else:
            assert row[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (key, row[key], value)


def test_tag_slice_equals_brute_force(store: DuckDBStore) -> None:
    turns = _turns(store)
    for team in ("support", "sales"):
        mine = [t for t in turns if (t["tags"] or {}).get("app.team") == team]
        assert mine and len(mine) < len(turns)
        [row] = store.ux_summary("p", T0, NOW, where=("tag.app.team", team))
        _check(row, _brute(mine))
    [untagged] = store.ux_summary("p", T0, NOW, where=("tag.app.team", ""))  # '' = not set, as for any dimension
    _check(untagged, _brute([t for t in turns if "app.team" not in (t["tags"] or {})]))


def test_grouped_by_a_tag_and_a_call_dimension(store: DuckDBStore) -> None:
    turns = _turns(store)
    by_team = {r["group"]: r for r in store.ux_summary("p", T0, NOW, group_by="tag.app.team")}
    assert set(by_team) == {"support", "sales", None}
    assert sum(r["interactions"] for r in by_team.values()) == len(turns)
    _check(by_team[None], _brute([t for t in turns if "app.team" not in (t["tags"] or {})]))
    # A tag slice grouped by a UX dimension, and a call dimension (environment lives on interactions only).
    by_model = {r["group"]: r for r in store.ux_summary("p", T0, NOW, group_by="model", where=("tag.app.team", "sales"))}
    for model, row in by_model.items():
        _check(row, _brute([t for t in turns if t["model"] == model and (t["tags"] or {}).get("app.team") == "sales"]))
    [prod] = store.ux_summary("p", T0, NOW, where=("environment", "prod"))
    _check(prod, _brute([t for t in turns if t["environment"] == "prod"]))
    # Daily buckets of a tag slice add up to the whole window's figure.
    daily = store.ux_summary("p", T0, NOW, bucket="day", where=("tag.tenant", "acme"))
    [whole] = store.ux_summary("p", T0, NOW, where=("tag.tenant", "acme"))
    assert len(daily) >= 2 and sum(r["interactions"] for r in daily) == whole["interactions"]
    assert math.isclose(sum(r["cost_usd"] for r in daily), whole["cost_usd"])


def test_tag_flow_counts_the_slice_steps(store: DuckDBStore) -> None:
    turns = [t for t in _turns(store) if (t["tags"] or {}).get("app.team") == "support"]
    flow = store.topic_flow("p", T0, NOW, where=("tag.app.team", "support"))
    into = sum(r["n"] for r in flow if r["target"] != -3)
    ends = sum(r["n"] for r in flow if r["target"] == -3)
    assert into == len(turns) and ends == sum(1 for t in turns if t["is_last"])


def test_unknown_dimensions_are_named(store: DuckDBStore) -> None:
    with pytest.raises(ValidationError, match="rag_source"):
        store.ux_summary("p", T0, NOW, group_by="rag_source")
    with pytest.raises(ValidationError, match="tag.<key>"):
        store.ux_summary("p", T0, NOW, where=("nope", "x"))
    with pytest.raises(ValidationError):
        store.ux_summary("p", T0, NOW, where=("tag.", "x"))


def test_every_rollup_column_has_a_per_turn_sum() -> None:
    """A column added to the UX rollups needs its per-turn contribution on the raw path too."""
    from heron.store import _duckdb_ux, _duckdb_ux_reads

    assert list(_duckdb_ux_reads._TURN_SUMS) == [c.strip() for c in _duckdb_ux._SUMS.split(",")]  # noqa: SLF001
