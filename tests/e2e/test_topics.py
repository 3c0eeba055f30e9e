"""Topics end to end: demo traffic in, a topic model fitted by the server, topic table, flow, edits, report."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import httpx
import msgspec
import pytest

from heron.demo.generator import Scenario, generate
from tests.conftest import RunningServer, start_server


def _get(server: RunningServer, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.url}{path}", params=params, headers=server.read_headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _post(server: RunningServer, path: str, body: dict[str, Any], *, key: str = "write") -> httpx.Response:
    headers = server.write_headers if key == "write" else server.read_headers
    return httpx.post(f"{server.url}{path}", json=body, headers=headers, timeout=120)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = start_server(tmp_path_factory.mktemp("topics") / "data")
    now = time.time()
    scenario = Scenario(seed=21, start=now - 2 * 86400, end=now - 60, users=200, interactions_per_hour=60)
    turns = list(generate(scenario))
    items = [msgspec.to_builtins(t.interaction) for t in turns]
    for k in range(0, len(items), 1000):
        response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": items[k : k + 1000]}, headers=server.write_headers)
        assert response.status_code == 200, response.text
    deadline = time.monotonic() + 150
    table: dict[str, Any] = {}
    while time.monotonic() < deadline:
        table = _get(server, "/v1/topics", since="3d")
        if table["topics"] and table["unassigned"] == 0:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"no topic model, or turns left without a topic: {table.get('unassigned')} unassigned")
    yield server, turns, table
    server.stop()


def test_topic_table_covers_every_turn(loaded: Any) -> None:
    server, turns, table = loaded
    rows = table["topics"]
    assert sum(r["interactions"] for r in rows) == len(turns)
    assert abs(sum(r["share"] for r in rows) - 1.0) < 1e-9
    named = [r for r in rows if r["topic_id"] >= 0]
    assert len(named) >= 4 and all(r["label"] and r["keywords"] for r in named)
    for row in named:
        assert 0 <= row["satisfaction_avg"] <= 1 and 0 <= row["frustration_rate"] <= 1
        assert row["latency_avg"] > 0 and row["series"] and row["previous"] == 0 and row["trend"] is None and row["new"] is True
    # the busiest topics are about the demo's subjects: their keywords name them
    words = " ".join(" ".join(r["keywords"]) for r in named)
    assert any(subject in words for subject in ("refund", "password", "invoice", "shipping", "order", "account"))


def test_flow_starts_and_ends_every_session(loaded: Any) -> None:
    server, _, _ = loaded
    flow = _get(server, "/v1/topics/flow", since="3d")
    ids = [n["id"] for n in flow["nodes"]]
    assert ids[0] == -2 and ids[-1] == -3
    starts = sum(link["value"] for link in flow["links"] if link["source"] == -2)
    ends = sum(link["value"] for link in flow["links"] if link["target"] == -3)
    assert starts == ends > 0  # every session that starts ends (so far)
    assert flow["endings"] and all(0 <= e["abandonment_rate"] <= 1 for e in flow["endings"])
    summary = _get(server, "/v1/ux/summary", since="3d")["series"][0]
    assert summary["conversations"] == starts and summary["ended"] == ends


def test_rename_merge_and_bad_edits(loaded: Any) -> None:
    server, _, table = loaded
    named = [r for r in table["topics"] if r["topic_id"] >= 0]
    first, second = named[0], named[1]
    renamed = _post(server, f"/v1/topics/{first['topic_id']}", {"label": "Billing questions"})
    assert renamed.status_code == 200, renamed.text
    merged = _post(server, "/v1/topics/merge", {"ids": [first["topic_id"], second["topic_id"]], "label": "Money"})
    assert merged.status_code == 200, merged.text
    target = merged.json()["topic_id"]
    after = {r["topic_id"]: r for r in _get(server, "/v1/topics", since="3d")["topics"]}
    assert after[target]["label"] == "Money"
    assert after[target]["interactions"] == first["interactions"] + second["interactions"]
    assert first["topic_id"] not in after or first["topic_id"] == target

    unknown = _post(server, "/v1/topics/99999", {"label": "x"})
    assert unknown.status_code == 400 and "topic_id" in unknown.text
    single = _post(server, "/v1/topics/merge", {"ids": [target]})
    assert single.status_code == 400 and "ids" in single.text
    empty = _post(server, f"/v1/topics/{target}", {"label": ""})
    assert empty.status_code == 400 and "label" in empty.text
    assert _post(server, f"/v1/topics/{target}", {"label": "x"}, key="read").status_code == 403
    assert _get(server, "/v1/topics/emerging")["emerging"] is not None


def test_report_prints_topics(loaded: Any) -> None:
    server, _, _ = loaded
    report = subprocess.run(
        [sys.executable, "-m", "heron.cli", "ux", "report", "--url", server.url, "--key", server.read_key, "--since", "3d"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert "topic" in report.stdout and "sessions end most often in" in report.stdout


def test_refit_continues_numbering(loaded: Any) -> None:
    server, turns, table = loaded
    before = max(r["topic_id"] for r in table["topics"])
    response = _post(server, "/v1/topics/fit", {})
    assert response.status_code == 200, response.text
    rows = _get(server, "/v1/topics", since="3d")["topics"]
    assert sum(r["interactions"] for r in rows) == len(turns)  # old turns keep their (now retired) topics
    assert any(r.get("retired") for r in rows)
    status = _get(server, "/v1/status")["enrichment"]
    assert status["errors"] == 0 and before >= 0
