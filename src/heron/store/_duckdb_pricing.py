"""Dated price overrides in DuckDB, and repricing what is already stored when one lands."""

from __future__ import annotations

import math
import time
from typing import Any

import duckdb

from heron.pricing import Price, PriceOverride, PriceTable, canonical_model
from heron.pricing.table import CANONICAL_SQL
from heron.store._duckdb_sql import LONG_DIMS, _naive



def load_overrides(cur: duckdb.DuckDBPyConnection, project: str) -> list[PriceOverride]:
    rows = cur.execute(
        "SELECT model, epoch_us(effective_from), input, output, cached, reasoning FROM price_overrides "
        "WHERE project = ? ORDER BY effective_from, created_at",
        [project],
    ).fetchall()
    return [PriceOverride(model, us / 1_000_000, Price(i, o, c, r)) for model, us, i, o, c, r in rows]


def cost_sql(price: Price | None) -> str:
    """:func:`heron.pricing.interaction_cost` as SQL over the interactions table."""
    if price is None:
        return "NULL"
    cached = price.cached if price.cached is not None else price.input
    reasoning = price.reasoning if price.reasoning is not None else price.output
    c = "least(coalesce(cached_tokens, 0), coalesce(input_tokens, 0))"
    r = "least(coalesce(reasoning_tokens, 0), coalesce(output_tokens, 0))"
    return (
        "CASE WHEN input_tokens IS NULL AND output_tokens IS NULL THEN (CASE WHEN status = 'error' THEN 0.0 END) "
        f"ELSE ((coalesce(input_tokens, 0) - {c}) * {price.input!r} + {c} * {cached!r} "
        f"+ (coalesce(output_tokens, 0) - {r}) * {price.output!r} + {r} * {reasoning!r}) / 1000000.0 END"
    )


def add_override(con: duckdb.DuckDBPyConnection, project: str, override: PriceOverride, table: PriceTable) -> int:
    """Store ``override`` and reprice the model's calls from its date on; returns calls repriced.

    ``table`` is the project's table including the new override. Runs inside the caller's transaction.
    """
    model = canonical_model(override.model)
    price = override.price
    con.execute(
        "INSERT INTO price_overrides VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [project, model, _naive(override.effective_from), price.input, price.output, price.cached, price.reasoning, _naive(time.time())],
    )
    segments = table.segments(model)
    repriced = 0
    for (start, seg_price), (end, _) in zip(segments, [*segments[1:], (math.inf, None)]):
        lo = max(start, override.effective_from)
        if end <= lo:
            continue
        params: list[Any] = [project, model, _naive(lo)]
        clause = f"project = ? AND {CANONICAL_SQL} = ? AND start_time >= ?"
        if end != math.inf:
            clause += " AND start_time < ?"
            params.append(_naive(end))
        rows = con.execute(f"UPDATE interactions SET cost_usd = {cost_sql(seg_price)} WHERE {clause}", params).fetchall()
        repriced += int(rows[0][0]) if rows else 0
    _refresh_rollup_costs(con, project, override.effective_from)
    return repriced


def hour_start(when: float) -> Any:
    """The naive UTC start of the hour ``when`` falls in."""
    return _naive(math.floor(when / 3600) * 3600)


def _refresh_rollup_costs(con: duckdb.DuckDBPyConnection, project: str, since: float) -> None:
    """Recompute the cost columns of the hourly rollups from ``since``'s hour on."""
    hour = hour_start(since)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE costs AS
        SELECT project, date_trunc('hour', start_time) AS hour, d.dim AS dim, coalesce(d.value, '') AS value,
               coalesce(sum(cost_usd), 0) AS cost_usd, count(cost_usd) AS cost_n
        FROM (SELECT *, unnest([{LONG_DIMS}]) AS d FROM interactions WHERE project = ? AND start_time >= ?)
        GROUP BY ALL
        """,
        [project, hour],
    )
    con.execute(
        "UPDATE rollup_hour r SET cost_usd = c.cost_usd, cost_n = c.cost_n FROM costs c "
        "WHERE r.project = c.project AND r.hour = c.hour AND r.dim = c.dim AND r.value = c.value"
    )
    con.execute("DROP TABLE costs")
