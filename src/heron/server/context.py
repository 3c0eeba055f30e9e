"""What request handlers share: the store, the ingest pipeline, the key ring."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from dataclasses import dataclass, field

from starlette.requests import Request

from heron.errors import BusyError
from heron.server.auth import KeyRing, Principal, Scope
from heron.server.enrichment import EnrichmentRunner
from heron.server.ingest.pipeline import IngestPipeline
from heron.server.metrics import Metrics
from heron.server.monitor import Monitor
from heron.server.pricing import Pricing
from heron.server.settings import Settings
from heron.store.base import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    pipeline: IngestPipeline
    keys: KeyRing
    inflight: asyncio.Semaphore
    offload: Executor | None = None
    """Helper processes for CPU-heavy decoding (OTLP), or None to decode in threads."""
    pricing: Pricing = field(default=None)  # type: ignore[assignment]
    """Per-project price tables; set at start-up."""
    enrichment: EnrichmentRunner | None = None
    """Sentiment, frustration and topic signals after ingest; None when disabled."""
    monitor: Monitor | None = None
    """Anomaly and drift monitoring; None when disabled."""
    metrics: Metrics | None = None
    """Prometheus metrics (``/metrics``), fed by the pipeline's hooks."""
    started: float = field(default_factory=time.time)
    rejected_items: int = 0
    rejected_requests: int = 0
    inflight_now: int = 0

    @contextlib.asynccontextmanager
    async def ingest_slot(self) -> AsyncIterator[None]:
        """Hold one of ``max_inflight`` ingest slots; none free → BusyError (429)."""
        if self.inflight.locked():
            raise BusyError("too many concurrent ingest requests; retry later", retry_after=1.0)
        async with self.inflight:
            self.inflight_now += 1
            try:
                yield
            finally:
                self.inflight_now -= 1


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def api_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("x-heron-api-key") or request.query_params.get("api_key")


def authenticate(request: Request, scope: Scope) -> Principal:
    return services(request).keys.authenticate(api_key(request), scope)
