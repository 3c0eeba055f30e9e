"""The Drift & anomalies page in a real browser: Debian's Chromium driven by Playwright against a server with
two days of demo traffic plus a slow last day (3x latency), and a monitor that stores drift runs every few seconds."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import msgspec
import pytest

from heron.demo.generator import Scenario, generate
from tests.conftest import RunningServer, start_server
from tests.e2e.test_dashboard import CHROMIUM, _load_demo, browser_page

if TYPE_CHECKING:
    from playwright.sync_api import Page

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "drift.png"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def monitored(tmp_path: Path) -> Iterator[RunningServer]:
    """A server whose monitor passes every second and stores a drift run every two seconds (not hourly)."""
    running = start_server(tmp_path / "data", env={"HERON_MONITOR_INTERVAL": "1", "HERON_DRIFT_EVERY": "2"})
    yield running
    running.stop()


def _load_slow_day(server: RunningServer, stored_before: int) -> None:
    """A second stream of traffic over the last day, three times as slow: latency drifts against any earlier window."""
    now = time.time()
    scenario = Scenario(seed=6, start=now - 22 * 3600, end=now - 600, users=50, interactions_per_hour=60)
    items = []
    for t in generate(scenario):
        item = msgspec.to_builtins(t.interaction)
        item["id"] = "slow-" + item["id"]
        item["latency_ms"] = 3 * item["latency_ms"]
        item["end_time"] = item["start_time"] + item["latency_ms"] / 1000
        items.append(item)
    for k in range(0, len(items), 1000):
        response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": items[k : k + 1000]}, headers=server.write_headers)
        assert response.status_code == 200, response.text
    assert server.wait_stored(stored_before + len(items)) >= stored_before + len(items)
    deadline = time.monotonic() + 60  # a stored drift run that saw the slow day
    while time.monotonic() < deadline:
        rows = httpx.get(f"{server.url}/v1/drift/series", params={"since": "24h", "feature": "latency_ms"}, headers=server.read_headers).json()
        if any(r["drifted"] and r["computed_at"] > now for r in rows["results"]):
            return
        time.sleep(0.5)
    raise AssertionError("no stored drift run saw the slow day")


def _ready(page: Page, since: str) -> None:
    page.wait_for_selector(f"body[data-page='drift'][data-range='{since}'][data-state=ready]")


def _rows(page: Page) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for tr in page.locator("#drift-table tbody tr[data-feature]").all():
        cells = {td.get_attribute("data-col") or "": td.inner_text() for td in tr.locator("td[data-col]").all()}
        rows[tr.get_attribute("data-feature") or ""] = {**cells, "_drifted": tr.get_attribute("data-drifted") or ""}
    return rows


def test_drift_page(monitored: RunningServer) -> None:
    server = monitored
    with browser_page() as (page, errors):

        # Before any traffic there are no stored runs: a note instead of the chart.
        page.goto(f"{server.url}/?key={server.read_key}&since=24h&page=drift")
        _ready(page, "24h")
        assert page.get_attribute("#drift-series", "data-runs") == "0"
        assert "no stored drift runs in this period yet" in page.inner_text("#drift-series")
        assert page.locator("#drift-series canvas").count() == 0

        stored = _load_demo(server)
        _load_slow_day(server, stored)

        # Reached from the navigation with the range kept; default reference: the previous 7 days.
        page.goto(f"{server.url}/?key={server.read_key}&since=24h")
        page.wait_for_selector("body[data-page='overview'][data-state=ready]")
        assert page.get_attribute("#nav a[data-page=drift]", "href") == "/?since=24h&page=drift"
        page.click("#nav a[data-page=drift]")
        _ready(page, "24h")
        assert page.url.endswith("/?since=24h&page=drift")
        assert page.get_attribute("#nav a[data-page=drift]", "aria-current") == "page"
        assert page.input_value("#drift-ref") == "7d"
        rows = _rows(page)
        windows = page.inner_text("#drift-windows")
        assert len(rows) >= 8, rows
        assert rows["latency_ms"]["_drifted"] == "true" and rows["latency_ms"]["drifted"] == "yes", rows["latency_ms"]
        assert page.locator("#drift-table tr.drifted[data-feature=latency_ms]").count() == 1
        assert rows["latency_ms"]["test"] and rows["latency_ms"]["score"] != "–"
        assert re.fullmatch(r"[\d,]+ / [\d,]+", rows["latency_ms"]["n"]), rows["latency_ms"]["n"]
        assert page.get_attribute("#drift-verdict", "data-drifted") in ("true", "false")
        assert "of " in page.inner_text("#drift-verdict") and "features drifted" in page.inner_text("#drift-verdict")
        # the verdict's colour agrees with the rows: latency drifted, so never green
        verdict_class = page.get_attribute("#drift-verdict", "class") or ""
        assert "good" not in verdict_class and ("bad" in verdict_class or "warn" in verdict_class), verdict_class
        assert list(rows)[0] == max(rows, key=lambda f: float(rows[f]["score"]) if rows[f]["score"] != "–" else -1)

        # The reference selector: previous window of the range's length (24h) -> URL and table follow.
        page.select_option("#drift-ref", "prev")
        page.wait_for_selector("#drift-table[data-ref=prev]")
        _ready(page, "24h")
        assert "ref=prev" in page.url and "since=24h" in page.url
        assert page.inner_text("#drift-ref option[value=prev]") == "previous window (24h)"
        prev = _rows(page)
        assert prev["latency_ms"]["_drifted"] == "true"
        assert page.inner_text("#drift-windows") != windows  # another reference window (the demo has no older traffic)

        # Same window a week ago: no traffic then, so nothing can be tested.
        page.select_option("#drift-ref", "7d-ago")
        page.wait_for_selector("#drift-table[data-ref='7d-ago']")
        _ready(page, "24h")
        assert "ref=7d-ago" in page.url
        ago = _rows(page)
        assert all(row["_drifted"] == "false" for row in ago.values()), ago
        assert page.locator("#drift-table tr.drifted").count() == 0
        assert page.inner_text("#drift-verdict") == "not enough data to compare"
        page.go_back()
        page.wait_for_selector("#drift-table[data-ref=prev]")
        _ready(page, "24h")

        # Drift over time: the stored runs, one line per feature (at most 8).
        card = page.locator("#drift-series")
        assert int(card.get_attribute("data-runs") or 0) >= 1
        assert 1 <= int(card.get_attribute("data-series") or 0) <= 8
        assert page.locator("#drift-series canvas").count() == 1
        assert "latency_ms" in page.inner_text("#drift-series .u-legend")

        # Anomalies: the monitor reports nothing on replayed history (warm-up); rows, if any, link to their segment.
        anomalies = page.locator("#drift-anomalies tbody tr[data-metric]")
        if anomalies.count() == 0:
            assert page.inner_text("#drift-anomalies tbody") == "no anomalies in this period"
        for link in page.locator("#drift-anomalies td[data-col=segment] a").all():
            href = link.get_attribute("href") or ""
            assert href == "?since=24h" or re.fullmatch(r"\?since=24h&(model|prompt_version|app_version)=[^&]+", href) or \
                re.fullmatch(r"\?page=conversations&since=24h&topic=-?\d+", href), href
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # Another range keeps the page and the reference.
        page.click(".range button[data-since='7d']")
        _ready(page, "7d")
        assert "page=drift" in page.url and "ref=prev" in page.url and "since=7d" in page.url
        assert page.inner_text("#drift-ref option[value=prev]") == "previous window (7d)"
        assert int(page.get_attribute("#drift-table", "data-rows") or 0) >= 8
    assert errors == []
