"""Fixtures for SDK tests: an in-memory transport, a tiny local receiver, dead and hanging servers, the fake LLM.

Nothing here leaves 127.0.0.1. Every test gets a clean global client and no
``HERON_*`` variables from the environment.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import heron
from heron.demo.fake_llm import FakeLLMServer, start
from heron.sdk.client import set_client
from tests.sdk.sdk_helpers import Recorder


@pytest.fixture(autouse=True)
def clean_heron(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("HERON_"):
            monkeypatch.delenv(name)
    yield
    previous = set_client(None)
    if previous is not None:
        previous.shutdown(timeout=2.0)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def recorded(recorder: Recorder) -> Callable[..., list[dict[str, Any]]]:
    """``heron.init`` with an in-memory transport; call the fixture's value to flush and get the interactions."""
    heron.init(transport=recorder, flush_interval=60.0)

    def interactions() -> list[dict[str, Any]]:
        assert heron.flush(timeout=5.0)
        return recorder.interactions()

    return interactions


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float
    client_port: int


@dataclass
class Receiver:
    """A local HTTP server standing in for Heron's ingest API, answering from a script of responses."""

    server: ThreadingHTTPServer
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    drop_idle_connections: bool = False
    """Close each connection after answering without saying so, as servers do with idle keep-alives."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def items(self) -> list[dict[str, Any]]:
        with self.lock:
            return [i for r in self.requests if r.path == "/v1/interactions" for i in r.body["interactions"]]

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            me = state["receiver"]
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            body = json.loads(gzip.decompress(raw)) if self.headers.get("Content-Encoding") == "gzip" else {}
            with me.lock:
                me.requests.append(
                    Received(self.path, dict(self.headers), body, time.monotonic(), self.client_address[1])
                )
                status, headers, answer = me.script.pop(0) if me.script else (200, {}, b'{"accepted": 0}')
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            self.close_connection = me.drop_idle_connections

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["receiver"] = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def dead_endpoint() -> str:
    """An address where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def hanging_endpoint() -> Iterator[str]:
    """A socket that completes the TCP handshake (via the backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLMServer]:
    server = start()
    yield server
    server.stop()
