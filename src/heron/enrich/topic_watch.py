"""One project's topics inside the enrichment worker: its model, assignment, and the watch for new topics.

Projects are tenants, so each has its own :class:`~heron.enrich.topics.TopicModel`
and :class:`~heron.enrich.emerging.EmergingTopicDetector`; the server owns the
models (fits, edits, stores them) and hands the worker their ``to_dict()``
form. Emerging-topic candidates leave the worker as plain JSON-ready dicts
(:func:`candidate_dict`), the centroid included, so the server can add one to
its model with ``TopicModel.add_topic``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from heron.enrich.base import Signals, Turn
from heron.enrich.embeddings import Embedder
from heron.enrich.emerging import EmergingTopic, EmergingTopicDetector
from heron.enrich.topics import TopicEnricher, TopicModel

log = logging.getLogger(__name__)


def candidate_dict(found: EmergingTopic) -> dict[str, Any]:
    """An emerging topic as plain JSON types (floats rounded to 6 decimals)."""
    return {
        "id": int(found.id),
        "label": found.label,
        "keywords": [[str(word), round(float(weight), 6)] for word, weight in found.keywords],
        "size": int(found.size),
        "share": round(float(found.share), 6),
        "first_seen": float(found.first_seen),
        "detected_at": float(found.detected_at),
        "examples": list(found.examples),
        "centroid": [round(float(x), 6) for x in found.centroid.tolist()],
        "words": int(found.words),
    }


class ProjectTopics:
    """Assigns one project's turns to its topics and, with ``emerging``, feeds its detector.

    ``update`` swaps in a changed model; an edited one keeps the detector's
    history, a refitted one (another embedding mean) restarts it (see
    :meth:`EmergingTopicDetector.set_model`). A detector failure is logged
    and never costs the batch its signals.
    """

    __slots__ = ("data", "model", "enricher", "detector", "_embed")

    def __init__(self, data: Mapping[str, Any], embed: Embedder, *, emerging: bool = True,
                 detector_options: Mapping[str, Any] | None = None) -> None:
        self.data = copy.deepcopy(data)  # compared with what comes next: the caller may reuse its dict
        self._embed = embed
        self.model = TopicModel.from_dict(data)
        self.enricher = TopicEnricher(self.model, embed=embed)
        self.detector = EmergingTopicDetector(self.model, **(detector_options or {})) if emerging else None

    def update(self, data: Mapping[str, Any]) -> None:
        """Use ``data`` (``TopicModel.to_dict()``) if it differs from the model in use."""
        if data == self.data:
            return
        model = TopicModel.from_dict(data)
        self.data, self.model, self.enricher.model = copy.deepcopy(data), model, model
        if self.detector is not None and not self.detector.set_model(model):
            log.info("topic model refitted: the emerging-topic watch starts afresh")

    def enrich(self, turns: Sequence[Turn], signals: Sequence[Signals]) -> None:
        self.enricher.enrich(turns, signals)
        if self.detector is None or not turns:
            return
        texts = [turn.user_text for turn in turns]
        try:
            self.detector.update(self._embed(texts), [turn.start_time for turn in turns], texts,
                                 [turn.conversation_id for turn in turns])
        except Exception:  # the watch is a bonus; the batch's signals are not lost for it
            log.exception("emerging-topic update failed for %d turns", len(turns))

    def candidates(self) -> list[dict[str, Any]]:
        return [candidate_dict(found) for found in self.detector.get()] if self.detector is not None else []

    def dismiss(self, candidate_id: int) -> bool:
        """Drop and mute a candidate; False when there is no such candidate."""
        if self.detector is None or candidate_id not in {found.id for found in self.detector.get()}:
            return False
        self.detector.dismiss(candidate_id)
        return True

    def forget(self, candidate_id: int) -> bool:
        """Drop a candidate the server added to the model itself; False when there is no such candidate."""
        if self.detector is None or candidate_id not in {found.id for found in self.detector.get()}:
            return False
        self.detector.forget(candidate_id)
        return True
