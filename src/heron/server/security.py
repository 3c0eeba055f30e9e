"""Security defaults: response headers, a cap on request heads, private data files.

- :class:`SecurityHeaders` (ASGI middleware) adds a Content-Security-Policy that fits the
  dashboard (its scripts, styles and assets are files served by Heron itself; no inline
  script or style attribute, no other origin), ``frame-ancestors 'none'`` with
  ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff`` and
  ``Referrer-Policy: no-referrer`` to every response, unless the handler set its own.
- :class:`HeadLimitedProtocol` is uvicorn's httptools protocol with a cap on the request
  line plus headers (``MAX_HEAD_BYTES``): past it the connection gets 431 and is closed,
  before more is buffered. (uvicorn's own ``h11_max_incomplete_event_size`` applies to the
  pure-Python h11 parser only, which costs ~2x the server CPU per request here.)
- :func:`private_data_dir` makes the data directory 0700 and Heron's files in it 0600;
  ``heron serve`` also sets the umask to 077, so files created later start private.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("heron.server")

MAX_HEAD_BYTES = 64 * 1024
"""Largest request line plus headers; a larger head is answered 431 and the connection closed."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
"""Added to every response that does not set the header itself."""


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in HEADERS if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_TOO_LARGE = b"request line and headers exceed %d bytes"


class HeadLimitedProtocol(HttpToolsProtocol):
    """httptools, refusing a request head (request line + headers) over ``MAX_HEAD_BYTES``.

    httptools has no such limit and buffers a header of any size. The bytes received
    while a head is incomplete are counted per connection; a chunk that completes the
    head is not counted, so the overshoot is at most one read (256 KiB).
    """

    max_head_bytes = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._began = False
        self._head_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._began = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        self._began = False
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        self._head_bytes = len(data) if self._began else self._head_bytes + len(data)
        if self._head_bytes > self.max_head_bytes:
            self._refuse_head()

    def _refuse_head(self) -> None:
        body = _TOO_LARGE % self.max_head_bytes
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"x-content-type-options: nosniff\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()


OWN_FILES = ("heron.duckdb", "keys.json", "wal")
"""What Heron keeps in its data directory (the store's own files start with ``heron.duckdb``)."""


def private_data_dir(path: Path) -> None:
    """Create ``path`` if needed and make it 0700; Heron's files in it 0600 (directories 0700).

    Only Heron's own entries are touched (``OWN_FILES`` and the store's companions such as
    ``heron.duckdb.wal``), so a data directory pointed at a shared place loses no one's modes.
    A mode that cannot be changed (another owner) is logged, not fatal.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    targets: list[tuple[Path, int]] = [(path, 0o700)]
    for entry in path.iterdir():
        if entry.is_symlink() or not (entry.name in OWN_FILES or entry.name.startswith("heron.duckdb")):
            continue
        if entry.is_dir():
            targets.append((entry, 0o700))
            targets.extend((child, 0o700 if child.is_dir() else 0o600) for child in entry.iterdir() if not child.is_symlink())
        else:
            targets.append((entry, 0o600))
    for target, mode in targets:
        try:
            os.chmod(target, mode)
        except OSError as exc:
            log.warning("could not make %s private (mode %o): %s", target, mode, exc)


def serve(app: Any, *, host: str, port: int, log_level: str) -> None:
    """Run ``app`` as ``heron serve`` and ``heron demo`` both do: the request head capped
    (431 past 64 KiB), no access log, ten seconds to finish requests on shutdown. The caller
    sets the umask (077) before it creates the data directory."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, timeout_graceful_shutdown=10, http=HeadLimitedProtocol)
