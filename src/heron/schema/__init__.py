"""Heron's data model: records, limits and the pure rules that normalise them."""

from __future__ import annotations

from heron.schema.records import (
    Feedback,
    FeedbackBatch,
    Interaction,
    InteractionBatch,
    Message,
    ResourceBatch,
    ResourceSample,
)

__all__ = ["Feedback", "FeedbackBatch", "Interaction", "InteractionBatch", "Message", "ResourceBatch", "ResourceSample"]
