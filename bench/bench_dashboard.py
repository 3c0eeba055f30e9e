"""The dashboard at 10M stored interactions: each page's data requests, and the first meaningful paint (issue 6).

Serves the store `python -m bench.bench_query --sizes 10000000` builds (project "bench": 30 days,
20,000 users, 10M interactions, with the signals and UX rollups `bench.bench_ux_query` synthesises)
from a server with the monitor off and nothing left to enrich, so only the dashboard's reads are
measured. The bench messages are one repeated sentence, so no topic model is fitted: the Topics
page's table and flow are measured, its map has no topics. Headless Debian
Chromium (Playwright) opens every page on every range with the window pinned to the data's end
(`?end=`, the dashboard's link-to-a-window parameter) and records the API requests each page
makes; each distinct request is then replayed `--repeat` times over HTTP, one at a time.

- `dashboard_api_p95_ms_10m`: the worst p95 over every page's requests (target < 300 ms);
  per request in `detail`.
- `dashboard_paint_s`: navigation start to the Overview's charts drawn (`body[data-state=ready]`:
  the key checked, eight charts' data fetched and drawn) in a fresh browser context (no cache,
  no stored key), median of `--paints` loads; the slowest is in `detail` (target < 1.5 s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import httpx
from tqdm import tqdm

from bench._common import READ_KEY, ROOT, record, start_server
from bench.bench_query import END, p95

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ["overview", "models", "users", "topics", "conversations", "drift", "resources"]
RANGES = ["24h", "7d", "30d"]


def page_requests(url: str, paints: int) -> tuple[dict[str, set[str]], list[float]]:
    """The API paths (with query) each page requests on each range, and the Overview's paint times."""
    from playwright.sync_api import sync_playwright

    requests: dict[str, set[str]] = {}
    paint: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for _ in tqdm(range(paints), desc="first paint", unit="load"):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(f"{url}/?key={READ_KEY}&since=7d&end={int(END)}", wait_until="commit")
                page.wait_for_selector("body[data-state=ready]", timeout=60_000)
                paint.append(page.evaluate("performance.now()") / 1000)
                context.close()
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            seen: list[str] = []
            page.on("request", lambda r: seen.append(r.url) if "/v1/" in r.url else None)
            page.goto(f"{url}/?key={READ_KEY}")
            page.wait_for_selector("body[data-state=ready]", timeout=60_000)
            listed = [a.get_attribute("data-page") for a in page.locator("#nav a").all()]
            missing = [name for name in PAGES if name not in listed]
            if missing:
                print(f"not in the dashboard: {', '.join(missing)}")
            for name in tqdm([n for n in PAGES if n in listed], desc="pages", unit="page"):
                for since in RANGES:
                    seen.clear()
                    page.goto(f"{url}/?page={name}&since={since}&end={int(END)}")
                    page.wait_for_selector(f"body[data-page={name}][data-state=ready]", timeout=120_000)
                    page.wait_for_load_state("networkidle")
                    if name == "conversations":  # opening one is part of the page's use
                        row = page.locator("[data-conversation]").first
                        if row.count():
                            row.click()
                            page.wait_for_load_state("networkidle")
                    requests.setdefault(name, set()).update(_path(u) for u in seen if "/v1/status" not in u)
            context.close()
        finally:
            browser.close()
    return requests, paint


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def replay(url: str, requests: dict[str, set[str]], repeat: int) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {READ_KEY}"}
    timings: dict[str, list[float]] = {}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        todo = [(name, path) for name, paths in requests.items() for path in sorted(paths)]
        for name, path in tqdm(todo, desc="replay", unit="request"):
            response = client.get(path)  # warm-up, and a check that the request is answered
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code} {response.text[:200]}")
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                client.get(path).raise_for_status()
                samples.append((time.perf_counter() - t0) * 1000)
            timings[f"{name} {path}"] = samples
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--paints", type=int, default=5)
    parser.add_argument("--data", default=str(ROOT / "bench" / ".data"))
    args = parser.parse_args()
    source = Path(args.data) / "query-10000000.duckdb"
    if not source.exists():
        raise SystemExit(f"{source} is missing: build it with `python -m bench.bench_query --sizes 10000000` then `python -m bench.bench_ux_query`")
    if shutil.which(CHROMIUM) is None:
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")
    # bench_ux_query synthesised every call's signals without moving the enrichment watermark: mark
    # them enriched, so the server's enrichment worker (on: the Topics page needs it) has nothing to do.
    con = duckdb.connect(str(source))
    try:
        con.execute("UPDATE enrich_state SET watermark = (SELECT max(i.rowid) FROM interaction_signals s JOIN interactions i"
                    " ON i.project = s.project AND i.id = s.interaction_id)")
    finally:
        con.close()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        os.symlink(source.resolve(), data_dir / "heron.duckdb")  # the server's store file, not a copy
        server = start_server(data_dir, env={"HERON_MONITOR_INTERVAL": "0"})
        try:
            requests, paint = page_requests(server.url, args.paints)
            timings = replay(server.url, requests, args.repeat)
        finally:
            server.stop()
    for key, samples in sorted(timings.items(), key=lambda kv: -p95(kv[1])):
        print(f"  p50 {statistics.median(samples):7.1f} ms  p95 {p95(samples):7.1f} ms  {key[:150]}")
    worst = max(timings, key=lambda k: p95(timings[k]))
    per_page = {name: round(max(p95(v) for k, v in timings.items() if k.startswith(name + " ")), 1) for name in requests if requests[name]}
    record("dashboard_api_p95_ms_10m", p95(timings[worst]), "ms", rows=10_000_000, requests=len(timings), worst=worst,
           detail={f"{name}_p95_ms": v for name, v in per_page.items()}, target="< 300")
    record("dashboard_paint_s", statistics.median(paint), "s", rows=10_000_000, detail={"max_s": round(max(paint), 3),
           "loads": len(paint)}, target="< 1.5")


if __name__ == "__main__":
    main()
