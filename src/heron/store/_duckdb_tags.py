"""What tags a project's calls carry: the busiest keys of a window, each with its busiest values.

Tags are a ``MAP(VARCHAR, VARCHAR)`` per call (every attribute the app sent that no field
took, docs/otlp-mapping.md). One window-bounded scan unnests them; the answer is bounded
(``keys`` x ``values``) whatever their cardinality, so a dashboard can offer them as segments.
"""

from __future__ import annotations

from typing import Any

import duckdb

from heron.store._duckdb_sql import _naive

MAX_KEYS = 200
MAX_VALUES = 200

_TAGS = """
WITH t AS (
    SELECT unnest(map_keys(tags)) AS key, unnest(map_values(tags)) AS value FROM interactions
    WHERE project = $project AND start_time >= $lo AND start_time < $hi AND cardinality(tags) > 0
),
k AS (
    SELECT key, count(*) AS n, approx_count_distinct(value) AS distinct_values FROM t
    GROUP BY key ORDER BY n DESC, key LIMIT $keys
),
v AS (
    SELECT key, value, count(*) AS n FROM t SEMI JOIN k USING (key) GROUP BY key, value
    QUALIFY row_number() OVER (PARTITION BY key ORDER BY n DESC, value) <= $values
)
SELECT k.key, k.n, k.distinct_values, list({'value': v.value, 'count': v.n} ORDER BY v.n DESC, v.value) AS top
FROM k JOIN v USING (key) GROUP BY ALL ORDER BY k.n DESC, k.key
"""


class DuckDBTagReads:
    """Mixin for DuckDBStore: needs ``_cursor()``."""

    def _cursor(self) -> duckdb.DuckDBPyConnection:  # provided by DuckDBStore
        raise NotImplementedError

    def tags(self, project: str, start: float, end: float, *, keys: int = 50, values: int = 50) -> list[dict[str, Any]]:
        """The ``keys`` tag keys on most calls of [start, end), most first: ``{"key", "count" (calls carrying it),
        "distinct" (its distinct values, approximately), "values": [{"value", "count"}]}`` with its ``values`` busiest values."""
        rows = self._cursor().execute(
            _TAGS,
            {"project": project, "lo": _naive(start), "hi": _naive(end), "keys": min(int(keys), MAX_KEYS),
             "values": min(int(values), MAX_VALUES)},
        ).fetchall()  # fmt: skip
        return [{"key": key, "count": int(n), "distinct": int(distinct), "values": [{"value": v["value"], "count": int(v["count"])} for v in top]}
                for key, n, distinct, top in rows]  # fmt: skip
