"""The agent's loop: every ``interval``, sample and send; in a daemon thread or in the caller's.

Sampling and sending share one thread. Ticks are scheduled on a fixed grid
(``start + k * interval``); a tick that a slow server made late is taken at
once and the missed ones are skipped, never bunched. Nothing raised by a
probe or the network leaves the loop: it is counted (``sample_errors``) and
logged at most once a minute.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from heron.agent.sampler import Sampler
from heron.agent.sender import Sender
from heron.agent.settings import AgentSettings
from heron.sdk._diagnostics import RateLimitedLog
from heron.sdk.transport import HttpTransport, Transport

logger = logging.getLogger("heron.agent")
_errors = RateLimitedLog()


class Agent:
    """Samples a host's resources and ships them to a Heron server.

    ``announce`` receives the start-up lines (what is sampled; GPU metrics on,
    or off and why), once each; by default they go to the ``heron.agent``
    logger at INFO. ``sampler`` and ``transport`` may be injected (tests).
    """

    def __init__(
        self,
        settings: AgentSettings,
        *,
        sampler: Sampler | None = None,
        transport: Transport | None = None,
        announce: Callable[[str], None] | None = None,
        nvml: Any = None,
    ) -> None:
        self.settings = settings
        s = settings
        transport = transport or HttpTransport(s.endpoint)  # a bad endpoint fails here, before NVML starts
        self.sampler = sampler or Sampler(host=s.host, service=s.service, pid=s.pid, gpu=s.gpu, nvml=nvml)
        self.sender = Sender(
            transport,
            api_key=s.api_key,
            max_buffer=s.max_buffer,
            timeout=s.timeout,
            max_retries=s.max_retries,
            backoff_base=s.backoff_base,
            backoff_max=s.backoff_max,
        )
        self.sample_errors = 0
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._lock = threading.Lock()
        say = announce or logger.info
        labels = f"host={s.host!r}" + (f" service={s.service!r}" if s.service else "")
        say(f"heron agent: sampling {labels} every {s.interval:g}s to {s.endpoint}/v1/resources")
        say(f"heron agent: {self.sampler.process_status}")
        say(f"heron agent: {self.sampler.gpu_status}")

    @property
    def gpu_status(self) -> str:
        """One line: ``GPU metrics on: ...`` or ``GPU metrics off: <why>``."""
        return self.sampler.gpu_status

    def counters(self) -> dict[str, int]:
        """``sampled = sent + rejected + dropped_buffer_full + dropped_send_failed + queued``."""
        return {**self.sender.counters(), "sample_errors": self.sample_errors, "ticks": self.ticks}

    # -- running ---------------------------------------------------------------------------

    def start(self) -> Agent:
        """Run in a daemon thread; an exit hook stops it (one last send, bounded by ``shutdown_timeout``)."""
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._loop, name="heron-agent", daemon=True)
                self._thread.start()
                atexit.register(self.stop)
        return self

    def run(self, *, count: int | None = None, duration: float | None = None) -> dict[str, int]:
        """Run in this thread until ``stop()``, ``count`` ticks or ``duration`` seconds; then shut down."""
        self._loop(count=count, duration=duration)
        return self.stop()

    def request_stop(self) -> None:
        """Ask the loop to end after the current tick; safe from a signal handler."""
        self._stop.set()

    def stop(self, timeout: float | None = None) -> dict[str, int]:
        """Stop sampling, send what is buffered (until ``timeout``, default ``shutdown_timeout``), close."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.settings.timeout + 1.0)  # at most one request in flight
            if thread.is_alive():  # still sending: leave the sender to it rather than share it
                _errors.warning("agent:stop", "heron agent: still sending at stop; not waiting for it")
                return self.counters()
        with self._lock:
            if not self._closed:
                self._closed = True
                atexit.unregister(self.stop)
                wait = self.settings.shutdown_timeout if timeout is None else timeout
                try:
                    self.sender.flush(deadline=time.monotonic() + wait)
                except Exception as exc:
                    _errors.warning("agent:stop", "heron agent: final send failed: %r", exc)
                self.sender.close()
                self.sampler.close()
        return self.counters()

    def _loop(self, *, count: int | None = None, duration: float | None = None) -> None:
        interval = self.settings.interval
        started = time.monotonic()
        end = started + duration if duration is not None else None
        next_at = started + interval
        while not self._stop.is_set():
            wait = next_at - time.monotonic()
            if end is not None:
                wait = min(wait, end - time.monotonic())
            if self._stop.wait(max(0.0, wait)):
                break
            if end is not None and time.monotonic() >= end:
                break
            self._tick()
            if count is not None and self.ticks >= count:
                break
            next_at += interval
            behind = time.monotonic() - next_at
            if behind > 0:
                next_at += (behind // interval + 1) * interval

    def _tick(self) -> None:
        self.ticks += 1
        try:
            self.sender.add(self.sampler.sample())
        except Exception as exc:  # a probe bug must not end monitoring
            self.sample_errors += 1
            _errors.warning("agent:sample", "heron agent: sampling failed: %r", exc, exc_info=exc)
        try:
            self.sender.flush()
        except Exception as exc:
            self.sample_errors += 1
            _errors.warning("agent:send", "heron agent: sending failed: %r", exc, exc_info=exc)


def start(
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
    interval: float | None = None,
    host: str | None = None,
    service: str | None = None,
    pid: int | None = None,
    gpu: bool | None = None,
    **settings: Any,
) -> Agent:
    """Sample this host (and this process) in a daemon thread and send to the server; returns the running agent.

    Arguments left out come from the environment (``HERON_ENDPOINT``, ``HERON_API_KEY``,
    ``HERON_AGENT_*``) or the defaults; see docs/resources.md. ``agent.stop()`` ends it,
    and so does interpreter exit.
    """
    resolved = AgentSettings.resolve(
        endpoint=endpoint, api_key=api_key, interval=interval, host=host, service=service, gpu=gpu, pid=pid, **settings
    )
    return Agent(resolved).start()
