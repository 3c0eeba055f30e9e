"""UX rollups in DuckDB: what each turn's neighbours and feedback make of it, summed per hour.

A turn's satisfaction depends on the *next* turn of its session (did the user
complain, rephrase, thank, leave?) and on feedback that may arrive later; its
place in the topic flow depends on the previous turn. So each enriched turn
stores those derived values (``is_first``, ``is_last``, ``prev_topic_id``,
``explicit``, ``satisfaction``, ``abandoned``), and whenever something that
feeds them arrives -- a new turn, feedback, a topic assignment -- the touched
sessions are re-derived and every turn whose values changed is subtracted
from the rollups with its old values and added with its new ones. The rollups
therefore always equal the sum over stored turns, which :func:`rebuild` checks
from scratch.

A session is a conversation's turns with no gap longer than :data:`SESSION_GAP_S`;
that keeps every derivation local (a turn only looks a session gap either side),
so re-deriving only recent rows is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import duckdb

from heron.enrich.satisfaction import shipped_weights
from heron.store._duckdb_tx import rollback

SESSION_GAP_S = 3600
"""A turn more than this after the previous one of its conversation starts a new session."""

START, OTHER, END = -2, -1, -3
"""Flow nodes besides topics: the session start, "other" (no topic), the session end."""

UX_DIMENSIONS: tuple[str, ...] = ("model", "prompt_version", "app_version", "variant", "language", "topic_id")

_GAP = f"INTERVAL {SESSION_GAP_S} SECOND"
_LONG_DIMS = ", ".join(
    ["{'dim': '', 'value': ''}"]
    + [f"{{'dim': '{d}', 'value': coalesce({d}::VARCHAR, '')}}" for d in UX_DIMENSIONS]
)
_UNEXPECTED = "(coalesce(refusal, false) OR coalesce(empty_reply, false) OR coalesce(truncated, false) OR coalesce(error, false))"
_EXPLICIT = (
    "CASE WHEN f.thumbs IS NOT NULL THEN (f.thumbs = 'up')::DOUBLE WHEN f.rating IS NOT NULL THEN"
    " greatest(0.0, least(1.0, CASE WHEN f.rating <= 5 THEN (f.rating - 1) / 4.0 ELSE f.rating / 10.0 END)) END"
)
DERIVED = ("is_first", "is_last", "prev_topic_id", "explicit", "thumbs", "satisfaction", "abandoned")
"""Columns of interaction_signals this module keeps current."""
REVISABLE = ("rephrase", "repeat", "complaint", "frustration")
"""Signals a later batch may compute again (an earlier turn that arrived late, heron.enrich.history): a ``mutate``
of :func:`revise` may change them, and their old values are subtracted from the rollups."""


def _implicit_sql() -> str:
    def nxt(expr: str) -> str:
        return f"CASE WHEN d_is_last THEN 0 ELSE coalesce(({expr})::DOUBLE, 0) END"

    return shipped_weights().sql(
        {
            "next_complaint": nxt("n_complaint"),
            "next_rephrase": nxt("n_rephrase"),
            "next_repeat": nxt("n_repeat"),
            "next_thanks": nxt("n_thanks"),
            "next_sentiment": nxt("n_sentiment"),
            "unexpected": f"{_UNEXPECTED}::INT",
            "ended": "d_is_last::INT",
        }
    )


def _derive_sql(ctx: str) -> str:
    """``der``: every row of ``ctx`` (a table of turns) with its derived values (``d_*``), from its session neighbours and feedback."""
    return f"""
CREATE OR REPLACE TEMP TABLE der AS
WITH f AS (
    SELECT project, interaction_id, last(thumbs ORDER BY time) FILTER (WHERE thumbs IS NOT NULL) AS thumbs,
           last(rating ORDER BY time) FILTER (WHERE rating IS NOT NULL) AS rating
    FROM feedback
    WHERE (thumbs IS NOT NULL OR rating IS NOT NULL)
      AND time >= (SELECT min(start_time) FROM {ctx})
      AND interaction_id IN (SELECT interaction_id FROM {ctx})
    GROUP BY ALL
), w AS (
    SELECT c.*, lag(start_time) OVER k AS p_time, lag(topic_id) OVER k AS p_topic,
           lead(start_time) OVER k AS n_time, lead(complaint) OVER k AS n_complaint, lead(rephrase) OVER k AS n_rephrase,
           lead("repeat" OR coalesce(retry, false)) OVER k AS n_repeat,
           lead(list_contains(cues, 'gratitude')) OVER k AS n_thanks, lead(sentiment) OVER k AS n_sentiment
    FROM {ctx} c
    WINDOW k AS (PARTITION BY project, coalesce(conversation_id, interaction_id) ORDER BY start_time, interaction_id)
), g AS (
    SELECT w.*, f.thumbs AS d_thumbs, {_EXPLICIT} AS d_explicit,
           p_time IS NULL OR start_time - p_time > {_GAP} AS d_is_first,
           n_time IS NULL OR n_time - start_time > {_GAP} AS d_is_last
    FROM w LEFT JOIN f ON f.project = w.project AND f.interaction_id = w.interaction_id
)
SELECT * EXCLUDE (p_time, p_topic, n_time, n_complaint, n_rephrase, n_repeat, n_thanks, n_sentiment),
       CASE WHEN d_is_first THEN NULL ELSE p_topic END AS d_prev_topic_id,
       coalesce(d_explicit, {_implicit_sql()}) AS d_satisfaction,
       d_is_last AND NOT list_contains(cues, 'gratitude')
           AND ({_UNEXPECTED} OR coalesce(d_explicit, 1.0) < 0.5) AS d_abandoned
