"""Read queries for users and retention: active users, new and returning, cohorts, engagement.

Active users and retention read ``daily_users`` (one row per project, UTC day,
dimension value and 64-bit user hash, kept by every write): a slice is a
(dim, value) of it, dim '' / value '' being everyone. Each is one SQL statement
that returns at most a few thousand rows, whatever the number of users.
Engagement reads rollups too: users per day from ``daily_user_counts``, calls
and conversation time per day from ``daily_engagement`` (kept by every write,
see :mod:`heron.store._duckdb_engagement`), active days per user from the keys
of ``daily_users``; it never scans ``interactions``.

The definitions are those of :mod:`heron.analytics.retention`, the numpy
reference the contract tests compare against; ``docs/users.md`` states them.

:class:`DuckDBUserReads` gives :class:`heron.store.duckdb.DuckDBStore` the three
``Store`` methods by inheritance; the functions below take a DuckDB cursor.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import duckdb

from heron.errors import ValidationError
from heron.store.base import ROLLUP_DIMENSIONS, ActivityQuery, RetentionQuery

_EPOCH = date(1970, 1, 1)
PERIOD_DAYS: dict[str, int] = {"day": 1, "week": 7}
DEFAULT_OFFSETS: dict[str, tuple[int, ...]] = {"day": (1, 7, 30), "week": (1, 2, 4)}
_LOOKBACK = 29  # a day's MAU window reaches 29 days back
_SPAN = 128 - _LOOKBACK  # report days per statement: the lookback plus these fit a 128-bit mask

_DAY = "CAST(day - DATE '1970-01-01' AS INTEGER)"
_ACTIVITY = f"""
    SELECT user_hash, {_DAY} AS d FROM daily_users
    WHERE project = $project AND dim = $dim AND value = $value AND day < DATE '1970-01-01' + CAST($hi AS INTEGER)
"""

# One row per user still active on or after ``base`` (= lo - 29): their first day ever and a
# bit mask of their active days from ``base``; then one row per report day ``r``, counting the
# users whose mask has a bit in the 1, 7 and 30 days ending with r.
_ACTIVE_USERS = f"""
WITH a AS ({_ACTIVITY}),
u AS (
    SELECT min(d) AS first,
           bit_or(CASE WHEN d >= $base THEN CAST(1 AS UHUGEINT) << CAST(d - $base AS UHUGEINT) END) AS m
    FROM a GROUP BY user_hash HAVING max(d) >= $base
)
SELECT r AS d,
       count(*) FILTER (WHERE (m >> CAST(r - $base AS UHUGEINT)) & CAST(1 AS UHUGEINT) > 0) AS dau,
       count(*) FILTER (WHERE (m >> CAST(r - $base - 6 AS UHUGEINT)) & CAST(127 AS UHUGEINT) > 0) AS wau,
       count(*) FILTER (WHERE (m >> CAST(r - $base - 29 AS UHUGEINT)) & CAST(1073741823 AS UHUGEINT) > 0) AS mau,
       count(*) FILTER (WHERE first = r) AS new
FROM range($lo, $hi) t(r) LEFT JOIN u ON true
GROUP BY r ORDER BY r
"""


def _period(expr: str, period: str) -> str:
    """SQL for the first day (days since 1970) of the period holding day ``expr``: itself, or its Monday."""
    if period == "day":
        return expr
    return f"({expr} - (({expr} + 3) % 7 + 7) % 7)"  # 1970-01-01 was a Thursday


def _retention_sql(period: str) -> str:
    """(kind, cohort, k, users): kind 0 counts the cohort's users active at offset k, kind 1
    those whose last active period is offset k (unbounded retention is its suffix sum)."""
    unit = PERIOD_DAYS[period]
    distinct = "DISTINCT a.user_hash" if period != "day" else "*"  # a user has one row per day
    return f"""
    WITH a AS ({_ACTIVITY}),
    f AS (
        SELECT user_hash, {_period("min(d)", period)} AS cohort, {_period("max(d)", period)} AS last
        FROM a GROUP BY user_hash HAVING min(d) >= $lo
    )
    SELECT 0 AS kind, f.cohort, ({_period("a.d", period)} - f.cohort) // {unit} AS k, count({distinct}) AS n
    FROM a JOIN f USING (user_hash) WHERE a.d >= $lo GROUP BY ALL
    UNION ALL
    SELECT 1, cohort, (last - cohort) // {unit}, count(*) FROM f GROUP BY ALL
    """


# (kind, key, a, b, c) from rollups kept at write time: kind 0 per day (users), kind 1 per day
# (interactions, engagement µs), kind 2 per number of active days (users; from daily_users).
_SLICE = "project = $project AND dim = $dim AND value = $value AND day >= DATE '1970-01-01' + CAST($lo AS INTEGER)" \
    " AND day < DATE '1970-01-01' + CAST($hi AS INTEGER)"
_ENGAGEMENT = f"""
SELECT 0 AS kind, {_DAY} AS key, users AS a, 0 AS b, 0 AS c FROM daily_user_counts WHERE {_SLICE}
UNION ALL
SELECT 1, {_DAY}, 0, n, engagement_us FROM daily_engagement WHERE {_SLICE}
UNION ALL
SELECT 2, days, count(*), 0, 0 FROM (SELECT count(*) AS days FROM daily_users WHERE {_SLICE} GROUP BY user_hash) GROUP BY days
"""


# -- helpers -----------------------------------------------------------------------


def _to_date(day: int) -> date:
    return _EPOCH + timedelta(days=int(day))


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def day_range(start: float, end: float) -> tuple[int, int]:
    """The window's UTC days as days since 1970: [day of ``start``, day after that of the last second before ``end``)."""
    return math.floor(start / 86400), math.ceil(end / 86400)


