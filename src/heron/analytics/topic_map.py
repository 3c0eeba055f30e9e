"""A 2-D map of a topic model: topics that are alike land near each other.

Classical multidimensional scaling of the topics' centroids: centroids are
unit vectors, so the squared distance between two is ``2 - 2 cos``, and the
two leading principal axes of the centred centroid matrix are the classical
MDS solution for those distances. Pure numpy; deterministic (each axis' sign
is fixed by the point furthest along it), so the map does not flip between
page loads. Coordinates are scaled together into [-1, 1] (the aspect is
kept: distances on the map stay comparable in both directions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

_DECIMALS = 6


def layout(centroids: npt.ArrayLike) -> tuple[np.ndarray, float]:
    """``(n, 2)`` map coordinates for ``n`` centroid rows, and the share of their spread the two axes show.

    One topic sits at the origin; identical centroids all do (share 1.0: nothing is hidden).
    """
    points = np.asarray(centroids, dtype=np.float64)
    if points.ndim != 2:
        raise ValueError(f"centroids must be a 2-D array (topics x dimensions), got shape {points.shape}")
    n = len(points)
    coords = np.zeros((n, 2))
    if n < 2:
        return coords, 1.0
    centred = points - points.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(s**2))
    if total <= 1e-18:
        return coords, 1.0
    k = min(2, len(s))
    coords[:, :k] = u[:, :k] * s[:k]
    for axis in range(k):  # the point furthest along the axis (first of ties) gets a positive coordinate
        column = coords[:, axis]
        far = int(np.argmax(np.round(np.abs(column), 9)))
        if column[far] < 0:
            coords[:, axis] = -column
    coords[np.abs(coords) < 1e-12] = 0.0
    scale = float(np.max(np.abs(coords)))
    if scale > 0:
        coords /= scale
    return coords, float(np.sum(s[:k] ** 2) / total)


def topic_map(ids: Sequence[int], centroids: npt.ArrayLike, names: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """The map the API serves: per topic its place, name, fitted size and most similar topic (cosine).

    ``ids`` label the rows of ``centroids`` (unit vectors); ``names``: topic id ->
    ``{"label", "keywords", "size", ...}`` as :meth:`Topics.describe` gives.
    """
    if not len(ids):
        return {"topics": [], "explained": None}
    vectors = np.asarray(centroids, dtype=np.float64).reshape(len(ids), -1)
    coords, explained = layout(vectors)
    cosine = vectors @ vectors.T
    np.fill_diagonal(cosine, -np.inf)
    rows = []
    for i, topic in enumerate(ids):
        name = names.get(topic, {})
        row: dict[str, Any] = {
            "topic_id": int(topic),
            "label": name.get("label", f"topic {topic}"),
            "keywords": list(name.get("keywords", [])),
            "size": int(name.get("size", 0)),
            "x": round(float(coords[i, 0]), _DECIMALS),
            "y": round(float(coords[i, 1]), _DECIMALS),
            "nearest": None,
        }
        if len(ids) > 1:
            j = int(np.argmax(cosine[i]))
            row["nearest"] = {"topic_id": int(ids[j]), "cosine": round(float(cosine[i, j]), 4)}
        rows.append(row)
    return {"topics": rows, "explained": round(explained, 4)}
