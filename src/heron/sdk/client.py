"""The client's lifecycle and the process-wide client behind ``heron.log`` and friends.

A :class:`Client` owns a buffer, a worker thread and counters. It decides once
(at construction, at first use, after ``fork`` and at shutdown) which function
``enqueue`` is: a no-op when disabled, a counting drop after shutdown, a
sampling wrapper, or the buffer's ``put`` itself. The hot path therefore never
tests configuration. The worker starts on the first record, not at import or
``init``, so importing or configuring Heron never starts a thread; and a
forked child rebuilds its buffer and worker the same lazy way.
"""

from __future__ import annotations

import atexit
import os
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from heron.sdk import _diagnostics
from heron.sdk._diagnostics import Stats, instrumentation_error, log
from heron.sdk.buffer import Buffer, Item
from heron.sdk.context import reseed_ids
from heron.sdk.settings import Settings
from heron.sdk.transport import HttpTransport, Transport
from heron.sdk.worker import Worker

_USER_AGENT = "heron-python/0.1.0"

_clients: weakref.WeakSet[Client] = weakref.WeakSet()
_hooks_installed = False
_hooks_lock = threading.Lock()


class Client:
    """One connection to one Heron server. Most applications use the global one via :func:`heron.init`."""

    enqueue: Callable[[Item], None]
    """Queue an interaction record (subject to sampling); never blocks, never raises."""
    enqueue_always: Callable[[Item], None]
    """Queue a record that is never sampled out (feedback)."""

    def __init__(
        self, settings: Settings | None = None, *, transport: Transport | None = None, seed: int | None = None
    ) -> None:
        self.settings = settings if settings is not None else Settings.resolve()
        self._given_transport = transport
        self._seed = seed
        self._closed = False
        self._reset()
        _install_hooks()
        _clients.add(self)

    def _reset(self) -> None:
        """Fresh state: at construction and in a forked child (whose copies of locks may be held)."""
        s = self.settings
        inherited: Transport | None = getattr(self, "_transport", None)
        if inherited is not None and inherited is not self._given_transport:
            inherited.close()  # the parent's connection, copied by fork; closing the copy leaves it intact
        self._lock = threading.Lock()
        self._stats = Stats()
        self._buffer = Buffer(maxsize=s.max_queue, wake_at=s.max_batch_items, stats=self._stats)
        self._worker: Worker | None = None
        self._transport: Transport | None = self._given_transport
        self._rng = random.Random(self._seed)
        self._choose()

    def _choose(self) -> None:
        """Pick what ``enqueue`` does, once per state change."""
        if not self.settings.enabled:
            self.enqueue = self.enqueue_always = _discard
        elif self._closed:
            self.enqueue = self.enqueue_always = self._drop_closed
        elif self._worker is None:
            self.enqueue, self.enqueue_always = self._start_then_enqueue, self._start_then_enqueue_always
        else:
            put = self._buffer.put
            rate = self.settings.sample_rate
            self.enqueue_always = put
            self.enqueue = put if rate >= 1.0 else _sampler(put, rate, self._rng.random, self._stats)

    def _start(self) -> None:
        with self._lock:
            if self._worker is None and not self._closed:
                if self._transport is None:
                    self._transport = HttpTransport(self.settings.endpoint)
                worker = Worker(
                    buffer=self._buffer,
                    stats=self._stats,
                    transport=self._transport,
                    settings=self.settings,
                    headers=self._headers(),
                    seed=self._seed,
                )
                worker.start()
                self._worker = worker
            self._choose()

    def _start_then_enqueue(self, item: Item) -> None:
        self._start()
        self.enqueue(item)

    def _start_then_enqueue_always(self, item: Item) -> None:
        self._start()
        self.enqueue_always(item)

    def _drop_closed(self, item: Item) -> None:
        self._stats.add("dropped_after_shutdown")

    def _headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": _USER_AGENT,
        }
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        return headers

    # -- public --------------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Counters since this client (or this forked child) started; see ``heron.sdk._diagnostics``."""
        return self._stats.snapshot(len(self._buffer))

    def flush(self, timeout: float = 5.0) -> bool:
        """Send everything queued so far; True when all of it was accepted within ``timeout`` seconds."""
        worker = self._worker
        if worker is None:
            return len(self._buffer) == 0
        failed = self._stats.failed
        done = worker.wait(self._buffer.mark(), timeout)
        return done and self._stats.failed == failed

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop accepting records, deliver what is queued within ``timeout``, stop the worker.

        Returns True when everything queued was accepted and the worker has
        exited. Records logged afterwards are dropped and counted.
        """
        if timeout is None:
            timeout = self.settings.shutdown_timeout
        with self._lock:
            if self._closed:
                return True
            self._closed = True
            self._choose()
            worker = self._worker
        if worker is None:
            return True
        failed = self._stats.failed
        finished = worker.stop(time.monotonic() + timeout)
        if finished and self._transport is not None:
            self._transport.close()
        return finished and self._stats.failed == failed and len(self._buffer) == 0

    def _after_fork_in_child(self) -> None:
        self._reset()  # a closed client stays closed, but its locks must be fresh too


def _discard(item: Item) -> None:
    """``enqueue`` when disabled: nothing to count, nothing to do."""


def _sampler(
    put: Callable[[Item], None], rate: float, rand: Callable[[], float], stats: Stats
) -> Callable[[Item], None]:
    def enqueue_sampled(item: Item) -> None:
        if rand() < rate:
            put(item)
        else:
            stats.add("sampled_out")

    return enqueue_sampled


def _install_hooks() -> None:
    """Once per process, at the first client: the exit flush and the fork handler (never at import)."""
    global _hooks_installed
    with _hooks_lock:
        if _hooks_installed:
            return
        _hooks_installed = True
    atexit.register(_at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)


def _at_exit() -> None:
    for client in list(_clients):
        try:
            client.shutdown(client.settings.shutdown_timeout)
        except Exception as exc:  # never turn a clean exit into a traceback
            log.warning("atexit", "heron: flush at exit failed: %r", exc)


def _after_fork_in_child() -> None:
    global _hooks_lock, _client_lock
    _hooks_lock, _client_lock = threading.Lock(), threading.Lock()
    reseed_ids()
    _diagnostics.log.reset()
    for client in list(_clients):
        client._after_fork_in_child()


# -- the process-wide client --------------------------------------------------------------------

_client: Client | None = None
_client_lock = threading.Lock()


def get_client() -> Client:
    """The global client; made from ``HERON_*`` variables on first use if :func:`init` was not called."""
    client = _client
    return client if client is not None else _default_client()


def _default_client() -> Client:
    global _client
    with _client_lock:
        if _client is None:
            try:
                _client = Client()
            except Exception as exc:  # a bad HERON_* variable must not break the application
                log.warning("config", "heron: disabled, invalid configuration: %s", exc)
                _client = Client(Settings.resolve(env={}, enabled=False))
        return _client


def set_client(client: Client | None) -> Client | None:
    """Make ``client`` the global one; returns the previous one, not shut down."""
    global _client
    with _client_lock:
        previous, _client = _client, client
    return previous


def init(
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
    enabled: bool | None = None,
    sample_rate: float | None = None,
    app_version: str | None = None,
    capture_content: bool | None = None,
    flush_interval: float | None = None,
    max_batch_items: int | None = None,
    max_batch_bytes: int | None = None,
    max_queue: int | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    backoff_base: float | None = None,
    backoff_max: float | None = None,
    shutdown_timeout: float | None = None,
    transport: Transport | None = None,
) -> Client:
    """Configure the global client: each argument overrides its ``HERON_*`` variable (see ``heron.sdk.settings``).

    Raises :class:`~heron.errors.ConfigError` for an invalid value. A previous
    global client is shut down (delivering what it holds) after the new one
    takes over, so no record is lost between the two.
    """
    arguments: dict[str, Any] = {k: v for k, v in locals().items() if k != "transport" and v is not None}
    client = Client(Settings.resolve(**arguments), transport=transport)
    previous = set_client(client)
    if previous is not None:
        previous.shutdown()
    return client


def flush(timeout: float = 5.0) -> bool:
    """Deliver what the global client holds; True when all of it was accepted within ``timeout`` seconds."""
    client = _client
    return True if client is None else client.flush(timeout)


def shutdown(timeout: float | None = None) -> bool:
    """Flush and stop the global client (also done at exit); later records are dropped and counted."""
    client = _client
    return True if client is None else client.shutdown(timeout)


def instrumentation_failed(where: str, exc: BaseException) -> None:
    """Count (in the global client's stats) and log a failure of Heron's code on an application thread."""
    try:
        counters: Stats | None = get_client()._stats
    except Exception:
        counters = None
    instrumentation_error(counters, where, exc)


def counters() -> dict[str, int]:
    """The global client's counters: enqueued, sent, dropped_queue_full, dropped_send_failed, rejected, ...

    Not called ``stats`` because ``heron.stats`` is the statistics package.
    """
    return get_client().stats()
