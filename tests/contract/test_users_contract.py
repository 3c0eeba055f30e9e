"""Every Store's user and retention queries agree with the numpy reference (heron.analytics.retention)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from heron.analytics import retention as ref
from heron.errors import ValidationError
from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction
from heron.store.base import ActivityQuery, RetentionQuery, Store

D0 = dt.date(2025, 6, 2)  # a Monday
T0 = (D0 - dt.date(1970, 1, 1)).days * 86400.0
NOW = T0 + 400 * 86400


def _duckdb(tmp: Path) -> Store:
    from heron.store.duckdb import DuckDBStore

    return DuckDBStore(tmp / "heron.duckdb")


BACKENDS: dict[str, Callable[[Path], Store]] = {"duckdb": _duckdb}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = BACKENDS[request.param](tmp_path)
    yield backend
    backend.close()


def day(i: int) -> dt.date:
    return D0 + dt.timedelta(days=i)


def call(i: int, user: str | None, start: float, *, project: str = "p", **fields: Any) -> Interaction:
    item = Interaction(id=f"i{i:06d}", model=fields.pop("model", "gpt-4o"), start_time=start, user_id=user, **fields)
    return normalize_interaction(item, project=project, now=NOW)


def traffic(seed: int, *, users: int = 40, days: int = 45) -> list[Interaction]:
    """Users who arrive on a random day and come back with their own daily probability;
    1-2 conversations a day of 1-3 calls, some past midnight, some with no conversation,
    no end time, no prompt version; plus anonymous calls."""
    rng = random.Random(seed)
    items: list[Interaction] = []

    def add(user: str | None, start: float, conversation: str | None) -> None:
        latency = None if rng.random() < 0.1 else rng.uniform(200, 20_000)
        items.append(
            call(
                len(items), user, start, conversation_id=conversation, latency_ms=latency,
                model=rng.choice(["gpt-4o", "claude"]), prompt_version=rng.choice(["v1", "v2", None]),
            )
        )

    for u in range(users):
        first = rng.randrange(days)
        back = rng.choice([0.1, 0.3, 0.7])
        for d in range(first, days):
            if d != first and rng.random() > back:
                continue
            for c in range(rng.randint(1, 2)):
                conversation = f"c{u}-{d}-{c}" if rng.random() < 0.85 else None
                t = T0 + d * 86400 + rng.uniform(0, 86_300)
                for _ in range(rng.randint(1, 3)):
                    add(f"u{u}", t, conversation)
                    t += rng.uniform(5, 600)
    for k in range(30):
        add(None, T0 + rng.uniform(0, days * 86400), f"anon{k}")
    rng.shuffle(items)  # batches out of time order: the same user-day arrives in several writes
    return items


def write(store: Store, items: list[Interaction], batch: int = 400) -> None:
    for lsn, k in enumerate(range(0, len(items), batch), start=1):
        store.write(items[k : k + batch], [], lsn=lsn)


def selected(items: list[Interaction], dim: str | None, value: str | None) -> list[Interaction]:
    return [x for x in items if dim is None or (getattr(x, dim) or "") == value]


def reference_active(items: list[Interaction], lo: int, hi: int, dim: str | None = None, value: str | None = None) -> list[dict[str, Any]]:
    sel = selected(items, dim, value)
    return ref.active_users([x.user_id for x in sel], [x.start_time for x in sel], start=day(lo), end=day(hi)).rows()


def reference_retention(items: list[Interaction], lo: int, hi: int, **kw: Any) -> dict[str, Any]:
    sel = selected(items, kw.pop("dim", None), kw.pop("value", None))
    return ref.retention([x.user_id for x in sel], [x.start_time for x in sel], start=day(lo), end=day(hi), **kw).to_dict()


def reference_engagement(items: list[Interaction], lo: int, hi: int, dim: str | None = None, value: str | None = None) -> dict[str, Any]:
    sel = selected(items, dim, value)
    return ref.engagement(
        [x.user_id for x in sel], [x.start_time for x in sel], [x.end_time for x in sel], [x.conversation_id for x in sel],
        start=day(lo), end=day(hi),
    ).to_dict()


def assert_close(got: Any, want: Any, path: str = "") -> None:
    """Equal, floats to 1e-6 s (the store keeps microseconds)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), path
        for key in want:
            assert_close(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-5), path
    else:
        assert got == want and type(got) is type(want), f"{path}: {got!r} != {want!r}"


SLICES = [(None, None), ("model", "claude"), ("prompt_version", "v2"), ("prompt_version", "")]


@pytest.fixture
def loaded(store: Store) -> tuple[Store, list[Interaction]]:
    items = traffic(7)
    write(store, items)
    write(store, [call(900_000 + i, f"u{i}", T0 + i * 3600, project="other") for i in range(20)])
    return store, items


