"""Enrichment's reads and writes in DuckDB: turns still to enrich, and the signals found.

Interactions are enriched in insertion order: ``enrich_state.watermark`` is the
highest ``rowid`` of ``interactions`` already enriched, so the backlog is a
range scan and nothing is enriched twice.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from heron.enrich.base import MAX_ENRICH_CHARS, Signals, Turn, split_messages
from heron.enrich.satisfaction import shipped_weights

_decode_messages = msgspec.json.Decoder(list[dict[str, Any]]).decode


def _clip(text: Any) -> str:
    return text[:MAX_ENRICH_CHARS] if isinstance(text, str) else ""


def _epoch(value: datetime) -> float:
    return value.replace(tzinfo=timezone.utc).timestamp()


def turn_from_row(row: tuple[Any, ...]) -> Turn:
    """(id, project, start_time, conversation_id, user_id, input JSON, output, status, error_type, finish_reason,
    model, prompt_version, app_version, variant)."""
    ident, project, start, conversation, user, input_json, output, status, error_type, finish, model, prompt, app, variant = row
    try:
        messages = _decode_messages(input_json) if input_json else []
    except msgspec.DecodeError:
        messages = []
    text, previous = split_messages(messages)
    return Turn(
        interaction_id=ident, project=project, start_time=_epoch(start), conversation_id=conversation, user_id=user,
        user_text=text, previous_user_texts=previous, reply_text=_clip(output),
        status=status, error_type=error_type, finish_reason=finish, model=model,
        prompt_version=prompt, app_version=app, variant=variant,
    )  # fmt: skip


class DuckDBSignals:
    """Mixin for DuckDBStore: needs ``_con``, ``_cursor()`` and ``_write_lock``."""

    _con: duckdb.DuckDBPyConnection
    _write_lock: Any

    def _cursor(self) -> duckdb.DuckDBPyConnection:  # provided by DuckDBStore
        raise NotImplementedError

    def pending_turns(self, limit: int) -> tuple[list[Turn], int]:
        """Up to ``limit`` interactions not enriched yet, oldest first, and the rowid of the last one."""
        cur = self._cursor()
        watermark = cur.execute("SELECT watermark FROM enrich_state WHERE id = 0").fetchall()[0][0]
        rows = cur.execute(
            "SELECT rowid, id, project, start_time, conversation_id, user_id, input, output, status, error_type,"
            " finish_reason, model, prompt_version, app_version, variant FROM interactions WHERE rowid > ? ORDER BY rowid LIMIT ?",
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

    def write_signals(self, turns: Sequence[Turn], signals: Sequence[Signals], watermark: int) -> None:
        """Store one enriched batch and advance the watermark, atomically."""
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
                "sentiment": pa.array([s.sentiment for s in signals], pa.float64()),
                "reply_sentiment": pa.array([s.reply_sentiment for s in signals], pa.float64()),
                "cues": pa.array([list(s.cues) for s in signals], pa.list_(pa.string())),
                **{
                    name: pa.array([getattr(s, name) for s in signals], pa.bool_())
                    for name in ("rephrase", "repeat", "complaint", "shouting", "refusal", "empty_reply", "truncated", "error")
                },
                "similarity": pa.array([s.similarity for s in signals], pa.float64()),
                "frustration": pa.array([s.frustration for s in signals], pa.float64()),
                "topic_id": pa.array([s.topic_id for s in signals], pa.int32()),
                "topic_similarity": pa.array([s.topic_similarity for s in signals], pa.float64()),
                "enriched_at": pa.array([now] * len(signals), pa.timestamp("us")),
            }
        )
        columns = ", ".join(f'"{c}"' for c in table.column_names)
        with self._write_lock:
            con = self._con
            con.execute("BEGIN")
            try:
                con.register("signals_batch", table)
                con.execute(f"INSERT INTO interaction_signals ({columns}) SELECT {columns} FROM signals_batch")
                con.unregister("signals_batch")
                con.execute("UPDATE enrich_state SET watermark = ? WHERE id = 0", [watermark])
                con.execute("COMMIT")
            except duckdb.Error:
                con.execute("ROLLBACK")
                raise


UX_GROUPS: tuple[str, ...] = ("model", "prompt_version", "app_version", "variant", "language", "topic_id")
"""What UX summaries may be grouped by."""

_NEXT = {
    "next_complaint": "coalesce(n_complaint::INT, 0)",
    "next_rephrase": "coalesce(n_rephrase::INT, 0)",
    "next_repeat": "coalesce(n_repeat::INT, 0)",
    "next_thanks": "coalesce(n_thanks::INT, 0)",
    "next_sentiment": "coalesce(n_sentiment, 0)",
    "unexpected": "(coalesce(refusal, false) OR coalesce(empty_reply, false) OR coalesce(truncated, false)"
    " OR coalesce(error, false))::INT",
    "ended": "ended::INT",
}
_EXPLICIT = (
    "CASE WHEN f.thumbs IS NOT NULL THEN (f.thumbs = 'up')::DOUBLE WHEN f.rating IS NOT NULL THEN"
    " greatest(0.0, least(1.0, CASE WHEN f.rating <= 5 THEN (f.rating - 1) / 4.0 ELSE f.rating / 10.0 END)) END"
)


def _ux_summary_sql(t: str, group: str) -> str:
    implicit = shipped_weights().sql(_NEXT)
    return f"""
