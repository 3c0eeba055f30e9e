"""How the worker talks HTTP: a one-method protocol, a stdlib implementation, and a mock.

The SDK depends on the standard library only, so the real transport is
``http.client`` with one keep-alive connection, used by the worker thread
alone (no locking). Tests inject a :class:`MockTransport` built from a plain
function instead of patching sockets, like ``httpx.MockTransport``.

A transport raises ``OSError`` (refused, reset, timed out) or
``http.client.HTTPException`` for a request that got no response; the worker
treats every exception as retryable and every status code by the contract.
"""

from __future__ import annotations

import http.client
import os
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from heron.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    """Path below the endpoint, e.g. ``/v1/interactions``."""
    headers: Mapping[str, str]
    body: bytes
    timeout: float


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    """Lower-cased names."""
    body: bytes = b""


class Transport(Protocol):
    """Sends one request and returns the server's response, or raises when there is none."""

    def send(self, request: Request) -> Response: ...

    def close(self) -> None: ...


_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class HttpTransport:
    """``http.client`` over one persistent connection, reopened after errors and after ``fork``."""

    def __init__(self, endpoint: str) -> None:
        url = urllib.parse.urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"endpoint={endpoint!r}: expected an http:// or https:// URL")
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port or (443 if self._https else 80)
        self._prefix = url.path.rstrip("/")
        self._conn: http.client.HTTPConnection | None = None
        self._pid = os.getpid()
        self._ssl: ssl.SSLContext | None = None

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._pid != os.getpid():
            # A forked child must not write on the parent's connection. Closing the child's copy of
            # the descriptor neither shuts down the parent's socket nor sends a TLS close_notify.
            self._pid = os.getpid()
            self._discard()
        if self._conn is None:
            if self._https:
                if self._ssl is None:
                    self._ssl = ssl.create_default_context()
                self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._ssl)
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        else:
            self._conn.timeout = timeout
            if self._conn.sock is not None:
                self._conn.sock.settimeout(timeout)
        return self._conn

    def send(self, request: Request) -> Response:
        reused = self._conn is not None and self._pid == os.getpid()
        try:
            return self._send(request)
        except _STALE:
            if not reused:
                raise
        # The server closed an idle keep-alive connection; one fresh attempt is not a retry.
        return self._send(request)

    def _send(self, request: Request) -> Response:
        conn = self._connection(request.timeout)
        try:
            conn.request(request.method, self._prefix + request.path, body=request.body, headers=dict(request.headers))
            raw = conn.getresponse()
            body = raw.read()
        except BaseException:
            self._discard()
            raise
        headers = {k.lower(): v for k, v in raw.getheaders()}
        if raw.will_close:
            self._discard()
        return Response(raw.status, headers, body)

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self._discard()


class MockTransport:
    """A transport from a function ``Request -> Response``; records every request it sees.

    The handler may raise ``OSError`` to play a network failure.
    """

    def __init__(self, handler: Callable[[Request], Response] | None = None) -> None:
        self._handler = handler or (lambda request: Response(200, {}, b'{"accepted": 0}'))
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self.closed = False

    def send(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
        return self._handler(request)

    def close(self) -> None:
        self.closed = True
