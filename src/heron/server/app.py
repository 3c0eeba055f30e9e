"""Wiring only: settings → store, write-ahead log, ingest pipeline, key ring → routes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator

from anyio import CapacityLimiter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from heron.server.api import conversations as conversation_routes
from heron.server.api import costs as cost_routes
from heron.server.api import mapping as mapping_routes
from heron.server.api.mapping import load_mappings
from heron.server.api import routes as api_routes
from heron.server.api import tags as tag_routes
from heron.server.api import drift as drift_routes
from heron.server.api import topics as topic_routes
from heron.server.api import ux as ux_routes
from heron.server.api import params
from heron.server.api.openapi import openapi_document
from heron.server.auth import KeyRing
from heron.server.dashboard import routes as dashboard_routes
from heron.server.context import Services, authenticate, services
from heron.server.enrichment import EnrichmentRunner
from heron.server.monitor import Monitor
from heron.server.ingest import routes as ingest_routes
from heron.server.ingest.body import budget_for
from heron.server.ingest.offload import start_pool
from heron.server.ingest.pipeline import IngestPipeline
from heron.server.ingest.wal import WriteAheadLog
from heron.server.metrics import Metrics, RequestTiming
from heron.server.metrics import routes as metrics_routes
from heron.server.pricing import Pricing
from heron.server.resources import routes as resource_routes
from heron.server.priority import ReadPriority, ReadsFirst
from heron.server.security import HEADERS as SECURITY_HEADERS
from heron.server.security import SecurityHeaders, private_data_dir
from heron.server.responses import error_response, json_response
from heron.server.settings import Settings
from heron.errors import HeronError
from heron.store.base import Store

log = logging.getLogger("heron.server")


def open_store(settings: Settings) -> Store:
    from heron.store.duckdb import DuckDBStore

    return DuckDBStore(settings.data_dir / "heron.duckdb", memory_limit=settings.duckdb_memory)


async def healthz(request: Request) -> Response:
    """503 while nothing can be stored (a supervisor should restart or page); 200 "degraded" while
    the disk is below its watermark (ingest refused, reads served: a restart would not help)."""
    svc = services(request)
    body: dict[str, object] = {"status": "ok", "uptime_s": round(time.time() - svc.started, 3)}
    failure = svc.pipeline.failure
    if failure is not None:
        body.update(status="unhealthy", reason=failure)
        return json_response(body, 503, {"Retry-After": "5"})
    low = svc.pipeline.disk_low()
    if low is not None:
        body.update(status="degraded", reason=low)
    return json_response(body)


async def status(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, params.accepted())
    except HeronError as exc:
        return error_response(exc)
    svc = services(request)
    stats = svc.pipeline.stats
    return json_response(
        {
            "project": principal.project,
            "stored_interactions": svc.store.count(principal.project),
            "ingest": {
                "pending": svc.pipeline.pending,
                "inflight_requests": svc.inflight_now,
                "accepted_interactions": stats.accepted_interactions,
                "accepted_feedback": stats.accepted_feedback,
                "stored_records": stats.stored_records,
                "wal_commits": stats.wal_commits,
                "store_writes": stats.store_writes,
                "store_errors": stats.store_errors,
                "overloaded": stats.overloaded,
                "waited_for_reads_s": round(svc.priority.waited_s, 3) if svc.priority is not None else 0.0,
                "failure": svc.pipeline.failure,
                "refused_failing": stats.refused_failing,
                "wal_failures": stats.wal_failures,
                "store_reopens": stats.store_reopens,
                "wal_damage": [item.describe() for item in svc.pipeline.wal_damage],
                "rejected_items": svc.rejected_items,
                "rejected_requests": svc.rejected_requests,
            },
            "enrichment": None
            if svc.enrichment is None
            else {
                "backlog": svc.enrichment.backlog_count,
                "lag_s": round(svc.enrichment.lag_seconds, 3),
                "enriched": svc.enrichment.stats.enriched,
                "errors": svc.enrichment.stats.errors,
                "feedback_applied": svc.enrichment.stats.feedback_applied,
                "topic_models": len(svc.enrichment.topics.versions()),
                "topics_backfilled": svc.enrichment.stats.topics_backfilled,
                "revised": svc.enrichment.stats.revised,
            },
            "monitor": None if svc.monitor is None else dataclasses.asdict(svc.monitor.stats),
            "otlp": svc.otlp_counts(principal.project).as_dict(),
            "uptime_s": round(time.time() - svc.started, 3),
        }
    )


async def internal_error(request: Request, exc: Exception) -> Response:
    """A bug's 500: JSON, and the security headers, which Starlette's outermost error middleware
    would otherwise send it without (it answers outside every other middleware). The error is
    raised again after it, for the server's log."""
    return json_response({"error": "internal server error"}, 500, dict((k.decode(), v.decode()) for k, v in SECURITY_HEADERS))


