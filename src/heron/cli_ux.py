"""``heron ux report``: how users experience the LLM product, as a readable summary from the API."""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
from typing import Any, TextIO

from heron.cli_metrics import _get

COLUMNS: list[tuple[str, str, str]] = [
    ("interactions", "turns", "{:,.0f}"),
    ("conversations", "convs", "{:,.0f}"),
    ("satisfaction_avg", "satisfied", "{:.0%}"),
    ("sentiment_avg", "sentiment", "{:+.2f}"),
    ("frustration_rate", "frustrated", "{:.1%}"),
    ("rephrase_rate", "rephrase", "{:.1%}"),
    ("complaint_rate", "complaint", "{:.1%}"),
    ("unexpected_rate", "bad reply", "{:.1%}"),
    ("language_mismatch_rate", "other lang", "{:.1%}"),
    ("gratitude_rate", "thanks", "{:.1%}"),
    ("thumbs_up_rate", "thumbs up", "{:.0%}"),
]
TOPIC_COLUMNS: list[tuple[str, str, str]] = [
    ("interactions", "turns", "{:,.0f}"),
    ("share", "share", "{:.0%}"),
    ("trend", "trend", "{:+.0%}"),
    ("satisfaction_avg", "satisfied", "{:.0%}"),
    ("frustration_rate", "frustrated", "{:.1%}"),
    ("abandonment_rate", "abandoned", "{:.0%}"),
    ("cost_usd", "cost $", "{:,.2f}"),
    ("latency_avg", "latency ms", "{:,.0f}"),
]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ux = sub.add_parser("ux", help="user-experience analytics")
    ux_sub = ux.add_subparsers(dest="ux_command", required=True)
    report = ux_sub.add_parser("report", help="print sentiment, frustration and satisfaction by model and prompt version")
    report.add_argument("--url", default=os.environ.get("HERON_URL", "http://127.0.0.1:8787"), help="server (env HERON_URL)")
    report.add_argument("--key", default=os.environ.get("HERON_READ_KEY"), help="read key (env HERON_READ_KEY)")
    report.add_argument("--since", default="7d", help="window, e.g. 24h, 7d (default 7d)")
    report.add_argument("--by", action="append", default=None, help="dimensions, repeatable (default: model and prompt_version)")
    report.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    dims = args.by or ["model", "prompt_version"]
    try:
        overall = _get(args.url, args.key, "/v1/ux/summary", {"since": args.since})["series"]
        tables = {dim: _get(args.url, args.key, "/v1/ux/summary", {"since": args.since, "group_by": dim})["series"] for dim in dims}
        status = _get(args.url, args.key, "/v1/status", {})
        active = _get(args.url, args.key, "/v1/users/active", {"since": args.since})["days"]
        kept = _get(args.url, args.key, "/v1/users/retention", {"since": args.since, "offsets": "1,7"})["overall"]
        topics = _optional(args, "/v1/topics")
        flow = _optional(args, "/v1/topics/flow")
    except urllib.error.HTTPError as exc:
        print(f"heron ux report: {exc.code} {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"heron ux report: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    out.write(f"Heron user experience, last {args.since}\n\n")
    out.write(_table("overall", overall))
    for dim, rows in tables.items():
        out.write("\n" + _table(dim, rows))
    out.write("\n" + _users(active, kept))
    out.write("\n" + _topics(topics, flow))
    enrichment = status.get("enrichment") or {}
    if enrichment.get("backlog"):
        out.write(f"\n({enrichment['backlog']:,} recent interactions are still being enriched; lag {enrichment['lag_s']:.0f} s)\n")
    return 0


def _optional(args: argparse.Namespace, path: str) -> dict[str, Any] | None:
    """Topic endpoints answer 400 when enrichment is off; the report then leaves topics out."""
    try:
        return _get(args.url, args.key, path, {"since": args.since})
    except urllib.error.HTTPError as exc:
        if exc.code == 400:
            return None
        raise


def _topics(topics: dict[str, Any] | None, flow: dict[str, Any] | None, top: int = 12) -> str:
    if topics is None or flow is None:
        return "topics: enrichment is off on this server\n"
    if not topics["topics"]:
        return "topics: no topic model yet (one is fitted once a few hundred user messages are enriched)\n"
    rows = [{**r, "group": r["label"][:40]} for r in topics["topics"][:top]]
    text = _table("topic", rows, TOPIC_COLUMNS)
    ends = [e for e in flow["endings"] if e["sessions_ended"]][:5]
    if ends:
        text += "\nsessions end most often in: " + "; ".join(
            f"{e['label'][:30]} ({e['sessions_ended']:,}, {e['abandonment_rate'] or 0:.0%} abandoned)" for e in ends) + "\n"
    worst = sorted((e for e in flow["endings"] if e["sessions_ended"] >= 10), key=lambda e: -(e["abandonment_rate"] or 0))[:3]
    if worst:
        text += "most often abandoned after a poor answer: " + "; ".join(
            f"{e['label'][:30]} ({e['abandonment_rate']:.0%})" for e in worst) + "\n"
    moves = flow["top_transitions"][:5]
    if moves:
        text += "top topic changes: " + "; ".join(f"{m['from'][:25]} → {m['to'][:25]} ({m['sessions']:,})" for m in moves) + "\n"
    return text


def _table(dim: str, rows: list[dict[str, Any]], columns: list[tuple[str, str, str]] = COLUMNS) -> str:
    headings = [dim] + [h for _, h, _ in columns]
    body = [[str(r.get("group") if r.get("group") is not None else ("all" if dim == "overall" else "(not set)"))]
            + ["—" if r.get(m) is None else f.format(r[m]) for m, _, f in columns] for r in rows]  # fmt: skip
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(headings)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    lines = [line(headings), line(["-" * w for w in widths])] + [line(b) for b in body]
    if not body:
        lines.append("(no enriched interactions in this window)")
    return "\n".join(lines) + "\n"


def _users(days: list[dict[str, Any]], overall: dict[str, Any]) -> str:
    """Users: the latest day's DAU/WAU/MAU, new vs returning over the window, day-1/7 retention."""
    if not days:
        return "users: none in this window\n"
    last = days[-1]
    new = sum(d["new"] for d in days)
    returning = sum(d["returning"] for d in days)
    rates = overall.get("active_rate") or [None, None]
    kept = ", ".join(f"day {n}: {'—' if r is None else f'{r:.0%}'}" for n, r in zip((1, 7), rates))
    return (
        f"users on {last['day']}: {last['dau']:,} daily, {last['wau']:,} weekly, {last['mau']:,} monthly active\n"
        f"over the window: {new:,} new and {returning:,} returning user-days; retention {kept}\n"
    )
