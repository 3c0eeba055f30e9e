"""Cost through the server: exact for known models, unknown listed, dated overrides not retroactive."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import RunningServer


def _items(now: float) -> list[dict[str, object]]:
    day = 86400.0
    base = now - 3 * day
    items = []
    for i in range(6):  # gpt-4o: 2 days ago … now; 1000 in (200 cached) / 400 out each
        items.append({"id": f"k{i}", "model": "gpt-4o-2024-08-06", "start_time": base + i * 0.5 * day, "latency_ms": 1500.0,
                      "ttft_ms": 500.0, "input_tokens": 1000, "cached_tokens": 200, "output_tokens": 400})
    items.append({"id": "u0", "model": "acme-finetune-v3", "start_time": base + day, "latency_ms": 900.0, "input_tokens": 50, "output_tokens": 50})
    items.append({"id": "u1", "model": "acme-finetune-v3", "start_time": base + day, "latency_ms": 900.0, "input_tokens": 70, "output_tokens": 30})
    return items


def _wait(server: RunningServer, n: int) -> None:
    assert server.wait_stored(n) >= n


def test_costs_unknown_models_and_dated_overrides(server: RunningServer) -> None:
    now = time.time()
    items = _items(now)
    response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": items}, headers=server.write_headers)
    assert response.status_code == 200
    _wait(server, len(items))
    get = lambda path: httpx.get(server.url + path, headers=server.read_headers).json()  # noqa: E731
    list_price = (800 * 2.5 + 200 * 1.25 + 400 * 10.0) / 1e6

    one = get("/v1/interactions/k0")
    assert one["cost_usd"] == pytest.approx(list_price, rel=1e-9)
    assert get("/v1/interactions/u0")["cost_usd"] is None

    window = f"start={now - 4 * 86400}&end={now + 60}"
    by_model = {r["group"]: r for r in get(f"/v1/metrics?{window}&bucket=day&group_by=model&metrics=count,cost_usd,cost_unknown,output_tokens_per_s")["series"]}
    assert by_model  # day rows
    totals: dict[str, float] = {}
    unknown: dict[str, int] = {}
    for row in get(f"/v1/metrics?{window}&bucket=day&group_by=model&metrics=cost_usd,cost_unknown")["series"]:
        totals[row["group"]] = totals.get(row["group"], 0.0) + (row["cost_usd"] or 0.0)
        unknown[row["group"]] = unknown.get(row["group"], 0) + row["cost_unknown"]
    assert totals["gpt-4o-2024-08-06"] == pytest.approx(6 * list_price, rel=1e-9)
    assert unknown == {"gpt-4o-2024-08-06": 0, "acme-finetune-v3": 2}
    tps = get(f"/v1/metrics?{window}&bucket=day&model=gpt-4o-2024-08-06&metrics=output_tokens_per_s")["series"][0]
    assert tps["output_tokens_per_s"] == pytest.approx(400 / 1.0, rel=1e-9)  # 400 tokens over 1500 - 500 ms

    listed = get(f"/v1/costs/unknown-models?{window}")["models"]
    assert listed == [{"model": "acme-finetune-v3", "calls": 2, "input_tokens": 120, "output_tokens": 80}]

    # A new price for gpt-4o from 1.6 days ago: calls before keep the list price, calls from it on are repriced.
    # (Not exactly on a call's start: float seconds and stored microseconds may round either way there.)
    effective = now - 1.6 * 86400
    set_price = httpx.post(
        f"{server.url}/v1/prices",
        json={"model": "openai/gpt-4o", "effective_from": effective, "input": 1.0, "output": 2.0},
        headers=server.write_headers,
    )
    assert set_price.status_code == 201, set_price.text
    new_price = (1000 * 1.0 + 400 * 2.0) / 1e6  # no cached price given: cached tokens bill at input
    for item in items[:6]:
        expected = new_price if item["start_time"] >= effective else list_price  # type: ignore[operator]
        assert get(f"/v1/interactions/{item['id']}")["cost_usd"] == pytest.approx(expected, rel=1e-9), item["id"]
    total = sum(row["cost_usd"] or 0 for row in get(f"/v1/metrics?{window}&bucket=hour&model=gpt-4o-2024-08-06&metrics=cost_usd")["series"])
    after = sum(1 for item in items[:6] if item["start_time"] >= effective)  # type: ignore[operator]
    assert total == pytest.approx(after * new_price + (6 - after) * list_price, rel=1e-9)

    # New traffic is priced with the override at ingest.
    fresh = {"id": "k-new", "model": "gpt-4o", "start_time": now, "latency_ms": 10.0, "input_tokens": 1000, "output_tokens": 400}
    assert httpx.post(f"{server.url}/v1/interactions", json={"interactions": [fresh]}, headers=server.write_headers).status_code == 200
    _wait(server, len(items) + 1)
    assert get("/v1/interactions/k-new")["cost_usd"] == pytest.approx(new_price, rel=1e-9)
    prices = get("/v1/prices")
    assert prices["overrides"][0]["model"] == "gpt-4o" and "gpt-4o-mini" in prices["shipped"]


def test_bad_price_is_refused(server: RunningServer) -> None:
    bad = httpx.post(f"{server.url}/v1/prices", json={"model": "m", "effective_from": "2026-01-01T00:00:00Z", "input": -1, "output": 1}, headers=server.write_headers)
    assert bad.status_code == 400 and bad.json()["field"] == "input"
    missing = httpx.post(f"{server.url}/v1/prices", json={"model": "m", "input": 1, "output": 1}, headers=server.write_headers)
    assert missing.status_code == 400 and "effective_from" in missing.json()["error"]
    assert httpx.post(f"{server.url}/v1/prices", json={}, headers=server.read_headers).status_code == 403
