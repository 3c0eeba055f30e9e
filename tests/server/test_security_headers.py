"""Security defaults (issue 12, F8 and F9): response headers, keys only in headers, a capped request
head, private data files, and ``/metrics`` scoped to a key."""

from __future__ import annotations

import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from heron.server.app import create_app
from heron.server.auth import KeyRing
from heron.server.security import CONTENT_SECURITY_POLICY, MAX_HEAD_BYTES
from heron.server.settings import Settings
from tests.conftest import RunningServer

EXPECTED = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def _item(**extra: object) -> dict[str, object]:
    return {"model": "gpt-4o", "start_time": time.time() - 5, "latency_ms": 100.0, **extra}


def test_every_response_carries_the_security_headers(shared_server: RunningServer) -> None:
    url = shared_server.url
    responses = [
        httpx.get(url + "/"),
        httpx.get(url + "/dashboard/static/app.js"),
        httpx.get(url + "/healthz"),
        httpx.get(url + "/v1/status"),
        httpx.get(url + "/v1/status", headers=shared_server.read_headers),
        httpx.get(url + "/metrics"),
        httpx.get(url + "/no/such/route"),
        httpx.post(url + "/v1/interactions", json={"interactions": [_item()]}, headers=shared_server.write_headers),
        httpx.post(url + "/v1/traces", content=b"\x00", headers={**shared_server.write_headers, "Content-Type": "application/x-protobuf"}),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 401, 200, 401, 404, 200, 400]
    for response in responses:
        for name, value in EXPECTED.items():
            assert response.headers.get_list(name) == [value], (response.url, name)
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY and "'unsafe-inline'" not in CONTENT_SECURITY_POLICY


def test_api_key_query_parameter_is_not_a_key(shared_server: RunningServer) -> None:
    url = shared_server.url
    assert httpx.get(f"{url}/v1/status?api_key={shared_server.read_key}").status_code == 401
    assert httpx.get(f"{url}/v1/interactions?api_key={shared_server.read_key}").status_code == 401
    ingest = httpx.post(f"{url}/v1/interactions?api_key={shared_server.write_key}", json={"interactions": [_item()]})
    assert ingest.status_code == 401
    assert httpx.get(f"{url}/v1/status", headers={"X-Heron-Api-Key": shared_server.read_key}).status_code == 200


def _raw(server: RunningServer, head: bytes, chunk: int = 1 << 16) -> tuple[bytes, int]:
    """Send ``head`` in pieces until the server answers; (the answer, bytes sent)."""
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        try:
            while sent < len(head):
                sock.sendall(head[sent : sent + chunk])
                sent += chunk
                sock.settimeout(0.05)
                try:
                    answer = sock.recv(65536)
                except TimeoutError:
                    continue
                finally:
                    sock.settimeout(10)
                if answer:
                    break
            while data := sock.recv(65536):
                answer += data
        except (BrokenPipeError, ConnectionResetError):
            pass
    return answer, sent


def test_a_request_head_over_the_cap_is_a_431(shared_server: RunningServer) -> None:
    huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (64 << 20) + b"\r\n\r\n"
    answer, sent = _raw(shared_server, huge)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    assert sent <= MAX_HEAD_BYTES + (1 << 20)
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 100) for i in range(2000)) + b"\r\n"
    assert _raw(shared_server, many)[0].startswith(b"HTTP/1.1 431")
    # An ordinary large head (8 KiB of headers, a long query) is fine, and the connection stays usable.
    ok = httpx.get(shared_server.url + "/healthz?" + "x" * 4000, headers={"X-Pad": "p" * 8000})
    assert ok.status_code == 200


