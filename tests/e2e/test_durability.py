"""A 2xx means on disk: SIGKILL the server mid-load, restart, find every acknowledged event."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx

from heron.store.duckdb import DuckDBStore
from tests.conftest import start_server


def _batch(sender: int, seq: int, size: int) -> list[dict[str, object]]:
    now = time.time()
    return [
        {
            "id": f"s{sender}-{seq}-{i}",
            "model": "gpt-4o-mini",
            "start_time": now - 1,
            "latency_ms": 100.0 + i,
            "user_id": f"u{i % 17}",
            "input": [{"role": "user", "content": f"durability check {sender} {seq} {i}"}],
            "output": "ok",
        }
        for i in range(size)
    ]


def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(n: int) -> None:
        seq = 0
        with httpx.Client(timeout=10) as client:
            while not stop.is_set() and seq < 2000:
                batch = _batch(n, seq, 200)
                seq += 1
                try:
                    response = client.post(server.url + "/v1/interactions", json={"interactions": batch}, headers=server.write_headers)
                except httpx.HTTPError:
                    return  # the server died mid-request: not acknowledged
                if response.status_code == 200:
                    with lock:
                        acked.extend(item["id"] for item in batch)  # type: ignore[misc]

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(acked) < 20_000:
        time.sleep(0.01)
    server.stop(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join(15)
    assert len(acked) >= 2_000, "load did not get going before the kill"

    again = start_server(data)
    again.stop()  # graceful: replayed log frames are in the store, the file lock is released
    store = DuckDBStore(data / "heron.duckdb")
    try:
        cur = store._cursor()  # noqa: SLF001 - the test reads ids straight from the file
        stored = {row[0] for row in cur.execute("SELECT id FROM interactions").fetchall()}
        assert set(acked) <= stored
        assert store.count("test") == len(stored)  # rollups agree with rows, no double counting
    finally:
        store.close()