FROM g
"""


def _changed_sql() -> str:
    """``chg``: rows of ``der`` in their session's revise range whose stored state (``ctx_old``) differs."""
    differs = " OR ".join([f"o.{c} IS DISTINCT FROM d.d_{c}" for c in DERIVED]
                          + [f'o."{c}" IS DISTINCT FROM d."{c}"' for c in REVISABLE])
    return f"""
CREATE OR REPLACE TEMP TABLE chg AS
SELECT d.*, o.counted AS o_counted, o.topic_id AS o_topic_id,
       {", ".join(f"o.{c} AS o_{c}" for c in DERIVED)}, {", ".join(f'o."{c}" AS o_{c}' for c in REVISABLE)}
FROM der d
JOIN touched t ON t.project = d.project AND t.conv_key = coalesce(d.conversation_id, d.interaction_id)
JOIN ctx_old o ON o.project = d.project AND o.interaction_id = d.interaction_id
WHERE d.start_time >= t.lo
  AND (o.counted IS DISTINCT FROM true OR o.topic_id IS DISTINCT FROM d.topic_id OR {differs})
"""


_ROW_COLUMNS = (
    "project, start_time, model, prompt_version, app_version, variant, language, sentiment, frustration, cues,"
    ' rephrase, "repeat", retry, complaint, shouting, refusal, empty_reply, truncated, error, language_mismatch, cost_usd,'
    " latency_ms"
)


def _contributions_sql() -> str:
    """``contrib``: each changed row once with its old values (sign -1, if it was counted) and once with its new ones."""
    old = ", ".join(f"o_{c} AS {c}" for c in DERIVED)
    new = ", ".join(f"d_{c} AS {c}" for c in DERIVED)

    def before(column: str) -> str:
        name = column.strip('"')
        return f"o_{name} AS {column}" if name in REVISABLE else column

    old_row = ", ".join(before(c.strip()) for c in _ROW_COLUMNS.split(","))
    return f"""
CREATE OR REPLACE TEMP TABLE contrib AS
SELECT {old_row}, o_topic_id AS topic_id, {old}, -1.0 AS sign FROM chg WHERE o_counted
UNION ALL
SELECT {_ROW_COLUMNS}, topic_id, {new}, 1.0 AS sign FROM chg
"""


def _flag(expr: str) -> str:
    return f"sum(sign * coalesce(({expr})::INT, 0))"


_ROLLUP_PART = f"""
CREATE OR REPLACE TEMP TABLE part AS
SELECT project, date_trunc('hour', start_time) AS hour, d.dim AS dim, d.value AS value,
       sum(sign) AS n, {_flag("is_first")} AS conversations,
       sum(sign * coalesce(sentiment, 0)) AS sentiment_sum, {_flag("sentiment IS NOT NULL")} AS sentiment_n,
       {_flag("sentiment <= -0.05")} AS negative, {_flag("frustration >= 0.5")} AS frustrated,
       sum(sign * coalesce(frustration, 0)) AS frustration_sum, {_flag("frustration IS NOT NULL")} AS frustration_n,
       {_flag("rephrase")} AS rephrase, {_flag('"repeat"')} AS repeats, {_flag("retry")} AS retry,
       {_flag("complaint")} AS complaint, {_flag("shouting")} AS shouting,
       {_flag("list_contains(cues, 'gratitude')")} AS gratitude, {_flag("list_contains(cues, 'confusion')")} AS confusion,
       {_flag("list_contains(cues, 'anger')")} AS anger, {_flag("list_contains(cues, 'urgency')")} AS urgency,
       {_flag(_UNEXPECTED)} AS unexpected, {_flag("refusal")} AS refusal, {_flag("language_mismatch")} AS language_mismatch,
       sum(sign * coalesce(satisfaction, 0)) AS satisfaction_sum, {_flag("satisfaction IS NOT NULL")} AS satisfaction_n,
       {_flag("explicit IS NOT NULL")} AS explicit_n, {_flag("thumbs IS NOT NULL")} AS thumbs_n,
       {_flag("thumbs = 'up'")} AS thumbs_up, {_flag("is_last")} AS ended, {_flag("abandoned")} AS abandoned,
       sum(sign * coalesce(cost_usd, 0)) AS cost_sum, {_flag("cost_usd IS NOT NULL")} AS cost_n,
       sum(sign * coalesce(latency_ms, 0)) AS latency_sum, {_flag("latency_ms IS NOT NULL")} AS latency_n
FROM (SELECT *, unnest([{_LONG_DIMS}]) AS d FROM contrib)
GROUP BY ALL
"""