def test_data_dir_and_files_are_private(shared_server: RunningServer) -> None:
    response = httpx.post(shared_server.url + "/v1/interactions", json={"interactions": [_item()]}, headers=shared_server.write_headers)
    assert response.status_code == 200
    data = shared_server.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [p for p in data.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"heron.duckdb", "keys.json"}
    assert any(p.parent.name == "wal" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in (p for p in data.rglob("*") if p.is_dir()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_an_existing_data_dir_is_made_private_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "keys.json").write_text('{"projects": {}}', encoding="utf-8")
    (data / "keys.json").chmod(0o644)
    (data / "notes.txt").touch(mode=0o644)  # not Heron's: left as it is
    with TestClient(create_app(Settings(data_dir=data, fsync=False, enrich=False, monitor_interval=0))):
        pass
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "keys.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "notes.txt").stat().st_mode) == 0o644


# -- /metrics --------------------------------------------------------------------------------------

KEYS = {("alpha", "write"): "hn_w_alpha_metrics_scope_0123", ("alpha", "read"): "hn_r_alpha_metrics_scope_0123",
        ("beta", "write"): "hn_w_beta_metrics_scope_01234", ("beta", "read"): "hn_r_beta_metrics_scope_01234"}  # fmt: skip
ADMIN = "admin-token-for-metrics-0123456789"


@pytest.fixture
def two_projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("HERON_METRICS_TOKEN", ADMIN)
    monkeypatch.delenv("HERON_METRICS_PUBLIC", raising=False)
    ring = KeyRing(tmp_path / "keys.json")
    for (project, scope), key in KEYS.items():
        ring.add(project, scope, key)  # type: ignore[arg-type]
    with TestClient(create_app(Settings(data_dir=tmp_path, fsync=False, enrich=False, monitor_interval=0))) as client:
        for project in ("alpha", "beta"):
            body = {"interactions": [_item(model=f"{project}-model", app_version=f"{project}-v1")]}
            headers = {"Authorization": f"Bearer {KEYS[(project, 'write')]}"}
            assert client.post("/v1/interactions", json=body, headers=headers).status_code == 200
        yield client


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_metrics_without_a_key_is_a_401(two_projects: TestClient) -> None:
    response = two_projects.get("/metrics")
    assert response.status_code == 401 and "HERON_METRICS_TOKEN" in response.json()["error"]
    assert two_projects.get("/metrics", headers=_bearer("nope")).status_code == 401
    assert two_projects.get("/metrics", headers=_bearer(KEYS[("alpha", "write")])).status_code == 403


def test_a_read_key_scrapes_its_own_project_only(two_projects: TestClient) -> None:
    text = two_projects.get("/metrics", headers=_bearer(KEYS[("alpha", "read")])).text
    assert 'project="alpha"' in text and "alpha-model" in text
    assert "beta" not in text
    assert "heron_ingest_queue_depth " in text  # server-wide series stay
    beta = two_projects.get("/metrics", headers=_bearer(KEYS[("beta", "read")])).text
    assert "beta-model" in beta and "alpha" not in beta


def test_the_admin_token_scrapes_every_project(two_projects: TestClient) -> None:
    text = two_projects.get("/metrics", headers=_bearer(ADMIN)).text
    assert "alpha-model" in text and "beta-model" in text


def test_public_scraping_is_an_explicit_opt_in(two_projects: TestClient) -> None:
    two_projects.app.state.services.metrics.public = True  # type: ignore[attr-defined]
    text = two_projects.get("/metrics").text
    assert "alpha-model" in text and "beta-model" in text


def test_public_scraping_reads_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from heron.server.metrics import Metrics

    monkeypatch.setenv("HERON_METRICS_PUBLIC", "1")
    assert Metrics().public
    monkeypatch.setenv("HERON_METRICS_PUBLIC", "0")
    assert not Metrics().public


def test_a_bugs_500_carries_the_security_headers_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette answers an unhandled error outside every middleware; the 500 handler adds the headers itself."""
    from heron.server import app as app_module

    async def broken(request: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app_module, "status", broken)
    settings = Settings(data_dir=tmp_path, fsync=False, enrich=False, monitor_interval=0)
    with TestClient(app_module.create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/v1/status")
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error"}
    for name, value in EXPECTED.items():
        assert response.headers[name] == value
