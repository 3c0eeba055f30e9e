"""The one narrow interface between Heron and its storage backends.

Callers (ingest pipeline, query API, analytics) depend on :class:`Store` only;
``server`` is the one place that picks a backend. Reads return plain dicts so
the API layer can serialise them without knowing the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from heron.pricing import PriceOverride, PriceTable
from heron.schema.records import Feedback, Interaction, ResourceSample

if TYPE_CHECKING:
    from heron.enrich.base import Turn
    from heron.enrich.history import ConversationHistory

Bucket = Literal["minute", "hour", "day", "all"]
BUCKET_SECONDS: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
BUCKETS: tuple[str, ...] = (*BUCKET_SECONDS, "all")
"""``all`` is one bucket spanning the query window (a summary per group)."""

DIMENSIONS: tuple[str, ...] = (
    "provider",
    "model",
    "response_model",
    "environment",
    "operation",
    "app_version",
    "prompt_version",
    "experiment",
    "variant",
    "status",
    "error_type",
    "finish_reason",
    "user_id",
    "conversation_id",
    "rag_source",
    "retry_of",
)
"""Dimensions a query may filter or group by; ``tag.<key>`` is accepted too.
``retry_of=<id>`` lists the regenerations of one interaction."""

ROLLUP_DIMENSIONS: tuple[str, ...] = (
    "provider",
    "model",
    "response_model",
    "environment",
    "operation",
    "app_version",
    "prompt_version",
    "experiment",
    "variant",
    "status",
    "error_type",
    "finish_reason",
)
"""Dimensions kept in the hourly rollups (bounded cardinality); others scan raw rows."""

METRICS: tuple[str, ...] = (
    "count",
    "request_rate",
    "errors",
    "error_rate",
    "latency_avg",
    "latency_p50",
    "latency_p90",
    "latency_p95",
    "latency_p99",
    "ttft_p50",
    "ttft_p90",
    "ttft_p95",
    "ttft_p99",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "output_tokens_per_s",
    "cost_usd",
    "cost_unknown",
)
"""``request_rate`` is per second over the part of the bucket inside the window; ``output_tokens_per_s``
is output tokens over generation time (latency minus time to first token); ``cost_unknown`` counts calls
whose model has no price."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Conditions shared by listing and metric queries; all optional, ANDed."""

    start: float | None = None
    """Epoch seconds, inclusive."""
    end: float | None = None
    """Epoch seconds, exclusive."""
    equals: tuple[tuple[str, str], ...] = ()
    """(dimension, value) pairs; dimension from DIMENSIONS or ``tag.<key>``."""
    text: str | None = None
    """Case-insensitive substring of the input messages or the output."""


@dataclass(frozen=True, slots=True)
class InteractionQuery:
    project: str
    filters: Filters = field(default_factory=Filters)
    limit: int = 50
    cursor: str | None = None
    """Opaque, from a previous page's ``next_cursor``; newest first."""


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class MetricsQuery:
    project: str
    start: float
    end: float
    bucket: Bucket = "hour"
    group_by: str | None = None
    metrics: tuple[str, ...] = METRICS
    filters: Filters = field(default_factory=Filters)


@dataclass(frozen=True, slots=True)
class UsersQuery:
    """Distinct users per bucket (day by default)."""

    project: str
    start: float
    end: float
    bucket: Bucket = "day"
    group_by: str | None = None
    filters: Filters = field(default_factory=Filters)


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    """The users of a project, or of one slice of it, per UTC day (docs/users.md)."""

    project: str
    start: float
    """Epoch seconds; the window starts with this second's UTC day."""
    end: float
    """Epoch seconds, exclusive; the window ends with the UTC day of the last second before it."""
    dim: str | None = None
    """A ``ROLLUP_DIMENSIONS`` name to slice by, with ``value``; None for all users."""
    value: str | None = None
    """The slice's value; ``""`` selects calls where ``dim`` is not set."""


@dataclass(frozen=True, slots=True)
class RetentionQuery:
    """Retention of the users first active in a window, by day or week cohort (docs/users.md)."""

    project: str
    start: float
    end: float
    period: Literal["day", "week"] = "day"
    offsets: tuple[int, ...] | None = None
    """Periods after the cohort's to report; None: (1, 7, 30) days or (1, 2, 4) weeks."""
    dim: str | None = None
    value: str | None = None


CONVERSATION_FILTERS: tuple[str, ...] = ("model", "response_model", "environment", "app_version", "prompt_version", "user_id")
"""Turn columns a conversation search may match exactly; ``tag.<key>`` matches a tag."""

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
"""A user message's sentiment class: below -0.05, between, from 0.05 (VADER's compound cut-offs)."""


@dataclass(frozen=True, slots=True)
class ConversationQuery:
    """Conversations with a turn in [start, end) that matches every condition; newest match first (docs/api.md)."""

    project: str
    start: float
    end: float
    equals: tuple[tuple[str, str], ...] = ()
    """(column, value) pairs, column from CONVERSATION_FILTERS or ``tag.<key>``."""
    text: str | None = None
    """Case-insensitive substring of the turn's input messages or output."""
    topics: tuple[int, ...] = ()
    """Stored topic ids, any of them (a merged topic and the ids merged into it)."""
    sentiment: str | None = None
    """One of SENTIMENTS."""
    frustrated: bool = False
    """Frustration of at least 0.5 (as the UX rollups count a frustrated turn)."""
    errors: bool = False
    """The call failed (status ``error``)."""
    limit: int = 50
    cursor: str | None = None
    """Opaque, from a previous page's ``next_cursor``."""


