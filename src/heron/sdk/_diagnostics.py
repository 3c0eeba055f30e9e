"""Counters and rate-limited logging: how the SDK reports on itself without ever raising.

The worker thread is the only writer of its counters, so those are plain
attributes. The few counters bumped on application threads (drops, sampling,
instrumentation errors) sit on rare or cheap paths and take a lock, so
concurrent callers never lose an increment.
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger("heron")

COUNTERS = (
    "sent",
    "dropped_queue_full",
    "dropped_send_failed",
    "dropped_after_shutdown",
    "rejected",
    "retries",
    "truncated",
    "sampled_out",
    "instrumentation_errors",
    "batches",
)
"""Counters kept by :class:`Stats`; :func:`heron.counters` adds ``enqueued`` and ``queued``."""


class Stats:
    """What happened to every record: each one taken by the worker ends up sent, rejected or dropped."""

    __slots__ = (*COUNTERS, "taken", "_lock")

    sent: int
    """Records the server accepted."""
    dropped_queue_full: int
    """Records refused on the application thread because the queue was full."""
    dropped_send_failed: int
    """Records given up on: retries exhausted, a non-retryable status, or shutdown's deadline."""
    dropped_after_shutdown: int
    """Records logged after :func:`heron.shutdown`."""
    rejected: int
    """Records the server refused one by one (HTTP 207)."""
    retries: int
    """Request attempts repeated after 429, 5xx or a network error."""
    truncated: int
    """Fields cut or items removed to fit the documented limits."""
    sampled_out: int
    """Interactions skipped by ``sample_rate``."""
    instrumentation_errors: int
    """Failures of Heron's own code, each counted and logged instead of raised."""
    batches: int
    """Requests the server answered with 2xx."""
    taken: int
    """Records the worker has taken off the queue (enqueued = taken + queued)."""

    def __init__(self) -> None:
        for name in COUNTERS:
            setattr(self, name, 0)
        self.taken = 0
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        """Increment from any thread."""
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def snapshot(self, queued: int) -> dict[str, int]:
        values = {"enqueued": self.taken + queued, "queued": queued}
        for name in COUNTERS:
            values[name] = getattr(self, name)
        return values

    @property
    def failed(self) -> int:
        """Records that reached the worker and will never be stored."""
        return self.dropped_send_failed + self.rejected + self.instrumentation_errors


class RateLimitedLog:
    """Logs each kind of problem at most once per ``interval`` seconds, with the count suppressed since.

    A dead server or a broken integration would otherwise write one line per
    call and drown the application's own logs.
    """

    def __init__(self, interval: float = 60.0) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        """In a forked child: the parent's lock may have been held at the fork."""
        self._lock = threading.Lock()

    def warning(self, key: str, message: str, *args: object, exc_info: BaseException | None = None) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return
            self._last[key] = now
            suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            message += " (%d similar messages suppressed)"
            args = (*args, suppressed)
        try:
            logger.warning(message, *args, exc_info=exc_info)
        except Exception:  # a broken handler must not reach the application
            pass


log = RateLimitedLog()
"""The process-wide rate limiter; one key per kind of problem."""


def instrumentation_error(stats: Stats | None, where: str, exc: BaseException) -> None:
    """Count and log a failure of Heron's own code; called from ``except`` blocks only."""
    if stats is not None:
        stats.add("instrumentation_errors")
    log.warning("instrumentation:" + where, "heron: instrumentation failed in %s: %r", where, exc, exc_info=exc)
