"""The background thread: everything the application thread must not pay for.

It takes the records the hot path queued, renders them (references become
fields), truncates them to the documented limits, encodes each once with
msgspec, groups them into batches that close on count, bytes or age, gzips
each batch and posts it, retrying what the server or the network says may
succeed later. Each record taken ends in exactly one counter (sent, rejected,
dropped_send_failed, instrumentation_errors), and ``done`` counts them, which
is what :meth:`Worker.wait` (``heron.flush``) waits for.
"""

from __future__ import annotations

import email.utils
import gzip
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from heron.sdk import _sanitize
from heron.sdk._diagnostics import Stats, instrumentation_error, log
from heron.sdk.buffer import Buffer, Item
from heron.sdk.context import apply_defaults
from heron.sdk.settings import Settings
from heron.sdk.transport import Request, Response, Transport

INTERACTION = 0
FEEDBACK = 1
Render = Callable[[Item], tuple[int, dict[str, Any]]]
"""What an item's first element is: it returns ``(INTERACTION | FEEDBACK, fields)``."""

_PATHS = ("/v1/interactions", "/v1/feedback")
_PREFIXES = (b'{"interactions":[', b'{"feedback":[')
_SUFFIX = b"]}"
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 507})  # 507: the server's disk is full, for now


class _Batch:
    __slots__ = ("kind", "items", "size", "since")

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.items: list[bytes] = []
        self.size = len(_PREFIXES[kind]) + len(_SUFFIX)
        self.since = 0.0


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header, either delta-seconds or an HTTP date."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Worker:
    """Owns batching and delivery for one client; the only thread that touches the transport."""

    def __init__(
        self,
        *,
        buffer: Buffer,
        stats: Stats,
        transport: Transport,
        settings: Settings,
        headers: Mapping[str, str],
        seed: int | None = None,
    ) -> None:
        self._buffer = buffer
        self._stats = stats
        self._transport = transport
        self._s = settings
        self._headers = dict(headers)
        self._rng = random.Random(seed)
        self._encode = msgspec.json.Encoder().encode
        self._defaults = {"app_version": settings.app_version} if settings.app_version else None
        self._batches = (_Batch(INTERACTION), _Batch(FEEDBACK))
        self._item_budget = settings.max_batch_bytes - len(_PREFIXES[0]) - len(_SUFFIX)
        self._drained_at = time.monotonic()
        self._done = 0
        self._flush_target = 0
        self._progress = threading.Condition(threading.Lock())
        self._stop = threading.Event()
        self._deadline: float | None = None
        self._thread = threading.Thread(target=self._run, name="heron-worker", daemon=True)

    # -- control, from other threads ---------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def wait(self, target: int, timeout: float) -> bool:
        """Ask for everything up to ``target`` to be sent now; True once the worker is done with it."""
        end = time.monotonic() + timeout
        with self._progress:
            self._flush_target = max(self._flush_target, target)
        self._buffer.wake()
        with self._progress:
            while self._done < target:
                remaining = end - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._progress.wait(min(remaining, 0.1))
        return True

    def stop(self, deadline: float) -> bool:
        """Deliver what is queued until ``deadline`` (monotonic), then drop the rest; True if it finished."""
        self._deadline = deadline
        self._stop.set()
        self._buffer.wake()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    # -- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                self._buffer.wait(self._timeout())
                self._cycle()
            except Exception as exc:  # a bug here must not kill delivery for the process
                instrumentation_error(self._stats, "worker", exc)
                self._recover()
            if self._stop.is_set() and not len(self._buffer) and not any(b.items for b in self._batches):
                return

    def _recover(self) -> None:
        """After a bug in this loop: account for records taken but neither batched nor finished, so flush ends."""
        try:
            lost = self._stats.taken - self._done - sum(len(b.items) for b in self._batches)
            if lost > 0:
                self._finish(lost)
            if self._stop.is_set():
                self._drop_everything()
        except Exception:
            pass
        time.sleep(0.05)  # never spin on a bug that repeats

    def _timeout(self) -> float:
        if self._stop.is_set() or self._flush_target > self._done:
            return 0.0
        pending = [b.since for b in self._batches if b.items]
        if not pending:
            return self._s.flush_interval
        return max(0.0, min(pending) + self._s.flush_interval - time.monotonic())

    def _cycle(self) -> None:
        started = time.monotonic()
        while True:
            if self._expired():
                self._drop_everything()
                return
            items = self._buffer.take(self._s.max_batch_items)
            if not items:
                break
            for item in items:
                self._add(item)
        urgent = self._stop.is_set() or self._flush_target > self._done
        now = time.monotonic()
        for batch in self._batches:  # interactions first, so feedback never precedes what it rates
            if batch.items and (urgent or now - batch.since >= self._s.flush_interval):
                self._close(batch.kind)
        self._drained_at = started

    def _expired(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _drop_everything(self) -> None:
        n = self._buffer.clear()
        for batch in self._batches:
            n += len(batch.items)
            batch.items.clear()
            batch.size = len(_PREFIXES[batch.kind]) + len(_SUFFIX)
        if n:
            self._stats.dropped_send_failed += n
            log.warning("deadline", "heron: shutdown deadline reached; dropped %d queued records", n)
        self._finish(n)

    def _finish(self, n: int) -> None:
        with self._progress:
            self._done += n
            self._progress.notify_all()

    def _add(self, item: Item) -> None:
        try:
            data = self._render(item)
        except Exception as exc:
            instrumentation_error(self._stats, "render", exc)
            self._finish(1)
            return
        if data is None:
            self._finish(1)
            return
        kind, body = data
        batch = self._batches[kind]
        if batch.items and batch.size + len(body) + 1 > self._s.max_batch_bytes:
            self._close(kind)
        if not batch.items:
            batch.since = self._drained_at
        batch.items.append(body)
        batch.size += len(body) + 1
        if len(batch.items) >= self._s.max_batch_items:
            self._close(kind)

    def _render(self, item: Item) -> tuple[int, bytes] | None:
        kind, fields = item[0](item)
        cut = _sanitize.Cutter()
        if kind == FEEDBACK:
            body = self._encode(_sanitize.feedback(fields, cut))
        else:
            apply_defaults(fields, self._defaults)
            if not self._s.capture_content:
                fields["input"] = fields["output"] = fields["error_message"] = None
            record = _sanitize.interaction(fields, cut)
            body = self._encode(record)
            for _ in range(4):  # one huge record: cut its texts until it fits one request
                if len(body) <= self._item_budget:
                    break
                _sanitize.shrink(record, 0.9 * self._item_budget / len(body), cut)
                body = self._encode(record)
        self._stats.truncated += cut.cuts
        if len(body) > self._item_budget:
            self._stats.dropped_send_failed += 1
            log.warning("too-large", "heron: dropped a record of %d bytes that could not be cut to fit", len(body))
            return None
        return kind, body

    def _close(self, kind: int) -> None:
        if kind == FEEDBACK and self._batches[INTERACTION].items:
            self._close(INTERACTION)
        batch = self._batches[kind]
        items, n = batch.items, len(batch.items)
        batch.items = []
        batch.size = len(_PREFIXES[kind]) + len(_SUFFIX)
        body = _PREFIXES[kind] + b",".join(items) + _SUFFIX
        try:
            self._deliver(kind, gzip.compress(body, compresslevel=6, mtime=0), n)
        finally:
            self._finish(n)

    # -- delivery ----------------------------------------------------------------------------

    def _deliver(self, kind: int, body: bytes, n: int) -> None:
        started = time.monotonic()
        budget = 4 * self._s.backoff_max
        attempt = 0
        while True:
            timeout = self._s.timeout
            if self._deadline is not None:
                timeout = min(timeout, self._deadline - time.monotonic())
                if timeout <= 0:
                    self._give_up(n, "shutdown deadline reached")
                    return
            wait: float | None = None
            try:
                response = self._transport.send(Request("POST", _PATHS[kind], self._headers, body, timeout))
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= response.status < 300:
                    self._accepted(response, n)
                    return
                reason = f"HTTP {response.status}: {response.body[:200]!r}"
                if response.status not in _RETRY_STATUS and response.status < 500:
                    self._give_up(n, reason)
                    return
                wait = retry_after(response.headers)
            delay = self._backoff(attempt) if wait is None else min(wait, self._s.backoff_max)
            if attempt >= self._s.max_retries or time.monotonic() + delay - started > budget:
                self._give_up(n, reason + f" after {attempt + 1} attempt(s)")
                return
            if not self._sleep(delay):
                self._give_up(n, reason + "; shutdown deadline reached")
                return
            attempt += 1
            self._stats.retries += 1

    def _backoff(self, attempt: int) -> float:
        """Exponential with equal jitter: never less than half the step, so retries stay spread out."""
        step = min(self._s.backoff_max, self._s.backoff_base * 2.0**attempt)
        return step / 2 + self._rng.uniform(0, step / 2)

    def _sleep(self, delay: float) -> bool:
        """Sleep ``delay`` unless shutdown's deadline would pass first; False means give up now."""
        wake_at = time.monotonic() + delay
        if self._deadline is not None and wake_at > self._deadline:
            return False
        if self._stop.wait(delay):  # shutdown began while sleeping: it has a deadline now
            remaining = wake_at - time.monotonic()
            if remaining > 0:
                if self._deadline is not None and wake_at > self._deadline:
                    return False
                time.sleep(remaining)
        return True

    def _accepted(self, response: Response, n: int) -> None:
        self._stats.batches += 1
        rejected = 0
        if response.status == 207:
            try:
                answer = msgspec.json.decode(response.body)
                problems = answer.get("rejected") or []
                rejected = min(n, len(problems))
            except Exception as exc:
                instrumentation_error(self._stats, "reading a 207 response", exc)
                problems = []
            if problems:
                first = problems[0]
                log.warning(
                    "rejected",
                    "heron: server rejected %d of %d records; first: item %s, field %s: %s",
                    rejected,
                    n,
                    first.get("index"),
                    first.get("field"),
                    first.get("error"),
                )
        self._stats.rejected += rejected
        self._stats.sent += n - rejected

    def _give_up(self, n: int, reason: str) -> None:
        self._stats.dropped_send_failed += n
        log.warning("send-failed", "heron: dropped %d records: %s", n, reason)
