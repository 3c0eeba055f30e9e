"""Prometheus exposition of Heron's SLIs at ``GET /metrics`` (text format 0.0.4).

Fed by the ingest pipeline's hooks: :meth:`Metrics.committed` (commit thread,
once per durable frame) and :meth:`Metrics.stored` (writer thread), by the
:class:`RequestTiming` middleware, and, at scrape time, by the pipeline's and
the services' own counters. Labels are bounded dimensions only (never user or
conversation ids), each capped at ``HERON_METRICS_MAX_VALUES`` distinct values;
docs/prometheus.md lists every metric.
"""

from __future__ import annotations

import hmac
import os
import platform
import re
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heron.errors import AuthError, ConfigError
from heron.schema.records import Feedback, Interaction, ResourceSample
from heron.server._metrics_resources import ResourceGauges
from heron.server._metrics_text import (
    CONTENT_TYPE,
    OVERFLOW,
    Child,
    Counter,
    Family,
    Gauge,
    Histogram,
    HistogramChild,
    LabelCap,
    Scalar,
    escape,
    render,
)
from heron.server.responses import error_response
from heron.server.settings import ENVIRONMENT

if TYPE_CHECKING:
    from heron.server.auth import KeyRing
    from heron.server.context import Services
    from heron.server.ingest.pipeline import IngestPipeline

DIMENSIONS = ("project", "provider", "model", "app_version", "prompt_version", "status")
"""The labels of every interaction metric, in this order."""
ERROR_LABELS = (*DIMENSIONS[:-1], "error_type")
HISTOGRAM_LABELS = ("project", "provider", "model", "status")
"""The histograms leave out app_version and prompt_version: a label set costs them 20 (latency)
or 18 (TTFT) series, and per-version latency is one of Heron's own queries (docs/prometheus.md)."""
_HISTOGRAM_KEY = tuple(DIMENSIONS.index(label) for label in HISTOGRAM_LABELS)
TOKEN_KINDS = ("input", "output", "cached", "reasoning")

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120)
"""Seconds; LLM calls run from tens of milliseconds (cache hits, embeddings) to minutes (reasoning)."""
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30)
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
STORE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

DEFAULT_MAX_VALUES = 200
DEFAULT_MAX_SERIES = 10_000
RESOURCE_TTL = 300.0
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _setting(name: str) -> str | None:
    assert name in ENVIRONMENT, name
    return os.environ.get(name) or None


def _package_version() -> str:
    try:
        return version("heron-monitor")
    except PackageNotFoundError:
        return "unknown"


class _Group:
    """What one batch adds to one label set (bucket counts as {bucket index: n})."""

    __slots__ = ("n", "tokens", "cost", "priced", "unknown", "latency", "latency_sum", "ttft", "ttft_sum", "errors")

    def __init__(self) -> None:
        self.n = 0
        self.tokens: list[int | None] = [None, None, None, None]
        self.cost = 0.0
        self.priced = 0
        self.unknown = 0
        self.latency: dict[int, int] = {}
        self.latency_sum = 0.0
        self.ttft: dict[int, int] = {}
        self.ttft_sum = 0.0
        self.errors: dict[str | None, int] | None = None


class _Slot:
    """The series of one interaction label set, held directly so that a merge looks nothing up."""

    __slots__ = ("key", "interactions", "tokens", "cost", "unknown", "latency", "ttft")

    def __init__(self, key: tuple[str, ...], interactions: Child) -> None:
        self.key = key
        self.interactions = interactions
        self.tokens: list[Child | None] = [None, None, None, None]
        self.cost: Child | None = None
        self.unknown: Child | None = None
        self.latency: HistogramChild | None = None
        self.ttft: HistogramChild | None = None


