"""The DuckDB store's side of stored history: the one query per batch, and replacing revised signals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from heron.enrich.base import Signals, Turn
from heron.enrich.history import MAX_STORED_HISTORY
from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction, Message
from heron.store.duckdb import DuckDBStore

T0 = 1_763_596_800.0  # 2025-11-20T00:00:00Z
NOW = T0 + 10 * 86400


def _item(ident: str, conversation: str | None, t: float, *texts: str, trace: str | None = None,
          project: str = "p") -> Interaction:
    item = Interaction(id=ident, model="m", start_time=T0 + t, latency_ms=10.0, conversation_id=conversation,
                       trace_id=trace or f"tr-{ident}", output=f"reply to {ident}",
                       input=[Message(role="user", content=text) for text in texts])  # type: ignore[arg-type]
    return normalize_interaction(item, project=project, now=NOW)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "h.duckdb")
    yield s
    s.close()


def _write(store: DuckDBStore, items: list[Interaction]) -> list[Turn]:
    store.write(items, [], lsn=0)
    return [Turn.from_interaction(i) for i in items]


def _enrich(store: DuckDBStore, turns: list[Turn], **values: object) -> None:
    watermark = store._con.execute("SELECT max(rowid) FROM interactions").fetchall()[0][0]  # noqa: SLF001
    store.write_signals(turns, [Signals(interaction_id=t.interaction_id, sentiment=0.0, cues=[], rephrase=False,
                                        repeat=False, complaint=False, frustration=0.0, **values)  # type: ignore[arg-type]
                                for t in turns], watermark)


def test_one_query_finds_the_earlier_calls_of_conversations_that_need_them(store: DuckDBStore) -> None:
    _write(store, [
        _item("old", "c1", -4000, "too long ago"),
        *[_item(f"e{i}", "c1", -100 + i, f"earlier {i}") for i in range(4 * MAX_STORED_HISTORY + 5)],
        _item("other", "c2", -50, "another conversation"),
        _item("proj", "c1", -50, "another project", project="q"),
        _item("full", "c3", -50, "c3 first"),
    ])  # fmt: skip
    batch = _write(store, [_item("b1", "c1", 0, "now"), _item("b3", "c3", 0, "c3 first", "c3 second")])
    found = store.conversation_history(batch)
    texts = [m.text for m in found.messages]
    # c1 only (c3's turn carries its history): the newest 4 x limit earlier calls, oldest first, the batch left out
    assert texts == [f"earlier {i}" for i in range(5, 4 * MAX_STORED_HISTORY + 5)]
    assert {m.conversation_id for m in found.messages} == {"c1"} and found.enriched == []
    assert found.messages[0].trace_id == "tr-e5" and found.messages[0].start_time == pytest.approx(T0 - 95)
    assert store.conversation_history(_write(store, [_item("x", None, 0, "no conversation")])).messages == []


def test_enriched_later_turns_come_back_as_candidates(store: DuckDBStore) -> None:
    later = _write(store, [_item("t2", "c1", 60, "second, alone"), _item("t3", "c1", 90, "first", "third, with history"),
                           _item("t4", "c1", 5000, "far later")])
    _enrich(store, later)
    pending = _write(store, [_item("t2b", "c1", 70, "stored after the batch, not enriched")])
    late = _write(store, [_item("t1", "c1", 0, "first")])
    found = store.conversation_history(late)
    assert [t.interaction_id for t in found.enriched] == ["t2"]  # t3 carried history, t4 is out of the window
    assert found.enriched[0].reply_text == "reply to t2" and found.enriched[0].trace_id == "tr-t2"
    assert [m.interaction_id for m in found.messages] == ["t2", "t3"]  # after the batch's last turn: enriched ones only
    assert pending[0].interaction_id not in {m.interaction_id for m in found.messages}


def test_revised_signals_replace_the_stored_ones_and_rollups_match_a_rebuild(store: DuckDBStore) -> None:
    t2, t3 = _write(store, [_item("t2", "c1", 60, "how do I reset my password"), _item("t3", "c1", 120, "thanks")])
    _enrich(store, [t2, t3])
    (t1,) = _write(store, [_item("t1", "c1", 0, "How do I reset my password?")])
    watermark = store._con.execute("SELECT max(rowid) FROM interactions").fetchall()[0][0]  # noqa: SLF001
    first = Signals(interaction_id="t1", sentiment=0.0, cues=[], rephrase=False, repeat=False, complaint=False,
                    frustration=0.0)
    again = Signals(interaction_id="t2", sentiment=0.0, cues=[], rephrase=False, repeat=True, complaint=False,
                    similarity=0.97, frustration=0.5)
    store.write_signals([t1], [first], watermark, revised=[(t2, again)])
    stored = {i["id"]: i["signals"] for i in store.conversation("p", "c1")}
    assert stored["t2"]["repeat"] is True and stored["t2"]["frustration"] == 0.5 and stored["t2"]["similarity"] == 0.97
    assert stored["t1"]["repeat"] is False and stored["t3"]["repeat"] is False
    summary = store.ux_summary("p", T0 - 3600, T0 + 3600)[0]
    assert summary["interactions"] == 3

    con = store._con  # noqa: SLF001
    before = con.execute("SELECT * FROM ux_rollup_hour ORDER BY ALL").fetchall()
    flow = con.execute("SELECT * FROM ux_flow_hour ORDER BY ALL").fetchall()
    store.rebuild_ux("p")
    after = con.execute("SELECT * FROM ux_rollup_hour ORDER BY ALL").fetchall()
    assert [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in before] == \
        [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in after]
    assert con.execute("SELECT * FROM ux_flow_hour ORDER BY ALL").fetchall() == flow
