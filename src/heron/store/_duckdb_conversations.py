"""Conversations in DuckDB: the explorer's search, and one conversation turn by turn.

Search ranks conversations by their newest turn in the window that matches every
condition. The window is read backwards in slices (an hour, then as much wider as
the density found so far asks, at most 16 times) until one holds more conversations
than the page: a conversation whose newest matching turn lies in the slice is ranked
by the slice alone, so the first page of a busy project reads an hour of turns.

Reading a conversation by id (one, or a page of them for the rows' summaries):
``interactions`` has no index (one would slow every ingest write);
``interaction_signals`` has one on conversation_id (migration 0009). Every
interaction up to the enrichment watermark has its signals row, with the same start
time, so a conversation's turns lie within the time span of its signals rows or
after the watermark: small scans instead of one over every turn stored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import duckdb

from heron.errors import ValidationError
from heron.store import _duckdb_sql as sql
from heron.store._duckdb_signals import user_text
from heron.store._duckdb_sql import _aware, _naive
from heron.store.base import CONVERSATION_FILTERS, SENTIMENTS, ConversationQuery, Page

FIRST_SLICE = timedelta(hours=1)
MAX_GROWTH = 16
"""A slice of the search is at most this many times wider than the one before."""
GAP = timedelta(hours=1)
"""Conversations' spans closer than this are read in one range (cheaper than a range each)."""
SLACK = timedelta(seconds=1)
"""Signals keep a turn's start time through a float: look that much around their span."""
FIRST_MESSAGE_CHARS = 300
_ON_SIGNALS = ("model", "app_version", "prompt_version", "user_id")
"""Turn filters ``interaction_signals`` can answer itself; the others (tags, environment, ...) ask ``interactions``."""

_SENTIMENT = {
    "negative": "sentiment <= -0.05",
    "neutral": "sentiment > -0.05 AND sentiment < 0.05",
    "positive": "sentiment >= 0.05",
}
_TEXT = "(contains(lower(input), ?) OR contains(lower(output), ?))"
_SIGNALS = (
    'SELECT conversation_id, start_time, sentiment, frustration, complaint, rephrase, "repeat", refusal, satisfaction,'
    " topic_id, thumbs FROM interaction_signals WHERE project = ? AND conversation_id = ?"
)
# Each part marks its first turn per conversation, so only those inputs leave DuckDB.
_TURNS = (
    "SELECT conversation_id, start_time, user_id, model, status, cost_usd, latency_ms,"
    " CASE WHEN row_number() OVER (PARTITION BY conversation_id ORDER BY start_time, id) = 1 THEN input END AS first_input"
    " FROM interactions WHERE "
)
_DETAIL_EXCLUDE = (
    "project, conversation_id, user_id, model, prompt_version, app_version, variant, enriched_at, latency_ms, cost_usd, counted"
)


def check(query: ConversationQuery) -> None:
    """Refuse what the search cannot answer, naming the parameter."""
    for column, _ in query.equals:
        if column not in CONVERSATION_FILTERS and not (column.startswith("tag.") and len(column) > 4):
            raise ValidationError(column, f"conversations can be matched on {', '.join(CONVERSATION_FILTERS)}, tag.<key>")
    if query.sentiment is not None and query.sentiment not in SENTIMENTS:
        raise ValidationError("sentiment", f"must be one of {', '.join(SENTIMENTS)}, got {query.sentiment!r}")
    if query.end <= query.start:
        raise ValidationError("end", "must be after start")


def slice_sql(query: ConversationQuery, lo: datetime, hi: datetime, after: tuple[datetime, str] | None) -> tuple[str, list[Any]]:
    """Conversations with a matching turn in [lo, hi), ranked by the newest one, below ``after``; limit + 1 of them.

    Turn conditions on signals read ``interaction_signals`` (unenriched turns cannot match
    them), with what only the call has (text, tags) from that turn's ``interactions`` row; without
    them everything reads ``interactions``, so the newest turns count before enrichment.
    """
    by_signals = bool(query.topics or query.sentiment or query.frustrated)
    params: list[Any] = [query.project, lo, hi]
    clauses = ["project = ?", "start_time >= ?", "start_time < ?", "conversation_id IS NOT NULL"]
    on_calls: list[str] = []  # conditions only ``interactions`` can answer, when reading signals
    call_params: list[Any] = []
    for column, value in query.equals:
        condition, values = ("tags[?] = ?", [column[4:], value]) if column.startswith("tag.") else (f"{column} = ?", [value])
        if by_signals and column not in _ON_SIGNALS:
            on_calls.append(condition)
            call_params += values
        else:
            clauses.append(condition)
            params += values
    if query.errors:
        clauses.append("error" if by_signals else "status = 'error'")  # the signal is status = 'error'
    if query.topics:
        clauses.append("list_contains(?, topic_id)")
        params.append(list(query.topics))
    if query.sentiment:
        clauses.append(_SENTIMENT[query.sentiment])
    if query.frustrated:
        clauses.append("frustration >= 0.5")
    if query.text:
        needle = query.text.lower()
        if by_signals:
            on_calls.append(_TEXT)
            call_params += [needle, needle]
        else:
            clauses.append(_TEXT)
            params += [needle, needle]
    if on_calls:  # the same turn: its call matches these, its signals the rest
        clauses.append(f"interaction_id IN (SELECT id FROM interactions WHERE project = ? AND start_time >= ? AND start_time < ? AND {' AND '.join(on_calls)})")
        params += [query.project, lo, hi, *call_params]
    having = ""
    if after is not None:
        having = "HAVING max(start_time) < ? OR (max(start_time) = ? AND conversation_id < ?)"
        params += [after[0], after[0], after[1]]
    params.append(query.limit + 1)
    table = "interaction_signals" if by_signals else "interactions"
    return (
        f"SELECT conversation_id, max(start_time) AS k FROM {table} WHERE {' AND '.join(clauses)}"
        f" GROUP BY conversation_id {having} ORDER BY k DESC, conversation_id DESC LIMIT ?",
        params,
    )