async def openapi(request: Request) -> Response:
    return json_response(openapi_document())


def create_app(settings: Settings) -> Starlette:
    """The ASGI app; its lifespan opens the store, replays the log and starts the writer."""
    metrics = Metrics()
    priority = ReadPriority(max_wait=settings.reads_first_wait)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        private_data_dir(settings.data_dir)
        store = open_store(settings)
        wal = WriteAheadLog(settings.data_dir / "wal", fsync=settings.fsync, min_free_bytes=settings.min_free_mb * 1024 * 1024)
        pricing = Pricing(store)
        pipeline = IngestPipeline(
            store,
            wal,
            max_pending=settings.max_pending,
            max_pending_bytes=settings.max_pending_mb << 20,
            on_committed=metrics.committed,
            on_stored=metrics.stored,
            pricer=pricing,
            priority=priority,
        )
        priority.pressure = pipeline.under_pressure
        pipeline.start()
        offload = start_pool(settings.otlp_workers)
        enrichment = EnrichmentRunner(store, pipeline, yield_to_reads=priority.yield_to_reads) if settings.enrich else None
        if enrichment is not None:
            enrichment.start()
        monitor = None
        if settings.monitor_interval > 0:
            monitor = Monitor(store, interval=settings.monitor_interval, drift_every=settings.drift_every,
                              embed=enrichment.embed if enrichment is not None else None, horizon=settings.late_horizon)  # fmt: skip
            monitor.start()
        app.state.services = Services(
            settings=settings,
            store=store,
            pipeline=pipeline,
            keys=KeyRing(settings.data_dir / "keys.json"),
            inflight=asyncio.Semaphore(settings.max_inflight),
            decode=CapacityLimiter(settings.decode_threads),
            offload=offload,
            metrics=metrics,
            pricing=pricing,
            enrichment=enrichment,
            monitor=monitor,
            priority=priority,
        )
        load_mappings(app.state.services, settings)
        metrics.bind(pipeline, app.state.services)
        try:
            yield
        finally:
            if monitor is not None:
                monitor.stop()
            if enrichment is not None:
                enrichment.stop()
            if offload is not None:
                offload.shutdown(wait=True, cancel_futures=True)
            pipeline.close()
            store.close()

    routes = [
        *dashboard_routes.routes,
        Route("/healthz", healthz),
        Route("/v1/status", status),
        Route("/openapi.json", openapi),
        *ingest_routes.routes,
        *api_routes.routes,
        *conversation_routes.routes,
        *cost_routes.routes,
        *mapping_routes.routes,
        *tag_routes.routes,
        *ux_routes.routes,
        *topic_routes.routes,
        *drift_routes.routes,
        *metrics_routes,
        *resource_routes,
    ]
    middleware = [Middleware(SecurityHeaders), Middleware(RequestTiming, metrics=metrics), Middleware(ReadsFirst, priority=priority)]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware, exception_handlers={500: internal_error})
    app.state.body_budget = budget_for(settings.max_inflight)
    return app
