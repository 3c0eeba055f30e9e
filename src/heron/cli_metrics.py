"""``heron metrics``: the operational figures as a readable table, from a running server's API.

The CLI reads through the HTTP API (the server owns the DuckDB file, and a
second process cannot open it), with a read key from ``--key`` or
``HERON_READ_KEY``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any, TextIO

COLUMNS: list[tuple[str, str, str]] = [
    # (metric, heading, format)
    ("count", "calls", "{:,.0f}"),
    ("request_rate", "req/s", "{:.3g}"),
    ("error_rate", "errors", "{:.1%}"),
    ("latency_p50", "p50 ms", "{:,.0f}"),
    ("latency_p95", "p95 ms", "{:,.0f}"),
    ("latency_p99", "p99 ms", "{:,.0f}"),
    ("ttft_p50", "ttft p50", "{:,.0f}"),
    ("ttft_p95", "ttft p95", "{:,.0f}"),
    ("output_tokens_per_s", "out tok/s", "{:,.1f}"),
    ("input_tokens", "in tokens", "{:,.0f}"),
    ("output_tokens", "out tokens", "{:,.0f}"),
    ("cost_usd", "cost $", "{:,.2f}"),
]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("metrics", help="print latency, errors, throughput, tokens and cost as a table")
    p.add_argument("--url", default=os.environ.get("HERON_URL", "http://127.0.0.1:8787"), help="server (env HERON_URL)")
    p.add_argument("--key", default=os.environ.get("HERON_READ_KEY"), help="read key (env HERON_READ_KEY)")
    p.add_argument("--since", default="24h", help="window, e.g. 15m, 24h, 7d (default 24h)")
    p.add_argument("--by", default="model", help="dimension to group by, or 'none' (default model)")
    p.add_argument("--bucket", default="all", choices=["all", "minute", "hour", "day"], help="one row per group (all) or per time bucket")
    p.add_argument("--filter", action="append", default=[], metavar="DIM=VALUE", help="e.g. --filter prompt_version=v3")
    p.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    p.set_defaults(func=run)


def _get(url: str, key: str | None, path: str, query: dict[str, str]) -> Any:
    request = urllib.request.Request(f"{url.rstrip('/')}{path}?{urllib.parse.urlencode(query)}")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    query = {"since": args.since, "bucket": args.bucket, "metrics": ",".join(m for m, _, _ in COLUMNS)}
    if args.by != "none":
        query["group_by"] = args.by
    for item in args.filter:
        dim, _, value = item.partition("=")
        if not value:
            print(f"--filter wants DIM=VALUE, got {item!r}", file=sys.stderr)
            return 2
        query[dim] = value
    try:
        data = _get(args.url, args.key, "/v1/metrics", query)
        unknown = _get(args.url, args.key, "/v1/costs/unknown-models", {"since": args.since})["models"]
    except urllib.error.HTTPError as exc:
        print(f"heron metrics: {exc.code} {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"heron metrics: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(data, out, indent=2)
        out.write("\n")
        return 0
    out.write(render(data["series"], by=None if args.by == "none" else args.by, bucket=args.bucket, since=args.since))
    if unknown:
        listed = ", ".join(f"{m['model']} ({m['calls']:,} calls)" for m in unknown[:5])
        out.write(f"\nCost unknown (no price) for: {listed}. Add prices with POST /v1/prices.\n")
    return 0


def _cell(value: Any, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def render(series: list[dict[str, Any]], *, by: str | None, bucket: str, since: str) -> str:
    """A fixed-width table, one line per (bucket, group)."""
    headings = ([] if bucket == "all" else ["time"]) + [by or "all"] + [h for _, h, _ in COLUMNS]
    rows = []
    for row in series:
        cells = [] if bucket == "all" else [datetime.fromisoformat(row["t"].replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")]
        cells.append("(not set)" if row.get("group") is None and by else str(row.get("group") or "all"))
        cells += [_cell(row.get(metric), fmt) for metric, _, fmt in COLUMNS]
        rows.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headings)]
    text_columns = 1 if bucket == "all" else 2

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < text_columns else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    title = f"Heron metrics, last {since}" + (f", by {by}" if by else "") + ("" if bucket == "all" else f", per {bucket}")
    body = [title, line(headings), line(["-" * w for w in widths])] + [line(r) for r in rows]
    if not rows:
        body.append("(no interactions in this window)")
    return "\n".join(body) + "\n"
