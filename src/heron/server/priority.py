"""Reads first: under an ingest overload, background work yields to reads being answered.

Under an ingest overload the store writer, the enrichment runner and the decoding of
accepted bodies would take the two cores a small server has, and the dashboard would wait
behind them (issue 12: Overview reads at p99 3.6 s). Those loops call
:meth:`ReadPriority.yield_to_reads` before each unit of work: while ingest is under
pressure (the ``pressure`` predicate: the backlog a quarter full) and any API read is in
flight they wait, at most ``max_wait`` seconds, so background work is slowed, never
stopped (a dashboard that polls without pause still lets the writer through). Without
pressure nothing waits: a monitor polling ``/v1/status`` every 20 ms must not slow an ingest
that keeps up.
The log's fsync, which is what acknowledges a write, never waits.

:class:`ReadsFirst` is the ASGI middleware that counts the reads: ``GET`` and ``HEAD``
requests under ``/v1/`` and ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_WAIT_S = 0.25
"""Longest a unit of background work waits for reads to finish (``HERON_READS_FIRST_WAIT``; 0: off)."""

_READ_METHODS = frozenset({"GET", "HEAD"})


class ReadPriority:
    """Counts reads in flight; background loops wait while there are any."""

    def __init__(self, max_wait: float = MAX_WAIT_S, pressure: Callable[[], bool] | None = None) -> None:
        self.max_wait = max_wait
        self.pressure = pressure
        """Whether ingest is saturated; None: always (tests)."""
        self._reads = 0
        self._lock = threading.Lock()
        self._quiet = threading.Event()
        self._quiet.set()
        self._loop_quiet: asyncio.Event | None = None
        """The same for the event loop (begin/end run on it: the middleware calls them)."""
        self.waited_s = 0.0
        """Total time background work has waited for reads (shown in /v1/status)."""

    @property
    def reads(self) -> int:
        return self._reads

    def begin(self) -> None:
        with self._lock:
            self._reads += 1
            self._quiet.clear()
        if self._loop_quiet is not None:
            self._loop_quiet.clear()

    def end(self) -> None:
        with self._lock:
            self._reads -= 1
            if self._reads <= 0:
                self._reads = 0
                self._quiet.set()
                if self._loop_quiet is not None:
                    self._loop_quiet.set()

    def waiting(self) -> bool:
        """Whether background work should wait now: reads in flight while ingest is under pressure."""
        return bool(self._reads) and self.max_wait > 0 and (self.pressure is None or self.pressure())

    def yield_to_reads(self) -> None:
        """Wait until no read is in flight, or ``max_wait`` has passed (only under pressure)."""
        if not self.waiting():
            return
        started = time.monotonic()
        self._quiet.wait(self.max_wait)
        self.waited_s += time.monotonic() - started

    async def reads_done(self) -> None:
        """:meth:`yield_to_reads` for coroutines on the event loop."""
        if not self.waiting():
            return
        if self._loop_quiet is None:
            self._loop_quiet = asyncio.Event()
        started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._loop_quiet.wait(), self.max_wait)
        self.waited_s += time.monotonic() - started


class ReadsFirst:
    """ASGI middleware marking API reads in flight on a :class:`ReadPriority`."""

    def __init__(self, app: ASGIApp, priority: ReadPriority) -> None:
        self.app = app
        self.priority = priority

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") not in _READ_METHODS or not (
            path.startswith("/v1/") or path == "/metrics"
        ):
            await self.app(scope, receive, send)
            return
        self.priority.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            self.priority.end()
