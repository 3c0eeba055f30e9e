"""New subjects in a project's traffic: messages no topic explains, forming a dense group that grows.

A subject can arrive two ways, and both are watched: it **jumps** (a product
launch, an outage: from nothing to 10 % in an hour) or it **ramps** (a new
feature catching on: 0 to 30 % over a week, passing 3 % on its first day).
A jump shows against the last day; a ramp does not -- its share an hour ago
was nearly today's -- so the detector also keeps a thinned week-long memory
of unexplained messages and compares with the oldest day in it. Everything
is numpy; nothing here touches a store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from heron.enrich import _ctfidf
from heron.enrich._cluster import communities, unit_rows
from heron.enrich.topics import NOISE, Keywords, TopicModel
from heron.errors import ConfigError

DAY = 86_400.0
COHESION_CAP = 0.5
"""The most a new group's cohesion must reach. Fitted topics of free text sit at 0.3-0.4 (chatterbot-corpus,
the demo); templated traffic splits into one topic per template and entity ("change my booking in Kyoto"), at
0.7, and a real new subject -- several phrasings over every entity -- never gets that tight (0.57 in
bench/eval_scenarios.py)."""


@dataclass(frozen=True, slots=True, eq=False)
class EmergingTopic:
    """A dense group of messages that no topic explains well, growing faster than such messages did before."""

    id: int
    """The detector's own candidate number (not a topic id)."""
    label: str
    keywords: Keywords
    size: int
    """Messages so far, counting those that arrived after it was reported."""
    share: float
    """Its share of all messages in the window it was found in."""
    first_seen: float
    detected_at: float
    """Timestamp of the newest message when it was reported."""
    centroid: np.ndarray
    """In the model's space, ready for :meth:`TopicModel.add_topic`."""
    examples: tuple[str, ...]
    words: int = 0


