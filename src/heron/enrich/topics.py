"""Topics users talk about: discovered from their messages, assigned online, watched for new ones.

A :class:`TopicModel` is fitted on a sample of user messages::

    model = TopicModel.fit(texts)                # embeds with heron.enrich.embeddings
    model.topics                                 # [Topic(id=0, label="refund, charged, invoice, card", ...), ...]
    ids, sims = model.assign(embed(new_texts))   # nearest topic, -1 when none is close enough
    store(json.dumps(model.to_dict()))           # and TopicModel.from_dict(json.loads(...)) back

How it finds topics (see ``_cluster.py`` for why): the embeddings are
centred on the sample's mean (static word-vector embeddings share a large
common direction, which hides topic differences) and re-normalised;
duplicates collapse to one point; a 15-nearest-neighbour graph is split into
communities by Louvain modularity; communities whose centroids have cosine
>= ``merge_cosine`` are merged (Louvain tends to cut a topic into its
recurring questions); groups smaller than ``min_topic_size`` are noise.
Every message then goes to its nearest topic centroid, or to -1 ("other")
when its cosine to it is below ``threshold`` -- the same rule
:meth:`TopicModel.assign` applies online, so fitted sizes and live counts
agree. Topics are labelled by class-based TF-IDF (``_ctfidf.py``).

:class:`TopicEnricher` fills ``Signals.topic_id``/``topic_similarity``;
:class:`heron.enrich.emerging.EmergingTopicDetector` watches the unassigned messages for a new,
dense group. Everything is numpy/scikit-learn; nothing here touches a store.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np

from heron.enrich import _ctfidf
from heron.enrich._cluster import communities, unit_rows
from heron.enrich.base import Signals, Turn
from heron.errors import ConfigError, ValidationError

Keywords = tuple[tuple[str, float], ...]
NOISE = -1
"""The topic id of messages close to no topic ("other")."""
SPACE = "wordllama-256-centred"
"""The embedding space centroids live in; a model from another space is refused."""
_FORMAT = 1
_AUTO_QUANTILE = 0.05
_FIT_QUANTILES = (0.05, 0.25, 0.5)
"""Kept in ``params["fit_similarity"]``: how close fitted messages were to their topic."""
_AUTO_BOUNDS = (0.05, 0.5)


@dataclass(frozen=True, slots=True, eq=False)
class Topic:
    """One topic. ``centroid`` is a unit vector in the model's space (embedding minus the model's mean)."""

    id: int
    label: str
    keywords: Keywords
    """Most distinctive words with their c-TF-IDF weights, best first."""
    size: int
    """Messages assigned to it when it was fitted (or merged, or added)."""
    centroid: np.ndarray
    words: int = 0
    """Words in those messages; weighs keywords when topics merge."""


class TopicModel:
    """Topics with centroids, nearest-centroid assignment, and user edits (rename, merge, add).

    Build one with :meth:`fit` or :meth:`from_dict`. Edits change the model in
    place; ids are never reused, and a merged topic's old ids are remembered
    in :attr:`merged` so stored assignments can be followed with :meth:`resolve`.
    """

    def __init__(self, topics: Sequence[Topic] = (), *, mean: np.ndarray | None = None, threshold: float = 0.15,
                 dimensions: int = 256, next_id: int | None = None, merged: Mapping[int, int] | None = None,
                 params: Mapping[str, Any] | None = None) -> None:
        if not 0.0 <= threshold < 1.0:
            raise ConfigError(f"threshold must be in [0, 1), got {threshold}")
        self._topics = {topic.id: topic for topic in topics}
        self.mean = np.zeros(dimensions, dtype=np.float32) if mean is None else np.asarray(mean, dtype=np.float32)
        self.threshold = float(threshold)
        self.dimensions = int(self.mean.shape[0])
        self.next_id = max([*self._topics, -1]) + 1 if next_id is None else int(next_id)
        self.merged: dict[int, int] = dict(merged or {})
        """Old topic id -> the id it was merged into."""
        self.params: dict[str, Any] = dict(params or {})
        """How it was fitted (for display)."""
        self._matrix: np.ndarray | None = None

    # -- fitting -------------------------------------------------------------------------------------------

    @classmethod
    def fit(cls, texts: Sequence[str], *, embeddings: np.ndarray | None = None, min_topic_size: int = 10,
            threshold: float | None = None, neighbours: int = 15, merge_cosine: float = 0.25,
            max_samples: int = 20_000, seed: int = 0) -> TopicModel:
        """Discover topics in ``texts`` (user messages); the number of topics is not needed.

        ``embeddings`` (one row per text, as :func:`heron.enrich.embeddings.embed`
        returns) are computed when not given. Empty texts and zero rows are
        ignored. ``threshold=None`` picks the assignment threshold from the
        data: the 5th percentile of the clustered messages' cosine to their
        topic, kept within [0.05, 0.5]. Clustering uses at most
        ``max_samples`` messages (a seeded sample); sizes and keywords count
        them all. Fewer usable messages than ``min_topic_size`` give a model
        without topics.
        """
        texts = list(texts)
        if min_topic_size < 2 or neighbours < 2 or max_samples < 2:
            raise ConfigError("min_topic_size, neighbours and max_samples must be at least 2")
        if threshold is not None and not 0.0 <= threshold < 1.0:
            raise ConfigError(f"threshold must be in [0, 1), got {threshold}")
        vectors = _embeddings(texts, embeddings)
        params = {"min_topic_size": min_topic_size, "neighbours": neighbours, "merge_cosine": merge_cosine,
                  "seed": seed, "messages": len(texts)}
        usable = np.flatnonzero((np.linalg.norm(vectors, axis=1) > 0) & np.array([bool(t.strip()) for t in texts],
                                                                                    dtype=bool))
        dimensions = vectors.shape[1]
        if len(usable) < min_topic_size:
            mean = vectors[usable].mean(axis=0) if len(usable) else None
            return cls(mean=mean, threshold=0.15 if threshold is None else threshold, dimensions=dimensions,
                       params=params)
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(usable, max_samples, replace=False)) if len(usable) > max_samples else usable
        mean = vectors[sample].mean(axis=0)
        if float(np.linalg.norm(vectors[sample] - mean, axis=1).max()) < 1e-4:
            mean = np.zeros(dimensions, dtype=np.float32)  # all the same message: nothing to centre on
        points = unit_rows(vectors[sample] - mean)
        distinct, inverse, counts = np.unique(np.round(points, 4), axis=0, return_inverse=True, return_counts=True)
        groups = communities(unit_rows(distinct), counts.astype(np.float64), neighbours=neighbours,
                             min_cosine=merge_cosine, seed=seed)[inverse.ravel()]
        centroids = _centroids(points, groups, min_topic_size)
        model = cls(mean=mean, dimensions=dimensions, params=params)
        if not len(centroids):
            model.threshold = 0.15 if threshold is None else threshold
            return model
        if threshold is None:
            low, high = _AUTO_BOUNDS
            threshold = float(np.clip(np.quantile((points @ centroids.T).max(axis=1), _AUTO_QUANTILE), low, high))
        model.threshold = threshold
        # one refinement step: centroids of what nearest-centroid assignment gives, then the final labels
        labels, _ = _nearest(points, centroids, threshold)
        centroids = _centroids(points, labels, min_topic_size)
        all_points = unit_rows(vectors[usable] - mean)
        labels = np.full(len(usable), NOISE, dtype=np.int64)
        if len(centroids):
            labels, sims = _nearest(all_points, centroids, threshold)
            model.params["fit_similarity"] = [round(float(q), 4) for q in np.quantile(sims, _FIT_QUANTILES)]
        model._set_fitted([texts[i] for i in usable], labels, all_points, min_topic_size)
        return model

    def _set_fitted(self, texts: list[str], labels: np.ndarray, points: np.ndarray, min_size: int) -> None:
        sizes = np.bincount(labels[labels >= 0], minlength=0)
        kept = [c for c in np.argsort(-sizes, kind="stable") if sizes[c] >= min_size]
        relabel = np.full(max(len(sizes), 1), NOISE, dtype=np.int64)
        relabel[kept] = np.arange(len(kept))
        labels = np.where(labels >= 0, relabel[np.maximum(labels, 0)], NOISE)
        keywords, words, _ = _ctfidf.class_tfidf(texts, labels, range(len(kept)))
        topics = []
        for topic_id in range(len(kept)):
            members = points[labels == topic_id]
            topics.append(Topic(topic_id, _ctfidf.label(keywords[topic_id]) or f"topic {topic_id}",
                                keywords[topic_id], len(members), _unit(members.mean(axis=0)), words[topic_id]))
        self._topics = {topic.id: topic for topic in topics}
        self.next_id = len(topics)
        self._matrix = None

    # -- reading -------------------------------------------------------------------------------------------

    @property
    def topics(self) -> list[Topic]:
        """Current topics, by id."""
        return [self._topics[i] for i in sorted(self._topics)]

    def topic(self, topic_id: int) -> Topic:
        try:
            return self._topics[topic_id]
        except KeyError:
            raise ConfigError(f"no topic {topic_id}; topics are {sorted(self._topics)}") from None

    def resolve(self, topic_id: int) -> int:
        """The current id of ``topic_id``, following merges (-1 and unknown ids come back as they are)."""
        seen = set()
        while topic_id in self.merged and topic_id not in seen:
            seen.add(topic_id)
            topic_id = self.merged[topic_id]
        return topic_id

    def project(self, embeddings: np.ndarray) -> np.ndarray:
        """Rows in the model's space (minus the mean, unit length); zero rows (empty texts) stay zero."""
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimensions:
            raise ConfigError(f"embeddings must have shape (n, {self.dimensions}), got {vectors.shape}")
        empty = ~np.any(vectors != 0, axis=1)
        points = unit_rows(vectors - self.mean)
        points[empty] = 0.0
        return points

    def centroid_of(self, embeddings: np.ndarray) -> np.ndarray:
        """The model-space centroid of some messages' embeddings (for :meth:`add_topic`)."""
        return _unit(self.project(embeddings).mean(axis=0))

    def assign(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest topic of each row and its cosine; -1 below :attr:`threshold`.

        Returns ``(topic_ids int64, similarities float32)``. Rows of zeros
        (empty messages) get -1 and NaN, as does everything when there are
        no topics.
        """
        points = self.project(embeddings)
        ids, sims = self.assign_projected(points)
        return ids, sims

    def assign_projected(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`assign` for rows already in the model's space (see :meth:`project`)."""
        n = len(points)
        if not self._topics or not n:
            return np.full(n, NOISE, dtype=np.int64), np.full(n, np.nan, dtype=np.float32)
        ids = np.fromiter(sorted(self._topics), dtype=np.int64)
        labels, sims = _nearest(points, self._centroid_matrix(), self.threshold)
        out = np.where(labels >= 0, ids[np.maximum(labels, 0)], NOISE)
        empty = ~np.any(points != 0, axis=1)
        out[empty] = NOISE
        sims[empty] = np.nan
        return out.astype(np.int64), sims

    def similarities(self, points: np.ndarray) -> np.ndarray:
        """Cosine of each model-space row to each topic, columns in :attr:`topics` order."""
        sims: np.ndarray = (points @ self._centroid_matrix().T).astype(np.float32)
        return sims

    def _centroid_matrix(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = np.array([t.centroid for t in self.topics], dtype=np.float32).reshape(-1, self.dimensions)
        return self._matrix

    # -- user edits ----------------------------------------------------------------------------------------

    def rename(self, topic_id: int, label: str) -> None:
        label = label.strip()
        if not label:
            raise ConfigError("a topic label cannot be empty")
        self._topics[topic_id] = replace(self.topic(topic_id), label=label)

    def merge(self, ids: Sequence[int], *, label: str | None = None) -> int:
        """Merge topics into a new one and return its id.

        The centroid is the size-weighted mean of theirs; keywords combine
        by word count (exact c-TF-IDF for the words each topic kept); the
        label is ``label`` or made from the merged keywords.
        """
        unique = sorted(set(ids))
        if len(unique) < 2:
            raise ConfigError("merge needs at least two distinct topic ids")
        parts = [self.topic(i) for i in unique]
        size = sum(p.size for p in parts)
        weights = [max(p.size, 1) for p in parts]
        centroid = _unit(np.average(np.array([p.centroid for p in parts]), axis=0, weights=weights))
        keywords = _ctfidf.merge_keywords([(p.keywords, p.words) for p in parts])
        new_id = self.next_id
        for i in unique:
            del self._topics[i]
            self.merged[i] = new_id
        self._add(Topic(new_id, (label or "").strip() or _ctfidf.label(keywords) or parts[0].label, keywords, size,
                        centroid, sum(p.words for p in parts)))
        return new_id

    def add_topic(self, centroid: np.ndarray, *, keywords: Keywords = (), label: str | None = None, size: int = 0,
                  words: int = 0) -> int:
        """Add a topic (e.g. an :class:`EmergingTopic`) and return its id.

        ``centroid`` is in the model's space: ``EmergingTopic.centroid``, or
        :meth:`centroid_of` some example messages' embeddings.
        """
        vector = np.asarray(centroid, dtype=np.float32).ravel()
        if vector.shape != (self.dimensions,) or not np.linalg.norm(vector) > 0:
            raise ConfigError(f"centroid must be a non-zero vector of {self.dimensions} numbers")
        keywords = tuple((str(w), float(x)) for w, x in keywords)
        new_id = self.next_id
        self._add(Topic(new_id, (label or "").strip() or _ctfidf.label(keywords) or f"topic {new_id}", keywords,
                        int(size), _unit(vector), int(words)))
        return new_id

    def _add(self, topic: Topic) -> None:
        self._topics[topic.id] = topic
        self.next_id = max(self.next_id, topic.id + 1)
        self._matrix = None

    # -- persistence ---------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (floats rounded to 6 decimals); :meth:`from_dict` reads it back."""
        return {
            "format": _FORMAT,
            "space": SPACE,
            "dimensions": self.dimensions,
            "threshold": round(self.threshold, 6),
            "mean": _floats(self.mean),
            "next_id": self.next_id,
            "merged": {str(old): new for old, new in sorted(self.merged.items())},
            "params": dict(self.params),
            "topics": [
                {"id": t.id, "label": t.label, "keywords": [[w, x] for w, x in t.keywords], "size": t.size,
                 "words": t.words, "centroid": _floats(t.centroid)}
                for t in self.topics
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TopicModel:
        try:
            if data.get("format") != _FORMAT or data.get("space") != SPACE:
                raise ValidationError("format", f"expected format {_FORMAT} in space {SPACE!r}")
            dimensions = int(data["dimensions"])
            topics = [
                Topic(int(t["id"]), str(t["label"]), tuple((str(w), float(x)) for w, x in t["keywords"]),
                      int(t["size"]), _unit(np.asarray(t["centroid"], dtype=np.float32)), int(t.get("words", 0)))
                for t in data["topics"]
            ]
            if any(t.centroid.shape != (dimensions,) for t in topics):
                raise ValidationError("topics", f"every centroid needs {dimensions} numbers")
            return cls(topics, mean=np.asarray(data["mean"], dtype=np.float32), threshold=float(data["threshold"]),
                       dimensions=dimensions, next_id=int(data["next_id"]),
                       merged={int(k): int(v) for k, v in data.get("merged", {}).items()},
                       params=data.get("params", {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError("topic_model", f"not a topic model: {exc!r}") from exc


class TopicEnricher:
    """Fills ``topic_id`` and ``topic_similarity`` of each turn from its newest user message.

    Messages are embedded in one batch (``embed`` is injectable; it defaults
    to an :class:`~heron.enrich.embeddings.EmbeddingMemo` of its own; pass
    the pipeline's to share one). With ``context`` (default), a
    message close to no topic ("thanks!", "can I freeze it?") takes the
    topic of the conversation's previous user message when that one has a
    topic; ``topic_similarity`` stays the message's own cosine to it. An
    empty message gets -1 and ``None``. Replace :attr:`model` to use a refitted one.
    """

    name = "topics"

    def __init__(self, model: TopicModel, *, embed: Callable[[Sequence[str]], np.ndarray] | None = None,
                 context: bool = True) -> None:
        self.model = model
        self._embed = embed
        self.context = context

    def enrich(self, turns: Sequence[Turn], signals: Sequence[Signals]) -> None:
        if not turns:
            return
        if self._embed is None:
            from heron.enrich.embeddings import EmbeddingMemo

            self._embed = EmbeddingMemo()
        previous = [turn.previous_user_texts[-1] if turn.previous_user_texts else None for turn in turns]
        ids, sims = assign_in_context(self.model, self._embed, [turn.user_text for turn in turns], previous,
                                      context=self.context)
        for signal, topic_id, sim in zip(signals, ids.tolist(), sims.tolist(), strict=True):
            signal.topic_id = topic_id
            signal.topic_similarity = None if math.isnan(sim) else round(sim, 4)


def assign_in_context(model: TopicModel, embed: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str],
                      previous: Sequence[str | None], *, context: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Topic ids and cosines of ``texts``, as :class:`TopicEnricher` assigns them.

    ``previous`` holds each message's previous user message in its
    conversation (None for the first): with ``context``, a message close to
    no topic takes that one's topic, keeping its own cosine to it.
    """
    if len(previous) != len(texts):
        raise ConfigError("texts and previous must have the same length")
    points = model.project(embed(texts))
    ids, sims = model.assign_projected(points)
    if not (context and model.topics):
        return ids, sims
    todo = [i for i in np.flatnonzero(ids == NOISE).tolist() if previous[i] and not np.isnan(sims[i])]
    if todo:
        before, _ = model.assign(embed([cast(str, previous[i]) for i in todo]))
        for i, topic_id in zip(todo, before.tolist(), strict=True):
            if topic_id != NOISE:
                ids[i] = topic_id
                sims[i] = float(points[i] @ model.topic(topic_id).centroid)
    return ids, sims


def _embeddings(texts: list[str], embeddings: np.ndarray | None) -> np.ndarray:
    if embeddings is None:
        if not texts:
            return np.zeros((0, 256), dtype=np.float32)
        return np.asarray(_default_embed()(texts), dtype=np.float32)
    vectors = np.asarray(embeddings, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(texts):
        raise ConfigError(f"embeddings must have one row per text: {vectors.shape} for {len(texts)} texts")
    if not np.isfinite(vectors).all():
        raise ConfigError("embeddings contain NaN or infinity")
    return vectors


def _default_embed() -> Callable[[Sequence[str]], np.ndarray]:
    from heron.enrich.embeddings import embed  # loads wordllama only when first needed

    return embed


def _nearest(points: np.ndarray, centroids: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    sims = points @ centroids.T
    best = sims.argmax(axis=1)
    top = sims[np.arange(len(points)), best].astype(np.float32)
    return np.where(top >= threshold, best, NOISE).astype(np.int64), top


def _centroids(points: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Unit centroids of the groups with at least ``min_size`` members, largest first."""
    if not (labels >= 0).any():
        return np.zeros((0, points.shape[1]), dtype=np.float32)
    sizes = np.bincount(labels[labels >= 0])
    order = [c for c in np.argsort(-sizes, kind="stable") if sizes[c] >= min_size]
    return np.array([_unit(points[labels == c].mean(axis=0)) for c in order], dtype=np.float32).reshape(
        -1, points.shape[1])


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def _floats(vector: np.ndarray) -> list[float]:
    return [round(float(x), 6) for x in vector]
