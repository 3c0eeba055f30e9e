"""Hostile query strings on every read endpoint of the real app (in process), issue 12 F3 and F10.

Each answer is a 400 whose ``field`` names the parameter and whose message states the limit;
before the fix these were 500s (``ValueError``, ``OverflowError``, ``MemoryError``) or, for an
unknown parameter, a 200 that silently ignored it. The dashboard's own requests stay valid.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from heron.server.app import create_app
from heron.server.auth import KeyRing
from heron.server.settings import Settings

READ_KEY = "hn_r_params_hostile_key_0123456789"
READ = {"Authorization": f"Bearer {READ_KEY}"}

WINDOWED = (
    "/v1/interactions", "/v1/metrics", "/v1/metrics/users", "/v1/conversations", "/v1/costs/unknown-models",
    "/v1/drift/series", "/v1/anomalies", "/v1/incidents", "/v1/backtest", "/v1/tags", "/v1/ux/summary", "/v1/topics", "/v1/topics/flow",
    "/v1/users/active", "/v1/users/retention", "/v1/users/engagement", "/v1/resources", "/v1/resources/hosts",
)  # fmt: skip
"""Every read endpoint that takes start/end/since."""
UNWINDOWED = ("/v1/drift", "/v1/prices", "/v1/topics/map", "/v1/topics/emerging", "/v1/interactions/i1", "/v1/conversations/c1", "/v1/status")

HOSTILE = (  # the exact requests of issue 12 F3, and the limit each answer must state
    ("start", "nan", "finite"),
    ("start", "inf", "finite"),
    ("end", "1e20", "31 days from now"),
    ("since", "99999999999999d", "2000-01-01"),
    ("start", "-62135596801", "2000-01-01"),
    ("start", "0001-01-01", "2000-01-01"),
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp_path: Path = tmp_path_factory.mktemp("params-hostile")
    KeyRing(tmp_path / "keys.json").add("test", "read", READ_KEY)
    with TestClient(create_app(Settings(data_dir=tmp_path, fsync=False, monitor_interval=0))) as running:
        yield running


def _refused(client: TestClient, url: str) -> dict[str, str]:
    response = client.get(url, headers=READ)
    assert response.status_code == 400, (url, response.status_code, response.text[:300])
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", WINDOWED)
@pytest.mark.parametrize(("name", "value", "limit"), HOSTILE)
def test_hostile_time_is_a_400_naming_the_parameter_and_limit(client: TestClient, path: str, name: str, value: str, limit: str) -> None:
    error = _refused(client, f"{path}?{name}={value}")
    assert error["field"] == name
    assert limit in error["error"]


@pytest.mark.parametrize(
    ("query", "field", "limit"),
    [
        ("current_start=nan", "current_start", "finite"),
        ("current_start=2026-01-01&current_end=inf", "current_end", "finite"),
        ("reference_start=-62135596801", "reference_start", "2000-01-01"),
        ("reference_start=0001-01-01&reference_end=1e20", "reference_start", "2000-01-01"),
        ("current=99999999999999d", "current", "2000-01-01"),
        ("reference=99999999999999d", "reference", "2000-01-01"),
        ("reference=99999999999999d-ago", "reference", "2000-01-01"),
        ("current=" + "9" * 400 + "d", "current", "too long"),
    ],
)
def test_drift_windows_are_in_range(client: TestClient, query: str, field: str, limit: str) -> None:
    error = _refused(client, f"/v1/drift?{query}")
    assert error["field"] == field
    assert limit in error["error"]


def test_milliseconds_and_huge_values_are_named(client: TestClient) -> None:
    error = _refused(client, f"/v1/metrics?start={int(time.time() * 1000)}")
    assert error["field"] == "start" and "not milliseconds" in error["error"]
    error = _refused(client, "/v1/metrics?since=" + "9" * 5000 + "d")
    assert error["field"] == "since" and len(error["error"]) < 300  # the value is not echoed whole


def test_start_and_since_together_are_refused(client: TestClient) -> None:
    assert _refused(client, "/v1/metrics?start=24h&since=1h")["field"] == "since"


@pytest.mark.parametrize("path", WINDOWED + UNWINDOWED + ("/v1/mapping",))
def test_unknown_parameter_is_a_400_naming_it(client: TestClient, path: str) -> None:
    error = _refused(client, f"{path}?bogus=1")
    assert error["field"] == "bogus"
    assert "valid:" in error["error"]


@pytest.mark.parametrize("query", ["reference_language=de", "reference_bogus=1", "current_tag.=x", "current_end=1h"])
def test_drift_refuses_a_filter_it_would_ignore(client: TestClient, query: str) -> None:
    """Issue 12 F10: an ignored filter compared the whole window with itself and answered "no drift"."""
    error = _refused(client, f"/v1/drift?current=1d&reference=7d-ago&{query}")
    assert error["field"] == query.partition("=")[0]


def test_drift_tag_filters_narrow_each_side(client: TestClient) -> None:
    response = client.get("/v1/drift?current=1d&reference=7d-ago&reference_tag.variant=A&current_tag.variant=B&embeddings=0", headers=READ)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reference"]["filters"] == {"tag.variant": "A"}
    assert body["current"]["filters"] == {"tag.variant": "B"}


@pytest.mark.parametrize(
    ("query", "field"),
    [("current=1d&current_start=2h", "current"), ("reference=7d&reference_start=3d", "reference"), ("embeddings=no", "embeddings")],
)
def test_drift_refuses_contradictions(client: TestClient, query: str, field: str) -> None:
    assert _refused(client, f"/v1/drift?{query}")["field"] == field


def test_filters_that_do_not_apply_are_refused(client: TestClient) -> None:
    assert _refused(client, "/v1/costs/unknown-models?since=7d&model=gpt-4o")["field"] == "model"  # it lists every model
    assert _refused(client, "/v1/users/active?language=de")["field"] == "language"  # user rollups have no language
    assert _refused(client, "/v1/interactions?tag.=x")["field"] == "tag."


def test_the_dashboards_requests_stay_valid(client: TestClient) -> None:
    """The query strings src/heron/server/dashboard/static/pages/*.js builds, with a segment where it sends one."""
    end = time.time()
    start = end - 7 * 86400
    win = f"start={start}&end={end}"
    urls = [
        f"/v1/tags?keys=50&values=50&{win}",
        f"/v1/metrics?bucket=all&metrics=count&group_by=model&{win}",
        f"/v1/metrics?bucket=hour&metrics=count,latency_p95&{win}&model=gpt-4o",
        f"/v1/metrics?bucket=all&metrics=latency_p95,count&group_by=model&{win}&tag.app.team=support",
        f"/v1/ux/summary?bucket=hour&{win}&model=gpt-4o",
        f"/v1/ux/summary?bucket=all&group_by=prompt_version&{win}&tag.app.team=support",
        f"/v1/anomalies?{win}",
        f"/v1/incidents?{win}",
        f"/v1/drift/series?{win}",
        f"/v1/drift?current_start={start}&current_end={end}&reference=7d&embeddings=0&sample=20000&current_model=a&reference_model=a",
        f"/v1/drift?current_start={start}&current_end={end}&reference=7d-ago&embeddings=0&sample=20000"
        "&current_tag.app.team=s&reference_tag.app.team=s",
        f"/v1/conversations?{win}&limit=50&q=refund&user=ann&topic=3&sentiment=negative&frustrated=1&errors=1",
        f"/v1/conversations?{win}&limit=50&cursor=",
        f"/v1/topics?{win}&tag.app.team=support",
        f"/v1/topics/flow?{win}&model=gpt-4o",
        "/v1/topics/map",
        f"/v1/users/active?{win}&model=gpt-4o",
        f"/v1/users/engagement?{win}",
        f"/v1/users/retention?period=week&offsets=0,1,2,3,4&{win}&prompt_version=v2",
        f"/v1/resources/hosts?{win}",
        f"/v1/resources?bucket=hour&metric=cpu_percent&{win}",
        "/v1/interactions?since=24h&model=gpt-4o&tag.app.team=support&q=x&limit=10",
        "/v1/metrics/users?since=7d&bucket=day&group_by=model",
        "/v1/costs/unknown-models?since=7d",
    ]
    for url in urls:
        response = client.get(url, headers=READ)
        assert response.status_code == 200, (url, response.text[:300])
