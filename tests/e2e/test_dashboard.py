"""The dashboard in a real browser: Debian's Chromium driven by Playwright against a server with demo traffic."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import msgspec
import pytest

from heron.demo.generator import Scenario, generate
from heron.store.duckdb import DuckDBStore
from tests.conftest import RunningServer, start_server

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHARTS = ["volume", "error_rate", "latency", "ttft", "tokens", "cost", "satisfaction", "frustration"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "overview.png"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@contextlib.contextmanager
def browser_page() -> Iterator[tuple[Page, list[str]]]:
    """A page in headless Debian Chromium, and the console errors and uncaught exceptions it logs."""
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)  # a loaded 2-core CI machine is slow to start Chromium's work
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page, errors
        finally:
            browser.close()


def _load_demo(server: RunningServer) -> int:
    now = time.time()
    scenario = Scenario(seed=5, start=now - 2 * 86400, end=now - 60, users=150, interactions_per_hour=60)
    items = [msgspec.to_builtins(t.interaction) for t in generate(scenario)]
    for k in range(0, len(items), 1000):
        response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": items[k : k + 1000]}, headers=server.write_headers)
        assert response.status_code == 200, response.text
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # satisfaction and frustration need enrichment to have caught up
        enrichment = httpx.get(f"{server.url}/v1/status", headers=server.read_headers).json()["enrichment"]
        if enrichment and enrichment["enriched"] >= len(items) and enrichment["backlog"] == 0:
            return len(items)
        time.sleep(0.2)
    raise AssertionError("enrichment did not catch up")


def _points(page: Page) -> dict[str, int]:
    return {name: int(page.get_attribute(f"#chart-{name}", "data-points") or 0) for name in CHARTS}


def test_assets_are_served_from_the_package(server: RunningServer) -> None:
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    for path, kind in [("app.js", "text/javascript"), ("app.css", "text/css"), ("vendor/uPlot.iife.min.js", "text/javascript")]:
        asset = httpx.get(f"{server.url}/dashboard/static/{path}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind), path
        assert "immutable" in asset.headers["cache-control"]
        again = httpx.get(f"{server.url}/dashboard/static/{path}", headers={"If-None-Match": asset.headers["etag"]})
        assert again.status_code == 304
    assert httpx.get(f"{server.url}/dashboard/static/../routes.py").status_code == 404
    assert httpx.get(f"{server.url}/dashboard/static/nope.js").status_code == 404


def test_overview_renders_every_chart_and_follows_the_range(server: RunningServer) -> None:
    _load_demo(server)
    with browser_page() as (page, errors):

        # Without a key the page asks for one; a wrong key is refused and asked for again.
        page.goto(f"{server.url}/")
        page.wait_for_selector("#login:not([hidden])")
        page.fill("#key", "hn_r_wrong")
        page.click("#login button")
        page.wait_for_function("document.querySelector('#login-error').textContent.includes('refused')")
        page.wait_for_load_state("networkidle")
        assert len(errors) == 1 and "401" in errors[0], errors  # the browser logs the one refused check
        errors.clear()

        # ?key= is accepted once, stored, and dropped from the address bar.
        page.goto(f"{server.url}/?key={server.read_key}")
        page.wait_for_selector("body[data-state=ready]")
        assert "key=" not in page.url
        assert page.evaluate("localStorage.getItem('heron.readKey')") == server.read_key
        assert page.get_attribute("body", "data-range") == "7d"
        week = _points(page)
        assert all(n > 0 for n in week.values()), week
        assert page.locator(".chart canvas").count() == len(CHARTS)
        assert all(v != "–" for v in page.locator(".figure .value").all_inner_texts())
        assert "previous 7d" in page.inner_text("#chart-volume .delta")  # the demo traffic began two days ago

        # The range lives in the URL and drives every chart.
        page.click(".range button[data-since='24h']")
        page.wait_for_selector("body[data-range='24h'][data-state=ready]")
        assert page.url.endswith("?since=24h")
        day = _points(page)
        assert all(0 < day[name] <= 25 for name in CHARTS), day
        assert day["volume"] < week["volume"]
        assert all("% vs previous 24h" in page.inner_text(f"#chart-{name} .delta") for name in ["volume", "latency", "cost"])

        # A shared link opens on its range, with the key remembered.
        page.goto(f"{server.url}/?since=30d")
        page.wait_for_selector("body[data-range='30d'][data-state=ready]")
        assert _points(page)["volume"] == week["volume"]  # all the traffic is in the last two days

        # ?end= pins the window (a link to an incident stays on it): the day before yesterday's 24h.
        pinned_end = int(time.time() - 86400)
        page.goto(f"{server.url}/?since=24h&end={pinned_end}")
        page.wait_for_selector("body[data-range='24h'][data-state=ready]")
        assert page.locator("#unpin").is_visible() and page.inner_text("#updated").startswith("until ")
        earlier = _points(page)
        assert 0 < earlier["volume"] <= 25 and earlier["volume"] + day["volume"] >= week["volume"] - 2, (earlier, day, week)
        page.click("#unpin")
        page.wait_for_selector("#unpin", state="hidden")
        assert "end=" not in page.url and page.inner_text("#updated").startswith("updated ")

        page.goto(f"{server.url}/?since=24h")
        page.wait_for_selector("body[data-range='24h'][data-state=ready]")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # Anomalies are marked on their metric's chart and listed. The monitor reports nothing on
        # replayed history (it is its warm-up), so two are stored the monitor's way, through the
        # store, while the server is down; the restarted server (monitor off) serves them.
        server.stop()
        t = time.time() - 3 * 3600
        store = DuckDBStore(server.data_dir / "heron.duckdb")
        try:
            store.write_anomalies("test", [
                {"t": t, "bucket_s": 60, "metric": "latency_p95", "dim": "", "value": "", "observed": 9000.0, "expected": 2000.0,
                 "low": 0.0, "high": 4000.0, "score": 7.5, "kind": "spike", "detected_at": t + 180},
                {"t": t, "bucket_s": 60, "metric": "error_rate", "dim": "model", "value": "gpt-4o", "observed": 0.4,
                 "expected": 0.02, "low": 0.0, "high": 0.06, "score": 9.0, "kind": "spike", "detected_at": t + 180}])  # fmt: skip
        finally:
            store.close()
        restarted = start_server(server.data_dir, port=server.port, env={"HERON_MONITOR_INTERVAL": "0"})
        try:
            page.reload()
            page.wait_for_selector("body[data-state=ready]")
            marks = {name: page.get_attribute(f"#chart-{name}", "data-anomalies") for name in CHARTS}
            assert marks["latency"] == "1" and marks["error_rate"] == "0", marks  # a segment's anomaly is listed, not drawn
            assert page.locator("#anomalies tbody tr").count() == 2
            assert "model=gpt-4o" in page.inner_text("#anomalies")

            # With that model as the segment, its anomaly is drawn and the whole project's is not.
            page.goto(f"{server.url}/?since=24h&model=gpt-4o")
            page.wait_for_selector("body[data-segment='model=gpt-4o'][data-state=ready]")
            marks = {name: page.get_attribute(f"#chart-{name}", "data-anomalies") for name in CHARTS}
            assert marks["latency"] == "0" and marks["error_rate"] == "1", marks
        finally:
            restarted.stop()
    assert errors == []
