"""The records Heron stores: an Interaction is one LLM call, Feedback refers to one.

These are msgspec Structs so the same definition validates the HTTP boundary
(msgspec error messages name the field path and the limit) and encodes the
write-ahead log. After :func:`heron.schema.normalize.normalize_interaction`,
``start_time``/``end_time`` are float epoch seconds (UTC) and every derived
field (id, latency, status) is filled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from heron.schema import limits as L

Id = Annotated[str, msgspec.Meta(max_length=L.MAX_ID_CHARS)]
Text = Annotated[str, msgspec.Meta(max_length=L.MAX_TEXT_CHARS)]
Tokens = Annotated[int, msgspec.Meta(ge=0, le=L.MAX_TOKENS)]
Millis = Annotated[float, msgspec.Meta(ge=0, le=L.MAX_LATENCY_MS)]
Timestamp = datetime | float
"""ISO 8601 string (naive means UTC) or epoch seconds."""
TagValue = Annotated[str, msgspec.Meta(max_length=L.MAX_TAG_VALUE_CHARS)]
Tags = Annotated[dict[Id, TagValue], msgspec.Meta(max_length=L.MAX_TAGS)]

Status = Literal["ok", "error"]


class Message(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One chat message. ``content`` may be OpenAI-style parts; it is flattened to text."""

    role: Id
    content: Text | list[Any] | None = None
    name: Id | None = None


class Interaction(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One LLM call. Only ``model`` and ``start_time`` are required."""

    model: Id
    """The model the application asked for (``gen_ai.request.model``); failed calls keep it too."""
    start_time: Timestamp
    id: Id | None = None
    project: Id | None = None
    """Set by the server from the API key; a value sent by a client is ignored."""
    conversation_id: Id | None = None
    user_id: Id | None = None
    end_time: Timestamp | None = None
    provider: Id | None = None
    response_model: Id | None = None
    """The model that answered, as the provider reported it (often a dated snapshot such as
    ``gpt-4o-2024-08-06``); prices use it when known."""
    environment: Id | None = None
    """``production``, ``staging``... (``deployment.environment.name``)."""
    operation: Id | None = None
    """e.g. ``chat``, ``text_completion``, ``embeddings`` (gen_ai.operation.name)."""
    app_version: Id | None = None
    prompt_version: Id | None = None
    rag_sources: Annotated[list[Id], msgspec.Meta(max_length=L.MAX_RAG_SOURCES)] = []
    experiment: Id | None = None
    variant: Id | None = None
    input: Annotated[list[Message], msgspec.Meta(max_length=L.MAX_MESSAGES)] = []
    output: Text | None = None
    latency_ms: Millis | None = None
    ttft_ms: Millis | None = None
    input_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    cached_tokens: Tokens | None = None
    reasoning_tokens: Tokens | None = None
    status: Status | None = None
    """Derived from ``error_type`` when absent."""
    error_type: Id | None = None
    error_message: Text | None = None
    finish_reason: Id | None = None
    trace_id: Id | None = None
    span_id: Id | None = None
    tags: Tags = {}
    cost_usd: float | None = None
    """Computed by the server from the price table (``heron.pricing``); None when the model's price is unknown.
    A value sent by a client is replaced."""
    retry_of: Id | None = None
    """Id of the interaction this one regenerates or retries (a "regenerate" click, an app's retry
    after a bad answer); the pair says the user, or the app, rejected the earlier answer."""


Thumbs = Literal["up", "down"]


class Feedback(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Explicit feedback or a late ground-truth label on one interaction."""

    interaction_id: Id
    id: Id | None = None
    project: Id | None = None
    time: Timestamp | None = None
    """Defaults to the server's receive time."""
    thumbs: Thumbs | None = None
    rating: Annotated[float, msgspec.Meta(ge=0, le=L.MAX_RATING)] | None = None
    comment: Text | None = None
    label: Text | None = None
    """Ground truth, possibly arriving long after the interaction."""
    source: Id = "user"
    """``user``, ``annotator``, ``ground_truth``, ``evaluator``..."""
    name: Id | None = None
    """What a score measures (``relevance``, ``faithfulness``...): an evaluator's metric name."""
    score: float | None = None
    """An evaluator's numeric score, on its own scale (``gen_ai.evaluation.score.value``)."""
    user_id: Id | None = None
    conversation_id: Id | None = None
    tags: Tags = {}


class InteractionBatch(msgspec.Struct):
    """The body of ``POST /v1/interactions``; items are decoded one by one."""

    interactions: Annotated[list[msgspec.Raw], msgspec.Meta(max_length=L.MAX_BATCH_ITEMS)]


class FeedbackBatch(msgspec.Struct):
    """The body of ``POST /v1/feedback``."""

    feedback: Annotated[list[msgspec.Raw], msgspec.Meta(max_length=L.MAX_BATCH_ITEMS)]


MetricName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class ResourceSample(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One reading of a serving host's resources (CPU, memory, GPU), from ``heron agent``.

    ``metric`` is snake_case with its unit as suffix (see ``RESOURCE_METRICS``);
    ``device`` tells GPUs apart (NVML index) and is absent for host-wide metrics.
    """

    time: Timestamp
    host: Id
    metric: MetricName
    value: float
    service: Id | None = None
    device: Id | None = None
    project: Id | None = None
    """Set by the server from the API key."""


class ResourceBatch(msgspec.Struct):
    """The body of ``POST /v1/resources``."""

    samples: Annotated[list[msgspec.Raw], msgspec.Meta(max_length=L.MAX_BATCH_ITEMS)]


RESOURCE_METRICS: dict[str, str] = {
    "cpu_percent": "Host CPU utilisation, 0-100 (all cores).",
    "memory_used_bytes": "Host memory in use.",
    "memory_total_bytes": "Host memory installed.",
    "process_rss_bytes": "Resident memory of the monitored process (the agent's target, or the agent itself).",
    "process_cpu_percent": "CPU of the monitored process, 0-100 per core.",
    "gpu_utilization_percent": "GPU compute utilisation, 0-100 (NVML).",
    "gpu_memory_used_bytes": "GPU memory in use (NVML).",
    "gpu_memory_total_bytes": "GPU memory installed (NVML).",
    "gpu_temperature_celsius": "GPU core temperature (NVML).",
    "gpu_power_watts": "GPU power draw (NVML).",
}
"""Metrics ``heron agent`` sends; other snake_case names are accepted and stored too."""