_SUMS = (
    "n, conversations, sentiment_sum, sentiment_n, negative, frustrated, frustration_sum, frustration_n, rephrase,"
    " repeats, retry, complaint, shouting, gratitude, confusion, anger, urgency, unexpected, refusal, satisfaction_sum,"
    " satisfaction_n, explicit_n, thumbs_n, thumbs_up, ended, abandoned, cost_sum, cost_n, latency_sum, latency_n,"
    " language_mismatch"
)

_FLOW_PART = f"""
CREATE OR REPLACE TEMP TABLE part AS
SELECT project, hour, source, target, sum(n) AS n, sum(frustrated) AS frustrated FROM (
    SELECT project, date_trunc('hour', start_time) AS hour,
           CASE WHEN is_first THEN {START} ELSE coalesce(prev_topic_id, {OTHER}) END AS source,
           coalesce(topic_id, {OTHER}) AS target, sign AS n, sign * coalesce((frustration >= 0.5)::INT, 0) AS frustrated
    FROM contrib
    UNION ALL
    SELECT project, date_trunc('hour', start_time), coalesce(topic_id, {OTHER}), {END}, sign,
           sign * coalesce(abandoned::INT, 0)
    FROM contrib WHERE is_last
)
GROUP BY ALL
"""


def _merge(table: str, key: str, sums: str) -> list[str]:
    """Fold the temp table ``part`` (signed sums) into ``table``; keys whose count reaches zero disappear."""
    keys = [k.strip() for k in key.split(",")]
    match = " AND ".join(f"t.{k} = p.{k}" for k in keys)
    touched = (
        "t.hour BETWEEN (SELECT min(hour) FROM part) AND (SELECT max(hour) FROM part)"
        f" AND EXISTS (SELECT 1 FROM part p WHERE {match})"
    )
    total = ", ".join(f"sum({c.strip()}) AS {c.strip()}" for c in sums.split(","))
    return [
        f"""CREATE OR REPLACE TEMP TABLE merged AS
        SELECT {key}, {total} FROM (SELECT * FROM part UNION ALL BY NAME SELECT * FROM {table} t WHERE {touched})
        GROUP BY ALL HAVING abs(sum(n)) > 0.5""",
        f"DELETE FROM {table} t WHERE {touched}",
        f"INSERT INTO {table} BY NAME SELECT * FROM merged",
    ]


_FOLD = [
    _ROLLUP_PART,
    *_merge("ux_rollup_hour", "project, hour, dim, value", _SUMS),
    _FLOW_PART,
    *_merge("ux_flow_hour", "project, hour, source, target", "n, frustrated"),
]

_UPDATE = f"""
UPDATE interaction_signals s SET counted = true, topic_id = c.topic_id,
    {", ".join(f"{col} = c.d_{col}" for col in DERIVED)}
FROM chg c
WHERE s.start_time BETWEEN (SELECT min(start_time) FROM chg) AND (SELECT max(start_time) FROM chg)
  AND s.project = c.project AND s.interaction_id = c.interaction_id AND s.start_time = c.start_time
"""

_CONTEXT = f"""
CREATE OR REPLACE TEMP TABLE {{name}} AS
SELECT s.* FROM interaction_signals s
JOIN touched t ON t.project = s.project AND t.conv_key = coalesce(s.conversation_id, s.interaction_id)
WHERE s.start_time >= (SELECT min(lo) FROM touched) - {_GAP} AND s.start_time >= t.lo - {_GAP} {{until}}
"""


def revise(con: duckdb.DuckDBPyConnection, mutate: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
           *, until: datetime | None = None) -> int:
    """Re-derive the sessions in temp table ``touched(project, conv_key, lo)`` from ``lo`` on; fold changes in.

    ``mutate`` (say, setting topics) runs after the old state is read, so its
    changes are subtracted with the old values too. ``until`` bounds the turns
    read (a chunked rebuild; turns near the bound are settled by the next
    chunk). Call inside a transaction. Returns how many turns changed.
    """
    bound = f"AND s.start_time < TIMESTAMP '{until.isoformat(sep=' ')}'" if until is not None else ""
    con.execute(_CONTEXT.format(name="ctx_old", until=bound))
    if mutate is not None:
        mutate(con)
        con.execute(_CONTEXT.format(name="ctx_new", until=bound))
    con.execute(_derive_sql("ctx_new" if mutate is not None else "ctx_old"))
    con.execute(_changed_sql())
    changed = int(con.execute("SELECT count(*) FROM chg").fetchall()[0][0])
    if changed:
        con.execute(_contributions_sql())
        for statement in _FOLD:
            con.execute(statement)
        con.execute(_UPDATE)
    return changed


