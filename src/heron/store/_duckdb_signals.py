"""Enrichment's reads and writes in DuckDB: turns still to enrich, and the signals found.

Interactions are enriched in insertion order: ``enrich_state.watermark`` is the
highest ``rowid`` of ``interactions`` already enriched, so the backlog is a
range scan and nothing is enriched twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from heron.enrich.base import MAX_ENRICH_CHARS, Signals, Turn, split_messages
from heron.enrich.history import HISTORY_WINDOW_S, MAX_STORED_HISTORY, ConversationHistory, Said, needs_history
from heron.store import _duckdb_ux as ux
from heron.store._duckdb_tx import rollback

_decode_messages = msgspec.json.Decoder(list[dict[str, Any]]).decode


def _clip(text: Any) -> str:
    return text[:MAX_ENRICH_CHARS] if isinstance(text, str) else ""


def _epoch(value: datetime) -> float:
    return value.replace(tzinfo=timezone.utc).timestamp()


def _naive(micros: int) -> datetime:
    """Epoch microseconds as the naive UTC timestamp the tables hold."""
    return datetime(1970, 1, 1) + timedelta(microseconds=micros)


_TURN_COLUMNS = (
    "id, project, start_time, conversation_id, user_id, input, output, status, error_type, finish_reason,"
    " model, prompt_version, app_version, variant, latency_ms, cost_usd, retry_of, trace_id"
)


def turn_from_row(row: tuple[Any, ...]) -> Turn:
    """A row of ``_TURN_COLUMNS``."""
    ident, project, start, conversation, user, input_json, output, status, error_type, finish, model, prompt, app, variant, latency, cost, retry_of, trace = row
    text, previous = split_messages(_messages(input_json))
    return Turn(
        interaction_id=ident, project=project, start_time=_epoch(start), conversation_id=conversation, user_id=user,
        user_text=text, previous_user_texts=previous, reply_text=_clip(output),
        status=status, error_type=error_type, finish_reason=finish, model=model,
        prompt_version=prompt, app_version=app, variant=variant, latency_ms=latency, cost_usd=cost, retry_of=retry_of,
        trace_id=trace,
    )  # fmt: skip


# The stored calls of the batch's conversations (``history_batch``: those of its turns that need history)
# around its turns, one statement: every call from a window before the conversation's first batch turn
# (the newest $keep of those before it) to its last, and the enriched ones up to a window after it (they
# may need to be revised); the batch's own calls are left out (the worker has them). The calls are found
# on narrow columns (conversation, id, time) and only those kept are read whole, by rowid: reading the
# messages of every call in the window cost 2.5x as much with a million calls in it.
_HISTORY = f"""
WITH b AS (SELECT project, conversation_id, id, start_time FROM history_batch),
k AS (SELECT project, conversation_id, min(start_time) AS first, max(start_time) AS last FROM b GROUP BY ALL),
hit AS (
    SELECT i.rowid AS rid, i.project, i.id, i.start_time, k.first, k.last
    FROM (SELECT rowid, project, conversation_id, id, start_time FROM interactions
          WHERE start_time >= $lo AND start_time <= $hi AND conversation_id IN (SELECT conversation_id FROM k)) i
    JOIN k ON i.project = k.project AND i.conversation_id = k.conversation_id
    WHERE i.start_time >= k.first - to_microseconds($window) AND i.start_time <= k.last + to_microseconds($window)
      AND NOT EXISTS (SELECT 1 FROM b WHERE b.project = i.project AND b.id = i.id)
    QUALIFY i.start_time >= k.first OR row_number() OVER (
        PARTITION BY i.project, i.conversation_id, i.start_time < k.first ORDER BY i.start_time DESC) <= $keep
),
kept AS (
    SELECT h.rid, s.interaction_id IS NOT NULL AS enriched FROM hit h LEFT JOIN
        (SELECT project, interaction_id FROM interaction_signals WHERE start_time > $first AND start_time <= $hi
         AND interaction_id IN (SELECT id FROM hit WHERE start_time > first)) s
        ON s.project = h.project AND s.interaction_id = h.id AND h.start_time > h.first
    WHERE h.start_time <= h.last OR s.interaction_id IS NOT NULL
)
SELECT {_TURN_COLUMNS.replace("output", "CASE WHEN enriched THEN output END")}, enriched
FROM (SELECT rowid AS rid, * FROM interactions
      WHERE start_time >= $lo AND start_time <= $hi AND rowid IN (SELECT rid FROM kept)) i
