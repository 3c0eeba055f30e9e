"""The Topics page in a real browser (topic table, topic map, Sankey of the flow between topics), and the
map endpoint behind it, against a server whose topic model was fitted from demo traffic."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import RunningServer, start_server
from tests.e2e.test_dashboard import CHROMIUM, _load_demo, browser_page

if TYPE_CHECKING:
    from playwright.sync_api import Page

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "topics.png"
START, END = -2, -3

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


def _get(server: RunningServer, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.url}{path}", params=params, headers=server.read_headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_topics(server: RunningServer) -> list[dict[str, Any]]:
    """The topics of the last 7 days once the model is fitted and every turn assigned (no "other")."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        table = _get(server, "/v1/topics", since="7d")
        if table["topics"] and table["unassigned"] == 0:
            return [t for t in table["topics"] if t["topic_id"] >= 0]
        time.sleep(0.5)
    raise AssertionError("no topic model, or turns left without a topic")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server with two days of demo traffic, its topic model fitted and every turn assigned."""
    server = start_server(tmp_path_factory.mktemp("topics-page") / "data")
    try:
        _load_demo(server)
        wait_for_topics(server)
        yield server
    finally:
        server.stop()


def _ready(page: Page, since: str = "7d") -> None:
    page.wait_for_selector(f"body[data-page=topics][data-range='{since}'][data-state=ready]")


def _attr(page: Page, selector: str, name: str) -> str:
    return page.get_attribute(selector, name) or ""


def _column(page: Page, col: str) -> list[str]:
    return page.locator(f"#topics-table tbody tr[data-topic] td[data-col={col}]").all_inner_texts()


def test_map_endpoint(fitted: RunningServer) -> None:
    layout = _get(fitted, "/v1/topics/map")
    table = _get(fitted, "/v1/topics", since="7d")
    assert layout["model_version"] == table["model_version"] == 1 and layout["min_messages"] == 300
    ids = [t["topic_id"] for t in layout["topics"]]
    assert len(ids) >= 4 and ids == sorted(ids) and min(ids) >= 0  # the model's topics: no "other", nothing retired
    assert set(ids) <= {r["topic_id"] for r in table["topics"]}
    assert 0 < layout["explained"] <= 1
    assert max(max(abs(t["x"]), abs(t["y"])) for t in layout["topics"]) == pytest.approx(1.0)
    labels = {r["topic_id"]: r["label"] for r in table["topics"]}
    for topic in layout["topics"]:
        assert topic["label"] == labels[topic["topic_id"]] and topic["keywords"] and topic["size"] > 0
        assert topic["nearest"]["topic_id"] in ids and topic["nearest"]["topic_id"] != topic["topic_id"]
        assert -1 <= topic["nearest"]["cosine"] <= 1
    assert _get(fitted, "/v1/topics/map") == layout  # deterministic
    unauthorised = httpx.get(f"{fitted.url}/v1/topics/map", timeout=10)
    assert unauthorised.status_code == 401


def test_topics_page(fitted: RunningServer) -> None:
    table = _get(fitted, "/v1/topics", since="7d")["topics"]
    layout = _get(fitted, "/v1/topics/map")["topics"]
    with browser_page() as (page, errors):
        page.goto(f"{fitted.url}/?key={fitted.read_key}&page=topics&since=7d")
        _ready(page)
        assert page.get_attribute("#nav a[data-page=topics]", "aria-current") == "page"
        assert _attr(page, "section[data-page=topics]", "data-topics") == "ready"
        assert page.locator("#topics-empty").is_hidden() and page.locator("#topics-segment").is_hidden()

        # The table: one row per topic with its figures, busiest first, a daily sparkline each.
        assert int(_attr(page, "#topics-table", "data-rows")) == len(table)
        assert [int(x) for x in page.locator("#topics-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.topic)")] == [
            r["topic_id"] for r in table
        ]
        for col in ["label", "interactions", "share", "trend", "satisfaction_avg", "frustration_rate", "abandonment_rate", "cost_usd"]:
            values = _column(page, col)
            assert len(values) == len(table) and all(v not in ("", "–") for v in values), (col, values)
        assert _column(page, "trend") == ["new"] * len(table)  # nothing in the window before: every topic is new
        points = page.locator("#topics-table svg.spark").evaluate_all("s => s.map(x => +x.dataset.points)")
        assert len(points) == len(table) and min(points) >= 1

        # The map: one bubble per topic of the model, area by volume; titles name the topic.
        assert int(_attr(page, "#topics-map", "data-bubbles")) == len(layout)
        bubbles = page.locator("#topics-map circle.bubble")
        assert bubbles.count() == len(layout)
        volumes = {int(b.get_attribute("data-topic") or -9): int(b.get_attribute("data-volume") or 0) for b in bubbles.all()}
        assert volumes == {t["topic_id"]: next(r["interactions"] for r in table if r["topic_id"] == t["topic_id"]) for t in layout}
        busiest = max(volumes, key=lambda k: volumes[k])
        radius = {k: float(page.get_attribute(f"#topics-map circle[data-topic='{k}']", "r") or 0) for k in volumes}
        assert radius[busiest] == max(radius.values())
        assert layout[0]["label"] in (page.text_content(f"#topics-map circle[data-topic='{layout[0]['topic_id']}'] title") or "")
        assert "satisfaction" in page.inner_text("#topics-map .legend")
        page.select_option("#topics-colour", "frustration")
        assert "frustration rate" in page.inner_text("#topics-map .legend")

        # The Sankey: links from the session start, between topics, into the end; widths by steps.
        links = int(_attr(page, "#topics-flow", "data-links"))
        paths = page.locator("#topics-flow path.link")
        assert links > 10 and paths.count() == links
        ends = paths.evaluate_all("ps => ps.map(p => [+p.dataset.source, +p.dataset.target, +p.dataset.value])")
        assert any(s == START for s, _, _ in ends) and any(t == END for _, t, _ in ends)
        assert any(s >= 0 and t >= 0 and s != t for s, t, _ in ends)
        assert sum(v for s, _, v in ends if s == START) == sum(v for _, t, v in ends if t == END) > 0
        assert page.locator("#topics-flow rect.node").count() >= 4
        page.uncheck("#topics-self")  # staying on a topic left out
        without = page.locator("#topics-flow path.link").evaluate_all("ps => ps.map(p => [+p.dataset.source, +p.dataset.target])")
        assert 0 < len(without) < links and all(s != t for s, t in without)
        page.check("#topics-self")
        assert int(page.get_attribute("#topics-endings", "data-rows") or 0) >= 4
        assert int(page.get_attribute("#topics-transitions", "data-rows") or 0) >= 1
        page.select_option("#topics-colour", "satisfaction")
        page.evaluate("window.scrollTo(0, 0)")  # the sticky header back on top of the full-page shot
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # Sorting by a header, both ways.
        page.click("#topics-table th[data-sort=satisfaction_avg]")
        assert _attr(page, "#topics-table", "data-sort") == "satisfaction_avg:desc"
        scores = [float(v) for v in _column(page, "satisfaction_avg")]
        assert scores == sorted(scores, reverse=True)
        page.click("#topics-table th[data-sort=satisfaction_avg]")
        assert [float(v) for v in _column(page, "satisfaction_avg")] == sorted(scores)

        # A click on a row selects its topic (?topic= in the URL, kept with the range) and links its conversations.
        pick = table[1]["topic_id"]
        page.click(f"#topics-table tbody tr[data-topic='{pick}'] td[data-col=share]")
        page.wait_for_selector(f"#topics-table tr.selected[data-topic='{pick}']")
        _ready(page)
        assert f"topic={pick}" in page.url and "since=7d" in page.url and "page=topics" in page.url
        assert _attr(page, f"#topics-map circle[data-topic='{pick}']", "stroke-width") == "3"
        href = _attr(page, "#topics-open", "href")
        assert "page=conversations" in href and f"topic={pick}" in href and "since=7d" in href
        assert f"topic={pick}" in _attr(page, f"#topics-table tr[data-topic='{pick}'] a", "href")
        # A click on a bubble selects too; on the selected topic's bubble it would clear the selection
        # (and the wait below would pass at once): take another.
        other = next(t["topic_id"] for t in reversed(layout) if t["topic_id"] != pick)
        # dispatched on the circle itself: a pointer click at its centre lands on whichever bubble overlaps it there
        page.dispatch_event(f"#topics-map circle[data-topic='{other}']", "click")
        page.wait_for_selector(f"#topics-table tr.selected[data-topic='{other}']")
        assert f"topic={other}" in page.url
        page.go_back()
        page.wait_for_selector(f"#topics-table tr.selected[data-topic='{pick}']")

        # A global segment slices the table (figures summed from its turns), and the page says so.
        page.goto(f"{fitted.url}/?page=topics&since=7d&model=gpt-4o")
        _ready(page)
        assert page.locator("#topics-segment").is_visible() and "model=gpt-4o" in page.inner_text("#topics-segment")
        sliced = _get(fitted, "/v1/topics", since="7d", model="gpt-4o")["topics"]
        assert 0 < sum(t["interactions"] for t in sliced) < sum(t["interactions"] for t in table)
        shown = sorted(int(v.replace(",", "")) for v in _column(page, "interactions"))
        assert shown == sorted(t["interactions"] for t in sliced)
    assert errors == []


def test_map_after_a_merge(fitted: RunningServer) -> None:
    """Runs last: a merge leaves one bubble fewer, the merged topic placed among its parts."""
    before = {t["topic_id"]: t for t in _get(fitted, "/v1/topics/map")["topics"]}
    a, b = sorted(before)[:2]
    response = httpx.post(f"{fitted.url}/v1/topics/merge", json={"ids": [a, b]}, headers=fitted.write_headers, timeout=60)
    assert response.status_code == 200, response.text
    target = response.json()["topic_id"]
    after = _get(fitted, "/v1/topics/map")
    ids = [t["topic_id"] for t in after["topics"]]
    assert len(ids) == len(before) - 1 and target in ids and after["model_version"] == 2
    assert not ({a, b} - {target}) & set(ids)


def test_no_topic_model_yet_and_enrichment_off(tmp_path: Path) -> None:
    fresh = start_server(tmp_path / "fresh")
    off = start_server(tmp_path / "off", env={"HERON_ENRICH": "0"})
    try:
        layout = _get(fresh, "/v1/topics/map")
        assert layout == {"model_version": None, "min_messages": 300, "topics": [], "explained": None}
        with browser_page() as (page, errors):
            page.goto(f"{fresh.url}/?key={fresh.read_key}&page=topics&since=24h")
            _ready(page, "24h")
            assert _attr(page, "section[data-page=topics]", "data-topics") == "none"
            assert "topics appear once 300 distinct user messages have been enriched" in page.inner_text("#topics-empty")
            assert _attr(page, "#topics-table", "data-rows") == "0" and _attr(page, "#topics-map", "data-bubbles") == "0"
            assert _attr(page, "#topics-flow", "data-links") == "0"

            page.goto(f"{off.url}/?key={off.read_key}&page=topics&since=24h")
            _ready(page, "24h")
            assert _attr(page, "section[data-page=topics]", "data-topics") == "off"
            assert "enrichment, which is off" in page.inner_text("#topics-empty")
        assert errors == []
    finally:
        fresh.stop()
        off.stop()