def _slice(dim: str | None, value: str | None) -> tuple[str, str]:
    """The (dim, value) of ``daily_users`` holding the slice; ('', '') is everyone."""
    if dim is None:
        if value is not None:
            raise ValidationError("value", "needs dim")
        return "", ""
    if dim not in ROLLUP_DIMENSIONS:
        raise ValidationError("dim", f"unknown dimension {dim!r}; valid: {', '.join(ROLLUP_DIMENSIONS)}")
    if value is None:
        raise ValidationError("value", f"is required with dim {dim!r} ('' selects calls where it is not set)")
    return dim, value


def check_offsets(period: str, offsets: tuple[int, ...] | None) -> tuple[int, ...]:
    if period not in PERIOD_DAYS:
        raise ValidationError("period", f"must be one of {', '.join(PERIOD_DAYS)}, got {period!r}")
    out = DEFAULT_OFFSETS[period] if offsets is None else tuple(offsets)
    if not out or any(not isinstance(k, int) or isinstance(k, bool) or k < 0 for k in out):
        raise ValidationError("offsets", f"must be integers >= 0, at least one; got {offsets!r}")
    return out


# -- queries -----------------------------------------------------------------------


def active_users(cur: duckdb.DuckDBPyConnection, query: ActivityQuery) -> list[dict[str, Any]]:
    """One row per UTC day of the window: dau, wau, mau, stickiness, new, returning, return_rate."""
    dim, value = _slice(query.dim, query.value)
    lo, hi = day_range(query.start, query.end)
    rows: list[dict[str, Any]] = []
    for piece_lo in range(lo, hi, _SPAN):  # one statement per 99 days: each fits the 128-bit masks
        piece_hi = min(piece_lo + _SPAN, hi)
        params = {"project": query.project, "dim": dim, "value": value, "lo": piece_lo, "hi": piece_hi, "base": piece_lo - _LOOKBACK}
        for day, dau, wau, mau, new in cur.execute(_ACTIVE_USERS, params).fetchall():
            returning = dau - new
            rows.append(
                {
                    "day": _to_date(day),
                    "dau": dau,
                    "wau": wau,
                    "mau": mau,
                    "stickiness": _ratio(dau, mau),
                    "new": new,
                    "returning": returning,
                    "return_rate": _ratio(returning, dau),
                }
            )
    return rows


