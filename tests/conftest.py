"""Shared fixtures: a real Heron server in a subprocess, on 127.0.0.1, stopped by its PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

WRITE_KEY = "hn_w_test_write_key_0123456789"
READ_KEY = "hn_r_test_read_key_0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    port: int
    write_key: str = WRITE_KEY
    read_key: str = READ_KEY

    @property
    def write_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.write_key}"}

    @property
    def read_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.read_key}"}

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def wait_stored(self, count: int, timeout: float = 30.0) -> int:
        """Poll until the store holds ``count`` interactions (storage lags the ack by ms)."""
        deadline = time.monotonic() + timeout
        stored = -1
        while time.monotonic() < deadline:
            stored = httpx.get(f"{self.url}/v1/status", headers=self.read_headers).json()["stored_interactions"]
            if stored >= count:
                return int(stored)
            time.sleep(0.05)
        return int(stored)


def start_server(
    data_dir: Path, *, port: int | None = None, env: dict[str, str] | None = None, log_dir: Path | None = None
) -> RunningServer:
    port = port or free_port()
    log_path = (log_dir or data_dir.parent) / f"server-{port}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "heron.cli", "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
             "--port", str(port), "--project", "test", "--write-key", WRITE_KEY, "--read-key", READ_KEY],
            stdout=log,
            stderr=subprocess.STDOUT,
            # a test machine's disk may be small: refuse ingest (507) only when it is nearly full
            env={"HERON_MIN_FREE_MB": "16", **os.environ, **(env or {})},
        )
    server = RunningServer(url=f"http://127.0.0.1:{port}", data_dir=data_dir, proc=proc, port=port)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.05)
    server.stop(signal.SIGKILL)
    raise RuntimeError("server did not become healthy in 30 s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path / "data")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("heron") / "data")
    yield running
    running.stop()