class EmergingTopicDetector:
    """Streaming: reports a new topic when poorly explained recent messages form a dense, growing group.

    ``update(embeddings, times, texts)`` takes a batch (epoch seconds; the
    texts are only needed for keywords and examples). Every message is
    counted, for shares; those whose cosine to their nearest topic is below
    ``novelty`` are kept for ``history`` seconds. (``novelty`` defaults to
    the cosine a quarter of the fitted messages fell below: a new subject
    is often *assigned* to the nearest old topic, only not closely.) Every
    ``check_every`` kept messages, those of the last ``window`` seconds are
    clustered as :meth:`TopicModel.fit` does. A group is reported when

    - it is dense: its messages' mean cosine to their centroid is at least
      ``cohesion`` (default: the median fitted message's cosine to its topic,
      at most :data:`COHESION_CAP`),
    - its centroid is less like any topic than that (a busy corner of an
      old topic is drift of that topic's share, not a new topic),
    - at least ``min_size`` of its messages are within the model's
      threshold of its centroid and closer to it than to any topic, from at
      least ``min_sources`` sources (when ``sources`` are given: one long
      conversation is not a trend),
    - they are at least ``min_share`` of all traffic in the window,
    - and that share is at least ``ratio`` times the share such messages
      had before: in the history before the window, or -- once a whole day
      was seen before the window -- on the oldest day seen, up to
      ``memory`` back (a ramp: its last day was already half of today, its
      first day nothing). A steady trickle the model never covered
      ("thanks!") is not news, and chance bursts of a subject stay under 5x
      (ratios of 3-4 happened on stable demo traffic).

    Messages leaving ``history`` go to the week-long ``memory``, thinned to
    about ``memory_per_hour`` an hour (each kept one standing for those
    dropped, so shares stay unbiased), as float16: ~51 KB an hour of 256-d
    rows at most, 8.6 MB for a week. With a full week the oldest day is the
    same weekday, so a weekday-only subject on a Monday is compared with
    the Monday before; with less (a new project, a refitted model), a
    subject that is quiet at weekends can be reported on its first busy day.

    At about 600 messages an hour the demo's injected topics are reported
    within 1-2 hours; at a few hundred an hour, lengthen ``window``.

    Nothing is reported before ``window`` seconds of traffic before the
    window have been seen. A reported group absorbs later messages that it
    explains better than the topics do, until :meth:`accept` adds it to the
    model or :meth:`dismiss` drops it (then it only keeps absorbing, so it
    is not reported again). ``first_seen`` is its oldest message in the
    window it was found in.
    """

    def __init__(self, model: TopicModel, *, window: float = 2 * 3600.0, history: float = 86_400.0,
                 min_size: int = 20, min_share: float = 0.02, ratio: float = 5.0, min_sources: int = 5,
                 novelty: float | None = None, cohesion: float | None = None, check_every: int = 25,
                 max_recent: int = 5_000, memory: float = 7 * DAY, memory_per_hour: int = 100, seed: int = 0) -> None:
        if (window <= 0 or history < window or memory < history or min_size < 2 or not 0.0 <= min_share <= 1.0
                or ratio < 1.0 or memory_per_hour < 1):
            raise ConfigError("need window > 0, history >= window, memory >= history, min_size >= 2, "
                              "0 <= min_share <= 1, ratio >= 1, memory_per_hour >= 1")
        self.model = model
        self.window, self.history, self.min_size, self.min_share = window, history, min_size, min_share
        self.memory, self.memory_per_hour = memory, memory_per_hour
        self.min_sources = min_sources
        self.ratio, self.check_every, self.max_recent, self.seed = ratio, max(1, check_every), max_recent, seed
        self._novelty, self._cohesion = novelty, cohesion
        self.reset()

    @property
    def novelty(self) -> float:
        """Messages whose cosine to their nearest topic is below this are watched."""
        if self._novelty is not None:
            return self._novelty
        return max(self._fitted(1, 0.1), self.model.threshold)

    @property
    def memory_rows(self) -> int:
        """Rows held in the week-long memory (each standing for the messages thinned away beside it)."""
        return len(self._old.times)

    @property
    def cohesion(self) -> float:
        """The mean cosine of a group's messages to its centroid must reach this."""
        return self._cohesion if self._cohesion is not None else min(self._fitted(2, 0.25), COHESION_CAP)

    def _fitted(self, index: int, above_threshold: float) -> float:
        """A quantile of the fitted messages' cosine to their topic (``params["fit_similarity"]``)."""
        fitted = self.model.params.get("fit_similarity")
        if isinstance(fitted, list) and len(fitted) > index:
            return float(fitted[index])
        return self.model.threshold + above_threshold

    def reset(self) -> None:
        self._points = np.zeros((0, self.model.dimensions), dtype=np.float32)
        self._best = np.zeros(0, dtype=np.float32)
        self._times = np.zeros(0)
        self._texts: list[str] = []
        self._sources: list[str | None] = []
        self._minutes: dict[int, int] = {}
        self._start = math.inf
        self._now = -math.inf
        self._pending = 0
        self._found: dict[int, EmergingTopic] = {}
        self._muted: list[np.ndarray] = []
        self._next = 0
        self._old = _Memory(self.model.dimensions)
        self._rng = np.random.default_rng(self.seed)

    def update(self, embeddings: np.ndarray, times: Sequence[float] | np.ndarray,
               texts: Sequence[str] | None = None, sources: Sequence[str | None] | None = None) -> None:
        """Take a batch of messages; ``sources`` (conversation ids, say) let a group need ``min_sources`` of them."""
        points = self.model.project(embeddings)
        when = np.asarray(times, dtype=np.float64).ravel()
        if len(when) != len(points) or any(x is not None and len(x) != len(points) for x in (texts, sources)):
            raise ConfigError("embeddings, times, texts and sources must have the same length")
        usable = np.any(points != 0, axis=1) & np.isfinite(when)
        if not usable.any():
            return
        points, when = points[usable], when[usable]
        words = [texts[i] for i in np.flatnonzero(usable).tolist()] if texts is not None else [""] * len(points)
        self._start = min(self._start, float(when.min()))
        self._now = max(self._now, float(when.max()))
        minutes, counts = np.unique(np.floor(when / 60.0).astype(np.int64), return_counts=True)
        for minute, count in zip(minutes.tolist(), counts.tolist(), strict=True):
            self._minutes[minute] = self._minutes.get(minute, 0) + count
        best = self._best_topic(points)
        keep = (np.nan_to_num(best, nan=-1.0) < self.novelty) & ~self._absorb(points, best)
        self._points = np.concatenate([self._points, points[keep]])
        self._best = np.concatenate([self._best, np.nan_to_num(best[keep], nan=-1.0)])
        self._times = np.concatenate([self._times, when[keep]])
        self._texts.extend(words[i] for i in np.flatnonzero(keep).tolist())
        self._sources.extend(None if sources is None else sources[i] for i in np.flatnonzero(usable)[keep].tolist())
        self._pending += int(keep.sum())
        self._evict()
        if self._pending >= self.check_every:
            self._pending = 0
            self._check()

    def get(self) -> list[EmergingTopic]:
        """Groups reported and neither accepted nor dismissed, oldest first."""
        return [self._found[i] for i in sorted(self._found)]

    @property
    def emerging(self) -> list[EmergingTopic]:
        return self.get()

    def accept(self, candidate_id: int, *, label: str | None = None) -> int:
        """Add a reported group to the model as a topic; returns the new topic id."""
        found = self._pop(candidate_id)
        return self.model.add_topic(found.centroid, keywords=found.keywords, label=label or found.label,
                                    size=found.size, words=found.words)

    def forget(self, candidate_id: int) -> EmergingTopic:
        """Drop a reported group without muting it: the caller added it to its own copy of the model."""
        return self._pop(candidate_id)

    def set_model(self, model: TopicModel) -> bool:
        """Watch against ``model`` from now on; returns whether the history was kept.

        An edited model (renamed, merged, a topic added) shares the old one's
        space (the same mean, to the 6 decimals ``to_dict`` keeps), so the
        kept messages stay: their cosine to the nearest topic is recomputed,
        and those the model now explains (at or above :attr:`novelty`) leave.
        A refitted model lives in another space: history, traffic counts and
        reported groups are cleared and the ``window`` of baseline traffic is
        needed again; candidate numbers keep counting, so an old number never
        names a new group.
        """
        same = model.dimensions == self.model.dimensions and np.allclose(model.mean, self.model.mean, rtol=0.0,
                                                                         atol=1e-5)
        self.model = model
        if not same:
            numbered = self._next
            self.reset()
            self._next = numbered
            return False
        if len(self._points):
            self._best = np.nan_to_num(self._best_topic(self._points), nan=-1.0).astype(np.float32)
            explained = self._best >= self.novelty
            if explained.any():
                self._drop(explained)
        if len(self._old.points):
            self._old.best = np.nan_to_num(self._best_topic(self._old.points), nan=-1.0).astype(np.float32)
            self._old.keep(self._old.best < self.novelty)
        return True

    def dismiss(self, candidate_id: int) -> None:
        """Forget a reported group; messages like it are still absorbed, so it is not reported again."""
        self._muted.append(self._pop(candidate_id).centroid)

    def _pop(self, candidate_id: int) -> EmergingTopic:
        try:
            return self._found.pop(candidate_id)
        except KeyError:
            raise ConfigError(f"no emerging topic {candidate_id}; reported: {sorted(self._found)}") from None

    def _best_topic(self, points: np.ndarray) -> np.ndarray:
        """Cosine of each row to its nearest topic (NaN without topics)."""
        if not self.model.topics:
            return np.full(len(points), np.nan, dtype=np.float32)
        best: np.ndarray = self.model.similarities(points).max(axis=1)
        return best

    def _absorb(self, points: np.ndarray, best: np.ndarray) -> np.ndarray:
        """Count messages a reported (or dismissed) group explains better than the topics; True where absorbed."""
        found = self.get()
        centroids = [f.centroid for f in found] + self._muted
        if not centroids:
            return np.zeros(len(points), dtype=bool)
        sims = points @ np.array(centroids, dtype=np.float32).T
        nearest = sims.argmax(axis=1)
        top = sims.max(axis=1)
        absorbed: np.ndarray = (top >= self.model.threshold) & (top > np.nan_to_num(best, nan=-1.0))
        for index, group in enumerate(found):
            hits = int((absorbed & (nearest == index)).sum())
            if hits:
                self._found[group.id] = replace(group, size=group.size + hits)
        return absorbed

    def _evict(self) -> None:
        cutoff = self._now - self.history
        keep = self._times >= cutoff
        if not keep.all():
            per_hour = len(self._points) / (self.history / 3600.0)
            chance = min(1.0, self.memory_per_hour / per_hour)
            leaving = np.flatnonzero(~keep)
            kept = leaving[self._rng.random(len(leaving)) < chance]
            self._old.add(self._points[kept], self._best[kept], self._times[kept], 1.0 / chance)
            self._drop(~keep)
        self._old.keep(self._old.times >= self._now - self.memory)
        oldest = math.floor((self._now - self.memory) / 60.0)
        for minute in [m for m in self._minutes if m < oldest]:
            del self._minutes[minute]

    def _drop(self, mask: np.ndarray) -> None:
        keep = ~mask
        self._points, self._best, self._times = self._points[keep], self._best[keep], self._times[keep]
        self._texts = [t for t, k in zip(self._texts, keep.tolist(), strict=True) if k]
        self._sources = [t for t, k in zip(self._sources, keep.tolist(), strict=True) if k]

    def _traffic(self, start: float, end: float) -> int:
        first, last = math.floor(start / 60.0), math.floor(end / 60.0)
        return sum(count for minute, count in self._minutes.items() if first <= minute <= last)

    def _members(self, rows: np.ndarray | slice, centroid: np.ndarray, floor: float = -1.0) -> np.ndarray:
        """Which rows a topic at ``centroid`` would take: within the threshold (or ``floor``, when higher),
        and nearer than any topic."""
        sims = (self._points @ centroid)[rows]  # one product over all rows beats copying the picked ones
        return _taken(sims, self._best[rows], max(self.model.threshold, floor))

    def _ramped(self, core: np.ndarray, centroid: np.ndarray, traffic: int, earlier: np.ndarray, traffic_before: int,
                 first_day: float) -> bool:
        """Whether the group's closer half has grown ``ratio`` times since the oldest day seen -- in the
        window, and already in the history before it.

        Only the closer half (at least the core's median cosine) is compared: at the model's loose
        threshold a new subject's centroid also takes a few old messages, which were there on the
        oldest day and would hide a ramp's growth. The history must show the growth too: the
        centroid is the window's own mean, so the window's messages are close to it by construction
        -- a chance group of unrelated messages looks tight there and nowhere else.
        """
        floor = max(self.model.threshold, float(np.median(self._points[core] @ centroid)))
        on_first_day = np.flatnonzero((self._times >= first_day) & (self._times < first_day + DAY))
        then = self._old.members(centroid, floor, first_day, first_day + DAY) + int(
            self._members(on_first_day, centroid, floor).sum())
        then /= max(self._traffic(first_day, first_day + DAY - 60.0), 1)
        now = int(self._members(core, centroid, floor).sum()) / traffic
        grown = int(self._members(earlier, centroid, floor).sum())
        return now >= self.ratio * then and grown >= self.min_size and grown / traffic_before >= self.ratio * then

    def _enough_sources(self, rows: np.ndarray) -> bool:
        """At least ``min_sources`` distinct sources; rows without a source each count as their own."""
        distinct: set[object] = set()
        for i in rows.tolist():
            distinct.add(self._sources[i] if self._sources[i] is not None else ("row", i))
            if len(distinct) >= self.min_sources:
                return True
        return False

    def _check(self) -> None:
        since = self._now - self.window
        if since - self._start < self.window:
            return  # not yet a window's worth of earlier traffic to tell new from always-there
        recent = np.flatnonzero(self._times >= since)[-self.max_recent:]
        if len(recent) < self.min_size:
            return
        points = self._points[recent]
        distinct, inverse, counts = np.unique(np.round(points, 4), axis=0, return_inverse=True, return_counts=True)
        merge_cosine = float(self.model.params.get("merge_cosine", 0.25))
        groups = communities(unit_rows(distinct), counts.astype(np.float64), neighbours=15,
                             min_cosine=merge_cosine, seed=self.seed)[inverse.ravel()]
        earlier = np.flatnonzero(self._times < since)
        traffic = max(self._traffic(since, self._now), 1)
        traffic_before = max(self._traffic(self._now - self.history, since - 60.0), 1)
        first_day = max(self._start, self._now - self.memory)
        ramp = since - first_day >= DAY  # a whole day seen before the window
        labels = np.full(len(self._times), NOISE, dtype=np.int64)
        reported: list[tuple[np.ndarray, np.ndarray, float]] = []
        for group in range(int(groups.max()) + 1):
            if (groups == group).sum() < self.min_size:
                continue
            centroid = _unit(points[groups == group].mean(axis=0))
            core = recent[(groups == group) & self._members(recent, centroid)]
            if len(core) < self.min_size:
                continue
            centroid = _unit(self._points[core].mean(axis=0))  # without the members older topics explain better
            core = recent[(groups == group) & self._members(recent, centroid)]
            if len(core) < self.min_size or not self._enough_sources(core):
                continue
            if float(self._best_topic(centroid[None, :])[0]) >= self.cohesion:
                continue  # a corner of an existing topic: its share changing is drift, not a new topic
            if float((self._points[core] @ centroid).mean()) < self.cohesion:
                continue
            share = len(core) / traffic
            before = int(self._members(earlier, centroid).sum()) / traffic_before
            if share >= self.min_share and (share >= self.ratio * before or ramp and self._ramped(
                    core, centroid, traffic, earlier, traffic_before, first_day)):
                labels[core] = len(reported)
                reported.append((centroid, core, share))
        if not reported:
            return
        keywords, words, _ = _ctfidf.class_tfidf(self._texts, labels, range(len(reported)))
        for index, (centroid, core, share) in enumerate(reported):
            closest = core[np.argsort(-(self._points[core] @ centroid), kind="stable")]
            examples = tuple(dict.fromkeys(self._texts[i] for i in closest if self._texts[i]))[:3]
            found = EmergingTopic(self._next, _ctfidf.label(keywords[index]) or f"new topic {self._next}",
                                  keywords[index], len(core), round(share, 4), float(self._times[core].min()),
                                  self._now, centroid, examples, words[index])
            self._found[found.id] = found
            self._next += 1
        self._drop(labels >= 0)




