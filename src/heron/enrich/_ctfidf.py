"""Class-based TF-IDF: the words that set one topic's messages apart from the others'.

For each topic (class) ``c`` and word ``t``::

    weight(t, c) = tf(t, c) * log(1 + A / f(t))

where ``tf(t, c)`` is the share of ``c``'s words that are ``t``, ``A`` the
average number of words per class and ``f(t)`` how often ``t`` occurs over
all classes (Grootendorst's c-TF-IDF, as in BERTopic). A word every topic
uses gets a small weight however often it occurs; a word one topic uses a
lot gets a large one. Unassigned messages form a class of their own, so
their words count as "used elsewhere" too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

Keywords = tuple[tuple[str, float], ...]

TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W\d_]+\b"
"""Words of two or more letters (any script); numbers, amounts and ids are left out."""
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | {
    # contraction fragments left by the tokenizer, and chat filler that says nothing about a topic
    "don", "doesn", "didn", "isn", "wasn", "aren", "won", "can", "ll", "ve", "re", "im", "ive", "pls", "please",
    "ok", "okay", "just", "really", "want", "need", "like", "know", "use", "way", "does", "did", "got", "get",
}
KEYWORDS_KEPT = 20
LABEL_WORDS = 4


def class_tfidf(texts: Sequence[str], labels: np.ndarray, classes: Sequence[int],
                *, top: int = KEYWORDS_KEPT) -> tuple[dict[int, Keywords], dict[int, int], float]:
    """Top ``top`` (word, weight) per class in ``classes``, each class's word count, and ``A``.

    ``labels`` gives every text's class; any class not listed (e.g. -1)
    still takes part in the IDF.
    """
    empty: tuple[dict[int, Keywords], dict[int, int], float] = ({c: () for c in classes}, {c: 0 for c in classes}, 0.0)
    if not len(texts):
        return empty
    vectorizer = CountVectorizer(token_pattern=TOKEN_PATTERN, stop_words=sorted(STOP_WORDS), lowercase=True)
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # nothing but stop words, digits or symbols
        return empty
    vocabulary = vectorizer.get_feature_names_out()
    present, index = np.unique(labels, return_inverse=True)
    membership = sp.csr_matrix((np.ones(len(labels)), (index.ravel(), np.arange(len(labels)))),
                               shape=(len(present), len(labels)))
    per_class = np.asarray((membership @ counts).todense(), dtype=np.float64)
    words = per_class.sum(axis=1)
    average = float(words.mean())
    idf = np.log1p(average / np.maximum(per_class.sum(axis=0), 1.0))
    weights = per_class / np.maximum(words, 1.0)[:, None] * idf[None, :]
    keywords: dict[int, Keywords] = {}
    sizes: dict[int, int] = {}
    row_of = {int(c): i for i, c in enumerate(present)}
    for c in classes:
        row = row_of.get(c)
        if row is None:
            keywords[c], sizes[c] = (), 0
            continue
        order = np.argsort(-weights[row], kind="stable")[:top]
        keywords[c] = tuple((str(vocabulary[i]), round(float(weights[row, i]), 6))
                            for i in order if weights[row, i] > 0)
        sizes[c] = int(words[row])
    return keywords, sizes, average


def merge_keywords(parts: Sequence[tuple[Keywords, int]], *, top: int = KEYWORDS_KEPT) -> Keywords:
    """Keywords of a union of classes from each part's (keywords, word count).

    With the IDF fixed, a merged class's c-TF-IDF weight is the word-count
    weighted mean of its parts' weights, so this is exact for the words
    each part kept (a word kept by neither counts as zero).
    """
    total = sum(words for _, words in parts)
    if total <= 0:
        total, parts = len(parts), [(keywords, 1) for keywords, _ in parts]
    merged: dict[str, float] = {}
    for keywords, words in parts:
        for word, weight in keywords:
            merged[word] = merged.get(word, 0.0) + weight * words / total
    ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))[:top]
    return tuple((word, round(weight, 6)) for word, weight in ranked)


def label(keywords: Keywords, *, words: int = LABEL_WORDS) -> str:
    """The top keywords joined, skipping a word that only inflects one already taken (refund/refunds)."""
    chosen: list[str] = []
    stems: set[str] = set()
    for word, _ in keywords:
        stem = _stem(word)
        if stem in stems:
            continue
        chosen.append(word)
        stems.add(stem)
        if len(chosen) == words:
            break
    return ", ".join(chosen)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word
