"""The topic map's layout: alike topics land together, it matches textbook classical MDS, and it never flips."""

from __future__ import annotations

import numpy as np
import pytest

from heron.analytics.topic_map import layout, topic_map


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _clusters(seed: int = 0, groups: int = 3, per: int = 4, dims: int = 64, spread: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Unit centroids in ``groups`` tight groups (a shared direction plus a little noise each)."""
    rng = np.random.default_rng(seed)
    bases = rng.normal(size=(groups, dims))
    rows = np.repeat(bases, per, axis=0) + spread * rng.normal(size=(groups * per, dims)) * np.linalg.norm(bases[0]) / np.sqrt(dims)
    return _unit(rows), np.repeat(np.arange(groups), per)


def _distances(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)


def test_topics_of_a_group_land_nearer_each_other_than_other_groups() -> None:
    centroids, group = _clusters()
    coords, explained = layout(centroids)
    d = _distances(coords)
    same = group[:, None] == group[None, :]
    off = ~np.eye(len(group), dtype=bool)
    assert d[same & off].max() < d[~same].min()
    assert 0.5 < explained <= 1.0  # three groups span a plane: two axes show most of the spread


def test_agrees_with_textbook_classical_mds() -> None:
    """Double-centred squared distances, top two eigenvectors: same distances up to one scale."""
    centroids, _ = _clusters(seed=3, groups=4, per=3)
    coords, _ = layout(centroids)
    squared = _distances(centroids) ** 2
    n = len(centroids)
    j = np.eye(n) - 1.0 / n
    values, vectors = np.linalg.eigh(-0.5 * j @ squared @ j)
    top = np.argsort(values)[::-1][:2]
    reference = vectors[:, top] * np.sqrt(values[top])
    ours, theirs = _distances(coords), _distances(reference)
    scale = theirs.max() / ours.max()
    np.testing.assert_allclose(ours * scale, theirs, atol=1e-9)


def test_a_line_of_topics_keeps_its_order() -> None:
    """Topics blending from one subject to another (a path in embedding space) come out in order along an axis."""
    a, b = _unit(np.random.default_rng(1).normal(size=(2, 32)))
    path = _unit(np.array([(1 - w) * a + w * b for w in np.linspace(0, 1, 7)]))
    coords, explained = layout(path)
    order = np.argsort(coords[:, 0])
    assert list(order) in (list(range(7)), list(range(6, -1, -1)))
    assert explained > 0.95


def test_deterministic_and_independent_of_row_order() -> None:
    centroids, _ = _clusters(seed=7)
    first, _ = layout(centroids)
    np.testing.assert_array_equal(first, layout(centroids.copy())[0])
    perm = np.random.default_rng(2).permutation(len(centroids))
    shuffled, _ = layout(centroids[perm])
    np.testing.assert_allclose(shuffled, first[perm], atol=1e-9)  # same places, no axis flipped
    assert np.isclose(np.abs(first).max(), 1.0) and np.abs(first).max() <= 1.0


@pytest.mark.parametrize("n", [0, 1])
def test_none_or_one_topic_sits_at_the_origin(n: int) -> None:
    coords, explained = layout(np.ones((n, 8)) / np.sqrt(8))
    assert coords.shape == (n, 2) and not coords.any() and explained == 1.0


def test_two_topics_sit_on_a_line_and_identical_ones_together() -> None:
    a, b = _unit(np.random.default_rng(4).normal(size=(2, 16)))
    coords, explained = layout(np.stack([a, b]))
    np.testing.assert_allclose(coords, [[1.0, 0.0], [-1.0, 0.0]], atol=1e-12)  # the first of a tie gets the positive side
    assert explained == pytest.approx(1.0)
    same, explained = layout(np.stack([a, a, a]))
    assert not same.any() and explained == 1.0


def test_rejects_a_flat_array() -> None:
    with pytest.raises(ValueError, match="2-D"):
        layout(np.ones(5))


def test_topic_map_rows() -> None:
    centroids, _ = _clusters(groups=2, per=2)
    names = {0: {"label": "billing", "keywords": ["invoice", "charge"], "size": 40}, 1: {"label": "refunds", "size": 12}}
    result = topic_map([0, 1, 5, 9], centroids, names)
    rows = {r["topic_id"]: r for r in result["topics"]}
    assert list(rows) == [0, 1, 5, 9] and 0 < result["explained"] <= 1
    assert rows[0]["label"] == "billing" and rows[0]["keywords"] == ["invoice", "charge"] and rows[0]["size"] == 40
    assert rows[5]["label"] == "topic 5" and rows[5]["keywords"] == [] and rows[5]["size"] == 0
    assert rows[0]["nearest"]["topic_id"] == 1 and rows[5]["nearest"]["topic_id"] == 9  # its own group
    assert rows[0]["nearest"]["cosine"] == pytest.approx(float(centroids[0] @ centroids[1]), abs=1e-4)
    assert all(-1 <= r["x"] <= 1 and -1 <= r["y"] <= 1 for r in rows.values())
    assert topic_map([], np.zeros((0, 8)), {}) == {"topics": [], "explained": None}
    single = topic_map([3], centroids[:1], {})["topics"]
    assert single == [{"topic_id": 3, "label": "topic 3", "keywords": [], "size": 0, "x": 0.0, "y": 0.0, "nearest": None}]