WITH f AS (
    SELECT interaction_id, last(thumbs ORDER BY time) FILTER (WHERE thumbs IS NOT NULL) AS thumbs,
           last(rating ORDER BY time) FILTER (WHERE rating IS NOT NULL) AS rating
    FROM feedback WHERE project = ? AND (thumbs IS NOT NULL OR rating IS NOT NULL) GROUP BY interaction_id
), s AS (
    SELECT s.*, lead(complaint) OVER w AS n_complaint, lead(rephrase) OVER w AS n_rephrase,
           lead("repeat") OVER w AS n_repeat, lead(list_contains(cues, 'gratitude')) OVER w AS n_thanks,
           lead(sentiment) OVER w AS n_sentiment, lead(interaction_id) OVER w IS NULL AS ended
    FROM interaction_signals s WHERE s.project = ? AND s.start_time >= ? AND s.start_time < ?
    WINDOW w AS (PARTITION BY coalesce(conversation_id, interaction_id) ORDER BY start_time)
)
SELECT {t} AS t, {group} AS "group", count(*) AS interactions, count(DISTINCT s.conversation_id) AS conversations,
       avg(coalesce({_EXPLICIT}, {implicit})) AS satisfaction_avg,
       avg(sentiment) AS sentiment_avg, avg((sentiment <= -0.05)::INT) AS negative_share,
       avg((frustration >= 0.5)::INT) AS frustration_rate, avg(frustration) AS frustration_avg,
       avg(rephrase::INT) AS rephrase_rate, avg("repeat"::INT) AS repeat_rate, avg(complaint::INT) AS complaint_rate,
       avg(shouting::INT) AS shouting_rate, avg(list_contains(cues, 'gratitude')::INT) AS gratitude_rate,
       avg(list_contains(cues, 'confusion')::INT) AS confusion_rate, avg(({_NEXT["unexpected"]})) AS unexpected_rate,
       avg(refusal::INT) AS refusal_rate, count(f.thumbs) AS thumbs, avg((f.thumbs = 'up')::INT) AS thumbs_up_rate
FROM s LEFT JOIN f ON f.interaction_id = s.interaction_id
GROUP BY 1, 2 ORDER BY 1, 2
"""


class DuckDBUxReads:
    """UX summaries over ``interaction_signals``; mixin for DuckDBStore."""

    def _cursor(self) -> duckdb.DuckDBPyConnection:  # provided by DuckDBStore
        raise NotImplementedError

    def ux_summary(self, project: str, start: float, end: float, *, group_by: str | None = None, bucket: str = "all") -> list[dict[str, Any]]:
        """Rates of frustration signals, sentiment and explicit thumbs per group (and bucket)."""
        from heron.errors import ValidationError

        if group_by is not None and group_by not in UX_GROUPS:
            raise ValidationError("group_by", f"unknown UX dimension {group_by!r}; valid: {', '.join(UX_GROUPS)}")
        if bucket not in ("all", "hour", "day"):
            raise ValidationError("bucket", "must be one of all, hour, day")
        lo = datetime.fromtimestamp(start, tz=timezone.utc).replace(tzinfo=None)
        hi = datetime.fromtimestamp(end, tz=timezone.utc).replace(tzinfo=None)
        t = f"TIMESTAMP '{lo.isoformat(sep=' ')}'" if bucket == "all" else f"date_trunc('{bucket}', s.start_time)"
        group = f"s.{group_by}" if group_by else "NULL"
        result = self._cursor().execute(_ux_summary_sql(t, group), [project, project, lo, hi])
        names = [d[0] for d in result.description]
        rows = [dict(zip(names, row)) for row in result.fetchall()]
        for row in rows:
            row["t"] = row["t"].replace(tzinfo=timezone.utc)
        return rows