# The window as the API gets it: mid-day seconds, widened to whole UTC days [5, 41).
START, END, LO, HI = T0 + 5 * 86400 + 3600, T0 + 40 * 86400 + 7200, 5, 41


@pytest.mark.parametrize(("dim", "value"), SLICES)
def test_active_users_match_reference(loaded: tuple[Store, list[Interaction]], dim: str | None, value: str | None) -> None:
    store, items = loaded
    got = store.active_users(ActivityQuery(project="p", start=START, end=END, dim=dim, value=value))
    want = reference_active(items, LO, HI, dim, value)
    assert_close(got, want)
    assert len(got) == HI - LO and sum(r["new"] for r in got) > 0 and any(r["wau"] < r["mau"] for r in got)


@pytest.mark.parametrize(("dim", "value"), SLICES)
@pytest.mark.parametrize(("period", "offsets"), [("day", None), ("day", tuple(range(31))), ("week", None), ("week", (0, 1, 3))])
def test_retention_matches_reference(
    loaded: tuple[Store, list[Interaction]], dim: str | None, value: str | None, period: str, offsets: tuple[int, ...] | None
) -> None:
    store, items = loaded
    query = RetentionQuery(project="p", start=START, end=END, period=period, offsets=offsets, dim=dim, value=value)  # type: ignore[arg-type]
    got = store.retention(query)
    want = reference_retention(items, LO, HI, period=period, offsets=offsets, dim=dim, value=value)
    assert_close(got, want)
    assert sum(c["users"] for c in got["cohorts"]) > 0


@pytest.mark.parametrize(("dim", "value"), SLICES)
def test_engagement_matches_reference(loaded: tuple[Store, list[Interaction]], dim: str | None, value: str | None) -> None:
    store, items = loaded
    got = store.engagement(ActivityQuery(project="p", start=START, end=END, dim=dim, value=value))
    want = reference_engagement(items, LO, HI, dim, value)
    assert_close(got, want)
    assert got["summary"]["users"] > 0 and got["summary"]["engagement_s"] > 0


def test_engagement_follows_conversations_across_writes(store: Store) -> None:
    # One call per write, out of time order, so stored conversations grow at both ends and
    # gain calls of other models and statuses; they cross midnight; three users share the
    # conversation ids; loose calls, some without an end. After each write (and a replay of
    # ids already stored) the store agrees with a recount of everything written so far.
    rng = random.Random(3)
    items: list[Interaction] = []
    for u in range(3):
        for c in range(2):
            t = T0 + 86400 - 1800 + rng.uniform(0, 900)
            for _ in range(6):
                latency = None if rng.random() < 0.2 else rng.uniform(100, 5000)
                error = "Timeout" if rng.random() < 0.3 else None
                items.append(call(len(items), f"u{u}", t, conversation_id=f"c{c}", latency_ms=latency,
                                  model=rng.choice(["gpt-4o", "claude"]), error_type=error))
                t += rng.uniform(60, 900)
        for k in range(2):
            items.append(call(len(items), f"u{u}", T0 + 86400 + 3600 * (u + k), latency_ms=None if k else 800.0))
    rng.shuffle(items)
    slices = [*SLICES, ("status", "error"), ("model", "gpt-4o")]

    def check(written: list[Interaction]) -> None:
        for dim, value in slices:
            got = store.engagement(ActivityQuery(project="p", start=T0, end=T0 + 3 * 86400, dim=dim, value=value))
            assert_close(got, reference_engagement(written, 0, 3, dim, value), f"{dim}={value}")

    for lsn, item in enumerate(items, start=1):
        store.write([item], [], lsn=lsn)
        if lsn % 4 == 0:
            check(items[:lsn])
    check(items)
    store.write(items[::3], [], lsn=len(items) + 1)
    check(items)
    assert store.engagement(ActivityQuery(project="p", start=T0, end=T0 + 3 * 86400))["summary"]["interactions"] == len(items)


def test_long_window_is_stitched_from_pieces(store: Store) -> None:
    # Over 99 days the store answers in several statements; the seams must not show.
    items = traffic(11, users=25, days=230)
    write(store, items, batch=1000)
    got = store.active_users(ActivityQuery(project="p", start=T0 + 10 * 86400, end=T0 + 230 * 86400))
    assert_close(got, reference_active(items, 10, 230))
    query = RetentionQuery(project="p", start=T0 + 10 * 86400, end=T0 + 230 * 86400, offsets=(1, 7, 30, 100))
    assert_close(store.retention(query), reference_retention(items, 10, 230, offsets=(1, 7, 30, 100)))


