"""``heron drift``, ``heron incidents``, ``heron anomalies`` and ``heron backtest``: what changed, and what looks
wrong, from the server's API."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, TextIO

from heron.cli_metrics import _get


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    drift = sub.add_parser("drift", help="data drift between two windows or versions")
    _common(drift)
    drift.add_argument("--current", default="1d", help="current window, ending now (default 1d)")
    drift.add_argument("--reference", default="7d", help="'7d-ago' (same length, that long before), or a duration right before the current window (default 7d)")
    drift.add_argument("--reference-filter", action="append", default=[], metavar="DIM=VALUE", help="narrow the reference, e.g. prompt_version=v1")
    drift.add_argument("--current-filter", action="append", default=[], metavar="DIM=VALUE", help="narrow the current window, e.g. prompt_version=v2")
    drift.set_defaults(func=run_drift)
    anomalies = sub.add_parser("anomalies", help="anomalies found on metric streams")
    _common(anomalies)
    anomalies.add_argument("--since", default="24h", help="window (default 24h)")
    anomalies.set_defaults(func=run_anomalies)
    incidents = sub.add_parser("incidents", help="incidents: anomalies grouped by segment and time")
    _common(incidents)
    incidents.add_argument("--since", default="24h", help="window (default 24h)")
    incidents.add_argument("--status", choices=("open", "resolved"), help="only open or only resolved incidents")
    incidents.set_defaults(func=run_incidents)
    backtest = sub.add_parser("backtest", help="replay stored history through the anomaly detector: what would have fired")
    _common(backtest)
    backtest.add_argument("--since", default="7d", help="history to replay, at most 31d; its first 2 days teach the detector (default 7d)")
    backtest.add_argument("--threshold", type=float, help="alarm threshold in scales of a series' noise, 2 to 20 (default 6: fewer alarms above)")
    backtest.add_argument("--json", action="store_true", help="print the result as JSON")
    backtest.set_defaults(func=run_backtest)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get("HERON_URL", "http://127.0.0.1:8787"), help="server (env HERON_URL)")
    parser.add_argument("--key", default=os.environ.get("HERON_READ_KEY"), help="read key (env HERON_READ_KEY)")


def _call(name: str, args: argparse.Namespace, path: str, query: dict[str, str]) -> Any:
    try:
        return _get(args.url, args.key, path, query)
    except urllib.error.HTTPError as exc:
        print(f"heron {name}: {exc.code} {exc.read().decode(errors='replace')}", file=sys.stderr)
    except (urllib.error.URLError, OSError) as exc:
        print(f"heron {name}: cannot reach {args.url}: {exc}", file=sys.stderr)
    return None


def run_drift(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    query = {"current": args.current, "reference": args.reference}
    for side, items in (("reference", args.reference_filter), ("current", args.current_filter)):
        for item in items:
            dim, _, value = item.partition("=")
            if not value:
                print(f"--{side}-filter wants DIM=VALUE, got {item!r}", file=sys.stderr)
                return 2
            query[f"{side}_{dim}"] = value
    report = _call("drift", args, "/v1/drift", query)
    if report is None:
        return 1
    out.write(f"Heron drift: {_span(report['reference'])} → {_span(report['current'])}\n")
    verdict = "DRIFTED" if report["drifted"] else "no dataset drift"
    share = report["share_drifted"]
    out.write(f"{verdict}: {len(report['drifted_features'])} features drifted"
              f"{f' ({share:.0%} of those tested)' if share is not None else ''}\n\n")
    out.write(_table(["feature", "kind", "test", "statistic", "p-value", "score", "drift", "n ref", "n cur"], [
        [f["feature"], f["kind"], f["test"], _num(f["statistic"]), _num(f["p_value"]), _num(f["score"]),
         "yes" if f["drifted"] else ("—" if f["reason"] else "no"), f"{f['n_reference']:,}", f"{f['n_current']:,}"]
        for f in report["features"]]))  # fmt: skip
    return 0


def run_anomalies(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    data = _call("anomalies", args, "/v1/anomalies", {"since": args.since})
    if data is None:
        return 1
    rows = data["anomalies"]
    out.write(f"Heron anomalies, last {args.since}: {len(rows)}\n\n")
    if rows:
        out.write(_table(["time (UTC)", "metric", "segment", "observed", "expected", "range", "score", "kind"], [
            [_time(a["t"]), a["metric"], f"{a['dim']}={a['value']}" if a["dim"] else "all", _num(a["observed"]),
             _num(a["expected"]), f"{_num(a['low'])} … {_num(a['high'])}", _num(a["score"]), a["kind"]]
            for a in rows]))  # fmt: skip
    return 0


def run_incidents(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    query = {"since": args.since, **({"status": args.status} if args.status else {})}
    data = _call("incidents", args, "/v1/incidents", query)
    if data is None:
        return 1
    rows = data["incidents"]
    counts = data["counts"]
    out.write(f"Heron incidents, last {args.since}: {counts['open']} open, {counts['resolved']} resolved\n\n")
    if rows:
        out.write(_incident_table(rows))
    return 0


def run_backtest(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    from tqdm import tqdm

    query = {"since": args.since, **({"threshold": f"{args.threshold:g}"} if args.threshold is not None else {})}
    request = urllib.request.Request(f"{args.url.rstrip('/')}/v1/backtest?{urllib.parse.urlencode(query)}")
    if args.key:
        request.add_header("Authorization", f"Bearer {args.key}")
    result: dict[str, Any] | None = None
    try:
        with urllib.request.urlopen(request, timeout=600) as response, tqdm(desc="replaying", unit=" days", file=sys.stderr) as bar:
            for line in response:  # one line per day replayed, then the result
                item = json.loads(line)
                if "done" in item:
                    bar.total = item["total"]
                    bar.update(item["done"] - bar.n)
                else:
                    result = item
    except urllib.error.HTTPError as exc:
        print(f"heron backtest: {exc.code} {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"heron backtest: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    if result is None:
        print("heron backtest: the server stopped before the result", file=sys.stderr)
        return 1
    if args.json:
        out.write(json.dumps(result, indent=2) + "\n")
        return 0
    rows = result["incidents"]
    out.write(f"Heron backtest {_time(result['start'])} … {_time(result['end'])}, threshold {result['threshold']:g}: "
              f"{len(rows)} incidents from {result['anomalies']} anomalous minutes (the first "
              f"{result['learning_s'] / 86400:g} days only teach the detector)\n\n")  # fmt: skip
    if rows:
        out.write(_incident_table(rows))
    return 0


def _incident_table(rows: list[dict[str, Any]]) -> str:
    return _table(["opened (UTC)", "status", "severity", "segment", "minutes", "anomalies", "what"], [
        [_time(i["opened"]), i["status"], i["severity"],
         f"{i['segment']['dim']}={i['segment']['value']}" if i["segment"]["dim"] else "all",
         f"{max(1, round(i['duration_s'] / 60))}", f"{i['evidence']}", i["title"]]
        for i in rows])  # fmt: skip


def _span(window: dict[str, Any]) -> str:
    filters = ", ".join(f"{k}={v}" for k, v in window["filters"].items())
    return f"[{_time(window['start'])} … {_time(window['end'])}{'; ' + filters if filters else ''}]"


def _time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _num(value: float | None, fmt: Callable[[float], str] = lambda v: f"{v:.4g}") -> str:
    return "—" if value is None else fmt(value)


def _table(headings: list[str], body: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headings)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(headings), line(["-" * w for w in widths]), *(line(r) for r in body)]) + "\n"
