"""Re-deriving stored dimensions: after a migration changed them, or a project's attribute mapping did.

Calls keep every non-content attribute as a tag, so a new mapping can be applied to
stored calls with one UPDATE (a dimension is set where the new mapping finds a
value; it is never cleared). Everything derived from the dimensions — the hourly
rollups, daily users, the signals' copies, the UX and engagement rollups — is then
rebuilt for the project, one day per transaction, from ``rederive_pending.next_day``
on, so an interrupted rebuild resumes where it stopped (on the next open).
"""

from __future__ import annotations

from typing import Any

from heron.schema import limits as L
from heron.schema.mapping import AttributeMapping

SIGNAL_COPIES = ("model", "prompt_version", "app_version", "variant", "user_id", "conversation_id")
"""Dimensions ``interaction_signals`` keeps a copy of."""

def _day(alias: str = "") -> str:
    return f"{alias}start_time >= CAST($day AS TIMESTAMP) AND {alias}start_time < CAST($day AS TIMESTAMP) + INTERVAL 1 DAY"


def _tag(key: str, params: list[Any]) -> str:
    params.append(key)
    return f"CASE WHEN length(tags[${len(params)}]) BETWEEN 1 AND {L.MAX_ID_CHARS} THEN tags[${len(params)}] END"


def mapping_update(project: str, mapping: AttributeMapping) -> tuple[str, list[Any]]:
    """(UPDATE statement, params) setting each mapped dimension of ``project``'s calls from their tags."""
    params: list[Any] = [project]
    sets: list[str] = []
    changed: list[str] = []
    for dim, keys in mapping.items():
        if not keys:
            continue
        found = "coalesce(" + ", ".join(_tag(k, params) for k in keys) + ")"
        if dim == "rag_source":
            new = (
                f"CASE WHEN {found} IS NULL THEN rag_sources"
                f" WHEN starts_with({found}, '[') AND json_valid({found}) THEN from_json({found}, '[\"VARCHAR\"]')"
                f" ELSE [{found}] END"
            )
            column = "rag_sources"
        else:
            new, column = f"coalesce({found}, {dim})", dim
        sets.append(f"{column} = {new}")
        changed.append(f"{column} IS DISTINCT FROM {new}")
    sql = f"UPDATE interactions SET {', '.join(sets)} WHERE project = $1 AND tags IS NOT NULL AND ({' OR '.join(changed)})"
    return sql, params


def day_statements() -> list[str]:
    """Per (project ``$project``, day ``$day``): refresh the signals' copies and clear the day's rollups;
    the caller then folds the day's calls again (``new_rows``) as a write would."""
    copies = ", ".join(f"{c} = i.{c}" for c in SIGNAL_COPIES)
    return [
        f"UPDATE interaction_signals s SET {copies} FROM interactions i WHERE s.project = $project AND {_day('s.')}"
        f" AND i.project = s.project AND i.id = s.interaction_id AND {_day('i.')}",
        "DELETE FROM rollup_hour WHERE project = $project AND hour >= CAST($day AS TIMESTAMP) AND hour < CAST($day AS TIMESTAMP) + INTERVAL 1 DAY",
        "DELETE FROM rollup_hour_hist WHERE project = $project AND hour >= CAST($day AS TIMESTAMP) AND hour < CAST($day AS TIMESTAMP) + INTERVAL 1 DAY",
        "DELETE FROM daily_users WHERE project = $project AND day = $day",
        "DELETE FROM daily_user_counts WHERE project = $project AND day = $day",
        f"CREATE OR REPLACE TEMP TABLE new_rows AS SELECT * FROM interactions WHERE project = $project AND {_day()}",
    ]


def after_day() -> list[str]:
    return [
        "INSERT INTO engagement_pending VALUES ($day) ON CONFLICT DO NOTHING",
        "UPDATE rederive_pending SET next_day = CAST($day AS DATE) + 1 WHERE project = $project",
    ]
