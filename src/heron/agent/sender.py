"""Delivery of samples to ``POST /v1/resources``: a bounded buffer, gzip, retries, counters.

Used by one thread (the agent's loop), so nothing here locks. Each interval's
samples are added and then sent as one request (after an outage, the backlog
goes in requests of up to ``max_batch`` samples). A failed request is not
retried on the spot: its samples stay at the head of the buffer and the next
attempt waits out an exponential backoff (or the server's Retry-After) while
sampling goes on. After ``max_retries`` retries the batch is dropped and
counted; when the buffer is full the oldest samples are. A dead or refusing
server therefore costs bounded memory and a counter, never an exception.

Every sample ends in exactly one counter:
``sampled = sent + rejected + dropped_buffer_full + dropped_send_failed + queued``.
"""

from __future__ import annotations

import gzip
import itertools
import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

import msgspec

from heron.schema import limits as L
from heron.schema.records import ResourceSample
from heron.sdk._diagnostics import RateLimitedLog
from heron.sdk.transport import Request, Response, Transport
from heron.sdk.worker import retry_after

PATH = "/v1/resources"
RETRY_STATUS = frozenset({408, 425, 429})
"""Besides 5xx: statuses that mean "later", not "never"."""

COUNTERS = ("sampled", "sent", "rejected", "dropped_buffer_full", "dropped_send_failed", "retries", "batches")

log = RateLimitedLog()


class Sender:
    """Buffers samples and posts them; see the module docstring for what happens to each."""

    def __init__(
        self,
        transport: Transport,
        *,
        api_key: str | None,
        max_buffer: int = 10_000,
        max_batch: int = L.MAX_BATCH_ITEMS,
        timeout: float = 10.0,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        user_agent: str = "heron-agent/0.1.0",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self._transport = transport
        self._headers: dict[str, str] = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": user_agent,
        }
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self.max_buffer = max_buffer
        self.max_batch = min(max_batch, L.MAX_BATCH_ITEMS)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._clock = clock
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._buffer: deque[ResourceSample] = deque()
        self._attempts = 0
        """Failed attempts at the batch now at the head of the buffer."""
        self._retry_at = 0.0
        self._encode = msgspec.json.Encoder().encode
        self.counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.last_error: str | None = None

    @property
    def queued(self) -> int:
        return len(self._buffer)

    def counters(self) -> dict[str, int]:
        return {**self.counts, "queued": len(self._buffer)}

    def add(self, samples: Sequence[ResourceSample]) -> None:
        """Buffer samples; past ``max_buffer`` the oldest are dropped and counted."""
        self.counts["sampled"] += len(samples)
        self._buffer.extend(samples)
        over = len(self._buffer) - self.max_buffer
        if over > 0:
            for _ in range(over):
                self._buffer.popleft()
            self._attempts = 0  # the batch being retried lost its head; what is there now is fresh
            self.counts["dropped_buffer_full"] += over
            log.warning(
                "agent:buffer-full",
                "heron agent: buffer full (%d samples; last error: %s); dropped the %d oldest",
                self.max_buffer,
                self.last_error,
                over,
            )

    def flush(self, *, deadline: float | None = None) -> None:
        """Send what is buffered, unless a retry is waiting out its backoff.

        With ``deadline`` (shutdown): keep trying, backoffs included, until the
        deadline, then drop what is left and count it.
        """
        while self._buffer:
            now = self._clock()
            if deadline is None:
                if now < self._retry_at:
                    return
            elif now >= deadline:
                break
            elif now < self._retry_at:
                self._sleep(min(self._retry_at, deadline) - now)
                continue
            timeout = self.timeout if deadline is None else min(self.timeout, deadline - now)
            if not self._send_head(timeout) and deadline is None:
                return
        if self._buffer and deadline is not None:
            n = len(self._buffer)
            self._buffer.clear()
            self.counts["dropped_send_failed"] += n
            log.warning("agent:exit-drop", "heron agent: dropped %d unsent samples at exit: %s", n, self.last_error)

    def _send_head(self, timeout: float) -> bool:
        """Post the head batch; True when it is done with (sent, rejected or given up), False to retry later."""
        batch = list(itertools.islice(self._buffer, self.max_batch))
        n = len(batch)
        body = gzip.compress(self._encode({"samples": batch}), compresslevel=6, mtime=0)
        wait: float | None = None
        try:
            response = self._transport.send(Request("POST", PATH, self._headers, body, timeout))
        except Exception as exc:  # refused, reset, timed out: all retryable
            self.last_error = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= response.status < 300 or (response.status == 400 and _rejected_list(response) is not None):
                self._done(n)
                self._accepted(response, n)
                return True
            self.last_error = f"HTTP {response.status}: {response.body[:200]!r}"
            if response.status < 500 and response.status not in RETRY_STATUS:
                self._done(n)
                self.counts["dropped_send_failed"] += n
                hint = " (a Heron server without /v1/resources?)" if response.status == 404 else ""
                log.warning("agent:refused", "heron agent: server refused %d samples: %s%s", n, self.last_error, hint)
                return True
            wait = retry_after(response.headers)
        self._attempts += 1
        delay = self._backoff(self._attempts - 1) if wait is None else min(wait, self.backoff_max)
        if self._attempts > self.max_retries:
            attempts = self._attempts
            self._done(n)
            self.counts["dropped_send_failed"] += n
            log.warning("agent:send-failed", "heron agent: dropped %d samples after %d attempts: %s", n, attempts, self.last_error)
        else:
            self.counts["retries"] += 1
        self._retry_at = self._clock() + delay  # also after giving up: the server is still in trouble
        return False

    def _done(self, n: int) -> None:
        for _ in range(n):
            self._buffer.popleft()
        self._attempts = 0
        self._retry_at = 0.0

    def _accepted(self, response: Response, n: int) -> None:
        problems = _rejected_list(response) or []
        rejected = min(n, len(problems))
        if response.status == 400:
            rejected = n
        if rejected:
            first = problems[0] if problems else {}
            log.warning(
                "agent:rejected",
                "heron agent: server rejected %d of %d samples; first: item %s, %s",
                rejected,
                n,
                first.get("index"),
                first.get("error"),
            )
        if 200 <= response.status < 300:
            self.counts["batches"] += 1
        self.counts["rejected"] += rejected
        self.counts["sent"] += n - rejected

    def _backoff(self, attempt: int) -> float:
        """Exponential with equal jitter, like the SDK's worker."""
        step = min(self.backoff_max, self.backoff_base * 2.0**attempt)
        return step / 2 + self._rng.uniform(0, step / 2)

    def close(self) -> None:
        self._transport.close()


def _rejected_list(response: Response) -> list[Mapping[str, object]] | None:
    """The ``rejected`` list of a 207/400 answer, or None when the body has none."""
    if response.status not in (207, 400):
        return None
    try:
        answer = msgspec.json.decode(response.body)
    except msgspec.DecodeError:
        return None
    problems = answer.get("rejected") if isinstance(answer, dict) else None
    return problems if isinstance(problems, list) else None