class Metrics:
    """Counters, histograms and gauges fed by the ingest pipeline's hooks; thread-safe.

    ``max_values`` caps the distinct values of each label (``HERON_METRICS_MAX_VALUES``,
    default 200), ``max_series`` the interaction label sets (shared by the interaction
    metrics) and the label sets of each other metric. ``/metrics`` needs a key: a project's
    read key shows that project's series (and the server-wide ones), ``token``
    (``HERON_METRICS_TOKEN``) every project's; ``public`` (``HERON_METRICS_PUBLIC=1``) opens it.
    """

    def __init__(
        self,
        *,
        max_values: int | None = None,
        max_series: int = DEFAULT_MAX_SERIES,
        token: str | None = None,
        public: bool | None = None,
        resource_ttl: float = RESOURCE_TTL,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        raw = str(max_values) if max_values is not None else _setting("HERON_METRICS_MAX_VALUES")
        try:
            self.max_values = int(raw) if raw is not None else DEFAULT_MAX_VALUES
        except ValueError as exc:
            raise ConfigError(f"HERON_METRICS_MAX_VALUES must be an integer, got {raw!r}") from exc
        if self.max_values < 1:
            raise ConfigError(f"HERON_METRICS_MAX_VALUES must be at least 1, got {self.max_values}")
        self.max_series = max_series
        self.token = token if token is not None else _setting("HERON_METRICS_TOKEN")
        self.public = public if public is not None else _setting("HERON_METRICS_PUBLIC") == "1"
        self.started = wall()
        self._wall = wall
        self._lock = threading.Lock()
        self._caps: dict[str, LabelCap] = {}
        self._dimension_caps = [self._cap(label) for label in DIMENSIONS]
        self._cap("error_type")
        self._cap("source")
        self._slots: dict[tuple[str, ...], _Slot] = {}
        """Interaction label sets after the caps: at most ``max_series``, plus the overflow set."""
        self._admitted: dict[tuple[str | None, ...], _Slot] = {}
        self._series_overflows = 0
        self._latency_ms = [b * 1000.0 for b in LATENCY_BUCKETS]
        self._ttft_ms = [b * 1000.0 for b in TTFT_BUCKETS]
        # The interaction families are bounded by the label sets in _slots, so their own cap never bites.
        per_set = max_series + 1

        self.interactions = Counter("heron_interactions_total", "LLM calls ingested.", DIMENSIONS, max_series=per_set)
        self.errors = Counter("heron_errors_total", "LLM calls that failed, by error type.", ERROR_LABELS, max_series=max_series)
        self.tokens = Counter(
            "heron_tokens_total", "Tokens by kind: input, output, cached (input served from cache), reasoning.",
            (*DIMENSIONS, "kind"), fixed=("kind",), max_series=len(TOKEN_KINDS) * (max_series + 1),
        )
        self.cost = Counter(
            "heron_cost_usd_total", "Cost of the LLM calls in US dollars, from the price table.", DIMENSIONS,
            integer=False, max_series=per_set,
        )
        self.cost_unknown = Counter(
            "heron_interactions_cost_unknown_total", "LLM calls whose model has no known price (not in heron_cost_usd_total).",
            DIMENSIONS, max_series=per_set,
        )
        self.latency = Histogram(
            "heron_interaction_latency_seconds", "LLM call latency, request to last token.", HISTOGRAM_LABELS,
            LATENCY_BUCKETS, max_series=per_set,
        )
        self.ttft = Histogram(
            "heron_interaction_ttft_seconds", "Time to first token of streamed LLM calls.", HISTOGRAM_LABELS, TTFT_BUCKETS,
            max_series=per_set,
        )
        self.feedback = Counter(
            "heron_feedback_total", "Feedback records (thumbs, ratings, labels) by source.", ("project", "source", "thumbs"),
            max_series=max_series,
        )
        self.http = Histogram(
            "heron_http_request_duration_seconds", "Heron's own HTTP requests, by route template and status class.",
            ("route", "method", "status_class"), HTTP_BUCKETS, max_series=max_series,
        )
        self.store_write = Histogram(
            "heron_store_write_duration_seconds", "Duration of one store write transaction (many records).", (), STORE_BUCKETS
        )
        self.store_records = Counter("heron_store_written_records_total", "Records written to the store.")
        self.store_write.child(())  # metrics without labels exist from the start, at zero
        self.store_records.child(())
        self.label_overflow = Counter(
            "heron_metrics_label_overflow_total", "Label values reported as __overflow__ because the label reached its cap.",
            ("label",),
        )
        self.series_overflow = Counter(
            "heron_metrics_series_overflow_total",
            "Updates folded into the __overflow__ label set because the metric was full "
            "(heron_interactions_total stands for every interaction metric: they share one set of label sets).",
            ("metric",),
        )
        self.resources = ResourceGauges(
            self._cap, max_values=self.max_values, max_series=max_series, ttl=resource_ttl, clock=clock
        )
        self.otlp_spans = Counter(
            "heron_otlp_spans_total",
            "OTLP spans by what they became: mapped (LLM calls, per convention), feedback, skipped, rejected.",
            ("project", "outcome", "convention"),
        )
        self.otlp_gaps = Counter(
            "heron_otlp_mapping_gaps_total",
            "Mapped LLM spans with a gap: status ok but no output (or no input), tags dropped or cut at their limits.",
            ("project", "gap"),
        )
        build = Gauge("heron_build_info", "Heron's version; the value is always 1.", ("version", "python"))
        build.set((_package_version(), platform.python_version()), 1)
        self._families: list[Family] = [
            self.interactions, self.errors, self.tokens, self.cost, self.cost_unknown, self.latency, self.ttft,
            self.feedback, self.http, self.store_write, self.store_records, self.otlp_spans, self.otlp_gaps, build,
        ]
        self._scalars: list[Scalar] = [
            Scalar("heron_uptime_seconds", "gauge", "Seconds since the server started.", lambda: self._wall() - self.started),
            Scalar("heron_start_time_seconds", "gauge", "Start time of the server, Unix epoch seconds.", lambda: self.started),
            Scalar("heron_enrichment_backlog", "gauge", "Interactions waiting for enrichment.",
                   lambda: self._enrichment("backlog_count", 0)),
            Scalar("heron_enrichment_lag_seconds", "gauge", "How long the oldest interaction waiting for enrichment has waited.",
                   lambda: self._enrichment("lag_seconds", 0.0)),
            Scalar("heron_enriched_total", "counter", "Interactions enriched since start.",
                   lambda: self._enrichment("enriched", 0)),
            Scalar("heron_anomalies_total", "counter", "Anomalies (metric streams and concept drift) found since start.",
                   lambda: self._monitor("anomalies")),
            Scalar("heron_drift_runs_total", "counter", "Stored drift runs since start.", lambda: self._monitor("drift_runs")),
            Scalar("heron_monitor_errors_total", "counter", "Monitoring passes that failed since start.",
                   lambda: self._monitor("errors")),
        ]
        self._services: Services | None = None

    def _cap(self, label: str) -> LabelCap:
        cap = self._caps.get(label)
        if cap is None:
            cap = self._caps[label] = LabelCap(label, self.max_values)
        return cap

    # -- wiring --------------------------------------------------------------------

    def _enrichment(self, name: str, default: float) -> float:
        runner = self._services.enrichment if self._services is not None else None
        if runner is None:
            return default
        return float(runner.stats.enriched if name == "enriched" else getattr(runner, name))

    def _monitor(self, name: str) -> float:
        monitor = self._services.monitor if self._services is not None else None
        return float(getattr(monitor.stats, name)) if monitor is not None else 0.0

    def bind(self, pipeline: IngestPipeline, services: Services) -> None:
        """Read the ingest pipeline's and the services' own counters at each scrape."""
        self._services = services
        stats = pipeline.stats
        self.started = services.started
        self._scalars += [
            Scalar("heron_ingest_queue_depth", "gauge", "Records accepted but not yet in the store.", lambda: pipeline.pending),
            Scalar("heron_ingest_queue_capacity", "gauge", "Queue depth at which ingest answers 503 (HERON_MAX_PENDING).",
                   lambda: pipeline.max_pending),
            Scalar("heron_ingest_inflight_requests", "gauge", "Ingest requests being handled now.", lambda: services.inflight_now),
            Scalar("heron_ingest_rejected_items_total", "counter", "Records rejected as invalid (the rest of their batch was kept).",
                   lambda: services.rejected_items),
            Scalar("heron_ingest_rejected_requests_total", "counter", "Ingest requests refused whole (auth, size, load).",
                   lambda: services.rejected_requests),
            Scalar("heron_ingest_overloaded_total", "counter", "Ingest requests refused with 503 because the queue was full.",
                   lambda: stats.overloaded),
            Scalar("heron_wal_commits_total", "counter", "Write-ahead-log group commits (one fsync each).", lambda: stats.wal_commits),
            Scalar("heron_store_errors_total", "counter", "Failed store writes (retried; the data stays in the log).",
                   lambda: stats.store_errors),
        ]

    # -- hooks ---------------------------------------------------------------------

    def committed(
        self, interactions: Sequence[Interaction], feedback: Sequence[Feedback], resources: Sequence[ResourceSample]
    ) -> None:
        """Called in the commit thread with what was just made durable; aggregates, then merges under the lock."""
        groups = self._group(interactions) if interactions else {}
        votes: dict[tuple[str | None, str, str | None], int] = {}
        for item in feedback:
            vote = (item.project, item.source, item.thumbs)
            votes[vote] = votes.get(vote, 0) + 1
        with self._lock:
            for raw, group in groups.items():
                self._merge(raw, group)
            for (project, source, thumbs), n in votes.items():
                key = (self._dimension_caps[0].admit(project or "", n), self._cap("source").admit(source, n), thumbs or "")
                self.feedback.inc(key, n)
            if resources:
                self.resources.update(resources)

    def _group(self, interactions: Sequence[Interaction]) -> dict[tuple[str | None, ...], _Group]:
        groups: dict[tuple[str | None, ...], _Group] = {}
        latency_ms, ttft_ms = self._latency_ms, self._ttft_ms
        for it in interactions:
            raw = (it.project, it.provider, it.model, it.app_version, it.prompt_version, it.status)
            group = groups.get(raw)
            if group is None:
                group = groups[raw] = _Group()
            group.n += 1
            tokens = group.tokens
            for i, value in enumerate((it.input_tokens, it.output_tokens, it.cached_tokens, it.reasoning_tokens)):
                if value is not None:
                    held = tokens[i]
                    tokens[i] = value if held is None else held + value
            cost = it.cost_usd
            if cost is None:
                group.unknown += 1
            else:
                group.cost += cost
                group.priced += 1
            ms = it.latency_ms
            if ms is not None:
                i = bisect_left(latency_ms, ms)
                group.latency[i] = group.latency.get(i, 0) + 1
                group.latency_sum += ms
            ms = it.ttft_ms
            if ms is not None:
                i = bisect_left(ttft_ms, ms)
                group.ttft[i] = group.ttft.get(i, 0) + 1
                group.ttft_sum += ms
            if it.status == "error":
                if group.errors is None:
                    group.errors = {}
                group.errors[it.error_type] = group.errors.get(it.error_type, 0) + 1
        return groups

    def _slot(self, raw: tuple[str | None, ...], weight: int) -> _Slot:
        """The label set of ``raw`` after the caps; ``weight`` interactions count toward overflows."""
        slot = self._admitted.get(raw)
        if slot is not None:
            return slot
        key = tuple(cap.admit(value or "", weight) for cap, value in zip(self._dimension_caps, raw))
        slot = self._slots.get(key)
        if slot is None:
            if len(self._slots) >= self.max_series:
                self._series_overflows += weight
                key = (OVERFLOW,) * len(DIMENSIONS)
                slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot(key, self.interactions.child(key))
        if OVERFLOW not in key:
            self._admitted[raw] = slot  # bounded: raw keys differ from admitted ones only by None vs ""
        return slot

    def _merge(self, raw: tuple[str | None, ...], group: _Group) -> None:
        slot = self._slot(raw, group.n)
        key = slot.key
        slot.interactions.inc(group.n)
        for i, total in enumerate(group.tokens):
            if total is not None:
                child = slot.tokens[i]
                if child is None:
                    child = slot.tokens[i] = self.tokens.child((*key, TOKEN_KINDS[i]))
                child.inc(total)
        if group.priced:
            if slot.cost is None:
                slot.cost = self.cost.child(key)
            slot.cost.inc(group.cost)
        if group.unknown:
            if slot.unknown is None:
                slot.unknown = self.cost_unknown.child(key)
            slot.unknown.inc(group.unknown)
        if group.latency:
            if slot.latency is None:
                slot.latency = self.latency.child(tuple(key[i] for i in _HISTOGRAM_KEY))
            slot.latency.add(group.latency, group.latency_sum / 1000.0)
        if group.ttft:
            if slot.ttft is None:
                slot.ttft = self.ttft.child(tuple(key[i] for i in _HISTOGRAM_KEY))
            slot.ttft.add(group.ttft, group.ttft_sum / 1000.0)
        if group.errors:
            cap = self._cap("error_type")
            for error_type, n in group.errors.items():
                self.errors.inc((*key[:-1], cap.admit(error_type or "unknown", n)), n)

    def stored(self, seconds: float, records: int) -> None:
        """Called in the writer thread after each store write."""
        index = bisect_left(STORE_BUCKETS, seconds)
        with self._lock:
            self.store_write.observe((), seconds, index)
            self.store_records.inc((), records)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request handled by the server (from :class:`RequestTiming`)."""
        key = (route, method if method in _METHODS else "other", f"{status // 100}xx")
        index = bisect_left(HTTP_BUCKETS, seconds)
        with self._lock:
            self.http.observe(key, seconds, index)

    # -- exposition ----------------------------------------------------------------

    def render(self) -> bytes:
        """The whole exposition, formatted under the lock (only series changed since the last scrape are re-formatted)."""
        with self._lock:
            self._mirror_otlp()
            self.resources.prune()
            families: list[Family] = [*self._families, *self.resources.families.values()]
            for cap in self._caps.values():  # zeros included: rate() and alerts need the series to exist
                self.label_overflow.set_total((cap.name,), cap.overflowed)
            self.label_overflow.set_total(("metric",), self.resources.metric_overflows)
            self.series_overflow.set_total((self.interactions.name,), self._series_overflows)
            for family in families:
                if family.overflowed:
                    self.series_overflow.set_total((family.name,), family.overflowed)
            return render([*families, self.label_overflow, self.series_overflow, *self._scalars])

    def _mirror_otlp(self) -> None:
        services = self._services
        if services is None:
            return
        for project, c in list(services.otlp.items()):
            p = self._dimension_caps[0].admit(project, 0)
            for convention, n in list(c.mapped.items()):
                self.otlp_spans.set_total((p, "mapped", convention), n)
            for outcome in ("feedback", "skipped", "rejected"):
                self.otlp_spans.set_total((p, outcome, ""), getattr(c, outcome))
            for gap in ("ok_without_output", "ok_without_input", "tags_dropped", "tags_truncated"):
                self.otlp_gaps.set_total((p, gap), getattr(c, gap))

    def visible_project(self, request: Request, keys: KeyRing) -> str | None:
        """The one project a scrape may see, or None for all of them; AuthError (401/403) for none.

        Public scraping or the admin token shows every project; a project's read key, its own.
        """
        if self.public:
            return None
        header = request.headers.get("authorization") or ""
        given = (header[7:].strip() if header[:7].lower() == "bearer " else "") or request.headers.get("x-heron-api-key")
        if self.token and given and hmac.compare_digest(given.encode(), self.token.encode()):
            return None
        if not given:
            raise AuthError(
                "/metrics requires a key: 'Authorization: Bearer <read key>' for that project's series, or the "
                "HERON_METRICS_TOKEN admin token for every project (HERON_METRICS_PUBLIC=1 opens it)"
            )
        return keys.authenticate(given, "read").project


_OTHER_FIRST = r'^[a-zA-Z_:][a-zA-Z0-9_:]*\{project="(?!%s")[^\n]*\n'
"""A sample of another project, ``project`` being its first label (as in every family here): fast."""
_OTHER_ANY = r'^[^#\n][^\n]*?[{,]project="(?!%s")[^\n]*\n'
"""The same wherever the label is; several times slower, used only if some family does not put it first."""


def only_project(exposition: bytes, project: str) -> bytes:
    """``exposition`` without the samples of other projects (``__overflow__`` included).

    A sample's ``project="..."`` label is found by its unescaped quote, which a label value
    (escaped) cannot contain; HELP/TYPE lines and server-wide series stay.
    """
    escaped = re.escape(escape(project)).encode()
    pattern = _OTHER_ANY if b',project="' in exposition else _OTHER_FIRST
    return re.sub(pattern.encode() % escaped, b"", exposition, flags=re.MULTILINE)


class RequestTiming:
    """ASGI middleware: every HTTP request's duration, by route template (never the raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.request(path, scope["method"], status, time.perf_counter() - started)


async def scrape(request: Request) -> Response:
    services = request.app.state.services
    metrics: Metrics = services.metrics
    try:
        project = metrics.visible_project(request, services.keys)
    except AuthError as exc:
        return error_response(exc)
    body = await to_thread.run_sync(lambda: metrics.render() if project is None else only_project(metrics.render(), project))
    return Response(body, media_type=CONTENT_TYPE)


routes: list[Route] = [Route("/metrics", scrape, methods=["GET"])]
