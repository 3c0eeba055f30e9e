"""The enrichment runner gives one-message turns their stored history: across batches, within one, and late."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction, Message
from heron.server.enrichment import EnrichmentRunner
from heron.server.ingest.pipeline import IngestPipeline
from heron.server.ingest.wal import WriteAheadLog
from heron.store.duckdb import DuckDBStore

T0 = 1_763_596_800.0  # 2025-11-20T00:00:00Z
NOW = T0 + 86400
FIRST = "How do I reset my password?"
REPHRASE = "I mean, what are the steps to reset a forgotten password?"


def _item(ident: str, conversation: str, t: float, *texts: str) -> Interaction:
    item = Interaction(id=ident, model="m", start_time=T0 + t, latency_ms=10.0, conversation_id=conversation,
                       trace_id=f"trace-{ident}", output="Here is how.",
                       input=[Message(role="user", content=text) for text in texts])  # type: ignore[arg-type]
    return normalize_interaction(item, project="p", now=NOW)


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[EnrichmentRunner]:
    store = DuckDBStore(tmp_path / "h.duckdb")
    wal = WriteAheadLog(tmp_path / "wal", fsync=False)
    yield EnrichmentRunner(store, IngestPipeline(store, wal), batch=2, in_process=True)
    wal.close()
    store.close()


def _signals(runner: EnrichmentRunner, conversation: str) -> dict[str, dict[str, Any]]:
    return {i["id"]: i["signals"] for i in runner.store.conversation("p", conversation)}


def _drain(runner: EnrichmentRunner) -> None:
    while runner.run_once():
        pass


def test_turns_of_later_batches_compare_with_the_stored_ones(runner: EnrichmentRunner) -> None:
    for item in [_item("a1", "a", 0, FIRST), _item("x1", "x", 5, "What is the weather in Paris tomorrow?"),
                 _item("a2", "a", 30, REPHRASE), _item("x2", "x", 35, "Can I export my invoices as CSV?"),
                 _item("a3", "a", 60, FIRST)]:
        runner.store.write([item], [], lsn=0)
    _drain(runner)
    a, x = _signals(runner, "a"), _signals(runner, "x")
    assert a["a2"]["rephrase"] and not a["a2"]["repeat"] and a["a3"]["repeat"]
    assert not (a["a1"]["rephrase"] or a["a1"]["repeat"])
    assert not any(s["rephrase"] or s["repeat"] for s in x.values())
    assert runner.stats.revised == 0


def test_turns_of_one_batch_see_each_other_whatever_their_arrival_order(runner: EnrichmentRunner) -> None:
    runner.batch = 10
    runner.store.write([_item("b3", "b", 60, FIRST), _item("b2", "b", 30, REPHRASE), _item("b1", "b", 0, FIRST)], [], lsn=0)
    _drain(runner)
    b = _signals(runner, "b")
    assert b["b2"]["rephrase"] and b["b3"]["repeat"] and not (b["b1"]["repeat"] or b["b1"]["rephrase"])


def test_input_history_is_used_as_sent(runner: EnrichmentRunner) -> None:
    runner.store.write([_item("s1", "s", 0, FIRST), _item("s2", "s", 60, "Tell me a joke", FIRST)], [], lsn=0)
    _drain(runner)
    s = _signals(runner, "s")
    assert not (s["s2"]["repeat"] or s["s2"]["rephrase"])  # compared with "Tell me a joke" only, as the app sent it


def test_a_late_earlier_turn_revises_the_turns_after_it(runner: EnrichmentRunner) -> None:
    runner.store.write([_item("l2", "l", 30, REPHRASE), _item("l3", "l", 60, "thanks")], [], lsn=0)
    _drain(runner)
    before = _signals(runner, "l")
    assert not before["l2"]["rephrase"]
    summary = runner.store.ux_summary("p", T0 - 3600, T0 + 3600)[0]  # type: ignore[attr-defined]
    runner.store.write([_item("l1", "l", 0, FIRST)], [], lsn=0)  # arrives after the turns it precedes
    _drain(runner)
    after = _signals(runner, "l")
    assert after["l2"]["rephrase"] and after["l2"]["frustration"] > before["l2"]["frustration"]
    assert not after["l3"]["rephrase"] and runner.stats.revised == 2  # both were looked at again
    assert after["l2"]["sentiment"] == before["l2"]["sentiment"] and after["l2"]["language"] == before["l2"]["language"]
    revised = runner.store.ux_summary("p", T0 - 3600, T0 + 3600)[0]  # type: ignore[attr-defined]
    assert revised["interactions"] == summary["interactions"] + 1


def test_a_late_turn_revises_the_batch_still_in_flight(runner: EnrichmentRunner) -> None:
    runner.store.write([_item("f2", "f", 30, FIRST), _item("f9", "g", 0, "unrelated")], [], lsn=0)
    assert runner._step() == 2  # noqa: SLF001  (read and submitted; not stored yet)
    runner.store.write([_item("f1", "f", 0, FIRST)], [], lsn=0)
    while runner._step():  # noqa: SLF001
        pass
    assert _signals(runner, "f")["f2"]["repeat"] and runner.stats.revised == 1
