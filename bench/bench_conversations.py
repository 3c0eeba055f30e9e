"""The Conversations explorer's store reads at 10M interactions: the list (with and without
filters, and its next page) and one conversation by id.

Reads a copy of the 10M-interaction store that ``bench_query.py`` builds (project "bench",
30 days, conversations of 5 turns) with ``interaction_signals`` filled by
``bench_ux_query.py``. That store's ids are sequential, which lets DuckDB's min/max
pruning find any id cheaply; real ids are random (uuid4 hex), so the copy replaces every
interaction and conversation id by its md5 first. The copy also marks every turn enriched
(the bench fills signals without moving the enrichment watermark) and gives one turn in 20
a thumbs up or down (~500k feedback rows). Prints p50/p95 in ms; records nothing.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from bench._common import ROOT
from bench.bench_query import END
from heron.store.base import ConversationQuery
from heron.store.duckdb import DuckDBStore
from heron.store.migrations import migrations

DAY = 86400.0


def prepare(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` with random-looking ids and every turn enriched (once; for reads only:
    the rewritten tables lose their column defaults)."""
    if target.exists():
        return
    partial = target.with_suffix(".partial")
    shutil.copyfile(source, partial)
    DuckDBStore(partial).close()  # migrated first, so no migration runs on the rewritten tables
    con = duckdb.connect(str(partial))
    con.execute("SET enable_progress_bar = false")
    for table, ident in (("interactions", "id"), ("interaction_signals", "interaction_id")):
        con.execute(
            f"CREATE TABLE {table}_random AS SELECT * REPLACE (md5({ident}) AS {ident}, md5(conversation_id) AS conversation_id)"
            f" FROM {table} ORDER BY rowid"
        )
        con.execute(f"DROP TABLE {table}")  # and its indexes: the store may be migrated already
        con.execute(f"ALTER TABLE {table}_random RENAME TO {table}")
    con.execute(dict(migrations())[9])  # the conversation_id index on interaction_signals
    con.execute("UPDATE enrich_state SET watermark = (SELECT max(rowid) FROM interactions) WHERE id = 0")
    # Thumbs on one turn in 20 (the bench has none): reading a conversation looks its feedback up.
    con.execute(
        "INSERT INTO feedback SELECT project, md5(id || 'f'), id, start_time + INTERVAL 1 MINUTE,"
        " CASE WHEN hash(id) % 2 = 0 THEN 'up' ELSE 'down' END, NULL, NULL, NULL, 'user', user_id, conversation_id, NULL, now()"
        " FROM interactions WHERE hash(id) % 20 = 0"
    )
    con.execute("CHECKPOINT")
    con.close()
    partial.rename(target)


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    run()  # warm
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default=str(ROOT / "bench" / ".data" / "query-10000000.duckdb"))
    parser.add_argument("--store", default=str(ROOT / "bench" / ".data" / "conv-10m.duckdb"))
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    prepare(Path(args.source), Path(args.store))
    store = DuckDBStore(args.store)
    users = [u for (u,) in store._cursor().execute("SELECT user_id FROM interactions USING SAMPLE 20 ROWS").fetchall()]  # noqa: SLF001

    def listing(days: float = 7, **kw: object) -> Callable[[], object]:
        return lambda: store.conversations(ConversationQuery(project="bench", start=END - days * DAY, end=END, **kw))  # type: ignore[arg-type]

    def by_user(**kw: object) -> Callable[[], object]:
        return lambda: store.conversations(
            ConversationQuery(project="bench", start=END - 30 * DAY, end=END, equals=(("user_id", random.choice(users)),), **kw)  # type: ignore[arg-type]
        )

    second = store.conversations(ConversationQuery(project="bench", start=END - 7 * DAY, end=END)).next_cursor
    ids = [c for (c,) in store._cursor().execute("SELECT conversation_id FROM interactions USING SAMPLE 50 ROWS").fetchall()]  # noqa: SLF001
    cases: dict[str, Callable[[], object]] = {
        "list_24h": listing(1),
        "list_7d": listing(7),
        "list_30d": listing(30),
        "list_7d_page_2": listing(7, cursor=second),
        "list_7d_model": listing(7, equals=(("model", "gpt-4o"),)),
        "list_7d_prompt_version": listing(7, equals=(("prompt_version", "v2"),)),
        "list_7d_errors": listing(7, errors=True),
        "list_7d_frustrated": listing(7, frustrated=True),
        "list_7d_negative": listing(7, sentiment="negative"),
        "list_7d_topic": listing(7, topics=(3,)),
        "list_7d_text": listing(7, text="password"),
        "list_7d_text_nowhere": listing(7, text="no such words"),
        "list_7d_model_errors_frustrated": listing(7, equals=(("model", "gpt-4o"),), errors=True, frustrated=True),
        "list_30d_user": by_user(),
        "list_30d_user_frustrated": by_user(frustrated=True),
        "conversation_by_id": lambda: store.conversation("bench", random.choice(ids)),
    }
    print(f"{'request':36} {'p50 ms':>8} {'p95 ms':>8}")
    for name, run in cases.items():
        p50, p95 = timed(run, args.repeat)
        print(f"{name:36} {p50:8.1f} {p95:8.1f}", flush=True)
    store.close()


if __name__ == "__main__":
    main()