def merge_spans(spans: Sequence[tuple[str, datetime, datetime]]) -> list[tuple[datetime, datetime, list[str]]]:
    """(lo, hi, conversation ids) covering each conversation's (id, lo, hi); spans less than GAP apart share one."""
    merged: list[tuple[datetime, datetime, list[str]]] = []
    for ident, lo, hi in sorted(spans, key=lambda s: s[1]):
        lo, hi = lo - SLACK, hi + SLACK
        if merged and lo - merged[-1][1] < GAP:
            first, last, ids = merged[-1]
            merged[-1] = (first, max(last, hi), [*ids, ident])
        else:
            merged.append((lo, hi, [ident]))
    return merged


def first_user_message(text: str | None) -> str | None:
    """The newest user message of a turn's input (what the user said then), cut to FIRST_MESSAGE_CHARS."""
    said = user_text(text)
    if not said:
        return None
    return said if len(said) <= FIRST_MESSAGE_CHARS else said[: FIRST_MESSAGE_CHARS - 1] + "…"


def _watermark(cur: duckdb.DuckDBPyConnection) -> int:
    """The highest interactions rowid enriched: every one up to it has its signals row."""
    return int(cur.execute("SELECT watermark FROM enrich_state WHERE id = 0").fetchall()[0][0])


