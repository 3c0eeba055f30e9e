"""Every Store keeps ``retry_of`` and can list an interaction's regenerations (the suite of test_store_contract)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from heron.store.base import Filters, InteractionQuery, MetricsQuery, Store
from tests.contract.test_store_contract import BACKENDS, NOW, T0, make


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = BACKENDS[request.param](tmp_path)
    yield backend
    backend.close()


def test_retry_of_round_trips_through_every_read(store: Store) -> None:
    rng = random.Random(7)
    first = make(0, rng, conversation_id="conv")
    again = make(1, rng, conversation_id="conv", retry_of=first.id)
    third = make(2, rng, conversation_id="conv", retry_of=again.id)
    other = make(3, rng, conversation_id="conv", retry_of=first.id)
    store.write([first, again, third, other], [], lsn=1)

    assert [t["retry_of"] for t in store.conversation("p", "conv")] == [None, first.id, again.id, first.id]
    one = store.get_interaction("p", third.id)
    assert one is not None and one["retry_of"] == again.id
    listed = store.list_interactions(InteractionQuery(project="p", limit=10))
    assert {x["id"]: x["retry_of"] for x in listed.items} == {
        first.id: None, again.id: first.id, third.id: again.id, other.id: first.id,
    }
    retries = store.list_interactions(
        InteractionQuery(project="p", limit=10, filters=Filters(equals=(("retry_of", first.id),)))
    )
    assert sorted(x["id"] for x in retries.items) == sorted([again.id, other.id])
    rows = store.metrics(
        MetricsQuery(project="p", start=T0, end=NOW, bucket="all", group_by="retry_of", metrics=("count",))
    )
    assert {r["group"]: r["count"] for r in rows} == {None: 1, first.id: 2, again.id: 1}