JOIN kept USING (rid)
ORDER BY start_time
"""


class DuckDBSignals:
    """Mixin for DuckDBStore: needs ``_con``, ``_cursor()`` and ``_write_lock``."""

    _con: duckdb.DuckDBPyConnection
    _write_lock: Any

    def _cursor(self) -> duckdb.DuckDBPyConnection:  # provided by DuckDBStore
        raise NotImplementedError

    def pending_turns(self, limit: int, after: int | None = None) -> tuple[list[Turn], int]:
        """Up to ``limit`` interactions not enriched yet, oldest first, and the rowid of the last one.

        ``after`` reads past a batch still being enriched (default: the stored watermark).
        """
        cur = self._cursor()
        watermark = after if after is not None else cur.execute("SELECT watermark FROM enrich_state WHERE id = 0").fetchall()[0][0]
        rows = cur.execute(
            f"SELECT rowid, {_TURN_COLUMNS} FROM interactions WHERE rowid > ? ORDER BY rowid LIMIT ?",
            [watermark, limit],
        ).fetchall()
        if not rows:
            return [], int(watermark)
        return [turn_from_row(r[1:]) for r in rows], int(rows[-1][0])

    def enrich_backlog(self) -> tuple[int, float | None]:
        """(interactions not enriched yet, ingest time of the oldest of them as epoch seconds)."""
        cur = self._cursor()
        row = cur.execute(
            "SELECT count(*), min(epoch_us(ingested_at)) FROM interactions"
            " WHERE rowid > (SELECT watermark FROM enrich_state WHERE id = 0)"
        ).fetchall()[0]
        return int(row[0]), (row[1] / 1e6 if row[1] is not None else None)

    def conversation_history(self, turns: Sequence[Turn], *, window_s: float = HISTORY_WINDOW_S,
                             limit: int = MAX_STORED_HISTORY) -> ConversationHistory:
        """The stored calls of the conversations of ``turns`` that some turn :func:`needs history
        <heron.enrich.history.needs_history>` in: one query per batch.

        ``messages``: such a conversation's calls from ``window_s`` before its first turn in ``turns``
        (the newest ``4 * limit`` before it: same-trace calls and blanks are dropped later) to its
        last, plus the enriched ones up to ``window_s`` after that; ``enriched``: those enriched
        calls, after its first turn, whose input carries no history (candidates for a revisit). The
        cost is a scan of the conversation ids of the calls stored in that window (~0.1 s of CPU per
        batch of 2,000 with a million calls an hour); the turns' own calls are not returned.
        """
        keys = {(t.project, t.conversation_id) for t in turns if needs_history(t)}
        if not keys:
            return ConversationHistory([], [])
        batch = [t for t in turns if (t.project, t.conversation_id) in keys]
        starts = [round(t.start_time * 1_000_000) for t in batch]
        table = pa.table({
            "project": [t.project for t in batch],
            "conversation_id": [t.conversation_id for t in batch],
            "id": [t.interaction_id for t in batch],
            "start_time": pa.array(starts, pa.timestamp("us")),
        })  # fmt: skip
        window = round(window_s * 1_000_000)
        cur = self._cursor()
        cur.register("history_batch", table)
        try:
            rows = cur.execute(_HISTORY, {
                "lo": _naive(min(starts) - window), "hi": _naive(max(starts) + window), "first": _naive(min(starts)),
                "window": window, "keep": 4 * limit,
            }).fetchall()  # fmt: skip
        finally:
            cur.unregister("history_batch")
        messages, enriched = [], []
        for row in rows:
            if row[-1]:
                turn = turn_from_row(row[:-1])
                messages.append(Said.of(turn))
                if needs_history(turn):
                    enriched.append(turn)
            else:
                ident, project, start, conversation, trace = row[0], row[1], row[2], row[3], row[-2]
                messages.append(Said(project, conversation, ident, _epoch(start), user_text(row[5]), trace))
        return ConversationHistory(messages, enriched)

    def write_signals(self, turns: Sequence[Turn], signals: Sequence[Signals], watermark: int, *,
                      revised: Sequence[tuple[Turn, Signals]] = ()) -> None:
        """Store one enriched batch and advance the watermark, atomically.

        ``revised``: turns enriched before, with their history-dependent signals computed again
        (an earlier turn of their conversation came late, :func:`heron.enrich.history.to_revisit`);
        their ``similarity`` and :data:`~heron.store._duckdb_ux.REVISABLE` signals are replaced and
        the rollups revised. A revised turn without stored signals is skipped.
        """
        now = round(time.time() * 1_000_000)
        table = pa.table(
            {
                "project": [t.project for t in turns],
                "interaction_id": [s.interaction_id for s in signals],
                "start_time": pa.array([round(t.start_time * 1_000_000) for t in turns], pa.timestamp("us")),
                "conversation_id": [t.conversation_id for t in turns],
                "user_id": [t.user_id for t in turns],
                "model": [t.model for t in turns],
                "prompt_version": [t.prompt_version for t in turns],
                "app_version": [t.app_version for t in turns],
                "variant": [t.variant for t in turns],
                "language": pa.array([s.language for s in signals], pa.string()),
                "reply_language": pa.array([s.reply_language for s in signals], pa.string()),
                "sentiment": pa.array([s.sentiment for s in signals], pa.float64()),
                "reply_sentiment": pa.array([s.reply_sentiment for s in signals], pa.float64()),
                "cues": pa.array([list(s.cues) for s in signals], pa.list_(pa.string())),
                **{
                    name: pa.array([getattr(s, name) for s in signals], pa.bool_())
                    for name in ("rephrase", "repeat", "complaint", "shouting", "refusal", "empty_reply", "truncated", "error",
                                 "language_mismatch")
                },
                "similarity": pa.array([s.similarity for s in signals], pa.float64()),
                "frustration": pa.array([s.frustration for s in signals], pa.float64()),
                "topic_id": pa.array([s.topic_id for s in signals], pa.int32()),
                "topic_similarity": pa.array([s.topic_similarity for s in signals], pa.float64()),
                "retry": pa.array([t.retry_of is not None for t in turns], pa.bool_()),
                "latency_ms": pa.array([t.latency_ms for t in turns], pa.float64()),
                "cost_usd": pa.array([t.cost_usd for t in turns], pa.float64()),
                "enriched_at": pa.array([now] * len(signals), pa.timestamp("us")),
            }
        )
        columns = ", ".join(f'"{c}"' for c in table.column_names)
        with self._transaction() as con:
            con.register("signals_batch", table)
            con.execute(f"INSERT INTO interaction_signals ({columns}) SELECT {columns} FROM signals_batch")
            if not revised:
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE touched AS SELECT project, coalesce(conversation_id, interaction_id)"
                    f" AS conv_key, min(start_time) - {ux.SESSION_GAP_S} * INTERVAL 1 SECOND AS lo FROM signals_batch GROUP BY ALL"
                )
                con.unregister("signals_batch")
                ux.revise(con)
            else:
                con.register("revised_batch", _revised_table(revised))
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE touched AS SELECT project, coalesce(conversation_id, interaction_id)"
                    f" AS conv_key, min(start_time) - {ux.SESSION_GAP_S} * INTERVAL 1 SECOND AS lo FROM"
                    " (SELECT project, conversation_id, interaction_id, start_time FROM signals_batch UNION ALL"
                    " SELECT project, conversation_id, interaction_id, start_time FROM revised_batch) GROUP BY ALL"
                )
                con.unregister("signals_batch")
                ux.revise(con, _replace_revised)
                con.unregister("revised_batch")
            con.execute("UPDATE enrich_state SET watermark = ? WHERE id = 0", [watermark])

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The writer connection inside BEGIN/COMMIT, under the write lock; rolled back on error."""
        with self._write_lock:
            con = self._con
            con.execute("BEGIN")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                rollback(con)
                raise

    def apply_feedback(self, limit: int = 10_000) -> int:
        """Fold feedback that arrived after its turn was enriched into the turn and the rollups; returns rows read.

        Feedback for a turn not enriched yet needs nothing: enrichment reads it. The
        turn is looked for among the week before the feedback first (a range the
        table's min/max index narrows), and only the ones not found there in the whole table.
        """
        with self._transaction() as con:
            watermark, enriched = con.execute("SELECT feedback_watermark, watermark FROM enrich_state WHERE id = 0").fetchall()[0]
            # While interactions wait for enrichment, only feedback that arrived before the last enriched one
            # was ingested is taken (its turn, if it came first, is enriched); the rest waits its turn.
            cutoff = con.execute(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM interactions WHERE rowid > $1) THEN"
                " (SELECT ingested_at FROM interactions WHERE rowid = $1) ELSE TIMESTAMP 'infinity' END",
                [enriched],
            ).fetchall()[0][0]
            if cutoff is None:
                return 0
            con.execute(
                "CREATE OR REPLACE TEMP TABLE fb_new AS SELECT r, project, interaction_id, time FROM ("
                " SELECT rowid AS r, project, interaction_id, time, max(ingested_at) OVER (ORDER BY rowid) AS seen"
                " FROM (SELECT rowid, * FROM feedback WHERE rowid > ? ORDER BY rowid LIMIT ?)) WHERE seen <= ?",
                [watermark, limit, cutoff],
            )
            count, last, since = con.execute("SELECT count(*), max(r), min(time) FROM fb_new").fetchall()[0]
            if not count:
                return 0
            con.execute(
                "CREATE OR REPLACE TEMP TABLE fb_hit AS SELECT s.project, coalesce(s.conversation_id, s.interaction_id) AS conv_key,"
                " s.start_time AS lo, s.interaction_id FROM interaction_signals s JOIN fb_new f"
                " ON f.project = s.project AND f.interaction_id = s.interaction_id WHERE s.start_time >= ? - INTERVAL 7 DAY",
                [since],
            )
            missing = con.execute(
                "SELECT count(*) FROM fb_new f WHERE NOT EXISTS (SELECT 1 FROM fb_hit h WHERE h.project = f.project"
                " AND h.interaction_id = f.interaction_id)"
            ).fetchall()[0][0]
            if missing:
                con.execute(
                    "INSERT INTO fb_hit SELECT s.project, coalesce(s.conversation_id, s.interaction_id), s.start_time,"
                    " s.interaction_id FROM interaction_signals s JOIN fb_new f ON f.project = s.project"
                    " AND f.interaction_id = s.interaction_id WHERE s.start_time < ? - INTERVAL 7 DAY",
                    [since],
                )
            con.execute("CREATE OR REPLACE TEMP TABLE touched AS SELECT project, conv_key, min(lo) AS lo FROM fb_hit GROUP BY ALL")
            ux.revise(con)
            con.execute("UPDATE enrich_state SET feedback_watermark = ? WHERE id = 0", [last])
            return int(count)

    # -- topics -----------------------------------------------------------------

    def save_topic_model(self, project: str, model: dict[str, Any], *, reason: str) -> int:
        """Store a new version of the project's topic model; returns its version."""
        with self._transaction() as con:
            version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM topic_models WHERE project = ?", [project]).fetchall()[0][0]
            con.execute(
                "INSERT INTO topic_models VALUES (?, ?, now()::TIMESTAMP, ?, ?)",
                [project, version, reason, msgspec.json.encode(model).decode()],
            )
        return int(version)

    def topic_models(self) -> dict[str, tuple[int, dict[str, Any]]]:
        """The latest topic model of every project that has one: project -> (version, model)."""
        rows = self._cursor().execute(
            "SELECT project, version, model FROM topic_models QUALIFY version = max(version) OVER (PARTITION BY project)"
        ).fetchall()
        return {project: (int(version), msgspec.json.decode(model)) for project, version, model in rows}

    def topic_sample(self, project: str, limit: int) -> list[str]:
        """Distinct recent user messages of enriched turns, newest first: what a topic model is fitted on."""
        rows = self._cursor().execute(
            "SELECT input FROM interactions WHERE project = ? AND rowid <= (SELECT watermark FROM enrich_state WHERE id = 0)"
            " ORDER BY rowid DESC LIMIT ?",
            [project, limit * 2],
        ).fetchall()
        texts: dict[str, None] = {}
        for (input_json,) in rows:
            text = user_text(input_json)
            if text.strip():
                texts[text] = None
            if len(texts) >= limit:
                break
        return list(texts)

    def untopiced_turns(self, project: str, limit: int) -> list[tuple[str, str, str | None]]:
        """Enriched turns without a topic (enriched before the project had a model): (id, text, previous text)."""
        rows = self._cursor().execute(
            "SELECT i.id, i.input FROM interactions i JOIN (SELECT interaction_id, start_time FROM interaction_signals"
            " WHERE project = ? AND topic_id IS NULL ORDER BY start_time DESC LIMIT ?) s"
            " ON i.id = s.interaction_id AND i.start_time = s.start_time WHERE i.project = ?",
            [project, limit, project],
        ).fetchall()
        out = []
        for ident, input_json in rows:
            text, previous = split_messages(_messages(input_json))
            out.append((ident, text, previous[-1] if previous else None))
        return out

    def set_topics(self, project: str, assignments: Sequence[tuple[str, int, float | None]]) -> int:
        """Give turns their topic (id, topic, similarity) and move them in the rollups and the flow; returns turns changed."""
        if not assignments:
            return 0
        table = pa.table(
            {
                "interaction_id": [a[0] for a in assignments],
                "topic_id": pa.array([a[1] for a in assignments], pa.int32()),
                "topic_similarity": pa.array([a[2] for a in assignments], pa.float64()),
            }
        )
        with self._transaction() as con:
            con.register("topic_batch", table)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE topic_new AS SELECT s.project, s.interaction_id, s.start_time,"
                " coalesce(s.conversation_id, s.interaction_id) AS conv_key, b.topic_id, b.topic_similarity"
                " FROM interaction_signals s JOIN topic_batch b ON b.interaction_id = s.interaction_id WHERE s.project = ?",
                [project],
            )
            con.unregister("topic_batch")
            con.execute(
                "CREATE OR REPLACE TEMP TABLE touched AS SELECT project, conv_key, min(start_time) AS lo FROM topic_new GROUP BY ALL"
            )

            def mutate(c: duckdb.DuckDBPyConnection) -> None:
                c.execute(
                    "UPDATE interaction_signals s SET topic_id = n.topic_id, topic_similarity = n.topic_similarity"
                    " FROM topic_new n WHERE s.start_time >= (SELECT min(start_time) FROM topic_new)"
                    " AND s.project = n.project AND s.interaction_id = n.interaction_id"
                )

            return ux.revise(con, mutate)

    def rebuild_ux(self, project: str | None = None, *, progress: Callable[[int, int], None] | None = None) -> None:
        """Re-derive every turn and rebuild the UX rollups (after the migration that introduced them, or a repair)."""
        with self._write_lock:
            ux.rebuild(self._con, project, progress=progress)

    def ux_ready(self) -> bool:
        return bool(self._cursor().execute("SELECT ux_ready FROM enrich_state WHERE id = 0").fetchall()[0][0])