def test_no_data(store: Store) -> None:
    rows = store.active_users(ActivityQuery(project="p", start=T0, end=T0 + 3 * 86400))
    assert rows == reference_active([], 0, 3)
    assert [(r["dau"], r["mau"], r["stickiness"], r["return_rate"]) for r in rows] == [(0, 0, None, None)] * 3
    table = store.retention(RetentionQuery(project="p", start=T0, end=T0 + 3 * 86400))
    assert table == reference_retention([], 0, 3)
    assert [c["users"] for c in table["cohorts"]] == [0, 0, 0] and table["overall"]["active_rate"] == [None, None, None]
    assert store.engagement(ActivityQuery(project="p", start=T0, end=T0 + 3 * 86400)) == reference_engagement([], 0, 3)
    # An empty window has no rows at all.
    assert store.active_users(ActivityQuery(project="p", start=T0, end=T0)) == []
    assert store.retention(RetentionQuery(project="p", start=T0, end=T0))["cohorts"] == []


def test_one_day(store: Store) -> None:
    items = [call(i, f"u{i % 3}", T0 + 3600 + i * 60, conversation_id=f"c{i % 3}", latency_ms=1000.0) for i in range(9)]
    write(store, items)
    rows = store.active_users(ActivityQuery(project="p", start=T0, end=T0 + 86400))
    assert rows == reference_active(items, 0, 1)
    assert [(r["dau"], r["wau"], r["mau"], r["new"], r["returning"], r["stickiness"]) for r in rows] == [(3, 3, 3, 3, 0, 1.0)]
    table = store.retention(RetentionQuery(project="p", start=T0, end=T0 + 86400, offsets=(0, 1)))
    assert table == reference_retention(items, 0, 1, offsets=(0, 1))
    assert table["cohorts"][0]["active"] == [3, None]
    out = store.engagement(ActivityQuery(project="p", start=T0, end=T0 + 86400))
    assert_close(out, reference_engagement(items, 0, 1))
    # each user: 3 calls 3 minutes apart, each 1 s long: 361 s
    assert out["days"][0]["engagement_s_per_user"] == pytest.approx(361.0)
    assert out["summary"]["interactions_per_active_day"] == 3.0


def test_users_without_user_id_are_ignored(store: Store) -> None:
    anonymous = [call(i, None, T0 + i * 600, conversation_id="c", latency_ms=500.0) for i in range(20)]
    write(store, anonymous)
    rows = store.active_users(ActivityQuery(project="p", start=T0, end=T0 + 86400))
    assert [(r["dau"], r["new"]) for r in rows] == [(0, 0)]
    assert store.engagement(ActivityQuery(project="p", start=T0, end=T0 + 86400))["summary"]["interactions"] == 0
    known = [call(100 + i, "u1", T0 + i * 600 + 30, latency_ms=500.0) for i in range(2)]
    store.write(known, [], lsn=99)
    out = store.engagement(ActivityQuery(project="p", start=T0, end=T0 + 86400))
    assert (out["summary"]["users"], out["summary"]["interactions"]) == (1, 2)
    assert out["summary"]["engagement_s"] == pytest.approx(1.0)  # two loose calls of 0.5 s each
    assert store.active_users(ActivityQuery(project="p", start=T0, end=T0 + 86400))[0]["dau"] == 1


def test_slices_are_independent(store: Store) -> None:
    # u1 uses claude on day 0 and gpt-4o from day 2: new to gpt-4o on day 2, returning overall.
    items = [call(0, "u1", T0 + 60, model="claude"), call(1, "u1", T0 + 2 * 86400 + 60, model="gpt-4o")]
    write(store, items)
    everyone = store.active_users(ActivityQuery(project="p", start=T0, end=T0 + 3 * 86400))
    gpt = store.active_users(ActivityQuery(project="p", start=T0, end=T0 + 3 * 86400, dim="model", value="gpt-4o"))
    assert [(r["new"], r["returning"]) for r in everyone] == [(1, 0), (0, 0), (0, 1)]
    assert [(r["new"], r["returning"]) for r in gpt] == [(0, 0), (0, 0), (1, 0)]


def test_bad_queries_name_the_field(store: Store) -> None:
    cases: list[tuple[str, Callable[[], object]]] = [
        ("dim", lambda: store.active_users(ActivityQuery(project="p", start=T0, end=NOW, dim="user_id", value="x"))),
        ("value", lambda: store.active_users(ActivityQuery(project="p", start=T0, end=NOW, dim="model"))),
        ("value", lambda: store.engagement(ActivityQuery(project="p", start=T0, end=NOW, value="x"))),
        ("period", lambda: store.retention(RetentionQuery(project="p", start=T0, end=NOW, period="month"))),  # type: ignore[arg-type]
        ("offsets", lambda: store.retention(RetentionQuery(project="p", start=T0, end=NOW, offsets=(1, -7)))),
        ("offsets", lambda: store.retention(RetentionQuery(project="p", start=T0, end=NOW, offsets=()))),
    ]
    for field, run in cases:
        with pytest.raises(ValidationError) as err:
            run()
        assert err.value.field == field