class _Memory:
    """Unexplained messages older than the detector's history: thinned, each row standing for ``weight`` messages."""

    __slots__ = ("points", "best", "times", "weights")

    def __init__(self, dimensions: int) -> None:
        self.points = np.zeros((0, dimensions), dtype=np.float16)  # cosines to 1e-3: thresholds are 0.1-0.7
        self.best = np.zeros(0, dtype=np.float32)
        self.times = np.zeros(0)
        self.weights = np.zeros(0, dtype=np.float32)

    def add(self, points: np.ndarray, best: np.ndarray, times: np.ndarray, weight: float) -> None:
        if len(points):
            self.points = np.concatenate([self.points, points.astype(np.float16)])
            self.best = np.concatenate([self.best, best])
            self.times = np.concatenate([self.times, times])
            self.weights = np.concatenate([self.weights, np.full(len(points), weight, dtype=np.float32)])

    def keep(self, mask: np.ndarray) -> None:
        if not mask.all():
            self.points, self.best = self.points[mask], self.best[mask]
            self.times, self.weights = self.times[mask], self.weights[mask]

    def members(self, centroid: np.ndarray, threshold: float, start: float, end: float) -> float:
        """Messages from ``start`` to ``end`` that a topic at ``centroid`` would take (as in ``_members``)."""
        rows = (self.times >= start) & (self.times < end)
        sims = self.points[rows].astype(np.float32) @ centroid
        return float(self.weights[rows][_taken(sims, self.best[rows], threshold)].sum())


def _taken(sims: np.ndarray, best: np.ndarray, threshold: float) -> np.ndarray:
    """Which messages a topic would take: at least ``threshold`` like it, and more than like their nearest topic."""
    return np.asarray((sims >= threshold) & (sims > best))


def _unit(vector: np.ndarray) -> np.ndarray:
    return np.asarray(unit_rows(vector[None, :].astype(np.float32))[0])