_REVISED = ("similarity", *ux.REVISABLE)


def _revised_table(revised: Sequence[tuple[Turn, Signals]]) -> pa.Table:
    return pa.table({
        "project": [t.project for t, _ in revised],
        "conversation_id": [t.conversation_id for t, _ in revised],
        "interaction_id": [t.interaction_id for t, _ in revised],
        "start_time": pa.array([round(t.start_time * 1_000_000) for t, _ in revised], pa.timestamp("us")),
        **{name: pa.array([getattr(s, name) for _, s in revised], pa.bool_()) for name in ("rephrase", "repeat", "complaint")},
        **{name: pa.array([getattr(s, name) for _, s in revised], pa.float64()) for name in ("similarity", "frustration")},
    })  # fmt: skip


def _replace_revised(con: duckdb.DuckDBPyConnection) -> None:
    """The ``mutate`` of :func:`ux.revise` for ``revised_batch``."""
    columns = ", ".join(f'"{c}" = r."{c}"' for c in _REVISED)
    con.execute(
        f"UPDATE interaction_signals s SET {columns} FROM revised_batch r"
        " WHERE s.start_time BETWEEN (SELECT min(start_time) FROM revised_batch) AND (SELECT max(start_time) FROM revised_batch)"
        " AND s.project = r.project AND s.interaction_id = r.interaction_id"
    )


def _messages(input_json: Any) -> list[dict[str, Any]]:
    try:
        return _decode_messages(input_json) if input_json else []
    except msgspec.DecodeError:
        return []


def user_text(input_json: Any) -> str:
    return split_messages(_messages(input_json))[0]
