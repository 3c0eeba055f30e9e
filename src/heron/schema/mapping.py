"""Which kept attribute (tag) fills which of Heron's dimensions: the attribute mapping.

Applications name their prompt version, experiment or environment in their own
way (``app.prompt_version``, OpenInference ``llm.prompt_template.version``,
OpenLLMetry ``traceloop.association.properties.*``...). Every such attribute is
kept as a tag, and a mapping says, per dimension, which tag keys to read in order;
the first one present and non-empty wins. A project's own mapping is read before
the built-in defaults, so changing it never loses a convention Heron already knew.
Because the tags are stored, a changed mapping can be applied again to stored data.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from typing import Any

import msgspec

from heron.errors import ValidationError
from heron.schema import limits as L

MAPPED_DIMENSIONS: tuple[str, ...] = (
    "prompt_version",
    "app_version",
    "rag_source",
    "experiment",
    "variant",
    "user_id",
    "conversation_id",
    "environment",
)
"""Dimensions an attribute mapping may fill (``rag_source`` fills the list ``rag_sources``)."""

DEFAULT_MAPPING: dict[str, tuple[str, ...]] = {
    "prompt_version": (
        "heron.prompt_version",
        "llm.prompt_template.version",  # OpenInference
        "traceloop.prompt.version",
        "traceloop.association.properties.prompt_version",
        "app.prompt_version",
        "prompt.version",
        "prompt_version",  # OpenInference metadata / plain tags
    ),
    "app_version": (
        "heron.app_version",
        "app.version",
        "traceloop.association.properties.app_version",
        "service.version",
        "app_version",
    ),
    "rag_source": (
        "heron.rag_sources",
        "app.rag_source",
        "app.rag_sources",
        "rag.source",
        "traceloop.association.properties.rag_source",
        "rag_source",
    ),
    "experiment": (
        "heron.experiment",
        "app.experiment",
        "experiment.name",
        "experiment.id",
        "traceloop.association.properties.experiment",
        "experiment",
    ),
    "variant": (
        "heron.variant",
        "app.variant",
        "experiment.variant",
        "traceloop.association.properties.variant",
        "variant",
    ),
    "user_id": (
        "user.id",
        "enduser.id",
        "gen_ai.user.id",
        "traceloop.association.properties.user_id",
        "app.user_id",
        "gen_ai.request.user",
        "llm.user",
        "user_id",
    ),
    "conversation_id": (
        "gen_ai.conversation.id",
        "session.id",
        "gen_ai.session.id",
        "traceloop.association.properties.session_id",
        "traceloop.association.properties.conversation_id",
        "app.conversation_id",
        "app.session_id",
        "conversation_id",
        "session_id",
    ),
    "environment": (
        "heron.environment",
        "deployment.environment.name",
        "deployment.environment",
        "app.environment",
        "traceloop.association.properties.environment",
        "environment",
    ),
}

MAPPED_KEYS: frozenset[str] = frozenset(key for keys in DEFAULT_MAPPING.values() for key in keys)
"""Tag keys the defaults read: kept first when a span has more attributes than tags allowed."""

MAX_SOURCES = 16
"""Tag keys one dimension of a project's mapping may list."""

AttributeMapping = dict[str, tuple[str, ...]]
"""Dimension -> tag keys in order; a project's own entries come before the defaults."""


def merged(project: MappingABC[str, tuple[str, ...]] | None) -> AttributeMapping:
    """The mapping used for a project: its own keys first, then the defaults (without repeats)."""
    if not project:
        return DEFAULT_MAPPING
    return {dim: tuple(dict.fromkeys((*project.get(dim, ()), *keys))) for dim, keys in DEFAULT_MAPPING.items()}


def validate(raw: Any) -> dict[str, tuple[str, ...]]:
    """A project's mapping from JSON (``{"prompt_version": ["app.pv", ...], ...}``); errors name the field."""
    if not isinstance(raw, dict):
        raise ValidationError("mapping", "expected an object of dimension -> list of attribute keys")
    out: dict[str, tuple[str, ...]] = {}
    for dim, keys in raw.items():
        if dim not in DEFAULT_MAPPING:
            raise ValidationError(f"mapping.{dim}", f"unknown dimension; valid: {', '.join(MAPPED_DIMENSIONS)}")
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise ValidationError(f"mapping.{dim}", "expected a list of non-empty attribute keys")
        if len(keys) > MAX_SOURCES:
            raise ValidationError(f"mapping.{dim}", f"{len(keys)} keys; at most {MAX_SOURCES} are allowed")
        for key in keys:
            if len(key) > L.MAX_ID_CHARS:
                raise ValidationError(f"mapping.{dim}", f"key longer than {L.MAX_ID_CHARS} characters")
        out[dim] = tuple(keys)
    return out


def derive(tags: MappingABC[str, str], mapping: AttributeMapping) -> dict[str, tuple[Any, str]]:
    """``{field: (value, tag key)}`` that ``mapping`` reads from ``tags``; ``rag_source`` fills ``rag_sources``."""
    found: dict[str, tuple[Any, str]] = {}
    if not tags:
        return found
    for dim, keys in mapping.items():
        for key in keys:
            value = tags.get(key)
            if value:
                if dim == "rag_source":
                    found["rag_sources"] = _source_list(value), key
                else:
                    found[dim] = value, key
                break
    return found


def _source_list(value: str) -> list[str]:
    """``kb-faq``, or a JSON list ``["kb-faq", "kb-policies"]`` (OTLP array attributes arrive as JSON)."""
    if value.startswith("["):
        try:
            parsed = msgspec.json.decode(value)
        except msgspec.DecodeError:
            parsed = None
        if isinstance(parsed, list):
            return list(dict.fromkeys(str(v) for v in parsed if v not in (None, "")))
    return [value]


def fill(item: Any, mapping: AttributeMapping) -> None:
    """Set the dimensions ``item`` (an Interaction) leaves empty from its tags; errors name the tag."""
    tags = item.tags
    if not tags:
        return
    for name, (value, key) in derive(tags, mapping).items():
        if getattr(item, name):
            continue
        if name == "rag_sources":
            if len(value) > L.MAX_RAG_SOURCES or any(len(v) > L.MAX_ID_CHARS for v in value):
                raise ValidationError(
                    f"tags.{key}", f"maps to rag_sources: at most {L.MAX_RAG_SOURCES} of at most {L.MAX_ID_CHARS} characters"
                )
        elif len(value) > L.MAX_ID_CHARS:
            raise ValidationError(f"tags.{key}", f"maps to {name}: longer than {L.MAX_ID_CHARS} characters")
        setattr(item, name, value)
