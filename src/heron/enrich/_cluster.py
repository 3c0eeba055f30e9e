"""Graph clustering for topic discovery: a k-nearest-neighbour graph, Louvain communities, centroid merging.

Why a graph and not k-means: k-means needs the number of topics, and the
usual ways to pick it (silhouette, BIC) keep preferring more clusters on
chat messages, where paraphrases of one question form tight sub-groups. A
kNN graph is rank based, so it does not care how similar "similar" is in a
given embedding; modularity (Louvain) then finds groups that are more
connected inside than chance would give, without being told how many.
Louvain tends to cut a topic into its recurring questions, so communities
whose centroids point the same way (cosine at least ``min_cosine``) are merged
afterwards, average-linkage style.

Everything here works on rows that are already unit vectors; nothing here
knows about text.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

_BLOCK = 1024


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; zero rows stay zero."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out: np.ndarray = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return out


def knn_graph(y: np.ndarray, k: int) -> sp.csr_matrix:
    """Symmetric graph joining each row to its ``k`` most similar rows, weighted by cosine (floored at 1e-6)."""
    n = len(y)
    k = min(k, n - 1)
    rows, cols, vals = [], [], []
    for start in range(0, n, _BLOCK):
        sims = y[start:start + _BLOCK] @ y.T
        block = np.arange(sims.shape[0])
        sims[block, start + block] = -np.inf
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        rows.append(np.repeat(start + block, k))
        cols.append(idx.ravel())
        vals.append(np.take_along_axis(sims, idx, axis=1).ravel())
    weights = np.clip(np.concatenate(vals), 1e-6, None).astype(np.float64)
    graph = sp.csr_matrix((weights, (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return graph.maximum(graph.T).tocsr()


def louvain(graph: sp.csr_matrix, *, resolution: float = 1.0, seed: int = 0) -> np.ndarray:
    """Community of every node by the Louvain method (local moves, then aggregation, repeated).

    Nodes are visited in a seeded random order, so a seed fixes the result.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(graph.shape[0])
    while True:
        communities, moved = _local_moves(graph, resolution, rng)
        labels = communities[labels]
        if not moved or communities.max() == 0:
            return labels
        size = graph.shape[0]
        member = sp.csr_matrix((np.ones(size), (np.arange(size), communities)))
        graph = (member.T @ graph @ member).tocsr()


def _local_moves(graph: sp.csr_matrix, resolution: float, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Move nodes to the neighbouring community with the best modularity gain until none moves.

    Plain Python over lists: a node has a few dozen neighbours, where numpy's
    per-call overhead would cost more than the arithmetic.
    """
    n = graph.shape[0]
    degree = np.asarray(graph.sum(axis=1)).ravel().tolist()
    total_weight = float(sum(degree))
    if total_weight <= 0:
        return np.arange(n), False
    scale = resolution / total_weight
    indptr, indices, data = graph.indptr.tolist(), graph.indices.tolist(), graph.data.tolist()
    community = list(range(n))
    totals = list(degree)
    moved_any, improved = False, True
    while improved:
        improved = False
        for node in rng.permutation(n).tolist():
            links: dict[int, float] = {}
            for j in range(indptr[node], indptr[node + 1]):
                other = indices[j]
                if other != node:
                    c = community[other]
                    links[c] = links.get(c, 0.0) + data[j]
            if not links:
                continue
            current, k_node = community[node], degree[node]
            totals[current] -= k_node
            best, best_gain = current, links.get(current, 0.0) - scale * k_node * totals[current]
            for c, weight in links.items():
                gain = weight - scale * k_node * totals[c]
                if gain > best_gain + 1e-12:
                    best, best_gain = c, gain
            community[node] = best
            totals[best] += k_node
            if best != current:
                improved = moved_any = True
    _, relabelled = np.unique(np.asarray(community), return_inverse=True)
    return relabelled.ravel(), moved_any


def merge_close(means: np.ndarray, weights: np.ndarray, *, min_cosine: float) -> list[list[int]]:
    """Greedily merge the two groups whose (weighted) centroids are most alike while their cosine >= ``min_cosine``.

    ``means`` are the mean vectors of each group's unit rows; a merge takes
    their weighted mean, so the result does not depend on merge order more
    than average linkage does. Returns the original indices of each group.
    """
    means = means.astype(np.float64)
    weights = weights.astype(np.float64)
    count = len(means)
    members = [[i] for i in range(count)]
    alive = np.ones(count, dtype=bool)
    sims = unit_rows(means) @ unit_rows(means).T
    np.fill_diagonal(sims, -np.inf)
    while alive.sum() > 1:
        masked = np.where(alive[:, None] & alive[None, :], sims, -np.inf)
        i, j = np.unravel_index(int(np.argmax(masked)), masked.shape)
        if masked[i, j] < min_cosine:
            break
        total = weights[i] + weights[j]
        means[i] = (means[i] * weights[i] + means[j] * weights[j]) / total
        weights[i] = total
        members[i] += members[j]
        alive[j] = False
        row = unit_rows(means) @ unit_rows(means[i:i + 1]).T
        sims[i, :] = sims[:, i] = row.ravel()
        sims[i, i] = -np.inf
    return [sorted(members[i]) for i in np.flatnonzero(alive)]


def communities(y: np.ndarray, counts: np.ndarray, *, neighbours: int, min_cosine: float,
                seed: int) -> np.ndarray:
    """Topic group of every (distinct, unit) row: Louvain on the kNN graph, then close groups merged.

    ``counts`` is how many messages each distinct row stands for; it weighs
    the centroids, not the graph.
    """
    if not len(y):
        return np.zeros(0, dtype=np.int64)
    found = louvain(knn_graph(y, neighbours), seed=seed) if len(y) > 2 else np.arange(len(y))
    size = int(found.max()) + 1
    weights = np.bincount(found, weights=counts, minlength=size)
    sums = np.zeros((size, y.shape[1]))
    np.add.at(sums, found, y * counts[:, None])
    groups = merge_close(sums / weights[:, None], weights, min_cosine=min_cosine)
    relabel = np.empty(size, dtype=np.int64)
    for index, group in enumerate(groups):
        relabel[group] = index
    return relabel[found]
