"""Each project's topic model: fitted once it has enough messages, edited by people, used by enrichment.

Versions are kept in the store (``topic_models``); the enrichment worker gets
the latest one of every project and assigns new turns to it. Edits never
renumber: a rename keeps the id, a merge folds ids into one (old ids are
remembered and mapped at query time), an accepted emerging topic gets a new
id, and a refit continues numbering after the old model, whose topics stay
nameable as "retired" for the turns that carry them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from heron.enrich.topics import TopicModel
from heron.errors import ValidationError
from heron.store.base import Store

MIN_MESSAGES = 300
"""Distinct user messages a project needs before its first topic model is fitted."""
SAMPLE = 20_000
"""Most recent distinct user messages a fit uses."""


class Topics:
    """The latest topic model per project, and the emerging topics the worker reported."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._models: dict[str, tuple[int, dict[str, Any]]] = store.topic_models()  # type: ignore[attr-defined]
        self.emerging: dict[str, list[dict[str, Any]]] = {}
        self.dropped: list[tuple[str, int, str]] = []
        """Candidates accepted or dismissed here that the worker must forget (drained by the runner)."""

    def versions(self) -> dict[str, int]:
        with self._lock:
            return {project: version for project, (version, _) in self._models.items()}

    def models(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {project: model for project, (_, model) in self._models.items()}

    def version(self, project: str) -> int | None:
        with self._lock:
            found = self._models.get(project)
        return found[0] if found else None

    def model(self, project: str) -> TopicModel | None:
        with self._lock:
            found = self._models.get(project)
        return TopicModel.from_dict(found[1]) if found else None

    def save(self, project: str, model: TopicModel, *, reason: str) -> int:
        data = model.to_dict()
        version = self.store.save_topic_model(project, data, reason=reason)  # type: ignore[attr-defined]
        with self._lock:
            self._models[project] = (version, data)
        return version

    # -- what people do ---------------------------------------------------------

    def _require(self, project: str) -> TopicModel:
        model = self.model(project)
        if model is None:
            raise ValidationError("topics", "this project has no topic model yet (it is fitted once enough messages arrive)")
        return model

    def rename(self, project: str, topic_id: int, label: str) -> dict[str, Any]:
        model = self._require(project)
        model.rename(self._known(model, topic_id), _label(label))
        self.save(project, model, reason=f"rename {topic_id}")
        return self.describe(project)[topic_id]

    def merge(self, project: str, ids: Sequence[int], label: str | None) -> int:
        model = self._require(project)
        if len(set(ids)) < 2:
            raise ValidationError("ids", "name at least two topics to merge")
        target = model.merge([self._known(model, i) for i in ids], label=_label(label) if label else None)
        self.save(project, model, reason=f"merge {sorted(ids)} -> {target}")
        return target

    def accept(self, project: str, candidate_id: int, label: str | None) -> int:
        """Add a reported emerging topic to the model; returns its new topic id."""
        model = self._require(project)
        candidate = self._candidate(project, candidate_id)
        import numpy as np

        topic = model.add_topic(np.asarray(candidate["centroid"], dtype=np.float32),
                                keywords=tuple((w, float(s)) for w, s in candidate["keywords"]),
                                label=_label(label) if label else candidate["label"], size=int(candidate["size"]),
                                words=int(candidate.get("words", 0)))  # fmt: skip
        self.save(project, model, reason=f"accept emerging {candidate_id}")
        self._drop_candidate(project, candidate_id, "forget")
        return topic

    def dismiss(self, project: str, candidate_id: int) -> None:
        self._candidate(project, candidate_id)
        self._drop_candidate(project, candidate_id, "dismiss")

    def refit(self, project: str, fitted: dict[str, Any]) -> int:
        """Replace the model by a fresh fit; numbering continues and the old topics are kept as retired names."""
        new = TopicModel.from_dict(fitted)
        old = self.model(project)
        if old is not None:
            new = _continue_numbering(old, new)
        return self.save(project, new, reason="refit" if old is not None else "fit")

    def describe(self, project: str) -> dict[int, dict[str, Any]]:
        """topic id -> label, keywords, size, and where it went (merged) or whether it is retired."""
        model = self.model(project)
        if model is None:
            return {}
        out: dict[int, dict[str, Any]] = {}
        for topic_id, label in (model.params.get("retired") or {}).items():
            out[int(topic_id)] = {"label": label, "keywords": [], "retired": True}
        for topic in model.topics:
            out[topic.id] = {"label": topic.label, "keywords": [w for w, _ in topic.keywords[:8]], "size": topic.size}
        for old, new in model.merged.items():
            out.setdefault(old, {"label": out.get(new, {}).get("label", f"topic {new}"), "keywords": []})["merged_into"] = new
        return out

    def merged(self, project: str) -> dict[int, int]:
        model = self.model(project)
        return {old: model.resolve(old) for old in model.merged} if model is not None else {}

    # -- what the worker reports -------------------------------------------------

    def report_emerging(self, found: dict[str, list[dict[str, Any]]]) -> None:
        with self._lock:
            self.emerging = {project: list(items) for project, items in found.items() if items}

    def emerging_for(self, project: str) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self.emerging.get(project, []))
        return [{k: v for k, v in item.items() if k != "centroid"} for item in items]

    def _candidate(self, project: str, candidate_id: int) -> dict[str, Any]:
        with self._lock:
            for item in self.emerging.get(project, []):
                if item["id"] == candidate_id:
                    return item
        reported = [item["id"] for item in self.emerging_for(project)]
        raise ValidationError("candidate_id", f"no emerging topic {candidate_id}; reported: {reported}")

    def _drop_candidate(self, project: str, candidate_id: int, how: str) -> None:
        """``how``: "forget" (now a topic) or "dismiss" (not news: the worker stops reporting its like)."""
        with self._lock:
            self.emerging[project] = [i for i in self.emerging.get(project, []) if i["id"] != candidate_id]
            self.dropped.append((project, candidate_id, how))

    def take_dropped(self) -> list[tuple[str, int, str]]:
        with self._lock:
            dropped, self.dropped = self.dropped, []
        return dropped

    @staticmethod
    def _known(model: TopicModel, topic_id: int) -> int:
        if topic_id not in {t.id for t in model.topics}:
            raise ValidationError("topic_id", f"no topic {topic_id}; topics: {sorted(t.id for t in model.topics)}")
        return topic_id


def _label(label: str) -> str:
    label = label.strip()
    if not label or len(label) > 100:
        raise ValidationError("label", "must be 1 to 100 characters")
    return label


def _continue_numbering(old: TopicModel, new: TopicModel) -> TopicModel:
    start = max(old.next_id, new.next_id)
    retired = {**(old.params.get("retired") or {}), **{str(t.id): t.label for t in old.topics}}
    mapping = {t.id: start + k for k, t in enumerate(new.topics)}
    data = new.to_dict()
    for topic in data["topics"]:
        topic["id"] = mapping[topic["id"]]
    data["next_id"] = start + len(mapping)
    data["merged"] = {}
    data["params"] = {**data.get("params", {}), "retired": retired, "refitted_at": time.time()}
    return TopicModel.from_dict(data)
