"""What request handlers share: the store, the ingest pipeline, the key ring."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from dataclasses import dataclass, field

from anyio import CapacityLimiter
from starlette.requests import Request

from heron.errors import BusyError, OverloadedError
from heron.schema.mapping import DEFAULT_MAPPING, AttributeMapping
from heron.schema.otlp import OtlpCounts
from heron.server.auth import KeyRing, Principal, Scope
from heron.server.enrichment import EnrichmentRunner
from heron.server.ingest.pipeline import IngestPipeline
from heron.server.metrics import Metrics
from heron.server.monitor import Monitor
from heron.server.pricing import Pricing
from heron.server.priority import ReadPriority
from heron.server.settings import Settings
from heron.store.base import Store


@dataclass
class OtlpCounters:
    """What one project's OTLP spans became: a mapping gap shows here, never silently."""

    mapped: dict[str, int] = field(default_factory=dict)
    """LLM spans mapped, per convention."""
    skipped: int = 0
    """Spans that are neither LLM calls nor feedback."""
    rejected: int = 0
    feedback: int = 0
    ok_without_output: int = 0
    ok_without_input: int = 0
    tags_dropped: int = 0
    tags_truncated: int = 0

    def add(self, counts: OtlpCounts, *, skipped: int, rejected: int) -> None:
        for name, n in counts.mapped.items():
            self.mapped[name] = self.mapped.get(name, 0) + n
        self.skipped += skipped
        self.rejected += rejected
        self.feedback += counts.feedback
        self.ok_without_output += counts.ok_without_output
        self.ok_without_input += counts.ok_without_input
        self.tags_dropped += counts.tags.dropped
        self.tags_truncated += counts.tags.truncated

    def as_dict(self) -> dict[str, object]:
        llm = sum(self.mapped.values())
        return {
            "mapped": dict(self.mapped),
            "llm_spans": llm,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "feedback": self.feedback,
            "ok_without_output": self.ok_without_output,
            "ok_without_input": self.ok_without_input,
            "ok_without_output_share": round(self.ok_without_output / llm, 4) if llm else 0.0,
            "tags_dropped": self.tags_dropped,
            "tags_truncated": self.tags_truncated,
        }


@dataclass
class Services:
    settings: Settings
    store: Store
    pipeline: IngestPipeline
    keys: KeyRing
    inflight: asyncio.Semaphore
    decode: CapacityLimiter
    """Threads ingest may decode in at once: reads run in anyio's default pool and never queue behind ingest."""
    offload: Executor | None = None
    """Helper processes for CPU-heavy decoding (OTLP mapping, JSON validation), or None to decode in threads."""
    pricing: Pricing = field(default=None)  # type: ignore[assignment]
    """Per-project price tables; set at start-up."""
    enrichment: EnrichmentRunner | None = None
    """Sentiment, frustration and topic signals after ingest; None when disabled."""
    monitor: Monitor | None = None
    """Anomaly and drift monitoring; None when disabled."""
    metrics: Metrics | None = None
    """Prometheus metrics (``/metrics``), fed by the pipeline's hooks."""
    priority: ReadPriority | None = None
    """Reads in flight, which ingest decoding and store writes wait for (briefly)."""
    started: float = field(default_factory=time.time)
    mappings: dict[str, AttributeMapping] = field(default_factory=dict)
    """Each project's attribute mapping (its own keys, then the defaults); projects without one use the defaults."""
    otlp: dict[str, OtlpCounters] = field(default_factory=dict)
    """Per project: what its OTLP spans became since the server started."""
    rejected_items: int = 0
    rejected_requests: int = 0
    inflight_now: int = 0

    def mapping_for(self, project: str) -> AttributeMapping:
        return self.mappings.get(project, DEFAULT_MAPPING)

    def otlp_counts(self, project: str) -> OtlpCounters:
        counters = self.otlp.get(project)
        if counters is None:
            counters = self.otlp[project] = OtlpCounters()
        return counters

    def admit(self) -> None:
        """Shed an ingest request before its body is read when it could not be taken anyway: reading
        and decoding 16 MiB only to answer 429 or 503 is how an overload feeds itself."""
        self.pipeline.check_storing()
        if self.inflight.locked():
            self.pipeline.stats.overloaded += 1
            raise BusyError("too many concurrent ingest requests; retry later", retry_after=1.0)
        full = self.pipeline.backlog_full()
        if full is not None:
            self.pipeline.stats.overloaded += 1
            raise OverloadedError(full, retry_after=1.0)

    @contextlib.asynccontextmanager
    async def ingest_slot(self) -> AsyncIterator[None]:
        """Hold one of ``max_inflight`` ingest slots; none free → BusyError (429)."""
        if self.inflight.locked():
            raise BusyError("too many concurrent ingest requests; retry later", retry_after=1.0)
        async with self.inflight:
            self.inflight_now += 1
            try:
                if self.priority is not None:
                    await self.priority.reads_done()  # decoding waits while the dashboard is answered
                yield
            finally:
                self.inflight_now -= 1


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def api_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer`` or ``X-Heron-Api-Key``; never from the URL, where logs and
    Referer headers would keep it (the dashboard's one-time ``?key=`` never reaches the server)."""
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("x-heron-api-key")


def authenticate(request: Request, scope: Scope) -> Principal:
    return services(request).keys.authenticate(api_key(request), scope)
