"""A real full disk under a real server (a small tmpfs): ingest is refused with 507 and
Retry-After, reads keep answering, ingest resumes once space is freed, and after kill -9 and a
restart the store holds exactly the acknowledged records (issue 12, F1/F2).

Needs root (to mount a tmpfs); skipped elsewhere. The write-ahead log's own cut-off and
resynchronisation are covered without root in tests/server/ingest/test_wal.py."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from heron.store.duckdb import DuckDBStore
from tests.conftest import RunningServer, start_server

DISK_MB = 96


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _batch(n: int) -> list[dict[str, object]]:
    now = time.time()
    return [
        {
            "id": uuid.uuid4().hex,
            "model": "gpt-4o-mini",
            "start_time": now - 2,
            "latency_ms": 120.0,
            "user_id": f"u{i % 23}",
            "input": [{"role": "user", "content": f"how do I rotate my API key {uuid.uuid4().hex} " * 4}],
            "output": "Open Settings, then API keys, then Rotate. " * 6,
        }
        for i in range(n)
    ]


class Sender:
    """Posts batches and records what was acknowledged, refused, or left unanswered."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.acked: set[str] = set()
        self.unknown: set[str] = set()  # no answer: may or may not be stored
        self.codes: list[int] = []
        self.client = httpx.Client(timeout=30)

    def post(self, size: int = 200) -> httpx.Response | None:
        batch = _batch(size)
        ids = {str(item["id"]) for item in batch}
        try:
            response = self.client.post(self.server.url + "/v1/interactions", json={"interactions": batch}, headers=self.server.write_headers)
        except httpx.HTTPError:
            self.unknown |= ids
            return None
        self.codes.append(response.status_code)
        if response.status_code == 200:
            self.acked |= ids
        return response


def _fill(path: Path) -> None:
    """Write until the filesystem has no space left."""
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as filler:
        try:
            while True:
                filler.write(chunk)
                filler.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


@pytest.mark.parametrize("min_free_mb", ["0", "8"], ids=["enospc", "watermark"])
def test_disk_full_refuses_with_507_recovers_and_loses_nothing(small_disk: Path, tmp_path: Path, min_free_mb: str) -> None:
    """With no watermark the log and DuckDB meet ENOSPC itself (the path that lost data before);
    with one, ingest is refused before the disk is full."""
    data = small_disk / "data"
    env = {"HERON_MIN_FREE_MB": min_free_mb}
    server = start_server(data, env=env, log_dir=tmp_path)
    sender = Sender(server)
    try:
        _fill_refuse_resume(small_disk, server, sender)
    except BaseException:
        server.stop()
        raise
    finally:  # a failed check must not leave the connection for a later test's garbage collection
        sender.client.close()
    server.stop(signal.SIGKILL)
    again = start_server(data, env=env, log_dir=tmp_path)
    again.stop()  # graceful: the log is replayed into the store and the file lock released
    store = DuckDBStore(data / "heron.duckdb")
    try:
        stored = {row[0] for row in store._cursor().execute("SELECT id FROM interactions").fetchall()}  # noqa: SLF001
        assert sender.acked <= stored, f"{len(sender.acked - stored)} acknowledged records lost"
        assert stored - sender.acked <= sender.unknown, "records stored that were refused"
        assert store.count("test") == len(stored)
    finally:
        store.close()


def _fill_refuse_resume(small_disk: Path, server: RunningServer, sender: Sender) -> None:
    for _ in range(10):
        assert sender.post() is not None and sender.codes[-1] == 200
    filler = small_disk / "filler"
    _fill(filler)

    refused = None
    for _ in range(200):
        response = sender.post()
        if response is not None and response.status_code != 200:
            refused = response
            break
    assert refused is not None, "a full disk never refused ingest"
    assert refused.status_code == 507, refused.text  # never a 500
    assert int(refused.headers["retry-after"]) >= 1
    assert "storage" in refused.text or "space" in refused.text or "log" in refused.text
    assert 500 not in sender.codes
    # reads keep answering while the disk is full
    status = httpx.get(server.url + "/v1/status", headers=server.read_headers, timeout=10)
    assert status.status_code == 200
    listing = httpx.get(server.url + "/v1/interactions", params={"limit": 5}, headers=server.read_headers, timeout=10)
    assert listing.status_code == 200
    health = httpx.get(server.url + "/healthz", timeout=10)
    assert health.status_code in (200, 503) and health.json()["status"] in ("ok", "degraded", "unhealthy")

    filler.unlink()  # the operator frees space; ingest resumes without a restart
    deadline = time.monotonic() + 60
    resumed = 0
    while resumed < 10 and time.monotonic() < deadline:
        response = sender.post()
        if response is not None and response.status_code == 200:
            resumed += 1
        elif response is not None:
            assert response.status_code in (503, 507), response.text
            time.sleep(0.5)
    assert resumed == 10, f"ingest did not resume after space was freed: {sender.codes[-10:]}"
    assert 500 not in sender.codes
