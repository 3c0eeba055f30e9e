"""How likely a message's words are in each common language: the evidence a short message has.

CLD2 reads character n-grams and guesses badly on a few words: "la factura está mal" came
back English, "vale" Samoan, "Merci beaucoup" English. Word frequencies do better there:
``wordfreq`` ships frequency lists for ~40 languages inside its wheel (no download), and
the product of the words' frequencies in a language is a unigram likelihood of the message
in that language. Only words at least :data:`MIN_FREQUENCY` frequent are kept; a word
missing from a language's list counts as :data:`UNSEEN` there. Frequencies are kept as small integers,
``-10 log10(f)``, in one word-by-language matrix (~113,000 words: 3.5 MB; with the word index
~27 MB, loaded on first use in ~0.3 s).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LANGUAGES: tuple[str, ...] = (
    "en", "es", "de", "fr", "pt", "it", "nl", "sv", "da", "nb", "pl", "tr", "id", "ms", "ro", "cs", "sk", "fi", "hu",
    "ca", "vi", "fil", "sl", "lt", "lv", "ru", "uk", "bg", "ar", "fa", "ur",
)  # fmt: skip
"""Languages scored (wordfreq's codes; ``fil`` is reported as ``tl``, ``nb`` as ``no``)."""
MIN_FREQUENCY = 2e-5
"""Words rarer than this are left out, in every language alike (a cut by rank would favour the
languages with short lists, whose last words are foreign names: "Jupiter" read as Vietnamese)."""
UNSEEN = 55
"""The cost of a word left out: a little rarer than the rarest kept."""
REPORTED = {"fil": "tl", "nb": "no"}
SCORED = frozenset(REPORTED.get(code, code) for code in LANGUAGES)
"""The codes :func:`scores` reports."""


@dataclass(frozen=True, slots=True)
class _Table:
    index: dict[str, int]
    """word -> its row of ``costs``."""
    costs: np.ndarray
    """uint8, one row per word (the last row: a word no language kept) and one column per language."""
    codes: tuple[str, ...]


_table: _Table | None = None
_missing = False
"""wordfreq is not installed (the enrich extra is optional): no lexical evidence, and no import tried again."""
_lock = threading.Lock()


def _load() -> _Table | None:
    global _table, _missing
    if _table is not None or _missing:
        return _table
    with _lock:
        if _table is None and not _missing:
            try:
                import wordfreq
            except ImportError:
                _missing = True
                return None
            per_language: list[dict[str, int]] = []
            last = round(-100 * math.log10(MIN_FREQUENCY))
            for code in LANGUAGES:
                table: dict[str, int] = {}
                # buckets of words by frequency in centibels: bucket i holds the words of frequency 10^(-i/100)
                for rank, bucket in enumerate(wordfreq.get_frequency_list(code, wordlist="small")[: last + 1]):
                    for word in bucket:
                        table[word] = round(rank / 10)
                per_language.append(table)
                wordfreq.get_frequency_list.cache_clear()  # the whole list, kept by wordfreq: ~5 MB a language
            index: dict[str, int] = {}
            for table in per_language:
                for word in table:
                    index.setdefault(word, len(index))
            costs = np.full((len(index) + 1, len(LANGUAGES)), UNSEEN, dtype=np.uint8)
            for column, table in enumerate(per_language):
                costs[[index[word] for word in table], column] = list(table.values())
            _table = _Table(index, costs, tuple(REPORTED.get(code, code) for code in LANGUAGES))
    return _table


def available() -> bool:
    return _load() is not None


def scores(words: Sequence[str]) -> tuple[list[tuple[str, float]], int]:
    """(languages by log10 likelihood of ``words``, best first; how many distinct words some language knows)."""
    table = _load()
    if table is None or not words:
        return [], 0
    unseen = len(table.index)
    rows = [table.index.get(word, unseen) for word in words]
    totals = table.costs[rows].sum(axis=0, dtype=np.int32)
    order = np.argsort(totals, kind="stable")
    known = len({row for row in rows if row != unseen})
    return [(table.codes[i], -float(totals[i]) / 10) for i in order], known
