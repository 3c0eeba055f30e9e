"""What users ask about, and how sessions move between topics: the topic table and the flow (Sankey).

Pure functions over rows the store returns (``ux_summary(group_by="topic_id")``
and ``topic_flow``) and each topic's name; nothing here reads a store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

START, OTHER, END = -2, -1, -3
"""Flow nodes besides topics (the same numbers as the store's flow table)."""

_FIGURES = ("satisfaction_avg", "frustration_rate", "abandonment_rate", "sentiment_avg", "complaint_rate",
            "rephrase_rate", "unexpected_rate", "thumbs_up_rate", "cost_usd", "cost_avg", "latency_avg")  # fmt: skip


def topic_table(
    current: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]],
    series: Sequence[Mapping[str, Any]],
    names: Mapping[int, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """One row per topic, busiest first: volume, share, trend against the previous window, daily volume, UX figures.

    ``current``/``previous``: summary rows grouped by topic for the window and the
    one before it; ``series``: the same per day; ``names``: topic id ->
    ``{"label", "keywords", ...}`` (anything else is passed through).
    Turns enriched before the project had a topic model (group None) are left out.
    """
    before = {row["group"]: int(row["interactions"]) for row in previous if row["group"] is not None}
    days: dict[int, list[dict[str, Any]]] = {}
    for row in series:
        if row["group"] is not None:
            days.setdefault(row["group"], []).append({"t": row["t"], "interactions": int(row["interactions"])})
    rows = [row for row in current if row["group"] is not None]
    total = sum(int(row["interactions"]) for row in rows) or 1
    table = []
    for row in rows:
        topic = int(row["group"])
        volume, earlier = int(row["interactions"]), before.get(topic, 0)
        name = names.get(topic, {})
        table.append({
            "topic_id": topic,
            "label": name.get("label", "other" if topic == OTHER else f"topic {topic}"),
            **{k: v for k, v in name.items() if k != "label"},
            "interactions": volume,
            "conversations": int(row["conversations"]),
            "share": volume / total,
            "previous": earlier,
            "trend": (volume - earlier) / earlier if earlier else None,
            "new": volume > 0 and earlier == 0,  # no previous volume: no ratio, but the biggest trend of all
            "series": days.get(topic, []),
            **{k: row.get(k) for k in _FIGURES},
        })  # fmt: skip
    table.sort(key=lambda r: (-r["interactions"], r["topic_id"]))
    return table


def flow(rows: Sequence[Mapping[str, Any]], labels: Mapping[int, str], *, max_links: int = 200) -> dict[str, Any]:
    """Sankey data: nodes (start, topics, other, end) and links between them, plus where sessions end.

    A link's ``frustrated`` counts steps into a frustrated message; for a link
    into "end", sessions abandoned right after a poor answer. ``endings`` ranks
    topics by how many sessions ended there, with the share abandoned.
    """
    links = [dict(row) for row in rows][:max_links]
    ids = sorted({row["source"] for row in links} | {row["target"] for row in links}, key=_node_order)
    nodes = [{"id": node, "label": _node_label(node, labels)} for node in ids]
    endings = []
    for row in rows:
        if row["target"] == END and row["source"] not in (START, END):
            ended, abandoned = int(row["n"]), int(row["frustrated"])
            endings.append({"topic_id": row["source"], "label": _node_label(row["source"], labels), "sessions_ended": ended,
                            "abandoned": abandoned, "abandonment_rate": abandoned / ended if ended else None})  # fmt: skip
    endings.sort(key=lambda e: (-e["sessions_ended"], e["topic_id"]))
    transitions = [row for row in links if row["source"] >= OTHER and row["target"] >= OTHER and row["source"] != row["target"]]
    return {
        "nodes": nodes,
        "links": [{"source": r["source"], "target": r["target"], "value": int(r["n"]), "frustrated": int(r["frustrated"])} for r in links],
        "endings": endings,
        "top_transitions": [
            {"from": _node_label(r["source"], labels), "to": _node_label(r["target"], labels), "sessions": int(r["n"])}
            for r in sorted(transitions, key=lambda r: -r["n"])[:10]
        ],
    }


def _node_order(node: int) -> tuple[int, int]:
    return (0 if node == START else 2 if node == END else 1, node)


def _node_label(node: int, labels: Mapping[int, str]) -> str:
    if node == START:
        return "start"
    if node == END:
        return "end"
    if node == OTHER:
        return "other"
    return labels.get(node, f"topic {node}")
