"""Engagement per day and dimension value, kept in ``daily_engagement`` at write time.

A row (project, UTC day, dimension value) holds ``n``, the calls with a user in that
slice that day, and ``engagement_us``, their users' engagement time in microseconds:
the sum over conversation *pieces*, a piece being the span from the earliest
``start_time`` to the latest end of the calls of one (user, day, conversation) in
the slice; a call without ``conversation_id`` is a piece of its own
(``docs/users.md``). With ``daily_user_counts`` (users per day) and the keys of
``daily_users`` (active days per user), the engagement query reads rollups only.

A piece is not additive: a new call that extends a conversation already stored
changes its span. So the fold reads back the stored calls of the pieces the new
calls touch (same project, user, start day and conversation; loose calls need
none), takes each touched piece's span with and without the new calls, and adds
the difference.

That read-back scans the touched days' calls, so it is not done per write: the calls
with ``rowid`` above ``engagement_state.watermark`` are folded together once
``FOLD_ROWS`` of them are waiting or ``FOLD_SECONDS`` have passed (by the next write),
and before every engagement read, so reads are always exact. Measured: one fold per
write cost ingest ~12 % (bench_ingest, same run, 2 cores).

Days stored before this rollup existed are listed in ``engagement_pending`` by the
migration that created it; :func:`backfill` computes them from ``interactions``,
one day per transaction, on open (like the UX rebuild).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from heron.store._duckdb_sql import LONG_DIMS
from heron.store.base import ROLLUP_DIMENSIONS
from heron.store._duckdb_tx import rollback

_DIMS = ", ".join(ROLLUP_DIMENSIONS)


# A call's piece within its user's day: its conversation, or for a loose call itself.
_PIECE = "hash(conversation_id, CASE WHEN conversation_id IS NULL THEN id END)"
_CONVERSATION_PIECE = "hash(conversation_id, CAST(NULL AS VARCHAR))"  # the same for calls known to have one; reads no id


def _calls(source: str, new: int, where: str, piece: str = _PIECE) -> str:
    """The columns the piece arithmetic needs, from ``source`` (interactions or a copy)."""
    return f"""
    SELECT project, CAST(start_time AS DATE) AS day, hash(user_id) AS uh, {piece} AS piece,
           epoch_us(start_time) AS t0, epoch_us(coalesce(end_time, start_time)) AS t1, {new} AS new, {_DIMS}
    FROM {source} WHERE {where}
    """


def _day_sums(calls: str) -> str:
    """(project, day, dim, value, n, us) from ``calls`` (see :func:`_calls`; ``new`` 1 for a call
    being added, 0 for one already counted). Only pieces holding a new call count; each adds
    its span less the span its stored calls already had."""
    return f"""
    WITH long AS (SELECT *, unnest([{LONG_DIMS}]) AS d FROM ({calls})),
    piece AS (
        SELECT project, day, d.dim AS dim, coalesce(d.value, '') AS value, sum(new) AS n,
               max(t1) - min(t0) - coalesce(max(t1) FILTER (WHERE new = 0) - min(t0) FILTER (WHERE new = 0), 0) AS us
        FROM long GROUP BY project, day, d.dim, d.value, uh, piece
        HAVING sum(new) > 0
    )
    SELECT project, day, dim, value, CAST(sum(n) AS BIGINT) AS n, CAST(sum(us) AS BIGINT) AS engagement_us
    FROM piece GROUP BY ALL
    """


FOLD_ROWS = 50_000
"""Calls waiting to be folded that trigger a fold at the next write."""
FOLD_SECONDS = 10.0
"""Seconds after which the next write folds whatever is waiting."""

_NEW = "rowid > $wm AND rowid <= $hi AND user_id IS NOT NULL"
_IN_DAYS = "i.start_time >= (SELECT CAST(min(day) AS TIMESTAMP) FROM k) AND i.start_time < (SELECT CAST(max(day) AS TIMESTAMP) FROM k) + INTERVAL 1 DAY"

# The increments the calls with rowid in ($wm, $hi] add, with the stored calls (rowid <= $wm)
# of the conversations they extend read back on the key columns first, so the other columns
# are read for those rows only.
_OLD_CALLS = f"""
SELECT * FROM (
    WITH k AS (
        SELECT DISTINCT project, user_id, conversation_id, CAST(start_time AS DATE) AS day
        FROM interactions WHERE {_NEW} AND conversation_id IS NOT NULL
    ),
    hit AS (
        SELECT i.rowid AS r FROM interactions i
        SEMI JOIN k ON i.project = k.project AND i.user_id = k.user_id AND i.conversation_id = k.conversation_id
                   AND CAST(i.start_time AS DATE) = k.day
        WHERE i.rowid <= $wm AND {_IN_DAYS}
    )
    {_calls("interactions i JOIN hit ON i.rowid = hit.r", 0, _IN_DAYS, _CONVERSATION_PIECE)}
)
"""

PART = "CREATE OR REPLACE TEMP TABLE part AS " + _day_sums(_calls("interactions", 1, _NEW) + " UNION ALL " + _OLD_CALLS)
"""The fold's increments into ``part`` (parameters ``wm``, ``hi``); the store merges them into daily_engagement."""

ADVANCE = "UPDATE engagement_state SET watermark = $hi WHERE id = 0"


def bounds(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(watermark, highest rowid): the calls waiting to be folded are those in between."""
    row = con.execute("SELECT (SELECT watermark FROM engagement_state WHERE id = 0), (SELECT coalesce(max(rowid), -1) FROM interactions)").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


_BACKFILL = [
    "DELETE FROM daily_engagement WHERE day = $day",
    "INSERT INTO daily_engagement "
    + _day_sums(
        _calls(
            "interactions",
            1,
            "start_time >= CAST($day AS TIMESTAMP) AND start_time < CAST($day AS TIMESTAMP) + INTERVAL 1 DAY AND user_id IS NOT NULL"
            " AND rowid <= (SELECT watermark FROM engagement_state WHERE id = 0)",  # later calls are folded as usual
        )
    ),
    "DELETE FROM engagement_pending WHERE day = $day",
]


def backfill(con: duckdb.DuckDBPyConnection, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Compute the days listed in ``engagement_pending`` from ``interactions``, one day per
    transaction (an interrupted backfill resumes where it stopped); returns the days done."""
    days = [row[0] for row in con.execute("SELECT day FROM engagement_pending ORDER BY day").fetchall()]
    for done, day in enumerate(days, start=1):
        con.execute("BEGIN")
        try:
            for statement in _BACKFILL:
                con.execute(statement, {"day": day})
            con.execute("COMMIT")
        except duckdb.Error:
            rollback(con)
            raise
        if progress:
            progress(done, len(days))
    return len(days)