def rebuild(con: duckdb.DuckDBPyConnection, project: str | None = None, *, chunk: timedelta = timedelta(days=1),
            progress: Callable[[int, int], None] | None = None) -> None:
    """Derive every stored turn afresh and rebuild the UX rollups from them (a migration, a repair, a test oracle).

    Commits as it goes (call it outside a transaction, holding the write lock):
    one transaction per ``chunk`` of time keeps memory bounded on big stores.
    Interrupted, it leaves ``enrich_state.ux_ready`` false and starts over next time.
    ``progress(done, total)`` is called after each chunk.
    """
    where, params = ("WHERE project = ?", [project]) if project is not None else ("", [])
    and_project = "AND project = ?" if project is not None else ""

    def step(statements: Callable[[], None]) -> None:
        con.execute("BEGIN")
        try:
            statements()
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise

    def reset() -> None:
        con.execute("UPDATE enrich_state SET ux_ready = false WHERE id = 0")
        con.execute(f"UPDATE interaction_signals SET counted = false {where}", params)
        for table in ("ux_rollup_hour", "ux_flow_hour"):
            con.execute(f"DELETE FROM {table} {where}", params)

    step(reset)
    first, last = con.execute(f"SELECT min(start_time), max(start_time) FROM interaction_signals {where}", params).fetchall()[0]
    gap = timedelta(seconds=SESSION_GAP_S)
    lo = first
    total = int((last - first) / chunk) + 1 if first is not None else 0
    while lo is not None and lo <= last:
        hi = lo + chunk

        def fold(lo: datetime = lo, hi: datetime = hi) -> None:
            con.execute(
                "UPDATE interaction_signals s SET latency_ms = i.latency_ms, cost_usd = i.cost_usd FROM interactions i"
                " WHERE s.start_time >= $1 AND s.start_time < $2 AND i.start_time >= $1 AND i.start_time < $2"
                f" AND i.project = s.project AND i.id = s.interaction_id {'AND s.project = $3' if project else ''}",
                [lo, hi + gap, *params],
            )
            con.execute(
                "CREATE OR REPLACE TEMP TABLE touched AS SELECT project, coalesce(conversation_id, interaction_id) AS conv_key,"
                f" min(start_time) AS lo FROM interaction_signals WHERE start_time >= ? AND start_time < ? {and_project} GROUP BY ALL",
                [lo, hi, *params],
            )
            revise(con, until=hi + gap)

        step(fold)
        # the next chunk starts at the next turn: a store whose turns span years but few days
        # (one call from 2000, the rest from today) takes two chunks, not 9,000 empty ones
        after = con.execute(f"SELECT min(start_time) FROM interaction_signals WHERE start_time >= ? {and_project}", [hi, *params]).fetchall()[0][0]
        lo = None if after is None else max(hi, after)
        if progress is not None:
            progress(total if lo is None else min(total, int((lo - first) / chunk)), total)

    def ready() -> None:
        con.execute("UPDATE enrich_state SET ux_ready = true WHERE id = 0")

    step(ready)


def refresh_costs(con: duckdb.DuckDBPyConnection, project: str, since: Any) -> None:
    """After repricing: copy the new costs onto the turns from ``since`` and rebuild those hours' cost sums."""
    con.execute(
        "UPDATE interaction_signals s SET cost_usd = i.cost_usd FROM interactions i WHERE s.project = ? AND s.start_time >= ?"
        " AND i.project = s.project AND i.id = s.interaction_id AND i.start_time >= ?",
        [project, since, since],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE costs AS SELECT project, date_trunc('hour', start_time) AS hour, d.dim AS dim,"
        " d.value AS value, coalesce(sum(cost_usd), 0) AS cost_sum, count(cost_usd) AS cost_n"
        f" FROM (SELECT *, unnest([{_LONG_DIMS}]) AS d FROM interaction_signals WHERE project = ? AND start_time >= ? AND counted)"
        " GROUP BY ALL",
        [project, since],
    )
    con.execute(
        "UPDATE ux_rollup_hour r SET cost_sum = c.cost_sum, cost_n = c.cost_n FROM costs c WHERE r.project = c.project"
        " AND r.hour = c.hour AND r.dim = c.dim AND r.value = c.value"
    )