@runtime_checkable
class Store(Protocol):
    """Durable storage of interactions and feedback, with the queries Heron needs.

    ``write`` is called by a single writer thread; reads may come from any thread.
    """

    def write(
        self,
        interactions: Sequence[Interaction],
        feedback: Sequence[Feedback],
        *,
        lsn: int,
        resources: Sequence[ResourceSample] = (),
    ) -> None:
        """Store the records and record ``lsn`` as applied, atomically; replays are idempotent."""

    def applied_lsn(self) -> int:
        """The highest write-ahead-log sequence number already stored."""

    def list_interactions(self, query: InteractionQuery) -> Page: ...

    def get_interaction(self, project: str, interaction_id: str) -> dict[str, Any] | None: ...

    def conversation(self, project: str, conversation_id: str) -> list[dict[str, Any]]:
        """Every interaction of one conversation, oldest first, each with its feedback."""

    def conversations(self, query: ConversationQuery) -> Page:
        """One summary row per matching conversation, newest matching turn first (docs/api.md, Conversations)."""

    def conversation_history(self, turns: Sequence[Turn], *, window_s: float = ..., limit: int = ...) -> ConversationHistory:
        """The stored calls enrichment takes as history for those of ``turns`` whose input carries none, and the
        enriched turns a late one among them is history for, in one query (:mod:`heron.enrich.history`)."""

    def metrics(self, query: MetricsQuery) -> list[dict[str, Any]]:
        """Rows of ``{"t": bucket_start, "group": value|None, <metric>: number|None}``."""

    def users(self, query: UsersQuery) -> list[dict[str, Any]]:
        """Rows of ``{"t": bucket_start, "group": value|None, "users": int}``."""

    def count(self, project: str) -> int: ...

    def close(self) -> None: ...

    def attribute_mappings(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Each project's own attribute mapping (heron.schema.mapping), as stored."""

    def set_attribute_mapping(
        self, project: str, mapping: dict[str, tuple[str, ...]], *, rederive: bool = True, progress: Any = None
    ) -> int:
        """Store ``project``'s mapping and apply it (before the defaults) to its stored calls' tags; returns the calls
        changed. With ``rederive``, rebuild what derives from them now; else :meth:`rederive` does it later."""

    def rederive_pending(self) -> dict[str, str | None]:
        """Projects whose derived data (rollups, signals' copies) is being rebuilt, with the next day to do."""

    def rederive_progress(self, project: str) -> tuple[int, int] | None:
        """(days done, days in all) of the project's running re-derivation, or None."""

    def rederive(self, *, progress: Any = None) -> int:
        """Rebuild the derived data of every pending project, day by day (resumable); returns days rebuilt."""

    def price_overrides(self, project: str) -> list[PriceOverride]:
        """The project's dated prices, oldest first."""

    def add_price_override(self, project: str, override: PriceOverride, table: PriceTable) -> int:
        """Keep ``override`` and reprice stored calls of its model from its date on (``table`` includes it).

        Returns how many calls were repriced. Callers serialise this with ``write``.
        """

    def unknown_cost_models(self, project: str, start: float, end: float) -> list[dict[str, Any]]:
        """``{"model", "calls", "input_tokens", "output_tokens"}`` for models without a price, most calls first."""

    def resource_series(
        self,
        project: str,
        *,
        start: float,
        end: float,
        bucket: Bucket = "minute",
        metrics: Sequence[str] = (),
        hosts: Sequence[str] = (),
        services: Sequence[str] = (),
        devices: Sequence[str] = (),
        limit: int = 100_000,
    ) -> list[dict[str, Any]]:
        """Host resource samples bucketed per (host, service, metric, device): rows of ``{"host",
        "service", "metric", "device", "t", "avg", "min", "max", "last", "count"}``, ordered by series
        then time, at most ``limit``. Empty filters match everything; ``device`` is None for host-wide metrics."""

    def resource_hosts(self, project: str, *, start: float, end: float) -> list[dict[str, Any]]:
        """Rows of ``{"host", "service", "metrics", "devices", "last_seen", "samples"}`` seen in the window."""

    def active_users(self, query: ActivityQuery) -> list[dict[str, Any]]:
        """One row per UTC day of the window: ``{"day", "dau", "wau", "mau", "stickiness", "new",
        "returning", "return_rate"}`` (docs/users.md)."""

    def retention(self, query: RetentionQuery) -> dict[str, Any]:
        """``{"period", "offsets", "cohorts": [{"cohort", "users", "active", "active_rate", "unbounded",
        "unbounded_rate"}], "overall": {...}}``: a cohort x offset matrix (docs/users.md)."""

    def engagement(self, query: ActivityQuery) -> dict[str, Any]:
        """``{"days": [{"day", "users", "interactions", "interactions_per_user", "engagement_s",
        "engagement_s_per_user"}], "active_days": [{"days", "users"}], "summary": {...}}`` (docs/users.md)."""
