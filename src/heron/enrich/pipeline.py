"""The standard enrichment steps, in order, and running them over one batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from heron.enrich.base import Enricher, Signals, Turn


def default_enrichers(topic_model: dict[str, Any] | None = None) -> list[Enricher]:
    """Language, sentiment and cues, frustration signals, then topics when a model exists."""
    from heron.enrich.frustration import FrustrationEnricher
    from heron.enrich.language import LanguageEnricher
    from heron.enrich.sentiment import SentimentEnricher

    steps: list[Enricher] = [LanguageEnricher(), SentimentEnricher(), FrustrationEnricher()]
    if topic_model is not None:
        from heron.enrich.topics import TopicEnricher, TopicModel

        steps.append(TopicEnricher(TopicModel.from_dict(topic_model)))
    return steps


def run(enrichers: Sequence[Enricher], turns: Sequence[Turn]) -> list[Signals]:
    signals = [Signals(interaction_id=t.interaction_id) for t in turns]
    for enricher in enrichers:
        enricher.enrich(turns, signals)
    return signals