def retention(cur: duckdb.DuckDBPyConnection, query: RetentionQuery) -> dict[str, Any]:
    """Cohorts by first active day or week, with exact and unbounded retention at each offset."""
    dim, value = _slice(query.dim, query.value)
    offsets = check_offsets(query.period, query.offsets)
    unit = PERIOD_DAYS[query.period]
    lo, hi = day_range(query.start, query.end)
    first_cohort = lo - (lo + 3) % 7 if query.period == "week" else lo
    cohorts = list(range(first_cohort, hi, unit)) if hi > lo else []
    index = {c: i for i, c in enumerate(cohorts)}
    wanted = {k: j for j, k in enumerate(offsets)}
    size = [0] * len(cohorts)
    active = [[0] * len(offsets) for _ in cohorts]
    reach: list[dict[int, int]] = [{} for _ in cohorts]  # last active offset -> users
    if cohorts:
        params = {"project": query.project, "dim": dim, "value": value, "lo": lo, "hi": hi}
        for kind, cohort, k, n in cur.execute(_retention_sql(query.period), params).fetchall():
            i = index[cohort]
            if kind == 1:
                reach[i][k] = n
                continue
            if k == 0:
                size[i] = n
            if k in wanted:
                active[i][wanted[k]] = n
    out_cohorts = []
    eligible = [0] * len(offsets)
    active_sum = [0] * len(offsets)
    unbounded_sum = [0] * len(offsets)
    for i, cohort in enumerate(cohorts):
        row_active: list[int | None] = []
        row_unbounded: list[int | None] = []
        for j, k in enumerate(offsets):
            if cohort + k * unit >= hi:  # that period has not started before the window's end
                row_active.append(None)
                row_unbounded.append(None)
                continue
            later = sum(n for last, n in reach[i].items() if last >= k)
            row_active.append(active[i][j])
            row_unbounded.append(later)
            eligible[j] += size[i]
            active_sum[j] += active[i][j]
            unbounded_sum[j] += later
        out_cohorts.append(
            {
                "cohort": _to_date(cohort),
                "users": size[i],
                "active": row_active,
                "active_rate": [None if v is None else _ratio(v, size[i]) for v in row_active],
                "unbounded": row_unbounded,
                "unbounded_rate": [None if v is None else _ratio(v, size[i]) for v in row_unbounded],
            }
        )
    return {
        "period": query.period,
        "offsets": list(offsets),
        "cohorts": out_cohorts,
        "overall": {
            "users": eligible,
            "active": active_sum,
            "active_rate": [_ratio(a, e) for a, e in zip(active_sum, eligible)],
            "unbounded": unbounded_sum,
            "unbounded_rate": [_ratio(a, e) for a, e in zip(unbounded_sum, eligible)],
        },
    }


def engagement(cur: duckdb.DuckDBPyConnection, query: ActivityQuery) -> dict[str, Any]:
    """Per UTC day: users, interactions and engagement time; the distribution of active days; a summary."""
    dim, value = _slice(query.dim, query.value)
    lo, hi = day_range(query.start, query.end)
    n_days = max(hi - lo, 0)
    per_day = [(0, 0, 0)] * n_days
    histogram = [0] * n_days
    if n_days:
        params = {"project": query.project, "dim": dim, "value": value, "lo": lo, "hi": hi}
        users_on = [0] * n_days
        sums_on = [(0, 0)] * n_days
        for kind, key, a, b, c in cur.execute(_ENGAGEMENT, params).fetchall():
            if kind == 0:
                users_on[key - lo] = int(a)
            elif kind == 1:
                sums_on[key - lo] = (int(b), int(c))
            else:
                histogram[key - 1] = int(a)
        per_day = [(u, n, us) for u, (n, us) in zip(users_on, sums_on)]
    days = [
        {
            "day": _to_date(lo + i),
            "users": users,
            "interactions": n,
            "interactions_per_user": _ratio(n, users),
            "engagement_s": us / 1e6,
            "engagement_s_per_user": us / 1e6 / users if users else None,
        }
        for i, (users, n, us) in enumerate(per_day)
    ]
    user_days = sum(d[0] for d in per_day)
    interactions = sum(d[1] for d in per_day)
    seconds = sum(d[2] for d in per_day) / 1e6
    users = sum(histogram)
    return {
        "days": days,
        "active_days": [{"days": k + 1, "users": n} for k, n in enumerate(histogram)],
        "summary": {
            "users": users,
            "user_days": user_days,
            "interactions": interactions,
            "engagement_s": seconds,
            "active_days_per_user": _ratio(user_days, users),
            "interactions_per_active_day": _ratio(interactions, user_days),
            "engagement_s_per_active_day": seconds / user_days if user_days else None,
        },
    }


class DuckDBUserReads:
    """The ``Store`` protocol's user and retention queries for a class that has a per-thread ``_cursor()``."""

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    def active_users(self, query: ActivityQuery) -> list[dict[str, Any]]:
        return active_users(self._cursor(), query)

    def retention(self, query: RetentionQuery) -> dict[str, Any]:
        return retention(self._cursor(), query)

    def engagement(self, query: ActivityQuery) -> dict[str, Any]:
        return engagement(self._cursor(), query)