@contextlib.contextmanager
def _snapshot(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Several reads that see one state of the store (the watermark and the rows it speaks of)."""
    cur.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")


class DuckDBConversations:
    """Mixin for DuckDBStore: needs ``_cursor()`` and ``_feedback_for()``."""

    def _cursor(self) -> duckdb.DuckDBPyConnection:  # provided by DuckDBStore
        raise NotImplementedError

    def _feedback_for(self, project: str, ids: list[str]) -> dict[str, list[dict[str, Any]]]:  # provided by DuckDBStore
        raise NotImplementedError

    # -- search ------------------------------------------------------------------

    def conversations(self, query: ConversationQuery) -> Page:
        check(query)
        cur = self._cursor()
        with _snapshot(cur):
            keys = self._search(cur, query)
            page = keys[: query.limit]
            summaries = self._summaries(cur, query.project, [ident for ident, _ in page])
        items = []
        for ident, matched in page:
            item = {"conversation_id": ident, "last_match": _aware(matched), **summaries.get(ident, {})}
            items.append(item)
        more = len(keys) > query.limit and page
        return Page(items=items, next_cursor=sql.encode_cursor({"start_time": page[-1][1], "id": page[-1][0]}) if more else None)

    def _search(self, cur: duckdb.DuckDBPyConnection, query: ConversationQuery) -> list[tuple[str, datetime]]:
        start, end = _naive(query.start), _naive(query.end)
        after = sql.decode_cursor(query.cursor) if query.cursor else None
        top = min(end, after[0]) if after else end
        width = FIRST_SLICE
        while True:
            lo = max(start, top - width)
            statement, params = slice_sql(query, lo, end, after)
            rows = cur.execute(statement, params).fetchall()
            if len(rows) > query.limit or lo <= start:
                return [(str(r[0]), r[1]) for r in rows]
            # Wide enough for the page at the density seen so far, with a margin; at most MAX_GROWTH times wider.
            width *= min(MAX_GROWTH, max(2.0, 1.5 * (query.limit + 1) / len(rows))) if rows else MAX_GROWTH

    def _summaries(self, cur: duckdb.DuckDBPyConnection, project: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Each conversation's figures over all its turns: its signals by index, then its interactions."""
        if not ids:
            return {}
        signals = cur.execute(" UNION ALL ".join([_SIGNALS] * len(ids)), [v for ident in ids for v in (project, ident)]).fetchall()
        spans: dict[str, tuple[datetime, datetime]] = {}
        for row in signals:
            lo, hi = spans.get(row[0], (row[1], row[1]))
            spans[row[0]] = (min(lo, row[1]), max(hi, row[1]))
        watermark = _watermark(cur)
        parts, params = [_TURNS + "rowid > ? AND project = ? AND list_contains(?, conversation_id)"], [watermark, project, ids]
        for lo, hi, group in merge_spans([(ident, lo, hi) for ident, (lo, hi) in spans.items()]):
            parts.append(_TURNS + "project = ? AND start_time BETWEEN ? AND ? AND rowid <= ? AND list_contains(?, conversation_id)")
            params += [project, lo, hi, watermark, group]
        turns = cur.execute(" UNION ALL ".join(f"({part})" for part in parts), params).fetchall()
        return summarise(turns, signals)

    # -- one conversation ----------------------------------------------------------

    def conversation(self, project: str, conversation_id: str) -> list[dict[str, Any]]:
        cur = self._cursor()
        with _snapshot(cur):
            found = sql.fetch_dicts(
                cur.execute(
                    f"SELECT * EXCLUDE ({_DETAIL_EXCLUDE}) FROM interaction_signals WHERE project = ? AND conversation_id = ?",
                    [project, conversation_id],
                )
            )
            watermark = _watermark(cur)
            one = "SELECT * FROM interactions WHERE project = ? AND conversation_id = ? AND "
            statement, params = one + "rowid > ?", [project, conversation_id, watermark]
            if found:  # a union, not an OR: each part keeps its own pruning
                lo, hi = min(r["start_time"] for r in found) - SLACK, max(r["start_time"] for r in found) + SLACK
                statement += " UNION ALL " + one + "start_time BETWEEN ? AND ? AND rowid <= ?"
                params += [project, conversation_id, lo, hi, watermark]
            rows = sql.fetch_dicts(cur.execute(f"SELECT * FROM ({statement}) ORDER BY start_time, id", params))
        signals = {row.pop("interaction_id"): row for row in found}
        items = [sql.interaction_row(r) for r in rows]
        feedback = self._feedback_for(project, [i["id"] for i in items])
        for item in items:
            item["feedback"] = feedback.get(item["id"], [])
            turn = signals.get(item["id"])
            if turn is not None:
                turn.pop("start_time")
            item["signals"] = turn
            item["satisfaction"] = turn.pop("satisfaction") if turn else None
            item["satisfaction_source"] = None if not turn or item["satisfaction"] is None else (
                "explicit" if turn["explicit"] is not None else "implicit")  # fmt: skip
        return items


def summarise(turns: Sequence[tuple[Any, ...]], signals: Sequence[tuple[Any, ...]]) -> dict[str, dict[str, Any]]:
    """Summary rows from the rows of ``_TURNS`` and ``_SIGNALS``, per conversation (a few hundred rows: Python is quick)."""
    by_conversation: dict[str, list[tuple[Any, ...]]] = {}
    for signal in signals:
        by_conversation.setdefault(signal[0], []).append(signal)
    out: dict[str, dict[str, Any]] = {}
    first: dict[str, tuple[datetime, str | None]] = {}
    for ident, start, user, model, status, cost, latency, text in sorted(turns, key=lambda r: r[1]):
        row = out.get(ident)
        if row is None:
            row = out[ident] = {"first_time": _aware(start), "turns": 0, "user_id": None, "users": set(), "models": set(),
                                "errors": 0, "cost_usd": None, "latency": []}  # fmt: skip
        row["last_time"] = _aware(start)
        row["turns"] += 1
        if user is not None:
            row["user_id"] = row["user_id"] or user
            row["users"].add(user)
        row["models"].add(model)
        row["errors"] += status == "error"
        if cost is not None:
            row["cost_usd"] = (row["cost_usd"] or 0.0) + cost
        if latency is not None:
            row["latency"].append(latency)
        if text is not None and ident not in first:
            first[ident] = (start, text)
    for ident, row in out.items():
        row["users"] = len(row["users"])
        row["models"] = sorted(m for m in row["models"] if m is not None)
        latency = row.pop("latency")
        row["latency_avg"] = sum(latency) / len(latency) if latency else None
        row["first_message"] = first_user_message(first.get(ident, (None, None))[1])
        row.update(_signal_figures(by_conversation.get(ident, [])))
    return out


def _signal_figures(rows: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
    """A conversation's signal figures from its ``_SIGNALS`` rows (none: not enriched yet)."""
    columns = list(zip(*rows)) if rows else [()] * 11
    _, _, sentiment, frustration, complaint, rephrase, repeat, refusal, satisfaction, topic, thumbs = columns

    def mean(values: Sequence[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return sum(known) / len(known) if known else None

    known_sentiment = [v for v in sentiment if v is not None]
    known_frustration = [v for v in frustration if v is not None]
    return {
        "enriched": len(rows),
        "sentiment_avg": mean(sentiment),
        "sentiment_min": min(known_sentiment) if known_sentiment else None,
        "frustration_max": max(known_frustration) if known_frustration else None,
        "frustrated": sum(1 for v in known_frustration if v >= 0.5),
        "complaints": sum(1 for v in complaint if v),
        "rephrases": sum(1 for v in rephrase if v),
        "repeats": sum(1 for v in repeat if v),
        "refusals": sum(1 for v in refusal if v),
        "satisfaction_avg": mean(satisfaction),
        "topics": sorted({v for v in topic if v is not None}),
        "thumbs_up": sum(1 for v in thumbs if v == "up"),
        "thumbs_down": sum(1 for v in thumbs if v == "down"),
    }
