"""The one narrow interface between Heron and its storage backends.

Callers (ingest pipeline, query API, analytics) depend on :class:`Store` only;
``server`` is the one place that picks a backend. Reads return plain dicts so
the API layer can serialise them without knowing the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from heron.schema.records import Feedback, Interaction, ResourceSample

Bucket = Literal["minute", "hour", "day"]
BUCKET_SECONDS: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}

DIMENSIONS: tuple[str, ...] = (
    "provider",
    "model",
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
)
"""Dimensions a query may filter or group by; ``tag.<key>`` is accepted too."""

ROLLUP_DIMENSIONS: tuple[str, ...] = (
    "provider",
    "model",
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
)


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

    def metrics(self, query: MetricsQuery) -> list[dict[str, Any]]:
        """Rows of ``{"t": bucket_start, "group": value|None, <metric>: number|None}``."""

    def users(self, query: UsersQuery) -> list[dict[str, Any]]:
        """Rows of ``{"t": bucket_start, "group": value|None, "users": int}``."""

    def count(self, project: str) -> int: ...

    def close(self) -> None: ...
