"""The standard enrichment steps, in order, and running them over batches.

:func:`default_enrichers` and :func:`run` are the plain form: one list of
steps, one optional topic model. :class:`BatchEnricher` is what the server's
enrichment worker keeps between batches: the steps, one embedding memo they
share (a text is embedded once, whether frustration or topics needs it), and
each project's topic model and emerging-topic watch. :func:`fit_topic_model`
and :func:`assign_topics` are the worker's other jobs: fitting a model, and
assigning turns enriched before a project had one.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from heron.enrich.base import Enricher, Signals, Turn
from heron.enrich.embeddings import Embedder, EmbeddingMemo
from heron.errors import ConfigError, ValidationError

if TYPE_CHECKING:  # topics imports scikit-learn (~1 s): only where topics are used
    from heron.enrich.topic_watch import ProjectTopics
    from heron.enrich.topics import TopicModel


def default_enrichers(topic_model: dict[str, Any] | None = None, *, embed: Embedder | None = None) -> list[Enricher]:
    """Language, sentiment and cues, frustration signals, then topics when a model exists.

    Frustration and topics share one :class:`EmbeddingMemo` (over ``embed``, default
    :func:`heron.enrich.embeddings.embed`).
    """
    from heron.enrich.frustration import FrustrationEnricher
    from heron.enrich.language import LanguageEnricher
    from heron.enrich.sentiment import SentimentEnricher

    memo = EmbeddingMemo(embed)
    steps: list[Enricher] = [LanguageEnricher(), SentimentEnricher(), FrustrationEnricher(embedder=memo)]
    if topic_model is not None:
        from heron.enrich.topics import TopicEnricher, TopicModel

        steps.append(TopicEnricher(TopicModel.from_dict(topic_model), embed=memo))
    return steps


def run(enrichers: Sequence[Enricher], turns: Sequence[Turn]) -> list[Signals]:
    signals = [Signals(interaction_id=t.interaction_id) for t in turns]
    for enricher in enrichers:
        enricher.enrich(turns, signals)
    return signals


class BatchEnricher:
    """The enrichment worker's state between batches: steps, shared embeddings, per-project topics.

    ``emerging`` turns on each project's :class:`~heron.enrich.emerging.EmergingTopicDetector`
    (built with ``detector_options``). ``embed`` replaces
    :func:`heron.enrich.embeddings.embed` (tests count its calls); the memo
    in front of it holds ``memo_size`` texts. One instance serves one thread.
    """

    def __init__(self, *, emerging: bool = True, embed: Embedder | None = None,
                 detector_options: Mapping[str, Any] | None = None, memo_size: int = 20_000) -> None:
        from heron.enrich.frustration import FrustrationEnricher
        from heron.enrich.language import LanguageEnricher
        from heron.enrich.sentiment import SentimentEnricher

        self._emerging = emerging
        self._options = dict(detector_options or {})
        self._memo = EmbeddingMemo(embed, size=memo_size)
        self._steps: list[Enricher] = [LanguageEnricher(), SentimentEnricher(),
                                       FrustrationEnricher(embedder=self._memo)]
        self._projects: dict[str, ProjectTopics] = {}

    def set_topic_models(self, models: Mapping[str, Mapping[str, Any]]) -> None:
        """Use these models, project -> ``TopicModel.to_dict()``; projects left out have no topics.

        An unchanged model is kept as it is. A changed one replaces it; its
        emerging-topic watch keeps its history when the model was edited
        (renamed, merged, a topic added: the same embedding mean) and starts
        afresh when it was refitted (another mean), dropping that project's
        candidates. A project left out loses its watch. A model that does not
        read is skipped (that project has no topics) and reported, after the
        others are in place, as a ValidationError naming the project.
        """
        from heron.enrich.topic_watch import ProjectTopics

        for project in [p for p in self._projects if p not in models]:
            del self._projects[project]
        bad: list[str] = []
        for project, data in models.items():
            current = self._projects.get(project)
            try:
                if current is None:
                    self._projects[project] = ProjectTopics(data, self._memo, emerging=self._emerging,
                                                            detector_options=self._options)
                else:
                    current.update(data)
            except ValidationError as exc:
                self._projects.pop(project, None)
                bad.append(f"{project}: {exc.message}")
        if bad:
            raise ValidationError("topic_models", "; ".join(bad))

    def run(self, turns: Sequence[Turn]) -> list[Signals]:
        """Signals of ``turns`` (same order); topics only for turns of projects with a model.

        Each such project's turns are assigned as
        :class:`~heron.enrich.topics.TopicEnricher` does (conversation context
        on) and then fed to its emerging-topic watch.
        """
        with _one_blas_thread():
            signals = run(self._steps, turns)
            groups: dict[str, list[int]] = {}
            for index, turn in enumerate(turns):
                if turn.project in self._projects:
                    groups.setdefault(turn.project, []).append(index)
            for project, rows in groups.items():
                self._projects[project].enrich([turns[i] for i in rows], [signals[i] for i in rows])
        return signals

    def revise(self, turns: Sequence[Turn]) -> list[Signals]:
        """Signals of turns enriched before, computed again (an earlier turn of their conversation came late:
        :func:`heron.enrich.history.to_revisit`). The steps without topics: a turn keeps its topic, and the
        emerging-topic watch sees each message once."""
        with _one_blas_thread():
            return run(self._steps, turns)

    def emerging(self) -> dict[str, list[dict[str, Any]]]:
        """Project -> its reported, not yet dismissed or forgotten candidates (JSON-ready), for projects watched.

        Each candidate: ``id`` (the project's candidate number), ``label``,
        ``keywords`` ([[word, weight], ...]), ``size``, ``share``,
        ``first_seen``, ``detected_at``, ``examples``, ``centroid`` (floats, in
        the model's space, for ``TopicModel.add_topic``) and ``words``.
        """
        return {project: topics.candidates() for project, topics in self._projects.items()
                if topics.detector is not None}

    def dismiss(self, project: str, candidate_id: int) -> None:
        """Drop a candidate; messages like it are still absorbed, so it is not reported again.

        Unknown projects and candidates are ignored: the worker may have
        restarted or its model been refitted since the server saw the candidate.
        """
        topics = self._projects.get(project)
        if topics is not None:
            topics.dismiss(candidate_id)

    def forget(self, project: str, candidate_id: int) -> None:
        """Drop a candidate the server added to its model (``add_topic`` with its centroid and keywords).

        The next :meth:`set_topic_models` brings the model with the new topic,
        which then explains such messages. Unknown ids are ignored, as in :meth:`dismiss`.
        """
        topics = self._projects.get(project)
        if topics is not None:
            topics.forget(candidate_id)

    def assign_topics(self, project: str, texts: Sequence[str],
                      previous: Sequence[str | None]) -> list[tuple[int, float | None]]:
        """:func:`assign_topics` with the project's model in use and the shared memo; ConfigError without one."""
        topics = self._projects.get(project)
        if topics is None:
            raise ConfigError(f"project {project!r} has no topic model")
        return _assign(topics.model, self._memo, texts, previous)


def _one_blas_thread() -> AbstractContextManager[object]:
    """BLAS on one thread: the products here are small, and a second thread only fights ingest for
    the other core (the emerging-topic check ran ~3x slower with two on a busy 2-core machine)."""
    try:
        from threadpoolctl import threadpool_limits  # scikit-learn's dependency
    except ImportError:  # pragma: no cover
        return nullcontext()
    limits: AbstractContextManager[object] = threadpool_limits(1, user_api="blas")
    return limits


def fit_topic_model(texts: Sequence[str], **options: Any) -> dict[str, Any]:
    """``TopicModel.fit(texts, **options).to_dict()``; a ValidationError on ``texts`` when no topic is found.

    Unknown options raise ConfigError listing the valid ones.
    """
    from heron.enrich.topics import TopicModel

    valid = set(inspect.signature(TopicModel.fit).parameters) - {"texts"}
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ConfigError(f"unknown topic-model options {unknown}; valid: {sorted(valid)}")
    model = TopicModel.fit(texts, **options)
    if not model.topics:
        usable = sum(1 for text in texts if text and not text.isspace())
        need = options.get("min_topic_size", 10)
        raise ValidationError("texts", f"no topics found in {usable} non-empty messages; a topic needs at least "
                                       f"{need} similar ones (send more messages, or lower min_topic_size)")
    return model.to_dict()


def assign_topics(model: Mapping[str, Any], texts: Sequence[str], previous: Sequence[str | None], *,
                  embed: Embedder | None = None) -> list[tuple[int, float | None]]:
    """(topic id, cosine to it) per text, as the worker assigns new turns: -1 near no topic, None for an empty text.

    For turns enriched before their project had a model. ``previous`` is
    each text's previous user message in its conversation (None for the
    first): a text close to no topic takes that one's topic (the context rule
    of :class:`~heron.enrich.topics.TopicEnricher`).
    """
    from heron.enrich.topics import TopicModel

    return _assign(TopicModel.from_dict(model), embed or EmbeddingMemo(), texts, previous)


def _assign(model: TopicModel, embed: Embedder, texts: Sequence[str],
            previous: Sequence[str | None]) -> list[tuple[int, float | None]]:
    from heron.enrich.topics import assign_in_context

    if len(previous) != len(texts):
        raise ConfigError("texts and previous must have the same length")
    if not texts:
        return []
    ids, sims = assign_in_context(model, embed, texts, previous)
    return [(topic_id, None if math.isnan(sim) else round(sim, 4)) for topic_id, sim in zip(ids.tolist(), sims.tolist(),
                                                                                             strict=True)]
